/* log.c: what both programs tell the operator: log lines (to fd 2, or
 * to syslog when fd 2 is the client), passed on to the next program;
 * usage errors and the checking of option values; -n's report. */

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "smtp.h"

static void logger(void) NORETURN;
static void logger_fork(const int *) NORETURN;
static void log_null(void);

static const char *logprog = "?";	/* program name in log lines */
static const char *logip;		/* the client's address, or NULL:
					 * each log line looks it up */
static long logpid;			/* our pid when log_init ran */
static int logsys = -1;			/* 1: log through syslog(3), fd 2
					 * being the client; 0: to fd 2;
					 * -1: not looked at yet */
static int logpassed;			/* 1: log_pass_on() made fd 2 a
					 * pipe to a logger */

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

/* log_pass_on()'s child: fork the logger, so that init reaps it, never
 * prog, and exit.  The logger has the pipe p on fd 0, /dev/null on fd 1
 * and fd 2: the client's socket closed, so that the client sees prog's
 * close. */
static void
logger_fork(const int *p)
{
	pid_t pid = fork();
	int fd;

	if (pid != 0)
		_exit(pid == -1 ? 111 : 0);
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

/* log_pass_on() failed, errno says why: fd 2 becomes /dev/null, with a
 * warning. */
static void
log_null(void)
{
	int fd;

	log_line("warning: unable to pass the log on to syslog: %s: the "
	    "next program's fd 2 is /dev/null", strerror(errno));
	fd = open("/dev/null", O_WRONLY);
	if (fd != -1 && fd != 2) {
		(void)dup2(fd, 2);
		(void)close(fd);
	}
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
	int p[2], st;

	if (logpassed || !log_syslog())
		return;
	logpassed = 1;
	if (pipe(p) == -1) {
		log_null();
		return;
	}
	pid = fork();
	if (pid == 0)
		logger_fork(p);
	if (pid == -1) {
		st = errno;
		(void)close(p[0]);
		(void)close(p[1]);
		errno = st;
		log_null();
		return;
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
		log_null();
		return;
	}
	(void)close(p[1]);
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
 * An option's seconds, decimal, with up to three decimals ("0", "0.25", "2", "1.5")
 * into milliseconds; at most max milliseconds.  Returns 0 on success, -1
 * on anything else: no sign, no exponent, no comma, no empty part.
 */
int
opt_seconds(const char *s, unsigned long max, unsigned long *ms)
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
