/*
 * stop.c: SIGTERM and SIGINT stop stampd gracefully; SIGHUP does not.
 *
 * NCLIENT clients connect to a daemon whose replies wait --delay; once
 * its listener's accept queue is empty (every client has been taken by
 * the daemon, and some are still waiting out their delay), the signal
 * goes.  Every one of them must then get its whole, valid reply and an
 * EOF, never a reset, and the daemon must exit 0 within a bound.  Sent
 * while clients are still in the backlog, the signal may turn those away,
 * but only cleanly: a reply whole, or nothing (EOF or reset before any
 * byte).  SIGHUP, to a daemon logging to stderr or (started through
 * socket activation, since its "listening" lines then go to syslog) with
 * --syslog, leaves it serving and logging nothing alarming.  Every model
 * stampd --help lists runs every case.  Nothing here asserts a duration.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "tap.h"

#define NCLIENT		20
#define DELAY		"500"
#define DELAY_MS	500
/* To exit after the signal: delay, linger; scaled. */
#define EXIT_MS		((int)h_ms(15000))
#define MAXMODELS	16
/* What a daemon that keeps serving should never have to say. */
#define ALARM_RE	"warn|error|fatal|kill|did not|Sanitizer|leak|abort"

static char	 models[MAXMODELS][32];
static int	 nmodels;

/* The daemon started here for the --syslog case, for the atexit kill. */
static pid_t	 syslogd_pid, owner;

static int
valid(const char *buf, ssize_t n)
{
	return h_stamp_near(buf, n, (long long)time(NULL));
}

static int
whole(const struct h_client *c)
{
	return c->state == H_CL_EOF && h_stamp_near(c->buf, (ssize_t)c->got,
	    (long long)c->end);
}

/* Whether a line of log, from offset on, matches ALARM_RE; prints it. */
static int
alarming(const char *log, size_t offset)
{
	regex_t		 rx;
	const char	*p, *nl;
	char		 line[512];
	int		 found = 0;
	size_t		 n;

	if (strlen(log) < offset)
		offset = 0;
	if (regcomp(&rx, ALARM_RE, REG_EXTENDED | REG_ICASE | REG_NOSUB) != 0)
		bail("regcomp");
	for (p = log + offset; *p != '\0'; p = *nl == '\0' ? nl : nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		n = (size_t)(nl - p) < sizeof line ? (size_t)(nl - p) :
		    sizeof line - 1;
		memcpy(line, p, n);
		line[n] = '\0';
		/* The counters' line names "errors", as a count. */
		if (strstr(line, "stats: ") == NULL &&
		    regexec(&rx, line, 0, NULL, 0) == 0) {
			diag("log: %s", line);
			found = 1;
		}
	}
	regfree(&rx);
	return found;
}

static int
start(struct h_daemon *d, const char *model)
{
	const char	*args[] = { "-m", model, "-w", "4", "--delay", DELAY,
	    "-l", "tcp:127.0.0.1:0/stamp", "-l", "udp:127.0.0.1:0/stamp",
	    NULL };

	h_model_args(model, args);
	return ok(h_daemon_start(d, 2, args) == 0, "%s: starts", model) ?
	    0 : -1;
}

/*
 * signo once every client has been accepted: all NCLIENT replies come
 * whole, none is reset, and the daemon exits 0.
 */
static void
case_stop(const char *model, int signo, const char *signame)
{
	struct h_client		 c[NCLIENT];
	struct h_daemon		 d;
	const struct h_listener	*l;
	long long		 deadline;
	int			 i, q = -1, good = 0, before = 0, told = 0;
	int			 gone;

	if (start(&d, model) == -1)
		return;
	l = h_daemon_find(&d, "tcp", "stamp");
	for (i = 0; i < NCLIENT; i++)
		h_cl_open(&c[i], l, NULL);
	is_int(h_cl_connected(c, NCLIENT, H_ASK_MS), NCLIENT,
	    "%s: %d clients connect", model, NCLIENT);
	/* One at a time (iterative) takes the delay each. */
	deadline = h_now_ms() + h_ms(NCLIENT * DELAY_MS) + H_ASK_MS;
	/* Reading meanwhile: a reply is checked against the time it came. */
	while ((q = h_accept_queue(l->port)) != 0 && h_now_ms() < deadline)
		h_cl_wait(c, NCLIENT, 5);
	is_int(q, 0, "%s: the daemon has taken every one of them", model);
	kill(d.pid, signo);
	for (i = 0; i < NCLIENT; i++)
		before += c[i].got > 0;
	note("%s: %d of %d replies were still in flight at %s", model,
	    NCLIENT - before, NCLIENT, signame);

	h_cl_wait(c, NCLIENT, EXIT_MS);
	for (i = 0; i < NCLIENT; i++)
		if (whole(&c[i]))
			good++;
		else if (!told++)
			diag("client %d: %s", i, h_cl_what(&c[i], "stamp"));
	h_cl_close(c, NCLIENT);
	is_int(good, NCLIENT, "%s: %s: every accepted client gets its whole "
	    "reply, none a reset", model, signame);
	gone = h_exited_within(d.pid, EXIT_MS);
	ok(gone, "%s: %s: it exits within %d ms", model, signame, EXIT_MS);
	ok(!alarming(h_daemon_log(&d), 0), "%s: %s: nothing alarming in its "
	    "log", model, signame);
	is_int(h_daemon_stop(&d), 0, "%s: %s: exit status 0", model, signame);
}

