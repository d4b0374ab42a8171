/*
 * crew.c: worker threads with a loop each, from the first to the last.
 *
 * The main thread makes the workers, waits on signals (supervise.c) while
 * they turn, and tells them to stop through an eventfd that no one reads,
 * so that it stays readable for all, and through a flag each worker reads
 * every turn, so that a worker whose wait keeps failing (and so never
 * sees the eventfd) stops all the same.  Each worker's loop waits as its
 * model does, and meets a failed wait with the rule every model keeps
 * (crew_retry, then supervise_wait_failed).  The connections that wait
 * for their first bytes are bounded per worker as in every model
 * (srcwait.c): the crew picks the one to shed, the model closes it.
 * Nothing here blocks a worker but its wait, and the rest after a wait
 * that failed.
 */
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "acceptor.h"
#include "admit.h"
#include "crew.h"
#include "log.h"
#include "net.h"
#include "notify.h"
#include "serve.h"
#include "sig.h"
#include "srcwait.h"
#include "supervise.h"
#include "util.h"

/* Slots as they were allocated, followed by the slots themselves. */
struct crew_chunk {
	struct crew_chunk	*next;
	max_align_t		 slots[];
};

void
crew_list_add(struct crew_list *q, struct crew_slot *s)
{
	s->next = NULL;
	s->prev = q->tail;
	if (q->tail != NULL)
		q->tail->next = s;
	else
		q->head = s;
	q->tail = s;
}

void
crew_list_del(struct crew_list *q, struct crew_slot *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		q->head = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	else
		q->tail = s->prev;
}

void
crew_slots_init(struct crew_slots *sl, size_t size, size_t chunk,
    size_t max, void (*blank)(void *))
{
	*sl = (struct crew_slots){ .size = size, .chunk = chunk, .max = max,
	    .blank = blank };
}

/* The i-th slot of chunk k. */
static struct crew_slot *
slot_at(const struct crew_slots *sl, struct crew_chunk *k, size_t i)
{
	return (struct crew_slot *)(void *)((char *)k->slots + i * sl->size);
}

void *
crew_slot_get(struct crew_slots *sl)
{
	struct crew_chunk	*k;
	struct crew_slot	*s;
	size_t			 i;

	if (sl->free == NULL) {
		if (sl->n >= sl->max || (k = calloc(1, sizeof *k +
		    sl->chunk * sl->size)) == NULL)
			return NULL;
		k->next = sl->chunks;
		sl->chunks = k;
		for (i = 0; i < sl->chunk; i++) {
			s = slot_at(sl, k, i);
			if (sl->blank != NULL)
				sl->blank(s);
			s->next = sl->free;
			sl->free = s;
		}
		sl->n += sl->chunk;
	}
	s = sl->free;
	sl->free = s->next;
	s->prev = s->next = NULL;
	s->fd = -1;
	s->busy = 1;
	srcwait_link_init(&s->sw);
	sl->busy++;
	return s;
}

void
crew_slot_put(struct crew_slots *sl, void *slot)
{
	struct crew_slot	*s = slot;

	s->busy = 0;
	s->next = sl->free;
	sl->free = s;
	sl->busy--;
}

/* At the end: what a failed stop left open is closed, then the chunks. */
static void
slots_free(struct crew_slots *sl)
{
	struct crew_chunk	*k, *next;
	struct crew_slot	*s;
	size_t			 i;

	for (k = sl->chunks; k != NULL; k = next) {
		next = k->next;
		for (i = 0; i < sl->chunk; i++) {
			s = slot_at(sl, k, i);
			if (s->busy && s->fd != -1)
				admit_close(s->fd);
		}
		free(k);
	}
	sl->chunks = NULL;
	sl->free = NULL;
}

size_t
crew_nslots(const struct server *srv)
{
	return (size_t)srv->workers;
}

int
crew_fd(const struct crew_worker *w, size_t i)
{
	const struct listener	*l = &w->srv->ls[i];

	return l->rpfd != NULL ? l->rpfd[w->n] : l->fd;
}

int
crew_alone(const struct crew_worker *w, size_t i)
{
	return w->srv->ls[i].rpfd != NULL || w->srv->workers == 1;
}

void
crew_delay(struct crew_worker *w, struct crew_slot *s)
{
	s->deadline = w->now + w->srv->delay_ms;
	crew_list_add(&w->delayed, s);
	if (w->crew->delay != NULL)
		w->crew->delay(w, s);
}

