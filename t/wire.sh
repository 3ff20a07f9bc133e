#!/bin/sh
# shellcheck disable=SC2317 # shunit2 calls the functions
# t/wire.sh: earlytalker on the wire, under tcpserver on 127.0.0.1: the
# wait and what ends it (early bytes, hang-ups, resets, signals), the
# linger, marks (-d) and exemptions, the log line, the teaser (-b), the
# sync checks (-s) and random waits.
#
# Alone: ./test t/wire.sh, or sh t/wire.sh [-- testName ...]

# shellcheck source=t/lib.sh
. "$(dirname "$0")/lib.sh"

oneTimeSetUp() {
	lib_setup || return 1
	make_fake
}

# --- the wait, early talkers, the linger ---

testQuietClientIsPassed() {
	serve "$ET" -v -w 1 "$T/fake"
	client until:'\n' shut read
	expect '220 fake ESMTP\r\n'
	assertBytes "greeting from prog"
	assertWithin "greeting time" "$(timeof first)" 1.0 1.3
	settle
	assertLog "pass line" \
	    'earlytalker: 127\.0\.0\.1 pid x: pass after 1\.[0-9]{3} s'
	assertEquals "exit" 0 "$(status)"
	assertEquals "prog read nothing" 0 "$(wc -c < "$T/fake.in")"
}

testQuietClientNoLogByDefault() {
	serve "$ET" -w 0.3 "$T/fake"
	client until:'\n' shut read
	settle
	assertEquals "no line without -v" "" "$(logs)"
}

testEarlyAtZero() {
	serve "$ET" -w 2 "$T/fake"
	client send:'EHLO spam.example\r\n' shut read
	expect '554 5.5.1 Connecting host started transmitting before SMTP greeting\r\n503 5.5.1 Bad sequence of commands\r\n'
	assertBytes "554, then 503 for the early EHLO"
	assertWithin "reply at once" "$(timeof first)" 0 0.5
	settle
	assertLog "early line" \
	    'earlytalker: 127\.0\.0\.1 pid x: early: 19 bytes after 0\.[0-9]{3} s: "EHLO spam\.example\\r\\n" smtp: reject 554'
	assertEquals "exit" 0 "$(status)"
	assertFalse "prog ran" "[ -f '$T/fake.in' ]"
}

testEarlyMidWait() {
	serve "$ET" -w 2 "$T/fake"
	client sleep:0.5 send:'HELO x\r\n' until:'\n' shut read
	assertWithin "reply soon after the bytes" "$(timeof first)" 0.5 0.9
	settle
	assertLog "time in the log" \
	    'earlytalker: 127\.0\.0\.1 pid x: early: 8 bytes after 0\.(4[5-9]|[5-8][0-9])[0-9] s: "HELO x\\r\\n" smtp: reject 554'
	assertFalse "prog ran" "[ -f '$T/fake.in' ]"
}

testSingleByte() {
	serve "$ET" -w 2 "$T/fake"
	client send:'E' shut read
	expect '554 5.5.1 Connecting host started transmitting before SMTP greeting\r\n'
	assertBytes "one byte is enough"
	settle
	assertLog "one byte" \
	    'earlytalker: 127\.0\.0\.1 pid x: early: 1 bytes after 0\.[0-9]{3} s: "E" other: reject 554'
}

test64KiBEarlyStillGetsReply() {
	serve "$ET" -w 2 "$T/fake"
	# no newline in 64 KiB: no 503s, and the client never half-closes;
	# the reply must come through, not be destroyed by a reset
	client bulk:65536:'x' read
	expect '554 5.5.1 Connecting host started transmitting before SMTP greeting\r\n'
	assertBytes "the reply survives"
	assertFalse "reset" "grep -q reset '$T/times'"
	settle
	assertLog "early" \
	    'earlytalker: 127\.0\.0\.1 pid x: early: [0-9]+ bytes after 0\.[0-9]{3} s: "x{100}\.\.\." other: reject 554'
}

