/* earlytalker.c: hold back the SMTP greeting and see who talks first.
 *
 * Run between tcpserver (or inetd, xinetd, systemd) and the SMTP server.
 * Wait with poll() on fd 0 for -w seconds.  A client that stays quiet is
 * handed to prog, which greets it.  A client that talks first is answered
 * 554 (or 421) here, or with -d marked in $EARLYTALKER for a later program.
 * The early bytes are peeked at, never consumed, so prog still reads them.
 *
 * Off by default: a 220- teaser line at the start of the wait (-b), a
 * cache of clients that passed (-c), the PROXY protocol header of a load
 * balancer (-P or $EARLYTALKER_PROXY), a random wait (-w min-max), the
 * observe mode (-o or $EARLYTALKER_OBSERVE: every decision logged, every
 * client handed to prog untouched).
 *
 * main() is its steps, in order: options(), client() (who is this
 * client), observing(), known() (no wait for some), hold() (the wait),
 * verdict().  With -n, check() instead reads what a run would read,
 * through the same functions, and runs nothing.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "proxy.h"
#include "rules.h"
#include "smtp.h"
#include "version.h"

#define PROG "earlytalker"
#define USAGE "earlytalker [ -PVdnopqtv ] [ -b text ] [ -C seconds ] " \
	"[ -c dir ] [ -l seconds ] [ -w seconds[-seconds] ] [ -x cdb ] " \
	"prog [ arg ... ]"
#define REASON "Connecting host started transmitting before SMTP greeting"
#define MAXREPLIES 20		/* replies in all after a refusal */
#define LINGER_QUIET_MS 200	/* the linger ends after this much silence */
#define MAXWAIT 300000		/* -w, milliseconds */
#define DAY 86400000UL		/* -C default, milliseconds */

static void usage(int, const char *, const char *) NORETURN;
static void reject(const char *, const char *, const char *) NORETURN;
static void run(char **) NORETURN;
static void unavailable(void) NORETURN;
static void verdict(char **, long long, int) NORETURN;
static void check(char **) NORETURN;

static int defer;		/* 1: -d, mark and exec; 0: reject */
static int observe;		/* 1: -o or $EARLYTALKER_OBSERVE: log each
				 * decision as "observe:", carry out none */
static int checkonly;		/* 1: -n, check the configuration, run
				 * nothing */
static int temporary;		/* 1: -t, 421; 0: -p, 554 */
static int verbosity = 1;	/* 0 -q: errors; 1: refusals and marks;
				 * 2 -v: passes, skips, hangups too */
static unsigned long wait_min = 1000;	/* -w, 0..MAXWAIT ms */
static unsigned long wait_max = 1000;	/* -w, wait_min..MAXWAIT ms */
static unsigned long linger_ms = 2000;	/* -l, 0..30000 */
static const char *teaser;	/* -b: text of the 220- line, or NULL */
static int teased;		/* 1: the 220- line went out */
static const char *cachedir;	/* -c: the pass cache, or NULL */
static unsigned long ttl_ms = DAY;	/* -C, 1 s..30 days */
static int proxyopt;		/* 1: -P, every client comes via PROXY */
static int proxylocal;		/* 1: a PROXY LOCAL header: the balancer's
				 * own check, never in the pass cache */
static const char *rulescdb;	/* -x: tcprules cdb for proxied clients */
static char host[SMTP_TEXTMAX + 1];	/* our name, after a teaser */
static char *path;		/* -c: this client's file, then a temporary
				 * one; on the heap, PATH_MAX each: not a
				 * page of it for a waiting client without -c */

/* Say what is wrong with the options, then how to use them; exit 100. */
static void
usage(int opt, const char *val, const char *why)
{
	die_usage(PROG, USAGE, opt, val, why);
}

/* After a teaser every line of the greeting must say 220: finish it. */
static void
finish_greeting(void)
{
	char buf[SMTP_TEXTMAX + 16];

	(void)snprintf(buf, sizeof buf, "220 %s ESMTP", host);
	(void)reply(buf);
}

/* Give up after a fatal line: the client is to come back later.  Never a
 * 421 straight after a teaser's 220- line; never killed by SIGPIPE. */
