/*
 * stamp_ntp.h: stamp -P ntp: one NTP request, and the server's reply
 * judged and shown as the offset of our clock and the round-trip delay.
 *
 * For the client only.  It prints, as the client's steps do: the line of
 * the time to stdout, and why a reply is refused to stderr.
 */
#ifndef STAMP_STAMP_NTP_H
#define STAMP_STAMP_NTP_H

#include "stamp_client.h"

/*
 * Ask the NTP server of a (over UDP, with a's retries, within its timeout)
 * and print its time, offset and delay.  Returns stamp's exit status: 0;
 * 1 for a Kiss-o'-Death or, without --unsynced, an unsynchronized server;
 * 3 for a malformed reply, or one that is not the answer to our request.
 * Failing to reach the server ends the program (stamp_client_reach).
 */
int		 stamp_ntp_ask(const struct stamp_client_args *a);

#endif /* STAMP_STAMP_NTP_H */
