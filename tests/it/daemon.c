/*
 * daemon.c: every server model passes the same suite.
 *
 * The models are read from stampd --help, so a new model is tested the day
 * it is listed.  Each one gets a single daemon with a listener for every
 * transport, protocol and address family (and, where IPv6 is there, a
 * dual-stack "*" listener), and that daemon answers every case: one client
 * per listener, replies to empty and non-empty datagrams, clients one after
 * another and all at once, the Client:IP:PORT lines of -v, the counters of
 * SIGUSR1, and a clean exit on SIGTERM.  A reply is valid when it has the
 * exact shape of its protocol and decodes to within H_SLACK seconds of our
 * own clock.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "tap.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define CONC_MS		20000	/* all the concurrent clients', scaled */
#define NSEQ		100
#define NCONC		32
#define MAXMODELS	16
#define BIGDGRAM	100

static const char *const transports[] = { "tcp", "udp" };
static const char *const protos[] = { "stamp", "time", "daytime" };
static const char *const families[] = { "127.0.0.1", "::1" };

static char	 models[MAXMODELS][32];
static int	 nmodels;
static int	 have_ipv6;

/* What we got, for the SIGUSR1 counters: the daemon saw at least this. */
static unsigned long long	 got_tcp, got_udp;

/* The models of stampd --help, those whose names can name a test. */
static void
read_models(void)
{
	char	 listed[MAXMODELS][32];
	int	 i, n;

	n = h_models(listed, MAXMODELS);
	for (i = 0; i < n; i++)
		if (strspn(listed[i], "abcdefghijklmnopqrstuvwxyz"
		    "0123456789_-") == strlen(listed[i]))
			memcpy(models[nmodels++], listed[i], sizeof listed[i]);
	if (nmodels == 0)
		bail("no model listed under -m, --model in stampd --help");
}

/* One test: the reply is valid; say why not. */
static int __attribute__((format(printf, 4, 5)))
reply_ok(const char *proto, const char *buf, ssize_t n, const char *fmt,
    ...)
{
	va_list	 ap;
	char	 name[256], why[128];
	int	 pass;

	pass = h_check_reply(proto, buf, n, why, sizeof why);
	va_start(ap, fmt);
	vsnprintf(name, sizeof name, fmt, ap);
	va_end(ap);
	ok(pass, "%s", name);
	if (!pass)
		diag("%s", why);
	return pass;
}

static void
sockaddr_of(const char *host, int port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (strchr(host, ':') != NULL) {
		sin6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, host, &sin6->sin6_addr);
		sin6->sin6_port = htons(port);
		*len = sizeof *sin6;
	} else {
		sin->sin_family = AF_INET;
		inet_pton(AF_INET, host, &sin->sin_addr);
		sin->sin_port = htons(port);
		*len = sizeof *sin;
	}
}

static const struct h_listener *
find(const struct h_daemon *d, const char *transport, const char *addr,
    const char *proto)
{
	int	 i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->l[i].transport, transport) == 0 &&
		    strcmp(d->l[i].addr, addr) == 0 &&
		    strcmp(d->l[i].proto, proto) == 0)
			return &d->l[i];
	return NULL;
}

/* Running, and not a zombie: kill(pid, 0) alone would pass a dead child. */
static int
alive(struct h_daemon *d, const char *model)
{
	int	 status;
	pid_t	 r;

	r = waitpid(d->pid, &status, WNOHANG);
	if (!ok(kill(d->pid, 0) == 0 && r == 0, "%s: the daemon is alive",
	    model)) {
		if (r == d->pid)
			diag("it ended: %s %d", WIFSIGNALED(status) ?
			    "signal" : "exit", WIFSIGNALED(status) ?
			    WTERMSIG(status) : WEXITSTATUS(status));
		diag("its log:\n%s", h_daemon_log(d));
		return 0;
	}
	return 1;
}

