/*
 * clock.c: what the kernel says of the host clock, as NTP's header fields.
 *
 * clock_judge is pure and carries the policy; clock_read and
 * clock_precision are the only functions here that make system calls,
 * and they never print or exit.
 */
#include <sys/timex.h>

#include <stdint.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "ntp.h"

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
	int		 state;

	/* modes 0: read the kernel's state, change nothing. */
	memset(&tx, 0, sizeof(tx));
	if ((state = ntp_adjtime(&tx)) == -1)
		return -1;
	if (clock_gettime(CLOCK_REALTIME, &now) == -1)
		return -1;
	clock_judge(&tx, state, local_stratum, &now, cs);
	cs->precision = clock_precision();
	return 0;
}

int
clock_precision(void)
{
	struct timespec	 res;
	long long	 ns;
	int		 p;

	/* A resolution of a second or worse, or none, claims nothing. */
	if (clock_getres(CLOCK_REALTIME, &res) == -1 || res.tv_sec != 0 ||
	    res.tv_nsec <= 0)
		return 0;
	ns = res.tv_nsec;
	/*
	 * 2^p s >= ns ns, that is 2^-p <= 10^9 / ns: the largest power of
	 * two at most 10^9 / ns, counted down from 1 s.
	 */
	for (p = 0; p > -40 && (1LL << -(p - 1)) * ns <= 1000000000LL; p--)
		;
	return p;
}
