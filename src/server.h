/*
 * server.h: the whole server, as the daemon's main built it for a model
 * to run: its listeners, the options the models read, the counters'
 * slots.  Data only; serve.h says what a connection or a datagram gets.
 */
#ifndef STAMP_SERVER_H
#define STAMP_SERVER_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

#include "net.h"

struct limits;
struct stats;

/* One bound socket and what it serves. */
struct listener {
	int			fd;
	int			*rpfd;		/* --reuseport: a socket per
						   worker, rpfd[0] == fd */
	int			type;		/* SOCK_STREAM, SOCK_DGRAM */
	int			proto;		/* enum stamp_proto */
	int			proxy;		/* a PROXY header comes first */
	struct net_spec		spec;		/* as asked for, to rebind */
	struct sockaddr_storage	addr;		/* as bound */
	socklen_t		addrlen;
	char			name[NET_ADDRSTRLEN + 32]; /* tcp [::1]:1937 */
};

/* The whole server, as the daemon's main built it for a model to run. */
struct server {
	struct listener	*ls;
	size_t		 nls;
	int		 verbose;	/* log Client:IP:PORT per client */
	int		 log_rate;	/* -v's lines a second, 0: all */
	int		 delay_ms;	/* wait before each reply */
	int		 workers;	/* threads or processes of a pool */
	int		 max_workers;	/* hard maximum of a growing pool */
	int		 min_spare;	/* dynamic pool: idle servers kept */
	int		 max_spare;
	int		 linger_ms;	/* how long to drain a client's input */
	struct limits	*limits;	/* --max-conns, --per-ip, --rate */
	int		 udp_rate;	/* replies a second per source, 0: any */
	int		 local_stratum;	/* NTP: serve as this stratum, 0: as
					   the kernel says of the clock */
	int		 ntp_interleaved; /* NTP: slots of the interleaved
					   mode's table, 0: basic mode only */
	int		 nts_only;	/* NTP: answer only NTS requests */
	const char	*nts_server;	/* NTS-KE: the NTP server to name, or
					   NULL: the client's own */
	int		 limit_loopback; /* limits apply to loopback sources */
	struct net_cidr	*proxy_from;	/* who may send a PROXY header */
	size_t		 nproxy_from;
	struct stats	*stats;		/* nstats slots, maybe shared */
	size_t		 nstats;
	const char	*model_name;	/* for /metrics */
};

#endif /* STAMP_SERVER_H */
