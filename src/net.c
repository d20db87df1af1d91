/*
 * net.c: listening sockets (see net.h).  Runs in the master at start-up.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "macro.h"
#include "net.h"

#define LISTEN_BACKLOG 511

static int
bind_one(const struct addrinfo *ai, char *err, size_t n, const struct listen_addr *a)
{
	_cleanup_close_ int fd = -1;
	int one = 1;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		goto fail;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* "[::]:8443" and "0.0.0.0:8443" side by side, as in the example config. */
	if (ai->ai_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, LISTEN_BACKLOG) < 0)
		goto fail;
	return TAKE_FD(fd);
fail:
	snprintf(err, n, "listen: cannot listen on %s port %s: %s%s", a->host, a->port,
	    strerror(errno), errno == EADDRINUSE ? " (another program uses it; change 'listen')" :
	    errno == EACCES ? " (ports below 1024 need root or socket activation)" : "");
	return -errno;
}

int
net_listen(const struct listen_addr *a, char *err, size_t n)
{
	struct addrinfo hints = {
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
	};
	struct addrinfo *res = NULL;
	int r;

	r = getaddrinfo(a->host, a->port, &hints, &res);
	if (r != 0) {
		snprintf(err, n, "listen: cannot resolve '%s': %s", a->host, gai_strerror(r));
		return -EINVAL;
	}
	r = bind_one(res, err, n, a);
	freeaddrinfo(res);
	return r;
}

void
net_sockname(int fd, char *buf, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET6) {
			const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
			port = ntohs(s6->sin6_port);
			snprintf(buf, n, "[%s]:%u", host, port);
			return;
		}
		inet_ntop(AF_INET, &((const struct sockaddr_in *)&ss)->sin_addr, host, sizeof(host));
		port = ntohs(((const struct sockaddr_in *)&ss)->sin_port);
	}
	snprintf(buf, n, "%s:%u", host, port);
}

int
net_systemd_sockets(int **ret_fds, char *err, size_t n)
{
	int i, count, fd, *fds;

	*ret_fds = NULL;
	count = sd_listen_fds(1);
	if (count < 0) {
		snprintf(err, n, "socket activation: %s", strerror(-count));
		return count;
	}
	if (count == 0)
		return 0;
	if ((fds = calloc((size_t)count, sizeof(int))) == NULL)
		return -ENOMEM;
	for (i = 0; i < count; i++) {
		fd = SD_LISTEN_FDS_START + i;
		if (sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 1, 0) <= 0) {
			snprintf(err, n, "socket activation: systemd passed file descriptor %d, which "
			    "is not a listening TCP socket; mtlsd.socket may only hold ListenStream= "
			    "lines with an address and port", fd);
			free(fds);
			return -EINVAL;
		}
		(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
		fds[i] = fd;
	}
	*ret_fds = fds;
	return count;
}
