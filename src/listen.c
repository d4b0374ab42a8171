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

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"
#include "net.h"
#include "proto.h"
#include "serve.h"
#include "util.h"
#include "wire.h"

/* The names an upgrade gives the sockets of -l: "stampd-l0-rp1". */
#define HANDED_PREFIX	"stampd-l"
/* At most, from LISTEN_FDS: every -l with a group of --workers sockets. */
#define LISTEN_FDS_MAX	(LISTEN_MAX * 1024)

/* A socket the image before an upgrade handed over, not yet taken. */
struct handed {
	int	 fd;		/* -1 once taken */
	size_t	 spec;		/* the -l it came from, 0 first */
	int	 member;	/* of its --reuseport group; 0: the listener */
};

static struct handed	*handed;
static size_t		 nhanded;
/* The first nours of ls are -l's (or the defaults); then systemd's. */
static size_t		 nours;
/* The names systemd gave its sockets, to give them again at an upgrade. */
static char		*sdname[LISTEN_MAX];

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

/* Take fd as a listener made elsewhere, serving proto or metrics. */
static void
adopt(struct listener *l, int fd, int proto, int metrics, const char *whose)
{
	if (net_adopt(fd, &l->spec) == -1)
		fatal("%s: fd %d", whose, fd);
	l->fd = fd;
	l->type = l->spec.type;
	l->spec.metrics = metrics;
	if (metrics && l->type != SOCK_STREAM)
		fatalx("%s: fd %d: metrics needs a stream socket", whose, fd);
	if (wire_proto_udp_only(proto) && l->type != SOCK_DGRAM)
		fatalx("%s: fd %d: %s needs a datagram socket", whose, fd,
		    wire_proto_name(proto));
	if (wire_proto_tcp_only(proto) && l->type != SOCK_STREAM)
		fatalx("%s: fd %d: %s needs a stream socket", whose, fd,
		    wire_proto_name(proto));
	l->proto = l->spec.proto = proto;
	memcpy(&l->addr, &l->spec.addr, l->spec.addrlen);
	l->addrlen = l->spec.addrlen;
	name_listener(l);
}

/*
 * The i-th name of names (LISTEN_FDNAMES, colon-separated) into buf,
 * empty if there is none or it does not fit.
 */
static void
fdname(const char *names, size_t i, char *buf, size_t len)
{
	const char	*p = names;
	size_t		 n;

	buf[0] = '\0';
	for (; p != NULL && i > 0; i--)
		if ((p = strchr(p, ':')) != NULL)
			p++;
	if (p == NULL || (n = strcspn(p, ":")) >= len)
		return;
	memcpy(buf, p, n);
	buf[n] = '\0';
}

/*
 * The protocol a systemd socket's name asks for: "time", or "time-udp"
 * and the like, the longest name of a protocol the name begins with,
 * whole or before a '-' ("nts-ke", "nts-ke-6"); anything else gets the
 * -P protocol.  "metrics" asks for a metrics listener: *metrics says so.
 */
static int
fdname_proto(const char *name, int fallback, int *metrics)
{
	char	 word[32];
	size_t	 n = strlen(name);
	int	 proto;

	*metrics = 0;
	if (n >= sizeof word)
		return fallback;
	memcpy(word, name, n + 1);
	for (;;) {
		if (strcmp(word, "metrics") == 0) {
			*metrics = 1;
			return STAMP_PROTO_STAMP;
		}
		if ((proto = wire_proto_find(word)) != -1)
			return proto;
		if (strchr(word, '-') == NULL)
			return fallback;
		/* Cut at the last '-', and try again. */
		*strrchr(word, '-') = '\0';
	}
}

/*
 * Whether name is one an upgrade gave: "stampd-l2" for the socket of the
 * third -l, "stampd-l2-rp1" for member 1 of its --reuseport group.
 */
static int
handed_name(const char *name, size_t *spec, int *member)
{
	char		 num[16];
	const char	*p, *rp;
	long long	 n;
	size_t		 len;

	if (strncmp(name, HANDED_PREFIX, strlen(HANDED_PREFIX)) != 0)
		return 0;
	p = name + strlen(HANDED_PREFIX);
	rp = strstr(p, "-rp");
	len = rp != NULL ? (size_t)(rp - p) : strlen(p);
	if (len == 0 || len >= sizeof num)
		return 0;
	memcpy(num, p, len);
	num[len] = '\0';
	if (util_number(num, 0, LISTEN_MAX - 1, &n) != NULL)
		return 0;
	*spec = (size_t)n;
	*member = 0;
	if (rp != NULL) {
		if (util_number(rp + 3, 1, INT_MAX, &n) != NULL)
			return 0;
		*member = (int)n;
	}
	return 1;
}

