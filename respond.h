/* respond.h: earlytalker-wrap's responder (respond.c), which speaks SMTP
 * to a marked client in prog's place and refuses its mail. */
#ifndef RESPOND_H
#define RESPOND_H

#include "io.h"

/* The responder's settings, from earlytalker-wrap's options. */
struct responder {
	const char *host;	/* our name in replies (-h) */
	int mailreject;		/* 1: -m, refuse at MAIL; 0: at RCPT */
	int verbosity;		/* 0 -q: errors; 1: decisions; 2 -v: all */
	unsigned long session_ms;	/* -T: the whole session, at most */
	unsigned long idle_ms;	/* -i: silence after a reply, before the
				 * round trips */
};

void responder(const struct responder *, const char *) NORETURN;
const char *responder_code(int, int);

#endif
