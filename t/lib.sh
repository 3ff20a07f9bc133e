# shellcheck shell=sh
# shellcheck disable=SC2317,SC2034
# (shunit2 calls the functions; the suites read the variables set here)
# t/lib.sh: what the suites share, sourced by each t/*.sh before shunit2:
# the settings (ET, EW, PY, RUNNER, SLACK), the one tcpserver starter,
# the client, the shared assertions, skipping, setUp and tearDown (with
# the sanitizer and valgrind check), and the fixtures that a suite's
# oneTimeSetUp or a test makes when it needs them.
#
# Every test talks to the real programs: through pipes for the quick
# contract, through tcpserver on 127.0.0.1 (a free port that tcpserver
# picks and prints) for behaviour on the wire.  The client (t/client.py)
# sends, sleeps, half-closes or resets, and records when bytes arrive.
# The next program is a fake that greets and records its environment and
# every byte it reads.
#
# Environment (./test passes it on):
#   RUNNER       run earlytalker and earlytalker-wrap through this, e.g.
#                RUNNER='valgrind -q --error-exitcode=99' ./test
#   PYTHON3      the Python that runs every client and helper here
#   SHUNIT_COLOR none for plain output
#   UCSPI6       the directory of ucspi-tcp-ipv6's tcpserver and tcprules,
#                for the IPv6 tests; by default the one that sh deps ipv6
#                fills, /var/cache/earlytalker-ucspi6/usr/bin
#   ET_SKIPS     a file that each skipped test adds a line to (./test
#                counts them); none by default
# A sanitizer or valgrind report in any log fails the test that made it.

top=$(cd "$(dirname "$0")/.." && pwd)
ET=$top/earlytalker
EW=$top/earlytalker-wrap
RUNNER=${RUNNER:-}
# time bounds get this much slack when a RUNNER slows the programs down
if [ -n "$RUNNER" ]; then SLACK=3; else SLACK=0; fi
# PY: the Python that runs every client and helper here, found once:
# $PYTHON3 if set, else Debian's /usr/bin/python3 (sh deps test installs
# it), else python3 on PATH.  The timing bounds do not count its start-up
# (a client starts its clock once its socket connects), but a slow one
# (a pyenv shim takes 0.4 s) slows the whole suite: lib_setup says so.
PY=${PYTHON3:-}
[ -n "$PY" ] || { [ -x /usr/bin/python3 ] && PY=/usr/bin/python3; } ||
    PY=$(command -v python3) || PY=python3
LC_ALL=C
export LC_ALL

# --- setting up and tearing down ---

# lib_setup: the start of every suite's oneTimeSetUp: $T, a clean
# environment, the programs and the tools that every suite needs
lib_setup() {
	T=$SHUNIT_TMPDIR
	unset TCPREMOTEIP TCPREMOTEPORT RELAYCLIENT EARLYTALKER EARLYTALKER_WAIT
	for p in "$ET" "$EW"; do
		[ -x "$p" ] || { echo "missing $p: run make" >&2; return 1; }
	done
	for tool in tcpserver "$PY" timeout; do
		command -v "$tool" > /dev/null ||
		    { echo "missing $tool: .ci/run installs it" >&2; return 1; }
	done
	# how long the Python takes to start: said, and warned about if slow
	t0=$(date +%s%N)
	"$PY" -c pass || { echo "$PY does not run" >&2; return 1; }
	ms=$((($(date +%s%N) - t0) / 1000000))
	echo "python: $PY starts in $ms ms"
	[ "$ms" -lt 300 ] || echo "python: $PY is slow to start: the suite" \
	    "will be slow (PYTHON3=/usr/bin/python3 ./test picks another)"
}

# make_fake: $T/fake, the next program: greets, records its environment
# in $T/fake.env and its input in $T/fake.in
make_fake() {
	cat > "$T/fake" <<EOF
#!/bin/sh
printf '220 fake ESMTP\r\n'
env > "$T/fake.env"
exec cat > "$T/fake.in"
EOF
	chmod 755 "$T/fake"
}

setUp() {
	srvpid=
	port=
	SLOTS=
	rm -f "$T/fake.env" "$T/fake.in" "$T/out" "$T/out".* "$T/err" \
	    "$T/log" "$T/times" "$T/expected"
	rm -rf "$T/cache"
	: > "$T/log"
	: > "$T/err"
}

# lib_tearDown: tearDown's work; a suite that has more to undo defines
# its own tearDown, which calls this
lib_tearDown() {
	if [ -n "$srvpid" ]; then
		kill "$srvpid" 2> /dev/null
		wait "$srvpid" 2> /dev/null
	fi
	endSkipping
	if grep -Eq '^==[0-9]+==|AddressSanitizer|LeakSanitizer|runtime error:' \
	    "$T/log" "$T/err" 2> /dev/null; then
		fail "sanitizer or valgrind report: $(cat "$T/log" "$T/err")"
	fi
	return 0
}

tearDown() {
	lib_tearDown
}

# skipping: count this test as skipped (in $ET_SKIPS) and skip its
# remaining assertions; the caller has said why, on a line that begins
# SKIPPED
skipping() {
	[ -z "${ET_SKIPS:-}" ] || echo skipped >> "$ET_SKIPS"
	startSkipping
}

