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

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "model.h"
#include "net.h"
#include "proto.h"
#include "serve.h"
#include "sig.h"
#include "util.h"
#include "wire.h"

#define MAX_LISTENERS	64

static const char *default_specs[] = {
	"tcp:*:1937/stamp",
	"udp:*:1937/stamp",
};

enum {
	OPT_LINGER = 256,
	OPT_MAX_SPARE,
	OPT_MAX_WORKERS,
	OPT_MIN_SPARE,
	OPT_READY_FD,
	OPT_REUSEPORT,
	OPT_SYSLOG,
	OPT_TIMESTAMPS,
};

static const struct option longopts[] = {
	{ "backlog",	 required_argument,	NULL,	'b' },
	{ "delay",	 required_argument,	NULL,	'D' },
	{ "help",	 no_argument,		NULL,	'h' },
	{ "listen",	 required_argument,	NULL,	'l' },
	{ "model",	 required_argument,	NULL,	'm' },
	{ "verbose",	 no_argument,		NULL,	'v' },
	{ "version",	 no_argument,		NULL,	'V' },
	{ "workers",	 required_argument,	NULL,	'w' },
	{ "linger",	 required_argument,	NULL,	OPT_LINGER },
	{ "max-spare",	 required_argument,	NULL,	OPT_MAX_SPARE },
	{ "max-workers", required_argument,	NULL,	OPT_MAX_WORKERS },
	{ "min-spare",	 required_argument,	NULL,	OPT_MIN_SPARE },
	{ "ready-fd",	 required_argument,	NULL,	OPT_READY_FD },
	{ "reuseport",	 no_argument,		NULL,	OPT_REUSEPORT },
	{ "syslog",	 no_argument,		NULL,	OPT_SYSLOG },
	{ "timestamps",	 no_argument,		NULL,	OPT_TIMESTAMPS },
	{ NULL,		 0,			NULL,	0 }
};

static void
usage_line(FILE *f)
{
	fprintf(f,
	    "usage: stampd [-hVv] [-b backlog] [-D ms] [-l listener] "
	    "[-m model] [-w workers]\n"
	    "              [--linger ms] [--max-spare n] [--max-workers n] "
	    "[--min-spare n]\n"
	    "              [--ready-fd fd] [--reuseport] [--syslog] "
	    "[--timestamps]\n");
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
"                        tcp:*:0 (* every address, port 0 any port).\n"
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
"      --ready-fd FD     close FD once every listener is bound\n"
"  -v, --verbose         log Client:IP:PORT for each client\n"
"      --syslog          log to syslog instead of stderr\n"
"      --timestamps      put a UTC time stamp on each log line\n"
"  -h, --help            this help\n"
"  -V, --version         print the version\n"
"\n"
"Signals: TERM, INT stop (replies in flight finish); USR1 prints the\n"
"counters; HUP reopens the log.  Exit: 0 ok, 1 runtime failure, 2 usage.\n",
	    SOMAXCONN);
	exit(0);
}

/* Range-checked number of an option, or a usage error naming it. */
static int
number(const char *opt, const char *arg, long long min, long long max)
{
	const char	*why;
	long long	 v;

	if ((why = util_number(arg, min, max, &v)) != NULL) {
		log_warnx("%s %s: %s (want %lld to %lld)", opt, arg, why,
		    min, max);
		usage();
	}
	return (int)v;
}

static void
name_listener(struct listener *l)
{
	char	 addr[NET_ADDRSTRLEN];

	net_addr_str((struct sockaddr *)&l->addr, addr, sizeof addr);
	snprintf(l->name, sizeof l->name, "%s %s %s",
	    l->type == SOCK_STREAM ? "tcp" : "udp", addr,
	    wire_proto_name(l->proto));
}

int
main(int argc, char *argv[])
{
	static struct listener	 ls[MAX_LISTENERS];
	struct server		 srv;
	const struct model	*model = model_list[0];
	const char		*specs[MAX_LISTENERS], *why;
	size_t			 nspecs = 0, i, bytes;
	long			 ncpu;
	int			 ch, ready_fd = -1, rc;

	log_init("stampd");
	memset(&srv, 0, sizeof srv);
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	srv.workers = ncpu > 0 && ncpu < 1024 ? (int)ncpu : 1;
	srv.max_workers = 256;
	srv.min_spare = 2;
	srv.max_spare = 8;
	srv.backlog = SOMAXCONN;
	srv.linger_ms = 1000;

	while ((ch = getopt_long(argc, argv, "b:D:hl:m:Vvw:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'b':
			srv.backlog = number("--backlog", optarg, 1, 65535);
			break;
		case 'D':
			srv.delay_ms = number("--delay", optarg, 0, 3600000);
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
		case 'V':
			printf("stampd %s\n", STAMP_VERSION);
			exit(0);
		case 'v':
			srv.verbose = 1;
			break;
		case 'w':
			srv.workers = number("--workers", optarg, 1, 1024);
			break;
		case OPT_LINGER:
			srv.linger_ms = number("--linger", optarg, 0, 60000);
			break;
		case OPT_MAX_SPARE:
			srv.max_spare = number("--max-spare", optarg, 1, 1024);
			break;
		case OPT_MAX_WORKERS:
			srv.max_workers = number("--max-workers", optarg, 1,
			    4096);
			break;
		case OPT_MIN_SPARE:
			srv.min_spare = number("--min-spare", optarg, 0, 1024);
			break;
		case OPT_READY_FD:
			ready_fd = number("--ready-fd", optarg, 3, 65535);
			break;
		case OPT_REUSEPORT:
			srv.reuseport = 1;
			break;
		case OPT_SYSLOG:
			log_syslog();
			break;
		case OPT_TIMESTAMPS:
			log_timestamps(1);
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
	if (nspecs == 0)
		for (; nspecs < 2; nspecs++)
			specs[nspecs] = default_specs[nspecs];
	for (i = 0; i < nspecs; i++) {
		if ((why = net_parse_spec(specs[i], &ls[i].spec)) != NULL) {
			log_warnx("--listen %s: %s", specs[i], why);
			usage();
		}
		ls[i].type = ls[i].spec.type;
		ls[i].proto = ls[i].spec.proto;
	}

	if (sig_init() == -1)
		fatal("signals");
	for (i = 0; i < nspecs; i++) {
		ls[i].fd = net_listen(&ls[i].spec, srv.backlog, srv.reuseport,
		    &ls[i].addr, &ls[i].addrlen);
		if (ls[i].fd == -1)
			fatal("bind %s", specs[i]);
		name_listener(&ls[i]);
		log_info("listening %s", ls[i].name);
	}
	srv.ls = ls;
	srv.nls = nspecs;

	/* Shared, so that the processes of a pool count into one place. */
	srv.nstats = model->nslots(&srv);
	bytes = srv.nstats * sizeof *srv.stats;
	srv.stats = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (srv.stats == MAP_FAILED)
		fatal("counters");

	if (ready_fd != -1 && close(ready_fd) == -1)
		fatal("--ready-fd %d", ready_fd);

	rc = model->run(&srv);
	serve_report(&srv);
	for (i = 0; i < srv.nls; i++)
		close(ls[i].fd);
	munmap(srv.stats, bytes);
	return rc == 0 ? 0 : 1;
}
