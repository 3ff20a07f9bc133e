/*
 * respond.c: earlytalker-wrap's responder.  For a client that earlytalker
 * marked ($EARLYTALKER non-empty), it speaks SMTP in prog's place: greets,
 * accepts HELO, EHLO and MAIL, and refuses every recipient with the text
 * of $EARLYTALKER (or, with -m, the sender), logging who the client
 * claims to be and whom it writes to.  prog never runs.
 *
 * Bounded: MAXCOMMANDS commands, -T seconds, and after each reply a
 * silence of -i seconds and two round trips (silence_ms()): a client
 * that has gone quiet is let go, a far one that answers is not.  As in
 * postscreen, whose limit of 20 commands this is, every mail is refused
 * here, so junk and errors need no bound of their own.  The shape is
 * qmail-smtpd's: every reply text in one block, a verb table, and a
 * handler where a reply needs more than its text.
 */

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "respond.h"
#include "smtp.h"

#define MAXCOMMANDS 20		/* commands, then 421 */
#define FIELD 250		/* escaped bytes of a log field */

/* Every reply of the responder.  %s: our host name, or, after a code,
 * the text of $EARLYTALKER. */
#define R_GREET "220 %s ESMTP"
#define R_HELO "250 %s"
#define R_EHLO "250-%s\r\n250-PIPELINING\r\n250 8BITMIME"
#define R_MAILOK "250 2.1.0 Ok"
#define R_OK "250 2.0.0 Ok"
#define R_VRFY "252 2.0.0 Cannot VRFY user"
#define R_HELP "214 2.0.0 See RFC 5321"
#define R_QUIT "221 2.0.0 %s closing"
#define R_CLOSING "421 4.7.0 %s closing connection"
#define R_TLS "454 4.7.0 TLS not available"
#define R_LONG "500 5.5.2 Line too long"
#define R_NOTIMPL "502 5.5.1 Command not implemented"
#define R_UNKNOWN "502 5.5.2 Command not recognized"
#define R_NESTED "503 5.5.1 Nested MAIL command"
#define R_MAILFIRST "503 5.5.1 MAIL first"
#define R_NORCPT "503 5.5.1 No valid recipients"
#define R_REFUSE "%s %s"	/* a refusal's code, then its text */
/* the refusal's codes: $EARLYTALKER with a leading '-' asks for a
 * permanent one; RFC 5321 section 4.3.2: 450 is for RCPT, MAIL takes 451 */
#define R_PERM "550 5.7.1"
#define R_TEMPRCPT "450 4.7.1"
#define R_TEMPMAIL "451 4.7.1"

/* One session: the settings, the refusal, and what the client said. */
struct session {
	const struct responder *cf;
	char text[SMTP_TEXTMAX + 1];	/* the refusal's text */
	const char *code;		/* the refusal's code at RCPT */
	const char *mailcode;		/* at MAIL, with -m */
	char helo[FIELD + 1];		/* escaped, for the log */
	char from[FIELD + 1];
	char to[FIELD + 1];
	int havemail;			/* MAIL taken, no RSET since */
	const char *arg;		/* the command's argument */
	size_t arglen;
};

static int say(const char *, ...) PRINTFLIKE(1, 2);
static void bye(void) NORETURN;

/* A reply made from fmt: -1 if the client is gone. */
static int
say(const char *fmt, ...)
{
	char buf[SMTP_TEXTMAX + 64];
	va_list ap;

	va_start(ap, fmt);
	/* the analyzer misses the va_start (as in io.c) */
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
	(void)vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return reply(buf);
}

/* After the last reply of a session: a clean close, exit 0. */
static void
bye(void)
{
	close_clean();
	exit(0);
}

/* The refusal's code: permanent or not, at MAIL (-m) or at RCPT. */
const char *
responder_code(int permanent, int atmail)
{
	if (permanent)
		return R_PERM;
	return atmail ? R_TEMPMAIL : R_TEMPRCPT;
}

/* The argument's address, escaped for the log, into f (FIELD + 1). */
static void
address(const struct session *s, char *f)
{
	const char *addr;
	size_t n;

	addr = smtp_addr(s->arg, &n);
	(void)smtp_escape(f, FIELD + 1, addr, n);
}

static int
helo(struct session *s)
{
	(void)smtp_escape(s->helo, sizeof s->helo, s->arg, s->arglen);
	return say(R_HELO, s->cf->host);
}

