/* wrap.c: earlytalker-wrap, the second half of a defer chain.
 *
 * After "earlytalker -d", run in front of the SMTP server:
 *   $EARLYTALKER unset or empty, no -D: exec prog.  Nothing else happens.
 *   $EARLYTALKER non-empty: the responder.  Speak SMTP here, see who the
 *     client claims to be and whom it writes to, and refuse every
 *     recipient (or, with -m, the sender).  prog never runs.
 *   -D seconds: the DATA check.  Run prog as a child on a socketpair and
 *     relay the session, following the protocol.  A client that sends
 *     anything after DATA before the 354 reply is refused.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "relay.h"
#include "smtp.h"
#include "version.h"

#define PROG "earlytalker-wrap"
#define USAGE "earlytalker-wrap [ -SVmpqtv ] [ -D seconds ] [ -T seconds ] " \
	"[ -h host ] [ -i seconds ] prog [ arg ... ]"
#define MAXCOMMANDS 20		/* responder: commands, then 421 */
#define CBUF 262144		/* relay: bytes buffered from the client */
#define PBUF 65536		/* relay: bytes buffered from prog */
#define FLUSH_MS 5000		/* relay: wait for replies owed, at the end */
#define IDLE_MS 1200000		/* relay: silence both ways, then end */
#define REAP_MS 10000		/* relay: prog's time to exit, then TERM */
#define FIELD 250		/* responder: escaped bytes of a log field */

static void usage(int, const char *, const char *) NORETURN;
static void die_temp(const char *) NORETURN;
static void run(char **) NORETURN;
static void bye(const char *) NORETURN;
static void responder(const char *) NORETURN;
static void relay(char **) NORETURN;

static int temporary;		/* 1: -t, 421 at DATA; 0: -p, 554 */
static int mailreject;		/* 1: -m, refuse at MAIL; 0: at RCPT */
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

/* A system failure with the client on the line: tell it to come back,
 * and close cleanly, so that a reset never destroys the 421. */
static void
die_temp(const char *what)
{
	log_fatal("unable to %s: %s", what, strerror(errno));
	(void)signal(SIGPIPE, SIG_IGN);
	(void)reply("421 4.3.0 Service temporarily unavailable");
	close_clean();
	exit(111);
}

static void
run(char **argv)
{
	log_pass_on();	/* prog's fd 2 is never the client */
	(void)execvp(argv[0], argv);
	log_fatal("unable to run %s: %s", argv[0], strerror(errno));
	(void)signal(SIGPIPE, SIG_IGN);
	(void)reply("421 4.3.0 Service temporarily unavailable");
	exit(111);
}

/* The last reply of a session, a clean close, exit 0. */
static void
bye(const char *line)
{
	(void)reply(line);
	close_clean();
	exit(0);
}

/*
 * The responder.  Greets, accepts HELO, EHLO and MAIL, and refuses every
 * recipient with the text of $EARLYTALKER (or the sender, with -m).
 * Bounded: MAXCOMMANDS commands, -T seconds, and after each reply a
 * silence of -i seconds and two round trips (silence_ms()): a client
 * that has gone quiet is let go, a far one that answers is not.  As in
 * postscreen, whose limit of 20 commands this is, every mail is refused
 * here, so junk and errors need no bound of their own.
 */
