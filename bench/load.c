/* load.c: the load generator of make bench.
 *
 *   load [ -b bytes ] [ -c clients ] [ -n count ] [ -p procs ] [ -s pid ]
 *       [ -t seconds ] [ -w ms ] mode port
 *
 * Talks to 127.0.0.1:port, and to nothing else.  Modes:
 *
 *   hold     open -n silent connections; once the server (pid -s) has -p
 *            new processes for each (default 1; 0 for a server that
 *            holds them all in one process) and its memory has stopped
 *            growing, measure the memory of the server and its
 *            descendants, and the kernel's; hold -t seconds from the
 *            last connection, then hang up
 *   session  full sessions (220, EHLO, MAIL, RCPT, DATA with -b bytes,
 *            QUIT) by -c clients at once, for -t seconds or -n sessions
 *   greet    wait for the 220: how long after the -w ms wait it came
 *   early    talk first (EHLO, MAIL, RCPT at once): time to the reply
 *   detect   -n sessions, early talkers and polite clients in turn
 *   free     print a port on 127.0.0.1 that is free now (no port operand)
 *
 * With -s, the server's CPU is measured over the run: the user and system
 * time of the server and its descendants, their reaped children's
 * included, from /proc/pid/stat, in clock ticks.  The result is one line of
 * name=value pairs on stdout; times are in milliseconds.
 */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define USAGE "usage: load [ -b bytes ] [ -c clients ] [ -n count ] " \
	"[ -p procs ] [ -s pid ] [ -t seconds ] [ -w ms ] " \
	"hold|session|greet|early|detect port | free\n"
#define MAXPROCS 32768		/* processes looked at under /proc */
#define LINELEN 78		/* body lines: 78 x, then CR LF */
#define SETTLE_MS 10000		/* hold: time for the server to settle */
#define DRAIN_S 15		/* in-flight sessions after the time is up */

#ifdef __GNUC__
#define NORETURN __attribute__((noreturn))
#else
#define NORETURN
#endif

enum { K_SESSION, K_GREET, K_EARLY, K_POLITE };

/* A step of a client's script: send, then await this many replies. */
struct step {
	const char *send;	/* NULL: send nothing */
	int body;		/* 1: then -b message bytes and CRLF.CRLF */
	int replies;		/* 0 ends the script */
};

static const struct step s_session[] = {
	{ NULL, 0, 1 },
	{ "EHLO bench.invalid\r\n", 0, 1 },
	{ "MAIL FROM:<bench@bench.invalid>\r\n", 0, 1 },
	{ "RCPT TO:<sink@bench.invalid>\r\n", 0, 1 },
	{ "DATA\r\n", 0, 1 },
	{ NULL, 1, 1 },
	{ "QUIT\r\n", 0, 1 },
	{ NULL, 0, 0 }
};
static const struct step s_greet[] = {
	{ NULL, 0, 1 },
	{ "QUIT\r\n", 0, 1 },
	{ NULL, 0, 0 }
};
static const struct step s_early[] = {
	{ "EHLO early.invalid\r\nMAIL FROM:<bench@bench.invalid>\r\n"
	    "RCPT TO:<sink@bench.invalid>\r\n", 0, 4 },
	{ "QUIT\r\n", 0, 1 },
	{ NULL, 0, 0 }
};
static const struct step s_polite[] = {
	{ NULL, 0, 1 },
	{ "EHLO polite.invalid\r\n", 0, 1 },
	{ "MAIL FROM:<bench@bench.invalid>\r\n", 0, 1 },
	{ "RCPT TO:<sink@bench.invalid>\r\n", 0, 1 },
	{ "QUIT\r\n", 0, 1 },
	{ NULL, 0, 0 }
};

/* One client connection and where it is in its script. */
struct client {
	int fd;			/* -1: idle */
	int kind;		/* K_* */
	const struct step *script;
	int step;
	int replies;		/* replies still awaited in this step */
	const char *out;	/* bytes to send */
	size_t outlen;
	unsigned long long body;	/* message bytes still to send */
	int dot;		/* 1: CRLF.CRLF still to send */
	char in[1024];		/* a reply line so far */
	size_t inlen;
	int skip;		/* 1: an overlong line, skipping to LF */
	int bad;		/* 1: a reply of 400 or more came */
	long long t0, tfirst, tbody;	/* microseconds */
	long long start;	/* when to connect, microseconds */
};

