/* client.c: the relay fuzzer's SMTP clients.  The input chooses the
 * session a client sends: EHLO, MAIL, RCPT, DATA in its lenient
 * spellings, bodies with strict and lenient ends and smuggled commands,
 * BDAT, RSET, NOOP, STARTTLS, QUIT; and where it waits for replies
 * (polite: for every one; pipelining: where RFC 2920 says; a bot: never).
 * Deliverable to a real server: senders at example.org (the stream's
 * tag, TAG.s for a smuggled message), recipients at example.net, and a
 * token line at the start of each message, smuggled or not, so that a
 * delivery names the stream and the message it came from. */

#include <stdio.h>
#include <string.h>

#include "client.h"

/* --- the input, as a source of choices --- */

static const uint8_t *in;
static size_t inlen, inpos;

void
pick_init(const uint8_t *d, size_t n)
{
	in = d;
	inlen = n;
	inpos = 0;
}

unsigned
pick(unsigned n)
{
	if (n <= 1)
		return 0;
	if (inpos >= inlen)
		return 0;
	return in[inpos++] % n;
}

/* --- the client --- */

static void
put(struct client *c, const char *d, size_t n)
{
	if (c->len + n > sizeof c->s)
		n = sizeof c->s - c->len;
	memcpy(c->s + c->len, d, n);
	c->len += n;
}

static void
puts_(struct client *c, const char *d)
{
	put(c, d, strlen(d));
}

/* A command line that gets one reply; sync: the client waits for it. */
static void
cmd(struct client *c, const char *line, size_t n, int sync)
{
	put(c, line, n);
	if (c->ncend < MAXWAIT)
		c->cend[c->ncend++] = c->len;
	if (c->kind == C_POLITE || (c->kind == C_PIPELINE && sync)) {
		if (c->nwait < MAXWAIT) {
			c->wait[c->nwait] = c->len;
			c->wat[c->nwait++] = c->ncend + 1;
		}
	}
}

/* The start of a message: its token line, noted. */
static void
token(struct client *c, int bdat, int smuggled, char *buf, size_t size)
{
	struct cmsg *m;
	char t[40];

	(void)snprintf(t, sizeof t, "%s.%d", c->tag != NULL ? c->tag : "m",
	    c->nmsg + 1);
	(void)snprintf(buf, size, "X-Token: %s\r\n", t);
	if (c->nmsg < MAXMSG) {
		m = &c->msg[c->nmsg++];
		m->start = c->len;
		m->bdat = bdat;
		m->smuggled = smuggled;
		(void)snprintf(m->token, sizeof m->token, "%s", t);
	}
}

/* DATA as some server reads it: with arguments, blanks, whitespace or a
 * control byte before or after it (Postfix, sendmail skip whitespace
 * before a verb; qmail-smtpd takes DATA NUL; Exim drops trailing
 * whitespace); the last for the model that takes unknown verbs */
static const char *const datas[] = {
	"DATA\r\n", "DATA x\r\n", "data\r\n", "DATA      \r\n", " DATA\r\n",
	"DATA\0x\r\n", "DaTa:\r\n", "DATA\tx\r\n", "DATAX\r\n", "DATA\n",
	"\rDATA\r\n", "\fDATA\r\n", "\vDATA\r\n", "\tDATA\r\n", "DATA\t\r\n",
	"DATA\r\r\n", "XDAT\r\n"
};
static const size_t datalen[] = { 6, 8, 6, 12, 7, 8, 7, 8, 7, 5, 7, 7, 7, 7,
	7, 7, 6 };

/* ends of a message, strict and as some server takes them: bare LFs,
 * CRs after the dot (Postfix drops them), a CR before it (mailfront), a
 * NUL after it (OpenSMTPD), a blank after it (none, but cheap to hold) */
static const char *const ends[] = {
	"\r\n.\r\n", "\n.\n", "\r\n.\n", "\n.\r\n", "\r\n.\r\n",
	"\r\n.\r\r\n", "\r\n\r.\n", "\r\n.\0x\r\n", "\r\n. \r\n", "\r\n.\r\n"
};
static const size_t endlen[] = { 5, 3, 4, 4, 5, 6, 5, 7, 6, 5 };

/* Body bytes: text, lines, dots, and now and then a whole smuggled
 * transaction after a lenient end. */
static void
body(struct client *c)
{
	static const char alpha[] = "aD.\r\n \tAT\0x";
	unsigned n = pick(64), i, k;
	char t[64];

	token(c, 0, 0, t, sizeof t);
	puts_(c, t);
	for (i = 0; i < n; i++) {
		k = pick(24);
		if (k < (unsigned)sizeof alpha - 1)
			put(c, alpha + k, 1);
		else if (k == 12)
			puts_(c, "\r\nDATA\r\n");
		else if (k == 13)
			puts_(c, "\r\n..\r\n");
		else if (k == 14) {
			/* a lenient end, then a whole transaction */
			k = 1 + pick(sizeof ends / sizeof ends[0] - 1);
			put(c, ends[k], endlen[k]);
			(void)snprintf(t, sizeof t, "MAIL FROM:<%s.s@"
			    "example.org>\r\n", c->tag != NULL ? c->tag : "s");
			puts_(c, t);
			puts_(c, "RCPT TO:<t@example.net>\r\nDATA\r\n");
			token(c, 0, 1, t, sizeof t);
			puts_(c, t);
			puts_(c, "smuggled\r\n.\r\n");
		} else if (k == 15)
			puts_(c, "\r\n");
		else
			puts_(c, "text ");
	}
}

