/*
 * notify.h: telling systemd how the daemon is doing.
 *
 * The protocol of sd_notify(3), written from its documentation with libc
 * alone: one datagram of "KEY=value" lines to the unix socket that
 * NOTIFY_SOCKET names (a path, or an abstract name after "@").  Without
 * NOTIFY_SOCKET every call here does nothing.  Only the process that
 * called notify_init speaks: systemd listens to the main pid alone.
 */
#ifndef STAMP_NOTIFY_H
#define STAMP_NOTIFY_H

/*
 * Read NOTIFY_SOCKET, and WATCHDOG_USEC with WATCHDOG_PID, and take them
 * out of the environment (they are not for our children).  In the image
 * an upgrade exec'd, take the socket the one before kept open instead
 * (notify_handover).  Returns 0, or -1 with errno when NOTIFY_SOCKET
 * names no usable socket.
 */
int	notify_init(void);

/* The connected socket, or -1: for an upgrade to keep across its exec. */
int	notify_fd(void);

/*
 * For the image an upgrade execs in this same process: say in the
 * environment where the socket of notify_fd now is, kept_fd (open across
 * the exec; -1: none), and put WATCHDOG_USEC and WATCHDOG_PID back as
 * notify_init found them.  The socket is kept, not connected again: it
 * was connected while we may still have been root.
 */
void	notify_handover(int kept_fd);

/*
 * Send the lines of fmt, such as "READY=1\nMAINPID=%ld", without ever
 * waiting: a message the socket has no room for (its reader is not
 * reading) is dropped, counted, and told in the log at most once in ten
 * seconds, with the count so far.
 */
void	notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * How often the serving loops must show they turn, in milliseconds, so
 * that the watchdog is fed: a quarter of WATCHDOG_USEC; 0: no watchdog.
 */
int	notify_beat_ms(void);

/*
 * Feed the watchdog (WATCHDOG=1) if it is due and fresh says the serving
 * loops all turned within WATCHDOG_USEC: a loop that is wedged starves it,
 * and systemd restarts the daemon.  Cheap when not due.
 */
void	notify_watchdog(int (*fresh)(void *arg, long long within_ms),
	    void *arg);

#endif /* STAMP_NOTIFY_H */
