/*
 * model.c: the table of models, and what they all do with signals.
 */
#include <stddef.h>
#include <string.h>

#include "log.h"
#include "model.h"
#include "sig.h"

const struct model *const model_list[] = {
	&model_event,
	&model_iterative,
	&model_fork,
	&model_prefork,
	&model_dynamic,
	&model_threads,
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
	int	 seen = sig_take();

	if (seen & SIG_STATS)
		serve_report(srv);
	if (seen & SIG_RELOAD)
		log_reopen();
	return seen;
}

size_t
model_one_slot(const struct server *srv)
{
	(void)srv;
	return 1;
}
