#!/bin/sh
# shellcheck disable=SC2317 # shunit2 calls the functions
# t/stats.sh: earlytalker-stats, the daily summary of the log: every kind of
# line in each form, unreadable and empty files, Prometheus' format, a
# million lines, and the logs that this suite's own sessions write.
#
# Alone: ./test t/stats.sh, or sh t/stats.sh [-- testName ...]

# shellcheck source=t/lib.sh
. "$(dirname "$0")/lib.sh"

oneTimeSetUp() {
	lib_setup || return 1
	make_fake
}

# stats_fixture FILE: a log that holds every kind of line, in each form:
# multilog under tcpserver -v -c 3 (the slots fill once; a mark and two
# refusals of its recipients; a pass; an observed early talker; a deny),
# syslog (a line of another program that quotes ours; a pid used again
# after its session ended), RFC 3339 (a pass, then the relay's refusal),
# and bare (a usage error and the usage line after it, a warning of -n,
# a warning before its early line, observed lines, a rules mark)
stats_fixture() {
	cat > "$1" <<'EOF'
@4000000069f0a1b2c3d4e5f6 tcpserver: status: 0/3
@4000000069f0a1b2c3d4e5f6 tcpserver: status: 1/3
@4000000069f0a1b2c3d4e5f6 tcpserver: pid 4242 from 192.0.2.7
@4000000069f0a1b2c3d4e5f6 tcpserver: ok 4242 mx:192.0.2.1:25 :192.0.2.7::4000
@4000000069f0a1b2c3d4e5f6 earlytalker: 192.0.2.7 pid 4242: early: 14 bytes after 0.031 s: "EHLO spam.example\r\n" smtp: reject 554
@4000000069f0a1b2c3d4e5f6 tcpserver: end 4242 status 0
@4000000069f0a1b2c3d4e5f6 tcpserver: status: 0/3
@4000000069f0a1b2c3d4e5f6 tcpserver: status: 1/3
@4000000069f0a1b2c3d4e5f6 tcpserver: pid 4243 from 192.0.2.7
@4000000069f0a1b2c3d4e5f6 tcpserver: ok 4243 mx:192.0.2.1:25 :192.0.2.7::4001
@4000000069f0a1b2c3d4e5f6 earlytalker: 192.0.2.7 pid 4243: early: 517 bytes after 0.000 s: "\026\003\001\002\000..." tls: mark
@4000000069f0a1b2c3d4e5f6 tcpserver: status: 2/3
@4000000069f0a1b2c3d4e5f6 tcpserver: pid 4244 from 192.0.2.8
@4000000069f0a1b2c3d4e5f6 tcpserver: ok 4244 mx:192.0.2.1:25 :192.0.2.8::4002
@4000000069f0a1b2c3d4e5f6 tcpserver: status: 3/3
@4000000069f0a1b2c3d4e5f6 tcpserver: pid 4245 from 192.0.2.9
@4000000069f0a1b2c3d4e5f6 tcpserver: ok 4245 mx:192.0.2.1:25 :192.0.2.9::4003
@4000000069f0a1b2c3d4e5f6 earlytalker-wrap: 192.0.2.7 pid 4243: reject: helo=<x> from=<a@b.example> to=<c@d.example>: 550 5.7.1
@4000000069f0a1b2c3d4e5f6 earlytalker-wrap: 192.0.2.7 pid 4243: reject: helo=<x> from=<a@b.example> to=<e@d.example>: 550 5.7.1
@4000000069f0a1b2c3d4e5f6 earlytalker: 192.0.2.8 pid 4244: pass after 2.000 s
@4000000069f0a1b2c3d4e5f6 earlytalker: 192.0.2.9 pid 4245: observe: early: 8 bytes after 0.300 s: "EHLO x\r\n" smtp: reject 554
@4000000069f0a1b2c3d4e5f6 tcpserver: end 4243 status 0
@4000000069f0a1b2c3d4e5f6 tcpserver: status: 2/3
@4000000069f0a1b2c3d4e5f6 tcpserver: end 4244 status 0
@4000000069f0a1b2c3d4e5f6 tcpserver: status: 1/3
@4000000069f0a1b2c3d4e5f6 tcpserver: end 4245 status 0
@4000000069f0a1b2c3d4e5f6 tcpserver: status: 0/3
@4000000069f0a1b2c3d4e5f6 tcpserver: deny 4246 mx:192.0.2.1:25 :203.0.113.5::4004
@4000000069f0b000c3d4e5f6 earlytalker: 192.0.2.8 pid 4247: hangup after 0.412 s
@4000000069f0b000c3d4e5f6 earlytalker: 192.0.2.8 pid 4248: fatal: unable to run x: No such file or directory
@4000000069f0b000c3d4e5f6 earlytalker: 192.0.2.5 pid 4251: early: 8 bytes after 0.002 s: "EHLO x\r\n" smtp: reject 554
@4000000069f0b000c3d4e5f6 earlytalker: 2001:db8::7 pid 4252: early: 5 bytes after 1.100 s: "GET /" http: reject 421
@4000000069f0b000c3d4e5f6 earlytalker: 192.0.2.8 pid 4253: skip: relayclient
@4000000069f0b000c3d4e5f6 earlytalker: 192.0.2.8 pid 4254: warning: unable to read rules /etc/tcp.smtp.cdb: No such file or directory
@4000000069f0b000c3d4e5f6 earlytalker: 192.0.2.9 pid 4255: proxy: bad header: 1 bytes after 0.000 s: "E": reject 421
@4000000069f0b000c3d4e5f6 earlytalker: 192.0.2.10 pid 4256: proxy: v1 from 192.0.2.11 port 4000 to 192.0.2.1 port 25
@4000000069f0b000c3d4e5f6 earlytalker: 192.0.2.11 pid 4256: early: 8 bytes after 0.050 s: "EHLO x\r\n" smtp: mark
@4000000069f0b000c3d4e5f6 earlytalker: 192.0.2.12 pid 4257: deny: rules
Nov 29 19:31:00 mx earlytalker: earlytalker: 192.0.2.6 pid 4247: marked: reject 554
Nov 29 19:31:00 mx earlytalker[55]: earlytalker-wrap: 192.0.2.5 pid 4250: early at DATA: 9 bytes after 0.000 s: "Subject: ": reject 554
Nov 29 19:31:00 mx mailfront[3]: earlytalker: 192.0.2.66 pid 1: early: 1 bytes after 0.000 s: "x" smtp: reject 554
Nov 29 19:32:00 mx earlytalker: earlytalker-wrap: 192.0.2.13 pid 4260: observe: marked: reject 550 5.7.1 at RCPT
Nov 29 19:33:00 mx earlytalker: earlytalker: 192.0.2.20 pid 4270: early: 8 bytes after 0.010 s: "EHLO x\r\n" smtp: mark
Nov 29 19:33:01 mx earlytalker: earlytalker-wrap: 192.0.2.20 pid 4270: reject: helo=<x> from=<a@b> to=<c@d>: 550 5.7.1
Nov 29 19:40:00 mx earlytalker: earlytalker: 192.0.2.20 pid 4270: early: 2 bytes after 0.010 s: "\r\n" other: reject 554
2026-11-29T20:00:01.5+01:00 mx earlytalker: earlytalker: 192.0.2.14 pid 4261: pass after 1.000 s
2026-11-29T20:00:01.6+01:00 mx earlytalker: earlytalker-wrap: 192.0.2.14 pid 4261: early at EHLO: 17 bytes after 0.000 s: "MAIL FROM:<a@b>\r\n": reject 554
2026-11-29T20:00:02+01:00 mx earlytalker: earlytalker-wrap: 192.0.2.15 pid 4262: done: status 0
earlytalker: usage: -w 2s: not seconds from 0 to 300
earlytalker: usage: earlytalker [ -PVdnopqtv ] [ -b text ] [ -C seconds ] [ -c dir ] [ -l seconds ] [ -w seconds[-seconds] ] [ -x cdb ] prog [ arg ... ]
earlytalker: warning: EARLYTALKER_WAIT "2s" is not seconds from 0 to 300: using 1.000
earlytalker: 192.0.2.16 pid 4263: warning: EARLYTALKER_WAIT "x" is not seconds from 0 to 300: using 1.000
earlytalker: 192.0.2.16 pid 4263: early: 6 bytes after 4.000 s: "QUIT\r\n" smtp: reject 554
earlytalker-wrap: 192.0.2.17 pid 4264: timeout: no data for 1200 s
tcpserver: fatal: unable to bind: address already used
earlytalker: 192.0.2.18 pid 4265: observe: early: 8 bytes after 0.120 s: "EHLO x\r\n" smtp: mark
earlytalker: 192.0.2.19 pid 4266: observe: marked: mark
earlytalker: 192.0.2.21 pid 4271: marked: mark
earlytalker-wrap: 192.0.2.21 pid 4271: reject: helo=<m> from=<m@x>: 550 5.7.1
EOF
}

