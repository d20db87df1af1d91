/*
 * ctl_conf.c: mtlsctl settings from its libconfig files, strictly checked:
 * an unknown key, a wrong type or a bad value is an error naming FILE:LINE.
 * Runs in the mtlsctl process only.
 */
#include "autoconf.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libconfig.h>

#include "ctl_conf.h"
#include "ctl_util.h"

enum ctl_key_type {
	KEY_STRING,
	KEY_PATH,	/* a string; relative to the file's directory, "~/" is $HOME */
	KEY_SERVER,	/* a string in HOST[:PORT] syntax */
	KEY_TIMEOUT,	/* an integer, 1..CTL_MAX_TIMEOUT */
	_KEY_TYPE_MAX,
};

static const struct ctl_key {
	const char *name;
	enum ctl_key_type type;
	size_t offset;
} ctl_keys[] = {
	{ "server",		KEY_SERVER,	offsetof(struct ctl_settings, server) },
	{ "certificate",	KEY_PATH,	offsetof(struct ctl_settings, certificate) },
	{ "key",		KEY_PATH,	offsetof(struct ctl_settings, key) },
	{ "ca",			KEY_PATH,	offsetof(struct ctl_settings, ca) },
	{ "server_name",	KEY_STRING,	offsetof(struct ctl_settings, server_name) },
	{ "timeout",		KEY_TIMEOUT,	offsetof(struct ctl_settings, timeout) },
};

static void
oom(void)
{
	ctl_fail(EX_OSERR, NULL, "out of memory");
	exit(EX_OSERR);
}

static char *
xstrdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		oom();
	return p;
}

void
ctl_settings_clear(struct ctl_settings *s)
{
	free(s->server);
	free(s->certificate);
	free(s->key);
	free(s->ca);
	free(s->server_name);
	*s = (struct ctl_settings){ 0 };
}

static void
take_str(char **base, char **over)
{
	if (*over == NULL)
		return;
	free(*base);
	*base = TAKE_PTR(*over);
}

void
ctl_settings_merge(struct ctl_settings *base, struct ctl_settings *over)
{
	take_str(&base->server, &over->server);
	take_str(&base->certificate, &over->certificate);
	take_str(&base->key, &over->key);
	take_str(&base->ca, &over->ca);
	take_str(&base->server_name, &over->server_name);
	if (over->timeout != 0)
		base->timeout = over->timeout;
	ctl_settings_clear(over);
}

/* A path from a config file: "~/x" is $HOME/x, "x" is DIR-of-file/x. */
static char *
resolve_path(const char *file, const char *value)
{
	const char *home = getenv("HOME");
	const char *slash = strrchr(file, '/');
	char *p;
	int n;

	if (value[0] == '/')
		return xstrdup(value);
	if (value[0] == '~' && value[1] == '/' && home != NULL && home[0] != '\0')
		n = asprintf(&p, "%s%s", home, value + 1);
	else if (slash == NULL)
		return xstrdup(value);
	else
		n = asprintf(&p, "%.*s/%s", (int)(slash - file), file, value);
	if (n < 0)
		oom();
	return p;
}

/* Check one setting's value and store it; returns false after printing why. */
static bool
key_store(const struct ctl_key *k, const config_setting_t *set, const char *path,
    struct ctl_settings *s)
{
	int line = config_setting_source_line(set);
	char **slot = (char **)(void *)((char *)s + k->offset);
	const char *str, *err;
	char *host, *port;
	int v;

	if (k->type == KEY_TIMEOUT) {
		if (config_setting_type(set) != CONFIG_TYPE_INT) {
			ctl_fail(EX_CONFIG, NULL, "%s:%d: %s: must be a whole number of seconds",
			    path, line, k->name);
			return false;
		}
		v = config_setting_get_int(set);
		if (v < 1 || v > CTL_MAX_TIMEOUT) {
			ctl_fail(EX_CONFIG, NULL, "%s:%d: %s: must be between 1 and %d seconds",
			    path, line, k->name, CTL_MAX_TIMEOUT);
			return false;
		}
		s->timeout = (unsigned)v;
		return true;
	}
	if (config_setting_type(set) != CONFIG_TYPE_STRING ||
	    (str = config_setting_get_string(set)) == NULL || str[0] == '\0') {
		ctl_fail(EX_CONFIG, NULL, "%s:%d: %s: must be a non-empty string in double quotes",
		    path, line, k->name);
		return false;
	}
	if (k->type == KEY_SERVER) {
		if (ctl_parse_server(str, &host, &port, &err) < 0) {
			ctl_fail(EX_CONFIG, NULL, "%s:%d: %s: %s", path, line, k->name, err);
			return false;
		}
		free(host);
		free(port);
	}
	free(*slot);
	*slot = k->type == KEY_PATH ? resolve_path(path, str) : xstrdup(str);
	return true;
}

static const struct ctl_key *
key_find(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < ELEMENTSOF(ctl_keys); i++)
		if (strcmp(ctl_keys[i].name, name) == 0)
			return &ctl_keys[i];
	return NULL;
}

