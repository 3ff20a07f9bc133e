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
#include "smtp.h"

#define PROG "earlytalker-wrap"
#define USAGE "earlytalker-wrap [ -Smpqtv ] [ -D seconds ] [ -T seconds ] " \
	"[ -h host ] prog [ arg ... ]"
#define MAXERRORS 20		/* responder: error replies, then 421 */
#define MAXCOMMANDS 100		/* responder: commands, then 421 */
#define CBUF 262144		/* relay: bytes buffered from the client */
#define PBUF 65536		/* relay: bytes buffered from prog */
#define QUEUE 128		/* relay: commands awaiting a reply */
#define FLUSH_MS 5000		/* relay: wait for replies owed, at the end */
#define IDLE_MS 1200000		/* relay: silence both ways, then end */
#define REAP_MS 10000		/* relay: prog's time to exit, then TERM */
#define GREETING (-2)		/* relay: the queue entry of the greeting */
#define FIELD 250		/* responder: escaped bytes of a log field */

static void die_usage(void) NORETURN;
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
static char host[SMTP_TEXTMAX + 1];	/* our name in replies */

static void
die_usage(void)
{
	(void)write_all(2, "usage: " USAGE "\n", sizeof "usage: " USAGE);
	exit(100);
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
 * Bounded: MAXERRORS error replies, MAXCOMMANDS commands, -T seconds.
 */
static void
responder(const char *marked)
{
	char text[SMTP_TEXTMAX + 1], buf[SMTP_TEXTMAX + 64];
	char helo[FIELD + 1] = "", from[FIELD + 1] = "", to[FIELD + 1];
	const char *code, *mailcode, *arg, *addr;
	struct input in;
	struct smtp_line l;
	long long deadline = now_ms() + (long long)session_ms;
	int commands = 0, errors = 0, havemail = 0, st, err;
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
		if (errors >= MAXERRORS || commands >= MAXCOMMANDS)
			bye(buf);
		st = next_line(&in, &l, deadline);
		if (st == IN_TIMEOUT)
			bye(buf);
		if (st != LINE_OK && st != LINE_LONG)
			exit(0);	/* the client left */
		commands++;
		err = 1;
		if (st == LINE_LONG) {
			(void)reply("500 5.5.2 Line too long");
			errors++;
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
				(void)reply("503 5.5.1 Nested MAIL command");
				errors++;
				break;
			}
			addr = smtp_addr(arg, &n);
			(void)smtp_escape(from, sizeof from, addr, n);
			if (mailreject) {
				(void)snprintf(buf, sizeof buf, "%s %s",
				    mailcode, text);
				(void)reply(buf);
				errors++;
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
				(void)reply("503 5.5.1 MAIL first");
				errors++;
				break;
			}
			addr = smtp_addr(arg, &n);
			(void)smtp_escape(to, sizeof to, addr, n);
			(void)snprintf(buf, sizeof buf, "%s %s", code, text);
			(void)reply(buf);
			errors++;
			if (verbosity > 0)
				log_line("reject: helo=<%s> from=<%s> to=<%s>: "
				    "%s", helo, from, to, code);
			break;
		case V_DATA:
			(void)reply("503 5.5.1 No valid recipients");
			errors++;
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
			(void)reply("454 4.7.0 TLS not available");
			errors++;
			break;
		case V_AUTH: case V_ETRN: case V_EXPN:
			(void)reply("502 5.5.1 Command not implemented");
			errors++;
			break;
		default:
			(void)reply("502 5.5.2 Command not recognized");
			errors++;
		}
		if (err == -1)
			exit(0);	/* the client left */
	}
}

/* The relay's state: the client's stream, prog's stream, what is owed. */
struct buf {
	char *d;
	size_t size;		/* of d */
	size_t len;		/* bytes in d */
	size_t sent;		/* of them, written on */
	size_t ok;		/* of them, cleared to be written on */
};

