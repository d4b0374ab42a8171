/*
 * proto.h: what the server and its clients agree on.
 *
 * The lesson's proto.h held the port and the reply format; this one adds
 * the two standard time services that inetd has always served, so that
 * stampd, stamp and stampbench speak all three from one set of numbers.
 */
#ifndef STAMP_PROTO_H
#define STAMP_PROTO_H

#include <stddef.h>
#include <time.h>

/* The lesson's service: one line, the Unix time in decimal, then CRLF. */
#define STAMP_PORT		1937
#define STAMP_FMT		"%lld\r\n"

/* RFC 868 Time: 32 bits, big-endian, seconds since 1900-01-01 00:00 UTC. */
#define STAMP_TIME_PORT		37
#define STAMP_TIME_LEN		4
#define STAMP_EPOCH_1900	2208988800LL	/* 1900 to 1970, in seconds */

/* RFC 867 Daytime: a human-readable line; we send ctime(3)'s, as inetd. */
#define STAMP_DAYTIME_PORT	13

/* RFC 5905 NTP: 48 bytes of header each way, over UDP only (ntp.h). */
#define STAMP_NTP_PORT		123

/* RFC 8915 NTS Key Establishment: TLS 1.3 over TCP only (ntske.h). */
#define STAMP_NTSKE_PORT	4460

/* The longest reply to a stream of stamp, time or daytime. */
#define STAMP_REPLY_MAX		64

enum stamp_proto {
	STAMP_PROTO_STAMP,
	STAMP_PROTO_TIME,
	STAMP_PROTO_DAYTIME,
	STAMP_PROTO_NTP,
	STAMP_PROTO_NTSKE,
};
#define STAMP_NPROTO		5

#define STAMP_VERSION		"0.1.0"

/*
 * What stampd does for a protocol: a row each, in one table (proto.c),
 * indexed by enum stamp_proto.  A new protocol is a file of its own with
 * its row, and nothing else in the daemon branches on which protocol it is.
 */
struct listener;
struct server;
struct stats;

/* A request as a row sees it. */
struct proto_req {
	const char		*buf;	/* a datagram's first bytes; NULL */
	size_t			 len;	/* on a stream, which sends none */
	int			 trunc;	/* the datagram was longer than len */
	const struct timespec	*rx;	/* when it arrived, by the kernel's
					   clock; NULL if unknown */
	int			 sent_read;	/* every transmit time the
					   kernel had queued is read */
	struct stats		*st;	/* the slot to count in */
	const char		**result; /* where the row may say, in a
					   word, what it made of it for -v's
					   line (left as is: "ok"); NULL */
};

/*
 * What reply returns when rq names one of our replies whose departure is
 * not known yet and may still wait in the kernel's queue (an interleaved
 * NTP client asks again as soon as it has its reply): the caller reads
 * those times (serve_tx_stamps) and asks again with sent_read set.
 */
#define PROTO_LATER	(-2)

struct proto {
	const char	*name;
	int		 low_port;	/* a source port below 1024 that may
					   be answered (NTP's own 123), or 0 */
	int		 rx_time;	/* wants the kernel's receive time */
	/* Whether it wants the kernel's transmit time, for sent (or NULL). */
	int		(*tx_time)(void);
	/*
	 * Write the reply to rq into buf, which holds len bytes
	 * (STAMP_REPLY_MAX is enough).  Returns its length, 0 when rq gets
	 * none (the row has counted why), -1 when the clock cannot be
	 * written in the protocol, or PROTO_LATER (nothing counted yet).
	 * Never blocks, never allocates.
	 */
	int		(*reply)(const struct proto_req *rq, char *buf,
			    size_t len);
	/*
	 * Whether datagram req[0..len) is itself a reply of this protocol,
	 * which no server may answer: two of them would loop.
	 */
	int		(*is_reply)(const char *req, size_t len);
	/*
	 * The last touch to the reply in buf[0..len) before it is sent (the
	 * transmit time of NTP), or NULL.  Returns whether sent() wants to
	 * know when this reply left (with tx_time()).
	 */
	int		(*sending)(char *buf, size_t len);
	/*
	 * With tx_time(): the reply whose packet the kernel looped back in
	 * buf[0..len), headers first and the payload last, left at tx.
	 */
	void		(*sent)(const char *buf, size_t len,
			    const struct timespec *tx);
	/*
	 * A protocol that converses on a stream, reading before it writes
	 * (NTS-KE): go on with connection fd of listener l, new or readable
	 * again, as far as it can without waiting.  Returns what serve_stream
	 * returns (serve.h).  NULL for a protocol that only replies.
	 */
	int		(*converse)(const struct server *srv,
			    const struct listener *l, int fd, struct stats *st);
	/*
	 * Take what the row needs of srv, once, before serving (or NULL).
	 * Returns 0, or -1 with a sentence in *why.
	 */
	int		(*init)(const struct server *srv, const char **why);
	/* SIGHUP: reread what the row reads from files (or NULL). */
	void		(*reload)(void);
};

/* The row of protocol p (an enum stamp_proto); NULL if there is none. */
const struct proto	*proto_row(int p);


#endif /* STAMP_PROTO_H */