test64KiBOfCommandsGetsTwentyReplies() {
	serve "$ET" -w 2 "$T/fake"
	client bulk:8192:'NOOP\r\n' read
	assertEquals "replies in all" 20 "$(grep -c . "$T/out")"
	assertEquals "the 554 first" \
	    "554 5.5.1 Connecting host started transmitting before SMTP greeting" \
	    "$(head -n 1 "$T/out" | tr -d '\r')"
	assertEquals "then 503s" 19 "$(grep -c '^503 5.5.1 Bad sequence of commands' "$T/out")"
	assertFalse "reset" "grep -q reset '$T/times'"
}

testLingerQuit() {
	serve "$ET" -w 2 -l 5 "$T/fake"
	client send:'EHLO x\r\n' until:'503' sleep:0.1 send:'MAIL FROM:<a@b>\r\n' \
	    sleep:0.1 send:'quit\r\n' read
	expect '554 5.5.1 Connecting host started transmitting before SMTP greeting\r\n503 5.5.1 Bad sequence of commands\r\n503 5.5.1 Bad sequence of commands\r\n221 2.0.0 Bye\r\n'
	assertBytes "503 until QUIT, then 221"
	assertWithin "closed at QUIT, not at the linger" "$(timeof eof)" 0.2 0.6
}

testLingerBound() {
	# a line every 0.1 s keeps the linger going, up to -l 1: the lines
	# of the first second get 503 (about 10 of them), the rest none
	serve "$ET" -w 2 -l 1 "$T/fake"
	set --
	i=0
	while [ "$i" -lt 15 ]; do
		set -- "$@" sleep:0.1 send:'NOOP\r\n'
		i=$((i + 1))
	done
	client send:'EHLO x\r\n' "$@" read
	assertEquals "the 554 first" 554 "$(head -c 3 "$T/out")"
	n=$(grep -c '^503 ' "$T/out")
	assertTrue "replies until the linger ends: $n 503s, not 9 to 11" \
	    "[ $n -ge 9 ] && [ $n -le 11 ]"
	assertFalse "reset" "grep -q reset '$T/times'"
	serve "$ET" -w 2 -l 0 "$T/fake"
	client send:'EHLO x\r\n' read
	expect '554 5.5.1 Connecting host started transmitting before SMTP greeting\r\n'
	assertBytes "-l 0: the 554 alone"
	assertWithin "-l 0: closed at once" "$(timeof eof)" 0 0.5
}

testOverlongLineInLinger() {
	serve "$ET" -w 2 "$T/fake"
	client bulk:3000:'y' send:'\r\nQUIT\r\n' read
	expect '554 5.5.1 Connecting host started transmitting before SMTP greeting\r\n503 5.5.1 Bad sequence of commands\r\n221 2.0.0 Bye\r\n'
	assertBytes "an overlong line is one command"
}

testTemporary() {
	serve "$ET" -w 2 -p -t "$T/fake"
	client send:'EHLO x\r\nQUIT\r\n' read
	expect '421 4.5.1 Connecting host started transmitting before SMTP greeting\r\n'
	assertBytes "421 and close"
	settle
	assertLog "421" \
	    'earlytalker: 127\.0\.0\.1 pid x: early: 14 bytes after 0\.[0-9]{3} s: "EHLO x\\r\\nQUIT\\r\\n" smtp: reject 421'
	serve "$ET" -w 2 -t -p "$T/fake"
	client send:'EHLO x\r\n' shut read
	assertEquals "the last of -t -p wins" "554" "$(cut -c 1-3 "$T/out" | head -n 1)"
}

testHangup() {
	serve "$ET" -v -w 2 "$T/fake"
	client shut read
	assertEquals "nothing written" 0 "$(wc -c < "$T/out")"
	settle
	assertLog "hangup" 'earlytalker: 127\.0\.0\.1 pid x: hangup after 0\.[0-9]{3} s'
	assertEquals "exit" 0 "$(status)"
	assertFalse "prog ran" "[ -f '$T/fake.in' ]"
}

