/* wait.c: earlytalker's wait: its length (-w, or $EARLYTALKER_WAIT from
 * the rules: seconds or a range, parsed and checked; a length drawn from
 * the range at random) and the waiting itself, on fd 0. */

#include <sys/types.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "wait.h"

/* "2" or "2-6": the wait, or a range to draw it from, in milliseconds. */
int
wait_parse(const char *s, unsigned long *min, unsigned long *max)
{
	char buf[32];
	const char *dash = strchr(s, '-');

	if (dash == NULL) {
		if (opt_seconds(s, WAIT_MAX, min) == -1)
			return -1;
		*max = *min;
		return 0;
	}
	if ((size_t)(dash - s) >= sizeof buf)
		return -1;
	memcpy(buf, s, (size_t)(dash - s));
	buf[dash - s] = '\0';
	if (opt_seconds(buf, WAIT_MAX, min) == -1 ||
	    opt_seconds(dash + 1, WAIT_MAX, max) == -1 || *min > *max)
		return -1;
	return 0;
}

/*
 * A wait drawn uniformly from min..max milliseconds, from /dev/urandom,
 * so that bots cannot learn it.  If the random source fails: max.
 */
unsigned long
wait_draw(unsigned long min, unsigned long max)
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

/* The wait of min..max ms as the log says it: "S.mmm", or "S.mmm-S.mmm"
 * for a range; into buf, n bytes. */
char *
wait_text(char *buf, size_t n, unsigned long min, unsigned long max)
{
	char t[32], t2[32];

	(void)elapsed(t, sizeof t, (long long)min);
	(void)elapsed(t2, sizeof t2, (long long)max);
	(void)snprintf(buf, n, "%s%s%s", t, max != min ? "-" : "",
	    max != min ? t2 : "");
	return buf;
}

/*
 * A value of $EARLYTALKER_WAIT, found where ("" for the environment; for
 * -n, the rule that sets it): into *min and *max, or, left as they are
 * (the -w wait), a warning that names it and says they apply instead.
 * 0, or -1.
 */
int
wait_check(const char *v, const char *where, unsigned long *min,
    unsigned long *max)
{
	char esc[4 * 20 + 1], t[64];
	unsigned long lo, hi;

	if (wait_parse(v, &lo, &hi) == 0) {
		*min = lo;
		*max = hi;
		return 0;
	}
	(void)smtp_escape(esc, sizeof esc, v, strlen(v) > 20 ? 20 : strlen(v));
	log_line("warning: %sEARLYTALKER_WAIT \"%s\" is not seconds from 0 "
	    "to 300: using %s", where, esc,
	    wait_text(t, sizeof t, *min, *max));
	return -1;
}

/*
 * Wait on the monotonic clock, with no alarm and no signal handler, for
 * fd 0 to become readable within wait_ms.  Returns the milliseconds
 * waited, with *quiet 1 if the client stayed quiet all the while, or
 * -1 if poll() failed (errno says why).
 */
long long
wait_quiet(unsigned long wait_ms, int *quiet)
{
	struct pollfd p;
	long long start = now_ms(), left;
	int r;

	*quiet = 0;
	for (;;) {
		left = start + (long long)wait_ms - now_ms();
		if (left < 0)
			left = 0;
		p.fd = 0;
		p.events = POLLIN;
		p.revents = 0;
		r = poll(&p, 1, (int)left);
		if (r == -1 && errno != EINTR)
			return -1;
		if (r > 0)
			return now_ms() - start;
		if (r == 0 && (left == 0 ||
		    now_ms() >= start + (long long)wait_ms)) {
			*quiet = 1;
			return now_ms() - start;
		}
	}
}
