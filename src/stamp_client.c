/*
 * stamp_client.c: the client's voice and its way to the server: reach
 * resolves and asks within -t, or says why not and exits; show prints the
 * line of a time.  See stamp_client.h.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "net.h"
#include "stamp_client.h"
#include "stamp_query.h"
#include "wire.h"

void
stamp_client_resolve(struct stamp_query *q, const struct stamp_client_args *a,
    char *where)
{
	int	 gai;

	if ((gai = stamp_query_resolve(q)) != 0 && gai == EAI_AGAIN &&
	    errno == ETIMEDOUT)
		fatalx("%s: timed out after %gs", q->host,
		    a->timeout_ms / 1000.0);
	if (gai != 0)
		fatalx("%s: %s", q->host, gai == EAI_SYSTEM ?
		    strerror(errno) : gai_strerror(gai));
	net_addr_str((struct sockaddr *)&q->addr, where, NET_ADDRSTRLEN);
}

void
stamp_client_fail(const struct stamp_client_args *a, const char *where)
{
	if (errno == ETIMEDOUT)
		fatalx("%s: timed out after %gs", where,
		    a->timeout_ms / 1000.0);
	fatal("%s", where);
}

void
stamp_client_reach(struct stamp_query *q, const struct stamp_client_args *a,
    char *where)
{
	static char	 raw[4 * (STAMP_QUERY_LIMIT + 1) + 3];
	const char	*tname = a->udp ? "udp" : "tcp";

	q->host = a->host;
	snprintf(q->port, sizeof q->port, "%d", a->port);
	q->family = a->family;
	q->type = a->udp ? SOCK_DGRAM : SOCK_STREAM;
	q->retries = a->retries;
	stamp_query_deadline(&q->deadline, CLOCK_MONOTONIC, a->timeout_ms);
	stamp_client_resolve(q, a, where);
	if (a->verbose)
		log_info("trying %s (%s/%s)", where,
		    wire_proto_name(a->proto), tname);
	if ((q->type == SOCK_STREAM ? stamp_query_tcp(q) :
	    stamp_query_udp(q)) == -1)
		stamp_client_fail(a, where);
	if (a->verbose)
		fprintf(stderr, "stamp: %s: reply of %zu bytes: %s\n", where,
		    q->len, stamp_client_escape(q->reply, q->len <
		    sizeof q->reply ? q->len : sizeof q->reply, raw));
}

char *
stamp_client_escape(const char *s, size_t n, char *out)
{
	char	*p = out;
	size_t	 i;
	int	 c;

	*p++ = '"';
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '\r' || c == '\n' || c == '\t') {
			*p++ = '\\';
			*p++ = c == '\r' ? 'r' : c == '\n' ? 'n' : 't';
		} else if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c >= 0x20 && c < 0x7f)
			*p++ = (char)c;
		else
			p += sprintf(p, "\\x%02x", c);
	}
	*p++ = '"';
	*p = '\0';
	return out;
}

double
stamp_client_seconds(const struct timespec *ts)
{
	return (double)ts->tv_sec + ts->tv_nsec / 1e9;
}

void
stamp_client_show(const struct stamp_client_args *a, long long t,
    const char *offset, const char *where, const char *how)
{
	struct wire_tm	 tm;

	if (a->quiet)
		printf("%lld\n", t);
	else {
		wire_civil(t, &tm);
		printf("%lld %04lld-%02d-%02d %02d:%02d:%02d UTC offset %s "
		    "from %s (%s/%s)\n", t, tm.year, tm.mon, tm.mday, tm.hour,
		    tm.min, tm.sec, offset, where, wire_proto_name(a->proto),
		    how);
	}
	if (fflush(stdout) == EOF || ferror(stdout))
		fatal("stdout");
}

void
stamp_client_show_seconds(const struct stamp_client_args *a, long long t,
    double offset, const char *where, const char *how)
{
	char	 text[64];

	snprintf(text, sizeof text, "%+.3fs", offset);
	stamp_client_show(a, t, text, where, how);
}
