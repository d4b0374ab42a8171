/*
 * srcwait.c: the table of the sources whose connections wait for their
 * first bytes.
 *
 * A hash of the sources, keyed by a random seed so that no choice of
 * addresses makes one long chain, over an array of sources that grows by
 * doubling and is found by index; the waiters are chained through their
 * own links, so that the oldest of a source and the oldest of all are
 * found at once, and a waiter leaves in constant time.  Nothing here
 * closes, counts or waits: the loop that owns the waiters does.
 */
#include <sys/types.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "log.h"
#include "net.h"
#include "srcwait.h"
#include "util.h"

#define NBUCKET		1024	/* the sources' hash; a power of 2 */
#define SRC_MIN		16	/* sources allocated at first */

/* A source with waiters; a free one is chained by next. */
struct srcwait_source {
	uint64_t		 key;
	int			 n;
	struct srcwait_chain	 chain;
	int			 next;		/* in its bucket */
};

/* The link whose member m is the node at p. */
#define OWNER(p, m)	((struct srcwait_link *)(void *)((char *)(p) - \
			    offsetof(struct srcwait_link, m)))

int
srcwait_init(struct srcwait *t)
{
	int	 k;

	t->src = NULL;
	t->nsrc = t->n = 0;
	t->srcfree = -1;
	t->all.oldest = t->all.newest = NULL;
	if ((t->bucket = malloc(NBUCKET * sizeof *t->bucket)) == NULL)
		return -1;
	for (k = 0; k < NBUCKET; k++)
		t->bucket[k] = -1;
	/* Keyed, so that no choice of addresses makes one long chain. */
	if (getrandom(&t->seed, sizeof t->seed, GRND_NONBLOCK) !=
	    sizeof t->seed)
		t->seed = (uint64_t)util_now_ms() * 0x9e3779b97f4a7c15ULL;
	return 0;
}

void
srcwait_free(struct srcwait *t)
{
	free(t->src);
	free(t->bucket);
	t->src = NULL;
	t->bucket = NULL;
	t->nsrc = t->n = 0;
	t->srcfree = -1;
	t->all.oldest = t->all.newest = NULL;
}

/* Sources from first on are free: chained so that the lowest goes first. */
static void
unused(struct srcwait *t, int first)
{
	int	 j;

	for (j = t->nsrc - 1; j >= first; j--) {
		t->src[j].next = t->srcfree;
		t->srcfree = j;
	}
}

int
srcwait_reserve(struct srcwait *t, int n)
{
	struct srcwait_source	*s;
	int			 j;

	if (t->nsrc >= n)
		return 0;
	if ((s = realloc(t->src, (size_t)n * sizeof *s)) == NULL)
		return -1;
	t->src = s;
	j = t->nsrc;
	t->nsrc = n;
	unused(t, j);
	return 0;
}

void
srcwait_link_init(struct srcwait_link *k)
{
	k->src = -1;
}

int
srcwait_joined(const struct srcwait_link *k)
{
	return k->src != -1;
}

/* splitmix64's finaliser: every bit of the key moves every bit. */
static uint64_t
mix(uint64_t x)
{
	x = (x ^ x >> 30) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ x >> 27) * 0x94d049bb133111ebULL;
	return x ^ x >> 31;
}

static int *
bucket(struct srcwait *t, uint64_t key)
{
	return &t->bucket[mix(key ^ t->seed) & (NBUCKET - 1)];
}

/* The source that peer is, or -1 when none of its connections waits. */
static int
find(struct srcwait *t, const struct sockaddr_storage *peer, uint64_t *key)
{
	int	 s, lo;

	*key = net_source_key(peer, &lo);
	for (s = *bucket(t, *key); s != -1; s = t->src[s].next)
		if (t->src[s].key == *key)
			return s;
	return -1;
}

struct srcwait_link *
srcwait_crowded(struct srcwait *t, const char *name,
    const struct sockaddr_storage *peer)
{
	char		 addr[NET_ADDRSTRLEN];
	uint64_t	 key;
	int		 s;

	if ((s = find(t, peer, &key)) == -1 ||
	    t->src[s].n < SRCWAIT_PER_SOURCE)
		return NULL;
	log_limitedx("%s: %d connections from %s wait for their first bytes: "
	    "the oldest is closed", name, t->src[s].n,
	    net_addr_str((const void *)peer, addr, sizeof addr));
	return OWNER(t->src[s].chain.oldest, bysrc);
}

struct srcwait_link *
srcwait_full(struct srcwait *t, const char *name)
{
	if (t->n < SRCWAIT_MAX)
		return NULL;
	log_limitedx("%s: %d connections wait for their first bytes: the "
	    "oldest is closed", name, t->n);
	return OWNER(t->all.oldest, all);
}

/* Node x goes last in chain c: the newest. */
static void
chain_add(struct srcwait_chain *c, struct srcwait_node *x)
{
	x->older = c->newest;
	x->newer = NULL;
	if (c->newest != NULL)
		c->newest->newer = x;
	else
		c->oldest = x;
	c->newest = x;
}

static void
chain_del(struct srcwait_chain *c, struct srcwait_node *x)
{
	if (x->older != NULL)
		x->older->newer = x->newer;
	else
		c->oldest = x->newer;
	if (x->newer != NULL)
		x->newer->older = x->older;
	else
		c->newest = x->older;
}

int
srcwait_join(struct srcwait *t, struct srcwait_link *k,
    const struct sockaddr_storage *peer)
{
	struct srcwait_source	*s;
	uint64_t		 key;
	int			*b, j;

	if ((j = find(t, peer, &key)) == -1) {
		if (t->srcfree == -1 && srcwait_reserve(t, t->nsrc > 0 ?
		    t->nsrc * 2 : SRC_MIN) == -1)
			return -1;
		j = t->srcfree;
		s = &t->src[j];
		t->srcfree = s->next;
		b = bucket(t, key);
		s->key = key;
		s->n = 0;
		s->chain.oldest = s->chain.newest = NULL;
		s->next = *b;
		*b = j;
	}
	s = &t->src[j];
	k->src = j;
	chain_add(&s->chain, &k->bysrc);
	s->n++;
	chain_add(&t->all, &k->all);
	t->n++;
	return 0;
}

void
srcwait_leave(struct srcwait *t, struct srcwait_link *k)
{
	struct srcwait_source	*s;
	int			*b;

	if (k->src == -1)
		return;
	s = &t->src[k->src];
	chain_del(&s->chain, &k->bysrc);
	if (--s->n == 0) {
		for (b = bucket(t, s->key); *b != k->src; b = &t->src[*b].next)
			continue;
		*b = s->next;
		s->next = t->srcfree;
		t->srcfree = k->src;
	}
	chain_del(&t->all, &k->all);
	t->n--;
	k->src = -1;
}

void
srcwait_clear(struct srcwait *t)
{
	int	 j;

	for (j = 0; j < NBUCKET; j++)
		t->bucket[j] = -1;
	t->srcfree = -1;
	unused(t, 0);
	t->n = 0;
	t->all.oldest = t->all.newest = NULL;
}
