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
 * that is always readable.  strace is attached to the daemon (and follows
 * what it forks) from before the storm until the storm has settled: a
 * daemon that waits makes a few calls that wait or accept for each client
 * (PER_CLIENT) and a few more of its own (SLACK); one that spins on
 * EMFILE makes thousands while the storm settles, which takes QUIET_MS of
 * nothing new at least, however little CPU a busy machine leaves it, since
 * every turn of its loop is a call.  A count, not a time: the bound is
 * the same on any machine, and the counts go out as a note.  Then the
 * storm goes, and a new client must be served.
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
#define QUIET_MS	1000	/* still this long (scaled): settled */
#define STORM_MS	20000	/* the longest the storm may take to settle */
/*
 * For a new client to be served once the storm goes, scaled: the storm's
 * clients still queued are each taken and held --delay (2 s) first, about
 * NOFILE at a time, so up to NSTORM / NOFILE delays go by before its turn.
 */
#define RECOVER_MS	30000
/* The calls that wait or accept, and how many a daemon that waits makes. */
#define TRACE_CALLS	"accept,accept4,poll,ppoll,select,pselect6," \
			"epoll_wait,epoll_pwait,epoll_pwait2,io_uring_enter"
#define PER_CLIENT	8
#define SLACK		200
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
	struct h_trace		 tr;
	long long		 quiet, deadline, shed;
	long			 calls, emfile, bound;
	char			 buf[128];
	ssize_t			 n = -1;
	int			 i, opened = 0, count[5], fds, most = 0;
	int			 r, traced;

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
	traced = h_trace_start(&tr, d.pid, TRACE_CALLS) == 0;
	ok(traced, "%s: strace attaches to it", mc->name);

	for (i = 0; i < NSTORM; i++)
		opened += storm_open(&s[i], l) == 0;
	is_int(opened, NSTORM, "%s: a storm of %d clients connects", mc->name,
	    NSTORM);
	/* Settled: nothing changed for QUIET_MS. */
	deadline = h_now_ms() + h_ms(STORM_MS);
	quiet = h_now_ms() + h_ms(QUIET_MS);
	while (h_now_ms() < quiet && h_now_ms() < deadline) {
		if (storm_step(s, NSTORM, pfd, 50) > 0)
			quiet = h_now_ms() + h_ms(QUIET_MS);
		if ((fds = count_fds(d.pid)) > most)
			most = fds;
	}
	if (traced)
		h_trace_stop(&tr);
	storm_count(s, NSTORM, count);
	note("%s: settled: %d connecting, %d held, %d served, %d shed, "
	    "%d failed; the daemon had %d fds at most", mc->name,
	    count[S_CONNECTING], count[S_HELD], count[S_SERVED],
	    count[S_SHED], count[S_FAILED], most);
	ok(h_now_ms() < deadline, "%s: the storm settles", mc->name);

	calls = traced ? h_trace_count(&tr, 0, NULL, NULL) : -1;
	emfile = traced ? h_trace_count(&tr, 0, "accept", "EMFILE") +
	    h_trace_count(&tr, 0, "accept4", "EMFILE") : -1;
	bound = (long)NSTORM * PER_CLIENT + SLACK;
	note("%s: %ld calls that wait or accept, %ld accepts that failed "
	    "with EMFILE, while the storm came and settled", mc->name, calls,
	    emfile);
	ok(calls >= 0 && calls <= bound, "%s: out of fds, it does not spin "
	    "(%ld calls that wait or accept for %d clients, bound %ld)",
	    mc->name, calls, NSTORM, bound);
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
		note("%s: the parent had %d fds at most, shed %lld: its "
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
