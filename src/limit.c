/*
 * limit.c: the connection limits, in one table shared by every process.
 *
 * The table is open-addressed: a source's entry is found within PROBE
 * slots of its hash, and an entry with no connection open and a full
 * bucket is free for another source.  A full neighbourhood admits the
 * client untracked rather than refusing it: --max-conns still holds, and
 * a flood of new sources cannot lock out every newcomer.
 */
#include <sys/types.h>
#include <sys/mman.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "limit.h"
#include "net.h"

#define SLOTS	8192	/* a power of two */
#define PROBE	16

struct source {
	uint64_t	 key;
	int		 used;
	int		 conns;		/* open now */
	long long	 milli;		/* rate tokens, in thousandths */
	long long	 last;		/* ms of the last refill */
};

struct limits {
	pthread_mutex_t	 lock;
	int		 max_conns, per_ip, rate, loopback;
	int		 conns;		/* open now, all sources */
	struct source	 s[SLOTS];
};

struct limits *
limit_new(int max_conns, int per_ip, int rate, int loopback)
{
	pthread_mutexattr_t	 attr;
	struct limits		*lim;

	lim = mmap(NULL, sizeof *lim, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (lim == MAP_FAILED)
		return NULL;
	lim->max_conns = max_conns;
	lim->per_ip = per_ip;
	lim->rate = rate;
	lim->loopback = loopback;
	if ((errno = pthread_mutexattr_init(&attr)) != 0 ||
	    (errno = pthread_mutexattr_setpshared(&attr,
	    PTHREAD_PROCESS_SHARED)) != 0 ||
	    (errno = pthread_mutexattr_setrobust(&attr,
	    PTHREAD_MUTEX_ROBUST)) != 0 ||
	    (errno = pthread_mutex_init(&lim->lock, &attr)) != 0) {
		munmap(lim, sizeof *lim);
		return NULL;
	}
	pthread_mutexattr_destroy(&attr);
	return lim;
}

void
limit_free(struct limits *lim)
{
	if (lim == NULL)
		return;
	pthread_mutex_destroy(&lim->lock);
	munmap(lim, sizeof *lim);
}

static void
lock(struct limits *lim)
{
	/*
	 * The holder died (a pool worker killed mid-admit): its change to
	 * the counts is lost at worst, which only loosens a limit a little.
	 */
	if (pthread_mutex_lock(&lim->lock) == EOWNERDEAD)
		pthread_mutex_consistent(&lim->lock);
}

static void
refill(const struct limits *lim, struct source *s, long long now)
{
	s->milli += (now - s->last) * lim->rate;
	if (s->milli > lim->rate * 1000LL)
		s->milli = lim->rate * 1000LL;
	s->last = now;
}

/* The entry of key, a fresh one for it, or NULL when none is free. */
static struct source *
find(struct limits *lim, uint64_t key, long long now)
{
	struct source	*s, *spare = NULL;
	uint64_t	 h = key * 0x9e3779b97f4a7c15ULL;
	int		 i;

	for (i = 0; i < PROBE; i++) {
		s = &lim->s[((h >> 40) + (uint64_t)i) & (SLOTS - 1)];
		if (s->used && s->key == key)
			return s;
		if (spare != NULL)
			continue;
		if (!s->used)
			spare = s;
		else if (s->conns == 0) {
			/* Idle and, after a refill, as good as new. */
			refill(lim, s, now);
			if (lim->rate == 0 || s->milli == lim->rate * 1000LL)
				spare = s;
		}
	}
	if (spare != NULL) {
		memset(spare, 0, sizeof *spare);
		spare->used = 1;
		spare->key = key;
		spare->milli = lim->rate * 1000LL;
		spare->last = now;
	}
	return spare;
}

int
limit_admit(struct limits *lim, const struct sockaddr_storage *peer,
    long long now)
{
	struct source	*s = NULL;
	uint64_t	 key;
	int		 loopback, slot = LIMIT_UNTRACKED;

	key = net_source_key(peer, &loopback);
	lock(lim);
	if (lim->max_conns > 0 && lim->conns >= lim->max_conns) {
		slot = LIMIT_REFUSED;
		goto out;
	}
	if ((lim->per_ip > 0 || lim->rate > 0) &&
	    (!loopback || lim->loopback) &&
	    (s = find(lim, key, now)) != NULL) {
		if (lim->rate > 0) {
			refill(lim, s, now);
			if (s->milli < 1000) {
				slot = LIMIT_REFUSED;
				goto out;
			}
		}
		if (lim->per_ip > 0 && s->conns >= lim->per_ip) {
			slot = LIMIT_REFUSED;
			goto out;
		}
		s->milli -= lim->rate > 0 ? 1000 : 0;
		s->conns++;
		slot = (int)(s - lim->s);
	}
	lim->conns++;
out:
	pthread_mutex_unlock(&lim->lock);
	return slot;
}

void
limit_release(struct limits *lim, int slot)
{
	if (slot == LIMIT_REFUSED)
		return;
	lock(lim);
	if (lim->conns > 0)
		lim->conns--;
	if (slot >= 0 && slot < SLOTS && lim->s[slot].conns > 0)
		lim->s[slot].conns--;
	pthread_mutex_unlock(&lim->lock);
}
