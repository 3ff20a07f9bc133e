#!/bin/sh
# shellcheck disable=SC2317 # shunit2 calls the functions
# t/inetd.sh: per-client rules without tcpserver: under xinetd, systemd and
# busybox's tcpsvd, which set no $TCPREMOTEIP, earlytalker sets the
# tcp-environ(5) variables from the socket and applies the shipped rules
# (etc/tcp.smtp, through tcprules) with -x, as tcpserver -x would; ipsvd's
# tcpsvd with its own per-client instructions.  The shipped chain, with
# $pub/envfake, which records its environment, in place of qmail-smtpd.
#
# Alone: ./test t/inetd.sh, or sh t/inetd.sh [-- testName ...]

# shellcheck source=t/lib.sh
. "$(dirname "$0")/lib.sh"

oneTimeSetUp() {
	lib_setup || return 1
}

# rules_run PID WHERE: rules_clients bot against the server PID, which is
# then stopped, and rules_check WHERE on its log, $T/log
rules_run() {
	rules_clients bot
	sleep 0.3
	kill "$1"
	wait "$1" 2> /dev/null
	rules_check "$2" "$T/log"
}

# rules_check WHERE LOG: what rules_clients got, and the log lines in LOG
rules_check() {
	expect '220 fake ESMTP\r\n'
	assertBytes "$1: trusted net: no check" "$T/trusted.out"
	assertWithin "$1: trusted net: no wait" "$(ntimeof trusted first)" 0 1.5
	assertTrue "$1: trusted net: RELAYCLIENT set" \
	    "grep -qx 'RELAYCLIENT=' '$pub/ran/env.127.0.1.7'"

	assertBytes "$1: exempt host: no check" "$T/exempt.out"
	assertWithin "$1: exempt host: no wait" "$(ntimeof exempt first)" 0 1.5
	assertTrue "$1: exempt host: EARLYTALKER empty" \
	    "grep -qx 'EARLYTALKER=' '$pub/ran/env.127.0.0.25'"

	assertBytes "$1: slow range: greeted" "$T/slow.out"
	assertWithin "$1: slow range: EARLYTALKER_WAIT=5" \
	    "$(ntimeof slow first)" 5.0 5.6

	grep -q '^550 5\.7\.1 Go away' "$T/marked.out" ||
	    fail "$1: marked host: $(cat "$T/marked.out")"
	assertRefused550 "$1: anyone else, early" "$T/early.out"
	assertBytes "$1: anyone else, quiet: greeted" "$T/quiet.out"
	assertWithin "$1: anyone else, quiet: the -w wait" \
	    "$(ntimeof quiet first)" 2.0 2.6
	assertEquals "$1: prog ran for the clients let through" \
	    "env.127.0.0.10 env.127.0.0.25 env.127.0.1.7 env.127.0.2.9" \
	    "$(cd "$pub/ran" && echo env.*)"

	# tcp-environ(5), as tcpserver would have set it
	e=$pub/ran/env.127.0.0.10
	for v in PROTO=TCP TCPREMOTEIP=127.0.0.10 TCPLOCALIP=127.0.0.1 \
	    "TCPLOCALPORT=$port"; do
		assertTrue "$1: quiet client: $v" "grep -qx '$v' '$e'"
	done
	assertTrue "$1: quiet client: TCPREMOTEPORT" \
	    "grep -Eqx 'TCPREMOTEPORT=[1-9][0-9]*' '$e'"
	assertFalse "$1: quiet client: no RELAYCLIENT, no EARLYTALKER" \
	    "grep -Eq '^(RELAYCLIENT|EARLYTALKER)=' '$e'"
	assertTrue "$1: quiet client: TCPLOCALHOST, from the settings" \
	    "grep -qx 'TCPLOCALHOST=mx.test.example' '$e'"

	for re in 'earlytalker: 127\.0\.0\.9 pid [0-9]+: marked: mark' \
	    'earlytalker-wrap: 127\.0\.0\.9 pid [0-9]+: reject: helo=<bot\.example> from=<bot@spam\.example> to=<victim@example\.org>: 550 5\.7\.1' \
	    'earlytalker: 127\.0\.0\.8 pid [0-9]+: early: 116 bytes after 0\.[0-9]{3} s: ".*" smtp: mark'; do
		grep -Eq "$re\$" "$2" ||
		    fail "$1: no log line matches $re
$(cat "$2")"
	done
	assertFalse "$1: no pass, skip or hangup line at the default level" \
	    "grep -Eq ': (pass after|skip:|hangup after)' '$2'"
}

testDeployXinetdRules() {
	for tool in xinetd logger tcprules tcpclient; do
		skip_for "$tool" && return
	done
	xinetd_setup envfake || return
	assertTrue "the shipped chain applies the rules" \
	    "grep -q -- '-x \"\$RULES\"' '$pub/sbin/earlytalker-smtpd'"
	# shellcheck disable=SC2119 # the installed entry, as it is
	xinetd_up
	if [ -n "$up" ]; then
		rules_clients bot
		sleep 0.3
	fi
	xinetd_down
	[ -n "$up" ] || return
	rules_check xinetd "$T/syslog"
}

testDeploySystemdRules() {
	for tool in systemd-socket-activate tcprules tcpclient; do
		skip_for "$tool" && return
	done
	exercised systemd-socket-activate systemd
	deploy_setup
	examples || return
	rules "$pub/tcp.smtp.cdb"
	unit_copy "$pub/envfake"
	cmd=$(unit_exec)
	case $cmd in
	*" -x $pub/tcp.smtp.cdb "*) ;;
	*) fail "the shipped unit applies no rules: $cmd" ;;
	esac
	# shellcheck disable=SC2086
	socket_activate 127.0.0.1 $cmd || return
	rules_run "$sapid" systemd
}

