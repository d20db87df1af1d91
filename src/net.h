/*
 * net.h: listening sockets and socket addresses.  Used by the master.
 */
#ifndef MTLSD_NET_H
#define MTLSD_NET_H

#include <stddef.h>

#include "config.h"

/* Bind and listen on a (non-blocking, close-on-exec).  Returns fd or -errno, err set. */
int net_listen(const struct listen_addr *a, char *err, size_t n);

/*
 * Sockets passed by systemd (socket activation).  Returns how many (0: none,
 * *ret_fds NULL), or -EINVAL with err set when one is not a listening TCP
 * stream socket.  The sockets are made non-blocking and close-on-exec.
 */
int net_systemd_sockets(int **ret_fds, char *err, size_t n);

/* "127.0.0.1:8443" or "[::1]:8443" for a bound socket. */
void net_sockname(int fd, char *buf, size_t n);

#endif