void
crew_conn(struct crew_worker *w, size_t i, int fd,
    const struct sockaddr_storage *peer)
{
	struct crew_slot	*s;

	/* A scrape or a key exchange never waits --delay. */
	if (w->srv->delay_ms == 0 || w->stopping ||
	    serve_in_loop(&w->srv->ls[i])) {
		w->crew->serve(w, i, fd, peer);
		return;
	}
	if ((s = crew_slot_get(&w->conns)) == NULL) {
		/* Past the limit a client is refused, never queued forever. */
		stats_count(w->st, STAT_SHED, 1);
		admit_close(fd);
		return;
	}
	s->fd = fd;
	s->listener = i;
	s->peer = *peer;
	crew_delay(w, s);
}

/* The slot whose link is k makes room: out of the table, counted, closed. */
static void
shed(struct crew_worker *w, struct srcwait_link *k)
{
	srcwait_leave(&w->waiting, k);
	stats_count(w->st, STAT_SHED, 1);
	w->crew->shed(w, CREW_OWNER(k, struct crew_slot, sw));
}

int
crew_wait_first(struct crew_worker *w, struct crew_slot *s)
{
	const char		*name = w->srv->ls[s->listener].name;
	struct srcwait_link	*k;

	if (srcwait_joined(&s->sw))
		return 0;
	if ((k = srcwait_crowded(&w->waiting, name, &s->peer)) != NULL)
		shed(w, k);
	if ((k = srcwait_full(&w->waiting, name)) != NULL)
		shed(w, k);
	return srcwait_join(&w->waiting, &s->sw, &s->peer);
}

void
crew_waited(struct crew_worker *w, struct crew_slot *s)
{
	srcwait_leave(&w->waiting, &s->sw);
}

/* acceptor_last's: what was queued is served at once, no delay. */
static void
stop_conn(void *arg, size_t i, int fd, const struct sockaddr_storage *peer)
{
	struct crew_worker	*w = arg;

	w->crew->serve(w, i, fd, peer);
}

void
crew_stop(struct crew_worker *w)
{
	const struct crew	*c = w->crew;
	struct crew_slot	*s;
	size_t			 i;

	if (w->stopping)
		return;
	w->stopping = 1;
	c->quiet(w);
	/* The list stays sorted: every deadline is now the same. */
	for (s = w->delayed.head; s != NULL; s = s->next) {
		s->deadline = 0;
		if (c->undelay != NULL)
			c->undelay(w, s);
	}
	for (i = 0; i < w->srv->nls; i++)
		acceptor_last(w->srv, &w->srv->ls[i], crew_fd(w, i),
		    &w->spare, w->st, stop_conn, w);
}

void
crew_fail(struct crew_worker *w)
{
	uint64_t	 one = 1;

	w->failed = 1;
	if (write(w->quitfd, &one, sizeof one) == -1)
		log_warn("%s: eventfd", w->crew->name);
}

int
crew_retry(struct crew_worker *w, int err)
{
	long long	 now = util_now_ms();
	int		 rest;

	if (err == EINTR || err == EBUSY) {
		/* Alone, it is how the kernel asks to be asked again. */
		if (w->failing == 0) {
			w->failing = now;
			w->backoff = 0;
			return 0;
		}
		stats_count(w->st, STAT_ERRORS, 1);
		errno = err;
		log_limited("%s", w->crew->wait_name);
		rest = 0;
		if (now - w->failing > SUPERVISE_GIVE_UP_MS) {
			log_warnx("%s: failing for %d s: giving up",
			    w->crew->wait_name, SUPERVISE_GIVE_UP_MS / 1000);
			return -1;
		}
	} else if ((rest = supervise_wait_failed(w->crew->wait_name, err,
	    &w->failing, w->st)) == -1)
		return -1;
	/* A stop is not held up long by a wait that cannot work. */
	if (w->stopping && now - w->failing > CREW_STOP_GIVE_UP_MS) {
		log_warnx("%s: failing at the stop: giving up",
		    w->crew->wait_name);
		return -1;
	}
	w->backoff = w->backoff == 0 ? 1 : w->backoff * 2;
	if (w->backoff > CREW_RETRY_MAX_MS)
		w->backoff = CREW_RETRY_MAX_MS;
	return rest > w->backoff ? rest : w->backoff;
}

/* Whether a stopping worker has nothing left in flight. */
static int
finished(const struct crew_worker *w)
{
	return w->conns.busy == 0 && w->dgrams.busy == 0 &&
	    (w->crew->pending == NULL || !w->crew->pending(w));
}

