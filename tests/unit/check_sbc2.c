/*
 * check_sbc2.c - unit tests for COMPARE AND WRITE, WRITE SAME, UNMAP, GET
 * LBA STATUS, the logical block provisioning advertisement and the LBA
 * range lock (lun_lock.c), on bs_mem LUs: LUN 0 thin, LUN 1 thick.
 *
 * Commands run on loop 0 as a front end drives them (prepare, execute,
 * done stops the loop).  Fault injection (backstore_inject_error) checks
 * that EIO and ENOSPC become MEDIUM ERROR and SPACE ALLOCATION FAILED.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backstore.h"
#include "conf.h"
#include "loop.h"
#include "lun.h"
#include "lun_lock.h"
#include "scsi.h"
#include "scsi_int.h"
#include "sense.h"
#include "util.h"
#include "eng_harness.h"

#define T_BLOCKS	2048
#define T_BS		512
#define T_BUF		(1024 * 1024)

static struct lun *t_lun[2];
static struct scsi_nexus *t_nx;
static uint8_t *t_buf, *t_rd;

static void
setup(void)
{
	static const uint64_t ids[2] = { 0, 1 };
	struct conf_storage cs;

	ck_assert_int_eq(loops_init(1), 0);
	scsi_init();
	cs = eh_storage("mem", "thin", NULL, NULL, (uint64_t)T_BLOCKS * T_BS,
	    T_BS, true);
	t_lun[0] = eh_lun_open(&cs);
	cs = eh_storage("mem", "thick", NULL, NULL, (uint64_t)T_BLOCKS * T_BS,
	    T_BS, false);
	t_lun[1] = eh_lun_open(&cs);
	t_nx = eh_nexus("init", 2);
	eh_map(t_nx, t_lun, ids, NULL, 2);
	t_buf = malloc(T_BUF);
	t_rd = malloc(T_BUF);
	ck_assert_ptr_nonnull(t_buf);
	ck_assert_ptr_nonnull(t_rd);
}

static void
teardown(void)
{
	nexus_destroy(t_nx);
	lun_put(t_lun[0]);
	lun_put(t_lun[1]);
	free(t_buf);
	free(t_rd);
	loops_fini();
}

/* --- running commands --- */

/* Run one command; returns status, fills *out (released already). */
static uint8_t
t_run(struct scsi_cmd *out, uint64_t lun_id, const uint8_t *cdb,
    enum scsi_dir dir, void *buf, uint32_t len)
{
	struct scsi_cmd cmd;
	struct iovec iov = { .iov_base = buf, .iov_len = len };

	eh_cmd(&cmd, t_nx, lun_id, cdb, 16, dir, &iov, 1, len);
	eh_exec(&cmd);
	scsi_cmd_release(&cmd);
	if (out != NULL)
		*out = cmd;
	return cmd.status;
}

/* Field pointer of fixed sense: SKSV, C/D, byte. */
static void
t_check_sks(const struct scsi_cmd *c, bool cd, uint16_t field)
{
	ck_assert_uint_eq(c->sense[15] & 0x80, 0x80);
	ck_assert_uint_eq(!!(c->sense[15] & 0x40), cd);
	ck_assert_uint_eq(get_be16(c->sense + 16), field);
}

static void
t_write(uint64_t lun, uint64_t lba, const uint8_t *data, uint32_t n)
{
	uint8_t cdb[16] = { 0x8a };
	struct scsi_cmd c;

	put_be64(cdb + 2, lba);
	put_be32(cdb + 10, n);
	t_run(&c, lun, cdb, SCSI_DIR_OUT, (void *)(uintptr_t)data, n * T_BS);
	ck_assert_good(&c);
}

static void
t_read(uint64_t lun, uint64_t lba, uint8_t *data, uint32_t n)
{
	uint8_t cdb[16] = { 0x88 };
	struct scsi_cmd c;

	put_be64(cdb + 2, lba);
	put_be32(cdb + 10, n);
	t_run(&c, lun, cdb, SCSI_DIR_IN, data, n * T_BS);
	ck_assert_good(&c);
}

