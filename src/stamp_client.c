/*
 * stamp_client.c: the client's voice and its way to the server: reach
 * resolves and asks within -t, or says why not and exits; show prints a
 * result as a line or, with --json, as a JSON object; error says a
 * failure both ways.  See stamp_client.h.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "net.h"
#include "stamp_client.h"
#include "stamp_query.h"
#include "wire.h"

/* Whether an object has said a failure on stdout (--json). */
static int	 json_failed;

/* s as a JSON string, or null: escaped, bytes past ASCII as Latin-1. */
static void
json_str(const char *s)
{
	const unsigned char	*p;

	if (s == NULL) {
		fputs("null", stdout);
		return;
	}
	putchar('"');
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	putchar('"');
}

/* What --json calls the protocol: -P's name. */
static const char *
json_proto(const struct stamp_client_args *a)
{
	return a->nts ? "nts" : wire_proto_name(a->proto);
}

/* The end of a result: flushed, or the end of the program. */
static void
out_flush(void)
{
	if (fflush(stdout) == EOF || ferror(stdout))
		fatal("stdout");
}

/*
 * One object for a failure: every key of a result's, null, and the
 * reason.  NTS's two exchanges are over two transports: null; -l hears
 * over UDP.
 */
static void
json_error(const struct stamp_client_args *a, const char *where, int status,
    const char *why)
{
	fputs("{\"host\": ", stdout);
	json_str(a->lspec != NULL ? NULL : a->host);
	fputs(", \"server\": ", stdout);
	json_str(where);
	fputs(", \"protocol\": ", stdout);
	json_str(json_proto(a));
	fputs(", \"transport\": ", stdout);
	json_str(a->nts ? NULL : a->udp || a->lspec != NULL ? "udp" : "tcp");
	fputs(", \"time\": null, \"offset\": null, \"delay\": null, "
	    "\"stratum\": null, \"leap\": null, \"authenticated\": null, "
	    "\"error\": ", stdout);
	json_str(why);
	printf(", \"status\": %d}\n", status);
	json_failed = 1;
	/* The failure is said on stderr too, whatever stdout does. */
	fflush(stdout);
}

int
stamp_client_error(const struct stamp_client_args *a, const char *where,
    int status, const char *fmt, ...)
{
	char	 why[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	if (a->json)
		json_error(a, where, status, why);
	log_warnx("%s", why);
	return status;
}

/* A failure that ends the program, said as error says it; exit 1. */
static void __attribute__((format(printf, 3, 4), noreturn))
die(const struct stamp_client_args *a, const char *where, const char *fmt,
    ...)
{
	char	 why[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	if (a->json)
		json_error(a, where, 1, why);
	fatalx("%s", why);
}

/* on_exit's: a failure no object said yet, said now with its status. */
static void
json_guard(int status, void *arg)
{
	const struct stamp_client_args	*a = arg;

	if (status == 0 || json_failed || ferror(stdout))
		return;
	json_error(a, NULL, status, "failed: the reason is on standard "
	    "error");
}

void
stamp_client_json_guard(const struct stamp_client_args *a)
{
	if (a->json && on_exit(json_guard, (void *)a) != 0)
		fatalx("on_exit failed");
}

void
stamp_client_resolve(struct stamp_query *q, const struct stamp_client_args *a,
    char *where)
{
	int	 gai;

	if ((gai = stamp_query_resolve(q)) != 0 && gai == EAI_AGAIN &&
	    errno == ETIMEDOUT)
		die(a, NULL, "%s: timed out after %gs", q->host,
		    a->timeout_ms / 1000.0);
	if (gai != 0)
		die(a, NULL, "%s: %s", q->host, gai == EAI_SYSTEM ?
		    strerror(errno) : gai_strerror(gai));
	net_addr_str((struct sockaddr *)&q->addr, where, NET_ADDRSTRLEN);
}

void
stamp_client_fail(const struct stamp_client_args *a, const char *where)
{
	if (errno == ETIMEDOUT)
		die(a, where, "%s: timed out after %gs", where,
		    a->timeout_ms / 1000.0);
	die(a, where, "%s: %s", where, strerror(errno));
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

static void
json_show(const struct stamp_client_args *a,
    const struct stamp_client_result *r, const char *where)
{
	fputs("{\"host\": ", stdout);
	json_str(r->announcement ? NULL : a->host);
	fputs(", \"server\": ", stdout);
	json_str(where);
	fputs(", \"protocol\": ", stdout);
	json_str(json_proto(a));
	fputs(", \"transport\": ", stdout);
	json_str(r->transport);
	printf(", \"time\": %lld, \"offset\": %.*f, \"delay\": ", r->t,
	    r->digits, r->offset);
	if (r->delay >= 0)
		printf("%.*f", r->digits, r->delay);
	else
		fputs("null", stdout);
	if (r->stratum >= 0)
		printf(", \"stratum\": %d", r->stratum);
	else
		fputs(", \"stratum\": null", stdout);
	fputs(", \"leap\": ", stdout);
	json_str(r->leap);
	printf(", \"authenticated\": %s", !a->ntp ? "null" :
	    r->authenticated ? "true" : "false");
	if (a->lspec != NULL)
		printf(", \"announcement\": %s", r->announcement ? "true" :
		    "false");
	fputs(", \"error\": null}\n", stdout);
}

void
stamp_client_show(const struct stamp_client_args *a,
    const struct stamp_client_result *r, const char *where)
{
	struct wire_tm	 tm;

	if (a->json)
		json_show(a, r, where);
	else if (a->quiet)
		printf("%lld\n", r->t);
	else {
		wire_civil(r->t, &tm);
		printf("%lld %04lld-%02d-%02d %02d:%02d:%02d UTC offset %+.*fs",
		    r->t, tm.year, tm.mon, tm.mday, tm.hour, tm.min, tm.sec,
		    r->digits, r->offset);
		if (r->delay >= 0)
			printf(" delay %.*fs", r->digits, r->delay);
		printf(" from %s (%s/%s%s", where, wire_proto_name(a->proto),
		    r->transport, r->announcement ? " announcement" : "");
		if (r->stratum >= 0)
			printf(", stratum %d, leap %s", r->stratum, r->leap);
		printf("%s%s)\n", r->note != NULL ? ", " : "",
		    r->note != NULL ? r->note : "");
	}
	out_flush();
}

void
stamp_client_show_seconds(const struct stamp_client_args *a, long long t,
    double offset, const char *where, const char *how)
{
	struct stamp_client_result	 r;

	memset(&r, 0, sizeof r);
	r.t = t;
	r.offset = offset;
	r.digits = 3;
	r.delay = -1;
	r.stratum = -1;
	/* -l's announcements are heard over UDP: "udp announcement". */
	r.announcement = strcmp(how, "udp announcement") == 0;
	r.transport = r.announcement ? "udp" : how;
	stamp_client_show(a, &r, where);
}
