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

/* Whether a stop was asked for, without emptying anything. */
int	sig_stopping(void);

/* Restore the default dispositions (in a child before it execs or exits). */
void	sig_default(void);

#endif /* STAMP_SIG_H */
