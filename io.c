/* io.c: the I/O both programs share: the monotonic clock, whole writes
 * and replies, the client's address (and its tcp-environ(5) variables,
 * where no tcpserver set them), command lines read before a deadline, a
 * clean close, and the finding of prog as execvp() would. */

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
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "smtp.h"

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

/* A non-blocking read into d[*len], d[size - 1] at most: bytes read, 0 at
 * end of file (or an error), -1 if nothing now (no room, EINTR, EAGAIN). */
ssize_t
read_some(int fd, char *d, size_t size, size_t *len)
{
	ssize_t r;

	if (*len == size)
		return -1;	/* no room: not an end of file */
	r = read(fd, d + *len, size - *len);
	if (r > 0)
		*len += (size_t)r;
	if (r == -1 && (errno == EINTR || errno == EAGAIN))
		return -1;
	return r == -1 ? 0 : r;
}

/* A non-blocking write of d[*sent] to d[end - 1], as much as goes now:
 * 0, or -1 if the reader is gone. */
int
write_some(int fd, const char *d, size_t end, size_t *sent)
{
	ssize_t w;

	if (end <= *sent)
		return 0;
	w = write(fd, d + *sent, end - *sent);
	if (w > 0)
		*sent += (size_t)w;
	if (w == -1 && errno != EINTR && errno != EAGAIN)
		return -1;
	return 0;
}

/*
 * Wait for the child pid to end, bounded: ms, then SIGTERM, then 2 s,
 * then SIGKILL.  Its exit status; 111 when it was killed by a signal
 * (logged) or cannot be waited for.
 */
int
reap(pid_t pid, long long ms)
{
	long long deadline = now_ms() + ms;
	int status, sig = SIGTERM, nap = 1;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r == -1 && errno != EINTR)
			return 111;
		if (now_ms() >= deadline) {
			(void)kill(pid, sig);
			sig = SIGKILL;
			deadline = now_ms() + 2000;
		}
		(void)poll(NULL, 0, nap);	/* 1, 2, 4 .. 128 ms */
		if (nap < 128)
			nap *= 2;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	log_line("warning: prog killed by signal %d", WTERMSIG(status));
	return 111;
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
 * The address bin of family af (AF_INET, 4 bytes; AF_INET6, 16) as text
 * into out: an IPv4-mapped IPv6 address as IPv4, so that the log, the
 * tcprules and the pass cache know a client whichever way the socket or
 * a load balancer saw it; IPv6 in inet_ntop()'s one form.  0, or -1.
 */
int
addr_text(int af, const void *bin, char *out, size_t n)
{
	static const unsigned char mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};
	const unsigned char *b = bin;

	if (af == AF_INET6 && memcmp(b, mapped, sizeof mapped) == 0) {
		af = AF_INET;
		b += sizeof mapped;
	}
	return inet_ntop(af, b, out, (socklen_t)n) == NULL ? -1 : 0;
}

/*
 * The IP address of fd 0's peer (peer is 1) or of its own end (0) as
 * text into out, by addr_text(), and its port into *port.  0, or -1 if
 * fd 0 is no socket with an IP address there.
 */
int
sock_ip(int peer, char *out, size_t n, unsigned int *port)
{
	struct sockaddr_storage ss;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
	socklen_t len = sizeof ss;

	memset(&ss, 0, sizeof ss);
	if ((peer ? getpeername(0, (struct sockaddr *)&ss, &len) :
	    getsockname(0, (struct sockaddr *)&ss, &len)) == -1)
		return -1;
	if (ss.ss_family == AF_INET) {
		*port = ntohs(s4->sin_port);
		return addr_text(AF_INET, &s4->sin_addr, out, n);
	}
	if (ss.ss_family != AF_INET6)
		return -1;
	*port = ntohs(s6->sin6_port);
	return addr_text(AF_INET6, &s6->sin6_addr, out, n);
}

/*
 * The client's address, for logs: $TCPREMOTEIP (escaped: the environment
 * is not ours to trust blindly), else fd 0's peer (sock_ip()), else
 * "unknown".
 */
void
peer_ip(char *out, size_t n)
{
	const char *ip = getenv("TCPREMOTEIP");
	unsigned int port;

	if (ip != NULL && *ip != '\0') {
		(void)smtp_escape(out, n, ip, strlen(ip) > 64 ? 64 :
		    strlen(ip));
		return;
	}
	if (sock_ip(1, out, n, &port) == -1)
		(void)snprintf(out, n, "unknown");
}

/*
 * The client's tcp-environ(5) variables, as tcpserver sets them: the
 * remote and local address and port, and with proto $PROTO too.  0, or
 * -1 if out of memory.
 */
int
tcp_setenv(int proto, const char *rip, unsigned int rport, const char *lip,
    unsigned int lport)
{
	char rp[8], lp[8];

	(void)snprintf(rp, sizeof rp, "%u", rport);
	(void)snprintf(lp, sizeof lp, "%u", lport);
	return (proto && setenv("PROTO", "TCP", 1) == -1) ||
	    setenv("TCPREMOTEIP", rip, 1) == -1 ||
	    setenv("TCPREMOTEPORT", rp, 1) == -1 ||
	    setenv("TCPLOCALIP", lip, 1) == -1 ||
	    setenv("TCPLOCALPORT", lp, 1) == -1 ? -1 : 0;
}

/*
 * Under inetd, xinetd or systemd no tcpserver set the tcp-environ(5)
 * variables: set them from fd 0's socket, as tcpserver would, for prog
 * (qmail-smtpd wants $TCPREMOTEIP) and for -x.  Returns 1 if set; 0 if
 * $TCPREMOTEIP was there, or fd 0 is no TCP socket with a peer; -1 if
 * out of memory.
 */
int
tcp_environ(void)
{
	char rip[IP_TEXT], lip[IP_TEXT];
	const char *e = getenv("TCPREMOTEIP");
	unsigned int rport, lport;

	if (e != NULL && *e != '\0')
		return 0;
	if (sock_ip(1, rip, sizeof rip, &rport) == -1 ||
	    sock_ip(0, lip, sizeof lip, &lport) == -1)
		return 0;
	return tcp_setenv(1, rip, rport, lip, lport) == -1 ? -1 : 1;
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
