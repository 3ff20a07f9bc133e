/* fuzz_smtp.c: libFuzzer harness for the parsers of client and server
 * input: smtp.c, scan.c, proxy.c's parser of the PROXY header and
 * log.c's opt_seconds().  Build and run with "make fuzz" (clang).  The
 * input is fed in pieces whose sizes come from its first byte, so that
 * lines, replies and bodies split at every place, and each result is
 * checked against what the functions promise. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proxy.h"
#include "scan.h"
#include "smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(int ok)
{
	if (!ok)
		abort();
}

/*
 * The plain form of a command line of n bytes with its LF, written out
 * from its definition in smtp.h and the man page, not from smtp.c: a verb
 * of letters (one of the list, not DATA), a space and printable or 8-bit
 * bytes or nothing, CR LF, at most SMTP_PLAINMAX bytes; BDAT only where
 * the relay trusts its size (chunking), with a size of plain digits, no
 * leading zero, under 2^31, and LAST or nothing.
 */
static int
plainline(const char *s, size_t n, int chunking)
{
	static const char *const list[] = { "HELO", "EHLO", "MAIL", "RCPT",
	    "RSET", "NOOP", "QUIT", "VRFY", "EXPN", "HELP", "STARTTLS",
	    "AUTH", "BDAT", "ETRN", NULL };
	char verb[16];
	unsigned long long size = 0;
	size_t v, i;
	int ok = 0;

	if (n < 3 || n > SMTP_PLAINMAX || s[n - 1] != '\n' || s[n - 2] != '\r')
		return 0;
	for (v = 0; v < n - 2 && v < sizeof verb - 1 &&
	    ((s[v] >= 'A' && s[v] <= 'Z') || (s[v] >= 'a' && s[v] <= 'z')); v++)
		verb[v] = (char)(s[v] & ~0x20);
	verb[v] = '\0';
	if (v == 0 || (v < n - 2 && s[v] != ' '))
		return 0;
	for (i = v; i < n - 2; i++)
		if ((unsigned char)s[i] < 32 || s[i] == 127)
			return 0;
	for (i = 0; list[i] != NULL; i++)
		ok |= strcmp(verb, list[i]) == 0;
	if (!ok || strcmp(verb, "BDAT") != 0)
		return ok;
	if (!chunking)
		return 0;
	i = 5;
	if (n < 8 || s[4] != ' ' || s[i] < '0' || s[i] > '9' ||
	    (s[i] == '0' && s[i + 1] != '\r' && s[i + 1] != ' '))
		return 0;
	while (s[i] >= '0' && s[i] <= '9' && size < (1ULL << 31))
		size = size * 10 + (unsigned long long)(s[i++] - '0');
	if (size >= (1ULL << 31))
		return 0;
	if (i + 7 == n && s[i] == ' ' && (s[i + 1] & ~0x20) == 'L' &&
	    (s[i + 2] & ~0x20) == 'A' && (s[i + 3] & ~0x20) == 'S' &&
	    (s[i + 4] & ~0x20) == 'T')
		i += 5;
	return i + 2 == n;
}

