/*
 * drive.c: earlytalker-wrap's relay (-D, -S) at work: it runs prog as a
 * child on a socketpair and moves the bytes both ways, unchanged, through
 * bounded buffers, with back-pressure; relay.c follows the session and
 * decides, and this acts on its verdict: the refusal of a client that
 * talked early, or the 421 when the relay has lost the thread.  Also
 * prog_exec(), which wrap.c execs prog with.
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

#include "drive.h"
#include "io.h"
#include "relay.h"
#include "scan.h"
#include "smtp.h"

#define CBUF 262144		/* relay: bytes buffered from the client */
#define PBUF 65536		/* relay: bytes buffered from prog */
#define FLUSH_MS 5000		/* relay: wait for replies owed, at the end */
#define IDLE_MS 1200000		/* relay: silence both ways, then end */
#define REAP_MS 10000		/* relay: prog's time to exit, then TERM */
#define LOST_MS 1000		/* relay: after lost sync, prog's time to
				 * end the session itself */
/* The relay's own replies (the responder's are in respond.c). */
#define LOSTREPLY "421 4.5.0 SMTP synchronization lost, closing connection\r\n"
#define EARLYREPLY "%s Client sent data before %s\r\n"	/* code, what */
#define EARLYTEMP "421 4.5.1"	/* -t */
#define EARLYPERM "554 5.5.1"	/* -p, the default */

static void unavailable(const char *) NORETURN;
static void finish(int, pid_t, const char *, int, long long) NORETURN;
static void relay_die(const char *, int, pid_t) NORETURN;
static void early(int, pid_t) NORETURN;
static void lost(int, pid_t) NORETURN;

static const struct drive_cf *cf;	/* the settings */

/* A system failure with the client on the line, before the relay has
 * started: tell it to come back, and close cleanly, so that a reset
 * never destroys the 421. */
static void
unavailable(const char *what)
{
	log_fatal("unable to %s: %s", what, strerror(errno));
	(void)signal(SIGPIPE, SIG_IGN);
	(void)reply(REPLY_TEMP);
	close_clean();
	exit(111);
}

/* Become prog; if it cannot be run, the client gets the 421.  wrap.c
 * execs prog with it too. */
void
prog_exec(char **argv)
{
	log_pass_on();	/* prog's fd 2 is never the client */
	(void)execvp(argv[0], argv);
	log_fatal("unable to run %s: %s", argv[0], strerror(errno));
	(void)signal(SIGPIPE, SIG_IGN);
	(void)reply(REPLY_TEMP);
	exit(111);
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
	relay_compact(&R, b);
	return read_some(fd, b->d, b->size, &b->len);
}

/* Write what is cleared: -1 if the reader is gone. */
static int
flush(int fd, struct rbuf *b)
{
	return write_some(fd, b->d, b->ok, &b->sent);
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
	status = reap(pid, REAP_MS);
	if (code == -1 && cf->verbosity > 1)
		log_line("done: status %d", status);
	exit(code == -1 ? status : code);
}

/* A system failure inside the relay: 421 to the client, in its place. */
static void
relay_die(const char *what, int s, pid_t pid)
{
	log_fatal("unable to %s: %s", what, strerror(errno));
	finish(s, pid, REPLY_TEMP "\r\n", 111, now_ms() + FLUSH_MS);
}

