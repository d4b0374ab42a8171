/*
 * metrics.c: the metrics listener's request reader and page, as tables.
 */
#include <stdio.h>
#include <string.h>

#include "metrics.h"
#include "tap.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const struct {
	const char	*req;
	int		 status;
	int		 head;
} cases[] = {
	{ "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",	200, 0 },
	{ "GET /metrics HTTP/1.0\n\n",			200, 0 },
	{ "HEAD /metrics HTTP/1.1\r\n\r\n",		200, 1 },
	{ "GET /metrics?name[]=x HTTP/1.1\r\n\r\n",	200, 0 },
	{ "GET /metrics HTTP/1.1\r\n",			0, 0 },
	{ "GET /met",					0, 0 },
	{ "",						0, 0 },
	{ "POST /metrics HTTP/1.1\r\n\r\n",		405, 0 },
	{ "GET / HTTP/1.1\r\n\r\n",			404, 0 },
	{ "GET /metricsx HTTP/1.1\r\n\r\n",		404, 0 },
	{ "GET /metrics HTTP/2.0\r\n\r\n",		505, 0 },
	{ "GET /metrics\r\n\r\n",			400, 0 },
	{ "get /metrics HTTP/1.1\r\n\r\n",		400, 0 },
	{ "GET metrics HTTP/1.1\r\n\r\n",		400, 0 },
	{ "GET /metrics HTTP/1.1\r\nno colon\r\n\r\n",	400, 0 },
	{ "GET /metrics HTTP/1.1\r\n: x\r\n\r\n",	400, 0 },
	{ "GET /metrics HTTP/1.1\r\nA: \001\r\n\r\n",	400, 0 },
	{ "SSH-2.0-OpenSSH_9.2\r\n\r\n",			400, 0 },
	/* A request line, once whole, is judged without the empty line. */
	{ "GET /metrics\r\n",				400, 0 },
	{ "GET /metrics\n",				400, 0 },
	{ "hello\r\n",					400, 0 },
	{ "hello",					0, 0 },
	{ "SSH-2.0-OpenSSH_9.2\r\n",			400, 0 },
	{ "GET / HTTP/1.1\r\n",				404, 0 },
	{ "POST /metrics HTTP/1.1\r\n",			405, 0 },
	{ "GET /metrics HTTP/2.0\r\n",			505, 0 },
	{ "GET /metrics HTTP/1.1\r\nHost: x\r\n",		0, 0 },
	{ "GET /\001 HTTP/1.1\r\n",			400, 0 },
	{ "GET / HTTP/1.1\r\nno colon\r\n\r\n",		404, 0 },
};

static void
t_requests(void)
{
	size_t	 i;
	int	 head, st;

	for (i = 0; i < NELEM(cases); i++) {
		st = metrics_request(cases[i].req, strlen(cases[i].req),
		    &head);
		is_int(st, cases[i].status, "request %zu: status", i);
		if (st == 200)
			is_int(head, cases[i].head, "request %zu: HEAD", i);
	}
}

/*
 * A verdict, once given, stays: every prefix of every request says
 * either "read on" or the verdict of the whole.
 */
static void
t_prefixes(void)
{
	size_t	 i, n, len;
	int	 head, st, whole, bad;

	for (i = 0; i < NELEM(cases); i++) {
		len = strlen(cases[i].req);
		whole = metrics_request(cases[i].req, len, &head);
		bad = 0;
		for (n = 0; n < len; n++) {
			st = metrics_request(cases[i].req, n, &head);
			if (st != METRICS_NEED_MORE && st != whole)
				bad++;
		}
		is_int(bad, 0, "request %zu: its prefixes agree", i);
	}
}

static void
t_full(void)
{
	char	 buf[METRICS_REQUEST_MAX];
	int	 head;

	memset(buf, 'a', sizeof buf);
	memcpy(buf, "GET /metrics HTTP/1.1\r\nX: ", 26);
	is_int(metrics_request(buf, sizeof buf - 1, &head), 0,
	    "a head one byte short of the buffer: read on");
	is_int(metrics_request(buf, sizeof buf, &head), 431,
	    "a full buffer with no end of head: 431");
	is_int(metrics_request("GET /\0 HTTP/1.1\r\n\r\n", 19, &head), 400,
	    "a NUL byte: 400");
}

