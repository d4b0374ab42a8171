/*
 * tests/unit/ntske.c: NTS-KE's records (RFC 8915, section 4) as tables:
 * the server's judge of every bad request section 4 names and of the good
 * ones it must take, its response and Error byte for byte, the client's
 * request and its reading of responses, and both round trips.
 *
 * Every message is judged from a buffer of exactly its length, so that
 * AddressSanitizer catches a reader going one byte too far; every prefix
 * of every message is judged too, and must read "more" or the verdict of
 * the whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntske.h"
#include "tap.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define CANARY		0xa5

/* Records as string literals, to be pasted together. */
#define END		"\x80\x00\x00\x00"
#define NP0		"\x80\x01\x00\x02\x00\x00"
#define AEAD15		"\x80\x04\x00\x02\x00\x0f"
#define COOKIE4		"\x00\x05\x00\x04" "ckie"
#define REQ		NP0 AEAD15 END
#define MSG(s)		(const unsigned char *)(s), sizeof(s) - 1

/* A copy of exactly len bytes, so the sanitizer sees any read past it. */
static unsigned char *
exact(const unsigned char *b, size_t len)
{
	unsigned char	*p;

	if ((p = malloc(len > 0 ? len : 1)) == NULL)
		tap_bail("out of memory");
	memcpy(p, b, len);
	return p;
}

/*
 * A reader of records, ntske_request or ntske_answer, as one face: its
 * verdict on b, with the error it names unless it reads more, and the
 * bytes used when OK.
 */
typedef enum ntske_verdict (*reader)(const unsigned char *b, size_t len,
    int *error, size_t *used);

static enum ntske_verdict
read_request(const unsigned char *b, size_t len, int *error, size_t *used)
{
	struct ntske_req	 rq;
	enum ntske_verdict	 v;

	v = ntske_request(b, len, &rq);
	if (v != NTSKE_MORE)
		*error = rq.error;
	if (v == NTSKE_OK)
		*used = rq.used;
	return v;
}

static enum ntske_verdict
read_answer(const unsigned char *b, size_t len, int *error, size_t *used)
{
	struct ntske_answer	 an;
	enum ntske_verdict	 v;

	v = ntske_answer(b, len, &an);
	if (v != NTSKE_MORE)
		*error = an.error;
	if (v == NTSKE_OK)
		*used = an.used;
	return v;
}

/*
 * Read every prefix of b with rd: 1 if each reads "more" or exactly what
 * the whole reads (verdict wv, error werror, and with OK wused bytes).
 */
static int
prefixes(reader rd, const unsigned char *b, size_t len,
    enum ntske_verdict wv, int werror, size_t wused)
{
	enum ntske_verdict	 v;
	unsigned char		*p;
	size_t			 k, used = 0;
	int			 good = 1, error = -1;

	for (k = 0; k < len; k++) {
		p = exact(b, k);
		v = rd(p, k, &error, &used);
		free(p);
		if (v == NTSKE_MORE)
			continue;
		if (v != wv || error != werror ||
		    (v == NTSKE_OK && used != wused)) {
			diag("prefix of %zu bytes: verdict %d error %d", k,
			    (int)v, error);
			good = 0;
		}
	}
	return good;
}

