#!/bin/sh
# shellcheck disable=SC2317 # shunit2 calls the functions
# t/observe.sh: look before you enforce: observe mode (-o,
# $EARLYTALKER_OBSERVE) and the configuration check (-n), on the wire and
# on the shipped examples.
#
# Alone: ./test t/observe.sh, or sh t/observe.sh [-- testName ...]

# shellcheck source=t/lib.sh
. "$(dirname "$0")/lib.sh"

oneTimeSetUp() {
	lib_setup || return 1
	make_fake
}

# --- observe mode ---
# observe: every decision logged as "observe:", the client handed to
# prog untouched, its early bytes unread, without a mark
testObserveEarlytalker() {
	serve "$ET" -o -w 0.5 "$T/fake"
	client send:'EHLO x\r\n' until:'220 ' shut read
	settle
	expect '220 fake ESMTP\r\n'
	assertBytes "the early talker: greeted by prog"
	expect 'EHLO x\r\n'
	assertBytes "its early bytes reached prog" "$T/fake.in"
	assertWithin "no wait after it spoke" "$(timeof first)" 0 0.45
	assertLog "logged as it would be refused" \
	    'earlytalker: 127\.0\.0\.1 pid x: observe: early: 8 bytes after 0\.[0-9]{3} s: "EHLO x\\r\\n" smtp: reject 554'
	assertTrue "the next program observes too" \
	    "grep -qx 'EARLYTALKER_OBSERVE=' '$T/fake.env'"
	assertFalse "no mark" "grep -q '^EARLYTALKER=' '$T/fake.env'"
	assertEquals "prog's status" 0 "$(status)"

	# -d: the mark it would set is logged, not set
	serve "$ET" -o -d -w 0.5 "$T/fake"
	client send:'EHLO x\r\n' until:'220 ' shut read
	settle
	assertLog "with -d" \
	    'earlytalker: 127\.0\.0\.1 pid x: observe: early: 8 bytes after 0\.[0-9]{3} s: "EHLO x\\r\\n" smtp: mark'
	assertFalse "with -d: no mark" "grep -q '^EARLYTALKER=' '$T/fake.env'"

	# marked on entry (a rules entry): prog at once, without the mark
	for args in '-Go away|-o|marked: reject 554' \
	    'Later|-o -t|marked: reject 421' '-Go away|-o -d|marked: mark'; do
		v=${args%%|*}
		o=${args#*|}
		o=${o%%|*}
		# shellcheck disable=SC2086
		serve env EARLYTALKER="$v" "$ET" $o -w 2 "$T/fake"
		client until:'220 ' shut read
		settle
		expect '220 fake ESMTP\r\n'
		assertBytes "marked $v, $o: greeted by prog"
		assertWithin "marked $v, $o: at once" "$(timeof first)" 0 1
		assertLog "marked $v, $o" \
		    "earlytalker: 127\\.0\\.0\\.1 pid x: observe: ${args##*|}"
		assertFalse "marked $v, $o: no mark for prog" \
		    "grep -q '^EARLYTALKER=' '$T/fake.env'"
	done

	# per client, from the rules: present turns it on; empty is its
	# form, another value warns once and is passed on empty
	for v in '' no; do
		serve env EARLYTALKER_OBSERVE="$v" "$ET" -w 0.5 "$T/fake"
		client send:'EHLO x\r\n' until:'220 ' shut read
		settle
		assertLog "EARLYTALKER_OBSERVE=\"$v\"" \
		    'earlytalker: 127\.0\.0\.1 pid x: observe: early: 8 bytes after 0\.[0-9]{3} s: "EHLO x\\r\\n" smtp: reject 554'
		assertTrue "EARLYTALKER_OBSERVE=\"$v\": passed on empty" \
		    "grep -qx 'EARLYTALKER_OBSERVE=' '$T/fake.env'"
	done
	assertLog "a value: a warning" \
	    'earlytalker: 127\.0\.0\.1 pid x: warning: EARLYTALKER_OBSERVE "no" is not empty: observing'
	assertEquals "a value: no refusal" 2 "$(logs | wc -l)"

	# a quiet client: as ever, greeted after the wait, no line
	serve "$ET" -o -w 0.5 "$T/fake"
	client until:'220 ' shut read
	settle
	assertWithin "a quiet client: the wait" "$(timeof first)" 0.5 1.0
	assertEquals "a quiet client: no line" "" "$(logs)"
}

# earlytalker-wrap observes a marked client: what the responder would
# refuse, once, and prog gets the client, without the mark
testObserveWrap() {
	serve env EARLYTALKER='-Go away' "$EW" -o "$T/fake"
	client until:'220 ' \
	    send:'EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nRCPT TO:<e@d.example>\r\n' \
	    shut read
	settle
	expect '220 fake ESMTP\r\n'
	assertBytes "greeted by prog"
	expect 'EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nRCPT TO:<e@d.example>\r\n'
	assertBytes "the session went to prog" "$T/fake.in"
	assertEquals "one line" "earlytalker-wrap: 127.0.0.1 pid x: observe: marked: reject 550 5.7.1 at RCPT" \
	    "$(logs)"
	assertFalse "no mark for prog" "grep -q '^EARLYTALKER=' '$T/fake.env'"
	for args in 'Later|-o|reject 450 4.7.1 at RCPT' \
	    'Later|-o -m|reject 451 4.7.1 at MAIL' \
	    '-Go away|-o -m|reject 550 5.7.1 at MAIL'; do
		v=${args%%|*}
		o=${args#*|}
		o=${o%%|*}
		# shellcheck disable=SC2086
		serve env EARLYTALKER="$v" "$EW" $o "$T/fake"
		client until:'220 ' shut read
		settle
		assertEquals "$v, $o" "earlytalker-wrap: 127.0.0.1 pid x: observe: marked: ${args##*|}" \
		    "$(logs)"
	done
	# from earlytalker -o, or a rules entry: $EARLYTALKER_OBSERVE
	serve env EARLYTALKER='-Go away' EARLYTALKER_OBSERVE= "$EW" "$T/fake"
	client until:'220 ' shut read
	settle
	expect '220 fake ESMTP\r\n'
	assertBytes "EARLYTALKER_OBSERVE: greeted by prog"
	assertLog "EARLYTALKER_OBSERVE" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: observe: marked: reject 550 5\.7\.1 at RCPT'
	# trusted and exempt clients: as ever
	serve env RELAYCLIENT= EARLYTALKER='-Go away' "$EW" -o -v "$T/fake"
	client until:'220 ' shut read
	settle
	assertEquals "trusted" "earlytalker-wrap: 127.0.0.1 pid x: skip: relayclient" \
	    "$(logs)"
}

# the rules of the shipped etc/tcp.smtp, and one network observed while
# the rest is enforced
observe_rules() {
	rules "$pub/tcp.smtp.cdb"
	{ cat "$pub/tcp.smtp.cdb.txt"; echo '127.0.3.:allow,EARLYTALKER_OBSERVE=""'; } \
	    > "$pub/obs.txt"
	tcprules "$pub/obs.cdb" "$pub/obs.tmp" < "$pub/obs.txt" ||
	    fail "tcprules refused the observe rule"
	chmod 644 "$pub/obs.cdb"
}

# a mixed run in observe mode: bots, a polite client, a marked host, all
# handed to the real server (mailfront), their mail queued; the shipped
# fail2ban filter and the multilog selector of log/run take none of the
# observe lines, and do take the refusals of the network enforced
testObserveChain() {
	for tool in tcprules fail2ban-regex multilog smtpfront-qmail; do
		skip_for "$tool" && return
	done
	exercised fail2ban-regex fail2ban
	deploy_setup
	observe_rules
	# the whole chain observes, the relay's DATA check too
	# shellcheck disable=SC2086
	serve -x "$pub/tcp.smtp.cdb" $RUNNER "$ET" -o -w 1 -d $RUNNER "$EW" \
	    -D 0.3 "$pub/smtpd"
	bot tclient 127.0.0.11 bot &
	p1=$!
	mailer polite@example.org polite tclient 127.0.0.8 polite &
	p2=$!
	mailer marked@example.org marked tclient 127.0.0.9 marked &
	p3=$!
	tclient 127.0.0.22 hangup shut read &
	p4=$!
	# a bot that waits for the greeting and EHLO, not for the 354
	hasty 'MAIL FROM:<h@client.example>\r\nRCPT TO:<hasty@example.org>\r\nDATA\r\nSubject: hasty\r\n\r\nhasty\r\n.\r\nQUIT\r\n' &
	p5=$!
	wait "$p1" "$p2" "$p3" "$p4" "$p5"
	settle
	cp "$T/log" "$T/obs.log"
	assertEquals "the bot's message, queued" 1 "$(queued victim@example.org)"
	assertEquals "the early-at-DATA bot's, queued" 1 \
	    "$(queued hasty@example.org)"
	assertQueued "the polite client" polite@example.org polite
	assertQueued "the marked host" marked@example.org marked
	assertEquals "every session ended well" "" "$(status | grep -vx 0)"
	for re in 'earlytalker: 127\.0\.0\.11 pid x: observe: early: 116 bytes after 0\.[0-9]{3} s: ".*" smtp: mark' \
	    'earlytalker-wrap: 127\.0\.0\.11 pid x: observe: early at DATA: [0-9]+ bytes after 0\.[0-9]{3} s: "Subject: spam\\r\\n.*": reject 554' \
	    'earlytalker: 127\.0\.0\.9 pid x: observe: marked: mark' \
	    'earlytalker-wrap: 127\.0\.0\.13 pid x: observe: early at DATA: 34 bytes after 0\.[0-9]{3} s: "Subject: hasty\\r\\n\\r\\nhasty\\r\\n\.\\r\\nQUIT\\r\\n": reject 554'; do
		assertLog "observed" "$re"
	done
	assertEquals "no other line" 4 "$(logs | wc -l)"

	# one network observed (rules), the rest enforced
	# shellcheck disable=SC2086
	serve -x "$pub/obs.cdb" $RUNNER "$ET" -w 1 -d $RUNNER "$EW" "$pub/smtpd"
	bot tclient 127.0.3.5 obsbot &
	p1=$!
	bot tclient 127.0.0.12 bot2 &
	p2=$!
	wait "$p1" "$p2"
	settle
	assertEquals "the observed network's bot: queued" 2 \
	    "$(queued victim@example.org)"
	grep -q '^550 5\.7\.1 Connecting host' "$T/bot2.out" ||
	    fail "the bot elsewhere was not refused: $(cat "$T/bot2.out")"
	assertLog "the observed network" \
	    'earlytalker: 127\.0\.3\.5 pid x: observe: early: 116 bytes after 0\.[0-9]{3} s: ".*" smtp: mark'
	assertLog "the rest, enforced" \
	    'earlytalker: 127\.0\.0\.12 pid x: early: 116 bytes after 0\.[0-9]{3} s: ".*" smtp: mark'
	grep '127\.0\.3\.5' "$T/log" >> "$T/obs.log"
	grep '127\.0\.0\.12' "$T/log" | grep -v '^tcpserver' > "$T/enf.log"

	# earlytalker-wrap alone in front of the server, a rules mark
	# shellcheck disable=SC2086
	serve -x "$pub/tcp.smtp.cdb" $RUNNER "$EW" -o "$pub/smtpd"
	mailer wrapped@example.org wrapped tclient 127.0.0.9 wrapped
	settle
	assertQueued "earlytalker-wrap -o: the marked host" wrapped@example.org \
	    wrapped
	assertLog "earlytalker-wrap -o" \
	    'earlytalker-wrap: 127\.0\.0\.9 pid x: observe: marked: reject 550 5\.7\.1 at RCPT'
	cat "$T/log" >> "$T/obs.log"
	assertEquals "observe lines" 6 "$(grep -c ': observe: ' "$T/obs.log")"

	# the shipped filter: nothing of observe, the refusals of the rest
	filter=$ETC/fail2ban/filter.d/earlytalker.conf
	rm -rf "$T/ml"
	cat "$T/obs.log" "$T/enf.log" | multilog t "$T/ml"
	fail2ban-regex -o msg "$T/ml/current" "$filter" > "$T/f2b" 2>&1 ||
	    fail "fail2ban-regex: $(cat "$T/f2b")"
	assertEquals "fail2ban matches no observe line" 0 \
	    "$(grep -c 'observe' "$T/f2b")"
	assertEquals "fail2ban matches the enforced lines, all" \
	    "$(sort "$T/enf.log")" "$(sed 's/^@[0-9a-f]* //' "$T/f2b" | sort)"
	sed 's/^/Nov 29 19:31:00 mx earlytalker: /' "$T/obs.log" > "$T/syslog"
	fail2ban-regex -o msg "$T/syslog" "${filter}[logform=syslog]" \
	    > "$T/f2b" 2>&1 || fail "fail2ban-regex: $(cat "$T/f2b")"
	assertEquals "syslog: fail2ban matches no observe line" "" \
	    "$(cat "$T/f2b")"
	# the shipped log/run: ./early, fail2ban's, takes no observe line
	pats=$(grep -E "^[[:space:]]+'" "$ETC/daemontools/log/run" |
	    grep -o "'[^']*'" | tr '\n' ' ')
	rm -rf "$T/mlo"
	mkdir "$T/mlo"
	eval "multilog t '$T/mlo/main' $pats '$T/mlo/early'" < "$T/obs.log"
	assertEquals "log/run: nothing in ./early" 0 \
	    "$(wc -c < "$T/mlo/early/current")"
	assertEquals "log/run: all in ./main" "$(wc -l < "$T/obs.log")" \
	    "$(wc -l < "$T/mlo/main/current")"
	rm -rf "$T/mle"
	mkdir "$T/mle"
	eval "multilog t '$T/mle/main' $pats '$T/mle/early'" < "$T/enf.log"
	assertEquals "log/run: the enforced lines in ./early" \
	    "$(wc -l < "$T/enf.log")" "$(wc -l < "$T/mle/early/current")"
}

# --- the configuration check (-n) ---

# -n: read everything, run nothing: the settings, one a line; 100 for a
# bad option, 111 for what would fail every client; fd 0 untouched
testCheckEarlytalker() {
	mkdir -p "$T/cache"
	et -n -w 2 -d -l 1 -c "$T/cache" "$T/fake" < /dev/null
	assertEquals "exit" 0 $?
	expect 'observe no\nwait 2.000\naction mark\nlinger 1.000\nlog default\nteaser -\ncache %s\nttl 86400.000\nproxy no\nrules -\nprog %s\n' \
	    "$T/cache" "$T/fake"
	assertBytes "the settings"
	assertEquals "nothing on fd 2" "" "$(cat "$T/err")"
	assertEquals "nothing left in the cache" "" "$(ls -A "$T/cache")"

	rules "$T/tcp.smtp.cdb"
	et -n -o -t -q -b 'hi	there' -C 60 -P -x "$T/tcp.smtp.cdb" -w 1-3 \
	    -l 0 cat < /dev/null
	assertEquals "every option: exit" 0 $?
	expect 'observe yes\nwait 1.000-3.000\naction reject 421\nlinger 0.000\nlog quiet\nteaser hi?there\ncache -\nttl 60.000\nproxy yes\nrules %s\nprog %s\n' \
	    "$T/tcp.smtp.cdb" "$(command -v cat)"
	assertBytes "every option: the settings"
	assertEquals "the shipped rules: no warning" "" "$(cat "$T/err")"
	et -n -w 0.3 -b 'x' true < /dev/null
	assertEquals "after a teaser: 550" "action reject 550" \
	    "$(grep '^action' "$T/out")"

	# the environment, as a run reads it
	EARLYTALKER_WAIT=0.5 EARLYTALKER_OBSERVE='' EARLYTALKER_PROXY='' \
	    et -n -w 2 true < /dev/null
	assertEquals "the environment" "observe yes wait 0.500 proxy yes" \
	    "$(grep -E '^(observe|wait|proxy) ' "$T/out" | tr '\n' ' ' | sed 's/ $//')"
	EARLYTALKER_WAIT=2s RELAYCLIENT='' EARLYTALKER=x et -n -w 2 true \
	    < /dev/null
	assertEquals "warnings: exit" 0 $?
	assertEquals "warnings" 'earlytalker: warning: EARLYTALKER_WAIT "2s" is not seconds from 0 to 300: using 2.000
earlytalker: warning: RELAYCLIENT is set: every client is trusted, none is checked
earlytalker: warning: EARLYTALKER is set: every client is marked' "$(cat "$T/err")"
	assertEquals "a bad EARLYTALKER_WAIT: -w" "wait 2.000" \
	    "$(grep '^wait' "$T/out")"

	# usage errors: as a run, 100
	et -n -w 2s true < /dev/null
	usageIs earlytalker "-n -w 2s" $? "-w 2s: not seconds from 0 to 300"
	et -n < /dev/null
	usageIs earlytalker "-n" $? "no program to run"

	# each rule read; what a run would warn of, named by its rule
	printf '%s\n' '198.51.100.:allow,EARLYTALKER_WAIT="5s"' \
	    '10.:allow,EARLYTALKER_OBSERVE="no"' '1.2.3.4:deny' ':allow' |
	    tcprules "$T/warn.cdb" "$T/warn.tmp"
	et -n -x "$T/warn.cdb" true < /dev/null
	assertEquals "rules that warn: exit" 0 $?
	assertEquals "rules that warn" "earlytalker: warning: rules $T/warn.cdb: rule \"198.51.100.\": EARLYTALKER_WAIT \"5s\" is not seconds from 0 to 300: using 1.000
earlytalker: warning: rules $T/warn.cdb: rule \"10.\": EARLYTALKER_OBSERVE \"no\" is not empty: observing" \
	    "$(cat "$T/err")"
	# what fails every client: 111, each reason said
	echo 'not a cdb' > "$T/junk.cdb"
	head -c 2100 "$T/tcp.smtp.cdb" > "$T/short.cdb"
	for c in "nosuch:No such file or directory" "junk.cdb:not a cdb" \
	    "short.cdb:not a cdb"; do
		et -n -x "$T/${c%%:*}" true < /dev/null
		assertEquals "rules ${c%%:*}: exit" 111 $?
		assertEquals "rules ${c%%:*}" \
		    "earlytalker: fatal: unable to read rules $T/${c%%:*}: ${c#*:}" \
		    "$(cat "$T/err")"
	done
	et -n -c "$T/nodir" true < /dev/null
	assertEquals "no cache dir: exit" 111 $?
	assertEquals "no cache dir" \
	    "earlytalker: fatal: unable to write pass cache $T/nodir: No such file or directory" \
	    "$(cat "$T/err")"
	et -n -c "$T/junk.cdb" true < /dev/null
	assertEquals "a file for the cache dir" \
	    "earlytalker: fatal: unable to write pass cache $T/junk.cdb: Not a directory" \
	    "$(cat "$T/err")"
	et -n -w 1 "$T/nosuch" < /dev/null
	assertEquals "no prog: exit" 111 $?
	assertEquals "no prog" \
	    "earlytalker: fatal: unable to run $T/nosuch: No such file or directory" \
	    "$(cat "$T/err")"
	assertEquals "no prog: the settings still" "prog $T/nosuch" \
	    "$(tail -n 1 "$T/out")"
	et -n "$T/junk.cdb" < /dev/null
	assertEquals "prog not executable" \
	    "earlytalker: fatal: unable to run $T/junk.cdb: Permission denied" \
	    "$(cat "$T/err")"
	PATH="$T:$PATH" et -n fake < /dev/null
	assertEquals "prog found on PATH" "prog $T/fake" "$(tail -n 1 "$T/out")"
	PATH=/nonexistent "$ET" -n fake < /dev/null > /dev/null 2> "$T/err"
	assertEquals "prog not on PATH: exit" 111 $?
	et -n -x "$T/nosuch" -c "$T/nodir" nosuch-prog < /dev/null
	assertEquals "three reasons, each said" 3 "$(grep -c ': fatal: ' "$T/err")"

	# no client: fd 0 untouched (its bytes still there), closed too;
	# no TCPREMOTEIP; no wait
	printf 'EHLO x\r\n' > "$T/in"
	t0=$(date +%s%N)
	{ $RUNNER "$ET" -n -w 300 true > "$T/out" 2> "$T/err"; cat > "$T/rest"; } \
	    < "$T/in"
	assertEquals "fd 0 untouched: exit" 0 $?
	assertWithin "no wait" "$((($(date +%s%N) - t0) / 1000000))e-3" 0 1
	expect 'EHLO x\r\n'
	assertBytes "fd 0 untouched: its bytes still there" "$T/rest"
	$RUNNER "$ET" -n true <&- > "$T/out" 2> "$T/err"
	assertEquals "fd 0 closed: exit" 0 $?
	assertEquals "fd 0 closed: nothing on fd 2" "" "$(cat "$T/err")"
}

testCheckWrap() {
	ew -n -D 0.5 -S -t -m -T 30 -i 2 -h mx.example -v "$T/fake" < /dev/null
	assertEquals "exit" 0 $?
	expect 'observe no\ndata 0.500\nsync yes\naction reject 421\nresponder MAIL\nsession 30.000\nidle 2.000\nhost mx.example\nlog verbose\nprog %s\n' \
	    "$T/fake"
	assertBytes "the settings"
	assertEquals "nothing on fd 2" "" "$(cat "$T/err")"
	TCPLOCALHOST=mail.example.org EARLYTALKER_OBSERVE=1 ew -n cat \
	    < /dev/null
	expect 'observe yes\ndata -\nsync no\naction reject 554\nresponder RCPT\nsession 60.000\nidle 0.500\nhost mail.example.org\nlog default\nprog %s\n' \
	    "$(command -v cat)"
	assertBytes "the defaults and the environment"
	assertEquals "a value: a warning" \
	    'earlytalker-wrap: warning: EARLYTALKER_OBSERVE "1" is not empty: observing' \
	    "$(cat "$T/err")"
	ew -n -D 61 true < /dev/null
	usageIs earlytalker-wrap "-n -D 61" $? "-D 61: not seconds from 0 to 60"
	ew -n -D 1 "$T/nosuch" < /dev/null
	assertEquals "no prog: exit" 111 $?
	assertEquals "no prog" \
	    "earlytalker-wrap: fatal: unable to run $T/nosuch: No such file or directory" \
	    "$(cat "$T/err")"
	printf 'EHLO x\r\n' > "$T/in"
	{ $RUNNER "$EW" -n -D 1 true > "$T/out" 2> "$T/err"; cat > "$T/rest"; } \
	    < "$T/in"
	expect 'EHLO x\r\n'
	assertBytes "fd 0 untouched" "$T/rest"
}

# checkrun FILE [SED ...]: the shipped daemontools run script with our
# paths, user and port (as testDeployDaemontools), and the SED scripts,
# into $pub/run; then "sh run check", output in $T/out; its exit in $st
checkrun() {
	f=$1
	shift
	sed -e "s|^BIN=[^ ]*|BIN=$pub/bin|" -e "s|^SMTPD=[^ ]*|SMTPD=$pub/smtpd|" \
	    -e "s|^RULES=[^ ]*|RULES=$pub/tcp.smtp.cdb|" \
	    -e 's|^SMTPUSER=[^ ]*|SMTPUSER=nobody|' -e 's|^IP=[^ ]*|IP=127.0.0.1|' \
	    -e 's|^PORT=[^ ]*|PORT=0|' "$@" "$ETC/daemontools/run" > "$pub/run"
	(cd "$pub" && sh ./run "$f" > "$T/out" 2>&1)
	st=$?
}

# the shipped examples, checked with -n (paths rewritten, as the deploy
# tests do): 0 as shipped; 100 for WAIT=2s; 111 for an unreadable cdb or
# a missing next program; and the systemd socket checks what the service
# runs
testCheckShippedExamples() {
	for tool in setuidgid tcprules; do
		skip_for "$tool" && return
	done
	deploy_setup
	rules "$pub/tcp.smtp.cdb"
	checkrun check
	assertEquals "daemontools run check: exit" 0 "$st"
	expect 'observe yes\nwait 2.000\naction mark\nlinger 2.000\nlog default\nteaser -\ncache -\nttl 86400.000\nproxy no\nrules %s\nprog %s\nobserve yes\ndata -\nsync no\naction reject 554\nresponder RCPT\nsession 60.000\nidle 0.500\nhost mail.example.org\nlog default\nprog %s\n' \
	    "$pub/tcp.smtp.cdb" "$pub/bin/earlytalker-wrap" "$pub/smtpd"
	assertBytes "daemontools run check: both programs' settings"
	checkrun check -e 's|^WAIT=[^ ]*|WAIT=2s|'
	assertEquals "WAIT=2s: exit" 100 "$st"
	assertEquals "WAIT=2s: why" "earlytalker: usage: -w 2s: not seconds from 0 to 300" \
	    "$(head -n 1 "$T/out")"
	checkrun check -e "s|^RULES=[^ ]*|RULES=$pub/nosuch.cdb|"
	assertEquals "no cdb: exit" 111 "$st"
	assertEquals "no cdb: why" "earlytalker: fatal: unable to read rules $pub/nosuch.cdb: No such file or directory" \
	    "$(grep fatal "$T/out")"
	cp "$pub/tcp.smtp.cdb" "$pub/secret.cdb"
	chmod 600 "$pub/secret.cdb"
	checkrun check -e "s|^RULES=[^ ]*|RULES=$pub/secret.cdb|"
	assertEquals "a cdb the user cannot read: exit" 111 "$st"
	assertEquals "a cdb the user cannot read: why" \
	    "earlytalker: fatal: unable to read rules $pub/secret.cdb: Permission denied" \
	    "$(grep fatal "$T/out")"
	checkrun check -e "s|^SMTPD=[^ ]*|SMTPD=$pub/nosuch|"
	assertEquals "no next program: exit" 111 "$st"
	assertEquals "no next program: why" \
	    "earlytalker-wrap: fatal: unable to run $pub/nosuch: No such file or directory" \
	    "$(grep fatal "$T/out")"
	# started by supervise: a failed check stops before tcpserver
	checkrun '' -e 's|^WAIT=[^ ]*|WAIT=2s|'
	assertEquals "run, WAIT=2s: exit" 100 "$st"
	assertFalse "run, WAIT=2s: no tcpserver" "grep -q tcpserver '$T/out'"

	# xinetd: the wrapper's check, on the installed script as README
	# has it copied
	examples || return
	r=$RUNNER
	RUNNER=	# the check names the programs themselves, not a valgrind
	wrapper_copy "$pub/smtpd"
	RUNNER=$r
	sh "$pub/sbin/earlytalker-smtpd" check > "$T/out" 2>&1
	assertEquals "xinetd check: exit" 0 $?
	assertEquals "xinetd check: both programs" "prog $EBIN/earlytalker-wrap
prog $pub/smtpd" "$(grep '^prog ' "$T/out")"
	sed -i 's|^WAIT=2 |WAIT=2s |' "$pub/sbin/earlytalker-smtpd"
	sh "$pub/sbin/earlytalker-smtpd" check > "$T/out" 2>&1
	assertEquals "xinetd check, -w 2s: exit" 100 $?

	# systemd: the socket's ExecStartPre is the service's ExecStart,
	# each program with -n, its settings the service's, and passes
	sock=$EX/systemd/earlytalker-smtp.socket
	cmd=$(sed -n 's/^ExecStart=//p' "$EX/systemd/earlytalker-smtp@.service")
	want="$(echo "$cmd" | sed 's|^\([^ ]*/earlytalker\) |\1 -n |')
$(echo "$cmd" | sed 's|^.* \([^ ]*/earlytalker-wrap\) |\1 -n |')"
	assertEquals "systemd: the socket checks what the service runs" \
	    "$want" "$(sed -n 's/^ExecStartPre=//p' "$sock")"
	assertEquals "systemd: the socket's settings are the service's" \
	    "$(grep -E '^Environment=(SMTPD|OBSERVE)=' "$EX/systemd/earlytalker-smtp@.service")" \
	    "$(grep '^Environment=' "$sock")"
	obs=$(sed -n 's/^Environment=OBSERVE=//p' "$sock")
	assertEquals "systemd: observing as shipped" -o "$obs"
	# shellcheck disable=SC2016 # systemd's ${SMTPD} and $OBSERVE
	sed -n 's/^ExecStartPre=//p' "$sock" |
	    sed -e "s|/etc/tcp.smtp.cdb|$pub/tcp.smtp.cdb|" \
	    -e 's|\${SMTPD}|'"$pub/smtpd|" -e 's|\$OBSERVE|'"$obs|g" \
	    > "$T/pre"
	n=0
	while read -r line; do
		# shellcheck disable=SC2086
		setuidgid nobody $line > /dev/null 2> "$T/err" < /dev/null
		assertEquals "systemd ExecStartPre $line" "0 " "$? $(cat "$T/err")"
		n=$((n + 1))
	done < "$T/pre"
	assertEquals "systemd: two checks" 2 "$n"
}

# shellcheck source=/dev/null
. shunit2
