/*
 * check_scsi.c - unit tests for the SCSI engine: dispatch gates, the
 * command table (all 256 opcodes, every reserved bit), INQUIRY and VPD
 * pages, READ CAPACITY, READ/WRITE on bs_mem, residual lengths, unit
 * attentions, MODE SENSE/SELECT, REPORT SUPPORTED OPERATION CODES, sense
 * formats and the LUN codec.
 *
 * Commands run on loop 0 exactly as a front end drives them: prepare, then
 * fail or execute, and done() stops the loop.
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
#include "scsi.h"
#include "scsi_int.h"
#include "sense.h"
#include "target.h"
#include "util.h"
#include "eng_harness.h"

#define T_BLOCKS	2048
#define T_BS		512
#define T_BUF		(512 * 1024)

static struct lun *t_lun;
static struct scsi_nexus *t_nx;
static uint8_t *t_buf;

static struct conf_storage
t_storage(void)
{
	return eh_storage("mem", "disk0", NULL,
	    "0e3c5f6a-1111-2222-3333-444455556666",
	    (uint64_t)T_BLOCKS * T_BS, T_BS, true);
}

/* Map t_lun at LUN 0 (and optionally write-protected at LUN 3); the
 * power-on UAs stay pending (tests check them). */
static void
t_map(bool with_wp)
{
	unsigned int n = with_wp ? 2 : 1;
	struct nexus_lun *map = xcalloc(n, sizeof(*map));

	ck_assert_ptr_nonnull(map);
	map[0].lun_id = 0;
	map[0].lun = t_lun;
	lun_get(t_lun);
	if (with_wp) {
		map[1].lun_id = 3;
		map[1].lun = t_lun;
		map[1].write_protect = true;
		lun_get(t_lun);
	}
	nexus_luns_replace(t_nx, map, n);
}

static void
setup(void)
{
	struct conf_storage cs = t_storage();

	ck_assert_int_eq(loops_init(1), 0);
	scsi_init();
	t_lun = eh_lun_open(&cs);
	t_nx = eh_nexus("init", 1);
	t_map(true);
	t_buf = malloc(T_BUF);
	ck_assert_ptr_nonnull(t_buf);
}

static void
teardown(void)
{
	nexus_destroy(t_nx);
	lun_put(t_lun);
	free(t_buf);
	loops_fini();
}

/* --- running commands --- */

/* Run one command to completion; the caller releases it. */
static void
t_run(struct scsi_cmd *cmd, uint64_t lun_id, const uint8_t *cdb,
    size_t cdb_len, enum scsi_dir dir, void *buf, uint32_t len,
    struct iovec *iov)
{
	iov->iov_base = buf;
	iov->iov_len = len;
	eh_cmd(cmd, t_nx, lun_id, cdb, cdb_len, dir, iov, 1, len);
	eh_exec(cmd);
}

/* Simple no-data command; returns status. */
static uint8_t
t_simple(uint64_t lun_id, const uint8_t *cdb, size_t cdb_len,
    struct scsi_cmd *out)
{
	struct iovec iov;
	struct scsi_cmd cmd;

	t_run(&cmd, lun_id, cdb, cdb_len, SCSI_DIR_IN, t_buf, 4096, &iov);
	if (out != NULL)
		*out = cmd;
	scsi_cmd_release(&cmd);
	return cmd.status;
}

/* Consume the power-on UA. */
static void
t_clear_ua(void)
{
	uint8_t tur[6] = { 0 };
	struct scsi_cmd c;

	t_simple(0, tur, 6, &c);
	ck_assert_sense(&c, SENSE_KEY_UNIT_ATTENTION, 0x29, 0x00);
	t_simple(3, tur, 6, &c);
	ck_assert_sense(&c, SENSE_KEY_UNIT_ATTENTION, 0x29, 0x00);
	t_simple(0, tur, 6, &c);
	ck_assert_good(&c);
	t_simple(3, tur, 6, &c);
	ck_assert_good(&c);
}

/* --- tests --- */

START_TEST(test_power_on_ua)
{
	uint8_t tur[6] = { 0 }, inq[6] = { 0x12, 0, 0, 0, 36, 0 };
	uint8_t rs[6] = { 0x03, 0, 0, 0, 252, 0 };
	struct scsi_cmd c;
	struct iovec iov;
	uint8_t k, a, q;

	/* INQUIRY passes a pending UA through and keeps it */
	t_simple(0, inq, 6, &c);
	ck_assert_good(&c);
	t_simple(0, tur, 6, &c);
	ck_assert_sense(&c, SENSE_KEY_UNIT_ATTENTION, 0x29, 0x00);
	t_simple(0, tur, 6, &c);
	ck_assert_good(&c);
	/* REQUEST SENSE reports and clears the UA of LUN 3 */
	t_run(&c, 3, rs, 6, SCSI_DIR_IN, t_buf, 252, &iov);
	ck_assert_good(&c);
	eh_sense(t_buf, c.xfer_len, &k, &a, &q);
	ck_assert_uint_eq(k, SENSE_KEY_UNIT_ATTENTION);
	ck_assert_uint_eq(a, 0x29);
	scsi_cmd_release(&c);
	t_run(&c, 3, rs, 6, SCSI_DIR_IN, t_buf, 252, &iov);
	ck_assert_good(&c);
	ck_assert_uint_eq(c.xfer_len, 18);
	eh_sense(t_buf, c.xfer_len, &k, &a, &q);
	ck_assert_uint_eq(k, SENSE_KEY_NO_SENSE);
	ck_assert_uint_eq(a, 0);
	scsi_cmd_release(&c);
	/* descriptor format on request */
	rs[1] = 0x01;
	t_run(&c, 3, rs, 6, SCSI_DIR_IN, t_buf, 252, &iov);
	ck_assert_good(&c);
	ck_assert_uint_eq(t_buf[0], 0x72);
	scsi_cmd_release(&c);
	/* UA overflow keeps the queue bounded; duplicates merge */
	for (k = 0; k < 3 * NEXUS_UA_MAX; k++)
		nexus_ua_add(t_nx, t_lun, 0x2a, k);
	nexus_ua_add(t_nx, t_lun, 0x2a, 0);
	for (k = 0; k < NEXUS_UA_MAX; k++)
		ck_assert(nexus_ua_pop(t_nx, 0, &a, &q));
	ck_assert(!nexus_ua_pop(t_nx, 0, &a, &q));
	/* a reset supersedes what is pending */
	nexus_ua_add(t_nx, NULL, 0x2a, 0x01);
	nexus_ua_add(t_nx, NULL, 0x29, 0x03);
	ck_assert(nexus_ua_pop(t_nx, 0, &a, &q));
	ck_assert_uint_eq(a, 0x29);
	ck_assert(!nexus_ua_peek(t_nx, 0, &a, &q));
}
END_TEST

