/*
 * lesson_stream.c: what a TCP connection does with the bytes it carries.
 *
 * Experiments, not tests of stampd: each one asks the kernel a question of
 * docs/stream-vs-datagram.md with plain socket calls on loopback, and checks
 * the answer.  A stream is a pipe of bytes: the kernel keeps every byte and
 * their order, but not where one send() ended and the next began.  Every
 * socket has a timeout, so no wait here is longer than WAIT_MS.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "tap.h"

#define WAIT_MS		((int)h_ms(3000))	/* any one wait, scaled */
#define NMSG		1000

static const char	*fam;	/* "IPv4" or "IPv6", for the test names */

/*
 * A connected pair: *cli from connect(), *srv from accept().  The listener
 * is closed at once; the accepted socket lives on without it.
 */
static void
tcp_pair(int family, int *cli, int *srv)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 lfd;

	lfd = h_timed_socket(family, SOCK_STREAM, WAIT_MS);
	h_loopback(family, &ss, &len);
	if (bind(lfd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(lfd, 8) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&ss, &len) == -1)
		bail("bind/listen on loopback failed");
	*cli = h_timed_socket(family, SOCK_STREAM, WAIT_MS);
	if (connect(*cli, (struct sockaddr *)&ss, len) == -1)
		bail("connect to our own listener failed");
	if ((*srv = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1)
		bail("accept failed");
	close(lfd);
}

/*
 * Read until end of stream or error, at most len bytes and a bounded number
 * of calls (each bounded by SO_RCVTIMEO).  Returns the bytes read, or -1 if
 * a recv() failed; *calls counts the recv() that returned data.
 */
static ssize_t
read_to_eof(int fd, char *buf, size_t len, int *calls)
{
	size_t	 got = 0;
	ssize_t	 n;
	int	 i;

	*calls = 0;
	for (i = 0; i < 100000 && got < len; i++) {
		if ((n = recv(fd, buf + got, len - got, 0)) == -1)
			return -1;
		if (n == 0)
			break;
		got += n;
		(*calls)++;
	}
	return got;
}

/* Three send()s, one recv(): the stream kept the bytes, not the sends. */
static void
tcp_merges_sends(int family)
{
	char	 buf[64];
	ssize_t	 n;
	int	 c, s;

	tcp_pair(family, &c, &s);
	ok(send(c, "a", 1, MSG_NOSIGNAL) == 1 &&
	    send(c, "bb", 2, MSG_NOSIGNAL) == 2 &&
	    send(c, "ccc", 3, MSG_NOSIGNAL) == 3,
	    "tcp_merges_sends %s: send a, bb, ccc", fam);
	is_int(h_wait_queued(s, 6, WAIT_MS), 6,
	    "tcp_merges_sends %s: all 6 bytes queued at the receiver", fam);
	n = recv(s, buf, sizeof(buf) - 1, 0);
	is_int(n, 6, "tcp_merges_sends %s: ONE recv returns all 6 bytes", fam);
	buf[n > 0 ? n : 0] = '\0';
	is_str(buf, "abbccc",
	    "tcp_merges_sends %s: in order, with no boundary left", fam);
	close(c);
	close(s);
}

/* A short read loses nothing: the rest waits for the next recv(). */
static void
tcp_short_read_keeps_rest(int family)
{
	char	 buf[64];
	ssize_t	 n;
	int	 c, s;

	tcp_pair(family, &c, &s);
	ok(send(c, "0123456789", 10, MSG_NOSIGNAL) == 10 &&
	    shutdown(c, SHUT_WR) == 0,
	    "tcp_short_read_keeps_rest %s: send 10 bytes, then FIN", fam);
	is_int(h_wait_queued(s, 10, WAIT_MS), 10,
	    "tcp_short_read_keeps_rest %s: 10 bytes queued", fam);
	n = recv(s, buf, 4, 0);
	is_int(n, 4, "tcp_short_read_keeps_rest %s: recv of 4 returns 4", fam);
	buf[n > 0 ? n : 0] = '\0';
	is_str(buf, "0123", "tcp_short_read_keeps_rest %s: the first 4", fam);
	is_int(h_wait_queued(s, 6, WAIT_MS), 6,
	    "tcp_short_read_keeps_rest %s: 6 bytes still queued", fam);
	n = recv(s, buf, sizeof(buf) - 1, 0);
	is_int(n, 6, "tcp_short_read_keeps_rest %s: next recv returns 6",
	    fam);
	buf[n > 0 ? n : 0] = '\0';
	is_str(buf, "456789",
	    "tcp_short_read_keeps_rest %s: the other 6, in order", fam);
	is_int(recv(s, buf, sizeof(buf), 0), 0,
	    "tcp_short_read_keeps_rest %s: then end of stream", fam);
	close(c);
	close(s);
}

/*
 * On a stream, a send() of 0 bytes sends nothing, and recv() returning 0
 * means the peer will send no more: end of stream, for good.
 */