/*
 * Sockets from systemd, or from the image an upgrade replaced:
 * sd_listen_fds(3), done by hand, as the daemon depends on libc alone.
 * The upgrade's go to handed, for open_spec; systemd's into ls, their
 * names kept for the next upgrade.  Returns how many were put in ls.
 */
static size_t
activated(struct listener *ls, size_t max, int proto)
{
	const char	*pid, *fds, *names;
	char		 name[256];
	long long	 n;
	size_t		 i, nsd = 0;
	int		 p, metrics;

	pid = getenv("LISTEN_PID");
	fds = getenv("LISTEN_FDS");
	names = getenv("LISTEN_FDNAMES");
	if (pid == NULL || fds == NULL ||
	    util_number(pid, 1, INT_MAX, &n) != NULL || n != getpid())
		return 0;
	if (util_number(fds, 0, LISTEN_FDS_MAX, &n) != NULL)
		fatalx("LISTEN_FDS=%s: want 0 to %d sockets", fds,
		    LISTEN_FDS_MAX);
	if (n > 0 && (handed = calloc((size_t)n, sizeof *handed)) == NULL)
		fatal("LISTEN_FDS");
	for (i = 0; i < (size_t)n; i++) {
		fdname(names, i, name, sizeof name);
		if (handed_name(name, &handed[nhanded].spec,
		    &handed[nhanded].member)) {
			handed[nhanded++].fd = 3 + (int)i;
			continue;
		}
		if (nsd == max)
			fatalx("LISTEN_FDS=%s: more than %zu sockets", fds,
			    max);
		p = fdname_proto(name, proto, &metrics);
		adopt(&ls[nsd], 3 + (int)i, p, metrics, "LISTEN_FDS");
		if ((sdname[nsd++] = strdup(name)) == NULL)
			fatal("LISTEN_FDNAMES");
	}
	/* Not for our children: they are not the pid it names. */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return nsd;
}

/*
 * Whether got, the address of a socket handed over, is what spec asks
 * for: its type, its address, and its port unless spec's is 0 ("*" takes
 * a wildcard of either family, as net_listen may fall back to IPv4's).
 */
static int
fits(const struct net_spec *spec, const struct net_spec *got)
{
	const struct sockaddr		*want = (const void *)&spec->addr;
	const struct sockaddr		*is = (const void *)&got->addr;
	const struct sockaddr_in	*w4 = (const void *)want;
	const struct sockaddr_in	*i4 = (const void *)is;
	const struct sockaddr_in6	*w6 = (const void *)want;
	const struct sockaddr_in6	*i6 = (const void *)is;
	int				 port = net_addr_port(want);

	if (got->type != spec->type ||
	    (port != 0 && port != net_addr_port(is)))
		return 0;
	if (spec->any)
		return is->sa_family == AF_INET6 ?
		    IN6_IS_ADDR_UNSPECIFIED(&i6->sin6_addr) :
		    i4->sin_addr.s_addr == htonl(INADDR_ANY);
	if (is->sa_family != want->sa_family)
		return 0;
	if (is->sa_family == AF_INET)
		return i4->sin_addr.s_addr == w4->sin_addr.s_addr;
	return memcmp(&i6->sin6_addr, &w6->sin6_addr,
	    sizeof i6->sin6_addr) == 0;
}

/*
 * The socket an upgrade handed over for member k of listener i, or -1;
 * got gets its address.  The one handed for the i-th listener if it fits
 * (a listener's port 0 was resolved by the image before), else any that
 * fits a spec with its port given: the listeners of a configuration file
 * read again may have moved in the list, or gone.  One that fits nothing
 * is closed by close_unclaimed.
 */
static int
take_handed(size_t i, int k, const struct net_spec *spec, const char *text,
    struct net_spec *got)
{
	size_t	 j;
	int	 fd, any;

