/*
 * srcwait.h: the connections a loop waits on for their first bytes (a
 * PROXY header, a request read before the reply), by source, so that one
 * source that sends nothing can never take every place.
 *
 * A table of the sources (net_source_key: an address, an IPv6 /64) with
 * connections waiting, each with its count and its waiters oldest first,
 * and one chain of all the waiters, oldest first.  The links live in the
 * waiters themselves (the acceptor's waiters, the crew's slots): nothing
 * is allocated per connection, only a source's place now and then.  The
 * table never closes nor counts a connection: it names the one to shed,
 * and the loop that owns it sheds it.  One loop's alone: no lock.
 */
#ifndef STAMP_SRCWAIT_H
#define STAMP_SRCWAIT_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>

/*
 * Connections from one source waiting for their first bytes, at most, in
 * one loop: past it the oldest of them is closed and counted as shed.  A
 * proxy sends its header as it connects, so an honest one has few waiting
 * at any moment; a peer that sends nothing holds this many places and no
 * more.
 */
#define SRCWAIT_PER_SOURCE	256

/*
 * Connections waiting for their first bytes, at most, in one loop, from
 * every source: with this many, a newcomer closes the oldest of them
 * (counted as shed) to take its place.  The acceptor counts the
 * connections it drains in the same bound.
 */
#define SRCWAIT_MAX		4096

/* A place in a chain of waiters, oldest first. */
struct srcwait_node {
	struct srcwait_node	*older, *newer;
};

struct srcwait_chain {
	struct srcwait_node	*oldest, *newest;
};

/* A waiter's place in the table: a member of the waiter. */
struct srcwait_link {
	struct srcwait_node	 bysrc;		/* among its source's */
	struct srcwait_node	 all;		/* among all */
	int			 src;		/* its source, or -1: none */
};

struct srcwait_source;

struct srcwait {
	struct srcwait_source	*src;
	int			*bucket;	/* the sources' hash */
	int			 nsrc;		/* sources allocated */
	int			 srcfree;	/* a free source, or -1 */
	int			 n;		/* waiters in the table */
	struct srcwait_chain	 all;
	uint64_t		 seed;		/* keys the hash */
};

/*
 * Ready an empty table; its sources are allocated as they come, or by
 * srcwait_reserve.  Returns 0, or -1 and errno; srcwait_free is safe
 * after either.
 */
int	srcwait_init(struct srcwait *t);
void	srcwait_free(struct srcwait *t);

/*
 * Room for n sources at least, so that as many joins cannot fail.
 * Returns 0, or -1 and errno (the table is as it was).
 */
int	srcwait_reserve(struct srcwait *t, int n);

/* Ready link k: in no table yet. */
void	srcwait_link_init(struct srcwait_link *k);

/* Whether link k is in a table. */
int	srcwait_joined(const struct srcwait_link *k);

/*
 * Before one from peer joins, on listener name: the waiter to shed, the
 * oldest of its source's once SRCWAIT_PER_SOURCE of those wait (logged,
 * rate-limited), or NULL.  The caller sheds it (srcwait_leave first).
 */
struct srcwait_link *srcwait_crowded(struct srcwait *t, const char *name,
	    const struct sockaddr_storage *peer);

/*
 * The waiter to shed before one more joins, on listener name: the oldest
 * of all once SRCWAIT_MAX wait (logged, rate-limited), or NULL.
 */
struct srcwait_link *srcwait_full(struct srcwait *t, const char *name);

/*
 * Link k, of a connection from peer (an AF_INET or AF_INET6 address,
 * here and in srcwait_crowded), waits from now: the newest of its
 * source's and of all.  Returns 0, or -1 and ENOMEM when a new source
 * finds no room (never after srcwait_reserve for every waiter).
 */
int	srcwait_join(struct srcwait *t, struct srcwait_link *k,
	    const struct sockaddr_storage *peer);

/* Link k waits no more; nothing when it is in no table. */
void	srcwait_leave(struct srcwait *t, struct srcwait_link *k);

/*
 * Forget every waiter at once (their links are left as they were), as
 * before the owner joins them again where they moved to.
 */
void	srcwait_clear(struct srcwait *t);

#endif /* STAMP_SRCWAIT_H */