# every kind of line, exact output: 25 sessions (the mark and the two
# refused recipients of 192.0.2.7 pid 4243 are one), 11 refused, 4
# observed, apart; the problems first, and exit 1 for them
testStatsKnownLines() {
	stats_fixture "$T/stats.in"
	sh "$top/earlytalker-stats" -n 5 "$T/stats.in" > "$T/out"
	assertEquals "exit: the log holds problems" 1 $?
	cat > "$T/expected" <<'EOF'
problems: 3 fatal and usage lines
       1  earlytalker: fatal: unable to run x: No such file or directory
       1  earlytalker: usage: -w 2s: not seconds from 0 to 300
       1  tcpserver: fatal: unable to bind: address already used

59 lines: 35 of earlytalker, 23 of tcpserver, 1 other
25 sessions: 11 refused, 4 observed, 1 failed, 1 marked only, 1 bad PROXY header, 1 denied by the rules, 1 hung up, 2 passed, 1 skipped, 2 other
4 connections taken by tcpserver, 1 denied by its rules

warnings
       1  earlytalker: warning: unable to read rules /etc/tcp.smtp.cdb: No such file or directory
       1  earlytalker: warning: EARLYTALKER_WAIT "2s" is not seconds from 0 to 300: using 1.000
       1  earlytalker: warning: EARLYTALKER_WAIT "x" is not seconds from 0 to 300: using 1.000

sessions, by decision
       4  earlytalker: early: reject 554
       2  earlytalker: early: mark, earlytalker-wrap: reject 550
       1  earlytalker: early: mark
       1  earlytalker: pass
       1  earlytalker: observe: early: reject 554
       1  earlytalker: hangup
       1  earlytalker: fatal
       1  earlytalker: early: reject 421
       1  earlytalker: skip: relayclient
       1  earlytalker: warning
       1  earlytalker: proxy: bad header: reject 421
       1  earlytalker: deny: rules
       1  earlytalker: marked: reject 554
       1  earlytalker-wrap: early at DATA: reject 554
       1  earlytalker-wrap: observe: marked: reject 550
       1  earlytalker-wrap: early at EHLO: reject 554
       1  earlytalker-wrap: done
       1  earlytalker-wrap: timeout
       1  earlytalker: observe: early: mark
       1  earlytalker: observe: marked: mark
       1  earlytalker: marked: mark, earlytalker-wrap: reject 550

early talkers by class     enforced  observed
smtp                              5         2
tls                               1         0
http                              1         0
other                             1         0

wait curve: of the 10 early talkers, those that a wait would have caught
    wait     caught
   0.1 s          6   60%  ########################
  0.25 s          7   70%  ############################
   0.5 s          8   80%  ################################
     1 s          8   80%  ################################
     2 s          9   90%  ####################################
     5 s  >=     10  100%  ########################################
the longest wait in use: 2.000 s (the pass lines); a longer one catches at least as many

slots: tcpserver -c 3, peak 3 (100%), every slot taken 1 time
  the limit was reached: new clients waited for a slot.  Raise tcpserver -c, or lower the wait (earlytalker -w)

by hour      lines   refused  observed
12               6         2         1
13              10         2         0
19               6         4         1
20               3         1         0
--              10         2         2

addresses refused most   refused  observed
192.0.2.20                     2         0
192.0.2.5                      2         0
192.0.2.7                      2         0
192.0.2.13                     0         1
192.0.2.14                     1         0
EOF
	assertBytes "the report"
	# the same lines on stdin, and in two files with - between them
	sh "$top/earlytalker-stats" -n 5 < "$T/stats.in" > "$T/out.stdin"
	assertBytes "the same from stdin" "$T/out.stdin"
	head -n 30 "$T/stats.in" > "$T/stats.1"
	sed -n '31,40p' "$T/stats.in" > "$T/stats.2"
	sed -n '41,$p' "$T/stats.in" > "$T/stats.3"
	sh "$top/earlytalker-stats" -n 5 "$T/stats.1" - "$T/stats.3" \
	    < "$T/stats.2" > "$T/out.files"
	assertBytes "the same from files and stdin, in turn" "$T/out.files"
	sh "$top/earlytalker-stats" -n x < /dev/null > "$T/out" 2> "$T/err"
	assertEquals "-n x: exit" 100 $?
	assertEquals "-n x: what is wrong" \
	    "earlytalker-stats: usage: -n x: not a number" \
	    "$(head -n 1 "$T/err")"
	sh "$top/earlytalker-stats" -x < /dev/null > "$T/out" 2> "$T/err"
	assertEquals "-x: exit" 100 $?
	assertEquals "-x: what is wrong, then the usage line" \
	    "earlytalker-stats: usage: -x: no such option
earlytalker-stats: usage: earlytalker-stats [ -p ] [ -n N ] [ file ... ]" \
	    "$(cat "$T/err")"
	sh "$top/earlytalker-stats" -n < /dev/null > "$T/out" 2> "$T/err"
	assertEquals "-n: exit" 100 $?
	assertEquals "-n: what is wrong" "earlytalker-stats: usage: -n: no value" \
	    "$(head -n 1 "$T/err")"
}

