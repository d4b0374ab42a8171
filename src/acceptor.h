/*
 * acceptor.h: the one acceptor of every model that waits in poll.
 *
 * It owns what every such model used to write for itself: the poll set
 * (the signal pipe, a model's own fd, every listening socket, including
 * each socket of a --reuseport group, and one epoll set of the connections
 * waited on, for their first bytes or their drain, with a bound per
 * source), the pause of a listener that ran out of fds or memory, the
 * spare fd, how many connections or datagrams a turn takes, the delay (a
 * timer, never a sleep: the loop turns, beats and answers scrapes while a
 * reply waits; cut short only by a stop), and the stop itself: what the
 * kernel has queued is served and what is in flight finishes, within
 * --linger, before it returns.
 *
 * A model says what it does differently through acceptor_ops: the serial
 * models (iterative, and each worker of a pool) leave conn and dgram NULL
 * and the acceptor serves one client at a time; fork and threads hand each
 * connection, and each delayed datagram, to a child or a thread.
 */
#ifndef STAMP_ACCEPTOR_H
#define STAMP_ACCEPTOR_H

#include <sys/types.h>
#include <sys/socket.h>

#include <poll.h>

#include "serve.h"
#include "srcwait.h"

struct acceptor_ops {
	/*
	 * Take connection fd, accepted on l, to serve elsewhere; on a +proxy
	 * listener only once its header is whole, in hdr (else NULL), so
	 * that a peer that sends nothing holds no child and no thread.
	 * Returns 0 once it is taken, -1 if it cannot be now: the acceptor
	 * serves that one itself, at once, and rests the listener a moment.
	 */
	int	(*conn)(void *arg, const struct listener *l, int fd,
		    const struct sockaddr_storage *peer,
		    const struct admit_hdr *hdr);
	/* The same for datagram d, taken off lfd, with --delay. */
	int	(*dgram)(void *arg, const struct listener *l, int lfd,
		    const struct serve_dgram *d);
	/* How many more conn and dgram can take now (NULL: any). */
	int	(*room)(void *arg);
	/*
	 * The loop cannot take a client (1: it waits out --delay) or can
	 * again (0): dynamic's scoreboard.
	 */
	void	(*busy)(void *arg, int on);
	/* The model's fd is readable, or sigs (SIG_CHILD) came. */
	void	(*wake)(void *arg, int sigs);
};

struct port;
struct waiter;
struct later;

struct acceptor {
	const struct server		*srv;
	const struct acceptor_ops	*ops;
	void				*arg;
	struct stats			*st;
	int				 fd;	/* the model's, or -1 */
	struct port			*port;
	size_t				 nport;
	/*
	 * Waited on: for their first bytes, at most SRCWAIT_PER_SOURCE from
	 * one source (sw), or to drain; SRCWAIT_MAX in all.
	 */
	struct waiter			*w;
	int				 nw, maxw;
	int				 oldest, newest; /* by deadline */
	int				 unused;	/* a free waiter */
	struct srcwait			 sw;	/* those waiting for bytes */
	int				 epfd;	/* the waiters' epoll set */
	struct later			*later;	/* kept for --delay */
	int				 waiting; /* later holds one */
	struct pollfd			*pfd;
	int				 spare;
	int				 sigs;	/* taken, not yet acted on */
	int				 stopping;
	long long			 failing; /* poll failing since */
};

/*
 * Ready a for the listeners of srv, counting into st; ops (NULL: serve
 * everything here) and arg are the model's.  Returns 0, or -1 and errno.
 */
int	acceptor_init(struct acceptor *a, const struct server *srv,
	    struct stats *st, const struct acceptor_ops *ops, void *arg);
void	acceptor_free(struct acceptor *a);

/*
 * Serve until a stop, then as acceptor_finish.  Returns 0, or -1 after a
 * failure of our own (logged): the model must stop.
 */
int	acceptor_run(struct acceptor *a);

/*
 * The stop: serve, at once, the connections and datagrams the kernel has
 * already queued, and wait for the connections in flight, each within
 * --linger.  Alone, it is what a process does last before it closes the
 * listeners, so that nothing that arrived meanwhile is reset.
 */
void	acceptor_finish(struct acceptor *a);

/*
 * The one stop routine of every model: serve at once what the kernel has
 * queued on fd, a socket of l, so that closing it resets none of it.  Each
 * connection, accepted and admitted, goes to conn(arg, i, fd, peer), i
 * the listener's index in srv->ls; datagrams are answered here, in
 * st.  Bounded: a flood does not hold the stop.
 */
void	acceptor_last(const struct server *srv, const struct listener *l,
	    int fd, int *spare, struct stats *st, void (*conn)(void *arg,
	    size_t i, int fd, const struct sockaddr_storage *peer),
	    void *arg);

/*
 * In a child about to serve one client: close every listening socket but
 * keep, and the spare fd, so that the port is never held by a child.
 */
void	acceptor_forget(struct acceptor *a, int keep);

#endif /* STAMP_ACCEPTOR_H */
