/* proxy.c: a client that comes through a load balancer.  Take the PROXY
 * protocol header off fd 0, exactly and no byte more, and look up the
 * real client's address in a tcprules cdb, as tcpserver would have. */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "proxy.h"
#include "smtp.h"

/*
 * Read the PROXY header from fd 0 into h (PROXY_V2MAX bytes), never past
 * its end, within PROXY_MS.  Returns 1 and fills *p with a valid header,
 * 0 if none came in time (or the client left), -1 if the bytes are no
 * valid header.  *n is the number of bytes read, for the log.
 */
int
proxy_read(struct smtp_proxy *p, unsigned char *h, size_t *n)
{
	long long deadline = now_ms() + PROXY_MS, left;
	struct pollfd pfd;
	size_t need;
	ssize_t r;
	int st;

	*n = 0;
	for (;;) {
		st = smtp_proxy(h, *n, &need, p);
		if (st != 0)
			return st > 0 ? 1 : -1;
		left = deadline - now_ms();
		if (left <= 0)
			return 0;
		pfd.fd = 0;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)left) == -1) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		if (pfd.revents == 0)
			continue;
		r = read(0, h + *n, need);
		if (r == 0 || (r == -1 && errno != EINTR && errno != EAGAIN))
			return 0;
		if (r > 0)
			*n += (size_t)r;
	}
}

static uint32_t
u32(const unsigned char *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	    (uint32_t)b[3] << 24;
}

/* n bytes at pos: 0, -1 on an error (errno says), -2 past the end. */
static int
readat(int fd, unsigned char *buf, size_t n, uint32_t pos)
{
	ssize_t r;

	while (n > 0) {
		r = pread(fd, buf, n, (off_t)pos);
		if (r <= 0) {
			if (r == -1 && errno == EINTR)
				continue;
			return r == 0 ? -2 : -1;
		}
		buf += r;
		n -= (size_t)r;
		pos += (uint32_t)r;
	}
	return 0;
}

/*
 * Find key in the cdb on fd (D. J. Bernstein's constant database: 256
 * hash tables, addressed by the low byte of the hash).  Returns 1 with
 * the data's position and length in *dpos and *dlen, 0 if the key is
 * absent, -1 on a read error, -2 if the file is too short for a cdb.
 * The data may be empty: tcprules writes nothing for a bare "allow".
 */
static int
cdb_find(int fd, const char *key, uint32_t *dpos, uint32_t *dlen)
{
	unsigned char b[8];
	char k[64];
	size_t klen = strlen(key);
	uint32_t h = 5381, tpos, tlen, slot, i, pos;
	int r;

	for (i = 0; i < klen; i++)
		h = ((h << 5) + h) ^ (unsigned char)key[i];
	if ((r = readat(fd, b, 8, (h & 255) * 8)) != 0)
		return r;
	tpos = u32(b);
	tlen = u32(b + 4);
	if (tlen == 0)
		return 0;
	slot = (h >> 8) % tlen;
	for (i = 0; i < tlen; i++) {
		if ((r = readat(fd, b, 8, tpos + ((slot + i) % tlen) * 8)) !=
		    0)
			return r;
		pos = u32(b + 4);
		if (pos == 0)
			return 0;
		if (u32(b) != h)
			continue;
		if ((r = readat(fd, b, 8, pos)) != 0)
			return r;
		if (u32(b) != klen || klen > sizeof k)
			continue;
		if ((r = readat(fd, (unsigned char *)k, klen, pos + 8)) != 0)
			return r;
		if (memcmp(k, key, klen) == 0) {
			*dpos = pos + 8 + (uint32_t)klen;
			*dlen = u32(b + 4);
			return 1;
		}
	}
	return 0;
}

/*
 * The IPv6 address ip as the tcpserver of ucspi-tcp-ipv6 writes
 * $TCPREMOTEIP, the form it looks up in the rules: hex groups in lower
 * case without leading zeros, the first of the longest runs of zero
 * groups written "::", even a run of one.  inet_ntop() leaves a single
 * zero group alone (RFC 5952): 2001:db8:0:1:1:1:1:1 is
 * 2001:db8::1:1:1:1:1 to tcpserver.  -1 if ip is no IPv6 address.
 */
