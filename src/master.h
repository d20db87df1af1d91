/*
 * master.h: the master role.  Started as root it keeps its privileges, but
 * only reads configuration and keys and supervises; it never touches a
 * connection.  It forks one handshake process per generation of rules,
 * restarts it if it dies, reloads on SIGHUP and talks to systemd.
 */
#ifndef MTLSD_MASTER_H
#define MTLSD_MASTER_H

#include <stdbool.h>
#include <stddef.h>

#include "state.h"

struct master_params {
	const char *config_path;
	struct state *state;		/* generation 1; the master owns it */
	int *listen_fds;
	size_t n_listen;
	bool socket_activated;
};

/* Supervise until SIGTERM/SIGINT; returns the exit status. */
int master_main(struct master_params *mp);

#endif