static int
ehlo(struct session *s)
{
	(void)smtp_escape(s->helo, sizeof s->helo, s->arg, s->arglen);
	return say(R_EHLO, s->cf->host);
}

static int
mail(struct session *s)
{
	int r;

	if (s->havemail)	/* the log keeps the first sender */
		return reply(R_NESTED);
	address(s, s->from);
	if (!s->cf->mailreject) {
		s->havemail = 1;
		return reply(R_MAILOK);
	}
	r = say(R_REFUSE, s->mailcode, s->text);
	if (s->cf->verbosity > 0)
		log_line("reject: helo=<%s> from=<%s>: %s", s->helo, s->from,
		    s->mailcode);
	return r;
}

static int
rcpt(struct session *s)
{
	int r;

	if (!s->havemail)
		return reply(R_MAILFIRST);
	address(s, s->to);
	r = say(R_REFUSE, s->code, s->text);
	if (s->cf->verbosity > 0)
		log_line("reject: helo=<%s> from=<%s> to=<%s>: %s", s->helo,
		    s->from, s->to, s->code);
	return r;
}

static int
rset(struct session *s)
{
	s->havemail = 0;
	return reply(R_OK);
}

/* BDAT's chunk cannot be told from commands: the session ends. */
static int
bdat(struct session *s)
{
	(void)s;
	(void)reply(R_NORCPT);
	bye();
}

static int
quit(struct session *s)
{
	(void)say(R_QUIT, s->cf->host);
	bye();
}

/* The verbs: a handler, or a reply that is all there is to do. */
static const struct {
	int verb;
	int (*handler)(struct session *);
	const char *text;
} verbs[] = {
	{ V_HELO, helo, NULL }, { V_EHLO, ehlo, NULL },
	{ V_MAIL, mail, NULL }, { V_RCPT, rcpt, NULL },
	{ V_DATA, NULL, R_NORCPT }, { V_BDAT, bdat, NULL },
	{ V_RSET, rset, NULL }, { V_NOOP, NULL, R_OK },
	{ V_QUIT, quit, NULL }, { V_VRFY, NULL, R_VRFY },
	{ V_HELP, NULL, R_HELP }, { V_STARTTLS, NULL, R_TLS },
	{ V_AUTH, NULL, R_NOTIMPL }, { V_ETRN, NULL, R_NOTIMPL },
	{ V_EXPN, NULL, R_NOTIMPL },
	{ V_OTHER, NULL, R_UNKNOWN }	/* and an empty line */
};

/* One command line (st: LINE_OK or LINE_LONG): -1 if the client is gone. */
static int
command(struct session *s, const struct smtp_line *l, int st)
{
	size_t i;
	int verb;

	if (st == LINE_LONG)
		return reply(R_LONG);
	verb = smtp_verb(l->buf, l->len, &s->arg);
	s->arglen = l->len - (size_t)(s->arg - l->buf);
	for (i = 0; verbs[i].verb != V_OTHER && verbs[i].verb != verb; i++)
		;
	if (verbs[i].handler != NULL)
		return verbs[i].handler(s);
	return reply(verbs[i].text);
}

/* The responder, for the client marked with the value marked: it never
 * returns. */
void
responder(const struct responder *cf, const char *marked)
{
	struct session s;
	struct input in;
	struct smtp_line l;
	long long deadline = now_ms() + (long long)cf->session_ms, quiet;
	int commands, st, permanent;

	(void)signal(SIGPIPE, SIG_IGN);	/* no exec follows */
	memset(&s, 0, sizeof s);
	s.cf = cf;
	permanent = smtp_marked(s.text, sizeof s.text, marked);
	s.code = responder_code(permanent, 0);
	s.mailcode = responder_code(permanent, 1);
	memset(&in, 0, sizeof in);
	memset(&l, 0, sizeof l);
	if (say(R_GREET, cf->host) == -1)
		exit(0);
	for (commands = 0; commands < MAXCOMMANDS; commands++) {
		quiet = now_ms() + silence_ms((long long)cf->idle_ms);
		st = next_line(&in, &l, quiet < deadline ? quiet : deadline);
		if (st == IN_TIMEOUT)
			break;
		if (st != LINE_OK && st != LINE_LONG)
			exit(0);	/* the client left */
		if (command(&s, &l, st) == -1)
			exit(0);	/* the client left */
	}
	(void)say(R_CLOSING, cf->host);
	bye();
}
