/*
 * model_threads.c: a thread per connection.
 *
 * The fork model with threads instead of processes: the main thread waits
 * on its signal pipe and every listener, and each connection gets a thread
 * that waits the delay and serves it blocking.  A thread costs far less
 * than a process, and shares everything with the others: the counters are
 * one slot of atomics, and a crash in one thread is a crash of all.
 *
 * At most --max-workers threads run at once; at that limit the main thread
 * stops polling the listeners threads serve until a thread ends.  A thread
 * that ends puts itself on a done list and wakes the main thread through
 * an eventfd; the main thread joins it there, so the count is exact and
 * nothing is left unjoined.  On a stop, a second eventfd, written once and
 * never read, stays readable and so ends every thread's delay at once; the
 * main thread then waits, bounded, for the replies in flight.
 *
 * With --delay, the main thread takes each datagram off the listener's
 * queue and gives a thread its source address to answer, as the fork model
 * does with a child; without, it answers datagrams itself, in batches.
 */
#include <sys/types.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "model.h"
#include "net.h"
#include "serve.h"
#include "sig.h"
#include "util.h"

#define ACCEPT_TURN	16	/* connections a listener gets per turn */
#define DGRAM_TURN	64	/* datagrams a listener gets per turn */
#define THREAD_PAUSE_MS	100	/* stop accepting after a thread failed */
#define STOP_GRACE_MS	5000	/* beyond --linger, then give up */
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
	int			 fd;		/* -1: a datagram from peer */
	struct sockaddr_storage	 peer;
	socklen_t		 peerlen;
};

struct state {
	struct server	*srv;
	struct stats	*st;
	struct pollfd	*pfd;		/* signals, done, listeners */
	long long	*paused;	/* per listener: accept again at */
	pthread_attr_t	 attr;
	pthread_mutex_t	 lock;		/* guards done */
	struct job	*done;		/* ended, to be joined */
	int		 donefd;	/* eventfd: a job is on done */
	int		 stopfd;	/* eventfd: readable once stopping */
	int		 running;	/* the main thread's own count */
	int		 spare;
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
		serve_stream_blocking(s->srv, j->l, j->fd, &j->peer, s->st);
	else
		serve_datagram_to(s->srv, j->l, j->l->fd, &j->peer, j->peerlen,
		    s->st);

	pthread_mutex_lock(&s->lock);
	j->next = s->done;
	s->done = j;
	pthread_mutex_unlock(&s->lock);
	/* Only an overflow of the counter fails, and it would still wake. */
	if (write(s->donefd, &one, sizeof one) == -1)
		serve_count(s->st, STAT_ERRORS, 1);
	return NULL;
}