/* The early line, after "observe: " when observing. */
static void
early_log(const char *pfx)
{
	char esc[4 * SMTP_SAMPLE + 1], t[32];
	size_t n = R.c.len - R.early_from, k;

	k = n < SMTP_SAMPLE ? n : SMTP_SAMPLE;
	(void)smtp_escape(esc, sizeof esc, R.c.d + R.early_from, k);
	if (cf->verbosity > 0)
		log_line("%searly at %s: %lu bytes after %s s: \"%s%s\": "
		    "reject %s", pfx, R.early_at == RELAY_GREETING ?
		    "greeting" : smtp_verbname(R.early_at), (unsigned long)n,
		    elapsed(t, sizeof t, R.early_wait), esc,
		    n > k ? "..." : "", cf->temporary ? "421" : "554");
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

/*
 * The client talked before the reply to a command it must wait for.
 * Pass on prog's replies to the commands before that one (bounded), then
 * refuse, end the session and reap prog.  prog never sees the held line,
 * nor any byte that came after it.
 */
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
	(void)snprintf(line, sizeof line, EARLYREPLY,
	    cf->temporary ? EARLYTEMP : EARLYPERM, what);
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
		if (cf->verbosity > 0)
			log_line("lost sync: %s: \"%s\": prog closed",
			    R.lost_why, esc);
		finish(s, pid, NULL, 0, now_ms() + FLUSH_MS);
	}
	if (cf->verbosity > 0)
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

	if (cf->observe && R.early)
		early_log("observe: ");
	if (cf->observe && R.lost) {
		lost_sample(esc);
		if (cf->verbosity > 0)
			log_line("observe: lost sync: %s: \"%s\": reject 421",
			    R.lost_why, esc);
	}
	if (cf->observe && (R.early || R.lost))
		relay_blind(&R);
	if (R.early)
		early(s, pid);
	if (R.lost)
		lost(s, pid);
}

/* The relay's I/O: prog's end of the socketpair, and what can still
 * move. */
struct wire {
	int s;			/* our end of the socketpair with prog */
	pid_t pid;		/* prog */
	int cin;		/* 1: the client may send more */
	int pin;		/* 1: prog may send more */
	int shut;		/* 1: prog's input is shut */
	int owes;		/* 1: prog ended with a reply owed */
	long long last;		/* when bytes last came */
};

/* Read from the client once; or, with all, until nothing more is there:
 * all that it has sent by now. */
static void
read_client(struct wire *w, int all)
{
	ssize_t n;

	while (w->cin) {
		n = fill(0, &R.c);
		if (n == 0) {	/* nothing more comes */
			w->cin = 0;
			R.ceof = 1;
		}
		if (n <= 0 || !all)
			break;
	}
}

/* Scan what the client sent, and act on a verdict. */
static void
follow_client(const struct wire *w)
{
	(void)relay_client(&R, now_ms());
	decide(w->s, w->pid);
}

/* prog sent bytes, or ended. */
static void
from_prog(struct wire *w)
{
	ssize_t n = fill(w->s, &R.p);

	if (n == 0) {	/* prog is done: no more input */
		w->owes = relay_progeof(&R);
		w->pin = w->cin = 0;
		return;
	}
	if (n < 0)
		return;
	relay_prog(&R, now_ms());
	while (R.at354) {
		/* a byte the client sent before the 354 goes out was sent
		 * before it */
		read_client(w, 1);
		follow_client(w);
		relay_prog(&R, now_ms());
	}
	decide(w->s, w->pid);
	follow_client(w);
}

/* Start prog as a child on a socketpair: its fds 0 and 1 are one end,
 * w->s the other. */
static void
spawn(struct wire *w, char **argv)
{
	int sv[2];
	sigset_t none;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		unavailable("create socketpair");
	w->pid = fork();
	if (w->pid == -1)
		unavailable("fork");
	if (w->pid == 0) {
		/* prog gets what a tcpserver child gets: nothing of ours */
		(void)signal(SIGPIPE, SIG_DFL);
		(void)sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(sv[1], 0) == -1 || dup2(sv[1], 1) == -1) {
			/* not unavailable(): the client is the parent's */
			log_fatal("unable to set up fds for prog: %s",
			    strerror(errno));
			_exit(111);
		}
		(void)close(sv[0]);
		(void)close(sv[1]);
		prog_exec(argv);
	}
	(void)close(sv[1]);
	w->s = sv[0];
}