# files: one that cannot be read fails the whole run, with a clear error
# and no report; an empty log is said to be one; no problem, exit 0
testStatsFiles() {
	stats_fixture "$T/stats.in"
	for bad in "$T/nosuch" "$T"; do
		sh "$top/earlytalker-stats" "$T/stats.in" "$bad" > "$T/out" \
		    2> "$T/err"
		assertEquals "$bad: exit" 111 $?
		assertEquals "$bad: no report" 0 "$(wc -c < "$T/out")"
	done
	assertEquals "a directory" \
	    "earlytalker-stats: fatal: unable to read $T: Is a directory" \
	    "$(cat "$T/err")"
	sh "$top/earlytalker-stats" "$T/nosuch" > "$T/out" 2> "$T/err"
	assertEquals "a missing file" \
	    "earlytalker-stats: fatal: unable to read $T/nosuch: No such file or directory" \
	    "$(cat "$T/err")"
	if [ "$(id -u)" -eq 0 ] && command -v setpriv > /dev/null; then
		# a file that the user may not read, as nobody
		chmod 711 "$T" "$(dirname "$T")"
		cp "$top/earlytalker-stats" "$T/stats.sh"
		chmod 755 "$T/stats.sh"
		chmod 600 "$T/stats.in"
		setpriv --reuid=nobody --regid=nogroup --clear-groups \
		    sh "$T/stats.sh" "$T/stats.in" > "$T/out" 2> "$T/err"
		assertEquals "unreadable: exit" 111 $?
		assertEquals "unreadable" \
		    "earlytalker-stats: fatal: unable to read $T/stats.in: Permission denied" \
		    "$(cat "$T/err")"
	fi
	: > "$T/empty"
	sh "$top/earlytalker-stats" "$T/empty" > "$T/out"
	assertEquals "an empty log: exit" 0 $?
	assertEquals "an empty log: said" "0 lines: 0 of earlytalker, 0 of tcpserver, 0 others
0 sessions
no line of earlytalker or earlytalker-wrap: is this their log?" \
	    "$(head -n 3 "$T/out")"
	grep -v -e 'fatal:' -e 'usage:' "$T/stats.in" > "$T/clean"
	sh "$top/earlytalker-stats" "$T/clean" > "$T/out"
	assertEquals "no problem: exit" 0 $?
	assertEquals "no problem: none listed" 0 \
	    "$(grep -c '^problems' "$T/out")"
}

