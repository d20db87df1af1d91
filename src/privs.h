/*
 * privs.h: dropping root for good.  The master resolves the user once; the
 * handshake process drops to it before it touches a connection, and proves
 * that root cannot be regained.
 */
#ifndef MTLSD_PRIVS_H
#define MTLSD_PRIVS_H

#include <stdbool.h>
#include <sys/types.h>

struct privs {
	bool drop;		/* we are root and must become uid/gid */
	uid_t uid;
	gid_t gid;
};

/* Look up user.  Returns 0, or -ENOENT with a sentence in err. */
int privs_lookup(const char *user, struct privs *ret, char *err, size_t n);

/*
 * Become p->uid/p->gid (if p->drop), then set no_new_privs and make the
 * process non-dumpable.  Returns 0, or -errno with a sentence in err; a
 * process that could regain root afterwards gets -EPERM.
 */
int privs_drop(const struct privs *p, char *err, size_t n);

/*
 * Try privs_drop() in a throw-away child (for mtlsd -t) and, as the user the
 * workers run as, whether each of the NULL-terminated directories in
 * writable can be written to: 0 if so, else the reason in err and -EPERM
 * (privileges cannot be dropped) or -EACCES (a directory is not writable).
 */
int privs_check(const struct privs *p, const char *const *writable, char *err, size_t n);

#endif
