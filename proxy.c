/* proxy.c: the PROXY protocol header (v1 text, v2 binary) that a load
 * balancer sends before the client's first byte: proxy_parse(), the pure
 * parser (fuzzed by fuzz/fuzz_smtp.c); proxy_read() and proxy_take(),
 * which take the header off fd 0, exactly and no byte more; and
 * proxy_client(), which makes the header's client the client. */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "proxy.h"

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

/* "PROXY TCP4 src dst sport dport\r\n", the whole header in h[0..n). */
static int
proxy1(const char *h, size_t n, struct proxy_header *p)
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
	return addr_text(af, src, p->src, sizeof p->src) == -1 ||
	    addr_text(af, dst, p->dst, sizeof p->dst) == -1 ? -1 : 0;
}

/* The v2 address block of a PROXY command, len bytes at a. */
static int
proxy2(const unsigned char *a, size_t len, int fam, struct proxy_header *p)
{
	size_t alen = fam == AF_INET ? 4 : 16;

	if (len < 2 * alen + 4)
		return -1;
	if (addr_text(fam, a, p->src, sizeof p->src) == -1 ||
	    addr_text(fam, a + alen, p->dst, sizeof p->dst) == -1)
		return -1;
	p->sport = (unsigned int)a[2 * alen] << 8 | a[2 * alen + 1];
	p->dport = (unsigned int)a[2 * alen + 2] << 8 | a[2 * alen + 3];
	return 0;
}

/* v1: the n bytes so far, h[0] a 'P': as proxy_parse(), one byte at a
 * time (its end is a CR LF). */
static int
parse1(const unsigned char *h, size_t n, struct proxy_header *p)
{
	static const char v1[6] = "PROXY ";
	size_t i;

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

/*
 * Parse a PROXY protocol header from the n bytes read so far.  Returns
 * the header's length once it is whole and valid, 0 if more bytes are
 * needed (*need is then how many may be read without reading past the
 * header), or -1 if the bytes are no valid header.  v1 needs one byte at
 * a time (parse1()); v2 says its length in byte 16.
 */
int
proxy_parse(const unsigned char *h, size_t n, size_t *need,
    struct proxy_header *p)
{
	static const unsigned char sig[12] = "\r\n\r\n\0\r\nQUIT\n";
	size_t i, len;

	memset(p, 0, sizeof *p);
	*need = 1;
	if (n == 0)
		return 0;
	if (h[0] == 'P')
		return parse1(h, n, p);
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

/*
 * Read the PROXY header from fd 0 into h (PROXY_V2MAX bytes), never past
 * its end, within PROXY_MS.  Returns 1 and fills *p with a valid header,
 * 0 if none came in time (or the client left), -1 if the bytes are no
 * valid header.  *n is the number of bytes read, for the log.
 */
int
proxy_read(struct proxy_header *p, unsigned char *h, size_t *n)
{
	long long deadline = now_ms() + PROXY_MS, left;
	struct pollfd pfd;
	size_t need;
	ssize_t r;
	int st;

	*n = 0;
	for (;;) {
		st = proxy_parse(h, *n, &need, p);
		if (st != 0)
			return st > 0 ? 1 : -1;
		left = deadline - now_ms();
		if (left <= 0)
			return 0;
		pfd.fd = 0;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)left) == -1) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		if (pfd.revents == 0)
			continue;
		r = read(0, h + *n, need);
		if (r == 0 || (r == -1 && errno != EINTR && errno != EAGAIN))
			return 0;
		if (r > 0)
			*n += (size_t)r;
	}
}

/*
 * Take the PROXY header off fd 0 into *px, by proxy_read(), its buffer
 * on the heap: no page of it, unless used.  Returns 1; 0 if no valid
 * header came, which is logged, with the bytes that came, when loud;
 * -1 if out of memory.
 */
int
proxy_take(struct proxy_header *px, int loud)
{
	unsigned char *h;
	char esc[4 * SMTP_SAMPLE + 1], t[32];
	long long start = now_ms();
	size_t n;
	int st;

	h = malloc(PROXY_V2MAX);
	if (h == NULL)
		return -1;
	st = proxy_read(px, h, &n);
	if (st != 1 && loud) {
		(void)smtp_escape(esc, sizeof esc, (const char *)h,
		    n < SMTP_SAMPLE ? n : SMTP_SAMPLE);
		log_line("proxy: %s: %lu bytes after %s s: \"%s\": reject 421",
		    st == 0 ? "no header" : "bad header", (unsigned long)n,
		    elapsed(t, sizeof t, now_ms() - start), esc);
	}
	free(h);
	return st == 1;
}

/*
 * The client comes through a load balancer: take its PROXY header off
 * fd 0 (proxy_take(), which logs a bad one when verbosity is 1 or more)
 * and make the real client the client: the tcp-environ(5) variables
 * from the header, with no $TCPREMOTEHOST or $TCPREMOTEINFO, which named
 * the balancer.  Returns 1 (px->src is the client); 0 for a LOCAL header
 * (the balancer's own connection, its health check), which keeps the
 * connection's addresses; -1 if no valid header came; -2 if out of
 * memory, with a fatal line.  With verbosity 2 the header is logged.
 */
int
proxy_client(struct proxy_header *px, int verbosity)
{
	switch (proxy_take(px, verbosity > 0)) {
	case -1:
		log_fatal("unable to read the PROXY header: out of memory");
		return -2;
	case 0:
		return -1;
	}
	if (px->local) {
		if (verbosity > 1)
			log_line("proxy: v%d local", px->version);
		return 0;
	}
	if (tcp_setenv(0, px->src, px->sport, px->dst, px->dport) == -1) {
		log_fatal("unable to set TCPREMOTEIP: out of memory");
		return -2;
	}
	(void)unsetenv("TCPREMOTEHOST");
	(void)unsetenv("TCPREMOTEINFO");
	if (verbosity > 1)
		log_line("proxy: v%d from %s port %u to %s port %u",
		    px->version, px->src, px->sport, px->dst, px->dport);
	return 1;
}