static void
unavailable(void)
{
	(void)signal(SIGPIPE, SIG_IGN);
	if (teased)
		finish_greeting();
	(void)reply(REPLY_TEMP);
	exit(111);
}

/*
 * Refuse the client.  first and text make the opening reply: the 554 of
 * RFC 5321 section 3.1 or the 421 of section 3.8, in place of the
 * greeting; after a teaser first is NULL and the 220 that finishes the
 * greeting opens instead.  Then each command line gets each, until QUIT,
 * the -l linger, a silence (LINGER_QUIET_MS and two round trips) or
 * MAXREPLIES.  A 421 closes.  Close cleanly, exit 0.
 */
static void
reject(const char *first, const char *text, const char *each)
{
	char buf[SMTP_TEXTMAX + 16];
	struct input in;
	struct smtp_line l;
	long long deadline, quiet, silence;
	int replies = 1, st, one = 1;

	(void)signal(SIGPIPE, SIG_IGN);	/* no exec follows */
	/* each reply goes out as it is written, not a round trip later
	 * behind the one before: a far client has its 503 with its 554 */
	(void)setsockopt(1, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (first != NULL) {
		(void)snprintf(buf, sizeof buf, "%s %s", first, text);
		if (reply(buf) == -1 || first[0] == '4' || linger_ms == 0)
			goto done;
	} else	/* with -l 0 too, the line that came early is answered */
		finish_greeting();
	memset(&in, 0, sizeof in);
	memset(&l, 0, sizeof l);
	deadline = now_ms() + (long long)linger_ms;
	/* a client that has its answer and says nothing more for
	 * LINGER_QUIET_MS, and the round trips its answer takes, has gone
	 * quiet: it holds a slot for nothing.  One that answers the 554
	 * with QUIT has done so by then, near or far, or it meets
	 * close_clean()'s drain. */
	silence = silence_ms(LINGER_QUIET_MS);
	while (replies < MAXREPLIES) {
		quiet = now_ms() + silence;
		st = next_line(&in, &l, quiet < deadline ? quiet : deadline);
		if (st != LINE_OK && st != LINE_LONG)
			break;
		replies++;
		if (st == LINE_OK &&
		    smtp_verb(l.buf, l.len, NULL) == V_QUIT) {
			(void)reply("221 2.0.0 Bye");
			break;
		}
		if (reply(each) == -1 || each[0] == '4')
			break;
	}
done:
	close_clean();
	exit(0);
}

static void
run(char **argv)
{
	log_pass_on();	/* prog's fd 2 is never the client */
	(void)execvp(argv[0], argv);
	log_fatal("unable to run %s: %s", argv[0], strerror(errno));
	unavailable();
}

/* "2" or "2-6": the wait, or a range to draw it from, in milliseconds. */
static int
parse_wait(const char *s, unsigned long *min, unsigned long *max)
{
	char buf[32];
	const char *dash = strchr(s, '-');

	if (dash == NULL) {
		if (opt_seconds(s, MAXWAIT, min) == -1)
			return -1;
		*max = *min;
		return 0;
	}
	if ((size_t)(dash - s) >= sizeof buf)
		return -1;
	memcpy(buf, s, (size_t)(dash - s));
	buf[dash - s] = '\0';
	if (opt_seconds(buf, MAXWAIT, min) == -1 ||
	    opt_seconds(dash + 1, MAXWAIT, max) == -1 || *min > *max)
		return -1;
	return 0;
}

/*
 * A wait drawn uniformly from min..max milliseconds, from /dev/urandom,
 * so that bots cannot learn it.  If the random source fails: max.
 */
static unsigned long
draw_wait(unsigned long min, unsigned long max)
{
	unsigned char r[64];
	uint32_t span = (uint32_t)(max - min) + 1, limit, v;
	size_t i;
	int fd;

	if (min == max)
		return min;
	limit = UINT32_MAX - UINT32_MAX % span;	/* no modulo bias */
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd != -1 && read(fd, r, sizeof r) == (ssize_t)sizeof r) {
		(void)close(fd);
		for (i = 0; i + 4 <= sizeof r; i += 4) {
			v = (uint32_t)r[i] | (uint32_t)r[i + 1] << 8 |
			    (uint32_t)r[i + 2] << 16 | (uint32_t)r[i + 3] << 24;
			if (v < limit)
				return min + v % span;
		}
	}
	if (fd != -1)
		(void)close(fd);
	log_line("warning: unable to read /dev/urandom: using %lu ms", max);
	return max;
}

