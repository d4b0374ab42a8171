/*
 * model_uring.c: an io_uring ring per worker thread.
 *
 * The event model asks the kernel which socket is ready, then makes a
 * system call for each step of each client: accept4, send, shutdown, recv,
 * close.  Here each step is a request written into the ring's submission
 * queue; the kernel does it when it can and writes the result into the
 * completion queue.  One io_uring_enter hands over every request written
 * since the last and waits for results, so a busy worker makes far fewer
 * system calls than it serves clients.
 *
 * - A listener that is the worker's alone (its own with --reuseport, or
 *   the only worker's) has one multishot accept: one request, a completion
 *   for every connection.  A listener the workers share has UR_ACCEPTS
 *   single accepts in flight, each replaced as it completes: a multishot
 *   accept never changes its place in the listener's queue of waiters,
 *   and as the kernel wakes the first waiter for each connection, the
 *   worker that armed first would get every client, the others none.  A
 *   single accept queues again at the end, so the workers take turns; it
 *   costs a poll armed per connection, about 15% more CPU, which is why
 *   an unshared listener keeps the multishot one.  (Out of fds the
 *   listener rests, as in every model, then is armed again.)
 * - A connection gets two linked requests, the send of its reply with
 *   MSG_MORE, then a recv that does not wait, to see whether the client
 *   sent anything.  Nothing unread: a close through the ring, which sends
 *   the reply and the FIN in one segment, as shutdown and close do in the
 *   event model.  (IORING_OP_SHUTDOWN always runs in a kernel worker
 *   thread, a thread switch per connection.)  Bytes unread: shutdown, and
 *   a recv linked to a timeout drains until the client's EOF or --linger.
 * - UDP: a multishot recvmsg per socket into a ring of buffers the kernel
 *   picks from; each reply a sendmsg request, a turn's replies handed over
 *   by one enter.
 * - --delay is a timeout request per connection or datagram; a stop
 *   removes them, so that every delay ends at once.
 * - A PROXY header or a metrics request is read by serve.c as in every
 *   model, each wait for more bytes a poll request linked to a timeout;
 *   one shed for a newcomer (the bound per source, crew.c) has its poll
 *   cancelled, and is closed as that completes.
 *
 * Admission, counters, logs and the bytes of each reply are serve.c's;
 * the threads, the slots, the delayed list, the stop and what a failure
 * does are the crew's (crew.c), as in the event model; each ring polls
 * the crew's eventfd to learn of a stop.  A ring is made
 * in the thread that uses it: it is that thread's alone
 * (IORING_SETUP_SINGLE_ISSUER), and its completions are run when that
 * thread waits for them (IORING_SETUP_DEFER_TASKRUN), never in between.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admit.h"
#include "crew.h"
#include "log.h"
#include "model.h"
#include "model_uring_ring.h"
#include "net.h"
#include "notify.h"
#include "serve.h"
#include "util.h"

#define UR_CHUNK	256	/* connection slots allocated at a time */
#define UR_MAX_CONNS	65536	/* connections in flight, per worker */
#define UR_TXCHUNK	256	/* datagram reply slots allocated at a time */
#define UR_TX		4096	/* datagram replies in flight or delayed */
#define UR_ACCEPTS	8	/* accepts in flight per listener */
#define UR_JUNK		4096	/* what a drain reads and throws away */
#define UR_PAUSE_MS	100	/* a receive that fails rests this long */

/* What each request is for: its user_data points at one of these. */
enum kind {
	K_QUIT,		/* the stop's eventfd is readable */
	K_ARM,		/* a listener's accept or multishot receive */
	K_RESUME,	/* a listener's rest is over */
	K_WAKE,		/* out of fds, a client waits on a listener */
	K_SEND,		/* a connection's reply went */
	K_CHECK,	/* whether its client had sent anything */
	K_WAIT,		/* more of its header, or its drain */
	K_DELAY,	/* its delay is over */
	K_SENT,		/* a datagram's reply went */
	K_TXDELAY,	/* a datagram's delay is over */
	K_CLOSE,	/* a close failed */
};

struct tag {
	enum kind	 kind;
};

