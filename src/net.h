/*
 * net.h: the thin socket layer.
 *
 * This is the only module that calls socket, bind, listen, accept4,
 * connect, send and recv.  It owns EINTR: every call here retries it, so
 * no caller needs to.  It never prints and never exits: it returns -1 with
 * errno set, or, for the listener parser, a sentence saying what is wrong.
 */
#ifndef STAMP_NET_H
#define STAMP_NET_H

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Room for "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535". */
#define NET_ADDRSTRLEN	64

/* One listener as written on the command line: tcp:127.0.0.1:1937/stamp. */
struct net_spec {
	int			type;	/* SOCK_STREAM or SOCK_DGRAM */
	int			proto;	/* enum stamp_proto */
	int			any;	/* "*": IPv6 and IPv4 on one socket */
	int			proxy;	/* "+proxy": a PROXY header first */
	int			metrics; /* "/metrics": Prometheus's, not the
					   time */
	struct sockaddr_storage	addr;
	socklen_t		addrlen;
};

/*
 * Parse "TRANSPORT:ADDRESS:PORT[/PROTOCOL]" into *spec.  TRANSPORT is tcp or
 * udp; ADDRESS a numeric IPv4 address, an IPv6 address in brackets, or "*"
 * for every address of both families; PORT 0 to 65535 (0: the kernel
 * chooses); PROTOCOL stamp (the default), time or daytime, and for tcp
 * "+proxy" after it: each client begins with a PROXY protocol header.
 * Returns NULL, or a static sentence naming the first thing that is wrong.
 * Pure: no I/O, no errno.
 */
const char	*net_parse_spec(const char *text, struct net_spec *spec);

/* An address block: 127.0.0.0/8, ::1/128, 10.1.2.3 (a /32). */
struct net_cidr {
	int		 family;	/* AF_INET or AF_INET6 */
	unsigned char	 addr[16];
	int		 bits;
};

/*
 * Parse "ADDRESS[/PREFIX]" into *c.  Returns NULL or a static sentence.
 * net_cidr_match says whether addr (v4-mapped IPv6 counts as IPv4) lies
 * in c.  Both pure.
 */
const char	*net_parse_cidr(const char *text, struct net_cidr *c);
int		 net_cidr_match(const struct net_cidr *c,
		    const struct sockaddr_storage *addr);

/*
 * Make the socket of a listener: socket, SO_REUSEADDR, (SO_REUSEPORT when
 * reuseport is set), IPV6_V6ONLY as the spec asks, bind, and for a stream
 * listen(backlog).  The socket is non-blocking and close-on-exec.  For "*"
 * it binds [::] for both families, or 0.0.0.0 where IPv6 is missing.
 * On success returns the fd and, if bound is not NULL, stores the address
 * actually bound (the port the kernel chose).  Returns -1 and errno.
 */
int		 net_listen(const struct net_spec *spec, int backlog,
		    int reuseport, struct sockaddr_storage *bound,
		    socklen_t *boundlen);

/*
 * Describe a socket made by someone else (systemd, inetd): its type and
 * the address it is bound to, into spec (proto is left as it is), and make
 * it non-blocking and close-on-exec.  Returns 0, or -1 and errno (ENOTSOCK
 * when fd is no socket, EINVAL when it is neither TCP nor UDP over IP).
 */
int		 net_adopt(int fd, struct net_spec *spec);

/*
 * accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC, EINTR retried.  *len is reset
 * from sizeof *peer on every call, as accept overwrites it.
 * Returns the new fd, or -1 and errno; see net_accept_error.
 */
int		 net_accept(int lfd, struct sockaddr_storage *peer,
		    socklen_t *len);

/* What to make of accept's errno, in one place for every model. */
enum net_accept_err {
	NET_ACCEPT_EMPTY,	/* EAGAIN: the queue is empty, wait */
	NET_ACCEPT_RETRY,	/* the client's fault (reset, aborted): go on */
	NET_ACCEPT_FDS,		/* EMFILE/ENFILE: shed load, don't spin */
	NET_ACCEPT_MEM,		/* ENOBUFS/ENOMEM: back off a little */
	NET_ACCEPT_FATAL,	/* EBADF, EINVAL...: our own bug */
};
enum net_accept_err net_accept_error(int err);

/*
 * Shed load when out of fds: close the spare fd, accept and close one
 * pending connection (so the client gets a FIN, not a hang), and take the
 * spare back.  *spare is an fd opened by net_spare_open, or -1.
 */
