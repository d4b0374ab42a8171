/*
 * tests/unit/net.c: the listener parser and the option number parsers, as
 * tables.
 *
 * net_parse_spec is pure, so every good spec is checked field by field
 * (and through net_addr_str, which must give the address back) and every
 * bad one by the exact sentence it returns: stampd prints that sentence,
 * so a change of wording is a change a user sees.  The daemon's default
 * listeners are parsed here, because starting stampd without -l would bind
 * the real port 1937.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "net.h"
#include "proto.h"
#include "tap.h"
#include "util.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define UNTOUCHED	0x5eed5eedLL

static void
test_good_specs(void)
{
	static const struct {
		const char	*text;
		int		 type, proto, any, family;
		const char	*addr;		/* as net_addr_str writes it */
		int		 port;
	} good[] = {
		/* The daemon's defaults, as in stampd.c. */
		{ "tcp:*:1937/stamp", SOCK_STREAM, STAMP_PROTO_STAMP, 1,
		    AF_INET6, "[::]:1937", 1937 },
		{ "udp:*:1937/stamp", SOCK_DGRAM, STAMP_PROTO_STAMP, 1,
		    AF_INET6, "[::]:1937", 1937 },
		{ "tcp:*:1937", SOCK_STREAM, STAMP_PROTO_STAMP, 1,
		    AF_INET6, "[::]:1937", 1937 },
		{ "tcp:127.0.0.1:1937", SOCK_STREAM, STAMP_PROTO_STAMP, 0,
		    AF_INET, "127.0.0.1:1937", 1937 },
		{ "tcp:127.0.0.1:0", SOCK_STREAM, STAMP_PROTO_STAMP, 0,
		    AF_INET, "127.0.0.1:0", 0 },
		{ "udp:[::1]:0/time", SOCK_DGRAM, STAMP_PROTO_TIME, 0,
		    AF_INET6, "[::1]:0", 0 },
		{ "tcp:127.0.0.1:65535/daytime", SOCK_STREAM,
		    STAMP_PROTO_DAYTIME, 0, AF_INET, "127.0.0.1:65535",
		    65535 },
		{ "udp:0.0.0.0:37/time", SOCK_DGRAM, STAMP_PROTO_TIME, 0,
		    AF_INET, "0.0.0.0:37", 37 },
		{ "udp:[::1]:123/ntp", SOCK_DGRAM, STAMP_PROTO_NTP, 0,
		    AF_INET6, "[::1]:123", 123 },
		{ "tcp:[::]:13/daytime", SOCK_STREAM, STAMP_PROTO_DAYTIME, 0,
		    AF_INET6, "[::]:13", 13 },
		{ "tcp:[::1]:1937/stamp", SOCK_STREAM, STAMP_PROTO_STAMP, 0,
		    AF_INET6, "[::1]:1937", 1937 },
		{ "udp:255.255.255.255:1", SOCK_DGRAM, STAMP_PROTO_STAMP, 0,
		    AF_INET, "255.255.255.255:1", 1 },
		{ "tcp:127.0.0.1:00080", SOCK_STREAM, STAMP_PROTO_STAMP, 0,
		    AF_INET, "127.0.0.1:80", 80 },
		{ "tcp:[fe80::1:2]:7/time", SOCK_STREAM, STAMP_PROTO_TIME, 0,
		    AF_INET6, "[fe80::1:2]:7", 7 },
		{ "tcp:[::ffff:127.0.0.1]:9", SOCK_STREAM, STAMP_PROTO_STAMP,
		    0, AF_INET6, "127.0.0.1:9", 9 },
	};
	struct net_spec	 spec;
	char		 buf[NET_ADDRSTRLEN];
	const char	*why;
	size_t		 i;

	for (i = 0; i < NELEM(good); i++) {
		memset(&spec, 0xa5, sizeof spec);
		why = net_parse_spec(good[i].text, &spec);
		if (!is_str(why, NULL, "%s parses", good[i].text))
			continue;
		is_int(spec.type, good[i].type, "%s: type", good[i].text);
		is_int(spec.proto, good[i].proto, "%s: protocol",
		    good[i].text);
		is_int(spec.any, good[i].any, "%s: any", good[i].text);
		is_int(spec.addr.ss_family, good[i].family, "%s: family",
		    good[i].text);
		is_int(spec.addrlen, good[i].family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6),
		    "%s: address length", good[i].text);
		is_int(net_addr_port((struct sockaddr *)&spec.addr),
		    good[i].port, "%s: port", good[i].text);
		is_str(net_addr_str((struct sockaddr *)&spec.addr, buf,
		    sizeof buf), good[i].addr, "%s: address", good[i].text);
	}
}

