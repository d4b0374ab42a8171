/*
 * hostile: the clients a time server meets on a bad day, for the soak.
 *
 * A few threads take turns through a table of scenes until the time is
 * up: clients that read nothing, send a megabyte or a byte at a time,
 * half-close, reset at every step of the way, hold two hundred
 * connections at once, or spray datagrams of junk.  The scenes played by
 * a well-formed client (one that only sends what the server ignores)
 * check what they get: a whole, valid reply of the protocol, within
 * SKEW_S of our clock, or a clean refusal (EOF or a reset before any byte,
 * or a refused connect).  Anything else, a cut or malformed reply, is bad;
 * a client that waits past its timeout for the end of a reply has timed
 * out.  Not installed, not for use against anyone's server but our own.
 *
 *	hostile [-q] [-c threads] [-d seconds] [-P protocol] [-T ms]
 *	    address tcp-port [udp-port]
 *
 * Prints a line per scene and one "HOSTILE runs=... ok=... refused=...
 * bad=... timeout=... lost=..." line, and exits 0, or 3 when a reply was
 * bad, or 1 when a client timed out or the program itself failed.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"
#include "util.h"
#include "wire.h"

#define SKEW_S		5		/* between its clock and ours */
#define REPLY_CAP	128		/* a longer reply is a bad one */
#define BIG		(1024 * 1024)	/* what the big sender sends */
#define CHUNK		16384
#define SLOW_MS		100		/* the slow sender's pace */
#define SLOW_FOR_MS	2000
#define IDLE_MS		2000		/* how long idle clients hold on */
#define NHOLD		200		/* connections held at once */
#define NJUNK		64		/* datagrams of junk a scene */
#define DGRAM_MAX	1472		/* one Ethernet frame's worth */
#define MAXTHREADS	64

/* What became of a well-formed client. */
enum outcome { O_OK, O_REFUSED, O_BAD, O_TIMEOUT, O_N };

struct scene {
	const char	*name;
	int		 checked;	/* a well-formed client's outcome */
	int		 udp;		/* needs the UDP port */
	void		(*play)(struct scene *, uint64_t *);
	_Atomic unsigned long long runs, n[O_N];
};

static struct sockaddr_storage	 tcp_addr, udp_addr;
static socklen_t		 tcp_len, udp_len;
static int			 have_udp, proto = STAMP_PROTO_STAMP;
static int			 timeout_ms = 5000;
static long long		 t_end;
static const char		*first_bad;
static pthread_mutex_t		 bad_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic unsigned long long next_scene, lost;
static _Atomic int		 failed;

static long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
ms_left(long long deadline)
{
	long long	 left = deadline - now_ms();

	return left < 0 ? 0 : (int)left;
}

static void
nap(int ms)
{
	struct timespec	 ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* xorshift64*: each thread its own, no locks. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static void
count(struct scene *sc, enum outcome o)
{
	atomic_fetch_add(&sc->n[o], 1);
}

static void
remember_bad(const char *why)
{
	pthread_mutex_lock(&bad_lock);
	if (first_bad == NULL)
		first_bad = why;
	pthread_mutex_unlock(&bad_lock);
}

/* Whether buf[0..len) is a whole reply of proto, near our clock. */
static enum outcome
judge(const char *buf, size_t len)
{
	const char	*why;
	long long	 t, now = (long long)time(NULL);

	if (wire_decode(proto, buf, len, &t, &why) == -1) {
		remember_bad(why);
		return O_BAD;
	}
	if (t < now - SKEW_S || t > now + SKEW_S) {
		remember_bad("time more than 5 s away from ours");
		return O_BAD;
	}
	return O_OK;
}

/* A non-blocking socket, connecting to the TCP port; -1 if none. */
static int
dial(void)
{
	int	 fd;

	fd = socket(tcp_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		warn("socket");
		failed = 1;
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&tcp_addr, tcp_len) == -1 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -2;		/* refused at once: no server */
	}
	return fd;
}

/* Close with a reset: SO_LINGER of zero seconds. */
static void
reset_close(int fd)
{
	struct linger	 lg = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(fd);
}

