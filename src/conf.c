/*
 * conf.c: stampd's command line and configuration files, read into one
 * struct conf.
 *
 * One table says every option: its names, where its value goes, the range
 * a number must lie in and its lines of --help; opt.c reads the table,
 * for the command line and for each line of the files alike, so that a
 * file knows exactly the options the command line does.  What one option
 * cannot check alone (one option that needs another, or excludes it) is
 * checked in one place, check, once all are read.  No socket is made and
 * no descriptor kept open here (the files are read and closed):
 * --ready-fd is only looked at, to be sure it was inherited.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "announce.h"
#include "conf.h"
#include "conffile.h"
#include "log.h"
#include "model.h"
#include "net.h"
#include "opt.h"
#include "proto.h"
#include "ntske.h"
#include "ntskey.h"
#include "wire.h"
#include "xleave.h"

#define STR(x)		#x
#define XSTR(x)		STR(x)
#define F(field)	offsetof(struct conf, field)

/* Options without a short letter. */
enum {
	C_ANNOUNCE = OPT_LONG,
	C_ANNOUNCE_IF,
	C_ANNOUNCE_TTL,
	C_CHECK,
	C_CONFIG,
	C_EVERY,
	C_INETD,
	C_LIMIT_LOOPBACK,
	C_LINGER,
	C_LOCAL_STRATUM,
	C_LOG_RATE,
	C_MAX_CONNS,
	C_MAX_SPARE,
	C_MAX_WORKERS,
	C_MIN_SPARE,
	C_NTP_INTERLEAVED,
	C_NTS_KEY_FILE,
	C_NTS_ONLY,
	C_NTS_ROTATE,
	C_NTS_SERVER,
	C_PER_IP,
	C_PROXY_FROM,
	C_RATE,
	C_READY_FD,
	C_REUSEPORT,
	C_STATS_INTERVAL,
	C_SYSLOG,
	C_TIMESTAMPS,
	C_TLS_CERT,
	C_TLS_KEY,
	C_UDP_RATE,
};

