/*
 * clock.h: the host clock's synchronization state, as an NTP server tells
 * it to its clients.
 *
 * stampd keeps no clock of its own: it serves the kernel's.  What the kernel
 * knows of that clock's quality (ntp_adjtime: status, maxerror) becomes the
 * leap indicator, stratum, reference and dispersion of each reply, so that
 * a host whose clock nobody synchronizes never passes for a good server.
 */
#ifndef STAMP_CLOCK_H
#define STAMP_CLOCK_H

#include <stdint.h>
#include <sys/timex.h>
#include <time.h>

#include "ntp.h"

/*
 * The stratum served when the kernel says the clock is synchronized.  The
 * daemon that synchronizes it (chronyd, ntpd, timesyncd) does not tell the
 * kernel its stratum, so stampd cannot know it.  A host synchronized over
 * the network from the public pool is at stratum 2 or 3, from servers of
 * stratum 1 or 2; we claim 3, the common case, rather than 2: a server that
 * understates its distance from the source is preferred when it should not
 * be, one that overstates it only loses a tie.  --local-stratum overrides.
 */
#define CLOCK_SYNCED_STRATUM	3

/* "127.127.1.1": what ntpd and chrony name a local clock reference. */
#define CLOCK_REFID_LOCAL	0x7F7F0101U

/*
 * The root dispersion of an unsynchronized clock: 16 s, RFC 5905's MAXDISP
 * and the most the kernel's maxerror reaches before it gives up.
 */
#define CLOCK_DISP_UNSYNC_US	16000000LL

/*
 * The root dispersion served under --local-stratum: the clock is its own
 * reference, so only the error of reading it, a microsecond, remains.
 */
#define CLOCK_DISP_LOCAL_US	1LL

/*
 * Judge the kernel's answer at now: tx as ntp_adjtime filled it, and state
 * its return value.  Pure.
 *
 * Synchronized (state is not TIME_ERROR and STA_UNSYNC is clear): leap from
 * STA_INS or STA_DEL, stratum CLOCK_SYNCED_STRATUM, refid CLOCK_REFID_LOCAL,
 * reftime now, root dispersion tx->maxerror, root delay 0 (clock.c says
 * why).  Otherwise: leap 3, stratum 0, refid 0, reftime 0, root dispersion
 * CLOCK_DISP_UNSYNC_US.  local_stratum > 0 (1..15) serves as that stratum
 * whatever the kernel says, with the leap from STA_INS or STA_DEL, refid
 * CLOCK_REFID_LOCAL, reftime now and CLOCK_DISP_LOCAL_US.
 *
 * cs->precision is left as it is: it is the clock's, not its state's, and
 * the caller sets it once from clock_precision() (clock_read does).
 */
void		 clock_judge(const struct timex *tx, int state,
		    int local_stratum, const struct timespec *now,
		    struct clock_state *cs);

/*
 * Read the kernel's state (ntp_adjtime, changing nothing) and the time,
 * and judge them into *cs, with the precision clock_precision measured
 * at the first call of the process (the clock's grain does not change).
 * Returns 0, or -1 with errno set.  Safe in any thread.  When the kernel
 * will not say (ntp_adjtime refused by a seccomp filter, say), *cs is
 * still judged, as a clock no one synchronizes, and -1 returned: what is
 * not known to be right is not served as right.
 */
int		 clock_read(int local_stratum, struct clock_state *cs);

/*
 * The precision of CLOCK_REALTIME in log2 seconds (RFC 5905: the time it
 * takes to read the clock): the least p with 2^p at least its resolution
 * (clock_getres) and at least the least step seen between readings, for
 * a nanosecond clock read by the vDSO about -25.  If the resolution cannot
 * be read, 0: the precision of a clock of seconds, which claims nothing.
 * It reads the clock a few hundred times: a microsecond or so.
 */
int		 clock_precision(void);

#endif /* STAMP_CLOCK_H */
