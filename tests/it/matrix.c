/*
 * matrix.c: every model that stampd --help lists, held to every promise.
 *
 * The promises are the rows of a table, each a function that starts its
 * own daemon on loopback, with the options that promise needs, and says
 * ok or not ok in lines that name the model and the row.  The models come
 * from stampd --help, never from a list kept here, so that a model added
 * later meets every row without a new test.  A row that cannot apply to a
 * model says so only after it has checked why (a pool row, for instance,
 * looks for the daemon's child processes while it holds connections).
 *
 * Nothing here asserts a duration or a CPU figure.  Every wait has a
 * deadline, scaled by STAMP_TIMEOUT_SCALE for slow machines (the
 * harness's h_ms); a count that depends on time (a token bucket refills as
 * time passes) is bounded by the time measured; a spin, or workers that
 * share, are counted in system calls that strace sees.
 * Every daemon is stopped by its pid; processes stopped here with SIGSTOP
 * are continued again, from an atexit handler at the latest.
 *
 * MATRIX_MODEL=name and MATRIX_ROW=name run one model or one row only.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "srcwait.h"
#include "tap.h"

/* Every bound on a wait goes through the harness's h_ms: the one scale. */
#define T(ms)		((int)h_ms(ms))
#define ASK_MS		T(5000)		/* one client's patience */
#define QUICK_MS	T(1000)		/* where a reply may never come */
#define QUIET_MS	T(500)		/* listening for a reply not sent */
#define SETTLE_MS	T(5000)		/* children to appear, go, be reaped */
#define EXIT_MS		T(15000)	/* to exit after SIGTERM */
#define MAXMODELS	16
#define MAXKIDS		64
#define MAXCLIENT	64
#define METRICS_PAGE	16384	/* a metrics answer, headers and all */
#define HOLD_DELAY	"50"	/* so that a held client's byte comes first */

static const char	*cur_model = "", *cur_row = "";

/* Processes stopped with SIGSTOP, to continue whatever becomes of us. */
static pid_t		 stopped[MAXKIDS + 1];
static int		 nstopped;
static pid_t		 owner;

/*
 * ok(), with the model and the row in front of the message, and the line
 * of the caller in a failure.
 */
#define rok(c, ...)	rok_at(!!(c), __LINE__, __VA_ARGS__)

static int __attribute__((format(printf, 3, 4)))
rok_at(int pass, int line, const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return tap_ok(pass, __FILE__, line, "%s: %s: %s", cur_model, cur_row,
	    msg);
}

