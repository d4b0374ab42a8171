/*
 * metrics.c: judge an HTTP request for /metrics, and write the answer.
 *
 * The request is read as data: a request line and header lines, each
 * checked for its shape, and nothing else believed.  The page follows
 * Prometheus's text exposition format 0.0.4: a HELP and a TYPE line per
 * metric, counters ending in _total, the histogram's buckets cumulative.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"
#include "wire.h"

/*
 * The histogram's upper bounds, in microseconds; the last is +Inf.  A
 * reply takes a few microseconds from accept: the first buckets tell them
 * apart, the last ones catch a stall.
 */
static const long long le_us[METRICS_NBUCKETS - 1] = {
	1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000,
	50000, 100000, 1000000, 10000000,
};

int
metrics_bucket(long long us)
{
	int	 i;

	for (i = 0; i < METRICS_NBUCKETS - 1; i++)
		if (us <= le_us[i])
			return i;
	return METRICS_NBUCKETS - 1;
}

/* The decimal number in [p, end) into *v: digits only, no overflow. */
static int
number(const char *p, const char *end, unsigned long long *v)
{
	unsigned int	 d;

	if (p == end)
		return -1;
	for (*v = 0; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		d = (unsigned int)(*p - '0');
		if (*v > (ULLONG_MAX - d) / 10)
			return -1;
		*v = *v * 10 + d;
	}
	return 0;
}

int
metrics_stat(const char *buf, size_t len, struct metrics_stat *st)
{
	const char		*p = NULL, *end = buf + len, *tok, *q;
	unsigned long long	 n;
	int			 field;

	/* The name, in parentheses, may hold ") (": the last one ends it. */
	for (q = buf; q < end; q++)
		if (*q == ')')
			p = q + 1;
	if (p == NULL)
		return -1;
	memset(st, 0, sizeof *st);
	/* proc(5)'s fields, counted from 1: the state is the third. */
	for (field = 3; field <= 24; field++) {
		while (p < end && *p == ' ')
			p++;
		for (tok = p; p < end && *p != ' ' && *p != '\n'; p++)
			;
		if (tok == p)
			return -1;
		if ((field == 4 || (field >= 14 && field <= 17) ||
		    field >= 22) && number(tok, p, &n) == -1)
			return -1;
		if (field == 4)
			st->ppid = (long long)n;
		else if (field >= 14 && field <= 17)
			st->ticks += n;
		else if (field == 22)
			st->starttime = n;
		else if (field == 23)
			st->vsize = n;
		else if (field == 24)
			st->rss = n;
	}
	return 0;
}

/* The end of the head (just past its empty line), or NULL. */
static const char *
head_end(const char *buf, size_t len)
{
	size_t	 i;

	for (i = 0; i + 1 < len; i++) {
		if (buf[i] == '\n' && buf[i + 1] == '\n')
			return buf + i + 2;
		if (i + 3 < len && memcmp(buf + i, "\r\n\r\n", 4) == 0)
			return buf + i + 4;
	}
	return NULL;
}

/* Whether the header lines in [p, end) each have a name and a colon. */
static int
headers_ok(const char *p, const char *end)
{
	const char	*eol, *colon;

	for (; p < end; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return 0;
		if (eol == p || (eol == p + 1 && *p == '\r'))
			return 1;	/* the empty line */
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon == NULL || colon == p)
			return 0;
	}
	return 0;
}

/* The request line's status: METRICS_OK, or a refusal. */
static int
request_line(const char *p, const char *eol, int *head)
{
	const char	*sp1, *sp2, *q;
	size_t		 n;

	if ((sp1 = memchr(p, ' ', (size_t)(eol - p))) == NULL || sp1 == p)
		return 400;
	if ((sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1))) == NULL)
		return 400;
	for (q = p; q < sp1; q++)
		if (*q < 'A' || *q > 'Z')
			return 400;
	n = (size_t)(eol - sp2 - 1);
	if (n > 0 && sp2[n] == '\r')
		n--;
	if (n < 5 || memcmp(sp2 + 1, "HTTP/", 5) != 0)
		return 400;
	if (n != 8 || (memcmp(sp2 + 1, "HTTP/1.0", 8) != 0 &&
	    memcmp(sp2 + 1, "HTTP/1.1", 8) != 0))
		return 505;
	*head = sp1 - p == 4 && memcmp(p, "HEAD", 4) == 0;
	if (!*head && (sp1 - p != 3 || memcmp(p, "GET", 3) != 0))
		return 405;
	if (sp1[1] != '/')
		return 400;
	n = strcspn(sp1 + 1, "? ");
	if (n != 8 || memcmp(sp1 + 1, "/metrics", 8) != 0)
		return 404;
	return METRICS_OK;
}

