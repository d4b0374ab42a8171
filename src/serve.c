/*
 * serve.c: the reply, and the care a connection needs around it.
 *
 * Never blocks (but serve_stream_blocking and serve_sleep, for the models
 * that may), never allocates, never lets a client's fault stop the server.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <net/if.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "limit.h"
#include "log.h"
#include "net.h"
#include "notify.h"
#include "proxy.h"
#include "serve.h"
#include "wire.h"
#include "util.h"

#define DGRAM_BATCH	32
#define REQ_MAX		64	/* of a request: enough to know a reply */
#define RX_CTL		(CMSG_SPACE(sizeof(struct in6_pktinfo)) + \
			    CMSG_SPACE(sizeof(struct in_pktinfo)))
#define MAX_OWNPORTS	64

/* The replies of the current second, per thread: formatted once. */
static __thread struct {
	long long	 sec;
	int		 len[STAMP_NPROTO];
	char		 text[STAMP_NPROTO][STAMP_REPLY_MAX];
} cache = { .sec = -1 };

/*
 * Which limit place each open connection holds, by fd: a process's fds
 * are its own, and after a fork the child inherits the table with them.
 * self is this process, the owner of the places it takes (getpid is a
 * system call; a fork handler keeps self right in a child).
 */
static struct limits	*limits;
static int		*fdslot;
static int		 nfdslot;
static pid_t		 self;

/*
 * What a datagram is judged by: the ports stampd listens on, the loopback
 * interface, and the --udp-rate table that every thread and process
 * shares, so that no worker and no delay gives a source a fresh bucket.
 */
/*
 * For a metrics listener: when each open connection was accepted, by fd
 * (microseconds, monotonic), and the slot a thread counts its closes in.
 */
static long long	*accepted_us;
static int		 naccepted_us;
static long long	 started;		/* Unix time */
static struct stats	*main_slot;
static __thread struct stats *thread_slot;

static int		 ownport[MAX_OWNPORTS];
static int		 nownport;
static int		 lo_index;
static struct limits	*udp_limits;

int
serve_reply(int proto, char *buf, size_t len)
{
	struct timespec	 ts;
	int		 p;

	if (proto < 0 || proto >= STAMP_NPROTO)
		return -1;
	/* The coarse clock costs no system call and is right to a tick. */
	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	if (ts.tv_sec != cache.sec) {
		for (p = 0; p < STAMP_NPROTO; p++)
			cache.len[p] = wire_encode(p, ts.tv_sec, cache.text[p],
			    sizeof cache.text[p]);
		cache.sec = ts.tv_sec;
	}
	if (cache.len[proto] < 0 || (size_t)cache.len[proto] > len)
		return -1;
	memcpy(buf, cache.text[proto], (size_t)cache.len[proto]);
	return cache.len[proto];
}

/* Every socket of UDP listener l tells where each datagram arrived. */
static int
dgram_info(const struct server *srv, const struct listener *l)
{
	int	 k, n = l->rpfd != NULL ? srv->workers : 1;

	for (k = 0; k < n; k++)
		if (net_dgram_info(l->rpfd != NULL ? l->rpfd[k] : l->fd,
		    l->addr.ss_family) == -1)
			return -1;
	return 0;
}

static void
forked(void)
{
	self = getpid();
}

static long long
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The fds a process may have, as RLIMIT_NOFILE says, within reason. */
static int
max_fds(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 1024;
	return rl.rlim_cur > 1 << 20 ? 1 << 20 : (int)rl.rlim_cur;
}

/* A metrics listener wants the time of each accept, for its histogram. */
static int
timing_init(const struct server *srv)
{
	size_t	 l;

	for (l = 0; l < srv->nls && !srv->ls[l].spec.metrics; l++)
		;
	if (l == srv->nls)
		return 0;
	naccepted_us = max_fds();
	accepted_us = calloc((size_t)naccepted_us, sizeof *accepted_us);
	return accepted_us == NULL ? -1 : 0;
}

void
serve_slot(struct stats *st)
{
	thread_slot = st;
}

