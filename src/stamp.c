/*
 * stamp.c: the client.  Ask one server for the time in one of the three
 * protocols, over TCP or UDP, and print it with the offset of our clock;
 * or ask an NTP server (-P ntp) and print the offset and round-trip delay
 * its four timestamps give; or, with --listen, join a multicast group (or
 * wait on a port for broadcasts) and print each announcement that stampd
 * --announce sends.
 *
 * Everything it does is bounded by one deadline (-t), name resolution
 * included; only --listen may wait for ever, as it is told.  Over TCP it
 * never sends a byte and reads at most REPLY_LIMIT; over UDP it sends
 * empty datagrams only, or 48-byte NTP requests, and when listening
 * nothing at all.  The exchanges return -1 and errno; the steps of main
 * that call them print and exit.
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
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "net.h"
#include "ntp.h"
#include "opt.h"
#include "proto.h"
#include "wire.h"

/* More than any protocol needs: a longer reply is malformed. */
#define REPLY_LIMIT	512

/* The most datagrams -r lets us send: one, and 100 more. */
#define TRIES_MAX	101

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
	int			 ntp;		/* send NTP requests */
	uint64_t		 xmt[TRIES_MAX];	/* each one's */
	size_t			 nsent;
};

/*
 * getaddrinfo cannot be given a deadline, so it runs in a thread of its
 * own and main waits for it at most until the deadline.  When that passes
 * the thread is abandoned, still blocked, and dies with the process; that
 * is why what it fills in is static rather than on main's stack.
 */
#define ABOUT \
"Ask a time server the time, in stamp (\"%lld\\r\\n\" of the Unix time), RFC 868\n" \
"time or RFC 867 daytime, over TCP or UDP, and print it with its offset from\n" \
"the local clock; or ask an NTP server (over UDP) and print the offset and\n" \
"round-trip delay.  HOST is localhost unless given; PORT is the protocol's\n" \
"(1937, 37, 13, 123).  Exit: 0 ok, 1 failure (refused, timeout, an\n" \
"unsynchronized NTP server), 2 usage, 3 malformed reply."

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


/* The command line, as parse leaves it. */
struct args {
	const char		*host;		/* operands, or localhost */
	int			 port;		/* -p or operand; -1: proto's */
	int			 proto;		/* -P */
	int			 ntp;		/* -P ntp */
	int			 unsynced;	/* --unsynced */
	int			 family;	/* -4, -6, or AF_UNSPEC */
	int			 udp;		/* -u */
	int			 retries;	/* -r */
	long long		 timeout_ms;	/* -t */
	int			 quiet;		/* -q */
	int			 verbose;	/* -v */
	const char		*lspec;		/* -l, or NULL */
	const char		*ifname;	/* --interface, or NULL */
	long long		 count;		/* -n; 0: for ever */
	int			 timed;		/* -t was given */
	int			 retried;	/* -r was given */
};

#define A(field)	offsetof(struct args, field)

enum {
	ARG_INTERFACE = OPT_LONG,
	ARG_UNSYNCED,
};

