/*
 * deliver_spool.c: spool delivery, Maildir-style.  Runs in the worker.  The
 * message and its metadata go into SPOOL/tmp/ID, which is fsync()ed, renamed
 * to SPOOL/new/ID, and SPOOL/new is fsync()ed; only then is it delivered, so
 * a reader of new/ never sees a half-written file and an acknowledged message
 * survives a crash.  The file format is in mtlsd.conf(5).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "deliver.h"
#include "macro.h"

/* Write all of buf, through short writes and EINTR. */
static int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The header block: one "Name: value" line each, then an empty line. */
static int
header(char *buf, size_t n, const struct peer *p, const char *msg_id, size_t len)
{
	char when[64];
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	return snprintf(buf, n,
	    "MTLS-Msg-Id: %s\nMTLS-Time: %s.%03ldZ\nMTLS-Peer-CN: %s\n"
	    "MTLS-Peer-Subject: %s\nMTLS-Peer-Issuer: %s\nMTLS-Peer-Serial: %s\n"
	    "MTLS-Peer-SHA256: %s\nMTLS-Remote-Addr: %s\nMTLS-Remote-Port: %s\n"
	    "MTLS-TLS-Version: %s\nMTLS-TLS-Cipher: %s\nMTLS-Size: %zu\n\n",
	    msg_id, when, ts.tv_nsec / 1000000, p->cn, p->subject, p->issuer, p->serial,
	    p->sha256, p->addr, p->port, p->version != NULL ? p->version : "",
	    p->cipher != NULL ? p->cipher : "", len);
}

static int
fsync_dir(const char *dir)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0)
		return -errno;
	return 0;
}

int
deliver_spool_put(const char *spool, const struct peer *p, const char *msg_id,
    const void *data, size_t len, char *err, size_t n)
{
	char tmp[PATH_MAX], dst[PATH_MAX], dir[PATH_MAX], head[4096];
	int fd, h, r;

	snprintf(dir, sizeof(dir), "%s/new", spool);
	snprintf(dst, sizeof(dst), "%s/new/%s", spool, msg_id);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/tmp/%s", spool, msg_id) >= sizeof(tmp)) {
		snprintf(err, n, "deliver.spool path too long");
		return -ENAMETOOLONG;
	}
	h = header(head, sizeof(head), p, msg_id, len);
	if (h < 0 || (size_t)h >= sizeof(head))
		h = (int)sizeof(head) - 1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0) {
		r = -errno;
		snprintf(err, n, "cannot create %s: %s", tmp, strerror(-r));
		return r;
	}
	if ((r = write_all(fd, head, (size_t)h)) < 0 || (r = write_all(fd, data, len)) < 0 ||
	    (fsync(fd) < 0 && (r = -errno) < 0)) {
		snprintf(err, n, "cannot write %s: %s", tmp, strerror(-r));
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		r = -errno;
		snprintf(err, n, "cannot write %s: %s", tmp, strerror(-r));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, dst) < 0) {
		r = -errno;
		snprintf(err, n, "cannot move %s into new/: %s", tmp, strerror(-r));
		goto fail;
	}
	if ((r = fsync_dir(dir)) < 0) {
		/* Renamed but not durable: leave it (a duplicate beats a loss). */
		snprintf(err, n, "cannot fsync %s: %s", dir, strerror(-r));
		return r;
	}
	return 0;
fail:
	if (fd >= 0)
		(void)close(fd);
	(void)unlink(tmp);
	return r;
}

int
deliver_spool_prepare(const char *spool, uid_t uid, gid_t gid, char *err, size_t n)
{
	static const char *const sub[] = { "tmp", "new", "cur" };
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < ELEMENTSOF(sub); i++) {
		snprintf(path, sizeof(path), "%s/%s", spool, sub[i]);
		if (mkdir(path, 0750) < 0 && errno != EEXIST) {
			snprintf(err, n, "cannot create %s: %s; create the directory %s, "
			    "writable by the daemon's user", path, strerror(errno), spool);
			return -errno;
		}
		if (uid != (uid_t)-1 && chown(path, uid, gid) < 0 && errno != EPERM) {
			snprintf(err, n, "cannot chown %s: %s", path, strerror(errno));
			return -errno;
		}
	}
	return 0;
}
