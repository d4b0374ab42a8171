/*
 * announce.c: send the time to a group or a broadcast address, unasked,
 * on whole multiples of the period, from a thread of its own.
 *
 * The schedule is an absolute timer on the real-time clock, so that the
 * announcements stay on the grid however late the thread wakes: a relative
 * sleep would add each wake-up's lateness to every later announcement.
 * Once running, no failure stops the thread: a send that fails (no route,
 * an interface gone down) is counted and logged, rate-limited.
 */
#include <sys/types.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "announce.h"
#include "log.h"
#include "net.h"
#include "proto.h"
#include "stats.h"
#include "wire.h"

void
announce_init(struct announce *a)
{
	memset(a, 0, sizeof *a);
	a->every_ms = ANNOUNCE_EVERY_MS;
	a->ttl = ANNOUNCE_TTL;
	a->timerfd = a->stopfd = -1;
}

const char *
announce_parse(const char *text, struct announce_target *t)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	const char			*why;
	char				 addr[NET_ADDRSTRLEN];

	memset(t, 0, sizeof *t);
	t->fd = -1;
	if ((why = net_parse_spec(text, &t->spec)) != NULL)
		return why;
	if (t->spec.type != SOCK_DGRAM)
		return "--announce needs udp: a stream has one peer only";
	/* NTP's broadcast mode needs a client that asked for it: not ours. */
	if (t->spec.proto == STAMP_PROTO_NTP)
		return "ntp is asked for, never announced";
	if (t->spec.any)
		return "want one address to send to, not *";
	if (net_addr_port((const struct sockaddr *)&t->spec.addr) == 0)
		return "port 0 cannot be sent to";
	if (t->spec.addr.ss_family == AF_INET) {
		sin = (const struct sockaddr_in *)&t->spec.addr;
		if (sin->sin_addr.s_addr == htonl(INADDR_ANY))
			return "0.0.0.0 is no address to send to";
		t->kind = IN_MULTICAST(ntohl(sin->sin_addr.s_addr)) ?
		    ANNOUNCE_MULTICAST : ANNOUNCE_BROADCAST;
	} else {
		sin6 = (const struct sockaddr_in6 *)&t->spec.addr;
		if (IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
			return ":: is no address to send to";
		t->kind = IN6_IS_ADDR_MULTICAST(&sin6->sin6_addr) ?
		    ANNOUNCE_MULTICAST : ANNOUNCE_UNICAST;
	}
	net_addr_str((const struct sockaddr *)&t->spec.addr, addr,
	    sizeof addr);
	snprintf(t->name, sizeof t->name, "udp %s %s", addr,
	    wire_proto_name(t->spec.proto));
	return NULL;
}

long long
announce_next(long long now_ms, long long every_ms)
{
	long long	 q = now_ms / every_ms;

	/* Division truncates toward zero; the grid does not (before 1970). */
	if (now_ms < 0 && q * every_ms != now_ms)
		q--;
	return (q + 1) * every_ms;
}

char *
announce_describe(const struct announce *a, size_t i, char *buf, size_t len)
{
	const struct announce_target	*t = &a->t[i];
	char				 every[32], ttl[16] = "", via[48] = "";
	long long			 ms = a->every_ms % 1000;
	size_t				 n;

	snprintf(every, sizeof every, "%lld", a->every_ms / 1000);
	if (ms != 0) {
		n = strlen(every);
		snprintf(every + n, sizeof every - n, ".%03lld", ms);
		/* 1.500 reads better as 1.5. */
		for (n = strlen(every); every[n - 1] == '0'; n--)
			every[n - 1] = '\0';
	}
	if (t->kind == ANNOUNCE_MULTICAST)
		snprintf(ttl, sizeof ttl, ", ttl %d", a->ttl);
	if (a->ifname != NULL)
		snprintf(via, sizeof via, ", via %s", a->ifname);
	snprintf(buf, len, "%s every %ss%s%s", t->name, every, ttl, via);
	return buf;
}

static int
setint(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof value);
}

