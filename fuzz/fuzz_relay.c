/* fuzz_relay.c: a model-based libFuzzer harness for relay.c, the state
 * machine of earlytalker-wrap's relay (-D, -S), with the stream
 * scanners of scan.c.  Build and run with "make fuzz" (clang).
 *
 * The input chooses a client (polite: waits for every reply; pipelining
 * as RFC 2920 allows; or a bot that never waits), the session it sends
 * (EHLO, MAIL, RCPT, DATA in its lenient spellings, bodies with strict
 * and lenient ends and smuggled commands, BDAT, RSET, NOOP, STARTTLS,
 * QUIT), a server model (strict RFC 5321, qmail-smtpd-like, mailfront-
 * like, Postfix-like), the relay's settings, and the schedule: which
 * side moves next and when time passes.  The relay runs between them with
 * small buffers, as drive.c runs it.  Checked:
 *   - a message whose body the client sent before it had the 354 is never
 *     delivered;
 *   - a client that waits for every reply the server gives (and whose
 *     grammar the server shares) is never refused, and its session is
 *     delivered as without the relay;
 *   - the bytes that reach each side are exactly the bytes sent, cut at
 *     most, plus the relay's one refusal or 421;
 *   - once the client has said all and time passes the relay's bounds,
 *     nothing is held.
 * A lenient server that answers a message later than RELAY_LENIENT_MS is
 * the documented limit: the server model here answers within a second. */

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "relay.h"
#include "scan.h"
#include "smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define SRV_DELAY 1000		/* ms a server may take to answer */

static void trace(void);

static void
check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_relay: %s\n", what);
		trace();
		abort();
	}
}

/* --- the server models ---
 *
 * Each reads the client as the notes on eight real servers say it does
 * (their sources and the wire), not as scan.c does: how a command line
 * ends and splits, which bytes come before a verb and end it, which
 * spellings are DATA, which body lines end a message, how a BDAT size is
 * read and when its chunk is.  A body is read a line at a time. */

#define M_STRICT 0		/* RFC 5321: DATA alone, CR LF . CR LF */
#define M_QMAIL 1		/* notqmail: verb to SP or NUL, DATA x is
				 * DATA; a bare LF in a body: 451, exit */
#define M_MAILFRONT 2		/* verb to SP or TAB, C string: DATA NUL is
				 * DATA; ends . LF, . CR LF, CR . LF */
#define M_POSTFIX 3		/* any whitespace before a verb, which ends
				 * at whitespace or NUL; every CR before an
				 * LF dropped: LS . CR* LF ends; BDAT after
				 * HELO too */
#define M_ODD 4			/* takes any verb it does not know for
				 * DATA: no server should; the relay holds
				 * unknown verbs all the same */
#define M_EXIM 5		/* a line without LF split at 16 KiB; all
				 * trailing whitespace dropped; DATA x is no
				 * DATA; CRLF or LF ends by the first body
				 * line; BDAT size in 32 bits; 503 before
				 * the chunk without RCPT; chunk read as
				 * commands after HELO and in "only RSET" */
#define M_QPSMTPD 6		/* verb to SP, DATA x is DATA; . CR LF ends
				 * after any LF; . LF: 421, close */
#define M_SENDMAIL 7		/* whitespace before a verb; DATA x is DATA;
				 * lines split at 2047 bytes (no SASL); . LF
				 * and . CR LF end after any LF */
#define M_OPENSMTPD 8		/* DATA with any argument is no DATA; one CR
				 * dropped, then the line as a C string: . LF,
				 * . CR LF, . NUL ... LF end after any LF */
#define M_HARAKA 9		/* lines over 512 bytes: 521, close; . CR LF
				 * ends; . LF: 451, back to commands */
#define NMODELS 10
#define EXIM_SPLIT 16384
#define SENDMAIL_SPLIT 2047
#define HARAKA_MAX 512

