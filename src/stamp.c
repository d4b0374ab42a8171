/*
 * stamp.c: the client.  Ask one server for the time in one of the three
 * protocols, over TCP or UDP, and print it with the offset of our clock;
 * or ask an NTP server (-P ntp) and print the offset and round-trip delay
 * its four timestamps give, or the same authenticated by NTS (-P nts: key
 * establishment over TLS first); or, with --listen, join a multicast group (or
 * wait on a port for broadcasts) and print each announcement that stampd
 * --announce sends.  Each result is a line of text, or with --json a JSON
 * object, and so is each failure.
 *
 * This is its main: the command line, and the one step it calls.  The
 * steps are modules of their own: stamp_query (the exchange, bounded by
 * one deadline, name resolution included), stamp_client (reaching the
 * server, the line printed), stamp_ntp (-P ntp), stamp_nts (-P nts,
 * built only with GnuTLS) and stamp_listen
 * (--listen, the only one that may wait for ever, as it is told).  Over
 * TCP it never sends a byte; over UDP it sends empty datagrams only, or
 * 48-byte NTP requests (with NTS's fields under -P nts, after the key
 * establishment's TLS), and when listening nothing at all.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "net.h"
#include "ntske.h"
#include "opt.h"
#include "proto.h"
#include "stamp_client.h"
#include "stamp_listen.h"
#include "stamp_ntp.h"
#include "stamp_nts.h"
#include "stamp_query.h"
#include "wire.h"

#define ABOUT \
"Ask a time server the time, in stamp (\"%lld\\r\\n\" of the Unix time), RFC 868\n" \
"time or RFC 867 daytime, over TCP or UDP, and print it with its offset from\n" \
"the local clock; or ask an NTP server (over UDP) and print the offset and\n" \
"round-trip delay, authenticated by NTS with -P nts (key establishment\n" \
"over TLS first).  HOST is 127.0.0.1 unless given (::1 with -6); PORT is\n" \
"the protocol's (1937, 37, 13, 123; for nts the key establishment's,\n" \
"4460).  DURATION is a number and its unit, 500ms or 2s; a bare number is\n" \
"seconds.  Exit: 0 ok, 1 failure (refused, timeout, TLS, an unsynchronized\n" \
"NTP server, an NTS NAK), 2 usage, 3 malformed or unauthenticated reply."

#define A(field)	offsetof(struct stamp_client_args, field)

enum {
	ARG_CA = OPT_LONG,
	ARG_INTERFACE,
	ARG_JSON,
	ARG_UNSYNCED,
};

/* In the order of --help. */
static const struct opt opts[] = {
	{ "ipv4", '4', OPT_NONE, NULL, 0, 0, 0, 0, "use IPv4 only" },
	{ "ipv6", '6', OPT_NONE, NULL, 0, 0, 0, 0, "use IPv6 only" },
	{ "ca", ARG_CA, OPT_STR, "FILE", A(ca), 0, 0, 0,
	    "with -P nts: trust the certificate authorities\n"
	    "in FILE (PEM), not the system's" },
	{ "help", 'h', OPT_NONE, NULL, 0, 0, 0, 0, "print this help and exit" },
	{ "listen", 'l', OPT_STR, "SPEC", A(lspec), 0, 0, 0,
	    "print the announcements sent to SPEC,\n"
	    "udp:GROUP:PORT (joined), or\n"
	    "udp:0.0.0.0:PORT or udp:[::]:PORT for\n"
	    "broadcast and unicast" },
	{ "count", 'n', OPT_LLONG, "N", A(count), 1, 1000000000, 0,
	    "with -l: stop after N announcements (default: never)" },
	{ "interface", ARG_INTERFACE, OPT_STR, "NAME", A(ifname), 0, 0, 0,
	    "with -l: join the group on NAME (default: as the\n"
	    "routes say)" },
	{ "json", ARG_JSON, OPT_FLAG, NULL, A(json), 0, 0, 0,
	    "print each result (or failure) as one JSON object\n"
	    "on a line" },
	{ "protocol", 'P', OPT_ARG, "NAME", 0, 0, 0, 0,
	    "stamp (default), time, daytime, ntp (over UDP),\n"
	    "or nts (NTP authenticated by NTS)" },
	{ "port", 'p', OPT_INT, "PORT", A(port), 1, 65535, -1,
	    "port (default: the protocol's: 1937, 37, 13, 123;\n"
	    "nts: 4460, its key establishment's)" },
	{ "quiet", 'q', OPT_FLAG, NULL, A(quiet), 0, 0, 0,
	    "print only the Unix time" },
	{ "retries", 'r', OPT_INT, "N", A(retries), 0, 100, 2,
	    "UDP: resend the datagram up to N times (default 2)" },
	/* A millisecond is the finest that poll can wait. */
	{ "timeout", 't', OPT_ARG, "DURATION", 0, 0, 0, 0,
	    "give up after DURATION in all (default 5s; with -l\n"
	    "none)" },
	{ "transport", 'T', OPT_ARG, "NAME", 0, 0, 0, 0,
	    "tcp (default) or udp; ntp and nts choose their own" },
	{ "udp", 'u', OPT_NONE, NULL, 0, 0, 0, 0,
	    "the old spelling of -T udp, kept for scripts" },
	{ "unsynced", ARG_UNSYNCED, OPT_FLAG, NULL, A(unsynced), 0, 0, 0,
	    "with -P ntp or nts: print an unsynchronized\n"
	    "server's time and exit 0, rather than refuse it" },
	{ "version", 'V', OPT_NONE, NULL, 0, 0, 0, 0,
	    "print the version and exit" },
	{ "verbose", 'v', OPT_FLAG, NULL, A(verbose), 0, 0, 0,
	    "print the address and the raw reply to stderr;\n"
	    "with -l also the port, and each TTL" },
	{ NULL, 0, 0, NULL, 0, 0, 0, 0, NULL }
};

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: stamp [-46hqVv] [-P protocol] [-p port] "
	    "[-r retries] [-T tcp | udp]\n"
	    "             [-t duration] [--ca file] [--json] [--unsynced] "
	    "[host [port]]\n"
	    "       stamp -l spec [-hqVv] [-n count] [-P protocol] "
	    "[-t duration]\n"
	    "             [--interface name] [--json]\n");
}

