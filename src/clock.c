/*
 * clock.c: what the kernel says of the host clock, as NTP's header fields.
 *
 * clock_judge is pure and carries the policy; clock_read and
 * clock_precision are the only functions here that make system calls,
 * and they never print or exit.  The one state kept is the precision,
 * measured once for the process.
 */
#include <sys/timex.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "ntp.h"

#define PRECISION_READS	256	/* readings to find the clock's grain */
#define NSEC		1000000000LL

/*
 * The precision, measured once for the process: the grain of the clock
 * is the hardware's and the kernel's, and a measurement costs as much as
 * a few hundred replies.  pthread_once makes the first reader measure it
 * and every other wait for that.
 */
static pthread_once_t	 precision_once = PTHREAD_ONCE_INIT;
static int		 precision;

static void
precision_measure(void)
{
	precision = clock_precision();
}

/* The kernel's leap bits, in the order its state machine reads them. */
static int
leap_of(const struct timex *tx)
{
	if (tx->status & STA_INS)
		return NTP_LEAP_INSERT;
	if (tx->status & STA_DEL)
		return NTP_LEAP_DELETE;
	return NTP_LEAP_NONE;
}

void
clock_judge(const struct timex *tx, int state, int local_stratum,
    const struct timespec *now, struct clock_state *cs)
{
	/*
	 * Root delay is the round trip to the primary source, which the
	 * kernel was never told: ntpd and chronyd write maxerror as the
	 * root distance, root delay / 2 + root dispersion, and esterror as
	 * the offset's standard deviation.  So maxerror alone as dispersion,
	 * with a delay of 0, gives a client the same root distance, and the
	 * delay is not counted twice.
	 */
	cs->root_delay = 0;
	if (local_stratum > 0) {
		cs->leap = leap_of(tx);
		cs->stratum = local_stratum < NTP_STRATUM_MAX ?
		    local_stratum : NTP_STRATUM_MAX;
		cs->refid = CLOCK_REFID_LOCAL;
		cs->reftime = ntp_from_timespec(now);
		cs->root_disp = ntp_short_from_us(CLOCK_DISP_LOCAL_US);
	} else if (state != TIME_ERROR && !(tx->status & STA_UNSYNC)) {
		cs->leap = leap_of(tx);
		cs->stratum = CLOCK_SYNCED_STRATUM;
		cs->refid = CLOCK_REFID_LOCAL;
		cs->reftime = ntp_from_timespec(now);
		cs->root_disp = ntp_short_from_us(tx->maxerror);
	} else {
		cs->leap = NTP_LEAP_UNSYNC;
		cs->stratum = 0;
		cs->refid = 0;
		cs->reftime = 0;
		cs->root_disp = ntp_short_from_us(CLOCK_DISP_UNSYNC_US);
	}
}

int
clock_read(int local_stratum, struct clock_state *cs)
{
	struct timex	 tx;
	struct timespec	 now;
	int		 state, err = 0;

	/* modes 0: read the kernel's state, change nothing. */
	memset(&tx, 0, sizeof(tx));
	if ((state = ntp_adjtime(&tx)) == -1) {
		err = errno;
		tx.status = STA_UNSYNC;
		state = TIME_ERROR;
	}
	if (clock_gettime(CLOCK_REALTIME, &now) == -1)
		return -1;
	clock_judge(&tx, state, local_stratum, &now, cs);
	if ((errno = pthread_once(&precision_once, precision_measure)) != 0)
		return -1;
	cs->precision = precision;
	errno = err;
	return err == 0 ? 0 : -1;
}

int
clock_precision(void)
{
	struct timespec	 res, prev, now;
	long long	 grain, step;
	int		 i, p;

	/* A resolution of a second or worse, or none, claims nothing. */
	if (clock_getres(CLOCK_REALTIME, &res) == -1 || res.tv_sec != 0 ||
	    res.tv_nsec <= 0)
		return 0;
	/*
	 * A nanosecond resolution says nothing of how long a reading takes:
	 * the least step between consecutive readings does, as chrony
	 * measures it.  The least, since a reading interrupted is only late.
	 */
	grain = NSEC;
	if (clock_gettime(CLOCK_REALTIME, &prev) == -1)
		return 0;
	for (i = 0; i < PRECISION_READS; i++) {
		if (clock_gettime(CLOCK_REALTIME, &now) == -1)
			return 0;
		step = (now.tv_sec - prev.tv_sec) * NSEC + now.tv_nsec -
		    prev.tv_nsec;
		if (step > 0 && step < grain)
			grain = step;
		prev = now;
	}
	if (grain < res.tv_nsec)
		grain = res.tv_nsec;
	/*
	 * 2^p s >= grain ns, that is 2^-p <= 10^9 / grain: the largest power
	 * of two at most 10^9 / grain, counted down from 1 s.
	 */
	for (p = 0; p > -40 && (1LL << -(p - 1)) * grain <= NSEC; p--)
		;
	return p;
}