/* Join the threads that have ended. */
static void
collect(struct state *s)
{
	struct job	*j, *next;
	uint64_t	 n;

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

/*
 * Start a thread for connection fd, or for the datagram from peer (fd -1).
 * Returns -1 if none could be had.
 */
static int
spawn(struct state *s, const struct listener *l, int fd,
    const struct sockaddr_storage *peer, socklen_t peerlen)
{
	struct job	*j;
	int		 e;

	if ((j = malloc(sizeof *j)) == NULL) {
		e = errno;
		goto fail;
	}
	j->s = s;
	j->l = l;
	j->fd = fd;
	j->peer = *peer;
	j->peerlen = peerlen;
	if ((e = pthread_create(&j->tid, &s->attr, worker, j)) != 0) {
		free(j);
		goto fail;
	}
	s->running++;
	return 0;
fail:
	errno = e;
	log_limited("%s: thread", l->name);
	serve_count(s->st, STAT_ERRORS, 1);
	if (fd != -1)
		serve_close(fd);
	return -1;
}

/* Accept what is waiting, while there is room for threads. */
static int
accept_some(struct state *s, size_t i)
{
	struct listener		*l = &s->srv->ls[i];
	struct sockaddr_storage	 peer;
	int			 fd, n, pause;

	for (n = 0; n < ACCEPT_TURN && s->running < s->srv->max_workers;
	    n++) {
		fd = serve_accept(l, l->fd, &peer, &s->spare, s->st, &pause);
		if (fd == -1) {
			if (pause > 0)
				s->paused[i] = util_now_ms() + pause;
			return pause == -1 ? -1 : 0;
		}
		if (spawn(s, l, fd, &peer, 0) == -1) {
			s->paused[i] = util_now_ms() + THREAD_PAUSE_MS;
			return 0;
		}
	}
	return 0;
}

/* With --delay: take datagrams, a thread each, while there is room. */
static void
take_datagrams(struct state *s, size_t i)
{
	struct listener		*l = &s->srv->ls[i];
	struct sockaddr_storage	 from;
	socklen_t		 fromlen;
	char			 junk[8];
	int			 n;

	for (n = 0; n < DGRAM_TURN && s->running < s->srv->max_workers;
	    n++) {
		/* The request's bytes are never needed: keep few. */
		if (net_recvfrom(l->fd, junk, sizeof junk, MSG_DONTWAIT, &from,
		    &fromlen) == -1)
			return;
		if (spawn(s, l, -1, &from, fromlen) == -1) {
			s->paused[i] = util_now_ms() + THREAD_PAUSE_MS;
			return;
		}
	}
}

/* Lay out the poll set for this turn; return poll's timeout. */
static int
prepare(struct state *s)
{
	long long	 now = util_now_ms(), wake = -1;
	size_t		 i;
	int		 full = s->running >= s->srv->max_workers;

	s->pfd[0].fd = sig_fd();
	s->pfd[0].events = POLLIN;
	s->pfd[1].fd = s->donefd;
	s->pfd[1].events = POLLIN;
	for (i = 0; i < s->srv->nls; i++) {
		s->pfd[2 + i].fd = s->srv->ls[i].fd;
		s->pfd[2 + i].events = POLLIN;
		/* Datagrams the main thread answers itself wait for nothing. */
		if (s->srv->ls[i].type != SOCK_STREAM &&
		    s->srv->delay_ms == 0)
			continue;
		/* Full: the done eventfd wakes us. */
		if (full)
			s->pfd[2 + i].fd = -1;
		else if (s->paused[i] > now) {
			s->pfd[2 + i].fd = -1;
			if (wake == -1 || s->paused[i] < wake)
				wake = s->paused[i];
		}
	}
	return wake == -1 ? -1 : (int)(wake - now);
}

/* End every delay, and wait a bounded time for the threads to finish. */
static int
stop_threads(struct state *s)
{
	long long	 deadline;
	uint64_t	 one = 1;
	int		 left, ready;

	if (s->running == 0)
		return 0;
	if (write(s->stopfd, &one, sizeof one) == -1)
		log_warn("threads: eventfd");
	deadline = util_now_ms() + s->srv->linger_ms + STOP_GRACE_MS;
	while (s->running > 0 && (left = (int)(deadline - util_now_ms())) > 0) {
		/* Only the signal pipe and the done eventfd. */
		if ((ready = net_poll(s->pfd, 2, left)) == -1) {
			log_warn("poll");
			break;
		}
		/* Interrupted: revents were not written, so none is news. */
		if (ready == 0)
			continue;
		if (s->pfd[0].revents & POLLIN)
			model_signals(s->srv);
		if (s->pfd[1].revents & POLLIN)
			collect(s);
	}
	if (s->running == 0)
		return 0;
	/* They would touch what main frees next: better to say so, and go. */
	log_warnx("%d threads did not finish", s->running);
	return -1;
}

static int
run(struct server *srv)
{
	struct state	*s;
	size_t		 i;
	int		 rc = 0, e, ready;

	if ((s = calloc(1, sizeof *s)) == NULL) {
		log_warn("threads");
		return -1;
	}
	s->srv = srv;
	s->st = &srv->stats[0];
	s->donefd = s->stopfd = s->spare = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_attr_init(&s->attr);
	if ((e = pthread_attr_setstacksize(&s->attr, STACK_SIZE)) != 0)
		errno = e;
	if (e != 0 ||
	    (s->pfd = calloc(2 + srv->nls, sizeof *s->pfd)) == NULL ||
	    (s->paused = calloc(srv->nls, sizeof *s->paused)) == NULL ||
	    (s->donefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (s->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		log_warn("threads");
		rc = -1;
		goto out;
	}
	s->spare = net_spare_open();

	for (;;) {
		ready = net_poll(s->pfd, 2 + srv->nls, prepare(s));
		if (ready == -1) {
			log_warn("poll");
			rc = -1;
			break;
		}
		if (ready == 0)
			continue;
		if (s->pfd[0].revents & POLLIN &&
		    model_signals(srv) & SIG_STOP)
			break;
		if (s->pfd[1].revents & POLLIN)
			collect(s);
		for (i = 0; i < srv->nls; i++) {
			if (s->pfd[2 + i].fd == -1 ||
			    !(s->pfd[2 + i].revents & POLLIN))
				continue;
			if (srv->ls[i].type == SOCK_DGRAM && srv->delay_ms > 0)
				take_datagrams(s, i);
			else if (srv->ls[i].type == SOCK_DGRAM)
				serve_datagrams(srv, &srv->ls[i],
				    srv->ls[i].fd, DGRAM_TURN, s->st);
			else if (accept_some(s, i) == -1) {
				rc = -1;
				break;
			}
		}
		if (rc == -1)
			break;
	}
	if (stop_threads(s) == -1) {
		/* Threads still running use s: it stays, and we go. */
		return -1;
	}
out:
	if (s->donefd != -1)
		close(s->donefd);
	if (s->stopfd != -1)
		close(s->stopfd);
	if (s->spare != -1)
		close(s->spare);
	pthread_mutex_destroy(&s->lock);
	pthread_attr_destroy(&s->attr);
	free(s->pfd);
	free(s->paused);
	free(s);
	return rc;
}

const struct model model_threads = {
	.name = "threads",
	.summary = "a thread per connection",
	.run = run,
	.nslots = model_one_slot,
};
