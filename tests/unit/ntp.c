/*
 * tests/unit/ntp.c: NTP's header, the server's verdict and reply, and the
 * client's arithmetic, as tables.
 *
 * Every datagram is judged from a buffer of exactly its length, so that
 * AddressSanitizer catches the judge reading one byte too far.  Times are
 * checked on both sides of the 2036 wrap, both ways.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ntp.h"
#include "clock.h"
#include "tap.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define CANARY		0xa5
#define EPOCH		2208988800LL		/* 1900 to 1970 */
#define WRAP		2085978496LL		/* 2036-02-07 06:28:16 */
#define NOW		1795604443LL		/* 2026-11-25 */
#define ERA		4294967296LL
#define FRAC(ns)	((uint64_t)(ns) * 4294967296ULL / 1000000000ULL)
#define SEC(s)		((uint64_t)(s) << 32)

/* Seconds -> 2^-32 s units, rounded; libm is not linked. */
static uint64_t
units(double s)
{
	return (uint64_t)(int64_t)(s * 4294967296.0 + (s < 0 ? -0.5 : 0.5));
}

static double
absd(double x)
{
	return x < 0 ? -x : x;
}

/* Field by field: a struct's padding is no one's to compare. */
static int
same_packet(const struct ntp_packet *a, const struct ntp_packet *b)
{
	return a->leap == b->leap && a->version == b->version &&
	    a->mode == b->mode && a->stratum == b->stratum &&
	    a->poll == b->poll && a->precision == b->precision &&
	    a->root_delay == b->root_delay && a->root_disp == b->root_disp &&
	    a->refid == b->refid && a->ref == b->ref && a->org == b->org &&
	    a->rec == b->rec && a->xmt == b->xmt;
}

static int
is_u64(uint64_t got, uint64_t want, const char *what, long long arg)
{
	int	 pass = got == want;

	ok(pass, "%s %lld", what, arg);
	if (!pass)
		diag("got %#018llx, expected %#018llx",
		    (unsigned long long)got, (unsigned long long)want);
	return pass;
}

static void
test_from_timespec(void)
{
	static const struct {
		long long	 sec;
		long		 nsec;
		uint64_t	 want;
	} tab[] = {
		{ 0,		0,		SEC(EPOCH) },
		{ 1,		0,		SEC(EPOCH + 1) },
		{ NOW,		0,		SEC(NOW + EPOCH) },
		{ 0,		500000000,	SEC(EPOCH) | 0x80000000U },
		{ 0,		1,		SEC(EPOCH) | 4 },
		{ 0,		999999999,	SEC(EPOCH) | 0xfffffffcU },
		{ 0,		250000000,	SEC(EPOCH) | 0x40000000U },
		/* The last second of era 0, the first of era 1. */
		{ WRAP - 1,	0,		SEC(0xffffffffU) },
		{ WRAP - 1,	999999999, SEC(0xffffffffU) | 0xfffffffcU },
		{ WRAP,		0,		0 },
		{ WRAP,		500000000,	0x80000000U },
		{ WRAP + 1,	0,		SEC(1) },
		{ WRAP + NOW,	0,		SEC(NOW) },
		/* 1900 itself, and the second before it, in era -1. */
		{ -EPOCH,	0,		0 },
		{ -EPOCH - 1,	0,		SEC(0xffffffffU) },
		{ -1,		500000000,	SEC(EPOCH - 1) | 0x80000000U },
		/* tv_nsec out of range is carried into the seconds. */
		{ 0,		1500000000,	SEC(EPOCH + 1) | 0x80000000U },
		{ 1,		-500000000,	SEC(EPOCH) | 0x80000000U },
	};
	struct timespec	 ts;
	size_t		 i;

	for (i = 0; i < NELEM(tab); i++) {
		ts.tv_sec = (time_t)tab[i].sec;
		ts.tv_nsec = tab[i].nsec;
		is_u64(ntp_from_timespec(&ts), tab[i].want, "from_timespec",
		    tab[i].sec);
	}
}