START_TEST(test_all_opcodes)
{
	uint8_t cdb[16];
	struct scsi_cmd c;
	unsigned int op;

	t_clear_ua();
	for (op = 0; op < 256; op++) {
		const struct scsi_op *e = &scsi_ops[op];
		bool supported = e->sa != NULL ? scsi_op_has_sa((uint8_t)op) :
		    e->exec != NULL;

		memset(cdb, 0, sizeof(cdb));
		cdb[0] = (uint8_t)op;
		t_simple(0, cdb, 16, &c);
		if (!supported) {
			ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x20,
			    0x00);
			continue;
		}
		ck_assert_msg(c.status == SAM_STAT_GOOD ||
		    c.sense[12] != 0x20, "opcode %02x unsupported", op);
		/* unmapped LUN: only the three LUN-less commands run */
		t_simple(7, cdb, 16, &c);
		if (op == 0x12 || op == 0x03 || op == 0xa0)
			ck_assert_good(&c);
		else
			ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x25,
			    0x00);
	}
	/* unknown service action: INVALID FIELD byte 1 bit 4 */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x9e;
	cdb[1] = 0x1f;
	t_simple(0, cdb, 16, &c);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	ck_assert_uint_eq(c.sense[15], 0x80 | 0x40 | 0x08 | 4);
	ck_assert_uint_eq(get_be16(c.sense + 16), 1);
	/* an unknown service action of 83h, checked before any gate */
	cdb[0] = 0x83;
	cdb[1] = 0x1f;
	t_simple(0, cdb, 16, &c);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
}
END_TEST

static void
t_reserved_bits(const struct scsi_op *e, unsigned int op, int sa)
{
	uint8_t cdb[SCSI_CDB_MAX];
	struct scsi_cmd cmd;
	struct iovec iov;
	enum sense_reason r;
	unsigned int i, bit;

	for (i = 1; i < e->cdb_len; i++) {
		for (bit = 0; bit < 8; bit++) {
			uint8_t m = (uint8_t)(1u << bit);

			if (e->usage[i] & m)
				continue;
			if (sa >= 0 && i == 1 && (m & SCSI_SA_MASK))
				continue;
			memset(cdb, 0, sizeof(cdb));
			cdb[0] = (uint8_t)op;
			if (sa >= 0)
				cdb[1] = (uint8_t)sa;
			cdb[i] |= m;
			iov.iov_base = t_buf;
			iov.iov_len = 0;
			eh_cmd(&cmd, t_nx, 0, cdb, e->cdb_len, SCSI_DIR_NONE,
			    &iov, 1, 0);
			r = scsi_cmd_prepare(&cmd);
			ck_assert_msg(r == SENSE_INVALID_FIELD_IN_CDB,
			    "%02x/%d byte %u bit %u: reason %d", op, sa, i,
			    bit, r);
			ck_assert(cmd.sd.sks_valid && cmd.sd.sks_cdb &&
			    cmd.sd.sks_bpv);
			ck_assert_uint_eq(cmd.sd.sks_field, i);
			ck_assert_uint_eq(cmd.sd.sks_bit, bit);
			ck_assert(eh_fail(&cmd, r));
			ck_assert_sense(&cmd, SENSE_KEY_ILLEGAL_REQUEST, 0x24,
			    0x00);
			ck_assert_uint_eq(cmd.sense[15], 0xc8 | bit);
			ck_assert_uint_eq(get_be16(cmd.sense + 16), i);
			scsi_cmd_release(&cmd);
		}
	}
}

START_TEST(test_reserved_bits)
{
	unsigned int op, sa;

	t_clear_ua();
	for (op = 0; op < 256; op++) {
		const struct scsi_op *e = &scsi_ops[op];

		if (e->sa == NULL) {
			if (e->exec != NULL)
				t_reserved_bits(e, op, -1);
			continue;
		}
		for (sa = 0; sa < SCSI_SA_COUNT; sa++)
			if (e->sa[sa].exec != NULL)
				t_reserved_bits(&e->sa[sa], op, (int)sa);
	}
}
END_TEST

/* Allocation lengths 0..255 never write past the allocation length. */
static void
t_alloc_sweep(uint8_t evpd, uint8_t page)
{
	uint8_t cdb[6] = { 0x12, evpd, page, 0, 0, 0 };
	struct scsi_cmd c;
	struct iovec iov;
	unsigned int alloc, i;

	for (alloc = 0; alloc < 256; alloc++) {
		memset(t_buf, 0xa5, 512);
		cdb[4] = (uint8_t)alloc;
		/* EDTL larger than the allocation length */
		t_run(&c, 0, cdb, 6, SCSI_DIR_IN, t_buf, 512, &iov);
		ck_assert_good(&c);
		ck_assert_uint_le(c.xfer_len, alloc);
		ck_assert_uint_eq(c.spdtl, c.xfer_len);
		for (i = alloc; i < 512; i++)
			ck_assert_uint_eq(t_buf[i], 0xa5);
		scsi_cmd_release(&c);
		/* EDTL smaller than the allocation length */
		memset(t_buf, 0xa5, 512);
		t_run(&c, 0, cdb, 6, SCSI_DIR_IN, t_buf, alloc / 2, &iov);
		ck_assert_good(&c);
		ck_assert_uint_le(c.xfer_len, alloc / 2);
		for (i = alloc / 2; i < 512; i++)
			ck_assert_uint_eq(t_buf[i], 0xa5);
		scsi_cmd_release(&c);
	}
}

START_TEST(test_inquiry_alloc)
{
	static const uint8_t pages[] = { 0x00, 0x80, 0x83, 0x86, 0xb0, 0xb1,
		0xb2 };
	size_t i;

	t_alloc_sweep(0, 0);
	for (i = 0; i < sizeof(pages); i++)
		t_alloc_sweep(1, pages[i]);
}
END_TEST

static size_t
t_inquiry(uint64_t lun_id, uint8_t evpd, uint8_t page, struct scsi_cmd *c)
{
	uint8_t cdb[6] = { 0x12, evpd, page, 0x10, 0x00, 0 };
	struct iovec iov;
	size_t n;

	t_run(c, lun_id, cdb, 6, SCSI_DIR_IN, t_buf, 4096, &iov);
	n = c->xfer_len;
	scsi_cmd_release(c);
	return n;
}

