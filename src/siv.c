/*
 * siv.c: AEAD_AES_SIV_CMAC_256 through GnuTLS's AEAD interface (nettle
 * beneath), whose sealed text is RFC 5297's: the synthetic IV, then the
 * ciphertext.  Allocates only in siv_new; never prints, never exits.
 */
#include <errno.h>
#include <stdlib.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "siv.h"

struct siv {
	gnutls_aead_cipher_hd_t	 h;
};

struct siv *
siv_new(const unsigned char key[SIV_KEY_LEN])
{
	gnutls_datum_t	 k = { (unsigned char *)key, SIV_KEY_LEN };
	struct siv	*s;

	if ((s = malloc(sizeof *s)) == NULL)
		return NULL;
	if (gnutls_aead_cipher_init(&s->h, GNUTLS_CIPHER_AES_128_SIV,
	    &k) < 0) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

void
siv_free(struct siv *s)
{
	if (s == NULL)
		return;
	gnutls_aead_cipher_deinit(s->h);
	free(s);
}

int
siv_seal(struct siv *s, const void *nonce, size_t nlen, const void *ad,
    size_t adlen, const void *pt, size_t ptlen, void *out, size_t outlen)
{
	size_t	 n = outlen;

	/* The library asserts on an empty nonce: refuse it here. */
	if (nlen == 0 || outlen < ptlen + SIV_TAG_LEN)
		return -1;
	if (gnutls_aead_cipher_encrypt(s->h, nonce, nlen, ad, adlen,
	    SIV_TAG_LEN, pt, ptlen, out, &n) < 0 ||
	    n != ptlen + SIV_TAG_LEN)
		return -1;
	return (int)n;
}

int
siv_open(struct siv *s, const void *nonce, size_t nlen, const void *ad,
    size_t adlen, const void *ct, size_t ctlen, void *out, size_t outlen)
{
	size_t	 n = outlen;

	if (nlen == 0 || ctlen < SIV_TAG_LEN ||
	    outlen < ctlen - SIV_TAG_LEN)
		return -1;
	if (gnutls_aead_cipher_decrypt(s->h, nonce, nlen, ad, adlen,
	    SIV_TAG_LEN, ct, ctlen, out, &n) < 0 ||
	    n != ctlen - SIV_TAG_LEN)
		return -1;
	return (int)n;
}
