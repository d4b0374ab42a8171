/*
 * lesson_dgram.c: what a UDP socket does with the messages it carries.
 *
 * Experiments, not tests of stampd: each one asks the kernel a question of
 * docs/stream-vs-datagram.md with plain socket calls on loopback, and checks
 * the answer.  A datagram is a whole message or nothing: the kernel keeps
 * each one's boundaries (even an empty one's) but promises neither delivery
 * nor order, and there is no connection to refuse.  Every socket has a
 * timeout, so no wait here is longer than WAIT_MS.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "tap.h"

#define WAIT_MS		((int)h_ms(3000))	/* any one wait, scaled */
#define QUIET_MS	200	/* how long "nothing comes back" is watched */
#define NFLOOD		2000	/* datagrams sent at a receiver that sleeps */
#define FLOODLEN	1000

static const char	*fam;	/* "IPv4" or "IPv6", for the test names */

/* "127.0.0.1:40000" or "[::1]:40000", in a static buffer. */
static const char *
addr_text(const struct sockaddr_storage *ss)
{
	static char	 out[INET6_ADDRSTRLEN + 16];
	char		 a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr,
		    a, sizeof(a));
		snprintf(out, sizeof(out), "%s:%d", a, h_port_of(ss));
	} else if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)ss)->sin6_addr, a,
		    sizeof(a));
		snprintf(out, sizeof(out), "[%s]:%d", a, h_port_of(ss));
	} else
		snprintf(out, sizeof(out), "(family %d)", ss->ss_family);
	return out;
}

/* A UDP socket bound to loopback port 0; its address in *ss, *len. */
static int
bound_socket(int family, struct sockaddr_storage *ss, socklen_t *len)
{
	int	 fd;

	fd = h_timed_socket(family, SOCK_DGRAM, WAIT_MS);
	h_loopback(family, ss, len);
	if (bind(fd, (struct sockaddr *)ss, *len) == -1 ||
	    getsockname(fd, (struct sockaddr *)ss, len) == -1)
		bail("bind to loopback port 0 failed");
	return fd;
}

/*
 * The address of a loopback UDP port where nothing listens: one the kernel
 * gave us and we gave back.  Another test could bind it again in between,
 * but ports are handed out at random from tens of thousands.
 */
static void
dead_port(int family, struct sockaddr_storage *ss, socklen_t *len)
{
	close(bound_socket(family, ss, len));
}

static int
wait_readable(int fd, int ms)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, ms) == 1 && (pfd.revents & POLLIN);
}

/* With no connection there is nothing to refuse: the datagram just goes. */
static void
udp_no_connection(int family)
{
	struct sockaddr_storage	 to;
	struct pollfd		 pfd;
	socklen_t		 tolen, elen;
	int			 u, err = -1;

	dead_port(family, &to, &tolen);
	u = h_timed_socket(family, SOCK_DGRAM, WAIT_MS);
	is_int(sendto(u, "hi", 2, 0, (struct sockaddr *)&to, tolen), 2,
	    "udp_no_connection %s: sendto %s, where nothing listens, "
	    "returns 2", fam, addr_text(&to));
	/*
	 * The kernel did answer with ICMP port unreachable, but an unconnected
	 * socket could be talking to anyone: Linux keeps the error from it.
	 */
	pfd.fd = u;
	pfd.events = POLLIN;
	is_int(poll(&pfd, 1, QUIET_MS), 0,
	    "udp_no_connection %s: nothing comes back in %d ms, no error",
	    fam, QUIET_MS);
	elen = sizeof(err);
	getsockopt(u, SOL_SOCKET, SO_ERROR, &err, &elen);
	is_int(err, 0, "udp_no_connection %s: SO_ERROR stays 0", fam);
	close(u);
}

/* connect() on UDP sends nothing, but then the ICMP error is ours. */
static void
udp_connected_refused(int family)
{
	struct sockaddr_storage	 to;
	socklen_t		 tolen;
	char			 buf[16];
	ssize_t			 n;
	int			 u;

	dead_port(family, &to, &tolen);
	u = h_timed_socket(family, SOCK_DGRAM, WAIT_MS);
	is_int(connect(u, (struct sockaddr *)&to, tolen), 0,
	    "udp_connected_refused %s: connect to a dead port succeeds: "
	    "nothing was sent", fam);
	is_int(send(u, "hi", 2, 0), 2,
	    "udp_connected_refused %s: the first send succeeds too", fam);
	n = recv(u, buf, sizeof(buf), 0);
	ok(n == -1 && errno == ECONNREFUSED,
	    "udp_connected_refused %s: the next recv fails with "
	    "ECONNREFUSED (ICMP port unreachable)", fam);
	if (n != -1 || errno != ECONNREFUSED)
		diag("recv returned %zd: %s", n, n == -1 ? strerror(errno) :
		    "data");
	close(u);
}

