/*
 * exhaust.c: out of file descriptors, stampd neither spins nor stops.
 *
 * The daemon starts with a soft RLIMIT_NOFILE of NOFILE (set here before
 * the fork, so its exec inherits it), and a storm of NSTORM clients
 * arrives at once.  Each storm client sends a byte after connecting, so
 * that a connection the daemon accepts is kept (it drains that byte, and
 * holds the connection for --linger), and the daemon soon has no fd left
 * for the next one: accept fails with EMFILE, and the daemon must shed
 * those clients with its spare fd, or pause, rather than poll a listener
 * that is always readable.  Once the storm has settled, the daemon's CPU
 * time over WINDOW_MS is read from /proc: a daemon that spins on EMFILE
 * uses a whole CPU there, one that waits uses next to nothing, so the
 * bound (half of one CPU) is far from both and only tells the two apart;
 * it is not a measure of speed.  A loaded machine only gives a spinner
 * less, and a sanitizer build makes a waiter no busier, so the bound is
 * the same everywhere; the window grows with STAMP_TIMEOUT_SCALE, which
 * makes the measure only finer, and the figure goes out as a diagnostic.  Then the storm goes, and a new
 * client must be served within a bounded time.
 *
 * The models here are those where one process holds the connections
 * (event, iterative, threads), and fork, whose parent must stay calm
 * while hundreds of children hold them.  prefork and dynamic are not:
 * each of their workers holds one connection at a time, so no process of
 * theirs can run out of fds, and a storm waits in the backlog instead
 * (models.c and hostile.c cover them).
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "tap.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define NOFILE		32	/* the daemon's RLIMIT_NOFILE */
#define NSTORM		200
#define QUIET_MS	1000	/* the storm is still this long: settled */
#define STORM_MS	20000	/* the longest the storm may take to settle */
#define WINDOW_MS	2000	/* CPU time is read over this, scaled */
#define MAX_CPU_PCT	50	/* of one CPU, over the window */
#define RECOVER_MS	10000	/* for a new client to be served after */
#define MAXMODELS	16

struct model_case {
	const char	*name;
	const char	*delay;		/* --delay: connections pile up */
	int		 holds;		/* one process holds every connection */
};

/*
 * iterative sleeps its delay for each storm client, one after another:
 * a short one, or it would still be at it long after the storm is gone.
 */
static const struct model_case cases[] = {
	{ "event",	"2000",	1 },
	{ "iterative",	"100",	1 },
	{ "threads",	"2000",	1 },
	{ "fork",	"2000",	0 },
};

static char	 models[MAXMODELS][32];
static int	 nmodels;

static int
listed(const char *model)
{
	int	 i;

	for (i = 0; i < nmodels; i++)
		if (strcmp(models[i], model) == 0)
			return 1;
	return 0;
}

static int
valid(const char *buf, ssize_t n)
{
	return h_stamp_near(buf, n, (long long)time(NULL));
}

