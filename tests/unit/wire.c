/*
 * tests/unit/wire.c: the three protocols' encoders and decoders, as tables.
 *
 * Every malformed reply is copied into a buffer of exactly its length, so
 * that AddressSanitizer catches a decoder reading one byte too far.  glibc's
 * gmtime_r and snprintf serve as independent oracles for the hand-written
 * calendar and digits.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tap.h"
#include "wire.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define BYTES(s)	s, sizeof(s) - 1	/* with NULs inside */
#define CANARY		0xa5
#define UNTOUCHED	0x5eed5eed5eedLL	/* never a decoded time */
#define EPOCH		STAMP_EPOCH_1900
#define WRAP		2085978496LL		/* 2036-02-07 06:28:16 */

static void
test_protos(void)
{
	static const struct {
		const char	*name;
		int		 proto, port;
	} good[] = {
		{ "stamp",	STAMP_PROTO_STAMP,	1937 },
		{ "time",	STAMP_PROTO_TIME,	37 },
		{ "daytime",	STAMP_PROTO_DAYTIME,	13 },
		{ "ntp",	STAMP_PROTO_NTP,	123 },
		{ "nts-ke",	STAMP_PROTO_NTSKE,	4460 },
	};
	static const char *const bad[] = {
		"", "Stamp", "TIME", "day", "daytime ", "echo", "stamp\n",
	};
	size_t	 i;

	for (i = 0; i < NELEM(good); i++) {
		is_int(wire_proto_find(good[i].name), good[i].proto,
		    "find %s", good[i].name);
		is_str(wire_proto_name(good[i].proto), good[i].name,
		    "name of %d", good[i].proto);
		is_int(wire_proto_port(good[i].proto), good[i].port,
		    "port of %s", good[i].name);
	}
	for (i = 0; i < NELEM(bad); i++)
		is_int(wire_proto_find(bad[i]), -1, "no protocol [%zu]", i);
	is_int(wire_proto_find(NULL), -1, "no protocol NULL");
	ok(wire_proto_name(-1) == NULL, "no name for -1");
	ok(wire_proto_name(STAMP_NPROTO) == NULL, "no name for NPROTO");
	is_int(wire_proto_port(STAMP_NPROTO), -1, "no port for NPROTO");
	ok(wire_proto_udp_only(STAMP_PROTO_NTP), "ntp is udp only");
	ok(!wire_proto_udp_only(STAMP_PROTO_TIME), "time is not");
	ok(wire_proto_tcp_only(STAMP_PROTO_NTSKE), "nts-ke is tcp only");
	ok(!wire_proto_tcp_only(STAMP_PROTO_TIME), "time is not");
	ok(!wire_proto_tcp_only(STAMP_PROTO_NTP), "nor ntp");
	is_int(wire_encode(STAMP_PROTO_NTSKE, 0, NULL, 0), -1,
	    "nts-ke has no codec of a time alone");
	is_int(wire_encode(STAMP_PROTO_NTP, 0, NULL, 0), -1,
	    "ntp has no codec of a time alone");
}

/* Encode into a buffer of len bytes with canaries after it. */
static int
encode_into(int proto, long long t, unsigned char *buf, size_t len,
    size_t cap, int *clean)
{
	size_t	 i;
	int	 r;

	memset(buf, CANARY, cap);
	r = wire_encode(proto, t, (char *)buf, len);
	*clean = 1;
	for (i = len; i < cap; i++)
		if (buf[i] != CANARY)
			*clean = 0;
	return r;
}

