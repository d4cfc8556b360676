/*
 * block_xcopy.c - one EXTENDED COPY (LID1) between two LUs, for
 * tests/integration/block.sh, which checks the result on the devices
 * themselves (sha256 of the ranges):
 *
 *   block_xcopy SRC_LUN DST_LUN SRC_LBA DST_LBA NBLOCKS
 *
 * NBLOCKS counts source blocks; the copy is split into block -> block
 * segment descriptors of at most 65535 blocks, both LUs named by their
 * NAA designators (VPD 83h).  The status must be GOOD.
 *
 * Environment: TPCD_PORTAL (lib.sh), ITEST_TARGET.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "itest.h"

#define SEG_MAX_BLOCKS	65528u	/* a multiple of 4096 / 512 */
#define MAX_SEGS	64

/* Send a CDB; Data-Out from out/olen or Data-In of ilen into in. */
static int
cmd(struct iscsi_context *ctx, int lun, uint8_t *cdb, int cdb_len,
    uint8_t *out, uint32_t olen, uint8_t *in, uint32_t ilen)
{
	struct iscsi_data d = { .size = olen, .data = out };
	struct scsi_task *t;
	int st;

	t = scsi_create_task(cdb_len, cdb, olen ? SCSI_XFER_WRITE :
	    (ilen ? SCSI_XFER_READ : SCSI_XFER_NONE), olen ? olen : ilen);
	if (t == NULL)
		return -1;
	if (iscsi_scsi_command_sync(ctx, lun, t, olen ? &d : NULL) == NULL) {
		scsi_free_scsi_task(t);
		return -1;
	}
	st = t->status;
	if (st == SCSI_STATUS_CHECK_CONDITION)
		itest_note("sense %x/%02x/%02x", t->sense.key,
		    (t->sense.ascq >> 8) & 0xff, t->sense.ascq & 0xff);
	if (st == SCSI_STATUS_GOOD && in != NULL && t->datain.size > 0)
		memcpy(in, t->datain.data, (size_t)t->datain.size < ilen ?
		    (size_t)t->datain.size : ilen);
	scsi_free_scsi_task(t);
	return st;
}

/* The LU's NAA designator (VPD 83h), header included; its length or -1. */
static int
naa_desig(struct iscsi_context *ctx, int lun, uint8_t *out)
{
	uint8_t cdb[6] = { 0x12, 0x01, 0x83, 0x00, 0xff, 0 };
	uint8_t b[255];
	int off, n;

	memset(b, 0, sizeof(b));
	if (cmd(ctx, lun, cdb, 6, NULL, 0, b, sizeof(b)) != 0)
		return -1;
	n = (b[2] << 8 | b[3]) + 4;
	if (n > (int)sizeof(b))
		n = sizeof(b);
	for (off = 4; off + 4 <= n && off + 4 + b[off + 3] <= n;
	    off += 4 + b[off + 3]) {
		/* association LU, type NAA, at most 16 bytes */
		if (((b[off + 1] >> 4) & 3) == 0 && (b[off + 1] & 0x0f) == 3 &&
		    b[off + 3] <= 20) {
			memcpy(out, b + off, 4 + (size_t)b[off + 3]);
			return b[off + 3];
		}
	}
	return -1;
}

/* CSCD descriptor E4h (identification) for a block device of bs bytes. */
static void
cscd_e4(uint8_t *d, const uint8_t *desig, uint32_t bs)
{
	memset(d, 0, 32);
	d[0] = 0xe4;
	memcpy(d + 4, desig, 4 + (size_t)desig[3]);
	d[4] &= 0x0f;		/* code set */
	d[5] &= 0x3f;		/* association 0, designator type */
	d[29] = (uint8_t)(bs >> 16);
	d[30] = (uint8_t)(bs >> 8);
	d[31] = (uint8_t)bs;
}

int
main(int argc, char **argv)
{
	static uint8_t pl[16 + 64 + MAX_SEGS * 28];
	struct iscsi_context *ctx;
	uint8_t sdes[24], ddes[24], cdb[16], *seg;
	uint32_t sbs = 0, dbs = 0;
	uint64_t slba, dlba, n, sn = 0, dn = 0, left;
	unsigned int nseg = 0;
	int slun, dlun, st;
	size_t len;

	if (argc != 6) {
		fprintf(stderr, "usage: %s SRC_LUN DST_LUN SRC_LBA DST_LBA "
		    "NBLOCKS\n", argv[0]);
		return 2;
	}
	slun = atoi(argv[1]);
	dlun = atoi(argv[2]);
	slba = strtoull(argv[3], NULL, 0);
	dlba = strtoull(argv[4], NULL, 0);
	n = strtoull(argv[5], NULL, 0);
	itest_begin("block_xcopy", 300);
	ctx = itest_connect_default(NULL);
	itest_check(ctx != NULL, "login to %s", itest_target());
	if (ctx == NULL)
		return itest_end();
	itest_clear_ua(ctx, slun);
	itest_clear_ua(ctx, dlun);
	st = itest_capacity(ctx, slun, &sbs, &sn);
	if (st == 0)
		st = itest_capacity(ctx, dlun, &dbs, &dn);
	itest_check(st == 0, "capacities: LUN %d %u x %llu, LUN %d %u x %llu",
	    slun, sbs, (unsigned long long)sn, dlun, dbs,
	    (unsigned long long)dn);
	memset(sdes, 0, sizeof(sdes));
	memset(ddes, 0, sizeof(ddes));
	itest_check(naa_desig(ctx, slun, sdes) > 0 &&
	    naa_desig(ctx, dlun, ddes) > 0, "NAA designators");
	if (itest_failures != 0 || sbs == 0 || dbs == 0)
		goto out;

	memset(pl, 0, sizeof(pl));
	pl[0] = 0;				/* list identifier */
	pl[1] = 0x18;		/* LIST ID USAGE 11b: none, nothing held */
	cscd_e4(pl + 16, sdes, sbs);
	cscd_e4(pl + 48, ddes, dbs);
	itest_put16(pl + 2, 64);
	seg = pl + 16 + 64;
	for (left = n; left > 0 && nseg < MAX_SEGS; nseg++, seg += 28) {
		uint32_t k = left > SEG_MAX_BLOCKS ? SEG_MAX_BLOCKS :
		    (uint32_t)left;

		seg[0] = 0x02;			/* block -> block */
		itest_put16(seg + 2, 24);
		itest_put16(seg + 4, 0);		/* source CSCD */
		itest_put16(seg + 6, 1);		/* destination CSCD */
		itest_put16(seg + 10, k);
		itest_put64(seg + 12, slba);
		itest_put64(seg + 20, dlba);
		slba += k;
		dlba += (uint64_t)k * sbs / dbs;
		left -= k;
	}
	itest_check(left == 0, "%llu blocks fit in %u segments",
	    (unsigned long long)n, nseg);
	itest_put32(pl + 8, nseg * 28);
	len = 16 + 64 + (size_t)nseg * 28;
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x83;				/* EXTENDED COPY (LID1) */
	itest_put32(cdb + 10, (uint32_t)len);
	st = cmd(ctx, slun, cdb, 16, pl, (uint32_t)len, NULL, 0);
	itest_check(st == SCSI_STATUS_GOOD, "EXTENDED COPY LUN %d LBA %s -> "
	    "LUN %d LBA %s, %llu blocks in %u segments: status %d", slun,
	    argv[3], dlun, argv[4], (unsigned long long)n, nseg, st);
out:
	itest_close(ctx);
	return itest_end();
}
