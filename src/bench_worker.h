/*
 * bench_worker.h: one worker thread of stampbench, and the engines it
 * runs its exchanges on.
 *
 * A worker owns a share of the slots.  A slot runs one exchange at a
 * time, again and again; every reply is checked and the latency of each
 * good one goes into the worker's histogram.  Workers share nothing but
 * the ticket counter of -n and the stop flag, and are merged once, at
 * the end, by the main thread.
 *
 * How an exchange is made and waited for is its engine's business (TCP
 * or UDP over epoll, TCP on io_uring); what a turn of the loop does, and
 * what becomes of an exchange, is the worker's.  Like net, none of it
 * prints or exits: a failure is left in the worker, errno and where.
 */
#ifndef STAMP_BENCH_WORKER_H
#define STAMP_BENCH_WORKER_H

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bench_hist.h"
#include "bench_report.h"
#include "proto.h"

#define BENCH_PROTO_MSEC	STAMP_NPROTO	/* nginx's "$msec\r\n" */
#define BENCH_REPLY_MAX		512		/* longer is a bad reply */
#define BENCH_REQUEST_MAX	48		/* NTP's, the longest */
#define BENCH_NSEC		1000000000LL

/* What -P nts and -P nts-ke measure (b->nts), bench_nts.c. */
#define BENCH_NTS_NTP		1	/* authenticated NTP replies */
#define BENCH_NTS_KE		2	/* whole key establishments */

struct bench_engine;
struct bench_ring;

/* The run, as every worker sees it. */
struct bench {
	int			 proto;		/* enum stamp_proto or msec */
	int			 type;		/* SOCK_STREAM or SOCK_DGRAM */
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	int			 spread;	/* source addresses; 0: none */
	int			 nts;		/* BENCH_NTS_*, or 0 */
	const char		*host;		/* NTS: the name to verify */
	const char		*ca;		/* NTS: --ca, or NULL */
	const struct bench_engine *engine;
	int			 loopback;	/* the target is 127/8 or ::1 */
	int64_t			 timeout_ns;
	int64_t			 t0;		/* the start, monotonic ns */
	int64_t			 end;		/* -d: when to stop; else 0 */
	long long		 count;		/* -n; 0 with -d */
	atomic_llong		 issued;	/* tickets taken, for -n */
	atomic_int		 stop;
	atomic_int		 running;	/* workers not yet done */
};

struct bench_slot {
	struct bench_slot *prev, *next;	/* in flight, oldest first */
	int64_t		 start;		/* monotonic ns */
	int		 fd;
	int		 busy;
	int		 stale;		/* UDP: a late reply may be queued */
	int		 inring;	/* a receive on the ring is ours */
	int		 cerr;		/* the ring's connect failed: errno */
	int		 eof;		/* the server's FIN was read */
	int		 uses;		/* connections made on the socket */
	uint64_t	 xmt;		/* NTP: our request's transmit time */
	uint64_t	 xmt_before;	/* and that of the one before */
	size_t		 len;
	char		 buf[BENCH_REPLY_MAX];
};

struct bench_worker {
	struct bench		*b;
	pthread_t		 tid;
	int			 ep;		/* epoll engines: or -1 */
	int			 nslot;
	struct bench_slot	*slot;
	struct bench_slot	**pend;		/* to start on the next turn */
	int			 npend;
	struct bench_slot	 head;		/* of the in-flight list */
	struct bench_ring	*ring;		/* the uring engine's */
	void			*priv;		/* another engine's own */
	int			 inring;	/* slots with a receive on it */
	int			 draining;	/* the run is over */
	int			 lost;		/* some were left at the end */
	int			 index;		/* of the worker, from 0 */
	struct sockaddr_in	 src;
	uint32_t		 nextsrc;
	uint64_t		 ntp_last;	/* the last transmit we made */
	int64_t			 wall_off;	/* realtime minus monotonic */
	int64_t			 wall_next;
	int64_t			 t_end;
	int			 err;		/* our own failure: errno */
	const char		*errwhere;
	const char		*why;		/* the first bad reply */
	int			 other;		/* the first unexpected errno */
	uint64_t		 kind[BENCH_NKIND];
	_Atomic uint64_t	 pub_ok;	/* for the progress line */
	_Atomic uint64_t	 pub_done;
	struct bench_hist	 hist;
};

/*
 * An engine: how a worker makes its exchanges and waits for them.  The
 * hooks other than usable get the worker they serve.
 */
