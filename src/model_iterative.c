/*
 * model_iterative.c: the lesson's server, one client at a time.
 *
 * accept, serve, close, in one loop: the baseline every other model is
 * measured against, and the plainest way to see why one slow step (a
 * --delay) stalls every client behind it.  One poll covers every listener,
 * TCP and UDP alike, so a flood of datagrams cannot starve TCP: each turn
 * of the loop serves at most one connection and one batch of datagrams per
 * listener.  The only thing kept between turns is the set of connections
 * whose clients are still sending after their reply: they are drained
 * here, with a deadline, instead of stalling the next client.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "model.h"
#include "net.h"
#include "serve.h"
#include "sig.h"
#include "util.h"

#define MAX_LINGER	64	/* connections waited on at once */
#define DGRAM_TURN	64	/* datagrams a listener gets per turn */
#define BACKLOG_DRAIN	4096	/* queued clients served at a stop */

/* A connection waited on: for its PROXY header, or to drain it. */
struct draining {
	int			 fd;
	int			 header;
	struct serve_hdr	 hdr;		/* while header is set */
	size_t			 listener;
	struct sockaddr_storage	 peer;		/* while header is set */
	long long		 deadline;	/* ms, monotonic */
};

struct state {
	struct server	*srv;
	struct stats	*st;
	struct pollfd	*pfd;		/* signal pipe, listeners, lingers */
	long long	*paused;	/* per listener: accept again at */
	struct draining	 linger[MAX_LINGER];
	int		 nlinger;
	int		 spare;
};

static void
linger_add(struct state *s, size_t i, int fd,
    const struct sockaddr_storage *peer, const struct serve_hdr *hdr,
    int next)
{
	struct draining	*d;

	if (next == SERVE_DONE)
		return;
	if (s->nlinger == MAX_LINGER) {
		/* Full: the oldest has waited longest; it goes first. */
		serve_linger_timeout(s->linger[0].fd, s->st);
		s->linger[0] = s->linger[--s->nlinger];
	}
	d = &s->linger[s->nlinger++];
	d->fd = fd;
	d->listener = i;
	d->header = next == SERVE_HEADER;
	if (d->header) {
		d->peer = *peer;
		d->hdr.len = hdr->len;
		memcpy(d->hdr.buf, hdr->buf, hdr->len);
	}
	d->deadline = util_now_ms() + s->srv->linger_ms;
}

/*
 * Accept and serve one client, after the delay unless stopping.  Returns
 * 1 when one was served, 0 when none was waiting, -1 when accept failed
 * in a way that must stop the server.
 */
static int
accept_one(struct state *s, size_t i, int stopping)
{
	struct listener		*l = &s->srv->ls[i];
	struct sockaddr_storage	 peer;
	struct serve_hdr	 hdr;
	int			 fd, pause, next;

	fd = serve_accept(l, l->fd, &peer, &s->spare, s->st, &pause);
	if (fd == -1) {
		if (pause > 0)
			s->paused[i] = util_now_ms() + pause;
		return pause == -1 ? -1 : 0;
	}
	if (!stopping)
		serve_sleep(s->srv->delay_ms);
	hdr.len = 0;
	next = serve_stream(s->srv, l, fd, &peer, &hdr, s->st);
	linger_add(s, i, fd, &peer, &hdr, next);
	return 1;
}

/*
 * Stop: serve, without the delay, what the kernel has already queued, so
 * that closing the listeners resets no client whose handshake is done.
 */
static void
drain_backlog(struct state *s)
{
	size_t	 i;
	int	 n;

	for (i = 0; i < s->srv->nls; i++)
		for (n = 0; s->srv->ls[i].type == SOCK_STREAM &&
		    n < BACKLOG_DRAIN && accept_one(s, i, 1) == 1; n++)
			;
}

static void
serve_udp(struct state *s, size_t i)
{
	struct listener	*l = &s->srv->ls[i];

	/* With a delay, each datagram waits its turn, as each connection. */
	if (s->srv->delay_ms > 0) {
		serve_sleep(s->srv->delay_ms);
		serve_datagrams(s->srv, l, l->fd, 1, s->st);
	} else
		serve_datagrams(s->srv, l, l->fd, DGRAM_TURN, s->st);
}

