/*
 * crew.h: what the loop models (event, uring) share: a worker thread per
 * --workers, each with a loop of its own, and around those loops the
 * allocator of their slots, the list of what waits out --delay, the bound
 * on the connections that wait for their first bytes (srcwait.h), the
 * stop, the failure of a worker and the retry after a wait that failed.
 *
 * A model says how its loop waits and what it does with what it finds
 * (struct crew); the rest is written once, here.  A worker never ends the
 * daemon itself: it reports, writes the crew's eventfd, and the main
 * thread tells every worker to stop.
 */
#ifndef STAMP_CREW_H
#define STAMP_CREW_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

#include "serve.h"
#include "srcwait.h"

/*
 * The head of every slot a worker allocates, its first member: a
 * connection's, or a datagram's reply.  In a list, or on the free list,
 * through prev and next.
 */
struct crew_slot {
	struct crew_slot	*prev, *next;
	long long		 deadline;	/* ms, monotonic: its wait's */
	int			 fd;		/* a connection's, else -1 */
	int			 busy;		/* taken, not yet given back */
	size_t			 listener;	/* in srv->ls */
	struct sockaddr_storage	 peer;		/* or where a reply goes */
	struct srcwait_link	 sw;		/* waits for its first bytes */
};

/*
 * A list of slots in the order they were added.  Every wait of one kind
 * has the same length, so a list of them is sorted by deadline as it is.
 */
struct crew_list {
	struct crew_slot	*head, *tail;
};

void	crew_list_add(struct crew_list *q, struct crew_slot *s);
void	crew_list_del(struct crew_list *q, struct crew_slot *s);

/* The thing that holds member m, at p, as a member of type. */
#define CREW_OWNER(p, type, m)	((type *)(void *)((char *)(p) - \
				    offsetof(type, m)))

struct crew_chunk;

/*
 * Slots of one size, allocated chunk at a time, max at most, and kept
 * until the worker ends: nothing is allocated per client.  blank (or
 * NULL) readies each new slot once, before its first use.
 */
struct crew_slots {
	size_t			 size, chunk, max;
	void			(*blank)(void *slot);
	struct crew_slot	*free;
	struct crew_chunk	*chunks;
	size_t			 n;		/* allocated */
	size_t			 busy;		/* taken */
};

void	crew_slots_init(struct crew_slots *sl, size_t size, size_t chunk,
	    size_t max, void (*blank)(void *));

/*
 * A slot, its fd -1, its links cleared and in no srcwait table, or NULL at
 * max or out of memory.
 */
void	*crew_slot_get(struct crew_slots *sl);
void	 crew_slot_put(struct crew_slots *sl, void *slot);

struct crew;

/* What every worker has; the first member of a model's worker. */
struct crew_worker {
	const struct crew	*crew;
	struct server		*srv;
	struct stats		*st;		/* its own slot */
	size_t			 n;		/* which worker */
	int			 quitfd;	/* the crew's eventfd */
	int			 spare;		/* the EMFILE trick's fd */
	int			 stopping;
	int			 failed;
	long long		 failing;	/* its wait failing since */
	int			 backoff;	/* ms rested after the last */
	const int		*quit;		/* the crew's stop, set once */
	long long		 now;		/* ms, monotonic, at its wake */
	struct crew_slots	 conns, dgrams;
	struct crew_list	 delayed;	/* both kinds, by deadline */
	struct srcwait		 waiting;	/* conns: their first bytes */
};

/*
 * A model of such workers.  The hooks get the worker (its struct
 * crew_worker first) and run in its thread, but init and free, which run
 * in the main thread.
 */
struct crew {
	const char	*name;		/* for the log */
	const char	*wait_name;	/* its wait, for the log */
	size_t		 size;		/* of its worker */
	/*
	 * Ready the worker (conns and dgrams set up, the rest the model's):
	 * 0, or -1 and errno.  free is called even after a failed init, so
	 * init makes the worker safe to free before anything that can fail.
	 */
	int		(*init)(struct crew_worker *w);
	/* In the thread, before the loop (NULL: none): 0, or -1 and errno. */
	int		(*start)(struct crew_worker *w);
	/*
	 * Wait for work: 0 when something came or nothing did; else the
	 * errno of a wait that failed, whatever it is (EINTR and EBUSY
	 * included: crew_retry judges every one, and work runs after each
	 * that is tried again).
	 */
	int		(*wait)(struct crew_worker *w);
	/* Act on what the wait found (w->now is its time). */
	void		(*work)(struct crew_worker *w);
	/* Serve connection fd, accepted on listener i and admitted, now. */
	void		(*serve)(struct crew_worker *w, size_t i, int fd,
			    const struct sockaddr_storage *peer);
	/*
	 * Close connection s, which waits for its first bytes, to make room
	 * for a newcomer (crew_wait_first, which has counted it as shed and
	 * taken it out of the table): its fd at once, or once the requests
	 * that name it have ended; its slot given back once nothing names it.
	 */
	void		(*shed)(struct crew_worker *w, struct crew_slot *s);
	/* Slot s has just been delayed (NULL: its deadline says enough). */
	void		(*delay)(struct crew_worker *w, struct crew_slot *s);
	/*
	 * At a stop: the delay of slot s ends now (NULL: its deadline, now
	 * 0, says enough).
	 */
	void		(*undelay)(struct crew_worker *w, struct crew_slot *s);
	/*
	 * At a stop, first: stop waiting on the listeners and on quitfd,
	 * so that what is taken at once is taken once.
	 */
	void		(*quiet)(struct crew_worker *w);
	/*
	 * Whether a stopping worker, whose slots are all given back, has
	 * anything of its own in flight (NULL: never).
	 */
	int		(*pending)(const struct crew_worker *w);
	/* In the thread, after the loop (NULL: none). */
	void		(*end)(struct crew_worker *w);
	/* What init made (NULL: nothing). */
	void		(*free)(struct crew_worker *w);
};

