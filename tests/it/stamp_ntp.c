/*
 * stamp_ntp.c: stamp -P ntp's failures, against UDP peers made here.
 *
 * Each case binds a UDP socket on loopback port 0 and forks a peer that
 * reads stamp's requests, says what it got on a pipe, and answers each
 * with the wrong reply the case chose (or nothing).  stamp must exit 1 for
 * no answer, a refusal, a Kiss-o'-Death or an unsynchronized server, and 3
 * for a reply that is not a server's answer to it.  The replies are built
 * here by hand, not with ntp.c, so that the client's checks meet an
 * independent encoding.  Its good answers are left to stampd's own NTP
 * (and chronyd) in the tests of the daemon: no responder here stands in
 * for a real server.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
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

#define CHILD_MS	((int)h_ms(20000))
#define RUN_MS		((int)h_ms(20000))
#define EPOCH_1900	2208988800LL
#define REQ_LEN		48

enum answer {
	SILENT,		/* read, never answer */
	MODE3,		/* our request back, origin set: a reflection */
	MODE5,		/* a broadcast, origin set */
	WRONG_ORG,	/* mode 4, an origin that is not ours */
	ZERO_ORG,	/* mode 4, origin 0 */
	SHORT,		/* 47 bytes of a good reply */
	LONG,		/* a good reply in 600 bytes */
	NO_XMT,		/* mode 4, origin right, transmit 0 */
	KOD,		/* a KoD RATE, as ntpd sends it */
	UNSYNC,		/* LI 3, stratum 0, as an unsynchronized chronyd */
};

struct peer {
	pid_t	 pid;
	int	 rd;		/* what the peer got: its requests */
	char	 port[8];
};

/* What the peer tells about one request. */
struct seen {
	uint32_t	 len;
	unsigned char	 head[REQ_LEN];
};

static void
put32(unsigned char *b, uint32_t v)
{
	b[0] = (unsigned char)(v >> 24);
	b[1] = (unsigned char)(v >> 16);
	b[2] = (unsigned char)(v >> 8);
	b[3] = (unsigned char)v;
}

/* The current time in NTP's format, for the peer's own timestamps. */
static void
put_now(unsigned char *b)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	put32(b, (uint32_t)(ts.tv_sec + EPOCH_1900));
	put32(b + 4, (uint32_t)(((uint64_t)ts.tv_nsec << 32) / 1000000000U));
}

/* The reply of kind a to the request req (REQ_LEN bytes); its length. */
static size_t
answer(enum answer a, const unsigned char *req, unsigned char *out)
{
	memset(out, 0, 600);
	/* LI 0, version 4, mode 4; stratum 2; refid 192.0.2.1. */
	out[0] = 0x24;
	out[1] = 2;
	out[3] = 0xe9;
	put32(out + 12, 0xc0000201);
	memcpy(out + 24, req + 40, 8);		/* origin: their transmit */
	put_now(out + 16);
	put_now(out + 32);
	put_now(out + 40);
	switch (a) {
	case MODE3:
		memcpy(out, req, REQ_LEN);
		memcpy(out + 24, req + 40, 8);
		break;
	case MODE5:
		out[0] = 0x25;
		break;
	case WRONG_ORG:
		out[31] ^= 1;
		break;
	case ZERO_ORG:
		memset(out + 24, 0, 8);
		break;
	case SHORT:
		return 47;
	case LONG:
		return 600;
	case NO_XMT:
		memset(out + 40, 0, 8);
		break;
	case KOD:
		/* ntpd's: every timestamp the client's transmit. */
		out[0] = 0xe4;
		out[1] = 0;
		out[2] = 6;
		memcpy(out + 12, "RATE", 4);
		memset(out + 16, 0, 8);
		memcpy(out + 32, req + 40, 8);
		memcpy(out + 40, req + 40, 8);
		break;
	case UNSYNC:
		out[0] = 0xe4;
		out[1] = 0;
		memset(out + 12, 0, 12);
		break;
	case SILENT:
		break;
	}
	return REQ_LEN;
}