int
serve_init(const struct server *srv)
{
	size_t		 l;
	int		 i;

	/*
	 * Our UDP ports: a reply goes over UDP, so a TCP listener's number
	 * is another port, which a client's may be.  A client of this host
	 * never gets one of these (the kernel picks a free one).
	 */
	for (l = 0; l < srv->nls; l++) {
		if (srv->ls[l].type != SOCK_DGRAM)
			continue;
		if (dgram_info(srv, &srv->ls[l]) == -1)
			return -1;
		if (nownport < MAX_OWNPORTS)
			ownport[nownport++] = net_addr_port(
			    (const struct sockaddr *)&srv->ls[l].addr);
	}
	lo_index = (int)if_nametoindex("lo");
	started = (long long)time(NULL);
	main_slot = &srv->stats[0];
	if (timing_init(srv) == -1)
		return -1;
	if (srv->udp_rate > 0 && (udp_limits = limit_new(0, 0, srv->udp_rate,
	    srv->limit_loopback)) == NULL)
		return -1;
	if ((limits = srv->limits) == NULL)
		return 0;
	self = getpid();
	if ((errno = pthread_atfork(NULL, NULL, forked)) != 0)
		return -1;
	nfdslot = max_fds();
	if ((fdslot = calloc((size_t)nfdslot, sizeof *fdslot)) == NULL)
		return -1;
	for (i = 0; i < nfdslot; i++)
		fdslot[i] = LIMIT_REFUSED;
	return 0;
}

int
serve_accept_error(const struct listener *l, int lfd, int err, int *spare,
    struct stats *st)
{
	errno = err;
	switch (net_accept_error(err)) {
	case NET_ACCEPT_EMPTY:
		return 0;
	case NET_ACCEPT_RETRY:
		serve_count(st, STAT_RESET, 1);
		return 0;
	case NET_ACCEPT_FDS:
		serve_count(st, STAT_SHED, 1);
		log_limited("%s: accept", l->name);
		if (*spare == -1) {
			/* No spare to trade: pause rather than spin. */
			*spare = net_spare_open();
			return 100;
		}
		net_shed(lfd, spare);
		return 0;
	case NET_ACCEPT_MEM:
		serve_count(st, STAT_ERRORS, 1);
		log_limited("%s: accept", l->name);
		return 100;
	default:
		log_warn("%s: accept", l->name);
		return -1;
	}
}

int
serve_wants_peer(const struct server *srv, const struct listener *l)
{
	return srv->limits != NULL || srv->verbose || l->proxy;
}

int
serve_admit(int fd, const struct sockaddr_storage *peer, struct stats *st)
{
	enum limit_why	 why = LIMIT_MAX_CONNS;
	int		 slot;

	serve_count(st, STAT_ACCEPTED, 1);
	if (accepted_us != NULL && fd < naccepted_us)
		accepted_us[fd] = now_us();
	if (limits == NULL)
		return 0;
	slot = limit_admit(limits, peer, util_now_ms(), self, &why);
	if (slot != LIMIT_REFUSED && fd < nfdslot) {
		fdslot[fd] = slot;
		return 0;
	}
	limit_release(limits, slot);
	/* Over a limit: closed at once, never queued. */
	serve_count(st, STAT_LIMITED, 1);
	serve_count(st, STAT_LIM_MAX_CONNS + why, 1);
	serve_count(st, STAT_CLOSED, 1);
	close(fd);
	return -1;
}

int
serve_accept(const struct listener *l, int lfd,
    struct sockaddr_storage *peer, int *spare, struct stats *st, int *pause)
{
	socklen_t	 len;
	int		 fd, tries;

	for (tries = 0; tries < 64; tries++) {
		if ((fd = net_accept(lfd, peer, &len)) == -1) {
			*pause = serve_accept_error(l, lfd, errno, spare, st);
			return -1;
		}
		if (serve_admit(fd, peer, st) == 0)
			return fd;
	}
	*pause = 0;
	return -1;
}

void
serve_release(int fd)
{
	if (limits != NULL && fd < nfdslot && fdslot[fd] != LIMIT_REFUSED) {
		limit_release(limits, fdslot[fd]);
		fdslot[fd] = LIMIT_REFUSED;
	}
	/* Neither: --inetd, which serves one client and counts nothing. */
	if (thread_slot != NULL || main_slot != NULL)
		serve_count(thread_slot != NULL ? thread_slot : main_slot,
		    STAT_CLOSED, 1);
}

void
serve_close(int fd)
{
	serve_release(fd);
	close(fd);
}

