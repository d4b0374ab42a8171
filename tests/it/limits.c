/*
 * limits.c: what only this suite asks of the limits; the matrix
 * (tests/it/matrix.c) holds every model to the rest.
 *
 * The matrix's rows max-conns, per-ip, rate and udp-rate hold the limits'
 * common promises: what a limit refuses it refuses at once, without a
 * byte, and counts; what it admits is served; a bucket refills; another
 * source is answered meanwhile.  Here: --per-ip counts IPv6 sources apart
 * and spares other sources while one is full, and a source that closes a
 * place may take it again; and datagrams from the listener's own port,
 * from the time services' ports and from port 0 get no reply and are
 * counted as dropped.
 *
 * Each case starts its own daemon with --limit-loopback (our clients all
 * come from loopback, which the limits spare otherwise), so that its
 * "limited" and "dropped" counters hold exactly what the case did.  A
 * connection is held open by a client that sends a byte before its reply
 * (the daemon waits --delay first) and then does not close: the daemon
 * drains that byte and keeps the connection for --linger, and so does
 * every model, the iterative one included.  A refused client sees EOF
 * with no data, or a reset, well before any connection held is let go.
 * Every model stampd --help lists runs every case; nothing here asserts
 * a duration.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "proto.h"
#include "tap.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define HOLD_WAIT	((int)h_ms(15000))	/* for the held to be served */
#define MAXMODELS	16
#define PERIP		2	/* --per-ip */
#define QUIET_MS	((int)h_ms(500)) /* listening for a reply not sent */

/* Every model must be listed; any other listed is tested as well. */
static const char *const required[] = { "event", "iterative", "threads",
    "prefork" };

static char	 models[MAXMODELS][32];
static int	 nmodels;
static int	 have_ipv6;

/* The models of stampd --help; the required ones must be there. */
static void
read_models(void)
{
	size_t	 i;
	int	 j, found;

	nmodels = h_models(models, MAXMODELS);
	for (i = 0; i < NELEM(required); i++) {
		for (j = found = 0; j < nmodels; j++)
			found |= strcmp(models[j], required[i]) == 0;
		ok(found, "stampd --help lists the %s model", required[i]);
	}
	if (nmodels == 0)
		bail("no model listed under -m, --model in stampd --help");
}

/* Whether buf[0..n) is a stamp reply within H_SLACK of our clock. */
static int
valid(const char *buf, ssize_t n)
{
	return h_stamp_near(buf, n, (long long)time(NULL));
}

static int
start(struct h_daemon *d, const char *model, int nlisten,
    const char *const extra[])
{
	const char	*args[40];
	int		 n = 0, i;

	args[n++] = "-m";
	args[n++] = model;
	for (i = 0; extra[i] != NULL && n < 38; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	/* Each case's pool options, as far as the model takes them. */
	h_model_args(model, args);
	return ok(h_daemon_start(d, nlisten, args) == 0, "%s: starts with %s",
	    model, extra[0]) ? 0 : -1;
}

static void
stop(struct h_daemon *d, const char *model, const char *what_case)
{
	is_int(h_daemon_stop(d), 0, "%s: %s: SIGTERM, exit 0", model,
	    what_case);
}

static const struct h_listener *
find(const struct h_daemon *d, const char *transport, const char *addr)
{
	int	 i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->l[i].transport, transport) == 0 &&
		    strcmp(d->l[i].addr, addr) == 0)
			return &d->l[i];
	bail("a listener the daemon reported is missing");
}

/*
 * --per-ip 2: two held from 127.0.0.1 (and two from ::1), the third of
 * each refused, while 127.0.0.5 is served; one held closes, and its
 * source may connect again.
 */
static void
case_per_ip(const char *model)
{
	static const char *const extra4[] = { "--per-ip", "2",
	    "--limit-loopback", "--delay", "500", "--linger", "30000",
	    "-w", "8", "--min-spare", "1", "--max-spare", "8",
	    "-l", "tcp:127.0.0.1:0/stamp", NULL };
	static const char *const extra6[] = { "--per-ip", "2",
	    "--limit-loopback", "--delay", "500", "--linger", "30000",
	    "-w", "8", "--min-spare", "1", "--max-spare", "8",
	    "-l", "tcp:127.0.0.1:0/stamp", "-l", "tcp:[::1]:0/stamp", NULL };
	struct h_client		 h4[PERIP], h6[PERIP], c, other;
	struct h_daemon		 d;
	const struct h_listener	*l4, *l6 = NULL;
	long long		 want = 1;

	if (start(&d, model, have_ipv6 ? 2 : 1, have_ipv6 ? extra6 :
	    extra4) == -1)
		return;
	l4 = find(&d, "tcp", "127.0.0.1");
	if (have_ipv6)
		l6 = find(&d, "tcp", "::1");
	is_int(h_cl_hold_n(h4, PERIP, l4, "127.0.0.1", HOLD_WAIT), PERIP,
	    "%s: --per-ip %d: %d clients of 127.0.0.1 served and held", model,
	    PERIP, PERIP);
	if (have_ipv6)
		is_int(h_cl_hold_n(h6, PERIP, l6, "::1", HOLD_WAIT), PERIP,
		    "%s: --per-ip %d: %d clients of ::1 served and held",
		    model, PERIP, PERIP);
	else
		skip("no IPv6 loopback here");

	h_cl_open(&c, l4, "127.0.0.1");
	h_cl_wait(&c, 1, H_ASK_MS);
	h_cl_close(&c, 1);
	if (!ok(h_cl_refused(&c), "%s: a third client of 127.0.0.1 is "
	    "closed at once, without a byte", model))
		diag("it got: %s", h_cl_what(&c, "stamp"));
	if (!ok(h_cl_ask(l4, "127.0.0.5", &other, H_ASK_MS), "%s: meanwhile "
	    "127.0.0.5 is served", model))
		diag("it got: %s", h_cl_what(&other, "stamp"));
	if (have_ipv6) {
		h_cl_open(&c, l6, "::1");
		h_cl_wait(&c, 1, H_ASK_MS);
		h_cl_close(&c, 1);
		if (!ok(h_cl_refused(&c), "%s: a third client of ::1 is "
		    "closed at once, without a byte", model))
			diag("it got: %s", h_cl_what(&c, "stamp"));
		want++;
	} else
		skip("no IPv6 loopback here");
	is_int(h_counter_at_least(&d, "limited", want, H_ASK_MS), want,
	    "%s: stats: limited %lld", model, want);

	h_cl_close(h4, 1);
	if (!ok(h_cl_ask_until(l4, "127.0.0.1", &c, 2 * H_ASK_MS),
	    "%s: one of 127.0.0.1 closes: the next of it is served", model))
		diag("it got: %s", h_cl_what(&c, "stamp"));
	h_cl_close(h4 + 1, PERIP - 1);
	if (have_ipv6)
		h_cl_close(h6, PERIP);
	stop(&d, model, "--per-ip");
}