testReset() {
	serve "$ET" -v -w 2 "$T/fake"
	client sleep:0.2 rst
	settle
	assertLog "reset is a hangup" \
	    'earlytalker: 127\.0\.0\.1 pid x: hangup after 0\.[1-5][0-9]{2} s'
	assertEquals "exit" 0 "$(status)"
	assertFalse "prog ran" "[ -f '$T/fake.in' ]"
}

# A health check or a port scan connects and closes (or resets): no
# decision, so no line at the default level, nor with -q
testHealthCheckNoLine() {
	for opt in -q ''; do
		# shellcheck disable=SC2086
		serve "$ET" $opt -w 2 "$T/fake"
		client shut read
		client sleep:0.1 rst
		settle
		assertEquals "'$opt': connect and close" "" "$(logs)"
		assertFalse "'$opt': prog ran" "[ -f '$T/fake.in' ]"
	done
	if command -v nc > /dev/null 2>&1; then
		nc -z 127.0.0.1 "$port" || fail "nc -z could not connect"
		settle
		assertEquals "nc -z" "" "$(logs)"
	else
		echo "nc not found (sh deps test installs netcat-openbsd):" \
		    "nc -z not tried"
	fi
}

testDataThenCloseIsEarly() {
	serve "$ET" -w 2 "$T/fake"
	client send:'QUIT\r\n' shut read
	settle
	assertLog "bytes then FIN is early, not a hangup" \
	    'earlytalker: 127\.0\.0\.1 pid x: early: 6 bytes after 0\.[0-9]{3} s: "QUIT\\r\\n" smtp: reject 554'
}

testWaitZero() {
	serve "$ET" -v -w 0 "$T/fake"
	client until:'\n' shut read
	expect '220 fake ESMTP\r\n'
	assertBytes "quiet client"
	assertWithin "no wait" "$(timeof first)" 0 0.3
	# -w 0 checks what has already arrived: let the bytes arrive first
	serve sh -c "sleep 0.3; exec $RUNNER '$ET' -w 0 '$T/fake'"
	client send:'EHLO x\r\n' shut read
	assertEquals "early bytes already there are caught" "554" \
	    "$(head -c 3 "$T/out")"
}

testSignalsDuringWait() {
	# SIGSTOP and SIGCONT interrupt poll(); the deadline stays put
	serve "$ET" -v -w 1.5 "$T/fake"
	client until:'\n' shut read &
	cpid=$!
	sleep 0.3
	pid=$(sed -n 's/^tcpserver: pid \([0-9]*\) .*/\1/p' "$T/log" | head -n 1)
	kill -STOP "$pid"
	sleep 0.4
	kill -CONT "$pid"
	kill -WINCH "$pid"
	wait "$cpid"
	assertWithin "greeting at the deadline" "$(timeof first)" 1.5 1.8
	settle
	assertLog "pass" 'earlytalker: 127\.0\.0\.1 pid x: pass after 1\.[5-7][0-9]{2} s'
}

testNothingLeaksIntoProg() {
	# prog sees the signal state tcpserver gave, and no alarm: it lives
	# past the wait
	cat > "$T/sigprog" <<'EOF'
#!/bin/sh
sleep 1.5
echo alive
exec grep -E '^Sig(Blk|Ign)' /proc/self/status
EOF
	chmod 755 "$T/sigprog"
	serve "$T/sigprog"
	client read
	cp "$T/out" "$T/direct"
	serve "$ET" -w 0.5 "$T/sigprog"
	client read
	assertEquals "signals and life" "$(cat "$T/direct")" "$(cat "$T/out")"
	assertTrue "alive" "grep -q alive '$T/out'"
}

# --- marks (-d), exemptions, the wait from the environment ---