struct ulistener {
	struct tag		 arm, resume, wake;
	size_t			 idx;		/* in srv->ls */
	int			 fd;		/* shared, or ours: reuseport */
	int			 fixed;		/* registered file, or -1 */
	int			 armed;		/* its requests in flight */
	int			 paused;	/* its rest's timeout pending */
	int			 await;		/* poll, not accept, next */
	int			 polled;	/* that poll is pending */
	struct __kernel_timespec ts;
};

enum cstate {
	C_CHAIN,	/* the reply and the check in flight */
	C_HEADER,	/* waiting for more of a PROXY header or a request */
	C_DRAIN,	/* replied and half-closed: draining */
};

/* s.deadline is its header's or its drain's. */
struct conn {
	struct crew_slot	 s;
	struct tag		 send, check, wait, delay;
	enum cstate		 state;
	int			 failed;	/* the send failed: close */
	int			 shed;		/* for a newcomer: close */
	int			 len;		/* of the reply */
	struct __kernel_timespec ts;
	struct admit_hdr	 hdr;
	char			 reply[STAMP_REPLY_MAX];
};

/*
 * A reply to a datagram, from its delay or its send to its completion;
 * s.peer is where it goes.
 */
struct tx {
	struct crew_slot	 s;
	struct tag		 sent, delay;
	int			 len;
	struct msghdr		 msg;
	struct iovec		 iov;
	union net_tx_ask	 ask;		/* its transmit time asked */
	int			 asked;		/* for in msg: read it after */
	struct serve_dgram	 d;		/* the reply is made of it
						   when it is sent */
	char			 reply[SERVE_REPLY_MAX];
};

struct worker {
	struct crew_worker	 c;
	struct io_uring		 ring;
	int			 ring_up;
	int			 broken;	/* the ring failed us */
	struct io_uring_sqe	 scratch;	/* a request sent nowhere */
	struct tag		 quit, close;
	struct ulistener	*ul;
	struct model_uring_ring_bufs bufs;	/* for datagrams, if UDP */
	struct __kernel_timespec delay_ts;
	char			 junk[UR_JUNK];
};

static void
ms_ts(struct __kernel_timespec *ts, long long ms)
{
	ts->tv_sec = ms / 1000;
	ts->tv_nsec = (ms % 1000) * 1000000;
}

/*
 * Room for n more requests in the submission queue, handing those written
 * to the kernel if need be: the requests of a linked chain must go in one
 * submission.  Returns 0, or -1 once the ring has failed us (a bad ring
 * fd): the crew is told, and this worker's next wait ends it.
 */
static int
sqe_room(struct worker *w, unsigned n)
{
	int	 r, rest;

	while (!w->broken && io_uring_sq_space_left(&w->ring) < n) {
		if ((r = io_uring_submit(&w->ring)) >= 0)
			continue;
		/*
		 * The wait's rule (out of kernel memory for requests, or
		 * completions to reap first): rested and bounded, never
		 * spun on, and the worker fails in the end.
		 */
		if ((rest = crew_retry(&w->c, -r)) != -1) {
			util_sleep_ms(rest > 0 ? rest : 1);
			continue;
		}
		w->broken = 1;
		crew_fail(&w->c);
	}
	return w->broken ? -1 : 0;
}

static struct io_uring_sqe *
sqe_get(struct worker *w, struct tag *t)
{
	struct io_uring_sqe	*sqe = NULL;

	if (sqe_room(w, 1) == 0)
		sqe = io_uring_get_sqe(&w->ring);
	if (sqe == NULL) {
		/* A ring that failed: the request is written nowhere. */
		memset(&w->scratch, 0, sizeof w->scratch);
		sqe = &w->scratch;
	}
	io_uring_sqe_set_data(sqe, t);
	return sqe;
}

/* End the timeout request tagged t now: it completes as cancelled. */
static void
timeout_end(struct worker *w, struct tag *t)
{
	io_uring_prep_timeout_remove(sqe_get(w, NULL),
	    (__u64)(uintptr_t)t, 0);
}

static void
conn_blank(void *slot)
{
	struct conn	*c = slot;

	c->send.kind = K_SEND;
	c->check.kind = K_CHECK;
	c->wait.kind = K_WAIT;
	c->delay.kind = K_DELAY;
}