void
serve_handover(int fd, pid_t pid)
{
	if (limits != NULL && fd < nfdslot && fdslot[fd] != LIMIT_REFUSED) {
		limit_own(limits, fdslot[fd], pid);
		fdslot[fd] = LIMIT_REFUSED;
	}
	close(fd);
}

void
serve_reaped(pid_t pid)
{
	if (limits != NULL)
		limit_release_owner(limits, pid);
}

static void
count_reply(const struct listener *l, struct stats *st)
{
	int	 udp = l->type != SOCK_STREAM;

	serve_count(st, udp ? STAT_UDP : STAT_TCP, 1);
	serve_count(st, STAT_STAMP + l->proto, 1);
	serve_count(st, STAT_REPLY + udp * STAMP_NPROTO + l->proto, 1);
}

/* Connection fd's time from accept to its reply, into the histogram. */
static void
count_latency(int fd, struct stats *st)
{
	long long	 us;

	if (accepted_us == NULL || fd >= naccepted_us)
		return;
	us = now_us() - accepted_us[fd];
	__atomic_fetch_add(&st->bucket[metrics_bucket(us)], 1,
	    __ATOMIC_RELAXED);
	__atomic_fetch_add(&st->latency_us, (unsigned long long)us,
	    __ATOMIC_RELAXED);
}

/* A failure of a client's doing is counted; anything else is an error. */
static void
count_failure(const struct listener *l, int err, struct stats *st)
{
	if (err == ECONNRESET || err == EPIPE || err == ENOTCONN ||
	    err == ETIMEDOUT)
		serve_count(st, STAT_RESET, 1);
	else {
		serve_count(st, STAT_ERRORS, 1);
		errno = err;
		log_limited("%s: send", l->name);
	}
}

/*
 * Read the PROXY header of a connection from peer into hdr, and the client
 * it names into *real: 1 when it is whole (and taken off the socket), 0
 * when more must arrive, -1 when the connection must be closed: peer may
 * not send one, or it is bad or cut short.
 */
static int
read_header(const struct server *srv, const struct listener *l, int fd,
    const struct sockaddr_storage *peer, struct serve_hdr *hdr,
    struct sockaddr_storage *real, struct stats *st)
{
	char		 addr[NET_ADDRSTRLEN];
	const char	*why;
	size_t		 i, hdrlen, room = sizeof hdr->buf - hdr->len;
	socklen_t	 rlen;
	ssize_t		 n;
	int		 r;

	for (i = 0; i < srv->nproxy_from; i++)
		if (net_cidr_match(&srv->proxy_from[i], peer))
			break;
	if (i == srv->nproxy_from) {
		why = "not a peer allowed to send one (--proxy-from)";
		goto bad;
	}
	/* Peek: only the header is ours to take, never what follows it. */
	n = net_recv(fd, hdr->buf + hdr->len, room, MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n <= 0) {
		why = n == 0 ? "closed before its end" : "unreadable";
		goto bad;
	}
	r = proxy_parse(hdr->buf, hdr->len + (size_t)n, &hdrlen, real, &rlen,
	    &why);
	if (r == PROXY_BAD)
		goto bad;
	/* Still short, all of it is header: take it, wait for new bytes. */
	if (r == PROXY_NEED_MORE)
		hdrlen = hdr->len + (size_t)n;
	n = (ssize_t)(hdrlen - hdr->len);
	if (net_recv(fd, hdr->buf + hdr->len, (size_t)n, 0) != n) {
		why = "unreadable";
		goto bad;
	}
	hdr->len = hdrlen;
	if (r == PROXY_NEED_MORE)
		return 0;
	if (rlen == 0)
		*real = *peer;
	return 1;
bad:
	serve_count(st, STAT_BADHDR, 1);
	log_limitedx("%s: PROXY header from %s: %s", l->name,
	    net_addr_str((const void *)peer, addr, sizeof addr), why);
	return -1;
}

int
serve_header(const struct server *srv, const struct listener *l, int fd,
    const struct sockaddr_storage *peer, struct serve_hdr *hdr,
    struct stats *st)
{
	int	 r;

	if (hdr->done)
		return 1;
	if ((r = read_header(srv, l, fd, peer, hdr, &hdr->real, st)) == 1)
		hdr->done = 1;
	else if (r == -1)
		serve_close(fd);
	return r;
}

