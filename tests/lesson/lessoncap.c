/*
 * lessoncap.c: the lesson's experiments, run so that a capture can watch.
 *
 *	lessoncap EXPERIMENT 4|6
 *
 * Each experiment of docs/stream-vs-datagram.md that a ladder diagram
 * shows, with plain socket calls on loopback.  It binds its sockets to port
 * 0 first and prints the ports ("port N"), so that the caller can start
 * tcpdump filtered on them; it waits for a line on stdin (the capture is
 * listening), then runs, and prints what it did:
 *
 *	ent NAME ADDRESS PORT		the socket at ADDRESS.PORT is NAME
 *	ev ENTRY RETURN NAME TOKEN LABEL	NAME called something
 *	sep TIME - - - LABEL		a new part of the experiment begins
 *
 * ENTRY and RETURN are CLOCK_REALTIME, the clock tcpdump stamps packets
 * with, so that tests/lesson/ladder.sh can put calls and packets in one
 * order.  TOKEN is what the test matches; LABEL what the diagram shows.
 * It judges nothing (tests/sh/lesson_capture.t does, from the packets);
 * a call that fails where it must not is said on stderr, exit 1.  Every
 * wait is bounded, scaled by STAMP_TIMEOUT_SCALE.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"
#include "../scale.h"

#define GO_MS		30000	/* for the capture to start, scaled */
#define WAIT_MS		3000	/* any wait that should be short, scaled */
/* Below the 1 s a dropped SYN waits before it is sent again. */
#define PATIENCE_MS	500
/* A dropped SYN is sent again 1, 3, 7 s after the first; scaled. */
#define RETRY_MS	9000

static int	 family;
static double	 scale = 1;

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list	 ap;
	int	 e = errno;

	fprintf(stderr, "lessoncap: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(e));
	exit(1);
}

static int
ms(int base)
{
	return (int)(base * scale + 0.5);
}

static struct timespec
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts;
}

static long long
mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void
nap(int msec)
{
	struct timespec	 ts = { msec / 1000, msec % 1000 * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* One line of what a socket call did: TOKEN for the test, the rest for
 * the picture. */
static void __attribute__((format(printf, 5, 6)))
ev(struct timespec t0, const char *who, const char *token, int r,
    const char *fmt, ...)
{
	struct timespec	 t1 = now();
	va_list		 ap;
	int		 e = errno;

	printf("ev %lld.%09ld %lld.%09ld %s %s", (long long)t0.tv_sec,
	    t0.tv_nsec, (long long)t1.tv_sec, t1.tv_nsec, who, token);
	if (r == -1)
		printf("=%s ", strerrorname_np(e));
	else
		printf("=%d ", r);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (r == -1)
		printf(" = -1 %s\n", strerrorname_np(e));
	else
		printf(" = %d\n", r);
	fflush(stdout);
	errno = e;
}

static void
sep(const char *label)
{
	struct timespec	 t = now();

	printf("sep %lld.%09ld - - - %s\n", (long long)t.tv_sec, t.tv_nsec,
	    label);
	fflush(stdout);
}

static int
port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* A socket bound to loopback port 0, named who; its address in *ss. */
static int
bound(int type, const char *who, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	struct timeval		 tv = { ms(WAIT_MS) / 1000,
				    ms(WAIT_MS) % 1000 * 1000 };
	int			 fd;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*len = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		*len = sizeof(*sin6);
	}
	if ((fd = socket(family, type | SOCK_CLOEXEC, 0)) == -1)
		die("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1)
		die("SO_RCVTIMEO");
	if (bind(fd, (struct sockaddr *)ss, *len) == -1 ||
	    getsockname(fd, (struct sockaddr *)ss, len) == -1)
		die("bind to loopback port 0");
	if (who != NULL)
		printf("ent %s %s %d\n", who, family == AF_INET ?
		    "127.0.0.1" : "::1", port_of(ss));
	return fd;
}

/* The ports are out: wait until the caller's capture listens. */
static void
go(const char *filter)
{
	struct pollfd	 pfd = { .fd = 0, .events = POLLIN };
	char		 line[16];

	printf("filter %s\n", filter);
	fflush(stdout);
	if (poll(&pfd, 1, ms(GO_MS)) != 1 ||
	    read(0, line, sizeof(line)) <= 0) {
		errno = ETIMEDOUT;
		die("waiting for the go on stdin");
	}
}

static int
queued(int fd, int want)
{
	long long	 end = mono_ms() + ms(WAIT_MS);
	int		 n = 0;

	while (ioctl(fd, FIONREAD, &n) == 0 && n < want && mono_ms() < end)
		nap(1);
	return n;
}

static int
connected(int fd, int msec)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLOUT };
	socklen_t	 len = sizeof(int);
	int		 err = -1;

	if (poll(&pfd, 1, msec) != 1)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return 0;
	return err == 0;
}