# skip_for TOOL: skip the rest of this test, saying why
skip_for() {
	command -v "$1" > /dev/null 2>&1 && return 1
	echo "SKIPPED: $1 is not installed; .ci/run installs it"
	skipping
	return 0
}

# --- the programs, the server, the client ---

# et ARGS: earlytalker through $RUNNER, stdout to $T/out, stderr to $T/err
et() {
	# shellcheck disable=SC2086
	$RUNNER "$ET" "$@" > "$T/out" 2> "$T/err"
}

# ew ARGS: earlytalker-wrap, the same way
ew() {
	# shellcheck disable=SC2086
	$RUNNER "$EW" "$@" > "$T/out" 2> "$T/err"
}

# waitfor N STEP CMD [ARG ...]: run CMD until it succeeds, at most N + 1
# times, STEP seconds apart (a wait bounded at N * STEP seconds); fails
# when CMD never did.  Its words are expanded once, in the call: a glob
# that names a file yet to come goes in a function
waitfor() {
	wf_n=$1 wf_step=$2
	shift 2
	wf_i=0
	until "$@"; do
		[ "$wf_i" -ge "$wf_n" ] && return 1
		sleep "$wf_step"
		wf_i=$((wf_i + 1))
	done
}

# serve [-6] [-a ADDR] [-p HOW] [-s] [-x CDB] CMD [ARG ...]: stop the
# server that serve started before, if any, then run CMD under tcpserver
# (-v -1 -HR -l localhost -c $SLOTS, 100 if unset) on a port that it
# picks, its log in $T/log; sets $port and $srvpid.  Options:
#   -6       the tcpserver of ucspi-tcp-ipv6 ($UCSPI6), on ::1, with the
#            rules in $T/rules6.cdb (rules6) when $cdb6 is set
#   -a ADDR  on ADDR, not 127.0.0.1
#   -p HOW   tcpserver started through HOW: a command's words that exec
#            the rest (ip netns exec NS) or a function that does
#            (devlog_ns)
#   -s       the log's lines also in $T/tslog, each after its arrival
#            time (monotonic seconds), stamped as they come (t/stamp.py)
#   -x CDB   with the rules in CDB
serve() {
	s_bin=tcpserver s_addr=127.0.0.1 s_how='' s_ts='' s_cdb=''
	OPTIND=1
	while getopts 6a:p:sx: s_o; do
		case $s_o in
		6) s_bin=$UCSPI6/tcpserver s_addr=::1
		   [ -z "${cdb6:-}" ] || s_cdb=$T/rules6.cdb ;;
		a) s_addr=$OPTARG ;;
		p) s_how=$OPTARG ;;
		s) s_ts=1 ;;
		x) s_cdb=$OPTARG ;;
		*) fail "serve: bad option"; return 1 ;;
		esac
	done
	shift $((OPTIND - 1))
	OPTIND=1
	if [ -n "${srvpid:-}" ]; then	# one server at a time
		kill "$srvpid" 2> /dev/null
		wait "$srvpid" 2> /dev/null
	fi
	: > "$T/log"
	: > "$T/port"
	s_log=$T/log
	if [ -n "$s_ts" ]; then
		rm -f "$T/tsfifo" "$T/tsready"
		mkfifo "$T/tsfifo" || fail "mkfifo"
		: > "$T/tslog"
		"$PY" -u "$top/t/stamp.py" "$T/log" "$T/tslog" "$T/tsready" \
		    "$T/tsfifo" &
		# the stamps are true once the stamper reads: wait, bounded
		waitfor 200 0.02 test -e "$T/tsready"
		s_log=$T/tsfifo
	fi
	# shellcheck disable=SC2086
	$s_how timeout 300 "$s_bin" -v -1 -HR -l localhost \
	    -c "${SLOTS:-100}" ${s_cdb:+-x} ${s_cdb:+"$s_cdb"} "$s_addr" 0 "$@" \
	    > "$T/port" 2> "$s_log" &
	srvpid=$!
	waitfor 200 0.02 test -s "$T/port"
	port=$(cat "$T/port")
	[ -n "$port" ] || fail "tcpserver did not start: $(cat "$T/log")"
}

# unserve: stop the tcpserver that serve started, before the next serve
unserve() {
	kill "$srvpid" 2> /dev/null
	wait "$srvpid" 2> /dev/null
	srvpid=
}

# settle: wait (bounded) until every child of tcpserver has ended
settle() {
	i=0
	while [ "$i" -lt $((100 + SLACK * 50)) ]; do
		started=$(grep -c '^tcpserver: pid ' "$T/log")
		ended=$(grep -c '^tcpserver: end ' "$T/log")
		[ "$started" -eq "$ended" ] && return 0
		sleep 0.05
		i=$((i + 1))
	done
	fail "sessions still running: $(cat "$T/log")"
}

# free_port [ADDR]: a TCP port free on ADDR (127.0.0.1 by default, or
# ::1) just now, for tools that cannot pick one themselves; callers
# retry on a collision
free_port() {
	"$PY" -c 'import socket, sys
a = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET)
s.bind((a, 0))
print(s.getsockname()[1])' "${1:-127.0.0.1}"
}

