/*
 * tests/fuzz/wire_time.c: fuzz the decoder of RFC 868 time replies.
 *
 * Exactly the 4-byte replies are accepted; each reads as a time in the
 * one 2^32-second span from 1970 that the pivot allows, and encodes back
 * to the same 4 bytes: decoding is a bijection onto [0, 2^32).  A broken
 * property aborts, which libFuzzer and tests/unit/fuzz_replay.c report.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

#define TIME_SPAN	(1LL << 32)

int	fuzz_wire_time(const uint8_t *, size_t);

static void
time_require(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_wire_time: %s\n", what);
		abort();
	}
}

static void
time_reason(const char *why)
{
	size_t	 i;

	time_require(why != NULL, "failure without a reason");
	for (i = 0; why[i] != '\0'; i++)
		time_require(why[i] >= ' ' && why[i] <= '~',
		    "reason is not printable");
	time_require(i > 0 && i < 80, "reason is empty or too long");
}

int
fuzz_wire_time(const uint8_t *data, size_t size)
{
	const char	*buf = (const char *)data, *why = NULL, *why2 = NULL;
	char		 enc[STAMP_REPLY_MAX];
	long long	 t = 0, t2 = 0, count;
	int		 rc, len;

	rc = wire_decode(STAMP_PROTO_TIME, buf, size, &t, &why);
	time_require(rc == 0 || rc == -1, "decode returned neither 0 nor -1");
	time_require(wire_time_decode(buf, size, &t2, &why2) == rc,
	    "wire_decode and wire_time_decode disagree");
	time_require(rc == 0 ? t2 == t : why2 == why,
	    "wire_decode and wire_time_decode disagree");
	time_require(wire_decode(STAMP_PROTO_TIME, buf, size, &t2, NULL) ==
	    rc, "decode depends on why being NULL");
	time_require((rc == 0) == (size == STAMP_TIME_LEN),
	    "accepted a reply that is not 4 bytes, or refused one that is");
	if (rc == -1) {
		time_reason(why);
		return 0;
	}
	time_require(t >= 0 && t < TIME_SPAN, "time outside the pivot's span");
	count = (long long)data[0] << 24 | (long long)data[1] << 16 |
	    (long long)data[2] << 8 | (long long)data[3];
	time_require((t + STAMP_EPOCH_1900) % TIME_SPAN == count,
	    "time is not the count since 1900 modulo 2^32");

	len = wire_encode(STAMP_PROTO_TIME, t, enc, sizeof enc);
	time_require(len == STAMP_TIME_LEN && memcmp(enc, buf, size) == 0,
	    "re-encoding does not give back the reply");
	time_require(wire_decode(STAMP_PROTO_TIME, enc, (size_t)len, &t2,
	    &why2) == 0 && t2 == t, "re-encoded reply reads differently");
	return 0;
}

#ifdef FUZZ_MAIN
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_wire_time(data, size);
}
#endif
