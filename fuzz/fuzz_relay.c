/* fuzz_relay.c: a model-based libFuzzer harness for relay.c, the state
 * machine of earlytalker-wrap's DATA check.  Build and run with "make
 * fuzz" (clang).
 *
 * The input chooses a client (polite: waits for every reply; pipelining
 * as RFC 2920 allows; or a bot that never waits), the session it sends
 * (EHLO, MAIL, RCPT, DATA in its lenient spellings, bodies with strict
 * and lenient ends and smuggled commands, BDAT, RSET, NOOP, STARTTLS,
 * QUIT), a server model (strict RFC 5321, qmail-smtpd-like, mailfront-
 * like, Postfix-like), the relay's settings, and the schedule: which
 * side moves next and when time passes.  The relay runs between them with
 * small buffers, as wrap.c runs it.  Checked:
 *   - a message whose body the client sent before it had the 354 is never
 *     delivered;
 *   - a client that waits for every reply the server gives (and whose
 *     grammar the server shares) is never refused, and its session is
 *     delivered as without the relay;
 *   - the bytes that reach each side are exactly the bytes sent, cut at
 *     most, plus the relay's one refusal or 421;
 *   - once the client has said all and time passes the relay's bounds,
 *     nothing is held.
 * A lenient server that answers a message later than RELAY_LENIENT_MS is
 * the documented limit: the server model here answers within a second. */

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "relay.h"
#include "smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define SRV_DELAY 1000		/* ms a server may take to answer */

static void trace(void);

static void
check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_relay: %s\n", what);
		trace();
		abort();
	}
}

/* --- the server models --- */

#define M_STRICT 0		/* RFC 5321: DATA alone, CR LF . CR LF */
#define M_QMAIL 1		/* DATA x is DATA; bare LF: 451, close */
#define M_MAILFRONT 2		/* DATA x is DATA; lenient ends */
#define M_POSTFIX 3		/* leading blanks; lenient ends */
#define M_ODD 4			/* takes any verb it does not know for
				 * DATA: no server should, -S still holds */

struct server {
	int kind, pipelining, chunking;
	int mode;		/* 0 commands, 1 body, 2 chunk, 3 closed */
	char line[1200];
	size_t linelen;
	int body, bare;		/* end matcher; a bare LF in the body */
	unsigned long chunk;
	int last, mail, rcpt, ehlo, bdatok;
	unsigned long long pos;	/* bytes taken */
	unsigned long long bodystart;
	int n354;
	char out[MAXOUT];
	size_t outlen;
	/* replies: after how many input bytes each came */
	unsigned long long at[MAXWAIT + 8];
	int nreplies;
	/* deliveries: where each body began, and which 354 it followed */
	unsigned long long dstart[64];
	int d354[64];
	int ndeliv;
};

static void
say(struct server *s, const char *text)
{
	size_t k = strlen(text);

	if (s->outlen + k > sizeof s->out)
		k = sizeof s->out - s->outlen;
	memcpy(s->out + s->outlen, text, k);
	s->outlen += k;
	if (s->nreplies < MAXWAIT + 8)
		s->at[s->nreplies++] = s->pos;
}

static int
sblank(int c)
{
	return c == ' ' || c == '\t';
}

/* The verb of a line, as this server reads it. */
static int
sverb(const struct server *s, const char *l, size_t n, const char **arg)
{
	size_t i = 0, v;
	char w[16];

	if (s->kind == M_POSTFIX)
		while (i < n && sblank(l[i]))
			i++;
	for (v = 0; i + v < n && !sblank(l[i + v]) && l[i + v] != '\0' &&
	    v < sizeof w - 1; v++)
		w[v] = (char)(l[i + v] >= 'a' && l[i + v] <= 'z' ?
		    l[i + v] - 32 : l[i + v]);
	w[v] = '\0';
	*arg = l + i + v;
	if (s->kind == M_STRICT && strcmp(w, "DATA") == 0 && i + v != n)
		return V_OTHER;	/* DATA takes no argument */
	if (s->kind == M_QMAIL && memchr(l, '\0', n) != NULL &&
	    memchr(l, '\0', n) < (const void *)(l + i + v))
		return V_NONE;
	if (v == 0)
		return V_NONE;
	v = (size_t)smtp_verb(w, v, NULL);
	return s->kind == M_ODD && v == V_OTHER ? V_DATA : (int)v;
}

static void
deliver(struct server *s)
{
	if (s->ndeliv < 64) {
		s->dstart[s->ndeliv] = s->bodystart;
		s->d354[s->ndeliv] = s->n354;
		s->ndeliv++;
	}
}

