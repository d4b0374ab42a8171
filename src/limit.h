/*
 * limit.h: who may connect, and how often.
 *
 * --max-conns bounds the connections open at once, --per-ip those of one
 * source address (an IPv6 /64 counts as one), --rate the new connections
 * a second from one source (a token bucket holding one second's worth).
 * The table lives in shared memory so that every process of a pool sees
 * the same counts; a robust mutex guards it, so a worker killed while it
 * held the lock cannot freeze the others.  No I/O, no printing.
 */
#ifndef STAMP_LIMIT_H
#define STAMP_LIMIT_H

#include <sys/socket.h>

struct limits;

#define LIMIT_REFUSED	(-1)	/* over a limit: close it at once */
#define LIMIT_UNTRACKED	(-2)	/* admitted, counted only globally */

/*
 * Make the shared table for these limits (0: no such limit).  loopback
 * says whether loopback sources are held to per_ip and rate.  Returns
 * NULL with errno on failure.
 */
struct limits	*limit_new(int max_conns, int per_ip, int rate, int loopback);
void		 limit_free(struct limits *lim);

/*
 * Admit a connection from peer at now (ms, monotonic): returns the slot
 * to hand back to limit_release when it closes, LIMIT_UNTRACKED when the
 * per-source table is full (then only --max-conns holds), or
 * LIMIT_REFUSED.
 */
int		 limit_admit(struct limits *lim,
		    const struct sockaddr_storage *peer, long long now);
void		 limit_release(struct limits *lim, int slot);

#endif /* STAMP_LIMIT_H */