static void
test_request(void)
{
	static const struct {
		const char		*name;
		const unsigned char	*b;
		size_t			 len;
		enum ntske_verdict	 v;
		int			 error;	/* with NTSKE_BAD */
		int			 ntpv4;
		int			 aead;
		long			 used;	/* -1: all of it */
	} tab[] = {
		/* What a server must take. */
		{ "minimal", MSG(REQ), NTSKE_OK, -1, 1, 15, -1 },
		{ "AEAD before Next Protocol", MSG(AEAD15 NP0 END),
		    NTSKE_OK, -1, 1, 15, -1 },
		{ "AEAD without the critical bit",
		    MSG(NP0 "\x00\x04\x00\x02\x00\x0f" END),
		    NTSKE_OK, -1, 1, 15, -1 },
		{ "unknown non-critical records skipped",
		    MSG("\x12\x34\x00\x03" "abc" NP0 "\x04\x00\x00\x00"
		    AEAD15 "\x7f\xff\x00\x01" "z" END),
		    NTSKE_OK, -1, 1, 15, -1 },
		{ "AEAD 15 second in the list",
		    MSG(NP0 "\x80\x04\x00\x04\x00\x1e\x00\x0f" END),
		    NTSKE_OK, -1, 1, 15, -1 },
		{ "AEAD 15 last of three",
		    MSG(NP0 "\x80\x04\x00\x06\x00\x1e\x00\x10\x00\x0f" END),
		    NTSKE_OK, -1, 1, 15, -1 },
		{ "no AEAD of ours", MSG(NP0 "\x80\x04\x00\x02\x00\x1e" END),
		    NTSKE_OK, -1, 1, -1, -1 },
		{ "NTPv4 second of the protocols",
		    MSG("\x80\x01\x00\x04\x80\x01\x00\x00" AEAD15 END),
		    NTSKE_OK, -1, 1, 15, -1 },
		{ "NTPv4 not offered, no AEAD record",
		    MSG("\x80\x01\x00\x02\x80\x01" END),
		    NTSKE_OK, -1, 0, -1, -1 },
		{ "NTPv4 not offered, AEAD 15 offered",
		    MSG("\x80\x01\x00\x02\x80\x01" AEAD15 END),
		    NTSKE_OK, -1, 0, -1, -1 },
		{ "the client's Server and Port ignored",
		    MSG(NP0 AEAD15 "\x00\x06\x00\x03" "a.b"
		    "\x80\x07\x00\x02\x01\x00" END),
		    NTSKE_OK, -1, 1, 15, -1 },
		{ "bytes after End of Message not read",
		    MSG(REQ "\x80\x02\x00\x02\x00\x00" "\xff"),
		    NTSKE_OK, -1, 1, 15, 16 },

		/* Not yet whole. */
		{ "nothing yet", MSG(""), NTSKE_MORE, -1, 0, -1, 0 },
		{ "half a header", MSG("\x80\x01"), NTSKE_MORE, -1, 0, -1, 0 },
		{ "half a body", MSG("\x80\x01\x00\x02\x00"),
		    NTSKE_MORE, -1, 0, -1, 0 },
		{ "no End of Message yet", MSG(NP0 AEAD15),
		    NTSKE_MORE, -1, 1, 15, 12 },

		/* Section 4's bad requests. */
		{ "no Next Protocol", MSG(AEAD15 END),
		    NTSKE_BAD, NTSKE_E_BAD_REQUEST, 0, -1, 6 },
		{ "two Next Protocol records", MSG(NP0 NP0 AEAD15 END),
		    NTSKE_BAD, NTSKE_E_BAD_REQUEST, 1, -1, 6 },
		{ "two AEAD records", MSG(NP0 AEAD15 AEAD15 END),
		    NTSKE_BAD, NTSKE_E_BAD_REQUEST, 1, 15, 12 },
		{ "Next Protocol without the critical bit",
		    MSG("\x00\x01\x00\x02\x00\x00" AEAD15 END),
		    NTSKE_BAD, NTSKE_E_BAD_REQUEST, 0, -1, 0 },
		{ "empty Next Protocol", MSG("\x80\x01\x00\x00" AEAD15 END),
		    NTSKE_BAD, NTSKE_E_BAD_REQUEST, 0, -1, 0 },
		{ "Next Protocol of odd length",
		    MSG("\x80\x01\x00\x03\x00\x00\x00" AEAD15 END),
		    NTSKE_BAD, NTSKE_E_BAD_REQUEST, 0, -1, 0 },
		{ "empty AEAD", MSG(NP0 "\x80\x04\x00\x00" END),
		    NTSKE_BAD, NTSKE_E_BAD_REQUEST, 1, -1, 6 },
		{ "AEAD of odd length",
		    MSG(NP0 "\x80\x04\x00\x03\x00\x0f\x00" END),
		    NTSKE_BAD, NTSKE_E_BAD_REQUEST, 1, -1, 6 },
		{ "NTPv4 without an AEAD record", MSG(NP0 END),
		    NTSKE_BAD, NTSKE_E_BAD_REQUEST, 1, -1, 6 },
		{ "an Error record from the client",
		    MSG(NP0 AEAD15 "\x80\x02\x00\x02\x00\x00" END),
		    NTSKE_BAD, NTSKE_E_BAD_REQUEST, 1, 15, 12 },
		{ "a Warning record from the client",
		    MSG(NP0 AEAD15 "\x80\x03\x00\x02\x00\x00" END),
		    NTSKE_BAD, NTSKE_E_BAD_REQUEST, 1, 15, 12 },
		{ "a New Cookie record from the client",
		    MSG(NP0 AEAD15 COOKIE4 END),
		    NTSKE_BAD, NTSKE_E_BAD_REQUEST, 1, 15, 12 },
		{ "End of Message with a body",
		    MSG(NP0 AEAD15 "\x80\x00\x00\x02\x00\x00"),
		    NTSKE_BAD, NTSKE_E_BAD_REQUEST, 1, 15, 12 },
		{ "End of Message without the critical bit",
		    MSG(NP0 AEAD15 "\x00\x00\x00\x00"),
		    NTSKE_BAD, NTSKE_E_BAD_REQUEST, 1, 15, 12 },
		{ "Port of three bytes",
		    MSG(NP0 AEAD15 "\x00\x07\x00\x03\x00\x7b\x00" END),
		    NTSKE_BAD, NTSKE_E_BAD_REQUEST, 1, 15, 12 },
		{ "empty Server", MSG(NP0 AEAD15 "\x00\x06\x00\x00" END),
		    NTSKE_BAD, NTSKE_E_BAD_REQUEST, 1, 15, 12 },
		{ "unknown critical record",
		    MSG(NP0 AEAD15 "\x92\x34\x00\x00" END),
		    NTSKE_BAD, NTSKE_E_UNRECOGNIZED, 1, 15, 12 },
		{ "unknown critical type 8 first",
		    MSG("\x80\x08\x00\x01" "x" NP0 AEAD15 END),
		    NTSKE_BAD, NTSKE_E_UNRECOGNIZED, 0, -1, 0 },
		{ "the first fault decides: unknown, then no NP",
		    MSG("\xff\xff\x00\x00" AEAD15 END),
		    NTSKE_BAD, NTSKE_E_UNRECOGNIZED, 0, -1, 0 },
		{ "the first fault decides: Error, then unknown",
		    MSG("\x80\x02\x00\x02\x00\x01" "\xff\xff\x00\x00" REQ),
		    NTSKE_BAD, NTSKE_E_BAD_REQUEST, 0, -1, 0 },
		{ "a bad header is enough", MSG(NP0 "\x80\x03\x00\x02"),
		    NTSKE_BAD, NTSKE_E_BAD_REQUEST, 1, -1, 6 },
		{ "a record that cannot end within 1024 bytes",
		    MSG(NP0 "\x00\x09\x03\xf3"),
		    NTSKE_BAD, NTSKE_E_BAD_REQUEST, 1, -1, 6 },
	};
	struct ntske_req	 rq;
	enum ntske_verdict	 v;
	unsigned char		*p;
	size_t			 i;

	for (i = 0; i < NELEM(tab); i++) {
		p = exact(tab[i].b, tab[i].len);
		memset(&rq, CANARY, sizeof rq);
		v = ntske_request(p, tab[i].len, &rq);
		is_int(v, tab[i].v, "request %s: verdict", tab[i].name);
		is_int(rq.error, tab[i].v == NTSKE_BAD ? tab[i].error : -1,
		    "request %s: error", tab[i].name);
		is_int(rq.ntpv4, tab[i].ntpv4, "request %s: ntpv4",
		    tab[i].name);
		is_int(rq.aead, tab[i].aead, "request %s: aead", tab[i].name);
		is_int((long long)rq.used, tab[i].used == -1 ?
		    (long long)tab[i].len : tab[i].used, "request %s: used",
		    tab[i].name);
		ok(prefixes(read_request, p, tab[i].len, v, rq.error, rq.used),
		    "request %s: every prefix reads more or the same",
		    tab[i].name);
		free(p);
	}
}

