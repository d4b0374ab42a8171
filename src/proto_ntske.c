/*
 * proto_ntske.c: the row of NTS key establishment (RFC 8915, section 4).
 *
 * The one protocol that converses: a TLS 1.3 handshake, a request read as
 * it comes, a response of eight cookies that carry the client's keys
 * sealed under the server's (ntskey.h), close_notify, and the connection
 * finished as any other.  Each step runs as far as it can without waiting
 * and says what it waits for, so the same code serves in every model's
 * loop; a connection's state lives in a table by fd, given back when the
 * connection is released however it ends (admit_on_release), so a
 * timeout or a stop frees it too.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admit.h"
#include "log.h"
#include "net.h"
#include "ntske.h"
#include "proto.h"
#include "serve.h"
#include "server.h"
#include "stats.h"
#include "util.h"

#ifdef STAMP_NTS
#include "nts.h"
#include "ntskey.h"
#include "tls.h"

/* A connection's conversation so far. */
struct ke {
	struct tls	*t;
	int		 shaken;	/* the handshake is done */
	struct sockaddr_storage peer;	/* -v: asked while it is there */
	size_t		 len;
	unsigned char	 req[NTSKE_REQUEST_MAX];
};

/* A failed handshake, as enum tls_fail, in a word for -v's line. */
static const char *const ke_failure[TLS_NFAIL] = {
	"tls_version", "alpn", "handshake"
};

static struct ke	**byfd;
static int		  nbyfd;
static int		  ntp_port;	/* Port Negotiation: 0, NTP's own */

static void
release(int fd)
{
	if (fd >= 0 && fd < nbyfd && byfd[fd] != NULL) {
		tls_free(byfd[fd]->t);
		free(byfd[fd]);
		byfd[fd] = NULL;
	}
}

static int
init(const struct server *srv, const char **why)
{
	size_t	 l;
	int	 ke = 0;

	for (l = 0; l < srv->nls; l++) {
		if (srv->ls[l].proto == STAMP_PROTO_NTSKE)
			ke = 1;
		if (srv->ls[l].proto == STAMP_PROTO_NTP && ntp_port == 0)
			ntp_port = net_addr_port((const void *)
			    &srv->ls[l].addr);
	}
	if (!ke)
		return 0;
	if (!tls_server_ready()) {
		*why = "an nts-ke listener needs --tls-cert and --tls-key";
		return -1;
	}
	if (ntp_port == STAMP_NTP_PORT)
		ntp_port = 0;
	nbyfd = util_max_fds();
	if ((byfd = calloc((size_t)nbyfd, sizeof *byfd)) == NULL) {
		*why = strerror(errno);
		return -1;
	}
	admit_on_release(release);
	return 0;
}

/*
 * The response to request rq on t: eight cookies for the keys TLS gives,
 * or what section 4 says when NTPv4 or our AEAD was not offered.
 */
static int
respond(const struct server *srv, struct tls *t, const struct ntske_req *rq,
    unsigned char *out, size_t len, int *ncookies)
{
	static const char	 label[] = NTSKE_EXPORTER_LABEL;
	unsigned char		 cookie[NTSKE_COOKIES][NTS_COOKIE_LEN];
	unsigned char		 nonce[NTSKE_COOKIES][NTS_NONCE_LEN];
	unsigned char		 ctx[5] = { 0, NTSKE_PROTO_NTPV4, 0,
				    NTSKE_AEAD_SIV_CMAC_256, 0 };
	struct ntske_resp	 rs = { 0 };
	struct nts_keyring	 ring;
	struct nts_keys		 k;
	int			 i, n = -1;

	rs.ntpv4 = rq->ntpv4;
	rs.aead = rq->aead;
	rs.server = srv->nts_server;
	rs.port = ntp_port;
	*ncookies = 0;
	if (rq->ntpv4 && rq->aead == NTSKE_AEAD_SIV_CMAC_256) {
		if (tls_export(t, label, ctx, sizeof ctx, k.c2s,
		    sizeof k.c2s) == -1)
			goto out;
		ctx[4] = 1;
		if (tls_export(t, label, ctx, sizeof ctx, k.s2c,
		    sizeof k.s2c) == -1)
			goto out;
		ntskey_ring(&ring, (long long)time(NULL));
		tls_random(nonce, sizeof nonce);
		for (i = 0; i < NTSKE_COOKIES; i++) {
			if (nts_cookie_seal(&ring, &k, nonce[i], cookie[i],
			    sizeof cookie[i]) == -1)
				goto out;
			rs.cookie[i] = cookie[i];
			rs.cookie_len[i] = sizeof cookie[i];
		}
		rs.ncookies = *ncookies = NTSKE_COOKIES;
	}
	n = ntske_response(&rs, out, len);
out:
	explicit_bzero(&k, sizeof k);
	return n;
}

