#!/bin/sh
# shellcheck disable=SC2317 # shunit2 calls the functions
# t/deploy.sh: the deployment: the configurations shipped in etc/, each run by
# the real program from Debian's packages (sh deps test installs them):
# tcprules, daemontools (run, log/run, multilog), xinetd, systemd, the
# chain in front of mailfront, real clients, fail2ban; and make install
# and uninstall.  A test copies a shipped file and rewrites only its
# paths, ports, users and example addresses (to loopback ones), so that a
# broken shipped file fails a test.  Each test prints "exercised: TOOL
# VERSION"; a missing tool skips the test with a SKIPPED line, which CI
# counts as a failure.  With $INSTALLED (a prefix: /usr for the Debian
# package), the examples and programs of that install (see examples).
#
# Alone: ./test t/deploy.sh, or sh t/deploy.sh [-- testName ...]

# shellcheck source=t/lib.sh
. "$(dirname "$0")/lib.sh"

oneTimeSetUp() {
	lib_setup || return 1
	make_fake
}

testDeployTcprules() {
	skip_for tcprules && return
	exercised tcprules ucspi-tcp
	deploy_setup
	rules "$pub/tcp.smtp.cdb"
	# shellcheck disable=SC2086
	serve -x "$pub/tcp.smtp.cdb" $RUNNER "$ET" -v -w 2 "$pub/envfake"
	# one client per control, all at once: the slow range takes 5 s
	rules_clients direct
	settle

	expect '220 fake ESMTP\r\n'
	assertBytes "trusted net: no check" "$T/trusted.out"
	assertWithin "trusted net: no wait" "$(ntimeof trusted first)" 0 1.0
	assertTrue "trusted net: RELAYCLIENT set" \
	    "grep -qx 'RELAYCLIENT=' '$pub/ran/env.127.0.1.7'"
	assertLog "trusted net" 'earlytalker: 127\.0\.1\.7 pid x: skip: relayclient'

	assertBytes "exempt host: no check" "$T/exempt.out"
	assertWithin "exempt host: no wait" "$(ntimeof exempt first)" 0 1.0
	assertLog "exempt host" 'earlytalker: 127\.0\.0\.25 pid x: skip: exempt'

	assertBytes "slow range: greeted" "$T/slow.out"
	assertWithin "slow range: EARLYTALKER_WAIT=5" \
	    "$(ntimeof slow first)" 5.0 5.6
	assertLog "slow range" 'earlytalker: 127\.0\.2\.9 pid x: pass after 5\.[0-9]{3} s'

	expect '554 5.7.1 Go away\r\n221 2.0.0 Bye\r\n'
	assertBytes "marked host: refused" "$T/marked.out"
	assertWithin "marked host: no wait" "$(ntimeof marked first)" 0 1.0
	assertLog "marked host" 'earlytalker: 127\.0\.0\.9 pid x: marked: reject 554'

	assertEquals "anyone else, early: refused" \
	    "554 5.5.1 Connecting host started transmitting before SMTP greeting" \
	    "$(head -n 1 "$T/early.out" | tr -d '\r')"
	assertLog "anyone else, early" \
	    'earlytalker: 127\.0\.0\.8 pid x: early: 8 bytes after 0\.[0-9]{3} s: "EHLO x\\r\\n" smtp: reject 554'
	expect '220 fake ESMTP\r\n'
	assertBytes "anyone else, quiet: greeted" "$T/quiet.out"
	assertWithin "anyone else, quiet: the -w wait" \
	    "$(ntimeof quiet first)" 2.0 2.6
	assertLog "anyone else, quiet" 'earlytalker: 127\.0\.0\.10 pid x: pass after 2\.[0-9]{3} s'
}

# ts: the TAI64N stamp that multilog t puts in front of each line
TS='@4000[0-9a-f]{20}'

