/*
 * proto_ntp.c: the row of NTP (RFC 5905), server mode.
 *
 * A client's request gets the four timestamps' server half: the kernel's
 * time of its arrival, and the time of the reply's departure, read as late
 * as the send allows (the sending hook).  What the reply says of the clock
 * is what the kernel says of it (clock.h), refreshed once a second per
 * thread: a host whose clock nobody synchronizes serves leap 3, which
 * every client refuses.  Nothing but a client's request is answered, and
 * the reply is never longer than the request: no amplifier, no loop.
 */
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "ntp.h"
#include "proto.h"
#include "serve.h"
#include "stats.h"

/* --local-stratum: 0 serves what the kernel says. */
static int	 local_stratum;

/* The clock's state, read once a second per thread. */
static __thread struct {
	time_t			 sec;
	struct clock_state	 cs;
} clk = { .sec = -1 };

static void
init(const struct server *srv)
{
	struct clock_state	 cs;

	local_stratum = srv->local_stratum;
	if (clock_read(local_stratum, &cs) == -1 && local_stratum == 0)
		log_warn("ntp: the kernel does not say how good the clock is, "
		    "so NTP replies say it is unsynchronized");
}

/* The host clock's state now: unsynchronized if the kernel will not say. */
static const struct clock_state *
state(const struct timespec *now)
{
	if (now->tv_sec != clk.sec) {
		(void)clock_read(local_stratum, &clk.cs);
		clk.sec = now->tv_sec;
	}
	return &clk.cs;
}

static int
reply(const struct proto_req *rq, char *buf, size_t len)
{
	const struct clock_state	*cs;
	struct ntp_packet		 req, rep;
	struct timespec			 now;
	enum ntp_verdict		 v;

	v = rq->trunc ? NTP_BAD_EXT : ntp_judge(rq->buf, rq->len, &req);
	stats_count(rq->st, STAT_NTP_VERDICT + v, 1);
	if (v != NTP_ANSWER)
		return 0;
	clock_gettime(CLOCK_REALTIME, &now);
	cs = state(&now);
	/* The transmit time is set again by sending(), just before the send. */
	ntp_reply(&req, cs, ntp_from_timespec(rq->rx != NULL ? rq->rx : &now),
	    0, &rep);
	return ntp_encode(&rep, buf, len);
}

static void
sending(char *buf, size_t len)
{
	struct timespec	 now;

	if (len < NTP_HEADER_LEN)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	ntp_set_xmt(buf, ntp_from_timespec(&now));
}

/*
 * A reply: what a server (4), a broadcaster (5) or a symmetric peer
 * answering (2) sends.  Answering one would let two servers loop.
 */
static int
is_reply(const char *req, size_t len)
{
	int	 mode;

	if (len < NTP_HEADER_LEN)
		return 0;
	mode = (unsigned char)req[0] & 7;
	return mode == NTP_MODE_SERVER || mode == NTP_MODE_BROADCAST ||
	    mode == NTP_MODE_PASSIVE;
}

const struct proto proto_ntp = {
	.name = "ntp",
	.low_port = NTP_PORT,
	.rx_time = 1,
	.reply = reply,
	.is_reply = is_reply,
	.sending = sending,
	.init = init,
};
