/*
 * ntp.c: NTP's header both ways, a server's verdict and reply, and a
 * client's arithmetic (RFC 5905; extension fields RFC 7822).
 *
 * Pure code for the daemon's hot path and for the client: it never reads a
 * clock, allocates, or touches errno.  The judge trusts nothing in a
 * datagram: whatever the bytes, it returns a verdict and never reads
 * outside buf[0..len).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "ntp.h"

#define EPOCH_1900	2208988800ULL	/* 1900 to 1970, in seconds */
#define ERA		(1LL << 32)	/* seconds in one NTP era */
#define NSEC		1000000000ULL
#define USEC		1000000LL
#define EXT_MIN		16	/* RFC 7822: the smallest extension field */
#define MAC_MD5		20	/* key ID and an MD5 digest */
#define MAC_SHA1	24	/* key ID and a SHA-1 digest */

/* Header offsets (RFC 5905, figure 8). */
#define OFF_ROOT_DELAY	4
#define OFF_ROOT_DISP	8
#define OFF_REFID	12
#define OFF_REF		16
#define OFF_ORG		24
#define OFF_REC		32
#define OFF_XMT		40

static const char *const verdict_names[NTP_NVERDICT] = {
	[NTP_ANSWER] = "answer",
	[NTP_SHORT] = "short",
	[NTP_BAD_VERSION] = "bad_version",
	[NTP_NOT_REQUEST] = "not_request",
	[NTP_CONTROL] = "control",
	[NTP_BAD_EXT] = "bad_ext",
};