testDeployDaemontools() {
	for tool in svscan supervise svc svok multilog setuidgid tai64nlocal \
	    tcprules smtpfront-qmail nc; do
		skip_for "$tool" && return
	done
	exercised daemontools daemontools
	deploy_setup
	examples || return
	rules "$pub/tcp.smtp.cdb"
	# README, "Installing, step by step", step 3: the installed service
	# and its log copied outside the scanned directory, then linked in
	cp -R "$EX/daemontools" "$pub/sv"
	mkdir "$pub/sv/log/main" "$pub/sv/log/early"
	chown nobody "$pub/sv/log/main" "$pub/sv/log/early"
	sed 's/setuidgid qmaill /setuidgid nobody /' \
	    "$EX/daemontools/log/run" > "$pub/sv/log/run"
	chmod 755 "$pub/sv/log/run"
	rm "$pub/sv/run"	# never as shipped (port 25): the loop below
				# writes it with our settings
	mkdir -p "$pub/service"
	svc=$pub/service/smtpd
	ln -s "$pub/sv" "$svc"
	timeout --foreground 200 svscan "$pub/service" > "$T/svscan.out" 2>&1 &
	svpid=$!
	# the run script as installed, with our settings (not BIN: the
	# installed programs), user, address and a free port; supervise runs
	# it again after a failed bind, with a new port
	tries=0
	up=
	while [ -z "$up" ] && [ "$tries" -lt 3 ]; do
		tries=$((tries + 1))
		port=$(free_port 127.0.0.1)
		sed -e "s|^SMTPD=[^ ]*|SMTPD=$pub/smtpd|" \
		    -e "s|^RULES=[^ ]*|RULES=$pub/tcp.smtp.cdb|" \
		    -e 's|^SMTPUSER=[^ ]*|SMTPUSER=nobody|' \
		    -e 's|^IP=[^ ]*|IP=127.0.0.1|' \
		    -e "s|^PORT=[^ ]*|PORT=$port|" \
		    -e 's|^OBSERVE=[^ ]*|OBSERVE=|' \
		    -e "s|\"\$BIN/earlytalker|$RUNNER \"\$BIN/earlytalker|g" \
		    "$EX/daemontools/run" > "$svc/run.new"
		chmod 755 "$svc/run.new"
		mv "$svc/run.new" "$svc/run"
		i=0
		while [ "$i" -lt 100 ]; do
			if grep -q "tcpserver: status: 0/200\$" \
			    "$svc/log/main/current" 2> /dev/null; then
				up=1
				break
			fi
			grep -q "tcpserver: fatal: unable to bind" \
			    "$svc/log/main/current" 2> /dev/null && break
			sleep 0.1
			i=$((i + 1))
		done
		[ -z "$up" ] && : > "$svc/log/main/current"
	done
	assertTrue "run: the installed programs" \
	    "grep -q '^BIN=$EBIN ' '$svc/run'"
	if [ -z "$up" ]; then
		fail "the service did not start: $(cat "$T/svscan.out" \
		    "$svc/log/main/current" 2> /dev/null)"
	else
		assertEquals "run: no production path left" "" "$(grep -v '^#' \
		    "$svc/run" | grep -E '/usr/local|/var/qmail|qmaild|^PORT=25')"
		mailer daemontools@example.org daemontools \
		    tclient 127.0.0.8 polite &
		p1=$!
		bot tclient 127.0.0.11 bot &
		p2=$!
		marked_host marked.example daemontools@example.org &
		p3=$!
		wait "$p1" "$p2" "$p3"
		# README's test line, from an address that the rules do not
		# trust: the early EHLO marks the client, the responder
		# answers it, and lets it go when it says nothing more
		t0=$(date +%s%N)
		printf 'EHLO x\r\n' | timeout 70 nc -s 127.0.0.12 127.0.0.1 \
		    "$port" > "$T/nc.out"
		ncs=$(awk -v a="$t0" -v b="$(date +%s%N)" \
		    'BEGIN { printf "%.3f\n", (b - a) / 1e9 }')
		echo "README's nc line: done in $ncs s"
		sleep 0.3
	fi

	# stop cleanly: svscan, then the service, then its log, with svc
	kill "$svpid"
	wait "$svpid" 2> /dev/null
	svc -dx "$svc"
	i=0
	while svok "$svc" && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	svc -dx "$svc/log"
	i=0
	while svok "$svc/log" && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	assertFalse "svc -dx stopped the service" "svok '$svc'"
	assertFalse "svc -dx stopped its log" "svok '$svc/log'"
	[ -n "$up" ] || return

	assertQueued "the polite client's message" daemontools@example.org \
	    daemontools
	assertEquals "the server ran once, as nobody (-u, -g)" \
	    "65534:65534 127.0.0.8" "$(cat "$pub"/ran/*)"
	assertRefused550 "the bot's RCPT" "$T/bot.out"
	grep -q '^550 5\.7\.1 Go away' "$T/marked.out" ||
	    fail "the marked host's RCPT: $(cat "$T/marked.out")"
	expect '%s\r\n' '220 mail.example.org ESMTP' '250-mail.example.org' \
	    '250-PIPELINING' '250 8BITMIME' \
	    '421 4.7.0 mail.example.org closing connection'
	assertBytes "README's nc line: answered, then let go" "$T/nc.out"
	assertWithin "README's nc line: done within about a second" "$ncs" \
	    0.5 "$(hi 1.0)"

	main=$svc/log/main/current
	for re in "tcpserver: status: 0/200" \
	    "tcpserver: ok [0-9]+ mail\\.example\\.org:127\\.0\\.0\\.1:$port :127\\.0\\.0\\.8::[0-9]+" \
	    'earlytalker: 127\.0\.0\.11 pid [0-9]+: early: 116 bytes after 0\.[0-9]{3} s: "EHLO bot\.example\\r\\nMAIL FROM:.*" smtp: mark' \
	    'earlytalker-wrap: 127\.0\.0\.11 pid [0-9]+: reject: helo=<bot\.example> from=<bot@spam\.example> to=<victim@example\.org>: 550 5\.7\.1' \
	    'earlytalker: 127\.0\.0\.9 pid [0-9]+: marked: mark' \
	    'earlytalker: 127\.0\.0\.12 pid [0-9]+: early: 8 bytes after 0\.[0-9]{3} s: "EHLO x\\r\\n" smtp: mark' \
	    'earlytalker-wrap: 127\.0\.0\.9 pid [0-9]+: reject: helo=<marked\.example> from=<m@client\.example> to=<daemontools@example\.org>: 550 5\.7\.1'; do
		grep -Eqx "$TS $re" "$main" ||
		    fail "log/main: no line matches $TS $re
$(cat "$main")"
	done
	assertEquals "every line in log/main has its TAI64N stamp" 0 \
	    "$(grep -Evc "^$TS " "$main")"
	assertEquals "log/early: the refusals alone" 5 \
	    "$(grep -Ec "^$TS earlytalker(-wrap)?: 127\\.0\\.0\\.(11|9|12) pid [0-9]+: (early|marked|reject):" \
	    "$svc/log/early/current")"
	assertEquals "log/early: nothing else" 5 \
	    "$(wc -l < "$svc/log/early/current")"
	tai64nlocal < "$main" | head -n 1 |
	    grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+ ' ||
	    fail "tai64nlocal did not read the stamps"
}

