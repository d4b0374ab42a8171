/*
 * proxy.c: read the PROXY protocol header, versions 1 and 2, as HAProxy's
 * doc/proxy-protocol.txt defines them.
 *
 * Pure code on the daemon's path: it never reads a socket, allocates or
 * sets errno, and whatever the bytes it answers OK, BAD or NEED_MORE
 * without reading past len.  It is strict where the spec is (single
 * spaces, no leading zeros, CRLF and nothing else, known command and
 * family bytes) and refuses a prefix as soon as no header can start with
 * it, so that a stranger's bytes on a +proxy listener are turned away at
 * once rather than after the caller's timeout.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stddef.h>
#include <string.h>

#include "proxy.h"

#define V1_SIG		"PROXY "
#define V1_SIGLEN	(sizeof(V1_SIG) - 1)
#define V1_NFIELDS	5	/* family, addresses, ports */
#define V6_TEXT_MAX	45	/* INET6_ADDRSTRLEN less its NUL */

#define V2_SIGLEN	12
#define V2_VERSION	0x2
#define V2_LOCAL	0x0
#define V2_PROXY	0x1
#define V2_TCP4		0x11
#define V2_TCP6		0x21
#define V2_DGRAM	0x2	/* the transport nibble */
#define V2_ADDR4	12	/* two IPv4 addresses, two ports */
#define V2_ADDR6	36	/* two IPv6 addresses, two ports */
#define V2_TLV_HDR	3	/* type, then a 16-bit length */

static const unsigned char v2sig[V2_SIGLEN] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
};

enum v1_family { V1_TCP4, V1_TCP6, V1_UNKNOWN };
static const char *const v1families[] = { "TCP4", "TCP6", "UNKNOWN" };

/* Why each field of a version 1 line is refused, in the line's order. */
static const char *const v1reasons[V1_NFIELDS] = {
	"v1: the protocol is none of TCP4, TCP6 and UNKNOWN",
	"v1: bad source address",
	"v1: bad destination address",
	"v1: bad source port",
	"v1: bad destination port",
};

static int
refuse(const char **why, const char *reason)
{
	if (why != NULL)
		*why = reason;
	return PROXY_BAD;
}

/*
 * The family that f[0..n) names, or -1.  When !whole, f is the start of a
 * field still arriving, and any family it may begin will do.
 */
static int
v1_family(const char *f, size_t n, int whole)
{
	size_t	 i, flen;

	for (i = 0; i < sizeof v1families / sizeof v1families[0]; i++) {
		flen = strlen(v1families[i]);
		if ((whole ? n == flen : n <= flen) &&
		    memcmp(f, v1families[i], n) == 0)
			return (int)i;
	}
	return -1;
}

/*
 * Dotted decimal, four numbers of 0 to 255 without leading zeros (the
 * spec forbids them lest they read as octal).  0 if f[0..n) is one, or when
 * !whole may become one; the address goes to *a when whole.
 */
static int
v1_ipv4(const char *f, size_t n, int whole, struct in_addr *a)
{
	unsigned char	 octet[4];
	unsigned int	 v = 0;
	size_t		 i, digits = 0, dots = 0;

	for (i = 0; i < n; i++) {
		if (f[i] == '.') {
			if (digits == 0 || dots == 3)
				return -1;
			octet[dots++] = (unsigned char)v;
			v = 0;
			digits = 0;
		} else if (f[i] >= '0' && f[i] <= '9') {
			if (digits == 1 && v == 0)
				return -1;
			v = v * 10 + (unsigned int)(f[i] - '0');
			if (v > 255)
				return -1;
			digits++;
		} else
			return -1;
	}
	if (!whole)
		return 0;
	if (dots != 3 || digits == 0)
		return -1;
	octet[3] = (unsigned char)v;
	memcpy(&a->s_addr, octet, sizeof octet);
	return 0;
}

/*
 * An IPv6 address as inet_pton(3) reads it.  A field still arriving is
 * only checked for its characters and length; inet_pton judges the whole.
 */
static int
v1_ipv6(const char *f, size_t n, int whole, struct in6_addr *a)
{
	char	 text[V6_TEXT_MAX + 1];
	size_t	 i;

	if (n > V6_TEXT_MAX)
		return -1;
	for (i = 0; i < n; i++)
		if (!((f[i] >= '0' && f[i] <= '9') ||
		    (f[i] >= 'a' && f[i] <= 'f') ||
		    (f[i] >= 'A' && f[i] <= 'F') || f[i] == ':' || f[i] == '.'))
			return -1;
	if (!whole)
		return 0;
	memcpy(text, f, n);
	text[n] = '\0';
	return inet_pton(AF_INET6, text, a) == 1 ? 0 : -1;
}

