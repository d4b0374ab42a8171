/*
 * conf.h: stampd's configuration, as data.
 *
 * The command line and the configuration files are read once, by
 * conf_parse, into one struct conf; it is checked as a whole, and then
 * main serves the struct server within, once it has added the sockets,
 * the counters and the limits.  Like main, conf_parse ends the process on
 * a usage error (exit 2) and on --help and --version (exit 0); besides
 * those only conf_print, asked, prints.
 */
#ifndef STAMP_CONF_H
#define STAMP_CONF_H

#include <stddef.h>
#include <stdio.h>

#include "announce.h"
#include "conffile.h"
#include "listen.h"
#include "net.h"
#include "serve.h"

#define CONF_PROXY_MAX	32	/* --proxy-from */
#define CONF_UDP_RATE	50	/* a second per source: a person, not a flood */
#define CONF_USER	"nobody"	/* whom root runs as without -u */

struct model;

struct conf {
	/* -l, -P, -b and --reuseport: what listen_open needs. */
	struct listen_conf	 lis;
	/*
	 * What the models read (-v, -D, -w, --max-workers, --min-spare,
	 * --max-spare, --linger, --udp-rate, --limit-loopback, --proxy-from
	 * and the model's name), stored here as each option is read: main
	 * serves this very struct, so no field is copied by hand.  Its
	 * listeners, counters and limits are main's to add.
	 */
	struct server		 srv;
	struct net_cidr		 proxy_from[CONF_PROXY_MAX]; /* srv's */
	const char		*proxy_text[CONF_PROXY_MAX]; /* as given */

	/* --config, or CONFFILE_PATH; what was read of it and conf.d. */
	const char		*config;
	struct conffile		 files;

	const struct model	*model;		/* -m */
	unsigned		 model_opts;	/* of conf.c's, those given */
	const char		*user;		/* -u, or NULL */
	int			 inetd;		/* --inetd */
	int			 ready_fd;	/* an inherited fd, or -1 */
	long long		 stats_ms;	/* --stats-interval, or 0 */
	int			 syslog;	/* --syslog */
	int			 timestamps;	/* --timestamps */
	int			 check;		/* --check: only that */
	int			 print;		/* and -v on the command line */

	/* NTS: --tls-cert, --tls-key, --nts-key-file, --nts-rotate. */
	const char		*tls_cert;
	const char		*tls_key;
	const char		*nts_key_file;
	int			 nts_rotate;
	int			 ntske;		/* an nts-ke listener in -l */

	/* --max-conns, --per-ip, --rate, for limit_new; 0: no limit. */
	int			 max_conns;
	int			 per_ip;
	int			 rate;

	/* The --announce targets, with --every, --announce-ttl and -if. */
	struct announce		 ann;
	int			 ann_opts;	/* any of those three given */
	const char		*ann_text[ANNOUNCE_MAX];	/* as given */
};

/*
 * Fill c from the defaults, the command line and the configuration files
 * (--config, or CONFFILE_PATH if it exists, then the conf.d folder beside
 * it), and check the whole: every usage error is named on stderr, a
 * file's with its FILE:LINE, and exits 2.  The command line wins: an
 * option given there keeps its value whatever a file says, and a
 * repeatable one (-l, --proxy-from, --announce) given there replaces
 * every line of it in the files; --inetd replaces their listeners too.
 * c->srv is then ready but for its listeners, counters and limits, and
 * points into c (--proxy-from), which must outlive it.  --ready-fd must
 * name a descriptor already open, so call it before any descriptor is
 * made; upgraded (this image was exec'd by an upgrade, see upgrade.h) or
 * --check sets it to -1 unseen.  --help and --version print and exit 0.
 */
void	conf_parse(struct conf *c, int argc, char *argv[], int upgraded);

/*
 * --check -v: the configuration c says, every option a file may hold
 * as such a file's line, after the names of the files read, on fp.  An
 * option not set, or one the rest leaves unused (a model's option the
 * model does not take, --every without --announce), is commented out,
 * so that the whole can be read again as a file.
 */
void	conf_print(const struct conf *c, FILE *fp);

#endif /* STAMP_CONF_H */
