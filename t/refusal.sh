#!/bin/sh
# shellcheck disable=SC2317 # shunit2 calls the functions
# t/refusal.sh: what a refused client costs: its session's life in tcpserver
# slots, measured by the server side (serve -s stamps tcpserver's log
# lines on the monotonic clock as they come, not by the client's tools),
# for bots near, and for clients 300 ms away.
#
# Alone: ./test t/refusal.sh, or sh t/refusal.sh [-- testName ...]

# shellcheck source=t/lib.sh
. "$(dirname "$0")/lib.sh"

tearDown() {
	[ -z "${farpid:-}" ] || far_down
	lib_tearDown
}

oneTimeSetUp() {
	lib_setup || return 1
	make_fake
}

# --- bots near ---

# pct P: the P-th percentile (nearest rank) of lives()
pct() {
	lives | awk -v p="$1" '{ v[NR] = $1 }
	    END { if (NR == 0) { print ""; exit }
		k = int(NR * p / 100 + 0.999); if (k < 1) k = 1
		print v[k] }'
}

# bots N OP ...: N clients at once with the same ops; outputs in
# $T/out.I, times in $T/times.I, exit codes in $T/rc.I
bots() {
	n=$1
	shift
	i=0
	while [ "$i" -lt "$n" ]; do
		i=$((i + 1))
		(CLIENT_TIMES=$T/times.$i timeout 60 "$PY" "$top/t/client.py" \
		    127.0.0.1 "$port" "$@" > "$T/out.$i"
		echo $? > "$T/rc.$i") &
	done
	wait_bots "$n"
}

# wait_bots N: until the N clients of bots have exited (bounded)
wait_bots() {
	i=0
	while [ "$(cat "$T"/rc.* 2> /dev/null | wc -l)" -lt "$1" ] &&
	    [ "$i" -lt 600 ]; do
		sleep 0.05
		i=$((i + 1))
	done
}

# assertBotsGot MSG: each bot got exactly $T/expected, exit 0, no reset
assertBotsGot() {
	for f in "$T"/out.*; do
		assertBytes "$1: ${f##*/}" "$f"
	done
	assertEquals "$1: exit codes" "0" "$(sort -u "$T"/rc.* | xargs)"
	assertEquals "$1: resets" "" "$(cat "$T"/times.* | grep reset)"
}

BADSEQ='503 5.5.1 Bad sequence of commands\r\n'

testRefusalQuietBotIsCheap() {
	rm -f "$T"/rc.* "$T"/out.* "$T"/times.*
	# default options (-w 1, -l 2): 6 bots at once talk early, read
	# their replies and close at the server's EOF
	serve -s "$ET" "$T/fake"
	bots 6 send:'EHLO bot.example\r\n' read
	expect "$REFUSAL$BADSEQ"
	assertBotsGot "readers"
	ends 6
	assertWithin "readers: slot seconds, p50" "$(pct 50)" 0 "$(hi 0.5)"
	assertWithin "readers: slot seconds, max" "$(pct 100)" 0 "$(hi 1.0)"
	assertWithin "readers: the EOF came after the quiet time" \
	    "$(sed -n 's/^eof //p' "$T/times.1")" \
	    0.2 "$(hi 0.6)"
	# bots that never read and never close: the process still ends
	# soon; its reply waits for the bot, whole, with no reset
	rm -f "$T"/rc.* "$T"/out.* "$T"/times.*
	serve -s "$ET" "$T/fake"
	bots 6 send:'EHLO bot.example\r\n' sleep:1.5 read
	expect "$REFUSAL$BADSEQ"
	assertBotsGot "deaf bots"
	ends 6
	assertWithin "deaf bots: slot seconds, p50" "$(pct 50)" 0 "$(hi 0.5)"
	assertWithin "deaf bots: slot seconds, max" "$(pct 100)" 0 "$(hi 1.0)"
	assertEquals "deaf bots: exits" "0" "$(status | sort -u | xargs)"
}

