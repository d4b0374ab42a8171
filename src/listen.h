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

#include "net.h"
#include "serve.h"

#define LISTEN_MAX	64	/* -l, and the sockets systemd passes */

/*
 * The part of the command line that is about sockets, and all that
 * listen_open needs of it.  The models never read it: they find a
 * --reuseport group as the rpfd of its listener.
 */
struct listen_conf {
	const char	*text[LISTEN_MAX];	/* each -l as written */
	struct net_spec	 spec[LISTEN_MAX];	/* and as parsed */
	size_t		 n;
	int		 proto;		/* -P: of nameless systemd sockets */
	int		 backlog;	/* -b */
	int		 reuseport;	/* --reuseport */
};

/*
 * Make every listener into ls, which has room for LISTEN_MAX: bind each
 * -l of lc, then take the sockets systemd passed to this process
 * (LISTEN_FDS, with LISTEN_FDNAMES naming their protocols, lc->proto for
 * those it does not), and bind tcp:*:1937 and udp:*:1937 when there are
 * neither.  A socket an upgrade handed over for a -l (listen_handover) is
 * taken for it instead of binding.  With lc->reuseport each bound
 * listener gets workers sockets of one SO_REUSEPORT group.  Logs a
 * "listening" line for each, unsets the LISTEN_* variables, and returns
 * how many there are.
 */
size_t	listen_open(struct listener *ls, const struct listen_conf *lc,
	    int workers);

/*
 * The sockets listen_handover would hand over, in its order, into *fds
 * (allocated), and their names as LISTEN_FDNAMES says them into *names
 * (allocated).  Returns how many, or -1 and errno.
 */
int	listen_handover_plan(const struct listener *ls, size_t n, int workers,
	    int **fds, char **names);

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