# client OP ...: t/client.py against $port (ops: send:BYTES,
# bulk:N:BYTES, file:F, sleep:S, shut, rst, until:BYTES (received so
# far), untiln:N:BYTES (N times), read (to the end)); bytes to $T/out,
# times to $T/times ("connect S" when its connect() returned, and the
# arrivals: "first S", "eof S", "until S", "reset S"), counted from just
# before it connects, in a Python already started
client() {
	: > "$T/times"
	CLIENT_TIMES=$T/times timeout 60 "$PY" "$top/t/client.py" \
	    "${HOST:-127.0.0.1}" "$port" "$@" > "$T/out"
}

# timeof WHAT: a time the client recorded
timeof() {
	sed -n "s/^$1 //p" "$T/times" | head -n 1
}

# --- the shared assertions ---

# within V LOW HIGH: LOW <= V <= HIGH + SLACK, as decimals
within() {
	awk -v v="$1" -v l="$2" -v h="$3" -v s="$SLACK" \
	    'BEGIN { exit !(v != "" && v + 0 >= l + 0 && v + 0 <= h + s) }'
}

# assertWithin MSG V LOW HIGH
assertWithin() {
	within "$2" "$3" "$4" ||
	    fail "$1: $2 s is not within $3..$4 s (slack $SLACK)"
}

# expect FORMAT [ARG ...]: the bytes printf makes, into $T/expected
expect() {
	fmt=$1
	shift
	# shellcheck disable=SC2059
	printf "$fmt" "$@" > "$T/expected"
}

# assertBytes MSG [FILE]: FILE (default $T/out) holds exactly $T/expected
assertBytes() {
	if ! cmp -s "$T/expected" "${2:-$T/out}"; then
		fail "$1: expected $(od -c "$T/expected" | head -n 8)
got $(od -c "${2:-$T/out}" | head -n 8)"
	fi
}

# assertEnv MSG VAR=VALUE: the fake's environment ($T/fake.env) has the
# variable VAR, once, and its value is VALUE
assertEnv() {
	assertEquals "$1" "$2" "$(grep "^${2%%=*}=" "$T/fake.env")"
}

# logs: our programs' lines from the tcpserver log, pid numbers as x
logs() {
	grep '^earlytalker' "$T/log" | sed 's/ pid [0-9]*:/ pid x:/'
}

# assertLog MSG ERE: one line of logs() matches the whole ERE
assertLog() {
	logs | grep -Eqx -- "$2" || fail "$1: no log line matches $2
log: $(cat "$T/log")"
}

# status: the exit codes tcpserver saw, one per line (it logs the raw
# wait status: code times 256)
status() {
	sed -n 's/^tcpserver: end [0-9]* status //p' "$T/log" |
	    awk '{ print int($1 / 256) }'
}

# usageIs PROG ARGS STATUS WHY: PROG ARGS (through et or ew) exited 100,
# said nothing to the client, and logged "PROG: usage: WHY", then the
# usage line
usageIs() {
	assertEquals "$1 $2: exit" 100 "$3"
	assertEquals "$1 $2: what is wrong" "$1: usage: $4" \
	    "$(sed -n 1p "$T/err")"
	assertEquals "$1 $2: then the usage line" "$1: usage: $1 [" \
	    "$(sed -n 2p "$T/err" | cut -c 1-$((${#1} * 2 + 11)))"
	assertEquals "$1 $2: two lines" 2 "$(wc -l < "$T/err")"
	assertEquals "$1 $2: nothing to the client" 0 "$(wc -c < "$T/out")"
}

# sinkdir: an empty directory for $T/sink's recordings
sinkdir() {
	rm -rf "$T/sink.d"
	mkdir "$T/sink.d"
}

# --- the deployment: the shipped examples, installed, and what they run ---

ETC=$top/etc

# examples: the examples of etc/ as make install installs them, with the
# paths of that install: $EX, their directory, and $EBIN, the programs'
# directory that they name.  With $INSTALLED (a prefix: /usr for the
# Debian package), those of that install; else this tree installed once
# per run with PREFIX=$T/prefix, so that the programs they name are
# there and they run unchanged, as an administrator's copies do
examples() {
	if [ -n "${INSTALLED:-}" ]; then
		EBIN=$INSTALLED/bin
		EX=$INSTALLED/share/doc/earlytalker/examples
	else
		EBIN=$T/prefix/bin
		EX=$T/prefix/share/doc/earlytalker/examples
		[ -x "$EBIN/earlytalker" ] ||
		    make -s -C "$top" install PREFIX="$T/prefix" \
		    > "$T/install.out" 2>&1 ||
		    { fail "make install: $(cat "$T/install.out")"; return 1; }
	fi
	if [ ! -x "$EBIN/earlytalker" ] || [ ! -x "$EBIN/earlytalker-wrap" ] ||
	    [ ! -d "$EX" ]; then
		fail "no programs in $EBIN or no examples in $EX"
		return 1
	fi
	echo "examples: $EX, naming $EBIN"
}