static void
test_to_timespec(void)
{
	static const struct {
		uint64_t	 t;
		long long	 pivot, sec;
		long		 nsec;
	} tab[] = {
		{ SEC(EPOCH),		0,		0,		0 },
		{ SEC(EPOCH),		NOW,		0,		0 },
		{ SEC(NOW + EPOCH) | 0x80000000U, NOW,	NOW,	500000000 },
		/* Era 0's last second, read before and after the wrap. */
		{ SEC(0xffffffffU),	NOW,		WRAP - 1,	0 },
		{ SEC(0xffffffffU),	WRAP + 100,	WRAP - 1,	0 },
		/* Era 1's first seconds, read before and after the wrap. */
		{ 0,			NOW,		WRAP,		0 },
		{ 0,			WRAP - 1,	WRAP,		0 },
		{ SEC(1),		WRAP - 10,	WRAP + 1,	0 },
		{ SEC(1),		WRAP + 10,	WRAP + 1,	0 },
		{ SEC(NOW),		WRAP + NOW,	WRAP + NOW,	0 },
		/* 1970 seen from 2068 is 2106. */
		{ SEC(EPOCH),		WRAP + 1000000000LL, ERA,	0 },
		/* 1900 seen from 1905. */
		{ 0,			-EPOCH + 157766400LL, -EPOCH,	0 },
		/* The nearest era, whichever way: 68 years either side. */
		{ SEC(EPOCH + 0x7fffffffLL), 0,		0x7fffffffLL,	0 },
		{ SEC(EPOCH - 0x80000000LL), 0,		-0x80000000LL,	0 },
		/* A fraction just under a second rounds to the next. */
		{ SEC(EPOCH) | 0xffffffffU, 0,		1,		0 },
		{ SEC(EPOCH) | 0xfffffffcU, 0,		0,	999999999 },
		{ SEC(EPOCH) | 4,	0,		0,		1 },
	};
	struct timespec	 ts;
	size_t		 i;

	for (i = 0; i < NELEM(tab); i++) {
		ntp_to_timespec(tab[i].t, (time_t)tab[i].pivot, &ts);
		ok((long long)ts.tv_sec == tab[i].sec &&
		    ts.tv_nsec == tab[i].nsec,
		    "to_timespec %#llx near %lld: %lld.%09ld",
		    (unsigned long long)tab[i].t, tab[i].pivot, tab[i].sec,
		    tab[i].nsec);
		if ((long long)ts.tv_sec != tab[i].sec ||
		    ts.tv_nsec != tab[i].nsec)
			diag("got %lld.%09ld", (long long)ts.tv_sec,
			    ts.tv_nsec);
	}
}

/* Every second around the wrap and every nanosecond step, both ways. */
static void
test_round_trip(void)
{
	static const long long	 pivots[] = { NOW, WRAP, WRAP + NOW };
	struct timespec		 ts, back;
	long long		 s, fails = 0, n = 0;
	long			 ns;
	size_t			 i;

	for (i = 0; i < NELEM(pivots); i++) {
		for (s = pivots[i] - 100; s <= pivots[i] + 100; s++) {
			for (ns = 0; ns < 1000000000L; ns += 7919 * 1013) {
				ts.tv_sec = (time_t)s;
				ts.tv_nsec = ns;
				ntp_to_timespec(ntp_from_timespec(&ts),
				    (time_t)pivots[i], &back);
				n++;
				if (back.tv_sec != ts.tv_sec ||
				    back.tv_nsec != ts.tv_nsec) {
					if (fails++ == 0)
						diag("%lld.%09ld gave "
						    "%lld.%09ld", s, ns,
						    (long long)back.tv_sec,
						    back.tv_nsec);
				}
			}
		}
	}
	is_int(fails, 0, "round trip of %lld times around 2026 and 2036", n);
	for (ns = 999999000; ns < 1000000000L; ns++) {
		ts.tv_sec = (time_t)(WRAP - 1);
		ts.tv_nsec = ns;
		ntp_to_timespec(ntp_from_timespec(&ts), (time_t)WRAP, &back);
		if (back.tv_sec != ts.tv_sec || back.tv_nsec != ns)
			fails++;
	}
	is_int(fails, 0, "every nanosecond of the last microsecond of era 0");
}

static void
test_short(void)
{
	static const struct {
		long long	 us;
		uint32_t	 want;
	} tab[] = {
		{ -1000000,	0 },
		{ -1,		0 },
		{ 0,		0 },
		{ 1,		1 },		/* 0.066 rounds up */
		{ 15,		1 },
		{ 16,		2 },
		{ 500000,	0x8000 },
		{ 1000000,	0x10000 },
		{ 1000001,	0x10001 },
		{ 16000000,	0x100000 },	/* MAXDISP */
		{ 65535999984LL, 0xffffffffU },
		{ 65535999985LL, 0xffffffffU },	/* would round to 2^32 */
		{ 65536000000LL, 0xffffffffU },
		{ 9223372036854775807LL, 0xffffffffU },
	};
	size_t	 i;

	for (i = 0; i < NELEM(tab); i++)
		is_u64(ntp_short_from_us(tab[i].us), tab[i].want,
		    "short_from_us", tab[i].us);
	ok(ntp_short_to_sec(0x18000) == 1.5, "short 0x18000 is 1.5 s");
	ok(ntp_short_to_sec(0) == 0, "short 0 is 0 s");
}

/* A server's reply, byte by byte: LI 0, v4, mode 4, stratum 2. */
static const unsigned char reply_bytes[48] = {
	0x24, 0x02, 0xfa, 0xe9,		/* poll -6, precision -23 */
	0x00, 0x01, 0x80, 0x00,		/* root delay 1.5 s */
	0x00, 0x00, 0x00, 0x21,		/* root dispersion */
	0xc0, 0x00, 0x02, 0x01,		/* refid 192.0.2.1 */
	0xee, 0xb1, 0x3e, 0x5b, 0x11, 0x22, 0x33, 0x44,	/* ref */
	0xff, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00,	/* org */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,	/* rec */
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,	/* xmt */
};

