/* client.h: the relay fuzzer's SMTP clients, shared by fuzz_relay.c
 * (libFuzzer) and streams.c (the real servers' harness). */

#ifndef CLIENT_H
#define CLIENT_H

#include <stddef.h>
#include <stdint.h>

#define MAXSTREAM 24576		/* bytes a client sends: lines longer
				 * than Exim's split fit */
#define MAXOUT 16384		/* bytes a server sends */
#define MAXWAIT 256		/* a client's commands */
#define MAXMSG 64		/* messages in a stream */

#define C_POLITE 0		/* waits for every reply */
#define C_PIPELINE 1		/* waits where RFC 2920 says */
#define C_BOT 2			/* never waits */

/* a message in the stream: where its body (or chunk) starts, how it
 * came, and the token that starts it */
struct cmsg {
	size_t start;
	int bdat;		/* 1 BDAT, 0 DATA */
	int smuggled;		/* inside another message's body */
	char token[40];
};

struct client {
	int kind;
	char s[MAXSTREAM];	/* all it will send */
	size_t len;
	/* where it waits: before sending byte wait[i], it has all of
	 * replies wat[i] (a count) */
	size_t wait[MAXWAIT];
	int wat[MAXWAIT];
	int nwait;
	/* where each command ends, and how many replies it expects then */
	size_t cend[MAXWAIT];
	int ncend;
	size_t sent;		/* bytes sent so far */
	int replies;		/* whole replies received */
	int n354;		/* 354s received */
	long long got354[64];	/* step at which each came */
	char rbuf[MAXOUT + 256];
	size_t rlen, rline;	/* received; start of the current line */
	/* the messages: a token starts each, "X-Token: TAG.N" */
	const char *tag;
	struct cmsg msg[MAXMSG];
	int nmsg;
	/* what no RFC 5321 client sends and the relay holds by design: a
	 * command line over 2000 bytes, a BDAT size not in its plain form,
	 * BDAT where CHUNKING was not offered; never polite */
	int rude;
};

/* the choices: from the input, one byte each, 0 past its end */
void pick_init(const uint8_t *, size_t);
unsigned pick(unsigned);

void session(struct client *, int, int);

#endif
