/*
 * check_sbc3.c - unit tests for the second part of SPC/SBC: VERIFY and
 * WRITE AND VERIFY (10/12/16), ORWRITE(16), PRE-FETCH (10/16), START STOP
 * UNIT, PREVENT ALLOW MEDIUM REMOVAL, READ DEFECT DATA (10/12), SANITIZE
 * (OVERWRITE, BLOCK ERASE, EXIT FAILURE MODE, failure mode),
 * and the write protection gate (nexus map and read-only LU 27/00, SWP
 * 27/02).
 *
 * Commands run on loop 0 the way a front end drives them (prepare, then
 * fail or execute; done() stops the loop) against a bs_mem LU mapped at
 * LUN 0 and write-protected at LUN 3, and a fileio LU for PRE-FETCH.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static struct lun *t_lun;
static struct scsi_nexus *t_nx;
static uint8_t *t_buf, *t_in;

static struct conf_storage
t_storage(const char *plugin, const char *dev)
{
	/* thin: UNMAP and BLOCK ERASE exist on thin LUs */
	return eh_storage(plugin, "sbc3disk", dev, "5bc3-0000-1111",
	    (uint64_t)T_BLOCKS * T_BS, T_BS, true);
}

/* Map lun at LUN 0 and write-protected at LUN 3; no UAs pending. */
static void
t_map(struct lun *lun)
{
	static const uint64_t ids[2] = { 0, 3 };
	static const bool wp[2] = { false, true };
	struct lun *const luns[2] = { lun, lun };

	eh_map(t_nx, luns, ids, wp, 2);
}

static void
setup(void)
{
	struct conf_storage cs = t_storage("mem", NULL);

	ck_assert_int_eq(loops_init(1), 0);
	scsi_init();
	t_lun = eh_lun_open(&cs);
	t_nx = eh_nexus("sbc3", 3);
	t_map(t_lun);
	t_buf = malloc(T_BUF);
	t_in = malloc(T_BUF);
	ck_assert(t_buf != NULL && t_in != NULL);
}

static void
teardown(void)
{
	nexus_destroy(t_nx);
	lun_put(t_lun);
	free(t_buf);
	free(t_in);
	loops_fini();
}

/* --- running commands --- */

/* Run one command to completion and release it (status, sense and
 * lengths stay readable in *cmd). */
static void
t_run(struct scsi_cmd *cmd, uint64_t lun_id, const uint8_t *cdb,
    size_t cdb_len, enum scsi_dir dir, void *buf, uint32_t len)
{
	struct iovec iov[2];
	uint32_t half = len / 3;

	/* two iovecs of uneven sizes: handlers must walk them */
	iov[0].iov_base = buf;
	iov[0].iov_len = half;
	iov[1].iov_base = buf != NULL ? (uint8_t *)buf + half : NULL;
	iov[1].iov_len = len - half;
	eh_cmd(cmd, t_nx, lun_id, cdb, cdb_len, dir, iov, 2, len);
	eh_exec(cmd);
	scsi_cmd_release(cmd);
	cmd->iov = NULL;
}

/* Field pointer of fixed sense: byte and bit. */
static void
ck_field(const struct scsi_cmd *c, uint16_t byte, int bit)
{
	ck_assert_uint_eq(c->sense[0] & 0x7f, 0x70);
	ck_assert_uint_eq(c->sense[15] & 0xc0, 0xc0);	/* SKSV, C/D */
	ck_assert_uint_eq(get_be16(c->sense + 16), byte);
	if (bit >= 0) {
		ck_assert_uint_eq(c->sense[15] & 0x08, 0x08);
		ck_assert_uint_eq(c->sense[15] & 0x07, (unsigned int)bit);
	}
}

/* Fixed sense INFORMATION (VALID set). */
static uint32_t
t_info(const struct scsi_cmd *c)
{
	ck_assert_uint_eq(c->sense[0], 0xf0);
	return get_be32(c->sense + 3);
}

/* CDB for the 10/12/16-byte LBA + length layouts. */
static size_t
t_cdb(uint8_t *cdb, uint8_t op, uint8_t b1, uint64_t lba, uint32_t n)
{
	memset(cdb, 0, 16);
	cdb[0] = op;
	cdb[1] = b1;
	switch (op >> 5) {
	case 1:				/* 10-byte group */
		put_be32(cdb + 2, (uint32_t)lba);
		put_be16(cdb + 7, (uint16_t)n);
		return 10;
	case 5:				/* 12-byte group */
		put_be32(cdb + 2, (uint32_t)lba);
		put_be32(cdb + 6, n);
		return 12;
	default:			/* 16-byte group */
		put_be64(cdb + 2, lba);
		put_be32(cdb + 10, n);
		return 16;
	}
}

static void
t_write(uint64_t lba, uint32_t n, const void *data)
{
	uint8_t cdb[16];
	struct scsi_cmd c;
	size_t cl = t_cdb(cdb, 0x8a, 0, lba, n);

	t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, (void *)(uintptr_t)data,
	    n * T_BS);
	ck_assert_good(&c);
}

static void
t_read(uint64_t lba, uint32_t n, void *data)
{
	uint8_t cdb[16];
	struct scsi_cmd c;
	size_t cl = t_cdb(cdb, 0x88, 0, lba, n);

	t_run(&c, 0, cdb, cl, SCSI_DIR_IN, data, n * T_BS);
	ck_assert_good(&c);
}

static void
t_fill(uint8_t *p, size_t n, unsigned int seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + seed + (i >> 9));
}

/* --- VERIFY --- */

