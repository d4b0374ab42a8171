/*
 * tests/unit/ntskey.c: the server's cookie keys: the key file made,
 * reused and refused, the secret handed to an upgraded image, the ring's
 * window of periods, and a key made once per thread and period.
 *
 * Keys are compared by what they seal: the same message, nonce and
 * associated data give the same bytes under the same key.  Every file is
 * made in a directory of its own under /tmp, removed at the end.  The
 * handover is checked across a real exec: this program runs itself.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "ntskey.h"
#include "tap.h"

#define NOW		1795604443LL		/* 2026-11-25 */
#define DAY		86400
#define SEALED_MAX	64
#define CHILD_ARG	"--handover-child"

static char	dir[64];
static const unsigned char	nonce[16] = "sixteen byte nce";
static const unsigned char	msg[] = "the keys of a cookie";

/* A name in the test's directory: four may be held at once. */
static const char *
in_dir(const char *name)
{
	static char	 path[4][128];
	static int	 next;

	next = (next + 1) % 4;
	snprintf(path[next], sizeof path[next], "%s/%s", dir, name);
	return path[next];
}

/* What the key of period id seals msg to, in out; its length, or -1. */
static int
seal_by(struct siv *s, unsigned char *out)
{
	if (s == NULL)
		return -1;
	return siv_seal(s, nonce, sizeof nonce, "ad", 2, msg, sizeof msg, out,
	    SEALED_MAX);
}

static int
seal_id(long long now, uint32_t id, unsigned char *out)
{
	struct nts_keyring	 ring;

	ntskey_ring(&ring, now);
	return seal_by(ring.find(ring.arg, id), out);
}

/* Whether two keys seal msg alike. */
static int
same_seal(const unsigned char *a, int alen, const unsigned char *b, int blen)
{
	return alen > 0 && alen == blen && memcmp(a, b, (size_t)alen) == 0;
}

static void
put_file(const char *path, size_t len, mode_t mode)
{
	unsigned char	 buf[64];
	int		 fd;

	memset(buf, 0x5a, sizeof buf);
	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)) == -1 ||
	    write(fd, buf, len) != (ssize_t)len || fchmod(fd, mode) == -1 ||
	    close(fd) == -1)
		bail("cannot write a test file");
}

/* The key file is made 0600 with 32 bytes, and used as it is after. */
static void
test_create(void)
{
	unsigned char	 a[SEALED_MAX], b[SEALED_MAX], sec[NTSKEY_SECRET_LEN];
	unsigned char	 key[SIV_KEY_LEN], label[18];
	const char	*why = NULL, *path = in_dir("key");
	struct siv	*s;
	struct stat	 st;
	uint32_t	 p = (uint32_t)(NOW / DAY);
	int		 alen, blen, fd;

	is_int(ntskey_init(path, 0, &why), 0, "a missing key file is made");
	if (why != NULL)
		diag("why: %s (%s)", why, strerror(errno));
	ok(stat(path, &st) == 0 && S_ISREG(st.st_mode), "it is a file");
	is_int(st.st_mode & 0777, 0600, "mode 0600");
	is_int(st.st_size, NTSKEY_SECRET_LEN, "of 32 bytes");
	is_int(st.st_nlink, 1, "its temporary name is gone");
	alen = seal_id(NOW, p, a);
	ok(alen > 0, "the current key seals");

	is_int(ntskey_init(path, 0, &why), 0, "the file is read again");
	blen = seal_id(NOW, p, b);
	ok(same_seal(a, alen, b, blen), "to the same key");

	/* The key is HMAC-SHA256(secret, "stampd nts key" || period). */
	if ((fd = open(path, O_RDONLY)) == -1 ||
	    read(fd, sec, sizeof sec) != (ssize_t)sizeof sec)
		bail("cannot read the key file");
	close(fd);
	memcpy(label, "stampd nts key", 14);
	label[14] = (unsigned char)(p >> 24);
	label[15] = (unsigned char)(p >> 16);
	label[16] = (unsigned char)(p >> 8);
	label[17] = (unsigned char)p;
	if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, sec, sizeof sec, label,
	    sizeof label, key) < 0 || (s = siv_new(key)) == NULL)
		bail("cannot make the expected key");
	blen = seal_by(s, b);
	siv_free(s);
	ok(same_seal(a, alen, b, blen), "the period's key is the HMAC of "
	    "its number under the secret");

	/* Random secrets differ, and a new secret remakes the keys. */
	is_int(ntskey_init(NULL, 0, &why), 0, "no file: a random secret");
	blen = seal_id(NOW, p, b);
	ok(blen > 0 && !same_seal(a, alen, b, blen), "another key");
	is_int(ntskey_init(NULL, 0, &why), 0, "another random secret");
	alen = seal_id(NOW, p, a);
	ok(alen > 0 && !same_seal(a, alen, b, blen), "another key again");
	unlink(path);
}

