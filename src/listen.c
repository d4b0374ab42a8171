/*
 * listen.c: getting the sockets, apart from serving on them.
 *
 * Bound here, or adopted from systemd or inetd, every listener leaves with
 * its type, protocol, address and name filled in, so that a model only
 * waits and dispatches.  Everything here runs before the first client,
 * still with the privileges bind may need: any failure is fatal.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "listen.h"
#include "log.h"
#include "net.h"
#include "proto.h"
#include "serve.h"
#include "util.h"
#include "wire.h"

static const char *const default_specs[] = {
	"tcp:*:1937/stamp",
	"udp:*:1937/stamp",
};

static void
name_listener(struct listener *l)
{
	char	 addr[NET_ADDRSTRLEN];

	net_addr_str((struct sockaddr *)&l->addr, addr, sizeof addr);
	snprintf(l->name, sizeof l->name, "%s %s %s%s",
	    l->type == SOCK_STREAM ? "tcp" : "udp", addr,
	    l->spec.metrics ? "metrics" : wire_proto_name(l->proto),
	    l->proxy ? "+proxy" : "");
}

/*
 * --reuseport: a socket per worker on the address l got, each its own
 * accept queue.  Made here, before privileges go: the kernel lets only the
 * same user join a SO_REUSEPORT group.
 */
static void
reuseport_group(struct listener *l, int workers, int backlog,
    const char *text)
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
			fatal("bind %s (--reuseport, worker %d)", text, k);
}

/* Bind l as spec says; text is the spec as written, for messages. */
static void
bind_listener(struct listener *l, const struct net_spec *spec,
    const char *text, const struct conf *c)
{
	l->spec = *spec;
	l->type = spec->type;
	l->proto = spec->proto;
	l->proxy = spec->proxy;
	l->fd = net_listen(spec, c->backlog, c->reuseport, &l->addr,
	    &l->addrlen);
	if (l->fd == -1)
		fatal("bind %s", text);
	if (c->reuseport)
		reuseport_group(l, c->workers, c->backlog, text);
	name_listener(l);
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

size_t
listen_open(struct listener *ls, const struct conf *c)
{
	struct net_spec	 spec;
	size_t		 i, n = c->nlisten, nsd;

	/* Ours first in ls, systemd's after; the default if neither. */
	nsd = activated(ls + n, CONF_LISTEN_MAX - n, c->proto);
	for (i = 0; i < n; i++)
		bind_listener(&ls[i], &c->spec[i], c->listen[i], c);
	if (n == 0 && nsd == 0)
		for (; n < 2; n++) {
			net_parse_spec(default_specs[n], &spec);
			bind_listener(&ls[n], &spec, default_specs[n], c);
		}
	for (i = 0; i < n + nsd; i++)
		log_info("listening %s", ls[i].name);
	return n + nsd;
}

void
listen_close(struct listener *ls, size_t n, int workers)
{
	size_t	 i;
	int	 k;

	for (i = 0; i < n; i++) {
		for (k = 1; ls[i].rpfd != NULL && k < workers; k++)
			close(ls[i].rpfd[k]);
		free(ls[i].rpfd);
		close(ls[i].fd);
	}
}

int
listen_inetd(const struct server *srv, int proto)
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
		serve_stream_blocking(srv, &l, l.fd, &peer, NULL, &st);
		return 0;
	}
	/* inetd starts a datagram service when one is waiting: bounded. */
	if (net_wait(l.fd, POLLIN, 5000) != 1)
		fatalx("--inetd: no datagram on standard input");
	serve_sleep(srv->delay_ms);
	return serve_datagrams(srv, &l, l.fd, 1, &st) == 1 ? 0 : 1;
}
