/*
 * upgrade.h: SIGUSR2, the binary exec'd again in the same process.
 *
 * As nginx does on the same signal, but in place: the main process checks
 * the binary at its path with the same arguments and --check, beside
 * serving (in every model, no loop waits for the check), stops as on
 * SIGTERM if that passed (every model finishes what is in flight), and
 * main then execs that binary with the listening sockets still open,
 * handed over as systemd hands them (listen_handover).  Same pid, so
 * pidfiles, MAINPID and a container's PID 1 stay right.  A binary that
 * fails the check, or takes longer than UPGRADE_CHECK_MS, is named in the
 * log, and the daemon goes on serving.  SIGTERM wins over SIGUSR2 at
 * every step: during the check it kills the check, during the stop it
 * stops the exec, and one that comes across the exec stops the new image
 * before it serves.
 *
 * Passing --check is not enough: the checker then starts the binary on
 * trial with the listening sockets (upgrade_serving), and only an image
 * that got through its whole start, up to the point of serving, and
 * exited 0 there is exec'd.  The check and the trial share one
 * UPGRADE_CHECK_MS.  An image older than the trial start would serve in
 * its trial: downgrade to one with a restart.
 */
#ifndef STAMP_UPGRADE_H
#define STAMP_UPGRADE_H

#include <stddef.h>

/* How long the check of the new binary may take before it is killed. */
#define UPGRADE_CHECK_MS	5000

/* The environment variable that tells the new image it is one. */
#define UPGRADE_ENV		"STAMPD_UPGRADE"

/*
 * Call first in main, before argv is parsed (getopt may reorder it).
 * Records the binary's path (argv[0] made absolute, so that a package
 * that replaces the file or a symlink switched to another version is
 * what runs next; /proc/self/exe when argv[0] was found through PATH),
 * the arguments and the main pid.  Takes UPGRADE_ENV out of the
 * environment.  Returns 1 if this image was exec'd by an upgrade, 0 if
 * not, -1 with errno if memory ran out.
 */
int		 upgrade_init(int argc, char *argv[]);

/*
 * SIGUSR2 was taken: in the main process, and unless a stop, a check or an
 * upgrade is already under way, start the binary with --check and the same
 * arguments in a checker process, and return 0 at once; the loop goes on
 * serving.  The checker kills the check at UPGRADE_CHECK_MS.  Returns -1
 * if no check started (logged, but for a child of a pool, which says
 * nothing).
 */
int		 upgrade_ask(void);

/*
 * Called by every loop of the main process on each wake for signals (the
 * checker's end comes as SIGCHLD): whether the check ended and passed.
 * If it passed: tell systemd RELOADING=1, make every loop stop (sig_stop)
 * and return 1.  If it failed: log why (its exit status, its signal,
 * exec's errno, or the timeout) and return 0; the daemon goes on as if
 * nothing had happened.  A stop (SIGTERM, SIGINT) that came during the
 * check cancels it (upgrade_cancel).  0 while nothing ended.
 */
int		 upgrade_poll(void);

/* A stop came: kill a check under way, and log that no upgrade follows. */
void		 upgrade_cancel(void);

/*
 * Whether the stop under way is an upgrade's: its check passed.  A SIGTERM
 * may still come, until the exec: the caller holds the signals (sig_hold),
 * then looks at sig_stopping, and upgrade_exec looks again.
 */
int		 upgrade_pending(void);

/*
 * The last step: exec the binary with the same arguments and UPGRADE_ENV
 * set.  The caller has handed the sockets over (listen_handover), held
 * the signals (sig_hold) and stopped every timer.  Returns only if execve
 * failed: -1 with errno, EINTR if a SIGTERM or SIGINT came (handled or
 * held): the caller then stops instead.
 */
int		 upgrade_exec(void);

struct listener;

/*
 * Once the listeners are open (in main, before any worker or thread):
 * make ready what the trial start of a new binary is given, the n
 * listeners of ls (with their --reuseport groups of workers) as
 * listen_handover would hand them over, and the environment; keyfd,
 * unless -1, is the NTS secret (ntskey_memfd), named to the trial in
 * keyenv as an upgrade names it.  If that fails (memory, logged), every
 * upgrade is refused.
 */
void		 upgrade_serving(const struct listener *ls, size_t n,
		    int workers, int keyfd, const char *keyenv);

/*
 * Whether this image is a new binary's trial start: main goes through the
 * whole start and returns 0 just before it would serve.
 */
int		 upgrade_trial(void);

/* The path of the binary, as upgrade_init found it, for messages. */
const char	*upgrade_path(void);

#endif /* STAMP_UPGRADE_H */
