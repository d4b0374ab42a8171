/*
 * admit.c: the limits, the PROXY header and the datagram judge.
 *
 * Never blocks, never allocates once admit_init has run, and never lets a
 * client's fault stop the server: a refusal is counted and, where a person
 * would want to know, logged at a limited rate.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <net/if.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admit.h"
#include "limit.h"
#include "log.h"
#include "net.h"
#include "proxy.h"
#include "util.h"

#define MAX_OWNPORTS	64

/*
 * Which limit place each open connection holds, by fd: a process's fds
 * are its own, and after a fork the child inherits the table with them.
 * self is this process, the owner of the places it takes (getpid is a
 * system call; a fork handler keeps self right in a child).
 */
static struct limits	*limits;
static int		*fdslot;
static int		 nfdslot;
/*
 * Scrapes open, and which fds hold one: a metrics listener is outside
 * --max-conns, --per-ip and --rate, so that a scrape is answered whatever
 * the clients do, with a small bound of its own.
 */
static unsigned char	*scrapefd;
static int		 nscrapefd;
static int		 scrapes;
/* What else a connection held, given back as it closes (NTS-KE's TLS). */
static void		(*on_release)(int);
static pid_t		 self;

/*
 * What a datagram is judged by: the ports stampd listens on, the loopback
 * interface, and the --udp-rate table that every thread and process
 * shares, so that no worker and no delay gives a source a fresh bucket.
 */
static int		 ownport[MAX_OWNPORTS];
static int		 nownport;
static int		 lo_index;
static struct limits	*udp_limits;

static void
forked(void)
{
	self = getpid();
}

/* Every socket of UDP listener l tells where each datagram arrived. */
static int
dgram_info(const struct server *srv, const struct listener *l)
{
	int	 k, n = l->rpfd != NULL ? srv->workers : 1;

	for (k = 0; k < n; k++)
		if (net_dgram_info(l->rpfd != NULL ? l->rpfd[k] : l->fd,
		    l->addr.ss_family, proto_row(l->proto)->rx_time,
		    proto_row(l->proto)->tx_time != NULL &&
		    proto_row(l->proto)->tx_time()) == -1)
			return -1;
	return 0;
}

int
admit_init(const struct server *srv)
{
	size_t		 l;
	int		 i;

	/*
	 * Our UDP ports: a reply goes over UDP, so a TCP listener's number
	 * is another port, which a client's may be.  A client of this host
	 * never gets one of these (the kernel picks a free one).
	 */
	for (l = 0; l < srv->nls; l++) {
		if (srv->ls[l].type != SOCK_DGRAM)
			continue;
		if (dgram_info(srv, &srv->ls[l]) == -1)
			return -1;
		if (nownport < MAX_OWNPORTS)
			ownport[nownport++] = net_addr_port(
			    (const struct sockaddr *)&srv->ls[l].addr);
	}
	lo_index = (int)if_nametoindex("lo");
	for (l = 0; l < srv->nls && !srv->ls[l].spec.metrics; l++)
		continue;
	if (l < srv->nls) {
		nscrapefd = util_max_fds();
		if ((scrapefd = calloc((size_t)nscrapefd, 1)) == NULL)
			return -1;
	}
	if (srv->udp_rate > 0 && (udp_limits = limit_new(0, 0, srv->udp_rate,
	    srv->limit_loopback)) == NULL)
		return -1;
	if ((limits = srv->limits) == NULL)
		return 0;
	self = getpid();
	if ((errno = pthread_atfork(NULL, NULL, forked)) != 0)
		return -1;
	nfdslot = util_max_fds();
	if ((fdslot = calloc((size_t)nfdslot, sizeof *fdslot)) == NULL)
		return -1;
	for (i = 0; i < nfdslot; i++)
		fdslot[i] = LIMIT_REFUSED;
	return 0;
}

int
admit_accept_error(const struct listener *l, int lfd, int err, int *spare,
    struct stats *st)
{
	errno = err;
	switch (net_accept_error(err)) {
	case NET_ACCEPT_EMPTY:
		return 0;
	case NET_ACCEPT_RETRY:
		stats_count(st, STAT_RESET, 1);
		return 0;
	case NET_ACCEPT_FDS:
		stats_count(st, STAT_SHED, 1);
		log_limited("%s: accept", l->name);
		if (*spare == -1) {
			/* No spare to trade: pause rather than spin. */
			*spare = net_spare_open();
			return 100;
		}
		net_shed(lfd, spare);
		return 0;
	case NET_ACCEPT_MEM:
		stats_count(st, STAT_ERRORS, 1);
		log_limited("%s: accept", l->name);
		return 100;
	default:
		log_warn("%s: accept", l->name);
		return -1;
	}
}

