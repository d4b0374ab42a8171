/*
 * model_dynamic.c: a pool that grows and shrinks, as Apache's prefork.
 *
 * Each worker runs the prefork loop (poll, accept one, wait the delay,
 * serve blocking).  The parent serves nobody: once a second it counts the
 * idle workers on a scoreboard and keeps them between --min-spare and
 * --max-spare, never more than --max-workers processes in all.  Short of
 * idle workers, it forks 1, then 2, 4, ... up to 32 a second while the
 * shortage lasts, so that a sudden crowd is met quickly without a fork
 * storm for one client; with too many idle, it stops one a second, so that
 * the pool shrinks slowly and a second crowd finds it still there.
 *
 * The scoreboard is shared memory, one entry per slot: the worker marks
 * itself busy while it serves and idle after, with an atomic compare and
 * swap so that it never undoes the parent's "dying" mark; the parent
 * alone writes the pid and frees the slot.  No lock: a worker killed at
 * any moment leaves nothing held, and its slot is freed when the parent
 * reaps it.  Stats slot 1 + i belongs to scoreboard slot i.
 *
 * With --delay, a worker takes a datagram off the queue before it waits,
 * as in model_prefork.c, and is busy while it waits.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
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

#define DGRAM_TURN	64	/* datagrams a listener gets per turn */
#define TICK_MS		1000	/* the pool is looked after this often */
#define MAX_SPAWN_RATE	32	/* most workers forked in one tick */
#define BUSY_RATE	8	/* from this rate on, say that it is busy */
#define STOP_GRACE_MS	5000	/* beyond --linger, before SIGKILL */

enum {
	SLOT_FREE,		/* no process */
	SLOT_IDLE,		/* waiting for a client (or just forked) */
	SLOT_BUSY,		/* serving */
	SLOT_DYING,		/* told to stop by the parent */
};

struct board {
	pid_t			 pid;		/* the parent's to write */
	int			 state;
	unsigned long long	 served;	/* the worker's to write */
} __attribute__((aligned(64)));

struct pool {
	struct server	*srv;
	struct board	*sb;		/* max slots, shared */
	int		 max;
	int		 min_spare;
	int		 max_spare;
	int		 alive;
	int		 rate;		/* forks in the next tick, if short */
	int		 stopping;
	int		 failed;	/* a worker hit a fatal error */
	int		 full_said;	/* "pool is full" logged */
};

