/* streams.c: the relay fuzzer's clients (client.c) for real servers.
 *
 *	fuzz/streams SEED COUNT PIPELINING CHUNKING
 *
 * prints COUNT streams, from seeds SEED, SEED + 1, ..., one JSON object
 * a line, for a server that offers PIPELINING and CHUNKING (1) or not
 * (0): the client's kind (polite, pipelining, bot), the stream in hex,
 * where the client waits (before byte "at" it has "replies" whole
 * replies), where each command ends, and each message (where its body
 * or chunk starts, DATA or BDAT, smuggled or not, its token).  The
 * choices come from a xorshift generator seeded with the seed, in place
 * of libFuzzer's input; the tokens are "s" SEED "." N. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

#define NCHOICE 4096

static struct client c;
static uint8_t choice[NCHOICE];

static void
usage(void)
{
	fputs("usage: streams SEED COUNT PIPELINING CHUNKING\n", stderr);
	exit(100);
}

static unsigned long
number(const char *s, unsigned long max)
{
	char *end;
	unsigned long n;

	if (*s < '0' || *s > '9')
		usage();
	n = strtoul(s, &end, 10);
	if (*end != '\0' || n > max)
		usage();
	return n;
}

static void
stream(unsigned long seed, int pl, int ch)
{
	static const char *const kinds[] = { "polite", "pipelining", "bot" };
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
	char tag[32];
	size_t i;
	int k;

	for (i = 0; i < NCHOICE; i++) {	/* xorshift64 */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		choice[i] = (uint8_t)(x >> 32);
	}
	pick_init(choice, sizeof choice);
	memset(&c, 0, sizeof c);
	(void)snprintf(tag, sizeof tag, "s%lu", seed);
	c.tag = tag;
	c.kind = (int)pick(3);
	session(&c, pl, ch);

	printf("{\"seed\": %lu, \"kind\": \"%s\", \"pipelining\": %d, "
	    "\"chunking\": %d, \"rude\": %d, \"stream\": \"", seed,
	    kinds[c.kind], pl, ch, c.rude);
	for (i = 0; i < c.len; i++)
		printf("%02x", (unsigned char)c.s[i]);
	fputs("\", \"waits\": [", stdout);
	for (k = 0; k < c.nwait; k++)
		printf("%s[%lu, %d]", k ? ", " : "", (unsigned long)c.wait[k],
		    c.wat[k]);
	fputs("], \"cends\": [", stdout);
	for (k = 0; k < c.ncend; k++)
		printf("%s%lu", k ? ", " : "", (unsigned long)c.cend[k]);
	fputs("], \"msgs\": [", stdout);
	for (k = 0; k < c.nmsg; k++)
		printf("%s{\"start\": %lu, \"bdat\": %d, \"smuggled\": %d, "
		    "\"token\": \"%s\"}", k ? ", " : "",
		    (unsigned long)c.msg[k].start, c.msg[k].bdat,
		    c.msg[k].smuggled, c.msg[k].token);
	fputs("]}\n", stdout);
}

int
main(int argc, char **argv)
{
	unsigned long seed, count, i;
	int pl, ch;

	if (argc != 5)
		usage();
	seed = number(argv[1], 4000000000UL);
	count = number(argv[2], 1000000UL);
	pl = (int)number(argv[3], 1);
	ch = (int)number(argv[4], 1);
	for (i = 0; i < count; i++)
		stream(seed + i, pl, ch);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("streams: stdout");
		return 111;
	}
	return 0;
}