	for (any = 0; any < 2; any++)
		for (j = 0; j < nhanded; j++) {
			if (handed[j].fd == -1 || handed[j].member != k ||
			    (!any && handed[j].spec != i) ||
			    (any && net_addr_port((const struct sockaddr *)
			    &spec->addr) == 0))
				continue;
			if (net_adopt(handed[j].fd, got) == -1)
				fatal("%s: handed-over fd %d", text,
				    handed[j].fd);
			if (!fits(spec, got))
				continue;
			fd = handed[j].fd;
			handed[j].fd = -1;
			return fd;
		}
	return -1;
}

/*
 * --reuseport: a socket per worker on the address l got, each its own
 * accept queue, taken from an upgrade's handover or else bound.  Made
 * here, before privileges go: the kernel lets only the same user join a
 * SO_REUSEPORT group.
 */
static void
reuseport_group(struct listener *l, size_t i, int backlog, int workers,
    const char *text)
{
	struct net_spec	 same = l->spec, got;
	int		 k;

	if ((l->rpfd = calloc((size_t)workers, sizeof *l->rpfd)) == NULL)
		fatal("--reuseport");
	memcpy(&same.addr, &l->addr, l->addrlen);
	same.addrlen = l->addrlen;
	l->rpfd[0] = l->fd;
	for (k = 1; k < workers; k++)
		if ((l->rpfd[k] = take_handed(i, k, &l->spec, text,
		    &got)) == -1 && (l->rpfd[k] = net_listen(&same,
		    backlog, 1, NULL, NULL)) == -1)
			fatal("bind %s (--reuseport, worker %d)", text, k);
}

/*
 * Listener i as spec says (text is the spec as written, for messages):
 * the socket the image before an upgrade handed over for it, if any
 * (bound already, port 0 resolved), else bound now.
 */
static void
open_spec(struct listener *l, size_t i, const struct net_spec *spec,
    const char *text, const struct listen_conf *lc, int workers)
{
	struct net_spec	 got;

	l->spec = *spec;
	l->type = spec->type;
	l->proto = spec->proto;
	l->proxy = spec->proxy;
	if ((l->fd = take_handed(i, 0, spec, text, &got)) != -1) {
		memcpy(&l->addr, &got.addr, got.addrlen);
		l->addrlen = got.addrlen;
	} else if ((l->fd = net_listen(spec, lc->backlog, lc->reuseport,
	    &l->addr, &l->addrlen)) == -1)
		fatal("bind %s", text);
	if (lc->reuseport)
		reuseport_group(l, i, lc->backlog, workers, text);
	name_listener(l);
}

/* What no listener took: a group grown smaller, say; its queue is lost. */
static void
close_unclaimed(void)
{
	size_t	 j;

	for (j = 0; j < nhanded; j++)
		if (handed[j].fd != -1) {
			log_warnx("closing handed-over fd %d (%s%zu, member "
			    "%d): no listener of this command line takes it",
			    handed[j].fd, HANDED_PREFIX, handed[j].spec,
			    handed[j].member);
			close(handed[j].fd);
		}
	free(handed);
	handed = NULL;
	nhanded = 0;
}

size_t
listen_open(struct listener *ls, const struct listen_conf *lc, int workers)
{
	struct net_spec	 spec;
	size_t		 i, n = lc->n, nsd;

	/* Ours first in ls, systemd's after; the default if neither. */
	nsd = activated(ls + n, LISTEN_MAX - n, lc->proto);
	for (i = 0; i < n; i++)
		open_spec(&ls[i], i, &lc->spec[i], lc->text[i], lc, workers);
	if (n == 0 && nsd == 0)
		for (; n < 2; n++) {
			net_parse_spec(default_specs[n], &spec);
			open_spec(&ls[n], n, &spec, default_specs[n], lc,
			    workers);
		}
	close_unclaimed();
	for (i = 0; i < n + nsd; i++)
		log_info("listening %s", ls[i].name);
	nours = n;
	return n + nsd;
}

/* Append name and a colon to buf of len, at *at. */
static int
add_name(char *buf, size_t len, size_t *at, const char *name)
{
	int	 n = snprintf(buf + *at, len - *at, "%s:", name);

	if (n < 0 || (size_t)n >= len - *at)
		return -1;
	*at += (size_t)n;
	return 0;
}

/*
 * Every socket of ls in the order of the handover, with its name: each -l
 * with its group, then systemd's.  Returns how many, or -1.
 */
