/* floor.c: the floor of this design, for make bench.
 *
 *   floor ms prog [ arg ... ]
 *
 * Poll fd 0 for ms milliseconds, then exec prog, whatever happened.  No
 * check, no log, no reply: the least a program that waits in the chain
 * can do.  Built dynamically linked, it is the baseline that earlytalker
 * is measured against.
 */

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define USAGE "usage: floor ms prog [ arg ... ]\n"

static void
say(const char *s)
{
	if (write(2, s, strlen(s)) == -1)
		return;		/* nobody to tell */
}

int
main(int argc, char **argv)
{
	struct pollfd p;
	char *end;
	long ms;

	if (argc < 3)
		goto usage;
	ms = strtol(argv[1], &end, 10);
	if (end == argv[1] || *end != '\0' || ms < 0 || ms > 3600000)
		goto usage;
	p.fd = 0;
	p.events = POLLIN;
	p.revents = 0;
	(void)poll(&p, 1, (int)ms);
	(void)execvp(argv[2], argv + 2);
	say("floor: fatal: unable to run ");
	say(argv[2]);
	say("\n");
	return 111;
usage:
	say(USAGE);
	return 100;
}