START_TEST(test_verify)
{
	static const uint8_t ops[] = { 0x2f, 0xaf, 0x8f };
	uint8_t cdb[16];
	struct scsi_cmd c;
	size_t i, cl;

	t_fill(t_buf, 16 * T_BS, 7);
	t_write(100, 16, t_buf);
	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		/* BYTCHK 01b: equal data */
		cl = t_cdb(cdb, ops[i], 0x02, 100, 16);
		t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, t_buf, 16 * T_BS);
		ck_assert_good(&c);
		ck_assert_uint_eq(c.xfer_len, 16 * T_BS);
		/* one byte differs: MISCOMPARE with its offset */
		t_buf[5 * T_BS + 77] ^= 0x5a;
		t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, t_buf, 16 * T_BS);
		ck_assert_sense(&c, SENSE_KEY_MISCOMPARE, 0x1d, 0x00);
		ck_assert_uint_eq(t_info(&c), 5 * T_BS + 77);
		t_buf[5 * T_BS + 77] ^= 0x5a;
		/* first and last byte */
		t_buf[0] ^= 1;
		t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, t_buf, 16 * T_BS);
		ck_assert_uint_eq(t_info(&c), 0);
		t_buf[0] ^= 1;
		t_buf[16 * T_BS - 1] ^= 1;
		t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, t_buf, 16 * T_BS);
		ck_assert_uint_eq(t_info(&c), 16 * T_BS - 1);
		t_buf[16 * T_BS - 1] ^= 1;
		/* BYTCHK 00b: medium verification, no data */
		cl = t_cdb(cdb, ops[i], 0x00, 100, 16);
		t_run(&c, 0, cdb, cl, SCSI_DIR_NONE, NULL, 0);
		ck_assert_good(&c);
		ck_assert_uint_eq(c.spdtl, 0);
		/* DPO is accepted */
		cl = t_cdb(cdb, ops[i], 0x10, 100, 16);
		t_run(&c, 0, cdb, cl, SCSI_DIR_NONE, NULL, 0);
		ck_assert_good(&c);
		/* BYTCHK 10b is reserved */
		cl = t_cdb(cdb, ops[i], 0x04, 100, 1);
		t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, t_buf, T_BS);
		ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
		ck_field(&c, 1, 2);
		/* VRPROTECT: no protection information */
		cl = t_cdb(cdb, ops[i], 0x22, 100, 1);
		t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, t_buf, T_BS);
		ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
		ck_field(&c, 1, 5);
		/* range: 0 blocks at the end is fine, past it is not */
		cl = t_cdb(cdb, ops[i], 0x02, T_BLOCKS, 0);
		t_run(&c, 0, cdb, cl, SCSI_DIR_NONE, NULL, 0);
		ck_assert_good(&c);
		cl = t_cdb(cdb, ops[i], 0x02, T_BLOCKS + 1, 0);
		t_run(&c, 0, cdb, cl, SCSI_DIR_NONE, NULL, 0);
		ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x21, 0x00);
		cl = t_cdb(cdb, ops[i], 0x02, T_BLOCKS - 1, 2);
		t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, t_buf, 2 * T_BS);
		ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x21, 0x00);
	}
	/* 64-bit wrap */
	cl = t_cdb(cdb, 0x8f, 0x02, UINT64_MAX, 2);
	t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, t_buf, 2 * T_BS);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x21, 0x00);
	/* EDTL < SPDTL: what arrived is compared, the rest only read */
	cl = t_cdb(cdb, 0x2f, 0x02, 100, 16);
	t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, t_buf, 3 * T_BS + 5);
	ck_assert_good(&c);
	ck_assert_uint_eq(c.xfer_len, 3 * T_BS + 5);
	ck_assert_uint_eq(c.spdtl, 16 * T_BS);
	/* a medium error reports the LBA */
	backstore_inject_error(t_lun->bs, 1, -EIO);
	cl = t_cdb(cdb, 0x2f, 0x00, 100, 16);
	t_run(&c, 0, cdb, cl, SCSI_DIR_NONE, NULL, 0);
	ck_assert_sense(&c, SENSE_KEY_MEDIUM_ERROR, 0x11, 0x00);
	ck_assert_uint_eq(t_info(&c), 100);
}
END_TEST

START_TEST(test_verify_bytchk_same)
{
	uint8_t cdb[16];
	struct scsi_cmd c;
	size_t cl, i;

	t_fill(t_buf, T_BS, 3);
	for (i = 1; i < 8; i++)
		memcpy(t_buf + i * T_BS, t_buf, T_BS);
	t_write(40, 8, t_buf);
	/* one block of Data-Out against 8 blocks on the medium */
	cl = t_cdb(cdb, 0x8f, 0x06, 40, 8);
	t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, t_buf, T_BS);
	ck_assert_good(&c);
	ck_assert_uint_eq(c.spdtl, T_BS);
	ck_assert_uint_eq(c.xfer_len, T_BS);
	/* change block 6 on the medium */
	t_buf[6 * T_BS + 9] ^= 0xff;
	t_write(40, 8, t_buf);
	t_buf[6 * T_BS + 9] ^= 0xff;
	t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, t_buf, T_BS);
	ck_assert_sense(&c, SENSE_KEY_MISCOMPARE, 0x1d, 0x00);
	ck_assert_uint_eq(t_info(&c), 6 * T_BS + 9);
	/* descriptor format carries the 64-bit INFORMATION */
	t_lun->d_sense = true;
	t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, t_buf, T_BS);
	ck_assert_uint_eq(c.sense[0], 0x72);
	ck_assert_uint_eq(c.sense[8], 0x00);
	ck_assert_uint_eq(get_be64(c.sense + 12), 6 * T_BS + 9);
	t_lun->d_sense = false;
}
END_TEST

/* --- WRITE AND VERIFY --- */

