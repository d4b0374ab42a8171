/*
 * tests/fuzz/wire_daytime.c: fuzz the decoder of RFC 867 daytime lines.
 *
 * glibc's gmtime_r is the oracle.  Whatever line is accepted, its time
 * lies in years 0 to 9999 (or is the leap second that ends 9999), and the
 * ctime and xinetd lines that gmtime_r and snprintf write for that time
 * read back as the same time.  wire_daytime_encode must write the very
 * ctime line, and a line already in that form, with the day padded by a
 * space and no leap second, is what the encoder gives back, up to the case
 * of its names (exactly, when their case is the table's).  A broken
 * property aborts, which libFuzzer and tests/unit/fuzz_replay.c report.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wire.h"

#define DT_YEAR0	(-62167219200LL)	/* 0000-01-01 00:00:00 UTC */
#define DT_YEAR10000	253402300800LL		/* 10000-01-01 00:00:00 UTC */
#define DT_CTIME_LEN	26	/* "Wed Nov 25 11:00:43 2026\r\n" */

int	fuzz_wire_daytime(const uint8_t *, size_t);

static const char *const dt_wdays[7] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
};
static const char *const dt_months[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static void
dt_require(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_wire_daytime: %s\n", what);
		abort();
	}
}

static void
dt_reason(const char *why)
{
	size_t	 i;

	dt_require(why != NULL, "failure without a reason");
	for (i = 0; why[i] != '\0'; i++)
		dt_require(why[i] >= ' ' && why[i] <= '~',
		    "reason is not printable");
	dt_require(i > 0 && i < 80, "reason is empty or too long");
}

static int
dt_fold(char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* ASCII only: strncasecmp would consult the locale. */
static int
dt_caseeq(const char *a, const char *b, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (dt_fold(a[i]) != dt_fold(b[i]))
			return 0;
	return 1;
}

static int
dt_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static int
dt_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static int
dt_digit(char c)
{
	return c >= '0' && c <= '9';
}

int
fuzz_wire_daytime(const uint8_t *data, size_t size)
{
	const char	*buf = (const char *)data, *why = NULL, *why2 = NULL;
	char		 enc[STAMP_REPLY_MAX], ref[STAMP_REPLY_MAX], mon[4];
	struct wire_tm	 wt;
	struct tm	 tm;
	time_t		 tt;
	long long	 t = 0, t2 = 0;
	int		 rc, len, reflen, leap, i;

	rc = wire_decode(STAMP_PROTO_DAYTIME, buf, size, &t, &why);
	dt_require(rc == 0 || rc == -1, "decode returned neither 0 nor -1");
	dt_require(wire_daytime_decode(buf, size, &t2, &why2) == rc,
	    "wire_decode and wire_daytime_decode disagree");
	dt_require(rc == 0 ? t2 == t : why2 == why,
	    "wire_decode and wire_daytime_decode disagree");
	dt_require(wire_decode(STAMP_PROTO_DAYTIME, buf, size, &t2, NULL) ==
	    rc, "decode depends on why being NULL");
	if (rc == -1) {
		dt_reason(why);
		return 0;
	}
	dt_require(size >= 2 && size <= STAMP_REPLY_MAX &&
	    buf[size - 1] == '\n' && memchr(buf, '\0', size) == NULL,
	    "accepted something that is not one line");
	dt_require(t >= DT_YEAR0 && t <= DT_YEAR10000,
	    "time outside years 0 to 9999");
	/* A minute of 60 is refused, so ":60" can only be a leap second. */
	leap = memmem(buf, size, ":60", 3) != NULL;
	/* Only 23:59:60 is a leap second, read as the next midnight. */
	dt_require(!leap || (t % 86400 + 86400) % 86400 == 0,
	    "a leap second outside 23:59:60");
	len = wire_encode(STAMP_PROTO_DAYTIME, t, enc, sizeof enc);
	if (t == DT_YEAR10000) {
		/* 9999-12-31 23:59:60 reads as a year daytime cannot write. */
		dt_require(leap && len == -1,
		    "year 10000 reached without a leap second");
		return 0;
	}
	dt_require(len == DT_CTIME_LEN, "a decoded time does not encode");

	tt = (time_t)t;
	dt_require(gmtime_r(&tt, &tm) != NULL, "gmtime_r failed");
	wire_civil(t, &wt);
	dt_require(wt.year == tm.tm_year + 1900LL && wt.mon == tm.tm_mon + 1 &&
	    wt.mday == tm.tm_mday && wt.hour == tm.tm_hour &&
	    wt.min == tm.tm_min && wt.sec == tm.tm_sec &&
	    wt.wday == tm.tm_wday, "wire_civil and gmtime_r disagree");

	reflen = snprintf(ref, sizeof ref, "%s %s %2d %02d:%02d:%02d %04d\r\n",
	    dt_wdays[tm.tm_wday], dt_months[tm.tm_mon], tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
	dt_require(reflen == len && memcmp(enc, ref, (size_t)len) == 0,
	    "encoder and gmtime_r write different lines");
	dt_require(wire_decode(STAMP_PROTO_DAYTIME, enc, (size_t)len, &t2,
	    &why2) == 0 && t2 == t, "re-encoded line reads differently");
	if (!leap && size == DT_CTIME_LEN && !dt_digit(buf[0]) &&
	    buf[8] != '0') {
		dt_require(dt_caseeq(buf, enc, size),
		    "re-encoding does not give back the line");
		dt_require((memcmp(buf, enc, size) == 0) ==
		    (dt_upper(buf[0]) && dt_lower(buf[1]) && dt_lower(buf[2]) &&
		    dt_upper(buf[4]) && dt_lower(buf[5]) && dt_lower(buf[6])),
		    "re-encoding changes more than the case of names");
	}

	for (i = 0; i < 3; i++)
		mon[i] = (char)(dt_months[tm.tm_mon][i] & ~0x20);
	mon[3] = '\0';
	reflen = snprintf(ref, sizeof ref, "%d %s %04d %02d:%02d:%02d UTC\r\n",
	    tm.tm_mday, mon, tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	    tm.tm_sec);
	dt_require(wire_decode(STAMP_PROTO_DAYTIME, ref, (size_t)reflen, &t2,
	    &why2) == 0 && t2 == t, "xinetd's line reads differently");
	if (!leap && buf[0] >= '1' && buf[0] <= '9' && size >= 5 &&
	    dt_caseeq(buf + size - 5, "utc\r\n", 5))
		dt_require((size_t)reflen == size &&
		    dt_caseeq(buf, ref, size),
		    "xinetd line differs from its reading");
	return 0;
}

#ifdef FUZZ_MAIN
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_wire_daytime(data, size);
}
#endif
