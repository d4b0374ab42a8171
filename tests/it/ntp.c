/*
 * ntp.c: stampd's NTP, asked with raw packets, in every model.
 *
 * What a client may rely on and an attacker may try: a request gets a
 * reply of its own version whose origin is the request's transmit time,
 * whose receive and transmit times lie between the client's send and its
 * receipt (the same clock: stampd serves the host's); a symmetric active
 * request gets a passive reply; nothing else is answered, and every reply
 * is 48 bytes, never more than its request.  Interleaved mode: a second
 * request whose origin is the first reply's receive time gets, as its
 * transmit time, the kernel's time of the first reply's departure, which
 * comes after the time written in that reply and before this request's
 * arrival.  Each model runs with --local-stratum 8, so that the host's own
 * clock state does not matter; ntp_interop.t asks without it.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "ntp.h"
#include "tap.h"

#define WAIT_MS		((int)h_ms(3000))

/* The time now, in NTP format. */
static uint64_t
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ntp_from_timespec(&ts);
}

/* A request: version vn, mode, with org and rec as given, xmt now. */
static size_t
request(char *buf, size_t len, int vn, int mode, uint64_t org,
    uint64_t rec, uint64_t *xmt)
{
	struct ntp_packet	 p;

	memset(&p, 0, sizeof p);
	p.version = vn;
	p.mode = mode;
	p.poll = 6;
	p.precision = -20;
	p.org = org;
	p.rec = rec;
	p.xmt = *xmt = now();
	if (ntp_encode(&p, buf, len) == -1)
		bail("ntp_encode");
	return NTP_HEADER_LEN;
}

/*
 * Send req (len bytes) on fd and read the first datagram that comes back:
 * its length, decoded into *rep; t1 and t4 bracket the exchange.
 */
static ssize_t
exchange(int fd, const char *req, size_t len, struct ntp_packet *rep,
    uint64_t *t1, uint64_t *t4)
{
	char	 buf[1024];
	ssize_t	 n;

	*t1 = now();
	if (send(fd, req, len, 0) != (ssize_t)len)
		return -1;
	if ((n = h_udp_recv(fd, buf, sizeof buf, WAIT_MS)) == -1)
		return -1;
	*t4 = now();
	if (ntp_decode(buf, (size_t)n, rep) == -1)
		memset(rep, 0, sizeof *rep);
	return n;
}

/* A request of version vn and mode is answered as a server must. */
static void
answered(const char *m, int fd, int vn, int mode, int want_mode)
{
	struct ntp_packet	 rep;
	char			 req[NTP_HEADER_LEN];
	uint64_t		 xmt, t1, t4;
	ssize_t			 n;

	request(req, sizeof req, vn, mode, 0, 0, &xmt);
	n = exchange(fd, req, sizeof req, &rep, &t1, &t4);
	is_int((int)n, NTP_HEADER_LEN, "%s: v%d mode %d: a reply of 48 bytes",
	    m, vn, mode);
	if (n != NTP_HEADER_LEN)
		return;
	is_int(rep.mode, want_mode, "%s: v%d mode %d: mode %d back", m, vn,
	    mode, want_mode);
	is_int(rep.version, vn, "%s: v%d: in the request's version", m, vn);
	is_int(rep.stratum, 8, "%s: v%d: stratum 8, as told", m, vn);
	is_int(rep.leap, NTP_LEAP_NONE, "%s: v%d: no leap warning", m, vn);
	ok(rep.org == xmt, "%s: v%d: origin is our transmit time", m, vn);
	ok(t1 <= rep.rec && rep.rec <= rep.xmt && rep.xmt <= t4,
	    "%s: v%d: send <= receive <= transmit <= receipt", m, vn);
	ok(rep.ref != 0 && rep.ref <= rep.rec,
	    "%s: v%d: a reference time, not after the receive time", m, vn);
}

/*
 * None of these is answered: each is sent, then a good request, and the
 * first datagram back must be the good one's reply.  The daemon's count
 * of what it left unanswered says each was seen.
 */
static void
unanswered(const char *m, struct h_daemon *d, int fd)
{
	static const struct {
		const char	*what;
		int		 vn, mode;
		size_t		 len;	/* cut to, or padded with junk to */
		int		 ntp;	/* counted by NTP, not as a reply */
	} bad[] = {
		{ "mode 6 (control)", 4, 6, 48, 1 },
		{ "mode 7 (monlist)", 2, 7, 48, 1 },
		{ "mode 0", 4, 0, 48, 1 },
		{ "version 0", 0, 3, 48, 1 },
		{ "version 5", 5, 3, 48, 1 },
		{ "47 bytes", 4, 3, 47, 1 },
		{ "a bad extension field", 4, 3, 56, 1 },
		{ "mode 4 (a server's reply)", 4, 4, 48, 0 },
		{ "mode 5 (broadcast)", 4, 5, 48, 0 },
		{ "mode 2 (passive)", 4, 2, 48, 0 },
	};
	struct ntp_packet	 rep;
	char			 req[64];
	uint64_t		 xmt, t1, t4;
	long long		 before, after, dbefore, dafter;
	size_t			 i, nntp = 0;
	ssize_t			 n;

	before = h_daemon_counter(d, "ntp unanswered");
	dbefore = h_daemon_counter(d, "dropped");
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(req, 0x5a, sizeof req);
		request(req, sizeof req, bad[i].vn, bad[i].mode, 0, 0, &xmt);
		if (send(fd, req, bad[i].len, 0) != (ssize_t)bad[i].len)
			bail("send");
		nntp += bad[i].ntp;
		request(req, sizeof req, 4, 3, 0, 0, &xmt);
		n = exchange(fd, req, NTP_HEADER_LEN, &rep, &t1, &t4);
		ok(n == NTP_HEADER_LEN && rep.org == xmt,
		    "%s: %s: not answered (the next reply is the good one's)",
		    m, bad[i].what);
	}
	after = h_counter_at_least(d, "ntp unanswered",
	    before + (long long)nntp, WAIT_MS);
	is_int((int)(after - before), (int)nntp,
	    "%s: each bad request counted as unanswered", m);
	dafter = h_counter_at_least(d, "dropped",
	    dbefore + (long long)(sizeof bad / sizeof bad[0] - nntp), WAIT_MS);
	is_int((int)(dafter - dbefore),
	    (int)(sizeof bad / sizeof bad[0] - nntp),
	    "%s: each reply of NTP dropped as a reply", m);
}