static bool
t_all(const uint8_t *p, size_t n, uint8_t v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

static void
t_caw_cdb(uint8_t *cdb, uint64_t lba, uint8_t n)
{
	memset(cdb, 0, 16);
	cdb[0] = 0x89;
	put_be64(cdb + 2, lba);
	cdb[13] = n;
}

/* --- COMPARE AND WRITE --- */

START_TEST(test_caw)
{
	uint8_t cdb[16];
	struct scsi_cmd c;

	memset(t_buf, 'A', 4 * T_BS);
	t_write(0, 10, t_buf, 4);
	/* equal: write 'B' */
	memset(t_buf + 4 * T_BS, 'B', 4 * T_BS);
	t_caw_cdb(cdb, 10, 4);
	t_run(&c, 0, cdb, SCSI_DIR_OUT, t_buf, 8 * T_BS);
	ck_assert_good(&c);
	ck_assert_uint_eq(c.xfer_len, 8 * T_BS);
	t_read(0, 10, t_rd, 4);
	ck_assert(t_all(t_rd, 4 * T_BS, 'B'));
	/* miscompare at byte 1234: INFORMATION = 1234, medium unchanged */
	memset(t_buf, 'B', 4 * T_BS);
	t_buf[1234] = 'X';
	memset(t_buf + 4 * T_BS, 'C', 4 * T_BS);
	t_run(&c, 0, cdb, SCSI_DIR_OUT, t_buf, 8 * T_BS);
	ck_assert_sense(&c, SENSE_KEY_MISCOMPARE, 0x1d, 0x00);
	ck_assert_uint_eq(c.sense[0], 0xf0);		/* VALID */
	ck_assert_uint_eq(get_be32(c.sense + 3), 1234);
	t_read(0, 10, t_rd, 4);
	ck_assert(t_all(t_rd, 4 * T_BS, 'B'));
	/* Data-Out of the wrong size: INVALID FIELD IN CDB, byte 13 */
	t_run(&c, 0, cdb, SCSI_DIR_OUT, t_buf, 6 * T_BS);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	t_check_sks(&c, true, 13);
	/* 0 blocks with data (libiscsi's 256-block case) */
	t_caw_cdb(cdb, 0, 0);
	t_run(&c, 0, cdb, SCSI_DIR_OUT, t_buf, 4 * T_BS);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	/* 0 blocks, no data: nothing to do */
	t_run(&c, 0, cdb, SCSI_DIR_NONE, NULL, 0);
	ck_assert_good(&c);
	/* range */
	t_caw_cdb(cdb, T_BLOCKS - 1, 2);
	t_run(&c, 0, cdb, SCSI_DIR_OUT, t_buf, 4 * T_BS);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x21, 0x00);
	/* FUA is accepted (DPOFUA), WRPROTECT is not */
	memset(t_buf, 'B', 2 * T_BS);
	t_caw_cdb(cdb, 10, 1);
	cdb[1] = 0x18;
	t_run(&c, 0, cdb, SCSI_DIR_OUT, t_buf, 2 * T_BS);
	ck_assert_good(&c);
	cdb[1] = 0x20;
	t_run(&c, 0, cdb, SCSI_DIR_OUT, t_buf, 2 * T_BS);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	/* 255 blocks is the advertised maximum and works */
	memset(t_buf, 0, 510 * T_BS);
	t_read(0, 1000, t_buf, 255);
	memset(t_buf + 255 * T_BS, 'Z', 255 * T_BS);
	t_caw_cdb(cdb, 1000, 255);
	t_run(&c, 0, cdb, SCSI_DIR_OUT, t_buf, 510 * T_BS);
	ck_assert_good(&c);
	t_read(0, 1000, t_rd, 255);
	ck_assert(t_all(t_rd, 255 * T_BS, 'Z'));
}
END_TEST

/* --- WRITE SAME --- */

static void
t_ws_cdb(uint8_t *cdb, bool sixteen, uint8_t flags, uint64_t lba,
    uint32_t n)
{
	memset(cdb, 0, 16);
	if (sixteen) {
		cdb[0] = 0x93;
		put_be64(cdb + 2, lba);
		put_be32(cdb + 10, n);
	} else {
		cdb[0] = 0x41;
		put_be32(cdb + 2, (uint32_t)lba);
		put_be16(cdb + 7, (uint16_t)n);
	}
	cdb[1] = flags;
}