/* Three sendto(), three datagrams, each read whole by one recvfrom(). */
static void
udp_keeps_boundaries(int family)
{
	static const char	*msg[] = { "a", "bb", "ccc" };
	struct sockaddr_storage	 ra, sa;
	socklen_t		 ralen, salen;
	char			 buf[64];
	ssize_t			 n;
	int			 r, s, i, seen[4] = { 0 };

	r = bound_socket(family, &ra, &ralen);
	s = bound_socket(family, &sa, &salen);
	for (i = 0; i < 3; i++)
		is_int(sendto(s, msg[i], strlen(msg[i]), 0,
		    (struct sockaddr *)&ra, ralen), (long long)strlen(msg[i]),
		    "udp_keeps_boundaries %s: sendto \"%s\"", fam, msg[i]);
	for (i = 0; i < 3; i++) {
		n = recvfrom(r, buf, sizeof(buf), 0, NULL, NULL);
		/* UDP does not promise order, so each is checked alone. */
		ok(n >= 1 && n <= 3 && memcmp(buf, msg[n - 1], n) == 0,
		    "udp_keeps_boundaries %s: recvfrom %d returns one whole "
		    "datagram (%zd bytes)", fam, i + 1, n);
		if (n >= 1 && n <= 3)
			seen[n]++;
	}
	ok(seen[1] == 1 && seen[2] == 1 && seen[3] == 1,
	    "udp_keeps_boundaries %s: lengths 1, 2 and 3, each once", fam);
	close(r);
	close(s);
}

/* A datagram is read in one call: what does not fit is thrown away. */
static void
udp_truncates(int family)
{
	struct sockaddr_storage	 ra, sa;
	struct msghdr		 mh;
	struct iovec		 iov;
	socklen_t		 ralen, salen;
	char			 buf[64];
	ssize_t			 n;
	int			 r, s;

	r = bound_socket(family, &ra, &ralen);
	s = bound_socket(family, &sa, &salen);
	is_int(sendto(s, "0123456789", 10, 0, (struct sockaddr *)&ra, ralen),
	    10, "udp_truncates %s: sendto 10 bytes", fam);
	/* Once the first is queued the second is behind it: no race. */
	ok(wait_readable(r, WAIT_MS), "udp_truncates %s: it arrived", fam);
	is_int(sendto(s, "XY", 2, 0, (struct sockaddr *)&ra, ralen), 2,
	    "udp_truncates %s: then sendto 2 bytes", fam);

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = buf;
	iov.iov_len = 4;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	n = recvmsg(r, &mh, 0);
	is_int(n, 4, "udp_truncates %s: recvmsg into 4 bytes returns 4", fam);
	ok(n == 4 && memcmp(buf, "0123", 4) == 0,
	    "udp_truncates %s: the first 4 bytes", fam);
	ok(mh.msg_flags & MSG_TRUNC,
	    "udp_truncates %s: MSG_TRUNC is set in msg_flags", fam);
	n = recv(r, buf, sizeof(buf), 0);
	is_int(n, 2, "udp_truncates %s: the next recv gets the NEXT datagram, "
	    "\"456789\" is gone", fam);
	ok(n == 2 && memcmp(buf, "XY", 2) == 0,
	    "udp_truncates %s: and it is XY", fam);

	is_int(sendto(s, "0123456789", 10, 0, (struct sockaddr *)&ra, ralen),
	    10, "udp_truncates %s: sendto 10 bytes again", fam);
	/* Linux: with MSG_TRUNC, recv returns the datagram's real length. */
	n = recv(r, buf, 4, MSG_TRUNC);
	is_int(n, 10, "udp_truncates %s: recv(4, MSG_TRUNC) returns the real "
	    "length, 10", fam);
	ok(memcmp(buf, "0123", 4) == 0,
	    "udp_truncates %s: having copied only 4", fam);
	close(r);
	close(s);
}

