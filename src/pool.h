/*
 * pool.h: the child processes of the process models (fork, prefork,
 * dynamic), in numbered slots.
 *
 * Spawning (with signals held until the child has a pipe of its own, and
 * the child told to stop if its parent dies), reaping (each child's limit
 * places and open connections given back, however it ended), the log of
 * an ending that was not
 * asked for, the pause before a slot is filled again, and the bounded stop
 * by pid with SIGKILL as the last resort: written once, here.
 *
 * A child's exit status says what its parent makes of its end: 0, a
 * clean stop; POOL_EXIT_RETRY, it could not start (out of fds for a
 * moment): the slot is filled again later; anything else, a failure of
 * our own: the pool fails, and the daemon stops with exit 1.
 */
#ifndef STAMP_POOL_H
#define STAMP_POOL_H

#include <sys/types.h>

#include "acceptor.h"
#include "serve.h"

#define POOL_EXIT_RETRY	75	/* EX_TEMPFAIL */
#define POOL_REST_MS	1000	/* a slot whose child died young waits */

struct pool {
	const struct server	*srv;
	struct stats		*st;		/* the parent's counters */
	struct stats		*slots;		/* each slot's, or NULL */
	struct stats		*own;		/* shared: without slots, what
						   each child counts as
						   closed */
	int			*held;		/* connections handed to the
						   child in each slot */
	const char		*what;		/* "worker", "child" */
	pid_t			*pid;		/* per slot; 0: free */
	long long		*at;		/* started at; if free, not
						   to be filled before */
	int			 n;
	int			 alive;
	int			 failed;	/* a child failed: stop */
	int			 stopping;
};

/* Ready n empty slots.  Returns 0, or -1 and errno. */
int	pool_init(struct pool *p, const struct server *srv, struct stats *st,
	    int n, const char *what);
void	pool_free(struct pool *p);

/*
 * Fork a child into free slot i to run fn(arg, i) and exit with what it
 * returns.  Returns the child's pid, or -1 if fork failed (counted,
 * logged, and the slot rests POOL_REST_MS).
 */
pid_t	pool_spawn(struct pool *p, int i, int (*fn)(void *, int), void *arg);

/*
 * The parent handed the child in slot i a connection it had accepted and
 * counted (fork): if the child dies before it closes it, the reap counts
 * it closed.  A pool with slots needs none of this: each child counts its
 * own accepts there.
 */
void	pool_handed(struct pool *p, int i);

/* A free slot that may be filled now, or -1. */
int	pool_free_slot(const struct pool *p);

/*
 * Reap every child that has ended (SIGCHLD came): its slot is freed, its
 * limit places given back, and the connections it still held counted
 * closed (the open gauge: those counted in its slot of p->slots, or
 * handed to it by pool_handed).  Returns how many.
 */
int	pool_reap(struct pool *p);

/*
 * Milliseconds until the next rested slot may be filled, -1 if none rests.
 */
int	pool_next_ms(const struct pool *p);

/*
 * The parent's loop: wait for signals, reap what ended, and let tend(p,
 * arg) fill or trim the slots after each wake; tend returns how long it
 * may wait until it is called again (-1: for ever).  Until a stop, then
 * pool_stop.  Returns 0, or -1 after a failure (logged).
 */
int	pool_run(struct pool *p, int (*tend)(struct pool *, void *),
	    void *arg);

/*
 * A worker's life: the acceptor on every listener, counting into st,
 * until a stop.  ops and arg as acceptor_init's.  Returns an exit status.
 */
int	pool_work(const struct server *srv, struct stats *st,
	    const struct acceptor_ops *ops, void *arg);

/*
 * The stop: SIGTERM each child by pid, wait for them at most
 * supervise_stop_ms, then SIGKILL by pid what is left.
 */
void	pool_stop(struct pool *p);

#endif /* STAMP_POOL_H */