# -p: Prometheus' text format, as its own parser reads it
testStatsPrometheus() {
	"$PY" -c 'import prometheus_client' 2> /dev/null || {
		skip_for python3-prometheus-client
		return
	}
	stats_fixture "$T/stats.in"
	sh "$top/earlytalker-stats" -p "$T/stats.in" > "$T/prom"
	assertEquals "exit: 0, the problems are a metric" 0 $?
	"$PY" "$top/t/promcheck.py" < "$T/prom" > "$T/out" 2> "$T/err" ||
	    fail "not good Prometheus text: $(cat "$T/err")"
	for m in 'earlytalker_log_lines_total{source="earlytalker"} 35' \
	    'earlytalker_log_lines_total{source="tcpserver"} 23' \
	    'earlytalker_log_lines_total{source="other"} 1' \
	    'earlytalker_problems_total 3' 'earlytalker_warnings_total 3' \
	    'earlytalker_sessions_total 25' \
	    'earlytalker_session_decisions_total{decision="refused"} 11' \
	    'earlytalker_session_decisions_total{decision="observed"} 4' \
	    'earlytalker_session_decisions_total{decision="marked"} 4' \
	    'earlytalker_session_decisions_total{decision="passed"} 3' \
	    'earlytalker_session_decisions_total{decision="other"} 3' \
	    'earlytalker_session_decisions_total{decision="failed"} 1' \
	    'earlytalker_early_talkers_total{class="smtp",mode="enforce"} 5' \
	    'earlytalker_early_talkers_total{class="smtp",mode="observe"} 2' \
	    'earlytalker_early_talkers_total{class="tls",mode="enforce"} 1' \
	    'earlytalker_early_seconds_bucket{le="0.1"} 6' \
	    'earlytalker_early_seconds_bucket{le="0.25"} 7' \
	    'earlytalker_early_seconds_bucket{le="2"} 9' \
	    'earlytalker_early_seconds_bucket{le="+Inf"} 10' \
	    'earlytalker_early_seconds_count 10' \
	    'earlytalker_early_seconds_sum 5.623' \
	    'earlytalker_connections_total{tcpserver="ok"} 4' \
	    'earlytalker_connections_total{tcpserver="deny"} 1' \
	    'earlytalker_slots_full_total 1' 'earlytalker_slots_limit 3' \
	    'earlytalker_slots_peak 3' \
	    'earlytalker_log_last_timestamp_seconds 1777381366'; do
		grep -qxF "$m" "$T/out" || fail "no sample $m: $(cat "$T/out")"
	done
	for t in 'early_seconds histogram' 'slots_peak gauge' \
	    'sessions_total counter' 'session_decisions_total counter'; do
		grep -qx "# TYPE earlytalker_$t" "$T/prom" ||
		    fail "no TYPE $t: $(cat "$T/prom")"
	done
	# the counters never fall as the log grows, line by line
	: > "$T/grown"
	: > "$T/before"
	while IFS= read -r line; do
		printf '%s\n' "$line" >> "$T/grown"
		sh "$top/earlytalker-stats" -p "$T/grown" |
		    grep -v '^#' | grep -v -e _limit -e _peak -e _timestamp \
		    > "$T/after"
		paste -d ' ' "$T/before" "$T/after" | awk 'NF == 4 && $2 > $4 {
			print; bad = 1 } END { exit bad }' ||
		    fail "a counter fell at the line $line"
		mv "$T/after" "$T/before"
	done < "$T/stats.in"
}

