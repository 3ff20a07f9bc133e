/* smtp.h: parsers of client and server input, shared by earlytalker,
 * earlytalker-wrap and fuzz/fuzz_smtp.c.  Every function here is pure:
 * no I/O, no globals, no allocation. */
#ifndef SMTP_H
#define SMTP_H

#include <stddef.h>

#define SMTP_LINEMAX 1000	/* longest command line taken, CR LF included */
#define SMTP_SAMPLE 100		/* client bytes quoted in a log line */
#define SMTP_TEXTMAX 200	/* operator text quoted in a reply */
#define SMTP_HEAD 40		/* start of a line kept by the stream scanners */

enum smtp_verb {
	V_NONE,			/* empty line */
	V_OTHER,		/* a verb we do not know */
	V_AUTH, V_BDAT, V_DATA, V_EHLO, V_ETRN, V_EXPN, V_HELO, V_HELP,
	V_MAIL, V_NOOP, V_QUIT, V_RCPT, V_RSET, V_STARTTLS, V_VRFY,
	V_DOT,			/* smtp_cscan(): CR LF . CR LF, the end of a
				 * message body */
	V_LDOT,			/* smtp_cscan(): a line of a body that some
				 * server may take as its end (a dot, then
				 * CRs and blanks, or a bare LF): the body
				 * may go on or not */
	V_LONG			/* smtp_cscan(): a command line over
				 * SMTP_PLAINMAX bytes (SMTP_AUTHMAX for
				 * AUTH), not ended */
};

/* One command line, as read by smtp_getline(). */
struct smtp_line {
	char buf[SMTP_LINEMAX];	/* the line without CR LF, NUL-terminated */
	size_t len;		/* bytes in buf, NULs included */
	int toolong;		/* 1: over SMTP_LINEMAX, discarding to LF */
	int ready;		/* 1: buf holds a whole line, cleared on the
				 * next call */
};

#define LINE_MORE 0		/* no line yet: feed more bytes */
#define LINE_OK 1		/* a line is in buf */
#define LINE_LONG 2		/* an overlong line ended; its text is gone */

size_t smtp_getline(struct smtp_line *, const char *, size_t, int *);
int smtp_verb(const char *, size_t, const char **);
const char *smtp_verbname(int);
int smtp_syncs(int);

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
	int body;		/* end matcher, B_* in smtp.c */
	unsigned long long chunk;	/* CS_CHUNK: bytes still to pass */
	int chunking;		/* 1: a plain BDAT size is a chunk's length
				 * (the relay says when) */
	int sasl;		/* 1: the next line answers a 334 */
	char head[SMTP_HEAD];	/* the first bytes of the current line */
	size_t headlen;		/* bytes in head, up to SMTP_HEAD */
	size_t linelen;		/* bytes of the current line so far */
	int form;		/* F_* in smtp.c: the line so far, as plain */
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

/* Log and reply text. */
size_t smtp_escape(char *, size_t, const char *, size_t);
void smtp_text(char *, size_t, const char *);
int smtp_marked(char *, size_t, const char *);
const char *smtp_class(const char *, size_t);
const char *smtp_addr(const char *, size_t *);

#endif
