/*
 * model_event.c: an epoll loop per worker thread, the default.
 *
 * Each worker owns an epoll set, its counters and its queues; workers share
 * nothing but the listening sockets.  A listener is watched by every worker
 * with EPOLLEXCLUSIVE, so the kernel wakes one of them per connection, not
 * all; with --reuseport each worker has a socket of its own instead and the
 * kernel spreads connections over their accept queues.  Datagrams are
 * served in the same loops.
 *
 * Nothing here ever blocks but epoll_wait.  --delay is a deadline, not a
 * sleep: a delayed connection or datagram waits in a queue while the loop
 * serves others.  Every wait has the same length (the delay, or the
 * linger time), so each queue is already sorted by deadline when entries
 * are appended, and a FIFO does the work of a timer heap.
 *
 * The main thread only waits for signals and tells the workers to stop
 * through an eventfd that no one reads, so it stays readable for all.
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "model.h"
#include "net.h"
#include "notify.h"
#include "serve.h"
#include "sig.h"
#include "supervise.h"
#include "util.h"

#define EV_BATCH	64	/* events per epoll_wait, datagrams per wake */
#define EV_STOP_ACCEPTS	4096	/* queued connections served at a stop */
#define EV_CHUNK	1024	/* connection slots allocated at a time */
#define EV_MAX_CONNS	65536	/* delayed or lingering, per worker */
#define EV_DGRAM_QUEUE	4096	/* delayed datagrams, per worker */

enum kind { K_QUIT, K_LISTENER, K_CONN };

/* What epoll hands back: the first member of each watched thing. */
struct watch {
	enum kind	 kind;
};

struct wlistener {
	struct watch	 w;
	size_t		 idx;		/* in srv->ls */
	int		 fd;		/* shared, or our own with reuseport */
	int		 watched;	/* in the epoll set now */
	long long	 resume;	/* paused by accept errors until */
};

struct conn {
	struct watch		 w;
	int			 fd;
	int			 header;	/* waiting for a PROXY header */
	struct serve_hdr	 hdr;		/* what came of it so far */
	size_t			 listener;
	long long		 deadline;
	struct sockaddr_storage	 peer;
	struct conn		*prev, *next;
};

struct queue {
	struct conn	*head, *tail;
};

struct dgram {
	struct sockaddr_storage	 from;
	socklen_t		 fromlen;
	size_t			 listener;
	int			 fd;		/* the socket it came on */
	long long		 deadline;
};

struct worker {
	struct server		*srv;
	struct stats		*st;
	int			 epfd;
	struct watch		 quit;
	struct wlistener	*wl;
	struct queue		 delayed, lingering;
	struct conn		*free;
	struct conn		*chunks;	/* to free them at the end */
	size_t			 nconns;	/* allocated slots */
	size_t			 busy;		/* slots in a queue */
	struct dgram		*dq;		/* ring of delayed datagrams */
	size_t			 dhead, dlen;
	int			 spare;
	int			 quitfd;
	int			 stopping;
	int			 failed;
	long long		 failing;	/* epoll_wait failing since */
	long long		 now;
};

static void
queue_append(struct queue *q, struct conn *c)
{
	c->next = NULL;
	c->prev = q->tail;
	if (q->tail != NULL)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
}

static void
queue_remove(struct queue *q, struct conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		q->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		q->tail = c->prev;
}

/* A slot for a delayed or lingering connection, or NULL at the limit. */
static struct conn *
conn_get(struct worker *w)
{
	struct conn	*c;
	size_t		 i;

	if (w->free == NULL) {
		if (w->nconns >= EV_MAX_CONNS ||
		    (c = calloc(EV_CHUNK + 1, sizeof *c)) == NULL)
			return NULL;
		/* Slot 0 links the chunks, which live as long as the worker. */
		c[0].next = w->chunks;
		w->chunks = c;
		for (i = 1; i <= EV_CHUNK; i++) {
			c[i].w.kind = K_CONN;
			c[i].next = w->free;
			w->free = &c[i];
		}
		w->nconns += EV_CHUNK;
	}
	c = w->free;
	w->free = c->next;
	w->busy++;
	return c;
}

static void
conn_put(struct worker *w, struct conn *c)
{
	c->next = w->free;
	w->free = c;
	w->busy--;
}

