/*
 * serve.h: what one connection or one datagram gets, whatever the model.
 *
 * Every server model calls these, so every model sends the same bytes and
 * counts the same things; the models differ only in how they wait.  Nothing
 * on this path allocates.
 */
#ifndef STAMP_SERVE_H
#define STAMP_SERVE_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

#include "net.h"
#include "proto.h"
#include "proxy.h"
#include "metrics.h"

/* One bound socket and what it serves. */
struct listener {
	int			fd;
	int			*rpfd;		/* --reuseport: a socket per
						   worker, rpfd[0] == fd */
	int			type;		/* SOCK_STREAM, SOCK_DGRAM */
	int			proto;		/* enum stamp_proto */
	int			proxy;		/* a PROXY header comes first */
	struct net_spec		spec;		/* as asked for, to rebind */
	struct sockaddr_storage	addr;		/* as bound */
	socklen_t		addrlen;
	char			name[NET_ADDRSTRLEN + 32]; /* tcp [::1]:1937 */
};

/*
 * Counters.  They may live in memory shared by the processes of a pool,
 * so they are only ever changed with serve_count (an atomic add).  Each
 * worker has a slot of its own so that workers do not fight over a line.
 */
enum stat_id {
	STAT_ACCEPTED,		/* connections accepted */
	STAT_TCP,		/* replies sent whole, per transport */
	STAT_UDP,
	STAT_STAMP,		/* replies, per protocol */
	STAT_TIME,
	STAT_DAYTIME,
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
	STAT_REPLY,		/* replies: 3 tcp (by protocol), 3 udp */
	STAT_SCRAPES = STAT_REPLY + 2 * STAMP_NPROTO, /* /metrics answered */
	STAT_WORKERS,		/* a gauge: processes or threads serving */
	STAT_N
};
struct stats {
	unsigned long long	 v[STAT_N];
	long long		 beat;	/* ms its loop last turned; 0: none */
	unsigned long long	 bucket[METRICS_NBUCKETS]; /* accept to reply */
	unsigned long long	 latency_us;
} __attribute__((aligned(64)));

/* The whole server, as the daemon's main built it for a model to run. */
struct server {
	struct listener	*ls;
	size_t		 nls;
	int		 verbose;	/* log Client:IP:PORT per client */
	int		 delay_ms;	/* wait before each reply */
	int		 workers;	/* threads or processes of a pool */
	int		 max_workers;	/* hard maximum of a growing pool */
	int		 min_spare;	/* dynamic pool: idle servers kept */
	int		 max_spare;
	int		 backlog;
	int		 linger_ms;	/* how long to drain a client's input */
	int		 reuseport;	/* a socket per worker (SO_REUSEPORT) */
	struct limits	*limits;	/* --max-conns, --per-ip, --rate */
	int		 udp_rate;	/* replies a second per source, 0: any */
	int		 limit_loopback; /* limits apply to loopback sources */
	struct net_cidr	*proxy_from;	/* who may send a PROXY header */
	size_t		 nproxy_from;
	struct stats	*stats;		/* nstats slots, maybe shared */
	size_t		 nstats;
	const char	*model_name;	/* for /metrics */
};

struct limits;

/*
 * The slot this thread counts its closes in (NULL: the first slot, the
 * main process's).  Each serving loop names its own.
 */
void	serve_slot(struct stats *st);

/*
 * A serving loop turns: it says so in its slot, for the watchdog
 * (notify.h).  Only while one is asked for; 0 says the loop has ended.
 */
void	serve_beat(struct stats *st, int alive);

/* Whether every loop that beats has turned within ms (model_fresh's). */
int	serve_fresh(void *srv, long long ms);

/* Set gauge s of slot st to n. */
static inline void
serve_gauge(struct stats *st, enum stat_id s, unsigned long long n)
{
	__atomic_store_n(&st->v[s], n, __ATOMIC_RELAXED);
}

/* Add n to counter s of slot st. */
static inline void
serve_count(struct stats *st, enum stat_id s, unsigned long long n)
{
	__atomic_fetch_add(&st->v[s], n, __ATOMIC_RELAXED);
}

/*
 * The reply of proto at this moment, into buf (STAMP_REPLY_MAX bytes is
 * enough).  The text of the current second is kept per thread, so a busy
 * server formats it once a second, not once a connection.
 * Returns its length, or -1 if the clock cannot be written in proto.
 */
int	serve_reply(int proto, char *buf, size_t len);

