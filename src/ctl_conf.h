/*
 * ctl_conf.h: mtlsctl settings: its libconfig files (~/.config/mtlsctl.conf,
 * /etc/mtlsctl.conf) and the HOST[:PORT] syntax.  Runs in mtlsctl only.
 */
#ifndef MTLSD_CTL_CONF_H
#define MTLSD_CTL_CONF_H

#include <stdbool.h>

#define CTL_SYSTEM_CONFIG	"/etc/mtlsctl.conf"
#define CTL_USER_CONFIG		".config/mtlsctl.conf"	/* under $HOME */
#define CTL_DEFAULT_SERVER	"localhost"
#define CTL_DEFAULT_PORT	"8443"
#define CTL_DEFAULT_TIMEOUT	10
#define CTL_MAX_TIMEOUT		3600

/* Every string is malloc'd or NULL (unset); timeout 0 is unset. */
struct ctl_settings {
	char *server;		/* "HOST[:PORT]" */
	char *certificate;
	char *key;
	char *ca;
	char *server_name;
	unsigned timeout;	/* seconds */
};

void ctl_settings_clear(struct ctl_settings *s);

/* Every setting made in over replaces the one in base; over is emptied. */
void ctl_settings_merge(struct ctl_settings *base, struct ctl_settings *over);

/*
 * Read one file into s, overriding what it sets.  A missing file is fine
 * unless must_exist.  Returns 0, or EX_CONFIG after printing every problem
 * as "mtlsctl: FILE:LINE: key: reason".
 */
int ctl_conf_load(const char *path, bool must_exist, struct ctl_settings *s);

/* Read /etc/mtlsctl.conf, then ~/.config/mtlsctl.conf over it. */
int ctl_conf_load_defaults(struct ctl_settings *s);

/*
 * Split "HOST", "HOST:PORT", "[V6]", "[V6]:PORT" or a bare IPv6 address.
 * Returns 0 with malloc'd *ret_host and *ret_port (CTL_DEFAULT_PORT when
 * absent), or -EINVAL with a short reason in *ret_err.
 */
int ctl_parse_server(const char *s, char **ret_host, char **ret_port, const char **ret_err);

/* Parse a timeout in whole seconds, 1..CTL_MAX_TIMEOUT; -EINVAL if not. */
int ctl_parse_timeout(const char *s, unsigned *ret);

#endif
