/*
 * main.c - tpcd: options, startup, signals, reload and shutdown.
 *
 *   tpcd [-c FILE] [-d] [-v...] [--loops N] [--state-dir DIR]
 *        [--portal IP:PORT] [--print-port FILE] [--help] [--version]
 *
 * Without -c the embedded default configuration is served from the state
 * directory.  Signals are read from a signalfd on loop 0 (every thread
 * blocks them): SIGTERM/SIGINT shut the front end down, then the loops
 * stop and the LUs (and so the backstores) are released; SIGHUP reloads:
 * parse, validate, apply, then reconcile listeners.  A bad file is logged
 * and the running configuration stays.  Only this file exits.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "iscsi.h"
#include "log.h"
#include "loop.h"
#include "pr.h"
#include "rod_token/rod_token.h"
#include "scsi.h"
#include "target.h"
#include "tcmu.h"
#include "util.h"
#include "xcopy/copy_engine.h"
#include "xcopy/xcopy.h"

#define MAIN_NOP_INTERVAL_S	30
#define MAIN_NOP_TIMEOUT_S	30
#define MAIN_LOGIN_TIMEOUT_S	15

struct main_opts {
	const char	*conf_path;
	char		*state_dir;
	const char	*portal;	/* "IP:PORT" override */
	const char	*print_port;	/* file to write the bound port to */
	unsigned int	 loops;
	bool		 daemon;
	int		 verbose;
};

static struct main_opts opts;
static struct conf *main_conf;
static int main_sfd = -1;
static int main_exit_code;
static bool main_stopping;

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: tpcd [-c FILE] [-d] [-v...] [--loops N] [--state-dir DIR]\n"
	    "            [--portal IP:PORT] [--print-port FILE]\n"
	    "            [--help] [--version]\n"
	    "\n"
	    "  -c, --config FILE    targetcli saveconfig.json to serve\n"
	    "                       (default: a built-in target with two\n"
	    "                       1 GiB LUNs in the state directory)\n"
	    "  -d, --daemon         run in the background, log to syslog\n"
	    "  -v, --verbose        more logging (-vv: debug)\n"
	    "  -q, --quiet          errors and warnings only\n"
	    "      --loops N        event loop threads (default: CPUs)\n"
	    "      --state-dir DIR  state directory (default /var/lib/tpcd\n"
	    "                       as root, else $XDG_STATE_HOME/tpcd)\n"
	    "      --portal IP:PORT listen here instead of the configured\n"
	    "                       portals (port 0: any free port)\n"
	    "      --print-port FILE write the first listening port to FILE\n"
	    "  -h, --help           this text\n"
	    "  -V, --version        print the version\n");
}

static char *
main_default_state_dir(void)
{
	const char *x, *home;
	char buf[PATH_MAX];

	if (geteuid() == 0)
		return xstrdup("/var/lib/tpcd");
	x = getenv("XDG_STATE_HOME");
	if (x != NULL && x[0] == '/') {
		snprintf(buf, sizeof(buf), "%s/tpcd", x);
		return xstrdup(buf);
	}
	home = getenv("HOME");
	if (home == NULL || home[0] != '/')
		return xstrdup("/tmp/tpcd");
	snprintf(buf, sizeof(buf), "%s/.local/state/tpcd", home);
	return xstrdup(buf);
}

