#!/bin/sh
# shellcheck disable=SC2317 # shunit2 calls the functions
# t/ipv6.sh: IPv6 end to end, with Debian's ucspi-tcp-ipv6: its tcpserver
# on ::1, its tcprules with IPv6 rules (plain, PROXY, the pass cache,
# fail2ban).  That package conflicts with ucspi-tcp, which the other
# suites run, so it is not installed: sh deps ipv6 unpacks it and prints
# the directory of its programs, which $UCSPI6 names (by default
# /var/cache/earlytalker-ucspi6/usr/bin, where sh deps ipv6 puts it).
# Without it these tests skip.
#
# Alone: ./test t/ipv6.sh, or sh t/ipv6.sh [-- testName ...]

# shellcheck source=t/lib.sh
. "$(dirname "$0")/lib.sh"

oneTimeSetUp() {
	lib_setup || return 1
	make_fake
}

# skip_ipv6: skip the rest of this test unless $UCSPI6 has ucspi-tcp-ipv6
skip_ipv6() {
	UCSPI6=${UCSPI6:-/var/cache/earlytalker-ucspi6/usr/bin}
	if [ -x "$UCSPI6/tcpserver" ] &&
	    [ -x "$UCSPI6/tcprules" ] && [ -x "$UCSPI6/tcprulescheck" ]; then
		return 1
	fi
	echo "SKIPPED: no ucspi-tcp-ipv6 in $UCSPI6: sh deps ipv6 puts it" \
	    "there (or UCSPI6=\$(UCSPI6_DIR=DIR sh deps ipv6)); .ci/run does"
	skipping
	return 0
}

# rules6 LINE ...: the rules LINE ... into $T/rules6.cdb, by the tcprules
# of ucspi-tcp-ipv6, which a running tcpserver reads at the next client
rules6() {
	printf '%s\n' "$@" > "$T/rules6"
	"$UCSPI6/tcprules" "$T/rules6.cdb" "$T/rules6.tmp" < "$T/rules6" ||
	    fail "tcprules (IPv6) refused: $*"
}

testIPv6TcprulesOnLoopback() {
	skip_ipv6 && return
	echo "exercised: ucspi-tcp-ipv6 $(cat "$UCSPI6/../../version" 2> /dev/null)"
	cdb6=1
	HOST=::1
	# exempt by its address: the early bytes go to prog at once
	rules6 '::1:allow,EARLYTALKER=""' ':allow'
	# shellcheck disable=SC2086
	serve -6 $RUNNER "$ET" -v -w 2 "$T/fake"
	client send:'EHLO x\r\n' until:'220 ' shut read
	expect '220 fake ESMTP\r\n'
	assertBytes "exempt: greeted"
	assertWithin "exempt: no wait" "$(timeof first)" 0 0.5
	assertEquals "exempt: prog read the early bytes" "$(printf 'EHLO x\r\n')" \
	    "$(cat "$T/fake.in")"
	assertEquals "tcpserver's IPv6 environment" 'PROTO=TCP6 TCPREMOTEIP=::1' \
	    "$(grep -E '^(PROTO|TCPREMOTEIP)=' "$T/fake.env" | sort | tr '\n' ' ' | sed 's/ $//')"
	# marked: tcpserver reads the new cdb for the next client
	rules6 '::1:allow,EARLYTALKER="-Go away"' ':allow'
	client until:'\n' send:'QUIT\r\n' read
	expect '554 5.7.1 Go away\r\n221 2.0.0 Bye\r\n'
	assertBytes "marked: refused"
	assertWithin "marked: no wait" "$(timeof first)" 0 0.5
	# the wait, from a prefix rule: "::" ends in a colon, as "127." in a dot
	rules6 ':::allow,EARLYTALKER_WAIT="0.3"' ':allow'
	client until:'\n' shut read
	expect '220 fake ESMTP\r\n'
	assertBytes "EARLYTALKER_WAIT: greeted"
	assertWithin "EARLYTALKER_WAIT=0.3, not -w 2" "$(timeof first)" 0.3 0.6
	# tcpserver looks up "::1": a rule for 0:0:0:0:0:0:0:1 is another key
	rules6 '0:0:0:0:0:0:0:1:allow,EARLYTALKER_WAIT="0.1"' \
	    ':allow,EARLYTALKER_WAIT="0.4"'
	client until:'\n' shut read
	assertWithin "the uncompressed form does not apply" "$(timeof first)" \
	    0.4 0.7
	# denied: tcpserver closes, earlytalker never runs
	rules6 '::1:deny' ':allow'
	client send:'EHLO x\r\n' read
	assertEquals "deny: closed, nothing said" 0 "$(wc -c < "$T/out")"
	# and no rule: an early talker is refused
	rules6 ':allow'
	client send:'EHLO x\r\n' shut read
	assertEquals "early: refused" \
	    "554 5.5.1 Connecting host started transmitting before SMTP greeting" \
	    "$(head -n 1 "$T/out" | tr -d '\r')"
	settle
	assertLog "exempt" 'earlytalker: ::1 pid x: skip: exempt'
	assertLog "marked" 'earlytalker: ::1 pid x: marked: reject 554'
	assertLog "the wait" 'earlytalker: ::1 pid x: pass after 0\.[3-5][0-9]{2} s'
	assertLog "early" \
	    'earlytalker: ::1 pid x: early: 8 bytes after 0\.[0-9]{3} s: "EHLO x\\r\\n" smtp: reject 554'
	assertEquals "tcpserver denied one" 1 "$(grep -c '^tcpserver: deny ' "$T/log")"
	assertEquals "earlytalker ran for the five others" 5 "$(logs | wc -l)"
	cdb6=
	HOST=
}

