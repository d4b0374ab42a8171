/*
 * notify.c: sd_notify(3)'s protocol, by hand: the daemon depends on libc
 * alone.  A message that cannot be sent is let go, counted, and told in
 * the log at a limited rate: systemd's absence, or a reader that stops
 * reading, must never stop a server.  Nothing here waits: every send is
 * MSG_DONTWAIT, as systemd's own sd_notify does.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"
#include "util.h"

/* How notify_handover tells the image an upgrade execs where it is. */
#define NOTIFY_FD_ENV	"STAMPD_NOTIFY_FD"

/* Messages dropped are told at most once in this long. */
#define NOTIFY_TELL_MS	10000

static int			 fd = -1;
static pid_t			 self;
static long long		 watchdog_ms;	/* WATCHDOG_USEC, in ms */
static long long		 watchdog_us;	/* as it was given */
static long long		 fed;		/* when it was last fed */
static unsigned long long	 dropped;	/* messages not sent */
static long long		 told = -NOTIFY_TELL_MS; /* when last said */

/*
 * A message was not sent (the socket full: its reader stopped reading;
 * or gone): count it, and say so now and then, with the count so far.
 */
static void
drop(int err)
{
	long long	 now = util_now_ms();

	dropped++;
	if (now - told < NOTIFY_TELL_MS)
		return;
	told = now;
	errno = err;
	log_warn("NOTIFY_SOCKET: %llu message%s dropped so far, the last "
	    "for", dropped, dropped == 1 ? "" : "s");
}

/* WATCHDOG_USEC, if WATCHDOG_PID is unset or names us. */
static void
watchdog_init(void)
{
	const char	*usec = getenv("WATCHDOG_USEC");
	const char	*pid = getenv("WATCHDOG_PID");
	long long	 n, p = self;

	if (usec != NULL && util_number(usec, 1000, 86400000000LL, &n) ==
	    NULL && (pid == NULL || util_number(pid, 1, 1 << 30, &p) == NULL) &&
	    p == self) {
		watchdog_ms = n / 1000;
		watchdog_us = n;
	}
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

/*
 * The socket the image before an upgrade connected, as notify_handover
 * left it: connected as root, perhaps, which this image may no longer be.
 * Returns 0 if it is one.
 */
static int
kept(void)
{
	const char	*num = getenv(NOTIFY_FD_ENV);
	struct stat	 sb;
	long long	 n;

	if (num == NULL || util_number(num, 3, INT_MAX, &n) != NULL ||
	    fstat((int)n, &sb) == -1 || !S_ISSOCK(sb.st_mode) ||
	    fcntl((int)n, F_SETFD, FD_CLOEXEC) == -1)
		return -1;
	fd = (int)n;
	return 0;
}

int
notify_init(void)
{
	struct sockaddr_un	 to;
	socklen_t		 tolen;
	const char		*path = getenv("NOTIFY_SOCKET");
	size_t			 len;
	int			 have;

	self = getpid();
	watchdog_init();
	have = kept() == 0;
	unsetenv(NOTIFY_FD_ENV);
	if (path == NULL || have) {
		unsetenv("NOTIFY_SOCKET");
		return 0;
	}
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len < 2 ||
	    len >= sizeof to.sun_path) {
		errno = EINVAL;
		return -1;
	}
	memset(&to, 0, sizeof to);
	to.sun_family = AF_UNIX;
	memcpy(to.sun_path, path, len);
	/* An abstract name starts with a NUL and is not NUL-terminated. */
	if (path[0] == '@')
		to.sun_path[0] = '\0';
	tolen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
	    (path[0] == '/'));
	/*
	 * Connected now, while we may still be root: the socket's
	 * permissions are checked here, not when nobody sends later.
	 */
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&to, tolen) == -1) {
		close(fd);
		fd = -1;
		return -1;
	}
	unsetenv("NOTIFY_SOCKET");
	return 0;
}

int
notify_fd(void)
{
	return fd;
}

void
notify_handover(int kept_fd)
{
	char	 num[32];

	if (kept_fd != -1) {
		snprintf(num, sizeof num, "%d", kept_fd);
		setenv(NOTIFY_FD_ENV, num, 1);
	}
	if (watchdog_us > 0) {
		snprintf(num, sizeof num, "%lld", watchdog_us);
		setenv("WATCHDOG_USEC", num, 1);
		snprintf(num, sizeof num, "%ld", (long)self);
		setenv("WATCHDOG_PID", num, 1);
	}
}

void
notify(const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;
	int	 n, saved = errno;

	if (fd == -1 || getpid() != self)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/*
	 * Never wait: a reader that stops reading would stop the loop that
	 * sends, and with it the serving, the watchdog and the stop.
	 */
	if (n > 0 && (size_t)n < sizeof msg &&
	    send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == -1)
		drop(errno);
	errno = saved;
}

int
notify_beat_ms(void)
{
	/* Four turns an interval: a loop late by one still feeds it. */
	return watchdog_ms > 0 ? (int)(watchdog_ms / 4 > 0 ?
	    watchdog_ms / 4 : 1) : 0;
}

void
notify_watchdog(int (*fresh)(void *, long long), void *arg)
{
	long long	 now;

	if (watchdog_ms == 0 || fd == -1)
		return;
	now = util_now_ms();
	if (now - fed < watchdog_ms / 2 || !fresh(arg, watchdog_ms))
		return;
	fed = now;
	notify("WATCHDOG=1");
}