static void
test_decode_encode(void)
{
	static const struct {
		const char	*what;
		struct ntp_packet p;
	} bad[] = {
		{ "leap 4",	{ .leap = 4, .version = 4, .mode = 3 } },
		{ "leap -1",	{ .leap = -1, .version = 4, .mode = 3 } },
		{ "version 8",	{ .version = 8, .mode = 3 } },
		{ "mode 8",	{ .version = 4, .mode = 8 } },
		{ "mode -1",	{ .version = 4, .mode = -1 } },
		{ "stratum 256", { .version = 4, .mode = 4, .stratum = 256 } },
		{ "stratum -1",	{ .version = 4, .mode = 4, .stratum = -1 } },
		{ "poll 128",	{ .version = 4, .mode = 4, .poll = 128 } },
		{ "poll -129",	{ .version = 4, .mode = 4, .poll = -129 } },
		{ "precision 128", { .version = 4, .mode = 4,
		    .precision = 128 } },
		{ "precision -129", { .version = 4, .mode = 4,
		    .precision = -129 } },
	};
	struct ntp_packet	 p, q;
	unsigned char		 buf[64], *exact;
	size_t			 i;
	int			 clean;

	exact = malloc(47);
	memcpy(exact, reply_bytes, 47);
	memset(&p, CANARY, sizeof(p));
	memset(&q, CANARY, sizeof(q));
	is_int(ntp_decode(exact, 47, &p), -1, "decode 47 bytes is refused");
	ok(memcmp(&p, &q, sizeof(p)) == 0, "a refused decode writes nothing");
	free(exact);
	is_int(ntp_decode(reply_bytes, 0, &p), -1, "decode 0 bytes");

	exact = malloc(48);
	memcpy(exact, reply_bytes, 48);
	is_int(ntp_decode(exact, 48, &p), 0, "decode 48 bytes");
	free(exact);
	is_int(p.leap, 0, "leap");
	is_int(p.version, 4, "version");
	is_int(p.mode, 4, "mode");
	is_int(p.stratum, 2, "stratum");
	is_int(p.poll, -6, "poll is signed");
	is_int(p.precision, -23, "precision is signed");
	is_int(p.root_delay, 0x18000, "root delay");
	is_int(p.root_disp, 0x21, "root dispersion");
	is_int(p.refid, 0xc0000201, "refid");
	is_u64(p.ref, 0xeeb13e5b11223344ULL, "ref", 0);
	is_u64(p.org, 0xffffffff80000000ULL, "org", 0);
	is_u64(p.rec, 1, "rec", 0);
	is_u64(p.xmt, 0x0102030405060708ULL, "xmt", 0);

	memset(buf, CANARY, sizeof(buf));
	is_int(ntp_encode(&p, buf, 48), 48, "encode 48 bytes");
	ok(memcmp(buf, reply_bytes, 48) == 0, "encode gives the bytes back");
	for (clean = 1, i = 48; i < sizeof(buf); i++)
		clean = clean && buf[i] == CANARY;
	ok(clean, "nothing written past 48 bytes");

	memset(buf, CANARY, sizeof(buf));
	is_int(ntp_encode(&p, buf, 47), -1, "encode into 47 bytes");
	for (clean = 1, i = 0; i < sizeof(buf); i++)
		clean = clean && buf[i] == CANARY;
	ok(clean, "a refused encode writes nothing");

	p.leap = 3;
	p.version = 7;
	p.mode = 7;
	p.stratum = 255;
	p.poll = 127;
	p.precision = -128;
	is_int(ntp_encode(&p, buf, sizeof(buf)), 48, "encode the extremes");
	ok(buf[0] == 0xff && buf[1] == 0xff && buf[2] == 0x7f &&
	    buf[3] == 0x80, "extremes on the wire");
	is_int(ntp_decode(buf, 48, &q), 0, "decode the extremes");
	ok(same_packet(&p, &q), "extremes round trip");

	for (i = 0; i < NELEM(bad); i++) {
		memset(buf, CANARY, sizeof(buf));
		is_int(ntp_encode(&bad[i].p, buf, sizeof(buf)), -1,
		    "encode refuses %s", bad[i].what);
		ok(buf[0] == CANARY, "and writes nothing for %s", bad[i].what);
	}

	memcpy(buf, reply_bytes, 48);
	memset(buf + 48, CANARY, 16);
	ntp_set_xmt(buf, 0xa1a2a3a4b1b2b3b4ULL);
	ok(memcmp(buf, reply_bytes, 40) == 0, "set_xmt keeps bytes 0..39");
	ok(memcmp(buf + 40, "\xa1\xa2\xa3\xa4\xb1\xb2\xb3\xb4", 8) == 0,
	    "set_xmt writes bytes 40..47 big-endian");
	ok(buf[48] == CANARY, "set_xmt writes nothing past 48");
}

/* A datagram: the first byte, then extra bytes after the 48. */
struct dgram {
	const char	*what;
	int		 b0;		/* LI, version, mode */
	size_t		 len;		/* the datagram's whole length */
	const char	*tail;		/* bytes from 48 on, zeros after */
	size_t		 taillen;
	enum ntp_verdict want;
};

