/*
 * wire.c: the replies of stamp, time and daytime, both ways.
 *
 * Pure code, shared by the daemon's hot path and the clients' parsers: it
 * never reads a clock, allocates, touches errno or consults the locale, so
 * digits and names are matched by hand and the calendar is computed here
 * rather than by gmtime(3).  A decoder trusts nothing in a reply: whatever
 * the bytes, it returns 0 or -1 with a static reason, and never reads
 * outside buf[0..len).
 */
#include <sys/socket.h>

#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "wire.h"

#define SECS_PER_DAY	86400LL
#define DAYS_PER_ERA	146097LL	/* 400 Gregorian years */
#define DAYS_0_TO_1970	719468LL	/* 0000-03-01 to 1970-01-01 */
#define YEAR_LIMIT	10000000000000000LL	/* days stay in range */
#define LLONG_DIGITS	19		/* LLONG_MAX has 19 digits */
#define DAYTIME_LEN	26		/* "Wed Nov 25 11:00:43 2026\r\n" */

/*
 * One row per protocol, indexed by enum stamp_proto.  NTP's packets are
 * ntp.h's and NTS-KE's records ntske.h's, not a time alone: they have a
 * name and a port here, no codec.
 */
static const struct {
	const char	*name;
	int		 port;
	int		 only;		/* SOCK_DGRAM, SOCK_STREAM, or 0:
					   both */
	int		(*encode)(long long, char *, size_t);
	int		(*decode)(const char *, size_t, long long *,
			    const char **);
} protos[STAMP_NPROTO] = {
	[STAMP_PROTO_STAMP] = { "stamp", STAMP_PORT, 0,
	    wire_stamp_encode, wire_stamp_decode },
	[STAMP_PROTO_TIME] = { "time", STAMP_TIME_PORT, 0,
	    wire_time_encode, wire_time_decode },
	[STAMP_PROTO_DAYTIME] = { "daytime", STAMP_DAYTIME_PORT, 0,
	    wire_daytime_encode, wire_daytime_decode },
	[STAMP_PROTO_NTP] = { "ntp", STAMP_NTP_PORT, SOCK_DGRAM, NULL, NULL },
	[STAMP_PROTO_NTSKE] = { "nts-ke", STAMP_NTSKE_PORT, SOCK_STREAM, NULL,
	    NULL },
};