# SYSLOG: the start of a line in $T/syslog, up to the tag
SYSLOG='[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} mx earlytalker:'

testDeployXinetd() {
	for tool in xinetd logger smtpfront-qmail; do
		skip_for "$tool" && return
	done
	xinetd_setup smtpd || return
	xinetd_up
	if [ -n "$up" ]; then
		assertEquals "no production path left" "" "$(cat \
		    "$T/xinetd.conf" "$pub/sbin/earlytalker-smtpd" | grep -v '^#' |
		    grep -E '/usr/local|/var/qmail|qmaild|/etc/tcp')"
		bot tclient 127.0.0.11 bot &
		p1=$!
		mailer xinetd@example.org xinetd tclient 127.0.0.8 polite
		wait "$p1"
		sleep 0.3
	fi
	xinetd_down
	[ -n "$up" ] || return

	assertRefused550 "the early talker" "$T/bot.out"
	assertQueued "the polite client's message" xinetd@example.org xinetd
	assertFalse "no log line reached a client" \
	    "grep -Eq 'earlytalker|mailfront\\[' '$T/bot.out' '$T/polite.out'"
	assertEquals "the server ran once, as nobody, with \$TCPREMOTEIP" \
	    "65534:65534 127.0.0.8" "$(cat "$pub"/ran/*)"
	# xinetd sets no TCPREMOTEIP: earlytalker takes it from getpeername()
	assertSyslog 'earlytalker: 127\.0\.0\.11 pid [0-9]+: early: 116 bytes after 0\.[0-9]{3} s: ".*" smtp: mark' \
	    'earlytalker-wrap: 127\.0\.0\.11 pid [0-9]+: reject: helo=<bot\.example> from=<bot@spam\.example> to=<victim@example\.org>: 550 5\.7\.1'
	assertTrue "xinetd logged the session" \
	    "grep -q 'START: smtp pid=[0-9]* from=127.0.0.11' '$T/xinetd.log'"
}

# assertSyslog ERE ...: each ERE matches a whole line of $T/syslog,
# after its stamp and host ($SYSLOG)
assertSyslog() {
	for re; do
		grep -Eqx "$SYSLOG $re" "$T/syslog" ||
		    fail "syslog: no line matches $re
$(cat "$T/syslog")"
	done
}

# devlog_ns CMD [ARG ...] &: CMD in a mount namespace of its own, whose
# /dev is a tmpfs with null, zero, random, urandom and log, a link to
# the stand-in syslogd's socket (syslog_start): syslog(3) writes to
# /dev/log, and reaches it.  Root only; nothing of it shows outside.
# It execs: run it in the background, and $! is CMD's pid
devlog_ns() {
	# shellcheck disable=SC2016
	exec unshare -m --propagation private sh -c 'mount -t tmpfs -o mode=755 \
	    etdev /dev && mknod -m 666 /dev/null c 1 3 &&
	    mknod -m 666 /dev/zero c 1 5 && mknod -m 666 /dev/random c 1 8 &&
	    mknod -m 666 /dev/urandom c 1 9 && ln -s /proc/self/fd /dev/fd &&
	    ln -s "$1" /dev/log && shift && exec "$@"' sh "$pub/devlog" "$@"
}

# skip_unless_root WHY: skip the rest of this test unless we are root
skip_unless_root() {
	[ "$(id -u)" -ne 0 ] || return 1
	echo "SKIPPED: $1 needs root; .ci/run is root"
	skipping
	return 0
}

