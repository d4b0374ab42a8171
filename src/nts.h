/*
 * nts.h: NTS for NTPv4 (RFC 8915, section 5): the extension fields, the
 * cookie, the server's reply and Kiss-o'-Death NTSN, the client's side.
 *
 * Pure but for the cipher: nothing reads a clock or a file descriptor or
 * sets errno.  Randomness (nonces) and the server's keys are arguments, so
 * every function can be table-tested and fuzzed as it stands.
 */
#ifndef STAMP_NTS_H
#define STAMP_NTS_H

#include <stddef.h>
#include <stdint.h>

#include "siv.h"

/* Extension field types (section 5.7, IANA). */
#define NTS_EF_UID		0x0104
#define NTS_EF_COOKIE		0x0204
#define NTS_EF_PLACEHOLDER	0x0304
#define NTS_EF_AUTH		0x0404

#define NTS_KEY_LEN		SIV_KEY_LEN
#define NTS_NONCE_LEN		16	/* the nonces this side makes */
#define NTS_UID_MIN		32	/* a Unique Identifier's body, least */
/*
 * Our cookie: the server key's id (4 bytes, big-endian), a nonce, then
 * the SIV-sealed AEAD id (2 bytes), 2 zero bytes, C2S key, S2C key.
 */
#define NTS_COOKIE_LEN		(4 + NTS_NONCE_LEN + SIV_TAG_LEN + 4 + \
				 2 * NTS_KEY_LEN)
/* The cookies one reply or one KE response brings. */
#define NTS_COOKIES_MAX		8
/* The random bytes nts_server_reply takes. */
#define NTS_RND_LEN		(2 * NTS_NONCE_LEN)

/* The two keys a client shares with the server (exported from TLS). */
struct nts_keys {
	unsigned char	 c2s[NTS_KEY_LEN];
	unsigned char	 s2c[NTS_KEY_LEN];
};

/*
 * The server's keys, by id: the one that seals new cookies (current) and
 * whichever an id names.  find returns NULL for an id no longer (or never)
 * accepted.  ntskey.h keeps them.
 */
struct nts_keyring {
	uint32_t	  current;
	struct siv	*(*find)(void *arg, uint32_t id);
	void		 *arg;
};

/*
 * Seal keys k into a cookie under the ring's current key, with nonce
 * (NTS_NONCE_LEN bytes): out gets NTS_COOKIE_LEN bytes.  Returns
 * NTS_COOKIE_LEN, or -1.  nts_cookie_open does the reverse: 0, or -1 when
 * the cookie is not one of ours, its key is gone, or it was tampered with.
 */
int	nts_cookie_seal(const struct nts_keyring *ring,
	    const struct nts_keys *k, const unsigned char *nonce,
	    unsigned char *out, size_t len);
int	nts_cookie_open(const struct nts_keyring *ring, const unsigned char *c,
	    size_t len, struct nts_keys *k);

/* A request's NTS extension fields, as nts_parse finds them. */
struct nts_req {
	const unsigned char	*uid;		/* the Unique Identifier */
	size_t			 uid_len;
	const unsigned char	*cookie;	/* the one cookie's body */
	size_t			 cookie_len;
	int			 placeholders;	/* Cookie Placeholders, counted
						   outside and inside the
						   authenticator */
	size_t			 auth_off;	/* where the Authenticator field
						   starts: the associated data
						   is the packet before it */
	const unsigned char	*nonce;
	size_t			 nonce_len;
	const unsigned char	*ct;		/* the sealed fields */
	size_t			 ct_len;
};

/* What nts_parse makes of a datagram. */
enum nts_kind {
	NTS_PLAIN,	/* no NTS field: plain NTP */
	NTS_REQUEST,	/* UID, one cookie and an authenticator, last */
	NTS_MALFORMED,	/* an NTS field, but not a request section 5.7
			   allows: answered by nothing */
};

/*
 * Find the extension fields (RFC 7822: type, length, body padded to 4;
 * the last may not be a legacy MAC) of NTP packet pkt[0..len), whose first
 * 48 bytes are the header.
 */
enum nts_kind	 nts_parse(const unsigned char *pkt, size_t len,
		    struct nts_req *r);

/* Why a request got what it got, for the counters. */
enum nts_result {
	NTS_OK,			/* authenticated and answered */
	NTS_NAK_COOKIE,		/* a cookie not ours or whose key is gone:
				   answered with NTSN */
	NTS_NAK_AUTH,		/* the authenticator did not verify: NTSN */
	NTS_DROP,		/* no room, or malformed: not answered */
};

/*
 * The server's answer to NTS request r (from nts_parse of pkt[0..len)):
 * open its cookie, verify its authenticator, and write the reply into out
 * (outlen bytes; never more than len are written): the 48-byte header
 * hdr, which the caller has made, with its transmit time, the Unique
 * Identifier echoed, and an Authenticator whose sealed fields are one new
 * cookie per cookie and placeholder received, sealed with the client's S2C
 * key.  A cookie that cannot be opened or an authenticator that does not
 * verify gets an NTS NAK: hdr made a Kiss-o'-Death NTSN (stratum 0, refid
 * "NTSN") with the Unique Identifier and nothing else.  rnd holds
 * NTS_RND_LEN random bytes: the reply's nonce, then a seed that each
 * cookie's nonce is made from (its last byte told apart by the cookie's
 * number), since SIV asks a nonce to differ, not to be secret.  Returns
 * the reply's length, or 0 (NTS_DROP), and why in *res.
 */
size_t	nts_server_reply(const struct nts_keyring *ring,
	    const unsigned char *pkt, size_t len, const struct nts_req *r,
	    const unsigned char *hdr, const unsigned char *rnd,
	    unsigned char *out, size_t outlen, enum nts_result *res);

/*
 * A client's request: the 48-byte header hdr, a Unique Identifier uid
 * (NTS_UID_MIN bytes), cookie, nplaceholders placeholders of its length,
 * and an Authenticator sealed with k->c2s and nonce (NTS_NONCE_LEN
 * bytes).  Returns its length, or -1 if out is too short.
 */
int	nts_client_request(const unsigned char *hdr, const unsigned char *uid,
	    const unsigned char *cookie, size_t cookie_len, int nplaceholders,
	    const struct nts_keys *k, const unsigned char *nonce,
	    unsigned char *out, size_t outlen);

/* A reply as a client reads it. */
struct nts_answer {
	int			 nak;		/* a Kiss-o'-Death NTSN */
	int			 ncookies;	/* fresh cookies, copied */
	unsigned char		 cookie[NTS_COOKIES_MAX][NTS_COOKIE_LEN * 2];
	size_t			 cookie_len[NTS_COOKIES_MAX];
};

/*
 * Judge reply pkt[0..len) to a request with Unique Identifier uid: 0 when
 * it echoes uid and its Authenticator verifies under k->s2c (an gets its
 * cookies), or it is an NTS NAK echoing uid (an->nak set, unauthenticated
 * as section 5.7 says); -1 for anything else, which a client ignores.
 */
int	nts_client_check(const unsigned char *pkt, size_t len,
	    const unsigned char *uid, const struct nts_keys *k,
	    struct nts_answer *an);

#endif /* STAMP_NTS_H */
