/*
 * hostile.c: no client's bytes, silence or haste can stop the server.
 *
 * Each case plays a client that a time server meets on the Internet: one
 * that sends megabytes, one that resets, one that never reads, one that
 * half-closes, a flood of datagrams, datagrams of every size, hundreds of
 * connections dropped unread.  After each, the daemon must still be
 * running and must still give a fresh client a valid reply.  The cases run
 * against the models that serve many clients from one process (those of
 * hostile_models that stampd --help lists).  Every loop here ends at a
 * deadline.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "tap.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define CASE_MS		30000	/* the longest a case may take, scaled */
#define MAXMODELS	16
#define BIG		(4 * 1024 * 1024)
#define CHUNK		65536
#define NRESET		20
#define NIDLE		10
#define NFLOOD		20000
#define NFLOODTCP	20
#define NDROP		500
#define DROPBATCH	100
#define EXTRA_MS	300	/* how long we look for a second reply */

static const char *const hostile_models[] = { "iterative", "event",
    "threads" };
static const char *const protos[] = { "stamp", "time", "daytime" };

static char	 models[MAXMODELS][32];
static int	 nmodels;

/* Of hostile_models, those that stampd --help lists under -m. */
static void
read_models(void)
{
	char	 listed[MAXMODELS][32];
	size_t	 i;
	int	 j, n;

	n = h_models(listed, MAXMODELS);
	for (j = 0; j < n; j++)
		for (i = 0; i < NELEM(hostile_models); i++)
			if (strcmp(listed[j], hostile_models[i]) == 0)
				memcpy(models[nmodels++], listed[j],
				    sizeof listed[j]);
	if (nmodels == 0)
		bail("none of iterative, event, threads in stampd --help");
}

static int __attribute__((format(printf, 4, 5)))
reply_ok(const char *proto, const char *buf, ssize_t n, const char *fmt,
    ...)
{
	va_list	 ap;
	char	 name[256], why[128];
	int	 pass;

	pass = h_check_reply(proto, buf, n, why, sizeof why);
	va_start(ap, fmt);
	vsnprintf(name, sizeof name, fmt, ap);
	va_end(ap);
	ok(pass, "%s", name);
	if (!pass)
		diag("%s", why);
	return pass;
}

static const struct h_listener *
listener(const struct h_daemon *d, const char *transport, const char *proto)
{
	const struct h_listener	*l;

	if ((l = h_daemon_find(d, transport, proto)) == NULL)
		bail("a listener the daemon reported is missing");
	return l;
}

static const struct sockaddr *
sa(const struct h_listener *l)
{
	return (const struct sockaddr *)&l->ss;
}

/* A TCP socket, non-blocking, connecting or connected to l. */
static int
dial(const struct h_listener *l)
{
	return h_dial_nb(sa(l), l->sslen);
}

/* dial, and wait until the handshake is done. */
static int
dial_wait(const struct h_listener *l)
{
	struct pollfd	 pfd;
	socklen_t	 len = sizeof(int);
	int		 fd, err;

	if ((fd = dial(l)) == -1)
		return -1;
	pfd.fd = fd;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, H_ASK_MS) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
	    err != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Read until EOF, at most len bytes kept, within H_ASK_MS. */
static ssize_t
read_reply(int fd, char *buf, size_t len)
{
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	long long	 deadline = h_now_ms() + H_ASK_MS;
	char		 junk[512];
	size_t		 got = 0;
	ssize_t		 n;

	while (h_now_ms() < deadline) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if (got < len)
			n = recv(fd, buf + got, len - got, MSG_DONTWAIT);
		else
			n = recv(fd, junk, sizeof junk, MSG_DONTWAIT);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			return (ssize_t)got;
		if (got < len)
			got += (size_t)n;
	}
	errno = ETIMEDOUT;
	return -1;
}

static void
reset_close(int fd)
{
	struct linger	 lg = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(fd);
}

