/*
 * bench_nts.c: stampbench's NTS engines (RFC 8915) over epoll, built only
 * with GnuTLS; their TLS sessions set up as tls_client.c does.
 *
 * bench_nts_ke: an exchange is a whole key establishment: a TCP
 * connection, a TLS 1.3 handshake whose certificate is verified, the
 * request, the response read to its End of Message and judged, a close.
 * bench_nts: each worker makes one key establishment as it is set up;
 * then an exchange is one NTP request with NTS's fields on the slot's
 * connected UDP socket, with the cookie the slot's last reply brought,
 * and a reply counts only when its authenticator verifies.
 *
 * Like the other engines it never prints or exits: a failed setup is
 * left in the worker, a failed exchange counted.  Nothing blocks: TLS
 * reads and writes go through net.c's calls that never wait, and the
 * one key establishment of a setup waits with net_wait until -T.
 */
#include <sys/epoll.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "bench_epoll.h"
#include "bench_tcp.h"
#include "bench_worker.h"
#include "net.h"
#include "ntp.h"
#include "nts.h"
#include "ntske.h"
#include "tls_client.h"

/* A response longer than this is bad here: chrony's are under 1 KB. */
#define KE_BUF		4096
#define NTS_REQ_MAX	(NTP_HEADER_LEN + 4 + NTS_UID_MIN + 4 + \
			 NTSKE_COOKIE_MAX + 8 + NTS_NONCE_LEN + SIV_TAG_LEN)

/* Where a key establishment is. */
enum ke_state {
	KE_HANDSHAKE,
	KE_SEND,
	KE_RECV,
};

/* A slot's own: its TLS session, or its cookie and request's UID. */
struct nts_slot {
	gnutls_session_t	 s;		/* or NULL */
	int			 fd;
	int			 err;		/* the transport's errno */
	enum ke_state		 state;
	size_t			 sent, len;
	unsigned char		 buf[KE_BUF];
	unsigned char		 cookie[NTSKE_COOKIE_MAX];
	size_t			 cookie_len;
	unsigned char		 uid[NTS_UID_MIN];
};

/* A worker's own: the credentials, the keys, the slots' state. */
struct nts_worker {
	struct tls_client	 tc;
	unsigned char		 req[64];	/* the KE request */
	int			 reqlen;
	struct ntske_answer	 an;
	struct nts_keys		 keys;
	unsigned char		 seed[NTS_UID_MIN];	/* UIDs, nonces */
	uint64_t		 counter;
	struct nts_answer	 ans;
	struct nts_slot		*slot;
	char			 errbuf[160];	/* a setup's failure */
};

static struct nts_slot *
slot_of(struct bench_worker *w, struct bench_slot *s)
{
	struct nts_worker	*nw = w->priv;

	return &nw->slot[s - w->slot];
}

/* GnuTLS's read and write: never waiting, EAGAIN handed back. */
static ssize_t
pull(gnutls_transport_ptr_t p, void *buf, size_t len)
{
	struct nts_slot	*ns = p;
	ssize_t		 n;

	if ((n = net_recv(ns->fd, buf, len, 0)) == -1) {
		ns->err = errno;
		gnutls_transport_set_errno(ns->s, errno);
	}
	return n;
}

static ssize_t
push(gnutls_transport_ptr_t p, const void *buf, size_t len)
{
	struct nts_slot	*ns = p;
	ssize_t		 n;

	if ((n = net_send(ns->fd, buf, len, MSG_DONTWAIT)) == 0 && len > 0) {
		n = -1;
		errno = EAGAIN;
	}
	if (n == -1) {
		ns->err = errno;
		gnutls_transport_set_errno(ns->s, errno);
	}
	return n;
}

/*
 * The worker's credentials and priorities, and its key establishment
 * request: 0, or -1 with errno and errwhere.
 */
static int
nts_common(struct bench_worker *w)
{
	struct bench		*b = w->b;
	struct nts_worker	*nw;
	const char		*step;

	w->errwhere = "calloc";
	if ((nw = calloc(1, sizeof *nw)) == NULL ||
	    (nw->slot = calloc(w->nslot, sizeof *nw->slot)) == NULL) {
		free(nw);
		return -1;
	}
	w->priv = nw;
	if (tls_client_init(&nw->tc, b->ca, b->host, &step) < 0) {
		w->errwhere = step == b->ca ? "--ca: no certificate read" :
		    "GnuTLS: credentials and priorities";
		errno = EINVAL;
		return -1;
	}
	w->errwhere = "NTS-KE request";
	errno = EMSGSIZE;
	if ((nw->reqlen = ntske_client_request(nw->req, sizeof nw->req)) ==
	    -1)
		return -1;
	w->errwhere = "gnutls_rnd";
	if (gnutls_rnd(GNUTLS_RND_NONCE, nw->seed, sizeof nw->seed) < 0)
		return -1;
	return 0;
}

