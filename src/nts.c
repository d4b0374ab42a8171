/*
 * nts.c: NTS for NTPv4 (RFC 8915, section 5), the server's side and the
 * client's.
 *
 * Extension fields (RFC 7822) are read with every length checked against
 * what is left, and written with every length checked against the room;
 * nothing here trusts a byte of the packet.  The one allocation is the
 * client's two keys made ready for the cipher, freed before return.
 * Never reads a clock or a descriptor; randomness comes as an argument.
 */
#include <stdint.h>
#include <string.h>

#include "ntp.h"
#include "nts.h"
#include "siv.h"

#define EF_HDR		4	/* type, length */
#define EF_MIN		16	/* RFC 7822's smallest extension field */
#define AEAD_SIV	15	/* AEAD_AES_SIV_CMAC_256's IANA number */
/* RFC 8915, 5.6: a nonce shorter than this is refused. */
#define NONCE_MIN	16
/* The longest cookie a client makes placeholders for (any server's). */
#define PLACEHOLDER_MAX	256
/* The kiss code of an NTS NAK, big-endian. */
#define KOD_NTSN	0x4e54534eU

static unsigned
get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static void
put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void
put32(unsigned char *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static size_t
pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

int
nts_cookie_seal(const struct nts_keyring *ring, const struct nts_keys *k,
    const unsigned char *nonce, unsigned char *out, size_t len)
{
	unsigned char	 pt[4 + 2 * NTS_KEY_LEN];
	struct siv	*s;
	int		 n;

	if (len < NTS_COOKIE_LEN ||
	    (s = ring->find(ring->arg, ring->current)) == NULL)
		return -1;
	put32(out, ring->current);
	memcpy(out + 4, nonce, NTS_NONCE_LEN);
	put16(pt, AEAD_SIV);
	put16(pt + 2, 0);
	memcpy(pt + 4, k->c2s, NTS_KEY_LEN);
	memcpy(pt + 4 + NTS_KEY_LEN, k->s2c, NTS_KEY_LEN);
	n = siv_seal(s, nonce, NTS_NONCE_LEN, out, 4, pt, sizeof pt,
	    out + 4 + NTS_NONCE_LEN, len - 4 - NTS_NONCE_LEN);
	memset(pt, 0, sizeof pt);
	return n == -1 ? -1 : NTS_COOKIE_LEN;
}

int
nts_cookie_open(const struct nts_keyring *ring, const unsigned char *c,
    size_t len, struct nts_keys *k)
{
	unsigned char	 pt[4 + 2 * NTS_KEY_LEN];
	struct siv	*s;
	int		 r = -1;

	if (len != NTS_COOKIE_LEN ||
	    (s = ring->find(ring->arg, get32(c))) == NULL)
		return -1;
	if (siv_open(s, c + 4, NTS_NONCE_LEN, c, 4, c + 4 + NTS_NONCE_LEN,
	    len - 4 - NTS_NONCE_LEN, pt, sizeof pt) == (int)sizeof pt &&
	    get16(pt) == AEAD_SIV && get16(pt + 2) == 0) {
		memcpy(k->c2s, pt + 4, NTS_KEY_LEN);
		memcpy(k->s2c, pt + 4 + NTS_KEY_LEN, NTS_KEY_LEN);
		r = 0;
	}
	memset(pt, 0, sizeof pt);
	return r;
}

/*
 * The Authenticator's body b[0..len): its nonce and sealed fields into r.
 * Returns 0, or -1 if it is malformed.
 */
static int
authenticator(const unsigned char *b, size_t len, const unsigned char **nonce,
    size_t *nlen, const unsigned char **ct, size_t *ctlen)
{
	size_t	 nl, cl;

	if (len < 4)
		return -1;
	nl = get16(b);
	cl = get16(b + 2);
	if (nl < NONCE_MIN || cl < SIV_TAG_LEN ||
	    4 + pad4(nl) + pad4(cl) > len)
		return -1;
	*nonce = b + 4;
	*nlen = nl;
	*ct = b + 4 + pad4(nl);
	*ctlen = cl;
	return 0;
}

enum nts_kind
nts_parse(const unsigned char *pkt, size_t len, struct nts_req *r)
{
	const unsigned char	*body;
	size_t			 off = NTP_HEADER_LEN, flen, blen;
	int			 nts = 0, authed = 0;

	memset(r, 0, sizeof *r);
	if (len < NTP_HEADER_LEN)
		return NTS_PLAIN;
	while (len - off >= EF_HDR) {
		flen = get16(pkt + off + 2);
		/*
		 * Not a field: before any NTS field, the legacy MAC or bytes
		 * that ntp_judge has judged; after one, a broken request.
		 */
		if (flen < EF_MIN || flen % 4 != 0 || flen > len - off)
			return nts ? NTS_MALFORMED : NTS_PLAIN;
		/* The authenticator is the last field: nothing after it. */
		if (authed)
			return NTS_MALFORMED;
		body = pkt + off + EF_HDR;
		blen = flen - EF_HDR;
		switch (get16(pkt + off)) {
		case NTS_EF_UID:
			if (r->uid != NULL || blen < NTS_UID_MIN)
				return NTS_MALFORMED;
			r->uid = body;
			r->uid_len = blen;
			nts = 1;
			break;
		case NTS_EF_COOKIE:
			/* Exactly one: each cookie is good once. */
			if (r->cookie != NULL)
				return NTS_MALFORMED;
			r->cookie = body;
			r->cookie_len = blen;
			nts = 1;
			break;
		case NTS_EF_PLACEHOLDER:
			r->placeholders++;
			nts = 1;
			break;
		case NTS_EF_AUTH:
			if (authenticator(body, blen, &r->nonce, &r->nonce_len,
			    &r->ct, &r->ct_len) == -1)
				return NTS_MALFORMED;
			r->auth_off = off;
			authed = nts = 1;
			break;
		default:
			/* Another extension's field: not ours to judge. */
			break;
		}
		off += flen;
	}
	if (!nts)
		return NTS_PLAIN;
	if (off != len || r->uid == NULL || r->cookie == NULL || !authed)
		return NTS_MALFORMED;
	return NTS_REQUEST;
}

/*
 * Call fn for each field of the encrypted fields pt[0..len), its type and
 * body; returns 0, or -1 if they are malformed.
 */
static int
each_field(const unsigned char *pt, size_t len,
    void (*fn)(void *, unsigned, const unsigned char *, size_t), void *arg)
{
	size_t	 off = 0, flen;

	while (off < len) {
		if (len - off < EF_HDR)
			return -1;
		flen = get16(pt + off + 2);
		if (flen < EF_HDR || flen % 4 != 0 || flen > len - off)
			return -1;
		fn(arg, get16(pt + off), pt + off + EF_HDR, flen - EF_HDR);
		off += flen;
	}
	return 0;
}

static void
count_placeholder(void *arg, unsigned type, const unsigned char *body,
    size_t len)
{
	(void)body;
	(void)len;
	if (type == NTS_EF_PLACEHOLDER)
		(*(int *)arg)++;
}

/* Write field type with body[0..len) at out, padded: its length, or 0. */
static size_t
put_field(unsigned char *out, size_t room, unsigned type,
    const unsigned char *body, size_t len)
{
	size_t	 flen = EF_HDR + pad4(len);

	if (flen > room || flen > 0xffff)
		return 0;
	put16(out, type);
	put16(out + 2, (unsigned)flen);
	if (len > 0)
		memcpy(out + EF_HDR, body, len);
	memset(out + EF_HDR + len, 0, flen - EF_HDR - len);
	return flen;
}

/* The NTS NAK to r: hdr made a Kiss-o'-Death NTSN, the UID echoed. */
static size_t
nak(const struct nts_req *r, const unsigned char *hdr, unsigned char *out,
    size_t room)
{
	size_t	 n;

	if (room < NTP_HEADER_LEN)
		return 0;
	memcpy(out, hdr, NTP_HEADER_LEN);
	out[0] = (unsigned char)((out[0] & 0x3f) | NTP_LEAP_UNSYNC << 6);
	out[1] = 0;				/* stratum 0: a kiss */
	put32(out + 12, KOD_NTSN);
	n = put_field(out + NTP_HEADER_LEN, room - NTP_HEADER_LEN, NTS_EF_UID,
	    r->uid, r->uid_len);
	return n == 0 ? 0 : NTP_HEADER_LEN + n;
}

size_t
nts_server_reply(const struct nts_keyring *ring, const unsigned char *pkt,
    size_t len, const struct nts_req *r, const unsigned char *hdr,
    const unsigned char *rnd, unsigned char *out, size_t outlen,
    enum nts_result *res)
{
	unsigned char	 pt[NTS_COOKIES_MAX * (EF_HDR + NTS_COOKIE_LEN)];
	unsigned char	 cnonce[NTS_NONCE_LEN];
	struct nts_keys	 k;
	struct siv	*c2s = NULL, *s2c = NULL;
	size_t		 room = len < outlen ? len : outlen;
	size_t		 off, aoff, plen, need, n = 0;
	int		 inner, ncookies, i;

	*res = NTS_DROP;
	if (nts_cookie_open(ring, r->cookie, r->cookie_len, &k) == -1) {
		*res = NTS_NAK_COOKIE;
		return nak(r, hdr, out, room);
	}
	if ((c2s = siv_new(k.c2s)) == NULL)
		goto out;
	if (r->ct_len - SIV_TAG_LEN > sizeof pt ||
	    (inner = siv_open(c2s, r->nonce, r->nonce_len, pkt, r->auth_off,
	    r->ct, r->ct_len, pt, sizeof pt)) == -1) {
		*res = NTS_NAK_AUTH;
		n = nak(r, hdr, out, room);
		goto out;
	}
	plen = (size_t)inner;
	inner = 0;
	if (each_field(pt, plen, count_placeholder, &inner) == -1)
		goto out;
	ncookies = 1 + r->placeholders + inner;
	if (ncookies > NTS_COOKIES_MAX)
		ncookies = NTS_COOKIES_MAX;

	/* The header and the UID: what the authenticator vouches for. */
	if (room < NTP_HEADER_LEN)
		goto out;
	memcpy(out, hdr, NTP_HEADER_LEN);
	off = NTP_HEADER_LEN;
	if ((n = put_field(out + off, room - off, NTS_EF_UID, r->uid,
	    r->uid_len)) == 0)
		goto out;
	aoff = off + n;
	n = 0;
	/* As many cookies as fit: never a byte longer than the request. */
	for (; ncookies > 0; ncookies--) {
		need = aoff + EF_HDR + 4 + NTS_NONCE_LEN +
		    pad4(SIV_TAG_LEN + (size_t)ncookies *
		    (EF_HDR + NTS_COOKIE_LEN));
		if (need <= room)
			break;
	}
	/* Each cookie's nonce: the seed, its last byte told apart. */
	memcpy(cnonce, rnd + NTS_NONCE_LEN, NTS_NONCE_LEN);
	for (plen = 0, i = 0; i < ncookies; i++) {
		put16(pt + plen, NTS_EF_COOKIE);
		put16(pt + plen + 2, EF_HDR + NTS_COOKIE_LEN);
		cnonce[NTS_NONCE_LEN - 1] = (unsigned char)
		    (rnd[2 * NTS_NONCE_LEN - 1] ^ i);
		if (nts_cookie_seal(ring, &k, cnonce, pt + plen + EF_HDR,
		    NTS_COOKIE_LEN) == -1)
			goto out;
		plen += EF_HDR + NTS_COOKIE_LEN;
	}
	need = EF_HDR + 4 + NTS_NONCE_LEN + pad4(SIV_TAG_LEN + plen);
	if (aoff + need > room || (s2c = siv_new(k.s2c)) == NULL)
		goto out;
	put16(out + aoff, NTS_EF_AUTH);
	put16(out + aoff + 2, (unsigned)need);
	put16(out + aoff + 4, NTS_NONCE_LEN);
	put16(out + aoff + 6, (unsigned)(SIV_TAG_LEN + plen));
	memcpy(out + aoff + 8, rnd, NTS_NONCE_LEN);
	memset(out + aoff + 8 + NTS_NONCE_LEN, 0, need - 8 - NTS_NONCE_LEN);
	if (siv_seal(s2c, rnd, NTS_NONCE_LEN, out, aoff, pt, plen,
	    out + aoff + 8 + NTS_NONCE_LEN, SIV_TAG_LEN + plen) == -1)
		goto out;
	n = aoff + need;
	*res = NTS_OK;
out:
	siv_free(c2s);
	siv_free(s2c);
	memset(&k, 0, sizeof k);
	memset(pt, 0, sizeof pt);
	return n;
}

int
nts_client_request(const unsigned char *hdr, const unsigned char *uid,
    const unsigned char *cookie, size_t cookie_len, int nplaceholders,
    const struct nts_keys *k, const unsigned char *nonce,
    unsigned char *out, size_t outlen)
{
	unsigned char	 zero[PLACEHOLDER_MAX] = { 0 };
	struct siv	*s;
	size_t		 off = NTP_HEADER_LEN, n, need;
	int		 i, r;

	if (outlen < NTP_HEADER_LEN || cookie_len > sizeof zero)
		return -1;
	memcpy(out, hdr, NTP_HEADER_LEN);
	if ((n = put_field(out + off, outlen - off, NTS_EF_UID, uid,
	    NTS_UID_MIN)) == 0)
		return -1;
	off += n;
	if ((n = put_field(out + off, outlen - off, NTS_EF_COOKIE, cookie,
	    cookie_len)) == 0)
		return -1;
	off += n;
	for (i = 0; i < nplaceholders; i++) {
		if ((n = put_field(out + off, outlen - off,
		    NTS_EF_PLACEHOLDER, zero, cookie_len)) == 0)
			return -1;
		off += n;
	}
	/* No encrypted fields: the authenticator seals nothing but a tag. */
	need = EF_HDR + 4 + NTS_NONCE_LEN + SIV_TAG_LEN;
	if (need > outlen - off || (s = siv_new(k->c2s)) == NULL)
		return -1;
	put16(out + off, NTS_EF_AUTH);
	put16(out + off + 2, (unsigned)need);
	put16(out + off + 4, NTS_NONCE_LEN);
	put16(out + off + 6, SIV_TAG_LEN);
	memcpy(out + off + 8, nonce, NTS_NONCE_LEN);
	r = siv_seal(s, nonce, NTS_NONCE_LEN, out, off, NULL, 0,
	    out + off + 8 + NTS_NONCE_LEN, SIV_TAG_LEN);
	siv_free(s);
	return r == -1 ? -1 : (int)(off + need);
}

/* A fresh cookie among the decrypted fields, into the answer arg. */
static void
take_cookie(void *arg, unsigned type, const unsigned char *body, size_t len)
{
	struct nts_answer	*an = arg;

	if (type == NTS_EF_COOKIE && an->ncookies < NTS_COOKIES_MAX &&
	    len <= sizeof an->cookie[0]) {
		memcpy(an->cookie[an->ncookies], body, len);
		an->cookie_len[an->ncookies++] = len;
	}
}

int
nts_client_check(const unsigned char *pkt, size_t len,
    const unsigned char *uid, const struct nts_keys *k,
    struct nts_answer *an)
{
	unsigned char		 pt[1024];
	const unsigned char	*body, *nonce = NULL, *ct = NULL;
	size_t			 off = NTP_HEADER_LEN, flen, nlen = 0;
	size_t			 ctlen = 0, aoff = 0;
	struct siv		*s;
	int			 uid_ok = 0, n;

	memset(an, 0, sizeof *an);
	if (len < NTP_HEADER_LEN)
		return -1;
	while (off < len) {
		if (len - off < EF_HDR)
			return -1;
		flen = get16(pkt + off + 2);
		if (flen < EF_HDR || flen % 4 != 0 || flen > len - off ||
		    nonce != NULL)
			return -1;
		body = pkt + off + EF_HDR;
		switch (get16(pkt + off)) {
		case NTS_EF_UID:
			if (flen - EF_HDR >= NTS_UID_MIN &&
			    memcmp(body, uid, NTS_UID_MIN) == 0)
				uid_ok = 1;
			break;
		case NTS_EF_AUTH:
			if (authenticator(body, flen - EF_HDR, &nonce, &nlen,
			    &ct, &ctlen) == -1)
				return -1;
			aoff = off;
			break;
		}
		off += flen;
	}
	if (!uid_ok)
		return -1;
	/* A NAK is not authenticated (section 5.7): its UID is the proof. */
	if (nonce == NULL) {
		if (pkt[1] != 0 || get32(pkt + 12) != KOD_NTSN)
			return -1;
		an->nak = 1;
		return 0;
	}
	if (ctlen - SIV_TAG_LEN > sizeof pt || (s = siv_new(k->s2c)) == NULL)
		return -1;
	n = siv_open(s, nonce, nlen, pkt, aoff, ct, ctlen, pt, sizeof pt);
	siv_free(s);
	if (n == -1 || each_field(pt, (size_t)n, take_cookie, an) == -1)
		return -1;
	return 0;
}