START_TEST(test_write_same)
{
	uint8_t cdb[16];
	struct scsi_cmd c;
	unsigned int lun;

	for (lun = 0; lun < 2; lun++) {
		/* a pattern over 3000 blocks' worth is not possible here:
		 * write 1500 blocks of 0x5a (several chunks) */
		memset(t_buf, 0x5a, T_BS);
		t_ws_cdb(cdb, lun == 0, 0, 100, 1500);
		t_run(&c, lun, cdb, SCSI_DIR_OUT, t_buf, T_BS);
		ck_assert_good(&c);
		t_read(lun, 100, t_rd, 1500);
		ck_assert(t_all(t_rd, 1500 * T_BS, 0x5a));
		t_read(lun, 99, t_rd, 1);
		ck_assert(t_all(t_rd, T_BS, 0));
		/* zeroes, without UNMAP */
		memset(t_buf, 0, T_BS);
		t_ws_cdb(cdb, false, 0, 200, 10);
		t_run(&c, lun, cdb, SCSI_DIR_OUT, t_buf, T_BS);
		ck_assert_good(&c);
		t_read(lun, 200, t_rd, 10);
		ck_assert(t_all(t_rd, 10 * T_BS, 0));
		/* ANCHOR without UNMAP, and ANCHOR at all (ANC_SUP 0) */
		t_ws_cdb(cdb, true, 0x10, 0, 1);
		t_run(&c, lun, cdb, SCSI_DIR_OUT, t_buf, T_BS);
		ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
		t_check_sks(&c, true, 1);
		t_ws_cdb(cdb, true, 0x18, 0, 1);
		t_run(&c, lun, cdb, SCSI_DIR_OUT, t_buf, T_BS);
		ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
		/* data size must be one block */
		t_ws_cdb(cdb, false, 0, 0, 1);
		t_run(&c, lun, cdb, SCSI_DIR_OUT, t_buf, T_BS / 2);
		ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
		t_run(&c, lun, cdb, SCSI_DIR_OUT, t_buf, 2 * T_BS);
		ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
		/* range */
		t_ws_cdb(cdb, true, 0, T_BLOCKS - 1, 2);
		t_run(&c, lun, cdb, SCSI_DIR_OUT, t_buf, T_BS);
		ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x21, 0x00);
		t_ws_cdb(cdb, true, 0, UINT64_MAX, 2);
		t_run(&c, lun, cdb, SCSI_DIR_OUT, t_buf, T_BS);
		ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x21, 0x00);
		t_ws_cdb(cdb, true, 0, T_BLOCKS, 0);
		t_run(&c, lun, cdb, SCSI_DIR_OUT, t_buf, T_BS);
		ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x21, 0x00);
		/* 0 blocks: to the end (WSNZ = 0) */
		memset(t_buf, 0x77, T_BS);
		t_ws_cdb(cdb, false, 0, T_BLOCKS - 5, 0);
		t_run(&c, lun, cdb, SCSI_DIR_OUT, t_buf, T_BS);
		ck_assert_good(&c);
		t_read(lun, T_BLOCKS - 5, t_rd, 5);
		ck_assert(t_all(t_rd, 5 * T_BS, 0x77));
	}
	/* UNMAP: thin deallocates (zeroes), thick refuses (LBPWS = 0) */
	memset(t_buf, 0, T_BS);
	t_ws_cdb(cdb, false, 0x08, 100, 16);
	t_run(&c, 1, cdb, SCSI_DIR_OUT, t_buf, T_BS);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	t_check_sks(&c, true, 1);
	t_run(&c, 0, cdb, SCSI_DIR_OUT, t_buf, T_BS);
	ck_assert_good(&c);
	t_read(0, 100, t_rd, 16);
	ck_assert(t_all(t_rd, 16 * T_BS, 0));
	/* UNMAP with a non-zero pattern writes the pattern */
	memset(t_buf, 0x33, T_BS);
	t_run(&c, 0, cdb, SCSI_DIR_OUT, t_buf, T_BS);
	ck_assert_good(&c);
	t_read(0, 100, t_rd, 16);
	ck_assert(t_all(t_rd, 16 * T_BS, 0x33));
	/* NDOB: zeroes without data */
	t_ws_cdb(cdb, true, 0x09, 100, 16);
	t_run(&c, 0, cdb, SCSI_DIR_NONE, NULL, 0);
	ck_assert_good(&c);
	t_read(0, 100, t_rd, 16);
	ck_assert(t_all(t_rd, 16 * T_BS, 0));
}
END_TEST

