/*
 * net.c: sockets, and nothing but sockets.
 *
 * Every system call that can be interrupted is retried here on EINTR, so
 * the rest of the program never sees it.  Nothing here prints or exits.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net.h"
#include "wire.h"
#include "util.h"

static int
parse_port(const char *s, size_t n)
{
	int	 port = 0;
	size_t	 i;

	if (n == 0 || n > 5)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		port = port * 10 + (s[i] - '0');
	}
	return port <= 65535 ? port : -1;
}

#define PROTO_WANT \
	"protocol must be stamp, time, daytime, ntp, nts-ke or metrics"

/* The "/PROTOCOL[+proxy]" after a port, at slash, into spec. */
static const char *
parse_proto(const char *slash, struct net_spec *spec)
{
	char	 name[16];
	size_t	 n = strcspn(slash + 1, "+");

	if (n >= sizeof name)
		return PROTO_WANT;
	memcpy(name, slash + 1, n);
	name[n] = '\0';
	if (strcmp(name, "metrics") == 0) {
		if (spec->type != SOCK_STREAM || slash[1 + n] != '\0')
			return "metrics needs tcp, and no +proxy";
		spec->metrics = 1;
		spec->proto = STAMP_PROTO_STAMP;
		return NULL;
	}
	if ((spec->proto = wire_proto_find(name)) == -1)
		return PROTO_WANT;
	if (wire_proto_udp_only(spec->proto) && spec->type != SOCK_DGRAM)
		return "ntp needs udp";
	if (wire_proto_tcp_only(spec->proto) && spec->type != SOCK_STREAM)
		return "nts-ke needs tcp";
	if (slash[1 + n] == '+') {
		if (strcmp(slash + 1 + n, "+proxy") != 0)
			return "the only option after + is proxy";
		if (spec->type != SOCK_STREAM)
			return "+proxy needs tcp";
		if (wire_proto_tcp_only(spec->proto))
			return "nts-ke takes no +proxy";
		spec->proxy = 1;
	}
	return NULL;
}

/* The address host (in [] if bracketed) and port, into spec. */
static const char *
parse_addr(const char *host, int bracketed, int port, struct net_spec *spec)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&spec->addr;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&spec->addr;

	if (!bracketed && strcmp(host, "*") != 0) {
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return "not a numeric IPv4 address (IPv6 goes in [])";
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		spec->addrlen = sizeof *sin;
		return NULL;
	}
	if (!bracketed) {
		spec->any = 1;
		sin6->sin6_addr = in6addr_any;
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
		return "not a numeric IPv6 address";
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	spec->addrlen = sizeof *sin6;
	return NULL;
}

const char *
net_parse_spec(const char *text, struct net_spec *spec)
{
	const char	*p, *addr, *addrend, *port, *slash, *why;
	char		 host[INET6_ADDRSTRLEN];
	size_t		 n;
	int		 portnum;

	memset(spec, 0, sizeof *spec);
	if (strncmp(text, "tcp:", 4) == 0)
		spec->type = SOCK_STREAM;
	else if (strncmp(text, "udp:", 4) == 0)
		spec->type = SOCK_DGRAM;
	else
		return "transport must be tcp or udp";
	addr = text + 4;

	if (*addr == '[') {
		addr++;
		if ((addrend = strchr(addr, ']')) == NULL)
			return "IPv6 address has no closing ']'";
		p = addrend + 1;
	} else {
		addrend = strchr(addr, ':');
		if (addrend == NULL)
			return "no port: want TRANSPORT:ADDRESS:PORT";
		p = addrend;
	}
	if (*p != ':')
		return "no port: want TRANSPORT:ADDRESS:PORT";
	port = p + 1;

	spec->proto = STAMP_PROTO_STAMP;
	n = strlen(port);
	if ((slash = strchr(port, '/')) != NULL) {
		if ((why = parse_proto(slash, spec)) != NULL)
			return why;
		n = (size_t)(slash - port);
	}
	if ((portnum = parse_port(port, n)) == -1)
		return "port must be a number from 0 to 65535";

	n = (size_t)(addrend - addr);
	if (n == 0)
		return "no address: use * for every address";
	if (n >= sizeof host)
		return "address too long";
	memcpy(host, addr, n);
	host[n] = '\0';
	return parse_addr(host, addr[-1] == '[', portnum, spec);
}

