/*
 * acceptor.c: poll, accept or receive, serve or hand over, and stop.
 *
 * One poll covers the signal pipe, the model's fd, every listening socket
 * and an epoll set of every connection waited on, so a flood on one
 * listener cannot starve another: each turn takes at most a few
 * connections and one batch of datagrams per socket, and looks only at
 * the waiters that are ready or due, never at all that wait: a peer that
 * sends nothing costs a place, not a share of every turn.  Nothing here
 * blocks but poll: a reply that waits out --delay waits in a timed slot
 * (struct later) while the loop turns, so the signals, a scrape, the
 * watchdog and the drains are never kept waiting for a client.  A scrape
 * and a key exchange never wait --delay.
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stddef.h>
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
#include "srcwait.h"
#include "supervise.h"
#include "util.h"

#define ACCEPT_TURN	16	/* connections a socket gets per turn */
#define DGRAM_TURN	64	/* datagrams a socket gets per turn */
#define STOP_ACCEPTS	4096	/* queued connections served at a stop */
#define STOP_DGRAMS	4096	/* queued datagrams answered at a stop */
#define WAIT_MIN	16	/* waiters allocated at first */
#define WAIT_TURN	64	/* ready waiters handled per turn */
#define REST_MS		100	/* a listener rests after a hand-over failed */

/* A listening socket: a listener's own, or one of its --reuseport group. */
struct port {
	const struct listener	*l;
	int			 fd;
	long long		 resume;	/* paused until */
};

/*
 * A connection waited on: for its first bytes (a PROXY header, then to be
 * handed over or served here; a request read before the reply), or to
 * drain it.  Every waiter is in the queue by deadline, and while header is
 * set also in the table of sources (sw), both oldest first; unused ones
 * are chained by newer, with fd -1.
 */
struct waiter {
	int			 fd;
	int			 header;
	int			 handoff;
	int			 older, newer;	/* in the queue */
	struct srcwait_link	 sw;		/* while header is set */
	const struct listener	*l;
	long long		 deadline;	/* ms, monotonic */
	struct sockaddr_storage	 peer;
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

/* pfd[0]: signals; pfd[1]: the model's fd; pfd[2]: the waiters' set. */
#define FIXED	3

/*
 * Whatever waits needs room to grow: another WAIT_MIN, doubled each time,
 * and as many sources, so that no join fails.
 */
static int
grow(struct acceptor *a)
{
	struct waiter	*w;
	int		 n, j;

	if (a->maxw >= SRCWAIT_MAX)
		return 0;
	n = a->maxw == 0 ? WAIT_MIN : a->maxw * 2;
	if (srcwait_reserve(&a->sw, n) == -1 ||
	    (w = realloc(a->w, (size_t)n * sizeof *w)) == NULL)
		return 0;
	a->w = w;
	/*
	 * The table links the waiters where they were: it is made again
	 * where they are, each source's oldest first, as the queue has them.
	 * Reserved: no join fails.
	 */
	srcwait_clear(&a->sw);
	for (j = a->oldest; j != -1; j = w[j].newer)
		if (w[j].header)
			(void)srcwait_join(&a->sw, &w[j].sw, &w[j].peer);
	for (j = n - 1; j >= a->maxw; j--) {
		w[j].fd = -1;
		w[j].newer = a->unused;
		a->unused = j;
	}
	a->maxw = n;
	return 1;
}

int
acceptor_init(struct acceptor *a, const struct server *srv,
    struct stats *st, const struct acceptor_ops *ops, void *arg)
{
	static const struct acceptor_ops serial;
	size_t	 i, n = 0;
	int	 k, group;

	memset(a, 0, sizeof *a);
	a->srv = srv;
	a->ops = ops != NULL ? ops : &serial;
	a->arg = arg;
	a->fd = a->spare = a->epfd = -1;
	a->oldest = a->newest = a->unused = -1;
	for (i = 0; i < srv->nls; i++)
		n += srv->ls[i].rpfd != NULL ? (size_t)srv->workers : 1;
	a->port = calloc(n, sizeof *a->port);
	a->pfd = calloc(FIXED + n, sizeof *a->pfd);
	a->later = calloc(1, sizeof *a->later);
	a->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (srcwait_init(&a->sw) == -1 || a->port == NULL ||
	    a->pfd == NULL || a->later == NULL || a->epfd == -1 || !grow(a)) {
		acceptor_free(a);
		return -1;
	}
	a->st = st;
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
	int	 j;

