/*
 * bench.c: stampbench against fake servers made here.
 *
 * Each case binds its sockets on 127.0.0.1 port 0 and forks a child that
 * serves them in one of a few ways (the stamp line, nginx's $msec line,
 * RFC 868's four bytes, garbage, a clock an hour off, silence, or NTP
 * replies that test what stampbench checks of them), runs stampbench
 * against it with a deadline, and reads its summary and its RESULT line.
 * The replies are built here by hand, not with wire.c or ntp.c, so that
 * stampbench's checks meet an independent encoding; NTP's good replies
 * come from stampd itself.  Every child is stopped by its pid, from an
 * atexit handler at the latest, and ends on its own after CHILD_S even if
 * this test is killed.
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/io_uring.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "tap.h"

/* Scaled, as every bound on a wait. */
#define CHILD_S		((unsigned)(h_ms(60000) / 1000))
#define RUN_MS		((int)h_ms(30000))
#define STOP_MS		((int)h_ms(3000))
#define MAXFAKE		8
#define MAXARGS		24
#define EPOCH_1900	2208988800LL
#define NTP_LEN		48
#define MAXSEEN		8192	/* NTP requests a fake remembers */
#define MAXPEERS	64	/* and the source ports it tells apart */

enum mode {
	STAMP,		/* "%lld\r\n" of the time */
	MSEC,		/* nginx: "%lld.123\r\n" */
	TIME32,		/* RFC 868: 4 bytes, seconds since 1900 */
	GARBAGE,	/* a line that is no protocol's */
	SKEW,		/* a stamp line an hour ahead */
	SILENT,		/* listen and bind, never accept or read */
	NTP_ECHO,	/* as an NTP server; a repeated transmit gets mode 3 */
	NTP_LATE,	/* the same, after a copy of the reply before */
	NTP_WRONG_ORG,	/* mode 4, the origin one off our transmit */
};

struct fake {
	pid_t	 pid;
	char	 tport[8];	/* TCP */
	char	 uport[8];	/* UDP */
};

static pid_t	 children[MAXFAKE];
static pid_t	 self;
static const char *prog;
static int	 have_uring;	/* this kernel lets us have a ring */

/*
 * --json checked by Python's own parser, and its figures against each
 * other: argv[1] the JSON, argv[2] and argv[3] the ok and errors
 * expected.  Prints "valid OK ERRORS BUCKETS" or why not.
 */
static const char json_check[] =
"import json, sys\n"
"d = json.loads(sys.argv[1])\n"
"ok, errors = int(sys.argv[2]), int(sys.argv[3])\n"
"h = d['histogram']\n"
"b = h['buckets']\n"
"l = d['latency_us']\n"
"assert d['program'] == 'stampbench', 'program'\n"
"assert d['ok'] == ok and d['errors'] == errors, 'ok or errors'\n"
"assert d['exchanges'] == d['ok'] + d['bad'] + d['errors'], 'exchanges'\n"
"assert sum(d['errors_by_kind'].values()) == d['errors'], 'kinds'\n"
"assert sorted(d['errors_by_kind']) == "
"['other', 'refused', 'reset', 'timeout'], 'kind names'\n"
"assert h['unit'] == 'us' and h['buckets_per_octave'] == 4, 'unit'\n"
"assert sum(x['count'] for x in b) == ok, 'buckets sum to ok'\n"
"assert all(x['from'] < x['to'] and x['count'] > 0 for x in b), 'bucket'\n"
"assert all(b[i]['to'] <= b[i + 1]['from'] "
"for i in range(len(b) - 1)), 'buckets in order'\n"
"if ok == 0:\n"
"    assert l is None and b == [], 'no latency without a reply'\n"
"else:\n"
"    p = [l[k] for k in ('min', 'p50', 'p90', 'p99', 'p999', 'p9999',"
" 'max')]\n"
"    assert p == sorted(p), 'percentiles in order: %r' % p\n"
"    assert b[0]['from'] <= l['min'] and l['max'] < b[-1]['to'], 'span'\n"
"    assert l['min'] <= l['mean'] <= l['max'], 'mean'\n"
"assert d['secs'] > 0 and d['rate'] >= 0 and d['cpu_us'] >= 0, 'times'\n"
"print('valid', d['ok'], d['errors'], len(b))\n";

/* The NTP requests a fake has seen, and the last from each port. */
struct ntp_seen {
	uint64_t	 xmt[MAXSEEN];
	int		 nxmt;
	int		 port[MAXPEERS];
	uint64_t	 last[MAXPEERS];
	int		 npeer;
};

static void
put64(unsigned char *p, uint64_t v)
{
	int	 i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (56 - 8 * i));
}

