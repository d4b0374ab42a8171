/*
 * stats.h: the counters, the gauges and the heartbeat every model keeps.
 *
 * They may live in memory shared by the processes of a pool, so they are
 * only ever changed atomically, and each worker has a slot of its own so
 * that workers do not fight over a cache line.  What reads them: the
 * SIGUSR1 report, a metrics listener's page, and the watchdog.
 */
#ifndef STAMP_STATS_H
#define STAMP_STATS_H

#include <stddef.h>

#include "metrics.h"
#include "ntp.h"
#include "proto.h"

enum stat_id {
	STAT_ACCEPTED,		/* connections accepted */
	STAT_TCP,		/* replies sent whole, per transport */
	STAT_UDP,
	STAT_SHORT,		/* replies cut short: client gone or stalled */
	STAT_RESET,		/* clients that reset or aborted */
	STAT_SHED,		/* connections shed while out of fds */
	STAT_ERRORS,		/* other failures of a system call */
	STAT_LINGER_TIMEOUT,	/* connections closed while still sending */
	STAT_LIMITED,		/* refused by a limit: --udp-rate and others */
	STAT_DROPPED,		/* datagrams from a port no reply may go to */
	STAT_BADHDR,		/* PROXY headers refused, bad or missing */
	STAT_CLOSED,		/* connections closed, for the open gauge */
	STAT_LIM_MAX_CONNS,	/* STAT_LIMITED, by the limit */
	STAT_LIM_PER_IP,
	STAT_LIM_RATE,
	STAT_LIM_UDP_RATE,
	STAT_SCRAPES,		/* /metrics answered */
	STAT_WORKERS,		/* a gauge: processes or threads serving */
	STAT_NTSKE_OK,		/* NTS key establishments answered */
	STAT_NTSKE_VERSION,	/* refused: no TLS 1.3 (as enum tls_fail) */
	STAT_NTSKE_ALPN,	/* refused: no ALPN ntske/1 */
	STAT_NTSKE_HANDSHAKE,	/* any other failed handshake */
	STAT_NTSKE_BAD,		/* answered with an Error record */
	STAT_NTSKE_GONE,	/* closed before the request was whole */
	STAT_NTS_COOKIES,	/* cookies issued, by KE and by NTP */
	STAT_NTS_OK,		/* NTS requests, as enum nts_result: */
	STAT_NTS_NAK_COOKIE,	/*   answered with an NTS NAK */
	STAT_NTS_NAK_AUTH,
	STAT_NTS_DROP,		/*   malformed: not answered */
	STAT_NTS_PLAIN,		/* plain NTP refused by --nts-only */
	STAT_ANNOUNCED,		/* announcements sent, by the kind of
				   address (enum announce_kind) */
	STAT_ANNOUNCE_FAILED = STAT_ANNOUNCED + METRICS_NANNOUNCE,
	STAT_NTP_VERDICT,	/* NTP requests, by enum ntp_verdict */
	STAT_REPLY = STAT_NTP_VERDICT + NTP_NVERDICT, /* replies: tcp by
				   protocol, then udp */
	STAT_LOG_DROPPED = STAT_REPLY + 2 * STAMP_NPROTO, /* -v's lines
				   over the access log's budget (log.h) */
	STAT_N
};

struct stats {
	unsigned long long	 v[STAT_N];
	long long		 beat;	/* ms its loop last turned; 0: none */
	unsigned long long	 bucket[METRICS_NBUCKETS]; /* accept to reply */
	unsigned long long	 latency_us;
	/* By listener, as they stand in the server: accepted, replies. */
	unsigned long long	 ls[METRICS_NLISTENERS][2];
} __attribute__((aligned(64)));

struct listener;
struct server;

/* Set gauge s of slot st to n. */
static inline void
stats_gauge(struct stats *st, enum stat_id s, unsigned long long n)
{
	__atomic_store_n(&st->v[s], n, __ATOMIC_RELAXED);
}

/* Add n to counter s of slot st. */
static inline void
stats_count(struct stats *st, enum stat_id s, unsigned long long n)
{
	__atomic_fetch_add(&st->v[s], n, __ATOMIC_RELAXED);
}

/*
 * The process that counted in slot st is gone (reaped): every connection
 * it counted accepted and not closed is counted closed, so that the open
 * gauge gives back what it held.  Only for a slot no one counts in now.
 */
static inline void
stats_settle(struct stats *st)
{
	unsigned long long	 acc, closed;

	acc = __atomic_load_n(&st->v[STAT_ACCEPTED], __ATOMIC_RELAXED);
	closed = __atomic_load_n(&st->v[STAT_CLOSED], __ATOMIC_RELAXED);
	if (acc > closed)
		stats_count(st, STAT_CLOSED, acc - closed);
}

/*
 * Ready the counters of srv: its first slot is the main process's, and a
 * metrics listener wants the time of each accept for its histogram.
 * Called once by main before the model runs.  Returns 0, or -1 and errno.
 */
int	stats_init(const struct server *srv);

/*
 * The slot this thread counts in (NULL: the main process's).  Each serving
 * loop names its own with stats_slot; stats_here is the slot to count in
 * where none is at hand, or NULL when there is none at all (--inetd).
 */
void		 stats_slot(struct stats *st);
struct stats	*stats_here(void);

/* A reply of listener l (one of the server's) went whole. */
void	stats_reply(struct stats *st, const struct listener *l);

/*
 * Connection fd of listener l was accepted now: counted, by listener too;
 * stats_latency puts its time from accept to reply into the histogram.
 * The clock is read only with a metrics listener or -v.  stats_age_us:
 * the microseconds since fd was accepted, for -v's line, or -1 when
 * unknown.
 */
void		stats_accepted(struct stats *st, const struct listener *l,
		    int fd);
void		stats_latency(int fd, struct stats *st);
long long	stats_age_us(int fd);

/*
 * An announcement to an address of kind (enum announce_kind) was sent, or
 * failed; counted in the main process's slot.
 */
void	stats_announced(int kind, int sent);

/*
 * Every slot of srv summed into what the metrics page shows, with the
 * figures /proc gives of the daemon's processes: the main one and its
 * children.  For the page alone: it reads files.
 */
void	stats_view(const struct server *srv, struct metrics_view *v);

/* Sum the slots and log one line of counters (and tell systemd). */
void	stats_report(const struct server *srv);

/*
 * A serving loop turns: it says so in its slot, for the watchdog
 * (notify.h).  Only while one is asked for; 0 says the loop has ended.
 * stats_fresh says whether every loop that beats has turned within ms.
 */
void	stats_beat(struct stats *st, int alive);
int	stats_fresh(void *srv, long long ms);

#endif /* STAMP_STATS_H */