/*
 * SIGTERM while clients still wait in the backlog (with one process and
 * a delay, most do): each gets a whole reply or, cleanly, nothing.
 */
static void
case_backlog(const char *model)
{
	struct h_client		 c[NCLIENT];
	struct h_daemon		 d;
	const struct h_listener	*l;
	int			 i, good = 0, none = 0, told = 0;

	if (start(&d, model) == -1)
		return;
	l = h_daemon_find(&d, "tcp", "stamp");
	for (i = 0; i < NCLIENT; i++)
		h_cl_open(&c[i], l, NULL);
	is_int(h_cl_connected(c, NCLIENT, H_ASK_MS), NCLIENT,
	    "%s: %d clients connect", model, NCLIENT);
	note("%s: %d in the accept queue at SIGTERM", model,
	    h_accept_queue(l->port));
	kill(d.pid, SIGTERM);
	h_cl_wait(c, NCLIENT, EXIT_MS);
	for (i = 0; i < NCLIENT; i++) {
		if (whole(&c[i]))
			good++;
		else if (h_cl_refused(&c[i]))
			none++;
		else if (!told++)
			diag("client %d: %s", i, h_cl_what(&c[i], "stamp"));
	}
	h_cl_close(c, NCLIENT);
	note("%s: %d served, %d turned away", model, good, none);
	is_int(good + none, NCLIENT, "%s: SIGTERM with a backlog: each gets "
	    "a whole reply or nothing", model);
	ok(h_exited_within(d.pid, EXIT_MS), "%s: it exits within %d ms", model,
	    EXIT_MS);
	is_int(h_daemon_stop(&d), 0, "%s: exit status 0", model);
}

static int
serving(const struct h_daemon *d)
{
	const struct h_listener	*l;
	char			 buf[128];
	ssize_t			 n;
	int			 try;

	l = h_daemon_find(d, "tcp", "stamp");
	n = h_ask_tcp((const struct sockaddr *)&l->ss, l->sslen, buf,
	    sizeof buf, H_ASK_MS + DELAY_MS);
	if (!valid(buf, n))
		return 0;
	l = h_daemon_find(d, "udp", "stamp");
	for (try = 0; try < 3; try++)
		if ((n = h_ask_udp((const struct sockaddr *)&l->ss, l->sslen,
		    "", 0, buf, sizeof buf, H_ASK_MS)) >= 0)
			break;
	return valid(buf, n);
}

static int
running(pid_t pid)
{
	siginfo_t	 si;

	memset(&si, 0, sizeof si);
	return kill(pid, 0) == 0 && waitid(P_PID, (id_t)pid, &si, WEXITED |
	    WNOHANG | WNOWAIT) == 0 && si.si_pid == 0;
}

/* SIGHUP, three times: still running, still serving, nothing alarming. */
static void
case_hup(const char *model)
{
	struct h_daemon	 d;
	size_t		 mark;
	int		 i;

	if (start(&d, model) == -1)
		return;
	ok(serving(&d), "%s: serves before SIGHUP", model);
	mark = strlen(h_daemon_log(&d));
	for (i = 0; i < 3; i++) {
		kill(d.pid, SIGHUP);
		h_nap(100);
	}
	ok(running(d.pid), "%s: SIGHUP: still running", model);
	ok(serving(&d), "%s: SIGHUP: still serving TCP and UDP", model);
	ok(!alarming(h_daemon_log(&d), mark), "%s: SIGHUP: nothing alarming "
	    "in its log", model);
	is_int(h_daemon_stop(&d), 0, "%s: then SIGTERM, exit 0", model);
}

static void
kill_syslogd(void)
{
	if (getpid() != owner || syslogd_pid <= 0)
		return;
	kill(syslogd_pid, SIGKILL);
	while (waitpid(syslogd_pid, NULL, 0) == -1 && errno == EINTR)
		;
	syslogd_pid = 0;
}