int
net_setopt(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof value);
}

void
net_close(int fd)
{
	int	 saved = errno;

	close(fd);
	errno = saved;
}

int
net_dgram_info(int fd, int family, int rxtime, int txtime)
{
	int	 ts = SOF_TIMESTAMPING_SOFTWARE;	/* reported; each send
						   asks for its own */

	/* On an IPv6 socket, IPv4 datagrams carry IPv4's control data. */
	if (net_setopt(fd, IPPROTO_IP, IP_PKTINFO, 1) == -1)
		return -1;
	if (family == AF_INET6 &&
	    net_setopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1) == -1)
		return -1;
	/* Set either way: a socket handed over may have had them. */
	if (net_setopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, rxtime) == -1 ||
	    net_setopt(fd, SOL_SOCKET, SO_TIMESTAMPING, txtime ? ts : 0) == -1)
		return -1;
	return 0;
}

void
net_tx_ask(struct msghdr *m, union net_tx_ask *ctl)
{
	struct cmsghdr	*c;
	uint32_t	 flags = SOF_TIMESTAMPING_TX_SOFTWARE;

	memset(ctl, 0, sizeof *ctl);
	m->msg_control = ctl->buf;
	m->msg_controllen = CMSG_SPACE(sizeof flags);
	c = CMSG_FIRSTHDR(m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SO_TIMESTAMPING;
	c->cmsg_len = CMSG_LEN(sizeof flags);
	memcpy(CMSG_DATA(c), &flags, sizeof flags);
}

int
net_tx_stamps(int fd, struct net_tx_stamp *st, int n)
{
	struct mmsghdr		 m[NET_TX_BATCH];
	struct iovec		 iov[NET_TX_BATCH];
	struct scm_timestamping	 sts;
	struct cmsghdr		*c;
	int			 i, r;

	if (n > NET_TX_BATCH)
		n = NET_TX_BATCH;
	memset(m, 0, sizeof m[0] * (size_t)n);
	for (i = 0; i < n; i++) {
		iov[i].iov_base = st[i].buf;
		iov[i].iov_len = sizeof st[i].buf;
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
		m[i].msg_hdr.msg_control = st[i].ctl;
		m[i].msg_hdr.msg_controllen = sizeof st[i].ctl;
	}
	do
		r = recvmmsg(fd, m, (unsigned)n, MSG_ERRQUEUE | MSG_DONTWAIT,
		    NULL);
	while (r == -1 && errno == EINTR);
	if (r == -1)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	for (i = 0; i < r; i++) {
		st[i].len = m[i].msg_len;
		st[i].ts.tv_sec = st[i].ts.tv_nsec = 0;
		for (c = CMSG_FIRSTHDR(&m[i].msg_hdr); c != NULL;
		    c = CMSG_NXTHDR(&m[i].msg_hdr, c))
			if (c->cmsg_level == SOL_SOCKET &&
			    c->cmsg_type == SCM_TIMESTAMPING) {
				/* ts[0]: the software stamp; 2 the card's. */
				memcpy(&sts, CMSG_DATA(c), sizeof sts);
				st[i].ts = sts.ts[0];
			}
	}
	return r;
}

int
net_dgram_rxtime(const struct msghdr *m, struct timespec *ts)
{
	const struct cmsghdr	*c;

	for (c = CMSG_FIRSTHDR((struct msghdr *)m); c != NULL;
	    c = CMSG_NXTHDR((struct msghdr *)m, (struct cmsghdr *)c))
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_TIMESTAMPNS) {
			memcpy(ts, CMSG_DATA(c), sizeof *ts);
			return 0;
		}
	return -1;
}