static void
responder(const char *marked)
{
	char text[SMTP_TEXTMAX + 1], buf[SMTP_TEXTMAX + 64];
	char helo[FIELD + 1] = "", from[FIELD + 1] = "", to[FIELD + 1];
	const char *code, *mailcode, *arg, *addr;
	struct input in;
	struct smtp_line l;
	long long deadline = now_ms() + (long long)session_ms, quiet;
	int commands = 0, havemail = 0, st, err;
	size_t n;

	(void)signal(SIGPIPE, SIG_IGN);	/* no exec follows */
	/* RFC 5321 section 4.3.2: 450 is for RCPT; MAIL takes 451 */
	if (smtp_marked(text, sizeof text, marked)) {
		code = "550 5.7.1";
		mailcode = "550 5.7.1";
	} else {
		code = "450 4.7.1";
		mailcode = "451 4.7.1";
	}
	memset(&in, 0, sizeof in);
	memset(&l, 0, sizeof l);
	(void)snprintf(buf, sizeof buf, "220 %s ESMTP", host);
	if (reply(buf) == -1)
		exit(0);

	for (;;) {
		(void)snprintf(buf, sizeof buf,
		    "421 4.7.0 %s closing connection", host);
		if (commands >= MAXCOMMANDS)
			bye(buf);
		quiet = now_ms() + silence_ms((long long)idle_ms);
		st = next_line(&in, &l, quiet < deadline ? quiet : deadline);
		if (st == IN_TIMEOUT)
			bye(buf);
		if (st != LINE_OK && st != LINE_LONG)
			exit(0);	/* the client left */
		commands++;
		if (st == LINE_LONG) {
			(void)reply("500 5.5.2 Line too long");
			continue;
		}
		switch (smtp_verb(l.buf, l.len, &arg)) {
		case V_HELO:
			(void)smtp_escape(helo, sizeof helo, arg,
			    l.len - (size_t)(arg - l.buf));
			(void)snprintf(buf, sizeof buf, "250 %s", host);
			err = reply(buf);
			break;
		case V_EHLO:
			(void)smtp_escape(helo, sizeof helo, arg,
			    l.len - (size_t)(arg - l.buf));
			(void)snprintf(buf, sizeof buf, "250-%s\r\n"
			    "250-PIPELINING\r\n250 8BITMIME", host);
			err = reply(buf);
			break;
		case V_MAIL:
			if (havemail) {	/* the log keeps the first sender */
				err = reply("503 5.5.1 Nested MAIL command");
				break;
			}
			addr = smtp_addr(arg, &n);
			(void)smtp_escape(from, sizeof from, addr, n);
			if (mailreject) {
				(void)snprintf(buf, sizeof buf, "%s %s",
				    mailcode, text);
				err = reply(buf);
				if (verbosity > 0)
					log_line("reject: helo=<%s> from=<%s>:"
					    " %s", helo, from, mailcode);
			} else {
				havemail = 1;
				err = reply("250 2.1.0 Ok");
			}
			break;
		case V_RCPT:
			if (!havemail) {
				err = reply("503 5.5.1 MAIL first");
				break;
			}
			addr = smtp_addr(arg, &n);
			(void)smtp_escape(to, sizeof to, addr, n);
			(void)snprintf(buf, sizeof buf, "%s %s", code, text);
			err = reply(buf);
			if (verbosity > 0)
				log_line("reject: helo=<%s> from=<%s> to=<%s>: "
				    "%s", helo, from, to, code);
			break;
		case V_DATA:
			err = reply("503 5.5.1 No valid recipients");
			break;
		case V_BDAT:	/* its chunk cannot be told from commands */
			bye("503 5.5.1 No valid recipients");
		case V_RSET:
			havemail = 0;
			err = reply("250 2.0.0 Ok");
			break;
		case V_NOOP:
			err = reply("250 2.0.0 Ok");
			break;
		case V_QUIT:
			(void)snprintf(buf, sizeof buf, "221 2.0.0 %s closing",
			    host);
			bye(buf);
		case V_VRFY:
			err = reply("252 2.0.0 Cannot VRFY user");
			break;
		case V_HELP:
			err = reply("214 2.0.0 See RFC 5321");
			break;
		case V_STARTTLS:
			err = reply("454 4.7.0 TLS not available");
			break;
		case V_AUTH: case V_ETRN: case V_EXPN:
			err = reply("502 5.5.1 Command not implemented");
			break;
		default:
			err = reply("502 5.5.2 Command not recognized");
		}
		if (err == -1)
			exit(0);	/* the client left */
	}
}

/* The relay: its state, and the buffers it points to. */
static char cbd[CBUF], pbd[PBUF];
static struct relay R;

static void
nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl != -1)
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Read into a buffer: bytes read, 0 at end of file, -1 if nothing now. */
static ssize_t
fill(int fd, struct rbuf *b)
{
	ssize_t r;

	relay_compact(&R, b);
	if (b->len == b->size)
		return -1;	/* no room: not an end of file */
	r = read(fd, b->d + b->len, b->size - b->len);
	if (r > 0)
		b->len += (size_t)r;
	if (r == -1 && (errno == EINTR || errno == EAGAIN))
		return -1;
	return r == -1 ? 0 : r;
}

