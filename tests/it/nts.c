/*
 * nts.c: stampd's NTS (RFC 8915), key establishment and authenticated
 * NTP, in every model, from a TLS client written here.
 *
 * Key establishment: a good request gets eight cookies, NTPv4, our AEAD
 * and the port of the NTP listener; each of section 4's bad requests gets
 * the Error record the section names; a request that never ends is cut
 * off, at the size bound or at --linger; a TLS 1.2 client and a client
 * without ALPN ntske/1 are refused in the handshake.  NTP: a request with
 * a cookie and an authenticator gets a reply sealed with the keys TLS
 * exported, carrying as many fresh cookies as it sent cookies and
 * placeholders, never longer than itself; a fresh cookie works in turn; a
 * tampered cookie or authenticator gets an NTS NAK; plain NTP is answered
 * beside it, and not with --nts-only.  The counters say so.  Stalled
 * handshakes hold places under --max-conns, never a worker.  Cookies
 * outlive their process: an upgrade keeps them good, and so does a second
 * stampd given the same --nts-key-file.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "ntp.h"
#include "ntske.h"
#include "tap.h"

#ifdef STAMP_NTS
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "nts.h"

#define WAIT_MS		((int)h_ms(5000))
#define TLS13		"NORMAL:-VERS-ALL:+VERS-TLS1.3"
#define TLS12		"NORMAL:-VERS-ALL:+VERS-TLS1.2"

static char	 dir[] = "/tmp/stamp-nts.XXXXXX";
static char	 cert[64], key[64], ca[64];
static char	 first[64], renewed[64];	/* cert's two contents */

/* Say why, and bail out. */
#define die(...)	do { diag(__VA_ARGS__); bail("see above"); } while (0)

/* Write text into file path. */
static void
put(const char *path, const char *text)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL || fputs(text, f) == EOF ||
	    fclose(f) == EOF)
		die("%s: %s", path, strerror(errno));
}

/* Copy file from to file to, replacing it whole (a rename). */
static void
copy(const char *from, const char *to)
{
	char	 buf[8192], tmp[96];
	FILE	*f;
	size_t	 n;

	snprintf(tmp, sizeof tmp, "%s.new", to);
	if ((f = fopen(from, "r")) == NULL)
		die("%s: %s", from, strerror(errno));
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	put(tmp, buf);
	if (chmod(tmp, 0644) == -1 || rename(tmp, to) == -1)
		die("%s: %s", to, strerror(errno));
}

/* Run certtool with the arguments after r; bail out if it fails. */
static void
certtool(const char *what, char *const argv[])
{
	struct h_result	 r;

	if (h_run(argv, (int)h_ms(30000), &r) != 0)
		die("certtool %s: %d: %s", what, r.status, r.err);
}

