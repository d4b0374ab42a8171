/*
 * limit.c: the connection limits, in one table shared by every process.
 *
 * Sources live in an open-addressed table: a source's entry is found
 * within PROBE slots of its hash, and an entry with no connection open and
 * a full bucket is free for another source (it remembers nothing that a
 * fresh one would not).  The hash is keyed by a secret drawn at start, so
 * that no one can aim many sources at one neighbourhood.  A full
 * neighbourhood refuses the newcomer.
 *
 * Places are the connections admitted, each with its owner's pid.  The
 * owner is what a crash leaves behind: the counts are only ever derived
 * again from the places (recount), so a holder killed in the middle of a
 * change, or a worker killed with places held, costs nothing for good.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/random.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

struct place {
	pid_t		 owner;		/* 0: free */
	int		 source;	/* index in s, or -1: none tracked */
};

struct limits {
	pthread_mutex_t	 lock;
	int		 max_conns, per_ip, rate, loopback;
	uint64_t	 seed;		/* keys the hash */
	size_t		 size;		/* of the mapping */
	int		 conns;		/* places taken */
	int		 nplace;
	int		 hi;		/* no place at or above is taken */
	int		 nfree;		/* free[0..nfree) are free places */
	int		*free;
	struct place	*p;
	struct source	 s[SLOTS];
};

static void	recount(struct limits *);

struct limits *
limit_new(int max_conns, int per_ip, int rate, int loopback)
{
	pthread_mutexattr_t	 attr;
	struct limits		*lim;
	size_t			 size;
	int			 n = max_conns > 0 ? max_conns : LIMIT_PLACES;

	size = sizeof *lim + (size_t)n * (sizeof *lim->p + sizeof *lim->free);
	lim = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (lim == MAP_FAILED)
		return NULL;
	lim->size = size;
	lim->max_conns = max_conns;
	lim->per_ip = per_ip;
	lim->rate = rate;
	lim->loopback = loopback;
	lim->nplace = n;
	lim->p = (struct place *)(lim + 1);
	lim->free = (int *)(lim->p + n);
	if (getrandom(&lim->seed, sizeof lim->seed, 0) != sizeof lim->seed)
		lim->seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
	recount(lim);
	if ((errno = pthread_mutexattr_init(&attr)) != 0 ||
	    (errno = pthread_mutexattr_setpshared(&attr,
	    PTHREAD_PROCESS_SHARED)) != 0 ||
	    (errno = pthread_mutexattr_setrobust(&attr,
	    PTHREAD_MUTEX_ROBUST)) != 0 ||
	    (errno = pthread_mutex_init(&lim->lock, &attr)) != 0) {
		munmap(lim, size);
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
	munmap(lim, lim->size);
}

/*
 * Derive every count from the places: the free list, the total and each
 * source's share.  A place is taken once its owner is written, so a change
 * cut short anywhere before that is simply undone.
 */
static void
recount(struct limits *lim)
{
	int	 i;

	for (i = 0; i < SLOTS; i++)
		lim->s[i].conns = 0;
	lim->conns = lim->nfree = lim->hi = 0;
	/* Lowest last, so the lowest is taken first and hi stays low. */
	for (i = lim->nplace - 1; i >= 0; i--) {
		if (lim->p[i].owner == 0) {
			lim->free[lim->nfree++] = i;
			continue;
		}
		if (lim->hi == 0)
			lim->hi = i + 1;
		lim->conns++;
		if (lim->p[i].source >= 0)
			lim->s[lim->p[i].source].conns++;
	}
}

static void
lock(struct limits *lim)
{
	/* The holder died (a pool worker killed mid-admit): start afresh. */
	if (pthread_mutex_lock(&lim->lock) == EOWNERDEAD) {
		recount(lim);
		pthread_mutex_consistent(&lim->lock);
	}
}

static void
refill(const struct limits *lim, struct source *s, long long now)
{
	s->milli += (now - s->last) * lim->rate;
	if (s->milli > lim->rate * 1000LL)
		s->milli = lim->rate * 1000LL;
	s->last = now;
}

/* splitmix64's finaliser: every bit of the key moves every bit. */
static uint64_t
mix(uint64_t x)
{
	x = (x ^ x >> 30) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ x >> 27) * 0x94d049bb133111ebULL;
	return x ^ x >> 31;
}

