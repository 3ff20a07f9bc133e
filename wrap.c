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
 * Observing (-o, or $EARLYTALKER_OBSERVE, which earlytalker -o sets): a
 * marked client is logged as "observe: marked:" and handed to prog; the
 * relay logs its verdict after "observe: " and lets all pass from there.
 * With -n, check() reads what a run would read and runs nothing.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
#define USAGE "earlytalker-wrap [ -SVmnopqtv ] [ -D seconds ] [ -T seconds ] " \
	"[ -h host ] [ -i seconds ] prog [ arg ... ]"
#define MAXCOMMANDS 20		/* responder: commands, then 421 */
#define CBUF 262144		/* relay: bytes buffered from the client */
#define PBUF 65536		/* relay: bytes buffered from prog */
#define FLUSH_MS 5000		/* relay: wait for replies owed, at the end */
#define IDLE_MS 1200000		/* relay: silence both ways, then end */
#define REAP_MS 10000		/* relay: prog's time to exit, then TERM */
#define LOST_MS 1000		/* relay: after lost sync, prog's time to
				 * end the session itself */
#define LOSTREPLY "421 4.5.0 SMTP synchronization lost, closing connection\r\n"
#define FIELD 250		/* responder: escaped bytes of a log field */

static void usage(int, const char *, const char *) NORETURN;
static void die_temp(const char *) NORETURN;
static void run(char **) NORETURN;
static void bye(const char *) NORETURN;
static void responder(const char *) NORETURN;
static void relay(char **) NORETURN;
static void finish(int, pid_t, const char *, int, long long) NORETURN;
static void relay_die(const char *, int, pid_t) NORETURN;
static void early(int, pid_t) NORETURN;
static void lost(int, pid_t) NORETURN;
static void check(char **) NORETURN;

static int temporary;		/* 1: -t, 421 at DATA; 0: -p, 554 */
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

/* A system failure with the client on the line: tell it to come back,
 * and close cleanly, so that a reset never destroys the 421. */
static void
die_temp(const char *what)
{
	log_fatal("unable to %s: %s", what, strerror(errno));
	(void)signal(SIGPIPE, SIG_IGN);
	(void)reply(REPLY_TEMP);
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
	(void)reply(REPLY_TEMP);
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

static void
blocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl != -1)
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
}