/* A CA, and a certificate for localhost and 127.0.0.1 it signed. */
static void
make_certs(void)
{
	char	 cakey[64], catmpl[64], tmpl[64];
	char	 buf[8192];
	FILE	*f;
	size_t	 n;

	if (mkdtemp(dir) == NULL)
		die("mkdtemp: %s", strerror(errno));
	snprintf(cakey, sizeof cakey, "%s/ca.key", dir);
	snprintf(catmpl, sizeof catmpl, "%s/ca.tmpl", dir);
	snprintf(tmpl, sizeof tmpl, "%s/server.tmpl", dir);
	snprintf(ca, sizeof ca, "%s/ca.pem", dir);
	snprintf(key, sizeof key, "%s/server.key", dir);
	snprintf(cert, sizeof cert, "%s/server.pem", dir);
	snprintf(first, sizeof first, "%s/first.pem", dir);
	snprintf(renewed, sizeof renewed, "%s/renewed.pem", dir);
	put(catmpl, "cn = stampd test CA\nca\ncert_signing_key\n"
	    "expiration_days = 2\n");
	put(tmpl, "cn = localhost\ndns_name = localhost\n"
	    "ip_address = 127.0.0.1\ntls_www_server\nsigning_key\n"
	    "expiration_days = 2\n");
	certtool("CA key", (char *[]){ "/usr/bin/certtool",
	    "--generate-privkey", "--key-type=ecdsa", "--outfile", cakey,
	    NULL });
	certtool("CA", (char *[]){ "/usr/bin/certtool", "--generate-self-signed",
	    "--load-privkey", cakey, "--template", catmpl, "--outfile", ca,
	    NULL });
	certtool("key", (char *[]){ "/usr/bin/certtool", "--generate-privkey",
	    "--key-type=ecdsa", "--outfile", key, NULL });
	certtool("certificate", (char *[]){ "/usr/bin/certtool",
	    "--generate-certificate", "--load-privkey", key,
	    "--load-ca-certificate", ca, "--load-ca-privkey", cakey,
	    "--template", tmpl, "--outfile", cert, NULL });
	/* A renewal, for SIGHUP: the same key, another certificate. */
	certtool("renewal", (char *[]){ "/usr/bin/certtool",
	    "--generate-certificate", "--load-privkey", key,
	    "--load-ca-certificate", ca, "--load-ca-privkey", cakey,
	    "--template", tmpl, "--outfile", renewed, NULL });
	/* The chain stampd serves: its certificate, then the CA's. */
	if ((f = fopen(ca, "r")) == NULL)
		die("%s: %s", ca, strerror(errno));
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((f = fopen(cert, "a")) == NULL || fputs(buf, f) == EOF ||
	    fclose(f) == EOF || (f = fopen(renewed, "a")) == NULL ||
	    fputs(buf, f) == EOF || fclose(f) == EOF)
		die("%s: %s", cert, strerror(errno));
	copy(cert, first);
	/*
	 * Read by the user stampd runs as, too: an upgrade's check and a
	 * reread on SIGHUP come after the drop from root.
	 */
	if (chmod(dir, 0755) == -1 || chmod(key, 0644) == -1)
		die("chmod: %s", strerror(errno));
}

static void
remove_certs(void)
{
	static const char *const names[] = { "ca.key", "ca.tmpl",
	    "server.tmpl", "ca.pem", "server.key", "server.pem", "first.pem",
	    "renewed.pem" };
	char	 path[96];
	size_t	 i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

/* What one key establishment came to. */
struct ke {
	int		 shaken;	/* the handshake succeeded */
	int		 eof;		/* the server closed */
	size_t		 len;
	unsigned char	 buf[8192];
	struct nts_keys	 k;
	unsigned char	 peer[4096];	/* the server's certificate, DER */
	size_t		 peerlen;
};

/*
 * Run key establishment with l: TLS with priority prio and ALPN alpn (NULL:
 * none), then send req[0..reqlen) and read until the server closes.
 */
static void
ke_run(const struct h_listener *l, const char *prio, const char *alpn,
    const void *req, size_t reqlen, struct ke *o)
{
	gnutls_certificate_credentials_t cred;
	gnutls_session_t	 s;
	gnutls_datum_t		 proto;
	const gnutls_datum_t	*peer;
	unsigned		 npeer = 0;
	unsigned char		 ctx[5] = { 0, 0, 0, NTSKE_AEAD_SIV_CMAC_256,
				    0 };
	long long		 deadline = h_now_ms() + WAIT_MS;
	ssize_t			 n;
	int			 fd, r;

	memset(o, 0, sizeof *o);
	fd = h_timed_socket(l->ss.ss_family, SOCK_STREAM, WAIT_MS);
	if (connect(fd, (const struct sockaddr *)&l->ss, l->sslen) == -1)
		die("connect: %s", strerror(errno));
	if (gnutls_certificate_allocate_credentials(&cred) < 0 ||
	    gnutls_init(&s, GNUTLS_CLIENT) < 0 ||
	    gnutls_priority_set_direct(s, prio, NULL) < 0 ||
	    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred) < 0)
		bail("gnutls client");
	if (alpn != NULL) {
		proto.data = (unsigned char *)alpn;
		proto.size = (unsigned)strlen(alpn);
		gnutls_alpn_set_protocols(s, &proto, 1, 0);
	}
	gnutls_transport_set_int(s, fd);
	gnutls_handshake_set_timeout(s, (unsigned)WAIT_MS);
	do
		r = gnutls_handshake(s);
	while (r < 0 && !gnutls_error_is_fatal(r) && h_now_ms() < deadline);
	if (r < 0)
		goto out;
	o->shaken = 1;
	if ((peer = gnutls_certificate_get_peers(s, &npeer)) != NULL &&
	    npeer > 0 && peer[0].size <= sizeof o->peer) {
		memcpy(o->peer, peer[0].data, peer[0].size);
		o->peerlen = peer[0].size;
	}
	if (gnutls_prf_rfc5705(s, strlen(NTSKE_EXPORTER_LABEL),
	    NTSKE_EXPORTER_LABEL, sizeof ctx, (char *)ctx, sizeof o->k.c2s,
	    (char *)o->k.c2s) < 0)
		bail("export c2s");
	ctx[4] = 1;
	if (gnutls_prf_rfc5705(s, strlen(NTSKE_EXPORTER_LABEL),
	    NTSKE_EXPORTER_LABEL, sizeof ctx, (char *)ctx, sizeof o->k.s2c,
	    (char *)o->k.s2c) < 0)
		bail("export s2c");
	if (reqlen > 0 && gnutls_record_send(s, req, reqlen) != (ssize_t)reqlen)
		goto out;
	while (o->len < sizeof o->buf && h_now_ms() < deadline) {
		n = gnutls_record_recv(s, o->buf + o->len,
		    sizeof o->buf - o->len);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n <= 0) {
			o->eof = n == 0 || n == GNUTLS_E_PREMATURE_TERMINATION;
			break;
		}
		o->len += (size_t)n;
	}
