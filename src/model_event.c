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
 * The threads, the allocator of the queues' slots, the stop and what a
 * failure does are the crew's (crew.c), as in the uring model.
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admit.h"
#include "crew.h"
#include "model.h"
#include "net.h"
#include "notify.h"
#include "serve.h"

#define EV_BATCH	64	/* events per epoll_wait, datagrams per wake */
#define EV_CHUNK	1024	/* connection slots allocated at a time */
#define EV_MAX_CONNS	65536	/* delayed or lingering, per worker */
#define EV_DCHUNK	256	/* datagram slots allocated at a time */
#define EV_DGRAM_QUEUE	4096	/* delayed datagrams, per worker */

enum kind { K_QUIT, K_LISTENER, K_CONN };

/* What epoll hands back: a member of each watched thing. */
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

/* Delayed, or waited on: for the rest of its PROXY header, or drained. */
struct conn {
	struct crew_slot	 s;
	struct watch		 w;
	int			 header;	/* waiting for a PROXY header */
	struct admit_hdr	 hdr;		/* what came of it so far */
};

/* A datagram waiting out --delay; s.peer is its source. */
struct dgram {
	struct crew_slot	 s;
	int			 lfd;		/* the socket it came on */
	struct serve_dgram	 d;
};

struct worker {
	struct crew_worker	 c;
	int			 epfd;
	struct watch		 quit;
	struct wlistener	*wl;
	struct crew_list	 lingering;
	struct crew_list	 shed;		/* closed, given back after */
	struct epoll_event	 evs[EV_BATCH];
	int			 nev;		/* in evs, from the last wait */
};

/*
 * Watch a connection until it is readable: for the rest of its PROXY
 * header (hdr so far), or to drain what its client still sends (NULL).
 */
static void
wait_start(struct worker *w, size_t i, int fd,
    const struct sockaddr_storage *peer, const struct admit_hdr *hdr)
{
	struct epoll_event	 ev;
	struct conn		*c;

	if ((c = crew_slot_get(&w->c.conns)) == NULL) {
		serve_linger_timeout(fd, w->c.st);
		return;
	}
	c->s.fd = fd;
	c->s.listener = i;
	c->header = hdr != NULL;
	if (c->header) {
		c->s.peer = *peer;
		admit_hdr_init(&c->hdr);
		c->hdr.len = hdr->len;
		memcpy(c->hdr.buf, hdr->buf, hdr->len);
	}
	c->s.deadline = w->c.now + w->c.srv->linger_ms;
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.ptr = &c->w;
	/* Its place among those that wait for bytes: it may shed another. */
	if ((c->header && crew_wait_first(&w->c, &c->s) == -1) ||
	    epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
		crew_waited(&w->c, &c->s);
		serve_linger_timeout(fd, w->c.st);
		crew_slot_put(&w->c.conns, c);
		return;
	}
	crew_list_add(&w->lingering, &c->s);
}

static void
wait_event(struct worker *w, struct conn *c)
{
	struct server	*srv = w->c.srv;
	int		 next;

	/* Shed since this batch came: its slot waits for the batch's end. */
	if (c->s.fd == -1)
		return;
	/* close(2) takes the fd out of the epoll set: it was never dup'ed. */
	if (c->header)
		next = serve_stream(srv, &srv->ls[c->s.listener], c->s.fd,
		    &c->s.peer, &c->hdr, w->c.st);
	else
		next = serve_linger(c->s.fd, w->c.st) ? SERVE_DONE :
		    SERVE_DRAIN;
	if (next == SERVE_HEADER || (next == SERVE_DRAIN && !c->header))
		return;
	crew_list_del(&w->lingering, &c->s);
	crew_waited(&w->c, &c->s);
	if (next == SERVE_DONE) {
		crew_slot_put(&w->c.conns, c);
		return;
	}
	/* Header read and reply sent: the drain gets a time of its own. */
	c->header = 0;
	c->s.deadline = w->c.now + srv->linger_ms;
	crew_list_add(&w->lingering, &c->s);
}

/*
 * The crew's shed: closed now, which takes it out of the set; its slot is
 * given back once the batch of events, which may still name it, is done.
 */
static void
shed(struct crew_worker *cw, struct crew_slot *s)
{
	struct worker	*w = (struct worker *)cw;

	crew_list_del(&w->lingering, s);
	admit_close(s->fd);
	s->fd = -1;
	crew_list_add(&w->shed, s);
}

