/*
 * model.c: the table of models, and what they all do with signals.
 */
#include <sys/eventfd.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acceptor.h"
#include "log.h"
#include "model.h"
#include "net.h"
#include "notify.h"
#include "sig.h"
#include "upgrade.h"
#include "util.h"

const struct model *const model_list[] = {
	&model_event,
	&model_iterative,
	&model_fork,
	&model_prefork,
	&model_dynamic,
	&model_threads,
	&model_uring,
	NULL
};

const struct model *
model_find(const char *name)
{
	size_t	 i;

	for (i = 0; model_list[i] != NULL; i++)
		if (strcmp(model_list[i]->name, name) == 0)
			return model_list[i];
	return NULL;
}

int
model_signals(const struct server *srv)
{
	static int	 said;
	int		 seen = sig_take();

	if (seen & SIG_STATS)
		stats_report(srv);
	if (seen & SIG_RELOAD)
		log_reopen();
	/* Checked here, before anything stops; a child takes no notice. */
	if (seen & SIG_UPGRADE && upgrade_ask() == 0)
		seen |= SIG_STOP;
	/* An upgrade's stop is no stop to systemd: it said RELOADING=1. */
	if (seen & SIG_STOP && sig_stopping() && !said) {
		notify("STOPPING=1");
		said = 1;
	}
	return seen;
}

int
model_sleep(const struct server *srv, int ms)
{
	long long	 deadline = util_now_ms() + ms;
	int		 left, seen = 0;

	while (!(seen & SIG_STOP) &&
	    (left = (int)(deadline - util_now_ms())) > 0)
		if (net_wait(sig_fd(), POLLIN, left) == 1)
			seen |= model_signals(srv);
	return seen;
}

int
model_wait_failed(const char *what, int err, long long *since,
    struct stats *st)
{
	long long	 now = util_now_ms();

	errno = err;
	if (err != ENOMEM && err != EAGAIN && err != ENOBUFS) {
		log_warn("%s", what);
		return -1;
	}
	stats_count(st, STAT_ERRORS, 1);
	log_limited("%s", what);
	if (*since == 0)
		*since = now;
	if (now - *since > MODEL_GIVE_UP_MS) {
		log_warnx("%s: failing for %d s: giving up", what,
		    MODEL_GIVE_UP_MS / 1000);
		return -1;
	}
	return MODEL_RETRY_MS;
}

int
model_stop_ms(const struct server *srv)
{
	return 2 * srv->linger_ms + MODEL_STOP_GRACE_MS;
}

int
model_wait(const struct server *srv, int fd, int ms,
    int (*step)(void *arg, int sigs), void *arg)
{
	struct pollfd	 pfd[2];
	long long	 deadline = util_now_ms() + ms;
	int		 left, sigs = 0;

	pfd[0].fd = sig_fd();
	pfd[1].fd = fd;
	pfd[0].events = pfd[1].events = POLLIN;
	while (!step(arg, sigs)) {
		if ((left = (int)(deadline - util_now_ms())) <= 0)
			return -1;
		sigs = 0;
		/* A poll that fails (no memory) is retried, not spun on. */
		if (net_poll(pfd, 2, left) == -1)
			util_sleep_ms(10);
		else if (pfd[0].revents & POLLIN)
			sigs = model_signals(srv);
	}
	return 0;
}

void
model_finish(struct server *srv)
{
	struct acceptor	 a;

	if (acceptor_init(&a, srv, &srv->stats[0], NULL, NULL) == -1) {
		log_warn("the last accepts");
		return;
	}
	acceptor_finish(&a);
	acceptor_free(&a);
}

/* Start the workers with every signal blocked; how many started. */
static size_t
crew_start(const struct model_crew *crew, char *ws, pthread_t *tid,
    size_t n)
{
	sigset_t	 all, old;
	size_t		 i;
	int		 e;

	/* Signals are the main thread's. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < n; i++)
		if ((e = pthread_create(&tid[i], NULL, crew->main,
		    ws + i * crew->size)) != 0) {
			errno = e;
			log_warn("%s: thread", crew->name);
			break;
		}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return i;
}

/* Until a stop, or a worker's failure: 0, or -1 if poll failed. */
static int
crew_watch(struct server *srv, int quitfd)
{
	struct pollfd	 pfd[2];

	pfd[0].fd = sig_fd();
	pfd[0].events = POLLIN;
	pfd[1].fd = quitfd;
	pfd[1].events = POLLIN;
	for (;;) {
		/* The workers turn; the watchdog is fed only while they do. */
		notify_watchdog(stats_fresh, srv);
		if (net_poll(pfd, 2, notify_beat_ms() > 0 ? notify_beat_ms() :
		    -1) == -1) {
			log_warn("poll");
			return -1;
		}
		if (pfd[1].revents & POLLIN)
			return 0;	/* a worker failed: it said so */
		if (pfd[0].revents & POLLIN && model_signals(srv) & SIG_STOP)
			return 0;
	}
}

int
model_crew_run(struct server *srv, const struct model_crew *crew)
{
	size_t		 n = (size_t)srv->workers, i, started = 0;
	pthread_t	*tid;
	uint64_t	 one = 1;
	char		*ws;
	void		*failed;
	int		 quitfd = -1, rc = -1;

	ws = calloc(n, crew->size);
	tid = calloc(n, sizeof *tid);
	if (ws == NULL || tid == NULL ||
	    (quitfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		log_warn("%s", crew->name);
		goto out;
	}
	for (i = 0; i < n; i++)
		crew->blank(ws + i * crew->size);
	for (i = 0; i < n; i++)
		if (crew->init(ws + i * crew->size, srv, i, quitfd) == -1) {
			log_warn("%s: worker %zu", crew->name, i);
			goto out;
		}
	started = crew_start(crew, ws, tid, n);
	rc = started == n ? crew_watch(srv, quitfd) : -1;
	if (write(quitfd, &one, sizeof one) == -1)
		log_warn("eventfd");
	for (i = 0; i < started; i++)
		if (pthread_join(tid[i], &failed) == 0 && failed != NULL)
			rc = -1;
out:
	if (ws != NULL)
		for (i = 0; i < n; i++)
			crew->free(ws + i * crew->size);
	free(ws);
	free(tid);
	if (quitfd != -1)
		close(quitfd);
	return rc;
}

size_t
model_one_slot(const struct server *srv)
{
	(void)srv;
	return 1;
}

#ifndef STAMP_URING
/*
 * Built without liburing: the model is still listed, so that --help says
 * what this build lacks, and -m uring is refused by name.
 */
static int
uring_missing(char *why, size_t len)
{
	snprintf(why, len, "built without io_uring: install liburing-dev "
	    "and rebuild, or use -m event");
	return -1;
}

static int
uring_none(struct server *srv)
{
	(void)srv;
	return -1;
}

const struct model model_uring = {
	.name = "uring",
	.summary = "not in this build: it needs liburing-dev",
	.run = uring_none,
	.nslots = model_one_slot,
	.usable = uring_missing,
};
#endif