out:
	gnutls_deinit(s);
	gnutls_certificate_free_credentials(cred);
	close(fd);
}

/* A record: type (with the critical bit), body. */
static size_t
rec(unsigned char *p, int type, const void *body, size_t len)
{
	p[0] = (unsigned char)(type >> 8);
	p[1] = (unsigned char)type;
	p[2] = (unsigned char)(len >> 8);
	p[3] = (unsigned char)len;
	if (len > 0)
		memcpy(p + 4, body, len);
	return 4 + len;
}

static const unsigned char ntpv4[] = { 0, 0 };
static const unsigned char siv[] = { 0, NTSKE_AEAD_SIV_CMAC_256 };
#define C	NTSKE_CRITICAL

/* Section 4's requests, and what each must get. */
enum want { W_COOKIES, W_ERROR0, W_ERROR1, W_NOCOOKIES };

static size_t
build(int i, unsigned char *p, const char **name, enum want *want)
{
	static const unsigned char other[] = { 0, 1 };
	static const unsigned char err[] = { 0, 0 };
	size_t	 n = 0;

	*want = W_ERROR1;
	switch (i) {
	case 0:
		*name = "a good request";
		*want = W_COOKIES;
		n += rec(p + n, C | NTSKE_NEXT_PROTO, ntpv4, 2);
		n += rec(p + n, C | NTSKE_AEAD, siv, 2);
		break;
	case 1:
		*name = "an unknown record, not critical, skipped";
		*want = W_COOKIES;
		n += rec(p + n, C | NTSKE_NEXT_PROTO, ntpv4, 2);
		n += rec(p + n, 0x4321, "abcd", 4);
		n += rec(p + n, NTSKE_AEAD, siv, 2);
		break;
	case 2:
		*name = "an unknown critical record: error 0";
		*want = W_ERROR0;
		n += rec(p + n, C | NTSKE_NEXT_PROTO, ntpv4, 2);
		n += rec(p + n, C | 0x4321, "abcd", 4);
		n += rec(p + n, C | NTSKE_AEAD, siv, 2);
		break;
	case 3:
		*name = "no Next Protocol: error 1";
		n += rec(p + n, C | NTSKE_AEAD, siv, 2);
		break;
	case 4:
		*name = "two Next Protocol records: error 1";
		n += rec(p + n, C | NTSKE_NEXT_PROTO, ntpv4, 2);
		n += rec(p + n, C | NTSKE_NEXT_PROTO, ntpv4, 2);
		n += rec(p + n, C | NTSKE_AEAD, siv, 2);
		break;
	case 5:
		*name = "two AEAD records: error 1";
		n += rec(p + n, C | NTSKE_NEXT_PROTO, ntpv4, 2);
		n += rec(p + n, C | NTSKE_AEAD, siv, 2);
		n += rec(p + n, C | NTSKE_AEAD, siv, 2);
		break;
	case 6:
		*name = "an Error record from a client: error 1";
		n += rec(p + n, C | NTSKE_NEXT_PROTO, ntpv4, 2);
		n += rec(p + n, C | NTSKE_ERROR, err, 2);
		break;
	case 7:
		*name = "an odd-length protocol list: error 1";
		n += rec(p + n, C | NTSKE_NEXT_PROTO, ntpv4, 1);
		break;
	case 8:
		*name = "only an AEAD we lack: no cookies";
		*want = W_NOCOOKIES;
		n += rec(p + n, C | NTSKE_NEXT_PROTO, ntpv4, 2);
		n += rec(p + n, C | NTSKE_AEAD, other, 2);
		break;
	case 9:
		*name = "no End of Message in the size bound: error 1";
		while (n < NTSKE_REQUEST_MAX + 64)
			n += rec(p + n, 0x4321, "abcdefghijklmnop", 16);
		return n;
	default:
		return 0;
	}
	n += rec(p + n, C | NTSKE_END, NULL, 0);
	return n;
}

