/*
 * admit.h: who may be served, whatever the model.
 *
 * A connection is admitted under --max-conns, --per-ip and --rate when it
 * is accepted, and gives its place back when it closes, whichever process
 * closes it; a +proxy listener's client is named by a PROXY header from a
 * peer allowed to send one; a datagram is answered only if the reply can
 * do no harm: not to a service's port, not to a reply, not to a forged
 * source, not past --udp-rate.  Every refusal is counted.
 */
#ifndef STAMP_ADMIT_H
#define STAMP_ADMIT_H

#include <sys/types.h>
#include <sys/socket.h>

#include "metrics.h"
#include "server.h"
#include "stats.h"

/*
 * The part of a PROXY header read so far.  Bytes are taken off the socket
 * only once they are known to be header, so the wait for the rest is a
 * wait for new bytes, never a spin on old ones.  len 0: none yet.
 */
struct admit_hdr {
	size_t			 len;
	int			 done;		/* whole: real is set */
	struct sockaddr_storage	 real;		/* the client it names */
	char			 buf[METRICS_REQUEST_MAX]; /* or the request
						   of a metrics listener */
};

/* Ready hdr for a new connection: nothing read yet. */
static inline void
admit_hdr_init(struct admit_hdr *hdr)
{
	hdr->len = 0;
	hdr->done = 0;
}

/*
 * Ready the tables: which fd holds which admitted connection, the shared
 * --udp-rate table, the ports and interface datagrams are judged by.
 * Called once, by main, once the listeners are bound and before the
 * model runs.  Returns 0, or -1 and errno.
 */
int	admit_init(const struct server *srv);

/*
 * Accept one connection on lfd, a socket of listener l (l->fd, or a
 * worker's own with --reuseport), that the limits admit; one they refuse
 * is closed at once and counted, and the next is tried.  Returns the fd
 * (non-blocking), or -1 with *pause saying what to do: 0, wait for the
 * next readiness (the queue is empty, or only refused ones were waiting);
 * a number of milliseconds to stop accepting for (out of fds or memory:
 * the error is counted, logged, and with EMFILE a pending client shed with
 * the spare fd, so that nothing spins); -1, the error is our own bug and
 * the server must stop.
 */
int	admit_accept(const struct listener *l, int lfd,
	    struct sockaddr_storage *peer, int *spare, struct stats *st,
	    int *pause);

/*
 * Count, log and classify a failed accept on lfd, a socket of l, err its
 * errno, as admit_accept does: returns what admit_accept says in *pause
 * (0, a pause in milliseconds, or -1: our own bug), having shed a pending
 * client with the spare fd on EMFILE.
 */
int	admit_accept_error(const struct listener *l, int lfd, int err,
	    int *spare, struct stats *st);

/*
 * The half of admit_accept after the accept, for a model whose accepts
 * are done elsewhere (uring's ring): count connection fd of listener l
 * from peer as accepted, and admit it under the limits (a scrape under
 * ADMIT_SCRAPES_MAX alone).  Returns 0, or -1 when a limit refused it
 * (closed and counted).  peer is read only when admit_wants_peer says so
 * for its listener: with limits, -v, or a PROXY header; otherwise it may
 * be NULL.
 */
int	admit_wants_peer(const struct server *srv, const struct listener *l);
int	admit_conn(const struct listener *l, int fd,
	    const struct sockaddr_storage *peer, struct stats *st);

/*
 * Scrapes open at once, at most, per process: a metrics listener is
 * outside --max-conns, --per-ip and --rate, so that a scrape is answered
 * whatever the clients do; past this bound one is closed at once (and
 * counted as max-conns).  Each is bounded in time by --linger.
 */
#define ADMIT_SCRAPES_MAX	16

/*
 * Close a connection that admit_accept gave, giving back its place under
 * the limits.  Every close of a served connection goes through here, or
 * through admit_release, which does all of it but the close(2), for a
 * model that closes through its ring.
 */
void	admit_close(int fd);
void	admit_release(int fd);

/*
 * Call fn(fd) as connection fd is released, before it is closed: for a
 * protocol that keeps state per connection (proto_ntske.c), set once by
 * its row's init.
 */
void	admit_on_release(void (*fn)(int fd));

/*
 * The connection fd is now served by child process pid: its place under
 * the limits goes with it, and the caller's copy is closed.
 */
void	admit_handover(int fd, pid_t pid);

/* Process pid has ended, however: give back every place it still held. */
void	admit_reaped(pid_t pid);

/*
 * Read, as far as it has come, the PROXY header of connection fd from peer
 * on a +proxy listener l, into hdr: 1 when it is whole (hdr->done, and
 * hdr->real is the client), 0 when more must arrive (wait until readable
 * and call again), -1 when it was refused and fd closed.  Bytes are taken
 * off the socket only once they are known to be header, so the wait for
 * the rest is a wait for new bytes, never a spin on old ones.
 */
int	admit_header(const struct server *srv, const struct listener *l,
	    int fd, const struct sockaddr_storage *peer, struct admit_hdr *hdr,
	    struct stats *st);

/*
 * Whether the datagram m, whose first len bytes are in req, may be
 * answered at now (ms, monotonic); counts what it refuses.  Never
 * answered: one from a port below 1024 (but the one its protocol allows,
 * NTP's 123), from 1937 or from a port stampd listens on; one that is
 * itself a reply of any protocol stampd speaks (answering would start a
 * loop, or keep one going); one whose v4-mapped source crossed the wire as
 * IPv6 (forged); and past srv->udp_rate a second from one source, in one
 * table that every worker and process shares (a datagram that arrived on
 * the loopback interface is spared, unless srv->limit_loopback).
 * m->msg_name is its source, m->msg_control what the kernel said of its
 * arrival, m->msg_flags its MSG_TRUNC.
 */
int	admit_datagram(const struct server *srv, const struct listener *l,
	    const struct msghdr *m, const char *req, size_t len, long long now,
	    struct stats *st);

#endif /* STAMP_ADMIT_H */