testRefusalQuitGets221() {
	# QUIT answered soon after a reply: 221, and the session ends
	serve -s "$ET" "$T/fake"
	client send:'EHLO x\r\n' until:'503' sleep:0.05 send:'QUIT\r\n' read
	expect "$REFUSAL$BADSEQ"'221 2.0.0 Bye\r\n'
	assertBytes "QUIT 0.05 s after the 503: 221"
	assertFalse "reset" "grep -q reset '$T/times'"
	ends 1
	assertWithin "slot seconds" "$(pct 100)" 0 "$(hi 0.5)"
}

testRefusalWholeWithBytesInFlight() {
	# a bot that goes on sending after its refusal, 60 KiB in pieces
	# 0.05 s apart, then reads: every byte it sent is read before the
	# close, so the close is a FIN, and the 554 arrives whole
	set --
	i=0
	while [ "$i" -lt 15 ]; do
		set -- "$@" bulk:4096:'x' sleep:0.05
		i=$((i + 1))
	done
	serve -s "$ET" "$T/fake"
	client send:'EHLO bot\r\n' "$@" read
	assertEquals "client exit" 0 $?
	expect "$REFUSAL$BADSEQ"
	assertBytes "the refusal, whole"
	assertFalse "reset" "grep -q reset '$T/times'"
	ends 1
	assertWithin "process ends after the bytes stop" "$(pct 100)" 0.7 "$(hi 1.5)"
	# the same while the bot never reads: 64 KiB the kernel holds
	# for it, then silence; its read later finds the reply and a FIN
	client send:'EHLO bot\r\n' bulk:16:'NOOP\r\n' bulk:65536:'y' \
	    sleep:1.2 read
	assertEquals "client exit" 0 $?
	assertEquals "deaf: 554, then 503s" "554 503 503 503 503 503 503 503 503 503 503 503 503 503 503 503 503 503" \
	    "$(cut -c 1-3 "$T/out" | xargs)"
	assertFalse "deaf: reset" "grep -q reset '$T/times'"
}

testResponderIdle() {
	# a marked client that goes quiet after a reply is let go after -i
	# (0.5 s by default) of silence, with the bound's 421, not after
	# -T's 60 s
	# shellcheck disable=SC2086
	serve env EARLYTALKER=-no $RUNNER "$EW" "$T/fake"
	client send:'EHLO x\r\n' read
	expect '220 localhost ESMTP\r\n250-localhost\r\n250-PIPELINING\r\n250 8BITMIME\r\n421 4.7.0 localhost closing connection\r\n'
	assertBytes "quiet after EHLO: 421"
	assertWithin "quiet after EHLO: let go after 0.5 s" "$(timeof eof)" \
	    0.5 "$(hi 0.8)"
	client read
	assertWithin "quiet from the start: let go after 0.5 s" \
	    "$(timeof eof)" 0.5 "$(hi 0.8)"
	settle
	assertEquals "exits" "0" "$(status | sort -u | xargs)"
	assertEquals "no log line for a bound" "" "$(logs)"
	unserve
	# -i 0.2; a client that answers each reply within it finishes its
	# dialogue, however long the whole takes
	# shellcheck disable=SC2086
	serve env EARLYTALKER=-no $RUNNER "$EW" -i 0.2 "$T/fake"
	client read
	assertWithin "-i 0.2: let go after 0.2 s" "$(timeof eof)" 0.2 \
	    "$(hi 0.45)"
	client until:'220 ' sleep:0.1 send:'EHLO x\r\n' until:'250 ' \
	    sleep:0.1 send:'MAIL FROM:<a@b.example>\r\n' until:'250 ' \
	    sleep:0.1 send:'NOOP\r\n' until:'250 ' sleep:0.1 send:'NOOP\r\n' \
	    until:'250 ' sleep:0.1 send:'RCPT TO:<c@d.example>\r\n' \
	    until:'550 ' sleep:0.1 send:'QUIT\r\n' read
	expect '220 localhost ESMTP\r\n250-localhost\r\n250-PIPELINING\r\n250 8BITMIME\r\n250 2.1.0 Ok\r\n250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n550 5.7.1 no\r\n221 2.0.0 localhost closing\r\n'
	assertBytes "-i 0.2: a reply every 0.1 s, to the 221"
	# the whole chain, as etc/ ships it: earlytalker -d, the responder
	# shellcheck disable=SC2086
	serve $RUNNER "$ET" -w 1 -d $RUNNER "$EW" "$T/fake"
	client send:'EHLO x\r\n' read
	expect '220 localhost ESMTP\r\n250-localhost\r\n250-PIPELINING\r\n250 8BITMIME\r\n421 4.7.0 localhost closing connection\r\n'
	assertBytes "earlytalker -d earlytalker-wrap: a quiet bot gets 421"
	assertWithin "earlytalker -d earlytalker-wrap: let go after 0.5 s" \
	    "$(timeof eof)" 0.5 "$(hi 0.8)"
}