# wrapper_copy SMTPD: the installed xinetd script, copied as README says
# (to /usr/local/sbin: here $pub/sbin/earlytalker-smtpd), its settings
# edited: SMTPD, RULES ($pub/tcp.smtp.cdb), LOCAL (mx.test.example),
# OBSERVE (empty: it enforces); logger writes to the stand-in syslogd;
# $RUNNER before the programs
wrapper_copy() {
	mkdir -p "$pub/sbin"
	sed -e "s|^SMTPD=[^ ]*|SMTPD=$1|" \
	    -e "s|^RULES=[^ ]*|RULES=$pub/tcp.smtp.cdb|" \
	    -e 's|^LOCAL=[^ ]*|LOCAL=mx.test.example|' \
	    -e 's|^OBSERVE=[^ ]*|OBSERVE=|' \
	    -e "s|logger |logger -u $pub/devlog |" \
	    -e "s|\"\$BIN/earlytalker|$RUNNER \"\$BIN/earlytalker|g" \
	    "$EX/xinetd/earlytalker-smtpd" > "$pub/sbin/earlytalker-smtpd"
	chmod 755 "$pub/sbin/earlytalker-smtpd"
	assertTrue "the xinetd script names the installed programs" \
	    "grep -q '^BIN=$EBIN ' '$pub/sbin/earlytalker-smtpd'"
}

# await_up PID CMD [ARG ...]: wait (bounded: 5 s) until CMD says the
# server PID, just started, is up (exit 0: sets $up), or that it never
# will be (exit 2 or more), or PID ends; a PID that is not up is stopped
await_up() {
	aw_pid=$1
	shift
	i=0
	while [ "$i" -lt 100 ]; do
		"$@"
		aw_st=$?
		[ "$aw_st" -eq 0 ] && up=1 && break
		[ "$aw_st" -eq 1 ] || break
		kill -0 "$aw_pid" 2> /dev/null || break
		sleep 0.05
		i=$((i + 1))
	done
	if [ -z "$up" ]; then
		kill "$aw_pid" 2> /dev/null
		wait "$aw_pid" 2> /dev/null
	fi
}

# xinetd_started: 0 once xinetd serves (its log, $T/xinetd.log, says
# so), 2 when it started with no service, 1 before it says either
xinetd_started() {
	grep -q 'Started working: 1 available service' "$T/xinetd.log" &&
	    return 0
	grep -q 'Started working: 0 available' "$T/xinetd.log" && return 2
	return 1
}

# xinetd_setup NAME: what a test of the xinetd example starts from:
# $pub (deploy_setup), the installed examples, the rules, the stand-in
# syslogd, and the xinetd script copied with $pub/NAME as its SMTPD
# (wrapper_copy); 1 when the examples are missing
xinetd_setup() {
	exercised xinetd xinetd
	deploy_setup
	examples || return 1
	rules "$pub/tcp.smtp.cdb"
	syslog_start
	wrapper_copy "$pub/$1"
}

# xinetd_up [HOW ENTRY SERVER]: xinetd in the foreground, started
# through HOW (devlog_ns) unless it is empty, with a private
# configuration: ENTRY (the installed entry by default) edited by the
# sed command SERVER (by default, its server made the copied script,
# $pub/sbin/earlytalker-smtpd), as nobody, on a free port of 127.0.0.1,
# its log in $T/xinetd.log; sets $xipid and $port, and $up once it
# serves (else it fails)
xinetd_up() {
	xi_how=${1:-}
	xi_entry=${2:-$EX/xinetd.d/smtp}
	xi_server=${3:-"s|/usr/local/sbin/earlytalker-smtpd|$pub/sbin/earlytalker-smtpd|"}
	tries=0
	up=
	while [ -z "$up" ] && [ "$tries" -lt 3 ]; do
		tries=$((tries + 1))
		port=$(free_port 127.0.0.1)
		{
			printf 'defaults\n{\n\tlog_type = FILE %s\n}\n' \
			    "$T/xinetd.log"
			sed -e "$xi_server" \
			    -e 's/= qmaild$/= nobody/' -e 's/= nofiles$/= nogroup/' \
			    -e "/^{\$/a\\
	type		= UNLISTED\\
	port		= $port\\
	bind		= 127.0.0.1" "$xi_entry"
		} > "$T/xinetd.conf"
		: > "$T/xinetd.log"
		# shellcheck disable=SC2086
		$xi_how timeout 120 xinetd -dontfork -f "$T/xinetd.conf" \
		    -filelog "$T/xinetd.log" -pidfile "$T/xinetd.pid" \
		    > "$T/xinetd.out" 2>&1 &
		xipid=$!
		await_up "$xipid" xinetd_started
	done
	[ -n "$up" ] ||
	    fail "xinetd did not start: $(cat "$T/xinetd.log" "$T/xinetd.out")"
}

# unit_copy SMTPD: the installed systemd units, copied to $T/units as
# README says (to /etc/systemd/system), their settings edited: SMTPD,
# the rules ($pub/tcp.smtp.cdb), TCPLOCALHOST (mx.test.example), OBSERVE
# (empty: it enforces), the user and group (daemon)
unit_copy() {
	rm -rf "$T/units"
	mkdir -p "$T/units"
	for f in earlytalker-smtp.socket earlytalker-smtp@.service; do
		sed -e "s|^Environment=SMTPD=.*|Environment=SMTPD=$1|" \
		    -e 's|^Environment=TCPLOCALHOST=.*|Environment=TCPLOCALHOST=mx.test.example|' \
		    -e 's|^Environment=OBSERVE=.*|Environment=OBSERVE=|' \
		    -e "s|/etc/tcp.smtp.cdb|$pub/tcp.smtp.cdb|" \
		    -e 's/=qmaild$/=daemon/' -e 's/=nofiles$/=daemon/' \
		    "$EX/systemd/$f" > "$T/units/$f"
	done
	assertTrue "the systemd service names the installed programs" \
	    "grep -q '^ExecStart=$EBIN/earlytalker ' '$T/units/earlytalker-smtp@.service'"
}