/* In the order of --help. */
static const struct opt opts[] = {
	{ "ipv4", '4', OPT_NONE, NULL, 0, 0, 0, 0, "use IPv4 only" },
	{ "ipv6", '6', OPT_NONE, NULL, 0, 0, 0, 0, "use IPv6 only" },
	{ "help", 'h', OPT_NONE, NULL, 0, 0, 0, 0, "print this help and exit" },
	{ "listen", 'l', OPT_STR, "SPEC", A(lspec), 0, 0, 0,
	    "print the announcements sent to SPEC,\n"
	    "udp:GROUP:PORT (joined), or\n"
	    "udp:0.0.0.0:PORT or udp:[::]:PORT for\n"
	    "broadcast and unicast" },
	{ "count", 'n', OPT_LLONG, "N", A(count), 1, 1000000000, 0,
	    "with -l: stop after N announcements (default: never)" },
	{ "interface", ARG_INTERFACE, OPT_STR, "NAME", A(ifname), 0, 0, 0,
	    "with -l: join the group on NAME (default: as the\n"
	    "routes say)" },
	{ "protocol", 'P', OPT_ARG, "NAME", 0, 0, 0, 0,
	    "stamp (default), time, daytime, or ntp (over UDP)" },
	{ "port", 'p', OPT_INT, "PORT", A(port), 1, 65535, -1,
	    "port (default: the protocol's: 1937, 37, 13, 123)" },
	{ "quiet", 'q', OPT_FLAG, NULL, A(quiet), 0, 0, 0,
	    "print only the Unix time" },
	{ "retries", 'r', OPT_INT, "N", A(retries), 0, 100, 2,
	    "UDP: resend the datagram up to N times (default 2)" },
	/* A millisecond is the finest that poll can wait. */
	{ "timeout", 't', OPT_SECS, "SECONDS", A(timeout_ms), 1, 3600000,
	    5000,
	    "give up after SECONDS in all (default 5; with -l\n"
	    "none)" },
	{ "udp", 'u', OPT_FLAG, NULL, A(udp), 0, 0, 0,
	    "ask over UDP instead of TCP" },
	{ "unsynced", ARG_UNSYNCED, OPT_FLAG, NULL, A(unsynced), 0, 0, 0,
	    "with -P ntp: print an unsynchronized server's\n"
	    "time and exit 0, rather than refuse it" },
	{ "version", 'V', OPT_NONE, NULL, 0, 0, 0, 0,
	    "print the version and exit" },
	{ "verbose", 'v', OPT_FLAG, NULL, A(verbose), 0, 0, 0,
	    "print the address and the raw reply to stderr;\n"
	    "with -l also the port, and each TTL" },
	{ NULL, 0, 0, NULL, 0, 0, 0, 0, NULL }
};

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: stamp [-46hqVuv] [-P protocol] [-p port] "
	    "[-r retries] [-t seconds]\n"
	    "             [--unsynced] [host [port]]\n"
	    "       stamp -l spec [-hqVv] [-n count] [-P protocol] "
	    "[-t seconds]\n"
	    "             [--interface name]\n");
}

/* What no one option can say alone; then the operands. */
static void
check(struct args *a, int argc, char *argv[])
{
	if (a->lspec == NULL && (a->count != 0 || a->ifname != NULL))
		opt_fail("-n and --interface go with --listen");
	if (a->lspec != NULL && (argc > 0 || a->port != -1))
		opt_fail("--listen takes no host and no port: SPEC names "
		    "them");
	if (a->lspec != NULL && (a->family != AF_UNSPEC || a->retried))
		opt_fail("-4, -6 and -r do not apply to --listen");
	if (a->lspec != NULL && a->ntp)
		opt_fail("--listen hears stamp, time or daytime: stampd "
		    "announces no NTP");
	if (a->unsynced && !a->ntp)
		opt_fail("--unsynced goes with -P ntp");
	/* NTP is a datagram protocol only: TCP port 123 serves nothing. */
	if (a->ntp)
		a->udp = 1;
	if (argc > 2)
		opt_fail("too many operands");
	if (argc == 2 && a->port != -1)
		opt_fail("a port both as -p and as an operand");
	if (argc == 2)
		a->port = (int)opt_number("port", argv[1], 1, 65535);
	if (argc >= 1)
		a->host = argv[0];
	if (a->port == -1)
		a->port = wire_proto_port(a->proto);
}

