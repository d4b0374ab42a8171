/*
 * stats.c: the counters, summed for the report, the metrics page and the
 * watchdog.
 *
 * Never blocks and never allocates once stats_init has run: counting is
 * on every reply's path.  The page's view reads /proc, without a buffer
 * of its own on the heap: for the page alone, never on a reply's path.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
/* The listeners, whose place in the server numbers their counts. */
static const struct listener *lis;
static size_t		 nlis;
/* The main process, what it was when it started, and /proc's units. */
static pid_t		 main_pid;
static double		 main_start;	/* Unix time */
static long		 clk_tck, page_size;

static long long
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The file path into buf, NUL-terminated; its length, or -1. */
static ssize_t
slurp(const char *path, char *buf, size_t len)
{
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* Process pid's /proc/PID/stat into *st: 0, or -1. */
static int
proc_stat(pid_t pid, struct metrics_stat *st)
{
	char	 path[64], buf[1024];
	ssize_t	 n;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((n = slurp(path, buf, sizeof buf)) <= 0)
		return -1;
	return metrics_stat(buf, (size_t)n, st);
}

/*
 * When the main process started, in Unix time: /proc counts it in ticks
 * after boot.  Reckoned once, so that every page says the same.
 */
static double
main_started(void)
{
	struct metrics_stat	 st;
	struct timespec		 real, boot;

	if (clk_tck <= 0 || proc_stat(main_pid, &st) == -1 ||
	    clock_gettime(CLOCK_REALTIME, &real) == -1 ||
	    clock_gettime(CLOCK_BOOTTIME, &boot) == -1)
		return (double)started;
	return (double)real.tv_sec - (double)boot.tv_sec +
	    (double)(real.tv_nsec - boot.tv_nsec) / 1e9 +
	    (double)st.starttime / (double)clk_tck;
}

int
stats_init(const struct server *srv)
{
	size_t	 l;

	started = (long long)time(NULL);
	main_slot = &srv->stats[0];
	lis = srv->ls;
	nlis = srv->nls < METRICS_NLISTENERS ? srv->nls : METRICS_NLISTENERS;
	main_pid = getpid();
	clk_tck = sysconf(_SC_CLK_TCK);
	page_size = sysconf(_SC_PAGESIZE);
	main_start = main_started();
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

/* Where l stands among the server's listeners, or -1 (--inetd's own). */
static int
listener_index(const struct listener *l)
{
	uintptr_t	 p = (uintptr_t)l, base = (uintptr_t)lis;

	if (lis == NULL || p < base || p >= base + nlis * sizeof *lis)
		return -1;
	return (int)((p - base) / sizeof *lis);
}

void
stats_reply(struct stats *st, const struct listener *l)
{
	int	 dgram = l->type != SOCK_STREAM, i;

	stats_count(st, dgram ? STAT_UDP : STAT_TCP, 1);
	stats_count(st, STAT_REPLY + (dgram ? STAMP_NPROTO : 0) + l->proto,
	    1);
	if ((i = listener_index(l)) != -1)
		__atomic_fetch_add(&st->ls[i][1], 1, __ATOMIC_RELAXED);
}

void
stats_accepted(struct stats *st, const struct listener *l, int fd)
{
	int	 i;

	stats_count(st, STAT_ACCEPTED, 1);
	if ((i = listener_index(l)) != -1)
		__atomic_fetch_add(&st->ls[i][0], 1, __ATOMIC_RELAXED);
	if (accepted_us != NULL && fd >= 0 && fd < naccepted_us)
		accepted_us[fd] = now_us();
}

void
stats_announced(int kind, int sent)
{
	if (main_slot == NULL)
		return;
	if (sent && kind >= 0 && kind < METRICS_NANNOUNCE)
		stats_count(main_slot, STAT_ANNOUNCED + kind, 1);
	else if (!sent)
		stats_count(main_slot, STAT_ANNOUNCE_FAILED, 1);
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

/* The entries of the directory at path, but . and ..; or -1. */
static long long
entries(const char *path)
{
	char			 buf[4096] __attribute__((aligned(8)));
	const struct dirent64	*d;
	long long		 n = 0;
	ssize_t			 got, at;
	int			 fd;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	while ((got = getdents64(fd, buf, sizeof buf)) > 0)
		for (at = 0; at < got; at += d->d_reclen) {
			d = (const struct dirent64 *)(buf + at);
			if (strcmp(d->d_name, ".") != 0 &&
			    strcmp(d->d_name, "..") != 0)
				n++;
		}
	close(fd);
	return got == -1 ? -1 : n;
}

/*
 * Add process pid, whose stat is st, to p.  Its descriptors are counted
 * where the kernel shows them: a process that changed its user (-u, from
 * root) hides them from every other, its children included.
 */
static void
add_process(pid_t pid, const struct metrics_stat *st,
    struct metrics_process *p)
{
	char		 path[64];
	long long	 n;

	p->cpu_seconds += (double)st->ticks / (double)clk_tck;
	p->vsize += st->vsize;
	p->rss += st->rss * (unsigned long long)page_size;
	snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
	if ((n = entries(path)) > 0)
		p->open_fds += (unsigned long long)n;
}

/*
 * The main process and its children, the process models' workers, from
 * /proc: every process is looked at, as a parent's list of its children
 * needs a kernel option Debian's does not set.  The CPU of children gone
 * and waited for is in their parent's figure.
 */
static void
process_view(struct metrics_process *p)
{
	char			 buf[4096] __attribute__((aligned(8)));
	const struct dirent64	*d;
	struct metrics_stat	 st;
	struct rlimit		 rl;
	ssize_t			 got, at;
	long			 pid;
	char			*end;
	int			 fd;

	memset(p, 0, sizeof *p);
	if (main_pid <= 0 || clk_tck <= 0 || page_size <= 0 ||
	    proc_stat(main_pid, &st) == -1)
		return;
	add_process(main_pid, &st, p);
	if ((fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		while ((got = getdents64(fd, buf, sizeof buf)) > 0)
			for (at = 0; at < got; at += d->d_reclen) {
				d = (const struct dirent64 *)(buf + at);
				pid = strtol(d->d_name, &end, 10);
				if (*end != '\0' || pid <= 0 ||
				    pid == (long)main_pid ||
				    proc_stat((pid_t)pid, &st) == -1 ||
				    st.ppid != (long long)main_pid)
					continue;
				add_process((pid_t)pid, &st, p);
			}
		close(fd);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		p->max_fds = (unsigned long long)rl.rlim_cur;
	p->start = main_start;
	p->known = 1;
}

void
stats_view(const struct server *srv, struct metrics_view *v)
{
	unsigned long long	 sum[STAT_N];
	const struct stats	*st;
	struct metrics_listener	*ml;
	size_t			 i, l;
	int			 s, b;

	memset(v, 0, sizeof *v);
	sum_slots(srv, sum);
	v->nls = nlis;
	for (l = 0; l < nlis; l++) {
		ml = &v->ls[l];
		ml->name = srv->ls[l].name;
		ml->stream = srv->ls[l].type == SOCK_STREAM;
		ml->proto = srv->ls[l].spec.metrics ? -1 : srv->ls[l].proto;
	}
	for (i = 0; i < srv->nstats; i++) {
		st = &srv->stats[i];
		for (b = 0; b < METRICS_NBUCKETS; b++)
			v->bucket[b] += __atomic_load_n(&st->bucket[b],
			    __ATOMIC_RELAXED);
		v->latency_us += __atomic_load_n(&st->latency_us,
		    __ATOMIC_RELAXED);
		for (l = 0; l < nlis; l++) {
			v->ls[l].accepted += __atomic_load_n(&st->ls[l][0],
			    __ATOMIC_RELAXED);
			v->ls[l].replies += __atomic_load_n(&st->ls[l][1],
			    __ATOMIC_RELAXED);
		}
	}
	process_view(&v->proc);
	v->version = STAMP_VERSION;
	v->model = srv->model_name != NULL ? srv->model_name : "";
#ifdef STAMP_NTS
	v->tls = 1;
#endif
#ifdef STAMP_URING
	v->uring = 1;
#endif
	v->start = started;
	v->accepted = sum[STAT_ACCEPTED];
	v->closed = sum[STAT_CLOSED];
	v->workers = sum[STAT_WORKERS];
	for (s = 0; s < METRICS_NANNOUNCE; s++)
		v->announced[s] = sum[STAT_ANNOUNCED + s];
	v->announce_failed = sum[STAT_ANNOUNCE_FAILED];
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
