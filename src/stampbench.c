/*
 * stampbench.c: the load generator, as redis-benchmark is to redis.
 *
 * Each worker thread owns a share of the slots, and an io_uring or an
 * epoll instance to wait on.  A slot runs one exchange at a time, again
 * and again: over TCP connect, read the reply to EOF and close; over UDP
 * send an empty datagram on its connected socket and read one back.
 * Every reply is decoded and its time compared with our clock; the
 * latency of each good one goes into the worker's histogram.  Workers
 * share nothing but the ticket counter of -n and the stop flag, and are
 * merged once, at the end.
 *
 * On two CPUs the client must cost less than the server it measures, or
 * it measures itself; most of a TCP exchange's cost is the kernel's and
 * cannot be helped (over loopback the sender's CPU runs the receiver's
 * half of each packet), but the rest can.  So, over TCP, the connect and
 * the read to EOF go on the ring as one linked pair, the close after
 * them, and one io_uring_enter submits a turn's worth and waits for the
 * next: no epoll_ctl, no epoll_wait, no read, no close of our own, and
 * the kernel completes our requests only when we ask (DEFER_TASKRUN).
 * Over loopback a socket serves REUSE connections (tcp_renew), which
 * spares the making and unmaking of the others.  With --io epoll, or
 * where the kernel has no io_uring, each step is a system call, as
 * before.  Either way the replies of a turn are read and their sockets
 * closed before its new connections are made, together.
 *
 * The hot path allocates nothing and reads the clock twice per exchange;
 * deadlines are kept in one list per worker, oldest first, since every
 * exchange gets the same timeout.  The main thread only waits for signals,
 * prints the progress line and, at the end, the summary.
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "net.h"
#include "opt.h"
#include "proto.h"
#include "ioring.h"
#include "wire.h"

#define PROTO_MSEC	STAMP_NPROTO	/* nginx's "$msec\r\n", ours alone */
#define REPLY_MAX	512		/* a longer reply is a bad one */
#define SKEW_S		5		/* how far off a reply's time may be */
#define TICK_MS		50		/* how often the flags are looked at */
#define MAXEVENTS	256
#define MAXTHREADS	256
#define MAXCONC		65536
#define NSEC		1000000000LL
#define SRC_FIRST	0x7f000001U	/* 127.0.0.1, the first source */
#define REUSE		8		/* loopback: connections a socket */

/* How a worker waits for its TCP exchanges. */
enum io {
	IO_EPOLL,
	IO_URING,
};

/* What a completion on the ring was for: the low bits of its user_data. */
enum ring_op {
	OP_CONNECT = 1,
	OP_RECV,		/* the reply, to EOF */
	OP_CLOSE,		/* only when it failed */
	OP_CANCEL,		/* likewise */
	OP_MASK = 7
};

/* What became of one exchange. */
enum kind {
	K_OK,
	K_BAD,
	K_REFUSED,
	K_TIMEOUT,
	K_RESET,
	K_OTHER,
	K_NKIND
};

/*
 * Latency histogram, in microseconds: one bucket per microsecond below
 * 1024, then 128 buckets per power of two, so a bucket is never wider
 * than 1/128 of its values (0.8%).  The last bucket takes everything
 * from 2^40 us up.
 */
#define H_LINEAR	1024
#define H_LINBITS	10
#define H_SUBBITS	7
#define H_SUB		(1 << H_SUBBITS)
#define H_TOPEXP	40
#define H_NBUCKET	(H_LINEAR + (H_TOPEXP - H_LINBITS) * H_SUB)

struct hist {
	uint64_t	 n[H_NBUCKET];
	uint64_t	 count;
	uint64_t	 sum_ns;
	uint64_t	 min_ns;	/* when count > 0 */
	uint64_t	 max_ns;
};

/*
 * What --histogram and --json show: one bucket per microsecond below
 * D_LINEAR, then D_SUB to an octave, each the sum of whole buckets of the
 * histogram above (a bucket of D_SUB per octave is 2^(H_SUBBITS - 2) of
 * them), up to 2^H_TOPEXP.
 */
#define D_LINEAR	8
#define D_LINBITS	3
#define D_SUBBITS	2
#define D_SUB		(1 << D_SUBBITS)
#define D_NBUCKET	(D_LINEAR + (H_TOPEXP - D_LINBITS) * D_SUB)

struct bench {
	int			 proto;		/* enum stamp_proto or msec */
	int			 type;		/* SOCK_STREAM or SOCK_DGRAM */
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	int			 spread;	/* source addresses; 0: none */
	int			 io;		/* enum io, for TCP */
	int			 loopback;	/* the target is 127/8 or ::1 */
	int64_t			 timeout_ns;
	int64_t			 t0;		/* the start, monotonic ns */
	int64_t			 end;		/* -d: when to stop; else 0 */
	long long		 count;		/* -n; 0 with -d */
	atomic_llong		 issued;	/* tickets taken, for -n */
	atomic_int		 stop;
	atomic_int		 running;	/* workers not yet done */
};

struct slot {
	struct slot	*prev, *next;	/* in flight, oldest first */
	int64_t		 start;		/* monotonic ns */
	int		 fd;
	int		 busy;
	int		 stale;		/* UDP: a late reply may be queued */
	int		 inring;	/* a receive on the ring is ours */
	int		 cerr;		/* the ring's connect failed: errno */
	int		 eof;		/* the server's FIN was read */
	int		 uses;		/* connections made on the socket */
	size_t		 len;
	char		 buf[REPLY_MAX];
};

struct worker {
	struct bench		*b;
	pthread_t		 tid;
	int			 ep;
	int			 nslot;
	struct slot		*slot;
	struct slot		**pend;		/* to start on the next turn */
	int			 npend;
	struct slot		 head;		/* of the in-flight list */
	struct ioring		 ring;		/* IO_URING: once set up */
	int			 ring_ok;
	int			 inring;	/* slots with a receive on it */
	int			 draining;	/* the run is over */
	int			 lost;		/* some were left at the end */
	struct sockaddr_in	 src;
	uint32_t		 nextsrc;
	int64_t			 wall_off;	/* realtime minus monotonic */
	int64_t			 wall_next;
	int64_t			 t_end;
	int			 err;		/* our own failure: errno */
	const char		*errwhere;
	const char		*why;		/* the first bad reply */
	int			 other;		/* the first unexpected errno */
	uint64_t		 kind[K_NKIND];
	_Atomic uint64_t	 pub_ok;	/* for the progress line */
	_Atomic uint64_t	 pub_done;
	struct hist		 hist;
};

#define ABOUT \
"Load a time server with exchanges (a connection and its reply, or a datagram\n" \
"and its answer), every reply checked, and report exchanges a second and\n" \
"latency percentiles.  HOST is 127.0.0.1 unless given; PORT the protocol's."

static const char *const kindname[K_NKIND] = {
	"ok", "bad", "refused", "timeout", "reset", "other",
};

/* The command line, as parse leaves it. */
struct opts {
	const char	*host;		/* operand, or the loopback address */
	int		 port;		/* operand; -1: the protocol's */
	int		 family;	/* -4, -6, or AF_UNSPEC */
	int		 proto;		/* -P: enum stamp_proto or msec */
	int		 udp;		/* -u */
	int		 conc;		/* -c */
	int		 nthreads;	/* -t */
	int		 timeout_ms;	/* -T */
	int		 spread;	/* --spread */
	long long	 duration_ms;	/* -d; 0: run for -n */
	long long	 count;		/* -n; -1: not given */
	int		 quiet;		/* -q */
	int		 histogram;	/* --histogram */
	int		 json;		/* --json */
	int		 io;		/* --io: enum io, or -1: the best */
};

