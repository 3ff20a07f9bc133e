/* rules.c: the tcprules cdb of -x, read as tcpserver -x reads it, for a
 * client that no tcpserver has seen: one that came through a load
 * balancer's PROXY header and one that inetd, xinetd or systemd handed
 * on, alike.  rules_apply() applies a client's rule; rules_check() reads
 * every rule, for -n. */

#include <sys/types.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "rules.h"

#define CDB_HEAD 2048		/* the 256 hash tables' places, at the start */

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
	char key[IP_TEXT + 1], *data;
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
 * -n: do the 256 hash tables of the cdb on fd lie within the file, after
 * the records?  *end is where the records end (the first table).  0, -1
 * on a read error (errno says why), -2 if it is no cdb.
 */
static int
cdb_tables(int fd, uint32_t *end)
{
	unsigned char head[CDB_HEAD];
	struct stat st;
	uint32_t tpos, tlen;
	size_t i;
	int r;

	if (fstat(fd, &st) == -1)
		return -1;
	if (st.st_size < (off_t)sizeof head ||
	    (uintmax_t)st.st_size > UINT32_MAX)
		return -2;
	if ((r = readat(fd, head, sizeof head, 0)) != 0)
		return r;
	*end = u32(head);
	for (i = 0; i < sizeof head; i += 8) {
		tpos = u32(head + i);
		tlen = u32(head + i + 4);
		if (tpos < *end || tpos < sizeof head || tlen > 0x1fffffff ||
		    (off_t)tpos + (off_t)tlen * 8 > st.st_size)
			return -2;
	}
	return 0;
}

/*
 * -n: the record at *pos (key length, data length, key, data), within
 * end: its rule and its key into buf, NUL-terminated, one after the
 * other, each instruction given to c's function by rule_read(); *pos
 * moves past it.  0, -1 (errno says why; EFBIG for a rule longer than
 * RULES_DATAMAX) or -2 if the record does not fit: no cdb.
 */
static int
rule_record(int fd, uint32_t *pos, uint32_t end, char *buf,
    struct rulecheck *c)
{
	unsigned char b[8];
	uint32_t klen, dlen;
	int r;

	if (end - *pos < 8)
		return -2;
	if ((r = readat(fd, b, 8, *pos)) != 0)
		return r;
	klen = u32(b);
	dlen = u32(b + 4);
	if (klen > end - *pos - 8 || dlen > end - *pos - 8 - klen ||
	    klen > RULES_KEYMAX)
		return -2;
	if (dlen > RULES_DATAMAX) {
		errno = EFBIG;
		return -1;
	}
	if ((r = readat(fd, (unsigned char *)buf, dlen, *pos + 8 + klen)) !=
	    0 || (r = readat(fd, (unsigned char *)buf + dlen + 1, klen,
	    *pos + 8)) != 0)
		return r;
	buf[dlen] = '\0';
	buf[dlen + 1 + klen] = '\0';
	c->key = buf + dlen + 1;
	c->klen = klen;
	*pos += 8 + klen + dlen;
	return rule_read(buf, dlen, rule_each, c) == -1 ? -1 : 0;
}

/*
 * -n: read every rule of the cdb at path, as rules_apply() would read
 * it for a client it applies to: the hash tables must lie within the
 * file (cdb_tables()), and the records fill the space before the first
 * table exactly (rule_record()).  Each rule is read by rule_read(),
 * which calls each(key, klen, var, value, arg) for each of its
 * instructions (value NULL: one that tcpserver ignores); each() returns
 * 0, or -1 to stop.  Returns the number of rules, -1 if the cdb cannot
 * be read (errno says why) or -2 if it is no cdb.
 */
long
rules_check(const char *path, int (*each)(const char *, size_t,
    const char *, const char *, void *), void *arg)
{
	struct rulecheck c;
	char *buf = NULL;
	uint32_t pos = CDB_HEAD, end = 0;
	long n = 0;
	int fd, r, e;

	c.each = each;
	c.arg = arg;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	r = cdb_tables(fd, &end);
	if (r == 0 && (buf = malloc((size_t)RULES_DATAMAX + 2 +
	    RULES_KEYMAX + 1)) == NULL)
		r = -1;
	for (; r == 0 && pos < end; n++)
		r = rule_record(fd, &pos, end, buf, &c);
	if (r == 0 && pos != end)
		r = -2;
	e = errno;
	free(buf);
	(void)close(fd);
	errno = e;
	return r != 0 ? r : n;
}
