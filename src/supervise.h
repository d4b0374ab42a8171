/*
 * supervise.h: the one loop that waits on signals, for the pool and the
 * main thread, and the rules every loop of a model keeps when it waits.
 *
 * A loop that serves no client itself (a pool's parent, the main thread
 * of the event and uring models, a stop that waits for children or
 * threads, a delay in a process that serves one client) waits here: on
 * the signal pipe, on one fd of its own and on a deadline.  What each
 * signal means is decided in one place, supervise_signals.  Nothing here
 * serves a client, and nothing here exits.
 */
#ifndef STAMP_SUPERVISE_H
#define STAMP_SUPERVISE_H

#include "serve.h"

/*
 * What every loop does when its signal pipe is readable: take the
 * signals, print the counters on SIGUSR1, reopen the log on SIGHUP, and
 * on SIGUSR2 start the check of the new binary (upgrade_ask), and when it
 * passed (upgrade_poll) stop as on SIGTERM.
 * Returns the SIG_* bits taken, for the loop to act on SIG_STOP and
 * SIG_CHILD.
 */
int	supervise_signals(const struct server *srv);

/*
 * The loop.  Until step(arg, sigs) says SUPERVISE_DONE, or ms milliseconds
 * have passed (-1: no end), wait on the signal pipe and on fd (-1: none).
 * step is called first with 0, then after each wake, with the SIG_* bits
 * supervise_signals took and SUPERVISE_FD if fd is readable; it returns
 * SUPERVISE_DONE, or how long the loop may wait before calling it again
 * (-1: until a wake).  No wait outlasts the watchdog's beat.  Returns 0
 * when step said done, -1 when the time ran out.
 */
#define SUPERVISE_DONE	(-2)
#define SUPERVISE_FD	0x100	/* beyond every SIG_* bit */
int	supervise(const struct server *srv, int fd, int ms,
	    int (*step)(void *arg, int sigs), void *arg);

/*
 * Wait ms milliseconds, cut short by a stop and by nothing else; other
 * signals are acted on as supervise_signals does.  Returns the SIG_* bits
 * taken.
 */
int	supervise_sleep(const struct server *srv, int ms);

/*
 * A loop's wait for work (poll, epoll_wait, io_uring_enter: what) has
 * failed with err.  Short of memory or of a resource for a moment
 * (ENOMEM, EAGAIN, ENOBUFS), the failure is counted, logged at a limited
 * rate and tried again after SUPERVISE_RETRY_MS, for SUPERVISE_GIVE_UP_MS
 * in a row at most; anything else, or failing that long, ends the loop,
 * whose model then replaces it or stops the daemon.  *since is when the
 * failures began (0 while there are none: the caller sets it back after a
 * wait that works).  Returns the milliseconds to rest before the next
 * wait, or -1 to end.  One rule, so that a fault meets the same answer in
 * every model.
 */
#define SUPERVISE_RETRY_MS	10
#define SUPERVISE_GIVE_UP_MS	5000
/* A wait that failed after this long was no spin: a failure alone. */
#define SUPERVISE_ALONE_MS	100
int	supervise_wait_failed(const char *what, int err, long long *since,
	    struct stats *st);

/*
 * How long a stop waits for the replies in flight, in every model: a
 * delay ends at once, a PROXY header and then the drain may each take
 * --linger, and a grace beyond those before a process is killed.
 */
#define SUPERVISE_STOP_GRACE_MS	5000
int	supervise_stop_ms(const struct server *srv);

#endif /* STAMP_SUPERVISE_H */