#define LVM(li, vn, mode)	((li) << 6 | (vn) << 3 | (mode))
#define V4C			LVM(0, 4, 3)	/* NTPv4 client */
#define V3C			LVM(0, 3, 3)
#define TAIL(s)			s, sizeof(s) - 1	/* with NULs */
/* A 16-byte extension field: type 1, length 16, and its body. */
#define EXT16	"\0\1\0\x10" "\0\0\0\0\0\0\0\0\0\0\0\0"

static const struct dgram dgrams[] = {
	{ "0 bytes", V4C, 0, TAIL(""), NTP_SHORT },
	{ "1 byte", V4C, 1, TAIL(""), NTP_SHORT },
	{ "47 bytes", V4C, 47, TAIL(""), NTP_SHORT },
	{ "47 bytes mode 7", LVM(0, 2, 7), 47, TAIL(""), NTP_SHORT },
	{ "48 bytes", V4C, 48, TAIL(""), NTP_ANSWER },
	{ "49 bytes", V4C, 49, TAIL("\0"), NTP_BAD_EXT },
	{ "50 bytes", V4C, 50, TAIL("\0\0"), NTP_BAD_EXT },
	{ "51 bytes", V4C, 51, TAIL("\0\0\0"), NTP_BAD_EXT },
	{ "52: a crypto-NAK is a reply's", V4C, 52,
	    TAIL("\0\0\0\0"), NTP_BAD_EXT },
	{ "v4 MD5 MAC", V4C, 68, TAIL("\0\0\0\1"), NTP_ANSWER },
	{ "v4 SHA-1 MAC", V4C, 72, TAIL("\0\0\0\1"), NTP_ANSWER },
	{ "v3 MD5 MAC", V3C, 68, TAIL("\0\0\0\1"), NTP_ANSWER },
	{ "v3 SHA-1 MAC", V3C, 72, TAIL("\0\0\0\1"), NTP_ANSWER },
	{ "v2 MD5 MAC", LVM(0, 2, 3), 68, TAIL(""), NTP_ANSWER },
	{ "v1 SHA-1 MAC", LVM(0, 1, 3), 72, TAIL(""), NTP_ANSWER },
	{ "v3 16 bytes", V3C, 64, TAIL("\0\0\0\x10"), NTP_BAD_EXT },
	{ "v3 28 bytes", V3C, 76, TAIL("\0\0\0\x1c"), NTP_BAD_EXT },
	{ "v3 MAC and more", V3C, 92, TAIL("\0\0\0\1"), NTP_BAD_EXT },
	{ "v4 ext 16", V4C, 64, TAIL("\0\1\0\x10"), NTP_ANSWER },
	{ "v4 ext 28", V4C, 76, TAIL("\0\1\0\x1c"), NTP_ANSWER },
	{ "v4 ext 16, 16", V4C, 80, TAIL(EXT16 "\0\2\0\x10"), NTP_ANSWER },
	{ "v4 ext 16, MD5 MAC", V4C, 84, TAIL(EXT16 "\0\0\0\1"), NTP_ANSWER },
	{ "v4 ext 16, SHA-1 MAC", V4C, 88, TAIL(EXT16 "\0\0\0\1"), NTP_ANSWER },
	/* 24 bytes after the header are a MAC before they are fields. */
	{ "v4 ext 16, 8 bytes: a MAC", V4C, 72,
	    TAIL(EXT16 "\0\2\0\x08"), NTP_ANSWER },
	{ "v4 ext 16, 12 bytes", V4C, 76,
	    TAIL(EXT16 "\0\2\0\x0c"), NTP_BAD_EXT },
	{ "v4 ext 28, 4 bytes", V4C, 80, TAIL("\0\1\0\x1c"), NTP_BAD_EXT },
	{ "v4 ext 16, ext 12", V4C, 92, TAIL(EXT16 "\0\2\0\x0c"), NTP_BAD_EXT },
	{ "v4 NTS-sized ext 104", V4C, 152, TAIL("\1\4\0\x68"), NTP_ANSWER },
	{ "v4 ext length 0", V4C, 64, TAIL("\0\1\0\0"), NTP_BAD_EXT },
	{ "v4 ext length 12", V4C, 64, TAIL("\0\1\0\x0c"), NTP_BAD_EXT },
	{ "v4 ext length 17", V4C, 65, TAIL("\0\1\0\x11"), NTP_BAD_EXT },
	{ "v4 ext length 18 of 20", V4C, 68, TAIL("\0\1\0\x12"), NTP_ANSWER },
	{ "v4 ext length 30", V4C, 80, TAIL("\0\1\0\x1e"), NTP_BAD_EXT },
	{ "v4 ext longer than the datagram", V4C, 64,
	    TAIL("\0\1\0\x14"), NTP_BAD_EXT },
	{ "v4 ext length 65535", V4C, 64, TAIL("\0\1\xff\xff"), NTP_BAD_EXT },
	{ "v4 12 bytes", V4C, 60, TAIL("\0\1\0\x0c"), NTP_BAD_EXT },
	{ "v4 44 bytes", V4C, 92, TAIL("\0\1\0\x2c"), NTP_ANSWER },
	{ "v4 46 bytes", V4C, 94, TAIL("\0\1\0\x2c"), NTP_BAD_EXT },
	/* The mode and version decide before the tail is looked at. */
	{ "mode 4, bad tail", LVM(0, 4, 4), 49, TAIL("\0"), NTP_NOT_REQUEST },
	{ "mode 7, bad tail", LVM(0, 2, 7), 49, TAIL("\0"), NTP_CONTROL },
	{ "version 0, bad tail", LVM(0, 0, 3), 49,
	    TAIL("\0"), NTP_BAD_VERSION },
	{ "version 5, mode 7", LVM(0, 5, 7), 48, TAIL(""), NTP_BAD_VERSION },
	/* The leap indicator of a request means nothing. */
	{ "LI 3 request", LVM(3, 4, 3), 48, TAIL(""), NTP_ANSWER },
	{ "LI 1 request", LVM(1, 3, 1), 48, TAIL(""), NTP_ANSWER },
};