int
net_dgram_arrival(const struct msghdr *m, int *ifindex)
{
	const struct cmsghdr	*c;
	struct in_pktinfo	 pi;
	struct in6_pktinfo	 pi6;
	int			 wire = AF_UNSPEC;

	/*
	 * An IPv4 datagram on an IPv6 socket brings both: IPV6_PKTINFO with
	 * a v4-mapped destination, and IP_PKTINFO, which alone says IPv4.
	 */
	*ifindex = 0;
	for (c = CMSG_FIRSTHDR((struct msghdr *)m); c != NULL;
	    c = CMSG_NXTHDR((struct msghdr *)m, (struct cmsghdr *)c)) {
		if (c->cmsg_level == IPPROTO_IP &&
		    c->cmsg_type == IP_PKTINFO) {
			memcpy(&pi, CMSG_DATA(c), sizeof pi);
			*ifindex = pi.ipi_ifindex;
			return AF_INET;
		}
		if (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO) {
			memcpy(&pi6, CMSG_DATA(c), sizeof pi6);
			*ifindex = (int)pi6.ipi6_ifindex;
			wire = AF_INET6;
		}
	}
	return wire;
}

static int
bind_one(const struct net_spec *spec, const struct sockaddr *addr,
    socklen_t len, int backlog, int reuseport)
{
	int	 fd;

	fd = socket(addr->sa_family, spec->type | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		return -1;
	/*
	 * SO_REUSEADDR lets a TCP listener bind beside connections still in
	 * TIME_WAIT.  On UDP it would let a second socket, of any user, take
	 * the port and the datagrams: a UDP port stays ours alone.
	 */
	if ((spec->type == SOCK_STREAM &&
	    net_setopt(fd, SOL_SOCKET, SO_REUSEADDR, 1) == -1) ||
	    (reuseport && net_setopt(fd, SOL_SOCKET, SO_REUSEPORT, 1) == -1))
		goto fail;
	/*
	 * An explicit [::] means IPv6 only, so that it can stand beside an
	 * explicit 0.0.0.0 on the same port; "*" means both on one socket.
	 */
	if (addr->sa_family == AF_INET6 &&
	    net_setopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, !spec->any) == -1)
		goto fail;
	if (bind(fd, addr, len) == -1)
		goto fail;
	if (spec->type == SOCK_STREAM && listen(fd, backlog) == -1)
		goto fail;
	return fd;
fail:
	net_close(fd);
	return -1;
}

int
net_listen(const struct net_spec *spec, int backlog, int reuseport,
    struct sockaddr_storage *bound, socklen_t *boundlen)
{
	struct sockaddr_in	 sin;
	socklen_t		 len;
	int			 fd;

	fd = bind_one(spec, (const struct sockaddr *)&spec->addr,
	    spec->addrlen, backlog, reuseport);
	if (fd == -1 && spec->any && errno == EAFNOSUPPORT) {
		/* A kernel without IPv6: "*" falls back to every IPv4. */
		memset(&sin, 0, sizeof sin);
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_ANY);
		sin.sin_port = ((const struct sockaddr_in6 *)&spec->addr)
		    ->sin6_port;
		fd = bind_one(spec, (struct sockaddr *)&sin, sizeof sin,
		    backlog, reuseport);
	}
	if (fd == -1 || bound == NULL)
		return fd;
	len = sizeof *bound;
	if (getsockname(fd, (struct sockaddr *)bound, &len) == -1) {
		net_close(fd);
		return -1;
	}
	if (boundlen != NULL)
		*boundlen = len;
	return fd;
}

