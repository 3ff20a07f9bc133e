/* scan.c: the relay's stream scanners.  They follow a relayed session
 * byte by byte, both ways, and say where each command line, message body
 * and reply ends: the client's stream (smtp_cscan(): command lines, and
 * whether each is in the plain form every server reads alike; message
 * bodies and their strict or lenient ends; BDAT chunks; SASL answers)
 * and the server's (smtp_rscan(): reply codes, and the extensions an
 * EHLO reply offers).  relay.c decides with what they say.  Pure: no
 * I/O, no globals, no allocation; every loop is bounded by its input. */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "scan.h"
#include "smtp.h"

/*
 * The verb of a line of n bytes at s, as a lenient server may read it:
 * after any leading bytes (s starts at the first byte over 32), a line
 * whose first word begins with DATA, in any case, followed by anything
 * (qmail-smtpd takes "DATA x", mailfront "DATA" and blanks, Postfix any
 * whitespace before it) is DATA; else smtp_verb().
 */
static int
lineverb(const char *s, size_t n)
{
	if (n >= 4 && smtp_caseeq(s, 4, "DATA"))
		return V_DATA;
	return smtp_verb(s, n, NULL);
}

/*
 * "BDAT size" or "BDAT size LAST", n bytes at s with the CR LF: is the
 * size one that every server reads as we do?  Plain digits, no sign, no
 * leading zero (strtoul with base 0 reads 010 as 8), under 2^31 (Exim
 * reads it in 32 bits: 4294967302 is 6 to it), and LAST or nothing after
 * it (Exim takes anything else for a chunk that is not the last, Postfix
 * refuses it).  *size is then the size, *last 1 with LAST.
 */
static int
bdatplain(const char *s, size_t n, unsigned long long *size, int *last)
{
	unsigned long long v = 0;
	size_t i;

	if (n < 8 || s[4] != ' ' || s[5] < '0' || s[5] > '9' ||
	    (s[5] == '0' && s[6] >= '0' && s[6] <= '9'))
		return 0;
	for (i = 5; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		v = v * 10 + (unsigned long long)(s[i] - '0');
		if (v > 0x7fffffffULL)
			return 0;	/* 2^31 or more */
	}
	*last = n - i == 7 && s[i] == ' ' && smtp_caseeq(s + i + 1, 4, "LAST");
	if (*last)
		i += 5;
	if (n - i != 2)	/* CR LF, which the plain form has checked */
		return 0;
	*size = v;
	return 1;
}

/*
 * The plain form of a command line, followed a byte at a time in
 * c->form: a verb of letters from the first byte on, then a space and
 * printable ASCII or 8-bit bytes (SMTPUTF8 addresses), or nothing, then
 * CR LF.  No leading byte, no control byte (NUL, TAB, FF, VT, a CR not
 * before the LF), no bare LF.  A line that answers a 334 (SASL) is
 * printable ASCII without spaces.
 */
#define F_VERB 0		/* letters so far */
#define F_ARGS 1		/* after the verb and a space */
#define F_SASL 2		/* an answer to a 334 */
#define F_CR 3			/* a CR: plain if the LF comes next */
#define F_NOT 4			/* not plain */

static int
formbyte(int f, int ch, size_t pos)
{
	switch (f) {
	case F_VERB:
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z'))
			return F_VERB;
		if (pos == 0)
			return F_NOT;
		return ch == ' ' ? F_ARGS : ch == '\r' ? F_CR : F_NOT;
	case F_ARGS:
		if (ch == '\r')
			return F_CR;
		return (ch >= 32 && ch < 127) || ch >= 128 ? F_ARGS : F_NOT;
	case F_SASL:
		if (ch == '\r' && pos > 0)
			return F_CR;
		return ch > 32 && ch < 127 ? F_SASL : F_NOT;
	default:
		return F_NOT;	/* after a CR, any byte but LF: a bare CR */
	}
}

/*
 * The body's end matcher.  A line starts after CR LF (B_START, and the
 * body's first byte) or after a bare LF (B_LSTART).  CR LF . CR LF ends
 * the body for every server: the strict end.  Any other line that some
 * server may take for the end is a lenient end.  At a line start (after
 * any LF, or the body's first byte), after any CRs (mailfront ends a
 * body at CR . LF), a dot, then CRs and blanks before the LF (LF . LF,
 * CR LF . LF, LF . CR LF; Postfix drops every CR before an LF, so
 * CR LF . CR CR LF), perhaps then a NUL and anything before the LF
 * (OpenSMTPD compares the line as a C string).
 */
