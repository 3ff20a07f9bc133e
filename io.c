/* io.c: the I/O both programs share. */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "smtp.h"

static const char *logprog = "?";	/* program name in log lines */
static const char *logip;		/* the client's address, or NULL:
					 * looked up by the first log line */
static char logipbuf[PEER_IP];
static long logpid;			/* our pid when log_init ran */
static char logprefix[PEER_IP + 100];	/* "PROG: IP pid N: ", or ""
					 * until the first log line needs it */

/* Milliseconds on the monotonic clock: immune to clock steps. */
long long
now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Write all n bytes, over short writes and EINTR.  0, or -1 and errno. */
int
write_all(int fd, const char *buf, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, buf, n);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One whole reply, CR LF added, in one write to the client on fd 1. */
int
reply(const char *line)
{
	char buf[SMTP_LINEMAX + 1];
	int n;

	n = snprintf(buf, sizeof buf, "%.*s\r\n", SMTP_LINEMAX - 2, line);
	if (n < 0)
		return -1;
	return write_all(1, buf, (size_t)n);
}

/*
 * Name the program and the client (ip must stay valid; NULL: peer_ip()
 * finds it when the first log line needs it; "": no client, as for -n,
 * and the prefix is "PROG: " alone).  The prefix is
 * made by the first log line, not here: then printf's deep stack frames
 * stay untouched while earlytalker waits, and a waiting process holds
 * fewer stack pages (make bench counts them).
 */
void
log_init(const char *prog, const char *ip)
{
	logprog = prog;
	logip = ip;
	logpid = (long)getpid();
	logprefix[0] = '\0';
}

static void
log_v(const char *prefix, const char *fmt, va_list ap)
{
	char buf[LOGMAX];
	size_t n;
	int k;

	k = snprintf(buf, sizeof buf - 1, "%s", prefix);
	n = k < 0 ? 0 : (size_t)k;
	if (n >= sizeof buf - 1)
		n = sizeof buf - 2;
	/* ap comes from va_start in the callers: the analyzer misses it */
	k = vsnprintf(buf + n, sizeof buf - 1 - n, fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized) */
	n += k < 0 ? 0 : (size_t)k;
	if (n >= sizeof buf - 1)
		n = sizeof buf - 2;
	buf[n++] = '\n';
	(void)write_all(2, buf, n);	/* one write: lines never mix */
}

/* "PROG: IP pid N: ", made once */
static const char *
log_prefix(void)
{
	if (logprefix[0] == '\0' && logip != NULL && *logip == '\0')
		(void)snprintf(logprefix, sizeof logprefix, "%s: ", logprog);
	if (logprefix[0] == '\0') {
		if (logip == NULL) {
			peer_ip(logipbuf, sizeof logipbuf);
			logip = logipbuf;
		}
		if (logpid == 0)
			logpid = (long)getpid();
		(void)snprintf(logprefix, sizeof logprefix, "%s: %s pid %ld: ",
		    logprog, logip, logpid);
	}
	return logprefix;
}

/* A line about this client: "PROG: IP pid N: " and the text. */
void
log_line(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v(log_prefix(), fmt, ap);
	va_end(ap);
}

/* A fatal line: "PROG: IP pid N: fatal: " and the text. */
void
log_fatal(const char *fmt, ...)
{
	char prefix[sizeof logprefix + 8];
	va_list ap;

	(void)snprintf(prefix, sizeof prefix, "%sfatal: ", log_prefix());
	va_start(ap, fmt);
	log_v(prefix, fmt, ap);
	va_end(ap);
}

/*
 * A usage error: "PROG: usage: -o VALUE: why" (the value escaped and
 * cut; without opt, "PROG: usage: why"), then the usage line.  Exit 100.
 */
void
die_usage(const char *prog, const char *usage, int opt, const char *val,
    const char *why)
{
	char buf[LOGMAX], esc[4 * 40 + 1];
	int k;

	if (why != NULL) {
		if (val != NULL)
			(void)smtp_escape(esc, sizeof esc, val,
			    strlen(val) > 40 ? 40 : strlen(val));
		if (opt == 0)
			k = snprintf(buf, sizeof buf, "%s: usage: %s\n", prog,
			    why);
		else if (val == NULL)
			k = snprintf(buf, sizeof buf, "%s: usage: -%c: %s\n",
			    prog, opt, why);
		else
			k = snprintf(buf, sizeof buf, "%s: usage: -%c %s: %s\n",
			    prog, opt, *val == '\0' ? "\"\"" : esc, why);
		if (k > 0)
			(void)write_all(2, buf, (size_t)k < sizeof buf ?
			    (size_t)k : sizeof buf - 1);
	}
	k = snprintf(buf, sizeof buf, "%s: usage: %s\n", prog, usage);
	if (k > 0)
		(void)write_all(2, buf, (size_t)k < sizeof buf ? (size_t)k :
		    sizeof buf - 1);
	exit(100);
}