/*
 * The pass cache file of this client, dir/ADDR, with ADDR the address in
 * its canonical form: only an address that inet_pton() takes becomes a
 * file name, so no client can name another file.  0; or -1, with a
 * warning, if there is none: the client is served without the cache.
 */
static int
cache_name(char *out, size_t n, const char *ip)
{
	unsigned char bin[16];
	char canon[IP_TEXT];
	int af = strchr(ip, ':') != NULL ? AF_INET6 : AF_INET, k;

	if (inet_pton(af, ip, bin) != 1 ||
	    inet_ntop(af, bin, canon, sizeof canon) == NULL) {
		log_line("warning: unable to use pass cache %s: the "
		    "client's address %s is no IP address", cachedir, ip);
		return -1;
	}
	k = snprintf(out, n, "%s/%s", cachedir, canon);
	if (k < 0 || (size_t)k >= n) {	/* the name cut, the reason kept */
		log_line("warning: unable to use pass cache %.100s%s: %s",
		    cachedir, strlen(cachedir) > 100 ? "..." : "",
		    strerror(ENAMETOOLONG));
		return -1;
	}
	return 0;
}

/* Did this client pass within the TTL?  Its file's mtime says when. */
static int
cache_fresh(void)
{
	struct stat st;
	time_t now = time(NULL);

	if (lstat(path, &st) == -1) {
		if (errno != ENOENT)
			log_line("warning: unable to read pass cache %s: %s",
			    path, strerror(errno));
		return 0;
	}
	/* in seconds: age * 1000 < ttl_ms, without its overflow where a
	 * long has 32 bits */
	return S_ISREG(st.st_mode) && st.st_mtime <= now &&
	    now - st.st_mtime < (time_t)((ttl_ms + 999) / 1000);
}

/*
 * A new empty file in the cache, its name (dir/.tmp.PID) into tmp,
 * PATH_MAX bytes.  Made with O_EXCL: whatever is in its place (a stale
 * one of a killed process with our pid, or a link planted in a directory
 * that others may write to) is unlinked, never followed or truncated.
 * 0, or -1 and errno.
 */
static int
cache_new(char *tmp)
{
	int fd, k;

	k = snprintf(tmp, PATH_MAX, "%s/.tmp.%ld", cachedir, (long)getpid());
	if (k < 0 || k >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0644);
	if (fd == -1 && errno == EEXIST && unlink(tmp) == 0)
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0644);
	return fd == -1 ? -1 : close(fd);
}

/*
 * Record a pass: a new file, then rename() over the old one, so that
 * readers see a whole file and many writers never collide.  A failure
 * (full or read-only disk) costs a warning, nothing more.
 */
static void
cache_pass(void)
{
	char *tmp = path + PATH_MAX;

	if (cache_new(tmp) == -1 || rename(tmp, path) == -1) {
		log_line("warning: unable to write pass cache %s: %s", path,
		    strerror(errno));
		(void)unlink(tmp);
	}
}

/* -n: can this user write the pass cache?  As cache_pass() writes it. */
static int
cache_check(void)
{
	char tmp[PATH_MAX];
	struct stat st;

	if (stat(cachedir, &st) == 0 && !S_ISDIR(st.st_mode))
		errno = ENOTDIR;
	else if (cache_new(tmp) == 0 && unlink(tmp) == 0)
		return 0;
	log_fatal("unable to write pass cache %s: %s", cachedir,
	    strerror(errno));
	return -1;
}

/* A name (text, directory, file) for opt: not empty, not an option. */
static const char *
name(int opt, const char *val, const char *what)
{
	char why[64];

	if (*val == '\0')
		usage(opt, val, "empty");
	if (*val == '-') {
		(void)snprintf(why, sizeof why, "looks like an option, not %s",
		    what);
		usage(opt, val, why);
	}
	return val;
}