/* Replace every TPG's portals by the --portal override. */
static int
main_portal_override(struct conf *c, const char *spec)
{
	char ip[64];
	const char *colon;
	unsigned long port;
	char *end;
	size_t len;

	colon = strrchr(spec, ':');
	if (colon == NULL)
		return -EINVAL;
	len = (size_t)(colon - spec);
	if (len >= 2 && spec[0] == '[' && spec[len - 1] == ']') {
		spec++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, spec, len);
	ip[len] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || colon[1] == '\0' || port > 65535)
		return -EINVAL;
	for (unsigned int t = 0; t < c->n_targets; t++) {
		for (unsigned int g = 0; g < c->targets[t].n_tpgs; g++) {
			struct conf_tpg *tpg = &c->targets[t].tpgs[g];
			struct conf_portal *p;

			p = xcalloc(1, sizeof(*p));
			if (p == NULL)
				return -ENOMEM;
			p->ip = xstrdup(ip);
			if (p->ip == NULL) {
				free(p);
				return -ENOMEM;
			}
			p->port = (uint16_t)port;
			for (unsigned int i = 0; i < tpg->n_portals; i++)
				free(tpg->portals[i].ip);
			free(tpg->portals);
			tpg->portals = p;
			tpg->n_portals = 1;
		}
	}
	return 0;
}

/* Load the configuration named by the options (file or default). */
static struct conf *
main_conf_load(char **err)
{
	struct conf *c;
	int rc;

	if (opts.conf_path != NULL)
		c = conf_load(opts.conf_path, err);
	else
		c = conf_default(opts.state_dir, err);
	if (c == NULL)
		return NULL;
	if (c->state_dir == NULL) {
		c->state_dir = xstrdup(opts.state_dir);
		if (c->state_dir == NULL) {
			conf_free(c);
			*err = xstrdup("out of memory");
			return NULL;
		}
	}
	if (opts.portal != NULL) {
		rc = main_portal_override(c, opts.portal);
		if (rc != 0) {
			conf_free(c);
			*err = xstrdup(rc == -ENOMEM ? "out of memory" :
			    "--portal: expected IP:PORT");
			return NULL;
		}
	}
	return c;
}

static int
main_listeners_sync(bool announce)
{
	struct target_portal *p;
	unsigned int n, i;
	uint16_t port;
	int rc;

	rc = target_portals(&p, &n);
	if (rc != 0)
		return rc;
	rc = iscsi_listeners_sync(p, n);
	if (rc == 0 && announce) {
		for (i = 0; i < n; i++) {
			port = p[i].port;
			if (port == 0)
				port = iscsi_listener_port(i);
			log_info(strchr(p[i].ip, ':') ? "listening on [%s]:%u" :
			    "listening on %s:%u", p[i].ip, port);
			if (i == 0 && opts.print_port != NULL) {
				FILE *f = fopen(opts.print_port, "w");

				if (f != NULL) {
					fprintf(f, "%u\n", port);
					fclose(f);
				} else
					log_err("%s: %s", opts.print_port,
					    strerror(errno));
			}
		}
		if (opts.conf_path == NULL && n > 0 && !opts.daemon) {
			port = p[0].port ? p[0].port : iscsi_listener_port(0);
			fprintf(stderr, "tpcd: serving %s on %s:%u -- try: "
			    "iscsi-inq iscsi://%s:%u/%s/0\n",
			    main_conf->targets[0].wwn, p[0].ip, port,
			    p[0].ip, port, main_conf->targets[0].wwn);
		}
	}
	free(p);
	return rc;
}

/* Settings of the "tpcd" object that a reload changes too. */
static void
main_apply_tunables(const struct conf *c)
{
	xcopy_set_hold_ms((uint64_t)(c->copy_results_hold_s != 0 ?
	    c->copy_results_hold_s : XCOPY_HOLD_DEFAULT_S) * 1000);
}

static void
main_reload(void)
{
	struct conf *c;
	char *err = NULL;

	log_info("SIGHUP: reloading %s", opts.conf_path ? opts.conf_path :
	    "the default configuration");
	c = main_conf_load(&err);
	if (c == NULL) {
		log_err("reload failed, keeping the running configuration: %s",
		    err ? err : "?");
		free(err);
		return;
	}
	if (target_apply(c, &err) != 0) {
		log_err("reload failed, keeping the running configuration: %s",
		    err ? err : "?");
		free(err);
		conf_free(c);
		return;
	}
	conf_free(main_conf);
	main_conf = c;
	main_apply_tunables(main_conf);
	if (main_listeners_sync(false) != 0)
		log_err("reload: some portals cannot listen");
	if (tcmu_reload(main_conf) != 0)
		log_err("reload: the TCMU front end cannot start");
}