#define O(field)	offsetof(struct opts, field)

enum {
	ARG_SPREAD = OPT_LONG,
	ARG_HISTOGRAM,
	ARG_IO,
	ARG_JSON,
};

/* In the order of --help. */
static const struct opt opts[] = {
	{ NULL, '4', OPT_NONE, NULL, 0, 0, 0, 0, "use IPv4 only" },
	{ NULL, '6', OPT_NONE, NULL, 0, 0, 0, 0, "use IPv6 only" },
	{ "concurrency", 'c', OPT_INT, "N", O(conc), 1, MAXCONC, 16,
	    "exchanges in flight (default 16)" },
	{ "duration", 'd', OPT_SECS, "S", O(duration_ms), 1, 1000000000, 0,
	    "run S seconds (decimals ok)" },
	{ "help", 'h', OPT_NONE, NULL, 0, 0, 0, 0, "print this and exit" },
	{ "requests", 'n', OPT_LLONG, "N", O(count), 1, 1000000000000LL, -1,
	    "run N exchanges (default 100000)" },
	{ "protocol", 'P', OPT_ARG, "P", 0, 0, 0, 0,
	    "stamp, time, daytime or msec (default stamp)" },
	{ "quiet", 'q', OPT_FLAG, NULL, O(quiet), 0, 0, 0,
	    "print only the RESULT line" },
	{ "threads", 'j', OPT_INT, "N", O(nthreads), 1, MAXTHREADS, 1,
	    "worker threads (default 1)" },
	/* -t was threads before stamp's -t, a timeout, said otherwise. */
	{ NULL, 't', OPT_INT, "N", O(nthreads), 1, MAXTHREADS, 1,
	    "the old spelling of -j, kept for scripts" },
	{ "timeout", 'T', OPT_INT, "MS", O(timeout_ms), 1, 3600000, 5000,
	    "give up on an exchange after MS (default 5000)" },
	{ "udp", 'u', OPT_FLAG, NULL, O(udp), 0, 0, 0,
	    "ask over UDP, not TCP" },
	{ "version", 'V', OPT_NONE, NULL, 0, 0, 0, 0,
	    "print the version and exit" },
	{ "spread", ARG_SPREAD, OPT_INT, "N", O(spread), 0, 65534, 64,
	    "TCP to 127/8: connect from N source addresses\n"
	    "127.0.0.1 and up (default 64, 0: do not bind)" },
	{ "histogram", ARG_HISTOGRAM, OPT_FLAG, NULL, O(histogram), 0, 0, 0,
	    "also print the latencies as a histogram, 4 buckets\n"
	    "an octave" },
	{ "io", ARG_IO, OPT_ARG, "NAME", 0, 0, 0, 0,
	    "TCP: wait with uring (io_uring; the default where\n"
	    "the kernel allows it) or epoll" },
	{ "json", ARG_JSON, OPT_FLAG, NULL, O(json), 0, 0, 0,
	    "print every figure as one JSON object, and nothing\n"
	    "else" },
	{ NULL, 0, 0, NULL, 0, 0, 0, 0, NULL }
};

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: stampbench [-46hquV] [-c concurrency] "
	    "[-d seconds | -n count]\n"
	    "                  [-P protocol] [-j threads] [-T timeout_ms] "
	    "[--spread N]\n"
	    "                  [--histogram] [--io epoll | uring] [--json] "
	    "[host [port]]\n");
}

static void
parse(struct opts *o, int argc, char *argv[])
{
	int	 ch;

	opt_init("stampbench", usage);
	opt_defaults(opts, o);
	o->host = "127.0.0.1";
	o->port = -1;
	o->family = AF_UNSPEC;
	o->proto = STAMP_PROTO_STAMP;
	o->io = -1;
	while ((ch = opt_next(argc, argv, opts, o)) != -1) {
		if (ch == '4' || ch == '6')
			o->family = ch == '4' ? AF_INET : AF_INET6;
		else if (ch == 'h')
			opt_help_all(opts, ABOUT);
		else if (ch == 'V')
			opt_version();
		else if (ch == ARG_IO && strcmp(optarg, "epoll") == 0)
			o->io = IO_EPOLL;
		else if (ch == ARG_IO && strcmp(optarg, "uring") == 0)
			o->io = IO_URING;
		else if (ch == ARG_IO)
			opt_fail("--io %s: want epoll or uring", optarg);
		else if (ch == 'P' && strcmp(optarg, "msec") == 0)
			o->proto = PROTO_MSEC;
		else if (ch == 'P' &&
		    (o->proto = wire_proto_find(optarg)) == -1)
			opt_fail("--protocol %s: want stamp, time, daytime "
			    "or msec", optarg);
	}
	argc -= optind;
	argv += optind;
	if (argc > 2)
		opt_fail("too many arguments");
	if (o->duration_ms > 0 && o->count != -1)
		opt_fail("-d and -n cannot go together");
	if (argc >= 1)
		o->host = argv[0];
	else if (o->family == AF_INET6)
		o->host = "::1";
	if (argc == 2)
		o->port = (int)opt_number("port", argv[1], 1, 65535);
	if (o->count == -1)
		o->count = o->duration_ms > 0 ? 0 : 100000;
}

static int64_t
now_ns(clockid_t clock)
{
	struct timespec	 ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * NSEC + ts.tv_nsec;
}

static int
hist_index(uint64_t us)
{
	int	 e;

	if (us < H_LINEAR)
		return (int)us;
	e = 63 - __builtin_clzll(us);
	if (e >= H_TOPEXP)
		return H_NBUCKET - 1;
	return H_LINEAR + (e - H_LINBITS) * H_SUB +
	    (int)((us >> (e - H_SUBBITS)) & (H_SUB - 1));
}

/* The value that stands for bucket i: its middle. */
static uint64_t
hist_value(int i)
{
	int	 e, sub;

	if (i < H_LINEAR)
		return (uint64_t)i;
	e = H_LINBITS + (i - H_LINEAR) / H_SUB;
	sub = (i - H_LINEAR) % H_SUB;
	return (1ULL << e) + ((uint64_t)sub << (e - H_SUBBITS)) +
	    (1ULL << (e - H_SUBBITS - 1));
}

static void
hist_add(struct hist *h, int64_t ns)
{
	uint64_t	 v = ns > 0 ? (uint64_t)ns : 0;

	h->n[hist_index(v / 1000)]++;
	if (h->count == 0 || v < h->min_ns)
		h->min_ns = v;
	h->count++;
	h->sum_ns += v;
	if (v > h->max_ns)
		h->max_ns = v;
}

static void
hist_merge(struct hist *to, const struct hist *from)
{
	int	 i;

	for (i = 0; i < H_NBUCKET; i++)
		to->n[i] += from->n[i];
	if (from->count > 0 && (to->count == 0 || from->min_ns < to->min_ns))
		to->min_ns = from->min_ns;
	to->count += from->count;
	to->sum_ns += from->sum_ns;
	if (from->max_ns > to->max_ns)
		to->max_ns = from->max_ns;
}

