/*
 * wire.h: the three protocols' replies, as pure functions.
 *
 * Nothing here reads a clock, touches a file descriptor, allocates or sets
 * errno: the time is an argument and the bytes are a buffer, so every
 * function can be table-tested and fuzzed as it stands.
 */
#ifndef STAMP_WIRE_H
#define STAMP_WIRE_H

#include <stddef.h>

#include "proto.h"

/*
 * The name of a protocol ("stamp", "time", "daytime", "ntp"), or NULL for
 * a value out of range.
 */
const char	*wire_proto_name(int proto);

/* The protocol called name, or -1 if there is none. */
int		 wire_proto_find(const char *name);

/* The well-known port of a protocol: 1937, 37, 13, 123 or 4460. */
int		 wire_proto_port(int proto);

/* Whether a protocol is spoken over UDP only (NTP), or TCP only (NTS-KE). */
int		 wire_proto_udp_only(int proto);
int		 wire_proto_tcp_only(int proto);

/*
 * Write the reply of proto for Unix time t into buf, which holds len bytes.
 * Returns the reply's length, or -1 if it does not fit, t cannot be
 * written in that protocol, or proto is NTP (ntp.h has its packets) (daytime covers years 0 to 9999; time any t, as
 * RFC 868 is defined modulo 2^32).  stamp and daytime are not NUL-terminated.
 */
int		 wire_encode(int proto, long long t, char *buf, size_t len);
int		 wire_stamp_encode(long long t, char *buf, size_t len);
int		 wire_time_encode(long long t, char *buf, size_t len);
int		 wire_daytime_encode(long long t, char *buf, size_t len);

/*
 * Read a whole reply of proto from buf[0..len) and store its Unix time in
 * *t.  Returns 0, or -1 with *why set to a static sentence saying what is
 * wrong with the reply.  buf need not be NUL-terminated and may hold NULs.
 *
 * time: the 32-bit count is read in the era that places it between
 * 1970-01-01 and 2106-02-07: a count below STAMP_EPOCH_1900 belongs to the
 * era after the wrap of 2036-02-07 06:28:16 UTC.
 *
 * daytime: ctime(3)'s "Wed Nov 25 11:00:43 2026" (what inetd and stampd
 * send) or xinetd's "25 NOV 2026 11:00:43 UTC", each read as UTC, and the
 * line may end in CRLF or LF.
 */
int		 wire_decode(int proto, const char *buf, size_t len,
		    long long *t, const char **why);
int		 wire_stamp_decode(const char *buf, size_t len, long long *t,
		    const char **why);
int		 wire_time_decode(const char *buf, size_t len, long long *t,
		    const char **why);
int		 wire_daytime_decode(const char *buf, size_t len, long long *t,
		    const char **why);

/*
 * The civil date of Unix time t, in UTC, proleptic Gregorian; and back.
 * wire_days_from_civil counts days from 1970-01-01 for a valid date.
 */
struct wire_tm {
	long long	year;
	int		mon;	/* 1 to 12 */
	int		mday;	/* 1 to 31 */
	int		hour, min, sec;
	int		wday;	/* 0 is Sunday */
};
void		 wire_civil(long long t, struct wire_tm *tm);
long long	 wire_days_from_civil(long long year, int mon, int mday);

#endif /* STAMP_WIRE_H */
