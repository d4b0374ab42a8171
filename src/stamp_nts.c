/*
 * stamp_nts.c: stamp -P nts.  NTS key establishment (RFC 8915, section
 * 4) as a TLS 1.3 client of GnuTLS (set up as tls_client.c does), the
 * certificate checked against the host's name; the two keys exported
 * from the session; then one NTP request with NTS's extension fields
 * (section 5), whose reply counts only when it echoes our unique
 * identifier and its authenticator verifies.  The NTP header and the
 * judging of the reply are stamp_ntp's.
 *
 * Every wait, the handshake's included, ends at -t's deadline: GnuTLS
 * reads and writes through our own transport functions, which wait with
 * net.c's and never past it.  It never sends a byte before the
 * certificate is verified but the handshake's own, and never believes an
 * NTP reply that is not authenticated (an NTS NAK, unauthenticated by
 * design, is only ever a refusal).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "log.h"
#include "net.h"
#include "ntp.h"
#include "nts.h"
#include "ntske.h"
#include "stamp_client.h"
#include "stamp_nts.h"
#include "stamp_ntp.h"
#include "stamp_query.h"
#include "tls_client.h"

/* Section 4: a client SHOULD accept responses of 65536 bytes at least. */
#define KE_BUF		65536

/* One key establishment: its TLS session and the deadline it keeps. */
struct ke {
	gnutls_session_t	 s;
	struct tls_client	 tc;
	int			 fd;
	int			 err;		/* the transport's */
	const struct timespec	*deadline;
	unsigned char		 buf[KE_BUF];
	size_t			 len;
	struct ntske_answer	 an;
	struct nts_keys		 keys;
};

/*
 * The NTP exchange.  q is first, so that the request hook, given q, finds
 * the rest: each try sends a fresh unique identifier (a reply to any of
 * them counts) and, while they last, a fresh cookie.
 */
struct nts_query {
	struct stamp_query	 q;
	const struct ke		*ke;
	unsigned char		 uid[STAMP_QUERY_TRIES][NTS_UID_MIN];
};

static const char *const ke_errors[] = {
	"unrecognized critical record", "bad request", "internal server error",
};

/*
 * GnuTLS's transport: wait until fd is readable (into in) or writable
 * (from out) or the deadline passes, then read what is there or write as
 * much as the socket takes.  A failure, ETIMEDOUT included, is handed to
 * GnuTLS (a pull or push error) and kept in k->err for the caller's
 * message.
 */
static ssize_t
ke_io(struct ke *k, void *in, const void *out, size_t len)
{
	long long	 left;
	ssize_t		 n;
	int		 r;

	for (;;) {
		if ((left = stamp_query_left(k->deadline)) <= 0) {
			errno = ETIMEDOUT;
			break;
		}
		r = net_wait(k->fd, in != NULL ? POLLIN : POLLOUT, (int)left);
		if (r == -1)
			break;
		if (r == 0)
			continue;
		if (in != NULL)
			n = net_recv(k->fd, in, len, 0);
		else
			n = net_send(k->fd, out, len, MSG_DONTWAIT);
		if (n > 0 || (n == 0 && in != NULL))
			return n;
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
			break;
	}
	k->err = errno;
	gnutls_transport_set_errno(k->s, errno);
	return -1;
}

static ssize_t
ke_pull(gnutls_transport_ptr_t p, void *buf, size_t len)
{
	return ke_io(p, buf, NULL, len);
}

static ssize_t
ke_push(gnutls_transport_ptr_t p, const void *buf, size_t len)
{
	return ke_io(p, NULL, buf, len);
}

/* GnuTLS asks whether data comes within ms: never past the deadline. */
static int
ke_pull_timeout(gnutls_transport_ptr_t p, unsigned int ms)
{
	struct ke	*k = p;
	long long	 left;

	left = stamp_query_left(k->deadline);
	if (left < 0)
		left = 0;
	if (ms != GNUTLS_INDEFINITE_TIMEOUT && ms < left)
		left = ms;
	return net_wait(k->fd, POLLIN, (int)left);
}

/*
 * A failed GnuTLS call of step, said and the end of the program: a
 * transport's failure as its errno, a certificate's as what was wrong
 * with it, anything else as GnuTLS names it.
 */
static void __attribute__((noreturn))
ke_fail(const struct stamp_client_args *a, struct ke *k, const char *where,
    const char *step, int r)
{
	gnutls_datum_t	 why;
	unsigned int	 st;

	if ((r == GNUTLS_E_PULL_ERROR || r == GNUTLS_E_PUSH_ERROR) &&
	    k->err != 0) {
		errno = k->err;
		if (errno == ETIMEDOUT)
			fatalx("%s: %s: timed out after %gs", where, step,
			    a->timeout_ms / 1000.0);
		fatal("%s: %s", where, step);
	}
	if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
		st = gnutls_session_get_verify_cert_status(k->s);
		if (gnutls_certificate_verification_status_print(st,
		    GNUTLS_CRT_X509, &why, 0) == 0) {
			/* GnuTLS ends its sentences with a space. */
			while (why.size > 0 && why.data[why.size - 1] == ' ')
				why.data[--why.size] = '\0';
			fatalx("%s: %s: %s %s", where, step,
			    gnutls_strerror(r), (char *)why.data);
		}
	}
	fatalx("%s: %s: %s", where, step, gnutls_strerror(r));
}

