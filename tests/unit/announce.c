/*
 * tests/unit/announce.c: the pure parts of --announce, as tables.
 *
 * announce_parse decides what kind of socket a target gets (multicast
 * options, SO_BROADCAST, neither) and refuses what cannot be sent to, each
 * with the sentence stampd prints; announce_next is the whole of the
 * schedule's arithmetic, so both sides of each grid point are checked;
 * announce_describe is the daemon's start-up line.  Nothing here opens a
 * socket: the sending is tested in tests/sh/multicast.t, inside a network
 * namespace of its own.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <stdio.h>
#include <string.h>

#include "announce.h"
#include "proto.h"
#include "tap.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static void
test_good(void)
{
	static const struct {
		const char	*text;
		int		 kind, family, proto;
		const char	*name;
	} good[] = {
		{ "udp:239.255.19.37:1937", ANNOUNCE_MULTICAST, AF_INET,
		    STAMP_PROTO_STAMP, "udp 239.255.19.37:1937 stamp" },
		{ "udp:224.0.0.1:37/time", ANNOUNCE_MULTICAST, AF_INET,
		    STAMP_PROTO_TIME, "udp 224.0.0.1:37 time" },
		{ "udp:239.255.255.255:13/daytime", ANNOUNCE_MULTICAST,
		    AF_INET, STAMP_PROTO_DAYTIME,
		    "udp 239.255.255.255:13 daytime" },
		/* Just outside 224.0.0.0/4, on both sides. */
		{ "udp:223.255.255.255:1937", ANNOUNCE_BROADCAST, AF_INET,
		    STAMP_PROTO_STAMP, "udp 223.255.255.255:1937 stamp" },
		{ "udp:240.0.0.0:1937", ANNOUNCE_BROADCAST, AF_INET,
		    STAMP_PROTO_STAMP, "udp 240.0.0.0:1937 stamp" },
		{ "udp:255.255.255.255:1937", ANNOUNCE_BROADCAST, AF_INET,
		    STAMP_PROTO_STAMP, "udp 255.255.255.255:1937 stamp" },
		{ "udp:127.255.255.255:1", ANNOUNCE_BROADCAST, AF_INET,
		    STAMP_PROTO_STAMP, "udp 127.255.255.255:1 stamp" },
		{ "udp:127.0.0.1:65535", ANNOUNCE_BROADCAST, AF_INET,
		    STAMP_PROTO_STAMP, "udp 127.0.0.1:65535 stamp" },
		{ "udp:[ff05::1937]:1937", ANNOUNCE_MULTICAST, AF_INET6,
		    STAMP_PROTO_STAMP, "udp [ff05::1937]:1937 stamp" },
		{ "udp:[ff02::1]:37/time", ANNOUNCE_MULTICAST, AF_INET6,
		    STAMP_PROTO_TIME, "udp [ff02::1]:37 time" },
		{ "udp:[feff::1]:1937", ANNOUNCE_UNICAST, AF_INET6,
		    STAMP_PROTO_STAMP, "udp [feff::1]:1937 stamp" },
		{ "udp:[::1]:1937", ANNOUNCE_UNICAST, AF_INET6,
		    STAMP_PROTO_STAMP, "udp [::1]:1937 stamp" },
	};
	struct announce_target	 t;
	const char		*why;
	size_t			 i;

	for (i = 0; i < NELEM(good); i++) {
		memset(&t, 0x55, sizeof t);
		why = announce_parse(good[i].text, &t);
		if (!ok(why == NULL, "%s parses", good[i].text)) {
			diag("reason: %s", why);
			continue;
		}
		is_int(t.kind, good[i].kind, "%s: kind", good[i].text);
		is_int(t.spec.addr.ss_family, good[i].family, "%s: family",
		    good[i].text);
		is_int(t.spec.proto, good[i].proto, "%s: protocol",
		    good[i].text);
		is_int(t.fd, -1, "%s: no socket yet", good[i].text);
		is_int((long long)(t.sent + t.failed), 0, "%s: counters 0",
		    good[i].text);
		is_str(t.name, good[i].name, "%s: name", good[i].text);
	}
}

