/*
 * lesson_conn.c: how a TCP connection begins and ends, seen from both ends.
 *
 * Experiments, not tests of stampd: each one asks the kernel a question of
 * docs/stream-vs-datagram.md with plain socket calls on loopback, and checks
 * the answer.  The kernel does the handshake on its own and queues the
 * connection for accept(); a full queue makes it drop SYNs; close() with
 * unread data resets the connection.  Every socket has a timeout and every
 * poll() a limit, so no wait here is longer than a few seconds.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "proto.h"
#include "tap.h"

#define WAIT_MS		((int)h_ms(3000))	/* any one wait, scaled */
/*
 * How long a client may take to connect: a loopback handshake is done
 * within connect() itself, and a dropped SYN is sent again only after a
 * second, so this must stay below that, however slow the machine.
 */
#define PATIENCE_MS	500
/* A dropped SYN is sent again 1, 3, 7 s after the first; scaled. */
#define RETRY_MS	((int)h_ms(9000))
#define BACKLOG		1
#define NCLIENT		8

static const char	*fam;	/* "IPv4" or "IPv6", for the test names */

/* A socket bound to loopback port 0, its address in *ss; listening if
 * backlog is not -1. */
static int
bound_socket(int family, int backlog, struct sockaddr_storage *ss,
    socklen_t *len)
{
	int	 fd;

	fd = h_timed_socket(family, SOCK_STREAM, WAIT_MS);
	h_loopback(family, ss, len);
	if (bind(fd, (struct sockaddr *)ss, *len) == -1 ||
	    getsockname(fd, (struct sockaddr *)ss, len) == -1)
		bail("bind to loopback port 0 failed");
	if (backlog != -1 && listen(fd, backlog) == -1)
		bail("listen failed");
	return fd;
}

/*
 * A connected pair: *cli from connect(), *srv from accept().  A rcvbuf not
 * 0 is set on the client before connect(), when it can still shape the
 * window the client offers.
 */
static void
tcp_pair(int family, int rcvbuf, int *cli, int *srv)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 lfd;

	lfd = bound_socket(family, 8, &ss, &len);
	*cli = h_timed_socket(family, SOCK_STREAM, WAIT_MS);
	if (rcvbuf != 0 && setsockopt(*cli, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
	    sizeof(rcvbuf)) == -1)
		bail("SO_RCVBUF failed");
	if (connect(*cli, (struct sockaddr *)&ss, len) == -1)
		bail("connect to our own listener failed");
	if ((*srv = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1)
		bail("accept failed");
	close(lfd);
}

/* Has a non-blocking connect() finished, and well, within ms? */
static int
connected(int fd, int ms)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLOUT };
	socklen_t	 len = sizeof(int);
	int		 err = -1;

	if (poll(&pfd, 1, ms) != 1)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return 0;
	return err == 0;
}

/*
 * What the kernel knows of a socket (what ss(8) shows).  For a listener
 * Linux puts the accept queue's length in tcpi_unacked (ss: Recv-Q) and
 * the backlog in tcpi_sacked (ss: Send-Q).
 */
static int
info(int fd, struct tcp_info *ti)
{
	socklen_t	 len = sizeof(*ti);

	memset(ti, 0, sizeof(*ti));
	return getsockopt(fd, IPPROTO_TCP, TCP_INFO, ti, &len);
}

static int
sockopt(int fd, int opt)
{
	socklen_t	 len = sizeof(int);
	int		 v = -1;

	getsockopt(fd, SOL_SOCKET, opt, &v, &len);
	return v;
}

/*
 * A TcpExt counter of /proc/net/netstat (what nstat(8) calls TcpExtNAME),
 * or -1 if it cannot be read.  The file holds two "TcpExt:" lines: the
 * names, then the values in the same order.
 */
