/*
 * model_uring_ring.c: what the uring model asks of the kernel's io_uring,
 * kept apart from the model's loop: the ring it makes in each worker, the
 * buffers the kernel picks each datagram's from, and the probe that says,
 * before anything is bound, whether this kernel gives a ring with every
 * operation and feature the loop uses.
 *
 * The Makefile leaves model_uring.c out of a build without liburing;
 * this file is compiled always and is empty then.
 */
#ifdef STAMP_URING
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model_uring_ring.h"
#include "serve.h"
#include "util.h"

#define UR_ENTRIES	1024	/* submission queue */
#define UR_CQ_ENTRIES	16384	/* completion queue: a burst's room */
#define UR_NBUF		256	/* buffers for datagrams: a power of 2 */
#define UR_BUFLEN	(SERVE_REQ_MAX + 512) /* a datagram (as much of it as
				   the other models read), its source and
				   control data */
#define UR_NOMEM_MS	2000	/* a ring refused for memory is asked for again */
#define UR_NOMEM_STEP	10
#define UR_CTL		NET_DGRAM_CTL /* control data: where a datagram
				   arrived, and when */

static int
ring_open(struct io_uring *ring)
{
	struct io_uring_params	 p;
	int			 r;

	memset(&p, 0, sizeof p);
	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL |
	    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	p.cq_entries = UR_CQ_ENTRIES;
	if ((r = io_uring_queue_init_params(UR_ENTRIES, ring, &p)) != -EINVAL)
		return r;
	memset(&p, 0, sizeof p);
	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL |
	    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN;
	p.cq_entries = UR_CQ_ENTRIES;
	return io_uring_queue_init_params(UR_ENTRIES, ring, &p);
}

/*
 * A ring's memory counts against RLIMIT_MEMLOCK for every process of the
 * user together, and the kernel gives back the rings of a process that
 * has ended (our start's probe, the image before an upgrade, a worker
 * replaced) a moment after, not at once: a ring refused for memory is
 * asked for again, for UR_NOMEM_MS at most, before the refusal stands.
 */
int
model_uring_ring_open(struct io_uring *ring)
{
	long long	 until = util_now_ms() + UR_NOMEM_MS;
	int		 r;

	while ((r = ring_open(ring)) == -ENOMEM && util_now_ms() < until)
		util_sleep_ms(UR_NOMEM_STEP);
	return r;
}

/* The kernel's reason for refusing a ring, and what it means here. */
static const char *
setup_cause(int err)
{
	char	 c = '0';
	int	 fd;

	static char	 memlock[160];
	struct rlimit	 rl;

	switch (err) {
	case ENOMEM:
		if (getrlimit(RLIMIT_MEMLOCK, &rl) == -1 ||
		    rl.rlim_cur == RLIM_INFINITY)
			return "io_uring_setup";
		snprintf(memlock, sizeof memlock, "io_uring_setup: the user "
		    "stampd runs as may lock %llu KiB (RLIMIT_MEMLOCK), less "
		    "than a ring needs: raise it (LimitMEMLOCK=, ulimit -l)",
		    (unsigned long long)rl.rlim_cur / 1024);
		return memlock;
	case ENOSYS:
		return "io_uring_setup: the kernel has no io_uring, or a "
		    "seccomp filter hides it";
	case EINVAL:
		return "io_uring_setup: Linux 6.0 or later is needed";
	case EPERM:
		break;
	default:
		return "io_uring_setup";
	}
	if ((fd = open("/proc/sys/kernel/io_uring_disabled",
	    O_RDONLY | O_CLOEXEC)) != -1) {
		if (read(fd, &c, 1) != 1)
			c = '0';
		close(fd);
	}
	if (c == '2')
		return "io_uring_setup refused by kernel.io_uring_disabled=2";
	if (c == '1')
		return "io_uring_setup refused by kernel.io_uring_disabled=1 "
		    "to users outside kernel.io_uring_group";
	return "io_uring_setup refused by a seccomp filter or a security "
	    "module";
}

