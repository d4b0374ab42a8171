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
#include <time.h>

#define H_MAXLISTEN	16
#define H_LOGPATH	512

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
	char			logpath[H_LOGPATH]; /* stdout, stderr */
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
 * SIGTERM, wait up to h_ms(H_DEADLINE_MS), then SIGKILL.  Returns the exit
 * status as h_run does: the exit code, 128 + the signal if it was killed,
 * or -1 if it had to be killed with SIGKILL.
 *
 * The log file (under $STAMP_BUILD/tests/log, else /tmp) is removed when
 * the next daemon starts or the test ends, unless an assertion failed
 * since this one started: then it is kept, and a diagnostic names it.
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

/*
 * Run $STAMP with the NULL-terminated arguments that follow r, as h_run
 * does within ms (scaled by the caller).  Returns r->status.
 */
int		 h_stamp(int ms, struct h_result *r, ...);

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
 * Leave out of the NULL-terminated args, in place, each option that
 * $STAMPD --help says model does not take (an option with a "taken by -m"
 * line that lacks model), with its value: -w 2 becomes nothing for
 * iterative, and --max-workers 4 nothing for prefork.  -w (--workers)
 * beside --reuseport stays, since every model takes the two together.
 * Reads --help once, as h_models does, so that a model added later needs
 * no change here.  Returns how many args are left.
 */
int		 h_model_args(const char *model, const char *args[]);

/*
 * Whether buf[0..n) is one whole, fresh reply of proto ("stamp", "time",
 * "daytime" or "ntp"): the exact shape of the protocol, checked here apart
 * from wire.c, and a time within H_SLACK seconds of time(NULL); for ntp,
 * a server's reply to h_dgram_request's request.  n < 0 means the read failed with errno.  If not, the
 * reason goes into why (always NUL-terminated).
 */
/*
 * What a client of proto sends over UDP to be answered, its length in
 * *len: nothing for the time protocols; for ntp, a 48-byte client request
 * whose transmit time h_check_reply expects back as the reply's origin.
 */
const char	*h_dgram_request(const char *proto, size_t *len);

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

/*
 * Clients: TCP connections opened together, read together, and judged by
 * what became of each.  A held client sends a byte after its handshake:
 * the daemon drains it after the reply and keeps the connection until we
 * close it, or --linger runs out.
 */
enum h_cl_state { H_CL_WAIT, H_CL_EOF, H_CL_ERR };

struct h_client {
	int		 fd;
	enum h_cl_state	 state;
	int		 err;		/* errno, in H_CL_ERR */
	int		 connected;	/* its handshake is done */
	time_t		 end;		/* when it ended, by our clock */
	size_t		 got;
	char		 buf[128];	/* a reply that fills it is too long */
};

/* Most clients h_cl_wait and h_cl_connected watch at once. */
#define H_CL_MAX	256

/*
 * Connect to l from the local address src ("127.0.0.5", "::1"; NULL: the
 * kernel's choice), without waiting.
 */
void		 h_cl_open(struct h_client *c, const struct h_listener *l,
		    const char *src);

/* Wait at most ms until the n clients' handshakes end; how many connected. */
int		 h_cl_connected(struct h_client *c, int n, int ms);

/* Connect from src, wait at most ms for the handshake, send one byte. */
void		 h_cl_hold(struct h_client *c, const struct h_listener *l,
		    const char *src, int ms);

/* Read until each waiting client ends (EOF, error, too much), at most ms. */
void		 h_cl_wait(struct h_client *c, int n, int ms);

/* Ended with a whole, fresh reply of proto, then EOF. */
int		 h_cl_served(const struct h_client *c, const char *proto);

/* Closed before a byte came: EOF, or a reset. */
int		 h_cl_refused(const struct h_client *c);

/* What became of it, for a diagnostic (a static buffer). */
const char	*h_cl_what(const struct h_client *c, const char *proto);

void		 h_cl_close(struct h_client *c, int n);

/* One client from src, from connect to EOF within ms: whether served. */
int		 h_cl_ask(const struct h_listener *l, const char *src,
		    struct h_client *c, int ms);

/* Ask again until served, at most ms: a place comes back a moment late. */
int		 h_cl_ask_until(const struct h_listener *l, const char *src,
		    struct h_client *c, int ms);

/*
 * n clients from src held, each waited for (at most ms) until served;
 * how many were (each that was not is said in a diagnostic).
 */