/*
 * The p-quantile in microseconds, the middle of its bucket, but never
 * beyond the least or the greatest latency seen.
 */
static uint64_t
hist_quantile(const struct hist *h, double p)
{
	uint64_t	 rank, seen = 0, max_us = h->max_ns / 1000, v;
	uint64_t	 min_us = h->min_ns / 1000;
	int		 i;

	if (h->count == 0)
		return 0;
	rank = (uint64_t)(p * (double)h->count);
	if ((double)rank < p * (double)h->count || rank == 0)
		rank++;
	for (i = 0; i < H_NBUCKET; i++) {
		seen += h->n[i];
		if (seen >= rank) {
			v = hist_value(i);
			if (v < min_us)
				return min_us;
			return v < max_us ? v : max_us;
		}
	}
	return max_us;
}

/* The lower bound of bucket i, in microseconds. */
static uint64_t
hist_low(int i)
{
	int	 e;

	if (i < H_LINEAR)
		return (uint64_t)i;
	e = H_LINBITS + (i - H_LINEAR) / H_SUB;
	return (1ULL << e) +
	    ((uint64_t)((i - H_LINEAR) % H_SUB) << (e - H_SUBBITS));
}

/* The display bucket of a latency in microseconds, below 2^H_TOPEXP. */
static int
disp_index(uint64_t us)
{
	int	 e;

	if (us < D_LINEAR)
		return (int)us;
	e = 63 - __builtin_clzll(us);
	return D_LINEAR + (e - D_LINBITS) * D_SUB +
	    (int)((us >> (e - D_SUBBITS)) & (D_SUB - 1));
}

/* Display bucket d covers lo to hi microseconds, hi excluded. */
static void
disp_bounds(int d, uint64_t *lo, uint64_t *hi)
{
	int	 e;

	if (d < D_LINEAR) {
		*lo = (uint64_t)d;
		*hi = *lo + 1;
		return;
	}
	e = D_LINBITS + (d - D_LINEAR) / D_SUB;
	*lo = (1ULL << e) +
	    ((uint64_t)((d - D_LINEAR) % D_SUB) << (e - D_SUBBITS));
	*hi = *lo + (1ULL << (e - D_SUBBITS));
}

/*
 * The histogram in display buckets.  Each of ours lies wholly in one of
 * them, its bounds being multiples of a finer step: the counts are exact.
 * Returns the first bucket that holds any, or -1; *last the last.
 */
static int
disp_fold(const struct hist *h, uint64_t *d, int *last)
{
	int	 i, first = -1;

	memset(d, 0, D_NBUCKET * sizeof *d);
	for (i = 0; i < H_NBUCKET; i++)
		d[disp_index(hist_low(i))] += h->n[i];
	*last = -1;
	for (i = 0; i < D_NBUCKET; i++)
		if (d[i] != 0) {
			if (first == -1)
				first = i;
			*last = i;
		}
	return first;
}

/*
 * nginx's stream module answering `return "$msec\r\n";`: the Unix time
 * as seconds, a dot and exactly three digits of milliseconds, then CRLF.
 */
static int
msec_decode(const char *buf, size_t len, long long *ms, const char **why)
{
	long long	 v = 0;
	size_t		 i, n;

	for (n = 0; n < len && n < 16 && buf[n] >= '0' && buf[n] <= '9'; n++)
		v = v * 10 + (buf[n] - '0');
	if (n == 0 || n > 15 || len != n + 6 || buf[n] != '.') {
		*why = "not SECONDS.MMM and CRLF";
		return -1;
	}
	for (i = n + 1; i < n + 4; i++) {
		if (buf[i] < '0' || buf[i] > '9') {
			*why = "not SECONDS.MMM and CRLF";
			return -1;
		}
		v = v * 10 + (buf[i] - '0');
	}
	if (buf[n + 4] != '\r' || buf[n + 5] != '\n') {
		*why = "no CRLF at end of line";
		return -1;
	}
	*ms = v;
	return 0;
}

/* Is this reply well-formed, and its time within SKEW_S of ours? */
static enum kind
check(struct worker *w, const char *buf, size_t len, int64_t end)
{
	const char	*why = NULL;
	long long	 wall_ms, t;

	wall_ms = (end + w->wall_off) / 1000000;
	if (w->b->proto == PROTO_MSEC) {
		if (msec_decode(buf, len, &t, &why) == -1)
			goto bad;
		if (t < wall_ms - SKEW_S * 1000 || t > wall_ms + SKEW_S * 1000)
			goto skew;
	} else {
		if (wire_decode(w->b->proto, buf, len, &t, &why) == -1)
			goto bad;
		/* Compared in seconds: t may be anything a reply can say. */
		if (t < wall_ms / 1000 - SKEW_S || t > wall_ms / 1000 + SKEW_S)
			goto skew;
	}
	return K_OK;
skew:
	why = "time more than 5 s away from ours";
bad:
	if (w->why == NULL)
		w->why = why;
	return K_BAD;
}

static enum kind
classify(struct worker *w, int err)
{
	switch (err) {
	case ECONNREFUSED:
		return K_REFUSED;
	case ETIMEDOUT:
		return K_TIMEOUT;
	case ECONNRESET:
	case ECONNABORTED:
	case EPIPE:
		return K_RESET;
	default:
		if (w->other == 0)
			w->other = err;
		return K_OTHER;
	}
}

/* With -n, one ticket per exchange; with -d, as many as time allows. */
static int
ticket(struct bench *b)
{
	if (b->count == 0)
		return 1;
	return atomic_fetch_add_explicit(&b->issued, 1,
	    memory_order_relaxed) < b->count;
}

/* The ring's user_data for an operation of slot s. */
static uint64_t
tag(struct slot *s, enum ring_op op)
{
	return (uint64_t)(uintptr_t)s | (uint64_t)op;
}

/*
 * An entry of the ring, after submitting what it holds if it is full;
 * NULL if even that made no room.
 */
static struct io_uring_sqe *
sqe_get(struct worker *w, unsigned need)
{
	if (ioring_room(&w->ring) < need && ioring_enter(&w->ring, 0, 0) == -1)
		return NULL;
	if (ioring_room(&w->ring) < need)
		return NULL;
	return ioring_sqe(&w->ring);
}

/*
 * Ready the slot's socket for another connection, after a clean one
 * whose end we read: our FIN, then connect to AF_UNSPEC, which turns a
 * closed TCP socket into a new one, still bound to its address.  That
 * spares the making and unmaking of a socket, a tenth of what each
 * connection costs us, and the server sees the same packets as with a
 * close.  Over loopback only, where the server's ACK of our FIN is in
 * before shutdown returns: disconnecting before it came would answer it
 * with a reset.  Returns -1 if the socket must be closed instead.
 */
static int
tcp_renew(struct worker *w, struct slot *s)
{
	struct sockaddr		 unspec;
	unsigned char		 state;
	socklen_t		 len = sizeof state;

	if (!w->b->loopback || !s->eof || s->uses >= REUSE)
		return -1;
	memset(&unspec, 0, sizeof unspec);
	unspec.sa_family = AF_UNSPEC;
	/* TCP_INFO begins with the state: one byte of it is enough. */
	if (shutdown(s->fd, SHUT_WR) == -1 ||
	    getsockopt(s->fd, IPPROTO_TCP, TCP_INFO, &state, &len) == -1 ||
	    len != sizeof state || state != TCP_CLOSE ||
	    connect(s->fd, &unspec, sizeof unspec) == -1)
		return -1;
	return 0;
}