/* --- UNMAP and GET LBA STATUS --- */

static void
t_unmap_cdb(uint8_t *cdb, uint16_t plen)
{
	memset(cdb, 0, 16);
	cdb[0] = 0x42;
	put_be16(cdb + 7, plen);
}

/* Parameter list with n descriptors at p; returns its length. */
static uint16_t
t_unmap_list(uint8_t *p, const uint64_t *lba, const uint32_t *num,
    unsigned int n)
{
	unsigned int i;

	memset(p, 0, 8 + 16 * n);
	put_be16(p, (uint16_t)(6 + 16 * n));
	put_be16(p + 2, (uint16_t)(16 * n));
	for (i = 0; i < n; i++) {
		put_be64(p + 8 + 16 * i, lba[i]);
		put_be32(p + 8 + 16 * i + 8, num[i]);
	}
	return (uint16_t)(8 + 16 * n);
}

/* GET LBA STATUS at lba: first descriptor's length and state. */
static void
t_lba_status(uint64_t lun, uint64_t lba, uint32_t *len, uint8_t *state,
    uint32_t *ndesc)
{
	uint8_t cdb[16] = { 0x9e, 0x12 };
	struct scsi_cmd c;

	put_be64(cdb + 2, lba);
	put_be32(cdb + 10, 1024);
	memset(t_rd, 0xee, 1024);
	t_run(&c, lun, cdb, SCSI_DIR_IN, t_rd, 1024);
	ck_assert_good(&c);
	ck_assert_uint_ge(c.xfer_len, 24);
	ck_assert_uint_eq(get_be32(t_rd) + 4, c.xfer_len);
	ck_assert_uint_eq(get_be64(t_rd + 8), lba);
	*len = get_be32(t_rd + 16);
	*state = t_rd[20] & 0x0f;
	*ndesc = (c.xfer_len - 8) / 16;
}

