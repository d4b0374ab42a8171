/*
 * model_prefork.c: a static pool of processes, forked before any client.
 *
 * --workers processes each run the iterative loop (acceptor.c) on every
 * listening socket: poll, accept one, wait the delay (a timer: the loop
 * still turns, answers a scrape and beats for the watchdog), serve it,
 * again.  The fork is paid once, not per client, and N slow replies
 * overlap.  Every worker is woken for each new connection and all but one
 * find the queue empty: the thundering herd, harmless at this size (the
 * event model avoids it).  With --reuseport every worker polls every
 * socket of the group, so no queue is left unread while its worker is
 * being replaced.
 *
 * The parent serves nobody: it replaces a worker that dies (pool.c), and
 * on a stop tells each by pid to finish and exit.
 */
#include <stddef.h>

#include "log.h"
#include "model.h"
#include "pool.h"

static int
work(void *arg, int i)
{
	struct server	*srv = arg;

	/* Stats slot 0 is the parent's. */
	return pool_work(srv, &srv->stats[1 + i], NULL, NULL);
}

/* Fill every slot that may be filled; return how long until the next. */
static int
tend(struct pool *p, void *arg)
{
	int	 i;

	while ((i = pool_free_slot(p)) != -1)
		if (pool_spawn(p, i, work, arg) == -1)
			break;
	return pool_next_ms(p);
}

static int
run(struct server *srv)
{
	struct pool	 p;
	int		 rc;

	if (pool_init(&p, srv, &srv->stats[0], srv->workers, "worker") ==
	    -1) {
		log_warn("prefork");
		return -1;
	}
	p.slots = &srv->stats[1];
	rc = pool_run(&p, tend, srv);
	pool_free(&p);
	return rc;
}

static size_t
nslots(const struct server *srv)
{
	/* Slot 0 is the parent's, then one per worker. */
	return 1 + (size_t)srv->workers;
}

const struct model model_prefork = {
	.name = "prefork",
	.summary = "a fixed pool of --workers processes, each accepting",
	.caps = MODEL_WORKERS | MODEL_DELAY | MODEL_REUSEPORT,
	.run = run,
	.nslots = nslots,
};
