/*
 * acceptor.c: poll, accept or receive, serve or hand over, and stop.
 *
 * One poll covers the signal pipe, the model's fd, every listening socket
 * and every connection waited on, so a flood on one listener cannot starve
 * another: each turn takes at most a few connections and one batch of
 * datagrams per socket.  Nothing here blocks but poll: a reply that waits
 * out --delay waits in a timed slot (struct later) while the loop turns,
 * so the signals, a scrape, the watchdog and the drains are never kept
 * waiting for a client.  A scrape and a key exchange never wait --delay.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acceptor.h"
#include "admit.h"
#include "log.h"
#include "net.h"
#include "notify.h"
#include "serve.h"
#include "sig.h"
#include "supervise.h"
#include "util.h"

#define ACCEPT_TURN	16	/* connections a socket gets per turn */
#define DGRAM_TURN	64	/* datagrams a socket gets per turn */
#define STOP_ACCEPTS	4096	/* queued connections served at a stop */
#define STOP_DGRAMS	4096	/* queued datagrams answered at a stop */
#define WAIT_MIN	16	/* waiters allocated at first */
#define WAIT_MAX	4096	/* connections waited on at once */
#define REST_MS		100	/* a listener rests after a hand-over failed */

/* A listening socket: a listener's own, or one of its --reuseport group. */
struct port {
	const struct listener	*l;
	int			 fd;
	long long		 resume;	/* paused until */
};

/*
 * A connection waited on: for its PROXY header (then to be handed over,
 * or served here), or to drain it.
 */
struct waiter {
	int			 fd;
	int			 header;
	int			 handoff;
	const struct listener	*l;
	long long		 deadline;	/* ms, monotonic */
	struct sockaddr_storage	 peer;		/* while header is set */
	struct admit_hdr	 hdr;		/* while header is set */
};

/*
 * A reply that waits out --delay in a serial model (iterative, a pool's
 * worker): a connection, or a datagram (fd -1) to answer from lfd.  One
 * at a time, as the lesson has it: while it waits, the listeners it would
 * take a client from are not polled, and the kernel queues the next.
 */
struct later {
	const struct listener	*l;
	int			 fd;
	int			 lfd;
	long long		 due;		/* ms, monotonic */
	struct sockaddr_storage	 peer;
	struct serve_dgram	 d;
};

#define FIXED	2	/* pfd[0]: signals; pfd[1]: the model's fd */

int
acceptor_init(struct acceptor *a, const struct server *srv,
    struct stats *st, const struct acceptor_ops *ops, void *arg)
{
	static const struct acceptor_ops serial;
	size_t	 i, n = 0;
	int	 k, group;

	memset(a, 0, sizeof *a);
	a->srv = srv;
	a->st = st;
	a->ops = ops != NULL ? ops : &serial;
	a->arg = arg;
	a->fd = a->spare = -1;
	for (i = 0; i < srv->nls; i++)
		n += srv->ls[i].rpfd != NULL ? (size_t)srv->workers : 1;
	a->port = calloc(n, sizeof *a->port);
	a->maxw = WAIT_MIN;
	a->w = calloc((size_t)a->maxw, sizeof *a->w);
	a->pfd = calloc(FIXED + n + (size_t)a->maxw, sizeof *a->pfd);
	a->later = calloc(1, sizeof *a->later);
	if (a->port == NULL || a->w == NULL || a->pfd == NULL ||
	    a->later == NULL) {
		acceptor_free(a);
		return -1;
	}
	for (i = 0; i < srv->nls; i++) {
		group = srv->ls[i].rpfd != NULL ? srv->workers : 1;
		for (k = 0; k < group; k++) {
			a->port[a->nport].l = &srv->ls[i];
			a->port[a->nport++].fd = srv->ls[i].rpfd != NULL ?
			    srv->ls[i].rpfd[k] : srv->ls[i].fd;
		}
	}
	/* The spare fd of the EMFILE trick: one per process or thread. */
	a->spare = net_spare_open();
	stats_slot(st);
	stats_gauge(st, STAT_WORKERS, 1);
	return 0;
}