static int
tcpserver6(char *out, size_t n, const char *ip)
{
	unsigned char b[16];
	unsigned int g[8];
	int i, at = -1, len = 0, run, w;
	size_t k = 0;

	if (inet_pton(AF_INET6, ip, b) != 1)
		return -1;
	for (i = 0; i < 8; i++)
		g[i] = (unsigned int)b[i + i] << 8 | b[i + i + 1];
	for (i = 0; i < 8; i += run > 0 ? run : 1) {
		run = 0;
		while (i + run < 8 && g[i + run] == 0)
			run++;
		if (run > len) {
			at = i;
			len = run;
		}
	}
	for (i = 0; i < 8; i++) {
		if (i == at) {
			w = snprintf(out + k, n - k, i == 0 ? "::" : ":");
			i += len - 1;
		} else
			w = snprintf(out + k, n - k, i < 7 ? "%x:" : "%x", g[i]);
		if (w < 0 || (size_t)w >= n - k)
			return -1;
		k += (size_t)w;
	}
	return 0;
}

/*
 * The instructions of one rule, data[0..len) with data[len] a NUL: a
 * list of NUL-terminated instructions, as tcprules writes them and
 * tcpserver reads them: "D" denies, and ends the list; "+VAR=value"
 * sets a variable, each by set(VAR, value, arg); anything else is
 * ignored, as tcpserver ignores it, after set(it, NULL, arg).  Returns
 * 1 (allow), 0 (deny) or -1 if set() failed.
 */
static int
rule_read(char *data, size_t len, int (*set)(const char *, const char *,
    void *), void *arg)
{
	size_t i, j;
	char *eq;

	for (i = 0; i < len; i = j + 1) {
		j = i + strlen(data + i);
		if (data[i] == 'D')
			return 0;
		eq = data[i] == '+' ? strchr(data + i + 1, '=') : NULL;
		if (eq != NULL) {
			*eq = '\0';
			if (set(data + i + 1, eq + 1, arg) == -1)
				return -1;
		} else if (set(data + i, NULL, arg) == -1)
			return -1;
	}
	return 1;
}

/* rule_read()'s set for a client: into the environment */
static int
rule_setenv(const char *var, const char *value, void *arg)
{
	(void)arg;
	return value == NULL ? 0 : setenv(var, value, 1);
}

/*
 * Apply the tcprules cdb at path to the client ip, as tcpserver -x does:
 * the address, then shorter and shorter prefixes ending in a dot (for
 * IPv6, in a colon), then the empty default; the first rule found
 * applies, empty or not; an IPv6 address in tcpserver's form
 * (tcpserver6()).  Its instructions are read by rule_read().  Returns 1
 * (allow), 0 (deny), -1 if the cdb cannot be read (errno says why) or
 * -2 if it is no cdb.
 */
int
rules_apply(const char *path, const char *ip)
{
	char key[PROXY_ADDR + 1], *data;
	uint32_t dpos = 0, len = 0;
	size_t k = strlen(ip);
	char sep = strchr(ip, ':') != NULL ? ':' : '.';
	int fd, found, e;

	if (sep != ':' || tcpserver6(key, sizeof key, ip) == -1) {
		if (k >= sizeof key) {
			errno = EINVAL;
			return -1;
		}
		memcpy(key, ip, k + 1);
	}
	k = strlen(key);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	for (;;) {
		found = cdb_find(fd, key, &dpos, &len);
		if (found != 0 || k == 0)
			break;
		/* the next shorter prefix that ends in the separator */
		key[--k] = '\0';
		while (k > 0 && key[k - 1] != sep)
			key[--k] = '\0';
	}
	if (found <= 0 || len == 0) {	/* an error, no rule, a bare allow */
		e = errno;
		(void)close(fd);
		errno = e;
		return found < 0 ? found : 1;
	}
	data = len > RULES_DATAMAX ? NULL : malloc((size_t)len + 1);
	found = data == NULL ? -1 :
	    readat(fd, (unsigned char *)data, len, dpos);
	e = data != NULL ? errno : len > RULES_DATAMAX ? EFBIG : ENOMEM;
	(void)close(fd);
	if (found != 0) {
		free(data);
		errno = e;
		return found;
	}
	data[len] = '\0';
	found = rule_read(data, len, rule_setenv, NULL);
	free(data);
	return found;
}

