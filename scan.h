/* scan.h: the relay's stream scanners (scan.c), which follow a relayed
 * session byte by byte, both ways: the client's stream (command lines,
 * message bodies, BDAT chunks, SASL answers) and the server's replies.
 * Pure: no I/O, no globals, no allocation. */
#ifndef SCAN_H
#define SCAN_H

#include <stddef.h>

#include "smtp.h"

#define SMTP_HEAD 40		/* start of a line kept by the scanners */

/* The client's side of a relayed session. */
#define CS_CMD 0		/* command lines */
#define CS_BODY 1		/* message body after 354, until its end */
#define CS_CHUNK 2		/* BDAT chunk: pass bytes uncounted */
#define CS_BLIND 3		/* after STARTTLS: no more parsing */

/*
 * The longest command line in its plain form, CR LF included: over RFC
 * 5321's 512 octets and what the MAIL and RCPT parameters of its
 * extensions add (SIZE, BODY, SMTPUTF8, RET, ENVID, NOTIFY, ORCPT, AUTH,
 * REQUIRETLS, MT-PRIORITY: about 1,250 in all), and under the shortest
 * split of a long line by any server (sendmail built without SASL reads
 * a line in pieces of 2,047 bytes; Exim in pieces of 16 KiB).  A longer
 * line may be two commands to some server.  AUTH lines and the answers
 * to a 334 may be longer, up to SMTP_AUTHMAX (under sendmail's split of
 * AUTH lines at 12,287 bytes): they are held and checked, not plain.
 */
#define SMTP_PLAINMAX 2000
#define SMTP_AUTHMAX 12000

struct smtp_client {
	int mode;		/* CS_* */
	int body;		/* end matcher, B_* in scan.c */
	unsigned long long chunk;	/* CS_CHUNK: bytes still to pass */
	int chunking;		/* 1: a plain BDAT size is a chunk's length
				 * (the relay says when) */
	int sasl;		/* 1: the next line answers a 334 */
	char head[SMTP_HEAD];	/* the first bytes of the current line */
	size_t headlen;		/* bytes in head, up to SMTP_HEAD */
	size_t linelen;		/* bytes of the current line so far */
	int form;		/* F_* in scan.c: the line so far, as plain */
	size_t lastlen;		/* bytes of the line that just ended */
	int lastplain;		/* 1: that line was in its plain form */
	int lastverb;		/* its verb, read after any leading bytes */
	int lastlast;		/* a plain BDAT line: 1 if it said LAST */
};

size_t smtp_cscan(struct smtp_client *, const char *, size_t, int *);
size_t smtp_cheld(const struct smtp_client *);
void smtp_cbody(struct smtp_client *);
void smtp_ccmd(struct smtp_client *);
void smtp_csasl(struct smtp_client *);

/* The server's side of a relayed session. */
#define EXT_PIPELINING 1
#define EXT_CHUNKING 2

struct smtp_reply {
	char head[SMTP_HEAD];	/* start of the current reply line */
	size_t linelen;
	int ext;		/* EXT_* seen in this reply */
};

/* What one reply line says: code 0 if no line ended. */
struct smtp_rline {
	int code;		/* 100..599, or -1 if not a reply line */
	int final;		/* 1: code followed by a space or the end */
	int ext;		/* final line: EXT_* the whole reply offered */
};

size_t smtp_rscan(struct smtp_reply *, const char *, size_t,
    struct smtp_rline *);

#endif
