#!/bin/sh
# shellcheck disable=SC2317 # shunit2 calls the functions
# t/relay.sh: earlytalker-wrap's relay (-D, -S), in front of fakes that
# record every byte (t/sink.py, t/bigreply.py, t/oddsmtp.py): the early
# client refused at DATA or at a sync point, the polite one delayed and
# delivered byte for byte, owed replies, BDAT, STARTTLS, half-closes; and
# the closed world, what no real server does on demand: a reply to no
# command or inside a message (sync lost), AUTH answers, the line bound,
# observe mode.
#
# Alone: ./test t/relay.sh, or sh t/relay.sh [-- testName ...]

# shellcheck source=t/lib.sh
. "$(dirname "$0")/lib.sh"

oneTimeSetUp() {
	lib_setup || return 1
}

# --- the clients and the fakes ---

# polite FILE [OUT [TIMES]]: a client that waits for each reply, as a
# real one does, and sends the message in FILE after the 354
polite() {
	: > "${3:-$T/times}"
	CLIENT_TIMES=${3:-$T/times} timeout 60 "$PY" "$top/t/client.py" \
	    127.0.0.1 "$port" until:'220 sink ESMTP\r\n' \
	    send:'EHLO c.example\r\n' until:'250 8BITMIME\r\n' \
	    send:'MAIL FROM:<a@b.example>\r\n' until:'sender ok\r\n' \
	    send:'RCPT TO:<c@d.example>\r\n' until:'recipient ok\r\n' \
	    send:'DATA\r\n' until:'354 go ahead\r\n' file:"$1" \
	    send:'.\r\n' until:'queued as 1\r\n' send:'QUIT\r\n' read \
	    > "${2:-$T/out}"
}

# polite_sent FILE: the bytes polite FILE sends
polite_sent() {
	printf 'EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n'
	cat "$1"
	printf '.\r\nQUIT\r\n'
}

# polite_got: the bytes polite receives from $T/sink
polite_got() {
	printf '220 sink ESMTP\r\n250-sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n250 2.1.0 sender ok\r\n250 2.1.5 recipient ok\r\n354 go ahead\r\n250 2.0.0 queued as 1\r\n221 2.0.0 bye\r\n'
}

# gap N: seconds between the client's until marks N-1 and N
gap() {
	awk -v n="$1" '/^until / { t[++k] = $2 }
	    END { if (k >= n) printf "%.3f\n", t[n] - t[n - 1] }' "$T/times"
}

# sink ARGS: the relay with ARGS in front of t/sink.py, its recordings
# in $T/sink.d, emptied
sink() {
	sinkdir
	# shellcheck disable=SC2086
	serve $RUNNER "$EW" "$@" "$PY" "$top/t/sink.py" "$T/sink.d"
}

# sink_ehlo [OP ...]: the client says EHLO c once the sink's greeting
# has come, then, once the reply to EHLO has come, does the OPs
sink_ehlo() {
	client until:'220 sink ESMTP\r\n' send:'EHLO c\r\n' \
	    until:'8BITMIME\r\n' "$@"
}

# SINK_RCPT: the sink's replies to a client, up to RCPT
SINK_RCPT='220 sink ESMTP\r\n250-sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n250 2.1.0 sender ok\r\n250 2.1.5 recipient ok\r\n'

# assertNoData MSG: the sink read EHLO c, MAIL and RCPT, no more
assertNoData() {
	printf 'EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n' \
	    > "$T/expected"
	assertBytes "$1" "$(echo "$T/sink.d"/raw.*)"
}

# --- early data and polite clients ---

testDataCheckRelaysBigMessage() {
	sinkdir
	"$PY" "$top/t/mkbody.py" 5000000 "$T/msg"
	polite_sent "$T/msg" > "$T/sent"
	# shellcheck disable=SC2086
	serve "$ET" -w 0.2 -d $RUNNER "$EW" -D 0.2 "$PY" "$top/t/sink.py" "$T/sink.d"
	polite "$T/msg"
	polite_got > "$T/expected"
	assertBytes "every reply, unchanged"
	assertWithin "greeting after the wait" "$(timeof first)" 0.2 0.8
	cmp "$T/sent" "$T/sink.d"/raw.* ||
	    fail "the sink did not read what the client sent"
	cmp "$T/msg" "$T/sink.d"/body.*.1 || fail "the message changed"
	settle
	assertEquals "exit" 0 "$(status)"
	assertEquals "no log lines" "" "$(logs)"
}

