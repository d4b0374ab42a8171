/*
 * bench_worker.c: a worker of stampbench, as bench_worker.h says.
 *
 * The hot path allocates nothing and reads the clock twice per exchange;
 * deadlines are kept in one list per worker, oldest first, since every
 * exchange gets the same timeout.  Between two waits the replies are
 * read and their sockets let go first, the new exchanges started after,
 * together: the server, woken by the first, finds the rest queued, and
 * is woken once for them all.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench_worker.h"
#include "wire.h"

#define SKEW_S		5		/* how far off a reply's time may be */
#define TICK_MS		50		/* how often the flags are looked at */

int64_t
bench_worker_now(clockid_t clock)
{
	struct timespec	 ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * BENCH_NSEC + ts.tv_nsec;
}

/*
 * nginx's stream module answering `return "$msec\r\n";`: the Unix time
 * as seconds, a dot and exactly three digits of milliseconds, then CRLF.
 */
static int
msec_decode(const char *buf, size_t len, long long *ms, const char **why)
{
	long long	 v = 0;
	size_t		 i, n;

	for (n = 0; n < len && n < 16 && buf[n] >= '0' && buf[n] <= '9'; n++)
		v = v * 10 + (buf[n] - '0');
	if (n == 0 || n > 15 || len != n + 6 || buf[n] != '.') {
		*why = "not SECONDS.MMM and CRLF";
		return -1;
	}
	for (i = n + 1; i < n + 4; i++) {
		if (buf[i] < '0' || buf[i] > '9') {
			*why = "not SECONDS.MMM and CRLF";
			return -1;
		}
		v = v * 10 + (buf[i] - '0');
	}
	if (buf[n + 4] != '\r' || buf[n + 5] != '\n') {
		*why = "no CRLF at end of line";
		return -1;
	}
	*ms = v;
	return 0;
}

enum bench_kind
bench_worker_check(struct bench_worker *w, const char *buf, size_t len,
    int64_t end)
{
	const char	*why = NULL;
	long long	 wall_ms, t;

	wall_ms = (end + w->wall_off) / 1000000;
	if (w->b->proto == BENCH_PROTO_MSEC) {
		if (msec_decode(buf, len, &t, &why) == -1)
			goto bad;
		if (t < wall_ms - SKEW_S * 1000 || t > wall_ms + SKEW_S * 1000)
			goto skew;
	} else {
		if (wire_decode(w->b->proto, buf, len, &t, &why) == -1)
			goto bad;
		/* Compared in seconds: t may be anything a reply can say. */
		if (t < wall_ms / 1000 - SKEW_S || t > wall_ms / 1000 + SKEW_S)
			goto skew;
	}
	return BENCH_OK;
skew:
	why = "time more than 5 s away from ours";
bad:
	if (w->why == NULL)
		w->why = why;
	return BENCH_BAD;
}

enum bench_kind
bench_worker_fault(struct bench_worker *w, int err)
{
	switch (err) {
	case ECONNREFUSED:
		return BENCH_REFUSED;
	case ETIMEDOUT:
		return BENCH_TIMEOUT;
	case ECONNRESET:
	case ECONNABORTED:
	case EPIPE:
		return BENCH_RESET;
	default:
		if (w->other == 0)
			w->other = err;
		return BENCH_OTHER;
	}
}

/* With -n, one ticket per exchange; with -d, as many as time allows. */
static int
ticket(struct bench *b)
{
	if (b->count == 0)
		return 1;
	return atomic_fetch_add_explicit(&b->issued, 1,
	    memory_order_relaxed) < b->count;
}

/* Out of the in-flight list, counted, its socket let go by the engine. */
static void
finish(struct bench_worker *w, struct bench_slot *s, enum bench_kind k,
    int64_t end)
{
	s->prev->next = s->next;
	s->next->prev = s->prev;
	s->busy = 0;
	if (w->b->engine->end != NULL)
		w->b->engine->end(w, s);
	w->kind[k]++;
	if (k == BENCH_OK)
		bench_hist_add(&w->hist, end - s->start);
}

void
bench_worker_done(struct bench_worker *w, struct bench_slot *s,
    enum bench_kind k, int64_t end)
{
	finish(w, s, k, end);
	w->pend[w->npend++] = s;
}

void
bench_worker_bad(struct bench_worker *w, struct bench_slot *s,
    const char *why)
{
	if (w->why == NULL)
		w->why = why;
	bench_worker_done(w, s, BENCH_BAD, 0);
}

/*
 * Start the slot's next exchange if there is a ticket for it.  One that
 * fails at once is counted, and the slot waits for the next turn of the
 * loop: a dead server must not keep us here.
 */