static void
test_bad_specs(void)
{
	static const char	 transport[] = "transport must be tcp or udp";
	static const char	 noport[] =
	    "no port: want TRANSPORT:ADDRESS:PORT";
	static const char	 port[] =
	    "port must be a number from 0 to 65535";
	static const char	 v4[] =
	    "not a numeric IPv4 address (IPv6 goes in [])";
	static const char	 v6[] = "not a numeric IPv6 address";
	static const char	 bracket[] = "IPv6 address has no closing ']'";
	static const char	 proto[] =
	    "protocol must be stamp, time, daytime, ntp, nts-ke or metrics";
	static const char	 noaddr[] =
	    "no address: use * for every address";
	static const struct {
		const char	*text, *why;
	} bad[] = {
		{ "", transport },
		{ "tcp", transport },
		{ "TCP:127.0.0.1:1", transport },
		{ "sctp:127.0.0.1:1", transport },
		{ "udp6:[::1]:1", transport },
		{ "tcp:", noport },
		{ "tcp:127.0.0.1", noport },
		{ "tcp:[::1]", noport },
		{ "tcp:[::1]5", noport },
		{ "tcp:127.0.0.1:", port },
		{ "tcp:127.0.0.1:65536", port },
		{ "tcp:127.0.0.1:123/ntp", "ntp needs udp" },
		{ "tcp:127.0.0.1:99999", port },
		{ "tcp:127.0.0.1:100000", port },
		{ "tcp:127.0.0.1:-1", port },
		{ "tcp:127.0.0.1:+1", port },
		{ "tcp:127.0.0.1: 1", port },
		{ "tcp:127.0.0.1:abc", port },
		{ "tcp:127.0.0.1:1x", port },
		{ "tcp:127.0.0.1:/stamp", port },
		/* The first ':' ends an unbracketed address. */
		{ "tcp:::1:5", port },
		{ "tcp:[::1:5", bracket },
		{ "tcp:[::1]:5/", proto },
		{ "tcp:127.0.0.1:5/bogus", proto },
		{ "tcp:127.0.0.1:5/STAMP", proto },
		{ "tcp:127.0.0.1:5/stamp/time", proto },
		{ "udp::5", noaddr },
		{ "tcp:[]:5", noaddr },
		{ "tcp:1.2.3:5", v4 },
		{ "tcp:localhost:5", v4 },
		{ "tcp:256.0.0.1:5", v4 },
		{ "tcp:127.0.0.1 :5", v4 },
		{ "tcp:**:5", v4 },
		{ "tcp:[*]:5", v6 },
		{ "tcp:[127.0.0.1]:5", v6 },
		{ "tcp:[::1%lo]:5", v6 },
		{ "tcp:[1:2:3:4:5:6:7:8:9]:5", v6 },
		{ "tcp:[0000:0000:0000:0000:0000:0000:0000:0000:0000:1]:5",
		    "address too long" },
	};
	struct net_spec	 spec;
	size_t		 i;

	for (i = 0; i < NELEM(bad); i++)
		is_str(net_parse_spec(bad[i].text, &spec), bad[i].why,
		    "'%s' is refused", bad[i].text);
}

