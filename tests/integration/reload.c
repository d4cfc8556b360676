/*
 * reload.c - configuration reload (SIGHUP).  Runs $ITEST_RECONF add (the
 * wrapper writes a config with one more LUN and sends SIGHUP), then
 * $ITEST_RECONF bad (an unparsable config and SIGHUP).
 *
 * Expected: a new session sees the added LUN in REPORT LUNS and can do
 * I/O on it; an existing session gets UNIT ATTENTION 3Fh/0Eh (REPORTED
 * LUNS DATA HAS CHANGED); after the bad file the daemon keeps serving
 * with the previous configuration.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "itest.h"

#define ASCQ_REPORTED_LUNS_CHANGED	0x3f0e

static int
count_luns_new_session(void)
{
	struct iscsi_context *ctx = itest_connect_default(ITEST_INIT_B);
	uint16_t luns[64];
	int n;

	if (ctx == NULL)
		return -1;
	n = itest_report_luns(ctx, luns, 64);
	itest_close(ctx);
	return n;
}

int
main(void)
{
	struct iscsi_context *old;
	uint16_t luns[64];
	int n0, n1 = -1, n2, i, newlun;
	uint8_t wbuf[4096], rbuf[4096];

	itest_begin("reload", 120);
	old = itest_connect_default(ITEST_INIT_A);
	itest_check(old != NULL, "existing session logged in");
	if (old == NULL)
		return itest_end();
	itest_clear_ua(old, itest_lun());
	n0 = itest_report_luns(old, luns, 64);
	itest_check(n0 >= 1, "REPORT LUNS before reload: %d LUN(s)", n0);

	itest_check(itest_reconf("add") == 0, "config with one more LUN "
	    "installed, SIGHUP sent");
	for (i = 0; i < 50; i++) {
		n1 = count_luns_new_session();
		if (n1 == n0 + 1)
			break;
		usleep(100 * 1000);
	}
	itest_check(n1 == n0 + 1, "new session: REPORT LUNS shows %d LUN(s) "
	    "(want %d)", n1, n0 + 1);

	itest_check(itest_saw_ua(old, itest_lun(), ASCQ_REPORTED_LUNS_CHANGED),
	    "existing session: UNIT ATTENTION 3Fh/0Eh REPORTED LUNS DATA "
	    "HAS CHANGED");
	n2 = itest_report_luns(old, luns, 64);
	itest_check(n2 == n0 + 1, "existing session: REPORT LUNS shows %d",
	    n2);
	newlun = atoi(itest_env("ITEST_NEW_LUN", "1"));
	{
		struct iscsi_context *c = itest_connect_default(ITEST_INIT_B);
		uint32_t bs = 512;
		uint64_t nb;

		if (c)
			itest_clear_ua(c, newlun);
		itest_fill(wbuf, sizeof(wbuf), 99);
		itest_check(c && itest_capacity(c, newlun, &bs, &nb) == 0 &&
		    itest_write(c, newlun, 0, wbuf, sizeof(wbuf), bs) == 0 &&
		    itest_read(c, newlun, 0, rbuf, sizeof(rbuf), bs) == 0 &&
		    !memcmp(wbuf, rbuf, sizeof(wbuf)),
		    "new LUN %d: 4 KiB written and read back", newlun);
		itest_close(c);
	}

	itest_check(itest_reconf("bad") == 0, "unparsable config installed, "
	    "SIGHUP sent");
	usleep(500 * 1000);
	itest_check(itest_daemon_alive(), "daemon survived the bad config");
	itest_check(itest_clear_ua(old, itest_lun()) == 0,
	    "existing session still serves commands");
	n2 = count_luns_new_session();
	itest_check(n2 == n0 + 1, "new session after bad reload: previous "
	    "configuration kept (%d LUNs)", n2);
	itest_close(old);
	return itest_end();
}