testDeployXinetdDirect() {
	for tool in xinetd unshare smtpfront-qmail fail2ban-regex; do
		skip_for "$tool" && return
	done
	skip_unless_root testDeployXinetdDirect && return
	exercised xinetd xinetd
	deploy_setup
	rules "$pub/tcp.smtp.cdb"
	syslog_start
	# the shipped entry with the program itself as the server, not the
	# wrapper script: fd 2 is the connection, as xinetd gives it
	# shellcheck disable=SC2086
	set -- $RUNNER "$pub/bin/earlytalker"
	server=$(command -v "$1")
	shift
	args="$* -w 2 -d -x $pub/tcp.smtp.cdb $RUNNER $pub/bin/earlytalker-wrap $pub/smtpd"
	timeout 120 unshare -m --propagation private true ||
	    fail "unshare -m does not work here"
	xinetd_up devlog_ns "$ETC/xinetd.d/smtp" \
	    "s|^\\([[:space:]]*server[[:space:]]*=\\).*|\\1 $server\\
	server_args	= $args|"
	if [ -n "$up" ]; then
		assertTrue "the program itself is the server" \
		    "grep -Eq '^[[:space:]]*server[[:space:]]*= $server\$' '$T/xinetd.conf'"
		bot tclient 127.0.0.11 bot &
		p1=$!
		mailer xinetd@example.org xinetd tclient 127.0.0.8 polite &
		p2=$!
			# a marked host: the responder
		tclient 127.0.0.9 marked until:'220 ' send:'QUIT\r\n' read &
		p3=$!
		wait "$p1" "$p2" "$p3"
		sleep 0.3
	fi
	xinetd_down
	[ -n "$up" ] || return

	assertRefused550 "the early talker" "$T/bot.out"
	assertEquals "the marked host: the responder's 220, its 221" \
	    "220 221" "$(cut -c 1-3 "$T/marked.out" | xargs)"
	assertQueued "the polite client's message" xinetd@example.org xinetd
	assertFalse "no byte of a log line reached a client" \
	    "grep -Eq 'earlytalker|mailfront\\[|pid [0-9]|early:|reject:|marked:' '$T/bot.out' '$T/polite.out' '$T/marked.out'"
	# each line reached syslog whole, tagged earlytalker, in the form
	# the wrapper script gives (fail2ban's logform=syslog)
	assertSyslog 'earlytalker: 127\.0\.0\.11 pid [0-9]+: early: 116 bytes after 0\.[0-9]{3} s: ".*" smtp: mark' \
	    'earlytalker-wrap: 127\.0\.0\.11 pid [0-9]+: reject: helo=<bot\.example> from=<bot@spam\.example> to=<victim@example\.org>: 550 5\.7\.1' \
	    'earlytalker: 127\.0\.0\.9 pid [0-9]+: marked: mark'
	assertEquals "syslog: our lines, and no other" 3 \
	    "$(grep -Ec "^$SYSLOG earlytalker(-wrap)?: " "$T/syslog")"
	# the next program's fd 2 goes to syslog too: mailfront's lines
	grep -Eqx "$SYSLOG mailfront\\[[0-9]+\\]: MAIL FROM:<polite@client\\.example>" \
	    "$T/syslog" || fail "syslog: no line of mailfront's
$(cat "$T/syslog")"
	fail2ban-regex -o ip "$T/syslog" \
	    "$ETC/fail2ban/filter.d/earlytalker.conf[logform=syslog]" \
	    > "$T/f2b.out" 2>&1
	assertEquals "fail2ban's syslog form matches each refusal" \
	    "127.0.0.11 127.0.0.11 127.0.0.9" "$(sort "$T/f2b.out" | xargs)"
}

testLogNeverToTheClient() {
	skip_for unshare && return
	skip_unless_root testLogNeverToTheClient && return
	pub=$T/pub
	rm -rf "$pub"
	mkdir -p "$pub"
	chmod 755 "$pub"
	syslog_start
	# fd 2 on the connection, as inetd gives it: tcpserver's socket
	# is fd 0 and fd 1, and 2>&1 makes it fd 2 too
	# shellcheck disable=SC2016,SC2086
	serve -p devlog_ns sh -c 'exec "$@" 2>&1' sh $RUNNER \
	    "$ET" -w 1 -l 0 "$T/fake"
	client send:'EHLO x\r\n' read
	expect "$REFUSAL"
	assertBytes "early: the 554 alone"
	# shellcheck disable=SC2016,SC2086
	serve -p devlog_ns sh -c 'exec "$@" 2>&1' sh $RUNNER \
	    "$ET" -w 0.1 /nonexistent/prog
	client read
	expect '421 4.3.0 Service temporarily unavailable\r\n'
	assertBytes "fatal: the 421 alone"
	# shellcheck disable=SC2016,SC2086
	serve -p devlog_ns sh -c 'exec "$@" 2>&1' sh $RUNNER \
	    "$ET" -w 301 "$T/fake"
	client read
	assertEquals "usage: nothing" 0 "$(wc -c < "$T/out")"
	# shellcheck disable=SC2016,SC2086
	serve -p devlog_ns sh -c 'exec "$@" 2>&1' sh \
	    env EARLYTALKER=-no $RUNNER "$EW" -T 5 -X "$T/fake"
	client read
	assertEquals "wrap, usage: nothing" 0 "$(wc -c < "$T/out")"
	# shellcheck disable=SC2016,SC2086
	serve -p devlog_ns sh -c 'exec "$@" 2>&1' sh \
	    env EARLYTALKER=-no $RUNNER "$EW" "$T/fake"
	client send:'MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nQUIT\r\n' read
	expect '220 localhost ESMTP\r\n250 2.1.0 Ok\r\n550 5.7.1 no\r\n221 2.0.0 localhost closing\r\n'
	assertBytes "wrap, the responder: its replies alone"
	# the next program's fd 2 leads to syslog, after an exec and in
	# the relay alike: a line it writes there never reaches the client
	cat > "$T/noisy" <<EOF
#!/bin/sh
echo "noisy: a line on fd 2, \$1" >&2
exec "$T/fake"
EOF
	chmod 755 "$T/noisy"
	# shellcheck disable=SC2016,SC2086
	serve -p devlog_ns sh -c 'exec "$@" 2>&1' sh $RUNNER \
	    "$ET" -w 0.1 "$T/noisy" exec
	client until:'220 ' shut read
	expect '220 fake ESMTP\r\n'
	assertBytes "prog, exec'd: its greeting alone"
	# shellcheck disable=SC2016,SC2086
	serve -p devlog_ns sh -c 'exec "$@" 2>&1' sh $RUNNER \
	    "$EW" -D 0 "$T/noisy" relay
	client until:'220 ' shut read
	assertBytes "prog, under the relay: its greeting alone"
	sleep 0.2
	kill "$slpid" 2> /dev/null
	wait "$slpid" 2> /dev/null
	assertSyslog 'earlytalker: 127\.0\.0\.1 pid [0-9]+: early: 8 bytes after 0\.[0-9]{3} s: "EHLO x\\r\\n" smtp: reject 554' \
	    'earlytalker: 127\.0\.0\.1 pid [0-9]+: fatal: unable to run /nonexistent/prog: No such file or directory' \
	    'earlytalker: usage: -w 301: not seconds from 0 to 300' \
	    'earlytalker: usage: earlytalker \[ .*' \
	    'earlytalker-wrap: usage: -X: no such option' \
	    'earlytalker-wrap: usage: earlytalker-wrap \[ .*' \
	    'earlytalker-wrap: 127\.0\.0\.1 pid [0-9]+: reject: helo=<> from=<a@b> to=<c@d>: 550 5\.7\.1' \
	    'noisy: a line on fd 2, exec' 'noisy: a line on fd 2, relay'
	# and with fd 2 elsewhere, the log is on fd 2, as ever
	serve "$ET" -w 1 -l 0 "$T/fake"
	client send:'EHLO x\r\n' read
	settle
	assertLog "fd 2 no socket: the log on fd 2" \
	    'earlytalker: 127\.0\.0\.1 pid x: early: 8 bytes after 0\.[0-9]{3} s: "EHLO x\\r\\n" smtp: reject 554'
}