# --- far clients ---
# A client 300 ms away, with the delay in the kernel, so
# that TCP_INFO measures it.  Two network namespaces, $NSC for the far
# client and $NSS for the server, each with a TUN device, joined by
# t/tunnel.py, which carries each packet across 150 ms later.  Their
# addresses are TEST-NET-1's (192.0.2.1, the client; 192.0.2.2, the
# server), on devices that lead nowhere but to each other: nothing
# leaves the machine.  A local client runs in $NSS and connects to
# 192.0.2.2, on the server's own stack: no delay.  Needs root,
# /dev/net/tun and iproute2's ip; tearDown removes it all.

NSC=etfar-client
NSS=etfar-server
FARIP=192.0.2.2

# far_down: remove the namespaces and stop the tunnel, if there are any;
# also what a run that failed before left
far_down() {
	if [ -n "${farpid:-}" ]; then
		kill "$farpid" 2> /dev/null
		wait "$farpid" 2> /dev/null
		farpid=
	fi
	for ns in "$NSC" "$NSS"; do
		ip netns pids "$ns" 2> /dev/null | xargs -r kill 2> /dev/null
		ip netns del "$ns" 2> /dev/null
	done
	return 0
}

# far_up: the two namespaces and the tunnel; 1 (with a SKIPPED line)
# where they cannot be made
far_up() {
	if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ] ||
	    ! command -v ip > /dev/null; then
		echo "SKIPPED: the far-client tests need root, /dev/net/tun" \
		    "and ip (iproute2); .ci/run has them"
		skipping
		return 1
	fi
	far_down
	if ! ip netns add "$NSC" || ! ip netns add "$NSS"; then
		fail "ip netns add failed"
		return 1
	fi
	: > "$T/tunnel.out"
	timeout 300 ip netns exec "$NSC" "$PY" "$top/t/tunnel.py" 150 290 \
	    etfar0 etfar1 > "$T/tunnel.out" 2>&1 &
	farpid=$!
	waitfor 200 0.05 grep -q ready "$T/tunnel.out"
	if ! { ip -n "$NSC" link set etfar1 netns "$NSS" &&
	    ip -n "$NSC" addr add 192.0.2.1 peer "$FARIP" dev etfar0 &&
	    ip -n "$NSS" addr add "$FARIP" peer 192.0.2.1 dev etfar1 &&
	    ip -n "$NSC" link set lo up && ip -n "$NSS" link set lo up &&
	    ip -n "$NSC" link set etfar0 up &&
	    ip -n "$NSS" link set etfar1 up; }; then
		fail "the tunnel: $(cat "$T/tunnel.out")"
		return 1
	fi
	return 0
}

# farserve CMD [ARG ...]: serve in $NSS, on $FARIP; sets $port
farserve() {
	serve -p "ip netns exec $NSS" -a "$FARIP" "$@"
}

# farclient NS NAME OP ...: the client in namespace NS against
# $FARIP $port; bytes into $T/NAME.out, times into $T/NAME.times
farclient() {
	ns=$1
	name=$2
	shift 2
	: > "$T/$name.times"
	CLIENT_TIMES=$T/$name.times ip netns exec "$ns" timeout 60 "$PY" \
	    "$top/t/client.py" "$FARIP" "$port" "$@" > "$T/$name.out"
}

# assertFar: the far client's connect took a round trip of 300 ms
assertFar() {
	assertWithin "the far client is 300 ms away" \
	    "$(ntimeof far connect)" 0.29 0.5
}

# farbot_held: how long the far bot was held, from the first byte it
# received to its end of file (its times, $T/farbot.times)
farbot_held() {
	awk '/^first / { f = $2 } /^eof / { e = $2 }
	    END { printf "%.3f\n", e - f }' "$T/farbot.times"
}

