/*
 * tests/fuzz/ntske_answer.c: fuzz the NTS-KE client's reading of a
 * response.
 *
 * The input is what a client has read of a response so far.  The reader
 * must answer within it, keep its answer when more bytes arrive (the
 * answer for every prefix is "more" or the answer for the whole), and
 * hand out only what it checked: cookies inside the input and no longer
 * than NTSKE_COOKIE_MAX, a server name of printable ASCII, and "ok" only
 * for NTPv4, AES-SIV-CMAC-256 and a cookie.  A broken property aborts,
 * which libFuzzer and tests/unit/fuzz_replay.c report.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntske.h"

int	fuzz_ntske_answer(const uint8_t *, size_t);

static void
ke_ans_require(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_ntske_answer: %s\n", what);
		abort();
	}
}

static void
ke_ans_check(const uint8_t *data, size_t size, const struct ntske_answer *an,
    enum ntske_verdict v)
{
	size_t		 i, slen;

	ke_ans_require(v == NTSKE_MORE || v == NTSKE_OK || v == NTSKE_BAD,
	    "verdict out of range");
	ke_ans_require(an->used <= size, "used past the input");
	ke_ans_require(an->error >= -1 && an->error <= 0xffff,
	    "an error code beyond 16 bits");
	ke_ans_require(an->error == -1 || v == NTSKE_BAD,
	    "an error code but not bad");
	ke_ans_require(an->ntpv4 == 0 || an->ntpv4 == 1, "ntpv4 not 0 or 1");
	ke_ans_require(an->aead == -1 || an->aead == NTSKE_AEAD_SIV_CMAC_256,
	    "an AEAD we did not offer");
	ke_ans_require(an->ncookies >= 0 && an->ncookies <= NTSKE_COOKIES,
	    "cookies out of range");
	for (i = 0; i < (size_t)an->ncookies; i++)
		ke_ans_require(an->cookie[i] != NULL &&
		    an->cookie[i] >= data && an->cookie_len[i] > 0 &&
		    an->cookie_len[i] <= NTSKE_COOKIE_MAX &&
		    an->cookie[i] + an->cookie_len[i] <= data + size,
		    "a cookie outside the input");
	slen = strnlen(an->server, sizeof an->server);
	ke_ans_require(slen < sizeof an->server, "a server name unended");
	for (i = 0; i < slen; i++)
		ke_ans_require(an->server[i] > ' ' && an->server[i] < 0x7f,
		    "a server name not printable");
	ke_ans_require(an->port >= 0 && an->port <= 0xffff,
	    "a port beyond 16 bits");
	ke_ans_require(v != NTSKE_MORE || size < NTSKE_ANSWER_MAX,
	    "more asked for past the limit");
	if (v == NTSKE_OK) {
		ke_ans_require(an->ntpv4 && an->aead != -1 &&
		    an->ncookies > 0 && an->error == -1,
		    "an answer taken that a client cannot use");
		ke_ans_require(an->used >= 4 && data[an->used - 4] == 0x80 &&
		    data[an->used - 3] == 0 && data[an->used - 2] == 0 &&
		    data[an->used - 1] == 0, "an answer not ending at End");
	}
}

int
fuzz_ntske_answer(const uint8_t *data, size_t size)
{
	struct ntske_answer	 an, pre;
	enum ntske_verdict	 v, pv;
	size_t			 k;

	memset(&an, 0xa5, sizeof an);
	v = ntske_answer(data, size, &an);
	ke_ans_check(data, size, &an, v);

	for (k = 0; k < size; k++) {
		pv = ntske_answer(data, k, &pre);
		ke_ans_check(data, k, &pre, pv);
		if (pv == NTSKE_MORE)
			continue;
		ke_ans_require(pv == v && pre.error == an.error &&
		    pre.ntpv4 == an.ntpv4 && pre.aead == an.aead &&
		    pre.ncookies == an.ncookies && pre.port == an.port &&
		    pre.used == an.used &&
		    strcmp(pre.server, an.server) == 0,
		    "a prefix read otherwise");
	}
	if (v == NTSKE_OK)
		ke_ans_require(ntske_answer(data, an.used - 1, &pre) ==
		    NTSKE_MORE, "an answer taken before its End");
	return 0;
}

#ifdef FUZZ_MAIN
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_ntske_answer(data, size);
}
#endif
