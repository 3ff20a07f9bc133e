#!/bin/sh
# shellcheck disable=SC2317 # shunit2 calls the functions
# t/proxy.sh: the PROXY protocol, v1 and v2 (-P): through HAProxy, header
# bytes exactly, LOCAL and bad headers, and the tcprules cdb (-x) applied
# to the real client behind the proxy.
#
# Alone: ./test t/proxy.sh, or sh t/proxy.sh [-- testName ...]

# shellcheck source=t/lib.sh
. "$(dirname "$0")/lib.sh"

oneTimeSetUp() {
	lib_setup || return 1
	make_fake
}

# haproxy_to PORT MODE: HAProxy on a free port in front of 127.0.0.1:PORT,
# with send-proxy or send-proxy-v2; sets $hport and $hpid
haproxy_to() {
	hport=$(free_port)
	cat > "$T/haproxy.cfg" <<EOF
global
	log stderr format raw local0
defaults
	mode tcp
	timeout connect 2s
	timeout client 30s
	timeout server 30s
frontend smtp
	bind 127.0.0.1:$hport
	default_backend mx
backend mx
	server mx1 127.0.0.1:$1 $2
EOF
	timeout 60 haproxy -db -f "$T/haproxy.cfg" 2> "$T/haproxy.log" &
	hpid=$!
	waitfor 100 0.05 "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $hport)).close()" 2> /dev/null
}

testProxyThroughHAProxy() {
	skip_for haproxy && return 0
	echo "exercised: $(haproxy -v | head -n 1)"
	for mode in send-proxy send-proxy-v2; do
		serve env EARLYTALKER_PROXY= "$ET" -v -w 0.3 "$T/fake"
		haproxy_to "$port" "$mode"
		: > "$T/times"
		CLIENT_SOURCE=127.0.0.5 CLIENT_TIMES=$T/times timeout 20 \
		    "$PY" "$top/t/client.py" 127.0.0.1 "$hport" until:'\n' \
		    shut read > "$T/out"
		kill "$hpid" 2> /dev/null
		wait "$hpid" 2> /dev/null
		expect '220 fake ESMTP\r\n'
		assertBytes "$mode: served"
		assertEnv "$mode: the real client for prog" \
		    "TCPREMOTEIP=127.0.0.5"
		assertEnv "$mode: the balancer's port in TCPLOCALPORT" \
		    "TCPLOCALPORT=$hport"
		assertTrue "$mode: the client's port" \
		    "grep -Eq '^TCPREMOTEPORT=[1-9][0-9]*$' '$T/fake.env'"
		settle
		assertLog "$mode: logged" \
		    "earlytalker: 127\\.0\\.0\\.1 pid x: proxy: v[12] from 127\\.0\\.0\\.5 port [0-9]+ to 127\\.0\\.0\\.1 port $hport"
		assertLog "$mode: then the real address" \
		    'earlytalker: 127\.0\.0\.5 pid x: pass after 0\.[0-9]{3} s'
		kill "$srvpid" 2> /dev/null
		wait "$srvpid" 2> /dev/null
		srvpid=
	done
	# an early talker behind the balancer is caught under its own name
	serve env EARLYTALKER_PROXY= "$ET" -w 2 "$T/fake"
	haproxy_to "$port" send-proxy-v2
	CLIENT_SOURCE=127.0.0.9 CLIENT_TIMES=/dev/null timeout 20 "$PY" \
	    "$top/t/client.py" 127.0.0.1 "$hport" send:'EHLO bot\r\n' shut read \
	    > "$T/out"
	kill "$hpid" 2> /dev/null
	wait "$hpid" 2> /dev/null
	settle
	assertLog "the bot, by its own address" \
	    'earlytalker: 127\.0\.0\.9 pid x: early: 10 bytes after 0\.[0-9]{3} s: "EHLO bot\\r\\n" smtp: reject 554'
}

