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

#include "log.h"
#include "notify.h"
#include "sig.h"
#include "upgrade.h"

#define REAP_STEP_MS	5	/* between the checker's looks at the check */

enum { IDLE, CHECKING, PASSED };

/* What the checker found, written once to the verdict pipe. */
struct verdict {
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
	int		 i, was = env != NULL && strcmp(env, "1") == 0;

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

/*
 * The checker: run the check, wait for it at most UPGRADE_CHECK_MS, write
 * the verdict on out and exit.  Async-signal-safe calls only.
 */
static void
checker_run(int out)
{
	struct verdict	 v = { V_FAILED, 0 };
	struct pollfd	 pfd;
	long long	 deadline = now_ms() + UPGRADE_CHECK_MS, left;
	pid_t		 pid, r;
	int		 p[2], err, status;

	if (pipe2(p, O_CLOEXEC) == -1) {
		v.value = errno;
		goto say;
	}
	if ((pid = fork()) == -1) {
		v.value = errno;
		goto say;
	}
	if (pid == 0) {
		close(out);
		execv(path, check);
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
		v.kind = V_EXEC;
		v.value = err;
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
		goto say;
	}
	while ((r = waitpid(pid, &status, WNOHANG)) == 0 &&
	    now_ms() < deadline)
		poll(NULL, 0, REAP_STEP_MS);
	if (r == pid) {
		v.kind = V_ENDED;
		v.value = status;
	} else if (r == -1)
		v.value = errno;
	else {
		v.kind = V_TIMEOUT;
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
	}
say:
	(void)!write(out, &v, sizeof v);
	_exit(0);
}

/*
 * In the checker: keep stdin, stdout, stderr and out (made fd 3), close
 * the rest, so that no client's connection stays open for as long as the
 * check runs, and no listener outlives a stop.  Returns the new out.
 */
static int
keep_only(int out)
{
	struct rlimit	 rl;
	int		 fd, max = 65536;

	if (out != 3) {
		if (dup2(out, 3) == -1)
			return out;
		out = 3;
	}
	if (close_range(4, ~0U, 0) == 0)
		return out;
	/* A kernel before 5.9: one by one, as far as the limit allows. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)max)
		max = (int)rl.rlim_cur;
	for (fd = 4; fd < max; fd++)
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
		log_warnx("upgrade: %s --check: %s; still serving", path, why);
		return 0;
	}
	state = PASSED;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	notify("RELOADING=1\nMONOTONIC_USEC=%lld\nSTATUS=upgrading",
	    (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	log_info("upgrade: %s passed --check; finishing what is in flight",
	    path);
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
