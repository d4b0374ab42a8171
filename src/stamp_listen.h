/*
 * stamp_listen.h: stamp --listen: join a multicast group (or wait on a
 * port for broadcasts) and print each announcement stampd --announce
 * sends.
 *
 * For the client only.  It sends nothing at all.  Like the client's other
 * steps it prints, and exits on what it cannot go on from: a bad spec
 * (status 2), a socket that will not bind or join (status 1).
 */
#ifndef STAMP_STAMP_LISTEN_H
#define STAMP_STAMP_LISTEN_H

#include "stamp_client.h"

/*
 * Listen on a->lspec (joined on a->ifname, if given) and print each
 * announcement of a->proto as it comes, as stamp_client_show does; a
 * malformed one is reported and skipped, as anyone may send to a group.
 * Returns stamp's exit status: 0 after a->count announcements (never, if
 * a->count is 0), 1 when -t was given and passed first.
 */
int		 stamp_listen_announcements(const struct stamp_client_args *a);

#endif /* STAMP_STAMP_LISTEN_H */