START_TEST(test_write_verify)
{
	static const uint8_t ops[] = { 0x2e, 0xae, 0x8e };
	uint8_t cdb[16];
	struct scsi_cmd c;
	size_t i, cl;

	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		t_fill(t_buf, 8 * T_BS, (unsigned int)i + 11);
		cl = t_cdb(cdb, ops[i], i == 0 ? 0x00 : 0x12, 200 + 8 * i, 8);
		t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, t_buf, 8 * T_BS);
		ck_assert_good(&c);
		ck_assert_uint_eq(c.xfer_len, 8 * T_BS);
		t_read(200 + 8 * i, 8, t_in);
		ck_assert(memcmp(t_in, t_buf, 8 * T_BS) == 0);
		/* BYTCHK 10b and 11b are reserved here */
		cl = t_cdb(cdb, ops[i], 0x04, 0, 1);
		t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, t_buf, T_BS);
		ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
		ck_field(&c, 1, 2);
		cl = t_cdb(cdb, ops[i], 0x06, 0, 1);
		t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, t_buf, T_BS);
		ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
		/* WRPROTECT */
		cl = t_cdb(cdb, ops[i], 0x42, 0, 1);
		t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, t_buf, T_BS);
		ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
		/* write-protected mapping */
		cl = t_cdb(cdb, ops[i], 0x02, 0, 1);
		t_run(&c, 3, cdb, cl, SCSI_DIR_OUT, t_buf, T_BS);
		ck_assert_sense(&c, SENSE_KEY_DATA_PROTECT, 0x27, 0x00);
		/* beyond the end */
		cl = t_cdb(cdb, ops[i], 0x02, T_BLOCKS - 1, 2);
		t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, t_buf, 2 * T_BS);
		ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x21, 0x00);
	}
	/* residuals as libiscsi's WriteVerify*Residuals expect */
	memset(t_buf, 'a', 2 * T_BS);
	t_write(10, 2, t_buf);
	memset(t_buf, 'b', 2 * T_BS);
	cl = t_cdb(cdb, 0x2e, 0x02, 10, 1);
	t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, t_buf, 2 * T_BS);
	ck_assert_good(&c);
	ck_assert_uint_eq(c.xfer_len, T_BS);
	ck_assert_uint_eq(c.spdtl, T_BS);
	t_read(10, 2, t_in);
	ck_assert(t_in[T_BS - 1] == 'b' && t_in[T_BS] == 'a');
	memset(t_buf, 'c', 200);
	t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, t_buf, 200);
	ck_assert_good(&c);
	ck_assert_uint_eq(c.xfer_len, 200);
	t_read(10, 1, t_in);
	ck_assert(t_in[199] == 'c' && t_in[200] == 'b');
	t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, NULL, 0);
	ck_assert_good(&c);
	ck_assert_uint_eq(c.spdtl, T_BS);
	/* the read-back fails: MEDIUM ERROR, the write happened */
	memset(t_buf, 'd', T_BS);
	backstore_inject_error(t_lun->bs, 2, -EIO);
	t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, t_buf, T_BS);
	ck_assert_sense(&c, SENSE_KEY_MEDIUM_ERROR, 0x11, 0x00);
	/* the write fails */
	backstore_inject_error(t_lun->bs, 1, -EIO);
	t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, t_buf, T_BS);
	ck_assert_sense(&c, SENSE_KEY_MEDIUM_ERROR, 0x0c, 0x00);
	ck_assert_uint_eq(t_info(&c), 10);
}
END_TEST

/* --- ORWRITE --- */

START_TEST(test_orwrite)
{
	uint8_t cdb[16];
	struct scsi_cmd c;
	size_t cl, i;

	memset(t_buf, 0x0f, 4 * T_BS);
	t_write(300, 4, t_buf);
	memset(t_buf, 0x30, 4 * T_BS);
	t_buf[3] = 0x80;
	cl = t_cdb(cdb, 0x8b, 0x18, 300, 4);	/* DPO FUA */
	t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, t_buf, 4 * T_BS);
	ck_assert_good(&c);
	ck_assert_uint_eq(c.xfer_len, 4 * T_BS);
	t_read(300, 4, t_in);
	ck_assert_uint_eq(t_in[3], 0x8f);
	for (i = 4; i < 4 * T_BS; i++)
		ck_assert_uint_eq(t_in[i], 0x3f);
	/* EDTL < SPDTL: only the bytes that arrived */
	memset(t_buf, 0x40, T_BS);
	t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, t_buf, 100);
	ck_assert_good(&c);
	t_read(300, 1, t_in);
	ck_assert_uint_eq(t_in[99], 0x7f);
	ck_assert_uint_eq(t_in[100], 0x3f);
	/* 0 blocks, range, ORPROTECT, write protect */
	cl = t_cdb(cdb, 0x8b, 0, T_BLOCKS, 0);
	t_run(&c, 0, cdb, cl, SCSI_DIR_NONE, NULL, 0);
	ck_assert_good(&c);
	cl = t_cdb(cdb, 0x8b, 0, T_BLOCKS + 1, 0);
	t_run(&c, 0, cdb, cl, SCSI_DIR_NONE, NULL, 0);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x21, 0x00);
	cl = t_cdb(cdb, 0x8b, 0x20, 0, 1);
	t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, t_buf, T_BS);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	cl = t_cdb(cdb, 0x8b, 0, 0, 1);
	t_run(&c, 3, cdb, cl, SCSI_DIR_OUT, t_buf, T_BS);
	ck_assert_sense(&c, SENSE_KEY_DATA_PROTECT, 0x27, 0x00);
	/* read error during the read phase */
	backstore_inject_error(t_lun->bs, 1, -EIO);
	t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, t_buf, T_BS);
	ck_assert_sense(&c, SENSE_KEY_MEDIUM_ERROR, 0x11, 0x00);
	/* the range lock is free again after every path */
	{
		unsigned int held, waiting;

		lun_lock_stats(t_lun->range_lock, &held, &waiting);
		ck_assert_uint_eq(held, 0);
		ck_assert_uint_eq(waiting, 0);
	}
}
END_TEST

/* --- PRE-FETCH --- */

