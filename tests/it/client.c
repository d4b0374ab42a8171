/*
 * client.c: stamp(1) against fake servers made here.
 *
 * Each case binds a socket on loopback port 0, forks a child that serves
 * exactly the bytes the case chose (or stays silent, or answers only the
 * second datagram), runs stamp against it and checks its exit code and
 * what it printed.  The replies are built here by hand, not with wire.c,
 * so that the client's decoding is checked against an independent encoding.
 * Each child ends on its own after CHILD_MS (scaled) even if this test
 * dies.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
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
#include "proto.h"
#include "tap.h"

#define CHILD_MS	((int)h_ms(20000))
#define RUN_MS		((int)h_ms(20000))

enum mode {
	SERVE,		/* send the reply to every client, then close */
	SILENT,		/* accept or receive, and never answer */
	SECOND,		/* UDP: answer from the second datagram on */
};

struct fake {
	pid_t	 pid;
	int	 family;
	char	 host[16];
	char	 port[8];
};

static void
fake_serve(int fd, int type, enum mode mode, const char *reply, size_t len)
{
	struct sockaddr_storage	 peer;
	struct pollfd		 pfd;
	socklen_t		 plen;
	long long		 deadline;
	long long		 left;
	char			 junk[2048];
	int			 c, count = 0;

	deadline = h_now_ms() + CHILD_MS;
	alarm(CHILD_MS / 1000 + 5);
	while ((left = deadline - h_now_ms()) > 0) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		if (type == SOCK_DGRAM) {
			plen = sizeof peer;
			if (recvfrom(fd, junk, sizeof junk, 0,
			    (struct sockaddr *)&peer, &plen) == -1)
				continue;
			count++;
			if (mode == SERVE || (mode == SECOND && count >= 2))
				sendto(fd, reply, len, MSG_NOSIGNAL,
				    (struct sockaddr *)&peer, plen);
			continue;
		}
		if ((c = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) == -1)
			continue;
		if (mode == SILENT) {
			/* Hold it open until the client gives up. */
			pfd.fd = c;
			if ((left = deadline - h_now_ms()) > 0)
				poll(&pfd, 1, (int)left);
		} else if (len > 0)
			send(c, reply, len, MSG_NOSIGNAL);
		close(c);
	}
	_exit(0);
}

/* Bind family's loopback on port 0: the fd, or -1. */
static int
bind_loopback(int family, int type, struct fake *f)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 len;
	int			 fd;

	memset(&ss, 0, sizeof ss);
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof *sin;
		snprintf(f->host, sizeof f->host, "127.0.0.1");
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		len = sizeof *sin6;
		snprintf(f->host, sizeof f->host, "::1");
	}
	f->family = family;
	if ((fd = socket(family, type | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    (type == SOCK_STREAM && listen(fd, 16) == -1) ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) == -1) {
		close(fd);
		return -1;
	}
	snprintf(f->port, sizeof f->port, "%d", ntohs(family == AF_INET ?
	    sin->sin_port : sin6->sin6_port));
	return fd;
}

static int
fake_start(struct fake *f, int family, int type, enum mode mode,
    const char *reply, size_t len)
{
	int	 fd;

	memset(f, 0, sizeof *f);
	if ((fd = bind_loopback(family, type, f)) == -1)
		return -1;
	fflush(stdout);
	if ((f->pid = fork()) == -1) {
		close(fd);
		return -1;
	}
	if (f->pid == 0)
		fake_serve(fd, type, mode, reply, len);
	close(fd);
	return 0;
}

static void
fake_stop(struct fake *f)
{
	if (f->pid <= 0)
		return;
	kill(f->pid, SIGKILL);
	while (waitpid(f->pid, NULL, 0) == -1 && errno == EINTR)
		;
	f->pid = 0;
}

/* A port that was just bound and closed: nobody listens there. */
static int
closed_port(int type, struct fake *f)
{
	int	 fd;

	memset(f, 0, sizeof *f);
	if ((fd = bind_loopback(AF_INET, type, f)) == -1)
		return -1;
	close(fd);
	return 0;
}

