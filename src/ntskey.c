/*
 * ntskey.c: the server keys that seal NTS cookies: one master secret, and
 * the key of each period made from it by HMAC-SHA256, once per thread and
 * period.
 *
 * The secret is set by ntskey_init, in main, before any worker starts,
 * and only read afterwards, so no lock guards it; each thread keeps its
 * own keys, as a struct siv serves one thread at a time.  Never prints,
 * never leaves the secret or a key on the stack, and never writes a key
 * file that anyone but its owner may read.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "ntskey.h"
#include "util.h"

/* What HMAC-SHA256 hashes before the period's number. */
#define LABEL		"stampd nts key"
/* The periods a thread keeps: NTSKEY_KEEP old, the current, one ahead. */
#define NSLOTS		(NTSKEY_KEEP + 2)

_Static_assert(SIV_KEY_LEN == 32, "a period's key is one SHA-256 output");

struct slot {
	uint32_t	 id;
	struct siv	*siv;		/* NULL until made, or if that failed */
};

/* A thread's keys: the slot of period id is slot[id % NSLOTS]. */
struct cache {
	uint32_t	 current;
	unsigned	 gen;		/* the secret they were made from */
	int		 held;		/* its destructor is registered */
	struct slot	 slot[NSLOTS];
};

static unsigned char	secret[NTSKEY_SECRET_LEN];
static unsigned		rotate = NTSKEY_ROTATE_S;
/* Bumped by each ntskey_init: 0 means no secret yet. */
static unsigned		gen;

static _Thread_local struct cache	cache;
static pthread_once_t			once = PTHREAD_ONCE_INIT;
static pthread_key_t			reaper;
static int				reaper_ok;

/* A thread that ends frees its keys: a crew's worker may be restarted. */
static void
drop(void *arg)
{
	struct cache	*c = arg;
	int		 i;

	for (i = 0; i < NSLOTS; i++) {
		siv_free(c->slot[i].siv);
		c->slot[i].siv = NULL;
	}
}

static void
make_reaper(void)
{
	reaper_ok = pthread_key_create(&reaper, drop) == 0;
}

/* The key of period id, from the secret. */
static int
derive(uint32_t id, unsigned char key[SIV_KEY_LEN])
{
	unsigned char	 msg[sizeof LABEL - 1 + 4];

	memcpy(msg, LABEL, sizeof LABEL - 1);
	msg[sizeof LABEL - 1] = (unsigned char)(id >> 24);
	msg[sizeof LABEL] = (unsigned char)(id >> 16);
	msg[sizeof LABEL + 1] = (unsigned char)(id >> 8);
	msg[sizeof LABEL + 2] = (unsigned char)id;
	if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, secret, sizeof secret, msg,
	    sizeof msg, key) < 0)
		return -1;
	return 0;
}

/* Make the slots of periods p - NTSKEY_KEEP .. p + 1 that are not made. */
static void
refresh(struct cache *c, uint32_t p)
{
	unsigned char	 key[SIV_KEY_LEN];
	struct slot	*s;
	uint32_t	 id;
	int		 i;

	if (c->gen != gen) {
		drop(c);
		c->gen = gen;
	}
	if (!c->held) {
		pthread_once(&once, make_reaper);
		c->held = reaper_ok && pthread_setspecific(reaper, c) == 0;
	}
	for (i = 0; i < NSLOTS; i++) {
		id = p - NTSKEY_KEEP + (uint32_t)i;
		s = &c->slot[id % NSLOTS];
		if (s->id == id && s->siv != NULL)
			continue;
		siv_free(s->siv);
		s->siv = NULL;
		s->id = id;
		/* Left NULL on failure: tried again at the next ring. */
		if (derive(id, key) == 0)
			s->siv = siv_new(key);
		explicit_bzero(key, sizeof key);
	}
}

static struct siv *
find(void *arg, uint32_t id)
{
	struct cache	*c = arg;
	struct slot	*s;

	/* Unsigned: an id below the window wraps far above it. */
	if (c->gen != gen || gen == 0 ||
	    id - (c->current - NTSKEY_KEEP) > NTSKEY_KEEP + 1)
		return NULL;
	s = &c->slot[id % NSLOTS];
	return s->id == id ? s->siv : NULL;
}

void
ntskey_ring(struct nts_keyring *ring, long long now)
{
	/* A day's periods from 1970 fit; one-second ones wrap in 2106. */
	uint32_t	 p = (uint32_t)((now < 0 ? 0 : now) / rotate);

	if (gen != 0)
		refresh(&cache, p);
	cache.current = p;
	ring->current = p;
	ring->find = find;
	ring->arg = &cache;
}