/* utime + stime of pid, in milliseconds, or -1. */
static long long
cpu_ms(pid_t pid)
{
	unsigned long long	 ut, st;
	char			 path[64], buf[1024], *p;
	FILE			*f;
	size_t			 n;
	long			 hz = sysconf(_SC_CLK_TCK);

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The name in parentheses may hold anything: start after it. */
	if ((p = strrchr(buf, ')')) == NULL || hz <= 0 ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%llu %llu", &ut, &st) != 2)
		return -1;
	return (long long)((ut + st) * 1000 / (unsigned long long)hz);
}

static int
count_fds(pid_t pid)
{
	struct dirent	*de;
	char		 path[64];
	DIR		*dir;
	int		 n = 0;

	snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
	if ((dir = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL)
		n += de->d_name[0] != '.';
	closedir(dir);
	return n;
}

/* The soft limit on open files that /proc says pid has, or -1. */
static long
nofile_of(pid_t pid)
{
	char	 path[64], line[256];
	FILE	*f;
	long	 soft = -1;

	snprintf(path, sizeof path, "/proc/%ld/limits", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, "Max open files", 14) == 0)
			sscanf(line + 14, "%ld", &soft);
	fclose(f);
	return soft;
}

/* A storm client, and what became of it. */
enum { S_CONNECTING, S_HELD, S_SERVED, S_SHED, S_FAILED };
struct storm {
	int	 fd;
	int	 state;
	size_t	 got;
	char	 buf[64];
};

static int
storm_open(struct storm *s, const struct h_listener *l)
{
	struct pollfd	 pfd;
	socklen_t	 len = sizeof(int);
	int		 err;

	memset(s, 0, sizeof *s);
	s->state = S_FAILED;
	s->fd = socket(l->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (s->fd == -1)
		return -1;
	if (connect(s->fd, (const struct sockaddr *)&l->ss, l->sslen) ==
	    -1 && errno != EINPROGRESS) {
		close(s->fd);
		s->fd = -1;
		return -1;
	}
	s->state = S_CONNECTING;
	/*
	 * The byte goes at once, well before the daemon, which waits its
	 * delay first, looks for it: found, it keeps the connection.
	 */
	pfd.fd = s->fd;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, H_ASK_MS) == 1 &&
	    getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
	    err == 0 && send(s->fd, "x", 1, MSG_NOSIGNAL) == 1)
		s->state = S_HELD;
	return 0;
}

/*
 * One look at every storm client, waiting at most ms: a connected one
 * sends its byte, a reply or an end is read.  Returns how many changed.
 */
static int
storm_step(struct storm *s, int n, struct pollfd *pfd, int ms)
{
	socklen_t	 len;
	ssize_t		 r;
	int		 i, err, changed = 0;

	for (i = 0; i < n; i++) {
		pfd[i].fd = s[i].state == S_CONNECTING ||
		    s[i].state == S_HELD ? s[i].fd : -1;
		pfd[i].events = s[i].state == S_CONNECTING ? POLLOUT : POLLIN;
		pfd[i].revents = 0;
	}
	if (poll(pfd, (nfds_t)n, ms) <= 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (pfd[i].fd == -1 || pfd[i].revents == 0)
			continue;
		changed++;
		if (s[i].state == S_CONNECTING) {
			len = sizeof err;
			if (getsockopt(s[i].fd, SOL_SOCKET, SO_ERROR, &err,
			    &len) == -1 || err != 0 ||
			    send(s[i].fd, "x", 1, MSG_NOSIGNAL) != 1)
				s[i].state = S_SHED;
			else
				s[i].state = S_HELD;
			continue;
		}
		r = recv(s[i].fd, s[i].buf + s[i].got,
		    sizeof s[i].buf - s[i].got, MSG_DONTWAIT);
		if (r > 0 && (s[i].got += (size_t)r) < sizeof s[i].buf)
			continue;
		if (r == -1 && (errno == EAGAIN || errno == EINTR)) {
			changed--;
			continue;
		}
		/* EOF or a reset: served if a whole reply came first. */
		s[i].state = valid(s[i].buf, (ssize_t)s[i].got) ? S_SERVED :
		    s[i].got == 0 ? S_SHED : S_FAILED;
	}
	return changed;
}

static void
storm_count(const struct storm *s, int n, int *count)
{
	int	 i;

	memset(count, 0, sizeof(int) * 5);
	for (i = 0; i < n; i++)
		count[s[i].state]++;
}

