/*
 * bench_epoll.h: the wait of stampbench's epoll engines (TCP, UDP and
 * NTS): one epoll instance per worker, each slot's socket in it; and the
 * datagram side they share: a connected socket per slot, the late reply
 * dropped, the reply read.
 *
 * Never prints, never exits: a failure is left in the worker.
 */
#ifndef STAMP_BENCH_EPOLL_H
#define STAMP_BENCH_EPOLL_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>

#include "bench_worker.h"

/* w's epoll instance, into w->ep: 0, or -1 with errno and errwhere. */
int	bench_epoll_open(struct bench_worker *w);

/* Watch fd, the socket of s, for events: 0, or -1 with errno. */
int	bench_epoll_add(struct bench_worker *w, int fd, uint32_t events,
	    struct bench_slot *s);

/*
 * An epoll engine's run: turn and wait until the worker is done, handing
 * each slot whose socket is ready to the engine's ready, with the epoll
 * events that came for it; a failed wait is left in w->err and
 * w->errwhere.
 */
void	bench_epoll_run(struct bench_worker *w);

/*
 * A UDP socket per slot of w, connected to to (tolen bytes), into s->fd
 * and w's epoll instance.  Returns 0, or -1 with errno and errwhere.
 */
int	bench_epoll_udp(struct bench_worker *w, const struct sockaddr *to,
	    socklen_t tolen);

/*
 * Before the exchange of s on its UDP socket: what a timed-out exchange's
 * reply left there, if it came late, read and dropped, so that it is not
 * taken for this one's.
 */
void	bench_epoll_fresh(struct bench_slot *s);

/*
 * The reply datagram to the exchange of s, read into s->buf (a late one
 * skipped): its length.  Or -1 when there is none to take now: nothing
 * has come yet; or the read failed, or the reply is too long, and the
 * exchange is over, counted; or s has no exchange, and what came is
 * dropped.
 */
ssize_t	bench_epoll_reply(struct bench_worker *w, struct bench_slot *s);

#endif /* STAMP_BENCH_EPOLL_H */