int
serve_finish(const struct listener *l, int fd, struct stats *st)
{
	int	 r;

	if ((r = net_finish(fd)) == 0)
		return SERVE_DRAIN;
	if (r == -1 && errno != ENOTCONN && errno != ECONNRESET)
		count_failure(l, errno, st);
	serve_close(fd);
	return SERVE_DONE;
}

/* Every slot's counters, summed into what the metrics page shows. */
static void
metrics_view(const struct server *srv, struct metrics_view *v)
{
	unsigned long long	 sum[STAT_N] = { 0 };
	const struct stats	*st;
	size_t			 i;
	int			 s, b;

	memset(v, 0, sizeof *v);
	for (i = 0; i < srv->nstats; i++) {
		st = &srv->stats[i];
		for (s = 0; s < STAT_N; s++)
			sum[s] += __atomic_load_n(&st->v[s], __ATOMIC_RELAXED);
		for (b = 0; b < METRICS_NBUCKETS; b++)
			v->bucket[b] += __atomic_load_n(&st->bucket[b],
			    __ATOMIC_RELAXED);
		v->latency_us += __atomic_load_n(&st->latency_us,
		    __ATOMIC_RELAXED);
	}
	v->version = STAMP_VERSION;
	v->model = srv->model_name != NULL ? srv->model_name : "";
	v->start = started;
	v->accepted = sum[STAT_ACCEPTED];
	v->closed = sum[STAT_CLOSED];
	v->workers = sum[STAT_WORKERS];
	for (s = 0; s < 2 * STAMP_NPROTO; s++)
		v->replies[s / STAMP_NPROTO][s % STAMP_NPROTO] =
		    sum[STAT_REPLY + s];
	v->limited_max_conns = sum[STAT_LIM_MAX_CONNS];
	v->limited_per_ip = sum[STAT_LIM_PER_IP];
	v->limited_rate = sum[STAT_LIM_RATE];
	v->limited_udp_rate = sum[STAT_LIM_UDP_RATE];
	v->dropped = sum[STAT_DROPPED];
	v->shed = sum[STAT_SHED];
	v->short_replies = sum[STAT_SHORT];
	v->resets = sum[STAT_RESET];
	v->errors = sum[STAT_ERRORS];
	v->bad_headers = sum[STAT_BADHDR];
	v->linger_timeouts = sum[STAT_LINGER_TIMEOUT];
	v->scrapes = sum[STAT_SCRAPES];
}

/*
 * A metrics listener's connection: read the request as it comes (into
 * hdr, at most METRICS_REQUEST_MAX bytes, within --linger as any wait),
 * answer it, and finish as any connection.
 */
static int
serve_metrics(const struct server *srv, const struct listener *l, int fd,
    struct serve_hdr *hdr, struct stats *st)
{
	struct metrics_view	 v;
	char			 page[METRICS_PAGE_MAX];
	ssize_t			 n;
	int			 status, head, len;

	n = net_recv(fd, hdr->buf + hdr->len, sizeof hdr->buf - hdr->len, 0);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return SERVE_HEADER;
	if (n <= 0) {
		serve_close(fd);
		return SERVE_DONE;
	}
	hdr->len += (size_t)n;
	status = metrics_request(hdr->buf, hdr->len, &head);
	if (status == METRICS_NEED_MORE)
		return SERVE_HEADER;
	if (status == METRICS_OK) {
		serve_count(st, STAT_SCRAPES, 1);
		metrics_view(srv, &v);
	}
	if ((len = metrics_answer(status, head, &v, page, sizeof page)) ==
	    -1 || (n = net_send(fd, page, (size_t)len, MSG_MORE)) == -1) {
		serve_count(st, STAT_ERRORS, 1);
		serve_close(fd);
		return SERVE_DONE;
	}
	if (n < len)
		serve_count(st, STAT_SHORT, 1);
	return serve_finish(l, fd, st);
}

int
serve_stream(const struct server *srv, const struct listener *l, int fd,
    const struct sockaddr_storage *peer, struct serve_hdr *hdr,
    struct stats *st)
{
	char		 buf[STAMP_REPLY_MAX];
	ssize_t		 n;
	int		 len, r;