/*
 * The IP address in sa (a struct sockaddr_storage) as text into out, an
 * IPv4-mapped IPv6 address as IPv4, and its port into *port.  0, or -1
 * if sa holds no IP address.
 */
int
addr_text(const void *sa, char *out, size_t n, unsigned int *port)
{
	const struct sockaddr_storage *ss = sa;
	const struct sockaddr_in6 *s6;
	const struct sockaddr_in *s4;

	if (ss->ss_family == AF_INET) {
		s4 = (const struct sockaddr_in *)sa;
		*port = ntohs(s4->sin_port);
		return inet_ntop(AF_INET, &s4->sin_addr, out, (socklen_t)n) ==
		    NULL ? -1 : 0;
	}
	if (ss->ss_family != AF_INET6)
		return -1;
	s6 = (const struct sockaddr_in6 *)sa;
	*port = ntohs(s6->sin6_port);
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		return inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], out,
		    (socklen_t)n) == NULL ? -1 : 0;
	return inet_ntop(AF_INET6, &s6->sin6_addr, out, (socklen_t)n) ==
	    NULL ? -1 : 0;
}

/*
 * The client's address, for logs: $TCPREMOTEIP (escaped: the environment
 * is not ours to trust blindly), else getpeername() on fd 0, else
 * "unknown".
 */
void
peer_ip(char *out, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	const char *ip = getenv("TCPREMOTEIP");
	unsigned int port;

	if (ip != NULL && *ip != '\0') {
		(void)smtp_escape(out, n, ip, strlen(ip) > 64 ? 64 :
		    strlen(ip));
		return;
	}
	memset(&ss, 0, sizeof ss);
	if (getpeername(0, (struct sockaddr *)&ss, &len) == -1 ||
	    addr_text(&ss, out, n, &port) == -1)
		(void)snprintf(out, n, "unknown");
}

/*
 * The next command line from fd 0 into l, read before the deadline (on
 * the monotonic clock).  The deadline bounds the waiting, not the taking
 * of what is already here: once it has passed, one read that does not
 * wait, so that a line that came before the deadline (an early talker's,
 * with -l 0) still gets its answer.  Returns LINE_OK or LINE_LONG,
 * IN_EOF, IN_TIMEOUT or IN_ERROR.
 */
int
next_line(struct input *in, struct smtp_line *l, long long deadline)
{
	struct pollfd p;
	long long left;
	ssize_t r;
	int st, late = 0;

	for (;;) {
		while (in->pos < in->len) {
			in->pos += smtp_getline(l, in->buf + in->pos,
			    in->len - in->pos, &st);
			if (st != LINE_MORE)
				return st;
		}
		left = deadline - now_ms();
		if (left <= 0) {
			if (late++)
				return IN_TIMEOUT;
			left = 0;
		}
		p.fd = 0;
		p.events = POLLIN;
		if (poll(&p, 1, left > 60000 ? 60000 : (int)left) == -1) {
			if (errno == EINTR)
				continue;
			return IN_ERROR;
		}
		if (p.revents == 0) {
			if (late)
				return IN_TIMEOUT;
			continue;
		}
		r = read(0, in->buf, sizeof in->buf);
		if (r == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return errno == ECONNRESET ? IN_EOF : IN_ERROR;
		}
		if (r == 0)
			return IN_EOF;
		in->pos = 0;
		in->len = (size_t)r;
	}
}

/*
 * End the session so that the last reply survives: send FIN (shutdown,
 * or close if fd 1 is no socket), then read and discard what the client
 * still sends, until it closes, or sends nothing for DRAIN_QUIET_MS, or
 * DRAIN_MS pass.  Closing with unread input would send a reset, and a
 * reset can make the client's kernel drop the reply before the client
 * reads it; so the drain returns only with the input read to its end,
 * or after a silence in which the client's bytes in flight came.
 */
