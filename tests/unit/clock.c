/*
 * tests/unit/clock.c: what the kernel's clock state becomes in a reply.
 *
 * clock_judge is pure, so its table covers every state the kernel can
 * report whatever the state of this machine's clock; clock_read and
 * clock_precision are checked against what the kernel says now.
 */
#include <sys/timex.h>

#include <stdint.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "ntp.h"
#include "tap.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define NOW		1795604443LL		/* 2026-11-25 */
#define WRAP		2085978496LL		/* 2036-02-07 06:28:16 */
#define UNSET		0x5a5a5a5a
#define DISP_UNSYNC	0x100000U		/* 16 s */

enum { SYNCED, UNSYNC, LOCAL };

static void
test_judge(void)
{
	static const struct {
		const char	*what;
		int		 status, state;
		long		 maxerror;
		int		 local;
		int		 kind, leap, stratum;
		uint32_t	 disp;
	} tab[] = {
		{ "synced", STA_PLL, TIME_OK, 5000, 0,
		    SYNCED, 0, CLOCK_SYNCED_STRATUM, 328 },
		{ "synced, maxerror 1 s", STA_PLL | STA_NANO, TIME_OK,
		    1000000, 0, SYNCED, 0, CLOCK_SYNCED_STRATUM, 0x10000 },
		{ "synced, maxerror 0", 0, TIME_OK, 0, 0,
		    SYNCED, 0, CLOCK_SYNCED_STRATUM, 0 },
		{ "synced, maxerror 16 s", STA_PLL, TIME_OK, 16000000, 0,
		    SYNCED, 0, CLOCK_SYNCED_STRATUM, DISP_UNSYNC },
		{ "synced, maxerror past the short format", STA_PLL, TIME_OK,
		    100000000000L, 0, SYNCED, 0, CLOCK_SYNCED_STRATUM,
		    0xffffffffU },
		{ "STA_INS", STA_PLL | STA_INS, TIME_INS, 5000, 0,
		    SYNCED, 1, CLOCK_SYNCED_STRATUM, 328 },
		{ "STA_DEL", STA_PLL | STA_DEL, TIME_DEL, 5000, 0,
		    SYNCED, 2, CLOCK_SYNCED_STRATUM, 328 },
		{ "STA_INS in progress", STA_PLL | STA_INS, TIME_OOP, 5000, 0,
		    SYNCED, 1, CLOCK_SYNCED_STRATUM, 328 },
		{ "after the leap", STA_PLL, TIME_WAIT, 5000, 0,
		    SYNCED, 0, CLOCK_SYNCED_STRATUM, 328 },
		/* The kernel's own state machine reads STA_INS first. */
		{ "STA_INS and STA_DEL", STA_INS | STA_DEL, TIME_INS, 5000, 0,
		    SYNCED, 1, CLOCK_SYNCED_STRATUM, 328 },
		{ "STA_UNSYNC", STA_UNSYNC, TIME_ERROR, 16000000, 0,
		    UNSYNC, 3, 0, DISP_UNSYNC },
		{ "STA_UNSYNC, state TIME_OK", STA_UNSYNC, TIME_OK, 5000, 0,
		    UNSYNC, 3, 0, DISP_UNSYNC },
		{ "TIME_ERROR without STA_UNSYNC", STA_PLL, TIME_ERROR, 5000,
		    0, UNSYNC, 3, 0, DISP_UNSYNC },
		{ "STA_UNSYNC hides STA_INS", STA_UNSYNC | STA_INS, TIME_ERROR,
		    5000, 0, UNSYNC, 3, 0, DISP_UNSYNC },
		{ "STA_UNSYNC hides STA_DEL", STA_UNSYNC | STA_DEL, TIME_DEL,
		    5000, 0, UNSYNC, 3, 0, DISP_UNSYNC },
		{ "local 8, unsynced", STA_UNSYNC, TIME_ERROR, 16000000, 8,
		    LOCAL, 0, 8, 1 },
		{ "local 8, synced", STA_PLL, TIME_OK, 5000, 8,
		    LOCAL, 0, 8, 1 },
		{ "local 8, unsynced, STA_INS", STA_UNSYNC | STA_INS,
		    TIME_ERROR, 16000000, 8, LOCAL, 1, 8, 1 },
		{ "local 8, STA_DEL", STA_DEL, TIME_DEL, 5000, 8,
		    LOCAL, 2, 8, 1 },
		{ "local 1", STA_UNSYNC, TIME_ERROR, 16000000, 1,
		    LOCAL, 0, 1, 1 },
		{ "local 15", STA_UNSYNC, TIME_ERROR, 16000000, 15,
		    LOCAL, 0, 15, 1 },
		{ "local 16 is served as 15", STA_UNSYNC, TIME_ERROR,
		    16000000, 16, LOCAL, 0, 15, 1 },
		{ "local 0 is no local stratum", STA_UNSYNC, TIME_ERROR,
		    16000000, 0, UNSYNC, 3, 0, DISP_UNSYNC },
		{ "local -1 is no local stratum", STA_PLL, TIME_OK,
		    5000, -1, SYNCED, 0, CLOCK_SYNCED_STRATUM, 328 },
	};
	static const long long	 nows[] = { NOW, WRAP - 1, WRAP, WRAP + NOW };
	struct clock_state	 cs;
	struct timespec		 now;
	struct timex		 tx;
	uint64_t		 wantref;
	size_t			 i, j;

	for (j = 0; j < NELEM(nows); j++) {
		now.tv_sec = (time_t)nows[j];
		now.tv_nsec = 250000000;
		for (i = 0; i < NELEM(tab); i++) {
			memset(&tx, 0, sizeof(tx));
			tx.status = tab[i].status;
			tx.maxerror = tab[i].maxerror;
			tx.esterror = 1234;
			memset(&cs, 0x5a, sizeof(cs));
			clock_judge(&tx, tab[i].state, tab[i].local, &now,
			    &cs);
			is_int(cs.leap, tab[i].leap, "%s at %lld: leap %d",
			    tab[i].what, nows[j], tab[i].leap);
			is_int(cs.stratum, tab[i].stratum, "%s: stratum %d",
			    tab[i].what, tab[i].stratum);
			is_int(cs.refid, tab[i].kind == UNSYNC ? 0 :
			    CLOCK_REFID_LOCAL, "%s: refid", tab[i].what);
			wantref = tab[i].kind == UNSYNC ? 0 :
			    ntp_from_timespec(&now);
			ok(cs.reftime == wantref, "%s: reftime %s",
			    tab[i].what, wantref == 0 ? "0" : "now");
			is_int(cs.root_delay, 0, "%s: root delay 0",
			    tab[i].what);
			is_int(cs.root_disp, tab[i].disp,
			    "%s: root dispersion", tab[i].what);
			is_int(cs.precision, UNSET,
			    "%s: precision is the caller's", tab[i].what);
		}
	}
	is_int(ntp_from_timespec(&now) & 0xffffffffU, 0x40000000,
	    "reftime keeps the fraction of now");
}

