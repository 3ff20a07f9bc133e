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

#endif
