/* earlytalker.c: hold back the SMTP greeting and see who talks first.
 *
 * Run between tcpserver (or inetd, xinetd, systemd) and the SMTP server.
 * Wait with poll() on fd 0 for -w seconds.  A client that stays quiet is
 * handed to prog, which greets it.  A client that talks first is answered
 * 554 (or 421) here, or with -d marked in $EARLYTALKER for a later program.
 * The early bytes are peeked at, never consumed, so prog still reads them.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "smtp.h"

#define PROG "earlytalker"
#define USAGE "earlytalker [ -dpqtv ] [ -w seconds ] [ -l seconds ] " \
	"prog [ arg ... ]"
#define REASON "Connecting host started transmitting before SMTP greeting"
#define MAXREPLIES 20		/* replies in all after a 554 */

static void die_usage(void) NORETURN;
static void reject(const char *, const char *, const char *) NORETURN;
static void run(char **) NORETURN;

static int defer;		/* 1: -d, mark and exec; 0: reject */
static int temporary;		/* 1: -t, 421; 0: -p, 554 */
static int verbosity = 1;	/* 0 -q: errors; 1: decisions; 2 -v: all */
static unsigned long wait_ms = 1000;	/* -w, 0..300000 */
static unsigned long linger_ms = 2000;	/* -l, 0..30000 */

static void
die_usage(void)
{
	(void)write_all(2, "usage: " USAGE "\n", sizeof "usage: " USAGE);
	exit(100);
}

/*
 * Refuse the client: the 554 reply, then 503 to each further command line
 * until QUIT, the -l linger or MAXREPLIES (RFC 5321 section 3.1); or the
 * 421 reply, then close (section 3.8).  Then close cleanly and exit 0.
 */
static void
reject(const char *code554, const char *code421, const char *text)
{
	char buf[SMTP_TEXTMAX + 16];
	struct input in;
	struct smtp_line l;
	long long deadline;
	int replies = 1, st;

	(void)signal(SIGPIPE, SIG_IGN);	/* no exec follows */
	(void)snprintf(buf, sizeof buf, "%s %s", temporary ? code421 :
	    code554, text);
	if (reply(buf) == -1 || temporary)
		goto done;
	memset(&in, 0, sizeof in);
	memset(&l, 0, sizeof l);
	deadline = now_ms() + (long long)linger_ms;
	while (replies < MAXREPLIES) {
		st = next_line(&in, &l, deadline);
		if (st != LINE_OK && st != LINE_LONG)
			break;
		replies++;
		if (st == LINE_OK &&
		    smtp_verb(l.buf, l.len, NULL) == V_QUIT) {
			(void)reply("221 2.0.0 Bye");
			break;
		}
		if (reply("503 5.5.1 Bad sequence of commands") == -1)
			break;
	}
done:
	close_clean();
	exit(0);
}

static void
run(char **argv)
{
	(void)execvp(argv[0], argv);
	log_fatal("unable to run %s: %s", argv[0], strerror(errno));
	(void)signal(SIGPIPE, SIG_IGN);
	(void)reply("421 4.3.0 Service temporarily unavailable");
	exit(111);
}

int
main(int argc, char **argv)
{
	char ip[300], sample[SMTP_SAMPLE], esc[4 * SMTP_SAMPLE + 1];
	char text[SMTP_TEXTMAX + 1], t[32];
	const char *marked, *envwait, *class;
	struct pollfd p;
	struct stat st;
	long long start, left, waited;
	unsigned long ms;
	ssize_t k;
	int opt, n, r;

	opterr = 0;	/* our usage line says it all */
	while ((opt = getopt(argc, argv, "+dl:pqtvw:")) != -1) {
		switch (opt) {
		case 'd': defer = 1; break;
		case 'l':
			if (smtp_seconds(optarg, 30000, &linger_ms) == -1)
				die_usage();
			break;
		case 'p': temporary = 0; break;
		case 'q': verbosity = 0; break;
		case 't': temporary = 1; break;
		case 'v': verbosity = 2; break;
		case 'w':
			if (smtp_seconds(optarg, 300000, &wait_ms) == -1)
				die_usage();
			break;
		default: die_usage();
		}
	}
	argv += optind;
	if (*argv == NULL)
		die_usage();

	peer_ip(ip, sizeof ip);
	log_init(PROG, ip);

	/* Trusted or exempt: no wait. */
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
		if (defer) {
			if (verbosity > 0)
				log_line("marked: mark");
			run(argv);
		}
		temporary = !smtp_marked(text, sizeof text, marked);
		if (verbosity > 0)
			log_line("marked: reject %s", temporary ? "421" : "554");
		reject("554 5.7.1", "421 4.7.1", text);
	}

	envwait = getenv("EARLYTALKER_WAIT");
	if (envwait != NULL) {
		if (smtp_seconds(envwait, 300000, &ms) == 0)
			wait_ms = ms;
		else {
			(void)smtp_escape(esc, sizeof esc, envwait,
			    strlen(envwait) > 20 ? 20 : strlen(envwait));
			log_line("warning: EARLYTALKER_WAIT \"%s\" is not "
			    "seconds from 0 to 300: using %s", esc,
			    elapsed(t, sizeof t, (long long)wait_ms));
		}
	}

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
			break;
		if (left == 0 || now_ms() >= start + (long long)wait_ms) {
			if (verbosity > 1)
				log_line("pass after %s s", elapsed(t,
				    sizeof t, now_ms() - start));
			run(argv);
		}
	}
	waited = now_ms() - start;

	/* Readable: bytes waiting is an early talker, none a hangup. */
	if (ioctl(0, FIONREAD, &n) == -1) {
		log_fatal("unable to count bytes on fd 0: %s",
		    strerror(errno));
		exit(111);
	}
	k = 0;
	if (S_ISSOCK(st.st_mode)) {
		k = recv(0, sample, sizeof sample, MSG_PEEK | MSG_DONTWAIT);
		if (k < 0)
			k = 0;
	}
	if (n < k)
		n = (int)k;
	if (n <= 0) {
		if (verbosity > 0)
			log_line("hangup after %s s",
			    elapsed(t, sizeof t, waited));
		exit(0);
	}
	(void)smtp_escape(esc, sizeof esc, sample, (size_t)k);
	class = smtp_class(sample, (size_t)k);
	if (verbosity > 0)
		log_line("early: %d bytes after %s s: \"%s%s\" %s: %s", n,
		    elapsed(t, sizeof t, waited), esc, n > k ? "..." : "",
		    class, defer ? "mark" : temporary ? "reject 421" :
		    "reject 554");
	if (defer) {
		if (setenv("EARLYTALKER", temporary ? REASON : "-" REASON,
		    1) == -1) {
			log_fatal("unable to set EARLYTALKER: out of memory");
			(void)reply("421 4.3.0 Service temporarily "
			    "unavailable");
			exit(111);
		}
		run(argv);
	}
	reject("554 5.5.1", "421 4.5.1", REASON);
}