/* Client c, named who, connects to the listener at la; *s its accept. */
static void
pair(int l, const struct sockaddr_storage *la, socklen_t lalen,
    const char *cli, const char *srv, int *c, int *s)
{
	struct sockaddr_storage	 ca;
	struct timespec		 t;
	socklen_t		 calen;
	int			 r;

	*c = bound(SOCK_STREAM, cli, &ca, &calen);
	t = now();
	r = connect(*c, (const struct sockaddr *)la, lalen);
	ev(t, cli, "connect", r, "connect()");
	if (r == -1)
		die("connect");
	t = now();
	*s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	ev(t, srv, "accept", *s == -1 ? -1 : 0, "accept(): a new socket");
	if (*s == -1)
		die("accept");
}

/* The handshake is the kernels' business: it is over before accept(). */
static void
handshake(void)
{
	struct sockaddr_storage	 la, ca;
	struct timespec		 t;
	socklen_t		 lalen, calen;
	char			 f[64], buf[16];
	ssize_t			 n;
	int			 l, c, s;

	l = bound(SOCK_STREAM, "server", &la, &lalen);
	if (listen(l, 8) == -1)
		die("listen");
	snprintf(f, sizeof(f), "tcp port %d", port_of(&la));
	go(f);
	c = bound(SOCK_STREAM, "client", &ca, &calen);
	t = now();
	ev(t, "server", "listen", 0, "listen(8), no accept() yet");
	t = now();
	ev(t, "client", "connect", connect(c, (struct sockaddr *)&la, lalen),
	    "connect()");
	/* Let the picture show a gap: accept() comes when it comes. */
	nap(20);
	t = now();
	s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	ev(t, "server", "accept", s == -1 ? -1 : 0, "accept(): a new socket");
	t = now();
	ev(t, "client", "close", close(c), "close()");
	t = now();
	n = recv(s, buf, sizeof(buf), 0);
	ev(t, "server", "recv", (int)n, "recv()");
	t = now();
	ev(t, "server", "close", close(s), "close()");
	close(l);
}