/*
 * The part of a PROXY header read so far.  Bytes are taken off the socket
 * only once they are known to be header, so the wait for the rest is a
 * wait for new bytes, never a spin on old ones.  len 0: none yet.
 */
struct serve_hdr {
	size_t			 len;
	int			 done;		/* whole: real is set */
	struct sockaddr_storage	 real;		/* the client it names */
	char			 buf[METRICS_REQUEST_MAX]; /* or the request
						   of a metrics listener */
};

/* Ready hdr for a new connection: nothing read yet. */
static inline void
serve_hdr_init(struct serve_hdr *hdr)
{
	hdr->len = 0;
	hdr->done = 0;
}

/*
 * Read, as far as it has come, the PROXY header of connection fd from peer
 * on a +proxy listener l, into hdr: 1 when it is whole (hdr->done, and
 * hdr->real is the client), 0 when more must arrive (wait until readable
 * and call again), -1 when it was refused and fd closed.  For a model that
 * hands a connection over only once its header is read, so that a peer
 * that sends nothing holds no worker.
 */
int	serve_header(const struct server *srv, const struct listener *l,
	    int fd, const struct sockaddr_storage *peer, struct serve_hdr *hdr,
	    struct stats *st);

/* What a connection needs next, from serve_stream. */
enum serve_next {
	SERVE_DRAIN,	/* wait until readable, then serve_linger */
	SERVE_DONE,	/* closed: nothing more */
	SERVE_HEADER,	/* wait until readable, then serve_stream again */
};

/*
 * Serve one accepted connection: on a +proxy listener read its PROXY
 * header first into hdr (the same hdr on every call for this connection,
 * made ready by serve_hdr_init before the first, or already done by
 * serve_header), and the real client replaces peer; log it when asked,
 * send
 * the reply, half-close and drain.  Returns what the connection needs
 * next; every wait it asks for is bounded by srv->linger_ms, and at the
 * deadline the caller calls serve_linger_timeout.  The caller never
 * closes fd itself.
 */
int	serve_stream(const struct server *srv, const struct listener *l,
	    int fd, const struct sockaddr_storage *peer, struct serve_hdr *hdr,
	    struct stats *st);

/*
 * The steps of serve_stream, for a model that does the reply's I/O itself
 * (uring, through its ring), so that it still logs and counts the same.
 * serve_stream_reply logs the client with -v and writes the reply of l
 * into buf (STAMP_REPLY_MAX bytes is enough): its length, or -1, counted
 * (close the connection).  serve_stream_sent counts what came of sending
 * it on connection fd: res bytes of len, or -errno.  serve_finish
 * half-closes fd and drains it without waiting: SERVE_DRAIN (wait until
 * readable, then serve_linger) or SERVE_DONE (closed).
 * serve_count_failure counts a failed system call on a connection, err
 * its errno: a client's fault (reset) or an error, logged.
 */
int	serve_stream_reply(const struct server *srv, const struct listener *l,
	    const struct sockaddr_storage *peer, char *buf, size_t len,
	    struct stats *st);
void	serve_stream_sent(const struct listener *l, int fd, int res, int len,
	    struct stats *st);
int	serve_finish(const struct listener *l, int fd, struct stats *st);
void	serve_count_failure(const struct listener *l, int err,
	    struct stats *st);

/*
 * Drain a lingering connection again: 1 when it is closed and done, 0 to
 * wait more.  serve_linger_timeout closes one whose time is up.
 */
int	serve_linger(int fd, struct stats *st);
void	serve_linger_timeout(int fd, struct stats *st);

/*
 * The same for a connection whose thread or process may block: read the
 * header (unless hdr, not NULL, is one already done), send, then drain
 * until EOF or srv->linger_ms, then close.  For the blocking models.
 */
void	serve_stream_blocking(const struct server *srv,
	    const struct listener *l, int fd,
	    const struct sockaddr_storage *peer, const struct serve_hdr *hdr,
	    struct stats *st);

/*
 * Answer the datagrams waiting on fd, a socket of UDP listener l (l->fd,
 * or a worker's own with --reuseport), at most max of them, and
 * return how many were read (0: none was waiting).  Never blocks.
 * Some are never answered, and counted: those from a port below 1024,
 * from 1937 or from a port stampd listens on; those that are themselves
 * replies of one of the three protocols (what another time server or an
 * echo service sends back: answering would start a loop); those whose
 * v4-mapped source crossed the wire as IPv6 (forged); and past
 * srv->udp_rate a second from one source, in one table that every worker
 * shares (a datagram that arrived on the loopback interface is spared,
 * unless srv->limit_loopback).  A reply that cannot be sent is counted,
 * and the rest of the batch still goes.
 */