/* from -> to, unless the parent has marked the slot otherwise. */
static void
mark(struct board *b, int from, int to)
{
	__atomic_compare_exchange_n(&b->state, &from, to, 0,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

static void
served(struct board *b, int n)
{
	__atomic_fetch_add(&b->served, (unsigned long long)n,
	    __ATOMIC_RELAXED);
}

/* Returns -1 when accept failed in a way that must stop the worker. */
static int
accept_one(struct server *srv, size_t i, int *spare, long long *paused,
    struct board *b, struct stats *st)
{
	struct listener		*l = &srv->ls[i];
	struct sockaddr_storage	 peer;
	int			 fd, pause;

	fd = serve_accept(l, l->fd, &peer, spare, st, &pause);
	if (fd == -1) {
		if (pause > 0)
			paused[i] = util_now_ms() + pause;
		return pause == -1 ? -1 : 0;
	}
	mark(b, SLOT_IDLE, SLOT_BUSY);
	serve_sleep(srv->delay_ms);
	serve_stream_blocking(srv, l, fd, &peer, st);
	served(b, 1);
	mark(b, SLOT_BUSY, SLOT_IDLE);
	return 0;
}

static void
serve_udp(struct server *srv, const struct listener *l, struct board *b,
    struct stats *st)
{
	struct sockaddr_storage	 from;
	socklen_t		 fromlen;
	char			 junk[8];
	int			 n = 1;

	/* The request's bytes are never needed; empty: another took it. */
	if (srv->delay_ms > 0 && net_recvfrom(l->fd, junk, sizeof junk,
	    MSG_DONTWAIT, &from, &fromlen) == -1)
		return;
	mark(b, SLOT_IDLE, SLOT_BUSY);
	if (srv->delay_ms > 0) {
		serve_sleep(srv->delay_ms);
		serve_datagram_to(srv, l, l->fd, &from, fromlen, st);
	} else
		n = serve_datagrams(srv, l, l->fd, DGRAM_TURN, st);
	served(b, n);
	mark(b, SLOT_BUSY, SLOT_IDLE);
}

/* One worker's loop, until a stop; returns its exit status. */
static int
work(struct server *srv, struct board *b, struct stats *st)
{
	struct pollfd	*pfd;
	long long	*paused, now, wake;
	size_t		 i;
	int		 spare, rc = 0, timeout, ready;

	pfd = calloc(1 + srv->nls, sizeof *pfd);
	paused = calloc(srv->nls, sizeof *paused);
	if (pfd == NULL || paused == NULL) {
		log_warn("dynamic worker");
		return 1;
	}
	/* The spare fd of the EMFILE trick is per process. */
	spare = net_spare_open();
	while (!sig_stopping()) {
		now = util_now_ms();
		wake = -1;
		pfd[0].fd = sig_fd();
		pfd[0].events = POLLIN;
		for (i = 0; i < srv->nls; i++) {
			pfd[1 + i].fd = srv->ls[i].fd;
			pfd[1 + i].events = POLLIN;
			if (paused[i] > now) {
				pfd[1 + i].fd = -1;
				if (wake == -1 || paused[i] < wake)
					wake = paused[i];
			}
		}
		timeout = wake == -1 ? -1 : (int)(wake - now);
		if ((ready = net_poll(pfd, 1 + srv->nls, timeout)) == -1) {
			log_warn("poll");
			rc = 1;
			break;
		}
		/* Interrupted: revents were not written, so none is news. */
		if (ready == 0)
			continue;
		if (pfd[0].revents & POLLIN && model_signals(srv) & SIG_STOP)
			break;
		for (i = 0; i < srv->nls && !sig_stopping(); i++) {
			if (pfd[1 + i].fd == -1 ||
			    !(pfd[1 + i].revents & POLLIN))
				continue;
			if (srv->ls[i].type == SOCK_DGRAM)
				serve_udp(srv, &srv->ls[i], b, st);
			else if (accept_one(srv, i, &spare, paused, b,
			    st) == -1) {
				rc = 1;
				break;
			}
		}
		if (rc != 0)
			break;
	}
	if (spare != -1)
		close(spare);
	free(pfd);
	free(paused);
	return rc;
}

/* Fork a worker into free slot i.  Returns -1 if fork failed. */
static int
spawn(struct pool *p, int i)
{
	sigset_t	 all, old;
	pid_t		 pid, parent = getpid();

	/* Idle from now: a worker still starting will take a client soon. */
	__atomic_store_n(&p->sb[i].state, SLOT_IDLE, __ATOMIC_RELAXED);
	/* Held until the worker has a signal pipe of its own (sig.h). */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((pid = fork()) == 0) {
		if (sig_init() == -1) {
			log_warn("dynamic worker: signals");
			_exit(1);
		}
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (getppid() != parent)
			_exit(0);
		_exit(work(p->srv, &p->sb[i], &p->srv->stats[1 + i]));
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid == -1) {
		__atomic_store_n(&p->sb[i].state, SLOT_FREE, __ATOMIC_RELAXED);
		log_warn("dynamic: fork");
		serve_count(&p->srv->stats[0], STAT_ERRORS, 1);
		return -1;
	}
	p->sb[i].pid = pid;
	p->alive++;
	return 0;
}

static void
reap(struct pool *p)
{
	struct board	*b;
	pid_t		 pid;
	int		 i, status, state;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < p->max && p->sb[i].pid != pid; i++)
			;
		if (i == p->max)
			continue;
		b = &p->sb[i];
		state = __atomic_load_n(&b->state, __ATOMIC_RELAXED);
		b->pid = 0;
		__atomic_store_n(&b->state, SLOT_FREE, __ATOMIC_RELAXED);
		p->alive--;
		if (p->stopping)
			continue;
		if (WIFSIGNALED(status))
			log_warnx("worker %d (pid %ld) killed by signal %d",
			    i, (long)pid, WTERMSIG(status));
		else if (WEXITSTATUS(status) != 0) {
			log_warnx("worker %d (pid %ld) failed; stopping", i,
			    (long)pid);
			p->failed = 1;
		} else if (state != SLOT_DYING)
			log_info("worker %d (pid %ld) stopped", i, (long)pid);
	}
}