/* The crew's serve: the reply now, and a wait if the client needs one. */
static void
serve_conn(struct crew_worker *cw, size_t i, int fd,
    const struct sockaddr_storage *peer)
{
	struct admit_hdr	 hdr;
	int			 next;

	admit_hdr_init(&hdr);
	next = serve_stream(cw->srv, &cw->srv->ls[i], fd, peer, &hdr, cw->st);
	if (next != SERVE_DONE)
		wait_start((struct worker *)cw, i, fd, peer,
		    next == SERVE_HEADER ? &hdr : NULL);
}

static void
watch_listener(struct worker *w, struct wlistener *wl, int on)
{
	struct epoll_event	 ev;

	if (wl->watched == on)
		return;
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ev.data.ptr = &wl->w;
	if (epoll_ctl(w->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, wl->fd,
	    &ev) == 0)
		wl->watched = on;
}

/*
 * Accept and serve one connection.  One a wake: the listener is
 * level-triggered, so epoll_wait returns at once while more wait, and one
 * accept4 that finds the queue empty costs more than that epoll_wait
 * (measured: 0.8 us a connection, pinned, at concurrency 16).  Returns -1
 * when accept failed in a way that must stop the server.
 */
static int
accept_one(struct worker *w, struct wlistener *wl)
{
	struct sockaddr_storage	 peer;
	int			 fd, pause;

	fd = admit_accept(&w->c.srv->ls[wl->idx], wl->fd, &peer,
	    &w->c.spare, w->c.st, &pause);
	if (fd != -1)
		crew_conn(&w->c, wl->idx, fd, &peer);
	else if (pause > 0) {
		watch_listener(w, wl, 0);
		wl->resume = w->c.now + pause;
	}
	return fd == -1 && pause == -1 ? -1 : 0;
}

static void
delay_dgrams(struct worker *w, struct wlistener *wl)
{
	struct dgram	*d;
	char		 junk[8];
	int		 n;

	for (n = 0; n < EV_BATCH; n++) {
		if ((d = crew_slot_get(&w->c.dgrams)) == NULL) {
			/* Full: read it anyway, so the socket drains. */
			if (net_recvfrom(wl->fd, junk, sizeof junk,
			    MSG_DONTWAIT, NULL, NULL) == -1)
				return;
			stats_count(w->c.st, STAT_SHED, 1);
			continue;
		}
		if (serve_datagram_take(w->c.srv, &w->c.srv->ls[wl->idx],
		    wl->fd, &d->d, w->c.st) == 0) {
			crew_slot_put(&w->c.dgrams, d);
			return;
		}
		d->s.listener = wl->idx;
		d->lfd = wl->fd;
		crew_delay(&w->c, &d->s);
	}
}

static int
listener_event(struct worker *w, struct wlistener *wl)
{
	struct listener	*l = &w->c.srv->ls[wl->idx];

	if (l->type == SOCK_STREAM)
		return accept_one(w, wl);
	if (w->c.srv->delay_ms > 0)
		delay_dgrams(w, wl);
	else
		serve_datagrams(w->c.srv, l, wl->fd, EV_BATCH, w->c.st);
	return 0;
}

/* What waited out its delay: a connection, or a datagram. */
static void
undelayed(struct worker *w, struct crew_slot *s)
{
	struct sockaddr_storage	 peer;
	struct dgram		*d;
	size_t			 i = s->listener;
	int			 fd = s->fd;

	if (fd != -1) {
		peer = s->peer;
		crew_slot_put(&w->c.conns, s);
		serve_conn(&w->c, i, fd, &peer);
		return;
	}
	d = (struct dgram *)s;
	serve_datagram_to(&w->c.srv->ls[i], d->lfd, &d->d, w->c.st);
	crew_slot_put(&w->c.dgrams, d);
}

/* Serve what is due, close what has lingered too long, resume accepts. */
static void
expire(struct worker *w)
{
	struct crew_slot	*s;
	size_t			 i;

	while ((s = w->shed.head) != NULL) {
		crew_list_del(&w->shed, s);
		crew_slot_put(&w->c.conns, s);
	}
	while ((s = w->c.delayed.head) != NULL && s->deadline <= w->c.now) {
		crew_list_del(&w->c.delayed, s);
		undelayed(w, s);
	}
	while ((s = w->lingering.head) != NULL && s->deadline <= w->c.now) {
		crew_list_del(&w->lingering, s);
		crew_waited(&w->c, s);
		serve_linger_timeout(s->fd, w->c.st);
		crew_slot_put(&w->c.conns, s);
	}
	for (i = 0; i < w->c.srv->nls; i++)
		if (!w->c.stopping && !w->wl[i].watched &&
		    w->wl[i].resume <= w->c.now)
			watch_listener(w, &w->wl[i], 1);
}

