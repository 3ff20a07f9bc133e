/*
 * wrap.c: earlytalker-wrap, the second half of a defer chain: its
 * options, and the choice of what to do with a client.
 *
 * After "earlytalker -d", run in front of the SMTP server:
 *   $EARLYTALKER unset or empty, no -D and no -S: exec prog.  Nothing
 *     else happens.
 *   $EARLYTALKER non-empty: the responder (respond.c).  It speaks SMTP in
 *     prog's place and refuses every recipient (or, with -m, the sender).
 *     prog never runs.
 *   -D seconds, -S, or both: the relay (drive.c).  Run prog as a child
 *     on a socketpair and relay the session, following the protocol
 *     (relay.c, scan.c).  A client that sends anything before the reply
 *     it must wait for is refused: after DATA before the 354 (-D, which holds
 *     back, for that long, each line that some server may read as DATA),
 *     or after any command that synchronises (-S).
 * Observing (-o, or $EARLYTALKER_OBSERVE, which earlytalker -o sets): a
 * marked client is logged as "observe: marked:" and handed to prog; the
 * relay logs its verdict after "observe: " and lets all pass from there.
 * With -n, check() reads what a run would read and runs nothing.
 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drive.h"
#include "io.h"
#include "respond.h"
#include "smtp.h"
#include "version.h"

#define PROG "earlytalker-wrap"
#define USAGE "earlytalker-wrap [ -SVmnopqtv ] [ -D seconds ] [ -T seconds ] " \
	"[ -h host ] [ -i seconds ] prog [ arg ... ]"

static void usage(int, const char *, const char *) NORETURN;
static void respond(const char *) NORETURN;
static void relay(char **) NORETURN;
static void check(char **) NORETURN;

static int temporary;		/* 1: -t, the relay's refusal is 421; 0: -p,
				 * 554 */
static int mailreject;		/* 1: -m, refuse at MAIL; 0: at RCPT */
static int observe;		/* 1: -o or $EARLYTALKER_OBSERVE: log each
				 * decision as "observe:", carry out none */
static int checkonly;		/* 1: -n, check the configuration, run
				 * nothing */
static int verbosity = 1;	/* 0 -q: errors; 1: decisions; 2 -v: all */
static int datacheck;		/* 1: -D given */
static int synccheck;		/* 1: -S, every synchronising command */
static unsigned long data_ms;	/* -D, 0..60000 */
static unsigned long session_ms = 60000;	/* -T, 1000..3600000 */
static unsigned long idle_ms = 500;	/* -i, 100..3600000: silence after
					 * a reply, before the round trips */
static char host[SMTP_TEXTMAX + 1];	/* our name in replies */

/* Say what is wrong with the options, then how to use them; exit 100. */
static void
usage(int opt, const char *val, const char *why)
{
	die_usage(PROG, USAGE, opt, val, why);
}

/* -D, -T, -i: seconds from min to max, as milliseconds, into *ms. */
static void
seconds(int opt, unsigned long min, unsigned long max, unsigned long *ms,
    const char *why)
{
	if (opt_seconds(optarg, max, ms) == -1 || *ms < min)
		usage(opt, optarg, why);
}