static char cbd[CBUF], pbd[PBUF];
static struct buf cb = { cbd, CBUF, 0, 0, 0 };	/* client to prog */
static struct buf pb = { pbd, PBUF, 0, 0, 0 };	/* prog to client */
static struct smtp_client cs;	/* the client's stream */
static struct smtp_reply rs;	/* prog's stream */
static size_t scanned;		/* bytes of cb scanned by smtp_cscan */
static int queue[QUEUE];	/* commands sent to prog, awaiting replies */
static size_t qhead, qlen;
static int holding;		/* a DATA line is held in cb[ok..scanned) */
static long long hold_end;	/* when the held DATA goes on to prog */
static int watching = -1;	/* verb whose reply the client must await */
static long long watch_start;	/* when that command came */
static int starttls;		/* STARTTLS sent on, reply not seen yet */
static int blind;		/* after 220 to STARTTLS: no parsing */
static int pipelining;		/* prog offered PIPELINING in its EHLO reply */
static int ceof;		/* the client sent its end of file */

/* scan_client() stops before the queue overflows: it always has room. */
static void
enqueue(int verb)
{
	queue[(qhead + qlen++) % QUEUE] = verb;
}

/* Move the bytes written on out of a buffer's way. */
static void
compact(struct buf *b)
{
	if (b->sent == 0)
		return;
	memmove(b->d, b->d + b->sent, b->len - b->sent);
	b->len -= b->sent;
	b->ok -= b->sent;
	if (b == &cb)
		scanned -= b->sent;
	b->sent = 0;
}

/*
 * Scan the client's new bytes.  Returns 1 if the client talked early:
 * bytes came after a command whose reply it must wait for.
 */
static int
scan_client(void)
{
	size_t k;
	int verb;

	if (blind) {
		scanned = cb.ok = cb.len;
		return 0;
	}
	while (scanned < cb.len) {
		if (holding || watching != -1)
			return 1;
		if (starttls || qlen == QUEUE)
			return 0;	/* held until prog answers */
		k = smtp_cscan(&cs, cb.d + scanned, cb.len - scanned, &verb);
		scanned += k;
		if (verb == -1)
			break;
		if (verb == V_DATA && datacheck) {
			holding = 1;
			hold_end = now_ms() + (long long)data_ms;
			watching = V_DATA;
			watch_start = now_ms();
			continue;
		}
		cb.ok = scanned;
		enqueue(verb);
		if (verb == V_STARTTLS)
			starttls = 1;
		/* RFC 2920: without PIPELINING, every command synchronises;
		 * the end of a message never does, as BDAT never does */
		if (synccheck && (pipelining ? smtp_syncs(verb) :
		    verb != V_BDAT && verb != V_AUTH && verb != V_QUIT &&
		    verb != V_DOT)) {
			watching = verb;
			watch_start = now_ms();
		}
	}
	/* a line that may yet be DATA waits for its end, unless the
	 * client has said all it will */
	if (!holding)
		cb.ok = ceof && scanned == cb.len ? scanned :
		    scanned - smtp_cheld(&cs);
	return 0;
}

/* The held DATA goes on to prog. */
static void
release(void)
{
	holding = 0;
	cb.ok = scanned;
	enqueue(V_DATA);
}

/* A "reply" that fills the buffer from prog goes on in pieces: nothing
 * else would make room for its end. */
static void
pass_full(void)
{
	if (pb.len == pb.size && pb.ok == pb.sent)
		pb.ok = pb.len;
}

/*
 * Scan prog's new bytes, from offset from, and act on each reply as its
 * last line comes.  Only whole replies are cleared to go to the client,
 * so that a refusal never lands in the middle of one.
 */
