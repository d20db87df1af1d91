/*
 * privs.c: privilege separation helpers (see privs.h).  Runs in the master
 * (lookup) and in the handshake process (drop).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "privs.h"

int
privs_lookup(const char *user, struct privs *ret, char *err, size_t n)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(user);
	if (pw == NULL) {
		snprintf(err, n, "user '%s' does not exist; create it (useradd --system "
		    "--no-create-home --shell /usr/sbin/nologin %s) or set 'user' to an existing "
		    "unprivileged user", user, user);
		return -ENOENT;
	}
	ret->drop = geteuid() == 0;
	ret->uid = pw->pw_uid;
	ret->gid = pw->pw_gid;
	if (ret->drop && pw->pw_uid == 0) {
		snprintf(err, n, "user '%s' is root; mtlsd never reads the network as root: "
		    "set 'user' to an unprivileged user", user);
		return -EPERM;
	}
	return 0;
}

static int
become(const struct privs *p, char *err, size_t n)
{
	if (setgroups(1, &p->gid) < 0 || setresgid(p->gid, p->gid, p->gid) < 0 ||
	    setresuid(p->uid, p->uid, p->uid) < 0) {
		snprintf(err, n, "cannot drop privileges to uid %u: %s", (unsigned)p->uid,
		    strerror(errno));
		return -errno;
	}
	/* Prove it: regaining root must fail (OpenSSH permanently_set_uid). */
	if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0 || getuid() == 0 ||
	    geteuid() == 0 || getegid() != p->gid) {
		snprintf(err, n, "privileges could be regained after dropping them; refusing to run");
		return -EPERM;
	}
	return 0;
}

int
privs_drop(const struct privs *p, char *err, size_t n)
{
	int r;

	if (p->drop && (r = become(p, err, n)) < 0)
		return r;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		snprintf(err, n, "prctl: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* 0 if every directory in writable (NULL-terminated) can be written to. */
static int
check_writable(const char *const *writable, char *err, size_t n)
{
	for (; writable != NULL && *writable != NULL; writable++) {
		if (access(*writable, W_OK | X_OK) < 0) {
			snprintf(err, n, "'%s' is not writable by the daemon's user (uid %u): %s; "
			    "chown it to that user", *writable, (unsigned)getuid(), strerror(errno));
			return -EACCES;
		}
	}
	return 0;
}

int
privs_check(const struct privs *p, const char *const *writable, char *err, size_t n)
{
	int fds[2], status = -1, e;
	ssize_t len;
	pid_t pid;

	if (!p->drop)
		return check_writable(writable, err, n);
	if (pipe2(fds, O_CLOEXEC) < 0)
		goto fail;
	if ((pid = fork()) < 0) {
		e = errno;
		(void)close(fds[0]);
		(void)close(fds[1]);
		errno = e;
		goto fail;
	}
	if (pid == 0) {
		(void)close(fds[0]);
		if (privs_drop(p, err, n) < 0) {
			(void)!write(fds[1], err, strlen(err));
			_exit(1);
		}
		if (check_writable(writable, err, n) < 0) {
			(void)!write(fds[1], err, strlen(err));
			_exit(2);
		}
		_exit(0);
	}
	(void)close(fds[1]);
	len = read(fds[0], err, n - 1);
	err[len > 0 ? len : 0] = '\0';
	(void)close(fds[0]);
	if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
		return -EACCES;
	if (err[0] == '\0')
		snprintf(err, n, "a test of dropping privileges failed");
	return -EPERM;
fail:
	e = errno;
	snprintf(err, n, "cannot test dropping privileges: %s", strerror(e));
	return -e;
}