/* Wait for events on fd until deadline: 1, or 0 at the deadline. */
static int
await(int fd, short events, long long deadline)
{
	struct pollfd	 pfd = { fd, events, 0 };
	int		 r;

	while ((r = poll(&pfd, 1, ms_left(deadline))) == -1 && errno == EINTR)
		;
	return r == 1;
}

/*
 * A well-formed client's exchange: connect, maybe half-close, send
 * `total` bytes of junk `chunk` at a time every `every` ms (0: as fast as
 * the socket takes them), and read the reply to its end.
 */
static enum outcome
exchange(int shut, size_t total, size_t chunk, int every)
{
	static const char	 junk[CHUNK] = { 'j' };
	struct pollfd		 pfd;
	long long		 deadline = now_ms() + timeout_ms, tick;
	socklen_t		 len = sizeof(int);
	char			 buf[REPLY_CAP];
	size_t			 got = 0, sent = 0;
	ssize_t			 n;
	int			 fd, e = 0, sending = total > 0, wait;

	if ((fd = dial()) < 0)
		return fd == -2 ? O_REFUSED : O_BAD;
	if (!await(fd, POLLOUT, deadline)) {
		close(fd);
		return O_TIMEOUT;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1 || e != 0) {
		close(fd);
		return O_REFUSED;
	}
	if (shut && shutdown(fd, SHUT_WR) == -1) {
		close(fd);
		return O_REFUSED;
	}
	tick = now_ms();
	pfd.fd = fd;
	for (;;) {
		if (now_ms() >= deadline) {
			close(fd);
			return O_TIMEOUT;
		}
		pfd.events = POLLIN;
		wait = ms_left(deadline);
		if (sending && every == 0)
			pfd.events |= POLLOUT;
		else if (sending && (wait = (int)(tick - now_ms())) < 0)
			wait = 0;
		if (poll(&pfd, 1, wait) == -1 && errno != EINTR)
			err(1, "poll");
		if (sending && (every == 0 ? (pfd.revents & POLLOUT) != 0 :
		    now_ms() >= tick)) {
			n = send(fd, junk, total - sent < chunk ? total - sent :
			    chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
			/* The server may stop reading, and close: its right. */
			if (n == -1 && errno != EAGAIN && errno != EINTR)
				sending = 0;
			else if (n > 0 && (sent += (size_t)n) >= total)
				sending = 0;
			tick = now_ms() + every;
		}
		if (!(pfd.revents & (POLLIN | POLLERR | POLLHUP)))
			continue;
		n = recv(fd, buf + got, sizeof buf - got, MSG_DONTWAIT);
		if (n > 0 && (got += (size_t)n) < sizeof buf)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		break;	/* EOF, an error, or far too much */
	}
	e = n == -1 ? errno : 0;
	close(fd);
	if (got == 0)
		return e == 0 || e == ECONNRESET || e == ECONNREFUSED ?
		    O_REFUSED : O_BAD;
	/* A reset after the whole reply loses nothing of it. */
	return got == sizeof buf ? O_BAD : judge(buf, got);
}

static void
play_plain(struct scene *sc, uint64_t *seed)
{
	(void)seed;
	count(sc, exchange(0, 0, 0, 0));
}

static void
play_half_close(struct scene *sc, uint64_t *seed)
{
	(void)seed;
	count(sc, exchange(1, 0, 0, 0));
}

static void
play_big_sender(struct scene *sc, uint64_t *seed)
{
	(void)seed;
	count(sc, exchange(0, BIG, CHUNK, 0));
}

static void
play_slow_sender(struct scene *sc, uint64_t *seed)
{
	(void)seed;
	count(sc, exchange(0, SLOW_FOR_MS / SLOW_MS, 1, SLOW_MS));
}

/* Connect, never read, hold on, and go (sometimes with a reset). */
static void
play_never_read(struct scene *sc, uint64_t *seed)
{
	int	 fd;

	if ((fd = dial()) < 0)
		return;
	nap(IDLE_MS);
	if (rnd(seed) & 1)
		reset_close(fd);
	else
		close(fd);
	(void)sc;
}

/* Reset at once: in the handshake, or just after it. */
static void
play_reset(struct scene *sc, uint64_t *seed)
{
	long long	 deadline = now_ms() + timeout_ms;
	int		 fd;

	if ((fd = dial()) < 0)
		return;
	if (rnd(seed) & 1)
		await(fd, POLLOUT, deadline);
	reset_close(fd);
	(void)sc;
}

/* Read one byte of the reply, then reset. */
static void
play_reset_after_byte(struct scene *sc, uint64_t *seed)
{
	long long	 deadline = now_ms() + timeout_ms;
	char		 c;
	int		 fd;

	(void)seed;
	if ((fd = dial()) < 0)
		return;
	if (await(fd, POLLIN, deadline))
		(void)recv(fd, &c, 1, MSG_DONTWAIT);
	reset_close(fd);
	(void)sc;
}

/* NHOLD connections at once, held unread, then dropped. */
static void
play_hold_many(struct scene *sc, uint64_t *seed)
{
	int	 fds[NHOLD], i;

	for (i = 0; i < NHOLD; i++)
		fds[i] = dial();
	nap(IDLE_MS);
	for (i = 0; i < NHOLD; i++) {
		if (fds[i] < 0)
			continue;
		if (rnd(seed) % 4 == 0)
			reset_close(fds[i]);
		else
			close(fds[i]);
	}
	(void)sc;
}

/* NJUNK datagrams of random bytes and sizes; every reply is checked. */
static void
play_udp_junk(struct scene *sc, uint64_t *seed)
{
	static _Thread_local char	 junk[DGRAM_MAX];
	char				 buf[REPLY_CAP];
	long long			 deadline;
	ssize_t				 n;
	size_t				 i;
	int				 fd, sent = 0, got = 0;

	for (i = 0; i < sizeof junk; i++)
		junk[i] = (char)rnd(seed);
	fd = socket(udp_addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&udp_addr,
	    udp_len) == -1) {
		warn("udp socket");
		failed = 1;
		if (fd != -1)
			close(fd);
		return;
	}
	for (i = 0; i < NJUNK; i++)
		if (send(fd, junk, rnd(seed) % (DGRAM_MAX + 1),
		    MSG_NOSIGNAL | MSG_DONTWAIT) >= 0)
			sent++;
	deadline = now_ms() + timeout_ms / 5;
	while (got < sent && await(fd, POLLIN, deadline)) {
		n = recv(fd, buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC);
		if (n == -1)
			continue;
		got++;
		count(sc, (size_t)n > sizeof buf ? O_BAD :
		    judge(buf, (size_t)n));
	}
	close(fd);
	/* Datagrams may be lost under load: counted, not bad. */
	atomic_fetch_add(&lost, (unsigned long long)(sent - got));
}

