/*
 * stampd: the time-stamp daemon.
 *
 * main reads as a checklist: options, listeners, signals, bind, report,
 * serve.  Before serving, any error is fatal and named; once serving, no
 * client's fault is (serve.c counts those), and only the model's own
 * invariants can stop it.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "announce.h"
#include "limit.h"
#include "log.h"
#include "model.h"
#include "net.h"
#include "proto.h"
#include "serve.h"
#include "sig.h"
#include "util.h"
#include "wire.h"

#define MAX_LISTENERS	64
#define DEFAULT_USER	"nobody"
#define MAX_PROXY_FROM	32
#define UDP_RATE	50	/* a second per source: a person, not a flood */

static const char *default_specs[] = {
	"tcp:*:1937/stamp",
	"udp:*:1937/stamp",
};

enum {
	OPT_ANNOUNCE = 256,
	OPT_ANNOUNCE_IF,
	OPT_ANNOUNCE_TTL,
	OPT_EVERY,
	OPT_INETD,
	OPT_LIMIT_LOOPBACK,
	OPT_LINGER,
	OPT_MAX_CONNS,
	OPT_MAX_SPARE,
	OPT_MAX_WORKERS,
	OPT_MIN_SPARE,
	OPT_PER_IP,
	OPT_PROXY_FROM,
	OPT_RATE,
	OPT_READY_FD,
	OPT_REUSEPORT,
	OPT_STATS_INTERVAL,
	OPT_SYSLOG,
	OPT_TIMESTAMPS,
	OPT_UDP_RATE,
};

static const struct option longopts[] = {
	{ "backlog",	 required_argument,	NULL,	'b' },
	{ "delay",	 required_argument,	NULL,	'D' },
	{ "help",	 no_argument,		NULL,	'h' },
	{ "listen",	 required_argument,	NULL,	'l' },
	{ "model",	 required_argument,	NULL,	'm' },
	{ "protocol",	 required_argument,	NULL,	'P' },
	{ "user",	 required_argument,	NULL,	'u' },
	{ "verbose",	 no_argument,		NULL,	'v' },
	{ "version",	 no_argument,		NULL,	'V' },
	{ "workers",	 required_argument,	NULL,	'w' },
	{ "announce",	 required_argument,	NULL,	OPT_ANNOUNCE },
	{ "announce-if", required_argument,	NULL,	OPT_ANNOUNCE_IF },
	{ "announce-ttl", required_argument,	NULL,	OPT_ANNOUNCE_TTL },
	{ "every",	 required_argument,	NULL,	OPT_EVERY },
	{ "inetd",	 no_argument,		NULL,	OPT_INETD },
	{ "limit-loopback", no_argument,	NULL,	OPT_LIMIT_LOOPBACK },
	{ "linger",	 required_argument,	NULL,	OPT_LINGER },
	{ "max-conns",	 required_argument,	NULL,	OPT_MAX_CONNS },
	{ "max-spare",	 required_argument,	NULL,	OPT_MAX_SPARE },
	{ "max-workers", required_argument,	NULL,	OPT_MAX_WORKERS },
	{ "min-spare",	 required_argument,	NULL,	OPT_MIN_SPARE },
	{ "per-ip",	 required_argument,	NULL,	OPT_PER_IP },
	{ "proxy-from",	 required_argument,	NULL,	OPT_PROXY_FROM },
	{ "rate",	 required_argument,	NULL,	OPT_RATE },
	{ "ready-fd",	 required_argument,	NULL,	OPT_READY_FD },
	{ "reuseport",	 no_argument,		NULL,	OPT_REUSEPORT },
	{ "stats-interval", required_argument,	NULL,	OPT_STATS_INTERVAL },
	{ "syslog",	 no_argument,		NULL,	OPT_SYSLOG },
	{ "timestamps",	 no_argument,		NULL,	OPT_TIMESTAMPS },
	{ "udp-rate",	 required_argument,	NULL,	OPT_UDP_RATE },
	{ NULL,		 0,			NULL,	0 }
};

