/*
 * upgrade.c: check the new binary beside serving, then exec it in place.
 *
 * The check runs the binary with --check and the same arguments in a
 * process of its own, the checker's child, before anything stops: a binary
 * missing, not executable, refusing the arguments or hanging costs a log
 * line and no client.  The checker, a child of the main process, enforces
 * UPGRADE_CHECK_MS and writes one verdict to a pipe, then exits; its
 * SIGCHLD wakes whichever loop of the main process waits on signals, and
 * upgrade_poll reads the verdict there.  Its exit status is never needed,
 * so a pool that reaps every child (waitpid -1) takes nothing from us.
 * The checker and the check share a process group of their own, so that a
 * stop kills both with one kill.  Between fork and exec or _exit the
 * checker only makes async-signal-safe calls, as the event and threads
 * models fork with threads running.  Nothing here waits for the check.
 *
 * A check that passes is not yet a binary that starts: a wrapper may pass
 * --check and fail without it, and an image may crash in what --check
 * does not reach.  So the checker then starts the binary on trial: the
 * same arguments, the listening sockets handed over as an upgrade hands
 * them, UPGRADE_ENV saying "trial".  That image goes through the whole
 * start (options, sockets taken back, privileges dropped, every protocol
 * and model made ready) and exits 0 just before it would serve; it never
 * accepts or reads.  Only then has the binary passed.  The trial has what
 * is left of the same UPGRADE_CHECK_MS, and is in the checker's group.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"
#include "notify.h"
#include "sig.h"
#include "upgrade.h"

#define REAP_STEP_MS	5	/* between the checker's looks at the check */

enum { IDLE, CHECKING, PASSED };

/* What the checker found, written once to the verdict pipe. */
struct verdict {
	int	 trial;		/* of the trial start, not the check */
	int	 kind;
	int	 value;
};
enum {
	V_ENDED,	/* value: the check's wait status */
	V_EXEC,		/* value: execve's errno */
	V_TIMEOUT,	/* killed at UPGRADE_CHECK_MS */
	V_FAILED	/* value: errno of the checker's pipe, fork or wait */
};

static char	 *path;		/* absolute, or NULL: unknown */
static char	**again;	/* argv, as it came */
static char	**check;	/* argv[0] --check argv[1..] */
static pid_t	  self;
static int	  state;
static pid_t	  checker;	/* while CHECKING: leader of its group */
static int	  verdictfd = -1;	/* while CHECKING: its read end */

/* The trial start's: what upgrade_serving made ready for the checker. */
static int	 *handed;	/* the sockets, in the handover's order,
				   then the key's fd if keyed */
static int	  nhanded;	/* how many, the key's included */
static int	  keyed;	/* the last of handed is the key's */
static char	**trialenv;	/* the environment, LISTEN_PID to fill */
static char	 *trialpid;	/* in trialenv: "LISTEN_PID=" and room */
static int	  ontrial;	/* this image is a trial start */
static int	  unhanded;	/* in the checker: no room for them */

#define PID_ROOM	24	/* digits of a pid, and the NUL */

/* argv[0] as an absolute path, or the file /proc/self/exe names. */
static char *
find_self(const char *argv0)
{
	char	 buf[PATH_MAX], cwd[PATH_MAX];
	ssize_t	 n;

	if (argv0[0] == '/')
		return strdup(argv0);
	if (strchr(argv0, '/') != NULL) {
		if (getcwd(cwd, sizeof cwd) == NULL ||
		    snprintf(buf, sizeof buf, "%s/%s", cwd, argv0) >=
		    (int)sizeof buf)
			return NULL;
		return strdup(buf);
	}
	/* Found through PATH, which may differ later: take the file itself. */
	if ((n = readlink("/proc/self/exe", buf, sizeof buf - 1)) == -1)
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}

int
upgrade_init(int argc, char *argv[])
{
	const char	*env = getenv(UPGRADE_ENV);
	int		 i, was;

	ontrial = env != NULL && strcmp(env, "trial") == 0;
	was = env != NULL && (strcmp(env, "1") == 0 || ontrial);

	unsetenv(UPGRADE_ENV);
	self = getpid();
	if (argc < 1)
		return was;
	again = calloc((size_t)argc + 1, sizeof *again);
	check = calloc((size_t)argc + 2, sizeof *check);
	if (again == NULL || check == NULL)
		return -1;
	for (i = 0; i < argc; i++)
		again[i] = argv[i];
	check[0] = argv[0];
	check[1] = "--check";
	for (i = 1; i < argc; i++)
		check[i + 1] = argv[i];
	/* Unknown is not fatal: an upgrade is then refused, and says why. */
	path = find_self(argv[0]);
	return was;
}

