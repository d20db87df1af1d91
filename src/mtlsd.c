/*
 * mtlsd.c: main(): options, configuration, the TLS context, the listening
 * sockets; then hands over to the master.  `mtlsd -t` runs exactly the
 * start-up path up to the point of listening and reports what it found.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "autoconf.h"
#include "alloc.h"
#include "config.h"
#include "log.h"
#include "master.h"
#include "net.h"
#include "privs.h"
#include "state.h"

enum mode { MODE_RUN, MODE_TEST, MODE_DUMP };

struct options {
	const char *config;
	enum mode mode;
	enum log_backend log;
	bool quiet;		/* -q: no "configuration OK" */
};

static _noreturn_ void
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: mtlsd [-c FILE] [-t [-q] | -T] [--log=journal|stderr]\n"
	    "  -c, --config FILE  configuration file (default %s)\n"
	    "  -t, --test         check the configuration, certificates and keys, then exit\n"
	    "  -q, --quiet        with -t: print only problems and warnings\n"
	    "  -T, --dump         print the effective configuration, then exit\n"
	    "      --log=WHERE    journal or stderr (default: the journal when reachable)\n"
	    "  -V, --version      print the version\n"
	    "  -h, --help         print this help\n", MTLSD_DEFAULT_CONFIG);
	exit(status);
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "test", no_argument, NULL, 't' },
		{ "dump", no_argument, NULL, 'T' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "log", required_argument, NULL, 'l' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	*o = (struct options){ MTLSD_DEFAULT_CONFIG, MODE_RUN, LOG_BACKEND_AUTO, false };
	while ((ch = getopt_long(argc, argv, "c:tTqVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config = optarg;
			break;
		case 't':
			o->mode = MODE_TEST;
			break;
		case 'T':
			o->mode = MODE_DUMP;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'l':
			if (strcmp(optarg, "journal") == 0)
				o->log = LOG_BACKEND_JOURNAL;
			else if (strcmp(optarg, "stderr") == 0)
				o->log = LOG_BACKEND_STDERR;
			else
				usage(1);
			break;
		case 'V':
			printf("mtlsd %s\nmalloc: %s\n", PACKAGE_VERSION, alloc_name());
			exit(0);
		case 'h':
			usage(0);
		default:
			usage(1);
		}
	}
	if (optind != argc)
		usage(1);
}

static void
print_lines(const struct config_errors *e, const char *prefix)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		fprintf(stderr, "%s%s\n", prefix, e->lines[i]);
}

/* mtlsd -t: what the unprivileged processes will be able to do. */
static int
check_as_user(const char *path, const struct state *st, struct config_errors *errs)
{
	char tmp[PATH_MAX], new[PATH_MAX], err[768];
	const char *dirs[3] = { NULL, NULL, NULL };

	if (st->cfg->deliver.spool != NULL) {
		snprintf(tmp, sizeof(tmp), "%s/tmp", st->cfg->deliver.spool);
		snprintf(new, sizeof(new), "%s/new", st->cfg->deliver.spool);
		dirs[0] = tmp;
		dirs[1] = new;
	}
	switch (privs_check(&st->privs, dirs, err, sizeof(err))) {
	case 0:
		break;
	case -EACCES:
		config_errors_add(errs, "%s: deliver.spool: %s", path, err);
		return -EPERM;
	default:
		config_errors_add(errs, "%s: user: %s", path, err);
		return -EPERM;
	}
	return 0;
}

/* Everything up to the point of listening. 0, or 1 with the reasons printed. */
static int
prepare(const struct options *o, struct state **ret)
{
	struct config_errors errs = { 0 }, warns = { 0 };
	size_t i;
	int r;

	r = state_load(o->config, ret, &errs, &warns);
	if (r == 0 && o->mode == MODE_TEST && check_as_user(o->config, *ret, &errs) < 0)
		r = -EPERM;
	print_lines(&errs, "");
	if (o->mode != MODE_RUN)
		print_lines(&warns, "warning: ");
	else
		for (i = 0; i < warns.n; i++)
			log_warning("%s", warns.lines[i]);
	config_errors_clear(&errs);
	config_errors_clear(&warns);
	return r < 0 ? 1 : 0;
}

/* The sockets systemd passed, else our own from 'listen'. */
static int
open_listeners(struct master_params *mp)
{
	const struct mtlsd_config *cfg = mp->state->cfg;
	char err[512];
	int r, fd;
	size_t i;

	if ((r = net_systemd_sockets(&mp->listen_fds, err, sizeof(err))) != 0) {
		if (r < 0) {
			log_error("%s", err);
			fprintf(stderr, "mtlsd: %s\n", err);
			return r;
		}
		mp->n_listen = (size_t)r;
		mp->socket_activated = true;
		log_event(LOG_NOTICE, EV_START, NULL, NULL, 0, "using %d socket(s) passed by "
		    "systemd; 'listen' in %s is ignored", r, mp->config_path);
		return 0;
	}
	if ((mp->listen_fds = calloc(cfg->n_listen, sizeof(int))) == NULL)
		return -ENOMEM;
	for (i = 0; i < cfg->n_listen; i++) {
		fd = net_listen(&cfg->listen[i], err, sizeof(err));
		if (fd < 0) {
			log_error("%s", err);
			fprintf(stderr, "mtlsd: %s\n", err);
			return fd;
		}
		mp->listen_fds[mp->n_listen++] = fd;
	}
	return 0;
}

static void
block_signals(void)
{
	sigset_t mask;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);	/* "retire", read from a signalfd by handshake processes */
	sigprocmask(SIG_BLOCK, &mask, NULL);
}

int
main(int argc, char **argv)
{
	struct master_params mp = { 0 };
	struct options o;
	int r;

	parse_options(argc, argv, &o);
	block_signals();
	log_init(o.log);
	mp.config_path = o.config;
	if (prepare(&o, &mp.state) != 0) {
		if (o.mode == MODE_RUN)
			log_error("not starting: the configuration in %s has errors (run mtlsd -t)",
			    o.config);
		r = 1;
	} else if (o.mode == MODE_TEST) {
		if (!o.quiet)
			printf("configuration OK\n");
		r = 0;
	} else if (o.mode == MODE_DUMP) {
		config_dump(mp.state->cfg, stdout);
		r = 0;
	} else if (open_listeners(&mp) < 0) {
		r = 1;
	} else {
		r = master_main(&mp);
	}
	state_free(mp.state);
	free(mp.listen_fds);
	return r;
}
