/*
 * tls.c: the server's TLS 1.3 for NTS key establishment, over GnuTLS.
 *
 * The certificate is held by a count of the sessions using it, so that a
 * reread never frees one a handshake still needs; the one lock guards
 * only the swap.  Sessions read and write through net.c on non-blocking
 * sockets and never wait.  Never exits; a failed reread is logged and
 * the old certificate served on.
 */
#include <sys/mman.h>
#include <sys/socket.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "log.h"
#include "net.h"
#include "ntske.h"
#include "tls.h"

/*
 * TLS 1.3 and nothing older (RFC 8915, section 3), in our order, whatever
 * the client's: X25519 first, as its key exchange costs less than P-256's,
 * the larger part of a key establishment's CPU (about 10% less in all);
 * and suites on SHA-256 first, which the CPU computes (SHA-384 it does
 * not: its hashing of the key schedule was a tenth of the CPU).
 */
#define PRIORITY	"NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:" \
			"+AES-128-GCM:+CHACHA20-POLY1305:+AES-256-GCM:" \
			"+AES-128-CCM:-GROUP-ALL:+GROUP-X25519:" \
			"+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-SECP521R1:" \
			"%SERVER_PRECEDENCE"

struct creds {
	gnutls_certificate_credentials_t	 c;
	unsigned				 refs;	/* sessions, and 1
							   while current */
};

struct tls {
	gnutls_session_t	 s;
	struct creds		*cr;
	int			 fd;
};

static const char		*cert_path, *key_path;
static gnutls_priority_t	 prio;
static pthread_mutex_t		 mu = PTHREAD_MUTEX_INITIALIZER;
static struct creds		*cur;
/* Bumped by SIGHUP in any process; shared with a pool's children. */
static unsigned			*gen;
static unsigned			 seen;