START_TEST(test_unmap)
{
	uint8_t cdb[16], p[8 + 16 * 300];
	uint64_t lba[300];
	uint32_t num[300], len, nd;
	struct scsi_cmd c;
	uint8_t st;
	uint16_t pl;
	unsigned int i;

	/* map 64 blocks at 128 (page aligned: 8 blocks per page) */
	memset(t_buf, 0xab, 64 * T_BS);
	t_write(0, 128, t_buf, 64);
	t_lba_status(0, 0, &len, &st, &nd);
	ck_assert_uint_eq(len, 128);
	ck_assert_uint_eq(st, 1);		/* deallocated */
	t_lba_status(0, 130, &len, &st, &nd);
	ck_assert_uint_eq(len, 62);
	ck_assert_uint_eq(st, 0);		/* mapped */
	/* unmap 16 at 144: reads zero, reported deallocated */
	lba[0] = 144;
	num[0] = 16;
	lba[1] = 0;
	num[1] = 0;
	pl = t_unmap_list(p, lba, num, 2);
	t_unmap_cdb(cdb, pl);
	t_run(&c, 0, cdb, SCSI_DIR_OUT, p, pl);
	ck_assert_good(&c);
	t_read(0, 128, t_rd, 64);
	ck_assert(t_all(t_rd, 16 * T_BS, 0xab));
	ck_assert(t_all(t_rd + 16 * T_BS, 16 * T_BS, 0));
	ck_assert(t_all(t_rd + 32 * T_BS, 32 * T_BS, 0xab));
	t_lba_status(0, 128, &len, &st, &nd);
	ck_assert_uint_eq(len, 16);
	ck_assert_uint_eq(st, 0);
	ck_assert_uint_ge(nd, 3);
	ck_assert_uint_eq(get_be64(t_rd + 24), 144);
	ck_assert_uint_eq(get_be32(t_rd + 32), 16);
	ck_assert_uint_eq(t_rd[36], 1);
	/* thick: every LBA mapped, UNMAP is not a command */
	t_lba_status(1, 5, &len, &st, &nd);
	ck_assert_uint_eq(len, T_BLOCKS - 5);
	ck_assert_uint_eq(st, 0);
	t_run(&c, 1, cdb, SCSI_DIR_OUT, p, pl);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x20, 0x00);
	/* GET LBA STATUS beyond the end */
	memset(cdb, 0, 16);
	cdb[0] = 0x9e;
	cdb[1] = 0x12;
	put_be64(cdb + 2, T_BLOCKS);
	put_be32(cdb + 10, 24);
	t_run(&c, 0, cdb, SCSI_DIR_IN, t_rd, 24);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x21, 0x00);
	/* parameter list checks */
	t_unmap_cdb(cdb, 0);
	t_run(&c, 0, cdb, SCSI_DIR_NONE, NULL, 0);
	ck_assert_good(&c);
	t_unmap_cdb(cdb, 7);
	t_run(&c, 0, cdb, SCSI_DIR_OUT, p, 7);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x1a, 0x00);
	pl = t_unmap_list(p, lba, num, 1);
	put_be16(p + 2, 32);		/* claims two descriptors */
	t_unmap_cdb(cdb, pl);
	t_run(&c, 0, cdb, SCSI_DIR_OUT, p, pl);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x26, 0x00);
	t_check_sks(&c, false, 2);
	put_be16(p + 2, 16);
	put_be16(p, 100);
	t_run(&c, 0, cdb, SCSI_DIR_OUT, p, pl);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x26, 0x00);
	t_check_sks(&c, false, 0);
	/* out of range, nothing unmapped */
	lba[0] = 128;
	num[0] = 8;
	lba[1] = T_BLOCKS - 1;
	num[1] = 2;
	pl = t_unmap_list(p, lba, num, 2);
	t_unmap_cdb(cdb, pl);
	t_run(&c, 0, cdb, SCSI_DIR_OUT, p, pl);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x21, 0x00);
	t_read(0, 128, t_rd, 8);
	ck_assert(t_all(t_rd, 8 * T_BS, 0xab));
	/* too many descriptors */
	for (i = 0; i < 300; i++) {
		lba[i] = i;
		num[i] = 1;
	}
	pl = t_unmap_list(p, lba, num, SBC_UNMAP_MAX_DESC + 1);
	t_unmap_cdb(cdb, pl);
	t_run(&c, 0, cdb, SCSI_DIR_OUT, p, pl);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x26, 0x00);
	pl = t_unmap_list(p, lba, num, SBC_UNMAP_MAX_DESC);
	t_unmap_cdb(cdb, pl);
	t_run(&c, 0, cdb, SCSI_DIR_OUT, p, pl);
	ck_assert_good(&c);
	/* ANCHOR is not supported */
	cdb[1] = 0x01;
	t_run(&c, 0, cdb, SCSI_DIR_OUT, p, pl);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
}
END_TEST

/* --- advertisement --- */

