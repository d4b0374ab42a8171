/*
 * sig.h: signals, turned into something a loop can wait on.
 *
 * The handlers only set flags and write one byte to a self-pipe, so a
 * loop that polls sig_fd() wakes for a signal and reads the flags at a
 * point of its own choosing.  Handlers are installed without SA_RESTART:
 * a blocking accept or sleep returns EINTR and its loop sees the flag.
 */
#ifndef STAMP_SIG_H
#define STAMP_SIG_H

#define SIG_STOP	0x1	/* SIGTERM, SIGINT: stop, finish in flight */
#define SIG_RELOAD	0x2	/* SIGHUP: reopen the log */
#define SIG_STATS	0x4	/* SIGUSR1, SIGALRM: print the counters */
#define SIG_CHILD	0x8	/* SIGCHLD: a child of a pool ended */
#define SIG_UPGRADE	0x10	/* SIGUSR2: exec the binary again in place */

/*
 * Install the handlers and make the self-pipe; ignore SIGPIPE.  A child
 * of a process model calls it again, so that it gets a pipe of its own.
 * Returns 0, or -1 and errno.
 */
int	sig_init(void);

/* The read end of the self-pipe: readable after any signal above. */
int	sig_fd(void);

/*
 * Empty the self-pipe and return the signals seen since the last call, as
 * SIG_* bits.  SIG_STOP, once seen, stays set in every later return.
 */
int	sig_take(void);

/*
 * Whether a signal came that sig_take has not returned yet, without a
 * system call: a wait that a signal interrupted is no failure.
 */
int	sig_pending(void);

/*
 * Whether SIGTERM or SIGINT asked for a stop, without emptying anything;
 * a stop of sig_stop does not count.
 */
int	sig_stopping(void);

/*
 * Stop as a SIGTERM would, for an upgrade: SIG_STOP in every later
 * sig_take of this process (until the next sig_init), and the self-pipe
 * made readable so that every loop waiting on it sees it.
 */
void	sig_stop(void);

/*
 * Block the signals above (sig_hold), so that they wait, pending, across
 * an execve until the new image has installed its handlers and calls
 * sig_release; in between, their default action would end the process.
 */
void	sig_hold(void);
void	sig_release(void);

/* Restore the default dispositions (in a child before it execs or exits). */
void	sig_default(void);

#endif /* STAMP_SIG_H */
