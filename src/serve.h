/*
 * serve.h: what one connection or one datagram gets, whatever the model.
 *
 * Every server model calls these, so every model sends the same bytes and
 * counts the same things; the models differ only in how they wait.  Nothing
 * on this path allocates.  Who may be served is admit.h's to judge, what
 * each protocol replies its row's (proto.h), what is counted stats.h's.
 */
#ifndef STAMP_SERVE_H
#define STAMP_SERVE_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

#include "metrics.h"
#include "net.h"
#include "admit.h"
#include "proto.h"
#include "server.h"
#include "stats.h"


/*
 * The reply of proto at this moment, into buf (STAMP_REPLY_MAX bytes is
 * enough).  The text of the current second is kept per thread, so a busy
 * server formats it once a second, not once a connection.
 * Returns its length, or -1 if the clock cannot be written in proto.
 */
int	serve_reply(int proto, char *buf, size_t len);

/* What a connection needs next, from serve_stream. */
enum serve_next {
	SERVE_DRAIN,	/* wait until readable, then serve_linger */
	SERVE_DONE,	/* closed: nothing more */
	SERVE_HEADER,	/* wait until readable, then serve_stream again */
};

/*
 * Serve one accepted connection: on a +proxy listener read its PROXY
 * header first into hdr (the same hdr on every call for this connection,
 * made ready by admit_hdr_init before the first, or already done by
 * admit_header), and the real client replaces peer; send the reply, log
 * it when asked (-v), half-close and drain.  Returns what the connection needs
 * next; every wait it asks for is bounded by srv->linger_ms, and at the
 * deadline the caller calls serve_linger_timeout.  The caller never
 * closes fd itself.
 */
int	serve_stream(const struct server *srv, const struct listener *l,
	    int fd, const struct sockaddr_storage *peer, struct admit_hdr *hdr,
	    struct stats *st);

/*
 * Whether a connection of l reads before its reply: a PROXY header, a
 * metrics request, or a protocol that converses (NTS-KE), each called
 * again through serve_stream as it becomes readable.  serve_in_loop: the
 * metrics request and the conversation, which a model serves in its own
 * loop (they are cheap, bounded by --linger, and hold no worker) rather
 * than handing them to a child or a thread.
 */
int	serve_reads_first(const struct listener *l);
int	serve_in_loop(const struct listener *l);

/*
 * The steps of serve_stream, for a model that does the reply's I/O itself
 * (uring, through its ring), so that it still logs and counts the same.
 * serve_stream_reply writes the reply of l into buf (STAMP_REPLY_MAX
 * bytes is enough): its length, or -1, counted and logged with -v (close
 * the connection).  serve_stream_sent counts what came of sending it on
 * connection fd to peer, res bytes of len or -errno, and logs it with -v
 * (serve_log_conn).  serve_finish
 * half-closes fd and drains it without waiting: SERVE_DRAIN (wait until
 * readable, then serve_linger) or SERVE_DONE (closed).
 * serve_count_failure counts a failed system call on a connection, err
 * its errno: a client's fault (reset) or an error, logged.
 */
int	serve_stream_reply(const struct server *srv, const struct listener *l,
	    const struct sockaddr_storage *peer, char *buf, size_t len,
	    struct stats *st);
void	serve_stream_sent(const struct server *srv, const struct listener *l,
	    int fd, const struct sockaddr_storage *peer, int res, int len,
	    struct stats *st);
int	serve_finish(const struct listener *l, int fd, struct stats *st);
void	serve_count_failure(const struct listener *l, int err,
	    struct stats *st);

/*
 * With -v, the access log's line of connection fd of l: its client peer
 * (NULL: asked of fd), what came of it in a word (ok, reset, error...),
 * and the time since its accept.  Within the access log's budget
 * (log.h), or counted as dropped (STAT_LOG_DROPPED).  Every per-client
 * line of every model and protocol is written by serve.c this way; a
 * protocol that converses (NTS-KE) calls it as its connection ends,
 * before closing fd.
 */
void	serve_log_conn(const struct server *srv, const struct listener *l,
	    int fd, const struct sockaddr_storage *peer, const char *result,
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
	    const struct sockaddr_storage *peer, const struct admit_hdr *hdr,
	    struct stats *st);

/*
 * Of a datagram, what is kept: a request of any protocol whole, NTP's
 * extension fields and legacy MAC included.  A longer one is judged
 * truncated, and gets no reply from a protocol that reads requests.
 */
