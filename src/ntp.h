/*
 * ntp.h: NTP's 48-byte header (RFC 5905), as pure functions.
 *
 * What a server needs to judge a request and build its reply, and what a
 * client needs to read one.  Nothing here reads a clock, touches a file
 * descriptor, allocates or sets errno: times and the clock's state are
 * arguments, so every function can be table-tested and fuzzed as it stands.
 */
#ifndef STAMP_NTP_H
#define STAMP_NTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>


#define NTP_PORT	123
#define NTP_HEADER_LEN	48

/* The header's modes (RFC 5905, figure 10). */
#define NTP_MODE_RESERVED	0
#define NTP_MODE_ACTIVE		1	/* symmetric active */
#define NTP_MODE_PASSIVE	2	/* symmetric passive */
#define NTP_MODE_CLIENT		3
#define NTP_MODE_SERVER		4
#define NTP_MODE_BROADCAST	5
#define NTP_MODE_CONTROL	6
#define NTP_MODE_PRIVATE	7

/* The leap indicator: 3 says the sender's clock is not synchronized. */
#define NTP_LEAP_NONE		0
#define NTP_LEAP_INSERT		1
#define NTP_LEAP_DELETE		2
#define NTP_LEAP_UNSYNC		3

#define NTP_VERSION		4
#define NTP_STRATUM_MAX		15	/* 16 and above mean unsynchronized */

/* "RATE", read big-endian: the Kiss-o'-Death that asks a client to slow. */
#define NTP_KOD_RATE		0x52415445U
/*
 * The poll (log2 s) a KoD RATE asks for at least: 8 s, the minimum
 * interval that ntpd's and chrony's default rate limits let through.
 */
#define NTP_KOD_POLL		3

/* The largest value of the 16.16 short format, where conversions stop. */
#define NTP_SHORT_MAX		0xffffffffU

/*
 * Timestamps are in the NTP timestamp format: 32 bits of seconds since
 * 1900 (modulo 2^32, so the count wraps in 2036) and 32 bits of fraction,
 * in host order.  Root delay and dispersion are in the 16.16 short format.
 */
struct ntp_packet {
	int		 leap, version, mode, stratum, poll, precision;
	uint32_t	 root_delay, root_disp;	/* NTP short format */
	uint32_t	 refid;			/* 4 bytes, big-endian */
	uint64_t	 ref, org, rec, xmt;
};

/*
 * What a server says of its clock in each reply (clock.h judges it from
 * the kernel's word).
 */
struct clock_state {
	int		 leap;		/* 0, 1 insert, 2 delete, 3 unsync */
	int		 stratum;	/* 0 (unspecified) if unsynchronized */
	uint32_t	 refid;
	uint64_t	 reftime;	/* NTP format */
	uint32_t	 root_delay, root_disp;	/* NTP short format */
	int		 precision;	/* log2 seconds */
};

/* What a server does with a datagram. */
enum ntp_verdict {
	NTP_ANSWER,	/* mode 3, or mode 1 (answered with 2); version 1..4 */
	NTP_SHORT,	/* under 48 bytes */
	NTP_BAD_VERSION,/* version 0 or above 4 */
	NTP_NOT_REQUEST,/* mode 0, 2, 4, 5: answering 4 or 5 would loop */
	NTP_CONTROL,	/* mode 6 or 7 (control, monlist): never answered */
	NTP_BAD_EXT,	/* malformed extension fields or MAC */
};
#define NTP_NVERDICT	6

/* A short lower-case name of a verdict ("answer", "short"...), or NULL. */
const char	*ntp_verdict_name(enum ntp_verdict v);

/*
 * Read the 48-byte header at the start of buf, which holds len bytes, into
 * *p.  Returns 0, or -1 if len is under 48 (then *p is untouched).  Nothing
 * is checked but the length: ntp_judge says what the header asks for.
 */
int		 ntp_decode(const void *buf, size_t len, struct ntp_packet *p);

/*
 * Write *p as a 48-byte header into buf, which holds len bytes.  Returns
 * 48, or -1 if len is under 48 or a field does not fit its bits (leap 0..3,
 * version and mode 0..7, stratum 0..255, poll and precision -128..127);
 * then nothing is written.
 */
int		 ntp_encode(const struct ntp_packet *p, void *buf, size_t len);