# unit_exec: the copied service's command as systemd runs it: env with
# its Environment= settings, then its ExecStart, each ${NAME} replaced
# by that setting, each $NAME by its words (none if it is empty), with
# $RUNNER before the programs
unit_exec() {
	awk '/^Environment=/ {
		a = substr($0, 13); n = index(a, "=")
		v[substr(a, 1, n - 1)] = substr(a, n + 1)
		if (v[substr(a, 1, n - 1)] != "")
			e = e " " a
	}
	/^ExecStart=/ { c = substr($0, 11) }
	END {
		for (k in v) {
			gsub("\\$\\{" k "\\}", v[k], c)
			gsub("\\$" k " ", v[k] == "" ? "" : v[k] " ", c)
		}
		print "env" e " " c
	}' "$T/units/earlytalker-smtp@.service" |
	    sed "s|$EBIN/earlytalker|$RUNNER $EBIN/earlytalker|g"
}

# socket_activate ADDR CMD [ARG ...]: systemd-socket-activate --inetd on
# a free port of ADDR (127.0.0.1, ::1), running CMD for each connection,
# as systemd runs a service for a socket with Accept=yes; its stderr
# (and the chain's log) in $T/log; sets $sapid and $port, and returns 0
# once it listens; else fails (three tries: a free port may be taken
# before it binds)
socket_activate() {
	sa_addr=$1
	shift
	tries=0
	up=
	while [ -z "$up" ] && [ "$tries" -lt 3 ]; do
		tries=$((tries + 1))
		port=$(free_port "$sa_addr")
		case $sa_addr in
		*:*) sa_listen="[$sa_addr]:$port" ;;
		*) sa_listen="$sa_addr:$port" ;;
		esac
		: > "$T/log"
		timeout 120 systemd-socket-activate --inetd -a \
		    -l "$sa_listen" "$@" 2> "$T/log" &
		sapid=$!
		await_up "$sapid" grep -q '^Listening on' "$T/log"
	done
	[ -n "$up" ] && return 0
	fail "$sa_addr: systemd-socket-activate did not start: $(cat "$T/log")"
	return 1
}

# exercised TOOL PACKAGE: say in the test log which tool ran, and its version
exercised() {
	echo "exercised: $1 $(dpkg-query -W -f='${Version}' "$2" 2> /dev/null)"
}

# deploy_setup: $pub, a directory that the unprivileged user nobody can
# read ($T and its parent are made 0711), with copies of the programs in $pub/bin,
# a fake next program $pub/envfake, and a real SMTP server $pub/smtpd:
# mailfront's smtpfront-qmail, whose qmail-queue keeps each message, its
# envelope first, as $pub/queue/msg.N.  $pub/smtpd notes in $pub/ran/ each
# time it runs, with its uid, gid and $TCPREMOTEIP.
deploy_setup() {
	chmod 711 "$T" "$(dirname "$T")"
	pub=$T/pub
	rm -rf "$pub"
	mkdir -p "$pub/bin" "$pub/qmail/control" "$pub/queue" "$pub/ran"
	chmod 1777 "$pub/queue" "$pub/ran"
	cp "$ET" "$EW" "$pub/bin/"
	echo example.org > "$pub/qmail/control/rcpthosts"
	cat > "$pub/qmail/queue" <<EOF
#!/bin/sh
# qmail-queue: the message on fd 0, then the envelope on fd 1
t=$pub/queue/tmp.\$\$
cat > "\$t.body" && tr '\\000' '\\n' <&1 > "\$t" &&
    cat "\$t.body" >> "\$t" && rm -f "\$t.body" &&
    mv "\$t" "$pub/queue/msg.\$\$"
EOF
	cat > "$pub/smtpd" <<EOF
#!/bin/sh
echo "\$(id -u):\$(id -g) \${TCPREMOTEIP:-none}" > "$pub/ran/\$\$"
exec env QMAILHOME="$pub/qmail" QMAILQUEUE="$pub/qmail/queue" smtpfront-qmail
EOF
	cat > "$pub/envfake" <<EOF
#!/bin/sh
printf '220 fake ESMTP\\r\\n'
env > "$pub/ran/env.\$TCPREMOTEIP"
exec cat > /dev/null
EOF
	chmod 755 "$pub" "$pub/qmail/queue" "$pub/smtpd" "$pub/envfake"
}

