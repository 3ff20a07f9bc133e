/* copy.c: a bare copying relay, the baseline of the -D relay in make bench.
 *
 *   copy prog [ arg ... ]
 *
 * Runs prog as a child on a socketpair, as earlytalker-wrap -D does: fd 0
 * and fd 1 of prog are the socketpair, fd 0 and fd 1 of copy are the
 * client.  Copies bytes both ways, unchanged and unlooked at: poll(), then
 * read() and write() on non-blocking fds, through buffers of the sizes of
 * the relay's (drive.c).  The client's end of file goes on to prog once
 * its bytes are written; once prog's output has ended and is written, its
 * end goes on to the client, whose end is awaited for at most DRAIN_MS.
 * Then prog is reaped, and its exit status is copy's.  No parsing, no
 * log, no check: what any relay costs by its copies alone.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../io.h"

#define USAGE "usage: copy prog [ arg ... ]\n"
#define CBUF 262144		/* bytes buffered from the client, as drive.c */
#define PBUF 65536		/* bytes buffered from prog, as drive.c */
#define IDLE_MS 1200000		/* silence both ways, then end, as drive.c */
#define REAP_MS 10000		/* prog's time to exit, then TERM */

struct buf {
	char *d;
	size_t size;		/* of d */
	size_t len;		/* bytes in d */
	size_t sent;		/* of them, written on */
};

static char cbd[CBUF], pbd[PBUF];
static struct buf cb = { cbd, CBUF, 0, 0 };	/* client to prog */
static struct buf pb = { pbd, PBUF, 0, 0 };	/* prog to client */

static void
say(const char *s)
{
	if (write(2, s, strlen(s)) == -1)
		return;		/* nobody to tell */
}

static void
fatal(const char *what)
{
	say("copy: fatal: ");
	say(what);
	say("\n");
	exit(111);
}

static void
nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl != -1)
		(void)fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK :
		    fl & ~O_NONBLOCK);
}

/* Read into a buffer: bytes read, 0 at end of file, -1 if nothing now. */
static ssize_t
fill(int fd, struct buf *b)
{
	if (b->sent > 0) {
		memmove(b->d, b->d + b->sent, b->len - b->sent);
		b->len -= b->sent;
		b->sent = 0;
	}
	return read_some(fd, b->d, b->size, &b->len);
}

/* Write what is buffered: -1 if the reader is gone. */
static int
flush(int fd, struct buf *b)
{
	return write_some(fd, b->d, b->len, &b->sent);
}

/* Wait for the client's end of file, at most DRAIN_MS. */
static void
drain(void)
{
	struct pollfd p;
	int i;

	for (i = 0; i < DRAIN_MS / 100; i++) {
		p.fd = 0;
		p.events = POLLIN;
		p.revents = 0;
		if (poll(&p, 1, 100) == 1 && fill(0, &cb) == 0)
			return;
		cb.len = cb.sent = 0;	/* thrown away */
	}
}

int
main(int argc, char **argv)
{
	struct pollfd p[3];
	int sv[2], cin = 1, pin = 1, shut = 0, r;
	pid_t pid;
	ssize_t n;

	if (argc < 2) {
		say(USAGE);
		return 100;
	}
	(void)signal(SIGPIPE, SIG_IGN);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		fatal("unable to create a socketpair");
	pid = fork();
	if (pid == -1)
		fatal("unable to fork");
	if (pid == 0) {
		(void)signal(SIGPIPE, SIG_DFL);
		if (dup2(sv[1], 0) == -1 || dup2(sv[1], 1) == -1)
			fatal("unable to set up fds for prog");
		(void)close(sv[0]);
		(void)close(sv[1]);
		(void)execvp(argv[1], argv + 1);
		fatal("unable to run prog");
	}
	(void)close(sv[1]);
	nonblock(sv[0], 1);
	nonblock(0, 1);
	nonblock(1, 1);

	while (pin || pb.sent < pb.len) {
		if (!cin && pin && !shut && cb.sent == cb.len) {
			(void)shutdown(sv[0], SHUT_WR);	/* pass on the end */
			shut = 1;
		}
		p[0].fd = cin && cb.len - cb.sent < cb.size ? 0 : -1;
		p[0].events = POLLIN;
		p[1].fd = pb.len > pb.sent ? 1 : -1;
		p[1].events = POLLOUT;
		p[2].fd = sv[0];
		p[2].events = (short)((pin && pb.len - pb.sent < pb.size ?
		    POLLIN : 0) | (cb.len > cb.sent ? POLLOUT : 0));
		if (p[2].events == 0)
			p[2].fd = -1;
		p[0].revents = p[1].revents = p[2].revents = 0;
		r = poll(p, 3, IDLE_MS);
		if (r == -1 && errno != EINTR)
			fatal("poll failed");
		if (r == 0)
			break;		/* idle both ways */
		if (r == -1)
			continue;
		if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = fill(sv[0], &pb);
			if (n == 0) {	/* prog is done: no more input */
				pin = cin = 0;
				cb.len = cb.sent = 0;
			}
		}
		if (p[0].revents && fill(0, &cb) == 0)
			cin = 0;
		/* write on at once what came, as wrap.c does */
		if (cb.len > cb.sent && flush(sv[0], &cb) == -1)
			cb.len = cb.sent = 0;
		if (pb.len > pb.sent && flush(1, &pb) == -1) {
			pb.len = pb.sent = 0;	/* client gone */
			cin = 0;
			cb.len = cb.sent = 0;
		}
	}
	nonblock(0, 0);
	nonblock(1, 0);
	if (shutdown(1, SHUT_WR) == -1)	/* pass on prog's end */
		(void)close(1);
	(void)shutdown(sv[0], SHUT_RDWR);
	drain();
	return reap(pid, REAP_MS);
}
