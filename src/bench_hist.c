/*
 * bench_hist.c: the latency histogram of stampbench, as bench_hist.h
 * says: log-scaled buckets, so that a million latencies cost 30 KB and
 * a percentile is within 1% of the truth.
 */
#include <string.h>

#include "bench_hist.h"

#define H_LINBITS	BENCH_HIST_LINBITS
#define H_LINEAR	(1 << H_LINBITS)
#define H_SUBBITS	BENCH_HIST_SUBBITS
#define H_SUB		(1 << H_SUBBITS)
#define H_TOPEXP	BENCH_HIST_TOPEXP
#define H_NBUCKET	BENCH_HIST_NBUCKET

#define D_LINBITS	3
#define D_LINEAR	(1 << D_LINBITS)
#define D_SUBBITS	2
#define D_SUB		(1 << D_SUBBITS)
#define D_NBUCKET	BENCH_HIST_NSHOWN

_Static_assert(D_SUB == BENCH_HIST_SHOWN_OCTAVE, "shown buckets an octave");
_Static_assert(D_NBUCKET == D_LINEAR + (H_TOPEXP - D_LINBITS) * D_SUB,
    "shown buckets");

static int
hist_index(uint64_t us)
{
	int	 e;

	if (us < H_LINEAR)
		return (int)us;
	e = 63 - __builtin_clzll(us);
	if (e >= H_TOPEXP)
		return H_NBUCKET - 1;
	return H_LINEAR + (e - H_LINBITS) * H_SUB +
	    (int)((us >> (e - H_SUBBITS)) & (H_SUB - 1));
}

/* The value that stands for bucket i: its middle. */
static uint64_t
hist_value(int i)
{
	int	 e, sub;

	if (i < H_LINEAR)
		return (uint64_t)i;
	e = H_LINBITS + (i - H_LINEAR) / H_SUB;
	sub = (i - H_LINEAR) % H_SUB;
	return (1ULL << e) + ((uint64_t)sub << (e - H_SUBBITS)) +
	    (1ULL << (e - H_SUBBITS - 1));
}

/* The lower bound of bucket i, in microseconds. */
static uint64_t
hist_low(int i)
{
	int	 e;

	if (i < H_LINEAR)
		return (uint64_t)i;
	e = H_LINBITS + (i - H_LINEAR) / H_SUB;
	return (1ULL << e) +
	    ((uint64_t)((i - H_LINEAR) % H_SUB) << (e - H_SUBBITS));
}

/* The shown bucket of a latency in microseconds, below 2^H_TOPEXP. */
static int
disp_index(uint64_t us)
{
	int	 e;

	if (us < D_LINEAR)
		return (int)us;
	e = 63 - __builtin_clzll(us);
	return D_LINEAR + (e - D_LINBITS) * D_SUB +
	    (int)((us >> (e - D_SUBBITS)) & (D_SUB - 1));
}

void
bench_hist_add(struct bench_hist *h, int64_t ns)
{
	uint64_t	 v = ns > 0 ? (uint64_t)ns : 0;

	h->n[hist_index(v / 1000)]++;
	if (h->count == 0 || v < h->min_ns)
		h->min_ns = v;
	h->count++;
	h->sum_ns += v;
	if (v > h->max_ns)
		h->max_ns = v;
}

void
bench_hist_merge(struct bench_hist *to, const struct bench_hist *from)
{
	int	 i;

	for (i = 0; i < H_NBUCKET; i++)
		to->n[i] += from->n[i];
	if (from->count > 0 && (to->count == 0 || from->min_ns < to->min_ns))
		to->min_ns = from->min_ns;
	to->count += from->count;
	to->sum_ns += from->sum_ns;
	if (from->max_ns > to->max_ns)
		to->max_ns = from->max_ns;
}

uint64_t
bench_hist_quantile(const struct bench_hist *h, double p)
{
	uint64_t	 rank, seen = 0, max_us = h->max_ns / 1000, v;
	uint64_t	 min_us = h->min_ns / 1000;
	int		 i;

	if (h->count == 0)
		return 0;
	rank = (uint64_t)(p * (double)h->count);
	if ((double)rank < p * (double)h->count || rank == 0)
		rank++;
	for (i = 0; i < H_NBUCKET; i++) {
		seen += h->n[i];
		if (seen >= rank) {
			v = hist_value(i);
			if (v < min_us)
				return min_us;
			return v < max_us ? v : max_us;
		}
	}
	return max_us;
}

int
bench_hist_fold(const struct bench_hist *h, uint64_t *d, int *last)
{
	int	 i, first = -1;

	memset(d, 0, D_NBUCKET * sizeof *d);
	for (i = 0; i < H_NBUCKET; i++)
		d[disp_index(hist_low(i))] += h->n[i];
	*last = -1;
	for (i = 0; i < D_NBUCKET; i++)
		if (d[i] != 0) {
			if (first == -1)
				first = i;
			*last = i;
		}
	return first;
}

void
bench_hist_bounds(int d, uint64_t *lo, uint64_t *hi)
{
	int	 e;

	if (d < D_LINEAR) {
		*lo = (uint64_t)d;
		*hi = *lo + 1;
		return;
	}
	e = D_LINBITS + (d - D_LINEAR) / D_SUB;
	*lo = (1ULL << e) +
	    ((uint64_t)((d - D_LINEAR) % D_SUB) << (e - D_SUBBITS));
	*hi = *lo + (1ULL << (e - D_SUBBITS));
}