/*
 * Decode the datagram buf[0..len) into *req and say what a server does with
 * it.  *req is filled whenever len >= 48, whatever the verdict.  After the
 * header, an NTPv4 packet may carry extension fields (RFC 7822: each at
 * least 16 bytes, a multiple of 4, inside the datagram) and then a legacy
 * MAC (key ID and an MD5 or SHA-1 digest: 20 or 24 bytes); an older version
 * only the MAC.  Anything else after the header is NTP_BAD_EXT.
 */
enum ntp_verdict ntp_judge(const void *buf, size_t len, struct ntp_packet *req);

/*
 * Patch the transmit timestamp of an encoded header in buf, so that it can
 * be read from the clock as late as possible before the send.
 */
void		 ntp_set_xmt(void *buf, uint64_t xmt);

/* Unix time -> NTP format, modulo 2^32 seconds (the era wraps in 2036). */
uint64_t	 ntp_from_timespec(const struct timespec *ts);

/*
 * NTP format -> Unix time, in the era that puts it nearest pivot (within
 * 2^31 seconds, about 68 years, on either side of 2036), so that a reply
 * read near its time of receipt is right in every era.
 */
void		 ntp_to_timespec(uint64_t t, time_t pivot, struct timespec *ts);

/*
 * Microseconds -> 16.16 short format, rounded up so that a dispersion is
 * never understated; negative gives 0, and too many NTP_SHORT_MAX.
 */
uint32_t	 ntp_short_from_us(long long us);

/* 16.16 short format -> seconds. */
double		 ntp_short_to_sec(uint32_t s);

/*
 * The server's reply to req, which ntp_judge found NTP_ANSWER: mode 4 (2
 * for a mode 1 request), req's version and poll, org = req's transmit
 * timestamp, rec = rx, xmt = tx, and leap, stratum, precision, refid,
 * reference time, root delay and dispersion from the host clock's state.
 */
void		 ntp_reply(const struct ntp_packet *req,
		    const struct clock_state *cs, uint64_t rx, uint64_t tx,
		    struct ntp_packet *rep);

/*
 * A Kiss-o'-Death RATE to req (RFC 5905 section 7.4): leap 3, stratum 0,
 * refid "RATE", the mode and version that ntp_reply would give, poll at
 * least NTP_KOD_POLL, org = req's transmit timestamp, and rec and xmt the
 * same (see ntp.c for why).  Nothing else says anything about our clock.
 */
void		 ntp_kod_rate(const struct ntp_packet *req,
		    struct ntp_packet *rep);

/*
 * The clock offset and round-trip delay, in seconds, from a client's four
 * timestamps (RFC 5905 section 8): t1 the request's transmit (the reply's
 * org), t2 the server's receive, t3 its transmit, t4 the reply's arrival.
 * Each difference is taken modulo 2^64 and read as signed, so that the
 * result is right across an era's wrap.
 */
void		 ntp_offset_delay(uint64_t t1, uint64_t t2, uint64_t t3,
		    uint64_t t4, double *offset, double *delay);

/* What a client makes of a reply. */
enum ntp_check {
	NTP_CHECK_OK,		/* a synchronized server's time */
	NTP_CHECK_UNSYNC,	/* LI 3, or stratum 0 or above 15 */
	NTP_CHECK_KOD,		/* a Kiss-o'-Death: no time in it */
	NTP_CHECK_MALFORMED,	/* not a server's reply to us */
};

/*
 * Whether p is a Kiss-o'-Death: stratum 0 and a reference ID of ASCII
 * capitals and digits (RFC 5905 section 7.4: "RATE", "DENY"...), padded
 * with NULs; an unsynchronized server's stratum 0 comes with refid 0.
 */
int		 ntp_is_kod(const struct ntp_packet *p);

/*
 * Judge the datagram buf[0..len) as the reply to a request of ours: decode
 * it into *rep and say what it is.  sent holds the transmit timestamps of
 * our nsent requests (one per try): a reply's origin must be one of them,
 * or it answers someone else, or no one.  A reply is malformed when it is
 * short, not mode 4, of version 0 or above 4, or has no receive or
 * transmit timestamp (then *why says which, a static sentence; else
 * *why is NULL).
 */
enum ntp_check	 ntp_check_reply(const void *buf, size_t len,
		    const uint64_t *sent, size_t nsent, struct ntp_packet *rep,
		    const char **why);

/*
 * The reference ID as text into buf (at least 16 bytes): the four ASCII
 * letters of a KoD or a stratum-1 source ("RATE", "GPS"), else a dotted
 * quad.  Returns buf.
 */
char		*ntp_refid_str(uint32_t refid, int stratum, char *buf,
		    size_t len);

#endif /* STAMP_NTP_H */
