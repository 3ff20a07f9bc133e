/* relay.c: the state machine of earlytalker-wrap's relay (-D, -S).
 * Pure: no I/O, no globals, no allocation; the time comes in as an
 * argument.  drive.c reads and writes, and calls these after each read
 * and each wakeup; the relay fuzzer calls the same functions.  What
 * follows a verdict, and either side's end, is ends.c's.
 *
 * A closed world: a client byte goes on at once only where every server
 * reads it the same way, and prog's replies are the truth:
 *   - a command line goes on when it has ended and is in its plain form
 *     (scan.c: a known verb, printable, CR LF, short); any other line,
 *     DATA among them, may be DATA to some server: it is held, -D
 *     seconds, and the client must then wait for its reply;
 *   - any 354 starts a body, and a client byte read before the 354 is let
 *     go to the client was sent before it;
 *   - after a body line that some server may take as the end, the
 *     client's next bytes are held until prog replies (it ended the
 *     body: they are commands) or RELAY_LENIENT_MS pass (they are body);
 *   - a reply where none can be (inside a body or a chunk, or more
 *     replies than commands) means the relay has lost the thread: the
 *     verdict "lost", and nothing more goes on;
 *   - after prog's 421 or 221, prog ends the session: no client byte
 *     goes on, and no verdict of ours follows. */

#include <assert.h>
#include <string.h>

#include "relay.h"
#include "scan.h"
#include "smtp.h"

static void
enqueue(struct relay *r, int verb)
{
	assert(r->qlen < RELAY_QUEUE);
	r->queue[(r->qhead + r->qlen++) % RELAY_QUEUE] = verb;
	r->bdats += verb == V_BDAT;
}

static int
dequeue(struct relay *r)
{
	int verb = r->queue[r->qhead];

	r->qhead = (r->qhead + 1) % RELAY_QUEUE;
	r->qlen--;
	r->bdats -= verb == V_BDAT;
	return verb;
}

/*
 * May a plain BDAT size be taken for the length of its chunk?  Where
 * every server reads the chunk as data: prog offered CHUNKING to the
 * last EHLO (Exim reads the chunk as commands after HELO), its chunk
 * sequence is not broken (Exim's "only RSET accepted now"), and without
 * PIPELINING no BDAT awaits its reply (Exim: 554, then the same).
 */
static int
chunks(const struct relay *r)
{
	return r->chunking && !r->bdatbroken && (r->pipelining ||
	    r->bdats == 0);
}

/* A command line went on: the chunk sequence it opens, ends or breaks. */
static void
sequence(struct relay *r, int verb)
{
	if (verb == V_BDAT)
		r->bdatopen = !r->cs.lastlast;
	else if (r->bdatopen && verb != V_NOOP && verb != V_RSET &&
	    verb != V_QUIT)
		r->bdatbroken = 1;
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

/* The verdict: prog replied where the relay cannot follow it. */
static void
lost(struct relay *r, const char *why)
{
	r->lost = 1;
	r->lost_why = why;
	r->c.ok = r->c.sent;	/* nothing more goes to prog */
	r->holding = r->lenient = 0;
}

/* A line the client must wait for the reply to: with -D held first. */
static void
watch(struct relay *r, long long now, int verb, int hold)
{
	r->watching = verb;
	r->watch_start = now;
	if (hold) {
		r->holding = 1;
		r->held = verb;
		r->hold_end = now + (long long)r->data_ms;
		return;
	}
	r->c.ok = r->c.scanned;
	enqueue(r, verb);
	if (verb == V_STARTTLS)
		r->starttls = 1;
}

/*
 * Must the client wait for the reply to this command before it sends
 * more (-S)?  RFC 2920: without PIPELINING, every command synchronises;
 * the end of a message never does, as BDAT never does.
 */
static int
syncs(const struct relay *r, int verb)
{
	if (r->pipelining)
		return smtp_syncs(verb);
	return verb != V_BDAT && verb != V_AUTH && verb != V_QUIT &&
	    verb != V_DOT;
}

/* A line of the client's ended, with verb: hold it, watch it, or let it
 * go on.  Returns 1 at a verdict. */
static int
ended(struct relay *r, long long now, int verb)
{
	struct rbuf *c = &r->c;

	if (verb == V_LDOT) {
		/* prog may end the body here: what follows waits */
		c->ok = c->scanned;
		r->lenient = 1;
		r->lenient_end = now + RELAY_LENIENT_MS;
		return 0;
	}
	if (verb == V_LONG)	/* two commands to some server */
		return verdict(r, now, r->cs.lastverb,
		    c->scanned - r->cs.lastlen, r->qlen);
	r->cmdend = r->cbase + c->scanned;
	if (verb != V_DOT && !r->cs.lastplain) {
		/* some server may read it otherwise: as DATA */
		watch(r, now, verb, r->datacheck);
		return 0;
	}
	if (verb != V_DOT)
		sequence(r, verb);
	if (r->synccheck && syncs(r, verb)) {
		watch(r, now, verb, 0);
		return 0;
	}
	c->ok = c->scanned;
	enqueue(r, verb);
	if (verb == V_STARTTLS)
		r->starttls = 1;
	return 0;
}

/*
 * Scan the client's new bytes.  Returns 1 if the client talked early:
 * bytes came after a command whose reply it must wait for, or a command
 * line too long for every server to read as one.
 */
int
relay_client(struct relay *r, long long now)
{
	struct rbuf *c = &r->c;
	size_t k;
	int verb;

	if (r->early)
		return 1;
	if (r->lost || r->closing)
		return 0;	/* nothing more goes on */
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
		r->cs.chunking = chunks(r);
		k = smtp_cscan(&r->cs, c->d + c->scanned, c->len - c->scanned,
		    &verb);
		c->scanned += k;
		if (verb == -1)
			break;
		if (ended(r, now, verb))
			return 1;
	}
	/* a command line goes on once it has ended, unless the client has
	 * said all it will */
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
	(void)dequeue(r);
	smtp_cbody(&r->cs);
	r->lenient = 0;
	r->watching = -1;
}