# early_data ARGS: the DATA check with ARGS against a client that sends
# its message in the same write as DATA
early_data() {
	sink "$@"
	client until:'220 sink ESMTP\r\n' \
	    send:'EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nSubject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n' \
	    read
}

testDataCheckEarlyInOneWrite() {
	early_data -D 0.2
	expect "$SINK_RCPT"'554 5.5.1 Client sent data before the 354 response\r\n'
	assertBytes "the replies before DATA, then 554"
	assertNoData "the sink never saw DATA nor the message"
	assertFalse "no message" "ls '$T/sink.d'/body.* 2> /dev/null"
	settle
	assertEquals "exit" 0 "$(status)"
	assertLog "early at DATA" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: early at DATA: 29 bytes after 0\.0[0-9]{2} s: "Subject: x\\r\\n\\r\\nbody\\r\\n\.\\r\\nQUIT\\r\\n": reject 554'
	unserve
	early_data -p -t -D 0.2
	expect "$SINK_RCPT"'421 4.5.1 Client sent data before the 354 response\r\n'
	assertBytes "-t: 421"
	settle
	assertLog "-t: early at DATA" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: early at DATA: 29 bytes after 0\.0[0-9]{2} s: ".*": reject 421'
	unserve
	early_data -D 0
	expect "$SINK_RCPT"'554 5.5.1 Client sent data before the 354 response\r\n'
	assertBytes "-D 0 still catches the same write"
	assertNoData "-D 0: the sink never saw DATA"
}

testDataCheckEarlyDuringTheWait() {
	sink -D 0.5
	sink_ehlo \
	    send:'MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n' \
	    until:'recipient ok\r\n' send:'DATA\r\n' sleep:0.2 \
	    send:'body\r\n.\r\n' read
	expect "$SINK_RCPT"'554 5.5.1 Client sent data before the 354 response\r\n'
	assertBytes "caught 0.2 s after DATA"
	assertNoData "the sink never saw DATA"
	settle
	assertLog "early at DATA" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: early at DATA: 9 bytes after [0-9.]+ s: "body\\r\\n\.\\r\\n": reject 554'
	assertWithin "the time in the log" \
	    "$(logs | sed -n 's/.* after \([0-9.]*\) s: .*/\1/p')" 0.18 0.4
}

testDataCheckPoliteIsDelayed() {
	sinkdir
	printf 'Subject: polite\r\n\r\nDATA\r\n.. a dot\r\n' > "$T/msg"
	# shellcheck disable=SC2086
	serve $RUNNER "$EW" -D 0.3 "$PY" "$top/t/sink.py" "$T/sink.d"
	polite "$T/msg"
	polite_got > "$T/expected"
	assertBytes "delivered"
	assertWithin "the 354 after -D" "$(gap 5)" 0.3 0.5
	assertWithin "the rest at once" "$(gap 6)" 0 0.2
	cmp -s "$T/msg" "$T/sink.d"/body.*.1 || fail "the message changed"
	unserve
	sink -D 0
	polite "$T/msg"
	assertBytes "-D 0: delivered"
	assertWithin "-D 0: no delay" "$(gap 5)" 0 0.2
	cmp -s "$T/msg" "$T/sink.d"/body.*.1 || fail "-D 0: the message changed"
}

testDataCheckPipelinedGroup() {
	# RFC 2920: a group may end with DATA; the message follows the 354
	sink -D 0.2
	sink_ehlo \
	    send:'MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nRCPT TO:<e@f.example>\r\nDATA\r\n' \
	    until:'354 go ahead\r\n' send:'DATA\r\n.\r\nQUIT\r\n' read
	expect "$SINK_RCPT"'250 2.1.5 recipient ok\r\n354 go ahead\r\n250 2.0.0 queued as 1\r\n221 2.0.0 bye\r\n'
	assertBytes "a pipelined group passes"
	printf 'DATA\r\n' > "$T/expected"
	assertBytes "the message" "$(echo "$T/sink.d"/body.*.1)"
	settle
	assertEquals "not flagged" "" "$(logs)"
}

