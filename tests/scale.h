/*
 * scale.h: the one reader of STAMP_TIMEOUT_SCALE for the C tests.
 *
 * Every bound on a test's wait is multiplied by it (tests/it/harness.h
 * says how; tests/lib.sh reads it for the shell tests, by the same rule).
 * Header-only, so that a program built without the harness (the lesson's
 * lessoncap) reads it the same way.
 */
#ifndef STAMP_SCALE_H
#define STAMP_SCALE_H

#include <errno.h>
#include <math.h>
#include <stdlib.h>

/*
 * The scale in s: 1 if s is NULL or empty, the number if it is a positive,
 * finite one written whole, else -1 (the caller says so and stops).
 */
static double __attribute__((unused))
scale_parse(const char *s)
{
	char	*end;
	double	 v;

	if (s == NULL || *s == '\0')
		return 1;
	errno = 0;
	v = strtod(s, &end);
	/* A NaN fails v > 0 too. */
	if (errno != 0 || end == s || *end != '\0' || !(v > 0) ||
	    !isfinite(v))
		return -1;
	return v;
}

#endif /* STAMP_SCALE_H */