int		 net_spare_open(void);
void		 net_shed(int lfd, int *spare);

/*
 * Send all of buf on a socket, EINTR retried, never raising SIGPIPE; flags
 * are added to MSG_NOSIGNAL.  Returns len, or the short count sent before
 * EAGAIN (the caller decides), or -1 and errno.
 */
ssize_t		 net_send(int fd, const void *buf, size_t len, int flags);

/*
 * Send the n buffers of iov on a socket in one call, as far as it goes
 * without waiting, EINTR retried, never raising SIGPIPE.  Returns the
 * bytes sent (perhaps fewer than all), or -1 and errno (EAGAIN: none).
 */
ssize_t		 net_sendv(int fd, const struct iovec *iov, int n);

/*
 * Finish a served stream: half-close our side so the reply and a FIN leave
 * (a reply sent with MSG_MORE leaves in the same segment as the FIN), then
 * discard what the client has sent so far, without waiting.  Closing with
 * unread input would make the kernel send a reset, which can destroy the
 * reply still in flight: this is why we drain.
 * Returns 1 if the socket may be closed now (the client sent nothing, or
 * said EOF), 0 if it has been sending: the caller waits until readable and
 * calls net_drain, until it returns 1 or a deadline of the caller's passes.
 * net_drain returns 1 at the client's EOF, 0 to wait more.  Both return -1
 * and errno on an error (close it).
 */
int		 net_finish(int fd);
int		 net_drain(int fd);

/*
 * shutdown(SHUT_WR) alone, for a model whose drain is its own (uring):
 * 0, or -1 and errno.  net_peer: the address of fd's peer into *peer
 * (getpeername), for one who accepted without asking; 0, or -1 and errno.
 */
int		 net_shutdown(int fd);
int		 net_peer(int fd, struct sockaddr_storage *peer);

/*
 * Client side.  net_resolve fills addr for host and port (numeric or by
 * name) of family AF_UNSPEC, AF_INET or AF_INET6 and the given socket type;
 * it returns 0, or a getaddrinfo(3) error code (for gai_strerror).
 * net_connect makes a socket and connects it, waiting at most timeout_ms;
 * it returns the (blocking, close-on-exec) fd or -1 and errno (ETIMEDOUT).
 */
int		 net_resolve(const char *host, const char *port, int family,
		    int type, struct sockaddr_storage *addr, socklen_t *len);
int		 net_connect(const struct sockaddr *addr, socklen_t len,
		    int type, int timeout_ms);

/*
 * Wait until fd is readable (events POLLIN) or writable (POLLOUT), at most
 * timeout_ms (negative: forever).  Returns 1 when ready, 0 on timeout, -1
 * and errno.  EINTR is retried with the time that is left.
 */
int		 net_wait(int fd, short events, int timeout_ms);

/*
 * poll(2), except that a poll that failed zeroes every revents.  EINTR is
 * the caller's to judge: a signal's (sig_pending) is no failure, but one
 * that comes back turn after turn is (supervise_wait_failed).
 */
int		 net_poll(struct pollfd *fds, unsigned long n, int timeout_ms);

/*
 * recvfrom and sendto with EINTR retried (sendto never raises SIGPIPE).
 */
ssize_t		 net_recvfrom(int fd, void *buf, size_t len, int flags,
		    struct sockaddr_storage *from, socklen_t *fromlen);
ssize_t		 net_sendto(int fd, const void *buf, size_t len,
		    const struct sockaddr *to, socklen_t tolen);

/*
 * recv(2) that never waits (MSG_DONTWAIT is added to flags), EINTR
 * retried.  Returns the bytes read, 0 at EOF, or -1 and errno (EAGAIN
 * when nothing is there yet).
 */
ssize_t		 net_recv(int fd, void *buf, size_t len, int flags);

/*
 * Ask the kernel to tell, with each datagram that UDP socket fd (of
 * family) receives, where it arrived: IP_PKTINFO, and IPV6_RECVPKTINFO on
 * an IPv6 socket; with rxtime, when (SO_TIMESTAMPNS, the kernel's receive
 * time on CLOCK_REALTIME); and with txtime, when a datagram sent from fd
 * left, for each one sent with net_tx_ask's request, on fd's error queue
 * (SO_TIMESTAMPING, software): net_tx_stamps takes them, and they must be
 * taken (with txtime the kernel also reports, on receipt,
 * SCM_TIMESTAMPING: room for it is in NET_DGRAM_CTL too, or the control
 * data is cut and the arrival goes unknown).  Returns 0, or -1 and errno.
 * NET_DGRAM_CTL bytes of control data hold all of it.
 */