void
acceptor_free(struct acceptor *a)
{
	int	 i;

	/* Only a failed stop leaves any: they are closed, not served. */
	for (i = 0; i < a->nw; i++)
		admit_close(a->w[i].fd);
	if (a->waiting && a->later->fd != -1)
		admit_close(a->later->fd);
	a->waiting = 0;
	if (a->spare != -1)
		close(a->spare);
	if (a->port != NULL)
		stats_gauge(a->st, STAT_WORKERS, 0);
	free(a->port);
	free(a->w);
	free(a->pfd);
	free(a->later);
	a->later = NULL;
	a->port = NULL;
	a->w = NULL;
	a->pfd = NULL;
	a->nw = 0;
}

void
acceptor_forget(struct acceptor *a, int keep)
{
	size_t	 i;

	for (i = 0; i < a->nport; i++)
		if (a->port[i].fd != keep)
			close(a->port[i].fd);
	if (a->spare != -1)
		close(a->spare);
	a->spare = -1;
}

/* Room for one more waiter, or 0 when WAIT_MAX are waited on. */
static int
wait_room(struct acceptor *a)
{
	struct waiter	*w;
	struct pollfd	*p;
	int		 n;

	if (a->nw < a->maxw)
		return 1;
	if (a->maxw >= WAIT_MAX)
		return 0;
	n = a->maxw * 2;
	if ((w = realloc(a->w, (size_t)n * sizeof *w)) == NULL)
		return 0;
	a->w = w;
	p = realloc(a->pfd, (FIXED + a->nport + (size_t)n) * sizeof *p);
	if (p == NULL)
		return 0;
	a->pfd = p;
	a->maxw = n;
	return 1;
}

/*
 * What serve_stream said the connection needs next: nothing, or a wait.
 * With no room left it is closed: a newcomer never evicts another.
 * Returns its waiter, or NULL.
 */
static struct waiter *
hold(struct acceptor *a, const struct listener *l, int fd,
    const struct sockaddr_storage *peer, const struct admit_hdr *hdr,
    int next)
{
	struct waiter	*w;

	if (next == SERVE_DONE)
		return NULL;
	if (!wait_room(a)) {
		serve_linger_timeout(fd, a->st);
		return NULL;
	}
	w = &a->w[a->nw++];
	w->fd = fd;
	w->l = l;
	w->header = next == SERVE_HEADER;
	w->handoff = 0;
	if (w->header) {
		w->peer = *peer;
		admit_hdr_init(&w->hdr);
		w->hdr.len = hdr->len;
		memcpy(w->hdr.buf, hdr->buf, hdr->len);
	}
	w->deadline = util_now_ms() + a->srv->linger_ms;
	return w;
}

/*
 * Serve fd now, here, and wait for it as it needs; hdr is its PROXY header
 * so far, or NULL for none yet.
 */
static void
serve_here(struct acceptor *a, const struct listener *l, int fd,
    const struct sockaddr_storage *peer, struct admit_hdr *hdr)
{
	struct admit_hdr	 none;

	if (hdr == NULL) {
		admit_hdr_init(&none);
		hdr = &none;
	}
	hold(a, l, fd, peer, hdr, serve_stream(a->srv, l, fd, peer, hdr,
	    a->st));
}

/*
 * Hand fd over once its header is whole, or wait for the rest of it.
 * Returns 0 when it is handed over, waited on or closed, -1 when the
 * model could not take it: the caller serves it here, with hdr.
 */
static int
hand_over(struct acceptor *a, const struct listener *l, int fd,
    const struct sockaddr_storage *peer, struct admit_hdr *hdr)
{
	struct waiter	*w;
	int		 r;

	if (!l->proxy)
		return a->ops->conn(a->arg, l, fd, peer, NULL);
	if ((r = admit_header(a->srv, l, fd, peer, hdr, a->st)) == -1)
		return 0;
	if (r == 1)
		return a->ops->conn(a->arg, l, fd, peer, hdr);
	if ((w = hold(a, l, fd, peer, hdr, SERVE_HEADER)) != NULL)
		w->handoff = 1;
	return 0;
}

static void
busy(struct acceptor *a, int on)
{
	if (a->ops->busy != NULL)
		a->ops->busy(a->arg, on);
}

