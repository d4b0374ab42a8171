/*
 * stamp.c: the client.  Ask one server for the time in one of the three
 * protocols, over TCP or UDP, and print it with the offset of our clock;
 * or, with --listen, join a multicast group (or wait on a port for
 * broadcasts) and print each announcement that stampd --announce sends.
 *
 * Everything it does is bounded by one deadline (-t), name resolution
 * included; only --listen may wait for ever, as it is told.  Over TCP it
 * never sends a byte and reads at most REPLY_LIMIT; over UDP it sends
 * empty datagrams only, and when listening nothing at all.  Only main and
 * listen_announcements print and exit.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <net/if.h>
#include <netinet/in.h>

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net.h"
#include "proto.h"
#include "wire.h"

/* More than any protocol needs: a longer reply is malformed. */
#define REPLY_LIMIT	512

struct query {
	const char		*host;
	char			 port[8];
	int			 family;	/* or AF_UNSPEC */
	int			 type;		/* SOCK_STREAM, SOCK_DGRAM */
	int			 retries;
	struct timespec		 deadline;	/* CLOCK_MONOTONIC */
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	char			 reply[REPLY_LIMIT + 1];
	size_t			 len;		/* > REPLY_LIMIT: too long */
	struct timespec		 sent, got;	/* CLOCK_REALTIME */
};

/*
 * getaddrinfo cannot be given a deadline, so it runs in a thread of its
 * own and main waits for it at most until the deadline.  When that passes
 * the thread is abandoned, still blocked, and dies with the process; that
 * is why what it fills in is static rather than on main's stack.
 */
static struct {
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	int			 done, gai, err;
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
} rs = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
};

enum {
	OPT_INTERFACE = 256,
};

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: stamp [-46hqVuv] [-P protocol] [-p port] "
	    "[-r retries] [-t seconds]\n"
	    "             [host [port]]\n"
	    "       stamp -l spec [-hqVv] [-n count] [-P protocol] "
	    "[-t seconds]\n"
	    "             [--interface name]\n");
}

static void
help(void)
{
	usage(stdout);
	printf("\n"
	    "  -4, --ipv4            use IPv4 only\n"
	    "  -6, --ipv6            use IPv6 only\n"
	    "  -h, --help            print this help and exit\n"
	    "  -l, --listen=SPEC     print the announcements sent to SPEC,\n"
	    "                        udp:GROUP:PORT (joined), or\n"
	    "                        udp:0.0.0.0:PORT or udp:[::]:PORT for\n"
	    "                        broadcast and unicast\n"
	    "  -n, --count=N         with -l: stop after N announcements "
	    "(default: never)\n"
	    "      --interface=NAME  with -l: join the group on NAME "
	    "(default: as the\n"
	    "                        routes say)\n"
	    "  -P, --protocol=NAME   stamp (default), time or daytime\n"
	    "  -p, --port=PORT       port (default: the protocol's: "
	    "1937, 37, 13)\n"
	    "  -q, --quiet           print only the Unix time\n"
	    "  -r, --retries=N       UDP: resend the datagram up to N times "
	    "(default 2)\n"
	    "  -t, --timeout=SECONDS give up after SECONDS in all "
	    "(default 5; with -l\n"
	    "                        none)\n"
	    "  -u, --udp             ask over UDP instead of TCP\n"
	    "  -V, --version         print the version and exit\n"
	    "  -v, --verbose         print the address and the raw reply "
	    "to stderr;\n"
	    "                        with -l also the port, and each TTL\n");
}

/*
 * Read a number in [min, max]: whole ones as digits only, the others may
 * have one decimal point.  No sign, exponent, "inf" or "nan" gets through.
 * Returns NULL, or what is wrong with s.
 */