testFarClientGets221() {
	far_up || return
	# shellcheck disable=SC2086
	farserve $RUNNER "$ET" "$T/fake"
	# a polite far client that talked early: it answers the 554 with
	# QUIT, which reaches the server 0.3 s after the 554 left
	farclient "$NSC" far send:'EHLO far.example\r\n' until:'554 ' \
	    send:'QUIT\r\n' read
	assertFar
	expect "$REFUSAL$BADSEQ"'221 2.0.0 Bye\r\n'
	assertBytes "far: its 221" "$T/far.out"
	assertFalse "far: reset" "grep -q reset '$T/far.times'"
	# a quiet local bot: let go after 0.2 s of silence, as ever
	farclient "$NSS" near send:'EHLO bot.example\r\n' read
	expect "$REFUSAL$BADSEQ"
	assertBytes "near: refused" "$T/near.out"
	assertWithin "near: let go within 0.25 s" "$(ntimeof near eof)" 0.2 \
	    "$(hi 0.25)"
	# a quiet far bot: let go after 0.2 s and two round trips, bounded
	farclient "$NSC" farbot send:'EHLO bot.example\r\n' read
	expect "$REFUSAL$BADSEQ"
	assertBytes "far bot: refused" "$T/farbot.out"
	assertWithin "far bot: let go 0.8 s after its 554, and the FIN's way" \
	    "$(farbot_held)" 0.75 "$(hi 1.3)"
	# -l bounds it: -l 0.5 lets the far bot go at 0.5 s
	# shellcheck disable=SC2086
	farserve $RUNNER "$ET" -l 0.5 "$T/fake"
	farclient "$NSC" farbot send:'EHLO bot.example\r\n' read
	assertWithin "far bot, -l 0.5: let go at 0.5 s" \
	    "$(farbot_held)" 0.45 "$(hi 0.8)"
	echo "far client: connect $(ntimeof far connect) s, 221 by" \
	    "$(ntimeof far eof) s; near bot let go at $(ntimeof near eof) s"
	settle
	assertEquals "exits" "0" "$(status | sort -u | xargs)"
}

testFarResponderDialogue() {
	far_up || return
	# -i 0.2, below the far client's round trip of 0.3 s: a fixed
	# silence would cut it off after the greeting
	# shellcheck disable=SC2086
	farserve env 'EARLYTALKER=-Go away' $RUNNER "$EW" -i 0.2 "$T/fake"
	farclient "$NSC" far until:'220 ' send:'EHLO far.example\r\n' \
	    until:'250 ' send:'MAIL FROM:<a@far.example>\r\n' until:'250 ' \
	    send:'RCPT TO:<b@example.org>\r\n' until:'550 ' send:'QUIT\r\n' read
	assertFar
	expect '220 localhost ESMTP\r\n250-localhost\r\n250-PIPELINING\r\n250 8BITMIME\r\n250 2.1.0 Ok\r\n550 5.7.1 Go away\r\n221 2.0.0 localhost closing\r\n'
	assertBytes "far, polite: the whole dialogue, to its 221" "$T/far.out"
	# a quiet local client: let go after 0.2 s
	farclient "$NSS" near read
	expect '220 localhost ESMTP\r\n421 4.7.0 localhost closing connection\r\n'
	assertBytes "near, quiet: 421" "$T/near.out"
	assertWithin "near, quiet: let go after 0.2 s" "$(ntimeof near eof)" \
	    0.2 "$(hi 0.35)"
	# a quiet far client: let go after 0.2 s and two round trips
	farclient "$NSC" farbot read
	assertBytes "far, quiet: 421" "$T/farbot.out"
	assertWithin "far, quiet: let go 0.8 s after its greeting, and the FIN's way" \
	    "$(farbot_held)" 0.75 "$(hi 1.3)"
	echo "far client: its dialogue done by $(ntimeof far eof) s; near" \
	    "quiet client let go at $(ntimeof near eof) s"
	settle
	assertLog "the far client's recipient" \
	    'earlytalker-wrap: 192\.0\.2\.1 pid x: reject: helo=<far\.example> from=<a@far\.example> to=<b@example\.org>: 550 5\.7\.1'
}

# shellcheck source=/dev/null
. shunit2