/* Whether a is serial: it serves every client itself, one at a time. */
static int
serial(const struct acceptor *a)
{
	return a->ops->conn == NULL;
}

/*
 * Whether a client of l, taken by a serial loop now, waits out --delay
 * before its reply: a stamp, time, daytime or NTP one does; a scrape and
 * a key exchange never do, and a stop ends every wait.
 */
static int
delayed(const struct acceptor *a, const struct listener *l)
{
	return serial(a) && a->srv->delay_ms > 0 && !a->stopping &&
	    !(l->type == SOCK_STREAM && serve_in_loop(l));
}

/*
 * Keep a reply for --delay from now: the one time a serial loop cannot
 * take a client, so the one time it says it is busy.  fd is the
 * connection, or -1 for datagram d taken off lfd.
 */
static void
later(struct acceptor *a, const struct listener *l, int fd,
    const struct sockaddr_storage *peer, int lfd,
    const struct serve_dgram *d)
{
	struct later	*w = a->later;

	w->l = l;
	w->fd = fd;
	w->lfd = lfd;
	if (fd != -1)
		w->peer = *peer;
	else
		w->d = *d;
	w->due = util_now_ms() + a->srv->delay_ms;
	a->waiting = 1;
	busy(a, 1);
}

/* The reply kept for --delay, once it is due or a stop ends the wait. */
static void
due(struct acceptor *a)
{
	struct later	*w = a->later;

	if (!a->waiting || (!a->stopping && util_now_ms() < w->due))
		return;
	a->waiting = 0;
	busy(a, 0);
	if (w->fd != -1)
		serve_here(a, w->l, w->fd, &w->peer, NULL);
	else
		serve_datagram_to(w->l, w->lfd, &w->d, a->st);
}

static int
room(struct acceptor *a)
{
	return a->ops->room != NULL ? a->ops->room(a->arg) : ACCEPT_TURN;
}

/*
 * Whether serving p waits: for room a hand-over does not have now, or, in
 * a serial loop, for the reply kept for --delay.  A scrape and a key
 * exchange never wait: they hold no child, no thread and no delay.
 */
static int
full(struct acceptor *a, const struct port *p)
{
	if (p->l->type == SOCK_STREAM && serve_in_loop(p->l))
		return 0;
	if (serial(a))
		return a->waiting;
	if (p->l->type != SOCK_STREAM && (a->ops->dgram == NULL ||
	    a->srv->delay_ms == 0))
		return 0;
	return room(a) <= 0;
}

/*
 * Accept from p, at most max: each handed over, or served here (a serial
 * loop's after the delay, kept in its timed slot), one a turn.  Returns
 * -1 when accept failed in a way that must stop the server.
 */
static int
take_conns(struct acceptor *a, struct port *p, int max)
{
	struct sockaddr_storage	 peer;
	struct admit_hdr	 hdr;
	int			 fd, n, pause;
	/* A scrape or a key exchange is served here: it holds no child. */
	int			 here = a->ops->conn == NULL ||
				    serve_in_loop(p->l);

	for (n = 0; n < max && (a->stopping || !full(a, p)); n++) {
		fd = admit_accept(p->l, p->fd, &peer, &a->spare, a->st,
		    &pause);
		if (fd == -1) {
			if (pause > 0)
				p->resume = util_now_ms() + pause;
			return pause == -1 ? -1 : 0;
		}
		admit_hdr_init(&hdr);
		if (!here && !a->stopping &&
		    hand_over(a, p->l, fd, &peer, &hdr) == 0)
			continue;
		if (!here && !a->stopping)
			p->resume = util_now_ms() + REST_MS;
		if (delayed(a, p->l)) {
			later(a, p->l, fd, &peer, -1, NULL);
			break;
		}
		serve_here(a, p->l, fd, &peer, &hdr);
		if (here && !a->stopping)
			break;
	}
	return 0;
}

