/*
 * stampd: the time-stamp daemon.
 *
 * main reads as a checklist: options, signals, listeners, announcements,
 * privileges, counters and limits, ready, serve, clean up; or, after
 * SIGUSR2, hand the listeners over and exec the binary again (upgrade.h).
 * Before serving, any error is fatal and named; once serving, no client's
 * fault is (serve.c counts those), and only the model's own invariants
 * can stop it.  The command line and the configuration files are
 * conf.c's, the sockets listen.c's.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "announce.h"
#include "conf.h"
#include "limit.h"
#include "listen.h"
#include "log.h"
#include "model.h"
#include "notify.h"
#include "ntskey.h"
#include "serve.h"
#include "sig.h"
#include "tls.h"
#include "upgrade.h"

/*
 * Run as user and its groups from now on, for good.  Root never serves
 * unless told to with --user root: without --user it becomes CONF_USER
 * once its ports are bound.
 */
static void
drop_privileges(const char *user)
{
	struct passwd	*pw;

	if (user == NULL && geteuid() == 0)
		user = CONF_USER;
	if (user == NULL)
		return;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL)
		fatalx("--user %s: %s", user, errno ? strerror(errno) :
		    "no such user");
	/* An upgrade's new image: already that user, and no way back. */
	if (getuid() == pw->pw_uid && geteuid() == pw->pw_uid &&
	    getgid() == pw->pw_gid && pw->pw_uid != 0)
		return;
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    setgid(pw->pw_gid) == -1 || setuid(pw->pw_uid) == -1)
		fatal("--user %s", user);
	/* Make sure there is no way back: a setuid(0) must now fail. */
	if (pw->pw_uid != 0 && setuid(0) == 0)
		fatalx("--user %s: could regain root", user);
}

/*
 * Whether the model can run here as it will run: asked in a child that
 * does what the start does before serving (the root's part, then the drop
 * to the user), so that a limit of that user's or a kernel switch against
 * it is named now, in one line, before anything is bound.  Returns only
 * if it can.
 */
static void
usable(const struct conf *c)
{
	char	 why[512];
	ssize_t	 n;
	size_t	 got = 0;
	pid_t	 pid;
	int	 p[2], st;

	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1)
		fatal("-m %s: try it", c->model->name);
	if (pid == 0) {
		close(p[0]);
		if (c->model->rooted != NULL)
			c->model->rooted();
		drop_privileges(c->user);
		if (c->model->usable(c->srv.workers, why, sizeof why) == 0)
			_exit(0);
		(void)!write(p[1], why, strlen(why));
		_exit(1);
	}
	close(p[1]);
	while (got < sizeof why - 1 &&
	    ((n = read(p[0], why + got, sizeof why - 1 - got)) > 0 ||
	    (n == -1 && errno == EINTR)))
		if (n > 0)
			got += (size_t)n;
	why[got] = '\0';
	close(p[0]);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			fatal("-m %s: try it", c->model->name);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return;
	if (got > 0)
		fatalx("-m %s: %s", c->model->name, why);
	/* The child said why itself (the drop to --user failed). */
	exit(1);
}

/* Make the sockets of the --announce targets, and say where they go. */
static void
announce_ready(struct announce *ann)
{
	char	 what[128];
	size_t	 i, bad;

	if (ann->ifname != NULL &&
	    (ann->ifindex = if_nametoindex(ann->ifname)) == 0)
		fatal("--announce-if %s", ann->ifname);
	if (ann->n > 0 && announce_open(ann, &bad) == -1)
		fatal("announce %s", bad < ann->n ? ann->t[bad].name :
		    "timer");
	for (i = 0; i < ann->n; i++)
		log_info("announcing %s", announce_describe(ann, i, what,
		    sizeof what));
}