/* Write what is cleared: -1 if the reader is gone. */
static int
flush(int fd, struct rbuf *b)
{
	ssize_t w;

	if (b->ok <= b->sent)
		return 0;
	w = write(fd, b->d + b->sent, b->ok - b->sent);
	if (w > 0)
		b->sent += (size_t)w;
	if (w == -1 && errno != EINTR && errno != EAGAIN)
		return -1;
	return 0;
}

/*
 * Wait for prog to end, bounded: REAP_MS, then SIGTERM, then SIGKILL.
 * Its input is shut by now, so it is usually gone within a millisecond;
 * the naps between looks grow, so a slow prog costs few wakeups.
 * Returns the exit status to pass on.
 */
static int
reap(pid_t pid)
{
	long long deadline = now_ms() + REAP_MS;
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

/* Write what is cleared to the client, waiting at most until deadline. */
static void
drain_out(long long deadline)
{
	struct pollfd p;

	while (R.p.sent < R.p.ok && now_ms() < deadline) {
		p.fd = 1;
		p.events = POLLOUT;
		(void)poll(&p, 1, 100);
		if (flush(1, &R.p) == -1)
			return;
	}
}

/* The last reply, cleared to go after all before it, bounded in time. */
static void
last_reply(const char *line)
{
	size_t k = strlen(line);

	if (R.p.sent != R.p.ok)
		return;	/* the client took not even those */
	memcpy(R.p.d, line, k);
	R.p.len = R.p.ok = R.p.scanned = k;
	R.p.sent = 0;
	drain_out(now_ms() + FLUSH_MS);
}

/*
 * The client talked before the reply to a command it must wait for.
 * Pass on prog's replies to the commands before that one (bounded), then
 * refuse, end the session and reap prog.  prog never sees the held DATA,
 * nor any byte that came after it.
 */
static void
early(int s, pid_t pid)
{
	char esc[4 * SMTP_SAMPLE + 1], t[32], what[40];
	size_t n = R.c.len - R.early_from, k;
	long long deadline = now_ms() + FLUSH_MS;
	size_t owed = R.owed;
	struct smtp_rline rl;
	struct pollfd p;
	ssize_t r;

	k = n < SMTP_SAMPLE ? n : SMTP_SAMPLE;
	(void)smtp_escape(esc, sizeof esc, R.c.d + R.early_from, k);
	if (verbosity > 0)
		log_line("early at %s: %lu bytes after %s s: \"%s%s\": "
		    "reject %s", R.early_at == RELAY_GREETING ? "greeting" :
		    smtp_verbname(R.early_at), (unsigned long)n,
		    elapsed(t, sizeof t, R.early_wait), esc,
		    n > k ? "..." : "", temporary ? "421" : "554");
	if (R.early_at == V_DATA)
		(void)snprintf(what, sizeof what, "the 354 response");
	else if (R.early_at == RELAY_GREETING)
		(void)snprintf(what, sizeof what, "the greeting");
	else
		(void)snprintf(what, sizeof what, "the reply to %s",
		    smtp_verbname(R.early_at));
	/* the commands before go on to prog; then it sees the end */
	while (R.c.sent < R.c.ok && now_ms() < deadline) {
		p.fd = s;
		p.events = POLLOUT;
		(void)poll(&p, 1, 100);
		if (flush(s, &R.c) == -1)
			break;
	}
	(void)shutdown(s, SHUT_WR);
	/* pass on the replies prog owes for the commands before, no more;
	 * relay_prog() has scanned up to R.p.scanned */
	while (owed > 0 && now_ms() < deadline) {
		while (R.p.scanned < R.p.len && owed > 0) {
			R.p.scanned += smtp_rscan(&R.rs, R.p.d + R.p.scanned,
			    R.p.len - R.p.scanned, &rl);
			if (rl.code != 0 && rl.final) {
				R.p.ok = R.p.scanned;
				owed -= rl.code > 0;
			}
		}
		if (R.p.len == R.p.size && R.p.ok == R.p.sent)
			R.p.ok = R.p.scanned = R.p.len;	/* in pieces */
		drain_out(deadline);
		if (owed == 0)
			break;
		p.fd = s;
		p.events = POLLIN;
		if (poll(&p, 1, (int)(deadline - now_ms())) <= 0)
			continue;
		r = fill(s, &R.p);
		if (r == 0)
			break;
	}
	drain_out(deadline);
	/* then the refusal, after the last whole reply, if the client took
	 * those: bounded as well, so that a client that reads nothing
	 * cannot hold the session */
	(void)snprintf(esc, sizeof esc, "%s Client sent data before %s\r\n",
	    temporary ? "421 4.5.1" : "554 5.5.1", what);
	last_reply(esc);
	close_clean();
	(void)shutdown(s, SHUT_RDWR);
	(void)reap(pid);
	exit(0);
}

/* Read from the client once; or, with all, until nothing more is there:
 * all that it has sent by now. */
static void
read_client(int *cin, int all)
{
	ssize_t n;

	while (*cin) {
		n = fill(0, &R.c);
		if (n == 0) {	/* nothing more comes */
			*cin = 0;
			R.ceof = 1;
		}
		if (n <= 0 || !all)
			break;
	}
}

/*
 * The DATA check: prog runs as a child on a socketpair; bytes go both ways
 * unchanged, through bounded buffers, with back-pressure.  relay.c follows
 * the client's stream (commands, body, BDAT chunks, TLS) as prog's replies
 * show it, so that no message byte is taken for a command.
 */
static void
relay(char **argv)
{
	struct pollfd p[3];
	long long last = now_ms(), timeout, now, next;
	int sv[2], cin = 1, pin = 1, shut = 0, owes = 0, warned = 0;
	int status, r;
	pid_t pid;
	ssize_t n;
	sigset_t none;

	(void)signal(SIGPIPE, SIG_IGN);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		die_temp("create socketpair");
	pid = fork();
	if (pid == -1)
		die_temp("fork");
	if (pid == 0) {
		/* prog gets what a tcpserver child gets: nothing of ours */
		(void)signal(SIGPIPE, SIG_DFL);
		(void)sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(sv[1], 0) == -1 || dup2(sv[1], 1) == -1) {
			/* not die_temp(): the client is the parent's */
			log_fatal("unable to set up fds for prog: %s",
			    strerror(errno));
			_exit(111);
		}
		(void)close(sv[0]);
		(void)close(sv[1]);
		run(argv);
	}
	(void)close(sv[1]);
	nonblock(sv[0]);
	nonblock(0);
	nonblock(1);
	R.c.d = cbd;
	R.c.size = CBUF;
	R.p.d = pbd;
	R.p.size = PBUF;
	R.datacheck = datacheck;
	R.synccheck = synccheck;
	R.data_ms = data_ms;
	relay_init(&R, now_ms());

	while (pin || R.p.sent < R.p.len) {
		now = now_ms();
		/* a held DATA goes on; bytes after a lenient end go on */
		next = relay_tick(&R, now);
		if (relay_client(&R, now))
			early(sv[0], pid);
		if (!cin && pin && !shut && R.c.sent == R.c.len &&
		    !R.holding && !R.lenient) {
			(void)shutdown(sv[0], SHUT_WR);	/* pass on the EOF */
			shut = 1;
		}
		/* what to wait for; fill() makes room of the bytes sent */
		p[0].fd = cin && R.c.len - R.c.sent < R.c.size ? 0 : -1;
		p[0].events = POLLIN;
		p[1].fd = R.p.ok > R.p.sent ? 1 : -1;
		p[1].events = POLLOUT;
		p[2].fd = sv[0];
		p[2].events = (short)((pin && R.p.len - R.p.sent < R.p.size ?
		    POLLIN : 0) | (R.c.ok > R.c.sent ? POLLOUT : 0));
		if (p[2].events == 0)
			p[2].fd = -1;
		p[0].revents = p[1].revents = p[2].revents = 0;
		timeout = last + IDLE_MS - now;
		if (next != -1 && next - now < timeout)
			timeout = next - now;
		if (timeout < 0)
			timeout = 0;
		r = poll(p, 3, (int)timeout);
		if (r == -1 && errno != EINTR)
			die_temp("poll");
		if (r <= 0) {
			if (now_ms() >= last + IDLE_MS) {
				log_line("timeout: no data for %d s",
				    IDLE_MS / 1000);
				break;
			}
			continue;
		}
		last = now_ms();
		/* the client first: what it sent by now came before any
		 * reply read below */
		if (p[0].revents) {
			read_client(&cin, 0);
			if (relay_client(&R, now_ms()))
				early(sv[0], pid);
		}
		if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = fill(sv[0], &R.p);
			if (n == 0) {	/* prog is done: no more input */
				owes = relay_owes(&R);
				pin = cin = 0;
				R.p.ok = R.p.scanned = R.p.len;
				relay_cdrop(&R);
			} else if (n > 0) {
				relay_prog(&R, now_ms());
				while (R.at354) {
					/* a byte the client sent before the
					 * 354 goes out was sent before it */
					read_client(&cin, 1);
					if (relay_client(&R, now_ms()))
						early(sv[0], pid);
					relay_prog(&R, now_ms());
				}
				if (R.resynced && !warned++)
					log_line("warning: prog ended a message "
					    "where the relay saw no end");
				if (relay_client(&R, now_ms()))
					early(sv[0], pid);
			}
		}
		/* write on at once what came: the fds do not block, and
		 * this saves a poll() per buffer */
		if (R.c.ok > R.c.sent && flush(sv[0], &R.c) == -1)
			relay_cdrop(&R);
		if (R.p.ok > R.p.sent && flush(1, &R.p) == -1) {
			R.p.ok = R.p.sent = R.p.len = R.p.scanned = 0;
			cin = 0;	/* the client is gone */
			relay_cdrop(&R);
		}
	}
	if (owes) {
		log_line("prog ended with a reply owed: 421");
		last_reply("421 4.3.0 Service temporarily unavailable\r\n");
	}
	(void)fcntl(1, F_SETFL, fcntl(1, F_GETFL) & ~O_NONBLOCK);
	(void)fcntl(0, F_SETFL, fcntl(0, F_GETFL) & ~O_NONBLOCK);
	close_clean();
	(void)shutdown(sv[0], SHUT_RDWR);
	status = reap(pid);
	if (verbosity > 1)
		log_line("done: status %d", status);
	exit(status);
}