static uint64_t
get64(const unsigned char *p)
{
	uint64_t	 v = 0;
	int		 i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * A server's reply to the request whose transmit is org, as RFC 5905 lays
 * it out: LI 0, version 4, mode (4 but for a fake that errs), stratum 8,
 * origin, and the receive and transmit timestamps now.
 */
static int
ntp_reply(int mode, uint64_t org, char *buf, size_t len)
{
	unsigned char	*p = (unsigned char *)buf;
	struct timespec	 ts;
	uint64_t	 now;

	if (len < NTP_LEN)
		return 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)(ts.tv_sec + EPOCH_1900) << 32 |
	    (uint64_t)(((uint64_t)ts.tv_nsec << 32) / 1000000000);
	memset(p, 0, NTP_LEN);
	p[0] = (unsigned char)(4 << 3 | mode);
	p[1] = 8;
	put64(p + 24, org);
	put64(p + 32, now);
	put64(p + 40, now);
	return NTP_LEN;
}

/*
 * The last transmit from port before this one, which replaces it; 0 if
 * none (or too many ports to remember).
 */
static uint64_t
ntp_before(struct ntp_seen *ns, int port, uint64_t xmt)
{
	uint64_t	 before;
	int		 i;

	for (i = 0; i < ns->npeer && ns->port[i] != port; i++)
		;
	if (i == MAXPEERS)
		return 0;
	if (i == ns->npeer) {
		ns->port[ns->npeer++] = port;
		ns->last[i] = 0;
	}
	before = ns->last[i];
	ns->last[i] = xmt;
	return before;
}

/* Whether xmt was seen before; remembered if not. */
static int
ntp_repeated(struct ntp_seen *ns, uint64_t xmt)
{
	int	 i;

	for (i = 0; i < ns->nxmt; i++)
		if (ns->xmt[i] == xmt)
			return 1;
	if (ns->nxmt < MAXSEEN)
		ns->xmt[ns->nxmt++] = xmt;
	return 0;
}

/*
 * The datagrams of an NTP fake's answer to req, from port, into out: one
 * reply, or two for NTP_LATE; their lengths in n.  Returns how many.
 */
static int
ntp_answer(enum mode mode, struct ntp_seen *ns, const char *req,
    ssize_t reqlen, int port, char out[2][64], int n[2])
{
	uint64_t	 xmt, before;

	if (reqlen < NTP_LEN)
		return 0;
	xmt = get64((const unsigned char *)req + 40);
	before = ntp_before(ns, port, xmt);
	if (mode == NTP_WRONG_ORG) {
		n[0] = ntp_reply(4, xmt + 1, out[0], 64);
		return 1;
	}
	n[0] = ntp_reply(ntp_repeated(ns, xmt) ? 3 : 4, xmt, out[0], 64);
	if (mode != NTP_LATE || before == 0)
		return 1;
	/* As a reply to the exchange before would come, late. */
	n[1] = n[0];
	memcpy(out[1], out[0], 64);
	n[0] = ntp_reply(4, before, out[0], 64);
	return 2;
}

static int
reply(enum mode mode, char *buf, size_t len)
{
	long long	 t = (long long)time(NULL);
	unsigned long	 u;

	switch (mode) {
	case STAMP:
		return snprintf(buf, len, "%lld\r\n", t);
	case MSEC:
		return snprintf(buf, len, "%lld.123\r\n", t);
	case TIME32:
		u = (unsigned long)((t + 2208988800LL) & 0xffffffffLL);
		buf[0] = (char)(u >> 24);
		buf[1] = (char)(u >> 16 & 0xff);
		buf[2] = (char)(u >> 8 & 0xff);
		buf[3] = (char)(u & 0xff);
		return 4;
	case GARBAGE:
		return snprintf(buf, len, "hello, world\r\n");
	case SKEW:
		return snprintf(buf, len, "%lld\r\n", t + 3600);
	case SILENT:
	case NTP_ECHO:
	case NTP_LATE:
	case NTP_WRONG_ORG:
		break;
	}
	return 0;
}

static void __attribute__((noreturn))
serve(enum mode mode, int tfd, int ufd)
{
	static struct ntp_seen	 ns;
	struct sockaddr_storage	 peer;
	struct pollfd		 pfd[2];
	socklen_t		 plen;
	ssize_t			 got;
	char			 buf[64], junk[64], out[2][64];
	int			 c, i, k, m, n, nout[2];

	/* Gone with the test, whatever becomes of it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm(CHILD_S);
	signal(SIGPIPE, SIG_IGN);
	if (mode == SILENT)
		for (;;)
			pause();
	pfd[0].fd = tfd;
	pfd[1].fd = ufd;
	pfd[0].events = pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, 1000) == -1 && errno != EINTR)
			_exit(1);
		if (pfd[0].revents & POLLIN) {
			c = accept4(tfd, NULL, NULL, SOCK_CLOEXEC);
			if (c != -1) {
				n = reply(mode, buf, sizeof buf);
				send(c, buf, (size_t)n, MSG_NOSIGNAL);
				close(c);
			}
		}
		/* A few datagrams per turn, so neither side starves. */
		for (i = 0; i < 8 && (pfd[1].revents & POLLIN); i++) {
			plen = sizeof peer;
			if ((got = recvfrom(ufd, junk, sizeof junk,
			    MSG_DONTWAIT, (struct sockaddr *)&peer,
			    &plen)) == -1)
				break;
			if (mode == NTP_ECHO || mode == NTP_LATE ||
			    mode == NTP_WRONG_ORG) {
				m = ntp_answer(mode, &ns, junk, got,
				    h_port_of(&peer), out, nout);
				for (k = 0; k < m; k++)
					sendto(ufd, out[k], (size_t)nout[k],
					    MSG_NOSIGNAL,
					    (struct sockaddr *)&peer, plen);
				continue;
			}
			n = reply(mode, buf, sizeof buf);
			sendto(ufd, buf, (size_t)n, MSG_NOSIGNAL,
			    (struct sockaddr *)&peer, plen);
		}
	}
}