# rules CDB: CDB built by tcprules from the shipped etc/tcp.smtp, its
# example addresses moved to loopback ones: the trusted net 10.0.0. to
# 127.0.1., the exempt host 192.0.2.25 to 127.0.0.25, the slow range
# 198.51.100. to 127.0.2., the marked host 203.0.113.9 to 127.0.0.9
rules() {
	sed -e 's/^10\.0\.0\.:/127.0.1.:/' -e 's/^192\.0\.2\.25:/127.0.0.25:/' \
	    -e 's/^198\.51\.100\.:/127.0.2.:/' -e 's/^203\.0\.113\.9:/127.0.0.9:/' \
	    "$ETC/tcp.smtp" > "$1.txt"
	grep -Eq '^(10\.0\.0\.|192\.0\.2\.|198\.51\.100\.|203\.0\.113\.)' "$1.txt" &&
	    fail "etc/tcp.smtp: an example address was not moved to loopback"
	tcprules "$1" "$1.tmp" < "$1.txt" ||
	    fail "tcprules refused etc/tcp.smtp"
	chmod 644 "$1"
}

# tclient SRC NAME OP ...: the client from the loopback address SRC to
# 127.0.0.1 $port; bytes into $T/NAME.out, times into $T/NAME.times,
# counted from the moment its socket connects.  The client connects
# itself, once Python has started: a client that a tcpclient started
# after connecting would send late when Python is slow to start, and a
# bot's early bytes would then come after the wait
tclient() {
	src=$1
	name=$2
	shift 2
	: > "$T/$name.times"
	CLIENT_SOURCE=$src CLIENT_TIMES=$T/$name.times \
	    timeout 60 "$PY" "$top/t/client.py" 127.0.0.1 "$port" "$@" \
	    > "$T/$name.out"
}

# ntimeof NAME WHAT: a time that the client NAME recorded
ntimeof() {
	sed -n "s/^$2 //p" "$T/$1.times" | head -n 1
}

# rules_clients bot|direct: one client per control of the rules (rules),
# all at once, each from its own loopback address (tcpclient -i) to
# 127.0.0.1 $port: trusted, exempt, slow, marked, early, quiet.  The
# marked and the early host are bots (bot), or, direct, the marked one
# waits for a line and says QUIT and the early one says EHLO at once
rules_clients() {
	tclient 127.0.1.7 trusted send:'EHLO x\r\n' until:'220 ' shut read &
	r1=$!
	tclient 127.0.0.25 exempt send:'EHLO x\r\n' until:'220 ' shut read &
	r2=$!
	tclient 127.0.2.9 slow until:'220 ' shut read &
	r3=$!
	if [ "$1" = bot ]; then
		bot tclient 127.0.0.9 marked &
		r4=$!
		bot tclient 127.0.0.8 early &
		r5=$!
	else
		tclient 127.0.0.9 marked until:'\n' send:'QUIT\r\n' read &
		r4=$!
		tclient 127.0.0.8 early send:'EHLO x\r\n' shut read &
		r5=$!
	fi
	tclient 127.0.0.10 quiet until:'220 ' shut read &
	r6=$!
	wait "$r1" "$r2" "$r3" "$r4" "$r5" "$r6"
}

# marked_host NAME RCPT: tclient from 127.0.0.9 (named marked): HELO
# NAME, MAIL FROM:<m@client.example>, RCPT TO:<RCPT> (refused, 5.7.1),
# QUIT, each once the reply before it has come
marked_host() {
	tclient 127.0.0.9 marked until:'220 ' send:"HELO $1\\r\\n" \
	    until:'250 ' send:'MAIL FROM:<m@client.example>\r\n' \
	    until:' 2.1.0 ' send:"RCPT TO:<$2>\\r\\n" \
	    until:' 5.7.1 ' send:'QUIT\r\n' read
}

# hasty BYTES: tclient from 127.0.0.13 (named hasty), a bot that waits
# for the greeting and the reply to its EHLO, then sends BYTES at once
hasty() {
	tclient 127.0.0.13 hasty until:'220 ' send:'EHLO h.example\r\n' \
	    until:'250 ' send:"$1" read
}

# mailer RCPT SUBJECT CMD [ARG ...]: CMD (client, or tclient SRC NAME)
# with the ops of a polite client, which waits for each reply and sends
# one message to RCPT
mailer() {
	rcpt=$1
	subj=$2
	shift 2
	"$@" until:'220 ' send:'EHLO polite.example\r\n' until:'250 ' \
	    send:'MAIL FROM:<polite@client.example>\r\n' until:' 2.1.0 ' \
	    send:"RCPT TO:<$rcpt>\\r\\n" until:' 2.1.5 ' send:'DATA\r\n' \
	    until:'354 ' \
	    send:"Subject: $subj\\r\\n\\r\\nHello from $subj.\\r\\n.\\r\\n" \
	    until:' 2.6.0 ' send:'QUIT\r\n' read
}

# bot CMD [ARG ...]: CMD with the ops of a bot, which sends its whole
# session before the greeting
bot() {
	"$@" send:'EHLO bot.example\r\nMAIL FROM:<bot@spam.example>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\nSubject: spam\r\n\r\nspam\r\n.\r\nQUIT\r\n' \
	    read
}

# queued RCPT: the number of messages queued for RCPT
queued() {
	grep -lx "T$1" "$pub"/queue/msg.* 2> /dev/null | wc -l
}