testDataCheckOwedReplyInPieces() {
	# the client talks early while prog's reply to MAIL is half
	# written: the refusal follows the rest of that reply at once
	# shellcheck disable=SC2086
	serve $RUNNER "$EW" -D 0.2 "$PY" "$top/t/split.py"
	client until:'220 split\r\n' send:'MAIL FROM:<a@b.example>\r\n' \
	    sleep:0.2 send:'DATA\r\nbody\r\n' read
	expect '220 split\r\n250 ok\r\n554 5.5.1 Client sent data before the 354 response\r\n'
	assertBytes "the owed reply, whole, then 554"
	assertWithin "not when prog exits" \
	    "$(awk '/^until / { u = $2 } /^eof / { e = $2 }
	    END { printf "%.3f\n", e - u }' "$T/times")" 0.4 0.9
	settle
	assertEquals "exit" 0 "$(status)"
}

testDataCheckReapsProg() {
	early_data -D 0.2
	settle
	assertEquals "exit" 0 "$(status)"
	sink=$(cat "$T/sink.d/pids")
	assertNotEquals "the sink ran" "" "$sink"
	assertFalse "the sink is gone, not even a zombie" "kill -0 $sink"
	tcps=$(pgrep -P "$srvpid")
	assertNotEquals "tcpserver runs" "" "$tcps"
	assertFalse "no process left under tcpserver" "pgrep -P '$tcps'"
}

testDataCheckStartTLSIsBlind() {
	sinkdir
	# shellcheck disable=SC2086
	serve env SINK_EXT=STARTTLS $RUNNER "$EW" -D 0.2 "$PY" "$top/t/sink.py" \
	    "$T/sink.d"
	printf '\026\003\001\000\005DATA\r\n\000\377xyz\r\n.\r\nQUIT\r\n' \
	    > "$T/tls"
	sink_ehlo send:'STARTTLS\r\n' until:'TLS\r\n' \
	    file:"$T/tls" shut read
	expect '220 sink ESMTP\r\n250-sink\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n220 2.0.0 ready to start TLS\r\n'
	assertBytes "the replies"
	{ printf 'EHLO c\r\nSTARTTLS\r\n'; cat "$T/tls"; } > "$T/expected"
	assertBytes "after the 220, every byte reaches prog" \
	    "$(echo "$T/sink.d"/raw.*)"
	settle
	assertEquals "exit" 0 "$(status)"
	assertEquals "not flagged" "" "$(logs)"
}

testDataCheckBdat() {
	sinkdir
	# shellcheck disable=SC2086
	serve env SINK_EXT=CHUNKING $RUNNER "$EW" -D 0.2 "$PY" "$top/t/sink.py" \
	    "$T/sink.d"
	sink_ehlo \
	    send:'MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nBDAT 9 LAST\r\nDATA\r\nxyz' \
	    until:'octets\r\n' send:'QUIT\r\n' read
	expect '220 sink ESMTP\r\n250-sink\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 8BITMIME\r\n250 2.1.0 sender ok\r\n250 2.1.5 recipient ok\r\n250 2.0.0 9 octets\r\n221 2.0.0 bye\r\n'
	assertBytes "CHUNKING: the chunk passes"
	printf 'DATA\r\nxyz' > "$T/expected"
	assertBytes "the chunk" "$(echo "$T/sink.d"/body.*.1)"
	settle
	assertEquals "not flagged" "" "$(logs)"
	unserve
	# without CHUNKING some servers read a chunk as commands (Exim),
	# some as data (Postfix, after HELO): BDAT is checked like DATA,
	# held, and its chunk is early talk at BDAT; prog never sees BDAT
	sink -D 0.2
	sink_ehlo \
	    send:'MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nBDAT 9 LAST\r\nDATA\r\nxyz' \
	    read
	expect "$SINK_RCPT"'554 5.5.1 Client sent data before the reply to BDAT\r\n'
	assertBytes "no CHUNKING: BDAT is held, its chunk early"
	assertNoData "prog never saw BDAT"
	settle
	assertLog "early at BDAT" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: early at BDAT: 9 bytes after 0\.0[0-9]{2} s: "DATA\\r\\nxyz": reject 554'
}