/* An empty datagram is a message: it arrives, and says who sent it. */
static void
udp_empty_datagram(int family)
{
	struct sockaddr_storage	 ra, sa, from;
	socklen_t		 ralen, salen, fromlen;
	char			 buf[64];
	ssize_t			 n;
	int			 r, s;

	r = bound_socket(family, &ra, &ralen);
	s = bound_socket(family, &sa, &salen);
	is_int(sendto(s, "", 0, 0, (struct sockaddr *)&ra, ralen), 0,
	    "udp_empty_datagram %s: sendto of 0 bytes returns 0", fam);
	ok(wait_readable(r, WAIT_MS),
	    "udp_empty_datagram %s: the receiver becomes readable", fam);
	fromlen = sizeof(from);
	memset(&from, 0, sizeof(from));
	n = recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&from,
	    &fromlen);
	is_int(n, 0, "udp_empty_datagram %s: recvfrom returns 0: a datagram "
	    "of length 0, not an end", fam);
	ok(h_same_addr(&from, &sa),
	    "udp_empty_datagram %s: from the sender, %s", fam,
	    addr_text(&from));
	is_int(sendto(s, "x", 1, 0, (struct sockaddr *)&ra, ralen), 1,
	    "udp_empty_datagram %s: sendto x", fam);
	is_int(recv(r, buf, sizeof(buf), 0), 1,
	    "udp_empty_datagram %s: the socket goes on: x arrives", fam);
	close(r);
	close(s);
}

/* With no connection, every datagram needs an address. */
static void
udp_send_needs_address(int family)
{
	struct sockaddr_storage	 ra, sa, from, auto_sa;
	socklen_t		 ralen, salen, fromlen, autolen;
	char			 buf[64];
	ssize_t			 n;
	int			 r, s, u;

	r = bound_socket(family, &ra, &ralen);
	s = bound_socket(family, &sa, &salen);
	n = send(s, "hello", 5, 0);
	ok(n == -1 && errno == EDESTADDRREQ,
	    "udp_send_needs_address %s: send() with no peer fails with "
	    "EDESTADDRREQ", fam);
	is_int(sendto(s, "hello", 5, 0, (struct sockaddr *)&ra, ralen), 5,
	    "udp_send_needs_address %s: sendto() with an address works", fam);
	fromlen = sizeof(from);
	memset(&from, 0, sizeof(from));
	n = recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&from,
	    &fromlen);
	ok(n == 5 && memcmp(buf, "hello", 5) == 0,
	    "udp_send_needs_address %s: hello arrives", fam);
	ok(h_same_addr(&from, &sa),
	    "udp_send_needs_address %s: recvfrom says from %s, the "
	    "sender's getsockname", fam, addr_text(&from));

	/* A socket never bound gets a port at its first sendto. */
	u = h_timed_socket(family, SOCK_DGRAM, WAIT_MS);
	is_int(sendto(u, "hi", 2, 0, (struct sockaddr *)&ra, ralen), 2,
	    "udp_send_needs_address %s: sendto from an unbound socket", fam);
	autolen = sizeof(auto_sa);
	memset(&auto_sa, 0, sizeof(auto_sa));
	getsockname(u, (struct sockaddr *)&auto_sa, &autolen);
	ok(h_port_of(&auto_sa) != 0,
	    "udp_send_needs_address %s: it was given port %d", fam,
	    h_port_of(&auto_sa));
	fromlen = sizeof(from);
	n = recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&from,
	    &fromlen);
	ok(n == 2 && h_port_of(&from) == h_port_of(&auto_sa),
	    "udp_send_needs_address %s: recvfrom reports that port", fam);
	close(u);
	close(r);
	close(s);
}

/*
 * The Udp (or Udp6) RcvbufErrors counter of /proc/net/snmp(6): datagrams
 * dropped because a receive buffer was full.  -1 if it cannot be read.
 */
static long long
rcvbuf_errors(int family)
{
	char		 line[1024], names[1024], *np, *vp, *nsave, *vsave;
	long long	 v = -1;
	FILE		*f;

	if (family == AF_INET6) {
		if ((f = fopen("/proc/net/snmp6", "r")) == NULL)
			return -1;
		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "Udp6RcvbufErrors %lld", &v) == 1)
				break;
		fclose(f);
		return v;
	}
	if ((f = fopen("/proc/net/snmp", "r")) == NULL)
		return -1;
	/* Two "Udp:" lines: the names, then the values in the same order. */
	names[0] = '\0';
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "Udp: ", 5) != 0)
			continue;
		if (names[0] == '\0') {
			snprintf(names, sizeof(names), "%s", line);
			continue;
		}
		np = strtok_r(names, " \n", &nsave);
		vp = strtok_r(line, " \n", &vsave);
		while (np != NULL && vp != NULL) {
			if (strcmp(np, "RcvbufErrors") == 0) {
				v = strtoll(vp, NULL, 10);
				break;
			}
			np = strtok_r(NULL, " \n", &nsave);
			vp = strtok_r(NULL, " \n", &vsave);
		}
		break;
	}
	fclose(f);
	return v;
}