# a million lines, in multilog's form under tcpserver, within 10 s (it
# takes about 2 s with Debian's mawk); the report agrees with what the
# generator wrote
testStatsMillionLines() {
	awk -v N=1000000 -v C="$T/big.counts" -f "$top/t/biglog.awk" \
	    > "$T/big.log"
	c() { sed -n "s/^$1 //p" "$T/big.counts"; }
	t0=$(date +%s%N)
	sh "$top/earlytalker-stats" "$T/big.log" > "$T/out"
	st=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	echo "earlytalker-stats: $(c lines) lines in $ms ms ($(readlink -f \
	    "$(command -v awk)"))"
	assertEquals "exit" 0 "$st"
	assertWithin "a million lines" "$(awk -v m="$ms" 'BEGIN { print m / 1000 }')" 0 10
	assertEquals "the sessions" \
	    "$(c sessions) sessions: $(c refused) refused, $(c observed) observed, $(c passed) passed" \
	    "$(sed -n 2p "$T/out")"
	assertTrue "the wait curve: within 1 s" \
	    "grep -Eq '^ +1 s +$(c caught1) ' '$T/out'"
	assertTrue "the early talkers" \
	    "grep -q '^wait curve: of the $(c early) early talkers' '$T/out'"
	rm -f "$T/big.log"
}

