/*
 * uring.c: what the uring model does that the matrix does not ask of
 * every model.
 *
 * Where io_uring is refused, here by a seccomp filter that fails
 * io_uring_setup with EPERM (as a container runtime's default profile
 * may) or ENOSYS (as one may for a system call it does not know), stampd
 * -m uring says so in one line that names the cause and the way out
 * (-m event), binds nothing and exits 1; so does --check, which an
 * upgrade runs first.  Where it runs: 2000 clients one after another and
 * 200 at once across the multishot accept, a batch of datagrams each
 * answered whole, --delay kept by the ring's timeouts while the other
 * clients of the same worker are served, and a SIGTERM that ends every
 * delay at once.  Every wait is bounded, and scaled; nothing asserts a
 * duration beyond a client's patience.
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "tap.h"

#if defined(__x86_64__)
#define ARCH_HERE	AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH_HERE	AUDIT_ARCH_AARCH64
#elif defined(__i386__)
#define ARCH_HERE	AUDIT_ARCH_I386
#elif defined(__riscv) && __riscv_xlen == 64
#define ARCH_HERE	AUDIT_ARCH_RISCV64
#endif

#define MAXMODELS	16
#define NSEQ		2000	/* clients one after another */
#define NCONC		200	/* clients at once */
#define NDGRAM		100	/* datagrams from one socket */
#define NDELAY		20	/* clients waiting out a delay together */
#define DELAY		"1500"
#define LONG_DELAY	"30000"	/* longer than any wait here */

static int
valid(const char *buf, ssize_t n)
{
	return h_stamp_near(buf, n, (long long)time(NULL));
}

#ifdef ARCH_HERE
/*
 * From now on io_uring_setup fails with err in this process and what it
 * execs.  Another architecture's system calls (a 32-bit entry on a 64-bit
 * kernel) could reach the call under another number: they kill.
 */