/* Section 4: a server takes up to 1024 bytes, and no more. */
static void
test_request_limit(void)
{
	unsigned char		*p;
	struct ntske_req	 rq;
	size_t			 n, off;

	/* NP, AEAD, one filler record to 1020 bytes, End: 1024 in all. */
	if ((p = malloc(NTSKE_REQUEST_MAX + 8)) == NULL)
		tap_bail("out of memory");
	memset(p, 'f', NTSKE_REQUEST_MAX + 8);
	memcpy(p, NP0 AEAD15, 12);
	n = NTSKE_REQUEST_MAX - 12 - 4 - 4;
	memcpy(p + 12, "\x40\x00", 2);
	p[14] = (unsigned char)(n >> 8);
	p[15] = (unsigned char)n;
	off = 16 + n;
	memcpy(p + off, END, 4);
	is_int(ntske_request(p, NTSKE_REQUEST_MAX, &rq), NTSKE_OK,
	    "a request of exactly %d bytes", NTSKE_REQUEST_MAX);
	is_int((long long)rq.used, NTSKE_REQUEST_MAX, "its used");
	is_int(ntske_request(p, NTSKE_REQUEST_MAX + 8, &rq), NTSKE_OK,
	    "and with bytes after it");
	is_int(ntske_request(p, NTSKE_REQUEST_MAX - 1, &rq), NTSKE_MORE,
	    "one byte short of it reads more");

	/* One byte more of filler: End cannot come in time. */
	n++;
	p[14] = (unsigned char)(n >> 8);
	p[15] = (unsigned char)n;
	is_int(ntske_request(p, 16, &rq), NTSKE_BAD,
	    "a filler that leaves no room for End, judged on its header");
	is_int(rq.error, NTSKE_E_BAD_REQUEST, "as a bad request");

	/* Small records and no End: more until 1024 bytes, then bad. */
	for (off = 12; off + 4 <= NTSKE_REQUEST_MAX + 8; off += 4)
		memcpy(p + off, "\x40\x00\x00\x00", 4);
	is_int(ntske_request(p, NTSKE_REQUEST_MAX - 1, &rq), NTSKE_MORE,
	    "no End in 1023 bytes reads more");
	is_int(ntske_request(p, NTSKE_REQUEST_MAX, &rq), NTSKE_BAD,
	    "no End in 1024 bytes is bad");
	is_int(rq.error, NTSKE_E_BAD_REQUEST, "as a bad request");
	memcpy(p + NTSKE_REQUEST_MAX, END, 4);
	is_int(ntske_request(p, NTSKE_REQUEST_MAX + 4, &rq), NTSKE_BAD,
	    "an End past 1024 bytes is not read");
	free(p);
}

