/*
 * tests/unit/fuzz_replay.c: every fuzz corpus file, replayed as a test.
 *
 * The fuzz targets are compiled in here without libFuzzer, so that what
 * the fuzzer once found stays a regression test of the gcc, clang and
 * sanitizer builds.  Each file runs in a child with an alarm: a broken
 * property (abort), a sanitizer's report or a hang is one failed test
 * that names its file, and the other files still run.  The corpus is
 * found under $STAMP_SRCDIR, or the current directory (make check runs
 * from the top of the tree).
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"

#include "fuzz/metrics_request.c"
#include "fuzz/net_spec.c"
#include "fuzz/ntp_request.c"
#include "fuzz/ntske_answer.c"
#include "fuzz/ntske_request.c"
#ifdef STAMP_NTS
#include "fuzz/nts_request.c"
#endif
#include "fuzz/proxy.c"
#include "fuzz/util_number.c"
#include "fuzz/util_seconds.c"
#include "fuzz/wire_daytime.c"
#include "fuzz/wire_stamp.c"
#include "fuzz/wire_time.c"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define INPUT_MAX	(1 << 20)	/* libFuzzer's are at most -max_len */
#define CHILD_SECS	10		/* a parser never takes a second */

static const struct {
	const char	*name;
	int		(*run)(const uint8_t *, size_t);
} targets[] = {
	{ "metrics_request",	fuzz_metrics_request },
	{ "net_spec",		fuzz_net_spec },
	{ "ntp_request",	fuzz_ntp_request },
	{ "ntske_answer",	fuzz_ntske_answer },
	{ "ntske_request",	fuzz_ntske_request },
#ifdef STAMP_NTS
	{ "nts_request",	fuzz_nts_request },
#endif
	{ "proxy",		fuzz_proxy },
	{ "util_number",	fuzz_util_number },
	{ "util_seconds",	fuzz_util_seconds },
	{ "wire_daytime",	fuzz_wire_daytime },
	{ "wire_stamp",		fuzz_wire_stamp },
	{ "wire_time",		fuzz_wire_time },
};

static char	 srcdir[1024];

static int
visible(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static int
find_target(const char *name)
{
	size_t	 i;

	for (i = 0; i < NELEM(targets); i++)
		if (strcmp(targets[i].name, name) == 0)
			return (int)i;
	return -1;
}

/*
 * Read a whole file into a buffer of exactly its size, so that the
 * sanitizer sees a parser read one byte too far.
 */
static uint8_t *
slurp(const char *path, size_t *size)
{
	struct stat	 st;
	uint8_t		*buf;
	FILE		*f;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fstat(fileno(f), &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > INPUT_MAX) {
		fclose(f);
		return NULL;
	}
	*size = (size_t)st.st_size;
	if ((buf = malloc(*size > 0 ? *size : 1)) == NULL ||
	    fread(buf, 1, *size, f) != *size) {
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	return buf;
}

/* Run one input in a child; 1 if the target returned normally. */
static int
replay(int target, const char *path)
{
	uint8_t	*buf;
	size_t	 size;
	pid_t	 pid;
	int	 status;

	if ((buf = slurp(path, &size)) == NULL) {
		diag("%s: %s", path, strerror(errno));
		return 0;
	}
	fflush(stdout);
	if ((pid = fork()) == -1) {
		diag("fork: %s", strerror(errno));
		free(buf);
		return 0;
	}
	if (pid == 0) {
		alarm(CHILD_SECS);
		targets[target].run(buf, size);
		_exit(0);
	}
	free(buf);
	/* The child's alarm bounds this wait. */
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			diag("waitpid: %s", strerror(errno));
			return 0;
		}
	if (WIFSIGNALED(status))
		diag("%s: killed by signal %d (%s)", path, WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	else if (WEXITSTATUS(status) != 0)
		diag("%s: exit status %d", path, WEXITSTATUS(status));
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void
replay_corpus(int target)
{
	struct dirent	**names;
	char		  dir[1200], path[1500];
	int		  i, n;

	snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%s", srcdir,
	    targets[target].name);
	if ((n = scandir(dir, &names, visible, alphasort)) == -1) {
		ok(0, "corpus %s: %s", dir, strerror(errno));
		return;
	}
	ok(n > 0, "corpus of %s has %d files", targets[target].name, n);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
		ok(replay(target, path), "%s/%s", targets[target].name,
		    names[i]->d_name);
		free(names[i]);
	}
	free(names);
}

/* A target or corpus nobody replays would be a silent gap. */
static void
check_coverage(void)
{
	struct dirent	**names;
	char		  dir[1200], *dot;
	int		  i, n;

	snprintf(dir, sizeof dir, "%s/tests/fuzz", srcdir);
	if ((n = scandir(dir, &names, visible, alphasort)) == -1) {
		ok(0, "%s: %s", dir, strerror(errno));
		return;
	}
	for (i = 0; i < n; i++) {
		if ((dot = strrchr(names[i]->d_name, '.')) != NULL &&
		    strcmp(dot, ".c") == 0) {
			*dot = '\0';
			ok(find_target(names[i]->d_name) != -1,
			    "target %s is replayed", names[i]->d_name);
		}
		free(names[i]);
	}
	free(names);

	snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus", srcdir);
	if ((n = scandir(dir, &names, visible, alphasort)) == -1) {
		ok(0, "%s: %s", dir, strerror(errno));
		return;
	}
	for (i = 0; i < n; i++) {
		ok(find_target(names[i]->d_name) != -1,
		    "corpus %s has a target", names[i]->d_name);
		free(names[i]);
	}
	free(names);
}

int
main(void)
{
	const char	*env;
	size_t		 i;

	env = getenv("STAMP_SRCDIR");
	snprintf(srcdir, sizeof srcdir, "%s",
	    env != NULL && *env != '\0' ? env : ".");
	check_coverage();
	for (i = 0; i < NELEM(targets); i++)
		replay_corpus((int)i);
	return done_testing();
}