START_TEST(test_advertise)
{
	uint8_t rc16[16] = { 0x9e, 0x10, [13] = 32 };
	uint8_t b0[16] = { 0x12, 0x01, 0xb0, 0, 64, 0 };
	uint8_t b2[16] = { 0x12, 0x01, 0xb2, 0, 64, 0 };
	struct scsi_cmd c;

	t_run(&c, 0, rc16, SCSI_DIR_IN, t_rd, 32);
	ck_assert_good(&c);
	ck_assert_uint_eq(t_rd[14] & 0xc0, 0xc0);	/* LBPME LBPRZ */
	t_run(&c, 1, rc16, SCSI_DIR_IN, t_rd, 32);
	ck_assert_uint_eq(t_rd[14] & 0xc0, 0x00);
	t_run(&c, 0, b0, SCSI_DIR_IN, t_rd, 64);
	ck_assert_good(&c);
	ck_assert_uint_eq(t_rd[4] & 1, 0);		/* WSNZ */
	ck_assert_uint_eq(t_rd[5], SBC_CAW_MAX_BLOCKS);
	ck_assert_uint_eq(get_be32(t_rd + 20), SBC_UNMAP_MAX_BYTES / T_BS);
	ck_assert_uint_eq(get_be32(t_rd + 24), SBC_UNMAP_MAX_DESC);
	ck_assert_uint_eq(get_be32(t_rd + 28), 1);
	ck_assert_uint_eq(get_be32(t_rd + 32), 0x80000000u);
	ck_assert_uint_eq(get_be64(t_rd + 36), SBC_WS_MAX_BYTES / T_BS);
	t_run(&c, 1, b0, SCSI_DIR_IN, t_rd, 64);
	ck_assert_uint_eq(get_be32(t_rd + 20), 0);
	ck_assert_uint_eq(get_be32(t_rd + 24), 0);
	ck_assert_uint_eq(get_be64(t_rd + 36), SBC_WS_MAX_BYTES / T_BS);
	t_run(&c, 0, b2, SCSI_DIR_IN, t_rd, 64);
	ck_assert_good(&c);
	ck_assert_uint_eq(t_rd[5], 0xe4);	/* LBPU WS WS10, LBPRZ 001b */
	ck_assert_uint_eq(t_rd[6] & 0x07, 2);	/* thin */
	t_run(&c, 1, b2, SCSI_DIR_IN, t_rd, 64);
	ck_assert_uint_eq(t_rd[5], 0);
	ck_assert_uint_eq(t_rd[6] & 0x07, 0);
}
END_TEST

/* --- faults --- */

START_TEST(test_faults)
{
	uint8_t cdb[16], p[64];
	uint64_t lba = 10;
	uint32_t num = 4;
	struct scsi_cmd c;
	uint16_t pl;

	/* WRITE SAME pattern write: EIO -> MEDIUM ERROR, INFORMATION */
	memset(t_buf, 0x11, T_BS);
	t_ws_cdb(cdb, true, 0, 300, 8);
	backstore_inject_error(t_lun[0]->bs, 1, EIO);
	t_run(&c, 0, cdb, SCSI_DIR_OUT, t_buf, T_BS);
	ck_assert_sense(&c, SENSE_KEY_MEDIUM_ERROR, 0x0c, 0x00);
	ck_assert_uint_eq(get_be32(c.sense + 3), 300);
	/* ENOSPC -> DATA PROTECT, SPACE ALLOCATION FAILED WRITE PROTECT */
	backstore_inject_error(t_lun[0]->bs, 1, ENOSPC);
	t_run(&c, 0, cdb, SCSI_DIR_OUT, t_buf, T_BS);
	ck_assert_sense(&c, SENSE_KEY_DATA_PROTECT, 0x27, 0x07);
	backstore_inject_error(t_lun[0]->bs, 1, ENOSPC);
	t_write(1, 0, t_buf, 1);	/* another LU is unaffected */
	memset(cdb, 0, 16);
	cdb[0] = 0x8a;
	put_be32(cdb + 10, 1);
	t_run(&c, 0, cdb, SCSI_DIR_OUT, t_buf, T_BS);
	ck_assert_sense(&c, SENSE_KEY_DATA_PROTECT, 0x27, 0x07);
	backstore_inject_error(t_lun[0]->bs, 0, 0);
	/* COMPARE AND WRITE: read error, then write error */
	memset(t_buf, 0, 2 * T_BS);
	t_write(0, 500, t_buf, 1);
	t_caw_cdb(cdb, 500, 1);
	backstore_inject_error(t_lun[0]->bs, 1, EIO);
	t_run(&c, 0, cdb, SCSI_DIR_OUT, t_buf, 2 * T_BS);
	ck_assert_sense(&c, SENSE_KEY_MEDIUM_ERROR, 0x11, 0x00);
	backstore_inject_error(t_lun[0]->bs, 2, ENOSPC);
	t_run(&c, 0, cdb, SCSI_DIR_OUT, t_buf, 2 * T_BS);
	ck_assert_sense(&c, SENSE_KEY_DATA_PROTECT, 0x27, 0x07);
	/* UNMAP */
	pl = t_unmap_list(p, &lba, &num, 1);
	t_unmap_cdb(cdb, pl);
	backstore_inject_error(t_lun[0]->bs, 1, EIO);
	t_run(&c, 0, cdb, SCSI_DIR_OUT, p, pl);
	ck_assert_sense(&c, SENSE_KEY_MEDIUM_ERROR, 0x0c, 0x00);
	/* the range locks were all released */
	{
		unsigned int h, w;

		lun_lock_stats(t_lun[0]->range_lock, &h, &w);
		ck_assert_uint_eq(h, 0);
		ck_assert_uint_eq(w, 0);
	}
	/* and everything works again */
	t_run(&c, 0, cdb, SCSI_DIR_OUT, p, pl);
	ck_assert_good(&c);
}
END_TEST

