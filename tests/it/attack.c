/*
 * attack.c: the UDP and limit promises, tried the way an attacker would.
 *
 * Forged sources are written with raw sockets on loopback (root only, as
 * CI runs): an IPv6 datagram claiming a v4-mapped source, a datagram that
 * names one stampd's port as its source and goes to another, or an echo
 * service's.  The rest are plain sockets bound to many addresses of
 * 127.0.0.0/8.  Each case prints what it counted: replies sent in a loop,
 * replies one source got against its bound.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "tap.h"

#define MAXMODELS	16
#define QUIET_MS	((int)h_ms(700))	/* a reply not sent, waited for */
#define LOOP_MS		1500		/* a loop must die out within */
#define UDPRATE		3
#define NHELPERS	200
#define NHOLDERS	32	/* each served after --delay 20 by iterative */
#define HOLD_LINGER	"10000"

static char	 models[MAXMODELS][32];
static int	 nmodels;

static socklen_t
v4(const char *a, int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof *ss);
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	inet_pton(AF_INET, a, &sin->sin_addr);
	return sizeof *sin;
}

/* A UDP socket bound to addr:port (0: any port); -1 on failure. */
static int
udp_bound(const char *addr, int port)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = v4(addr, port, &ss);
	int			 fd;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&ss, len) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
port_of(int fd)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof ss;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static uint16_t
csum(const void *p, size_t len, uint32_t sum)
{
	const uint8_t	*b = p;

	for (; len > 1; b += 2, len -= 2)
		sum += (uint32_t)(b[0] << 8 | b[1]);
	if (len == 1)
		sum += (uint32_t)(b[0] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* A datagram from src:sport to 127.0.0.1:dport, written whole. */
static int
forge4(const char *src, int sport, int dport, const char *data, size_t n)
{
	struct sockaddr_storage	 to;
	unsigned char		 pkt[128];
	struct ip		*ip = (struct ip *)pkt;
	struct udphdr		*uh = (struct udphdr *)(ip + 1);
	socklen_t		 len = v4("127.0.0.1", dport, &to);
	int			 fd, r;

	memset(pkt, 0, sizeof pkt);
	ip->ip_v = 4;
	ip->ip_hl = 5;
	ip->ip_ttl = 64;
	ip->ip_p = IPPROTO_UDP;
	ip->ip_len = htons((uint16_t)(sizeof *ip + sizeof *uh + n));
	inet_pton(AF_INET, src, &ip->ip_src);
	inet_pton(AF_INET, "127.0.0.1", &ip->ip_dst);
	uh->uh_sport = htons(sport);
	uh->uh_dport = htons(dport);
	uh->uh_ulen = htons((uint16_t)(sizeof *uh + n));
	memcpy(uh + 1, data, n);
	if ((fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW)) == -1)
		return -1;
	r = sendto(fd, pkt, sizeof *ip + sizeof *uh + n, 0,
	    (struct sockaddr *)&to, len) > 0 ? 0 : -1;
	close(fd);
	return r;
}

/*
 * An IPv6 datagram to [::1]:dport whose source claims to be
 * ::ffff:127.0.0.1:sport: what a remote host can put on the wire.
 */
static int
forge6_mapped(int sport, int dport)
{
	struct sockaddr_in6	 to;
	unsigned char		 pkt[48], pseudo[40];
	struct in6_addr		 src, dst;
	struct udphdr		 uh;
	uint32_t		 flow = htonl(6U << 28);
	uint16_t		 plen = htons(sizeof uh), sum;
	int			 fd, r;

	inet_pton(AF_INET6, "::ffff:127.0.0.1", &src);
	inet_pton(AF_INET6, "::1", &dst);
	memset(&uh, 0, sizeof uh);
	uh.uh_sport = htons(sport);
	uh.uh_dport = htons(dport);
	uh.uh_ulen = plen;
	memset(pseudo, 0, sizeof pseudo);
	memcpy(pseudo, &src, 16);
	memcpy(pseudo + 16, &dst, 16);
	pseudo[35] = sizeof uh;
	pseudo[39] = IPPROTO_UDP;
	sum = csum(&uh, sizeof uh, csum(pseudo, sizeof pseudo, 0));
	uh.uh_sum = htons((uint16_t)~sum);
	memcpy(pkt, &flow, 4);
	memcpy(pkt + 4, &plen, 2);
	pkt[6] = IPPROTO_UDP;
	pkt[7] = 64;
	memcpy(pkt + 8, &src, 16);
	memcpy(pkt + 24, &dst, 16);
	memcpy(pkt + 40, &uh, sizeof uh);
	memset(&to, 0, sizeof to);
	to.sin6_family = AF_INET6;
	to.sin6_addr = dst;
	if ((fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW)) ==
	    -1)
		return -1;
	r = sendto(fd, pkt, sizeof pkt, 0, (struct sockaddr *)&to,
	    sizeof to) == (ssize_t)sizeof pkt ? 0 : -1;
	close(fd);
	return r;
}