const char *
net_parse_cidr(const char *text, struct net_cidr *c)
{
	char		 host[INET6_ADDRSTRLEN];
	const char	*slash;
	size_t		 n;
	long long	 bits;
	int		 max;

	memset(c, 0, sizeof *c);
	slash = strchr(text, '/');
	n = slash != NULL ? (size_t)(slash - text) : strlen(text);
	if (n >= sizeof host)
		return "not an address";
	memcpy(host, text, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else
		return "not a numeric IPv4 or IPv6 address";
	bits = max;
	if (slash != NULL) {
		if (slash[1] < '0' || slash[1] > '9' || strlen(slash + 1) > 3)
			return "prefix length must be a number";
		for (bits = 0, slash++; *slash >= '0' && *slash <= '9'; slash++)
			bits = bits * 10 + (*slash - '0');
		if (*slash != '\0' || bits > max)
			return "prefix length out of range";
	}
	c->bits = (int)bits;
	return NULL;
}

int
net_cidr_match(const struct net_cidr *c, const struct sockaddr_storage *ss)
{
	const struct sockaddr_in	*sin = (const void *)ss;
	const struct sockaddr_in6	*sin6 = (const void *)ss;
	const unsigned char		*a;
	int				 family = ss->ss_family, full, rest;

	if (family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		family = AF_INET;
		a = &sin6->sin6_addr.s6_addr[12];
	} else if (family == AF_INET6)
		a = sin6->sin6_addr.s6_addr;
	else
		a = (const unsigned char *)&sin->sin_addr;
	if (family != c->family)
		return 0;
	full = c->bits / 8;
	rest = c->bits % 8;
	if (memcmp(a, c->addr, (size_t)full) != 0)
		return 0;
	return rest == 0 ||
	    ((a[full] ^ c->addr[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

int
net_adopt(int fd, struct net_spec *spec)
{
	socklen_t	 len = sizeof spec->type;
	int		 flags;

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &spec->type, &len) == -1)
		return -1;
	spec->addrlen = sizeof spec->addr;
	if (getsockname(fd, (struct sockaddr *)&spec->addr,
	    &spec->addrlen) == -1)
		return -1;
	if ((spec->type != SOCK_STREAM && spec->type != SOCK_DGRAM) ||
	    (spec->addr.ss_family != AF_INET &&
	    spec->addr.ss_family != AF_INET6)) {
		errno = EINVAL;
		return -1;
	}
	spec->any = 0;
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
		return -1;
	return 0;
}

int
net_accept(int lfd, struct sockaddr_storage *peer, socklen_t *len)
{
	int	 fd;

	do {
		*len = sizeof *peer;
		fd = accept4(lfd, (struct sockaddr *)peer, len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
	} while (fd == -1 && errno == EINTR);
	return fd;
}

enum net_accept_err
net_accept_error(int err)
{
	switch (err) {
	case EAGAIN:
#if EWOULDBLOCK != EAGAIN
	case EWOULDBLOCK:
#endif
		return NET_ACCEPT_EMPTY;
	/*
	 * accept4(2): Linux passes already-pending network errors on the
	 * new socket as an error from accept; treat them like EAGAIN and
	 * retry.  EPERM is a firewall's refusal of that one client.
	 */
	case ECONNABORTED:
	case EPROTO:
	case EPERM:
	case ENETDOWN:
	case ENOPROTOOPT:
	case EHOSTDOWN:
	case ENONET:
	case EHOSTUNREACH:
	case EOPNOTSUPP:
	case ENETUNREACH:
	case ETIMEDOUT:
	case ECONNRESET:
	/* One connection's trouble too, says accept(2): not the listener's. */
	case ENOSR:
	case ESOCKTNOSUPPORT:
	case EPROTONOSUPPORT:
		return NET_ACCEPT_RETRY;
	case EMFILE:
	case ENFILE:
		return NET_ACCEPT_FDS;
	case ENOBUFS:
	case ENOMEM:
		return NET_ACCEPT_MEM;
	default:
		return NET_ACCEPT_FATAL;
	}
}

int
net_spare_open(void)
{
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void
net_shed(int lfd, int *spare)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 fd;

	if (*spare != -1) {
		close(*spare);
		*spare = -1;
	}
	if ((fd = net_accept(lfd, &ss, &len)) != -1)
		close(fd);
	*spare = net_spare_open();
}

ssize_t
net_send(int fd, const void *buf, size_t len, int flags)
{
	const char	*p = buf;
	size_t		 done = 0;
	ssize_t		 n;

	while (done < len) {
		n = send(fd, p + done, len - done, flags | MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -1;
		}
		done += (size_t)n;
	}
	return (ssize_t)done;
}

ssize_t
net_sendv(int fd, const struct iovec *iov, int n)
{
	struct msghdr	 m;
	ssize_t		 r;

	memset(&m, 0, sizeof m);
	m.msg_iov = (struct iovec *)iov;
	m.msg_iovlen = (size_t)n;
	do
		r = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (r == -1 && errno == EINTR);
	return r;
}

/*
 * Read and throw away what the client has sent, a bounded amount, without
 * waiting: 1 at EOF, 0 when nothing more is there now, -1 and errno.
 * *got says whether anything was read.
 */
static int
discard(int fd, int *got)
{
	char	 junk[4096];
	ssize_t	 n;
	int	 i;

	*got = 0;
	/* A bounded number of reads: a fast sender must not hold us here. */
	for (i = 0; i < 16; i++) {
		n = recv(fd, junk, sizeof junk, MSG_DONTWAIT);
		if (n == 0)
			return 1;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		*got = 1;
	}
	return 0;
}

int
net_finish(int fd)
{
	int	 r, got;

	if (shutdown(fd, SHUT_WR) == -1)
		return -1;
	/* A client that sent nothing is done: a close now sends no reset. */
	if ((r = discard(fd, &got)) != 0)
		return r;
	return got ? 0 : 1;
}

int
net_drain(int fd)
{
	int	 got;

	/* A client that has sent is drained until its EOF or our deadline. */
	return discard(fd, &got);
}

int
net_shutdown(int fd)
{
	return shutdown(fd, SHUT_WR);
}

int
net_peer(int fd, struct sockaddr_storage *peer)
{
	socklen_t	 len = sizeof *peer;

	memset(peer, 0, sizeof *peer);
	return getpeername(fd, (struct sockaddr *)peer, &len);
}

int
net_resolve(const char *host, const char *port, int family, int type,
    struct sockaddr_storage *addr, socklen_t *len)
{
	struct addrinfo	 hints, *res;
	int		 e;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = family;
	hints.ai_socktype = type;
	/*
	 * A numeric address is taken as it is: AI_ADDRCONFIG would refuse
	 * 127.0.0.1 on a host whose only other addresses are IPv6.
	 */
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if ((e = getaddrinfo(host, port, &hints, &res)) == EAI_NONAME) {
		hints.ai_flags = AI_ADDRCONFIG;
		e = getaddrinfo(host, port, &hints, &res);
	}
	if (e != 0)
		return e;
	memcpy(addr, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int
net_wait(int fd, short events, int timeout_ms)
{
	struct pollfd	 pfd;
	long long	 deadline = util_now_ms() + timeout_ms;
	int		 left = timeout_ms, n;

	pfd.fd = fd;
	pfd.events = events;
	for (;;) {
		n = poll(&pfd, 1, left);
		if (n >= 0)
			return n > 0;
		if (errno != EINTR)
			return -1;
		if (timeout_ms >= 0) {
			left = (int)(deadline - util_now_ms());
			if (left < 0)
				left = 0;
		}
	}
}

int
net_poll(struct pollfd *fds, unsigned long n, int timeout_ms)
{
	unsigned long	 i;
	int		 r;

	if ((r = poll(fds, n, timeout_ms)) == -1) {
		/* poll wrote nothing: say so, rather than leave old news. */
		for (i = 0; i < n; i++)
			fds[i].revents = 0;
	}
	return r;
}

int
net_connect(const struct sockaddr *addr, socklen_t len, int type,
    int timeout_ms)
{
	socklen_t	 elen = sizeof(int);
	int		 fd, flags, err, r;

	fd = socket(addr->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, addr, len) == -1) {
		/* After EINTR the connect goes on, as after EINPROGRESS. */
		if (errno != EINPROGRESS && errno != EINTR)
			goto fail;
		if ((r = net_wait(fd, POLLOUT, timeout_ms)) == -1)
			goto fail;
		if (r == 0) {
			errno = ETIMEDOUT;
			goto fail;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1)
			goto fail;
		if (err != 0) {
			errno = err;
			goto fail;
		}
	}
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == -1)
		goto fail;
	return fd;
fail:
	net_close(fd);
	return -1;
}

ssize_t
net_recvfrom(int fd, void *buf, size_t len, int flags,
    struct sockaddr_storage *from, socklen_t *fromlen)
{
	ssize_t	 n;

	do {
		if (from != NULL)
			*fromlen = sizeof *from;
		n = recvfrom(fd, buf, len, flags, (struct sockaddr *)from,
		    from != NULL ? fromlen : NULL);
	} while (n == -1 && errno == EINTR);
	return n;
}

ssize_t
net_sendto(int fd, const void *buf, size_t len, const struct sockaddr *to,
    socklen_t tolen)
{
	ssize_t	 n;

	do {
		n = sendto(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT, to,
		    tolen);
	} while (n == -1 && errno == EINTR);
	return n;
}

ssize_t
net_recv(int fd, void *buf, size_t len, int flags)
{
	ssize_t	 n;

	do {
		n = recv(fd, buf, len, flags | MSG_DONTWAIT);
	} while (n == -1 && errno == EINTR);
	return n;
}

int
net_recvmmsg(int fd, struct mmsghdr *msgs, unsigned int n)
{
	int	 r;

	do {
		r = recvmmsg(fd, msgs, n, MSG_DONTWAIT, NULL);
	} while (r == -1 && errno == EINTR);
	if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	return r;
}

int
net_sendmmsg(int fd, struct mmsghdr *msgs, unsigned int n)
{
	int	 r;

	do {
		r = sendmmsg(fd, msgs, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (r == -1 && errno == EINTR);
	return r;
}

char *
net_addr_str(const struct sockaddr *addr, char *buf, size_t len)
{
	const struct sockaddr_in	*sin = (const void *)addr;
	const struct sockaddr_in6	*sin6 = (const void *)addr;
	struct in_addr			 v4;
	char				 host[INET6_ADDRSTRLEN];

	if (addr->sa_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
		snprintf(buf, len, "%s:%d", host, ntohs(sin->sin_port));
	} else if (addr->sa_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		memcpy(&v4, &sin6->sin6_addr.s6_addr[12], sizeof v4);
		inet_ntop(AF_INET, &v4, host, sizeof host);
		snprintf(buf, len, "%s:%d", host, ntohs(sin6->sin6_port));
	} else if (addr->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
		snprintf(buf, len, "[%s]:%d", host, ntohs(sin6->sin6_port));
	} else
		snprintf(buf, len, "(family %d)", addr->sa_family);
	return buf;
}

uint64_t
net_source_key(const struct sockaddr_storage *ss, int *loopback)
{
	const struct sockaddr_in	*sin = (const void *)ss;
	const struct sockaddr_in6	*sin6 = (const void *)ss;
	uint64_t			 k;
	uint32_t			 a;

	if (ss->ss_family == AF_INET6 &&
	    !IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		*loopback = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
		memcpy(&k, sin6->sin6_addr.s6_addr, sizeof k);
		return k | 1;	/* never equal to an IPv4 key */
	}
	if (ss->ss_family == AF_INET6)
		memcpy(&a, &sin6->sin6_addr.s6_addr[12], sizeof a);
	else
		a = sin->sin_addr.s_addr;
	*loopback = (ntohl(a) >> 24) == 127;
	return (uint64_t)a << 1;
}

int
net_addr_port(const struct sockaddr *addr)
{
	if (addr->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)addr)->sin_port);
	if (addr->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)addr)->sin6_port);
	return -1;
}