/* The reply must fit its exact size and be refused one byte short. */
static void
check_sizes(int proto, long long t, const char *want, size_t wantlen)
{
	unsigned char	 buf[STAMP_REPLY_MAX + 8];
	int		 r, clean;

	r = encode_into(proto, t, buf, wantlen, sizeof(buf), &clean);
	is_int(r, (long long)wantlen, "%s %lld: length",
	    wire_proto_name(proto), t);
	ok(r >= 0 && memcmp(buf, want, wantlen) == 0 && clean,
	    "%s %lld: bytes, nothing after", wire_proto_name(proto), t);
	r = encode_into(proto, t, buf, wantlen - 1, sizeof(buf), &clean);
	is_int(r, -1, "%s %lld: one byte short is refused",
	    wire_proto_name(proto), t);
	ok(clean, "%s %lld: nothing written past len",
	    wire_proto_name(proto), t);
}

static void
test_stamp_encode(void)
{
	static const struct {
		long long	 t;
		const char	*want;
	} tab[] = {
		{ 0,			"0\r\n" },
		{ 1,			"1\r\n" },
		{ -1,			"-1\r\n" },
		{ 9,			"9\r\n" },
		{ 10,			"10\r\n" },
		{ 1795604443,		"1795604443\r\n" },
		{ LLONG_MAX,		"9223372036854775807\r\n" },
		{ LLONG_MIN,		"-9223372036854775808\r\n" },
		{ LLONG_MIN + 1,	"-9223372036854775807\r\n" },
	};
	char	 oracle[64];
	size_t	 i;

	for (i = 0; i < NELEM(tab); i++) {
		snprintf(oracle, sizeof(oracle), STAMP_FMT, tab[i].t);
		is_str(oracle, tab[i].want, "snprintf agrees on %lld",
		    tab[i].t);
		check_sizes(STAMP_PROTO_STAMP, tab[i].t, tab[i].want,
		    strlen(tab[i].want));
	}
	is_int(wire_stamp_encode(0, NULL, 0), -1, "stamp into 0 bytes");
}

static void
test_time(void)
{
	static const struct {
		long long	 t;
		unsigned char	 want[4];
		long long	 back;		/* what the bytes decode to */
	} tab[] = {
		{ 0,		{ 0x83, 0xaa, 0x7e, 0x80 }, 0 },
		{ 1,		{ 0x83, 0xaa, 0x7e, 0x81 }, 1 },
		{ -1,		{ 0x83, 0xaa, 0x7e, 0x7f }, 4294967295LL },
		{ WRAP - 1,	{ 0xff, 0xff, 0xff, 0xff }, WRAP - 1 },
		{ 4294967295LL - EPOCH, { 0xff, 0xff, 0xff, 0xff }, WRAP - 1 },
		{ WRAP,		{ 0x00, 0x00, 0x00, 0x00 }, WRAP },
		{ WRAP + 1,	{ 0x00, 0x00, 0x00, 0x01 }, WRAP + 1 },
		{ -EPOCH,	{ 0x00, 0x00, 0x00, 0x00 }, WRAP },
		{ 4294967295LL,	{ 0x83, 0xaa, 0x7e, 0x7f }, 4294967295LL },
		{ 4294967296LL,	{ 0x83, 0xaa, 0x7e, 0x80 }, 0 },
		{ 1795604443,	{ 0xee, 0xb1, 0x3e, 0x5b }, 1795604443 },
		{ LLONG_MAX,	{ 0x83, 0xaa, 0x7e, 0x7f }, 4294967295LL },
		{ LLONG_MIN,	{ 0x83, 0xaa, 0x7e, 0x80 }, 0 },
	};
	unsigned char	 buf[8];
	long long	 t, back, n, fails;
	const char	*why;
	size_t		 i;
	int		 r;

	for (i = 0; i < NELEM(tab); i++) {
		check_sizes(STAMP_PROTO_TIME, tab[i].t,
		    (const char *)tab[i].want, 4);
		back = UNTOUCHED;
		why = NULL;
		r = wire_time_decode((const char *)tab[i].want, 4, &back,
		    &why);
		is_int(r, 0, "time decode %02x%02x%02x%02x", tab[i].want[0],
		    tab[i].want[1], tab[i].want[2], tab[i].want[3]);
		is_int(back, tab[i].back, "time decode of %lld", tab[i].t);
	}

	/* Every t of the era 1970..2106 survives, stepping over the wrap. */
	fails = n = 0;
	for (t = 0; t <= 4294967295LL; t += 9973 * 61, n++) {
		if (wire_time_encode(t, (char *)buf, 4) != 4 ||
		    wire_time_decode((char *)buf, 4, &back, &why) != 0 ||
		    back != t) {
			if (fails++ == 0)
				diag("time round trip of %lld gave %lld", t,
				    back);
		}
	}
	is_int(fails, 0, "time round trip of %lld values, 1970 to 2106", n);
	for (t = WRAP - 100; t <= WRAP + 100; t++)
		if (wire_time_encode(t, (char *)buf, 4) != 4 ||
		    wire_time_decode((char *)buf, 4, &back, &why) != 0 ||
		    back != t)
			fails++;
	is_int(fails, 0, "time round trip, every second around the wrap");
}

