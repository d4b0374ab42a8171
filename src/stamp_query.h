/*
 * stamp_query.h: the client's exchange with one server, below what it
 * prints: the deadline that bounds it all, the name resolved within that
 * deadline, the reply read over TCP or asked for over UDP with resends.
 *
 * For the client only (stamp.c and its stamp_*.c).  Nothing here prints
 * or exits: a call returns -1 (or a getaddrinfo code) with errno, and the
 * client's steps say what went wrong.  Over TCP it never sends a byte and
 * reads at most one byte more than STAMP_QUERY_LIMIT; over UDP it sends an
 * empty datagram, or what the request hook builds.
 */
#ifndef STAMP_STAMP_QUERY_H
#define STAMP_STAMP_QUERY_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* More than any protocol needs: a longer reply is malformed. */
#define STAMP_QUERY_LIMIT	512

/* The most datagrams -r lets us send: one, and 100 more. */
#define STAMP_QUERY_TRIES	101

/* One question to one server, and its answer. */
struct stamp_query {
	const char		*host;
	char			 port[8];
	int			 family;	/* or AF_UNSPEC */
	int			 type;		/* SOCK_STREAM, SOCK_DGRAM */
	int			 retries;
	struct timespec		 deadline;	/* CLOCK_MONOTONIC */
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	char			 reply[STAMP_QUERY_LIMIT + 1];
	size_t			 len;		/* > STAMP_QUERY_LIMIT: too
						   long */
	struct timespec		 sent, got;	/* CLOCK_REALTIME */
	/*
	 * UDP: sends one request on the connected fd, stamps q->sent and
	 * keeps what it needs in xmt and nsent; returns 0, or -1 and errno.
	 * NULL: an empty datagram.  With a hook the reply's arrival is the
	 * kernel's receive time (NTP's t4), not ours after the call.
	 */
	int			(*request)(int fd, struct stamp_query *q);
	uint64_t		 xmt[STAMP_QUERY_TRIES];	/* each one's */
	size_t			 nsent;
};

/* Set *ts to ms milliseconds from now on clock. */
void		 stamp_query_deadline(struct timespec *ts, clockid_t clock,
		    long long ms);

/* The milliseconds left until deadline (CLOCK_MONOTONIC); <= 0: passed. */
long long	 stamp_query_left(const struct timespec *deadline);

/*
 * Resolve q->host and q->port (of q->family and q->type) into q->addr
 * before q->deadline.  Returns 0, a getaddrinfo error code (EAI_SYSTEM:
 * see errno), or EAI_AGAIN with errno ETIMEDOUT when the deadline passed.
 * At most one resolution may be under way in a process (one after
 * another is fine): a late one is abandoned in its thread, still blocked,
 * and dies with the process.
 */
int		 stamp_query_resolve(struct stamp_query *q);

/*
 * Connect to q->addr over TCP and read until EOF what the server sends, at
 * most STAMP_QUERY_LIMIT + 1 bytes, into q->reply and q->len; q->sent is
 * the connect, q->got the first byte.  Returns 0, or -1 and errno
 * (ETIMEDOUT when q->deadline passed).
 */
int		 stamp_query_tcp(struct stamp_query *q);

/*
 * Receive one datagram from fd into buf (size bytes), its source into from
 * (NULL: not wanted) and its control data into ctl (ctllen bytes, aligned
 * for a struct cmsghdr).  Fills *m for the caller to read the datagram's
 * length (msg_len), its flags (MSG_TRUNC: cut to size) and the control
 * messages; its msg_iov is cleared, as the iovec was the call's own.
 * Returns 1, 0 when none was waiting, or -1 and errno.
 */
int		 stamp_query_recv(int fd, void *buf, size_t size,
		    struct sockaddr_storage *from, void *ctl, size_t ctllen,
		    struct mmsghdr *m);

/*
 * Send q's request to q->addr over UDP and wait for one reply, resending
 * up to q->retries times, after each share of what is left before
 * q->deadline.  The reply goes into q->reply and q->len, its arrival into
 * q->got.  Returns 0, or -1 and errno (ETIMEDOUT: no reply in time,
 * ECONNREFUSED: the server's port is closed).
 */
int		 stamp_query_udp(struct stamp_query *q);

#endif /* STAMP_STAMP_QUERY_H */
