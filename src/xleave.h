/*
 * xleave.h: what NTP's interleaved mode remembers (RFC 9769, chrony's
 * xleave): when the kernel really sent each reply.
 *
 * A reply's transmit time is read just before the send, so it is always
 * a little early.  The kernel stamps the moment the reply leaves
 * (SO_TIMESTAMPING); that stamp comes back after the send, too late for
 * the reply it describes, and is kept here for the next request of the
 * same client, which names the reply by its receive timestamp.  The
 * table is one for every worker thread and process, in shared memory,
 * and bounded: a slot a newer reply took is simply forgotten, and that
 * client gets a basic reply once.
 */
#ifndef STAMP_XLEAVE_H
#define STAMP_XLEAVE_H

#include <stddef.h>
#include <stdint.h>

#define XLEAVE_SLOTS	4096	/* --ntp-interleaved's default */
#define XLEAVE_MAX	(1 << 24)

/*
 * Make the table of at least n slots (rounded up to a power of 2), shared
 * by the processes forked after.  Returns 0, or -1 and errno.
 */
int	xleave_init(size_t n);

/* Whether xleave_init has made a table: interleaved mode is on. */
int	xleave_on(void);

/*
 * The reply whose receive timestamp was rx (NTP format) left at tx, by
 * the kernel's clock.
 */
void	xleave_sent(uint64_t rx, uint64_t tx);

/*
 * The kernel's transmit time of the reply whose receive timestamp was rx,
 * into *tx: 1, or 0 when it is not known (never sent, or forgotten).
 */
int	xleave_find(uint64_t rx, uint64_t *tx);

#endif /* STAMP_XLEAVE_H */
