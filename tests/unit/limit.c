/*
 * limit.c: the limits table, as data: places taken and given back, by
 * connection and by owner; a process killed while it held the lock; a
 * flood of sources that the table has no room for.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "limit.h"
#include "tap.h"

static enum limit_why	 why;	/* what the last refusal said */

static struct sockaddr_storage
v4(const char *a)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof ss);
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, a, &sin->sin_addr);
	return ss;
}

/* n sources 10.0.x.y, each admitted once at time now; how many were. */
static int
admit_many(struct limits *lim, int n, long long now, pid_t owner)
{
	struct sockaddr_storage	 ss;
	char			 a[32];
	int			 i, got = 0;

	for (i = 0; i < n; i++) {
		snprintf(a, sizeof a, "10.%d.%d.%d", i >> 16 & 255,
		    i >> 8 & 255, i & 255);
		ss = v4(a);
		got += limit_admit(lim, &ss, now, owner, &why) != LIMIT_REFUSED;
	}
	return got;
}

static void
t_max_conns(void)
{
	struct sockaddr_storage	 a = v4("192.0.2.1");
	struct limits		*lim = limit_new(2, 0, 0, 0);
	int			 p1, p2, p3;

	p1 = limit_admit(lim, &a, 0, 100, &why);
	p2 = limit_admit(lim, &a, 0, 100, &why);
	p3 = limit_admit(lim, &a, 0, 100, &why);
	ok(p1 >= 0 && p2 >= 0 && p1 != p2, "max-conns 2: two places");
	is_int(p3, LIMIT_REFUSED, "max-conns 2: the third is refused");
	is_int(why, LIMIT_MAX_CONNS, "max-conns 2: and says so");
	limit_release(lim, p1);
	limit_release(lim, p1);
	is_int(limit_open(lim), 1, "a place given back twice counts once");
	ok(limit_admit(lim, &a, 0, 100, &why) >= 0, "then one more is admitted");
	limit_free(lim);
}

static void
t_owner(void)
{
	struct sockaddr_storage	 a = v4("192.0.2.1"), b = v4("192.0.2.2");
	struct sockaddr_storage	 c = v4("192.0.2.3");
	struct limits		*lim = limit_new(5, 2, 0, 0);
	int			 p;

	limit_admit(lim, &a, 0, 100, &why);
	limit_admit(lim, &a, 0, 100, &why);
	p = limit_admit(lim, &b, 0, 100, &why);
	limit_admit(lim, &b, 0, 200, &why);
	is_int(limit_admit(lim, &a, 0, 300, &why), LIMIT_REFUSED,
	    "per-ip 2: a third from one source is refused");
	is_int(why, LIMIT_PER_IP, "per-ip 2: and says so");
	limit_own(lim, p, 200);
	is_int(limit_release_owner(lim, 100), 2,
	    "a dead owner's two places are given back");
	is_int(limit_open(lim), 2, "the other owner's two stay");
	ok(limit_admit(lim, &a, 0, 300, &why) >= 0 &&
	    limit_admit(lim, &a, 0, 300, &why) >= 0,
	    "per-ip: the source's places are back too");
	ok(limit_admit(lim, &c, 0, 300, &why) >= 0, "max-conns 5: a fifth");
	is_int(limit_admit(lim, &c, 0, 300, &why), LIMIT_REFUSED,
	    "max-conns 5: full again");
	is_int(why, LIMIT_MAX_CONNS, "max-conns 5: and says so");
	is_int(limit_release_owner(lim, 200), 2,
	    "a place handed to a child is the child's");
	limit_free(lim);
}

/* A child killed with places held: its parent finds them by pid. */
static void
t_killed_holder(void)
{
	struct sockaddr_storage	 a = v4("192.0.2.1");
	struct limits		*lim = limit_new(3, 0, 0, 0);
	pid_t			 pid;
	int			 p;

	p = limit_admit(lim, &a, 0, getpid(), &why);
	if ((pid = fork()) == 0) {
		limit_admit(lim, &a, 0, getpid(), &why);
		limit_own(lim, p, getpid());
		raise(SIGKILL);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	is_int(limit_release_owner(lim, pid), 2,
	    "a killed child's places are found by its pid");
	is_int(limit_open(lim), 0, "and nothing else is held");
	limit_free(lim);
}

static void
t_flood(void)
{
	struct sockaddr_storage	 a = v4("192.0.2.1");
	struct limits		*lim = limit_new(0, 1, 0, 0);
	int			 got;

	got = admit_many(lim, 20000, 0, 100);
	ok(got < 20000, "per-ip: 20000 new sources are not all tracked "
	    "(%d admitted)", got);
	is_int(limit_open(lim), got, "every one admitted holds a place");
	is_int(limit_release_owner(lim, 100), got,
	    "and every place is given back");
	ok(limit_admit(lim, &a, 0, 100, &why) >= 0, "then a source is admitted");
	is_int(limit_admit(lim, &a, 0, 100, &why), LIMIT_REFUSED,
	    "and held to --per-ip 1");
	limit_free(lim);
}

static void
t_rate(void)
{
	struct sockaddr_storage	 a = v4("192.0.2.1");
	struct limits		*lim = limit_new(0, 0, 2, 0);
	int			 i, got = 0;

	for (i = 0; i < 5; i++)
		got += limit_admit(lim, &a, 1000, 100, &why) != LIMIT_REFUSED;
	is_int(got, 2, "rate 2: two of five at once");
	is_int(why, LIMIT_RATE, "rate 2: and says so");
	/* Idle neighbours do not refill it: only time does. */
	admit_many(lim, 100, 1000, 100);
	is_int(limit_admit(lim, &a, 1000, 100, &why), LIMIT_REFUSED,
	    "rate 2: newcomers do not refill another's bucket");
	ok(limit_admit(lim, &a, 1600, 100, &why) >= 0, "rate 2: refilled by time");
	limit_free(lim);
}

int
main(void)
{
	t_max_conns();
	t_owner();
	t_killed_holder();
	t_flood();
	t_rate();
	done_testing();
}