static void *
worker_main(void *arg)
{
	struct crew_worker	*w = arg;
	const struct crew	*c = w->crew;
	long long		 t0;
	int			 err, rest;

	stats_slot(w->st);
	if (c->start != NULL && c->start(w) == -1) {
		log_warn("%s: worker %zu", c->name, w->n);
		crew_fail(w);
		goto out;
	}
	stats_gauge(w->st, STAT_WORKERS, 1);
	while (!w->stopping || !finished(w)) {
		stats_beat(w->st, 1);
		/* Not only through the wait, which may be what fails. */
		if (!w->stopping && __atomic_load_n(w->quit, __ATOMIC_ACQUIRE)) {
			crew_stop(w);
			continue;
		}
		t0 = util_now_ms();
		if ((err = c->wait(w)) != 0) {
			/*
			 * Failures in a row are a wait that keeps failing at
			 * once; one that waited a while first (a tracer's
			 * EINTR as it attaches or leaves) is alone.
			 */
			if (util_now_ms() - t0 >= SUPERVISE_ALONE_MS)
				w->failing = 0;
			if ((rest = crew_retry(w, err)) == -1) {
				/* No daemon lives on a worker short. */
				crew_fail(w);
				crew_stop(w);
				break;
			}
			/*
			 * Signals are the main thread's: this sleeps rest, at
			 * most CREW_RETRY_MAX_MS, and the stop is read again
			 * after it.  Then the work: what the kernel has done
			 * may be what it waits for us to reap (EBUSY).
			 */
			if (rest > 0)
				util_sleep_ms(rest);
		} else
			w->failing = 0;
		w->now = util_now_ms();
		c->work(w);
	}
	stats_gauge(w->st, STAT_WORKERS, 0);
out:
	if (c->end != NULL)
		c->end(w);
	return w->failed ? w : NULL;
}

/* In the main thread: the worker's share, then the model's. */
static int
worker_init(struct crew_worker *w, struct server *srv, const struct crew *c,
    size_t n, int quitfd, const int *quit)
{
	w->crew = c;
	w->quit = quit;
	w->srv = srv;
	w->st = &srv->stats[n];
	w->n = n;
	w->quitfd = quitfd;
	/* The spare fd of the EMFILE trick: one per thread. */
	w->spare = net_spare_open();
	/* The model's first: its free is safe once its init has run. */
	if (c->init(w) == -1)
		return -1;
	return srcwait_init(&w->waiting);
}

static void
worker_free(struct crew_worker *w)
{
	slots_free(&w->conns);
	slots_free(&w->dgrams);
	srcwait_free(&w->waiting);
	if (w->crew->free != NULL)
		w->crew->free(w);
	if (w->spare != -1)
		close(w->spare);
}

/* Start the workers with every signal blocked; how many started. */
static size_t
start(const struct crew *c, char *ws, pthread_t *tid, size_t n)
{
	sigset_t	 all, old;
	size_t		 i;
	int		 e;

	/* Signals are the main thread's. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < n; i++)
		if ((e = pthread_create(&tid[i], NULL, worker_main,
		    ws + i * c->size)) != 0) {
			errno = e;
			log_warn("%s: thread", c->name);
			break;
		}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return i;
}

/*
 * The main thread's step while the workers turn: done at a stop, or when
 * a worker's failure wrote quitfd; meanwhile it feeds the watchdog, which
 * the workers' beats keep fresh.
 */
static int
watch(void *arg, int sigs)
{
	if (sigs & (SIG_STOP | SUPERVISE_FD))
		return SUPERVISE_DONE;
	notify_watchdog(stats_fresh, arg);
	return -1;
}

int
crew_run(struct server *srv, const struct crew *c)
{
	size_t		 n = (size_t)srv->workers, i, made, started = 0;
	pthread_t	*tid;
	uint64_t	 one = 1;
	char		*ws;
	void		*failed;
	int		 quitfd = -1, rc = -1, quit = 0;

	ws = calloc(n, c->size);
	tid = calloc(n, sizeof *tid);
	if (ws == NULL || tid == NULL ||
	    (quitfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		log_warn("%s", c->name);
		made = 0;
		goto out;
	}
	for (made = 0; made < n; made++)
		if (worker_init((void *)(ws + made * c->size), srv, c, made,
		    quitfd, &quit) == -1) {
			log_warn("%s: worker %zu", c->name, made);
			/* Half made: what init made is freed with the rest. */
			made++;
			goto out;
		}
	started = start(c, ws, tid, n);
	if (started == n) {
		supervise(srv, quitfd, -1, watch, srv);
		rc = 0;
	}
	__atomic_store_n(&quit, 1, __ATOMIC_RELEASE);
	if (write(quitfd, &one, sizeof one) == -1)
		log_warn("eventfd");
	for (i = 0; i < started; i++)
		if (pthread_join(tid[i], &failed) == 0 && failed != NULL)
			rc = -1;
out:
	for (i = 0; i < made; i++)
		worker_free((void *)(ws + i * c->size));
	free(ws);
	free(tid);
	if (quitfd != -1)
		close(quitfd);
	return rc;
}
