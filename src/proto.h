/*
 * proto.h: what the server and its clients agree on.
 *
 * The lesson's proto.h held the port and the reply format; this one adds
 * the two standard time services that inetd has always served, so that
 * stampd, stamp and stampbench speak all three from one set of numbers.
 */
#ifndef STAMP_PROTO_H
#define STAMP_PROTO_H

/* The lesson's service: one line, the Unix time in decimal, then CRLF. */
#define STAMP_PORT		1937
#define STAMP_FMT		"%lld\r\n"

/* RFC 868 Time: 32 bits, big-endian, seconds since 1900-01-01 00:00 UTC. */
#define STAMP_TIME_PORT		37
#define STAMP_TIME_LEN		4
#define STAMP_EPOCH_1900	2208988800LL	/* 1900 to 1970, in seconds */

/* RFC 867 Daytime: a human-readable line; we send ctime(3)'s, as inetd. */
#define STAMP_DAYTIME_PORT	13

/* The longest reply of any protocol, its terminator included. */
#define STAMP_REPLY_MAX		64

enum stamp_proto {
	STAMP_PROTO_STAMP,
	STAMP_PROTO_TIME,
	STAMP_PROTO_DAYTIME,
};
#define STAMP_NPROTO		3

#define STAMP_VERSION		"0.1.0"

#endif /* STAMP_PROTO_H */