#define B_START 0		/* line start after CR LF */
#define B_MID 1			/* mid-line */
#define B_CR 2			/* CR mid-line */
#define B_LSTART 3		/* line start after a bare LF */
#define B_LCR 4			/* CRs at a line start */
#define B_DOT 5			/* dot at a B_START line start */
#define B_DOTCR 6		/* dot CR there: the strict end so far */
#define B_DOTX 7		/* a dot at a line start, then CRs and blanks
				 * that some server may yet take for the end;
				 * the last of them not a CR */
#define B_DOTXCR 8		/* the same, the last a CR */
#define B_DOTNUL 9		/* a dot, then a NUL: an end at the LF */

/*
 * The first dot in the n bytes at s, or NULL: memchr().  glibc's memchr
 * uses vector instructions; musl's looks at one word a step, so without
 * glibc the bulk of a body is skipped 64 bytes a step, testing eight
 * words for a dot byte at once (the "has zero byte" test on the words
 * xor dots), and memchr finds the dot in the block that has one.
 */
static const char *
finddot(const char *s, size_t n)
{
#ifndef __GLIBC__
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t highs = 0x8080808080808080ULL;
	const uint64_t dots = 0x2e2e2e2e2e2e2e2eULL;
	uint64_t w, m;
	size_t i, j;

	for (i = 0; i + 64 <= n; i += 64) {
		m = 0;
		for (j = 0; j < 64; j += 8) {
			memcpy(&w, s + i + j, 8);
			w ^= dots;
			m |= (w - ones) & ~w;
		}
		if (m & highs)
			break;
	}
	s += i;
	n -= i;
#endif
	return memchr(s, '.', n);
}

/*
 * In a body, mid-line (B_MID or B_CR): the offset of the next dot that
 * starts a line, with c->body B_START or B_LSTART as at that line's
 * start; or n, with c->body as the bytes up to n leave it.  Dots are
 * rarer than line ends, and base64 has none, so memchr() skips most of a
 * message at a time.
 */
static size_t
bodyskip(struct smtp_client *c, const char *in, size_t i, size_t n)
{
	const char *dot;
	size_t k, j;
	int cr;

	for (k = i; k < n; k++) {
		dot = finddot(in + k, n - k);
		if (dot == NULL)
			break;
		k = (size_t)(dot - in);
		for (j = k; j > i && in[j - 1] == '\r'; j--)
			;
		if (j > i && in[j - 1] == '\n') {
			cr = j - i >= 2 ? in[j - 2] == '\r' : c->body == B_CR;
			c->body = j < k ? B_LCR : cr ? B_START : B_LSTART;
			return k;
		}
	}
	/* no such dot: the state after the last bytes */
	for (j = n; j > i && in[j - 1] == '\r'; j--)
		;
	if (j > i && in[j - 1] == '\n') {
		cr = j - i >= 2 ? in[j - 2] == '\r' : c->body == B_CR;
		c->body = j < n ? B_LCR : cr ? B_START : B_LSTART;
	} else
		c->body = in[n - 1] == '\r' ? B_CR : B_MID;
	return n;
}

/* One body byte: 1 at a strict end, 2 at a lenient end, else 0. */
static int
bodybyte(struct smtp_client *c, int ch)
{
	int b = c->body, dotline = b >= B_DOT, start;

	c->linelen++;	/* of a dot line */
	if (b == B_DOTNUL) {
		if (ch != '\n')
			return 0;
		c->body = B_LSTART;
		return 2;
	}
	start = b == B_START || b == B_LSTART || b == B_LCR;
	switch (ch) {
	case '\n':
		c->body = b == B_CR || b == B_LCR || b == B_DOTCR ||
		    b == B_DOTXCR ? B_START : B_LSTART;
		return b == B_DOTCR ? 1 : dotline ? 2 : 0;
	case '\r':
		c->body = b == B_DOT ? B_DOTCR : dotline ? B_DOTXCR :
		    start ? B_LCR : B_CR;
		return 0;
	case ' ': case '\t':
		c->body = dotline ? B_DOTX : B_MID;
		return 0;
	case '\0':
		c->body = dotline ? B_DOTNUL : B_MID;
		return 0;
	case '.':
		c->linelen = 1;
		c->body = b == B_START ? B_DOT : start ? B_DOTX : B_MID;
		return 0;
	default:
		c->body = B_MID;
		return 0;
	}
}