/* Files that are not a key, or not only ours, are refused. */
static void
test_refused(void)
{
	static const struct {
		const char	*what;
		size_t		 len;
		mode_t		 mode;
		const char	*re;
	} tab[] = {
		{ "0644",	32, 0644, "chmod 600" },
		{ "0640",	32, 0640, "chmod 600" },
		{ "0620",	32, 0620, "chmod 600" },
		{ "0602",	32, 0602, "chmod 600" },
		{ "31 bytes",	31, 0600, "not a key file: 32 bytes" },
		{ "33 bytes",	33, 0600, "not a key file: 32 bytes" },
		{ "empty",	0,  0600, "not a key file: 32 bytes" },
	};
	const char	*why, *path = in_dir("bad"), *link = in_dir("link");
	size_t		 i;
	int		 rc;

	for (i = 0; i < sizeof tab / sizeof tab[0]; i++) {
		put_file(path, tab[i].len, tab[i].mode);
		why = NULL;
		errno = EINTR;
		rc = ntskey_init(path, 0, &why);
		is_int(rc, -1, "%s: refused", tab[i].what);
		like(why, tab[i].re, "%s: says why", tab[i].what);
		is_int(errno, 0, "%s: no call failed", tab[i].what);
	}
	unlink(path);

	put_file(path, 32, 0600);
	if (symlink(path, link) == -1)
		bail("cannot make a symlink");
	why = NULL;
	is_int(ntskey_init(link, 0, &why), -1, "a symlink to a key: refused");
	like(why, "symbolic link", "says so");
	unlink(link);
	if (symlink(in_dir("nowhere"), link) == -1)
		bail("cannot make a symlink");
	why = NULL;
	is_int(ntskey_init(link, 0, &why), -1, "a dangling symlink: refused");
	like(why, "symbolic link", "says so");
	ok(access(in_dir("nowhere"), F_OK) == -1, "nothing made through it");
	unlink(link);
	unlink(path);

	why = NULL;
	is_int(ntskey_init(dir, 0, &why), -1, "a directory: refused");
	like(why, "not a regular file", "says so");
	if (mkfifo(path, 0600) == -1)
		bail("cannot make a FIFO");
	why = NULL;
	is_int(ntskey_init(path, 0, &why), -1, "a FIFO: refused, not waited "
	    "on");
	like(why, "not a regular file", "says so");
	unlink(path);

	why = NULL;
	errno = 0;
	is_int(ntskey_init(in_dir("none/key"), 0, &why), -1,
	    "in a directory that is not there: refused");
	is_int(errno, ENOENT, "with the call's errno");
	ok(why != NULL, "and the step that failed: %s", why ? why : "");
}

