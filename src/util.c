/*
 * util.c: number parsing for options, one place for every range check;
 * the one monotonic clock of every deadline, and a sleep a signal ends.
 */
#include <sys/resource.h>

#include <limits.h>
#include <stddef.h>
#include <time.h>

#include "util.h"

const char *
util_number(const char *s, long long min, long long max, long long *out)
{
	long long	 v = 0;
	int		 neg = 0, digits = 0;

	if (*s == '-') {
		neg = 1;
		s++;
	}
	for (; *s >= '0' && *s <= '9'; s++, digits++) {
		/* Accumulate negatively: LLONG_MIN has no positive twin. */
		if (v < (LLONG_MIN + (*s - '0')) / 10)
			return "out of range";
		v = v * 10 - (*s - '0');
	}
	if (digits == 0 || *s != '\0')
		return "not a whole number";
	if (!neg) {
		if (v == LLONG_MIN)
			return "out of range";
		v = -v;
	}
	if (v < min || v > max)
		return "out of range";
	*out = v;
	return NULL;
}

const char *
util_seconds(const char *s, long long min_ms, long long max_ms,
    long long *out_ms)
{
	long long	 ms = 0, scale = 1000;
	int		 digits = 0;

	for (; *s >= '0' && *s <= '9'; s++, digits++) {
		if (ms > (LLONG_MAX - (*s - '0') * 1000) / 10)
			return "out of range";
		ms = ms * 10 + (*s - '0') * 1000;
	}
	/* Digits past the millisecond are read, and count for nothing. */
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++, digits++) {
			if ((scale /= 10) == 0)
				continue;
			if (ms > LLONG_MAX - (*s - '0') * scale)
				return "out of range";
			ms += (*s - '0') * scale;
		}
	if (digits == 0 || *s != '\0')
		return "not a number of seconds";
	if (ms < min_ms || ms > max_ms)
		return "out of range";
	*out_ms = ms;
	return NULL;
}

long long
util_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
util_max_fds(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 1024;
	return rl.rlim_cur > 1 << 20 ? 1 << 20 : (int)rl.rlim_cur;
}

void
util_sleep_ms(int ms)
{
	struct timespec	 ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	/* EINTR ends the wait early on purpose: a stop must not wait. */
	nanosleep(&ts, NULL);
}