/* --- commands waiting for a held range --- */

static struct lun_lock_req t_hold;
static struct scsi_cmd *t_abort_cmd;

static void
t_release_hold(void *arg)
{
	(void)arg;
	if (t_abort_cmd != NULL)
		t_abort_cmd->aborted = true;
	lun_lock_release(t_lun[0]->range_lock, &t_hold);
}

/* Start cdb on LUN 0 while [lba, lba + 8) is held; release the hold from a
 * later message (optionally aborting the command first). */
static void
t_run_blocked(struct scsi_cmd *cmd, const uint8_t *cdb, void *buf,
    uint32_t len, bool abort)
{
	static struct iovec iov;
	unsigned int h, w;

	memset(&t_hold, 0, sizeof(t_hold));
	t_hold.lba = 10;
	t_hold.nblocks = 8;
	ck_assert_int_eq(lun_lock_acquire(t_lun[0]->range_lock, &t_hold), 0);
	iov.iov_base = buf;
	iov.iov_len = len;
	eh_cmd(cmd, t_nx, 0, cdb, 16, SCSI_DIR_OUT, &iov, 1, len);
	t_abort_cmd = abort ? cmd : NULL;
	eh_exec_then(cmd, t_release_hold, NULL);
	scsi_cmd_release(cmd);
	lun_lock_stats(t_lun[0]->range_lock, &h, &w);
	ck_assert_uint_eq(h + w, 0);
}

START_TEST(test_blocked)
{
	uint8_t cdb[16];
	struct scsi_cmd c;
	unsigned int i;

	/* WRITE, WRITE SAME, COMPARE AND WRITE, UNMAP wait, then run */
	memset(t_buf, 0x42, 4 * T_BS);
	memset(cdb, 0, 16);
	cdb[0] = 0x8a;
	put_be64(cdb + 2, 12);
	put_be32(cdb + 10, 4);
	t_run_blocked(&c, cdb, t_buf, 4 * T_BS, false);
	ck_assert_good(&c);
	t_read(0, 12, t_rd, 4);
	ck_assert(t_all(t_rd, 4 * T_BS, 0x42));
	t_ws_cdb(cdb, true, 0, 8, 4);
	memset(t_buf, 0x43, T_BS);
	t_run_blocked(&c, cdb, t_buf, T_BS, false);
	ck_assert_good(&c);
	t_caw_cdb(cdb, 8, 1);
	memset(t_buf + T_BS, 0x44, T_BS);
	t_run_blocked(&c, cdb, t_buf, 2 * T_BS, false);
	ck_assert_good(&c);
	t_read(0, 8, t_rd, 1);
	ck_assert(t_all(t_rd, T_BS, 0x44));
	/* aborted while waiting: TASK ABORTED, nothing written */
	for (i = 0; i < 2; i++) {
		if (i == 0) {
			t_ws_cdb(cdb, true, 0, 10, 4);
			memset(t_buf, 0x55, T_BS);
			t_run_blocked(&c, cdb, t_buf, T_BS, true);
		} else {
			t_caw_cdb(cdb, 10, 1);
			memset(t_buf, 0x43, T_BS);
			memset(t_buf + T_BS, 0x55, T_BS);
			t_run_blocked(&c, cdb, t_buf, 2 * T_BS, true);
		}
		ck_assert_uint_eq(c.status, SAM_STAT_TASK_ABORTED);
		t_read(0, 10, t_rd, 1);
		ck_assert(t_all(t_rd, T_BS, 0x43));
	}
}
END_TEST