/* Whether environment entry e is one the trial start sets or must lack. */
static int
handed_env(const char *e)
{
	static const char *const names[] = { "LISTEN_FDS=", "LISTEN_PID=",
	    "LISTEN_FDNAMES=", "NOTIFY_SOCKET=", "WATCHDOG_PID=",
	    "WATCHDOG_USEC=", "STAMPD_" };
	size_t	 i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strncmp(e, names[i], strlen(names[i])) == 0)
			return 1;
	return 0;
}

void
upgrade_serving(const struct listener *ls, size_t n, int workers,
    int keyfd, const char *keyenv)
{
	extern char	**environ;
	char		 *names = NULL;
	size_t		  ne = 0, k = 0;
	int		 *fds = NULL, m;

	/* The plan leaves room for one more fd: the key's. */
	if ((m = listen_handover_plan(ls, n, workers, &fds, &names)) == -1)
		goto none;
	while (environ[ne] != NULL)
		ne++;
	if ((trialenv = calloc(ne + 6, sizeof *trialenv)) == NULL ||
	    (trialpid = calloc(1, sizeof "LISTEN_PID=" + PID_ROOM)) == NULL ||
	    asprintf(&trialenv[k++], "LISTEN_FDS=%d", m) == -1 ||
	    asprintf(&trialenv[k++], "LISTEN_FDNAMES=%s", names) == -1 ||
	    asprintf(&trialenv[k++], "%s=trial", UPGRADE_ENV) == -1 ||
	    (keyfd != -1 &&
	    asprintf(&trialenv[k++], "%s=%d", keyenv, 3 + m) == -1))
		goto none;
	memcpy(trialpid, "LISTEN_PID=", sizeof "LISTEN_PID=");
	trialenv[k++] = trialpid;
	for (ne = 0; environ[ne] != NULL; ne++)
		if (!handed_env(environ[ne]))
			trialenv[k++] = environ[ne];
	keyed = keyfd != -1;
	if (keyed)
		fds[m++] = keyfd;
	handed = fds;
	nhanded = m;
	free(names);
	return;
none:
	/* Memory, at start: the upgrade is then refused, and says so. */
	log_warn("upgrade: the trial start cannot be made ready");
	free(fds);
	free(names);
	trialenv = NULL;
	nhanded = -1;
}

int
upgrade_trial(void)
{
	return ontrial;
}

const char *
upgrade_path(void)
{
	return path != NULL ? path : "(unknown)";
}

/* The checker's clock: clock_gettime is async-signal-safe. */
static long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* LISTEN_PID=<this process>, into trialpid: async-signal-safe. */
static void
fill_pid(void)
{
	char		 digits[PID_ROOM];
	char		*at = trialpid + sizeof "LISTEN_PID=" - 1;
	long		 pid = (long)getpid();
	int		 n = 0;

	do
		digits[n++] = (char)('0' + pid % 10);
	while ((pid /= 10) > 0 && n < PID_ROOM - 1);
	while (n > 0)
		*at++ = digits[--n];
	*at = '\0';
}

/*
 * Run the binary with argv (on trial: with the sockets at 3 onwards and
 * trialenv), and wait for it until deadline; the verdict into *v.
 * Returns 0 if it exited 0.  Async-signal-safe calls only.
 */