/* What no one option can say alone; then the operands. */
static void
check(struct stamp_client_args *a, int argc, char *argv[])
{
	if (a->lspec == NULL && (a->count != 0 || a->ifname != NULL))
		opt_fail("-n and --interface go with --listen");
	if (a->lspec != NULL && (argc > 0 || a->port != -1))
		opt_fail("--listen takes no host and no port: SPEC names "
		    "them");
	if (a->lspec != NULL && (a->family != AF_UNSPEC || a->retried))
		opt_fail("-4, -6 and -r do not apply to --listen");
	if (a->lspec != NULL && a->ntp)
		opt_fail("--listen hears stamp, time or daytime: stampd "
		    "announces no NTP");
	if (a->unsynced && !a->ntp)
		opt_fail("--unsynced goes with -P ntp or -P nts");
	if (a->ca != NULL && !a->nts)
		opt_fail("--ca goes with -P nts");
	if (a->nts && a->transported)
		opt_fail("-T does not apply to -P nts: its key establishment "
		    "is TLS over TCP, its NTP over UDP");
	/* NTP is a datagram protocol only: TCP port 123 serves nothing. */
	if (a->ntp && !a->nts && a->transported && !a->udp)
		opt_fail("-T tcp does not apply to -P ntp: NTP is over UDP "
		    "only");
	if (a->lspec != NULL && a->transported && !a->udp)
		opt_fail("-T tcp does not apply to --listen: announcements "
		    "come over UDP");
	if (a->ntp && !a->nts)
		a->udp = 1;
	if (a->json && a->quiet)
		opt_fail("-q and --json exclude each other");
	if (argc > 2)
		opt_fail("too many operands");
	if (argc == 2 && a->port != -1)
		opt_fail("a port both as -p and as an operand");
	if (argc == 2)
		a->port = (int)opt_number("port", argv[1], 1, 65535);
	if (argc >= 1)
		a->host = argv[0];
	else if (a->family == AF_INET6)
		a->host = "::1";
	if (a->port == -1)
		a->port = a->nts ? NTSKE_PORT : wire_proto_port(a->proto);
}