/* The limits' place given back now, the fd closed by the ring. */
static void
conn_close(struct worker *w, struct conn *c)
{
	struct io_uring_sqe	*sqe = sqe_get(w, &w->close);

	crew_waited(&w->c, &c->s);
	admit_release(c->s.fd);
	io_uring_prep_close(sqe, c->s.fd);
	/* Only a failure says anything, and none is expected. */
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	crew_slot_put(&w->c.conns, c);
}

/* Its time is up (a header or a drain): closed, and counted. */
static void
conn_timeout(struct worker *w, struct conn *c)
{
	stats_count(w->c.st, STAT_LINGER_TIMEOUT, 1);
	conn_close(w, c);
}

/*
 * Wait for connection c until its deadline: for more of its header (a
 * poll), or for what its client still sends (a recv that throws it away),
 * each linked to a timeout.
 */
static void
conn_wait(struct worker *w, struct conn *c, enum cstate state)
{
	struct io_uring_sqe	*sqe;
	long long		 left = c->s.deadline - w->c.now;

	if (left <= 0) {
		conn_timeout(w, c);
		return;
	}
	c->state = state;
	ms_ts(&c->ts, left);
	sqe_room(w, 2);
	sqe = sqe_get(w, &c->wait);
	if (state == C_HEADER)
		io_uring_prep_poll_add(sqe, c->s.fd, POLLIN | POLLRDHUP);
	else
		io_uring_prep_recv(sqe, c->s.fd, w->junk, sizeof w->junk, 0);
	sqe->flags |= IOSQE_IO_LINK;
	io_uring_prep_link_timeout(sqe_get(w, NULL), &c->ts, 0);
}

/* What a connection reads first: serve.c reads it, as it comes. */
static void
conn_step(struct worker *w, struct conn *c)
{
	const struct listener	*l = &w->c.srv->ls[c->s.listener];
	int			 next;

	next = serve_stream(w->c.srv, l, c->s.fd, &c->s.peer, &c->hdr,
	    w->c.st);
	if (next != SERVE_HEADER)
		crew_waited(&w->c, &c->s);
	switch (next) {
	case SERVE_DONE:
		crew_slot_put(&w->c.conns, c);
		break;
	case SERVE_HEADER:
		/* Its place among those that wait: it may shed another. */
		if (crew_wait_first(&w->c, &c->s) == -1)
			conn_timeout(w, c);
		else
			conn_wait(w, c, C_HEADER);
		break;
	default:
		/* Header read, reply sent: the drain has a time of its own. */
		c->s.deadline = w->c.now + w->c.srv->linger_ms;
		conn_wait(w, c, C_DRAIN);
		break;
	}
}

static void
conn_serve(struct worker *w, struct conn *c)
{
	const struct listener	*l = &w->c.srv->ls[c->s.listener];
	struct io_uring_sqe	*sqe;

	if (serve_reads_first(l)) {
		admit_hdr_init(&c->hdr);
		c->s.deadline = w->c.now + w->c.srv->linger_ms;
		conn_step(w, c);
		return;
	}
	if ((c->len = serve_stream_reply(w->c.srv, l, &c->s.peer, c->reply,
	    sizeof c->reply, w->c.st)) == -1) {
		admit_close(c->s.fd);
		crew_slot_put(&w->c.conns, c);
		return;
	}
	c->state = C_CHAIN;
	c->failed = 0;
	sqe_room(w, 2);
	/* MSG_MORE: the reply waits for the FIN, and both leave as one. */
	sqe = sqe_get(w, &c->send);
	io_uring_prep_send(sqe, c->s.fd, c->reply, (size_t)c->len,
	    MSG_MORE | MSG_NOSIGNAL);
	sqe->flags |= IOSQE_IO_LINK;
	sqe = sqe_get(w, &c->check);
	io_uring_prep_recv(sqe, c->s.fd, w->junk, sizeof w->junk, MSG_DONTWAIT);
}

/* The crew's serve: connection fd, accepted and admitted, now. */
static void
conn_start(struct crew_worker *cw, size_t i, int fd,
    const struct sockaddr_storage *peer)
{
	struct conn	*c;

	if ((c = crew_slot_get(&cw->conns)) == NULL) {
		/* Past the limit a client is refused, never queued forever. */
		stats_count(cw->st, STAT_SHED, 1);
		admit_close(fd);
		return;
	}
	c->s.fd = fd;
	c->s.listener = i;
	c->s.peer = *peer;
	c->shed = 0;
	conn_serve((struct worker *)cw, c);
}