static void
t_prefetch_cases(void)
{
	uint8_t cdb[16];
	struct scsi_cmd c;
	size_t cl;

	cl = t_cdb(cdb, 0x34, 0, 0, 16);
	t_run(&c, 0, cdb, cl, SCSI_DIR_NONE, NULL, 0);
	ck_assert_status(&c, SAM_STAT_CONDITION_MET);
	ck_assert_uint_eq(c.sense_len, 0);
	cl = t_cdb(cdb, 0x90, 0x02, T_BLOCKS - 16, 16);	/* IMMED */
	t_run(&c, 0, cdb, cl, SCSI_DIR_NONE, NULL, 0);
	ck_assert_status(&c, SAM_STAT_CONDITION_MET);
	/* 0 blocks: to the end of the medium */
	cl = t_cdb(cdb, 0x90, 0, 5, 0);
	t_run(&c, 0, cdb, cl, SCSI_DIR_NONE, NULL, 0);
	ck_assert_status(&c, SAM_STAT_CONDITION_MET);
	cl = t_cdb(cdb, 0x34, 0, T_BLOCKS, 0);
	t_run(&c, 0, cdb, cl, SCSI_DIR_NONE, NULL, 0);
	ck_assert_status(&c, SAM_STAT_CONDITION_MET);
	cl = t_cdb(cdb, 0x34, 0, T_BLOCKS + 1, 0);
	t_run(&c, 0, cdb, cl, SCSI_DIR_NONE, NULL, 0);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x21, 0x00);
	cl = t_cdb(cdb, 0x90, 0, T_BLOCKS - 1, 2);
	t_run(&c, 0, cdb, cl, SCSI_DIR_NONE, NULL, 0);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x21, 0x00);
	cl = t_cdb(cdb, 0x90, 0, UINT64_MAX, 1);
	t_run(&c, 0, cdb, cl, SCSI_DIR_NONE, NULL, 0);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x21, 0x00);
	/* group number is accepted */
	cl = t_cdb(cdb, 0x34, 0x02, 0, 1);
	cdb[6] = 0x03;
	t_run(&c, 0, cdb, cl, SCSI_DIR_NONE, NULL, 0);
	ck_assert_status(&c, SAM_STAT_CONDITION_MET);
}

START_TEST(test_prefetch_mem)
{
	t_prefetch_cases();
}
END_TEST

START_TEST(test_prefetch_file)
{
	char dir[] = "/tmp/check_sbc3.XXXXXX", path[64];
	uint8_t tur[6] = { 0 };
	struct conf_storage cs;
	struct scsi_cmd c;
	struct lun *flun;
	unsigned int i;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/disk.img", dir);
	cs = t_storage("fileio", path);
	flun = eh_lun_open(&cs);
	ck_assert_int_ge(flun->bs->fd, 0);
	t_map(flun);
	t_prefetch_cases();
	t_map(t_lun);
	/* the IMMED advice runs detached on the pool and holds a reference
	 * until its completion ran on the loop: let it finish */
	for (i = 0; i < 5000 &&
	    __atomic_load_n(&flun->refcnt, __ATOMIC_ACQUIRE) > 1; i++) {
		t_run(&c, 0, tur, 6, SCSI_DIR_NONE, NULL, 0);
		usleep(1000);
	}
	ck_assert_uint_eq(__atomic_load_n(&flun->refcnt, __ATOMIC_ACQUIRE), 1);
	lun_put(flun);
	unlink(path);
	rmdir(dir);
}
END_TEST

/* --- START STOP UNIT --- */

static void
t_ssu(uint8_t b1, uint8_t b3, uint8_t b4, struct scsi_cmd *c)
{
	uint8_t cdb[6] = { 0x1b, b1, 0, b3, b4, 0 };

	t_run(c, 0, cdb, 6, SCSI_DIR_NONE, NULL, 0);
}

START_TEST(test_start_stop)
{
	uint8_t tur[6] = { 0 }, inq[6] = { 0x12, 0, 0, 0, 36, 0 };
	uint8_t rc10[10] = { 0x25 }, cdb[16];
	struct scsi_cmd c;
	size_t cl;
	unsigned int pc;

	/* stop (with the cache flush) */
	t_ssu(0, 0, 0x00, &c);
	ck_assert_good(&c);
	t_run(&c, 0, tur, 6, SCSI_DIR_NONE, NULL, 0);
	ck_assert_sense(&c, SENSE_KEY_NOT_READY, 0x04, 0x02);
	cl = t_cdb(cdb, 0x28, 0, 0, 1);
	t_run(&c, 0, cdb, cl, SCSI_DIR_IN, t_in, T_BS);
	ck_assert_sense(&c, SENSE_KEY_NOT_READY, 0x04, 0x02);
	t_run(&c, 0, rc10, 10, SCSI_DIR_IN, t_in, 8);
	ck_assert_sense(&c, SENSE_KEY_NOT_READY, 0x04, 0x02);
	cl = t_cdb(cdb, 0x2f, 0, 0, 1);
	t_run(&c, 0, cdb, cl, SCSI_DIR_NONE, NULL, 0);
	ck_assert_sense(&c, SENSE_KEY_NOT_READY, 0x04, 0x02);
	/* non-media commands still work */
	t_run(&c, 0, inq, 6, SCSI_DIR_IN, t_in, 36);
	ck_assert_good(&c);
	/* power conditions do not start it */
	t_ssu(0x01, 0, 0x10, &c);
	ck_assert_good(&c);
	t_run(&c, 0, tur, 6, SCSI_DIR_NONE, NULL, 0);
	ck_assert_sense(&c, SENSE_KEY_NOT_READY, 0x04, 0x02);
	/* start */
	t_ssu(0x01, 0, 0x01, &c);
	ck_assert_good(&c);
	t_run(&c, 0, tur, 6, SCSI_DIR_NONE, NULL, 0);
	ck_assert_good(&c);
	/* NO_FLUSH stop, then start */
	t_ssu(0, 0, 0x04, &c);
	ck_assert_good(&c);
	t_run(&c, 0, tur, 6, SCSI_DIR_NONE, NULL, 0);
	ck_assert_sense(&c, SENSE_KEY_NOT_READY, 0x04, 0x02);
	t_ssu(0, 0, 0x05, &c);
	ck_assert_good(&c);
	t_run(&c, 0, tur, 6, SCSI_DIR_NONE, NULL, 0);
	ck_assert_good(&c);
	/* a failed flush leaves the unit running */
	backstore_inject_error(t_lun->bs, 1, -EIO);
	t_ssu(0, 0, 0x00, &c);
	ck_assert_sense(&c, SENSE_KEY_MEDIUM_ERROR, 0x0c, 0x00);
	t_run(&c, 0, tur, 6, SCSI_DIR_NONE, NULL, 0);
	ck_assert_good(&c);
	/* LOEJ: no removable medium */
	t_ssu(0, 0, 0x02, &c);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	ck_field(&c, 4, 1);
	t_ssu(0, 0, 0x03, &c);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	/* power conditions and modifiers */
	for (pc = 0; pc < 16; pc++) {
		bool valid = pc == 0 || pc == 1 || pc == 2 || pc == 3 ||
		    pc == 7 || pc == 0xa || pc == 0xb;

		t_ssu(0x01, 0, (uint8_t)(pc << 4 | 0x01), &c);
		if (valid) {
			ck_assert_good(&c);
		} else {
			ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24,
			    0x00);
			ck_field(&c, 4, 7);
		}
	}
	t_ssu(0, 2, 0x20, &c);			/* IDLE_C */
	ck_assert_good(&c);
	t_ssu(0, 3, 0x20, &c);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	ck_field(&c, 3, 3);
	t_ssu(0, 1, 0x30, &c);			/* STANDBY_Y */
	ck_assert_good(&c);
	t_ssu(0, 2, 0x30, &c);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	t_ssu(0, 1, 0x10, &c);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	t_ssu(0, 1, 0x01, &c);		/* modifier, START_VALID */
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	t_run(&c, 0, tur, 6, SCSI_DIR_NONE, NULL, 0);
	ck_assert_good(&c);
}
END_TEST