static void
usage_line(FILE *f)
{
	fprintf(f,
	    "usage: stampd [-hVv] [-b backlog] [-D ms] [-l listener] "
	    "[-m model] [-P protocol]\n"
	    "              [-u user] [-w workers] [--announce spec] "
	    "[--announce-if name]\n"
	    "              [--announce-ttl n] [--every seconds] [--inetd]\n"
	    "              [--limit-loopback] [--linger ms] [--max-conns n] "
	    "[--max-spare n]\n"
	    "              [--max-workers n] [--min-spare n] [--per-ip n] "
	    "[--proxy-from addr]\n"
	    "              [--rate n] [--ready-fd fd] [--reuseport] "
	    "[--stats-interval seconds]\n"
	    "              [--syslog] [--timestamps] [--udp-rate n]\n");
}

static void __attribute__((noreturn))
usage(void)
{
	usage_line(stderr);
	exit(2);
}

static void __attribute__((noreturn))
help(void)
{
	size_t	 i;

	usage_line(stdout);
	printf("\n"
"Serve the time: stamp (\"%%lld\\r\\n\" of the Unix time), RFC 868 time and\n"
"RFC 867 daytime, over TCP and UDP.\n"
"\n"
"  -l, --listen SPEC     TRANSPORT:ADDRESS:PORT[/PROTOCOL], repeatable;\n"
"                        e.g. tcp:127.0.0.1:1937/stamp udp:[::1]:37/time\n"
"                        tcp:*:0 (* every address, port 0 any port);\n"
"                        tcp:127.0.0.1:1937/stamp+proxy: each client sends\n"
"                        a PROXY protocol header (v1 or v2) first.\n"
"                        Default: tcp:*:1937/stamp and udp:*:1937/stamp\n"
"  -m, --model NAME      server model (default %s):\n",
	    model_list[0]->name);
	for (i = 0; model_list[i] != NULL; i++)
		printf("                          %-10s %s\n",
		    model_list[i]->name, model_list[i]->summary);
	printf(
"  -w, --workers N       threads or processes of a pool (default: CPUs)\n"
"      --max-workers N   most threads or processes a model may have (256)\n"
"      --min-spare N     dynamic pool: fewest idle processes (2)\n"
"      --max-spare N     dynamic pool: most idle processes (8)\n"
"  -D, --delay MS        wait MS milliseconds before each reply (0)\n"
"  -b, --backlog N       listen backlog (default %d)\n"
"      --linger MS       drain a client still sending, at most MS (1000)\n"
"      --reuseport       SO_REUSEPORT: a socket per worker, and let other\n"
"                        processes share the port\n"
"      --max-conns N     connections open at once, at most (no limit)\n"
"      --per-ip N        connections open at once from one source address\n"
"                        (an IPv6 /64 counts as one), at most (no limit)\n"
"      --rate N          new connections a second from one source, at\n"
"                        most (no limit); over a limit: closed at once\n"
"      --proxy-from ADDR[/BITS]  who may send a PROXY header, repeatable\n"
"                        (default: 127.0.0.0/8 and ::1)\n"
"      --udp-rate N      UDP replies a second to one source address (or\n"
"                        IPv6 /64), at most; 0: no limit (default %d)\n"
"      --limit-loopback  apply limits to loopback sources too, which\n"
"                        cannot be forged from outside (off)\n"
"  -u, --user NAME       after binding, run as NAME and its groups; root\n"
"                        runs as " DEFAULT_USER " unless NAME is root\n"
"      --inetd           serve the one socket on standard input, as inetd,\n"
"                        tcpserver or xinetd hand it over, then exit\n"
"  -P, --protocol NAME   the protocol of --inetd and of sockets from\n"
"                        systemd without a name: stamp, time, daytime\n"
"      --announce SPEC   also send the time, unasked, to a multicast group\n"
"                        or a broadcast address: udp:ADDRESS:PORT[/PROTOCOL],\n"
"                        e.g. udp:239.255.19.37:1937 udp:[ff05::1937]:1937\n"
"                        udp:192.0.2.255:1937; repeatable, up to %d\n"
"      --every SECONDS   announce at each multiple of SECONDS of the Unix\n"
"                        time, 1 to 86400 (default 1)\n"
"      --announce-ttl N  multicast TTL or hop limit, 1 to 255 (default %d:\n"
"                        this link only; raise it to cross routers)\n"
"      --announce-if NAME  send through interface NAME (default: the one\n"
"                        the routes choose)\n"
"      --ready-fd FD     close FD once every listener is bound\n"
"      --stats-interval SECONDS  log the counters that often\n"
"  -v, --verbose         log Client:IP:PORT for each client\n"
"      --syslog          log to syslog instead of stderr\n"
"      --timestamps      put a UTC time stamp on each log line\n"
"  -h, --help            this help\n"
"  -V, --version         print the version\n"
"\n"
"Sockets passed by systemd (LISTEN_FDS) are served beside any -l; a\n"
"socket's FileDescriptorName (stamp, time, daytime) names its protocol.\n"
"Signals: TERM, INT stop (replies in flight finish); USR1 prints the\n"
"counters; HUP reopens the log.  Exit: 0 ok, 1 runtime failure, 2 usage.\n",
	    SOMAXCONN, UDP_RATE, ANNOUNCE_MAX, ANNOUNCE_TTL);
	exit(0);
}