/* rules_check()'s rule, for rule_read()'s set: the key and the caller's
 * function */
struct rulecheck {
	const char *key;
	size_t klen;
	int (*each)(const char *, size_t, const char *, const char *, void *);
	void *arg;
};

static int
rule_each(const char *var, const char *value, void *arg)
{
	const struct rulecheck *c = arg;

	return c->each(c->key, c->klen, var, value, c->arg);
}

/*
 * -n: read every rule of the cdb at path, as rules_apply() would read
 * it for a client it applies to: the 256 hash tables must lie within the
 * file, and the records (key length, data length, key, data) fill the
 * space before the first table exactly.  Each rule is read by
 * rule_read(), which calls each(key, klen, var, value, arg) for each of
 * its instructions (value NULL: one that tcpserver ignores); each()
 * returns 0, or -1 to stop.  Returns the number of
 * rules, -1 if the cdb cannot be read (errno says why; EFBIG for a rule
 * longer than RULES_DATAMAX) or -2 if it is no cdb.
 */
long
rules_check(const char *path, int (*each)(const char *, size_t,
    const char *, const char *, void *), void *arg)
{
	unsigned char head[2048], b[8];
	struct rulecheck c;
	struct stat st;
	char *buf = NULL;
	uint32_t pos, end, klen, dlen, tpos, tlen;
	long n = 0;
	size_t i;
	int fd, r = 0, e;

	c.each = each;
	c.arg = arg;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		r = -1;
	else if (st.st_size < (off_t)sizeof head ||
	    (uintmax_t)st.st_size > UINT32_MAX)
		r = -2;
	else
		r = readat(fd, head, sizeof head, 0);
	end = r == 0 ? u32(head) : 0;
	for (i = 0; r == 0 && i < sizeof head; i += 8) {
		tpos = u32(head + i);
		tlen = u32(head + i + 4);
		if (tpos < end || tpos < sizeof head || tlen > 0x1fffffff ||
		    (off_t)tpos + (off_t)tlen * 8 > st.st_size)
			r = -2;
	}
	/* the rule and its key, NUL-terminated, one after the other */
	if (r == 0 && (buf = malloc((size_t)RULES_DATAMAX + 2 +
	    PROXY_KEYMAX + 1)) == NULL)
		r = -1;
	for (pos = sizeof head; r == 0 && pos < end; pos += 8 + klen + dlen) {
		if (end - pos < 8 || (r = readat(fd, b, 8, pos)) != 0)
			break;
		klen = u32(b);
		dlen = u32(b + 4);
		if (klen > end - pos - 8 || dlen > end - pos - 8 - klen ||
		    klen > PROXY_KEYMAX) {
			r = -2;
			break;
		}
		if (dlen > RULES_DATAMAX) {
			errno = EFBIG;
			r = -1;
			break;
		}
		if ((r = readat(fd, (unsigned char *)buf, dlen, pos + 8 +
		    klen)) != 0 || (r = readat(fd, (unsigned char *)buf +
		    dlen + 1, klen, pos + 8)) != 0)
			break;
		buf[dlen] = '\0';
		buf[dlen + 1 + klen] = '\0';
		n++;
		c.key = buf + dlen + 1;
		c.klen = klen;
		if (rule_read(buf, dlen, rule_each, &c) == -1) {
			r = -1;
			break;
		}
	}
	if (r == 0 && pos != end)
		r = -2;
	e = errno;
	free(buf);
	(void)close(fd);
	errno = e;
	return r != 0 ? r : n;
}