START_TEST(test_inquiry)
{
	struct scsi_cmd c;
	size_t n, off;
	bool naa = false, rtp = false, tpg = false, name = false;

	n = t_inquiry(0, 0, 0, &c);
	ck_assert_good(&c);
	ck_assert_uint_ge(n, 36);
	ck_assert_uint_eq(t_buf[0], 0x00);
	ck_assert_uint_eq(t_buf[2], 0x06);
	ck_assert_uint_eq(t_buf[3] & 0x1f, 0x12);
	ck_assert_uint_eq(t_buf[4] + 5u, n);
	ck_assert_uint_eq(t_buf[5] & 0x30, 0x10);	/* TPGS 01b */
	/* 3PC follows the command table: set once 83h has entries */
	ck_assert_uint_eq(!!(t_buf[5] & 0x08), scsi_op_has_sa(0x83));
	ck_assert_uint_eq(t_buf[7] & 0x02, 0x02);
	ck_assert(memcmp(t_buf + 8, "TPCD    ", 8) == 0);
	/* unmapped LUN */
	t_inquiry(9, 0, 0, &c);
	ck_assert_good(&c);
	ck_assert_uint_eq(t_buf[0], 0x7f);
	/* page code without EVPD */
	t_inquiry(0, 0, 0x80, &c);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	t_inquiry(0, 1, 0x42, &c);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	/* VPD 00h */
	n = t_inquiry(0, 1, 0x00, &c);
	ck_assert_good(&c);
	ck_assert_uint_eq(t_buf[1], 0x00);
	ck_assert_uint_eq(get_be16(t_buf + 2) + 4u, n);
	ck_assert(memchr(t_buf + 4, 0x83, n - 4) != NULL);
	ck_assert(memchr(t_buf + 4, 0xb0, n - 4) != NULL);
	/* VPD 80h */
	n = t_inquiry(0, 1, 0x80, &c);
	ck_assert_good(&c);
	ck_assert_uint_eq(n - 4, strlen(t_lun->serial));
	ck_assert(memcmp(t_buf + 4, t_lun->serial, n - 4) == 0);
	/* VPD 83h: walk the designators */
	n = t_inquiry(0, 1, 0x83, &c);
	ck_assert_good(&c);
	ck_assert_uint_eq(get_be16(t_buf + 2) + 4u, n);
	for (off = 4; off + 4 <= n; off += 4u + t_buf[off + 3]) {
		uint8_t *d = t_buf + off;

		switch (d[1] & 0x3f) {
		case 0x03:			/* NAA, LU */
			ck_assert_uint_eq(d[3], 16);
			ck_assert_uint_eq(d[4] >> 4, 6);
			ck_assert(memcmp(d + 4, t_lun->naa, 16) == 0);
			naa = true;
			break;
		case 0x14:
			ck_assert_uint_eq(get_be16(d + 6), 1);
			rtp = true;
			break;
		case 0x15:
			ck_assert_uint_eq(get_be16(d + 6), 1);
			tpg = true;
			break;
		case 0x18:
			ck_assert_uint_eq(d[3] % 4, 0);
			ck_assert(strcmp((char *)d + 4,
			    "iqn.2026-11.org.tpcd:tgt,t,0x0001") == 0);
			name = true;
			break;
		}
	}
	ck_assert_uint_eq(off, n);
	ck_assert(naa && rtp && tpg && name);
	/* B0h */
	n = t_inquiry(0, 1, 0xb0, &c);
	ck_assert_uint_eq(n, 64);
	ck_assert_uint_eq(get_be32(t_buf + 8), SBC_MAX_XFER_BYTES / T_BS);
	ck_assert_uint_eq(get_be16(t_buf + 6), 1);
	/* B1h non-rotating, B2h thin */
	t_inquiry(0, 1, 0xb1, &c);
	ck_assert_uint_eq(get_be16(t_buf + 4), 1);
	n = t_inquiry(0, 1, 0xb2, &c);
	ck_assert_uint_eq(n, 8);
	ck_assert_uint_eq(t_buf[6] & 0x07, 2);
	/* EVPD on an unmapped LUN */
	t_inquiry(9, 1, 0x00, &c);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x25, 0x00);
}
END_TEST

/* A front end's lower transfer limit (TCMU: hw_max_sectors) bounds READ,
 * WRITE and MAXIMUM WRITE SAME LENGTH alike. */
START_TEST(test_front_end_limit)
{
	uint8_t ws16[16] = { 0x93, 0x08 };	/* UNMAP=1 */
	uint8_t rd16[16] = { 0x88 };
	struct scsi_cmd c;
	struct iovec iov;

	t_clear_ua();
	ck_assert_uint_eq(sbc_ws_max_blocks(t_lun), SBC_WS_MAX_BYTES / T_BS);
	t_lun->max_xfer_bytes = 64 * T_BS;
	t_inquiry(0, 1, 0xb0, &c);
	ck_assert_good(&c);
	ck_assert_uint_eq(get_be32(t_buf + 8), 64);	/* MTL */
	ck_assert_uint_eq(get_be64(t_buf + 36), 64);	/* MWSL */
	memset(t_buf, 0, T_BS);
	put_be32(ws16 + 10, 65);
	t_run(&c, 0, ws16, 16, SCSI_DIR_OUT, t_buf, T_BS, &iov);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	scsi_cmd_release(&c);
	put_be32(ws16 + 10, 64);
	t_run(&c, 0, ws16, 16, SCSI_DIR_OUT, t_buf, T_BS, &iov);
	ck_assert_good(&c);
	scsi_cmd_release(&c);
	/* what WRITE SAME may cover, one READ may read back */
	put_be32(rd16 + 10, 64);
	t_run(&c, 0, rd16, 16, SCSI_DIR_IN, t_buf, 64 * T_BS, &iov);
	ck_assert_good(&c);
	scsi_cmd_release(&c);
	put_be32(rd16 + 10, 65);
	t_run(&c, 0, rd16, 16, SCSI_DIR_IN, t_buf, 65 * T_BS, &iov);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	scsi_cmd_release(&c);
	t_lun->max_xfer_bytes = 0;
}
END_TEST

START_TEST(test_read_capacity)
{
	uint8_t rc10[10] = { 0x25 }, rc16[16] = { 0x9e, 0x10 };
	struct scsi_cmd c;
	struct iovec iov;

	t_clear_ua();
	t_run(&c, 0, rc10, 10, SCSI_DIR_IN, t_buf, 8, &iov);
	ck_assert_good(&c);
	ck_assert_uint_eq(c.xfer_len, 8);
	ck_assert_uint_eq(get_be32(t_buf), T_BLOCKS - 1);
	ck_assert_uint_eq(get_be32(t_buf + 4), T_BS);
	scsi_cmd_release(&c);
	/* LBA without PMI */
	rc10[5] = 1;
	t_run(&c, 0, rc10, 10, SCSI_DIR_IN, t_buf, 8, &iov);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	scsi_cmd_release(&c);
	put_be32(rc16 + 10, 32);
	t_run(&c, 0, rc16, 16, SCSI_DIR_IN, t_buf, 32, &iov);
	ck_assert_good(&c);
	ck_assert_uint_eq(c.xfer_len, 32);
	ck_assert_uint_eq(get_be64(t_buf), T_BLOCKS - 1);
	ck_assert_uint_eq(get_be32(t_buf + 8), T_BS);
	ck_assert_uint_eq(t_buf[14] & 0xc0, 0xc0);	/* thin: LBPME, LBPRZ */
	scsi_cmd_release(&c);
	/* short allocation length */
	put_be32(rc16 + 10, 12);
	t_run(&c, 0, rc16, 16, SCSI_DIR_IN, t_buf, 32, &iov);
	ck_assert_good(&c);
	ck_assert_uint_eq(c.xfer_len, 12);
	scsi_cmd_release(&c);
}
END_TEST

static uint8_t
t_rw(uint8_t op, uint64_t lba, uint32_t n, void *buf, uint32_t len,
    struct scsi_cmd *out)
{
	uint8_t cdb[16];
	struct iovec iov;
	bool wr = op == 0x0a || op == 0x2a || op == 0xaa || op == 0x8a;
	size_t cl = 16;