static long long
tcpext(const char *name)
{
	char		 line[4096], names[4096], *np, *vp, *nsave, *vsave;
	long long	 v = -1;
	FILE		*f;

	if ((f = fopen("/proc/net/netstat", "r")) == NULL)
		return -1;
	names[0] = '\0';
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "TcpExt: ", 8) != 0)
			continue;
		if (names[0] == '\0') {
			snprintf(names, sizeof(names), "%s", line);
			continue;
		}
		np = strtok_r(names, " \n", &nsave);
		vp = strtok_r(line, " \n", &vsave);
		while (np != NULL && vp != NULL) {
			if (strcmp(np, name) == 0) {
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

/* Did a kernel counter grow?  Counters are per network namespace, and
 * tests running beside us only ever add to them. */
static void
counter_grew(const char *name, long long before, const char *test)
{
	long long	 after = tcpext(name);

	if (before == -1 || after == -1) {
		skip("cannot read /proc/net/netstat");
		return;
	}
	note("TcpExt%s went from %lld to %lld", name, before, after);
	ok(after > before, "%s %s: the kernel counted it in TcpExt%s", test,
	    fam, name);
}

/* Read until an error or end of stream, bounded; see the caller. */
static size_t
read_until_end(int fd, char *buf, size_t len, int *eof, int *err)
{
	char	 scratch[4096];
	size_t	 got = 0;
	ssize_t	 n;
	int	 i;

	*eof = *err = 0;
	for (i = 0; i < 100000; i++) {
		n = recv(fd, scratch, sizeof(scratch), 0);
		if (n == -1) {
			*err = errno;
			break;
		}
		if (n == 0) {
			*eof = 1;
			break;
		}
		if (buf != NULL && got + n < len)
			memcpy(buf + got, scratch, n);
		got += n;
	}
	if (buf != NULL)
		buf[got < len ? got : len - 1] = '\0';
	return got;
}

/* A port that is bound but not listening answers a SYN with RST. */
static void
tcp_refused(int family)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 b, c, r;

	/* Bound, so no one else takes the port while we use it. */
	b = bound_socket(family, -1, &ss, &len);
	c = h_timed_socket(family, SOCK_STREAM, WAIT_MS);
	r = connect(c, (struct sockaddr *)&ss, len);
	ok(r == -1 && errno == ECONNREFUSED,
	    "tcp_refused %s: connect to port %d, where nothing listens, "
	    "fails with ECONNREFUSED", fam, h_port_of(&ss));
	close(c);
	close(b);
}

/*
 * connect() returns before anyone calls accept(): the kernel did the
 * handshake and put the connection in the listener's queue.  accept() only
 * takes it from there, as a new socket.
 */
static void
tcp_handshake_before_accept(int family)
{
	struct sockaddr_storage	 la, ca, aa, peer, cpeer;
	struct tcp_info		 ti;
	struct pollfd		 pfd;
	socklen_t		 lalen, calen, aalen, peerlen, cpeerlen;
	int			 l, c, a, c2, a2;

	l = bound_socket(family, 8, &la, &lalen);
	c = h_timed_socket(family, SOCK_STREAM, WAIT_MS);
	is_int(connect(c, (struct sockaddr *)&la, lalen), 0,
	    "tcp_handshake_before_accept %s: connect returns 0, no accept yet",
	    fam);
	ok(info(c, &ti) == 0 && ti.tcpi_state == TCP_ESTABLISHED,
	    "tcp_handshake_before_accept %s: the client is ESTABLISHED", fam);
	pfd.fd = l;
	pfd.events = POLLIN;
	is_int(poll(&pfd, 1, WAIT_MS), 1,
	    "tcp_handshake_before_accept %s: the listener is readable: "
	    "a connection waits", fam);
	if (info(l, &ti) == -1)
		diag("TCP_INFO: %s", strerror(errno));
	is_int(ti.tcpi_unacked, 1, "tcp_handshake_before_accept %s: accept "
	    "queue length 1 (ss -lt: Recv-Q 1, Send-Q %u)", fam,
	    ti.tcpi_sacked);

	peerlen = sizeof(peer);
	a = accept4(l, (struct sockaddr *)&peer, &peerlen, SOCK_CLOEXEC);
	ok(a != -1 && a != l,
	    "tcp_handshake_before_accept %s: accept returns a NEW fd", fam);
	aalen = sizeof(aa);
	calen = sizeof(ca);
	cpeerlen = sizeof(cpeer);
	memset(&aa, 0, sizeof(aa));
	memset(&cpeer, 0, sizeof(cpeer));
	getsockname(a, (struct sockaddr *)&aa, &aalen);
	getsockname(c, (struct sockaddr *)&ca, &calen);
	getpeername(c, (struct sockaddr *)&cpeer, &cpeerlen);
	ok(h_same_addr(&aa, &la),
	    "tcp_handshake_before_accept %s: its local address is the "
	    "listener's, port %d", fam, h_port_of(&aa));
	ok(h_same_addr(&peer, &ca),
	    "tcp_handshake_before_accept %s: its peer is the client, port %d",
	    fam, h_port_of(&peer));
	ok(h_same_addr(&cpeer, &aa),
	    "tcp_handshake_before_accept %s: the client's peer is it", fam);
	is_int(sockopt(a, SO_ACCEPTCONN), 0,
	    "tcp_handshake_before_accept %s: the new socket does not listen",
	    fam);
	is_int(sockopt(l, SO_ACCEPTCONN), 1,
	    "tcp_handshake_before_accept %s: the listener still listens", fam);

	/* Same listener, same port: the next client gets its own socket. */
	c2 = h_timed_socket(family, SOCK_STREAM, WAIT_MS);
	is_int(connect(c2, (struct sockaddr *)&la, lalen), 0,
	    "tcp_handshake_before_accept %s: a second client connects", fam);
	a2 = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	ok(a2 != -1 && a2 != a && a2 != l,
	    "tcp_handshake_before_accept %s: and gets another new fd", fam);
	close(a2);
	close(c2);
	close(a);
	close(c);
	close(l);
}

/*
 * listen(fd, 1) and nobody calls accept(): Linux queues backlog + 1
 * finished connections, then drops the SYNs of the next clients (with
 * tcp_abort_on_overflow at 0, its default), which wait and send them again.
 */
static void
tcp_accept_queue_full(int family)
{
	struct sockaddr_storage	 la;
	struct tcp_info		 ti;
	socklen_t		 lalen;
	int			 l, a, c[NCLIENT], i, n, done, stuck, queue;
	int			 accepted;
	long long		 overflows;

	overflows = tcpext("ListenOverflows");
	l = bound_socket(family, BACKLOG, &la, &lalen);
	done = 0;
	stuck = -1;
	for (n = 0; n < NCLIENT && stuck == -1; n++) {
		c[n] = h_timed_socket(family, SOCK_STREAM | SOCK_NONBLOCK,
		    WAIT_MS);
		if (connect(c[n], (struct sockaddr *)&la, lalen) == -1 &&
		    errno != EINPROGRESS)
			diag("connect %d: %s", n, strerror(errno));
		/* One at a time, so each SYN meets the queue the last left. */
		if (connected(c[n], PATIENCE_MS))
			done++;
		else
			stuck = n;
	}
	ok(done >= 1, "tcp_accept_queue_full %s: %d clients connected before "
	    "any accept()", fam, done);
	ok(stuck != -1, "tcp_accept_queue_full %s: client %d did not connect "
	    "in %d ms: its SYN was dropped", fam, stuck + 1, PATIENCE_MS);
	counter_grew("ListenOverflows", overflows, "tcp_accept_queue_full");
	if (info(l, &ti) == -1)
		diag("TCP_INFO: %s", strerror(errno));
	is_int(ti.tcpi_sacked, BACKLOG,
	    "tcp_accept_queue_full %s: the backlog is %d (ss: Send-Q)", fam,
	    BACKLOG);
	queue = ti.tcpi_unacked;
	ok(queue >= 1 && queue <= BACKLOG + 1,
	    "tcp_accept_queue_full %s: the queue holds %d, at most backlog + 1 "
	    "(ss: Recv-Q)", fam, queue);

	fcntl(l, F_SETFL, fcntl(l, F_GETFL) | O_NONBLOCK);
	for (accepted = 0, i = 0; i <= NCLIENT; i++) {
		if ((a = accept4(l, NULL, NULL, SOCK_CLOEXEC)) == -1)
			break;
		accepted++;
		close(a);
	}
	ok(accepted >= queue, "tcp_accept_queue_full %s: accept takes the "
	    "%d queued", fam, accepted);
	if (stuck != -1) {
		ok(connected(c[stuck], RETRY_MS), "tcp_accept_queue_full %s: "
		    "once there is room, the client's next SYN gets in", fam);
		fcntl(l, F_SETFL, fcntl(l, F_GETFL) & ~O_NONBLOCK);
		a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		ok(a != -1, "tcp_accept_queue_full %s: and is accepted", fam);
		if (a != -1)
			close(a);
	}
	for (i = 0; i < n; i++)
		close(c[i]);
	close(l);
}

/* The lesson's reply, for now. */
static int
stamp_line(char *buf, size_t len)
{
	return snprintf(buf, len, STAMP_FMT, (long long)time(NULL));
}

/*
 * The lesson's server never reads.  If the client did send something,
 * close() finds it unread and resets the connection instead of ending it.
 */
static void
tcp_close_unread_resets(int family)
{
	char		 req[100], reply[64], buf[256];
	size_t		 got;
	long long	 aborts;
	int		 c, s, rlen, eof, err;

	tcp_pair(family, 0, &c, &s);
	memset(req, 'q', sizeof(req));
	is_int(send(c, req, sizeof(req), MSG_NOSIGNAL), sizeof(req),
	    "tcp_close_unread_resets %s: the client sends 100 bytes", fam);
	is_int(h_wait_queued(s, sizeof(req), WAIT_MS), sizeof(req),
	    "tcp_close_unread_resets %s: the server has them, unread", fam);
	rlen = stamp_line(reply, sizeof(reply));
	is_int(send(s, reply, rlen, MSG_NOSIGNAL), rlen,
	    "tcp_close_unread_resets %s: the server sends its line", fam);
	aborts = tcpext("TCPAbortOnClose");
	is_int(close(s), 0,
	    "tcp_close_unread_resets %s: and close()s without reading", fam);
	counter_grew("TCPAbortOnClose", aborts, "tcp_close_unread_resets");

	got = read_until_end(c, buf, sizeof(buf), &eof, &err);
	is_int(err, ECONNRESET, "tcp_close_unread_resets %s: the client's "
	    "recv fails with ECONNRESET: close sent RST", fam);
	ok(!eof, "tcp_close_unread_resets %s: the client never sees a clean "
	    "end of stream", fam);
	note("before the reset the client read %zu of the %d bytes sent",
	    got, rlen);
	ok(send(c, "x", 1, MSG_NOSIGNAL) == -1 && errno == EPIPE,
	    "tcp_close_unread_resets %s: the connection is gone: send fails "
	    "with EPIPE", fam);
	close(c);
}

/*
 * The reset throws away what the server had not sent yet: send() had said
 * yes to those bytes, and the client never sees them.
 */
static void
tcp_reset_loses_unsent(int family)
{
	static char	 chunk[1024];
	char		 req[100];
	size_t		 got;
	long long	 accepted;
	ssize_t		 n;
	int		 c, s, i, eof, err, sz;

	/* A small window, so the client soon takes no more; a fixed send
	 * buffer, so the server does not grow it to megabytes. */
	tcp_pair(family, 4096, &c, &s);
	sz = 16384;
	if (setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) == -1)
		bail("SO_SNDBUF failed");
	memset(req, 'q', sizeof(req));
	is_int(send(c, req, sizeof(req), MSG_NOSIGNAL), sizeof(req),
	    "tcp_reset_loses_unsent %s: the client sends 100 bytes", fam);
	is_int(h_wait_queued(s, sizeof(req), WAIT_MS), sizeof(req),
	    "tcp_reset_loses_unsent %s: the server has them, unread", fam);
	/* Fill the client's receive buffer, then the server's send buffer:
	 * what sits there has not been sent, the client's window is shut. */
	memset(chunk, 'r', sizeof(chunk));
	accepted = 0;
	for (i = 0; i < 1000000; i++) {
		n = send(s, chunk, sizeof(chunk), MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1)
			break;
		accepted += n;
	}
	ok(n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK),
	    "tcp_reset_loses_unsent %s: the server sends until its buffer "
	    "is full", fam);
	is_int(close(s), 0,
	    "tcp_reset_loses_unsent %s: and close()s without reading", fam);
	got = read_until_end(c, NULL, 0, &eof, &err);
	note("send() accepted %lld bytes, the client read %zu, then %s",
	    accepted, got, eof ? "end of stream" : strerror(err));
	is_int(err, ECONNRESET, "tcp_reset_loses_unsent %s: the client's "
	    "recv fails with ECONNRESET", fam);
	ok(got > 0 && (long long)got < accepted,
	    "tcp_reset_loses_unsent %s: the client read fewer bytes than "
	    "send() accepted", fam);
	close(c);
}