/* Read exactly len bytes at offset 0 of fd: -1 with errno, or 0. */
static int
read_all(int fd, unsigned char *buf, size_t len)
{
	ssize_t	 n;
	size_t	 got = 0;

	while (got < len) {
		if ((n = pread(fd, buf + got, len - got, (off_t)got)) == -1)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

/* Write all of buf to fd: -1 with errno, or 0. */
static int
write_all(int fd, const unsigned char *buf, size_t len)
{
	ssize_t	 n;
	size_t	 done = 0;

	while (done < len) {
		if ((n = write(fd, buf + done, len - done)) == -1)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* The secret an upgrade handed over in the memfd named by env. */
static int
from_env(const char *env, unsigned char *buf, const char **why)
{
	struct stat	 st;
	long long	 fd;
	int		 rc = -1;

	*why = "the key handed over by the upgrade is not a file descriptor";
	errno = 0;
	if (util_number(env, 3, INT_MAX, &fd) != NULL) {
		unsetenv(NTSKEY_ENV);
		return -1;
	}
	/*
	 * Had an fd of the handover landed on it, it would be a socket: what
	 * is there must look like what ntskey_handover left, and is closed
	 * only then.
	 */
	if (fstat((int)fd, &st) == -1)
		*why = "the key handed over by the upgrade is gone";
	else if (!S_ISREG(st.st_mode) || st.st_size != NTSKEY_SECRET_LEN) {
		*why = "the key handed over by the upgrade is not a key";
		errno = 0;
	} else {
		if (read_all((int)fd, buf, NTSKEY_SECRET_LEN) == -1)
			*why = "the key handed over by the upgrade cannot be "
			    "read";
		else
			rc = 0;
		close((int)fd);
	}
	unsetenv(NTSKEY_ENV);
	return rc;
}

/*
 * A new key file at path: written whole under a temporary name beside
 * it, then linked to path, so that no one ever reads half a key.  When
 * another stampd linked its own first (EEXIST), errno says so and the
 * caller reads theirs.
 */
static int
create(const char *path, unsigned char *buf, const char **why)
{
	char	 tmp[PATH_MAX], dir[PATH_MAX], *slash;
	int	 fd, dfd, rc = -1, e;

	*why = "cannot be created";
	if (snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (gnutls_rnd(GNUTLS_RND_KEY, buf, NTSKEY_SECRET_LEN) < 0) {
		*why = "no random bytes for a new key";
		errno = EIO;
		return -1;
	}
	/* mkostemp makes it 0600, whatever the umask. */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1)
		return -1;
	if (write_all(fd, buf, NTSKEY_SECRET_LEN) == 0 && fsync(fd) == 0 &&
	    link(tmp, path) == 0)
		rc = 0;
	e = errno;
	close(fd);
	unlink(tmp);
	errno = e;
	if (rc == -1)
		return -1;
	/* The name too, so that a crash does not change the key. */
	snprintf(dir, sizeof dir, "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(dfd) == -1) {
		*why = "was created, but its directory cannot be synced";
		rc = -1;
	}
	e = errno;
	if (dfd != -1)
		close(dfd);
	errno = e;
	return rc;
}

/* The secret in the key file at path, made first if there is none. */
static int
from_file(const char *path, unsigned char *buf, const char **why)
{
	struct stat	 st;
	int		 fd, tries, rc = -1;

	for (tries = 0;; tries++) {
		/* O_NONBLOCK: a FIFO there must not hang us. */
		if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC)) != -1)
			break;
		if (errno == ELOOP) {
			*why = "is a symbolic link: name the file itself";
			errno = 0;
			return -1;
		}
		/* Twice at most: gone again after EEXIST is someone's doing. */
		if (errno != ENOENT || tries > 0) {
			*why = "cannot be opened";
			return -1;
		}
		if (create(path, buf, why) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	if (fstat(fd, &st) == -1)
		*why = "cannot be read";
	else if (!S_ISREG(st.st_mode)) {
		*why = "is not a regular file";
		errno = 0;
	} else if (st.st_mode & 077) {
		*why = "may be read or changed by others: chmod 600 it";
		errno = 0;
	} else if (st.st_size != NTSKEY_SECRET_LEN) {
		*why = "is not a key file: 32 bytes expected";
		errno = 0;
	} else if (read_all(fd, buf, NTSKEY_SECRET_LEN) == -1)
		*why = "cannot be read";
	else
		rc = 0;
	close(fd);
	return rc;
}

int
ntskey_init(const char *path, unsigned rotate_s, const char **why)
{
	unsigned char	 buf[NTSKEY_SECRET_LEN];
	const char	*env;
	int		 rc;

	if ((env = getenv(NTSKEY_ENV)) != NULL)
		rc = from_env(env, buf, why);
	else if (path != NULL)
		rc = from_file(path, buf, why);
	else if ((rc = gnutls_rnd(GNUTLS_RND_KEY, buf, sizeof buf)) < 0) {
		*why = "no random bytes for a key";
		errno = EIO;
		rc = -1;
	}
	if (rc == 0) {
		*why = NULL;
		memcpy(secret, buf, sizeof secret);
		rotate = rotate_s == 0 ? NTSKEY_ROTATE_S : rotate_s;
		/* Keys made from a secret before this one are remade. */
		if (++gen == 0)
			gen = 1;
	}
	explicit_bzero(buf, sizeof buf);
	return rc;
}

int
ntskey_memfd(void)
{
	int	 fd, e;

	if (gen == 0) {
		errno = EINVAL;
		return -1;
	}
	if ((fd = memfd_create("stampd-nts-key", MFD_CLOEXEC)) == -1)
		return -1;
	if (write_all(fd, secret, sizeof secret) == -1 ||
	    lseek(fd, 0, SEEK_SET) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int
ntskey_handover(void)
{
	char	 num[32];
	int	 fd, e;

	if ((fd = ntskey_memfd()) == -1)
		return -1;
	snprintf(num, sizeof num, "%d", fd);
	/* Not close-on-exec: the next image reads it. */
	if (fcntl(fd, F_SETFD, 0) == -1 || setenv(NTSKEY_ENV, num, 1) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return 0;
}