/* In the order of --help. */
static const struct opt opts[] = {
	{ "listen", 'l', OPT_ARG, "SPEC", 0, 0, 0, 0,
	    "TRANSPORT:ADDRESS:PORT[/PROTOCOL], repeatable;\n"
	    "e.g. tcp:127.0.0.1:1937/stamp udp:[::1]:37/time\n"
	    "tcp:*:0 (* every address, port 0 any port);\n"
	    "tcp:127.0.0.1:1937/stamp+proxy: each client sends\n"
	    "a PROXY protocol header (v1 or v2) first.\n"
	    "Default: tcp:*:1937/stamp and udp:*:1937/stamp" },
	{ "model", 'm', OPT_ARG, "NAME", 0, 0, 0, 0, NULL },
	{ "workers", 'w', OPT_INT, "N", F(srv.workers), 1, 1024, 0,
	    "threads or processes of a pool (default: CPUs)" },
	{ "max-workers", C_MAX_WORKERS, OPT_INT, "N", F(srv.max_workers), 1,
	    4096, 256,
	    "most threads or processes a model may have (256)" },
	{ "min-spare", C_MIN_SPARE, OPT_INT, "N", F(srv.min_spare), 0, 1024, 2,
	    "dynamic pool: fewest idle processes (2)" },
	{ "max-spare", C_MAX_SPARE, OPT_INT, "N", F(srv.max_spare), 1, 1024, 8,
	    "dynamic pool: most idle processes (8)" },
	{ "delay", 'D', OPT_INT, "MS", F(srv.delay_ms), 0, 3600000, 0,
	    "wait MS milliseconds before each reply (0)" },
	{ "backlog", 'b', OPT_INT, "N", F(lis.backlog), 1, 65535, SOMAXCONN,
	    "listen backlog (default " XSTR(SOMAXCONN) ")" },
	{ "linger", C_LINGER, OPT_INT, "MS", F(srv.linger_ms), 0, 60000, 1000,
	    "drain a client still sending, at most MS (1000)" },
	{ "reuseport", C_REUSEPORT, OPT_FLAG, NULL, F(lis.reuseport), 0, 0, 0,
	    "SO_REUSEPORT: a socket per worker (-w, in every\n"
	    "model), and let other processes share the port" },
	{ "max-conns", C_MAX_CONNS, OPT_INT, "N", F(max_conns), 1, 1000000, 0,
	    "connections open at once, at most (no limit)" },
	{ "per-ip", C_PER_IP, OPT_INT, "N", F(per_ip), 1, 1000000, 0,
	    "connections open at once from one source address\n"
	    "(an IPv6 /64 counts as one), at most (no limit)" },
	{ "rate", C_RATE, OPT_INT, "N", F(rate), 1, 1000000, 0,
	    "new connections a second from one source, at\n"
	    "most (no limit); over a limit: closed at once" },
	{ "proxy-from", C_PROXY_FROM, OPT_ARG, "ADDR[/BITS]", 0, 0, 0, 0,
	    "who may send a PROXY header, repeatable\n"
	    "(default: 127.0.0.0/8 and ::1)" },
	{ "udp-rate", C_UDP_RATE, OPT_INT, "N", F(srv.udp_rate), 0, 1000000,
	    CONF_UDP_RATE,
	    "UDP replies a second to one source address (or\n"
	    "IPv6 /64), at most; 0: no limit (default "
	    XSTR(CONF_UDP_RATE) ")" },
	{ "limit-loopback", C_LIMIT_LOOPBACK, OPT_FLAG, NULL,
	    F(srv.limit_loopback), 0, 0, 0,
	    "apply limits to loopback sources too, which\n"
	    "cannot be forged from outside (off)" },
	{ "local-stratum", C_LOCAL_STRATUM, OPT_INT, "N",
	    F(srv.local_stratum), 1, 15, 0,
	    "NTP: serve as stratum N (1 to 15) whatever the\n"
	    "kernel says of the clock, as chrony's local\n"
	    "stratum (default: as the kernel says: LI 3,\n"
	    "unsynchronized, unless it knows the clock good)" },
	{ "ntp-interleaved", C_NTP_INTERLEAVED, OPT_INT, "N",
	    F(srv.ntp_interleaved), 0, XLEAVE_MAX, XLEAVE_SLOTS,
	    "NTP: remember when the last N replies really\n"
	    "left, for interleaved mode (" XSTR(XLEAVE_SLOTS) "); 0: basic\n"
	    "mode only" },
	{ "tls-cert", C_TLS_CERT, OPT_STR, "FILE", F(tls_cert), 0, 0, 0,
	    "NTS-KE: the certificate chain, PEM, read at start\n"
	    "and again on SIGHUP (as the user stampd runs as)" },
	{ "tls-key", C_TLS_KEY, OPT_STR, "FILE", F(tls_key), 0, 0, 0,
	    "NTS-KE: the certificate's private key, PEM" },
	{ "nts-key-file", C_NTS_KEY_FILE, OPT_STR, "FILE", F(nts_key_file),
	    0, 0, 0,
	    "NTS: the secret the cookies' keys come from,\n"
	    "made (0600) if absent; share it among servers\n"
	    "behind one name (default: random at start, kept\n"
	    "across upgrades)" },
	{ "nts-rotate", C_NTS_ROTATE, OPT_INT, "SECONDS", F(nts_rotate),
	    60, 2592000, NTSKEY_ROTATE_S,
	    "NTS: a new cookie key this often; the last "
	    XSTR(NTSKEY_KEEP) "\nstay accepted (default " XSTR(NTSKEY_ROTATE_S)
	    ": a day)" },
	{ "nts-only", C_NTS_ONLY, OPT_FLAG, NULL, F(srv.nts_only), 0, 0, 0,
	    "NTP: answer only NTS requests (off: plain NTP too)" },
	{ "nts-server", C_NTS_SERVER, OPT_STR, "NAME", F(srv.nts_server),
	    0, 0, 0,
	    "NTS-KE: the NTP server to name to clients\n"
	    "(default: none, they ask the one they reached)" },
	{ "user", 'u', OPT_STR, "NAME", F(user), 0, 0, 0,
	    "after binding, run as NAME and its groups; root\n"
	    "runs as " CONF_USER " unless NAME is root" },
	{ "inetd", C_INETD, OPT_FLAG, NULL, F(inetd), 0, 0, 0,
	    "serve the one socket on standard input, as inetd,\n"
	    "tcpserver or xinetd hand it over, then exit" },
	{ "protocol", 'P', OPT_ARG, "NAME", 0, 0, 0, 0,
	    "the protocol of --inetd and of sockets from\n"
	    "systemd without a name: stamp, time, daytime,\n"
	    "ntp (a datagram socket only)" },
	{ "announce", C_ANNOUNCE, OPT_ARG, "SPEC", 0, 0, 0, 0,
	    "also send the time, unasked, to a multicast group\n"
	    "or a broadcast address: udp:ADDRESS:PORT[/PROTOCOL],\n"
	    "e.g. udp:239.255.19.37:1937 udp:[ff05::1937]:1937\n"
	    "udp:192.0.2.255:1937; repeatable, up to "
	    XSTR(ANNOUNCE_MAX) },
	{ "every", C_EVERY, OPT_SECS, "SECONDS", F(ann.every_ms),
	    1000, 86400000, ANNOUNCE_EVERY_MS,
	    "announce at each multiple of SECONDS of the Unix\n"
	    "time, 1 to 86400 (default 1)" },
	{ "announce-ttl", C_ANNOUNCE_TTL, OPT_INT, "N", F(ann.ttl), 1, 255,
	    ANNOUNCE_TTL,
	    "multicast TTL or hop limit, 1 to 255 (default "
	    XSTR(ANNOUNCE_TTL) ":\n"
	    "this link only; raise it to cross routers)" },
	{ "announce-if", C_ANNOUNCE_IF, OPT_STR, "NAME", F(ann.ifname), 0, 0, 0,
	    "send through interface NAME (default: the one\n"
	    "the routes choose)" },
	{ "config", C_CONFIG, OPT_STR, "FILE", F(config), 0, 0, 0,
	    "read FILE, then the conf.d/*.conf beside it\n"
	    "(default " CONFFILE_PATH ", if there);\n"
	    "the command line wins" },
	{ "check", C_CHECK, OPT_FLAG, NULL, F(check), 0, 0, 0,
	    "check the command line and the files and exit: 0\n"
	    "if good, 2 if not; binds nothing (SIGUSR2 runs\n"
	    "it first); with -v, print the configuration" },
	{ "ready-fd", C_READY_FD, OPT_INT, "FD", F(ready_fd), 3, 65535, -1,
	    "close FD once every listener is bound" },
	{ "stats-interval", C_STATS_INTERVAL, OPT_SECS, "SECONDS",
	    F(stats_ms), 1, 86400000, 0,
	    "log the counters that often" },
	{ "verbose", 'v', OPT_FLAG, NULL, F(srv.verbose), 0, 0, 0,
	    "log Client:IP:PORT for each client" },
	{ "log-rate", C_LOG_RATE, OPT_INT, "N", F(srv.log_rate), 0, 1000000,
	    LOG_ACCESS_RATE,
	    "-v: access lines a second, at most, the rest\n"
	    "counted; 0: no limit (default " XSTR(LOG_ACCESS_RATE) ")" },
	{ "syslog", C_SYSLOG, OPT_FLAG, NULL, F(syslog), 0, 0, 0,
	    "log to syslog instead of stderr" },
	{ "timestamps", C_TIMESTAMPS, OPT_FLAG, NULL, F(timestamps), 0, 0, 0,
	    "put a UTC time stamp on each log line" },
	{ "help", 'h', OPT_NONE, NULL, 0, 0, 0, 0, "this help" },
	{ "version", 'V', OPT_NONE, NULL, 0, 0, 0, 0, "print the version" },
	{ NULL, 0, 0, NULL, 0, 0, 0, 0, NULL }
};