static void
test_daytime_encode(void)
{
	static const struct {
		long long	 t;
		const char	*want;		/* NULL: refused */
	} tab[] = {
		{ 0,		"Thu Jan  1 00:00:00 1970\r\n" },
		{ -1,		"Wed Dec 31 23:59:59 1969\r\n" },
		{ 951827696,	"Tue Feb 29 12:34:56 2000\r\n" },
		{ 1735689599,	"Tue Dec 31 23:59:59 2024\r\n" },
		{ WRAP,		"Thu Feb  7 06:28:16 2036\r\n" },
		{ 1795604443,	"Wed Nov 25 11:00:43 2026\r\n" },
		{ 4294967295LL,	"Sun Feb  7 06:28:15 2106\r\n" },
		{ 253402300799LL, "Fri Dec 31 23:59:59 9999\r\n" },
		{ -62135596800LL, "Mon Jan  1 00:00:00 0001\r\n" },
		{ -62167219200LL, "Sat Jan  1 00:00:00 0000\r\n" },
		{ 253402300800LL, NULL },
		{ -62167219201LL, NULL },
		{ LLONG_MAX,	NULL },
		{ LLONG_MIN,	NULL },
	};
	char		 buf[64];
	size_t		 i;

	for (i = 0; i < NELEM(tab); i++) {
		if (tab[i].want != NULL) {
			check_sizes(STAMP_PROTO_DAYTIME, tab[i].t, tab[i].want,
			    strlen(tab[i].want));
			continue;
		}
		is_int(wire_daytime_encode(tab[i].t, buf, sizeof(buf)), -1,
		    "daytime %lld is out of range", tab[i].t);
	}
}

/* glibc against ours, on years 1000 to 9999 where %Y has four digits. */
static void
test_daytime_oracle(void)
{
	char		 want[64], got[64];
	struct tm	 tm;
	time_t		 tt;
	long long	 t, n = 0, fails = 0;
	int		 r;

	for (t = -30610224000LL; t <= 253402300799LL; t += 7777777, n++) {
		tt = (time_t)t;
		if (gmtime_r(&tt, &tm) == NULL) {
			fails++;
			continue;
		}
		strftime(want, sizeof(want), "%a %b %e %H:%M:%S %Y\r\n", &tm);
		r = wire_daytime_encode(t, got, sizeof(got) - 1);
		if (r < 0 || (size_t)r != strlen(want) ||
		    memcmp(got, want, (size_t)r) != 0) {
			if (fails++ == 0) {
				got[r < 0 ? 0 : r] = '\0';
				diag("%lld: want %s got %s", t, want, got);
			}
		}
	}
	is_int(fails, 0, "daytime agrees with gmtime_r on %lld times", n);
}