/*
 * Close the slot's socket: at once, or, with the ring, at its next
 * submission, which saves a system call.  Once the run is over nothing
 * is submitted any more.  On the ring a socket may be used again.
 */
static void
tcp_close(struct worker *w, struct slot *s)
{
	struct io_uring_sqe	*sqe;

	if (w->ring_ok && !w->draining && tcp_renew(w, s) == 0)
		return;
	if (w->ring_ok && !w->draining && (sqe = sqe_get(w, 1)) != NULL) {
		sqe->opcode = IORING_OP_CLOSE;
		sqe->fd = s->fd;
		sqe->flags = IOSQE_CQE_SKIP_SUCCESS;
		sqe->user_data = tag(s, OP_CLOSE);
	} else
		close(s->fd);
	s->fd = -1;
}

/*
 * An exchange given up while the ring still receives for it: cancel
 * what the ring does with its socket; the receive then ends, and only
 * then may the socket be closed and the slot used again.
 */
static void
ring_cancel(struct worker *w, struct slot *s)
{
	struct io_uring_sqe	*sqe;

	if ((sqe = sqe_get(w, 1)) == NULL)
		return;		/* it ends when the server closes */
	sqe->opcode = IORING_OP_ASYNC_CANCEL;
	sqe->fd = s->fd;
	sqe->cancel_flags = IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ALL;
	sqe->flags = IOSQE_CQE_SKIP_SUCCESS;
	sqe->user_data = tag(s, OP_CANCEL);
}

static void
finish(struct worker *w, struct slot *s, enum kind k, int64_t end)
{
	s->prev->next = s->next;
	s->next->prev = s->prev;
	s->busy = 0;
	if (w->b->type == SOCK_STREAM) {
		if (s->inring)
			ring_cancel(w, s);
		else
			tcp_close(w, s);
	}
	w->kind[k]++;
	if (k == K_OK)
		hist_add(&w->hist, end - s->start);
}

static void
drain(int fd)
{
	char	 junk[64];
	int	 i;

	for (i = 0; i < 64; i++)
		if (net_recvfrom(fd, junk, sizeof junk, MSG_DONTWAIT, NULL,
		    NULL) == -1 && errno != ECONNREFUSED)
			break;
}

/* --spread: the next source address, the port left to connect. */
static int
spread_bind(struct worker *w, int fd)
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

static int
tcp_start(struct worker *w, struct slot *s)
{
	struct bench		*b = w->b;
	struct epoll_event	 ev;
	int			 fd;

	s->start = now_ns(CLOCK_MONOTONIC);
	fd = socket(b->addr.ss_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (b->spread > 0 && spread_bind(w, fd) == -1)
		goto fail;
	if (connect(fd, (struct sockaddr *)&b->addr, b->addrlen) == -1 &&
	    errno != EINPROGRESS)
		goto fail;
	/* Failure shows as EPOLLERR, success as the reply: no EPOLLOUT. */
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.ptr = s;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) == -1)
		goto fail;
	s->fd = fd;
	return 0;
fail:
	net_close(fd);
	return -1;
}

/*
 * The same exchange on the ring: the connect, and linked to it a receive
 * with MSG_WAITALL, which the kernel repeats until the buffer is full or
 * the server's FIN, so that one completion brings the whole reply, its
 * end seen.  A connect that fails posts its error, and the receive is
 * then cancelled: the exchange ends with the receive, always.  The
 * socket is made here, blocking: the ring tries each operation without
 * blocking first, and waits for it otherwise.
 */
static int
ring_start(struct worker *w, struct slot *s)
{
	struct bench		*b = w->b;
	struct io_uring_sqe	*sqe;
	int			 fd;

	s->start = now_ns(CLOCK_MONOTONIC);
	if ((fd = s->fd) == -1) {
		fd = socket(b->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd == -1)
			return -1;
		if (b->spread > 0 && spread_bind(w, fd) == -1)
			goto fail;
		s->uses = 0;
	}
	/* The two of a link go in one submission. */
	if ((sqe = sqe_get(w, 2)) == NULL) {
		errno = EAGAIN;
		goto fail;
	}
	sqe->opcode = IORING_OP_CONNECT;
	sqe->fd = fd;
	sqe->addr = (uint64_t)(uintptr_t)&b->addr;
	sqe->off = b->addrlen;
	/*
	 * Not IOSQE_CQE_SKIP_SUCCESS: with it, a connect that fails, head
	 * of a link, was seen to post nothing, neither its error nor the
	 * receive's cancellation (Linux 6.18).
	 */
	sqe->flags = IOSQE_IO_LINK;
	sqe->user_data = tag(s, OP_CONNECT);
	sqe = ioring_sqe(&w->ring);
	sqe->opcode = IORING_OP_RECV;
	sqe->fd = fd;
	sqe->addr = (uint64_t)(uintptr_t)s->buf;
	sqe->len = sizeof s->buf;
	sqe->msg_flags = MSG_WAITALL;
	sqe->user_data = tag(s, OP_RECV);
	s->fd = fd;
	s->cerr = 0;
	s->eof = 0;
	s->uses++;
	s->inring = 1;
	w->inring++;
	return 0;
fail:
	net_close(fd);
	s->fd = -1;
	return -1;
}

static int
udp_start(struct slot *s)
{
	if (s->stale) {
		drain(s->fd);
		s->stale = 0;
	}
	s->start = now_ns(CLOCK_MONOTONIC);
	return net_sendto(s->fd, "", 0, NULL, 0) == -1 ? -1 : 0;
}

/*
 * Start the slot's next exchange if there is a ticket for it.  One that
 * fails at once is counted, and the slot waits for the next turn of the
 * loop: a dead server must not keep us here.
 */
static void
launch(struct worker *w, struct slot *s)
{
	int	 r;

	if (!ticket(w->b))
		return;
	if (w->b->type == SOCK_DGRAM)
		r = udp_start(s);
	else if (w->ring_ok)
		r = ring_start(w, s);
	else
		r = tcp_start(w, s);
	if (r == -1) {
		w->kind[classify(w, errno)]++;
		w->pend[w->npend++] = s;
		return;
	}
	s->len = 0;
	s->busy = 1;
	s->next = &w->head;
	s->prev = w->head.prev;
	w->head.prev->next = s;
	w->head.prev = s;
}

/*
 * The end of an exchange: the slot starts again on the next turn of the
 * loop, once every event of this one is handled.  Between two waits the
 * replies are read and the sockets closed first, the new connections
 * made after, together: the server, woken by the first, finds the rest
 * queued, and is woken once for them all.
 */
static void
done(struct worker *w, struct slot *s, enum kind k, int64_t end)
{
	finish(w, s, k, end);
	w->pend[w->npend++] = s;
}

static void
tcp_event(struct worker *w, struct slot *s, uint32_t events)
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
			done(w, s, classify(w, errno), 0);
			return;
		}
		if (n == 0)
			break;
		s->len += (size_t)n;
		if (s->len == sizeof s->buf) {
			if (w->why == NULL)
				w->why = "reply longer than 512 bytes";
			done(w, s, K_BAD, 0);
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
	end = now_ns(CLOCK_MONOTONIC);
	done(w, s, check(w, s->buf, s->len, end), end);
}

