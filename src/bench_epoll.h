/*
 * bench_epoll.h: the wait of stampbench's epoll engines (TCP and UDP):
 * one epoll instance per worker, each slot's socket in it.
 *
 * Never prints, never exits: a failure is left in the worker.
 */
#ifndef STAMP_BENCH_EPOLL_H
#define STAMP_BENCH_EPOLL_H

#include <stdint.h>

#include "bench_worker.h"

/* w's epoll instance, into w->ep: 0, or -1 with errno and errwhere. */
int	bench_epoll_open(struct bench_worker *w);

/* Watch fd, the socket of s, for events: 0, or -1 with errno. */
int	bench_epoll_add(struct bench_worker *w, int fd, uint32_t events,
	    struct bench_slot *s);

/*
 * Turn and wait until the worker is done, handing each slot whose socket
 * is ready to ready, with the epoll events that came for it; a failed
 * wait is left in w->err and w->errwhere.
 */
void	bench_epoll_run(struct bench_worker *w,
	    void (*ready)(struct bench_worker *, struct bench_slot *,
	    uint32_t));

#endif /* STAMP_BENCH_EPOLL_H */