/*
 * The crew's shed, of a connection waiting for its header: its poll is
 * cancelled, and it is closed as that ends (or ended: its completion may
 * be on its way), for only then does nothing name its slot.
 */
static void
conn_shed(struct crew_worker *cw, struct crew_slot *s)
{
	struct worker	*w = (struct worker *)cw;
	struct conn	*c = (struct conn *)s;

	c->shed = 1;
	io_uring_prep_cancel(sqe_get(w, NULL), &c->wait, 0);
}

/* The crew's delay: a timeout request for slot s, a connection's or not. */
static void
delay_begin(struct crew_worker *cw, struct crew_slot *s)
{
	struct worker	*w = (struct worker *)cw;
	struct conn	*c = (struct conn *)s;
	struct tx	*tx = (struct tx *)s;

	io_uring_prep_timeout(sqe_get(w, s->fd != -1 ? &c->delay :
	    &tx->delay), &w->delay_ts, 0, 0);
}

/* The crew's undelay, at a stop: the timeout ends now, as cancelled. */
static void
delay_end(struct crew_worker *cw, struct crew_slot *s)
{
	struct worker	*w = (struct worker *)cw;

	timeout_end(w, s->fd != -1 ? &((struct conn *)s)->delay :
	    &((struct tx *)s)->delay);
}

static void
conn_event(struct worker *w, struct tag *t, int res)
{
	const struct listener	*l;
	struct conn		*c;

	switch (t->kind) {
	case K_SEND:
		c = CREW_OWNER(t, struct conn, send);
		l = &w->c.srv->ls[c->s.listener];
		serve_stream_sent(w->c.srv, l, c->s.fd, &c->s.peer, res,
		    c->len, w->c.st);
		c->failed = res < 0;
		break;
	case K_CHECK:
		c = CREW_OWNER(t, struct conn, check);
		l = &w->c.srv->ls[c->s.listener];
		/* Nothing unread (or its EOF): the close sends no reset. */
		if (c->failed || res == 0 || res == -EAGAIN) {
			conn_close(w, c);
			break;
		}
		if (res < 0) {
			if (res != -ECONNRESET && res != -ENOTCONN &&
			    res != -ECANCELED)
				serve_count_failure(l, -res, w->c.st);
			conn_close(w, c);
			break;
		}
		/* It has been sending: half-close, drain until its EOF. */
		if (net_shutdown(c->s.fd) == -1) {
			if (errno != ENOTCONN && errno != ECONNRESET)
				serve_count_failure(l, errno, w->c.st);
			conn_close(w, c);
			break;
		}
		c->s.deadline = w->c.now + w->c.srv->linger_ms;
		conn_wait(w, c, C_DRAIN);
		break;
	case K_WAIT:
		c = CREW_OWNER(t, struct conn, wait);
		/* Cancelled: shed, or by its timeout, the deadline passed. */
		if (c->shed)
			conn_close(w, c);
		else if (res == -ECANCELED)
			conn_timeout(w, c);
		else if (c->state == C_HEADER)
			conn_step(w, c);
		else if (res > 0 || res == -EINTR)
			conn_wait(w, c, C_DRAIN);
		else {
			if (res < 0)
				stats_count(w->c.st, STAT_RESET, 1);
			conn_close(w, c);
		}
		break;
	default:
		c = CREW_OWNER(t, struct conn, delay);
		crew_list_del(&w->c.delayed, &c->s);
		conn_serve(w, c);
		break;
	}
}

/*
 * Arm a listener: a multishot receive, or a multishot accept where the
 * listener is the worker's alone; on one the workers share, single
 * accepts up to UR_ACCEPTS in flight, so that they take turns.
 */
