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
#include "proxy.h"
#include "serve.h"
#include "wire.h"
#include "util.h"

#define DGRAM_BATCH	32
#define BUCKETS		4096	/* per thread: sources tracked by --udp-rate */

/* The replies of the current second, per thread: formatted once. */
static __thread struct {
	long long	 sec;
	int		 len[STAMP_NPROTO];
	char		 text[STAMP_NPROTO][STAMP_REPLY_MAX];
} cache = { .sec = -1 };

/*
 * One token bucket per source, in a table indexed by a hash of the source
 * address.  Sources that share a slot share a bucket: a collision makes
 * the limit stricter, never looser.  Per thread, so no locks: a server of
 * W workers lets a source have up to W times the rate.
 */
struct bucket {
	uint64_t	 key;
	long long	 last_ms;
	long long	 milli;		/* tokens, in thousandths */
};
static __thread struct bucket	*buckets;

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

static void
forked(void)
{
	self = getpid();
}

int
serve_init(const struct server *srv)
{
	struct rlimit	 rl;
	int		 i;

	if ((limits = srv->limits) == NULL)
		return 0;
	self = getpid();
	if ((errno = pthread_atfork(NULL, NULL, forked)) != 0)
		return -1;
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	nfdslot = rl.rlim_cur > 1 << 20 ? 1 << 20 : (int)rl.rlim_cur;
	if ((fdslot = calloc((size_t)nfdslot, sizeof *fdslot)) == NULL)
		return -1;
	for (i = 0; i < nfdslot; i++)
		fdslot[i] = LIMIT_REFUSED;
	return 0;
}

