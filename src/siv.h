/*
 * siv.h: AEAD_AES_SIV_CMAC_256 (RFC 5297), the one AEAD NTS requires.
 *
 * A thin face over the TLS library's cipher (GnuTLS), so that nothing else
 * names it.  A key made ready once can seal and open any number of
 * messages, from one thread at a time.
 */
#ifndef STAMP_SIV_H
#define STAMP_SIV_H

#include <stddef.h>

#define SIV_KEY_LEN	32	/* AES-128 for S2V and for CTR */
#define SIV_TAG_LEN	16	/* the synthetic IV, first in a sealed text */

struct siv;

/* A key made ready: NULL with errno if memory ran out. */
struct siv	*siv_new(const unsigned char key[SIV_KEY_LEN]);
void		 siv_free(struct siv *s);

/*
 * Seal pt[0..ptlen) with nonce and associated data ad into out, which
 * holds outlen bytes (ptlen + SIV_TAG_LEN are enough): the tag, then the
 * ciphertext.  Returns ptlen + SIV_TAG_LEN, or -1.
 */
int	siv_seal(struct siv *s, const void *nonce, size_t nlen, const void *ad,
	    size_t adlen, const void *pt, size_t ptlen, void *out,
	    size_t outlen);

/*
 * Open sealed text ct[0..ctlen) into out (ctlen - SIV_TAG_LEN bytes):
 * returns the plaintext's length, or -1 if it is not authentic.
 */
int	siv_open(struct siv *s, const void *nonce, size_t nlen, const void *ad,
	    size_t adlen, const void *ct, size_t ctlen, void *out,
	    size_t outlen);

#endif /* STAMP_SIV_H */
