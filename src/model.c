/*
 * model.c: the table of models, and the last accepts of every one.
 *
 * What the models share lives below them: the acceptor (acceptor.c), the
 * pool of processes (pool.c), the crew of loop threads (crew.c) and the
 * loop that waits on signals (supervise.c).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "acceptor.h"
#include "log.h"
#include "model.h"

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
uring_missing(int workers, char *why, size_t len)
{
	(void)workers;
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