static void
test_model(const struct model_case *mc)
{
	const char		*args[] = { "-m", mc->name, "-w", "2",
	    "--delay", mc->delay, "--linger", "20000",
	    "-l", "tcp:127.0.0.1:0/stamp", NULL };
	static struct storm	 s[NSTORM];
	static struct pollfd	 pfd[NSTORM];
	struct h_daemon		 d;
	struct rlimit		 rl, low;
	const struct h_listener	*l;
	long long		 quiet, deadline, c0, c1, t0, t1, shed;
	char			 buf[128];
	ssize_t			 n = -1;
	int			 i, opened = 0, count[5], fds, most = 0;
	int			 r;

	h_model_args(mc->name, args);
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		bail("getrlimit");
	low = rl;
	low.rlim_cur = NOFILE;
	/* Only the fork and exec in h_daemon_start run under it. */
	if (setrlimit(RLIMIT_NOFILE, &low) == -1)
		bail("setrlimit");
	r = h_daemon_start(&d, 1, args);
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		bail("setrlimit back");
	if (!ok(r == 0, "%s: starts", mc->name))
		return;
	is_int(nofile_of(d.pid), NOFILE, "%s: runs with %d open files at "
	    "most", mc->name, NOFILE);
	l = h_daemon_find(&d, "tcp", "stamp");

	for (i = 0; i < NSTORM; i++)
		opened += storm_open(&s[i], l) == 0;
	is_int(opened, NSTORM, "%s: a storm of %d clients connects", mc->name,
	    NSTORM);
	/* Settled: nothing changed for QUIET_MS. */
	deadline = h_now_ms() + h_ms(STORM_MS);
	quiet = h_now_ms() + QUIET_MS;
	while (h_now_ms() < quiet && h_now_ms() < deadline) {
		if (storm_step(s, NSTORM, pfd, 50) > 0)
			quiet = h_now_ms() + QUIET_MS;
		if ((fds = count_fds(d.pid)) > most)
			most = fds;
	}
	storm_count(s, NSTORM, count);
	diag("%s: settled: %d connecting, %d held, %d served, %d shed, "
	    "%d failed; the daemon had %d fds at most", mc->name,
	    count[S_CONNECTING], count[S_HELD], count[S_SERVED],
	    count[S_SHED], count[S_FAILED], most);
	ok(h_now_ms() < deadline, "%s: the storm settles", mc->name);

	/* The window: the storm holds on, and we watch the daemon's CPU. */
	c0 = cpu_ms(d.pid);
	t0 = h_now_ms();
	while (h_now_ms() - t0 < h_ms(WINDOW_MS)) {
		storm_step(s, NSTORM, pfd, 50);
		if ((fds = count_fds(d.pid)) > most)
			most = fds;
	}
	c1 = cpu_ms(d.pid);
	t1 = h_now_ms();
	ok(c0 >= 0 && c1 >= 0, "%s: its CPU time is read from /proc",
	    mc->name);
	diag("%s: %lld ms of CPU in %lld ms while the storm holds on",
	    mc->name, c1 - c0, t1 - t0);
	ok(c1 - c0 < (t1 - t0) * MAX_CPU_PCT / 100, "%s: out of fds, it does "
	    "not spin (%lld ms of CPU in %lld ms, bound %d%%)", mc->name,
	    c1 - c0, t1 - t0, MAX_CPU_PCT);
	storm_count(s, NSTORM, count);
	is_int(count[S_FAILED], 0, "%s: no storm client got a broken reply",
	    mc->name);
	shed = h_daemon_counter(&d, "shed");
	if (mc->holds) {
		ok(most >= NOFILE - 2, "%s: its fds ran out (%d of %d)",
		    mc->name, most, NOFILE);
		ok(shed > 0, "%s: stats: shed %lld, accept said EMFILE",
		    mc->name, shed);
	} else
		diag("%s: the parent had %d fds at most, shed %lld: its "
		    "children hold the storm", mc->name, most, shed);

	for (i = 0; i < NSTORM; i++)
		if (s[i].fd != -1)
			close(s[i].fd);
	deadline = h_now_ms() + h_ms(RECOVER_MS);
	do {
		n = h_ask_tcp((const struct sockaddr *)&l->ss, l->sslen, buf,
		    sizeof buf, H_ASK_MS);
		if (valid(buf, n))
			break;
		h_nap(100);
	} while (h_now_ms() < deadline);
	ok(valid(buf, n), "%s: the storm gone, a new client is served",
	    mc->name);
	is_int(h_daemon_stop(&d), 0, "%s: SIGTERM, exit 0", mc->name);
}

int
main(void)
{
	size_t	 i;

	signal(SIGPIPE, SIG_IGN);
	nmodels = h_models(models, MAXMODELS);
	for (i = 0; i < NELEM(cases); i++) {
		if (!ok(listed(cases[i].name), "stampd --help lists %s",
		    cases[i].name))
			continue;
		test_model(&cases[i]);
	}
	return done_testing();
}