/*
 * A connection to the key establishment server, non-blocking, and its
 * TLS session, for ns: 0, or -1 with errno.
 */
static int
ke_open(struct bench_worker *w, struct nts_slot *ns)
{
	struct nts_worker	*nw = w->priv;
	const char		*step;

	if ((ns->fd = bench_tcp_connect(w)) == -1)
		return -1;
	/*
	 * The handshake's flights and the request are small writes, each
	 * waiting on the one before: Nagle and a delayed ACK would add 40
	 * ms to each.  Nothing is written before the handshake: set in
	 * time while the connect is under way.
	 */
	if (net_setopt(ns->fd, IPPROTO_TCP, TCP_NODELAY, 1) == -1)
		goto fail;
	if (tls_client_session(&nw->tc, &ns->s, GNUTLS_NONBLOCK, ns, pull,
	    push, &step) < 0) {
		errno = ENOMEM;
		goto fail;
	}
	ns->state = KE_HANDSHAKE;
	ns->sent = ns->len = 0;
	ns->err = 0;
	return 0;
fail:
	if (ns->s != NULL)
		gnutls_deinit(ns->s);
	ns->s = NULL;
	net_close(ns->fd);
	ns->fd = -1;
	return -1;
}

static void
ke_close(struct nts_slot *ns)
{
	if (ns->s != NULL)
		gnutls_deinit(ns->s);
	ns->s = NULL;
	if (ns->fd != -1)
		close(ns->fd);
	ns->fd = -1;
}

/*
 * Take the key establishment of ns as far as the socket lets it: 1 when
 * the response is read and good (nw->an holds it), 0 to wait for the
 * socket, -1 when it failed: with *why a static sentence, or NULL when
 * the transport did (ns->err).
 */
static int
ke_step(struct nts_worker *nw, struct nts_slot *ns, const char **why)
{
	enum ntske_verdict	 v;
	ssize_t			 n;
	int			 r;

	*why = NULL;
	for (;;) {
		switch (ns->state) {
		case KE_HANDSHAKE:
			r = gnutls_handshake(ns->s);
			if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
				return 0;
			if (r < 0 && !gnutls_error_is_fatal(r))
				continue;
			if (r < 0) {
				if (r != GNUTLS_E_PULL_ERROR &&
				    r != GNUTLS_E_PUSH_ERROR)
					*why = gnutls_strerror(r);
				return -1;
			}
			if (!tls_client_alpn_ok(ns->s)) {
				*why = "the server did not agree to ntske/1";
				return -1;
			}
			ns->state = KE_SEND;
			break;
		case KE_SEND:
			n = gnutls_record_send(ns->s, nw->req + ns->sent,
			    (size_t)nw->reqlen - ns->sent);
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
				return 0;
			if (n < 0) {
				*why = gnutls_strerror((int)n);
				return -1;
			}
			if ((ns->sent += (size_t)n) == (size_t)nw->reqlen)
				ns->state = KE_RECV;
			break;
		case KE_RECV:
			n = gnutls_record_recv(ns->s, ns->buf + ns->len,
			    sizeof ns->buf - ns->len);
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
				return 0;
			if (n == 0) {
				*why = "NTS-KE: closed before End of Message";
				return -1;
			}
			if (n < 0) {
				*why = gnutls_strerror((int)n);
				return -1;
			}
			ns->len += (size_t)n;
			v = ntske_answer(ns->buf, ns->len, &nw->an);
			if (v == NTSKE_OK)
				return 1;
			if (v == NTSKE_BAD) {
				*why = nw->an.error >= 0 ? "NTS-KE: an Error "
				    "record" : "NTS-KE: a malformed or "
				    "unusable response";
				return -1;
			}
			if (ns->len == sizeof ns->buf) {
				*why = "NTS-KE: response longer than 4096 "
				    "bytes";
				return -1;
			}
			break;
		}
	}
}

/* ---- nts-ke: whole key establishments --------------------------------- */

static int
ke_setup(struct bench_worker *w)
{
	int	 i;

	if (bench_epoll_open(w) == -1 || nts_common(w) == -1)
		return -1;
	for (i = 0; i < w->nslot; i++)
		((struct nts_worker *)w->priv)->slot[i].fd = -1;
	return 0;
}

/*
 * Edge-triggered: each readiness is taken as far as it goes (ke_step
 * runs until EAGAIN), so the writable socket of a session that waits to
 * read does not wake us again and again.
 */