static void
udp_event(struct worker *w, struct slot *s)
{
	ssize_t		 n;
	int64_t		 end;
	enum kind	 k;

	if (!s->busy) {
		drain(s->fd);
		return;
	}
	/* MSG_TRUNC: the length of the whole datagram, however long. */
	n = net_recvfrom(s->fd, s->buf, sizeof s->buf, MSG_TRUNC, NULL, NULL);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		done(w, s, classify(w, errno), 0);
		return;
	}
	end = now_ns(CLOCK_MONOTONIC);
	if ((size_t)n > sizeof s->buf) {
		if (w->why == NULL)
			w->why = "reply longer than 512 bytes";
		k = K_BAD;
	} else
		k = check(w, s->buf, (size_t)n, end);
	done(w, s, k, end);
}

/* A completion on the ring; res is what the operation returned. */
static void
ring_event(struct worker *w, uint64_t ud, int res)
{
	struct slot	*s;
	int64_t		 end;
	int		 err;

	s = (struct slot *)(uintptr_t)(ud & ~(uint64_t)OP_MASK);
	switch (ud & OP_MASK) {
	case OP_CONNECT:
		s->cerr = res < 0 ? -res : 0;
		return;
	case OP_RECV:
		break;
	default:
		/* A close or a cancel that failed: the socket goes anyway. */
		return;
	}
	s->inring = 0;
	w->inring--;
	if (w->draining || !s->busy) {
		/* Abandoned at the end, or given up and counted already. */
		tcp_close(w, s);
		if (!w->draining)
			w->pend[w->npend++] = s;
		return;
	}
	if (res < 0) {
		err = res == -ECANCELED && s->cerr != 0 ? s->cerr : -res;
		done(w, s, classify(w, err), 0);
	} else if ((size_t)res == sizeof s->buf) {
		if (w->why == NULL)
			w->why = "reply longer than 512 bytes";
		done(w, s, K_BAD, 0);
	} else {
		end = now_ns(CLOCK_MONOTONIC);
		s->eof = 1;
		done(w, s, check(w, s->buf, (size_t)res, end), end);
	}
}

/* Every exchange has the same timeout, so the oldest expires first. */
static void
expire(struct worker *w, int64_t now)
{
	struct slot	*s;

	while ((s = w->head.next) != &w->head &&
	    now - s->start >= w->b->timeout_ns) {
		finish(w, s, K_TIMEOUT, now);
		if (w->b->type == SOCK_DGRAM)
			s->stale = 1;
		/* The ring's, once its receive ends (ring_event). */
		if (!s->inring)
			w->pend[w->npend++] = s;
	}
}

static int
ms_until(int64_t when, int64_t now, int cap)
{
	int64_t	 ms;

	if (when <= now)
		return 0;
	ms = (when - now + 999999) / 1000000;
	return ms < cap ? (int)ms : cap;
}

static void
publish(struct worker *w)
{
	uint64_t	 total = 0;
	int		 k;

	for (k = 0; k < K_NKIND; k++)
		total += w->kind[k];
	atomic_store_explicit(&w->pub_ok, w->kind[K_OK],
	    memory_order_relaxed);
	atomic_store_explicit(&w->pub_done, total, memory_order_relaxed);
}

/*
 * The top of each turn of a worker's loop: the clock, the flags, the
 * timeouts, the exchanges to start.  Returns how long the wait may last,
 * in milliseconds, or -1 when the worker is done; *now is the time.
 */
static int
turn(struct worker *w, int64_t *now)
{
	struct bench	*b = w->b;
	int		 i, npend, wait;

	*now = now_ns(CLOCK_MONOTONIC);
	/* Once a second: a stepped clock must not make replies bad. */
	if (*now >= w->wall_next) {
		w->wall_off = now_ns(CLOCK_REALTIME) - now_ns(CLOCK_MONOTONIC);
		w->wall_next = *now + NSEC;
	}
	publish(w);
	if (atomic_load_explicit(&b->stop, memory_order_relaxed) ||
	    (b->end != 0 && *now >= b->end))
		return -1;
	expire(w, *now);
	/* launch only appends below i: the list is rebuilt in place. */
	npend = w->npend;
	w->npend = 0;
	for (i = 0; i < npend; i++)
		launch(w, w->pend[i]);
	if (w->head.next == &w->head && w->npend == 0 && w->inring == 0)
		return -1;

	wait = TICK_MS;
	if (w->npend > 0)
		wait = 0;
	if (w->head.next != &w->head)
		wait = ms_until(w->head.next->start + b->timeout_ns, *now,
		    wait);
	if (b->end != 0)
		wait = ms_until(b->end, *now, wait);
	return wait;
}

static void
epoll_loop(struct worker *w)
{
	struct epoll_event	 ev[MAXEVENTS];
	struct slot		*s;
	int64_t			 now;
	int			 i, n, wait;

	while ((wait = turn(w, &now)) != -1) {
		n = epoll_wait(w->ep, ev, MAXEVENTS, wait);
		if (n == -1) {
			/* Signals are blocked here; a debugger still may. */
			if (errno == EINTR)
				continue;
			w->err = errno;
			w->errwhere = "epoll_wait";
			break;
		}
		for (i = 0; i < n; i++) {
			s = ev[i].data.ptr;
			if (w->b->type == SOCK_STREAM)
				tcp_event(w, s, ev[i].events);
			else
				udp_event(w, s);
		}
	}
	w->t_end = now;
}

/* Each completion that is there, handed back as soon as it is read. */
static void
ring_reap(struct worker *w)
{
	struct io_uring_cqe	*cqe;
	uint64_t		 ud;
	int			 res;

	while ((cqe = ioring_cqe(&w->ring)) != NULL) {
		ud = cqe->user_data;
		res = cqe->res;
		ioring_seen(&w->ring);
		ring_event(w, ud, res);
	}
}

/*
 * The exchanges still in flight at the end are abandoned, uncounted, but
 * the kernel still writes into their buffers until their receives end:
 * cancel them all and wait for that, a second at most, before the slots
 * may be freed.
 */
static void
ring_drain(struct worker *w)
{
	struct io_uring_sqe	*sqe;
	int64_t			 now, deadline;

	w->draining = 1;
	if (w->inring > 0 && (sqe = sqe_get(w, 1)) != NULL) {
		sqe->opcode = IORING_OP_ASYNC_CANCEL;
		sqe->cancel_flags = IORING_ASYNC_CANCEL_ANY;
		sqe->flags = IOSQE_CQE_SKIP_SUCCESS;
		sqe->user_data = tag(w->slot, OP_CANCEL);
	}
	now = now_ns(CLOCK_MONOTONIC);
	deadline = now + NSEC;
	/* Once at least, for the closes still queued. */
	do {
		if (ioring_enter(&w->ring, w->inring > 0, deadline - now) == -1)
			break;
		ring_reap(w);
		now = now_ns(CLOCK_MONOTONIC);
	} while (w->inring > 0 && now < deadline);
	w->lost = w->inring > 0;
}

static void
ring_loop(struct worker *w)
{
	int64_t	 now;
	int	 wait;

	while ((wait = turn(w, &now)) != -1) {
		if (ioring_enter(&w->ring, wait > 0,
		    (int64_t)wait * 1000000) == -1) {
			w->err = errno;
			w->errwhere = "io_uring_enter";
			break;
		}
		ring_reap(w);
	}
	w->t_end = now;
	ring_drain(w);
}