# assertQueued MSG RCPT SUBJECT: one message for RCPT, with its text intact
assertQueued() {
	assertEquals "$1: queued once" 1 "$(queued "$2")"
	f=$(grep -lx "T$2" "$pub"/queue/msg.* 2> /dev/null | head -n 1)
	if [ -z "$f" ] || ! grep -qx "Subject: $3" "$f" ||
	    ! grep -qx "Hello from $3." "$f"; then
		fail "$1: the message text did not arrive: $(cat "$f" 2> /dev/null)"
	fi
}

# swaks_send OPT DOMAIN: swaks, with its option OPT (none, or
# --pipeline), sends a message to swaksOPT@DOMAIN through 127.0.0.1
# $port, its dialogue in $T/swaksOPT.out; it exits 0
swaks_send() {
	# shellcheck disable=SC2086
	timeout 60 swaks $1 --server 127.0.0.1 --port "$port" \
	    --helo swaks.example --from swaks@client.example \
	    --to "swaks$1@$2" --header "Subject: swaks$1" \
	    --body "Hello from swaks$1." > "$T/swaks$1.out" 2>&1
	assertEquals "swaks $1: exit" 0 $?
}

# assertRefused550 MSG FILE: a client's dialogue, FILE, has the
# responder's refusal of an early talker
assertRefused550() {
	grep -q '^550 5\.7\.1 Connecting host started transmitting before SMTP greeting' \
	    "$2" || fail "$1: $(cat "$2")"
}

# syslog_start: a stand-in for syslogd on $pub/devlog (logger -u), which
# writes each message to $T/syslog as a syslog daemon writes its files:
# "Mmm dd hh:mm:ss HOST TAG: TEXT"; sets $slpid
syslog_start() {
	: > "$T/syslog"
	: > "$T/syslogd.out"
	rm -f "$pub/devlog"
	timeout 300 "$PY" "$top/t/syslogd.py" "$pub/devlog" "$T/syslog" \
	    > "$T/syslogd.out" &
	slpid=$!
	waitfor 600 0.05 test -s "$T/syslogd.out" ||
	    fail "the stand-in syslogd did not start"
}

# xinetd_down: stop xinetd and the stand-in syslogd (xinetd_up,
# syslog_start)
xinetd_down() {
	kill "$xipid" "$slpid" 2> /dev/null
	wait "$xipid" "$slpid" 2> /dev/null
}

# fail2ban_logs: $T/all.log in multilog's form, in $T/ml/current, and in
# syslog's, in $T/syslog (through logger and the stand-in syslogd, left
# running: $slpid); waits (bounded) until every line has arrived
fail2ban_logs() {
	rm -rf "$T/ml"
	multilog t "$T/ml" < "$T/all.log"
	syslog_start
	logger --socket-errors=on -u "$pub/devlog" -t earlytalker \
	    < "$T/all.log" ||
	    fail "logger could not write to the stand-in syslogd"
	i=0
	while [ "$(wc -l < "$T/syslog")" -lt "$(wc -l < "$T/all.log")" ] &&
	    [ "$i" -lt 600 ]; do
		sleep 0.05
		i=$((i + 1))
	done
}

# fail2ban_match FORM: the shipped fail2ban filter over the log in FORM
# (multilog, syslog: see fail2ban_logs): the lines it matches, without
# their stamps, are exactly $T/want (else it fails); what it printed in
# $T/f2b.FORM, the addresses it found in $T/ips, sorted, one a line
fail2ban_match() {
	case $1 in
	multilog) f=$T/ml/current strip="s/^@[0-9a-f]* //" ;;
	syslog) f=$T/syslog strip="s/^.* mx earlytalker: //" ;;
	esac
	filter=$ETC/fail2ban/filter.d/earlytalker.conf
	fail2ban-regex -o msg "$f" "${filter}[logform=$1]" \
	    > "$T/f2b.$1" 2>&1 ||
	    fail "$1: fail2ban-regex: $(cat "$T/f2b.$1")"
	sed "$strip" "$T/f2b.$1" | sort > "$T/got"
	cmp -s "$T/want" "$T/got" ||
	    fail "$1: matched lines differ: $(diff "$T/want" "$T/got")"
	fail2ban-regex -o ip "$f" "${filter}[logform=$1]" |
	    sort -u > "$T/ips"
}

# --- the real servers as next programs ---

# rig, rig_reset, ..., and the older qmail_build, qqreset, delivered,
# qmessage, unstuff, tap_setup: in t/servers.sh, the servers' rigs
# shellcheck source=t/servers.sh
. "$top/t/servers.sh"

