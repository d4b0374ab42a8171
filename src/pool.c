/*
 * pool.c: child processes in slots, from fork to the last waitpid.
 *
 * Children are always told to stop by pid, never by process group, and
 * every one is reaped, so none is left a zombie.  The parent never blocks
 * here but in pool_stop, and that is bounded.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acceptor.h"
#include "admit.h"
#include "log.h"
#include "notify.h"
#include "pool.h"
#include "serve.h"
#include "sig.h"
#include "supervise.h"
#include "util.h"

int
pool_init(struct pool *p, const struct server *srv, struct stats *st,
    int n, const char *what)
{
	p->srv = srv;
	p->st = st;
	p->slots = NULL;
	p->what = what;
	p->n = n;
	p->alive = p->failed = p->stopping = 0;
	p->pid = calloc((size_t)n, sizeof *p->pid);
	p->at = calloc((size_t)n, sizeof *p->at);
	p->held = calloc((size_t)n, sizeof *p->held);
	/* Shared: a child counts in it, its parent reads it at the reap. */
	p->own = mmap(NULL, (size_t)n * sizeof *p->own, PROT_READ |
	    PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p->own == MAP_FAILED)
		p->own = NULL;
	if (p->pid == NULL || p->at == NULL || p->held == NULL ||
	    p->own == NULL) {
		pool_free(p);
		return -1;
	}
	return 0;
}

void
pool_free(struct pool *p)
{
	free(p->pid);
	free(p->at);
	free(p->held);
	if (p->own != NULL)
		munmap(p->own, (size_t)p->n * sizeof *p->own);
	p->pid = NULL;
	p->at = NULL;
	p->held = NULL;
	p->own = NULL;
}

pid_t
pool_spawn(struct pool *p, int i, int (*fn)(void *, int), void *arg)
{
	sigset_t	 all, old;
	pid_t		 pid, parent = getpid();

	/*
	 * Signals wait until the child has its own pipe: one caught before
	 * sig_init would go into the parent's pipe and be lost to the child.
	 */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((pid = fork()) == 0) {
		if (sig_init() == -1) {
			log_warn("%s %d: signals", p->what, i);
			_exit(POOL_EXIT_RETRY);
		}
		/* Asked before the unblock, so no death slips between. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		/*
		 * A child that shares its parent's slot counts what it
		 * closes in its own, so that the reap knows whether a
		 * connection handed to it was closed before it died.
		 */
		if (p->slots == NULL)
			stats_slot(&p->own[i]);
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (getppid() != parent)
			_exit(0);
		_exit(fn(arg, i));
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	p->at[i] = util_now_ms();
	if (pid == -1) {
		log_limited("%s: fork", p->what);
		stats_count(p->st, STAT_ERRORS, 1);
		p->at[i] += POOL_REST_MS;
		return -1;
	}
	p->pid[i] = pid;
	p->alive++;
	return pid;
}

void
pool_handed(struct pool *p, int i)
{
	p->held[i]++;
}

int
pool_free_slot(const struct pool *p)
{
	long long	 now = util_now_ms();
	int		 i;

	for (i = 0; i < p->n; i++)
		if (p->pid[i] == 0 && p->at[i] <= now)
			return i;
	return -1;
}

int
pool_next_ms(const struct pool *p)
{
	long long	 now = util_now_ms(), next = -1;
	int		 i;

	for (i = 0; i < p->n; i++)
		if (p->pid[i] == 0 && p->at[i] > now &&
		    (next == -1 || p->at[i] < next))
			next = p->at[i];
	return next == -1 ? -1 : (int)(next - now);
}

/*
 * The child in slot i is gone: nothing of it can close a connection any
 * more, so what it held is counted closed, as its limit places are given
 * back.  With slots, it counted its own accepts and closes in its slot;
 * without, it was handed p->held[i] connections counted in its parent's
 * slot, and counted those it closed in p->own[i], which goes into its
 * parent's slot now.
 */
static void
give_back(struct pool *p, int i)
{
	unsigned long long	 closed;
	int			 s, b;

	if (p->slots != NULL) {
		stats_settle(&p->slots[i]);
		return;
	}
	closed = __atomic_load_n(&p->own[i].v[STAT_CLOSED], __ATOMIC_RELAXED);
	if ((unsigned long long)p->held[i] > closed)
		stats_count(p->st, STAT_CLOSED,
		    (unsigned long long)p->held[i] - closed);
	for (s = 0; s < STAT_N; s++)
		stats_count(p->st, s, p->own[i].v[s]);
	for (b = 0; b < METRICS_NBUCKETS; b++)
		__atomic_fetch_add(&p->st->bucket[b], p->own[i].bucket[b],
		    __ATOMIC_RELAXED);
	__atomic_fetch_add(&p->st->latency_us, p->own[i].latency_us,
	    __ATOMIC_RELAXED);
	memset(&p->own[i], 0, sizeof p->own[i]);
	p->held[i] = 0;
}

/* Say how the child in slot i ended, unless it was asked to. */
static void
judge(struct pool *p, int i, pid_t pid, int status)
{
	long long	 now = util_now_ms();

	/* One that fails young rests before the slot is filled again. */
	if (status != 0 && now - p->at[i] < POOL_REST_MS)
		p->at[i] += POOL_REST_MS;
	else
		p->at[i] = now;
	if (p->stopping)
		return;
	if (WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM)
		log_warnx("%s %d (pid %ld) killed by signal %d", p->what, i,
		    (long)pid, WTERMSIG(status));
	else if (WIFEXITED(status) &&
	    WEXITSTATUS(status) == POOL_EXIT_RETRY)
		log_warnx("%s %d (pid %ld) could not start; trying again",
		    p->what, i, (long)pid);
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		log_warnx("%s %d (pid %ld) failed; stopping", p->what, i,
		    (long)pid);
		p->failed = 1;
	}
}