testDeferMarks() {
	serve "$ET" -w 2 -d "$T/fake"
	printf 'EHLO x\r\n\000\377 8bit\r\nQUIT\r\n' > "$T/early"
	client file:"$T/early" shut read
	expect '220 fake ESMTP\r\n'
	assertBytes "prog greets"
	cmp -s "$T/early" "$T/fake.in" ||
	    fail "prog did not read the early bytes unchanged"
	assertEnv "mark" \
	    "EARLYTALKER=-Connecting host started transmitting before SMTP greeting"
	settle
	assertLog "mark line" \
	    'earlytalker: 127\.0\.0\.1 pid x: early: 23 bytes after 0\.[0-9]{3} s: "EHLO x\\r\\n\\000\\377 8bit\\r\\nQUIT\\r\\n" smtp: mark'
	serve "$ET" -w 2 -d -t "$T/fake"
	client send:'EHLO x\r\n' shut read
	assertEnv "-t: no leading -" \
	    "EARLYTALKER=Connecting host started transmitting before SMTP greeting"
}

testDeferQuietLeavesNoMark() {
	serve "$ET" -w 0.2 -d "$T/fake"
	client until:'\n' send:'EHLO x\r\n' shut read
	assertFalse "no EARLYTALKER" "grep -q '^EARLYTALKER' '$T/fake.env'"
	assertEquals "prog read the command" "$(printf 'EHLO x\r\n')" \
	    "$(cat "$T/fake.in")"
}

testRelayClientSkips() {
	serve env RELAYCLIENT= "$ET" -v -w 5 "$T/fake"
	client send:'EHLO x\r\n' shut read
	expect '220 fake ESMTP\r\n'
	assertBytes "trusted: prog at once"
	assertWithin "no wait" "$(timeof first)" 0 0.3
	assertEquals "bytes kept" "$(printf 'EHLO x\r\n')" "$(cat "$T/fake.in")"
	settle
	assertLog "skip" 'earlytalker: 127\.0\.0\.1 pid x: skip: relayclient'
	# RELAYCLIENT wins over a mark
	serve env RELAYCLIENT= EARLYTALKER=-no "$ET" -w 5 "$T/fake"
	client shut read
	assertBytes "trusted beats marked"
}

testExemptSkips() {
	serve env EARLYTALKER= "$ET" -v -w 5 "$T/fake"
	client send:'EHLO x\r\n' shut read
	expect '220 fake ESMTP\r\n'
	assertBytes "exempt: prog at once"
	assertWithin "no wait" "$(timeof first)" 0 0.3
	settle
	assertLog "skip" 'earlytalker: 127\.0\.0\.1 pid x: skip: exempt'
}

testMarkedRejects() {
	serve env 'EARLYTALKER=-Go away' "$ET" -w 5 "$T/fake"
	client until:'\n' send:'QUIT\r\n' read
	expect '554 5.7.1 Go away\r\n221 2.0.0 Bye\r\n'
	assertBytes "marked permanent: 554 at once, then the linger"
	assertWithin "no wait" "$(timeof first)" 0 0.3
	settle
	assertLog "marked" 'earlytalker: 127\.0\.0\.1 pid x: marked: reject 554'
	serve env 'EARLYTALKER=Try later' "$ET" -w 5 -l 0 "$T/fake"
	client read
	expect '421 4.7.1 Try later\r\n'
	assertBytes "marked temporary: 421 and close"
	settle
	assertLog "marked" 'earlytalker: 127\.0\.0\.1 pid x: marked: reject 421'
	serve env "EARLYTALKER=-$(printf 'a\033b\rc')$(printf '%0250d' 0)" \
	    "$ET" -w 5 -l 0 "$T/fake"
	client read
	expect '554 5.7.1 a?b?c%0195d\r\n' 0
	assertBytes "text made printable and cut to 200 bytes"
	serve env 'EARLYTALKER=-' "$ET" -w 5 -l 0 "$T/fake"
	client read
	expect '554 5.7.1 Access denied\r\n'
	assertBytes "no text"
}