/* --- range lock --- */

static int t_order[8], t_norder;

static void
t_granted(struct lun_lock_req *r)
{
	t_order[t_norder++] = (int)(uintptr_t)r->priv;
	if (t_norder == 3)
		loops_stop();
}

START_TEST(test_lun_lock)
{
	struct lun_lock *lk = lun_lock_create();
	struct lun_lock_req a, b, c, d, e, z;
	unsigned int h, w;

	ck_assert_ptr_nonnull(lk);
	memset(&a, 0, sizeof(a));
	b = c = d = e = z = a;
	a.lba = 0;	a.nblocks = 10;
	b.lba = 5;	b.nblocks = 10;		/* overlaps a */
	c.lba = 20;	c.nblocks = 5;		/* free */
	d.lba = 14;	d.nblocks = 7;		/* overlaps b (waiting), c */
	e.lba = 100;	e.nblocks = UINT64_MAX;	/* overflow clipped */
	b.loop = d.loop = e.loop = loop_get(0);
	b.granted = d.granted = e.granted = t_granted;
	b.priv = (void *)2;
	d.priv = (void *)4;
	e.priv = (void *)5;
	ck_assert_int_eq(lun_lock_acquire(lk, &z), 0);	/* 0 blocks */
	ck_assert_int_eq(lun_lock_acquire(lk, &a), 0);
	ck_assert_int_eq(lun_lock_acquire(lk, &b), 1);
	ck_assert_int_eq(lun_lock_acquire(lk, &c), 0);
	ck_assert_int_eq(lun_lock_acquire(lk, &d), 1);
	ck_assert_int_eq(lun_lock_acquire(lk, &e), 0);
	lun_lock_stats(lk, &h, &w);
	ck_assert_uint_eq(h, 3);
	ck_assert_uint_eq(w, 2);
	/* c goes: d still waits behind b */
	lun_lock_release(lk, &c);
	lun_lock_stats(lk, &h, &w);
	ck_assert_uint_eq(w, 2);
	/* a goes: b is granted, d still overlaps b */
	lun_lock_release(lk, &a);
	lun_lock_stats(lk, &h, &w);
	ck_assert_uint_eq(w, 1);
	lun_lock_release(lk, &b);
	lun_lock_stats(lk, &h, &w);
	ck_assert_uint_eq(w, 0);
	/* a waiter behind e */
	c.lba = 1ull << 40;
	c.nblocks = 1;
	c.loop = loop_get(0);
	c.granted = t_granted;
	c.priv = (void *)3;
	ck_assert_int_eq(lun_lock_acquire(lk, &c), 1);
	lun_lock_release(lk, &e);
	t_norder = 0;
	ck_assert_int_eq(loops_run(), 0);
	ck_assert_int_eq(t_norder, 3);
	ck_assert_int_eq(t_order[0], 2);
	ck_assert_int_eq(t_order[1], 4);
	ck_assert_int_eq(t_order[2], 3);
	lun_lock_release(lk, &d);
	lun_lock_release(lk, &c);
	lun_lock_release(lk, &z);
	lun_lock_stats(lk, &h, &w);
	ck_assert_uint_eq(h + w, 0);
	lun_lock_destroy(lk);
}
END_TEST

static Suite *
sbc2_suite(void)
{
	Suite *s = suite_create("sbc2");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_caw);
	tcase_add_test(tc, test_write_same);
	tcase_add_test(tc, test_unmap);
	tcase_add_test(tc, test_advertise);
	tcase_add_test(tc, test_faults);
	tcase_add_test(tc, test_lun_lock);
	tcase_add_test(tc, test_blocked);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(sbc2_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