static void
peer_serve(int fd, int wr, enum answer a)
{
	struct sockaddr_storage	 from;
	struct pollfd		 pfd;
	struct seen		 s;
	socklen_t		 flen;
	unsigned char		 req[2048], out[600];
	long long		 deadline, left;
	ssize_t			 n;
	size_t			 len;

	deadline = h_now_ms() + CHILD_MS;
	alarm(CHILD_MS / 1000 + 5);
	while ((left = deadline - h_now_ms()) > 0) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		flen = sizeof from;
		if ((n = recvfrom(fd, req, sizeof req, 0,
		    (struct sockaddr *)&from, &flen)) == -1)
			continue;
		memset(&s, 0, sizeof s);
		s.len = (uint32_t)n;
		memcpy(s.head, req, (size_t)n < REQ_LEN ? (size_t)n : REQ_LEN);
		if (write(wr, &s, sizeof s) != (ssize_t)sizeof s)
			_exit(1);
		if (a == SILENT || n < REQ_LEN)
			continue;
		len = answer(a, req, out);
		sendto(fd, out, len, MSG_NOSIGNAL, (struct sockaddr *)&from,
		    flen);
	}
	_exit(0);
}

static int
peer_start(struct peer *p, enum answer a)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof sin;
	int			 fd, pipefd[2];

	memset(p, 0, sizeof *p);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&sin, len) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1 ||
	    pipe2(pipefd, O_CLOEXEC) == -1) {
		close(fd);
		return -1;
	}
	snprintf(p->port, sizeof p->port, "%d", ntohs(sin.sin_port));
	fflush(stdout);
	if ((p->pid = fork()) == -1) {
		close(fd);
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (p->pid == 0) {
		close(pipefd[0]);
		peer_serve(fd, pipefd[1], a);
	}
	close(fd);
	close(pipefd[1]);
	p->rd = pipefd[0];
	return 0;
}

/*
 * Stop the peer and return how many requests it got, the first into
 * *first.  stamp may exit before the peer has read the last of them, so
 * first wait (a bounded while) until it has told of want.
 */
static int
peer_stop(struct peer *p, int want, struct seen *first)
{
	struct pollfd	 pfd;
	struct seen	 s;
	long long	 deadline = h_now_ms() + H_SETTLE_MS, left;
	int		 n = 0;

	pfd.fd = p->rd;
	pfd.events = POLLIN;
	while (n < want && (left = deadline - h_now_ms()) > 0 &&
	    poll(&pfd, 1, (int)left) == 1 &&
	    read(p->rd, &s, sizeof s) == (ssize_t)sizeof s)
		if (n++ == 0 && first != NULL)
			*first = s;
	kill(p->pid, SIGKILL);
	while (waitpid(p->pid, NULL, 0) == -1 && errno == EINTR)
		;
	/* The peer is gone and its end closed: this read ends. */
	while (read(p->rd, &s, sizeof s) == (ssize_t)sizeof s)
		if (n++ == 0 && first != NULL)
			*first = s;
	close(p->rd);
	return n;
}

/* A reply of kind a makes stamp exit status and say reason. */
static void
refused(enum answer a, int status, const char *reason, const char *what)
{
	struct h_result	 r;
	struct peer	 p;
	char		 re[256];

	if (peer_start(&p, a) == -1) {
		ok(0, "%s: peer: %s", what, strerror(errno));
		return;
	}
	h_stamp(RUN_MS, &r, "-P", "ntp", "-p", p.port, "-t", "5", "127.0.0.1", NULL);
	peer_stop(&p, 0, NULL);
	is_int(r.status, status, "%s: exit %d", what, status);
	snprintf(re, sizeof re, "^stamp: 127\\.0\\.0\\.1:%s: %s\n$", p.port,
	    reason);
	like(r.err, re, "%s: says why", what);
	is_str(r.out, "", "%s: prints no time", what);
}

static void
malformed(void)
{
	refused(MODE3, 3, "malformed ntp reply: not a server's reply "
	    "\\(mode is not 4\\)", "our request reflected (mode 3)");
	refused(MODE5, 3, "malformed ntp reply: not a server's reply "
	    "\\(mode is not 4\\)", "a broadcast (mode 5)");
	refused(WRONG_ORG, 3, "malformed ntp reply: origin timestamp is not "
	    "our transmit timestamp", "an origin one bit off");
	refused(ZERO_ORG, 3, "malformed ntp reply: origin timestamp is not "
	    "our transmit timestamp", "origin 0");
	refused(SHORT, 3, "malformed ntp reply: shorter than an NTP header",
	    "47 bytes");
	refused(LONG, 3, "malformed ntp reply: reply too long", "600 bytes");
	refused(NO_XMT, 3, "malformed ntp reply: no receive or transmit "
	    "timestamp", "transmit timestamp 0");
}