static int
run(char *const argv[], int trial, long long deadline, struct verdict *v)
{
	struct pollfd	 pfd;
	long long	 left;
	pid_t		 pid, r;
	int		 p[2], err, status, j;

	v->trial = trial;
	v->kind = V_FAILED;
	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		v->value = errno;
		return -1;
	}
	if (pid == 0) {
		/* The sockets go to the trial start, never to the check. */
		for (j = 0; j < nhanded; j++)
			fcntl(3 + j, F_SETFD, trial ? 0 : FD_CLOEXEC);
		/* The key is read from its start, by each trial. */
		if (trial && keyed)
			lseek(3 + nhanded - 1, 0, SEEK_SET);
		if (trial) {
			fill_pid();
			execve(path, argv, trialenv);
		} else
			execv(path, argv);
		err = errno;
		(void)!write(p[1], &err, sizeof err);
		_exit(127);
	}
	close(p[1]);
	/* exec's errno, or EOF once it ran. */
	pfd.fd = p[0];
	pfd.events = POLLIN;
	while ((left = deadline - now_ms()) > 0 &&
	    poll(&pfd, 1, (int)left) == -1 && errno == EINTR)
		;
	if (left > 0 && pfd.revents != 0 &&
	    read(p[0], &err, sizeof err) == (ssize_t)sizeof err) {
		v->kind = V_EXEC;
		v->value = err;
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
		close(p[0]);
		return -1;
	}
	close(p[0]);
	while ((r = waitpid(pid, &status, WNOHANG)) == 0 &&
	    now_ms() < deadline)
		poll(NULL, 0, REAP_STEP_MS);
	if (r == pid) {
		v->kind = V_ENDED;
		v->value = status;
		return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
	}
	if (r == -1)
		v->value = errno;
	else {
		v->kind = V_TIMEOUT;
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
	}
	return -1;
}

/*
 * The checker: run the check, then the trial start, both within
 * UPGRADE_CHECK_MS, write the verdict on out and exit.  Async-signal-safe
 * calls only.
 */
static void
checker_run(int out)
{
	struct verdict	 v;
	long long	 deadline = now_ms() + UPGRADE_CHECK_MS;

	if (run(check, 0, deadline, &v) == 0 && trialenv != NULL) {
		if (!unhanded)
			run(again, 1, deadline, &v);
		else {
			v.trial = 1;
			v.kind = V_FAILED;
			v.value = EMFILE;
		}
	}
	(void)!write(out, &v, sizeof v);
	_exit(0);
}

/*
 * In the checker: keep stdin, stdout, stderr, the sockets for the trial
 * start at 3 onwards (as listen_handover lays them out) and out right
 * after them; close the rest, so that no client's connection stays open
 * for as long as the check runs.  A stop kills the checker's group: no
 * listener outlives it.  Returns the new out.  Without room for the
 * sockets, there is no trial start, and so no upgrade.
 */
static int
keep_only(int out)
{
	struct rlimit	 rl;
	int		 fd, j, max = 65536;
	int		 past = 3 + (nhanded > 0 ? nhanded : 0) + 1;

	/* Out of the way first: one may sit where another must go. */
	if ((out = fcntl(out, F_DUPFD_CLOEXEC, past)) == -1)
		_exit(1);
	for (j = 0; j < nhanded; j++)
		if ((handed[j] = fcntl(handed[j], F_DUPFD_CLOEXEC, past)) ==
		    -1 || dup2(handed[j], 3 + j) == -1)
			unhanded = 1;
	if (dup3(out, past - 1, O_CLOEXEC) != -1)
		out = past - 1;
	if (close_range((unsigned)past, ~0U, 0) == 0)
		return out;
	/* A kernel before 5.9: one by one, as far as the limit allows. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)max)
		max = (int)rl.rlim_cur;
	for (fd = past; fd < max; fd++)
		close(fd);
	return out;
}

/* Start the checker.  Returns 0, or -1 with a reason in why. */
static int
start(char *why, size_t len)
{
	sigset_t	 all, old;
	pid_t		 pid;
	int		 p[2], err;

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1) {
		snprintf(why, len, "pipe: %s", strerror(errno));
		return -1;
	}
	/* As pool_spawn: no handler of ours runs in the child. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((pid = fork()) == 0) {
		sig_default();
		sigprocmask(SIG_SETMASK, &old, NULL);
		/* A group of its own, which a stop kills whole. */
		setpgid(0, 0);
		close(p[0]);
		/* Blocking for the one write; the flag is the pipe's. */
		fcntl(p[1], F_SETFL, 0);
		checker_run(keep_only(p[1]));
	}
	err = errno;
	if (pid > 0)
		setpgid(pid, pid);	/* both sides: no race with kill */
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(p[1]);
	if (pid == -1) {
		close(p[0]);
		snprintf(why, len, "fork: %s", strerror(err));
		return -1;
	}
	checker = pid;
	verdictfd = p[0];
	state = CHECKING;
	return 0;
}

