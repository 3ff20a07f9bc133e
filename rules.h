/* rules.h: the tcprules cdb of -x, for proxied and inetd clients alike. */
#ifndef RULES_H
#define RULES_H

#include <stddef.h>

#define RULES_DATAMAX 65536	/* longest rule taken from a tcprules cdb */
#define RULES_KEYMAX 1024	/* -n: longest key of a rule */

int rules_apply(const char *, const char *);
long rules_check(const char *, int (*)(const char *, size_t, const char *,
    const char *, void *), void *);

#endif