static const char *const wdays[7] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
};
static const char *const months[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

const char *
wire_proto_name(int proto)
{
	if (proto < 0 || proto >= STAMP_NPROTO)
		return NULL;
	return protos[proto].name;
}

int
wire_proto_find(const char *name)
{
	int	 i;

	if (name == NULL)
		return -1;
	for (i = 0; i < STAMP_NPROTO; i++)
		if (strcmp(protos[i].name, name) == 0)
			return i;
	return -1;
}

int
wire_proto_port(int proto)
{
	if (proto < 0 || proto >= STAMP_NPROTO)
		return -1;
	return protos[proto].port;
}

int
wire_proto_udp_only(int proto)
{
	return proto >= 0 && proto < STAMP_NPROTO &&
	    protos[proto].only == SOCK_DGRAM;
}

int
wire_proto_tcp_only(int proto)
{
	return proto >= 0 && proto < STAMP_NPROTO &&
	    protos[proto].only == SOCK_STREAM;
}

/*
 * The calendar counts years from March, so that the leap day is the last
 * day of its year and every month's start is a linear function of its
 * index; 400 years are exactly 146097 days, so one era repeats the next.
 */
long long
wire_days_from_civil(long long year, int mon, int mday)
{
	long long	 y, era, yoe, mp, doy;

	/* Past this the day count would not fit: saturate, never overflow. */
	if (year > YEAR_LIMIT)
		return LLONG_MAX;
	if (year < -YEAR_LIMIT)
		return LLONG_MIN;
	y = mon <= 2 ? year - 1 : year;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	mp = mon > 2 ? (long long)mon - 3 : (long long)mon + 9;
	doy = (153 * mp + 2) / 5 + mday - 1;
	return era * DAYS_PER_ERA + yoe * 365 + yoe / 4 - yoe / 100 + doy -
	    DAYS_0_TO_1970;
}

/* The weekday of a day count, 0 for Sunday: 1970-01-01 was a Thursday. */
static int
weekday(long long days)
{
	return (int)((days % 7 + 11) % 7);
}

void
wire_civil(long long t, struct wire_tm *tm)
{
	long long	 days, secs, era, doe, yoe, doy, mp;

	days = t / SECS_PER_DAY;
	secs = t % SECS_PER_DAY;
	if (secs < 0) {
		secs += SECS_PER_DAY;
		days--;
	}
	tm->hour = (int)(secs / 3600);
	tm->min = (int)(secs / 60 % 60);
	tm->sec = (int)(secs % 60);
	tm->wday = weekday(days);

	days += DAYS_0_TO_1970;
	era = (days >= 0 ? days : days - (DAYS_PER_ERA - 1)) / DAYS_PER_ERA;
	doe = days - era * DAYS_PER_ERA;
	/* Undo the leap days of every 4th, 100th and 400th year of the era. */
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (yoe * 365 + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	tm->mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	tm->mon = (int)(mp < 10 ? mp + 3 : mp - 9);
	tm->year = era * 400 + yoe + (tm->mon <= 2);
}

int
wire_encode(int proto, long long t, char *buf, size_t len)
{
	if (proto < 0 || proto >= STAMP_NPROTO ||
	    protos[proto].encode == NULL)
		return -1;
	return protos[proto].encode(t, buf, len);
}

int
wire_stamp_encode(long long t, char *buf, size_t len)
{
	char			 tmp[LLONG_DIGITS + 3];
	char			*p = tmp + sizeof(tmp);
	unsigned long long	 u;
	size_t			 n;

	/* In unsigned arithmetic, -LLONG_MIN is well defined. */
	u = t < 0 ? 0ULL - (unsigned long long)t : (unsigned long long)t;
	*--p = '\n';
	*--p = '\r';
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (t < 0)
		*--p = '-';
	n = (size_t)(tmp + sizeof(tmp) - p);
	if (n > len)
		return -1;
	memcpy(buf, p, n);
	return (int)n;
}

int
wire_time_encode(long long t, char *buf, size_t len)
{
	unsigned long long	 u;

	if (len < STAMP_TIME_LEN)
		return -1;
	/* RFC 868 wraps in 2036: keep the count modulo 2^32. */
	u = ((unsigned long long)t + (unsigned long long)STAMP_EPOCH_1900) &
	    0xffffffffULL;
	buf[0] = (char)(u >> 24);
	buf[1] = (char)(u >> 16 & 0xff);
	buf[2] = (char)(u >> 8 & 0xff);
	buf[3] = (char)(u & 0xff);
	return STAMP_TIME_LEN;
}

static char *
put2(char *p, int v, char pad)
{
	*p++ = v < 10 ? pad : (char)('0' + v / 10);
	*p++ = (char)('0' + v % 10);
	return p;
}

int
wire_daytime_encode(long long t, char *buf, size_t len)
{
	struct wire_tm	 tm;
	char		*p = buf;
	int		 y;

	wire_civil(t, &tm);
	if (tm.year < 0 || tm.year > 9999 || len < DAYTIME_LEN)
		return -1;
	y = (int)tm.year;
	memcpy(p, wdays[tm.wday], 3);
	p[3] = ' ';
	memcpy(p + 4, months[tm.mon - 1], 3);
	p[7] = ' ';
	p = put2(p + 8, tm.mday, ' ');
	*p++ = ' ';
	p = put2(p, tm.hour, '0');
	*p++ = ':';
	p = put2(p, tm.min, '0');
	*p++ = ':';
	p = put2(p, tm.sec, '0');
	*p++ = ' ';
	p = put2(p, y / 100, '0');
	p = put2(p, y % 100, '0');
	*p++ = '\r';
	*p++ = '\n';
	return (int)(p - buf);
}

static int
fail(const char **why, const char *reason)
{
	if (why != NULL)
		*why = reason;
	return -1;
}

/*
 * Check that buf holds exactly one line and nothing after it; store the
 * length of its text, its terminator excluded.
 */
static int
one_line(const char *buf, size_t len, int lf_ok, size_t *textlen,
    const char **why)
{
	const char	*nl;
	size_t		 n;

	if (len == 0)
		return fail(why, "empty reply");
	if (len > STAMP_REPLY_MAX)
		return fail(why, "reply too long");
	if (memchr(buf, '\0', len) != NULL)
		return fail(why, "NUL byte in reply");
	if ((nl = memchr(buf, '\n', len)) == NULL)
		return fail(why, lf_ok ? "no newline at end of line" :
		    "no CRLF at end of line");
	n = (size_t)(nl - buf);
	if (n + 1 != len)
		return fail(why, "trailing bytes after end of line");
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	else if (!lf_ok)
		return fail(why, "no CRLF at end of line");
	*textlen = n;
	return 0;
}

int
wire_decode(int proto, const char *buf, size_t len, long long *t,
    const char **why)
{
	if (proto < 0 || proto >= STAMP_NPROTO)
		return fail(why, "unknown protocol");
	if (protos[proto].decode == NULL)
		return fail(why, "not a protocol of a time alone");
	return protos[proto].decode(buf, len, t, why);
}

int
wire_stamp_decode(const char *buf, size_t len, long long *t,
    const char **why)
{
	unsigned long long	 u = 0, limit = LLONG_MAX;
	size_t			 n, i = 0, digits;

	if (one_line(buf, len, 0, &n, why) == -1)
		return -1;
	if (n > 0 && buf[0] == '-') {
		limit = (unsigned long long)LLONG_MAX + 1;
		i = 1;
	}
	if (i == n)
		return fail(why, "not a number");
	for (digits = 0; i + digits < n; digits++)
		if (buf[i + digits] < '0' || buf[i + digits] > '9')
			return fail(why, "not a number");
	/* 19 digits cannot overflow the unsigned accumulator. */
	if (digits > LLONG_DIGITS)
		return fail(why, "number out of range");
	for (; i < n; i++)
		u = u * 10 + (unsigned long long)(buf[i] - '0');
	if (u > limit)
		return fail(why, "number out of range");
	if (buf[0] == '-' && u != 0)
		*t = -(long long)(u - 1) - 1;
	else
		*t = (long long)u;
	return 0;
}

int
wire_time_decode(const char *buf, size_t len, long long *t,
    const char **why)
{
	const unsigned char	*b = (const unsigned char *)buf;
	long long		 count;

	if (len == 0)
		return fail(why, "empty reply");
	if (len < STAMP_TIME_LEN)
		return fail(why, "short reply (want 4 bytes)");
	if (len > STAMP_TIME_LEN)
		return fail(why, "long reply (want 4 bytes)");
	count = (long long)b[0] << 24 | (long long)b[1] << 16 |
	    (long long)b[2] << 8 | (long long)b[3];
	/* A count below the 1970 offset has wrapped: it is after 2036. */
	if (count < STAMP_EPOCH_1900)
		count += 1LL << 32;
	*t = count - STAMP_EPOCH_1900;
	return 0;
}

/* A reader over the text of a daytime line; p never passes end. */
struct cursor {
	const char	*p, *end;
};

static int
lit(struct cursor *c, char ch)
{
	if (c->p == c->end || *c->p != ch)
		return 0;
	c->p++;
	return 1;
}

/* Read min to max ASCII digits; -1 if there are fewer than min. */
static int
digits(struct cursor *c, int min, int max)
{
	int	 v = 0, n;

	for (n = 0; n < max && c->p != c->end; n++, c->p++) {
		if (*c->p < '0' || *c->p > '9')
			break;
		v = v * 10 + (*c->p - '0');
	}
	return n < min ? -1 : v;
}

static int
lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

/* Read a three-letter name in any case; its index, or -1. */
static int
name(struct cursor *c, const char *const *names, int nnames)
{
	int	 i, k;

	if (c->end - c->p < 3)
		return -1;
	for (i = 0; i < nnames; i++) {
		for (k = 0; k < 3; k++)
			if (lower(c->p[k]) != lower(names[i][k]))
				break;
		if (k == 3) {
			c->p += 3;
			return i;
		}
	}
	return -1;
}

static int
leap(int y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

/*
 * The clock part, "hh:mm:ss", of both forms.  A leap second is accepted
 * at 23:59:60, where it can happen, and read as timegm(3) would: the first
 * second of the next day, which is what a POSIX clock shows then anyway.
 */
static int
clock_part(struct cursor *c, int *secs, const char **why)
{
	int	 h, m, s;

	if ((h = digits(c, 2, 2)) == -1 || !lit(c, ':') ||
	    (m = digits(c, 2, 2)) == -1 || !lit(c, ':') ||
	    (s = digits(c, 2, 2)) == -1)
		return fail(why, "not a daytime line");
	if (h > 23 || m > 59 || s > 60 || (s == 60 && (h != 23 || m != 59)))
		return fail(why, "time of day out of range");
	*secs = h * 3600 + m * 60 + s;
	return 0;
}

/* The fields of a daytime line, as read; wday is -1 when it has none. */
struct daytime {
	int	 wday, mon, mday, year, secs;
};

/* ctime(3): "Wed Nov 25 11:00:43 2026", the day as " 5" or "05". */
static int
ctime_form(struct cursor *c, struct daytime *d, const char **why)
{
	if ((d->wday = name(c, wdays, 7)) == -1)
		return fail(why, "unknown weekday");
	if (!lit(c, ' '))
		return fail(why, "not a daytime line");
	if ((d->mon = name(c, months, 12)) == -1)
		return fail(why, "unknown month");
	if (!lit(c, ' '))
		return fail(why, "not a daytime line");
	d->mday = lit(c, ' ') ? digits(c, 1, 1) : digits(c, 1, 2);
	if (d->mday == -1 || !lit(c, ' '))
		return fail(why, "not a daytime line");
	if (clock_part(c, &d->secs, why) == -1)
		return -1;
	if (!lit(c, ' ') || (d->year = digits(c, 4, 4)) == -1)
		return fail(why, "not a daytime line");
	return 0;
}

/* xinetd's, after SMTP: "25 NOV 2026 11:00:43 UTC". */
static int
xinetd_form(struct cursor *c, struct daytime *d, const char **why)
{
	static const char *const utc[2] = { "UTC", "GMT" };

	d->wday = -1;
	if ((d->mday = digits(c, 1, 2)) == -1 || !lit(c, ' '))
		return fail(why, "not a daytime line");
	if ((d->mon = name(c, months, 12)) == -1)
		return fail(why, "unknown month");
	if (!lit(c, ' ') || (d->year = digits(c, 4, 4)) == -1 ||
	    !lit(c, ' '))
		return fail(why, "not a daytime line");
	if (clock_part(c, &d->secs, why) == -1)
		return -1;
	if (!lit(c, ' ') || c->p == c->end)
		return fail(why, "not a daytime line");
	if (c->end - c->p != 3 || name(c, utc, 2) == -1)
		return fail(why, "time zone not UTC");
	return 0;
}

int
wire_daytime_decode(const char *buf, size_t len, long long *t,
    const char **why)
{
	static const int mdays[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
	};
	struct cursor	 c;
	struct daytime	 d;
	size_t		 n;
	long long	 days;

	if (one_line(buf, len, 1, &n, why) == -1)
		return -1;
	c.p = buf;
	c.end = buf + n;
	if (n > 0 && *c.p >= '0' && *c.p <= '9') {
		if (xinetd_form(&c, &d, why) == -1)
			return -1;
	} else if (ctime_form(&c, &d, why) == -1)
		return -1;
	if (c.p != c.end)
		return fail(why, "not a daytime line");
	if (d.mday < 1 || d.mday > mdays[d.mon] +
	    (d.mon == 1 && leap(d.year)))
		return fail(why, "day out of range for month");
	days = wire_days_from_civil(d.year, d.mon + 1, d.mday);
	if (d.wday != -1 && weekday(days) != d.wday)
		return fail(why, "weekday does not match date");
	*t = days * SECS_PER_DAY + d.secs;
	return 0;
}
