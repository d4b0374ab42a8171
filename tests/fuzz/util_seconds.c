/*
 * tests/fuzz/util_seconds.c: fuzz the option seconds parser.
 *
 * The first byte picks the bounds in milliseconds from a table (the
 * corpus's files start with '0' to '7'), the rest, NUL-terminated in a
 * copy, is the argument.  The oracle reads [0-9]*(.[0-9]*)? with at least
 * one digit, as whole milliseconds (later digits are cut off) in checked
 * arithmetic: the parser must accept exactly what fits a long long and
 * lies within the bounds, with that value, and "%lld.%03lld" of it must
 * read the same.  A broken property aborts, which libFuzzer and
 * tests/unit/fuzz_replay.c report.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define SECONDS_NRANGES	8

int	fuzz_util_seconds(const uint8_t *, size_t);

static const struct {
	long long	 min, max;
} seconds_ranges[SECONDS_NRANGES] = {
	{ 0, LLONG_MAX },
	{ 0, 60000 },
	{ 1, 3600000 },
	{ LLONG_MIN, LLONG_MAX },
	{ 1000, 1000 },
	{ 0, 0 },
	{ LLONG_MAX - 999, LLONG_MAX },
	{ 5, 3 },		/* empty */
};

static void
seconds_require(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_util_seconds: %s\n", what);
		abort();
	}
}

/*
 * Read s as milliseconds into *ms; 1 if it has the syntax, and then
 * *fits says whether the value fits a long long.
 */
static int
seconds_read(const char *s, long long *ms, int *fits)
{
	long long	 scale = 100;
	int		 digits = 0, over = 0;

	*ms = 0;
	/* Past an overflow *ms is garbage, but over stays set. */
	for (; *s >= '0' && *s <= '9'; s++, digits++) {
		if (__builtin_mul_overflow(*ms, 10, ms))
			over = 1;
		if (__builtin_add_overflow(*ms, (*s - '0') * 1000LL, ms))
			over = 1;
	}
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++, digits++) {
			if (__builtin_add_overflow(*ms, (*s - '0') * scale, ms))
				over = 1;
			scale /= 10;
		}
	*fits = !over;
	return digits > 0 && *s == '\0';
}

int
fuzz_util_seconds(const uint8_t *data, size_t size)
{
	long long	 min, max, ms = 0, ms2 = 0, want = 0;
	const char	*why;
	char		*s, back[40];
	int		 syntax, fits = 0;

	if (size == 0)
		return 0;
	min = seconds_ranges[data[0] % SECONDS_NRANGES].min;
	max = seconds_ranges[data[0] % SECONDS_NRANGES].max;
	if ((s = malloc(size)) == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';

	why = util_seconds(s, min, max, &ms);
	syntax = seconds_read(s, &want, &fits);
	seconds_require((why == NULL) == (syntax && fits && want >= min &&
	    want <= max), "util_seconds and the oracle disagree on validity");
	if (why != NULL) {
		seconds_require(strcmp(why, "out of range") == 0 ||
		    (!syntax && strcmp(why, "not a number of seconds") == 0),
		    "wrong reason");
		free(s);
		return 0;
	}
	seconds_require(ms == want, "util_seconds and the oracle differ");
	seconds_require(min <= ms && ms <= max, "value outside its bounds");
	snprintf(back, sizeof back, "%lld.%03lld", ms / 1000, ms % 1000);
	seconds_require(util_seconds(back, min, max, &ms2) == NULL &&
	    ms2 == ms, "the value written back reads differently");
	free(s);
	return 0;
}

#ifdef FUZZ_MAIN
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_util_seconds(data, size);
}
#endif
