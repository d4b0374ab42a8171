/*
 * proto.c: the table of the protocols stampd serves, one row each.
 *
 * The rows live in files of their own (proto_time.c: stamp, time and
 * daytime; proto_ntp.c; proto_ntske.c); this is only where the daemon
 * finds them by number.
 */
#include "proto.h"

extern const struct proto proto_stamp, proto_time, proto_daytime,
    proto_ntp, proto_ntske;

static const struct proto *const rows[STAMP_NPROTO] = {
	[STAMP_PROTO_STAMP] = &proto_stamp,
	[STAMP_PROTO_TIME] = &proto_time,
	[STAMP_PROTO_DAYTIME] = &proto_daytime,
	[STAMP_PROTO_NTP] = &proto_ntp,
	[STAMP_PROTO_NTSKE] = &proto_ntske,
};

const struct proto *
proto_row(int p)
{
	if (p < 0 || p >= STAMP_NPROTO)
		return NULL;
	return rows[p];
}
