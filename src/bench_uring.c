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
 *
 * The ring is liburing's, as stampd's uring model has it; a build
 * without liburing leaves this file out, and bench_worker.c has an
 * engine of this name that refuses to run.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <liburing.h>

#include "bench_tcp.h"
#include "net.h"

#define REUSE		8		/* loopback: connections a socket */

/* What we rely on; all of it is in Linux 5.17. */
#define FEATURES	(IORING_FEAT_SINGLE_MMAP | IORING_FEAT_NODROP | \
			 IORING_FEAT_EXT_ARG | IORING_FEAT_CQE_SKIP)

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
	struct io_uring	 r;
};

/* The ring's user_data for an operation of slot s. */
static uint64_t
tag(struct bench_slot *s, enum ring_op op)
{
	return (uint64_t)(uintptr_t)s | (uint64_t)op;
}

/*
 * A ring of entries submissions and cq_entries completions (each cut to
 * the kernel's most), for the calling thread alone.  Returns 0, or -1
 * with errno: ENOSYS if the kernel lacks what we use (FEATURES), as
 * io_uring_setup(2) otherwise (EPERM when io_uring is disabled).
 */
static int
ring_init(struct io_uring *r, unsigned entries, unsigned cq_entries)
{
	/*
	 * From the best to the least a kernel may know: EINVAL says no.
	 * The best has the kernel complete our requests only when we ask.
	 */
	static const unsigned	 tries[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_COOP_TASKRUN,
		0,
	};
	struct io_uring_params	 p;
	size_t			 i;
	int			 e = -EINVAL;

	for (i = 0; i < sizeof tries / sizeof tries[0] && e == -EINVAL; i++) {
		memset(&p, 0, sizeof p);
		p.flags = tries[i] | IORING_SETUP_CQSIZE |
		    IORING_SETUP_CLAMP | IORING_SETUP_SUBMIT_ALL;
		p.cq_entries = cq_entries;
		e = io_uring_queue_init_params(entries, r, &p);
	}
	if (e < 0) {
		errno = -e;
		return -1;
	}
	if ((p.features & FEATURES) != FEATURES) {
		io_uring_queue_exit(r);
		errno = ENOSYS;
		return -1;
	}
	return 0;
}

/*
 * Submit what was filled, and, if wait, wait until a completion is there
 * or timeout_ns has passed.  Returns 0, also on a timeout or an
 * interruption; -1 with errno on any other failure.
 */
static int
ring_enter(struct bench_worker *w, int wait, int64_t timeout_ns)
{
	struct io_uring_cqe		*cqe;
	struct __kernel_timespec	 ts;
	int				 r;

	if (!wait)
		/* Asking for completions all the same: see DEFER_TASKRUN. */
		r = io_uring_submit_and_get_events(&w->ring->r);
	else {
		if (timeout_ns < 0)
			timeout_ns = 0;
		ts.tv_sec = timeout_ns / BENCH_NSEC;
		ts.tv_nsec = timeout_ns % BENCH_NSEC;
		r = io_uring_submit_and_wait_timeout(&w->ring->r, &cqe, 1,
		    &ts, NULL);
	}
	/*
	 * A wait that ended by its timeout or a signal, or a kernel short
	 * of memory or of room for completions (EAGAIN, EBUSY), which the
	 * next call tries again.
	 */
	if (r >= 0 || r == -ETIME || r == -EINTR || r == -EAGAIN ||
	    r == -EBUSY)
		return 0;
	errno = -r;
	return -1;
}

/*
 * An entry of the ring, after submitting what it holds if it is full;
 * NULL if even that made no room.
 */
static struct io_uring_sqe *
sqe_get(struct bench_worker *w, unsigned need)
{
	struct io_uring	*r = &w->ring->r;

	if (io_uring_sq_space_left(r) < need && ring_enter(w, 0, 0) == -1)
		return NULL;
	if (io_uring_sq_space_left(r) < need)
		return NULL;
	return io_uring_get_sqe(r);
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
		io_uring_prep_close(sqe, s->fd);
		sqe->flags = IOSQE_CQE_SKIP_SUCCESS;
		io_uring_sqe_set_data64(sqe, tag(s, OP_CLOSE));
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
	io_uring_prep_cancel_fd(sqe, s->fd, IORING_ASYNC_CANCEL_ALL);
	sqe->flags = IOSQE_CQE_SKIP_SUCCESS;
	io_uring_sqe_set_data64(sqe, tag(s, OP_CANCEL));
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
	io_uring_prep_connect(sqe, fd, (struct sockaddr *)&b->addr,
	    b->addrlen);
	/*
	 * Not IOSQE_CQE_SKIP_SUCCESS: with it, a connect that fails, head
	 * of a link, was seen to post nothing, neither its error nor the
	 * receive's cancellation (Linux 6.18).
	 */
	sqe->flags = IOSQE_IO_LINK;
	io_uring_sqe_set_data64(sqe, tag(s, OP_CONNECT));
	sqe = io_uring_get_sqe(&w->ring->r);
	io_uring_prep_recv(sqe, fd, s->buf, sizeof s->buf, MSG_WAITALL);
	io_uring_sqe_set_data64(sqe, tag(s, OP_RECV));
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
		    bench_worker_check(w, s, s->buf, (size_t)res, end),
		    end);
	}
}

/* Each completion that is there, handed back as soon as it is read. */
static void
ring_reap(struct bench_worker *w)
{
	struct io_uring_cqe	*cqe;
	uint64_t		 ud;
	int			 res;

	while (io_uring_peek_cqe(&w->ring->r, &cqe) == 0) {
		ud = io_uring_cqe_get_data64(cqe);
		res = cqe->res;
		io_uring_cqe_seen(&w->ring->r, cqe);
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
		io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
		sqe->flags = IOSQE_CQE_SKIP_SUCCESS;
		io_uring_sqe_set_data64(sqe, tag(w->slot, OP_CANCEL));
	}
	now = bench_worker_now(CLOCK_MONOTONIC);
	deadline = now + BENCH_NSEC;
	/* Once at least, for the closes still queued. */
	do {
		if (ring_enter(w, w->inring > 0, deadline - now) == -1)
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
	if (ring_init(&w->ring->r, n < 4096 ? n : 4096, n) == -1) {
		e = errno;
		free(w->ring);
		w->ring = NULL;
		errno = e;
		return -1;
	}
	/*
	 * Its fd registered: each io_uring_enter skips looking it up.  A
	 * kernel that cannot only costs that lookup, so a failure is let be.
	 */
	(void)io_uring_register_ring_fd(&w->ring->r);
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
		if (ring_enter(w, wait > 0, (int64_t)wait * 1000000) == -1) {
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
	io_uring_queue_exit(&w->ring->r);
	free(w->ring);
	w->ring = NULL;
}

/* Whether the kernel lets us have a ring with what we need of it. */
static int
ring_usable(char *why, size_t len)
{
	struct io_uring	 r;

	if (ring_init(&r, 8, 16) == -1) {
		snprintf(why, len, "io_uring_setup: %s", strerror(errno));
		return -1;
	}
	io_uring_queue_exit(&r);
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
