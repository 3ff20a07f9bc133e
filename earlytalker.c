/* earlytalker.c: hold back the SMTP greeting and see who talks first.
 *
 * Run between tcpserver (or inetd, xinetd, systemd) and the SMTP server.
 * Wait with poll() on fd 0 for -w seconds.  A client that stays quiet is
 * handed to prog, which greets it.  A client that talks first is answered
 * 554 (or 421) here, or with -d marked in $EARLYTALKER for a later program.
 * The early bytes are peeked at, never consumed, so prog still reads them.
 *
 * Off by default: a 220- teaser line at the start of the wait (-b), a
 * cache of clients that passed (-c, cache.c), the PROXY protocol header
 * of a load balancer (-P or $EARLYTALKER_PROXY, proxy.c), the tcprules of
 * -x (rules.c), a random wait (-w min-max), the observe mode (-o or
 * $EARLYTALKER_OBSERVE: every decision logged, every client handed to
 * prog untouched).
 *
 * Each step decides into a value, a verdict, or leaves the decision to
 * the next step; act() carries the verdict out once; main() execs prog
 * at its end, the one exec.  With -n, check() instead reads what a run
 * would read, through the same functions, and runs nothing.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
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
#define BADSEQ "503 5.5.1 Bad sequence of commands"
#define MAXREPLIES 20		/* replies in all after a refusal */
#define LINGER_QUIET_MS 200	/* the linger ends after this much silence */
#define MAXWAIT 300000		/* -w, milliseconds */
#define DAY 86400000UL		/* -C default, milliseconds */

/* What becomes of the client. */
enum verdict {
	NEXT,		/* no verdict yet: the next step gives it */
	PASS,		/* quiet through the wait: prog greets it */
	EXEMPT,		/* no wait: trusted, exempt, cached, or fd 0 can
			 * hold no client: prog greets it */
	OBSERVE,	/* refused or marked, were it not observed: prog
			 * greets it, unmarked */
	MARK,		/* talked first or came marked, with -d: prog
			 * greets it, marked in $EARLYTALKER */
	EARLY,		/* talked first: refused here */
	MARKED,		/* came marked in $EARLYTALKER: refused here */
	HANGUP,		/* left during the wait: closed */
	DENY,		/* denied by the -x rules: closed, nothing said */
	NOPROXY		/* no valid PROXY header: 421 */
};

static void usage(int, const char *, const char *) NORETURN;
static void reject(const char *, const char *, const char *) NORETURN;
static void unavailable(void) NORETURN;
static void fail(const char *) NORETURN;

static int defer;		/* 1: -d, mark and exec; 0: reject */
static int observe;		/* 1: -o or $EARLYTALKER_OBSERVE: log each
				 * decision as "observe:", carry out none */
static int checkonly;		/* 1: -n, check the configuration, run
				 * nothing */
static int temporary;		/* 1: -t, 421; 0: -p, 554; for a marked
				 * client, what its mark says */
static int verbosity = 1;	/* 0 -q: errors; 1: refusals and marks;
				 * 2 -v: passes, skips, hangups too */
static unsigned long wait_min = 1000;	/* -w, 0..MAXWAIT ms */
static unsigned long wait_max = 1000;	/* -w, wait_min..MAXWAIT ms */
static unsigned long linger_ms = 2000;	/* -l, 0..30000 */
static const char *teaser;	/* -b: text of the 220- line, or NULL */
static int teased;		/* 1: the 220- line went out */
static const char *cachedir;	/* -c: the pass cache, or NULL */
static int caching;		/* 1: a pass of this client is cached */
static unsigned long ttl_ms = DAY;	/* -C, 1 s..30 days */
static int proxyopt;		/* 1: -P, every client comes via PROXY */
static int proxylocal;		/* 1: a PROXY LOCAL header: the balancer's
				 * own check, never in the pass cache */
static const char *rulescdb;	/* -x: tcprules cdb for the clients that
				 * no tcpserver -x has seen: proxied ones
				 * and inetd's */
static char host[SMTP_TEXTMAX + 1];	/* our name, after a teaser */
static char marktext[SMTP_TEXTMAX + 1];	/* MARKED: the mark's reply */

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