/* The inodes of pid's sockets, as a sorted list in buf; how many. */
static int
socket_inodes(pid_t pid, char *buf, size_t len)
{
	struct dirent	*de;
	char		 path[320], link[64];
	ssize_t		 n;
	size_t		 used = 0;
	DIR		*dir;
	int		 count = 0;

	buf[0] = '\0';
	snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
	if ((dir = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL) {
		snprintf(path, sizeof path, "/proc/%ld/fd/%s", (long)pid,
		    de->d_name);
		if ((n = readlink(path, link, sizeof link - 1)) <= 0)
			continue;
		link[n] = '\0';
		if (strncmp(link, "socket:", 7) != 0 || used + n + 2 > len)
			continue;
		used += (size_t)snprintf(buf + used, len - used, "%s ", link);
		count++;
	}
	closedir(dir);
	return count;
}

/*
 * With --syslog, the "listening" lines go to syslog, so the listener is
 * made here and handed over as systemd would (LISTEN_FDS).  SIGHUP then
 * reopens the log: when /dev/log is there, the daemon's socket to it is
 * a new one; it keeps serving, and says nothing on stderr.
 */
static void
case_hup_syslog(const char *model)
{
	struct sockaddr_in	 sin;
	struct stat		 sb;
	socklen_t		 len = sizeof sin;
	FILE			*f;
	char			 logpath[64], pidbuf[16], buf[128];
	char			 before[1024], after[1024];
	const char		*argv[] = { "stampd", "-m", model, "-w", "2",
				    "--syslog", NULL };
	ssize_t			 n = -1;
	int			 lfd, logfd, nul, status, i;

	h_model_args(model, argv);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
	    listen(lfd, 16) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len) == -1)
		bail("a listening socket for --syslog");
	snprintf(logpath, sizeof logpath, "/tmp/stampd-stop.XXXXXX");
	if ((logfd = mkstemp(logpath)) == -1)
		bail("mkstemp");
	owner = getpid();
	fflush(stdout);
	if ((syslogd_pid = fork()) == -1)
		bail("fork");
	if (syslogd_pid == 0) {
		if ((nul = open("/dev/null", O_RDONLY)) == -1 ||
		    dup2(nul, 0) == -1 || dup2(logfd, 1) == -1 ||
		    dup2(logfd, 2) == -1 || dup2(lfd, 3) == -1)
			_exit(127);
		/* lfd may be 3 already: dup2 would then leave FD_CLOEXEC. */
		fcntl(3, F_SETFD, 0);
		snprintf(pidbuf, sizeof pidbuf, "%ld", (long)getpid());
		setenv("LISTEN_PID", pidbuf, 1);
		setenv("LISTEN_FDS", "1", 1);
		setenv("LISTEN_FDNAMES", "stamp", 1);
		execv(h_prog("STAMPD"), (char *const *)argv);
		_exit(127);
	}
	close(lfd);
	close(logfd);

	/* The socket listens already: a client waits until it is served. */
	n = h_ask_tcp((struct sockaddr *)&sin, sizeof sin, buf, sizeof buf,
	    2 * H_ASK_MS);
	ok(valid(buf, n), "%s: --syslog: serves a socket from LISTEN_FDS",
	    model);
	socket_inodes(syslogd_pid, before, sizeof before);
	kill(syslogd_pid, SIGHUP);
	n = -1;
	for (i = 0; i < 20 && !valid(buf, n); i++) {
		h_nap(50);
		n = h_ask_tcp((struct sockaddr *)&sin, sizeof sin, buf,
		    sizeof buf, H_ASK_MS);
	}
	ok(valid(buf, n), "%s: --syslog: SIGHUP: still serving", model);
	if (stat("/dev/log", &sb) == 0 && S_ISSOCK(sb.st_mode)) {
		socket_inodes(syslogd_pid, after, sizeof after);
		ok(strcmp(before, after) != 0, "%s: --syslog: SIGHUP opens a "
		    "new socket to /dev/log", model);
	} else
		skip("no /dev/log here: nothing to reopen");

	kill(syslogd_pid, SIGTERM);
	ok(h_exited_within(syslogd_pid, EXIT_MS), "%s: --syslog: SIGTERM: it "
	    "exits", model);
	kill(syslogd_pid, SIGKILL);
	while (waitpid(syslogd_pid, &status, 0) == -1 && errno == EINTR)
		;
	syslogd_pid = 0;
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "%s: --syslog: exit status 0", model);
	if ((f = fopen(logpath, "r")) != NULL) {
		n = (ssize_t)fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
	} else
		n = snprintf(buf, sizeof buf, "(%s: %s)", logpath,
		    strerror(errno));
	buf[n > 0 ? n : 0] = '\0';
	unlink(logpath);
	if (!is_str(buf, "", "%s: --syslog: nothing on stderr", model))
		diag("stderr: %s", buf);
}

int
main(void)
{
	int	 i;

	signal(SIGPIPE, SIG_IGN);
	atexit(kill_syslogd);
	if ((nmodels = h_models(models, MAXMODELS)) == 0)
		bail("no model listed under -m, --model in stampd --help");
	for (i = 0; i < nmodels; i++) {
		note("model %s", models[i]);
		case_stop(models[i], SIGTERM, "SIGTERM");
		case_stop(models[i], SIGINT, "SIGINT");
		case_backlog(models[i]);
		case_hup(models[i]);
		case_hup_syslog(models[i]);
	}
	return done_testing();
}