static const char *
number(const char *s, int whole, double min, double max, double *v)
{
	const char	*digits = whole ? "0123456789" : "0123456789.";
	char		*end;
	size_t		 n = strlen(s);

	if (n == 0 || strspn(s, digits) != n ||
	    strchr(s, '.') != strrchr(s, '.') || strcmp(s, ".") == 0)
		return whole ? "not a whole number" : "not a number";
	errno = 0;
	*v = strtod(s, &end);
	if (*end != '\0' || errno == ERANGE || *v > max)
		return "too large";
	if (*v < min)
		return "too small";
	return NULL;
}

static long long
ms_left(const struct timespec *deadline)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (deadline->tv_sec - now.tv_sec) * 1000LL +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

static void *
resolver(void *arg)
{
	struct query		*q = arg;
	struct sockaddr_storage	 addr;
	socklen_t		 len = 0;
	int			 gai;

	memset(&addr, 0, sizeof addr);
	gai = net_resolve(q->host, q->port, q->family, q->type, &addr, &len);
	pthread_mutex_lock(&rs.mu);
	rs.gai = gai;
	rs.err = errno;
	rs.addr = addr;
	rs.addrlen = len;
	rs.done = 1;
	pthread_cond_signal(&rs.cv);
	pthread_mutex_unlock(&rs.mu);
	return NULL;
}

/*
 * Resolve q->host and q->port into q->addr before the deadline.  Returns
 * 0, a getaddrinfo error code (EAI_SYSTEM: see errno), or EAI_AGAIN with
 * errno ETIMEDOUT when the deadline passed.
 */
static int
resolve(struct query *q)
{
	pthread_t	 tid;
	pthread_attr_t	 attr;
	struct timespec	 until;
	long long	 left;
	int		 e, gai;

	if ((e = pthread_attr_init(&attr)) != 0 ||
	    (e = pthread_attr_setdetachstate(&attr,
	    PTHREAD_CREATE_DETACHED)) != 0 ||
	    (e = pthread_create(&tid, &attr, resolver, q)) != 0) {
		errno = e;
		return EAI_SYSTEM;
	}
	pthread_attr_destroy(&attr);

	/* The condition variable's clock is CLOCK_REALTIME: convert. */
	left = ms_left(&q->deadline);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += left / 1000;
	until.tv_nsec += left % 1000 * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&rs.mu);
	while (!rs.done && ms_left(&q->deadline) > 0)
		if (pthread_cond_timedwait(&rs.cv, &rs.mu, &until) ==
		    ETIMEDOUT)
			break;
	if (!rs.done) {
		pthread_mutex_unlock(&rs.mu);
		errno = ETIMEDOUT;
		return EAI_AGAIN;
	}
	gai = rs.gai;
	errno = rs.err;
	q->addr = rs.addr;
	q->addrlen = rs.addrlen;
	pthread_mutex_unlock(&rs.mu);
	return gai;
}

/*
 * Read until EOF what the server sends on connecting, at most one byte
 * more than REPLY_LIMIT.  We never send: none of the protocols wants it.
 */