static void
main_shutdown_done(void *arg)
{
	tcmu_stop();		/* handlers/tcmu: before the loops stop */
	loops_stop();
}

static void
main_signal_cb(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			if (!main_stopping)
				main_reload();
			break;
		case SIGUSR1:		/* copy counters (docs/xcopy.md) */
			copy_counters_dump();
			break;
		case SIGUSR2:		/* docs/rod-tokens.md */
			if (rod_key_rotate() == 0)
				log_info("ROD token key rotated: tokens "
				    "issued so far are revoked");
			else
				log_err("ROD token key rotation failed");
			break;
		case SIGTERM:
		case SIGINT:
			if (main_stopping) {
				log_warn("second signal: stopping now");
				loops_stop();
				break;
			}
			log_info("signal %u: shutting down", si.ssi_signo);
			main_stopping = true;
			iscsi_shutdown(main_shutdown_done, NULL);
			break;
		default:
			break;
		}
	}
}

/* First thing on loop 0 once it runs. */
static void
main_start(void *arg)
{
	int rc;

	rc = loop_fd_add(loop_get(0), main_sfd, EPOLLIN, main_signal_cb,
	    NULL);
	if (rc == 0)
		rc = main_listeners_sync(true);
	if (rc == 0)
		rc = tcmu_start(main_conf);	/* LIO user: backstores */
	if (rc != 0) {
		log_err("startup failed: %s", strerror(-rc));
		main_exit_code = 1;
		main_stopping = true;
		iscsi_shutdown(main_shutdown_done, NULL);
	}
}

