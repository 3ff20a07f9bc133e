/* cache.h: earlytalker's pass cache (-c). */
#ifndef CACHE_H
#define CACHE_H

int cache_find(const char *, const char *);
int cache_fresh(unsigned long);
void cache_pass(void);
int cache_check(const char *);

#endif
