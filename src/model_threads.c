/*
 * model_threads.c: a thread per connection.
 *
 * The fork model with threads instead of processes: the main thread runs
 * the acceptor, and each connection gets a thread that waits the delay
 * and serves it blocking.  A thread costs far less than a process, and
 * shares everything with the others: the counters are one slot of
 * atomics, and a crash in one thread is a crash of all.
 *
 * At most --max-workers threads run at once; at that limit the acceptor
 * stops polling the listeners threads serve until a thread ends.  A thread
 * that ends puts itself on a done list and wakes the main thread through
 * an eventfd (the acceptor polls it); the main thread joins it there, so
 * the count is exact and nothing is left unjoined.  On a stop, a second
 * eventfd, written once and never read, stays readable and so ends every
 * thread's delay at once; the main thread then waits, bounded, for the
 * replies in flight.
 */
#include <sys/types.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "acceptor.h"
#include "log.h"
#include "model.h"
#include "net.h"
#include "serve.h"
#include "supervise.h"

/*
 * A connection needs a few kilobytes of stack; the default reservation
 * (8 MiB) would make a few thousand threads cost gigabytes of addresses.
 */
#define STACK_SIZE	(256 * 1024)

struct state;

struct job {
	struct job		*next;		/* on the done list */
	pthread_t		 tid;
	struct state		*s;
	const struct listener	*l;
	int			 fd;		/* -1: datagram d */
	int			 lfd;
	struct sockaddr_storage	 peer;
	struct serve_dgram	 d;
	int			 has_hdr;
	struct admit_hdr	 hdr;		/* if has_hdr: read already */
};

struct state {
	struct server	*srv;
	struct stats	*st;
	pthread_attr_t	 attr;
	pthread_mutex_t	 lock;		/* guards done */
	struct job	*done;		/* ended, to be joined */
	int		 donefd;	/* eventfd: a job is on done */
	int		 stopfd;	/* eventfd: readable once stopping */
	int		 running;	/* the main thread's own count */
};

static void *
worker(void *arg)
{
	struct job	*j = arg;
	struct state	*s = j->s;
	uint64_t	 one = 1;

	/* The delay, cut short by a stop: a stop must not wait. */
	if (s->srv->delay_ms > 0)
		net_wait(s->stopfd, POLLIN, s->srv->delay_ms);
	if (j->fd != -1)
		serve_stream_blocking(s->srv, j->l, j->fd, &j->peer,
		    j->has_hdr ? &j->hdr : NULL, s->st);
	else
		serve_datagram_to(j->l, j->lfd, &j->d, s->st);

	pthread_mutex_lock(&s->lock);
	j->next = s->done;
	s->done = j;
	pthread_mutex_unlock(&s->lock);
	/* Only an overflow of the counter fails, and it would still wake. */
	if (write(s->donefd, &one, sizeof one) == -1)
		stats_count(s->st, STAT_ERRORS, 1);
	return NULL;
}

/* Join the threads that have ended. */
static void
collect(void *arg, int sigs)
{
	struct state	*s = arg;
	struct job	*j, *next;
	uint64_t	 n;

	(void)sigs;
	if (read(s->donefd, &n, sizeof n) == -1 && errno != EAGAIN)
		log_warn("threads: eventfd");
	pthread_mutex_lock(&s->lock);
	j = s->done;
	s->done = NULL;
	pthread_mutex_unlock(&s->lock);
	for (; j != NULL; j = next) {
		next = j->next;
		pthread_join(j->tid, NULL);
		free(j);
		s->running--;
	}
}

/* Start a thread for job j.  Returns -1 if none could be had. */
static int
spawn(struct state *s, struct job *j)
{
	int	 e;

	j->s = s;
	if ((e = pthread_create(&j->tid, &s->attr, worker, j)) != 0) {
		free(j);
		errno = e;
		log_limited("thread");
		stats_count(s->st, STAT_ERRORS, 1);
		return -1;
	}
	s->running++;
	return 0;
}

static int
conn(void *arg, const struct listener *l, int fd,
    const struct sockaddr_storage *peer, const struct admit_hdr *hdr)
{
	struct job	*j;

	if ((j = malloc(sizeof *j)) == NULL)
		return -1;
	j->l = l;
	j->fd = fd;
	j->peer = *peer;
	if ((j->has_hdr = hdr != NULL))
		j->hdr = *hdr;
	return spawn(arg, j);
}

static int
dgram(void *arg, const struct listener *l, int lfd,
    const struct serve_dgram *d)
{
	struct job	*j;

	if ((j = malloc(sizeof *j)) == NULL)
		return -1;
	j->l = l;
	j->fd = -1;
	j->lfd = lfd;
	j->d = *d;
	return spawn(arg, j);
}

static int
room(void *arg)
{
	struct state	*s = arg;

	return s->srv->max_workers - s->running;
}

static const struct acceptor_ops ops = {
	.conn = conn, .dgram = dgram, .room = room, .wake = collect,
};

static int
stop_step(void *arg, int sigs)
{
	struct state	*s = arg;

	collect(s, sigs);
	return s->running == 0 ? SUPERVISE_DONE : -1;
}

/* End every delay, and wait a bounded time for the threads to finish. */
static int
stop_threads(struct state *s)
{
	uint64_t	 one = 1;

	if (write(s->stopfd, &one, sizeof one) == -1)
		log_warn("threads: eventfd");
	if (supervise(s->srv, s->donefd, supervise_stop_ms(s->srv),
	    stop_step, s) == 0)
		return 0;
	/* They would touch what main frees next: better to say so, and go. */
	log_warnx("%d threads did not finish", s->running);
	return -1;
}

static int
setup(struct state *s, struct server *srv)
{
	int	 e;

	s->srv = srv;
	s->st = &srv->stats[0];
	s->donefd = s->stopfd = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_attr_init(&s->attr);
	if ((e = pthread_attr_setstacksize(&s->attr, STACK_SIZE)) != 0) {
		errno = e;
		return -1;
	}
	if ((s->donefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (s->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		return -1;
	return 0;
}

static void
teardown(struct state *s)
{
	if (s->donefd != -1)
		close(s->donefd);
	if (s->stopfd != -1)
		close(s->stopfd);
	pthread_mutex_destroy(&s->lock);
	pthread_attr_destroy(&s->attr);
	free(s);
}

static int
run(struct server *srv)
{
	struct acceptor	 a;
	struct state	*s;
	int		 rc;

	if ((s = calloc(1, sizeof *s)) == NULL || setup(s, srv) == -1 ||
	    acceptor_init(&a, srv, s->st, &ops, s) == -1) {
		log_warn("threads");
		if (s != NULL)
			teardown(s);
		return -1;
	}
	a.fd = s->donefd;
	rc = acceptor_run(&a);
	if (stop_threads(s) == -1)
		return -1;	/* threads still running use s and a: both stay */
	acceptor_free(&a);
	teardown(s);
	return rc;
}

const struct model model_threads = {
	.name = "threads",
	.summary = "a thread per connection",
	.caps = MODEL_MAX_WORKERS | MODEL_DELAY | MODEL_REUSEPORT,
	.run = run,
	.nslots = model_one_slot,
};