# replies SERVER: the replies of SERVER (qsmtpd, mfront, postfix, exim,
# qpsmtpd; Postfix's and Exim's after snorm), as printf
# formats: $greet $ehlo $mailok $rcptok $go (354) $queued (after norm)
# $bye; and, for the client's until:, each reply as it ends the bytes
# received so far: $u_greet $u_ehlo $u_mail (after EHLO) $u_rcpt $u_go
# $u_queued
replies() {
	case $1 in
	qsmtpd)
		greet='220 mx.example.net ESMTP\r\n'
		ehlo='250-mx.example.net\r\n250-PIPELINING\r\n250 8BITMIME\r\n'
		mailok='250 ok\r\n'
		rcptok='250 ok\r\n'
		go='354 go ahead\r\n'
		queued='250 ok T qp P\r\n'
		bye='221 mx.example.net\r\n'
		u_greet=$greet
		u_ehlo='250 8BITMIME\r\n'
		u_mail='250 8BITMIME\r\n250 ok\r\n'
		u_rcpt='250 8BITMIME\r\n250 ok\r\n250 ok\r\n'
		u_go=$go
		u_queued=' qp '
		;;
	mfront)
		greet='220 localhost mailfront ESMTP\r\n'
		ehlo='250-localhost\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 PIPELINING\r\n'
		mailok='250 2.1.0 Sender accepted.\r\n'
		rcptok='250 2.1.5 Recipient accepted.\r\n'
		go='354 End your message with a period on a line by itself.\r\n'
		queued='250 2.6.0 Message accepted.\r\n'
		bye='221 2.0.0 Good bye.\r\n'
		u_greet=$greet
		u_ehlo='250 PIPELINING\r\n'
		u_mail='Sender accepted.\r\n'
		u_rcpt='Recipient accepted.\r\n'
		u_go=$go
		u_queued='Message accepted.\r\n'
		;;
	postfix)
		greet='220 mx.example.net ESMTP\r\n'
		ehlo='250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n'
		mailok='250 2.1.0 Ok\r\n'
		rcptok='250 2.1.5 Ok\r\n'
		go='354 End data with <CR><LF>.<CR><LF>\r\n'
		queued='250 2.0.0 Ok: queued as Q\r\n'
		bye='221 2.0.0 Bye\r\n'
		u_greet=$greet
		u_ehlo='250 CHUNKING\r\n'
		u_mail=$mailok
		u_rcpt=$rcptok
		u_go=$go
		u_queued=' queued as '
		;;
	exim)
		greet='220 mx.example.net ESMTP Exim 4.96 D\r\n'
		ehlo='250-mx.example.net Hello H\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n250-PIPELINING\r\n250-PIPECONNECT\r\n250-CHUNKING\r\n250-SMTPUTF8\r\n250 HELP\r\n'
		mailok='250 OK\r\n'
		rcptok='250 Accepted\r\n'
		go='354 Enter message, ending with "." on a line by itself\r\n'
		queued='250 OK id=Q\r\n'
		bye='221 mx.example.net closing connection\r\n'
		u_greet=' +0000\r\n'
		u_ehlo='250 HELP\r\n'
		u_mail=$mailok
		u_rcpt=$rcptok
		u_go=$go
		u_queued='250 OK id='
		;;
	qpsmtpd)
		greet='220 mx.example.net ESMTP qpsmtpd 0.94 ready; send us your mail, but not your spam.\r\n'
		ehlo='250-mx.example.net Hi [127.0.0.1] [127.0.0.1]\r\n250-PIPELINING\r\n250 8BITMIME\r\n'
		mailok='250 <a@example.org>, sender OK - how exciting to get mail from you!\r\n'
		rcptok='250 <b@example.net>, recipient ok\r\n'
		go='354 go ahead\r\n'
		queued='250 Queued! \r\n'
		bye='221 mx.example.net closing connection. Have a wonderful day.\r\n'
		u_greet=$greet
		u_ehlo='250 8BITMIME\r\n'
		u_mail=$mailok
		u_rcpt=$rcptok
		u_go=$go
		u_queued=$queued
		;;
	esac
}

# reap: end, by pid, every session that tcpserver started and that has
# not ended, and its children (a relay that deadlocked would otherwise
# stay for its 20-minute idle timeout)
reap() {
	sed -n 's/^tcpserver: pid \([0-9]*\) .*/\1/p' "$T/log" |
	    while read -r p; do
		grep -q "^tcpserver: end $p " "$T/log" && continue
		for c in $(pgrep -P "$p"); do
			for g in $(pgrep -P "$c"); do
				kill -KILL "$g" 2> /dev/null
			done
			kill -KILL "$c" 2> /dev/null
		done
		kill -KILL "$p" 2> /dev/null
	done
}

# done_session: settle, then reap what did not
done_session() {
	settle
	reap
}

# --- a session's life, measured by the server side (serve -s) ---

# ends N: wait (bounded) until N sessions have ended in $T/tslog, then
# settle
ends() {
	i=0
	while [ "$(grep -c ' tcpserver: end ' "$T/tslog")" -lt "$1" ] &&
	    [ "$i" -lt $((100 + SLACK * 50)) ]; do
		sleep 0.05
		i=$((i + 1))
	done
	settle
}

# lives: each ended session's life in seconds, from tcpserver's "pid"
# line (the accept) to its "end" line (the reap), one per line, sorted
lives() {
	awk '$2 == "tcpserver:" && $3 == "pid" { s[$4] = $1 }
	    $2 == "tcpserver:" && $3 == "end" && ($4 in s) {
		printf "%.3f\n", $1 - s[$4] }' "$T/tslog" | sort -n
}

# hi S: the bound S, plus 1.5 s for a sanitizer build, whose start-up
# and exit take time of their own
XS=0
if grep -q __asan_init "$ET" 2> /dev/null; then XS=1.5; fi

hi() {
	awk -v a="$1" -v b="$XS" 'BEGIN { print a + b }'
}

# REFUSAL: earlytalker's reply to an early talker
REFUSAL='554 5.5.1 Connecting host started transmitting before SMTP greeting\r\n'