int
pool_reap(struct pool *p)
{
	pid_t	 pid;
	int	 i, status, n = 0;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		admit_reaped(pid);
		for (i = 0; i < p->n && p->pid[i] != pid; i++)
			;
		if (i == p->n)
			continue;
		p->pid[i] = 0;
		p->alive--;
		n++;
		give_back(p, i);
		/* A killed worker's loop no longer turns, and never will. */
		if (p->slots != NULL) {
			stats_beat(&p->slots[i], 0);
			stats_gauge(&p->slots[i], STAT_WORKERS, 0);
		}
		judge(p, i, pid, status);
	}
	return n;
}

static int
stop_step(void *arg, int sigs)
{
	struct pool	*p = arg;

	(void)sigs;
	pool_reap(p);
	return p->alive == 0 ? SUPERVISE_DONE : -1;
}

void
pool_stop(struct pool *p)
{
	int	 i;

	p->stopping = 1;
	for (i = 0; i < p->n; i++)
		if (p->pid[i] != 0)
			kill(p->pid[i], SIGTERM);
	if (supervise(p->srv, -1, supervise_stop_ms(p->srv), stop_step,
	    p) == 0)
		return;
	log_warnx("%d %ss did not stop; killing them", p->alive, p->what);
	for (i = 0; i < p->n; i++) {
		if (p->pid[i] == 0)
			continue;
		kill(p->pid[i], SIGKILL);
		while (waitpid(p->pid[i], NULL, 0) == -1 && errno == EINTR)
			;
		admit_reaped(p->pid[i]);
		p->pid[i] = 0;
		give_back(p, i);
	}
	p->alive = 0;
}

/* What pool_run's loop needs: the pool, and the model's tend. */
struct tending {
	struct pool	*p;
	int		(*tend)(struct pool *, void *);
	void		*arg;
};

/* Reap what ended; until a stop or a failure, beat and tend the slots. */
static int
run_step(void *arg, int sigs)
{
	struct tending	*t = arg;
	struct pool	*p = t->p;

	if (sigs & SIG_CHILD)
		pool_reap(p);
	if (sigs & SIG_STOP || p->failed)
		return SUPERVISE_DONE;
	stats_beat(p->st, 1);
	notify_watchdog(stats_fresh, (void *)p->srv);
	return t->tend(p, t->arg);
}

int
pool_run(struct pool *p, int (*tend)(struct pool *, void *), void *arg)
{
	struct tending	 t;

	t.p = p;
	t.tend = tend;
	t.arg = arg;
	supervise(p->srv, -1, -1, run_step, &t);
	pool_stop(p);
	return p->failed ? -1 : 0;
}

int
pool_work(const struct server *srv, struct stats *st,
    const struct acceptor_ops *ops, void *arg)
{
	struct acceptor	 a;
	int		 rc;

	if (acceptor_init(&a, srv, st, ops, arg) == -1) {
		log_warn("worker");
		return POOL_EXIT_RETRY;
	}
	rc = acceptor_run(&a);
	acceptor_free(&a);
	stats_beat(st, 0);
	return rc == 0 ? 0 : 1;
}
