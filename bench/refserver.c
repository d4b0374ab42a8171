/*
 * refserver: the least a stamp server can do, as a yardstick.
 *
 * One SO_REUSEPORT socket per thread, each thread blocking on it.  Over
 * TCP: accept4, send, close, and nothing else: no drain, no counters, no
 * signals, no logging.  Over UDP (-u): recvfrom, sendto, one datagram at
 * a time, as the plain loop every textbook shows.  What the kernel allows
 * for this job; stampd is measured against it by bench/run.sh.  Not
 * installed, not for use.
 *
 *	refserver [-dmu] [-t threads] [-b backlog] [address port]
 *
 * -m sends with MSG_MORE, so that the reply leaves with the FIN in one
 * segment.  -d adds what stampd must do and a bare loop does not: half-
 * close, then read what the client sent (without waiting), then close, so
 * that a client's unread bytes cannot turn the close into a reset.  Prints "listening tcp ADDRESS:PORT stamp" (or udp) on stderr,
 * as stampd does, and serves until killed.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"
#include "util.h"

static struct sockaddr_in	 addr;
static int			 flags, drain, type = SOCK_STREAM;
static int			 backlog = SOMAXCONN;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: refserver [-dmu] [-t threads] [-b backlog] "
	    "[address port]\n");
	exit(2);
}

static int
number(const char *what, const char *arg, long long min, long long max)
{
	const char	*why;
	long long	 v;

	if ((why = util_number(arg, min, max, &v)) != NULL) {
		warnx("%s %s: %s", what, arg, why);
		usage();
	}
	return (int)v;
}

static int
bound(void)
{
	int	 fd, one = 1;

	if ((fd = socket(AF_INET, type | SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) == -1)
		err(1, "setsockopt");
	if (bind(fd, (struct sockaddr *)&addr, sizeof addr) == -1)
		err(1, "bind");
	if (type == SOCK_STREAM && listen(fd, backlog) == -1)
		err(1, "listen");
	return fd;
}

static void *
serve_tcp(void *arg)
{
	char	 buf[32], junk[512];
	int	 lfd = (int)(long)arg, fd, len;

	for (;;) {
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1)
			continue;
		len = snprintf(buf, sizeof buf, STAMP_FMT,
		    (long long)time(NULL));
		send(fd, buf, (size_t)len, MSG_NOSIGNAL | flags);
		if (drain) {
			shutdown(fd, SHUT_WR);
			recv(fd, junk, sizeof junk, MSG_DONTWAIT);
		}
		close(fd);
	}
	return NULL;
}

static void *
serve_udp(void *arg)
{
	struct sockaddr_storage	 from;
	socklen_t		 fromlen;
	char			 junk[8], buf[32];
	int			 fd = (int)(long)arg, len;

	for (;;) {
		fromlen = sizeof from;
		if (recvfrom(fd, junk, sizeof junk, 0,
		    (struct sockaddr *)&from, &fromlen) == -1)
			continue;
		len = snprintf(buf, sizeof buf, STAMP_FMT,
		    (long long)time(NULL));
		sendto(fd, buf, (size_t)len, 0, (struct sockaddr *)&from,
		    fromlen);
	}
	return NULL;
}

int
main(int argc, char *argv[])
{
	void		*(*serve)(void *) = serve_tcp;
	pthread_t	 tid;
	socklen_t	 len = sizeof addr;
	int		 ch, threads = 1, i, fd;

	while ((ch = getopt(argc, argv, "b:dmt:u")) != -1) {
		switch (ch) {
		case 'b':
			backlog = number("-b", optarg, 1, 65535);
			break;
		case 'd':
			drain = 1;
			break;
		case 'm':
			flags = MSG_MORE;
			break;
		case 't':
			threads = number("-t", optarg, 1, 1024);
			break;
		case 'u':
			type = SOCK_DGRAM;
			serve = serve_udp;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 0 && argc != 2)
		usage();
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (argc == 2) {
		if (inet_pton(AF_INET, argv[0], &addr.sin_addr) != 1)
			errx(2, "%s: not an IPv4 address", argv[0]);
		addr.sin_port = htons((unsigned short)number("port", argv[1],
		    0, 65535));
	}
	/* The first socket fixes the port; the others share it. */
	fd = bound();
	if (getsockname(fd, (struct sockaddr *)&addr, &len) == -1)
		err(1, "getsockname");
	fprintf(stderr, "refserver: listening %s %s:%d stamp\n",
	    type == SOCK_STREAM ? "tcp" : "udp", inet_ntoa(addr.sin_addr),
	    ntohs(addr.sin_port));
	for (i = 1; i < threads; i++)
		if (pthread_create(&tid, NULL, serve, (void *)(long)bound()) !=
		    0)
			errx(1, "pthread_create");
	serve((void *)(long)fd);
	return 0;
}
