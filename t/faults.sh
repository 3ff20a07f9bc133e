#!/bin/sh
# shellcheck disable=SC2317 # shunit2 calls the functions
# t/faults.sh: how each failure on the way is answered: earlytalker-wrap out
# of file descriptors or processes, the programs out of memory, a pass
# cache full or read-only, earlytalker-wrap killed mid-message, clients
# that reset.
#
# Alone: ./test t/faults.sh, or sh t/faults.sh [-- testName ...]

# shellcheck source=t/lib.sh
. "$(dirname "$0")/lib.sh"

oneTimeSetUp() {
	lib_setup || return 1
	make_fake
}

# gone PID ...: 0 once none of the processes is left (zombies included),
# waiting at most 3 s
gone() {
	i=0
	while [ "$i" -lt 60 ]; do
		left=
		for p in "$@"; do
			[ -d "/proc/$p" ] && left=1
		done
		[ -z "$left" ] && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# life: the life of the one session in $T/tslog, in seconds
life() {
	lives | tail -n 1
}

TEMPFAIL='421 4.3.0 Service temporarily unavailable\r\n'

testFaultWrapFdExhaustion() {
	sinkdir
	# 4 fds: 0, 1, 2 and one more; the socketpair needs two
	serve sh -c 'ulimit -n 4 && exec "$@"' sh "$EW" -D 1 \
	    "$PY" "$top/t/sink.py" "$T/sink.d"
	client send:'EHLO x\r\n' read
	assertEquals "client exit" 0 $?
	expect "$TEMPFAIL"
	assertBytes "421 for the early bytes too, not a reset"
	assertFalse "reset" "grep -q reset '$T/times'"
	settle
	assertEquals "exit" 111 "$(status)"
	assertLog "the log says why" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: fatal: unable to create socketpair: (Too many open files|No file descriptors available)'
	assertFalse "prog never ran" "[ -s '$T/sink.d/pids' ]"
}

testFaultWrapForkFails() {
	# RLIMIT_NPROC binds no root process: run as nobody (65534), with
	# a limit of 1 process, which this one already is
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIPPED: testFaultWrapForkFails needs root for setpriv"
		skipping
		return
	fi
	skip_for setpriv && return
	skip_for prlimit && return
	sinkdir
	# nobody runs the copy in $pub/bin: the tree may be where nobody
	# cannot go (a clone in root's home, mode 0700).  (LeakSanitizer's
	# check at exit needs a thread, which the limit denies too: off here)
	deploy_setup
	serve env ASAN_OPTIONS=detect_leaks=0 setpriv --reuid=65534 \
	    --regid=65534 --clear-groups prlimit --nproc=1 \
	    "$pub/bin/earlytalker-wrap" -D 1 "$PY" "$top/t/sink.py" "$T/sink.d"
	client send:'EHLO x\r\n' read
	assertEquals "client exit" 0 $?
	expect "$TEMPFAIL"
	assertBytes "421, not a reset"
	assertFalse "reset" "grep -q reset '$T/times'"
	settle
	assertEquals "exit" 111 "$(status)"
	assertLog "the log says why" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: fatal: unable to fork: Resource temporarily unavailable'
	assertFalse "prog never ran" "[ -s '$T/sink.d/pids' ]"
}

testFaultOutOfMemory() {
	# a RUNNER or a sanitizer needs its own memory: not this test's
	if [ -n "$RUNNER" ] || grep -q __asan_init "$ET"; then
		echo "note: testFaultOutOfMemory does not apply to a RUNNER" \
		    "or a sanitizer build: they need memory of their own"
		return
	fi
	# an early talker behind a balancer under ulimit -v from 100 KiB up:
	# earlytalker allocates the PROXY header's buffer, then refuses.
	# Each run is served (554), answered 421 4.3.0 with exit 111 and
	# "out of memory" in the log, or never started: the kernel or the C
	# library's start-up ran out before main() (a static glibc needs
	# about 1.1 MB there, and later allocations come from what it took;
	# musl, about 250 KiB).  Never a crash once earlytalker has run, and
	# never a start-up failure above a limit at which it ran.
	# a dynamically linked build maps the C library too: it needs a few
	# MB to start, so above 1.6 MB the sweep goes on in steps of 1 MB
	v=100
	served=0 tempfail=0 dead=0 ran=
	while [ "$v" -le 8600 ]; do
		# shellcheck disable=SC2016
		serve sh -c 'ulimit -v "$1" && shift && exec "$@"' sh "$v" \
		    "$ET" -P -w 1 "$T/fake"
		client send:'PROXY TCP4 192.0.2.5 127.0.0.1 4242 25\r\nEHLO x\r\n' \
		    read
		settle
		st=$(sed -n 's/^tcpserver: end [0-9]* status //p' "$T/log")
		if [ "$(head -c 3 "$T/out")" = 554 ] && [ "$st" = 0 ]; then
			served=$((served + 1))
			ran=$v
		elif [ "$(tr -d '\r' < "$T/out")" = \
		    "421 4.3.0 Service temporarily unavailable" ] &&
		    [ "$st" = $((111 * 256)) ] &&
		    grep -Eq '^earlytalker: 127\.0\.0\.1 pid [0-9]+: fatal: unable to read the PROXY header: out of memory$' "$T/log"; then
			tempfail=$((tempfail + 1))
			ran=$v
		elif [ ! -s "$T/out" ] && [ -z "$(logs)" ] && [ -z "$ran" ]; then
			dead=$((dead + 1))
		else
			fail "ulimit -v $v: out $(od -c "$T/out" | head -n 3), status $st, log $(cat "$T/log")"
		fi
		if [ "$v" -lt 1600 ]; then v=$((v + 100)); else v=$((v + 1000)); fi
	done
	echo "ulimit -v: $served served, $tempfail answered 421, $dead never started"
	assertTrue "served at 8.6 MB" "[ '$ran' = 8600 ] && [ $served -gt 0 ]"
	# the wrap's buffers are static: under the same limits the
	# responder is either not started or serves
	v=100
	while [ "$v" -le 1600 ]; do
		# shellcheck disable=SC2016
		serve sh -c 'ulimit -v "$1" && shift && exec "$@"' sh "$v" \
		    env EARLYTALKER=-spam "$EW" -h test.example
		client until:'\n' send:'QUIT\r\n' read
		settle
		if [ -s "$T/out" ]; then
			expect '220 test.example ESMTP\r\n221 2.0.0 test.example closing\r\n'
			assertBytes "wrap, ulimit -v $v: served"
			assertEquals "wrap, ulimit -v $v: exit" 0 "$(status)"
		else
			assertEquals "wrap, ulimit -v $v: not started" "" "$(logs)"
		fi
		v=$((v + 100))
	done
}

testFaultCacheFullAndReadOnly() {
	if [ "$(id -u)" -ne 0 ] || ! mkdir "$T/cache" ||
	    ! mount -t tmpfs -o size=8k,nr_inodes=4 tmpfs "$T/cache" \
	    2> /dev/null; then
		echo "SKIPPED: testFaultCacheFullAndReadOnly needs root and mount"
		skipping
		return
	fi
	# full: no inode left for the temporary file
	i=0
	while touch "$T/cache/fill.$i" 2> /dev/null && [ "$i" -lt 100 ]; do
		i=$((i + 1))
	done
	serve "$ET" -c "$T/cache" -w 0.2 "$T/fake"
	client until:'\n' shut read
	expect '220 fake ESMTP\r\n'
	assertBytes "full: served"
	settle
	assertLog "full: a warning" \
	    "earlytalker: 127\\.0\\.0\\.1 pid x: warning: unable to write pass cache $T/cache/127\\.0\\.0\\.1: No space left on device"
	assertFalse "full: no entry" "[ -e '$T/cache/127.0.0.1' ]"
	assertEquals "full: no leftovers" "" \
	    "$(find "$T/cache" -mindepth 1 ! -name 'fill.*')"
	# read-only, with room
	rm -f "$T/cache"/fill.*
	mount -o remount,ro "$T/cache"
	serve "$ET" -c "$T/cache" -w 0.2 "$T/fake"
	client until:'\n' shut read
	assertBytes "read-only: served"
	settle
	assertLog "read-only: a warning" \
	    "earlytalker: 127\\.0\\.0\\.1 pid x: warning: unable to write pass cache $T/cache/127\\.0\\.0\\.1: Read-only file system"
	umount "$T/cache"
}

testFaultCacheOutOfMemory() {
	if [ -n "$RUNNER" ] || grep -q __asan_init "$ET"; then
		echo "note: testFaultCacheOutOfMemory does not apply to a" \
		    "RUNNER or a sanitizer build: they need memory of their own"
		return
	fi
	# -c allocates 8 KiB for the cache's file names.  Under ulimit -v
	# from the lowest limit at which earlytalker starts, upwards: each
	# client that passes either has its entry written, or is served
	# without one with a warning; none silently.  The next program is
	# missing, so that the pass ends in a fatal line at any limit
	mkdir "$T/cache"
	lo=100 hi=10000
	while [ $((hi - lo)) -gt 4 ]; do
		v=$(((lo + hi) / 2))
		cache_oom "$v"
		if grep -q ': fatal: unable to run ' "$T/err"; then
			hi=$v
		else
			lo=$v
		fi
	done
	v=$hi hits=0 runs=0
	while [ "$v" -le $((hi + 256)) ]; do
		rm -f "$T/cache/192.0.2.9"
		cache_oom "$v"
		runs=$((runs + 1))
		if ! grep -q ': fatal: unable to run /nonexistent/prog' "$T/err"; then
			fail "ulimit -v $v: did not pass, above $hi: $(cat "$T/err")"
		elif grep -q ': warning: unable to use pass cache .*: out of memory$' \
		    "$T/err"; then
			hits=$((hits + 1))
			assertFalse "ulimit -v $v: no entry" \
			    "[ -e '$T/cache/192.0.2.9' ]"
		elif [ ! -e "$T/cache/192.0.2.9" ]; then
			fail "ulimit -v $v: no entry, and no warning: $(cat "$T/err")"
		fi
		v=$((v + 8))
	done
	echo "pass cache under ulimit -v from $hi KiB: $hits of $runs passes" \
	    "without memory for it, each with its warning"
}

# cache_oom KIB: earlytalker -c under ulimit -v KIB, a client on a pipe
# that passes the wait, as 192.0.2.9; its log in $T/err
cache_oom() {
	# the subshell, not this one, reports a start-up that crashed
	# shellcheck disable=SC2016
	(sleep 0.1 | TCPREMOTEIP=192.0.2.9 sh -c 'ulimit -v "$1" && shift &&
	    exec "$@"' sh "$1" "$ET" -c "$T/cache" -w 0.02 /nonexistent/prog \
	    > "$T/out" 2> "$T/err") 2> /dev/null
}

# first_half_read: the sink has read the first half of the message (its
# raw.PID, named once it exists)
first_half_read() {
	grep -q 'first half' "$T/sink.d"/raw.* 2> /dev/null
}

testFaultWrapKilledMidMessage() {
	sinkdir
	serve "$EW" -D 0 "$PY" "$top/t/sink.py" "$T/sink.d"
	: > "$T/times"
	CLIENT_TIMES=$T/times timeout 60 "$PY" "$top/t/client.py" 127.0.0.1 \
	    "$port" until:'220 sink ESMTP\r\n' send:'EHLO c.example\r\n' \
	    until:'250 8BITMIME\r\n' send:'MAIL FROM:<a@b.example>\r\n' \
	    until:'sender ok\r\n' send:'RCPT TO:<c@d.example>\r\n' \
	    until:'recipient ok\r\n' send:'DATA\r\n' until:'354 go ahead\r\n' \
	    send:'Subject: half\r\n\r\nthe first half\r\n' sleep:3 \
	    send:'the second half\r\n.\r\n' read > "$T/out" 2> /dev/null &
	cpid=$!
	waitfor 200 0.05 first_half_read
	sink=$(head -n 1 "$T/sink.d/pids")
	wrap=$(awk '{ print $4 }' "/proc/$sink/stat")
	assertEquals "the wrap is the sink's parent" earlytalker-wra \
	    "$(cat "/proc/$wrap/comm")"
	kill -9 "$wrap"
	assertTrue "the server sees its input end and exits" "gone $sink"
	wait "$cpid"
	assertFalse "nothing queued" "ls '$T/sink.d'/body.* > /dev/null 2>&1"
	assertTrue "the server read the first half" \
	    "grep -q 'first half' '$T/sink.d'/raw.*"
	assertTrue "the client saw the end" "grep -Eq '^(eof|reset) ' '$T/times'"
	settle
	assertEquals "tcpserver saw the kill" 9 \
	    "$(sed -n 's/^tcpserver: end [0-9]* status //p' "$T/log")"
}

testFaultClientResets() {
	# mid-wait: the process ends at once, a hangup (logged with -v)
	serve -s "$ET" -v -w 2 "$T/fake"
	client sleep:0.2 rst
	ends 1
	assertWithin "mid-wait: life" "$(life)" 0.1 "$(hi 0.5)"
	assertEquals "mid-wait: exit" 0 "$(status)"
	assertLog "mid-wait: a hangup" \
	    'earlytalker: 127\.0\.0\.1 pid x: hangup after 0\.[0-9]{3} s'
	# mid-linger, with -l 10: the reset ends it
	serve -s "$ET" -w 2 -l 10 "$T/fake"
	client send:'EHLO x\r\n' until:'503' send:'NOOP\r\n' until:'503 5.5.1 Bad sequence of commands\r\n503' rst
	ends 1
	assertWithin "mid-linger: life" "$(life)" 0 "$(hi 0.5)"
	assertEquals "mid-linger: exit" 0 "$(status)"
	# mid-body under -D: the server sees its input end, queues nothing,
	# and both processes are gone
	sinkdir
	serve -s "$EW" -D 0 "$PY" "$top/t/sink.py" "$T/sink.d"
	client until:'220 sink ESMTP\r\n' send:'EHLO c.example\r\n' \
	    until:'250 8BITMIME\r\n' send:'MAIL FROM:<a@b.example>\r\n' \
	    until:'sender ok\r\n' send:'RCPT TO:<c@d.example>\r\n' \
	    until:'recipient ok\r\n' send:'DATA\r\n' until:'354 go ahead\r\n' \
	    bulk:1000:'a line of the body\r\n' rst
	ends 1
	assertWithin "mid-body: life" "$(life)" 0 "$(hi 2)"
	assertFalse "mid-body: nothing queued" \
	    "ls '$T/sink.d'/body.* > /dev/null 2>&1"
	assertTrue "mid-body: the server is gone, no zombie" \
	    "gone $(cat "$T/sink.d/pids")"
	tcps=$(cat "/proc/$srvpid/task/$srvpid/children")	# under timeout
	assertEquals "mid-body: no child of tcpserver left" "" \
	    "$(cat "/proc/$tcps/task/$tcps/children" 2> /dev/null)"
}

# shellcheck source=/dev/null
. shunit2