# the suite's own log: sessions under tcpserver, stamped by multilog
testStatsOnTheSuiteLog() {
	skip_for multilog && return
	serve "$ET" -v -w 0.5 "$T/fake"
	client send:'EHLO x\r\n' shut read
	client send:'GET / HTTP/1.0\r\n\r\n' shut read
	client shut read
	client until:'220 ' send:'QUIT\r\n' shut read
	settle
	rm -rf "$T/ml"
	multilog t "$T/ml" < "$T/log"
	sh "$top/earlytalker-stats" < "$T/ml/current" > "$T/out"
	assertEquals "exit" 0 $?
	n=$(wc -l < "$T/log")
	expect '%s lines: 4 of earlytalker, %s of tcpserver, 0 others\n' \
	    "$n" "$((n - 4))"
	head -n 1 "$T/out" > "$T/out.1"
	assertBytes "totals" "$T/out.1"
	assertEquals "sessions" \
	    "4 sessions: 2 refused, 1 hung up, 1 passed" "$(sed -n 2p "$T/out")"
	assertEquals "decisions" "       2  earlytalker: early: reject 554
       1  earlytalker: hangup
       1  earlytalker: pass" "$(sed -n '/^sessions, by decision$/,/^$/p' "$T/out" |
	    sed -e '1d' -e '$d')"
	assertEquals "classes" "smtp                              1         0
http                              1         0" \
	    "$(sed -n '/^early talkers by class/,/^$/p' "$T/out" |
	    sed -e '1d' -e '$d')"
	assertTrue "one hour, in UTC: 4 lines, 2 refusals" \
	    "sed -n '/^by hour/,/^\$/p' '$T/out' | grep -Eqx '[0-2][0-9] +4 +2 +0'"
	assertEquals "addresses" "127.0.0.1                      2         0" \
	    "$(sed -n '/^addresses refused most/,$p' "$T/out" | sed 1d)"
}

