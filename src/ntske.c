/*
 * ntske.c: NTS Key Establishment's records (RFC 8915, section 4): a
 * server's judge of a request and its response, a client's request and
 * its reading of the response.
 *
 * Pure: it never reads a clock, touches a file descriptor, allocates or
 * sets errno.  The readers trust nothing in the bytes: whatever they are,
 * they return a verdict and never read outside buf[0..len).  Both readers
 * judge a record as soon as its four-byte header is there, when the header
 * alone decides, so that the verdict on a prefix is the verdict on every
 * longer buffer; only the lists of Next Protocol and AEAD, an Error's code,
 * a Server's name and a Port's number wait for their bodies.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ntske.h"

#define HDR		4	/* critical bit and type, body length */
#define TYPE_MASK	0x7fff

/* One record's header, and how much of it is in the buffer. */
struct rec {
	int			 critical;
	unsigned int		 type;
	size_t			 blen;
	const unsigned char	*body;
	int			 whole;		/* the body is all there */
};

/* A response or Error being written; fail once anything did not fit. */
struct out {
	unsigned char	*p;
	size_t		 len;
	size_t		 off;
	int		 fail;
};

static unsigned int
get16(const unsigned char *b)
{
	return (unsigned int)b[0] << 8 | b[1];
}

static void
put16(unsigned char *b, unsigned int v)
{
	b[0] = (v >> 8) & 0xff;
	b[1] = v & 0xff;
}

/*
 * The record at buf[off..len): 0 when not even its header is there, else
 * 1 with r filled (r->whole says whether its body is).  off <= len.
 */
static int
record_at(const unsigned char *buf, size_t len, size_t off, struct rec *r)
{
	unsigned int	 t;

	if (len - off < HDR)
		return 0;
	t = get16(buf + off);
	r->critical = (t & NTSKE_CRITICAL) != 0;
	r->type = t & TYPE_MASK;
	r->blen = get16(buf + off + 2);
	r->body = buf + off + HDR;
	r->whole = len - off - HDR >= r->blen;
	return 1;
}

static void
put_record(struct out *w, unsigned int type, const void *body, size_t blen)
{
	if (w->fail || blen > 0xffff || w->len - w->off < HDR ||
	    w->len - w->off - HDR < blen) {
		w->fail = 1;
		return;
	}
	put16(w->p + w->off, type);
	put16(w->p + w->off + 2, (unsigned int)blen);
	if (blen > 0)
		memcpy(w->p + w->off + HDR, body, blen);
	w->off += HDR + blen;
}

static void
put_u16_record(struct out *w, unsigned int type, unsigned int v)
{
	unsigned char	 b[2];

	put16(b, v);
	put_record(w, type, b, sizeof b);
}

static int
finish(struct out *w)
{
	put_record(w, NTSKE_CRITICAL | NTSKE_END, NULL, 0);
	return w->fail ? -1 : (int)w->off;
}

static enum ntske_verdict
bad(struct ntske_req *rq, int error)
{
	rq->error = error;
	return NTSKE_BAD;
}

/*
 * What the header alone says of a client's record: -1 nothing yet, or an
 * NTSKE_E_* code.  seen_np and seen_aead: whether one came before it.
 */
static int
request_header(const struct rec *r, int seen_np, int seen_aead)
{
	switch (r->type) {
	case NTSKE_END:
		return r->critical && r->blen == 0 ? -1 : NTSKE_E_BAD_REQUEST;
	case NTSKE_NEXT_PROTO:
		/* The request MUST list at least one protocol (4.1.2). */
		if (!r->critical || seen_np || r->blen == 0 || r->blen % 2 != 0)
			return NTSKE_E_BAD_REQUEST;
		return -1;
	case NTSKE_AEAD:
		if (seen_aead || r->blen == 0 || r->blen % 2 != 0)
			return NTSKE_E_BAD_REQUEST;
		return -1;
	case NTSKE_ERROR:
	case NTSKE_WARNING:
	case NTSKE_COOKIE:
		/* A server's records; clients MUST NOT send them. */
		return NTSKE_E_BAD_REQUEST;
	case NTSKE_SERVER:
		return r->blen == 0 ? NTSKE_E_BAD_REQUEST : -1;
	case NTSKE_PORT_REC:
		return r->blen == 2 ? -1 : NTSKE_E_BAD_REQUEST;
	default:
		return r->critical ? NTSKE_E_UNRECOGNIZED : -1;
	}
}

