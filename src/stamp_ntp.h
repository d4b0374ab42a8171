/*
 * stamp_ntp.h: stamp -P ntp: one NTP request, and the server's reply
 * judged and shown as the offset of our clock and the round-trip delay.
 *
 * For the client only.  It prints, as the client's steps do: the line of
 * the time to stdout, and why a reply is refused to stderr.
 */
#ifndef STAMP_STAMP_NTP_H
#define STAMP_STAMP_NTP_H

#include <stddef.h>

#include "stamp_client.h"
#include "stamp_query.h"

/*
 * Ask the NTP server of a (over UDP, with a's retries, within its timeout)
 * and print its time, offset and delay.  Returns stamp's exit status: 0;
 * 1 for a Kiss-o'-Death or, without --unsynced, an unsynchronized server;
 * 3 for a malformed reply, or one that is not the answer to our request.
 * Failing to reach the server ends the program (stamp_client_reach).
 */
int		 stamp_ntp_ask(const struct stamp_client_args *a);

/*
 * What -P ntp and -P nts share.  stamp_ntp_header writes a client's
 * 48-byte request into buf (len bytes), stamped now: q->sent, and its
 * transmit timestamp kept in q->xmt, which a reply's origin must echo.
 * Returns 0, or -1 and errno.
 */
int		 stamp_ntp_header(struct stamp_query *q, unsigned char *buf,
		    size_t len);

/*
 * Judge q's reply from where as stamp_ntp_ask does, and print its time,
 * offset and delay, with extra (or NULL) said after the stratum and leap.
 * Returns stamp_ntp_ask's exit status.
 */
int		 stamp_ntp_judge(const struct stamp_client_args *a,
		    const struct stamp_query *q, const char *where,
		    const char *extra);

#endif /* STAMP_STAMP_NTP_H */