static void *
worker(void *arg)
{
	struct worker	*w = arg;
	struct bench	*b = w->b;
	unsigned	 n;

	if (b->type == SOCK_STREAM && b->io == IO_URING) {
		/*
		 * Made by the thread that uses it, which the kernel then
		 * takes for its only user.  Room for a link of two per
		 * slot and a close, and for every completion at once.
		 */
		n = (unsigned)w->nslot * 4;
		if (ioring_init(&w->ring, n < 4096 ? n : 4096, n) == -1) {
			w->err = errno;
			w->errwhere = "io_uring_setup";
			w->t_end = b->t0;
			goto out;
		}
		w->ring_ok = 1;
		ring_loop(w);
	} else
		epoll_loop(w);
out:
	publish(w);
	atomic_fetch_sub(&b->running, 1);
	return NULL;
}

/* Slots, epoll and, for UDP, one connected socket per slot. */
static int
worker_init(struct worker *w, struct bench *b, int nslot, int windex)
{
	struct epoll_event	 ev;
	struct slot		*s;
	int			 i;

	w->b = b;
	w->nslot = nslot;
	w->ep = -1;
	w->head.next = w->head.prev = &w->head;
	w->src.sin_family = AF_INET;
	w->nextsrc = b->spread > 0 ? (uint32_t)(windex % b->spread) : 0;
	w->errwhere = "calloc";
	if ((w->slot = calloc(nslot, sizeof *w->slot)) == NULL ||
	    (w->pend = calloc(nslot, sizeof *w->pend)) == NULL)
		return -1;
	for (i = 0; i < nslot; i++) {
		w->slot[i].fd = -1;
		w->pend[w->npend++] = &w->slot[i];
	}
	if (b->type == SOCK_STREAM && b->io == IO_URING)
		return 0;
	w->errwhere = "epoll_create1";
	if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	for (i = 0; i < nslot && b->type == SOCK_DGRAM; i++) {
		s = &w->slot[i];
		w->errwhere = "udp socket";
		s->fd = socket(b->addr.ss_family,
		    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (s->fd == -1 || connect(s->fd,
		    (struct sockaddr *)&b->addr, b->addrlen) == -1)
			return -1;
		ev.events = EPOLLIN;
		ev.data.ptr = s;
		w->errwhere = "epoll_ctl";
		if (epoll_ctl(w->ep, EPOLL_CTL_ADD, s->fd, &ev) == -1)
			return -1;
	}
	return 0;
}

static void
worker_free(struct worker *w)
{
	int	 i;

	for (i = 0; w->slot != NULL && i < w->nslot; i++)
		if (w->slot[i].fd != -1 && !w->slot[i].inring)
			close(w->slot[i].fd);
	if (w->ep != -1)
		close(w->ep);
	if (w->ring_ok)
		ioring_free(&w->ring);
	/*
	 * A receive the kernel did not give back in time may still write
	 * into its slot: keep the slots, which the exit frees.
	 */
	if (!w->lost)
		free(w->slot);
	free(w->pend);
	free(w);
}

/* Room for a socket per slot, an epoll per worker, and stdio. */
static int
raise_nofile(rlim_t need)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	if (rl.rlim_cur >= need)	/* RLIM_INFINITY is the largest */
		return 0;
	rl.rlim_cur = need;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
		rl.rlim_max = need;	/* only root may */
	return setrlimit(RLIMIT_NOFILE, &rl);
}

/* A latency in microseconds as milliseconds, to two figures or so. */
static const char *
fmt_ms(char *buf, size_t len, uint64_t us)
{
	double	 ms = (double)us / 1000.0;

	if (ms < 0.1)
		snprintf(buf, len, "%.3f", ms);
	else if (ms < 1.0)
		snprintf(buf, len, "%.2f", ms);
	else if (ms < 10.0)
		snprintf(buf, len, "%.1f", ms);
	else
		snprintf(buf, len, "%.0f", ms);
	return buf;
}

static void
progress(struct worker **w, int nw, double secs, uint64_t *last_ok)
{
	uint64_t	 ok = 0, done = 0;
	int		 i;

	for (i = 0; i < nw; i++) {
		ok += atomic_load_explicit(&w[i]->pub_ok,
		    memory_order_relaxed);
		done += atomic_load_explicit(&w[i]->pub_done,
		    memory_order_relaxed);
	}
	fprintf(stderr, "\r%5.0f s  %llu ok  %llu failed  %llu per second ",
	    secs, (unsigned long long)ok, (unsigned long long)(done - ok),
	    (unsigned long long)(ok - *last_ok));
	*last_ok = ok;
}

static double
tv_us(struct timeval tv)
{
	return (double)tv.tv_sec * 1e6 + (double)tv.tv_usec;
}

/* What the workers did, summed, for the summary. */
struct totals {
	uint64_t	 kind[K_NKIND];
	uint64_t	 total;		/* exchanges */
	uint64_t	 errors;	/* neither ok nor bad */
	struct hist	 all;
	const char	*why;		/* the first bad reply */
	int		 other;		/* the first unexpected errno */
	int		 nrun;		/* workers that ran */
	int		 failed;	/* a worker, or starting one, failed */
	int		 interrupted;	/* by SIGINT or SIGTERM */
	double		 secs, rate;
	double		 cpu;		/* microseconds an exchange */
	double		 mean_us;
};

/*
 * Resolve the server into b, with the settings of o; format its address
 * into addrstr.
 */
static void
target(struct bench *b, const struct opts *o, char *addrstr)
{
	char	 port[8];
	int	 e;

	b->proto = o->proto;
	b->type = o->udp ? SOCK_DGRAM : SOCK_STREAM;
	b->count = o->count;
	b->timeout_ns = (int64_t)o->timeout_ms * 1000000;
	snprintf(port, sizeof port, "%d", o->port != -1 ? o->port :
	    o->proto == PROTO_MSEC ? STAMP_PORT : wire_proto_port(o->proto));
	if ((e = net_resolve(o->host, port, o->family, b->type, &b->addr,
	    &b->addrlen)) != 0)
		fatalx("%s port %s: %s", o->host, port, gai_strerror(e));
	net_addr_str((struct sockaddr *)&b->addr, addrstr, NET_ADDRSTRLEN);
	if (b->addr.ss_family == AF_INET)
		b->loopback = (ntohl(((struct sockaddr_in *)&b->addr)->
		    sin_addr.s_addr) >> 24) == 127;
	else
		b->loopback = IN6_IS_ADDR_LOOPBACK(
		    &((struct sockaddr_in6 *)&b->addr)->sin6_addr);
	/* Only loopback has a whole /8 of our own addresses to spread. */
	if (b->type == SOCK_STREAM && b->addr.ss_family == AF_INET &&
	    (ntohl(((struct sockaddr_in *)&b->addr)->sin_addr.s_addr) >> 24) ==
	    127)
		b->spread = o->spread;
}

/*
 * How to wait for TCP: --io, or else the ring where the kernel lets us
 * have one (io_uring may be missing, or disabled by sysctl or seccomp).
 */