enum ntske_verdict
ntske_request(const unsigned char *buf, size_t len, struct ntske_req *rq)
{
	struct rec	 r;
	size_t		 lim, off, i;
	int		 np = 0, aead_rec = 0, e;

	rq->error = -1;
	rq->ntpv4 = 0;
	rq->aead = -1;
	rq->used = 0;
	/* Nothing past the limit is read: the End must come within it. */
	lim = len < NTSKE_REQUEST_MAX ? len : NTSKE_REQUEST_MAX;
	for (off = 0; record_at(buf, lim, off, &r); off += HDR + r.blen) {
		rq->used = off;
		if ((e = request_header(&r, np, aead_rec)) != -1)
			return bad(rq, e);
		if (r.type == NTSKE_END) {
			if (!rq->ntpv4)
				rq->aead = -1;
			if (!np || (rq->ntpv4 && !aead_rec))
				return bad(rq, NTSKE_E_BAD_REQUEST);
			rq->used = off + HDR;
			return NTSKE_OK;
		}
		/* An End of Message after this record would pass the limit. */
		if (NTSKE_REQUEST_MAX - off - HDR < r.blen + HDR)
			return bad(rq, NTSKE_E_BAD_REQUEST);
		if (!r.whole)
			break;
		if (r.type == NTSKE_NEXT_PROTO) {
			np = 1;
			for (i = 0; i < r.blen; i += 2)
				if (get16(r.body + i) == NTSKE_PROTO_NTPV4)
					rq->ntpv4 = 1;
		} else if (r.type == NTSKE_AEAD) {
			aead_rec = 1;
			/* The client's order is its preference; take ours. */
			for (i = 0; i < r.blen && rq->aead == -1; i += 2)
				if (get16(r.body + i) ==
				    NTSKE_AEAD_SIV_CMAC_256)
					rq->aead = NTSKE_AEAD_SIV_CMAC_256;
		}
	}
	rq->used = off;
	if (len >= NTSKE_REQUEST_MAX)
		return bad(rq, NTSKE_E_BAD_REQUEST);
	return NTSKE_MORE;
}

int
ntske_response(const struct ntske_resp *rs, unsigned char *out, size_t len)
{
	struct out	 w = { out, len, 0, 0 };
	size_t		 slen = 0;
	int		 i;

	if (rs->aead < -1 || rs->aead > 0xffff || rs->port < 0 ||
	    rs->port > 0xffff || rs->ncookies < 0 ||
	    rs->ncookies > NTSKE_COOKIES)
		return -1;
	if (!rs->ntpv4) {
		put_record(&w, NTSKE_CRITICAL | NTSKE_NEXT_PROTO, NULL, 0);
		return finish(&w);
	}
	put_u16_record(&w, NTSKE_CRITICAL | NTSKE_NEXT_PROTO,
	    NTSKE_PROTO_NTPV4);
	if (rs->aead == -1) {
		put_record(&w, NTSKE_CRITICAL | NTSKE_AEAD, NULL, 0);
		return finish(&w);
	}
	if (rs->ncookies == 0)
		return -1;
	for (i = 0; i < rs->ncookies; i++)
		if (rs->cookie[i] == NULL || rs->cookie_len[i] == 0 ||
		    rs->cookie_len[i] > NTSKE_COOKIE_MAX)
			return -1;
	if (rs->server != NULL) {
		slen = strnlen(rs->server, NTSKE_SERVER_MAX + 1);
		if (slen == 0 || slen > NTSKE_SERVER_MAX)
			return -1;
	}
	put_u16_record(&w, NTSKE_CRITICAL | NTSKE_AEAD,
	    (unsigned int)rs->aead);
	for (i = 0; i < rs->ncookies; i++)
		put_record(&w, NTSKE_COOKIE, rs->cookie[i], rs->cookie_len[i]);
	if (rs->server != NULL)
		put_record(&w, NTSKE_CRITICAL | NTSKE_SERVER, rs->server, slen);
	if (rs->port != 0)
		put_u16_record(&w, NTSKE_CRITICAL | NTSKE_PORT_REC,
		    (unsigned int)rs->port);
	return finish(&w);
}

int
ntske_error(int code, unsigned char *out, size_t len)
{
	struct out	 w = { out, len, 0, 0 };

	if (code < 0 || code > 0xffff)
		return -1;
	put_u16_record(&w, NTSKE_CRITICAL | NTSKE_ERROR, (unsigned int)code);
	return finish(&w);
}