static uint32_t
get32(const unsigned char *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

static uint64_t
get64(const unsigned char *b)
{
	return (uint64_t)get32(b) << 32 | get32(b + 4);
}

static void
put32(unsigned char *b, uint32_t v)
{
	b[0] = v >> 24;
	b[1] = v >> 16;
	b[2] = v >> 8;
	b[3] = v;
}

static void
put64(unsigned char *b, uint64_t v)
{
	put32(b, v >> 32);
	put32(b + 4, (uint32_t)v);
}

/* A signed byte read without relying on the implementation's conversion. */
static int
sbyte(unsigned char c)
{
	return c < 128 ? c : (int)c - 256;
}

const char *
ntp_verdict_name(enum ntp_verdict v)
{
	if ((int)v < 0 || v >= NTP_NVERDICT)
		return NULL;
	return verdict_names[v];
}

int
ntp_decode(const void *buf, size_t len, struct ntp_packet *p)
{
	const unsigned char	*b = buf;

	if (len < NTP_HEADER_LEN)
		return -1;
	p->leap = b[0] >> 6;
	p->version = b[0] >> 3 & 7;
	p->mode = b[0] & 7;
	p->stratum = b[1];
	p->poll = sbyte(b[2]);
	p->precision = sbyte(b[3]);
	p->root_delay = get32(b + OFF_ROOT_DELAY);
	p->root_disp = get32(b + OFF_ROOT_DISP);
	p->refid = get32(b + OFF_REFID);
	p->ref = get64(b + OFF_REF);
	p->org = get64(b + OFF_ORG);
	p->rec = get64(b + OFF_REC);
	p->xmt = get64(b + OFF_XMT);
	return 0;
}

int
ntp_encode(const struct ntp_packet *p, void *buf, size_t len)
{
	unsigned char	*b = buf;

	if (len < NTP_HEADER_LEN)
		return -1;
	if (p->leap < 0 || p->leap > 3 || p->version < 0 || p->version > 7 ||
	    p->mode < 0 || p->mode > 7 || p->stratum < 0 || p->stratum > 255 ||
	    p->poll < -128 || p->poll > 127 || p->precision < -128 ||
	    p->precision > 127)
		return -1;
	b[0] = (unsigned char)(p->leap << 6 | p->version << 3 | p->mode);
	b[1] = (unsigned char)p->stratum;
	b[2] = (unsigned char)(p->poll & 0xff);
	b[3] = (unsigned char)(p->precision & 0xff);
	put32(b + OFF_ROOT_DELAY, p->root_delay);
	put32(b + OFF_ROOT_DISP, p->root_disp);
	put32(b + OFF_REFID, p->refid);
	put64(b + OFF_REF, p->ref);
	put64(b + OFF_ORG, p->org);
	put64(b + OFF_REC, p->rec);
	put64(b + OFF_XMT, p->xmt);
	return NTP_HEADER_LEN;
}

/*
 * Whether what follows the header, rest bytes at b, is well formed.  Only
 * NTPv4 has extension fields; before it, anything after the header was a
 * MAC.  A remainder of exactly a MAC's length is read as one, as chrony
 * does: an extension field of that length would be accepted all the same.
 */
static int
trailer_ok(const unsigned char *b, size_t rest, int version)
{
	size_t	 flen;

	while (rest > 0) {
		if (rest == MAC_MD5 || rest == MAC_SHA1)
			return 1;
		if (version < 4 || rest < EXT_MIN)
			return 0;
		/* Type, then length: the whole field's, header included. */
		flen = (size_t)b[2] << 8 | b[3];
		if (flen < EXT_MIN || flen % 4 != 0 || flen > rest)
			return 0;
		b += flen;
		rest -= flen;
	}
	return 1;
}

enum ntp_verdict
ntp_judge(const void *buf, size_t len, struct ntp_packet *req)
{
	if (ntp_decode(buf, len, req) == -1)
		return NTP_SHORT;
	if (req->version < 1 || req->version > NTP_VERSION)
		return NTP_BAD_VERSION;
	switch (req->mode) {
	case NTP_MODE_ACTIVE:
	case NTP_MODE_CLIENT:
		break;
	case NTP_MODE_CONTROL:
	case NTP_MODE_PRIVATE:
		return NTP_CONTROL;
	default:
		/*
		 * chrony answers an NTPv1 mode 0 from a port other than 123;
		 * we never send mode 0 and need not guess at ports here.
		 */
		return NTP_NOT_REQUEST;
	}
	if (!trailer_ok((const unsigned char *)buf + NTP_HEADER_LEN,
	    len - NTP_HEADER_LEN, req->version))
		return NTP_BAD_EXT;
	return NTP_ANSWER;
}

void
ntp_set_xmt(void *buf, uint64_t xmt)
{
	put64((unsigned char *)buf + OFF_XMT, xmt);
}

uint64_t
ntp_from_timespec(const struct timespec *ts)
{
	uint64_t	 sec, frac;
	long long	 nsec;

	/*
	 * Unsigned arithmetic is modulo 2^64, so a time before 1900 or after
	 * the wrap of 2036 lands in its era like any other; a non-normalized
	 * tv_nsec is carried into the seconds first.
	 */
	sec = (uint64_t)ts->tv_sec;
	nsec = ts->tv_nsec % (long long)NSEC;
	sec += (uint64_t)(ts->tv_nsec / (long long)NSEC);
	if (nsec < 0) {
		nsec += NSEC;
		sec--;
	}
	/* Rounded to nearest: back and forth gives the same nanosecond. */
	frac = (((uint64_t)nsec << 32) + NSEC / 2) / NSEC;
	sec += EPOCH_1900;
	return (sec & 0xffffffffU) << 32 | frac;
}

void
ntp_to_timespec(uint64_t t, time_t pivot, struct timespec *ts)
{
	long long	 p, diff;
	uint64_t	 nsec;

	/* Keep pivot + diff in range; a pivot this far out is nonsense. */
	p = (long long)pivot;
	if (p > INT64_MAX - 2 * ERA)
		p = INT64_MAX - 2 * ERA;
	if (p < INT64_MIN + 2 * ERA)
		p = INT64_MIN + 2 * ERA;
	/* The seconds since the pivot, modulo 2^32, read in [-2^31, 2^31). */
	diff = (long long)(((t >> 32) - ((uint64_t)p + EPOCH_1900)) &
	    0xffffffffU);
	if (diff >= ERA / 2)
		diff -= ERA;
	nsec = ((t & 0xffffffffU) * NSEC + (1ULL << 31)) >> 32;
	ts->tv_sec = (time_t)(p + diff);
	/* Rounding a fraction just under 1 s makes a whole second. */
	if (nsec == NSEC) {
		nsec = 0;
		ts->tv_sec++;
	}
	ts->tv_nsec = (long)nsec;
}

uint32_t
ntp_short_from_us(long long us)
{
	uint64_t	 s;

	if (us <= 0)
		return 0;
	/* Past 65536 s the product could overflow: saturated before. */
	if (us >= 65536 * USEC)
		return NTP_SHORT_MAX;
	/* Rounding up can reach 2^32 in the last microseconds below. */
	s = ((uint64_t)us * 65536 + USEC - 1) / USEC;
	return s > NTP_SHORT_MAX ? NTP_SHORT_MAX : (uint32_t)s;
}

double
ntp_short_to_sec(uint32_t s)
{
	return s / 65536.0;
}

void
ntp_reply(const struct ntp_packet *req, const struct clock_state *cs,
    uint64_t rx, uint64_t tx, struct ntp_packet *rep)
{
	memset(rep, 0, sizeof(*rep));
	rep->leap = cs->leap;
	rep->version = req->version;
	rep->mode = req->mode == NTP_MODE_ACTIVE ? NTP_MODE_PASSIVE :
	    NTP_MODE_SERVER;
	rep->stratum = cs->stratum;
	/* Echoed as chrony does: a server has no poll of its own. */
	rep->poll = req->poll;
	rep->precision = cs->precision;
	rep->root_delay = cs->root_delay;
	rep->root_disp = cs->root_disp;
	rep->refid = cs->refid;
	rep->ref = cs->reftime;
	rep->org = req->xmt;
	rep->rec = rx;
	rep->xmt = tx;
}

/*
 * chrony sends a KoD as a full reply (its clock's fields, its own receive
 * and transmit times) with only leap, stratum and refid changed; ntpd, the
 * reference implementation, sends the client's transmit timestamp in rec
 * and xmt as well as org.  We do as ntpd: the KoD goes to a source that
 * is flooding us, so it should cost no clock read, and a client that
 * ignores the kiss cannot compute a time from it (offset and delay are 0,
 * and its clock's error shows as nothing).  Origin is echoed either way:
 * a client checks it before it believes the kiss.
 */
void
ntp_kod_rate(const struct ntp_packet *req, struct ntp_packet *rep)
{
	memset(rep, 0, sizeof(*rep));
	rep->leap = NTP_LEAP_UNSYNC;
	rep->version = req->version;
	rep->mode = req->mode == NTP_MODE_ACTIVE ? NTP_MODE_PASSIVE :
	    NTP_MODE_SERVER;
	rep->stratum = 0;
	rep->poll = req->poll > NTP_KOD_POLL ? req->poll : NTP_KOD_POLL;
	rep->refid = NTP_KOD_RATE;
	rep->org = req->xmt;
	rep->rec = req->xmt;
	rep->xmt = req->xmt;
}

/*
 * x - y modulo 2^64, read as signed.  The conversion is done by hand: C
 * leaves it to the implementation for a value above INT64_MAX.
 */
static int64_t
sdiff(uint64_t x, uint64_t y)
{
	uint64_t	 u = x - y;

	return u <= INT64_MAX ? (int64_t)u : -(int64_t)~u - 1;
}

void
ntp_offset_delay(uint64_t t1, uint64_t t2, uint64_t t3, uint64_t t4,
    double *offset, double *delay)
{
	double	 a, b, c, d;

	/*
	 * Each difference is taken modulo 2^64 and read as signed, so that
	 * two timestamps on either side of an era's wrap are as close as they
	 * really are; only differences are ever made into seconds.
	 */
	a = (double)sdiff(t2, t1);
	b = (double)sdiff(t3, t4);
	c = (double)sdiff(t4, t1);
	d = (double)sdiff(t3, t2);
	*offset = (a + b) / 2 / 4294967296.0;
	*delay = (c - d) / 4294967296.0;
}

int
ntp_is_kod(const struct ntp_packet *p)
{
	unsigned char	 c;
	int		 shift, end = 0;

	if (p->stratum != 0 || p->refid == 0)
		return 0;
	for (shift = 24; shift >= 0; shift -= 8) {
		c = p->refid >> shift & 0xff;
		if (c == '\0')
			end = 1;
		else if (end || !((c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

enum ntp_check
ntp_check_reply(const void *buf, size_t len, const uint64_t *sent,
    size_t nsent, struct ntp_packet *rep, const char **why)
{
	size_t	 i;

	*why = NULL;
	if (ntp_decode(buf, len, rep) == -1) {
		*why = "shorter than an NTP header";
		return NTP_CHECK_MALFORMED;
	}
	if (rep->mode != NTP_MODE_SERVER) {
		*why = "not a server's reply (mode is not 4)";
		return NTP_CHECK_MALFORMED;
	}
	if (rep->version < 1 || rep->version > NTP_VERSION) {
		*why = "version 0 or above 4";
		return NTP_CHECK_MALFORMED;
	}
	/* RFC 5905's test 2: a reply to a request we did not send is bogus. */
	for (i = 0; i < nsent; i++)
		if (sent[i] == rep->org)
			break;
	if (i == nsent) {
		*why = "origin timestamp is not our transmit timestamp";
		return NTP_CHECK_MALFORMED;
	}
	if (ntp_is_kod(rep))
		return NTP_CHECK_KOD;
	/* Test 3: a server's reply carries both of its timestamps. */
	if (rep->rec == 0 || rep->xmt == 0) {
		*why = "no receive or transmit timestamp";
		return NTP_CHECK_MALFORMED;
	}
	if (rep->leap == NTP_LEAP_UNSYNC || rep->stratum == 0 ||
	    rep->stratum > NTP_STRATUM_MAX)
		return NTP_CHECK_UNSYNC;
	return NTP_CHECK_OK;
}

char *
ntp_refid_str(uint32_t refid, int stratum, char *buf, size_t len)
{
	unsigned char	 c;
	size_t		 n = 0;
	int		 shift, v, ascii = stratum <= 1, letters = 0;

	if (len < 16) {
		if (len > 0)
			buf[0] = '\0';
		return buf;
	}
	/* Stratum 0 (KoD) and 1 carry ASCII, padded with NULs. */
	for (shift = 24; ascii && shift >= 0; shift -= 8) {
		c = refid >> shift & 0xff;
		if (c == '\0')
			break;
		if (c < '!' || c > '~')
			ascii = 0;
		letters++;
	}
	if (letters == 0)
		ascii = 0;
	for (shift = 24; shift >= 0; shift -= 8) {
		c = refid >> shift & 0xff;
		if (ascii) {
			if (c == '\0')
				break;
			buf[n++] = (char)c;
			continue;
		}
		v = c;
		if (v >= 100)
			buf[n++] = (char)('0' + v / 100);
		if (v >= 10)
			buf[n++] = (char)('0' + v / 10 % 10);
		buf[n++] = (char)('0' + v % 10);
		if (shift > 0)
			buf[n++] = '.';
	}
	buf[n] = '\0';
	return buf;
}