/* "2026-11-25 11:00:43" for t, by the C library rather than wire.c. */
static void
civil(time_t t, char *buf, size_t len)
{
	struct tm	 tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

/* Make a reply of proto for t; returns its length. */
static size_t
encode(const char *proto, int xinetd, time_t t, char *buf, size_t len)
{
	struct tm	 tm;
	uint32_t	 v;
	size_t		 n, i;

	if (strcmp(proto, "time") == 0) {
		v = (uint32_t)((long long)t + STAMP_EPOCH_1900);
		buf[0] = (char)(v >> 24);
		buf[1] = (char)(v >> 16);
		buf[2] = (char)(v >> 8);
		buf[3] = (char)v;
		return 4;
	}
	if (strcmp(proto, "stamp") == 0)
		return (size_t)snprintf(buf, len, "%lld\r\n", (long long)t);
	gmtime_r(&t, &tm);
	n = strftime(buf, len, xinetd ? "%d %b %Y %H:%M:%S UTC\r\n" :
	    "%a %b %e %H:%M:%S %Y\r\n", &tm);
	for (i = 0; xinetd && i < n; i++)
		buf[i] = (char)toupper((unsigned char)buf[i]);
	return n;
}

/* Escape what a regular expression would read as special. */
static const char *
re_quote(const char *s)
{
	static char	 buf[4][128];
	static int	 which;
	char		*p = buf[which = (which + 1) % 4];

	while (*s != '\0' && p < buf[which] + sizeof buf[which] - 3) {
		if (strchr(".[]()*+?{}|^$\\", *s) != NULL)
			*p++ = '\\';
		*p++ = *s++;
	}
	*p = '\0';
	return buf[which];
}

/* A good reply of proto over type is printed, in full and with -q. */
static void
good(const char *proto, int xinetd, int family, int type)
{
	struct h_result	 r;
	struct fake	 f;
	char		 reply[128], date[32], re[512], want[32], what[64];
	const char	*tname = type == SOCK_STREAM ? "tcp" : "udp";
	time_t		 t = time(NULL);
	size_t		 len;

	snprintf(what, sizeof what, "%s%s/%s%s", proto, xinetd ? "(xinetd)" :
	    "", tname, family == AF_INET6 ? " on ::1" : "");
	len = encode(proto, xinetd, t, reply, sizeof reply);
	if (fake_start(&f, family, type, SERVE, reply, len) == -1) {
		ok(0, "%s: fake server: %s", what, strerror(errno));
		return;
	}
	if (type == SOCK_DGRAM)
		h_stamp(RUN_MS, &r, "-T", "udp", "-P", proto, f.host, f.port,
		    NULL);
	else
		h_stamp(RUN_MS, &r, "-P", proto, f.host, f.port, NULL);
	is_int(r.status, 0, "%s: exit 0", what);
	civil(t, date, sizeof date);
	snprintf(re, sizeof re, "^%lld %s UTC offset [+-][0-9]+\\.[0-9]{3}s "
	    "from %s:%s \\(%s/%s\\)\n$", (long long)t, date,
	    re_quote(family == AF_INET6 ? "[::1]" : "127.0.0.1"), f.port,
	    proto, tname);
	like(r.out, re, "%s: the line gives the time served", what);
	is_str(r.err, "", "%s: nothing on stderr", what);

	/* Bundled short options, the long form, the family forced. */
	h_stamp(RUN_MS, &r, type == SOCK_DGRAM ? (family == AF_INET ? "-qu4" : "-qu6") :
	    (family == AF_INET ? "-q4" : "-q6"), f.host, f.port, "--protocol",
	    proto, NULL);
	snprintf(want, sizeof want, "%lld\n", (long long)t);
	is_int(r.status, 0, "%s -q: exit 0", what);
	is_str(r.out, want, "%s -q: only the seconds", what);
	fake_stop(&f);
}

/* A bad reply makes stamp exit 3 and say what is wrong. */
static void
bad(const char *proto, int type, const char *reply, size_t len,
    const char *reason, const char *what)
{
	struct h_result	 r;
	struct fake	 f;
	char		 re[256];

	if (fake_start(&f, AF_INET, type, SERVE, reply, len) == -1) {
		ok(0, "%s: fake server: %s", what, strerror(errno));
		return;
	}
	h_stamp(RUN_MS, &r, type == SOCK_DGRAM ? "-u" : "-4", "-P", proto, "127.0.0.1",
	    f.port, NULL);
	is_int(r.status, 3, "%s %s/%s: exit 3", what, proto,
	    type == SOCK_DGRAM ? "udp" : "tcp");
	snprintf(re, sizeof re, "^stamp: 127\\.0\\.0\\.1:%s: malformed %s "
	    "reply: %s\n$", f.port, proto, reason);
	like(r.err, re, "%s: says why", what);
	is_str(r.out, "", "%s: prints no time", what);
	fake_stop(&f);
}

static void
malformed(void)
{
	char	 big[600];

	memset(big, '7', sizeof big);
	big[sizeof big - 2] = '\r';
	big[sizeof big - 1] = '\n';
	bad("time", SOCK_STREAM, "\x01\x02\x03", 3, "short reply.*", "short");
	bad("time", SOCK_STREAM, "\x01\x02\x03\x04\x05", 5, "long reply.*",
	    "five bytes");
	bad("stamp", SOCK_STREAM, big, sizeof big, "reply too long",
	    "600 bytes");
	bad("stamp", SOCK_DGRAM, big, sizeof big, "reply too long",
	    "600-byte datagram");
	bad("daytime", SOCK_STREAM, big, 513, "reply too long", "513 bytes");
	bad("stamp", SOCK_STREAM, "12a4\r\n", 6, ".+", "non-digits");
	bad("stamp", SOCK_STREAM, "99999999999999999999999\r\n", 25, ".+",
	    "overflow");
	bad("stamp", SOCK_STREAM, "1764068443", 10, ".+", "no CRLF");
	bad("stamp", SOCK_STREAM, "1764\00068443\r\n", 12, ".+", "NUL byte");
	bad("stamp", SOCK_STREAM, "", 0, ".+", "closed without a byte");
	bad("time", SOCK_STREAM, "", 0, ".+", "closed without a byte");
	bad("daytime", SOCK_STREAM, "", 0, ".+", "closed without a byte");
	bad("stamp", SOCK_DGRAM, "", 0, ".+", "empty datagram");
	bad("time", SOCK_DGRAM, "\xff\xff", 2, "short reply.*",
	    "short datagram");
	bad("daytime", SOCK_STREAM, "Someday soon\r\n", 14, ".+", "garbage");
}

/* Both sides of the RFC 868 wrap of 2036-02-07 06:28:16 UTC. */
static void
wrap(const char *bytes, const char *secs, const char *date)
{
	struct h_result	 r;
	struct fake	 f;
	char		 re[128], want[32];

	if (fake_start(&f, AF_INET, SOCK_STREAM, SERVE, bytes, 4) == -1) {
		ok(0, "wrap: fake server: %s", strerror(errno));
		return;
	}
	h_stamp(RUN_MS, &r, "-P", "time", "127.0.0.1", f.port, NULL);
	is_int(r.status, 0, "time %s: exit 0", secs);
	snprintf(re, sizeof re, "^%s %s UTC offset ", secs, date);
	like(r.out, re, "time %s: read as %s", secs, date);
	h_stamp(RUN_MS, &r, "-q", "-P", "time", "127.0.0.1", f.port, NULL);
	snprintf(want, sizeof want, "%s\n", secs);
	is_str(r.out, want, "time %s: -q", secs);
	fake_stop(&f);
}

static void
network_errors(void)
{
	struct h_result	 r;
	struct fake	 f;
	char		 re[128];

	if (closed_port(SOCK_STREAM, &f) == 0) {
		h_stamp(RUN_MS, &r, "127.0.0.1", f.port, NULL);
		is_int(r.status, 1, "closed TCP port: exit 1");
		snprintf(re, sizeof re, "^stamp: 127\\.0\\.0\\.1:%s: "
		    "Connection refused\n$", f.port);
		like(r.err, re, "closed TCP port: refused");
	} else
		ok(0, "closed TCP port: %s", strerror(errno));

	if (closed_port(SOCK_DGRAM, &f) == 0) {
		h_stamp(RUN_MS, &r, "-T", "udp", "127.0.0.1", f.port, NULL);
		is_int(r.status, 1, "closed UDP port: exit 1");
		snprintf(re, sizeof re, "^stamp: 127\\.0\\.0\\.1:%s: "
		    "Connection refused\n$", f.port);
		like(r.err, re, "closed UDP port: refused (ICMP)");
	} else
		ok(0, "closed UDP port: %s", strerror(errno));

	if (fake_start(&f, AF_INET, SOCK_STREAM, SILENT, "", 0) == 0) {
		h_stamp(RUN_MS, &r, "-t", "0.5", "127.0.0.1", f.port, NULL);
		ok(r.status != -1, "silent TCP server: stamp ended by itself");
		is_int(r.status, 1, "silent TCP server: exit 1");
		snprintf(re, sizeof re, "^stamp: 127\\.0\\.0\\.1:%s: "
		    "timed out after 0\\.5s\n$", f.port);
		like(r.err, re, "silent TCP server: timed out");
		fake_stop(&f);
	} else
		ok(0, "silent TCP server: %s", strerror(errno));

	if (fake_start(&f, AF_INET, SOCK_DGRAM, SILENT, "", 0) == 0) {
		h_stamp(RUN_MS, &r, "-u", "-r", "1", "-t", "0.5", "127.0.0.1", f.port,
		    NULL);
		ok(r.status != -1, "silent UDP server: stamp ended by itself");
		is_int(r.status, 1, "silent UDP server: exit 1");
		like(r.err, "timed out after 0\\.5s\n$",
		    "silent UDP server: timed out");
		fake_stop(&f);
	} else
		ok(0, "silent UDP server: %s", strerror(errno));
}

/* A lost datagram is made up for by a retry, and only by one. */
static void
retries(void)
{
	struct h_result	 r;
	struct fake	 f;
	char		 reply[32], want[32];
	time_t		 t = time(NULL);
	size_t		 len;

	len = encode("stamp", 0, t, reply, sizeof reply);
	snprintf(want, sizeof want, "%lld\n", (long long)t);
	if (fake_start(&f, AF_INET, SOCK_DGRAM, SECOND, reply, len) == 0) {
		h_stamp(RUN_MS, &r, "-q", "-T", "udp", "-r", "2", "-t", "3s",
		    "127.0.0.1", f.port, NULL);
		is_int(r.status, 0, "second datagram answered, -r 2: exit 0");
		is_str(r.out, want, "second datagram answered, -r 2: time");
		fake_stop(&f);
	} else
		ok(0, "UDP fake server: %s", strerror(errno));
	if (fake_start(&f, AF_INET, SOCK_DGRAM, SECOND, reply, len) == 0) {
		h_stamp(RUN_MS, &r, "-q", "-T", "udp", "-r", "0", "-t", "1s",
		    "127.0.0.1", f.port, NULL);
		is_int(r.status, 1, "second datagram answered, -r 0: exit 1");
		like(r.err, "timed out after 1s\n$",
		    "second datagram answered, -r 0: timed out");
		is_str(r.out, "", "second datagram answered, -r 0: no time");
		fake_stop(&f);
	} else
		ok(0, "UDP fake server: %s", strerror(errno));
}

static void
verbose(void)
{
	struct h_result	 r;
	struct fake	 f;
	char		 reply[32], re[128];
	time_t		 t = time(NULL);
	size_t		 len;

	len = encode("stamp", 0, t, reply, sizeof reply);
	if (fake_start(&f, AF_INET, SOCK_STREAM, SERVE, reply, len) == -1) {
		ok(0, "-v: fake server: %s", strerror(errno));
		return;
	}
	h_stamp(RUN_MS, &r, "-v", "-p", f.port, "127.0.0.1", NULL);
	is_int(r.status, 0, "-v -p: exit 0");
	snprintf(re, sizeof re, "trying 127\\.0\\.0\\.1:%s \\(stamp/tcp\\)",
	    f.port);
	like(r.err, re, "-v: the address tried");
	snprintf(re, sizeof re, "\"%lld\\\\r\\\\n\"", (long long)t);
	like(r.err, re, "-v: the raw reply, escaped");
	fake_stop(&f);
}

static void
usage_errors(void)
{
	static const char *const cases[][4] = {
		{ "-x", NULL },
		{ "--bogus", NULL },
		{ "-P", "bogus", NULL },
		{ "-t", "0", NULL },
		{ "-t", "abc", NULL },
		{ "-t", "3601", NULL },
		{ "-t", "2x", NULL },
		{ "-t", "1.5ms", NULL },
		{ "-t", "3601s", NULL },
		{ "-T", "sctp", NULL },
		{ "-T", "tcp", "-P", "ntp" },
		{ "-q", "--json", NULL },
		{ "-r", "101", NULL },
		{ "-p", "1", "127.0.0.1", "2" },
		{ "127.0.0.1", "1", "2", NULL },
		{ "127.0.0.1", "65536", NULL },
		{ "-t", NULL },
	};
	struct h_result	 r;
	size_t		 i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		h_stamp(RUN_MS, &r, cases[i][0], cases[i][1], cases[i][2], cases[i][3],
		    NULL);
		is_int(r.status, 2, "usage error %s%s%s: exit 2", cases[i][0],
		    cases[i][1] ? " " : "", cases[i][1] ? cases[i][1] : "");
		like(r.err, "^stamp: .*\nusage: stamp ",
		    "usage error %s: a reason and the usage", cases[i][0]);
		is_str(r.out, "", "usage error %s: nothing on stdout",
		    cases[i][0]);
	}
	h_stamp(RUN_MS, &r, "--help", NULL);
	is_int(r.status, 0, "--help: exit 0");
	like(r.out, "^usage: stamp ", "--help: usage on stdout");
	like(r.out, "--timeout", "--help: lists the options");
	h_stamp(RUN_MS, &r, "--version", NULL);
	is_int(r.status, 0, "--version: exit 0");
	is_str(r.out, "stamp " STAMP_VERSION "\n", "--version: the version");
}

static void
ipv6(void)
{
	struct fake	 f;
	int		 fd;

	if ((fd = bind_loopback(AF_INET6, SOCK_STREAM, &f)) == -1) {
		diag("::1 cannot be bound: %s", strerror(errno));
		skip("no IPv6 loopback");
		return;
	}
	close(fd);
	good("stamp", 0, AF_INET6, SOCK_STREAM);
	good("time", 0, AF_INET6, SOCK_DGRAM);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	h_prog("STAMP");

	good("stamp", 0, AF_INET, SOCK_STREAM);
	good("time", 0, AF_INET, SOCK_STREAM);
	good("daytime", 0, AF_INET, SOCK_STREAM);
	good("daytime", 1, AF_INET, SOCK_STREAM);
	good("stamp", 0, AF_INET, SOCK_DGRAM);
	good("time", 0, AF_INET, SOCK_DGRAM);
	good("daytime", 0, AF_INET, SOCK_DGRAM);
	ipv6();
	verbose();
	malformed();
	wrap("\xff\xff\xff\xff", "2085978495", "2036-02-07 06:28:15");
	wrap("\x00\x00\x00\x00", "2085978496", "2036-02-07 06:28:16");
	network_errors();
	retries();
	usage_errors();
	return done_testing();
}
