/* proxy.h: the PROXY protocol header and the tcprules cdb, for a
 * client that comes through a load balancer. */
#ifndef PROXY_H
#define PROXY_H

#include <stddef.h>

#include "smtp.h"

#define PROXY_MS 5000		/* time for the whole header */
#define PROXY_V2MAX (16 + 65535)	/* longest v2 header */
#define RULES_DATAMAX 65536	/* longest rule taken from a tcprules cdb */
#define PROXY_KEYMAX 1024	/* -n: longest key of a rule */

int proxy_read(struct smtp_proxy *, unsigned char *, size_t *);
int rules_apply(const char *, const char *);
long rules_check(const char *, int (*)(const char *, size_t, const char *,
    const char *, void *), void *);

#endif
