/*
 * bench_udp.c: stampbench's UDP engine over epoll.  Each slot has one
 * connected socket for the whole run, and an exchange is a datagram sent
 * (empty, or an NTP request) and one read back.
 */
#include <sys/epoll.h>

#include <errno.h>

#include "bench_epoll.h"
#include "net.h"

/*
 * What a timed-out exchange's reply left behind, if it came late: read
 * and dropped, so that it is not taken for the next one's.
 */
static void
drain(int fd)
{
	char	 junk[64];
	int	 i;

	for (i = 0; i < 64; i++)
		if (net_recvfrom(fd, junk, sizeof junk, MSG_DONTWAIT, NULL,
		    NULL) == -1 && errno != ECONNREFUSED)
			break;
}

/* The epoll instance, and a connected socket per slot in it. */
static int
udp_setup(struct bench_worker *w)
{
	struct bench		*b = w->b;
	struct bench_slot	*s;
	int			 i;

	if (bench_epoll_open(w) == -1)
		return -1;
	for (i = 0; i < w->nslot; i++) {
		s = &w->slot[i];
		w->errwhere = "udp socket";
		s->fd = socket(b->addr.ss_family,
		    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (s->fd == -1 || connect(s->fd,
		    (struct sockaddr *)&b->addr, b->addrlen) == -1)
			return -1;
		w->errwhere = "epoll_ctl";
		if (bench_epoll_add(w, s->fd, EPOLLIN, s) == -1)
			return -1;
	}
	return 0;
}

static int
udp_start(struct bench_worker *w, struct bench_slot *s)
{
	char	 req[BENCH_REQUEST_MAX];
	size_t	 n;

	if (s->stale) {
		drain(s->fd);
		s->stale = 0;
	}
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
	if (!s->busy) {
		drain(s->fd);
		return;
	}
	/*
	 * MSG_TRUNC: the length of the whole datagram, however long.  A
	 * reply to the request before, which timed out, may come after the
	 * drain: dropped, and the next datagram read.
	 */
	do {
		n = net_recvfrom(s->fd, s->buf, sizeof s->buf, MSG_TRUNC,
		    NULL, NULL);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			bench_worker_done(w, s, bench_worker_fault(w, errno),
			    0);
			return;
		}
	} while ((size_t)n <= sizeof s->buf &&
	    bench_worker_late(w, s, s->buf, (size_t)n));
	end = bench_worker_now(CLOCK_MONOTONIC);
	if ((size_t)n > sizeof s->buf)
		bench_worker_bad(w, s, "reply longer than 512 bytes");
	else
		bench_worker_done(w, s,
		    bench_worker_check(w, s, s->buf, (size_t)n, end), end);
}

static void
udp_run(struct bench_worker *w)
{
	bench_epoll_run(w, udp_ready);
}

/* The sockets stay open from one exchange to the next: no end. */
const struct bench_engine bench_udp = {
	.io = "epoll",
	.setup = udp_setup,
	.run = udp_run,
	.start = udp_start,
};