/* Server memory: sums over the server and its descendants. */
struct mem {
	long procs;
	long pss, rss;		/* KiB */
	long kern;		/* KiB: Slab, KernelStack and PageTables */
	int settled;		/* 1: the sums stopped growing */
};

static void usage(void) NORETURN;
static void fatal(const char *) NORETURN;
static long long now_us(void);
static int dial(void);
static long tree(pid_t, pid_t *, long);
static void kib(const char *, const char *const *, long *);
static void measure(pid_t, struct mem *);
static long long ticks(pid_t);
static long long cpu_ticks(pid_t);
static int quiet(pid_t, long, int);
static void begin(struct client *, int);
static void enter(struct client *);
static int pump(struct client *);
static int takein(struct client *);
static void record(long long);
static int cmp(const void *, const void *);
static double pct(int);
static int freeport(void);
static int hold(void);
static void settle(long);
static int run(int);

static unsigned long long bodybytes = 1024;	/* -b */
static int clients = 1;		/* -c */
static long count;		/* -n: 0, no limit */
static int perconn = 1;		/* -p: server processes per connection */
static pid_t server;		/* -s: 0, no server measurements */
static double seconds = 3;	/* -t */
static long wait_ms;		/* -w */
static struct sockaddr_in addr;	/* 127.0.0.1:port */
static char pattern[LINELEN + 2];	/* one body line */
static long long *lat;		/* latencies, microseconds */
static long nlat, maxlat;

static void
usage(void)
{
	(void)fputs(USAGE, stderr);
	exit(100);
}

static void
fatal(const char *what)
{
	(void)fprintf(stderr, "load: fatal: %s: %s\n", what, strerror(errno));
	exit(111);
}

static long long
now_us(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A non-blocking connection under way to 127.0.0.1:port, or -1. */
static int
dial(void)
{
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd == -1)
		return -1;
	(void)fcntl(fd, F_SETFL, O_NONBLOCK);
	/* each write goes at once, as from a client that awaits replies */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (const struct sockaddr *)&addr, sizeof addr) == -1 &&
	    errno != EINPROGRESS) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

/* The descendants of root, the first max into pids: their number. */
static long
tree(pid_t root, pid_t *pids, long max)
{
	static pid_t pid[MAXPROCS], ppid[MAXPROCS], desc[MAXPROCS];
	char path[300], buf[512];
	struct dirent *d;
	DIR *dir;
	FILE *f;
	long n = 0, found = 0, i, k;
	char *close;
	size_t len;
	int grew;

	dir = opendir("/proc");
	if (dir == NULL)
		fatal("unable to open /proc");
	while ((d = readdir(dir)) != NULL && n < MAXPROCS) {
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		(void)snprintf(path, sizeof path, "/proc/%s/stat", d->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue;	/* gone already */
		len = fread(buf, 1, sizeof buf - 1, f);
		(void)fclose(f);
		buf[len] = '\0';
		close = strrchr(buf, ')');
		if (close == NULL || strlen(close) < 5)
			continue;
		pid[n] = (pid_t)strtol(buf, NULL, 10);
		ppid[n] = (pid_t)strtol(close + 4, NULL, 10);	/* ") S ppid" */
		n++;
	}
	(void)closedir(dir);
	/* children of root, then of what is found, until nothing grows */
	do {
		grew = 0;
		for (i = 0; i < n; i++) {
			if (pid[i] == 0)
				continue;
			for (k = 0; k < found; k++)
				if (desc[k] == ppid[i])
					break;
			if (ppid[i] != root && k == found)
				continue;
			desc[found++] = pid[i];
			pid[i] = 0;
			grew = 1;
		}
	} while (grew);
	for (i = 0; i < found && i < max; i++)
		pids[i] = desc[i];
	return found;
}

/* Add "Name: N kB" lines of file to the sums named in names. */
static void
kib(const char *file, const char *const *names, long *sums)
{
	char line[256];
	size_t k;
	FILE *f;
	int i;

	f = fopen(file, "r");
	if (f == NULL)
		return;		/* the process is gone */
	while (fgets(line, sizeof line, f) != NULL)
		for (i = 0; names[i] != NULL; i++) {
			k = strlen(names[i]);
			if (strncmp(line, names[i], k) == 0)
				sums[i] += strtol(line + k, NULL, 10);
		}
	(void)fclose(f);
}

/* Memory of root and its descendants, and the kernel's. */
static void
measure(pid_t root, struct mem *m)
{
	static const char *const procnames[] = { "Pss:", "Rss:", NULL };
	static const char *const kernnames[] = { "Slab:", "KernelStack:",
	    "PageTables:", NULL };
	static pid_t pids[MAXPROCS];
	char path[64];
	long sums[3], i;

	m->procs = tree(root, pids, MAXPROCS);
	m->settled = 0;
	sums[0] = sums[1] = 0;
	for (i = -1; i < m->procs; i++) {
		(void)snprintf(path, sizeof path, "/proc/%ld/smaps_rollup",
		    (long)(i < 0 ? root : pids[i]));
		kib(path, procnames, sums);
	}
	m->pss = sums[0];
	m->rss = sums[1];
	sums[0] = sums[1] = sums[2] = 0;
	kib("/proc/meminfo", kernnames, sums);
	m->kern = sums[0] + sums[1] + sums[2];
}

/* CPU of pid and its reaped children, in clock ticks. */
static long long
ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	long long sum = 0;
	size_t len;
	FILE *f;
	int field;

	(void)snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;	/* gone: its parent has its time */
	len = fread(buf, 1, sizeof buf - 1, f);
	(void)fclose(f);
	buf[len] = '\0';
	p = strrchr(buf, ')');
	/* fields 14..17: utime stime cutime cstime; p ends field 2 */
	for (field = 3; field <= 17 && p != NULL; field++) {
		p = strchr(p + 1, ' ');
		if (p != NULL && field >= 14)
			sum += strtoll(p + 1, NULL, 10);
	}
	return sum;
}