static enum ntp_verdict
judge(int b0, size_t len, const char *tail, size_t taillen,
    struct ntp_packet *p)
{
	unsigned char		*buf;
	enum ntp_verdict	 v;

	buf = malloc(len > 0 ? len : 1);
	memset(buf, 0, len);
	if (len > 0)
		buf[0] = (unsigned char)b0;
	if (len > 40)
		memcpy(buf + 40, reply_bytes + 40, len < 48 ? len - 40 : 8);
	if (len > NTP_HEADER_LEN)
		memcpy(buf + NTP_HEADER_LEN, tail,
		    taillen < len - NTP_HEADER_LEN ? taillen :
		    len - NTP_HEADER_LEN);
	v = ntp_judge(buf, len, p);
	free(buf);
	return v;
}

static void
test_judge(void)
{
	/* Version 4, each mode. */
	static const enum ntp_verdict modes[8] = {
		NTP_NOT_REQUEST, NTP_ANSWER, NTP_NOT_REQUEST, NTP_ANSWER,
		NTP_NOT_REQUEST, NTP_NOT_REQUEST, NTP_CONTROL, NTP_CONTROL,
	};
	/* Mode 3, each version. */
	static const enum ntp_verdict versions[8] = {
		NTP_BAD_VERSION, NTP_ANSWER, NTP_ANSWER, NTP_ANSWER,
		NTP_ANSWER, NTP_BAD_VERSION, NTP_BAD_VERSION, NTP_BAD_VERSION,
	};
	struct ntp_packet	 p;
	enum ntp_verdict	 v, want;
	size_t			 i;
	int			 mode, vn, fails;

	for (mode = 0; mode < 8; mode++) {
		v = judge(LVM(0, 4, mode), 48, "", 0, &p);
		is_int(v, modes[mode], "v4 mode %d: %s", mode,
		    ntp_verdict_name(modes[mode]));
		is_int(p.mode, mode, "v4 mode %d: decoded", mode);
	}
	for (vn = 0; vn < 8; vn++) {
		v = judge(LVM(0, vn, 3), 48, "", 0, &p);
		is_int(v, versions[vn], "mode 3 version %d: %s", vn,
		    ntp_verdict_name(versions[vn]));
		is_int(p.version, vn, "mode 3 version %d: decoded", vn);
	}
	/* Every pair: the version is judged first, then the mode. */
	fails = 0;
	for (vn = 0; vn < 8; vn++)
		for (mode = 0; mode < 8; mode++) {
			want = versions[vn] != NTP_ANSWER ? versions[vn] :
			    modes[mode];
			if (judge(LVM(2, vn, mode), 48, "", 0, &p) != want) {
				fails++;
				diag("version %d mode %d", vn, mode);
			}
		}
	is_int(fails, 0, "all 64 versions and modes");

	for (i = 0; i < NELEM(dgrams); i++) {
		memset(&p, 0, sizeof(p));
		v = judge(dgrams[i].b0, dgrams[i].len, dgrams[i].tail,
		    dgrams[i].taillen, &p);
		is_int(v, dgrams[i].want, "%s: %s", dgrams[i].what,
		    ntp_verdict_name(dgrams[i].want));
		if (dgrams[i].len >= 48)
			is_u64(p.xmt, 0x0102030405060708ULL,
			    "the request is decoded, len", (long long)
			    dgrams[i].len);
	}

	for (i = 0; i < NTP_NVERDICT; i++)
		ok(ntp_verdict_name((enum ntp_verdict)i) != NULL,
		    "verdict %zu has a name", i);
	ok(ntp_verdict_name(NTP_NVERDICT) == NULL, "no name past the last");
	is_str(ntp_verdict_name(NTP_CONTROL), "control", "control's name");
}

static const struct clock_state synced = {
	.leap = NTP_LEAP_INSERT, .stratum = 3, .refid = CLOCK_REFID_LOCAL,
	.reftime = 0xeeb13e5b00000000ULL, .root_delay = 0x10,
	.root_disp = 0x148, .precision = -29,
};

