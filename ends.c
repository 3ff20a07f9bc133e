/* ends.c: earlytalker-wrap's relay after its verdicts and at its ends:
 * the replies still owed before a refusal, the relay's own last reply,
 * prog's end, the client's, and the end of its reading (at TLS, or a
 * verdict in observe mode).  Pure, as relay.c, whose state (relay.h)
 * they move on; drive.c calls them. */

#include <string.h>

#include "relay.h"
#include "scan.h"
#include "smtp.h"

/*
 * After a verdict: clear the replies owed for the commands before it, as
 * they come, whole.  Returns how many are still owed.
 */
size_t
relay_owed(struct relay *r)
{
	struct rbuf *p = &r->p;
	struct smtp_rline rl;

	while (p->scanned < p->len && r->owed > 0) {
		p->scanned += smtp_rscan(&r->rs, p->d + p->scanned,
		    p->len - p->scanned, &rl);
		if (rl.code == 0 || !rl.final)
			continue;
		p->ok = p->scanned;
		if (rl.code > 0) {
			r->owed--;
			r->lastcode = rl.code;
		}
	}
	if (p->len == p->size && p->ok == p->sent)
		p->ok = p->scanned = p->len;	/* in pieces */
	relay_check(r);
	return r->owed;
}

/*
 * The relay's own last reply, line, in place of prog's bytes that are not
 * cleared: only once the client has taken all that was.  Returns -1 if it
 * has not (or the line does not fit).
 */
int
relay_last(struct relay *r, const char *line)
{
	struct rbuf *p = &r->p;
	size_t k = strlen(line);

	if (p->sent != p->ok || k > p->size)
		return -1;
	memcpy(p->d, line, k);
	p->len = p->ok = p->scanned = k;
	p->sent = 0;
	relay_check(r);
	return 0;
}

/*
 * prog's output has ended: all it said goes to the client, and nothing
 * more goes to prog.  Returns 1 if the client still waits for a reply or
 * is inside a message: then it needs a 421 from us.
 */
int
relay_progeof(struct relay *r)
{
	int owes = relay_owes(r);

	r->p.ok = r->p.scanned = r->p.len;
	relay_cdrop(r);
	return owes;
}

/* The client takes no more: nothing is left to write to it. */
void
relay_gone(struct relay *r)
{
	r->p.ok = r->p.sent = r->p.len = r->p.scanned = 0;
	relay_cdrop(r);
}

/*
 * The relay reads no more and lets every byte pass both ways from here
 * on, unread, what it held too: after prog's 220 to STARTTLS, and in
 * observe mode after a verdict, which it takes back.
 */
void
relay_blind(struct relay *r)
{
	r->early = r->lost = 0;
	r->blind = 1;
	r->cs.mode = CS_BLIND;
	r->holding = r->lenient = r->at354 = r->starttls = 0;
	r->watching = -1;
	r->c.ok = r->c.scanned = r->c.len;
	r->p.ok = r->p.scanned = r->p.len;
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
	if (r->closing || r->lost || r->blind)
		return 0;
	return r->qlen > 0 || r->holding || r->at354 ||
	    r->cs.mode == CS_BODY || r->cs.mode == CS_CHUNK;
}
