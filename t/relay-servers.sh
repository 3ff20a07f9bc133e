#!/bin/sh
# shellcheck disable=SC2317 # shunit2 calls the functions
# t/relay-servers.sh: the relay in front of real servers, the rigs of
# t/servers.sh: notqmail's qmail-smtpd (built from vendor/notqmail.tar.gz)
# and mailfront's SMTP front end, then Postfix's smtpd -S, Exim and
# qpsmtpd.  Each takes more than the relay's own grammar does ("DATA x",
# "data", DATA NUL x; lenient ends of a message); the relay must follow
# what the server did, not what it guessed.  qmail-smtpd and mailfront
# keep each message they accept in $T/qq/new, its envelope first (see
# delivered); the others in their rig's queue.  Postfix's smtpd -S, Exim
# and qpsmtpd need root (their private queues and postdrop): CI runs as
# root.  Last, the real clients (msmtp, Postfix's and Exim's smtp
# clients) through the whole chain, and msmtp's STARTTLS to Exim.
#
# Alone: ./test t/relay-servers.sh, or sh t/relay-servers.sh [-- testName ...]

# shellcheck source=t/lib.sh
. "$(dirname "$0")/lib.sh"

oneTimeSetUp() {
	lib_setup || return 1
}

# --- notqmail's qmail-smtpd and mailfront ---

# norm: $T/out into $T/out.n, qmail-smtpd's "250 ok TIME qp PID" made
# "250 ok T qp P"
norm() {
	sed 's/^250 ok [0-9]* qp [0-9]*\r$/250 ok T qp P\r/' "$T/out" > "$T/out.n"
}

# label ESCAPED: a name for the bytes that ESCAPED stands for (\r, \n,
# \0 as CR, LF, NUL), for the messages of assertions
label() {
	printf '%s' "$1" | sed 's/\\r/CR/g; s/\\n/LF/g; s/\\0/NUL/g'
}

# after_ehlo [OP ...]: the client (see client) says EHLO once the
# greeting has come, then, once the reply to EHLO has come, does the
# OPs (the replies of replies)
after_ehlo() {
	client until:"$u_greet" send:'EHLO c.example\r\n' until:"$u_ehlo" "$@"
}

# envelope FROM TO [OP ...]: after_ehlo, then MAIL FROM:<FROM>, then RCPT
# TO:<TO>, each once the reply before it has come, then the OPs
envelope() {
	e_from=$1 e_to=$2
	shift 2
	after_ehlo send:"MAIL FROM:<$e_from>\\r\\n" until:"$u_mail" \
	    send:"RCPT TO:<$e_to>\\r\\n" until:"$u_rcpt" "$@"
}

# to_data FROM TO [OP ...]: envelope, then DATA, then, once the 354 has
# come, the OPs
to_data() {
	td_from=$1 td_to=$2
	shift 2
	envelope "$td_from" "$td_to" send:'DATA\r\n' until:"$u_go" "$@"
}

EARLY554='554 5.5.1 Client sent data before the 354 response\r\n'

# case 1: a DATA line that the server takes and the relay's grammar does
# not, in one write with the message: refused at DATA, nothing queued
testFollowDataVariantsEarly() {
	skip_for mailfront && return
	qmail_build || return
	tap_setup
	blanks=$(printf '%34s' '')
	for s in qsmtpd mfront; do
		replies "$s"
		for v in 'DATA x' "DATA$blanks" 'DATA\0x' 'data x' ' DATA'; do
			n=$(label "$v")
			qqreset
			# shellcheck disable=SC2086
			serve $RUNNER "$EW" -D 1 "$T/tap" "$T/$s"
			client until:"$u_greet" \
			    send:"MAIL FROM:<a@b.example>\\r\\nRCPT TO:<c@example.net>\\r\\n$v\\r\\nSubject: bot\\r\\n\\r\\nspam\\r\\n.\\r\\nQUIT\\r\\n" \
			    read
			expect "$greet$mailok$rcptok$EARLY554"
			assertBytes "$s, [$n]: the replies to MAIL and RCPT, then 554"
			assertEquals "$s, [$n]: nothing queued" 0 "$(delivered)"
			done_session
			printf 'MAIL FROM:<a@b.example>\r\nRCPT TO:<c@example.net>\r\n' \
			    > "$T/expected"
			assertBytes "$s, [$n]: the server never saw the DATA line" \
			    "$T/qq/raw"
			assertEquals "$s, [$n]: exit" 0 "$(status)"
			assertLog "$s, [$n]: early at DATA" \
			    'earlytalker-wrap: 127\.0\.0\.1 pid x: early at DATA: 31 bytes after 0\.[0-9]{3} s: "Subject: bot\\r\\n\\r\\nspam\\r\\n\.\\r\\nQUIT\\r\\n": reject 554'
			unserve
		done
	done
}

# twin_msg FILE: a message of 260 lines, some of them commands, DATA
# among them unless the second argument is "nodata"; dot-stuffed
twin_msg() {
	awk -v nodata="${2:-}" 'BEGIN {
		printf "Subject: twin\r\n\r\n"
		if (nodata != "nodata")
			printf "DATA\r\n"
		printf "MAIL FROM:<x@y.example>\r\nRCPT TO:<z@example.net>\r\n"
		printf "..DATA\r\nQUIT\r\n.. a stuffed dot\r\n\r\n"
		for (i = 1; i <= 250; i++)
			printf "line %d of the message\r\n", i
	}' > "$1"
}

# politely SERVER DATALINE FILE: a client that waits for each reply,
# sends DATALINE for DATA and, after the 354, the message in FILE
politely() {
	replies "$1"
	envelope a@b.example c@example.net send:"$2\\r\\n" until:"$u_go" \
	    file:"$3" send:'.\r\n' until:"$u_queued" send:'QUIT\r\n' read
}

