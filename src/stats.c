/*
 * stats.c: the counters, summed for the report, the metrics page and the
 * watchdog.
 *
 * Never blocks and never allocates once stats_init has run: counting is
 * on every reply's path.
 */
#include <sys/types.h>
#include <sys/resource.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "notify.h"
#include "server.h"
#include "stats.h"
#include "util.h"

/*
 * For a metrics listener or -v: when each open connection was accepted,
 * by fd (microseconds, monotonic).  NULL without: no clock read per
 * accept.
 */
static long long	*accepted_us;
static int		 naccepted_us;
static long long	 started;		/* Unix time */
static struct stats	*main_slot;
static __thread struct stats *thread_slot;

static long long
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int
stats_init(const struct server *srv)
{
	size_t	 l;

	started = (long long)time(NULL);
	main_slot = &srv->stats[0];
	for (l = 0; l < srv->nls && !srv->ls[l].spec.metrics; l++)
		;
	if (l == srv->nls && !srv->verbose)
		return 0;
	naccepted_us = util_max_fds();
	accepted_us = calloc((size_t)naccepted_us, sizeof *accepted_us);
	return accepted_us == NULL ? -1 : 0;
}

void
stats_slot(struct stats *st)
{
	thread_slot = st;
}

struct stats *
stats_here(void)
{
	return thread_slot != NULL ? thread_slot : main_slot;
}

void
stats_reply(struct stats *st, int dgram, int proto)
{
	stats_count(st, dgram ? STAT_UDP : STAT_TCP, 1);
	stats_count(st, STAT_REPLY + (dgram ? STAMP_NPROTO : 0) + proto, 1);
}

void
stats_accepted(int fd)
{
	if (accepted_us != NULL && fd < naccepted_us)
		accepted_us[fd] = now_us();
}

void
stats_latency(int fd, struct stats *st)
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

long long
stats_age_us(int fd)
{
	if (accepted_us == NULL || fd < 0 || fd >= naccepted_us ||
	    accepted_us[fd] == 0)
		return -1;
	return now_us() - accepted_us[fd];
}

/* Every slot's counters, summed. */
static void
sum_slots(const struct server *srv, unsigned long long *sum)
{
	size_t	 i;
	int	 s;

	memset(sum, 0, STAT_N * sizeof *sum);
	for (i = 0; i < srv->nstats; i++)
		for (s = 0; s < STAT_N; s++)
			sum[s] += __atomic_load_n(&srv->stats[i].v[s],
			    __ATOMIC_RELAXED);
}

void
stats_view(const struct server *srv, struct metrics_view *v)
{
	unsigned long long	 sum[STAT_N];
	const struct stats	*st;
	size_t			 i;
	int			 s, b;

	memset(v, 0, sizeof *v);
	sum_slots(srv, sum);
	for (i = 0; i < srv->nstats; i++) {
		st = &srv->stats[i];
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
	v->ke_ok = sum[STAT_NTSKE_OK];
	for (s = 0; s < METRICS_NKE; s++)
		v->ke_refused[s] = sum[STAT_NTSKE_VERSION + s];
	v->cookies = sum[STAT_NTS_COOKIES];
	for (s = 0; s < METRICS_NNTS; s++)
		v->nts[s] = sum[STAT_NTS_OK + s];
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
	v->access_dropped = sum[STAT_LOG_DROPPED];
	for (s = 0; s < NTP_NVERDICT; s++)
		v->ntp[s] = sum[STAT_NTP_VERDICT + s];
}

/* Replies of protocol p, over both transports. */
static unsigned long long
replies(const unsigned long long *sum, int p)
{
	return sum[STAT_REPLY + p] + sum[STAT_REPLY + STAMP_NPROTO + p];
}

/* NTP requests that got no reply, whatever the reason. */
static unsigned long long
unanswered(const unsigned long long *sum)
{
	unsigned long long	 n = 0;
	int			 v;

	for (v = 0; v < NTP_NVERDICT; v++)
		if (v != NTP_ANSWER)
			n += sum[STAT_NTP_VERDICT + v];
	return n;
}

void
stats_report(const struct server *srv)
{
	unsigned long long	 sum[STAT_N];

	sum_slots(srv, sum);
	log_info("stats: accepted %llu, replies tcp %llu udp %llu "
	    "(stamp %llu time %llu daytime %llu ntp %llu), short %llu, "
	    "reset %llu, shed %llu, linger timeouts %llu, errors %llu, "
	    "limited %llu, dropped %llu, bad headers %llu, "
	    "ntp unanswered %llu, ke sessions %llu, ke refused %llu, "
	    "cookies issued %llu, nts replies %llu, nts naks %llu, "
	    "nts dropped %llu, access lines dropped %llu",
	    sum[STAT_ACCEPTED], sum[STAT_TCP], sum[STAT_UDP],
	    replies(sum, STAMP_PROTO_STAMP), replies(sum, STAMP_PROTO_TIME),
	    replies(sum, STAMP_PROTO_DAYTIME), replies(sum, STAMP_PROTO_NTP),
	    sum[STAT_SHORT],
	    sum[STAT_RESET], sum[STAT_SHED], sum[STAT_LINGER_TIMEOUT],
	    sum[STAT_ERRORS], sum[STAT_LIMITED], sum[STAT_DROPPED],
	    sum[STAT_BADHDR], unanswered(sum), sum[STAT_NTSKE_OK],
	    sum[STAT_NTSKE_VERSION] + sum[STAT_NTSKE_ALPN] +
	    sum[STAT_NTSKE_HANDSHAKE] + sum[STAT_NTSKE_BAD] +
	    sum[STAT_NTSKE_GONE], sum[STAT_NTS_COOKIES], sum[STAT_NTS_OK],
	    sum[STAT_NTS_NAK_COOKIE] + sum[STAT_NTS_NAK_AUTH],
	    sum[STAT_NTS_DROP] + sum[STAT_NTS_PLAIN], sum[STAT_LOG_DROPPED]);
	notify("STATUS=accepted %llu, replies tcp %llu udp %llu, limited %llu,"
	    " errors %llu", sum[STAT_ACCEPTED], sum[STAT_TCP], sum[STAT_UDP],
	    sum[STAT_LIMITED], sum[STAT_ERRORS]);
}

void
stats_beat(struct stats *st, int alive)
{
	if (notify_beat_ms() > 0)
		__atomic_store_n(&st->beat, alive ? util_now_ms() : 0,
		    __ATOMIC_RELAXED);
}

int
stats_fresh(void *arg, long long ms)
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