/*
 * The TLS session to the key establishment server (tls_client.c: TLS 1.3,
 * ALPN ntske/1, the certificate verified against a's host by GnuTLS
 * during the handshake, so a wrong one fails it), on our transport.
 */
static void
ke_session(const struct stamp_client_args *a, struct ke *k, const char *where)
{
	const char	*step;
	int		 r;

	if ((r = tls_client_init(&k->tc, a->ca, a->host, &step)) < 0) {
		if (step == a->ca && r == GNUTLS_E_NO_CERTIFICATE_FOUND)
			fatalx("--ca %s: no certificate in it", a->ca);
		fatalx("%s%s: %s", step == a->ca ? "--ca " : "", step,
		    gnutls_strerror(r));
	}
	if ((r = tls_client_session(&k->tc, &k->s, 0, k, ke_pull, ke_push,
	    &step)) < 0)
		fatalx("%s: %s: %s", where, step, gnutls_strerror(r));
	gnutls_transport_set_pull_timeout_function(k->s, ke_pull_timeout);
}

/*
 * Key establishment with where: handshake, request, the response read to
 * its End of Message, and the keys.  Returns 0, or stamp's exit status
 * for a response that refuses or is malformed (said here); a failure of
 * TLS or of the network ends the program.
 */
static int
ke_run(const struct stamp_client_args *a, struct ke *k, const char *where)
{
	unsigned char	 req[64];
	enum ntske_verdict v;
	ssize_t		 n;
	size_t		 off;
	int		 r, len;
	char		*desc;

	ke_session(a, k, where);
	do {
		r = gnutls_handshake(k->s);
	} while (r < 0 && !gnutls_error_is_fatal(r));
	if (r < 0)
		ke_fail(a, k, where, "TLS handshake", r);
	if (!tls_client_alpn_ok(k->s))
		fatalx("%s: TLS handshake: the server did not agree to %s",
		    where, NTSKE_ALPN);
	if (a->verbose && (desc = gnutls_session_get_desc(k->s)) != NULL) {
		log_info("%s: %s, certificate verified", where, desc);
		gnutls_free(desc);
	}

	if ((len = ntske_client_request(req, sizeof req)) == -1)
		fatalx("%s: NTS-KE request does not fit", where);
	for (off = 0; off < (size_t)len; off += (size_t)n) {
		n = gnutls_record_send(k->s, req + off, (size_t)len - off);
		if (n < 0 && !gnutls_error_is_fatal((int)n))
			n = 0;
		else if (n < 0)
			ke_fail(a, k, where, "TLS send", (int)n);
	}

	k->len = 0;
	while ((v = ntske_answer(k->buf, k->len, &k->an)) == NTSKE_MORE) {
		if (k->len == sizeof k->buf) {
			log_warnx("%s: malformed NTS-KE response: no End of "
			    "Message in %zu bytes", where, sizeof k->buf);
			return 3;
		}
		n = gnutls_record_recv(k->s, k->buf + k->len,
		    sizeof k->buf - k->len);
		if (n == 0) {
			log_warnx("%s: malformed NTS-KE response: closed "
			    "before End of Message", where);
			return 3;
		}
		if (n < 0 && gnutls_error_is_fatal((int)n))
			ke_fail(a, k, where, "TLS receive", (int)n);
		if (n > 0)
			k->len += (size_t)n;
	}
	if (a->verbose)
		log_info("%s: NTS-KE response of %zu bytes: %d cookies, "
		    "server %s, port %d", where, k->len, k->an.ncookies,
		    k->an.server[0] != '\0' ? k->an.server : "(ours)",
		    k->an.port);
	if (v == NTSKE_BAD && k->an.error >= 0) {
		log_warnx("%s: NTS-KE error %d: %s", where, k->an.error,
		    k->an.error < 3 ? ke_errors[k->an.error] : "unknown");
		return 1;
	}
	/* ntske_answer's NTSKE_OK has NTPv4, our AEAD and a cookie. */
	if (v == NTSKE_BAD) {
		log_warnx("%s: malformed NTS-KE response, or one without "
		    "NTPv4, AES-SIV-CMAC-256 and a cookie", where);
		return 3;
	}
	if ((r = tls_client_keys(k->s, &k->keys)) < 0)
		fatalx("%s: TLS key export: %s", where, gnutls_strerror(r));
	/* We have what we came for: a polite close, but no wait for it. */
	(void)gnutls_bye(k->s, GNUTLS_SHUT_WR);
	return 0;
}

