/*
 * bench_tcp.h: what stampbench's two TCP engines share (the engine
 * itself, bench_tcp, is declared with the others in bench_worker.h).
 */
#ifndef STAMP_BENCH_TCP_H
#define STAMP_BENCH_TCP_H

#include "bench_worker.h"

/*
 * --spread: bind fd, a TCP socket of w, to the next of the source
 * addresses, the port left to connect.  Returns 0, or -1 with errno.
 */
int	bench_tcp_bind(struct bench_worker *w, int fd);

/*
 * A non-blocking TCP socket of w, bound as --spread says, its connect to
 * the target begun.  Returns the socket, or -1 with errno.
 */
int	bench_tcp_connect(struct bench_worker *w);

#endif /* STAMP_BENCH_TCP_H */
