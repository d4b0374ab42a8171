/*
 * tests/fuzz/proxy.c: fuzz the PROXY protocol header parser.
 *
 * The input is what a +proxy listener has read so far.  The parser must
 * answer within it (AddressSanitizer sees a byte too far), ask for more
 * only while a header could still fit, and keep its answer when more
 * bytes arrive: the answer for every prefix of the input must agree with
 * the answer for the whole.  An accepted header must end where its
 * version says (CRLF, or 16 plus its length field), and its client must
 * be the one the bytes name, as read here again by other means: the
 * version 1 fields split by hand and read by inet_pton(3), the version 2
 * addresses taken from their offsets.  A broken property aborts, which
 * libFuzzer and tests/unit/fuzz_replay.c report.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

#define PP_V1_FIELDS	6	/* PROXY, family, addresses, ports */
#define PP_V2_SIGLEN	12

int	fuzz_proxy(const uint8_t *, size_t);

struct pp_answer {
	int			 rc;
	size_t			 hdrlen;
	struct sockaddr_storage	 src;
	socklen_t		 srclen;
	const char		*why;
};

static void
pp_require(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_proxy: %s\n", what);
		abort();
	}
}

static void
pp_reason(const char *why)
{
	size_t	 i;

	pp_require(why != NULL, "refusal without a reason");
	for (i = 0; why[i] != '\0'; i++)
		pp_require(why[i] >= ' ' && why[i] <= '~',
		    "reason is not printable");
	pp_require(i > 0 && i < 80, "reason is empty or too long");
}

static void
pp_parse(const uint8_t *data, size_t size, struct pp_answer *a)
{
	memset(a, 0, sizeof *a);
	a->rc = proxy_parse((const char *)data, size, &a->hdrlen, &a->src,
	    &a->srclen, &a->why);
}

/* The same client: both none, or the same family, address and port. */
static int
pp_same_src(const struct pp_answer *a, const struct pp_answer *b)
{
	const struct sockaddr_in	*a4, *b4;
	const struct sockaddr_in6	*a6, *b6;

	if (a->srclen != b->srclen)
		return 0;
	if (a->srclen == 0)
		return 1;
	if (a->src.ss_family != b->src.ss_family)
		return 0;
	if (a->src.ss_family == AF_INET) {
		a4 = (const struct sockaddr_in *)&a->src;
		b4 = (const struct sockaddr_in *)&b->src;
		return a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	}
	a6 = (const struct sockaddr_in6 *)&a->src;
	b6 = (const struct sockaddr_in6 *)&b->src;
	return a6->sin6_port == b6->sin6_port &&
	    memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof a6->sin6_addr) == 0;
}

/* The family and length of an accepted client agree. */
static void
pp_src_shape(const struct pp_answer *a)
{
	pp_require(a->srclen == 0 ||
	    (a->srclen == sizeof(struct sockaddr_in) &&
	    a->src.ss_family == AF_INET) ||
	    (a->srclen == sizeof(struct sockaddr_in6) &&
	    a->src.ss_family == AF_INET6),
	    "client length does not match its family");
}

/* A port as the spec writes it: 0 to 65535, no sign, no leading zero. */
static int
pp_port(const char *s, unsigned int *port)
{
	char		 back[8];
	unsigned long	 v;
	char		*end;

	if (*s < '0' || *s > '9' || strlen(s) > 5)
		return -1;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v > 65535)
		return -1;
	snprintf(back, sizeof back, "%lu", v);
	if (strcmp(back, s) != 0)
		return -1;
	*port = (unsigned int)v;
	return 0;
}