static void
endbody(struct server *s)
{
	s->mode = 0;
	s->mail = s->rcpt = 0;
	if (s->kind == M_QMAIL && s->bare) {
		say(s, "451 See https://cr.yp.to/docs/smtplf.html.\r\n");
		s->mode = 3;
		return;
	}
	deliver(s);
	say(s, "250 ok queued\r\n");
}

static void
chunkend(struct server *s)
{
	s->mode = 0;
	if (!s->bdatok) {
		say(s, "503 no recipients\r\n");
		return;
	}
	say(s, "250 chunk\r\n");
	if (s->last) {
		if (s->ndeliv < 64) {
			s->dstart[s->ndeliv] = s->bodystart;
			s->d354[s->ndeliv++] = -1;	/* no 354 for BDAT */
		}
		s->mail = s->rcpt = 0;
	}
}

static void
command(struct server *s, const char *l, size_t n)
{
	const char *arg;
	unsigned long k = 0;

	switch (sverb(s, l, n, &arg)) {
	case V_EHLO:
		s->ehlo = 1;
		say(s, s->pipelining && s->chunking ?
		    "250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n" :
		    s->pipelining ? "250-mx\r\n250 PIPELINING\r\n" :
		    s->chunking ? "250-mx\r\n250 CHUNKING\r\n" : "250 mx\r\n");
		break;
	case V_HELO: case V_NOOP:
		say(s, "250 ok\r\n");
		break;
	case V_RSET:
		s->mail = s->rcpt = 0;
		say(s, "250 flushed\r\n");
		break;
	case V_MAIL:
		s->mail = 1;
		say(s, "250 sender ok\r\n");
		break;
	case V_RCPT:
		if (!s->mail) {
			say(s, "503 MAIL first\r\n");
			break;
		}
		s->rcpt = 1;
		say(s, "250 recipient ok\r\n");
		break;
	case V_DATA:
		if (!s->rcpt) {
			say(s, "503 no recipients\r\n");
			break;
		}
		s->mode = 1;
		s->body = 0;
		s->bare = 0;
		s->bodystart = s->pos;
		s->n354++;
		say(s, "354 go ahead\r\n");
		break;
	case V_BDAT:
		while (*arg == ' ')
			arg++;
		while (*arg >= '0' && *arg <= '9' && k < 100000)
			k = k * 10 + (unsigned long)(*arg++ - '0');
		if (!s->chunking || !s->ehlo) {
			say(s, "502 no BDAT\r\n");
			break;
		}
		/* RFC 3030: the chunk is read even when refused */
		s->bdatok = s->rcpt;
		s->last = strstr(arg, "LAST") != NULL;
		s->chunk = k;
		s->bodystart = s->pos;
		if (k == 0)
			chunkend(s);
		else
			s->mode = 2;
		break;
	case V_STARTTLS:
		say(s, "454 TLS not available\r\n");
		break;
	case V_QUIT:
		say(s, "221 bye\r\n");
		s->mode = 3;
		break;
	case V_NONE:
		say(s, "500 empty\r\n");
		break;
	default:
		say(s, "502 unknown\r\n");
	}
}

/* One byte of the body: the end matcher, by the server's rules. */
static void
bodybyte(struct server *s, int c)
{
	int lenient = s->kind == M_MAILFRONT || s->kind == M_POSTFIX;
	int b = s->body;	/* 0 start CRLF, 1 mid, 2 CR, 3 dot, 4 dot CR,
				 * 5 start LF, 6 dot LF, 7 dot CR LF */

	if (c == '\n' && b != 2 && b != 4 && b != 7)
		s->bare = 1;
	switch (c) {
	case '\r':
		s->body = b == 3 ? 4 : b == 6 ? 7 : 2;
		break;
	case '\n':
		if (b == 4 || (lenient && (b == 3 || b == 6 || b == 7))) {
			endbody(s);
			return;
		}
		s->body = b == 2 || b == 7 ? 0 : 5;
		break;
	case '.':
		s->body = b == 0 ? 3 : b == 5 ? 6 : 1;
		break;
	default:
		s->body = 1;
	}
}

