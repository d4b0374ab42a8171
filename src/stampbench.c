/*
 * stampbench.c: the load generator, as redis-benchmark is to redis.
 *
 * The main thread reads the command line, resolves the server, chooses
 * how to wait (io_uring where the kernel allows it, epoll otherwise or
 * with --io epoll), makes the workers (bench_worker.h), then only waits
 * for signals and prints the progress line; at the end it sums what the
 * workers did and prints the report (bench_report.h).
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>

#include <errno.h>
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

#include "bench_report.h"
#include "bench_worker.h"
#include "log.h"
#include "net.h"
#include "ntske.h"
#include "opt.h"
#include "proto.h"
#include "wire.h"

#define TICK_MS		50		/* how often signals are looked at */
#define MAXTHREADS	256
#define MAXCONC		65536

/* How --io asks TCP to wait. */
enum io {
	IO_EPOLL,
	IO_URING,
};

#define ABOUT \
"Load a time server with exchanges (a connection and its reply, a datagram\n" \
"and its answer, or an NTP request and the server's reply), every reply\n" \
"checked, and report exchanges a second and latency percentiles.  HOST is\n" \
"127.0.0.1 unless given (::1 with -6); PORT the protocol's.  DURATION is a\n" \
"number and its unit, 500ms or 2s."

/* The command line, as parse leaves it. */
struct opts {
	const char	*host;		/* operand, or the loopback address */
	int		 port;		/* -p or operand; -1: the protocol's */
	int		 family;	/* -4, -6, or AF_UNSPEC */
	int		 proto;		/* -P: enum stamp_proto or msec */
	int		 udp;		/* -T udp (or -u) */
	int		 transported;	/* -T (or -u) was given */
	int		 conc;		/* -c */
	int		 nthreads;	/* -w (or -j, or a bare -t) */
	long long	 timeout_ms;	/* -t */
	int		 spread;	/* --spread */
	long long	 duration_ms;	/* -d; 0: run for -n */
	long long	 count;		/* -n; -1: not given */
	int		 quiet;		/* -q */
	int		 histogram;	/* --histogram */
	int		 json;		/* --json */
	int		 io;		/* --io: enum io, or -1: the best */
	int		 nts;		/* -P nts, nts-ke: BENCH_NTS_* */
	const char	*ca;		/* --ca, or NULL */
};

#define O(field)	offsetof(struct opts, field)

enum {
	ARG_CA = OPT_LONG,
	ARG_TIMEOUT,
	ARG_REQUESTS,
	ARG_SPREAD,
	ARG_HISTOGRAM,
	ARG_IO,
	ARG_JSON,
};

/* In the order of --help. */
static const struct opt opts[] = {
	{ "ipv4", '4', OPT_NONE, NULL, 0, 0, 0, 0, "use IPv4 only" },
	{ "ipv6", '6', OPT_NONE, NULL, 0, 0, 0, 0, "use IPv6 only" },
	{ "concurrency", 'c', OPT_INT, "N", O(conc), 1, MAXCONC, 16,
	    "exchanges in flight (default 16)" },
	{ "duration", 'd', OPT_ARG, "DURATION", 0, 0, 0, 0,
	    "run for DURATION (a bare number is seconds)" },
	{ "help", 'h', OPT_NONE, NULL, 0, 0, 0, 0, "print this and exit" },
	{ "count", 'n', OPT_LLONG, "N", O(count), 1, 1000000000000LL, -1,
	    "run N exchanges (default 100000)" },
	{ "requests", ARG_REQUESTS, OPT_LLONG, "N", O(count), 1,
	    1000000000000LL, -1, "the same as -n, its old name" },
	{ "protocol", 'P', OPT_ARG, "NAME", 0, 0, 0, 0,
	    "stamp, time, daytime, ntp (over UDP), msec, nts\n"
	    "(NTP authenticated by NTS) or nts-ke (whole NTS key\n"
	    "establishments) (default stamp)" },
	{ "quiet", 'q', OPT_FLAG, NULL, O(quiet), 0, 0, 0,
	    "print only the RESULT line" },
	{ "port", 'p', OPT_INT, "PORT", O(port), 1, 65535, -1,
	    "port (default: the protocol's)" },
	/*
	 * -t was the threads (now -w) before stamp's -t, a timeout, made it
	 * one: a number with no unit is still the threads, and said so.
	 */
	{ NULL, 't', OPT_ARG, "DURATION", 0, 0, 0, 0,
	    "give up on an exchange after DURATION (default\n"
	    "5s); a bare number N is the old -t N: -w N" },
	/* And --timeout was milliseconds, as -T was: a bare number still. */
	{ "timeout", ARG_TIMEOUT, OPT_ARG, "DURATION", 0, 0, 0, 0,
	    "the same as -t, but a bare number is milliseconds,\n"
	    "as --timeout took before its units" },
	{ "transport", 'T', OPT_ARG, "NAME", 0, 0, 0, 0,
	    "tcp (default) or udp; ntp and nts choose their own.\n"
	    "A number MS is the old -T MS: -t MSms" },
	{ "udp", 'u', OPT_NONE, NULL, 0, 0, 0, 0,
	    "the old spelling of -T udp, kept for scripts" },
	{ "workers", 'w', OPT_INT, "N", O(nthreads), 1, MAXTHREADS, 1,
	    "worker threads (default 1)" },
	{ "threads", 'j', OPT_INT, "N", O(nthreads), 1, MAXTHREADS, 1,
	    "the same as -w" },
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
	{ "ca", ARG_CA, OPT_STR, "FILE", O(ca), 0, 0, 0,
	    "NTS: trust the certificate authorities in FILE\n"
	    "(PEM), not the system's" },
	{ NULL, 0, 0, NULL, 0, 0, 0, 0, NULL }
};

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: stampbench [-46hqV] [-c concurrency] "
	    "[-d duration | -n count]\n"
	    "                  [-P protocol] [-p port] [-T tcp | udp] "
	    "[-t duration] [-w workers]\n"
	    "                  [--spread N] [--histogram] "
	    "[--io epoll | uring] [--json]\n"
	    "                  [--ca file] [host [port]]\n");
}