/* Walk the top-level settings; returns the number of problems printed. */
static int
conf_apply(config_t *cfg, const char *path, struct ctl_settings *s)
{
	config_setting_t *root = config_root_setting(cfg), *set;
	const struct ctl_key *k;
	char name[128];
	int i, bad = 0;

	for (i = 0; i < config_setting_length(root); i++) {
		set = config_setting_get_elem(root, (unsigned)i);
		if ((k = key_find(config_setting_name(set))) == NULL) {
			ctl_escape(config_setting_name(set), strlen(config_setting_name(set)),
			    name, sizeof(name));
			ctl_fail(EX_CONFIG, NULL, "%s:%d: %s: unknown key "
			    "(known: server, certificate, key, ca, server_name, timeout)",
			    path, config_setting_source_line(set), name);
			bad++;
		} else if (!key_store(k, set, path, s)) {
			bad++;
		}
	}
	return bad;
}

int
ctl_conf_load(const char *path, bool must_exist, struct ctl_settings *s)
{
	config_t cfg;
	struct stat st;
	FILE *f;
	int bad;

	if ((f = fopen(path, "re")) == NULL) {
		if (errno == ENOENT && !must_exist)
			return 0;
		return ctl_fail(EX_CONFIG, "check the path given with -c, or create the file",
		    "cannot read configuration file '%s': %s", path, strerror(errno));
	}
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		return ctl_fail(EX_CONFIG, "give -c a file", "configuration file '%s' is a "
		    "directory", path);
	}
	config_init(&cfg);
	if (config_read(&cfg, f) != CONFIG_TRUE) {
		ctl_fail(EX_CONFIG, "see mtlsctl(1), FILES, for the syntax",
		    "%s:%d: %s", path, config_error_line(&cfg), config_error_text(&cfg));
		config_destroy(&cfg);
		fclose(f);
		return EX_CONFIG;
	}
	fclose(f);
	bad = conf_apply(&cfg, path, s);
	config_destroy(&cfg);
	if (bad > 0) {
		fprintf(stderr, "hint: fix %s; mtlsctl(1), FILES, lists its keys\n", path);
		return EX_CONFIG;
	}
	return 0;
}

int
ctl_conf_load_defaults(struct ctl_settings *s)
{
	_cleanup_free_ char *user = NULL;
	const char *home = getenv("HOME");
	int r;

	if ((r = ctl_conf_load(CTL_SYSTEM_CONFIG, false, s)) != 0)
		return r;
	if (home == NULL || home[0] == '\0')
		return 0;
	if (asprintf(&user, "%s/%s", home, CTL_USER_CONFIG) < 0)
		oom();
	return ctl_conf_load(user, false, s);
}

/* Port: 1..65535, decimal digits only. */
static bool
port_ok(const char *p)
{
	size_t n = strspn(p, "0123456789");
	long v;

	if (n == 0 || n > 5 || p[n] != '\0')
		return false;
	v = strtol(p, NULL, 10);
	return v >= 1 && v <= 65535;
}

static bool
host_ok(const char *h, size_t len)
{
	size_t i;

	if (len == 0 || len > 253)
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)h[i] <= 0x20 || (unsigned char)h[i] >= 0x7f ||
		    h[i] == '/' || h[i] == '[' || h[i] == ']')
			return false;
	return true;
}

int
ctl_parse_server(const char *s, char **ret_host, char **ret_port, const char **ret_err)
{
	const char *h = s, *port = NULL, *end, *colon = strchr(s, ':');
	size_t hlen;

	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL) {
			*ret_err = "missing ']' after an IPv6 address";
			return -EINVAL;
		}
		h = s + 1;
		hlen = (size_t)(end - h);
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0') {
			*ret_err = "expected ':PORT' after ']'";
			return -EINVAL;
		}
	} else if (colon != NULL && strchr(colon + 1, ':') == NULL) {
		hlen = (size_t)(colon - s);
		port = colon + 1;
	} else {
		hlen = strlen(s);	/* a name, or a bare IPv6 address */
	}
	if (!host_ok(h, hlen)) {
		*ret_err = "expected HOST, HOST:PORT or [IPV6]:PORT";
		return -EINVAL;
	}
	if (port != NULL && !port_ok(port)) {
		*ret_err = "the port must be a number from 1 to 65535";
		return -EINVAL;
	}
	if ((*ret_host = strndup(h, hlen)) == NULL)
		oom();
	*ret_port = xstrdup(port != NULL ? port : CTL_DEFAULT_PORT);
	return 0;
}

int
ctl_parse_timeout(const char *s, unsigned *ret)
{
	size_t n = strspn(s, "0123456789");
	long v;

	if (n == 0 || n > 6 || s[n] != '\0')
		return -EINVAL;
	v = strtol(s, NULL, 10);
	if (v < 1 || v > CTL_MAX_TIMEOUT)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}
