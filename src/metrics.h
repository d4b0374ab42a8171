/*
 * metrics.h: what a metrics listener says, in Prometheus's text format.
 *
 * Pure: the request is judged from its bytes, and the page is written from
 * a snapshot of the counters; no I/O, no clock, no globals.  serve.c reads
 * the request off the socket and sends the page, the same way in every
 * model.
 */
#ifndef STAMP_METRICS_H
#define STAMP_METRICS_H

#include <stddef.h>

#include "ntp.h"
#include "proto.h"

#define METRICS_REQUEST_MAX	1024	/* a request's bytes, at most */
#define METRICS_PAGE_MAX	32768	/* the answer, headers and all */
#define METRICS_NBUCKETS	19	/* of the latency histogram */
#define METRICS_NLISTENERS	64	/* counted each apart (LISTEN_MAX) */
#define METRICS_NANNOUNCE	3	/* announcements: multicast, broadcast,
					   unicast (as enum announce_kind) */
#define METRICS_NKE		5	/* NTS-KE refusals: tls_version, alpn,
					   handshake, bad_request, gone */
#define METRICS_NNTS		5	/* NTS requests' results */

/* What a request asks for. */
#define METRICS_NEED_MORE	0	/* not whole yet: read on */
#define METRICS_OK		200	/* GET /metrics */

/*
 * Judge the request in buf[0..len).  A request line, once whole, is
 * judged at once: if it refuses the request, that status is the verdict
 * whatever follows, so a line without a version gets 400 without waiting
 * for an empty line.  Otherwise METRICS_NEED_MORE until the head (request
 * line and header lines, up to an empty line) is whole, then METRICS_OK
 * for a GET or HEAD of /metrics (a query string is ignored) in HTTP/1.0
 * or 1.1.  The refusals: 400 (not HTTP, a NUL or control byte, a bad
 * header line), 404 (another path), 405 (another method), 431 (len
 * reached METRICS_REQUEST_MAX with no end of head), 505 (another
 * version).  A verdict other than METRICS_NEED_MORE stays the same for
 * any longer buf that begins with these bytes.  *head says whether the
 * method was HEAD, for METRICS_OK.
 */
int	metrics_request(const char *buf, size_t len, int *head);

/* One listener's counts, and how the page names it. */
struct metrics_listener {
	const char		*name;		/* "tcp 127.0.0.1:1937 stamp" */
	int			 stream;	/* tcp (else udp) */
	int			 proto;		/* enum stamp_proto, or -1: a
						   metrics listener */
	unsigned long long	 accepted, replies;
};

/*
 * The daemon's processes, as the Prometheus client libraries' process_*
 * metrics describe a process: the main one and its children, summed.
 */
struct metrics_process {
	int			 known;		/* 0: /proc said nothing */
	double			 cpu_seconds;	/* user and system */
	double			 start;		/* the main one's, Unix time */
	unsigned long long	 open_fds, max_fds;
	unsigned long long	 rss, vsize;	/* bytes */
};

/* A snapshot of what the page shows. */
struct metrics_view {
	const char		*version;
	const char		*model;
	int			 tls, uring;	/* built with GnuTLS, uring */
	long long		 start;		/* Unix time, seconds */
	unsigned long long	 accepted, closed, workers;
	struct metrics_listener	 ls[METRICS_NLISTENERS];
	size_t			 nls;
	struct metrics_process	 proc;
	unsigned long long	 ntp[NTP_NVERDICT]; /* requests by verdict */
	unsigned long long	 limited_max_conns, limited_per_ip;
	unsigned long long	 limited_rate, limited_udp_rate;
	unsigned long long	 announced[METRICS_NANNOUNCE];
	unsigned long long	 announce_failed;
	unsigned long long	 dropped, shed, short_replies, resets;
	unsigned long long	 errors, bad_headers, linger_timeouts;
	unsigned long long	 scrapes;
	unsigned long long	 access_dropped; /* -v's lines over budget */
	/* NTS: key establishments answered, refused by why; cookies. */
	unsigned long long	 ke_ok, ke_refused[METRICS_NKE];
	unsigned long long	 cookies;
	/* NTS requests by result: ok, nak_cookie, nak_auth, malformed,
	   and plain ones refused by --nts-only. */
	unsigned long long	 nts[METRICS_NNTS];
	unsigned long long	 bucket[METRICS_NBUCKETS]; /* not cumulative */
	unsigned long long	 latency_us;	/* their sum */
};

/* The bucket of a latency of us microseconds (the last is +Inf). */
int	metrics_bucket(long long us);

/* What the page takes from a process's /proc/PID/stat. */
struct metrics_stat {
	long long		 ppid;
	unsigned long long	 ticks;		/* utime, stime, cutime and
						   cstime: clock ticks */
	unsigned long long	 starttime;	/* ticks after boot */
	unsigned long long	 vsize;		/* bytes */
	unsigned long long	 rss;		/* pages */
};

/*
 * Read the line of /proc/PID/stat in buf[0..len) into *st: the command's
 * name may hold spaces and parentheses, so the fields are counted from
 * the last ')'.  Returns 0, or -1 if a field is missing or not a number.
 */
int	metrics_stat(const char *buf, size_t len, struct metrics_stat *st);

/*
 * Write the HTTP answer with status (METRICS_OK: the page of v; anything
 * else: a short explanation) into buf of len bytes; head leaves the body
 * out.  Returns its length, or -1 if buf is too small.
 */
int	metrics_answer(int status, int head, const struct metrics_view *v,
	    char *buf, size_t len);

#endif /* STAMP_METRICS_H */
