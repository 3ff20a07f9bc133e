#!/bin/sh
# shellcheck disable=SC2317 # shunit2 calls the functions
# t/pipe.sh: both programs through pipes, no server: usage errors, the version,
# option numbers, exec failures, early bytes and hang-ups on a pipe, fd 0
# that is no socket or is closed.
#
# Alone: ./test t/pipe.sh, or sh t/pipe.sh [-- testName ...]

# shellcheck source=t/lib.sh
. "$(dirname "$0")/lib.sh"

oneTimeSetUp() {
	lib_setup || return 1
	make_fake
}

# --- earlytalker ---

testUsageErrors() {
	while IFS='|' read -r args why; do
		# shellcheck disable=SC2086
		et $args < /dev/null
		usageIs earlytalker "$args" $? "$why"
	done <<'EOF'
|no program to run
-w|-w: no value
-x true|no program to run
-z true|-z: no such option
-w abc true|-w abc: not seconds from 0 to 300
-w -1 true|-w -1: not seconds from 0 to 300
-w 301 true|-w 301: not seconds from 0 to 300
-w 1e3 true|-w 1e3: not seconds from 0 to 300
-w 1,5 true|-w 1,5: not seconds from 0 to 300
-w .5 true|-w .5: not seconds from 0 to 300
-w 5. true|-w 5.: not seconds from 0 to 300
-w 0.0001 true|-w 0.0001: not seconds from 0 to 300
-w +1 true|-w +1: not seconds from 0 to 300
-w 0x10 true|-w 0x10: not seconds from 0 to 300
-w 5-2 true|-w 5-2: not a range of seconds from 0 to 300
-w 1-301 true|-w 1-301: not a range of seconds from 0 to 300
-w 1- true|-w 1-: not a range of seconds from 0 to 300
-l 31 true|-l 31: not seconds from 0 to 30
-l x true|-l x: not seconds from 0 to 30
-l -1 true|-l -1: not seconds from 0 to 30
-C 0.5 true|-C 0.5: not seconds from 1 to 2592000
-C 2592001 true|-C 2592001: not seconds from 1 to 2592000
-C 1-5 true|-C 1-5: not seconds from 1 to 2592000
-b -w 2 true|-b -w: looks like an option, not text
-c -d true|-c -d: looks like an option, not a directory
-x -w 2 true|-x -w: looks like an option, not a cdb file
EOF
	for o in b c x; do
		et "-$o" '' true < /dev/null
		usageIs earlytalker "-$o ''" $? "-$o \"\": empty"
	done
	# -w "": nothing read past the end of the value (the next argument
	# has a dash, which a read past it would take for a range)
	et -w '' no-such-prog < /dev/null
	usageIs earlytalker "-w ''" $? '-w "": not seconds from 0 to 300'
	# a hostile value is escaped and cut in the line
	et -w "$(printf '1\033[2J%060d' 0)" true < /dev/null
	usageIs earlytalker "-w ESC..." $? \
	    '-w 1\033[2J00000000000000000000000000000000000: not seconds from 0 to 300'
}

testVersion() {
	v=$(cat "$top/VERSION")
	et -V
	assertEquals "earlytalker -V: exit" 0 $?
	assertEquals "earlytalker -V" "earlytalker $v" "$(cat "$T/out")"
	ew -V
	assertEquals "earlytalker-wrap -V: exit" 0 $?
	assertEquals "earlytalker-wrap -V" "earlytalker-wrap $v" \
	    "$(cat "$T/out")"
}

testNumbersAccepted() {
	for args in '-w 0' '-w 300' '-w 0.001' '-w 2.5' '-w 007' \
	    '-l 0' '-l 30' '-l 1.25' '-p -t -p' '-t -p -t' '-q -v'; do
		# shellcheck disable=SC2086
		RELAYCLIENT='' et $args true
		assertEquals "earlytalker $args true" 0 $?
	done
}

testExecFailure() {
	RELAYCLIENT='' et /nonexistent/prog < /dev/null
	assertEquals exit 111 $?
	expect '421 4.3.0 Service temporarily unavailable\r\n'
	assertBytes "reply"
	assertEquals "log" \
	    "earlytalker: unknown pid x: fatal: unable to run /nonexistent/prog: No such file or directory" \
	    "$(sed 's/ pid [0-9]*:/ pid x:/' "$T/err")"
}

testExecFailureOnTheWire() {
	serve "$ET" -w 0.2 /nonexistent/prog
	client until:'\n' shut read
	expect '421 4.3.0 Service temporarily unavailable\r\n'
	assertBytes "reply"
	settle
	assertEquals "exit" 111 "$(status)"
	assertLog "fatal" 'earlytalker: 127\.0\.0\.1 pid x: fatal: unable to run /nonexistent/prog: No such file or directory'
}