static void
test_read(void)
{
	struct clock_state	 cs;
	struct timex		 tx;
	int			 p, state;

	p = clock_precision();
	ok(p <= 0 && p >= -30, "precision %d is between 1 ns and 1 s", p);
	memset(&tx, 0, sizeof(tx));
	state = ntp_adjtime(&tx);
	diag("this machine: ntp_adjtime %d, status %#x, maxerror %ld us, "
	    "precision %d", state, tx.status, tx.maxerror, p);

	memset(&cs, 0x5a, sizeof(cs));
	is_int(clock_read(0, &cs), 0, "clock_read");
	ok(cs.precision <= 0 && cs.precision >= -30,
	    "clock_read sets the precision (%d)", cs.precision);
	p = cs.precision;
	ok(cs.stratum == 0 || cs.stratum == CLOCK_SYNCED_STRATUM,
	    "stratum %d is unsynchronized or synchronized", cs.stratum);
	ok((cs.stratum == 0) == (cs.leap == NTP_LEAP_UNSYNC),
	    "leap 3 exactly when stratum 0");
	if (state == TIME_ERROR || tx.status & STA_UNSYNC)
		ok(cs.stratum == 0 && cs.leap == 3,
		    "the kernel's unsynchronized clock is served so");
	else
		ok(cs.stratum == CLOCK_SYNCED_STRATUM && cs.leap != 3,
		    "the kernel's synchronized clock is served so");

	memset(&cs, 0x5a, sizeof(cs));
	is_int(clock_read(8, &cs), 0, "clock_read, local stratum 8");
	is_int(cs.stratum, 8, "local stratum 8 served");
	ok(cs.leap != NTP_LEAP_UNSYNC, "local stratum is never LI 3");
	is_int(cs.refid, CLOCK_REFID_LOCAL, "local refid");
	is_int(cs.precision, p, "the precision is measured once");
}

int
main(void)
{
	test_judge();
	test_read();
	return done_testing();
}