# --- the tcpsvds: ipsvd's and busybox's ---

# svd_listening: 0 once the tcpsvd says it listens on $port, else 1
svd_listening() {
	cat "$T/svd.out" "$T/log" |
	    grep -q "listening on 127\.0\.0\.1:$port" && return 0
	return 1
}

# svd_up CMD ...: a tcpsvd (ipsvd's or busybox's) on a free port of
# 127.0.0.1, CMD with PORT in place of the port; its stdout in
# $T/svd.out, its stderr (and the chain's log) in $T/log; sets $svdpid,
# $port, and $up once it listens
svd_up() {
	tries=0
	up=
	while [ -z "$up" ] && [ "$tries" -lt 3 ]; do
		tries=$((tries + 1))
		port=$(free_port 127.0.0.1)
		: > "$T/log"
		: > "$T/svd.out"
		a=
		for w in "$@"; do
			[ "$w" = PORT ] && w=$port
			a="$a '$w'"
		done
		eval "timeout 120 $a" > "$T/svd.out" 2> "$T/log" &
		svdpid=$!
		await_up "$svdpid" svd_listening
	done
	[ -n "$up" ] ||
	    fail "tcpsvd did not start: $(cat "$T/svd.out" "$T/log")"
}

# ipsvd's tcpsvd (runit's server), with its own per-client instructions
# (ipsvd-instruct(5), compiled by ipsvd-cdb) in place of tcprules: the
# controls of etc/tcp.smtp, each a file named by the address or its
# prefix, that puts the variable in the environment; like tcpserver, it
# sets TCPREMOTEIP and the rest of tcp-environ(5) itself, and -l NAME
# sets TCPLOCALHOST
testDeployIpsvd() {
	for tool in tcpsvd ipsvd-cdb tcpclient; do
		skip_for "$tool" && return
	done
	exercised "tcpsvd (ipsvd)" ipsvd
	deploy_setup
	# the trusted net 127.0.1., the exempt host, the slow range 127.0.2.,
	# the marked host, as in rules()
	mkdir "$pub/instruct"
	echo '+RELAYCLIENT=' > "$pub/instruct/127.0.1"
	echo '+EARLYTALKER=' > "$pub/instruct/127.0.0.25"
	echo '+EARLYTALKER_WAIT=5' > "$pub/instruct/127.0.2"
	echo '+EARLYTALKER=-Go away' > "$pub/instruct/127.0.0.9"
	ipsvd-cdb "$pub/instruct.cdb" "$pub/instruct.tmp" "$pub/instruct" ||
	    fail "ipsvd-cdb"
	# shellcheck disable=SC2086
	svd_up tcpsvd -v -l mx.test.example -x "$pub/instruct.cdb" \
	    127.0.0.1 PORT $RUNNER "$ET" -w 2 -d $RUNNER "$EW" "$pub/envfake"
	[ -n "$up" ] || return
	rules_run "$svdpid" ipsvd
	assertTrue "tcpsvd ran the chain for the early talker" \
	    "grep -q 'tcpsvd: info: start [0-9]* mx.test.example:127.0.0.1 ::127.0.0.8:' '$T/svd.out'"
}

# busybox's tcpsvd: no per-client instructions, so earlytalker -x applies
# the tcprules cdb, as under xinetd; it sets TCPREMOTEADDR and
# TCPLOCALADDR (IP:PORT), not TCPREMOTEIP, so earlytalker sets that and
# the rest of tcp-environ(5) from the socket; TCPLOCALHOST only with -h
# (a DNS lookup of each client), so the run script sets it
testDeployBusybox() {
	bb=${BUSYBOX:-/var/cache/earlytalker-busybox/busybox}
	if [ ! -x "$bb" ] || ! "$bb" tcpsvd 2>&1 | grep -q 'Usage: tcpsvd'; then
		bb=$(command -v busybox)
		if [ -z "$bb" ] || ! "$bb" tcpsvd 2>&1 | grep -q 'Usage: tcpsvd'
		then
			echo "SKIPPED: no busybox with tcpsvd (Debian's has none);" \
			    "sh deps busybox builds one, and .ci/run does"
			skipping
			return
		fi
	fi
	skip_for tcprules && return
	skip_for tcpclient && return
	echo "exercised: busybox tcpsvd $(cat "$(dirname "$bb")/version" \
	    2> /dev/null || "$bb" 2>&1 | sed -n 's/^BusyBox \(v[^ ]*\).*/\1/p')"
	deploy_setup
	rules "$pub/tcp.smtp.cdb"
	# shellcheck disable=SC2086
	svd_up env TCPLOCALHOST=mx.test.example "$bb" tcpsvd -v 127.0.0.1 PORT \
	    $RUNNER "$ET" -w 2 -d -x "$pub/tcp.smtp.cdb" $RUNNER "$EW" \
	    "$pub/envfake"
	[ -n "$up" ] || return
	rules_run "$svdpid" busybox
	assertTrue "busybox's own variable is there too" \
	    "grep -Eqx 'TCPREMOTEADDR=127\.0\.0\.10:[0-9]+' '$pub/ran/env.127.0.0.10'"
	assertTrue "tcpsvd ran the chain for the early talker" \
	    "grep -q 'tcpsvd: start [0-9]* 127.0.0.1:$port-127.0.0.8:' '$T/log'"
}

# shellcheck source=/dev/null
. shunit2
