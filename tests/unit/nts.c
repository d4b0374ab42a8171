/*
 * tests/unit/nts.c: NTS's extension fields, cookies and replies, and the
 * cipher beneath, as tables.
 *
 * Every packet is judged from a buffer of exactly its length, so that
 * AddressSanitizer catches a read one byte too far.  The ring is one key
 * under id 7; the client's keys and every nonce are fixed, so each case is
 * the same on every run.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntp.h"
#include "nts.h"
#include "siv.h"
#include "tap.h"

#ifdef STAMP_NTS
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define ID		7

static struct siv	*key7;

static struct siv *
find(void *arg, uint32_t id)
{
	(void)arg;
	return id == ID ? key7 : NULL;
}

static const struct nts_keyring	 ring = { ID, find, NULL };
static const struct nts_keyring	 other = { ID + 1, find, NULL };
static struct nts_keys		 keys;
static unsigned char		 uid[NTS_UID_MIN], nonce[NTS_NONCE_LEN];
static unsigned char		 hdr[NTP_HEADER_LEN] = { 0x23 };
static unsigned char		 rnd[NTS_RND_LEN];

/* A copy of p[0..len) in a buffer of exactly len bytes. */
static unsigned char *
exact(const unsigned char *p, size_t len)
{
	unsigned char	*q = malloc(len ? len : 1);

	if (q == NULL)
		bail("malloc");
	memcpy(q, p, len);
	return q;
}

/* An extension field at p: type, body of len bytes (a multiple of 4). */
static size_t
field(unsigned char *p, unsigned type, size_t len, int fill)
{
	p[0] = (unsigned char)(type >> 8);
	p[1] = (unsigned char)type;
	p[2] = (unsigned char)((len + 4) >> 8);
	p[3] = (unsigned char)(len + 4);
	memset(p + 4, fill, len);
	return len + 4;
}

/* A good request with nph placeholders, into p: its length. */
static size_t
request(unsigned char *p, size_t room, int nph)
{
	unsigned char	 cookie[NTS_COOKIE_LEN];
	int		 n;

	if (nts_cookie_seal(&ring, &keys, nonce, cookie, sizeof cookie) !=
	    NTS_COOKIE_LEN)
		bail("nts_cookie_seal");
	if ((n = nts_client_request(hdr, uid, cookie, sizeof cookie, nph,
	    &keys, nonce, p, room)) == -1)
		bail("nts_client_request");
	return (size_t)n;
}

static void
cipher(void)
{
	unsigned char	 k[SIV_KEY_LEN] = { 9 }, ct[64], pt[64];
	struct siv	*s;

	if ((s = siv_new(k)) == NULL)
		bail("siv_new");
	is_int(siv_seal(s, nonce, 16, "ad", 2, "hello", 5, ct, sizeof ct),
	    5 + SIV_TAG_LEN, "siv: sealed is the tag and the text");
	is_int(siv_open(s, nonce, 16, "ad", 2, ct, 5 + SIV_TAG_LEN, pt,
	    sizeof pt), 5, "siv: opens");
	ok(memcmp(pt, "hello", 5) == 0, "siv: to what was sealed");
	is_int(siv_open(s, nonce, 16, "ae", 2, ct, 5 + SIV_TAG_LEN, pt,
	    sizeof pt), -1, "siv: other associated data: refused");
	ct[3] ^= 1;
	is_int(siv_open(s, nonce, 16, "ad", 2, ct, 5 + SIV_TAG_LEN, pt,
	    sizeof pt), -1, "siv: a flipped tag: refused");
	is_int(siv_seal(s, nonce, 0, "ad", 2, "x", 1, ct, sizeof ct), -1,
	    "siv: an empty nonce is refused, never passed on");
	is_int(siv_seal(s, nonce, 16, "ad", 2, "hello", 5, ct, 20), -1,
	    "siv: no room: refused");
	is_int(siv_open(s, nonce, 16, "ad", 2, ct, 10, pt, sizeof pt), -1,
	    "siv: shorter than a tag: refused");
	siv_free(s);
}

