/* relay.c: the DATA check's state machine.  Pure: no I/O, no globals, no
 * allocation; the time comes in as an argument.  wrap.c reads and writes,
 * and calls these after each read and each wakeup.
 *
 * prog's replies are the truth; the client's stream is only followed as
 * far as they confirm it:
 *   - any line a server may take as DATA is held, -D seconds, and the
 *     client must then wait for its reply;
 *   - any 354 starts a body, whatever command it answers, and a client
 *     byte read before the 354 is let go to the client was sent before it;
 *   - after a dot line that ends a body only for lenient servers, the
 *     client's next bytes are held until prog replies (it ended the body:
 *     they are commands) or RELAY_LENIENT_MS pass (they are body);
 *   - a whole reply from prog while a body is open means prog ended it. */

#include <assert.h>
#include <string.h>

#include "relay.h"
#include "smtp.h"

static void
enqueue(struct relay *r, int verb)
{
	assert(r->qlen < RELAY_QUEUE);
	r->queue[(r->qhead + r->qlen++) % RELAY_QUEUE] = verb;
}

static int
dequeue(struct relay *r)
{
	int verb = r->queue[r->qhead];

	r->qhead = (r->qhead + 1) % RELAY_QUEUE;
	r->qlen--;
	return verb;
}

/* Settings and buffers are set, the rest zero: the greeting is owed. */
void
relay_init(struct relay *r, long long now)
{
	r->watching = -1;
	enqueue(r, RELAY_GREETING);
	if (r->synccheck) {	/* the greeting synchronises too */
		r->watching = RELAY_GREETING;
		r->watch_start = now;
	}
	relay_check(r);
}

/* The verdict: the client talked early, from c offset from on. */
static int
verdict(struct relay *r, long long now, int at, size_t from, size_t owed)
{
	r->early = 1;
	r->early_at = at;
	r->early_wait = r->watching != -1 ? now - r->watch_start : 0;
	r->early_from = from;
	r->owed = owed;
	/* nothing from there on goes to prog */
	if (r->c.ok > from)
		r->c.ok = from > r->c.sent ? from : r->c.sent;
	return 1;
}

/*
 * Scan the client's new bytes.  Returns 1 if the client talked early:
 * bytes came after a command whose reply it must wait for.
 */
int
relay_client(struct relay *r, long long now)
{
	struct rbuf *c = &r->c;
	size_t k;
	int verb;

	if (r->early)
		return 1;
	if (r->blind) {
		c->scanned = c->ok = c->len;
		return 0;
	}
	while (c->scanned < c->len) {
		if (r->holding || r->watching != -1)
			return verdict(r, now, r->watching, c->scanned,
			    r->holding || r->qlen == 0 ? r->qlen : r->qlen - 1);
		if (r->lenient || r->at354 || r->starttls ||
		    r->qlen == RELAY_QUEUE)
			break;	/* held until prog answers, or time */
		k = smtp_cscan(&r->cs, c->d + c->scanned, c->len - c->scanned,
		    &verb);
		c->scanned += k;
		if (verb == -1)
			break;
		if (verb == V_LDOT) {
			/* prog may end the body here: what follows waits */
			c->ok = c->scanned;
			r->lenient = 1;
			r->lenient_end = now + RELAY_LENIENT_MS;
			continue;
		}
		r->cmdend = r->cbase + c->scanned;
		if (verb == V_DATA && r->datacheck) {
			r->holding = 1;
			r->hold_end = now + (long long)r->data_ms;
			r->watching = V_DATA;
			r->watch_start = now;
			continue;
		}
		c->ok = c->scanned;
		enqueue(r, verb);
		if (verb == V_STARTTLS)
			r->starttls = 1;
		/* RFC 2920: without PIPELINING, every command synchronises;
		 * the end of a message never does, as BDAT never does */
		if (r->synccheck && (r->pipelining ? smtp_syncs(verb) :
		    verb != V_BDAT && verb != V_AUTH && verb != V_QUIT &&
		    verb != V_DOT)) {
			r->watching = verb;
			r->watch_start = now;
		}
	}
	/* a line that may yet be DATA waits for its end, unless the
	 * client has said all it will */
	if (!r->holding && !r->lenient)
		c->ok = r->ceof && c->scanned == c->len ? c->scanned :
		    c->scanned - smtp_cheld(&r->cs);
	relay_check(r);
	return 0;
}

/*
 * prog said 354, and the client was read since.  Any client byte after
 * the command it answers came before the client could see the 354.
 */
static void
body(struct relay *r, long long now)
{
	unsigned long long end = r->cbase + r->c.len;
	size_t from;

	r->at354 = 0;
	if (r->qlen > 1 || r->holding || end > r->cmdend) {
		from = r->cmdend > r->cbase ?
		    (size_t)(r->cmdend - r->cbase) : 0;
		if (from > r->c.len)
			from = r->c.len;
		(void)verdict(r, now, V_DATA, from, 0);
		return;
	}
	r->p.ok = r->p.scanned;
	r->lastcode = 354;
	if (r->qlen > 0)
		(void)dequeue(r);
	smtp_cbody(&r->cs);
	r->lenient = 0;
	r->watching = -1;
}