/* Whether [p, end) holds a control byte other than CR, LF and tab. */
static int
has_control(const char *p, const char *end)
{
	for (; p < end; p++)
		if ((unsigned char)*p < ' ' && *p != '\r' && *p != '\n' &&
		    *p != '\t')
			return 1;
	return 0;
}

int
metrics_request(const char *buf, size_t len, int *head)
{
	const char	*end, *eol;
	int		 status;

	*head = 0;
	if (memchr(buf, '\0', len) != NULL)
		return 400;
	/*
	 * The request line is judged as soon as it is whole: a line that
	 * refuses the request (one without a version, HTTP/0.9's shape, is
	 * the common one) refuses it whatever follows, so the client is
	 * told at once instead of waiting for an empty line it may never
	 * send.  A verdict, once given, stays as more bytes come.
	 */
	if ((eol = memchr(buf, '\n', len)) == NULL)
		return len >= METRICS_REQUEST_MAX ? 431 : METRICS_NEED_MORE;
	if (has_control(buf, eol))
		return 400;
	if ((status = request_line(buf, eol, head)) != METRICS_OK) {
		*head = 0;
		return status;
	}
	if ((end = head_end(buf, len)) == NULL) {
		*head = 0;
		return len >= METRICS_REQUEST_MAX ? 431 : METRICS_NEED_MORE;
	}
	if (has_control(eol, end) || !headers_ok(eol + 1, end)) {
		*head = 0;
		return 400;
	}
	return METRICS_OK;
}

/* Text appended to a bounded buffer; overflow is remembered. */
struct out {
	char	*buf;
	size_t	 len, n;
	int	 full;
};

static void __attribute__((format(printf, 2, 3)))
put(struct out *o, const char *fmt, ...)
{
	va_list	 ap;
	int	 r;

	if (o->full)
		return;
	va_start(ap, fmt);
	r = vsnprintf(o->buf + o->n, o->len - o->n, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= o->len - o->n)
		o->full = 1;
	else
		o->n += (size_t)r;
}