void
close_clean(void)
{
	char buf[4096];
	struct pollfd p;
	long long now = now_ms(), deadline = now + DRAIN_MS, quiet, left;
	ssize_t r;

	if (shutdown(1, SHUT_WR) == -1)
		(void)close(1);
	quiet = now + DRAIN_QUIET_MS;
	for (;;) {
		now = now_ms();
		left = (quiet < deadline ? quiet : deadline) - now;
		if (left <= 0)
			return;
		p.fd = 0;
		p.events = POLLIN;
		if (poll(&p, 1, (int)left) == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (p.revents == 0)
			continue;
		r = read(0, buf, sizeof buf);
		if (r == 0 || (r == -1 && errno != EINTR && errno != EAGAIN))
			return;
		if (r > 0)
			quiet = now_ms() + DRAIN_QUIET_MS;
	}
}

/* Milliseconds as "S.mmm" seconds, into buf. */
char *
elapsed(char *buf, size_t n, long long ms)
{
	if (ms < 0)
		ms = 0;
	(void)snprintf(buf, n, "%lld.%03lld", ms / 1000, ms % 1000);
	return buf;
}

/*
 * Our name for replies: $TCPLOCALHOST, else gethostname(), else
 * "localhost"; bytes outside 32..126 become '?'.
 */
void
local_host(char *out, size_t n)
{
	const char *h = getenv("TCPLOCALHOST");

	if (h != NULL && *h != '\0') {
		smtp_text(out, n, h);
		return;
	}
	memset(out, 0, n);
	if (gethostname(out, n - 1) == -1 || out[0] == '\0')
		(void)snprintf(out, n, "localhost");
	smtp_text(out, n, out);
}

/* execvp()'s search path when $PATH is unset: glibc's, else musl's */
#ifdef __GLIBC__
#define DEFAULT_PATH "/bin:/usr/bin"
#else
#define DEFAULT_PATH "/usr/local/bin:/bin:/usr/bin"
#endif

/*
 * -n: where execvp() would find prog, as it searches: a name with a
 * slash as it is, else each directory of $PATH (an empty one is the
 * current directory; without $PATH, the C library's default), the
 * first regular file that we may execute.  The path
 * into out; 0, or -1 with errno as execvp would leave it: EACCES if a
 * file was found but none can be executed, else ENOENT (or the error of
 * a name with a slash).
 */
int
prog_find(const char *prog, char *out, size_t n)
{
	struct stat st;
	const char *dirs = getenv("PATH"), *d, *end;
	int denied = 0, k;

	if (*prog == '\0') {
		errno = ENOENT;
		return -1;
	}
	if (strchr(prog, '/') != NULL) {
		if (stat(prog, &st) == -1)
			return -1;
		if (!S_ISREG(st.st_mode) || access(prog, X_OK) == -1) {
			errno = EACCES;
			return -1;
		}
		k = snprintf(out, n, "%s", prog);
		if (k < 0 || (size_t)k >= n) {
			errno = ENAMETOOLONG;
			return -1;
		}
		return 0;
	}
	if (dirs == NULL)
		dirs = DEFAULT_PATH;
	for (d = dirs; ; d = end + 1) {
		end = strchr(d, ':');
		if (end == NULL)
			end = d + strlen(d);
		k = end == d ? snprintf(out, n, "%s", prog) :
		    snprintf(out, n, "%.*s/%s", (int)(end - d), d, prog);
		if (k >= 0 && (size_t)k < n && stat(out, &st) == 0) {
			if (S_ISREG(st.st_mode) && access(out, X_OK) == 0)
				return 0;
			denied = 1;
		}
		if (*end == '\0')
			break;
	}
	errno = denied ? EACCES : ENOENT;
	return -1;
}

/* -n: one setting, "name value", on fd 1. */
void
setting(const char *name, const char *fmt, ...)
{
	char buf[LOGMAX];
	va_list ap;
	size_t n;
	int k;

	k = snprintf(buf, sizeof buf - 1, "%s ", name);
	n = k < 0 ? 0 : (size_t)k;
	if (n >= sizeof buf - 1)
		n = sizeof buf - 2;
	va_start(ap, fmt);
	k = vsnprintf(buf + n, sizeof buf - 1 - n, fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized) */
	va_end(ap);
	n += k < 0 ? 0 : (size_t)k;
	if (n >= sizeof buf - 1)
		n = sizeof buf - 2;
	buf[n++] = '\n';
	(void)write_all(1, buf, n);
}
