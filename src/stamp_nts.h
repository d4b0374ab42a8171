/*
 * stamp_nts.h: stamp -P nts: NTS key establishment (RFC 8915) over TLS
 * 1.3, then one authenticated NTP exchange, judged and shown as -P ntp's.
 *
 * For the client only, and only where GnuTLS was found at build time
 * (STAMP_NTS).  It prints, as the client's steps do: the line of the time
 * to stdout, and why the server or its reply is refused to stderr.
 */
#ifndef STAMP_STAMP_NTS_H
#define STAMP_STAMP_NTS_H

#include "stamp_client.h"

/*
 * Establish keys with the NTS-KE server of a (its host, its port: 4460
 * unless given), trusting a->ca or the system's certificate authorities,
 * then ask the NTP server the response names (or a's host, port 123) one
 * authenticated question, all within a's timeout, and print its time,
 * offset and delay.  Returns stamp's exit status: 0; 1 for a TLS failure,
 * a key establishment's Error record or a refusal, an NTS NAK, a
 * Kiss-o'-Death or, without --unsynced, an unsynchronized server; 3 for a
 * malformed key establishment response or NTP reply, or one that is not
 * authenticated.  Failing to reach a server ends the program with 1.
 */
int		 stamp_nts_ask(const struct stamp_client_args *a);

#endif /* STAMP_STAMP_NTS_H */