static void
parse(struct args *a, int argc, char *argv[])
{
	int	 ch, family;

	opt_init("stamp", usage);
	opt_defaults(opts, a);
	a->host = "localhost";
	a->proto = STAMP_PROTO_STAMP;
	a->family = AF_UNSPEC;
	while ((ch = opt_next(argc, argv, opts, a)) != -1) {
		switch (ch) {
		case '4':
		case '6':
			family = ch == '4' ? AF_INET : AF_INET6;
			if (a->family != AF_UNSPEC && a->family != family)
				opt_fail("-4 and -6 exclude each other");
			a->family = family;
			break;
		case 'h':
			opt_help_all(opts, ABOUT);
		case 'P':
			if ((a->proto = wire_proto_find(optarg)) == -1)
				opt_fail("--protocol %s: want stamp, time, "
				    "daytime or ntp", optarg);
			/* NTP is a request and a reply: ask_ntp's. */
			a->ntp = a->proto == STAMP_PROTO_NTP;
			break;
		case 'r':
			a->retried = 1;
			break;
		case 't':
			a->timed = 1;
			break;
		case 'V':
			opt_version();
		}
	}
	check(a, argc - optind, argv + optind);
}

/* The time ms from now on clock. */
static void
deadline_in(struct timespec *ts, clockid_t clock, long long ms)
{
	clock_gettime(clock, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += ms % 1000 * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
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
	deadline_in(&until, CLOCK_REALTIME, left);
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
	int			 fd, r;

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
	net_close(fd);
	return -1;
}

/*
 * An NTP client's request (RFC 4330's: every field 0 but the mode, the
 * version and the transmit timestamp), stamped now: the server echoes that
 * timestamp as the reply's origin, which is how we know the reply is ours
 * and when we sent what it answers.  Returns 0, or -1 and errno.
 */
static int
send_ntp(int fd, struct query *q)
{
	struct ntp_packet	 p;
	unsigned char		 buf[NTP_HEADER_LEN];

	memset(&p, 0, sizeof p);
	p.version = NTP_VERSION;
	p.mode = NTP_MODE_CLIENT;
	/* The last moment before the send, as a server reads its own. */
	clock_gettime(CLOCK_REALTIME, &q->sent);
	p.xmt = ntp_from_timespec(&q->sent);
	if (ntp_encode(&p, buf, sizeof buf) == -1) {
		errno = EINVAL;
		return -1;
	}
	if (q->nsent < TRIES_MAX)
		q->xmt[q->nsent++] = p.xmt;
	return net_sendto(fd, buf, sizeof buf, NULL, 0) == -1 ? -1 : 0;
}

/*
 * Receive the NTP reply into q, with the time the kernel took it in
 * (SO_TIMESTAMPNS) as its arrival, t4: our own clock read after the call
 * would add this process's wake-up to the round trip.  Without that
 * timestamp in the control data, our reading stands.  A datagram longer
 * than q->reply fills it, one byte more than REPLY_LIMIT, and so is too
 * long.  Returns 1, 0 when none was waiting, or -1 and errno.
 */
static int
recv_stamped(int fd, struct query *q)
{
	struct mmsghdr	 m;
	struct iovec	 iov = { .iov_base = q->reply,
			    .iov_len = sizeof q->reply };
	struct cmsghdr	*c;
	union {
		struct cmsghdr	 align;
		char		 buf[CMSG_SPACE(sizeof(struct timespec))];
	}		 ctl;
	int		 r;

	memset(&m, 0, sizeof m);
	m.msg_hdr.msg_iov = &iov;
	m.msg_hdr.msg_iovlen = 1;
	m.msg_hdr.msg_control = ctl.buf;
	m.msg_hdr.msg_controllen = sizeof ctl.buf;
	if ((r = net_recvmmsg(fd, &m, 1)) <= 0)
		return r;
	clock_gettime(CLOCK_REALTIME, &q->got);
	q->len = m.msg_len;
	for (c = CMSG_FIRSTHDR(&m.msg_hdr); c != NULL;
	    c = CMSG_NXTHDR(&m.msg_hdr, c))
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_TIMESTAMPNS)
			memcpy(&q->got, CMSG_DATA(c), sizeof q->got);
	return 1;
}