/* A whole reply after a lenient end: prog ended the body there. */
static void
resync(struct relay *r)
{
	r->lenient = 0;
	smtp_ccmd(&r->cs);
	r->cmdend = r->cbase + r->c.scanned;
}

/* Where can this final reply not be?  NULL if it can be. */
static const char *
misplaced(const struct relay *r, int code)
{
	/* the BDAT of a chunk still coming is the last command sent on:
	 * replies to those before it may come, and a refusal of the BDAT
	 * itself (Exim's 503 when no RCPT was taken comes first, then it
	 * reads the chunk) */
	if (r->cs.mode == CS_CHUNK && r->qlen <= 1 &&
	    !(r->qlen == 1 && code >= 400))
		return "a reply inside a BDAT chunk";
	if (r->cs.mode == CS_BODY && (!r->lenient || code == 354))
		return "a reply inside a message";
	if (r->cs.mode != CS_BODY && r->qlen == 0)
		return "a reply to no command";
	return NULL;
}

/* prog said 421 or 221: it ends the session, whatever it answers. */
static void
closing(struct relay *r, int code)
{
	r->p.ok = r->p.scanned;
	r->lastcode = code;
	r->closing = 1;
	r->c.ok = r->c.sent;
	r->holding = r->lenient = 0;
	r->watching = -1;
}

/* A final reply to the command at the queue's head, with what it tells:
 * the extensions, a SASL challenge, TLS.  Returns 1 if the relay is
 * blind from here on. */
static int
answered(struct relay *r, const struct smtp_rline *rl)
{
	int verb = dequeue(r);

	if ((verb == V_EHLO || verb == V_HELO) && rl->code == 250) {
		/* the extensions of this EHLO, none after HELO */
		r->chunking = verb == V_EHLO && (rl->ext & EXT_CHUNKING) != 0;
		r->pipelining = verb == V_EHLO &&
		    (rl->ext & EXT_PIPELINING) != 0;
		r->bdatopen = r->bdatbroken = 0;
	}
	if (verb == V_RSET && rl->code == 250)
		r->bdatopen = r->bdatbroken = 0;
	if (rl->code == 334)
		smtp_csasl(&r->cs);
	if (verb == V_STARTTLS) {
		r->starttls = 0;
		if (rl->code == 220) {
			relay_blind(r);	/* TLS from here on */
			return 1;
		}
	}
	if (r->qlen == 0 && !r->holding)
		r->watching = -1;
	return 0;
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
	const char *why;

	if (r->early || r->lost)
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
		if (rl.code < 0 || r->closing) {
			p->ok = p->scanned;	/* it ends nothing */
			continue;
		}
		if (rl.code == 421 || rl.code == 221) {
			closing(r, rl.code);
			continue;
		}
		why = misplaced(r, rl.code);
		if (why != NULL) {
			lost(r, why);
			return;
		}
		if (rl.code == 354) {
			r->at354 = 1;
			relay_check(r);
			return;
		}
		p->ok = p->scanned;
		r->lastcode = rl.code;
		if (r->cs.mode == CS_BODY)
			resync(r);
		else if (answered(r, &rl))
			break;
	}
	if (p->len == p->size && p->ok == p->sent)
		p->ok = p->scanned = p->len;
	relay_check(r);
}

/*
 * The deadlines: a held line goes on to prog; the bytes after a lenient
 * end go on as body.  Returns the next deadline, or -1 for none.  The
 * caller calls relay_client() after, to scan what was held.
 */
long long
relay_tick(struct relay *r, long long now)
{
	long long next = -1;

	if (r->early || r->lost)
		return -1;
	if (r->holding && now >= r->hold_end) {
		r->holding = 0;
		r->c.ok = r->c.scanned;
		enqueue(r, r->held);
		if (r->held == V_STARTTLS)
			r->starttls = 1;
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
	assert(!r->holding || r->watching == r->held);
	assert(!r->holding || !r->lenient);
	assert(!r->lenient || r->cs.mode == CS_BODY);
	assert(!r->at354 || r->p.ok < r->p.scanned);
	assert(!r->lost || (!r->holding && !r->lenient));
	(void)b;
	(void)i;
}
