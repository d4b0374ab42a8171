/*
 * xleave.c: the table of interleaved mode, as xleave.h says.
 *
 * A slot is two 64-bit words, written and read with atomics by any worker
 * of any process: rx, the key, then tx.  A reader that finds rx checks it
 * again after reading tx, so that a slot taken by another reply meanwhile
 * is never read as half of each.  Nothing blocks, nothing allocates after
 * xleave_init.
 */
#include <sys/mman.h>

#include <errno.h>

#include "xleave.h"

struct slot {
	uint64_t	 rx;
	uint64_t	 tx;
};

static struct slot	*table;
static size_t		 mask;

int
xleave_init(size_t n)
{
	size_t	 size = 1;

	if (n == 0 || n > XLEAVE_MAX) {
		errno = EINVAL;
		return -1;
	}
	while (size < n)
		size <<= 1;
	table = mmap(NULL, size * sizeof *table, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (table == MAP_FAILED) {
		table = NULL;
		return -1;
	}
	mask = size - 1;
	return 0;
}

int
xleave_on(void)
{
	return table != NULL;
}

/*
 * A receive timestamp's slot.  Its low bits are the nanoseconds, which
 * clients cannot choose; the multiply spreads the seconds in too.
 */
static struct slot *
slot(uint64_t rx)
{
	return &table[(rx * 0x9E3779B97F4A7C15ULL >> 32) & mask];
}

void
xleave_sent(uint64_t rx, uint64_t tx)
{
	struct slot	*s;

	if (table == NULL || rx == 0)
		return;
	s = slot(rx);
	/* Key last: a reader that sees the new key sees its tx too. */
	__atomic_store_n(&s->rx, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&s->tx, tx, __ATOMIC_RELEASE);
	__atomic_store_n(&s->rx, rx, __ATOMIC_RELEASE);
}

int
xleave_find(uint64_t rx, uint64_t *tx)
{
	struct slot	*s;
	uint64_t	 t;

	if (table == NULL || rx == 0)
		return 0;
	s = slot(rx);
	if (__atomic_load_n(&s->rx, __ATOMIC_ACQUIRE) != rx)
		return 0;
	t = __atomic_load_n(&s->tx, __ATOMIC_ACQUIRE);
	if (__atomic_load_n(&s->rx, __ATOMIC_ACQUIRE) != rx || t == 0)
		return 0;
	*tx = t;
	return 1;
}