/* CPU of root and its descendants, reaped ones included, in ticks. */
static long long
cpu_ticks(pid_t root)
{
	static pid_t pids[MAXPROCS];
	long long sum;
	long i, n;

	n = tree(root, pids, MAXPROCS);
	sum = ticks(root);
	for (i = 0; i < n; i++)
		sum += ticks(pids[i]);
	return sum;
}

/*
 * Wait, at most s seconds, until root has at most base descendants, that
 * is, every process of a connection is gone: 0 if so.
 */
static int
quiet(pid_t root, long base, int s)
{
	static pid_t pids[MAXPROCS];
	long long end = now_us() + (long long)s * 1000000;

	while (tree(root, pids, MAXPROCS) > base) {
		if (now_us() > end)
			return -1;
		(void)poll(NULL, 0, 20);
	}
	return 0;
}

/*
 * hold: -n silent connections, the memory they hold.  The "idle" figures
 * are taken before the first connection; the "held" ones once the server
 * has its processes for them and two readings in a row agree.
 */
static int
hold(void)
{
	struct mem idle, held, last;
	struct pollfd *p;
	long long t0, tup, tmeas, until;
	long i, up = 0;
	int *fd, ok = 0;

	if (server == 0 || count < 1)
		usage();
	fd = calloc((size_t)count, sizeof *fd);
	p = calloc((size_t)count, sizeof *p);
	if (fd == NULL || p == NULL)
		fatal("unable to allocate");
	measure(server, &idle);
	t0 = now_us();
	for (i = 0; i < count; i++) {
		fd[i] = dial();
		if (fd[i] == -1)
			fatal("unable to connect");
		p[i].fd = fd[i];
		p[i].events = POLLOUT;
	}
	/* every connection up */
	while (up < count && now_us() - t0 < SETTLE_MS * 1000LL) {
		if (poll(p, (nfds_t)count, 100) == -1 && errno != EINTR)
			fatal("unable to poll");
		for (i = 0; i < count; i++)
			if (p[i].fd != -1 && p[i].revents) {
				p[i].fd = -1;
				up++;
			}
	}
	tup = now_us();
	/* the server's processes there, their memory settled */
	last = held = idle;
	last.procs = -1;
	while (now_us() - tup < SETTLE_MS * 1000LL) {
		(void)poll(NULL, 0, 100);
		measure(server, &held);
		if (held.procs >= idle.procs + perconn * count &&
		    held.procs == last.procs &&
		    labs(held.pss - last.pss) * 200 <= held.pss) {
			ok = 1;
			break;
		}
		last = held;
	}
	tmeas = now_us();
	until = tup + (long long)(seconds * 1e6);
	while (now_us() < until)
		(void)poll(NULL, 0, (int)((until - now_us()) / 1000 + 1));
	for (i = 0; i < count; i++)
		(void)close(fd[i]);
	(void)printf("n=%ld up=%ld procs=%ld settled=%d connect_ms=%.1f "
	    "settle_ms=%.1f pss_kib=%.1f rss_kib=%.1f kern_kib=%.1f "
	    "idle_pss_kib=%ld\n", count, up, held.procs - idle.procs, ok,
	    (double)(tup - t0) / 1000, (double)(tmeas - tup) / 1000,
	    (double)(held.pss - idle.pss) / (double)count,
	    (double)(held.rss - idle.rss) / (double)count,
	    (double)(held.kern - idle.kern) / (double)count, idle.pss);
	settle(idle.procs);
	free(fd);
	free(p);
	return ok && up == count ? 0 : 1;
}