/*
 * After each case: the daemon runs (not a zombie: kill(pid, 0) alone
 * passes a dead child) and gives fresh valid replies on TCP and UDP.
 */
static void
still_serving(struct h_daemon *d, const char *model, const char *what)
{
	const struct h_listener	*l;
	char			 buf[128];
	ssize_t			 n = -1;
	int			 status, try;
	pid_t			 r;

	r = waitpid(d->pid, &status, WNOHANG);
	if (!ok(kill(d->pid, 0) == 0 && r == 0, "%s: %s: still running",
	    model, what)) {
		if (r == d->pid)
			diag("it ended: %s %d", WIFSIGNALED(status) ?
			    "signal" : "exit", WIFSIGNALED(status) ?
			    WTERMSIG(status) : WEXITSTATUS(status));
		diag("its log:\n%s", h_daemon_log(d));
	}
	l = listener(d, "tcp", "stamp");
	n = h_ask_tcp(sa(l), l->sslen, buf, sizeof buf, H_ASK_MS);
	reply_ok("stamp", buf, n, "%s: %s: then a TCP client is served",
	    model, what);
	/* UDP may drop a datagram while its queue is still full: retry. */
	l = listener(d, "udp", "time");
	for (try = 0; try < 3; try++)
		if ((n = h_ask_udp(sa(l), l->sslen, "", 0, buf, sizeof buf,
		    H_ASK_MS / 2)) >= 0)
			break;
	reply_ok("time", buf, n, "%s: %s: then a UDP client is served", model,
	    what);
}

/* Send 4 MB while reading: the reply comes whole, others are served. */
static void
case_big_sender(struct h_daemon *d, const char *model)
{
	const struct h_listener	*l = listener(d, "tcp", "daytime");
	const struct h_listener	*o = listener(d, "tcp", "time");
	static char		 junk[CHUNK];
	struct pollfd		 pfd;
	long long		 deadline = h_now_ms() + h_ms(CASE_MS);
	char			 buf[128], obuf[128];
	size_t			 sent = 0, got = 0;
	ssize_t			 n, on = -1;
	int			 fd, eof = 0, sending = 1, asked = 0;
	int			 send_err = 0;

	memset(junk, 'x', sizeof junk);
	if (!ok((fd = dial(l)) != -1, "%s: big sender connects", model))
		return;
	pfd.fd = fd;
	while (!eof || sending) {
		if (h_now_ms() >= deadline)
			break;
		pfd.events = (eof ? 0 : POLLIN) | (sending ? POLLOUT : 0);
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if (pfd.revents & (POLLIN | POLLERR | POLLHUP) && !eof) {
			n = recv(fd, buf + got, sizeof buf - got,
			    MSG_DONTWAIT);
			if (n > 0 && (got += (size_t)n) == sizeof buf)
				eof = -1;	/* far too much: stop */
			else if (n == 0)
				eof = 1;
			else if (n == -1 && errno != EAGAIN && errno != EINTR)
				eof = -1;
		}
		if (sending && pfd.revents & (POLLOUT | POLLERR | POLLHUP)) {
			n = send(fd, junk, sent + CHUNK <= BIG ? CHUNK :
			    BIG - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0 && (sent += (size_t)n) == BIG)
				sending = 0;
			else if (n == -1 && errno != EAGAIN &&
			    errno != EINTR) {
				/* The server may stop reading: its right. */
				send_err = errno;
				sending = 0;
			}
		}
		/*
		 * Once its first bytes are out, someone else asks.  (The
		 * server may close before more of them arrive: its right.)
		 */
		if (!asked && sent > 0) {
			asked = 1;
			on = h_ask_tcp(sa(o), o->sslen, obuf, sizeof obuf,
			    H_ASK_MS);
		}
	}
	close(fd);
	note("%s: sent %zu of %d bytes%s%s", model, sent, BIG,
	    send_err ? ", then " : "", send_err ? strerror(send_err) : "");
	ok(eof != 0, "%s: big sender: the server ended the reply", model);
	reply_ok("daytime", buf, (ssize_t)got,
	    "%s: big sender gets the whole reply", model);
	if (!asked)
		on = h_ask_tcp(sa(o), o->sslen, obuf, sizeof obuf, H_ASK_MS);
	reply_ok("time", obuf, on, "%s: another client is served beside it",
	    model);
	still_serving(d, model, "4 MB sender");
}