testIPv6ProxyRules() {
	skip_ipv6 && return
	HOST=::1
	# the keys as tcprules writes them, and as tcpserver looks them up;
	# 2001:db8::1:1:1:1:1 is tcpserver's form of 2001:db8:0:1:1:1:1:1
	rules6 '2001:db8::5:allow,EARLYTALKER=""' '2001:db8::6:deny' \
	    '2001:db8:1::allow,EARLYTALKER_WAIT="0.1"' \
	    '2001:db8::9:allow,EARLYTALKER="-Go away"' \
	    '2001:db8::1:1:1:1:1:allow,EARLYTALKER="-Not you"' ':allow'
	# what tcpserver would do with each, by ucspi-tcp-ipv6's tcprulescheck
	for a in 2001:db8::5 2001:db8::6 2001:db8:1::77 2001:db8::9 \
	    2001:db8::1:1:1:1:1 2001:db8:2::1; do
		printf '%s: %s\n' "$a" "$(TCPREMOTEIP=$a \
		    "$UCSPI6/tcprulescheck" "$T/rules6.cdb" | tr '\n' ' ')"
	done > "$T/check"
	for want in '2001:db8::5: rule 2001:db8::5: set environment variable EARLYTALKER= allow' \
	    '2001:db8::6: rule 2001:db8::6: deny' \
	    '2001:db8:1::77: rule 2001:db8:1:: set environment variable EARLYTALKER_WAIT=0.1 allow' \
	    '2001:db8::9: rule 2001:db8::9: set environment variable EARLYTALKER=-Go away allow' \
	    '2001:db8::1:1:1:1:1: rule 2001:db8::1:1:1:1:1: set environment variable EARLYTALKER=-Not you allow' \
	    '2001:db8:2::1: rule : allow'; do
		grep -q "^$want" "$T/check" ||
		    fail "tcprulescheck: no line $want: $(cat "$T/check")"
	done
	# shellcheck disable=SC2086
	serve -6 $RUNNER "$ET" -P -x "$T/rules6.cdb" -v -w 1 -l 0 "$T/fake"
	client send:'PROXY TCP6 2001:db8::5 ::1 1234 25\r\nEHLO x\r\n' \
	    until:'220 ' shut read
	assertWithin "exempt: no wait" "$(timeof first)" 0 0.5
	assertEquals "exempt: prog read the early bytes" "$(printf 'EHLO x\r\n')" \
	    "$(cat "$T/fake.in")"
	assertTrue "exempt: TCPREMOTEIP is the client" \
	    "grep -qx 'TCPREMOTEIP=2001:db8::5' '$T/fake.env'"
	client send:'PROXY TCP6 2001:db8::6 ::1 1234 25\r\n' read
	assertEquals "deny: closed, nothing said" 0 "$(wc -c < "$T/out")"
	client send:'PROXY TCP6 2001:db8:1::77 ::1 1234 25\r\n' until:'\n' \
	    shut read
	assertWithin "a prefix rule: EARLYTALKER_WAIT" "$(timeof first)" 0 0.4
	# a version 2 header (HAProxy's send-proxy-v2) for 2001:db8::9
	client send:'\r\n\r\n\x00\r\nQUIT\n\x21\x21\x00\x24\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x09\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x04\xd2\x00\x19' \
	    read
	expect '554 5.7.1 Go away\r\n'
	assertBytes "v2: marked by the rules"
	# the header may write an address in any form: the rule is found
	# in tcpserver's, the log has inet_ntop()'s
	client send:'PROXY TCP6 2001:db8:0:1:1:1:1:1 ::1 1234 25\r\n' read
	expect '554 5.7.1 Not you\r\n'
	assertBytes "a single zero group: tcpserver's key"
	client send:'PROXY TCP6 2001:DB8:2:0:0:0:0:1 ::1 1234 25\r\n' \
	    until:'\n' shut read
	assertWithin "the default rule: the -w wait" "$(timeof first)" 1 1.3
	settle
	assertLog "exempt" 'earlytalker: 2001:db8::5 pid x: skip: exempt'
	assertLog "deny" 'earlytalker: 2001:db8::6 pid x: deny: rules'
	assertLog "v2 marked" 'earlytalker: 2001:db8::9 pid x: marked: reject 554'
	assertLog "marked" \
	    'earlytalker: 2001:db8:0:1:1:1:1:1 pid x: marked: reject 554'
	assertLog "the default" 'earlytalker: 2001:db8:2::1 pid x: pass after 1\.[0-9]{3} s'
	HOST=
}

