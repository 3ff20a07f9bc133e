#!/bin/sh
# shellcheck disable=SC2317 # shunit2 calls the functions
# t/responder.sh: earlytalker-wrap's responder, for a client that earlytalker
# marked: its replies, at RCPT or at MAIL (-m), its bounds (errors,
# commands, line length, time) and its log line.
#
# Alone: ./test t/responder.sh, or sh t/responder.sh [-- testName ...]

# shellcheck source=t/lib.sh
. "$(dirname "$0")/lib.sh"

oneTimeSetUp() {
	lib_setup || return 1
	make_fake
}

testResponderReplies() {
	# shellcheck disable=SC2086
	serve env 'EARLYTALKER=-Go away' $RUNNER "$EW" "$T/fake"
	client until:'\n' send:'HELO x\r\nNOOP\r\nRSET\r\nVRFY postmaster\r\nHELP\r\nSTARTTLS\r\nAUTH PLAIN AGFAYg==\r\nETRN x\r\nEXPN x\r\nXYZZY\r\n\r\nRCPT TO:<c@d.example>\r\nMAIL FROM:<a@b.example>\r\nMAIL FROM:<e@f.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nRSET\r\nRCPT TO:<c@d.example>\r\nQUIT\r\n' read
	expect '%s\r\n' '220 localhost ESMTP' '250 localhost' '250 2.0.0 Ok' \
	    '250 2.0.0 Ok' '252 2.0.0 Cannot VRFY user' \
	    '214 2.0.0 See RFC 5321' '454 4.7.0 TLS not available' \
	    '502 5.5.1 Command not implemented' \
	    '502 5.5.1 Command not implemented' \
	    '502 5.5.1 Command not implemented' \
	    '502 5.5.2 Command not recognized' \
	    '502 5.5.2 Command not recognized' '503 5.5.1 MAIL first' \
	    '250 2.1.0 Ok' '503 5.5.1 Nested MAIL command' \
	    '550 5.7.1 Go away' '503 5.5.1 No valid recipients' \
	    '250 2.0.0 Ok' '503 5.5.1 MAIL first' \
	    '221 2.0.0 localhost closing'
	assertBytes "one reply per command, in order"
	assertWithin "closed at QUIT" "$(timeof eof)" 0 0.5
	assertFalse "prog ran" "[ -f '$T/fake.env' ]"
	settle
	assertEquals "exit" 0 "$(status)"
	assertLog "the refused recipient" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: reject: helo=<x> from=<a@b\.example> to=<c@d\.example>: 550 5\.7\.1'
	assertEquals "one line per refused recipient" 1 "$(logs | wc -l)"
}

testResponderBdatCloses() {
	# shellcheck disable=SC2086
	serve env EARLYTALKER=-no $RUNNER "$EW" "$T/fake"
	client send:'EHLO x\r\nMAIL FROM:<a@b.example>\r\nBDAT 6 LAST\r\nNOOP\r\n' read
	expect '220 localhost ESMTP\r\n250-localhost\r\n250-PIPELINING\r\n250 8BITMIME\r\n250 2.1.0 Ok\r\n503 5.5.1 No valid recipients\r\n'
	assertBytes "503, then the close: the chunk is not read as commands"
	assertWithin "closed at once" "$(timeof eof)" 0 0.5
	settle
	assertEquals "exit" 0 "$(status)"
}

testResponderTemporary() {
	# shellcheck disable=SC2086
	serve env 'EARLYTALKER=Try later' $RUNNER "$EW" -p "$T/fake"
	client send:'EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nQUIT\r\n' read
	expect '220 localhost ESMTP\r\n250-localhost\r\n250-PIPELINING\r\n250 8BITMIME\r\n250 2.1.0 Ok\r\n450 4.7.1 Try later\r\n221 2.0.0 localhost closing\r\n'
	assertBytes "no leading -: 450 at RCPT, whatever -p says"
	settle
	assertLog "450" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: reject: helo=<x> from=<a@b\.example> to=<c@d\.example>: 450 4\.7\.1'
}