static int
handover_list(const struct listener *ls, size_t n, int workers, int *fds,
    char *names, size_t len)
{
	char	 name[300];
	size_t	 i, at = 0;
	int	 k, m = 0, group;

	for (i = 0; i < n; i++) {
		group = i < nours && ls[i].rpfd != NULL ? workers : 1;
		for (k = 0; k < group; k++) {
			if (i >= nours)
				snprintf(name, sizeof name, "%s",
				    sdname[i - nours]);
			else if (k == 0)
				snprintf(name, sizeof name, "%s%zu",
				    HANDED_PREFIX, i);
			else
				snprintf(name, sizeof name, "%s%zu-rp%d",
				    HANDED_PREFIX, i, k);
			fds[m++] = k == 0 ? ls[i].fd : ls[i].rpfd[k];
			if (add_name(names, len, &at, name) == -1)
				return -1;
		}
	}
	if (at > 0)
		names[at - 1] = '\0';
	return m;
}

int
listen_handover_plan(const struct listener *ls, size_t n, int workers,
    int **fds, char **names)
{
	size_t	 len = 1, i;
	int	 m;

	for (i = 0; i < n; i++)
		len += (size_t)(ls[i].rpfd != NULL ? workers : 1) *
		    (sizeof HANDED_PREFIX + 32 + (i >= nours ?
		    strlen(sdname[i - nours]) : 0));
	*fds = calloc(n * (size_t)workers + 1, sizeof **fds);
	*names = calloc(len, 1);
	if (*fds == NULL || *names == NULL ||
	    (m = handover_list(ls, n, workers, *fds, *names, len)) == -1) {
		free(*fds);
		free(*names);
		*fds = NULL;
		*names = NULL;
		if (errno == 0)
			errno = ENAMETOOLONG;
		return -1;
	}
	return m;
}

int
listen_handover(const struct listener *ls, size_t n, int workers, int keep)
{
	char	 num[32], *names;
	int	*fds, *high, m, j, kept = -1;

	errno = 0;
	if ((m = listen_handover_plan(ls, n, workers, &fds, &names)) == -1 ||
	    (high = calloc((size_t)m + 1, sizeof *high)) == NULL)
		fatal("upgrade: the handover");
	/*
	 * Out of the way first, above 3 + m: a socket may sit where another
	 * must go.  dup2 then leaves each at 3 + j without FD_CLOEXEC, and
	 * the copies above, close-on-exec, go with the exec.  Whatever else
	 * was at 3 + j (our log or notify socket) is not used again.
	 */
	for (j = 0; j < m; j++)
		if ((high[j] = fcntl(fds[j], F_DUPFD_CLOEXEC, 3 + m + 1)) == -1)
			fatal("upgrade: the handover: fd %d", fds[j]);
	if (keep != -1 &&
	    (kept = fcntl(keep, F_DUPFD_CLOEXEC, 3 + m + 1)) == -1)
		fatal("upgrade: the handover: fd %d", keep);
	for (j = 0; j < m; j++)
		if (dup2(high[j], 3 + j) == -1)
			fatal("upgrade: the handover: fd %d", 3 + j);
	/* Right after the sockets, where the new image looks for nothing. */
	if (kept != -1 && (kept = dup2(kept, 3 + m)) == -1)
		fatal("upgrade: the handover: fd %d", 3 + m);
	snprintf(num, sizeof num, "%d", m);
	setenv("LISTEN_FDS", num, 1);
	snprintf(num, sizeof num, "%ld", (long)getpid());
	setenv("LISTEN_PID", num, 1);
	setenv("LISTEN_FDNAMES", names, 1);
	free(names);
	free(fds);
	free(high);
	return kept;
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
	adopt(&l, STDIN_FILENO, proto, 0, "--inetd: standard input");
	if (l.type == SOCK_STREAM) {
		if (getpeername(l.fd, (struct sockaddr *)&peer, &len) == -1)
			fatal("--inetd: standard input");
		util_sleep_ms(srv->delay_ms);
		serve_stream_blocking(srv, &l, l.fd, &peer, NULL, &st);
		return 0;
	}
	/* inetd starts a datagram service when one is waiting: bounded. */
	if (net_wait(l.fd, POLLIN, 5000) != 1)
		fatalx("--inetd: no datagram on standard input");
	util_sleep_ms(srv->delay_ms);
	return serve_datagrams(srv, &l, l.fd, 1, &st) == 1 ? 0 : 1;
}