/* The options.  Returns prog and its arguments. */
static char **
options(int argc, char **argv)
{
	int opt;

	opterr = 0;	/* usage() says what is wrong */
	while ((opt = getopt(argc, argv, "+:D:ST:Vh:i:mnopqtv")) != -1) {
		switch (opt) {
		case 'D':
			seconds(opt, 0, 60000, &data_ms,
			    "not seconds from 0 to 60");
			datacheck = 1;
			break;
		case 'S': synccheck = 1; break;
		case 'T':
			seconds(opt, 1000, 3600000, &session_ms,
			    "not seconds from 1 to 3600");
			break;
		case 'V':
			(void)write_all(1, PROG " " VERSION "\n",
			    sizeof PROG " " VERSION);
			exit(0);
		case 'h':
			if (*optarg == '\0')
				usage(opt, optarg, "empty");
			if (*optarg == '-')
				usage(opt, optarg,
				    "looks like an option, not a host name");
			smtp_text(host, sizeof host, optarg);
			break;
		case 'i':
			seconds(opt, 100, 3600000, &idle_ms,
			    "not seconds from 0.1 to 3600");
			break;
		case 'm': mailreject = 1; break;
		case 'n': checkonly = 1; break;
		case 'o': observe = 1; break;
		case 'p': temporary = 0; break;
		case 'q': verbosity = 0; break;
		case 't': temporary = 1; break;
		case 'v': verbosity = 2; break;
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
 * $EARLYTALKER_OBSERVE: present turns observing on, whatever it holds,
 * as in earlytalker, which sets it empty for us when it observes; any
 * other value warns.
 */
static void
env_observe(void)
{
	const char *v = getenv("EARLYTALKER_OBSERVE");
	char esc[4 * 20 + 1];

	if (v == NULL)
		return;
	observe = 1;
	if (*v == '\0')
		return;
	(void)smtp_escape(esc, sizeof esc, v, strlen(v) > 20 ? 20 : strlen(v));
	log_line("warning: EARLYTALKER_OBSERVE \"%s\" is not empty: "
	    "observing", esc);
}

/*
 * A marked client, observed: log what the responder would refuse, once
 * (it cannot know the sender and recipients without speaking SMTP), and
 * hand the client to prog, without the mark.
 */
static void
observed(char **argv, const char *marked)
{
	char text[SMTP_TEXTMAX + 1];
	int perm = smtp_marked(text, sizeof text, marked);

	if (verbosity > 0)
		log_line("observe: marked: reject %s at %s",
		    responder_code(perm, mailreject),
		    mailreject ? "MAIL" : "RCPT");
	(void)unsetenv("EARLYTALKER");
	prog_exec(argv);
}

/* A marked client: the responder (respond.c) speaks SMTP in prog's
 * place, with our settings. */
static void
respond(const char *marked)
{
	const struct responder cf = { .host = host,
	    .mailreject = mailreject, .verbosity = verbosity,
	    .session_ms = session_ms, .idle_ms = idle_ms };

	if (host[0] == '\0')
		local_host(host, sizeof host);
	responder(&cf, marked);
}

/* -D, -S: the relay (drive.c) runs prog as a child and follows the
 * session, with our settings. */
static void
relay(char **argv)
{
	const struct drive_cf cf = { .datacheck = datacheck,
	    .synccheck = synccheck, .data_ms = data_ms,
	    .temporary = temporary, .observe = observe,
	    .verbosity = verbosity };

	log_pass_on();	/* prog's fd 2 is never the client */
	drive(&cf, argv);
}

/*
 * -n: check the configuration, without a client: the options (read by
 * options()), the environment and prog (found as execvp() would).  fd 0
 * is never touched.  Print the settings on fd 1, one "name value" a
 * line, and warnings and fatal lines on fd 2 without a client's
 * address; exit 0, or 111 if prog cannot be run.
 */
static void
check(char **argv)
{
	char prog[PATH_MAX], t[32];
	int bad = 0;

	log_init(PROG, "");
	env_observe();
	check_env();
	if (prog_find(argv[0], prog, sizeof prog) == -1) {
		log_fatal("unable to run %s: %s", argv[0], strerror(errno));
		(void)snprintf(prog, sizeof prog, "%s", argv[0]);
		bad = 1;
	}
	if (host[0] == '\0')
		local_host(host, sizeof host);
	setting("observe", "%s", observe ? "yes" : "no");
	setting("data", "%s", datacheck ? elapsed(t, sizeof t,
	    (long long)data_ms) : "-");
	setting("sync", "%s", synccheck ? "yes" : "no");
	setting("action", "%s", temporary ? "reject 421" : "reject 554");
	setting("responder", "%s", mailreject ? "MAIL" : "RCPT");
	setting("session", "%s", elapsed(t, sizeof t, (long long)session_ms));
	setting("idle", "%s", elapsed(t, sizeof t, (long long)idle_ms));
	setting("host", "%s", host);
	setting("log", "%s", verbosity == 0 ? "quiet" : verbosity == 1 ?
	    "default" : "verbose");
	setting("prog", "%s", prog);
	exit(bad ? 111 : 0);
}

int
main(int argc, char **argv)
{
	const char *marked;
	char ip[300];

	argv = options(argc, argv);
	if (checkonly)
		check(argv);

	log_init(PROG, NULL);	/* the address, if a line needs it */
	marked = getenv("EARLYTALKER");
	if ((marked == NULL || *marked == '\0') && !datacheck && !synccheck)
		prog_exec(argv);	/* the common case costs one exec */

	peer_ip(ip, sizeof ip);
	log_init(PROG, ip);
	env_observe();
	/* trusted or exempt: as earlytalker, no check */
	if (getenv("RELAYCLIENT") != NULL) {
		if (verbosity > 1)
			log_line("skip: relayclient");
		prog_exec(argv);
	}
	if (marked != NULL && *marked == '\0') {
		if (verbosity > 1)
			log_line("skip: exempt");
		prog_exec(argv);
	}
	if (marked != NULL && observe)
		observed(argv, marked);
	if (marked != NULL)
		respond(marked);
	relay(argv);
}
