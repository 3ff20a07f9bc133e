/* fuzz_smtp.c: libFuzzer harness for smtp.c, the parsers of client and
 * server input.  Build and run with "make fuzz" (clang).  The input is
 * fed in pieces whose sizes come from its first byte, so that lines,
 * replies and bodies split at every place, and each result is checked
 * against what the functions promise. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(int ok)
{
	if (!ok)
		abort();
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
	struct smtp_proxy px;
	size_t n, step, pos, k, total, len;
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

	/* a body alone, against the plain definition of its ends: the first
	 * dot alone on a line, after LF (or at the start) and before LF or
	 * CR LF; strict (V_DOT) when CR LF stands on both sides */
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
	for (total = 0; total + 2 <= n; total++)
		if (in[total] == '.' && (total == 0 || in[total - 1] == '\n') &&
		    (in[total + 1] == '\n' || (total + 3 <= n &&
		    in[total + 1] == '\r' && in[total + 2] == '\n')))
			break;
	if (total + 2 <= n) {
		len = in[total + 1] == '\r' ? 3 : 2;
		st = len == 3 && (total == 0 || (total >= 2 &&
		    in[total - 2] == '\r'));
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
		st = smtp_proxy((const unsigned char *)in, pos, &len, &px);
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
	if (smtp_seconds(z, 300000, &ms) == 0)
		check(ms <= 300000);
	free(z);
	return 0;
}