/*
 * The options that some models take and others do not, and the bit of
 * struct model's caps that a model must have to take each.  Given to a
 * model without it, one is refused, even at its default value: what a
 * model ignores is better named than silently dropped.
 */
static const struct {
	int		 id;
	unsigned	 cap;
} model_opts[] = {
	{ 'w', MODEL_WORKERS },
	{ C_MAX_WORKERS, MODEL_MAX_WORKERS },
	{ C_MIN_SPARE, MODEL_SPARE },
	{ C_MAX_SPARE, MODEL_SPARE },
	{ 'D', MODEL_DELAY },
	{ C_REUSEPORT, MODEL_REUSEPORT },
};
#define NMODEL_OPTS	(sizeof model_opts / sizeof model_opts[0])

/* As the man page's SYNOPSIS has it. */
static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: stampd [-hVv] [-b backlog] [-D ms] [-l listener] "
	    "[-m model] [-P protocol]\n"
	    "              [-u user] [-w workers] [--announce spec] "
	    "[--announce-if name]\n"
	    "              [--announce-ttl n] [--check] [--config file]\n"
	    "              [--every seconds] [--inetd]\n"
	    "              [--limit-loopback] [--linger ms] "
	    "[--local-stratum n]\n"
	    "              [--log-rate n] [--max-conns n] [--max-spare n] "
	    "[--max-workers n]\n"
	    "              [--min-spare n] [--ntp-interleaved n] "
	    "[--nts-key-file file]\n"
	    "              [--nts-only] [--nts-rotate seconds] "
	    "[--nts-server name] [--per-ip n]\n"
	    "              [--proxy-from addr] [--rate n] [--ready-fd fd] "
	    "[--reuseport]\n"
	    "              [--stats-interval seconds] [--syslog] "
	    "[--timestamps]\n"
	    "              [--tls-cert file] [--tls-key file] "
	    "[--udp-rate n]\n");
}