static void
cookies(void)
{
	unsigned char	 c[NTS_COOKIE_LEN], *e;
	struct nts_keys	 back;
	size_t		 i;
	int		 bad = 0;

	is_int(nts_cookie_seal(&ring, &keys, nonce, c, sizeof c),
	    NTS_COOKIE_LEN, "cookie: sealed");
	ok(c[0] == 0 && c[1] == 0 && c[2] == 0 && c[3] == ID,
	    "cookie: names its key");
	e = exact(c, sizeof c);
	ok(nts_cookie_open(&ring, e, sizeof c, &back) == 0 &&
	    memcmp(&back, &keys, sizeof keys) == 0, "cookie: opens to the keys");
	free(e);
	for (i = 0; i < sizeof c; i++) {
		c[i] ^= 0x10;
		bad += nts_cookie_open(&ring, c, sizeof c, &back) == 0;
		c[i] ^= 0x10;
	}
	is_int(bad, 0, "cookie: any byte flipped: refused");
	is_int(nts_cookie_open(&ring, c, sizeof c - 1, &back), -1,
	    "cookie: one byte short: refused");
	is_int(nts_cookie_seal(&other, &keys, nonce, c, sizeof c), -1,
	    "cookie: no current key: not sealed");
	c[3] = ID + 1;
	is_int(nts_cookie_open(&ring, c, sizeof c, &back), -1,
	    "cookie: a key gone: refused");
	is_int(nts_cookie_seal(&ring, &keys, nonce, c, sizeof c - 1), -1,
	    "cookie: no room: not sealed");
}

static void
parse(void)
{
	unsigned char	 p[1024], *e;
	struct nts_req	 r;
	size_t		 n, at;
	static const struct {
		const char	*name;
		int		 want;
	} cases[] = {
		{ "48 bytes: plain", NTS_PLAIN },
		{ "a legacy MAC of 20: plain", NTS_PLAIN },
		{ "a legacy MAC of 24: plain", NTS_PLAIN },
		{ "another extension's field: plain", NTS_PLAIN },
		{ "a good request", NTS_REQUEST },
		{ "three placeholders", NTS_REQUEST },
		{ "no UID", NTS_MALFORMED },
		{ "a UID of 28 bytes", NTS_MALFORMED },
		{ "two cookies", NTS_MALFORMED },
		{ "no cookie", NTS_MALFORMED },
		{ "no authenticator", NTS_MALFORMED },
		{ "a field after the authenticator", NTS_MALFORMED },
		{ "a length past the end", NTS_MALFORMED },
		{ "a nonce of 8 bytes", NTS_MALFORMED },
		{ "sealed fields shorter than a tag", NTS_MALFORMED },
		{ "a cookie's length not a multiple of 4", NTS_MALFORMED },
		{ "two bytes left over", NTS_MALFORMED },
		{ "two UIDs", NTS_MALFORMED },
	};
	size_t		 i;

	for (i = 0; i < NELEM(cases); i++) {
		memset(p, 0, sizeof p);
		memcpy(p, hdr, sizeof hdr);
		n = NTP_HEADER_LEN;
		switch (i) {
		case 1: n += 20; break;
		case 2: n += 24; break;
		case 3: n += field(p + n, 0x2005, 28, 1); break;
		case 4: n = request(p, sizeof p, 0); break;
		case 5: n = request(p, sizeof p, 3); break;
		case 6:
			n = request(p, sizeof p, 0);
			/* The UID made another extension's field. */
			p[NTP_HEADER_LEN] = 0x20;
			break;
		case 7:
			n += field(p + n, NTS_EF_UID, 28, 1);
			n += field(p + n, NTS_EF_COOKIE, 104, 2);
			n += field(p + n, NTS_EF_AUTH, 36, 0);
			p[n - 36] = 0; p[n - 35] = 16;
			p[n - 34] = 0; p[n - 33] = 16;
			break;
		case 8:
			n += field(p + n, NTS_EF_UID, 32, 1);
			n += field(p + n, NTS_EF_COOKIE, 104, 2);
			n += field(p + n, NTS_EF_COOKIE, 104, 2);
			n += field(p + n, NTS_EF_AUTH, 36, 0);
			p[n - 36] = 0; p[n - 35] = 16;
			p[n - 34] = 0; p[n - 33] = 16;
			break;
		case 9:
			n += field(p + n, NTS_EF_UID, 32, 1);
			n += field(p + n, NTS_EF_AUTH, 36, 0);
			p[n - 36] = 0; p[n - 35] = 16;
			p[n - 34] = 0; p[n - 33] = 16;
			break;
		case 10:
			n += field(p + n, NTS_EF_UID, 32, 1);
			n += field(p + n, NTS_EF_COOKIE, 104, 2);
			break;
		case 11:
			n = request(p, sizeof p, 0);
			n += field(p + n, 0x2005, 12, 1);
			break;
		case 12:
			n = request(p, sizeof p, 0);
			/* The authenticator says 4 bytes more than there are. */
			at = n - 40;
			p[at + 3] += 4;
			break;
		case 13:
			n = request(p, sizeof p, 0);
			at = n - 40;
			p[at + 5] = 8;
			break;
		case 14:
			n = request(p, sizeof p, 0);
			at = n - 40;
			p[at + 7] = 8;
			break;
		case 15:
			/* After the UID: a bad field is a bad request. */
			n = request(p, sizeof p, 0);
			p[NTP_HEADER_LEN + 36 + 3] += 2;
			break;
		case 16:
			n = request(p, sizeof p, 0) + 2;
			break;
		case 17:
			n = request(p, sizeof p, 0);
			memmove(p + NTP_HEADER_LEN + 36, p + NTP_HEADER_LEN,
			    n - NTP_HEADER_LEN);
			memcpy(p + NTP_HEADER_LEN, p + NTP_HEADER_LEN + 36, 36);
			n += 36;
			break;
		}
		e = exact(p, n);
		is_int(nts_parse(e, n, &r), cases[i].want, "parse: %s",
		    cases[i].name);
		if (i == 5)
			is_int(r.placeholders, 3, "parse: three placeholders "
			    "counted");
		free(e);
	}
}

