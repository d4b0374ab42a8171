/*
 * bench_tcp.c: stampbench's TCP engine over epoll.  An exchange is a
 * socket, a connect, the reply read to EOF, and a close, each step a
 * system call of our own: what runs where io_uring is missing, and
 * with --io epoll.
 */
#include <sys/epoll.h>
#include <netinet/in.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "bench_epoll.h"
#include "bench_tcp.h"
#include "net.h"

#define SRC_FIRST	0x7f000001U	/* 127.0.0.1, the first source */

int
bench_tcp_bind(struct bench_worker *w, int fd)
{
	int	 one = 1;

	w->src.sin_addr.s_addr = htonl(SRC_FIRST + w->nextsrc);
	if (++w->nextsrc == (uint32_t)w->b->spread)
		w->nextsrc = 0;
	/*
	 * Without a port, bind leaves the choice to connect, which needs
	 * the port unique for the four-tuple only: each source address
	 * brings its own range of ephemeral ports.
	 */
	if (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
	    sizeof one) == -1 ||
	    bind(fd, (struct sockaddr *)&w->src, sizeof w->src) == -1)
		return -1;
	return 0;
}

int
bench_tcp_connect(struct bench_worker *w)
{
	struct bench	*b = w->b;
	int		 fd;

	fd = socket(b->addr.ss_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if ((b->spread > 0 && bench_tcp_bind(w, fd) == -1) ||
	    (connect(fd, (struct sockaddr *)&b->addr, b->addrlen) == -1 &&
	    errno != EINPROGRESS)) {
		net_close(fd);
		return -1;
	}
	return fd;
}

static int
tcp_start(struct bench_worker *w, struct bench_slot *s)
{
	int	 fd;

	s->start = bench_worker_now(CLOCK_MONOTONIC);
	if ((fd = bench_tcp_connect(w)) == -1)
		return -1;
	/* Failure shows as EPOLLERR, success as the reply: no EPOLLOUT. */
	if (bench_epoll_add(w, fd, EPOLLIN | EPOLLRDHUP, s) == -1) {
		net_close(fd);
		return -1;
	}
	s->fd = fd;
	return 0;
}

static void
tcp_ready(struct bench_worker *w, struct bench_slot *s, uint32_t events)
{
	ssize_t		 n;
	int64_t		 end;

	if (!s->busy)
		return;
	for (;;) {
		n = net_recvfrom(s->fd, s->buf + s->len,
		    sizeof s->buf - s->len, 0, NULL, NULL);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			bench_worker_done(w, s, bench_worker_fault(w, errno),
			    0);
			return;
		}
		if (n == 0)
			break;
		s->len += (size_t)n;
		if (s->len == sizeof s->buf) {
			bench_worker_bad(w, s, "reply longer than 512 bytes");
			return;
		}
		/*
		 * The peer's FIN is taken in order, after all it sent, so
		 * this one read emptied the queue: a second read would only
		 * say EOF.
		 */
		if ((events & (EPOLLRDHUP | EPOLLERR)) == EPOLLRDHUP)
			break;
	}
	end = bench_worker_now(CLOCK_MONOTONIC);
	bench_worker_done(w, s, bench_worker_check(w, s, s->buf, s->len, end),
	    end);
}

/* Closed at once: the close also takes the socket out of epoll. */
static void
tcp_end(struct bench_worker *w, struct bench_slot *s)
{
	(void)w;
	close(s->fd);
	s->fd = -1;
}

const struct bench_engine bench_tcp = {
	.io = "epoll",
	.setup = bench_epoll_open,
	.run = bench_epoll_run,
	.ready = tcp_ready,
	.start = tcp_start,
	.end = tcp_end,
};
