/*
 * models.c: the process and thread models of stampd, against the real
 * daemon on loopback.
 *
 * Each model must serve stamp over TCP and UDP, keep its fds and children
 * in order, survive a worker killed under it, grow and shrink when it is
 * a dynamic pool, stay within --max-workers, and on SIGTERM leave no
 * process behind (that the replies in flight still come whole is
 * stop.c's, for every model, with 20 of them).  Children are found
 * through /proc (processes whose parent is the daemon).  Nothing here
 * asserts a duration: waits are only bounds, and where the order of
 * replies would show the models' overlap it is printed, not asserted.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "tap.h"

#define MAXKIDS		64
#define MAXBURST	16

static const char *const models[] = { "fork", "prefork", "dynamic", "threads" };
#define NMODELS	(sizeof models / sizeof models[0])

/* A whole stamp reply, within H_SLACK (5) s of our clock. */
static int
valid(const char *buf, ssize_t n)
{
	return h_stamp_near(buf, n, (long long)time(NULL));
}

/* stampd -m model on TCP and UDP of 127.0.0.1:0, then the extra args. */
static int
start(struct h_daemon *d, const char *model, const char *const extra[])
{
	const char	*args[32];
	int		 n = 0, i;

	args[n++] = "-m";
	args[n++] = model;
	args[n++] = "-l";
	args[n++] = "tcp:127.0.0.1:0";
	args[n++] = "-l";
	args[n++] = "udp:127.0.0.1:0";
	for (i = 0; extra[i] != NULL && n < 31; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	/* A case's pool options, as far as the model takes them. */
	h_model_args(model, args);
	if (h_daemon_start(d, 2, args) == -1) {
		ok(0, "%s: stampd starts", model);
		return -1;
	}
	return 0;
}

/*
 * The children of parent, from /proc/PID/stat: up to max pids into kids
 * (may be NULL), and how many of them are zombies.  Returns how many.
 */
static int
children(pid_t parent, pid_t *kids, int max, int *zombies)
{
	DIR		*dir;
	struct dirent	*e;
	char		 path[300], buf[512], *p, state;
	long		 ppid;
	ssize_t		 n;
	int		 fd, count = 0;

	if (zombies != NULL)
		*zombies = 0;
	if ((dir = opendir("/proc")) == NULL)
		return -1;
	while ((e = readdir(dir)) != NULL) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		/* A command may hold spaces and parentheses: past the last. */
		if ((p = strrchr(buf, ')')) == NULL ||
		    sscanf(p + 1, " %c %ld", &state, &ppid) != 2 ||
		    ppid != (long)parent)
			continue;
		if (kids != NULL && count < max)
			kids[count] = (pid_t)atol(e->d_name);
		if (state == 'Z' && zombies != NULL)
			(*zombies)++;
		count++;
	}
	closedir(dir);
	return count;
}

/* Wait until there are want children (exactly), at most ms; returns count. */
static int
wait_children(pid_t parent, int want, pid_t *kids, int ms)
{
	long long	 deadline = h_now_ms() + ms;
	int		 n;

	while ((n = children(parent, kids, MAXKIDS, NULL)) != want &&
	    h_now_ms() < deadline)
		h_nap(20);
	return n;
}