/* The current period, the two before, the one after: no other. */
static void
test_ring(void)
{
	unsigned char		 a[SEALED_MAX], b[SEALED_MAX];
	struct nts_keyring	 ring;
	struct siv		*cur, *prev, *s[4];
	const char		*why;
	uint32_t		 p;
	int			 alen, blen, i;

	is_int(ntskey_init(NULL, 600, &why), 0, "a secret, periods of 600 s");
	p = (uint32_t)(NOW / 600);
	ntskey_ring(&ring, NOW);
	is_int(ring.current, p, "current is now / period");
	ok(ring.find(ring.arg, p) != NULL, "the current key");
	ok(ring.find(ring.arg, p - 1) != NULL, "the one before");
	ok(ring.find(ring.arg, p - 2) != NULL, "two before");
	ok(ring.find(ring.arg, p + 1) != NULL, "one ahead");
	ok(ring.find(ring.arg, p - 3) == NULL, "not three before");
	ok(ring.find(ring.arg, p + 2) == NULL, "not two ahead");
	ok(ring.find(ring.arg, 0) == NULL, "not period 0");
	ok(ring.find(ring.arg, p + 0x80000000U) == NULL, "not far away");
	for (i = 0; i < 4; i++)
		s[i] = ring.find(ring.arg, p - 2 + (uint32_t)i);
	ok(s[0] != s[1] && s[1] != s[2] && s[2] != s[3] && s[0] != s[3],
	    "four keys");
	alen = seal_by(s[2], a);
	blen = seal_by(s[3], b);
	ok(alen > 0 && !same_seal(a, alen, b, blen), "periods' keys differ");

	cur = ring.find(ring.arg, p);
	ntskey_ring(&ring, NOW - NOW % 600 + 599);
	ok(ring.find(ring.arg, p) == cur, "the same period: the same key, "
	    "not made again");
	prev = ring.find(ring.arg, p - 2);

	ntskey_ring(&ring, NOW + 600);
	is_int(ring.current, p + 1, "the next period");
	ok(ring.find(ring.arg, p) == cur, "the last key is kept as it was");
	ok(ring.find(ring.arg, p - 2) == NULL, "the oldest is gone");
	ok(ring.find(ring.arg, p + 2) != NULL, "the next one is made");
	ok(ring.find(ring.arg, p - 2) != prev || prev == NULL,
	    "and its slot now holds another");

	ntskey_ring(&ring, -5);
	is_int(ring.current, 0, "a time before 1970 is period 0");
	ok(ring.find(ring.arg, 0) != NULL, "which has a key");
	ok(ring.find(ring.arg, 1) != NULL, "and one ahead");
}

struct other {
	long long	 now;
	uint32_t	 id;
	struct siv	*s;
	unsigned char	 out[SEALED_MAX];
	int		 len;
};

static void *
other_thread(void *arg)
{
	struct other		*o = arg;
	struct nts_keyring	 ring;

	ntskey_ring(&ring, o->now);
	o->s = ring.find(ring.arg, o->id);
	o->len = seal_by(o->s, o->out);
	return NULL;
}

/* Each thread its own keys, the same keys; freed when it ends. */
static void
test_threads(void)
{
	unsigned char		 a[SEALED_MAX];
	struct nts_keyring	 ring;
	struct other		 o[3];
	pthread_t		 t[3];
	const char		*why;
	uint32_t		 p = (uint32_t)(NOW / DAY);
	int			 alen, i;

	is_int(ntskey_init(NULL, 0, &why), 0, "a secret");
	ntskey_ring(&ring, NOW);
	alen = seal_by(ring.find(ring.arg, p), a);
	for (i = 0; i < 3; i++) {
		o[i].now = NOW;
		o[i].id = p;
		if (pthread_create(&t[i], NULL, other_thread, &o[i]) != 0)
			bail("pthread_create");
	}
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < 3; i++) {
		ok(o[i].s != NULL && o[i].s != ring.find(ring.arg, p),
		    "thread %d: a key of its own", i);
		ok(same_seal(a, alen, o[i].out, o[i].len),
		    "thread %d: the same key", i);
	}
}

