/* smtp.c: SMTP's words, shared by earlytalker, earlytalker-wrap and the
 * fuzz harness: command lines and their verbs, the early-byte
 * classifier, and the escaping of text for log lines and replies.  Pure
 * functions: no I/O, no globals, no allocation; every loop is bounded by
 * its input.  Also the PROXY protocol header, which a load balancer
 * sends before the client's first byte.  The relay's stream scanners are
 * scan.c's. */

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
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

/*
 * Decimal seconds with up to three decimals ("0", "0.25", "2", "1.5")
 * into milliseconds; at most max milliseconds.  Returns 0 on success, -1
 * on anything else: no sign, no exponent, no comma, no empty part.
 */
int
smtp_seconds(const char *s, unsigned long max, unsigned long *ms)
{
	unsigned long v = 0, scale = 1000;
	size_t i;

	for (i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
		if (v > max / 10)
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (i == 0 || v > max / 1000)
		return -1;
	v *= 1000;
	if (s[i] == '.') {
		if (s[++i] < '0' || s[i] > '9')
			return -1;
		for (; s[i] >= '0' && s[i] <= '9'; i++) {
			if (scale == 1)
				return -1;	/* finer than a millisecond */
			scale /= 10;
			v += scale * (unsigned long)(s[i] - '0');
		}
	}
	if (s[i] != '\0' || v > max)
		return -1;
	*ms = v;
	return 0;
}

/* One v1 field: bytes up to the next space or CR, NUL-terminated in out. */
static const char *
field(const char *s, const char *end, char *out, size_t outsize)
{
	size_t k;

	for (k = 0; s + k < end && s[k] != ' ' && s[k] != '\r'; k++)
		if (k + 1 >= outsize)
			return NULL;
	memcpy(out, s, k);
	out[k] = '\0';
	return s + k;
}

/* A decimal port, 0..65535, with no sign and no leading zero. */
static int
port(const char *s, unsigned int *p)
{
	unsigned long v = 0;
	size_t i;

	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 5)
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*p = (unsigned int)v;
	return 0;
}

/*
 * The address bin of family af as text into out: an IPv4-mapped IPv6
 * address as IPv4, as the peer's address is shown everywhere else, so
 * that tcprules and the pass cache know the client whichever way the
 * balancer saw it; IPv6 in inet_ntop()'s one form.
 */
static int
addrtext(int af, const unsigned char *bin, char *out, size_t n)
{
	static const unsigned char mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};

	if (af == AF_INET6 && memcmp(bin, mapped, sizeof mapped) == 0) {
		af = AF_INET;
		bin += sizeof mapped;
	}
	return inet_ntop(af, bin, out, (socklen_t)n) == NULL ? -1 : 0;
}

/* "PROXY TCP4 src dst sport dport\r\n", the whole header in h[0..n). */
static int
proxy1(const char *h, size_t n, struct smtp_proxy *p)
{
	char proto[8], sp[8], dp[8];
	unsigned char src[16], dst[16];
	const char *s = h + 6, *end = h + n - 2;
	int af;

	s = field(s, end, proto, sizeof proto);
	if (s == NULL)
		return -1;
	if (strcmp(proto, "UNKNOWN") == 0) {
		p->local = 1;	/* whatever follows, to CR LF */
		return 0;
	}
	if (strcmp(proto, "TCP4") == 0)
		af = AF_INET;
	else if (strcmp(proto, "TCP6") == 0)
		af = AF_INET6;
	else
		return -1;
	if (*s != ' ' || (s = field(s + 1, end, p->src, sizeof p->src)) ==
	    NULL || *s != ' ' || (s = field(s + 1, end, p->dst,
	    sizeof p->dst)) == NULL || *s != ' ' || (s = field(s + 1, end, sp,
	    sizeof sp)) == NULL || *s != ' ' || (s = field(s + 1, end, dp,
	    sizeof dp)) == NULL || s != end)
		return -1;
	if (inet_pton(af, p->src, src) != 1 || inet_pton(af, p->dst, dst) != 1 ||
	    port(sp, &p->sport) == -1 || port(dp, &p->dport) == -1)
		return -1;
	return addrtext(af, src, p->src, sizeof p->src) == -1 ||
	    addrtext(af, dst, p->dst, sizeof p->dst) == -1 ? -1 : 0;
}