testDataCheckTwoMessagesPipelined() {
	# RFC 2920: the end of data may be followed, in one write, by the
	# next transaction; its reply has its own place in the queue
	for opts in '-D 0' '-S' '-D 0.2 -S'; do
		# shellcheck disable=SC2086
		sink $opts
		sink_ehlo \
		    send:'MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n' \
		    until:'354 go ahead\r\n' \
		    send:'one\r\n.\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n' \
		    until:'queued as 1\r\n250 2.1.0 sender ok\r\n250 2.1.5 recipient ok\r\n354 go ahead\r\n' \
		    send:'DATA\r\nis a word\r\n.\r\nQUIT\r\n' read
		expect "$SINK_RCPT"'354 go ahead\r\n250 2.0.0 queued as 1\r\n250 2.1.0 sender ok\r\n250 2.1.5 recipient ok\r\n354 go ahead\r\n250 2.0.0 queued as 2\r\n221 2.0.0 bye\r\n'
		assertBytes "$opts: two messages, the second pipelined after the first"
		printf 'DATA\r\nis a word\r\n' > "$T/expected"
		assertBytes "$opts: the second body, never taken for commands" \
		    "$(echo "$T/sink.d"/body.*.2)"
		settle
		assertEquals "$opts: not flagged" "" "$(logs)"
	done
}

testDataCheckHalfCloseChecksAll() {
	# a half-close must not let through what is not yet scanned: here
	# 130 NOOPs fill the queue of commands in flight (128), and a body
	# follows DATA in the same write
	sink -D 0
	sink_ehlo bulk:130:'NOOP\r\n' \
	    send:'MAIL FROM:<bot@x.example>\r\nRCPT TO:<v@y.example>\r\nDATA\r\nSubject: spam\r\n\r\nbuy now\r\n.\r\nQUIT\r\n' \
	    shut read
	assertEquals "every NOOP answered" 130 \
	    "$(grep -c '^250 2.0.0 ok' "$T/out")"
	assertEquals "the refusal comes last" \
	    '554 5.5.1 Client sent data before the 354 response' \
	    "$(tail -n 1 "$T/out" | tr -d '\r')"
	assertFalse "prog got no message" \
	    "ls '$T/sink.d'/body.* > /dev/null 2>&1"
	settle
	assertLog "early at DATA" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: early at DATA: [0-9]+ bytes after 0\.[0-9]{3} s: "Subject: spam\\r\\n.*": reject 554'
}

testDataCheckEarlyAfterABigReply() {
	# a reply owed that is larger than the buffer from prog still goes
	# on whole, before the refusal
	# shellcheck disable=SC2086
	serve $RUNNER "$EW" -D 0 "$PY" "$top/t/bigreply.py" 100
	client until:'220 big ESMTP\r\n' send:'HELP\r\nDATA\r\nX' read
	assertEquals "the whole HELP reply" 100 "$(grep -c '^214-h' "$T/out")"
	assertEquals "then the refusal" \
	    '214 end of help|554 5.5.1 Client sent data before the 354 response' \
	    "$(tail -n 2 "$T/out" | tr -d '\r' | paste -s -d '|' -)"
	assertWithin "at once" "$(timeof eof)" 0 1
}

testDataCheckEarlyClientReadsNothing() {
	# 6 MB of replies owed to a client that reads nothing: the session
	# still ends, within the 5 s for the replies and the drain (1 s at
	# most; this client is silent, so 0.2 s)
	# shellcheck disable=SC2086
	serve $RUNNER "$EW" -D 0 "$PY" "$top/t/bigreply.py" 60
	timeout 40 "$PY" "$top/t/deaf.py" "$port" "$T/deaf.t0" &
	deaf=$!
	waitfor 300 0.1 grep -q '^tcpserver: end ' "$T/log"
	end=$(date +%s.%N)
	kill "$deaf" 2> /dev/null
	wait "$deaf" 2> /dev/null
	assertTrue "the session ended while the client still held it" \
	    "grep -q '^tcpserver: end ' '$T/log'"
	# from just before the client connected
	assertWithin "ended after the bounds" \
	    "$(awk -v e="$end" '{ printf "%.1f", e - $1 }' "$T/deaf.t0")" 5 8
	assertLog "logged" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: early at DATA: 1 bytes after 0\.[0-9]{3} s: "X": reject 554'
}