int		 net_dgram_info(int fd, int family, int rxtime, int txtime);
#define NET_DGRAM_CTL	(CMSG_SPACE(sizeof(struct in6_pktinfo)) + \
			    CMSG_SPACE(sizeof(struct in_pktinfo)) + \
			    CMSG_SPACE(sizeof(struct timespec)) + \
			    CMSG_SPACE(3 * sizeof(struct timespec)))

/*
 * The kernel's receive time of a received message, from its control
 * data, into *ts: 0, or -1 when it does not say.
 */
int		 net_dgram_rxtime(const struct msghdr *m, struct timespec *ts);

/*
 * Ask for the transmit time of the one datagram m sends, on a socket that
 * net_dgram_info set up with txtime: m's control data becomes ctl's
 * request (SO_TIMESTAMPING's flags as a message's, not the socket's), so
 * that only the replies whose time is wanted cost the kernel a copy.
 */
union net_tx_ask {
	char		 buf[CMSG_SPACE(sizeof(uint32_t))];
	size_t		 align;		/* a cmsghdr's (one has a
					   flexible array: not a member) */
};
void		 net_tx_ask(struct msghdr *m, union net_tx_ask *ctl);

/*
 * One transmit time from a socket's error queue: the datagram it stamps
 * as the kernel looped it back (its headers, then the payload: the
 * payload is the last len bytes of buf), and when it left (0: the message
 * has no time).
 */
#define NET_TX_BATCH	32
struct net_tx_stamp {
	struct timespec	 ts;
	size_t		 len;
	char		 buf[512];
	char		 ctl[CMSG_SPACE(3 * sizeof(struct timespec)) + 64];
};

/*
 * Take up to n (NET_TX_BATCH at most) transmit times from fd's error
 * queue at once, without waiting, into st.  Returns how many (0: the
 * queue is empty), or -1 and errno.
 */
int		 net_tx_stamps(int fd, struct net_tx_stamp *st, int n);

/*
 * What a received message's control data says of its arrival: the family
 * it crossed the wire in (AF_INET, AF_INET6, or AF_UNSPEC when it does not
 * say), and the interface, into *ifindex (0 when unknown).  An IPv4
 * datagram on a dual-stack socket has a v4-mapped source and AF_INET; an
 * IPv6 one that claims such a source has AF_INET6, and is forged.
 */
int		 net_dgram_arrival(const struct msghdr *m, int *ifindex);

/*
 * recvmmsg and sendmmsg of up to n datagrams, never waiting, EINTR retried
 * (sendmmsg never raises SIGPIPE).  Return how many, or -1 and errno; an
 * empty queue is 0, not an error.
 */
int		 net_recvmmsg(int fd, struct mmsghdr *msgs, unsigned int n);
int		 net_sendmmsg(int fd, struct mmsghdr *msgs, unsigned int n);

/*
 * Close fd without disturbing errno, on a failure path: the caller
 * reports the first failure, not the close's.
 */
void		 net_close(int fd);

/*
 * Set an int-valued socket option (setsockopt with value).  Returns 0, or
 * -1 and errno.
 */
int		 net_setopt(int fd, int level, int name, int value);

/*
 * Write addr as "127.0.0.1:1937" or "[::1]:1937" into buf (NET_ADDRSTRLEN
 * bytes is always enough).  A v4-mapped IPv6 address is written as IPv4.
 * Returns buf.
 */
char		*net_addr_str(const struct sockaddr *addr, char *buf,
		    size_t len);

/*
 * A key for the source of addr, for limits: the IPv4 address, or the /64
 * of an IPv6 one (a network is handed a /64 at a time, so it counts as
 * one source); a v4-mapped address keys as IPv4.  *loopback says whether
 * the source is a loopback address.  Pure.
 */
uint64_t	 net_source_key(const struct sockaddr_storage *addr,
		    int *loopback);

/* The port of an AF_INET or AF_INET6 address, in host order. */
int		 net_addr_port(const struct sockaddr *addr);

#endif /* STAMP_NET_H */