/* --- PREVENT ALLOW MEDIUM REMOVAL, READ DEFECT DATA --- */

START_TEST(test_prevent_allow)
{
	uint8_t cdb[6] = { 0x1e, 0, 0, 0, 0, 0 };
	struct scsi_cmd c;
	unsigned int p;

	for (p = 0; p < 4; p++) {
		cdb[4] = (uint8_t)p;
		t_run(&c, 0, cdb, 6, SCSI_DIR_NONE, NULL, 0);
		ck_assert_good(&c);
	}
	cdb[4] = 0x04;
	t_run(&c, 0, cdb, 6, SCSI_DIR_NONE, NULL, 0);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
}
END_TEST

START_TEST(test_read_defect_data)
{
	uint8_t cdb[12];
	struct scsi_cmd c;
	unsigned int fmt;

	for (fmt = 0; fmt < 7; fmt++) {
		memset(cdb, 0, sizeof(cdb));
		cdb[0] = 0x37;
		cdb[2] = (uint8_t)(0x18 | fmt);
		put_be16(cdb + 7, 32);
		memset(t_in, 0xa5, 64);
		t_run(&c, 0, cdb, 10, SCSI_DIR_IN, t_in, 32);
		ck_assert_good(&c);
		ck_assert_uint_eq(c.xfer_len, 4);
		ck_assert_uint_eq(t_in[1], 0x18 | fmt);
		ck_assert_uint_eq(get_be16(t_in + 2), 0);
		ck_assert_uint_eq(t_in[4], 0xa5);
		memset(cdb, 0, sizeof(cdb));
		cdb[0] = 0xb7;
		cdb[1] = (uint8_t)(0x10 | fmt);
		put_be32(cdb + 6, 32);
		t_run(&c, 0, cdb, 12, SCSI_DIR_IN, t_in, 32);
		ck_assert_good(&c);
		ck_assert_uint_eq(c.xfer_len, 8);
		ck_assert_uint_eq(t_in[1], 0x10 | fmt);
		ck_assert_uint_eq(get_be32(t_in + 4), 0);
	}
	/* allocation length cuts the header */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x37;
	put_be16(cdb + 7, 2);
	t_run(&c, 0, cdb, 10, SCSI_DIR_IN, t_in, 32);
	ck_assert_good(&c);
	ck_assert_uint_eq(c.xfer_len, 2);
	/* reserved format */
	cdb[2] = 0x07;
	t_run(&c, 0, cdb, 10, SCSI_DIR_IN, t_in, 32);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	ck_field(&c, 2, 2);
}
END_TEST

/* --- write protection --- */

/* A minimal CDB for op with one block at LBA 0 where it has a length. */
static size_t
t_write_cdb(uint8_t *cdb, unsigned int op, int sa)
{
	const struct scsi_op *e = &scsi_ops[op];

	memset(cdb, 0, 16);
	cdb[0] = (uint8_t)op;
	if (sa >= 0) {
		e = &e->sa[sa];
		cdb[1] = (uint8_t)sa;
	}
	return e->cdb_len;
}