/* A command line ended at its LF: its verb, and whether it is plain. */
static int
cmdend(struct smtp_client *c)
{
	unsigned long long size;
	size_t k = c->headlen;
	int verb;

	/* head holds the line from its first byte over 32, and its LF if
	 * it is short enough */
	if (k > 0 && c->head[k - 1] == '\n')
		k--;
	verb = c->sasl ? V_AUTH : lineverb(c->head, k);
	c->lastplain = c->form == F_CR && c->linelen <= SMTP_PLAINMAX &&
	    verb != V_OTHER && verb != V_NONE && verb != V_DATA;
	c->lastlast = 0;
	if (c->lastplain && verb == V_BDAT) {
		/* its chunk passes uncounted: only a size that all read
		 * alike, where the relay trusts it (c->chunking) */
		c->lastplain = c->chunking && c->linelen <= sizeof c->head &&
		    bdatplain(c->head, c->linelen, &size, &c->lastlast);
		if (c->lastplain && size > 0) {
			c->chunk = size;
			c->mode = CS_CHUNK;
		}
	}
	c->lastverb = verb;
	c->lastlen = c->linelen;
	c->sasl = 0;
	c->linelen = 0;
	c->headlen = 0;
	c->form = F_VERB;
	return verb;
}

/* The longest a command line may grow before it is two commands to some
 * server: SMTP_AUTHMAX for AUTH and the answers to a 334. */
static size_t
linemax(const struct smtp_client *c)
{
	return c->sasl || (c->headlen >= 5 &&
	    smtp_caseeq(c->head, 5, "AUTH ")) ? SMTP_AUTHMAX : SMTP_PLAINMAX;
}

/* In command lines: one byte.  1 if the scan stops after it (*verb set),
 * at the line's LF or when it grows too long. */
static int
cmdbyte(struct smtp_client *c, int ch, int *verb)
{
	if (c->headlen < sizeof c->head && (c->headlen > 0 || ch > 32))
		c->head[c->headlen++] = (char)ch;
	if (ch == '\n') {
		c->linelen++;
		*verb = cmdend(c);
		return 1;
	}
	c->form = formbyte(c->form, ch, c->linelen);
	if (++c->linelen == linemax(c)) {
		c->form = F_NOT;
		c->lastverb = lineverb(c->head, c->headlen);
		c->lastlen = c->linelen;
		*verb = V_LONG;
		return 1;
	}
	return 0;
}

/* In a body, from in[i]: the offset after a dot line that ends it (*verb
 * V_DOT or V_LDOT), or n. */
static size_t
bodyscan(struct smtp_client *c, const char *in, size_t i, size_t n,
    int *verb)
{
	int end;

	for (; i < n; i++) {
		if (c->body == B_MID || c->body == B_CR) {
			/* mid-line: only a dot that starts a line can end
			 * the body, so look for dots, not line ends, and
			 * see what came before each */
			i = bodyskip(c, in, i, n);
			if (i == n)
				return n;
		}
		end = bodybyte(c, (unsigned char)in[i]);
		if (end == 0)
			continue;
		c->lastlen = c->linelen;
		c->linelen = 0;
		if (end == 1) {
			smtp_ccmd(c);
			*verb = V_DOT;
		} else
			*verb = V_LDOT;
		return i + 1;
	}
	return n;
}

/*
 * Scan n bytes of the client's stream.  Stops after each command line;
 * *verb is then its verb (read after any leading bytes: see lineverb()),
 * c->lastplain says whether it was in its plain form, which every server
 * reads the same way, and c->lastlen is its length.  A command line that
 * reaches SMTP_PLAINMAX bytes without an LF (SMTP_AUTHMAX for AUTH and
 * the answers to a 334) stops the scan with *verb V_LONG, once.  In a
 * body it stops after a dot line that ends it: with *verb V_DOT at
 * CR LF . CR LF, back in command mode (the server replies to it as to a
 * command, and RFC 2920 lets the client pipeline more after it); with
 * *verb V_LDOT at a lenient end, still in the body: only the server
 * knows whether the body ended there (smtp_ccmd).  Otherwise *verb is
 * -1.  Body, BDAT chunks and the stream after STARTTLS are
 * passed over, never taken for commands.
 */
