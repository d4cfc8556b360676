/*
 * tcmu-nl-probe - exercise handlers/tcmu/tcmu_nl.c and tcmu_cfs.c against
 * the real kernel (tests/vm/guest/59-tcmu-netlink.sh).
 *
 *   tcmu-nl-probe listen [-t SECONDS] [-f STATUS]
 *	open the TCM-USER family on an event loop, print one line per event
 *	of a "tpcd" device and answer it (0, or STATUS for a config string
 *	reconfig whose new string contains "refuse");
 *	prints "READY" once listening; ends on SIGTERM/SIGINT or timeout
 *	and withdraws the reply feature.
 *   tcmu-nl-probe scan
 *	print every tpcd user: device found in sysfs/configfs with its
 *	identity and LIO NAA.
 *   tcmu-nl-probe naa SERIAL [COMPANY_ID]
 *	print LIO's NAA designator for a unit serial (32 hex digits).
 *   tcmu-nl-probe reach HBA DEV HBA DEV
 *	print "covered" or "not covered" for the copy scope rule.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "tcmu_int.h"

static int reconf_status;

static const char *
ev_name(enum tcmu_nl_event ev)
{
	return ev == TCMU_NL_ADDED ? "added" :
	    ev == TCMU_NL_REMOVED ? "removed" : "reconfig";
}

static int
probe_event(void *arg, enum tcmu_nl_event ev, const struct tcmu_devinfo *d,
    unsigned int reconf)
{
	printf("EVENT %s hba=%u dev=%s subtype=%s cfg=%s minor=%u id=%u "
	    "reconf=%#x size=%llu wce=%d\n", ev_name(ev), d->hba_id, d->dev,
	    d->subtype, d->cfg, d->minor, d->dev_id, reconf,
	    (unsigned long long)d->size, d->wce);
	if (ev == TCMU_NL_RECONFIG && (reconf & TCMU_RECONF_CFG) &&
	    strstr(d->cfg, "refuse") != NULL)
		return reconf_status;
	return 0;
}

static void
probe_stop(int sig)
{
	(void)sig;
	loops_stop();
}

static void
probe_timeout(void *arg)
{
	(void)arg;
	printf("TIMEOUT\n");
	loops_stop();
}

static int
probe_listen(int argc, char **argv)
{
	struct loop_timer *t;
	struct tcmu_nl *nl;
	unsigned int secs = 120;
	int c, rc;

	while ((c = getopt(argc, argv, "t:f:")) != -1) {
		switch (c) {
		case 't':
			secs = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'f':
			reconf_status = atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	rc = loops_init(1);
	if (rc) {
		fprintf(stderr, "loops_init: %s\n", strerror(-rc));
		return 1;
	}
	rc = tcmu_nl_open(loop_get(0), probe_event, NULL, &nl);
	if (rc) {
		fprintf(stderr, "tcmu_nl_open: %s\n", strerror(-rc));
		loops_fini();
		return 1;
	}
	t = loop_timer_create(loop_get(0), probe_timeout, NULL);
	if (t != NULL)
		loop_timer_arm(t, (uint64_t)secs * 1000);
	signal(SIGTERM, probe_stop);
	signal(SIGINT, probe_stop);
	printf("READY\n");
	loops_run();
	tcmu_nl_close(nl);
	if (t != NULL)
		loop_timer_destroy(t);
	loops_fini();
	printf("CLOSED\n");
	return 0;
}

static void
print_naa(const uint8_t naa[16])
{
	for (int i = 0; i < 16; i++)
		printf("%02x", naa[i]);
}

static int
probe_scan(void)
{
	struct tcmu_devinfo *v;
	struct tcmu_ident id;
	unsigned int n;
	uint8_t naa[16];
	int rc;

	rc = tcmu_cfs_scan("tpcd", &v, &n);
	if (rc) {
		fprintf(stderr, "scan: %s\n", strerror(-rc));
		return 1;
	}
	for (unsigned int i = 0; i < n; i++) {
		rc = tcmu_cfs_ident(&v[i], &id);
		printf("DEV uio%u hba=%u dev=%s cfg=%s id=%u size=%llu wce=%d",
		    v[i].minor, v[i].hba_id, v[i].dev, v[i].cfg, v[i].dev_id,
		    (unsigned long long)v[i].size, v[i].wce);
		if (rc) {
			printf(" ident-error=%s\n", strerror(-rc));
			continue;
		}
		tcmu_lio_naa(id.serial, id.company_id, naa);
		printf(" serial=%s vendor=%s product=%s rev=%s company=%#08x "
		    "bs=%u maxsec=%u isize=%llu naa=", id.serial, id.vendor,
		    id.product, id.revision, id.company_id, id.block_size,
		    id.max_sectors, (unsigned long long)id.size);
		print_naa(naa);
		printf("\n");
	}
	printf("SCAN %u\n", n);
	free(v);
	return 0;
}

static int
probe_reach(char **argv)
{
	struct tcmu_devinfo a, b;
	struct tcmu_reach *r;
	int rc;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.hba_id = (uint32_t)strtoul(argv[0], NULL, 10);
	snprintf(a.dev, sizeof(a.dev), "%s", argv[1]);
	b.hba_id = (uint32_t)strtoul(argv[2], NULL, 10);
	snprintf(b.dev, sizeof(b.dev), "%s", argv[3]);
	rc = tcmu_reach_load(&r);
	if (rc) {
		fprintf(stderr, "reach: %s\n", strerror(-rc));
		return 1;
	}
	printf("%s\n", tcmu_reach_covers(r, &a, &b) ? "covered" :
	    "not covered");
	tcmu_reach_free(r);
	return 0;
}

int
main(int argc, char **argv)
{
	uint8_t naa[16];

	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init(false, getenv("PROBE_DEBUG") ? LOG_LVL_DBG : LOG_LVL_INFO);
	if (argc >= 2 && strcmp(argv[1], "listen") == 0)
		return probe_listen(argc - 1, argv + 1);
	if (argc == 2 && strcmp(argv[1], "scan") == 0)
		return probe_scan();
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "naa") == 0) {
		tcmu_lio_naa(argv[2], argc == 4 ?
		    (uint32_t)strtoul(argv[3], NULL, 0) : 0x001405, naa);
		print_naa(naa);
		printf("\n");
		return 0;
	}
	if (argc == 6 && strcmp(argv[1], "reach") == 0)
		return probe_reach(argv + 2);
	fprintf(stderr, "usage: tcmu-nl-probe listen [-t S] [-f STATUS] | "
	    "scan | naa SERIAL [CID] | reach H D H D\n");
	return 2;
}