# cases 1 and 2, the polite twin: after "DATA x" (and the other DATA
# lines that the servers take; plain DATA too) and its 354, a message
# with a line DATA in it and more than 127 lines is delivered, byte for
# byte
testFollowDataVariantsPolite() {
	skip_for mailfront && return
	qmail_build || return
	twin_msg "$T/twin.msg"
	unstuff < "$T/twin.msg" > "$T/twin.kept"
	blanks=$(printf '%34s' '')
	for s in qsmtpd mfront; do
		replies "$s"
		for v in DATA 'DATA x' "DATA$blanks" 'DATA\0x' 'data x'; do
			n=$(label "$v")
			qqreset
			# shellcheck disable=SC2086
			serve $RUNNER "$EW" -D 1 "$T/$s"
			politely "$s" "$v" "$T/twin.msg"
			norm
			expect "$greet$ehlo$mailok$rcptok$go$queued$bye"
			assertBytes "$s, [$n]: every reply, no 554" "$T/out.n"
			assertEquals "$s, [$n]: delivered once" 1 "$(delivered)"
			qmessage "$T"/qq/new/* > "$T/got"
			cmp -s "$T/twin.kept" "$T/got" ||
			    fail "$s, [$n]: the message changed: $(diff "$T/twin.kept" "$T/got" | head -n 5)"
			done_session
			assertEquals "$s, [$n]: exit" 0 "$(status)"
			unserve
		done
	done
}

# case 2: more than 127 lines after "DATA x", none of them DATA: no
# queue of owed replies fills, the session ends when the client leaves
testFollowManyLinesAfterDataX() {
	skip_for mailfront && return
	qmail_build || return
	twin_msg "$T/many.msg" nodata
	unstuff < "$T/many.msg" > "$T/many.kept"
	for s in qsmtpd mfront; do
		replies "$s"
		qqreset
		# shellcheck disable=SC2086
		serve $RUNNER "$EW" -D 1 "$T/$s"
		politely "$s" 'DATA x' "$T/many.msg"
		norm
		expect "$greet$ehlo$mailok$rcptok$go$queued$bye"
		assertBytes "$s: every reply" "$T/out.n"
		assertEquals "$s: delivered once" 1 "$(delivered)"
		qmessage "$T"/qq/new/* > "$T/got" 2> /dev/null
		cmp -s "$T/many.kept" "$T/got" || fail "$s: the message changed"
		done_session
		assertEquals "$s: exit" 0 "$(status)"
		unserve
	done
}

# case 3: mailfront ends a message at LF . LF, CR LF . LF and LF . CR LF;
# after such an end, a second transaction pipelined with its message
# before the 354 is refused and only the first message is kept.
# qmail-smtpd refuses the bare LF with 451 and closes: nothing is kept.
testFollowLenientEnd() {
	skip_for mailfront && return
	qmail_build || return
	second='MAIL FROM:<a@b.example>\r\nRCPT TO:<c@example.net>\r\nDATA\r\nSubject: 2\r\n\r\nsecond\r\n.\r\nQUIT\r\n'
	for end in '\n.\n' '\r\n.\n' '\n.\r\n'; do
		n=$(label "$end")
		for s in mfront qsmtpd; do
			replies "$s"
			qqreset
			# shellcheck disable=SC2086
			serve $RUNNER "$EW" -S -D 1 "$T/$s"
			to_data a@b.example c@example.net \
			    send:"Subject: 1\\r\\n\\r\\nfirst$end$second" read
			done_session
			case $s in
			mfront)
				expect "$greet$ehlo$mailok$rcptok$go$queued$mailok$rcptok$EARLY554"
				assertBytes "$s, [$n]: the first message taken, the second refused"
				assertEquals "$s, [$n]: one message kept" 1 \
				    "$(delivered)"
				printf 'Subject: 1\n\nfirst\n' > "$T/expected"
				qmessage "$T"/qq/new/* > "$T/got" 2> /dev/null
				assertBytes "$s, [$n]: the first message" "$T/got"
				assertEquals "$s, [$n]: exit" 0 "$(status)"
				;;
			qsmtpd)
				# the relay may refuse the pipelined DATA too,
				# once qmail-smtpd's 451 has ended the message
				expect "$greet$ehlo$mailok$rcptok$go"'451 See https://cr.yp.to/docs/smtplf.html.\r\n'
				if sed '$!d' "$T/out" |
				    grep -q '^554 5\.5\.1 Client sent data before the 354 response.$'; then
					sed '$d' "$T/out" > "$T/out.n"
				else
					cp "$T/out" "$T/out.n"
				fi
				assertBytes "$s, [$n]: 451 at the bare LF" "$T/out.n"
				assertEquals "$s, [$n]: nothing kept" 0 \
				    "$(delivered)"
				assertTrue "$s, [$n]: exit 1 (qmail-smtpd's) or 0 (refused)" \
				    "status | grep -qx '[01]'"
				;;
			esac
			unserve
		done
	done
}

# case 3, the polite twin: a client that waits for every reply, its
# first message ended at a lenient end: both messages kept
testFollowLenientEndPolite() {
	skip_for mailfront && return
	qmail_build || return
	replies mfront
	# the replies to the second transaction, after the first's
	t2=$queued$mailok
	for end in '\n.\n' '\r\n.\n' '\n.\r\n'; do
		n=$(label "$end")
		qqreset
		# shellcheck disable=SC2086
		serve $RUNNER "$EW" -S -D 1 "$T/mfront"
		to_data a@b.example c@example.net \
		    send:"Subject: 1\\r\\n\\r\\nfirst$end" until:"$u_queued" \
		    send:'MAIL FROM:<a@b.example>\r\n' until:"$t2" \
		    send:'RCPT TO:<c@example.net>\r\n' until:"$t2$rcptok" \
		    send:'DATA\r\n' until:"$t2$rcptok$go" \
		    send:'Subject: 2\r\n\r\nsecond\r\n.\r\n' \
		    until:"$t2$rcptok$go$queued" send:'QUIT\r\n' read
		done_session
		expect "$greet$ehlo$mailok$rcptok$go$queued$mailok$rcptok$go$queued$bye"
		assertBytes "[$n]: every reply"
		assertEquals "[$n]: both messages kept" 2 "$(delivered)"
		printf 'Subject: 1\n\nfirst\nSubject: 2\n\nsecond\n' > "$T/expected"
		for f in "$T"/qq/new/*; do
			qmessage "$f"
		done > "$T/got" 2> /dev/null
		assertBytes "[$n]: both messages, in order" "$T/got"
		assertEquals "[$n]: exit" 0 "$(status)"
		unserve
	done
}

# case 4, the wake-up race: the client sends its message after DATA and
# before the 354 exists, while the relay is stopped; the server's 354
# comes while it is still stopped; both are ready when it wakes up.
# The message was sent before the 354: refused.
testFollowWakeUpRace() {
	sinkdir
	# t/racesink.py: a server that answers DATA with 354 only once the
	# client has sent its message (the file sent), then notes it (the
	# file 354); t/raceclient.py: the client, which sends its message
	# once the relay is stopped (the file stopped), then notes it (the
	# file sent)
	# shellcheck disable=SC2086
	serve $RUNNER "$EW" -D 0 "$PY" "$top/t/racesink.py" "$T/sink.d"
	timeout 60 "$PY" "$top/t/raceclient.py" "$port" "$T/sink.d" > "$T/out" &
	cpid=$!
	# the relay has passed DATA on: stop it
	waitfor 1500 0.02 grep -q '^DATA' "$T/sink.d/raw" 2> /dev/null
	wpid=$(sed -n 's/^tcpserver: pid \([0-9]*\) .*/\1/p' "$T/log" | head -n 1)
	kill -STOP "$wpid"
	i=0
	until [ "$(ps -o state= -p "$wpid")" = T ] || [ "$i" -ge 500 ]; do
		sleep 0.01
		i=$((i + 1))
	done
	assertEquals "the relay is stopped" T "$(ps -o state= -p "$wpid")"
	: > "$T/sink.d/stopped"
	# the message is sent, then the 354: wake the relay
	waitfor 1500 0.02 test -e "$T/sink.d/354"
	assertTrue "the message was sent before the 354" "[ -e '$T/sink.d/sent' ]"
	assertTrue "the 354 was written while the relay was stopped" \
	    "[ -e '$T/sink.d/354' ]"
	sleep 0.1
	kill -CONT "$wpid"
	wait "$cpid"
	expect '220 sink ESMTP\r\n250-sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n250 2.0.0 ok\r\n250 2.0.0 ok\r\n554 5.5.1 Client sent data before the 354 response\r\n'
	assertBytes "the message before the 354 is refused"
	assertFalse "no message" "[ -e '$T/sink.d/body' ]"
	done_session
	assertEquals "exit" 0 "$(status)"
	assertLog "early at DATA" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: early at DATA: .*: reject 554'
}

