/*
 * stamp_listen.c: stamp --listen.  The socket is bound to the group's own
 * address and port, shared with other receivers on the host, and joined;
 * each datagram that comes is decoded as an announcement of -P's protocol
 * and printed with our offset from it.  Nothing is ever sent: a receiver
 * of a group must not add to its traffic.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <net/if.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "net.h"
#include "opt.h"
#include "stamp_client.h"
#include "stamp_listen.h"
#include "stamp_query.h"
#include "wire.h"

/*
 * Join the group spec is bound to, on interface ifindex (0: the one the
 * routes pick for the group).  Returns 0, or -1 and errno.
 */
static int
join(int fd, const struct net_spec *spec, unsigned int ifindex)
{
	const struct sockaddr_in	*sin = (const void *)&spec->addr;
	const struct sockaddr_in6	*sin6 = (const void *)&spec->addr;
	struct ip_mreqn			 mr;
	struct ipv6_mreq		 m6;

	if (spec->addr.ss_family == AF_INET) {
		memset(&mr, 0, sizeof mr);
		mr.imr_multiaddr = sin->sin_addr;
		mr.imr_ifindex = (int)ifindex;
		return setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr,
		    sizeof mr);
	}
	memset(&m6, 0, sizeof m6);
	m6.ipv6mr_multiaddr = sin6->sin6_addr;
	m6.ipv6mr_interface = ifindex;
	return setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &m6, sizeof m6);
}

static int
is_group(const struct net_spec *spec)
{
	const struct sockaddr_in	*sin = (const void *)&spec->addr;
	const struct sockaddr_in6	*sin6 = (const void *)&spec->addr;

	if (spec->addr.ss_family == AF_INET)
		return IN_MULTICAST(ntohl(sin->sin_addr.s_addr));
	return IN6_IS_ADDR_MULTICAST(&sin6->sin6_addr);
}

/*
 * The spec of --listen, checked: udp, --interface only for a group to
 * join, and a link-scope group only with it.  Fills spec and *ifindex
 * (0: the routes choose).
 */
static void
listen_spec(const struct stamp_client_args *a, struct net_spec *spec,
    unsigned int *ifindex)
{
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&spec->addr;
	const char		*why;

	if ((why = net_parse_spec(a->lspec, spec)) == NULL &&
	    spec->type != SOCK_DGRAM)
		why = "announcements come over udp only";
	if (why != NULL)
		opt_fail("--listen %s: %s", a->lspec, why);
	if (a->ifname != NULL && !is_group(spec))
		opt_fail("--interface: %s is not a group to join", a->lspec);
	*ifindex = 0;
	if (a->ifname != NULL && (*ifindex = if_nametoindex(a->ifname)) == 0)
		fatal("--interface %s", a->ifname);
	if (spec->addr.ss_family == AF_INET6 &&
	    (IN6_IS_ADDR_MC_LINKLOCAL(&sin6->sin6_addr) ||
	    IN6_IS_ADDR_MC_NODELOCAL(&sin6->sin6_addr))) {
		/* Linux binds a link-scope address only with its link. */
		if (*ifindex == 0)
			opt_fail("--listen %s: a link-scope group needs "
			    "--interface", a->lspec);
		sin6->sin6_scope_id = *ifindex;
	}
}

/*
 * Linux hands a socket the datagrams of every group that any socket of
 * the host joined on that port (IP_MULTICAST_ALL): we want those of our
 * own group alone, and none on a broadcast port.  The IPv6 twin is
 * younger (Linux 4.20): where it is missing, the bound address still
 * filters.  Then join the group, and ask for the TTL that reached us,
 * which tells how far the sender let it go.  Returns 0, or -1 and errno.
 */
static int
listen_options(int fd, const struct net_spec *spec, unsigned int ifindex,
    int verbose)
{
	int	 v4 = spec->addr.ss_family == AF_INET;

	if ((v4 || spec->any) &&
	    net_setopt(fd, IPPROTO_IP, IP_MULTICAST_ALL, 0) == -1)
		return -1;
	if (!v4 && net_setopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0) == -1 &&
	    errno != ENOPROTOOPT)
		return -1;
	if (is_group(spec) && join(fd, spec, ifindex) == -1)
		return -1;
	if (verbose && (v4 || spec->any) &&
	    net_setopt(fd, IPPROTO_IP, IP_RECVTTL, 1) == -1)
		return -1;
	if (verbose && !v4 &&
	    net_setopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1) == -1)
		return -1;
	return 0;
}

/*
 * Bind the port of spec (shared: SO_REUSEADDR and SO_REUSEPORT, so that
 * several receivers on one host each get every announcement), to the
 * group's address, so that the socket gets that group's datagrams only;
 * join it.  Writes the address bound into here.  Returns the socket.
 */
