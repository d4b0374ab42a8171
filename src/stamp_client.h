/*
 * stamp_client.h: what the client's steps share: its command line as
 * stamp.c's parse leaves it, reaching the server, and what is printed of
 * a result: a line of text, or with --json one JSON object.
 *
 * For the client only (stamp.c and its stamp_*.c).  This is the client's
 * voice, so unlike the modules below it, it prints: the time to stdout,
 * with -v the raw reply to stderr, and a failure to reach the server as
 * stamp's one message before it exits 1 (with --json, an object saying
 * it on stdout too).
 */
#ifndef STAMP_STAMP_CLIENT_H
#define STAMP_STAMP_CLIENT_H

#include <stddef.h>
#include <time.h>

#include "stamp_query.h"

/* The command line, as parse leaves it. */
struct stamp_client_args {
	const char		*host;		/* operands, or loopback */
	int			 port;		/* -p or operand; -1: proto's */
	int			 proto;		/* -P */
	int			 ntp;		/* -P ntp or -P nts */
	int			 nts;		/* -P nts */
	const char		*ca;		/* --ca; NULL: the system's */
	int			 unsynced;	/* --unsynced */
	int			 family;	/* -4, -6, or AF_UNSPEC */
	int			 udp;		/* -T udp (or -u) */
	int			 transported;	/* -T (or -u) was given */
	int			 json;		/* --json */
	int			 retries;	/* -r */
	long long		 timeout_ms;	/* -t, as a duration */
	int			 quiet;		/* -q */
	int			 verbose;	/* -v */
	const char		*lspec;		/* -l, or NULL */
	const char		*ifname;	/* --interface, or NULL */
	long long		 count;		/* -n; 0: for ever */
	int			 timed;		/* -t was given */
	int			 retried;	/* -r was given */
};

/*
 * Resolve the server of a and make the exchange with it over a's
 * transport, all before the deadline of -t; q->request is left as the
 * caller set it.  Writes the server's address into where (NET_ADDRSTRLEN
 * bytes); with -v says what it tries, and shows the raw reply.  Any
 * failure is printed and ends the program with status 1.
 */
void		 stamp_client_reach(struct stamp_query *q,
		    const struct stamp_client_args *a, char *where);

/*
 * The two halves of reach for a step that makes its own exchange (-P
 * nts).  stamp_client_resolve resolves q->host and q->port, of q->family
 * and q->type, before q->deadline, and writes the address into where
 * (NET_ADDRSTRLEN bytes); stamp_client_fail says why the exchange with
 * where failed (errno; ETIMEDOUT as -t's time).  Both end the program with
 * status 1 on a failure, as reach does.
 */
void		 stamp_client_resolve(struct stamp_query *q,
		    const struct stamp_client_args *a, char *where);
void		 stamp_client_fail(const struct stamp_client_args *a,
		    const char *where) __attribute__((noreturn));

/* What a server told, for the line or the object that shows it. */
struct stamp_client_result {
	long long		 t;		/* Unix time, whole seconds */
	double			 offset;	/* its clock less ours, s */
	int			 digits;	/* of offset and delay */
	double			 delay;		/* NTP's round trip; < 0:
						   none */
	int			 stratum;	/* NTP's; -1: none */
	const char		*leap;		/* NTP's indicator, or NULL */
	int			 authenticated;	/* NTS verified the reply */
	const char		*note;		/* said last in the line, or
						   NULL */
	int			 announcement;	/* heard with -l, not asked */
	const char		*transport;	/* "tcp" or "udp" */
};

/*
 * Print r, told by where: a line of text (with -q only the time), or with
 * --json one JSON object.  Each is flushed as it comes: whoever reads us
 * may be waiting for it.  A failed stdout ends the program.
 */
void		 stamp_client_show(const struct stamp_client_args *a,
		    const struct stamp_client_result *r, const char *where);

/*
 * The same for a protocol of whole seconds: t with the offset in seconds,
 * how its transport ("tcp", "udp", or "udp announcement" for -l).
 */
void		 stamp_client_show_seconds(const struct stamp_client_args *a,
		    long long t, double offset, const char *where,
		    const char *how);

/*
 * Say why the exchange with where (the address; NULL: not resolved yet)
 * failed, as the one line on stderr, and with --json as an object on
 * stdout; returns status, the exit status it means, for the caller to
 * return.
 */
int		 stamp_client_error(const struct stamp_client_args *a,
		    const char *where, int status, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));

/*
 * With --json, make sure that a run that ends in a failure said so on
 * stdout: a failure that a step prints itself (the TLS of -P nts, the
 * socket of -l) leaves an object naming the exit status, the reason being
 * on stderr.  Called once, after the command line is read.
 */
void		 stamp_client_json_guard(const struct stamp_client_args *a);

/*
 * Write the n bytes of s into out as a C string literal, quotes included;
 * out holds 4n + 3.  Returns out.
 */
char		*stamp_client_escape(const char *s, size_t n, char *out);

/* ts in seconds. */
double		 stamp_client_seconds(const struct timespec *ts);

#endif /* STAMP_STAMP_CLIENT_H */
