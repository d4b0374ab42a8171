/*
 * upgrade.c: check the new binary, then exec it in place.
 *
 * The check runs the binary with --check and the same arguments, in a
 * child of the main process, before anything stops: a binary missing, not
 * executable, or refusing the arguments costs a log line and no client.
 * Between fork and exec the child only makes async-signal-safe calls, as
 * the event and threads models fork with threads running.
 */
#include <sys/types.h>
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
#include "net.h"
#include "notify.h"
#include "serve.h"
#include "sig.h"
#include "upgrade.h"
#include "util.h"

#define REAP_STEP_MS	5	/* between looks at a check still running */

static char	 *path;		/* absolute, or NULL: unknown */
static char	**again;	/* argv, as it came */
static char	**check;	/* argv[0] --check argv[1..] */
static pid_t	  self;
static int	  pending;

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

/* Say in why how the check with status ended; 0 if it passed. */
static int
judge(int status, char *why, size_t len)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		snprintf(why, len, "exited %d", WEXITSTATUS(status));
	else
		snprintf(why, len, "killed by signal %d", WTERMSIG(status));
	return -1;
}

/*
 * Wait for the check, pid, whose exec reports on errfd: an errno if exec
 * failed, EOF once it succeeded.  Kills it by pid at the deadline.
 */
static int
reap(pid_t pid, int errfd, char *why, size_t len)
{
	long long	 deadline = util_now_ms() + UPGRADE_CHECK_MS;
	pid_t		 r = 0;
	int		 err, status, left;

	left = (int)(deadline - util_now_ms());
	if (net_wait(errfd, POLLIN, left) == 1 &&
	    read(errfd, &err, sizeof err) == (ssize_t)sizeof err) {
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
		snprintf(why, len, "%s", strerror(err));
		return -1;
	}
	while ((r = waitpid(pid, &status, WNOHANG)) == 0 &&
	    util_now_ms() < deadline)
		util_sleep_ms(REAP_STEP_MS);
	if (r == pid)
		return judge(status, why, len);
	if (r == -1) {
		snprintf(why, len, "waitpid: %s", strerror(errno));
		return -1;
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	snprintf(why, len, "did not finish within %d ms; killed",
	    UPGRADE_CHECK_MS);
	return -1;
}

/* Run path --check with the same arguments.  Returns 0 if it passed. */
static int
try_check(char *why, size_t len)
{
	sigset_t	 all, old;
	pid_t		 pid;
	int		 p[2], err, r;

	if (pipe2(p, O_CLOEXEC) == -1) {
		snprintf(why, len, "pipe: %s", strerror(errno));
		return -1;
	}
	/* As pool_spawn: no handler of ours runs in the child. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((pid = fork()) == 0) {
		sig_default();
		sigprocmask(SIG_SETMASK, &old, NULL);
		execv(path, check);
		err = errno;
		(void)!write(p[1], &err, sizeof err);
		_exit(127);
	}
	err = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(p[1]);
	if (pid == -1) {
		snprintf(why, len, "fork: %s", strerror(err));
		r = -1;
	} else
		r = reap(pid, p[0], why, len);
	close(p[0]);
	return r;
}

int
upgrade_ask(void)
{
	struct timespec	 ts;
	char		 why[128];

	if (getpid() != self || pending || sig_stopping())
		return -1;
	if (path == NULL) {
		log_warnx("upgrade: the path of this binary is unknown; "
		    "still serving");
		return -1;
	}
	if (try_check(why, sizeof why) == -1) {
		log_warnx("upgrade: %s --check: %s; still serving", path, why);
		return -1;
	}
	pending = 1;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	notify("RELOADING=1\nMONOTONIC_USEC=%lld\nSTATUS=upgrading",
	    (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	log_info("upgrade: %s passed --check; finishing what is in flight",
	    path);
	sig_stop();
	return 0;
}

int
upgrade_pending(void)
{
	return pending && !sig_stopping();
}

int
upgrade_exec(void)
{
	if (path == NULL || setenv(UPGRADE_ENV, "1", 1) == -1)
		return -1;
	execv(path, again);
	return -1;
}
