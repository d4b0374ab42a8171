/*
 * log.c: stderr or syslog, one line per message, errno preserved.
 *
 * A line is formatted whole into a buffer and written with one write(2),
 * so lines from several threads or processes never interleave.  What
 * clients cause is limited, so that it cannot flood the log: warnings a
 * few a second per thread, the access log (-v) by a budget every thread
 * and process shares, taken without a lock.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE	1024
#define LIMIT_PER_SEC	5
#define NS		1000000000LL

static const char	*progname = "stampd";
static int		 to_syslog;
static int		 stamped;
static int		 journal;	/* stderr is journald's stream */
static int		 quiet;		/* log_info says nothing */

/*
 * The access log's budget, a token bucket kept as one time (the generic
 * cell rate algorithm): tat is when the bucket will be full again, each
 * line moves it a gap later, and a line that would move it more than a
 * burst ahead of now is dropped.  One compare-and-swap a line, no lock.
 */
struct access_budget {
	int			 rate;		/* lines a second; 0: all */
	long long		 tat;		/* ns, monotonic */
	long long		 summary;	/* ns: the last summary */
	unsigned long long	 dropped;	/* since that summary */
};
static struct access_budget	 own_budget = { .rate = LOG_ACCESS_RATE };
static struct access_budget	*budget = &own_budget;

/*
 * Whether stderr is the stream systemd's journal gave us: JOURNAL_STREAM
 * names its device and inode (systemd.exec(5)), and a stderr redirected
 * elsewhere since is not it.
 */
static int
to_journal(void)
{
	struct stat	 sb;
	const char	*js = getenv("JOURNAL_STREAM");
	char		 want[64];

	if (js == NULL || fstat(STDERR_FILENO, &sb) == -1)
		return 0;
	snprintf(want, sizeof want, "%llu:%llu", (unsigned long long)sb.st_dev,
	    (unsigned long long)sb.st_ino);
	return strcmp(js, want) == 0;
}

void
log_init(const char *name)
{
	progname = name;
	journal = to_journal();
}

void
log_syslog(void)
{
	openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	to_syslog = 1;
}

void
log_reopen(void)
{
	if (to_syslog) {
		closelog();
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	}
}

void
log_timestamps(int on)
{
	stamped = on;
}

/* GNU strerror_r may return a static string instead of filling buf. */
static const char *
errstr(char *buf, size_t len)
{
	return strerror_r(errno, buf, len);
}

static void
vlog(int pri, const char *reason, const char *fmt, va_list ap)
{
	char		 line[LOG_LINE];
	struct timespec	 ts;
	struct tm	 tm;
	size_t		 n = 0;
	int		 saved = errno, r;

	/*
	 * journald reads a priority from "<N>", and stamps and names each
	 * line itself: a name of ours would stand there twice.
	 */
	if (!to_syslog && journal) {
		r = snprintf(line, sizeof line, "<%d>", pri);
		n = r > 0 ? (size_t)r : 0;
	} else if (!to_syslog && stamped) {
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ ", &tm);
	}
	if (!to_syslog && !journal) {
		r = snprintf(line + n, sizeof line - n, "%s: ", progname);
		n += r > 0 ? (size_t)r : 0;
	}
	r = vsnprintf(line + n, sizeof line - n, fmt, ap);
	n = r > 0 && n + (size_t)r < sizeof line ? n + (size_t)r :
	    sizeof line - 1;
	if (reason != NULL) {
		r = snprintf(line + n, sizeof line - n, ": %s", reason);
		n = r > 0 && n + (size_t)r < sizeof line ? n + (size_t)r :
		    sizeof line - 1;
	}
	if (to_syslog)
		syslog(pri, "%s", line);
	else {
		if (n >= sizeof line - 1)
			n = sizeof line - 2;
		line[n++] = '\n';
		/* A failed write to stderr has nowhere left to be told. */
		if (write(STDERR_FILENO, line, n) == -1)
			errno = saved;
	}
	errno = saved;
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	vlog(LOG_INFO, NULL, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	char	 buf[128];

	va_start(ap, fmt);
	vlog(LOG_WARNING, errstr(buf, sizeof buf), fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, NULL, fmt, ap);
	va_end(ap);
}

/* Whether this thread may log one more limited line this second. */
static int
within_limit(void)
{
	static __thread time_t	 second;
	static __thread int	 count;
	time_t			 now = time(NULL);

	if (now != second) {
		second = now;
		count = 0;
	}
	return ++count <= LIMIT_PER_SEC;
}

void
log_limited(const char *fmt, ...)
{
	va_list	 ap;
	char	 buf[128];

	if (!within_limit())
		return;
	va_start(ap, fmt);
	vlog(LOG_WARNING, errstr(buf, sizeof buf), fmt, ap);
	va_end(ap);
}

void
log_limitedx(const char *fmt, ...)
{
	va_list	 ap;

	if (!within_limit())
		return;
	va_start(ap, fmt);
	vlog(LOG_WARNING, NULL, fmt, ap);
	va_end(ap);
}

int
log_access_init(int rate)
{
	void	*p;

	p = mmap(NULL, sizeof *budget, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	budget = p;
	budget->rate = rate;
	return 0;
}

/* The lines dropped since the last summary, said now if one is due. */
static void
access_summary(long long now)
{
	unsigned long long	 n;
	long long		 last;

	if (__atomic_load_n(&budget->dropped, __ATOMIC_RELAXED) == 0)
		return;
	last = __atomic_load_n(&budget->summary, __ATOMIC_RELAXED);
	/* One thread of all wins the summary of a period. */
	if (now - last < LOG_ACCESS_SUMMARY_S * NS ||
	    !__atomic_compare_exchange_n(&budget->summary, &last, now, 0,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;
	if ((n = __atomic_exchange_n(&budget->dropped, 0,
	    __ATOMIC_RELAXED)) > 0)
		log_info("%llu access lines dropped: over %d a second", n,
		    budget->rate);
}

int
log_access_admit(void)
{
	const int	 rate = budget->rate;
	long long	 gap, now, tat, next;
	struct timespec	 ts;

	if (rate == 0)
		return 1;
	/* The burst is a second's worth: as many lines as the rate. */
	gap = NS / rate;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (long long)ts.tv_sec * NS + ts.tv_nsec;
	tat = __atomic_load_n(&budget->tat, __ATOMIC_RELAXED);
	do {
		next = tat > now ? tat : now;
		if (next - now > (long long)(rate - 1) * gap) {
			__atomic_fetch_add(&budget->dropped, 1,
			    __ATOMIC_RELAXED);
			return 0;
		}
		next += gap;
	} while (!__atomic_compare_exchange_n(&budget->tat, &tat, next, 1,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	access_summary(now);
	return 1;
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	char	 buf[128];

	va_start(ap, fmt);
	vlog(LOG_ERR, errstr(buf, sizeof buf), fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

void
log_quiet(void)
{
	quiet = 1;
}

int
log_journal(void)
{
	return journal;
}