/*
 * The help of o, and after it the models that take o if some do not,
 * into buf; NULL if every model takes it, or it is not a model's option.
 */
static const char *
help_takers(const struct opt *o, char *buf, size_t len)
{
	size_t	 i, at, n = 0;
	int	 w;

	for (i = 0; i < NMODEL_OPTS && model_opts[i].id != o->id; i++)
		continue;
	if (i == NMODEL_OPTS)
		return NULL;
	at = (size_t)snprintf(buf, len, "%s\ntaken by -m", o->help);
	for (w = 0; model_list[w] != NULL && at < len; w++) {
		if ((model_list[w]->caps & model_opts[i].cap) == 0)
			continue;
		at += (size_t)snprintf(buf + at, len - at, "%s %s",
		    n++ == 0 ? "" : ",", model_list[w]->name);
	}
	return n == (size_t)w ? NULL : buf;
}

static void __attribute__((noreturn))
help(void)
{
	const struct opt	*o;
	char			 text[256];
	size_t			 i;

	usage(stdout);
	printf("\n"
"Serve the time: stamp (\"%%lld\\r\\n\" of the Unix time), RFC 868 time and\n"
"RFC 867 daytime, over TCP and UDP; NTP (RFC 5905) over UDP; and NTS key\n"
"establishment (RFC 8915) over TCP, which NTP then authenticates.\n"
"\n");
	for (o = opts; o->id != 0; o++) {
		if (o->id != 'm') {
			opt_help(stdout, o, help_takers(o, text, sizeof text));
			continue;
		}
		snprintf(text, sizeof text, "server model (default %s):",
		    model_list[0]->name);
		opt_help(stdout, o, text);
		for (i = 0; model_list[i] != NULL; i++)
			printf("%26s%-10s %s\n", "", model_list[i]->name,
			    model_list[i]->summary);
	}
	printf("\n"
"Sockets passed by systemd (LISTEN_FDS) are served beside any -l; a\n"
"socket's FileDescriptorName (stamp, time, daytime, ntp, nts-ke) names\n"
"its protocol.\n"
"Signals: TERM, INT stop (replies in flight finish); USR1 prints the\n"
"counters; HUP reopens the log and rereads the TLS certificate; USR2\n"
"upgrades: checks the binary at the same path with --check, finishes what\n"
"is in flight and execs it in this process, the listening sockets kept\n"
"open; the new image reads the configuration files again.\n"
"Exit: 0 ok, 1 runtime failure, 2 usage.\n");
	exit(0);
}

