/*
 * state.c: loading one generation of rules (see state.h).  Runs in the
 * master, at start (and for mtlsd -t) and on SIGHUP.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "deliver.h"
#include "macro.h"
#include "state.h"
#include "tls.h"

void
state_free(struct state *s)
{
	if (s == NULL)
		return;
	SSL_CTX_free(s->ctx);
	config_free(s->cfg);
	free(s);
}

DEFINE_FREEP(struct state, state_free)

/* deliver.exec's program: a regular file someone may execute. */
static int
check_program(const char *prog, char *err, size_t n)
{
	struct stat st;

	if (stat(prog, &st) < 0) {
		snprintf(err, n, "'%s': %s", prog, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0) {
		snprintf(err, n, "'%s' is not an executable file; chmod +x it", prog);
		return -EACCES;
	}
	return 0;
}

int
state_load(const char *path, struct state **ret, struct config_errors *errs,
    struct config_errors *warns)
{
	_cleanup_(state_freep) struct state *s = calloc(1, sizeof(*s));
	char err[512];
	int r;

	if (s == NULL)
		return -ENOMEM;
	if ((r = config_load(path, &s->cfg, errs)) < 0)
		return r;
	if ((r = tls_server_ctx_new(s->cfg, &s->ctx, errs, warns)) < 0)
		return r;
	if (privs_lookup(s->cfg->user, &s->privs, err, sizeof(err)) < 0) {
		config_errors_add(errs, "%s: user: %s", path, err);
		return -EINVAL;
	}
	if (s->cfg->deliver.spool != NULL &&
	    deliver_spool_prepare(s->cfg->deliver.spool, s->privs.drop ? s->privs.uid : (uid_t)-1,
	    s->privs.drop ? s->privs.gid : (gid_t)-1, err, sizeof(err)) < 0) {
		config_errors_add(errs, "%s: deliver.spool: %s", path, err);
		return -EINVAL;
	}
	if (s->cfg->deliver.exec != NULL && check_program(s->cfg->deliver.exec[0], err,
	    sizeof(err)) < 0) {
		config_errors_add(errs, "%s: deliver.exec: %s", path, err);
		return -EINVAL;
	}
	*ret = TAKE_PTR(s);
	return 0;
}

void
state_errors_join(const struct config_errors *errs, char *buf, size_t n)
{
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < errs->n && o < n; i++)
		o += (size_t)snprintf(buf + o, n - o, "%s%s", i ? "; " : "", errs->lines[i]);
}