/* The options of one target's socket, as the target and a ask. */
static int
options(const struct announce *a, struct announce_target *t)
{
	struct ip_mreqn		 mreq;
	struct sockaddr_in6	*sin6;

	if (t->spec.addr.ss_family == AF_INET) {
		if (t->kind == ANNOUNCE_BROADCAST) {
			/*
			 * Without SO_BROADCAST, Linux refuses to send to a
			 * broadcast address (EACCES); with it, a unicast
			 * address works as before.  IP_UNICAST_IF takes the
			 * index in network byte order.
			 */
			if (setint(t->fd, SOL_SOCKET, SO_BROADCAST, 1) == -1)
				return -1;
			return a->ifindex == 0 ? 0 : setint(t->fd,
			    IPPROTO_IP, IP_UNICAST_IF, (int)htonl(a->ifindex));
		}
		if (setint(t->fd, IPPROTO_IP, IP_MULTICAST_TTL, a->ttl) == -1 ||
		    setint(t->fd, IPPROTO_IP, IP_MULTICAST_LOOP, 1) == -1)
			return -1;
		if (a->ifindex == 0)
			return 0;
		memset(&mreq, 0, sizeof mreq);
		mreq.imr_ifindex = (int)a->ifindex;
		return setsockopt(t->fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq,
		    sizeof mreq);
	}
	if (t->kind == ANNOUNCE_UNICAST)
		return a->ifindex == 0 ? 0 : setint(t->fd, IPPROTO_IPV6,
		    IPV6_UNICAST_IF, (int)htonl(a->ifindex));
	if (setint(t->fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, a->ttl) == -1 ||
	    setint(t->fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 1) == -1)
		return -1;
	if (a->ifindex == 0)
		return 0;
	/* A link-scope group (ff02::1) means nothing without its link. */
	sin6 = (struct sockaddr_in6 *)&t->spec.addr;
	if (IN6_IS_ADDR_MC_LINKLOCAL(&sin6->sin6_addr) ||
	    IN6_IS_ADDR_MC_NODELOCAL(&sin6->sin6_addr))
		sin6->sin6_scope_id = a->ifindex;
	return setint(t->fd, IPPROTO_IPV6, IPV6_MULTICAST_IF,
	    (int)a->ifindex);
}

static void
close_all(struct announce *a)
{
	int	 saved = errno;
	size_t	 i;

	for (i = 0; i < a->n; i++)
		if (a->t[i].fd != -1) {
			close(a->t[i].fd);
			a->t[i].fd = -1;
		}
	if (a->timerfd != -1)
		close(a->timerfd);
	if (a->stopfd != -1)
		close(a->stopfd);
	a->timerfd = a->stopfd = -1;
	errno = saved;
}

