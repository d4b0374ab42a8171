/*
 * upgrade.h: SIGUSR2, the binary exec'd again in the same process.
 *
 * As nginx does on the same signal, but in place: the main process checks
 * the binary at its path with the same arguments and --check, stops as on
 * SIGTERM if that passed (every model finishes what is in flight), and
 * main then execs that binary with the listening sockets still open,
 * handed over as systemd hands them (listen_handover).  Same pid, so
 * pidfiles, MAINPID and a container's PID 1 stay right.  A binary that
 * fails the check is named in the log, and the daemon goes on serving.
 */
#ifndef STAMP_UPGRADE_H
#define STAMP_UPGRADE_H

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
 * SIGUSR2 was taken: in the main process, and unless a stop or an upgrade
 * is already under way, run the binary with --check and the same
 * arguments, with a bounded wait (UPGRADE_CHECK_MS, then it is killed by
 * pid).  If it passed: tell systemd RELOADING=1, make every loop stop
 * (sig_stop) and return 0.  If not: log why (its exit status, its signal,
 * or exec's errno) and return -1; the daemon goes on as if nothing had
 * happened.  A child of a pool returns -1 and says nothing.
 */
int		 upgrade_ask(void);

/* Whether the stop under way is an upgrade's (and no SIGTERM came since). */
int		 upgrade_pending(void);

/*
 * The last step: exec the binary with the same arguments and UPGRADE_ENV
 * set.  The caller has handed the sockets over (listen_handover), held
 * the signals (sig_hold) and stopped every timer.  Returns only if execve
 * failed: -1 with errno.
 */
int		 upgrade_exec(void);

/* The path of the binary, as upgrade_init found it, for messages. */
const char	*upgrade_path(void);

#endif /* STAMP_UPGRADE_H */