/* Whether fd receives anything within ms. */
static int
hears(int fd, int ms)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	char		 buf[128];

	if (poll(&pfd, 1, ms) != 1)
		return 0;
	return recv(fd, buf, sizeof buf, MSG_DONTWAIT) >= 0;
}

static int
start(struct h_daemon *d, int nlisten, const char *const args[])
{
	if (h_daemon_start(d, nlisten, args) == -1) {
		ok(0, "stampd starts");
		return -1;
	}
	return 0;
}

/* A v4-mapped source that crossed the wire as IPv6 is forged. */
static void
case_mapped(void)
{
	static const char *const args[] = { "-l", "udp:*:0", NULL };
	struct h_daemon	 d;
	char		 buf[64];
	ssize_t		 n;
	int		 fd;

	if (start(&d, 1, args) == -1)
		return;
	fd = udp_bound("127.0.0.1", 0);
	ok(forge6_mapped(port_of(fd), d.l[0].port) == 0,
	    "mapped: an IPv6 datagram from ::ffff:127.0.0.1 sent");
	ok(!hears(fd, QUIET_MS), "mapped: no reply reaches 127.0.0.1");
	ok(h_daemon_counter(&d, "dropped") >= 1, "mapped: counted dropped");
	n = h_ask_udp((const struct sockaddr *)&d.l[0].ss, d.l[0].sslen, "",
	    0, buf, sizeof buf, H_ASK_MS);
	ok(n > 0, "mapped: a real IPv4 client of the * socket is answered");
	close(fd);
	is_int(h_daemon_stop(&d), 0, "mapped: exit 0");
}

/*
 * One forged datagram between two servers, or a server and an echo
 * service: how many replies go back and forth in LOOP_MS.  echo is a
 * socket of ours that sends back whatever it gets (-1: none).
 */
static long long
loop_replies(struct h_daemon *a, struct h_daemon *b, int echo)
{
	long long	 deadline = h_now_ms() + LOOP_MS, ra, rb;
	struct sockaddr_storage from;
	socklen_t	 flen;
	struct pollfd	 pfd = { .fd = echo, .events = POLLIN };
	char		 buf[128];
	ssize_t		 n;
	int		 bounced = 0;

	while (echo != -1 && h_now_ms() < deadline)
		if (poll(&pfd, 1, (int)(deadline - h_now_ms())) == 1) {
			flen = sizeof from;
			n = recvfrom(echo, buf, sizeof buf, 0,
			    (struct sockaddr *)&from, &flen);
			if (n >= 0 && sendto(echo, buf, (size_t)n, 0,
			    (struct sockaddr *)&from, flen) == n)
				bounced++;
		}
	if (echo == -1)
		h_nap(LOOP_MS);
	ra = h_daemon_counter(a, "udp");
	rb = b != NULL ? h_daemon_counter(b, "udp") : 0;
	note("replies in %d ms: %lld and %lld, bounced by echo %d", LOOP_MS,
	    ra, rb, bounced);
	return ra + rb + bounced;
}

static void
case_loops(void)
{
	static const char *const protos[] = { "stamp", "time", "daytime" };
	const char	*args[4] = { "-l", NULL, NULL };
	struct h_daemon	 a, b;
	char		 spec[64];
	size_t		 i;
	int		 echo;

	for (i = 0; i < 3; i++) {
		snprintf(spec, sizeof spec, "udp:127.0.0.1:0/%s", protos[i]);
		args[1] = spec;
		if (start(&a, 1, args) == -1 || start(&b, 1, args) == -1)
			return;
		ok(forge4("127.0.0.1", a.l[0].port, b.l[0].port, "x", 1) == 0,
		    "loop %s: a datagram from one stampd's port to another's",
		    protos[i]);
		ok(loop_replies(&a, &b, -1) <= 1, "loop %s: two stampd: at "
		    "most one reply, then silence", protos[i]);
		h_daemon_stop(&b);
		echo = udp_bound("127.0.0.1", 0);
		ok(forge4("127.0.0.1", port_of(echo), a.l[0].port, "x", 1) ==
		    0, "loop %s: a datagram from an echo service's port",
		    protos[i]);
		ok(loop_replies(&a, NULL, echo) <= 2, "loop %s: stampd and an "
		    "echo service: one reply, one echo, then silence",
		    protos[i]);
		close(echo);
		is_int(h_daemon_stop(&a), 0, "loop %s: exit 0", protos[i]);
	}
}