#define RCPTTO "RCPT TO:<c@example.net>\r\n"

/* A line longer than some server reads in one piece (sendmail without
 * SASL: 2047 bytes; Exim: 16 KiB), DATA at its end, then a body */
static void
longline(struct client *c)
{
	size_t n = pick(2) ? 2047 : 16384, i;

	c->rude = 1;	/* over SMTP_PLAINMAX: refused, by design */
	puts_(c, "NOOP ");
	for (i = 5; i < n; i++)
		put(c, "x", 1);
	cmd(c, "DATA\r\n", 6, 1);
	puts_(c, "spam\r\n.\r\n");
}

/* "BDAT size LAST" for a chunk of n bytes, its size as some server may
 * read it otherwise: a sign, a leading zero, 2^32 more (Exim reads it in
 * 32 bits), a word that is not LAST */
static void
bdatline(struct client *c, char *line, size_t size, unsigned n)
{
	unsigned k = pick(10);

	c->rude |= k < 4;	/* held, by design, as no DATA is */
	switch (k) {
	case 0:
		(void)snprintf(line, size, "BDAT +%u LAST\r\n", n);
		break;
	case 1:
		(void)snprintf(line, size, "BDAT 0%u LAST\r\n", n);
		break;
	case 2:
		(void)snprintf(line, size, "BDAT %llu LAST\r\n",
		    4294967296ULL + n);
		break;
	case 3:
		(void)snprintf(line, size, "BDAT %u LASTX\r\n", n);
		break;
	default:
		(void)snprintf(line, size, "BDAT %u LAST\r\n", n);
	}
}

/* MAIL, its sender the stream's tag (a without one) */
static void
mail(struct client *c, int sync)
{
	char line[64];

	(void)snprintf(line, sizeof line, "MAIL FROM:<%s@example.org>\r\n",
	    c->tag != NULL ? c->tag : "a");
	cmd(c, line, strlen(line), sync);
}

void
session(struct client *c, int pipelining, int chunking)
{
	unsigned n = pick(6) + 1, i, k, r;
	char line[64], t[64];
	int sync;

	c->nwait = c->ncend = 0;
	c->nmsg = 0;
	if (c->kind != C_BOT) {	/* the greeting */
		c->wait[c->nwait] = 0;
		c->wat[c->nwait++] = 1;
	}
	k = pick(4);	/* EHLO, or HELO: then no extension */
	cmd(c, k ? "EHLO c\r\n" : "HELO c\r\n", 8, 1);
	if (k == 0)
		pipelining = chunking = 0;
	sync = c->kind == C_POLITE || !pipelining;
	for (i = 0; i < n; i++) {
		switch (pick(10)) {
		case 8:
			longline(c);
			break;
		case 0:
			cmd(c, "RSET\r\n", 6, sync);
			break;
		case 1:
			cmd(c, "NOOP\r\n", 6, 1);
			break;
		case 2:
			cmd(c, "STARTTLS\r\n", 10, 1);
			break;
		case 9:	/* BDAT, whatever the server offered */
			c->rude |= !chunking;
			chunking = 1;
			/* FALLTHROUGH */
		case 3:
			if (chunking) {
				mail(c, sync);
				cmd(c, RCPTTO, strlen(RCPTTO), sync);
				k = pick(40);
				/* the token counts in the chunk */
				(void)snprintf(t, sizeof t, "X-Token: %s.%d\r\n",
				    c->tag != NULL ? c->tag : "m", c->nmsg + 1);
				bdatline(c, line, sizeof line,
				    k + (unsigned)strlen(t));
				put(c, line, strlen(line));
				token(c, 1, 0, t, sizeof t);
				puts_(c, t);
				r = 0;
				while (r++ < k)
					put(c, pick(2) ? "D" : "\n", 1);
				if (c->ncend < MAXWAIT)
					c->cend[c->ncend++] = c->len;
				if (c->kind != C_BOT && c->nwait < MAXWAIT) {
					c->wait[c->nwait] = c->len;
					c->wat[c->nwait++] = c->ncend + 1;
				}
				break;
			}
			/* FALLTHROUGH */
		default:
			mail(c, sync);
			r = pick(3) + 1;
			while (r-- > 0)
				cmd(c, RCPTTO, strlen(RCPTTO), sync);
			k = pick(sizeof datalen / sizeof datalen[0]);
			cmd(c, datas[k], datalen[k], 1);
			body(c);
			k = pick(sizeof ends / sizeof ends[0]);
			put(c, ends[k], endlen[k]);
			if (c->ncend < MAXWAIT)
				c->cend[c->ncend++] = c->len;
			if (c->kind != C_BOT && c->nwait < MAXWAIT) {
				c->wait[c->nwait] = c->len;
				c->wat[c->nwait++] = c->ncend + 1;
			}
		}
	}
	cmd(c, "QUIT\r\n", 6, 1);
}
