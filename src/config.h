/*
 * config.h: mtlsd.conf (libconfig syntax) -> struct mtlsd_config.
 * Pure: no logging, no TLS, no process state.  Every error a user can make
 * comes back as one line "FILE:LINE: key: reason" in a struct config_errors,
 * all of them collected, so mtlsd -t can list everything at once.
 */
#ifndef MTLSD_CONFIG_H
#define MTLSD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/*
 * libconfig exports its own config_read_string(config_t *, const char *).
 * Ours is renamed at the symbol level so the two never clash at link time;
 * libconfig.h is included first so its prototype is never renamed.  A file
 * that includes config.h cannot call libconfig's config_read_string().
 */
#include <libconfig.h>
#define config_read_string mtlsd_config_read_string

#define MTLSD_DEFAULT_CONFIG	"/etc/mtlsd.conf"
#define MTLSD_DEFAULT_PORT	"8443"

/* One "host:port" or "[v6]:port" from listen; host "*" or "" is not allowed. */
struct listen_addr {
	char *host;		/* "0.0.0.0", "::", "127.0.0.1", "localhost" */
	char *port;		/* decimal, "0" allowed (kernel picks) */
};

struct mtlsd_config {
	char *path;			/* the file this came from */
	struct listen_addr *listen;
	size_t n_listen;
	char *user;			/* default "mtlsd" */
	struct {
		char *certificate;	/* required */
		char *key;		/* required */
		char *client_ca;	/* required */
		char *crl;		/* optional, NULL if unset */
		int min_version;	/* TLS1_2_VERSION or TLS1_3_VERSION */
		unsigned verify_depth;	/* intermediates allowed, 0..16, default 3 */
		unsigned crl_warn_days;	/* mtlsd -t warns this long before nextUpdate, default 7 */
		unsigned session_tickets; /* TLS 1.3 tickets per full handshake, 0..4, default 1 */
	} tls;
	char **allow_cn;		/* may be empty: nobody is allowed */
	size_t n_allow_cn;
	char **allow_sha256;		/* certificate pins: 64 lower-case hex digits each */
	size_t n_allow_sha256;
	struct {
		unsigned max_workers;		/* 1..65536, default 256 */
		unsigned max_handshakes;	/* 1..65536, default 128 */
		unsigned max_per_address;	/* 1..65536, default 16 */
		unsigned max_failures;		/* per address per minute before slowing; 0 off */
		unsigned handshake_processes;	/* 0: one per CPU; 1..16 */
		unsigned handshake_timeout;	/* seconds, 1..3600, default 10 */
		unsigned idle_timeout;		/* seconds, 1..86400, default 300 */
		size_t max_message_size;	/* bytes, 0..67108864, default 1048576 */
	} limits;
	struct {
		bool journal;		/* default true */
		char *spool;		/* NULL if unset */
		char **exec;		/* argv, NULL-terminated; NULL if unset */
		size_t n_exec;
		unsigned exec_timeout;	/* seconds, 1..3600, default 30 */
	} deliver;
};

struct config_errors {
	char **lines;		/* "FILE:LINE: key: reason" */
	size_t n;
};

/*
 * Parse a configuration file.  Returns 0 and a new config in *ret_cfg, or
 * -EINVAL with every problem appended to errs (-ENOENT/-EACCES/... when the
 * file cannot be opened: errs then holds one line naming the file).
 */
int config_load(const char *path, struct mtlsd_config **ret_cfg, struct config_errors *errs);

/* Same, from a string; name is used in error lines in place of a path. */
int config_read_string(const char *text, const char *name, struct mtlsd_config **ret_cfg,
    struct config_errors *errs);

void config_free(struct mtlsd_config *cfg);

/* Append a formatted line to errs (never fails silently: aborts on OOM). */
void config_errors_add(struct config_errors *errs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void config_errors_clear(struct config_errors *errs);

/* Parse "host:port" / "[v6]:port"; returns 0 or -EINVAL with *ret_err set. */
int config_parse_listen(const char *s, struct listen_addr *ret, const char **ret_err);

/* Print the effective configuration in libconfig syntax (mtlsd -T). */
void config_dump(const struct mtlsd_config *cfg, FILE *f);

/* The text "TLSv1.2" or "TLSv1.3" for a min_version value, NULL if neither. */
const char *config_tls_version_name(int version);

#endif
