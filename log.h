/* log.h: log lines, usage errors, option values and -n's report, for
 * both programs. */
#ifndef LOG_H
#define LOG_H

#include <stddef.h>

#ifdef __GNUC__
#define PRINTFLIKE(f, a) __attribute__((format(printf, f, a)))
#define NORETURN __attribute__((noreturn))
#else
#define PRINTFLIKE(f, a)
#define NORETURN
#endif

#define LOGMAX 1000		/* a log line, newline included, is shorter */
#define SYSLOG_TAG "earlytalker"	/* syslog's tag, for both programs */

void log_init(const char *, const char *);
void log_line(const char *, ...) PRINTFLIKE(1, 2);
void log_fatal(const char *, ...) PRINTFLIKE(1, 2);
void log_pass_on(void);
void die_usage(const char *, const char *, int, const char *, const char *)
    NORETURN;
int opt_seconds(const char *, unsigned long, unsigned long *);
void check_env(void);
void setting(const char *, const char *, ...) PRINTFLIKE(2, 3);

#endif