	if (l->spec.metrics)
		return serve_metrics(srv, l, fd, hdr, st);
	if (l->proxy) {
		if ((r = serve_header(srv, l, fd, peer, hdr, st)) == 0)
			return SERVE_HEADER;
		if (r == -1)
			return SERVE_DONE;
		peer = &hdr->real;
	}
	if ((len = serve_stream_reply(srv, l, peer, buf, sizeof buf, st)) ==
	    -1) {
		serve_close(fd);
		return SERVE_DONE;
	}
	/* MSG_MORE: the reply waits for the FIN, and both leave as one. */
	n = net_send(fd, buf, (size_t)len, MSG_MORE);
	serve_stream_sent(l, fd, n == -1 ? -errno : (int)n, len, st);
	if (n == -1) {
		serve_close(fd);
		return SERVE_DONE;
	}
	return serve_finish(l, fd, st);
}

int
serve_stream_reply(const struct server *srv, const struct listener *l,
    const struct sockaddr_storage *peer, char *buf, size_t len,
    struct stats *st)
{
	char	 addr[NET_ADDRSTRLEN];
	int	 n;

	if (srv->verbose)
		log_info("Client:%s", net_addr_str((const void *)peer, addr,
		    sizeof addr));
	if ((n = serve_reply(l->proto, buf, len)) == -1)
		serve_count(st, STAT_ERRORS, 1);
	return n;
}

void
serve_stream_sent(const struct listener *l, int fd, int res, int len,
    struct stats *st)
{
	if (res == len) {
		count_reply(l, st);
		count_latency(fd, st);
	} else if (res >= 0)
		serve_count(st, STAT_SHORT, 1);
	else
		count_failure(l, -res, st);
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
		serve_count(st, STAT_RESET, 1);
	serve_close(fd);
	return 1;
}

void
serve_linger_timeout(int fd, struct stats *st)
{
	serve_count(st, STAT_LINGER_TIMEOUT, 1);
	serve_close(fd);
}

void
serve_stream_blocking(const struct server *srv, const struct listener *l,
    int fd, const struct sockaddr_storage *peer, const struct serve_hdr *done,
    struct stats *st)
{
	struct serve_hdr hdr;
	long long	 deadline = util_now_ms() + srv->linger_ms;
	int		 left, next;