/* The checker is done or must be: kill its group, close, reap. */
static void
end_check(void)
{
	kill(-checker, SIGKILL);
	close(verdictfd);
	verdictfd = -1;
	/* A pool may have reaped it already: ECHILD is fine. */
	while (waitpid(checker, NULL, 0) == -1 && errno == EINTR)
		;
	checker = 0;
	state = IDLE;
}

/* Say in why what the verdict v means; 0 if the check passed. */
static int
judge(const struct verdict *v, char *why, size_t len)
{
	switch (v->kind) {
	case V_ENDED:
		if (WIFEXITED(v->value) && WEXITSTATUS(v->value) == 0)
			return 0;
		if (WIFEXITED(v->value))
			snprintf(why, len, "exited %d", WEXITSTATUS(v->value));
		else
			snprintf(why, len, "killed by signal %d",
			    WTERMSIG(v->value));
		break;
	case V_EXEC:
		snprintf(why, len, "%s", strerror(v->value));
		break;
	case V_TIMEOUT:
		snprintf(why, len, "did not finish within %d ms; killed",
		    UPGRADE_CHECK_MS);
		break;
	default:
		snprintf(why, len, "checking: %s", strerror(v->value));
		break;
	}
	return -1;
}

int
upgrade_ask(void)
{
	char	 why[128];

	if (getpid() != self || state == PASSED || sig_stopping())
		return -1;
	if (state == CHECKING) {
		log_info("upgrade: the check of %s is still under way",
		    upgrade_path());
		return -1;
	}
	if (path == NULL) {
		log_warnx("upgrade: the path of this binary is unknown; "
		    "still serving");
		return -1;
	}
	if (nhanded == -1) {
		log_warnx("upgrade: no trial start could be made ready; "
		    "still serving");
		return -1;
	}
	if (start(why, sizeof why) == -1) {
		log_warnx("upgrade: %s --check: %s; still serving", path, why);
		return -1;
	}
	log_info("upgrade: checking %s in pid %ld, for %d ms at most; "
	    "serving meanwhile", path, (long)checker, UPGRADE_CHECK_MS);
	return 0;
}

int
upgrade_poll(void)
{
	struct verdict	 v;
	struct timespec	 ts;
	ssize_t		 n;
	char		 why[128];

	if (state != CHECKING || getpid() != self)
		return 0;
	/* TERM wins over USR2: a stop during the check ends the upgrade. */
	if (sig_stopping()) {
		upgrade_cancel();
		return 0;
	}
	if ((n = read(verdictfd, &v, sizeof v)) == -1 &&
	    (errno == EAGAIN || errno == EINTR))
		return 0;
	end_check();
	if (n != (ssize_t)sizeof v) {
		log_warnx("upgrade: %s --check: the checker ended without a "
		    "verdict; still serving", path);
		return 0;
	}
	if (judge(&v, why, sizeof why) == -1) {
		log_warnx("upgrade: %s %s: %s; still serving", path,
		    v.trial ? "started on trial" : "--check", why);
		return 0;
	}
	state = PASSED;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	notify("RELOADING=1\nMONOTONIC_USEC=%lld\nSTATUS=upgrading",
	    (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	log_info("upgrade: %s passed --check%s; finishing what is in "
	    "flight", path, trialenv != NULL ? " and a trial start" : "");
	sig_stop();
	return 1;
}

void
upgrade_cancel(void)
{
	if (state != CHECKING || getpid() != self)
		return;
	end_check();
	log_info("upgrade: a stop came during the check of %s; not "
	    "upgrading", path);
}

int
upgrade_pending(void)
{
	return state == PASSED;
}

int
upgrade_exec(void)
{
	sigset_t	 set;

	if (path == NULL || setenv(UPGRADE_ENV, "1", 1) == -1)
		return -1;
	/*
	 * The last look: a TERM held since sig_hold stops here.  One that
	 * comes after it stays pending across execve, and the new image
	 * stops on it before it serves (upgrade_init's caller).
	 */
	if (sig_stopping() || (sigpending(&set) == 0 &&
	    (sigismember(&set, SIGTERM) == 1 ||
	    sigismember(&set, SIGINT) == 1))) {
		errno = EINTR;
		return -1;
	}
	execv(path, again);
	return -1;
}
