/*
 * tests/unit/proxy.c: the PROXY protocol parser, as tables.
 *
 * Every input is copied into a buffer of exactly its length, so that
 * AddressSanitizer catches a read one byte too far.  A good header must
 * give its length and client; each of its proper prefixes must ask for
 * more, and bytes after it must change nothing.  A bad one must be
 * refused with its own reason, and once refused stay refused however
 * many bytes follow.  inet_ntop(3) turns the addresses back into text.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "proxy.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define BYTES(s)	s, sizeof(s) - 1	/* with NULs inside */
#define SIG		"\r\n\r\n\0\r\nQUIT\n"
#define UNTOUCHED	((size_t)0x5eed)
#define AFTER		"GET / HTTP/1.0\r\n\r\n"
/* 1.2.3.4:1111 to 5.6.7.8:2222, as version 2 carries them. */
#define ADDR4		"\x01\x02\x03\x04\x05\x06\x07\x08\x04\x57\x08\xae"

/* The longest IPv6 text of the spec, and its longest lines. */
#define FFFF6	"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
#define V6LINE	"PROXY TCP6 " FFFF6 " " FFFF6 " 65535 65535\r\n"
#define UNKLINE	"PROXY UNKNOWN " FFFF6 " " FFFF6 " 65535 65535\r\n"

struct result {
	int			 rc;
	size_t			 hdrlen;
	struct sockaddr_storage	 src;
	socklen_t		 srclen;
	const char		*why;
};

/* Parse len bytes of buf from a buffer of exactly that size. */
static void
parse(const void *buf, size_t len, struct result *r)
{
	char	*copy;

	if ((copy = malloc(len > 0 ? len : 1)) == NULL)
		bail("malloc");
	memcpy(copy, buf, len);
	memset(r, 0, sizeof *r);
	r->hdrlen = UNTOUCHED;
	r->why = NULL;
	r->rc = proxy_parse(copy, len, &r->hdrlen, &r->src, &r->srclen,
	    &r->why);
	free(copy);
}

/* "ADDR:PORT" of a parsed source, "-" when none, "?" for garbage. */
static const char *
src_text(const struct result *r, char *out, size_t size)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	char				 host[INET6_ADDRSTRLEN];

	if (r->srclen == 0)
		return "-";
	if (r->src.ss_family == AF_INET && r->srclen == sizeof *sin) {
		sin = (const struct sockaddr_in *)&r->src;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
		snprintf(out, size, "%s:%u", host, ntohs(sin->sin_port));
	} else if (r->src.ss_family == AF_INET6 && r->srclen == sizeof *sin6) {
		sin6 = (const struct sockaddr_in6 *)&r->src;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
		snprintf(out, size, "[%s]:%u", host, ntohs(sin6->sin6_port));
	} else
		return "?";
	return out;
}

/* A good header: its length, its client, its prefixes, what may follow. */
static void
check_good(const char *name, const void *buf, size_t len, size_t hdrlen,
    const char *want)
{
	struct result	 r, r2;
	unsigned char	*more;
	char		 text[80], text2[80];
	size_t		 m, bad;

	parse(buf, len, &r);
	is_int(r.rc, PROXY_OK, "%s: accepted", name);
	if (r.rc != PROXY_OK)
		diag("why: %s", r.why ? r.why : "(null)");
	is_int((long long)r.hdrlen, (long long)hdrlen, "%s: length", name);
	is_str(src_text(&r, text, sizeof text), want, "%s: client", name);

	for (bad = 0, m = 0; m < hdrlen && m < len; m++) {
		parse(buf, m, &r2);
		if (r2.rc != PROXY_NEED_MORE && bad++ == 0)
			diag("%s: prefix of %zu bytes gave %d (%s)", name, m,
			    r2.rc, r2.why ? r2.why : "(null)");
	}
	is_int((long long)bad, 0, "%s: each of its %zu prefixes needs more",
	    name, hdrlen);

	/* The client's bytes after the header are not the parser's. */
	if ((more = malloc(len + sizeof AFTER)) == NULL)
		bail("malloc");
	memcpy(more, buf, len);
	memcpy(more + len, AFTER, sizeof AFTER);
	parse(more, len + sizeof AFTER, &r2);
	ok(r2.rc == r.rc && r2.hdrlen == r.hdrlen &&
	    strcmp(src_text(&r2, text2, sizeof text2),
	    src_text(&r, text, sizeof text)) == 0,
	    "%s: the same with data after it", name);
	free(more);

	/* why may be NULL, and is left alone on success. */
	r2.why = "untouched";
	r2.rc = proxy_parse(buf, len, &r2.hdrlen, &r2.src, &r2.srclen,
	    NULL);
	is_int(r2.rc, PROXY_OK, "%s: accepted with why NULL", name);
}