# case 5: the next program dies in the middle of a message under -D: the
# client gets a 421, not a bare close, and nothing is kept
testFollowServerDiesMidMessage() {
	skip_for mailfront && return
	qmail_build || return
	for s in qsmtpd mfront; do
		replies "$s"
		qqreset
		# shellcheck disable=SC2086
		serve $RUNNER "$EW" -D 1 "$T/$s"
		to_data a@b.example c@example.net \
		    send:'Subject: cut\r\n\r\nthe first part\r\n' read &
		cpid=$!
		i=0
		until [ "$(grep -c '^until ' "$T/times")" -ge 5 ] ||
		    [ "$i" -ge 1500 ]; do
			sleep 0.02
			i=$((i + 1))
		done
		sleep 0.3
		kill -KILL "$(head -n 1 "$T/qq/pids")"
		wait "$cpid"
		expect "$greet$ehlo$mailok$rcptok$go"'421 4.3.0 Service temporarily unavailable\r\n'
		assertBytes "$s: 421 as the last reply"
		assertEquals "$s: nothing kept" 0 "$(delivered)"
		done_session
		assertEquals "$s: exit 111, prog killed by a signal" 111 \
		    "$(status)"
		unserve
	done
}

# the real chain, end to end: earlytalker -d, earlytalker-wrap -D,
# qmail-smtpd; swaks (plain and pipelining), Python's smtplib and the
# suite's client with 1 MiB of 8-bit text, kept byte for byte
testFollowRealChain() {
	qmail_build || return
	skip_for swaks && return
	echo "exercised: notqmail qmail-smtpd (vendor/notqmail.tar.gz)"
	# every byte value; CR and LF only as CR LF; lines under 1000
	# bytes, many of them starting with a dot
	"$PY" "$top/t/randmsg.py" 8bit "$T/8bit.msg" "$T/8bit.stuffed"
	tr -d '\r' < "$T/8bit.msg" > "$T/8bit.kept"
	qqreset
	# shellcheck disable=SC2086
	serve $RUNNER "$ET" -w 0.2 -d $RUNNER "$EW" -D 0.2 "$T/qsmtpd"
	for p in '' --pipeline; do
		swaks_send "$p" example.net
		f=$(grep -l "Tswaks$p@example.net" "$T"/qq/new/* 2> /dev/null)
		assertEquals "swaks $p: kept once" 1 "$(echo "$f" | grep -c .)"
		qmessage "$f" > "$T/got" 2> /dev/null
		if ! grep -qx "Subject: swaks$p" "$T/got" ||
		    ! grep -qx "Hello from swaks$p." "$T/got"; then
			fail "swaks $p: the message: $(cat "$T/got")"
		fi
	done
	timeout 120 "$PY" "$top/t/smtplib_send.py" 127.0.0.1 "$port" \
	    "$T/8bit.msg" smtplib@example.net 60 > "$T/smtplib.out" 2>&1
	assertEquals "smtplib: exit ($(cat "$T/smtplib.out"))" 0 $?
	f=$(grep -l 'Tsmtplib@example.net' "$T"/qq/new/* 2> /dev/null)
	assertEquals "smtplib: kept once" 1 "$(echo "$f" | grep -c .)"
	qmessage "$f" > "$T/got" 2> /dev/null
	cmp -s "$T/8bit.kept" "$T/got" || fail "smtplib: the 8-bit message changed"
	replies qsmtpd
	to_data a@b.example client@example.net file:"$T/8bit.stuffed" \
	    send:'.\r\n' until:"$u_queued" send:'QUIT\r\n' read
	norm
	expect "$greet$ehlo$mailok$rcptok$go$queued$bye"
	assertBytes "the client: every reply" "$T/out.n"
	f=$(grep -l 'Tclient@example.net' "$T"/qq/new/* 2> /dev/null)
	assertEquals "the client: kept once" 1 "$(echo "$f" | grep -c .)"
	qmessage "$f" > "$T/got" 2> /dev/null
	cmp -s "$T/8bit.kept" "$T/got" ||
	    fail "the client: the 8-bit message changed"
	done_session
	assertEquals "four sessions, each exit 0" "0 0 0 0" \
	    "$(status | tr '\n' ' ' | sed 's/ $//')"
	assertEquals "none flagged" "" "$(logs)"
}

# --- Postfix, Exim, qpsmtpd: the closed world ---
# The relay passes on at once only what every server reads the same way.
# Each case below was seen on the wire against the real server named
# (t/servers.sh sets each one up, private, in $T), and each has its
# polite twin, which must be delivered.

# srv KIND: the rig of KIND in $T/rig.KIND (set up once per run of the
# suite), its queue emptied; $R its directory; the replies of KIND (see
# replies); says "exercised: VERSION" once per run.  Postfix and Exim
# need root: skipped otherwise
srv() {
	R=$T/rig.$1
	case $1 in
	postfix|exim)
		if [ "$(id -u)" -ne 0 ]; then
			echo "SKIPPED: $1 runs here as root (its private queue)"
			skipping
			return 1
		fi
		;;
	esac
	if [ ! -f "$R/kind" ]; then
		rm -rf "$R"
		rig "$1" "$R" || return 1
		echo "exercised: $(cat "$R/version")"
	fi
	rig_reset "$R"
	replies "$1"
}

# snorm: $T/out into $T/out.n, what varies from run to run made fixed:
# Postfix's and Exim's queue ids (Q), Exim's date in its greeting (D)
# and the name it says hello to (H); and qmail-smtpd's, as norm
snorm() {
	sed -e 's/^250 ok [0-9]* qp [0-9]*\r$/250 ok T qp P\r/' \
	    -e 's/^\(250 2\.0\.0 Ok: queued as \)[0-9A-F]*\r$/\1Q\r/' \
	    -e 's/^\(250 OK id=\)[0-9A-Za-z-]*\r$/\1Q\r/' \
	    -e 's/^\(220 mx\.example\.net ESMTP Exim [0-9.]*\) .*\r$/\1 D\r/' \
	    -e 's/^\(250-mx\.example\.net Hello \).*\r$/\1H\r/' \
	    "$T/out" > "$T/out.n"
}

# kept N MSG: the Nth message that the server in $R kept is $T/expected
kept() {
	rig_show "$R" "$1" > "$T/got" 2> /dev/null
	assertBytes "$2" "$T/got"
}

# on KIND [-d SECONDS] ARGS: the relay with ARGS in front of the server
# of KIND (its tap, so that $R/raw has what it read), SECONDS away
# through t/delay.py when -d; its queue emptied first
on() {
	rig_reset "$R"
	lat=
	if [ "$2" = -d ]; then
		lat="$PY $top/t/delay.py $3"
		shift 2
	fi
	shift
	# shellcheck disable=SC2086
	serve $RUNNER "$EW" "$@" "$R/tap" $lat "$R/smtpd"
}

SECOND='MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nSubject: 2\r\n\r\nsecond\r\n.\r\nQUIT\r\n'

# each KIND CASE W ...: for each W (in $w), the relay with the options W
# in front of the server of KIND (KIND with on's -d, as one word), then
# CASE (the client, then the checks), then the server stopped
each() {
	e_on=$1 e_case=$2
	shift 2
	for w; do
		# shellcheck disable=SC2086
		on $e_on $w
		"$e_case"
		unserve
	done
}

# assertRefused MSG WHAT REPLIES: the session over, the server's
# replies up to RCPT, then REPLIES, the last; nothing kept
assertRefused() {
	done_session
	snorm
	expect "$greet$ehlo$mailok$rcptok$3"
	assertBytes "$1: $2" "$T/out.n"
	assertEquals "$1: nothing kept" 0 "$(rig_count "$R")"
}

# assertKept MSG TEXT: the session over, every reply of a client that
# waited for each, and one message kept: TEXT (printf %b)
assertKept() {
	done_session
	snorm
	expect "$greet$ehlo$mailok$rcptok$go$queued$bye"
	assertBytes "$1: every reply" "$T/out.n"
	assertEquals "$1: kept" 1 "$(rig_count "$R")"
	printf '%b' "$2" > "$T/expected"
	kept 1 "$1: the message"
}

# case 1: Postfix ends a message at CR LF . CR CR LF (it strips every CR
# before an LF).  A client that ends its message so and writes a whole
# second transaction in the same write: the relay holds what follows
# the possible end until Postfix's 250, then reads MAIL, RCPT and DATA
# with the second message in one write: early at DATA.  The first
# message is kept once, the second never.
testClosedPostfixCrCrEnd() {
	srv postfix || return
	each postfix crcr_early '-D 1' '-D 0' '-S' '-D 1 -S'
}

crcr_early() {
	to_data a@example.org b@example.net \
	    send:"Subject: 1\\r\\n\\r\\nfirst\\r\\n.\\r\\r\\n$SECOND" read
	done_session
	snorm
	expect "$greet$ehlo$mailok$rcptok$go$queued$mailok$rcptok$EARLY554"
	assertBytes "[$w]: the first message's 250, the replies owed, 554" \
	    "$T/out.n"
	assertEquals "[$w]: one message kept" 1 "$(rig_count "$R")"
	printf 'Subject: 1\n\nfirst\n' > "$T/expected"
	kept 1 "[$w]: the first message"
	assertLog "[$w]: early at DATA" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: early at DATA: 31 bytes after [0-9]+\.[0-9]{3} s: "Subject: 2\\r\\n\\r\\nsecond\\r\\n\.\\r\\nQUIT\\r\\n": reject 554'
	assertEquals "[$w]: exit" 0 "$(status)"
}

# case 1, the polite twin: the client waits for the 250 after that end,
# then sends its second transaction, waiting for every reply: both kept
testClosedPostfixCrCrEndPolite() {
	srv postfix || return
	t2=$queued$mailok
	each postfix crcr_polite '-D 1' '-D 0' '-S' '-D 1 -S'
}

crcr_polite() {
	to_data a@example.org b@example.net \
	    send:'Subject: 1\r\n\r\nfirst\r\n.\r\r\n' until:"$u_queued" \
	    send:'MAIL FROM:<a@example.org>\r\n' untiln:2:"$mailok" \
	    send:'RCPT TO:<b@example.net>\r\n' untiln:2:"$rcptok" \
	    send:'DATA\r\n' untiln:2:"$u_go" \
	    send:'Subject: 2\r\n\r\nsecond\r\n.\r\n' \
	    untiln:2:"$u_queued" send:'QUIT\r\n' read
	done_session
	snorm
	expect "$greet$ehlo$mailok$rcptok$go$t2$rcptok$go$queued$bye"
	assertBytes "[$w]: every reply, no 554" "$T/out.n"
	assertEquals "[$w]: both messages kept" 2 "$(rig_count "$R")"
	printf 'Subject: 1\n\nfirst\n' > "$T/expected"
	kept 1 "[$w]: the first message"
	printf 'Subject: 2\n\nsecond\n' > "$T/expected"
	kept 2 "[$w]: the second message"
	logs | grep -q ': early at ' && fail "[$w]: refused: $(logs)"
	assertEquals "[$w]: exit" 0 "$(status)"
}

# refused_ws MSG: after a whitespace DATA line and, too early, its body
# of 27 bytes: Postfix's replies up to RCPT, then 554; nothing kept
refused_ws() {
	assertRefused "$1" refused "$EARLY554"
	assertLog "$1: early at DATA" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: early at DATA: 27 bytes after [0-9]+\.[0-9]{3} s: "Subject: early\\r\\n\\r\\nbody\\r\\n\.\\r\\n": reject 554'
}

# ws_data CASE: case 2 or its twin (CASE) for CR, FF and VT DATA ($v,
# named $n), each under -D 1 and -D 1 -S, Postfix 150 ms away
ws_data() {
	for v in '\r' '\f' '\v'; do
		n=$(label "$v" | sed 's/\\f/FF/; s/\\v/VT/')
		each 'postfix -d 0.15' "$1" '-D 1' '-D 1 -S'
	done
}

# case 2: Postfix takes any whitespace byte before a verb: CR DATA, FF
# DATA, VT DATA are DATA to it.  150 ms away, a body sent 50 ms after
# the line: refused, nothing kept, under -D 1 and -D 1 -S; and under -S
# with PIPELINING, CR DATA pipelined with its body: refused.
testClosedPostfixWhitespaceData() {
	srv postfix || return
	ws_data ws_early
	on postfix -d 0.15 -S
	after_ehlo \
	    send:'MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n\rDATA\r\nSubject: early\r\n\r\nbody\r\n.\r\n' \
	    read
	refused_ws "[CR DATA] [-S], pipelined"
	unserve
}

ws_early() {
	envelope a@example.org b@example.net send:"${v}DATA\\r\\n" \
	    sleep:0.05 send:'Subject: early\r\n\r\nbody\r\n.\r\n' read
	refused_ws "[$n DATA] [$w]"
	assertEquals "[$n DATA] [$w]: exit" 0 "$(status)"
}

# case 2, the polite twin: the client waits for Postfix's 354 (it takes
# each of those lines for DATA): delivered
testClosedPostfixWhitespaceDataPolite() {
	srv postfix || return
	ws_data ws_polite
}

ws_polite() {
	envelope a@example.org b@example.net send:"${v}DATA\\r\\n" \
	    until:"$u_go" send:'Subject: polite\r\n\r\nbody\r\n.\r\n' \
	    until:"$u_queued" send:'QUIT\r\n' read
	assertKept "[$n DATA] [$w]" 'Subject: polite\n\nbody\n'
	assertEquals "[$n DATA] [$w]: exit" 0 "$(status)"
}

# case 3: Exim splits a command line at 16 KiB: NOOP, a blank, 16380
# bytes, DATA is a NOOP it refuses (500), then DATA (354).  150 ms away,
# the body 50 ms after the line: refused, nothing kept
testClosedEximLongLine() {
	srv exim || return
	"$PY" -c 'import sys
sys.stdout.write("NOOP " + "x" * 16380 + "DATA\r\n")' > "$T/noop.line"
	each 'exim -d 0.15' long_line '-D 1' '-D 1 -S'
}

long_line() {
	envelope a@example.org b@example.net file:"$T/noop.line" \
	    sleep:0.05 send:'Subject: early\r\n\r\nbody\r\n.\r\n' read
	done_session
	snorm
	expect "$greet$ehlo$mailok$rcptok"
	head -c "$(wc -c < "$T/expected")" "$T/out.n" > "$T/got"
	assertBytes "[$w]: the replies before" "$T/got"
	tail -c +"$(($(wc -c < "$T/expected") + 1))" "$T/out.n" > "$T/got"
	if ! grep -Eqx '554 5\.5\.1 Client sent data before the (354 response|reply to NOOP).' \
	    "$T/got" || [ "$(wc -l < "$T/got")" -ne 1 ]; then
		fail "[$w]: not one 554 after them: $(od -c "$T/got" | head -n 4)"
	fi
	assertEquals "[$w]: nothing kept" 0 "$(rig_count "$R")"
	assertLog "[$w]: early" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: early at (DATA|NOOP): [0-9]+ bytes after [0-9]+\.[0-9]{3} s: ".*": reject 554'
	assertEquals "[$w]: exit" 0 "$(status)"
}

# case 3, the polite twin: a long but legal MAIL line (1466 bytes: an
# AUTH= of 1400) pipelined with RCPT and DATA under -S, Exim offering
# PIPELINING: not held, no sync point; kept
testClosedEximLongMailPipelined() {
	srv exim || return
	auth=$("$PY" -c 'print("x" * 1400)')
	each exim long_mail '-S' '-D 1 -S'
}

long_mail() {
	after_ehlo send:"MAIL FROM:<a@example.org> AUTH=$auth@example.org SIZE=100 BODY=8BITMIME\\r\\nRCPT TO:<b@example.net>\\r\\nDATA\\r\\n" \
	    until:"$u_go" send:'Subject: long\r\n\r\nbody\r\n.\r\n' \
	    until:"$u_queued" send:'QUIT\r\n' read
	assertKept "[$w]" 'Subject: long\n\nbody\n'
	assertEquals "[$w]: none flagged" "" "$(logs)"
}

# case 4: Exim reads a BDAT size in 32 bits: BDAT 4294967302 LAST is a
# 6-byte chunk to it.  The size is not trusted: the BDAT line is held as
# DATA is, the commands pipelined after it are early at BDAT and never
# reach Exim
testClosedEximBdatSize() {
	srv exim || return
	each exim bdat_size '-S' '-D 1 -S'
}

bdat_size() {
	envelope a@example.org b@example.net \
	    send:'BDAT 4294967302 LAST\r\nfirst\nMAIL FROM:<s@example.org>\r\nRCPT TO:<t@example.net>\r\nBDAT 18 LAST\r\nSubject: 2\r\n\r\nsm\r\nQUIT\r\n' \
	    read
	assertRefused "[$w]" "refused at BDAT" \
	    '554 5.5.1 Client sent data before the reply to BDAT\r\n'
	# -D holds the BDAT line; -S alone passes it at once, as it passes
	# DATA, and refuses what follows before the reply
	printf 'EHLO c.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n' \
	    > "$T/expected"
	[ "$w" = -S ] && printf 'BDAT 4294967302 LAST\r\n' >> "$T/expected"
	assertBytes "[$w]: Exim read nothing of the chunk and after" "$R/raw"
	assertLog "[$w]: early at BDAT" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: early at BDAT: [0-9]+ bytes after [0-9]+\.[0-9]{3} s: "first\\nMAIL FROM:<s@example\.org>.*": reject 554'
	assertEquals "[$w]: exit" 0 "$(status)"
}

# case 4, the polite twin: BDAT 6 LAST and its 6 bytes pipelined after
# MAIL and RCPT, as Google's servers send it: kept
testClosedEximBdatPolite() {
	srv exim || return
	each exim bdat_polite '-S' '-D 1 -S'
}

bdat_polite() {
	after_ehlo send:'MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nBDAT 6 LAST\r\nX: 1\r\n' \
	    until:"$u_queued" send:'QUIT\r\n' read
	done_session
	snorm
	expect "$greet$ehlo$mailok$rcptok"'250- 6 byte chunk, total 6\r\n'"$queued$bye"
	assertBytes "[$w]: every reply" "$T/out.n"
	assertEquals "[$w]: kept" 1 "$(rig_count "$R")"
	printf 'X: 1\n\n' > "$T/expected"
	kept 1 "[$w]: the message (its one header)"
	assertEquals "[$w]: none flagged" "" "$(logs)"
}

# case 5: qpsmtpd answers a bare-LF end (LF . LF) with 421 and closes;
# the client pipelined a second transaction after it.  It gets the 421
# and nothing after it: the relay adds no reply of its own
testClosedQpsmtpdBareLf() {
	srv qpsmtpd || return
	each qpsmtpd bare_lf '-D 1' '-D 1 -S'
}

bare_lf() {
	to_data a@example.org b@example.net \
	    send:"Subject: 1\\r\\n\\r\\nfirst\\n.\\n$SECOND" read
	assertRefused "[$w]" "qpsmtpd's 421, the last reply" \
	    "$go"'421 See http://smtpd.develooper.com/barelf.html\r\n'
	logs | grep -q 'reject 554' && fail "[$w]: a refusal was logged"
}

# case 5, the polite twin: the strict end: kept, 250
testClosedQpsmtpdStrictEnd() {
	srv qpsmtpd || return
	each qpsmtpd strict_end '-D 1' '-D 1 -S'
}

strict_end() {
	to_data a@example.org b@example.net \
	    send:'Subject: 1\r\n\r\nfirst\r\n..dot\r\n.\r\n' \
	    until:"$u_queued" send:'QUIT\r\n' read
	assertKept "[$w]" 'Subject: 1\n\nfirst\n.dot\n'
	assertEquals "[$w]: none flagged" "" "$(logs)"
	assertEquals "[$w]: exit" 0 "$(status)"
}

# --- the real clients through the whole chain ---

# pfclient DIR PORT: a private Postfix instance in DIR, its master
# running (postfix -c DIR start; pfclient_stop stops it), that relays
# all its mail to [127.0.0.1]:PORT with its smtp client; mail goes in
# with its sendmail (MAIL_CONFIG=DIR), through copies of postdrop and
# postqueue without their set-group-id bit
pfclient() {
	rm -rf "$1"
	mkdir -p "$1/bin" "$1/q" "$1/data"
	for f in /usr/sbin/post*; do
		ln -s "$f" "$1/bin/"
	done
	rm -f "$1/bin/postdrop" "$1/bin/postqueue"
	cp /usr/sbin/postdrop /usr/sbin/postqueue "$1/bin/" &&
	    chmod 755 "$1/bin/postdrop" "$1/bin/postqueue" &&
	    chown postfix "$1/data" || return 1
	{
		postfix_dirs "$1" client.example.org example.org
		cat <<EOT
inet_interfaces = loopback-only
inet_protocols = ipv4
relayhost = [127.0.0.1]:$2
alias_maps =
alias_database =
smtp_tls_security_level = none
maillog_file_prefixes = $1
maillog_file = $1/maillog
biff = no
EOT
	} > "$1/main.cf"
	cat > "$1/master.cf" <<EOT
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOT
	postfix -c "$1" start > /dev/null 2>&1
}

pfclient_stop() {
	postfix -c "$1" stop > /dev/null 2>&1
}

# eximclient DIR PORT: Exim as a client (its smtp transport, which tries
# CHUNKING and pipelines), its configuration DIR/exim.conf, its spool
# DIR/q: it sends all its mail to 127.0.0.1 port PORT; as the user
# Debian-exim (Exim will not deliver as root), which must reach DIR
eximclient() {
	rm -rf "$1"
	mkdir -p "$1/q/db" && chown Debian-exim "$1/q/db" || return 1
	cat > "$1/exim.conf" <<EOT
exim_user = root
exim_group = root
spool_directory = $1/q
log_file_path = $1/%slog
primary_hostname = client.example.org
qualify_domain = example.org
keep_environment =
host_lookup =
rfc1413_hosts =

begin routers
to_relay:
  driver = manualroute
  route_list = * 127.0.0.1::$2
  self = send
  transport = remote_smtp

begin transports
remote_smtp:
  driver = smtp
  allow_localhost
  user = Debian-exim
  hosts_try_chunking = *
  hosts_avoid_tls = *
EOT
}

# the real clients through the whole chain, earlytalker -d, then
# earlytalker-wrap -D 1 (and -S), in front of Postfix's smtpd (it offers
# PIPELINING and CHUNKING): msmtp, Postfix's own smtp client and Exim's
# (BDAT, pipelined): never refused, each message kept, its body byte for
# byte, and each session held for -D (DATA) or not at all (BDAT), no
# more: under 0.2 s (earlytalker -w) + 1 s (-D, DATA only) + 1.5 s
testClosedRealClients() {
	skip_for msmtp && return
	skip_for postfix && return
	srv postfix || return
	e=$(exim_path) || { skip_for exim4-from-sh-deps-exim; return; }
	getent passwd Debian-exim > /dev/null || {
		skip_for user-Debian-exim-from-sh-deps-exim
		return
	}
	echo "exercised: msmtp $(dpkg-query -W -f='${Version}' msmtp)"
	echo "exercised: Postfix smtp client $(postconf -d -h mail_version)"
	echo "exercised: Exim client $("$e" -bV 2> /dev/null |
	    sed -n 's/^Exim version \([^ ]*\).*/\1/p')"
	# the message: 8-bit text, lines of dots, DATA, a dot alone, 64 KiB
	"$PY" "$top/t/randmsg.py" real "$T/real.msg"
	sed '1,/^$/d' "$T/real.msg" > "$T/real.body"
	# the clients' directories: their users (postfix, Debian-exim) must
	# reach them, and $T is root's alone
	C=$(mktemp -d /tmp/earlytalker-clients.XXXXXX) || { fail mktemp; return; }
	chmod 755 "$C" ||
	    { fail "mktemp"; return; }
	cat > "$T/clock" <<EOT
#!/bin/sh
t0=\$(date +%s%N)
"\$@"
s=\$?
echo \$(((\$(date +%s%N) - t0) / 1000000)) >> "$T/clock.ms"
exit \$s
EOT
	chmod 755 "$T/clock"
	for w in '-D 1' '-D 1 -S'; do
		rig_reset "$R"
		: > "$T/clock.ms"
		# shellcheck disable=SC2086
		serve "$T/clock" $RUNNER "$ET" -w 0.2 -d $RUNNER "$EW" $w \
		    "$R/smtpd"
		# msmtp
		timeout 60 msmtp -C /dev/null --host=127.0.0.1 --port="$port" \
		    --auth=off --tls=off --domain=msmtp.example.org \
		    --from=msmtp@example.org b@example.net < "$T/real.msg" \
		    > "$T/msmtp.out" 2>&1
		assertEquals "[$w] msmtp: exit ($(cat "$T/msmtp.out"))" 0 $?
		# Postfix's smtp client
		if ! pfclient "$C/pfc" "$port"; then
			fail "[$w] postfix: the client instance: $(tail -n 3 "$C/pfc/maillog")"
			rm -rf "$C"
			return
		fi
		MAIL_CONFIG=$C/pfc timeout 60 /usr/sbin/sendmail -i \
		    -f postfix@example.org b@example.net < "$T/real.msg"
		assertEquals "[$w] postfix: sendmail exit" 0 $?
		waitfor 600 0.05 grep -q 'status=sent' "$C/pfc/maillog" 2> /dev/null
		pfclient_stop "$C/pfc"
		grep -q 'status=sent (250 ' "$C/pfc/maillog" ||
		    fail "[$w] postfix: not sent: $(grep -E 'smtp|fatal' "$C/pfc/maillog" | tail -n 3)"
		# Exim's: BDAT, pipelined
		eximclient "$C/exc" "$port" ||
		    { fail "[$w] exim: the client"; rm -rf "$C"; return; }
		timeout 60 "$e" -C "$C/exc/exim.conf" -odf -i -f exim@example.org \
		    b@example.net < "$T/real.msg" > "$T/exim.out" 2>&1
		assertEquals "[$w] exim: exit ($(cat "$T/exim.out"))" 0 $?
		grep -q ' => b@example.net .* K C="250 ' "$C/exc/mainlog" ||
		    fail "[$w] exim: not sent with CHUNKING: $(tail -n 3 "$C/exc/mainlog")"
		done_session
		assertEquals "[$w] three messages kept" 3 "$(rig_count "$R")"
		for k in 1 2 3; do
			rig_show "$R" "$k" > "$T/got.$k"
			sed '1,/^$/d' "$T/got.$k" > "$T/got"
			cmp -s "$T/real.body" "$T/got" ||
			    { cp "$T/got" "$T/got.body.$k"; fail "[$w] message $k: the body changed: $(cmp "$T/real.body" "$T/got" 2>&1)"; }
			grep -qx 'Subject: real' "$T/got.$k" ||
			    fail "[$w] message $k: no Subject"
		done
		assertEquals "[$w] none flagged" "" "$(logs)"
		assertEquals "[$w] three sessions, each exit 0" "0 0 0" \
		    "$(status | tr '\n' ' ' | sed 's/ $//')"
		# msmtp and postfix: DATA, held 1 s; exim: BDAT, not held
		assertWithin "[$w] msmtp: the session" "$(ms 1)" 1 2.7
		assertWithin "[$w] postfix: the session" "$(ms 2)" 1 2.7
		assertWithin "[$w] exim: the session" "$(ms 3)" 0.2 1.7
		unserve
	done
	rm -rf "$C"
}

# case: STARTTLS through the relay to Exim with TLS (Postfix's smtpd -S
# offers none), from a real client (msmtp): after Exim's 220 the relay
# reads no more, and the TLS session passes both ways unread: Exim logs
# the message as taken over TLS (P=esmtps), the message is kept, its
# body whole, and no one is flagged.  No tap: GnuTLS reads its fd 0
# with recv(), which a pipe refuses.
testClosedRealStartTLS() {
	skip_for msmtp && return
	skip_for openssl && return
	srv exim || return
	R=$T/rig.tls
	if [ ! -f "$R/kind" ]; then
		rig exim "$R" || return
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -days 2 -subj /CN=mx.example.net \
		    -keyout "$R/key.pem" -out "$R/cert.pem" > "$R/ssl.out" 2>&1 ||
		    { fail "openssl: $(cat "$R/ssl.out")"; return; }
		sed "s|^tls_advertise_hosts =\$|tls_advertise_hosts = *\\
tls_certificate = $R/cert.pem\\
tls_privatekey = $R/key.pem|" "$R/exim.conf" > "$R/exim.tls" &&
		    mv "$R/exim.tls" "$R/exim.conf"
	fi
	echo "exercised: msmtp STARTTLS to Exim"
	"$PY" "$top/t/randmsg.py" real "$T/real.msg"
	sed '1,/^$/d' "$T/real.msg" > "$T/real.body"
	for w in '-D 1' '-D 1 -S'; do
		rig_reset "$R"
		: > "$R/log/mainlog"
		# shellcheck disable=SC2086
		serve $RUNNER "$EW" $w "$R/smtpd"
		timeout 60 msmtp -C /dev/null --host=127.0.0.1 --port="$port" \
		    --auth=off --tls=on --tls-starttls=on --tls-certcheck=off \
		    --domain=msmtp.example.org --from=msmtp@example.org \
		    b@example.net < "$T/real.msg" > "$T/msmtp.out" 2>&1
		assertEquals "[$w] msmtp: exit ($(cat "$T/msmtp.out"))" 0 $?
		done_session
		assertEquals "[$w] kept" 1 "$(rig_count "$R")"
		rig_show "$R" 1 | sed '1,/^$/d' > "$T/got"
		cmp -s "$T/real.body" "$T/got" ||
		    fail "[$w] the body changed: $(cmp "$T/real.body" "$T/got" 2>&1)"
		assertEquals "[$w] Exim took it over TLS ($(cat "$R/log/mainlog"))" \
		    1 "$(grep -c ' <= msmtp@example\.org .* P=esmtps X=TLS' \
		    "$R/log/mainlog")"
		assertEquals "[$w] none flagged" "" "$(logs)"
		assertEquals "[$w] the session's exit" 0 "$(status)"
		unserve
	done
}

# ms N: the Nth session's time in $T/clock.ms, in seconds
ms() {
	awk -v n="$1" 'NR == n { printf "%.3f", $1 / 1000 }' "$T/clock.ms"
}

# shellcheck source=/dev/null
. shunit2