static void
server(void)
{
	unsigned char		 p[1024], out[1024], *e;
	struct nts_answer	 an;
	struct nts_keys		 back, wrong;
	struct nts_req		 r;
	enum nts_result		 res;
	size_t			 n, len;
	int			 nph, i, opened;

	for (nph = 0; nph <= 7; nph++) {
		len = request(p, sizeof p, nph);
		e = exact(p, len);
		if (nts_parse(e, len, &r) != NTS_REQUEST)
			bail("a good request not parsed");
		n = nts_server_reply(&ring, e, len, &r, hdr, rnd, out,
		    sizeof out, &res);
		is_int(res, NTS_OK, "reply to %d placeholders: authenticated",
		    nph);
		ok(n > NTP_HEADER_LEN && n <= len, "reply to %d placeholders: "
		    "no longer than the request (%zu <= %zu)", nph, n, len);
		ok(nts_client_check(out, n, uid, &keys, &an) == 0 && !an.nak,
		    "reply to %d placeholders: the client checks it", nph);
		is_int(an.ncookies, 1 + nph, "reply to %d placeholders: a "
		    "cookie for each cookie and placeholder", nph);
		for (i = opened = 0; i < an.ncookies; i++)
			opened += nts_cookie_open(&ring, an.cookie[i],
			    an.cookie_len[i], &back) == 0 &&
			    memcmp(&back, &keys, sizeof keys) == 0;
		is_int(opened, an.ncookies, "reply to %d placeholders: each "
		    "opens to the client's keys", nph);
		for (i = opened = 0; i + 1 < an.ncookies; i++)
			opened += memcmp(an.cookie[i], an.cookie[i + 1],
			    an.cookie_len[i]) == 0;
		is_int(opened, 0, "reply to %d placeholders: no two cookies "
		    "alike, so that none links to another", nph);
		ok(memcmp(out, hdr, NTP_HEADER_LEN) == 0,
		    "reply to %d placeholders: the header as made", nph);
		free(e);
	}

	/* The reply checked with other keys, or for another UID. */
	len = request(p, sizeof p, 0);
	nts_parse(p, len, &r);
	n = nts_server_reply(&ring, p, len, &r, hdr, rnd, out, sizeof out,
	    &res);
	wrong = keys;
	wrong.s2c[0] ^= 1;
	is_int(nts_client_check(out, n, uid, &wrong, &an), -1,
	    "client: a reply under another key is refused");
	uid[5] ^= 1;
	is_int(nts_client_check(out, n, uid, &keys, &an), -1,
	    "client: a reply for another UID is refused");
	uid[5] ^= 1;
	out[40] ^= 1;
	is_int(nts_client_check(out, n, uid, &keys, &an), -1,
	    "client: a tampered header is refused");
	out[40] ^= 1;

	/* Tampering: the header, the UID, the cookie, the authenticator. */
	static const struct {
		const char	*name;
		size_t		 at;
		int		 want;
	} flips[] = {
		{ "the header", 40, NTS_NAK_AUTH },
		{ "the UID", NTP_HEADER_LEN + 10, NTS_NAK_AUTH },
		{ "the cookie", NTP_HEADER_LEN + 36 + 50, NTS_NAK_COOKIE },
		{ "the cookie's key id", NTP_HEADER_LEN + 36 + 7,
		    NTS_NAK_COOKIE },
		{ "the nonce", NTP_HEADER_LEN + 36 + 108 + 10, NTS_NAK_AUTH },
		{ "the tag", NTP_HEADER_LEN + 36 + 108 + 30, NTS_NAK_AUTH },
	};
	for (i = 0; i < (int)NELEM(flips); i++) {
		len = request(p, sizeof p, 1);
		p[flips[i].at] ^= 0x04;
		e = exact(p, len);
		if (nts_parse(e, len, &r) != NTS_REQUEST)
			bail("a tampered request not parsed");
		n = nts_server_reply(&ring, e, len, &r, hdr, rnd, out,
		    sizeof out, &res);
		is_int(res, flips[i].want, "tampered %s: a NAK", flips[i].name);
		ok(n == NTP_HEADER_LEN + 36 && out[1] == 0 &&
		    memcmp(out + 12, "NTSN", 4) == 0, "tampered %s: stratum 0, "
		    "NTSN, the UID and nothing else", flips[i].name);
		if (i != 1)
			ok(nts_client_check(out, n, uid, &keys, &an) == 0 &&
			    an.nak, "tampered %s: the client sees the NAK",
			    flips[i].name);
		free(e);
	}

	/* No room: fewer cookies, never a longer reply. */
	len = request(p, sizeof p, 2);
	nts_parse(p, len, &r);
	n = nts_server_reply(&ring, p, len, &r, hdr, rnd, out, 300, &res);
	ok(res == NTS_OK && n <= 300 && nts_client_check(out, n, uid, &keys,
	    &an) == 0 && an.ncookies == 1, "300 bytes of room: one cookie "
	    "(%zu bytes)", n);
	n = nts_server_reply(&ring, p, len, &r, hdr, rnd, out, 40, &res);
	is_int((int)n, 0, "40 bytes of room: nothing");
}

int
main(void)
{
	unsigned char	 k[SIV_KEY_LEN] = { 0x42 };
	size_t		 i;

	if ((key7 = siv_new(k)) == NULL)
		bail("siv_new");
	for (i = 0; i < sizeof keys.c2s; i++) {
		keys.c2s[i] = (unsigned char)i;
		keys.s2c[i] = (unsigned char)(0x80 + i);
	}
	memset(uid, 0x33, sizeof uid);
	memset(nonce, 0x44, sizeof nonce);
	for (i = 0; i < sizeof rnd; i++)
		rnd[i] = (unsigned char)(i * 7);
	cipher();
	cookies();
	parse();
	server();
	siv_free(key7);
	done_testing();
}

#else /* !STAMP_NTS */

int
main(void)
{
	bail("built without GnuTLS: sh tests/deps.sh installs libgnutls28-dev");
}

#endif
