/*
 * harness.h: what integration tests need to run real programs.
 *
 * Start stampd on loopback port 0 and learn its ports from its own
 * "listening" lines; run a program with a deadline and collect what it
 * printed; ask a server over TCP or UDP with a timeout; read the models
 * from --help; judge a reply by its shape and its time.  Every process
 * started here is stopped by its pid, at the latest from an atexit handler,
 * and every wait is bounded.
 */
#ifndef STAMP_HARNESS_H
#define STAMP_HARNESS_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

#define H_MAXLISTEN	16

/*
 * Patience.  Every bound on how long a test waits for something that is
 * bound to happen (a daemon to start or stop, a reply to come) is a base
 * in milliseconds passed through h_ms, which multiplies it by the
 * environment's STAMP_TIMEOUT_SCALE: a positive number, 1 when unset or
 * empty.  A slow or loaded machine, or a sanitizer build (make check SAN=1
 * sets 3), sets it higher, and nothing else changes.  A bound that is the
 * very thing under test is not one of these: it has its own margin.
 */

/* The base of the harness's own waits; scaled where it is waited. */
#define H_DEADLINE_MS	5000

/* One client's patience for one reply, scaled. */
#define H_ASK_MS	((int)h_ms(5000))

/* For a daemon's workers, threads or fds to come, go and be reaped, scaled. */
#define H_SETTLE_MS	((int)h_ms(5000))

/*
 * STAMP_TIMEOUT_SCALE, read once; bails out of the test if it is not a
 * positive number.
 */
double		 h_scale(void);

/*
 * ms times h_scale(), rounded up, at least 1 if ms > 0, and small enough
 * that a few of them still add up within an int.
 */
long		 h_ms(long ms);

/* One "listening tcp 127.0.0.1:40123 stamp" line of the daemon. */
struct h_listener {
	char			transport[8];	/* "tcp" or "udp" */
	char			addr[64];	/* "127.0.0.1" or "::1", no [] */
	int			port;
	char			proto[16];	/* "stamp", "time", "daytime" */
	struct sockaddr_storage	ss;		/* addr and port, ready to use */
	socklen_t		sslen;
};

struct h_daemon {
	pid_t			pid;
	char			logpath[64];	/* its stderr, in a temp file */
	int			n;		/* listeners seen */
	struct h_listener	l[H_MAXLISTEN];
};

/*
 * Start $STAMPD with args (a NULL-terminated list, argv[0] not included),
 * stdout and stderr to a temporary file, and wait up to h_ms(H_DEADLINE_MS)
 * for nlisten "listening" lines (and parse them into d->l).  Returns 0, or -1
 * if it exited or the deadline passed (the log is then printed as TAP
 * diagnostics and the process stopped).
 */
int		 h_daemon_start(struct h_daemon *d, int nlisten,
		    const char *const args[]);

/*
 * SIGTERM, wait up to h_ms(H_DEADLINE_MS), then SIGKILL; the log file is
 * removed.  Returns the exit status as h_run does: the exit code, 128 +
 * the signal if it was killed, or -1 if it had to be killed with SIGKILL.
 */
int		 h_daemon_stop(struct h_daemon *d);

/*
 * Everything the daemon has written to stderr so far, NUL-terminated, in a
 * static buffer (the tail if it is larger than that buffer).
 */
const char	*h_daemon_log(struct h_daemon *d);

/* The first listener of the given transport and protocol, or NULL. */
const struct h_listener *h_daemon_find(const struct h_daemon *d,
		    const char *transport, const char *proto);

/* What a finished program did. */
struct h_result {
	int	 status;	/* exit code, 128 + signal, -1 on timeout */
	char	 out[8192];	/* its stdout, NUL-terminated, maybe cut */
	char	 err[8192];	/* its stderr, likewise */
};

/*
 * Run argv (argv[0] a path) with stdin from /dev/null, wait at most
 * timeout_ms (then SIGKILL, status -1), which the caller has scaled with
 * h_ms.  Returns r->status.
 */
int		 h_run(char *const argv[], int timeout_ms, struct h_result *r);

/* The path of a program from the environment (STAMPD, STAMP, STAMPBENCH);
 * bails out of the test if it is not set. */
const char	*h_prog(const char *envname);

/*
 * Ask a server: connect over TCP, read until EOF (at most len bytes), or
 * send one datagram of reqlen bytes (0 is fine) over UDP and read one reply.
 * Every step waits at most timeout_ms.  Returns the bytes read, or -1 with
 * errno (ETIMEDOUT on a timeout).
 */
ssize_t		 h_ask_tcp(const struct sockaddr *addr, socklen_t alen,
		    char *buf, size_t len, int timeout_ms);
ssize_t		 h_ask_udp(const struct sockaddr *addr, socklen_t alen,
		    const char *req, size_t reqlen, char *buf, size_t len,
		    int timeout_ms);

/*
 * A non-blocking TCP socket to addr, its connect started (or done).
 * Returns the fd, or -1 with errno.
 */
int		 h_dial_nb(const struct sockaddr *addr, socklen_t alen);

/*
 * Read what the non-blocking fd has now into buf, at *got of len bytes
 * (*got grows; bytes past len are read and dropped).  Returns 0 if more
 * may come, 1 at EOF, -1 on an error (errno).
 */
int		 h_read_some(int fd, char *buf, size_t len, size_t *got);

/* How many times text stands in log. */
int		 h_count(const char *log, const char *text);

/* Milliseconds on the monotonic clock, for deadlines. */
long long	 h_now_ms(void);

/* Sleep ms milliseconds, a signal notwithstanding. */
void		 h_nap(long ms);

/* Seconds a reply's time may be from our own clock and still be fresh. */
#define H_SLACK		5

/*
 * The models $STAMPD --help lists under "-m, --model NAME": the first word
 * of each line indented as the first below it (a deeper line continues a
 * summary; a shallower one, or an option, ends the list).  At most max
 * names, each NUL-terminated and cut to 31 bytes.  Bails out of the test
 * if --help fails; if it lists none, its output goes out as diagnostics.
 * Returns how many names.
 */
int		 h_models(char names[][32], int max);

/*
 * Whether buf[0..n) is one whole, fresh reply of proto ("stamp", "time"
 * or "daytime"): the exact shape of the protocol, checked here apart from
 * wire.c, and a time that wire_decode finds within H_SLACK seconds of
 * time(NULL).  n < 0 means the read failed with errno.  If not, the
 * reason goes into why (always NUL-terminated).
 */
int		 h_check_reply(const char *proto, const char *buf, ssize_t n,
		    char *why, size_t whylen);

/*
 * Whether buf[0..n) decodes (wire_decode alone judges it) as a stamp reply
 * within H_SLACK seconds of now, a time(2) value.  0 if n <= 0.
 */
int		 h_stamp_near(const char *buf, ssize_t n, long long now);

/* Whether a socket can be bound to ::1, that is, IPv6 loopback works. */
int		 h_ipv6_works(void);

/*
 * The connections waiting in the accept queue of the IPv4 TCP listener on
 * port (/proc/net/tcp shows that count as a listener's rx_queue), or -1
 * if there is no such listener.
 */
int		 h_accept_queue(int port);

/*
 * Send d SIGUSR1 and wait at most h_ms(H_DEADLINE_MS) for the "stampd: stats:"
 * line it logs; returns the counter called name on that line, or -1 if
 * none came or it lacks that counter (said in a diagnostic).
 */
long long	 h_daemon_counter(struct h_daemon *d, const char *name);

#endif /* STAMP_HARNESS_H */