static ssize_t
ask(const struct h_listener *l, const struct sockaddr_storage *ss,
    socklen_t len, size_t reqlen, char *buf, size_t buflen)
{
	char	 req[BIGDGRAM];
	ssize_t	 n;

	memset(req, 'x', sizeof req);
	if (strcmp(l->transport, "tcp") == 0) {
		if ((n = h_ask_tcp((const struct sockaddr *)ss, len, buf,
		    buflen, H_ASK_MS)) >= 0)
			got_tcp++;
	} else {
		if ((n = h_ask_udp((const struct sockaddr *)ss, len, req,
		    reqlen, buf, buflen, H_ASK_MS)) >= 0)
			got_udp++;
	}
	return n;
}

/* Ask one listener once (TCP) or twice (UDP: empty, then 100 bytes). */
static void
ask_listener(const char *model, const struct h_listener *l,
    const char *host)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			 buf[256];
	ssize_t			 n;
	int			 udp = strcmp(l->transport, "udp") == 0;

	sockaddr_of(host, l->port, &ss, &len);
	n = ask(l, &ss, len, 0, buf, sizeof buf);
	reply_ok(l->proto, buf, n, "%s: %s %s port %d %s%s", model,
	    l->transport, host, l->port, l->proto, udp ? ", empty datagram" :
	    "");
	if (!udp)
		return;
	n = ask(l, &ss, len, BIGDGRAM, buf, sizeof buf);
	reply_ok(l->proto, buf, n, "%s: %s %s port %d %s, %d-byte datagram",
	    model, l->transport, host, l->port, l->proto, BIGDGRAM);
}

/* Every listener we asked for is there, in the "listening" line's shape. */
static void
check_listeners(const char *model, struct h_daemon *d, int nfam)
{
	const struct h_listener	*l;
	const char		*log = h_daemon_log(d);
	char			 line[128];
	size_t			 t, p;
	int			 f;

	for (t = 0; t < NELEM(transports); t++)
		for (p = 0; p < NELEM(protos); p++)
			for (f = 0; f < nfam; f++) {
				l = find(d, transports[t], families[f],
				    protos[p]);
				if (!ok(l != NULL, "%s: listening %s %s %s",
				    model, transports[t], families[f],
				    protos[p]))
					continue;
				snprintf(line, sizeof line,
				    "stampd: listening %s %s%s%s:%d %s\n",
				    transports[t], f ? "[" : "",
				    families[f], f ? "]" : "", l->port,
				    protos[p]);
				ok(strstr(log, line) != NULL,
				    "%s: the line is '%.*s'", model,
				    (int)strlen(line) - 1, line);
			}
}

static void
test_each_listener(const char *model, struct h_daemon *d, int nfam)
{
	const struct h_listener	*l;
	size_t			 t, p;
	int			 f;

	for (t = 0; t < NELEM(transports); t++)
		for (p = 0; p < NELEM(protos); p++)
			for (f = 0; f < nfam; f++)
				if ((l = find(d, transports[t], families[f],
				    protos[p])) != NULL)
					ask_listener(model, l, families[f]);
}

/* "-l tcp:*:0": one socket, [::]:PORT, that IPv4 clients reach too. */
static void
test_dual_stack(const char *model, struct h_daemon *d)
{
	const struct h_listener	*l;
	char			 line[96];
	size_t			 t, f;

	if (!have_ipv6) {
		note("no IPv6 on this host: no dual-stack listener");
		skip("dual-stack listeners need IPv6");
		return;
	}
	for (t = 0; t < NELEM(transports); t++) {
		l = find(d, transports[t], "::", "stamp");
		if (!ok(l != NULL, "%s: %s:*:0 is listening on [::]", model,
		    transports[t])) {
			diag("%s", h_daemon_log(d));
			continue;
		}
		snprintf(line, sizeof line, "stampd: listening %s [::]:%d "
		    "stamp\n", transports[t], l->port);
		ok(strstr(h_daemon_log(d), line) != NULL,
		    "%s: the line is '%.*s'", model, (int)strlen(line) - 1,
		    line);
		for (f = 0; f < NELEM(families); f++)
			ask_listener(model, l, families[f]);
	}
}

