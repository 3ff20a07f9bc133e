/* smtp.c: SMTP's words, shared by earlytalker, earlytalker-wrap and the
 * fuzz harness: command lines and their verbs, the early-byte
 * classifier, and the escaping of text for log lines and replies.  Pure
 * functions: no I/O, no globals, no allocation; every loop is bounded by
 * its input.  The relay's stream scanners are scan.c's; the PROXY
 * header's parser is proxy.c's. */

#include <stddef.h>
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

/* Do the n bytes at s spell word (in capitals), ignoring ASCII case? */
int
smtp_caseeq(const char *s, size_t n, const char *word)
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
		if (smtp_caseeq(line, v, verbs[i].name))
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