static int
bound(int type, char *port, size_t len)
{
	struct sockaddr_in	 sin;
	socklen_t		 slen = sizeof sin;
	int			 fd;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &slen) == -1)
		bail("cannot bind a socket on 127.0.0.1");
	snprintf(port, len, "%d", ntohs(sin.sin_port));
	return fd;
}

static void
stop_children(void)
{
	int	 i;

	if (getpid() != self)
		return;
	for (i = 0; i < MAXFAKE; i++)
		if (children[i] > 0) {
			kill(children[i], SIGKILL);
			waitpid(children[i], NULL, 0);
			children[i] = 0;
		}
}

static void
fake_start(struct fake *f, enum mode mode)
{
	int	 tfd, ufd, i;

	tfd = bound(SOCK_STREAM, f->tport, sizeof f->tport);
	ufd = bound(SOCK_DGRAM, f->uport, sizeof f->uport);
	if (listen(tfd, 128) == -1)
		bail("listen failed");
	fflush(stdout);
	if ((f->pid = fork()) == -1)
		bail("fork failed");
	if (f->pid == 0)
		serve(mode, tfd, ufd);
	close(tfd);
	close(ufd);
	for (i = 0; i < MAXFAKE && children[i] > 0; i++)
		;
	if (i == MAXFAKE)
		bail("too many fake servers");
	children[i] = f->pid;
}

/* SIGTERM, a deadline, then SIGKILL: to this pid and no other. */
static void
fake_stop(struct fake *f)
{
	long long	 deadline = h_now_ms() + STOP_MS;
	struct timespec	 nap = { 0, 5000000 };
	int		 i, status;
	pid_t		 r;

	kill(f->pid, SIGTERM);
	while ((r = waitpid(f->pid, &status, WNOHANG)) == 0 &&
	    h_now_ms() < deadline)
		nanosleep(&nap, NULL);
	if (r == 0) {
		kill(f->pid, SIGKILL);
		waitpid(f->pid, &status, 0);
	}
	for (i = 0; i < MAXFAKE; i++)
		if (children[i] == f->pid)
			children[i] = 0;
}

/* Run stampbench with the NULL-terminated arguments that follow. */
static int
bench(struct h_result *r, const char *arg, ...)
{
	char		*argv[MAXARGS];
	va_list		 ap;
	int		 n = 0;

	argv[n++] = (char *)prog;
	va_start(ap, arg);
	for (; arg != NULL && n < MAXARGS - 1; arg = va_arg(ap, const char *))
		argv[n++] = (char *)arg;
	va_end(ap);
	argv[n] = NULL;
	h_run(argv, RUN_MS, r);
	if (r->status != 0 && r->status != 1 && r->status != 2)
		diag("stampbench ended with %d; stderr: %s", r->status,
		    r->err);
	return r->status;
}

/* The RESULT line of the output, copied into line; "" if none. */
static const char *
result_line(const struct h_result *r, char *line, size_t len)
{
	const char	*p, *end;

	line[0] = '\0';
	if (strncmp(r->out, "RESULT ", 7) == 0)
		p = r->out;
	else if ((p = strstr(r->out, "\nRESULT ")) != NULL)
		p++;
	else
		return line;
	if ((end = strchr(p, '\n')) == NULL)
		end = p + strlen(p);
	snprintf(line, len, "%.*s", (int)(end - p), p);
	return line;
}

/* The value of key= in a RESULT line, or -1 if it is not there. */
static double
value(const char *line, const char *key)
{
	char		 pat[32];
	const char	*p;

	snprintf(pat, sizeof pat, " %s=", key);
	if ((p = strstr(line, pat)) == NULL)
		return -1;
	return strtod(p + strlen(pat), NULL);
}

/* stampbench with opt and --io io against a port that refuses, 50 times. */
static int
fd_refused(struct h_result *r, const char *opt, const char *io)
{
	char	 port[8];
	int	 fd, st;

	fd = bound(SOCK_STREAM, port, sizeof port);
	st = bench(r, opt, "--io", io, "-n", "50", "-c", "4", "-t", "1000ms",
	    "127.0.0.1", port, NULL);
	close(fd);
	return st;
}