testDeploySystemd() {
	skip_for systemd-socket-activate && return
	skip_for smtpfront-qmail && return
	exercised systemd-socket-activate systemd
	deploy_setup
	examples || return
	rules "$pub/tcp.smtp.cdb"
	unit_copy "$pub/smtpd"
	sock=$T/units/earlytalker-smtp.socket
	assertTrue "the socket: Accept=yes" "grep -qx 'Accept=yes' '$sock'"
	assertTrue "the socket: port 25" "grep -qx 'ListenStream=25' '$sock'"
	# the units parse and name runnable programs (systemd-analyze verify)
	(cd "$T/units" && systemd-analyze verify --man=no \
	    ./earlytalker-smtp.socket ./earlytalker-smtp@.service) \
	    > "$T/verify" 2>&1 ||
	    fail "systemd-analyze verify: $(cat "$T/verify")"
	# the service's command, as systemd runs it for the socket's
	# Accept=yes, on 127.0.0.1 and ::1, without the rules (they would
	# trust 127.0.0.1; testDeploySystemdRules tries them)
	cmd=$(unit_exec | sed "s| -x $pub/tcp.smtp.cdb||")
	case $cmd in
	*" $pub/smtpd") ;;
	*) fail "SMTPD is not the server: $cmd" ;;
	esac
	for addr in 127.0.0.1 ::1; do
		case $addr in
		*:*) v=ipv6 ;;
		*) v=ipv4 ;;
		esac
		# shellcheck disable=SC2086
		socket_activate "$addr" $cmd || continue
		CLIENT_TIMES=/dev/null timeout 60 "$PY" "$top/t/client.py" \
		    "$addr" "$port" send:'EHLO bot.example\r\nRCPT TO:<a@example.org>\r\n' \
		    shut read > "$T/bot.out" &
		p1=$!
		HOST=$addr mailer "systemd-$v@example.org" "systemd $v" client
		wait "$p1"
		sleep 0.3
		kill "$sapid"
		wait "$sapid" 2> /dev/null
		assertQueued "$addr: the polite client's message" \
		    "systemd-$v@example.org" "systemd $v"
		grep -q '^503 5\.5\.1 MAIL first' "$T/bot.out" ||
		    fail "$addr: the early talker: $(cat "$T/bot.out")"
		a=$(echo "$addr" | sed 's/\./\\./g')
		assertLog "$addr: the address from getpeername()" \
		    "earlytalker: $a pid x: early: 43 bytes after 0\\.[0-9]{3} s: \".*\" smtp: mark"
	done
	assertEquals "\$TCPREMOTEIP from earlytalker under systemd" "127.0.0.1 ::1" \
	    "$(cut -d ' ' -f 2 "$pub"/ran/* | sort | tr '\n' ' ' | sed 's/ $//')"
}

