/*
 * sbc2_full.c - a thin LU whose filesystem runs out of space (sbc2_full.sh
 * puts its file on a tiny tmpfs): writes fail with DATA PROTECT / SPACE
 * ALLOCATION FAILED WRITE PROTECT (27/07), the daemon keeps serving the
 * other LU (ITEST_LUN2) and the full one's reads, and after UNMAP gives
 * space back, writes to the full LU work again.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "itest.h"

#define CHUNK	(256 * 1024)

int
main(void)
{
	struct iscsi_context *ctx;
	struct scsi_task *t;
	struct unmap_list ul;
	uint8_t *buf = malloc(CHUNK);
	uint32_t bs, bs2;
	uint64_t nblocks, nb2, lba, full_lba = 0;
	int lun = itest_lun(), lun2 = atoi(itest_env("ITEST_LUN2", "1"));
	bool full = false, sense_ok = false;

	itest_begin("sbc2_full", 120);
	ctx = itest_connect_default(ITEST_INIT_A);
	itest_check(ctx != NULL && buf != NULL, "login");
	if (ctx == NULL || buf == NULL)
		return itest_end();
	itest_clear_ua(ctx, lun);
	itest_clear_ua(ctx, lun2);
	itest_check(itest_capacity(ctx, lun, &bs, &nblocks) == 0 &&
	    itest_capacity(ctx, lun2, &bs2, &nb2) == 0, "capacity");
	itest_fill(buf, CHUNK, 42);
	for (lba = 0; lba + CHUNK / bs <= nblocks; lba += CHUNK / bs) {
		t = iscsi_write16_sync(ctx, lun, lba, buf, CHUNK, (int)bs, 0,
		    0, 0, 0, 0);
		if (t == NULL)
			break;
		if (t->status != SCSI_STATUS_GOOD) {
			full = true;
			full_lba = lba;
			sense_ok = t->status == SCSI_STATUS_CHECK_CONDITION &&
			    t->sense.key == SCSI_SENSE_DATA_PROTECTION &&
			    t->sense.ascq == 0x2707;
			itest_note("write at LBA %" PRIu64 ": status %d "
			    "sense %d/%04x", lba, t->status, t->sense.key,
			    t->sense.ascq);
			scsi_free_scsi_task(t);
			break;
		}
		scsi_free_scsi_task(t);
	}
	itest_check(full, "the filesystem filled up (after %" PRIu64
	    " blocks)", full_lba);
	itest_check(sense_ok, "DATA PROTECT / SPACE ALLOCATION FAILED "
	    "WRITE PROTECT (27/07)");
	itest_check(itest_daemon_alive(), "daemon alive");
	/* the other LU and the full LU's reads keep working */
	itest_check(itest_write(ctx, lun2, 0, buf, CHUNK, bs2) == 0,
	    "other LU writes");
	itest_check(itest_read(ctx, lun2, 0, buf, CHUNK, bs2) == 0,
	    "other LU reads");
	itest_check(itest_read(ctx, lun, 0, buf, CHUNK, bs) == 0,
	    "full LU reads");
	/* give space back, write again */
	ul.lba = 0;
	ul.num = (uint32_t)(full_lba > 0 ? full_lba : CHUNK / bs);
	t = iscsi_unmap_sync(ctx, lun, 0, 0, &ul, 1);
	itest_check(t != NULL && t->status == SCSI_STATUS_GOOD,
	    "UNMAP frees space");
	if (t != NULL)
		scsi_free_scsi_task(t);
	itest_fill(buf, CHUNK, 43);
	itest_check(itest_write(ctx, lun, 0, buf, CHUNK, bs) == 0,
	    "writes work again after UNMAP");
	itest_close(ctx);
	free(buf);
	return itest_end();
}