static void
parse(struct opts *o, int argc, char *argv[])
{
	long long	 ms;
	int		 ch;

	opt_init("stampbench", usage);
	opt_defaults(opts, o);
	o->host = "127.0.0.1";
	o->timeout_ms = 5000;
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
		else if (ch == 'd')
			o->duration_ms = opt_duration("--duration", optarg, 1,
			    1000000000, 1000);
		else if (ch == 't' && (ms = opt_duration("-t", optarg, 1,
		    3600000, 0)) != -1)
			o->timeout_ms = ms;
		else if (ch == 't') {
			/* Said, so that a script can be brought up to date. */
			o->nthreads = (int)opt_number("-t", optarg, 1,
			    MAXTHREADS);
			log_warnx("-t %s is the old spelling of -w %s (a "
			    "timeout has its unit: -t %ss)", optarg, optarg,
			    optarg);
		} else if (ch == ARG_TIMEOUT)
			o->timeout_ms = opt_duration("--timeout", optarg, 1,
			    3600000, 1);
		else if (ch == 'T' && (strcmp(optarg, "tcp") == 0 ||
		    strcmp(optarg, "udp") == 0)) {
			o->udp = strcmp(optarg, "udp") == 0;
			o->transported = 1;
		} else if (ch == 'T') {
			o->timeout_ms = opt_number("-T", optarg, 1,
			    3600000);
			log_warnx("-T %s is the old spelling of -t %sms", optarg,
			    optarg);
		} else if (ch == 'u')
			o->udp = o->transported = 1;
		else if (ch == ARG_IO && strcmp(optarg, "epoll") == 0)
			o->io = IO_EPOLL;
		else if (ch == ARG_IO && strcmp(optarg, "uring") == 0)
			o->io = IO_URING;
		else if (ch == ARG_IO)
			opt_fail("--io %s: want epoll or uring", optarg);
		else if (ch == 'P' && strcmp(optarg, "msec") == 0)
			o->proto = BENCH_PROTO_MSEC;
		else if (ch == 'P' && (strcmp(optarg, "nts") == 0 ||
		    strcmp(optarg, "nts-ke") == 0)) {
#ifndef STAMP_NTS
			opt_fail("built without NTS (GnuTLS)");
#endif
			/* NTS's NTP requests are NTP's, with more. */
			o->proto = STAMP_PROTO_NTP;
			o->nts = strcmp(optarg, "nts") == 0 ? BENCH_NTS_NTP :
			    BENCH_NTS_KE;
		}
		else if (ch == 'P' &&
		    (o->proto = wire_proto_find(optarg)) == -1)
			opt_fail("--protocol %s: want stamp, time, daytime, "
			    "ntp, msec, nts or nts-ke", optarg);
		if (ch == 'P' && strcmp(optarg, "nts") != 0 &&
		    strcmp(optarg, "nts-ke") != 0)
			o->nts = 0;
	}
	if (o->ca != NULL && o->nts == 0)
		opt_fail("--ca goes with -P nts or nts-ke");
	if (o->nts != 0 && o->transported)
		opt_fail("-T does not apply to NTS: its key establishment is "
		    "TLS over TCP, its NTP over UDP");
	if (o->proto == STAMP_PROTO_NTP && o->nts == 0 && o->transported &&
	    !o->udp)
		opt_fail("-T tcp does not apply to -P ntp: NTP is over UDP "
		    "only");
	/* NTP is a datagram protocol only: TCP port 123 serves nothing. */
	if (o->proto == STAMP_PROTO_NTP && o->nts != BENCH_NTS_KE)
		o->udp = 1;
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
	if (argc == 2 && o->port != -1)
		opt_fail("a port both as -p and as an operand");
	if (argc == 2)
		o->port = (int)opt_number("port", argv[1], 1, 65535);
	if (o->count == -1)
		o->count = o->duration_ms > 0 ? 0 : 100000;
}

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
	b->nts = o->nts;
	b->host = o->host;
	b->ca = o->ca;
	b->type = o->udp ? SOCK_DGRAM : SOCK_STREAM;
	b->count = o->count;
	b->timeout_ns = (int64_t)o->timeout_ms * 1000000;
	snprintf(port, sizeof port, "%d", o->port != -1 ? o->port :
	    o->nts != 0 ? NTSKE_PORT : o->proto == BENCH_PROTO_MSEC ?
	    STAMP_PORT : wire_proto_port(o->proto));
	/* NTS: the key establishment's server, over TCP, whatever comes. */
	if ((e = net_resolve(o->host, port, o->family, o->nts != 0 ?
	    SOCK_STREAM : b->type, &b->addr, &b->addrlen)) != 0)
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
 * The engine: UDP's, or for TCP --io, or else the ring where the kernel
 * lets us have one (io_uring may be missing, or disabled by sysctl or
 * seccomp).
 */