/* Range-checked number of an option, or a usage error naming it. */
static long long
number(const char *opt, const char *arg, long long min, long long max)
{
	const char	*why;
	long long	 v;

	if ((why = util_number(arg, min, max, &v)) != NULL) {
		log_warnx("%s %s: %s (want %lld to %lld)", opt, arg, why,
		    min, max);
		usage();
	}
	return v;
}

static void
name_listener(struct listener *l)
{
	char	 addr[NET_ADDRSTRLEN];

	net_addr_str((struct sockaddr *)&l->addr, addr, sizeof addr);
	snprintf(l->name, sizeof l->name, "%s %s %s%s",
	    l->type == SOCK_STREAM ? "tcp" : "udp", addr,
	    wire_proto_name(l->proto), l->proxy ? "+proxy" : "");
}

/*
 * --reuseport: a socket per worker on the address l got, each its own
 * accept queue.  Made here, before privileges go: the kernel lets only the
 * same user join a SO_REUSEPORT group.
 */
static void
reuseport_group(struct listener *l, int workers, int backlog,
    const char *spec)
{
	struct net_spec	 same = l->spec;
	int		 k;

	if ((l->rpfd = calloc((size_t)workers, sizeof *l->rpfd)) == NULL)
		fatal("--reuseport");
	memcpy(&same.addr, &l->addr, l->addrlen);
	same.addrlen = l->addrlen;
	l->rpfd[0] = l->fd;
	for (k = 1; k < workers; k++)
		if ((l->rpfd[k] = net_listen(&same, backlog, 1, NULL,
		    NULL)) == -1)
			fatal("bind %s (--reuseport, worker %d)", spec, k);
}

/* Take fd as a listener made elsewhere, serving proto. */
static void
adopt(struct listener *l, int fd, int proto, const char *whose)
{
	if (net_adopt(fd, &l->spec) == -1)
		fatal("%s: fd %d", whose, fd);
	l->fd = fd;
	l->type = l->spec.type;
	l->proto = l->spec.proto = proto;
	memcpy(&l->addr, &l->spec.addr, l->spec.addrlen);
	l->addrlen = l->spec.addrlen;
	name_listener(l);
}

/*
 * The protocol a systemd socket's name asks for: "time", or "time-udp"
 * and the like; anything else gets the -P protocol.
 */
static int
fdname_proto(const char *names, size_t i, int fallback)
{
	char		 name[32];
	const char	*p = names;
	size_t		 n;
	int		 proto;

	for (; p != NULL && i > 0; i--)
		if ((p = strchr(p, ':')) != NULL)
			p++;
	if (p == NULL)
		return fallback;
	n = strcspn(p, ":-");
	if (n >= sizeof name)
		return fallback;
	memcpy(name, p, n);
	name[n] = '\0';
	return (proto = wire_proto_find(name)) == -1 ? fallback : proto;
}

/*
 * Sockets from systemd: sd_listen_fds(3), done by hand, as the daemon
 * depends on libc alone.  Returns how many were put in ls.
 */
static size_t
activated(struct listener *ls, size_t max, int proto)
{
	const char	*pid, *fds, *names;
	long long	 n;
	size_t		 i;

	pid = getenv("LISTEN_PID");
	fds = getenv("LISTEN_FDS");
	names = getenv("LISTEN_FDNAMES");
	if (pid == NULL || fds == NULL ||
	    util_number(pid, 1, INT_MAX, &n) != NULL || n != getpid())
		return 0;
	if (util_number(fds, 0, (long long)max, &n) != NULL)
		fatalx("LISTEN_FDS=%s: want 0 to %zu sockets", fds, max);
	for (i = 0; i < (size_t)n; i++)
		adopt(&ls[i], 3 + (int)i, fdname_proto(names, i, proto),
		    "LISTEN_FDS");
	/* Not for our children: they are not the pid it names. */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return (size_t)n;
}