testProxyHeaderExactly() {
	# the header is taken off, and not one byte more
	serve "$ET" -P -d -w 2 "$T/fake"
	client send:'PROXY TCP4 192.0.2.7 198.51.100.1 4242 25\r\nEHLO x\r\n' \
	    shut read
	assertEquals "prog reads what followed the header" \
	    "$(printf 'EHLO x\r\n')" "$(cat "$T/fake.in")"
	assertEquals "marked as early" 1 \
	    "$(grep -c '^EARLYTALKER=-' "$T/fake.env")"
	assertEnv "TCPREMOTEIP" "TCPREMOTEIP=192.0.2.7"
	assertEnv "TCPREMOTEPORT" "TCPREMOTEPORT=4242"
	assertEnv "TCPLOCALIP" "TCPLOCALIP=198.51.100.1"
	assertEnv "TCPLOCALPORT" "TCPLOCALPORT=25"
	assertFalse "no TCPREMOTEHOST of the balancer" \
	    "grep -q '^TCPREMOTEHOST=' '$T/fake.env'"
	settle
	assertLog "by the real address" \
	    'earlytalker: 192\.0\.2\.7 pid x: early: 8 bytes after 0\.[0-9]{3} s: "EHLO x\\r\\n" smtp: mark'
	# v2 with an IPv6 client, in one write with the early bytes
	serve "$ET" -P -d -w 2 "$T/fake"
	client send:'\r\n\r\n\x00\r\nQUIT\n\x21\x21\x00\x24\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x07\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x10\x92\x00\x19QUIT\r\n' \
	    shut read
	assertEquals "v2: prog reads what followed" "$(printf 'QUIT\r\n')" \
	    "$(cat "$T/fake.in")"
	assertEnv "v2: IPv6 client" "TCPREMOTEIP=2001:db8::7"
	assertEnv "v2: port" "TCPREMOTEPORT=4242"
	# an IPv4 client seen over IPv6 (HAProxy's bind :::25 v4v6) is the
	# IPv4 address, and v1's text comes out in inet_ntop()'s form
	serve "$ET" -P -d -w 2 "$T/fake"
	client send:'\r\n\r\n\x00\r\nQUIT\n\x21\x21\x00\x24\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xc0\x00\x02\x07\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xc6\x33\x64\x01\x10\x92\x00\x19QUIT\r\n' \
	    shut read
	assertEnv "v2 mapped: IPv4 client" "TCPREMOTEIP=192.0.2.7"
	assertEnv "v2 mapped: IPv4 local" "TCPLOCALIP=198.51.100.1"
	serve "$ET" -P -d -w 2 "$T/fake"
	client send:'PROXY TCP6 2001:DB8:0:0::7 ::FFFF:198.51.100.1 4242 25\r\nQUIT\r\n' \
	    shut read
	assertEnv "v1: IPv6 as inet_ntop writes it" "TCPREMOTEIP=2001:db8::7"
	assertEnv "v1 mapped: IPv4 local" "TCPLOCALIP=198.51.100.1"
}

testProxyLocalAndBad() {
	# v2 LOCAL, a health check: the balancer's own address stays
	serve "$ET" -P -v -w 0.2 "$T/fake"
	client send:'\r\n\r\n\x00\r\nQUIT\n\x20\x00\x00\x00' until:'\n' shut read
	expect '220 fake ESMTP\r\n'
	assertBytes "LOCAL: served"
	assertEnv "LOCAL: address kept" "TCPREMOTEIP=127.0.0.1"
	settle
	assertLog "LOCAL: logged" \
	    'earlytalker: 127\.0\.0\.1 pid x: proxy: v2 local'
	for bad in 'EHLO x\r\n' 'PROXY TCP4 1.2.3 127.0.0.1 1 25\r\n' \
	    'PROXY TCP4 127.0.0.1 127.0.0.1 65536 25\r\n' \
	    'PROXY TCP6 127.0.0.1 127.0.0.1 1 25\r\n' \
	    'PROXY TCP4 127.0.0.1 127.0.0.1 1 25\n' \
	    '\r\n\r\n\x00\r\nQUIT\n\x31\x11\x00\x0c' \
	    '\r\n\r\n\x00\r\nQUIT\n\x21\x99\x00\x0c\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x19'; do
		rm -f "$T/fake.in"
		serve "$ET" -P -w 0.2 "$T/fake"
		client send:"$bad" read
		expect '421 4.3.0 Bad or missing PROXY protocol header\r\n'
		assertBytes "bad header $bad: 421"
		settle
		assertLog "bad header $bad: logged" \
		    'earlytalker: 127\.0\.0\.1 pid x: proxy: bad header: [0-9]+ bytes after 0\.[0-9]{3} s: ".*": reject 421'
		assertFalse "bad header: prog never ran" "[ -f '$T/fake.in' ]"
		kill "$srvpid" 2> /dev/null
		wait "$srvpid" 2> /dev/null
		srvpid=
	done
	# no header at all: 421 after the bounded wait (5 s)
	serve "$ET" -P -w 0.2 "$T/fake"
	client read
	expect '421 4.3.0 Bad or missing PROXY protocol header\r\n'
	assertBytes "no header: 421"
	assertWithin "after 5 s" "$(timeof first)" 5 5.5
	settle
	assertLog "no header: logged" \
	    'earlytalker: 127\.0\.0\.1 pid x: proxy: no header: 0 bytes after 5\.[0-9]{3} s: "": reject 421'
}

