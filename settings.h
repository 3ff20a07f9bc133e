/* settings.h: earlytalker's settings: its options, with what the
 * environment (the -x rules) changes per client, and -n's check. */
#ifndef SETTINGS_H
#define SETTINGS_H

struct settings {
	int defer;		/* 1: -d, mark and exec; 0: reject */
	int observe;		/* 1: -o or $EARLYTALKER_OBSERVE: log each
				 * decision as "observe:", carry out none */
	int temporary;		/* 1: -t, 421; 0: -p, 554; for a marked
				 * client, what its mark says */
	int verbosity;		/* 0 -q: errors; 1: refusals and marks;
				 * 2 -v: passes, skips, hangups too */
	unsigned long wait_min;	/* -w, 0..WAIT_MAX ms */
	unsigned long wait_max;	/* -w, wait_min..WAIT_MAX ms */
	unsigned long linger_ms;	/* -l, 0..30000 */
	const char *teaser;	/* -b: text of the 220- line, or NULL */
	const char *cachedir;	/* -c: the pass cache, or NULL */
	unsigned long ttl_ms;	/* -C, 1 s..30 days */
	int proxy;		/* 1: -P, every client comes via PROXY */
	const char *rules;	/* -x: tcprules cdb for the clients that no
				 * tcpserver -x has seen: proxied ones and
				 * inetd's */
};

void env_wait(struct settings *);
void env_observe(struct settings *);
int proxied(const struct settings *);
const char *action(const struct settings *, int);
int check(struct settings *, const char *);

#endif