/* The Error record's code in a response, or -1. */
static int
error_code(const struct ke *o)
{
	struct ntske_answer	 an;

	if (ntske_answer(o->buf, o->len, &an) == NTSKE_MORE)
		return -1;
	return an.error;
}

static void
records(const char *m, const struct h_listener *l)
{
	unsigned char		 req[NTSKE_REQUEST_MAX + 128];
	struct ntske_answer	 an;
	const char		*name;
	enum want		 want;
	struct ke		 o;
	size_t			 n;
	int			 i, v;

	for (i = 0; (n = build(i, req, &name, &want)) > 0; i++) {
		ke_run(l, TLS13, NTSKE_ALPN, req, n, &o);
		if (!o.shaken) {
			ok(0, "%s: %s: handshake", m, name);
			continue;
		}
		v = ntske_answer(o.buf, o.len, &an);
		switch (want) {
		case W_COOKIES:
			ok(v == NTSKE_OK && an.ncookies == NTSKE_COOKIES &&
			    an.aead == NTSKE_AEAD_SIV_CMAC_256 && an.ntpv4 &&
			    o.eof, "%s: %s: 8 cookies (got %d, %d)", m, name,
			    v, an.ncookies);
			break;
		case W_NOCOOKIES:
			ok(an.ncookies == 0 && an.aead == -1 && o.eof,
			    "%s: %s", m, name);
			break;
		case W_ERROR0:
		case W_ERROR1:
			is_int(error_code(&o), want == W_ERROR0 ?
			    NTSKE_E_UNRECOGNIZED : NTSKE_E_BAD_REQUEST,
			    "%s: %s", m, name);
			break;
		}
	}
	/* Half a request, then silence: closed at --linger, unanswered. */
	n = rec(req, C | NTSKE_NEXT_PROTO, ntpv4, 2);
	ke_run(l, TLS13, NTSKE_ALPN, req, n, &o);
	ok(o.shaken && o.eof && o.len == 0,
	    "%s: a request that never ends is cut off, unanswered", m);
	ke_run(l, TLS12, NTSKE_ALPN, NULL, 0, &o);
	ok(!o.shaken, "%s: a TLS 1.2 client is refused", m);
	ke_run(l, TLS13, NULL, NULL, 0, &o);
	ok(!o.shaken, "%s: a client without ALPN is refused", m);
	ke_run(l, TLS13, "http/1.1", NULL, 0, &o);
	ok(!o.shaken, "%s: a client with another ALPN is refused", m);
}

/* A 48-byte client header, its transmit time now. */
static void
header(unsigned char *h, uint64_t *xmt)
{
	struct ntp_packet	 p = { 0 };
	struct timespec		 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	p.version = 4;
	p.mode = NTP_MODE_CLIENT;
	p.xmt = *xmt = ntp_from_timespec(&ts);
	if (ntp_encode(&p, h, NTP_HEADER_LEN) == -1)
		bail("ntp_encode");
}

