/* io.c: the I/O both programs share. */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "smtp.h"

static const char *logprog = "?";	/* program name in log lines */
static const char *logip;		/* the client's address, or NULL:
					 * each log line looks it up */
static long logpid;			/* our pid when log_init ran */
static int logsys = -1;			/* 1: log through syslog(3), fd 2
					 * being the client; 0: to fd 2;
					 * -1: not looked at yet */
static int logpassed;			/* 1: log_pass_on() made fd 2 a
					 * pipe to a logger */

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
 * finds it when a log line needs it; "": no client, as for -n, and the
 * prefix is "PROG: " alone).  Each line makes its prefix on its
 * own stack, not here: then printf's deep stack frames stay untouched
 * while earlytalker waits, and no buffer of it sits in the static data,
 * which stays within one page.  A waiting process holds fewer pages so
 * (make bench counts them).
 */
void
log_init(const char *prog, const char *ip)
{
	logprog = prog;
	logip = ip;
	logpid = (long)getpid();
}

/*
 * Is fd 2 the client?  inetd and xinetd give the server the connection
 * as fd 0, fd 1 and fd 2, so a log line on fd 2 would reach the client:
 * then the lines go to syslog(3), facility mail, tagged SYSLOG_TAG, as
 * etc/xinetd/earlytalker-smtpd's logger and the systemd unit tag them.
 * Exact: fd 2 is the socket of fd 0 when they have one inode.  Looked
 * at by the first line or log_pass_on(), never during the wait: a
 * waiting client costs nothing.
 */
static int
log_syslog(void)
{
	struct stat s0, s2;

	if (logsys == -1) {
		logsys = fstat(0, &s0) == 0 && fstat(2, &s2) == 0 &&
		    S_ISSOCK(s0.st_mode) && S_ISSOCK(s2.st_mode) &&
		    s0.st_dev == s2.st_dev && s0.st_ino == s2.st_ino;
		if (logsys)
			openlog(SYSLOG_TAG, 0, LOG_MAIL);
	}
	return logsys;
}

/* One line, its newline at buf[n - 1], to fd 2 in one write, or as one
 * syslog message at priority prio. */
static void
log_out(int prio, char *buf, size_t n)
{
	if (log_syslog()) {
		buf[n - 1] = '\0';
		syslog(prio, "%s", buf);
		buf[n - 1] = '\n';
	} else
		(void)write_all(2, buf, n);	/* one write: lines never mix */
}

/* A line that another program wrote: its priority by its words. */
static int
log_prio(const char *line)
{
	if (strstr(line, ": fatal: ") != NULL)
		return LOG_ERR;
	if (strstr(line, ": warning: ") != NULL)
		return LOG_WARNING;
	return LOG_INFO;
}

/* The logger of log_pass_on(): each line read on fd 0 as one syslog
 * message, a line longer than LOGMAX in pieces, until end of file. */