testResponderAtMail() {
	# shellcheck disable=SC2086
	serve env 'EARLYTALKER=-Go away' $RUNNER "$EW" -m "$T/fake"
	client send:'HELO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nQUIT\r\n' read
	expect '220 localhost ESMTP\r\n250 localhost\r\n550 5.7.1 Go away\r\n503 5.5.1 MAIL first\r\n221 2.0.0 localhost closing\r\n'
	assertBytes "-m: 550 at MAIL, then RCPT has no MAIL"
	settle
	assertLog "the sender" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: reject: helo=<x> from=<a@b\.example>: 550 5\.7\.1'
	assertEquals "one line" 1 "$(logs | wc -l)"
	unserve
	# shellcheck disable=SC2086
	serve env 'EARLYTALKER=Try later' $RUNNER "$EW" -m "$T/fake"
	client send:'HELO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nQUIT\r\n' read
	expect '220 localhost ESMTP\r\n250 localhost\r\n451 4.7.1 Try later\r\n503 5.5.1 MAIL first\r\n221 2.0.0 localhost closing\r\n'
	assertBytes "-m, temporary: 451 at MAIL (RFC 5321 4.3.2)"
	settle
	assertLog "451" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: reject: helo=<x> from=<a@b\.example>: 451 4\.7\.1'
}

testResponderName() {
	# shellcheck disable=SC2086
	serve env EARLYTALKER=-no $RUNNER "$EW" -h mx.example "$T/fake"
	client send:'HELO x\r\nEHLO x\r\nQUIT\r\n' read
	expect '220 mx.example ESMTP\r\n250 mx.example\r\n250-mx.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n221 2.0.0 mx.example closing\r\n'
	assertBytes "-h beats TCPLOCALHOST"
	unserve
	# shellcheck disable=SC2086
	serve env EARLYTALKER=-no $RUNNER "$EW" -h "$(printf 'a\033b\r\nc')" "$T/fake"
	client send:'QUIT\r\n' read
	expect '220 a?b??c ESMTP\r\n221 2.0.0 a?b??c closing\r\n'
	assertBytes "-h made printable"
}

testResponderLexical() {
	# shellcheck disable=SC2086
	serve env 'EARLYTALKER=-Go away' $RUNNER "$EW" "$T/fake"
	client send:'helo a\0b\r\nmAiL fRoM:<a@b.example>\r\nrcpt to:<c@d.example>\r\nnoop\nNO\0OP\r\nquit\n' read
	expect '220 localhost ESMTP\r\n250 localhost\r\n250 2.1.0 Ok\r\n550 5.7.1 Go away\r\n250 2.0.0 Ok\r\n502 5.5.2 Command not recognized\r\n221 2.0.0 localhost closing\r\n'
	assertBytes "lower case, bare LF, NUL"
	settle
	assertEquals "exit: no crash" 0 "$(status)"
	assertLog "NUL escaped" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: reject: helo=<a\\000b> from=<a@b\.example> to=<c@d\.example>: 550 5\.7\.1'
}

testResponderLongLines() {
	# shellcheck disable=SC2086
	serve env EARLYTALKER=-no $RUNNER "$EW" "$T/fake"
	# 1000 bytes with CR LF are taken; 1001 are too long
	client send:'NOOP ' bulk:993:'x' send:'\r\n' until:'Ok\r\n' \
	    send:'NOOP ' bulk:994:'x' send:'\r\n' until:'long\r\n' \
	    send:'NOOP\r\n' bulk:100000:'y' send:'\r\nHELO x\r\nQUIT\r\n' read
	expect '220 localhost ESMTP\r\n250 2.0.0 Ok\r\n500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n500 5.5.2 Line too long\r\n250 localhost\r\n221 2.0.0 localhost closing\r\n'
	assertBytes "500, then the next command as usual"
	settle
	assertEquals "exit" 0 "$(status)"
}

testResponderPipelinedInOneWrite() {
	# shellcheck disable=SC2086
	serve "$ET" -w 2 -d $RUNNER "$EW" "$T/fake"
	client send:'EHLO bot.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nRCPT TO:<e@f.example>\r\nRCPT TO:<g@h.example>\r\nDATA\r\nQUIT\r\n' read
	expect '%s\r\n' '220 localhost ESMTP' '250-localhost' \
	    '250-PIPELINING' '250 8BITMIME' '250 2.1.0 Ok' \
	    '550 5.7.1 Connecting host started transmitting before SMTP greeting' \
	    '550 5.7.1 Connecting host started transmitting before SMTP greeting' \
	    '550 5.7.1 Connecting host started transmitting before SMTP greeting' \
	    '503 5.5.1 No valid recipients' '221 2.0.0 localhost closing'
	assertBytes "every reply, in order"
	settle
	for r in c@d e@f g@h; do
		assertLog "$r" \
		    "earlytalker-wrap: 127\\.0\\.0\\.1 pid x: reject: helo=<bot\\.example> from=<a@b\\.example> to=<$r\\.example>: 550 5\\.7\\.1"
	done
	assertEquals "three reject lines" 3 "$(logs | grep -c ': reject: ')"
}

