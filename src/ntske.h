/*
 * ntske.h: NTS Key Establishment's records (RFC 8915, section 4), pure.
 *
 * What a server needs to judge a client's request and write its response,
 * and what a client needs to write a request and read a response.  The
 * records travel inside TLS (tls.h); here they are only bytes: nothing
 * reads a clock, touches a file descriptor, allocates or sets errno, so
 * every function can be table-tested and fuzzed as it stands.
 */
#ifndef STAMP_NTSKE_H
#define STAMP_NTSKE_H

#include <stddef.h>
#include <stdint.h>

#define NTSKE_PORT		4460
#define NTSKE_ALPN		"ntske/1"
/* The TLS exporter label that gives the two NTP keys (section 5.1). */
#define NTSKE_EXPORTER_LABEL	"EXPORTER-network-time-security"

/* Record types (section 7.6); the critical bit is the type's top bit. */
#define NTSKE_CRITICAL		0x8000
#define NTSKE_END		0
#define NTSKE_NEXT_PROTO	1
#define NTSKE_ERROR		2
#define NTSKE_WARNING		3
#define NTSKE_AEAD		4
#define NTSKE_COOKIE		5
#define NTSKE_SERVER		6
#define NTSKE_PORT_REC		7

/* Next Protocol IDs and AEAD algorithms (IANA). */
#define NTSKE_PROTO_NTPV4	0
#define NTSKE_AEAD_SIV_CMAC_256	15	/* AEAD_AES_SIV_CMAC_256, mandatory */

/* Error codes (section 4.1.3). */
#define NTSKE_E_UNRECOGNIZED	0	/* an unrecognized critical record */
#define NTSKE_E_BAD_REQUEST	1
#define NTSKE_E_INTERNAL	2

/* A request longer than this is refused as a bad request. */
#define NTSKE_REQUEST_MAX	1024
/* The cookies a response carries (section 4: eight is what clients want). */
#define NTSKE_COOKIES		8
/* The longest cookie either side keeps. */
#define NTSKE_COOKIE_MAX	256
/*
 * A client reads this much of a response before it gives up (section 4:
 * clients SHOULD accept responses of at least 65536 octets).
 */
#define NTSKE_ANSWER_MAX	65536
/* The longest server name in a Server Negotiation record. */
#define NTSKE_SERVER_MAX	255
/* Room enough for any response this server writes. */
#define NTSKE_RESPONSE_MAX	(64 + NTSKE_SERVER_MAX + \
				 NTSKE_COOKIES * (4 + NTSKE_COOKIE_MAX))

/* What a server makes of a request, from ntske_request. */
enum ntske_verdict {
	NTSKE_MORE = -1,	/* no End of Message yet: read more */
	NTSKE_OK = 0,		/* answer it: rq says with what */
	NTSKE_BAD,		/* answer with Error rq->error, then close */
};

/* A request as a server judged it. */
struct ntske_req {
	int		 error;	/* with NTSKE_BAD: NTSKE_E_* */
	int		 ntpv4;	/* NTPv4 was among the next protocols */
	int		 aead;	/* the AEAD chosen: the client's first
				   that we have, or -1 for none (and
				   always -1 without ntpv4) */
	size_t		 used;	/* bytes up to and with End of Message */
};

/*
 * Judge request buf[0..len), the bytes received so far: NTSKE_MORE while
 * they are a valid beginning without End of Message, so that the caller
 * calls again with more; a verdict once reached stays the same for any
 * longer buf.  Section 4's rules for a server: exactly one Next Protocol
 * record, critical, listing at least one protocol; when it lists NTPv4,
 * exactly one AEAD record listing at least one algorithm (4.1.5); a list
 * of an odd length, an End of Message with a body or without the critical
 * bit, a Port record whose body is not two bytes, an empty Server record,
 * and a record a server never takes from a client (Error, Warning, New
 * Cookie) are NTSKE_E_BAD_REQUEST; an unrecognized record with the
 * critical bit is NTSKE_E_UNRECOGNIZED, and one without is skipped; the
 * first broken record in the stream decides.  Records after End of
 * Message are not read.  No End of Message within NTSKE_REQUEST_MAX bytes
 * is NTSKE_E_BAD_REQUEST (as soon as a record's length says it cannot
 * come).  NTPv4 not offered, or none of the client's AEADs ours: NTSKE_OK
 * with ntpv4 0 (and aead -1) or aead -1, answered by ntske_response as
 * section 4.1.2 and 4.1.5 say (an empty Next Protocol or AEAD record, no
 * cookies).  The client's Server and Port records are read and ignored.
 * rq->used: with NTSKE_OK the bytes up to and with End of Message; else
 * the bytes of the records judged good so far.
 */