/* Reset right after connect, and after reading one byte. */
static void
case_resets(struct h_daemon *d, const char *model)
{
	const struct h_listener	*l;
	struct pollfd		 pfd;
	char			 c;
	int			 i, fd, connected = 0, read1 = 0;

	for (i = 0; i < NRESET; i++) {
		l = listener(d, "tcp", protos[i % 3]);
		if ((fd = dial_wait(l)) == -1)
			continue;
		connected++;
		reset_close(fd);
	}
	is_int(connected, NRESET, "%s: %d clients connect and reset", model,
	    NRESET);
	still_serving(d, model, "reset after connect");

	for (i = 0; i < NRESET; i++) {
		l = listener(d, "tcp", protos[i % 3]);
		if ((fd = dial_wait(l)) == -1)
			continue;
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, H_ASK_MS) == 1 && recv(fd, &c, 1,
		    MSG_DONTWAIT) == 1)
			read1++;
		reset_close(fd);
	}
	is_int(read1, NRESET, "%s: %d clients read 1 byte and reset", model,
	    NRESET);
	still_serving(d, model, "reset after 1 byte");
}

/*
 * Clients that connect and then do nothing, neither read nor close (some
 * of them having sent a little): others are served meanwhile.
 */
static void
case_idle(struct h_daemon *d, const char *model)
{
	const struct h_listener	*l;
	char			 buf[128];
	ssize_t			 n;
	int			 fds[NIDLE], i, idle = 0;

	for (i = 0; i < NIDLE; i++) {
		l = listener(d, "tcp", protos[i % 3]);
		if ((fds[i] = dial_wait(l)) == -1)
			continue;
		idle++;
		if (i % 2 == 1)
			send(fds[i], "hello\r\n", 7, MSG_NOSIGNAL);
	}
	is_int(idle, NIDLE, "%s: %d idle clients connect", model, NIDLE);
	for (i = 0; i < NIDLE; i++) {
		l = listener(d, "tcp", protos[i % 3]);
		n = h_ask_tcp(sa(l), l->sslen, buf, sizeof buf, H_ASK_MS);
		reply_ok(l->proto, buf, n,
		    "%s: client %d served beside %d idle ones", model, i,
		    idle);
	}
	still_serving(d, model, "idle clients");
	for (i = 0; i < NIDLE; i++)
		if (fds[i] != -1)
			close(fds[i]);
	still_serving(d, model, "idle clients gone");
}

/* shutdown(SHUT_WR) at once: the reply comes all the same. */
static void
case_half_close(struct h_daemon *d, const char *model)
{
	const struct h_listener	*l;
	char			 buf[128];
	ssize_t			 n;
	size_t			 p;
	int			 fd;

	for (p = 0; p < NELEM(protos); p++) {
		l = listener(d, "tcp", protos[p]);
		/* shutdown needs the handshake done, or it says ENOTCONN. */
		if ((fd = dial_wait(l)) == -1 || shutdown(fd, SHUT_WR) == -1) {
			ok(0, "%s: half-close %s: %s", model, protos[p],
			    strerror(errno));
			if (fd != -1)
				close(fd);
			continue;
		}
		n = read_reply(fd, buf, sizeof buf);
		close(fd);
		reply_ok(protos[p], buf, n, "%s: a half-closed %s client gets "
		    "the reply", model, protos[p]);
	}
	still_serving(d, model, "half-close");
}