/*
 * The clean way: shutdown(SHUT_WR) sends FIN after the data, reading what
 * the client sent leaves nothing unread, then close() has nothing to reset.
 */
static void
tcp_shutdown_drain_close(int family)
{
	char	 req[100], reply[64], buf[256];
	size_t	 got;
	int	 c, s, rlen, eof, err;

	tcp_pair(family, 0, &c, &s);
	memset(req, 'q', sizeof(req));
	is_int(send(c, req, sizeof(req), MSG_NOSIGNAL), sizeof(req),
	    "tcp_shutdown_drain_close %s: the client sends 100 bytes", fam);
	is_int(h_wait_queued(s, sizeof(req), WAIT_MS), sizeof(req),
	    "tcp_shutdown_drain_close %s: the server has them", fam);
	rlen = stamp_line(reply, sizeof(reply));
	is_int(send(s, reply, rlen, MSG_NOSIGNAL), rlen,
	    "tcp_shutdown_drain_close %s: the server sends its line", fam);
	is_int(shutdown(s, SHUT_WR), 0,
	    "tcp_shutdown_drain_close %s: shutdown(SHUT_WR): FIN", fam);
	is_int(recv(s, buf, sizeof(buf), 0), sizeof(req),
	    "tcp_shutdown_drain_close %s: the server reads the 100 bytes", fam);
	is_int(close(s), 0, "tcp_shutdown_drain_close %s: then close()s", fam);

	got = read_until_end(c, buf, sizeof(buf), &eof, &err);
	is_int(got, rlen, "tcp_shutdown_drain_close %s: the client reads the "
	    "whole line", fam);
	is_str(buf, reply, "tcp_shutdown_drain_close %s: as sent", fam);
	ok(eof && err == 0, "tcp_shutdown_drain_close %s: then recv returns "
	    "0: end of stream, no reset", fam);
	close(c);
}

static int
have_ipv6(void)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 fd, r;

	if ((fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
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
	{ "tcp_refused",		tcp_refused },
	{ "tcp_handshake_before_accept", tcp_handshake_before_accept },
	{ "tcp_accept_queue_full",	tcp_accept_queue_full },
	{ "tcp_close_unread_resets",	tcp_close_unread_resets },
	{ "tcp_reset_loses_unsent",	tcp_reset_loses_unsent },
	{ "tcp_shutdown_drain_close",	tcp_shutdown_drain_close },
};

int
main(void)
{
	size_t	 i;
	int	 v6;

	/* A backstop only: every wait below is bounded on its own. */
	alarm((unsigned)(h_ms(90000) / 1000));
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
