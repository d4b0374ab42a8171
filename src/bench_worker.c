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
#include <string.h>
#include <unistd.h>

#include "bench_worker.h"
#include "ntp.h"
#include "wire.h"

#define SKEW_S		5		/* how far off a reply's time may be */
#define TICK_MS		50		/* how often the flags are looked at */
#define XMT_INDEX_BITS	8		/* a transmit's: the worker's index */

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

/*
 * A transmit timestamp for a request sent at mono: the time, with the
 * worker's index in the lowest bits of the fraction (a 60 ns step, far
 * below what one exchange takes), and later than the worker's last one.
 * So no two requests of a run have the same, even from two workers in
 * the same nanosecond, or when the clock is stepped back; a reply is
 * known by it as the answer to one request and to no other.
 */
static uint64_t
next_transmit(struct bench_worker *w, int64_t mono)
{
	struct timespec	 ts;
	int64_t		 wall = mono + w->wall_off;
	uint64_t	 t, step = (uint64_t)1 << XMT_INDEX_BITS;

	ts.tv_sec = (time_t)(wall / BENCH_NSEC);
	ts.tv_nsec = (long)(wall % BENCH_NSEC);
	t = (ntp_from_timespec(&ts) & ~(step - 1)) |
	    ((uint64_t)w->index & (step - 1));
	/* Modulo 2^64, as the era wraps in 2036: "later" is by the half. */
	if (w->ntp_last != 0 &&
	    (t == w->ntp_last || t - w->ntp_last > (uint64_t)INT64_MAX))
		t = w->ntp_last + step;
	w->ntp_last = t;
	return t;
}

size_t
bench_worker_request(struct bench_worker *w, struct bench_slot *s,
    char *buf, size_t len)
{
	struct ntp_packet	 p;
	int			 n;

	if (w->b->proto != STAMP_PROTO_NTP)
		return 0;
	/* RFC 4330's client request: all 0 but version, mode, transmit. */
	memset(&p, 0, sizeof p);
	p.version = NTP_VERSION;
	p.mode = NTP_MODE_CLIENT;
	s->xmt_before = s->xmt;
	s->xmt = p.xmt = next_transmit(w, s->start);
	n = ntp_encode(&p, buf, len);
	return n == -1 ? 0 : (size_t)n;
}

int
bench_worker_late(const struct bench_worker *w, const struct bench_slot *s,
    const char *buf, size_t len)
{
	struct ntp_packet	 p;

	if (w->b->proto != STAMP_PROTO_NTP || s->xmt_before == 0 ||
	    ntp_decode(buf, len, &p) == -1)
		return 0;
	return p.org == s->xmt_before && p.org != s->xmt;
}

/*
 * An NTP server's reply to the request of s: RFC 5905's checks as
 * ntp_check_reply makes them (48 bytes or more, mode 4, the origin our
 * request's transmit, both of the server's timestamps), and no
 * Kiss-o'-Death.  An unsynchronized server's reply is good here: it
 * answered, which is what is measured.  Its time is returned in *t.
 */
static int
check_ntp(const struct bench_slot *s, const char *buf, size_t len,
    long long now, long long *t, const char **why)
{
	struct ntp_packet	 rep;
	struct timespec		 ts;

	switch (ntp_check_reply(buf, len, &s->xmt, 1, &rep, why)) {
	case NTP_CHECK_MALFORMED:
		return -1;
	case NTP_CHECK_KOD:
		*why = "a Kiss-o'-Death: the server refused";
		return -1;
	case NTP_CHECK_OK:
	case NTP_CHECK_UNSYNC:
		break;
	}
	ntp_to_timespec(rep.xmt, (time_t)now, &ts);
	*t = (long long)ts.tv_sec;
	return 0;
}

enum bench_kind
bench_worker_check(struct bench_worker *w, const struct bench_slot *s,
    const char *buf, size_t len, int64_t end)
{
	const char	*why = NULL;
	long long	 wall_ms, t;

	wall_ms = (end + w->wall_off) / 1000000;
	if (w->b->proto == STAMP_PROTO_NTP) {
		if (check_ntp(s, buf, len, wall_ms / 1000, &t, &why) == -1)
			goto bad;
		if (t < wall_ms / 1000 - SKEW_S || t > wall_ms / 1000 + SKEW_S)
			goto skew;
	} else if (w->b->proto == BENCH_PROTO_MSEC) {
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
	w->index = windex;
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