static void
choose_io(struct bench *b, const struct opts *o)
{
	struct ioring	 r;

	b->io = IO_EPOLL;
	if (b->type != SOCK_STREAM || o->io == IO_EPOLL)
		return;
	if (ioring_init(&r, 8, 16) == 0) {
		ioring_free(&r);
		b->io = IO_URING;
	} else if (o->io == IO_URING)
		fatal("--io uring: io_uring_setup");
}

/* Make nw workers, sharing the conc slots out evenly. */
static void
workers_make(struct worker **w, int nw, struct bench *b, int conc)
{
	int	 i;

	if (raise_nofile((rlim_t)conc + nw + 32) == -1)
		fatal("-c %d needs %d open files", conc, conc + nw + 32);
	for (i = 0; i < nw; i++) {
		if ((w[i] = calloc(1, sizeof *w[i])) == NULL)
			fatal("calloc");
		if (worker_init(w[i], b, conc / nw + (i < conc % nw), i) == -1)
			fatal("%s", w[i]->errwhere);
	}
}

/*
 * Start the nw workers, and wait for them to finish, printing the
 * progress line once a second if show; SIGINT and SIGTERM stop them.
 * Returns how many were started.
 */
static int
workers_run(struct worker **w, int nw, struct bench *b, int show,
    struct totals *tt)
{
	struct timespec	 tick = { 0, TICK_MS * 1000000L };
	sigset_t	 sigs;
	uint64_t	 last_ok = 0;
	int64_t		 next_tick;
	int		 e, n;