#define RESULT_RE \
	"^RESULT proto=[a-z]+ transport=(tcp|udp) threads=[0-9]+ " \
	"concurrency=[0-9]+ secs=[0-9]+\\.[0-9]{3} ok=[0-9]+ bad=[0-9]+ " \
	"errors=[0-9]+ rate=[0-9]+\\.[0-9] p50_us=[0-9]+ p99_us=[0-9]+ " \
	"p999_us=[0-9]+ max_us=[0-9]+ mean_us=[0-9]+ cpu_us=[0-9]+\\.[0-9]$"

/*
 * Whether this kernel gives us a ring with what stampbench needs of it;
 * if not, stampbench falls back to epoll, and --io uring is refused.
 */
static int
uring_works(void)
{
	unsigned		 need = IORING_FEAT_SINGLE_MMAP |
	    IORING_FEAT_NODROP | IORING_FEAT_EXT_ARG | IORING_FEAT_CQE_SKIP;
	struct io_uring_params	 p;
	int			 fd;

	memset(&p, 0, sizeof p);
	if ((fd = (int)syscall(__NR_io_uring_setup, 4, &p)) == -1)
		return 0;
	close(fd);
	return (p.features & need) == need;
}

/*
 * Whether the programs under test were built with liburing: the URING=
 * line of $STAMP_BUILD/build.conf, where the Makefile says what it found
 * (URING=1 or URING=).  Without STAMP_BUILD, as this test was built.
 */
static int
built_with_uring(void)
{
	const char	*dir = getenv("STAMP_BUILD");
	char		 path[4096], line[64], why[4200];
	FILE		*fp;
	int		 found = -1;

	if (dir == NULL || *dir == '\0') {
#ifdef STAMP_URING
		return 1;
#else
		return 0;
#endif
	}
	snprintf(path, sizeof path, "%s/build.conf", dir);
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(why, sizeof why, "%s: %s", path, strerror(errno));
		bail(why);
	}
	while (fgets(line, sizeof line, fp) != NULL)
		if (strncmp(line, "URING=", 6) == 0)
			found = strcmp(line + 6, "1\n") == 0;
	fclose(fp);
	if (found == -1) {
		snprintf(why, sizeof why, "%s has no URING= line", path);
		bail(why);
	}
	return found;
}

/*
 * Built without liburing, --io uring is refused by name, whatever the
 * kernel allows, and the default is epoll.
 */
static void
uring_refused(void)
{
	struct h_result	 r;
	struct fake	 f;

	fake_start(&f, STAMP);
	bench(&r, "--io", "uring", "-n", "10", "127.0.0.1", f.tport, NULL);
	is_int(r.status, 1, "built without liburing: --io uring: exit 1");
	like(r.err, "--io uring: built without io_uring", "  ... saying it "
	    "was built without io_uring");
	is_str(r.out, "", "  ... and no exchange made");
	bench(&r, "--json", "-n", "10", "127.0.0.1", f.tport, NULL);
	fake_stop(&f);
	like(r.out, "\"io\": \"epoll\"", "built without liburing: the "
	    "default is epoll");
}

/*
 * n good exchanges over TCP or UDP, two threads, eight in flight; over
 * TCP with --io io unless it is NULL.
 */
static void
good_run(const char *transport, const char *io)
{
	struct h_result	 r;
	struct fake	 f;
	char		 line[512];
	int		 udp = strcmp(transport, "udp") == 0;

	fake_start(&f, STAMP);
	if (udp)
		bench(&r, "-T", "udp", "-n", "500", "-c", "8", "-w", "2",
		    "127.0.0.1", f.uport, NULL);
	else if (io != NULL)
		bench(&r, "--io", io, "-n", "500", "-c", "8", "-w", "2",
		    "127.0.0.1", f.tport, NULL);
	else
		bench(&r, "-n", "500", "-c", "8", "-w", "2", "127.0.0.1",
		    f.tport, NULL);
	fake_stop(&f);
	if (io != NULL)
		note("  ... the same with --io %s", io);
	is_int(r.status, 0, "%s: 500 good exchanges: exit 0", transport);
	result_line(&r, line, sizeof line);
	like(line, RESULT_RE, "%s: the RESULT line has its shape", transport);
	like(line, udp ? "proto=stamp transport=udp threads=2 concurrency=8 " :
	    "proto=stamp transport=tcp threads=2 concurrency=8 ",
	    "%s: RESULT names protocol, transport, threads, concurrency",
	    transport);
	is_int((long long)value(line, "ok"), 500, "%s: ok=500", transport);
	is_int((long long)value(line, "bad"), 0, "%s: bad=0", transport);
	is_int((long long)value(line, "errors"), 0, "%s: errors=0",
	    transport);
	ok(value(line, "p50_us") <= value(line, "p99_us") &&
	    value(line, "p99_us") <= value(line, "p999_us") &&
	    value(line, "p999_us") <= value(line, "max_us"),
	    "%s: p50 <= p99 <= p99.9 <= max", transport);
	ok(value(line, "rate") > 0, "%s: the rate is positive", transport);
	like(r.out, "^stampbench: 127\\.0\\.0\\.1:[0-9]+ stamp/", "%s: the "
	    "summary starts with the address", transport);
	like(r.out, "exchanges  500 ok, 0 bad, 0 errors \\(refused 0, "
	    "timeout 0, reset 0, other 0\\)", "%s: the summary counts them",
	    transport);
	like(r.out, "latency    p50 [0-9.]+ ms  p99 ", "%s: the summary "
	    "shows the latency", transport);
}