struct server {
	int kind, pipelining, chunking;
	int mode;		/* 0 commands, 1 body, 2 chunk, 3 closed */
	char line[1200];
	size_t linelen, split;
	char bl[8];		/* a body line's first bytes */
	size_t bllen;		/* its length */
	int blcrlf;		/* it began after CR LF, or the body did */
	int blcr;		/* its last byte is a CR */
	int bldotcrs;		/* it is a dot, then CRs or nothing */
	int lfmode;		/* Exim: 0 not known, 1 CR LF, 2 LF */
	unsigned long chunk;
	int last, mail, rcpt, ehlo, bdatok, bdatopen, onlyrset;
	unsigned long long pos;	/* bytes taken */
	unsigned long long bodystart;
	int n354;
	char out[MAXOUT];
	size_t outlen;
	/* replies: after how many input bytes each came */
	unsigned long long at[MAXWAIT + 8];
	int nreplies;
	/* deliveries: where each body began, and which 354 it followed */
	unsigned long long dstart[64];
	int d354[64];
	int ndeliv;
};

static void
say(struct server *s, const char *text)
{
	size_t k = strlen(text);

	if (s->outlen + k > sizeof s->out)
		k = sizeof s->out - s->outlen;
	memcpy(s->out + s->outlen, text, k);
	s->outlen += k;
	if (s->nreplies < MAXWAIT + 8)
		s->at[s->nreplies++] = s->pos;
}

