/*
 * tests/fuzz/net_spec.c: fuzz the listener spec parser.
 *
 * The input, NUL-terminated in a copy, is a command-line argument.  An
 * accepted spec must be whole: a socket type that matches its transport,
 * a protocol of ours, an address of a family whose length it carries, and
 * the port and protocol that the text names; written back in canonical
 * form it must parse to the same listener.  A refused one must come with
 * a printable sentence.  A broken property aborts, which libFuzzer and
 * tests/unit/fuzz_replay.c report.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "wire.h"

int	fuzz_net_spec(const uint8_t *, size_t);

static void
spec_require(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_net_spec: %s\n", what);
		abort();
	}
}

static void
spec_reason(const char *why)
{
	size_t	 i;

	spec_require(why != NULL, "failure without a reason");
	for (i = 0; why[i] != '\0'; i++)
		spec_require(why[i] >= ' ' && why[i] <= '~',
		    "reason is not printable");
	spec_require(i > 0 && i < 80, "reason is empty or too long");
}

/* The same listener: type, protocol, "*", family, address and port. */
static int
spec_same(const struct net_spec *a, const struct net_spec *b)
{
	const struct sockaddr_in	*a4, *b4;
	const struct sockaddr_in6	*a6, *b6;

	if (a->type != b->type || a->proto != b->proto || a->any != b->any ||
	    a->proxy != b->proxy || a->metrics != b->metrics ||
	    a->addrlen != b->addrlen ||
	    a->addr.ss_family != b->addr.ss_family)
		return 0;
	if (a->addr.ss_family == AF_INET) {
		a4 = (const struct sockaddr_in *)&a->addr;
		b4 = (const struct sockaddr_in *)&b->addr;
		return a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	}
	a6 = (const struct sockaddr_in6 *)&a->addr;
	b6 = (const struct sockaddr_in6 *)&b->addr;
	return a6->sin6_port == b6->sin6_port &&
	    memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof a6->sin6_addr) == 0;
}

static void
spec_accepted(const char *text, const struct net_spec *spec)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	struct net_spec			 again;
	const char			*colon, *slash, *plus, *name, *p;
	char				 host[INET6_ADDRSTRLEN];
	char				 back[NET_ADDRSTRLEN + 32];
	int				 port, textport;

	spec_require((spec->type == SOCK_STREAM &&
	    strncmp(text, "tcp:", 4) == 0) || (spec->type == SOCK_DGRAM &&
	    strncmp(text, "udp:", 4) == 0), "type does not match transport");
	spec_require((name = wire_proto_name(spec->proto)) != NULL,
	    "protocol out of range");
	/* "/metrics", on tcp alone, is a listener's kind, not a protocol. */
	if (spec->metrics) {
		spec_require(spec->type == SOCK_STREAM && !spec->proxy &&
		    spec->proto == STAMP_PROTO_STAMP, "metrics where it may "
		    "not be");
		name = "metrics";
	}
	if (spec->addr.ss_family == AF_INET) {
		spec_require(spec->addrlen == sizeof *sin && !spec->any,
		    "IPv4 address of the wrong length");
		sin = (const struct sockaddr_in *)&spec->addr;
		spec_require(inet_ntop(AF_INET, &sin->sin_addr, host,
		    sizeof host) != NULL, "inet_ntop failed");
	} else {
		spec_require(spec->addr.ss_family == AF_INET6 &&
		    spec->addrlen == sizeof *sin6,
		    "address neither IPv4 nor IPv6 of its length");
		sin6 = (const struct sockaddr_in6 *)&spec->addr;
		spec_require(inet_ntop(AF_INET6, &sin6->sin6_addr, host,
		    sizeof host) != NULL, "inet_ntop failed");
	}
	spec_require(spec->any == (strncmp(text + 4, "*:", 2) == 0),
	    "\"*\" is not what sets any");
	if (spec->any) {
		sin6 = (const struct sockaddr_in6 *)&spec->addr;
		spec_require(IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr),
		    "\"*\" is not the unspecified address");
	}

	/* A protocol name has no colon: the last one starts the port. */
	port = net_addr_port((const struct sockaddr *)&spec->addr);
	spec_require(port >= 0 && port <= 65535, "port out of range");
	colon = strrchr(text, ':');
	slash = strchr(colon, '/');
	textport = 0;
	for (p = colon + 1; p != slash && *p != '\0'; p++) {
		spec_require(*p >= '0' && *p <= '9', "port is not digits");
		textport = textport * 10 + (*p - '0');
		spec_require(textport <= 65535, "port out of range");
	}
	spec_require(p > colon + 1 && textport == port,
	    "port is not the text's");
	/* "/name", or "/name+proxy" on tcp alone, which sets proxy. */
	plus = slash != NULL ? strchr(slash, '+') : NULL;
	spec_require(spec->proxy == (plus != NULL), "+proxy is not what sets "
	    "proxy");
	spec_require(plus == NULL || (strcmp(plus, "+proxy") == 0 &&
	    spec->type == SOCK_STREAM), "+proxy accepted where it may not be");
	spec_require(slash == NULL ? spec->proto == STAMP_PROTO_STAMP :
	    strlen(name) == (size_t)((plus != NULL ? plus : slash +
	    strlen(slash)) - slash - 1) && strncmp(slash + 1, name,
	    strlen(name)) == 0, "protocol is not the text's");

	if (spec->any)
		strcpy(host, "*");
	snprintf(back, sizeof back, "%s:%s%s%s:%d/%s%s",
	    spec->type == SOCK_STREAM ? "tcp" : "udp",
	    spec->addr.ss_family == AF_INET6 && !spec->any ? "[" : "", host,
	    spec->addr.ss_family == AF_INET6 && !spec->any ? "]" : "", port,
	    name, spec->proxy ? "+proxy" : "");
	spec_require(net_parse_spec(back, &again) == NULL,
	    "canonical form refused");
	spec_require(spec_same(spec, &again),
	    "canonical form is another listener");
}

int
fuzz_net_spec(const uint8_t *data, size_t size)
{
	struct net_spec	 spec, again;
	const char	*why;
	char		*text;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	why = net_parse_spec(text, &spec);
	spec_require(net_parse_spec(text, &again) == why,
	    "two parses of one text disagree");
	if (why != NULL)
		spec_reason(why);
	else
		spec_accepted(text, &spec);
	free(text);
	return 0;
}

#ifdef FUZZ_MAIN
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_net_spec(data, size);
}
#endif
