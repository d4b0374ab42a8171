/*
 * ntskey.h: the server keys that seal NTS cookies, shared by every worker
 * thread and process, by an upgraded image and by every stampd given the
 * same key file.
 *
 * One master secret (32 bytes: from --nts-key-file, or random at start)
 * gives the key of each period (--nts-rotate seconds, a day by default)
 * by HMAC-SHA256 of the period's number; a cookie names its period, and
 * the current period and the NTSKEY_KEEP before it are accepted.  So no
 * worker makes a key another must be told of: the same secret and the
 * same clock give every worker, process and server the same keys.
 */
#ifndef STAMP_NTSKEY_H
#define STAMP_NTSKEY_H

#include "nts.h"

#define NTSKEY_SECRET_LEN	32
#define NTSKEY_ROTATE_S		86400	/* a new key a day */
#define NTSKEY_KEEP		2	/* older periods still accepted */
/* The environment variable that hands the secret's memfd to an upgrade. */
#define NTSKEY_ENV		"STAMPD_NTS_KEY_FD"

/*
 * Take the master secret, once, in main, before privileges are dropped:
 * from the environment an upgrade left (NTSKEY_ENV), else from path
 * (created 0600 with a random secret if it does not exist; refused if
 * group or others may read it, or it is not NTSKEY_SECRET_LEN bytes),
 * else random.  rotate_s is the period (0: NTSKEY_ROTATE_S).  Returns 0,
 * or -1 with a reason in *why (a static sentence) and errno when a call
 * failed, errno 0 when the file was refused.  Called again, it takes a
 * new secret, and every thread's keys are remade from it.
 */
int	ntskey_init(const char *path, unsigned rotate_s, const char **why);

/*
 * The ring a worker seals and opens cookies with, at now (seconds, wall
 * clock): the keys are made once per thread and period, not per request.
 * Its find accepts the current period, the NTSKEY_KEEP before it and the
 * one after (servers sharing a file whose clocks differ a little).  A
 * ring is its thread's, and good until that thread's next ntskey_ring.
 */
void	ntskey_ring(struct nts_keyring *ring, long long now);

/*
 * The secret in a memfd of its own, close-on-exec, read from its start:
 * its fd, or -1 and errno (EINVAL: no secret yet).
 */
int	ntskey_memfd(void);

/*
 * For SIGUSR2: put the secret where the next image finds it (a memfd left
 * open across exec, named in NTSKEY_ENV).  Call it after listen_handover,
 * which moves sockets onto fds 3 and up.  Returns 0, or -1 and errno.
 */
int	ntskey_handover(void);

#endif /* STAMP_NTSKEY_H */