static struct scene scenes[] = {
	{ "plain",		1, 0, play_plain, 0, { 0 } },
	{ "half-close",		1, 0, play_half_close, 0, { 0 } },
	{ "big-sender",		1, 0, play_big_sender, 0, { 0 } },
	{ "slow-sender",	1, 0, play_slow_sender, 0, { 0 } },
	{ "never-read",		0, 0, play_never_read, 0, { 0 } },
	{ "reset",		0, 0, play_reset, 0, { 0 } },
	{ "reset-after-byte",	0, 0, play_reset_after_byte, 0, { 0 } },
	{ "hold-many",		0, 0, play_hold_many, 0, { 0 } },
	{ "udp-junk",		1, 1, play_udp_junk, 0, { 0 } },
};
#define NSCENES	(sizeof scenes / sizeof scenes[0])

static void *
actor(void *arg)
{
	struct scene	*sc;
	uint64_t	 seed;

	seed = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ULL;
	seed = (seed ^ (uint64_t)now_ms()) | 1;
	while (now_ms() < t_end && !failed) {
		sc = &scenes[atomic_fetch_add(&next_scene, 1) % NSCENES];
		if (sc->udp && !have_udp)
			continue;
		sc->play(sc, &seed);
		atomic_fetch_add(&sc->runs, 1);
	}
	return NULL;
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: hostile [-q] [-c threads] [-d seconds] "
	    "[-P protocol] [-T ms]\n"
	    "               address tcp-port [udp-port]\n");
	exit(2);
}

