/*
 * bench_uring.c: stampbench's TCP engine on io_uring, the default where
 * the kernel allows it.
 *
 * On two CPUs the client must cost less than the server it measures, or
 * it measures itself; most of a TCP exchange's cost is the kernel's and
 * cannot be helped (over loopback the sender's CPU runs the receiver's
 * half of each packet), but the rest can.  So the connect and the read
 * to EOF go on the ring as one linked pair, the close after them, and
 * one io_uring_enter submits a turn's worth and waits for the next: no
 * epoll_ctl, no epoll_wait, no read, no close of our own, and the kernel
 * completes our requests only when we ask (DEFER_TASKRUN).  Over
 * loopback a socket serves REUSE connections (renew), which spares the
 * making and unmaking of the others.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_tcp.h"
#include "ioring.h"
#include "net.h"

#define REUSE		8		/* loopback: connections a socket */

/* What a completion on the ring was for: the low bits of its user_data. */
enum ring_op {
	OP_CONNECT = 1,
	OP_RECV,		/* the reply, to EOF */
	OP_CLOSE,		/* only when it failed */
	OP_CANCEL,		/* likewise */
	OP_MASK = 7
};

/* A worker's ring, made in its thread. */
struct bench_ring {
	struct ioring	 r;
};

/* The ring's user_data for an operation of slot s. */
static uint64_t
tag(struct bench_slot *s, enum ring_op op)
{
	return (uint64_t)(uintptr_t)s | (uint64_t)op;
}

/*
 * An entry of the ring, after submitting what it holds if it is full;
 * NULL if even that made no room.
 */
static struct io_uring_sqe *
sqe_get(struct bench_worker *w, unsigned need)
{
	struct ioring	*r = &w->ring->r;

	if (ioring_room(r) < need && ioring_enter(r, 0, 0) == -1)
		return NULL;
	if (ioring_room(r) < need)
		return NULL;
	return ioring_sqe(r);
}

/*
 * Ready the slot's socket for another connection, after a clean one
 * whose end we read: our FIN, then connect to AF_UNSPEC, which turns a
 * closed TCP socket into a new one, still bound to its address.  That
 * spares the making and unmaking of a socket, a tenth of what each
 * connection costs us, and the server sees the same packets as with a
 * close.  Over loopback only, where the server's ACK of our FIN is in
 * before shutdown returns: disconnecting before it came would answer it
 * with a reset.  Returns -1 if the socket must be closed instead.
 */
static int
renew(struct bench_worker *w, struct bench_slot *s)
{
	struct sockaddr		 unspec;
	unsigned char		 state;
	socklen_t		 len = sizeof state;

	if (!w->b->loopback || !s->eof || s->uses >= REUSE)
		return -1;
	memset(&unspec, 0, sizeof unspec);
	unspec.sa_family = AF_UNSPEC;
	/* TCP_INFO begins with the state: one byte of it is enough. */
	if (shutdown(s->fd, SHUT_WR) == -1 ||
	    getsockopt(s->fd, IPPROTO_TCP, TCP_INFO, &state, &len) == -1 ||
	    len != sizeof state || state != TCP_CLOSE ||
	    connect(s->fd, &unspec, sizeof unspec) == -1)
		return -1;
	return 0;
}

/*
 * Let go of the slot's socket: keep it for the next connection, or close
 * it at the ring's next submission, which saves a system call.  Once the
 * run is over nothing is submitted any more: it is closed at once.
 */
static void
ring_close(struct bench_worker *w, struct bench_slot *s)
{
	struct io_uring_sqe	*sqe;

	if (!w->draining && renew(w, s) == 0)
		return;
	if (!w->draining && (sqe = sqe_get(w, 1)) != NULL) {
		sqe->opcode = IORING_OP_CLOSE;
		sqe->fd = s->fd;
		sqe->flags = IOSQE_CQE_SKIP_SUCCESS;
		sqe->user_data = tag(s, OP_CLOSE);
	} else
		close(s->fd);
	s->fd = -1;
}