static void
t_page(void)
{
	struct metrics_view	 v;
	char			 buf[METRICS_PAGE_MAX];
	int			 n;

	memset(&v, 0, sizeof v);
	v.version = "0.1.0";
	v.model = "prefork";
	v.tls = 1;
	v.accepted = 10;
	v.closed = 7;
	v.nls = 3;
	v.ls[0] = (struct metrics_listener){ "tcp 127.0.0.1:1937 stamp", 1,
	    STAMP_PROTO_STAMP, 9, 8 };
	v.ls[1] = (struct metrics_listener){ "udp [::1]:13 daytime", 0,
	    STAMP_PROTO_DAYTIME, 0, 5 };
	v.ls[2] = (struct metrics_listener){ "tcp 127.0.0.1:9137 metrics", 1,
	    -1, 1, 0 };
	v.limited_per_ip = 4;
	v.limited_udp_rate = 6;
	v.announced[1] = 60;
	v.announce_failed = 2;
	v.bucket[0] = 3;
	v.bucket[METRICS_NBUCKETS - 1] = 1;
	v.latency_us = 20000150;
	n = metrics_answer(200, 0, &v, buf, sizeof buf);
	ok(n > 0, "the page fits (%d bytes)", n);
	like(buf, "^HTTP/1.1 200 OK\r\n", "status line");
	like(buf, "\nstampd_connections_open 3\n", "open: accepted - closed");
	like(buf, "\nstampd_accepted_total\\{listener=\"tcp 127.0.0.1:1937 "
	    "stamp\"\\} 9\n", "accepted by listener");
	like(buf, "\nstampd_accepted_total\\{listener=\"tcp 127.0.0.1:9137 "
	    "metrics\"\\} 1\n", "a metrics listener's accepts too");
	ok(strstr(buf, "stampd_accepted_total{listener=\"udp") == NULL,
	    "no accepts for a UDP listener");
	like(buf, "\nstampd_replies_total\\{listener=\"udp \\[::1\\]:13 "
	    "daytime\",transport=\"udp\",protocol=\"daytime\"\\} 5\n",
	    "replies by listener, transport and protocol");
	ok(strstr(buf, "replies_total{listener=\"tcp 127.0.0.1:9137") == NULL,
	    "no replies for a metrics listener: its scrapes are counted");
	like(buf, "\nstampd_limited_total\\{transport=\"tcp\",limit=\"per-ip\""
	    "\\} 4\n", "limited: connections");
	like(buf, "\nstampd_limited_total\\{transport=\"udp\",limit=\"udp-rate"
	    "\"\\} 6\n", "limited: datagrams");
	like(buf, "\nstampd_announcements_total\\{kind=\"broadcast\"\\} 60\n",
	    "announcements by kind");
	like(buf, "\nstampd_announce_failures_total 2\n",
	    "announcements that failed");
	like(buf, "\nstampd_reply_seconds_bucket\\{le=\"1e-06\"\\} 3\n",
	    "the first bucket: a microsecond");
	like(buf, "\nstampd_reply_seconds_bucket\\{le=\"0.0001\"\\} 3\n",
	    "buckets are cumulative");
	like(buf, "\nstampd_reply_seconds_bucket\\{le=\"10\"\\} 3\n",
	    "up to the last");
	like(buf, "\nstampd_reply_seconds_bucket\\{le=\"\\+Inf\"\\} 4\n",
	    "+Inf holds every one");
	like(buf, "\nstampd_reply_seconds_count 4\n", "count");
	like(buf, "\nstampd_build_info\\{version=\"0.1.0\",tls=\"gnutls\","
	    "uring=\"no\",model=\"prefork\"\\} 1\n", "build info");
	ok(strstr(buf, "process_") == NULL, "no process_* when /proc said "
	    "nothing");
	v.proc = (struct metrics_process){ 1, 12.5, 1700000000.25, 17, 1024,
	    4096000, 8192000 };
	n = metrics_answer(200, 0, &v, buf, sizeof buf);
	like(buf, "\n# TYPE process_cpu_seconds_total counter\n"
	    "process_cpu_seconds_total 12.50\n", "process: CPU");
	like(buf, "\nprocess_open_fds 17\n", "process: open fds");
	like(buf, "\nprocess_max_fds 1024\n", "process: the limit");
	like(buf, "\nprocess_resident_memory_bytes 4096000\n", "process: RSS");
	like(buf, "\nprocess_virtual_memory_bytes 8192000\n", "process: VM");
	like(buf, "\nprocess_start_time_seconds 1700000000.25\n",
	    "process: start");
	n = metrics_answer(200, 1, &v, buf, sizeof buf);
	ok(n > 0 && strstr(buf, "stampd_") == NULL,
	    "HEAD: the headers alone");
	ok(metrics_answer(200, 0, &v, buf, 200) == -1,
	    "a buffer too small: -1");
	n = metrics_answer(404, 0, &v, buf, sizeof buf);
	like(buf, "^HTTP/1.1 404 Not Found\r\n", "404's status line");
}

/* A label's value with a quote, a backslash and a newline in it. */
static void
t_label(void)
{
	struct metrics_view	 v;
	char			 buf[METRICS_PAGE_MAX];

	memset(&v, 0, sizeof v);
	v.version = v.model = "x";
	v.nls = 1;
	v.ls[0] = (struct metrics_listener){ "tcp a\"b\\c\nd stamp", 1,
	    STAMP_PROTO_STAMP, 1, 1 };
	ok(metrics_answer(200, 0, &v, buf, sizeof buf) > 0, "the page fits");
	like(buf, "\nstampd_accepted_total\\{listener=\"tcp a\\\\\"b"
	    "\\\\\\\\c\\\\nd stamp\"\\} 1\n", "quote, backslash and newline "
	    "escaped");
}