static void
arm(struct worker *w, struct ulistener *ul)
{
	const struct listener	*l = &w->c.srv->ls[ul->idx];
	struct io_uring_sqe	*sqe;
	int			 fd = ul->fixed != -1 ? ul->fixed : ul->fd;
	int			 multi = crew_alone(&w->c, ul->idx);
	int			 want = l->type == SOCK_STREAM && !multi ?
				    UR_ACCEPTS : 1;

	for (; ul->armed < want; ul->armed++) {
		sqe = sqe_get(w, &ul->arm);
		if (l->type == SOCK_STREAM && multi)
			io_uring_prep_multishot_accept(sqe, fd, NULL, NULL,
			    SOCK_NONBLOCK | SOCK_CLOEXEC);
		else if (l->type == SOCK_STREAM)
			io_uring_prep_accept(sqe, fd, NULL, NULL,
			    SOCK_NONBLOCK | SOCK_CLOEXEC);
		else {
			io_uring_prep_recvmsg_multishot(sqe, fd, &w->bufs.rx,
			    0);
			sqe->flags |= IOSQE_BUFFER_SELECT;
			sqe->buf_group = MODEL_URING_RING_BGID;
		}
		if (ul->fixed != -1)
			sqe->flags |= IOSQE_FIXED_FILE;
	}
}

/* Rest the listener ms milliseconds before its next request. */
static void
rest(struct worker *w, struct ulistener *ul, int ms)
{
	ms_ts(&ul->ts, ms);
	io_uring_prep_timeout(sqe_get(w, &ul->resume), &ul->ts, 0, 0);
	ul->paused = 1;
}

/* A connection accepted, or the accept's failure: -1 if it is ours. */
static int
accepted(struct worker *w, struct ulistener *ul, int res)
{
	const struct listener	*l = &w->c.srv->ls[ul->idx];
	struct sockaddr_storage	 peer;
	int			 pause = 0;

	peer.ss_family = AF_UNSPEC;
	if (res < 0) {
		/* The others in flight meet the same shortage: judged once. */
		if (ul->await && (res == -EMFILE || res == -ENFILE))
			return 0;
		if (res != -ECANCELED)
			pause = admit_accept_error(l, ul->fd, -res, &w->c.spare,
			    w->c.st);
		/*
		 * A ring's accept takes an fd before it looks for a client:
		 * out of fds it fails at once, whether one waits or not.  So
		 * the next request waits for one to arrive (a poll), and only
		 * then accepts, or sheds it as every model does.
		 */
		ul->await = pause == 0 && (res == -EMFILE || res == -ENFILE);
		if (pause > 0 && !w->c.stopping && !ul->paused)
			rest(w, ul, pause);
		return pause == -1 ? -1 : 0;
	}
	ul->await = 0;
	if ((admit_wants_peer(w->c.srv, l) || serve_reads_first(l)) &&
	    net_peer(res, &peer) == -1) {
		/*
		 * The accepts ask for no address, as each would need a place
		 * of its own; one that is wanted is asked for, and so is the
		 * source of one that may wait for its first bytes, which is
		 * bounded by it.  Gone already: a reset.
		 */
		stats_accepted(w->c.st, l, -1);
		stats_count(w->c.st, STAT_RESET, 1);
		admit_close(res);
	} else if (admit_conn(l, res, &peer, w->c.st) == 0)
		crew_conn(&w->c, ul->idx, res, &peer);
	return 0;
}

static void
tx_send(struct worker *w, struct tx *tx)
{
	const struct listener	*l = &w->c.srv->ls[tx->s.listener];
	struct ulistener	*ul = &w->ul[tx->s.listener];
	struct io_uring_sqe	*sqe;

	if ((tx->len = serve_datagram_reply(l, ul->fd, &tx->d, tx->reply,
	    sizeof tx->reply, w->c.st)) <= 0) {
		crew_slot_put(&w->c.dgrams, tx);
		return;
	}
	tx->iov.iov_base = tx->reply;
	tx->iov.iov_len = (size_t)tx->len;
	tx->msg.msg_iov = &tx->iov;
	tx->msg.msg_iovlen = 1;
	tx->msg.msg_control = NULL;
	tx->msg.msg_controllen = 0;
	tx->asked = serve_sending(l, &tx->msg, &tx->ask);
	sqe = sqe_get(w, &tx->sent);
	io_uring_prep_sendmsg(sqe, ul->fixed != -1 ? ul->fixed : ul->fd,
	    &tx->msg, MSG_NOSIGNAL);
	if (ul->fixed != -1)
		sqe->flags |= IOSQE_FIXED_FILE;
}