/* Count, log and classify a failed accept: see serve_accept's *pause. */
static int
serve_accept_failed(const struct listener *l, int lfd, int err, int *spare,
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
serve_accept(const struct listener *l, int lfd,
    struct sockaddr_storage *peer, int *spare, struct stats *st, int *pause)
{
	socklen_t	 len;
	int		 fd, slot, tries;

	for (tries = 0; tries < 64; tries++) {
		if ((fd = net_accept(lfd, peer, &len)) == -1) {
			*pause = serve_accept_failed(l, lfd, errno, spare, st);
			return -1;
		}
		serve_count(st, STAT_ACCEPTED, 1);
		if (limits == NULL)
			return fd;
		slot = limit_admit(limits, peer, util_now_ms(), self);
		if (slot != LIMIT_REFUSED && fd < nfdslot) {
			fdslot[fd] = slot;
			return fd;
		}
		limit_release(limits, slot);
		/* Over a limit: closed at once, never queued. */
		serve_count(st, STAT_LIMITED, 1);
		close(fd);
	}
	*pause = 0;
	return -1;
}

void
serve_close(int fd)
{
	if (limits != NULL && fd < nfdslot && fdslot[fd] != LIMIT_REFUSED) {
		limit_release(limits, fdslot[fd]);
		fdslot[fd] = LIMIT_REFUSED;
	}
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
	serve_count(st, l->type == SOCK_STREAM ? STAT_TCP : STAT_UDP, 1);
	serve_count(st, STAT_STAMP + l->proto, 1);
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
serve_stream(const struct server *srv, const struct listener *l, int fd,
    const struct sockaddr_storage *peer, struct serve_hdr *hdr,
    struct stats *st)
{
	struct sockaddr_storage	 real;
	char			 buf[STAMP_REPLY_MAX], addr[NET_ADDRSTRLEN];
	ssize_t			 n;
	int			 len, r;

	if (l->proxy) {
		if ((r = read_header(srv, l, fd, peer, hdr, &real, st)) == 0)
			return SERVE_HEADER;
		if (r == -1) {
			serve_close(fd);
			return SERVE_DONE;
		}
		peer = &real;
	}
	if (srv->verbose)
		log_info("Client:%s", net_addr_str((const void *)peer, addr,
		    sizeof addr));
	if ((len = serve_reply(l->proto, buf, sizeof buf)) == -1) {
		serve_count(st, STAT_ERRORS, 1);
		serve_close(fd);
		return SERVE_DONE;
	}
	/* MSG_MORE: the reply waits for the FIN, and both leave as one. */
	n = net_send(fd, buf, (size_t)len, MSG_MORE);
	if (n == len)
		count_reply(l, st);
	else if (n >= 0)
		serve_count(st, STAT_SHORT, 1);
	else {
		count_failure(l, errno, st);
		serve_close(fd);
		return SERVE_DONE;
	}
	if ((r = net_finish(fd)) == 0)
		return SERVE_DRAIN;
	if (r == -1 && errno != ENOTCONN && errno != ECONNRESET)
		count_failure(l, errno, st);
	serve_close(fd);
	return SERVE_DONE;
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
    int fd, const struct sockaddr_storage *peer, struct stats *st)
{
	struct serve_hdr hdr;
	long long	 deadline = util_now_ms() + srv->linger_ms;
	int		 left, next;

	hdr.len = 0;
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

static pthread_key_t	 bucket_key;
static pthread_once_t	 bucket_once = PTHREAD_ONCE_INIT;

static void
bucket_key_make(void)
{
	/* A worker thread that ends takes its table with it. */
	pthread_key_create(&bucket_key, free);
}

static struct bucket *
new_buckets(void)
{
	struct bucket	*b;

	pthread_once(&bucket_once, bucket_key_make);
	if ((b = calloc(BUCKETS, sizeof *b)) != NULL)
		pthread_setspecific(bucket_key, b);
	return b;
}

/* Whether a reply may go to from now; counts what it refuses. */
static int
may_reply(const struct server *srv, const struct listener *l,
    const struct sockaddr_storage *from, long long now, struct stats *st)
{
	struct bucket	*b;
	uint64_t	 key, h;
	int		 port, loopback;

	port = net_addr_port((const struct sockaddr *)from);
	if (port == 0 || port == STAMP_PORT || port == STAMP_TIME_PORT ||
	    port == STAMP_DAYTIME_PORT ||
	    port == net_addr_port((const struct sockaddr *)&l->addr)) {
		serve_count(st, STAT_DROPPED, 1);
		return 0;
	}
	if (srv->udp_rate == 0)
		return 1;
	key = net_source_key(from, &loopback);
	/* A forged packet cannot come from loopback: no one to reflect at. */
	if (loopback && !srv->limit_loopback)
		return 1;
	if (buckets == NULL && (buckets = new_buckets()) == NULL)
		return 0;
	h = key * 0x9e3779b97f4a7c15ULL;
	b = &buckets[h >> 52 & (BUCKETS - 1)];
	if (b->key != key) {
		b->key = key;
		b->milli = srv->udp_rate * 1000LL;
	} else {
		b->milli += (now - b->last_ms) * srv->udp_rate;
		if (b->milli > srv->udp_rate * 1000LL)
			b->milli = srv->udp_rate * 1000LL;
	}
	b->last_ms = now;
	if (b->milli < 1000) {
		serve_count(st, STAT_LIMITED, 1);
		return 0;
	}
	b->milli -= 1000;
	return 1;
}

int
serve_datagrams(const struct server *srv, const struct listener *l, int fd,
    int max, struct stats *st)
{
	struct mmsghdr		 in[DGRAM_BATCH], out[DGRAM_BATCH];
	struct sockaddr_storage	 from[DGRAM_BATCH];
	struct iovec		 iin[DGRAM_BATCH], reply;
	char			 junk[DGRAM_BATCH][8], buf[STAMP_REPLY_MAX];
	char			 addr[NET_ADDRSTRLEN];
	long long		 now;
	int			 i, n, m, len, sent, done = 0;

	while (done < max) {
		m = max - done < DGRAM_BATCH ? max - done : DGRAM_BATCH;
		for (i = 0; i < m; i++) {
			/* The request's bytes are never needed: keep few. */
			iin[i].iov_base = junk[i];
			iin[i].iov_len = sizeof junk[i];
			memset(&in[i].msg_hdr, 0, sizeof in[i].msg_hdr);
			in[i].msg_hdr.msg_name = &from[i];
			in[i].msg_hdr.msg_namelen = sizeof from[i];
			in[i].msg_hdr.msg_iov = &iin[i];
			in[i].msg_hdr.msg_iovlen = 1;
		}
		if ((n = net_recvmmsg(fd, in, (unsigned)m)) <= 0)
			break;
		if ((len = serve_reply(l->proto, buf, sizeof buf)) == -1) {
			serve_count(st, STAT_ERRORS, (unsigned)n);
			break;
		}
		reply.iov_base = buf;
		reply.iov_len = (size_t)len;
		now = util_now_ms();
		for (i = m = 0; i < n; i++) {
			if (!may_reply(srv, l, &from[i], now, st))
				continue;
			if (srv->verbose)
				log_info("Client:%s", net_addr_str(
				    (const void *)&from[i], addr, sizeof addr));
			memset(&out[m].msg_hdr, 0, sizeof out[m].msg_hdr);
			out[m].msg_hdr.msg_name = &from[i];
			out[m].msg_hdr.msg_namelen = in[i].msg_hdr.msg_namelen;
			out[m].msg_hdr.msg_iov = &reply;
			out[m].msg_hdr.msg_iovlen = 1;
			m++;
		}
		if (m > 0 && (sent = net_sendmmsg(fd, out, (unsigned)m)) == -1)
			count_failure(l, errno, st);
		else if (m > 0) {
			for (i = 0; i < sent; i++)
				count_reply(l, st);
			/* A full send buffer: those replies are dropped. */
			serve_count(st, STAT_SHORT, (unsigned)(m - sent));
		}
		done += n;
		if (n < DGRAM_BATCH)
			break;
	}
	return done;
}

void
serve_datagram_to(const struct server *srv, const struct listener *l, int fd,
    const struct sockaddr_storage *from, socklen_t fromlen,
    struct stats *st)
{
	char	 buf[STAMP_REPLY_MAX], addr[NET_ADDRSTRLEN];
	int	 len;

	(void)fromlen;
	if (!may_reply(srv, l, from, util_now_ms(), st))
		return;
	if (srv->verbose)
		log_info("Client:%s", net_addr_str((const void *)from, addr,
		    sizeof addr));
	if ((len = serve_reply(l->proto, buf, sizeof buf)) == -1)
		serve_count(st, STAT_ERRORS, 1);
	else if (net_sendto(fd, buf, (size_t)len,
	    (const struct sockaddr *)from, fromlen) == len)
		count_reply(l, st);
	else
		count_failure(l, errno, st);
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