/*
 * One NTS exchange on fd with cookie, nph placeholders, keys k; tamper:
 * 0 none, 1 the cookie, 2 the authenticator.  Returns the reply's length
 * (-1: none) and what nts_client_check made of it in *an (check's result
 * in *checked).
 */
static ssize_t
exchange(int fd, const unsigned char *cookie, size_t clen, int nph,
    const struct nts_keys *k, int tamper, struct nts_answer *an,
    int *checked, size_t *reqlen, struct ntp_packet *rep, uint64_t *xmt)
{
	unsigned char	 h[NTP_HEADER_LEN], uid[NTS_UID_MIN];
	unsigned char	 nonce[NTS_NONCE_LEN], req[1024], c[NTSKE_COOKIE_MAX];
	unsigned char	 buf[2048];
	ssize_t		 n;
	int		 len;

	header(h, xmt);
	gnutls_rnd(GNUTLS_RND_NONCE, uid, sizeof uid);
	gnutls_rnd(GNUTLS_RND_NONCE, nonce, sizeof nonce);
	memcpy(c, cookie, clen);
	if (tamper == 1)
		c[clen / 2] ^= 0x40;
	if ((len = nts_client_request(h, uid, c, clen, nph, k, nonce, req,
	    sizeof req)) == -1)
		bail("nts_client_request");
	if (tamper == 2)
		req[len - 1] ^= 0x01;
	*reqlen = (size_t)len;
	if (send(fd, req, (size_t)len, 0) != len)
		return -1;
	if ((n = h_udp_recv(fd, (char *)buf, sizeof buf, WAIT_MS)) == -1)
		return -1;
	memset(an, 0, sizeof *an);
	*checked = nts_client_check(buf, (size_t)n, uid, k, an);
	if (ntp_decode(buf, (size_t)n, rep) == -1)
		memset(rep, 0, sizeof *rep);
	return n;
}

static void
authenticated(const char *m, const struct h_listener *ke,
    const struct h_listener *ntp)
{
	unsigned char		 req[64];
	struct ntske_answer	 an;
	struct nts_answer	 na;
	struct ntp_packet	 rep;
	struct ke		 o;
	uint64_t		 xmt;
	size_t			 n, reqlen;
	ssize_t			 got;
	int			 fd, checked;

	if ((n = (size_t)ntske_client_request(req, sizeof req)) == (size_t)-1)
		bail("ntske_client_request");
	ke_run(ke, TLS13, NTSKE_ALPN, req, n, &o);
	if (ntske_answer(o.buf, o.len, &an) != NTSKE_OK ||
	    an.ncookies < 2) {
		ok(0, "%s: cookies for NTP", m);
		return;
	}
	is_int(an.port, ntp->port, "%s: Port Negotiation names the NTP "
	    "listener", m);
	if ((fd = h_udp_open(ntp)) == -1)
		bail("udp");
	got = exchange(fd, an.cookie[0], an.cookie_len[0], 3, &o.k, 0, &na,
	    &checked, &reqlen, &rep, &xmt);
	ok(got > NTP_HEADER_LEN && checked == 0 && !na.nak,
	    "%s: an NTS request gets an authenticated reply", m);
	ok(got > 0 && (size_t)got <= reqlen,
	    "%s: never longer than the request (%zd <= %zu)", m, got, reqlen);
	is_int(na.ncookies, 4, "%s: a cookie per cookie and placeholder", m);
	ok(rep.mode == NTP_MODE_SERVER && rep.org == xmt,
	    "%s: the reply answers the request", m);
	if (na.ncookies > 0) {
		got = exchange(fd, na.cookie[0], na.cookie_len[0], 0, &o.k, 0,
		    &na, &checked, &reqlen, &rep, &xmt);
		ok(got > 0 && checked == 0 && !na.nak && na.ncookies == 1,
		    "%s: a cookie from a reply works in turn", m);
	}
	got = exchange(fd, an.cookie[1], an.cookie_len[1], 0, &o.k, 1, &na,
	    &checked, &reqlen, &rep, &xmt);
	ok(got > 0 && checked == 0 && na.nak && rep.stratum == 0 &&
	    rep.refid == 0x4e54534eU, "%s: a tampered cookie gets NTSN", m);
	got = exchange(fd, an.cookie[2], an.cookie_len[2], 0, &o.k, 2, &na,
	    &checked, &reqlen, &rep, &xmt);
	ok(got > 0 && checked == 0 && na.nak,
	    "%s: a tampered authenticator gets NTSN", m);
	close(fd);
}