static struct creds *
load(const char **why)
{
	struct creds	*cr;
	int		 r;

	if ((cr = calloc(1, sizeof *cr)) == NULL) {
		*why = strerror(errno);
		return NULL;
	}
	if ((r = gnutls_certificate_allocate_credentials(&cr->c)) < 0) {
		*why = gnutls_strerror(r);
		free(cr);
		return NULL;
	}
	if ((r = gnutls_certificate_set_x509_key_file2(cr->c, cert_path,
	    key_path, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
		*why = gnutls_strerror(r);
		gnutls_certificate_free_credentials(cr->c);
		free(cr);
		return NULL;
	}
	cr->refs = 1;
	return cr;
}

/* Under mu. */
static void
put(struct creds *cr)
{
	if (--cr->refs == 0) {
		gnutls_certificate_free_credentials(cr->c);
		free(cr);
	}
}

int
tls_server_init(const char *cert, const char *key, const char **why)
{
	int	 r;

	cert_path = cert;
	key_path = key;
	if ((r = gnutls_priority_init(&prio, PRIORITY, NULL)) < 0) {
		*why = gnutls_strerror(r);
		return -1;
	}
	if ((cur = load(why)) == NULL)
		return -1;
	gen = mmap(NULL, sizeof *gen, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (gen == MAP_FAILED) {
		*why = strerror(errno);
		gen = NULL;
		return -1;
	}
	return 0;
}

int
tls_server_ready(void)
{
	return cur != NULL;
}

void
tls_server_reload(void)
{
	if (gen != NULL)
		__atomic_fetch_add(gen, 1, __ATOMIC_RELAXED);
}

/* The certificate to serve, reread first if a SIGHUP asked for it. */
static struct creds *
take(void)
{
	struct creds	*cr, *fresh = NULL;
	const char	*why;
	unsigned	 g;

	g = __atomic_load_n(gen, __ATOMIC_RELAXED);
	pthread_mutex_lock(&mu);
	if (g != seen) {
		seen = g;
		if ((fresh = load(&why)) == NULL)
			log_warnx("nts-ke: reread %s and %s: %s; serving the "
			    "certificate as before", cert_path, key_path, why);
		else {
			put(cur);
			cur = fresh;
			log_info("nts-ke: certificate reread");
		}
	}
	cr = cur;
	cr->refs++;
	pthread_mutex_unlock(&mu);
	return cr;
}

static ssize_t
pull(gnutls_transport_ptr_t p, void *buf, size_t len)
{
	struct tls	*t = p;
	ssize_t		 n;

	if ((n = net_recv(t->fd, buf, len, 0)) == -1)
		gnutls_transport_set_errno(t->s, errno);
	return n;
}

/*
 * GnuTLS gives what it has to send at once: a handshake's whole flight
 * (ServerHello to Finished, six records) in one call and one segment.
 */
static ssize_t
push(gnutls_transport_ptr_t p, const giovec_t *iov, int n)
{
	struct tls	*t = p;
	ssize_t		 r;

	if ((r = net_sendv(t->fd, iov, n)) == -1)
		gnutls_transport_set_errno(t->s, errno);
	return r;
}

/*
 * After the ClientHello: a client that offered no ntske/1 (or no ALPN at
 * all, which GNUTLS_ALPN_MANDATORY lets through) is refused here, with
 * the no_application_protocol alert, before we say a word.
 */
static int
alpn_hook(gnutls_session_t s, unsigned htype, unsigned when,
    unsigned incoming, const gnutls_datum_t *msg)
{
	gnutls_datum_t	 p;

	(void)htype;
	(void)when;
	(void)incoming;
	(void)msg;
	if (gnutls_alpn_get_selected_protocol(s, &p) < 0 ||
	    p.size != sizeof NTSKE_ALPN - 1 ||
	    memcmp(p.data, NTSKE_ALPN, p.size) != 0)
		return GNUTLS_E_NO_APPLICATION_PROTOCOL;
	return 0;
}

struct tls *
tls_accept(int fd)
{
	static const gnutls_datum_t	 alpn = {
		(unsigned char *)NTSKE_ALPN, sizeof NTSKE_ALPN - 1
	};
	struct tls			*t;

	if (cur == NULL) {
		errno = EINVAL;
		return NULL;
	}
	if ((t = calloc(1, sizeof *t)) == NULL)
		return NULL;
	t->fd = fd;
	if (gnutls_init(&t->s, GNUTLS_SERVER | GNUTLS_NONBLOCK) < 0) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->cr = take();
	if (gnutls_credentials_set(t->s, GNUTLS_CRD_CERTIFICATE,
	    t->cr->c) < 0 || gnutls_priority_set(t->s, prio) < 0 ||
	    gnutls_alpn_set_protocols(t->s, &alpn, 1,
	    GNUTLS_ALPN_MANDATORY) < 0) {
		tls_free(t);
		errno = ENOMEM;
		return NULL;
	}
	gnutls_handshake_set_hook_function(t->s, GNUTLS_HANDSHAKE_CLIENT_HELLO,
	    GNUTLS_HOOK_POST, alpn_hook);
	gnutls_transport_set_ptr(t->s, t);
	gnutls_transport_set_pull_function(t->s, pull);
	gnutls_transport_set_vec_push_function(t->s, push);
	return t;
}

void
tls_free(struct tls *t)
{
	if (t == NULL)
		return;
	gnutls_deinit(t->s);
	pthread_mutex_lock(&mu);
	put(t->cr);
	pthread_mutex_unlock(&mu);
	free(t);
}

int
tls_handshake(struct tls *t, int *reason, const char **why)
{
	gnutls_datum_t	 p;
	int		 r, tries;

	/* A warning alert is not the end: go on, a bounded number of times. */
	for (tries = 0; tries < 4; tries++) {
		r = gnutls_handshake(t->s);
		if (r == GNUTLS_E_SUCCESS)
			break;
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			if (gnutls_record_get_direction(t->s) == 0)
				return 0;
			*reason = TLS_FAIL_OTHER;
			*why = "the socket would not take the handshake";
			return -1;
		}
		if (gnutls_error_is_fatal(r)) {
			/* The client hears why, if its socket takes it. */
			(void)gnutls_alert_send_appropriate(t->s, r);
			*reason = r == GNUTLS_E_UNSUPPORTED_VERSION_PACKET ||
			    r == GNUTLS_E_INSUFFICIENT_SECURITY ?
			    TLS_FAIL_VERSION :
			    r == GNUTLS_E_NO_APPLICATION_PROTOCOL ?
			    TLS_FAIL_ALPN : TLS_FAIL_OTHER;
			*why = gnutls_strerror(r);
			return -1;
		}
	}
	if (r != GNUTLS_E_SUCCESS) {
		*reason = TLS_FAIL_OTHER;
		*why = gnutls_strerror(r);
		return -1;
	}
	if (gnutls_protocol_get_version(t->s) != GNUTLS_TLS1_3) {
		*reason = TLS_FAIL_VERSION;
		*why = "not TLS 1.3";
		return -1;
	}
	if (gnutls_alpn_get_selected_protocol(t->s, &p) < 0 ||
	    p.size != sizeof NTSKE_ALPN - 1 ||
	    memcmp(p.data, NTSKE_ALPN, p.size) != 0) {
		*reason = TLS_FAIL_ALPN;
		*why = "no ALPN " NTSKE_ALPN;
		return -1;
	}
	return 1;
}

ssize_t
tls_recv(struct tls *t, void *buf, size_t len)
{
	ssize_t	 n;

	n = gnutls_record_recv(t->s, buf, len);
	if (n >= 0)
		return n;
	if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
		errno = EAGAIN;
	else if (n == GNUTLS_E_PREMATURE_TERMINATION)
		return 0;
	else
		errno = EPROTO;
	return -1;
}

int
tls_pending(struct tls *t)
{
	return gnutls_record_check_pending(t->s) > 0;
}

ssize_t
tls_send(struct tls *t, const void *buf, size_t len)
{
	ssize_t	 n;

	n = gnutls_record_send(t->s, buf, len);
	if (n == (ssize_t)len)
		return n;
	errno = n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED ? EAGAIN :
	    n >= 0 ? EMSGSIZE : EPROTO;
	return -1;
}

void
tls_bye(struct tls *t)
{
	(void)gnutls_bye(t->s, GNUTLS_SHUT_WR);
}

int
tls_export(struct tls *t, const char *label, const void *ctx, size_t ctxlen,
    void *out, size_t len)
{
	return gnutls_prf_rfc5705(t->s, strlen(label), label, ctxlen, ctx,
	    len, out) < 0 ? -1 : 0;
}

void
tls_random(void *buf, size_t len)
{
	/* Fails only if the library's generator could not be seeded. */
	if (gnutls_rnd(GNUTLS_RND_NONCE, buf, len) < 0)
		abort();
}
