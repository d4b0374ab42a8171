/*
 * bench_report.c: stampbench's output, as bench_report.h says.  The
 * formats are a promise to scripts (the RESULT line, the JSON object)
 * and to stampbench(1): change neither without the other.
 */
#include <stdio.h>
#include <string.h>

#include "bench_report.h"
#include "proto.h"

#define BAR_MAX	40

static const char *const kindname[BENCH_NKIND] = {
	"ok", "bad", "refused", "timeout", "reset", "other",
};

void
bench_report_progress(double secs, uint64_t ok, uint64_t done,
    uint64_t last_second)
{
	fprintf(stderr, "\r%5.0f s  %llu ok  %llu failed  %llu per second ",
	    secs, (unsigned long long)ok, (unsigned long long)(done - ok),
	    (unsigned long long)last_second);
}

/* A latency in microseconds as milliseconds, to two figures or so. */
static const char *
fmt_ms(char *buf, size_t len, uint64_t us)
{
	double	 ms = (double)us / 1000.0;

	if (ms < 0.1)
		snprintf(buf, len, "%.3f", ms);
	else if (ms < 1.0)
		snprintf(buf, len, "%.2f", ms);
	else if (ms < 10.0)
		snprintf(buf, len, "%.1f", ms);
	else
		snprintf(buf, len, "%.0f", ms);
	return buf;
}

/* The summary for people; the RESULT line is bench_report's. */
static void
summary(const struct bench_totals *tt, const char *head)
{
	const struct bench_hist	*h = &tt->all;
	char			 p[5][16];
	int			 k;

	printf("stampbench: %s\n", head);
	printf("  exchanges  %llu ok, %llu bad, %llu errors (",
	    (unsigned long long)tt->kind[BENCH_OK],
	    (unsigned long long)tt->kind[BENCH_BAD],
	    (unsigned long long)tt->errors);
	for (k = BENCH_REFUSED; k < BENCH_NKIND; k++)
		printf("%s%s %llu", k == BENCH_REFUSED ? "" : ", ",
		    kindname[k], (unsigned long long)tt->kind[k]);
	printf(")\n");
	printf("  rate       %.0f per second\n", tt->rate);
	if (h->count > 0)
		printf("  latency    p50 %s ms  p99 %s ms  p99.9 %s ms  "
		    "max %s ms  mean %s ms\n",
		    fmt_ms(p[0], sizeof p[0], bench_hist_quantile(h, 0.5)),
		    fmt_ms(p[1], sizeof p[1], bench_hist_quantile(h, 0.99)),
		    fmt_ms(p[2], sizeof p[2], bench_hist_quantile(h, 0.999)),
		    fmt_ms(p[3], sizeof p[3], h->max_ns / 1000),
		    fmt_ms(p[4], sizeof p[4], (uint64_t)tt->mean_us));
	else
		printf("  latency    no good replies\n");
	printf("  client cpu %.1f us per exchange "
	    "(utime+stime of stampbench itself)\n", tt->cpu);
	if (tt->why != NULL)
		printf("  first bad  %s\n", tt->why);
	if (tt->other != 0)
		printf("  first err  %s\n", strerror(tt->other));
}

/* --histogram: a line per shown bucket, from the first to the last used. */
static void
histogram(const struct bench_hist *h)
{
	static const char	 bar[BAR_MAX + 1] =
	    "########################################";
	uint64_t		 d[BENCH_HIST_NSHOWN], lo, hi, most = 0;
	uint64_t		 cum = 0;
	int			 i, first, last, len;

	if ((first = bench_hist_fold(h, d, &last)) == -1) {
		printf("  histogram  no good replies\n");
		return;
	}
	for (i = first; i <= last; i++)
		if (d[i] > most)
			most = d[i];
	printf("  histogram  microseconds from, to (excluded), count, share, "
	    "cumulative\n");
	for (i = first; i <= last; i++) {
		bench_hist_bounds(i, &lo, &hi);
		cum += d[i];
		/* Rounded up: a bucket that holds any shows at least a #. */
		len = (int)((d[i] * BAR_MAX + most - 1) / most);
		printf("  %10llu %10llu %10llu %6.2f%% %6.2f%% %.*s\n",
		    (unsigned long long)lo, (unsigned long long)hi,
		    (unsigned long long)d[i],
		    100.0 * (double)d[i] / (double)h->count,
		    100.0 * (double)cum / (double)h->count, len, bar);
	}
}

/* A JSON string: our own text, or strerror's; escaped all the same. */
static void
json_str(const char *s)
{
	const unsigned char	*p;

	if (s == NULL) {
		printf("null");
		return;
	}
	putchar('"');
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	putchar('"');
}

/* The used buckets alone, each [from, to) in microseconds. */
static void
json_histogram(const struct bench_hist *h)
{
	uint64_t	 d[BENCH_HIST_NSHOWN], lo, hi;
	int		 i, first, last, sep = 0;

	printf(",\n  \"histogram\": {\"unit\": \"us\", "
	    "\"buckets_per_octave\": %d, \"buckets\": [",
	    BENCH_HIST_SHOWN_OCTAVE);
	if ((first = bench_hist_fold(h, d, &last)) != -1)
		for (i = first; i <= last; i++) {
			if (d[i] == 0)
				continue;
			bench_hist_bounds(i, &lo, &hi);
			printf("%s\n    {\"from\": %llu, \"to\": %llu, "
			    "\"count\": %llu}", sep++ ? "," : "",
			    (unsigned long long)lo, (unsigned long long)hi,
			    (unsigned long long)d[i]);
		}
	printf("%s]}\n}\n", sep ? "\n  " : "");
}