/* Once a tick: fork or stop workers to keep the idle ones in bounds. */
static void
maintain(struct pool *p)
{
	int	 i, idle = 0, total = 0, last_idle = -1, state, n;

	for (i = 0; i < p->max; i++) {
		state = __atomic_load_n(&p->sb[i].state, __ATOMIC_RELAXED);
		if (state != SLOT_FREE)
			total++;
		if (state == SLOT_IDLE) {
			idle++;
			last_idle = i;
		}
	}
	if (idle > p->max_spare) {
		/* One a tick; the one in the highest slot, to keep them low. */
		state = SLOT_IDLE;
		if (__atomic_compare_exchange_n(&p->sb[last_idle].state,
		    &state, SLOT_DYING, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			kill(p->sb[last_idle].pid, SIGTERM);
		p->rate = 1;
		return;
	}
	if (idle >= p->min_spare) {
		p->rate = 1;
		p->full_said = 0;
		return;
	}
	if (total >= p->max) {
		if (!p->full_said)
			log_warnx("all %d workers busy (--max-workers)",
			    p->max);
		p->full_said = 1;
		return;
	}
	if (p->rate >= BUSY_RATE)
		log_info("busy: forking %d workers, %d idle of %d", p->rate,
		    idle, total);
	for (i = n = 0; i < p->max && n < p->rate && total + n < p->max; i++)
		if (__atomic_load_n(&p->sb[i].state, __ATOMIC_RELAXED) ==
		    SLOT_FREE) {
			if (spawn(p, i) == -1)
				break;
			n++;
		}
	/* Still short next tick?  Then twice as many. */
	if (p->rate < MAX_SPAWN_RATE)
		p->rate *= 2;
}

/* SIGTERM each worker by pid, wait a bounded time, SIGKILL the rest. */
static void
stop_all(struct pool *p)
{
	struct pollfd	 pfd;
	long long	 deadline;
	int		 i, left, ready;

	p->stopping = 1;
	for (i = 0; i < p->max; i++)
		if (p->sb[i].pid != 0)
			kill(p->sb[i].pid, SIGTERM);
	deadline = util_now_ms() + p->srv->linger_ms + STOP_GRACE_MS;
	pfd.fd = sig_fd();
	pfd.events = POLLIN;
	while (p->alive > 0 && (left = (int)(deadline - util_now_ms())) > 0) {
		if ((ready = net_poll(&pfd, 1, left)) == -1) {
			log_warn("poll");
			break;
		}
		if (ready == 0)
			continue;
		if (pfd.revents & POLLIN)
			model_signals(p->srv);
		reap(p);
	}
	for (i = 0; i < p->max; i++) {
		if (p->sb[i].pid == 0)
			continue;
		log_warnx("worker %d (pid %ld) did not stop; killing it", i,
		    (long)p->sb[i].pid);
		kill(p->sb[i].pid, SIGKILL);
		while (waitpid(p->sb[i].pid, NULL, 0) == -1 && errno == EINTR)
			;
		p->sb[i].pid = 0;
	}
	p->alive = 0;
}

static int
min_int(int a, int b)
{
	return a < b ? a : b;
}

static int
run(struct server *srv)
{
	struct pool	 p = { .srv = srv, .rate = 1 };
	struct pollfd	 pfd;
	long long	 tick, now;
	size_t		 bytes;
	int		 i, seen, start, ready;

	p.max = srv->max_workers;
	p.min_spare = min_int(srv->min_spare, p.max);
	p.max_spare = min_int(srv->max_spare, p.max);
	start = min_int(srv->workers, p.max);
	bytes = (size_t)p.max * sizeof *p.sb;
	p.sb = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p.sb == MAP_FAILED) {
		log_warn("dynamic: scoreboard");
		return -1;
	}
	for (i = 0; i < start; i++)
		if (spawn(&p, i) == -1)
			break;

	pfd.fd = sig_fd();
	pfd.events = POLLIN;
	tick = util_now_ms() + TICK_MS;
	while (!p.failed) {
		now = util_now_ms();
		if (now >= tick) {
			maintain(&p);
			tick = now + TICK_MS;
		}
		ready = net_poll(&pfd, 1, (int)(tick - now));
		if (ready == -1) {
			log_warn("poll");
			p.failed = 1;
			break;
		}
		if (ready == 0 || !(pfd.revents & POLLIN))
			continue;
		seen = model_signals(srv);
		if (seen & SIG_CHILD)
			reap(&p);
		if (seen & SIG_STOP)
			break;
	}
	stop_all(&p);
	munmap(p.sb, bytes);
	return p.failed ? -1 : 0;
}

static size_t
nslots(const struct server *srv)
{
	/* Slot 0 is the parent's, then one per scoreboard slot. */
	return 1 + (size_t)srv->max_workers;
}

const struct model model_dynamic = {
	.name = "dynamic",
	.summary = "a pool kept between --min-spare and --max-spare idle",
	.run = run,
	.nslots = nslots,
};
