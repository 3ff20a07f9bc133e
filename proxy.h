/* proxy.h: the PROXY protocol header, v1 and v2, as a load balancer
 * sends it before the client's first byte. */
#ifndef PROXY_H
#define PROXY_H

#include <stddef.h>

#include "io.h"

#define PROXY_MS 5000		/* time for the whole header */
#define PROXY_V1MAX 107		/* longest v1 header, CR LF included */
#define PROXY_V2MAX (16 + 65535)	/* longest v2 header */

struct proxy_header {
	int version;		/* 1 or 2 */
	int local;		/* 1: LOCAL, UNKNOWN or an unsupported
				 * family: keep the connection's addresses */
	char src[IP_TEXT];	/* the client */
	char dst[IP_TEXT];	/* the address it connected to */
	unsigned int sport, dport;
};

int proxy_parse(const unsigned char *, size_t, size_t *,
    struct proxy_header *);
int proxy_read(struct proxy_header *, unsigned char *, size_t *);
int proxy_take(struct proxy_header *, int);
int proxy_client(struct proxy_header *, int);

#endif
