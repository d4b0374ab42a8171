/*
 * supervise.c: waiting on signals, in one loop.
 *
 * Every loop here polls the signal pipe and at most one fd of its own;
 * a poll that fails (short of memory) is retried a moment later, never
 * spun on, and never ends the loop: the ones that serve go on meanwhile.
 */
#include <errno.h>
#include <poll.h>

#include "log.h"
#include "net.h"
#include "notify.h"
#include "serve.h"
#include "sig.h"
#include "supervise.h"
#include "upgrade.h"
#include "util.h"

int
supervise_signals(const struct server *srv)
{
	static int	 said;
	int		 seen = sig_take();

	if (seen & SIG_STATS)
		stats_report(srv);
	if (seen & SIG_RELOAD) {
		log_reopen();
		serve_reload();
	}
	/*
	 * The check starts here and runs beside serving; its end (SIGCHLD)
	 * or a stop is looked at on every wake.  A child takes no notice.
	 */
	if (seen & SIG_UPGRADE)
		upgrade_ask();
	if (upgrade_poll())
		seen |= SIG_STOP;
	/* An upgrade's stop is no stop to systemd: it said RELOADING=1. */
	if (seen & SIG_STOP && sig_stopping() && !said) {
		notify("STOPPING=1");
		said = 1;
	}
	return seen;
}

/* The shorter of two waits, where -1 is for ever. */
static int
shorter(int a, int b)
{
	if (a == -1)
		return b;
	return b == -1 || a < b ? a : b;
}

int
supervise(const struct server *srv, int fd, int ms,
    int (*step)(void *arg, int sigs), void *arg)
{
	struct pollfd	 pfd[2];
	long long	 deadline = ms < 0 ? -1 : util_now_ms() + ms;
	int		 left, next, sigs = 0;

	pfd[0].fd = sig_fd();
	pfd[1].fd = fd;		/* poll skips a negative one */
	pfd[0].events = pfd[1].events = POLLIN;
	while ((next = step(arg, sigs)) != SUPERVISE_DONE) {
		left = -1;
		if (deadline != -1 &&
		    (left = (int)(deadline - util_now_ms())) <= 0)
			return -1;
		/* The watchdog wants each loop that feeds it to turn. */
		left = shorter(shorter(left, next),
		    notify_beat_ms() > 0 ? notify_beat_ms() : -1);
		sigs = 0;
		pfd[0].revents = pfd[1].revents = 0;
		if (net_poll(pfd, 2, left) == -1 &&
		    (errno != EINTR || !sig_pending())) {
			log_limited("poll");
			util_sleep_ms(SUPERVISE_RETRY_MS);
		}
		/*
		 * The signals are read every turn, not only when poll says:
		 * a poll that keeps failing must hide no stop and no child.
		 */
		sigs = supervise_signals(srv);
		if (pfd[1].revents & POLLIN)
			sigs |= SUPERVISE_FD;
	}
	return 0;
}

/* supervise_sleep's step: the signals so far, and whether one stops. */
static int
sleep_step(void *arg, int sigs)
{
	int	*seen = arg;

	*seen |= sigs;
	return *seen & SIG_STOP ? SUPERVISE_DONE : -1;
}

int
supervise_sleep(const struct server *srv, int ms)
{
	int	 seen = 0;

	supervise(srv, -1, ms, sleep_step, &seen);
	return seen;
}

int
supervise_wait_failed(const char *what, int err, long long *since,
    struct stats *st)
{
	long long	 now = util_now_ms();

	errno = err;
	/* EINTR, EBUSY: "ask again", but not turn after turn for good. */
	if (err != ENOMEM && err != EAGAIN && err != ENOBUFS &&
	    err != EINTR && err != EBUSY) {
		log_warn("%s", what);
		return -1;
	}
	stats_count(st, STAT_ERRORS, 1);
	log_limited("%s", what);
	if (*since == 0)
		*since = now;
	if (now - *since > SUPERVISE_GIVE_UP_MS) {
		log_warnx("%s: failing for %d s: giving up", what,
		    SUPERVISE_GIVE_UP_MS / 1000);
		return -1;
	}
	return SUPERVISE_RETRY_MS;
}

int
supervise_stop_ms(const struct server *srv)
{
	return 2 * srv->linger_ms + SUPERVISE_STOP_GRACE_MS;
}