static int
same_bytes(const unsigned char *got, int glen, const unsigned char *want,
    size_t wlen, const char *what)
{
	int	 pass = glen == (int)wlen &&
		    memcmp(got, want, wlen) == 0;
	int	 i;

	ok(pass, "%s: its bytes", what);
	if (!pass) {
		diag("got %d bytes, expected %zu", glen, wlen);
		for (i = 0; i < glen && i < 400; i++)
			diag("  %3d: %02x %02x", i, got[i],
			    (size_t)i < wlen ? want[i] : 0);
	}
	return pass;
}

/*
 * Write with every length of out below the whole: -1 each time, and not
 * a byte written past the length given.
 */
static int
too_short(int (*w)(const void *, unsigned char *, size_t), const void *arg,
    size_t whole)
{
	unsigned char	*out;
	size_t		 k, j;
	int		 good = 1;

	if ((out = malloc(whole + 1)) == NULL)
		tap_bail("out of memory");
	for (k = 0; k < whole; k++) {
		memset(out, CANARY, whole + 1);
		if (w(arg, out, k) != -1)
			good = 0;
		for (j = k; j <= whole; j++)
			if (out[j] != CANARY)
				good = 0;
	}
	free(out);
	return good;
}

static int
write_response(const void *arg, unsigned char *out, size_t len)
{
	return ntske_response(arg, out, len);
}

static int
write_error(const void *arg, unsigned char *out, size_t len)
{
	return ntske_error(*(const int *)arg, out, len);
}

static int
write_client(const void *arg, unsigned char *out, size_t len)
{
	(void)arg;
	return ntske_client_request(out, len);
}