int
announce_open(struct announce *a, size_t *bad)
{
	struct net_spec		 any;
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	size_t			 i;

	for (i = 0; i < a->n; i++) {
		/*
		 * A sending socket is bound to the wildcard address and an
		 * ephemeral port, as the kernel would bind it on the first
		 * send; net_listen is what makes sockets here.
		 */
		memset(&any, 0, sizeof any);
		any.type = SOCK_DGRAM;
		if (a->t[i].spec.addr.ss_family == AF_INET) {
			sin = (struct sockaddr_in *)&any.addr;
			sin->sin_family = AF_INET;
			sin->sin_addr.s_addr = htonl(INADDR_ANY);
			any.addrlen = sizeof *sin;
		} else {
			sin6 = (struct sockaddr_in6 *)&any.addr;
			sin6->sin6_family = AF_INET6;
			sin6->sin6_addr = in6addr_any;
			any.addrlen = sizeof *sin6;
		}
		if ((a->t[i].fd = net_listen(&any, 0, 0, NULL, NULL)) == -1 ||
		    options(a, &a->t[i]) == -1) {
			*bad = i;
			close_all(a);
			return -1;
		}
	}
	*bad = a->n;
	/*
	 * CANCEL_ON_SET: when the clock is stepped, the timer's next expiry
	 * would stay where the old clock put it (an hour away, after a step
	 * back of an hour); we are told instead, and arm it afresh.
	 */
	if ((a->timerfd = timerfd_create(CLOCK_REALTIME,
	    TFD_NONBLOCK | TFD_CLOEXEC)) == -1 ||
	    (a->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		close_all(a);
		return -1;
	}
	return 0;
}

/* Arm the timer at the next multiple of the period, then every period. */
static int
arm(const struct announce *a)
{
	struct itimerspec	 its;
	struct timespec		 now;
	long long		 next;

	if (clock_gettime(CLOCK_REALTIME, &now) == -1)
		return -1;
	next = announce_next((long long)now.tv_sec * 1000 +
	    now.tv_nsec / 1000000, a->every_ms);
	its.it_value.tv_sec = next / 1000;
	its.it_value.tv_nsec = next % 1000 * 1000000;
	its.it_interval.tv_sec = a->every_ms / 1000;
	its.it_interval.tv_nsec = a->every_ms % 1000 * 1000000;
	return timerfd_settime(a->timerfd,
	    TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL);
}

static void
send_all(struct announce *a)
{
	struct announce_target	*t;
	struct timespec		 now;
	char			 buf[STAMP_REPLY_MAX];
	size_t			 i;
	int			 len;

	/*
	 * Not serve_reply: its coarse clock lags by up to a tick, and the
	 * timer fires at the very start of a second, so it would still say
	 * the second before.  The bytes are those serve_reply makes of the
	 * same second, as both come from wire_encode.
	 */
	clock_gettime(CLOCK_REALTIME, &now);
	for (i = 0; i < a->n; i++) {
		t = &a->t[i];
		len = wire_encode(t->spec.proto, (long long)now.tv_sec, buf,
		    sizeof buf);
		if (len == -1) {
			t->failed++;
			stats_announced(t->kind, 0);
			errno = EOVERFLOW;
			log_limited("announce %s", t->name);
			continue;
		}
		if (net_sendto(t->fd, buf, (size_t)len,
		    (const struct sockaddr *)&t->spec.addr,
		    t->spec.addrlen) == len) {
			t->sent++;
			stats_announced(t->kind, 1);
		} else {
			t->failed++;
			stats_announced(t->kind, 0);
			log_limited("announce %s", t->name);
		}
	}
}

/*
 * Every signal is blocked in this thread, so no read or poll here sees
 * EINTR; the descriptors are non-blocking, so none of them can hang it.
 */
static void *
announcer(void *arg)
{
	struct announce	*a = arg;
	struct pollfd	 pfd[2];
	uint64_t	 ticks;
	ssize_t		 n;

	pfd[0].fd = a->timerfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = a->stopfd;
	pfd[1].events = POLLIN;
	for (;;) {
		if (net_poll(pfd, 2, -1) == -1) {
			log_limited("announce: poll");
			/* ENOMEM, the only one left, passes; do not spin. */
			sleep(1);
			continue;
		}
		if (pfd[1].revents != 0)
			break;
		if (pfd[0].revents == 0)
			continue;
		n = read(a->timerfd, &ticks, sizeof ticks);
		if (n == -1 && errno == ECANCELED) {
			if (arm(a) == -1)
				log_limited("announce: timer");
			continue;
		}
		if (n != (ssize_t)sizeof ticks)
			continue;
		/* Late by whole periods: say the time now, once. */
		if (ticks > 1)
			a->missed += ticks - 1;
		send_all(a);
	}
	return NULL;
}

int
announce_start(struct announce *a)
{
	sigset_t	 all, old;
	int		 e;

	if (arm(a) == -1)
		return -1;
	sigfillset(&all);
	if ((e = pthread_sigmask(SIG_SETMASK, &all, &old)) != 0) {
		errno = e;
		return -1;
	}
	e = pthread_create(&a->tid, NULL, announcer, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		errno = e;
		return -1;
	}
	a->running = 1;
	a->pid = getpid();
	return 0;
}

void
announce_stop(struct announce *a)
{
	uint64_t	 one = 1;
	size_t		 i;

	/*
	 * A child of a process model shares the stop descriptor but not the
	 * thread: were it to get here, it must not stop its parent's.
	 */
	if (a->running && a->pid != getpid())
		return;
	if (a->running) {
		/*
		 * An eventfd write of 1 fails only on a bug of ours; then the
		 * thread is left to end with the process, and its descriptors
		 * stay open for it.
		 */
		if (write(a->stopfd, &one, sizeof one) != (ssize_t)sizeof one) {
			log_warn("announce: stop");
			return;
		}
		pthread_join(a->tid, NULL);
		a->running = 0;
		for (i = 0; i < a->n; i++)
			log_info("announced %s: %llu sent, %llu failed",
			    a->t[i].name, a->t[i].sent, a->t[i].failed);
		if (a->missed > 0)
			log_info("announce: %llu periods missed", a->missed);
	}
	close_all(a);
}
