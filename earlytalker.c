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
 * at its end, the one exec.  The options are a struct settings
 * (settings.h).  With -n, check() (settings.c) instead reads what a run
 * would read, through the same functions, and runs nothing.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "greet.h"
#include "io.h"
#include "proxy.h"
#include "rules.h"
#include "settings.h"
#include "smtp.h"
#include "version.h"
#include "wait.h"

#define PROG "earlytalker"
#define USAGE "earlytalker [ -PVdnopqtv ] [ -b text ] [ -C seconds ] " \
	"[ -c dir ] [ -l seconds ] [ -w seconds[-seconds] ] [ -x cdb ] " \
	"prog [ arg ... ]"
#define REASON "Connecting host started transmitting before SMTP greeting"
#define BADSEQ "503 5.5.1 Bad sequence of commands"
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
static void nomem(const char *) NORETURN;
static void fail(const char *) NORETURN;

static struct settings cf = {	/* the options: settings.h */
	.verbosity = 1, .wait_min = 1000, .wait_max = 1000,
	.linger_ms = 2000, .ttl_ms = DAY
};
static int checkonly;		/* 1: -n, check the configuration, run
				 * nothing */
static int teased;		/* 1: the teaser's 220- line went out */
static int caching;		/* 1: a pass of this client is cached */
static int proxylocal;		/* 1: a PROXY LOCAL header: the balancer's
				 * own check, never in the pass cache */

/* Say what is wrong with the options, then how to use them; exit 100. */
static void
usage(int opt, const char *val, const char *why)
{
	die_usage(PROG, USAGE, opt, val, why);
}

/* A variable for prog cannot be set: out of memory; unavailable(). */
static void
nomem(const char *var)
{
	log_fatal("unable to set %s: out of memory", var);
	unavailable();
}

/* fd 0 cannot be examined: a fatal line, exit 111, no reply. */
static void
fail(const char *what)
{
	log_fatal("unable to %s: %s", what, strerror(errno));
	exit(111);
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
			if (opt_seconds(optarg, 30 * DAY, &cf.ttl_ms) == -1 ||
			    cf.ttl_ms < 1000)
				usage(opt, optarg,
				    "not seconds from 1 to 2592000");
			break;
		case 'P': cf.proxy = 1; break;
		case 'V':
			(void)write_all(1, PROG " " VERSION "\n",
			    sizeof PROG " " VERSION);
			exit(0);
		case 'b': cf.teaser = name(opt, optarg, "text"); break;
		case 'c':
			cf.cachedir = name(opt, optarg, "a directory");
			break;
		case 'd': cf.defer = 1; break;
		case 'l':
			if (opt_seconds(optarg, 30000, &cf.linger_ms) == -1)
				usage(opt, optarg, "not seconds from 0 to 30");
			break;
		case 'n': checkonly = 1; break;
		case 'o': cf.observe = 1; break;
		case 'p': cf.temporary = 0; break;
		case 'q': cf.verbosity = 0; break;
		case 't': cf.temporary = 1; break;
		case 'v': cf.verbosity = 2; break;
		case 'w':
			if (wait_parse(optarg, &cf.wait_min, &cf.wait_max) ==
			    -1)
				usage(opt, optarg, *optarg != '\0' &&
				    strchr(optarg + 1, '-') != NULL ?
				    "not a range of seconds from 0 to 300" :
				    "not seconds from 0 to 300");
			break;
		case 'x': cf.rules = name(opt, optarg, "a cdb file"); break;
		case ':': usage(optopt, NULL, "no value");
		default: usage(optopt, NULL, "no such option");
		}
	}
	argv += optind;
	if (*argv == NULL)
		usage(0, NULL, "no program to run");
	return argv;
}

/* Apply the -x rules to the client at ip, as tcpserver -x would: DENY,
 * or NEXT. */
static enum verdict
rules(const char *ip)
{
	switch (rules_apply(cf.rules, ip)) {
	case 0:
		if (cf.verbosity > 0)
			log_line("deny: rules");
		return DENY;	/* tcpserver's deny: close, say nothing */
	case -1:
		log_line("warning: unable to read rules %s: %s", cf.rules,
		    strerror(errno));
		break;
	case -2:
		log_line("warning: unable to read rules %s: not a cdb",
		    cf.rules);
	}
	return NEXT;
}

/*
 * The client comes through a load balancer: its PROXY header makes the
 * real client the client (proxy_client()), its address into ip.
 * Returns 0, or -1 if no valid header came.  A LOCAL header sets
 * proxylocal.
 */
