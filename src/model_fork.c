/*
 * model_fork.c: a child process per connection.
 *
 * The parent waits on its signal pipe and every listener; for each
 * connection it forks a child that waits the delay, serves the connection
 * blocking and exits, while the parent goes back to accept.  Each client
 * gets a process of its own, which is the point (a crash or a stall stays
 * with that client), and pays a fork for it, which is the cost.
 *
 * At most --max-workers children run at once.  At that limit the parent
 * stops polling the listeners children serve, so the kernel's queues hold
 * the next clients, until SIGCHLD says a child has ended: it never spins.
 * Children are reaped on SIGCHLD, so none is left a zombie, and they are
 * told to stop by pid, never by process group.
 *
 * A datagram has no socket of its own to hand over: the parent takes it
 * off the listener's queue and gives the child only its source address,
 * and the child answers through the listener, which it keeps open for
 * that.  Without --delay the parent answers datagrams itself, in batches:
 * with no work to wait for, a fork would cost far more than the answer.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
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
#define FORK_PAUSE_MS	100	/* stop accepting after fork fails */
#define STOP_GRACE_MS	5000	/* beyond --linger, before SIGKILL */

struct state {
	struct server	*srv;
	struct stats	*st;
	struct pollfd	*pfd;		/* signal pipe, listeners */
	long long	*paused;	/* per listener: accept again at */
	pid_t		*kids;		/* the children running, packed */
	int		 nkids;
	int		 spare;
};

/*
 * What one child does with its connection (fd), or with its datagram (fd
 * -1, from peer); it never returns.
 */
static void __attribute__((noreturn))
child(struct state *s, const struct listener *l, int fd,
    const struct sockaddr_storage *peer, socklen_t peerlen,
    const sigset_t *oldmask)
{
	size_t	 i;

	/*
	 * A pipe of its own: a stop (sent by the parent, or by a terminal
	 * to the whole group) then ends the delay but not the reply.
	 */
	if (sig_init() == -1) {
		log_warn("fork: signals");
		_exit(1);
	}
	sigprocmask(SIG_SETMASK, oldmask, NULL);
	/*
	 * A child that kept a listener open would keep the port bound after
	 * the parent is gone, and the next daemon could not bind it; only
	 * the one a datagram's answer goes out on stays, for one delay.
	 */
	for (i = 0; i < s->srv->nls; i++)
		if (fd != -1 || &s->srv->ls[i] != l)
			close(s->srv->ls[i].fd);
	if (s->spare != -1)
		close(s->spare);

	serve_sleep(s->srv->delay_ms);
	if (fd != -1)
		serve_stream_blocking(s->srv, l, fd, peer, s->st);
	else
		serve_datagram_to(s->srv, l, l->fd, peer, peerlen, s->st);
	_exit(0);
}

/*
 * Fork a child for connection fd (the parent keeps no copy), or for the
 * datagram from peer (fd -1).  Returns -1 on failure.
 */
static int
spawn(struct state *s, const struct listener *l, int fd,
    const struct sockaddr_storage *peer, socklen_t peerlen)
{
	sigset_t	 all, old;
	pid_t		 pid;

	/*
	 * Signals wait until the child has its own pipe: one caught before
	 * sig_init would go into the parent's pipe and be lost to the child.
	 */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((pid = fork()) == 0)
		child(s, l, fd, peer, peerlen, &old);
	sigprocmask(SIG_SETMASK, &old, NULL);
	/* The child gives back the connection's place under the limits. */
	if (fd != -1 && pid == -1)
		serve_close(fd);
	else if (fd != -1)
		close(fd);
	if (pid == -1) {
		log_limited("%s: fork", l->name);
		serve_count(s->st, STAT_ERRORS, 1);
		return -1;
	}
	s->kids[s->nkids++] = pid;
	return 0;
}

static void
forget(struct state *s, pid_t pid)
{
	int	 i;

	for (i = 0; i < s->nkids; i++)
		if (s->kids[i] == pid) {
			s->kids[i] = s->kids[--s->nkids];
			return;
		}
}

static void
reap(struct state *s)
{
	pid_t	 pid;
	int	 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		forget(s, pid);
		if (WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM)
			log_warnx("child %ld killed by signal %d",
			    (long)pid, WTERMSIG(status));
		else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			log_warnx("child %ld exited with status %d",
			    (long)pid, WEXITSTATUS(status));
	}
}

/* Accept what is waiting, while there is room for children. */
static int
accept_some(struct state *s, size_t i)
{
	struct listener		*l = &s->srv->ls[i];
	struct sockaddr_storage	 peer;
	int			 fd, n, pause;

	for (n = 0; n < ACCEPT_TURN && s->nkids < s->srv->max_workers; n++) {
		fd = serve_accept(l, l->fd, &peer, &s->spare, s->st,
		    &pause);
		if (fd == -1) {
			if (pause > 0)
				s->paused[i] = util_now_ms() + pause;
			return pause == -1 ? -1 : 0;
		}
		if (spawn(s, l, fd, &peer, 0) == -1) {
			/* Out of processes: let some end before the next. */
			s->paused[i] = util_now_ms() + FORK_PAUSE_MS;
			return 0;
		}
	}
	return 0;
}