static void
choose_engine(struct bench *b, const struct opts *o)
{
	char	 why[256];

#ifdef STAMP_NTS
	if (b->nts != 0) {
		if (o->io == IO_URING)
			fatalx("--io uring: NTS waits with epoll only");
		b->engine = b->nts == BENCH_NTS_KE ? &bench_nts_ke : &bench_nts;
		return;
	}
#endif
	if (b->type == SOCK_DGRAM) {
		b->engine = &bench_udp;
		return;
	}
	b->engine = &bench_tcp;
	if (o->io == IO_EPOLL)
		return;
	if (bench_uring.usable(why, sizeof why) == 0)
		b->engine = &bench_uring;
	else if (o->io == IO_URING)
		fatalx("--io uring: %s", why);
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

/* Make nw workers, sharing the conc slots out evenly. */
static void
workers_make(struct bench_worker **w, int nw, struct bench *b, int conc)
{
	int	 i;

	if (raise_nofile((rlim_t)conc + nw + 32) == -1)
		fatal("-c %d needs %d open files", conc, conc + nw + 32);
	for (i = 0; i < nw; i++) {
		if ((w[i] = calloc(1, sizeof *w[i])) == NULL)
			fatal("calloc");
		if (bench_worker_init(w[i], b, conc / nw + (i < conc % nw),
		    i) == -1)
			fatal("%s", w[i]->errwhere);
	}
}

/* The progress line: what the n running workers have done so far. */
static void
progress(struct bench_worker **w, int n, double secs, uint64_t *last_ok)
{
	uint64_t	 ok = 0, done = 0;
	int		 i;

	for (i = 0; i < n; i++) {
		ok += atomic_load_explicit(&w[i]->pub_ok,
		    memory_order_relaxed);
		done += atomic_load_explicit(&w[i]->pub_done,
		    memory_order_relaxed);
	}
	bench_report_progress(secs, ok, done, ok - *last_ok);
	*last_ok = ok;
}

/*
 * Start the nw workers, and wait for them to finish, printing the
 * progress line once a second if show; SIGINT and SIGTERM stop them.
 * Returns how many were started.
 */
static int
workers_run(struct bench_worker **w, int nw, struct bench *b, int show,
    struct bench_totals *tt)
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
	next_tick = b->t0 + BENCH_NSEC;
	atomic_store(&b->running, nw);
	for (n = 0; n < nw; n++)
		if ((e = pthread_create(&w[n]->tid, NULL, bench_worker_main,
		    w[n])) != 0) {
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
		if (show && bench_worker_now(CLOCK_MONOTONIC) >= next_tick) {
			progress(w, n, (double)(next_tick - b->t0) /
			    BENCH_NSEC, &last_ok);
			next_tick += BENCH_NSEC;
		}
	}
	return n;
}

