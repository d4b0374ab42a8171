/*
 * log.h: the daemon's voice.
 *
 * One message shape: "stampd: context: reason".  Lines go to stderr, or to
 * syslog(3) once log_syslog() is called.  log_warn adds strerror(errno);
 * log_warnx does not.  fatal and fatalx log and exit(1).
 */
#ifndef STAMP_LOG_H
#define STAMP_LOG_H

#include <stdarg.h>

/*
 * Name the program; the name prefixes every line.  Under systemd's journal
 * (JOURNAL_STREAM names our stderr), lines carry a "<N>" priority instead,
 * syslog(3)'s numbers, and the journal adds the name and the time.
 */
void	log_init(const char *progname);

/* Send every later line to syslog under the daemon facility. */
void	log_syslog(void);

/* SIGHUP: close and reopen the syslog connection (stderr stays as is). */
void	log_reopen(void);

/* Prefix each stderr line with an ISO 8601 UTC time stamp. */
void	log_timestamps(int on);

void	log_info(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_warn(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/*
 * A warning about a client's fault, at most a few a second so that a flood
 * of them cannot flood the log; the rest are only counted by the caller.
 * log_limited adds strerror(errno), log_limitedx does not.
 */
void	log_limited(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_limitedx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/* From now on, only warnings and errors: log_info says nothing. */
void	log_quiet(void);

/*
 * The access log (-v, a line per client) has a budget of its own, shared
 * by every thread and every process of the server: at most a rate of
 * lines a second (--log-rate), after a burst of as many at once; by
 * default LOG_ACCESS_RATE.  journald keeps at most
 * 10,000 lines of a service in 30 s by default and drops the rest,
 * warnings and errors with them: the default spends under a third of
 * that, so that clients can never push an error out.  Warnings and errors
 * never draw on it.
 */
#define LOG_ACCESS_RATE		100
/* At most one "N access lines dropped" summary in this many seconds. */
#define LOG_ACCESS_SUMMARY_S	10

/*
 * Put the access log's budget, rate lines a second (0: no limit), where
 * the processes forked later share it (until then, and without it, a
 * process has one of its own, of the default).  Called once, by main,
 * before the model runs.  Returns 0, or -1 and errno.
 */
int	log_access_init(int rate);

/*
 * Whether one more access line may be written now: 1 (write it), or 0:
 * over the budget, dropped, and the caller counts it.  Before the first
 * line it lets through after some were dropped, at most every
 * LOG_ACCESS_SUMMARY_S seconds, it logs how many were.  Never blocks: the
 * budget is taken with atomic operations, no lock.
 */
int	log_access_admit(void);

/*
 * Whether stderr is systemd's journal stream, as log_init found it:
 * then a line that is not ours (a usage error) should carry "<N>" too.
 */
int	log_journal(void);

#endif /* STAMP_LOG_H */