# --- the rules (-x) for the client behind the proxy ---

testProxyRulesForTheRealClient() {
	cat > "$T/rules" <<'EOF'
192.0.2.5:allow,RELAYCLIENT=""
192.0.2.6:deny
192.0.2.8:allow
192.0.2.9:allow,RELAYCLIENT="",LONG="LONGVALUE"
192.0.2.:allow,EARLYTALKER_WAIT="0.1"
198.51.100.9:allow,EARLYTALKER="-Go away"
:allow
EOF
	# a rule longer than a page: 5000 bytes of LONG
	long=$(awk 'BEGIN { while (n++ < 5000) printf "x" }')
	sed -i "s/LONGVALUE/$long/" "$T/rules"
	tcprules "$T/rules.cdb" "$T/rules.tmp" < "$T/rules"
	serve "$ET" -P -x "$T/rules.cdb" -v -w 1 -l 0 "$T/fake"
	client send:'PROXY TCP4 192.0.2.5 127.0.0.1 1234 25\r\n' shut read
	assertEquals "RELAYCLIENT from the rules" 1 \
	    "$(grep -c '^RELAYCLIENT=$' "$T/fake.env")"
	# the same client seen over IPv6, mapped: the same rule
	rm -f "$T/fake.env"
	client send:'\r\n\r\n\x00\r\nQUIT\n\x21\x21\x00\x24\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xc0\x00\x02\x05\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x7f\x00\x00\x01\x10\x92\x00\x19' \
	    shut read
	assertEquals "mapped: RELAYCLIENT from the IPv4 rule" 1 \
	    "$(grep -c '^RELAYCLIENT=$' "$T/fake.env")"
	rm -f "$T/fake.env"
	client send:'PROXY TCP4 192.0.2.9 127.0.0.1 1234 25\r\n' shut read
	assertEquals "a long rule applies whole" "1 5000" \
	    "$(grep -c '^RELAYCLIENT=$' "$T/fake.env") $(sed -n 's/^LONG=//p' "$T/fake.env" | tr -d '\n' | wc -c)"
	client send:'PROXY TCP4 192.0.2.6 127.0.0.1 1234 25\r\n' read
	assertEquals "deny: closed, nothing said" 0 "$(wc -c < "$T/out")"
	client send:'PROXY TCP4 192.0.2.77 127.0.0.1 1234 25\r\n' until:'\n' \
	    shut read
	assertWithin "a prefix rule: EARLYTALKER_WAIT" "$(timeof first)" 0 0.4
	# a bare allow sets nothing, and no shorter prefix applies
	client send:'PROXY TCP4 192.0.2.8 127.0.0.1 1234 25\r\n' until:'\n' \
	    shut read
	assertWithin "a bare allow: the -w wait" "$(timeof first)" 1 1.3
	client send:'PROXY TCP4 198.51.100.9 127.0.0.1 1234 25\r\n' read
	expect '554 5.7.1 Go away\r\n'
	assertBytes "marked by the rules"
	client send:'PROXY TCP4 203.0.113.1 127.0.0.1 1234 25\r\n' until:'\n' \
	    shut read
	assertWithin "the default rule: the -w wait" "$(timeof first)" 1 1.3
	settle
	assertLog "deny logged" 'earlytalker: 192\.0\.2\.6 pid x: deny: rules'
	assertLog "skip by the rules" \
	    'earlytalker: 192\.0\.2\.5 pid x: skip: relayclient'
}

testProxyRulesUnreadable() {
	# no rules, but a warning, whatever is wrong with the cdb; the
	# client is served as without -x
	printf '127.:deny\n' > "$T/text"
	: > "$T/empty"
	mkdir -p "$T/dir"
	for cdb in text empty dir missing; do
		rm -f "$T/fake.env"
		serve "$ET" -P -x "$T/$cdb" -w 0.1 "$T/fake"
		client send:'PROXY TCP4 192.0.2.5 127.0.0.1 1234 25\r\n' \
		    until:'\n' shut read
		expect '220 fake ESMTP\r\n'
		assertBytes "$cdb: served"
		settle
		case $cdb in
		text|empty) why='not a cdb' ;;
		dir) why='Is a directory' ;;
		missing) why='No such file or directory' ;;
		esac
		assertLog "$cdb: warned" \
		    "earlytalker: 192\\.0\\.2\\.5 pid x: warning: unable to read rules $T/$cdb: $why"
	done
}

# shellcheck source=/dev/null
. shunit2
