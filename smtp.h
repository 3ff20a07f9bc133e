/* smtp.h: SMTP's words, shared by earlytalker, earlytalker-wrap and
 * fuzz/fuzz_smtp.c: command lines, verbs, the early-byte classifier and
 * the escaping of text.  Every function here is pure: no I/O, no
 * globals, no allocation.  The relay's stream scanners are in scan.h. */
#ifndef SMTP_H
#define SMTP_H

#include <stddef.h>

#define SMTP_LINEMAX 1000	/* longest command line taken, CR LF included */
#define SMTP_SAMPLE 100		/* client bytes quoted in a log line */
#define SMTP_TEXTMAX 200	/* operator text quoted in a reply */

enum smtp_verb {
	V_NONE,			/* empty line */
	V_OTHER,		/* a verb we do not know */
	V_AUTH, V_BDAT, V_DATA, V_EHLO, V_ETRN, V_EXPN, V_HELO, V_HELP,
	V_MAIL, V_NOOP, V_QUIT, V_RCPT, V_RSET, V_STARTTLS, V_VRFY,
	V_DOT,			/* smtp_cscan() (scan.h): CR LF . CR LF, the end of a
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
int smtp_caseeq(const char *, size_t, const char *);

/* Log and reply text. */
size_t smtp_escape(char *, size_t, const char *, size_t);
void smtp_text(char *, size_t, const char *);
int smtp_marked(char *, size_t, const char *);
const char *smtp_class(const char *, size_t);
const char *smtp_addr(const char *, size_t *);

/* Numbers. */
int smtp_seconds(const char *, unsigned long, unsigned long *);

/* A PROXY protocol header (v1 text or v2 binary), as a load balancer
 * sends it before the client's first byte. */
#define PROXY_V1MAX 107		/* longest v1 header, CR LF included */
#define PROXY_ADDR 46		/* INET6_ADDRSTRLEN */

struct smtp_proxy {
	int version;		/* 1 or 2 */
	int local;		/* 1: LOCAL, UNKNOWN or an unsupported
				 * family: keep the connection's addresses */
	char src[PROXY_ADDR];	/* the client */
	char dst[PROXY_ADDR];	/* the address it connected to */
	unsigned int sport, dport;
};

int smtp_proxy(const unsigned char *, size_t, size_t *, struct smtp_proxy *);

#endif