/* A plain NTP request on l: whether it got a 48-byte reply. */
static int
plain(const struct h_listener *l)
{
	unsigned char	 h[NTP_HEADER_LEN];
	char		 buf[1024];
	uint64_t	 xmt;
	int		 fd, r;

	if ((fd = h_udp_open(l)) == -1)
		bail("udp");
	header(h, &xmt);
	r = send(fd, h, sizeof h, 0) == (ssize_t)sizeof h &&
	    h_udp_recv(fd, buf, sizeof buf, (int)h_ms(1000)) ==
	    NTP_HEADER_LEN;
	close(fd);
	return r;
}

/*
 * SIGHUP: the next key establishments present the certificate now in the
 * file, in whichever process serves them.
 */
static void
reread(const char *m, struct h_daemon *d, const struct h_listener *l)
{
	unsigned char	 before[4096];
	size_t		 blen;
	long long	 deadline;
	struct ke	 o;
	int		 i, changed = 0;

	ke_run(l, TLS13, NTSKE_ALPN, NULL, 0, &o);
	memcpy(before, o.peer, o.peerlen);
	blen = o.peerlen;
	copy(renewed, cert);
	kill(d->pid, SIGHUP);
	deadline = h_now_ms() + WAIT_MS;
	/* Each process rereads before its next session: ask until one has. */
	while (!changed && h_now_ms() < deadline) {
		ke_run(l, TLS13, NTSKE_ALPN, NULL, 0, &o);
		changed = o.shaken && o.peerlen > 0 &&
		    (o.peerlen != blen || memcmp(o.peer, before, blen) != 0);
	}
	ok(blen > 0 && changed, "%s: SIGHUP: the renewed certificate is "
	    "served", m);
	/* Once the signal is taken, every process serves the new one. */
	for (i = 0; changed && i < 8; i++) {
		ke_run(l, TLS13, NTSKE_ALPN, NULL, 0, &o);
		changed = o.shaken && o.peerlen > 0 &&
		    (o.peerlen != blen || memcmp(o.peer, before, blen) != 0);
	}
	ok(changed, "%s: SIGHUP: and only it, after", m);
	copy(first, cert);
}

/* The cookies and keys of one key establishment with l. */
static int
cookies(const struct h_listener *l, struct ntske_answer *an, struct ke *o)
{
	unsigned char	 req[64];
	int		 n;

	if ((n = ntske_client_request(req, sizeof req)) == -1)
		bail("ntske_client_request");
	ke_run(l, TLS13, NTSKE_ALPN, req, (size_t)n, o);
	return ntske_answer(o->buf, o->len, an) == NTSKE_OK &&
	    an->ncookies == NTSKE_COOKIES ? 0 : -1;
}

/* Whether cookie i of an, with o's keys, is taken by ntp. */
static int
taken(const struct h_listener *ntp, const struct ntske_answer *an, int i,
    const struct ke *o)
{
	struct nts_answer	 na;
	struct ntp_packet	 rep;
	uint64_t		 xmt;
	size_t			 reqlen;
	ssize_t			 got;
	int			 fd, checked;

	if ((fd = h_udp_open(ntp)) == -1)
		bail("udp");
	got = exchange(fd, an->cookie[i], an->cookie_len[i], 0, &o->k, 0,
	    &na, &checked, &reqlen, &rep, &xmt);
	close(fd);
	return got > 0 && checked == 0 && !na.nak && na.ncookies == 1;
}

/*
 * Cookies outlive the process that sealed them: an upgrade (SIGUSR2)
 * takes the keys with it, and a second stampd given the same key file
 * opens them too.
 */