static void
serve(struct server *s, const char *d, size_t n)
{
	size_t i;

	for (i = 0; i < n && s->mode != 3; i++) {
		s->pos++;
		switch (s->mode) {
		case 1:
			bodybyte(s, (unsigned char)d[i]);
			break;
		case 2:
			if (--s->chunk == 0)
				chunkend(s);
			break;
		default:
			if (d[i] != '\n') {
				if (s->linelen < sizeof s->line)
					s->line[s->linelen++] = d[i];
				break;
			}
			if (s->linelen > 0 && s->line[s->linelen - 1] == '\r')
				s->linelen--;
			command(s, s->line, s->linelen);
			s->linelen = 0;
		}
	}
}

static void
server_init(struct server *s, int kind, int pipelining, int chunking)
{
	memset(s, 0, sizeof *s);
	s->kind = kind;
	s->pipelining = pipelining;
	s->chunking = chunking;
	say(s, "220 mx ESMTP\r\n");
}

/* --- the client (client.c) --- */

/* How far may the client send now? */
static size_t
limit(const struct client *c)
{
	int i;

	for (i = 0; i < c->nwait; i++)
		if (c->replies < c->wat[i])
			return c->wait[i];
	return c->len;
}

/* Bytes reach the client: count whole replies and 354s. */
static void
receive(struct client *c, const char *d, size_t n, long long step)
{
	size_t i;

	check(c->rlen + n <= sizeof c->rbuf, "client's buffer");
	memcpy(c->rbuf + c->rlen, d, n);
	for (i = c->rlen; i < c->rlen + n; i++) {
		if (c->rbuf[i] != '\n')
			continue;
		if (i - c->rline >= 3 && (i - c->rline == 3 ||
		    c->rbuf[c->rline + 3] != '-')) {
			c->replies++;
			if (memcmp(c->rbuf + c->rline, "354", 3) == 0 &&
			    c->n354 < 64)
				c->got354[c->n354++] = step;
		}
		c->rline = i + 1;
	}
	c->rlen += n;
}

/* --- the run --- */

static struct relay R;
static struct server S, D;	/* with the relay; direct */
static struct client C;
static char cbd[2560], pbd[512];
static long long when[MAXSTREAM];

/* client bytes in flight to the relay, server bytes in flight to it,
 * relay bytes in flight to the server */
static size_t cfly;		/* C.s[cfly, C.sent): not read by the relay */
static size_t sread;		/* S.out[sread, S.outlen): not read by it */
static char tos[MAXSTREAM];	/* what the relay wrote to the server */
static size_t toslen, tostaken;
static long long now, step, srv_since;
static int cin, ceof_seen, pin, shut, refused, owes;

/* The relay reads all the client has sent, as far as it has room. */
static void
read_client(void)
{
	size_t k;

	relay_compact(&R, &R.c);
	k = C.sent - cfly;
	if (k > R.c.size - R.c.len)
		k = R.c.size - R.c.len;
	memcpy(R.c.d + R.c.len, C.s + cfly, k);
	R.c.len += k;
	cfly += k;
	if (cfly == C.len && C.sent == C.len && !R.ceof) {
		R.ceof = 1;
		ceof_seen = 1;
	}
	(void)relay_client(&R, now);
}

/* Has the relay done all it can do without more time? */
static int
relay_idle(void)
{
	return (S.outlen == sread || R.p.len - R.p.sent == R.p.size) &&
	    (C.sent == cfly || R.c.len - R.c.sent == R.c.size) &&
	    R.c.ok == R.c.sent && R.p.ok == R.p.sent;
}

/* The client sends its stream up to offset k. */
static void
send_to(size_t k)
{
	for (; C.sent < k; C.sent++)
		when[C.sent] = step;
}

static void
read_server(void)
{
	size_t k;

	relay_compact(&R, &R.p);
	k = S.outlen - sread;
	if (k > R.p.size - R.p.len)
		k = R.p.size - R.p.len;
	memcpy(R.p.d + R.p.len, S.out + sread, k);
	R.p.len += k;
	sread += k;
	relay_prog(&R, now);
	while (R.at354 && !R.early) {
		read_client();
		relay_prog(&R, now);
	}
	(void)relay_client(&R, now);
}

/* The relay writes to the server; the server takes it in at once or later. */
static void
to_server(void)
{
	size_t k = R.c.ok - R.c.sent;

	if (k > sizeof tos - toslen)
		k = sizeof tos - toslen;
	memcpy(tos + toslen, R.c.d + R.c.sent, k);
	toslen += k;
	R.c.sent += k;
	if (tostaken < toslen && srv_since < 0)
		srv_since = now;
}

static void
server_takes(void)
{
	serve(&S, tos + tostaken, toslen - tostaken);
	tostaken = toslen;
	srv_since = -1;
	if (S.mode == 3 && sread == S.outlen)
		pin = 0;
}