int
admit_wants_peer(const struct server *srv, const struct listener *l)
{
	return (srv->limits != NULL && !l->spec.metrics) || srv->verbose ||
	    l->proxy;
}

/* A scrape: within ADMIT_SCRAPES_MAX open at once, or closed at once. */
static int
scrape(int fd, struct stats *st)
{
	if (fd < nscrapefd && __atomic_add_fetch(&scrapes, 1,
	    __ATOMIC_RELAXED) <= ADMIT_SCRAPES_MAX) {
		scrapefd[fd] = 1;
		return 0;
	}
	if (fd < nscrapefd)
		__atomic_sub_fetch(&scrapes, 1, __ATOMIC_RELAXED);
	stats_count(st, STAT_LIMITED, 1);
	stats_count(st, STAT_LIM_MAX_CONNS, 1);
	stats_count(st, STAT_CLOSED, 1);
	close(fd);
	return -1;
}

int
admit_conn(const struct listener *l, int fd,
    const struct sockaddr_storage *peer, struct stats *st)
{
	enum limit_why	 why = LIMIT_MAX_CONNS;
	int		 slot;

	stats_accepted(st, l, fd);
	if (l->spec.metrics)
		return scrape(fd, st);
	if (limits == NULL)
		return 0;
	slot = limit_admit(limits, peer, util_now_ms(), self, &why);
	if (slot != LIMIT_REFUSED && fd < nfdslot) {
		fdslot[fd] = slot;
		return 0;
	}
	limit_release(limits, slot);
	/* Over a limit: closed at once, never queued. */
	stats_count(st, STAT_LIMITED, 1);
	stats_count(st, STAT_LIM_MAX_CONNS + why, 1);
	stats_count(st, STAT_CLOSED, 1);
	close(fd);
	return -1;
}

int
admit_accept(const struct listener *l, int lfd,
    struct sockaddr_storage *peer, int *spare, struct stats *st, int *pause)
{
	socklen_t	 len;
	int		 fd, tries;

	for (tries = 0; tries < 64; tries++) {
		if ((fd = net_accept(lfd, peer, &len)) == -1) {
			*pause = admit_accept_error(l, lfd, errno, spare, st);
			return -1;
		}
		if (admit_conn(l, fd, peer, st) == 0)
			return fd;
	}
	*pause = 0;
	return -1;
}

void
admit_on_release(void (*fn)(int fd))
{
	on_release = fn;
}

void
admit_release(int fd)
{
	struct stats	*st;

	if (on_release != NULL)
		on_release(fd);
	if (fd >= 0 && fd < nscrapefd && scrapefd[fd]) {
		scrapefd[fd] = 0;
		__atomic_sub_fetch(&scrapes, 1, __ATOMIC_RELAXED);
	}
	if (limits != NULL && fd < nfdslot && fdslot[fd] != LIMIT_REFUSED) {
		limit_release(limits, fdslot[fd]);
		fdslot[fd] = LIMIT_REFUSED;
	}
	/* None: --inetd, which serves one client and counts nothing. */
	if ((st = stats_here()) != NULL)
		stats_count(st, STAT_CLOSED, 1);
}

void
admit_close(int fd)
{
	admit_release(fd);
	close(fd);
}

void
admit_handover(int fd, pid_t pid)
{
	if (limits != NULL && fd < nfdslot && fdslot[fd] != LIMIT_REFUSED) {
		limit_own(limits, fdslot[fd], pid);
		fdslot[fd] = LIMIT_REFUSED;
	}
	close(fd);
}

void
admit_reaped(pid_t pid)
{
	if (limits != NULL)
		limit_release_owner(limits, pid);
}

/*
 * Read the PROXY header of a connection from peer into hdr, and the client
 * it names into *real: 1 when it is whole (and taken off the socket), 0
 * when more must arrive, -1 when the connection must be closed: peer may
 * not send one, or it is bad or cut short.
 */