static double
tv_us(struct timeval tv)
{
	return (double)tv.tv_sec * 1e6 + (double)tv.tv_usec;
}

/* Join the workers that ran and sum what they did into tt. */
static void
workers_sum(struct bench_worker **w, const struct bench *b,
    const struct rusage *ru0, struct bench_totals *tt)
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
		for (k = 0; k < BENCH_NKIND; k++)
			tt->kind[k] += w[i]->kind[k];
		bench_hist_merge(&tt->all, &w[i]->hist);
		if (w[i]->t_end > t_end)
			t_end = w[i]->t_end;
		if (tt->why == NULL)
			tt->why = w[i]->why;
		if (tt->other == 0)
			tt->other = w[i]->other;
	}
	if (getrusage(RUSAGE_SELF, &ru1) == -1)
		fatal("getrusage");
	for (k = 0; k < BENCH_NKIND; k++)
		tt->total += tt->kind[k];
	tt->errors = tt->total - tt->kind[BENCH_OK] - tt->kind[BENCH_BAD];
	tt->secs = (double)(t_end - b->t0) / BENCH_NSEC;
	tt->rate = tt->secs > 0 ? (double)tt->kind[BENCH_OK] / tt->secs : 0;
	tt->cpu = tv_us(ru1.ru_utime) - tv_us(ru0->ru_utime) +
	    tv_us(ru1.ru_stime) - tv_us(ru0->ru_stime);
	tt->cpu = tt->total > 0 ? tt->cpu / (double)tt->total : 0;
	tt->mean_us = tt->all.count > 0 ?
	    (double)tt->all.sum_ns / (double)tt->all.count / 1000 : 0;
}

/* What the report says was asked for: o's, and b's as it was settled. */
static void
asked(struct bench_asked *a, const struct bench *b, const struct opts *o,
    const char *addr)
{
	a->target = addr;
	a->proto = b->nts == BENCH_NTS_NTP ? "nts" :
	    b->nts == BENCH_NTS_KE ? "nts-ke" :
	    b->proto == BENCH_PROTO_MSEC ? "msec" : wire_proto_name(b->proto);
	a->transport = b->nts == BENCH_NTS_KE ? "tls" :
	    b->type == SOCK_STREAM ? "tcp" : "udp";
	a->io = b->engine->io;
	a->conc = o->conc;
	a->timeout_ms = (int)o->timeout_ms;
	a->spread = b->spread;
	a->duration_ms = o->duration_ms;
	a->count = o->count;
	a->quiet = o->quiet;
	a->histogram = o->histogram;
	a->json = o->json;
}

int
main(int argc, char *argv[])
{
	static struct opts		 o;
	static struct bench		 b;
	static struct bench_totals	 tt;
	struct bench_asked		 a;
	struct bench_worker		*w[MAXTHREADS];
	struct rusage			 ru0;
	char				 addr[NET_ADDRSTRLEN];
	int				 i, nw, show;

	log_init("stampbench");
	parse(&o, argc, argv);
	target(&b, &o, addr);
	choose_engine(&b, &o);
	nw = o.nthreads < o.conc ? o.nthreads : o.conc;
	workers_make(w, nw, &b, o.conc);
	signal(SIGPIPE, SIG_IGN);
	show = !o.quiet && !o.json && isatty(STDOUT_FILENO);
	if (getrusage(RUSAGE_SELF, &ru0) == -1)
		fatal("getrusage");

	b.t0 = bench_worker_now(CLOCK_MONOTONIC);
	if (o.duration_ms > 0)
		b.end = b.t0 + o.duration_ms * 1000000;
	tt.nrun = workers_run(w, nw, &b, show, &tt);
	workers_sum(w, &b, &ru0, &tt);
	if (show)
		fprintf(stderr, "\r%*s\r", 70, "");
	asked(&a, &b, &o, addr);
	if (bench_report(&tt, &a) == -1)
		fatal("stdout");

	for (i = 0; i < nw; i++)
		bench_worker_free(w[i]);
	if (tt.failed || tt.interrupted || tt.kind[BENCH_OK] == 0 ||
	    tt.kind[BENCH_OK] != tt.total)
		return 1;
	return 0;
}
