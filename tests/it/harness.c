/*
 * harness.c: run the real programs from integration tests.
 *
 * Every child is started here with fork and execv and reaped here with
 * waitpid, within a deadline; daemons are remembered so that an atexit
 * handler can kill whatever a failed test left running.  Nothing here
 * waits without a bound, and nothing here counts as a test (tap.h keeps
 * its count per file, so an ok() here would be lost): the checks below
 * return a verdict and a reason, and the test says ok.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "ntp.h"
#include "proto.h"
#include "scale.h"
#include "tap.h"
#include "wire.h"

#define H_MAXCHILD	32
#define H_TRACEMAX	64	/* processes strace attaches to at once */

/*
 * The daemons started here, for the atexit handler and for their logs;
 * only the process that started them may kill them (a forked child that
 * calls exit must not).  A daemon's log outlives it until the next daemon
 * starts or the test ends: it is then removed, unless an assertion failed
 * since that daemon started, in which case it is kept (under
 * $STAMP_BUILD/tests/log) and a diagnostic says where.
 */
static pid_t	 owner;
static int	 failures;	/* assertions failed, told by tap.h */
static struct {
	pid_t	 pid;		/* > 0: runs; 0: stopped, log judged */
	int	 used;
	int	 failures;	/* when it started */
	char	 logpath[H_LOGPATH];
} reg[H_MAXCHILD];

void
tap_failed_hook(void)
{
	failures++;
}

/*
 * The logs of the stopped daemons: kept if an assertion failed since each
 * started, else removed.
 */
static void
judge_logs(void)
{
	int	 i;

	for (i = 0; i < H_MAXCHILD; i++) {
		if (!reg[i].used || reg[i].pid > 0)
			continue;
		if (failures > reg[i].failures)
			diag("the log of that stampd is kept: %s",
			    reg[i].logpath);
		else
			unlink(reg[i].logpath);
		reg[i].used = 0;
	}
}

