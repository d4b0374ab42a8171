/*
 * tests/fuzz/util_number.c: fuzz the option number parser.
 *
 * The first byte picks the bounds from a table (the corpus's files start
 * with '0' to '7'), the rest, NUL-terminated in a copy, is the argument.
 * strtoll(3) is the oracle: a whole decimal is accepted exactly when it
 * reads without overflow and lies within the bounds, with strtoll's value,
 * which "%lld" writes back as an argument that reads the same.  A broken
 * property aborts, which libFuzzer and tests/unit/fuzz_replay.c report.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define NUMBER_NRANGES	8

int	fuzz_util_number(const uint8_t *, size_t);

static const struct {
	long long	 min, max;
} number_ranges[NUMBER_NRANGES] = {
	{ LLONG_MIN, LLONG_MAX },
	{ 0, 65535 },
	{ 1, INT_MAX },
	{ -1, 1 },
	{ 0, 0 },
	{ LLONG_MIN, -1 },
	{ LLONG_MAX - 1, LLONG_MAX },
	{ 5, 3 },		/* empty */
};

static void
number_require(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_util_number: %s\n", what);
		abort();
	}
}

/* -?[0-9]+ and nothing else. */
static int
number_whole(const char *s)
{
	if (*s == '-')
		s++;
	if (*s < '0' || *s > '9')
		return 0;
	while (*s >= '0' && *s <= '9')
		s++;
	return *s == '\0';
}

int
fuzz_util_number(const uint8_t *data, size_t size)
{
	long long	 min, max, v = 0, v2 = 0, want = 0;
	const char	*why;
	char		*s, back[32];
	int		 whole, fits = 0;

	if (size == 0)
		return 0;
	min = number_ranges[data[0] % NUMBER_NRANGES].min;
	max = number_ranges[data[0] % NUMBER_NRANGES].max;
	if ((s = malloc(size)) == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';

	why = util_number(s, min, max, &v);
	if ((whole = number_whole(s))) {
		errno = 0;
		want = strtoll(s, NULL, 10);
		fits = errno != ERANGE;
	}
	number_require((why == NULL) == (whole && fits && want >= min &&
	    want <= max), "util_number and strtoll disagree on validity");
	if (why != NULL) {
		/* Which comes first, overflow or a stray byte, is free. */
		number_require(strcmp(why, "out of range") == 0 ||
		    (!whole && strcmp(why, "not a whole number") == 0),
		    "wrong reason");
		free(s);
		return 0;
	}
	number_require(v == want, "util_number and strtoll read differently");
	number_require(min <= v && v <= max, "value outside its bounds");
	snprintf(back, sizeof back, "%lld", v);
	number_require(util_number(back, min, max, &v2) == NULL && v2 == v,
	    "the value written back reads differently");
	number_require(util_number(back, LLONG_MIN, LLONG_MAX, &v2) == NULL &&
	    v2 == v, "the value written back reads differently");
	free(s);
	return 0;
}

#ifdef FUZZ_MAIN
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_util_number(data, size);
}
#endif