testDataCheckHalfClose() {
	sinkdir
	# shellcheck disable=SC2086
	serve env SINK_QUIT_EXIT=7 $RUNNER "$EW" -v -D 0.2 "$PY" "$top/t/sink.py" \
	    "$T/sink.d"
	client until:'220 sink ESMTP\r\n' send:'EHLO c\r\nQUIT\r\n' shut read
	expect '220 sink ESMTP\r\n250-sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n221 2.0.0 bye\r\n'
	assertBytes "QUIT, then the half-close"
	assertWithin "closed at once" "$(timeof eof)" 0 0.5
	settle
	assertEquals "prog's exit status" 7 "$(status)"
	assertLog "done" 'earlytalker-wrap: 127\.0\.0\.1 pid x: done: status 7'
	unserve
	# the client closes without QUIT: prog reads the end of its input
	sink -D 0.2
	client until:'220 sink ESMTP\r\n' send:'NOOP\r\n' shut read
	expect '220 sink ESMTP\r\n250 2.0.0 ok\r\n'
	assertBytes "without QUIT"
	settle
	assertEquals "exit" 0 "$(status)"
}

testDataCheckManyAtOnce() {
	sinkdir
	i=0
	files=
	while [ "$i" -lt 20 ]; do
		files="$files $T/msg.$i"
		i=$((i + 1))
	done
	# shellcheck disable=SC2086
	"$PY" "$top/t/mkbody.py" 200000 $files
	# shellcheck disable=SC2086
	serve "$ET" -w 0.2 -d $RUNNER "$EW" -D 0.2 "$PY" "$top/t/sink.py" "$T/sink.d"
	pids=
	for f in $files; do
		polite "$f" "$f.out" /dev/null &
		pids="$pids $!"
	done
	CLIENT_TIMES=/dev/null timeout 20 "$PY" "$top/t/client.py" 127.0.0.1 \
	    "$port" until:'220 sink ESMTP\r\n' \
	    send:'EHLO bot\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nspam\r\n.\r\nQUIT\r\n' \
	    read > "$T/bot.out" &
	pids="$pids $!"
	CLIENT_TIMES=/dev/null timeout 20 "$PY" "$top/t/client.py" 127.0.0.1 \
	    "$port" send:'EHLO early\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nQUIT\r\n' \
	    read > "$T/early.out" &
	pids="$pids $!"
	# shellcheck disable=SC2086
	wait $pids
	polite_got > "$T/expected"
	for f in $files; do
		assertBytes "$f: replies" "$f.out"
	done
	# shellcheck disable=SC2086
	sha256sum $files | cut -d ' ' -f 1 | sort > "$T/sums.sent"
	sha256sum "$T/sink.d"/body.* | cut -d ' ' -f 1 | sort > "$T/sums.got"
	cmp -s "$T/sums.sent" "$T/sums.got" ||
	    fail "not every message arrived byte-exact, once"
	assertEquals "the bot is caught" \
	    "554 5.5.1 Client sent data before the 354 response" \
	    "$(tail -n 1 "$T/bot.out" | tr -d '\r')"
	assertEquals "the early talker is refused" \
	    "550 5.7.1 Connecting host started transmitting before SMTP greeting" \
	    "$(grep '^550' "$T/early.out" | tr -d '\r')"
	settle
	assertEquals "22 sessions, all exit 0" "22 0" \
	    "$(status | sort | uniq -c | awk '{ print $1, $2 }')"
	assertEquals "one early at DATA" 1 \
	    "$(logs | grep -c '^earlytalker-wrap: .*: early at DATA: 15 bytes .*: reject 554$')"
	assertEquals "one refusal" 1 \
	    "$(logs | grep -c '^earlytalker-wrap: .*: reject: helo=<early> ')"
}

# --- the closed world, beyond any real server ---
# What no real server does on demand: t/oddsmtp.py answers twice, or
# inside a message, or runs an AUTH LOGIN exchange.  The real servers'
# own cases stand in t/relay-servers.sh.

LOST421='421 4.5.0 SMTP synchronization lost, closing connection\r\n'