/*
 * inetd mode: the connection (or, for UDP, the socket with a datagram
 * waiting) is on standard input; serve it once and exit.  Standard error
 * may be the same socket, as inetd and xinetd hand it over: then the log
 * goes to syslog, or it would reach the client.
 */
static int
inetd(struct server *srv, int proto)
{
	struct listener		 l;
	struct stats		 st;
	struct sockaddr_storage	 peer;
	struct stat		 sb;
	socklen_t		 len = sizeof peer;

	if (fstat(STDERR_FILENO, &sb) == -1 || S_ISSOCK(sb.st_mode))
		log_syslog();
	memset(&l, 0, sizeof l);
	memset(&st, 0, sizeof st);
	adopt(&l, STDIN_FILENO, proto, "--inetd: standard input");
	if (l.type == SOCK_STREAM) {
		if (getpeername(l.fd, (struct sockaddr *)&peer, &len) == -1)
			fatal("--inetd: standard input");
		serve_sleep(srv->delay_ms);
		serve_stream_blocking(srv, &l, l.fd, &peer, &st);
		return 0;
	}
	/* inetd starts a datagram service when one is waiting: bounded. */
	if (net_wait(l.fd, POLLIN, 5000) != 1)
		fatalx("--inetd: no datagram on standard input");
	serve_sleep(srv->delay_ms);
	return serve_datagrams(srv, &l, l.fd, 1, &st) == 1 ? 0 : 1;
}

/*
 * Run as user and its groups from now on, for good.  Root never serves
 * unless told to with --user root: without --user it becomes DEFAULT_USER
 * once its ports are bound.
 */
static void
drop_privileges(const char *user)
{
	struct passwd	*pw;

	if (user == NULL && geteuid() == 0)
		user = DEFAULT_USER;
	if (user == NULL)
		return;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL)
		fatalx("--user %s: %s", user, errno ? strerror(errno) :
		    "no such user");
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    setgid(pw->pw_gid) == -1 || setuid(pw->pw_uid) == -1)
		fatal("--user %s", user);
	/* Make sure there is no way back: a setuid(0) must now fail. */
	if (pw->pw_uid != 0 && setuid(0) == 0)
		fatalx("--user %s: could regain root", user);
}