static int
ask_tcp(struct query *q)
{
	struct sockaddr_storage	 from;
	socklen_t		 fromlen;
	long long		 left;
	ssize_t			 n;
	int			 fd, r, saved;

	if ((left = ms_left(&q->deadline)) <= 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	clock_gettime(CLOCK_REALTIME, &q->sent);
	q->got = q->sent;
	if ((fd = net_connect((struct sockaddr *)&q->addr, q->addrlen,
	    SOCK_STREAM, (int)left)) == -1)
		return -1;
	q->len = 0;
	while (q->len < sizeof q->reply) {
		if ((left = ms_left(&q->deadline)) <= 0) {
			errno = ETIMEDOUT;
			goto fail;
		}
		if ((r = net_wait(fd, POLLIN, (int)left)) == -1)
			goto fail;
		if (r == 0)
			continue;
		n = net_recvfrom(fd, q->reply + q->len,
		    sizeof q->reply - q->len, MSG_DONTWAIT, &from, &fromlen);
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (n == -1)
			goto fail;
		if (n == 0)
			break;
		/* The server read its clock before this first byte left. */
		if (q->len == 0)
			clock_gettime(CLOCK_REALTIME, &q->got);
		q->len += (size_t)n;
	}
	close(fd);
	return 0;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/*
 * Send an empty datagram on a connected socket and wait for one reply,
 * resending after each share of the timeout.  Connected, so that only the
 * server can answer and its ICMP port unreachable comes back to us as
 * ECONNREFUSED.
 */
static int
ask_udp(struct query *q)
{
	struct sockaddr_storage	 from;
	socklen_t		 fromlen;
	struct timespec		 tryend;
	long long		 left, share;
	ssize_t			 n;
	int			 fd, r, try, saved;

	if ((left = ms_left(&q->deadline)) <= 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	share = left / (q->retries + 1);
	if (share < 1)
		share = 1;
	if ((fd = net_connect((struct sockaddr *)&q->addr, q->addrlen,
	    SOCK_DGRAM, (int)left)) == -1)
		return -1;
	for (try = 0; try <= q->retries; try++) {
		if ((left = ms_left(&q->deadline)) <= 0)
			break;
		if (try < q->retries && share < left)
			left = share;
		clock_gettime(CLOCK_MONOTONIC, &tryend);
		tryend.tv_sec += left / 1000;
		tryend.tv_nsec += left % 1000 * 1000000;
		if (tryend.tv_nsec >= 1000000000) {
			tryend.tv_sec++;
			tryend.tv_nsec -= 1000000000;
		}
		clock_gettime(CLOCK_REALTIME, &q->sent);
		if (net_sendto(fd, "", 0, NULL, 0) == -1)
			goto fail;
		while ((left = ms_left(&tryend)) > 0) {
			if ((r = net_wait(fd, POLLIN, (int)left)) == -1)
				goto fail;
			if (r == 0)
				break;
			/* MSG_TRUNC: the length of the whole datagram. */
			n = net_recvfrom(fd, q->reply, sizeof q->reply,
			    MSG_DONTWAIT | MSG_TRUNC, &from, &fromlen);
			if (n == -1 &&
			    (errno == EAGAIN || errno == EWOULDBLOCK))
				continue;
			if (n == -1)
				goto fail;
			clock_gettime(CLOCK_REALTIME, &q->got);
			q->len = (size_t)n;
			close(fd);
			return 0;
		}
	}
	errno = ETIMEDOUT;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* The reply as a C string literal, quotes included; out holds 4n + 3. */
static char *
escape(const char *s, size_t n, char *out)
{
	char	*p = out;
	size_t	 i;
	int	 c;

	*p++ = '"';
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '\r' || c == '\n' || c == '\t') {
			*p++ = '\\';
			*p++ = c == '\r' ? 'r' : c == '\n' ? 'n' : 't';
		} else if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c >= 0x20 && c < 0x7f)
			*p++ = (char)c;
		else
			p += sprintf(p, "\\x%02x", c);
	}
	*p++ = '"';
	*p = '\0';
	return out;
}

static double
seconds(const struct timespec *ts)
{
	return (double)ts->tv_sec + ts->tv_nsec / 1e9;
}

static int
setint(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof value);
}

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
 * --listen: bind the port (shared: SO_REUSEADDR and SO_REUSEPORT, so that
 * several receivers on one host each get every announcement), join the
 * group if it is one, and print each announcement as it comes.  Returns
 * the exit status: 0 after count announcements, 1 on a failure or when
 * the timeout (0: none) passed first, 2 on a bad spec.  A malformed
 * announcement is reported and skipped: anyone may send to a group.
 */
