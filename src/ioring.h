/*
 * ioring.h: io_uring, the least of it, by its three system calls (no
 * liburing): a submission queue to fill, one call to submit it and wait,
 * a completion queue to read.
 *
 * Like net, it never prints and never exits: it returns -1 with errno.
 * It owns io_uring_enter's EINTR and its timeout, which are no errors.
 * What a request does is the caller's business: it fills each entry with
 * the kernel's own structure (linux/io_uring.h).
 */
#ifndef STAMP_IORING_H
#define STAMP_IORING_H

#include <linux/io_uring.h>

#include <stddef.h>
#include <stdint.h>

struct ioring {
	int			 fd;
	unsigned		 sq_entries;
	unsigned		*sq_head, *sq_tail, *sq_mask;
	unsigned		*cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe	*sqes;
	struct io_uring_cqe	*cqes;
	unsigned		 tail;		/* of the entries we filled */
	unsigned		 unsent;	/* filled, not yet submitted */
	void			*map;		/* both rings, one mapping */
	size_t			 map_len;
	size_t			 sqes_len;
};

/*
 * Set up a ring of entries submissions and cq_entries completions (each
 * cut to the kernel's most), for use by the calling thread alone.  Fails
 * with ENOSYS if the kernel lacks what we use (one mapping for both
 * rings, no dropped completion, a timeout on the wait, completions
 * skipped on success: Linux 5.17); errno as io_uring_setup(2) otherwise
 * (EPERM when io_uring is disabled).
 */
int	ioring_init(struct ioring *r, unsigned entries, unsigned cq_entries);

/* Unmap and close; what is in flight is cancelled by the kernel. */
void	ioring_free(struct ioring *r);

/* How many entries can be had now without submitting. */
unsigned ioring_room(const struct ioring *r);

/* A zeroed submission entry to fill, or NULL if the queue is full. */
struct io_uring_sqe *ioring_sqe(struct ioring *r);

/*
 * Submit what was filled, and wait until at least wait_nr completions
 * are there or timeout_ns has passed (wait_nr 0: do not wait).  Returns
 * 0, also on a timeout or an interruption; -1 with errno on any other
 * failure.
 */
int	ioring_enter(struct ioring *r, unsigned wait_nr, int64_t timeout_ns);

/* The next completion, or NULL; ioring_seen hands it back. */
struct io_uring_cqe *ioring_cqe(struct ioring *r);
void	ioring_seen(struct ioring *r);

#endif /* STAMP_IORING_H */
