/*
 * proxy.h: the PROXY protocol header that HAProxy and its kin put before
 * a relayed connection, versions 1 (text) and 2 (binary), as a pure parser.
 *
 * Nothing here touches a file descriptor, allocates or sets errno: the
 * caller reads the bytes and calls again while more are needed.  Which
 * peers may send a header at all is the caller's decision, not this one's.
 */
#ifndef STAMP_PROXY_H
#define STAMP_PROXY_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

/* The longest version 1 line, CRLF included ("PROXY UNKNOWN" at worst). */
#define PROXY_V1_MAX	107
/* The version 2 fixed part: signature, version and command, family, len. */
#define PROXY_V2_HDR	16
/*
 * The longest header of either version we take: what fits the smallest
 * segment every TCP must carry (576 - 40 bytes), as the spec designs it.
 */
#define PROXY_MAX	536

enum proxy_result {
	PROXY_NEED_MORE = 0,	/* a proper prefix: read more, call again */
	PROXY_OK = 1,
	PROXY_BAD = -1,
};

/*
 * Parse a PROXY header, version 1 or 2, at the start of buf[0..len).
 *
 * PROXY_OK: *hdrlen is the header's length (the bytes to consume; what
 * follows is the client's), and *src, *srclen the client's address and
 * port.  *srclen is 0 when the header names no address to use ("PROXY
 * UNKNOWN", version 2 LOCAL, an UNSPEC or AF_UNIX family): the connection's
 * own peer stands.  Version 2 TLVs are checked to tile the rest of the
 * header, then skipped; datagram transports are refused.
 *
 * PROXY_NEED_MORE: buf is a proper prefix of a header that may yet be
 * valid; never once len reaches PROXY_MAX (PROXY_V1_MAX for version 1).
 * A prefix that no header can start with is PROXY_BAD as soon as its
 * bytes show it (an IPv6 address in a v1 line is judged whole), and once
 * the answer is PROXY_OK or PROXY_BAD, more bytes after buf never change it.
 *
 * PROXY_BAD: *why (if why is not NULL) is a static sentence saying what
 * is wrong.  buf is never read past len, need not be NUL-terminated and
 * may hold NULs.
 */
int	proxy_parse(const char *buf, size_t len, size_t *hdrlen,
	    struct sockaddr_storage *src, socklen_t *srclen, const char **why);

#endif /* STAMP_PROXY_H */
