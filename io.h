/* io.h: the I/O both programs share: clock, whole writes, the client's
 * address, bounded line reads and a clean close.  It brings log.h: who
 * does I/O logs. */
#ifndef IO_H
#define IO_H

#include <sys/types.h>

#include <stddef.h>

#include "log.h"
#include "smtp.h"

#define PEER_IP 300		/* a client's address, as text */
#define IP_TEXT 46		/* an IP address as text: INET6_ADDRSTRLEN */
#define DRAIN_MS 1000		/* input drained after the last reply, at most */
#define DRAIN_QUIET_MS 150	/* the drain ends after this much silence */
#define RTT_MAX_MS 1000		/* silence_ms() counts a round trip up to */

/* The reply of a system failure: the client is to come back later. */
#define REPLY_TEMP "421 4.3.0 Service temporarily unavailable"

/* Client input with a buffer, for line reads. */
struct input {
	char buf[4096];
	size_t pos, len;
};

#define IN_EOF 0		/* the client closed */
#define IN_TIMEOUT (-1)		/* the deadline passed */
#define IN_ERROR (-2)		/* read or poll failed; errno tells */

long long now_ms(void);
int write_all(int, const char *, size_t);
ssize_t read_some(int, char *, size_t, size_t *);
int write_some(int, const char *, size_t, size_t *);
int reap(pid_t, long long);
int reply(const char *);
int addr_text(int, const void *, char *, size_t);
int sock_ip(int, char *, size_t, unsigned int *);
void peer_ip(char *, size_t);
int tcp_setenv(int, const char *, unsigned int, const char *,
    unsigned int);
int tcp_environ(void);
int next_line(struct input *, struct smtp_line *, long long);
void close_clean(void);
char *elapsed(char *, size_t, long long);
long long silence_ms(long long);
void local_host(char *, size_t);
int prog_find(const char *, char *, size_t);

#endif