static void
test_daytime_decode(void)
{
	static const struct {
		const char	*in;
		long long	 t;
	} tab[] = {
		{ "Thu Jan  1 00:00:00 1970\r\n",	0 },
		{ "Thu Jan 01 00:00:00 1970\r\n",	0 },
		{ "Thu Jan  1 00:00:00 1970\n",		0 },
		{ "Thu Jan 1 00:00:00 1970\r\n",	0 },
		{ "thu JAN  1 00:00:01 1970\r\n",	1 },
		{ "Wed Nov 25 11:00:43 2026\r\n",	1795604443 },
		{ "Tue Feb 29 12:34:56 2000\r\n",	951827696 },
		{ "Thu Feb  7 06:28:16 2036\r\n",	WRAP },
		{ "Sat Jan  1 00:00:00 0000\r\n",	-62167219200LL },
		{ "Fri Dec 31 23:59:59 9999\r\n",	253402300799LL },
		/* A leap second reads as timegm(3) does: the next second. */
		{ "Wed Dec 31 23:59:60 2025\r\n",	1767225600 },
		{ "25 NOV 2026 11:00:43 UTC\r\n",	1795604443 },
		{ "25 Nov 2026 11:00:43 GMT\n",		1795604443 },
		{ "07 feb 2036 06:28:16 utc\r\n",	WRAP },
		{ "7 FEB 2036 06:28:16 UTC\r\n",	WRAP },
		{ "01 JAN 1970 00:00:00 UTC\r\n",	0 },
	};
	long long	 t;
	const char	*why;
	size_t		 i;
	int		 r;

	for (i = 0; i < NELEM(tab); i++) {
		t = UNTOUCHED;
		why = NULL;
		r = wire_decode(STAMP_PROTO_DAYTIME, tab[i].in,
		    strlen(tab[i].in), &t, &why);
		is_int(r, 0, "daytime decode [%zu]%s%s", i, why ? ": " : "",
		    why ? why : "");
		is_int(t, tab[i].t, "daytime decode [%zu] time", i);
	}
}

static void
test_round_trips(void)
{
	static const long long	 stamps[] = {
		0, 1, -1, 9, -9, 10, 99, 100, 1795604443, WRAP,
		LLONG_MAX, LLONG_MIN, LLONG_MAX - 1, LLONG_MIN + 1,
		1000000000000000000LL, -1000000000000000000LL,
	};
	char		 buf[STAMP_REPLY_MAX];
	long long	 t, back, n = 0, fails = 0;
	const char	*why;
	size_t		 i;
	int		 r;

	for (i = 0; i < NELEM(stamps); i++) {
		back = UNTOUCHED;
		r = wire_encode(STAMP_PROTO_STAMP, stamps[i], buf,
		    sizeof(buf));
		ok(r > 0 && wire_decode(STAMP_PROTO_STAMP, buf, (size_t)r,
		    &back, &why) == 0 && back == stamps[i],
		    "stamp round trip %lld", stamps[i]);
	}
	for (t = -62167219200LL; t <= 253402300799LL; t += 999999937, n++) {
		r = wire_encode(STAMP_PROTO_DAYTIME, t, buf, sizeof(buf));
		if (r != 26 || wire_decode(STAMP_PROTO_DAYTIME, buf,
		    (size_t)r, &back, &why) != 0 || back != t)
			if (fails++ == 0)
				diag("daytime round trip of %lld", t);
	}
	is_int(fails, 0, "daytime round trip of %lld times, years 0-9999",
	    n);
}