# odd KIND [RELAY OPTION ...]: serve t/oddsmtp.py KIND behind
# earlytalker-wrap with the options (-D 1 by default); it keeps every
# byte it reads in $T/odd.raw
odd() {
	k=$1
	shift
	rm -f "$T/odd.raw"
	[ $# -gt 0 ] || set -- -D 1
	# shellcheck disable=SC2086
	serve $RUNNER "$EW" "$@" "$PY" "$top/t/oddsmtp.py" "$T/odd.raw" "$k"
}

# a second reply to one command: the relay passes the first, not the
# second, nor the client's next command; 421 4.5.0 after a second
testLostSyncReplyToNoCommand() {
	odd twice
	client until:'220 odd ESMTP\r\n' send:'NOOP\r\n' until:'250 ok\r\n' \
	    send:'MAIL FROM:<a@b.example>\r\n' read
	expect "220 odd ESMTP\\r\\n250 ok\\r\\n$LOST421"
	assertBytes "the first reply, then 421 4.5.0"
	assertWithin "prog's second to end the session" "$(timeof eof)" 1 1.6
	settle
	printf 'NOOP\r\n' > "$T/expected"
	assertBytes "prog got nothing after the lost sync" "$T/odd.raw"
	assertLog "logged" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: lost sync: a reply to no command: "250 again\\r\\n": reject 421'
	assertEquals "exit" 0 "$(status)"
}

# a reply inside a message, where no line could end it
testLostSyncReplyInsideAMessage() {
	odd inbody
	client until:'220 odd ESMTP\r\n' send:'MAIL FROM:<a@b.example>\r\n' \
	    until:'ok\r\n' send:'RCPT TO:<c@d.example>\r\n' \
	    until:'ok\r\n250 2.0.0 ok\r\n' send:'DATA\r\n' until:'354 go ahead\r\n' \
	    send:'Subject: x\r\n' sleep:0.3 send:'\r\nbody\r\n.\r\nQUIT\r\n' read
	expect "220 odd ESMTP\\r\\n250 2.0.0 ok\\r\\n250 2.0.0 ok\\r\\n354 go ahead\\r\\n$LOST421"
	assertBytes "421 4.5.0, not the server's 250"
	settle
	printf 'MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nSubject: x\r\n' \
	    > "$T/expected"
	assertBytes "prog got nothing after the lost sync" "$T/odd.raw"
	assertLog "logged" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: lost sync: a reply inside a message: "250 2\.0\.0 ok early\\r\\n": reject 421'
}

# qmail-smtpd answers a bare LF in a message with 451 and exits: its own
# last reply reaches the client, and no 421 of the relay's follows
testLostSyncProgCloses() {
	qmail_build || return
	qqreset
	# shellcheck disable=SC2086
	serve $RUNNER "$EW" -D 0.2 "$T/qsmtpd"
	replies qsmtpd
	# the end of the message comes later: the 451 comes inside it
	client until:"$u_greet" send:'MAIL FROM:<a@b.example>\r\n' \
	    until:"$mailok" send:'RCPT TO:<c@example.net>\r\n' \
	    until:"$mailok$rcptok" send:'DATA\r\n' until:"$go" \
	    send:'Subject: x\r\n\r\nbare\nLF' sleep:0.3 send:'\r\n.\r\n' read
	expect "$greet$mailok$rcptok$go"'451 See https://cr.yp.to/docs/smtplf.html.\r\n'
	assertBytes "qmail-smtpd's 451, and nothing after it"
	assertEquals "nothing queued" 0 "$(delivered)"
	done_session
	assertLog "logged" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: lost sync: a reply inside a message: "451 See https://cr\.yp\.to/docs/smtplf\.html\.\\r\\n": prog closed'
	assertEquals "exit" 0 "$(status)"
}

# the answers to a 334 are no commands: an AUTH LOGIN exchange waits for
# no -D; an unknown verb does
testClosedWorldAuthAnswers() {
	odd auth -D 1
	client until:'220 odd ESMTP\r\n' send:'EHLO c\r\n' until:'8BITMIME\r\n' \
	    send:'AUTH LOGIN\r\n' until:'334 VXNlcm5hbWU6\r\n' \
	    send:'dXNlcg==\r\n' until:'334 UGFzc3dvcmQ6\r\n' \
	    send:'cGFzcw==\r\n' until:'235 2.7.0 ok\r\n' send:'QUIT\r\n' read
	expect '220 odd ESMTP\r\n250-odd\r\n250-PIPELINING\r\n250-AUTH LOGIN\r\n250 8BITMIME\r\n334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 2.7.0 ok\r\n221 2.0.0 bye\r\n'
	assertBytes "the whole exchange"
	assertWithin "nothing held for -D 1" "$(timeof eof)" 0 0.8
	client until:'220 odd ESMTP\r\n' send:'XFOO bar\r\n' \
	    until:'250 2.0.0 ok\r\n' send:'QUIT\r\n' read
	assertWithin "an unknown verb held for -D 1" "$(timeof eof)" 1 1.8
	settle
	assertEquals "none flagged" "" "$(logs)"
}

# observe mode in the relay: each verdict logged after "observe: ", and
# the session goes on, every byte both ways, as without the relay
testObserveRelay() {
	# lost sync: both replies go on, and the session to its end
	odd twice -o -D 1
	client until:'220 odd ESMTP\r\n' send:'NOOP\r\n' \
	    until:'250 ok\r\n250 again\r\n' send:'QUIT\r\n' read
	expect '220 odd ESMTP\r\n250 ok\r\n250 again\r\n221 2.0.0 bye\r\n'
	assertBytes "lost sync: every reply"
	settle
	printf 'NOOP\r\nQUIT\r\n' > "$T/expected"
	assertBytes "lost sync: prog got all" "$T/odd.raw"
	assertEquals "lost sync: observed" \
	    'earlytalker-wrap: 127.0.0.1 pid x: observe: lost sync: a reply to no command: "250 again\r\n": reject 421' \
	    "$(logs)"
	# -S: a command before the reply to EHLO, and a held line, unknown
	# and pipelined: all go on
	odd plain -o -S -D 0.2
	client until:'220 odd ESMTP\r\n' \
	    send:'EHLO c\r\nXFOO\r\nMAIL FROM:<a@b.example>\r\n' \
	    until:'ok\r\n250 2.0.0 ok\r\n' send:'QUIT\r\n' read
	expect '220 odd ESMTP\r\n250-odd\r\n250-PIPELINING\r\n250 8BITMIME\r\n250 2.0.0 ok\r\n250 2.0.0 ok\r\n221 2.0.0 bye\r\n'
	assertBytes "-S: every reply"
	settle
	printf 'EHLO c\r\nXFOO\r\nMAIL FROM:<a@b.example>\r\nQUIT\r\n' \
	    > "$T/expected"
	assertBytes "-S: prog got all" "$T/odd.raw"
	assertEquals "-S: observed" \
	    'earlytalker-wrap: 127.0.0.1 pid x: observe: early at EHLO: 31 bytes after 0.000 s: "XFOO\r\nMAIL FROM:<a@b.example>\r\n": reject 554' \
	    "$(logs)"
}

# a command line in its plain form goes on at 2000 bytes, CR LF included,
# pipelined under -S; at 2001 it is refused before prog sees any of it
testClosedWorldLineBound() {
	pad=$(awk 'BEGIN { while (n++ < 1972) printf "a" }')
	odd plain -S
	# 26 + 1972 + CR LF = 2000 bytes
	client until:'220 odd ESMTP\r\n' send:'EHLO c\r\n' until:'8BITMIME\r\n' \
	    send:"MAIL FROM:<a@b.example> X=$pad\\r\\nRCPT TO:<c@d.example>\\r\\n" \
	    until:'ok\r\n250 2.0.0 ok\r\n' send:'QUIT\r\n' read
	expect '220 odd ESMTP\r\n250-odd\r\n250-PIPELINING\r\n250 8BITMIME\r\n250 2.0.0 ok\r\n250 2.0.0 ok\r\n221 2.0.0 bye\r\n'
	assertBytes "2000 bytes: plain, pipelined"
	settle
	assertEquals "none flagged" "" "$(logs)"
	odd plain -S
	client until:'220 odd ESMTP\r\n' send:'EHLO c\r\n' until:'8BITMIME\r\n' \
	    send:"MAIL FROM:<a@b.example> X=${pad}a\\r\\nRCPT TO:<c@d.example>\\r\\n" \
	    read
	expect '220 odd ESMTP\r\n250-odd\r\n250-PIPELINING\r\n250 8BITMIME\r\n554 5.5.1 Client sent data before the reply to MAIL\r\n'
	assertBytes "2001 bytes: refused"
	settle
	printf 'EHLO c\r\n' > "$T/expected"
	assertBytes "prog saw none of it" "$T/odd.raw"
	assertLog "logged" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: early at MAIL: [0-9]+ bytes after 0\.000 s: "MAIL FROM:<a@b\.example> X=a+\.\.\.": reject 554'
}

# shellcheck source=/dev/null
. shunit2