/*
 * Watch a connection until it is readable: for the rest of its PROXY
 * header (header set), or to drain what its client still sends.
 */
static void
wait_start(struct worker *w, size_t i, int fd,
    const struct sockaddr_storage *peer, const struct serve_hdr *hdr)
{
	struct epoll_event	 ev;
	struct conn		*c;

	if ((c = conn_get(w)) == NULL) {
		serve_linger_timeout(fd, w->st);
		return;
	}
	c->fd = fd;
	c->listener = i;
	c->header = hdr != NULL;
	if (c->header) {
		c->peer = *peer;
		serve_hdr_init(&c->hdr);
		c->hdr.len = hdr->len;
		memcpy(c->hdr.buf, hdr->buf, hdr->len);
	}
	c->deadline = w->now + w->srv->linger_ms;
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.ptr = c;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
		serve_linger_timeout(fd, w->st);
		conn_put(w, c);
		return;
	}
	queue_append(&w->lingering, c);
}

static void
wait_event(struct worker *w, struct conn *c)
{
	int	 next;

	/* close(2) takes the fd out of the epoll set: it was never dup'ed. */
	if (c->header)
		next = serve_stream(w->srv, &w->srv->ls[c->listener], c->fd,
		    &c->peer, &c->hdr, w->st);
	else
		next = serve_linger(c->fd, w->st) ? SERVE_DONE : SERVE_DRAIN;
	if (next == SERVE_HEADER || (next == SERVE_DRAIN && !c->header))
		return;
	queue_remove(&w->lingering, c);
	if (next == SERVE_DONE) {
		conn_put(w, c);
		return;
	}
	/* Header read and reply sent: the drain gets a time of its own. */
	c->header = 0;
	c->deadline = w->now + w->srv->linger_ms;
	queue_append(&w->lingering, c);
}

static void
serve_conn(struct worker *w, size_t i, int fd,
    const struct sockaddr_storage *peer)
{
	struct serve_hdr	 hdr;
	int			 next;

	serve_hdr_init(&hdr);
	next = serve_stream(w->srv, &w->srv->ls[i], fd, peer, &hdr, w->st);
	if (next != SERVE_DONE)
		wait_start(w, i, fd, peer, next == SERVE_HEADER ? &hdr : NULL);
}

static void
delay_conn(struct worker *w, size_t i, int fd,
    const struct sockaddr_storage *peer)
{
	struct conn	*c;

	if ((c = conn_get(w)) == NULL) {
		/* Past the limit a client is refused, never queued forever. */
		serve_count(w->st, STAT_SHED, 1);
		serve_close(fd);
		return;
	}
	c->fd = fd;
	c->listener = i;
	c->peer = *peer;
	c->deadline = w->now + w->srv->delay_ms;
	queue_append(&w->delayed, c);
}

static void
watch_listener(struct worker *w, struct wlistener *wl, int on)
{
	struct epoll_event	 ev;

	if (wl->watched == on)
		return;
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ev.data.ptr = wl;
	if (epoll_ctl(w->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, wl->fd,
	    &ev) == 0)
		wl->watched = on;
}

/*
 * Accept and serve up to max connections.  A wake takes one: the listener
 * is level-triggered, so epoll_wait returns at once while more wait, and
 * one accept4 that finds the queue empty costs more than that epoll_wait
 * (measured: 0.8 us a connection, pinned, at concurrency 16).  A stop
 * takes them all.
 */
static int
accept_some(struct worker *w, struct wlistener *wl, int max)
{
	struct sockaddr_storage	 peer;
	int			 fd, n, pause;

	for (n = 0; n < max; n++) {
		fd = serve_accept(&w->srv->ls[wl->idx], wl->fd, &peer,
		    &w->spare, w->st, &pause);
		if (fd == -1) {
			if (pause > 0) {
				watch_listener(w, wl, 0);
				wl->resume = w->now + pause;
			}
			return pause == -1 ? -1 : 0;
		}
		if (w->srv->delay_ms > 0 && !w->stopping)
			delay_conn(w, wl->idx, fd, &peer);
		else
			serve_conn(w, wl->idx, fd, &peer);
	}
	return 0;
}