/* Milliseconds from now to deadline, for poll(): 0 once it has passed. */
static int
until(long long deadline)
{
	long long t = deadline - now_ms();

	return t < 0 ? 0 : t > IDLE_MS ? IDLE_MS : (int)t;
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

/* Write what is cleared in b to fd, waiting at most until deadline. */
static void
drain(int fd, struct rbuf *b, long long deadline)
{
	struct pollfd p;

	while (b->sent < b->ok && now_ms() < deadline) {
		p.fd = fd;
		p.events = POLLOUT;
		(void)poll(&p, 1, until(deadline));
		if (flush(fd, b) == -1)
			return;
	}
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

/*
 * The end of a relayed session: what is cleared goes to the client, then
 * line if there is one (the relay's own last reply, after prog's whole
 * replies, if the client took those: bounded, so that a client that reads
 * nothing cannot hold the session), a clean close, prog's input shut and
 * prog reaped.  Exit code, or prog's status if code is -1.  What is
 * cleared goes out until deadline; the line, once that went, has
 * FLUSH_MS of its own.
 */
static void
finish(int s, pid_t pid, const char *line, int code, long long deadline)
{
	int status;

	drain(1, &R.p, deadline);
	if (line != NULL && relay_last(&R, line) == 0)
		drain(1, &R.p, now_ms() + FLUSH_MS);
	blocking(0);
	blocking(1);
	close_clean();
	(void)shutdown(s, SHUT_RDWR);
	status = reap(pid);
	if (code == -1 && verbosity > 1)
		log_line("done: status %d", status);
	exit(code == -1 ? status : code);
}

/* A system failure inside the relay: 421 to the client, in its place. */
static void
relay_die(const char *what, int s, pid_t pid)
{
	log_fatal("unable to %s: %s", what, strerror(errno));
	finish(s, pid, REPLY_TEMP "\r\n", 111,
	    now_ms() + FLUSH_MS);
}

/*
 * The client talked before the reply to a command it must wait for.
 * Pass on prog's replies to the commands before that one (bounded), then
 * refuse, end the session and reap prog.  prog never sees the held line,
 * nor any byte that came after it.
 */
/* The early line, after "observe: " when observing. */
static void
early_log(const char *pfx)
{
	char esc[4 * SMTP_SAMPLE + 1], t[32];
	size_t n = R.c.len - R.early_from, k;

	k = n < SMTP_SAMPLE ? n : SMTP_SAMPLE;
	(void)smtp_escape(esc, sizeof esc, R.c.d + R.early_from, k);
	if (verbosity > 0)
		log_line("%searly at %s: %lu bytes after %s s: \"%s%s\": "
		    "reject %s", pfx, R.early_at == RELAY_GREETING ?
		    "greeting" : smtp_verbname(R.early_at), (unsigned long)n,
		    elapsed(t, sizeof t, R.early_wait), esc,
		    n > k ? "..." : "", temporary ? "421" : "554");
}

/* The first line of the reply that lost the thread, escaped, into esc
 * (4 * SMTP_SAMPLE + 1 bytes). */
static void
lost_sample(char *esc)
{
	const char *eol;
	size_t k = R.p.scanned - R.p.ok;

	eol = memchr(R.p.d + R.p.ok, '\n', k);
	if (eol != NULL)
		k = (size_t)(eol - (R.p.d + R.p.ok)) + 1;
	if (k > SMTP_SAMPLE)
		k = SMTP_SAMPLE;
	(void)smtp_escape(esc, 4 * SMTP_SAMPLE + 1, R.p.d + R.p.ok, k);
}

static void
early(int s, pid_t pid)
{
	char what[40], line[100];
	long long deadline = now_ms() + FLUSH_MS;
	struct pollfd p;

	early_log("");
	if (R.early_at == V_DATA)
		(void)snprintf(what, sizeof what, "the 354 response");
	else if (R.early_at == RELAY_GREETING)
		(void)snprintf(what, sizeof what, "the greeting");
	else
		(void)snprintf(what, sizeof what, "the reply to %s",
		    smtp_verbname(R.early_at));
	/* the commands before go on to prog; then it sees the end */
	drain(s, &R.c, deadline);
	(void)shutdown(s, SHUT_WR);
	/* pass on the replies prog owes for the commands before, no more */
	while (relay_owed(&R) > 0 && now_ms() < deadline) {
		drain(1, &R.p, deadline);
		p.fd = s;
		p.events = POLLIN;
		if (poll(&p, 1, until(deadline)) > 0 && fill(s, &R.p) == 0)
			break;
	}
	(void)snprintf(line, sizeof line, "%s Client sent data before %s\r\n",
	    temporary ? "421 4.5.1" : "554 5.5.1", what);
	/* after prog's own 421 or 221, the session is over: no more */
	finish(s, pid, R.lastcode == 421 || R.lastcode == 221 ? NULL : line,
	    0, deadline);
}

/*
 * prog replied where the relay cannot follow it: inside a message or a
 * chunk, or with more replies than commands.  Nothing more goes on.  If
 * prog ends the session now (qmail-smtpd's 451 at a bare LF does), its
 * last words go to the client; otherwise the client gets 421 4.5.0.
 */
static void
lost(int s, pid_t pid)
{
	char esc[4 * SMTP_SAMPLE + 1];
	long long deadline = now_ms() + LOST_MS;
	struct pollfd p;
	ssize_t n = -1;

	lost_sample(esc);	/* before fill() moves the buffer */
	drain(1, &R.p, deadline);	/* the whole replies before */
	while (n != 0 && now_ms() < deadline) {
		p.fd = s;
		p.events = POLLIN;
		if (poll(&p, 1, until(deadline)) > 0)
			n = fill(s, &R.p);
		if (n == -1 && R.p.len == R.p.size)
			break;	/* it goes on talking */
	}
	if (n == 0) {
		(void)relay_progeof(&R);
		if (verbosity > 0)
			log_line("lost sync: %s: \"%s\": prog closed",
			    R.lost_why, esc);
		finish(s, pid, NULL, 0, now_ms() + FLUSH_MS);
	}
	if (verbosity > 0)
		log_line("lost sync: %s: \"%s\": reject 421", R.lost_why, esc);
	finish(s, pid, LOSTREPLY, 0, deadline);
}

/*
 * After each step of the relay: a verdict ends the session.  When
 * observing, it is logged after "observe: ", and the relay lets all pass,
 * unread, to the end: the client goes on as without the relay.
 */
static void
decide(int s, pid_t pid)
{
	char esc[4 * SMTP_SAMPLE + 1];

	if (observe && R.early)
		early_log("observe: ");
	if (observe && R.lost) {
		lost_sample(esc);
		if (verbosity > 0)
			log_line("observe: lost sync: %s: \"%s\": reject 421",
			    R.lost_why, esc);
	}
	if (observe && (R.early || R.lost))
		relay_blind(&R);
	if (R.early)
		early(s, pid);
	if (R.lost)
		lost(s, pid);
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
 * The relay (-D, -S): prog runs as a child on a socketpair; bytes go both
 * ways unchanged, through bounded buffers, with back-pressure.  relay.c
 * follows the client's stream (commands, body, BDAT chunks, TLS) as
 * prog's replies show it, and decides; this does the I/O.
 */
static void
relay(char **argv)
{
	struct pollfd p[3];
	long long last = now_ms(), timeout, now, next;
	int sv[2], cin = 1, pin = 1, shut = 0, owes = 0, r;
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
		/* a held line goes on; bytes after a lenient end go on */
		next = relay_tick(&R, now);
		(void)relay_client(&R, now);
		decide(sv[0], pid);
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
			relay_die("poll", sv[0], pid);
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
			(void)relay_client(&R, now_ms());
			decide(sv[0], pid);
		}
		if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = fill(sv[0], &R.p);
			if (n == 0) {	/* prog is done: no more input */
				owes = relay_progeof(&R);
				pin = cin = 0;
			} else if (n > 0) {
				relay_prog(&R, now_ms());
				while (R.at354) {
					/* a byte the client sent before the
					 * 354 goes out was sent before it */
					read_client(&cin, 1);
					(void)relay_client(&R, now_ms());
					decide(sv[0], pid);
					relay_prog(&R, now_ms());
				}
				decide(sv[0], pid);
				(void)relay_client(&R, now_ms());
				decide(sv[0], pid);
			}
		}
		/* write on at once what came: the fds do not block, and
		 * this saves a poll() per buffer */
		if (R.c.ok > R.c.sent && flush(sv[0], &R.c) == -1)
			relay_cdrop(&R);
		if (R.p.ok > R.p.sent && flush(1, &R.p) == -1) {
			relay_gone(&R);
			cin = 0;	/* the client is gone */
		}
	}
	if (owes)
		log_line("prog ended with a reply owed: 421");
	finish(sv[0], pid, owes ?
	    REPLY_TEMP "\r\n" : NULL, -1,
	    now_ms() + FLUSH_MS);
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
			if (opt_seconds(optarg, 60000, &data_ms) == -1)
				usage(opt, optarg, "not seconds from 0 to 60");
			datacheck = 1;
			break;
		case 'S': synccheck = 1; break;
		case 'T':
			if (opt_seconds(optarg, 3600000, &session_ms) == -1 ||
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
			if (opt_seconds(optarg, 3600000, &idle_ms) == -1 ||
			    idle_ms < 100)
				usage(opt, optarg,
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
		    mailreject ? (perm ? "550 5.7.1" : "451 4.7.1") :
		    (perm ? "550 5.7.1" : "450 4.7.1"),
		    mailreject ? "MAIL" : "RCPT");
	(void)unsetenv("EARLYTALKER");
	run(argv);
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
		run(argv);	/* the common case costs one exec */

	peer_ip(ip, sizeof ip);
	log_init(PROG, ip);
	env_observe();
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
		if (observe)
			observed(argv, marked);
		if (host[0] == '\0')
			local_host(host, sizeof host);
		responder(marked);
	}
	log_pass_on();	/* prog's fd 2 is never the client */
	relay(argv);
}