/* Lay out the poll set for this turn; return poll's timeout. */
static int
prepare(struct state *s, int stopping)
{
	long long	 now = util_now_ms(), wake = -1;
	size_t		 i;
	int		 j;

	s->pfd[0].fd = sig_fd();
	s->pfd[0].events = POLLIN;
	for (i = 0; i < s->srv->nls; i++) {
		/* A negative fd is skipped by poll: a paused listener. */
		s->pfd[1 + i].fd = s->srv->ls[i].fd;
		if (stopping || s->paused[i] > now)
			s->pfd[1 + i].fd = -1;
		if (!stopping && s->paused[i] > now &&
		    (wake == -1 || s->paused[i] < wake))
			wake = s->paused[i];
		s->pfd[1 + i].events = POLLIN;
	}
	for (j = 0; j < s->nlinger; j++) {
		s->pfd[1 + s->srv->nls + j].fd = s->linger[j].fd;
		s->pfd[1 + s->srv->nls + j].events = POLLIN;
		if (wake == -1 || s->linger[j].deadline < wake)
			wake = s->linger[j].deadline;
	}
	if (wake == -1)
		return -1;
	return wake > now ? (int)(wake - now) : 0;
}

/* Whatever this turn's poll found for a waited-on connection. */
static int
wait_event(struct state *s, struct draining *d)
{
	int	 next;

	if (!d->header)
		return serve_linger(d->fd, s->st) ? SERVE_DONE : SERVE_DRAIN;
	next = serve_stream(s->srv, &s->srv->ls[d->listener], d->fd, &d->peer,
	    &d->hdr, s->st);
	if (next == SERVE_DRAIN) {
		/* Header read and reply sent: the drain gets its own time. */
		d->header = 0;
		d->deadline = util_now_ms() + s->srv->linger_ms;
	}
	return next;
}

static void
drain_lingers(struct state *s)
{
	struct pollfd	*p = s->pfd + 1 + s->srv->nls;
	long long	 now = util_now_ms();
	int		 j, done;

	/* Walk back, so that moving the last one down skips nothing. */
	for (j = s->nlinger - 1; j >= 0; j--) {
		done = p[j].revents != 0 &&
		    wait_event(s, &s->linger[j]) == SERVE_DONE;
		if (!done && s->linger[j].deadline > now)
			continue;
		if (!done)
			serve_linger_timeout(s->linger[j].fd, s->st);
		s->linger[j] = s->linger[--s->nlinger];
	}
}

static int
run(struct server *srv)
{
	struct state	 s = { .srv = srv, .st = &srv->stats[0] };
	size_t		 i;
	int		 stopping = 0, timeout, rc = 0;

	s.pfd = calloc(1 + srv->nls + MAX_LINGER, sizeof *s.pfd);
	s.paused = calloc(srv->nls, sizeof *s.paused);
	if (s.pfd == NULL || s.paused == NULL) {
		log_warn("iterative");
		free(s.pfd);
		free(s.paused);
		return -1;
	}
	s.spare = net_spare_open();

	while (!stopping || s.nlinger > 0) {
		timeout = prepare(&s, stopping);
		if (net_poll(s.pfd, 1 + srv->nls + (unsigned)s.nlinger,
		    timeout) == -1) {
			log_warn("poll");
			break;
		}
		if (s.pfd[0].revents & POLLIN &&
		    model_signals(srv) & SIG_STOP && !stopping) {
			stopping = 1;
			drain_backlog(&s);
		}
		/* Before any accept: this turn's poll set is theirs. */
		drain_lingers(&s);
		for (i = 0; !stopping && i < srv->nls; i++) {
			if (s.pfd[1 + i].fd == -1 ||
			    !(s.pfd[1 + i].revents & POLLIN))
				continue;
			if (srv->ls[i].type == SOCK_DGRAM)
				serve_udp(&s, i);
			else if (accept_one(&s, i, 0) == -1) {
				rc = -1;
				stopping = 1;
			}
		}
	}
	if (s.spare != -1)
		close(s.spare);
	free(s.pfd);
	free(s.paused);
	return rc;
}

const struct model model_iterative = {
	.name = "iterative",
	.summary = "one client at a time, as the lesson (accept, send, close)",
	.run = run,
	.nslots = model_one_slot,
};