/* stampd -m model, then extra; on failure a not ok line says so. */
static int
start(struct h_daemon *d, int nlisten, const char *const extra[])
{
	const char	*args[48];
	int		 n = 0, i;

	args[n++] = "-m";
	args[n++] = cur_model;
	for (i = 0; extra[i] != NULL && n < 47; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	/* A row's pool options, as far as the model takes them. */
	h_model_args(cur_model, args);
	if (h_daemon_start(d, nlisten, args) == -1) {
		rok(0, "stampd starts");
		return -1;
	}
	return 0;
}

/* h_daemon_stop, and a diagnostic if the exit was not a clean 0. */
static int
stop(struct h_daemon *d)
{
	int	 status;

	if ((status = h_daemon_stop(d)) != 0)
		diag("%s: %s: stampd exited %d at SIGTERM", cur_model, cur_row,
		    status);
	return status;
}

/* The log's lines, as diagnostics: what a failing row shows of it. */
static void
diag_log(struct h_daemon *d, int maxlines)
{
	const char	*log = h_daemon_log(d), *p, *nl;
	int		 lines = 0;

	for (p = log + strlen(log); p > log; p--)
		if (p[-1] == '\n' && ++lines > maxlines)
			break;
	for (; *p != '\0'; p = *nl == '\0' ? nl : nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		diag("  log: %.*s", (int)(nl - p), p);
	}
}

/*
 * Processes: children found through /proc, and their states.
 */

/* /proc/PID/stat: its state and its parent; 0 or -1. */
static int
proc_stat(pid_t pid, char *state, long *ppid)
{
	char		 path[64], buf[1024], *p;
	ssize_t		 n;
	int		 fd;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* A command may hold spaces and parentheses: past the last. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %c %ld", state, ppid) != 2)
		return -1;
	return 0;
}

/* The children of parent, up to max into kids (may be NULL); how many. */
static int
children(pid_t parent, pid_t *kids, int max)
{
	DIR		*dir;
	struct dirent	*e;
	char		 state;
	long		 ppid;
	pid_t		 pid;
	int		 count = 0;

	if ((dir = opendir("/proc")) == NULL)
		return -1;
	while ((e = readdir(dir)) != NULL) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid = (pid_t)atol(e->d_name);
		if (proc_stat(pid, &state, &ppid) == -1 ||
		    ppid != (long)parent)
			continue;
		if (kids != NULL && count < max)
			kids[count] = pid;
		count++;
	}
	closedir(dir);
	return count;
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

/*
 * The number of children once it holds still (the same for 300 ms), or
 * the last count after ms.
 */
static int
settled_children(pid_t parent, int ms)
{
	long long	 deadline = h_now_ms() + ms;
	int		 n, last = -1, same = 0;

	for (;;) {
		n = children(parent, NULL, 0);
		same = n == last ? same + 1 : 0;
		last = n;
		if (same == 3 || h_now_ms() >= deadline)
			return n;
		h_nap(100);
	}
}

static void
continue_stopped(void)
{
	int	 i;

	if (getpid() != owner)
		return;
	for (i = 0; i < nstopped; i++)
		kill(stopped[i], SIGCONT);
	nstopped = 0;
}

/* SIGSTOP pid, remembered; wait (bounded) until it is stopped. */
static int
freeze(pid_t pid)
{
	long long	 deadline = h_now_ms() + SETTLE_MS;
	long		 ppid;
	char		 state;

	if (nstopped < MAXKIDS + 1)
		stopped[nstopped++] = pid;
	if (kill(pid, SIGSTOP) == -1)
		return -1;
	for (;;) {
		if (proc_stat(pid, &state, &ppid) == 0 && state == 'T')
			return 0;
		if (h_now_ms() >= deadline)
			return -1;
		h_nap(5);
	}
}

/*
 * The pid among the daemon's children (or the daemon itself) that holds
 * the server's end of client fd cfd, connected to the port lport: found
 * by the socket's inode in /proc/net/tcp and then in /proc/PID/fd.
 * Returns the pid, or -1.
 */
static pid_t
holder(pid_t daemon, int cfd, int lport)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof ss;
	const char		*tables[] = { "/proc/net/tcp",
	    "/proc/net/tcp6" };
	pid_t			 pids[MAXKIDS + 1];
	unsigned long		 inode = 0, ino;
	unsigned		 lp, rp;
	char			 line[512], path[300], link[64], want[64];
	struct dirent		*e;
	FILE			*f;
	DIR			*dir;
	ssize_t			 n;
	size_t			 t;
	int			 cport, np, i;

	if (getsockname(cfd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	cport = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	for (t = 0; t < 2 && inode == 0; t++) {
		if ((f = fopen(tables[t], "r")) == NULL)
			continue;
		while (fgets(line, sizeof line, f) != NULL)
			if (sscanf(line, " %*d: %*x:%x %*x:%x %*x %*x:%*x "
			    "%*x:%*x %*x %*u %*u %lu", &lp, &rp, &ino) == 3 &&
			    (int)lp == lport && (int)rp == cport && ino != 0) {
				inode = ino;
				break;
			}
		fclose(f);
	}
	if (inode == 0)
		return -1;
	snprintf(want, sizeof want, "socket:[%lu]", inode);
	np = children(daemon, pids, MAXKIDS);
	if (np > MAXKIDS)
		np = MAXKIDS;
	pids[np++] = daemon;
	for (i = 0; i < np; i++) {
		snprintf(path, sizeof path, "/proc/%ld/fd", (long)pids[i]);
		if ((dir = opendir(path)) == NULL)
			continue;
		while ((e = readdir(dir)) != NULL) {
			snprintf(path, sizeof path, "/proc/%ld/fd/%s",
			    (long)pids[i], e->d_name);
			if ((n = readlink(path, link, sizeof link - 1)) <= 0)
				continue;
			link[n] = '\0';
			if (strcmp(link, want) == 0) {
				closedir(dir);
				return pids[i];
			}
		}
		closedir(dir);
	}
	return -1;
}

/*
 * The receive queues of every socket bound to port in table (/proc/net/tcp
 * or udp): for a TCP listener the connections waiting to be accepted, for
 * UDP the bytes of datagrams waiting.  Written as "3 0" into buf.
 */
static void
queues(const char *table, int port, char *buf, size_t len)
{
	FILE		*f;
	char		 line[512];
	unsigned	 lport, st, tx, rx;
	size_t		 used = 0;

	buf[0] = '\0';
	if ((f = fopen(table, "r")) == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL && used + 16 < len)
		if (sscanf(line, " %*d: %*x:%x %*x:%*x %x %x:%x", &lport, &st,
		    &tx, &rx) == 4 && lport == (unsigned)port &&
		    (st == 0x0A || strstr(table, "udp") != NULL))
			used += (size_t)snprintf(buf + used, len - used, "%s%u",
			    used > 0 ? " " : "", rx);
	fclose(f);
}

/* A socket's TCP state and ports, for a diagnostic. */
static const char *
tcp_state(int fd)
{
	static char		 s[96];
	struct tcp_info		 ti;
	struct sockaddr_in	 me, peer;
	socklen_t		 len = sizeof ti, ml = sizeof me;
	socklen_t		 pl = sizeof peer;

	memset(&me, 0, sizeof me);
	memset(&peer, 0, sizeof peer);
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1)
		return "no TCP_INFO";
	getsockname(fd, (struct sockaddr *)&me, &ml);
	getpeername(fd, (struct sockaddr *)&peer, &pl);
	snprintf(s, sizeof s, "tcp state %u, port %d to %d", ti.tcpi_state,
	    ntohs(me.sin_port), ntohs(peer.sin_port));
	return s;
}

/*
 * Start stampd with args apart from the harness, to see whether it starts
 * at all: 1 once it has printed nlisten "listening" lines (it is then
 * stopped), 0 if it exited first (*status and its output in out), -1 if
 * neither happened within the deadline.
 */
static pid_t	 probe_pid;

static void
probe_kill(void)
{
	if (getpid() != owner || probe_pid <= 0)
		return;
	kill(probe_pid, SIGKILL);
	while (waitpid(probe_pid, NULL, 0) == -1 && errno == EINTR)
		;
	probe_pid = 0;
}

static int
probe(const char *const args[], int nlisten, int *status, char *out,
    size_t len)
{
	const char	*argv[48];
	struct pollfd	 pfd;
	long long	 deadline = h_now_ms() + H_DEADLINE_MS;
	size_t		 got = 0;
	ssize_t		 n;
	int		 p[2], nul, i, st, r = -1;

	argv[0] = h_prog("STAMPD");
	for (i = 0; args[i] != NULL && i < 46; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	out[0] = '\0';
	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	fflush(stdout);
	if ((probe_pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (probe_pid == 0) {
		if ((nul = open("/dev/null", O_RDONLY)) == -1 ||
		    dup2(nul, 0) == -1 || dup2(p[1], 1) == -1 ||
		    dup2(p[1], 2) == -1)
			_exit(127);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	while (h_now_ms() < deadline) {
		if (h_count(out, "listening ") >= nlisten) {
			r = 1;
			break;
		}
		if (poll(&pfd, 1, 50) < 1)
			continue;
		n = read(p[0], out + got, len - 1 - got);
		if (n <= 0) {
			r = 0;		/* EOF: it is exiting */
			break;
		}
		got += (size_t)n;
		out[got] = '\0';
	}
	close(p[0]);
	if (r == 1 || r == -1)
		kill(probe_pid, SIGTERM);
	/* Reaped within the deadline, or killed. */
	deadline = h_now_ms() + H_DEADLINE_MS;
	while (waitpid(probe_pid, &st, WNOHANG) == 0) {
		if (h_now_ms() >= deadline) {
			kill(probe_pid, SIGKILL);
			waitpid(probe_pid, &st, 0);
			r = -1;
			break;
		}
		h_nap(10);
	}
	probe_pid = 0;
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return r;
}

/*
 * The rows.
 */

/*
 * 1. serve: TCP and UDP, each of the three protocols, a whole reply; and
 * NTP, over UDP alone.
 */
static void
row_serve(void)
{
	static const char *const extra[] = {
	    "-l", "tcp:127.0.0.1:0/stamp", "-l", "tcp:127.0.0.1:0/time",
	    "-l", "tcp:127.0.0.1:0/daytime", "-l", "udp:127.0.0.1:0/stamp",
	    "-l", "udp:127.0.0.1:0/time", "-l", "udp:127.0.0.1:0/daytime",
	    "-l", "udp:127.0.0.1:0/ntp", NULL };
	static const char *const tr[] = { "tcp", "udp" };
	static const char *const pr[] = { "stamp", "time", "daytime", "ntp" };
	struct h_daemon		 d;
	const struct h_listener	*l;
	const char		*req;
	char			 buf[128], why[128];
	size_t			 reqlen;
	ssize_t			 n;
	int			 t, p, good;

	if (start(&d, 7, extra) == -1)
		return;
	for (t = 0; t < 2; t++)
		for (p = 0; p < 4 - (t == 0); p++) {
			if ((l = h_daemon_find(&d, tr[t], pr[p])) == NULL) {
				rok(0, "%s %s: a listener", tr[t], pr[p]);
				continue;
			}
			if (t == 0)
				n = h_ask_tcp((const struct sockaddr *)&l->ss,
				    l->sslen, buf, sizeof buf, ASK_MS);
			else {
				req = h_dgram_request(pr[p], &reqlen);
				n = h_ask_udp((const struct sockaddr *)&l->ss,
				    l->sslen, req, reqlen, buf, sizeof buf,
				    ASK_MS);
			}
			good = h_check_reply(pr[p], buf, n, why, sizeof why);
			rok(good, "%s %s: %s", tr[t], pr[p], good ?
			    "a whole, fresh reply" : why);
		}
	stop(&d);
}

/*
 * n clients one after another, each with QUICK_MS; gives up at the first
 * unanswered (a socket nobody reads answers none, and each would cost the
 * whole wait).  Returns how many were answered; *tried how many asked.
 */
static int
one_after_another(const struct h_listener *l, int n, int *tried)
{
	const char	*req;
	char		 buf[128], why[128];
	size_t		 reqlen;
	ssize_t		 r;
	int		 i, good = 0, bad = 0;

	req = h_dgram_request(l->proto, &reqlen);
	for (i = 0; i < n && bad == 0; i++) {
		if (strcmp(l->transport, "tcp") == 0)
			r = h_ask_tcp((const struct sockaddr *)&l->ss,
			    l->sslen, buf, sizeof buf, QUICK_MS);
		else
			r = h_ask_udp((const struct sockaddr *)&l->ss,
			    l->sslen, req, reqlen, buf, sizeof buf, QUICK_MS);
		if (h_check_reply(l->proto, buf, r, why, sizeof why))
			good++;
		else if (bad++ == 0)
			diag("%s: %s: %s client %d: %s", cur_model, cur_row,
			    l->transport, i, why);
	}
	*tried = i;
	return good;
}

/* 2. reuseport: -w 2 --reuseport serves everyone, or is refused at start. */
static void
row_reuseport(void)
{
	const char *const args[] = { "-m", cur_model, "--reuseport", "-w", "2",
	    "-l", "tcp:127.0.0.1:0/stamp", "-l", "udp:127.0.0.1:0/stamp",
	    NULL };
	struct h_daemon		 d;
	const struct h_listener	*l;
	char			 out[4096];
	int			 r, status, good, tried = 0, i;

	r = probe(args, 2, &status, out, sizeof out);
	if (r == 0) {
		if (!rok(status == 2 && strstr(out, cur_model) != NULL,
		    "refused at start (the alternative): exit %d, the message "
		    "%s the model", status, strstr(out, cur_model) != NULL ?
		    "names" : "does not name"))
			diag("  stampd said: %s", out);
		return;
	}
	if (r == -1) {
		rok(0, "stampd --reuseport neither listened nor exited");
		return;
	}
	if (h_daemon_start(&d, 2, args) == -1) {
		rok(0, "stampd starts");
		return;
	}
	for (i = 0; i < 2; i++) {
		l = h_daemon_find(&d, i == 0 ? "tcp" : "udp", "stamp");
		good = l == NULL ? 0 : one_after_another(l, 40, &tried);
		if (!rok(good == 40, "%d of 40 %s clients one after another "
		    "answered%s", good, i == 0 ? "tcp" : "udp", tried < 40 ?
		    " (gave up at the first unanswered)" : "") && l != NULL) {
			/* Where the unanswered wait: a socket nobody reads. */
			queues(i == 0 ? "/proc/net/tcp" : "/proc/net/udp",
			    l->port, out, sizeof out);
			diag("  the receive queues of the %d sockets on port "
			    "%d: %s", h_count(out, " ") + 1, l->port, out);
		}
	}
	stop(&d);
}

/*
 * 3, 4. hold: nhold clients are served and held, the NBEYOND after them
 * are each closed without a reply and counted, and once the held ones
 * close a newcomer is served.
 */
#define NBEYOND	3

static void
hold_row(const char *const extra[], int nhold, const char *what)
{
	struct h_client		 held[4], c[NBEYOND];
	struct h_daemon		 d;
	const struct h_listener	*l;
	long long		 before, after;
	int			 good, i, nref = 0;

	if (start(&d, 1, extra) == -1)
		return;
	l = h_daemon_find(&d, "tcp", "stamp");
	before = h_daemon_counter(&d, "limited");
	good = h_cl_hold_n(held, nhold, l, NULL, ASK_MS);
	rok(good == nhold, "%d of %d clients served and held open", good,
	    nhold);
	for (i = 0; i < NBEYOND; i++)
		h_cl_open(&c[i], l, NULL);
	h_cl_wait(c, NBEYOND, ASK_MS);
	h_cl_close(c, NBEYOND);
	for (i = 0; i < NBEYOND; i++)
		if (h_cl_refused(&c[i]))
			nref++;
		else
			diag("  client %d beyond: %s", i, h_cl_what(&c[i],
			    "stamp"));
	after = h_counter_at_least(&d, "limited", before + NBEYOND, ASK_MS);
	if (!rok(nref == NBEYOND && after == before + NBEYOND, "%s and the "
	    "%d after it: %d closed without a reply, limited %lld -> %lld",
	    what, NBEYOND - 1, nref, before, after))
		diag_log(&d, 10);
	h_cl_close(held, nhold);
	if (!rok(h_cl_ask_until(l, NULL, &c[0], ASK_MS), "once the %d held "
	    "close, a new client is served", nhold))
		diag("  it got: %s", h_cl_what(&c[0], "stamp"));
	stop(&d);
}

static void
row_max_conns(void)
{
	/* Enough workers for one to be free to refuse the third. */
	static const char *const extra[] = { "--max-conns", "2", "--linger",
	    "3000", "-D", HOLD_DELAY, "-w", "4", "-l",
	    "tcp:127.0.0.1:0/stamp", NULL };

	hold_row(extra, 2, "a third client");
}

static void
row_per_ip(void)
{
	static const char *const extra[] = { "--per-ip", "1",
	    "--limit-loopback", "--linger", "3000", "-D", HOLD_DELAY, "-w",
	    "4", "-l", "tcp:127.0.0.1:0/stamp", NULL };

	hold_row(extra, 1, "a second client of 127.0.0.1");
}

/*
 * 5. rate: of 6 at once, the bucket's 2 (and what refilled) are served,
 * the others closed without a reply and counted; once the bucket has had
 * the time to fill (twice what it takes, scaled: more time cannot overfill
 * it), 2 more are served.
 */
static void
row_rate(void)
{
	static const char *const extra[] = { "--rate", "2",
	    "--limit-loopback", "-l", "tcp:127.0.0.1:0/stamp", NULL };
	struct h_client		 c[6];
	struct h_daemon		 d;
	const struct h_listener	*l;
	long long		 t0, ms, most, limited;
	int			 i, good = 0, nref = 0, other = 0, later = 0;

	if (start(&d, 1, extra) == -1)
		return;
	l = h_daemon_find(&d, "tcp", "stamp");
	t0 = h_now_ms();
	for (i = 0; i < 6; i++)
		h_cl_open(&c[i], l, NULL);
	h_cl_wait(c, 6, ASK_MS);
	ms = h_now_ms() - t0;
	for (i = 0; i < 6; i++)
		if (h_cl_served(&c[i], "stamp"))
			good++;
		else if (h_cl_refused(&c[i]))
			nref++;
		else if (other++ == 0)
			diag("  client %d: %s", i, h_cl_what(&c[i], "stamp"));
	h_cl_close(c, 6);
	most = 2 + 2 * ms / 1000 + 1;
	limited = h_counter_at_least(&d, "limited", nref, ASK_MS);
	rok(other == 0 && good >= 2 && good <= most && limited == nref,
	    "%d of 6 answered (2 to %lld in %lld ms), %d closed without a "
	    "reply, %d otherwise; limited %lld", good, most, ms, nref, other,
	    limited);
	h_nap(T(2000));
	for (i = 0; i < 2; i++)
		later += h_cl_ask(l, NULL, &c[0], ASK_MS);
	if (!rok(later == 2, "the bucket refilled: %d of 2 more answered",
	    later))
		diag("  the last got: %s", h_cl_what(&c[0], "stamp"));
	stop(&d);
}

/*
 * 6. udp-rate: of 20 datagrams at once, the bucket's 3 (and what refilled)
 * are answered, the rest counted; meanwhile another source is answered;
 * a second later the first source is answered again.  One worker:
 * each keeps buckets of its own (stampd(8), LIMITS).
 */
static void
udp_rate(const char *proto, const char *listen)
{
	const char *const extra[] = { "--udp-rate", "3",
	    "--limit-loopback", "-w", "1", "--max-workers", "1",
	    "--min-spare", "0", "--max-spare", "1", "-l", listen, NULL };
	struct h_daemon		 d;
	const struct h_listener	*l;
	const char		*req;
	size_t			 reqlen;
	char			 buf[128], why[128];
	long long		 t0, tlast, deadline, most, limited, wait;
	struct sockaddr_storage	 oss;
	ssize_t			 n;
	int			 fd, ofd, i, sent = 0, got = 0, bad = 0;

	if (start(&d, 1, extra) == -1)
		return;
	l = h_daemon_find(&d, "udp", proto);
	req = h_dgram_request(proto, &reqlen);
	if ((fd = h_udp_open(l)) == -1)
		bail("a UDP socket");
	t0 = tlast = h_now_ms();
	for (i = 0; i < 20; i++)
		sent += send(fd, req, reqlen, MSG_NOSIGNAL) == (ssize_t)reqlen;
	/* Until the replies stop coming for a while. */
	deadline = h_now_ms() + 2 * QUIET_MS;
	while (got + bad < sent && h_now_ms() < deadline &&
	    h_now_ms() - tlast < QUIET_MS / 2) {
		if ((n = h_udp_recv(fd, buf, sizeof buf, 20)) < 0)
			continue;
		tlast = h_now_ms();
		if (h_check_reply(proto, buf, n, why, sizeof why))
			got++;
		else
			bad++;
	}
	most = 3 + 3 * (tlast - t0) / 1000 + 1;
	limited = h_counter_at_least(&d, "limited", sent - got - bad, ASK_MS);
	rok(sent == 20 && bad == 0 && got >= 3 && got <= most &&
	    limited == sent - got, "%s: %d of %d datagrams answered (3 to "
	    "%lld in %lld ms), %d malformed; limited %lld", proto, got, sent,
	    most, tlast - t0, bad, limited);
	/* Its bucket is empty; another source's is not. */
	n = -1;
	if ((ofd = h_timed_socket(AF_INET, SOCK_DGRAM, ASK_MS)) != -1 &&
	    bind(ofd, (struct sockaddr *)&oss, h_addr("127.0.0.5", 0,
	    &oss)) == 0 && sendto(ofd, req, reqlen, MSG_NOSIGNAL,
	    (const struct sockaddr *)&l->ss, l->sslen) == (ssize_t)reqlen)
		n = recv(ofd, buf, sizeof buf, 0);
	rok(h_check_reply(proto, buf, n, why, sizeof why), "meanwhile "
	    "another source, 127.0.0.5, is answered%s%s", n < 0 ? ": " : "",
	    n < 0 ? why : "");
	if (ofd != -1)
		close(ofd);
	/* The bucket refills in a second. */
	if ((wait = t0 + T(1100) - h_now_ms()) > 0)
		h_nap((long)wait);
	n = -1;
	if (send(fd, req, reqlen, MSG_NOSIGNAL) == (ssize_t)reqlen)
		n = h_udp_recv(fd, buf, sizeof buf, ASK_MS);
	rok(h_check_reply(proto, buf, n, why, sizeof why), "a second "
	    "later the same source is answered again%s%s", n < 0 ? ": " : "",
	    n < 0 ? why : "");
	close(fd);
	stop(&d);
}

static void
row_udp_rate(void)
{
	udp_rate("stamp", "udp:127.0.0.1:0/stamp");
	udp_rate("ntp", "udp:127.0.0.1:0/ntp");
}

/*
 * Send req from fd to l, and then the request that gets a reply: whether
 * the first datagram back is that reply (req was left unanswered).
 */
static int
unanswered(int fd, const struct h_listener *l, const char *req, size_t len)
{
	const char	*good;
	char		 buf[128], why[128];
	size_t		 goodlen;
	ssize_t		 n;

	good = h_dgram_request(l->proto, &goodlen);
	if (sendto(fd, req, len, MSG_NOSIGNAL, (const struct sockaddr *)&l->ss,
	    l->sslen) != (ssize_t)len || sendto(fd, good, goodlen,
	    MSG_NOSIGNAL, (const struct sockaddr *)&l->ss, l->sslen) !=
	    (ssize_t)goodlen)
		return 0;
	n = h_udp_recv(fd, buf, sizeof buf, ASK_MS);
	return h_check_reply(l->proto, buf, n, why, sizeof why);
}

/*
 * 6b. dgram-judge: at a stamp and an ntp listener, a reply of any of the
 * four protocols is never answered (two servers must not loop), and each
 * is counted as dropped; as root, a source port below 1024 is not
 * answered either, but for 123 at the ntp listener (ntpd and ntpdate send
 * from it).
 */
static void
row_dgram_judge(void)
{
	static const char *const extra[] = { "-l", "udp:127.0.0.1:0/stamp",
	    "-l", "udp:127.0.0.1:0/ntp", NULL };
	static const char *const lp[] = { "stamp", "ntp" };
	struct {
		const char	*what;
		char		 buf[48];
		size_t		 len;
	} rep[4] = {
		{ "a stamp line", "1796549584\r\n", 12 },
		{ "4 bytes of time", "\xee\xbf\xab\xc9", 4 },
		{ "a daytime line", "Sun Dec  6 09:33:04 2026\r\n", 26 },
		{ "an NTP server's reply", "", 48 },
	};
	struct h_daemon		 d;
	const struct h_listener	*l;
	struct sockaddr_storage	 ss;
	long long		 before, after;
	const char		*req;
	char			 buf[128], why[128];
	size_t			 reqlen;
	ssize_t			 n;
	int			 fd, i, k;

	req = h_dgram_request("ntp", &reqlen);
	memcpy(rep[3].buf, req, reqlen);
	rep[3].buf[0] = (char)((rep[3].buf[0] & ~7) | 4);	/* mode 4 */
	if (start(&d, 2, extra) == -1)
		return;
	before = h_daemon_counter(&d, "dropped");
	for (k = 0; k < 2; k++) {
		l = h_daemon_find(&d, "udp", lp[k]);
		if ((fd = h_udp_open(l)) == -1)
			bail("a UDP socket");
		for (i = 0; i < 4; i++)
			rok(unanswered(fd, l, rep[i].buf, rep[i].len), "%s "
			    "listener: %s is not answered", lp[k], rep[i].what);
		close(fd);
	}
	after = h_counter_at_least(&d, "dropped", before + 8, ASK_MS);
	rok(after - before == 8, "each of the 8 counted as dropped (%lld)",
	    after - before);
	for (k = 0; k < 2 && geteuid() == 0; k++) {
		l = h_daemon_find(&d, "udp", lp[k]);
		for (i = 0; i < 2; i++) {
			/* From 1000, then from NTP's own port. */
			fd = h_timed_socket(AF_INET, SOCK_DGRAM, ASK_MS);
			if (fd == -1 || bind(fd, (struct sockaddr *)&ss,
			    h_addr("127.0.0.1", i == 0 ? 1000 : 123, &ss)) ==
			    -1) {
				rok(0, "a socket bound to port %d: %s",
				    i == 0 ? 1000 : 123, strerror(errno));
				if (fd != -1)
					close(fd);
				continue;
			}
			before = h_daemon_counter(&d, "dropped");
			req = h_dgram_request(lp[k], &reqlen);
			n = -1;
			if (sendto(fd, req, reqlen, MSG_NOSIGNAL,
			    (const struct sockaddr *)&l->ss, l->sslen) ==
			    (ssize_t)reqlen && k == 1 && i == 1)
				n = h_udp_recv(fd, buf, sizeof buf, ASK_MS);
			if (k == 1 && i == 1)
				rok(h_check_reply("ntp", buf, n, why,
				    sizeof why), "ntp listener: answers port "
				    "123%s%s", n < 0 ? ": " : "",
				    n < 0 ? why : "");
			else {
				after = h_counter_at_least(&d, "dropped",
				    before + 1, ASK_MS);
				rok(after == before + 1 && recv(fd, buf,
				    sizeof buf, MSG_DONTWAIT) == -1,
				    "%s listener: port %d dropped, not "
				    "answered", lp[k], i == 0 ? 1000 : 123);
			}
			close(fd);
		}
	}
	stop(&d);
}

/* Connect from src (NULL: the kernel's choice), send what, read to the end. */
static void
cl_send_from(struct h_client *c, const struct h_listener *l, const char *src,
    const char *what)
{
	h_cl_open(c, l, src);
	if (h_cl_connected(c, 1, ASK_MS) == 1 &&
	    send(c->fd, what, strlen(what), MSG_NOSIGNAL) !=
	    (ssize_t)strlen(what)) {
		c->state = H_CL_ERR;
		c->err = errno;
	}
	h_cl_wait(c, 1, ASK_MS);
	h_cl_close(c, 1);
}

/* Connect, send what, read to the end: what came. */
static void
cl_send_wait(struct h_client *c, const struct h_listener *l, const char *what)
{
	cl_send_from(c, l, NULL, what);
}

/* 7. proxy: a PROXY header is taken and logged; garbage gets nothing. */
static void
row_proxy(void)
{
	static const char *const extra[] = { "-v",
	    "-l", "tcp:127.0.0.1:0/stamp+proxy", NULL };
	struct h_daemon		 d;
	const struct h_listener	*l;
	struct h_client		 c;
	long long		 deadline;
	int			 logged, good;

	if (start(&d, 1, extra) == -1)
		return;
	if ((l = h_daemon_find(&d, "tcp", "stamp+proxy")) == NULL) {
		rok(0, "a tcp stamp+proxy listener");
		stop(&d);
		return;
	}
	cl_send_wait(&c, l, "PROXY TCP4 192.0.2.1 192.0.2.2 1234 1937\r\n");
	good = h_cl_served(&c, "stamp");
	deadline = h_now_ms() + ASK_MS;
	while (!(logged = h_count(h_daemon_log(&d),
	    "Client:192.0.2.1:1234") > 0) && h_now_ms() < deadline)
		h_nap(20);
	if (!rok(good && logged, "a PROXY v1 header: served (%s), -v logs "
	    "Client:192.0.2.1:1234 (%s)", h_cl_what(&c, "stamp"), logged ?
	    "yes" : "no"))
		diag_log(&d, 10);
	cl_send_wait(&c, l, "GET / HTTP/1.0\r\n\r\n");
	rok(h_cl_refused(&c), "garbage instead of a header: no reply (%s)",
	    h_cl_what(&c, "stamp"));
	stop(&d);
}

/* 8. delay: -D 300, still answered, over TCP and UDP, within a bound. */
static void
row_delay(void)
{
	static const char *const extra[] = { "-D", "300",
	    "-l", "tcp:127.0.0.1:0/stamp", "-l", "udp:127.0.0.1:0/stamp",
	    NULL };
	struct h_daemon		 d;
	const struct h_listener	*l;
	char			 buf[128], why[128];
	ssize_t			 n;
	int			 good;

	if (start(&d, 2, extra) == -1)
		return;
	l = h_daemon_find(&d, "tcp", "stamp");
	n = h_ask_tcp((const struct sockaddr *)&l->ss, l->sslen, buf,
	    sizeof buf, ASK_MS);
	good = h_check_reply("stamp", buf, n, why, sizeof why);
	rok(good, "-D 300: a tcp client is answered within %d ms%s%s",
	    ASK_MS, good ? "" : ": ", good ? "" : why);
	l = h_daemon_find(&d, "udp", "stamp");
	n = h_ask_udp((const struct sockaddr *)&l->ss, l->sslen, "", 0, buf,
	    sizeof buf, ASK_MS);
	good = h_check_reply("stamp", buf, n, why, sizeof why);
	rok(good, "-D 300: a udp client is answered within %d ms%s%s",
	    ASK_MS, good ? "" : ": ", good ? "" : why);
	stop(&d);
}

/*
 * 9. sigterm-queue: the daemon (and every process of it) stopped, NQ
 * clients connect into the kernel's accept queue and NQ datagrams wait in
 * the socket's; SIGTERM, then SIGCONT: every one gets its reply, and the
 * daemon exits 0.  The daemon is continued first and its children a
 * moment later, so that the stop reaches them as it would have, before
 * they could take the queue for an ordinary one.
 */
#define NQ	30

static void
row_sigterm_queue(void)
{
	static const char *const extra[] = { "-w", "2",
	    "-l", "tcp:127.0.0.1:0/stamp", "-l", "udp:127.0.0.1:0/stamp",
	    NULL };
	struct h_client		 c[NQ];
	struct h_daemon		 d;
	const struct h_listener	*lt, *lu;
	pid_t			 kids[MAXKIDS];
	char			 buf[128], why[128];
	ssize_t			 n;
	int			 ufd[NQ], nk, i, q, told = 0;
	int			 good = 0, ugood = 0;
	int			 status, exited, connected = 0;

	if (start(&d, 2, extra) == -1)
		return;
	lt = h_daemon_find(&d, "tcp", "stamp");
	lu = h_daemon_find(&d, "udp", "stamp");
	/* Every process of it: a pool's workers accept on their own. */
	settled_children(d.pid, SETTLE_MS);
	nk = children(d.pid, kids, MAXKIDS);
	nk = nk > MAXKIDS ? MAXKIDS : nk;
	nstopped = 0;
	for (i = 0; i < nk; i++)
		freeze(kids[i]);
	if (freeze(d.pid) == -1) {
		rok(0, "SIGSTOP stops it");
		continue_stopped();
		stop(&d);
		return;
	}
	for (i = 0; i < NQ; i++) {
		h_cl_open(&c[i], lt, NULL);
		connected += h_cl_connected(&c[i], 1, ASK_MS);
	}
	q = h_accept_queue(lt->port);
	for (i = 0; i < NQ; i++)
		if ((ufd[i] = h_udp_open(lu)) != -1 &&
		    send(ufd[i], "", 0, MSG_NOSIGNAL) != 0) {
			close(ufd[i]);
			ufd[i] = -1;
		}
	note("%s: %s: stopped %d process(es); %d connected, %d in the accept "
	    "queue at SIGTERM", cur_model, cur_row, nk + 1, connected, q);
	kill(d.pid, SIGTERM);
	kill(d.pid, SIGCONT);
	h_nap(T(100));
	continue_stopped();

	h_cl_wait(c, NQ, EXIT_MS);
	for (i = 0; i < NQ; i++)
		if (h_cl_served(&c[i], "stamp"))
			good++;
		else if (told++ < 3)
			diag("  client %d: %s", i, h_cl_what(&c[i], "stamp"));
	h_cl_close(c, NQ);
	/* Gone, it sends no more: what came is in the sockets' queues. */
	exited = h_exited_within(d.pid, EXIT_MS);
	for (i = 0; i < NQ; i++) {
		if (ufd[i] == -1)
			continue;
		n = h_udp_recv(ufd[i], buf, sizeof buf, exited ? 0 : QUIET_MS);
		ugood += h_check_reply("stamp", buf, n, why, sizeof why);
		close(ufd[i]);
	}
	if (good < NQ || ugood < NQ)
		diag_log(&d, 6);
	status = h_daemon_stop(&d);
	rok(good == NQ && exited && status == 0, "%d of %d queued tcp clients "
	    "answered, %s %d", good, NQ, exited ? "exit" : "did not exit, "
	    "then at SIGTERM again", status);
	rok(ugood == NQ, "%d of %d queued udp datagrams answered", ugood, NQ);
}

/*
 * 10. sigterm-load: NLOAD clients in a loop, connect and read to the end,
 * while SIGTERM arrives; then until every connect is refused.  A client
 * that got nothing but a reset was never accepted (closing a listener
 * resets what waits in its queue); one that got EOF without a byte was
 * accepted and dropped, since our clients send nothing and a process
 * that closes or exits with a connection it took sends FIN.  No client
 * may be dropped, cut short, or left hanging, and the exit is 0.
 *
 * One more kind: a handshake that the kernel completes just as the
 * listener closes can leave the client established with nothing behind
 * it and no reset sent (seen now and then, in every model alike).
 * No process ever held it, so no FIN comes either.  Once the daemon has
 * exited, such a client is poked with a byte: the reset that answers
 * shows no socket was there, and it counts as never accepted.
 *
 * And its twin: a handshake the kernel completes as the listener closes
 * can be forgotten with a FIN and then, unasked, a reset (seen on 6.18:
 * the daemon counted as many accepts as replies).  So an EOF without a
 * byte is judged once the daemon has exited: a reset came after it (the
 * socket is closed), and nothing held it; no reset (it waits in
 * CLOSE_WAIT), and a process took it and closed it unanswered.
 */
#define NLOAD	8

/* An EOF without a byte: whether a reset followed it, unasked. */
static int
reset_after_eof(int fd)
{
	struct tcp_info	 ti;
	socklen_t	 len = sizeof ti;

	return getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
	    ti.tcpi_state == TCP_CLOSE;
}

static void
row_sigterm_load(void)
{
	static const char *const extra[] = { "-w", "2",
	    "-l", "tcp:127.0.0.1:0/stamp", NULL };
	struct h_client		 c[NLOAD];
	struct h_daemon		 d;
	const struct h_listener	*l;
	struct pollfd		 pfd[NLOAD];
	int			 eof[NLOAD * 64];
	long long		 t_term, deadline, t_gone = 0;
	siginfo_t		 si;
	int			 i, live, status, exited, termed = 0, lost = 0;
	int			 poked[NLOAD];
	int			 whole = 0, refused = 0, reset = 0, dropped = 0;
	int			 cut = 0, hung = 0, told = 0, before = 0;
	int			 neof = 0, forgot = 0;
	ssize_t			 r;

	if (start(&d, 1, extra) == -1)
		return;
	l = h_daemon_find(&d, "tcp", "stamp");
	for (i = 0; i < NLOAD; i++) {
		h_cl_open(&c[i], l, NULL);
		poked[i] = 0;
	}
	t_term = h_now_ms() + T(300);
	deadline = t_term + EXIT_MS;
	for (;;) {
		if (!termed && h_now_ms() >= t_term) {
			before = whole;
			kill(d.pid, SIGTERM);
			termed = 1;
		}
		memset(&si, 0, sizeof si);
		if (termed && t_gone == 0 && waitid(P_PID, (id_t)d.pid, &si,
		    WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == d.pid)
			t_gone = h_now_ms();
		for (i = 0; t_gone > 0 && h_now_ms() > t_gone + QUIET_MS &&
		    i < NLOAD; i++)
			if (c[i].state == H_CL_WAIT && !poked[i]) {
				poked[i] = 1;
				send(c[i].fd, "x", 1, MSG_NOSIGNAL);
			}
		for (i = live = 0; i < NLOAD; i++) {
			pfd[i].fd = c[i].state == H_CL_WAIT ? c[i].fd : -1;
			pfd[i].events = POLLIN;
			live += c[i].state == H_CL_WAIT;
		}
		if (live == 0 || h_now_ms() >= deadline)
			break;
		if (poll(pfd, NLOAD, 10) == -1 && errno != EINTR)
			break;
		for (i = 0; i < NLOAD; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			r = recv(c[i].fd, c[i].buf + c[i].got,
			    sizeof c[i].buf - c[i].got, MSG_DONTWAIT);
			if (r > 0 && (c[i].got += (size_t)r) < sizeof c[i].buf)
				continue;
			if (r == -1 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r == 0)
				c[i].state = H_CL_EOF;
			else {
				c[i].state = H_CL_ERR;
				c[i].err = r > 0 ? EMSGSIZE : errno;
			}
			/* Sorted: served, never accepted, or a fault. */
			if (h_cl_served(&c[i], "stamp"))
				whole++;
			else if (c[i].got == 0 && c[i].state == H_CL_ERR &&
			    c[i].err == ECONNREFUSED)
				refused++;
			else if (c[i].got == 0 && c[i].state == H_CL_ERR &&
			    c[i].err == ECONNRESET) {
				reset++;
				lost += poked[i];
			} else if (c[i].got == 0 && c[i].state == H_CL_EOF &&
			    neof < (int)(sizeof eof / sizeof eof[0])) {
				/* Judged once the daemon is gone. */
				eof[neof++] = c[i].fd;
				c[i].fd = -1;
			} else {
				cut++;
				if (told++ < 3)
					diag("  a client: %s",
					    h_cl_what(&c[i], "stamp"));
			}
			if (c[i].fd != -1)
				close(c[i].fd);
			c[i].fd = -1;
			/*
			 * Anything but a reply: the listener is closed, and
			 * its port may soon be another's.  This slot is done.
			 */
			if (!h_cl_served(&c[i], "stamp") || t_gone > 0)
				continue;
			h_cl_open(&c[i], l, NULL);
			poked[i] = 0;
			if (c[i].state == H_CL_ERR)
				refused++;
		}
	}
	for (i = 0; i < NLOAD; i++)
		if (c[i].state == H_CL_WAIT) {
			hung++;
			if (told++ < 3)
				diag("  a client: %s, %s", h_cl_what(&c[i],
				    "stamp"), tcp_state(c[i].fd));
		}
	h_cl_close(c, NLOAD);
	exited = h_exited_within(d.pid, EXIT_MS);
	for (i = 0; i < neof; i++) {
		if (exited && reset_after_eof(eof[i]))
			forgot++;
		else if (dropped++ < 3)
			diag("  a client: EOF after 0 bytes, %s",
			    tcp_state(eof[i]));
		close(eof[i]);
	}
	reset += forgot;
	if (dropped + cut + hung > 0)
		diag_log(&d, 6);
	status = h_daemon_stop(&d);
	note("%s: %s: %d served before SIGTERM, %d after; %d reset unaccepted "
	    "(%d of them established, unknown to the daemon, reset when "
	    "poked; %d forgotten by the kernel with a FIN, then a reset), "
	    "%d refused", cur_model, cur_row, before, whole - before, reset,
	    lost, forgot, refused);
	rok(whole > 0 && dropped == 0 && cut == 0 && hung == 0 && exited &&
	    status == 0, "%d served, %d accepted but dropped, %d cut short or "
	    "garbled, %d left hanging; exit %d", whole, dropped, cut, hung,
	    status);
}

/*
 * 11. sigkill-worker: with connections held, the processes that hold them
 * are killed; the pool is whole again, and so are the --max-conns places
 * they held: 4 clients held at once are served, and a fifth is refused.
 * Six workers (not two): a prefork worker draining a held connection
 * accepts nobody else, and with four held one must be left to refuse the
 * fifth.
 */
static void
row_sigkill_worker(void)
{
	static const char *const extra[] = { "--max-conns", "4", "--linger",
	    "10000", "-D", HOLD_DELAY, "-w", "6", "--min-spare", "6",
	    "--max-spare", "8", "-l", "tcp:127.0.0.1:0/stamp", NULL };
	struct h_client		 held[2], four[4], fifth;
	struct h_daemon		 d;
	const struct h_listener	*l;
	pid_t			 before[MAXKIDS], after[MAXKIDS], victims[2];
	long long		 deadline, lim0, lim1;
	int			 idle, nb, nkids, nv = 0, i, good, reaped;
	int			 na = 0, fresh;

	if (start(&d, 1, extra) == -1)
		return;
	l = h_daemon_find(&d, "tcp", "stamp");
	idle = settled_children(d.pid, SETTLE_MS);
	good = h_cl_hold_n(held, 2, l, NULL, ASK_MS);
	nkids = children(d.pid, NULL, 0);
	if (good < 2) {
		rok(0, "2 clients served and held (%d)", good);
		goto out;
	}
	if (nkids == 0) {
		rok(1, "not a pool model (no child processes, with 2 "
		    "connections held)");
		goto out;
	}
	for (i = 0; i < 2; i++) {
		pid_t	 p = holder(d.pid, held[i].fd, l->port);

		if (p > 0 && p != d.pid && !member(p, victims, nv))
			victims[nv++] = p;
	}
	if (nv == 0) {
		rok(0, "%d children, but none holds a held connection",
		    nkids);
		goto out;
	}
	nb = children(d.pid, before, MAXKIDS);
	for (i = 0; i < nv; i++)
		kill(victims[i], SIGKILL);
	for (i = reaped = 0; i < nv; i++)
		reaped += h_gone(victims[i], SETTLE_MS);
	h_cl_close(held, 2);
	/* Back to as many as it had idle at the start. */
	deadline = h_now_ms() + SETTLE_MS;
	while ((na = children(d.pid, NULL, 0)) < idle &&
	    h_now_ms() < deadline)
		h_nap(20);
	na = children(d.pid, after, MAXKIDS);
	for (i = fresh = 0; i < na && i < MAXKIDS; i++)
		fresh += !member(after[i], before, nb);
	note("%s: %s: %d children idle, %d with 2 held; killed the %d "
	    "holding them; %d children now, %d of them new", cur_model,
	    cur_row, idle, nb, nv, na, fresh);
	rok(reaped == nv && na >= idle, "%d process(es) holding connections "
	    "killed with SIGKILL: %d reaped; %d children now (%d new), %d at "
	    "the start", nv, reaped, na, fresh, idle);

	lim0 = h_daemon_counter(&d, "limited");
	good = h_cl_hold_n(four, 4, l, NULL, 2 * ASK_MS);
	h_cl_open(&fifth, l, NULL);
	h_cl_wait(&fifth, 1, ASK_MS);
	h_cl_close(&fifth, 1);
	lim1 = h_counter_at_least(&d, "limited", lim0 + 1, ASK_MS);
	if (!rok(good == 4 && h_cl_refused(&fifth), "all 4 --max-conns places "
	    "back: %d of 4 held clients served, a fifth: %s (limited %lld -> "
	    "%lld)", good, h_cl_what(&fifth, "stamp"), lim0, lim1))
		diag_log(&d, 8);
	h_cl_close(four, 4);
out:
	h_cl_close(held, 2);
	stop(&d);
}

/*
 * 12. emfile: under RLIMIT_NOFILE 32, 60 clients held at once; the
 * daemon, out of fds, runs on and must not spin.  With strace attached to
 * it (and its processes), the clients come and are read until none of
 * them has changed for a second (scaled): each served and held, shed, or
 * waiting its turn.  Then the daemon's calls that wait or accept
 * (EMFILE_TRACE) are counted: a daemon that waits makes a few for each
 * client (EMFILE_PER) and a few more for itself (EMFILE_SLACK); one that
 * spins on a listener it cannot accept from makes thousands through the
 * quiet, even on a machine too busy to give it much of a CPU, as every
 * turn of its loop is a call.  Then, once they close, a client is served.
 */
#define NFD		60
#define NOFILE		32
#define EMFILE_TRACE	"accept,accept4,poll,ppoll,select,pselect6," \
			"epoll_wait,epoll_pwait,epoll_pwait2,io_uring_enter"
#define EMFILE_PER	8
#define EMFILE_SLACK	200

/* Read the n clients until none changes for quiet ms, at most ms. */
static void
cl_settle(struct h_client *c, int n, int quiet, int ms)
{
	long long	 deadline = h_now_ms() + ms, still;
	size_t		 sum, last = (size_t)-1;
	int		 i;

	still = h_now_ms() + quiet;
	while (h_now_ms() < still && h_now_ms() < deadline) {
		h_cl_wait(c, n, 20);
		for (i = 0, sum = 0; i < n; i++)
			sum += c[i].got * 4 + (size_t)c[i].state;
		if (sum != last)
			still = h_now_ms() + quiet;
		last = sum;
	}
}

static void
row_emfile(void)
{
	static const char *const extra[] = { "-w", "2", "--linger", "5000",
	    "-D", "20", "-l", "tcp:127.0.0.1:0/stamp", NULL };
	struct h_client		 c[NFD], one;
	struct h_daemon		 d;
	struct h_trace		 tr;
	const struct h_listener	*l;
	struct rlimit		 rl, low;
	long long		 shed;
	long			 calls, failed, most;
	int			 i, r, held = 0, served = 0, ended = 0;
	int			 fds = 0;
	char			 path[64];
	DIR			*dir;
	struct dirent		*e;

	/* The daemon inherits the limit; ours is back once it started. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		bail("getrlimit");
	low = rl;
	low.rlim_cur = NOFILE;
	if (setrlimit(RLIMIT_NOFILE, &low) == -1)
		bail("setrlimit");
	r = start(&d, 1, extra);
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		bail("setrlimit back");
	if (r == -1)
		return;
	l = h_daemon_find(&d, "tcp", "stamp");
	settled_children(d.pid, SETTLE_MS);
	if (h_trace_start(&tr, d.pid, EMFILE_TRACE) == -1) {
		rok(0, "strace attaches to the daemon and its processes");
		stop(&d);
		return;
	}
	for (i = 0; i < NFD; i++) {
		h_cl_hold(&c[i], l, NULL, ASK_MS);
		held += c[i].state == H_CL_WAIT;
	}
	cl_settle(c, NFD, T(1000), 4 * ASK_MS);
	h_trace_stop(&tr);
	for (i = 0; i < NFD; i++) {
		served += c[i].got > 0;
		ended += c[i].state != H_CL_WAIT;
	}
	snprintf(path, sizeof path, "/proc/%ld/fd", (long)d.pid);
	if ((dir = opendir(path)) != NULL) {
		while ((e = readdir(dir)) != NULL)
			fds += e->d_name[0] != '.';
		closedir(dir);
	}
	/* Out of fds is no reason to stop (a worker that starts late, say). */
	if (!rok(!h_exited_within(d.pid, 0), "out of fds, it runs on")) {
		diag_log(&d, 8);
		stop(&d);
		return;
	}
	shed = h_daemon_counter(&d, "shed");
	calls = h_trace_count(&tr, 0, NULL, NULL);
	failed = h_trace_count(&tr, 0, "accept", "EMFILE") +
	    h_trace_count(&tr, 0, "accept4", "EMFILE");
	most = (long)NFD * EMFILE_PER + EMFILE_SLACK;
	note("%s: %s: %d connected and held, %d of them served, %d ended; "
	    "the daemon has %d fds open, shed %lld; %ld calls that wait or "
	    "accept, %ld accepts that failed with EMFILE", cur_model, cur_row,
	    held, served, ended, fds, shed, calls, failed);
	if (!rok(calls >= 0 && calls <= most, "%d clients against %d fds: "
	    "it does not spin (%ld calls that wait or accept, %ld at most)",
	    NFD, NOFILE, calls, most))
		diag("  %d held, %d served, %d ended; %d fds open, shed %lld, "
		    "%ld accepts failed with EMFILE", held, served, ended, fds,
		    shed, failed);
	h_cl_close(c, NFD);
	if (!rok(h_cl_ask_until(l, NULL, &one, 2 * ASK_MS), "once they close, "
	    "a new client is served"))
		diag("  it got: %s", h_cl_what(&one, "stamp"));
	stop(&d);
}

/*
 * 13. share: -w 2 workers on a listener they share (no --reuseport) take
 * turns at its clients under load.  With strace attached to the daemon and
 * to its processes, stampbench makes SHARE_N exchanges, again (up to
 * SHARE_RUNS runs) until the split can be judged; what each task took is
 * counted in the calls that take a client: an accept or accept4 that
 * returned a connection, and, for a ring that accepts in the kernel, an
 * io_uring_enter.  The daemon's main thread is left out: a model whose
 * main thread takes every client (one loop, or a process or thread per
 * client) has no workers that share, and says so, having looked.  Of the
 * others, at least two must each have made SHARE_MIN percent of those
 * calls: one worker taking every client, the others none, is the failure.
 * (A uring worker that took nobody still makes a call or so, when it is
 * woken for nothing: hence a share, not merely one call.)
 *
 * Several runs, because a machine with more runnable tasks than CPUs may
 * leave one worker out of a whole run: a worker that keeps running keeps
 * taking the connections that wait (an io_uring accept is tried at once
 * when it is submitted) while the other waits for a CPU.  What the row
 * catches is a worker left out of every run, as a multishot accept left
 * the second uring worker out however idle the machine.
 *
 * Counts, not CPU time: a task's ticks say as much about the machine as
 * about the task, and a task found by its id in /proc can be another
 * process by the time it is read again (the fork model goes through
 * thousands of ids a second; with pid_max at 32768 a task id came back as
 * some cc of the machine's, and was counted as a worker).
 */
#define SHARE_N		"400"	/* exchanges a run */
#define SHARE_RUNS	8
#define SHARE_MIN	5	/* percent, of at least SHARE_LEAST calls */
#define SHARE_LEAST	40
#define SHARE_CALLS	"accept,accept4,io_uring_enter"
#define SHARE_TASKS	64

/*
 * Of the calls in n[] of the tasks tids[] (ntask of them), but the main
 * thread's: how many tasks made any (*workers), their sum (*sum), and
 * how many made SHARE_MIN percent of it; the main thread's in *mine.
 */
static int
share_split(const pid_t *tids, const long *n, int ntask, pid_t main,
    int *workers, long *sum, long *mine)
{
	int	 i, shares = 0;

	*workers = 0;
	*sum = *mine = 0;
	for (i = 0; i < ntask; i++)
		if (tids[i] == main)
			*mine = n[i];
		else {
			(*workers)++;
			*sum += n[i];
		}
	for (i = 0; i < ntask; i++)
		shares += tids[i] != main && *sum > 0 &&
		    n[i] * 100 >= SHARE_MIN * *sum;
	return shares;
}

static void
row_share(void)
{
	static const char *const extra[] = { "-w", "2", "-l",
	    "tcp:127.0.0.1:0/stamp", NULL };
	struct h_daemon		 d;
	struct h_result		 r;
	struct h_trace		 tr;
	const struct h_listener	*l;
	pid_t			 tids[SHARE_TASKS];
	long			 n[SHARE_TASKS], sum = 0, mine = 0;
	char			 port[8], line[512];
	char			*argv[] = { (char *)h_prog("STAMPBENCH"), "-q",
	    "-c", "32", "-w", "1", "-n", SHARE_N, "127.0.0.1", port, NULL };
	int			 ntask = 0, i, runs = 0, workers = 0;
	int			 shares = 0;
	size_t			 len = 0;

	if (start(&d, 1, extra) == -1)
		return;
	l = h_daemon_find(&d, "tcp", "stamp");
	snprintf(port, sizeof port, "%d", l->port);
	settled_children(d.pid, SETTLE_MS);
	if (h_trace_start(&tr, d.pid, SHARE_CALLS) == -1) {
		rok(0, "strace attaches to the daemon and its processes");
		goto out;
	}
	/* Accepts that failed took nobody; every io_uring_enter counts. */
	do {
		runs++;
		if (h_run(argv, T(30000), &r) != 0)
			break;
		ntask = h_trace_tasks(&tr, NULL, "", tids, n, SHARE_TASKS);
		shares = share_split(tids, n, ntask, d.pid, &workers, &sum,
		    &mine);
	} while (runs < SHARE_RUNS && workers > 0 &&
	    (shares < 2 || sum < SHARE_LEAST));
	h_trace_stop(&tr);
	ntask = h_trace_tasks(&tr, NULL, "", tids, n, SHARE_TASKS);
	shares = share_split(tids, n, ntask, d.pid, &workers, &sum, &mine);
	if (!rok(r.status == 0, "stampbench -n %s with strace attached: exit "
	    "%d", SHARE_N, r.status)) {
		diag("  stampbench said: %.300s%.300s", r.out, r.err);
		goto out;
	}
	line[0] = '\0';
	for (i = 0; i < ntask; i++)
		if (tids[i] != d.pid) {
			len += (size_t)snprintf(line + len, len < sizeof line ?
			    sizeof line - len : 0, " %ld:%ld", (long)tids[i],
			    n[i]);
			if (len >= sizeof line)
				len = sizeof line - 1;
		}
	note("%s: %s: %d run(s) of stampbench; calls that took clients (%s): "
	    "the main thread %ld; the other tasks (tid:calls):%s", cur_model,
	    cur_row, runs, SHARE_CALLS, mine, line);
	if (workers == 0) {
		rok(mine > 0, "not a model of workers that share a listener: "
		    "its main thread took the clients (%ld calls), no other "
		    "task any", mine);
		goto out;
	}
	if (!rok(shares >= 2 && sum >= SHARE_LEAST, "2 workers on a shared "
	    "listener: %d of %d tasks "
	    "made %d%% or more of the %ld calls that took clients, in %d "
	    "run(s) of %s exchanges", shares, workers, SHARE_MIN, sum, runs,
	    SHARE_N))
		diag("  (tid:calls):%s; the main thread %ld", line, mine);
out:
	stop(&d);
}

/*
 * 14. metrics-request: the metrics listener answers every shape of
 * request line with a status at once.  A line without an HTTP version
 * ("hello", or HTTP/0.9's "GET /metrics") gets 400 without the empty line
 * it will never send; --linger is long, so a daemon that waits for more
 * leaves the client without a status past its patience.  A whole request
 * still gets the page.
 */
static void
row_metrics_request(void)
{
	static const char *const extra[] = { "--linger", "60000",
	    "-l", "tcp:127.0.0.1:0/metrics", NULL };
	static const struct {
		const char	*req;
		const char	*status;
	} asks[] = {
		{ "hello\r\n",				"HTTP/1.1 400 " },
		{ "GET /metrics\r\n",			"HTTP/1.1 400 " },
		{ "GET /metrics HTTP/1.1\r\n\r\n",	"HTTP/1.1 200 " },
	};
	struct h_daemon		 d;
	const struct h_listener	*l;
	char			 page[METRICS_PAGE];
	ssize_t			 n;
	size_t			 i;

	if (start(&d, 1, extra) == -1)
		return;
	l = h_daemon_find(&d, "tcp", "metrics");
	for (i = 0; l != NULL && i < sizeof asks / sizeof asks[0]; i++) {
		n = h_ask_metrics(l, asks[i].req, page, sizeof page, ASK_MS);
		page[strcspn(page, "\r\n")] = '\0';
		rok(n > 0 && strncmp(page, asks[i].status,
		    strlen(asks[i].status)) == 0, "%.*s: \"%s\" then EOF "
		    "(%s)", (int)strcspn(asks[i].req, "\r"), asks[i].req,
		    asks[i].status, n == -1 ? strerror(errno) : page);
	}
	if (l == NULL)
		rok(0, "a metrics listener");
	stop(&d);
}

/*
 * The daemon's stampd_connections_open, read from its metrics listener l
 * until it equals want, at most ms; the last value (-1: no page).  The
 * scrape itself is a connection the daemon holds open while it writes
 * the page: want counts it.
 */
static long long
open_gauge(const struct h_listener *l, long long want, int ms)
{
	char		 page[METRICS_PAGE];
	long long	 deadline = h_now_ms() + ms, v = -1;

	do {
		if (h_ask_metrics(l, "GET /metrics HTTP/1.1\r\n\r\n", page,
		    sizeof page, ASK_MS) > 0)
			v = h_metric(page, "stampd_connections_open");
		if (v == want)
			break;
		h_nap(20);
	} while (h_now_ms() < deadline);
	return v;
}

/*
 * 15. gauge-kill: stampd_connections_open counts what is open, whoever
 * held it.  With 2 clients held the gauge shows them (and the scrape);
 * then, in a model with child processes, the processes that hold them
 * are killed with SIGKILL, and the gauge must come back to the scrape
 * alone, as the --max-conns places do (sigkill-worker): the reap gives
 * back what a killed child held.  In the other models the clients close
 * and the gauge comes back all the same.
 */
static void
row_gauge_kill(void)
{
	static const char *const extra[] = { "--linger", "10000", "-D",
	    HOLD_DELAY, "-w", "6", "--min-spare", "6", "--max-spare", "8",
	    "-l", "tcp:127.0.0.1:0/stamp", "-l", "tcp:127.0.0.1:0/metrics",
	    NULL };
	struct h_client		 held[2];
	struct h_daemon		 d;
	const struct h_listener	*l, *ml;
	pid_t			 victims[2];
	long long		 base, with, after;
	int			 good, nkids, nv = 0, i, reaped = 0;

	if (start(&d, 2, extra) == -1)
		return;
	l = h_daemon_find(&d, "tcp", "stamp");
	ml = h_daemon_find(&d, "tcp", "metrics");
	if (l == NULL || ml == NULL) {
		rok(0, "a stamp and a metrics listener");
		goto out;
	}
	settled_children(d.pid, SETTLE_MS);
	base = open_gauge(ml, 1, SETTLE_MS);
	good = h_cl_hold_n(held, 2, l, NULL, ASK_MS);
	with = open_gauge(ml, base + 2, SETTLE_MS);
	if (!rok(good == 2 && base >= 0 && with == base + 2, "2 clients held: "
	    "the gauge %lld -> %lld", base, with))
		goto out;
	nkids = children(d.pid, NULL, 0);
	for (i = 0; nkids > 0 && i < 2; i++) {
		pid_t	 p = holder(d.pid, held[i].fd, l->port);

		if (p > 0 && p != d.pid && !member(p, victims, nv))
			victims[nv++] = p;
	}
	for (i = 0; i < nv; i++)
		kill(victims[i], SIGKILL);
	for (i = 0; i < nv; i++)
		reaped += h_gone(victims[i], SETTLE_MS);
	/* The clients stay open: only the reap may give their count back. */
	after = nv > 0 ? open_gauge(ml, base, SETTLE_MS) : -1;
	h_cl_close(held, 2);
	if (nv == 0) {
		after = open_gauge(ml, base, SETTLE_MS);
		rok(after == base, "not a pool model (%d children); the 2 "
		    "closed: the gauge back to %lld (%lld)", nkids, base,
		    after);
		goto out;
	}
	if (!rok(reaped == nv && after == base, "%d process(es) holding the "
	    "2 killed with SIGKILL (%d reaped): the gauge back to %lld "
	    "(%lld)", nv, reaped, base, after))
		diag_log(&d, 8);
out:
	h_cl_close(held, 2);
	stop(&d);
}

/*
 * A notify socket that no one reads, at a fresh path into sun, already
 * full: fillers (*nfill of them, into fill) send until a fresh one cannot
 * send a byte, so that the daemon's first message finds no room.  Returns
 * the socket, or -1.
 */
#define NFILL		64
static int
full_notify_socket(struct sockaddr_un *sun, char *dir, int *fill, int *nfill)
{
	int	 fd, f, sent, i;

	*nfill = 0;
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(sun->sun_path, sizeof sun->sun_path, "%s/notify", dir);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)sun, sizeof *sun) == -1) {
		close(fd);
		return -1;
	}
	while (*nfill < NFILL) {
		if ((f = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0)) == -1)
			break;
		if (connect(f, (struct sockaddr *)sun, sizeof *sun) == -1) {
			close(f);
			break;
		}
		fill[(*nfill)++] = f;
		for (sent = 0, i = 0; i < 100000; i++, sent++)
			if (send(f, "X=1", 3, MSG_DONTWAIT) == -1)
				break;
		if (sent == 0)
			return fd;
	}
	close(fd);
	return -1;
}

/*
 * 16. notify-full: systemd's notify socket, its reader stopped, full
 * before the daemon starts (NOTIFY_SOCKET), with a watchdog of 200 ms
 * (WATCHDOG_USEC) so that the daemon sends all the time: every message
 * finds no room.  The daemon still starts, serves over TCP and UDP, says
 * in its log that messages were dropped, and stops at SIGTERM, exit 0.
 */
static void
row_notify_full(void)
{
	static const char *const extra[] = { "-l", "tcp:127.0.0.1:0/stamp",
	    "-l", "udp:127.0.0.1:0/stamp", NULL };
	struct sockaddr_un	 sun;
	struct h_daemon		 d;
	struct h_client		 c;
	const struct h_listener	*l;
	char			 dir[] = "/tmp/stampd-notify-XXXXXX", buf[128];
	char			 why[128];
	long long		 deadline;
	ssize_t			 n;
	int			 fd, fill[NFILL], nfill, i, told, status;

	if ((fd = full_notify_socket(&sun, dir, fill, &nfill)) == -1) {
		rok(0, "a full notify socket: %s", strerror(errno));
		goto clean;
	}
	setenv("NOTIFY_SOCKET", sun.sun_path, 1);
	setenv("WATCHDOG_USEC", "200000", 1);
	i = start(&d, 2, extra);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	if (i == -1)
		goto clean;
	l = h_daemon_find(&d, "tcp", "stamp");
	i = l != NULL && h_cl_ask(l, NULL, &c, ASK_MS);
	rok(i, "served over TCP: %s", l == NULL ? "no listener" :
	    h_cl_what(&c, "stamp"));
	if ((l = h_daemon_find(&d, "udp", "stamp")) != NULL)
		n = h_ask_udp((const struct sockaddr *)&l->ss, l->sslen, "", 0,
		    buf, sizeof buf, ASK_MS);
	else
		n = -1;
	i = h_check_reply("stamp", buf, n, why, sizeof why);
	rok(i, "served over UDP: %s", i ? "a whole, fresh reply" : why);
	deadline = h_now_ms() + SETTLE_MS;
	while (!(told = strstr(h_daemon_log(&d), "NOTIFY_SOCKET: ") !=
	    NULL) && h_now_ms() < deadline)
		h_nap(20);
	rok(told, "the log says messages were dropped");
	status = stop(&d);
	if (!rok(status == 0, "stops at SIGTERM, exit 0 (%d)", status))
		diag_log(&d, 8);
clean:
	for (i = 0; i < nfill; i++)
		close(fill[i]);
	if (fd != -1)
		close(fd);
	if (sun.sun_path[0] != '\0')
		unlink(sun.sun_path);
	rmdir(dir);
}

/*
 * Whether c, a client whose reply is due later, is still waiting for it:
 * nothing to read yet, no EOF, no error.
 */
static int
cl_waiting(const struct h_client *c)
{
	struct pollfd	 pfd = { .fd = c->fd, .events = POLLIN };

	return c->fd != -1 && poll(&pfd, 1, 0) == 0;
}

/*
 * 17. delay-scrape: -D 3000 and a metrics listener.  A stamp client
 * connects first and waits out its delay; a scrape that comes after it
 * is answered (200 and the page) while that client still waits: no loop
 * sleeps for a client, and a scrape never waits --delay.  The stamp
 * client is still answered, after its delay.  Event order, no duration.
 */
static void
row_delay_scrape(void)
{
	static const char *const extra[] = { "-D", "3000",
	    "-l", "tcp:127.0.0.1:0/stamp", "-l", "tcp:127.0.0.1:0/metrics",
	    NULL };
	struct h_daemon		 d;
	struct h_client		 c;
	const struct h_listener	*l, *ml;
	char			 page[METRICS_PAGE];
	ssize_t			 n;
	int			 waiting, good;

	c.fd = -1;
	if (start(&d, 2, extra) == -1)
		return;
	l = h_daemon_find(&d, "tcp", "stamp");
	ml = h_daemon_find(&d, "tcp", "metrics");
	if (l == NULL || ml == NULL) {
		rok(0, "a stamp and a metrics listener");
		goto out;
	}
	h_cl_open(&c, l, NULL);
	if (!rok(h_cl_connected(&c, 1, ASK_MS) == 1, "a stamp client "
	    "connects"))
		goto out;
	/* Time for the daemon to take it: its delay starts there. */
	h_nap(200);
	n = h_ask_metrics(ml, "GET /metrics HTTP/1.1\r\n\r\n", page,
	    sizeof page, ASK_MS);
	waiting = cl_waiting(&c);
	good = n > 0 && strncmp(page, "HTTP/1.1 200 ", 13) == 0;
	page[n > 0 ? strcspn(page, "\r\n") : 0] = '\0';
	if (!rok(good && waiting, "-D 3000: a scrape is answered (%s) while "
	    "the stamp client taken before it still waits (%s)", good ?
	    "200" : n == -1 ? strerror(errno) : page, waiting ? "yes" :
	    "no: answered first"))
		diag_log(&d, 8);
	h_cl_wait(&c, 1, ASK_MS);
	rok(h_cl_served(&c, "stamp"), "the stamp client is then served (%s)",
	    h_cl_what(&c, "stamp"));
out:
	if (c.fd != -1)
		h_cl_close(&c, 1);
	stop(&d);
}

/*
 * 19. scrape-limits: --max-conns 2, both places held by stamp clients
 * that linger: a third stamp client is refused, and a scrape is answered
 * all the same: a metrics listener is outside the limits (with a bound
 * of its own), so that the counters answer whatever the clients do.
 */
static void
row_scrape_limits(void)
{
	/* As max-conns holds them: a worker free to refuse the third. */
	static const char *const extra[] = { "--max-conns", "2", "--linger",
	    "10000", "-D", HOLD_DELAY, "-w", "4", "-l",
	    "tcp:127.0.0.1:0/stamp", "-l", "tcp:127.0.0.1:0/metrics", NULL };
	struct h_client		 held[2], third;
	struct h_daemon		 d;
	const struct h_listener	*l, *ml;
	char			 page[METRICS_PAGE];
	ssize_t			 n;
	int			 good;

	if (start(&d, 2, extra) == -1)
		return;
	l = h_daemon_find(&d, "tcp", "stamp");
	ml = h_daemon_find(&d, "tcp", "metrics");
	if (l == NULL || ml == NULL) {
		rok(0, "a stamp and a metrics listener");
		stop(&d);
		return;
	}
	good = h_cl_hold_n(held, 2, l, NULL, ASK_MS);
	if (!rok(good == 2, "2 clients served and held (%d)", good))
		goto out;
	h_cl_ask(l, NULL, &third, ASK_MS);
	rok(h_cl_refused(&third), "a third stamp client is refused (%s)",
	    h_cl_what(&third, "stamp"));
	h_cl_close(&third, 1);
	n = h_ask_metrics(ml, "GET /metrics HTTP/1.1\r\n\r\n", page,
	    sizeof page, ASK_MS);
	good = n > 0 && strncmp(page, "HTTP/1.1 200 ", 13) == 0;
	page[n > 0 ? strcspn(page, "\r\n") : 0] = '\0';
	if (!rok(good, "every place held: a scrape is answered (%s)", good ?
	    "200" : n == -1 ? strerror(errno) : page))
		diag_log(&d, 8);
out:
	h_cl_close(held, 2);
	stop(&d);
}

/*
 * A notify socket that we read, at a fresh path into sun (in dir):
 * non-blocking.  Returns it, or -1.
 */
static int
notify_socket(struct sockaddr_un *sun, char *dir)
{
	int	 fd;

	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(sun->sun_path, sizeof sun->sun_path, "%s/notify", dir);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)sun, sizeof *sun) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The WATCHDOG=1 messages waiting on fd, read and counted. */
static int
watchdogs(int fd)
{
	char	 msg[512];
	ssize_t	 n;
	int	 k = 0;

	while ((n = recv(fd, msg, sizeof msg - 1, MSG_DONTWAIT)) >= 0) {
		msg[n] = '\0';
		k += strstr(msg, "WATCHDOG=1") != NULL;
	}
	return k;
}

/*
 * 18. watchdog-delay: a watchdog of 400 ms (WATCHDOG_USEC, NOTIFY_SOCKET
 * read here) and -D 3000, far longer than it.  While a stamp client
 * waits out its delay, WATCHDOG=1 keeps coming, as systemd needs not to
 * kill a daemon that is serving well: between its connect and its reply,
 * at least one for each whole watchdog interval of the time measured
 * (a count bounded by the time, as the rate rows do), and never fewer
 * than two.  The client is served.
 */
#define WD_USEC		"400000"
#define WD_MS		400

static void
row_watchdog_delay(void)
{
	static const char *const extra[] = { "-D", "3000", "-w", "2",
	    "-l", "tcp:127.0.0.1:0/stamp", NULL };
	struct sockaddr_un	 sun;
	struct h_daemon		 d;
	struct h_client		 c;
	struct pollfd		 pfd[2];
	const struct h_listener	*l;
	char			 dir[] = "/tmp/stampd-wd-XXXXXX";
	long long		 deadline, t0, waited;
	int			 fd, i, fed = 0, first = 0, need;

	sun.sun_path[0] = '\0';
	c.fd = -1;
	if ((fd = notify_socket(&sun, dir)) == -1) {
		rok(0, "a notify socket: %s", strerror(errno));
		goto clean;
	}
	setenv("NOTIFY_SOCKET", sun.sun_path, 1);
	setenv("WATCHDOG_USEC", WD_USEC, 1);
	i = start(&d, 1, extra);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	if (i == -1)
		goto clean;
	if ((l = h_daemon_find(&d, "tcp", "stamp")) == NULL) {
		rok(0, "a tcp stamp listener");
		goto out;
	}
	/* It feeds the watchdog before any client: the row's premise. */
	deadline = h_now_ms() + SETTLE_MS;
	while ((first += watchdogs(fd)) == 0 && h_now_ms() < deadline)
		h_nap(20);
	if (!rok(first > 0, "WATCHDOG=1 comes while idle"))
		goto out;
	watchdogs(fd);
	h_cl_open(&c, l, NULL);
	if (!rok(h_cl_connected(&c, 1, ASK_MS) == 1, "a stamp client "
	    "connects"))
		goto out;
	t0 = h_now_ms();
	deadline = t0 + ASK_MS;
	pfd[0].fd = fd;
	pfd[1].fd = c.fd;
	pfd[0].events = pfd[1].events = POLLIN;
	/* Until the client's reply (or its end) comes. */
	while (h_now_ms() < deadline) {
		pfd[0].revents = pfd[1].revents = 0;
		if (poll(pfd, 2, 50) == -1 && errno != EINTR)
			break;
		fed += watchdogs(fd);
		if (pfd[1].revents != 0)
			break;
	}
	waited = h_now_ms() - t0;
	h_cl_wait(&c, 1, ASK_MS);
	need = (int)(waited / WD_MS) > 2 ? (int)(waited / WD_MS) : 2;
	if (!rok(fed >= need, "-D 3000, WATCHDOG_USEC=" WD_USEC ": %d "
	    "WATCHDOG=1 in the %lld ms a client waited out its delay (at "
	    "least %d)", fed, waited, need))
		diag_log(&d, 8);
	rok(h_cl_served(&c, "stamp"), "the client is served (%s)",
	    h_cl_what(&c, "stamp"));
out:
	if (c.fd != -1)
		h_cl_close(&c, 1);
	stop(&d);
clean:
	if (fd != -1)
		close(fd);
	if (sun.sun_path[0] != '\0')
		unlink(sun.sun_path);
	rmdir(dir);
}

/*
 * Silent connect to l from address src (NULL: any), made and done (the
 * handshake, nothing sent): the fd, or -1.
 */
static int
silent_open(const struct h_listener *l, const char *src)
{
	struct sockaddr_storage	 ss;
	struct pollfd		 pfd;
	socklen_t		 len;
	int			 fd, e = 0;

	if ((fd = socket(l->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (src != NULL && (len = h_addr(src, 0, &ss)) > 0 &&
	    bind(fd, (struct sockaddr *)&ss, len) == -1) {
		close(fd);
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)&l->ss, l->sslen) == -1 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	len = sizeof e;
	if (poll(&pfd, 1, ASK_MS) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR,
	    &e, &len) == -1 || e != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Whether the daemon has closed fd, a silent connection: EOF or reset. */
static int
silent_ended(int fd)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	char		 c;

	return poll(&pfd, 1, 0) == 1 && recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

/*
 * How many of the n silent connections in fd have ended, waiting at most
 * ms until that is want (a close is on its way as the count is read); the
 * ended are marked -2 after they are closed here.
 */
static int
silent_count(int *fd, int n, int want, int ms)
{
	long long	 deadline = h_now_ms() + ms;
	int		 i, ended = 0;

	for (;;) {
		for (i = 0; i < n; i++)
			if (fd[i] >= 0 && silent_ended(fd[i])) {
				close(fd[i]);
				fd[i] = -2;
			}
		for (i = ended = 0; i < n; i++)
			ended += fd[i] == -2;
		if (ended >= want || h_now_ms() >= deadline)
			return ended;
		h_nap(20);
	}
}

/* Close the n silent connections in fd still open; how many there were. */
static int
silent_close(int *fd, int n)
{
	int	 i, open = 0;

	for (i = 0; i < n; i++)
		if (fd[i] >= 0) {
			close(fd[i]);
			fd[i] = -1;
			open++;
		}
	return open;
}

/*
 * The most fds any poll or ppoll of trace t asked about (strace writes
 * "poll([{fd=3, events=POLLIN}, ...], 5, 1000)"); 0 for none, -1 if the
 * trace cannot be read.
 */
static long
poll_widest(const struct h_trace *t)
{
	char	 line[4096];
	char	*p;
	FILE	*f;
	long	 n, most = 0;

	if ((f = fopen(t->path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		if ((p = strstr(line, "poll([")) == NULL ||
		    (p = strstr(p, "], ")) == NULL)
			continue;
		if ((n = strtol(p + 3, NULL, 10)) > most)
			most = n;
	}
	fclose(f);
	return most;
}

#define NSILENT		(2 * SRCWAIT_PER_SOURCE)
#define NCROWD		(SRCWAIT_MAX + 64)
#define NCROWD_SRC	17	/* sources, each under SRCWAIT_PER_SOURCE */
#define NHONEST		8
#define POLL_WIDEST	16	/* signals, the model's, the set, listeners */

/*
 * n silent connections to xl, the i-th from 127.0.0.(2 + i % nsrc) (one
 * source: 127.0.0.1), into fd, all accepted by daemon d (that has counted
 * acc before them), and then a plain client on pl served by the loop that
 * took them, so that each shed they caused is done.  Then the silent ones
 * the daemon has closed must be exactly those counted shed since shed0,
 * and the oldest; the rest, the newest, are bound: every model sheds.
 * Returns 0, or -1 after a failure.
 */
static int
silent_crowd(struct h_daemon *d, const struct h_listener *pl,
    const struct h_listener *xl, int *fd, int n, int nsrc, long long acc,
    long long shed0, int bound, const char *what)
{
	struct h_client	 c;
	char		 src[32];
	long long	 got, shed;
	int		 i, ended, prefix, held, served;

	for (i = 0; i < n; i++) {
		snprintf(src, sizeof src, "127.0.0.%d", nsrc > 1 ?
		    2 + i % nsrc : 1);
		if ((fd[i] = silent_open(xl, src)) == -1)
			break;
	}
	if (!rok(i == n, "%s: %d silent connections made (%d)", what, n, i))
		return -1;
	got = h_counter_at_least(d, "accepted", acc + n, SETTLE_MS);
	if (!rok(got >= acc + n, "%s: the daemon accepted them (%lld)", what,
	    got - acc))
		return -1;
	/* Served after them: every shed is done, counted and closed. */
	served = h_cl_ask(pl, NULL, &c, ASK_MS);
	rok(served, "%s: a plain client is served beside them (%s)", what,
	    h_cl_what(&c, "stamp"));
	if ((shed = h_daemon_counter(d, "shed")) < 0)
		return -1;
	shed -= shed0;
	ended = silent_count(fd, n, (int)shed, shed > 0 ? QUICK_MS : 0);
	for (prefix = 0; prefix < n && fd[prefix] == -2; prefix++)
		continue;
	held = n - ended;
	if (!rok(ended == shed && prefix == ended, "%s: those closed are "
	    "the shed count (%d closed, shed %lld) and the oldest (the first "
	    "%d)", what, ended, shed, prefix))
		diag_log(d, 8);
	rok(held == bound, "%s: the newest are held, as many as the bound: "
	    "%d of %d (bound %d, %lld shed)", what, held, n, bound, shed);
	return 0;
}

/*
 * 20. proxy-silent: a +proxy listener and a plain one, one loop taking
 * them (-w 1, --max-workers 1).  NSILENT connections from 127.0.0.1 (a
 * peer --proxy-from allows by default) send nothing.  Every model bounds
 * them (SRCWAIT_PER_SOURCE from one source, in each loop): it has closed
 * the oldest, and counted each as shed: those that ended are exactly the
 * shed count, and the oldest, and the newest SRCWAIT_PER_SOURCE are still
 * held.  A proxied client from another source, 127.0.0.2, is served and
 * sheds none of them.  Then honest clients on both listeners, a proxied
 * one with a PROXY v1 header, are all served beside them, and no poll of
 * the daemon's, while they wait, asks about more than a few fds: the
 * waiters are one fd, an epoll set, so a turn costs what is ready, never
 * what waits.  Then, where the fds allow, NCROWD silent ones from
 * NCROWD_SRC sources, none past its bound: past SRCWAIT_MAX the oldest of
 * all are shed, as above, and a proxied newcomer is served.  No
 * duration: the throughput they leave is make bench's (its proxy-silent
 * section).
 */
static void
row_proxy_silent(void)
{
	static const char *const extra[] = { "--linger", "60000", "-w", "1",
	    "--max-workers", "1", "--min-spare", "0", "--max-spare", "1",
	    "-l", "tcp:127.0.0.1:0/stamp", "-l", "tcp:127.0.0.1:0/stamp+proxy",
	    NULL };
	static int		 fd[NSILENT], crowd[NCROWD];
	struct h_daemon		 d;
	struct h_client		 c;
	const struct h_listener	*pl, *xl;
	struct rlimit		 rl;
	struct h_trace		 tr;
	long long		 acc, shed, bad, after;
	long			 widest;
	int			 i, good, proxied, traced = 0, closed, big;
	rlim_t			 want = NCROWD + 256;

	for (i = 0; i < NSILENT; i++)
		fd[i] = -1;
	for (i = 0; i < NCROWD; i++)
		crowd[i] = -1;
	/* For the crowd the daemon's fds too: it inherits the limit. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur < NSILENT + 64) {
		skip("proxy-silent: RLIMIT_NOFILE allows too few fds");
		return;
	}
	big = rl.rlim_cur >= want;
	if (start(&d, 2, extra) == -1)
		return;
	pl = h_daemon_find(&d, "tcp", "stamp");
	xl = h_daemon_find(&d, "tcp", "stamp+proxy");
	if (pl == NULL || xl == NULL) {
		rok(0, "a stamp and a stamp+proxy listener");
		goto out;
	}
	settled_children(d.pid, SETTLE_MS);
	if (!rok(h_trace_start(&tr, d.pid, "poll,ppoll") == 0, "strace "
	    "attaches to the daemon and its processes"))
		goto out;
	traced = 1;
	if (silent_crowd(&d, pl, xl, fd, NSILENT, 1, 0, 0,
	    SRCWAIT_PER_SOURCE, "one source") == -1)
		goto out;
	shed = h_daemon_counter(&d, "shed");
	cl_send_from(&c, xl, "127.0.0.2", "PROXY TCP4 192.0.2.1 192.0.2.2 "
	    "1234 1937\r\n");
	proxied = h_cl_served(&c, "stamp");
	after = h_daemon_counter(&d, "shed");
	closed = silent_count(fd, NSILENT, 0, 0);
	if (!rok(proxied && after == shed && closed == NSILENT -
	    SRCWAIT_PER_SOURCE, "another source: a proxied client from "
	    "127.0.0.2 is served (%s) and sheds none (shed %lld, then %lld; "
	    "%d closed)", h_cl_what(&c, "stamp"), shed, after, closed))
		diag_log(&d, 8);
	for (i = good = proxied = 0; i < NHONEST; i++) {
		good += h_cl_ask(pl, NULL, &c, ASK_MS);
		cl_send_wait(&c, xl, "PROXY TCP4 192.0.2.1 192.0.2.2 1234 "
		    "1937\r\n");
		proxied += h_cl_served(&c, "stamp");
	}
	if (!rok(good == NHONEST && proxied == NHONEST, "honest clients "
	    "beside them are served: plain %d of %d, proxied %d of %d", good,
	    NHONEST, proxied, NHONEST))
		diag_log(&d, 8);
	h_trace_stop(&tr);
	traced = 0;
	widest = poll_widest(&tr);
	rok(widest >= 0 && widest <= POLL_WIDEST, "no poll asks about the "
	    "waiters one by one: %ld fds at most (bound %d)", widest,
	    POLL_WIDEST);
	if (!big) {
		skip("proxy-silent: RLIMIT_NOFILE allows too few fds for "
		    "the crowd");
		goto out;
	}
	/*
	 * Each EOF ends a wait, as a bad header: the crowd starts alone.  A
	 * proxied client whose header came after its accept may have shed
	 * one more: those are closed already.
	 */
	silent_count(fd, NSILENT, 0, 0);
	closed = silent_close(fd, NSILENT);
	bad = h_counter_at_least(&d, "bad headers", closed, SETTLE_MS);
	acc = h_daemon_counter(&d, "accepted");
	shed = h_daemon_counter(&d, "shed");
	if (!rok(bad >= closed && acc >= 0 && shed >= 0, "the %d held are "
	    "let go (bad headers %lld)", closed, bad))
		goto out;
	if (silent_crowd(&d, pl, xl, crowd, NCROWD, NCROWD_SRC, acc, shed,
	    SRCWAIT_MAX, "a crowd") == -1)
		goto out;
	cl_send_wait(&c, xl, "PROXY TCP4 192.0.2.1 192.0.2.2 1234 1937\r\n");
	rok(h_cl_served(&c, "stamp"), "a crowd: a proxied newcomer is served "
	    "(%s)", h_cl_what(&c, "stamp"));
out:
	if (traced)
		h_trace_stop(&tr);
	/* Their EOF ends each wait: the stop need not wait out --linger. */
	silent_close(fd, NSILENT);
	silent_close(crowd, NCROWD);
	stop(&d);
}

static const struct row {
	const char	*name;
	void		(*run)(void);
} rows[] = {
	{ "serve",		row_serve },
	{ "reuseport",		row_reuseport },
	{ "max-conns",		row_max_conns },
	{ "per-ip",		row_per_ip },
	{ "rate",		row_rate },
	{ "udp-rate",		row_udp_rate },
	{ "dgram-judge",	row_dgram_judge },
	{ "proxy",		row_proxy },
	{ "delay",		row_delay },
	{ "sigterm-queue",	row_sigterm_queue },
	{ "sigterm-load",	row_sigterm_load },
	{ "sigkill-worker",	row_sigkill_worker },
	{ "emfile",		row_emfile },
	{ "share",		row_share },
	{ "metrics-request",	row_metrics_request },
	{ "gauge-kill",		row_gauge_kill },
	{ "notify-full",	row_notify_full },
	{ "delay-scrape",	row_delay_scrape },
	{ "watchdog-delay",	row_watchdog_delay },
	{ "scrape-limits",	row_scrape_limits },
	{ "proxy-silent",	row_proxy_silent },
};

int
main(void)
{
	char		 models[MAXMODELS][32];
	const char	*only_model, *only_row;
	long long	 t0;
	size_t		 r;
	int		 nmodels, m;

	signal(SIGPIPE, SIG_IGN);
	owner = getpid();
	atexit(continue_stopped);
	atexit(probe_kill);
	/* A bad STAMP_TIMEOUT_SCALE bails out before any daemon starts. */
	h_scale();
	only_model = getenv("MATRIX_MODEL");
	only_row = getenv("MATRIX_ROW");
	if ((nmodels = h_models(models, MAXMODELS)) == 0)
		bail("no model listed under -m, --model in stampd --help");
	for (m = 0; m < nmodels; m++) {
		cur_model = models[m];
		if (only_model != NULL && strcmp(only_model, cur_model) != 0)
			continue;
		note("model %s", cur_model);
		for (r = 0; r < sizeof rows / sizeof rows[0]; r++) {
			cur_row = rows[r].name;
			if (only_row != NULL && strcmp(only_row, cur_row) != 0)
				continue;
			t0 = h_now_ms();
			rows[r].run();
			note("%s: %s: %lld ms", cur_model, cur_row,
			    h_now_ms() - t0);
		}
	}
	return done_testing();
}