static void
test_reply(void)
{
	static const struct {
		int	 version, mode, poll, want_mode;
	} tab[] = {
		{ 4, 3, 6,	4 },
		{ 3, 3, 10,	4 },
		{ 2, 3, 4,	4 },
		{ 1, 3, -3,	4 },
		{ 4, 1, 6,	2 },
		{ 3, 1, 17,	2 },
	};
	struct ntp_packet	 req, rep, back;
	unsigned char		 buf[NTP_HEADER_LEN];
	size_t			 i;

	for (i = 0; i < NELEM(tab); i++) {
		memset(&req, 0, sizeof(req));
		req.leap = 3;
		req.version = tab[i].version;
		req.mode = tab[i].mode;
		req.stratum = 7;
		req.poll = tab[i].poll;
		req.precision = -6;
		req.root_delay = req.root_disp = req.refid = 0xdeadbeef;
		req.ref = 11;
		req.org = 22;
		req.rec = 33;
		req.xmt = 0xffffffff12345678ULL;
		memset(&rep, CANARY, sizeof(rep));
		ntp_reply(&req, &synced, 0xffffffffaaaaaaabULL, 5, &rep);
		is_int(rep.mode, tab[i].want_mode, "v%d mode %d: mode %d",
		    tab[i].version, tab[i].mode, tab[i].want_mode);
		is_int(rep.version, tab[i].version, "version echoed");
		is_int(rep.poll, tab[i].poll, "poll echoed");
		is_int(rep.leap, synced.leap, "leap from the clock");
		is_int(rep.stratum, synced.stratum, "stratum from the clock");
		is_int(rep.precision, -29, "precision from the clock");
		is_int(rep.refid, CLOCK_REFID_LOCAL, "refid from the clock");
		is_u64(rep.ref, synced.reftime, "reftime from the clock", 0);
		is_int(rep.root_delay, 0x10, "root delay from the clock");
		is_int(rep.root_disp, 0x148, "root dispersion from the clock");
		is_u64(rep.org, req.xmt, "org is the request's xmt", 0);
		is_u64(rep.rec, 0xffffffffaaaaaaabULL, "rec is rx", 0);
		is_u64(rep.xmt, 5, "xmt is tx (across the wrap)", 0);
		is_int(ntp_encode(&rep, buf, sizeof(buf)), 48, "encodes");
		ntp_decode(buf, sizeof(buf), &back);
		ok(same_packet(&rep, &back), "round trips");
		/* A reply is never something a server of ours answers. */
		is_int(ntp_judge(buf, sizeof(buf), &back), NTP_NOT_REQUEST,
		    "our reply is not a request");
	}
}

static void
test_kod(void)
{
	static const struct {
		int	 version, mode, poll, want_mode, want_poll;
	} tab[] = {
		{ 4, 3, 6,	4, 6 },
		{ 4, 3, 0,	4, NTP_KOD_POLL },
		{ 4, 3, -5,	4, NTP_KOD_POLL },
		{ 4, 3, 17,	4, 17 },
		{ 3, 3, 3,	4, 3 },
		{ 4, 1, 6,	2, 6 },
	};
	struct ntp_packet	 req, rep;
	unsigned char		 buf[NTP_HEADER_LEN];
	char			 id[16];
	size_t			 i;

	for (i = 0; i < NELEM(tab); i++) {
		memset(&req, 0, sizeof(req));
		req.version = tab[i].version;
		req.mode = tab[i].mode;
		req.poll = tab[i].poll;
		req.stratum = 2;
		req.precision = -20;
		req.refid = 0x01020304;
		req.ref = 1;
		req.org = 2;
		req.rec = 3;
		req.xmt = 0x1122334455667788ULL;
		memset(&rep, CANARY, sizeof(rep));
		ntp_kod_rate(&req, &rep);
		is_int(rep.leap, 3, "KoD %zu: LI 3", i);
		is_int(rep.stratum, 0, "KoD %zu: stratum 0", i);
		is_int(rep.refid, NTP_KOD_RATE, "KoD %zu: refid RATE", i);
		is_str(ntp_refid_str(rep.refid, rep.stratum, id, sizeof(id)),
		    "RATE", "KoD %zu: RATE as text", i);
		is_int(rep.mode, tab[i].want_mode, "KoD %zu: mode", i);
		is_int(rep.version, tab[i].version, "KoD %zu: version", i);
		is_int(rep.poll, tab[i].want_poll, "KoD %zu: poll", i);
		is_u64(rep.org, req.xmt, "KoD: org echoed", (long long)i);
		is_u64(rep.rec, req.xmt, "KoD: rec is the client's xmt",
		    (long long)i);
		is_u64(rep.xmt, req.xmt, "KoD: xmt is the client's xmt",
		    (long long)i);
		ok(rep.ref == 0 && rep.root_delay == 0 && rep.root_disp == 0 &&
		    rep.precision == 0, "KoD %zu: nothing of our clock", i);
		is_int(ntp_encode(&rep, buf, sizeof(buf)), 48,
		    "KoD %zu encodes", i);
		ok(memcmp(buf + 12, "RATE", 4) == 0, "KoD %zu: RATE on the "
		    "wire", i);
	}
}