/* After a run: wait until the processes of its connections are gone. */
static void
settle(long base)
{
	if (perconn == 0)
		(void)poll(NULL, 0, 300);	/* one process serves all */
	else if (quiet(server, base, 20) == -1)
		(void)fprintf(stderr, "load: warning: server still busy\n");
}

/* A port on 127.0.0.1 that is free now, for a server that needs one. */
static int
freeport(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	int fd;

	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd == -1 || bind(fd, (const struct sockaddr *)&a, sizeof a) == -1 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) == -1)
		fatal("unable to find a free port");
	(void)printf("%u\n", (unsigned)ntohs(a.sin_port));
	(void)close(fd);
	return 0;
}

/* Start a session of this kind on c. */
static void
begin(struct client *c, int kind)
{
	memset(c, 0, sizeof *c);
	c->kind = kind;
	c->script = kind == K_SESSION ? s_session : kind == K_GREET ?
	    s_greet : kind == K_EARLY ? s_early : s_polite;
	c->t0 = now_us();
	c->fd = dial();
	if (c->fd == -1)
		fatal("unable to connect");
	c->step = 0;
	enter(c);
}

/* Enter the step c->step: what to send, how many replies to await. */
static void
enter(struct client *c)
{
	const struct step *s = &c->script[c->step];

	c->out = s->send;
	c->outlen = s->send != NULL ? strlen(s->send) : 0;
	c->body = s->body ? bodybytes : 0;
	c->dot = s->body;
	c->replies = s->replies;
	if (s->body)
		c->tbody = now_us();
}

/* Send what can be sent now: -1 if the connection failed. */
static int
pump(struct client *c)
{
	static char chunk[65536];
	static size_t chunklen;
	const char *b;
	size_t n, off;
	ssize_t w;

	if (chunklen == 0) {	/* whole lines of x, then CR LF */
		while (chunklen + sizeof pattern <= sizeof chunk) {
			memcpy(chunk + chunklen, pattern, sizeof pattern);
			chunklen += sizeof pattern;
		}
	}
	for (;;) {
		if (c->outlen > 0) {
			b = c->out;
			n = c->outlen;
		} else if (c->body > 0) {
			/* the chunk starts and ends on a line boundary */
			off = (size_t)((bodybytes - c->body) % chunklen);
			b = chunk + off;
			n = chunklen - off;
			if (n > c->body)
				n = (size_t)c->body;
		} else if (c->dot) {
			c->out = "\r\n.\r\n";
			c->outlen = 5;
			c->dot = 0;
			continue;
		} else
			return 0;
		w = write(c->fd, b, n);
		if (w == -1)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		if (c->outlen > 0) {
			c->out += w;
			c->outlen -= (size_t)w;
		} else
			c->body -= (unsigned long long)w;
	}
}

/*
 * Read replies.  Returns 1 when the script is done or the server closed,
 * -1 on an error, 0 otherwise.
 */
