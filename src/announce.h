/*
 * announce.h: the time, sent unasked to a multicast group or a broadcast
 * address, on a fixed schedule.
 *
 * A stream has exactly one peer, who must ask; a datagram may be addressed
 * to a whole group of hosts at once, none of whom asked.  stampd --announce
 * sends the protocol's reply that way, from a thread of its own, beside
 * whichever model serves the listeners.  Parsing is pure; once the thread
 * runs, a failed send is counted and logged (rate-limited), never fatal.
 * Nothing here exits.
 */
#ifndef STAMP_ANNOUNCE_H
#define STAMP_ANNOUNCE_H

#include <sys/types.h>

#include <pthread.h>
#include <stddef.h>

#include "net.h"

#define ANNOUNCE_MAX		8
#define ANNOUNCE_TTL		1	/* one hop: this link only */
#define ANNOUNCE_EVERY_MS	1000

enum announce_kind {
	ANNOUNCE_MULTICAST,	/* IPv4 224.0.0.0/4, IPv6 ff00::/8 */
	ANNOUNCE_BROADCAST,	/* any other IPv4 address: SO_BROADCAST */
	ANNOUNCE_UNICAST,	/* any other IPv6 address (IPv6 has no
				   broadcast) */
};

/* One --announce udp:ADDRESS:PORT[/PROTOCOL]. */
struct announce_target {
	struct net_spec		 spec;
	int			 kind;		/* enum announce_kind */
	int			 fd;
	/* "udp 239.255.19.37:1937 stamp" */
	char			 name[NET_ADDRSTRLEN + 16];
	unsigned long long	 sent, failed;
};

struct announce {
	struct announce_target	 t[ANNOUNCE_MAX];
	size_t			 n;
	long long		 every_ms;	/* the period and the grid */
	int			 ttl;		/* multicast TTL or hop limit */
	unsigned int		 ifindex;	/* 0: the routes decide */
	const char		*ifname;	/* its name, or NULL */
	unsigned long long	 missed;	/* ticks slept through */
	int			 timerfd, stopfd;
	int			 running;
	pid_t			 pid;		/* the process that started it */
	pthread_t		 tid;
};

/*
 * Set a to no targets, period ANNOUNCE_EVERY_MS, TTL ANNOUNCE_TTL and no
 * interface.
 */
void		 announce_init(struct announce *a);

/*
 * Parse one "udp:ADDRESS:PORT[/PROTOCOL]" into *t (fd -1, counters 0):
 * net_parse_spec's syntax, but only udp, one numeric address (not "*", not
 * 0.0.0.0 or ::) and a port other than 0.  Returns NULL, or a static
 * sentence naming what is wrong.  Pure: no I/O, no errno.
 */
const char	*announce_parse(const char *text, struct announce_target *t);

/*
 * The first Unix time in milliseconds after now_ms that is a whole
 * multiple of every_ms (> 0): where a steady schedule puts the next
 * announcement.  Pure.
 */
long long	 announce_next(long long now_ms, long long every_ms);

/*
 * Describe target i into buf for the daemon's start-up line: "udp
 * 239.1.2.3:1937 stamp every 1s, ttl 1, via eth0".  Returns buf.
 */
char		*announce_describe(const struct announce *a, size_t i,
		    char *buf, size_t len);

/*
 * Make a sending socket for each of the a->n targets, with a->ttl and
 * a->ifindex applied (IP_MULTICAST_TTL and IP_MULTICAST_IF, their IPv6
 * twins, SO_BROADCAST, IP_UNICAST_IF), and the timer and stop descriptors
 * of the thread.  Returns 0, or -1 and errno with *bad the index of the
 * target that failed (a->n when the failure is not a target's); then
 * nothing is left open.
 */
int		 announce_open(struct announce *a, size_t *bad);

/*
 * Start the thread that announces every a->every_ms, on the grid of
 * announce_next, until announce_stop.  The thread blocks every signal, so
 * that they keep reaching the thread that runs the model.  Returns 0, or
 * -1 and errno.
 */
int		 announce_start(struct announce *a);

/*
 * Stop the thread and wait for it (if it was started), log what each
 * target sent and failed, and close everything announce_open opened.
 * In any process but the one that started it, it does nothing.
 */
void		 announce_stop(struct announce *a);

#endif /* STAMP_ANNOUNCE_H */