static void
scan_prog(size_t from)
{
	struct smtp_rline rl;
	int verb;

	if (blind) {
		pb.ok = pb.len;
		return;
	}
	while (from < pb.len) {
		from += smtp_rscan(&rs, pb.d + from, pb.len - from, &rl);
		if (rl.code == 0 || !rl.final)
			continue;
		pb.ok = from;
		if (rl.code < 0 || qlen == 0)
			continue;	/* no reply, or one nobody asked for */
		verb = queue[qhead];
		qhead = (qhead + 1) % QUEUE;
		qlen--;
		if (verb == V_EHLO && rl.code == 250) {
			cs.chunking = (rl.ext & EXT_CHUNKING) != 0;
			pipelining = (rl.ext & EXT_PIPELINING) != 0;
		}
		if (verb == V_DATA && rl.code == 354)
			smtp_cbody(&cs);
		if (verb == V_STARTTLS) {
			starttls = 0;
			if (rl.code == 220) {
				blind = 1;
				cs.mode = CS_BLIND;
				pb.ok = pb.len;
				return;
			}
		}
		if (qlen == 0 && !holding)
			watching = -1;
	}
	pass_full();
}

static void
nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl != -1)
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Read into a buffer: bytes read, 0 at end of file, -1 if nothing now. */
static ssize_t
fill(int fd, struct buf *b)
{
	ssize_t r;

	compact(b);
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
flush(int fd, struct buf *b)
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

	while (pb.sent < pb.ok && now_ms() < deadline) {
		p.fd = 1;
		p.events = POLLOUT;
		(void)poll(&p, 1, 100);
		if (flush(1, &pb) == -1)
			return;
	}
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
	size_t n = cb.len - scanned, k;
	long long deadline = now_ms() + FLUSH_MS;
	struct smtp_rline rl;
	struct pollfd p;
	size_t from;
	ssize_t r;
	size_t owed = holding || qlen == 0 ? qlen : qlen - 1;

	k = n < SMTP_SAMPLE ? n : SMTP_SAMPLE;
	(void)smtp_escape(esc, sizeof esc, cb.d + scanned, k);
	if (verbosity > 0)
		log_line("early at %s: %lu bytes after %s s: \"%s%s\": "
		    "reject %s", watching == GREETING ? "greeting" :
		    smtp_verbname(watching), (unsigned long)n,
		    elapsed(t, sizeof t, now_ms() - watch_start), esc,
		    n > k ? "..." : "", temporary ? "421" : "554");
	if (watching == V_DATA)
		(void)snprintf(what, sizeof what, "the 354 response");
	else if (watching == GREETING)
		(void)snprintf(what, sizeof what, "the greeting");
	else
		(void)snprintf(what, sizeof what, "the reply to %s",
		    smtp_verbname(watching));
	/* the commands before go on to prog; then it sees the end */
	while (cb.sent < cb.ok && now_ms() < deadline) {
		p.fd = s;
		p.events = POLLOUT;
		(void)poll(&p, 1, 100);
		if (flush(s, &cb) == -1)
			break;
	}
	(void)shutdown(s, SHUT_WR);
	/* pass on the replies prog owes for the commands before, no more;
	 * scan_prog() has scanned up to pb.len already */
	from = pb.len;
	while (owed > 0 && now_ms() < deadline) {
		while (from < pb.len && owed > 0) {
			from += smtp_rscan(&rs, pb.d + from, pb.len - from,
			    &rl);
			if (rl.code != 0 && rl.final) {
				pb.ok = from;
				owed -= rl.code > 0;
			}
		}
		pass_full();
		drain_out(deadline);
		if (owed == 0)
			break;
		p.fd = s;
		p.events = POLLIN;
		if (poll(&p, 1, (int)(deadline - now_ms())) <= 0)
			continue;
		from -= pb.sent;	/* fill() moves the bytes */
		r = fill(s, &pb);
		if (r == 0)
			break;
	}
	drain_out(deadline);
	/* then the refusal, after the last whole reply, if the client took
	 * those: bounded as well, so that a client that reads nothing
	 * cannot hold the session */
	if (pb.sent == pb.ok) {
		(void)snprintf(esc, sizeof esc,
		    "%s Client sent data before %s\r\n",
		    temporary ? "421 4.5.1" : "554 5.5.1", what);
		k = strlen(esc);
		memcpy(pb.d, esc, k);
		pb.len = pb.ok = k;
		pb.sent = 0;
		drain_out(now_ms() + FLUSH_MS);
	}
	close_clean();
	(void)shutdown(s, SHUT_RDWR);
	(void)reap(pid);
	exit(0);
}