/* fd 0 cannot be examined: a fatal line, exit 111, no reply. */
static void
fail(const char *what)
{
	log_fatal("unable to %s: %s", what, strerror(errno));
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

/* The wait of -w (or $EARLYTALKER_WAIT) as the log says it: "S.mmm", or
 * "S.mmm-S.mmm" for a range; into buf, n bytes. */
static char *
waits(char *buf, size_t n)
{
	char t[32], t2[32];

	(void)elapsed(t, sizeof t, (long long)wait_min);
	(void)elapsed(t2, sizeof t2, (long long)wait_max);
	(void)snprintf(buf, n, "%s%s%s", t, wait_max != wait_min ? "-" : "",
	    wait_max != wait_min ? t2 : "");
	return buf;
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
				usage(opt, optarg, *optarg != '\0' &&
				    strchr(optarg + 1, '-') != NULL ?
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
 * The client's tcp-environ(5) variables, as tcpserver sets them: the
 * remote and local address and port, and with proto $PROTO too.  Out of
 * memory: the client is to come back later.
 */
static void
tcp_setenv(int proto, const char *rip, unsigned int rport, const char *lip,
    unsigned int lport)
{
	char rp[8], lp[8];

	(void)snprintf(rp, sizeof rp, "%u", rport);
	(void)snprintf(lp, sizeof lp, "%u", lport);
	if ((proto && setenv("PROTO", "TCP", 1) == -1) ||
	    setenv("TCPREMOTEIP", rip, 1) == -1 ||
	    setenv("TCPREMOTEPORT", rp, 1) == -1 ||
	    setenv("TCPLOCALIP", lip, 1) == -1 ||
	    setenv("TCPLOCALPORT", lp, 1) == -1) {
		log_fatal("unable to set TCPREMOTEIP: out of memory");
		unavailable();
	}
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
	char rip[IP_TEXT], lip[IP_TEXT];
	const char *e = getenv("TCPREMOTEIP");
	unsigned int rport, lport;

	if (e != NULL && *e != '\0')
		return 0;
	if (sock_ip(1, rip, sizeof rip, &rport) == -1 ||
	    sock_ip(0, lip, sizeof lip, &lport) == -1)
		return 0;
	tcp_setenv(1, rip, rport, lip, lport);
	return 1;
}

/* Apply the -x rules to the client at ip, as tcpserver -x would: DENY,
 * or NEXT. */
static enum verdict
rules(const char *ip)
{
	switch (rules_apply(rulescdb, ip)) {
	case 0:
		if (verbosity > 0)
			log_line("deny: rules");
		return DENY;	/* tcpserver's deny: close, say nothing */
	case -1:
		log_line("warning: unable to read rules %s: %s", rulescdb,
		    strerror(errno));
		break;
	case -2:
		log_line("warning: unable to read rules %s: not a cdb",
		    rulescdb);
	}
	return NEXT;
}

/*
 * The client comes through a load balancer: take its PROXY header off
 * fd 0 and make the real client the client ($TCPREMOTEIP and the rest,
 * and ip).  Returns 0, or -1 if no valid header came (proxy_take()
 * logged it).  A LOCAL header (the balancer's own connection, its health
 * check) keeps the connection's addresses and sets proxylocal.
 */
static int
proxy(char *ip, size_t ipsize)
{
	struct proxy_header px;
	int st;

	(void)unsetenv("EARLYTALKER_PROXY");
	st = proxy_take(&px, verbosity > 0);
	if (st == -1) {
		log_fatal("unable to read the PROXY header: out of memory");
		unavailable();
	}
	if (st == 0)
		return -1;
	if (px.local) {
		proxylocal = 1;
		if (verbosity > 1)
			log_line("proxy: v%d local", px.version);
		return 0;
	}
	tcp_setenv(0, px.src, px.sport, px.dst, px.dport);
	/* they named the balancer, not the client */
	(void)unsetenv("TCPREMOTEHOST");
	(void)unsetenv("TCPREMOTEINFO");
	if (verbosity > 1)
		log_line("proxy: v%d from %s port %u to %s port %u",
		    px.version, px.src, px.sport, px.dst, px.dport);
	(void)snprintf(ip, ipsize, "%s", px.src);
	log_init(PROG, ip);
	return 0;
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
 * NOPROXY, DENY or NEXT.
 */
static enum verdict
client(char *ip, size_t ipsize)
{
	int found;

	log_init(PROG, NULL);
	found = tcp_environ();
	peer_ip(ip, ipsize);
	log_init(PROG, ip);
	if (proxied()) {
		if (proxy(ip, ipsize) == -1)
			return NOPROXY;
		found = !proxylocal;
	}
	return found && rulescdb != NULL ? rules(ip) : NEXT;
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
	char esc[4 * 20 + 1], t[64];

	if (parse_wait(v, min, max) == 0)
		return 0;
	(void)smtp_escape(esc, sizeof esc, v, strlen(v) > 20 ? 20 : strlen(v));
	log_line("warning: %sEARLYTALKER_WAIT \"%s\" is not seconds from 0 "
	    "to 300: using %s", where, esc, waits(t, sizeof t));
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

/* A client that gets no wait, for why: logged with -v.  EXEMPT. */
static enum verdict
skip(const char *why)
{
	if (verbosity > 1)
		log_line("skip: %s", why);
	return EXEMPT;
}

/* What is done to a client that talked first or came marked, as the log
 * and -n say it; tease: after a 220- line. */
static const char *
action(int tease)
{
	return defer ? "mark" : temporary ? "reject 421" : tease ?
	    "reject 550" : "reject 554";
}

/*
 * Step 3: clients that get no wait.  Trusted ($RELAYCLIENT) and exempt
 * (an empty $EARLYTALKER) ones are EXEMPT; marked ones are MARKED, or
 * with -d MARK, or OBSERVE; with -c, one that passed within the TTL is
 * EXEMPT, and caching says whether this client's pass is to be cached.
 * Else NEXT.
 */
static enum verdict
known(const char *ip)
{
	const char *marked = getenv("EARLYTALKER");

	if (getenv("RELAYCLIENT") != NULL)
		return skip("relayclient");
	if (marked != NULL && *marked == '\0')
		return skip("exempt");
	if (marked != NULL) {
		temporary = !smtp_marked(marktext, sizeof marktext, marked);
		if (verbosity > 0)
			log_line("%smarked: %s", observe ? "observe: " : "",
			    action(0));
		return observe ? OBSERVE : defer ? MARK : MARKED;
	}
	if (cachedir != NULL && !proxylocal) {
		caching = cache_find(cachedir, ip) == 0;
		if (caching && cache_fresh(ttl_ms))
			return skip("cached");
	}
	return NEXT;
}

/* The teaser: a first greeting line; prog's 220 line ends it. */
static void
tease(void)
{
	char text[SMTP_TEXTMAX + 1], line[SMTP_TEXTMAX + 8];
	void (*sigpipe)(int);

	local_host(host, sizeof host);
	smtp_text(text, sizeof text, teaser);
	(void)snprintf(line, sizeof line, "220-%s", text);
	sigpipe = signal(SIGPIPE, SIG_IGN);
	teased = reply(line) == 0;
	(void)signal(SIGPIPE, sigpipe);	/* as found: it is prog's */
}

/*
 * Wait on the monotonic clock, with no alarm and no signal handler, for
 * fd 0 to become readable within wait_ms: the milliseconds waited, or
 * -1 if the client stayed quiet.
 */
static long long
quiet_for(unsigned long wait_ms)
{
	char t[32];
	struct pollfd p;
	long long start = now_ms(), left;
	int r;

	for (;;) {
		left = start + (long long)wait_ms - now_ms();
		if (left < 0)
			left = 0;
		p.fd = 0;
		p.events = POLLIN;
		p.revents = 0;
		r = poll(&p, 1, (int)left);
		if (r == -1 && errno != EINTR)
			fail("poll fd 0");
		if (r > 0)
			return now_ms() - start;
		if (r == 0 && (left == 0 ||
		    now_ms() >= start + (long long)wait_ms)) {
			if (verbosity > 1)
				log_line("pass after %s s", elapsed(t,
				    sizeof t, now_ms() - start));
			return -1;
		}
	}
}

/*
 * The verdict on a client that made fd 0 readable after waited ms.  No
 * byte waiting is a HANGUP; bytes are an early talker: EARLY, MARK with
 * -d, OBSERVE when observed (the bytes are still there, for prog).
 */
static enum verdict
verdict(long long waited, int sock)
{
	char sample[SMTP_SAMPLE], esc[4 * SMTP_SAMPLE + 1], t[32];
	ssize_t k = 0;
	int n;

	if (ioctl(0, FIONREAD, &n) == -1)
		fail("count bytes on fd 0");
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
		return HANGUP;
	}
	(void)smtp_escape(esc, sizeof esc, sample, (size_t)k);
	if (verbosity > 0)
		log_line("%searly: %d bytes after %s s: \"%s%s\" %s: %s",
		    observe ? "observe: " : "", n,
		    elapsed(t, sizeof t, waited), esc, n > k ? "..." : "",
		    smtp_class(sample, (size_t)k), action(teased));
	return observe ? OBSERVE : defer ? MARK : EARLY;
}

/*
 * Step 4: the wait, of wait_ms, for a client on a socket, a pipe or a
 * terminal (else EXEMPT: there is none to wait for).  The teaser goes
 * out first.  PASS if the client stayed quiet, else its verdict().
 */
static enum verdict
hold(unsigned long wait_ms)
{
	struct stat st;
	long long waited;

	if (fstat(0, &st) == -1)
		fail("examine fd 0");
	if (!S_ISSOCK(st.st_mode) && !S_ISFIFO(st.st_mode) && !isatty(0)) {
		log_line("warning: fd 0 is not a socket, pipe or terminal: "
		    "not waiting");
		return EXEMPT;
	}
	if (teaser != NULL)
		tease();
	waited = quiet_for(wait_ms);
	return waited < 0 ? PASS : verdict(waited, S_ISSOCK(st.st_mode));
}

/*
 * Step 5: carry the verdict out.  A refusal, a hangup or a denial ends
 * here; for prog's turn the pass is cached, or the mark set or taken
 * away, and main() runs prog.
 */
static void
act(enum verdict v)
{
	switch (v) {
	case EARLY:
		if (teased)	/* RFC 5321 4.2.1: no 554 after a 220- line */
			reject(NULL, NULL, temporary ? "421 4.5.1 " REASON :
			    "550 5.5.1 " REASON);
		reject(temporary ? "421 4.5.1" : "554 5.5.1", REASON, BADSEQ);
	case MARKED:
		reject(temporary ? "421 4.7.1" : "554 5.7.1", marktext,
		    BADSEQ);
	case NOPROXY:
		(void)signal(SIGPIPE, SIG_IGN);
		(void)reply("421 4.3.0 Bad or missing PROXY protocol header");
		close_clean();
		exit(0);
	case HANGUP:
	case DENY:
		exit(0);
	case PASS:
		if (caching)
			cache_pass();
		break;
	case OBSERVE:	/* handed on untouched: no mark */
		(void)unsetenv("EARLYTALKER");
		break;
	case MARK:	/* a client that came marked keeps its mark */
		if (getenv("EARLYTALKER") == NULL && setenv("EARLYTALKER",
		    temporary ? REASON : "-" REASON, 1) == -1) {
			log_fatal("unable to set EARLYTALKER: out of memory");
			unavailable();
		}
		break;
	case NEXT:
	case EXEMPT:
		break;
	}
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

/* -n: the settings, one "name value" a line on fd 1; prog as found. */
static void
report(const char *prog)
{
	char text[SMTP_TEXTMAX + 1], t[64];

	if (teaser != NULL)
		smtp_text(text, sizeof text, teaser);
	setting("observe", "%s", observe ? "yes" : "no");
	setting("wait", "%s", waits(t, sizeof t));
	setting("action", "%s", action(teaser != NULL));
	setting("linger", "%s", elapsed(t, sizeof t, (long long)linger_ms));
	setting("log", "%s", verbosity == 0 ? "quiet" : verbosity == 1 ?
	    "default" : "verbose");
	setting("teaser", "%s", teaser != NULL ? text : "-");
	setting("cache", "%s", cachedir != NULL ? cachedir : "-");
	setting("ttl", "%s", elapsed(t, sizeof t, (long long)ttl_ms));
	setting("proxy", "%s", proxied() ? "yes" : "no");
	setting("rules", "%s", rulescdb != NULL ? rulescdb : "-");
	setting("prog", "%s", prog);
}

/*
 * -n: check the configuration, without a client: the options (read by
 * options()), the environment, the -x rules, each of them, the -c
 * directory (written and removed as this user) and prog (found as
 * execvp() would), each by the functions a run uses.  fd 0 is never
 * touched.  Print the settings (report()), and warnings and fatal lines
 * on fd 2 without a client's address.  Returns the exit code: 0, or 111
 * if a run would fail for every client.
 */
static int
check(char **argv)
{
	char prog[PATH_MAX];
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
	if (cachedir != NULL && cache_check(cachedir) == -1)
		bad = 1;
	if (prog_find(argv[0], prog, sizeof prog) == -1) {
		log_fatal("unable to run %s: %s", argv[0], strerror(errno));
		(void)snprintf(prog, sizeof prog, "%s", argv[0]);
		bad = 1;
	}
	report(prog);
	return bad ? 111 : 0;
}

/*
 * The steps, in order: options() (step 1; with -n, check() in place of
 * the rest), client() (2: who is this client, its PROXY header, the -x
 * rules), observing(), known() (3: no wait for some), wait_for() (the
 * wait's length) and hold() (4: the wait and the verdict on the early
 * bytes), act() (5: refuse, close, or make ready for prog); then prog,
 * the one exec.  The first step to give a verdict gives the verdict.
 */
int
main(int argc, char **argv)
{
	char ip[PEER_IP];
	enum verdict v;

	argv = options(argc, argv);
	if (checkonly)
		return check(argv);
	v = client(ip, sizeof ip);
	if (v == NEXT) {
		observing();
		v = known(ip);
	}
	if (v == NEXT)
		v = hold(wait_for());
	act(v);
	log_pass_on();	/* prog's fd 2 is never the client */
	(void)execvp(argv[0], argv);
	log_fatal("unable to run %s: %s", argv[0], strerror(errno));
	unavailable();
}