/*
 * An exchange given up while the ring still receives for it: cancel
 * what the ring does with its socket; the receive then ends, and only
 * then may the socket be closed and the slot used again.
 */
static void
ring_cancel(struct bench_worker *w, struct bench_slot *s)
{
	struct io_uring_sqe	*sqe;

	if ((sqe = sqe_get(w, 1)) == NULL)
		return;		/* it ends when the server closes */
	sqe->opcode = IORING_OP_ASYNC_CANCEL;
	sqe->fd = s->fd;
	sqe->cancel_flags = IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ALL;
	sqe->flags = IOSQE_CQE_SKIP_SUCCESS;
	sqe->user_data = tag(s, OP_CANCEL);
}

static void
ring_end(struct bench_worker *w, struct bench_slot *s)
{
	if (s->inring)
		ring_cancel(w, s);
	else
		ring_close(w, s);
}

/*
 * The exchange on the ring: the connect, and linked to it a receive
 * with MSG_WAITALL, which the kernel repeats until the buffer is full or
 * the server's FIN, so that one completion brings the whole reply, its
 * end seen.  A connect that fails posts its error, and the receive is
 * then cancelled: the exchange ends with the receive, always.  The
 * socket is made here, blocking: the ring tries each operation without
 * blocking first, and waits for it otherwise.
 */
static int
ring_start(struct bench_worker *w, struct bench_slot *s)
{
	struct bench		*b = w->b;
	struct io_uring_sqe	*sqe;
	int			 fd;

	s->start = bench_worker_now(CLOCK_MONOTONIC);
	if ((fd = s->fd) == -1) {
		fd = socket(b->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd == -1)
			return -1;
		if (b->spread > 0 && bench_tcp_bind(w, fd) == -1)
			goto fail;
		s->uses = 0;
	}
	/* The two of a link go in one submission. */
	if ((sqe = sqe_get(w, 2)) == NULL) {
		errno = EAGAIN;
		goto fail;
	}
	sqe->opcode = IORING_OP_CONNECT;
	sqe->fd = fd;
	sqe->addr = (uint64_t)(uintptr_t)&b->addr;
	sqe->off = b->addrlen;
	/*
	 * Not IOSQE_CQE_SKIP_SUCCESS: with it, a connect that fails, head
	 * of a link, was seen to post nothing, neither its error nor the
	 * receive's cancellation (Linux 6.18).
	 */
	sqe->flags = IOSQE_IO_LINK;
	sqe->user_data = tag(s, OP_CONNECT);
	sqe = ioring_sqe(&w->ring->r);
	sqe->opcode = IORING_OP_RECV;
	sqe->fd = fd;
	sqe->addr = (uint64_t)(uintptr_t)s->buf;
	sqe->len = sizeof s->buf;
	sqe->msg_flags = MSG_WAITALL;
	sqe->user_data = tag(s, OP_RECV);
	s->fd = fd;
	s->cerr = 0;
	s->eof = 0;
	s->uses++;
	s->inring = 1;
	w->inring++;
	return 0;
fail:
	net_close(fd);
	s->fd = -1;
	return -1;
}

/* A completion on the ring; res is what the operation returned. */
static void
ring_event(struct bench_worker *w, uint64_t ud, int res)
{
	struct bench_slot	*s;
	int64_t			 end;
	int			 err;

	s = (struct bench_slot *)(uintptr_t)(ud & ~(uint64_t)OP_MASK);
	switch (ud & OP_MASK) {
	case OP_CONNECT:
		s->cerr = res < 0 ? -res : 0;
		return;
	case OP_RECV:
		break;
	default:
		/* A close or a cancel that failed: the socket goes anyway. */
		return;
	}
	s->inring = 0;
	w->inring--;
	if (w->draining || !s->busy) {
		/* Abandoned at the end, or given up and counted already. */
		ring_close(w, s);
		if (!w->draining)
			w->pend[w->npend++] = s;
		return;
	}
	if (res < 0) {
		err = res == -ECANCELED && s->cerr != 0 ? s->cerr : -res;
		bench_worker_done(w, s, bench_worker_fault(w, err), 0);
	} else if ((size_t)res == sizeof s->buf)
		bench_worker_bad(w, s, "reply longer than 512 bytes");
	else {
		end = bench_worker_now(CLOCK_MONOTONIC);
		s->eof = 1;
		bench_worker_done(w, s,
		    bench_worker_check(w, s->buf, (size_t)res, end), end);
	}
}