/* Step 1: the options.  Returns prog and its arguments. */
static char **
options(int argc, char **argv)
{
	int opt;

	opterr = 0;	/* usage() says what is wrong */
	while ((opt = getopt(argc, argv, "+:C:PVb:c:dl:nopqtvw:x:")) != -1) {
		switch (opt) {
		case 'C':
			if (opt_seconds(optarg, 30 * DAY, &ttl_ms) == -1 ||
			    ttl_ms < 1000)
				usage(opt, optarg,
				    "not seconds from 1 to 2592000");
			break;
		case 'P': proxyopt = 1; break;
		case 'V':
			(void)write_all(1, PROG " " VERSION "\n",
			    sizeof PROG " " VERSION);
			exit(0);
		case 'b': teaser = name(opt, optarg, "text"); break;
		case 'c': cachedir = name(opt, optarg, "a directory"); break;
		case 'd': defer = 1; break;
		case 'l':
			if (opt_seconds(optarg, 30000, &linger_ms) == -1)
				usage(opt, optarg, "not seconds from 0 to 30");
			break;
		case 'n': checkonly = 1; break;
		case 'o': observe = 1; break;
		case 'p': temporary = 0; break;
		case 'q': verbosity = 0; break;
		case 't': temporary = 1; break;
		case 'v': verbosity = 2; break;
		case 'w':
			if (parse_wait(optarg, &wait_min, &wait_max) == -1)
				usage(opt, optarg, strchr(optarg + 1, '-') ?
				    "not a range of seconds from 0 to 300" :
				    "not seconds from 0 to 300");
			break;
		case 'x': rulescdb = name(opt, optarg, "a cdb file"); break;
		case ':': usage(optopt, NULL, "no value");
		default: usage(optopt, NULL, "no such option");
		}
	}
	argv += optind;
	if (*argv == NULL)
		usage(0, NULL, "no program to run");
	return argv;
}

/*
 * Under inetd, xinetd or systemd no tcpserver set the tcp-environ(5)
 * variables: set them from fd 0's socket, as tcpserver would, for prog
 * (qmail-smtpd wants $TCPREMOTEIP) and for -x.  Returns 1 if set; 0 if
 * $TCPREMOTEIP was there, or fd 0 is no TCP socket with a peer.
 */
static int
tcp_environ(void)
{
	char rip[IP_TEXT], lip[IP_TEXT], rport[8], lport[8];
	const char *e = getenv("TCPREMOTEIP");
	unsigned int port;

	if (e != NULL && *e != '\0')
		return 0;
	if (sock_ip(1, rip, sizeof rip, &port) == -1)
		return 0;
	(void)snprintf(rport, sizeof rport, "%u", port);
	if (sock_ip(0, lip, sizeof lip, &port) == -1)
		return 0;
	(void)snprintf(lport, sizeof lport, "%u", port);
	if (setenv("PROTO", "TCP", 1) == -1 ||
	    setenv("TCPREMOTEIP", rip, 1) == -1 ||
	    setenv("TCPREMOTEPORT", rport, 1) == -1 ||
	    setenv("TCPLOCALIP", lip, 1) == -1 ||
	    setenv("TCPLOCALPORT", lport, 1) == -1) {
		log_fatal("unable to set TCPREMOTEIP: out of memory");
		unavailable();
	}
	return 1;
}

/* Apply the -x rules to the client at ip, as tcpserver -x would. */
static void
rules(const char *ip)
{
	switch (rules_apply(rulescdb, ip)) {
	case 0:
		if (verbosity > 0)
			log_line("deny: rules");
		exit(0);	/* tcpserver's deny: close, say nothing */
	case -1:
		log_line("warning: unable to read rules %s: %s", rulescdb,
		    strerror(errno));
		break;
	case -2:
		log_line("warning: unable to read rules %s: not a cdb",
		    rulescdb);
	}
}

/*
 * The client comes through a load balancer: read its PROXY header and
 * make the real client the client ($TCPREMOTEIP and the rest, and ip).
 * A missing or bad header gets 421.  Returns 1, or 0 for a LOCAL header
 * (the balancer's own connection, its health check).
 */