static void
defaults(struct conf *c)
{
	long	 ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	memset(c, 0, sizeof *c);
	announce_init(&c->ann);
	opt_defaults(opts, c);
	c->srv.workers = ncpu > 0 && ncpu < 1024 ? (int)ncpu : 1;
	c->lis.proto = STAMP_PROTO_STAMP;
	c->model = model_list[0];
}

/* The options that are more than a number or a flag. */
static void
option(struct conf *c, int ch, const char *arg)
{
	const char	*why = NULL;
	size_t		 i;

	/* Whether the model takes it is known only once -m is read. */
	for (i = 0; i < NMODEL_OPTS; i++)
		if (model_opts[i].id == ch)
			c->model_opts |= 1u << i;
	switch (ch) {
	case 'h':
		help();
	case 'V':
		opt_version();
	case 'l':
		if (c->lis.n == LISTEN_MAX)
			opt_fail("--listen: at most %d listeners", LISTEN_MAX);
		if ((why = net_parse_spec(arg, &c->lis.spec[c->lis.n])) !=
		    NULL)
			opt_fail("--listen %s: %s", arg, why);
		if (c->lis.spec[c->lis.n].proto == STAMP_PROTO_NTSKE)
			c->ntske = 1;
		c->lis.text[c->lis.n++] = arg;
		break;
	case 'm':
		if ((c->model = model_find(arg)) == NULL)
			opt_fail("--model %s: no such model", arg);
		break;
	case 'P':
		if ((c->lis.proto = wire_proto_find(arg)) == -1)
			opt_fail("--protocol %s: want stamp, time or daytime",
			    arg);
		break;
	case C_ANNOUNCE:
		if (c->ann.n == ANNOUNCE_MAX)
			opt_fail("--announce: at most %d targets",
			    ANNOUNCE_MAX);
		if ((why = announce_parse(arg, &c->ann.t[c->ann.n])) != NULL)
			opt_fail("--announce %s: %s", arg, why);
		c->ann_text[c->ann.n++] = arg;
		break;
	case C_PROXY_FROM:
		if (c->srv.nproxy_from == CONF_PROXY_MAX)
			opt_fail("--proxy-from: at most %d", CONF_PROXY_MAX);
		if ((why = net_parse_cidr(arg,
		    &c->proxy_from[c->srv.nproxy_from])) != NULL)
			opt_fail("--proxy-from %s: %s", arg, why);
		c->proxy_text[c->srv.nproxy_from++] = arg;
		break;
	case C_EVERY:
	case C_ANNOUNCE_TTL:
	case C_ANNOUNCE_IF:
		c->ann_opts = 1;
		break;
	}
}

/* The options c's model takes, as model_opts's caps. */
static unsigned
model_caps(const struct conf *c)
{
	unsigned	 caps = c->model->caps;

	/* -w is also the size of a --reuseport group, in every model. */
	if (c->lis.reuseport && (caps & MODEL_REUSEPORT))
		caps |= MODEL_WORKERS;
	return caps;
}