static int
listen_announcements(const char *text, const char *ifname, int proto,
    unsigned long long count, double timeout, int quiet, int verbose)
{
	static char		 reply[REPLY_LIMIT + 1];
	static char		 raw[4 * sizeof reply + 3];
	struct net_spec		 spec;
	struct sockaddr_storage	 bound, from;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&spec.addr;
	struct timespec		 deadline, now;
	struct mmsghdr		 m;
	struct iovec		 iov;
	struct cmsghdr		*c;
	struct wire_tm		 tm;
	union {
		struct cmsghdr	 align;
		char		 buf[2 * CMSG_SPACE(sizeof(int))];
	}			 ctl;
	socklen_t		 boundlen;
	unsigned long long	 got = 0;
	unsigned int		 ifindex = 0;
	char			 where[NET_ADDRSTRLEN], here[NET_ADDRSTRLEN];
	const char		*why, *pname = wire_proto_name(proto);
	long long		 t, left = -1;
	size_t			 len;
	int			 fd, r, ttl, group;

	if ((why = net_parse_spec(text, &spec)) == NULL &&
	    spec.type != SOCK_DGRAM)
		why = "announcements come over udp only";
	if (why != NULL) {
		fprintf(stderr, "stamp: --listen %s: %s\n", text, why);
		usage(stderr);
		return 2;
	}
	group = is_group(&spec);
	if (ifname != NULL && !group) {
		fprintf(stderr, "stamp: --interface: %s is not a group to "
		    "join\n", text);
		usage(stderr);
		return 2;
	}
	if (ifname != NULL && (ifindex = if_nametoindex(ifname)) == 0) {
		fprintf(stderr, "stamp: --interface %s: %s\n", ifname,
		    strerror(errno));
		return 1;
	}
	if (spec.addr.ss_family == AF_INET6 &&
	    (IN6_IS_ADDR_MC_LINKLOCAL(&sin6->sin6_addr) ||
	    IN6_IS_ADDR_MC_NODELOCAL(&sin6->sin6_addr))) {
		/* Linux binds a link-scope address only with its link. */
		if (ifindex == 0) {
			fprintf(stderr, "stamp: --listen %s: a link-scope "
			    "group needs --interface\n", text);
			usage(stderr);
			return 2;
		}
		sin6->sin6_scope_id = ifindex;
	}

	/*
	 * Bound to the group's address, the socket gets that group's
	 * datagrams only, not those of every group joined on the port.
	 */
	if ((fd = net_listen(&spec, 0, 1, &bound, &boundlen)) == -1) {
		fprintf(stderr, "stamp: bind %s: %s\n", text, strerror(errno));
		return 1;
	}
	/*
	 * Linux hands a socket the datagrams of every group that any socket
	 * of the host joined on that port (IP_MULTICAST_ALL): we want those
	 * of our own group alone, and none on a broadcast port.  The IPv6
	 * twin is younger (Linux 4.20): where it is missing, the bound
	 * address still filters.
	 */
	if ((spec.addr.ss_family == AF_INET || spec.any) &&
	    setint(fd, IPPROTO_IP, IP_MULTICAST_ALL, 0) == -1)
		goto fail;
	if (spec.addr.ss_family == AF_INET6 &&
	    setint(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0) == -1 &&
	    errno != ENOPROTOOPT)
		goto fail;
	if (group && join(fd, &spec, ifindex) == -1)
		goto fail;
	/* The TTL that reached us tells how far the sender let it go. */
	if (verbose && spec.addr.ss_family == AF_INET &&
	    setint(fd, IPPROTO_IP, IP_RECVTTL, 1) == -1)
		goto fail;
	if (verbose && spec.addr.ss_family == AF_INET6 &&
	    (setint(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1) == -1 ||
	    (spec.any && setint(fd, IPPROTO_IP, IP_RECVTTL, 1) == -1)))
		goto fail;
	net_addr_str((struct sockaddr *)&bound, here, sizeof here);
	if (verbose)
		fprintf(stderr, "stamp: listening on udp %s (%s)%s%s%s\n",
		    here, pname, group ? ", joined on " : ", no group",
		    group ? (ifname != NULL ? ifname : "the routes' "
		    "interface") : "", group ? "" : " (broadcast, unicast)");

	if (timeout > 0) {
		left = (long long)(timeout * 1000 + 0.5);
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += left / 1000;
		deadline.tv_nsec += left % 1000 * 1000000;
		if (deadline.tv_nsec >= 1000000000) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000;
		}
	}
	while (count == 0 || got < count) {
		if (timeout > 0 && (left = ms_left(&deadline)) <= 0)
			break;
		if ((r = net_wait(fd, POLLIN, (int)left)) == -1)
			goto fail;
		if (r == 0)
			continue;
		iov.iov_base = reply;
		iov.iov_len = sizeof reply;
		memset(&m, 0, sizeof m);
		m.msg_hdr.msg_name = &from;
		m.msg_hdr.msg_namelen = sizeof from;
		m.msg_hdr.msg_iov = &iov;
		m.msg_hdr.msg_iovlen = 1;
		m.msg_hdr.msg_control = ctl.buf;
		m.msg_hdr.msg_controllen = sizeof ctl.buf;
		if ((r = net_recvmmsg(fd, &m, 1)) == -1)
			goto fail;
		if (r == 0)
			continue;
		clock_gettime(CLOCK_REALTIME, &now);
		len = m.msg_len;
		net_addr_str((struct sockaddr *)&from, where, sizeof where);
		ttl = -1;
		for (c = CMSG_FIRSTHDR(&m.msg_hdr); c != NULL;
		    c = CMSG_NXTHDR(&m.msg_hdr, c))
			if ((c->cmsg_level == IPPROTO_IP &&
			    c->cmsg_type == IP_TTL) ||
			    (c->cmsg_level == IPPROTO_IPV6 &&
			    c->cmsg_type == IPV6_HOPLIMIT))
				memcpy(&ttl, CMSG_DATA(c), sizeof ttl);
		if (verbose)
			fprintf(stderr, "stamp: %s: announcement of %zu bytes, "
			    "ttl %d: %s\n", where, len, ttl, escape(reply,
			    len, raw));
		if (len > REPLY_LIMIT || (m.msg_hdr.msg_flags & MSG_TRUNC))
			why = "announcement too long";
		else if (wire_decode(proto, reply, len, &t, &why) == 0)
			why = NULL;
		if (why != NULL) {
			fprintf(stderr, "stamp: %s: malformed %s announcement "
			    "(skipped): %s\n", where, pname, why);
			continue;
		}
		got++;
		if (quiet)
			printf("%lld\n", t);
		else {
			wire_civil(t, &tm);
			printf("%lld %04lld-%02d-%02d %02d:%02d:%02d UTC "
			    "offset %+.3fs from %s (%s/udp announcement)\n", t,
			    tm.year, tm.mon, tm.mday, tm.hour, tm.min, tm.sec,
			    (double)t - seconds(&now), where, pname);
		}
		/* Each line as it comes: whoever reads us may be waiting. */
		if (fflush(stdout) == EOF) {
			fprintf(stderr, "stamp: stdout: %s\n",
			    strerror(errno));
			close(fd);
			return 1;
		}
	}
	close(fd);
	if (count != 0 && got < count) {
		fprintf(stderr, "stamp: udp %s: timed out after %gs, %llu of "
		    "%llu announcements\n", here, timeout, got, count);
		return 1;
	}
	return 0;