/* A datagram of len bytes in buf, as recvmsg laid it out: judge, reply. */
static void
dgram(struct worker *w, struct ulistener *ul, char *buf, int len)
{
	struct sockaddr_storage		 from;
	struct msghdr			 m;
	struct tx			*tx;
	const struct listener		*l = &w->c.srv->ls[ul->idx];
	const char			*req;
	size_t				 reqlen;
	int				 delay;

	/* What serve.c judges a datagram by: its source, arrival, flags. */
	if (model_uring_ring_msg(&w->bufs, buf, len, &m, &from, &req,
	    &reqlen) == -1 || !serve_datagram_judge(w->c.srv, l, &m, req,
	    reqlen, w->c.now, w->c.st))
		return;
	delay = w->c.srv->delay_ms > 0 && !w->c.stopping;
	if ((tx = crew_slot_get(&w->c.dgrams)) == NULL) {
		/* As a full send buffer or a full delay queue would be. */
		stats_count(w->c.st, delay ? STAT_SHED : STAT_SHORT, 1);
		return;
	}
	serve_datagram_keep(w->c.srv, l, &m, req, reqlen, &tx->d);
	memset(&tx->msg, 0, sizeof tx->msg);
	tx->msg.msg_name = &tx->d.from;
	tx->msg.msg_namelen = tx->d.fromlen;
	tx->s.listener = ul->idx;
	if (!delay) {
		tx_send(w, tx);
		return;
	}
	crew_delay(&w->c, &tx->s);
}

static void
received(struct worker *w, struct ulistener *ul, int res, unsigned flags)
{
	const struct listener	*l = &w->c.srv->ls[ul->idx];
	unsigned		 bid;
	char			*buf;

	if (flags & IORING_CQE_F_BUFFER) {
		bid = flags >> IORING_CQE_BUFFER_SHIFT;
		if ((buf = model_uring_ring_buf(&w->bufs, bid)) == NULL)
			return;
		if (res >= 0)
			dgram(w, ul, buf, res);
		model_uring_ring_buf_put(&w->bufs, bid);
		return;
	}
	/*
	 * ENOBUFS: every buffer was taken before we gave one back; they are
	 * back now, and a new receive is armed.  Anything else rests.
	 */
	if (res < 0 && res != -ECANCELED && res != -ENOBUFS && !ul->armed &&
	    !w->c.stopping) {
		stats_count(w->c.st, STAT_ERRORS, 1);
		errno = -res;
		log_limited("%s: receive", l->name);
		rest(w, ul, UR_PAUSE_MS);
	}
}

static int
listener_event(struct worker *w, struct ulistener *ul, int res,
    unsigned flags)
{
	struct io_uring_sqe	*sqe;

	/* Without F_MORE this is an accept's or the receive's last word. */
	if (!(flags & IORING_CQE_F_MORE))
		ul->armed--;
	if (w->c.srv->ls[ul->idx].type != SOCK_STREAM)
		received(w, ul, res, flags);
	else if (accepted(w, ul, res) == -1)
		return -1;
	if (ul->paused || ul->polled || w->c.stopping)
		return 0;
	if (!ul->await) {
		arm(w, ul);
		return 0;
	}
	/* Out of fds: once the others have failed too, wait for a client. */
	if (ul->armed > 0)
		return 0;
	sqe = sqe_get(w, &ul->wake);
	io_uring_prep_poll_add(sqe, ul->fixed != -1 ? ul->fixed : ul->fd,
	    POLLIN);
	if (ul->fixed != -1)
		sqe->flags |= IOSQE_FIXED_FILE;
	ul->polled = 1;
	return 0;
}

static void
tx_event(struct worker *w, struct tag *t, int res)
{
	struct tx	*tx;

	if (t->kind == K_SENT) {
		tx = CREW_OWNER(t, struct tx, sent);
		serve_datagram_sent(&w->c.srv->ls[tx->s.listener], &tx->d, res,
		    tx->len, w->c.st);
		if (tx->asked)
			serve_tx_stamps(&w->c.srv->ls[tx->s.listener],
			    w->ul[tx->s.listener].fd);
		crew_slot_put(&w->c.dgrams, tx);
		return;
	}
	tx = CREW_OWNER(t, struct tx, delay);
	crew_list_del(&w->c.delayed, &tx->s);
	tx_send(w, tx);
}

