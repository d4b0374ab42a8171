/*
 * tests/fuzz/nts_request.c: fuzz the server's side of NTS for NTP.
 *
 * Two ways in, chosen by the first byte.  Raw: the rest is a datagram, as
 * an attacker sends it: nts_parse reads nothing outside it, and a request
 * it passes gets from nts_server_reply a reply no longer than itself, or a
 * NAK, or nothing.  Forged: the rest says how to build a request that a
 * real client would send (header, placeholders) with a real cookie and
 * authenticator, then which byte to flip: an untouched request must be
 * answered, authenticated for the client, with a cookie per cookie and
 * placeholder that opens to the client's keys; a flipped one, wherever
 * the flip, is never answered as good.  A broken property
 * aborts, which libFuzzer and tests/unit/fuzz_replay.c report.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntp.h"
#include "nts.h"
#include "siv.h"

int	fuzz_nts_request(const uint8_t *, size_t);

#define NTS_FUZZ_ID	7

static struct siv	*nts_fuzz_key;

static void
nts_require(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_nts_request: %s\n", what);
		abort();
	}
}

static struct siv *
nts_fuzz_find(void *arg, uint32_t id)
{
	(void)arg;
	return id == NTS_FUZZ_ID ? nts_fuzz_key : NULL;
}

static void
nts_fuzz_ring(struct nts_keyring *ring)
{
	static const unsigned char	 key[SIV_KEY_LEN] = { 0x5a, 1, 2, 3 };

	if (nts_fuzz_key == NULL &&
	    (nts_fuzz_key = siv_new(key)) == NULL)
		abort();
	ring->current = NTS_FUZZ_ID;
	ring->find = nts_fuzz_find;
	ring->arg = NULL;
}

/* The server's answer to pkt[0..len): its length, and why in *res. */
static size_t
nts_answer(const unsigned char *pkt, size_t len, unsigned char *out,
    size_t outlen, enum nts_result *res)
{
	unsigned char		 hdr[NTP_HEADER_LEN] = { 0x24, 2 };
	unsigned char		 rnd[NTS_RND_LEN];
	struct nts_keyring	 ring;
	struct nts_req		 r;
	size_t			 n;

	*res = NTS_DROP;
	if (nts_parse(pkt, len, &r) != NTS_REQUEST)
		return 0;
	nts_require(r.uid != NULL && r.uid >= pkt &&
	    r.uid + r.uid_len <= pkt + len && r.cookie >= pkt &&
	    r.cookie + r.cookie_len <= pkt + len && r.nonce >= pkt &&
	    r.nonce + r.nonce_len <= pkt + len && r.ct >= pkt &&
	    r.ct + r.ct_len <= pkt + len && r.auth_off < len,
	    "a field outside the datagram");
	memset(rnd, 0x77, sizeof rnd);
	nts_fuzz_ring(&ring);
	n = nts_server_reply(&ring, pkt, len, &r, hdr, rnd, out, outlen, res);
	nts_require(n <= len && n <= outlen, "a reply longer than the request");
	nts_require(*res >= NTS_OK && *res <= NTS_DROP, "no such result");
	nts_require((n == 0) == (*res == NTS_DROP),
	    "an answer and a drop at once");
	return n;
}

int
fuzz_nts_request(const uint8_t *data, size_t size)
{
	unsigned char		 out[2048], pkt[2048], cookie[NTS_COOKIE_LEN];
	unsigned char		 hdr[NTP_HEADER_LEN] = { 0x23 };
	unsigned char		 uid[NTS_UID_MIN], nonce[NTS_NONCE_LEN];
	struct nts_keyring	 ring;
	struct nts_answer	 an;
	struct nts_keys		 k;
	enum nts_result		 res;
	size_t			 n, at;
	int			 len, nph, i;

	if (size == 0)
		return 0;
	if (data[0] < 128) {
		nts_answer(data + 1, size - 1, out, sizeof out, &res);
		return 0;
	}
	/* Forged: keys, placeholders and the flip from the bytes given. */
	memset(&k, 0, sizeof k);
	memcpy(&k, data + 1, size - 1 < sizeof k ? size - 1 : sizeof k);
	nph = size > 1 ? data[1] % (NTS_COOKIES_MAX + 1) : 0;
	at = size > 3 ? (size_t)data[2] << 8 | data[3] : 0;
	memset(uid, 0x11, sizeof uid);
	memset(nonce, 0x22, sizeof nonce);
	if (size > 4)
		uid[0] = data[4];
	nts_fuzz_ring(&ring);
	nts_require(nts_cookie_seal(&ring, &k, nonce, cookie, sizeof cookie) ==
	    NTS_COOKIE_LEN, "a cookie not sealed");
	len = nts_client_request(hdr, uid, cookie, sizeof cookie, nph, &k,
	    nonce, pkt, sizeof pkt);
	nts_require(len > NTP_HEADER_LEN, "a request not written");
	if (data[0] & 1) {
		n = nts_answer(pkt, (size_t)len, out, sizeof out, &res);
		nts_require(res == NTS_OK, "a good request not answered");
		nts_require(nts_client_check(out, n, uid, &k, &an) == 0 &&
		    !an.nak, "a reply its client cannot check");
		i = 1 + nph < NTS_COOKIES_MAX ? 1 + nph : NTS_COOKIES_MAX;
		nts_require(an.ncookies <= i && an.ncookies >= 1,
		    "cookies not one for one");
		for (i = 0; i < an.ncookies; i++) {
			struct nts_keys	 back;

			nts_require(nts_cookie_open(&ring, an.cookie[i],
			    an.cookie_len[i], &back) == 0 &&
			    memcmp(&back, &k, sizeof k) == 0,
			    "a fresh cookie that does not open to the keys");
		}
		return 0;
	}
	/* One byte flipped: the header, the fields, or the authenticator. */
	at %= (size_t)len;
	pkt[at] ^= (unsigned char)(size > 5 ? data[5] | 1 : 1);
	(void)nts_answer(pkt, (size_t)len, out, sizeof out, &res);
	/* Every byte is vouched for: the authenticator's, or its own. */
	nts_require(res != NTS_OK, "a tampered request answered as good");
	return 0;
}

#ifdef FUZZ_MAIN
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_nts_request(data, size);
}
#endif