/* ASCII isspace() but LF */
static int
sspace(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Does this server's verb end at byte c? */
static int
verbend(const struct server *s, int c)
{
	switch (s->kind) {
	case M_POSTFIX: case M_SENDMAIL:
		return sspace(c) || c == '\0';
	case M_MAILFRONT:
		return c == ' ' || c == '\t' || c == '\0';
	case M_QMAIL: case M_OPENSMTPD:
		return c == ' ' || c == '\0';
	default:		/* Exim, qpsmtpd, Haraka, strict, odd */
		return c == ' ';
	}
}

/* The verb of a line (its line end dropped), as this server reads it. */
static int
sverb(const struct server *s, const char *l, size_t n, const char **arg)
{
	size_t i = 0, v;
	char w[16];
	int verb;

	if (s->kind == M_POSTFIX || s->kind == M_SENDMAIL)
		while (i < n && sspace(l[i]))
			i++;
	if (s->kind == M_EXIM && memchr(l, '\0', n) != NULL)
		return V_NONE;	/* 501 NUL characters are not allowed */
	for (v = 0; i + v < n && !verbend(s, l[i + v]); v++)
		if (v < sizeof w - 1)
			w[v] = (char)(l[i + v] >= 'a' && l[i + v] <= 'z' ?
			    l[i + v] - 32 : l[i + v]);
	*arg = l + i + v;
	if (v == 0 || v >= sizeof w - 1)
		return v == 0 ? V_NONE : V_OTHER;
	w[v] = '\0';
	verb = smtp_verb(w, v, NULL);
	if (memchr(w, '\0', v) != NULL || memchr(w, '\r', v) != NULL ||
	    memchr(w, '\t', v) != NULL)
		verb = V_OTHER;	/* such a byte in the verb: unknown */
	if (verb == V_DATA && i + v < n) {
		/* DATA with more after it */
		if (s->kind == M_STRICT || s->kind == M_EXIM ||
		    s->kind == M_OPENSMTPD)
			return V_OTHER;
		if (s->kind == M_HARAKA || s->kind == M_POSTFIX) {
			for (i += v; i < n && l[i] == ' '; i++)
				;
			if (i < n)
				return V_OTHER;	/* 501 Syntax */
		}
	}
	return s->kind == M_ODD && verb == V_OTHER ? V_DATA : verb;
}

static void
deliver(struct server *s)
{
	if (s->ndeliv < 64) {
		s->dstart[s->ndeliv] = s->bodystart;
		s->d354[s->ndeliv] = s->n354;
		s->ndeliv++;
	}
}

static void
endbody(struct server *s)
{
	s->mode = 0;
	s->mail = s->rcpt = 0;
	deliver(s);
	say(s, "250 ok queued\r\n");
}

static void
chunkend(struct server *s)
{
	s->mode = 0;
	if (!s->bdatok) {
		if (s->kind != M_EXIM)	/* Exim said it before the chunk */
			say(s, "503 no recipients\r\n");
		return;
	}
	say(s, "250 chunk\r\n");
	if (s->last) {
		if (s->ndeliv < 64) {
			s->dstart[s->ndeliv] = s->bodystart;
			s->d354[s->ndeliv++] = -1;	/* no 354 for BDAT */
		}
		s->mail = s->rcpt = 0;
		s->bdatopen = 0;
	} else
		s->bdatopen = 1;
}

/* BDAT, as this server reads its size and takes its chunk. */
static void
bdat(struct server *s, const char *arg)
{
	unsigned long long k = 0;

	if (s->kind == M_EXIM) {
		if (!s->chunking || !s->ehlo) {
			say(s, "503 BDAT command used when CHUNKING not "
			    "advertised\r\n");
			return;	/* not read: its chunk is commands */
		}
		while (*arg == ' ')
			arg++;
		if (*arg == '+' || *arg == '-')
			arg++;	/* %u takes a sign */
	} else {
		if (!s->chunking || (!s->ehlo && s->kind != M_POSTFIX)) {
			say(s, "502 no BDAT\r\n");
			return;
		}
		while (*arg == ' ')
			arg++;
	}
	if (*arg < '0' || *arg > '9') {
		say(s, "501 size\r\n");
		return;
	}
	while (*arg >= '0' && *arg <= '9' && k < 100000000000ULL)
		k = k * 10 + (unsigned long long)(*arg++ - '0');
	if (s->kind == M_EXIM)
		k &= 0xffffffffULL;	/* 32 bits */
	else if (k > 100000000ULL)
		k = 100000000ULL;	/* more than any stream */
	while (*arg == ' ')
		arg++;
	s->last = (arg[0] | 32) == 'l' && (arg[1] | 32) == 'a' &&
	    (arg[2] | 32) == 's' && (arg[3] | 32) == 't';
	/* RFC 3030: the chunk is read even when refused; Exim says so
	 * first when no RCPT was taken */
	s->bdatok = s->rcpt;
	if (!s->bdatok && s->kind == M_EXIM)
		say(s, "503 valid RCPT command must precede BDAT\r\n");
	s->chunk = (unsigned long)k;
	s->bodystart = s->pos;
	if (k == 0)
		chunkend(s);
	else
		s->mode = 2;
}

static void
command(struct server *s, const char *l, size_t n)
{
	const char *arg;
	int verb = sverb(s, l, n, &arg);

	if (s->kind == M_EXIM) {
		/* a chunk sequence broken: only RSET, until RSET */
		if (s->onlyrset && verb != V_RSET && verb != V_QUIT) {
			say(s, "503 only RSET accepted now\r\n");
			return;
		}
		if (s->bdatopen && verb != V_BDAT && verb != V_NOOP &&
		    verb != V_RSET && verb != V_QUIT) {
			s->onlyrset = 1;
			say(s, "503 only BDAT permissible\r\n");
			return;
		}
	}
	switch (verb) {
	case V_EHLO:
		s->ehlo = 1;
		s->mail = s->rcpt = s->bdatopen = 0;
		say(s, s->pipelining && s->chunking ?
		    "250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n" :
		    s->pipelining ? "250-mx\r\n250 PIPELINING\r\n" :
		    s->chunking ? "250-mx\r\n250 CHUNKING\r\n" : "250 mx\r\n");
		break;
	case V_HELO:
		s->ehlo = 0;
		s->mail = s->rcpt = s->bdatopen = 0;
		say(s, "250 ok\r\n");
		break;
	case V_NOOP:
		say(s, "250 ok\r\n");
		break;
	case V_RSET:
		s->mail = s->rcpt = s->bdatopen = s->onlyrset = 0;
		say(s, "250 flushed\r\n");
		break;
	case V_MAIL:
		s->mail = 1;
		say(s, "250 sender ok\r\n");
		break;
	case V_RCPT:
		if (!s->mail) {
			say(s, "503 MAIL first\r\n");
			break;
		}
		s->rcpt = 1;
		say(s, "250 recipient ok\r\n");
		break;
	case V_DATA:
		if (!s->rcpt) {
			say(s, "503 no recipients\r\n");
			break;
		}
		s->mode = 1;
		s->bllen = 0;
		s->blcrlf = 1;
		s->lfmode = 0;
		s->bodystart = s->pos;
		s->n354++;
		say(s, "354 go ahead\r\n");
		break;
	case V_BDAT:
		bdat(s, arg);
		break;
	case V_STARTTLS:
		say(s, "454 TLS not available\r\n");
		break;
	case V_QUIT:
		say(s, "221 bye\r\n");
		s->mode = 3;
		break;
	case V_NONE:
		say(s, "500 empty\r\n");
		break;
	default:
		say(s, "502 unknown\r\n");
	}
}

/* Is the body line in s->bl (its first bytes, s->bllen long, without its
 * LF) the end of the message for this server?  1 yes, 0 no. */
static int
bodyend(struct server *s)
{
	const char *l = s->bl;
	size_t n = s->bllen;
	int dot = n >= 1 && l[0] == '.', dotcr = n == 2 && dot && l[1] == '\r';

	if (s->blcrlf && dotcr)
		return 1;	/* CR LF . CR LF, for every server */
	switch (s->kind) {
	case M_POSTFIX:
		return s->bldotcrs;
	case M_MAILFRONT:
		return (n == 1 && dot) || dotcr ||
		    (n == 2 && l[0] == '\r' && l[1] == '.');
	case M_QPSMTPD: case M_HARAKA:
		return dotcr;
	case M_SENDMAIL:
		return (n == 1 && dot) || dotcr;
	case M_OPENSMTPD:
		if (n > 0 && n < sizeof s->bl && l[n - 1] == '\r')
			n--;
		return dot && (n == 1 || l[1] == '\0');
	case M_EXIM:
		/* LF mode, or the first line when the mode is not known */
		return s->lfmode != 1 && ((n == 1 && dot) || dotcr);
	default:
		return 0;
	}
}

/* One byte of the body: a line at a time. */
static void
bodybyte(struct server *s, int c)
{
	int cr;

	if (c != '\n') {
		if (s->bllen < sizeof s->bl)
			s->bl[s->bllen] = (char)c;
		s->bldotcrs = s->bllen == 0 ? c == '.' :
		    s->bldotcrs && c == '\r';
		s->blcr = c == '\r';
		s->bllen++;
		return;
	}
	cr = s->bllen > 0 && s->blcr;
	if (s->kind == M_QMAIL && !cr) {
		say(s, "451 See https://cr.yp.to/docs/smtplf.html.\r\n");
		s->mode = 3;
		return;
	}
	if (bodyend(s)) {
		endbody(s);
		return;
	}
	if (s->bllen == 1 && s->bl[0] == '.' &&
	    (s->kind == M_QPSMTPD || s->kind == M_HARAKA)) {
		/* . LF: a refusal ends the message */
		if (s->kind == M_QPSMTPD) {
			say(s, "421 bare LF\r\n");
			s->mode = 3;
		} else {
			say(s, "451 bare line-feed\r\n");
			s->mode = 0;
			s->mail = s->rcpt = 0;
		}
		return;
	}
	if (s->kind == M_EXIM && s->lfmode == 0)
		s->lfmode = cr ? 1 : 2;
	s->blcrlf = cr;
	s->bllen = 0;
}

/* The end of a command line, as this server drops it. */
static void
cmdline(struct server *s)
{
	while (s->linelen > 0 && (s->line[s->linelen - 1] == '\r' ||
	    (s->kind == M_EXIM && sspace(s->line[s->linelen - 1])))) {
		s->linelen--;
		if (s->kind != M_POSTFIX && s->kind != M_EXIM)
			break;
	}
	command(s, s->line, s->linelen);
	s->linelen = s->split = 0;
}

static void
serve(struct server *s, const char *d, size_t n)
{
	size_t i;

	for (i = 0; i < n && s->mode != 3; i++) {
		s->pos++;
		switch (s->mode) {
		case 1:
			bodybyte(s, (unsigned char)d[i]);
			break;
		case 2:
			if (--s->chunk == 0)
				chunkend(s);
			break;
		default:
			if (d[i] == '\n') {
				cmdline(s);
				break;
			}
			if (s->kind == M_EXIM && s->split == EXIM_SPLIT) {
				/* 16 KiB and more: one unknown command, and
				 * this byte lost */
				say(s, "500 unrecognized command\r\n");
				s->linelen = s->split = 0;
				break;
			}
			if (s->linelen < sizeof s->line)
				s->line[s->linelen++] = d[i];
			s->split++;
			if (s->kind == M_SENDMAIL &&
			    s->split == SENDMAIL_SPLIT) {
				s->linelen = s->linelen < sizeof s->line ?
				    s->linelen : sizeof s->line;
				command(s, s->line, s->linelen);
				s->linelen = s->split = 0;
			} else if (s->kind == M_HARAKA &&
			    s->split == HARAKA_MAX) {
				say(s, "521 Command line too long\r\n");
				s->mode = 3;
			}
		}
	}
}

static void
server_init(struct server *s, int kind, int pipelining, int chunking)
{
	memset(s, 0, sizeof *s);
	s->kind = kind;
	s->pipelining = pipelining;
	s->chunking = chunking;
	say(s, "220 mx ESMTP\r\n");
}

/* --- the client (client.c) --- */

/* How far may the client send now? */
static size_t
limit(const struct client *c)
{
	int i;

	for (i = 0; i < c->nwait; i++)
		if (c->replies < c->wat[i])
			return c->wait[i];
	return c->len;
}

/* Bytes reach the client: count whole replies and 354s. */
static void
receive(struct client *c, const char *d, size_t n, long long step)
{
	size_t i;

	check(c->rlen + n <= sizeof c->rbuf, "client's buffer");
	memcpy(c->rbuf + c->rlen, d, n);
	for (i = c->rlen; i < c->rlen + n; i++) {
		if (c->rbuf[i] != '\n')
			continue;
		if (i - c->rline >= 3 && (i - c->rline == 3 ||
		    c->rbuf[c->rline + 3] != '-')) {
			c->replies++;
			if (memcmp(c->rbuf + c->rline, "354", 3) == 0 &&
			    c->n354 < 64)
				c->got354[c->n354++] = step;
		}
		c->rline = i + 1;
	}
	c->rlen += n;
}

/* --- the run --- */

static struct relay R;
static struct server S, D;	/* with the relay; direct */
static struct client C;
static char cbd[SMTP_PLAINMAX + 2048], pbd[512];
static long long when[MAXSTREAM];

/* client bytes in flight to the relay, server bytes in flight to it,
 * relay bytes in flight to the server */
static size_t cfly;		/* C.s[cfly, C.sent): not read by the relay */
static size_t sread;		/* S.out[sread, S.outlen): not read by it */
static char tos[MAXSTREAM];	/* what the relay wrote to the server */
static size_t toslen, tostaken;
static long long now, step, srv_since;
static int cin, ceof_seen, pin, shut, refused, lostsync, owes, observe;

/* The relay reads src[*from, to) into b, as far as it has room. */
static void
take(struct rbuf *b, const char *src, size_t *from, size_t to)
{
	size_t k;

	relay_compact(&R, b);
	k = to - *from;
	if (k > b->size - b->len)
		k = b->size - b->len;
	memcpy(b->d + b->len, src + *from, k);
	b->len += k;
	*from += k;
}

/* The relay reads all the client has sent, as far as it has room. */
static void
read_client(void)
{
	take(&R.c, C.s, &cfly, C.sent);
	if (cfly == C.len && C.sent == C.len && !R.ceof) {
		R.ceof = 1;
		ceof_seen = 1;
	}
	(void)relay_client(&R, now);
}

/* Has the relay done all it can do without more time? */
static int
relay_idle(void)
{
	return (S.outlen == sread || R.p.len - R.p.sent == R.p.size) &&
	    (C.sent == cfly || R.c.len - R.c.sent == R.c.size) &&
	    R.c.ok == R.c.sent && R.p.ok == R.p.sent;
}

/* The client sends its stream up to offset k. */
static void
send_to(size_t k)
{
	for (; C.sent < k; C.sent++)
		when[C.sent] = step;
}

static void
read_server(void)
{
	take(&R.p, S.out, &sread, S.outlen);
	relay_prog(&R, now);
	while (R.at354 && !R.early) {
		read_client();
		relay_prog(&R, now);
	}
	(void)relay_client(&R, now);
}

/* The relay writes to the server; the server takes it in at once or later. */
static void
to_server(void)
{
	size_t k = R.c.ok - R.c.sent;

	if (k > sizeof tos - toslen)
		k = sizeof tos - toslen;
	memcpy(tos + toslen, R.c.d + R.c.sent, k);
	toslen += k;
	R.c.sent += k;
	if (tostaken < toslen && srv_since < 0)
		srv_since = now;
}

static void
server_takes(void)
{
	serve(&S, tos + tostaken, toslen - tostaken);
	tostaken = toslen;
	srv_since = -1;
	if (S.mode == 3 && sread == S.outlen)
		pin = 0;
}

static void
to_client(void)
{
	receive(&C, R.p.d + R.p.sent, R.p.ok - R.p.sent, step);
	R.p.sent = R.p.ok;
}

/* The relay's own last words to the client, as drive.c writes them. */
static const char REFUSAL[] = "554 5.5.1 refused\r\n";
static const char LOSTREPLY[] = "421 4.5.0 lost\r\n";
static const char *extra = "";	/* what the relay added at the end */

/* As drive.c's early(): the commands before go on, then the replies owed,
 * then the refusal, unless prog ended the session with 421 or 221. */
static void
refuse(void)
{
	refused = 1;
	to_server();
	server_takes();
	for (;;) {
		(void)relay_owed(&R);
		to_client();
		if (R.owed == 0 || sread == S.outlen)
			break;
		take(&R.p, S.out, &sread, S.outlen);
	}
	if (R.lastcode != 421 && R.lastcode != 221) {
		extra = REFUSAL;
		receive(&C, REFUSAL, strlen(REFUSAL), step);
	}
}

/* As drive.c's lost(): nothing more goes on; if prog ends the session,
 * its last words go to the client, else the relay's 421. */
static void
lose(void)
{
	lostsync = 1;
	to_client();
	if (S.mode == 3) {	/* prog closes */
		receive(&C, R.p.d + R.p.sent, R.p.len - R.p.sent, step);
		receive(&C, S.out + sread, S.outlen - sread, step);
		sread = S.outlen;
		return;
	}
	extra = LOSTREPLY;
	receive(&C, LOSTREPLY, strlen(LOSTREPLY), step);
}

static void
escaped(const char *what, const char *d, size_t n)
{
	size_t i;

	fprintf(stderr, "%s: \"", what);
	for (i = 0; i < n; i++)
		if (d[i] == '\n')
			fputs("\\n", stderr);
		else if (d[i] == '\r')
			fputs("\\r", stderr);
		else if ((unsigned char)d[i] < 32 || (unsigned char)d[i] > 126)
			fprintf(stderr, "\\%03o", (unsigned char)d[i]);
		else
			fputc(d[i], stderr);
	fputs("\"\n", stderr);
}

/* What happened, for the report of a failed check. */
static void
trace(void)
{
	fprintf(stderr, "server %d pipelining %d chunking %d; client %d; "
	    "-S %d -D %lu ms -o %d; early %d at %d from %lu owed %lu; "
	    "lost %d %s\n", S.kind, S.pipelining, S.chunking, C.kind,
	    R.synccheck, R.data_ms, observe,
	    R.early, R.early_at, (unsigned long)R.early_from,
	    (unsigned long)R.owed, R.lost, R.lost ? R.lost_why : "");
	fprintf(stderr, "c %lu/%lu/%lu/%lu/%lu p %lu/%lu/%lu/%lu/%lu sread %lu "
	    "at354 %d holding %d lenient %d watching %d qlen %lu mode %d "
	    "now %lld\n", (unsigned long)R.c.sent, (unsigned long)R.c.ok,
	    (unsigned long)R.c.scanned, (unsigned long)R.c.len,
	    (unsigned long)R.c.size, (unsigned long)R.p.sent,
	    (unsigned long)R.p.ok, (unsigned long)R.p.scanned,
	    (unsigned long)R.p.len, (unsigned long)R.p.size,
	    (unsigned long)sread, R.at354, R.holding, R.lenient, R.watching,
	    (unsigned long)R.qlen, R.cs.mode, now);
	escaped("client sent", C.s, C.sent);
	escaped("server got", tos, toslen);
	escaped("server said", S.out, S.outlen);
	escaped("client got", C.rbuf, C.rlen);
}

static int
insync(const struct server *s, const struct client *c)
{
	int i;

	if (s->nreplies != c->ncend + 1)
		return 0;
	for (i = 0; i < c->ncend; i++)
		if (s->at[i + 1] != c->cend[i])
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int kind, pl, ch, polite, i, steps;
	unsigned a;
	long long next, dt;
	size_t k, lim;

	pick_init(data, size);
	kind = (int)pick(NMODELS);
	pl = (int)pick(2);
	ch = (int)pick(2);
	memset(&C, 0, sizeof C);
	C.kind = (int)pick(3);
	session(&C, pl, ch);

	/* the server's view of the whole stream, without the relay */
	server_init(&D, kind, pl, ch);
	serve(&D, C.s, C.len);
	polite = C.kind != C_BOT && insync(&D, &C) && !C.rude;

	memset(&R, 0, sizeof R);
	R.c.d = cbd;
	/* room for a command line the relay holds whole, as CBUF has */
	R.c.size = SMTP_PLAINMAX + 512 + pick(4) * 512;
	R.p.d = pbd;
	R.p.size = 128 + pick(4) * 128;
	R.datacheck = 1;
	R.synccheck = (int)pick(3) == 0;
	observe = (int)pick(4) == 0;	/* -o */
	R.data_ms = pick(3) * 500;
	server_init(&S, kind, pl, ch);
	now = 0;
	step = 0;
	cfly = sread = toslen = tostaken = 0;
	srv_since = -1;
	cin = pin = 1;
	ceof_seen = shut = refused = lostsync = owes = 0;
	extra = "";
	relay_init(&R, now);

	for (steps = 0; steps < 200000; steps++) {
		step++;
		/* as drive.c: the deadlines once all that is readable is read */
		if ((S.outlen == sread || R.p.len - R.p.sent == R.p.size) &&
		    (C.sent == cfly || R.c.len - R.c.sent == R.c.size)) {
			next = relay_tick(&R, now);
			(void)relay_client(&R, now);
		} else
			next = -1;
		if (observe && (R.early || R.lost))
			relay_blind(&R);	/* as drive.c's decide() */
		if (R.early) {
			refuse();
			break;
		}
		if (R.lost) {
			lose();
			break;
		}
		if (ceof_seen && !shut && R.c.sent == R.c.len &&
		    !R.holding && !R.lenient)
			shut = 1;	/* prog's input ends */
		if (shut && tostaken == toslen && S.mode != 3)
			S.mode = 3;	/* prog exits at its end of file */
		lim = limit(&C);
		a = pick(8);
		if (a == 0 && C.sent < lim) {
			k = C.sent + 1 + pick(64);
			send_to(k < lim ? k : lim);
		} else if (a <= 1 && S.outlen > sread && R.p.len - R.p.sent < R.p.size)
			read_server();
		else if (a <= 2 && C.sent > cfly && R.c.len - R.c.sent < R.c.size)
			read_client();
		else if (a <= 3 && R.c.ok > R.c.sent)
			to_server();
		else if (a <= 4 && tostaken < toslen)
			server_takes();
		else if (a <= 5 && R.p.ok > R.p.sent)
			to_client();
		else if (a == 6 && relay_idle()) {
			/* time passes: the client and the server may be slow,
			 * the server no slower than SRV_DELAY; the relay does
			 * at once all it can */
			dt = (long long)pick(4) * 300;
			if (srv_since >= 0 && now + dt > srv_since + SRV_DELAY)
				dt = srv_since + SRV_DELAY - now;
			if (dt > 0)
				now += dt;
		} else if (C.sent < lim)	/* what can move, in order */
			send_to(lim);
		else if (S.outlen > sread && R.p.len - R.p.sent < R.p.size)
			read_server();
		else if (C.sent > cfly && R.c.len - R.c.sent < R.c.size)
			read_client();
		else if (R.c.ok > R.c.sent)
			to_server();
		else if (tostaken < toslen)
			server_takes();
		else if (R.p.ok > R.p.sent)
			to_client();
		else if (S.mode == 3 && sread == S.outlen && pin) {
			pin = 0;	/* prog is done */
			owes = relay_progeof(&R);
		} else if (next != -1)
			now = next;
		else
			break;	/* nothing moves, no deadline */
		if (!pin && R.p.sent == R.p.len)
			break;
	}
	check(steps < 200000, "the run ends");
	relay_check(&R);

	/* what reached the server was sent by the client, in order */
	check(toslen <= C.sent, "server got no more than sent");
	check(memcmp(tos, C.s, toslen) == 0, "server got the client's bytes");
	/* what reached the client came from the server, then the relay's
	 * refusal or 421, if it added one */
	check(C.rlen >= strlen(extra) && memcmp(C.rbuf + C.rlen -
	    strlen(extra), extra, strlen(extra)) == 0, "client got the end");
	k = C.rlen - strlen(extra);
	check(k <= S.outlen && memcmp(C.rbuf, S.out, k) == 0,
	    "client got the server's bytes");
	/* no message sent before its 354 is delivered */
	for (i = 0; i < S.ndeliv; i++) {
		if (S.d354[i] < 0 || observe)
			continue;	/* BDAT; observing, all goes */
		check(S.dstart[i] < C.sent, "delivery from what was sent");
		check(S.d354[i] >= 1 && S.d354[i] <= C.n354 &&
		    C.got354[S.d354[i] - 1] < when[S.dstart[i]],
		    "a message sent before its 354 was delivered");
	}
	/* observing, nothing is refused, and a client that has said all
	 * it will gets what the server would have said without the relay */
	if (observe) {
		check(!refused && !lostsync, "observe: refused");
		check(C.rlen == S.outlen && memcmp(C.rbuf, S.out, S.outlen) == 0,
		    "observe: the client got all the server said");
		if (C.sent == C.len && S.mode == 3)
			check(S.ndeliv == D.ndeliv && S.outlen == D.outlen &&
			    memcmp(S.out, D.out, D.outlen) == 0,
			    "observe: the session as without the relay");
	}
	/* a client that waits for every reply is never refused, and its
	 * session goes as without the relay, to the end */
	if (polite) {
		check(!refused, "a polite client was refused");
		check(!lostsync, "a polite client lost sync");
		check(S.mode == 3, "polite: the session ended");
		check(S.ndeliv == D.ndeliv, "polite: every message delivered");
		check(C.rlen == D.outlen &&
		    memcmp(C.rbuf, D.out, D.outlen) == 0,
		    "polite: the replies as without the relay");
	}
	/* once the client has said all, nothing stays held */
	if (!refused && !lostsync && ceof_seen)
		check(!R.holding && !R.lenient, "nothing held at the end");
	return 0;
}