size_t
smtp_cscan(struct smtp_client *c, const char *in, size_t n, int *verb)
{
	size_t i = 0;
	unsigned long long k;

	*verb = -1;
	while (i < n) {
		switch (c->mode) {
		case CS_BLIND:
			return n;
		case CS_CHUNK:
			k = c->chunk < n - i ? c->chunk : n - i;
			c->chunk -= k;
			i += (size_t)k;
			if (c->chunk == 0)
				c->mode = CS_CMD;
			break;
		case CS_BODY:
			return bodyscan(c, in, i, n, verb);
		default:
			for (; i < n; i++)
				if (cmdbyte(c, (unsigned char)in[i], verb))
					return i + 1;
		}
	}
	return n;
}

/*
 * How many of the bytes scanned so far belong to a command line that has
 * not ended.  The relay holds them back: no server acts on a line before
 * its LF, nor before SMTP_PLAINMAX bytes of it (SMTP_AUTHMAX for AUTH).
 */
size_t
smtp_cheld(const struct smtp_client *c)
{
	return c->mode == CS_CMD ? c->linelen : 0;
}

/* The server said 354: the client's message body follows. */
void
smtp_cbody(struct smtp_client *c)
{
	c->mode = CS_BODY;
	c->body = B_START;
	c->linelen = 0;
	c->headlen = 0;
	c->form = F_VERB;
}

/* The server said 334: the next line is an answer to its SASL challenge,
 * unless the client has begun it already. */
void
smtp_csasl(struct smtp_client *c)
{
	if (c->mode != CS_CMD || c->linelen > 0)
		return;
	c->sasl = 1;
	c->form = F_SASL;
}

/* The server ended the body (or never began one): commands follow. */
void
smtp_ccmd(struct smtp_client *c)
{
	c->mode = CS_CMD;
	c->linelen = 0;
	c->headlen = 0;
	c->sasl = 0;
	c->form = F_VERB;
}

/* Is the reply text at s, n bytes, the keyword word, alone or with args? */
static int
keyword(const char *s, size_t n, const char *word)
{
	size_t k = strlen(word);

	if (n < k || !smtp_caseeq(s, k, word))
		return 0;
	return n == k || s[k] == ' ' || s[k] == '\t' || s[k] == '\r';
}

/*
 * Scan n bytes of the server's stream.  Stops after each reply line and
 * fills *rl: its code (-1 if the line is no reply, which counts as a last
 * line), whether it is the last line of its reply, and, on the last line,
 * the extensions the reply offered (PIPELINING, CHUNKING: an EHLO
 * reply).  Otherwise rl->code is 0.
 */
size_t
smtp_rscan(struct smtp_reply *r, const char *in, size_t n,
    struct smtp_rline *rl)
{
	size_t i, k;
	const char *h = r->head;

	rl->code = 0;
	rl->final = 0;
	rl->ext = 0;
	for (i = 0; i < n; i++) {
		if (r->linelen < sizeof r->head)
			r->head[r->linelen] = in[i];
		r->linelen++;
		if (in[i] != '\n')
			continue;
		k = r->linelen < sizeof r->head ?
		    r->linelen - 1 : sizeof r->head;
		r->linelen = 0;
		if (k < 3 || h[0] < '1' || h[0] > '5' || h[1] < '0' ||
		    h[1] > '9' || h[2] < '0' || h[2] > '9' ||
		    (k > 3 && h[3] != ' ' && h[3] != '-' && h[3] != '\r')) {
			rl->code = -1;	/* no reply line: it ends nothing */
			rl->final = 1;
			return i + 1;
		}
		rl->code = (h[0] - '0') * 100 + (h[1] - '0') * 10 +
		    (h[2] - '0');
		if (k > 4 && keyword(h + 4, k - 4, "PIPELINING"))
			r->ext |= EXT_PIPELINING;
		if (k > 4 && keyword(h + 4, k - 4, "CHUNKING"))
			r->ext |= EXT_CHUNKING;
		rl->final = k == 3 || h[3] != '-';
		if (rl->final) {
			rl->ext = r->ext;
			r->ext = 0;
		}
		return i + 1;
	}
	return n;
}
