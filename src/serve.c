/*
 * serve.c: the reply, and the care a connection needs around it.
 *
 * Never blocks (but serve_stream_blocking, for the models that may), never
 * allocates, never lets a client's fault stop the server.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admit.h"
#include "log.h"
#include "net.h"
#include "serve.h"
#include "util.h"
#include "wire.h"

#define DGRAM_BATCH	32
#define SENT_WAIT_MS	100	/* the longest wait for another's reading */

/*
 * The kernel's transmit times are read and kept by one worker at a time,
 * of every process: one that finds a departure missing then knows it is
 * not half way between the queue and the table in another worker.  A
 * robust mutex in shared memory, so that a worker killed holding it does
 * not stop the others.
 */
static pthread_mutex_t	*sent_lock;

int
serve_reply(int proto, char *buf, size_t len)
{
	const struct proto	*row = proto_row(proto);
	/* A stream's reply names no earlier one. */
	struct proto_req	 rq = { .sent_read = 1 };

	return row != NULL ? row->reply(&rq, buf, len) : -1;
}

void
serve_reload(void)
{
	const struct proto	*row;
	int			 p;

	for (p = 0; p < STAMP_NPROTO; p++)
		if ((row = proto_row(p))->reload != NULL)
			row->reload();
}

/* The lock of sent_lock's comment, before any worker is made. */
static int
sent_lock_init(void)
{
	pthread_mutexattr_t	 a;
	void			*m;
	int			 e;

	m = mmap(NULL, sizeof *sent_lock, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return -1;
	if ((e = pthread_mutexattr_init(&a)) == 0) {
		if ((e = pthread_mutexattr_setpshared(&a,
		    PTHREAD_PROCESS_SHARED)) == 0 &&
		    (e = pthread_mutexattr_setrobust(&a,
		    PTHREAD_MUTEX_ROBUST)) == 0)
			e = pthread_mutex_init(m, &a);
		pthread_mutexattr_destroy(&a);
	}
	if (e != 0) {
		munmap(m, sizeof *sent_lock);
		errno = e;
		return -1;
	}
	sent_lock = m;
	return 0;
}

/*
 * Take sent_lock: 1, or 0 when it is not taken (none made, or another
 * held it SENT_WAIT_MS: a stopped process; the times are read anyway).
 */
static int
sent_hold(void)
{
	struct timespec	 until;
	int		 e;

	if (sent_lock == NULL)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += SENT_WAIT_MS * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	e = pthread_mutex_clocklock(sent_lock, CLOCK_MONOTONIC, &until);
	/* Its holder died: what it read is lost, the table is whole. */
	if (e == EOWNERDEAD)
		e = pthread_mutex_consistent(sent_lock);
	return e == 0;
}

int
serve_init(const struct server *srv, const char **why)
{
	const struct proto	*row;
	int			 p;

	if (sent_lock_init() == -1) {
		*why = strerror(errno);
		return -1;
	}
	for (p = 0; p < STAMP_NPROTO; p++)
		if ((row = proto_row(p))->init != NULL &&
		    row->init(srv, why) == -1)
			return -1;
	if (stats_init(srv) == -1 || admit_init(srv) == -1 ||
	    (srv->verbose && log_access_init(srv->log_rate) == -1)) {
		*why = strerror(errno);
		return -1;
	}
	return 0;
}

static long long
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * The access log's line (-v), the one every path of every model writes:
 * the client at peer of listener l, what came of it in a word, and the
 * microseconds from its arrival to its reply (-1: unknown, or no reply).
 * Within log.h's budget, or counted as dropped.  "Client:IP:PORT" first,
 * as the lesson's line.
 */
static void
access_line(const struct listener *l, const void *peer, const char *result,
    long long us, struct stats *st)
{
	char	 addr[NET_ADDRSTRLEN], at[NET_ADDRSTRLEN], lat[24];

	if (!log_access_admit()) {
		stats_count(st, STAT_LOG_DROPPED, 1);
		return;
	}
	if (us >= 0)
		snprintf(lat, sizeof lat, "%lld", us);
	else
		snprintf(lat, sizeof lat, "-");
	log_info("Client:%s listener=%s:%s proto=%s result=%s latency_us=%s",
	    net_addr_str(peer, addr, sizeof addr),
	    l->type == SOCK_STREAM ? "tcp" : "udp",
	    net_addr_str((const void *)&l->addr, at, sizeof at),
	    wire_proto_name(l->proto), result, lat);
}

void
serve_log_conn(const struct server *srv, const struct listener *l, int fd,
    const struct sockaddr_storage *peer, const char *result,
    struct stats *st)
{
	struct sockaddr_storage	 asked;

	if (!srv->verbose)
		return;
	if (peer == NULL) {
		if (net_peer(fd, &asked) == -1)
			asked.ss_family = AF_UNSPEC;
		peer = &asked;
	}
	access_line(l, peer, result, stats_age_us(fd), st);
}

/* With -v, the line of datagram d: result, or what its row said of it. */
static void
dgram_line(const struct listener *l, const struct serve_dgram *d,
    const char *result, struct stats *st)
{
	if (d->got_us == 0)
		return;
	if (result == NULL)
		result = d->result != NULL ? d->result : "ok";
	access_line(l, &d->from, result, now_us() - d->got_us, st);
}

static void
count_reply(const struct listener *l, struct stats *st)
{
	stats_reply(st, l);
}

/*
 * A failure of a client's doing is counted; anything else is an error.
 * Returns which, in a word, for -v's line.
 */
static const char *
count_failure(const struct listener *l, int err, struct stats *st)
{
	if (err == ECONNRESET || err == EPIPE || err == ENOTCONN ||
	    err == ETIMEDOUT) {
		stats_count(st, STAT_RESET, 1);
		return "reset";
	}
	stats_count(st, STAT_ERRORS, 1);
	errno = err;
	log_limited("%s: send", l->name);
	return "error";
}

int
serve_finish(const struct listener *l, int fd, struct stats *st)
{
	int	 r;

	if ((r = net_finish(fd)) == 0)
		return SERVE_DRAIN;
	if (r == -1 && errno != ENOTCONN && errno != ECONNRESET)
		count_failure(l, errno, st);
	admit_close(fd);
	return SERVE_DONE;
}

/*
 * A metrics listener's connection: read the request as it comes (into
 * hdr, at most METRICS_REQUEST_MAX bytes, within --linger as any wait),
 * answer it, and finish as any connection.
 */
static int
serve_metrics(const struct server *srv, const struct listener *l, int fd,
    struct admit_hdr *hdr, struct stats *st)
{
	struct metrics_view	 v;
	char			 page[METRICS_PAGE_MAX];
	ssize_t			 n;
	int			 status, head, len;

	n = net_recv(fd, hdr->buf + hdr->len, sizeof hdr->buf - hdr->len, 0);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return SERVE_HEADER;
	if (n <= 0) {
		admit_close(fd);
		return SERVE_DONE;
	}
	hdr->len += (size_t)n;
	status = metrics_request(hdr->buf, hdr->len, &head);
	if (status == METRICS_NEED_MORE)
		return SERVE_HEADER;
	if (status == METRICS_OK) {
		stats_count(st, STAT_SCRAPES, 1);
		stats_view(srv, &v);
	}
	if ((len = metrics_answer(status, head, &v, page, sizeof page)) ==
	    -1 || (n = net_send(fd, page, (size_t)len, MSG_MORE)) == -1) {
		stats_count(st, STAT_ERRORS, 1);
		admit_close(fd);
		return SERVE_DONE;
	}
	if (n < len)
		stats_count(st, STAT_SHORT, 1);
	return serve_finish(l, fd, st);
}

int
serve_reads_first(const struct listener *l)
{
	return l->proxy || serve_in_loop(l);
}

int
serve_in_loop(const struct listener *l)
{
	return l->spec.metrics || proto_row(l->proto)->converse != NULL;
}

int
serve_stream(const struct server *srv, const struct listener *l, int fd,
    const struct sockaddr_storage *peer, struct admit_hdr *hdr,
    struct stats *st)
{
	char		 buf[STAMP_REPLY_MAX];
	ssize_t		 n;
	long long	 us;
	int		 len, r;

	if (l->spec.metrics)
		return serve_metrics(srv, l, fd, hdr, st);
	if (proto_row(l->proto)->converse != NULL)
		return proto_row(l->proto)->converse(srv, l, fd, st);
	if (l->proxy) {
		/* Read first: a refused header closes fd. */
		us = srv->verbose ? stats_age_us(fd) : -1;
		if ((r = admit_header(srv, l, fd, peer, hdr, st)) == 0)
			return SERVE_HEADER;
		if (r == -1) {
			if (srv->verbose)
				access_line(l, peer, "bad_header", us, st);
			return SERVE_DONE;
		}
		peer = &hdr->real;
	}
	if ((len = serve_stream_reply(srv, l, peer, buf, sizeof buf, st)) ==
	    -1) {
		admit_close(fd);
		return SERVE_DONE;
	}
	/* MSG_MORE: the reply waits for the FIN, and both leave as one. */
	n = net_send(fd, buf, (size_t)len, MSG_MORE);
	serve_stream_sent(srv, l, fd, peer, n == -1 ? -errno : (int)n, len,
	    st);
	if (n == -1) {
		admit_close(fd);
		return SERVE_DONE;
	}
	return serve_finish(l, fd, st);
}

int
serve_stream_reply(const struct server *srv, const struct listener *l,
    const struct sockaddr_storage *peer, char *buf, size_t len,
    struct stats *st)
{
	int	 n;

	if ((n = serve_reply(l->proto, buf, len)) == -1) {
		stats_count(st, STAT_ERRORS, 1);
		if (srv->verbose)
			access_line(l, peer, "error", -1, st);
	}
	return n;
}

void
serve_stream_sent(const struct server *srv, const struct listener *l,
    int fd, const struct sockaddr_storage *peer, int res, int len,
    struct stats *st)
{
	const char	*result = "ok";

	if (res == len) {
		count_reply(l, st);
		stats_latency(fd, st);
	} else if (res >= 0) {
		stats_count(st, STAT_SHORT, 1);
		result = "cut_short";
	} else
		result = count_failure(l, -res, st);
	serve_log_conn(srv, l, fd, peer, result, st);
}

void
serve_count_failure(const struct listener *l, int err, struct stats *st)
{
	count_failure(l, err, st);
}

int
serve_linger(int fd, struct stats *st)
{
	int	 r;

	if ((r = net_drain(fd)) == 0)
		return 0;
	if (r == -1)
		stats_count(st, STAT_RESET, 1);
	admit_close(fd);
	return 1;
}

void
serve_linger_timeout(int fd, struct stats *st)
{
	stats_count(st, STAT_LINGER_TIMEOUT, 1);
	admit_close(fd);
}

void
serve_stream_blocking(const struct server *srv, const struct listener *l,
    int fd, const struct sockaddr_storage *peer, const struct admit_hdr *done,
    struct stats *st)
{
	struct admit_hdr hdr;
	long long	 deadline = util_now_ms() + srv->linger_ms;
	int		 left, next;

	if (done != NULL)
		hdr = *done;
	else
		admit_hdr_init(&hdr);
	next = serve_stream(srv, l, fd, peer, &hdr, st);
	while (next != SERVE_DONE &&
	    (left = (int)(deadline - util_now_ms())) > 0) {
		if (net_wait(fd, POLLIN, left) == -1)
			break;
		if (next == SERVE_HEADER) {
			/* The drain that may follow gets a time of its own. */
			if ((next = serve_stream(srv, l, fd, peer, &hdr, st))
			    == SERVE_DRAIN)
				deadline = util_now_ms() + srv->linger_ms;
		} else if (serve_linger(fd, st))
			next = SERVE_DONE;
	}
	if (next != SERVE_DONE)
		serve_linger_timeout(fd, st);
}

/* One batch of datagrams being received: room for each and its story. */
struct rx {
	struct mmsghdr		 msg[DGRAM_BATCH];
	struct iovec		 iov[DGRAM_BATCH];
	struct serve_dgram	 d[DGRAM_BATCH];
	char			 ctl[DGRAM_BATCH][NET_DGRAM_CTL];
};

/*
 * Receive up to n datagrams from fd, a socket of l; returns how many (0:
 * none).
 */
static int
rx_batch(const struct server *srv, struct rx *rx, const struct listener *l,
    int fd, int n)
{
	struct msghdr	*h;
	int		 i;

	for (i = 0; i < n; i++) {
		h = &rx->msg[i].msg_hdr;
		rx->iov[i].iov_base = rx->d[i].req;
		rx->iov[i].iov_len = sizeof rx->d[i].req;
		memset(h, 0, sizeof *h);
		h->msg_name = &rx->d[i].from;
		h->msg_namelen = sizeof rx->d[i].from;
		h->msg_iov = &rx->iov[i];
		h->msg_iovlen = 1;
		h->msg_control = rx->ctl[i];
		h->msg_controllen = sizeof rx->ctl[i];
	}
	if ((n = net_recvmmsg(fd, rx->msg, (unsigned)n)) <= 0)
		return 0;
	for (i = 0; i < n; i++)
		serve_datagram_keep(srv, l, &rx->msg[i].msg_hdr, rx->d[i].req,
		    rx->msg[i].msg_len, &rx->d[i]);
	return n;
}

void
serve_datagram_keep(const struct server *srv, const struct listener *l,
    const struct msghdr *m, const char *req, size_t len,
    struct serve_dgram *d)
{
	if (m->msg_name != &d->from)
		memcpy(&d->from, m->msg_name, m->msg_namelen < sizeof d->from ?
		    m->msg_namelen : sizeof d->from);
	d->fromlen = m->msg_namelen;
	d->trunc = len > sizeof d->req || (m->msg_flags & MSG_TRUNC) != 0;
	d->len = len < sizeof d->req ? len : sizeof d->req;
	if (req != d->req)
		memcpy(d->req, req, d->len);
	if (!proto_row(l->proto)->rx_time || net_dgram_rxtime(m, &d->rx) == -1)
		d->rx.tv_sec = d->rx.tv_nsec = 0;
	d->result = NULL;
	d->got_us = srv->verbose ? now_us() : 0;
}

int
serve_datagram_judge(const struct server *srv, const struct listener *l,
    const struct msghdr *m, const char *req, size_t len, long long now,
    struct stats *st)
{
	if (admit_datagram(srv, l, m, req, len, now, st))
		return 1;
	if (srv->verbose)
		access_line(l, m->msg_name, "refused", -1, st);
	return 0;
}

int
serve_datagram_reply(const struct listener *l, int fd, struct serve_dgram *d,
    char *buf, size_t len, struct stats *st)
{
	const struct proto	*row = proto_row(l->proto);
	struct proto_req	 rq = {
		.buf = d->req, .len = d->len, .trunc = d->trunc,
		.rx = d->rx.tv_sec != 0 ? &d->rx : NULL, .st = st,
		.result = &d->result
	};
	int			 n;

	if ((n = row->reply(&rq, buf, len)) == PROTO_LATER) {
		serve_tx_stamps(l, fd);
		rq.sent_read = 1;
		n = row->reply(&rq, buf, len);
	}
	if (n < 0) {
		stats_count(st, STAT_ERRORS, 1);
		n = -1;
	}
	if (n <= 0 && d->got_us != 0)
		access_line(l, &d->from, n == -1 ? "error" : d->result !=
		    NULL ? d->result : "unanswered", -1, st);
	return n;
}

int
serve_sending(const struct listener *l, struct msghdr *m,
    union net_tx_ask *ask)
{
	const struct proto	*row = proto_row(l->proto);

	if (row->sending == NULL ||
	    !row->sending(m->msg_iov->iov_base, m->msg_iov->iov_len))
		return 0;
	net_tx_ask(m, ask);
	return 1;
}

void
serve_datagram_sent(const struct listener *l, const struct serve_dgram *d,
    int res, int len, struct stats *st)
{
	const char	*result = NULL;

	if (res == len)
		count_reply(l, st);
	else if (res >= 0 || res == -EAGAIN || res == -ENOBUFS) {
		stats_count(st, STAT_SHORT, 1);
		result = "unsent";
	} else
		result = count_failure(l, -res, st);
	dgram_line(l, d, result, st);
}

void
serve_tx_stamps(const struct listener *l, int fd)
{
	const struct proto	*row = proto_row(l->proto);
	struct net_tx_stamp	 st[NET_TX_BATCH];
	int			 i, n, turns, held;

	if (row->tx_time == NULL || !row->tx_time())
		return;
	held = sent_hold();
	/* Bounded: a socket that sends without end is not drained for ever. */
	for (turns = 0; turns < 4; turns++) {
		if ((n = net_tx_stamps(fd, st, NET_TX_BATCH)) <= 0)
			break;
		for (i = 0; i < n; i++)
			if (st[i].ts.tv_sec != 0)
				row->sent(st[i].buf, st[i].len, &st[i].ts);
		if (n < NET_TX_BATCH)
			break;
	}
	if (held)
		pthread_mutex_unlock(sent_lock);
}

/*
 * Send the m replies of out, each to its own source, the reply to
 * datagram of[i]: one that fails is counted and skipped, and the rest
 * still go; a full send buffer drops what is left (counted short).
 */
static void
tx_batch(const struct listener *l, int fd, struct mmsghdr *out, int m,
    struct serve_dgram *const *of, struct stats *st)
{
	const char	*result[DGRAM_BATCH] = { NULL };
	union net_tx_ask ask[DGRAM_BATCH];
	int		 k = 0, sent, i, asked = 0;

	for (i = 0; i < m; i++)
		asked |= serve_sending(l, &out[i].msg_hdr, &ask[i]);
	while (k < m) {
		if ((sent = net_sendmmsg(fd, out + k, (unsigned)(m - k))) > 0) {
			for (i = 0; i < sent; i++)
				count_reply(l, st);
			k += sent;
		} else if (sent == -1 && errno != EAGAIN && errno != ENOBUFS) {
			result[k] = count_failure(l, errno, st);
			k++;
		} else {
			stats_count(st, STAT_SHORT, (unsigned)(m - k));
			for (; k < m; k++)
				result[k] = "unsent";
			break;
		}
	}
	if (asked)
		serve_tx_stamps(l, fd);
	for (i = 0; i < m; i++)
		dgram_line(l, of[i], result[i], st);
}

/* Make out the message that sends reply buf[0..len) to d's source. */
static void
tx_msg(struct mmsghdr *out, struct iovec *iov, char *buf, size_t len,
    struct serve_dgram *d)
{
	iov->iov_base = buf;
	iov->iov_len = len;
	memset(&out->msg_hdr, 0, sizeof out->msg_hdr);
	out->msg_hdr.msg_name = &d->from;
	out->msg_hdr.msg_namelen = d->fromlen;
	out->msg_hdr.msg_iov = iov;
	out->msg_hdr.msg_iovlen = 1;
}

/* Whether datagram i of rx may be answered now (and say who it is). */
static int
rx_judge(const struct server *srv, const struct listener *l, struct rx *rx,
    int i, long long now, struct stats *st)
{
	return serve_datagram_judge(srv, l, &rx->msg[i].msg_hdr, rx->d[i].req,
	    rx->d[i].len, now, st);
}

int
serve_datagrams(const struct server *srv, const struct listener *l, int fd,
    int max, struct stats *st)
{
	struct rx	 rx;
	struct mmsghdr	 out[DGRAM_BATCH];
	struct iovec	 iov[DGRAM_BATCH];
	struct serve_dgram *of[DGRAM_BATCH];
	char		 buf[DGRAM_BATCH][SERVE_REPLY_MAX];
	long long	 now;
	int		 i, n, m, len, done = 0;

	while (done < max) {
		m = max - done < DGRAM_BATCH ? max - done : DGRAM_BATCH;
		if ((n = rx_batch(srv, &rx, l, fd, m)) == 0)
			break;
		done += n;
		now = util_now_ms();
		for (i = m = 0; i < n; i++) {
			if (!rx_judge(srv, l, &rx, i, now, st) ||
			    (len = serve_datagram_reply(l, fd, &rx.d[i], buf[m],
			    sizeof buf[m], st)) <= 0)
				continue;
			tx_msg(&out[m], &iov[m], buf[m], (size_t)len,
			    &rx.d[i]);
			of[m++] = &rx.d[i];
		}
		tx_batch(l, fd, out, m, of, st);
		if (n < DGRAM_BATCH)
			break;
	}
	/* Woken with nothing to read: the kernel's word on a late send. */
	if (done == 0)
		serve_tx_stamps(l, fd);
	return done;
}

int
serve_datagram_take(const struct server *srv, const struct listener *l,
    int fd, struct serve_dgram *d, struct stats *st)
{
	struct rx	 rx;
	int		 n;

	/* One at a time: what waits for a delay is taken only as needed. */
	for (n = 0; n < DGRAM_BATCH; n++) {
		if (rx_batch(srv, &rx, l, fd, 1) == 0)
			return 0;
		if (!rx_judge(srv, l, &rx, 0, util_now_ms(), st))
			continue;
		memcpy(d, &rx.d[0], sizeof *d);
		return 1;
	}
	return 0;
}

void
serve_datagram_to(const struct listener *l, int fd, struct serve_dgram *d,
    struct stats *st)
{
	const char	*result = NULL;
	char		 buf[SERVE_REPLY_MAX];
	struct mmsghdr	 out;
	struct iovec	 iov;
	union net_tx_ask ask;
	int		 len, asked;

	if ((len = serve_datagram_reply(l, fd, d, buf, sizeof buf, st)) <= 0)
		return;
	tx_msg(&out, &iov, buf, (size_t)len, d);
	asked = serve_sending(l, &out.msg_hdr, &ask);
	if (net_sendmmsg(fd, &out, 1) == 1)
		count_reply(l, st);
	else
		result = count_failure(l, errno, st);
	if (asked)
		serve_tx_stamps(l, fd);
	dgram_line(l, d, result, st);
}