/* Every byte of escaped or reply text is printable. */
static void
printable(const char *s)
{
	for (; *s != '\0'; s++)
		check((unsigned char)*s >= 32 && (unsigned char)*s <= 126);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct smtp_line l;
	static struct smtp_client c;
	static struct smtp_reply r;
	char esc[4 * SMTP_SAMPLE + 1], text[SMTP_TEXTMAX + 1], *z;
	const char *in, *arg, *a;
	struct smtp_rline rl;
	struct proxy_header px;
	size_t n, step, pos, k, total, len, j;
	unsigned long ms;
	int st, verb;

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 64 + 1;
	in = (const char *)data + 1;
	n = size - 1;

	/* the line reader, fed in pieces */
	memset(&l, 0, sizeof l);
	for (pos = 0; pos < n; pos += k) {
		len = n - pos < step ? n - pos : step;
		k = smtp_getline(&l, in + pos, len, &st);
		check(k > 0 && k <= len);
		check(l.len < SMTP_LINEMAX);
		if (st == LINE_OK) {
			check(l.buf[l.len] == '\0');
			verb = smtp_verb(l.buf, l.len, &arg);
			check(arg >= l.buf && arg <= l.buf + l.len);
			check(smtp_verbname(verb) != NULL);
			(void)smtp_syncs(verb);
			a = smtp_addr(arg, &len);
			check(a >= l.buf && a + len <= l.buf + l.len);
		} else if (st == LINE_MORE)
			check(k == len);
	}

	/* the client's stream in a relay, with a 354 now and then */
	memset(&c, 0, sizeof c);
	c.chunking = data[0] & 1;
	total = 0;
	for (pos = 0; pos < n; pos += k) {
		len = n - pos < step ? n - pos : step;
		k = smtp_cscan(&c, in + pos, len, &verb);
		check(k > 0 && k <= len);
		total += k;
		check(smtp_cheld(&c) <= total);
		check(c.mode >= CS_CMD && c.mode <= CS_BLIND);
		if (verb != -1) {
			check(c.lastlen > 0);
			check(verb != V_DOT || c.mode == CS_CMD);
			if (verb == V_DATA && (data[0] & 2))
				smtp_cbody(&c);
		}
	}

	/* command lines alone, each against the definition of the plain
	 * form; a line too long stops the scan once, at SMTP_PLAINMAX */
	memset(&c, 0, sizeof c);
	total = 0;	/* where the current line starts */
	for (pos = 0; pos < n; pos += k) {
		len = n - pos < step ? n - pos : step;
		k = smtp_cscan(&c, in + pos, len, &verb);
		check(k > 0 && k <= len && c.mode == CS_CMD);
		if (verb == V_LONG) {
			check(pos + k - total == SMTP_PLAINMAX &&
			    memchr(in + total, '\n', pos + k - total) == NULL);
		} else if (verb != -1) {
			check(in[pos + k - 1] == '\n' &&
			    c.lastlen == pos + k - total);
			check(c.lastplain == plainline(in + total, c.lastlen,
			    0));
			total = pos + k;
		} else
			check(k == len);
		check(smtp_cheld(&c) == pos + k - total);
	}

	/* a body alone, against the definition of its ends: the first dot
	 * at a line start (after LF, or the body's first byte, and any CRs
	 * after that), followed by CRs and blanks, then perhaps a NUL and
	 * anything, before an LF; strict (V_DOT) when CR LF stands on both sides of
	 * the dot alone */
	memset(&c, 0, sizeof c);
	smtp_cbody(&c);
	for (pos = 0; pos < n; pos += k) {
		len = n - pos < step ? n - pos : step;
		k = smtp_cscan(&c, in + pos, len, &verb);
		check(k > 0 && k <= len);
		if (verb == V_DOT || verb == V_LDOT)
			break;
		check(verb == -1 && k == len);
	}
	for (total = 0; total < n; total++) {
		if (in[total] != '.')
			continue;
		for (j = total; j > 0 && in[j - 1] == '\r'; j--)
			;
		if (j > 0 && in[j - 1] != '\n')
			continue;
		len = total + 1;
		while (len < n && (in[len] == '\r' || in[len] == ' ' ||
		    in[len] == '\t'))
			len++;
		if (len < n && in[len] == '\0')
			while (len < n && in[len] != '\n')
				len++;
		if (len < n && in[len] == '\n')
			break;
	}
	if (total < n) {
		len = len + 1 - total;	/* the dot line's bytes */
		st = len == 3 && in[total + 1] == '\r' && j == total &&
		    (total == 0 || (total >= 2 && in[total - 2] == '\r'));
		check(verb == (st ? V_DOT : V_LDOT) &&
		    pos + k == total + len && c.lastlen == len);
		check(c.mode == (st ? CS_CMD : CS_BODY));
	} else
		check(pos >= n);

	/* the server's stream */
	memset(&r, 0, sizeof r);
	for (pos = 0; pos < n; pos += k) {
		len = n - pos < step ? n - pos : step;
		k = smtp_rscan(&r, in + pos, len, &rl);
		check(k > 0 && k <= len);
		check(rl.code == 0 || rl.code == -1 ||
		    (rl.code >= 100 && rl.code <= 599));
	}

	/* a PROXY header, fed as proxy_read() feeds it: *need at a time */
	for (pos = 0; pos <= n; pos += len) {
		st = proxy_parse((const unsigned char *)in, pos, &len, &px);
		if (st != 0) {
			check(st == -1 || (size_t)st == pos);
			if (st > 0)
				check(px.local || (memchr(px.src, '\0',
				    sizeof px.src) != NULL && px.sport <= 65535));
			break;
		}
		check(len > 0 && len <= PROXY_V1MAX + 65551);
	}

	/* log and reply text */
	k = smtp_escape(esc, sizeof esc, in, n < SMTP_SAMPLE ? n : SMTP_SAMPLE);
	check(strlen(esc) < sizeof esc);
	printable(esc);
	check(k == (n < SMTP_SAMPLE ? n : SMTP_SAMPLE));
	check(smtp_class(in, n) != NULL);

	/* strings: the input up to its first NUL */
	z = malloc(n + 1);
	if (z == NULL)
		return 0;
	memcpy(z, in, n);
	z[n] = '\0';
	smtp_text(text, sizeof text, z);
	printable(text);
	check(strlen(text) <= SMTP_TEXTMAX);
	if (z[0] != '\0') {
		(void)smtp_marked(text, sizeof text, z);
		printable(text);
		check(text[0] != '\0');
	}
	if (opt_seconds(z, 300000, &ms) == 0)
		check(ms <= 300000);
	free(z);
	return 0;
}