/*
 * The DATA check: prog runs as a child on a socketpair; bytes go both ways
 * unchanged, through bounded buffers, with back-pressure.  The client's
 * stream is followed (commands, body, BDAT chunks, TLS) so that no message
 * byte is taken for a command.
 */
static void
relay(char **argv)
{
	struct pollfd p[3];
	long long last = now_ms(), timeout, now;
	int sv[2], cin = 1, pin = 1, shut = 0, status, r;
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
	enqueue(GREETING);
	if (synccheck) {	/* the greeting synchronises too */
		watching = GREETING;
		watch_start = now_ms();
	}

	while (pin || pb.sent < pb.len) {
		now = now_ms();
		if (holding && now >= hold_end)
			release();
		if (!cin && pin && !shut && cb.sent == cb.len && !holding) {
			(void)shutdown(sv[0], SHUT_WR);	/* pass on the EOF */
			shut = 1;
		}
		/* what to wait for; fill() makes room of the bytes sent */
		p[0].fd = cin && cb.len - cb.sent < cb.size ? 0 : -1;
		p[0].events = POLLIN;
		p[1].fd = pb.ok > pb.sent ? 1 : -1;
		p[1].events = POLLOUT;
		p[2].fd = sv[0];
		p[2].events = (short)((pin && pb.len - pb.sent < pb.size ?
		    POLLIN : 0) | (cb.ok > cb.sent ? POLLOUT : 0));
		if (p[2].events == 0)
			p[2].fd = -1;
		p[0].revents = p[1].revents = p[2].revents = 0;
		timeout = last + IDLE_MS - now;
		if (holding && hold_end - now < timeout)
			timeout = hold_end - now;
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
		if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = fill(sv[0], &pb);
			if (n == 0) {	/* prog is done: no more input */
				pin = cin = 0;
				pb.ok = pb.len;
				cb.ok = cb.sent = cb.len = 0;
			} else if (n > 0) {
				scan_prog(pb.len - (size_t)n);
				if (!holding && watching == -1 &&
				    scan_client())
					early(sv[0], pid);
			}
		}
		if (p[0].revents) {
			n = fill(0, &cb);
			if (n == 0) {	/* nothing more comes */
				cin = 0;
				ceof = 1;
			}
			/* at the end too: a line cut short may go on, once
			 * all before it is scanned (scan_client) */
			if (n >= 0 && scan_client())
				early(sv[0], pid);
		}
		/* write on at once what came: the fds do not block, and
		 * this saves a poll() per buffer */
		if (cb.ok > cb.sent && flush(sv[0], &cb) == -1)
			cb.ok = cb.sent = cb.len = 0;
		if (pb.ok > pb.sent && flush(1, &pb) == -1) {
			pb.ok = pb.sent = pb.len = 0;	/* client gone */
			cin = 0;
			cb.len = cb.ok = cb.sent;
		}
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

	opterr = 0;	/* our usage line says it all */
	while ((opt = getopt(argc, argv, "+D:ST:h:mpqtv")) != -1) {
		switch (opt) {
		case 'D':
			if (smtp_seconds(optarg, 60000, &data_ms) == -1)
				die_usage();
			datacheck = 1;
			break;
		case 'S': synccheck = 1; break;
		case 'T':
			if (smtp_seconds(optarg, 3600000, &session_ms) == -1 ||
			    session_ms < 1000)
				die_usage();
			break;
		case 'h':
			if (*optarg == '\0')
				die_usage();
			smtp_text(host, sizeof host, optarg);
			break;
		case 'm': mailreject = 1; break;
		case 'p': temporary = 0; break;
		case 'q': verbosity = 0; break;
		case 't': temporary = 1; break;
		case 'v': verbosity = 2; break;
		default: die_usage();
		}
	}
	argv += optind;
	if (*argv == NULL)
		die_usage();

	log_init(PROG, "unknown");
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
	relay(argv);
}