static void
tcp_zero_is_eof(int family)
{
	char	 buf[64];
	ssize_t	 n;
	int	 c, s;

	tcp_pair(family, &c, &s);
	is_int(send(c, "", 0, MSG_NOSIGNAL), 0,
	    "tcp_zero_is_eof %s: send of 0 bytes returns 0", fam);
	ok(send(c, "x", 1, MSG_NOSIGNAL) == 1 && shutdown(c, SHUT_WR) == 0,
	    "tcp_zero_is_eof %s: send x, then shutdown(SHUT_WR)", fam);
	n = recv(s, buf, sizeof(buf) - 1, 0);
	is_int(n, 1, "tcp_zero_is_eof %s: the empty send left no trace, "
	    "first recv gets 1 byte", fam);
	buf[n > 0 ? n : 0] = '\0';
	is_str(buf, "x", "tcp_zero_is_eof %s: and it is x", fam);
	is_int(recv(s, buf, sizeof(buf), 0), 0,
	    "tcp_zero_is_eof %s: recv returns 0: end of stream", fam);
	is_int(recv(s, buf, sizeof(buf), 0), 0,
	    "tcp_zero_is_eof %s: and again 0: the end stays", fam);
	/* Half-closed: the other direction still works. */
	ok(send(s, "y", 1, MSG_NOSIGNAL) == 1 && recv(c, buf, 1, 0) == 1 &&
	    buf[0] == 'y',
	    "tcp_zero_is_eof %s: after the peer's FIN we can still send to it",
	    fam);
	close(c);
	close(s);
}

/*
 * On a connected stream the address of sendto() is not needed: with none it
 * is send().  recvfrom() gives no address back either: the peer is fixed.
 */
static void
tcp_sendto_is_send(int family)
{
	struct sockaddr_storage	 from;
	socklen_t		 fromlen = sizeof(from);
	char			 buf[64];
	ssize_t			 n;
	int			 c, s;

	tcp_pair(family, &c, &s);
	is_int(sendto(c, "ping", 4, MSG_NOSIGNAL, NULL, 0), 4,
	    "tcp_sendto_is_send %s: sendto with no address sends", fam);
	is_int(h_wait_queued(s, 4, WAIT_MS), 4,
	    "tcp_sendto_is_send %s: 4 bytes arrive", fam);
	n = recvfrom(s, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from,
	    &fromlen);
	is_int(n, 4, "tcp_sendto_is_send %s: recvfrom reads them", fam);
	buf[n > 0 ? n : 0] = '\0';
	is_str(buf, "ping", "tcp_sendto_is_send %s: the same bytes", fam);
	is_int(fromlen, 0,
	    "tcp_sendto_is_send %s: recvfrom on TCP reports no address", fam);
	close(c);
	close(s);
}

/*
 * NMSG numbered messages, sent one send() each, read back as one stream:
 * all there, in order, whatever number of recv() it took.
 */
static void
tcp_keeps_order(int family)
{
	static char	 buf[NMSG * 8 + 1];
	char		 msg[16];
	size_t		 off;
	ssize_t		 n;
	int		 c, s, sent, calls, next;

	tcp_pair(family, &c, &s);
	for (sent = 0; sent < NMSG; sent++) {
		snprintf(msg, sizeof(msg), "%06d\n", sent);
		if (send(c, msg, 7, MSG_NOSIGNAL) != 7)
			break;
	}
	is_int(sent, NMSG, "tcp_keeps_order %s: %d messages sent", fam,
	    NMSG);
	ok(shutdown(c, SHUT_WR) == 0, "tcp_keeps_order %s: then FIN", fam);
	n = read_to_eof(s, buf, sizeof(buf) - 1, &calls);
	is_int(n, NMSG * 7, "tcp_keeps_order %s: every byte arrived", fam);
	note("%d send() calls were read by %d recv() calls", NMSG, calls);
	/* Count the messages that are where they should be, up to the first
	 * one that is not. */
	for (next = 0, off = 0; n > 0 && off + 7 <= (size_t)n; off += 7) {
		snprintf(msg, sizeof(msg), "%06d\n", next);
		if (memcmp(buf + off, msg, 7) != 0) {
			diag("byte %zu: expected message %d", off, next);
			break;
		}
		next++;
	}
	is_int(next, NMSG, "tcp_keeps_order %s: messages 0 to %d, in order",
	    fam, NMSG - 1);
	close(c);
	close(s);
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
	{ "tcp_merges_sends",		tcp_merges_sends },
	{ "tcp_short_read_keeps_rest",	tcp_short_read_keeps_rest },
	{ "tcp_zero_is_eof",		tcp_zero_is_eof },
	{ "tcp_sendto_is_send",		tcp_sendto_is_send },
	{ "tcp_keeps_order",		tcp_keeps_order },
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