START_TEST(test_write_protect)
{
	uint8_t cdb[16], sel[6] = { 0x15, 0x10, 0, 0, 0, 0 }, par[16];
	struct scsi_cmd c;
	unsigned int op, sa, n = 0;
	size_t cl;

	/* every OP_WRITE entry of the table, on the read-only mapping */
	for (op = 0; op < 256; op++) {
		const struct scsi_op *e = &scsi_ops[op];

		for (sa = 0; sa < (e->sa != NULL ? SCSI_SA_COUNT : 1); sa++) {
			const struct scsi_op *x = e->sa != NULL ? &e->sa[sa] :
			    e;

			if (x->exec == NULL || !(x->flags & OP_WRITE))
				continue;
			cl = t_write_cdb(cdb, op, e->sa != NULL ? (int)sa :
			    -1);
			t_run(&c, 3, cdb, cl, SCSI_DIR_OUT, t_buf, T_BS);
			ck_assert_sense(&c, SENSE_KEY_DATA_PROTECT, 0x27,
			    0x00);
			n++;
		}
	}
	ck_assert_uint_ge(n, 10);
	/* SWP through MODE SELECT: LOGICAL UNIT SOFTWARE WRITE PROTECTED */
	memset(par, 0, sizeof(par));
	par[4] = 0x0a;
	par[5] = 0x0a;
	par[7] = 0x10;
	par[8] = 0x08;			/* SWP */
	par[9] = 0x40;
	put_be16(par + 12, 0xffff);
	sel[4] = sizeof(par);
	t_run(&c, 0, sel, 6, SCSI_DIR_OUT, par, sizeof(par));
	ck_assert_good(&c);
	cl = t_cdb(cdb, 0x2a, 0, 0, 1);
	t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, t_buf, T_BS);
	ck_assert_sense(&c, SENSE_KEY_DATA_PROTECT, 0x27, 0x02);
	cl = t_cdb(cdb, 0x8e, 0x02, 0, 1);
	t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, t_buf, T_BS);
	ck_assert_sense(&c, SENSE_KEY_DATA_PROTECT, 0x27, 0x02);
	cl = t_cdb(cdb, 0x8b, 0, 0, 1);
	t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, t_buf, T_BS);
	ck_assert_sense(&c, SENSE_KEY_DATA_PROTECT, 0x27, 0x02);
	/* the map's protection wins over SWP */
	t_run(&c, 3, cdb, cl, SCSI_DIR_OUT, t_buf, T_BS);
	ck_assert_sense(&c, SENSE_KEY_DATA_PROTECT, 0x27, 0x00);
	/* reads and VERIFY still work */
	cl = t_cdb(cdb, 0x2f, 0x00, 0, 1);
	t_run(&c, 0, cdb, cl, SCSI_DIR_NONE, NULL, 0);
	ck_assert_good(&c);
	/* clear SWP */
	par[8] = 0;
	t_run(&c, 0, sel, 6, SCSI_DIR_OUT, par, sizeof(par));
	ck_assert_good(&c);
	cl = t_cdb(cdb, 0x2a, 0, 0, 1);
	t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, t_buf, T_BS);
	ck_assert_good(&c);
	/* a read-only LU */
	t_lun->read_only = true;
	t_run(&c, 0, cdb, cl, SCSI_DIR_OUT, t_buf, T_BS);
	ck_assert_sense(&c, SENSE_KEY_DATA_PROTECT, 0x27, 0x00);
	t_lun->read_only = false;
}
END_TEST

/* REPORT SUPPORTED OPERATION CODES reports DPO (MODE SENSE DPOFUA = 1)
 * and the BYTCHK bits, and no protection fields. */
START_TEST(test_rsoc_masks)
{
	static const uint8_t ops[] = { 0x2e, 0x2f, 0xae, 0xaf, 0x8e, 0x8f };
	uint8_t cdb[12] = { 0xa3, 0x0c, 0x01 };
	struct scsi_cmd c;
	size_t i;

	put_be32(cdb + 6, 256);
	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		cdb[3] = ops[i];
		t_run(&c, 0, cdb, 12, SCSI_DIR_IN, t_in, 256);
		ck_assert_good(&c);
		ck_assert_uint_eq(t_in[1] & 0x07, 0x03);
		ck_assert_uint_eq(t_in[5], 0x16);
	}
	cdb[3] = 0x8b;
	t_run(&c, 0, cdb, 12, SCSI_DIR_IN, t_in, 256);
	ck_assert_uint_eq(t_in[5], 0x18);
}
END_TEST

/* Random CDBs for this module's opcodes: every command ends with a
 * status, nothing overruns (ASan), no range lock is left behind. */
START_TEST(test_random_cdbs)
{
	static const uint8_t ops[] = { 0x1b, 0x1e, 0x2e, 0x2f, 0x34, 0x37,
		0x8b, 0x8e, 0x8f, 0x90, 0xae, 0xaf, 0xb7 };
	uint8_t cdb[16];
	struct scsi_cmd c;
	unsigned int i, j, held, waiting;
	uint32_t len;

	srandom(4321);
	for (i = 0; i < 5000; i++) {
		const struct scsi_op *e;

		for (j = 0; j < sizeof(cdb); j++)
			cdb[j] = (uint8_t)random();
		cdb[0] = ops[(unsigned int)random() % ARRAY_SIZE(ops)];
		e = &scsi_ops[cdb[0]];
		if (random() & 1)
			for (j = 1; j < sizeof(cdb); j++)
				cdb[j] &= e->usage[j];
		/* mostly small lengths near the start */
		if (random() & 1) {
			if (e->cdb_len == 10)
				put_be32(cdb + 2, (uint32_t)random() %
				    (T_BLOCKS + 2));
			else if (e->cdb_len == 16)
				put_be64(cdb + 2, (uint64_t)random() %
				    (T_BLOCKS + 2));
		}
		len = (uint32_t)random() % (64 * T_BS + 1);
		t_fill(t_buf, len, i);
		t_run(&c, (uint64_t)random() % 4, cdb, e->cdb_len,
		    (enum scsi_dir)(random() % 3), t_buf, len);
		ck_assert_uint_le(c.xfer_len, len);
		ck_assert_msg(c.status == SAM_STAT_GOOD ||
		    c.status == SAM_STAT_CHECK_CONDITION ||
		    c.status == SAM_STAT_BUSY ||
		    c.status == SAM_STAT_CONDITION_MET,
		    "status %02x for %02x", c.status, cdb[0]);
		if (c.status != SAM_STAT_CHECK_CONDITION)
			ck_assert_uint_eq(c.sense_len, 0);
	}
	lun_lock_stats(t_lun->range_lock, &held, &waiting);
	ck_assert_uint_eq(held + waiting, 0);
}
END_TEST