/* A port: 0 to 65535 in decimal, no sign, no leading zero. */
static int
v1_port(const char *f, size_t n, int whole, in_port_t *port)
{
	unsigned int	 v = 0;
	size_t		 i;

	if (n > 1 && f[0] == '0')
		return -1;
	for (i = 0; i < n; i++) {
		if (f[i] < '0' || f[i] > '9')
			return -1;
		v = v * 10 + (unsigned int)(f[i] - '0');
		if (v > 65535)
			return -1;
	}
	if (!whole)
		return 0;
	if (n == 0)
		return -1;
	*port = htons((in_port_t)v);
	return 0;
}

/* Out of bytes within the line: more may come, unless the line is full. */
static int
v1_short(size_t len, const char **why)
{
	if (len >= PROXY_V1_MAX)
		return refuse(why, "v1: no CRLF within 107 bytes");
	return PROXY_NEED_MORE;
}

/* The CR at buf[cr] must be followed by LF. */
static int
v1_crlf(const char *buf, size_t n, size_t len, size_t cr, size_t *hdrlen,
    const char **why)
{
	if (cr + 1 == n)
		return v1_short(len, why);
	if (buf[cr + 1] != '\n')
		return refuse(why, "v1: CR not followed by LF");
	*hdrlen = cr + 2;
	return PROXY_OK;
}

/* The source of a whole TCP4 or TCP6 line, as a socket address. */
static void
v1_source(int fam, const struct in_addr *a4, const struct in6_addr *a6,
    in_port_t port, struct sockaddr_storage *src, socklen_t *srclen)
{
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;

	memset(src, 0, sizeof *src);
	if (fam == V1_TCP4) {
		sin = (struct sockaddr_in *)src;
		sin->sin_family = AF_INET;
		sin->sin_addr = *a4;
		sin->sin_port = port;
		*srclen = sizeof *sin;
	} else {
		sin6 = (struct sockaddr_in6 *)src;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = *a6;
		sin6->sin6_port = port;
		*srclen = sizeof *sin6;
	}
}

static int
v1_parse(const char *buf, size_t len, size_t *hdrlen,
    struct sockaddr_storage *src, socklen_t *srclen, const char **why)
{
	struct in_addr		 a4[2];
	struct in6_addr		 a6[2];
	in_port_t		 port[2];
	const char		*f;
	size_t			 n, pos, start, i, fl;
	int			 fam = V1_UNKNOWN, whole, rc, r;

	/* The line must end within its first PROXY_V1_MAX bytes. */
	n = len < PROXY_V1_MAX ? len : PROXY_V1_MAX;
	if (memcmp(buf, V1_SIG, n < V1_SIGLEN ? n : V1_SIGLEN) != 0)
		return refuse(why, "not a PROXY protocol header");
	if (n < V1_SIGLEN)
		return PROXY_NEED_MORE;

	pos = V1_SIGLEN;
	for (i = 0; i < V1_NFIELDS; i++) {
		start = pos;
		while (pos < n && buf[pos] != ' ' && buf[pos] != '\r')
			pos++;
		f = buf + start;
		fl = pos - start;
		whole = pos < n;
		if (whole && fl == 0)
			return refuse(why, buf[pos] == ' ' ?
			    "v1: fields must be separated by a single space" :
			    "v1: the line ends too early");
		switch (i) {
		case 0:
			r = fam = v1_family(f, fl, whole);
			break;
		case 1:
		case 2:
			r = fam == V1_TCP4 ? v1_ipv4(f, fl, whole, &a4[i - 1]) :
			    v1_ipv6(f, fl, whole, &a6[i - 1]);
			break;
		default:
			r = v1_port(f, fl, whole, &port[i - 3]);
			break;
		}
		if (r == -1)
			return refuse(why, v1reasons[i]);
		if (!whole)
			return v1_short(len, why);

		if (i == 0 && fam == V1_UNKNOWN) {
			/* What follows a space is ignored up to a CRLF. */
			if (buf[pos] == ' ')
				while (++pos < n && !(buf[pos] == '\r' &&
				    (pos + 1 == n || buf[pos + 1] == '\n')))
					;
			if (pos == n)
				return v1_short(len, why);
			if ((rc = v1_crlf(buf, n, len, pos, hdrlen, why)) ==
			    PROXY_OK)
				*srclen = 0;
			return rc;
		}
		if (i == V1_NFIELDS - 1)
			break;
		if (buf[pos] != ' ')
			return refuse(why, "v1: the line ends too early");
		pos++;
	}
	if (buf[pos] != '\r')
		return refuse(why, "v1: more fields than a TCP line has");
	if ((rc = v1_crlf(buf, n, len, pos, hdrlen, why)) != PROXY_OK)
		return rc;