static void
test_good_v1(void)
{
	static const struct {
		const char	*line;
		const char	*want;
	} tab[] = {
		{ "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
		    "192.168.0.1:56324" },
		{ "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n",
		    "255.255.255.255:65535" },
		{ "PROXY TCP4 0.0.0.0 0.0.0.0 0 0\r\n", "0.0.0.0:0" },
		{ "PROXY TCP4 127.0.0.1 127.0.0.1 40000 1937\r\n",
		    "127.0.0.1:40000" },
		{ "PROXY TCP4 10.20.30.40 1.2.3.4 9 10\r\n",
		    "10.20.30.40:9" },
		{ "PROXY TCP6 2001:db8::1 ::1 1 65535\r\n",
		    "[2001:db8::1]:1" },
		{ "PROXY TCP6 ::1 ::1 51234 1937\r\n", "[::1]:51234" },
		{ "PROXY TCP6 2001:DB8:0:0:0:0:0:AB ::1 80 80\r\n",
		    "[2001:db8::ab]:80" },
		{ "PROXY TCP6 ::ffff:192.0.2.1 :: 1000 2000\r\n",
		    "[::ffff:192.0.2.1]:1000" },
		{ V6LINE, "[" FFFF6 "]:65535" },
		{ "PROXY UNKNOWN\r\n", "-" },
		{ "PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n", "-" },
		{ "PROXY UNKNOWN  anything\rat all \n\r\n", "-" },
		{ UNKLINE, "-" },
	};
	char	 name[PROXY_V1_MAX];
	size_t	 i, j, len;

	is_int((long long)strlen(V6LINE), 104, "the TCP6 line of the spec "
	    "is 104 bytes");
	is_int((long long)strlen(UNKLINE), PROXY_V1_MAX, "the UNKNOWN line "
	    "of the spec is PROXY_V1_MAX bytes");
	for (i = 0; i < NELEM(tab); i++) {
		len = strlen(tab[i].line);
		/* Control bytes would break the TAP line. */
		for (j = 0; j < len - 2; j++)
			name[j] = tab[i].line[j] < ' ' ? '.' : tab[i].line[j];
		name[j] = '\0';
		check_good(name, tab[i].line, len, len, tab[i].want);
	}
}

/*
 * A version 2 header: signature, ver_cmd, fam, the address block and a
 * NOOP TLV of pad bytes (none when pad is -1).  Returns its length.
 */
static size_t
v2_make(unsigned char *buf, int vercmd, int fam, const void *addr,
    size_t alen, long pad)
{
	size_t	 blen, n;

	memcpy(buf, SIG, 12);
	buf[12] = (unsigned char)vercmd;
	buf[13] = (unsigned char)fam;
	n = 16;
	memcpy(buf + n, addr, alen);
	n += alen;
	if (pad >= 0) {
		buf[n++] = 0x04;	/* PP2_TYPE_NOOP */
		buf[n++] = (unsigned char)(pad >> 8);
		buf[n++] = (unsigned char)pad;
		memset(buf + n, 0xee, (size_t)pad);
		n += (size_t)pad;
	}
	blen = n - 16;
	buf[14] = (unsigned char)(blen >> 8);
	buf[15] = (unsigned char)blen;
	return n;
}

