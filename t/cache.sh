#!/bin/sh
# shellcheck disable=SC2317 # shunit2 calls the functions
# t/cache.sh: earlytalker's pass cache (-c): a client that passed the wait
# once passes at once; its TTL, hostile and broken entries, many writers,
# links not followed, never for a PROXY LOCAL client, its warnings.
#
# Alone: ./test t/cache.sh, or sh t/cache.sh [-- testName ...]

# shellcheck source=t/lib.sh
. "$(dirname "$0")/lib.sh"

oneTimeSetUp() {
	lib_setup || return 1
	make_fake
}

testPassCache() {
	mkdir "$T/cache"
	serve "$ET" -v -c "$T/cache" -w 0.5 "$T/fake"
	client until:'\n' shut read
	assertWithin "first visit waits" "$(timeof first)" 0.5 0.8
	assertTrue "pass recorded" "[ -f '$T/cache/127.0.0.1' ]"
	client until:'\n' shut read
	assertWithin "second visit does not" "$(timeof first)" 0 0.3
	settle
	assertLog "skip: cached" 'earlytalker: 127\.0\.0\.1 pid x: skip: cached'
	assertEquals "one file, no leftovers" "127.0.0.1" "$(ls -A "$T/cache")"
	touch -d '2 days ago' "$T/cache/127.0.0.1"
	client until:'\n' shut read
	assertWithin "expired after a day: waits again" "$(timeof first)" \
	    0.5 0.8
	# the documented expiry: find DIR -type f -mmin +1440 -delete
	touch -d '2 days ago' "$T/cache/127.0.0.1"
	find "$T/cache" -type f -mmin +1440 -delete
	assertFalse "expired entries go" "[ -f '$T/cache/127.0.0.1' ]"
	# an early talker is refused and never cached
	client send:'EHLO x\r\n' shut read
	assertFalse "no entry for an early talker" \
	    "[ -f '$T/cache/127.0.0.1' ]"
}

testPassCacheTTL() {
	mkdir "$T/cache"
	serve "$ET" -c "$T/cache" -C 2 -w 0.4 "$T/fake"
	client until:'\n' shut read
	touch -d '3 seconds ago' "$T/cache/127.0.0.1"
	client until:'\n' shut read
	assertWithin "-C 2: a pass 3 s old is stale" "$(timeof first)" 0.4 0.7
	client until:'\n' shut read
	assertWithin "a fresh one is not" "$(timeof first)" 0 0.3
	for args in '-C 0' '-C 0.5' '-C x' '-C 2592001' '-c'; do
		# shellcheck disable=SC2086
		et $args true < /dev/null
		assertEquals "$args: usage" 100 $?
	done
	et -c '' true < /dev/null
	assertEquals "-c '': usage" 100 $?
}

testPassCacheHostileAndBroken() {
	mkdir "$T/cache"
	# only an address becomes a file name, whatever TCPREMOTEIP says
	serve env TCPREMOTEIP=../../x "$ET" -c "$T/cache" -w 0.2 "$T/fake"
	client until:'\n' shut read
	assertEquals "nothing written for a bad address" "" \
	    "$(ls -A "$T/cache")"
	assertFalse "nothing outside" "[ -e '$T/x' ]"
	# in canonical form: one client, one file
	serve env TCPREMOTEIP=0:0:0:0:0:0:0:1 "$ET" -c "$T/cache" -w 0.2 \
	    "$T/fake"
	client until:'\n' shut read
	assertTrue "IPv6 canonical" "[ -f '$T/cache/::1' ]"
	# a cache that cannot be written: a warning, and mail goes on
	: > "$T/notadir"
	serve "$ET" -c "$T/notadir" -w 0.3 "$T/fake"
	client until:'\n' shut read
	expect '220 fake ESMTP\r\n'
	assertBytes "served anyway"
	assertWithin "after the wait" "$(timeof first)" 0.3 0.6
	settle
	assertLog "warning" \
	    "earlytalker: 127\\.0\\.0\\.1 pid x: warning: unable to (read|write) pass cache $T/notadir/127\\.0\\.0\\.1: Not a directory"
	serve "$ET" -c "$T/missing" -w 0.2 "$T/fake"
	client until:'\n' send:'QUIT\r\n' shut read
	assertEquals "missing dir: served" "$(printf 'QUIT\r\n')" \
	    "$(cat "$T/fake.in")"
}

testPassCacheManyWriters() {
	mkdir "$T/cache"
	serve "$ET" -c "$T/cache" -w 0.3 "$T/fake"
	i=0
	pids=
	while [ "$i" -lt 20 ]; do
		CLIENT_TIMES=/dev/null timeout 20 "$PY" "$top/t/client.py" \
		    127.0.0.1 "$port" until:'\n' shut read > "$T/out.$i" &
		pids="$pids $!"
		i=$((i + 1))
	done
	# shellcheck disable=SC2086
	wait $pids
	settle
	assertEquals "20 served" 20 "$(cat "$T"/out.* | grep -c '^220 fake')"
	assertEquals "one entry, no temporary files left" "127.0.0.1" \
	    "$(ls -A "$T/cache")"
	assertEquals "no warnings" "" "$(logs)"
}

