/*
 * proto_time.c: the rows of the three protocols that send the time and
 * nothing else: the lesson's stamp, RFC 868 time, RFC 867 daytime.
 *
 * Their reply depends on the second alone, so it is formatted once a
 * second per thread, not once a client; a request's bytes never change it.
 */
#include <string.h>
#include <time.h>

#include "proto.h"
#include "wire.h"

#define NTIME	3	/* the three rows here, enum stamp_proto's first */

/* The replies of the current second, per thread. */
static __thread struct {
	long long	 sec;
	int		 len[NTIME];
	char		 text[NTIME][STAMP_REPLY_MAX];
} cache = { .sec = -1 };

static int
reply(int proto, char *buf, size_t len)
{
	struct timespec	 ts;
	int		 p;

	/* The coarse clock costs no system call and is right to a tick. */
	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	if (ts.tv_sec != cache.sec) {
		for (p = 0; p < NTIME; p++)
			cache.len[p] = wire_encode(p, ts.tv_sec, cache.text[p],
			    sizeof cache.text[p]);
		cache.sec = ts.tv_sec;
	}
	if (cache.len[proto] < 0 || (size_t)cache.len[proto] > len)
		return -1;
	memcpy(buf, cache.text[proto], (size_t)cache.len[proto]);
	return cache.len[proto];
}

static int
reply_stamp(const struct proto_req *rq, char *buf, size_t len)
{
	(void)rq;
	return reply(STAMP_PROTO_STAMP, buf, len);
}

static int
reply_time(const struct proto_req *rq, char *buf, size_t len)
{
	(void)rq;
	return reply(STAMP_PROTO_TIME, buf, len);
}

static int
reply_daytime(const struct proto_req *rq, char *buf, size_t len)
{
	(void)rq;
	return reply(STAMP_PROTO_DAYTIME, buf, len);
}

/*
 * Whether a datagram is a reply of one of the three: what another time
 * server sends back.  A request is empty, or anything else.
 */
static int
is_reply(int proto, const char *req, size_t len)
{
	const char	*why;
	long long	 t;

	return len > 0 && wire_decode(proto, req, len, &t, &why) == 0;
}

static int
is_stamp(const char *req, size_t len)
{
	return is_reply(STAMP_PROTO_STAMP, req, len);
}

static int
is_time(const char *req, size_t len)
{
	return is_reply(STAMP_PROTO_TIME, req, len);
}

static int
is_daytime(const char *req, size_t len)
{
	return is_reply(STAMP_PROTO_DAYTIME, req, len);
}

const struct proto proto_stamp = {
	.name = "stamp",
	.reply = reply_stamp,
	.is_reply = is_stamp,
};

const struct proto proto_time = {
	.name = "time",
	.reply = reply_time,
	.is_reply = is_time,
};

const struct proto proto_daytime = {
	.name = "daytime",
	.reply = reply_daytime,
	.is_reply = is_daytime,
};