static void
test_malformed(void)
{
	static const struct {
		int		 proto;
		const char	*in;
		size_t		 len;
		const char	*why;		/* NULL: any reason */
	} tab[] = {
		{ STAMP_PROTO_STAMP, BYTES(""), "empty reply" },
		{ STAMP_PROTO_STAMP, BYTES("1"), "no CRLF at end of line" },
		{ STAMP_PROTO_STAMP, BYTES("12\n"), "no CRLF at end of line" },
		{ STAMP_PROTO_STAMP, BYTES("12\r"), "no CRLF at end of line" },
		{ STAMP_PROTO_STAMP, BYTES("\r"), "no CRLF at end of line" },
		{ STAMP_PROTO_STAMP, BYTES("\n"), "no CRLF at end of line" },
		{ STAMP_PROTO_STAMP, BYTES("\r\n"), "not a number" },
		{ STAMP_PROTO_STAMP, BYTES("12a\r\n"), "not a number" },
		{ STAMP_PROTO_STAMP, BYTES("abc\r\n"), "not a number" },
		{ STAMP_PROTO_STAMP, BYTES(" 5\r\n"), "not a number" },
		{ STAMP_PROTO_STAMP, BYTES("5 \r\n"), "not a number" },
		{ STAMP_PROTO_STAMP, BYTES("+5\r\n"), "not a number" },
		{ STAMP_PROTO_STAMP, BYTES("-\r\n"), "not a number" },
		{ STAMP_PROTO_STAMP, BYTES("--5\r\n"), "not a number" },
		{ STAMP_PROTO_STAMP, BYTES("1\r2\r\n"), "not a number" },
		{ STAMP_PROTO_STAMP, BYTES("0x10\r\n"), "not a number" },
		{ STAMP_PROTO_STAMP, BYTES("12\0003\r\n"),
		    "NUL byte in reply" },
		{ STAMP_PROTO_STAMP, BYTES("12\r\n\0"), "NUL byte in reply" },
		{ STAMP_PROTO_STAMP, BYTES("12\r\nx"),
		    "trailing bytes after end of line" },
		{ STAMP_PROTO_STAMP, BYTES("12\r\n\r\n"),
		    "trailing bytes after end of line" },
		{ STAMP_PROTO_STAMP, BYTES("99999999999999999999\r\n"),
		    "number out of range" },
		{ STAMP_PROTO_STAMP, BYTES("9223372036854775808\r\n"),
		    "number out of range" },
		{ STAMP_PROTO_STAMP, BYTES("-9223372036854775809\r\n"),
		    "number out of range" },
		{ STAMP_PROTO_STAMP, BYTES("18446744073709551617\r\n"),
		    "number out of range" },
		{ STAMP_PROTO_STAMP, BYTES("00000000000000000001\r\n"),
		    "number out of range" },
		{ STAMP_PROTO_STAMP, BYTES("1234567890123456789012345678901"
		    "2345678901234567890123456789012345\r\n"),
		    "reply too long" },
		{ STAMP_PROTO_TIME, BYTES(""), "empty reply" },
		{ STAMP_PROTO_TIME, BYTES("\x01"),
		    "short reply (want 4 bytes)" },
		{ STAMP_PROTO_TIME, BYTES("\x01\x02\x03"),
		    "short reply (want 4 bytes)" },
		{ STAMP_PROTO_TIME, BYTES("\x01\x02\x03\x04\x05"),
		    "long reply (want 4 bytes)" },
		{ STAMP_PROTO_TIME, BYTES("1795604443\r\n"),
		    "long reply (want 4 bytes)" },
		{ STAMP_PROTO_DAYTIME, BYTES(""), "empty reply" },
		{ STAMP_PROTO_DAYTIME, BYTES("\r"),
		    "no newline at end of line" },
		{ STAMP_PROTO_DAYTIME, BYTES("Wed Nov 25 11:00:43 2026"),
		    "no newline at end of line" },
		{ STAMP_PROTO_DAYTIME, BYTES("Wed Nov 25 11:00:43 2026\r"),
		    "no newline at end of line" },
		{ STAMP_PROTO_DAYTIME, BYTES("Wed Nov 25 11:00:43 2026\r\nx"),
		    "trailing bytes after end of line" },
		{ STAMP_PROTO_DAYTIME, BYTES("Wed Nov 25 11:00:43 2026\n\n"),
		    "trailing bytes after end of line" },
		{ STAMP_PROTO_DAYTIME, BYTES("Wed Nov 25 11:00\00043 2026\n"),
		    "NUL byte in reply" },
		{ STAMP_PROTO_DAYTIME, BYTES("\r\n"), "unknown weekday" },
		{ STAMP_PROTO_DAYTIME, BYTES("Thu Nov 25 11:00:43 2026\r\n"),
		    "weekday does not match date" },
		{ STAMP_PROTO_DAYTIME, BYTES("Wed Feb 30 11:00:43 2026\r\n"),
		    "day out of range for month" },
		{ STAMP_PROTO_DAYTIME, BYTES("Thu Feb 29 11:00:43 2026\r\n"),
		    "day out of range for month" },
		{ STAMP_PROTO_DAYTIME, BYTES("Thu Feb 29 11:00:43 1900\r\n"),
		    "day out of range for month" },
		{ STAMP_PROTO_DAYTIME, BYTES("Thu Apr 31 11:00:43 2026\r\n"),
		    "day out of range for month" },
		{ STAMP_PROTO_DAYTIME, BYTES("Thu Apr  0 11:00:43 2026\r\n"),
		    "day out of range for month" },
		{ STAMP_PROTO_DAYTIME, BYTES("Wed Nov 25 24:00:00 2026\r\n"),
		    "time of day out of range" },
		{ STAMP_PROTO_DAYTIME, BYTES("Wed Nov 25 11:60:00 2026\r\n"),
		    "time of day out of range" },
		{ STAMP_PROTO_DAYTIME, BYTES("Wed Nov 25 11:00:60 2026\r\n"),
		    "time of day out of range" },
		{ STAMP_PROTO_DAYTIME, BYTES("Wed Nov 25 23:59:61 2026\r\n"),
		    "time of day out of range" },
		{ STAMP_PROTO_DAYTIME, BYTES("Wed Nvm 25 11:00:43 2026\r\n"),
		    "unknown month" },
		{ STAMP_PROTO_DAYTIME, BYTES("Wdn Nov 25 11:00:43 2026\r\n"),
		    "unknown weekday" },
		{ STAMP_PROTO_DAYTIME, BYTES(" Wed Nov 25 11:00:43 2026\r\n"),
		    "unknown weekday" },
		{ STAMP_PROTO_DAYTIME, BYTES("Wed Nov 25 11:00:43 2026 \r\n"),
		    "not a daytime line" },
		{ STAMP_PROTO_DAYTIME, BYTES("Wed Nov  25 11:00:43 2026\r\n"),
		    "not a daytime line" },
		{ STAMP_PROTO_DAYTIME, BYTES("Wed Nov 25 11:0:43 2026\r\n"),
		    "not a daytime line" },
		{ STAMP_PROTO_DAYTIME, BYTES("Wed Nov 25 11:00:43 26\r\n"),
		    "not a daytime line" },
		{ STAMP_PROTO_DAYTIME, BYTES("Wed Nov 25 11:00:43 20266\r\n"),
		    "not a daytime line" },
		{ STAMP_PROTO_DAYTIME, BYTES("Wed Nov 25 11:00:43\r\n"),
		    "not a daytime line" },
		{ STAMP_PROTO_DAYTIME, BYTES("Wed\r\n"), "not a daytime line" },
		{ STAMP_PROTO_DAYTIME, BYTES("We\r\n"), "unknown weekday" },
		{ STAMP_PROTO_DAYTIME, BYTES("25 NOV 2026 11:00:43 CET\r\n"),
		    "time zone not UTC" },
		{ STAMP_PROTO_DAYTIME, BYTES("25 NOV 2026 11:00:43 UTC+1\r\n"),
		    "time zone not UTC" },
		{ STAMP_PROTO_DAYTIME, BYTES("25 NOV 2026 11:00:43 UT\r\n"),
		    "time zone not UTC" },
		{ STAMP_PROTO_DAYTIME, BYTES("25 NOV 2026 11:00:43\r\n"),
		    "not a daytime line" },
		{ STAMP_PROTO_DAYTIME, BYTES("25 NOV 2026 11:00:43 \r\n"),
		    "not a daytime line" },
		{ STAMP_PROTO_DAYTIME, BYTES("25 XYZ 2026 11:00:43 UTC\r\n"),
		    "unknown month" },
		{ STAMP_PROTO_DAYTIME, BYTES("31 JUN 2026 11:00:43 UTC\r\n"),
		    "day out of range for month" },
		{ STAMP_PROTO_DAYTIME, BYTES("25 NOV 2026 24:00:43 UTC\r\n"),
		    "time of day out of range" },
		{ STAMP_PROTO_DAYTIME, BYTES("125 NOV 2026 11:00:43 UTC\r\n"),
		    "not a daytime line" },
		{ STAMP_PROTO_DAYTIME, BYTES("1795604443\r\n"),
		    "not a daytime line" },
		{ STAMP_PROTO_STAMP + STAMP_NPROTO, BYTES("1\r\n"),
		    "unknown protocol" },
		{ -1, BYTES("1\r\n"), "unknown protocol" },
	};
	long long	 t;
	const char	*why;
	char		*copy;
	size_t		 i;
	int		 r;

	for (i = 0; i < NELEM(tab); i++) {
		/* Exactly len bytes, so that ASan sees any read past them. */
		if ((copy = malloc(tab[i].len ? tab[i].len : 1)) == NULL)
			bail("malloc");
		memcpy(copy, tab[i].in, tab[i].len);
		t = UNTOUCHED;
		why = NULL;
		r = wire_decode(tab[i].proto, copy, tab[i].len, &t, &why);
		free(copy);
		is_int(r, -1, "malformed [%zu] %s refused", i,
		    wire_proto_name(tab[i].proto) ? wire_proto_name(
		    tab[i].proto) : "?");
		is_str(why, tab[i].why, "malformed [%zu] reason", i);
		ok(t == UNTOUCHED, "malformed [%zu] leaves *t alone", i);
	}
}