long long
h_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
h_nap(long ms)
{
	struct timespec	 ts = { ms / 1000, ms % 1000 * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

double
h_scale(void)
{
	static double	 scale;
	static char	 why[128];
	const char	*s = getenv("STAMP_TIMEOUT_SCALE");

	if (scale > 0)
		return scale;
	if ((scale = scale_parse(s)) == -1) {
		snprintf(why, sizeof why, "STAMP_TIMEOUT_SCALE=%.40s: want a "
		    "positive number", s);
		bail(why);
	}
	return scale;
}

long
h_ms(long ms)
{
	/* Eight of them still add up within an int, for deadlines. */
	const double	 most = INT_MAX / 8;
	double		 v;

	if (ms <= 0)
		return ms;
	v = (double)ms * h_scale();
	if (v >= most)
		return (long)most;
	/* Rounded up: a bound never shrinks to nothing. */
	return (double)(long)v < v ? (long)v + 1 : (long)v;
}

static int
ms_left(long long deadline)
{
	long long	 left = deadline - h_now_ms();

	return left < 0 ? 0 : (int)left;
}

static void
cleanup(void)
{
	int	 i;

	if (getpid() != owner)
		return;
	for (i = 0; i < H_MAXCHILD; i++) {
		if (reg[i].pid <= 0)
			continue;
		kill(reg[i].pid, SIGKILL);
		while (waitpid(reg[i].pid, NULL, 0) == -1 && errno == EINTR)
			;
		reg[i].pid = 0;
	}
	judge_logs();
}

static void
remember(pid_t pid, const char *logpath)
{
	static int	 registered;
	int		 i;

	if (!registered && atexit(cleanup) == 0) {
		owner = getpid();
		registered = 1;
	}
	for (i = 0; i < H_MAXCHILD; i++)
		if (!reg[i].used) {
			reg[i].used = 1;
			reg[i].pid = pid;
			reg[i].failures = failures;
			snprintf(reg[i].logpath, sizeof reg[i].logpath, "%s",
			    logpath);
			return;
		}
	bail("harness: too many daemons at once");
}

/* It is gone: its log waits for the verdict. */
static void
forget(pid_t pid)
{
	int	 i;

	for (i = 0; i < H_MAXCHILD; i++)
		if (reg[i].used && reg[i].pid == pid)
			reg[i].pid = 0;
}

/*
 * A new file for a daemon's log in d->logpath, under $STAMP_BUILD/tests/log
 * if it can be made there, else in /tmp; its fd, or -1.
 */
static int
log_open(struct h_daemon *d)
{
	const char	*build = getenv("STAMP_BUILD");
	char		 dir[H_LOGPATH - 64];
	int		 fd;

	if (build != NULL && *build != '\0' &&
	    (size_t)snprintf(dir, sizeof dir, "%s/tests/log", build) <
	    sizeof dir && (mkdir(dir, 0755) == 0 || errno == EEXIST)) {
		snprintf(d->logpath, sizeof d->logpath, "%s/%.24s-XXXXXX.log",
		    dir, program_invocation_short_name);
		if ((fd = mkstemps(d->logpath, 4)) != -1)
			return fd;
	}
	snprintf(d->logpath, sizeof d->logpath, "/tmp/stampd-it.XXXXXX");
	return mkstemp(d->logpath);
}

static int
decode_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

/*
 * Wait for pid until the deadline; then SIGKILL it and reap it anyway.
 * Returns its status as h_run reports it (-1 if it had to be killed).
 */
static int
reap(pid_t pid, long long deadline)
{
	pid_t	 r;
	int	 status;

	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return decode_status(status);
		if (r == -1 && errno != EINTR)
			return -1;
		if (h_now_ms() >= deadline)
			break;
		h_nap(5);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	return -1;
}

static ssize_t
read_file(const char *path, char *buf, size_t len)
{
	ssize_t	 n, got = 0;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while ((size_t)got < len - 1) {
		n = read(fd, buf + got, len - 1 - (size_t)got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	buf[got] = '\0';
	close(fd);
	return got;
}

/*
 * Every port a stampd of this test said it listens on.  stampd never
 * answers a datagram from one of its own ports (a loop between servers),
 * and the kernel may give a client's socket one of them, on another
 * address: h_ask_udp asks from another port then.
 */
#define OWN_PORTS_MAX	4096
static int	own_ports[OWN_PORTS_MAX];
static size_t	nown_ports;

static int
own_port(int port)
{
	size_t	 i;

	for (i = 0; i < nown_ports; i++)
		if (own_ports[i] == port)
			return 1;
	return 0;
}

/* Whether socket fd's own port is one of a stampd's. */
static int
from_own_port(int fd)
{
	struct sockaddr_storage	 me;
	socklen_t		 len = sizeof me;

	if (getsockname(fd, (struct sockaddr *)&me, &len) == -1)
		return 0;
	return own_port(ntohs(me.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&me)->sin6_port :
	    ((struct sockaddr_in *)&me)->sin_port));
}

/* After "listening ": "tcp 127.0.0.1:40123 stamp", "udp [::1]:37 time". */
static int
parse_listening(const char *s, struct h_listener *l)
{
	char		 where[96], *colon, *host;
	const char	*any;
	int		 port;

	memset(l, 0, sizeof *l);
	if (sscanf(s, "%7s %95s %15s", l->transport, where, l->proto) != 3)
		return -1;
	if ((colon = strrchr(where, ':')) == NULL)
		return -1;
	*colon = '\0';
	port = atoi(colon + 1);
	if (port <= 0 || port > 65535)
		return -1;
	host = where;
	if (*host == '[') {
		host++;
		if (colon[-1] != ']')
			return -1;
		colon[-1] = '\0';
	}
	if (strlen(host) >= sizeof l->addr)
		return -1;
	memcpy(l->addr, host, strlen(host) + 1);
	l->port = port;
	if (!own_port(port) && nown_ports < OWN_PORTS_MAX)
		own_ports[nown_ports++] = port;

	/* An unspecified address is reached through loopback. */
	any = strcmp(host, "0.0.0.0") == 0 ? "127.0.0.1" :
	    strcmp(host, "::") == 0 ? "::1" : host;
	if (strchr(any, ':') != NULL) {
		struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&l->ss;

		if (inet_pton(AF_INET6, any, &sin6->sin6_addr) != 1)
			return -1;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		l->sslen = sizeof *sin6;
	} else {
		struct sockaddr_in	*sin = (struct sockaddr_in *)&l->ss;

		if (inet_pton(AF_INET, any, &sin->sin_addr) != 1)
			return -1;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		l->sslen = sizeof *sin;
	}
	return 0;
}

/* Parse every "listening" line of the log; returns how many there are. */
static int
scan_log(struct h_daemon *d, const char *log)
{
	const char	*p = log, *nl, *at;
	char		 line[256];
	size_t		 n;

	d->n = 0;
	while ((nl = strchr(p, '\n')) != NULL && d->n < H_MAXLISTEN) {
		n = (size_t)(nl - p);
		if (n >= sizeof line)
			n = sizeof line - 1;
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl + 1;
		if ((at = strstr(line, "listening ")) == NULL)
			continue;
		if (parse_listening(at + strlen("listening "),
		    &d->l[d->n]) == 0)
			d->n++;
	}
	return d->n;
}

static void
diag_log(const char *log)
{
	const char	*p = log, *nl;

	while (*p != '\0') {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		diag("%.*s", (int)(nl - p), p);
		p = *nl == '\0' ? nl : nl + 1;
	}
}

int
h_daemon_start(struct h_daemon *d, int nlisten, const char *const args[])
{
	const char	*argv[64];
	static char	 log[65536];
	long long	 deadline;
	pid_t		 r;
	int		 fd, nul, i, status;

	memset(d, 0, sizeof *d);
	/* This machine's /etc/stampd has no say in a test. */
	argv[0] = h_prog("STAMPD");
	argv[1] = "--config";
	argv[2] = "/dev/null";
	for (i = 0; i < 60 && args[i] != NULL; i++)
		argv[i + 3] = args[i];
	argv[i + 3] = NULL;

	judge_logs();
	if ((fd = log_open(d)) == -1) {
		diag("mkstemp %s: %s", d->logpath, strerror(errno));
		return -1;
	}
	fflush(stdout);
	if ((d->pid = fork()) == -1) {
		diag("fork: %s", strerror(errno));
		close(fd);
		unlink(d->logpath);
		return -1;
	}
	if (d->pid == 0) {
		if ((nul = open("/dev/null", O_RDONLY)) == -1 ||
		    dup2(nul, 0) == -1 || dup2(fd, 1) == -1 ||
		    dup2(fd, 2) == -1)
			_exit(127);
		/* The daemon gets 0, 1 and 2: tests count its fds. */
		if (nul > 2)
			close(nul);
		if (fd > 2)
			close(fd);
		execv(argv[0], (char *const *)argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fd);
	remember(d->pid, d->logpath);

	deadline = h_now_ms() + h_ms(H_DEADLINE_MS);
	for (;;) {
		read_file(d->logpath, log, sizeof log);
		if (scan_log(d, log) >= nlisten)
			return 0;
		r = waitpid(d->pid, &status, WNOHANG);
		if (r == d->pid) {
			/* It is gone: what it wrote last is in the log. */
			read_file(d->logpath, log, sizeof log);
			diag("stampd exited (status %d) before listening",
			    decode_status(status));
			diag_log(log);
			forget(d->pid);
			d->pid = 0;
			return -1;
		}
		if (h_now_ms() >= deadline)
			break;
		h_nap(10);
	}
	diag("stampd did not report %d listeners in %ld ms", nlisten,
	    h_ms(H_DEADLINE_MS));
	diag_log(log);
	h_daemon_stop(d);
	return -1;
}

int
h_daemon_stop(struct h_daemon *d)
{
	int	 status;

	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	status = reap(d->pid, h_now_ms() + h_ms(H_DEADLINE_MS));
	forget(d->pid);
	d->pid = 0;
	return status;
}

const char *
h_daemon_log(struct h_daemon *d)
{
	static char	 log[65536];
	off_t		 size;
	ssize_t		 n;
	int		 fd;

	log[0] = '\0';
	if ((fd = open(d->logpath, O_RDONLY | O_CLOEXEC)) == -1)
		return log;
	/* Keep the tail: the latest lines are the ones a test asks about. */
	if ((size = lseek(fd, 0, SEEK_END)) > (off_t)sizeof log - 1)
		lseek(fd, size - (off_t)(sizeof log - 1), SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	n = read(fd, log, sizeof log - 1);
	log[n > 0 ? n : 0] = '\0';
	close(fd);
	return log;
}

const struct h_listener *
h_daemon_find(const struct h_daemon *d, const char *transport,
    const char *proto)
{
	int	 i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->l[i].transport, transport) == 0 &&
		    strcmp(d->l[i].proto, proto) == 0)
			return &d->l[i];
	return NULL;
}

int
h_stamp(int ms, struct h_result *r, ...)
{
	char	*argv[32];
	va_list	 ap;
	int	 n = 0;

	argv[n++] = (char *)h_prog("STAMP");
	va_start(ap, r);
	while (n < 31 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	return h_run(argv, ms, r);
}

const char *
h_prog(const char *envname)
{
	const char	*p = getenv(envname);
	static char	 why[128];

	if (p == NULL || *p == '\0') {
		snprintf(why, sizeof why, "%s is not set in the environment",
		    envname);
		bail(why);
	}
	return p;
}

int
h_run(char *const argv[], int timeout_ms, struct h_result *r)
{
	struct pollfd	 pfd[2];
	char		*buf[2] = { r->out, r->err };
	size_t		 got[2] = { 0, 0 };
	char		 junk[4096];
	long long	 deadline = h_now_ms() + timeout_ms;
	ssize_t		 n;
	pid_t		 pid;
	int		 out[2], err[2], nul, i, open_fds = 2;

	r->status = -1;
	r->out[0] = r->err[0] = '\0';
	if (pipe2(out, O_CLOEXEC) == -1)
		return -1;
	if (pipe2(err, O_CLOEXEC) == -1) {
		close(out[0]);
		close(out[1]);
		return -1;
	}
	fflush(stdout);
	if ((pid = fork()) == -1) {
		close(out[0]);
		close(out[1]);
		close(err[0]);
		close(err[1]);
		return -1;
	}
	if (pid == 0) {
		if ((nul = open("/dev/null", O_RDONLY)) == -1 ||
		    dup2(nul, 0) == -1 || dup2(out[1], 1) == -1 ||
		    dup2(err[1], 2) == -1)
			_exit(127);
		execv(argv[0], argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	pfd[0].fd = out[0];
	pfd[1].fd = err[0];
	pfd[0].events = pfd[1].events = POLLIN;
	while (open_fds > 0 && h_now_ms() < deadline) {
		if (poll(pfd, 2, ms_left(deadline)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < 2; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			/* Past the buffer, read on and drop, so it ends. */
			if (got[i] < sizeof r->out - 1)
				n = read(pfd[i].fd, buf[i] + got[i],
				    sizeof r->out - 1 - got[i]);
			else
				n = read(pfd[i].fd, junk, sizeof junk);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				open_fds--;
				continue;
			}
			if (got[i] < sizeof r->out - 1)
				got[i] += (size_t)n;
		}
	}
	for (i = 0; i < 2; i++) {
		if (pfd[i].fd != -1)
			close(pfd[i].fd);
		buf[i][got[i]] = '\0';
	}
	r->status = reap(pid, deadline);
	return r->status;
}

/* Wait for events on fd within timeout_ms: 0, or -1 and errno. */
static int
ready(int fd, short events, int timeout_ms)
{
	struct pollfd	 pfd = { fd, events, 0 };
	long long	 deadline = h_now_ms() + timeout_ms;
	int		 r;

	while ((r = poll(&pfd, 1, ms_left(deadline))) == -1 &&
	    errno == EINTR)
		;
	if (r == 0)
		errno = ETIMEDOUT;
	return r == 1 ? 0 : -1;
}

/* A non-blocking socket connected to addr within timeout_ms, or -1. */
static int
dial(const struct sockaddr *addr, socklen_t alen, int type, int timeout_ms)
{
	socklen_t	 elen = sizeof(int);
	int		 fd, e;

	fd = socket(addr->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, addr, alen) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;
	if (ready(fd, POLLOUT, timeout_ms) == -1)
		goto fail;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) == -1)
		goto fail;
	if (e != 0) {
		errno = e;
		goto fail;
	}
	return fd;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

ssize_t
h_ask_tcp(const struct sockaddr *addr, socklen_t alen, char *buf,
    size_t len, int timeout_ms)
{
	size_t	 got = 0;
	ssize_t	 n;
	int	 fd, e;

	if ((fd = dial(addr, alen, SOCK_STREAM, timeout_ms)) == -1)
		return -1;
	while (got < len) {
		if (ready(fd, POLLIN, timeout_ms) == -1)
			goto fail;
		n = recv(fd, buf + got, len - got, 0);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1)
			goto fail;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return (ssize_t)got;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

ssize_t
h_ask_udp(const struct sockaddr *addr, socklen_t alen, const char *req,
    size_t reqlen, char *buf, size_t len, int timeout_ms)
{
	long long	 deadline;
	ssize_t		 n;
	int		 fd, e, held, tries = 0;

	if ((fd = dial(addr, alen, SOCK_DGRAM, timeout_ms)) == -1)
		return -1;
	while (from_own_port(fd) && tries++ < 16) {
		/* Held while the next is dialled, so that it is another. */
		held = fd;
		fd = dial(addr, alen, SOCK_DGRAM, timeout_ms);
		close(held);
		if (fd == -1)
			return -1;
	}
	if (send(fd, req, reqlen, MSG_NOSIGNAL) == -1)
		goto fail;
	deadline = h_now_ms() + timeout_ms;
	for (;;) {
		if (ready(fd, POLLIN, ms_left(deadline)) == -1)
			goto fail;
		n = recv(fd, buf, len, 0);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1)
			goto fail;
		close(fd);
		return n;
	}
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

int
h_models(char names[][32], int max)
{
	struct h_result	 r;
	char		*argv[] = { (char *)h_prog("STAMPD"), "--help", NULL };
	char		 line[256], name[32];
	const char	*p;
	size_t		 len;
	int		 in = 0, indent = -1, ind, n = 0;

	if (h_run(argv, (int)h_ms(10000), &r) != 0) {
		diag("stampd --help exited %d: %s", r.status, r.err);
		bail("stampd --help failed");
	}
	/* Line by line through a copy: r.out stays whole for the diag. */
	for (p = r.out; *p != '\0'; p += len + (p[len] == '\n')) {
		len = strcspn(p, "\n");
		snprintf(line, sizeof line, "%.*s", (int)len, p);
		if (!in) {
			in = strstr(line, "-m, --model") != NULL;
			continue;
		}
		ind = (int)strspn(line, " ");
		if (ind == 0 || line[ind] == '-' || line[ind] == '\0')
			break;
		if (indent == -1)
			indent = ind;
		/* Deeper: a summary's second line.  Shallower: the end. */
		if (ind > indent)
			continue;
		if (ind < indent || n == max)
			break;
		if (sscanf(line, "%31s", name) == 1)
			memcpy(names[n++], name, sizeof name);
	}
	if (n == 0)
		diag("stampd --help:\n%s", r.out);
	return n;
}

/* An option of --help that only some models take, as its lines say. */
struct h_taken {
	char	 shortopt;		/* 'w', or 0 if it has none */
	char	 longopt[32];		/* "workers" */
	int	 hasarg;
	char	 models[192];		/* " event prefork dynamic uring " */
};

/*
 * Whether arg names t ("-w", "-w2", "--workers", "--workers=2"); *inl is
 * set if its value is in arg itself.
 */
static int
taken_is(const struct h_taken *t, const char *arg, int *inl)
{
	size_t	 len = strlen(t->longopt);

	if (arg[0] != '-')
		return 0;
	if (t->shortopt != 0 && arg[1] == t->shortopt) {
		*inl = arg[2] != '\0';
		return 1;
	}
	if (arg[1] != '-' || strncmp(arg + 2, t->longopt, len) != 0 ||
	    (arg[2 + len] != '\0' && arg[2 + len] != '='))
		return 0;
	*inl = arg[2 + len] == '=';
	return 1;
}

/*
 * The options of $STAMPD --help that only some models take, into taken
 * (at most max); how many.  Bails out if --help fails.
 */
static int
read_taken(struct h_taken *taken, int max)
{
	struct h_taken	*t = NULL;
	struct h_result	 r;
	char		*argv[] = { (char *)h_prog("STAMPD"), "--help", NULL };
	char		 line[256];
	const char	*p, *q;
	size_t		 len, i, nl;
	int		 n = 0;

	if (h_run(argv, (int)h_ms(10000), &r) != 0) {
		diag("stampd --help exited %d: %s", r.status, r.err);
		bail("stampd --help failed");
	}
	for (p = r.out; *p != '\0' && n < max; p += nl + (p[nl] == '\n')) {
		nl = strcspn(p, "\n");
		snprintf(line, sizeof line, "%.*s", (int)nl, p);
		/* "  -w, --workers N   ..." or "      --max-workers N   ..." */
		i = strspn(line, " ");
		if (i > 0 && i < 8 && line[i] == '-' &&
		    (q = strstr(line, "--")) != NULL) {
			t = &taken[n];
			memset(t, 0, sizeof *t);
			if (line[i + 1] != '-')
				t->shortopt = line[i + 1];
			len = strcspn(q += 2, " =");
			snprintf(t->longopt, sizeof t->longopt, "%.*s",
			    (int)len, q);
			/* One space before its argument, two after. */
			t->hasarg = q[len] == ' ' && q[len + 1] != ' ' &&
			    q[len + 1] != '\0';
			continue;
		}
		/* "taken by -m event, prefork": the option above. */
		if (t == NULL || (q = strstr(line, "taken by -m ")) == NULL)
			continue;
		snprintf(t->models, sizeof t->models, " %s ", q + 12);
		for (i = 0; t->models[i] != '\0'; i++)
			if (t->models[i] == ',')
				t->models[i] = ' ';
		n++;
		t = NULL;
	}
	return n;
}

int
h_model_args(const char *model, const char *args[])
{
	static struct h_taken	 taken[16];
	static int		 ntaken = -1;
	char			 want[40];
	int			 i, k, n = 0, rp = 0, inl = 0;

	if (ntaken == -1)
		ntaken = read_taken(taken, (int)(sizeof taken /
		    sizeof taken[0]));
	snprintf(want, sizeof want, " %s ", model);
	for (i = 0; args[i] != NULL; i++)
		rp |= strcmp(args[i], "--reuseport") == 0;
	for (i = 0; args[i] != NULL; i++) {
		for (k = 0; k < ntaken; k++)
			if (taken_is(&taken[k], args[i], &inl))
				break;
		/* Every model takes -w beside --reuseport (stampd.8). */
		if (k == ntaken || strstr(taken[k].models, want) != NULL ||
		    (rp && strcmp(taken[k].longopt, "workers") == 0)) {
			args[n++] = args[i];
			continue;
		}
		if (taken[k].hasarg && !inl && args[i + 1] != NULL)
			i++;
	}
	args[n] = NULL;
	return n;
}

/* The transmit time of h_dgram_request's NTP request: its reply's origin. */
#define NTP_ASKED	0x0123456789abcdefULL

const char *
h_dgram_request(const char *proto, size_t *len)
{
	static char		 req[NTP_HEADER_LEN];
	struct ntp_packet	 p;

	if (wire_proto_find(proto) != STAMP_PROTO_NTP) {
		*len = 0;
		return "";
	}
	memset(&p, 0, sizeof p);
	p.version = 4;
	p.mode = NTP_MODE_CLIENT;
	p.xmt = NTP_ASKED;
	*len = (size_t)ntp_encode(&p, req, sizeof req);
	return req;
}

/* An NTP reply to h_dgram_request's request, its time near ours. */
static int
check_ntp(const char *buf, ssize_t n, char *why, size_t whylen)
{
	struct ntp_packet	 p;
	struct timespec		 ts;
	long long		 now = (long long)time(NULL);

	if (n != NTP_HEADER_LEN || ntp_decode(buf, (size_t)n, &p) == -1) {
		snprintf(why, whylen, "%zd bytes, not 48", n);
		return 0;
	}
	if (p.mode != NTP_MODE_SERVER || p.version != 4 ||
	    p.org != NTP_ASKED) {
		snprintf(why, whylen, "mode %d, version %d, origin %s ours",
		    p.mode, p.version, p.org == NTP_ASKED ? "is" : "is not");
		return 0;
	}
	ntp_to_timespec(p.xmt, (time_t)now, &ts);
	if (ts.tv_sec < now - H_SLACK || ts.tv_sec > now + H_SLACK) {
		snprintf(why, whylen, "time %lld, ours %lld",
		    (long long)ts.tv_sec, now);
		return 0;
	}
	return 1;
}

int
h_check_reply(const char *proto, const char *buf, ssize_t n, char *why,
    size_t whylen)
{
	long long	 t, now = (long long)time(NULL);
	const char	*reason;
	ssize_t		 i;
	int		 p = wire_proto_find(proto);

	if (n < 0) {
		snprintf(why, whylen, "no reply: %s", strerror(errno));
		return 0;
	}
	switch (p) {
	case STAMP_PROTO_STAMP:
		for (i = 0; i < n - 2; i++)
			if (buf[i] < '0' || buf[i] > '9')
				break;
		if (n < 3 || i != n - 2 || buf[n - 2] != '\r' ||
		    buf[n - 1] != '\n') {
			snprintf(why, whylen, "%zd bytes, not ^[0-9]+\\r\\n$",
			    n);
			return 0;
		}
		break;
	case STAMP_PROTO_TIME:
		if (n != STAMP_TIME_LEN) {
			snprintf(why, whylen, "%zd bytes, not 4", n);
			return 0;
		}
		break;
	case STAMP_PROTO_DAYTIME:
		if (n != 26 || buf[24] != '\r' || buf[25] != '\n') {
			snprintf(why, whylen, "%zd bytes, not 24 and CRLF", n);
			return 0;
		}
		break;
	case STAMP_PROTO_NTP:
		return check_ntp(buf, n, why, whylen);
	default:
		snprintf(why, whylen, "no protocol %s", proto);
		return 0;
	}
	if (wire_decode(p, buf, (size_t)n, &t, &reason) == -1) {
		snprintf(why, whylen, "does not decode: %s", reason);
		return 0;
	}
	if (t < now - H_SLACK || t > now + H_SLACK) {
		snprintf(why, whylen, "time %lld, ours %lld", t, now);
		return 0;
	}
	return 1;
}

int
h_stamp_near(const char *buf, ssize_t n, long long now)
{
	long long	 t;
	const char	*why;

	if (n <= 0 || wire_decode(STAMP_PROTO_STAMP, buf, (size_t)n, &t,
	    &why) == -1)
		return 0;
	return t >= now - H_SLACK && t <= now + H_SLACK;
}

int
h_ipv6_works(void)
{
	struct sockaddr_in6	 sin6;
	int			 fd, r;

	if ((fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	memset(&sin6, 0, sizeof sin6);
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	r = bind(fd, (struct sockaddr *)&sin6, sizeof sin6);
	close(fd);
	return r == 0;
}

int
h_accept_queue(int port)
{
	FILE		*f;
	char		 line[512];
	unsigned	 lport, st, tx, rx;
	int		 q = -1;

	if ((f = fopen("/proc/net/tcp", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, " %*d: %*x:%x %*x:%*x %x %x:%x", &lport, &st,
		    &tx, &rx) == 4 && lport == (unsigned)port && st == 0x0A) {
			q = (int)rx;
			break;
		}
	fclose(f);
	return q;
}

int
h_count(const char *log, const char *text)
{
	int	 n = 0;

	for (; (log = strstr(log, text)) != NULL; log++)
		n++;
	return n;
}

long long
h_daemon_counter(struct h_daemon *d, const char *name)
{
	long long	 deadline = h_now_ms() + h_ms(H_DEADLINE_MS);
	const char	*log, *p, *last = NULL;
	char		 key[32];
	unsigned long long v;
	int		 before;

	before = h_count(h_daemon_log(d), "stampd: stats: ");
	kill(d->pid, SIGUSR1);
	for (;;) {
		log = h_daemon_log(d);
		if (h_count(log, "stampd: stats: ") > before)
			break;
		if (h_now_ms() >= deadline)
			return -1;
		h_nap(20);
	}
	for (p = log; (p = strstr(p, "stampd: stats: ")) != NULL; p++)
		last = p;
	snprintf(key, sizeof key, " %s ", name);
	if ((p = strstr(last, key)) == NULL ||
	    (size_t)(p - last) > strcspn(last, "\n") ||
	    sscanf(p + strlen(key), "%llu", &v) != 1) {
		diag("no counter '%s' in: %.*s", name,
		    (int)strcspn(last, "\n"), last);
		return -1;
	}
	return (long long)v;
}

int
h_dial_nb(const struct sockaddr *addr, socklen_t alen)
{
	int	 fd;

	fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, addr, alen) == -1 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

int
h_read_some(int fd, char *buf, size_t len, size_t *got)
{
	char	 junk[512];
	ssize_t	 n;

	for (;;) {
		if (*got < len)
			n = recv(fd, buf + *got, len - *got, MSG_DONTWAIT);
		else
			n = recv(fd, junk, sizeof junk, MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return n == 0 ? 1 : -1;
		if (*got < len)
			*got += (size_t)n;
	}
}

void
h_cl_open(struct h_client *c, const struct h_listener *l, const char *src)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;

	memset(c, 0, sizeof *c);
	c->state = H_CL_ERR;
	c->fd = socket(l->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		c->err = errno;
		return;
	}
	if (src != NULL) {
		len = h_addr(src, 0, &ss);
		if (bind(c->fd, (struct sockaddr *)&ss, len) == -1) {
			c->err = errno;
			return;
		}
	}
	if (connect(c->fd, (const struct sockaddr *)&l->ss, l->sslen) == -1 &&
	    errno != EINPROGRESS) {
		c->err = errno;
		return;
	}
	c->state = H_CL_WAIT;
}

int
h_cl_connected(struct h_client *c, int n, int ms)
{
	struct pollfd	 pfd[H_CL_MAX];
	long long	 deadline = h_now_ms() + ms;
	socklen_t	 len;
	int		 i, e, done;

	if (n > H_CL_MAX)
		n = H_CL_MAX;
	for (;;) {
		for (i = done = 0; i < n; i++) {
			pfd[i].fd = c[i].connected || c[i].state != H_CL_WAIT ?
			    -1 : c[i].fd;
			pfd[i].events = POLLOUT;
			done += c[i].connected;
		}
		if (done == n || h_now_ms() >= deadline)
			break;
		if (poll(pfd, (nfds_t)n, 20) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			len = sizeof e;
			if (getsockopt(c[i].fd, SOL_SOCKET, SO_ERROR, &e,
			    &len) == -1)
				e = errno;
			if (e == 0)
				c[i].connected = 1;
			else {
				c[i].state = H_CL_ERR;
				c[i].err = e;
			}
		}
	}
	for (i = 0; i < n; i++)
		if (c[i].state == H_CL_WAIT && !c[i].connected) {
			c[i].state = H_CL_ERR;
			c[i].err = ETIMEDOUT;
		}
	return done;
}

void
h_cl_hold(struct h_client *c, const struct h_listener *l, const char *src,
    int ms)
{
	h_cl_open(c, l, src);
	if (h_cl_connected(c, 1, ms) != 1)
		return;
	if (send(c->fd, "x", 1, MSG_NOSIGNAL) != 1) {
		c->state = H_CL_ERR;
		c->err = errno;
	}
}

void
h_cl_wait(struct h_client *c, int n, int ms)
{
	struct pollfd	 pfd[H_CL_MAX];
	long long	 deadline = h_now_ms() + ms;
	ssize_t		 r;
	int		 i, left, idx[H_CL_MAX];

	for (;;) {
		for (i = left = 0; i < n && left < H_CL_MAX; i++)
			if (c[i].state == H_CL_WAIT) {
				pfd[left].fd = c[i].fd;
				pfd[left].events = POLLIN;
				idx[left++] = i;
			}
		if (left == 0 || h_now_ms() >= deadline)
			return;
		if (poll(pfd, (nfds_t)left, 20) == -1 && errno != EINTR)
			return;
		for (i = 0; i < left; i++) {
			struct h_client	*k = &c[idx[i]];

			if (pfd[i].revents == 0)
				continue;
			r = recv(k->fd, k->buf + k->got, sizeof k->buf - k->got,
			    MSG_DONTWAIT);
			if (r > 0 && (k->got += (size_t)r) < sizeof k->buf)
				continue;
			if (r == -1 && (errno == EAGAIN || errno == EINTR))
				continue;
			k->end = time(NULL);
			if (r == 0)
				k->state = H_CL_EOF;
			else if (r == -1) {
				k->state = H_CL_ERR;
				k->err = errno;
			} else {
				k->state = H_CL_ERR;	/* far too much */
				k->err = EMSGSIZE;
			}
		}
	}
}

int
h_cl_served(const struct h_client *c, const char *proto)
{
	char	 why[128];

	return c->state == H_CL_EOF && h_check_reply(proto, c->buf,
	    (ssize_t)c->got, why, sizeof why);
}

int
h_cl_refused(const struct h_client *c)
{
	return c->got == 0 && (c->state == H_CL_EOF ||
	    (c->state == H_CL_ERR && c->err == ECONNRESET));
}

const char *
h_cl_what(const struct h_client *c, const char *proto)
{
	static char	 s[160];
	char		 why[128];

	if (c->state == H_CL_WAIT)
		snprintf(s, sizeof s, "no end yet, %zu bytes", c->got);
	else if (c->state == H_CL_ERR)
		snprintf(s, sizeof s, "%s after %zu bytes", strerror(c->err),
		    c->got);
	else if (c->got > 0 && !h_check_reply(proto, c->buf,
	    (ssize_t)c->got, why, sizeof why))
		snprintf(s, sizeof s, "EOF after %zu bytes, %s", c->got, why);
	else
		snprintf(s, sizeof s, "EOF after %zu bytes%s", c->got,
		    c->got > 0 ? ", a whole reply" : "");
	return s;
}

void
h_cl_close(struct h_client *c, int n)
{
	int	 i;

	for (i = 0; i < n; i++)
		if (c[i].fd > 0) {
			close(c[i].fd);
			c[i].fd = -1;
		}
}

int
h_cl_ask(const struct h_listener *l, const char *src, struct h_client *c,
    int ms)
{
	h_cl_open(c, l, src);
	h_cl_wait(c, 1, ms);
	h_cl_close(c, 1);
	return h_cl_served(c, l->proto);
}

int
h_cl_ask_until(const struct h_listener *l, const char *src,
    struct h_client *c, int ms)
{
	long long	 deadline = h_now_ms() + ms;

	while (!h_cl_ask(l, src, c, H_ASK_MS) && h_now_ms() < deadline)
		h_nap(50);
	return h_cl_served(c, l->proto);
}

int
h_cl_hold_n(struct h_client *c, int n, const struct h_listener *l,
    const char *src, int ms)
{
	int	 i, good = 0;

	for (i = 0; i < n; i++)
		h_cl_hold(&c[i], l, src, ms);
	h_cl_wait(c, n, ms);
	for (i = 0; i < n; i++)
		if (h_cl_served(&c[i], l->proto))
			good++;
		else
			diag("held client %d: %s", i,
			    h_cl_what(&c[i], l->proto));
	return good;
}

socklen_t
h_addr(const char *text, int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (strchr(text, ':') != NULL) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		if (inet_pton(AF_INET6, text, &sin6->sin6_addr) != 1)
			bail("a bad IPv6 address in the test");
		return sizeof *sin6;
	}
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	if (inet_pton(AF_INET, text, &sin->sin_addr) != 1)
		bail("a bad IPv4 address in the test");
	return sizeof *sin;
}

int
h_udp_open(const struct h_listener *l)
{
	int	 fd;

	fd = socket(l->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, (const struct sockaddr *)&l->ss, l->sslen) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

ssize_t
h_udp_recv(int fd, char *buf, size_t len, int ms)
{
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	long long	 deadline = h_now_ms() + ms, left;
	ssize_t		 n;

	for (;;) {
		n = recv(fd, buf, len, MSG_DONTWAIT);
		if (n >= 0 || (errno != EAGAIN && errno != EINTR))
			return n;
		if ((left = deadline - h_now_ms()) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		poll(&pfd, 1, (int)left);
	}
}

long long
h_counter_at_least(struct h_daemon *d, const char *name, long long want,
    int ms)
{
	long long	 deadline = h_now_ms() + ms, v;

	while ((v = h_daemon_counter(d, name)) >= 0 && v < want &&
	    h_now_ms() < deadline)
		h_nap(100);
	return v;
}

int
h_gone(pid_t pid, int ms)
{
	long long	 deadline = h_now_ms() + ms;

	for (;;) {
		if (kill(pid, 0) == -1 && errno == ESRCH)
			return 1;
		if (h_now_ms() >= deadline)
			return 0;
		h_nap(20);
	}
}

int
h_exited_within(pid_t pid, int ms)
{
	long long	 deadline = h_now_ms() + ms;
	siginfo_t	 si;

	do {
		memset(&si, 0, sizeof si);
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG |
		    WNOWAIT) == 0 && si.si_pid == pid)
			return 1;
		h_nap(10);
	} while (h_now_ms() < deadline);
	return 0;
}

void
h_loopback(int family, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*len = sizeof *sin;
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		*len = sizeof *sin6;
	}
}

int
h_port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

int
h_same_addr(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family || h_port_of(a) != h_port_of(b))
		return 0;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		    ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
	    &((const struct sockaddr_in6 *)b)->sin6_addr,
	    sizeof(struct in6_addr)) == 0;
}

int
h_timed_socket(int family, int type, int ms)
{
	struct timeval	 tv = { ms / 1000, ms % 1000 * 1000 };
	int		 fd;

	if ((fd = socket(family, type | SOCK_CLOEXEC, 0)) == -1)
		bail("socket failed");
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == -1)
		bail("SO_RCVTIMEO/SO_SNDTIMEO failed");
	return fd;
}

int
h_wait_queued(int fd, int want, int ms)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	long long	 end = h_now_ms() + ms, left;
	int		 n = 0;

	for (;;) {
		if (ioctl(fd, FIONREAD, &n) == -1)
			return -1;
		if (n >= want || (left = end - h_now_ms()) <= 0)
			return n;
		/*
		 * Nothing yet: sleep until something comes.  Some: the rest
		 * is on its way, look again in a millisecond.
		 */
		if (n == 0)
			(void)poll(&pfd, 1, (int)left);
		h_nap(1);
	}
}

/* The child processes of pid, at most max into kids; how many. */
static int
kids_of(pid_t pid, pid_t *kids, int max)
{
	char		 path[64], line[512], *p;
	struct dirent	*e;
	DIR		*dir;
	FILE		*f;
	long		 ppid;
	int		 n = 0;

	if ((dir = opendir("/proc")) == NULL)
		return 0;
	while ((e = readdir(dir)) != NULL && n < max) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%.20s/stat", e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		/* A command may hold spaces and parentheses: past the last. */
		if (fgets(line, sizeof line, f) != NULL &&
		    (p = strrchr(line, ')')) != NULL &&
		    sscanf(p + 1, " %*c %ld", &ppid) == 1 && ppid == (long)pid)
			kids[n++] = (pid_t)atol(e->d_name);
		fclose(f);
	}
	closedir(dir);
	return n;
}

/* Whether every thread of pid has a tracer (a thread gone counts). */
static int
all_traced(pid_t pid)
{
	char		 path[96], line[128];
	struct dirent	*e;
	DIR		*dir;
	FILE		*f;
	int		 traced = 1, tp;

	snprintf(path, sizeof path, "/proc/%ld/task", (long)pid);
	if ((dir = opendir(path)) == NULL)
		return 1;
	while (traced && (e = readdir(dir)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/%ld/task/%.20s/status",
		    (long)pid, e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		while (fgets(line, sizeof line, f) != NULL)
			if (sscanf(line, "TracerPid: %d", &tp) == 1) {
				traced = tp != 0;
				break;
			}
		fclose(f);
	}
	closedir(dir);
	return traced;
}

int
h_trace_start(struct h_trace *t, pid_t pid, const char *calls)
{
	const char	*argv[16 + 2 * H_TRACEMAX];
	char		 trace[512], pids[H_TRACEMAX][16];
	char		 err[H_LOGPATH + 8];
	pid_t		 kids[H_TRACEMAX];
	long long	 deadline;
	int		 n, i, a = 0, fd, nul, ok_all;
	struct h_daemon	 tmp;

	memset(t, 0, sizeof *t);
	if ((fd = log_open(&tmp)) == -1) {
		diag("strace: mkstemp: %s", strerror(errno));
		return -1;
	}
	close(fd);
	snprintf(t->path, sizeof t->path, "%s", tmp.logpath);
	snprintf(err, sizeof err, "%s.err", t->path);
	n = kids_of(pid, kids + 1, H_TRACEMAX - 1);
	kids[0] = pid;
	n++;
	argv[a++] = "strace";
	argv[a++] = "-f";
	argv[a++] = "-qq";
	argv[a++] = "-e";
	argv[a++] = "signal=none";
	if (calls != NULL) {
		snprintf(trace, sizeof trace, "trace=%s", calls);
		argv[a++] = "-e";
		argv[a++] = trace;
	}
	argv[a++] = "-o";
	argv[a++] = t->path;
	for (i = 0; i < n; i++) {
		snprintf(pids[i], sizeof pids[i], "%ld", (long)kids[i]);
		argv[a++] = "-p";
		argv[a++] = pids[i];
	}
	argv[a] = NULL;
	fflush(stdout);
	if ((t->pid = fork()) == -1) {
		diag("fork: %s", strerror(errno));
		return -1;
	}
	if (t->pid == 0) {
		if ((nul = open("/dev/null", O_RDWR)) == -1 ||
		    (fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644)) ==
		    -1 || dup2(nul, 0) == -1 || dup2(nul, 1) == -1 ||
		    dup2(fd, 2) == -1)
			_exit(127);
		execvp(argv[0], (char *const *)argv);
		dprintf(2, "exec strace: %s\n", strerror(errno));
		_exit(127);
	}
	remember(t->pid, t->path);
	deadline = h_now_ms() + h_ms(H_DEADLINE_MS);
	for (;;) {
		for (i = 0, ok_all = 1; i < n && ok_all; i++)
			ok_all = all_traced(kids[i]);
		if (ok_all)
			break;
		if (h_exited_within(t->pid, 0) || h_now_ms() >= deadline) {
			diag("strace did not attach to pid %ld and its %d "
			    "children (see %s)", (long)pid, n - 1, err);
			h_trace_stop(t);
			return -1;
		}
		h_nap(10);
	}
	unlink(err);
	return 0;
}

int
h_trace_stop(struct h_trace *t)
{
	int	 status;

	if (t->pid <= 0)
		return -1;
	/* At SIGINT strace detaches, and the tasks run on untraced. */
	kill(t->pid, SIGINT);
	status = reap(t->pid, h_now_ms() + h_ms(H_DEADLINE_MS));
	forget(t->pid);
	t->pid = 0;
	return status == -1 ? -1 : 0;
}

/*
 * One line of strace -f: "TID name(args) = result", or its end,
 * "TID <... name resumed>args) = result"; a line that is only a start
 * ("<unfinished ...>") is not a call that returned.  Whether it is one,
 * with its task, name and result (after " = ") filled in.
 */
static int
trace_line(const char *line, pid_t *tid, char *name, size_t len,
    const char **result)
{
	const char	*p, *eq;
	long		 v;
	int		 used = 0;
	size_t		 n;

	if (sscanf(line, "%ld %n", &v, &used) != 1 || used == 0)
		return 0;
	*tid = (pid_t)v;
	p = line + used;
	if (strstr(p, "<unfinished ...>") != NULL ||
	    (eq = strstr(p, ") = ")) == NULL)
		return 0;
	/* The last " = ": an argument may show one. */
	while (strstr(eq + 1, ") = ") != NULL)
		eq = strstr(eq + 1, ") = ");
	if (strncmp(p, "<... ", 5) == 0)
		p += 5;
	n = strcspn(p, "( ");
	if (n == 0 || n >= len)
		return 0;
	memcpy(name, p, n);
	name[n] = '\0';
	*result = eq + 4;
	return 1;
}

static int
trace_match(const char *name, const char *result, const char *call,
    const char *err)
{
	size_t	 n;

	if (call != NULL && strcmp(name, call) != 0)
		return 0;
	if (err == NULL)
		return 1;
	if (*err == '\0')
		return strncmp(result, "-1 ", 3) != 0;
	n = strlen(err);
	return strncmp(result, "-1 ", 3) == 0 &&
	    strncmp(result + 3, err, n) == 0 && result[3 + n] == ' ';
}

long
h_trace_count(const struct h_trace *t, pid_t tid, const char *call,
    const char *err)
{
	char		 line[4096], name[64];
	const char	*result;
	FILE		*f;
	long		 count = 0;
	pid_t		 who;

	if ((f = fopen(t->path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (trace_line(line, &who, name, sizeof name, &result) &&
		    (tid == 0 || who == tid) &&
		    trace_match(name, result, call, err))
			count++;
	fclose(f);
	return count;
}

int
h_trace_tasks(const struct h_trace *t, const char *call, const char *err,
    pid_t *tids, long *n, int max)
{
	char		 line[4096], name[64];
	const char	*result;
	FILE		*f;
	pid_t		 who;
	int		 ntask = 0, i;

	if ((f = fopen(t->path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL) {
		if (!trace_line(line, &who, name, sizeof name, &result) ||
		    !trace_match(name, result, call, err))
			continue;
		for (i = 0; i < ntask && tids[i] != who; i++)
			;
		if (i == ntask) {
			if (ntask == max)
				continue;
			tids[ntask] = who;
			n[ntask++] = 0;
		}
		n[i]++;
	}
	fclose(f);
	return ntask;
}

ssize_t
h_ask_metrics(const struct h_listener *l, const char *req, char *buf,
    size_t len, int ms)
{
	long long	 deadline = h_now_ms() + ms;
	size_t		 got = 0, reqlen = strlen(req), sent = 0;
	ssize_t		 n;
	int		 fd, e, left;

	if (len == 0)
		return -1;
	if ((fd = dial((const struct sockaddr *)&l->ss, l->sslen,
	    SOCK_STREAM, ms)) == -1)
		return -1;
	while (sent < reqlen) {
		if ((left = (int)(deadline - h_now_ms())) <= 0 ||
		    ready(fd, POLLOUT, left) == -1)
			goto timeout;
		n = send(fd, req + sent, reqlen - sent, MSG_NOSIGNAL);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1)
			goto fail;
		sent += (size_t)n;
	}
	while (got < len - 1) {
		if ((left = (int)(deadline - h_now_ms())) <= 0 ||
		    ready(fd, POLLIN, left) == -1)
			goto timeout;
		n = recv(fd, buf + got, len - 1 - got, 0);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1)
			goto fail;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	close(fd);
	return (ssize_t)got;
timeout:
	errno = ETIMEDOUT;
fail:
	e = errno;
	buf[got] = '\0';
	close(fd);
	errno = e;
	return -1;
}

long long
h_metric(const char *page, const char *name)
{
	const char	*p;
	size_t		 n = strlen(name);
	char		*end;
	long long	 v;

	for (p = page; p != NULL && *p != '\0'; p = strchr(p, '\n'),
	    p = p == NULL ? NULL : p + 1) {
		if (strncmp(p, name, n) != 0 || p[n] != ' ')
			continue;
		v = strtoll(p + n + 1, &end, 10);
		if (end != p + n + 1 && (*end == '\n' || *end == '\0'))
			return v;
	}
	return -1;
}
