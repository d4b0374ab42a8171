/*
 * conf.h: stampd's configuration, as data.
 *
 * The command line is read once, by conf_parse, into one struct conf; it
 * is checked as a whole, and then main builds the server from it.  Like
 * main, conf_parse ends the process on a usage error (exit 2) and on
 * --help and --version (exit 0); nothing else here prints.
 */
#ifndef STAMP_CONF_H
#define STAMP_CONF_H

#include <stddef.h>

#include "announce.h"
#include "net.h"
#include "serve.h"

#define CONF_LISTEN_MAX	64	/* -l, and the sockets systemd passes */
#define CONF_PROXY_MAX	32	/* --proxy-from */
#define CONF_UDP_RATE	50	/* a second per source: a person, not a flood */
#define CONF_USER	"nobody"	/* whom root runs as without -u */

struct model;

struct conf {
	/* -l as written (for messages) and as parsed. */
	const char		*listen[CONF_LISTEN_MAX];
	struct net_spec		 spec[CONF_LISTEN_MAX];
	size_t			 nlisten;
	int			 proto;		/* -P: --inetd, systemd's */
	const struct model	*model;		/* -m */
	const char		*user;		/* -u, or NULL */
	int			 inetd;		/* --inetd */
	int			 ready_fd;	/* an inherited fd, or -1 */
	long long		 stats_ms;	/* --stats-interval, or 0 */
	int			 syslog;	/* --syslog */
	int			 timestamps;	/* --timestamps */
	int			 check;		/* --check: only that */

	/* What struct server gets, as conf_server copies it. */
	int			 verbose;
	int			 delay_ms;
	int			 workers;
	int			 max_workers;
	int			 min_spare;
	int			 max_spare;
	int			 backlog;
	int			 linger_ms;
	int			 reuseport;
	int			 udp_rate;
	int			 limit_loopback;
	struct net_cidr		 proxy_from[CONF_PROXY_MAX];
	size_t			 nproxy_from;

	/* --max-conns, --per-ip, --rate, for limit_new; 0: no limit. */
	int			 max_conns;
	int			 per_ip;
	int			 rate;

	/* The --announce targets, with --every, --announce-ttl and -if. */
	struct announce		 ann;
	int			 ann_opts;	/* any of those three given */
};

/*
 * Fill c from the defaults and the command line, and check the whole:
 * every usage error is named on stderr, with the usage, and exits 2.
 * --ready-fd must name a descriptor already open, so call it before any
 * descriptor is made; upgraded (this image was exec'd by an upgrade, see
 * upgrade.h) or --check sets it to -1 unseen.  --help and --version print
 * and exit 0.
 */
void	conf_parse(struct conf *c, int argc, char *argv[], int upgraded);

/*
 * Set srv to c's numbers and --proxy-from blocks (127.0.0.0/8 and ::1 by
 * default), and nothing else: main adds the listeners, the counters and
 * the limits.  srv points into c, which must outlive it.
 */
void	conf_server(const struct conf *c, struct server *srv);

#endif /* STAMP_CONF_H */
