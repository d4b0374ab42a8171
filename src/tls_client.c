/*
 * tls_client.c: the client's half of NTS-KE's TLS 1.3 over GnuTLS, as
 * tls_client.h says.  It never prints, exits or touches a socket, and
 * never offers anything older than TLS 1.3 (RFC 8915 section 3).
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <string.h>

#include "ntske.h"
#include "tls_client.h"

/* TLS 1.3 only: RFC 8915 section 3 forbids anything older. */
#define PRIORITY	"NORMAL:-VERS-ALL:+VERS-TLS1.3"

int
tls_client_init(struct tls_client *c, const char *ca, const char *host,
    const char **step)
{
	unsigned char	 a[sizeof(struct in6_addr)];
	int		 r;

	memset(c, 0, sizeof *c);
	c->host = host;
	c->sni = inet_pton(AF_INET, host, a) != 1 &&
	    inet_pton(AF_INET6, host, a) != 1;
	*step = "TLS credentials";
	if ((r = gnutls_certificate_allocate_credentials(&c->cred)) < 0) {
		c->cred = NULL;
		return r;
	}
	if (ca != NULL) {
		*step = ca;
		r = gnutls_certificate_set_x509_trust_file(c->cred, ca,
		    GNUTLS_X509_FMT_PEM);
		if (r == 0)
			return GNUTLS_E_NO_CERTIFICATE_FOUND;
	} else {
		*step = "the system's trusted certificates";
		r = gnutls_certificate_set_x509_system_trust(c->cred);
	}
	if (r < 0)
		return r;
	*step = "TLS priorities";
	if ((r = gnutls_priority_init(&c->prio, PRIORITY, NULL)) < 0) {
		c->prio = NULL;
		return r;
	}
	return 0;
}

void
tls_client_free(struct tls_client *c)
{
	if (c->prio != NULL)
		gnutls_priority_deinit(c->prio);
	c->prio = NULL;
	if (c->cred != NULL)
		gnutls_certificate_free_credentials(c->cred);
	c->cred = NULL;
}

int
tls_client_session(const struct tls_client *c, gnutls_session_t *s,
    unsigned int flags, gnutls_transport_ptr_t ptr, gnutls_pull_func pull,
    gnutls_push_func push, const char **step)
{
	gnutls_datum_t	 alpn;
	int		 r;

	*step = "TLS session";
	if ((r = gnutls_init(s, GNUTLS_CLIENT | flags)) < 0) {
		*s = NULL;
		return r;
	}
	if ((r = gnutls_priority_set(*s, c->prio)) < 0 ||
	    (r = gnutls_credentials_set(*s, GNUTLS_CRD_CERTIFICATE,
	    c->cred)) < 0)
		goto fail;
	*step = "TLS server name";
	if (c->sni && (r = gnutls_server_name_set(*s, GNUTLS_NAME_DNS,
	    c->host, strlen(c->host))) < 0)
		goto fail;
	*step = "TLS ALPN";
	alpn.data = (unsigned char *)NTSKE_ALPN;
	alpn.size = sizeof NTSKE_ALPN - 1;
	if ((r = gnutls_alpn_set_protocols(*s, &alpn, 1,
	    GNUTLS_ALPN_MANDATORY)) < 0)
		goto fail;
	gnutls_session_set_verify_cert(*s, c->host, 0);
	gnutls_transport_set_ptr(*s, ptr);
	gnutls_transport_set_pull_function(*s, pull);
	gnutls_transport_set_push_function(*s, push);
	return 0;
fail:
	gnutls_deinit(*s);
	*s = NULL;
	return r;
}

int
tls_client_alpn_ok(gnutls_session_t s)
{
	gnutls_datum_t	 p;

	return gnutls_alpn_get_selected_protocol(s, &p) >= 0 &&
	    p.size == sizeof NTSKE_ALPN - 1 &&
	    memcmp(p.data, NTSKE_ALPN, p.size) == 0;
}

/*
 * The exporter's context (section 5.1): the next protocol (NTPv4: 0) and
 * the AEAD, both 16 bits, then 0 for the client-to-server key and 1 for
 * the server-to-client one.
 */
int
tls_client_keys(gnutls_session_t s, struct nts_keys *keys)
{
	unsigned char	 ctx[5];
	int		 r;

	ctx[0] = NTSKE_PROTO_NTPV4 >> 8;
	ctx[1] = NTSKE_PROTO_NTPV4 & 0xff;
	ctx[2] = NTSKE_AEAD_SIV_CMAC_256 >> 8;
	ctx[3] = NTSKE_AEAD_SIV_CMAC_256 & 0xff;
	ctx[4] = 0;
	if ((r = gnutls_prf_rfc5705(s, sizeof NTSKE_EXPORTER_LABEL - 1,
	    NTSKE_EXPORTER_LABEL, sizeof ctx, (const char *)ctx, NTS_KEY_LEN,
	    (char *)keys->c2s)) < 0)
		return r;
	ctx[4] = 1;
	return gnutls_prf_rfc5705(s, sizeof NTSKE_EXPORTER_LABEL - 1,
	    NTSKE_EXPORTER_LABEL, sizeof ctx, (const char *)ctx, NTS_KEY_LEN,
	    (char *)keys->s2c);
}