static int
read_header(const struct server *srv, const struct listener *l, int fd,
    const struct sockaddr_storage *peer, struct admit_hdr *hdr,
    struct sockaddr_storage *real, struct stats *st)
{
	char		 addr[NET_ADDRSTRLEN];
	const char	*why;
	size_t		 i, hdrlen, room = sizeof hdr->buf - hdr->len;
	socklen_t	 rlen;
	ssize_t		 n;
	int		 r;

	for (i = 0; i < srv->nproxy_from; i++)
		if (net_cidr_match(&srv->proxy_from[i], peer))
			break;
	if (i == srv->nproxy_from) {
		why = "not a peer allowed to send one (--proxy-from)";
		goto bad;
	}
	/* Peek: only the header is ours to take, never what follows it. */
	n = net_recv(fd, hdr->buf + hdr->len, room, MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n <= 0) {
		why = n == 0 ? "closed before its end" : "unreadable";
		goto bad;
	}
	r = proxy_parse(hdr->buf, hdr->len + (size_t)n, &hdrlen, real, &rlen,
	    &why);
	if (r == PROXY_BAD)
		goto bad;
	/* Still short, all of it is header: take it, wait for new bytes. */
	if (r == PROXY_NEED_MORE)
		hdrlen = hdr->len + (size_t)n;
	n = (ssize_t)(hdrlen - hdr->len);
	if (net_recv(fd, hdr->buf + hdr->len, (size_t)n, 0) != n) {
		why = "unreadable";
		goto bad;
	}
	hdr->len = hdrlen;
	if (r == PROXY_NEED_MORE)
		return 0;
	if (rlen == 0)
		*real = *peer;
	return 1;
bad:
	stats_count(st, STAT_BADHDR, 1);
	log_limitedx("%s: PROXY header from %s: %s", l->name,
	    net_addr_str((const void *)peer, addr, sizeof addr), why);
	return -1;
}

int
admit_header(const struct server *srv, const struct listener *l, int fd,
    const struct sockaddr_storage *peer, struct admit_hdr *hdr,
    struct stats *st)
{
	int	 r;

	if (hdr->done)
		return 1;
	if ((r = read_header(srv, l, fd, peer, hdr, &hdr->real, st)) == 1)
		hdr->done = 1;
	else if (r == -1)
		admit_close(fd);
	return r;
}

/* Whether no reply of listener l may go to port: a service's, or ours. */
static int
bad_port(const struct listener *l, int port)
{
	int	 i;

	/* OpenBSD inetd's rule: echo, chargen, daytime, time live there. */
	if (port == STAMP_PORT)
		return 1;
	if (port < 1024)
		return port == 0 || port != proto_row(l->proto)->low_port;
	for (i = 0; i < nownport; i++)
		if (ownport[i] == port)
			return 1;
	return 0;
}

/* Whether req[0..len) is a reply of any protocol stampd speaks. */
static int
is_reply(const char *req, size_t len)
{
	int	 p;

	for (p = 0; p < STAMP_NPROTO; p++)
		if (proto_row(p)->is_reply(req, len))
			return 1;
	return 0;
}

int
admit_datagram(const struct server *srv, const struct listener *l,
    const struct msghdr *m, const char *req, size_t len, long long now,
    struct stats *st)
{
	const struct sockaddr_storage	*from = m->msg_name;
	const struct sockaddr_in6	*sin6 = m->msg_name;
	int				 wire, ifindex;

	wire = net_dgram_arrival(m, &ifindex);
	if (bad_port(l, net_addr_port((const struct sockaddr *)from)) ||
	    (from->ss_family == AF_INET6 && wire == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) ||
	    (!(m->msg_flags & MSG_TRUNC) && is_reply(req, len))) {
		stats_count(st, STAT_DROPPED, 1);
		return 0;
	}
	if (srv->udp_rate == 0 || (ifindex != 0 && ifindex == lo_index &&
	    !srv->limit_loopback))
		return 1;
	/* No table: admit_init was not called (--inetd, one datagram). */
	if (udp_limits != NULL && !limit_token(udp_limits, from, now)) {
		stats_count(st, STAT_LIMITED, 1);
		stats_count(st, STAT_LIM_UDP_RATE, 1);
		return 0;
	}
	return 1;
}
