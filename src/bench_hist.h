/*
 * bench_hist.h: stampbench's latency histogram, and the coarser buckets
 * in which --histogram and --json show it.
 *
 * Pure arithmetic: no I/O, no clock, no allocation.  One histogram per
 * worker thread, merged at the end, so nothing here is shared.
 */
#ifndef STAMP_BENCH_HIST_H
#define STAMP_BENCH_HIST_H

#include <stdint.h>

/*
 * Latencies in microseconds: one bucket per microsecond below 2^LINBITS,
 * then 2^SUBBITS buckets per power of two, so a bucket is never wider
 * than 1/128 of its values (0.8%).  The last bucket takes everything
 * from 2^TOPEXP us up.
 */
#define BENCH_HIST_LINBITS	10
#define BENCH_HIST_SUBBITS	7
#define BENCH_HIST_TOPEXP	40
#define BENCH_HIST_NBUCKET	((1 << BENCH_HIST_LINBITS) + \
	    (BENCH_HIST_TOPEXP - BENCH_HIST_LINBITS) * \
	    (1 << BENCH_HIST_SUBBITS))

/*
 * What is shown: one bucket per microsecond below 8, then SHOWN_OCTAVE
 * buckets an octave, each the sum of whole buckets of the histogram, up
 * to 2^TOPEXP.
 */
#define BENCH_HIST_SHOWN_OCTAVE	4
#define BENCH_HIST_NSHOWN	(8 + (BENCH_HIST_TOPEXP - 3) * \
	    BENCH_HIST_SHOWN_OCTAVE)

struct bench_hist {
	uint64_t	 n[BENCH_HIST_NBUCKET];
	uint64_t	 count;
	uint64_t	 sum_ns;
	uint64_t	 min_ns;	/* when count > 0 */
	uint64_t	 max_ns;
};

/* Count one latency of ns nanoseconds (below 0: taken as 0). */
void	bench_hist_add(struct bench_hist *h, int64_t ns);

/* Add the counts of from to those of to. */
void	bench_hist_merge(struct bench_hist *to, const struct bench_hist *from);

/*
 * The p-quantile (0 < p <= 1) in microseconds: the middle of its bucket,
 * but never beyond the least or the greatest latency seen; 0 if h is
 * empty.
 */
uint64_t bench_hist_quantile(const struct bench_hist *h, double p);

/*
 * Fill d, BENCH_HIST_NSHOWN counts, with h in the shown buckets: exact,
 * since each bucket of h lies wholly in one of them.  Returns the first
 * that holds any, or -1 if none does; *last is then the last.
 */
int	bench_hist_fold(const struct bench_hist *h, uint64_t *d, int *last);

/* Shown bucket d covers *lo to *hi microseconds, *hi excluded. */
void	bench_hist_bounds(int d, uint64_t *lo, uint64_t *hi);

#endif /* STAMP_BENCH_HIST_H */