/* Datagrams of 0, 1, 1500 and 65000 bytes: one reply each, whole. */
static void
case_dgram_sizes(struct h_daemon *d, const char *model)
{
	static const size_t	 sizes[] = { 0, 1, 1500, 65000 };
	static char		 req[65000];
	const struct h_listener	*l;
	struct pollfd		 pfd;
	char			 buf[2048];
	ssize_t			 n;
	size_t			 p, i;
	int			 fd, extra;

	memset(req, 'q', sizeof req);
	for (p = 0; p < NELEM(protos); p++)
		for (i = 0; i < NELEM(sizes); i++) {
			l = listener(d, "udp", protos[p]);
			fd = socket(l->ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC,
			    0);
			if (fd == -1 || connect(fd, sa(l), l->sslen) == -1 ||
			    send(fd, req, sizes[i], MSG_NOSIGNAL) == -1) {
				ok(0, "%s: %zu-byte %s datagram: %s", model,
				    sizes[i], protos[p], strerror(errno));
				if (fd != -1)
					close(fd);
				continue;
			}
			pfd.fd = fd;
			pfd.events = POLLIN;
			n = -1;
			errno = ETIMEDOUT;
			if (poll(&pfd, 1, H_ASK_MS) == 1)
				n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
			reply_ok(protos[p], buf, n, "%s: a %zu-byte %s "
			    "datagram gets a reply", model, sizes[i],
			    protos[p]);
			extra = poll(&pfd, 1, EXTRA_MS) == 1 &&
			    recv(fd, buf, sizeof buf, MSG_DONTWAIT) >= 0;
			ok(!extra, "%s: and only one", model);
			close(fd);
		}
	still_serving(d, model, "datagram sizes");
}

struct conn {
	int	 fd;
	int	 done;		/* 1 at EOF, -1 on an error */
	size_t	 got;
	char	 buf[128];
};

/*
 * 20000 datagrams as fast as we can send them, and 20 TCP clients started
 * one by one among them, all in one poll loop so that they overlap.
 */
static void
case_udp_flood(struct h_daemon *d, const char *model)
{
	const struct h_listener	*u[NELEM(protos)], *l;
	struct conn		 c[NFLOODTCP];
	struct pollfd		 pfd[NFLOODTCP + 1];
	long long		 deadline = h_now_ms() + h_ms(CASE_MS);
	char			 req[64], why[128];
	size_t			 p;
	int			 fd, sent = 0, full = 0, started = 0, i, left;
	int			 good = 0, told = 0, burst;

	memset(req, 'f', sizeof req);
	for (p = 0; p < NELEM(protos); p++)
		u[p] = listener(d, "udp", protos[p]);
	l = listener(d, "tcp", "stamp");
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (!ok(fd != -1, "%s: flood socket", model))
		return;
	memset(c, 0, sizeof c);
	for (;;) {
		for (burst = 0; sent < NFLOOD && burst < 200; burst++) {
			p = (size_t)sent % NELEM(protos);
			if (sendto(fd, req, (size_t)sent % sizeof req,
			    MSG_NOSIGNAL | MSG_DONTWAIT, sa(u[p]),
			    u[p]->sslen) == -1) {
				/* A full buffer: let it go, go on. */
				if (errno != EAGAIN && errno != ENOBUFS &&
				    errno != EINTR)
					break;
				full++;
				break;
			}
			sent++;
			if (started < NFLOODTCP &&
			    sent % (NFLOOD / NFLOODTCP) == 1) {
				c[started].fd = dial(l);
				if (c[started].fd == -1)
					c[started].done = -1;
				started++;
			}
		}
		for (i = left = 0; i < started; i++) {
			pfd[i].fd = c[i].done ? -1 : c[i].fd;
			pfd[i].events = POLLIN;
			left += !c[i].done;
		}
		pfd[started].fd = fd;
		pfd[started].events = POLLOUT;
		if ((sent == NFLOOD && started == NFLOODTCP && left == 0) ||
		    h_now_ms() >= deadline)
			break;
		/* Flooding: don't wait on the clients, only look. */
		if (poll(pfd, (nfds_t)started + (sent < NFLOOD),
		    sent < NFLOOD ? 10 : 100) == -1 && errno != EINTR)
			break;
		for (i = 0; i < started; i++)
			if (pfd[i].fd != -1 && pfd[i].revents != 0)
				c[i].done = h_read_some(c[i].fd, c[i].buf,
				    sizeof c[i].buf, &c[i].got);
	}
	close(fd);
	note("%s: %d datagrams sent, %d times the send buffer was full",
	    model, sent, full);
	ok(sent == NFLOOD, "%s: the flood was sent whole (%d)", model, sent);
	for (i = 0; i < NFLOODTCP; i++) {
		if (i < started && c[i].done == 1 && h_check_reply("stamp",
		    c[i].buf, (ssize_t)c[i].got, why, sizeof why))
			good++;
		else if (!told++)
			diag("client %d: %s", i, i >= started ? "not started" :
			    c[i].done == 0 ? "no EOF in time" :
			    c[i].done == -1 ? "connection failed" : why);
		if (i < started && c[i].fd != -1)
			close(c[i].fd);
	}
	is_int(good, NFLOODTCP, "%s: %d TCP clients served during the flood",
	    model, NFLOODTCP);
	still_serving(d, model, "UDP flood");
}

