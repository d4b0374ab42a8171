/*
 * util.h: small helpers everyone shares: number parsing for options, pure,
 * the monotonic clock that every deadline is measured on, and a sleep.
 */
#ifndef STAMP_UTIL_H
#define STAMP_UTIL_H

/*
 * Read a whole decimal integer from s into *out, if it lies in min..max.
 * Returns NULL, or a static sentence: "not a whole number", "out of range".
 * No locale, no errno.
 */
const char	*util_number(const char *s, long long min, long long max,
		    long long *out);

/*
 * Read a decimal number of seconds ("5", "0.25") into milliseconds, if it
 * lies in min_ms..max_ms.  Returns NULL or a static sentence.
 */
const char	*util_seconds(const char *s, long long min_ms, long long max_ms,
		    long long *out_ms);

/* Milliseconds on CLOCK_MONOTONIC: for deadlines, never for the time. */
long long	 util_now_ms(void);

/* The fds a process may have, as RLIMIT_NOFILE says, within reason. */
int		 util_max_fds(void);

/* Wait ms milliseconds, or less if a signal arrives. */
void		 util_sleep_ms(int ms);

#endif /* STAMP_UTIL_H */