/* Run json_check over r's output; its verdict into v. */
static void
json_verdict(const struct h_result *r, long long nok, long long nerr,
    struct h_result *v)
{
	char	 sok[24], serr[24];
	char	*argv[] = { "/usr/bin/python3", "-c", (char *)json_check,
	    (char *)r->out, sok, serr, NULL };

	snprintf(sok, sizeof sok, "%lld", nok);
	snprintf(serr, sizeof serr, "%lld", nerr);
	h_run(argv, RUN_MS, v);
	if (strncmp(v->out, "valid ", 6) != 0)
		diag("json_check: %s%s", v->out, v->err);
}

/*
 * --json: one object, nothing else, that Python parses, with counts that
 * add up; the same run's figures as the RESULT line would have them.
 */
static void
json_run(const char *io)
{
	struct h_result	 r, v;
	struct fake	 f;

	fake_start(&f, STAMP);
	bench(&r, "--json", "--io", io, "-n", "500", "-c", "8", "-w", "2",
	    "127.0.0.1", f.tport, NULL);
	fake_stop(&f);
	is_int(r.status, 0, "--json --io %s: exit 0", io);
	like(r.out, "^\\{\n", "--json: the object starts the output");
	like(r.out, "\n}\n$", "--json: and ends it");
	ok(strstr(r.out, "RESULT") == NULL, "--json: no RESULT line");
	like(r.out, "\"io\": \"", "--json: names its io");
	json_verdict(&r, 500, 0, &v);
	like(v.out, "^valid 500 0 [1-9][0-9]*\n$", "--json --io %s: Python "
	    "parses it; 500 ok, buckets sum to 500, percentiles in order",
	    io);

	/* Refused: counted by kind, and no latency at all. */
	fd_refused(&r, "--json", io);
	is_int(r.status, 1, "--json, refused: exit 1");
	json_verdict(&r, 0, 50, &v);
	is_str(v.out, "valid 0 50 0\n", "--json --io %s, refused: 50 errors,"
	    " latency null, no buckets", io);
	like(r.out, "\"refused\": 50", "--json, refused: each counted as "
	    "refused");
}

/*
 * --histogram: a line per bucket, 4 an octave, each starting where the
 * one before ends; the counts sum to the good exchanges, the last
 * cumulative share is 100%.
 */
static void
histogram_run(void)
{
	struct h_result		 r;
	struct fake		 f;
	const char		*p;
	unsigned long long	 lo, hi, n, sum = 0, prev_hi = 0;
	double			 share, cum = 0;
	int			 lines = 0, ordered = 1, bars = 1;

	fake_start(&f, STAMP);
	bench(&r, "--histogram", "-n", "500", "-c", "8", "127.0.0.1",
	    f.tport, NULL);
	fake_stop(&f);
	is_int(r.status, 0, "--histogram: exit 0");
	like(r.out, "latency    p50 ", "--histogram: the summary stays");
	like(r.out, "\n  histogram  microseconds from, to \\(excluded\\), "
	    "count, share, cumulative\n", "--histogram: its header");
	like(r.out, "\nRESULT proto=stamp ", "--histogram: the RESULT line "
	    "stays, last");
	p = strstr(r.out, "  histogram  ");
	while (p != NULL && (p = strchr(p, '\n')) != NULL &&
	    sscanf(++p, " %llu %llu %llu %lf%% %lf%%", &lo, &hi, &n, &share,
	    &cum) == 5) {
		if (lo >= hi || (lines > 0 && lo != prev_hi))
			ordered = 0;
		/* A bucket that holds any has a bar of at least one #. */
		if (n > 0 && strcspn(p, "#\n") == strcspn(p, "\n"))
			bars = 0;
		prev_hi = hi;
		sum += n;
		lines++;
	}
	ok(lines > 0, "--histogram: %d buckets", lines);
	ok(ordered, "--histogram: each bucket starts where the last ended");
	ok(bars, "--histogram: every bucket that holds any has a bar");
	is_int((long long)sum, 500, "--histogram: the counts sum to ok");
	ok(cum > 99.99 && cum < 100.01, "--histogram: the last cumulative "
	    "share is 100%% (%.2f)", cum);

	fd_refused(&r, "--histogram", "epoll");
	like(r.out, "\n  histogram  no good replies\n", "--histogram, "
	    "refused: no good replies");
}