	memset(cdb, 0, sizeof(cdb));
	cdb[0] = op;
	switch (op) {
	case 0x08:
	case 0x0a:
		put_be24(cdb + 1, (uint32_t)lba & 0x1fffff);
		cdb[4] = (uint8_t)n;
		cl = 6;
		break;
	case 0x28:
	case 0x2a:
		put_be32(cdb + 2, (uint32_t)lba);
		put_be16(cdb + 7, (uint16_t)n);
		cl = 10;
		break;
	case 0xa8:
	case 0xaa:
		put_be32(cdb + 2, (uint32_t)lba);
		put_be32(cdb + 6, n);
		cl = 12;
		break;
	default:
		put_be64(cdb + 2, lba);
		put_be32(cdb + 10, n);
		break;
	}
	t_run(out, 0, cdb, cl, wr ? SCSI_DIR_OUT : SCSI_DIR_IN, buf, len,
	    &iov);
	scsi_cmd_release(out);
	return out->status;
}

START_TEST(test_read_write)
{
	static const uint8_t rd[] = { 0x08, 0x28, 0xa8, 0x88 };
	static const uint8_t wr[] = { 0x0a, 0x2a, 0xaa, 0x8a };
	uint8_t *in = t_buf + T_BUF / 2;
	struct scsi_cmd c;
	size_t i, j;

	t_clear_ua();
	for (i = 0; i < 4; i++) {
		for (j = 0; j < 8 * T_BS; j++)
			t_buf[j] = (uint8_t)(j * 7 + i);
		t_rw(wr[i], 100 + i, 8, t_buf, 8 * T_BS, &c);
		ck_assert_good(&c);
		ck_assert_uint_eq(c.xfer_len, 8 * T_BS);
		memset(in, 0, 8 * T_BS);
		t_rw(rd[(i + 1) % 4], 100 + i, 8, in, 8 * T_BS, &c);
		ck_assert_good(&c);
		ck_assert_uint_eq(c.xfer_len, 8 * T_BS);
		ck_assert(memcmp(in, t_buf, 8 * T_BS) == 0);
	}
	/* READ(6) with 0 means 256 blocks */
	t_rw(0x08, 0, 0, t_buf, 256 * T_BS, &c);
	ck_assert_good(&c);
	ck_assert_uint_eq(c.spdtl, 256 * T_BS);
	ck_assert_uint_eq(c.xfer_len, 256 * T_BS);
	/* 0 blocks: nothing moves */
	t_rw(0x28, 5, 0, t_buf, 0, &c);
	ck_assert_good(&c);
	ck_assert_uint_eq(c.xfer_len, 0);
	/* last block ok, one past is out of range */
	t_rw(0x28, T_BLOCKS - 1, 1, t_buf, T_BS, &c);
	ck_assert_good(&c);
	t_rw(0x28, T_BLOCKS, 1, t_buf, T_BS, &c);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x21, 0x00);
	t_rw(0x28, T_BLOCKS, 0, t_buf, 0, &c);
	ck_assert_good(&c);
	t_rw(0x28, T_BLOCKS + 1, 0, t_buf, 0, &c);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x21, 0x00);
	t_rw(0x28, 0xffffffff, 1, t_buf, T_BS, &c);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x21, 0x00);
	/* 64-bit wrap-around */
	t_rw(0x88, UINT64_MAX, 2, t_buf, 2 * T_BS, &c);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x21, 0x00);
	t_rw(0x8a, UINT64_MAX - 1, 4, t_buf, 4 * T_BS, &c);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x21, 0x00);
	t_rw(0x88, 0, T_BLOCKS + 1, t_buf, T_BS, &c);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x21, 0x00);
	/* over the maximum transfer length */
	t_rw(0x88, 0, SBC_MAX_XFER_BYTES / T_BS + 1, t_buf, T_BS, &c);
	ck_assert_uint_ne(c.status, SAM_STAT_GOOD);
}
END_TEST

/* What libiscsi's Write10Residuals / Read10Residuals expect. */
START_TEST(test_residuals)
{
	struct scsi_cmd c;
	uint8_t *in = t_buf + T_BUF / 2;

	t_clear_ua();
	memset(t_buf, 'a', 2 * T_BS);
	t_rw(0x2a, 10, 2, t_buf, 2 * T_BS, &c);
	ck_assert_good(&c);
	/* EDTL 200 < SPDTL 512: write 200 bytes only, overflow */
	memset(t_buf, 'b', 200);
	t_rw(0x2a, 10, 1, t_buf, 200, &c);
	ck_assert_good(&c);
	ck_assert_uint_eq(c.xfer_len, 200);
	ck_assert_uint_eq(c.spdtl, T_BS);
	t_rw(0x28, 10, 2, in, 2 * T_BS, &c);
	ck_assert(in[199] == 'b' && in[200] == 'a' && in[T_BS] == 'a');
	/* EDTL 0 */
	t_rw(0x2a, 10, 1, NULL, 0, &c);
	ck_assert_good(&c);
	ck_assert_uint_eq(c.xfer_len, 0);
	ck_assert_uint_eq(c.spdtl, T_BS);
	/* EDTL > SPDTL: write one block only, underflow */
	memset(t_buf, 'c', 2 * T_BS);
	t_rw(0x2a, 10, 1, t_buf, 2 * T_BS, &c);
	ck_assert_good(&c);
	ck_assert_uint_eq(c.xfer_len, T_BS);
	t_rw(0x28, 10, 2, in, 2 * T_BS, &c);
	ck_assert(in[T_BS - 1] == 'c' && in[T_BS] == 'a');
	/* READ with EDTL < SPDTL */
	memset(in, 0, 2 * T_BS);
	t_rw(0x28, 10, 2, in, 100, &c);
	ck_assert_good(&c);
	ck_assert_uint_eq(c.xfer_len, 100);
	ck_assert_uint_eq(c.spdtl, 2 * T_BS);
	ck_assert(in[99] == 'c' && in[100] == 0);
}
END_TEST

START_TEST(test_write_protect)
{
	uint8_t cdb[10] = { 0x2a, 0, 0, 0, 0, 1, 0, 0, 1, 0 };
	uint8_t rd[10] = { 0x28, 0, 0, 0, 0, 1, 0, 0, 1, 0 };
	uint8_t ms[10] = { 0x5a, 0x08, 0x3f, 0, 0, 0, 0, 0x10, 0, 0 };
	struct scsi_cmd c;
	struct iovec iov;

	t_clear_ua();
	t_run(&c, 3, cdb, 10, SCSI_DIR_OUT, t_buf, T_BS, &iov);
	ck_assert_sense(&c, SENSE_KEY_DATA_PROTECT, 0x27, 0x00);
	scsi_cmd_release(&c);
	t_run(&c, 3, rd, 10, SCSI_DIR_IN, t_buf, T_BS, &iov);
	ck_assert_good(&c);
	scsi_cmd_release(&c);
	/* MODE SENSE reports WP on LUN 3, not on LUN 0 */
	t_run(&c, 3, ms, 10, SCSI_DIR_IN, t_buf, 4096, &iov);
	ck_assert_good(&c);
	ck_assert_uint_eq(t_buf[3] & 0x80, 0x80);
	scsi_cmd_release(&c);
	t_run(&c, 0, ms, 10, SCSI_DIR_IN, t_buf, 4096, &iov);
	ck_assert_uint_eq(t_buf[3] & 0x80, 0);
	scsi_cmd_release(&c);
	t_run(&c, 0, cdb, 10, SCSI_DIR_OUT, t_buf, T_BS, &iov);
	ck_assert_good(&c);
	scsi_cmd_release(&c);
}
END_TEST

