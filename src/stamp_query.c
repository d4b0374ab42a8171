/*
 * stamp_query.c: the client's exchange with one server: the deadline, the
 * name resolved in a thread that the deadline may abandon, the TCP read and
 * the UDP ask with its resends.  It never prints and never exits; see
 * stamp_query.h.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net.h"
#include "stamp_query.h"

/*
 * getaddrinfo cannot be given a deadline, so it runs in a thread of its
 * own and the caller waits for it at most until the deadline.  When that
 * passes the thread is abandoned, still blocked, and dies with the
 * process; that is why what it fills in is static rather than on the
 * caller's stack.
 */
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

void
stamp_query_deadline(struct timespec *ts, clockid_t clock, long long ms)
{
	clock_gettime(clock, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += ms % 1000 * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

long long
stamp_query_left(const struct timespec *deadline)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (deadline->tv_sec - now.tv_sec) * 1000LL +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

static void *
resolver(void *arg)
{
	struct stamp_query	*q = arg;
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

int
stamp_query_resolve(struct stamp_query *q)
{
	pthread_t	 tid;
	pthread_attr_t	 attr;
	struct timespec	 until;
	long long	 left;
	int		 e, gai;

	/*
	 * A second resolution (-P nts: the NTP server after the key
	 * establishment's) starts afresh; the first is over by now, or the
	 * deadline passed and the program has ended.
	 */
	pthread_mutex_lock(&rs.mu);
	rs.done = 0;
	pthread_mutex_unlock(&rs.mu);
	if ((e = pthread_attr_init(&attr)) != 0 ||
	    (e = pthread_attr_setdetachstate(&attr,
	    PTHREAD_CREATE_DETACHED)) != 0 ||
	    (e = pthread_create(&tid, &attr, resolver, q)) != 0) {
		errno = e;
		return EAI_SYSTEM;
	}
	pthread_attr_destroy(&attr);

	/* The condition variable's clock is CLOCK_REALTIME: convert. */
	left = stamp_query_left(&q->deadline);
	stamp_query_deadline(&until, CLOCK_REALTIME, left);
	pthread_mutex_lock(&rs.mu);
	while (!rs.done && stamp_query_left(&q->deadline) > 0)
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

/* We never send: none of the protocols wants it. */
int
stamp_query_tcp(struct stamp_query *q)
{
	struct sockaddr_storage	 from;
	socklen_t		 fromlen;
	long long		 left;
	ssize_t			 n;
	int			 fd, r;

	if ((left = stamp_query_left(&q->deadline)) <= 0) {
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
		if ((left = stamp_query_left(&q->deadline)) <= 0) {
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

int
stamp_query_recv(int fd, void *buf, size_t size,
    struct sockaddr_storage *from, void *ctl, size_t ctllen,
    struct mmsghdr *m)
{
	struct iovec	 iov = { .iov_base = buf, .iov_len = size };
	int		 r;

	memset(m, 0, sizeof *m);
	m->msg_hdr.msg_name = from;
	m->msg_hdr.msg_namelen = from != NULL ? sizeof *from : 0;
	m->msg_hdr.msg_iov = &iov;
	m->msg_hdr.msg_iovlen = 1;
	m->msg_hdr.msg_control = ctl;
	m->msg_hdr.msg_controllen = ctllen;
	r = net_recvmmsg(fd, m, 1);
	m->msg_hdr.msg_iov = NULL;
	m->msg_hdr.msg_iovlen = 0;
	return r;
}

/*
 * Receive the reply to a request hook's datagram (NTP's) into q, with the
 * time the kernel took it in (SO_TIMESTAMPNS) as its arrival, t4: our own
 * clock read after the call would add this process's wake-up to the round
 * trip.  Without that timestamp in the control data, our reading stands.
 * A datagram longer than q->reply fills it, one byte more than
 * STAMP_QUERY_LIMIT, and so is too long.  Returns 1, 0 when none was
 * waiting, or -1 and errno.
 */
static int
recv_stamped(int fd, struct stamp_query *q)
{
	struct mmsghdr	 m;
	union {
		struct cmsghdr	 align;
		char		 buf[CMSG_SPACE(sizeof(struct timespec))];
	}		 ctl;
	int		 r;

	if ((r = stamp_query_recv(fd, q->reply, sizeof q->reply, NULL,
	    ctl.buf, sizeof ctl.buf, &m)) <= 0)
		return r;
	clock_gettime(CLOCK_REALTIME, &q->got);
	q->len = m.msg_len;
	(void)net_dgram_rxtime(&m.msg_hdr, &q->got);
	return 1;
}

/*
 * Connected, so that only the server can answer and its ICMP port
 * unreachable comes back to us as ECONNREFUSED.
 */
int
stamp_query_udp(struct stamp_query *q)
{
	struct sockaddr_storage	 from;
	socklen_t		 fromlen;
	struct timespec		 tryend;
	long long		 left, share;
	ssize_t			 n;
	int			 fd, r, try;

	if ((left = stamp_query_left(&q->deadline)) <= 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	share = left / (q->retries + 1);
	if (share < 1)
		share = 1;
	if ((fd = net_connect((struct sockaddr *)&q->addr, q->addrlen,
	    SOCK_DGRAM, (int)left)) == -1)
		return -1;
	if (q->request != NULL &&
	    net_setopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1) == -1)
		goto fail;
	for (try = 0; try <= q->retries; try++) {
		if ((left = stamp_query_left(&q->deadline)) <= 0)
			break;
		if (try < q->retries && share < left)
			left = share;
		stamp_query_deadline(&tryend, CLOCK_MONOTONIC, left);
		if (q->request != NULL) {
			if (q->request(fd, q) == -1)
				goto fail;
		} else {
			clock_gettime(CLOCK_REALTIME, &q->sent);
			if (net_sendto(fd, "", 0, NULL, 0) == -1)
				goto fail;
		}
		while ((left = stamp_query_left(&tryend)) > 0) {
			if ((r = net_wait(fd, POLLIN, (int)left)) == -1)
				goto fail;
			if (r == 0)
				break;
			if (q->request != NULL) {
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
