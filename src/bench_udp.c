/*
 * bench_udp.c: stampbench's UDP engine over epoll.  Each slot has one
 * connected socket for the whole run, and an exchange is a datagram sent
 * (empty, or an NTP request) and one read back.
 */
#include <sys/epoll.h>

#include "bench_epoll.h"
#include "net.h"

/* The epoll instance, and a connected socket per slot in it. */
static int
udp_setup(struct bench_worker *w)
{
	struct bench	*b = w->b;

	if (bench_epoll_open(w) == -1)
		return -1;
	return bench_epoll_udp(w, (struct sockaddr *)&b->addr, b->addrlen);
}

static int
udp_start(struct bench_worker *w, struct bench_slot *s)
{
	char	 req[BENCH_REQUEST_MAX];
	size_t	 n;

	bench_epoll_fresh(s);
	s->start = bench_worker_now(CLOCK_MONOTONIC);
	n = bench_worker_request(w, s, req, sizeof req);
	return net_sendto(s->fd, req, n, NULL, 0) == -1 ? -1 : 0;
}

static void
udp_ready(struct bench_worker *w, struct bench_slot *s, uint32_t events)
{
	ssize_t		 n;
	int64_t		 end;

	(void)events;
	if ((n = bench_epoll_reply(w, s)) == -1)
		return;
	end = bench_worker_now(CLOCK_MONOTONIC);
	bench_worker_done(w, s, bench_worker_check(w, s, s->buf, (size_t)n,
	    end), end);
}

/* The sockets stay open from one exchange to the next: no end. */
const struct bench_engine bench_udp = {
	.io = "epoll",
	.setup = udp_setup,
	.run = bench_epoll_run,
	.ready = udp_ready,
	.start = udp_start,
};
