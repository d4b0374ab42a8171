/*
 * bench_epoll.c: the epoll wait of stampbench's TCP and UDP engines, as
 * bench_epoll.h says.
 */
#include <sys/epoll.h>

#include <errno.h>

#include "bench_epoll.h"

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
bench_epoll_run(struct bench_worker *w,
    void (*ready)(struct bench_worker *, struct bench_slot *, uint32_t))
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
			ready(w, ev[i].data.ptr, ev[i].events);
	}
	w->t_end = now;
}