/* What to wait for (fill() makes room of the bytes sent), and how long:
 * the idle bound, or the relay's next deadline. */
static int
wanted(struct pollfd *p, const struct wire *w, long long now,
    long long next)
{
	long long timeout;

	p[0].fd = w->cin && R.c.len - R.c.sent < R.c.size ? 0 : -1;
	p[0].events = POLLIN;
	p[1].fd = R.p.ok > R.p.sent ? 1 : -1;
	p[1].events = POLLOUT;
	p[2].fd = w->s;
	p[2].events = (short)((w->pin && R.p.len - R.p.sent < R.p.size ?
	    POLLIN : 0) | (R.c.ok > R.c.sent ? POLLOUT : 0));
	if (p[2].events == 0)
		p[2].fd = -1;
	p[0].revents = p[1].revents = p[2].revents = 0;
	timeout = w->last + IDLE_MS - now;
	if (next != -1 && next - now < timeout)
		timeout = next - now;
	return timeout < 0 ? 0 : (int)timeout;
}

/* After poll(): read what came, the client first (what it sent by now
 * came before any reply read after), then write on at once what may go:
 * the fds do not block, and this saves a poll() per buffer. */
static void
move(struct wire *w, const struct pollfd *p)
{
	if (p[0].revents) {
		read_client(w, 0);
		follow_client(w);
	}
	if (p[2].revents & (POLLIN | POLLHUP | POLLERR))
		from_prog(w);
	if (R.c.ok > R.c.sent && flush(w->s, &R.c) == -1)
		relay_cdrop(&R);
	if (R.p.ok > R.p.sent && flush(1, &R.p) == -1) {
		relay_gone(&R);
		w->cin = 0;	/* the client is gone */
	}
}

/*
 * The relay (-D, -S): prog runs as a child on a socketpair; bytes go both
 * ways unchanged, through bounded buffers, with back-pressure.  relay.c
 * follows the client's stream (commands, body, BDAT chunks, TLS) as
 * prog's replies show it, and decides; this does the I/O.
 */
void
drive(const struct drive_cf *settings, char **argv)
{
	struct wire w;
	struct pollfd p[3];
	long long now, next;
	int r;

	cf = settings;
	memset(&w, 0, sizeof w);
	w.last = now_ms();
	w.cin = w.pin = 1;
	(void)signal(SIGPIPE, SIG_IGN);
	spawn(&w, argv);
	nonblock(w.s);
	nonblock(0);
	nonblock(1);
	R.c.d = cbd;
	R.c.size = CBUF;
	R.p.d = pbd;
	R.p.size = PBUF;
	R.datacheck = cf->datacheck;
	R.synccheck = cf->synccheck;
	R.data_ms = cf->data_ms;
	relay_init(&R, now_ms());

	while (w.pin || R.p.sent < R.p.len) {
		now = now_ms();
		/* a held line goes on; bytes after a lenient end go on */
		next = relay_tick(&R, now);
		(void)relay_client(&R, now);
		decide(w.s, w.pid);
		if (!w.cin && w.pin && !w.shut && R.c.sent == R.c.len &&
		    !R.holding && !R.lenient) {
			(void)shutdown(w.s, SHUT_WR);	/* pass on the EOF */
			w.shut = 1;
		}
		r = poll(p, 3, wanted(p, &w, now, next));
		if (r == -1 && errno != EINTR)
			relay_die("poll", w.s, w.pid);
		if (r > 0) {
			w.last = now_ms();
			move(&w, p);
		} else if (now_ms() >= w.last + IDLE_MS) {
			log_line("timeout: no data for %d s", IDLE_MS / 1000);
			break;
		}
	}
	if (w.owes)
		log_line("prog ended with a reply owed: 421");
	finish(w.s, w.pid, w.owes ? REPLY_TEMP "\r\n" : NULL, -1,
	    now_ms() + FLUSH_MS);
}