static void
test_offset_delay(void)
{
	/* In units of 2^-32 s: 0.1 s, and 1 s. */
	static const uint64_t	 bases[] = {
		0, SEC(NOW + EPOCH), SEC(0xffffffffU),
		SEC(0xffffffffU) | 0xf0000000U, UINT64_MAX,
		UINT64_MAX - SEC(1), 0x8000000000000000ULL,
	};
	static const struct {
		double	 t2, t3, t4;	/* from t1, in seconds */
		double	 offset, delay;
	} tab[] = {
		{ 0,		0,		0,	0,	0 },
		{ 1.1,		1.1,		0.2,	1.0,	0.2 },
		{ 1.1,		1.15,		0.2,	1.025,	0.15 },
		{ -0.9,		-0.9,		0.2,	-1.0,	0.2 },
		{ 0.0000425,	0.0000425,	0.000085, 0, 0.000085 },
		{ 0.00003,	0.000031,	0.000085, -0.000012, 0.000084 },
		{ -3600,	-3599.5,	1,	-3600.25, 0.5 },
		{ 1e6,		1e6,		0,	1e6,	0 },
	};
	double		 off, del;
	uint64_t	 t1, t2, t3, t4;
	size_t		 i, j;

	for (i = 0; i < NELEM(bases); i++) {
		for (j = 0; j < NELEM(tab); j++) {
			t1 = bases[i];
			t2 = t1 + units(tab[j].t2);
			t3 = t1 + units(tab[j].t3);
			t4 = t1 + units(tab[j].t4);
			ntp_offset_delay(t1, t2, t3, t4, &off, &del);
			ok(absd(off - tab[j].offset) < 1e-9 &&
			    absd(del - tab[j].delay) < 1e-9,
			    "base %#llx row %zu: offset %.7f delay %.7f",
			    (unsigned long long)bases[i], j, tab[j].offset,
			    tab[j].delay);
			if (absd(off - tab[j].offset) >= 1e-9 ||
			    absd(del - tab[j].delay) >= 1e-9)
				diag("got offset %.9f delay %.9f", off, del);
		}
	}
}