/*
 * Send an empty datagram (or an NTP request) on a connected socket and
 * wait for one reply, resending after each share of the timeout.
 * Connected, so that only the server can answer and its ICMP port
 * unreachable comes back to us as ECONNREFUSED.
 */
static int
ask_udp(struct query *q)
{
	struct sockaddr_storage	 from;
	socklen_t		 fromlen;
	struct timespec		 tryend;
	long long		 left, share;
	ssize_t			 n;
	int			 fd, r, try;

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
	if (q->ntp && net_setopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1) == -1)
		goto fail;
	for (try = 0; try <= q->retries; try++) {
		if ((left = ms_left(&q->deadline)) <= 0)
			break;
		if (try < q->retries && share < left)
			left = share;
		deadline_in(&tryend, CLOCK_MONOTONIC, left);
		if (q->ntp) {
			if (send_ntp(fd, q) == -1)
				goto fail;
		} else {
			clock_gettime(CLOCK_REALTIME, &q->sent);
			if (net_sendto(fd, "", 0, NULL, 0) == -1)
				goto fail;
		}
		while ((left = ms_left(&tryend)) > 0) {
			if ((r = net_wait(fd, POLLIN, (int)left)) == -1)
				goto fail;
			if (r == 0)
				break;
			if (q->ntp) {
				if ((r = recv_stamped(fd, q)) == -1)
					goto fail;
				if (r == 0)
					continue;
				close(fd);
				return 0;
			}
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
	net_close(fd);
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
 * Print the time t, told by where, with the offset of our clock (and what
 * else the protocol measures) as text; how says the protocol's transport
 * and what else it tells.  Each line is flushed as it comes: whoever reads
 * us may be waiting for it.
 */
static void
show(const struct args *a, long long t, const char *offset,
    const char *where, const char *how)
{
	struct wire_tm	 tm;

	if (a->quiet)
		printf("%lld\n", t);
	else {
		wire_civil(t, &tm);
		printf("%lld %04lld-%02d-%02d %02d:%02d:%02d UTC offset %s "
		    "from %s (%s/%s)\n", t, tm.year, tm.mon, tm.mday, tm.hour,
		    tm.min, tm.sec, offset, where, wire_proto_name(a->proto),
		    how);
	}
	if (fflush(stdout) == EOF || ferror(stdout))
		fatal("stdout");
}

/* The offset of a protocol of whole seconds, as show prints it. */
static void
show_seconds(const struct args *a, long long t, double offset,
    const char *where, const char *how)
{
	char	 text[64];

	snprintf(text, sizeof text, "%+.3fs", offset);
	show(a, t, text, where, how);
}

/*
 * The spec of --listen, checked: udp, --interface only for a group to
 * join, and a link-scope group only with it.  Fills spec and *ifindex
 * (0: the routes choose).
 */
static void
listen_spec(const struct args *a, struct net_spec *spec,
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
listen_socket(const struct args *a, const struct net_spec *spec,
    unsigned int ifindex, char *here)
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
	struct iovec	 iov = { .iov_base = buf, .iov_len = size };
	struct cmsghdr	*c;
	union {
		struct cmsghdr	 align;
		char		 buf[2 * CMSG_SPACE(sizeof(int))];
	}		 ctl;
	int		 r;

	memset(&m, 0, sizeof m);
	m.msg_hdr.msg_name = from;
	m.msg_hdr.msg_namelen = sizeof *from;
	m.msg_hdr.msg_iov = &iov;
	m.msg_hdr.msg_iovlen = 1;
	m.msg_hdr.msg_control = ctl.buf;
	m.msg_hdr.msg_controllen = sizeof ctl.buf;
	if ((r = net_recvmmsg(fd, &m, 1)) <= 0)
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
announcement(int fd, const struct args *a)
{
	static char		 reply[REPLY_LIMIT + 1];
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
		    "ttl %d: %s\n", where, len, ttl, escape(reply, len, raw));
	if (len > REPLY_LIMIT || trunc)
		why = "announcement too long";
	else if (wire_decode(a->proto, reply, len, &t, &why) == 0)
		why = NULL;
	if (why != NULL) {
		log_warnx("%s: malformed %s announcement (skipped): %s", where,
		    wire_proto_name(a->proto), why);
		return 0;
	}
	show_seconds(a, t, (double)t - seconds(&now), where,
	    "udp announcement");
	return 1;
}

/*
 * --listen: print each announcement as it comes.  Returns the exit
 * status: 0 after a->count announcements, 1 when the timeout (if any)
 * passed first.
 */
static int
listen_announcements(const struct args *a)
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
		deadline_in(&deadline, CLOCK_MONOTONIC, a->timeout_ms);
	while (a->count == 0 || got < a->count) {
		if (a->timed && (left = ms_left(&deadline)) <= 0)
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

/*
 * Resolve the server and make the exchange with it, before the deadline
 * of -t; write its address into where.  Any failure ends the program.
 */
static void
reach(struct query *q, const struct args *a, char *where)
{
	const char	*tname = a->udp ? "udp" : "tcp";
	int		 gai;

	q->host = a->host;
	snprintf(q->port, sizeof q->port, "%d", a->port);
	q->family = a->family;
	q->type = a->udp ? SOCK_DGRAM : SOCK_STREAM;
	q->retries = a->retries;
	q->ntp = a->ntp;
	deadline_in(&q->deadline, CLOCK_MONOTONIC, a->timeout_ms);
	if ((gai = resolve(q)) != 0 && gai == EAI_AGAIN && errno == ETIMEDOUT)
		fatalx("%s: timed out after %gs", q->host,
		    a->timeout_ms / 1000.0);
	if (gai != 0)
		fatalx("%s: %s", q->host, gai == EAI_SYSTEM ?
		    strerror(errno) : gai_strerror(gai));
	net_addr_str((struct sockaddr *)&q->addr, where, NET_ADDRSTRLEN);
	if (a->verbose)
		log_info("trying %s (%s/%s)", where, wire_proto_name(a->proto), tname);
	if ((q->type == SOCK_STREAM ? ask_tcp(q) : ask_udp(q)) == 0)
		return;
	if (errno == ETIMEDOUT)
		fatalx("%s: timed out after %gs", where,
		    a->timeout_ms / 1000.0);
	fatal("%s", where);
}

static const char *const leap_names[4] = {
	"none", "insert", "delete", "unsynchronized",
};

/*
 * Print what an NTP server told: its time (of its transmit timestamp), the
 * offset of its clock from ours and the round trip, its stratum and leap
 * indicator.
 */
static void
show_ntp(const struct args *a, const struct ntp_packet *rep, long long t,
    double offset, double delay, const char *where)
{
	char	 text[64], how[64];

	snprintf(text, sizeof text, "%+.6fs delay %.6fs", offset, delay);
	snprintf(how, sizeof how, "udp, stratum %d, leap %s", rep->stratum,
	    leap_names[rep->leap & 3]);
	show(a, t, text, where, how);
}

/* What a Kiss-o'-Death code asks of a client (RFC 5905, figure 13). */
static const char *
kiss_meaning(const char *code)
{
	if (strcmp(code, "RATE") == 0)
		return "the server asks to be asked less often";
	if (strcmp(code, "DENY") == 0 || strcmp(code, "RSTR") == 0)
		return "the server denies us access";
	return "the server refuses to answer";
}

/*
 * -P ntp: one request, and the reply judged by ntp_check_reply.  Returns
 * the exit status: 0; 1 for a Kiss-o'-Death or, without --unsynced, an
 * unsynchronized server; 3 for a malformed reply.
 */
static int
ask_ntp(const struct args *a)
{
	static struct query	 q;
	static char		 raw[4 * sizeof q.reply + 3];
	struct ntp_packet	 rep;
	struct timespec		 ts;
	char			 where[NET_ADDRSTRLEN], id[16];
	const char		*why;
	enum ntp_check		 c;
	double			 offset, delay;

	reach(&q, a, where);
	if (a->verbose)
		fprintf(stderr, "stamp: %s: reply of %zu bytes: %s\n", where,
		    q.len, escape(q.reply, q.len < sizeof q.reply ? q.len :
		    sizeof q.reply, raw));
	if (q.len > REPLY_LIMIT) {
		c = NTP_CHECK_MALFORMED;
		why = "reply too long";
	} else
		c = ntp_check_reply(q.reply, q.len, q.xmt, q.nsent, &rep,
		    &why);
	if (c == NTP_CHECK_MALFORMED) {
		log_warnx("%s: malformed ntp reply: %s", where, why);
		return 3;
	}
	ntp_refid_str(rep.refid, rep.stratum, id, sizeof id);
	if (a->verbose)
		fprintf(stderr, "stamp: %s: leap %d, version %d, mode %d, "
		    "stratum %d, poll %d, precision %d, refid %s, root delay "
		    "%.6fs, root dispersion %.6fs\n", where, rep.leap,
		    rep.version, rep.mode, rep.stratum, rep.poll,
		    rep.precision, id, ntp_short_to_sec(rep.root_delay),
		    ntp_short_to_sec(rep.root_disp));
	if (c == NTP_CHECK_KOD) {
		log_warnx("%s: kiss-o'-death %s: %s", where, id,
		    kiss_meaning(id));
		return 1;
	}
	if (c == NTP_CHECK_UNSYNC && !a->unsynced) {
		log_warnx("%s: server unsynchronized (leap %d, stratum %d): "
		    "its time is not to be trusted (--unsynced takes it)",
		    where, rep.leap, rep.stratum);
		return 1;
	}
	/*
	 * t1 is the origin the server echoed: the transmit time of the
	 * request it answers, whichever try that was.
	 */
	ntp_offset_delay(rep.org, rep.rec, rep.xmt,
	    ntp_from_timespec(&q.got), &offset, &delay);
	ntp_to_timespec(rep.xmt, q.got.tv_sec, &ts);
	show_ntp(a, &rep, (long long)ts.tv_sec, offset, delay, where);
	return 0;
}

/*
 * Ask the server for the time and print it.  Returns the exit status: 0,
 * or 3 for a malformed reply.
 */
static int
ask(const struct args *a)
{
	static struct query	 q;
	static char		 raw[4 * sizeof q.reply + 3];
	char			 where[NET_ADDRSTRLEN];
	const char		*why;
	long long		 t;
	double			 mid;

	reach(&q, a, where);
	if (a->verbose)
		fprintf(stderr, "stamp: %s: reply of %zu bytes: %s\n", where,
		    q.len, escape(q.reply, q.len < sizeof q.reply ? q.len :
		    sizeof q.reply, raw));
	if (q.len > REPLY_LIMIT)
		why = "reply too long";
	else if (wire_decode(a->proto, q.reply, q.len, &t, &why) == 0)
		why = NULL;
	if (why != NULL) {
		log_warnx("%s: malformed %s reply: %s", where,
		    wire_proto_name(a->proto), why);
		return 3;
	}
	/*
	 * The server says whole seconds, so the offset is good to one
	 * second only; it is not rounded to pretend otherwise.
	 */
	mid = (seconds(&q.sent) + seconds(&q.got)) / 2;
	show_seconds(a, t, (double)t - mid, where, a->udp ? "udp" : "tcp");
	return 0;
}

int
main(int argc, char *argv[])
{
	static struct args	 a;
	struct sigaction	 sa;

	log_init("stamp");
	parse(&a, argc, argv);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		fatal("sigaction");
	if (a.lspec != NULL)
		return listen_announcements(&a);
	if (a.ntp)
		return ask_ntp(&a);
	return ask(&a);
}
