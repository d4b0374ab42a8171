/*
 * sig.c: flags and a self-pipe, nothing more in a handler.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "sig.h"

static int			 pipefd[2] = { -1, -1 };

static const struct {
	int	 signo;
	int	 bit;
} table[] = {
	{ SIGTERM,	SIG_STOP },
	{ SIGINT,	SIG_STOP },
	{ SIGHUP,	SIG_RELOAD },
	{ SIGUSR1,	SIG_STATS },
	{ SIGUSR2,	SIG_UPGRADE },	/* nginx's signal for the same */
	{ SIGALRM,	SIG_STATS },	/* --stats-interval */
	{ SIGCHLD,	SIG_CHILD },
};
#define NTABLE	(sizeof table / sizeof table[0])

/*
 * A count per signal, raised by the handler and only compared by
 * sig_take: reading and clearing one flag word would lose a signal that
 * lands between the read and the clear.
 */
static volatile sig_atomic_t	 raised[NTABLE];
static sig_atomic_t		 taken[NTABLE];
static volatile sig_atomic_t	 stopping;
static volatile sig_atomic_t	 held;		/* sig_stop: an upgrade's */

static void
handler(int signo)
{
	int	 saved = errno;
	size_t	 i;
	char	 c = 0;

	for (i = 0; i < NTABLE; i++)
		if (table[i].signo == signo)
			raised[i]++;
	if (signo == SIGTERM || signo == SIGINT)
		stopping = 1;
	/* A full pipe already says "wake up": losing this byte is fine. */
	if (write(pipefd[1], &c, 1) == -1)
		errno = saved;
	errno = saved;
}

int
sig_init(void)
{
	struct sigaction	 sa;
	size_t			 i;

	if (pipefd[0] != -1) {
		close(pipefd[0]);
		close(pipefd[1]);
	}
	if (pipe2(pipefd, O_NONBLOCK | O_CLOEXEC) == -1)
		return -1;
	for (i = 0; i < NTABLE; i++)
		taken[i] = raised[i];
	stopping = held = 0;

	memset(&sa, 0, sizeof sa);
	/* One handler at a time, so the counts are never raced. */
	sigfillset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		return -1;
	sa.sa_handler = handler;
	sa.sa_flags = SA_NOCLDSTOP;
	for (i = 0; i < NTABLE; i++)
		if (sigaction(table[i].signo, &sa, NULL) == -1)
			return -1;
	return 0;
}

int
sig_fd(void)
{
	return pipefd[0];
}

int
sig_take(void)
{
	char		 buf[64];
	sig_atomic_t	 now;
	size_t		 i;
	int		 seen = 0;

	while (read(pipefd[0], buf, sizeof buf) > 0)
		;
	for (i = 0; i < NTABLE; i++) {
		now = raised[i];
		if (now != taken[i])
			seen |= table[i].bit;
		taken[i] = now;
	}
	if (stopping || held)
		seen |= SIG_STOP;
	return seen;
}

int
sig_pending(void)
{
	size_t	 i;

	for (i = 0; i < NTABLE; i++)
		if (raised[i] != taken[i])
			return 1;
	return stopping || held;
}

int
sig_stopping(void)
{
	return stopping;
}

void
sig_stop(void)
{
	char	 c = 0;

	held = 1;
	/* A full pipe already says "wake up": losing this byte is fine. */
	(void)!write(pipefd[1], &c, 1);
}

static void
mask(int how)
{
	sigset_t	 set;
	size_t		 i;

	sigemptyset(&set);
	for (i = 0; i < NTABLE; i++)
		sigaddset(&set, table[i].signo);
	sigprocmask(how, &set, NULL);
}

void
sig_hold(void)
{
	mask(SIG_BLOCK);
}

void
sig_release(void)
{
	mask(SIG_UNBLOCK);
}

void
sig_default(void)
{
	struct sigaction	 sa;
	size_t			 i;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_DFL;
	for (i = 0; i < NTABLE; i++)
		sigaction(table[i].signo, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
}
