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

/*
 * Whether stderr is systemd's journal stream, as log_init found it:
 * then a line that is not ours (a usage error) should carry "<N>" too.
 */
int	log_journal(void);

#endif /* STAMP_LOG_H */
