/*
 * listen.h: the daemon's sockets, before any model serves them.
 *
 * The listeners the command line asks for, the ones systemd passes
 * (LISTEN_FDS), the --reuseport groups, and the one socket of --inetd.
 * All of this happens before serving, where any error is fatal: like
 * main, these functions end the process with a message naming the socket
 * at fault (exit 1), and return only on success.
 */
#ifndef STAMP_LISTEN_H
#define STAMP_LISTEN_H

#include <stddef.h>

#include "conf.h"
#include "serve.h"

/*
 * Make every listener into ls, which has room for CONF_LISTEN_MAX: bind
 * each -l of c, then take the sockets systemd passed to this process
 * (LISTEN_FDS, with LISTEN_FDNAMES naming their protocols, c->proto for
 * those it does not), and bind tcp:*:1937 and udp:*:1937 when there are
 * neither.  A socket an upgrade handed over for a -l (listen_handover) is
 * taken for it instead of binding.  With c->reuseport each bound listener
 * gets c->workers sockets of one SO_REUSEPORT group.  Logs a "listening"
 * line for each, unsets the LISTEN_* variables, and returns how many
 * there are.
 */
size_t	listen_open(struct listener *ls, const struct conf *c);

/*
 * Put every socket of the n listeners of listen_open at fds 3 onwards,
 * open across an exec, and set LISTEN_FDS, LISTEN_PID (this process: an
 * exec keeps it) and LISTEN_FDNAMES as systemd does, for the image an
 * upgrade execs: the socket of the i-th -l is named "stampd-l<i>", member
 * k of its --reuseport group "stampd-l<i>-rp<k>", and systemd's keep the
 * names they came with.  listen_open in the new image takes each back for
 * the -l it came from instead of binding it again; connections and
 * datagrams queued meanwhile wait in them.  keep, unless -1, is one more
 * fd to keep open across the exec: it goes right after the sockets, and
 * its number there is returned (else -1).  Whatever else had those fds is
 * closed: after this, only execve.
 */
int	listen_handover(const struct listener *ls, size_t n, int workers,
	    int keep);

/*
 * Close the n listeners of listen_open, and their groups of workers
 * sockets each.
 */
void	listen_close(struct listener *ls, size_t n, int workers);

/*
 * --inetd: serve once the connection, or the socket with a datagram
 * waiting, on standard input, in protocol proto.  Logs to syslog when
 * standard error is a socket too, as inetd hands it over, lest the log
 * reach the client.  Returns the exit status.
 */
int	listen_inetd(const struct server *srv, int proto);

#endif /* STAMP_LISTEN_H */
