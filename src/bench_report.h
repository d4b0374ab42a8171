/*
 * bench_report.h: what stampbench prints: the progress line, the summary
 * for people, the histogram, the RESULT line for scripts, or the JSON
 * object of --json.
 *
 * It prints to stdout (the progress line to stderr) and nothing else: no
 * exit, no errors of its own but a failed stdout, which it returns.
 */
#ifndef STAMP_BENCH_REPORT_H
#define STAMP_BENCH_REPORT_H

#include <stdint.h>

#include "bench_hist.h"

/* What became of one exchange. */
enum bench_kind {
	BENCH_OK,
	BENCH_BAD,
	BENCH_REFUSED,
	BENCH_TIMEOUT,
	BENCH_RESET,
	BENCH_OTHER,
	BENCH_NKIND
};

/* What the workers did, summed. */
struct bench_totals {
	uint64_t		 kind[BENCH_NKIND];
	uint64_t		 total;		/* exchanges */
	uint64_t		 errors;	/* neither ok nor bad */
	struct bench_hist	 all;
	const char		*why;		/* the first bad reply */
	int			 other;		/* the first unexpected errno */
	int			 nrun;		/* workers that ran */
	int			 failed;	/* a worker, or starting one,
						   failed */
	int			 interrupted;	/* by SIGINT or SIGTERM */
	double			 secs, rate;
	double			 cpu;		/* microseconds an exchange */
	double			 mean_us;
};

/* What was asked for, as the report names it. */
struct bench_asked {
	const char	*target;	/* the server's address, formatted */
	const char	*proto;		/* stamp, time, daytime, msec... */
	const char	*transport;	/* tcp, udp, or tls (nts-ke) */
	const char	*io;		/* epoll or uring */
	int		 conc;		/* -c */
	int		 timeout_ms;	/* -t */
	int		 spread;	/* the source addresses used, or 0 */
	long long	 duration_ms;	/* -d, or 0 */
	long long	 count;		/* -n, when there is no -d */
	int		 quiet;		/* -q */
	int		 histogram;	/* --histogram */
	int		 json;		/* --json */
};

/*
 * The progress line on stderr, rewritten in place: secs into the run,
 * ok and done exchanges so far, and the ok ones of the last second.
 */
void	bench_report_progress(double secs, uint64_t ok, uint64_t done,
	    uint64_t last_second);

/*
 * The summary unless quiet, the histogram if asked, then the RESULT
 * line; or, with json, the JSON object alone.  Returns 0, or -1 with
 * errno if stdout could not take it all.
 */
int	bench_report(const struct bench_totals *tt,
	    const struct bench_asked *a);

#endif /* STAMP_BENCH_REPORT_H */