static int
takein(struct client *c)
{
	char buf[4096];
	ssize_t r, i;
	int code;

	r = read(c->fd, buf, sizeof buf);
	if (r == -1)
		return errno == EAGAIN || errno == EINTR ? 0 : 1;
	if (r == 0)
		return 1;	/* closed before the script's end */
	for (i = 0; i < r; i++) {
		if (buf[i] != '\n') {
			if (c->inlen < sizeof c->in)
				c->in[c->inlen++] = buf[i];
			else
				c->skip = 1;
			continue;
		}
		if (!c->skip && c->inlen >= 3 && c->in[0] >= '1' &&
		    c->in[0] <= '5' && (c->inlen == 3 || c->in[3] == ' ' ||
		    c->in[3] == '\r')) {
			code = (c->in[0] - '0') * 100 + (c->in[1] - '0') * 10 +
			    (c->in[2] - '0');
			if (code >= 400)
				c->bad = 1;
			if (c->tfirst == 0)
				c->tfirst = now_us();
			if (c->replies > 0 && --c->replies == 0) {
				if (c->script[c->step].body)
					c->tbody = now_us() - c->tbody;
				c->step++;
				if (c->script[c->step].replies == 0)
					return 1;
				enter(c);
			}
		}
		c->inlen = 0;
		c->skip = 0;
	}
	return 0;
}

static void
record(long long us)
{
	long long *n;

	if (nlat == maxlat) {
		maxlat = maxlat ? 2 * maxlat : 4096;
		n = realloc(lat, (size_t)maxlat * sizeof *lat);
		if (n == NULL)
			fatal("unable to allocate");
		lat = n;
	}
	lat[nlat++] = us;
}

static int
cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* The p-th percentile of the latencies, in milliseconds. */
static double
pct(int p)
{
	long i;

	if (nlat == 0)
		return -1;
	i = (nlat - 1) * p / 100;	/* nearest rank, rounded down */
	return (double)lat[i] / 1000;
}