/*
 * The crew's stop begins here: the listeners' requests are cancelled,
 * and handed to the kernel before the crew takes what is queued, so that
 * none is taken twice.
 */
static void
quiet(struct crew_worker *cw)
{
	struct worker		*w = (struct worker *)cw;
	struct ulistener	*ul;
	size_t			 i;

	for (i = 0; i < cw->srv->nls; i++) {
		ul = &w->ul[i];
		if (ul->armed)
			io_uring_prep_cancel(sqe_get(w, NULL), &ul->arm,
			    IORING_ASYNC_CANCEL_ALL);
		if (ul->polled)
			io_uring_prep_cancel(sqe_get(w, NULL), &ul->wake, 0);
		if (ul->paused)
			timeout_end(w, &ul->resume);
	}
	if (!w->broken)
		io_uring_submit(&w->ring);
}

static void
completion(struct worker *w, const struct io_uring_cqe *cqe)
{
	struct tag		*t = io_uring_cqe_get_data(cqe);
	struct ulistener	*ul;

	/* No tag: a link timeout, a cancel, a timeout's removal. */
	if (t == NULL)
		return;
	switch (t->kind) {
	case K_QUIT:
		crew_stop(&w->c);
		break;
	case K_ARM:
		ul = CREW_OWNER(t, struct ulistener, arm);
		if (listener_event(w, ul, cqe->res, cqe->flags) == -1) {
			crew_fail(&w->c);
			crew_stop(&w->c);
		}
		break;
	case K_RESUME:
		ul = CREW_OWNER(t, struct ulistener, resume);
		ul->paused = 0;
		if (!ul->polled && !w->c.stopping)
			arm(w, ul);
		break;
	case K_WAKE:
		/* A client waits: the next failure is judged, and sheds it. */
		ul = CREW_OWNER(t, struct ulistener, wake);
		ul->polled = 0;
		ul->await = 0;
		if (!ul->paused && !w->c.stopping)
			arm(w, ul);
		break;
	case K_CLOSE:
		errno = -cqe->res;
		log_limited("uring: close");
		break;
	case K_SENT:
	case K_TXDELAY:
		tx_event(w, t, cqe->res);
		break;
	default:
		conn_event(w, t, cqe->res);
		break;
	}
}

/* The crew's pending: a listener's request still in flight. */
static int
pending(const struct crew_worker *cw)
{
	const struct worker	*w = (const struct worker *)cw;
	size_t			 i;

	for (i = 0; i < cw->srv->nls; i++)
		if (w->ul[i].armed || w->ul[i].paused || w->ul[i].polled)
			return 1;
	return 0;
}

/* In the worker's own thread: its ring, its files and buffers, armed. */
static int
start(struct crew_worker *cw)
{
	struct worker		*w = (struct worker *)cw;
	struct io_uring_sqe	*sqe;
	int			 fds[64], r, udp = 0;
	size_t			 i;

	if ((r = model_uring_ring_open(&w->ring)) < 0) {
		errno = -r;
		return -1;
	}
	w->ring_up = 1;
	/*
	 * Its fd registered: each io_uring_enter skips looking it up.  A
	 * kernel that cannot only costs that lookup, so a failure is let be.
	 */
	(void)io_uring_register_ring_fd(&w->ring);
	for (i = 0; i < w->c.srv->nls; i++) {
		udp |= w->c.srv->ls[i].type == SOCK_DGRAM;
		if (i < sizeof fds / sizeof fds[0])
			fds[i] = w->ul[i].fd;
	}
	/* The listeners as fixed files: no lookup per request on them. */
	if (w->c.srv->nls <= sizeof fds / sizeof fds[0] &&
	    io_uring_register_files(&w->ring, fds, (unsigned)w->c.srv->nls) ==
	    0)
		for (i = 0; i < w->c.srv->nls; i++)
			w->ul[i].fixed = (int)i;
	if (udp && model_uring_ring_bufs(&w->ring, &w->bufs) == -1)
		return -1;
	sqe = sqe_get(w, &w->quit);
	io_uring_prep_poll_add(sqe, w->c.quitfd, POLLIN);
	for (i = 0; i < w->c.srv->nls; i++)
		arm(w, &w->ul[i]);
	return 0;
}

