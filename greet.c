/* greet.c: what earlytalker itself says to the client: the teaser's 220-
 * line and the 220 that finishes it, the refusal (554 or 421) with its
 * linger until QUIT, and the 421 of a system failure. */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "greet.h"
#include "io.h"
#include "smtp.h"

#define MAXREPLIES 20		/* replies in all after a refusal */
#define LINGER_QUIET_MS 200	/* the linger ends after this much silence */

static int teased;		/* 1: the teaser's 220- line went out */
static char host[SMTP_TEXTMAX + 1];	/* our name, after a teaser */

/* After a teaser every line of the greeting must say 220: finish it. */
static void
finish_greeting(void)
{
	char buf[SMTP_TEXTMAX + 16];

	(void)snprintf(buf, sizeof buf, "220 %s ESMTP", host);
	(void)reply(buf);
}

/* Give up after a fatal line: the client is to come back later.  Never a
 * 421 straight after a teaser's 220- line; never killed by SIGPIPE. */
void
unavailable(void)
{
	(void)signal(SIGPIPE, SIG_IGN);
	if (teased)
		finish_greeting();
	(void)reply(REPLY_TEMP);
	exit(111);
}

/*
 * Refuse the client.  first and text make the opening reply: the 554 of
 * RFC 5321 section 3.1 or the 421 of section 3.8, in place of the
 * greeting; after a teaser first is NULL and the 220 that finishes the
 * greeting opens instead.  Then each command line gets each, until QUIT,
 * linger_ms (-l), a silence (LINGER_QUIET_MS and two round trips) or
 * MAXREPLIES.  A 421 closes.  Close cleanly, exit 0.
 */
void
refuse(const char *first, const char *text, const char *each,
    unsigned long linger_ms)
{
	char buf[SMTP_TEXTMAX + 16];
	struct input in;
	struct smtp_line l;
	long long deadline, quiet, silence;
	int replies = 1, st, one = 1;

	(void)signal(SIGPIPE, SIG_IGN);	/* no exec follows */
	/* each reply goes out as it is written, not a round trip later
	 * behind the one before: a far client has its 503 with its 554 */
	(void)setsockopt(1, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (first != NULL) {
		(void)snprintf(buf, sizeof buf, "%s %s", first, text);
		if (reply(buf) == -1 || first[0] == '4' || linger_ms == 0)
			goto done;
	} else	/* with -l 0 too, the line that came early is answered */
		finish_greeting();
	memset(&in, 0, sizeof in);
	memset(&l, 0, sizeof l);
	deadline = now_ms() + (long long)linger_ms;
	/* a client that has its answer and says nothing more for
	 * LINGER_QUIET_MS, and the round trips its answer takes, has gone
	 * quiet: it holds a slot for nothing.  One that answers the 554
	 * with QUIT has done so by then, near or far, or it meets
	 * close_clean()'s drain. */
	silence = silence_ms(LINGER_QUIET_MS);
	while (replies < MAXREPLIES) {
		quiet = now_ms() + silence;
		st = next_line(&in, &l, quiet < deadline ? quiet : deadline);
		if (st != LINE_OK && st != LINE_LONG)
			break;
		replies++;
		if (st == LINE_OK &&
		    smtp_verb(l.buf, l.len, NULL) == V_QUIT) {
			(void)reply("221 2.0.0 Bye");
			break;
		}
		if (reply(each) == -1 || each[0] == '4')
			break;
	}
done:
	close_clean();
	exit(0);
}

/* The teaser: a first greeting line; prog's 220 line ends it.  1 if it
 * went out. */
int
tease(const char *teaser)
{
	char text[SMTP_TEXTMAX + 1], line[SMTP_TEXTMAX + 8];
	void (*sigpipe)(int);

	local_host(host, sizeof host);
	smtp_text(text, sizeof text, teaser);
	(void)snprintf(line, sizeof line, "220-%s", text);
	sigpipe = signal(SIGPIPE, SIG_IGN);
	teased = reply(line) == 0;
	(void)signal(SIGPIPE, sigpipe);	/* as found: it is prog's */
	return teased;
}
