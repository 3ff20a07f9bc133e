/* stub.c: a minimal SMTP server on fd 0 and fd 1, the next program in
 * make bench's chains, in place of qmail-smtpd.
 *
 *   stub
 *
 * Greets at once, accepts every command, reads a message to CRLF.CRLF
 * and throws it away, answers QUIT with 221 and exits.  Replies to
 * pipelined commands go out in one write per read.  Buffers are
 * bounded: a command line over LINEMAX bytes gets 500.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUFSIZE 65536		/* bytes read at a time */
#define LINEMAX 1000		/* a command line, CR LF included */

static void put(const char *, size_t);
static void flush(void);
static void command(const char *, size_t);
static size_t body(const char *, size_t);

static char out[4096];		/* replies not yet written */
static size_t outlen;
static int inbody;		/* 1: after 354, until CRLF.CRLF */
static int match;		/* bytes of CRLF.CRLF matched, 0..4 */

static void
flush(void)
{
	size_t i = 0;
	ssize_t w;

	while (i < outlen) {
		w = write(1, out + i, outlen - i);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			exit(0);	/* the client is gone */
		i += (size_t)w;
	}
	outlen = 0;
}

/* PUT("literal"): queue a reply */
#define PUT(s) put((s), sizeof (s) - 1)

static void
put(const char *s, size_t n)
{
	if (outlen + n > sizeof out)
		flush();
	memcpy(out + outlen, s, n);
	outlen += n;
}

/* Is the line's verb v (four upper case letters), in any case? */
static int
verb(const char *line, size_t n, const char *v)
{
	size_t i;
	char c;

	if (n < 4 || (n > 4 && line[4] != ' '))
		return 0;
	for (i = 0; i < 4; i++) {
		c = line[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c != v[i])
			return 0;
	}
	return 1;
}

static void
command(const char *line, size_t n)
{
	if (verb(line, n, "EHLO"))
		PUT("250-stub\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
	else if (verb(line, n, "HELO"))
		PUT("250 stub\r\n");
	else if (verb(line, n, "MAIL") || verb(line, n, "RCPT") ||
	    verb(line, n, "RSET") || verb(line, n, "NOOP"))
		PUT("250 2.0.0 Ok\r\n");
	else if (verb(line, n, "DATA")) {
		PUT("354 End data with <CR><LF>.<CR><LF>\r\n");
		inbody = 1;
		match = 2;	/* the CR LF of the DATA line */
	} else if (verb(line, n, "QUIT")) {
		PUT("221 2.0.0 Bye\r\n");
		flush();
		exit(0);
	} else
		PUT("502 5.5.2 Command not recognized\r\n");
}

/* Skip message bytes up to CRLF.CRLF: the bytes taken. */
static size_t
body(const char *s, size_t n)
{
	static const char end[] = "\r\n.\r\n";
	const char *cr;
	size_t i = 0;

	while (i < n) {
		if (match == 0) {
			cr = memchr(s + i, '\r', n - i);
			if (cr == NULL)
				return n;
			i = (size_t)(cr - s);
		}
		if (s[i] == end[match])
			match++;
		else
			match = s[i] == '\r' ? 1 : 0;
		i++;
		if (match == 5) {
			inbody = 0;
			PUT("250 2.0.0 Ok: thrown away\r\n");
			return i;
		}
	}
	return n;
}

int
main(void)
{
	static char in[BUFSIZE], line[LINEMAX];
	size_t i, len = 0;
	ssize_t r;
	int toolong = 0;

	PUT("220 stub ESMTP\r\n");
	flush();
	for (;;) {
		r = read(0, in, sizeof in);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return 0;
		for (i = 0; i < (size_t)r; i++) {
			if (inbody) {
				i += body(in + i, (size_t)r - i) - 1;
				continue;
			}
			if (in[i] != '\n') {
				if (len < sizeof line)
					line[len++] = in[i];
				else
					toolong = 1;
				continue;
			}
			if (len > 0 && line[len - 1] == '\r')
				len--;
			if (toolong)
				PUT("500 5.5.2 Line too long\r\n");
			else
				command(line, len);
			len = 0;
			toolong = 0;
		}
		flush();
	}
}