/* A metric's HELP and TYPE lines. */
static void
meta(struct out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
counter(struct out *o, const char *name, const char *help,
    unsigned long long v)
{
	meta(o, name, "counter", help);
	put(o, "%s %llu\n", name, v);
}

static void
gauge(struct out *o, const char *name, const char *help,
    unsigned long long v)
{
	meta(o, name, "gauge", help);
	put(o, "%s %llu\n", name, v);
}

/* A label's value, its backslashes, quotes and newlines escaped. */
static void
label(struct out *o, const char *v)
{
	for (; *v != '\0'; v++)
		if (*v == '\\' || *v == '"')
			put(o, "\\%c", *v);
		else if (*v == '\n')
			put(o, "\\n");
		else
			put(o, "%c", *v);
}

/*
 * A counter family with one label, key: its HELP and TYPE lines, then for
 * each of the n values v[i] a sample whose label is names[i].  The names
 * are ours, constants that need no escaping.
 */
static void
family(struct out *o, const char *name, const char *help, const char *key,
    const char *const *names, const unsigned long long *v, int n)
{
	int	 i;

	meta(o, name, "counter", help);
	for (i = 0; i < n; i++)
		put(o, "%s{%s=\"%s\"} %llu\n", name, key, names[i], v[i]);
}

static void
page_listeners(struct out *o, const struct metrics_view *v)
{
	const struct metrics_listener	*l;
	size_t				 i;

	meta(o, "stampd_accepted_total", "counter",
	    "TCP connections accepted, by listener.");
	for (i = 0; i < v->nls; i++) {
		if (!(l = &v->ls[i])->stream)
			continue;
		put(o, "stampd_accepted_total{listener=\"");
		label(o, l->name);
		put(o, "\"} %llu\n", l->accepted);
	}
	meta(o, "stampd_replies_total", "counter",
	    "Replies sent whole, by listener, its transport and protocol.");
	for (i = 0; i < v->nls; i++) {
		if ((l = &v->ls[i])->proto < 0)
			continue;
		put(o, "stampd_replies_total{listener=\"");
		label(o, l->name);
		put(o, "\",transport=\"%s\",protocol=\"%s\"} %llu\n",
		    l->stream ? "tcp" : "udp", wire_proto_name(l->proto),
		    l->replies);
	}
}

static void
page_limits(struct out *o, const struct metrics_view *v)
{
	static const char *const kind[METRICS_NANNOUNCE] = { "multicast",
	    "broadcast", "unicast" };

	meta(o, "stampd_limited_total", "counter",
	    "Clients refused by a limit, by transport and limit: TCP "
	    "connections by max-conns (and a metrics listener's own), per-ip "
	    "and rate, UDP datagrams by udp-rate.");
	put(o, "stampd_limited_total{transport=\"tcp\",limit=\"max-conns\"} "
	    "%llu\n"
	    "stampd_limited_total{transport=\"tcp\",limit=\"per-ip\"} %llu\n"
	    "stampd_limited_total{transport=\"tcp\",limit=\"rate\"} %llu\n"
	    "stampd_limited_total{transport=\"udp\",limit=\"udp-rate\"} "
	    "%llu\n",
	    v->limited_max_conns, v->limited_per_ip, v->limited_rate,
	    v->limited_udp_rate);
	family(o, "stampd_announcements_total", "Announcements sent unasked "
	    "(--announce), by the kind of address.", "kind", kind,
	    v->announced, METRICS_NANNOUNCE);
	counter(o, "stampd_announce_failures_total", "Announcements that "
	    "could not be sent.", v->announce_failed);
}

static void
page_ntp(struct out *o, const struct metrics_view *v)
{
	const char	*verdict[NTP_NVERDICT];
	int		 i;

	for (i = 0; i < NTP_NVERDICT; i++)
		verdict[i] = ntp_verdict_name(i);
	family(o, "stampd_ntp_requests_total", "NTP datagrams judged, by what "
	    "was done: answer, or why not.", "verdict", verdict, v->ntp,
	    NTP_NVERDICT);
}

static void
page_nts(struct out *o, const struct metrics_view *v)
{
	static const char *const ke[METRICS_NKE] = { "tls_version", "alpn",
	    "handshake", "bad_request", "gone" };
	static const char *const nts[METRICS_NNTS] = { "ok", "nak_cookie",
	    "nak_auth", "malformed", "plain_refused" };

	counter(o, "stampd_nts_ke_sessions_total", "NTS key establishments "
	    "answered with cookies or a refusal record.", v->ke_ok);
	family(o, "stampd_nts_ke_failures_total", "NTS key establishments "
	    "that failed, by why.", "reason", ke, v->ke_refused, METRICS_NKE);
	counter(o, "stampd_nts_cookies_issued_total", "NTS cookies issued, "
	    "by key establishment and in NTP replies.", v->cookies);
	family(o, "stampd_nts_requests_total", "NTP requests with NTS fields "
	    "(and plain ones --nts-only refused), by result.", "result", nts,
	    v->nts, METRICS_NNTS);
}

static void
page_latency(struct out *o, const struct metrics_view *v)
{
	unsigned long long	 cum = 0;
	int			 i;

	meta(o, "stampd_reply_seconds", "histogram",
	    "Time from accept to the TCP reply sent, resolved to the "
	    "microsecond.");
	for (i = 0; i < METRICS_NBUCKETS - 1; i++) {
		cum += v->bucket[i];
		put(o, "stampd_reply_seconds_bucket{le=\"%g\"} %llu\n",
		    (double)le_us[i] / 1e6, cum);
	}
	cum += v->bucket[i];
	put(o, "stampd_reply_seconds_bucket{le=\"+Inf\"} %llu\n", cum);
	put(o, "stampd_reply_seconds_sum %.6f\n", (double)v->latency_us / 1e6);
	put(o, "stampd_reply_seconds_count %llu\n", cum);
}

/*
 * The families the Prometheus client libraries export for a process, but
 * for stampd's processes together: the main one and its children (the
 * fork, prefork and dynamic models' workers).
 */
static void
page_process(struct out *o, const struct metrics_process *p)
{
	if (!p->known)
		return;
	meta(o, "process_cpu_seconds_total", "counter", "Total user and "
	    "system CPU time spent in seconds, by stampd's main process and "
	    "its children, live and gone.");
	put(o, "process_cpu_seconds_total %.2f\n", p->cpu_seconds);
	gauge(o, "process_open_fds", "Number of open file descriptors, of "
	    "stampd's main process and its children summed.", p->open_fds);
	gauge(o, "process_max_fds", "Maximum number of open file descriptors, "
	    "of each process.", p->max_fds);
	gauge(o, "process_resident_memory_bytes", "Resident memory size in "
	    "bytes, of stampd's main process and its children summed (pages "
	    "they share counted in each).", p->rss);
	gauge(o, "process_virtual_memory_bytes", "Virtual memory size in "
	    "bytes, of stampd's main process and its children summed.",
	    p->vsize);
	meta(o, "process_start_time_seconds", "gauge", "Start time of "
	    "stampd's main process since unix epoch in seconds.");
	put(o, "process_start_time_seconds %.2f\n", p->start);
}

static void
page(struct out *o, const struct metrics_view *v)
{
	meta(o, "stampd_build_info", "gauge", "The version, whether it was "
	    "built with GnuTLS (NTS) and liburing, and the model that runs.");
	put(o, "stampd_build_info{version=\"%s\",tls=\"%s\",uring=\"%s\","
	    "model=\"%s\"} 1\n", v->version, v->tls ? "gnutls" : "none",
	    v->uring ? "yes" : "no", v->model);
	page_process(o, &v->proc);
	meta(o, "stampd_start_time_seconds", "gauge",
	    "When stampd started, in Unix time.");
	put(o, "stampd_start_time_seconds %lld\n", v->start);
	gauge(o, "stampd_workers", "Processes or threads serving now.",
	    v->workers);
	gauge(o, "stampd_connections_open", "TCP connections accepted and not "
	    "yet closed.", v->accepted > v->closed ?
	    v->accepted - v->closed : 0);
	page_listeners(o, v);
	page_limits(o, v);
	counter(o, "stampd_udp_dropped_total", "Datagrams not answered: a "
	    "port no reply may go to, a reply, a forged source.", v->dropped);
	counter(o, "stampd_shed_total", "Connections shed: taken and "
	    "closed while out of file descriptors, or the oldest waiting for "
	    "a first byte past its bound.", v->shed);
	counter(o, "stampd_short_total", "Replies cut short.",
	    v->short_replies);
	counter(o, "stampd_resets_total", "Clients that reset or aborted.",
	    v->resets);
	counter(o, "stampd_errors_total", "Other failures of a system call.",
	    v->errors);
	counter(o, "stampd_bad_proxy_headers_total", "PROXY headers refused.",
	    v->bad_headers);
	counter(o, "stampd_linger_timeouts_total", "Connections closed "
	    "while their client still sent.", v->linger_timeouts);
	counter(o, "stampd_scrapes_total", "Answers of this page.",
	    v->scrapes);
	counter(o, "stampd_access_log_dropped_total", "Access log lines "
	    "(-v) dropped over its budget of lines a second.",
	    v->access_dropped);
	page_ntp(o, v);
	page_nts(o, v);
	page_latency(o, v);
}

static const char *
reason(int status)
{
	switch (status) {
	case 200:	return "OK";
	case 404:	return "Not Found";
	case 405:	return "Method Not Allowed";
	case 431:	return "Request Header Fields Too Large";
	case 505:	return "HTTP Version Not Supported";
	default:	return "Bad Request";
	}
}

int
metrics_answer(int status, int head, const struct metrics_view *v,
    char *buf, size_t len)
{
	struct out	 body = { NULL, 0, 0, 0 }, all = { buf, len, 0, 0 };
	char		 text[METRICS_PAGE_MAX];

	body.buf = text;
	body.len = sizeof text;
	if (status == METRICS_OK)
		page(&body, v);
	else
		put(&body, "%d %s: this is stampd's /metrics, for GET.\n",
		    status, reason(status));
	put(&all, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; "
	    "version=0.0.4; charset=utf-8\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n", status, reason(status), body.n);
	if (!head)
		put(&all, "%.*s", (int)body.n, text);
	return body.full || all.full ? -1 : (int)all.n;
}