/* Milliseconds until the next deadline, or -1 for none. */
static int
next_timeout(const struct worker *w)
{
	long long	 next = -1, t, now = w->c.now;
	size_t		 i;

	/* Slots shed after a batch (by a delay's end, a stop): at once. */
	if (w->shed.head != NULL)
		return 0;
	if (w->c.delayed.head != NULL)
		next = w->c.delayed.head->deadline;
	if (w->lingering.head != NULL &&
	    (next == -1 || w->lingering.head->deadline < next))
		next = w->lingering.head->deadline;
	for (i = 0; !w->c.stopping && i < w->c.srv->nls; i++) {
		t = w->wl[i].resume;
		if (!w->wl[i].watched && (next == -1 || t < next))
			next = t;
	}
	/* The watchdog wants to see this loop turn now and then. */
	if (notify_beat_ms() > 0 &&
	    (next == -1 || next > now + notify_beat_ms()))
		next = now + notify_beat_ms();
	if (next == -1)
		return -1;
	return next > now ? (int)(next - now) : 0;
}

/* The crew's stop begins here: nothing more is waited on but clients. */
static void
quiet(struct crew_worker *cw)
{
	struct worker	*w = (struct worker *)cw;
	size_t		 i;

	epoll_ctl(w->epfd, EPOLL_CTL_DEL, cw->quitfd, NULL);
	for (i = 0; i < cw->srv->nls; i++)
		watch_listener(w, &w->wl[i], 0);
}

static int
wait_work(struct crew_worker *cw)
{
	struct worker	*w = (struct worker *)cw;
	int		 e;

	if ((w->nev = epoll_wait(w->epfd, w->evs, EV_BATCH,
	    next_timeout(w))) != -1)
		return 0;
	e = errno;
	w->nev = 0;
	/* Workers block every signal: crew_retry judges even EINTR. */
	return e;
}

static void
work(struct crew_worker *cw)
{
	struct worker	*w = (struct worker *)cw;
	struct watch	*wt;
	int		 i;

	for (i = 0; i < w->nev; i++) {
		wt = w->evs[i].data.ptr;
		if (wt->kind == K_CONN)
			wait_event(w, CREW_OWNER(wt, struct conn, w));
		else if (wt->kind == K_QUIT)
			crew_stop(cw);
		else if (listener_event(w,
		    CREW_OWNER(wt, struct wlistener, w)) == -1) {
			crew_fail(cw);
			crew_stop(cw);
		}
	}
	expire(w);
}

static void
conn_blank(void *slot)
{
	struct conn	*c = slot;

	c->w.kind = K_CONN;
}

static int
init(struct crew_worker *cw)
{
	struct worker		*w = (struct worker *)cw;
	struct epoll_event	 ev;
	size_t			 i;

	w->epfd = -1;
	crew_slots_init(&cw->conns, sizeof(struct conn), EV_CHUNK,
	    EV_MAX_CONNS, conn_blank);
	crew_slots_init(&cw->dgrams, sizeof(struct dgram), EV_DCHUNK,
	    EV_DGRAM_QUEUE, NULL);
	w->quit.kind = K_QUIT;
	if ((w->wl = calloc(cw->srv->nls, sizeof *w->wl)) == NULL ||
	    (w->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	ev.events = EPOLLIN;
	ev.data.ptr = &w->quit;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, cw->quitfd, &ev) == -1)
		return -1;
	for (i = 0; i < cw->srv->nls; i++) {
		w->wl[i].w.kind = K_LISTENER;
		w->wl[i].idx = i;
		w->wl[i].fd = crew_fd(cw, i);
		watch_listener(w, &w->wl[i], 1);
		if (!w->wl[i].watched)
			return -1;
	}
	return 0;
}

static void
fini(struct crew_worker *cw)
{
	struct worker	*w = (struct worker *)cw;

	free(w->wl);
	if (w->epfd != -1)
		close(w->epfd);
}

static const struct crew crew = {
	.name = "event",
	.wait_name = "epoll_wait",
	.size = sizeof(struct worker),
	.init = init,
	.wait = wait_work,
	.work = work,
	.serve = serve_conn,
	.shed = shed,
	.quiet = quiet,
	.free = fini,
};

static int
run(struct server *srv)
{
	return crew_run(srv, &crew);
}

const struct model model_event = {
	.name = "event",
	.summary = "epoll loop per worker thread, UDP in the same loops",
	.run = run,
	.nslots = crew_nslots,
	.caps = MODEL_WORKERS | MODEL_DELAY | MODEL_REUSEPORT,
};
