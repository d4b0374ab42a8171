/*
 * tests/fuzz/metrics_request.c: fuzz the metrics listener's request
 * reader, and the answer written for what it says.
 *
 * Properties: the verdict is one of the statuses metrics.h names; a head
 * that is not whole is never judged, unless it fills the buffer (431); a
 * whole head judged METRICS_OK starts with GET or HEAD and names /metrics;
 * no prefix of it short of its empty line is OK already; and the answer for the verdict fits its buffer and
 * starts with its status line.  A broken property aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

int	fuzz_metrics_request(const uint8_t *, size_t);

static void
metrics_require(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_metrics_request: %s\n", what);
		abort();
	}
}

/* Whether buf[0..n) holds an empty line: the end of a head. */
static int
has_end(const char *buf, size_t n)
{
	size_t	 i;

	for (i = 0; i + 1 < n; i++)
		if (buf[i] == '\n' && (buf[i + 1] == '\n' || (i + 2 < n &&
		    buf[i + 1] == '\r' && buf[i + 2] == '\n')))
			return 1;
	return 0;
}

static int
known(int status)
{
	return status == METRICS_NEED_MORE || status == METRICS_OK ||
	    status == 400 || status == 404 || status == 405 || status == 431 ||
	    status == 505;
}

int
fuzz_metrics_request(const uint8_t *data, size_t size)
{
	static char		 page[METRICS_PAGE_MAX];
	struct metrics_view	 v;
	const char		*buf = (const char *)data;
	char			 line[32];
	size_t			 n;
	int			 status, head, again, status_len;

	if (size > METRICS_REQUEST_MAX)
		size = METRICS_REQUEST_MAX;
	status = metrics_request(buf, size, &head);
	metrics_require(known(status), "an unknown verdict");
	metrics_require(metrics_request(buf, size, &again) == status,
	    "two verdicts for one request");
	if (status == METRICS_NEED_MORE) {
		metrics_require(size < METRICS_REQUEST_MAX,
		    "a full buffer not refused");
		return 0;
	}
	if (status == METRICS_OK) {
		metrics_require((!head && size > 4 &&
		    memcmp(buf, "GET /metrics", 12 < size ? 12 : size) == 0) ||
		    (head && size > 5 && memcmp(buf, "HEAD /metrics",
		    13 < size ? 13 : size) == 0), "OK for another request");
		for (n = 0; n < size && !has_end(buf, n); n++)
			metrics_require(metrics_request(buf, n, &again) !=
			    METRICS_OK, "OK before the head was whole");
	}
	memset(&v, 0, sizeof v);
	v.version = "0.1.0";
	v.model = "event";
	status_len = snprintf(line, sizeof line, "HTTP/1.1 %d ", status);
	metrics_require(metrics_answer(status, head, &v, page, sizeof page) >
	    status_len, "an answer that does not fit");
	metrics_require(strncmp(page, line, (size_t)status_len) == 0,
	    "an answer with another status");
	return 0;
}

#ifdef FUZZ_MAIN
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_metrics_request(data, size);
}
#endif