testPassCacheNoLinkFollowed() {
	mkdir "$T/cache"
	# a hard link and a symbolic link planted in the cache directory
	# under the name of the next temporary file (the shell's pid is
	# earlytalker's, exec keeps it): neither target is touched
	for kind in hard symbolic; do
		printf 'precious\n' > "$T/victim"
		rm -f "$T/cache/127.0.0.1"
		if [ "$kind" = hard ]; then ln='ln'; else ln='ln -s'; fi
		serve sh -c "$ln \"\$1\" \"\$2/.tmp.\$\$\" &&
		    exec \"\$3\" -c \"\$2\" -w 0.2 \"\$4\"" sh "$T/victim" \
		    "$T/cache" "$ET" "$T/fake"
		client until:'\n' shut read
		expect '220 fake ESMTP\r\n'
		assertBytes "$kind link: served"
		settle
		assertEquals "$kind link: the target is untouched" \
		    "precious" "$(cat "$T/victim")"
		assertTrue "$kind link: the pass is recorded" \
		    "[ -f '$T/cache/127.0.0.1' ] && [ ! -L '$T/cache/127.0.0.1' ]"
		assertEquals "$kind link: no leftovers" "127.0.0.1" \
		    "$(ls -A "$T/cache")"
		assertEquals "$kind link: the victim has its own inode" 1 \
		    "$(stat -c %h "$T/victim")"
		assertEquals "$kind link: no warning" "" "$(logs)"
	done
}

testPassCacheNotForProxyLocal() {
	mkdir "$T/cache"
	# a balancer's health check (v2 LOCAL) stays quiet through the
	# wait: served, and no entry for the balancer's address
	serve "$ET" -P -v -c "$T/cache" -w 0.2 "$T/fake"
	client send:'\r\n\r\n\x00\r\nQUIT\n\x20\x00\x00\x00' until:'\n' shut read
	expect '220 fake ESMTP\r\n'
	assertBytes "LOCAL: served"
	assertEquals "LOCAL: no cache entry" "" "$(ls -A "$T/cache")"
	# so the next one waits again, and is not skipped as cached
	client send:'\r\n\r\n\x00\r\nQUIT\n\x20\x00\x00\x00' until:'\n' shut read
	assertWithin "LOCAL again: waits" "$(timeof first)" 0.2 0.6
	settle
	assertEquals "LOCAL: never skipped as cached" 0 \
	    "$(logs | grep -c 'skip: cached')"
	# a header that names a client: that client is recorded
	client send:'PROXY TCP4 192.0.2.5 127.0.0.1 4242 25\r\n' \
	    until:'\n' shut read
	assertEquals "a named client is recorded" "192.0.2.5" \
	    "$(ls -A "$T/cache")"
}

testPassCacheWarnings() {
	# every client served without the cache gets a warning that says why
	mkdir "$T/cache"
	serve env TCPREMOTEIP=../../x "$ET" -c "$T/cache" -w 0.2 "$T/fake"
	client until:'\n' shut read
	expect '220 fake ESMTP\r\n'
	assertBytes "no address: served"
	settle
	assertLog "no address: a warning" \
	    "earlytalker: \\.\\./\\.\\./x pid x: warning: unable to use pass cache $T/cache: the client's address \\.\\./\\.\\./x is no IP address"
	# a pipe on fd 0: no address at all; the pipe stays open past the
	# wait (a RUNNER's start-up takes its slack)
	hold=$(awk -v s="$SLACK" 'BEGIN { print 0.3 + s }')
	sleep "$hold" | et -c "$T/cache" -w 0.1 "$T/fake"
	assertEquals "a pipe: the warning" \
	    "earlytalker: unknown pid x: warning: unable to use pass cache $T/cache: the client's address unknown is no IP address" \
	    "$(sed 's/ pid [0-9]*:/ pid x:/' "$T/err")"
	# a directory whose name leaves no room for the address
	long=$T/$(awk 'BEGIN { while (i++ < 4080) printf "d" }')
	sleep "$hold" | TCPREMOTEIP=192.0.2.9 et -c "$long" -w 0.1 "$T/fake"
	# the name cut, the reason kept (in the C library's words)
	re=$(echo "$long" | cut -c 1-100 | sed 's/\./\\./g')
	grep -Eqx "earlytalker: 192\\.0\\.2\\.9 pid [0-9]+: warning: unable to use pass cache $re\\.\\.\\.: File ?name too long" \
	    "$T/err" || fail "too long: the warning: $(cat "$T/err")"
	assertEquals "too long: served" "220 fake ESMTP" \
	    "$(tr -d '\r' < "$T/out")"
	assertEquals "nothing written" "" "$(ls -A "$T/cache")"
}

# shellcheck source=/dev/null
. shunit2
