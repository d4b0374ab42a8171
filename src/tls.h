/*
 * tls.h: TLS 1.3 for NTS key establishment, the TLS library (GnuTLS)
 * behind one face.
 *
 * The server's certificate and key are loaded once, before privileges are
 * dropped, and reread on SIGHUP by every process that serves (a shared
 * generation tells each); a session runs on a non-blocking socket and
 * never waits: each step says whether it needs the socket readable again.
 * Its reads and writes go through net.c, as every socket's do.  Only
 * TLS 1.3 is offered, and only with the ALPN protocol "ntske/1".
 */
#ifndef STAMP_TLS_H
#define STAMP_TLS_H

#include <sys/types.h>

#include <stddef.h>

struct tls;

/*
 * Load certificate chain cert and its key (PEM files).  Returns 0, or -1
 * with a sentence in *why (GnuTLS's reason, or errno's).
 */
int		 tls_server_init(const char *cert, const char *key,
		    const char **why);

/* Whether tls_server_init has loaded a certificate. */
int		 tls_server_ready(void);

/*
 * SIGHUP: tell every process (this one, and a pool's children, which
 * share the generation) to reread the files before its next session.
 */
void		 tls_server_reload(void);

/*
 * A server session on fd, a connected non-blocking socket, with the
 * certificate as last (re)read here.  NULL with errno when memory ran out;
 * a failed reread is logged and the old certificate kept.
 */
struct tls	*tls_accept(int fd);
void		 tls_free(struct tls *t);

/* Why a handshake failed, for the counters. */
enum tls_fail {
	TLS_FAIL_VERSION,	/* the client offered no TLS 1.3 */
	TLS_FAIL_ALPN,		/* nor ALPN ntske/1 */
	TLS_FAIL_OTHER,		/* anything else: a bad message, a reset */
};
#define TLS_NFAIL	3

/*
 * Go on with the handshake: 1 done (TLS 1.3, ALPN ntske/1), 0 wait until
 * the socket is readable, -1 refused or failed, with *reason and a
 * sentence in *why.
 */
int		 tls_handshake(struct tls *t, int *reason, const char **why);

/*
 * Read application data: bytes read, 0 at the peer's close, -1 and errno
 * (EAGAIN: wait until readable; EPROTO: a TLS failure).
 */
ssize_t		 tls_recv(struct tls *t, void *buf, size_t len);

/* Whether records already read off the socket wait to be tls_recv'd. */
int		 tls_pending(struct tls *t);

/*
 * Write application data, all of it or nothing: len, or -1 and errno
 * (EAGAIN when the socket would block: the caller gives up, since a
 * response fits a fresh socket's buffer many times over).
 */
ssize_t		 tls_send(struct tls *t, const void *buf, size_t len);

/* Say close_notify, without waiting for the peer's. */
void		 tls_bye(struct tls *t);

/*
 * The keying material of RFC 5705 for label and context: 0, or -1.
 */
int		 tls_export(struct tls *t, const char *label, const void *ctx,
		    size_t ctxlen, void *out, size_t len);

/* Fill buf with len bytes fit for nonces: never fails. */
void		 tls_random(void *buf, size_t len);

#endif /* STAMP_TLS_H */