/* A taken UDP port: a second stampd fails; another user cannot bind. */
static void
case_exclusive(void)
{
	static const char *const args[] = { "-l", "udp:127.0.0.1:0", NULL };
	struct h_daemon		 d;
	struct h_result		 r;
	struct sockaddr_storage	 ss;
	char			 spec[64];
	char			*argv[] = { (char *)h_prog("STAMPD"), "-l", spec,
				    NULL };
	socklen_t		 len;
	pid_t			 pid;
	int			 status, one = 1, fd;

	if (start(&d, 1, args) == -1)
		return;
	snprintf(spec, sizeof spec, "udp:127.0.0.1:%d", d.l[0].port);
	h_run(argv, H_ASK_MS, &r);
	is_int(r.status, 1, "exclusive: a second stampd on %s exits 1", spec);
	like(r.err, "bind udp:127.0.0.1:[0-9]+", "exclusive: and names it");
	if ((pid = fork()) == 0) {
		if (geteuid() == 0 && setuid(65534) == -1)
			_exit(2);
		len = v4("127.0.0.1", d.l[0].port, &ss);
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
		_exit(bind(fd, (struct sockaddr *)&ss, len) == -1 &&
		    errno == EADDRINUSE ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exclusive: %s "
	    "cannot bind it, SO_REUSEADDR and SO_REUSEPORT set",
	    geteuid() == 0 ? "uid 65534" : "another process");
	is_int(h_daemon_stop(&d), 0, "exclusive: exit 0");
}

/*
 * --udp-rate against a crowd: the victim's datagrams interleaved with
 * those of NHELPERS other sources, and with --delay (each datagram waits
 * in a queue, a thread or a child): the victim still gets no more than
 * the bound, in every model.
 */
static void
case_udp_rate(const char *model, const char *delay)
{
	const char *args[] = { "-m", model, "-w", "2", "-D", delay,
	    "--udp-rate", "3", "--limit-loopback", "-l", "udp:127.0.0.1:0",
	    NULL };
	struct h_daemon	 d;
	char		 a[32];
	int		 victim, helper[NHELPERS], i, round, got = 0;
	long long	 t0, ms, bound;

	h_model_args(model, args);
	if (start(&d, 1, args) == -1)
		return;
	victim = udp_bound("127.0.0.2", 0);
	for (i = 0; i < NHELPERS; i++) {
		snprintf(a, sizeof a, "127.0.1.%d", i + 1);
		helper[i] = udp_bound(a, 0);
	}
	t0 = h_now_ms();
	for (round = 0; round < 10; round++) {
		sendto(victim, "", 0, 0, (struct sockaddr *)&d.l[0].ss,
		    d.l[0].sslen);
		for (i = 0; i < NHELPERS; i++)
			sendto(helper[i], "", 0, 0,
			    (struct sockaddr *)&d.l[0].ss, d.l[0].sslen);
	}
	ms = h_now_ms() - t0;
	while (hears(victim, QUIET_MS + atoi(delay)))
		got++;
	bound = UDPRATE + UDPRATE * (ms + atoi(delay)) / 1000 + 1;
	ok(got >= 1 && got <= bound, "%s -D %s: udp-rate %d against %d other "
	    "sources: the victim got %d of 10 (bound %lld)", model, delay,
	    UDPRATE, NHELPERS, got, bound);
	close(victim);
	for (i = 0; i < NHELPERS; i++)
		close(helper[i]);
	is_int(h_daemon_stop(&d), 0, "%s -D %s: exit 0", model, delay);
}

/*
 * A TCP connection from src that sends a byte and stays: the byte is there
 * before the reply (the daemon waits --delay first), so the daemon drains
 * it and waits for more, and the connection holds its place.
 */
static int
hold_from(const char *src, const struct h_listener *l)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = v4(src, 0, &ss);
	int			 fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    connect(fd, (const struct sockaddr *)&l->ss, l->sslen) == -1) {
		close(fd);
		return -1;
	}
	send(fd, "x", 1, MSG_NOSIGNAL);
	return fd;
}

/* Whether the connection fd got a reply (not a refusal) within ms. */
static int
answered(int fd, int ms)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	char		 buf[64];

	return poll(&pfd, 1, ms) == 1 && recv(fd, buf, sizeof buf,
	    MSG_DONTWAIT) > 0;
}