/* Shared, so that the processes of a pool count into one place. */
static void
counters(struct server *srv, const struct model *model)
{
	srv->nstats = model->nslots(srv);
	srv->stats = mmap(NULL, srv->nstats * sizeof *srv->stats,
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (srv->stats == MAP_FAILED)
		fatal("counters");
}

/* SIGALRM every ms reaches the model as a SIGUSR1 would. */
static void
stats_timer(long long ms)
{
	struct itimerval	 every;

	every.it_interval.tv_sec = ms / 1000;
	every.it_interval.tv_usec = (ms % 1000) * 1000;
	every.it_value = every.it_interval;
	if (setitimer(ITIMER_REAL, &every, NULL) == -1)
		fatal("--stats-interval");
}

/*
 * NTS's certificate and cookie keys, before anything is bound, as the
 * user main is now: at start root, which can read a key only it may;
 * an upgrade's check and image run as the user stampd runs as, which must
 * read them too.  With check, a key file that does not exist yet is not
 * made (the start makes it), and one this user may not read is not judged:
 * the start judged it as root, and an upgrade takes the secret from the
 * image before it, not from the file.
 */
static void
nts_setup(const struct conf *c, int check)
{
#ifdef STAMP_NTS
	const char	*why;

	if (c->tls_cert != NULL &&
	    tls_server_init(c->tls_cert, c->tls_key, &why) == -1)
		fatalx("--tls-cert %s, --tls-key %s: %s", c->tls_cert,
		    c->tls_key, why);
	if (check && (c->nts_key_file == NULL ||
	    access(c->nts_key_file, R_OK) == -1))
		return;
	errno = 0;
	if (ntskey_init(c->nts_key_file, (unsigned)c->nts_rotate, &why) == -1)
		fatalx("--nts-key-file %s: %s%s%s", c->nts_key_file != NULL ?
		    c->nts_key_file : "(none)", why, errno ? ": " : "",
		    errno ? strerror(errno) : "");
#else
	(void)check;
	if (c->tls_cert != NULL || c->nts_key_file != NULL)
		fatalx("NTS: stampd was built without GnuTLS");
#endif
}

/*
 * The NTS secret for an upgrade's trial start (upgrade.h), which runs as
 * the user, like the image after it, and takes it as that image does; -1
 * without NTS.
 */
static int
trial_key(void)
{
#ifdef STAMP_NTS
	return ntskey_memfd();
#else
	return -1;
#endif
}

/*
 * --check: what the words of the command line and the files name must
 * exist here too; nothing is bound or opened.  With -v, the configuration
 * they make, on stdout.
 */
static int
check_only(const struct conf *c)
{
	if (c->print)
		conf_print(c, stdout);
	errno = 0;
	if (c->user != NULL && getpwnam(c->user) == NULL)
		fatalx("--user %s: %s", c->user, errno ? strerror(errno) :
		    "no such user");
	if (c->ann.ifname != NULL && if_nametoindex(c->ann.ifname) == 0)
		fatal("--announce-if %s", c->ann.ifname);
	nts_setup(c, 1);
	return 0;
}

/*
 * Root that became another user: can that user run the binary an upgrade
 * would exec?  If not, every SIGUSR2 would be refused; said now, once,
 * while serving goes on.
 */
static void
upgradable(void)
{
	if (access(upgrade_path(), X_OK) == -1)
		log_warn("SIGUSR2 upgrades will be refused: the user stampd "
		    "runs as cannot run %s", upgrade_path());
}

/*
 * SIGUSR2, checked and stopped: the listeners stay open and go to the new
 * image, which serves what queued meanwhile.  SIGTERM wins: the signals
 * are held first, then a stop that came is looked at, here (return, and
 * main stops) and at the exec (exit here).  Returns only if a stop came
 * before anything was handed over.
 */
static void
upgrade(struct conf *c, struct server *srv)
{
	/* From here a TERM waits, pending; one that came already shows. */
	sig_hold();
	if (sig_stopping()) {
		log_info("upgrade: a stop came first; not upgrading");
		sig_release();
		return;
	}
	announce_stop(&c->ann);
	stats_report(srv);
	/* An itimer outlives execve, and SIGALRM would kill the new image. */
	if (c->stats_ms > 0)
		stats_timer(0);
	notify_handover(listen_handover(srv->ls, srv->nls, srv->workers,
	    notify_fd()));
#ifdef STAMP_NTS
	/*
	 * The cookies handed out so far stay good in the next image; after
	 * the sockets, which take the descriptors from 3 up.  Past the
	 * handover nothing may stop the exec: without the keys, clients
	 * only run key establishment again.
	 */
	if (ntskey_handover() == -1)
		log_warn("upgrade: the NTS keys stay behind, and clients "
		    "must get new cookies");
#endif
	if (upgrade_exec() == -1 && errno == EINTR) {
		/* Every model finished what was in flight: only exit is
		   left. */
		log_info("upgrade: a stop came before the exec; not upgrading");
		exit(0);
	}
	/* Past the handover there is no way back: a supervisor restarts. */
	fatal("upgrade: exec %s", upgrade_path());
}

int
main(int argc, char *argv[])
{
	static struct conf	 conf;
	static struct listener	 ls[LISTEN_MAX];
	struct server		*srv = &conf.srv;
	const char		*reason;
	int			 rc, upgraded, root = geteuid() == 0;

	log_init("stampd");
	if ((upgraded = upgrade_init(argc, argv)) == -1)
		fatal("upgrade");
	/* On trial, what goes wrong is said; what goes right is not. */
	if (upgrade_trial())
		log_quiet();
	conf_parse(&conf, argc, argv, upgraded);
	/* A model this kernel or build cannot run: refused, --check too. */
	if (!conf.inetd && conf.model->usable != NULL)
		usable(&conf);
	if (conf.check)
		return check_only(&conf);
	if (conf.syslog)
		log_syslog();
	log_timestamps(conf.timestamps);
	if (notify_init() == -1)
		fatal("NOTIFY_SOCKET");
	if (sig_init() == -1)
		fatal("signals");
	/* Held across the exec of an upgrade, until the handlers were in. */
	sig_release();
	/* A TERM held across the exec wins: the new image never serves. */
	if (upgraded && sig_stopping()) {
		log_info("upgrade: a stop came during the exec; not serving");
		return 0;
	}
	if (conf.inetd) {
		drop_privileges(conf.user);
		return listen_inetd(srv, conf.lis.proto);
	}

	nts_setup(&conf, 0);
	srv->ls = ls;
	srv->nls = listen_open(ls, &conf.lis, srv->workers);
	upgrade_serving(ls, srv->nls, srv->workers, trial_key(), NTSKEY_ENV);
	announce_ready(&conf.ann);
	if (conf.model->rooted != NULL)
		conf.model->rooted();
	drop_privileges(conf.user);
	if (root && geteuid() != 0)
		upgradable();
	counters(srv, conf.model);
	if ((conf.max_conns || conf.per_ip || conf.rate) &&
	    (srv->limits = limit_new(conf.max_conns, conf.per_ip, conf.rate,
	    srv->limit_loopback)) == NULL)
		fatal("limits");
	if (serve_init(srv, &reason) == -1)
		fatalx("%s", reason);
	/* A new binary's trial start (upgrade.h) ends here, ready. */
	if (upgrade_trial())
		return 0;

	if (conf.ready_fd != -1 && close(conf.ready_fd) == -1)
		fatal("--ready-fd %d", conf.ready_fd);
	if (conf.stats_ms > 0)
		stats_timer(conf.stats_ms);
	if (conf.ann.n > 0 && announce_start(&conf.ann) == -1)
		fatal("announce");
	if (upgraded)
		log_info("upgraded: serving what was handed over, pid %ld",
		    (long)getpid());
	notify("READY=1\nMAINPID=%ld\nSTATUS=serving %zu listeners, model %s",
	    (long)getpid(), srv->nls, conf.model->name);
	rc = conf.model->run(srv);
	if (rc == 0 && upgrade_pending())
		upgrade(&conf, srv);
	/* A stop that a loop took without looking at a check under way. */
	upgrade_cancel();
	model_finish(srv);
	announce_stop(&conf.ann);
	stats_report(srv);
	listen_close(ls, srv->nls, srv->workers);
	munmap(srv->stats, srv->nstats * sizeof *srv->stats);
	return rc == 0 ? 0 : 1;
}