	/* Only a failed stop leaves any: they are closed, not served. */
	for (j = a->oldest; j != -1; j = a->w[j].newer)
		admit_close(a->w[j].fd);
	a->oldest = a->newest = -1;
	if (a->waiting && a->later->fd != -1)
		admit_close(a->later->fd);
	a->waiting = 0;
	if (a->spare != -1)
		close(a->spare);
	if (a->epfd != -1)
		close(a->epfd);
	a->epfd = -1;
	if (a->st != NULL)
		stats_gauge(a->st, STAT_WORKERS, 0);
	a->st = NULL;
	srcwait_free(&a->sw);
	free(a->port);
	free(a->w);
	free(a->pfd);
	free(a->later);
	a->later = NULL;
	a->port = NULL;
	a->w = NULL;
	a->pfd = NULL;
	a->nw = a->maxw = 0;
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
	/* The parent's set: a child must never change it. */
	close(a->epfd);
	a->epfd = -1;
}

/* Waiter j, its deadline set, goes last in the queue: the newest. */
static void
queue(struct acceptor *a, int j)
{
	struct waiter	*w = &a->w[j];

	w->older = a->newest;
	w->newer = -1;
	if (a->newest != -1)
		a->w[a->newest].newer = j;
	else
		a->oldest = j;
	a->newest = j;
}

static void
unqueue(struct acceptor *a, int j)
{
	struct waiter	*w = &a->w[j];

	if (w->older != -1)
		a->w[w->older].newer = w->newer;
	else
		a->oldest = w->newer;
	if (w->newer != -1)
		a->w[w->newer].older = w->older;
	else
		a->newest = w->older;
}

/* Watch waiter j's fd for readability; returns 0, or -1 and errno. */
static int
watch(struct acceptor *a, int j)
{
	struct epoll_event	 ev;

	ev.events = EPOLLIN;
	ev.data.u64 = (uint64_t)j;
	return epoll_ctl(a->epfd, EPOLL_CTL_ADD, a->w[j].fd, &ev);
}

/*
 * Out of the set before its fd is closed or handed on: a forked child
 * may hold a copy of the fd, and the set would keep it while that lives.
 */
static void
unwatch(struct acceptor *a, int j)
{
	epoll_ctl(a->epfd, EPOLL_CTL_DEL, a->w[j].fd, NULL);
}

/* Waiter j is no longer waited on: its fd, out of the set, is not ours. */
static void
forget(struct acceptor *a, int j)
{
	unqueue(a, j);
	srcwait_leave(&a->sw, &a->w[j].sw);
	a->w[j].fd = -1;
	a->w[j].newer = a->unused;
	a->unused = j;
	a->nw--;
}

/* Close waiter j to make room for a newcomer, and count it. */
static void
shed(struct acceptor *a, int j)
{
	int	 fd = a->w[j].fd;

	unwatch(a, j);
	forget(a, j);
	stats_count(a->st, STAT_SHED, 1);
	admit_close(fd);
}

/* The waiter whose link is k. */
static int
waiter_of(const struct acceptor *a, const struct srcwait_link *k)
{
	return (int)((const struct waiter *)(const void *)((const char *)k -
	    offsetof(struct waiter, sw)) - a->w);
}

/*
 * What serve_stream said the connection needs next: nothing, or a wait
 * (handoff: for its header, to hand it over then).  A newcomer always
 * gets its place: past SRCWAIT_PER_SOURCE waiting for their first bytes
 * from its source, the oldest of those is closed; with SRCWAIT_MAX
 * waited on, draining ones counted, the oldest of all.  So a peer that
 * sends nothing costs a place for a while, and never keeps an honest
 * client out.
 */
static void
hold(struct acceptor *a, const struct listener *l, int fd,
    const struct sockaddr_storage *peer, const struct admit_hdr *hdr,
    int next, int handoff)
{
	struct srcwait_link	*k;
	struct waiter		*w;
	int			 j;

	if (next == SERVE_DONE)
		return;
	if (next == SERVE_HEADER &&
	    (k = srcwait_crowded(&a->sw, l->name, peer)) != NULL)
		shed(a, waiter_of(a, k));
	if (a->unused == -1 && !grow(a)) {
		log_limitedx("%s: %d connections waited on: the oldest is "
		    "closed", l->name, a->nw);
		shed(a, a->oldest);
	}
	j = a->unused;
	w = &a->w[j];
	a->unused = w->newer;
	w->fd = fd;
	w->l = l;
	w->header = next == SERVE_HEADER;
	w->handoff = handoff;
	srcwait_link_init(&w->sw);
	w->peer = *peer;
	if (w->header) {
		admit_hdr_init(&w->hdr);
		w->hdr.len = hdr->len;
		memcpy(w->hdr.buf, hdr->buf, hdr->len);
	}
	w->deadline = util_now_ms() + a->srv->linger_ms;
	a->nw++;
	queue(a, j);
	/* grow reserved a source a waiter: no join fails. */
	if (w->header)
		(void)srcwait_join(&a->sw, &w->sw, peer);
	/* The kernel short of memory for the set: as a wait cut short. */
	if (watch(a, j) == -1) {
		forget(a, j);
		serve_linger_timeout(fd, a->st);
	}
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
	    a->st), 0);
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
	int	 r;

	if (!l->proxy)
		return a->ops->conn(a->arg, l, fd, peer, NULL);
	if ((r = admit_header(a->srv, l, fd, peer, hdr, a->st)) == -1)
		return 0;
	if (r == 1)
		return a->ops->conn(a->arg, l, fd, peer, hdr);
	hold(a, l, fd, peer, hdr, SERVE_HEADER, 1);
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

	pfd[0].fd = sig_fd();
	pfd[1].fd = a->fd;
	/* A negative fd is skipped by poll: no waiter, or a paused listener. */
	pfd[2].fd = a->nw > 0 ? a->epfd : -1;
	for (i = 0; i < a->nport; i++) {
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
	/* Every wait is --linger long: the oldest is the first due. */
	if (a->oldest != -1 && (wake == -1 || a->w[a->oldest].deadline < wake))
		wake = a->w[a->oldest].deadline;
	for (i = 0; i < FIXED + a->nport; i++)
		a->pfd[i].events = POLLIN;
	if (wake == -1)
		return -1;
	return wake > now ? (int)(wake - now) : 0;
}