/* The entry of key, a fresh one for it, or NULL when none is free. */
static struct source *
find(struct limits *lim, uint64_t key, long long now)
{
	struct source	*s, *spare = NULL;
	uint64_t	 h = mix(key ^ lim->seed);
	int		 i;

	for (i = 0; i < PROBE; i++) {
		s = &lim->s[(h + (uint64_t)i) & (SLOTS - 1)];
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

/*
 * Whether the source s may open one more; takes a rate token if so.  If
 * not, *why says which limit refused.
 */
static int
source_admits(struct limits *lim, struct source *s, long long now,
    enum limit_why *why)
{
	if (lim->rate > 0) {
		refill(lim, s, now);
		*why = LIMIT_RATE;
		if (s->milli < 1000)
			return 0;
	}
	*why = LIMIT_PER_IP;
	if (lim->per_ip > 0 && s->conns >= lim->per_ip)
		return 0;
	if (lim->rate > 0)
		s->milli -= 1000;
	return 1;
}

int
limit_admit(struct limits *lim, const struct sockaddr_storage *peer,
    long long now, pid_t owner, enum limit_why *why)
{
	struct source	*s = NULL;
	uint64_t	 key;
	int		 loopback, place = LIMIT_REFUSED;

	key = net_source_key(peer, &loopback);
	lock(lim);
	*why = LIMIT_MAX_CONNS;
	if (lim->nfree == 0 ||
	    (lim->max_conns > 0 && lim->conns >= lim->max_conns))
		goto out;
	if ((lim->per_ip > 0 || lim->rate > 0) &&
	    (!loopback || lim->loopback)) {
		/* No room for the source: counted with the rate's. */
		*why = LIMIT_RATE;
		if ((s = find(lim, key, now)) == NULL ||
		    !source_admits(lim, s, now, why))
			goto out;
		s->conns++;
	}
	place = lim->free[--lim->nfree];
	lim->p[place].source = s != NULL ? (int)(s - lim->s) : -1;
	lim->p[place].owner = owner;
	lim->conns++;
	if (place >= lim->hi)
		lim->hi = place + 1;
out:
	pthread_mutex_unlock(&lim->lock);
	return place;
}

int
limit_token(struct limits *lim, const struct sockaddr_storage *peer,
    long long now)
{
	struct source	*s;
	enum limit_why	 why;
	uint64_t	 key;
	int		 loopback, ok;

	key = net_source_key(peer, &loopback);
	lock(lim);
	ok = (s = find(lim, key, now)) != NULL &&
	    source_admits(lim, s, now, &why);
	pthread_mutex_unlock(&lim->lock);
	return ok;
}

/* Free place i; the lock is held. */
static void
release(struct limits *lim, int i)
{
	struct place	*p = &lim->p[i];

	if (p->source >= 0 && lim->s[p->source].conns > 0)
		lim->s[p->source].conns--;
	p->owner = 0;
	lim->conns--;
	lim->free[lim->nfree++] = i;
}

void
limit_release(struct limits *lim, int place)
{
	if (place < 0 || place >= lim->nplace)
		return;
	lock(lim);
	if (lim->p[place].owner != 0)
		release(lim, place);
	pthread_mutex_unlock(&lim->lock);
}

void
limit_own(struct limits *lim, int place, pid_t owner)
{
	if (place < 0 || place >= lim->nplace)
		return;
	lock(lim);
	if (lim->p[place].owner != 0)
		lim->p[place].owner = owner;
	pthread_mutex_unlock(&lim->lock);
}

int
limit_release_owner(struct limits *lim, pid_t owner)
{
	int	 i, n = 0;

	lock(lim);
	for (i = 0; i < lim->hi; i++)
		if (lim->p[i].owner == owner) {
			release(lim, i);
			n++;
		}
	pthread_mutex_unlock(&lim->lock);
	return n;
}

int
limit_open(struct limits *lim)
{
	int	 n;

	lock(lim);
	n = lim->conns;
	pthread_mutex_unlock(&lim->lock);
	return n;
}
