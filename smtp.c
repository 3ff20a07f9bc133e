/* smtp.c: parsers of client and server input, shared by earlytalker,
 * earlytalker-wrap and the fuzz harness.  Pure functions: no I/O, no
 * globals, no allocation; every loop is bounded by its input. */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "smtp.h"

static const struct {
	const char *name;
	int verb;
} verbs[] = {
	{ "AUTH", V_AUTH }, { "BDAT", V_BDAT }, { "DATA", V_DATA },
	{ "EHLO", V_EHLO }, { "ETRN", V_ETRN }, { "EXPN", V_EXPN },
	{ "HELO", V_HELO }, { "HELP", V_HELP }, { "MAIL", V_MAIL },
	{ "NOOP", V_NOOP }, { "QUIT", V_QUIT }, { "RCPT", V_RCPT },
	{ "RSET", V_RSET }, { "STARTTLS", V_STARTTLS }, { "VRFY", V_VRFY },
	{ NULL, V_OTHER }
};

static int
upper(int c)
{
	return (c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c;
}

/* Do the n bytes at s spell word, ignoring ASCII case? */
static int
caseeq(const char *s, size_t n, const char *word)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (word[i] == '\0' || upper((unsigned char)s[i]) != word[i])
			return 0;
	return word[n] == '\0';
}

static int
blank(int c)
{
	return c == ' ' || c == '\t';
}

/*
 * Take bytes from in into l until a line ends at LF.  Returns the bytes
 * taken; *st says LINE_MORE (all taken, no line yet), LINE_OK (l->buf holds
 * the line without CR LF) or LINE_LONG (a line over SMTP_LINEMAX bytes
 * ended; it was discarded as it came, so memory stays bounded).  A bare LF
 * ends a line too; NUL bytes are kept and counted in l->len.
 */
size_t
smtp_getline(struct smtp_line *l, const char *in, size_t n, int *st)
{
	size_t i;

	if (l->ready) {
		l->ready = 0;
		l->len = 0;
	}
	for (i = 0; i < n; i++) {
		if (in[i] == '\n') {
			*st = l->toolong ? LINE_LONG : LINE_OK;
			if (l->toolong)
				l->len = 0;
			else if (l->len > 0 && l->buf[l->len - 1] == '\r')
				l->len--;
			l->buf[l->len] = '\0';
			l->toolong = 0;
			l->ready = 1;
			return i + 1;
		}
		if (l->toolong)
			continue;
		if (l->len >= SMTP_LINEMAX - 1) {	/* room for LF */
			l->toolong = 1;
			continue;
		}
		l->buf[l->len++] = in[i];
	}
	*st = LINE_MORE;
	return n;
}

/*
 * The verb of a command line of n bytes, case-insensitive.  *arg, if not
 * NULL, points past the verb and the blanks after it.
 */
int
smtp_verb(const char *line, size_t n, const char **arg)
{
	size_t v, i;

	for (v = 0; v < n && !blank(line[v]) && line[v] != '\r'; v++)
		;
	for (i = v; i < n && blank(line[i]); i++)
		;
	if (arg != NULL)
		*arg = line + i;
	if (v == 0)
		return V_NONE;
	for (i = 0; verbs[i].name != NULL; i++)
		if (caseeq(line, v, verbs[i].name))
			return verbs[i].verb;
	return V_OTHER;
}

const char *
smtp_verbname(int verb)
{
	size_t i;

	for (i = 0; verbs[i].name != NULL; i++)
		if (verbs[i].verb == verb)
			return verbs[i].name;
	if (verb == V_DOT || verb == V_LDOT)
		return "end of data";
	return verb == V_NONE ? "empty line" : "unknown command";
}

/*
 * Must a client wait for the reply to this command before it sends more?
 * RFC 2920 section 3.1, with Exim's additions (STARTTLS, ETRN, unknown
 * verbs).  BDAT, AUTH and QUIT never synchronise.
 */