/* The v2 address block of a PROXY command, len bytes at a. */
static int
proxy2(const unsigned char *a, size_t len, int fam, struct smtp_proxy *p)
{
	size_t alen = fam == AF_INET ? 4 : 16;

	if (len < 2 * alen + 4)
		return -1;
	if (addrtext(fam, a, p->src, sizeof p->src) == -1 ||
	    addrtext(fam, a + alen, p->dst, sizeof p->dst) == -1)
		return -1;
	p->sport = (unsigned int)a[2 * alen] << 8 | a[2 * alen + 1];
	p->dport = (unsigned int)a[2 * alen + 2] << 8 | a[2 * alen + 3];
	return 0;
}

/*
 * Parse a PROXY protocol header from the n bytes read so far.  Returns
 * the header's length once it is whole and valid, 0 if more bytes are
 * needed (*need is then how many may be read without reading past the
 * header), or -1 if the bytes are no valid header.  v1 needs one byte at
 * a time (its end is a CR LF); v2 says its length in byte 16.
 */
int
smtp_proxy(const unsigned char *h, size_t n, size_t *need,
    struct smtp_proxy *p)
{
	static const unsigned char sig[12] = "\r\n\r\n\0\r\nQUIT\n";
	static const char v1[6] = "PROXY ";
	size_t i, len;

	memset(p, 0, sizeof *p);
	*need = 1;
	if (n == 0)
		return 0;
	if (h[0] == 'P') {
		p->version = 1;
		for (i = 0; i < n && i < sizeof v1; i++)
			if (h[i] != (unsigned char)v1[i])
				return -1;
		for (i = 0; i + 1 < n; i++)
			if (h[i] == '\r' && h[i + 1] == '\n')
				break;
		if (i + 1 >= n) {
			/* no CR LF yet: LF, NUL or an inner CR never belong */
			for (i = 0; i < n; i++)
				if (h[i] == '\n' || h[i] == '\0' ||
				    (h[i] == '\r' && i + 1 < n))
					return -1;
			return n < PROXY_V1MAX ? 0 : -1;
		}
		if (i + 2 != n || proxy1((const char *)h, n, p) == -1)
			return -1;
		return (int)n;
	}
	p->version = 2;
	for (i = 0; i < n && i < sizeof sig; i++)
		if (h[i] != sig[i])
			return -1;
	if (n < 16) {
		*need = 16 - n;
		return 0;
	}
	if ((h[12] & 0xf0) != 0x20 || (h[12] & 0x0f) > 1)
		return -1;
	len = (size_t)h[14] << 8 | h[15];
	if (n < 16 + len) {
		*need = 16 + len - n;
		return 0;
	}
	if (n > 16 + len)
		return -1;
	/* a PROXY command names UNSPEC or a known family and transport
	 * (the spec's list); LOCAL's byte is ignored */
	if ((h[12] & 0x0f) == 1 && h[13] != 0x00 &&
	    (h[13] >> 4 < 1 || h[13] >> 4 > 3 || (h[13] & 0x0f) < 1 ||
	    (h[13] & 0x0f) > 2))
		return -1;
	if ((h[12] & 0x0f) == 1 && h[13] == 0x11)	/* TCP over IPv4 */
		return proxy2(h + 16, len, AF_INET, p) == -1 ? -1 : (int)n;
	if ((h[12] & 0x0f) == 1 && h[13] == 0x21)	/* TCP over IPv6 */
		return proxy2(h + 16, len, AF_INET6, p) == -1 ? -1 : (int)n;
	/* LOCAL (a health check), or UDP, UNIX, UNSPEC: no TCP client */
	p->local = 1;
	return (int)n;
}