/*
 * What waiter w's readiness brings: SERVE_DONE when its fd is closed or
 * handed over, else what it waits for now.
 */
static int
wait_event(struct acceptor *a, struct waiter *w)
{
	int	 r;

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
	return serve_stream(a->srv, w->l, w->fd, &w->peer, &w->hdr, a->st);
}

/*
 * The waiters the set says are ready, WAIT_TURN at most (the set is
 * level-triggered: the rest come next turn), then those whose time is up,
 * from the oldest.  No turn walks the waiters that wait on.  Returns -1
 * when the set itself failed: our own invariant broke.
 */
static int
waiters(struct acceptor *a, int ready)
{
	struct epoll_event	 ev[WAIT_TURN];
	struct waiter		*w;
	long long		 now;
	int			 i, n = 0, j, fd, next;

	if (ready && (n = epoll_wait(a->epfd, ev, WAIT_TURN, 0)) == -1) {
		if (errno == EINTR)
			return 0;
		log_warn("epoll_wait");
		return -1;
	}
	for (i = 0; i < n; i++) {
		j = (int)ev[i].data.u64;
		w = &a->w[j];
		if (w->fd == -1)
			continue;
		unwatch(a, j);
		if ((next = wait_event(a, w)) == SERVE_DONE) {
			forget(a, j);
			continue;
		}
		if (next == SERVE_DRAIN && w->header) {
			/* Header read and reply sent: the drain's own time. */
			w->header = 0;
			srcwait_leave(&a->sw, &w->sw);
			unqueue(a, j);
			w->deadline = util_now_ms() + a->srv->linger_ms;
			queue(a, j);
		}
		if (watch(a, j) == -1) {
			fd = w->fd;
			forget(a, j);
			serve_linger_timeout(fd, a->st);
		}
	}
	now = util_now_ms();
	for (j = a->oldest; j != -1 && a->w[j].deadline <= now;
	    j = a->oldest) {
		fd = a->w[j].fd;
		unwatch(a, j);
		forget(a, j);
		serve_linger_timeout(fd, a->st);
	}
	return 0;
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

	n = FIXED + a->nport;
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
	/* Before any accept: what this turn's poll found is theirs. */
	if (waiters(a, a->pfd[2].fd != -1 && a->pfd[2].revents & POLLIN) ==
	    -1)
		return -1;
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