testMarkedDeferExecs() {
	serve env 'EARLYTALKER=-Go away' "$ET" -d -w 5 "$T/fake"
	client shut read
	expect '220 fake ESMTP\r\n'
	assertBytes "marked with -d: prog at once"
	assertWithin "no wait" "$(timeof first)" 0 0.3
	assertEnv "value left" "EARLYTALKER=-Go away"
	settle
	assertLog "marked" 'earlytalker: 127\.0\.0\.1 pid x: marked: mark'
}

testWaitFromEnvironment() {
	serve env EARLYTALKER_WAIT=0.2 "$ET" -w 5 "$T/fake"
	client until:'\n' shut read
	assertWithin "EARLYTALKER_WAIT wins" "$(timeof first)" 0.2 0.5
	serve env EARLYTALKER_WAIT=2x "$ET" -w 0.4 "$T/fake"
	client until:'\n' shut read
	assertWithin "a bad value falls back to -w" "$(timeof first)" 0.4 0.7
	settle
	assertLog "and says so" \
	    'earlytalker: 127\.0\.0\.1 pid x: warning: EARLYTALKER_WAIT "2x" is not seconds from 0 to 300: using 0\.400'
	serve env EARLYTALKER_WAIT="$(printf '1\n\033')" "$ET" -q -w 0.2 "$T/fake"
	client until:'\n' shut read
	settle
	assertLog "escaped, even with -q" \
	    'earlytalker: 127\.0\.0\.1 pid x: warning: EARLYTALKER_WAIT "1\\n\\033" is not seconds from 0 to 300: using 0\.200'
}

testQuietOption() {
	serve "$ET" -q -w 2 "$T/fake"
	client send:'EHLO x\r\n' shut read
	assertEquals "still rejected" "554" "$(head -c 3 "$T/out")"
	settle
	assertEquals "-q: no decision lines" "" "$(logs)"
}

# --- the peer's address and the log line ---

testPeerAddressFromSocket() {
	serve env -u TCPREMOTEIP "$ET" -w 2 "$T/fake"
	client send:'EHLO x\r\n' shut read
	settle
	assertLog "getpeername" \
	    'earlytalker: 127\.0\.0\.1 pid x: early: 8 bytes after 0\.[0-9]{3} s: "EHLO x\\r\\n" smtp: reject 554'
}

testPeerAddressIPv6() {
	: > "$T/port"
	# shellcheck disable=SC2086
	timeout 20 "$PY" "$top/t/inetd6.py" $RUNNER "$ET" -w 2 "$T/fake" \
	    > "$T/port" 2> "$T/log" &
	ipid=$!
	waitfor 100 0.05 test -s "$T/port"
	port=$(cat "$T/port")
	HOST=::1 client send:'EHLO x\r\n' shut read
	wait "$ipid"
	assertLog "IPv6 from getpeername" \
	    'earlytalker: ::1 pid x: early: 8 bytes after 0\.[0-9]{3} s: "EHLO x\\r\\n" smtp: reject 554'
}

testLogEscapesHostileBytes() {
	serve "$ET" -w 2 "$T/fake"
	client send:'\x00\x1b[2J\t"\\\r\nfake: line\xff' shut read
	settle
	assertLog "escaped sample" \
	    'earlytalker: 127\.0\.0\.1 pid x: early: 21 bytes after 0\.[0-9]{3} s: "\\000\\033\[2J\\t\\"\\\\\\r\\nfake: line\\377" other: reject 554'
	assertEquals "one line only" 1 "$(logs | wc -l)"
}

