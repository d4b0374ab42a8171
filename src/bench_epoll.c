/*
 * bench_epoll.c: the epoll wait of stampbench's TCP, UDP and NTS engines,
 * and their datagram sockets, as bench_epoll.h says.  Never prints, never
 * exits.
 */
#include <sys/epoll.h>

#include <errno.h>

#include "bench_epoll.h"
#include "net.h"

#define MAXEVENTS	256

int
bench_epoll_open(struct bench_worker *w)
{
	w->errwhere = "epoll_create1";
	if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	return 0;
}

int
bench_epoll_add(struct bench_worker *w, int fd, uint32_t events,
    struct bench_slot *s)
{
	struct epoll_event	 ev;

	ev.events = events;
	ev.data.ptr = s;
	return epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev);
}

void
bench_epoll_run(struct bench_worker *w)
{
	struct epoll_event	 ev[MAXEVENTS];
	int64_t			 now;
	int			 i, n, wait;

	while ((wait = bench_worker_turn(w, &now)) != -1) {
		n = epoll_wait(w->ep, ev, MAXEVENTS, wait);
		if (n == -1) {
			/* Signals are blocked here; a debugger still may. */
			if (errno == EINTR)
				continue;
			w->err = errno;
			w->errwhere = "epoll_wait";
			break;
		}
		for (i = 0; i < n; i++)
			w->b->engine->ready(w, ev[i].data.ptr,
			    ev[i].events);
	}
	w->t_end = now;
}

int
bench_epoll_udp(struct bench_worker *w, const struct sockaddr *to,
    socklen_t tolen)
{
	struct bench_slot	*s;
	int			 i;

	for (i = 0; i < w->nslot; i++) {
		s = &w->slot[i];
		w->errwhere = "udp socket";
		s->fd = socket(to->sa_family,
		    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (s->fd == -1 || connect(s->fd, to, tolen) == -1)
			return -1;
		w->errwhere = "epoll_ctl";
		if (bench_epoll_add(w, s->fd, EPOLLIN, s) == -1)
			return -1;
	}
	return 0;
}

/* What is queued on fd, up to 64 datagrams, read and dropped. */
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

void
bench_epoll_fresh(struct bench_slot *s)
{
	if (s->stale) {
		drain(s->fd);
		s->stale = 0;
	}
}

ssize_t
bench_epoll_reply(struct bench_worker *w, struct bench_slot *s)
{
	ssize_t	 n;

	if (!s->busy) {
		drain(s->fd);
		return -1;
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
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				bench_worker_done(w, s,
				    bench_worker_fault(w, errno), 0);
			return -1;
		}
	} while ((size_t)n <= sizeof s->buf &&
	    bench_worker_late(w, s, s->buf, (size_t)n));
	if ((size_t)n > sizeof s->buf) {
		bench_worker_bad(w, s, "reply longer than 512 bytes");
		return -1;
	}
	return n;
}
