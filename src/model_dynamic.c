/*
 * model_dynamic.c: a pool that grows and shrinks, as Apache's prefork.
 *
 * Each worker runs the prefork loop (pool_work); the parent serves nobody:
 * once a second it counts the idle workers on a scoreboard and keeps them
 * between --min-spare and --max-spare, never more than --max-workers
 * processes in all, and never none.  Short of idle workers, it forks 1,
 * then 2, 4, ... up to 32 a second while the shortage lasts, so that a
 * sudden crowd is met quickly without a fork storm for one client; with
 * too many idle, it stops one a second, so that the pool shrinks slowly
 * and a second crowd finds it still there.
 *
 * The scoreboard is shared memory, one entry per slot of the pool: the
 * worker marks itself busy while it cannot take a client, that is while it
 * waits out --delay (the acceptor's busy hook: without a delay a worker
 * answers, and waits on its drains, without ever leaving its poll), and
 * idle after, with a compare and swap so that it never undoes the
 * parent's "dying" mark; the parent alone frees a slot, once it has
 * reaped its worker.  No lock: a worker killed at any moment leaves
 * nothing held.
 */
#include <sys/types.h>
#include <sys/mman.h>

#include <signal.h>
#include <stddef.h>

#include "acceptor.h"
#include "log.h"
#include "model.h"
#include "pool.h"
#include "util.h"

#define TICK_MS		1000	/* the pool is looked after this often */
#define MAX_SPAWN_RATE	32	/* most workers forked in one tick */
#define BUSY_RATE	8	/* from this rate on, say that it is busy */

enum {
	SLOT_FREE,		/* no process */
	SLOT_IDLE,		/* waiting for a client (or just forked) */
	SLOT_BUSY,		/* serving */
	SLOT_DYING,		/* told to stop by the parent */
};

struct board {
	int		 state;
} __attribute__((aligned(64)));

struct dynamic {
	struct server	*srv;
	struct board	*sb;		/* a slot each, shared */
	int		 min_spare;
	int		 max_spare;
	int		 start;		/* forks in the first tick */
	int		 rate;		/* forks in the next tick, if short */
	int		 full_said;	/* "pool is full" logged */
	long long	 tick;
};

/* from -> to, unless the parent has marked the slot otherwise. */
static void
mark(struct board *b, int from, int to)
{
	__atomic_compare_exchange_n(&b->state, &from, to, 0,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

static void
busy(void *arg, int on)
{
	mark(arg, on ? SLOT_IDLE : SLOT_BUSY, on ? SLOT_BUSY : SLOT_IDLE);
}

static const struct acceptor_ops worker_ops = { .busy = busy };

static int
work(void *arg, int i)
{
	struct dynamic	*d = arg;

	return pool_work(d->srv, &d->srv->stats[1 + i], &worker_ops,
	    &d->sb[i]);
}

static int
state(const struct dynamic *d, int i)
{
	return __atomic_load_n(&d->sb[i].state, __ATOMIC_RELAXED);
}

static void
set_state(struct dynamic *d, int i, int to)
{
	__atomic_store_n(&d->sb[i].state, to, __ATOMIC_RELAXED);
}

/* Fork up to d->rate workers; the rate doubles only if all were had. */
static void
grow(struct pool *p, struct dynamic *d, int total)
{
	int	 i, n;

	if (d->rate >= BUSY_RATE)
		log_info("busy: forking %d workers, %d in all", d->rate,
		    total);
	for (n = 0; n < d->rate && total + n < p->n; n++) {
		if ((i = pool_free_slot(p)) == -1)
			break;
		/* Idle from now: a worker still starting takes a client soon. */
		set_state(d, i, SLOT_IDLE);
		if (pool_spawn(p, i, work, d) == -1) {
			set_state(d, i, SLOT_FREE);
			d->rate = 1;
			return;
		}
	}
	if (d->rate < MAX_SPAWN_RATE)
		d->rate *= 2;
}

/* Stop the idle worker in the highest slot, to keep the pool low. */
static void
shrink(struct pool *p, struct dynamic *d, int last_idle)
{
	int	 from = SLOT_IDLE;

	if (__atomic_compare_exchange_n(&d->sb[last_idle].state, &from,
	    SLOT_DYING, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		kill(p->pid[last_idle], SIGTERM);
}

/* Once a tick: fork or stop workers to keep the idle ones in bounds. */
static void
maintain(struct pool *p, struct dynamic *d)
{
	int	 i, idle = 0, total = 0, last_idle = -1;

	for (i = 0; i < p->n; i++) {
		/* A slot is free once its worker is reaped, and only then. */
		if (p->pid[i] == 0)
			set_state(d, i, SLOT_FREE);
		if (state(d, i) != SLOT_FREE)
			total++;
		if (state(d, i) == SLOT_IDLE) {
			idle++;
			last_idle = i;
		}
	}
	d->full_said = d->full_said && total >= p->n;
	if (d->start > 0) {
		/*
		 * --workers at once; a shortage after that starts again from
		 * one, or the pool would start twice the size asked for.
		 */
		d->rate = d->start;
		d->start = 0;
		grow(p, d, total);
		d->rate = 1;
		return;
	}
	if (idle > d->max_spare)
		shrink(p, d, last_idle);
	if (idle > d->max_spare || (idle >= d->min_spare && total > 0)) {
		d->rate = 1;
		return;
	}
	if (total < p->n)
		grow(p, d, total);
	else if (!d->full_said) {
		log_warnx("all %d workers busy (--max-workers)", p->n);
		d->full_said = 1;
	}
}

static int
tend(struct pool *p, void *arg)
{
	struct dynamic	*d = arg;
	long long	 now = util_now_ms();

	if (now >= d->tick) {
		maintain(p, d);
		d->tick = now + TICK_MS;
	}
	return (int)(d->tick - now);
}

static int
min_int(int a, int b)
{
	return a < b ? a : b;
}

static int
run(struct server *srv)
{
	struct dynamic	 d = { .srv = srv, .rate = 1 };
	struct pool	 p;
	size_t		 bytes = (size_t)srv->max_workers * sizeof *d.sb;
	int		 rc;

	d.min_spare = min_int(srv->min_spare, srv->max_workers);
	d.max_spare = min_int(srv->max_spare, srv->max_workers);
	d.sb = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (d.sb == MAP_FAILED) {
		log_warn("dynamic: scoreboard");
		return -1;
	}
	if (pool_init(&p, srv, &srv->stats[0], srv->max_workers, "worker") ==
	    -1) {
		log_warn("dynamic");
		munmap(d.sb, bytes);
		return -1;
	}
	d.start = min_int(srv->workers, srv->max_workers);
	p.slots = &srv->stats[1];
	rc = pool_run(&p, tend, &d);
	pool_free(&p);
	munmap(d.sb, bytes);
	return rc;
}

static size_t
nslots(const struct server *srv)
{
	/* Slot 0 is the parent's, then one per slot of the pool. */
	return 1 + (size_t)srv->max_workers;
}

const struct model model_dynamic = {
	.name = "dynamic",
	.summary = "a pool kept between --min-spare and --max-spare idle",
	.caps = MODEL_WORKERS | MODEL_MAX_WORKERS | MODEL_SPARE |
	    MODEL_DELAY | MODEL_REUSEPORT,
	.run = run,
	.nslots = nslots,
};