static void
kept(const char *m)
{
	char			 file[96];
	const char		*args[] = { "-m", m, "--local-stratum", "8",
				    "--tls-cert", cert, "--tls-key", key,
				    "--nts-key-file", file, "-l",
				    "tcp:127.0.0.1:0/nts-ke", "-l",
				    "udp:127.0.0.1:0/ntp", NULL };
	const struct h_listener	*ntp;
	struct ntske_answer	 an;
	struct h_daemon		 d, d2;
	struct ke		 o;
	long long		 deadline;
	struct stat		 sb;

	snprintf(file, sizeof file, "%s/nts-%s.key", dir, m);
	if (h_daemon_start(&d, 2, args) == -1) {
		ok(0, "%s: stampd --nts-key-file", m);
		return;
	}
	ok(stat(file, &sb) == 0 && (sb.st_mode & 0777) == 0600 &&
	    sb.st_size == 32, "%s: the key file is made, 0600, 32 bytes", m);
	ntp = h_daemon_find(&d, "udp", "ntp");
	if (cookies(h_daemon_find(&d, "tcp", "nts-ke"), &an, &o) == -1) {
		ok(0, "%s: cookies before the upgrade", m);
		h_daemon_stop(&d);
		return;
	}
	ok(taken(ntp, &an, 0, &o), "%s: a cookie is taken", m);
	kill(d.pid, SIGUSR2);
	deadline = h_now_ms() + WAIT_MS;
	while (h_count(h_daemon_log(&d), "upgraded: ") == 0 &&
	    h_now_ms() < deadline)
		h_nap(20);
	ok(h_count(h_daemon_log(&d), "upgraded: ") == 1,
	    "%s: SIGUSR2 upgrades", m);
	ok(taken(ntp, &an, 1, &o),
	    "%s: a cookie from before the upgrade is taken after it", m);

	/* The second: NTP alone, the same key file. */
	args[11] = "udp:127.0.0.1:0/ntp";
	args[12] = NULL;
	if (h_daemon_start(&d2, 1, args) == -1)
		ok(0, "%s: a second stampd with the same key file", m);
	else {
		ok(taken(h_daemon_find(&d2, "udp", "ntp"), &an, 2, &o),
		    "%s: a second stampd with the key file takes the first's "
		    "cookie", m);
		h_daemon_stop(&d2);
	}
	is_int(h_daemon_stop(&d), 0, "%s: the upgraded stampd exits 0", m);
	unlink(file);
}

/*
 * Handshakes that stall hold a place under --max-conns, never a worker:
 * with every place held by a client that sent one byte of a ClientHello,
 * NTP is answered all the same, one more key establishment is refused at
 * once, and the places come back when the stalled clients go.
 */
static void
stalled(const char *m)
{
	const char		*args[] = { "-m", m, "--local-stratum", "8",
				    "--max-conns", "4", "--limit-loopback",
				    "--linger", "20000", "--tls-cert", cert,
				    "--tls-key", key, "-l",
				    "tcp:127.0.0.1:0/nts-ke", "-l",
				    "udp:127.0.0.1:0/ntp", NULL };
	const struct h_listener	*ke, *ntp;
	struct h_client		 held[4], extra;
	struct ntske_answer	 an;
	struct h_daemon		 d;
	struct ke		 o;
	long long		 deadline;
	int			 i, got = -1;

	if (h_daemon_start(&d, 2, args) == -1) {
		ok(0, "%s: stampd --max-conns 4", m);
		return;
	}
	ke = h_daemon_find(&d, "tcp", "nts-ke");
	ntp = h_daemon_find(&d, "udp", "ntp");
	for (i = 0; i < 4; i++)
		h_cl_hold(&held[i], ke, "127.0.0.1", WAIT_MS);
	is_int(h_cl_connected(held, 4, WAIT_MS), 4,
	    "%s: four handshakes stall, a byte sent", m);
	ok(h_counter_at_least(&d, "accepted", 4, WAIT_MS) >= 4,
	    "%s: all four accepted", m);
	ok(plain(ntp), "%s: every place held: NTP is answered", m);
	h_cl_open(&extra, ke, "127.0.0.1");
	h_cl_wait(&extra, 1, WAIT_MS);
	ok(h_cl_refused(&extra), "%s: a fifth is refused at once (%s)", m,
	    h_cl_what(&extra, "nts-ke"));
	h_cl_close(&extra, 1);
	h_cl_close(held, 4);
	/* A place comes back a moment after its client goes. */
	deadline = h_now_ms() + WAIT_MS;
	while ((got = cookies(ke, &an, &o)) == -1 && h_now_ms() < deadline)
		h_nap(20);
	is_int(got, 0, "%s: once they go, key establishment works", m);
	is_int(h_daemon_stop(&d), 0, "%s: stampd exits 0", m);
}