/* Read the request as far as it has come: a verdict, or -1 to wait. */
static int
request(struct ke *k, struct ntske_req *rq, struct stats *st)
{
	enum ntske_verdict	 v;
	ssize_t			 n;

	for (;;) {
		n = tls_recv(k->t, k->req + k->len, sizeof k->req - k->len);
		if (n == -1 && errno == EAGAIN)
			return -1;
		if (n <= 0) {
			stats_count(st, STAT_NTSKE_GONE, 1);
			return NTSKE_MORE;
		}
		k->len += (size_t)n;
		if ((v = ntske_request(k->req, k->len, rq)) != NTSKE_MORE)
			return v;
		if (k->len == sizeof k->req) {
			/* ntske_request says so too; never trust a loop. */
			rq->error = NTSKE_E_BAD_REQUEST;
			return NTSKE_BAD;
		}
	}
}

static int
converse(const struct server *srv, const struct listener *l, int fd,
    struct stats *st)
{
	unsigned char		 out[NTSKE_RESPONSE_MAX];
	struct ntske_req	 rq;
	struct ke		*k;
	const char		*why;
	int			 r, reason, len, ncookies = 0;

	if (fd >= nbyfd) {
		admit_close(fd);
		return SERVE_DONE;
	}
	if ((k = byfd[fd]) == NULL) {
		/*
		 * TLS writes a flight as several records: without this,
		 * Nagle holds all but the first until the client's delayed
		 * ACK, 40 ms a handshake.
		 */
		(void)net_setopt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
		if ((k = calloc(1, sizeof *k)) == NULL ||
		    (k->t = tls_accept(fd)) == NULL) {
			free(k);
			stats_count(st, STAT_ERRORS, 1);
			log_limited("%s: a TLS session", l->name);
			serve_log_conn(srv, l, fd, NULL, "error", st);
			admit_close(fd);
			return SERVE_DONE;
		}
		/* A client that fails its handshake may be gone by then. */
		if (srv->verbose && net_peer(fd, &k->peer) == -1)
			k->peer.ss_family = AF_UNSPEC;
		byfd[fd] = k;
	}
	if (!k->shaken) {
		if ((r = tls_handshake(k->t, &reason, &why)) == 0)
			return SERVE_HEADER;
		if (r == -1) {
			stats_count(st, STAT_NTSKE_VERSION + reason, 1);
			serve_log_conn(srv, l, fd, &k->peer,
			    ke_failure[reason], st);
			admit_close(fd);
			return SERVE_DONE;
		}
		k->shaken = 1;
	}
	if ((r = request(k, &rq, st)) == -1)
		return SERVE_HEADER;
	if (r == NTSKE_MORE) {
		serve_log_conn(srv, l, fd, &k->peer, "gone", st);
		admit_close(fd);
		return SERVE_DONE;
	}
	if (r == NTSKE_BAD) {
		stats_count(st, STAT_NTSKE_BAD, 1);
		len = ntske_error(rq.error, out, sizeof out);
	} else if ((len = respond(srv, k->t, &rq, out, sizeof out,
	    &ncookies)) == -1) {
		len = ntske_error(NTSKE_E_INTERNAL, out, sizeof out);
		ncookies = 0;
	}
	if (len == -1 || tls_send(k->t, out, (size_t)len) == -1) {
		serve_count_failure(l, len == -1 ? EINVAL : errno, st);
		serve_log_conn(srv, l, fd, &k->peer, "error", st);
		admit_close(fd);
		return SERVE_DONE;
	}
	if (r == NTSKE_OK) {
		stats_count(st, STAT_NTSKE_OK, 1);
		stats_count(st, STAT_NTS_COOKIES, (unsigned long long)ncookies);
		stats_reply(st, l);
		stats_latency(fd, st);
	}
	serve_log_conn(srv, l, fd, &k->peer, r == NTSKE_OK ? "ok" :
	    "bad_request", st);
	tls_bye(k->t);
	return serve_finish(l, fd, st);
}

static void
reload(void)
{
	tls_server_reload();
}

#else /* !STAMP_NTS */

static void
reload(void)
{
}

static int
init(const struct server *srv, const char **why)
{
	size_t	 l;

	for (l = 0; l < srv->nls; l++)
		if (srv->ls[l].proto == STAMP_PROTO_NTSKE) {
			*why = "nts-ke: stampd was built without NTS (GnuTLS)";
			return -1;
		}
	return 0;
}

static int
converse(const struct server *srv, const struct listener *l, int fd,
    struct stats *st)
{
	(void)srv;
	(void)l;
	(void)st;
	admit_close(fd);
	return SERVE_DONE;
}

#endif /* STAMP_NTS */

/* No time alone to send: every byte of it is the conversation's. */
static int
reply(const struct proto_req *rq, char *buf, size_t len)
{
	(void)rq;
	(void)buf;
	(void)len;
	return -1;
}

/* A stream protocol: no datagram is ever one of its replies. */
static int
is_reply(const char *req, size_t len)
{
	(void)req;
	(void)len;
	return 0;
}

const struct proto proto_ntske = {
	.name = "nts-ke",
	.reply = reply,
	.is_reply = is_reply,
	.converse = converse,
	.init = init,
	.reload = reload,
};