/* The page with every listener there may be, each with a long name. */
static void
t_biggest(void)
{
	static struct metrics_view	 v;
	char				 buf[METRICS_PAGE_MAX];
	size_t				 i;

	memset(&v, 0, sizeof v);
	v.version = v.model = "x";
	v.nls = METRICS_NLISTENERS;
	for (i = 0; i < METRICS_NLISTENERS; i++)
		v.ls[i] = (struct metrics_listener){
		    "tcp [ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535 "
		    "nts-ke+proxy", 1, STAMP_PROTO_NTSKE, ~0ULL, ~0ULL };
	for (i = 0; i < METRICS_NBUCKETS; i++)
		v.bucket[i] = ~0ULL / METRICS_NBUCKETS;
	v.proc.known = 1;
	ok(metrics_answer(200, 0, &v, buf, sizeof buf) > 0,
	    "%d listeners with the longest names fit", METRICS_NLISTENERS);
}

static const struct {
	long long	 us;
	int		 bucket;
} buckets[] = {
	{ 0, 0 }, { 1, 0 }, { 2, 1 }, { 3, 2 }, { 5, 2 }, { 6, 3 },
	{ 100, 6 }, { 101, 7 }, { 10000000, METRICS_NBUCKETS - 2 },
	{ 10000001, METRICS_NBUCKETS - 1 }, { 1LL << 40, METRICS_NBUCKETS - 1 },
};

static void
t_buckets(void)
{
	size_t	 i;

	for (i = 0; i < NELEM(buckets); i++)
		is_int(metrics_bucket(buckets[i].us), buckets[i].bucket,
		    "%lld us: bucket %d", buckets[i].us, buckets[i].bucket);
}

static const struct {
	const char		*line;
	int			 r;
	long long		 ppid;
	unsigned long long	 ticks, start, vsize, rss;
} stats[] = {
	{ "1234 (stampd) S 1 1234 1234 0 -1 4194560 300 0 0 0 7 3 2 1 20 0 "
	  "3 0 5000 28991488 1541 18446744073709551615 1 1 0 0 0 0 0 4096 "
	  "0 0 0 0 17 1 0 0 0 0 0\n", 0, 1, 13, 5000, 28991488, 1541 },
	/* The name may hold spaces and parentheses: the last ')' ends it. */
	{ "77 (a) b) (c) R 76 1 1 0 -1 0 0 0 0 0 100 200 0 0 -2 -20 1 0 9 10 "
	  "2\n", 0, 76, 300, 9, 10, 2 },
	/* No rss, the 24th field. */
	{ "77 (x) R 76 1 1 0 -1 0 0 0 0 0 1 2 3 4 20 0 1 0 9 10",
	  -1, 0, 0, 0, 0, 0 },
	{ "77 (x) R 76 1 1 0 -1 0 0 0 0 0 1 2 3 4 20 0 1 0 9", -1,
	  0, 0, 0, 0, 0 },
	{ "77 (x) R 76 1 1 0 -1 0 0 0 0 0 1 x 3 4 20 0 1 0 9 10 2", -1,
	  0, 0, 0, 0, 0 },
	{ "77 (x) R -76 1 1 0 -1 0 0 0 0 0 1 2 3 4 20 0 1 0 9 10 2", -1,
	  0, 0, 0, 0, 0 },
	{ "77 x R 76", -1, 0, 0, 0, 0, 0 },
	{ "", -1, 0, 0, 0, 0, 0 },
	{ "77 (x) R 76 1 1 0 -1 0 0 0 0 0 99999999999999999999 2 3 4 20 0 1 "
	  "0 9 10 2",
	  -1, 0, 0, 0, 0, 0 },
};

static void
t_stat(void)
{
	struct metrics_stat	 st;
	size_t			 i;
	int			 r;

	for (i = 0; i < NELEM(stats); i++) {
		r = metrics_stat(stats[i].line, strlen(stats[i].line), &st);
		is_int(r, stats[i].r, "stat %zu: %s", i, r == 0 ? "read" :
		    "refused");
		if (r != 0 || stats[i].r != 0)
			continue;
		ok(st.ppid == stats[i].ppid && st.ticks == stats[i].ticks &&
		    st.starttime == stats[i].start &&
		    st.vsize == stats[i].vsize && st.rss == stats[i].rss,
		    "stat %zu: ppid %lld, ticks %llu, start %llu, vsize %llu, "
		    "rss %llu", i, st.ppid, st.ticks, st.starttime, st.vsize,
		    st.rss);
	}
}

int
main(void)
{
	t_requests();
	t_prefixes();
	t_full();
	t_page();
	t_label();
	t_biggest();
	t_buckets();
	t_stat();
	done_testing();
}