/* In the worker's thread, at its end: the ring, and its buffers. */
static void
end(struct crew_worker *cw)
{
	struct worker	*w = (struct worker *)cw;

	if (w->ring_up) {
		/* The last closes go to the kernel before the ring does. */
		if (!w->broken)
			io_uring_submit(&w->ring);
		io_uring_queue_exit(&w->ring);
	}
	model_uring_ring_bufs_free(&w->bufs);
}

static int
wait_work(struct crew_worker *cw)
{
	struct worker		*w = (struct worker *)cw;
	struct io_uring_cqe	*cqe;
	struct __kernel_timespec ts;
	int			 r;

	/* The watchdog wants to see this loop turn now and then. */
	if (notify_beat_ms() > 0) {
		ms_ts(&ts, notify_beat_ms());
		r = io_uring_submit_and_wait_timeout(&w->ring, &cqe, 1, &ts,
		    NULL);
	} else
		r = io_uring_submit_and_wait(&w->ring, 1);
	/*
	 * Every failure goes to the crew's rule, EINTR and EBUSY too: one
	 * is asked again at once (after the work, which reaps what EBUSY
	 * waits for), and a row of them is rested, logged and bounded,
	 * never spun on.  ETIME is the watchdog's timeout: nothing came.
	 */
	return r < 0 && r != -ETIME ? -r : 0;
}

static void
work(struct crew_worker *cw)
{
	struct worker		*w = (struct worker *)cw;
	struct io_uring_cqe	*cqe;
	unsigned		 head, seen = 0;

	io_uring_for_each_cqe(&w->ring, head, cqe) {
		completion(w, cqe);
		seen++;
	}
	io_uring_cq_advance(&w->ring, seen);
}

static void
tx_blank(void *slot)
{
	struct tx	*tx = slot;

	tx->sent.kind = K_SENT;
	tx->delay.kind = K_TXDELAY;
}

/* In the main thread: what the worker needs before its thread starts. */
static int
init(struct crew_worker *cw)
{
	struct worker	*w = (struct worker *)cw;
	size_t		 i;

	crew_slots_init(&cw->conns, sizeof(struct conn), UR_CHUNK,
	    UR_MAX_CONNS, conn_blank);
	crew_slots_init(&cw->dgrams, sizeof(struct tx), UR_TXCHUNK, UR_TX,
	    tx_blank);
	w->quit.kind = K_QUIT;
	w->close.kind = K_CLOSE;
	ms_ts(&w->delay_ts, cw->srv->delay_ms);
	if ((w->ul = calloc(cw->srv->nls, sizeof *w->ul)) == NULL)
		return -1;
	for (i = 0; i < cw->srv->nls; i++) {
		w->ul[i].arm.kind = K_ARM;
		w->ul[i].resume.kind = K_RESUME;
		w->ul[i].wake.kind = K_WAKE;
		w->ul[i].idx = i;
		w->ul[i].fd = crew_fd(cw, i);
		w->ul[i].fixed = -1;
	}
	return 0;
}

static void
fini(struct crew_worker *cw)
{
	free(((struct worker *)cw)->ul);
}

static const struct crew crew = {
	.name = "uring",
	.wait_name = "uring: io_uring_enter",
	.size = sizeof(struct worker),
	.init = init,
	.start = start,
	.wait = wait_work,
	.work = work,
	.serve = conn_start,
	.shed = conn_shed,
	.delay = delay_begin,
	.undelay = delay_end,
	.quiet = quiet,
	.pending = pending,
	.end = end,
	.free = fini,
};

static int
run(struct server *srv)
{
	return crew_run(srv, &crew);
}

const struct model model_uring = {
	.name = "uring",
	.summary = "io_uring rings per worker thread, UDP in the same rings",
	.run = run,
	.nslots = crew_nslots,
	.usable = model_uring_ring_usable,
	.rooted = model_uring_ring_rooted,
	.caps = MODEL_WORKERS | MODEL_DELAY | MODEL_REUSEPORT,
};
