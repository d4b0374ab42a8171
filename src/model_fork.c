/*
 * model_fork.c: a child process per connection.
 *
 * The parent runs the acceptor; for each connection it forks a child that
 * waits the delay, serves the connection blocking and exits, while the
 * parent goes back to accept.  Each client gets a process of its own,
 * which is the point (a crash or a stall stays with that client), and pays
 * a fork for it, which is the cost.  The connection's place under the
 * limits goes to the child with it, so a child killed at any moment gives
 * it back when it is reaped.
 *
 * At most --max-workers children run at once.  At that limit the acceptor
 * stops polling the listeners children serve, so the kernel's queues hold
 * the next clients, until SIGCHLD says a child has ended: it never spins.
 *
 * A datagram has no socket of its own to hand over: the parent takes it
 * off the listener's queue and gives the child only its source address,
 * and the child answers through the listener, which it keeps open for
 * that.  Without --delay the parent answers datagrams itself, in batches:
 * with no work to wait for, a fork would cost far more than the answer.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

#include "acceptor.h"
#include "admit.h"
#include "log.h"
#include "model.h"
#include "pool.h"
#include "serve.h"
#include "sig.h"
#include "supervise.h"

struct state {
	struct server		*srv;
	struct acceptor		 a;
	struct pool		 p;
	/* What the next child serves. */
	const struct listener	*l;
	int			 fd;		/* -1: datagram d */
	int			 lfd;
	struct sockaddr_storage	 peer;
	struct serve_dgram	 d;
	const struct admit_hdr	*hdr;		/* read already, or NULL */
};

/* What one child does with its connection or its datagram. */
static int
child(void *arg, int i)
{
	struct state	*s = arg;

	(void)i;
	/*
	 * A child that kept a listener open would keep the port bound after
	 * the parent is gone, and the next daemon could not bind it; only
	 * the one a datagram's answer goes out on stays, for one delay.
	 */
	acceptor_forget(&s->a, s->fd == -1 ? s->lfd : -1);
	supervise_sleep(s->srv, s->srv->delay_ms);
	if (s->fd != -1)
		serve_stream_blocking(s->srv, s->l, s->fd, &s->peer, s->hdr,
		    s->p.st);
	else
		serve_datagram_to(s->l, s->lfd, &s->d, s->p.st);
	return 0;
}

static int
spawn(struct state *s)
{
	pid_t	 pid;
	int	 i;

	if ((i = pool_free_slot(&s->p)) == -1 ||
	    (pid = pool_spawn(&s->p, i, child, s)) == -1)
		return -1;
	if (s->fd != -1) {
		admit_handover(s->fd, pid);
		pool_handed(&s->p, i);
	}
	return 0;
}

static int
conn(void *arg, const struct listener *l, int fd,
    const struct sockaddr_storage *peer, const struct admit_hdr *hdr)
{
	struct state	*s = arg;

	s->l = l;
	s->fd = fd;
	s->peer = *peer;
	s->hdr = hdr;
	return spawn(s);
}

static int
dgram(void *arg, const struct listener *l, int lfd,
    const struct serve_dgram *d)
{
	struct state	*s = arg;

	s->l = l;
	s->fd = -1;
	s->lfd = lfd;
	s->d = *d;
	return spawn(s);
}

static int
room(void *arg)
{
	struct state	*s = arg;

	return s->p.n - s->p.alive;
}

static void
wake(void *arg, int sigs)
{
	struct state	*s = arg;

	if (sigs & SIG_CHILD)
		pool_reap(&s->p);
}

static const struct acceptor_ops ops = {
	.conn = conn, .dgram = dgram, .room = room, .wake = wake,
};

static int
run(struct server *srv)
{
	struct state	 s = { .srv = srv };
	int		 rc;

	if (pool_init(&s.p, srv, &srv->stats[0], srv->max_workers,
	    "child") == -1 ||
	    acceptor_init(&s.a, srv, &srv->stats[0], &ops, &s) == -1) {
		log_warn("fork");
		pool_free(&s.p);
		return -1;
	}
	rc = acceptor_run(&s.a);
	pool_stop(&s.p);
	acceptor_free(&s.a);
	pool_free(&s.p);
	return rc;
}

const struct model model_fork = {
	.name = "fork",
	.summary = "a child process per connection",
	.caps = MODEL_MAX_WORKERS | MODEL_DELAY | MODEL_REUSEPORT,
	.run = run,
	.nslots = model_one_slot,
};
