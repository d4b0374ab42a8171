/*
 * ioring.c: io_uring by its system calls, as ioring.h says.
 *
 * The rings are shared with the kernel: the tail we write and the head we
 * read of the submission queue, the head we write and the tail we read of
 * the completion queue, each with release or acquire order so that an
 * entry is whole before its index is seen.  One thread owns a ring; the
 * kernel is told so (SINGLE_ISSUER, DEFER_TASKRUN), which lets it finish
 * our requests only when we ask for completions, in our own time, rather
 * than interrupt us for each.
 */
#include <sys/mman.h>
#include <sys/syscall.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ioring.h"

#define NSEC	1000000000LL

/* What we rely on; all of it is in Linux 5.17. */
#define FEATURES	(IORING_FEAT_SINGLE_MMAP | IORING_FEAT_NODROP | \
			 IORING_FEAT_EXT_ARG | IORING_FEAT_CQE_SKIP)

static int
setup(unsigned entries, struct io_uring_params *p, unsigned cq_entries)
{
	/* From the best to the least a kernel may know: EINVAL says no. */
	static const unsigned	 tries[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_COOP_TASKRUN,
		0,
	};
	size_t			 i;
	int			 fd = -1;

	for (i = 0; i < sizeof tries / sizeof tries[0]; i++) {
		memset(p, 0, sizeof *p);
		p->flags = tries[i] | IORING_SETUP_CQSIZE |
		    IORING_SETUP_CLAMP | IORING_SETUP_SUBMIT_ALL;
		p->cq_entries = cq_entries;
		fd = (int)syscall(__NR_io_uring_setup, entries, p);
		if (fd != -1 || errno != EINVAL)
			break;
	}
	return fd;
}

int
ioring_init(struct ioring *r, unsigned entries, unsigned cq_entries)
{
	struct io_uring_params	 p;
	size_t			 sq_len, cq_len;
	char			*base;
	unsigned		*array, i;
	int			 e;

	memset(r, 0, sizeof *r);
	r->map = r->sqes = MAP_FAILED;
	if ((r->fd = setup(entries, &p, cq_entries)) == -1)
		return -1;
	if ((p.features & FEATURES) != FEATURES) {
		errno = ENOSYS;
		goto fail;
	}
	sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	r->map_len = sq_len > cq_len ? sq_len : cq_len;
	r->map = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
	if (r->map == MAP_FAILED)
		goto fail;
	r->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
	r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
	if (r->sqes == MAP_FAILED)
		goto fail;
	base = r->map;
	r->sq_entries = p.sq_entries;
	r->sq_head = (unsigned *)(void *)(base + p.sq_off.head);
	r->sq_tail = (unsigned *)(void *)(base + p.sq_off.tail);
	r->sq_mask = (unsigned *)(void *)(base + p.sq_off.ring_mask);
	r->cq_head = (unsigned *)(void *)(base + p.cq_off.head);
	r->cq_tail = (unsigned *)(void *)(base + p.cq_off.tail);
	r->cq_mask = (unsigned *)(void *)(base + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(void *)(base + p.cq_off.cqes);
	/* Entry i is always in slot i: the indirection is not used. */
	array = (unsigned *)(void *)(base + p.sq_off.array);
	for (i = 0; i < p.sq_entries; i++)
		array[i] = i;
	r->tail = *r->sq_tail;
	return 0;
fail:
	e = errno;
	ioring_free(r);
	errno = e;
	return -1;
}

void
ioring_free(struct ioring *r)
{
	if (r->sqes != MAP_FAILED && r->sqes != NULL)
		munmap(r->sqes, r->sqes_len);
	if (r->map != MAP_FAILED && r->map != NULL)
		munmap(r->map, r->map_len);
	if (r->fd != -1)
		close(r->fd);
	r->sqes = MAP_FAILED;
	r->map = MAP_FAILED;
	r->fd = -1;
}

unsigned
ioring_room(const struct ioring *r)
{
	return r->sq_entries -
	    (r->tail - __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE));
}

struct io_uring_sqe *
ioring_sqe(struct ioring *r)
{
	struct io_uring_sqe	*sqe;

	if (ioring_room(r) == 0)
		return NULL;
	sqe = &r->sqes[r->tail & *r->sq_mask];
	memset(sqe, 0, sizeof *sqe);
	r->tail++;
	r->unsent++;
	return sqe;
}

int
ioring_enter(struct ioring *r, unsigned wait_nr, int64_t timeout_ns)
{
	struct io_uring_getevents_arg	 arg;
	struct __kernel_timespec	 ts;
	long				 n;

	__atomic_store_n(r->sq_tail, r->tail, __ATOMIC_RELEASE);
	if (timeout_ns < 0)
		timeout_ns = 0;
	ts.tv_sec = timeout_ns / NSEC;
	ts.tv_nsec = timeout_ns % NSEC;
	memset(&arg, 0, sizeof arg);
	arg.ts = (uint64_t)(uintptr_t)&ts;
	n = syscall(__NR_io_uring_enter, r->fd, r->unsent, wait_nr,
	    IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof arg);
	if (n >= 0) {
		r->unsent -= (unsigned)n < r->unsent ? (unsigned)n : r->unsent;
		return 0;
	}
	/*
	 * Nothing was submitted: a wait that ended by its timeout or a
	 * signal, or a kernel short of memory or of room for completions
	 * (EAGAIN, EBUSY), which the next call tries again.
	 */
	if (errno == ETIME || errno == EINTR || errno == EAGAIN ||
	    errno == EBUSY)
		return 0;
	return -1;
}

struct io_uring_cqe *
ioring_cqe(struct ioring *r)
{
	unsigned	 head = *r->cq_head;

	if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
		return NULL;
	return &r->cqes[head & *r->cq_mask];
}

void
ioring_seen(struct ioring *r)
{
	__atomic_store_n(r->cq_head, *r->cq_head + 1, __ATOMIC_RELEASE);
}
