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
 * out of the environment (they are not for our children).  Returns 0, or
 * -1 with errno when NOTIFY_SOCKET names no usable socket.
 */
int	notify_init(void);

/*
 * Put NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID back as notify_init
 * found them, for the image an upgrade execs in this same process.
 */
void	notify_handover(void);

/* Send the lines of fmt, such as "READY=1\nMAINPID=%ld". */
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