static int
ke_start(struct bench_worker *w, struct bench_slot *s)
{
	struct nts_slot	*ns = slot_of(w, s);

	s->start = bench_worker_now(CLOCK_MONOTONIC);
	if (ke_open(w, ns) == -1)
		return -1;
	if (bench_epoll_add(w, ns->fd, EPOLLIN | EPOLLOUT | EPOLLET, s) ==
	    -1) {
		ke_close(ns);
		return -1;
	}
	s->fd = -1;	/* ns holds it: the worker's close is ours */
	return 0;
}

static void
ke_ready(struct bench_worker *w, struct bench_slot *s, uint32_t events)
{
	struct nts_slot	*ns = slot_of(w, s);
	const char	*why;
	int		 r;

	(void)events;
	if (!s->busy)
		return;
	if ((r = ke_step(w->priv, ns, &why)) == 0)
		return;
	if (r == 1)
		bench_worker_done(w, s, BENCH_OK,
		    bench_worker_now(CLOCK_MONOTONIC));
	else if (why != NULL)
		bench_worker_bad(w, s, why);
	else
		bench_worker_done(w, s, bench_worker_fault(w,
		    ns->err != 0 ? ns->err : EPROTO), 0);
}

static void
ke_end(struct bench_worker *w, struct bench_slot *s)
{
	ke_close(slot_of(w, s));
}

static void
nts_free(struct bench_worker *w)
{
	struct nts_worker	*nw = w->priv;
	int			 i;

	if (nw == NULL)
		return;
	for (i = 0; nw->slot != NULL && i < w->nslot; i++)
		ke_close(&nw->slot[i]);
	tls_client_free(&nw->tc);
	free(nw->slot);
	free(nw);
	w->priv = NULL;
}

const struct bench_engine bench_nts_ke = {
	.io = "epoll",
	.setup = ke_setup,
	.run = bench_epoll_run,
	.ready = ke_ready,
	.start = ke_start,
	.end = ke_end,
	.free = nts_free,
};

/* ---- nts: authenticated NTP requests ------------------------------------ */

/*
 * The worker's one key establishment, in its setup: waited for with
 * net_wait until -T.  Returns 0, or -1 with errno and errwhere.
 */
static int
ke_once(struct bench_worker *w)
{
	struct nts_worker	*nw = w->priv;
	struct nts_slot		*ns = &nw->slot[0];
	const char		*why;
	int64_t			 end, left;
	int			 r, err = 0;

	end = bench_worker_now(CLOCK_MONOTONIC) + w->b->timeout_ns;
	w->errwhere = "NTS key establishment: connect";
	if (ke_open(w, ns) == -1)
		return -1;
	while ((r = ke_step(nw, ns, &why)) == 0) {
		left = (end - bench_worker_now(CLOCK_MONOTONIC)) / 1000000;
		if (left <= 0) {
			err = ETIMEDOUT;
			r = -1;
			break;
		}
		if (net_wait(ns->fd, gnutls_record_get_direction(ns->s) ?
		    POLLOUT : POLLIN, (int)left) == -1) {
			err = errno;
			r = -1;
			break;
		}
	}
	if (r == -1) {
		ke_close(ns);
		if (why != NULL) {
			snprintf(nw->errbuf, sizeof nw->errbuf,
			    "NTS key establishment: %s", why);
			w->errwhere = nw->errbuf;
			errno = EPROTO;
			return -1;
		}
		w->errwhere = "NTS key establishment";
		errno = err != 0 ? err : ns->err != 0 ? ns->err : EPROTO;
		return -1;
	}
	w->errwhere = "NTS key establishment: key export";
	if (tls_client_keys(ns->s, &nw->keys) < 0) {
		ke_close(ns);
		errno = EPROTO;
		return -1;
	}
	/* nw->an points into ns->buf: its cookies are copied before. */
	return 0;
}

/*
 * The NTP server the response names, or the key establishment server's
 * address; port 123 unless it names one.  0, or -1 with errno.
 */
static int
ntp_target(struct bench_worker *w, struct sockaddr_storage *addr,
    socklen_t *len)
{
	struct nts_worker	*nw = w->priv;
	char			 port[8];

	snprintf(port, sizeof port, "%d", nw->an.port != 0 ? nw->an.port :
	    NTP_PORT);
	if (nw->an.server[0] != '\0') {
		if (net_resolve(nw->an.server, port, w->b->addr.ss_family,
		    SOCK_DGRAM, addr, len) != 0) {
			errno = EHOSTUNREACH;
			return -1;
		}
		return 0;
	}
	*addr = w->b->addr;
	*len = w->b->addrlen;
	if (addr->ss_family == AF_INET)
		((struct sockaddr_in *)addr)->sin_port =
		    htons((uint16_t)atoi(port));
	else
		((struct sockaddr_in6 *)addr)->sin6_port =
		    htons((uint16_t)atoi(port));
	return 0;
}