static size_t
t_mode_sense(bool six, uint8_t dbd_llbaa, uint8_t pcpage, uint8_t sub,
    struct scsi_cmd *c)
{
	uint8_t cdb[10];
	struct iovec iov;

	memset(cdb, 0, sizeof(cdb));
	cdb[0] = six ? 0x1a : 0x5a;
	cdb[1] = dbd_llbaa;
	cdb[2] = pcpage;
	cdb[3] = sub;
	if (six)
		cdb[4] = 0xff;
	else
		put_be16(cdb + 7, 1024);
	t_run(c, 0, cdb, six ? 6 : 10, SCSI_DIR_IN, t_buf, 1024, &iov);
	scsi_cmd_release(c);
	return c->xfer_len;
}

/* Find page pg in a MODE SENSE response. */
static uint8_t *
t_find_page(bool six, size_t n, uint8_t pg)
{
	size_t off = six ? 4u + t_buf[3] : 8u + get_be16(t_buf + 6);

	while (off + 2 <= n) {
		if ((t_buf[off] & 0x3f) == pg)
			return t_buf + off;
		off += 2u + t_buf[off + 1];
	}
	return NULL;
}

START_TEST(test_mode_sense)
{
	struct scsi_cmd c;
	uint8_t *p;
	size_t n;

	t_clear_ua();
	n = t_mode_sense(true, 0, 0x3f, 0, &c);
	ck_assert_good(&c);
	ck_assert_uint_eq(t_buf[0] + 1u, n);
	ck_assert_uint_eq(t_buf[3], 8);
	ck_assert_uint_eq(get_be24(t_buf + 4 + 5), T_BS);
	ck_assert_uint_eq(get_be32(t_buf + 4), T_BLOCKS);
	p = t_find_page(true, n, 0x08);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p[1], 0x12);
	ck_assert_uint_eq(p[2] & 0x04, 0x04);		/* WCE */
	ck_assert_ptr_nonnull(t_find_page(true, n, 0x0a));
	ck_assert_ptr_nonnull(t_find_page(true, n, 0x1c));
	/* DBD, one page */
	n = t_mode_sense(true, 0x08, 0x0a, 0, &c);
	ck_assert_uint_eq(t_buf[3], 0);
	ck_assert_uint_eq(n, 4 + 12);
	/* LLBAA long descriptor */
	n = t_mode_sense(false, 0x10, 0x08, 0, &c);
	ck_assert_good(&c);
	ck_assert_uint_eq(get_be16(t_buf + 6), 16);
	ck_assert_uint_eq(t_buf[4] & 1, 1);
	ck_assert_uint_eq(get_be64(t_buf + 8), T_BLOCKS);
	ck_assert_uint_eq(get_be16(t_buf) + 2u, n);
	/* changeable, default, saved */
	n = t_mode_sense(false, 0x08, 0x40 | 0x0a, 0, &c);
	p = t_find_page(false, n, 0x0a);
	ck_assert_uint_eq(p[2], 0x04);
	ck_assert_uint_eq(p[4], 0x08);
	t_mode_sense(false, 0x08, 0x80 | 0x3f, 0, &c);
	ck_assert_good(&c);
	t_mode_sense(false, 0x08, 0xc0 | 0x3f, 0, &c);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x39, 0x00);
	/* unknown page and subpage */
	t_mode_sense(true, 0, 0x19, 0, &c);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	t_mode_sense(true, 0, 0x0a, 0x01, &c);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	n = t_mode_sense(true, 0, 0x3f, 0xff, &c);
	ck_assert_good(&c);
}
END_TEST

START_TEST(test_mode_select)
{
	uint8_t sel[6] = { 0x15, 0x10, 0, 0, 0, 0 };
	uint8_t wr[10] = { 0x2a, 0, 0, 0, 0, 1, 0, 0, 1, 0 };
	uint8_t par[4 + 12];
	struct scsi_cmd c;
	struct iovec iov;
	uint8_t *p;
	size_t n;

	t_clear_ua();
	n = t_mode_sense(true, 0x08, 0x0a, 0, &c);
	ck_assert_uint_eq(n, sizeof(par));
	memcpy(par, t_buf, n);
	par[0] = 0;
	par[4 + 2] |= 0x04;			/* D_SENSE */
	par[4 + 4] |= 0x08;			/* SWP */
	sel[4] = sizeof(par);
	t_run(&c, 0, sel, 6, SCSI_DIR_OUT, par, sizeof(par), &iov);
	ck_assert_good(&c);
	scsi_cmd_release(&c);
	/* writes now fail, in descriptor format */
	t_run(&c, 0, wr, 10, SCSI_DIR_OUT, t_buf, T_BS, &iov);
	ck_assert_uint_eq(c.sense[0], 0x72);
	/* SBC-4 4.11: software write protect is 27/02 */
	ck_assert_sense(&c, SENSE_KEY_DATA_PROTECT, 0x27, 0x02);
	scsi_cmd_release(&c);
	n = t_mode_sense(true, 0, 0x3f, 0, &c);
	ck_assert_uint_eq(t_buf[2] & 0x80, 0x80);
	p = t_find_page(true, n, 0x0a);
	ck_assert_uint_eq(p[2] & 0x04, 0x04);
	/* a non-changeable bit is refused with a parameter pointer */
	par[4 + 2] &= (uint8_t)~0x04;
	par[4 + 4] &= (uint8_t)~0x08;
	par[4 + 3] ^= 0x01;
	t_run(&c, 0, sel, 6, SCSI_DIR_OUT, par, sizeof(par), &iov);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x26, 0x00);
	scsi_cmd_release(&c);
	par[4 + 3] ^= 0x01;
	t_run(&c, 0, sel, 6, SCSI_DIR_OUT, par, sizeof(par), &iov);
	ck_assert_good(&c);
	scsi_cmd_release(&c);
	t_run(&c, 0, wr, 10, SCSI_DIR_OUT, t_buf, T_BS, &iov);
	ck_assert_good(&c);
	scsi_cmd_release(&c);
	/* SP is not supported; short data is a length error */
	sel[1] = 0x11;
	t_run(&c, 0, sel, 6, SCSI_DIR_OUT, par, sizeof(par), &iov);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	scsi_cmd_release(&c);
	sel[1] = 0x10;
	t_run(&c, 0, sel, 6, SCSI_DIR_OUT, par, 8, &iov);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x1a, 0x00);
	scsi_cmd_release(&c);
}
END_TEST

