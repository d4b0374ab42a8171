/*
 * log.c: stderr or syslog, one line per message, errno preserved.
 *
 * A line is formatted whole into a buffer and written with one write(2),
 * so lines from several threads or processes never interleave.
 */
#include <sys/types.h>
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

static const char	*progname = "stampd";
static int		 to_syslog;
static int		 stamped;
static int		 journal;	/* stderr is journald's stream */

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

int
log_journal(void)
{
	return journal;
}