static void
test_sequential(const char *model, struct h_daemon *d, int nfam)
{
	const struct h_listener	*l;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			 buf[256], why[128];
	ssize_t			 n;
	int			 i, good = 0, told = 0;

	for (i = 0; i < NSEQ; i++) {
		/* Every TCP listener in turn. */
		l = find(d, "tcp", families[i / 3 % nfam], protos[i % 3]);
		if (l == NULL)
			continue;
		sockaddr_of(l->addr, l->port, &ss, &len);
		n = ask(l, &ss, len, 0, buf, sizeof buf);
		if (h_check_reply(l->proto, buf, n, why, sizeof why))
			good++;
		else if (!told++)
			diag("client %d (%s %s): %s", i, l->addr, l->proto,
			    why);
	}
	is_int(good, NSEQ, "%s: %d TCP clients in a row, all valid", model,
	    NSEQ);
}

struct conn {
	int			 fd;
	int			 done;
	const char		*proto;
	size_t			 got;
	char			 buf[128];
};

static void
test_concurrent(const char *model, struct h_daemon *d, int nfam)
{
	const struct h_listener	*l;
	struct sockaddr_storage	 ss;
	struct pollfd		 pfd[NCONC];
	struct conn		 c[NCONC];
	long long		 deadline;
	socklen_t		 len;
	char			 why[128];
	int			 i, left, good = 0, told = 0;

	for (i = 0; i < NCONC; i++) {
		memset(&c[i], 0, sizeof c[i]);
		l = find(d, "tcp", families[i / 3 % nfam], protos[i % 3]);
		c[i].proto = l != NULL ? l->proto : "stamp";
		c[i].fd = -1;
		c[i].done = -1;
		if (l == NULL)
			continue;
		sockaddr_of(l->addr, l->port, &ss, &len);
		if ((c[i].fd = h_dial_nb((struct sockaddr *)&ss, len)) != -1)
			c[i].done = 0;
		else
			diag("client %d: connect: %s", i, strerror(errno));
	}
	deadline = h_now_ms() + h_ms(CONC_MS);
	for (;;) {
		for (i = left = 0; i < NCONC; i++) {
			pfd[i].fd = c[i].done ? -1 : c[i].fd;
			pfd[i].events = POLLIN;
			left += !c[i].done;
		}
		if (left == 0 || h_now_ms() >= deadline)
			break;
		if (poll(pfd, NCONC, 100) == -1 && errno != EINTR)
			break;
		for (i = 0; i < NCONC; i++)
			if (pfd[i].fd != -1 && pfd[i].revents != 0)
				c[i].done = h_read_some(c[i].fd, c[i].buf,
				    sizeof c[i].buf, &c[i].got);
	}
	for (i = 0; i < NCONC; i++) {
		if (c[i].done == 1 && h_check_reply(c[i].proto, c[i].buf,
		    (ssize_t)c[i].got, why, sizeof why)) {
			good++;
			got_tcp++;
		} else if (!told++)
			diag("client %d: %s", i, c[i].done == 0 ?
			    "no EOF in time" : c[i].done == -1 ?
			    "connection failed" : why);
		if (c[i].fd != -1)
			close(c[i].fd);
	}
	is_int(good, NCONC, "%s: %d TCP clients at once, all valid", model,
	    NCONC);
}

/* Wait for text in the daemon's log, at most H_ASK_MS. */
static int
log_has(struct h_daemon *d, const char *text)
{
	long long	 deadline = h_now_ms() + H_ASK_MS;
	struct timespec	 nap = { 0, 20 * 1000000L };

	for (;;) {
		if (strstr(h_daemon_log(d), text) != NULL)
			return 1;
		if (h_now_ms() >= deadline)
			return 0;
		nanosleep(&nap, NULL);
	}
}

/*
 * A client of our own, so that we know its port: connect, get the reply,
 * and return the local port (or -1).
 */