static const unsigned char cookie_a[4] = { 'a', 'b', 'c', 'd' };
static const unsigned char cookie_b[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

static void
full_response(struct ntske_resp *rs)
{
	memset(rs, 0, sizeof *rs);
	rs->ntpv4 = 1;
	rs->aead = NTSKE_AEAD_SIV_CMAC_256;
	rs->cookie[0] = cookie_a;
	rs->cookie_len[0] = sizeof cookie_a;
	rs->cookie[1] = cookie_b;
	rs->cookie_len[1] = sizeof cookie_b;
	rs->ncookies = 2;
	rs->server = "ntp.example";
	rs->port = 1234;
}

static void
test_response(void)
{
	static const unsigned char want[] = NP0 AEAD15
	    "\x00\x05\x00\x04" "abcd"
	    "\x00\x05\x00\x08\x01\x02\x03\x04\x05\x06\x07\x08"
	    "\x80\x06\x00\x0b" "ntp.example"
	    "\x80\x07\x00\x02\x04\xd2"
	    END;
	static const unsigned char want_min[] = NP0 AEAD15
	    "\x00\x05\x00\x04" "abcd" END;
	static const unsigned char want_no_ntp[] = "\x80\x01\x00\x00" END;
	static const unsigned char want_no_aead[] = NP0
	    "\x80\x04\x00\x00" END;
	static const unsigned char want_err[] =
	    "\x80\x02\x00\x02\x00\x01" END;
	static const unsigned char big[NTSKE_COOKIE_MAX + 1];
	unsigned char		 out[NTSKE_RESPONSE_MAX];
	char			 long_name[NTSKE_SERVER_MAX + 2];
	struct ntske_resp	 rs;
	int			 n, code, i;

	/* 256 bytes, one past the longest; long_name + 1 is the longest. */
	memset(long_name, 'n', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';

	full_response(&rs);
	n = ntske_response(&rs, out, sizeof out);
	same_bytes(out, n, want, sizeof want - 1,
	    "response with two cookies, server and port");
	ok(too_short(write_response, &rs, sizeof want - 1),
	    "response: -1 for every shorter buffer, nothing written past it");

	rs.ncookies = 1;
	rs.server = NULL;
	rs.port = 0;
	n = ntske_response(&rs, out, sizeof out);
	same_bytes(out, n, want_min, sizeof want_min - 1,
	    "response with one cookie, no server or port");

	full_response(&rs);
	rs.ntpv4 = 0;
	n = ntske_response(&rs, out, sizeof out);
	same_bytes(out, n, want_no_ntp, sizeof want_no_ntp - 1,
	    "response without NTPv4: empty Next Protocol only");
	full_response(&rs);
	rs.aead = -1;
	n = ntske_response(&rs, out, sizeof out);
	same_bytes(out, n, want_no_aead, sizeof want_no_aead - 1,
	    "response without an AEAD: empty AEAD, no cookies");

	/* The largest response fits in NTSKE_RESPONSE_MAX. */
	full_response(&rs);
	for (i = 0; i < NTSKE_COOKIES; i++) {
		rs.cookie[i] = big;
		rs.cookie_len[i] = NTSKE_COOKIE_MAX;
	}
	rs.ncookies = NTSKE_COOKIES;
	rs.server = long_name + 1;
	rs.port = 65535;
	n = ntske_response(&rs, out, sizeof out);
	ok(n > 0 && n <= NTSKE_RESPONSE_MAX,
	    "the largest response fits in NTSKE_RESPONSE_MAX (%d)", n);

	/* What is out of bounds is refused. */
#define REFUSED(what, change) do {					\
		full_response(&rs);					\
		change;							\
		is_int(ntske_response(&rs, out, sizeof out), -1,	\
		    "response refused: %s", what);			\
	} while (0)
	REFUSED("nine cookies", rs.ncookies = NTSKE_COOKIES + 1);
	REFUSED("negative cookies", rs.ncookies = -1);
	REFUSED("no cookie with NTPv4 and an AEAD", rs.ncookies = 0);
	REFUSED("an empty cookie", rs.cookie_len[1] = 0);
	REFUSED("a NULL cookie", rs.cookie[0] = NULL);
	REFUSED("a cookie of 257 bytes", (rs.cookie[1] = big,
	    rs.cookie_len[1] = NTSKE_COOKIE_MAX + 1));
	REFUSED("a server name of 256 bytes", rs.server = long_name);
	REFUSED("an empty server name", rs.server = "");
	REFUSED("port 65536", rs.port = 65536);
	REFUSED("port -1", rs.port = -1);
	REFUSED("aead -2", rs.aead = -2);
	REFUSED("aead 65536", rs.aead = 65536);
#undef REFUSED

	n = ntske_error(NTSKE_E_BAD_REQUEST, out, sizeof out);
	same_bytes(out, n, want_err, sizeof want_err - 1,
	    "Error 1 then End of Message");
	code = NTSKE_E_BAD_REQUEST;
	ok(too_short(write_error, &code, sizeof want_err - 1),
	    "error: -1 for every shorter buffer, nothing written past it");
	is_int(ntske_error(-1, out, sizeof out), -1, "error code -1 refused");
	is_int(ntske_error(65536, out, sizeof out), -1,
	    "error code 65536 refused");
	is_int(ntske_error(65535, out, sizeof out), 10, "error code 65535");
}

static void
test_client_request(void)
{
	static const unsigned char want[] = REQ;
	unsigned char		 out[64], *p;
	struct ntske_req	 rq;
	int			 n;

	n = ntske_client_request(out, sizeof out);
	same_bytes(out, n, want, sizeof want - 1, "the client's request");
	ok(too_short(write_client, NULL, sizeof want - 1),
	    "client request: -1 for every shorter buffer, nothing past it");
	if (n <= 0)
		return;
	p = exact(out, (size_t)n);
	is_int(ntske_request(p, (size_t)n, &rq), NTSKE_OK,
	    "our server takes our client's request");
	is_int(rq.ntpv4, 1, "with NTPv4");
	is_int(rq.aead, NTSKE_AEAD_SIV_CMAC_256, "with AES-SIV-CMAC-256");
	is_int((long long)rq.used, n, "all of it used");
	ok(prefixes(read_request, p, (size_t)n, NTSKE_OK, rq.error,
	    rq.used),
	    "every prefix of the client's request reads more");
	free(p);
}

static void
test_round_trip(void)
{
	unsigned char		 out[NTSKE_RESPONSE_MAX], *p;
	struct ntske_resp	 rs;
	struct ntske_answer	 an;
	int			 n;

	full_response(&rs);
	n = ntske_response(&rs, out, sizeof out);
	ok(n > 0, "a response to read back");
	if (n <= 0)
		return;
	p = exact(out, (size_t)n);
	is_int(ntske_answer(p, (size_t)n, &an), NTSKE_OK,
	    "the client takes our server's response");
	is_int(an.error, -1, "no error");
	is_int(an.ntpv4, 1, "NTPv4");
	is_int(an.aead, NTSKE_AEAD_SIV_CMAC_256, "AES-SIV-CMAC-256");
	is_int(an.ncookies, 2, "two cookies");
	ok(an.cookie[0] == p + 16 && an.cookie_len[0] == 4,
	    "the first cookie points into the buffer");
	ok(an.cookie[1] == p + 24 && an.cookie_len[1] == 8 &&
	    memcmp(an.cookie[1], cookie_b, 8) == 0, "the second cookie too");
	is_str(an.server, "ntp.example", "the server");
	is_int(an.port, 1234, "the port");
	is_int((long long)an.used, n, "all of it used");
	ok(prefixes(read_answer, p, (size_t)n, NTSKE_OK, an.error,
	    an.used),
	    "every prefix of the response reads more");
	free(p);

	n = ntske_error(NTSKE_E_UNRECOGNIZED, out, sizeof out);
	p = exact(out, (size_t)n);
	is_int(ntske_answer(p, (size_t)n, &an), NTSKE_BAD,
	    "the client refuses an Error");
	is_int(an.error, NTSKE_E_UNRECOGNIZED, "and says which");
	free(p);
}

static void
test_answer(void)
{
	static const struct {
		const char		*name;
		const unsigned char	*b;
		size_t			 len;
		enum ntske_verdict	 v;
		int			 error;
		int			 ntpv4;
		int			 aead;
		int			 ncookies;
		const char		*server;
		int			 port;
	} tab[] = {
		{ "minimal", MSG(NP0 AEAD15 COOKIE4 END),
		    NTSKE_OK, -1, 1, 15, 1, "", 0 },
		{ "AEAD without the critical bit",
		    MSG(NP0 "\x00\x04\x00\x02\x00\x0f" COOKIE4 END),
		    NTSKE_OK, -1, 1, 15, 1, "", 0 },
		{ "a critical cookie, non-critical server and port",
		    MSG(NP0 AEAD15 "\x80\x05\x00\x01" "c"
		    "\x00\x06\x00\x09" "192.0.2.1" "\x00\x07\x00\x02\x00\x7b"
		    END), NTSKE_OK, -1, 1, 15, 1, "192.0.2.1", 123 },
		{ "unknown non-critical records skipped",
		    MSG("\x04\x00\x00\x00" NP0 "\x12\x34\x00\x02" "zz" AEAD15
		    COOKIE4 END), NTSKE_OK, -1, 1, 15, 1, "", 0 },
		{ "nine cookies, eight kept",
		    MSG(NP0 AEAD15 COOKIE4 COOKIE4 COOKIE4 COOKIE4 COOKIE4
		    COOKIE4 COOKIE4 COOKIE4 COOKIE4 END),
		    NTSKE_OK, -1, 1, 15, 8, "", 0 },
		{ "an empty cookie skipped",
		    MSG(NP0 AEAD15 "\x00\x05\x00\x00" COOKIE4 END),
		    NTSKE_OK, -1, 1, 15, 1, "", 0 },
		{ "half a record", MSG(NP0 AEAD15 "\x00\x05\x00\x04" "ck"),
		    NTSKE_MORE, -1, 1, 15, 0, "", 0 },
		{ "no End yet", MSG(NP0 AEAD15 COOKIE4),
		    NTSKE_MORE, -1, 1, 15, 1, "", 0 },

		{ "an Error record", MSG("\x80\x02\x00\x02\x00\x01" END),
		    NTSKE_BAD, 1, 0, -1, 0, "", 0 },
		{ "an Error of 3 bytes", MSG("\x80\x02\x00\x03\x00\x01\x00"
		    END), NTSKE_BAD, -1, 0, -1, 0, "", 0 },
		{ "an Error after the cookies",
		    MSG(NP0 AEAD15 COOKIE4 "\x80\x02\x00\x02\x00\x02" END),
		    NTSKE_BAD, 2, 1, 15, 1, "", 0 },
		{ "a Warning", MSG(NP0 AEAD15 COOKIE4
		    "\x80\x03\x00\x02\x00\x00" END),
		    NTSKE_BAD, -1, 1, 15, 1, "", 0 },
		{ "an unknown critical record",
		    MSG(NP0 AEAD15 "\xc0\x00\x00\x00" COOKIE4 END),
		    NTSKE_BAD, -1, 1, 15, 0, "", 0 },
		{ "no Next Protocol", MSG(AEAD15 COOKIE4 END),
		    NTSKE_BAD, -1, 0, 15, 1, "", 0 },
		{ "empty Next Protocol: no NTPv4",
		    MSG("\x80\x01\x00\x00" END), NTSKE_BAD, -1, 0, -1, 0, "", 0 },
		{ "a protocol we did not offer",
		    MSG("\x80\x01\x00\x02\x00\x01" AEAD15 COOKIE4 END),
		    NTSKE_BAD, -1, 0, -1, 0, "", 0 },
		{ "two protocols", MSG("\x80\x01\x00\x04\x00\x00\x00\x00"
		    AEAD15 COOKIE4 END), NTSKE_BAD, -1, 0, -1, 0, "", 0 },
		{ "Next Protocol without the critical bit",
		    MSG("\x00\x01\x00\x02\x00\x00" AEAD15 COOKIE4 END),
		    NTSKE_BAD, -1, 0, -1, 0, "", 0 },
		{ "two Next Protocol records",
		    MSG(NP0 NP0 AEAD15 COOKIE4 END),
		    NTSKE_BAD, -1, 1, -1, 0, "", 0 },
		{ "empty AEAD", MSG(NP0 "\x80\x04\x00\x00" END),
		    NTSKE_BAD, -1, 1, -1, 0, "", 0 },
		{ "no AEAD record", MSG(NP0 COOKIE4 END),
		    NTSKE_BAD, -1, 1, -1, 1, "", 0 },
		{ "an AEAD we did not offer",
		    MSG(NP0 "\x80\x04\x00\x02\x00\x1e" COOKIE4 END),
		    NTSKE_BAD, -1, 1, -1, 0, "", 0 },
		{ "two AEAD records", MSG(NP0 AEAD15 AEAD15 COOKIE4 END),
		    NTSKE_BAD, -1, 1, 15, 0, "", 0 },
		{ "no cookie", MSG(NP0 AEAD15 END),
		    NTSKE_BAD, -1, 1, 15, 0, "", 0 },
		{ "a server name with a space",
		    MSG(NP0 AEAD15 COOKIE4 "\x80\x06\x00\x03" "a b" END),
		    NTSKE_BAD, -1, 1, 15, 1, "", 0 },
		{ "an empty server name",
		    MSG(NP0 AEAD15 COOKIE4 "\x80\x06\x00\x00" END),
		    NTSKE_BAD, -1, 1, 15, 1, "", 0 },
		{ "two server names", MSG(NP0 AEAD15 COOKIE4
		    "\x80\x06\x00\x01" "a" "\x80\x06\x00\x01" "b" END),
		    NTSKE_BAD, -1, 1, 15, 1, "a", 0 },
		{ "port 0", MSG(NP0 AEAD15 COOKIE4
		    "\x80\x07\x00\x02\x00\x00" END),
		    NTSKE_BAD, -1, 1, 15, 1, "", 0 },
		{ "a port of 3 bytes", MSG(NP0 AEAD15 COOKIE4
		    "\x80\x07\x00\x03\x00\x7b\x00" END),
		    NTSKE_BAD, -1, 1, 15, 1, "", 0 },
		{ "two ports", MSG(NP0 AEAD15 COOKIE4
		    "\x80\x07\x00\x02\x00\x7b" "\x80\x07\x00\x02\x00\x7c" END),
		    NTSKE_BAD, -1, 1, 15, 1, "", 123 },
		{ "End of Message with a body",
		    MSG(NP0 AEAD15 COOKIE4 "\x80\x00\x00\x01" "x"),
		    NTSKE_BAD, -1, 1, 15, 1, "", 0 },
		{ "End of Message without the critical bit",
		    MSG(NP0 AEAD15 COOKIE4 "\x00\x00\x00\x00"),
		    NTSKE_BAD, -1, 1, 15, 1, "", 0 },
	};
	struct ntske_answer	 an;
	enum ntske_verdict	 v;
	unsigned char		*p;
	size_t			 i;

	for (i = 0; i < NELEM(tab); i++) {
		p = exact(tab[i].b, tab[i].len);
		memset(&an, CANARY, sizeof an);
		v = ntske_answer(p, tab[i].len, &an);
		is_int(v, tab[i].v, "answer %s: verdict", tab[i].name);
		is_int(an.error, tab[i].error, "answer %s: error",
		    tab[i].name);
		is_int(an.ntpv4, tab[i].ntpv4, "answer %s: ntpv4",
		    tab[i].name);
		is_int(an.aead, tab[i].aead, "answer %s: aead", tab[i].name);
		is_int(an.ncookies, tab[i].ncookies, "answer %s: cookies",
		    tab[i].name);
		is_str(an.server, tab[i].server, "answer %s: server",
		    tab[i].name);
		is_int(an.port, tab[i].port, "answer %s: port", tab[i].name);
		ok(an.used <= tab[i].len, "answer %s: used within it",
		    tab[i].name);
		ok(prefixes(read_answer, p, tab[i].len, v, an.error, an.used),
		    "answer %s: every prefix reads more or the same",
		    tab[i].name);
		free(p);
	}
}

/* A client reads 64 KiB of a response, and no more. */
static void
test_answer_limit(void)
{
	struct ntske_answer	 an;
	unsigned char		*p;
	size_t			 off;

	if ((p = malloc(NTSKE_ANSWER_MAX)) == NULL)
		tap_bail("out of memory");
	for (off = 0; off < NTSKE_ANSWER_MAX; off += 4)
		memcpy(p + off, "\x40\x00\x00\x00", 4);
	is_int(ntske_answer(p, NTSKE_ANSWER_MAX - 1, &an), NTSKE_MORE,
	    "no End in 65535 bytes reads more");
	is_int(ntske_answer(p, NTSKE_ANSWER_MAX, &an), NTSKE_BAD,
	    "no End in 65536 bytes is bad");
	memcpy(p, "\x40\x00\xff\xfc", 4);
	is_int(ntske_answer(p, 4, &an), NTSKE_BAD,
	    "a record that leaves no room for End, judged on its header");
	free(p);
}

int
main(void)
{
	test_request();
	test_request_limit();
	test_response();
	test_client_request();
	test_round_trip();
	test_answer();
	test_answer_limit();
	return done_testing();
}