static void
test_good_v2(void)
{
	static const struct {
		const char	*name;
		const char	*buf;
		size_t		 len;
		const char	*want;
	} tab[] = {
		{ "v2 PROXY TCP4", BYTES(SIG "\x21\x11\x00\x0c" ADDR4),
		    "1.2.3.4:1111" },
		{ "v2 PROXY TCP6", BYTES(SIG "\x21\x21\x00\x24"
		    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01"
		    "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01" "\xff\xff" "\x07\x91"),
		    "[2001:db8::1]:65535" },
		{ "v2 LOCAL UNSPEC", BYTES(SIG "\x20\x00\x00\x00"), "-" },
		{ "v2 LOCAL TCP4 with addresses",
		    BYTES(SIG "\x20\x11\x00\x0c" ADDR4),
		    "-" },
		{ "v2 LOCAL UDP4", BYTES(SIG "\x20\x12\x00\x00"), "-" },
		{ "v2 PROXY UNSPEC", BYTES(SIG "\x21\x00\x00\x03" "abc"), "-" },
		{ "v2 PROXY TCP4 with TLVs", BYTES(SIG "\x21\x11\x00\x1d"
		    "\x7f\x00\x00\x01" "\x7f\x00\x00\x01" "\x9c\x40" "\x07\x91"
		    "\x04\x00\x00"			/* empty NOOP */
		    "\x05\x00\x04" "uid!"		/* UNIQUE_ID */
		    "\x03\x00\x04" "\x12\x34\x56\x78"),	/* CRC32C, unchecked */
		    "127.0.0.1:40000" },
		{ "v2 PROXY TCP4 port 0", BYTES(SIG "\x21\x11\x00\x0c"
		    "\0\0\0\0" "\0\0\0\0" "\0\0" "\0\0"), "0.0.0.0:0" },
	};
	static const unsigned char a4[12] = {
		10, 0, 0, 1, 10, 0, 0, 2, 0x12, 0x34, 0x00, 0x25,
	};
	static const unsigned char a6[36] = {
		0xfe, 0x80, [15] = 0x09, [16] = 0xfe, [17] = 0x80, [31] = 0x01,
		[32] = 0xab, [33] = 0xcd, [34] = 0x07, [35] = 0x91,
	};
	unsigned char	 buf[PROXY_MAX + 64], unixaddr[PROXY_MAX];
	size_t		 i, n;

	for (i = 0; i < NELEM(tab); i++)
		check_good(tab[i].name, tab[i].buf, tab[i].len, tab[i].len,
		    tab[i].want);

	n = v2_make(buf, 0x21, 0x11, a4, sizeof a4, -1);
	check_good("v2 made TCP4", buf, n, n, "10.0.0.1:4660");
	n = v2_make(buf, 0x21, 0x21, a6, sizeof a6, 100);
	check_good("v2 TCP6 and 103 bytes of TLV", buf, n, n,
	    "[fe80::9]:43981");
	/* The largest: 536 bytes in all. */
	n = v2_make(buf, 0x21, 0x11, a4, sizeof a4,
	    PROXY_MAX - 16 - 12 - 3);
	is_int((long long)n, PROXY_MAX, "the largest header is %d bytes",
	    PROXY_MAX);
	check_good("v2 TCP4 of PROXY_MAX bytes", buf, n, n, "10.0.0.1:4660");
	n = v2_make(buf, 0x21, 0x21, a6, sizeof a6,
	    PROXY_MAX - 16 - 36 - 3);
	check_good("v2 TCP6 of PROXY_MAX bytes", buf, n, n,
	    "[fe80::9]:43981");
	/* AF_UNIX is valid, and read as UNSPEC: the peer stands. */
	memset(unixaddr, 'u', sizeof unixaddr);
	n = v2_make(buf, 0x21, 0x31, unixaddr, 216, 10);
	check_good("v2 PROXY UNIX stream", buf, n, n, "-");
	n = v2_make(buf, 0x20, 0x00, unixaddr, PROXY_MAX - 16, -1);
	check_good("v2 LOCAL of PROXY_MAX bytes", buf, n, n, "-");
}

