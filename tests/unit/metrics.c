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
	v.accepted = 10;
	v.closed = 7;
	v.replies[1][2] = 5;
	v.bucket[0] = 3;
	v.bucket[METRICS_NBUCKETS - 1] = 1;
	v.latency_us = 20000150;
	n = metrics_answer(200, 0, &v, buf, sizeof buf);
	ok(n > 0, "the page fits (%d bytes)", n);
	like(buf, "^HTTP/1.1 200 OK\r\n", "status line");
	like(buf, "\nstampd_connections_open 3\n", "open: accepted - closed");
	like(buf, "\nstampd_replies_total\\{transport=\"udp\","
	    "protocol=\"daytime\"\\} 5\n", "replies by transport and protocol");
	like(buf, "\nstampd_reply_seconds_bucket\\{le=\"0.0001\"\\} 3\n",
	    "the first bucket");
	like(buf, "\nstampd_reply_seconds_bucket\\{le=\"10\"\\} 3\n",
	    "buckets are cumulative");
	like(buf, "\nstampd_reply_seconds_bucket\\{le=\"\\+Inf\"\\} 4\n",
	    "+Inf holds every one");
	like(buf, "\nstampd_reply_seconds_count 4\n", "count");
	like(buf, "\nstampd_build_info\\{version=\"0.1.0\",model=\"prefork\"\\} "
	    "1\n", "build info");
	n = metrics_answer(200, 1, &v, buf, sizeof buf);
	ok(n > 0 && strstr(buf, "stampd_") == NULL,
	    "HEAD: the headers alone");
	ok(metrics_answer(200, 0, &v, buf, 200) == -1,
	    "a buffer too small: -1");
	n = metrics_answer(404, 0, &v, buf, sizeof buf);
	like(buf, "^HTTP/1.1 404 Not Found\r\n", "404's status line");
	is_int(metrics_bucket(100), 0, "100 us: the first bucket");
	is_int(metrics_bucket(101), 1, "101 us: the second");
	is_int(metrics_bucket(1LL << 40), METRICS_NBUCKETS - 1, "+Inf");
}

int
main(void)
{
	t_requests();
	t_prefixes();
	t_full();
	t_page();
	done_testing();
}
