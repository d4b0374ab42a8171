/*
 * tap.h: the Test Anything Protocol, enough of it for prove(1).
 *
 * Header-only so that every test is one file.  A failed assertion prints
 * where it is and both values, then the test goes on; done_testing() prints
 * the plan and makes the exit status say whether anything failed.
 *
 * As Test::More does, the TAP lines and note() go to stdout, and the
 * reasons of a failure and diag() to stderr: prove shows a test's stderr
 * even when it is not verbose, so that make check says why a test failed,
 * not only that it did.  A diag() is for what explains a failure; what a
 * reader of the verbose output may like to see is a note().
 */
#ifndef STAMP_TAP_H
#define STAMP_TAP_H

#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int	tap_run, tap_failed;

/*
 * Told of each failed assertion, if a program linked with this defines it
 * (tests/it/harness.c does, to keep the logs of a failed test's daemons);
 * NULL elsewhere.
 */
void	tap_failed_hook(void) __attribute__((weak));

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
	fflush(stdout);
	if (!pass) {
		fprintf(stderr, "#   Failed test %d at %s line %d.\n", tap_run,
		    file, line);
		if (tap_failed_hook != NULL)
			tap_failed_hook();
	}
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
		fprintf(stderr, "#          got: %lld\n#     expected: %lld\n",
		    got, want);
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
		fprintf(stderr, "#          got: '%s'\n#     expected: '%s'\n",
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
		fprintf(stderr, "#                   '%s'\n#     doesn't match "
		    "'%s'\n", got ? got : "(null)", re);
	return pass;
}

/* Each line of a message, as a TAP comment, to f. */
static void __attribute__((format(printf, 2, 0), unused))
tap_vcomment(FILE *f, const char *fmt, va_list ap)
{
	char		*buf;
	const char	*p, *nl;

	if (vasprintf(&buf, fmt, ap) == -1) {
		fprintf(f, "# (out of memory for a comment)\n");
		return;
	}
	for (p = buf;; p = nl + 1) {
		nl = strchr(p, '\n');
		fprintf(f, "# %.*s\n", nl == NULL ? (int)strlen(p) :
		    (int)(nl - p), p);
		if (nl == NULL || nl[1] == '\0')
			break;
	}
	free(buf);
	fflush(f);
}

/* Why something failed: on stderr, which prove always shows. */
static void __attribute__((format(printf, 1, 2), unused))
tap_diag(const char *fmt, ...)
{
	va_list	 ap;

	fflush(stdout);
	va_start(ap, fmt);
	tap_vcomment(stderr, fmt, ap);
	va_end(ap);
}

/* What a reader of the verbose output may like to see: on stdout. */
static void __attribute__((format(printf, 1, 2), unused))
tap_note(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	tap_vcomment(stdout, fmt, ap);
	va_end(ap);
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
#define note(...)		tap_note(__VA_ARGS__)
#define skip(why)		tap_skip(why)
#define done_testing()		tap_done()
#define bail(why)		tap_bail(why)

#endif /* STAMP_TAP_H */
