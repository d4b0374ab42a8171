/*
 * tests/fuzz/ntske_request.c: fuzz the NTS-KE server's judge of requests.
 *
 * The input is what a server has read of a request so far.  The judge
 * must answer within it, read no further than NTSKE_REQUEST_MAX, ask for
 * more only below that, and keep its answer when more bytes arrive: the
 * answer for every prefix must be "more" or the answer for the whole.  A
 * request it takes must end where it says, and the response to it, or the
 * Error for one it refuses, must be read by our own client as what it is.
 * A broken property aborts, which libFuzzer and tests/unit/fuzz_replay.c
 * report.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntske.h"

int	fuzz_ntske_request(const uint8_t *, size_t);

static void
ke_req_require(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_ntske_request: %s\n", what);
		abort();
	}
}

/* What our client makes of our answer to a request judged rq, v. */
static void
ke_req_answered(const struct ntske_req *rq, enum ntske_verdict v)
{
	static const unsigned char cookie[4] = { 'c', 'k', 'i', 'e' };
	unsigned char		 out[NTSKE_RESPONSE_MAX];
	struct ntske_resp	 rs;
	struct ntske_answer	 an;
	enum ntske_verdict	 av;
	int			 n;

	if (v == NTSKE_BAD) {
		n = ntske_error(rq->error, out, sizeof out);
		ke_req_require(n == 10, "an Error is not ten bytes");
		av = ntske_answer(out, (size_t)n, &an);
		ke_req_require(av == NTSKE_BAD && an.error == rq->error,
		    "our client does not read our Error");
		return;
	}
	memset(&rs, 0, sizeof rs);
	rs.ntpv4 = rq->ntpv4;
	rs.aead = rq->aead;
	rs.cookie[0] = cookie;
	rs.cookie_len[0] = sizeof cookie;
	rs.ncookies = 1;
	n = ntske_response(&rs, out, sizeof out);
	ke_req_require(n > 0 && n <= NTSKE_RESPONSE_MAX,
	    "a response is not written");
	av = ntske_answer(out, (size_t)n, &an);
	ke_req_require(an.error == -1 && an.used <= (size_t)n,
	    "our client reads an error in a response");
	ke_req_require((av == NTSKE_OK) == (rq->ntpv4 && rq->aead != -1),
	    "our client takes a response exactly when it is usable");
	ke_req_require(av != NTSKE_OK || (an.ncookies == 1 &&
	    an.cookie_len[0] == sizeof cookie && an.used == (size_t)n),
	    "our client does not read our cookie");
}

int
fuzz_ntske_request(const uint8_t *data, size_t size)
{
	struct ntske_req	 rq, pre;
	enum ntske_verdict	 v, pv;
	size_t			 k;

	memset(&rq, 0xa5, sizeof rq);
	v = ntske_request(data, size, &rq);
	ke_req_require(v == NTSKE_MORE || v == NTSKE_OK || v == NTSKE_BAD,
	    "verdict out of range");
	ke_req_require(rq.used <= size && rq.used <= NTSKE_REQUEST_MAX,
	    "used past the input or the limit");
	ke_req_require(rq.ntpv4 == 0 || rq.ntpv4 == 1, "ntpv4 not 0 or 1");
	ke_req_require(rq.aead == -1 || rq.aead == NTSKE_AEAD_SIV_CMAC_256,
	    "an AEAD we do not have");
	ke_req_require((v == NTSKE_BAD) == (rq.error != -1),
	    "an error code exactly when bad");
	ke_req_require(rq.error == -1 || rq.error == NTSKE_E_BAD_REQUEST ||
	    rq.error == NTSKE_E_UNRECOGNIZED, "an error code we never send");
	ke_req_require(v != NTSKE_MORE || size < NTSKE_REQUEST_MAX,
	    "more asked for past the limit");
	if (v == NTSKE_OK) {
		ke_req_require(rq.used >= 6 + 4,
		    "a request shorter than Next Protocol and End");
		ke_req_require(data[rq.used - 4] == 0x80 &&
		    data[rq.used - 3] == 0 && data[rq.used - 2] == 0 &&
		    data[rq.used - 1] == 0, "a request not ending at End");
		ke_req_require(rq.ntpv4 || rq.aead == -1,
		    "an AEAD chosen without NTPv4");
	}

	/* The answer for a prefix is more, or the answer for the whole. */
	for (k = 0; k < size; k++) {
		pv = ntske_request(data, k, &pre);
		if (pv == NTSKE_MORE)
			continue;
		ke_req_require(pv == v && pre.error == rq.error &&
		    pre.ntpv4 == rq.ntpv4 && pre.aead == rq.aead &&
		    pre.used == rq.used, "a prefix judged otherwise");
	}
	if (v == NTSKE_OK)
		ke_req_require(ntske_request(data, rq.used - 1, &pre) ==
		    NTSKE_MORE, "a request judged before its End");
	if (v != NTSKE_MORE)
		ke_req_answered(&rq, v);
	return 0;
}

#ifdef FUZZ_MAIN
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_ntske_request(data, size);
}
#endif