/* Run by the exec of the handover: what this image found, on stdout. */
static int
handover_child(void)
{
	unsigned char	 out[SEALED_MAX];
	const char	*env = getenv(NTSKEY_ENV), *why = NULL;
	int		 fd = env != NULL ? atoi(env) : -1, len, i;

	/* A path too: the handed-over secret comes first. */
	if (ntskey_init(in_dir("child"), 0, &why) == -1) {
		printf("init: %s\n", why);
		return 1;
	}
	len = seal_id(NOW, (uint32_t)(NOW / DAY), out);
	for (i = 0; i < len; i++)
		printf("%02x", out[i]);
	printf(" env=%s fd=%s child=%s\n",
	    getenv(NTSKEY_ENV) == NULL ? "gone" : "left",
	    fd >= 0 && fcntl(fd, F_GETFD) == -1 ? "closed" : "open",
	    access(in_dir("child"), F_OK) == -1 ? "none" : "made");
	return 0;
}

/* The secret goes across exec, and the handover's fd is checked. */
static void
test_handover(void)
{
	unsigned char	 a[SEALED_MAX];
	char		 want[2 * SEALED_MAX + 64], got[sizeof want + 64];
	const char	*why, *env;
	pid_t		 pid;
	FILE		*f;
	int		 alen, i, st, fds[2], fd;
	size_t		 at = 0;

	is_int(ntskey_init(in_dir("key"), 0, &why), 0, "a key file");
	alen = seal_id(NOW, (uint32_t)(NOW / DAY), a);
	for (i = 0; i < alen; i++)
		at += (size_t)snprintf(want + at, sizeof want - at, "%02x",
		    a[i]);
	snprintf(want + at, sizeof want - at, " env=gone fd=closed "
	    "child=none\n");

	is_int(ntskey_handover(), 0, "handed over");
	env = getenv(NTSKEY_ENV);
	ok(env != NULL, "named in the environment");
	fd = env != NULL ? atoi(env) : -1;
	ok(fd > 2 && !(fcntl(fd, F_GETFD) & FD_CLOEXEC), "open across exec");
	if (pipe(fds) == -1 || (pid = fork()) == -1)
		bail("pipe or fork");
	if (pid == 0) {
		dup2(fds[1], 1);
		execl("/proc/self/exe", "ntskey.t", CHILD_ARG, dir,
		    (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	close(fd);
	unsetenv(NTSKEY_ENV);
	if ((f = fdopen(fds[0], "r")) == NULL)
		bail("fdopen");
	if (fgets(got, sizeof got, f) == NULL)
		got[0] = '\0';
	fclose(f);
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the next image started");
	is_str(got, want, "it has the same keys, closed the fd, cleared the "
	    "environment, and made no file");

	/* What an upgrade left that is not a key. */
	setenv(NTSKEY_ENV, "zero", 1);
	why = NULL;
	is_int(ntskey_init(NULL, 0, &why), -1, "not a number: refused");
	ok(why != NULL && getenv(NTSKEY_ENV) == NULL, "says why, and clears "
	    "it");
	setenv(NTSKEY_ENV, "1000", 1);
	why = NULL;
	errno = 0;
	is_int(ntskey_init(NULL, 0, &why), -1, "not open: refused");
	is_int(errno, EBADF, "EBADF");
	if (pipe(fds) == -1)
		bail("pipe");
	snprintf(got, sizeof got, "%d", fds[0]);
	setenv(NTSKEY_ENV, got, 1);
	why = NULL;
	is_int(ntskey_init(NULL, 0, &why), -1, "a pipe: refused");
	like(why, "not a key", "says why");
	ok(fcntl(fds[0], F_GETFD) != -1, "and leaves what it is not its own");
	close(fds[0]);
	close(fds[1]);
}

int
main(int argc, char *argv[])
{
	if (argc == 3 && strcmp(argv[1], CHILD_ARG) == 0) {
		snprintf(dir, sizeof dir, "%s", argv[2]);
		return handover_child();
	}
	unsetenv(NTSKEY_ENV);
	snprintf(dir, sizeof dir, "/tmp/ntskey.XXXXXX");
	if (mkdtemp(dir) == NULL)
		bail("mkdtemp");

	test_create();
	test_refused();
	test_ring();
	test_threads();
	test_handover();

	unlink(in_dir("key"));
	if (rmdir(dir) == -1)
		diag("%s left: %s", dir, strerror(errno));
	return done_testing();
}