int
ntske_client_request(unsigned char *out, size_t len)
{
	struct out	 w = { out, len, 0, 0 };

	put_u16_record(&w, NTSKE_CRITICAL | NTSKE_NEXT_PROTO,
	    NTSKE_PROTO_NTPV4);
	put_u16_record(&w, NTSKE_CRITICAL | NTSKE_AEAD,
	    NTSKE_AEAD_SIV_CMAC_256);
	return finish(&w);
}

/* What the header alone says of a server's record: 1 bad, 0 not yet. */
static int
answer_header(const struct rec *r, int seen)
{
	switch (r->type) {
	case NTSKE_END:
		return !r->critical || r->blen != 0;
	case NTSKE_NEXT_PROTO:
		/* A subset of the one protocol we asked for. */
		return !r->critical || (seen & (1 << NTSKE_NEXT_PROTO)) ||
		    (r->blen != 0 && r->blen != 2);
	case NTSKE_AEAD:
		/* At most one algorithm, in one record. */
		return (seen & (1 << NTSKE_AEAD)) ||
		    (r->blen != 0 && r->blen != 2);
	case NTSKE_ERROR:
		return r->blen != 2;
	case NTSKE_WARNING:
		/* No warning codes are defined, and unknown ones are errors. */
		return 1;
	case NTSKE_COOKIE:
		return 0;
	case NTSKE_SERVER:
		return (seen & (1 << NTSKE_SERVER)) || r->blen == 0 ||
		    r->blen > NTSKE_SERVER_MAX;
	case NTSKE_PORT_REC:
		return (seen & (1 << NTSKE_PORT_REC)) || r->blen != 2;
	default:
		return r->critical;
	}
}

/* The record's body, once whole: 1 if it breaks section 4. */
static int
answer_body(const struct rec *r, struct ntske_answer *an)
{
	size_t		 i;

	switch (r->type) {
	case NTSKE_NEXT_PROTO:
		if (r->blen == 0)
			return 0;
		if (get16(r->body) != NTSKE_PROTO_NTPV4)
			return 1;
		an->ntpv4 = 1;
		return 0;
	case NTSKE_AEAD:
		if (r->blen == 0)
			return 0;
		if (get16(r->body) != NTSKE_AEAD_SIV_CMAC_256)
			return 1;
		an->aead = NTSKE_AEAD_SIV_CMAC_256;
		return 0;
	case NTSKE_ERROR:
		an->error = (int)get16(r->body);
		return 1;
	case NTSKE_COOKIE:
		if (r->blen > 0 && r->blen <= NTSKE_COOKIE_MAX &&
		    an->ncookies < NTSKE_COOKIES) {
			an->cookie[an->ncookies] = r->body;
			an->cookie_len[an->ncookies] = r->blen;
			an->ncookies++;
		}
		return 0;
	case NTSKE_SERVER:
		/* An address or a name: printable ASCII, no spaces. */
		for (i = 0; i < r->blen; i++)
			if (r->body[i] <= ' ' || r->body[i] >= 0x7f)
				return 1;
		memcpy(an->server, r->body, r->blen);
		an->server[r->blen] = '\0';
		return 0;
	case NTSKE_PORT_REC:
		an->port = (int)get16(r->body);
		return an->port == 0;
	default:
		return 0;
	}
}

enum ntske_verdict
ntske_answer(const unsigned char *buf, size_t len, struct ntske_answer *an)
{
	struct rec	 r;
	size_t		 lim, off;
	int		 seen = 0;

	memset(an, 0, sizeof *an);
	an->error = -1;
	an->aead = -1;
	lim = len < NTSKE_ANSWER_MAX ? len : NTSKE_ANSWER_MAX;
	for (off = 0; record_at(buf, lim, off, &r); off += HDR + r.blen) {
		an->used = off;
		if (answer_header(&r, seen))
			return NTSKE_BAD;
		if (r.type == NTSKE_END) {
			if (!an->ntpv4 || an->aead == -1 || an->ncookies == 0)
				return NTSKE_BAD;
			an->used = off + HDR;
			return NTSKE_OK;
		}
		if (NTSKE_ANSWER_MAX - off - HDR < r.blen + HDR)
			return NTSKE_BAD;
		if (!r.whole)
			break;
		if (answer_body(&r, an))
			return NTSKE_BAD;
		if (r.type <= NTSKE_PORT_REC)
			seen |= 1 << r.type;
	}
	an->used = off;
	return len >= NTSKE_ANSWER_MAX ? NTSKE_BAD : NTSKE_MORE;
}