int
smtp_syncs(int verb)
{
	switch (verb) {
	case V_DATA: case V_EHLO: case V_ETRN: case V_EXPN: case V_HELO:
	case V_NOOP: case V_OTHER: case V_STARTTLS: case V_VRFY:
		return 1;
	default:
		return 0;
	}
}

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
	size_t i;

	for (i = 0; i < 4; i++)
		if (i >= n || upper((unsigned char)s[i]) != "DATA"[i])
			return smtp_verb(s, n, NULL);
	return V_DATA;
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
	*last = n - i == 7 && s[i] == ' ' && caseeq(s + i + 1, 4, "LAST");
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

/*
 * Scan n bytes of the client's stream.  Stops after each command line;
 * *verb is then its verb (read after any leading bytes: see lineverb()),
 * c->lastplain says whether it was in its plain form, which every server
 * reads the same way, and c->lastlen is its length.  A command line that
 * reaches SMTP_PLAINMAX bytes without an LF (SMTP_AUTHMAX for AUTH and
 * the answers to a 334) stops the scan with *verb V_LONG, once.  In a body it stops after a dot line that ends it: with
 * *verb V_DOT at CR LF . CR LF, back in command mode (the server replies
 * to it as to a command, and RFC 2920 lets the client pipeline more after
 * it); with *verb V_LDOT at a lenient end, still in the body: only the
 * server knows whether the body ended there (smtp_ccmd).  Otherwise
 * *verb is -1.  Body, BDAT chunks and the stream after STARTTLS are
 * passed over, never taken for commands.
 */
size_t
smtp_cscan(struct smtp_client *c, const char *in, size_t n, int *verb)
{
	size_t i;
	unsigned long long k;
	int end, ch;

	*verb = -1;
	for (i = 0; i < n; i++) {
		switch (c->mode) {
		case CS_BLIND:
			return n;
		case CS_CHUNK:
			k = c->chunk < n - i ? c->chunk : n - i;
			c->chunk -= k;
			i += (size_t)k - 1;
			if (c->chunk == 0)
				c->mode = CS_CMD;
			break;
		case CS_BODY:
			if (c->body == B_MID || c->body == B_CR) {
				/* mid-line: only a dot that starts a line can
				 * end the body, so look for dots, not line
				 * ends, and see what came before each */
				i = bodyskip(c, in, i, n);
				if (i == n)
					return n;
			}
			end = bodybyte(c, (unsigned char)in[i]);
			if (end == 0)
				break;
			c->lastlen = c->linelen;
			c->linelen = 0;
			if (end == 1) {
				smtp_ccmd(c);
				*verb = V_DOT;
			} else
				*verb = V_LDOT;
			return i + 1;
		default:
			ch = (unsigned char)in[i];
			if (c->headlen < sizeof c->head && (c->headlen > 0 ||
			    ch > 32))
				c->head[c->headlen++] = (char)ch;
			if (ch == '\n') {
				c->linelen++;
				*verb = cmdend(c);
				return i + 1;
			}
			c->form = formbyte(c->form, ch, c->linelen);
			if (++c->linelen == (c->sasl || (c->headlen >= 5 &&
			    caseeq(c->head, 5, "AUTH ")) ? SMTP_AUTHMAX :
			    SMTP_PLAINMAX)) {
				c->form = F_NOT;
				c->lastverb = lineverb(c->head, c->headlen);
				c->lastlen = c->linelen;
				*verb = V_LONG;
				return i + 1;
			}
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

	if (n < k || !caseeq(s, k, word))
		return 0;
	return n == k || blank(s[k]) || s[k] == '\r';
}

/*
 * Scan n bytes of the server's stream.  Stops after each reply line and
 * fills *rl: its code (-1 if the line is no reply, which counts as a last
 * line), whether it is the last line of its reply, and, on the last line, the extensions the reply
 * offered (PIPELINING, CHUNKING: an EHLO reply).  Otherwise rl->code is 0.
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

/*
 * C-escape n bytes of in into out (size outsize, NUL-terminated), so that
 * no client byte can break a log line: \r \n \t \\ \" and \ooo for every
 * byte outside 32..126.  Stops early rather than overflow; returns the
 * input bytes written.
 */
size_t
smtp_escape(char *out, size_t outsize, const char *in, size_t n)
{
	static const char oct[] = "01234567";
	size_t i, o = 0;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)in[i];
		if (o + 5 > outsize)
			break;
		if (c == '\r' || c == '\n' || c == '\t' || c == '\\' ||
		    c == '"') {
			out[o++] = '\\';
			out[o++] = (char)(c == '\r' ? 'r' : c == '\n' ? 'n' :
			    c == '\t' ? 't' : c);
		} else if (c < 32 || c > 126) {
			out[o++] = '\\';
			out[o++] = oct[c >> 6];
			out[o++] = oct[(c >> 3) & 7];
			out[o++] = oct[c & 7];
		} else
			out[o++] = (char)c;
	}
	if (outsize > 0)
		out[o] = '\0';
	return i;
}