static void
test_number(void)
{
	static const struct {
		const char	*s;
		long long	 min, max;
		const char	*why;
		long long	 want;
	} t[] = {
		{ "0", 0, 10, NULL, 0 },
		{ "10", 0, 10, NULL, 10 },
		{ "1", 1, 1, NULL, 1 },
		{ "007", 0, 10, NULL, 7 },
		{ "-0", 0, 0, NULL, 0 },
		{ "-5", -5, 5, NULL, -5 },
		{ "65535", 1, 65535, NULL, 65535 },
		{ "9223372036854775807", LLONG_MIN, LLONG_MAX, NULL,
		    LLONG_MAX },
		{ "-9223372036854775808", LLONG_MIN, LLONG_MAX, NULL,
		    LLONG_MIN },
		{ "-9223372036854775807", LLONG_MIN, LLONG_MAX, NULL,
		    LLONG_MIN + 1 },
		{ "11", 0, 10, "out of range", 0 },
		{ "-1", 0, 10, "out of range", 0 },
		{ "-6", -5, 5, "out of range", 0 },
		{ "0", 1, 1024, "out of range", 0 },
		{ "65536", 1, 65535, "out of range", 0 },
		{ "9223372036854775808", LLONG_MIN, LLONG_MAX,
		    "out of range", 0 },
		{ "-9223372036854775809", LLONG_MIN, LLONG_MAX,
		    "out of range", 0 },
		{ "99999999999999999999", LLONG_MIN, LLONG_MAX,
		    "out of range", 0 },
		{ "-99999999999999999999", LLONG_MIN, LLONG_MAX,
		    "out of range", 0 },
		{ "", 0, 10, "not a whole number", 0 },
		{ "-", 0, 10, "not a whole number", 0 },
		{ "--1", -10, 10, "not a whole number", 0 },
		{ "+1", 0, 10, "not a whole number", 0 },
		{ "12a", 0, 100, "not a whole number", 0 },
		{ " 1", 0, 10, "not a whole number", 0 },
		{ "1 ", 0, 10, "not a whole number", 0 },
		{ "1.0", 0, 10, "not a whole number", 0 },
		{ "0x10", 0, 100, "not a whole number", 0 },
		{ "abc", 0, 10, "not a whole number", 0 },
	};
	long long	 v;
	size_t		 i;

	for (i = 0; i < NELEM(t); i++) {
		v = UNTOUCHED;
		is_str(util_number(t[i].s, t[i].min, t[i].max, &v), t[i].why,
		    "util_number '%s' in %lld..%lld", t[i].s, t[i].min,
		    t[i].max);
		is_int(v, t[i].why == NULL ? t[i].want : UNTOUCHED,
		    "util_number '%s': value", t[i].s);
	}
}

static void
test_seconds(void)
{
	static const struct {
		const char	*s;
		long long	 min, max;
		const char	*why;
		long long	 want;
	} t[] = {
		{ "5", 0, 60000, NULL, 5000 },
		{ "0", 0, 60000, NULL, 0 },
		{ "0.25", 0, 60000, NULL, 250 },
		{ "0.001", 1, 60000, NULL, 1 },
		{ "1.5", 0, 60000, NULL, 1500 },
		{ "1.", 0, 60000, NULL, 1000 },
		{ ".5", 0, 60000, NULL, 500 },
		{ "60", 0, 60000, NULL, 60000 },
		{ "060.000", 0, 60000, NULL, 60000 },
		/* Beyond the millisecond, digits are read and dropped. */
		{ "0.0001", 0, 60000, NULL, 0 },
		{ "0.9999", 0, 60000, NULL, 999 },
		{ "0.0001", 1, 60000, "out of range", 0 },
		{ "0", 1, 60000, "out of range", 0 },
		{ "60.001", 0, 60000, "out of range", 0 },
		{ "99999999999999999999", 0, LLONG_MAX, "out of range", 0 },
		{ "abc", 0, 60000, "not a number of seconds", 0 },
		{ "", 0, 60000, "not a number of seconds", 0 },
		{ ".", 0, 60000, "not a number of seconds", 0 },
		{ "-1", 0, 60000, "not a number of seconds", 0 },
		{ "+1", 0, 60000, "not a number of seconds", 0 },
		{ " 1", 0, 60000, "not a number of seconds", 0 },
		{ "1 ", 0, 60000, "not a number of seconds", 0 },
		{ "1.2.3", 0, 60000, "not a number of seconds", 0 },
		{ "1e3", 0, 60000, "not a number of seconds", 0 },
		{ "1,5", 0, 60000, "not a number of seconds", 0 },
		{ "5s", 0, 60000, "not a number of seconds", 0 },
	};
	long long	 v;
	size_t		 i;

	for (i = 0; i < NELEM(t); i++) {
		v = UNTOUCHED;
		is_str(util_seconds(t[i].s, t[i].min, t[i].max, &v), t[i].why,
		    "util_seconds '%s' in %lld..%lld ms", t[i].s, t[i].min,
		    t[i].max);
		is_int(v, t[i].why == NULL ? t[i].want : UNTOUCHED,
		    "util_seconds '%s': value", t[i].s);
	}
}

int
main(void)
{
	test_good_specs();
	test_bad_specs();
	test_number();
	test_seconds();
	return done_testing();
}