int
model_uring_ring_msg(const struct model_uring_ring_bufs *b, char *buf,
    int len, struct msghdr *m, struct sockaddr_storage *from,
    const char **req, size_t *reqlen)
{
	struct io_uring_recvmsg_out	*out;
	struct msghdr			*rx = (struct msghdr *)&b->rx;
	size_t				 namelen;

	if ((out = io_uring_recvmsg_validate(buf, len, rx)) == NULL)
		return -1;
	namelen = out->namelen < sizeof *from ? out->namelen : sizeof *from;
	memcpy(from, io_uring_recvmsg_name(out), namelen);
	memset(m, 0, sizeof *m);
	m->msg_name = from;
	m->msg_namelen = (socklen_t)namelen;
	m->msg_control = (char *)io_uring_recvmsg_name(out) + rx->msg_namelen;
	m->msg_controllen = out->controllen;
	m->msg_flags = (int)out->flags;
	*req = io_uring_recvmsg_payload(out, rx);
	*reqlen = io_uring_recvmsg_payload_length(out, len, rx);
	return 0;
}

void
model_uring_ring_rooted(void)
{
	struct rlimit	 rl = { RLIM_INFINITY, RLIM_INFINITY };

	/* Only root may raise it; anyone else keeps the limit it has. */
	if (geteuid() == 0)
		(void)setrlimit(RLIMIT_MEMLOCK, &rl);
}

/*
 * The rings and buffers of workers workers, made and given back: each
 * ring's memory counts against the user's RLIMIT_MEMLOCK.  0, or -1 and
 * why.
 */