int	serve_datagrams(const struct server *srv, const struct listener *l,
	    int fd, int max, struct stats *st);

/*
 * Take from fd the next datagram that may be answered, judged as above,
 * and put its source into from: 1, or 0 when none waits (those that may
 * not be answered are taken too, and counted).  For a reply that waits for
 * --delay.  Never blocks.
 */
int	serve_datagram_take(const struct server *srv, int fd,
	    struct sockaddr_storage *from, socklen_t *fromlen,
	    struct stats *st);

/*
 * For a model that receives datagrams itself (uring): whether the datagram
 * m, whose first len bytes are in req, may be answered at now (ms,
 * monotonic), judged and counted as serve_datagrams judges (m->msg_name
 * is its source, m->msg_control what the kernel said of its arrival,
 * m->msg_flags its MSG_TRUNC), and logged with -v.  serve_datagram_sent
 * counts what came of sending a reply of len bytes: res bytes, or -errno.
 */
int	serve_datagram_judge(const struct server *srv, const struct msghdr *m,
	    const char *req, size_t len, long long now, struct stats *st);
void	serve_datagram_sent(const struct listener *l, int res, int len,
	    struct stats *st);

/* Answer, from fd, the datagram that serve_datagram_take took. */
void	serve_datagram_to(const struct server *srv, const struct listener *l,
	    int fd, const struct sockaddr_storage *from, socklen_t fromlen,
	    struct stats *st);

/*
 * Ready the limits: the table of which fd holds which admitted
 * connection, the shared --udp-rate table, and the ports and interface
 * datagrams are judged by.  Called once, by main, once the listeners are
 * bound and before the model runs.  Returns 0, or -1 and errno.
 */
int	serve_init(const struct server *srv);

/*
 * Accept one connection on lfd, a socket of listener l (l->fd, or a
 * worker's own with --reuseport), that the limits admit; one they refuse
 * is closed at once and counted, and the next is tried.  Returns the fd (non-
 * blocking), or -1 with *pause saying what to do: 0, wait for the next
 * readiness (the queue is empty, or only refused ones were waiting); a
 * number of milliseconds to stop accepting for (out of fds or memory: the
 * error is counted, logged, and with EMFILE a pending client shed with the
 * spare fd, so that nothing spins); -1, the error is our own bug and the
 * server must stop.
 */
int	serve_accept(const struct listener *l, int lfd,
	    struct sockaddr_storage *peer, int *spare, struct stats *st,
	    int *pause);

/*
 * The half of serve_accept after the accept, for a model whose accepts
 * are done elsewhere (uring's ring): count connection fd from peer as
 * accepted, and admit it under the limits.  Returns 0, or -1 when a limit
 * refused it (closed and counted).  peer is read only when
 * serve_wants_peer says so for its listener: with limits, -v, or a PROXY
 * header; otherwise it may be NULL.
 */
int	serve_wants_peer(const struct server *srv, const struct listener *l);
int	serve_admit(int fd, const struct sockaddr_storage *peer,
	    struct stats *st);

/*
 * Count, log and classify a failed accept on lfd, a socket of l, err its
 * errno, as serve_accept does: returns what serve_accept says in *pause
 * (0, a pause in milliseconds, or -1: our own bug), having shed a pending
 * client with the spare fd on EMFILE.
 */
int	serve_accept_error(const struct listener *l, int lfd, int err,
	    int *spare, struct stats *st);

/*
 * Close a connection that serve_accept gave, giving back its place under
 * the limits.  Every close of a served connection goes through here, or
 * through serve_release, which does all of it but the close(2), for a
 * model that closes through its ring.
 */
void	serve_close(int fd);
void	serve_release(int fd);

/*
 * The connection fd is now served by child process pid: its place under
 * the limits goes with it, and the caller's copy is closed.
 */
void	serve_handover(int fd, pid_t pid);

/*
 * Process pid has ended, however: give back every place it still held.
 */
void	serve_reaped(pid_t pid);

/* Sum the slots and log one line of counters. */
void	serve_report(const struct server *srv);

/* Wait ms milliseconds, or less if a signal arrives. */
void	serve_sleep(int ms);

#endif /* STAMP_SERVE_H */