/*
 * Operator text made safe for a reply line: bytes outside 32..126 become
 * '?', cut to outsize - 1 bytes (rblsmtpd's rule).
 */
void
smtp_text(char *out, size_t outsize, const char *in)
{
	size_t i;

	for (i = 0; i + 1 < outsize && in[i] != '\0'; i++) {
		out[i] = in[i];
		if ((unsigned char)in[i] < 32 || (unsigned char)in[i] > 126)
			out[i] = '?';
	}
	if (outsize > 0)
		out[i] = '\0';
}

/*
 * The reply text of a non-empty $EARLYTALKER value, made safe by
 * smtp_text(); "Access denied" if it has none.  Returns 1 if the value
 * asks for a permanent rejection (a leading '-', rblsmtpd's rule), else 0.
 */
int
smtp_marked(char *out, size_t outsize, const char *value)
{
	int permanent = value[0] == '-';

	smtp_text(out, outsize, value + permanent);
	if (out[0] == '\0')
		smtp_text(out, outsize, "Access denied");
	return permanent;
}

/*
 * Guess what n early bytes are: "smtp" (a known verb), "tls" (a TLS
 * handshake record), "http" (a request line), "proxy" (a PROXY protocol
 * v1 or v2 header) or "other".
 */
const char *
smtp_class(const char *in, size_t n)
{
	static const char *const http[] = { "GET", "POST", "HEAD", "PUT",
	    "DELETE", "OPTIONS", "CONNECT", "TRACE", "PATCH", NULL };
	static const char v2sig[12] = "\r\n\r\n\0\r\nQUIT\n";
	size_t v, i;

	if (n >= 2 && in[0] == 0x16 && in[1] == 0x03)
		return "tls";
	if ((n >= 6 && memcmp(in, "PROXY ", 6) == 0) ||
	    (n >= sizeof v2sig && memcmp(in, v2sig, sizeof v2sig) == 0))
		return "proxy";
	for (v = 0; v < n && !blank(in[v]) && in[v] != '\r' &&
	    in[v] != '\n'; v++)
		;
	if (v == n || v == 0)	/* the verb may go on: no guess */
		return "other";
	for (i = 0; http[i] != NULL; i++)
		if (in[v] == ' ' && v == strlen(http[i]) &&
		    memcmp(in, http[i], v) == 0)
			return "http";
	return smtp_verb(in, v, NULL) == V_OTHER ? "other" : "smtp";
}

/*
 * The address in a MAIL or RCPT argument ("FROM:<a@b> SIZE=9"): a pointer
 * into arg (NUL-terminated) and its length in *n, without the brackets.
 */
const char *
smtp_addr(const char *arg, size_t *n)
{
	const char *p = strchr(arg, ':');
	size_t k;

	p = p != NULL ? p + 1 : arg;
	while (blank(*p))
		p++;
	if (*p == '<') {
		p++;
		for (k = 0; p[k] != '\0' && p[k] != '>'; k++)
			;
	} else
		for (k = 0; p[k] != '\0' && !blank(p[k]); k++)
			;
	*n = k;
	return p;
}