testLogSampleIsCut() {
	serve "$ET" -w 2 "$T/fake"
	client bulk:300:'\xfe' shut read
	settle
	assertLog "100 bytes, escaped, then ..." \
	    "earlytalker: 127\\.0\\.0\\.1 pid x: early: 300 bytes after 0\\.[0-9]{3} s: \"(\\\\376){100}\\.\\.\\.\" other: reject 554"
	assertTrue "under 1000 bytes" "[ $(logs | wc -c) -lt 1000 ]"
}

testLogClasses() {
	for c in 'tls:\x16\x03\x01\x02\x00\x01\x00' \
	    'http:GET / HTTP/1.0\r\n' 'http:CONNECT mx:25 HTTP/1.1\r\n' \
	    'proxy:PROXY TCP4 192.0.2.1 192.0.2.2 1 25\r\n' \
	    'proxy:\r\n\r\n\x00\r\nQUIT\n\x21\x11' \
	    'smtp:ehlo x\r\n' 'smtp:STARTTLS\r\n' 'other:hello\r\n' \
	    'other:EHL'; do
		serve "$ET" -w 2 "$T/fake"
		client send:"${c#*:}" shut read
		settle
		assertLog "${c%%:*}" \
		    "earlytalker: 127\\.0\\.0\\.1 pid x: early: [0-9]+ bytes after 0\\.[0-9]{3} s: \".*\" ${c%%:*}: reject 554"
		kill "$srvpid"
		wait "$srvpid" 2> /dev/null
		srvpid=
	done
}

testManyAtOnce() {
	serve "$ET" -w 1 "$T/fake"
	i=0
	pids=
	while [ "$i" -lt 10 ]; do
		CLIENT_TIMES=/dev/null timeout 20 "$PY" "$top/t/client.py" \
		    127.0.0.1 "$port" send:'EHLO x\r\n' shut read \
		    > "$T/out.$i" &
		pids="$pids $!"
		i=$((i + 1))
	done
	# shellcheck disable=SC2086
	wait $pids
	settle
	assertEquals "ten early lines" 10 "$(logs | grep -c ': early: ')"
	assertEquals "ten 554s" 10 "$(cat "$T"/out.* | grep -c '^554 ')"
}

# --- the teaser (-b) ---

# plainsmtp: a next program that does not offer PIPELINING
plainsmtp() {
	cat > "$T/plain" <<'EOF'
#!/bin/sh
printf '220 plain ESMTP\r\n'
while IFS= read -r line; do
	case $line in
	[Ee][Hh][Ll][Oo]*) printf '250-plain\r\n250 8BITMIME\r\n' ;;
	[Qq][Uu][Ii][Tt]*) printf '221 plain closing\r\n'; exit 0 ;;
	*) printf '250 ok\r\n' ;;
	esac
done
EOF
	chmod 755 "$T/plain"
}

testTeaserQuiet() {
	serve "$ET" -b 'mx.example at your service' -w 0.5 "$T/fake"
	client until:'fake ESMTP\r\n' shut read
	expect '220-mx.example at your service\r\n220 fake ESMTP\r\n'
	assertBytes "prog's 220 finishes the teaser's greeting"
	assertWithin "the teaser at once" "$(timeof first)" 0 0.3
	assertWithin "the rest after the wait" "$(timeof until)" 0.5 0.8
}

