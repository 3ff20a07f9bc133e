/* greet.h: what earlytalker itself says to the client (greet.c). */
#ifndef GREET_H
#define GREET_H

#include "io.h"

int tease(const char *);
void refuse(const char *, const char *, const char *, unsigned long)
    NORETURN;
void unavailable(void) NORETURN;

#endif
