/*
 * model.h: the server models, one file each, behind one interface.
 *
 * A model waits for clients and hands each to serve.c; it honours the
 * stop flag and the other signals (sig.h), and it never parses options or
 * binds a socket: the daemon's main has done both before run is called.
 */
#ifndef STAMP_MODEL_H
#define STAMP_MODEL_H

#include "serve.h"

/*
 * The options that one model takes and another may not: caps has the bit
 * of each that the model honours, and stampd refuses the others by name
 * rather than ignore them.
 */
enum {
	MODEL_WORKERS = 1 << 0,		/* -w: the size of its pool */
	MODEL_MAX_WORKERS = 1 << 1,	/* --max-workers */
	MODEL_SPARE = 1 << 2,		/* --min-spare, --max-spare */
	MODEL_DELAY = 1 << 3,		/* -D */
	MODEL_REUSEPORT = 1 << 4,	/* --reuseport */
};

struct model {
	const char	*name;
	const char	*summary;	/* one line, for --help */
	unsigned	 caps;		/* the MODEL_* options it takes */
	/*
	 * Serve srv until a stop signal, then finish what is in flight.
	 * Returns 0 after a clean stop, or -1 after a fatal error, which it
	 * has logged.
	 */
	int		(*run)(struct server *srv);
	/* How many stats slots run needs (srv->stats), given srv. */
	size_t		(*nslots)(const struct server *srv);
	/*
	 * Whether the model can run here with workers workers (NULL:
	 * always): 0, or -1 and a sentence in why that names the cause and
	 * the way out.  Asked before anything is bound, also by --check, in
	 * a child that has done what the start does before serving (rooted,
	 * then the drop to the user stampd runs as), so that a limit of that
	 * user's or a kernel switch against it is found then, not after the
	 * bind.  Only a model that needs more than the C library has one.
	 */
	int		(*usable)(int workers, char *why, size_t len);
	/*
	 * What the model needs done while stampd may still be root, just
	 * before its privileges go (NULL: nothing).  It never fails the
	 * start: without it the model says why when it cannot run.
	 */
	void		(*rooted)(void);
};

/* The model called name, or NULL. */
const struct model	*model_find(const char *name);

/* Every model, NULL-terminated, the default first. */
extern const struct model *const model_list[];

/*
 * The last thing before the listeners close, whatever the model: serve
 * what the kernel queued since the model stopped accepting, so that
 * closing them resets no client whose handshake is done.
 */
void			 model_finish(struct server *srv);

/* One stats slot: enough for a model of one process and one thread. */
size_t			 model_one_slot(const struct server *srv);

extern const struct model model_event;
extern const struct model model_iterative;
extern const struct model model_fork;
extern const struct model model_prefork;
extern const struct model model_dynamic;
extern const struct model model_threads;
extern const struct model model_uring;

#endif /* STAMP_MODEL_H */