testDeployMailfront() {
	skip_for smtpfront-qmail && return
	exercised "mailfront (smtpfront-qmail)" mailfront
	deploy_setup
	# shellcheck disable=SC2086
	serve $RUNNER "$ET" -w 0.5 -d $RUNNER "$EW" -D 0.3 "$pub/smtpd"
	mailer mailfront@example.org mailfront client
	assertTrue "the polite client: accepted" "grep -q '^250 2\.6\.0 Accepted' '$T/out'"
	assertQueued "the polite client's message, end to end" \
	    mailfront@example.org mailfront
	settle
	assertEquals "the server ran for it" 1 "$(find "$pub/ran" -type f | wc -l)"

	# an early talker: earlytalker-wrap refuses its RCPT; no server
	rm -f "$pub"/ran/*
	bot client
	for re in '220 localhost ESMTP' '250 2\.1\.0 Ok' \
	    '550 5\.7\.1 Connecting host started transmitting before SMTP greeting' \
	    '503 5\.5\.1 No valid recipients' '221 2\.0\.0 localhost closing'; do
		tr -d '\r' < "$T/out" | grep -Eqx "$re" ||
		    fail "the early talker: no reply $re: $(cat "$T/out")"
	done
	settle
	assertEquals "the server never ran" 0 "$(find "$pub/ran" -type f | wc -l)"
	assertEquals "nothing queued for the early talker" 0 \
	    "$(queued victim@example.org)"
	assertLog "its RCPT refused" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: reject: helo=<bot\.example> from=<bot@spam\.example> to=<victim@example\.org>: 550 5\.7\.1'

	# the message before the 354: refused at DATA, nothing queued
	client until:'220 ' send:'EHLO hasty.example\r\n' until:'250 ' \
	    send:'MAIL FROM:<h@client.example>\r\nRCPT TO:<hasty@example.org>\r\nDATA\r\nSubject: hasty\r\n\r\nbody\r\n.\r\n' \
	    read
	tr -d '\r' < "$T/out" |
	    grep -qx '554 5.5.1 Client sent data before the 354 response' ||
	    fail "the hasty client: $(cat "$T/out")"
	settle
	assertEquals "nothing queued for the hasty client" 0 \
	    "$(queued hasty@example.org)"
	assertLog "refused at DATA" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: early at DATA: 27 bytes after 0\.[0-9]{3} s: "Subject: hasty\\r\\n\\r\\nbody\\r\\n\.\\r\\n": reject 554'
	assertEquals "every session exited 0" "" "$(status | grep -vx 0)"
}

# real clients, through the whole chain, must never be flagged
testDeployRealClients() {
	for tool in swaks smtp-source msmtp curl smtpfront-qmail; do
		skip_for "$tool" && return
	done
	exercised swaks swaks
	exercised "smtp-source (postfix)" postfix
	exercised "python3 smtplib" python3
	exercised curl curl
	exercised msmtp msmtp
	exercised "mailfront (smtpfront-qmail)" mailfront
	deploy_setup
	# 50 sessions at once, fewer under valgrind, whose start-up is slow
	case $RUNNER in
	*valgrind*) n=20 ;;
	*) n=50 ;;
	esac
	# shellcheck disable=SC2086
	serve $RUNNER "$ET" -w 0.5 -d $RUNNER "$EW" -D 0.3 "$pub/smtpd"
	# a bot in the same run, while smtp-source runs
	bot "$PY" "$top/t/client.py" 127.0.0.1 "$port" > "$T/bot.out" &
	p1=$!
	timeout 120 smtp-source -s "$n" -m "$n" -M smtp-source.example \
	    -f smtp-source@client.example -t smtp-source@example.org \
	    -S smtp-source "127.0.0.1:$port" > "$T/smtp-source.out" 2>&1
	assertEquals "smtp-source: exit" 0 $?
	wait "$p1"
	for p in '' --pipeline; do
		swaks_send "$p" example.org
	done
	printf 'Subject: smtplib\r\n\r\nHello from smtplib.\r\n' > "$T/smtplib.msg"
	timeout 60 "$PY" "$top/t/smtplib_send.py" 127.0.0.1 "$port" \
	    "$T/smtplib.msg" smtplib@example.org 30 > "$T/smtplib.out" 2>&1
	assertEquals "smtplib: exit" 0 $?
	printf 'Subject: curl\r\n\r\nHello from curl.\r\n' > "$T/curl.msg"
	timeout 60 curl -sS --noproxy '*' --max-time 30 \
	    "smtp://127.0.0.1:$port/curl.example" \
	    --mail-from curl@client.example --mail-rcpt curl@example.org \
	    -T "$T/curl.msg" > "$T/curl.out" 2>&1
	assertEquals "curl: exit" 0 $?
	printf 'Subject: msmtp\n\nHello from msmtp.\n' |
	    timeout 60 msmtp --file=/dev/null --host=127.0.0.1 --port="$port" \
	    --auth=off --tls=off --domain=msmtp.example \
	    --from=msmtp@client.example msmtp@example.org > "$T/msmtp.out" 2>&1
	assertEquals "msmtp: exit" 0 $?
	settle

	assertEquals "smtp-source: $n messages" "$n" "$(queued smtp-source@example.org)"
	for c in swaks swaks--pipeline smtplib curl msmtp; do
		assertQueued "$c" "$c@example.org" "$c"
	done
	assertEquals "swaks --pipeline: MAIL, RCPT, DATA in one group" 3 \
	    "$(grep -A 2 '^ -> MAIL FROM' "$T/swaks--pipeline.out" | grep -c '^ -> ')"
	assertEquals "swaks: one command at a time" 1 \
	    "$(grep -A 1 '^ -> MAIL FROM' "$T/swaks.out" | grep -c '^ -> ')"
	grep -q '^550 5\.7\.1 Connecting host' "$T/bot.out" ||
	    fail "the bot was not refused: $(cat "$T/bot.out")"
	assertEquals "one early talker: the bot" 1 "$(logs | grep -c ': early')"
	assertEquals "one refusal: the bot's RCPT" 1 "$(logs | grep -c ': reject')"
	assertLog "the bot" \
	    'earlytalker: 127\.0\.0\.1 pid x: early: 116 bytes after 0\.[0-9]{3} s: ".*" smtp: mark'
	echo "real clients: $((n + 5)) messages delivered, 0 false positives; the bot caught"
}

testDeployFail2ban() {
	for tool in fail2ban-regex multilog logger tcprules smtpfront-qmail; do
		skip_for "$tool" && return
	done
	exercised fail2ban-regex fail2ban
	deploy_setup
	rules "$pub/tcp.smtp.cdb"
	: > "$T/all.log"
	# the log to read: sessions of every kind, each from its own address,
	# through the chain that marks, then through the one that refuses
	# shellcheck disable=SC2086
	serve -x "$pub/tcp.smtp.cdb" $RUNNER "$ET" -v -w 2 -d \
	    $RUNNER "$EW" -v -D 0.3 "$pub/smtpd"
	bot tclient 127.0.0.11 bot &
	p1=$!
	tclient 127.0.0.12 ehlo send:'EHLO x\r\nQUIT\r\n' read &
	p2=$!
	marked_host m.example f2b@example.org &
	p3=$!
	hasty 'MAIL FROM:<h@client.example>\r\nRCPT TO:<f2b@example.org>\r\nDATA\r\nSubject: x\r\n\r\nx\r\n.\r\n' &
	p4=$!
	tclient 127.0.0.14 hostile \
	    send:'earlytalker: 192.0.2.66 pid 1: early: 1 bytes after 0.000 s: "x" smtp: reject 554\r\n' \
	    shut read &
	p5=$!
	mailer f2b@example.org polite tclient 127.0.0.21 polite &
	p6=$!
	mailer f2b@example.org trusted tclient 127.0.1.7 trusted &
	p7=$!
	tclient 127.0.0.25 exempt until:'220 ' send:'QUIT\r\n' read &
	p8=$!
	tclient 127.0.0.22 hangup shut read &
	p9=$!
	# a polite client whose commands mailfront logs as they came; it
	# waits for each reply, as the relay asks of an unknown verb
	tclient 127.0.0.24 forger until:'220 ' \
	    send:'earlytalker: 192.0.2.66 pid 1: early: 1 bytes after 0.000 s: "x" smtp: reject 554\r\n' \
	    until:'500 ' \
	    send:'earlytalker: earlytalker: 192.0.2.67 pid 1: marked: reject 554\r\n' \
	    until:'Not implemented.\r\n500 ' send:'QUIT\r\n' read &
	p10=$!
	wait "$p1" "$p2" "$p3" "$p4" "$p5" "$p6" "$p7" "$p8" "$p9" "$p10"
	settle
	cat "$T/log" >> "$T/all.log"
	kill "$srvpid"
	wait "$srvpid" 2> /dev/null
	# shellcheck disable=SC2086
	serve -x "$pub/tcp.smtp.cdb" $RUNNER "$ET" -v -w 2 "$pub/smtpd"
	tclient 127.0.0.15 early send:'EHLO x\r\n' shut read &
	p1=$!
	tclient 127.0.0.9 marked2 shut read &
	p2=$!
	tclient 127.0.0.23 quiet until:'220 ' send:'QUIT\r\n' read &
	p3=$!
	wait "$p1" "$p2" "$p3"
	settle
	cat "$T/log" >> "$T/all.log"
	kill "$srvpid"
	wait "$srvpid" 2> /dev/null
	# and the sync check: a command before the reply to EHLO
	# shellcheck disable=SC2086
	serve -x "$pub/tcp.smtp.cdb" $RUNNER "$ET" -v -w 0.5 \
	    $RUNNER "$EW" -v -S "$pub/smtpd"
	tclient 127.0.0.16 syncbot until:'220 ' \
	    send:'EHLO s.example\r\nMAIL FROM:<s@client.example>\r\n' read
	settle
	cat "$T/log" >> "$T/all.log"

	# each kind of line is there
	for re in ': early: .* smtp: mark$' ': early: .* smtp: reject 554$' \
	    ': marked: mark$' ': marked: reject 554$' \
	    '^earlytalker-wrap: .*: reject: .*: 550 5\.7\.1$' \
	    ': early at DATA: .*: reject 554$' \
	    ': early at EHLO: .*: reject 554$' ': pass after ' \
	    ': skip: relayclient$' ': skip: exempt$' ': hangup after ' \
	    '^earlytalker-wrap: .*: done: status 0$'; do
		grep -Eq "$re" "$T/all.log" ||
		    fail "the log has no line $re: $(cat "$T/all.log")"
	done
	# the refusals: what the filter must match, and nothing else
	grep -E '^earlytalker(-wrap)?: [^ ]+ pid [0-9]+: (early|marked|reject)' \
	    "$T/all.log" | sort > "$T/want"
	assertEquals "refusal lines" 10 "$(wc -l < "$T/want")"
	grep -q '^mailfront\[[0-9]*\]: earlytalker: earlytalker: 192\.0\.2\.67' \
	    "$T/all.log" || fail "mailfront did not log the forged line"

	# the same log in multilog's form and in syslog's form
	fail2ban_logs
	assertEquals "every line reached syslog" "$(wc -l < "$T/all.log")" \
	    "$(wc -l < "$T/syslog")"
	kill "$slpid"
	wait "$slpid" 2> /dev/null

	# the shipped filter, in each form
	for form in multilog syslog; do
		fail2ban_match "$form"
		assertEquals "$form: no pass, skip, hangup or done line matched" \
		    0 "$(grep -Ec ': (pass after|skip:|hangup after|done:)' \
		    "$T/f2b.$form")"
		assertEquals "$form: the early talkers' addresses, no forged one" \
		    "127.0.0.11 127.0.0.12 127.0.0.13 127.0.0.14 127.0.0.15 127.0.0.16 127.0.0.9" \
		    "$(tr '\n' ' ' < "$T/ips" | sed 's/ $//')"
	done
}

# --- make install and uninstall ---

testInstallUninstall() {
	make -s -C "$top" install DESTDIR="$T/root" PREFIX=/usr \
	    > "$T/out" 2>&1 || fail "make install: $(cat "$T/out")"
	for f in bin/earlytalker bin/earlytalker-wrap bin/earlytalker-stats \
	    share/man/man1/earlytalker.1 share/man/man1/earlytalker-wrap.1 \
	    share/man/man1/earlytalker-stats.1; do
		assertTrue "installed: /usr/$f" "[ -s '$T/root/usr/$f' ]"
	done
	assertEquals "-V of the installed program" \
	    "earlytalker $(cat "$top/VERSION")" "$("$T/root/usr/bin/earlytalker" -V)"
	# the examples, with the paths of this install
	ex=$T/root/usr/share/doc/earlytalker/examples
	assertEquals "every example installed" \
	    "$(cd "$top/etc" && find . -type f | sort)" \
	    "$(cd "$ex" && find . -type f | sort)"
	for f in daemontools/run daemontools/log/run xinetd/earlytalker-smtpd; do
		assertTrue "examples: $f is executable" "[ -x '$ex/$f' ]"
	done
	assertEquals "examples: no /usr/local/bin left" "" \
	    "$(grep -rl /usr/local/bin "$ex")"
	assertTrue "examples: the run script names /usr/bin" \
	    "grep -q '^BIN=/usr/bin ' '$ex/daemontools/run'"
	assertTrue "examples: the xinetd script names /usr/bin" \
	    "grep -q '^BIN=/usr/bin ' '$ex/xinetd/earlytalker-smtpd'"
	assertTrue "examples: the systemd service names /usr/bin" \
	    "grep -q '^ExecStart=/usr/bin/earlytalker .* /usr/bin/earlytalker-wrap ' '$ex/systemd/earlytalker-smtp@.service'"
	assertTrue "examples: xinetd runs the administrator's copy of the script" \
	    "grep -Eq '^	*server	*= /usr/local/sbin/earlytalker-smtpd$' '$ex/xinetd.d/smtp'"
	# the qmail-smtpd path: one setting in each example that runs it
	for f in daemontools/run xinetd/earlytalker-smtpd \
	    systemd/earlytalker-smtp@.service; do
		assertEquals "$f: qmail-smtpd named once, in the setting" \
		    "1" "$(grep -v '^#' "$ex/$f" | grep -c /var/qmail/bin/qmail-smtpd)"
	done
	make -s -C "$top" uninstall DESTDIR="$T/root" PREFIX=/usr \
	    > "$T/out" 2>&1 || fail "make uninstall: $(cat "$T/out")"
	assertEquals "uninstalled: nothing left, not even the directories made" \
	    "" "$(find "$T/root" -mindepth 1)"
	rm -rf "$T/root"

	# directories that were there before stay, empty or not; one that
	# install made and that holds a file of someone else's stays too
	mkdir -p "$T/root/usr/bin" "$T/root/usr/share/man/man1"
	: > "$T/root/usr/bin/other"
	make -s -C "$top" install DESTDIR="$T/root" PREFIX=/usr \
	    > "$T/out" 2>&1 || fail "make install: $(cat "$T/out")"
	make -s -C "$top" install DESTDIR="$T/root" PREFIX=/usr \
	    > "$T/out" 2>&1 || fail "make install, again: $(cat "$T/out")"
	: > "$T/root/usr/share/doc/earlytalker/examples/mine"
	make -s -C "$top" uninstall DESTDIR="$T/root" PREFIX=/usr \
	    > "$T/out" 2>&1 || fail "make uninstall: $(cat "$T/out")"
	assertEquals "only what was there, and the file of someone else's" \
	    "$T/root/usr
$T/root/usr/bin
$T/root/usr/bin/other
$T/root/usr/share
$T/root/usr/share/doc
$T/root/usr/share/doc/earlytalker
$T/root/usr/share/doc/earlytalker/examples
$T/root/usr/share/doc/earlytalker/examples/mine
$T/root/usr/share/man
$T/root/usr/share/man/man1" "$(find "$T/root" -mindepth 1 | LC_ALL=C sort)"
	assertEquals "uninstall says what it kept" \
	    "uninstall: kept $T/root/usr/share/doc/earlytalker/examples: not empty
uninstall: kept $T/root/usr/share/doc/earlytalker: not empty
uninstall: kept $T/root/usr/share/doc: not empty" "$(cat "$T/out")"
	rm -rf "$T/root"
}

# shellcheck source=/dev/null
. shunit2