/* With --delay: take datagrams, a child each, while there is room. */
static void
take_datagrams(struct state *s, size_t i)
{
	struct listener		*l = &s->srv->ls[i];
	struct sockaddr_storage	 from;
	socklen_t		 fromlen;
	char			 junk[8];
	int			 n;

	for (n = 0; n < DGRAM_TURN && s->nkids < s->srv->max_workers; n++) {
		/* The request's bytes are never needed: keep few. */
		if (net_recvfrom(l->fd, junk, sizeof junk, MSG_DONTWAIT, &from,
		    &fromlen) == -1)
			return;
		if (spawn(s, l, -1, &from, fromlen) == -1) {
			s->paused[i] = util_now_ms() + FORK_PAUSE_MS;
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
	int		 full = s->nkids >= s->srv->max_workers;

	s->pfd[0].fd = sig_fd();
	s->pfd[0].events = POLLIN;
	for (i = 0; i < s->srv->nls; i++) {
		s->pfd[1 + i].fd = s->srv->ls[i].fd;
		s->pfd[1 + i].events = POLLIN;
		/* Datagrams the parent answers itself wait for nothing. */
		if (s->srv->ls[i].type != SOCK_STREAM &&
		    s->srv->delay_ms == 0)
			continue;
		/* Full: SIGCHLD, on the signal pipe, wakes us. */
		if (full)
			s->pfd[1 + i].fd = -1;
		else if (s->paused[i] > now) {
			s->pfd[1 + i].fd = -1;
			if (wake == -1 || s->paused[i] < wake)
				wake = s->paused[i];
		}
	}
	return wake == -1 ? -1 : (int)(wake - now);
}

/*
 * Tell every child to stop (its delay ends, its reply goes out), wait for
 * them a bounded time, and kill by pid any that is still there.
 */
static void
stop_children(struct state *s)
{
	long long	 deadline;
	int		 i, left, ready;

	for (i = 0; i < s->nkids; i++)
		kill(s->kids[i], SIGTERM);
	deadline = util_now_ms() + s->srv->linger_ms + STOP_GRACE_MS;
	s->pfd[0].fd = sig_fd();
	s->pfd[0].events = POLLIN;
	while (s->nkids > 0 && (left = (int)(deadline - util_now_ms())) > 0) {
		if ((ready = net_poll(s->pfd, 1, left)) == -1) {
			log_warn("poll");
			break;
		}
		/* Interrupted: revents were not written, so none is news. */
		if (ready == 0)
			continue;
		if (s->pfd[0].revents & POLLIN)
			model_signals(s->srv);
		reap(s);
	}
	if (s->nkids > 0)
		log_warnx("%d children did not stop; killing them", s->nkids);
	for (i = 0; i < s->nkids; i++) {
		kill(s->kids[i], SIGKILL);
		while (waitpid(s->kids[i], NULL, 0) == -1 && errno == EINTR)
			;
	}
	s->nkids = 0;
}

static int
run(struct server *srv)
{
	struct state	 s = { .srv = srv, .st = &srv->stats[0] };
	size_t		 i;
	int		 seen, ready, rc = 0;

	s.pfd = calloc(1 + srv->nls, sizeof *s.pfd);
	s.paused = calloc(srv->nls, sizeof *s.paused);
	s.kids = calloc((size_t)srv->max_workers, sizeof *s.kids);
	if (s.pfd == NULL || s.paused == NULL || s.kids == NULL) {
		log_warn("fork");
		rc = -1;
		goto out;
	}
	s.spare = net_spare_open();

	for (;;) {
		ready = net_poll(s.pfd, 1 + srv->nls, prepare(&s));
		if (ready == -1) {
			log_warn("poll");
			rc = -1;
			break;
		}
		if (ready == 0)
			continue;
		if (s.pfd[0].revents & POLLIN) {
			seen = model_signals(srv);
			if (seen & SIG_CHILD)
				reap(&s);
			if (seen & SIG_STOP)
				break;
		}
		for (i = 0; i < srv->nls; i++) {
			if (s.pfd[1 + i].fd == -1 ||
			    !(s.pfd[1 + i].revents & POLLIN))
				continue;
			if (srv->ls[i].type == SOCK_DGRAM && srv->delay_ms > 0)
				take_datagrams(&s, i);
			else if (srv->ls[i].type == SOCK_DGRAM)
				serve_datagrams(srv, &srv->ls[i],
				    srv->ls[i].fd, DGRAM_TURN, s.st);
			else if (accept_some(&s, i) == -1) {
				rc = -1;
				break;
			}
		}
		if (rc == -1)
			break;
	}
	stop_children(&s);
	if (s.spare != -1)
		close(s.spare);
out:
	free(s.pfd);
	free(s.paused);
	free(s.kids);
	return rc;
}

const struct model model_fork = {
	.name = "fork",
	.summary = "a child process per connection",
	.run = run,
	.nslots = model_one_slot,
};