static int
refuse_io_uring(int err)
{
	struct sock_filter	 filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH_HERE, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO |
		    ((unsigned)err & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog	 prog;

	prog.len = (unsigned short)(sizeof filter / sizeof filter[0]);
	prog.filter = filter;
	/* What lets a process without privileges install a filter. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/*
 * Run stampd with args under a filter that fails io_uring_setup with err:
 * its exit status (-1: killed at the deadline), and what it wrote to
 * stdout and stderr into out.
 */
static int
run_refused(const char *const args[], int err, char *out, size_t len)
{
	const char	*argv[32];
	struct pollfd	 pfd;
	long long	 deadline = h_now_ms() + h_ms(H_DEADLINE_MS);
	size_t		 got = 0;
	ssize_t		 n;
	pid_t		 pid;
	int		 p[2], nul, i, st, left;

	argv[0] = h_prog("STAMPD");
	for (i = 0; args[i] != NULL && i < 30; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	out[0] = '\0';
	if (pipe2(p, O_CLOEXEC) == -1)
		bail("pipe2");
	fflush(stdout);
	if ((pid = fork()) == -1)
		bail("fork");
	if (pid == 0) {
		if ((nul = open("/dev/null", O_RDONLY)) == -1 ||
		    dup2(nul, 0) == -1 || dup2(p[1], 1) == -1 ||
		    dup2(p[1], 2) == -1)
			_exit(127);
		if (refuse_io_uring(err) == -1) {
			dprintf(2, "uring.t: seccomp: %s\n", strerror(errno));
			_exit(126);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	while ((left = (int)(deadline - h_now_ms())) > 0) {
		if (poll(&pfd, 1, left) < 1)
			continue;
		if ((n = read(p[0], out + got, len - 1 - got)) <= 0)
			break;
		got += (size_t)n;
		out[got] = '\0';
	}
	close(p[0]);
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (h_now_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		h_nap(10);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The value of kernel.io_uring_disabled, 0 where there is none. */
static int
io_uring_disabled(void)
{
	char	 c = '0';
	int	 fd;

	if ((fd = open("/proc/sys/kernel/io_uring_disabled",
	    O_RDONLY | O_CLOEXEC)) != -1) {
		if (read(fd, &c, 1) != 1)
			c = '0';
		close(fd);
	}
	return c - '0';
}

static void
t_refused(int err, const char *errname, const char *const args[],
    const char *what)
{
	char	 out[4096], cause[64];
	int	 status;

	status = run_refused(args, err, out, sizeof out);
	/* kernel.io_uring_disabled, if set, is named first. */
	snprintf(cause, sizeof cause, "%s", err == EPERM &&
	    io_uring_disabled() != 0 ? "kernel.io_uring_disabled" :
	    "seccomp filter");
	is_int(status, 1, "%s, io_uring_setup failing with %s: exit 1", what,
	    errname);
	is_int(h_count(out, "\n"), 1, "%s, %s: one line", what, errname);
	if (!ok(h_count(out, "stampd: -m uring: io_uring is not available "
	    "(io_uring_setup") == 1 && h_count(out, cause) == 1 &&
	    h_count(out, strerror(err)) == 1 &&
	    h_count(out, "; use -m event\n") == 1,
	    "%s, %s: the line names the model, the cause (%s: %s) and -m "
	    "event", what, errname, cause, strerror(err)))
		diag("stampd said: %s", out);
	is_int(h_count(out, "listening"), 0, "%s, %s: nothing was bound",
	    what, errname);
}

static void
t_seccomp(void)
{
	static const char *const serve[] = { "-m", "uring",
	    "-l", "tcp:127.0.0.1:0/stamp", "-l", "udp:127.0.0.1:0/stamp",
	    NULL };
	static const char *const check[] = { "-m", "uring", "--check",
	    "-l", "tcp:127.0.0.1:0/stamp", NULL };
	static const char *const event[] = { "-m", "event", "--check",
	    "-l", "tcp:127.0.0.1:0/stamp", NULL };
	char	 out[4096];
	int	 status;

	t_refused(EPERM, "EPERM", serve, "-m uring");
	t_refused(ENOSYS, "ENOSYS", serve, "-m uring");
	t_refused(EPERM, "EPERM", check, "-m uring --check");
	/* The way out works under the same filter. */
	status = run_refused(event, EPERM, out, sizeof out);
	if (!is_int(status, 0, "-m event --check under the same filter: "
	    "exit 0"))
		diag("stampd said: %s", out);
}
#else
static void
t_seccomp(void)
{
	skip("no seccomp filter written for this architecture");
}
#endif

static void
t_listed(void)
{
	char	 models[MAXMODELS][32];
	int	 n, i, found = 0;

	n = h_models(models, MAXMODELS);
	for (i = 0; i < n; i++)
		found |= strcmp(models[i], "uring") == 0;
	ok(found, "stampd --help lists the uring model");
	ok(n > 0 && strcmp(models[0], "event") == 0, "event is still the "
	    "default (listed first)");
}

/*
 * Many connections through the multishot accepts of two workers: one after
 * another, then all at once; and a batch of datagrams from one socket.
 */
static void
t_many(void)
{
	static const char *const args[] = { "-m", "uring", "-w", "2",
	    "-l", "tcp:127.0.0.1:0/stamp", "-l", "udp:127.0.0.1:0/stamp",
	    NULL };
	static struct h_client	 c[NCONC];
	struct h_daemon		 d;
	const struct h_listener	*lt, *lu;
	char			 buf[128];
	ssize_t			 n;
	int			 i, fd, good, bad = 0, sent;
	long long		 accepted;

	if (!ok(h_daemon_start(&d, 2, args) == 0, "stampd -m uring -w 2 "
	    "starts"))
		return;
	lt = h_daemon_find(&d, "tcp", "stamp");
	lu = h_daemon_find(&d, "udp", "stamp");

	for (i = good = 0; i < NSEQ && bad < 3; i++) {
		n = h_ask_tcp((const struct sockaddr *)&lt->ss, lt->sslen, buf,
		    sizeof buf, H_ASK_MS);
		if (valid(buf, n))
			good++;
		else if (bad++ == 0)
			diag("client %d: %zd bytes (%s)", i, n,
			    n < 0 ? strerror(errno) : "not a stamp");
	}
	is_int(good, NSEQ, "%d tcp clients one after another: all served",
	    NSEQ);

	for (i = 0; i < NCONC; i++)
		h_cl_open(&c[i], lt, NULL);
	h_cl_wait(c, NCONC, 2 * H_ASK_MS);
	for (i = good = bad = 0; i < NCONC; i++)
		if (h_cl_served(&c[i], "stamp"))
			good++;
		else if (bad++ == 0)
			diag("client %d: %s", i, h_cl_what(&c[i], "stamp"));
	h_cl_close(c, NCONC);
	is_int(good, NCONC, "%d tcp clients at once: all served", NCONC);

	/* Loopback is spared --udp-rate: every one is answered. */
	if ((fd = h_udp_open(lu)) == -1)
		bail("udp socket");
	for (i = sent = 0; i < NDGRAM; i++)
		sent += send(fd, "", 0, MSG_NOSIGNAL) == 0;
	for (i = good = 0; i < sent; i++) {
		n = h_udp_recv(fd, buf, sizeof buf, H_ASK_MS);
		if (n < 0)
			break;
		good += valid(buf, n);
	}
	close(fd);
	is_int(good, NDGRAM, "%d datagrams sent at once from one socket: %d "
	    "whole replies", NDGRAM, good);

	accepted = h_daemon_counter(&d, "accepted");
	ok(accepted >= NSEQ + NCONC, "the counters say %lld accepted (at "
	    "least %d)", accepted, NSEQ + NCONC);
	is_int(h_daemon_stop(&d), 0, "SIGTERM: exit 0");
}

/* NDELAY TCP clients to lt, and a datagram each from its own socket to lu. */
static void
pairs_open(struct h_client *c, int *fd, const struct h_listener *lt,
    const struct h_listener *lu)
{
	int	 i;

	for (i = 0; i < NDELAY; i++) {
		h_cl_open(&c[i], lt, NULL);
		if ((fd[i] = h_udp_open(lu)) != -1 &&
		    send(fd[i], "", 0, MSG_NOSIGNAL) != 0) {
			close(fd[i]);
			fd[i] = -1;
		}
	}
}

/*
 * What pairs_open's clients got, read (h_cl_wait done) and closed: the
 * TCP clients served; the whole datagram replies, each waited for at most
 * H_ASK_MS, in *ugood.
 */
static int
pairs_count(struct h_client *c, int *fd, int *ugood)
{
	char	 buf[128];
	ssize_t	 n;
	int	 i, good = 0, bad = 0;

	for (i = 0; i < NDELAY; i++)
		if (h_cl_served(&c[i], "stamp"))
			good++;
		else if (bad++ == 0)
			diag("client %d: %s", i, h_cl_what(&c[i], "stamp"));
	h_cl_close(c, NDELAY);
	for (i = 0, *ugood = 0; i < NDELAY; i++) {
		if (fd[i] == -1)
			continue;
		n = h_udp_recv(fd[i], buf, sizeof buf, H_ASK_MS);
		*ugood += valid(buf, n);
		close(fd[i]);
	}
	return good;
}

/*
 * --delay: NDELAY clients and NDELAY datagrams on one worker, each waiting
 * out the delay in a timeout of its own, side by side: all are answered
 * within one client's patience, which a worker that waited them out one
 * after another would take NDELAY delays to do.
 */
static void
t_delay(void)
{
	static const char *const args[] = { "-m", "uring", "-w", "1",
	    "-D", DELAY, "-l", "tcp:127.0.0.1:0/stamp",
	    "-l", "udp:127.0.0.1:0/stamp", NULL };
	struct h_client		 c[NDELAY];
	struct h_daemon		 d;
	const struct h_listener	*lt, *lu;
	long long		 t0;
	int			 fd[NDELAY], good, ugood;

	if (!ok(h_daemon_start(&d, 2, args) == 0, "stampd -m uring -w 1 -D "
	    DELAY " starts"))
		return;
	lt = h_daemon_find(&d, "tcp", "stamp");
	lu = h_daemon_find(&d, "udp", "stamp");
	t0 = h_now_ms();
	pairs_open(c, fd, lt, lu);
	h_cl_wait(c, NDELAY, h_ms(1500) + H_ASK_MS);
	good = pairs_count(c, fd, &ugood);
	note("%d tcp and %d udp replies, %lld ms after the first asked", good,
	    ugood, h_now_ms() - t0);
	is_int(good, NDELAY, "-D " DELAY ", one worker: %d tcp clients at once "
	    "all served within one client's patience", NDELAY);
	is_int(ugood, NDELAY, "-D " DELAY ", one worker: %d datagrams beside "
	    "them all answered", NDELAY);
	is_int(h_daemon_stop(&d), 0, "SIGTERM: exit 0");
}

/*
 * SIGTERM while every client waits out a delay longer than any wait here:
 * each delay ends at once, every client and datagram is answered whole,
 * and stampd exits 0.
 */
static void
t_stop(void)
{
	static const char *const args[] = { "-m", "uring", "-w", "2",
	    "-D", LONG_DELAY, "-l", "tcp:127.0.0.1:0/stamp",
	    "-l", "udp:127.0.0.1:0/stamp", NULL };
	struct h_client		 c[NDELAY];
	struct h_daemon		 d;
	const struct h_listener	*lt, *lu;
	long long		 deadline;
	int			 fd[NDELAY], good, ugood, q;
	int			 exited;

	if (!ok(h_daemon_start(&d, 2, args) == 0, "stampd -m uring -w 2 -D "
	    LONG_DELAY " starts"))
		return;
	lt = h_daemon_find(&d, "tcp", "stamp");
	lu = h_daemon_find(&d, "udp", "stamp");
	pairs_open(c, fd, lt, lu);
	is_int(h_cl_connected(c, NDELAY, H_ASK_MS), NDELAY, "%d clients "
	    "connect", NDELAY);
	/* Every one taken off the accept queue, and waiting its delay. */
	deadline = h_now_ms() + H_ASK_MS;
	while ((q = h_accept_queue(lt->port)) != 0 && h_now_ms() < deadline)
		h_nap(20);
	is_int(q, 0, "the daemon has taken every one of them");
	kill(d.pid, SIGTERM);
	h_cl_wait(c, NDELAY, H_ASK_MS);
	good = pairs_count(c, fd, &ugood);
	is_int(good, NDELAY, "SIGTERM during a -D " LONG_DELAY " delay: %d "
	    "tcp clients served at once", NDELAY);
	is_int(ugood, NDELAY, "SIGTERM during the delay: %d datagrams "
	    "answered at once", NDELAY);
	exited = h_exited_within(d.pid, H_ASK_MS);
	ok(exited, "it exits within %d ms", H_ASK_MS);
	is_int(h_daemon_stop(&d), 0, "exit status 0");
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	t_listed();
	t_seccomp();
	t_many();
	t_delay();
	t_stop();
	return done_testing();
}