static void
unsynchronized(void)
{
	struct h_result	 r;
	struct peer	 p;

	refused(KOD, 1, "kiss-o'-death RATE: the server asks to be asked "
	    "less often", "a KoD RATE");
	refused(UNSYNC, 1, "server unsynchronized \\(leap 3, stratum 0\\): "
	    ".*--unsynced.*", "LI 3, stratum 0");

	/* --unsynced takes an unsynchronized server's time, not a kiss. */
	if (peer_start(&p, KOD) == -1) {
		ok(0, "KoD --unsynced: peer: %s", strerror(errno));
		return;
	}
	h_stamp(RUN_MS, &r, "-P", "ntp", "--unsynced", "127.0.0.1", p.port, NULL);
	peer_stop(&p, 0, NULL);
	is_int(r.status, 1, "a KoD with --unsynced: exit 1 all the same");
	like(r.err, "kiss-o'-death RATE", "a KoD with --unsynced: says so");
}

/* Silence: every try sent, a 48-byte mode 3 request, and exit 1 in -t. */
static void
silence(void)
{
	struct h_result	 r;
	struct peer	 p;
	struct seen	 s;
	uint64_t	 xmt;
	long long	 now, sec;
	int		 n;

	if (peer_start(&p, SILENT) == -1) {
		ok(0, "silent peer: %s", strerror(errno));
		return;
	}
	/* The deadline of h_run is far past -t: a hang shows as -1. */
	h_stamp(RUN_MS, &r, "-P", "ntp", "-t", "1", "-r", "2", "-p", p.port,
	    "127.0.0.1", NULL);
	n = peer_stop(&p, 3, &s);
	now = time(NULL);
	is_int(r.status, 1, "no answer: exit 1 within -t");
	like(r.err, "^stamp: 127\\.0\\.0\\.1:[0-9]+: timed out after 1s\n$",
	    "no answer: says it timed out");
	is_int(n, 3, "no answer: the request and -r 2 retries were sent");
	is_int(s.len, 48, "the request is 48 bytes");
	is_int(s.head[0], 0x23, "LI 0, version 4, mode 3");
	xmt = (uint64_t)s.head[40] << 56 | (uint64_t)s.head[41] << 48 |
	    (uint64_t)s.head[42] << 40 | (uint64_t)s.head[43] << 32;
	sec = (long long)(xmt >> 32) - EPOCH_1900;
	ok(sec > now - H_SLACK && sec <= now,
	    "its transmit timestamp is our clock's (%lld, now %lld)", sec,
	    now);
}

static void
no_server(void)
{
	struct h_result	 r;
	struct peer	 p;

	/* A port just bound and closed: the kernel answers unreachable. */
	if (peer_start(&p, SILENT) == -1) {
		ok(0, "closed port: %s", strerror(errno));
		return;
	}
	peer_stop(&p, 0, NULL);
	h_stamp(RUN_MS, &r, "-P", "ntp", "-p", p.port, "127.0.0.1", NULL);
	is_int(r.status, 1, "closed port: exit 1");
	like(r.err, "^stamp: 127\\.0\\.0\\.1:[0-9]+: Connection refused\n$",
	    "closed port: refused");
}

static void
usage_errors(void)
{
	static const struct {
		const char	*args[4];
		const char	*says;
	} tab[] = {
		{ { "--unsynced", NULL }, "--unsynced goes with -P ntp" },
		{ { "-P", "time", "--unsynced", NULL },
		    "--unsynced goes with -P ntp" },
		{ { "-P", "ntp", "-l", "udp:0.0.0.0:0" }, "stampd announces no "
		    "NTP" },
		{ { "-P", "NTP", NULL }, "want stamp, time, daytime, ntp or "
		    "nts" },
		{ { "-P", "ntp", "--ca", "ca.pem" }, "--ca goes with -P nts" },
		{ { "-P", "ntp", "-p", "0" }, "port" },
	};
	struct h_result	 r;
	size_t		 i;

	for (i = 0; i < sizeof tab / sizeof tab[0]; i++) {
		h_stamp(RUN_MS, &r, tab[i].args[0], tab[i].args[1], tab[i].args[2],
		    tab[i].args[3], NULL);
		is_int(r.status, 2, "usage error %zu: exit 2", i);
		like(r.err, tab[i].says, "usage error %zu: says why", i);
	}
	h_stamp(RUN_MS, &r, "--help", NULL);
	like(r.out, "--unsynced", "--help tells of --unsynced");
	like(r.out, "ntp", "--help tells of ntp");
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	usage_errors();
	no_server();
	silence();
	malformed();
	unsynchronized();
	return done_testing();
}