	/* Workers inherit the mask; only the main thread takes signals. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	if ((e = pthread_sigmask(SIG_BLOCK, &sigs, NULL)) != 0) {
		errno = e;
		fatal("pthread_sigmask");
	}
	next_tick = b->t0 + NSEC;
	atomic_store(&b->running, nw);
	for (n = 0; n < nw; n++)
		if ((e = pthread_create(&w[n]->tid, NULL, worker, w[n])) != 0) {
			log_warnx("pthread_create: %s", strerror(e));
			atomic_store(&b->stop, 1);
			atomic_fetch_sub(&b->running, nw - n);
			tt->failed = 1;
			break;
		}
	while (atomic_load(&b->running) > 0) {
		if (sigtimedwait(&sigs, NULL, &tick) > 0) {
			atomic_store(&b->stop, 1);
			tt->interrupted = 1;
		}
		if (show && now_ns(CLOCK_MONOTONIC) >= next_tick) {
			progress(w, n, (double)(next_tick - b->t0) / NSEC,
			    &last_ok);
			next_tick += NSEC;
		}
	}
	return n;
}

/* Join the workers that ran and sum what they did into tt. */
static void
workers_sum(struct worker **w, const struct bench *b,
    const struct rusage *ru0, struct totals *tt)
{
	struct rusage	 ru1;
	int64_t		 t_end = b->t0;
	int		 e, i, k;

	for (i = 0; i < tt->nrun; i++) {
		if ((e = pthread_join(w[i]->tid, NULL)) != 0) {
			errno = e;
			fatal("pthread_join");
		}
		if (w[i]->err != 0) {
			log_warnx("%s: %s", w[i]->errwhere,
			    strerror(w[i]->err));
			tt->failed = 1;
		}
		for (k = 0; k < K_NKIND; k++)
			tt->kind[k] += w[i]->kind[k];
		hist_merge(&tt->all, &w[i]->hist);
		if (w[i]->t_end > t_end)
			t_end = w[i]->t_end;
		if (tt->why == NULL)
			tt->why = w[i]->why;
		if (tt->other == 0)
			tt->other = w[i]->other;
	}
	if (getrusage(RUSAGE_SELF, &ru1) == -1)
		fatal("getrusage");
	for (k = 0; k < K_NKIND; k++)
		tt->total += tt->kind[k];
	tt->errors = tt->total - tt->kind[K_OK] - tt->kind[K_BAD];
	tt->secs = (double)(t_end - b->t0) / NSEC;
	tt->rate = tt->secs > 0 ? (double)tt->kind[K_OK] / tt->secs : 0;
	tt->cpu = tv_us(ru1.ru_utime) - tv_us(ru0->ru_utime) +
	    tv_us(ru1.ru_stime) - tv_us(ru0->ru_stime);
	tt->cpu = tt->total > 0 ? tt->cpu / (double)tt->total : 0;
	tt->mean_us = tt->all.count > 0 ?
	    (double)tt->all.sum_ns / (double)tt->all.count / 1000 : 0;
}

/* The summary for people; the RESULT line is report's. */
static void
summary(const struct totals *tt, const char *head)
{
	const struct hist	*h = &tt->all;
	char			 p[5][16];
	int			 k;

	printf("stampbench: %s\n", head);
	printf("  exchanges  %llu ok, %llu bad, %llu errors (",
	    (unsigned long long)tt->kind[K_OK],
	    (unsigned long long)tt->kind[K_BAD],
	    (unsigned long long)tt->errors);
	for (k = K_REFUSED; k < K_NKIND; k++)
		printf("%s%s %llu", k == K_REFUSED ? "" : ", ", kindname[k],
		    (unsigned long long)tt->kind[k]);
	printf(")\n");
	printf("  rate       %.0f per second\n", tt->rate);
	if (h->count > 0)
		printf("  latency    p50 %s ms  p99 %s ms  p99.9 %s ms  "
		    "max %s ms  mean %s ms\n",
		    fmt_ms(p[0], sizeof p[0], hist_quantile(h, 0.5)),
		    fmt_ms(p[1], sizeof p[1], hist_quantile(h, 0.99)),
		    fmt_ms(p[2], sizeof p[2], hist_quantile(h, 0.999)),
		    fmt_ms(p[3], sizeof p[3], h->max_ns / 1000),
		    fmt_ms(p[4], sizeof p[4], (uint64_t)tt->mean_us));
	else
		printf("  latency    no good replies\n");
	printf("  client cpu %.1f us per exchange "
	    "(utime+stime of stampbench itself)\n", tt->cpu);
	if (tt->why != NULL)
		printf("  first bad  %s\n", tt->why);
	if (tt->other != 0)
		printf("  first err  %s\n", strerror(tt->other));
}

#define BAR_MAX	40

/* --histogram: a line per display bucket, from the first to the last used. */
static void
histogram(const struct hist *h)
{
	static const char	 bar[BAR_MAX + 1] =
	    "########################################";
	uint64_t		 d[D_NBUCKET], lo, hi, most = 0, cum = 0;
	int			 i, first, last, len;

	if ((first = disp_fold(h, d, &last)) == -1) {
		printf("  histogram  no good replies\n");
		return;
	}
	for (i = first; i <= last; i++)
		if (d[i] > most)
			most = d[i];
	printf("  histogram  microseconds from, to (excluded), count, share, "
	    "cumulative\n");
	for (i = first; i <= last; i++) {
		disp_bounds(i, &lo, &hi);
		cum += d[i];
		/* Rounded up: a bucket that holds any shows at least a #. */
		len = (int)((d[i] * BAR_MAX + most - 1) / most);
		printf("  %10llu %10llu %10llu %6.2f%% %6.2f%% %.*s\n",
		    (unsigned long long)lo, (unsigned long long)hi,
		    (unsigned long long)d[i],
		    100.0 * (double)d[i] / (double)h->count,
		    100.0 * (double)cum / (double)h->count, len, bar);
	}
}

/* A JSON string: our own text, or strerror's; escaped all the same. */
static void
json_str(const char *s)
{
	const unsigned char	*p;

	if (s == NULL) {
		printf("null");
		return;
	}
	putchar('"');
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	putchar('"');
}

/*
 * --json: every figure, one object.  Counts are integers; times are in
 * microseconds or seconds as their names say; what was not measured is
 * null, never 0.
 */
static void
report_json(const struct totals *tt, const struct bench *b,
    const struct opts *o, const char *pname, const char *tname,
    const char *addr)
{
	const struct hist	*h = &tt->all;
	uint64_t		 d[D_NBUCKET], lo, hi;
	int			 i, k, first, last, sep = 0;

	printf("{\n  \"program\": \"stampbench\", \"version\": ");
	json_str(STAMP_VERSION);
	printf(",\n  \"target\": ");
	json_str(addr);
	printf(", \"proto\": \"%s\", \"transport\": \"%s\",\n", pname,
	    tname);
	printf("  \"threads\": %d, \"concurrency\": %d, \"timeout_ms\": %d, "
	    "\"spread\": %d, \"io\": \"%s\",\n", tt->nrun, o->conc,
	    o->timeout_ms, b->spread, b->type == SOCK_DGRAM ? "epoll" :
	    b->io == IO_URING ? "uring" : "epoll");
	if (o->duration_ms > 0)
		printf("  \"requested\": null, \"duration_s\": %.3f,\n",
		    (double)o->duration_ms / 1000);
	else
		printf("  \"requested\": %lld, \"duration_s\": null,\n",
		    o->count);
	printf("  \"secs\": %.6f, \"interrupted\": %s,\n", tt->secs,
	    tt->interrupted ? "true" : "false");
	printf("  \"exchanges\": %llu, \"ok\": %llu, \"bad\": %llu, "
	    "\"errors\": %llu,\n  \"errors_by_kind\": {",
	    (unsigned long long)tt->total,
	    (unsigned long long)tt->kind[K_OK],
	    (unsigned long long)tt->kind[K_BAD],
	    (unsigned long long)tt->errors);
	for (k = K_REFUSED; k < K_NKIND; k++)
		printf("%s\"%s\": %llu", k == K_REFUSED ? "" : ", ",
		    kindname[k], (unsigned long long)tt->kind[k]);
	printf("},\n  \"rate\": %.3f, \"cpu_us\": %.3f,\n", tt->rate,
	    tt->cpu);
	printf("  \"first_bad\": ");
	json_str(tt->why);
	printf(", \"first_error\": ");
	json_str(tt->other != 0 ? strerror(tt->other) : NULL);
	printf(",\n  \"latency_us\": ");
	if (h->count == 0)
		printf("null");
	else
		printf("{\"min\": %llu, \"p50\": %llu, \"p90\": %llu, "
		    "\"p99\": %llu, \"p999\": %llu, \"p9999\": %llu, "
		    "\"max\": %llu, \"mean\": %.3f}",
		    (unsigned long long)(h->min_ns / 1000),
		    (unsigned long long)hist_quantile(h, 0.5),
		    (unsigned long long)hist_quantile(h, 0.9),
		    (unsigned long long)hist_quantile(h, 0.99),
		    (unsigned long long)hist_quantile(h, 0.999),
		    (unsigned long long)hist_quantile(h, 0.9999),
		    (unsigned long long)(h->max_ns / 1000), tt->mean_us);
	/* The used buckets alone, each [from, to) in microseconds. */
	printf(",\n  \"histogram\": {\"unit\": \"us\", "
	    "\"buckets_per_octave\": %d, \"buckets\": [", D_SUB);
	if ((first = disp_fold(h, d, &last)) != -1)
		for (i = first; i <= last; i++) {
			if (d[i] == 0)
				continue;
			disp_bounds(i, &lo, &hi);
			printf("%s\n    {\"from\": %llu, \"to\": %llu, "
			    "\"count\": %llu}", sep++ ? "," : "",
			    (unsigned long long)lo, (unsigned long long)hi,
			    (unsigned long long)d[i]);
		}
	printf("%s]}\n}\n", sep ? "\n  " : "");
}

/*
 * The summary unless quiet, the histogram if asked, then the RESULT line
 * that scripts read; or, with --json, the JSON alone.
 */
static void
report(const struct totals *tt, const struct bench *b, const char *addr,
    const struct opts *o)
{
	const struct hist	*h = &tt->all;
	const char		*pname, *tname;
	char			 head[256];

	pname = b->proto == PROTO_MSEC ? "msec" : wire_proto_name(b->proto);
	tname = b->type == SOCK_STREAM ? "tcp" : "udp";
	if (o->json) {
		report_json(tt, b, o, pname, tname, addr);
		goto out;
	}
	snprintf(head, sizeof head, "%s %s/%s, %d thread%s, %d in flight, "
	    "%.2f s%s", addr, pname, tname, tt->nrun, tt->nrun == 1 ? "" :
	    "s", o->conc, tt->secs, tt->interrupted ? " (interrupted)" : "");
	if (!o->quiet)
		summary(tt, head);
	if (o->histogram)
		histogram(h);
	printf("RESULT proto=%s transport=%s threads=%d concurrency=%d "
	    "secs=%.3f ok=%llu bad=%llu errors=%llu rate=%.1f p50_us=%llu "
	    "p99_us=%llu p999_us=%llu max_us=%llu mean_us=%.0f cpu_us=%.1f\n",
	    pname, tname, tt->nrun, o->conc, tt->secs,
	    (unsigned long long)tt->kind[K_OK],
	    (unsigned long long)tt->kind[K_BAD],
	    (unsigned long long)tt->errors, tt->rate,
	    (unsigned long long)hist_quantile(h, 0.5),
	    (unsigned long long)hist_quantile(h, 0.99),
	    (unsigned long long)hist_quantile(h, 0.999),
	    (unsigned long long)(h->max_ns / 1000), tt->mean_us, tt->cpu);
out:
	if (fflush(stdout) == EOF || ferror(stdout))
		fatal("stdout");
}

int
main(int argc, char *argv[])
{
	static struct opts	 o;
	static struct bench	 b;
	static struct totals	 tt;
	struct worker		*w[MAXTHREADS];
	struct rusage		 ru0;
	char			 addr[NET_ADDRSTRLEN];
	int			 i, nw, show;

	log_init("stampbench");
	parse(&o, argc, argv);
	target(&b, &o, addr);
	choose_io(&b, &o);
	nw = o.nthreads < o.conc ? o.nthreads : o.conc;
	workers_make(w, nw, &b, o.conc);
	signal(SIGPIPE, SIG_IGN);
	show = !o.quiet && !o.json && isatty(STDOUT_FILENO);
	if (getrusage(RUSAGE_SELF, &ru0) == -1)
		fatal("getrusage");

	b.t0 = now_ns(CLOCK_MONOTONIC);
	if (o.duration_ms > 0)
		b.end = b.t0 + o.duration_ms * 1000000;
	tt.nrun = workers_run(w, nw, &b, show, &tt);
	workers_sum(w, &b, &ru0, &tt);
	if (show)
		fprintf(stderr, "\r%*s\r", 70, "");
	report(&tt, &b, addr, &o);

	for (i = 0; i < nw; i++)
		worker_free(w[i]);
	if (tt.failed || tt.interrupted || tt.kind[K_OK] == 0 ||
	    tt.kind[K_OK] != tt.total)
		return 1;
	return 0;
}