/*
 * The request hook of the NTP exchange: a fresh unique identifier and
 * nonce, the header stamped, a cookie, sealed.  The cookie is a new one
 * for each try while they last: a resent request linked to the first by
 * its cookie tells an observer nothing the timing does not.
 */
static int
send_nts(int fd, struct stamp_query *q)
{
	struct nts_query	*nq = (struct nts_query *)q;
	const struct ntske_answer *an = &nq->ke->an;
	unsigned char		 hdr[NTP_HEADER_LEN], nonce[NTS_NONCE_LEN];
	unsigned char		 pkt[STAMP_QUERY_LIMIT];
	size_t			 i = q->nsent, c;
	int			 n;

	if (i >= STAMP_QUERY_TRIES) {
		errno = EINVAL;
		return -1;
	}
	c = i % (size_t)an->ncookies;
	if (gnutls_rnd(GNUTLS_RND_NONCE, nq->uid[i], sizeof nq->uid[i]) < 0 ||
	    gnutls_rnd(GNUTLS_RND_NONCE, nonce, sizeof nonce) < 0) {
		errno = EIO;
		return -1;
	}
	if (stamp_ntp_header(q, hdr, sizeof hdr) == -1)
		return -1;
	if ((n = nts_client_request(hdr, nq->uid[i], an->cookie[c],
	    an->cookie_len[c], 0, &nq->ke->keys, nonce, pkt,
	    sizeof pkt)) == -1) {
		errno = EMSGSIZE;
		return -1;
	}
	return net_sendto(fd, pkt, (size_t)n, NULL, 0) == -1 ? -1 : 0;
}

int
stamp_nts_ask(const struct stamp_client_args *a)
{
	static struct ke	 k;
	static struct nts_query	 nq;
	static struct stamp_query kq;
	static struct nts_answer ans;
	char			 where[NET_ADDRSTRLEN];
	long long		 left;
	size_t			 i;
	int			 st;

	kq.host = a->host;
	snprintf(kq.port, sizeof kq.port, "%d", a->port);
	kq.family = a->family;
	kq.type = SOCK_STREAM;
	stamp_query_deadline(&kq.deadline, CLOCK_MONOTONIC, a->timeout_ms);
	stamp_client_resolve(&kq, a, where);
	if (a->verbose)
		log_info("trying %s (nts-ke/tcp)", where);
	if ((left = stamp_query_left(&kq.deadline)) <= 0)
		errno = ETIMEDOUT;
	if (left <= 0 || (k.fd = net_connect((struct sockaddr *)&kq.addr,
	    kq.addrlen, SOCK_STREAM, (int)left)) == -1)
		stamp_client_fail(a, where);
	/* Nagle and a delayed ACK would hold each flight 40 ms. */
	if (net_setopt(k.fd, IPPROTO_TCP, TCP_NODELAY, 1) == -1)
		stamp_client_fail(a, where);
	k.deadline = &kq.deadline;
	st = ke_run(a, &k, where);
	gnutls_deinit(k.s);
	tls_client_free(&k.tc);
	close(k.fd);
	if (st != 0)
		return st;

	/* The NTP server the response names, or the one we asked. */
	nq.ke = &k;
	nq.q.host = k.an.server[0] != '\0' ? k.an.server : a->host;
	snprintf(nq.q.port, sizeof nq.q.port, "%d",
	    k.an.port != 0 ? k.an.port : NTP_PORT);
	nq.q.family = a->family;
	nq.q.type = SOCK_DGRAM;
	nq.q.retries = a->retries;
	nq.q.deadline = kq.deadline;
	nq.q.request = send_nts;
	stamp_client_resolve(&nq.q, a, where);
	if (a->verbose)
		log_info("trying %s (ntp/udp, NTS)", where);
	if (stamp_query_udp(&nq.q) == -1)
		stamp_client_fail(a, where);
	if (a->verbose)
		log_info("%s: reply of %zu bytes", where, nq.q.len);
	if (nq.q.len > STAMP_QUERY_LIMIT)
		return stamp_ntp_judge(a, &nq.q, where, NULL);
	for (i = 0; i < nq.q.nsent; i++)
		if (nts_client_check((const unsigned char *)nq.q.reply,
		    nq.q.len, nq.uid[i], &k.keys, &ans) == 0)
			break;
	if (i == nq.q.nsent) {
		log_warnx("%s: malformed ntp reply: not authenticated (no "
		    "unique identifier of ours, or its authenticator does "
		    "not verify)", where);
		return 3;
	}
	if (ans.nak) {
		log_warnx("%s: NTS NAK: the server did not accept our "
		    "cookie", where);
		return 1;
	}
	return stamp_ntp_judge(a, &nq.q, where, "authenticated (NTS)");
}