	if (done != NULL)
		hdr = *done;
	else
		serve_hdr_init(&hdr);
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

/*
 * Whether the datagram m (its first len bytes in req) looks like a reply
 * of one of the three protocols: what another time server, or an echo
 * service, sends back.  Answering it would start a loop, or keep one going;
 * a request is empty, or anything else.
 */
static int
is_reply(const struct msghdr *m, const char *req, size_t len)
{
	const char	*why;
	long long	 t;
	int		 p;

	if (len == 0 || m->msg_flags & MSG_TRUNC)
		return 0;
	for (p = 0; p < STAMP_NPROTO; p++)
		if (wire_decode(p, req, len, &t, &why) == 0)
			return 1;
	return 0;
}

/* Whether no reply may go to port: a service's, or a time server's. */
static int
bad_port(int port)
{
	int	 i;

	/* OpenBSD inetd's rule: echo, chargen, daytime, time live there. */
	if (port < 1024 || port == STAMP_PORT)
		return 1;
	for (i = 0; i < nownport; i++)
		if (ownport[i] == port)
			return 1;
	return 0;
}

/*
 * Whether a reply may go to the source of m, whose first len bytes are in
 * req, at now; counts what it refuses.  A v4-mapped source that crossed
 * the wire as IPv6 is forged (a real IPv4 datagram says so in its control
 * data), and only a datagram that arrived on the loopback interface is
 * spared --udp-rate (unless --limit-loopback).
 */
static int
may_reply(const struct server *srv, const struct msghdr *m, const char *req,
    size_t len, long long now, struct stats *st)
{
	const struct sockaddr_storage	*from = m->msg_name;
	const struct sockaddr_in6	*sin6 = m->msg_name;
	int				 wire, ifindex;

	wire = net_dgram_arrival(m, &ifindex);
	if (bad_port(net_addr_port((const struct sockaddr *)from)) ||
	    (from->ss_family == AF_INET6 && wire == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) ||
	    is_reply(m, req, len)) {
		serve_count(st, STAT_DROPPED, 1);
		return 0;
	}
	if (srv->udp_rate == 0 || (ifindex != 0 && ifindex == lo_index &&
	    !srv->limit_loopback))
		return 1;
	/* No table: serve_init was not called (--inetd, one datagram). */
	if (udp_limits != NULL && !limit_token(udp_limits, from, now)) {
		serve_count(st, STAT_LIMITED, 1);
		serve_count(st, STAT_LIM_UDP_RATE, 1);
		return 0;
	}
	return 1;
}

/* One batch of datagrams being received: room for each and its story. */
struct rx {
	struct mmsghdr		 msg[DGRAM_BATCH];
	struct iovec		 iov[DGRAM_BATCH];
	struct sockaddr_storage	 from[DGRAM_BATCH];
	char			 req[DGRAM_BATCH][REQ_MAX];
	char			 ctl[DGRAM_BATCH][RX_CTL];
};

/* Receive up to n datagrams from fd; returns how many (0: none). */
static int
rx_batch(struct rx *rx, int fd, int n)
{
	struct msghdr	*h;
	int		 i;

	for (i = 0; i < n; i++) {
		h = &rx->msg[i].msg_hdr;
		rx->iov[i].iov_base = rx->req[i];
		rx->iov[i].iov_len = sizeof rx->req[i];
		memset(h, 0, sizeof *h);
		h->msg_name = &rx->from[i];
		h->msg_namelen = sizeof rx->from[i];
		h->msg_iov = &rx->iov[i];
		h->msg_iovlen = 1;
		h->msg_control = rx->ctl[i];
		h->msg_controllen = sizeof rx->ctl[i];
	}
	n = net_recvmmsg(fd, rx->msg, (unsigned)n);
	return n > 0 ? n : 0;
}

int
serve_datagram_judge(const struct server *srv, const struct msghdr *m,
    const char *req, size_t len, long long now, struct stats *st)
{
	char	 addr[NET_ADDRSTRLEN];

	if (!may_reply(srv, m, req, len, now, st))
		return 0;
	if (srv->verbose)
		log_info("Client:%s", net_addr_str(m->msg_name, addr,
		    sizeof addr));
	return 1;
}

/* Whether datagram i of rx may be answered now (and say who it is). */
static int
rx_judge(const struct server *srv, struct rx *rx, int i, long long now,
    struct stats *st)
{
	size_t	 len = rx->msg[i].msg_len;

	if (len > sizeof rx->req[i])
		len = sizeof rx->req[i];
	return serve_datagram_judge(srv, &rx->msg[i].msg_hdr, rx->req[i], len,
	    now, st);
}

void
serve_datagram_sent(const struct listener *l, int res, int len,
    struct stats *st)
{
	if (res == len)
		count_reply(l, st);
	else if (res >= 0 || res == -EAGAIN || res == -ENOBUFS)
		serve_count(st, STAT_SHORT, 1);
	else
		count_failure(l, -res, st);
}

/*
 * Send the m replies of out, each to its own source: one that fails is
 * counted and skipped, and the rest still go; a full send buffer drops
 * what is left (counted short).
 */
static void
tx_batch(const struct listener *l, int fd, struct mmsghdr *out, int m,
    struct stats *st)
{
	int	 k = 0, sent, i;

	while (k < m) {
		if ((sent = net_sendmmsg(fd, out + k, (unsigned)(m - k))) > 0) {
			for (i = 0; i < sent; i++)
				count_reply(l, st);
			k += sent;
		} else if (sent == -1 && errno != EAGAIN && errno != ENOBUFS) {
			count_failure(l, errno, st);
			k++;
		} else {
			serve_count(st, STAT_SHORT, (unsigned)(m - k));
			break;
		}
	}
}

int
serve_datagrams(const struct server *srv, const struct listener *l, int fd,
    int max, struct stats *st)
{
	struct rx	 rx;
	struct mmsghdr	 out[DGRAM_BATCH];
	struct iovec	 reply;
	char		 buf[STAMP_REPLY_MAX];
	long long	 now;
	int		 i, n, m, len, done = 0;

	while (done < max) {
		m = max - done < DGRAM_BATCH ? max - done : DGRAM_BATCH;
		if ((n = rx_batch(&rx, fd, m)) == 0)
			break;
		done += n;
		if ((len = serve_reply(l->proto, buf, sizeof buf)) == -1) {
			serve_count(st, STAT_ERRORS, (unsigned)n);
			break;
		}
		reply.iov_base = buf;
		reply.iov_len = (size_t)len;
		now = util_now_ms();
		for (i = m = 0; i < n; i++) {
			if (!rx_judge(srv, &rx, i, now, st))
				continue;
			memset(&out[m].msg_hdr, 0, sizeof out[m].msg_hdr);
			out[m].msg_hdr.msg_name = &rx.from[i];
			out[m].msg_hdr.msg_namelen = rx.msg[i].msg_hdr.msg_namelen;
			out[m].msg_hdr.msg_iov = &reply;
			out[m].msg_hdr.msg_iovlen = 1;
			m++;
		}
		tx_batch(l, fd, out, m, st);
		if (n < DGRAM_BATCH)
			break;
	}
	return done;
}

int
serve_datagram_take(const struct server *srv, int fd,
    struct sockaddr_storage *from, socklen_t *fromlen, struct stats *st)
{
	struct rx	 rx;
	int		 n;