static int
proxy(char *ip, size_t ipsize)
{
	unsigned char *h;	/* on the heap: no page of it, unless used */
	char esc[4 * SMTP_SAMPLE + 1], num[8], t[32];
	struct proxy_header px;
	long long start = now_ms();
	size_t n;
	int st;

	(void)unsetenv("EARLYTALKER_PROXY");
	h = malloc(PROXY_V2MAX);
	if (h == NULL) {
		log_fatal("unable to read the PROXY header: out of memory");
		unavailable();
	}
	st = proxy_read(&px, h, &n);
	if (st != 1) {
		(void)smtp_escape(esc, sizeof esc, (const char *)h,
		    n < SMTP_SAMPLE ? n : SMTP_SAMPLE);
		if (verbosity > 0)
			log_line("proxy: %s: %lu bytes after %s s: \"%s\": "
			    "reject 421", st == 0 ? "no header" : "bad header",
			    (unsigned long)n, elapsed(t, sizeof t,
			    now_ms() - start), esc);
		(void)signal(SIGPIPE, SIG_IGN);
		(void)reply("421 4.3.0 Bad or missing PROXY protocol header");
		close_clean();
		exit(0);
	}
	free(h);
	if (px.local) {
		proxylocal = 1;
		if (verbosity > 1)
			log_line("proxy: v%d local", px.version);
		return 0;
	}
	if (setenv("TCPREMOTEIP", px.src, 1) == -1 ||
	    setenv("TCPLOCALIP", px.dst, 1) == -1 ||
	    (snprintf(num, sizeof num, "%u", px.sport),
	    setenv("TCPREMOTEPORT", num, 1)) == -1 ||
	    (snprintf(num, sizeof num, "%u", px.dport),
	    setenv("TCPLOCALPORT", num, 1)) == -1) {
		log_fatal("unable to set TCPREMOTEIP: out of memory");
		unavailable();
	}
	/* they named the balancer, not the client */
	(void)unsetenv("TCPREMOTEHOST");
	(void)unsetenv("TCPREMOTEINFO");
	if (verbosity > 1)
		log_line("proxy: v%d from %s port %u to %s port %u",
		    px.version, px.src, px.sport, px.dst, px.dport);
	(void)snprintf(ip, ipsize, "%s", px.src);
	log_init(PROG, ip);
	return 1;
}

/* Does a PROXY header come first?  -P, or $EARLYTALKER_PROXY. */
static int
proxied(void)
{
	return proxyopt || getenv("EARLYTALKER_PROXY") != NULL;
}

/*
 * Step 2: who is this client.  Its address into ip, for the log lines
 * and the pass cache: from tcpserver's $TCPREMOTEIP, else from the
 * socket (and then the tcp-environ(5) variables are set), else from a
 * load balancer's PROXY header.  The -x rules apply to a client that
 * earlytalker found itself, not to one that tcpserver -x has seen.
 */
static void
client(char *ip, size_t ipsize)
{
	int found;

	log_init(PROG, NULL);
	found = tcp_environ();
	peer_ip(ip, ipsize);
	log_init(PROG, ip);
	if (proxied())
		found = proxy(ip, ipsize);
	if (found && rulescdb != NULL)
		rules(ip);
}

/*
 * Step 3: clients that get no wait.  Trusted ($RELAYCLIENT) and exempt
 * (an empty $EARLYTALKER) ones run prog; marked ones are refused, or
 * with -d run prog, or observed: run prog without the mark; with -c,
 * one that passed within the TTL runs prog.
 * Returns 0 if a pass of this client is to be cached (-c), else -1.
 */
