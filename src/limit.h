/*
 * limit.h: who may connect, and how often.
 *
 * --max-conns bounds the connections open at once, --per-ip those of one
 * source address (an IPv6 /64 counts as one), --rate the new connections
 * a second from one source (a token bucket holding one second's worth).
 * The table lives in shared memory so that every process of a pool sees
 * the same counts; a robust mutex guards it, so a worker killed while it
 * held the lock cannot freeze the others.  No I/O, no printing.
 *
 * Each admitted connection holds a place, and each place records the
 * process that owns it: a process that dies, however it dies, leaves
 * places that its parent gives back by its pid (limit_release_owner).
 */
#ifndef STAMP_LIMIT_H
#define STAMP_LIMIT_H

#include <sys/types.h>
#include <sys/socket.h>

struct limits;

#define LIMIT_REFUSED	(-1)	/* over a limit: close it at once */

/* Which limit refused, from limit_admit and limit_token. */
enum limit_why {
	LIMIT_MAX_CONNS,	/* --max-conns, or no place left */
	LIMIT_PER_IP,
	LIMIT_RATE,		/* --rate, --udp-rate, or no room in the table */
};

/*
 * Places tracked when --max-conns does not say how many: past this many
 * connections open at once, a limited server refuses the next.
 */
#define LIMIT_PLACES	65536

/*
 * Make the shared table for these limits (0: no such limit).  loopback
 * says whether loopback sources are held to per_ip and rate.  Returns
 * NULL with errno on failure.
 */
struct limits	*limit_new(int max_conns, int per_ip, int rate, int loopback);
void		 limit_free(struct limits *lim);

/*
 * Admit a connection from peer at now (ms, monotonic) for process owner:
 * returns its place, to hand to limit_release when it closes, or
 * LIMIT_REFUSED and in *why the limit that refused it.  A source the table has no room for is refused: a flood
 * of new sources makes the limits stricter, never looser.
 */
int		 limit_admit(struct limits *lim,
		    const struct sockaddr_storage *peer, long long now,
		    pid_t owner, enum limit_why *why);
void		 limit_release(struct limits *lim, int place);

/*
 * Take one of peer's rate tokens at now, for a reply that holds no place
 * (a datagram's): 1 if it had one, 0 if not, or if the table has no room
 * for a new source.  The caller decides who is exempt.
 */
int		 limit_token(struct limits *lim,
		    const struct sockaddr_storage *peer, long long now);

/* Place now belongs to process owner (a child that serves it). */
void		 limit_own(struct limits *lim, int place, pid_t owner);

/* Give back every place owner still holds; returns how many. */
int		 limit_release_owner(struct limits *lim, pid_t owner);

/* Connections admitted and not yet released, for the tests' eyes. */
int		 limit_open(struct limits *lim);

#endif /* STAMP_LIMIT_H */