static int
proxy(char *ip, size_t ipsize)
{
	struct proxy_header px;

	(void)unsetenv("EARLYTALKER_PROXY");
	switch (proxy_client(&px, cf.verbosity)) {
	case -2:
		unavailable();
	case -1:
		return -1;
	case 0:
		proxylocal = 1;
		return 0;
	}
	(void)snprintf(ip, ipsize, "%s", px.src);
	log_init(PROG, ip);
	return 0;
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
	if (found == -1)
		nomem("TCPREMOTEIP");
	peer_ip(ip, ipsize);
	log_init(PROG, ip);
	if (proxied(&cf)) {
		if (proxy(ip, ipsize) == -1)
			return NOPROXY;
		found = !proxylocal;
	}
	return found && cf.rules != NULL ? rules(ip) : NEXT;
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
	env_observe(&cf);
	if (cf.observe && setenv("EARLYTALKER_OBSERVE", "", 1) == -1)
		nomem("EARLYTALKER_OBSERVE");
}

/* The wait for this client: -w, or $EARLYTALKER_WAIT from the rules. */
static unsigned long
wait_for(void)
{
	env_wait(&cf);
	return wait_draw(cf.wait_min, cf.wait_max);
}

/* A client that gets no wait, for why: logged with -v.  EXEMPT. */
static enum verdict
skip(const char *why)
{
	if (cf.verbosity > 1)
		log_line("skip: %s", why);
	return EXEMPT;
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
	char text[SMTP_TEXTMAX + 1];
	const char *marked = getenv("EARLYTALKER");

	if (getenv("RELAYCLIENT") != NULL)
		return skip("relayclient");
	if (marked != NULL && *marked == '\0')
		return skip("exempt");
	if (marked != NULL) {
		cf.temporary = !smtp_marked(text, sizeof text, marked);
		if (cf.verbosity > 0)
			log_line("%smarked: %s", cf.observe ? "observe: " : "",
			    action(&cf, 0));
		return cf.observe ? OBSERVE : cf.defer ? MARK : MARKED;
	}
	if (cf.cachedir != NULL && !proxylocal) {
		caching = cache_find(cf.cachedir, ip) == 0;
		if (caching && cache_fresh(cf.ttl_ms))
			return skip("cached");
	}
	return NEXT;
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
		if (cf.verbosity > 1)
			log_line("hangup after %s s",
			    elapsed(t, sizeof t, waited));
		return HANGUP;
	}
	(void)smtp_escape(esc, sizeof esc, sample, (size_t)k);
	if (cf.verbosity > 0)
		log_line("%searly: %d bytes after %s s: \"%s%s\" %s: %s",
		    cf.observe ? "observe: " : "", n,
		    elapsed(t, sizeof t, waited), esc, n > k ? "..." : "",
		    smtp_class(sample, (size_t)k), action(&cf, teased));
	return cf.observe ? OBSERVE : cf.defer ? MARK : EARLY;
}

/*
 * Step 4: the wait, of wait_ms, for a client on a socket, a pipe or a
 * terminal (else EXEMPT: there is none to wait for).  The teaser goes
 * out first.  PASS if the client stayed quiet, else its verdict().
 */
static enum verdict
hold(unsigned long wait_ms)
{
	char t[32];
	struct stat st;
	long long waited;
	int quiet;

	if (fstat(0, &st) == -1)
		fail("examine fd 0");
	if (!S_ISSOCK(st.st_mode) && !S_ISFIFO(st.st_mode) && !isatty(0)) {
		log_line("warning: fd 0 is not a socket, pipe or terminal: "
		    "not waiting");
		return EXEMPT;
	}
	if (cf.teaser != NULL)
		teased = tease(cf.teaser);
	waited = wait_quiet(wait_ms, &quiet);
	if (waited == -1)
		fail("poll fd 0");
	if (!quiet)
		return verdict(waited, S_ISSOCK(st.st_mode));
	if (cf.verbosity > 1)
		log_line("pass after %s s", elapsed(t, sizeof t, waited));
	return PASS;
}

/*
 * Step 5: carry the verdict out.  A refusal, a hangup or a denial ends
 * here; for prog's turn the pass is cached, or the mark set or taken
 * away, and main() runs prog.
 */
static void
act(enum verdict v)
{
	char text[SMTP_TEXTMAX + 1];

	switch (v) {
	case EARLY:
		if (teased)	/* RFC 5321 4.2.1: no 554 after a 220- line */
			refuse(NULL, NULL, cf.temporary ? "421 4.5.1 " REASON :
			    "550 5.5.1 " REASON, cf.linger_ms);
		refuse(cf.temporary ? "421 4.5.1" : "554 5.5.1", REASON,
		    BADSEQ, cf.linger_ms);
	case MARKED:	/* the mark's text, as known() read it */
		(void)smtp_marked(text, sizeof text, getenv("EARLYTALKER"));
		refuse(cf.temporary ? "421 4.7.1" : "554 5.7.1", text, BADSEQ,
		    cf.linger_ms);
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
		    cf.temporary ? REASON : "-" REASON, 1) == -1)
			nomem("EARLYTALKER");
		break;
	case NEXT:
	case EXEMPT:
		break;
	}
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
	if (checkonly) {
		log_init(PROG, "");	/* no client */
		return check(&cf, argv[0]);
	}
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