	v1_source(fam, &a4[0], &a6[0], port[0], src, srclen);
	return PROXY_OK;
}

/* Version 2 TLVs must tile p[0..n) exactly; their content is skipped. */
static int
v2_tlvs(const unsigned char *p, size_t n, const char **why)
{
	size_t	 off = 0, vlen;

	while (off < n) {
		if (n - off < V2_TLV_HDR)
			return refuse(why, "v2: a TLV is cut short");
		vlen = (size_t)p[off + 1] << 8 | p[off + 2];
		if (vlen > n - off - V2_TLV_HDR)
			return refuse(why, "v2: a TLV overruns the header");
		off += V2_TLV_HDR + vlen;
	}
	return PROXY_OK;
}

static int
v2_parse(const unsigned char *p, size_t len, size_t *hdrlen,
    struct sockaddr_storage *src, socklen_t *srclen, const char **why)
{
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	size_t			 blen, asize;
	int			 cmd = -1, fam = -1, rc;

	if (memcmp(p, v2sig, len < V2_SIGLEN ? len : V2_SIGLEN) != 0)
		return refuse(why, "not a PROXY protocol header");
	if (len > V2_SIGLEN) {
		if (p[V2_SIGLEN] >> 4 != V2_VERSION)
			return refuse(why, "v2: the version is not 2");
		cmd = p[V2_SIGLEN] & 0xf;
		if (cmd != V2_LOCAL && cmd != V2_PROXY)
			return refuse(why,
			    "v2: the command is neither LOCAL nor PROXY");
	}
	if (len > V2_SIGLEN + 1) {
		fam = p[V2_SIGLEN + 1];
		if (fam >> 4 > 0x3 || (fam & 0xf) > 0x2)
			return refuse(why,
			    "v2: unknown address family or transport");
		/* LOCAL ignores the family: a health check may name any. */
		if (cmd == V2_PROXY && (fam & 0xf) == V2_DGRAM)
			return refuse(why,
			    "v2: a datagram transport on a stream listener");
	}
	if (len < PROXY_V2_HDR)
		return PROXY_NEED_MORE;

	blen = (size_t)p[PROXY_V2_HDR - 2] << 8 | p[PROXY_V2_HDR - 1];
	if (blen > PROXY_MAX - PROXY_V2_HDR)
		return refuse(why, "v2: the header is longer than 536 bytes");
	/*
	 * TCP over IPv4 or IPv6 is all we read; the spec lets a receiver
	 * treat the other valid families as UNSPEC and keep the peer.
	 */
	asize = 0;
	if (cmd == V2_PROXY && fam == V2_TCP4)
		asize = V2_ADDR4;
	else if (cmd == V2_PROXY && fam == V2_TCP6)
		asize = V2_ADDR6;
	if (blen < asize)
		return refuse(why,
		    "v2: the length is too short for the address family");
	if (len < PROXY_V2_HDR + blen)
		return PROXY_NEED_MORE;

	if (asize == 0) {
		*hdrlen = PROXY_V2_HDR + blen;
		*srclen = 0;
		return PROXY_OK;
	}
	p += PROXY_V2_HDR;
	if ((rc = v2_tlvs(p + asize, blen - asize, why)) != PROXY_OK)
		return rc;
	*hdrlen = PROXY_V2_HDR + blen;
	memset(src, 0, sizeof *src);
	/* Source address, destination address, source port, destination. */
	if (fam == V2_TCP4) {
		sin = (struct sockaddr_in *)src;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, p, 4);
		memcpy(&sin->sin_port, p + 8, 2);
		*srclen = sizeof *sin;
	} else {
		sin6 = (struct sockaddr_in6 *)src;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, p, 16);
		memcpy(&sin6->sin6_port, p + 32, 2);
		*srclen = sizeof *sin6;
	}
	return PROXY_OK;
}

int
proxy_parse(const char *buf, size_t len, size_t *hdrlen,
    struct sockaddr_storage *src, socklen_t *srclen, const char **why)
{
	if (len == 0)
		return PROXY_NEED_MORE;
	/* The two signatures part at their first byte. */
	if (buf[0] == 'P')
		return v1_parse(buf, len, hdrlen, src, srclen, why);
	if (buf[0] == '\r')
		return v2_parse((const unsigned char *)buf, len, hdrlen, src,
		    srclen, why);
	return refuse(why, "not a PROXY protocol header");
}