static int
known(char **argv, const char *ip)
{
	char text[SMTP_TEXTMAX + 1];
	const char *marked;
	int cached = -1;

	if (getenv("RELAYCLIENT") != NULL) {
		if (verbosity > 1)
			log_line("skip: relayclient");
		run(argv);
	}
	marked = getenv("EARLYTALKER");
	if (marked != NULL && *marked == '\0') {
		if (verbosity > 1)
			log_line("skip: exempt");
		run(argv);
	}
	if (marked != NULL) {
		temporary = !smtp_marked(text, sizeof text, marked);
		if (verbosity > 0)
			log_line("%smarked: %s", observe ? "observe: " : "",
			    defer ? "mark" : temporary ? "reject 421" :
			    "reject 554");
		if (observe) {	/* handed on untouched: no mark */
			(void)unsetenv("EARLYTALKER");
			run(argv);
		}
		if (defer)
			run(argv);
		reject(temporary ? "421 4.7.1" : "554 5.7.1", text,
		    "503 5.5.1 Bad sequence of commands");
	}
	if (cachedir != NULL && !proxylocal) {
		path = malloc((size_t)2 * PATH_MAX);
		if (path == NULL)
			log_line("warning: unable to use pass cache %s: out of "
			    "memory", cachedir);
		else
			cached = cache_name(path, PATH_MAX, ip);
		if (cached == 0 && cache_fresh()) {
			if (verbosity > 1)
				log_line("skip: cached");
			run(argv);
		}
	}
	return cached;
}

/*
 * A value of $EARLYTALKER_WAIT, found where ("" for the environment; for
 * -n, the rule that sets it): into *min and *max, or a warning that
 * names it and says which wait applies instead (-w).  0, or -1.
 */
static int
check_wait(const char *v, const char *where, unsigned long *min,
    unsigned long *max)
{
	char esc[4 * 20 + 1], t[32], t2[32];

	if (parse_wait(v, min, max) == 0)
		return 0;
	(void)smtp_escape(esc, sizeof esc, v, strlen(v) > 20 ? 20 : strlen(v));
	(void)elapsed(t, sizeof t, (long long)wait_min);
	(void)elapsed(t2, sizeof t2, (long long)wait_max);
	log_line("warning: %sEARLYTALKER_WAIT \"%s\" is not seconds from 0 "
	    "to 300: using %s%s%s", where, esc, t,
	    wait_max != wait_min ? "-" : "", wait_max != wait_min ? t2 : "");
	return -1;
}

/*
 * A value of $EARLYTALKER_OBSERVE, found where: present turns observing
 * on, whatever it holds.  Empty is its form; another value, "0" or "no"
 * too, warns, since it may have been meant to turn observing off.
 */
static void
check_observe(const char *v, const char *where)
{
	char esc[4 * 20 + 1];

	if (*v == '\0')
		return;
	(void)smtp_escape(esc, sizeof esc, v, strlen(v) > 20 ? 20 : strlen(v));
	log_line("warning: %sEARLYTALKER_OBSERVE \"%s\" is not empty: "
	    "observing", where, esc);
}

/* The environment's $EARLYTALKER_WAIT, from the rules, in place of -w. */
static void
env_wait(void)
{
	const char *v = getenv("EARLYTALKER_WAIT");
	unsigned long min, max;

	if (v != NULL && check_wait(v, "", &min, &max) == 0) {
		wait_min = min;
		wait_max = max;
	}
}

/* The environment's $EARLYTALKER_OBSERVE, from the rules, or -o. */
static void
env_observe(void)
{
	const char *v = getenv("EARLYTALKER_OBSERVE");

	if (v != NULL) {
		check_observe(v, "");
		observe = 1;
	}
}

/*
 * Between steps 2 and 3: observing, by -o or for this client by the
 * rules?  Then the programs after this one observe too:
 * $EARLYTALKER_OBSERVE, empty (so that a value that warned here warns
 * no more).
 */
static void
observing(void)
{
	env_observe();
	if (observe && setenv("EARLYTALKER_OBSERVE", "", 1) == -1) {
		log_fatal("unable to set EARLYTALKER_OBSERVE: out of memory");
		unavailable();
	}
}

/* The wait for this client: -w, or $EARLYTALKER_WAIT from the rules. */
static unsigned long
wait_for(void)
{
	env_wait();
	return draw_wait(wait_min, wait_max);
}

/*
 * Step 4: the wait.  A client that stays quiet for wait_ms is passed:
 * its pass cached (cached is 0), prog run.  Returns when fd 0 becomes
 * readable, with the milliseconds waited.  The teaser goes out first.
 */