static void
one_model(const char *m)
{
	const char		*args[] = { "-m", m, "--local-stratum", "8",
				    "--linger", "300", "--tls-cert", cert,
				    "--tls-key", key, "-l",
				    "tcp:127.0.0.1:0/nts-ke", "-l",
				    "udp:127.0.0.1:0/ntp", NULL, NULL };
	const struct h_listener	*ke, *ntp;
	struct h_daemon		 d;

	if (h_daemon_start(&d, 2, args) == -1) {
		ok(0, "%s: stampd serves nts-ke and ntp", m);
		return;
	}
	if ((ke = h_daemon_find(&d, "tcp", "nts-ke")) == NULL ||
	    (ntp = h_daemon_find(&d, "udp", "ntp")) == NULL)
		bail("no nts-ke or ntp listener");
	records(m, ke);
	authenticated(m, ke, ntp);
	ok(plain(ntp), "%s: plain NTP is answered beside NTS", m);
	reread(m, &d, ke);
	ok(h_counter_at_least(&d, "ke sessions", 4, WAIT_MS) >= 4,
	    "%s: the key establishments are counted", m);
	ok(h_daemon_counter(&d, "ke refused") >= 9,
	    "%s: the refusals are counted", m);
	ok(h_daemon_counter(&d, "nts naks") >= 2, "%s: so are the NAKs", m);
	is_int(h_daemon_stop(&d), 0, "%s: stampd exits 0 on TERM", m);

	args[14] = "--nts-only";
	if (h_daemon_start(&d, 2, args) == -1) {
		ok(0, "%s: stampd --nts-only", m);
		return;
	}
	ntp = h_daemon_find(&d, "udp", "ntp");
	ok(ntp != NULL && !plain(ntp), "%s: --nts-only: plain NTP unanswered",
	    m);
	authenticated(m, h_daemon_find(&d, "tcp", "nts-ke"), ntp);
	is_int(h_daemon_stop(&d), 0, "%s: --nts-only: exits 0 on TERM", m);
	kept(m);
	stalled(m);
}

/* A key file that others may read is refused before anything is bound. */
static void
open_key_file(void)
{
	char		 file[96];
	struct h_result	 r;
	FILE		*f;

	snprintf(file, sizeof file, "%s/open.key", dir);
	if ((f = fopen(file, "w")) == NULL ||
	    fputs("0123456789abcdef0123456789abcdef", f) == EOF ||
	    fclose(f) == EOF || chmod(file, 0644) == -1)
		die("%s: %s", file, strerror(errno));
	h_run((char *[]){ (char *)h_prog("STAMPD"), "--nts-key-file", file,
	    "-l", "udp:127.0.0.1:0/ntp", NULL }, WAIT_MS, &r);
	is_int(r.status, 1, "a key file others may read: stampd exits 1");
	ok(strstr(r.err, "chmod 600") != NULL && strstr(r.err, "listening") ==
	    NULL, "before binding, saying what to change: %s", r.err);
	unlink(file);
}

int
main(void)
{
	char	 models[16][32];
	int	 i, n;

	n = h_models(models, 16);
	if (n <= 0)
		bail("no models from stampd --help");
	make_certs();
	open_key_file();
	for (i = 0; i < n; i++)
		one_model(models[i]);
	remove_certs();
	done_testing();
}

#else /* !STAMP_NTS */

int
main(void)
{
	bail("built without GnuTLS: sh tests/deps.sh installs libgnutls28-dev");
}

#endif
