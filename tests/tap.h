/*
 * tap.h: the Test Anything Protocol, enough of it for prove(1).
 *
 * Header-only so that every test is one file.  A failed assertion prints
 * where it is and both values, then the test goes on; done_testing() prints
 * the plan and makes the exit status say whether anything failed.
 */
#ifndef STAMP_TAP_H
#define STAMP_TAP_H

#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int	tap_run, tap_failed;

static void __attribute__((format(printf, 4, 0)))
tap_vresult(int pass, const char *file, int line, const char *fmt,
    va_list ap)
{
	tap_run++;
	if (!pass)
		tap_failed++;
	printf("%sok %d - ", pass ? "" : "not ", tap_run);
	vprintf(fmt, ap);
	printf("\n");
	if (!pass)
		printf("#   Failed at %s line %d.\n", file, line);
	fflush(stdout);
}

static int __attribute__((format(printf, 4, 5), unused))
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	tap_vresult(pass, file, line, fmt, ap);
	va_end(ap);
	return pass;
}

static int __attribute__((format(printf, 5, 6), unused))
tap_is_int(long long got, long long want, const char *file, int line,
    const char *fmt, ...)
{
	va_list	 ap;
	int	 pass = got == want;

	va_start(ap, fmt);
	tap_vresult(pass, file, line, fmt, ap);
	va_end(ap);
	if (!pass)
		printf("#          got: %lld\n#     expected: %lld\n", got,
		    want);
	return pass;
}

static int __attribute__((format(printf, 5, 6), unused))
tap_is_str(const char *got, const char *want, const char *file, int line,
    const char *fmt, ...)
{
	va_list	 ap;
	int	 pass;

	pass = (got == NULL && want == NULL) ||
	    (got != NULL && want != NULL && strcmp(got, want) == 0);
	va_start(ap, fmt);
	tap_vresult(pass, file, line, fmt, ap);
	va_end(ap);
	if (!pass)
		printf("#          got: '%s'\n#     expected: '%s'\n",
		    got ? got : "(null)", want ? want : "(null)");
	return pass;
}

/* Extended regular expression match, as Test::More's like(). */
static int __attribute__((format(printf, 5, 6), unused))
tap_like(const char *got, const char *re, const char *file, int line,
    const char *fmt, ...)
{
	va_list	 ap;
	regex_t	 rx;
	int	 pass = 0;

	if (got != NULL && regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) == 0) {
		pass = regexec(&rx, got, 0, NULL, 0) == 0;
		regfree(&rx);
	}
	va_start(ap, fmt);
	tap_vresult(pass, file, line, fmt, ap);
	va_end(ap);
	if (!pass)
		printf("#                   '%s'\n#     doesn't match '%s'\n",
		    got ? got : "(null)", re);
	return pass;
}

static void __attribute__((unused))
tap_diag(const char *fmt, ...)
{
	va_list	 ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Skips are reported as skips, never as passes: prove counts them apart. */
static void __attribute__((unused))
tap_skip(const char *why)
{
	printf("ok %d # skip %s\n", ++tap_run, why);
	fflush(stdout);
}

static int __attribute__((unused))
tap_done(void)
{
	printf("1..%d\n", tap_run);
	if (tap_failed)
		printf("# Looks like you failed %d test%s of %d.\n",
		    tap_failed, tap_failed == 1 ? "" : "s", tap_run);
	fflush(stdout);
	return tap_failed ? 1 : 0;
}

/* Stop the whole test: what follows cannot run. */
static void __attribute__((noreturn, unused))
tap_bail(const char *why)
{
	printf("Bail out! %s\n", why);
	fflush(stdout);
	exit(255);
}

#define ok(c, ...)		tap_ok(!!(c), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(g, w, ...)	tap_is_int((g), (w), __FILE__, __LINE__, \
				    __VA_ARGS__)
#define is_str(g, w, ...)	tap_is_str((g), (w), __FILE__, __LINE__, \
				    __VA_ARGS__)
#define like(g, re, ...)	tap_like((g), (re), __FILE__, __LINE__, \
				    __VA_ARGS__)
#define diag(...)		tap_diag(__VA_ARGS__)
#define skip(why)		tap_skip(why)
#define done_testing()		tap_done()
#define bail(why)		tap_bail(why)

#endif /* STAMP_TAP_H */