testIPv6PassCache() {
	skip_ipv6 && return
	HOST=::1
	mkdir "$T/cache"
	# shellcheck disable=SC2086
	serve -6 $RUNNER "$ET" -v -c "$T/cache" -w 0.5 "$T/fake"
	client until:'\n' shut read
	assertWithin "first visit waits" "$(timeof first)" 0.5 0.8
	client until:'\n' shut read
	assertWithin "second visit does not" "$(timeof first)" 0 0.3
	settle
	assertLog "skip: cached" 'earlytalker: ::1 pid x: skip: cached'
	assertEquals "one file, named ::1" "::1" "$(ls -A "$T/cache")"
	# behind a balancer: the real client, by its canonical form
	# shellcheck disable=SC2086
	serve -6 $RUNNER "$ET" -P -v -c "$T/cache" -w 0.5 "$T/fake"
	client send:'PROXY TCP6 2001:db8:0:0:0:0:0:7 ::1 1234 25\r\n' \
	    until:'\n' shut read
	assertWithin "proxied, first visit waits" "$(timeof first)" 0.5 0.8
	client send:'PROXY TCP6 2001:DB8::7 ::1 1234 25\r\n' until:'\n' \
	    shut read
	assertWithin "the same client, written otherwise: cached" \
	    "$(timeof first)" 0 0.3
	client send:'PROXY TCP6 2001:db8::8 ::1 1234 25\r\nEHLO x\r\n' shut read
	assertEquals "an early talker: refused" "554" "$(head -c 3 "$T/out")"
	settle
	assertLog "proxied: skip: cached" \
	    'earlytalker: 2001:db8::7 pid x: skip: cached'
	assertEquals "the files: one per client, none for the early talker" \
	    "2001:db8::7 ::1" \
	    "$(find "$T/cache" -mindepth 1 -printf '%f\n' | sort | tr '\n' ' ' |
	    sed 's/ $//')"
	HOST=
}

testIPv6Fail2ban() {
	skip_ipv6 && return
	for tool in fail2ban-regex multilog logger; do
		skip_for "$tool" && return
	done
	deploy_setup
	HOST=::1
	: > "$T/all.log"
	# the direct client, ::1: early, and polite
	# shellcheck disable=SC2086
	serve -6 $RUNNER "$ET" -v -w 0.5 "$T/fake"
	client send:'EHLO x\r\n' shut read
	client until:'\n' shut read
	settle
	cat "$T/log" >> "$T/all.log"
	# clients behind a balancer, marked, then refused at RCPT
	rules6 '2001:db8::9:allow,EARLYTALKER="-Go away"' ':allow'
	# shellcheck disable=SC2086
	serve -6 $RUNNER "$ET" -P -x "$T/rules6.cdb" -v -w 0.5 -d \
	    $RUNNER "$EW" -v "$T/fake"
	client send:'PROXY TCP6 2001:db8::9 ::1 1234 25\r\n' until:'220 ' \
	    send:'HELO m.example\r\n' until:'250 ' \
	    send:'MAIL FROM:<m@client.example>\r\n' until:' 2.1.0 ' \
	    send:'RCPT TO:<f2b@example.org>\r\n' until:' 5.7.1 ' \
	    send:'QUIT\r\n' read
	client send:'PROXY TCP6 2001:db8:0:1:1:1:1:1 ::1 1234 25\r\nEHLO x\r\n' \
	    until:'220 ' send:'QUIT\r\n' read
	# a client that writes a log line, for another address, early
	client send:'PROXY TCP6 2001:db8::30 ::1 1234 25\r\nearlytalker: 2001:db8::66 pid 1: early: 1 bytes after 0.000 s: "x" smtp: reject 554\r\n' \
	    until:'220 ' send:'QUIT\r\n' read
	client send:'PROXY TCP6 2001:db8::20 ::1 1234 25\r\n' until:'220 ' \
	    send:'QUIT\r\n' read
	settle
	cat "$T/log" >> "$T/all.log"
	grep -E '^earlytalker(-wrap)?: [^ ]+ pid [0-9]+: (early|marked|reject)' \
	    "$T/all.log" | sort > "$T/want"
	assertEquals "refusal lines: early (3), marked, reject" 5 \
	    "$(wc -l < "$T/want")"
	grep -q '^earlytalker-wrap: 2001:db8::9 pid [0-9]*: reject: .*: 550 5\.7\.1$' \
	    "$T/want" || fail "no reject line for 2001:db8::9: $(cat "$T/all.log")"

	# the shipped filter on the log in multilog's and in syslog's form
	fail2ban_logs
	kill "$slpid"
	wait "$slpid" 2> /dev/null
	for form in multilog syslog; do
		fail2ban_match "$form"
		assertEquals "$form: the IPv6 early talkers, no forged address" \
		    "2001:db8:0:1:1:1:1:1 2001:db8::30 2001:db8::9 ::1" \
		    "$(tr '\n' ' ' < "$T/ips" | sed 's/ $//')"
	done
	HOST=
}

# shellcheck source=/dev/null
. shunit2