/*
 * A receiver that does not read, with a small buffer: the kernel drops
 * what does not fit, and tells nobody but a counter.  What does arrive
 * arrives whole.
 */
static void
udp_drops_when_full(int family)
{
	static char		 buf[FLOODLEN + 16];
	struct sockaddr_storage	 ra, sa;
	socklen_t		 ralen, salen;
	long long		 before, after;
	ssize_t			 n;
	int			 r, s, i, j, rcvbuf, sent, got, whole;

	r = bound_socket(family, &ra, &ralen);
	s = bound_socket(family, &sa, &salen);
	rcvbuf = 4096;
	ok(setsockopt(r, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) == 0,
	    "udp_drops_when_full %s: SO_RCVBUF %d on the receiver", fam,
	    rcvbuf);
	before = rcvbuf_errors(family);
	for (sent = 0; sent < NFLOOD; sent++) {
		memset(buf, 'A' + sent % 26, FLOODLEN);
		memcpy(buf, &sent, sizeof(sent));
		if (sendto(s, buf, FLOODLEN, 0, (struct sockaddr *)&ra,
		    ralen) != FLOODLEN) {
			diag("sendto %d: %s", sent, strerror(errno));
			break;
		}
	}
	is_int(sent, NFLOOD, "udp_drops_when_full %s: %d datagrams of %d "
	    "bytes sent, none refused", fam, NFLOOD, FLOODLEN);
	ok(wait_readable(r, WAIT_MS),
	    "udp_drops_when_full %s: the receiver has something to read", fam);
	got = whole = 0;
	for (i = 0; i <= NFLOOD; i++) {
		n = recv(r, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == -1)
			break;
		got++;
		memcpy(&j, buf, sizeof(j));
		if (n == FLOODLEN && j >= 0 && j < NFLOOD &&
		    buf[n - 1] == 'A' + j % 26)
			whole++;
	}
	after = rcvbuf_errors(family);
	note("%d sent, %d received", sent, got);
	ok(got > 0, "udp_drops_when_full %s: some arrived", fam);
	ok(got < sent, "udp_drops_when_full %s: fewer arrived than were sent",
	    fam);
	is_int(whole, got, "udp_drops_when_full %s: each one whole, %d bytes",
	    fam, FLOODLEN);
	if (before == -1 || after == -1)
		skip("cannot read the RcvbufErrors counter in /proc/net");
	else {
		note("RcvbufErrors went from %lld to %lld", before, after);
		ok(after > before, "udp_drops_when_full %s: the kernel counted "
		    "the drops in RcvbufErrors", fam);
	}
	close(r);
	close(s);
}

static int
have_ipv6(void)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 fd, r;

	if ((fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		diag("no IPv6 socket: %s", strerror(errno));
		return 0;
	}
	h_loopback(AF_INET6, &ss, &len);
	if ((r = bind(fd, (struct sockaddr *)&ss, len)) == -1)
		diag("cannot bind [::1]:0: %s", strerror(errno));
	close(fd);
	return r == 0;
}

static const struct {
	const char	*name;
	void		(*fn)(int);
} tests[] = {
	{ "udp_no_connection",		udp_no_connection },
	{ "udp_connected_refused",	udp_connected_refused },
	{ "udp_keeps_boundaries",	udp_keeps_boundaries },
	{ "udp_truncates",		udp_truncates },
	{ "udp_empty_datagram",		udp_empty_datagram },
	{ "udp_send_needs_address",	udp_send_needs_address },
	{ "udp_drops_when_full",	udp_drops_when_full },
};

int
main(void)
{
	size_t	 i;
	int	 v6;

	/* A backstop only: every wait below is bounded on its own. */
	alarm((unsigned)(h_ms(60000) / 1000));
	v6 = have_ipv6();
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		fam = "IPv4";
		note("%s (%s)", tests[i].name, fam);
		tests[i].fn(AF_INET);
		fam = "IPv6";
		if (!v6) {
			skip("::1 cannot be bound");
			continue;
		}
		note("%s (%s)", tests[i].name, fam);
		tests[i].fn(AF_INET6);
	}
	return done_testing();
}