static int
client_port(const struct h_listener *l, const char *host, char *buf,
    size_t buflen, ssize_t *n)
{
	struct sockaddr_storage	 ss, me;
	struct conn		 c;
	struct pollfd		 pfd;
	long long		 deadline = h_now_ms() + H_ASK_MS;
	socklen_t		 len, mlen = sizeof me;
	int			 udp = strcmp(l->transport, "udp") == 0, port;

	*n = -1;
	sockaddr_of(host, l->port, &ss, &len);
	memset(&c, 0, sizeof c);
	c.fd = socket(ss.ss_family, (udp ? SOCK_DGRAM : SOCK_STREAM) |
	    SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c.fd == -1)
		return -1;
	if ((connect(c.fd, (struct sockaddr *)&ss, len) == -1 &&
	    errno != EINPROGRESS) ||
	    getsockname(c.fd, (struct sockaddr *)&me, &mlen) == -1 ||
	    (udp && send(c.fd, "", 0, MSG_NOSIGNAL) == -1)) {
		close(c.fd);
		return -1;
	}
	port = me.ss_family == AF_INET ?
	    ntohs(((struct sockaddr_in *)&me)->sin_port) :
	    ntohs(((struct sockaddr_in6 *)&me)->sin6_port);
	pfd.fd = c.fd;
	pfd.events = POLLIN;
	while (!c.done && h_now_ms() < deadline) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if (udp) {
			c.got = (size_t)recv(c.fd, c.buf, sizeof c.buf, 0);
			c.done = c.got <= sizeof c.buf ? 1 : -1;
		} else
			c.done = h_read_some(c.fd, c.buf, sizeof c.buf,
			    &c.got);
	}
	close(c.fd);
	if (c.done == 1) {
		*n = (ssize_t)(c.got < buflen ? c.got : buflen);
		memcpy(buf, c.buf, (size_t)*n);
		if (udp)
			got_udp++;
		else
			got_tcp++;
	}
	return port;
}

/*
 * -v: one "Client:IP:PORT listener=..." line per client, with the
 * client's own port.
 */
static void
test_verbose(const char *model, struct h_daemon *d)
{
	static const struct {
		const char	*transport, *listen, *host, *logged;
	} t[] = {
		{ "tcp", "127.0.0.1", "127.0.0.1", "127.0.0.1:%d" },
		{ "udp", "127.0.0.1", "127.0.0.1", "127.0.0.1:%d" },
		{ "tcp", "::1", "::1", "[::1]:%d" },
		{ "udp", "::1", "::1", "[::1]:%d" },
		/* Through a dual-stack socket, a v4-mapped peer. */
		{ "tcp", "::", "127.0.0.1", "127.0.0.1:%d" },
		{ "udp", "::", "127.0.0.1", "127.0.0.1:%d" },
	};
	const struct h_listener	*l;
	char			 buf[128], peer[64], line[96];
	ssize_t			 n;
	size_t			 i;
	int			 port;

	for (i = 0; i < NELEM(t); i++) {
		if (strchr(t[i].listen, ':') != NULL && !have_ipv6)
			continue;
		if ((l = find(d, t[i].transport, t[i].listen, "stamp")) ==
		    NULL)
			continue;
		port = client_port(l, t[i].host, buf, sizeof buf, &n);
		reply_ok(l->proto, buf, n, "%s: -v: %s %s reply", model,
		    t[i].transport, t[i].host);
		snprintf(peer, sizeof peer, t[i].logged, port);
		snprintf(line, sizeof line, "stampd: Client:%s listener=",
		    peer);
		if (!ok(port > 0 && log_has(d, line),
		    "%s: -v logs Client:%s for a %s client of %s", model, peer,
		    t[i].transport, t[i].listen))
			diag("log:\n%s", h_daemon_log(d));
	}
}

/* Wait at most H_ASK_MS for more than before "stats:" lines; the newest. */
static int
new_stats(struct h_daemon *d, int before, char *line, size_t len)
{
	long long	 deadline = h_now_ms() + H_ASK_MS;
	struct timespec	 nap = { 0, 20 * 1000000L };
	const char	*log, *p, *last = NULL;

	for (;;) {
		log = h_daemon_log(d);
		if (h_count(log, "stampd: stats: ") > before)
			break;
		if (h_now_ms() >= deadline)
			return 0;
		nanosleep(&nap, NULL);
	}
	for (p = log; (p = strstr(p, "stampd: stats: ")) != NULL; p++)
		last = p;
	snprintf(line, len, "%.*s", (int)strcspn(last, "\n"), last);
	return 1;
}

/*
 * SIGUSR1: a new "stats:" line, counting at least what we got.  A
 * counter may be added a moment after its reply left, so a short count is
 * asked for again, for up to H_ASK_MS, before it fails.
 */