static void
test_bad(void)
{
	static const struct {
		const char	*text;
		const char	*why;
	} bad[] = {
		{ "tcp:239.255.19.37:1937",
		    "--announce needs udp: a stream has one peer only" },
		{ "tcp:127.0.0.1:1937",
		    "--announce needs udp: a stream has one peer only" },
		{ "udp:*:1937", "want one address to send to, not *" },
		{ "udp:239.255.19.37:0", "port 0 cannot be sent to" },
		{ "udp:0.0.0.0:1937", "0.0.0.0 is no address to send to" },
		{ "udp:[::]:1937", ":: is no address to send to" },
		/* net_parse_spec's own sentences come through as they are. */
		{ "sctp:239.255.19.37:1937", "transport must be tcp or udp" },
		{ "udp:239.255.19.37", "no port: want TRANSPORT:ADDRESS:PORT" },
		{ "udp:239.255.19.37:1937/echo", "protocol must be stamp, "
		    "time, daytime, ntp, nts-ke or metrics" },
		{ "udp:239.255.19.37:1937/nts-ke", "nts-ke needs tcp" },
		{ "udp:239.255.19.37:1937/ntp",
		    "ntp is asked for, never announced" },
		{ "udp:239.255.19.37:65536",
		    "port must be a number from 0 to 65535" },
		{ "udp:group:1937",
		    "not a numeric IPv4 address (IPv6 goes in [])" },
		{ "udp:[ff05::1937:1937", "IPv6 address has no closing ']'" },
		{ "udp:ff05::1937:1937",
		    "port must be a number from 0 to 65535" },
		{ "udp:ff05:1937", "not a numeric IPv4 address (IPv6 goes in [])" },
	};
	struct announce_target	 t;
	const char		*why;
	size_t			 i;

	for (i = 0; i < NELEM(bad); i++) {
		why = announce_parse(bad[i].text, &t);
		is_str(why != NULL ? why : "(accepted)", bad[i].why,
		    "%s is refused", bad[i].text);
	}
}

static void
test_next(void)
{
	static const struct {
		long long	 now, every, want;
	} next[] = {
		/* Just before, on and just after a whole second. */
		{ 1795604972999LL, 1000, 1795604973000LL },
		{ 1795604973000LL, 1000, 1795604974000LL },
		{ 1795604973001LL, 1000, 1795604974000LL },
		/* Every 5 s lands on :00, :05, ...: 1795604975 is one. */
		{ 1795604973000LL, 5000, 1795604975000LL },
		{ 1795604974999LL, 5000, 1795604975000LL },
		{ 1795604975000LL, 5000, 1795604980000LL },
		/* A day: midnight UTC. */
		{ 1795604973000LL, 86400000, 1795651200000LL },
		/* Fractions of a second keep their own grid. */
		{ 1795604973000LL, 1500, 1795604973000LL + 1500 -
		    1795604973000LL % 1500 },
		{ 0, 1000, 1000 },
		{ 999, 1000, 1000 },
		/* Before 1970 the grid still runs forward, not toward 0. */
		{ -1, 1000, 0 },
		{ -1000, 1000, 0 },
		{ -1001, 1000, -1000 },
	};
	size_t	 i;

	for (i = 0; i < NELEM(next); i++)
		is_int(announce_next(next[i].now, next[i].every),
		    next[i].want, "next after %lld every %lld ms",
		    next[i].now, next[i].every);
}

static void
test_describe(void)
{
	static const struct {
		const char	*text;
		long long	 every_ms;
		int		 ttl;
		const char	*ifname;
		const char	*want;
	} d[] = {
		{ "udp:239.1.2.3:1937", 1000, 1, NULL,
		    "udp 239.1.2.3:1937 stamp every 1s, ttl 1" },
		{ "udp:239.1.2.3:1937/time", 86400000, 255, "eth0",
		    "udp 239.1.2.3:1937 time every 86400s, ttl 255, via eth0" },
		{ "udp:192.0.2.255:13/daytime", 1500, 1, NULL,
		    "udp 192.0.2.255:13 daytime every 1.5s" },
		{ "udp:[ff05::1937]:1937", 2250, 7, "mc0",
		    "udp [ff05::1937]:1937 stamp every 2.25s, ttl 7, via mc0" },
		{ "udp:[::1]:1937", 1001, 1, NULL,
		    "udp [::1]:1937 stamp every 1.001s" },
	};
	struct announce	 a;
	char		 buf[128];
	size_t		 i;

	for (i = 0; i < NELEM(d); i++) {
		announce_init(&a);
		if (!ok(announce_parse(d[i].text, &a.t[0]) == NULL,
		    "%s parses", d[i].text))
			continue;
		a.n = 1;
		a.every_ms = d[i].every_ms;
		a.ttl = d[i].ttl;
		a.ifname = d[i].ifname;
		is_str(announce_describe(&a, 0, buf, sizeof buf), d[i].want,
		    "describe %s", d[i].text);
	}
}

static void
test_defaults(void)
{
	struct announce	 a;

	memset(&a, 0x55, sizeof a);
	announce_init(&a);
	is_int(a.n, 0, "no targets at first");
	is_int(a.ttl, 1, "multicast TTL 1 by default: this link only");
	is_int(a.every_ms, 1000, "every second by default");
	is_int(a.ifindex, 0, "no interface by default: the routes decide");
	ok(a.ifname == NULL, "no interface name by default");
	is_int(a.running, 0, "no thread yet");
	/* Stopping what never started closes nothing and waits for nothing. */
	announce_stop(&a);
	ok(1, "announce_stop without announce_start returns");
}

int
main(void)
{
	test_good();
	test_bad();
	test_next();
	test_describe();
	test_defaults();
	return done_testing();
}
