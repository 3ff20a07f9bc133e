/* settings.c: earlytalker's settings beyond its options: what the
 * environment, which the -x rules set per client, changes
 * ($EARLYTALKER_WAIT, $EARLYTALKER_OBSERVE, $EARLYTALKER_PROXY), and -n:
 * the check of the whole configuration, each rule's settings too, and
 * its report. */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "io.h"
#include "rules.h"
#include "settings.h"
#include "smtp.h"
#include "wait.h"

/*
 * A value of $EARLYTALKER_OBSERVE, found where ("" for the environment;
 * for -n, the rule that sets it): present turns observing on, whatever
 * it holds.  Empty is its form; another value, "0" or "no" too, warns,
 * since it may have been meant to turn observing off.
 */
static void
observe_check(const char *v, const char *where)
{
	char esc[4 * 20 + 1];

	if (*v == '\0')
		return;
	(void)smtp_escape(esc, sizeof esc, v, strlen(v) > 20 ? 20 : strlen(v));
	log_line("warning: %sEARLYTALKER_OBSERVE \"%s\" is not empty: "
	    "observing", where, esc);
}

/* The environment's $EARLYTALKER_WAIT, from the rules, in place of -w. */
void
env_wait(struct settings *cf)
{
	const char *v = getenv("EARLYTALKER_WAIT");

	if (v != NULL)
		(void)wait_check(v, "", &cf->wait_min, &cf->wait_max);
}

/* The environment's $EARLYTALKER_OBSERVE, from the rules, or -o. */
void
env_observe(struct settings *cf)
{
	const char *v = getenv("EARLYTALKER_OBSERVE");

	if (v != NULL) {
		observe_check(v, "");
		cf->observe = 1;
	}
}

/* Does a PROXY header come first?  -P, or $EARLYTALKER_PROXY. */
int
proxied(const struct settings *cf)
{
	return cf->proxy || getenv("EARLYTALKER_PROXY") != NULL;
}

/* What is done to a client that talked first or came marked, as the log
 * and -n say it; tease: after a 220- line. */
const char *
action(const struct settings *cf, int tease)
{
	return cf->defer ? "mark" : cf->temporary ? "reject 421" : tease ?
	    "reject 550" : "reject 554";
}

/* -n: one instruction of a -x rule, as a client that it applies to
 * would get it: warn of what would be warned of then.  arg: the
 * settings. */
static int
check_rule(const char *key, size_t klen, const char *var, const char *value,
    void *arg)
{
	const struct settings *cf = arg;
	char k[4 * 40 + 1], v[4 * 40 + 1], where[PATH_MAX + 4 * 40 + 32];
	unsigned long min = cf->wait_min, max = cf->wait_max;

	(void)smtp_escape(k, sizeof k, key, klen > 40 ? 40 : klen);
	(void)snprintf(where, sizeof where, "rules %s: rule \"%s\": ",
	    cf->rules, k);
	if (value == NULL) {
		(void)smtp_escape(v, sizeof v, var,
		    strlen(var) > 40 ? 40 : strlen(var));
		log_line("warning: %s\"%s\" is not D or +VAR=value: ignored",
		    where, v);
	} else if (strcmp(var, "EARLYTALKER_WAIT") == 0)
		(void)wait_check(value, where, &min, &max);
	else if (strcmp(var, "EARLYTALKER_OBSERVE") == 0)
		observe_check(value, where);
	return 0;
}

/* -n: the settings, one "name value" a line on fd 1; prog as found. */
static void
report(const struct settings *cf, const char *prog)
{
	char text[SMTP_TEXTMAX + 1], t[64];

	if (cf->teaser != NULL)
		smtp_text(text, sizeof text, cf->teaser);
	setting("observe", "%s", cf->observe ? "yes" : "no");
	setting("wait", "%s", wait_text(t, sizeof t, cf->wait_min,
	    cf->wait_max));
	setting("action", "%s", action(cf, cf->teaser != NULL));
	setting("linger", "%s", elapsed(t, sizeof t,
	    (long long)cf->linger_ms));
	setting("log", "%s", cf->verbosity == 0 ? "quiet" :
	    cf->verbosity == 1 ? "default" : "verbose");
	setting("teaser", "%s", cf->teaser != NULL ? text : "-");
	setting("cache", "%s", cf->cachedir != NULL ? cf->cachedir : "-");
	setting("ttl", "%s", elapsed(t, sizeof t, (long long)cf->ttl_ms));
	setting("proxy", "%s", proxied(cf) ? "yes" : "no");
	setting("rules", "%s", cf->rules != NULL ? cf->rules : "-");
	setting("prog", "%s", prog);
}

/*
 * -n: check the configuration, without a client: the options (read by
 * earlytalker's options()), the environment, the -x rules, each of
 * them, the -c directory (written and removed as this user) and prog
 * (found as execvp() would), each by the functions a run uses.  fd 0 is
 * never touched.  Print the settings (report()), and warnings and fatal
 * lines on fd 2 (without a client's address: log_init() said so).
 * Returns the exit code: 0, or 111 if a run would fail for every client.
 */
int
check(struct settings *cf, const char *argv0)
{
	char prog[PATH_MAX];
	long nrules = 0;
	int bad = 0;

	env_wait(cf);
	env_observe(cf);
	check_env();
	if (cf->rules != NULL)
		nrules = rules_check(cf->rules, check_rule, cf);
	if (nrules < 0) {
		log_fatal("unable to read rules %s: %s", cf->rules,
		    nrules == -2 ? "not a cdb" : strerror(errno));
		bad = 1;
	}
	if (cf->cachedir != NULL && cache_check(cf->cachedir) == -1)
		bad = 1;
	if (prog_find(argv0, prog, sizeof prog) == -1) {
		log_fatal("unable to run %s: %s", argv0, strerror(errno));
		(void)snprintf(prog, sizeof prog, "%s", argv0);
		bad = 1;
	}
	report(cf, prog);
	return bad ? 111 : 0;
}