/*
 * --json: every figure, one object.  Counts are integers; times are in
 * microseconds or seconds as their names say; what was not measured is
 * null, never 0.
 */
static void
json(const struct bench_totals *tt, const struct bench_asked *a)
{
	const struct bench_hist	*h = &tt->all;
	int			 k;

	printf("{\n  \"program\": \"stampbench\", \"version\": ");
	json_str(STAMP_VERSION);
	printf(",\n  \"target\": ");
	json_str(a->target);
	printf(", \"proto\": \"%s\", \"transport\": \"%s\",\n", a->proto,
	    a->transport);
	printf("  \"threads\": %d, \"concurrency\": %d, \"timeout_ms\": %d, "
	    "\"spread\": %d, \"io\": \"%s\",\n", tt->nrun, a->conc,
	    a->timeout_ms, a->spread, a->io);
	if (a->duration_ms > 0)
		printf("  \"requested\": null, \"duration_s\": %.3f,\n",
		    (double)a->duration_ms / 1000);
	else
		printf("  \"requested\": %lld, \"duration_s\": null,\n",
		    a->count);
	printf("  \"secs\": %.6f, \"interrupted\": %s,\n", tt->secs,
	    tt->interrupted ? "true" : "false");
	printf("  \"exchanges\": %llu, \"ok\": %llu, \"bad\": %llu, "
	    "\"errors\": %llu,\n  \"errors_by_kind\": {",
	    (unsigned long long)tt->total,
	    (unsigned long long)tt->kind[BENCH_OK],
	    (unsigned long long)tt->kind[BENCH_BAD],
	    (unsigned long long)tt->errors);
	for (k = BENCH_REFUSED; k < BENCH_NKIND; k++)
		printf("%s\"%s\": %llu", k == BENCH_REFUSED ? "" : ", ",
		    kindname[k], (unsigned long long)tt->kind[k]);
	printf("},\n  \"rate\": %.3f, \"cpu_us\": %.3f,\n", tt->rate,
	    tt->cpu);
	printf("  \"first_bad\": ");
	json_str(tt->why);
	printf(", \"first_error\": ");
	json_str(tt->other != 0 ? strerror(tt->other) : NULL);
	printf(",\n  \"latency_us\": ");
	if (h->count == 0)
		printf("null");
	else
		printf("{\"min\": %llu, \"p50\": %llu, \"p90\": %llu, "
		    "\"p99\": %llu, \"p999\": %llu, \"p9999\": %llu, "
		    "\"max\": %llu, \"mean\": %.3f}",
		    (unsigned long long)(h->min_ns / 1000),
		    (unsigned long long)bench_hist_quantile(h, 0.5),
		    (unsigned long long)bench_hist_quantile(h, 0.9),
		    (unsigned long long)bench_hist_quantile(h, 0.99),
		    (unsigned long long)bench_hist_quantile(h, 0.999),
		    (unsigned long long)bench_hist_quantile(h, 0.9999),
		    (unsigned long long)(h->max_ns / 1000), tt->mean_us);
	json_histogram(h);
}

int
bench_report(const struct bench_totals *tt, const struct bench_asked *a)
{
	const struct bench_hist	*h = &tt->all;
	char			 head[256];

	if (a->json) {
		json(tt, a);
		goto out;
	}
	snprintf(head, sizeof head, "%s %s/%s, %d thread%s, %d in flight, "
	    "%.2f s%s", a->target, a->proto, a->transport, tt->nrun,
	    tt->nrun == 1 ? "" : "s", a->conc, tt->secs,
	    tt->interrupted ? " (interrupted)" : "");
	if (!a->quiet)
		summary(tt, head);
	if (a->histogram)
		histogram(h);
	printf("RESULT proto=%s transport=%s threads=%d concurrency=%d "
	    "secs=%.3f ok=%llu bad=%llu errors=%llu rate=%.1f p50_us=%llu "
	    "p99_us=%llu p999_us=%llu max_us=%llu mean_us=%.0f cpu_us=%.1f\n",
	    a->proto, a->transport, tt->nrun, a->conc, tt->secs,
	    (unsigned long long)tt->kind[BENCH_OK],
	    (unsigned long long)tt->kind[BENCH_BAD],
	    (unsigned long long)tt->errors, tt->rate,
	    (unsigned long long)bench_hist_quantile(h, 0.5),
	    (unsigned long long)bench_hist_quantile(h, 0.99),
	    (unsigned long long)bench_hist_quantile(h, 0.999),
	    (unsigned long long)(h->max_ns / 1000), tt->mean_us, tt->cpu);
out:
	if (fflush(stdout) == EOF || ferror(stdout))
		return -1;
	return 0;
}