static void
to_client(void)
{
	receive(&C, R.p.d + R.p.sent, R.p.ok - R.p.sent, step);
	R.p.sent = R.p.ok;
}

/* As wrap.c's early(): the commands before go on, then the replies owed,
 * then the refusal. */
static void
refuse(void)
{
	struct smtp_rline rl;
	size_t owed = R.owed, from;
	char all[MAXOUT + 1024];
	size_t n = 0, k;

	refused = 1;
	to_server();
	server_takes();
	/* prog's output after what the relay has: all in the model */
	memcpy(all, R.p.d + R.p.sent, R.p.len - R.p.sent);
	n = R.p.len - R.p.sent;
	k = S.outlen - sread;
	check(n + k <= sizeof all, "refusal buffer");
	memcpy(all + n, S.out + sread, k);
	n += k;
	from = R.p.ok - R.p.sent;
	k = R.p.scanned - R.p.sent;
	while (owed > 0 && k < n) {
		k += smtp_rscan(&R.rs, all + k, n - k, &rl);
		if (rl.code != 0 && rl.final) {
			from = k;
			owed -= rl.code > 0;
		}
	}
	receive(&C, all, from, step);
	receive(&C, "554 5.5.1 refused\r\n", 19, step);
}

static void
escaped(const char *what, const char *d, size_t n)
{
	size_t i;

	fprintf(stderr, "%s: \"", what);
	for (i = 0; i < n; i++)
		if (d[i] == '\n')
			fputs("\\n", stderr);
		else if (d[i] == '\r')
			fputs("\\r", stderr);
		else if ((unsigned char)d[i] < 32 || (unsigned char)d[i] > 126)
			fprintf(stderr, "\\%03o", (unsigned char)d[i]);
		else
			fputc(d[i], stderr);
	fputs("\"\n", stderr);
}

/* What happened, for the report of a failed check. */
static void
trace(void)
{
	fprintf(stderr, "server %d pipelining %d chunking %d; client %d; "
	    "-S %d -D %lu ms; early %d at %d from %lu owed %lu\n", S.kind,
	    S.pipelining, S.chunking, C.kind, R.synccheck, R.data_ms,
	    R.early, R.early_at, (unsigned long)R.early_from,
	    (unsigned long)R.owed);
	fprintf(stderr, "c %lu/%lu/%lu/%lu/%lu p %lu/%lu/%lu/%lu/%lu sread %lu "
	    "at354 %d holding %d lenient %d watching %d qlen %lu mode %d "
	    "now %lld\n", (unsigned long)R.c.sent, (unsigned long)R.c.ok,
	    (unsigned long)R.c.scanned, (unsigned long)R.c.len,
	    (unsigned long)R.c.size, (unsigned long)R.p.sent,
	    (unsigned long)R.p.ok, (unsigned long)R.p.scanned,
	    (unsigned long)R.p.len, (unsigned long)R.p.size,
	    (unsigned long)sread, R.at354, R.holding, R.lenient, R.watching,
	    (unsigned long)R.qlen, R.cs.mode, now);
	escaped("client sent", C.s, C.sent);
	escaped("server got", tos, toslen);
	escaped("server said", S.out, S.outlen);
	escaped("client got", C.rbuf, C.rlen);
}