fail:
	fprintf(stderr, "stamp: --listen %s: %s\n", text, strerror(errno));
	close(fd);
	return 1;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "ipv4",     no_argument,       NULL, '4' },
		{ "ipv6",     no_argument,       NULL, '6' },
		{ "help",     no_argument,       NULL, 'h' },
		{ "listen",   required_argument, NULL, 'l' },
		{ "count",    required_argument, NULL, 'n' },
		{ "protocol", required_argument, NULL, 'P' },
		{ "port",     required_argument, NULL, 'p' },
		{ "quiet",    no_argument,       NULL, 'q' },
		{ "retries",  required_argument, NULL, 'r' },
		{ "timeout",  required_argument, NULL, 't' },
		{ "udp",      no_argument,       NULL, 'u' },
		{ "version",  no_argument,       NULL, 'V' },
		{ "verbose",  no_argument,       NULL, 'v' },
		{ "interface", required_argument, NULL, OPT_INTERFACE },
		{ NULL,       0,                 NULL, 0 }
	};
	static struct query	 q;
	static char		 raw[4 * sizeof q.reply + 3];
	struct sigaction	 sa;
	struct wire_tm		 tm;
	char			 where[NET_ADDRSTRLEN];
	const char		*why, *tname, *lspec = NULL, *ifname = NULL;
	unsigned long long	 count = 0;
	double			 v, timeout = 5, mid;
	long long		 t;
	int			 ch, proto = STAMP_PROTO_STAMP, quiet = 0;
	int			 verbose = 0, port = -1, family, gai, ms;
	int			 timed = 0, retried = 0;

	q.family = AF_UNSPEC;
	q.type = SOCK_STREAM;
	q.retries = 2;
	/* Our own messages, in our own shape, rather than getopt's. */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":46hl:n:P:p:qr:t:uVv", longopts,
	    NULL)) != -1) {
		why = NULL;
		switch (ch) {
		case '4':
		case '6':
			family = ch == '4' ? AF_INET : AF_INET6;
			if (q.family != AF_UNSPEC && q.family != family)
				why = "-4 and -6 exclude each other";
			q.family = family;
			break;
		case 'h':
			help();
			return 0;
		case 'l':
			lspec = optarg;
			break;
		case 'n':
			if ((why = number(optarg, 1, 1, 1e9, &v)) == NULL)
				count = (unsigned long long)v;
			break;
		case 'P':
			if ((proto = wire_proto_find(optarg)) == -1)
				why = "must be stamp, time or daytime";
			break;
		case 'p':
			if ((why = number(optarg, 1, 1, 65535, &v)) == NULL)
				port = (int)v;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'r':
			if ((why = number(optarg, 1, 0, 100, &v)) == NULL)
				q.retries = (int)v;
			retried = 1;
			break;
		case 't':
			/* A millisecond is the finest that poll can wait. */
			if ((why = number(optarg, 0, 0.001, 3600, &v)) == NULL)
				timeout = v;
			timed = 1;
			break;
		case 'u':
			q.type = SOCK_DGRAM;
			break;
		case 'V':
			printf("stamp %s\n", STAMP_VERSION);
			return 0;
		case 'v':
			verbose = 1;
			break;
		case OPT_INTERFACE:
			ifname = optarg;
			break;
		case ':':
			fprintf(stderr, "stamp: %s needs an argument\n",
			    argv[optind - 1]);
			usage(stderr);
			return 2;
		default:
			if (optopt != 0)
				fprintf(stderr, "stamp: unknown option -%c\n",
				    optopt);
			else
				fprintf(stderr, "stamp: unknown option %s\n",
				    argv[optind - 1]);
			usage(stderr);
			return 2;
		}
		if (why != NULL) {
			if (ch == '4' || ch == '6')
				fprintf(stderr, "stamp: %s\n", why);
			else
				fprintf(stderr, "stamp: -%c %s: %s\n", ch,
				    optarg, why);
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;

	why = NULL;
	if (lspec == NULL && (count != 0 || ifname != NULL))
		why = "-n and --interface go with --listen";
	else if (lspec != NULL && (argc > 0 || port != -1))
		why = "--listen takes no host and no port: SPEC names them";
	else if (lspec != NULL && (q.family != AF_UNSPEC || retried))
		why = "-4, -6 and -r do not apply to --listen";
	if (why != NULL) {
		fprintf(stderr, "stamp: %s\n", why);
		usage(stderr);
		return 2;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPIPE, &sa, NULL) == -1) {
		fprintf(stderr, "stamp: sigaction: %s\n", strerror(errno));
		return 1;
	}

	if (lspec != NULL)
		return listen_announcements(lspec, ifname, proto, count,
		    timed ? timeout : 0, quiet, verbose);
	if (argc > 2)
		why = "too many operands";
	else if (argc == 2 && port != -1)
		why = "a port both as -p and as an operand";
	else if (argc == 2) {
		if ((why = number(argv[1], 1, 1, 65535, &v)) == NULL)
			port = (int)v;
		else {
			fprintf(stderr, "stamp: port %s: %s\n", argv[1], why);
			usage(stderr);
			return 2;
		}
	}
	if (why != NULL) {
		fprintf(stderr, "stamp: %s\n", why);
		usage(stderr);
		return 2;
	}
	q.host = argc >= 1 ? argv[0] : "localhost";
	if (port == -1)
		port = wire_proto_port(proto);
	snprintf(q.port, sizeof q.port, "%d", port);
	tname = q.type == SOCK_STREAM ? "tcp" : "udp";

	ms = (int)(timeout * 1000 + 0.5);
	clock_gettime(CLOCK_MONOTONIC, &q.deadline);
	q.deadline.tv_sec += ms / 1000;
	q.deadline.tv_nsec += ms % 1000 * 1000000L;
	if (q.deadline.tv_nsec >= 1000000000) {
		q.deadline.tv_sec++;
		q.deadline.tv_nsec -= 1000000000;
	}

	if ((gai = resolve(&q)) != 0) {
		if (gai == EAI_AGAIN && errno == ETIMEDOUT)
			fprintf(stderr, "stamp: %s: timed out after %gs\n",
			    q.host, timeout);
		else
			fprintf(stderr, "stamp: %s: %s\n", q.host,
			    gai == EAI_SYSTEM ? strerror(errno) :
			    gai_strerror(gai));
		return 1;
	}
	net_addr_str((struct sockaddr *)&q.addr, where, sizeof where);
	if (verbose)
		fprintf(stderr, "stamp: trying %s (%s/%s)\n", where,
		    wire_proto_name(proto), tname);

	if ((q.type == SOCK_STREAM ? ask_tcp(&q) : ask_udp(&q)) == -1) {
		if (errno == ETIMEDOUT)
			fprintf(stderr, "stamp: %s: timed out after %gs\n",
			    where, timeout);
		else
			fprintf(stderr, "stamp: %s: %s\n", where,
			    strerror(errno));
		return 1;
	}
	if (verbose)
		fprintf(stderr, "stamp: %s: reply of %zu bytes: %s\n", where,
		    q.len, escape(q.reply, q.len < sizeof q.reply ? q.len :
		    sizeof q.reply, raw));
	if (q.len > REPLY_LIMIT)
		why = "reply too long";
	else if (wire_decode(proto, q.reply, q.len, &t, &why) == 0)
		why = NULL;
	if (why != NULL) {
		fprintf(stderr, "stamp: %s: malformed %s reply: %s\n", where,
		    wire_proto_name(proto), why);
		return 3;
	}

	if (quiet)
		printf("%lld\n", t);
	else {
		/*
		 * The server says whole seconds, so the offset is good to
		 * one second only; it is not rounded to pretend otherwise.
		 */
		mid = (seconds(&q.sent) + seconds(&q.got)) / 2;
		wire_civil(t, &tm);
		printf("%lld %04lld-%02d-%02d %02d:%02d:%02d UTC offset "
		    "%+.3fs from %s (%s/%s)\n", t, tm.year, tm.mon, tm.mday,
		    tm.hour, tm.min, tm.sec, (double)t - mid, where,
		    wire_proto_name(proto), tname);
	}
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "stamp: stdout: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