/* Replies stampbench must count as bad, never as good. */
static void
bad_run(enum mode mode, const char *transport, const char *name,
    const char *why)
{
	struct h_result	 r;
	struct fake	 f;
	char		 line[512];
	int		 udp = strcmp(transport, "udp") == 0;

	fake_start(&f, mode);
	bench(&r, "-q", udp ? "-u" : "-4", "-n", "50", "-c", "4",
	    "127.0.0.1", udp ? f.uport : f.tport, NULL);
	fake_stop(&f);
	is_int(r.status, 1, "%s %s: exit 1", name, transport);
	result_line(&r, line, sizeof line);
	is_int((long long)value(line, "ok"), 0, "%s %s: ok=0", name,
	    transport);
	is_int((long long)value(line, "bad"), 50, "%s %s: bad=50", name,
	    transport);
	is_int((long long)value(line, "errors"), 0, "%s %s: errors=0", name,
	    transport);

	/* The summary says what was wrong with them. */
	fake_start(&f, mode);
	bench(&r, udp ? "-u" : "-4", "-n", "5", "-c", "1", "127.0.0.1",
	    udp ? f.uport : f.tport, NULL);
	fake_stop(&f);
	like(r.out, why, "%s %s: the summary says why", name, transport);
}

/* A port bound but not listening refuses every connection. */
static void
refused_run(const char *io)
{
	struct h_result	 r;
	char		 port[8], line[512];
	long long	 t0;
	int		 fd;

	note("refused, --io %s", io);
	fd = bound(SOCK_STREAM, port, sizeof port);
	t0 = h_now_ms();
	bench(&r, "--io", io, "-n", "200", "-c", "8", "-w", "2", "-t", "1000ms",
	    "127.0.0.1", port, NULL);
	close(fd);
	ok(r.status != -1, "refused: it ends by itself (in %lld ms)",
	    h_now_ms() - t0);
	is_int(r.status, 1, "refused: exit 1");
	result_line(&r, line, sizeof line);
	is_int((long long)value(line, "ok"), 0, "refused: ok=0");
	is_int((long long)value(line, "errors"), 200, "refused: errors=200");
	like(r.out, "\\(refused 200, timeout 0, reset 0, other 0\\)",
	    "refused: each error counted as refused");
	like(r.out, "latency    no good replies", "refused: no latency");
}

/*
 * Silence: every exchange ends at -T, and the run ends.  Over TCP the
 * connections are made (the kernel accepts them into the queue) and the
 * reads are what time out: the ring's are cancelled.
 */
static void
silent_run(const char *transport, const char *io)
{
	struct h_result	 r;
	struct fake	 f;
	char		 line[512];
	int		 udp = strcmp(transport, "udp") == 0;

	note("silent %s, --io %s", transport, io);
	fake_start(&f, SILENT);
	bench(&r, udp ? "-u" : "-4", "--io", io, "-n", "16", "-c", "8", "-w",
	    "2", "-t", "100ms", "127.0.0.1", udp ? f.uport : f.tport, NULL);
	fake_stop(&f);
	is_int(r.status, 1, "silent %s: exit 1", transport);
	result_line(&r, line, sizeof line);
	is_int((long long)value(line, "errors"), 16, "silent %s: errors=16",
	    transport);
	like(r.out, "\\(refused 0, timeout 16, reset 0, other 0\\)",
	    "silent %s: each error counted as a timeout", transport);
}

static void
duration_run(void)
{
	struct h_result	 r;
	struct fake	 f;
	char		 line[512];

	fake_start(&f, STAMP);
	bench(&r, "-q", "-d", "0.5", "-c", "4", "127.0.0.1", f.tport, NULL);
	fake_stop(&f);
	is_int(r.status, 0, "-d 0.5: exit 0");
	result_line(&r, line, sizeof line);
	like(line, RESULT_RE, "-d 0.5: the RESULT line has its shape");
	ok(value(line, "secs") >= 0.5, "-d 0.5: it ran at least 0.5 s "
	    "(secs=%.3f)", value(line, "secs"));
	ok(value(line, "ok") > 0, "-d 0.5: some exchanges");
	is_int((long long)(value(line, "bad") + value(line, "errors")), 0,
	    "-d 0.5: no bad replies, no errors");
	ok(strchr(r.out, '\n') == r.out + strlen(r.out) - 1,
	    "-q: the RESULT line alone");
}

