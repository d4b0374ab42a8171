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
 *
 * NTS (RFC 8915): a request with a cookie and an authenticator gets its
 * reply sealed for the client (nts.h), with fresh cookies; one whose
 * cookie or authenticator fails gets an NTS NAK; with --nts-only a plain
 * request gets nothing.
 *
 * Interleaved mode (RFC 9769): the kernel's word on when each reply left
 * comes back through sent() and is kept (xleave.h); a client that names
 * its last reply by that reply's receive timestamp, in its request's
 * origin, gets that true transmit time in the next reply.
 */
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "ntp.h"
#include "nts.h"
#include "proto.h"
#include "server.h"
#include "stats.h"
#include "xleave.h"

#ifdef STAMP_NTS
#include "ntskey.h"
#include "tls.h"
#endif

/* --local-stratum: 0 serves what the kernel says. */
static int	 local_stratum;
/* --nts-only: plain requests get nothing. */
static int	 nts_only;

/* The clock's state, read once a second per thread. */
static __thread struct {
	time_t			 sec;
	struct clock_state	 cs;
} clk = { .sec = -1 };

static int
init(const struct server *srv, const char **why)
{
	struct clock_state	 cs;
	size_t			 l;

	(void)why;
	local_stratum = srv->local_stratum;
	nts_only = srv->nts_only;
	for (l = 0; l < srv->nls && srv->ls[l].proto != STAMP_PROTO_NTP; l++)
		;
	if (l == srv->nls)
		return 0;
	if (srv->ntp_interleaved > 0 &&
	    xleave_init((size_t)srv->ntp_interleaved) == -1)
		log_warn("ntp: no table for interleaved mode: basic only");
	if (clock_read(local_stratum, &cs) == -1 && local_stratum == 0)
		log_warn("ntp: the kernel does not say how good the clock is, "
		    "so NTP replies say it is unsynchronized");
	return 0;
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

/* What came of rq, in a word, for -v's line. */
static void
say(const struct proto_req *rq, const char *word)
{
	if (rq->result != NULL)
		*rq->result = word;
}

#ifdef STAMP_NTS
/* What the request's extension fields make of it. */
static enum nts_kind
secured(const struct proto_req *rq, struct nts_req *r)
{
	return nts_parse((const unsigned char *)rq->buf, rq->len, r);
}

/*
 * The reply rep to NTS request rq, sealed: its transmit time is read now,
 * before the seal, since nothing may touch it after (sending() leaves a
 * reply alone whose transmit time is set).  Interleaved mode is not
 * offered with NTS: the basic mode's times, always.
 */
static int
authenticated(const struct proto_req *rq, const struct nts_req *r,
    struct ntp_packet *rep, char *buf, size_t len)
{
	unsigned char		 hdr[NTP_HEADER_LEN];
	unsigned char		 rnd[NTS_RND_LEN];
	struct nts_keyring	 ring;
	struct timespec		 now;
	enum nts_result		 res;
	size_t			 n;

	tls_random(rnd, sizeof rnd);
	clock_gettime(CLOCK_REALTIME, &now);
	ntskey_ring(&ring, (long long)now.tv_sec);
	rep->xmt = ntp_from_timespec(&now);
	if (ntp_encode(rep, hdr, sizeof hdr) == -1)
		return -1;
	n = nts_server_reply(&ring, (const unsigned char *)rq->buf, rq->len,
	    r, hdr, rnd, (unsigned char *)buf, len, &res);
	stats_count(rq->st, STAT_NTS_OK + res, 1);
	if (res == NTS_NAK_COOKIE || res == NTS_NAK_AUTH)
		say(rq, "ntsn");
	else if (res == NTS_DROP)
		say(rq, "nts_dropped");
	if (res == NTS_OK)
		stats_count(rq->st, STAT_NTS_COOKIES,
		    (unsigned long long)r->placeholders + 1);
	return (int)n;
}
#else
static enum nts_kind
secured(const struct proto_req *rq, struct nts_req *r)
{
	(void)rq;
	(void)r;
	return NTS_PLAIN;
}

static int
authenticated(const struct proto_req *rq, const struct nts_req *r,
    struct ntp_packet *rep, char *buf, size_t len)
{
	(void)rq;
	(void)r;
	(void)rep;
	(void)buf;
	(void)len;
	return 0;
}
#endif

/*
 * Whether req names one of our replies (interleaved) whose departure is
 * not in the table, though it may be in the kernel's queue still.
 */
static int
departure_unread(const struct proto_req *rq, const struct ntp_packet *req)
{
	uint64_t	 tx;

	return !rq->sent_read && xleave_on() && req->org != 0 &&
	    req->org != req->xmt && !xleave_find(req->org, &tx);
}

static int
reply(const struct proto_req *rq, char *buf, size_t len)
{
	const struct clock_state	*cs;
	struct ntp_packet		 req, rep;
	struct timespec			 now;
	uint64_t			 rx, tx;
	enum ntp_verdict		 v;
	struct nts_req			 nr;
	enum nts_kind			 kind;

	v = rq->trunc ? NTP_BAD_EXT : ntp_judge(rq->buf, rq->len, &req);
	if (v == NTP_ANSWER && departure_unread(rq, &req))
		return PROTO_LATER;
	stats_count(rq->st, STAT_NTP_VERDICT + v, 1);
	if (v != NTP_ANSWER) {
		say(rq, ntp_verdict_name(v));
		return 0;
	}
	kind = secured(rq, &nr);
	if (kind == NTS_MALFORMED) {
		stats_count(rq->st, STAT_NTS_DROP, 1);
		say(rq, "nts_malformed");
		return 0;
	}
	if (kind == NTS_PLAIN && nts_only) {
		stats_count(rq->st, STAT_NTS_PLAIN, 1);
		say(rq, "plain_refused");
		return 0;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	cs = state(&now);
	rx = ntp_from_timespec(rq->rx != NULL ? rq->rx : &now);
	if (kind == NTS_REQUEST) {
		ntp_reply(&req, cs, rx, 0, &rep);
		return authenticated(rq, &nr, &rep, buf, len);
	}
	/*
	 * Interleaved: the origin names our last reply by its receive time,
	 * and the transmit is the kernel's time of that reply.  Basic: the
	 * transmit is set by sending(), just before the send, which leaves
	 * an interleaved one alone (it is not 0).
	 */
	if (req.org != req.xmt && xleave_find(req.org, &tx)) {
		ntp_reply(&req, cs, rx, tx, &rep);
		rep.org = req.rec;
	} else
		ntp_reply(&req, cs, rx, 0, &rep);
	/*
	 * The state was read after the request came in (once a second): its
	 * reference time, that reading, may be a little later than rx, and
	 * a clock is never referenced in the future of a reply's times.
	 */
	if (rep.ref > rx && rep.ref - rx < (uint64_t)1 << 40)
		rep.ref = rx;
	return ntp_encode(&rep, buf, len);
}

/*
 * A plain reply's departure is wanted for interleaved mode: the client's
 * next request may name it.  One with extension fields (NTS's) is never
 * named so, and its departure is not asked for.
 */
static int
sending(char *buf, size_t len)
{
	struct ntp_packet	 rep;
	struct timespec		 now;
	int			 want = len == NTP_HEADER_LEN && xleave_on();

	if (ntp_decode(buf, len, &rep) == -1 || rep.xmt != 0)
		return want;
	clock_gettime(CLOCK_REALTIME, &now);
	ntp_set_xmt(buf, ntp_from_timespec(&now));
	return want;
}

static int
tx_time(void)
{
	return xleave_on();
}

/* Our reply, as the kernel looped it back: its last 48 bytes. */
static void
sent(const char *buf, size_t len, const struct timespec *tx)
{
	struct ntp_packet	 rep;

	if (len < NTP_HEADER_LEN ||
	    ntp_decode(buf + len - NTP_HEADER_LEN, NTP_HEADER_LEN, &rep) == -1)
		return;
	xleave_sent(rep.rec, ntp_from_timespec(tx));
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
	.tx_time = tx_time,
	.sent = sent,
	.init = init,
};