/*
 * Every one-byte change of a good reply, and random bytes, must get 0 or
 * -1 with a reason, and never a read past the buffer.
 */
static void
test_mutations(void)
{
	static const unsigned char subst[] = {
		0, '\r', '\n', ' ', '0', '9', ':', '-', 'a', 'Z', 0x80, 0xff,
	};
	static const long long times[] = { 0, WRAP, 1795604443 };
	char		*copy, good[STAMP_REPLY_MAX];
	const char	*why;
	long long	 t, n = 0, bad = 0;
	unsigned int	 seed = 1937;
	size_t		 i, pos, s, len;
	int		 proto, r, k;

	for (proto = 0; proto <= STAMP_PROTO_DAYTIME; proto++)
		for (i = 0; i < NELEM(times); i++) {
			r = wire_encode(proto, times[i], good, sizeof(good));
			if (r <= 0)
				bail("cannot encode a good reply");
			for (pos = 0; pos < (size_t)r; pos++)
				for (s = 0; s < NELEM(subst); s++, n++) {
					if ((copy = malloc((size_t)r)) == NULL)
						bail("malloc");
					memcpy(copy, good, (size_t)r);
					copy[pos] = (char)subst[s];
					why = NULL;
					k = wire_decode(proto, copy, (size_t)r,
					    &t, &why);
					if (!(k == 0 || (k == -1 &&
					    why != NULL)))
						bad++;
					free(copy);
				}
		}
	for (k = 0; k < 30000; k++, n++) {
		seed = seed * 1103515245 + 12345;
		len = seed >> 16 & 0x3f;
		if ((copy = malloc(len ? len : 1)) == NULL)
			bail("malloc");
		for (i = 0; i < len; i++) {
			seed = seed * 1103515245 + 12345;
			copy[i] = (char)(seed >> 16);
		}
		why = NULL;
		r = wire_decode(k % STAMP_NPROTO, copy, len, &t, &why);
		if (!(r == 0 || (r == -1 && why != NULL)))
			bad++;
		free(copy);
	}
	is_int(bad, 0, "%lld mutated and random replies, each 0 or a reason",
	    n);
}

