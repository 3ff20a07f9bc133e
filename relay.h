/* relay.h: the state of earlytalker-wrap's relay (-D, -S), in one place,
 * and the pure functions that move it on (relay.c, ends.c): only they
 * do.  drive.c does the I/O; the relay fuzzer (fuzz/fuzz_relay.c) drives
 * the same functions against models of SMTP servers. */
#ifndef RELAY_H
#define RELAY_H

#include <stddef.h>

#include "scan.h"
#include "smtp.h"

#define RELAY_QUEUE 128		/* commands awaiting a reply */
#define RELAY_LENIENT_MS 5000	/* client bytes held after a lenient end */
#define RELAY_GREETING (-2)	/* the queue entry of the greeting */

/*
 * A one-way buffer.  Invariant: sent <= ok <= scanned <= len <= size.
 * [0, sent) is written on; [sent, ok) may be; [ok, scanned) is held
 * back; [scanned, len) is not looked at yet.
 */
struct rbuf {
	char *d;
	size_t size;
	size_t len;
	size_t sent;
	size_t ok;
	size_t scanned;
};

struct relay {
	struct rbuf c;		/* client to prog */
	struct rbuf p;		/* prog to client */
	struct smtp_client cs;	/* the client's stream, as we follow it */
	struct smtp_reply rs;	/* prog's stream */
	int queue[RELAY_QUEUE];	/* commands sent on, awaiting replies */
	size_t qhead, qlen;	/* qlen <= RELAY_QUEUE */
	unsigned long long cbase;	/* client bytes compacted away */
	unsigned long long cmdend;	/* stream offset of the end of the
					 * last command, <= cbase + scanned */
	int holding;		/* a line is held in c[ok, scanned): DATA,
				 * or any line some server may read as we
				 * do not */
	int held;		/* its verb */
	long long hold_end;	/* then it goes on to prog */
	int lenient;		/* c[scanned, len) held after a lenient end */
	long long lenient_end;	/* then the body goes on */
	int watching;		/* verb whose reply the client must await,
				 * or -1 */
	long long watch_start;	/* when that command came */
	int at354;		/* p.ok stops before a 354: read the client
				 * before relay_prog() lets it go */
	int starttls;		/* STARTTLS sent on, reply not seen yet */
	int blind;		/* after 220 to STARTTLS: no parsing */
	int pipelining;		/* prog offered PIPELINING */
	int chunking;		/* prog offered CHUNKING, to the last EHLO */
	int bdatopen;		/* a chunk sent that was not the LAST */
	int bdatbroken;		/* then a command that was not BDAT, NOOP,
				 * RSET or QUIT: Exim reads the chunk of a
				 * BDAT as commands now, until an RSET */
	int bdats;		/* BDATs awaiting their replies */
	int ceof;		/* the client sent its end of file */
	int lastcode;		/* code of prog's last whole reply, or 0 */
	int closing;		/* prog said 421 or 221: it ends the
				 * session, and no client byte goes on */
	int early;		/* verdict: the client talked early */
	int early_at;		/* the verb it did not wait for */
	long long early_wait;	/* ms it waited for that reply */
	size_t early_from;	/* c: where the early bytes start */
	size_t owed;		/* replies due to the client before the
				 * refusal */
	int lost;		/* verdict: prog replied where the relay
				 * cannot follow it; its reply starts at
				 * p.ok, and nothing more goes on */
	const char *lost_why;	/* what the relay saw */
	/* settings */
	int datacheck;		/* -D */
	int synccheck;		/* -S */
	unsigned long data_ms;	/* -D seconds, in ms */
};

void relay_init(struct relay *, long long);
int relay_client(struct relay *, long long);
void relay_prog(struct relay *, long long);
long long relay_tick(struct relay *, long long);
size_t relay_owed(struct relay *);
int relay_last(struct relay *, const char *);
int relay_progeof(struct relay *);
void relay_gone(struct relay *);
void relay_blind(struct relay *);
void relay_compact(struct relay *, struct rbuf *);
void relay_cdrop(struct relay *);
int relay_owes(const struct relay *);
void relay_check(const struct relay *);

#endif
