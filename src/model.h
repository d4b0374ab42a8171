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
	 * Whether the model can run here, asked before anything is bound
	 * (NULL: always): 0, or -1 and a sentence in why that names the
	 * cause and the way out.  Only a model that needs more than the C
	 * library has one.
	 */
	int		(*usable)(char *why, size_t len);
};

/* The model called name, or NULL. */
const struct model	*model_find(const char *name);

/* Every model, NULL-terminated, the default first. */
extern const struct model *const model_list[];

/*
 * What every model does when its signal pipe is readable: take the
 * signals, print the counters on SIGUSR1, reopen the log on SIGHUP, and
 * on SIGUSR2 check the new binary (upgrade_ask), then stop as on SIGTERM.
 * Returns the SIG_* bits taken, for the model to act on SIG_STOP and
 * SIG_CHILD.
 */
int			 model_signals(const struct server *srv);

/*
 * Wait ms milliseconds, cut short by a stop and by nothing else; other
 * signals are acted on as model_signals does.  Returns the SIG_* bits taken.
 */
int			 model_sleep(const struct server *srv, int ms);

/*
 * A worker's wait for work (poll, epoll_wait, io_uring_enter: what) has
 * failed with err.  Short of memory or of a resource for a moment
 * (ENOMEM, EAGAIN, ENOBUFS), the failure is counted, logged at a limited
 * rate and tried again after MODEL_RETRY_MS, for MODEL_GIVE_UP_MS in a row
 * at most; anything else, or failing that long, ends the worker, which is
 * then replaced or stops the daemon as its model does.  *since is when
 * the failures began (0 while there are none: the caller sets it back
 * after a wait that works).  Returns the milliseconds to rest before the
 * next wait, or -1 to end.  One rule, so that a fault meets the same
 * answer in every model.
 */
#define MODEL_RETRY_MS		10
#define MODEL_GIVE_UP_MS	5000
int			 model_wait_failed(const char *what, int err,
			    long long *since, struct stats *st);

/*
 * How long a stop waits for the replies in flight, in every model: a
 * delay ends at once, a PROXY header and then the drain may each take
 * --linger, and a grace beyond those before a process is killed.
 */
#define MODEL_STOP_GRACE_MS	5000
int			 model_stop_ms(const struct server *srv);

/*
 * Wait at most ms for step(arg, sigs) to say 1 (done): it is called after
 * each wake, of the signal pipe (sigs: the SIG_* bits taken) or of fd
 * (-1: none).  Returns 0 when done, -1 when the time ran out.  The bounded
 * stop of the models that hand clients to children or threads.
 */
int			 model_wait(const struct server *srv, int fd, int ms,
			    int (*step)(void *arg, int sigs), void *arg);

/*
 * The last thing before the listeners close, whatever the model: serve
 * what the kernel queued since the model stopped accepting, so that
 * closing them resets no client whose handshake is done.
 */
void			 model_finish(struct server *srv);

/* One stats slot: enough for a model of one process and one thread. */
size_t			 model_one_slot(const struct server *srv);

/*
 * A model of worker threads, each with a loop of its own (event, uring):
 * what model_crew_run needs to make, run and free one worker of size
 * bytes.  blank makes a zeroed worker safe to free; init runs in the main
 * thread, main in the worker's own thread with every signal blocked, and
 * returns NULL, or the worker if it failed.  quitfd is an eventfd: the
 * main thread writes it when the workers must stop, and a failing worker
 * writes it to have them all stop.
 */
struct model_crew {
	const char	*name;		/* for the log */
	size_t		 size;
	void		(*blank)(void *w);
	int		(*init)(void *w, struct server *srv, size_t i,
			    int quitfd);
	void	       *(*main)(void *w);
	void		(*free)(void *w);
};

/*
 * The main thread of such a model: start srv->workers workers, take the
 * signals and feed the watchdog while they turn, and at a stop (or when
 * one fails) tell them all and wait for them.  Returns 0, or -1 if a
 * worker or the start failed.
 */
int			 model_crew_run(struct server *srv,
			    const struct model_crew *crew);

extern const struct model model_event;
extern const struct model model_iterative;
extern const struct model model_fork;
extern const struct model model_prefork;
extern const struct model model_dynamic;
extern const struct model model_threads;
extern const struct model model_uring;

#endif /* STAMP_MODEL_H */