static void
parse(struct stamp_client_args *a, int argc, char *argv[])
{
	int	 ch, family;

	opt_init("stamp", usage);
	opt_defaults(opts, a);
	/*
	 * A number, not "localhost": no resolver is asked, and the name may
	 * give ::1 first where the server listens on 127.0.0.1 only.
	 */
	a->host = "127.0.0.1";
	a->timeout_ms = 5000;
	a->proto = STAMP_PROTO_STAMP;
	a->family = AF_UNSPEC;
	while ((ch = opt_next(argc, argv, opts, a)) != -1) {
		switch (ch) {
		case '4':
		case '6':
			family = ch == '4' ? AF_INET : AF_INET6;
			if (a->family != AF_UNSPEC && a->family != family)
				opt_fail("-4 and -6 exclude each other");
			a->family = family;
			break;
		case 'h':
			opt_help_all(opts, ABOUT);
		case 'P':
			/*
			 * NTS is no protocol a stampd listener serves time
			 * in (wire.c's table): it is NTP, after a key
			 * establishment of its own.
			 */
			a->nts = strcmp(optarg, "nts") == 0;
#ifndef STAMP_NTS
			if (a->nts)
				opt_fail("built without NTS (GnuTLS)");
#endif
			if (a->nts)
				a->proto = STAMP_PROTO_NTP;
			else if ((a->proto = wire_proto_find(optarg)) == -1)
				opt_fail("--protocol %s: want stamp, time, "
				    "daytime, ntp or nts", optarg);
			/* NTP is a request and a reply: stamp_ntp's. */
			a->ntp = a->proto == STAMP_PROTO_NTP;
			break;
		case 'r':
			a->retried = 1;
			break;
		case 't':
			/* A bare number is seconds, as -t always took. */
			a->timeout_ms = opt_duration("--timeout", optarg, 1,
			    3600000, 1000);
			a->timed = 1;
			break;
		case 'T':
			if (strcmp(optarg, "tcp") != 0 &&
			    strcmp(optarg, "udp") != 0)
				opt_fail("--transport %s: want tcp or udp",
				    optarg);
			a->udp = strcmp(optarg, "udp") == 0;
			a->transported = 1;
			break;
		case 'u':
			a->udp = 1;
			a->transported = 1;
			break;
		case 'V':
			opt_version();
		}
	}
	check(a, argc - optind, argv + optind);
}

/*
 * Ask the server for the time and print it.  Returns the exit status: 0,
 * or 3 for a malformed reply.
 */
static int
ask(const struct stamp_client_args *a)
{
	static struct stamp_query q;
	char			 where[NET_ADDRSTRLEN];
	const char		*why;
	long long		 t;
	double			 mid;

	stamp_client_reach(&q, a, where);
	if (q.len > STAMP_QUERY_LIMIT)
		why = "reply too long";
	else if (wire_decode(a->proto, q.reply, q.len, &t, &why) == 0)
		why = NULL;
	if (why != NULL)
		return stamp_client_error(a, where, 3,
		    "%s: malformed %s reply: %s", where,
		    wire_proto_name(a->proto), why);
	/*
	 * The server says whole seconds, so the offset is good to one
	 * second only; it is not rounded to pretend otherwise.
	 */
	mid = (stamp_client_seconds(&q.sent) + stamp_client_seconds(&q.got)) /
	    2;
	stamp_client_show_seconds(a, t, (double)t - mid, where,
	    a->udp ? "udp" : "tcp");
	return 0;
}

int
main(int argc, char *argv[])
{
	static struct stamp_client_args a;
	struct sigaction	 sa;

	log_init("stamp");
	parse(&a, argc, argv);
	stamp_client_json_guard(&a);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		fatal("sigaction");
	if (a.lspec != NULL)
		return stamp_listen_announcements(&a);
#ifdef STAMP_NTS
	if (a.nts)
		return stamp_nts_ask(&a);
#endif
	if (a.ntp)
		return stamp_ntp_ask(&a);
	return ask(&a);
}