START_TEST(test_rsoc)
{
	uint8_t cdb[12] = { 0xa3, 0x0c };
	struct scsi_cmd c;
	struct iovec iov;
	size_t n, off, count = 0;

	t_clear_ua();
	put_be32(cdb + 6, T_BUF);
	t_run(&c, 0, cdb, 12, SCSI_DIR_IN, t_buf, T_BUF, &iov);
	ck_assert_good(&c);
	n = c.xfer_len;
	scsi_cmd_release(&c);
	ck_assert_uint_eq(get_be32(t_buf) + 4u, n);
	for (off = 4; off + 8 <= n; off += 8) {
		uint8_t op = t_buf[off];
		const struct scsi_op *e = &scsi_ops[op];

		if (t_buf[off + 5] & 0x01) {
			ck_assert_ptr_nonnull(e->sa);
			e = &e->sa[get_be16(t_buf + off + 2)];
		}
		ck_assert_ptr_nonnull(e->exec);
		ck_assert_uint_eq(get_be16(t_buf + off + 6), e->cdb_len);
		count++;
	}
	ck_assert_uint_eq(off, n);
	ck_assert_uint_ge(count, 20);
	/* with timeouts descriptors */
	cdb[2] = 0x80;
	t_run(&c, 0, cdb, 12, SCSI_DIR_IN, t_buf, T_BUF, &iov);
	ck_assert_good(&c);
	ck_assert_uint_eq(c.xfer_len, 4 + count * 20);
	ck_assert_uint_eq(get_be16(t_buf + 4 + 8), 0x0a);
	scsi_cmd_release(&c);
	/* one command: READ(10) */
	cdb[2] = 0x01;
	cdb[3] = 0x28;
	t_run(&c, 0, cdb, 12, SCSI_DIR_IN, t_buf, T_BUF, &iov);
	ck_assert_good(&c);
	ck_assert_uint_eq(t_buf[1] & 0x07, 0x03);
	ck_assert_uint_eq(get_be16(t_buf + 2), 10);
	ck_assert_uint_eq(t_buf[4], 0x28);
	ck_assert_uint_eq(t_buf[5], 0x1c);
	ck_assert_uint_eq(c.xfer_len, 14);
	scsi_cmd_release(&c);
	/* unsupported opcode */
	cdb[3] = 0x02;
	t_run(&c, 0, cdb, 12, SCSI_DIR_IN, t_buf, T_BUF, &iov);
	ck_assert_good(&c);
	ck_assert_uint_eq(t_buf[1] & 0x07, 0x01);
	scsi_cmd_release(&c);
	/* SA opcode with reporting option 1 is an error */
	cdb[3] = 0x9e;
	t_run(&c, 0, cdb, 12, SCSI_DIR_IN, t_buf, T_BUF, &iov);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	scsi_cmd_release(&c);
	/* one command + SA: READ CAPACITY(16) */
	cdb[2] = 0x82;
	put_be16(cdb + 4, 0x10);
	t_run(&c, 0, cdb, 12, SCSI_DIR_IN, t_buf, T_BUF, &iov);
	ck_assert_good(&c);
	ck_assert_uint_eq(t_buf[1], 0x83);
	ck_assert_uint_eq(t_buf[4], 0x9e);
	ck_assert_uint_eq(t_buf[5], 0x10);
	ck_assert_uint_eq(c.xfer_len, 4 + 16 + 12);
	scsi_cmd_release(&c);
	/* REPORT SUPPORTED TMFs */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0xa3;
	cdb[1] = 0x0d;
	cdb[2] = 0x80;
	put_be32(cdb + 6, 16);
	t_run(&c, 0, cdb, 12, SCSI_DIR_IN, t_buf, 16, &iov);
	ck_assert_good(&c);
	ck_assert_uint_eq(c.xfer_len, 16);
	ck_assert_uint_eq(t_buf[0] & 0x08, 0x08);	/* LU reset */
	scsi_cmd_release(&c);
	/* REPORT TARGET PORT GROUPS */
	cdb[1] = 0x0a;
	cdb[2] = 0;
	put_be32(cdb + 6, 64);
	t_run(&c, 0, cdb, 12, SCSI_DIR_IN, t_buf, 64, &iov);
	ck_assert_good(&c);
	ck_assert_uint_eq(c.xfer_len, 16);
	ck_assert_uint_eq(get_be16(t_buf + 4 + 2), 1);
	ck_assert_uint_eq(t_buf[4 + 7], 1);
	scsi_cmd_release(&c);
}
END_TEST

START_TEST(test_report_luns)
{
	uint8_t cdb[12] = { 0xa0 };
	struct scsi_cmd c;
	struct iovec iov;

	put_be32(cdb + 6, 4096);
	/* works on an unmapped LUN and with a UA pending */
	t_run(&c, 5, cdb, 12, SCSI_DIR_IN, t_buf, 4096, &iov);
	ck_assert_good(&c);
	ck_assert_uint_eq(c.xfer_len, 8 + 16);
	ck_assert_uint_eq(get_be32(t_buf), 16);
	ck_assert_uint_eq(scsi_lun_decode(t_buf + 8), 0);
	ck_assert_uint_eq(scsi_lun_decode(t_buf + 16), 3);
	scsi_cmd_release(&c);
	cdb[2] = 1;
	t_run(&c, 0, cdb, 12, SCSI_DIR_IN, t_buf, 4096, &iov);
	ck_assert_good(&c);
	ck_assert_uint_eq(get_be32(t_buf), 0);
	scsi_cmd_release(&c);
	/* clears 3F/0E on every LUN of the nexus, keeps others */
	nexus_ua_add(t_nx, NULL, 0x3f, 0x0e);
	nexus_ua_add(t_nx, NULL, 0x2a, 0x01);
	t_run(&c, 7, cdb, 12, SCSI_DIR_IN, t_buf, 4096, &iov);
	ck_assert_good(&c);
	scsi_cmd_release(&c);
	{
		uint8_t asc, ascq;

		ck_assert(nexus_ua_pop(t_nx, 3, &asc, &ascq));
		ck_assert_uint_ne(asc, 0x3f);
	}
	cdb[2] = 3;
	t_run(&c, 0, cdb, 12, SCSI_DIR_IN, t_buf, 4096, &iov);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
	scsi_cmd_release(&c);
}
END_TEST

START_TEST(test_sync_cache)
{
	uint8_t sc10[10] = { 0x35 }, sc16[16] = { 0x91, 0x02 };
	struct scsi_cmd c;

	t_clear_ua();
	t_simple(0, sc10, 10, &c);
	ck_assert_good(&c);
	t_simple(0, sc16, 16, &c);
	ck_assert_good(&c);
	put_be32(sc10 + 2, T_BLOCKS + 1);
	t_simple(0, sc10, 10, &c);
	ck_assert_sense(&c, SENSE_KEY_ILLEGAL_REQUEST, 0x21, 0x00);
	/* a waited flush after the detached IMMED one lets both finish */
	put_be32(sc10 + 2, 0);
	t_simple(0, sc10, 10, &c);
	ck_assert_good(&c);
}
END_TEST