int
main(int argc, char *argv[])
{
	static struct listener	 ls[MAX_LISTENERS];
	static struct announce	 ann;
	struct server		 srv;
	struct itimerval	 every;
	const struct model	*model = model_list[0];
	const char		*specs[MAX_LISTENERS], *why, *user = NULL;
	size_t			 nspecs = 0, nls, i, bytes, bad;
	long			 ncpu;
	long long		 stats_ms = 0;
	int			 ch, ready_fd = -1, inetd_mode = 0, rc, k;
	int			 announce_opts = 0;
	char			 what[128];
	int			 proto = STAMP_PROTO_STAMP;
	int			 max_conns = 0, per_ip = 0, rate = 0;
	static struct net_cidr	 proxy_from[MAX_PROXY_FROM];
	size_t			 nproxy = 0;

	log_init("stampd");
	memset(&srv, 0, sizeof srv);
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	srv.workers = ncpu > 0 && ncpu < 1024 ? (int)ncpu : 1;
	srv.max_workers = 256;
	srv.min_spare = 2;
	srv.max_spare = 8;
	srv.backlog = SOMAXCONN;
	srv.linger_ms = 1000;
	srv.udp_rate = UDP_RATE;
	announce_init(&ann);

	while ((ch = getopt_long(argc, argv, "b:D:hl:m:P:u:Vvw:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'b':
			srv.backlog = (int)number("--backlog", optarg, 1,
			    65535);
			break;
		case 'D':
			srv.delay_ms = (int)number("--delay", optarg, 0,
			    3600000);
			break;
		case 'h':
			help();
		case 'l':
			if (nspecs == MAX_LISTENERS) {
				log_warnx("--listen: at most %d listeners",
				    MAX_LISTENERS);
				usage();
			}
			specs[nspecs++] = optarg;
			break;
		case 'm':
			if ((model = model_find(optarg)) == NULL) {
				log_warnx("--model %s: no such model", optarg);
				usage();
			}
			break;
		case 'P':
			if ((proto = wire_proto_find(optarg)) == -1) {
				log_warnx("--protocol %s: want stamp, time or "
				    "daytime", optarg);
				usage();
			}
			break;
		case 'u':
			user = optarg;
			break;
		case 'V':
			printf("stampd %s\n", STAMP_VERSION);
			exit(0);
		case 'v':
			srv.verbose = 1;
			break;
		case 'w':
			srv.workers = (int)number("--workers", optarg, 1,
			    1024);
			break;
		case OPT_ANNOUNCE:
			if (ann.n == ANNOUNCE_MAX) {
				log_warnx("--announce: at most %d targets",
				    ANNOUNCE_MAX);
				usage();
			}
			if ((why = announce_parse(optarg, &ann.t[ann.n])) !=
			    NULL) {
				log_warnx("--announce %s: %s", optarg, why);
				usage();
			}
			ann.n++;
			break;
		case OPT_ANNOUNCE_IF:
			ann.ifname = optarg;
			announce_opts = 1;
			break;
		case OPT_ANNOUNCE_TTL:
			ann.ttl = (int)number("--announce-ttl", optarg, 1, 255);
			announce_opts = 1;
			break;
		case OPT_EVERY:
			if ((why = util_seconds(optarg, 1000, 86400000,
			    &ann.every_ms)) != NULL) {
				log_warnx("--every %s: %s (want 1 to 86400)",
				    optarg, why);
				usage();
			}
			announce_opts = 1;
			break;
		case OPT_INETD:
			inetd_mode = 1;
			break;
		case OPT_LIMIT_LOOPBACK:
			srv.limit_loopback = 1;
			break;
		case OPT_LINGER:
			srv.linger_ms = (int)number("--linger", optarg, 0,
			    60000);
			break;
		case OPT_MAX_CONNS:
			max_conns = (int)number("--max-conns", optarg, 1,
			    1000000);
			break;
		case OPT_MAX_SPARE:
			srv.max_spare = (int)number("--max-spare", optarg, 1,
			    1024);
			break;
		case OPT_MAX_WORKERS:
			srv.max_workers = (int)number("--max-workers", optarg,
			    1, 4096);
			break;
		case OPT_PER_IP:
			per_ip = (int)number("--per-ip", optarg, 1, 1000000);
			break;
		case OPT_PROXY_FROM:
			if (nproxy == MAX_PROXY_FROM) {
				log_warnx("--proxy-from: at most %d",
				    MAX_PROXY_FROM);
				usage();
			}
			if ((why = net_parse_cidr(optarg,
			    &proxy_from[nproxy])) != NULL) {
				log_warnx("--proxy-from %s: %s", optarg, why);
				usage();
			}
			nproxy++;
			break;
		case OPT_RATE:
			rate = (int)number("--rate", optarg, 1, 1000000);
			break;
		case OPT_MIN_SPARE:
			srv.min_spare = (int)number("--min-spare", optarg, 0,
			    1024);
			break;
		case OPT_READY_FD:
			ready_fd = (int)number("--ready-fd", optarg, 3, 65535);
			break;
		case OPT_REUSEPORT:
			srv.reuseport = 1;
			break;
		case OPT_STATS_INTERVAL:
			if ((why = util_seconds(optarg, 1, 86400000,
			    &stats_ms)) != NULL) {
				log_warnx("--stats-interval %s: %s", optarg,
				    why);
				usage();
			}
			break;
		case OPT_SYSLOG:
			log_syslog();
			break;
		case OPT_TIMESTAMPS:
			log_timestamps(1);
			break;
		case OPT_UDP_RATE:
			srv.udp_rate = (int)number("--udp-rate", optarg, 0,
			    1000000);
			break;
		default:
			usage();
		}
	}
	if (optind != argc) {
		log_warnx("%s: unexpected argument (listeners go after -l)",
		    argv[optind]);
		usage();
	}
	if (srv.min_spare > srv.max_spare) {
		log_warnx("--min-spare %d is more than --max-spare %d",
		    srv.min_spare, srv.max_spare);
		usage();
	}
	if (announce_opts && ann.n == 0) {
		log_warnx("--every, --announce-ttl and --announce-if go with "
		    "--announce");
		usage();
	}
	for (i = 0; i < nspecs; i++)
		if ((why = net_parse_spec(specs[i], &ls[i].spec)) != NULL) {
			log_warnx("--listen %s: %s", specs[i], why);
			usage();
		}
	if (inetd_mode) {
		if (nspecs > 0 || ann.n > 0) {
			log_warnx("--inetd serves standard input: no -l, no "
			    "--announce");
			usage();
		}
		if (sig_init() == -1)
			fatal("signals");
		drop_privileges(user);
		return inetd(&srv, proto);
	}

	/* Sockets from systemd first, then ours; the default if neither. */
	nls = activated(ls + nspecs, MAX_LISTENERS - nspecs, proto);
	if (nspecs == 0 && nls == 0)
		for (; nspecs < 2; nspecs++) {
			specs[nspecs] = default_specs[nspecs];
			net_parse_spec(specs[nspecs], &ls[nspecs].spec);
		}
	if (sig_init() == -1)
		fatal("signals");
	for (i = 0; i < nspecs; i++) {
		ls[i].type = ls[i].spec.type;
		ls[i].proto = ls[i].spec.proto;
		ls[i].proxy = ls[i].spec.proxy;
		ls[i].fd = net_listen(&ls[i].spec, srv.backlog, srv.reuseport,
		    &ls[i].addr, &ls[i].addrlen);
		if (ls[i].fd == -1)
			fatal("bind %s", specs[i]);
		if (srv.reuseport)
			reuseport_group(&ls[i], srv.workers, srv.backlog,
			    specs[i]);
		name_listener(&ls[i]);
	}
	nls += nspecs;
	for (i = 0; i < nls; i++)
		log_info("listening %s", ls[i].name);
	if (ann.ifname != NULL &&
	    (ann.ifindex = if_nametoindex(ann.ifname)) == 0)
		fatal("--announce-if %s", ann.ifname);
	if (ann.n > 0 && announce_open(&ann, &bad) == -1)
		fatal("announce %s", bad < ann.n ? ann.t[bad].name : "timer");
	for (i = 0; i < ann.n; i++)
		log_info("announcing %s", announce_describe(&ann, i, what,
		    sizeof what));
	srv.ls = ls;
	srv.nls = nls;
	if (nproxy == 0) {
		/* By default only a proxy on this host may speak for others. */
		net_parse_cidr("127.0.0.0/8", &proxy_from[nproxy++]);
		net_parse_cidr("::1", &proxy_from[nproxy++]);
	}
	srv.proxy_from = proxy_from;
	srv.nproxy_from = nproxy;
	drop_privileges(user);

	/* Shared, so that the processes of a pool count into one place. */
	srv.nstats = model->nslots(&srv);
	bytes = srv.nstats * sizeof *srv.stats;
	srv.stats = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (srv.stats == MAP_FAILED)
		fatal("counters");

	if ((max_conns || per_ip || rate) && (srv.limits = limit_new(max_conns,
	    per_ip, rate, srv.limit_loopback)) == NULL)
		fatal("limits");
	if (serve_init(&srv) == -1)
		fatal("limits");

	if (ready_fd != -1 && close(ready_fd) == -1)
		fatal("--ready-fd %d", ready_fd);
	if (stats_ms > 0) {
		/* SIGALRM reaches the model as a SIGUSR1 would. */
		every.it_interval.tv_sec = stats_ms / 1000;
		every.it_interval.tv_usec = (stats_ms % 1000) * 1000;
		every.it_value = every.it_interval;
		if (setitimer(ITIMER_REAL, &every, NULL) == -1)
			fatal("--stats-interval");
	}

	if (ann.n > 0 && announce_start(&ann) == -1)
		fatal("announce");
	rc = model->run(&srv);
	model_finish(&srv);
	announce_stop(&ann);
	serve_report(&srv);
	for (i = 0; i < srv.nls; i++) {
		for (k = 1; ls[i].rpfd != NULL && k < srv.workers; k++)
			close(ls[i].rpfd[k]);
		free(ls[i].rpfd);
		close(ls[i].fd);
	}
	munmap(srv.stats, bytes);
	return rc == 0 ? 0 : 1;
}