enum ntske_verdict ntske_request(const unsigned char *buf, size_t len,
		    struct ntske_req *rq);

/* A server's response, as ntske_response writes it. */
struct ntske_resp {
	int			 ntpv4;		/* from the request */
	int			 aead;		/* from the request, or -1 */
	const unsigned char	*cookie[NTSKE_COOKIES];
	size_t			 cookie_len[NTSKE_COOKIES];
	int			 ncookies;	/* 0 when ntpv4 or aead is not */
	const char		*server;	/* NTPv4 Server Negotiation, or
						   NULL: the client's own */
	int			 port;		/* NTPv4 Port Negotiation, or 0:
						   123 */
};

/*
 * Write the response rs into out (NTSKE_RESPONSE_MAX bytes are enough):
 * Next Protocol (critical), AEAD (critical), the cookies, Server and Port
 * when set (both critical, so that a client that cannot honour them
 * stops), End of Message.  Without ntpv4 only an empty Next Protocol
 * record and End of Message; with ntpv4 and aead -1, Next Protocol, an
 * empty AEAD record and End of Message: the cookies, server and port are
 * then not written.  Returns its length, or -1 if out is too short or rs
 * is out of bounds: ncookies beyond 0..NTSKE_COOKIES, a cookie empty or
 * longer than NTSKE_COOKIE_MAX, a server longer than NTSKE_SERVER_MAX or
 * empty, a port or aead beyond 16 bits, or no cookie at all with ntpv4
 * and an aead (section 4.1.6 wants at least one: answer ntske_error's
 * NTSKE_E_INTERNAL instead).
 */
int		 ntske_response(const struct ntske_resp *rs, unsigned char *out,
		    size_t len);

/*
 * Write an Error record (critical) with code, then End of Message: the
 * length, or -1 if out is too short or code is beyond 16 bits.
 */
int		 ntske_error(int code, unsigned char *out, size_t len);

/*
 * A client's request: Next Protocol NTPv4 and AEAD AES-SIV-CMAC-256, both
 * critical, then End of Message.  Returns its length, or -1.
 */
int		 ntske_client_request(unsigned char *out, size_t len);

/* A response as a client reads it. */
struct ntske_answer {
	int			 error;		/* an Error record's code, or
						   -1 for none */
	int			 aead;		/* or -1 */
	int			 ntpv4;
	int			 ncookies;
	const unsigned char	*cookie[NTSKE_COOKIES];	/* into the buffer */
	size_t			 cookie_len[NTSKE_COOKIES];
	char			 server[NTSKE_SERVER_MAX + 1];	/* "" if none */
	int			 port;		/* 0 if none */
	size_t			 used;
};

/*
 * Read response buf[0..len) as a client that sent ntske_client_request:
 * NTSKE_MORE until End of Message, then NTSKE_OK only for an answer a
 * client can use (NTPv4, AEAD_AES_SIV_CMAC_256 and at least one cookie),
 * else NTSKE_BAD.  NTSKE_BAD as soon as a record breaks section 4 (a
 * critical record we do not know, a malformed one, a second Next Protocol,
 * AEAD, Server or Port record, a protocol or algorithm we did not offer, a
 * Warning, a server name that is not printable ASCII, port 0) or is an
 * Error record (an->error says which), or when there is no End of Message
 * within NTSKE_ANSWER_MAX bytes.  Cookies past NTSKE_COOKIES, empty ones,
 * or ones longer than NTSKE_COOKIE_MAX are skipped; the others point into
 * buf.  The fields hold what was read whatever the verdict; an->used as in
 * ntske_request.
 */
enum ntske_verdict ntske_answer(const unsigned char *buf, size_t len,
		    struct ntske_answer *an);

#endif /* STAMP_NTSKE_H */