/* --- SANITIZE --- */

static void
t_sanitize(uint64_t lun_id, uint8_t b1, const uint8_t *par, uint16_t plen,
    uint32_t edtl, struct scsi_cmd *c)
{
	uint8_t cdb[10] = { 0x48, b1 };

	put_be16(cdb + 7, plen);
	memcpy(t_buf, par, MIN((size_t)edtl, (size_t)T_BS + 8));
	t_run(c, lun_id, cdb, 10, edtl ? SCSI_DIR_OUT : SCSI_DIR_NONE,
	    edtl ? t_buf : NULL, edtl);
}

/* OVERWRITE parameter list: count, invert, a pattern of n bytes. */
static uint16_t
t_ow_par(uint8_t *par, unsigned int count, bool invert, uint16_t n)
{
	uint16_t i;

	memset(par, 0, T_BS + 8);
	par[0] = (uint8_t)((invert ? 0x80 : 0) | (count & 0x1f));
	put_be16(par + 2, n);
	for (i = 0; i < n; i++)
		par[4 + i] = (uint8_t)(0x11 * (i + 1));
	return (uint16_t)(n + 4);
}

static void
t_check_medium(uint64_t lba, uint8_t (*expect)(size_t), const char *what)
{
	size_t i;

	t_read(lba, 8, t_in);
	for (i = 0; i < 8 * T_BS; i++)
		ck_assert_msg(t_in[i] == expect(i % T_BS),
		    "%s: LBA %llu byte %zu: %02x want %02x", what,
		    (unsigned long long)lba, i, t_in[i], expect(i % T_BS));
}

static uint8_t
t_pat3(size_t i)
{
	return (uint8_t)(0x11 * (i % 3 + 1));
}

static uint8_t
t_pat3_inv(size_t i)
{
	return (uint8_t)~t_pat3(i);
}

static uint8_t
t_zero(size_t i)
{
	(void)i;
	return 0;
}

START_TEST(test_sanitize_overwrite)
{
	uint8_t par[T_BS + 8], tur[6] = { 0 };
	struct scsi_cmd c;
	uint16_t n;
	unsigned int i;

	t_fill(t_buf, 8 * T_BS, 1);
	t_write(0, 8, t_buf);
	t_write(T_BLOCKS - 8, 8, t_buf);
	/* one pass of a 3-byte pattern, repeated within each block */
	n = t_ow_par(par, 1, false, 3);
	t_sanitize(0, 0x01, par, n, n, &c);
	ck_assert_good(&c);
	t_check_medium(0, t_pat3, "overwrite");
	t_check_medium(T_BLOCKS - 8, t_pat3, "overwrite");
	/* two passes with INVERT end inverted */
	n = t_ow_par(par, 2, true, 3);
	t_sanitize(0, 0x01, par, n, n, &c);
	ck_assert_good(&c);
	t_check_medium(T_BLOCKS / 2, t_pat3_inv, "invert");
	/* IMMED: status first, media access waits for the end */
	n = t_ow_par(par, 3, false, 3);
	t_sanitize(0, 0x81, par, n, n, &c);
	ck_assert_good(&c);
	for (i = 0; i < 10000; i++) {
		t_run(&c, 0, tur, 6, SCSI_DIR_NONE, NULL, 0);
		if (c.status == SAM_STAT_GOOD)
			break;
		ck_assert_sense(&c, SENSE_KEY_NOT_READY, 0x04, 0x1b);
	}
	ck_assert_good(&c);
	t_check_medium(100, t_pat3, "immed");
	/* a full block pattern */
	n = t_ow_par(par, 1, false, T_BS);
	t_sanitize(0, 0x01, par, n, n, &c);
	ck_assert_good(&c);
	t_read(7, 1, t_in);
	ck_assert(memcmp(t_in, par + 4, T_BS) == 0);
	/* parameter checks */
	for (i = 0; i < 5; i++) {
		t_sanitize(0, 0x01, par, (uint16_t)i, i, &c);
		ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
		ck_field(&c, 7, -1);
	}
	t_sanitize(0, 0x01, par, T_BS + 5, T_BS + 5, &c);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	n = t_ow_par(par, 0, false, 8);			/* count 0 */
	t_sanitize(0, 0x01, par, n, n, &c);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x26, 0x00);
	n = t_ow_par(par, 1, false, 8);
	put_be16(par + 2, 0);			/* pattern length 0 */
	t_sanitize(0, 0x01, par, n, n, &c);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x26, 0x00);
	n = t_ow_par(par, 1, false, 8);
	put_be16(par + 2, 9);			/* longer than list */
	t_sanitize(0, 0x01, par, n, n, &c);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x26, 0x00);
	n = t_ow_par(par, 1, false, 8);
	par[0] |= 0x20;					/* TEST */
	t_sanitize(0, 0x01, par, n, n, &c);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x26, 0x00);
	n = t_ow_par(par, 1, false, 8);
	t_sanitize(0, 0x01, par, n, n - 1, &c);		/* short data */
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x1a, 0x00);
	/* write protection */
	n = t_ow_par(par, 1, false, 8);
	t_sanitize(3, 0x01, par, n, n, &c);
	ck_assert_sense(&c, SENSE_KEY_DATA_PROTECT, 0x27, 0x00);
	t_sanitize(3, 0x02, par, 0, 0, &c);
	ck_assert_sense(&c, SENSE_KEY_DATA_PROTECT, 0x27, 0x00);
}
END_TEST