/* listen(1), nobody accepts: the third client's SYNs meet a full queue. */
static void
queue(void)
{
	static const char	*name[] = { "client1", "client2", "client3" };
	struct sockaddr_storage	 la, ca;
	struct tcp_info		 ti;
	struct timespec		 t;
	socklen_t		 lalen, calen, tilen;
	long long		 end;
	char			 f[64];
	int			 l, c[3], a[3], i, r;

	l = bound(SOCK_STREAM, "server", &la, &lalen);
	if (listen(l, 1) == -1)
		die("listen");
	snprintf(f, sizeof(f), "tcp port %d", port_of(&la));
	go(f);
	t = now();
	ev(t, "server", "listen", 0, "listen(1), no accept()");
	for (i = 0; i < 3; i++) {
		c[i] = bound(SOCK_STREAM | SOCK_NONBLOCK, name[i], &ca,
		    &calen);
		t = now();
		r = connect(c[i], (struct sockaddr *)&la, lalen);
		if (r == -1 && errno != EINPROGRESS)
			die("connect");
		r = connected(c[i], PATIENCE_MS) ? 0 : -1;
		errno = ETIMEDOUT;
		ev(t, name[i], "connect", r, "connect(), %d ms at most",
		    PATIENCE_MS);
	}
	/* Wait for the first retry of the third SYN, then a little more to
	 * show that it is dropped as well. */
	end = mono_ms() + ms(RETRY_MS);
	do {
		nap(10);
		tilen = sizeof(ti);
		memset(&ti, 0, sizeof(ti));
		if (getsockopt(c[2], IPPROTO_TCP, TCP_INFO, &ti, &tilen) == -1)
			die("TCP_INFO");
	} while (ti.tcpi_total_retrans < 1 && mono_ms() < end);
	nap(200);
	for (i = 0; i < 2; i++) {
		t = now();
		a[i] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		ev(t, "server", "accept", a[i] == -1 ? -1 : 0,
		    "accept(): room in the queue");
	}
	t = now();
	r = connected(c[2], ms(RETRY_MS)) ? 0 : -1;
	errno = ETIMEDOUT;
	ev(t, "client3", "connected", r, "poll(POLLOUT): connected");
	t = now();
	a[2] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	ev(t, "server", "accept", a[2] == -1 ? -1 : 0, "accept()");
	/* SO_LINGER 0: a RST each, so that the picture ends here. */
	for (i = 0; i < 3; i++) {
		struct linger	 lg = { 1, 0 };

		setsockopt(c[i], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		t = now();
		ev(t, name[i], "abort", close(c[i]), "close(), SO_LINGER 0");
		if (a[i] != -1)
			close(a[i]);
	}
	close(l);
}

/* A clean close sends FIN; a close with unread bytes sends RST. */
static void
finrst(void)
{
	struct sockaddr_storage	 la;
	struct timespec		 t;
	socklen_t		 lalen;
	char			 f[64], req[100], line[64], buf[256];
	ssize_t			 n;
	int			 l, c, s, len;

	l = bound(SOCK_STREAM, "server", &la, &lalen);
	if (listen(l, 8) == -1)
		die("listen");
	snprintf(f, sizeof(f), "tcp port %d", port_of(&la));
	go(f);
	memset(req, 'q', sizeof(req));
	len = snprintf(line, sizeof(line), STAMP_FMT, (long long)time(NULL));

	sep("clean: the server reads what was sent, then closes");
	pair(l, &la, lalen, "client", "server", &c, &s);
	t = now();
	ev(t, "client", "send", (int)send(c, req, sizeof(req), MSG_NOSIGNAL),
	    "send(100 bytes)");
	queued(s, sizeof(req));
	t = now();
	ev(t, "server", "send", (int)send(s, line, len, MSG_NOSIGNAL),
	    "send(the line)");
	t = now();
	ev(t, "server", "shutdown", shutdown(s, SHUT_WR), "shutdown(SHUT_WR)");
	t = now();
	ev(t, "server", "recv", (int)recv(s, buf, sizeof(buf), 0),
	    "recv(): the 100 bytes");
	t = now();
	ev(t, "server", "close", close(s), "close()");
	t = now();
	ev(t, "client", "recv", (int)recv(c, buf, sizeof(buf), 0), "recv()");
	t = now();
	ev(t, "client", "recv", (int)recv(c, buf, sizeof(buf), 0),
	    "recv(): end of stream");
	t = now();
	ev(t, "client", "close", close(c), "close()");
	nap(20);

	sep("unread: the server closes with the 100 bytes unread");
	pair(l, &la, lalen, "client", "server", &c, &s);
	t = now();
	ev(t, "client", "send", (int)send(c, req, sizeof(req), MSG_NOSIGNAL),
	    "send(100 bytes)");
	queued(s, sizeof(req));
	t = now();
	ev(t, "server", "send", (int)send(s, line, len, MSG_NOSIGNAL),
	    "send(the line)");
	t = now();
	ev(t, "server", "close", close(s), "close(), 100 bytes unread");
	nap(20);
	t = now();
	n = recv(c, buf, sizeof(buf), 0);
	ev(t, "client", "recv", (int)n, "recv()");
	if (n > 0) {
		t = now();
		ev(t, "client", "recv", (int)recv(c, buf, sizeof(buf), 0),
		    "recv()");
	}
	t = now();
	ev(t, "client", "close", close(c), "close()");
	close(l);
}

/* Three sends, one segment and one read; three sendtos, three datagrams. */
static void
merge(void)
{
	static const char	*msg[] = { "a", "bb", "ccc" };
	struct sockaddr_storage	 la, ra, sa;
	struct timespec		 t;
	socklen_t		 lalen, ralen, salen;
	char			 f[96], buf[64];
	int			 l, c, s, r, u, i, on = 1, off = 0;

	l = bound(SOCK_STREAM, "receiver", &la, &lalen);
	if (listen(l, 8) == -1)
		die("listen");
	r = bound(SOCK_DGRAM, "receiver", &ra, &ralen);
	u = bound(SOCK_DGRAM, "sender", &sa, &salen);
	snprintf(f, sizeof(f), "tcp port %d or udp port %d", port_of(&la),
	    port_of(&ra));
	go(f);

	sep("stream (TCP): three send() under TCP_CORK");
	pair(l, &la, lalen, "sender", "receiver", &c, &s);
	/*
	 * On loopback an ACK comes back before the next send(), so Nagle
	 * alone lets each send() leave as its own segment: the cork holds
	 * them, as Nagle would on a slower path, and the merge is certain.
	 */
	t = now();
	ev(t, "sender", "cork", setsockopt(c, IPPROTO_TCP, TCP_CORK, &on,
	    sizeof(on)), "setsockopt(TCP_CORK, 1)");
	for (i = 0; i < 3; i++) {
		t = now();
		ev(t, "sender", "send", (int)send(c, msg[i], strlen(msg[i]),
		    MSG_NOSIGNAL), "send(\"%s\")", msg[i]);
	}
	t = now();
	ev(t, "sender", "uncork", setsockopt(c, IPPROTO_TCP, TCP_CORK, &off,
	    sizeof(off)), "setsockopt(TCP_CORK, 0)");
	queued(s, 6);
	t = now();
	ev(t, "receiver", "recv", (int)recv(s, buf, sizeof(buf), 0),
	    "recv(64)");
	t = now();
	ev(t, "sender", "close", close(c), "close()");
	t = now();
	ev(t, "receiver", "close", close(s), "close()");
	nap(20);

	sep("datagrams (UDP): three sendto()");
	for (i = 0; i < 3; i++) {
		t = now();
		ev(t, "sender", "sendto", (int)sendto(u, msg[i],
		    strlen(msg[i]), 0, (struct sockaddr *)&ra, ralen),
		    "sendto(\"%s\")", msg[i]);
	}
	for (i = 0; i < 3; i++) {
		t = now();
		ev(t, "receiver", "recvfrom", (int)recvfrom(r, buf,
		    sizeof(buf), 0, NULL, NULL), "recvfrom(64)");
	}
	close(u);
	close(r);
	close(l);
}

/* Port unreachable: only a connected UDP socket hears of it. */
static void
icmp(void)
{
	struct sockaddr_storage	 da, ua;
	struct timespec		 t;
	socklen_t		 dalen, ualen;
	char			 f[96], buf[16];
	int			 d, u;

	/* A port that was just ours: nobody listens on it now. */
	d = bound(SOCK_DGRAM, "nobody", &da, &dalen);
	close(d);
	snprintf(f, sizeof(f), "udp port %d or icmp or icmp6", port_of(&da));
	go(f);

	sep("unconnected: sendto(), then nothing to hear");
	u = bound(SOCK_DGRAM, "client", &ua, &ualen);
	t = now();
	ev(t, "client", "sendto", (int)sendto(u, "hi", 2, 0,
	    (struct sockaddr *)&da, dalen), "sendto(\"hi\")");
	nap(50);
	t = now();
	ev(t, "client", "recv", (int)recv(u, buf, sizeof(buf), MSG_DONTWAIT),
	    "recv(MSG_DONTWAIT)");
	close(u);

	sep("connected: connect() fixes the peer, and hears the ICMP");
	u = bound(SOCK_DGRAM, "client", &ua, &ualen);
	t = now();
	ev(t, "client", "connect", connect(u, (struct sockaddr *)&da, dalen),
	    "connect(): nothing is sent");
	t = now();
	ev(t, "client", "send", (int)send(u, "hi", 2, 0), "send(\"hi\")");
	t = now();
	ev(t, "client", "recv", (int)recv(u, buf, sizeof(buf), 0), "recv()");
	close(u);
}

static const struct {
	const char	*name;
	void		(*fn)(void);
} experiments[] = {
	{ "handshake",	handshake },
	{ "queue",	queue },
	{ "finrst",	finrst },
	{ "merge",	merge },
	{ "icmp",	icmp },
};

int
main(int argc, char *argv[])
{
	const char	*s = getenv("STAMP_TIMEOUT_SCALE");
	size_t		 i;

	if (argc != 3 || (strcmp(argv[2], "4") != 0 &&
	    strcmp(argv[2], "6") != 0)) {
		fprintf(stderr, "usage: lessoncap experiment 4|6\n");
		return 2;
	}
	family = argv[2][0] == '4' ? AF_INET : AF_INET6;
	if ((scale = scale_parse(s)) == -1) {
		fprintf(stderr, "lessoncap: STAMP_TIMEOUT_SCALE=%s: want a "
		    "positive number\n", s);
		return 2;
	}
	for (i = 0; i < sizeof(experiments) / sizeof(experiments[0]); i++)
		if (strcmp(argv[1], experiments[i].name) == 0) {
			experiments[i].fn();
			return 0;
		}
	fprintf(stderr, "lessoncap: no experiment %s\n", argv[1]);
	return 2;
}
