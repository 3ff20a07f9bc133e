/* drive.h: earlytalker-wrap's relay at work (drive.c), and the exec of
 * prog. */
#ifndef DRIVE_H
#define DRIVE_H

#include "io.h"

/* The relay's settings, from earlytalker-wrap's options. */
struct drive_cf {
	int datacheck;		/* 1: -D given */
	int synccheck;		/* 1: -S, every synchronising command */
	unsigned long data_ms;	/* -D, 0..60000 */
	int temporary;		/* 1: -t, the refusal is 421; 0: -p, 554 */
	int observe;		/* 1: log the verdict, let all pass */
	int verbosity;		/* 0 -q: errors; 1: decisions; 2 -v: all */
};

void drive(const struct drive_cf *, char **) NORETURN;
void prog_exec(char **) NORETURN;

#endif