/* The session modes: -c clients at a time, new sessions as old ones end. */
static int
run(int mode)
{
	struct client *cl;
	struct pollfd *p;
	struct rusage ru;
	long long t0, end, stop, last, cpu0 = 0, cpu1 = 0, body = 0;
	long started = 0, done = 0, failed = 0, early = 0, caught = 0;
	long polite = 0, fp = 0, inflight = 0, base = 0;
	int i, st, kind;

	cl = calloc((size_t)clients, sizeof *cl);
	p = calloc((size_t)clients, sizeof *p);
	if (cl == NULL || p == NULL)
		fatal("unable to allocate");
	if (server != 0) {
		base = tree(server, NULL, 0);
		cpu0 = cpu_ticks(server);
	}
	t0 = last = now_us();
	end = t0 + (long long)(seconds * 1e6);
	stop = end + DRAIN_S * 1000000LL;
	/* spread the first connections over the wait: no burst of forks */
	for (i = 0; i < clients; i++) {
		cl[i].fd = -1;
		cl[i].start = t0 + (long long)i * wait_ms * 1000 / clients;
	}
	for (;;) {
		for (i = 0; i < clients; i++) {
			if (cl[i].fd != -1 || now_us() < cl[i].start ||
			    now_us() >= end || (count > 0 && started >= count))
				continue;
			kind = mode == K_POLITE ? (started % 2 ? K_POLITE :
			    K_EARLY) : mode;
			begin(&cl[i], kind);
			started++;
			inflight++;
		}
		if (inflight == 0 && (now_us() >= end ||
		    (count > 0 && started >= count)))
			break;
		if (now_us() >= stop)
			break;
		for (i = 0; i < clients; i++) {
			p[i].fd = cl[i].fd;
			p[i].events = POLLIN;
			if (cl[i].outlen > 0 || cl[i].body > 0 || cl[i].dot)
				p[i].events |= POLLOUT;
			p[i].revents = 0;
		}
		if (poll(p, (nfds_t)clients, 5) == -1 && errno != EINTR)
			fatal("unable to poll");
		for (i = 0; i < clients; i++) {
			if (cl[i].fd == -1 || p[i].revents == 0)
				continue;
			st = 0;
			if (p[i].revents & POLLOUT && pump(&cl[i]) == -1)
				st = 1;
			if (st == 0 && p[i].revents & (POLLIN | POLLHUP |
			    POLLERR))
				st = takein(&cl[i]);
			if (st == 0)
				continue;
			/* the session is over */
			(void)close(cl[i].fd);
			cl[i].fd = -1;
			inflight--;
			last = now_us();
			done++;
			kind = cl[i].kind;
			st = cl[i].script[cl[i].step].replies == 0 &&
			    !cl[i].bad;	/* served to the end */
			if (kind == K_EARLY) {
				early++;
				caught += !st;
			} else if (kind == K_POLITE) {
				polite++;
				fp += !st;
			} else if (!st)
				failed++;
			if (kind == K_GREET && st)
				record(cl[i].tfirst - cl[i].t0 -
				    wait_ms * 1000);
			else if (kind == K_EARLY && cl[i].tfirst != 0)
				record(cl[i].tfirst - cl[i].t0);
			else if (kind == K_SESSION && st) {
				record(last - cl[i].t0);
				body += cl[i].tbody;
			}
		}
	}
	if (server != 0) {
		settle(base);
		cpu1 = cpu_ticks(server);
	}
	qsort(lat, (size_t)nlat, sizeof *lat, cmp);
	(void)getrusage(RUSAGE_SELF, &ru);
	(void)printf("sessions=%ld failed=%ld inflight=%ld secs=%.3f "
	    "rate=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f cpu_ms=%.4f "
	    "load_cpu_ms=%.1f", done, failed, inflight,
	    (double)(last - t0) / 1e6, (double)done * 1e6 /
	    (double)(last - t0 > 0 ? last - t0 : 1), pct(50), pct(99),
	    pct(100), done > 0 ? (double)(cpu1 - cpu0) * 1000 /
	    (double)sysconf(_SC_CLK_TCK) / (double)done : -1,
	    (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000);
	if (mode == K_SESSION && bodybytes >= 1048576 && done > failed)
		(void)printf(" body_ms=%.3f mbps=%.1f cpu_ms_per_mb=%.3f",
		    (double)body / 1000 / (double)(done - failed),
		    (double)bodybytes * (double)(done - failed) / 1048576 /
		    ((double)body / 1e6), (double)(cpu1 - cpu0) * 1000 /
		    (double)sysconf(_SC_CLK_TCK) / ((double)bodybytes *
		    (double)(done - failed) / 1048576));
	if (mode == K_POLITE)
		(void)printf(" early=%ld caught=%ld polite=%ld fp=%ld", early,
		    caught, polite, fp);
	(void)printf("\n");
	free(cl);
	free(p);
	return failed > 0 || inflight > 0;
}

int
main(int argc, char **argv)
{
	struct rlimit rl;
	char *end;
	long port;
	int opt, mode;

	while ((opt = getopt(argc, argv, "b:c:n:p:s:t:w:")) != -1) {
		errno = 0;
		switch (opt) {
		case 'b': bodybytes = strtoull(optarg, &end, 10); break;
		case 'c': clients = (int)strtol(optarg, &end, 10); break;
		case 'n': count = strtol(optarg, &end, 10); break;
		case 'p': perconn = (int)strtol(optarg, &end, 10); break;
		case 's': server = (pid_t)strtol(optarg, &end, 10); break;
		case 't': seconds = strtod(optarg, &end); break;
		case 'w': wait_ms = strtol(optarg, &end, 10); break;
		default: usage();
		}
		if (errno != 0 || end == optarg || *end != '\0')
			usage();
	}
	argv += optind;
	if (argc - optind == 1 && strcmp(argv[0], "free") == 0)
		return freeport();
	if (argc - optind != 2 || clients < 1 || clients > 10000 ||
	    count < 0 || seconds < 0 || wait_ms < 0 || perconn < 0 ||
	    perconn > 2)
		usage();
	port = strtol(argv[1], &end, 10);
	if (*end != '\0' || port < 1 || port > 65535)
		usage();
	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_port = htons((unsigned short)port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* ulimit -n: as many open files as allowed, for -n connections */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	memset(pattern, 'x', LINELEN);
	pattern[LINELEN] = '\r';
	pattern[LINELEN + 1] = '\n';
	(void)signal(SIGPIPE, SIG_IGN);

	if (strcmp(argv[0], "hold") == 0)
		mode = -1;
	else if (strcmp(argv[0], "session") == 0)
		mode = K_SESSION;
	else if (strcmp(argv[0], "greet") == 0)
		mode = K_GREET;
	else if (strcmp(argv[0], "early") == 0)
		mode = K_EARLY;
	else if (strcmp(argv[0], "detect") == 0)
		mode = K_POLITE;
	else
		usage();
	return mode == -1 ? hold() : run(mode);
}