/* Each completion that is there, handed back as soon as it is read. */
static void
ring_reap(struct bench_worker *w)
{
	struct io_uring_cqe	*cqe;
	uint64_t		 ud;
	int			 res;

	while ((cqe = ioring_cqe(&w->ring->r)) != NULL) {
		ud = cqe->user_data;
		res = cqe->res;
		ioring_seen(&w->ring->r);
		ring_event(w, ud, res);
	}
}

/*
 * The exchanges still in flight at the end are abandoned, uncounted, but
 * the kernel still writes into their buffers until their receives end:
 * cancel them all and wait for that, a second at most, before the slots
 * may be freed.
 */
static void
ring_drain(struct bench_worker *w)
{
	struct io_uring_sqe	*sqe;
	int64_t			 now, deadline;

	w->draining = 1;
	if (w->inring > 0 && (sqe = sqe_get(w, 1)) != NULL) {
		sqe->opcode = IORING_OP_ASYNC_CANCEL;
		sqe->cancel_flags = IORING_ASYNC_CANCEL_ANY;
		sqe->flags = IOSQE_CQE_SKIP_SUCCESS;
		sqe->user_data = tag(w->slot, OP_CANCEL);
	}
	now = bench_worker_now(CLOCK_MONOTONIC);
	deadline = now + BENCH_NSEC;
	/* Once at least, for the closes still queued. */
	do {
		if (ioring_enter(&w->ring->r, w->inring > 0,
		    deadline - now) == -1)
			break;
		ring_reap(w);
		now = bench_worker_now(CLOCK_MONOTONIC);
	} while (w->inring > 0 && now < deadline);
	w->lost = w->inring > 0;
}

/*
 * Made by the thread that uses it, which the kernel then takes for its
 * only user.  Room for a link of two per slot and a close, and for every
 * completion at once.
 */
static int
ring_open(struct bench_worker *w)
{
	unsigned	 n = (unsigned)w->nslot * 4;
	int		 e;

	w->errwhere = "calloc";
	if ((w->ring = calloc(1, sizeof *w->ring)) == NULL)
		return -1;
	w->errwhere = "io_uring_setup";
	if (ioring_init(&w->ring->r, n < 4096 ? n : 4096, n) == -1) {
		e = errno;
		free(w->ring);
		w->ring = NULL;
		errno = e;
		return -1;
	}
	return 0;
}

static void
ring_run(struct bench_worker *w)
{
	int64_t	 now;
	int	 wait;

	if (ring_open(w) == -1) {
		w->err = errno;
		w->t_end = w->b->t0;
		return;
	}
	while ((wait = bench_worker_turn(w, &now)) != -1) {
		if (ioring_enter(&w->ring->r, wait > 0,
		    (int64_t)wait * 1000000) == -1) {
			w->err = errno;
			w->errwhere = "io_uring_enter";
			break;
		}
		ring_reap(w);
	}
	w->t_end = now;
	ring_drain(w);
}

static void
ring_free(struct bench_worker *w)
{
	if (w->ring == NULL)
		return;
	ioring_free(&w->ring->r);
	free(w->ring);
	w->ring = NULL;
}

/* Whether the kernel lets us have a ring with what we need of it. */
static int
ring_usable(char *why, size_t len)
{
	struct ioring	 r;

	if (ioring_init(&r, 8, 16) == -1) {
		snprintf(why, len, "io_uring_setup: %s", strerror(errno));
		return -1;
	}
	ioring_free(&r);
	return 0;
}

const struct bench_engine bench_uring = {
	.io = "uring",
	.usable = ring_usable,
	.run = ring_run,
	.start = ring_start,
	.end = ring_end,
	.free = ring_free,
};