static void
check_bad(const char *name, const void *buf, size_t len, const char *want)
{
	struct result	 r;
	size_t		 m, flips;
	int		 refused;

	parse(buf, len, &r);
	is_int(r.rc, PROXY_BAD, "%s: refused", name);
	is_str(r.why, want, "%s: reason", name);
	ok(r.hdrlen == UNTOUCHED && r.srclen == 0,
	    "%s: nothing returned", name);

	/* Once refused, refused: the prefixes never say OK. */
	for (refused = 0, flips = 0, m = 0; m <= len; m++) {
		parse(buf, m, &r);
		if (r.rc == PROXY_OK || (refused && r.rc != PROXY_BAD)) {
			if (flips++ == 0)
				diag("%s: prefix of %zu bytes gave %d", name,
				    m, r.rc);
		}
		if (r.rc == PROXY_BAD)
			refused = 1;
	}
	is_int((long long)flips, 0, "%s: prefixes need more until refused",
	    name);
	is_int(proxy_parse(buf, len, &m, &r.src, &r.srclen, NULL), PROXY_BAD,
	    "%s: refused with why NULL", name);
}

static void
test_bad(void)
{
	static const struct {
		const char	*name;
		const char	*buf;
		size_t		 len;
		const char	*why;
	} tab[] = {
		{ "HTTP", BYTES("GET / HTTP/1.0\r\n\r\n"),
		    "not a PROXY protocol header" },
		{ "lower case", BYTES("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n"),
		    "not a PROXY protocol header" },
		{ "PROXX", BYTES("PROXX TCP4"),
		    "not a PROXY protocol header" },
		{ "no space after PROXY", BYTES("PROXY\r\n"),
		    "not a PROXY protocol header" },
		{ "v2 bad signature", BYTES("\r\n\r\n\0\r\nQUIX\n\x21\x11"),
		    "not a PROXY protocol header" },
		{ "v2 NUL for the first LF", BYTES("\r\0"),
		    "not a PROXY protocol header" },
		{ "TLS", BYTES("\x16\x03\x01\x02\x00\x01"),
		    "not a PROXY protocol header" },
		{ "blank lines", BYTES("\r\n\r\nGET"),
		    "not a PROXY protocol header" },

		{ "v1 no CRLF in 107 bytes", BYTES("PROXY UNKNOWN "
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
		    "v1: no CRLF within 107 bytes" },
		{ "v1 CRLF at 108", BYTES("PROXY UNKNOWN "
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"),
		    "v1: no CRLF within 107 bytes" },
		{ "v1 long IPv6 text", BYTES("PROXY TCP6 "
		    "0000:0000:0000:0000:0000:0000:255.255.255.255 "
		    "0000:0000:0000:0000:0000:0000:255.255.255.255 "
		    "65535 65535\r\n"), "v1: no CRLF within 107 bytes" },
		{ "v1 double space",
		    BYTES("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n"),
		    "v1: fields must be separated by a single space" },
		{ "v1 double space first", BYTES("PROXY  TCP4"),
		    "v1: fields must be separated by a single space" },
		{ "v1 double space before port",
		    BYTES("PROXY TCP4 1.2.3.4 5.6.7.8  1 2\r\n"),
		    "v1: fields must be separated by a single space" },
		{ "v1 tab", BYTES("PROXY TCP4\t1.2.3.4 5.6.7.8 1 2\r\n"),
		    "v1: the protocol is none of TCP4, TCP6 and UNKNOWN" },
		{ "v1 TCP5", BYTES("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n"),
		    "v1: the protocol is none of TCP4, TCP6 and UNKNOWN" },
		{ "v1 UDP4", BYTES("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"),
		    "v1: the protocol is none of TCP4, TCP6 and UNKNOWN" },
		{ "v1 UNKNOWNX", BYTES("PROXY UNKNOWNX\r\n"),
		    "v1: the protocol is none of TCP4, TCP6 and UNKNOWN" },
		{ "v1 tcp4", BYTES("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n"),
		    "v1: the protocol is none of TCP4, TCP6 and UNKNOWN" },
		{ "v1 nothing", BYTES("PROXY \r\n"),
		    "v1: the line ends too early" },
		{ "v1 TCP4 alone", BYTES("PROXY TCP4\r\n"),
		    "v1: the line ends too early" },
		{ "v1 three fields", BYTES("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"),
		    "v1: the line ends too early" },
		{ "v1 two addresses", BYTES("PROXY TCP4 1.2.3.4 5.6.7.8\r\n"),
		    "v1: the line ends too early" },
		{ "v1 extra field",
		    BYTES("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"),
		    "v1: more fields than a TCP line has" },
		{ "v1 trailing space",
		    BYTES("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n"),
		    "v1: more fields than a TCP line has" },
		{ "v1 CR alone", BYTES("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX"),
		    "v1: CR not followed by LF" },
		{ "v1 CR CR LF", BYTES("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n"),
		    "v1: CR not followed by LF" },
		{ "v1 UNKNOWN CR alone", BYTES("PROXY UNKNOWN\rX"),
		    "v1: CR not followed by LF" },
		{ "v1 LF alone", BYTES("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"),
		    "v1: bad destination port" },
		{ "v1 three octets", BYTES("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n"),
		    "v1: bad source address" },
		{ "v1 five octets",
		    BYTES("PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n"),
		    "v1: bad source address" },
		{ "v1 octet 256", BYTES("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n"),
		    "v1: bad source address" },
		{ "v1 octet leading zero",
		    BYTES("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n"),
		    "v1: bad source address" },
		{ "v1 empty octet", BYTES("PROXY TCP4 1..3.4 5.6.7.8 1 2\r\n"),
		    "v1: bad source address" },
		{ "v1 trailing dot",
		    BYTES("PROXY TCP4 1.2.3.4. 5.6.7.8 1 2\r\n"),
		    "v1: bad source address" },
		{ "v1 hostname", BYTES("PROXY TCP4 localhost 5.6.7.8 1 2\r\n"),
		    "v1: bad source address" },
		{ "v1 IPv6 in TCP4", BYTES("PROXY TCP4 ::1 5.6.7.8 1 2\r\n"),
		    "v1: bad source address" },
		{ "v1 IPv4 in TCP6", BYTES("PROXY TCP6 1.2.3.4 ::1 1 2\r\n"),
		    "v1: bad source address" },
		{ "v1 bad IPv6", BYTES("PROXY TCP6 1:::2 ::1 1 2\r\n"),
		    "v1: bad source address" },
		{ "v1 IPv6 scope", BYTES("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n"),
		    "v1: bad source address" },
		{ "v1 IPv6 brackets", BYTES("PROXY TCP6 [::1] ::1 1 2\r\n"),
		    "v1: bad source address" },
		{ "v1 bad destination",
		    BYTES("PROXY TCP4 1.2.3.4 5.6.7.800 1 2\r\n"),
		    "v1: bad destination address" },
		{ "v1 mixed families", BYTES("PROXY TCP4 1.2.3.4 ::1 1 2\r\n"),
		    "v1: bad destination address" },
		{ "v1 port 65536",
		    BYTES("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"),
		    "v1: bad source port" },
		{ "v1 port leading zero",
		    BYTES("PROXY TCP4 1.2.3.4 5.6.7.8 01111 2\r\n"),
		    "v1: bad source port" },
		{ "v1 port 00", BYTES("PROXY TCP4 1.2.3.4 5.6.7.8 00 2\r\n"),
		    "v1: bad source port" },
		{ "v1 port plus", BYTES("PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n"),
		    "v1: bad source port" },
		{ "v1 port minus", BYTES("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n"),
		    "v1: bad source port" },
		{ "v1 port hex", BYTES("PROXY TCP4 1.2.3.4 5.6.7.8 0x10 2\r\n"),
		    "v1: bad source port" },
		{ "v1 port huge",
		    BYTES("PROXY TCP4 1.2.3.4 5.6.7.8 4294967297 2\r\n"),
		    "v1: bad source port" },
		{ "v1 destination port 65536",
		    BYTES("PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n"),
		    "v1: bad destination port" },
		{ "v1 NUL in port",
		    BYTES("PROXY TCP4 1.2.3.4 5.6.7.8 1\0 2\r\n"),
		    "v1: bad source port" },

		{ "v2 version 1", BYTES(SIG "\x11\x11\x00\x0c"),
		    "v2: the version is not 2" },
		{ "v2 version 3", BYTES(SIG "\x31"),
		    "v2: the version is not 2" },
		{ "v2 command 2", BYTES(SIG "\x22\x11\x00\x0c"),
		    "v2: the command is neither LOCAL nor PROXY" },
		{ "v2 command 15", BYTES(SIG "\x2f"),
		    "v2: the command is neither LOCAL nor PROXY" },
		{ "v2 family 4", BYTES(SIG "\x21\x41\x00\x0c"),
		    "v2: unknown address family or transport" },
		{ "v2 transport 3", BYTES(SIG "\x21\x13\x00\x0c"),
		    "v2: unknown address family or transport" },
		{ "v2 LOCAL family 4", BYTES(SIG "\x20\x41\x00\x00"),
		    "v2: unknown address family or transport" },
		{ "v2 UDP over IPv4", BYTES(SIG "\x21\x12\x00\x0c" ADDR4),
		    "v2: a datagram transport on a stream listener" },
		{ "v2 UDP over IPv6", BYTES(SIG "\x21\x22\x00\x24"),
		    "v2: a datagram transport on a stream listener" },
		{ "v2 UNIX datagram", BYTES(SIG "\x21\x32\x00\xd8"),
		    "v2: a datagram transport on a stream listener" },
		{ "v2 TCP4 length 11", BYTES(SIG "\x21\x11\x00\x0b"
		    "\x01\x02\x03\x04" "\x05\x06\x07\x08" "\x04\x57\x08"),
		    "v2: the length is too short for the address family" },
		{ "v2 TCP4 length 0", BYTES(SIG "\x21\x11\x00\x00"),
		    "v2: the length is too short for the address family" },
		{ "v2 TCP6 length 12", BYTES(SIG "\x21\x21\x00\x0c" ADDR4),
		    "v2: the length is too short for the address family" },
		{ "v2 length 521", BYTES(SIG "\x21\x11\x02\x09"),
		    "v2: the header is longer than 536 bytes" },
		{ "v2 length 65535", BYTES(SIG "\x20\x00\xff\xff"),
		    "v2: the header is longer than 536 bytes" },
		{ "v2 TLV cut short", BYTES(SIG "\x21\x11\x00\x0e" ADDR4
		    "\x04\x00"), "v2: a TLV is cut short" },
		{ "v2 TLV overruns", BYTES(SIG "\x21\x11\x00\x10" ADDR4
		    "\x04\x00\x02" "x"), "v2: a TLV overruns the header" },
		{ "v2 second TLV overruns", BYTES(SIG "\x21\x11\x00\x13" ADDR4
		    "\x04\x00\x00" "\x05\x01\x00" "x"),
		    "v2: a TLV overruns the header" },
	};
	size_t	 i;

	for (i = 0; i < NELEM(tab); i++)
		check_bad(tab[i].name, tab[i].buf, tab[i].len, tab[i].why);
}

/*
 * What can never become a header is refused on its first wrong byte,
 * not after the caller's wait; a cut header waits for the rest.
 */
static void
test_early(void)
{
	static const struct {
		const char	*buf;
		size_t		 len;
		int		 rc;
	} tab[] = {
		{ BYTES(""),				PROXY_NEED_MORE },
		{ BYTES("G"),				PROXY_BAD },
		{ BYTES("\x16"),			PROXY_BAD },
		{ BYTES("\0"),				PROXY_BAD },
		{ BYTES("P"),				PROXY_NEED_MORE },
		{ BYTES("PROXY"),			PROXY_NEED_MORE },
		{ BYTES("PROXY "),			PROXY_NEED_MORE },
		{ BYTES("PROXY X"),			PROXY_BAD },
		{ BYTES("PROXY TCP"),			PROXY_NEED_MORE },
		{ BYTES("PROXY TCP4 1.2."),		PROXY_NEED_MORE },
		{ BYTES("PROXY TCP4 1.2.3.4"),		PROXY_NEED_MORE },
		{ BYTES("PROXY TCP4 1.2.3.4."),		PROXY_BAD },
		{ BYTES("PROXY TCP4 1.2.3.4.5"),	PROXY_BAD },
		{ BYTES("PROXY TCP4 300"),		PROXY_BAD },
		{ BYTES("PROXY TCP4 00"),		PROXY_BAD },
		{ BYTES("PROXY TCP6 2001:db8:"),	PROXY_NEED_MORE },
		{ BYTES("PROXY TCP6 2001:dbx"),		PROXY_BAD },
		{ BYTES("PROXY TCP4 1.2.3.4 5.6.7.8 0"), PROXY_NEED_MORE },
		{ BYTES("PROXY TCP4 1.2.3.4 5.6.7.8 01"), PROXY_BAD },
		{ BYTES("PROXY TCP4 1.2.3.4 5.6.7.8 70000"), PROXY_BAD },
		{ BYTES("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r"), PROXY_NEED_MORE },
		{ BYTES("PROXY UNKNOWN junk\r"),	PROXY_NEED_MORE },
		{ BYTES("\r\n\r\n\0\r\nQU"),		PROXY_NEED_MORE },
		{ BYTES("\r\n\r\n\0\r\nQUIT\n"),	PROXY_NEED_MORE },
		{ BYTES("\r\n\r\n\0\r\nQUIT\n\x21\x11\x00"), PROXY_NEED_MORE },
		{ BYTES("\r\n\r\n\0\r\nQUIT\n\x10"),	PROXY_BAD },
		{ BYTES("\r\n\r\n\0\r\nQUIT\n\x21\x22"), PROXY_BAD },
		{ BYTES("\r\n\r\n\0\r\nQUIT\n\x21\x11\x02\x09"), PROXY_BAD },
		{ BYTES("\r\n\r\n\0\r\nQUIT\n\x21\x11\x02\x08"),
		    PROXY_NEED_MORE },
	};
	struct result	 r;
	size_t		 i;

	for (i = 0; i < NELEM(tab); i++) {
		parse(tab[i].buf, tab[i].len, &r);
		is_int(r.rc, tab[i].rc, "%zu bytes [%zu]: %s", tab[i].len, i,
		    tab[i].rc == PROXY_BAD ? "refused at once" : "needs more");
	}
}

/* Flip each byte of a good header: never OK with another length. */
static void
test_mutations(void)
{
	static const char v1[] =
	    "PROXY TCP4 192.168.0.1 10.0.0.1 56324 443\r\n";
	static const char v2[] = SIG "\x21\x11\x00\x0c" "\x01\x02\x03\x04"
	    "\x05\x06\x07\x08" "\x04\x57" "\x08\xae";
	const struct {
		const char	*buf;
		size_t		 len;
	} tab[] = { { v1, sizeof v1 - 1 }, { v2, sizeof v2 - 1 } };
	struct result	 r;
	char		 buf[64];
	size_t		 i, pos, odd;
	int		 b;

	for (i = 0; i < NELEM(tab); i++) {
		odd = 0;
		for (pos = 0; pos < tab[i].len; pos++)
			for (b = 0; b < 256; b++) {
				memcpy(buf, tab[i].buf, tab[i].len);
				buf[pos] = (char)b;
				parse(buf, tab[i].len, &r);
				if ((r.rc == PROXY_OK &&
				    r.hdrlen > tab[i].len) ||
				    (r.rc == PROXY_BAD && r.why == NULL) ||
				    (r.rc == PROXY_NEED_MORE && i == 0 &&
				    pos < 5)) {
					if (odd++ == 0)
						diag("byte %zu = %d: %d", pos,
						    b, r.rc);
				}
			}
		is_int((long long)odd, 0, "header %zu, every byte changed: "
		    "an answer with a reason, no overrun", i);
	}
}

int
main(void)
{
	test_good_v1();
	test_good_v2();
	test_bad();
	test_early();
	test_mutations();
	return done_testing();
}
