/* rules.h: tcpserver's part for a client that no tcpserver has seen:
 * the tcp-environ(5) variables and the tcprules cdb of -x. */
#ifndef RULES_H
#define RULES_H

#include <stddef.h>

#define RULES_DATAMAX 65536	/* longest rule taken from a tcprules cdb */
#define RULES_KEYMAX 1024	/* -n: longest key of a rule */

int tcp_setenv(int, const char *, unsigned int, const char *,
    unsigned int);
int tcp_environ(void);
int rules_apply(const char *, const char *);
long rules_check(const char *, int (*)(const char *, size_t, const char *,
    const char *, void *), void *);

#endif