static void
test_check_reply(void)
{
	static const uint64_t	 sent[] = {
		0xeeb13e5b00000001ULL, 0xeeb13e5c00000002ULL, 5,
	};
	static const struct {
		const char	*what;
		int		 leap, version, mode, stratum;
		uint32_t	 refid;
		uint64_t	 org, rec, xmt;
		size_t		 len;
		enum ntp_check	 want;
	} tab[] = {
		{ "synced", 0, 4, 4, 2, 0xc0000201, 5, 1, 2, 48,
		    NTP_CHECK_OK },
		{ "synced, v3", 0, 3, 4, 8, CLOCK_REFID_LOCAL, 5, 1, 2, 48,
		    NTP_CHECK_OK },
		{ "synced, first try's origin", 1, 4, 4, 15, 0,
		    0xeeb13e5b00000001ULL, 1, 2, 48, NTP_CHECK_OK },
		{ "with a MAC after", 2, 4, 4, 1, 0x47505300,
		    0xeeb13e5c00000002ULL, 1, 2, 68, NTP_CHECK_OK },
		{ "LI 3", 3, 4, 4, 2, 0, 5, 1, 2, 48, NTP_CHECK_UNSYNC },
		{ "stratum 0", 0, 4, 4, 0, 0, 5, 1, 2, 48, NTP_CHECK_UNSYNC },
		{ "stratum 16", 0, 4, 4, 16, 0, 5, 1, 2, 48,
		    NTP_CHECK_UNSYNC },
		{ "stratum 255", 0, 4, 4, 255, 0, 5, 1, 2, 48,
		    NTP_CHECK_UNSYNC },
		{ "stratum 0, refid 127.127.1.1", 3, 4, 4, 0,
		    CLOCK_REFID_LOCAL, 5, 1, 2, 48, NTP_CHECK_UNSYNC },
		{ "KoD RATE", 3, 4, 4, 0, NTP_KOD_RATE, 5, 5, 5, 48,
		    NTP_CHECK_KOD },
		{ "KoD DENY, LI 0", 0, 4, 4, 0, 0x44454e59, 5, 1, 2, 48,
		    NTP_CHECK_KOD },
		{ "KoD with no timestamps", 3, 4, 4, 0, NTP_KOD_RATE, 5, 0, 0,
		    48, NTP_CHECK_KOD },
		{ "47 bytes", 0, 4, 4, 2, 0, 5, 1, 2, 47,
		    NTP_CHECK_MALFORMED },
		{ "mode 3 (our request back)", 0, 4, 3, 0, 0, 5, 1, 2, 48,
		    NTP_CHECK_MALFORMED },
		{ "mode 2", 0, 4, 2, 2, 0, 5, 1, 2, 48, NTP_CHECK_MALFORMED },
		{ "mode 5", 0, 4, 5, 2, 0, 5, 1, 2, 48, NTP_CHECK_MALFORMED },
		{ "version 0", 0, 0, 4, 2, 0, 5, 1, 2, 48,
		    NTP_CHECK_MALFORMED },
		{ "version 5", 0, 5, 4, 2, 0, 5, 1, 2, 48,
		    NTP_CHECK_MALFORMED },
		{ "wrong origin", 0, 4, 4, 2, 0, 6, 1, 2, 48,
		    NTP_CHECK_MALFORMED },
		{ "zero origin", 0, 4, 4, 2, 0, 0, 1, 2, 48,
		    NTP_CHECK_MALFORMED },
		{ "KoD, wrong origin", 3, 4, 4, 0, NTP_KOD_RATE, 7, 7, 7, 48,
		    NTP_CHECK_MALFORMED },
		{ "zero receive", 0, 4, 4, 2, 0, 5, 0, 2, 48,
		    NTP_CHECK_MALFORMED },
		{ "zero transmit", 0, 4, 4, 2, 0, 5, 1, 0, 48,
		    NTP_CHECK_MALFORMED },
	};
	struct ntp_packet	 p, got;
	unsigned char		*buf;
	const char		*why;
	enum ntp_check		 c;
	size_t			 i;

	for (i = 0; i < NELEM(tab); i++) {
		memset(&p, 0, sizeof(p));
		p.leap = tab[i].leap;
		p.version = tab[i].version;
		p.mode = tab[i].mode;
		p.stratum = tab[i].stratum;
		p.refid = tab[i].refid;
		p.org = tab[i].org;
		p.rec = tab[i].rec;
		p.xmt = tab[i].xmt;
		buf = calloc(1, tab[i].len > 48 ? tab[i].len : 48);
		ntp_encode(&p, buf, 48);
		why = "untouched";
		c = ntp_check_reply(buf, tab[i].len, sent, NELEM(sent), &got,
		    &why);
		free(buf);
		is_int(c, tab[i].want, "check %s", tab[i].what);
		ok((c == NTP_CHECK_MALFORMED) == (why != NULL),
		    "check %s: a reason exactly when malformed (%s)",
		    tab[i].what, why != NULL ? why : "none");
	}
	memset(&p, 0, sizeof(p));
	p.version = 4;
	p.mode = 4;
	p.stratum = 2;
	p.org = 5;
	p.rec = p.xmt = 1;
	buf = calloc(1, 48);
	ntp_encode(&p, buf, 48);
	is_int(ntp_check_reply(buf, 48, sent, 0, &got, &why),
	    NTP_CHECK_MALFORMED, "nothing sent: any reply is bogus");
	free(buf);

	memset(&p, 0, sizeof(p));
	p.refid = NTP_KOD_RATE;
	ok(ntp_is_kod(&p), "RATE at stratum 0 is a kiss");
	p.refid = 0x52535452;
	ok(ntp_is_kod(&p), "RSTR at stratum 0 is a kiss");
	p.refid = 0x4e545300;
	ok(ntp_is_kod(&p), "NTS padded with a NUL is a kiss");
	p.refid = 0;
	ok(!ntp_is_kod(&p), "refid 0 is an unsynchronized server");
	p.refid = 0x52610000;
	ok(!ntp_is_kod(&p), "lower case is no kiss code");
	p.refid = 0x52005200;
	ok(!ntp_is_kod(&p), "a letter after the NUL is no kiss code");
	p.refid = CLOCK_REFID_LOCAL;
	ok(!ntp_is_kod(&p), "127.127.1.1 is no kiss code");
	p.refid = NTP_KOD_RATE;
	p.stratum = 1;
	ok(!ntp_is_kod(&p), "RATE at stratum 1 is a reference clock's name");
}

static void
test_refid_str(void)
{
	static const struct {
		uint32_t	 refid;
		int		 stratum;
		const char	*want;
	} tab[] = {
		{ NTP_KOD_RATE,	0,	"RATE" },
		{ 0x44454e59,	0,	"DENY" },
		{ 0x47505300,	1,	"GPS" },
		{ 0x50505300,	1,	"PPS" },
		{ CLOCK_REFID_LOCAL, 3,	"127.127.1.1" },
		{ CLOCK_REFID_LOCAL, 0,	"127.127.1.1" },
		{ 0,		0,	"0.0.0.0" },
		{ 0xffffffff,	2,	"255.255.255.255" },
		{ 0x52415445,	2,	"82.65.84.69" },
		{ 0x52200000,	0,	"82.32.0.0" },
	};
	char	 buf[16], small[15];
	size_t	 i;

	for (i = 0; i < NELEM(tab); i++)
		is_str(ntp_refid_str(tab[i].refid, tab[i].stratum, buf,
		    sizeof(buf)), tab[i].want, "refid %#x stratum %d",
		    tab[i].refid, tab[i].stratum);
	small[0] = 'x';
	is_str(ntp_refid_str(0xffffffff, 2, small, sizeof(small)), "",
	    "a buffer under 16 bytes gets the empty string");
}

int
main(void)
{
	test_from_timespec();
	test_to_timespec();
	test_round_trip();
	test_short();
	test_decode_encode();
	test_judge();
	test_reply();
	test_kod();
	test_offset_delay();
	test_check_reply();
	test_refid_str();
	return done_testing();
}