testTeaserEarlyNeverBreaksTheReply() {
	# RFC 5321 4.2.1: no 554 or 521 after a 220- line; finish with 220,
	# then refuse every command but QUIT
	serve "$ET" -b teaser -w 2 "$T/fake"
	client until:'teaser\r\n' send:'EHLO x\r\nMAIL FROM:<a@b>\r\n' \
	    until:'greeting\r\n550 5.5.1 Connecting host started transmitting before SMTP greeting\r\n' \
	    send:'QUIT\r\n' read
	expect '220-teaser\r\n220 localhost ESMTP\r\n550 5.5.1 Connecting host started transmitting before SMTP greeting\r\n550 5.5.1 Connecting host started transmitting before SMTP greeting\r\n221 2.0.0 Bye\r\n'
	assertBytes "teaser, 220, 550 per command, 221"
	settle
	assertLog "early after the teaser" \
	    'earlytalker: 127\.0\.0\.1 pid x: early: [0-9]+ bytes after 0\.[0-9]{3} s: "EHLO x\\r\\n.*" smtp: reject 550'
	serve "$ET" -b teaser -t -w 2 "$T/fake"
	client until:'teaser\r\n' send:'EHLO x\r\n' read
	expect '220-teaser\r\n220 localhost ESMTP\r\n421 4.5.1 Connecting host started transmitting before SMTP greeting\r\n'
	assertBytes "-t: 220, then 421 to the first command, then close"
	# -l 0: no linger, but the line that came early is still refused
	serve "$ET" -b teaser -t -l 0 -w 2 "$T/fake"
	client until:'teaser\r\n' send:'EHLO x\r\n' read
	expect '220-teaser\r\n220 localhost ESMTP\r\n421 4.5.1 Connecting host started transmitting before SMTP greeting\r\n'
	assertBytes "-t -l 0: the early line gets its 421"
	serve "$ET" -b teaser -l 0 -w 2 "$T/fake"
	client until:'teaser\r\n' send:'EHLO x\r\n' read
	expect '220-teaser\r\n220 localhost ESMTP\r\n550 5.5.1 Connecting host started transmitting before SMTP greeting\r\n'
	assertBytes "-l 0: the early line gets its 550, then close"
}

testTeaserDeferAndWrap() {
	# shellcheck disable=SC2086
	serve "$ET" -b teaser -d -w 2 $RUNNER "$EW" "$T/fake"
	client until:'teaser\r\n' send:'EHLO x\r\n' until:'8BITMIME\r\n' \
	    send:'QUIT\r\n' read
	expect '220-teaser\r\n220 localhost ESMTP\r\n250-localhost\r\n250-PIPELINING\r\n250 8BITMIME\r\n221 2.0.0 localhost closing\r\n'
	assertBytes "earlytalker-wrap's greeting finishes the teaser"
	assertFalse "prog ran" "[ -f '$T/fake.in' ]"
}

testTeaserExecFailure() {
	serve "$ET" -b teaser -w 0.2 /nonexistent/prog
	client until:'unavailable\r\n' shut read
	expect '220-teaser\r\n220 localhost ESMTP\r\n421 4.3.0 Service temporarily unavailable\r\n'
	assertBytes "the 421 never continues a 220- reply"
	et -b '' true < /dev/null
	assertEquals "-b '': usage" 100 $?
}

# --- sync checks (-s) and random waits ---

testSyncCheck() {
	plainsmtp
	# shellcheck disable=SC2086
	serve $RUNNER "$EW" -S "$T/plain"
	client until:'\n' send:'EHLO x\r\n' until:'8BITMIME\r\n' \
	    send:'MAIL FROM:<a@b>\r\n' until:'ok\r\n' send:'QUIT\r\n' read
	expect '220 plain ESMTP\r\n250-plain\r\n250 8BITMIME\r\n250 ok\r\n221 plain closing\r\n'
	assertBytes "a client that waits passes"
	# without PIPELINING offered, every command synchronises
	client until:'\n' send:'EHLO x\r\n' until:'8BITMIME\r\n' \
	    send:'MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n' read
	expect '220 plain ESMTP\r\n250-plain\r\n250 8BITMIME\r\n554 5.5.1 Client sent data before the reply to MAIL\r\n'
	assertBytes "MAIL then RCPT in one write: the 554 is MAIL's reply"
	client until:'\n' send:'EHLO x\r\nMAIL FROM:<a@b>\r\n' read
	expect '220 plain ESMTP\r\n554 5.5.1 Client sent data before the reply to EHLO\r\n'
	assertBytes "EHLO is a sync point"
	settle
	assertLog "the log" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: early at EHLO: 17 bytes after 0\.[0-9]{3} s: "MAIL FROM:<a@b>\\r\\n": reject 554'
	assertEquals "every session ended with 0" "0 0 0" \
	    "$(status | xargs)"
	# bytes before prog's greeting: prog greets after 0.5 s here
	cat > "$T/slow" <<EOF
#!/bin/sh
sleep 0.5
exec "$T/plain"
EOF
	chmod 755 "$T/slow"
	# shellcheck disable=SC2086
	serve $RUNNER "$EW" -S "$T/slow"
	client send:'EHLO x\r\n' read
	expect '554 5.5.1 Client sent data before the greeting\r\n'
	assertBytes "before the greeting"
}