/*
 * --per-ip holds beside other sources that hold places.  (Sources aimed at
 * the victim's part of the table cannot be had: the hash is keyed by a
 * secret; and a full part refuses, tests/unit/limit.c.)
 */
static void
case_per_ip(const char *model)
{
	const char *args[] = { "-m", model, "-w", "2", "--per-ip", "2",
	    "-D", "20", "--limit-loopback", "--linger", HOLD_LINGER, "--max-workers",
	    "512", "-l", "tcp:127.0.0.1:0", NULL };
	struct h_daemon	 d;
	char		 a[32];
	int		 helper[NHOLDERS], mine[3], i, held = 0;

	h_model_args(model, args);
	if (start(&d, 1, args) == -1)
		return;
	for (i = 0; i < NHOLDERS; i++) {
		snprintf(a, sizeof a, "127.0.2.%d", i + 1);
		helper[i] = hold_from(a, &d.l[0]);
	}
	for (i = 0; i < 2; i++) {
		mine[i] = hold_from("127.0.0.2", &d.l[0]);
		held += answered(mine[i], H_ASK_MS);
	}
	mine[2] = hold_from("127.0.0.2", &d.l[0]);
	is_int(held, 2, "%s: per-ip 2 beside %d other sources: two served",
	    model, NHOLDERS);
	ok(!answered(mine[2], QUIET_MS), "%s: the third from one source is "
	    "refused", model);

	for (i = 0; i < 3; i++)
		close(mine[i]);
	for (i = 0; i < NHOLDERS; i++)
		close(helper[i]);
	is_int(h_daemon_stop(&d), 0, "%s: per-ip: exit 0", model);
}

/* A TCP connection to l, made whole; -1 on failure. */
static int
dial(const struct h_listener *l)
{
	int	 fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (const struct sockaddr *)&l->ss, l->sslen) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * A +proxy listener while NHELPERS peers hold connections and send
 * nothing: each honest client, header and all, is served while every idle
 * peer still waits, none of them closed.  A model that waited on an idle
 * peer's header before taking the next client would reach the honest
 * ones only by giving up on idle peers (at --linger, here its longest, a
 * minute, far beyond the test) and closing them; that it had to is the
 * failure, whatever the time it took.
 */
static void
case_proxy_idle(const char *model)
{
	static const char hdr[] = "PROXY TCP4 192.0.2.1 192.0.2.2 1234 1937\r\n";
	const char	*args[] = { "-m", model, "-w", "2", "--linger",
	    "60000", "-l", "tcp:127.0.0.1:0/stamp+proxy", NULL };
	struct pollfd	 pfd;
	struct h_daemon	 d;
	int		 idle[NHELPERS], i, fd, good = 0, open = 0;
	int		 closed = 0;

	h_model_args(model, args);
	if (start(&d, 1, args) == -1)
		return;
	for (i = 0; i < NHELPERS; i++)
		open += (idle[i] = dial(&d.l[0])) != -1;
	for (i = 0; i < 10; i++) {
		if ((fd = dial(&d.l[0])) == -1)
			continue;
		send(fd, hdr, sizeof hdr - 1, MSG_NOSIGNAL);
		good += answered(fd, H_ASK_MS);
		close(fd);
	}
	/* An idle peer the daemon closed reads its EOF, or a reset. */
	for (i = 0; i < NHELPERS; i++) {
		if (idle[i] == -1)
			continue;
		pfd.fd = idle[i];
		pfd.events = POLLIN;
		closed += poll(&pfd, 1, 0) == 1;
	}
	is_int(good, 10, "%s: +proxy beside %d idle peers: 10 honest clients "
	    "served", model, NHELPERS);
	ok(open == NHELPERS && closed == 0, "%s: and meanwhile none of the %d "
	    "idle peers was closed (%d connected, %d closed)", model,
	    NHELPERS, open, closed);
	for (i = 0; i < NHELPERS; i++)
		if (idle[i] != -1)
			close(idle[i]);
	is_int(h_daemon_stop(&d), 0, "%s: +proxy: exit 0", model);
}

int
main(void)
{
	int	 i;

	signal(SIGPIPE, SIG_IGN);
	if (geteuid() != 0) {
		/* Shown as skipped, never as passed. */
		printf("1..0 # SKIP raw sockets and other users need root\n");
		return 0;
	}
	nmodels = h_models(models, MAXMODELS);
	case_mapped();
	case_loops();
	case_exclusive();
	for (i = 0; i < nmodels; i++) {
		case_udp_rate(models[i], "0");
		case_udp_rate(models[i], "50");
		case_per_ip(models[i]);
		case_proxy_idle(models[i]);
	}
	return done_testing();
}