static void
logger(void)
{
	char buf[LOGMAX];
	size_t len = 0, start, k;
	ssize_t r;

	for (;;) {
		r = read(0, buf + len, sizeof buf - 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		start = 0;
		for (k = 0; k < len; k++)
			if (buf[k] == '\n') {
				buf[k] = '\0';
				syslog(log_prio(buf + start), "%s", buf + start);
				start = k + 1;
			}
		if (start == 0 && len == sizeof buf - 1) {	/* too long */
			buf[len] = '\0';
			syslog(log_prio(buf), "%s", buf);
			start = len;
		}
		len -= start;
		memmove(buf, buf + start, len);
	}
	if (len > 0) {
		buf[len] = '\0';
		syslog(log_prio(buf), "%s", buf);
	}
	_exit(0);
}

/*
 * Before an exec, or a fork of prog: when the log goes to syslog because
 * fd 2 is the client, give the programs after us a fd 2 that goes there
 * too, never to the client: a pipe to a logger, a process of its own
 * (forked twice, so that init reaps it, never prog) that sends each line
 * to syslog as etc/xinetd/earlytalker-smtpd's logger does, until the
 * last program holding the pipe ends.  The next program's log lines
 * (earlytalker-wrap's, qmail-smtpd's, mailfront's) so reach syslog.  If
 * the pipe cannot be made, fd 2 becomes /dev/null, with a warning.
 */
void
log_pass_on(void)
{
	pid_t pid;
	int p[2], fd, st;

	if (logpassed || !log_syslog())
		return;
	logpassed = 1;
	if (pipe(p) == -1)
		goto null;
	pid = fork();
	if (pid == 0) {
		pid = fork();
		if (pid != 0)
			_exit(pid == -1 ? 111 : 0);
		/* the logger: the pipe on fd 0; the client's socket
		 * closed, so that the client sees prog's close */
		fd = open("/dev/null", O_RDWR);
		if (dup2(p[0], 0) == -1)
			_exit(111);
		if (fd != -1) {
			(void)dup2(fd, 1);
			(void)dup2(fd, 2);
		} else {
			(void)close(1);
			(void)close(2);
		}
		if (fd > 2)
			(void)close(fd);
		(void)close(p[0]);
		(void)close(p[1]);
		logger();
	}
	if (pid == -1) {
		st = errno;
		(void)close(p[0]);
		(void)close(p[1]);
		errno = st;
		goto null;
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR) {
			st = -1;
			break;
		}
	(void)close(p[0]);
	if (st != 0 || dup2(p[1], 2) == -1) {
		(void)close(p[1]);
		if (st != 0)
			errno = EAGAIN;	/* no process for the logger */
		goto null;
	}
	(void)close(p[1]);
	return;
null:
	log_line("warning: unable to pass the log on to syslog: %s: the "
	    "next program's fd 2 is /dev/null", strerror(errno));
	fd = open("/dev/null", O_WRONLY);
	if (fd != -1 && fd != 2) {
		(void)dup2(fd, 2);
		(void)close(fd);
	}
}

/* A line: "PROG: IP pid N: ", then tag, then the text. */
static void
log_v(int prio, const char *tag, const char *fmt, va_list ap)
{
	char buf[LOGMAX], ip[PEER_IP];
	const char *addr = logip;
	size_t n;
	int k;

	if (addr == NULL) {
		peer_ip(ip, sizeof ip);
		addr = ip;
	}
	if (logpid == 0)
		logpid = (long)getpid();
	if (*addr == '\0')	/* no client, as for -n */
		k = snprintf(buf, sizeof buf - 1, "%s: %s", logprog, tag);
	else
		k = snprintf(buf, sizeof buf - 1, "%s: %s pid %ld: %s",
		    logprog, addr, logpid, tag);
	n = k < 0 ? 0 : (size_t)k;
	if (n >= sizeof buf - 1)
		n = sizeof buf - 2;
	/* ap comes from va_start in the callers: the analyzer misses it */
	k = vsnprintf(buf + n, sizeof buf - 1 - n, fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized) */
	n += k < 0 ? 0 : (size_t)k;
	if (n >= sizeof buf - 1)
		n = sizeof buf - 2;
	buf[n++] = '\n';
	log_out(prio, buf, n);
}

/* A line about this client: "PROG: IP pid N: " and the text. */
void
log_line(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v(strncmp(fmt, "warning:", 8) == 0 ? LOG_WARNING : LOG_INFO, "",
	    fmt, ap);
	va_end(ap);
}

/* A fatal line: "PROG: IP pid N: fatal: " and the text. */
void
log_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v(LOG_ERR, "fatal: ", fmt, ap);
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
			log_out(LOG_ERR, buf, (size_t)k < sizeof buf ?
			    (size_t)k : sizeof buf - 1);
	}
	k = snprintf(buf, sizeof buf, "%s: usage: %s\n", prog, usage);
	if (k > 0)
		log_out(LOG_ERR, buf, (size_t)k < sizeof buf ? (size_t)k :
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

/*
 * The silence after a reply that tells a client has gone quiet: base
 * milliseconds, plus two round trips to the client, each counted up to
 * RTT_MAX_MS.  One round trip takes the reply out and brings the
 * client's answer back; the second allows for as much again: a queue on
 * the way, a client slow to answer.  A nearby client gets base alone.
 *
 * The round trip is the kernel's, measured on fd 0 (Linux TCP_INFO,
 * tcpi_rtt, smoothed, in microseconds: the handshake gives the first
 * sample, each ACK refines it).  Without a measure, base: another system
 * than Linux, fd 0 no TCP socket (a pipe, a UNIX socket), no sample
 * yet.  Linux's struct tcp_info is hidden by -D_POSIX_C_SOURCE, but its
 * layout is a fixed ABI (<linux/tcp.h>): 8 bytes of state, then 32-bit
 * fields, tcpi_rtt at byte TCPI_RTT.  TCP_INFO itself is defined by
 * glibc's and musl's <netinet/tcp.h> alike.
 */
long long
silence_ms(long long base)
{
#if defined(__linux__) && defined(TCP_INFO)
#define TCPI_RTT 68
	unsigned char info[TCPI_RTT + 4];
	socklen_t len = sizeof info;
	uint32_t us;

	if (getsockopt(0, IPPROTO_TCP, TCP_INFO, info, &len) == -1 ||
	    len < sizeof info)
		return base;
	memcpy(&us, info + TCPI_RTT, sizeof us);
	if (us > RTT_MAX_MS * 1000)
		us = RTT_MAX_MS * 1000;
	return base + 2 * (long long)((us + 999) / 1000);
#else
	return base;
#endif
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

/* -n: what in the environment applies to every client alike, which a
 * run's check reports: a trusted or marked chain. */
void
check_env(void)
{
	const char *marked = getenv("EARLYTALKER");

	if (getenv("RELAYCLIENT") != NULL)
		log_line("warning: RELAYCLIENT is set: every client is "
		    "trusted, none is checked");
	if (marked != NULL)
		log_line("warning: EARLYTALKER is set: every client is %s",
		    *marked == '\0' ? "exempt, none is checked" : "marked");
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