static int
enough(int workers, char *why, size_t len)
{
	struct model_uring_ring_bufs	*b;
	struct io_uring			*rings;
	struct rlimit			 rl;
	int				 i, n, r = 0;

	rings = calloc((size_t)workers, sizeof *rings);
	b = calloc((size_t)workers, sizeof *b);
	if (rings == NULL || b == NULL) {
		snprintf(why, len, "the rings of %d workers: %s", workers,
		    strerror(errno));
		free(rings);
		free(b);
		return -1;
	}
	for (n = 0; n < workers; n++) {
		if ((r = model_uring_ring_open(&rings[n])) < 0)
			break;
		if (model_uring_ring_bufs(&rings[n], &b[n]) == -1) {
			r = -errno;
			io_uring_queue_exit(&rings[n]);
			model_uring_ring_bufs_free(&b[n]);
			break;
		}
	}
	for (i = 0; i < n; i++) {
		io_uring_queue_exit(&rings[i]);
		model_uring_ring_bufs_free(&b[i]);
	}
	free(rings);
	free(b);
	if (r >= 0)
		return 0;
	if (-r == ENOMEM && getrlimit(RLIMIT_MEMLOCK, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY)
		snprintf(why, len, "the ring of worker %d of %d: %s: the "
		    "user stampd runs as may lock %llu KiB (RLIMIT_MEMLOCK): "
		    "raise it (LimitMEMLOCK=, ulimit -l), give fewer workers "
		    "(-w), or use -m event", n + 1, workers, strerror(-r),
		    (unsigned long long)rl.rlim_cur / 1024);
	else
		snprintf(why, len, "the ring of worker %d of %d: %s; give "
		    "fewer workers (-w), or use -m event", n + 1, workers,
		    strerror(-r));
	return -1;
}

int
model_uring_ring_usable(int workers, char *why, size_t len)
{
	static const struct {
		int		 op;
		const char	*name;
	} ops[] = {
		{ IORING_OP_ACCEPT, "ACCEPT" },
		{ IORING_OP_SEND, "SEND" },
		{ IORING_OP_RECV, "RECV" },
		{ IORING_OP_SENDMSG, "SENDMSG" },
		{ IORING_OP_RECVMSG, "RECVMSG" },
		{ IORING_OP_CLOSE, "CLOSE" },
		{ IORING_OP_POLL_ADD, "POLL_ADD" },
		{ IORING_OP_TIMEOUT, "TIMEOUT" },
		{ IORING_OP_TIMEOUT_REMOVE, "TIMEOUT_REMOVE" },
		{ IORING_OP_LINK_TIMEOUT, "LINK_TIMEOUT" },
		{ IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL" },
	};
	const unsigned		 feats = IORING_FEAT_NODROP |
	    IORING_FEAT_SUBMIT_STABLE | IORING_FEAT_FAST_POLL |
	    IORING_FEAT_EXT_ARG | IORING_FEAT_CQE_SKIP;
	struct io_uring		 ring;
	struct io_uring_probe	*probe;
	size_t			 i;
	int			 r;

	if ((r = model_uring_ring_open(&ring)) < 0) {
		snprintf(why, len, "io_uring is not available (%s: %s); use "
		    "-m event", setup_cause(-r), strerror(-r));
		return -1;
	}
	r = 0;
	if ((ring.features & feats) != feats) {
		snprintf(why, len, "io_uring is not available (the kernel's "
		    "lacks features 0x%x: Linux 6.0 or later is needed); use "
		    "-m event", feats & ~ring.features);
		r = -1;
	} else if ((probe = io_uring_get_probe_ring(&ring)) == NULL) {
		snprintf(why, len, "io_uring is not available (its probe "
		    "failed); use -m event");
		r = -1;
	} else {
		for (i = 0; i < sizeof ops / sizeof ops[0] && r == 0; i++)
			if (!io_uring_opcode_supported(probe, ops[i].op)) {
				snprintf(why, len, "io_uring is not available "
				    "(the kernel lacks IORING_OP_%s); use -m "
				    "event", ops[i].name);
				r = -1;
			}
		io_uring_free_probe(probe);
	}
	io_uring_queue_exit(&ring);
	return r == 0 ? enough(workers, why, len) : r;
}

int
model_uring_ring_bufs(struct io_uring *ring, struct model_uring_ring_bufs *b)
{
	struct io_uring_buf_reg	 reg;
	int			 i, r;

	b->br = mmap(NULL, UR_NBUF * sizeof(struct io_uring_buf),
	    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->br == MAP_FAILED) {
		b->br = NULL;
		return -1;
	}
	if ((b->mem = malloc((size_t)UR_NBUF * UR_BUFLEN)) == NULL)
		return -1;
	memset(&reg, 0, sizeof reg);
	reg.ring_addr = (unsigned long)(uintptr_t)b->br;
	reg.ring_entries = UR_NBUF;
	reg.bgid = MODEL_URING_RING_BGID;
	if ((r = io_uring_register_buf_ring(ring, &reg, 0)) < 0) {
		errno = -r;
		return -1;
	}
	io_uring_buf_ring_init(b->br);
	for (i = 0; i < UR_NBUF; i++)
		io_uring_buf_ring_add(b->br, b->mem + (size_t)i * UR_BUFLEN,
		    UR_BUFLEN, (unsigned short)i,
		    io_uring_buf_ring_mask(UR_NBUF), i);
	io_uring_buf_ring_advance(b->br, UR_NBUF);
	b->rx.msg_namelen = sizeof(struct sockaddr_storage);
	b->rx.msg_controllen = UR_CTL;
	return 0;
}

char *
model_uring_ring_buf(struct model_uring_ring_bufs *b, unsigned bid)
{
	return bid < UR_NBUF ? b->mem + (size_t)bid * UR_BUFLEN : NULL;
}

void
model_uring_ring_buf_put(struct model_uring_ring_bufs *b, unsigned bid)
{
	io_uring_buf_ring_add(b->br, b->mem + (size_t)bid * UR_BUFLEN,
	    UR_BUFLEN, (unsigned short)bid, io_uring_buf_ring_mask(UR_NBUF),
	    0);
	io_uring_buf_ring_advance(b->br, 1);
}

void
model_uring_ring_bufs_free(struct model_uring_ring_bufs *b)
{
	if (b->br != NULL)
		munmap(b->br, UR_NBUF * sizeof(struct io_uring_buf));
	free(b->mem);
}
#endif /* STAMP_URING */