/* A whole reply while a body is open: prog ended the body. */
static void
resync(struct relay *r)
{
	if (!r->lenient)
		r->resynced = 1;	/* where we saw no end */
	r->lenient = 0;
	smtp_ccmd(&r->cs);
	r->cmdend = r->cbase + r->c.scanned;
}

/*
 * Scan prog's new bytes and act on each reply as its last line comes.
 * Only whole replies are cleared to go to the client, so that a refusal
 * never lands in the middle of one.  At a 354 it stops, with at354 set:
 * the caller reads what the client has sent, relay_client(), then calls
 * again.  A "reply" that fills the buffer goes on in pieces: nothing else
 * would make room for its end.
 */
void
relay_prog(struct relay *r, long long now)
{
	struct rbuf *p = &r->p;
	struct smtp_rline rl;
	int verb;

	if (r->early)
		return;
	if (r->at354) {
		body(r, now);
		if (r->early)
			return;
	}
	if (r->blind) {
		p->ok = p->scanned = p->len;
		return;
	}
	while (p->scanned < p->len) {
		p->scanned += smtp_rscan(&r->rs, p->d + p->scanned,
		    p->len - p->scanned, &rl);
		if (rl.code == 0 || !rl.final)
			continue;
		if (rl.code == 354) {
			r->at354 = 1;
			relay_check(r);
			return;
		}
		p->ok = p->scanned;
		if (rl.code < 0)
			continue;	/* no reply line: it ends nothing */
		r->lastcode = rl.code;
		if (r->cs.mode == CS_BODY) {
			resync(r);
			continue;
		}
		if (r->qlen == 0)
			continue;	/* a reply nobody asked for */
		verb = dequeue(r);
		if (verb == V_EHLO && rl.code == 250) {
			r->cs.chunking = (rl.ext & EXT_CHUNKING) != 0;
			r->pipelining = (rl.ext & EXT_PIPELINING) != 0;
		}
		if (verb == V_STARTTLS) {
			r->starttls = 0;
			if (rl.code == 220) {
				r->blind = 1;
				r->cs.mode = CS_BLIND;
				p->ok = p->scanned = p->len;
				break;
			}
		}
		if (r->qlen == 0 && !r->holding)
			r->watching = -1;
	}
	if (p->len == p->size && p->ok == p->sent)
		p->ok = p->scanned = p->len;
	relay_check(r);
}

/*
 * The deadlines: a held DATA goes on to prog; the bytes after a lenient
 * end go on as body.  Returns the next deadline, or -1 for none.  The
 * caller calls relay_client() after, to scan what was held.
 */
long long
relay_tick(struct relay *r, long long now)
{
	long long next = -1;

	if (r->early)
		return -1;
	if (r->holding && now >= r->hold_end) {
		r->holding = 0;
		r->c.ok = r->c.scanned;
		enqueue(r, V_DATA);
	}
	if (r->lenient && now >= r->lenient_end)
		r->lenient = 0;	/* prog goes on with the body */
	if (r->holding)
		next = r->hold_end;
	if (r->lenient && (next == -1 || r->lenient_end < next))
		next = r->lenient_end;
	relay_check(r);
	return next;
}

/* Move the bytes written on out of a buffer's way. */
void
relay_compact(struct relay *r, struct rbuf *b)
{
	if (b->sent == 0)
		return;
	memmove(b->d, b->d + b->sent, b->len - b->sent);
	b->len -= b->sent;
	b->ok -= b->sent;
	b->scanned -= b->sent;
	if (b == &r->c)
		r->cbase += b->sent;
	b->sent = 0;
	relay_check(r);
}

/* One side is gone: what the client sent and prog has not taken never
 * will be.  Nothing is held any more. */
void
relay_cdrop(struct relay *r)
{
	r->cbase += r->c.len;
	r->c.len = r->c.ok = r->c.sent = r->c.scanned = 0;
	r->holding = 0;
	r->lenient = 0;
	relay_check(r);
}

/* Does the client still wait for a reply, or is it inside a message?
 * Then prog's end needs a 421 from us. */
int
relay_owes(const struct relay *r)
{
	if (r->lastcode == 221 || r->lastcode == 421 || r->blind)
		return 0;
	return r->qlen > 0 || r->holding || r->at354 ||
	    r->cs.mode == CS_BODY || r->cs.mode == CS_CHUNK;
}

/* The invariants, in debug and sanitizer builds (no NDEBUG). */
void
relay_check(const struct relay *r)
{
	const struct rbuf *b[2];
	int i;

	b[0] = &r->c;
	b[1] = &r->p;
	for (i = 0; i < 2; i++) {
		assert(b[i]->sent <= b[i]->ok);
		assert(b[i]->ok <= b[i]->scanned);
		assert(b[i]->scanned <= b[i]->len);
		assert(b[i]->len <= b[i]->size);
	}
	assert(r->qlen <= RELAY_QUEUE && r->qhead < RELAY_QUEUE);
	assert(r->cmdend <= r->cbase + r->c.scanned || r->early);
	assert(!r->holding || r->watching == V_DATA);
	assert(!r->holding || !r->lenient);
	assert(!r->lenient || r->cs.mode == CS_BODY);
	assert(!r->at354 || r->p.ok < r->p.scanned);
	(void)b;
	(void)i;
}
