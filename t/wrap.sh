#!/bin/sh
# shellcheck disable=SC2317 # shunit2 calls the functions
# t/wrap.sh: earlytalker-wrap on the wire, as the chain's second program:
# it execs the next program for an unmarked client, untouched; the chain
# with earlytalker -d; the skips; an exec failure.
#
# Alone: ./test t/wrap.sh, or sh t/wrap.sh [-- testName ...]

# shellcheck source=t/lib.sh
. "$(dirname "$0")/lib.sh"

oneTimeSetUp() {
	lib_setup || return 1
	make_fake
}

testWrapChainPolite() {
	# shellcheck disable=SC2086
	serve "$ET" -w 0.3 -d $RUNNER "$EW" "$T/fake"
	client until:'\n' send:'QUIT\r\n' shut read
	expect '220 fake ESMTP\r\n'
	assertBytes "the greeting comes from prog"
	assertWithin "after the wait" "$(timeof first)" 0.3 0.6
	assertFalse "no mark" "grep -q '^EARLYTALKER' '$T/fake.env'"
	assertEquals "prog read the client" "$(printf 'QUIT\r\n')" \
	    "$(cat "$T/fake.in")"
	settle
	assertEquals "exit" 0 "$(status)"
	assertEquals "no log lines" "" "$(logs)"
}

testWrapChainEarly() {
	# shellcheck disable=SC2086
	serve "$ET" -w 2 -d $RUNNER "$EW" "$T/fake"
	client send:'EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nQUIT\r\n' read
	expect '220 localhost ESMTP\r\n250-localhost\r\n250-PIPELINING\r\n250 8BITMIME\r\n250 2.1.0 Ok\r\n550 5.7.1 Connecting host started transmitting before SMTP greeting\r\n221 2.0.0 localhost closing\r\n'
	assertBytes "the responder, not prog"
	assertWithin "no wait" "$(timeof first)" 0 0.5
	assertFalse "prog ran" "[ -f '$T/fake.env' ]"
	settle
	assertEquals "exit" 0 "$(status)"
	assertLog "earlytalker marks" \
	    'earlytalker: 127\.0\.0\.1 pid x: early: [0-9]+ bytes after 0\.[0-9]{3} s: "EHLO x\\r\\n.*" smtp: mark'
	assertLog "earlytalker-wrap refuses" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: reject: helo=<x> from=<a@b\.example> to=<c@d\.example>: 550 5\.7\.1'
	assertEquals "two lines" 2 "$(logs | wc -l)"
}

testWrapPassThrough() {
	printf 'EHLO x\r\nDATA\r\n\000\377 body\r\n.\r\nQUIT\r\n' > "$T/early"
	# shellcheck disable=SC2086
	serve $RUNNER "$EW" -v "$T/fake"
	client file:"$T/early" shut read
	expect '220 fake ESMTP\r\n'
	assertBytes "unset: prog greets"
	assertWithin "unset: at once" "$(timeof first)" 0 0.3
	cmp -s "$T/early" "$T/fake.in" || fail "unset: bytes changed"
	settle
	assertEquals "unset: exit" 0 "$(status)"
	assertEquals "unset: no log, even with -v" "" "$(logs)"
	unserve
	rm -f "$T/fake.in"
	# shellcheck disable=SC2086
	serve env EARLYTALKER= $RUNNER "$EW" -v "$T/fake"
	client file:"$T/early" shut read
	assertBytes "empty: prog greets"
	assertWithin "empty: at once" "$(timeof first)" 0 0.3
	cmp -s "$T/early" "$T/fake.in" || fail "empty: bytes changed"
	assertTrue "empty: value left" "grep -qx 'EARLYTALKER=' '$T/fake.env'"
	settle
	assertEquals "empty: no log, even with -v" "" "$(logs)"
}

testWrapSkips() {
	# "DATA" and a body in one write would be early talk at DATA: that
	# prog reads them proves that no relay ran
	printf 'EHLO x\r\nDATA\r\nbody\r\n.\r\nQUIT\r\n' > "$T/early"
	# shellcheck disable=SC2086
	serve env RELAYCLIENT= $RUNNER "$EW" -v -D 0.2 "$T/fake"
	client file:"$T/early" shut read
	expect '220 fake ESMTP\r\n'
	assertBytes "relayclient: prog greets"
	cmp -s "$T/early" "$T/fake.in" || fail "relayclient: bytes changed"
	settle
	assertLog "relayclient" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: skip: relayclient'
	unserve
	rm -f "$T/fake.in"
	# shellcheck disable=SC2086
	serve env EARLYTALKER= $RUNNER "$EW" -v -D 0.2 "$T/fake"
	client file:"$T/early" shut read
	assertBytes "exempt: prog greets"
	cmp -s "$T/early" "$T/fake.in" || fail "exempt: bytes changed"
	settle
	assertLog "exempt" 'earlytalker-wrap: 127\.0\.0\.1 pid x: skip: exempt'
	unserve
	# shellcheck disable=SC2086
	serve env EARLYTALKER= $RUNNER "$EW" -D 0.2 "$T/fake"
	client file:"$T/early" shut read
	settle
	assertEquals "without -v: no skip line" "" "$(logs)"
}

testWrapExecFailureOnTheWire() {
	# shellcheck disable=SC2086
	serve $RUNNER "$EW" /nonexistent/prog
	client read
	expect '421 4.3.0 Service temporarily unavailable\r\n'
	assertBytes "reply"
	settle
	assertEquals "exit" 111 "$(status)"
	assertLog "fatal" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: fatal: unable to run /nonexistent/prog: No such file or directory'
	unserve
	# shellcheck disable=SC2086
	serve $RUNNER "$EW" -D 0.2 /nonexistent/prog
	client read
	assertBytes "-D: the child's 421 is relayed"
	settle
	assertEquals "-D: exit" 111 "$(status)"
	assertLog "-D: fatal" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: fatal: unable to run /nonexistent/prog: No such file or directory'
}

# shellcheck source=/dev/null
. shunit2