int
main(int argc, char **argv)
{
	const char *marked;
	char ip[300];
	int opt;

	opterr = 0;	/* usage() says what is wrong */
	while ((opt = getopt(argc, argv, "+:D:ST:Vh:i:mpqtv")) != -1) {
		switch (opt) {
		case 'D':
			if (smtp_seconds(optarg, 60000, &data_ms) == -1)
				usage(opt, optarg, "not seconds from 0 to 60");
			datacheck = 1;
			break;
		case 'S': synccheck = 1; break;
		case 'T':
			if (smtp_seconds(optarg, 3600000, &session_ms) == -1 ||
			    session_ms < 1000)
				usage(opt, optarg,
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
			if (smtp_seconds(optarg, 3600000, &idle_ms) == -1 ||
			    idle_ms < 100)
				usage(opt, optarg,
				    "not seconds from 0.1 to 3600");
			break;
		case 'm': mailreject = 1; break;
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

	log_init(PROG, NULL);	/* the address, if a line needs it */
	marked = getenv("EARLYTALKER");
	if ((marked == NULL || *marked == '\0') && !datacheck && !synccheck)
		run(argv);	/* the common case costs one exec */

	peer_ip(ip, sizeof ip);
	log_init(PROG, ip);
	/* trusted or exempt: as earlytalker, no check */
	if (getenv("RELAYCLIENT") != NULL) {
		if (verbosity > 1)
			log_line("skip: relayclient");
		run(argv);
	}
	if (marked != NULL && *marked == '\0') {
		if (verbosity > 1)
			log_line("skip: exempt");
		run(argv);
	}
	if (marked != NULL) {
		if (host[0] == '\0')
			local_host(host, sizeof host);
		responder(marked);
	}
	log_pass_on();	/* prog's fd 2 is never the client */
	relay(argv);
}
