/*
 * log_access.c: the access log's budget, as data: threads and processes
 * that ask for lines at once, and how many they are given.
 *
 * Each row runs in a process of its own with a budget of its own
 * (log_access_init, at the row's rate), full at the start: its threads,
 * and the processes it forks after, each ask so many times as fast as
 * they can.  Whatever the machine's speed, they are given at least the
 * burst, a second's worth (or all they asked, if fewer), and at most the
 * burst and the rate over the time they took, measured around them: a
 * bound, never a timing figure asserted.  Rate 0: all they ask.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"

#define NELEM(a)	(sizeof (a) / sizeof (a)[0])

/* What a row's processes share: lines given, and the time they took. */
struct tally {
	unsigned long long	 given;
	long long		 ns;
};

#define R	LOG_ACCESS_RATE

static const struct row {
	const char	*name;
	int		 rate;			/* lines a second */
	int		 procs, threads, asks;	/* asks: each thread's */
} rows[] = {
	{ "fewer than the burst", R, 1, 1, R / 2 },
	{ "the burst exactly", R, 1, 1, R },
	{ "a thread asking 100 bursts", R, 1, 1, 100 * R },
	{ "8 threads at once", R, 1, 8, 10 * R },
	{ "4 processes at once", R, 4, 1, 10 * R },
	{ "3 processes of 4 threads", R, 3, 4, 10 * R },
	{ "rate 10: a thread asking 100 bursts", 10, 1, 1, 1000 },
	{ "rate 10: 3 processes of 4 threads", 10, 3, 4, 100 },
	{ "rate 5000: 8 threads at once", 5000, 1, 8, 5000 },
	{ "rate 1: a thread asking 1000", 1, 1, 1, 1000 },
	{ "no limit: 3 processes of 4 threads", 0, 3, 4, 10000 },
};

static struct tally	*tally;
static int		 asks;

static long long
now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *
ask(void *arg)
{
	unsigned long long	 n = 0;
	int			 i;

	(void)arg;
	for (i = 0; i < asks; i++)
		n += (unsigned long long)log_access_admit();
	__atomic_fetch_add(&tally->given, n, __ATOMIC_RELAXED);
	return NULL;
}

/* The threads of one process of row r. */
static void
one_process(const struct row *r)
{
	pthread_t	 t[16];
	int		 i;

	for (i = 0; i < r->threads; i++)
		if (pthread_create(&t[i], NULL, ask, NULL) != 0)
			_exit(2);
	for (i = 0; i < r->threads; i++)
		pthread_join(t[i], NULL);
}

/* Row r in this process and those it forks; the exit status says. */
static void
run_row(const struct row *r)
{
	long long	 t0;
	pid_t		 kid[16];
	int		 i, st, bad = 0;

	/* The summary lines are log_info's: not the TAP stream's. */
	if ((i = open("/dev/null", O_WRONLY)) != -1)
		dup2(i, STDERR_FILENO);
	if (log_access_init(r->rate) == -1)
		_exit(2);
	asks = r->asks;
	t0 = now_ns();
	for (i = 1; i < r->procs; i++)
		if ((kid[i] = fork()) == 0) {
			one_process(r);
			_exit(0);
		} else if (kid[i] == -1)
			_exit(2);
	one_process(r);
	for (i = 1; i < r->procs; i++)
		if (waitpid(kid[i], &st, 0) == -1 || st != 0)
			bad = 1;
	tally->ns = now_ns() - t0;
	_exit(bad ? 2 : 0);
}

int
main(void)
{
	unsigned long long asked, least, most, burst;
	size_t		 i;
	pid_t		 pid;
	int		 st;

	tally = mmap(NULL, sizeof *tally, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (tally == MAP_FAILED)
		tap_bail("mmap");
	for (i = 0; i < NELEM(rows); i++) {
		tally->given = 0;
		tally->ns = 0;
		fflush(stdout);
		if ((pid = fork()) == 0)
			run_row(&rows[i]);
		ok(pid != -1 && waitpid(pid, &st, 0) == pid &&
		    WIFEXITED(st) && WEXITSTATUS(st) == 0,
		    "%s: its threads and processes ran", rows[i].name);
		asked = (unsigned long long)rows[i].procs * rows[i].threads *
		    rows[i].asks;
		burst = (unsigned long long)rows[i].rate;
		least = burst == 0 || asked < burst ? asked : burst;
		most = burst == 0 ? asked : burst + (unsigned long long)
		    (tally->ns / (1000000000LL / rows[i].rate)) + 1;
		if (most > asked)
			most = asked;
		note("%s: %llu asked, %llu given in %lld us", rows[i].name,
		    asked, tally->given, tally->ns / 1000);
		ok(tally->given >= least && tally->given <= most,
		    "%s: given %llu of %llu, within [%llu, %llu]", rows[i].name,
		    tally->given, asked, least, most);
	}
	return tap_done();
}