	/* One at a time: what waits for a delay is taken only as needed. */
	for (n = 0; n < DGRAM_BATCH; n++) {
		if (rx_batch(&rx, fd, 1) == 0)
			return 0;
		if (!rx_judge(srv, &rx, 0, util_now_ms(), st))
			continue;
		memcpy(from, &rx.from[0], sizeof *from);
		*fromlen = rx.msg[0].msg_hdr.msg_namelen;
		return 1;
	}
	return 0;
}

void
serve_datagram_to(const struct server *srv, const struct listener *l, int fd,
    const struct sockaddr_storage *from, socklen_t fromlen,
    struct stats *st)
{
	char	 buf[STAMP_REPLY_MAX];
	int	 len;

	(void)srv;
	if ((len = serve_reply(l->proto, buf, sizeof buf)) == -1)
		serve_count(st, STAT_ERRORS, 1);
	else if (net_sendto(fd, buf, (size_t)len,
	    (const struct sockaddr *)from, fromlen) == len)
		count_reply(l, st);
	else
		count_failure(l, errno, st);
}

void
serve_beat(struct stats *st, int alive)
{
	if (notify_beat_ms() > 0)
		__atomic_store_n(&st->beat, alive ? util_now_ms() : 0,
		    __ATOMIC_RELAXED);
}

int
serve_fresh(void *arg, long long ms)
{
	const struct server	*srv = arg;
	long long		 beat, now = util_now_ms();
	size_t			 i;

	for (i = 0; i < srv->nstats; i++) {
		beat = __atomic_load_n(&srv->stats[i].beat, __ATOMIC_RELAXED);
		if (beat != 0 && now - beat > ms)
			return 0;
	}
	return 1;
}

void
serve_report(const struct server *srv)
{
	unsigned long long	 sum[STAT_N] = { 0 };
	size_t			 i;
	int			 s;

	for (i = 0; i < srv->nstats; i++)
		for (s = 0; s < STAT_N; s++)
			sum[s] += __atomic_load_n(&srv->stats[i].v[s],
			    __ATOMIC_RELAXED);
	log_info("stats: accepted %llu, replies tcp %llu udp %llu "
	    "(stamp %llu time %llu daytime %llu), short %llu, reset %llu, "
	    "shed %llu, linger timeouts %llu, errors %llu, limited %llu, "
	    "dropped %llu, bad headers %llu",
	    sum[STAT_ACCEPTED], sum[STAT_TCP], sum[STAT_UDP], sum[STAT_STAMP],
	    sum[STAT_TIME], sum[STAT_DAYTIME], sum[STAT_SHORT],
	    sum[STAT_RESET], sum[STAT_SHED], sum[STAT_LINGER_TIMEOUT],
	    sum[STAT_ERRORS], sum[STAT_LIMITED], sum[STAT_DROPPED],
	    sum[STAT_BADHDR]);
	notify("STATUS=accepted %llu, replies tcp %llu udp %llu, limited %llu,"
	    " errors %llu", sum[STAT_ACCEPTED], sum[STAT_TCP], sum[STAT_UDP],
	    sum[STAT_LIMITED], sum[STAT_ERRORS]);
}

void
serve_sleep(int ms)
{
	struct timespec	 ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	/* EINTR ends the wait early on purpose: a stop must not wait. */
	nanosleep(&ts, NULL);
}