/* Refuse an option the model does not take, by name. */
static void
check_model(const struct conf *c)
{
	const struct opt	*o;
	unsigned		 caps = model_caps(c);
	size_t			 i;

	for (i = 0; i < NMODEL_OPTS; i++) {
		if ((c->model_opts & 1u << i) == 0 ||
		    (caps & model_opts[i].cap) != 0)
			continue;
		for (o = opts; o->id != model_opts[i].id; o++)
			continue;
		if (o->id < OPT_LONG)
			opt_fail("-m %s does not take -%c (--%s)",
			    c->model->name, o->id, o->name);
		opt_fail("-m %s does not take --%s", c->model->name, o->name);
	}
}

/* What no one option can say alone, all in one place. */
static void
check(struct conf *c, int argc, char *argv[], int upgraded)
{
	if (optind != argc)
		opt_fail("%s: unexpected argument (listeners go after -l)",
		    argv[optind]);
	check_model(c);
	if (c->srv.min_spare > c->srv.max_spare)
		opt_fail("--min-spare %d is more than --max-spare %d",
		    c->srv.min_spare, c->srv.max_spare);
	if (c->ann_opts && c->ann.n == 0)
		opt_fail("--every, --announce-ttl and --announce-if go with "
		    "--announce");
	if (c->inetd && (c->lis.n > 0 || c->ann.n > 0))
		opt_fail("--inetd serves standard input: no -l, no "
		    "--announce");
	if (c->lis.proto == STAMP_PROTO_NTSKE && c->inetd)
		opt_fail("--inetd -P nts-ke: not served (TLS needs a loop)");
	if ((c->tls_cert == NULL) != (c->tls_key == NULL))
		opt_fail("--tls-cert and --tls-key go together");
	if (c->ntske && c->tls_cert == NULL)
		opt_fail("an nts-ke listener needs --tls-cert and --tls-key");
	if (c->srv.nts_server != NULL &&
	    strlen(c->srv.nts_server) > NTSKE_SERVER_MAX)
		opt_fail("--nts-server: at most %d characters",
		    NTSKE_SERVER_MAX);
	/*
	 * After an upgrade it was closed long ago, and the number may now
	 * be a handed-over socket; --check is about the words alone.
	 */
	if (upgraded || c->check)
		c->ready_fd = -1;
	/*
	 * Checked before stampd makes any descriptor of its own, which
	 * could take the number and be closed in its place.
	 */
	if (c->ready_fd != -1 && fcntl(c->ready_fd, F_GETFD) == -1)
		opt_fail("--ready-fd %d: not an open descriptor (%s)",
		    c->ready_fd, strerror(errno));
	if (c->srv.nproxy_from == 0) {
		/* By default only a proxy on this host may speak for others. */
		net_parse_cidr(c->proxy_text[0] = "127.0.0.0/8",
		    &c->proxy_from[0]);
		net_parse_cidr(c->proxy_text[1] = "::1", &c->proxy_from[1]);
		c->srv.nproxy_from = 2;
	}
	c->srv.proxy_from = c->proxy_from;
	c->srv.model_name = c->model->name;
}

/* What only the command line may say: it is about this one run. */
static int
not_in_file(int id)
{
	return id == 'h' || id == 'V' || id == C_CHECK || id == C_CONFIG ||
	    id == C_READY_FD;
}

/*
 * Whether the command line said what an option of the files would:
 * given holds the ids it gave.  --inetd's socket is the listeners'.
 */
static int
overridden(const unsigned char *given, int id)
{
	return given[id] || (id == 'l' && given[C_INETD]);
}

/*
 * The configuration files, after the command line, each line an option
 * read through the same table.  A line the command line overrides is
 * still checked, into a struct that is then forgotten.
 */