/*
 * The model's run: start srv->workers workers, take the signals and feed
 * the watchdog while they turn, and at a stop (or when one fails) tell
 * them all and wait for them.  Returns 0, or -1 if a worker or the start
 * failed (logged).
 */
int	crew_run(struct server *srv, const struct crew *crew);

/* How many stats slots the crew needs: a worker's each. */
size_t	crew_nslots(const struct server *srv);

/*
 * The socket of listener i that worker w waits on: its own of a
 * --reuseport group, else the one they share.
 */
int	crew_fd(const struct crew_worker *w, size_t i);

/* Whether no other worker takes from that socket. */
int	crew_alone(const struct crew_worker *w, size_t i);

/*
 * Connection fd, accepted on listener i and admitted: served now (the
 * model's serve), or, with --delay and no stop, in a slot on the delayed
 * list until its deadline; past the limit of slots it is refused.  A
 * scrape or a key exchange (serve_in_loop) is always served now.
 */
void	crew_conn(struct crew_worker *w, size_t i, int fd,
	    const struct sockaddr_storage *peer);

/*
 * Connection s (its listener and peer set) waits for its first bytes, a
 * PROXY header or a request, from now on: it joins w's table.  A
 * newcomer always gets its place: past SRCWAIT_PER_SOURCE waiting from its
 * source, the oldest of those is shed (the model's shed, counted as shed
 * and logged); with SRCWAIT_MAX waiting, the oldest of all.  Nothing if s
 * waits already: it keeps its place.  Returns 0, or -1 and ENOMEM: the
 * caller ends s as a wait cut short.
 */
int	crew_wait_first(struct crew_worker *w, struct crew_slot *s);

/* Connection s waits for its first bytes no more (or never did). */
void	crew_waited(struct crew_worker *w, struct crew_slot *s);

/* Slot s waits out --delay from now on the delayed list. */
void	crew_delay(struct crew_worker *w, struct crew_slot *s);

/*
 * The stop of one worker: every delay ends now, and what the kernel has
 * queued on its listeners is taken (acceptor_last), so that closing them
 * resets none of it.  Then the loop ends once nothing is in flight.
 */
void	crew_stop(struct crew_worker *w);

/*
 * The retry of worker w after its wait, or a hand-over to the kernel of
 * the same kind, failed with err: one rule for every errno a wait can
 * return.  EINTR (a signal, a tracer) and EBUSY (completions to reap
 * before more go in) say "try again": the first of a row costs nothing;
 * ENOMEM, EAGAIN and ENOBUFS are supervise_wait_failed's transient ones.
 * Failures in a row are counted, logged at a limited rate and rested,
 * the rest doubling up to CREW_RETRY_MAX_MS, so that a wait that keeps
 * failing never spins; after SUPERVISE_GIVE_UP_MS in a row, or
 * CREW_STOP_GIVE_UP_MS once the worker is stopping, it gives up.  Any
 * other errno gives up at once.  Returns the ms to rest before trying
 * again (0: at once), or -1 to give up (logged): the caller fails the
 * worker, and the daemon exits 1.  w->failing goes back to 0 after a wait
 * that works.
 */
#define CREW_RETRY_MAX_MS	100
#define CREW_STOP_GIVE_UP_MS	1000
int	crew_retry(struct crew_worker *w, int err);

/*
 * A failure of our own (a bad fd, a ring gone), logged by the caller:
 * worker w tells the main thread, which stops every worker, and the
 * daemon exits 1.  The caller stops w itself (crew_stop) where it can.
 */
void	crew_fail(struct crew_worker *w);

#endif /* STAMP_CREW_H */