/*
 * A UDP socket bound to 127.0.0.6:port, connected to l.  Returns -1 when
 * that port cannot be had here (below 1024 without root, or in use).
 */
static int
udp_from(int port, const struct h_listener *l)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 fd, one = 1;

	len = h_addr("127.0.0.6", port, &ss);
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	/* Another daemon may have *:port: ours is a more specific bind. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    connect(fd, (const struct sockaddr *)&l->ss, l->sslen) == -1) {
		diag("bind 127.0.0.6:%d: %s", port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * A datagram from 127.0.0.6 port 0, which no socket can send: a raw
 * socket writes the UDP header itself.  Root only.  Returns 0 or -1.
 */
static int
send_from_port0(const struct h_listener *l)
{
	struct sockaddr_storage	 ss;
	struct udphdr		 uh;
	socklen_t		 len;
	int			 fd, r;

	if ((fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_UDP)) ==
	    -1)
		return -1;
	len = h_addr("127.0.0.6", 0, &ss);
	memset(&uh, 0, sizeof uh);
	uh.uh_sport = htons(0);
	uh.uh_dport = htons(l->port);
	uh.uh_ulen = htons(sizeof uh);
	uh.uh_sum = 0;		/* none: allowed over IPv4 */
	r = bind(fd, (struct sockaddr *)&ss, len) == 0 &&
	    sendto(fd, &uh, sizeof uh, 0, (const struct sockaddr *)&l->ss,
	    l->sslen) == (ssize_t)sizeof uh ? 0 : -1;
	close(fd);
	return r;
}

/*
 * Datagrams from the listener's own port, from the time services' ports
 * and from port 0 get no reply (two time servers would answer each other
 * forever) and are counted as dropped; one from any other port is
 * answered.
 */
static void
case_dropped(const char *model)
{
	static const char *const extra[] = { "-w", "1", "--max-workers", "1",
	    "--min-spare", "0", "--max-spare", "1",
	    "-l", "udp:127.0.0.1:0/stamp", NULL };
	struct h_daemon		 d;
	const struct h_listener	*l;
	struct pollfd		 pfd;
	char			 buf[128];
	ssize_t			 n = -1;
	int			 ports[4], fd, i, sent = 0;

	if (start(&d, model, 1, extra) == -1)
		return;
	l = find(&d, "udp", "127.0.0.1");
	ports[0] = l->port;
	ports[1] = STAMP_PORT;
	ports[2] = STAMP_TIME_PORT;
	ports[3] = STAMP_DAYTIME_PORT;
	for (i = 0; i < 4; i++) {
		if (ports[i] < 1024 && geteuid() != 0) {
			skip("a port below 1024 needs root");
			continue;
		}
		if ((fd = udp_from(ports[i], l)) == -1) {
			ok(0, "%s: a socket on 127.0.0.6:%d", model, ports[i]);
			continue;
		}
		if (send(fd, "", 0, MSG_NOSIGNAL) == 0)
			sent++;
		pfd.fd = fd;
		pfd.events = POLLIN;
		ok(poll(&pfd, 1, QUIET_MS) == 0,
		    "%s: no reply to port %d%s", model, ports[i],
		    i == 0 ? " (the listener's own)" : "");
		close(fd);
	}
	if (geteuid() != 0)
		skip("a datagram from port 0 needs a raw socket: root");
	else if (ok(send_from_port0(l) == 0, "%s: a datagram from port 0 "
	    "sent", model))
		sent++;
	n = h_ask_udp((const struct sockaddr *)&l->ss, l->sslen, "", 0, buf,
	    sizeof buf, H_ASK_MS);
	ok(valid(buf, n), "%s: a datagram from another port is answered",
	    model);
	is_int(h_counter_at_least(&d, "dropped", sent, H_ASK_MS), sent,
	    "%s: stats: dropped %d", model, sent);
	stop(&d, model, "dropped datagrams");
}

int
main(void)
{
	int	 i;

	signal(SIGPIPE, SIG_IGN);
	have_ipv6 = h_ipv6_works();
	read_models();
	for (i = 0; i < nmodels; i++) {
		note("model %s", models[i]);
		case_per_ip(models[i]);
		case_dropped(models[i]);
	}
	return done_testing();
}