static long long
number(const char *what, const char *arg, long long min, long long max)
{
	const char	*why;
	long long	 v;

	if ((why = util_number(arg, min, max, &v)) != NULL) {
		warnx("%s %s: %s (%lld to %lld)", what, arg, why, min, max);
		usage();
	}
	return v;
}

/* A numeric address and a port into ss; returns its length. */
static socklen_t
address(const char *host, const char *port, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	int			 p = (int)number("port", port, 1, 65535);

	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(p);
		return sizeof *sin;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(p);
		return sizeof *sin6;
	}
	warnx("%s: not a numeric address", host);
	usage();
}

int
main(int argc, char *argv[])
{
	pthread_t		 tids[MAXTHREADS];
	unsigned long long	 runs = 0, sum[O_N] = { 0 }, r, v[O_N];
	const char		*why;
	long long		 secs_ms = 10000;
	size_t			 i;
	int			 ch, nthreads = 4, quiet = 0, k, e;

	while ((ch = getopt(argc, argv, "c:d:P:qT:")) != -1) {
		switch (ch) {
		case 'c':
			nthreads = (int)number("-c", optarg, 1, MAXTHREADS);
			break;
		case 'd':
			if ((why = util_seconds(optarg, 1, 86400000,
			    &secs_ms)) != NULL) {
				warnx("-d %s: %s", optarg, why);
				usage();
			}
			break;
		case 'P':
			if ((proto = wire_proto_find(optarg)) == -1) {
				warnx("-P %s: stamp, time or daytime", optarg);
				usage();
			}
			break;
		case 'q':
			quiet = 1;
			break;
		case 'T':
			timeout_ms = (int)number("-T", optarg, 100, 600000);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2 && argc != 3)
		usage();
	tcp_len = address(argv[0], argv[1], &tcp_addr);
	if ((have_udp = argc == 3))
		udp_len = address(argv[0], argv[2], &udp_addr);
	signal(SIGPIPE, SIG_IGN);

	t_end = now_ms() + secs_ms;
	for (k = 0; k < nthreads; k++)
		if ((e = pthread_create(&tids[k], NULL, actor,
		    (void *)(uintptr_t)(k + 1))) != 0) {
			errno = e;
			err(1, "pthread_create");
		}
	for (k = 0; k < nthreads; k++)
		pthread_join(tids[k], NULL);

	for (i = 0; i < NSCENES; i++) {
		r = atomic_load(&scenes[i].runs);
		runs += r;
		for (k = 0; k < O_N; k++)
			sum[k] += v[k] = atomic_load(&scenes[i].n[k]);
		if (quiet)
			continue;
		if (scenes[i].checked)
			printf("hostile: %-16s runs %llu: ok %llu, "
			    "refused %llu, bad %llu, timeout %llu\n",
			    scenes[i].name, r, v[O_OK], v[O_REFUSED], v[O_BAD],
			    v[O_TIMEOUT]);
		else
			printf("hostile: %-16s runs %llu\n", scenes[i].name, r);
	}
	if (!quiet && first_bad != NULL)
		printf("hostile: first bad reply: %s\n", first_bad);
	printf("HOSTILE runs=%llu ok=%llu refused=%llu bad=%llu timeout=%llu "
	    "lost=%llu\n", runs, sum[O_OK], sum[O_REFUSED], sum[O_BAD],
	    sum[O_TIMEOUT], (unsigned long long)atomic_load(&lost));
	if (fflush(stdout) == EOF)
		err(1, "stdout");
	if (sum[O_BAD] > 0)
		return 3;
	return sum[O_TIMEOUT] > 0 || failed ? 1 : 0;
}