static long long
hold(char **argv, unsigned long wait_ms, int cached)
{
	char text[SMTP_TEXTMAX + 1], line[SMTP_TEXTMAX + 8], t[32];
	struct pollfd p;
	long long start, left;
	void (*sigpipe)(int);
	int r;

	/* The teaser: a first greeting line; prog's 220 line ends it. */
	if (teaser != NULL) {
		local_host(host, sizeof host);
		smtp_text(text, sizeof text, teaser);
		(void)snprintf(line, sizeof line, "220-%s", text);
		sigpipe = signal(SIGPIPE, SIG_IGN);
		teased = reply(line) == 0;
		(void)signal(SIGPIPE, sigpipe);	/* as found: it is prog's */
	}

	/* Wait on the monotonic clock; no alarm, no signal handler. */
	start = now_ms();
	for (;;) {
		left = start + (long long)wait_ms - now_ms();
		if (left < 0)
			left = 0;
		p.fd = 0;
		p.events = POLLIN;
		p.revents = 0;
		r = poll(&p, 1, (int)left);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			log_fatal("unable to poll fd 0: %s", strerror(errno));
			exit(111);
		}
		if (r > 0)
			return now_ms() - start;
		if (left == 0 || now_ms() >= start + (long long)wait_ms) {
			if (verbosity > 1)
				log_line("pass after %s s", elapsed(t,
				    sizeof t, now_ms() - start));
			if (cached == 0)
				cache_pass();
			run(argv);
		}
	}
}

/*
 * Step 5: the verdict on a client that made fd 0 readable after waited
 * ms.  No byte waiting is a hangup; bytes are an early talker, marked
 * (-d) and handed to prog, or refused; observed, it is handed to prog
 * unmarked.
 */
static void
verdict(char **argv, long long waited, int sock)
{
	char sample[SMTP_SAMPLE], esc[4 * SMTP_SAMPLE + 1], t[32];
	const char *class;
	ssize_t k = 0;
	int n;

	if (ioctl(0, FIONREAD, &n) == -1) {
		log_fatal("unable to count bytes on fd 0: %s",
		    strerror(errno));
		exit(111);
	}
	if (sock) {
		k = recv(0, sample, sizeof sample, MSG_PEEK | MSG_DONTWAIT);
		if (k < 0)
			k = 0;
	}
	if (n < k)
		n = (int)k;
	if (n <= 0) {	/* a health check, a scan: no decision to log */
		if (verbosity > 1)
			log_line("hangup after %s s",
			    elapsed(t, sizeof t, waited));
		exit(0);
	}
	(void)smtp_escape(esc, sizeof esc, sample, (size_t)k);
	class = smtp_class(sample, (size_t)k);
	if (verbosity > 0)
		log_line("%searly: %d bytes after %s s: \"%s%s\" %s: %s",
		    observe ? "observe: " : "", n,
		    elapsed(t, sizeof t, waited), esc, n > k ? "..." : "",
		    class, defer ? "mark" : temporary ? "reject 421" :
		    teased ? "reject 550" : "reject 554");
	if (observe)	/* the bytes are still there, for prog */
		run(argv);
	if (defer) {
		if (setenv("EARLYTALKER", temporary ? REASON : "-" REASON,
		    1) == -1) {
			log_fatal("unable to set EARLYTALKER: out of memory");
			unavailable();
		}
		run(argv);
	}
	if (teased)	/* RFC 5321 4.2.1: no 554 after a 220- line */
		reject(NULL, NULL, temporary ? "421 4.5.1 " REASON :
		    "550 5.5.1 " REASON);
	reject(temporary ? "421 4.5.1" : "554 5.5.1", REASON,
	    "503 5.5.1 Bad sequence of commands");
}

/* -n: one instruction of a -x rule, as a client that it applies to
 * would get it: warn of what would be warned of then. */