static int
insync(const struct server *s, const struct client *c)
{
	int i;

	if (s->nreplies != c->ncend + 1)
		return 0;
	for (i = 0; i < c->ncend; i++)
		if (s->at[i + 1] != c->cend[i])
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int kind, pl, ch, polite, i, steps;
	unsigned a;
	long long next, dt;
	size_t k, lim;

	pick_init(data, size);
	kind = (int)pick(5);
	pl = (int)pick(2);
	ch = (int)pick(2);
	memset(&C, 0, sizeof C);
	C.kind = (int)pick(3);
	session(&C, pl, ch);

	/* the server's view of the whole stream, without the relay */
	server_init(&D, kind, pl, ch);
	serve(&D, C.s, C.len);
	polite = C.kind != C_BOT && insync(&D, &C);

	memset(&R, 0, sizeof R);
	R.c.d = cbd;
	R.c.size = 1024 + pick(4) * 512;	/* > SMTP_LINEMAX, as CBUF */
	R.p.d = pbd;
	R.p.size = 128 + pick(4) * 128;
	R.datacheck = 1;
	R.synccheck = (int)pick(3) == 0;
	R.data_ms = pick(3) * 500;
	server_init(&S, kind, pl, ch);
	now = 0;
	step = 0;
	cfly = sread = toslen = tostaken = 0;
	srv_since = -1;
	cin = pin = 1;
	ceof_seen = shut = refused = owes = 0;
	relay_init(&R, now);

	for (steps = 0; steps < 200000; steps++) {
		step++;
		/* as wrap.c: the deadlines once all that is readable is read */
		if ((S.outlen == sread || R.p.len - R.p.sent == R.p.size) &&
		    (C.sent == cfly || R.c.len - R.c.sent == R.c.size)) {
			next = relay_tick(&R, now);
			(void)relay_client(&R, now);
		} else
			next = -1;
		if (R.early) {
			refuse();
			break;
		}
		if (ceof_seen && !shut && R.c.sent == R.c.len &&
		    !R.holding && !R.lenient)
			shut = 1;	/* prog's input ends */
		if (shut && tostaken == toslen && S.mode != 3)
			S.mode = 3;	/* prog exits at its end of file */
		lim = limit(&C);
		a = pick(8);
		if (a == 0 && C.sent < lim) {
			k = C.sent + 1 + pick(64);
			send_to(k < lim ? k : lim);
		} else if (a <= 1 && S.outlen > sread && R.p.len - R.p.sent < R.p.size)
			read_server();
		else if (a <= 2 && C.sent > cfly && R.c.len - R.c.sent < R.c.size)
			read_client();
		else if (a <= 3 && R.c.ok > R.c.sent)
			to_server();
		else if (a <= 4 && tostaken < toslen)
			server_takes();
		else if (a <= 5 && R.p.ok > R.p.sent)
			to_client();
		else if (a == 6 && relay_idle()) {
			/* time passes: the client and the server may be slow,
			 * the server no slower than SRV_DELAY; the relay does
			 * at once all it can */
			dt = (long long)pick(4) * 300;
			if (srv_since >= 0 && now + dt > srv_since + SRV_DELAY)
				dt = srv_since + SRV_DELAY - now;
			if (dt > 0)
				now += dt;
		} else if (C.sent < lim)	/* what can move, in order */
			send_to(lim);
		else if (S.outlen > sread && R.p.len - R.p.sent < R.p.size)
			read_server();
		else if (C.sent > cfly && R.c.len - R.c.sent < R.c.size)
			read_client();
		else if (R.c.ok > R.c.sent)
			to_server();
		else if (tostaken < toslen)
			server_takes();
		else if (R.p.ok > R.p.sent)
			to_client();
		else if (S.mode == 3 && sread == S.outlen && pin) {
			pin = 0;	/* prog is done */
			owes = relay_owes(&R);
			R.p.ok = R.p.scanned = R.p.len;
			relay_cdrop(&R);
		} else if (next != -1)
			now = next;
		else
			break;	/* nothing moves, no deadline */
		if (!pin && R.p.sent == R.p.len)
			break;
	}
	check(steps < 200000, "the run ends");
	relay_check(&R);

	/* what reached the server was sent by the client, in order */
	check(toslen <= C.sent, "server got no more than sent");
	check(memcmp(tos, C.s, toslen) == 0, "server got the client's bytes");
	/* what reached the client came from the server, then a refusal */
	check(C.rlen >= (refused ? 19u : 0u), "client got the refusal");
	k = C.rlen - (refused ? 19 : 0);
	check(k <= S.outlen && memcmp(C.rbuf, S.out, k) == 0,
	    "client got the server's bytes");
	/* no message sent before its 354 is delivered */
	for (i = 0; i < S.ndeliv; i++) {
		if (S.d354[i] < 0 || (kind == M_ODD && !R.synccheck))
			continue;	/* BDAT; a DATA only -S can see */
		check(S.dstart[i] < C.sent, "delivery from what was sent");
		check(S.d354[i] >= 1 && S.d354[i] <= C.n354 &&
		    C.got354[S.d354[i] - 1] < when[S.dstart[i]],
		    "a message sent before its 354 was delivered");
	}
	/* a client that waits for every reply is never refused, and its
	 * session goes as without the relay, to the end */
	if (polite) {
		check(!refused, "a polite client was refused");
		check(S.mode == 3, "polite: the session ended");
		check(S.ndeliv == D.ndeliv, "polite: every message delivered");
		check(C.rlen == D.outlen &&
		    memcmp(C.rbuf, D.out, D.outlen) == 0,
		    "polite: the replies as without the relay");
	}
	/* once the client has said all, nothing stays held */
	if (!refused && ceof_seen)
		check(!R.holding && !R.lenient, "nothing held at the end");
	return 0;
}
