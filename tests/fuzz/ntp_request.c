/*
 * tests/fuzz/ntp_request.c: fuzz the judge of NTP requests.
 *
 * Whatever the datagram, ntp_judge returns one of its verdicts, reads
 * nothing outside it, and agrees with the header's own bits; a request it
 * answers gets a reply (or a KoD) no longer than itself, that echoes its
 * transmit time, and that no server of ours would answer in turn, so two
 * servers can never loop.  The same bytes, read by a client as a reply,
 * get one check and a reason exactly when malformed.  A broken property
 * aborts, which libFuzzer and
 * tests/unit/fuzz_replay.c report.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ntp.h"

int	fuzz_ntp_request(const uint8_t *, size_t);

static void
request_require(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_ntp_request: %s\n", what);
		abort();
	}
}

/* A reply that ntp_judge would answer would start a loop. */
static void
request_check_reply(const struct ntp_packet *req,
    const struct ntp_packet *rep, size_t reqlen)
{
	struct ntp_packet	 back;
	unsigned char		 out[NTP_HEADER_LEN];

	request_require(ntp_encode(rep, out, sizeof out) == NTP_HEADER_LEN,
	    "a reply does not encode");
	request_require(NTP_HEADER_LEN <= reqlen,
	    "a reply is longer than its request");
	request_require(ntp_judge(out, sizeof out, &back) != NTP_ANSWER,
	    "a reply would be answered");
	request_require(back.org == req->xmt, "origin is not echoed");
	request_require(back.version == req->version,
	    "version is not echoed");
	request_require(back.mode == (req->mode == NTP_MODE_ACTIVE ?
	    NTP_MODE_PASSIVE : NTP_MODE_SERVER), "wrong reply mode");
}

int
fuzz_ntp_request(const uint8_t *data, size_t size)
{
	static const struct clock_state cs = {
		.leap = NTP_LEAP_NONE, .stratum = 8,
		.refid = CLOCK_REFID_LOCAL, .reftime = 1,
		.root_disp = 1, .precision = -29,
	};
	struct ntp_packet	 req, again, rep;
	enum ntp_verdict	 v;
	enum ntp_check		 c;
	const char		*why;
	uint64_t		 sent[2] = { 1, 0 };
	unsigned char		 hdr[NTP_HEADER_LEN];
	int			 vn, mode;

	memset(&req, 0, sizeof req);
	v = ntp_judge(data, size, &req);
	request_require((int)v >= 0 && v < NTP_NVERDICT,
	    "verdict out of range");
	request_require(ntp_verdict_name(v) != NULL, "verdict has no name");
	request_require((v == NTP_SHORT) == (size < NTP_HEADER_LEN),
	    "short is not exactly under 48 bytes");

	/* As a reply to a request whose transmit time was its origin. */
	if (size >= 32)
		sent[1] = (uint64_t)data[24] << 56 | (uint64_t)data[25] << 48 |
		    (uint64_t)data[26] << 40 | (uint64_t)data[27] << 32 |
		    (uint64_t)data[28] << 24 | (uint64_t)data[29] << 16 |
		    (uint64_t)data[30] << 8 | data[31];
	c = ntp_check_reply(data, size, sent, 2, &rep, &why);
	request_require((int)c >= 0 && c <= NTP_CHECK_MALFORMED,
	    "check out of range");
	request_require((c == NTP_CHECK_MALFORMED) == (why != NULL),
	    "a reason not exactly when malformed");
	request_require(c == NTP_CHECK_MALFORMED || (data[0] & 7) == 4,
	    "a client took a reply that is not mode 4");
	if (v == NTP_SHORT)
		return 0;

	/* The decoded header is the datagram's first 48 bytes, exactly. */
	request_require(ntp_decode(data, size, &again) == 0,
	    "decode refuses what judge read");
	request_require(ntp_encode(&again, hdr, sizeof hdr) ==
	    NTP_HEADER_LEN && memcmp(hdr, data, sizeof hdr) == 0,
	    "the header does not encode back to its bytes");
	request_require(again.xmt == req.xmt && again.mode == req.mode &&
	    again.version == req.version, "judge and decode disagree");

	vn = data[0] >> 3 & 7;
	mode = data[0] & 7;
	if (vn == 0 || vn > 4) {
		request_require(v == NTP_BAD_VERSION, "bad version judged");
		return 0;
	}
	if (mode == 6 || mode == 7) {
		request_require(v == NTP_CONTROL, "control not judged");
		return 0;
	}
	if (mode != 1 && mode != 3) {
		request_require(v == NTP_NOT_REQUEST, "non-request judged");
		return 0;
	}
	request_require(v == NTP_ANSWER || v == NTP_BAD_EXT,
	    "a request judged neither answer nor bad extension");
	if (v == NTP_BAD_EXT) {
		request_require(size > NTP_HEADER_LEN,
		    "bad extension without one");
		return 0;
	}
	request_require(size == NTP_HEADER_LEN || (size - NTP_HEADER_LEN) %
	    4 == 0, "answered a tail that is not whole words");
	if (vn < 4)
		request_require(size == NTP_HEADER_LEN ||
		    size == NTP_HEADER_LEN + 20 || size == NTP_HEADER_LEN + 24,
		    "answered an old version with more than a MAC");

	ntp_reply(&req, &cs, 2, 3, &rep);
	request_check_reply(&req, &rep, size);
	ntp_kod_rate(&req, &rep);
	request_check_reply(&req, &rep, size);
	request_require(rep.leap == NTP_LEAP_UNSYNC && rep.stratum == 0 &&
	    rep.refid == NTP_KOD_RATE, "a KoD is not a KoD");
	return 0;
}

#ifdef FUZZ_MAIN
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_ntp_request(data, size);
}
#endif
