# biglog.awk: a log of at least N lines (awk -v N=...), as multilog
# writes it under tcpserver -v -c 200, for earlytalker-stats: in each
# session tcpserver's status, pid, ok and end lines around earlytalker's
# and earlytalker-wrap's.  Ten sessions in turn: 4 refused at once, 2
# marked and refused at RCPT, 3 passed, 1 observed.  What it wrote goes
# to the file C (awk -v C=...): "lines L", "sessions S", "refused R",
# "observed O", "passed P", "early E", "caught1 K" (early talkers within
# 1 s).
function out(s) {
	print stamp s
	n++
}
BEGIN {
	t = 1700000000
	pid = 1000
	while (n < N) {
		pid++
		t += 0.01
		sessions++
		ip = "192.0.2." (pid % 250 + 1)
		stamp = sprintf("@40000000%08x%08x ", int(t) + 10, 0)
		out("tcpserver: status: 1/200")
		out("tcpserver: pid " pid " from " ip)
		out("tcpserver: ok " pid " mx:192.0.2.1:25 :" ip "::4000")
		k = pid % 10
		e = ip " pid " pid ": "
		if (k < 4) {
			out("earlytalker: " e "early: 14 bytes after 0." \
			    sprintf("%03d", pid % 1000) " s: \"EHLO spam.example\\r\\n\"" \
			    " smtp: reject 554")
			refused++
			early++
			caught1++
		} else if (k < 6) {
			out("earlytalker: " e "early: 116 bytes after 0.031 s: " \
			    "\"EHLO bot.example\\r\\nMAIL FROM:<bot@spam.example>" \
			    "\\r\\n...\" smtp: mark")
			out("earlytalker-wrap: " e "reject: helo=<bot.example> " \
			    "from=<bot@spam.example> to=<victim@example.org>: " \
			    "550 5.7.1")
			out("earlytalker-wrap: " e "reject: helo=<bot.example> " \
			    "from=<bot@spam.example> to=<other@example.org>: " \
			    "550 5.7.1")
			refused++
			early++
			caught1++
		} else if (k < 9) {
			out("earlytalker: " e "pass after 2.000 s")
			passed++
		} else {
			out("earlytalker: " e "observe: early: 5 bytes after " \
			    "1.200 s: \"GET /\" http: reject 554")
			observed++
			early++
		}
		out("tcpserver: end " pid " status 0")
		out("tcpserver: status: 0/200")
	}
	printf "lines %d\nsessions %d\nrefused %d\nobserved %d\npassed %d\n" \
	    "early %d\ncaught1 %d\n", n, sessions, refused, observed, passed,
	    early, caught1 > C
}