static void
test_stats(const char *model, struct h_daemon *d)
{
	unsigned long long	 acc = 0, tcp = 0, udp = 0, st = 0, ti = 0,
				 dt = 0;
	struct timespec		 nap = { 0, 200 * 1000000L };
	long long		 deadline = h_now_ms() + H_ASK_MS;
	char			 line[512];
	int			 try, found = 0, parsed = 0, fine = 0, before;

	for (try = 0; !fine && (try < 5 || h_now_ms() < deadline); try++) {
		if (try > 0)
			nanosleep(&nap, NULL);
		before = h_count(h_daemon_log(d), "stampd: stats: ");
		kill(d->pid, SIGUSR1);
		if (!(found = new_stats(d, before, line, sizeof line)))
			break;
		parsed = sscanf(line, "stampd: stats: accepted %llu, replies "
		    "tcp %llu udp %llu (stamp %llu time %llu daytime %llu)",
		    &acc, &tcp, &udp, &st, &ti, &dt) == 6;
		if (!parsed)
			break;
		fine = acc >= got_tcp && tcp >= got_tcp && udp >= got_udp &&
		    st + ti + dt == tcp + udp;
	}
	if (!ok(found, "%s: SIGUSR1 prints a stats: line", model)) {
		diag("log:\n%s", h_daemon_log(d));
		return;
	}
	if (!ok(parsed, "%s: the stats: line has every counter", model))
		diag("%s", line);
	ok(acc >= got_tcp, "%s: stats: accepted %llu >= %llu clients", model,
	    acc, got_tcp);
	ok(tcp >= got_tcp, "%s: stats: tcp replies %llu >= %llu", model, tcp,
	    got_tcp);
	ok(udp >= got_udp, "%s: stats: udp replies %llu >= %llu", model, udp,
	    got_udp);
	is_int((long long)(st + ti + dt), (long long)(tcp + udp),
	    "%s: stats: replies per protocol add up to those per transport",
	    model);
}

static void
test_model(const char *model)
{
	struct h_daemon	 d;
	const char	*args[64];
	char		 specs[16][48];
	int		 nargs = 0, nspecs = 0, nfam = have_ipv6 ? 2 : 1, f;
	size_t		 t, p;

	got_tcp = got_udp = 0;
	args[nargs++] = "-m";
	args[nargs++] = model;
	args[nargs++] = "-v";
	args[nargs++] = "-w";
	args[nargs++] = "2";
	for (t = 0; t < NELEM(transports); t++)
		for (p = 0; p < NELEM(protos); p++)
			for (f = 0; f < nfam; f++)
				snprintf(specs[nspecs++], sizeof specs[0],
				    "%s:%s%s%s:0/%s", transports[t],
				    f ? "[" : "", families[f], f ? "]" : "",
				    protos[p]);
	if (have_ipv6)
		for (t = 0; t < NELEM(transports); t++)
			snprintf(specs[nspecs++], sizeof specs[0], "%s:*:0",
			    transports[t]);
	for (f = 0; f < nspecs; f++) {
		args[nargs++] = "-l";
		args[nargs++] = specs[f];
	}
	args[nargs] = NULL;
	h_model_args(model, args);

	if (!ok(h_daemon_start(&d, nspecs, args) == 0,
	    "%s: starts with %d listeners", model, nspecs))
		return;
	check_listeners(model, &d, nfam);
	/* First: -v's lines have a budget (log.h) the load below spends. */
	test_verbose(model, &d);
	test_each_listener(model, &d, nfam);
	test_dual_stack(model, &d);
	test_sequential(model, &d, nfam);
	test_concurrent(model, &d, nfam);
	test_stats(model, &d);
	alive(&d, model);
	is_int(h_daemon_stop(&d), 0, "%s: SIGTERM: exit status 0", model);
}

int
main(void)
{
	int	 i;

	signal(SIGPIPE, SIG_IGN);
	read_models();
	have_ipv6 = h_ipv6_works();
	if (!have_ipv6)
		note("IPv6 loopback is not available: IPv4 only");
	for (i = 0; i < nmodels; i++) {
		note("model %s", models[i]);
		test_model(models[i]);
	}
	return done_testing();
}
