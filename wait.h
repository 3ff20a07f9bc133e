/* wait.h: earlytalker's wait: its length, and the waiting. */
#ifndef WAIT_H
#define WAIT_H

#include <stddef.h>

#define WAIT_MAX 300000		/* -w, milliseconds */

int wait_parse(const char *, unsigned long *, unsigned long *);
char *wait_text(char *, size_t, unsigned long, unsigned long);
int wait_check(const char *, const char *, unsigned long *, unsigned long *);
unsigned long wait_draw(unsigned long, unsigned long);
long long wait_quiet(unsigned long, int *);

#endif
