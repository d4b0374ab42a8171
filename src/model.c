/*
 * model.c: the table of models, and what they all do with signals.
 */
#include <sys/eventfd.h>

#include <errno.h>
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
#include "notify.h"
#include "sig.h"
#include "supervise.h"

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

/*
 * The main thread's step while the workers turn: done at a stop, or when
 * a worker's failure wrote quitfd; meanwhile it feeds the watchdog, which
 * the workers' beats keep fresh.
 */
static int
crew_watch(void *arg, int sigs)
{
	if (sigs & (SIG_STOP | SUPERVISE_FD))
		return SUPERVISE_DONE;
	notify_watchdog(serve_fresh, arg);
	return -1;
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
	if (started == n) {
		supervise(srv, quitfd, -1, crew_watch, srv);
		rc = 0;
	}
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