struct bench_engine {
	const char	*io;		/* how it waits, as --io names it */
	/*
	 * Whether it can run here (NULL: always): 0, or -1 and a sentence
	 * in why that names the cause.
	 */
	int		(*usable)(char *why, size_t len);
	/* In the main thread, before the run: 0, or -1 (errno, errwhere). */
	int		(*setup)(struct bench_worker *w);
	/*
	 * The worker's loop, in its own thread, until bench_worker_turn
	 * says done; a failure is left in w->err and w->errwhere.  The
	 * epoll engines' is bench_epoll_run.
	 */
	void		(*run)(struct bench_worker *w);
	/*
	 * With bench_epoll_run: the socket of slot s is ready, with these
	 * epoll events (NULL for the other engines).
	 */
	void		(*ready)(struct bench_worker *w, struct bench_slot *s,
			    uint32_t events);
	/* Start the exchange of slot s: 0, or -1 with errno. */
	int		(*start)(struct bench_worker *w, struct bench_slot *s);
	/* The exchange of s is over: let go of its socket (NULL: keep). */
	void		(*end)(struct bench_worker *w, struct bench_slot *s);
	/* After the slots' sockets are closed: what else it holds. */
	void		(*free)(struct bench_worker *w);
};

/* TCP over epoll, bench_tcp.c. */
extern const struct bench_engine bench_tcp;
/* UDP over epoll, bench_udp.c. */
extern const struct bench_engine bench_udp;
/* TCP on io_uring, bench_uring.c. */
extern const struct bench_engine bench_uring;
/*
 * NTS over epoll, bench_nts.c, only with GnuTLS: NTP requests after one
 * key establishment per worker, and whole key establishments.
 */
extern const struct bench_engine bench_nts;
extern const struct bench_engine bench_nts_ke;

/* The time on clock, in nanoseconds. */
int64_t	bench_worker_now(clockid_t clock);

/*
 * Make w a worker of b with nslot slots, index windex: the slots and
 * what b's engine sets up.  Returns 0, or -1 with errno and the failed
 * step in w->errwhere; bench_worker_free frees what was made either way.
 */
int	bench_worker_init(struct bench_worker *w, struct bench *b, int nslot,
	    int windex);

/* The worker thread: run w's engine, then publish and count out. */
void	*bench_worker_main(void *arg);

/* Close, free and forget what w holds, and w itself. */
void	bench_worker_free(struct bench_worker *w);

/*
 * The top of each turn of an engine's loop: the clock, the flags, the
 * timeouts, the exchanges to start.  Returns how long the wait may last,
 * in milliseconds, or -1 when the worker is done; *now is the time.
 */
int	bench_worker_turn(struct bench_worker *w, int64_t *now);

/*
 * The exchange of s ended as k, at end (monotonic ns; only an ok one
 * needs it): counted, its socket let go, and the slot started again on
 * the next turn.
 */
void	bench_worker_done(struct bench_worker *w, struct bench_slot *s,
	    enum bench_kind k, int64_t end);

/* The same for a bad reply, whose fault why names. */
void	bench_worker_bad(struct bench_worker *w, struct bench_slot *s,
	    const char *why);

/*
 * The datagram that starts the exchange of s, sent at s->start, into buf
 * of len bytes (at least BENCH_REQUEST_MAX): empty for the time
 * protocols; for NTP a client's request (mode 3) whose transmit
 * timestamp no other request of the run has, kept in s->xmt.  Returns
 * its length.
 */
size_t	bench_worker_request(struct bench_worker *w, struct bench_slot *s,
	    char *buf, size_t len);

/*
 * Whether the datagram buf[0..len) that came to s answers the request
 * of its exchange before this one (which timed out, or was answered
 * twice): a reply that came too late, to be dropped as if never read.
 * Only NTP can tell, by the origin.
 */
int	bench_worker_late(const struct bench_worker *w,
	    const struct bench_slot *s, const char *buf, size_t len);

/*
 * Whether the reply in buf, len bytes, that ended the exchange of s at
 * end is well-formed, the answer to its request (NTP) and its time near
 * ours: BENCH_OK, or BENCH_BAD with the fault kept.
 */
enum bench_kind bench_worker_check(struct bench_worker *w,
	    const struct bench_slot *s, const char *buf, size_t len,
	    int64_t end);

/* The kind of a failed exchange by its errno; an odd one is kept. */
enum bench_kind bench_worker_fault(struct bench_worker *w, int err);

#endif /* STAMP_BENCH_WORKER_H */