static void
other_protos(void)
{
	struct h_result	 r;
	struct fake	 f;
	char		 line[512];

	fake_start(&f, MSEC);
	bench(&r, "-q", "-P", "msec", "-n", "100", "-c", "4", "127.0.0.1",
	    f.tport, NULL);
	is_int(r.status, 0, "msec: exit 0");
	result_line(&r, line, sizeof line);
	like(line, "^RESULT proto=msec transport=tcp ", "msec: RESULT says "
	    "msec");
	is_int((long long)value(line, "ok"), 100, "msec: ok=100");
	bench(&r, "-q", "-T", "udp", "-P", "msec", "-n", "100", "-c", "4",
	    "127.0.0.1", f.uport, NULL);
	is_int((long long)value(result_line(&r, line, sizeof line), "ok"),
	    100, "msec over UDP: ok=100");
	/* A msec line is no stamp reply. */
	bench(&r, "-q", "-n", "20", "127.0.0.1", f.tport, NULL);
	is_int((long long)value(result_line(&r, line, sizeof line), "bad"),
	    20, "msec line read as stamp: bad=20");
	fake_stop(&f);

	fake_start(&f, TIME32);
	bench(&r, "-q", "-T", "udp", "-P", "time", "-n", "100", "-c", "4",
	    "127.0.0.1", f.uport, NULL);
	is_int(r.status, 0, "time over UDP: exit 0");
	is_int((long long)value(result_line(&r, line, sizeof line), "ok"),
	    100, "time over UDP: ok=100");
	bench(&r, "-q", "-P", "time", "-n", "100", "-c", "4", "--spread",
	    "0", "127.0.0.1", f.tport, NULL);
	is_int((long long)value(result_line(&r, line, sizeof line), "ok"),
	    100, "time over TCP, --spread 0: ok=100");
	fake_stop(&f);
}

/*
 * -P ntp, over UDP without -u: stampd's NTP (--local-stratum 8, so that
 * its replies are a synchronized server's) answers every request; its
 * stamp listener answers with lines that are no NTP, each a bad reply.
 */
static void
ntp_stampd(void)
{
	static const char *const args[] = { "--local-stratum", "8",
	    "-l", "udp:127.0.0.1:0/ntp", "-l", "udp:127.0.0.1:0/stamp", NULL };
	const struct h_listener	*ntp, *stamp;
	struct h_daemon		 d;
	struct h_result		 r, v;
	char			 line[512], port[8];

	if (h_daemon_start(&d, 2, args) == -1) {
		ok(0, "ntp: stampd starts with an ntp listener");
		return;
	}
	ntp = h_daemon_find(&d, "udp", "ntp");
	stamp = h_daemon_find(&d, "udp", "stamp");
	if (ntp == NULL || stamp == NULL) {
		ok(0, "ntp: stampd lists its ntp and stamp listeners");
		h_daemon_stop(&d);
		return;
	}
	snprintf(port, sizeof port, "%d", ntp->port);
	bench(&r, "-P", "ntp", "-n", "2000", "-c", "16", "-w", "2",
	    "127.0.0.1", port, NULL);
	is_int(r.status, 0, "ntp, stampd: exit 0");
	result_line(&r, line, sizeof line);
	like(line, RESULT_RE, "ntp, stampd: the RESULT line has its shape");
	like(line, "^RESULT proto=ntp transport=udp threads=2 ", "ntp: "
	    "over UDP without -u");
	is_int((long long)value(line, "ok"), 2000, "ntp, stampd: ok=2000");
	is_int((long long)value(line, "bad"), 0, "ntp, stampd: bad=0");
	is_int((long long)value(line, "errors"), 0, "ntp, stampd: errors=0");
	like(r.out, "^stampbench: 127\\.0\\.0\\.1:[0-9]+ ntp/udp, ",
	    "ntp, stampd: the summary names ntp/udp");

	bench(&r, "--json", "-T", "udp", "-P", "ntp", "-n", "500", "-c", "8",
	    "127.0.0.1", port, NULL);
	json_verdict(&r, 500, 0, &v);
	like(v.out, "^valid 500 0 [1-9][0-9]*\n$", "ntp, stampd, --json: "
	    "500 ok, and the figures add up");
	like(r.out, "\"proto\": \"ntp\", \"transport\": \"udp\"",
	    "ntp, --json: names ntp over udp");

	snprintf(port, sizeof port, "%d", stamp->port);
	bench(&r, "-q", "-P", "ntp", "-n", "50", "-c", "4", "127.0.0.1",
	    port, NULL);
	is_int(r.status, 1, "ntp, a stamp listener: exit 1");
	result_line(&r, line, sizeof line);
	is_int((long long)value(line, "ok"), 0, "ntp, a stamp listener: "
	    "ok=0");
	is_int((long long)value(line, "bad"), 50, "ntp, a stamp listener: "
	    "bad=50");
	bench(&r, "-P", "ntp", "-n", "5", "-c", "1", "127.0.0.1", port,
	    NULL);
	like(r.out, "first bad  shorter than an NTP header", "ntp, a stamp "
	    "listener: the summary says why");
	is_int(h_daemon_stop(&d), 0, "ntp: stampd stops cleanly");
}

/*
 * -P ntp against fakes: no transmit timestamp is sent twice, even from
 * two threads; a late reply to a slot's request before is dropped, not
 * taken for the answer; a reply whose origin is not ours is bad.
 */