static int
main_parse_args(int argc, char **argv)
{
	enum { OPT_LOOPS = 256, OPT_STATE, OPT_PORTAL, OPT_PRINT_PORT };
	static const struct option lopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "daemon", no_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "loops", required_argument, NULL, OPT_LOOPS },
		{ "state-dir", required_argument, NULL, OPT_STATE },
		{ "portal", required_argument, NULL, OPT_PORTAL },
		{ "print-port", required_argument, NULL, OPT_PRINT_PORT },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	char *end;
	int ch;

	while ((ch = getopt_long(argc, argv, "c:dvqhV", lopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			opts.conf_path = optarg;
			break;
		case 'd':
			opts.daemon = true;
			break;
		case 'v':
			opts.verbose++;
			break;
		case 'q':
			opts.verbose = -1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("tpcd %s\n", PACKAGE_VERSION);
			exit(0);
		case OPT_LOOPS:
			v = strtoul(optarg, &end, 10);
			if (*end != '\0' || v == 0 || v > 1024) {
				fprintf(stderr, "tpcd: --loops: 1..1024\n");
				return -1;
			}
			opts.loops = (unsigned int)v;
			break;
		case OPT_STATE:
			free(opts.state_dir);
			opts.state_dir = xstrdup(optarg);
			break;
		case OPT_PORTAL:
			opts.portal = optarg;
			break;
		case OPT_PRINT_PORT:
			opts.print_port = optarg;
			break;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "tpcd: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		return -1;
	}
	return 0;
}

/* Paths must survive the chdir("/") of daemon(). */
static char *
main_abspath(const char *p)
{
	char cwd[PATH_MAX], buf[PATH_MAX * 2];

	if (p[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return xstrdup(p);
	snprintf(buf, sizeof(buf), "%s/%s", cwd, p);
	return xstrdup(buf);
}

int
main(int argc, char **argv)
{
	enum log_level lvl;
	struct iscsi_globals g = { 0 };
	char *err = NULL, *cpath = NULL, *pport = NULL, *sdir;
	unsigned int nloops;
	sigset_t set;
	long ncpu;
	int rc;

	if (main_parse_args(argc, argv) != 0)
		return 2;
	lvl = opts.verbose < 0 ? LOG_LVL_WARN : opts.verbose == 0 ?
	    LOG_LVL_INFO : LOG_LVL_DBG;
	log_init(false, lvl);
	if (opts.conf_path != NULL) {
		cpath = main_abspath(opts.conf_path);
		opts.conf_path = cpath;
	}
	if (opts.print_port != NULL) {
		pport = main_abspath(opts.print_port);
		opts.print_port = pport;
	}
	if (opts.state_dir == NULL)
		opts.state_dir = main_default_state_dir();
	sdir = opts.state_dir ? main_abspath(opts.state_dir) : NULL;
	free(opts.state_dir);
	opts.state_dir = sdir;
	if (opts.state_dir == NULL || (opts.conf_path && cpath == NULL)) {
		fprintf(stderr, "tpcd: out of memory\n");
		return 1;
	}
	if (opts.conf_path == NULL)
		log_info("no -c: serving the default configuration from %s",
		    opts.state_dir);

	scsi_init();
	main_conf = main_conf_load(&err);
	if (main_conf == NULL) {
		fprintf(stderr, "tpcd: %s\n", err ? err : "cannot load");
		return 1;
	}
	main_apply_tunables(main_conf);
	pr_store_set_dir(main_conf->state_dir);	/* APTPL files */
	copy_counters_set_dir(main_conf->state_dir);
	if (rod_key_init(main_conf->state_dir) != 0) {
		fprintf(stderr, "tpcd: cannot set up the ROD token key in %s\n",
		    main_conf->state_dir ? main_conf->state_dir : "memory");
		return 1;
	}

	/* Every thread (loops, pool) inherits the blocked set. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	signal(SIGPIPE, SIG_IGN);

	if (opts.daemon) {
		if (daemon(0, 0) != 0) {
			fprintf(stderr, "tpcd: daemon: %s\n", strerror(errno));
			return 1;
		}
		log_init(true, lvl);
	}
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
		log_err("sigprocmask: %s", strerror(errno));
		return 1;
	}
	main_sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (main_sfd < 0) {
		log_err("signalfd: %s", strerror(errno));
		return 1;
	}

	nloops = opts.loops ? opts.loops : main_conf->loops;
	if (nloops == 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		nloops = ncpu > 0 ? (unsigned int)MIN(ncpu, 64) : 1;
	}
	/* 0 in the file means the built-in default. */
	g.nop_interval_s = main_conf->nop_interval_s ?
	    main_conf->nop_interval_s : MAIN_NOP_INTERVAL_S;
	g.nop_timeout_s = main_conf->nop_timeout_s ?
	    main_conf->nop_timeout_s : MAIN_NOP_TIMEOUT_S;
	g.login_timeout_s = main_conf->login_timeout_s ?
	    main_conf->login_timeout_s : MAIN_LOGIN_TIMEOUT_S;
	iscsi_set_globals(&g);

	rc = loops_init(nloops);
	if (rc != 0) {
		log_err("cannot start %u loops: %s", nloops, strerror(-rc));
		return 1;
	}
	if (target_apply(main_conf, &err) != 0) {
		log_err("%s", err ? err : "cannot apply the configuration");
		loops_fini();
		return 1;
	}
	loop_post(loop_get(0), main_start, NULL);
	rc = loops_run();
	if (rc != 0 && main_exit_code == 0)
		main_exit_code = 1;
	copy_counters_log_all();

	tcmu_fini();
	target_shutdown();
	rod_registry_fini();
	rod_key_fini();
	loops_fini();
	conf_free(main_conf);
	close(main_sfd);
	free(opts.state_dir);
	free(cpath);
	free(pport);
	log_info("stopped");
	return main_exit_code;
}