START_TEST(test_sanitize_block_erase)
{
	uint8_t par[T_BS + 8], cdb[12] = { 0xa3, 0x0c, 0x02, 0x48 };
	struct scsi_cmd c;
	unsigned int sa;

	t_fill(t_buf, 8 * T_BS, 9);
	t_write(0, 8, t_buf);
	t_write(T_BLOCKS - 8, 8, t_buf);
	memset(par, 0, sizeof(par));
	t_sanitize(0, 0x02, par, 8, 8, &c);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	ck_field(&c, 7, -1);
	t_sanitize(0, 0x02, par, 0, 0, &c);
	ck_assert_good(&c);
	t_check_medium(0, t_zero, "block erase");
	t_check_medium(T_BLOCKS - 8, t_zero, "block erase");
	/* the backstore cannot deallocate: zeroes are written */
	t_write(0, 8, t_buf);
	backstore_inject_error(t_lun->bs, 1, -EOPNOTSUPP);
	t_sanitize(0, 0x02, par, 0, 0, &c);
	ck_assert_good(&c);
	t_check_medium(0, t_zero, "block erase fallback");
	/* no CRYPTOGRAPHIC ERASE, no other service actions */
	for (sa = 0; sa < 32; sa++) {
		if (sa == 1 || sa == 2 || sa == 0x1f)
			continue;
		t_sanitize(0, (uint8_t)sa, par, 0, 0, &c);
		ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
		ck_field(&c, 1, 4);
	}
	/* REPORT SUPPORTED OPERATION CODES agrees */
	put_be32(cdb + 6, 64);
	for (sa = 0; sa < 32; sa++) {
		put_be16(cdb + 4, (uint16_t)sa);
		t_run(&c, 0, cdb, 12, SCSI_DIR_IN, t_in, 64);
		ck_assert_good(&c);
		ck_assert_uint_eq(t_in[1] & 0x07, sa == 1 || sa == 2 ||
		    sa == 0x1f ? 0x03 : 0x01);
	}
}
END_TEST

START_TEST(test_sanitize_failure_mode)
{
	uint8_t par[T_BS + 8] = { 0 }, tur[6] = { 0 };
	uint8_t inq[6] = { 0x12, 0, 0, 0, 36 };
	struct scsi_cmd c;
	uint16_t n;

	/* EXIT FAILURE MODE with nothing failed, and its list length */
	t_sanitize(0, 0x1f, par, 0, 0, &c);
	ck_assert_good(&c);
	t_sanitize(0, 0x1f, par, 8, 8, &c);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	/* a failing OVERWRITE (AUSE 0) */
	n = t_ow_par(par, 1, false, 4);
	backstore_inject_error(t_lun->bs, 1, -EIO);
	t_sanitize(0, 0x01, par, n, n, &c);
	ck_assert_sense(&c, SENSE_KEY_MEDIUM_ERROR, 0x31, 0x03);
	t_run(&c, 0, tur, 6, SCSI_DIR_NONE, NULL, 0);
	ck_assert_sense(&c, SENSE_KEY_MEDIUM_ERROR, 0x31, 0x03);
	t_run(&c, 0, inq, 6, SCSI_DIR_IN, t_in, 36);
	ck_assert_good(&c);
	t_sanitize(0, 0x1f, par, 0, 0, &c);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	/* a new SANITIZE that succeeds leaves failure mode */
	t_sanitize(0, 0x02, par, 0, 0, &c);
	ck_assert_good(&c);
	t_run(&c, 0, tur, 6, SCSI_DIR_NONE, NULL, 0);
	ck_assert_good(&c);
	/* AUSE 1: EXIT FAILURE MODE is enough */
	backstore_inject_error(t_lun->bs, 1, -EIO);
	t_sanitize(0, 0x22, par, 0, 0, &c);
	ck_assert_sense(&c, SENSE_KEY_MEDIUM_ERROR, 0x31, 0x03);
	t_run(&c, 0, tur, 6, SCSI_DIR_NONE, NULL, 0);
	ck_assert_sense(&c, SENSE_KEY_MEDIUM_ERROR, 0x31, 0x03);
	t_sanitize(0, 0x1f, par, 0, 0, &c);
	ck_assert_good(&c);
	t_run(&c, 0, tur, 6, SCSI_DIR_NONE, NULL, 0);
	ck_assert_good(&c);
	/* a failing IMMED erase: the status was GOOD, failure mode after */
	backstore_inject_error(t_lun->bs, 1, -EIO);
	t_sanitize(0, 0xa2, par, 0, 0, &c);
	ck_assert_good(&c);
	do {
		t_run(&c, 0, tur, 6, SCSI_DIR_NONE, NULL, 0);
	} while (c.status == SAM_STAT_CHECK_CONDITION && c.sense[12] == 0x04);
	ck_assert_sense(&c, SENSE_KEY_MEDIUM_ERROR, 0x31, 0x03);
	t_sanitize(0, 0x1f, par, 0, 0, &c);
	ck_assert_good(&c);
	{
		unsigned int held, waiting;

		lun_lock_stats(t_lun->range_lock, &held, &waiting);
		ck_assert_uint_eq(held + waiting, 0);
	}
}
END_TEST

static Suite *
sbc3_suite(void)
{
	Suite *s = suite_create("sbc3");
	TCase *tc = tcase_create("sbc3");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_verify);
	tcase_add_test(tc, test_verify_bytchk_same);
	tcase_add_test(tc, test_write_verify);
	tcase_add_test(tc, test_orwrite);
	tcase_add_test(tc, test_prefetch_mem);
	tcase_add_test(tc, test_prefetch_file);
	tcase_add_test(tc, test_start_stop);
	tcase_add_test(tc, test_prevent_allow);
	tcase_add_test(tc, test_read_defect_data);
	tcase_add_test(tc, test_write_protect);
	tcase_add_test(tc, test_rsoc_masks);
	tcase_add_test(tc, test_random_cdbs);
	tcase_add_test(tc, test_sanitize_overwrite);
	tcase_add_test(tc, test_sanitize_block_erase);
	tcase_add_test(tc, test_sanitize_failure_mode);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(sbc3_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