static void
ntp_fakes(void)
{
	struct h_result	 r;
	struct fake	 f;
	char		 line[512];

	fake_start(&f, NTP_ECHO);
	bench(&r, "-q", "-P", "ntp", "-n", "3000", "-c", "8", "-w", "2",
	    "127.0.0.1", f.uport, NULL);
	fake_stop(&f);
	result_line(&r, line, sizeof line);
	is_int((long long)value(line, "ok"), 3000, "ntp: 3000 requests, "
	    "every transmit timestamp a new one (a repeat is answered "
	    "with mode 3)");
	is_int((long long)value(line, "bad"), 0, "ntp: no repeat, bad=0");

	fake_start(&f, NTP_LATE);
	bench(&r, "-q", "-P", "ntp", "-n", "500", "-c", "4", "127.0.0.1",
	    f.uport, NULL);
	fake_stop(&f);
	is_int(r.status, 0, "ntp, each reply after a late one to the "
	    "request before: exit 0");
	result_line(&r, line, sizeof line);
	is_int((long long)value(line, "ok"), 500, "ntp, late replies "
	    "dropped: ok=500");

	fake_start(&f, NTP_WRONG_ORG);
	bench(&r, "-q", "-P", "ntp", "-n", "50", "-c", "4", "127.0.0.1",
	    f.uport, NULL);
	is_int(r.status, 1, "ntp, an origin not ours: exit 1");
	result_line(&r, line, sizeof line);
	is_int((long long)value(line, "bad"), 50, "ntp, an origin not "
	    "ours: bad=50");
	bench(&r, "-P", "ntp", "-n", "5", "-c", "1", "127.0.0.1", f.uport,
	    NULL);
	fake_stop(&f);
	like(r.out, "first bad  origin timestamp is not our transmit",
	    "ntp, an origin not ours: the summary says why");
}

static void
usage_errors(void)
{
	static const char *const cases[][6] = {
		{ "-c", "0" },
		{ "-c", "65537" },
		{ "-c", "8x" },
		{ "-n", "0" },
		{ "-n", "-5" },
		{ "-n", "10", "-d", "1" },
		{ "-d", "0" },
		{ "-d", "1e3" },
		{ "-t", "0" },
		{ "-t", "257" },
		{ "-T", "0" },
		{ "-T", "sctp" },
		{ "-t", "2x" },
		{ "-t", "0ms" },
		{ "-d", "5x" },
		{ "-T", "tcp", "-P", "ntp" },
		{ "-p", "1", "127.0.0.1", "2" },
		{ "-P", "nope" },
		{ "--spread", "65535" },
		{ "--io", "poll" },
		{ "--io" },
		{ "--bogus" },
		{ "127.0.0.1", "0" },
		{ "127.0.0.1", "65536" },
		{ "127.0.0.1", "1937", "extra" },
	};
	struct h_result	 r;
	char		 name[128];
	size_t		 i, k, n;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		name[0] = '\0';
		for (k = 0; k < 5 && cases[i][k] != NULL; k++) {
			n = strlen(name);
			snprintf(name + n, sizeof name - n, "%s%s",
			    k == 0 ? "" : " ", cases[i][k]);
		}
		bench(&r, cases[i][0], cases[i][1], cases[i][2], cases[i][3],
		    cases[i][4], NULL);
		is_int(r.status, 2, "usage error: %s: exit 2", name);
		like(r.err, "usage: stampbench ", "  ... with the usage on "
		    "stderr");
		is_str(r.out, "", "  ... and nothing on stdout");
	}
	bench(&r, "--help", NULL);
	is_int(r.status, 0, "--help: exit 0");
	like(r.out, "^usage: stampbench \\[-46hqV\\]", "--help: usage on "
	    "stdout");
	like(r.out, "--spread N", "--help: lists the options");
	bench(&r, "-V", NULL);
	is_int(r.status, 0, "-V: exit 0");
	like(r.out, "^stampbench [0-9]+\\.[0-9]+", "-V: the version");
}

int
main(void)
{
	prog = h_prog("STAMPBENCH");
	self = getpid();
	atexit(stop_children);
	signal(SIGPIPE, SIG_IGN);

	have_uring = built_with_uring() && uring_works();
	good_run("tcp", NULL);
	good_run("tcp", "epoll");
	good_run("udp", NULL);
	bad_run(GARBAGE, "tcp", "garbage", "first bad  not a number");
	bad_run(GARBAGE, "udp", "garbage", "first bad  not a number");
	bad_run(SKEW, "tcp", "an hour ahead", "first bad  time more than "
	    "5 s away");
	refused_run("epoll");
	silent_run("tcp", "epoll");
	silent_run("udp", "epoll");
	json_run("epoll");
	if (have_uring) {
		good_run("tcp", "uring");
		refused_run("uring");
		silent_run("tcp", "uring");
		json_run("uring");
	} else if (!built_with_uring())
		uring_refused();
	else
		skip("io_uring: this kernel does not let us have a ring");
	histogram_run();
	duration_run();
	other_protos();
	ntp_stampd();
	ntp_fakes();
	usage_errors();
	return done_testing();
}