/* With --delay: one datagram at a time, each handed over or answered. */
static void
take_delayed(struct acceptor *a, struct port *p)
{
	struct serve_dgram	 d;
	int			 n;

	for (n = 0; n < DGRAM_TURN && !full(a, p); n++) {
		/* None: another worker took it, or none may be answered. */
		if (serve_datagram_take(a->srv, p->l, p->fd, &d, a->st) == 0)
			return;
		if (a->ops->dgram != NULL &&
		    a->ops->dgram(a->arg, p->l, p->fd, &d) == 0)
			continue;
		if (delayed(a, p->l)) {
			later(a, p->l, -1, NULL, p->fd, &d);
			return;
		}
		p->resume = util_now_ms() + REST_MS;
		serve_datagram_to(p->l, p->fd, &d, a->st);
		if (a->ops->dgram == NULL || a->stopping)
			return;
	}
}

static int
take(struct acceptor *a, struct port *p)
{
	if (p->l->type == SOCK_STREAM)
		return take_conns(a, p, a->ops->conn == NULL ? 1 :
		    ACCEPT_TURN);
	if (a->srv->delay_ms > 0)
		take_delayed(a, p);
	else
		serve_datagrams(a->srv, p->l, p->fd, DGRAM_TURN, a->st);
	return 0;
}

/* Lay out the poll set for this turn; return poll's timeout. */
static int
prepare(struct acceptor *a)
{
	struct pollfd	*pfd = a->pfd;
	long long	 now = util_now_ms(), wake = -1;
	size_t		 i;
	int		 j;

	pfd[0].fd = sig_fd();
	pfd[1].fd = a->fd;
	for (i = 0; i < a->nport; i++) {
		/* A negative fd is skipped by poll: a paused listener. */
		pfd[FIXED + i].fd = a->port[i].fd;
		if (a->stopping || full(a, &a->port[i]))
			pfd[FIXED + i].fd = -1;
		else if (a->port[i].resume > now) {
			pfd[FIXED + i].fd = -1;
			if (wake == -1 || a->port[i].resume < wake)
				wake = a->port[i].resume;
		}
	}
	if (a->waiting && (wake == -1 || a->later->due < wake))
		wake = a->later->due;
	pfd += FIXED + a->nport;
	for (j = 0; j < a->nw; j++) {
		pfd[j].fd = a->w[j].fd;
		if (wake == -1 || a->w[j].deadline < wake)
			wake = a->w[j].deadline;
	}
	for (i = 0; i < FIXED + a->nport + (size_t)a->nw; i++)
		a->pfd[i].events = POLLIN;
	if (wake == -1)
		return -1;
	return wake > now ? (int)(wake - now) : 0;
}

/* Whatever this turn's poll found for a waited-on connection. */
static int
wait_event(struct acceptor *a, struct waiter *w)
{
	int	 next, r;

	if (!w->header)
		return serve_linger(w->fd, a->st) ? SERVE_DONE : SERVE_DRAIN;
	if (w->handoff && !a->stopping) {
		r = admit_header(a->srv, w->l, w->fd, &w->peer, &w->hdr,
		    a->st);
		if (r != 1)
			return r == 0 ? SERVE_HEADER : SERVE_DONE;
		if (a->ops->conn(a->arg, w->l, w->fd, &w->peer, &w->hdr) == 0)
			return SERVE_DONE;
	}
	w->handoff = 0;
	next = serve_stream(a->srv, w->l, w->fd, &w->peer, &w->hdr, a->st);
	if (next == SERVE_DRAIN) {
		/* Header read and reply sent: the drain gets its own time. */
		w->header = 0;
		w->deadline = util_now_ms() + a->srv->linger_ms;
	}
	return next;
}

static void
waiters(struct acceptor *a)
{
	struct pollfd	*p = a->pfd + FIXED + a->nport;
	long long	 now = util_now_ms();
	int		 j, done;

	/* Walk back, so that moving the last one down skips nothing. */
	for (j = a->nw - 1; j >= 0; j--) {
		done = p[j].revents != 0 &&
		    wait_event(a, &a->w[j]) == SERVE_DONE;
		if (!done && a->w[j].deadline > now)
			continue;
		if (!done)
			serve_linger_timeout(a->w[j].fd, a->st);
		a->w[j] = a->w[--a->nw];
	}
}

/*
 * One poll and what it found.  Returns -1 when the server must stop: our
 * own invariant broke, or poll failed as supervise_wait_failed judges.
 */