int		 h_cl_hold_n(struct h_client *c, int n,
		    const struct h_listener *l, const char *src, int ms);

/* The address text (IPv4 or IPv6) and port in ss; returns its length. */
socklen_t	 h_addr(const char *text, int port,
		    struct sockaddr_storage *ss);

/* A non-blocking UDP socket connected to l, or -1. */
int		 h_udp_open(const struct h_listener *l);

/* One datagram on fd within ms: its length, or -1 (ETIMEDOUT). */
ssize_t		 h_udp_recv(int fd, char *buf, size_t len, int ms);

/*
 * The counter, asked again for at most ms until it reaches want (a count
 * may be added just after the client saw its end); the last value.
 */
long long	 h_counter_at_least(struct h_daemon *d, const char *name,
		    long long want, int ms);

/* Whether pid is gone, not even a zombie, waiting at most ms. */
int		 h_gone(pid_t pid, int ms);

/*
 * Whether our child pid exits within ms; it is not reaped (h_daemon_stop
 * does that, and says how it ended).
 */
int		 h_exited_within(pid_t pid, int ms);

/* Loopback (127.0.0.1 or ::1) of family, port 0, in ss and *len. */
void		 h_loopback(int family, struct sockaddr_storage *ss,
		    socklen_t *len);

/* The port of an IPv4 or IPv6 address, in host order. */
int		 h_port_of(const struct sockaddr_storage *ss);

/* Same family, address and port. */
int		 h_same_addr(const struct sockaddr_storage *a,
		    const struct sockaddr_storage *b);

/*
 * A socket of family and type (SOCK_STREAM, SOCK_DGRAM, with flags)
 * whose every blocking call gives up after ms; bails out if it cannot.
 */
int		 h_timed_socket(int family, int type, int ms);

/*
 * Wait at most ms until at least want bytes sit in fd's receive queue, so
 * that what one recv() returns no longer depends on how fast the sender
 * was.  Returns the bytes queued at the end (fewer than want on a
 * timeout), -1 if FIONREAD fails.
 */
int		 h_wait_queued(int fd, int want, int ms);

/*
 * System calls, counted: strace(1) attached to a daemon and every process
 * of it, following what they fork, until h_trace_stop.  A test asserts a
 * count with it, never a time: that a daemon does not spin is that its
 * calls stay bounded by the events that called for them; that workers
 * share the clients is that each took some of the accepts.
 */
struct h_trace {
	pid_t	 pid;			/* strace's */
	char	 path[H_LOGPATH];	/* what it wrote, a call a line */
};

/*
 * Attach strace -f to pid and to each of its child processes, tracing the
 * calls named in calls (strace's -e trace= list; NULL: every call); 0 once
 * every thread of them is traced, within h_ms(H_DEADLINE_MS), else -1 (said
 * in a diagnostic, and strace stopped).  The trace file is judged as a
 * daemon's log is: kept if an assertion fails, else removed.
 */
int		 h_trace_start(struct h_trace *t, pid_t pid,
		    const char *calls);

/* Detach (the tasks go on) and wait for strace to end; 0, or -1. */
int		 h_trace_stop(struct h_trace *t);

/*
 * Of the calls that returned while traced: how many were made by task tid
 * (0: by any), named call (NULL: any), whose result was err (NULL: any
 * result; "": success, not -1; "EMFILE": -1 with that errno).
 */
long		 h_trace_count(const struct h_trace *t, pid_t tid,
		    const char *call, const char *err);

/*
 * The tasks seen making a call of t that matches call and err (as
 * h_trace_count takes them), at most max into tids and their counts into
 * n; how many tasks.
 */
int		 h_trace_tasks(const struct h_trace *t, const char *call,
		    const char *err, pid_t *tids, long *n, int max);

/*
 * Ask the metrics listener l: connect, send req whole (any bytes, a
 * request line or not), read until EOF, all within ms.  buf (len bytes)
 * gets what came, NUL-terminated, cut to len - 1.  Returns the bytes read,
 * or -1 with errno (ETIMEDOUT: no EOF within ms; buf holds what came).
 */
ssize_t		 h_ask_metrics(const struct h_listener *l, const char *req,
		    char *buf, size_t len, int ms);

/*
 * The value of the unlabelled metric name on a line of page ("name 4"),
 * or -1 if there is none.
 */
long long	 h_metric(const char *page, const char *name);

#endif /* STAMP_HARNESS_H */
