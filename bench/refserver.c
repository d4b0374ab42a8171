/*
 * refserver: the least a TCP stamp server can do, as a yardstick.
 *
 * One SO_REUSEPORT listener per thread, each thread blocking in accept:
 * accept4, send, close, and nothing else: no drain, no counters, no
 * signals, no logging.  What the kernel allows for this job; stampd is
 * measured against it by bench/run.sh.  Not installed, not for use.
 *
 *	refserver [-m] [-t threads] [-b backlog] [address port]
 *
 * -m sends with MSG_MORE, so that the reply leaves with the FIN in one
 * segment.  Prints "listening tcp ADDRESS:PORT stamp" on stderr, as
 * stampd does, and serves until killed.
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

static struct sockaddr_in	 addr;
static int			 flags, backlog = SOMAXCONN;

static int
listener(void)
{
	int	 fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		err(1, "socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) == -1)
		err(1, "setsockopt");
	if (bind(fd, (struct sockaddr *)&addr, sizeof addr) == -1)
		err(1, "bind");
	if (listen(fd, backlog) == -1)
		err(1, "listen");
	return fd;
}

static void *
serve(void *arg)
{
	char	 buf[32];
	int	 lfd = (int)(long)arg, fd, len;

	for (;;) {
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1)
			continue;
		len = snprintf(buf, sizeof buf, STAMP_FMT,
		    (long long)time(NULL));
		send(fd, buf, (size_t)len, MSG_NOSIGNAL | flags);
		close(fd);
	}
	return NULL;
}

int
main(int argc, char *argv[])
{
	pthread_t	 tid;
	socklen_t	 len = sizeof addr;
	int		 ch, threads = 1, i, fd;

	while ((ch = getopt(argc, argv, "b:mt:")) != -1) {
		switch (ch) {
		case 'b':
			backlog = atoi(optarg);
			break;
		case 'm':
			flags = MSG_MORE;
			break;
		case 't':
			threads = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: refserver [-m] [-t threads] "
			    "[-b backlog] [address port]\n");
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (argc == 2) {
		if (inet_pton(AF_INET, argv[0], &addr.sin_addr) != 1)
			errx(2, "%s: not an IPv4 address", argv[0]);
		addr.sin_port = htons((unsigned short)atoi(argv[1]));
	}
	/* The first socket fixes the port; the others share it. */
	fd = listener();
	if (getsockname(fd, (struct sockaddr *)&addr, &len) == -1)
		err(1, "getsockname");
	fprintf(stderr, "refserver: listening tcp %s:%d stamp\n",
	    inet_ntoa(addr.sin_addr), ntohs(addr.sin_port));
	for (i = 1; i < threads; i++)
		if (pthread_create(&tid, NULL, serve,
		    (void *)(long)listener()) != 0)
			errx(1, "pthread_create");
	serve((void *)(long)fd);
	return 0;
}