testSyncCheckRealClients() {
	skip_for swaks && return 0
	echo "exercised: swaks $(dpkg-query -W -f='${Version}' swaks)"
	# shellcheck disable=SC2086
	serve "$ET" -w 0.5 -d $RUNNER "$EW" -S -D 0.2 env PLUGINS=accept \
	    smtpfront-echo
	for p in '' --pipeline; do
		# shellcheck disable=SC2086
		timeout 30 swaks --server "127.0.0.1:$port" $p \
		    --from a@b.example --to c@d.example > "$T/swaks" 2>&1
		assertEquals "swaks $p delivers" 0 $?
		assertTrue "swaks $p: the message was taken" \
		    "grep -q '^<-  250 Received' '$T/swaks'"
	done
	# PIPELINING offered: MAIL and RCPT may go together, EHLO may not
	client until:'ESMTP\r\n' send:'EHLO x\r\n' until:' PIPELINING\r\n' \
	    send:'MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n' until:'Recipient' \
	    send:'QUIT\r\n' read
	assertTrue "pipelined MAIL, RCPT: fine" "grep -q '^221 ' '$T/out'"
	client until:'ESMTP\r\n' send:'EHLO x\r\nMAIL FROM:<a@b>\r\n' read
	assertTrue "the bot is caught" \
	    "grep -q '^554 5.5.1 Client sent data before the reply to EHLO' '$T/out'"
	settle
	assertEquals "one early line: the bot's: $(logs | grep early)" 1 \
	    "$(logs | grep -c early)"
}

testRandomWait() {
	serve "$ET" -w 0.2-0.8 "$T/fake"
	i=0
	: > "$T/firsts"
	while [ "$i" -lt 8 ]; do
		client until:'\n' shut read
		timeof first >> "$T/firsts"
		i=$((i + 1))
	done
	assertTrue "all within 0.2..0.8 s" \
	    "awk -v s=$SLACK '\$1 < 0.2 || \$1 > 0.85 + s { bad = 1 } END { exit bad }' '$T/firsts'"
	assertTrue "not one fixed wait" \
	    "awk 'NR == 1 { lo = hi = \$1 } { if (\$1 < lo) lo = \$1; if (\$1 > hi) hi = \$1 } END { exit !(hi - lo > 0.05) }' '$T/firsts'"
	serve env EARLYTALKER_WAIT=0.1-0.2 "$ET" -w 5 "$T/fake"
	client until:'\n' shut read
	assertWithin "a range in EARLYTALKER_WAIT" "$(timeof first)" 0.1 0.4
	serve env EARLYTALKER_WAIT=x "$ET" -w 0.2-0.4 "$T/fake"
	client until:'\n' shut read
	settle
	assertLog "a bad value: the -w range applies" \
	    'earlytalker: 127\.0\.0\.1 pid x: warning: EARLYTALKER_WAIT "x" is not seconds from 0 to 300: using 0\.200-0\.400'
	for args in '-w 3-2' '-w 1-301' '-w 1-' '-w -1' '-w 1--2' \
	    '-w 1-2-3'; do
		# shellcheck disable=SC2086
		et $args true < /dev/null
		assertEquals "$args: usage" 100 $?
	done
}

# shellcheck source=/dev/null
. shunit2