static int
count_fds(pid_t pid)
{
	DIR		*dir;
	struct dirent	*e;
	char		 path[64];
	int		 n = 0;

	snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
	if ((dir = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(dir)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

/*
 * The fds of pid once the count holds still (the same over 300 ms), or the
 * last count seen after ms.
 */
static int
settled_fds(pid_t pid, int ms)
{
	long long	 deadline = h_now_ms() + ms;
	int		 n, last = -1, same = 0;

	for (;;) {
		n = count_fds(pid);
		same = n == last ? same + 1 : 0;
		last = n;
		if (same == 3 || h_now_ms() >= deadline)
			return n;
		h_nap(100);
	}
}

/* The "Threads:" line of /proc/PID/status. */
static int
count_threads(pid_t pid)
{
	FILE	*f;
	char	 path[64], line[256];
	int	 n = -1;

	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

/*
 * n clients connect at once (non-blocking) and read their replies.  The
 * order in which replies ended is put in order[], their times (ms from
 * the start) in at[].  With watch set, the daemon's children (or threads,
 * with threads set) are counted meanwhile, and the most seen goes into
 * *most.  Returns the number of valid replies.
 */
static int
burst(const struct h_listener *l, int n, pid_t watch, int threads,
    int *most, int *order, long long *at)
{
	struct pollfd	 pfd[MAXBURST];
	char		 buf[MAXBURST][64];
	size_t		 got[MAXBURST];
	long long	 t0 = h_now_ms(), deadline = t0 + 3 * H_ASK_MS;
	ssize_t		 r;
	int		 i, left = 0, good = 0, ended = 0, c, fd;

	if (most != NULL)
		*most = 0;
	for (i = 0; i < n; i++) {
		got[i] = 0;
		pfd[i].events = POLLIN;
		pfd[i].fd = -1;
		fd = socket(l->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd == -1)
			continue;
		if (connect(fd, (const struct sockaddr *)&l->ss, l->sslen) ==
		    -1 && errno != EINPROGRESS) {
			close(fd);
			continue;
		}
		pfd[i].fd = fd;
		left++;
	}
	while (left > 0 && h_now_ms() < deadline) {
		if (watch > 0 && most != NULL) {
			c = threads ? count_threads(watch) :
			    children(watch, NULL, 0, NULL);
			if (c > *most)
				*most = c;
		}
		if (poll(pfd, (nfds_t)n, watch > 0 ? 10 : 100) == -1 &&
		    errno != EINTR)
			break;
		for (i = 0; i < n; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			r = recv(pfd[i].fd, buf[i] + got[i],
			    sizeof buf[i] - got[i], 0);
			if (r > 0) {
				got[i] += (size_t)r;
				if (got[i] < sizeof buf[i])
					continue;
			} else if (r == -1 && (errno == EAGAIN ||
			    errno == EINTR))
				continue;
			/* EOF, an error (a reset), or too much. */
			if (r == 0 && valid(buf[i], (ssize_t)got[i]))
				good++;
			if (order != NULL)
				order[ended] = i;
			if (at != NULL)
				at[ended] = h_now_ms() - t0;
			ended++;
			close(pfd[i].fd);
			pfd[i].fd = -1;
			left--;
		}
	}
	for (i = 0; i < n; i++)
		if (pfd[i].fd != -1)
			close(pfd[i].fd);
	return good;
}

/*
 * n UDP clients send a datagram each at once, and wait for their replies.
 * Returns the number of valid replies.
 */
static int
burst_udp(const struct h_listener *l, int n)
{
	struct pollfd	 pfd[MAXBURST];
	char		 buf[64];
	long long	 deadline = h_now_ms() + 3 * H_ASK_MS;
	ssize_t		 r;
	int		 i, left = 0, good = 0;

	for (i = 0; i < n; i++) {
		pfd[i].events = POLLIN;
		pfd[i].fd = socket(l->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (pfd[i].fd == -1)
			continue;
		if (connect(pfd[i].fd, (const struct sockaddr *)&l->ss,
		    l->sslen) == -1 || send(pfd[i].fd, "", 0, 0) == -1) {
			close(pfd[i].fd);
			pfd[i].fd = -1;
			continue;
		}
		left++;
	}
	while (left > 0 && h_now_ms() < deadline) {
		if (poll(pfd, (nfds_t)n, 100) == -1 && errno != EINTR)
			break;
		for (i = 0; i < n; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			r = recv(pfd[i].fd, buf, sizeof buf, 0);
			if (r == -1 && (errno == EAGAIN || errno == EINTR))
				continue;
			good += valid(buf, r);
			close(pfd[i].fd);
			pfd[i].fd = -1;
			left--;
		}
	}
	for (i = 0; i < n; i++)
		if (pfd[i].fd != -1)
			close(pfd[i].fd);
	return good;
}

/* Serves stamp over TCP and UDP, 50 in a row, without leaking fds. */
static void
t_basic(const char *model)
{
	static const char *const extra[] = { "-w", "2", NULL };
	struct h_daemon		 d;
	const struct h_listener	*tcp, *udp;
	char			 buf[64];
	ssize_t			 n;
	int			 i, good, base, fds = -1;
	long long		 deadline;

	if (start(&d, model, extra) == -1)
		return;
	tcp = h_daemon_find(&d, "tcp", "stamp");
	udp = h_daemon_find(&d, "udp", "stamp");
	ok(tcp != NULL && udp != NULL, "%s: tcp and udp listeners", model);
	if (tcp == NULL || udp == NULL) {
		h_daemon_stop(&d);
		return;
	}
	n = h_ask_tcp((const struct sockaddr *)&tcp->ss, tcp->sslen, buf,
	    sizeof buf, H_ASK_MS);
	ok(valid(buf, n), "%s: tcp reply is a time within 5 s of ours",
	    model);
	n = h_ask_udp((const struct sockaddr *)&udp->ss, udp->sslen, "", 0,
	    buf, sizeof buf, H_ASK_MS);
	ok(valid(buf, n), "%s: udp reply is a time within 5 s of ours",
	    model);

	/* Started, and done with the first clients. */
	base = settled_fds(d.pid, H_SETTLE_MS);
	for (i = good = 0; i < 50; i++) {
		n = h_ask_tcp((const struct sockaddr *)&tcp->ss, tcp->sslen,
		    buf, sizeof buf, H_ASK_MS);
		good += valid(buf, n);
	}
	is_int(good, 50, "%s: 50 tcp clients in a row, all served", model);
	for (i = good = 0; i < 50; i++) {
		n = h_ask_udp((const struct sockaddr *)&udp->ss, udp->sslen,
		    "x", 1, buf, sizeof buf, H_ASK_MS);
		good += valid(buf, n);
	}
	is_int(good, 50, "%s: 50 udp clients in a row, all served", model);
	/* A thread or child may still be closing its last connection. */
	deadline = h_now_ms() + H_SETTLE_MS;
	while ((fds = count_fds(d.pid)) != base && h_now_ms() < deadline)
		h_nap(20);
	ok(base > 0 && fds == base, "%s: the daemon holds %d fds after, as "
	    "before (%d)", model, fds, base);
	is_int(h_daemon_stop(&d), 0, "%s: SIGTERM, exit 0", model);
}

/* fork: every child is reaped, and never more than --max-workers run. */
static void
t_fork(void)
{
	static const char *const plain[] = { NULL };
	static const char *const limited[] = { "--max-workers", "2",
	    "--delay", "300", NULL };
	struct h_daemon		 d;
	const struct h_listener	*tcp;
	char			 buf[64];
	long long		 deadline;
	ssize_t			 n;
	int			 i, good, zombies, kids, most = 0;

	if (start(&d, "fork", plain) == -1)
		return;
	tcp = h_daemon_find(&d, "tcp", "stamp");
	for (i = good = 0; tcp != NULL && i < 20; i++) {
		n = h_ask_tcp((const struct sockaddr *)&tcp->ss, tcp->sslen,
		    buf, sizeof buf, H_ASK_MS);
		good += valid(buf, n);
	}
	is_int(good, 20, "fork: 20 connections served");
	deadline = h_now_ms() + H_SETTLE_MS;
	while ((kids = children(d.pid, NULL, 0, &zombies)) != 0 &&
	    h_now_ms() < deadline)
		h_nap(20);
	is_int(zombies, 0, "fork: no zombie children after 20 connections");
	is_int(kids, 0, "fork: no children left at all");
	is_int(h_daemon_stop(&d), 0, "fork: SIGTERM, exit 0");

	if (start(&d, "fork", limited) == -1)
		return;
	tcp = h_daemon_find(&d, "tcp", "stamp");
	good = tcp == NULL ? 0 : burst(tcp, 6, d.pid, 0, &most, NULL, NULL);
	is_int(good, 6, "fork --max-workers 2: 6 slow clients at once, all "
	    "served");
	ok(most >= 1 && most <= 2, "fork --max-workers 2: at most 2 children "
	    "at once (saw %d)", most);
	is_int(h_daemon_stop(&d), 0, "fork --max-workers 2: SIGTERM, exit 0");
}

static int
member(pid_t pid, const pid_t *set, int n)
{
	int	 i;

	for (i = 0; i < n; i++)
		if (set[i] == pid)
			return 1;
	return 0;
}

/* A pool replaces a worker killed under it, and takes all with it. */
static void
t_respawn(const char *model)
{
	static const char *const extra[] = { "-w", "2", "--min-spare", "2",
	    "--max-spare", "4", NULL };
	struct h_daemon		 d;
	const struct h_listener	*tcp;
	pid_t			 before[MAXKIDS], after[MAXKIDS], victim;
	long long		 deadline;
	char			 buf[64];
	ssize_t			 n;
	int			 nb, na = 0, i, fresh = 0, left;

	if (start(&d, model, extra) == -1)
		return;
	tcp = h_daemon_find(&d, "tcp", "stamp");
	nb = wait_children(d.pid, 2, before, H_SETTLE_MS);
	is_int(nb, 2, "%s -w 2: two workers", model);
	if (nb < 1) {
		h_daemon_stop(&d);
		return;
	}
	victim = before[0];
	kill(victim, SIGKILL);
	deadline = h_now_ms() + 3 * H_SETTLE_MS / 2;
	while (h_now_ms() < deadline) {
		na = children(d.pid, after, MAXKIDS, NULL);
		for (i = fresh = 0; i < na && i < MAXKIDS; i++)
			if (!member(after[i], before, nb))
				fresh++;
		if (fresh > 0 && !member(victim, after, na))
			break;
		h_nap(20);
	}
	ok(fresh > 0 && !member(victim, after, na), "%s: a worker killed "
	    "with SIGKILL is replaced (%d workers now)", model, na);
	n = tcp == NULL ? -1 : h_ask_tcp((const struct sockaddr *)&tcp->ss,
	    tcp->sslen, buf, sizeof buf, H_ASK_MS);
	ok(valid(buf, n), "%s: still serving after the kill", model);
	like(h_daemon_log(&d), "worker [0-9]+ \\(pid [0-9]+\\) killed by "
	    "signal 9", "%s: the death is logged", model);

	na = children(d.pid, after, MAXKIDS, NULL);
	is_int(h_daemon_stop(&d), 0, "%s: SIGTERM, exit 0", model);
	for (i = left = 0; i < na && i < MAXKIDS; i++)
		if (!h_gone(after[i], H_SETTLE_MS))
			left++;
	ok(na > 0 && left == 0, "%s: none of its %d workers remains", model,
	    na);
}

/* dynamic: grows under load, never past --max-workers, shrinks after. */
static void
t_dynamic(void)
{
	static const char *const extra[] = { "-w", "2", "--min-spare", "1",
	    "--max-spare", "2", "--max-workers", "8", "--delay", "500",
	    NULL };
	struct h_daemon		 d;
	const struct h_listener	*tcp;
	long long		 deadline;
	int			 good, most = 0, n;

	if (start(&d, "dynamic", extra) == -1)
		return;
	tcp = h_daemon_find(&d, "tcp", "stamp");
	is_int(wait_children(d.pid, 2, NULL, H_SETTLE_MS), 2,
	    "dynamic: starts with -w 2 workers");
	good = tcp == NULL ? 0 : burst(tcp, 8, d.pid, 0, &most, NULL, NULL);
	is_int(good, 8, "dynamic: 8 slow clients at once, all served");
	ok(most > 2, "dynamic: the pool grew under load (to %d)", most);
	ok(most <= 8, "dynamic: never more than --max-workers 8 (saw %d)",
	    most);
	/* One idle worker is stopped a second: a few seconds at most. */
	deadline = h_now_ms() + 4 * H_SETTLE_MS;
	while ((n = children(d.pid, NULL, 0, NULL)) > 2 &&
	    h_now_ms() < deadline)
		h_nap(50);
	ok(n >= 1 && n <= 2 && n < most, "dynamic: idle, it shrinks from %d "
	    "to --max-spare 2 (%d now)", most, n);
	is_int(h_daemon_stop(&d), 0, "dynamic: SIGTERM, exit 0");
}

/* threads: 8 clients against 4 threads: all served, 4 at most at once. */
static void
t_threads(void)
{
	static const char *const extra[] = { "--max-workers", "4",
	    "--delay", "300", NULL };
	struct h_daemon		 d;
	const struct h_listener	*tcp;
	int			 good, most = 0;

	if (start(&d, "threads", extra) == -1)
		return;
	tcp = h_daemon_find(&d, "tcp", "stamp");
	good = tcp == NULL ? 0 : burst(tcp, 8, d.pid, 1, &most, NULL, NULL);
	is_int(good, 8, "threads --max-workers 4: 8 slow clients at once, "
	    "all served");
	ok(most >= 1 && most <= 1 + 4, "threads: at most 1 + 4 threads "
	    "(saw %d)", most);
	is_int(h_daemon_stop(&d), 0, "threads: SIGTERM, exit 0");
}

/* A pool of 4 and 8 slow clients: all served; the order is shown. */
static void
t_overlap(const char *model)
{
	static const char *const extra[] = { "-w", "4", "--max-workers", "4",
	    "--min-spare", "1", "--max-spare", "4", "--delay", "400", NULL };
	struct h_daemon		 d;
	const struct h_listener	*tcp, *udp;
	long long		 at[8];
	int			 order[8], good, i;
	char			 line[256];
	size_t			 len = 0;

	if (start(&d, model, extra) == -1)
		return;
	tcp = h_daemon_find(&d, "tcp", "stamp");
	memset(order, 0, sizeof order);
	memset(at, 0, sizeof at);
	good = tcp == NULL ? 0 : burst(tcp, 8, 0, 0, NULL, order, at);
	is_int(good, 8, "%s: a pool of 4, --delay 400, 8 clients at once: "
	    "all served", model);
	for (i = 0; i < 8 && len < sizeof line - 16; i++)
		len += (size_t)snprintf(line + len, sizeof line - len,
		    " #%d@%lldms", order[i], at[i]);
	note("%s: replies in order:%s", model, line);
	udp = h_daemon_find(&d, "udp", "stamp");
	is_int(udp == NULL ? 0 : burst_udp(udp, 8), 8, "%s: a pool of 4, "
	    "--delay 400, 8 datagrams at once: all answered", model);
	is_int(h_daemon_stop(&d), 0, "%s: SIGTERM, exit 0", model);
}

int
main(void)
{
	size_t	 i;

	for (i = 0; i < NMODELS; i++)
		t_basic(models[i]);
	t_fork();
	t_respawn("prefork");
	t_respawn("dynamic");
	t_dynamic();
	t_threads();
	for (i = 0; i < NMODELS; i++)
		t_overlap(models[i]);
	return done_testing();
}