static void
launch(struct bench_worker *w, struct bench_slot *s)
{
	if (!ticket(w->b))
		return;
	if (w->b->engine->start(w, s) == -1) {
		w->kind[bench_worker_fault(w, errno)]++;
		w->pend[w->npend++] = s;
		return;
	}
	s->len = 0;
	s->busy = 1;
	s->next = &w->head;
	s->prev = w->head.prev;
	w->head.prev->next = s;
	w->head.prev = s;
}

/* Every exchange has the same timeout, so the oldest expires first. */
static void
expire(struct bench_worker *w, int64_t now)
{
	struct bench_slot	*s;

	while ((s = w->head.next) != &w->head &&
	    now - s->start >= w->b->timeout_ns) {
		finish(w, s, BENCH_TIMEOUT, now);
		if (w->b->type == SOCK_DGRAM)
			s->stale = 1;
		/* The ring's, once its receive ends. */
		if (!s->inring)
			w->pend[w->npend++] = s;
	}
}

static int
ms_until(int64_t when, int64_t now, int cap)
{
	int64_t	 ms;

	if (when <= now)
		return 0;
	ms = (when - now + 999999) / 1000000;
	return ms < cap ? (int)ms : cap;
}

static void
publish(struct bench_worker *w)
{
	uint64_t	 total = 0;
	int		 k;

	for (k = 0; k < BENCH_NKIND; k++)
		total += w->kind[k];
	atomic_store_explicit(&w->pub_ok, w->kind[BENCH_OK],
	    memory_order_relaxed);
	atomic_store_explicit(&w->pub_done, total, memory_order_relaxed);
}

int
bench_worker_turn(struct bench_worker *w, int64_t *now)
{
	struct bench	*b = w->b;
	int		 i, npend, wait;

	*now = bench_worker_now(CLOCK_MONOTONIC);
	/* Once a second: a stepped clock must not make replies bad. */
	if (*now >= w->wall_next) {
		w->wall_off = bench_worker_now(CLOCK_REALTIME) -
		    bench_worker_now(CLOCK_MONOTONIC);
		w->wall_next = *now + BENCH_NSEC;
	}
	publish(w);
	if (atomic_load_explicit(&b->stop, memory_order_relaxed) ||
	    (b->end != 0 && *now >= b->end))
		return -1;
	expire(w, *now);
	/* launch only appends below i: the list is rebuilt in place. */
	npend = w->npend;
	w->npend = 0;
	for (i = 0; i < npend; i++)
		launch(w, w->pend[i]);
	if (w->head.next == &w->head && w->npend == 0 && w->inring == 0)
		return -1;

	wait = TICK_MS;
	if (w->npend > 0)
		wait = 0;
	if (w->head.next != &w->head)
		wait = ms_until(w->head.next->start + b->timeout_ns, *now,
		    wait);
	if (b->end != 0)
		wait = ms_until(b->end, *now, wait);
	return wait;
}

void *
bench_worker_main(void *arg)
{
	struct bench_worker	*w = arg;

	w->b->engine->run(w);
	publish(w);
	atomic_fetch_sub(&w->b->running, 1);
	return NULL;
}

int
bench_worker_init(struct bench_worker *w, struct bench *b, int nslot,
    int windex)
{
	int	 i;

	w->b = b;
	w->nslot = nslot;
	w->ep = -1;
	w->head.next = w->head.prev = &w->head;
	w->src.sin_family = AF_INET;
	w->nextsrc = b->spread > 0 ? (uint32_t)(windex % b->spread) : 0;
	w->errwhere = "calloc";
	if ((w->slot = calloc(nslot, sizeof *w->slot)) == NULL ||
	    (w->pend = calloc(nslot, sizeof *w->pend)) == NULL)
		return -1;
	for (i = 0; i < nslot; i++) {
		w->slot[i].fd = -1;
		w->pend[w->npend++] = &w->slot[i];
	}
	if (b->engine->setup != NULL)
		return b->engine->setup(w);
	return 0;
}

void
bench_worker_free(struct bench_worker *w)
{
	int	 i;

	for (i = 0; w->slot != NULL && i < w->nslot; i++)
		if (w->slot[i].fd != -1 && !w->slot[i].inring)
			close(w->slot[i].fd);
	if (w->ep != -1)
		close(w->ep);
	if (w->b->engine->free != NULL)
		w->b->engine->free(w);
	/*
	 * A receive the kernel did not give back in time may still write
	 * into its slot: keep the slots, which the exit frees.
	 */
	if (!w->lost)
		free(w->slot);
	free(w->pend);
	free(w);
}

#ifndef STAMP_URING
/*
 * Built without liburing, bench_uring.c is left out: the engine is still
 * there, as stampd's uring model is, so that --io uring is refused by
 * name, and the default is epoll.
 */
static int
uring_missing(char *why, size_t len)
{
	snprintf(why, len, "built without io_uring: install liburing-dev "
	    "and rebuild, or use --io epoll");
	return -1;
}

const struct bench_engine bench_uring = {
	.io = "uring",
	.usable = uring_missing,
};
#endif