/* A request with a legacy MAC (68 bytes) gets 48 bytes: never more. */
static void
longer(const char *m, int fd)
{
	struct ntp_packet	 rep;
	char			 req[68];
	uint64_t		 xmt, t1, t4;
	ssize_t			 n;

	memset(req, 0, sizeof req);
	request(req, sizeof req, 4, 3, 0, 0, &xmt);
	n = exchange(fd, req, sizeof req, &rep, &t1, &t4);
	is_int((int)n, NTP_HEADER_LEN, "%s: a request with a MAC: 48 back",
	    m);
}

/* Interleaved mode: the second reply carries the first one's departure. */
static void
interleaved(const char *m, int fd)
{
	struct ntp_packet	 r1, r2;
	char			 req[NTP_HEADER_LEN];
	uint64_t		 xmt, t1, t4, t4b, t5;

	request(req, sizeof req, 4, 3, 0, 0, &xmt);
	if (exchange(fd, req, sizeof req, &r1, &t1, &t4) != NTP_HEADER_LEN) {
		ok(0, "%s: interleaved: a first reply", m);
		return;
	}
	request(req, sizeof req, 4, 3, r1.rec, t4, &xmt);
	if (exchange(fd, req, sizeof req, &r2, &t5, &t4b) != NTP_HEADER_LEN) {
		ok(0, "%s: interleaved: a second reply", m);
		return;
	}
	ok(r2.org == t4, "%s: interleaved: origin is our receive field", m);
	ok(r2.xmt != r1.xmt && r1.xmt <= r2.xmt && r2.xmt <= t4,
	    "%s: interleaved: transmit is the first reply's departure, after "
	    "the time it was written and before our receipt", m);
	ok(t5 <= r2.rec && r2.rec <= t4b,
	    "%s: interleaved: receive is this request's", m);
	/* A stale origin is a basic exchange again. */
	request(req, sizeof req, 4, 3, r1.rec - 1, t4, &xmt);
	if (exchange(fd, req, sizeof req, &r2, &t1, &t4) == NTP_HEADER_LEN)
		ok(r2.org == xmt && t1 <= r2.xmt && r2.xmt <= t4,
		    "%s: an origin we never sent: a basic reply", m);
	else
		ok(0, "%s: an origin we never sent: a reply", m);
}

/*
 * Interleaved at once, again and again: each second request comes as soon
 * as the first reply is in, while the worker that sent that reply may be
 * reading the kernel's word of its departure.  Several workers share the
 * socket (-w 4 where the model takes it).  Every second reply must be
 * interleaved: a miss is a departure read but not yet kept, looked for in
 * between.
 */
#define NPAIRS	1000

static void
interleaved_at_once(const char *m, int fd)
{
	struct ntp_packet	 r1, r2;
	char			 req[NTP_HEADER_LEN];
	uint64_t		 xmt, t1, t4, t4b, t5;
	int			 i, basic = 0, lost = 0;

	for (i = 0; i < NPAIRS; i++) {
		request(req, sizeof req, 4, 3, 0, 0, &xmt);
		if (exchange(fd, req, sizeof req, &r1, &t1, &t4) !=
		    NTP_HEADER_LEN) {
			lost++;
			continue;
		}
		request(req, sizeof req, 4, 3, r1.rec, t4, &xmt);
		if (exchange(fd, req, sizeof req, &r2, &t5, &t4b) !=
		    NTP_HEADER_LEN)
			lost++;
		else if (r2.org != t4)
			basic++;
	}
	ok(basic == 0 && lost == 0, "%s: %d interleaved pairs at once: %d "
	    "second replies basic, %d lost", m, NPAIRS, basic, lost);
}

static void
one_model(const char *m)
{
	const char	*args[] = { "-m", m, "-w", "4", "--local-stratum", "8",
			    "-l", "udp:127.0.0.1:0/ntp", NULL };
	const struct h_listener	*l;
	struct h_daemon	 d;
	int		 fd;

	/* -w where the model takes it. */
	h_model_args(m, args);
	if (h_daemon_start(&d, 1, args) == -1) {
		ok(0, "%s: stampd serves ntp", m);
		return;
	}
	if ((l = h_daemon_find(&d, "udp", "ntp")) == NULL ||
	    (fd = h_udp_open(l)) == -1)
		bail("no ntp listener to ask");
	answered(m, fd, 4, 3, 4);
	answered(m, fd, 3, 3, 4);
	answered(m, fd, 1, 3, 4);
	answered(m, fd, 4, 1, 2);
	unanswered(m, &d, fd);
	longer(m, fd);
	interleaved(m, fd);
	interleaved_at_once(m, fd);
	close(fd);
	is_int(h_daemon_stop(&d), 0, "%s: stampd exits 0 on TERM", m);
}

int
main(void)
{
	char	 models[16][32];
	int	 i, n;

	n = h_models(models, 16);
	if (n <= 0)
		bail("no models from stampd --help");
	for (i = 0; i < n; i++)
		one_model(models[i]);
	done_testing();
}