/*
 * One key establishment; the cookies shared out to the slots (a slot
 * past the eighth reuses one, which a server takes as it took the
 * first); a connected UDP socket per slot to the NTP server.
 */
static int
ntp_setup(struct bench_worker *w)
{
	struct nts_worker	*nw;
	struct sockaddr_storage	 addr;
	socklen_t		 len;
	int			 i, c;

	if (bench_epoll_open(w) == -1 || nts_common(w) == -1)
		return -1;
	nw = w->priv;
	for (i = 0; i < w->nslot; i++)
		nw->slot[i].fd = -1;
	if (ke_once(w) == -1)
		return -1;
	for (i = 0; i < w->nslot; i++) {
		c = i % nw->an.ncookies;
		memcpy(nw->slot[i].cookie, nw->an.cookie[c],
		    nw->an.cookie_len[c]);
		nw->slot[i].cookie_len = nw->an.cookie_len[c];
	}
	w->errwhere = "NTS: the NTP server";
	if (ntp_target(w, &addr, &len) == -1)
		return -1;
	ke_close(&nw->slot[0]);
	return bench_epoll_udp(w, (struct sockaddr *)&addr, len);
}

/*
 * The request: the NTP header bench_worker_request makes, a unique
 * identifier and a nonce from the worker's seed and a counter (unique
 * for the run, which is all a server asks of them), the slot's cookie.
 */
static int
ntp_start(struct bench_worker *w, struct bench_slot *s)
{
	struct nts_worker	*nw = w->priv;
	struct nts_slot		*ns = slot_of(w, s);
	unsigned char		 pkt[NTS_REQ_MAX], nonce[NTS_NONCE_LEN];
	char			 hdr[BENCH_REQUEST_MAX];
	uint64_t		 c;
	int			 n;

	bench_epoll_fresh(s);
	c = ++nw->counter;
	memcpy(ns->uid, nw->seed, sizeof ns->uid);
	memcpy(ns->uid, &c, sizeof c);
	memcpy(nonce, nw->seed + sizeof nw->seed - sizeof nonce,
	    sizeof nonce);
	memcpy(nonce, &c, sizeof c);
	s->start = bench_worker_now(CLOCK_MONOTONIC);
	if (bench_worker_request(w, s, hdr, sizeof hdr) != NTP_HEADER_LEN ||
	    (n = nts_client_request((unsigned char *)hdr, ns->uid,
	    ns->cookie, ns->cookie_len, 0, &nw->keys, nonce, pkt,
	    sizeof pkt)) == -1) {
		errno = EMSGSIZE;
		return -1;
	}
	return net_sendto(s->fd, pkt, (size_t)n, NULL, 0) == -1 ? -1 : 0;
}

static void
ntp_ready(struct bench_worker *w, struct bench_slot *s, uint32_t events)
{
	struct nts_worker	*nw = w->priv;
	struct nts_slot		*ns = slot_of(w, s);
	ssize_t			 n;
	int64_t			 end;

	(void)events;
	if ((n = bench_epoll_reply(w, s)) == -1)
		return;
	end = bench_worker_now(CLOCK_MONOTONIC);
	if (nts_client_check((const unsigned char *)s->buf, (size_t)n,
	    ns->uid, &nw->keys, &nw->ans) == -1) {
		bench_worker_bad(w, s, "NTS: a reply not authenticated");
		return;
	}
	if (nw->ans.nak) {
		bench_worker_bad(w, s, "NTS NAK: the server refused a cookie");
		return;
	}
	/* Each reply's new cookie is the next request's. */
	if (nw->ans.ncookies > 0 &&
	    nw->ans.cookie_len[0] <= sizeof ns->cookie) {
		memcpy(ns->cookie, nw->ans.cookie[0], nw->ans.cookie_len[0]);
		ns->cookie_len = nw->ans.cookie_len[0];
	}
	bench_worker_done(w, s, bench_worker_check(w, s, s->buf, (size_t)n,
	    end), end);
}

/* The sockets stay open from one exchange to the next: no end. */
const struct bench_engine bench_nts = {
	.io = "epoll",
	.setup = ntp_setup,
	.run = bench_epoll_run,
	.ready = ntp_ready,
	.start = ntp_start,
	.free = nts_free,
};