static void
delay_dgrams(struct worker *w, struct wlistener *wl)
{
	struct dgram	*d;
	char		 junk[8];
	int		 n;

	for (n = 0; n < EV_BATCH; n++) {
		if (w->dlen == EV_DGRAM_QUEUE) {
			/* Full: read it anyway, so the socket drains. */
			if (net_recvfrom(wl->fd, junk, sizeof junk,
			    MSG_DONTWAIT, NULL, NULL) == -1)
				return;
			serve_count(w->st, STAT_SHED, 1);
			continue;
		}
		d = &w->dq[(w->dhead + w->dlen) % EV_DGRAM_QUEUE];
		if (serve_datagram_take(w->srv, wl->fd, &d->from, &d->fromlen,
		    w->st) == 0)
			return;
		d->listener = wl->idx;
		d->fd = wl->fd;
		d->deadline = w->now + w->srv->delay_ms;
		w->dlen++;
	}
}

static int
listener_event(struct worker *w, struct wlistener *wl)
{
	struct listener	*l = &w->srv->ls[wl->idx];

	if (l->type == SOCK_STREAM)
		return accept_some(w, wl, 1);
	if (w->srv->delay_ms > 0)
		delay_dgrams(w, wl);
	else
		serve_datagrams(w->srv, l, wl->fd, EV_BATCH, w->st);
	return 0;
}

/* Serve what is due, close what has lingered too long, resume accepts. */
static void
expire(struct worker *w)
{
	struct conn	*c;
	struct dgram	*d;
	size_t		 i;

	struct sockaddr_storage	 peer;
	size_t			 li;
	int			 fd;

	while ((c = w->delayed.head) != NULL && c->deadline <= w->now) {
		fd = c->fd;
		li = c->listener;
		peer = c->peer;
		queue_remove(&w->delayed, c);
		conn_put(w, c);
		serve_conn(w, li, fd, &peer);
	}
	while (w->dlen > 0 &&
	    (d = &w->dq[w->dhead])->deadline <= w->now) {
		serve_datagram_to(w->srv, &w->srv->ls[d->listener], d->fd,
		    &d->from, d->fromlen, w->st);
		w->dhead = (w->dhead + 1) % EV_DGRAM_QUEUE;
		w->dlen--;
	}
	while ((c = w->lingering.head) != NULL && c->deadline <= w->now) {
		queue_remove(&w->lingering, c);
		serve_linger_timeout(c->fd, w->st);
		conn_put(w, c);
	}
	for (i = 0; i < w->srv->nls; i++)
		if (!w->stopping && !w->wl[i].watched &&
		    w->wl[i].resume <= w->now)
			watch_listener(w, &w->wl[i], 1);
}

/* Milliseconds until the next deadline, or -1 for none. */
static int
next_timeout(const struct worker *w)
{
	long long	 next = -1, t;
	size_t		 i;

	if (w->delayed.head != NULL)
		next = w->delayed.head->deadline;
	if (w->dlen > 0 && (next == -1 || w->dq[w->dhead].deadline < next))
		next = w->dq[w->dhead].deadline;
	if (w->lingering.head != NULL &&
	    (next == -1 || w->lingering.head->deadline < next))
		next = w->lingering.head->deadline;
	for (i = 0; !w->stopping && i < w->srv->nls; i++) {
		t = w->wl[i].resume;
		if (!w->wl[i].watched && (next == -1 || t < next))
			next = t;
	}
	/* The watchdog wants to see this loop turn now and then. */
	if (notify_beat_ms() > 0 &&
	    (next == -1 || next > w->now + notify_beat_ms()))
		next = w->now + notify_beat_ms();
	if (next == -1)
		return -1;
	return next > w->now ? (int)(next - w->now) : 0;
}

/*
 * Stop: every delay ends now; take what is already in the queues, so that
 * the kernel does not reset it when the listeners close, then stop
 * watching them.
 */
static void
begin_stop(struct worker *w)
{
	struct conn	*c;
	size_t		 i;

	w->stopping = 1;
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->quitfd, NULL);
	/* Both queues stay sorted: every deadline is now the same. */
	for (c = w->delayed.head; c != NULL; c = c->next)
		c->deadline = 0;
	for (i = 0; i < w->dlen; i++)
		w->dq[(w->dhead + i) % EV_DGRAM_QUEUE].deadline = 0;
	for (i = 0; i < w->srv->nls; i++) {
		if (w->srv->ls[i].type == SOCK_STREAM)
			accept_some(w, &w->wl[i], EV_STOP_ACCEPTS);
		else
			serve_datagrams(w->srv, &w->srv->ls[i], w->wl[i].fd,
			    EV_STOP_ACCEPTS, w->st);
		watch_listener(w, &w->wl[i], 0);
	}
}

