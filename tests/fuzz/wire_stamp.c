/*
 * tests/fuzz/wire_stamp.c: fuzz the decoder of stamp replies.
 *
 * Surviving the bytes is not enough: a reply is accepted exactly when it
 * is a decimal that strtoll(3) reads without overflow (at most 19 digits),
 * with the same value, and the encoder writes that value back as the very
 * bytes received unless they had a leading zero or read "-0".  A broken
 * property aborts, which libFuzzer and tests/unit/fuzz_replay.c report.
 *
 * fuzz_replay.c includes every target into one file, so each target's
 * helpers carry its prefix.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

#define STAMP_DIGITS_MAX	19	/* LLONG_MAX has 19 digits */

int	fuzz_wire_stamp(const uint8_t *, size_t);

static void
stamp_require(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_wire_stamp: %s\n", what);
		abort();
	}
}

/* A decoder's reason is a short printable sentence. */
static void
stamp_reason(const char *why)
{
	size_t	 i;

	stamp_require(why != NULL, "failure without a reason");
	for (i = 0; why[i] != '\0'; i++)
		stamp_require(why[i] >= ' ' && why[i] <= '~',
		    "reason is not printable");
	stamp_require(i > 0 && i < 80, "reason is empty or too long");
}

int
fuzz_wire_stamp(const uint8_t *data, size_t size)
{
	const char	*buf = (const char *)data, *why = NULL, *why2 = NULL;
	char		 enc[STAMP_REPLY_MAX], text[STAMP_DIGITS_MAX + 8];
	long long	 t = 0, t2 = 0, want = 0;
	size_t		 n = 0, sign = 0, digits = 0;
	int		 rc, syntax = 0, expect = 0, canonical, len;

	rc = wire_decode(STAMP_PROTO_STAMP, buf, size, &t, &why);
	stamp_require(rc == 0 || rc == -1, "decode returned neither 0 nor -1");
	stamp_require(wire_stamp_decode(buf, size, &t2, &why2) == rc,
	    "wire_decode and wire_stamp_decode disagree");
	stamp_require(rc == 0 ? t2 == t : why2 == why,
	    "wire_decode and wire_stamp_decode disagree");
	stamp_require(wire_decode(STAMP_PROTO_STAMP, buf, size, &t2, NULL) ==
	    rc, "decode depends on why being NULL");

	/* The grammar, read independently: -?[0-9]+ CRLF, nothing else. */
	if (size >= 3 && memcmp(buf + size - 2, "\r\n", 2) == 0) {
		n = size - 2;
		sign = buf[0] == '-';
		while (sign + digits < n && buf[sign + digits] >= '0' &&
		    buf[sign + digits] <= '9')
			digits++;
		syntax = digits > 0 && sign + digits == n;
	}
	if (syntax && digits <= STAMP_DIGITS_MAX) {
		memcpy(text, buf, n);
		text[n] = '\0';
		errno = 0;
		want = strtoll(text, NULL, 10);
		expect = errno != ERANGE;
	}
	stamp_require((rc == 0) == expect,
	    "decoder and strtoll disagree on what is a reply");
	if (rc == -1) {
		stamp_reason(why);
		return 0;
	}
	stamp_require(t == want, "decoder and strtoll read different times");

	len = wire_encode(STAMP_PROTO_STAMP, t, enc, sizeof enc);
	stamp_require(len > 0, "a decoded time does not encode");
	snprintf(text, sizeof text, "%lld\r\n", t);
	stamp_require((size_t)len == strlen(text) && memcmp(enc, text,
	    (size_t)len) == 0, "encoder and snprintf disagree");
	/* Zero has one spelling, and no other number starts with a zero. */
	canonical = buf[sign] != '0' || (digits == 1 && !sign);
	stamp_require(((size_t)len == size && memcmp(enc, buf, size) == 0) ==
	    canonical, "re-encoding does not give back the reply");
	stamp_require(wire_decode(STAMP_PROTO_STAMP, enc, (size_t)len, &t2,
	    &why2) == 0 && t2 == t, "re-encoded reply reads differently");
	return 0;
}

#ifdef FUZZ_MAIN
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_wire_stamp(data, size);
}
#endif
