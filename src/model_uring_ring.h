/*
 * model_uring_ring.h: what the uring model asks of the kernel's io_uring
 * before its loop turns: the ring each worker makes, the buffers the
 * kernel picks each datagram's from, and whether this kernel gives them.
 * Only in a build with liburing.
 */
#ifndef STAMP_MODEL_URING_RING_H
#define STAMP_MODEL_URING_RING_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

struct io_uring;
struct io_uring_buf_ring;

/*
 * A ring, as the model wants it: the thread that makes it is the only
 * one to use it, and completions wait until it asks for them (Linux 6.1);
 * before that, 6.0 has the rest.  Refused for memory (RLIMIT_MEMLOCK), it
 * is asked for again for two seconds at most: the kernel gives back the
 * rings of a process that ended a moment after it ends.  Returns 0, or
 * -errno.
 */
int	model_uring_ring_open(struct io_uring *ring);

/*
 * Whether this kernel gives the model, as the user it runs as, a ring with
 * all it uses for each of workers workers, asked before anything is bound
 * and by --check, so that a kernel without it (too old, io_uring disabled
 * for that user, a container's seccomp profile) or a RLIMIT_MEMLOCK too
 * small for the rings is named at once: 0, or -1 and a sentence in why
 * that names the cause and the way out (struct model's usable).
 */
int	model_uring_ring_usable(int workers, char *why, size_t len);

/*
 * A ring's memory counts against RLIMIT_MEMLOCK, summed over every
 * process of the user stampd runs as: nobody's 8 MiB is shared by every
 * daemon that runs as nobody on the host, and a worker that makes its
 * ring after the drop from root failed once they held it all.  Root lifts
 * this process's limit before it goes, and the kernel keeps it after the
 * drop and across the exec of an upgrade (struct model's rooted).
 */
void	model_uring_ring_rooted(void);

/*
 * The buffers of one worker's datagrams, registered with its ring as the
 * group MODEL_URING_RING_BGID; rx is how a multishot recvmsg lays out
 * each: a header, the source, the control data, then the bytes.
 */
#define MODEL_URING_RING_BGID	0
struct model_uring_ring_bufs {
	struct io_uring_buf_ring	*br;
	char				*mem;
	struct msghdr			 rx;
};

/* Make and register them (b zeroed before).  Returns 0, or -1 and errno. */
int	model_uring_ring_bufs(struct io_uring *ring,
	    struct model_uring_ring_bufs *b);

/* Buffer bid, as a completion named it, or NULL if it is none of ours. */
char	*model_uring_ring_buf(struct model_uring_ring_bufs *b, unsigned bid);

/* Give buffer bid back to the kernel once its datagram is answered. */
void	 model_uring_ring_buf_put(struct model_uring_ring_bufs *b,
	    unsigned bid);

/*
 * Read the datagram of len bytes that the kernel laid out in buf: m gets
 * its source (copied into from), control data and flags, as recvmsg would
 * give them, and *req and *reqlen its bytes.  Returns 0, or -1 if buf
 * holds no whole datagram.
 */
int	 model_uring_ring_msg(const struct model_uring_ring_bufs *b,
	    char *buf, int len, struct msghdr *m,
	    struct sockaddr_storage *from, const char **req, size_t *reqlen);

/* Free them, after the ring is gone. */
void	 model_uring_ring_bufs_free(struct model_uring_ring_bufs *b);

#endif /* STAMP_MODEL_URING_RING_H */