START_TEST(test_io_errors)
{
	struct scsi_cmd c;

	t_clear_ua();
	backstore_inject_error(t_lun->bs, 1, -EIO);
	t_rw(0x28, 7, 1, t_buf, T_BS, &c);
	ck_assert_sense(&c, SENSE_KEY_MEDIUM_ERROR, 0x11, 0x00);
	ck_assert_uint_eq(c.sense[0], 0xf0);		/* VALID */
	ck_assert_uint_eq(get_be32(c.sense + 3), 7);
	backstore_inject_error(t_lun->bs, 1, -EIO);
	t_rw(0x2a, 7, 1, t_buf, T_BS, &c);
	ck_assert_sense(&c, SENSE_KEY_MEDIUM_ERROR, 0x0c, 0x00);
	backstore_inject_error(t_lun->bs, 1, -ENOSPC);
	t_rw(0x2a, 7, 1, t_buf, T_BS, &c);
	ck_assert_sense(&c, SENSE_KEY_DATA_PROTECT, 0x27, 0x07);
	backstore_inject_error(t_lun->bs, 1, -ENOMEM);
	t_rw(0x2a, 7, 1, t_buf, T_BS, &c);
	ck_assert_uint_eq(c.status, SAM_STAT_BUSY);
	ck_assert_uint_eq(c.sense_len, 0);
	backstore_inject_error(t_lun->bs, 0, 0);
	t_rw(0x2a, 7, 1, t_buf, T_BS, &c);
	ck_assert_good(&c);
}
END_TEST

START_TEST(test_sense_format)
{
	struct sense_detail sd;
	uint8_t b[SCSI_SENSE_MAX], st, n;

	memset(&sd, 0, sizeof(sd));
	n = sense_build(SENSE_LBA_OUT_OF_RANGE, &sd, false, b, sizeof(b), &st);
	ck_assert_uint_eq(st, SAM_STAT_CHECK_CONDITION);
	ck_assert_uint_eq(n, 18);
	ck_assert_uint_eq(b[0], 0x70);
	ck_assert_uint_eq(b[2], SENSE_KEY_ILLEGAL_REQUEST);
	ck_assert_uint_eq(b[7], 10);
	ck_assert_uint_eq(b[12], 0x21);
	ck_assert_uint_eq(b[15], 0);
	n = sense_build(SENSE_LBA_OUT_OF_RANGE, &sd, true, b, sizeof(b), &st);
	ck_assert_uint_eq(n, 8);
	ck_assert_uint_eq(b[0], 0x72);
	ck_assert_uint_eq(b[1], SENSE_KEY_ILLEGAL_REQUEST);
	ck_assert_uint_eq(b[2], 0x21);
	ck_assert_uint_eq(b[7], 0);
	/* information + field pointer */
	sd.info_valid = true;
	sd.info = 0x123456789ull;
	sd.sks_valid = true;
	sd.sks_cdb = true;
	sd.sks_field = 7;
	n = sense_build(SENSE_INVALID_FIELD_IN_CDB, &sd, true, b, sizeof(b),
	    &st);
	ck_assert_uint_eq(n, 8 + 12 + 8);
	ck_assert_uint_eq(b[8], 0x00);
	ck_assert_uint_eq(b[10], 0x80);
	ck_assert_uint_eq(get_be64(b + 12), 0x123456789ull);
	ck_assert_uint_eq(b[20], 0x02);
	ck_assert_uint_eq(b[24], 0xc0);
	ck_assert_uint_eq(get_be16(b + 25), 7);
	/* fixed: INFORMATION does not fit 32 bits -> not VALID */
	n = sense_build(SENSE_INVALID_FIELD_IN_CDB, &sd, false, b, sizeof(b),
	    &st);
	ck_assert_uint_eq(b[0], 0x70);
	ck_assert_uint_eq(b[15], 0xc0);
	sd.info = 5;
	sense_build(SENSE_INVALID_FIELD_IN_CDB, &sd, false, b, sizeof(b), &st);
	ck_assert_uint_eq(b[0], 0xf0);
	ck_assert_uint_eq(get_be32(b + 3), 5);
	/* truncated buffer */
	n = sense_build(SENSE_INVALID_FIELD_IN_CDB, &sd, false, b, 8, &st);
	ck_assert_uint_eq(n, 8);
	/* status-only reasons */
	n = sense_build(SENSE_RESERVATION_CONFLICT, &sd, false, b, sizeof(b),
	    &st);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(st, SAM_STAT_RESERVATION_CONFLICT);
	n = sense_build(SENSE_OK, &sd, false, b, sizeof(b), &st);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(st, SAM_STAT_GOOD);
	/* unknown reasons become HARDWARE ERROR */
	sense_build((enum sense_reason)200, NULL, false, b, sizeof(b), &st);
	ck_assert_uint_eq(b[2], SENSE_KEY_HARDWARE_ERROR);
	ck_assert_uint_eq(b[12], 0x44);
	/* errno mapping */
	ck_assert_int_eq(sense_from_errno(-EIO, false), SENSE_READ_ERROR);
	ck_assert_int_eq(sense_from_errno(-EIO, true), SENSE_WRITE_ERROR);
	ck_assert_int_eq(sense_from_errno(-ENOSPC, true),
	    SENSE_SPACE_ALLOC_FAILED_WP);
	ck_assert_int_eq(sense_from_errno(-EAGAIN, true), SENSE_BUSY);
	ck_assert_int_eq(sense_from_errno(-ENOMEM, true), SENSE_BUSY);
	ck_assert_int_eq(sense_from_errno(-EROFS, true),
	    SENSE_WRITE_PROTECTED);
	ck_assert_int_eq(sense_from_errno(-EBADF, true),
	    SENSE_INTERNAL_TARGET_FAILURE);
}
END_TEST

START_TEST(test_lun_codec)
{
	static const uint64_t ids[] = { 0, 1, 255, 256, 0x3fff, 0x4000,
		0xffffff };
	uint8_t l[8];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ids); i++) {
		scsi_lun_encode(ids[i], l);
		ck_assert_uint_eq(scsi_lun_decode(l), ids[i]);
	}
	scsi_lun_encode(5, l);
	ck_assert_uint_eq(l[0], 0);
	ck_assert_uint_eq(l[1], 5);
	scsi_lun_encode(300, l);
	ck_assert_uint_eq(l[0], 0x41);
	memset(l, 0, 8);
	l[0] = 0x01;			/* bus 1 */
	ck_assert_uint_eq(scsi_lun_decode(l), SCSI_LUN_INVALID);
	memset(l, 0, 8);
	l[3] = 1;			/* second level */
	ck_assert_uint_eq(scsi_lun_decode(l), SCSI_LUN_INVALID);
	l[0] = 0x80;
	l[3] = 0;
	ck_assert_uint_eq(scsi_lun_decode(l), SCSI_LUN_INVALID);
	/* identity is stable and distinct */
	{
		struct conf_storage cs = t_storage();
		struct lun *other;

		cs.wwn = (char *)"another-wwn";
		other = lun_create(&cs, t_lun->bs);
		ck_assert_ptr_nonnull(other);
		ck_assert(memcmp(other->naa, t_lun->naa, 16) != 0);
		ck_assert_uint_eq(other->naa[0] >> 4, 6);
		ck_assert_str_eq(other->serial, "another-wwn");
		lun_put(other);
	}
	ck_assert_int_eq(scsi_tmf_effects(t_nx, SCSI_TMF_LUN_RESET, 42),
	    -ENOENT);
}
END_TEST


/* Random CDBs for every supported opcode, random buffer sizes and
 * directions: nothing may crash, overrun (ASan) or hang, and every command
 * ends with a status. */