# the suite's own log, of the chain that marks: a mark and the refusals
# of its recipients are one session; two slots, filled; then observe
testStatsOnTheSuiteChain() {
	skip_for multilog && return
	: > "$T/all.log"
	SLOTS=2
	serve "$ET" -v -w 0.5 -d "$EW" -v "$T/fake"
	client send:'EHLO bot.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nRCPT TO:<e@d.example>\r\nQUIT\r\n' \
	    read
	client send:'GET / HTTP/1.0\r\n\r\n' shut read
	client shut read
	# three polite clients at once for two slots: the third waits
	for i in 1 2 3; do
		CLIENT_TIMES=/dev/null timeout 60 "$PY" "$top/t/client.py" \
		    127.0.0.1 "$port" until:'220 ' sleep:0.3 shut read \
		    > "$T/out.$i" &
		eval "p$i=\$!"
	done
	# shellcheck disable=SC2154 # p1 p2 p3: set by eval
	wait "$p1" "$p2" "$p3"
	settle
	cat "$T/log" >> "$T/all.log"
	serve "$ET" -v -o -w 0.5 -d "$EW" -v "$T/fake"
	client send:'EHLO x\r\n' until:'220 ' shut read
	settle
	cat "$T/log" >> "$T/all.log"
	rm -rf "$T/ml"
	multilog t "$T/ml" < "$T/all.log"
	sh "$top/earlytalker-stats" "$T/ml/current" > "$T/out"
	assertEquals "exit" 0 $?
	n=$(wc -l < "$T/all.log")
	assertEquals "lines" "$n lines: 9 of earlytalker, $((n - 9)) of tcpserver, 0 others" \
	    "$(sed -n 1p "$T/out")"
	assertEquals "sessions: the mark and its refusals are one" \
	    "7 sessions: 1 refused, 1 observed, 1 marked only, 1 hung up, 3 passed" \
	    "$(sed -n 2p "$T/out")"
	assertEquals "connections" \
	    "7 connections taken by tcpserver, 0 denied by its rules" \
	    "$(sed -n 3p "$T/out")"
	assertEquals "decisions" "       3  earlytalker: pass
       1  earlytalker: early: mark
       1  earlytalker: early: mark, earlytalker-wrap: reject 550
       1  earlytalker: hangup
       1  earlytalker: observe: early: mark" \
	    "$(sed -n '/^sessions, by decision$/,/^$/p' "$T/out" |
	    sed -e '1d' -e '$d')"
	# each early talker spoke at once, within the 0.5 s wait
	assertTrue "wait curve: 3 early talkers" \
	    "grep -qx 'wait curve: of the 3 early talkers, those that a wait would have caught' '$T/out'"
	assertTrue "wait curve: 0.5 s catches all" \
	    "grep -Eqx ' +0\\.5 s +3  100%  #{40}' '$T/out'"
	assertTrue "wait curve: 1 s, at least" \
	    "grep -Eqx ' +1 s  >= +3  100%  #{40}' '$T/out'"
	assertTrue "wait curve: the wait in use" \
	    "grep -Eq '^the longest wait in use: 0\\.5[0-9]{2} s ' '$T/out'"
	assertTrue "slots: two, both taken" \
	    "grep -Eqx 'slots: tcpserver -c 2, peak 2 \\(100%\\), every slot taken [1-9][0-9]* times?' '$T/out'"
	assertTrue "slots: the advice" \
	    "grep -q 'the limit was reached: .* Raise tcpserver -c, or lower the wait' '$T/out'"
	assertEquals "addresses" "127.0.0.1                      1         1" \
	    "$(sed -n '/^addresses refused most/,$p' "$T/out" | sed 1d)"
	# the report that closes the run of the suite
	cat "$T/out"
}

# shellcheck source=/dev/null
. shunit2