testPipeEarly() {
	printf 'EHLO x\r\n' | et -v -w 1 "$T/fake"
	assertEquals "exit" 0 $?
	expect '554 5.5.1 Connecting host started transmitting before SMTP greeting\r\n503 5.5.1 Bad sequence of commands\r\n'
	assertBytes "replies"
	# on a pipe the bytes are counted, not sampled: peeking would eat them
	grep -Eqx 'earlytalker: unknown pid [0-9]+: early: 8 bytes after 0\.[0-9]{3} s: "\.\.\." other: reject 554' \
	    "$T/err" || fail "log: $(cat "$T/err")"
	assertFalse "prog ran" "[ -f '$T/fake.in' ]"
}

testPipeHangup() {
	: | et -v -w 1 "$T/fake"
	assertEquals "exit" 0 $?
	assertEquals "nothing written" 0 "$(wc -c < "$T/out")"
	grep -Eqx 'earlytalker: unknown pid [0-9]+: hangup after 0\.[0-9]{3} s' \
	    "$T/err" || fail "log: $(cat "$T/err")"
	assertFalse "prog ran" "[ -f '$T/fake.in' ]"
}

testNotASocket() {
	# a file or /dev/null has no client on it: documented, never a hang
	et -w 5 "$T/fake" < /dev/null
	assertEquals "/dev/null: exit" 0 $?
	grep -Eqx 'earlytalker: unknown pid [0-9]+: warning: fd 0 is not a socket, pipe or terminal: not waiting' \
	    "$T/err" || fail "log: $(cat "$T/err")"
	assertTrue "/dev/null: prog ran" "[ -f '$T/fake.in' ]"
	printf 'EHLO x\r\n' > "$T/file"
	rm -f "$T/fake.in"
	et -w 5 "$T/fake" < "$T/file"
	assertEquals "file: exit" 0 $?
	assertEquals "file: prog read it" "$(cat "$T/file")" \
	    "$(cat "$T/fake.in")"
}

testClosedStdin() {
	et -w 1 "$T/fake" <&-
	assertEquals "exit" 111 $?
	assertEquals "log" \
	    "earlytalker: unknown pid x: fatal: unable to examine fd 0: Bad file descriptor" \
	    "$(sed 's/ pid [0-9]*:/ pid x:/' "$T/err")"
	assertEquals "nothing written" 0 "$(wc -c < "$T/out")"
}

# --- earlytalker-wrap ---

testWrapUsageErrors() {
	while IFS='|' read -r args why; do
		# shellcheck disable=SC2086
		ew $args < /dev/null
		usageIs earlytalker-wrap "$args" $? "$why"
	done <<'EOF'
|no program to run
-x true|-x: no such option
-D|-D: no value
-D 61 true|-D 61: not seconds from 0 to 60
-D abc true|-D abc: not seconds from 0 to 60
-D -1 true|-D -1: not seconds from 0 to 60
-D 1e3 true|-D 1e3: not seconds from 0 to 60
-D 0.0001 true|-D 0.0001: not seconds from 0 to 60
-T 0 true|-T 0: not seconds from 1 to 3600
-T 0.5 true|-T 0.5: not seconds from 1 to 3600
-T 3601 true|-T 3601: not seconds from 1 to 3600
-T x true|-T x: not seconds from 1 to 3600
-T true|-T true: not seconds from 1 to 3600
-i 0 true|-i 0: not seconds from 0.1 to 3600
-i 0.05 true|-i 0.05: not seconds from 0.1 to 3600
-i 3601 true|-i 3601: not seconds from 0.1 to 3600
-i x true|-i x: not seconds from 0.1 to 3600
-h -m true|-h -m: looks like an option, not a host name
EOF
	ew -h '' true < /dev/null
	usageIs earlytalker-wrap "-h ''" $? '-h "": empty'
	for args in '-T 1' '-T 3600' '-T 2.5' '-h x' '-m -p -t -q -v' \
	    '-D 0' '-D 60' '-D 0.001' '-i 0.1' '-i 3600' '-i 1.5'; do
		# shellcheck disable=SC2086
		ew $args true < /dev/null
		assertEquals "earlytalker-wrap $args true" 0 $?
	done
}

testWrapExecFailure() {
	ew /nonexistent/prog < /dev/null
	assertEquals "exit" 111 $?
	expect '421 4.3.0 Service temporarily unavailable\r\n'
	assertBytes "reply"
	assertEquals "log" \
	    "earlytalker-wrap: unknown pid x: fatal: unable to run /nonexistent/prog: No such file or directory" \
	    "$(sed 's/ pid [0-9]*:/ pid x:/' "$T/err")"
}

# shellcheck source=/dev/null
. shunit2
