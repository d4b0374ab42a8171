/*
 * tls_client.h: the client's half of NTS key establishment's TLS 1.3
 * (GnuTLS), set up alike for stamp -P nts (blocking, under its deadline)
 * and stampbench's NTS engines (non-blocking): the trust and the
 * priorities, a session to the host with ALPN ntske/1 and the host's
 * certificate verified during the handshake, the check that the server
 * agreed to ntske/1, and the two keys exported (RFC 8915 section 5.1).
 *
 * Built only with GnuTLS.  Never prints, never exits, and never touches
 * a socket: the caller's transport functions do every read and write.
 * A failure is GnuTLS's error code, and the step that failed.
 */
#ifndef STAMP_TLS_CLIENT_H
#define STAMP_TLS_CLIENT_H

#include <gnutls/gnutls.h>

#include "nts.h"

/* What every session of one client shares. */
struct tls_client {
	gnutls_certificate_credentials_t cred;	/* or NULL */
	gnutls_priority_t	 prio;		/* or NULL */
	const char		*host;		/* the name to verify */
	int			 sni;		/* host is a name, no address */
};

/*
 * Make c a client of host (kept, not copied) that trusts the certificates
 * in ca (PEM), or the system's when ca is NULL, and offers TLS 1.3 alone.
 * Returns 0, or a GnuTLS error code with the step in *step: "TLS
 * credentials", ca itself (the same pointer; GNUTLS_E_NO_CERTIFICATE_FOUND
 * when the file holds none), "the system's trusted certificates" or "TLS
 * priorities".
 * tls_client_free frees what was made either way.
 */
int	tls_client_init(struct tls_client *c, const char *ca, const char *host,
	    const char **step);

/* Let go of what c holds; c may be zeroed, or half made. */
void	tls_client_free(struct tls_client *c);

/*
 * A session of c into *s, with flags for gnutls_init (GNUTLS_NONBLOCK, or
 * 0) besides GNUTLS_CLIENT: the host's name sent (SNI) unless it is an
 * address, ALPN ntske/1 required, the host's certificate verified by the
 * handshake, and ptr, pull and push as its transport.  Returns 0, or a
 * GnuTLS error code with the step in *step ("TLS session", "TLS server
 * name" or "TLS ALPN") and *s deinitialized and NULL.
 */
int	tls_client_session(const struct tls_client *c, gnutls_session_t *s,
	    unsigned int flags, gnutls_transport_ptr_t ptr,
	    gnutls_pull_func pull, gnutls_push_func push, const char **step);

/* After the handshake of s: whether the server agreed to ntske/1. */
int	tls_client_alpn_ok(gnutls_session_t s);

/*
 * The two keys of NTPv4 with AEAD_AES_SIV_CMAC_256 exported from s, into
 * keys.  Returns 0, or a GnuTLS error code.
 */
int	tls_client_keys(gnutls_session_t s, struct nts_keys *keys);

#endif /* STAMP_TLS_CLIENT_H */