static void
test_civil(void)
{
	static const struct {
		long long	 year;
		int		 mon, mday;
		long long	 days;
		int		 wday;
	} tab[] = {
		{ 1970, 1, 1, 0, 4 },
		{ 1969, 12, 31, -1, 3 },
		{ 2000, 3, 1, 11017, 3 },
		{ 2000, 2, 29, 11016, 2 },
		{ 1900, 1, 1, -25567, 1 },
		{ 1600, 2, 29, -135081, 2 },
		{ 2036, 2, 7, 24143, 4 },
		{ 2106, 2, 7, 49710, 0 },
		{ 9999, 12, 31, 2932896, 5 },
		{ 1, 1, 1, -719162, 1 },
		{ 0, 1, 1, -719528, 6 },
		{ -1, 12, 31, -719529, 5 },
		{ -400, 1, 1, -719528 - 146097, 6 },
	};
	static const long long	 extremes[] = {
		LLONG_MIN, LLONG_MIN + 1, LLONG_MAX, LLONG_MAX - 86399,
	};
	struct wire_tm	 tm;
	long long	 d, days, secs, prev, fails = 0;
	size_t		 i;

	for (i = 0; i < NELEM(tab); i++) {
		is_int(wire_days_from_civil(tab[i].year, tab[i].mon,
		    tab[i].mday), tab[i].days, "days of %lld-%02d-%02d",
		    tab[i].year, tab[i].mon, tab[i].mday);
		wire_civil(tab[i].days * 86400 + 86399, &tm);
		ok(tm.year == tab[i].year && tm.mon == tab[i].mon &&
		    tm.mday == tab[i].mday && tm.hour == 23 && tm.min == 59 &&
		    tm.sec == 59 && tm.wday == tab[i].wday,
		    "civil of day %lld: %lld-%02d-%02d %02d:%02d:%02d wday %d",
		    tab[i].days, tm.year, tm.mon, tm.mday, tm.hour, tm.min,
		    tm.sec, tm.wday);
	}

	/* Each day follows the one before, and converts back to itself. */
	prev = -800001;
	wire_civil(prev * 86400, &tm);
	for (d = -800000; d <= 800000; d++) {
		struct wire_tm	 last = tm;

		wire_civil(d * 86400 + (d & 0xffff), &tm);
		if (wire_days_from_civil(tm.year, tm.mon, tm.mday) != d ||
		    tm.wday != (last.wday + 1) % 7 ||
		    (tm.mday != last.mday + 1 && (tm.mday != 1 ||
		    (tm.mon != last.mon % 12 + 1))) ||
		    tm.year != last.year + (tm.mon == 1 && tm.mday == 1) ||
		    tm.hour * 3600 + tm.min * 60 + tm.sec != (d & 0xffff))
			if (fails++ == 0)
				diag("civil fails at day %lld", d);
		prev = d;
	}
	is_int(fails, 0, "civil and back for days -800000 to %lld", prev);

	for (i = 0; i < NELEM(extremes); i++) {
		wire_civil(extremes[i], &tm);
		days = extremes[i] / 86400;
		secs = extremes[i] % 86400;
		if (secs < 0) {
			secs += 86400;
			days--;
		}
		ok(wire_days_from_civil(tm.year, tm.mon, tm.mday) == days &&
		    tm.hour * 3600 + tm.min * 60 + tm.sec == secs,
		    "civil of %lld: year %lld", extremes[i], tm.year);
	}
	is_int(wire_days_from_civil(LLONG_MAX, 1, 1), LLONG_MAX,
	    "days of an absurd year saturate");
	is_int(wire_days_from_civil(LLONG_MIN, 1, 1), LLONG_MIN,
	    "days of an absurd negative year saturate");
}

int
main(void)
{
	test_protos();
	test_stamp_encode();
	test_time();
	test_daytime_encode();
	test_daytime_oracle();
	test_daytime_decode();
	test_round_trips();
	test_malformed();
	test_mutations();
	test_civil();
	return done_testing();
}