/* 500 connections made and closed unread, DROPBATCH at a time. */
static void
case_dropped(struct h_daemon *d, const char *model)
{
	const struct h_listener	*l;
	struct pollfd		 pfd[DROPBATCH];
	long long		 deadline;
	socklen_t		 len;
	int			 b, i, err, left, made = 0;

	for (b = 0; b < NDROP / DROPBATCH; b++) {
		for (i = 0; i < DROPBATCH; i++) {
			l = listener(d, "tcp", protos[i % 3]);
			pfd[i].fd = dial(l);
			pfd[i].events = POLLOUT;
		}
		deadline = h_now_ms() + H_ASK_MS;
		do {
			for (i = left = 0; i < DROPBATCH; i++)
				left += pfd[i].fd >= 0;
			if (left == 0 || poll(pfd, DROPBATCH, 100) == -1)
				break;
			for (i = 0; i < DROPBATCH; i++) {
				if (pfd[i].fd < 0 || pfd[i].revents == 0)
					continue;
				len = sizeof err;
				if (getsockopt(pfd[i].fd, SOL_SOCKET, SO_ERROR,
				    &err, &len) == 0 && err == 0)
					made++;
				close(pfd[i].fd);
				pfd[i].fd = -1;
			}
		} while (h_now_ms() < deadline);
		for (i = 0; i < DROPBATCH; i++)
			if (pfd[i].fd >= 0)
				close(pfd[i].fd);
	}
	is_int(made, NDROP, "%s: %d connections made and dropped unread",
	    model, NDROP);
	still_serving(d, model, "500 dropped connections");
}

static void
test_model(const char *model)
{
	struct h_daemon	 d;
	const char	*args[] = { "-m", model, "-w", "2",
	    "-l", "tcp:127.0.0.1:0/stamp", "-l", "tcp:127.0.0.1:0/time",
	    "-l", "tcp:127.0.0.1:0/daytime", "-l", "udp:127.0.0.1:0/stamp",
	    "-l", "udp:127.0.0.1:0/time", "-l", "udp:127.0.0.1:0/daytime",
	    NULL };

	h_model_args(model, args);
	if (!ok(h_daemon_start(&d, 6, args) == 0, "%s: starts", model))
		return;
	still_serving(&d, model, "at the start");
	case_big_sender(&d, model);
	case_resets(&d, model);
	case_idle(&d, model);
	case_half_close(&d, model);
	case_dgram_sizes(&d, model);
	case_udp_flood(&d, model);
	case_dropped(&d, model);
	is_int(h_daemon_stop(&d), 0, "%s: SIGTERM: exit status 0", model);
}

int
main(void)
{
	int	 i;

	signal(SIGPIPE, SIG_IGN);
	read_models();
	for (i = 0; i < nmodels; i++) {
		note("model %s", models[i]);
		test_model(models[i]);
	}
	return done_testing();
}