static void
files(struct conf *c, const unsigned char *given)
{
	static struct conf	 spare;
	static char		 where[4096 + 16];
	const struct opt	*o;
	struct conffile_line	*l;
	struct conf		*to;
	const char		*bad, *why;
	char			*name, *value;
	size_t			 i;
	int			 id;

	if (conffile_read(&c->files, c->config != NULL ? c->config :
	    CONFFILE_PATH, c->config != NULL, &bad) == -1)
		opt_fail("%s: %s", bad, strerror(errno));
	defaults(&spare);
	for (i = 0; i < c->files.n; i++) {
		l = &c->files.line[i];
		snprintf(where, sizeof where, "%s:%u", l->file, l->no);
		opt_where(where);
		if ((why = conffile_split(l->text, &name, &value)) != NULL)
			opt_fail("%s", why);
		for (o = opts; o->id != 0; o++)
			if (o->name != NULL && strcmp(o->name, name) == 0)
				break;
		if (not_in_file(o->id))
			opt_fail("%s: only on the command line", name);
		to = o->id != 0 && overridden(given, o->id) ? &spare : c;
		id = opt_named(opts, to, name, value);
		option(to, id, value);
	}
	opt_where(NULL);
}

void
conf_parse(struct conf *c, int argc, char *argv[], int upgraded)
{
	unsigned char	 given[OPT_LONG + OPT_MAX];
	int		 ch;

	opt_init("stampd", usage);
	opt_journal(log_journal());
	defaults(c);
	memset(given, 0, sizeof given);
	while ((ch = opt_next(argc, argv, opts, c)) != -1) {
		option(c, ch, optarg);
		given[ch] = 1;
	}
	files(c, given);
	check(c, argc, argv, upgraded);
	c->print = c->check && given['v'];
}

/* Whether o would be refused, or do nothing, beside the rest of c. */
static int
unused(const struct conf *c, const struct opt *o)
{
	size_t	 i;

	for (i = 0; i < NMODEL_OPTS; i++)
		if (model_opts[i].id == o->id)
			return (model_caps(c) & model_opts[i].cap) == 0;
	return c->ann.n == 0 && (o->id == C_EVERY || o->id == C_ANNOUNCE_TTL ||
	    o->id == C_ANNOUNCE_IF);
}

void
conf_print(const struct conf *c, FILE *fp)
{
	const struct opt	*o;
	size_t			 i;

	fprintf(fp, "# stampd %s: the configuration in effect\n",
	    STAMP_VERSION);
	if (c->files.nfile == 0)
		fprintf(fp, "# no file read (%s is not there)\n",
		    c->config != NULL ? c->config : CONFFILE_PATH);
	for (i = 0; i < c->files.nfile; i++)
		fprintf(fp, "# read %s\n", c->files.file[i]);
	for (o = opts; o->id != 0; o++) {
		if (not_in_file(o->id) || opt_print(fp, o, c,
		    unused(c, o)) == 0)
			continue;
		switch (o->id) {
		case 'l':
			if (c->lis.n == 0)
				fprintf(fp, "# listen (systemd's sockets, or "
				    "tcp:*:1937/stamp and udp:*:1937/stamp)"
				    "\n");
			for (i = 0; i < c->lis.n; i++)
				fprintf(fp, "listen %s\n", c->lis.text[i]);
			break;
		case 'm':
			fprintf(fp, "model %s\n", c->model->name);
			break;
		case 'P':
			fprintf(fp, "protocol %s\n",
			    wire_proto_name(c->lis.proto));
			break;
		case C_PROXY_FROM:
			for (i = 0; i < c->srv.nproxy_from; i++)
				fprintf(fp, "proxy-from %s\n",
				    c->proxy_text[i]);
			break;
		case C_ANNOUNCE:
			if (c->ann.n == 0)
				fprintf(fp, "# announce\n");
			for (i = 0; i < c->ann.n; i++)
				fprintf(fp, "announce %s\n", c->ann_text[i]);
			break;
		}
	}
}