/* Our own invariant broke (accept said EBADF or the like): stop it all. */
static void
fail(struct worker *w)
{
	uint64_t	 one = 1;

	w->failed = 1;
	if (write(w->quitfd, &one, sizeof one) == -1)
		log_warn("eventfd");
	if (!w->stopping)
		begin_stop(w);
}

static void *
worker_main(void *arg)
{
	struct worker		*w = arg;
	struct epoll_event	 evs[EV_BATCH];
	struct watch		*wt;
	int			 i, n, rest;

	serve_slot(w->st);
	serve_gauge(w->st, STAT_WORKERS, 1);
	for (;;) {
		serve_beat(w->st, 1);
		n = epoll_wait(w->epfd, evs, EV_BATCH, next_timeout(w));
		if (n == -1 && errno != EINTR) {
			if ((rest = supervise_wait_failed("epoll_wait", errno,
			    &w->failing, w->st)) == -1) {
				/* The daemon must not live on with a worker
				 * gone. */
				fail(w);
				break;
			}
			(void)poll(NULL, 0, rest);
			continue;
		}
		w->failing = 0;
		w->now = util_now_ms();
		for (i = 0; i < n; i++) {
			wt = evs[i].data.ptr;
			if (wt->kind == K_CONN)
				wait_event(w, (struct conn *)wt);
			else if (wt->kind == K_LISTENER) {
				if (listener_event(w,
				    (struct wlistener *)wt) == -1)
					fail(w);
			} else if (!w->stopping)
				begin_stop(w);
		}
		expire(w);
		if (w->stopping && w->busy == 0 && w->dlen == 0)
			break;
	}
	serve_gauge(w->st, STAT_WORKERS, 0);
	return w->failed ? w : NULL;
}

static void
worker_free(void *arg)
{
	struct worker	*w = arg;
	struct conn	*c, *next;

	/* Close what is still queued (a failed stop), then the chunks. */
	for (c = w->delayed.head; c != NULL; c = c->next)
		serve_close(c->fd);
	for (c = w->lingering.head; c != NULL; c = c->next)
		serve_close(c->fd);
	for (c = w->chunks; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(w->wl);
	free(w->dq);
	if (w->spare != -1)
		close(w->spare);
	if (w->epfd != -1)
		close(w->epfd);
}

static int
worker_init(void *arg, struct server *srv, size_t n, int quitfd)
{
	struct worker	*w = arg;
	struct epoll_event	 ev;
	struct listener		*l;
	size_t			 i;

	w->srv = srv;
	w->st = &srv->stats[n];
	w->quitfd = quitfd;
	w->quit.kind = K_QUIT;
	w->spare = net_spare_open();
	w->wl = calloc(srv->nls, sizeof *w->wl);
	w->dq = calloc(EV_DGRAM_QUEUE, sizeof *w->dq);
	if ((w->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    w->wl == NULL || w->dq == NULL)
		return -1;
	ev.events = EPOLLIN;
	ev.data.ptr = &w->quit;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, quitfd, &ev) == -1)
		return -1;
	for (i = 0; i < srv->nls; i++) {
		l = &srv->ls[i];
		w->wl[i].w.kind = K_LISTENER;
		w->wl[i].idx = i;
		w->wl[i].fd = l->rpfd != NULL ? l->rpfd[n] : l->fd;
		watch_listener(w, &w->wl[i], 1);
		if (!w->wl[i].watched)
			return -1;
	}
	return 0;
}

static size_t
nslots(const struct server *srv)
{
	return (size_t)srv->workers;
}


/* Before worker_init: safe to free as it is. */
static void
worker_blank(void *arg)
{
	struct worker	*w = arg;

	w->epfd = w->spare = -1;
}

static const struct model_crew crew = {
	.name = "event",
	.size = sizeof(struct worker),
	.blank = worker_blank,
	.init = worker_init,
	.main = worker_main,
	.free = worker_free,
};

static int
run(struct server *srv)
{
	return model_crew_run(srv, &crew);
}

const struct model model_event = {
	.name = "event",
	.summary = "epoll loop per worker thread, UDP in the same loops",
	.run = run,
	.nslots = nslots,
};