static int
check_rule(const char *key, size_t klen, const char *var, const char *value,
    void *arg)
{
	char k[4 * 40 + 1], v[4 * 40 + 1], where[PATH_MAX + 4 * 40 + 32];
	unsigned long min, max;

	(void)arg;
	(void)smtp_escape(k, sizeof k, key, klen > 40 ? 40 : klen);
	(void)snprintf(where, sizeof where, "rules %s: rule \"%s\": ",
	    rulescdb, k);
	if (value == NULL) {
		(void)smtp_escape(v, sizeof v, var,
		    strlen(var) > 40 ? 40 : strlen(var));
		log_line("warning: %s\"%s\" is not D or +VAR=value: ignored",
		    where, v);
	} else if (strcmp(var, "EARLYTALKER_WAIT") == 0)
		(void)check_wait(value, where, &min, &max);
	else if (strcmp(var, "EARLYTALKER_OBSERVE") == 0)
		check_observe(value, where);
	return 0;
}

/*
 * -n: check the configuration, without a client: the options (read by
 * options()), the environment, the -x rules, each of them, the -c
 * directory (written and removed as this user) and prog (found as
 * execvp() would), each by the functions a run uses.  fd 0 is never
 * touched.  Print the settings on fd 1, one "name value" a line, and
 * warnings and fatal lines on fd 2 without a client's address; exit 0,
 * or 111 if a run would fail for every client.
 */
static void
check(char **argv)
{
	char prog[PATH_MAX], text[SMTP_TEXTMAX + 1], t[32], t2[32];
	long nrules = 0;
	int bad = 0;

	log_init(PROG, "");
	env_wait();
	env_observe();
	check_env();
	if (rulescdb != NULL)
		nrules = rules_check(rulescdb, check_rule, NULL);
	if (nrules < 0) {
		log_fatal("unable to read rules %s: %s", rulescdb,
		    nrules == -2 ? "not a cdb" : strerror(errno));
		bad = 1;
	}
	if (cachedir != NULL && cache_check() == -1)
		bad = 1;
	if (prog_find(argv[0], prog, sizeof prog) == -1) {
		log_fatal("unable to run %s: %s", argv[0], strerror(errno));
		(void)snprintf(prog, sizeof prog, "%s", argv[0]);
		bad = 1;
	}
	if (teaser != NULL)
		smtp_text(text, sizeof text, teaser);
	setting("observe", "%s", observe ? "yes" : "no");
	(void)elapsed(t, sizeof t, (long long)wait_min);
	(void)elapsed(t2, sizeof t2, (long long)wait_max);
	setting("wait", "%s%s%s", t, wait_max != wait_min ? "-" : "",
	    wait_max != wait_min ? t2 : "");
	setting("action", "%s", defer ? "mark" : temporary ? "reject 421" :
	    teaser != NULL ? "reject 550" : "reject 554");
	setting("linger", "%s", elapsed(t, sizeof t, (long long)linger_ms));
	setting("log", "%s", verbosity == 0 ? "quiet" : verbosity == 1 ?
	    "default" : "verbose");
	setting("teaser", "%s", teaser != NULL ? text : "-");
	setting("cache", "%s", cachedir != NULL ? cachedir : "-");
	setting("ttl", "%s", elapsed(t, sizeof t, (long long)ttl_ms));
	setting("proxy", "%s", proxied() ? "yes" : "no");
	setting("rules", "%s", rulescdb != NULL ? rulescdb : "-");
	setting("prog", "%s", prog);
	exit(bad ? 111 : 0);
}

int
main(int argc, char **argv)
{
	char ip[PEER_IP];
	struct stat st;
	unsigned long wait_ms;
	int cached;

	argv = options(argc, argv);
	if (checkonly)
		check(argv);
	client(ip, sizeof ip);
	observing();
	cached = known(argv, ip);
	wait_ms = wait_for();

	/* Only a socket, a pipe or a terminal can have a client on it. */
	if (fstat(0, &st) == -1) {
		log_fatal("unable to examine fd 0: %s", strerror(errno));
		exit(111);
	}
	if (!S_ISSOCK(st.st_mode) && !S_ISFIFO(st.st_mode) && !isatty(0)) {
		log_line("warning: fd 0 is not a socket, pipe or terminal: "
		    "not waiting");
		run(argv);
	}
	verdict(argv, hold(argv, wait_ms, cached), S_ISSOCK(st.st_mode));
}