testResponderErrorBound() {
	# shellcheck disable=SC2086
	serve env EARLYTALKER=-no $RUNNER "$EW" "$T/fake"
	client bulk:30:'XYZZY\r\n' read
	assertEquals "20 errors" 20 \
	    "$(grep -c '^502 5.5.2 Command not recognized' "$T/out")"
	assertEquals "then 421, and no more" \
	    "421 4.7.0 localhost closing connection" \
	    "$(tail -n 1 "$T/out" | tr -d '\r')"
	assertEquals "replies in all" 22 "$(wc -l < "$T/out")"
	assertWithin "closed at once" "$(timeof eof)" 0 0.5
	unserve
	# a bot with many recipients: its MAIL and 19 refusals make the
	# 20 commands
	# shellcheck disable=SC2086
	serve env EARLYTALKER=-no $RUNNER "$EW" -q "$T/fake"
	client send:'MAIL FROM:<a@b>\r\n' bulk:30:'RCPT TO:<c@d>\r\n' read
	assertEquals "19 refusals" 19 "$(grep -c '^550 5.7.1 no' "$T/out")"
	assertEquals "then 421" "421 4.7.0 localhost closing connection" \
	    "$(tail -n 1 "$T/out" | tr -d '\r')"
	settle
	assertEquals "-q: no log" "" "$(logs)"
}

testResponderCommandBound() {
	# shellcheck disable=SC2086
	serve env EARLYTALKER=-no $RUNNER "$EW" "$T/fake"
	client bulk:150:'NOOP\r\n' read
	assertEquals "20 commands" 20 "$(grep -c '^250 2.0.0 Ok' "$T/out")"
	assertEquals "then 421" "421 4.7.0 localhost closing connection" \
	    "$(tail -n 1 "$T/out" | tr -d '\r')"
	assertEquals "replies in all" 22 "$(wc -l < "$T/out")"
	assertFalse "reset" "grep -q reset '$T/times'"
}

testResponderTimeLimit() {
	# -i 5: the session limit ends it, not the silence
	# shellcheck disable=SC2086
	serve env EARLYTALKER=-no $RUNNER "$EW" -T 1 -i 5 "$T/fake"
	client read
	expect '220 localhost ESMTP\r\n421 4.7.0 localhost closing connection\r\n'
	assertBytes "421 when -T runs out"
	assertWithin "after 1 s" "$(timeof eof)" 1.0 1.5
	settle
	assertEquals "exit" 0 "$(status)"
}

testResponderLogEscapes() {
	# shellcheck disable=SC2086
	serve env EARLYTALKER=-no $RUNNER "$EW" "$T/fake"
	client send:'EHLO a\rb\x1b[2J"\\\r\nMAIL FROM:<"x\ty"@b\xff.example> SIZE=9\r\nRCPT TO:<c\x01d\x7f>\r\nQUIT\r\n' read
	expect '220 localhost ESMTP\r\n250-localhost\r\n250-PIPELINING\r\n250 8BITMIME\r\n250 2.1.0 Ok\r\n550 5.7.1 no\r\n221 2.0.0 localhost closing\r\n'
	assertBytes "client text is never echoed"
	settle
	assertLog "escaped fields" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: reject: helo=<a\\rb\\033\[2J\\"\\\\> from=<\\"x\\ty\\"@b\\377\.example> to=<c\\001d\\177>: 550 5\.7\.1'
	assertEquals "one line" 1 "$(logs | wc -l)"
	unserve
	# shellcheck disable=SC2086
	serve env EARLYTALKER=-no $RUNNER "$EW" "$T/fake"
	client send:'HELO ' bulk:990:'\xff' send:'\r\nMAIL FROM:<' \
	    bulk:980:"\\\\" send:'>\r\nRCPT TO:<' bulk:980:'\x1b' \
	    send:'>\r\nQUIT\r\n' read
	settle
	assertLog "cut fields" \
	    'earlytalker-wrap: 127\.0\.0\.1 pid x: reject: helo=<(\\377)+> from=<(\\\\)+> to=<(\\033)+>: 550 5\.7\.1'
	assertTrue "shorter than 1000 bytes: $(logs | wc -c)" \
	    "[ $(logs | wc -c) -lt 1000 ]"
}

# shellcheck source=/dev/null
. shunit2
