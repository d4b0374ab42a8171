/*
 * model_prefork.c: a static pool of processes, forked before any client.
 *
 * --workers processes each run the iterative loop on the same listeners:
 * poll, accept one, wait the delay, serve it blocking, again.  The fork is
 * paid once, not per client, and N slow replies overlap.  Every worker is
 * woken for each new connection and all but one find the queue empty: the
 * thundering herd, harmless at this size (the event model avoids it).
 * Datagrams likewise: with --delay a worker takes one off the queue first
 * and only then waits, so that the others, finding the queue empty, go
 * back to waiting for the next client instead of waiting out a delay.
 *
 * The parent serves nobody.  It replaces a worker that dies (and says
 * so), and on a stop tells each worker by pid to finish its reply and
 * exit, waits for them a bounded time, then kills what is left.  A worker
 * whose parent dies stops as well, so that no pool outlives its daemon.
 */
#include <sys/types.h>
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
#define RESPAWN_MS	1000	/* a worker is replaced at most this often */
#define STOP_GRACE_MS	5000	/* beyond --linger, before SIGKILL */

struct worker {
	pid_t		 pid;		/* 0: none running */
	long long	 started;	/* ms, monotonic */
	long long	 respawn;	/* when pid is 0: fork again at */
};

struct pool {
	struct server	*srv;
	struct worker	*w;
	int		 n;
	int		 alive;
	int		 stopping;
	int		 failed;	/* a worker hit a fatal error */
};

/* Returns -1 when accept failed in a way that must stop the worker. */
static int
accept_one(struct server *srv, size_t i, int *spare, long long *paused,
    struct stats *st)
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
	serve_sleep(srv->delay_ms);
	serve_stream_blocking(srv, l, fd, &peer, st);
	return 0;
}

static void
serve_udp(struct server *srv, const struct listener *l, struct stats *st)
{
	struct sockaddr_storage	 from;
	socklen_t		 fromlen;
	char			 junk[8];

	if (srv->delay_ms == 0) {
		serve_datagrams(srv, l, l->fd, DGRAM_TURN, st);
		return;
	}
	/* The request's bytes are never needed; empty: another took it. */
	if (net_recvfrom(l->fd, junk, sizeof junk, MSG_DONTWAIT, &from,
	    &fromlen) == -1)
		return;
	serve_sleep(srv->delay_ms);
	serve_datagram_to(srv, l, l->fd, &from, fromlen, st);
}

/* One worker's loop, until a stop; returns its exit status. */
static int
work(struct server *srv, struct stats *st)
{
	struct pollfd	*pfd;
	long long	*paused, now, wake;
	size_t		 i;
	int		 spare, rc = 0, timeout, ready;

	pfd = calloc(1 + srv->nls, sizeof *pfd);
	paused = calloc(srv->nls, sizeof *paused);
	if (pfd == NULL || paused == NULL) {
		log_warn("prefork worker");
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
		/* A stop during a reply is seen before the next one. */
		for (i = 0; i < srv->nls && !sig_stopping(); i++) {
			if (pfd[1 + i].fd == -1 ||
			    !(pfd[1 + i].revents & POLLIN))
				continue;
			if (srv->ls[i].type == SOCK_DGRAM)
				serve_udp(srv, &srv->ls[i], st);
			else if (accept_one(srv, i, &spare, paused, st) == -1) {
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

static void
spawn(struct pool *p, int i)
{
	sigset_t	 all, old;
	pid_t		 pid, parent = getpid();

	/* Held until the worker has a signal pipe of its own (sig.h). */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((pid = fork()) == 0) {
		if (sig_init() == -1) {
			log_warn("prefork worker: signals");
			_exit(1);
		}
		/* Asked before the unblock, so no death slips between. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (getppid() != parent)
			_exit(0);
		_exit(work(p->srv, &p->srv->stats[1 + i]));
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	p->w[i].started = util_now_ms();
	if (pid == -1) {
		log_warn("prefork: fork");
		serve_count(&p->srv->stats[0], STAT_ERRORS, 1);
		p->w[i].respawn = p->w[i].started + RESPAWN_MS;
		return;
	}
	p->w[i].pid = pid;
	p->alive++;
}

static void
reap(struct pool *p)
{
	struct worker	*w;
	pid_t		 pid;
	int		 i, status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < p->n && p->w[i].pid != pid; i++)
			;
		if (i == p->n)
			continue;
		w = &p->w[i];
		w->pid = 0;
		p->alive--;
		if (p->stopping)
			continue;
		if (WIFSIGNALED(status))
			log_warnx("worker %d (pid %ld) killed by signal %d; "
			    "replacing it", i, (long)pid, WTERMSIG(status));
		else if (WEXITSTATUS(status) != 0) {
			log_warnx("worker %d (pid %ld) failed; stopping", i,
			    (long)pid);
			p->failed = 1;
		} else
			log_info("worker %d (pid %ld) stopped; replacing it",
			    i, (long)pid);
		/* A worker that dies young is not replaced in a loop. */
		w->respawn = w->started + RESPAWN_MS;
	}
}

/* Fork the workers that are due; return poll's timeout till the next. */
static int
respawn(struct pool *p)
{
	long long	 now = util_now_ms(), wake = -1;
	int		 i;

	for (i = 0; i < p->n; i++) {
		if (p->w[i].pid != 0)
			continue;
		if (p->w[i].respawn <= now)
			spawn(p, i);
		if (p->w[i].pid == 0 &&
		    (wake == -1 || p->w[i].respawn < wake))
			wake = p->w[i].respawn;
	}
	if (wake == -1)
		return -1;
	return wake > now ? (int)(wake - now) : 0;
}

/* SIGTERM each worker by pid, wait a bounded time, SIGKILL the rest. */
static void
stop_all(struct pool *p)
{
	struct pollfd	 pfd;
	long long	 deadline;
	int		 i, left, ready;

	p->stopping = 1;
	for (i = 0; i < p->n; i++)
		if (p->w[i].pid != 0)
			kill(p->w[i].pid, SIGTERM);
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
	for (i = 0; i < p->n; i++) {
		if (p->w[i].pid == 0)
			continue;
		log_warnx("worker %d (pid %ld) did not stop; killing it", i,
		    (long)p->w[i].pid);
		kill(p->w[i].pid, SIGKILL);
		while (waitpid(p->w[i].pid, NULL, 0) == -1 && errno == EINTR)
			;
		p->w[i].pid = 0;
	}
	p->alive = 0;
}

static int
run(struct server *srv)
{
	struct pool	 p = { .srv = srv, .n = srv->workers };
	struct pollfd	 pfd;
	int		 seen, ready;

	if ((p.w = calloc((size_t)p.n, sizeof *p.w)) == NULL) {
		log_warn("prefork");
		return -1;
	}
	pfd.fd = sig_fd();
	pfd.events = POLLIN;
	while (!p.failed) {
		if ((ready = net_poll(&pfd, 1, respawn(&p))) == -1) {
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
	free(p.w);
	return p.failed ? -1 : 0;
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
	.run = run,
	.nslots = nslots,
};