static int
listen_socket(const struct stamp_client_args *a,
    const struct net_spec *spec, unsigned int ifindex, char *here)
{
	struct sockaddr_storage	 bound;
	socklen_t		 boundlen;
	int			 fd, group = is_group(spec);

	if ((fd = net_listen(spec, 0, 1, &bound, &boundlen)) == -1)
		fatal("bind %s", a->lspec);
	if (listen_options(fd, spec, ifindex, a->verbose) == -1)
		fatal("--listen %s", a->lspec);
	net_addr_str((struct sockaddr *)&bound, here, NET_ADDRSTRLEN);
	if (a->verbose)
		log_info("listening on udp %s (%s)%s%s%s", here,
		    wire_proto_name(a->proto),
		    group ? ", joined on " : ", no group",
		    group ? (a->ifname != NULL ? a->ifname : "the routes' "
		    "interface") : "", group ? "" : " (broadcast, unicast)");
	return fd;
}

/*
 * Receive one datagram from fd into buf, with the TTL or hop limit it
 * arrived with (-1: not known).  Returns 1, 0 when none was waiting, or
 * -1 and errno.
 */
static int
recv_ttl(int fd, char *buf, size_t size, struct sockaddr_storage *from,
    size_t *len, int *ttl, int *trunc)
{
	struct mmsghdr	 m;
	struct cmsghdr	*c;
	union {
		struct cmsghdr	 align;
		char		 buf[2 * CMSG_SPACE(sizeof(int))];
	}		 ctl;
	int		 r;

	if ((r = stamp_query_recv(fd, buf, size, from, ctl.buf,
	    sizeof ctl.buf, &m)) <= 0)
		return r;
	*len = m.msg_len;
	*trunc = (m.msg_hdr.msg_flags & MSG_TRUNC) != 0;
	*ttl = -1;
	for (c = CMSG_FIRSTHDR(&m.msg_hdr); c != NULL;
	    c = CMSG_NXTHDR(&m.msg_hdr, c))
		if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) ||
		    (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_HOPLIMIT))
			memcpy(ttl, CMSG_DATA(c), sizeof *ttl);
	return 1;
}

/*
 * Read one announcement from fd and print it.  Returns 1 when it was
 * printed; 0 when none was waiting, or it was malformed (reported and
 * skipped: anyone may send to a group); -1 and errno.
 */
static int
announcement(int fd, const struct stamp_client_args *a)
{
	static char		 reply[STAMP_QUERY_LIMIT + 1];
	static char		 raw[4 * sizeof reply + 3];
	struct sockaddr_storage	 from;
	struct timespec		 now;
	char			 where[NET_ADDRSTRLEN];
	const char		*why;
	long long		 t;
	size_t			 len;
	int			 r, ttl, trunc;

	if ((r = recv_ttl(fd, reply, sizeof reply, &from, &len, &ttl,
	    &trunc)) <= 0)
		return r;
	clock_gettime(CLOCK_REALTIME, &now);
	net_addr_str((struct sockaddr *)&from, where, sizeof where);
	/* Whole, as log.c would cut it at its line's length. */
	if (a->verbose)
		fprintf(stderr, "stamp: %s: announcement of %zu bytes, "
		    "ttl %d: %s\n", where, len, ttl,
		    stamp_client_escape(reply, len, raw));
	if (len > STAMP_QUERY_LIMIT || trunc)
		why = "announcement too long";
	else if (wire_decode(a->proto, reply, len, &t, &why) == 0)
		why = NULL;
	if (why != NULL) {
		log_warnx("%s: malformed %s announcement (skipped): %s", where,
		    wire_proto_name(a->proto), why);
		return 0;
	}
	stamp_client_show_seconds(a, t,
	    (double)t - stamp_client_seconds(&now), where,
	    "udp announcement");
	return 1;
}

int
stamp_listen_announcements(const struct stamp_client_args *a)
{
	struct net_spec		 spec;
	struct timespec		 deadline;
	unsigned int		 ifindex;
	char			 here[NET_ADDRSTRLEN];
	long long		 got = 0, left = -1;
	int			 fd, r;

	listen_spec(a, &spec, &ifindex);
	fd = listen_socket(a, &spec, ifindex, here);
	if (a->timed)
		stamp_query_deadline(&deadline, CLOCK_MONOTONIC, a->timeout_ms);
	while (a->count == 0 || got < a->count) {
		if (a->timed && (left = stamp_query_left(&deadline)) <= 0)
			break;
		if ((r = net_wait(fd, POLLIN, (int)left)) == 1)
			r = announcement(fd, a);
		if (r == -1)
			fatal("--listen %s", a->lspec);
		got += r;
	}
	close(fd);
	if (a->count != 0 && got < a->count) {
		log_warnx("udp %s: timed out after %gs, %lld of %lld "
		    "announcements", here, a->timeout_ms / 1000.0, got,
		    a->count);
		return 1;
	}
	return 0;
}