/* An accepted version 1 line, read again by splitting it on spaces. */
static void
pp_v1_accepted(const uint8_t *data, const struct pp_answer *a)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	unsigned char			 addr[sizeof(struct in6_addr)];
	unsigned char			 dst[sizeof(struct in6_addr)];
	char				 line[PROXY_V1_MAX + 1];
	char				 back[INET6_ADDRSTRLEN];
	char				*field[PP_V1_FIELDS + 1], *p;
	unsigned int			 sport, dport;
	size_t				 i, n = 0;
	int				 af;

	pp_require(a->hdrlen >= 8 && a->hdrlen <= PROXY_V1_MAX,
	    "v1 line of a length outside 8..107");
	pp_require(memcmp(data + a->hdrlen - 2, "\r\n", 2) == 0,
	    "v1 line does not end in CRLF");
	for (i = 0; i + 3 < a->hdrlen; i++)
		pp_require(data[i] != '\r' || data[i + 1] != '\n',
		    "v1 line goes on after its first CRLF");
	memcpy(line, data, a->hdrlen - 2);
	line[a->hdrlen - 2] = '\0';

	if (strncmp(line, "PROXY UNKNOWN", 13) == 0 &&
	    (line[13] == '\0' || line[13] == ' ')) {
		pp_require(a->srclen == 0, "UNKNOWN gave a client");
		return;
	}
	pp_require(memchr(line, '\0', a->hdrlen - 2) == NULL,
	    "NUL in an accepted TCP line");
	for (p = line; n <= PP_V1_FIELDS; *p++ = '\0') {
		field[n++] = p;
		if ((p = strchr(p, ' ')) == NULL)
			break;
	}
	pp_require(n == PP_V1_FIELDS, "TCP line without six fields");
	pp_require(strcmp(field[0], "PROXY") == 0, "TCP line without PROXY");
	if (strcmp(field[1], "TCP4") == 0)
		af = AF_INET;
	else {
		pp_require(strcmp(field[1], "TCP6") == 0,
		    "accepted a family not TCP4, TCP6 or UNKNOWN");
		af = AF_INET6;
	}
	pp_require(inet_pton(af, field[2], addr) == 1,
	    "inet_pton refuses the source address");
	pp_require(inet_pton(af, field[3], dst) == 1,
	    "inet_pton refuses the destination address");
	pp_require(pp_port(field[4], &sport) == 0 &&
	    pp_port(field[5], &dport) == 0, "a port is not canonical");

	if (af == AF_INET) {
		pp_require(a->srclen == sizeof *sin && a->src.ss_family ==
		    AF_INET, "TCP4 gave no IPv4 client");
		sin = (const struct sockaddr_in *)&a->src;
		pp_require(memcmp(&sin->sin_addr, addr, 4) == 0,
		    "TCP4 client is not the source address");
		pp_require(ntohs(sin->sin_port) == sport,
		    "TCP4 client port is not the source port");
		/* No leading zeros: the text is inet_ntop's own. */
		pp_require(inet_ntop(AF_INET, addr, back, sizeof back) !=
		    NULL && strcmp(back, field[2]) == 0,
		    "TCP4 source address is not canonical");
	} else {
		pp_require(a->srclen == sizeof *sin6 && a->src.ss_family ==
		    AF_INET6, "TCP6 gave no IPv6 client");
		sin6 = (const struct sockaddr_in6 *)&a->src;
		pp_require(memcmp(&sin6->sin6_addr, addr, 16) == 0,
		    "TCP6 client is not the source address");
		pp_require(ntohs(sin6->sin6_port) == sport,
		    "TCP6 client port is not the source port");
	}
}

/* An accepted version 2 header, read again from its offsets. */
static void
pp_v2_accepted(const uint8_t *data, const struct pp_answer *a)
{
	static const uint8_t		 sig[PP_V2_SIGLEN] = {
		0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49,
		0x54, 0x0a,
	};
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	size_t				 blen, off, asize = 0;

	pp_require(a->hdrlen >= PROXY_V2_HDR && a->hdrlen <= PROXY_MAX,
	    "v2 header of a length outside 16..536");
	pp_require(memcmp(data, sig, sizeof sig) == 0,
	    "v2 header without its signature");
	pp_require(data[12] == 0x20 || data[12] == 0x21,
	    "v2 header of another version or command");
	blen = (size_t)data[14] << 8 | data[15];
	pp_require(a->hdrlen == PROXY_V2_HDR + blen,
	    "v2 header length is not 16 plus its length field");
	pp_require((data[13] >> 4) <= 3 && (data[13] & 0xf) <= 2,
	    "v2 header of an undefined family or transport");

	if (data[12] == 0x21 && data[13] == 0x11) {
		pp_require(a->srclen == sizeof *sin &&
		    a->src.ss_family == AF_INET, "TCP4 gave no IPv4 client");
		sin = (const struct sockaddr_in *)&a->src;
		pp_require(memcmp(&sin->sin_addr, data + 16, 4) == 0 &&
		    memcmp(&sin->sin_port, data + 24, 2) == 0,
		    "TCP4 client is not the one at offsets 16 and 24");
		asize = 12;
	} else if (data[12] == 0x21 && data[13] == 0x21) {
		pp_require(a->srclen == sizeof *sin6 &&
		    a->src.ss_family == AF_INET6, "TCP6 gave no IPv6 client");
		sin6 = (const struct sockaddr_in6 *)&a->src;
		pp_require(memcmp(&sin6->sin6_addr, data + 16, 16) == 0 &&
		    memcmp(&sin6->sin6_port, data + 48, 2) == 0,
		    "TCP6 client is not the one at offsets 16 and 48");
		asize = 36;
	} else {
		pp_require(a->srclen == 0, "a client from LOCAL or no TCP");
		pp_require(data[12] == 0x20 || (data[13] & 0xf) != 2,
		    "accepted a datagram transport");
		return;
	}
	pp_require(blen >= asize, "address block longer than the header");
	for (off = PROXY_V2_HDR + asize; off < a->hdrlen;
	    off += 3 + ((size_t)data[off + 1] << 8 | data[off + 2]))
		pp_require(a->hdrlen - off >= 3,
		    "accepted a TLV cut short");
	pp_require(off == a->hdrlen, "accepted a TLV past the header");
}