START_TEST(test_random_cdbs)
{
	uint8_t cdb[16], ops[256];
	unsigned int n_ops = 0, i, op;
	struct scsi_cmd c;
	struct iovec iov;
	uint32_t len;

	srandom(1234);
	for (op = 0; op < 256; op++)
		if (scsi_ops[op].exec != NULL || scsi_op_has_sa((uint8_t)op))
			ops[n_ops++] = (uint8_t)op;
	for (i = 0; i < 20000; i++) {
		size_t j;

		for (j = 0; j < sizeof(cdb); j++)
			cdb[j] = (uint8_t)random();
		cdb[0] = ops[(unsigned int)random() % n_ops];
		/* mostly valid: clear reserved bits half of the time */
		if (random() & 1) {
			const struct scsi_op *e = &scsi_ops[cdb[0]];

			if (e->sa != NULL)
				e = &e->sa[cdb[1] & SCSI_SA_MASK];
			for (j = 1; j < sizeof(cdb); j++)
				cdb[j] &= (uint8_t)(e->usage[j] |
				    (j == 1 && scsi_ops[cdb[0]].sa ? 0x1f : 0));
		}
		len = (uint32_t)random() % 4097;
		t_run(&c, (uint64_t)random() % 4, cdb, sizeof(cdb),
		    (enum scsi_dir)(random() % 3), t_buf, len, &iov);
		ck_assert_uint_le(c.xfer_len, len);
		ck_assert(c.status == SAM_STAT_GOOD ||
		    c.status == SAM_STAT_CHECK_CONDITION ||
		    c.status == SAM_STAT_CONDITION_MET ||
		    c.status == SAM_STAT_RESERVATION_CONFLICT ||
		    c.status == SAM_STAT_BUSY);
		scsi_cmd_release(&c);
	}
}
END_TEST

/* Unit attentions across nexuses through the target registry: LUN reset,
 * target reset, MODE SELECT. */
static const char reg_json[] =
"{\"storage_objects\":["
" {\"plugin\":\"mem\",\"name\":\"m0\",\"size\":\"1M\"}],"
" \"targets\":[{\"fabric\":\"iscsi\",\"wwn\":\"iqn.2026-11.t:a\","
"  \"tpgs\":[{\"tag\":1,"
"  \"portals\":[{\"ip_address\":\"127.0.0.1\",\"port\":3260}],"
"  \"attributes\":{\"generate_node_acls\":1},"
"  \"luns\":[{\"index\":0,\"storage_object\":\"/backstores/mem/m0\"}]"
"  }]}]}";

static void
t_drain_ua(struct scsi_nexus *nx, uint8_t want_asc, uint8_t want_ascq)
{
	uint8_t asc, ascq;
	bool seen = false;

	while (nexus_ua_pop(nx, 0, &asc, &ascq))
		if (asc == want_asc && ascq == want_ascq)
			seen = true;
	ck_assert_msg(seen, "UA %02x/%02x not pending", want_asc, want_ascq);
}

START_TEST(test_registry_uas)
{
	static const uint8_t isid[6] = { 0x80, 0, 0, 0, 0, 1 };
	uint8_t sel[6] = { 0x15, 0x10, 0, 0, 16, 0 };
	struct scsi_nexus *n1, *n2, *saved;
	struct conf *conf;
	struct scsi_cmd c;
	struct iovec iov;
	uint8_t par[16], asc, ascq;
	char *err = NULL;

	ck_assert_int_eq(loops_init(1), 0);
	scsi_init();
	conf = conf_parse(reg_json, "x.json", &err);
	ck_assert_msg(conf != NULL, "%s", err != NULL ? err : "");
	ck_assert_int_eq(target_apply(conf, &err), 0);
	conf_free(conf);
	n1 = nexus_create("iqn.2026-11.i:one", isid, "iqn.2026-11.t:a", 1);
	n2 = nexus_create("iqn.2026-11.i:two", isid, "iqn.2026-11.t:a", 1);
	ck_assert_int_eq(target_nexus_register(n1), 0);
	ck_assert_int_eq(target_nexus_register(n2), 0);
	ck_assert_uint_eq(n1->n_luns, 1);
	t_drain_ua(n1, 0x29, 0x00);
	t_drain_ua(n2, 0x29, 0x00);

	ck_assert_int_eq(scsi_tmf_effects(n1, SCSI_TMF_LUN_RESET, 0), 0);
	t_drain_ua(n1, 0x29, 0x03);
	t_drain_ua(n2, 0x29, 0x03);
	ck_assert_int_eq(scsi_tmf_effects(n1, SCSI_TMF_LUN_RESET, 1),
	    -ENOENT);
	ck_assert_int_eq(scsi_tmf_effects(n2, SCSI_TMF_TARGET_WARM_RESET, 0),
	    0);
	t_drain_ua(n1, 0x29, 0x03);
	t_drain_ua(n2, 0x29, 0x03);
	ck_assert_int_eq(scsi_tmf_effects(n2, SCSI_TMF_TARGET_COLD_RESET, 0),
	    0);
	t_drain_ua(n1, 0x29, 0x01);
	t_drain_ua(n2, 0x29, 0x01);

	/* MODE SELECT on n1 (turn D_SENSE on): 2A/01 for n2 only */
	memset(par, 0, sizeof(par));
	par[4] = 0x0a;
	par[5] = 0x0a;
	par[6] = 0x04;
	par[7] = 0x10;
	par[9] = 0x40;
	put_be16(par + 4 + 8, 0xffff);
	saved = t_nx;
	t_nx = n1;
	t_run(&c, 0, sel, 6, SCSI_DIR_OUT, par, sizeof(par), &iov);
	t_nx = saved;
	ck_assert_good(&c);
	scsi_cmd_release(&c);
	ck_assert(!nexus_ua_peek(n1, 0, &asc, &ascq));
	ck_assert(nexus_ua_pop(n2, 0, &asc, &ascq));
	ck_assert_uint_eq(asc, 0x2a);
	ck_assert_uint_eq(ascq, 0x01);

	target_nexus_unregister(n1);
	target_nexus_unregister(n2);
	nexus_destroy(n1);
	nexus_destroy(n2);
	target_shutdown();
	loops_fini();
}
END_TEST

static Suite *
scsi_suite(void)
{
	Suite *s = suite_create("scsi");
	TCase *tc = tcase_create("engine");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_power_on_ua);
	tcase_add_test(tc, test_all_opcodes);
	tcase_add_test(tc, test_reserved_bits);
	tcase_add_test(tc, test_inquiry_alloc);
	tcase_add_test(tc, test_inquiry);
	tcase_add_test(tc, test_read_capacity);
	tcase_add_test(tc, test_front_end_limit);
	tcase_add_test(tc, test_read_write);
	tcase_add_test(tc, test_residuals);
	tcase_add_test(tc, test_write_protect);
	tcase_add_test(tc, test_mode_sense);
	tcase_add_test(tc, test_mode_select);
	tcase_add_test(tc, test_rsoc);
	tcase_add_test(tc, test_report_luns);
	tcase_add_test(tc, test_sync_cache);
	tcase_add_test(tc, test_io_errors);
	tcase_add_test(tc, test_sense_format);
	tcase_add_test(tc, test_lun_codec);
	tcase_add_test(tc, test_random_cdbs);
	suite_add_tcase(s, tc);
	tc = tcase_create("registry");
	tcase_add_test(tc, test_registry_uas);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(scsi_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