#define SERVE_REQ_MAX		1024
/* A datagram's reply: never longer than its request (NTS's included). */
#define SERVE_REPLY_MAX		SERVE_REQ_MAX

/* A datagram to answer: who sent it, what it asked, and when. */
struct serve_dgram {
	struct sockaddr_storage	 from;
	socklen_t		 fromlen;
	size_t			 len;	/* of req */
	int			 trunc;	/* it was longer than req */
	struct timespec		 rx;	/* when it came; 0: unknown */
	long long		 got_us; /* -v: when it was taken (us,
					   monotonic); 0: no line to log */
	const char		*result; /* -v: its row's word, or NULL */
	char			 req[SERVE_REQ_MAX];
};

/*
 * Answer the datagrams waiting on fd, a socket of UDP listener l (l->fd,
 * or a worker's own with --reuseport), at most max of them, and return how
 * many were read (0: none was waiting).  Never blocks.  Each is judged by
 * admit_datagram first, and answered by its protocol's row; a reply that
 * cannot be sent is counted, and the rest of the batch still goes.
 */
int	serve_datagrams(const struct server *srv, const struct listener *l,
	    int fd, int max, struct stats *st);

/*
 * Take from fd, a socket of l, the next datagram that may be answered,
 * judged as above, into d: 1, or 0 when none waits (those that may not be
 * answered are taken too, and counted).  For a reply that waits for
 * --delay; serve_datagram_to answers it from fd then.  Never blocks.
 */
int	serve_datagram_take(const struct server *srv,
	    const struct listener *l, int fd, struct serve_dgram *d,
	    struct stats *st);
void	serve_datagram_to(const struct listener *l, int fd,
	    struct serve_dgram *d, struct stats *st);

/*
 * For a model that receives and sends datagrams itself (uring), the steps
 * of serve_datagrams.  serve_datagram_judge: whether the datagram m (of
 * listener l), whose first len bytes are in req, may be answered at now
 * (ms, monotonic), judged and counted as admit_datagram judges (one
 * refused is logged with -v).  serve_datagram_keep keeps it, with len
 * bytes of it at req (they may be d->req already), in d, as
 * serve_datagram_take would.  serve_datagram_reply writes the reply to d,
 * received on fd, into buf: its length, 0 for none, or -1 (counted, and
 * with -v logged when there is none); a reply that names an earlier one
 * whose departure is not known yet has fd's queue of them read first.
 * serve_sending gives the reply in m's one buffer its last touch, and when
 * its row wants to know when that reply leaves, asks for it in m's control
 * data, kept in ask: call it just before the send, and when it returns 1
 * call serve_tx_stamps after it.  serve_datagram_sent counts what came of sending the reply to d
 * of len bytes: res bytes, or -errno, and logs it with -v.  A datagram's
 * line is written by the step that ends it.
 */
int	serve_datagram_judge(const struct server *srv,
	    const struct listener *l, const struct msghdr *m, const char *req,
	    size_t len, long long now, struct stats *st);
void	serve_datagram_keep(const struct server *srv,
	    const struct listener *l, const struct msghdr *m, const char *req,
	    size_t len, struct serve_dgram *d);
int	serve_datagram_reply(const struct listener *l, int fd,
	    struct serve_dgram *d, char *buf, size_t len, struct stats *st);
int	serve_sending(const struct listener *l, struct msghdr *m,
	    union net_tx_ask *ask);
void	serve_datagram_sent(const struct listener *l,
	    const struct serve_dgram *d, int res, int len, struct stats *st);

/*
 * Take what the kernel said of when the replies sent from fd, a socket of
 * l, left (its error queue), for a protocol that wants it: every model
 * calls it after a send that asked (serve_sending), and when fd polls as
 * in error, which is what the kernel's word makes it.  One worker of every process reads and
 * keeps them at a time, so that a departure another is keeping is never
 * missed; it waits for that other at most a few milliseconds.
 */
void	serve_tx_stamps(const struct listener *l, int fd);

/*
 * Ready what serving needs: each protocol's row, the counters (stats_init)
 * and the judges of connections and datagrams (admit_init).  Called once,
 * by main, once the listeners are bound and before the model runs.
 * Returns 0, or -1 with a sentence in *why.
 */
int	serve_init(const struct server *srv, const char **why);

/* SIGHUP: each protocol rereads what it reads from files (a certificate). */
void	serve_reload(void);

#endif /* STAMP_SERVE_H */