static int
turn(struct acceptor *a)
{
	unsigned long	 n;
	long long	 t0;
	size_t		 i;
	int		 timeout = prepare(a), beat = notify_beat_ms(), rest;

	/* The watchdog's: this loop shows it turns, and feeds it. */
	stats_beat(a->st, 1);
	notify_watchdog(stats_fresh, (void *)a->srv);
	if (beat > 0 && (timeout == -1 || timeout > beat))
		timeout = beat;

	n = FIXED + a->nport + (unsigned long)a->nw;
	t0 = util_now_ms();
	/* A signal that interrupts the poll is its own news, no failure. */
	if (net_poll(a->pfd, n, timeout) == -1 &&
	    (errno != EINTR || !sig_pending())) {
		/*
		 * Failures in a row are a poll that keeps failing at once;
		 * one that waited a while first (a tracer's EINTR) is alone.
		 */
		if (util_now_ms() - t0 >= SUPERVISE_ALONE_MS)
			a->failing = 0;
		if ((rest = supervise_wait_failed("poll", errno, &a->failing,
		    a->st)) == -1)
			return -1;
		/* A stop is read even while the poll keeps failing. */
		a->sigs |= supervise_signals(a->srv);
		if (a->sigs & SIG_STOP)
			a->stopping = 1;
		return a->stopping ? 0 : (supervise_sleep(a->srv, rest), 0);
	}
	a->failing = 0;
	if (a->pfd[0].revents & POLLIN || sig_pending())
		a->sigs |= supervise_signals(a->srv);
	if (a->sigs & SIG_STOP)
		a->stopping = 1;
	if (a->ops->wake != NULL && (a->sigs & SIG_CHILD ||
	    a->pfd[1].revents & POLLIN)) {
		a->ops->wake(a->arg, a->sigs);
		a->sigs &= ~SIG_CHILD;
	}
	/* Before any accept: this turn's poll set is theirs. */
	waiters(a);
	/* After them: a connection served now may become one. */
	due(a);
	for (i = 0; !a->stopping && i < a->nport; i++) {
		if (a->pfd[FIXED + i].revents & POLLNVAL) {
			log_warnx("%s: not open any more", a->port[i].l->name);
			return -1;
		}
		/* POLLERR: the kernel's transmit times, for NTP. */
		if (a->pfd[FIXED + i].fd != -1 &&
		    a->pfd[FIXED + i].revents & (POLLIN | POLLERR) &&
		    take(a, &a->port[i]) == -1)
			return -1;
	}
	return 0;
}

int
acceptor_run(struct acceptor *a)
{
	int	 rc = 0;

	while (!a->stopping)
		if ((rc = turn(a)) == -1)
			break;
	acceptor_finish(a);
	return rc;
}

void
acceptor_last(const struct server *srv, const struct listener *l, int fd,
    int *spare, struct stats *st, void (*conn)(void *arg, size_t i, int fd,
    const struct sockaddr_storage *peer), void *arg)
{
	struct sockaddr_storage	 peer;
	int			 cfd, n, pause;

	if (l->type != SOCK_STREAM) {
		serve_datagrams(srv, l, fd, STOP_DGRAMS, st);
		return;
	}
	/* Until the queue is empty, or a failure says to leave it. */
	for (n = 0; n < STOP_ACCEPTS; n++) {
		if ((cfd = admit_accept(l, fd, &peer, spare, st, &pause)) == -1)
			return;
		conn(arg, (size_t)(l - srv->ls), cfd, &peer);
	}
}

/* acceptor_finish's: each connection served here, waited on as it needs. */
static void
finish_conn(void *arg, size_t i, int fd, const struct sockaddr_storage *peer)
{
	struct acceptor	*a = arg;

	serve_here(a, &a->srv->ls[i], fd, peer, NULL);
}

void
acceptor_finish(struct acceptor *a)
{
	size_t	 i;

	a->stopping = 1;
	/* Taken first, served first: a stop ends its delay. */
	due(a);
	for (i = 0; i < a->nport; i++)
		acceptor_last(a->srv, a->port[i].l, a->port[i].fd, &a->spare,
		    a->st, finish_conn, a);
	/* Each waits --linger at most: this ends. */
	while (a->nw > 0)
		if (turn(a) == -1)
			break;
}