/* The client written back as a version 1 line reads the same. */
static void
pp_v1_again(const struct pp_answer *a)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	struct pp_answer		 b;
	char				 host[INET6_ADDRSTRLEN];
	char				 line[PROXY_V1_MAX + 1];
	int				 n;

	if (a->srclen == 0)
		return;
	if (a->src.ss_family == AF_INET) {
		sin = (const struct sockaddr_in *)&a->src;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
		n = snprintf(line, sizeof line, "PROXY TCP4 %s 127.0.0.1 %u "
		    "1937\r\n", host, ntohs(sin->sin_port));
	} else {
		sin6 = (const struct sockaddr_in6 *)&a->src;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
		n = snprintf(line, sizeof line, "PROXY TCP6 %s ::1 %u 1937\r\n",
		    host, ntohs(sin6->sin6_port));
	}
	pp_require(n > 0 && (size_t)n < sizeof line, "v1 line too long");
	pp_parse((const uint8_t *)line, (size_t)n, &b);
	pp_require(b.rc == PROXY_OK && b.hdrlen == (size_t)n,
	    "the client as a v1 line is refused");
	pp_require(pp_same_src(a, &b), "the client as a v1 line differs");
}

int
fuzz_proxy(const uint8_t *data, size_t size)
{
	struct pp_answer	 a, b;
	size_t			 m, hdrlen;
	socklen_t		 srclen;
	int			 decided;

	pp_parse(data, size, &a);
	pp_require(a.rc == PROXY_OK || a.rc == PROXY_BAD ||
	    a.rc == PROXY_NEED_MORE, "answer is none of OK, BAD, NEED_MORE");
	pp_require(proxy_parse((const char *)data, size, &hdrlen, &b.src,
	    &srclen, NULL) == a.rc, "answer depends on why being NULL");
	pp_parse(data, size, &b);
	pp_require(b.rc == a.rc && b.hdrlen == a.hdrlen && b.why == a.why &&
	    pp_same_src(&a, &b), "two parses of one input disagree");

	switch (a.rc) {
	case PROXY_NEED_MORE:
		pp_require(size < PROXY_MAX, "needs more past PROXY_MAX");
		pp_require(size == 0 || data[0] != 'P' ||
		    size < PROXY_V1_MAX, "needs more past 107 bytes of v1");
		break;
	case PROXY_BAD:
		pp_reason(a.why);
		break;
	default:
		pp_require(a.hdrlen > 0 && a.hdrlen <= size &&
		    a.hdrlen <= PROXY_MAX, "header length out of range");
		pp_src_shape(&a);
		if (data[0] == 'P')
			pp_v1_accepted(data, &a);
		else
			pp_v2_accepted(data, &a);
		pp_v1_again(&a);
		break;
	}

	/*
	 * The caller parses what has arrived so far: each prefix must ask
	 * for more until the answer for the whole is reached, then give it.
	 */
	decided = 0;
	for (m = 0; m < size; m++) {
		pp_parse(data, m, &b);
		if (b.rc == PROXY_NEED_MORE) {
			pp_require(!decided, "a decided prefix went undecided");
			continue;
		}
		decided = 1;
		pp_require(b.rc == a.rc, "a prefix's answer changed");
		if (b.rc == PROXY_OK)
			pp_require(b.hdrlen == a.hdrlen &&
			    pp_same_src(&a, &b),
			    "a prefix's header is another one");
		else
			pp_reason(b.why);
	}
	if (a.rc == PROXY_OK && a.hdrlen < size)
		pp_require(decided, "the header alone was not enough");
	return 0;
}

#ifdef FUZZ_MAIN
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_proxy(data, size);
}
#endif
