/*
 * model_iterative.c: the lesson's server, one client at a time.
 *
 * accept, serve, close, in one loop: the baseline every other model is
 * measured against, and the plainest way to see why one slow step (a
 * --delay) stalls every client behind it.  The acceptor (acceptor.c) is
 * that loop, with the lesson's faults fixed: one poll covers every
 * listener, so a flood of datagrams cannot starve TCP, and a client still
 * sending after its reply is drained there, with a deadline, instead of
 * stalling the next one; and --delay is a timer, not a sleep, so the
 * stamp clients queue behind the delayed one while signals, scrapes and
 * the watchdog are still served.
 */
#include <stddef.h>

#include "acceptor.h"
#include "log.h"
#include "model.h"

static int
run(struct server *srv)
{
	struct acceptor	 a;
	int		 rc;

	if (acceptor_init(&a, srv, &srv->stats[0], NULL, NULL) == -1) {
		log_warn("iterative");
		return -1;
	}
	rc = acceptor_run(&a);
	acceptor_free(&a);
	return rc;
}

const struct model model_iterative = {
	.name = "iterative",
	.summary = "one client at a time, as the lesson (accept, send, close)",
	.caps = MODEL_DELAY | MODEL_REUSEPORT,
	.run = run,
	.nslots = model_one_slot,
};
