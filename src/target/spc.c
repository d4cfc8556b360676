/*
 * spc.c - primary commands (SPC-4): TEST UNIT READY, REQUEST SENSE,
 * INQUIRY with its VPD pages, REPORT LUNS, MODE SENSE/SELECT, REPORT
 * SUPPORTED OPERATION CODES (generated from the command table), REPORT
 * SUPPORTED TASK MANAGEMENT FUNCTIONS and REPORT TARGET PORT GROUPS.
 *
 * Handlers build their response in a flat buffer and hand it to
 * scsi_cmd_data_in() cut to the allocation length; CDB reserved bits were
 * already checked by dispatch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backstore.h"
#include "lun.h"
#include "scsi_int.h"
#include "target.h"
#include "util.h"
#include "xcopy/xcopy.h"

#define SPC_BUF		2048	/* largest INQUIRY response */

/* T10 version descriptors (SPC-4 table 31) */
#define VD_SAM5		0x00a0
#define VD_SPC4		0x0460
#define VD_SBC3		0x04c0
#define VD_ISCSI	0x0960

static void
spc_put_str(uint8_t *dst, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = (s != NULL && *s != '\0') ? (uint8_t)*s++ : ' ';
}

static uint16_t
spc_port_group_id(const struct scsi_nexus *nx)
{
	return nx != NULL && nx->tpg_tag != 0 ? nx->tpg_tag : 1;
}

static uint16_t
spc_rel_port_id(const struct scsi_nexus *nx)
{
	return nx != NULL && nx->rel_port_id != 0 ? nx->rel_port_id : 1;
}

enum sense_reason
spc_test_unit_ready(struct scsi_cmd *cmd)
{
	(void)cmd;
	return SENSE_OK;
}

/* SPC-4 6.39: the pending UA if any (and clear it), else NO SENSE. */
enum sense_reason
spc_request_sense(struct scsi_cmd *cmd)
{
	uint8_t buf[SCSI_SENSE_MAX], status, asc, ascq;
	struct sense_detail sd;
	bool desc = cmd->cdb[1] & 0x01;
	size_t n;

	memset(&sd, 0, sizeof(sd));
	if (cmd->lun == NULL)
		n = sense_build(SENSE_LUN_NOT_SUPPORTED, &sd, desc, buf,
		    sizeof(buf), &status);
	else if (nexus_ua_pop(cmd->nexus, cmd->lun_id, &asc, &ascq))
		n = sense_build_raw(SENSE_KEY_UNIT_ATTENTION, asc, ascq, &sd,
		    desc, buf, sizeof(buf));
	else
		n = sense_build_raw(SENSE_KEY_NO_SENSE, 0, 0, &sd, desc, buf,
		    sizeof(buf));
	scsi_cmd_data_in(cmd, buf, MIN(n, (size_t)cmd->cdb[4]));
	return SENSE_OK;
}

/* --- INQUIRY --- */

static size_t
spc_inquiry_std(struct scsi_cmd *cmd, uint8_t *b)
{
	const struct lun *lun = cmd->lun;
	const size_t len = 74;

	memset(b, 0, len);
	b[0] = lun != NULL ? 0x00 : 0x7f;	/* PQ 011b, PDT 1Fh */
	b[2] = 0x06;				/* SPC-4 */
	b[3] = 0x10 | 0x02;			/* HiSup, format 2 */
	b[4] = (uint8_t)(len - 5);
	b[5] = 0x10;				/* TPGS 01b: implicit */
	/* 3PC follows the table: set once 83h has service actions */
	if (scsi_op_has_sa(0x83))
		b[5] |= 0x08;
	b[7] = 0x02;				/* CmdQue */
	spc_put_str(b + 8, lun != NULL ? lun->vendor : "TPCD", 8);
	spc_put_str(b + 16, lun != NULL ? lun->product : "", 16);
	spc_put_str(b + 32, lun != NULL ? lun->revision : "", 4);
	put_be16(b + 58, VD_SAM5);
	put_be16(b + 60, VD_SPC4);
	put_be16(b + 62, VD_SBC3);
	put_be16(b + 64, VD_ISCSI);
	return len;
}

static size_t spc_vpd_list(struct scsi_cmd *, uint8_t *, size_t);
static size_t spc_vpd_serial(struct scsi_cmd *, uint8_t *, size_t);
static size_t spc_vpd_devid(struct scsi_cmd *, uint8_t *, size_t);
static size_t spc_vpd_ext_inquiry(struct scsi_cmd *, uint8_t *, size_t);
static size_t spc_vpd_block_limits(struct scsi_cmd *, uint8_t *, size_t);
static size_t spc_vpd_block_chars(struct scsi_cmd *, uint8_t *, size_t);
static size_t spc_vpd_lbp(struct scsi_cmd *, uint8_t *, size_t);

/* Supported VPD pages, ascending (SPC-4 7.8.13). */
static const struct spc_vpd_page spc_vpd_pages[] = {
	{ 0x00, spc_vpd_list },
	{ 0x80, spc_vpd_serial },
	{ 0x83, spc_vpd_devid },
	{ 0x86, spc_vpd_ext_inquiry },
	{ 0x8f, tpc_vpd_page },		/* xcopy/tpc_vpd.c */
	{ 0xb0, spc_vpd_block_limits },
	{ 0xb1, spc_vpd_block_chars },
	{ 0xb2, spc_vpd_lbp },
};

static size_t
spc_vpd_list(struct scsi_cmd *cmd, uint8_t *b, size_t max)
{
	size_t i;

	(void)cmd;
	for (i = 0; i < ARRAY_SIZE(spc_vpd_pages) && 4 + i < max; i++)
		b[4 + i] = spc_vpd_pages[i].page;
	return 4 + ARRAY_SIZE(spc_vpd_pages);
}

static size_t
spc_vpd_serial(struct scsi_cmd *cmd, uint8_t *b, size_t max)
{
	size_t n = strnlen(cmd->lun->serial, sizeof(cmd->lun->serial));

	n = MIN(n, max - 4);
	memcpy(b + 4, cmd->lun->serial, n);
	return 4 + n;
}

/* One designation descriptor header (SPC-4 7.8.6.1). */
static uint8_t *
spc_desig(uint8_t *p, uint8_t proto_codeset, uint8_t piv_assoc_type,
    uint8_t len)
{
	p[0] = proto_codeset;
	p[1] = piv_assoc_type;
	p[2] = 0;
	p[3] = len;
	return p + 4;
}

/* SCSI name string: NUL-terminated, padded to a multiple of 4. */
static size_t
spc_name_len(const char *s)
{
	size_t n = strlen(s) + 1;

	return MIN((n + 3) & ~(size_t)3, 252);
}

static size_t
spc_vpd_devid(struct scsi_cmd *cmd, uint8_t *b, size_t max)
{
	const struct lun *lun = cmd->lun;
	const struct scsi_nexus *nx = cmd->nexus;
	uint8_t *p = b + 4, *d;
	char name[300];
	size_t n, sl;

	/* 256 (names) + 3 * 20 (fixed ones) + 8 + serial fits SPC_BUF */
	if (max < 512)
		return 4;
	/* NAA IEEE Registered Extended, logical unit */
	d = spc_desig(p, 0x01, 0x03, LUN_NAA_LEN);
	memcpy(d, lun->naa, LUN_NAA_LEN);
	p = d + LUN_NAA_LEN;
	/* T10 vendor ID + unit serial, logical unit */
	sl = strnlen(lun->serial, sizeof(lun->serial));
	d = spc_desig(p, 0x02, 0x01, (uint8_t)(8 + sl));
	spc_put_str(d, lun->vendor, 8);
	memcpy(d + 8, lun->serial, sl);
	p = d + 8 + sl;
	if (nx != NULL) {
		/* relative target port, iSCSI, target port association */
		d = spc_desig(p, 0x51, 0x94, 4);
		memset(d, 0, 4);
		put_be16(d + 2, spc_rel_port_id(nx));
		p = d + 4;
		/* target port group */
		d = spc_desig(p, 0x51, 0x95, 4);
		memset(d, 0, 4);
		put_be16(d + 2, spc_port_group_id(nx));
		p = d + 4;
		/* SCSI name string of the target port (SPC-4 7.6.4.6) */
		snprintf(name, sizeof(name), "%s,t,0x%04x",
		    nx->target != NULL ? nx->target : "", nx->tpg_tag);
		n = spc_name_len(name);
		d = spc_desig(p, 0x53, 0x98, (uint8_t)n);
		memset(d, 0, n);
		memcpy(d, name, MIN(strlen(name), n - 1));
		p = d + n;
		/* SCSI name string of the target device */
		snprintf(name, sizeof(name), "%s",
		    nx->target != NULL ? nx->target : "");
		n = spc_name_len(name);
		d = spc_desig(p, 0x53, 0xa8, (uint8_t)n);
		memset(d, 0, n);
		memcpy(d, name, MIN(strlen(name), n - 1));
		p = d + n;
	}
	return (size_t)(p - b);
}

static size_t
spc_vpd_ext_inquiry(struct scsi_cmd *cmd, uint8_t *b, size_t max)
{
	(void)cmd;
	(void)max;
	memset(b + 4, 0, 0x3c);
	b[5] = 0x07;		/* HEADSUP ORDSUP SIMPSUP */
	return 4 + 0x3c;
}

static size_t
spc_vpd_block_limits(struct scsi_cmd *cmd, uint8_t *b, size_t max)
{
	const struct lun *lun = cmd->lun;
	uint32_t mx = sbc_max_xfer_blocks(lun);

	(void)max;
	memset(b + 4, 0, 0x3c);
	put_be16(b + 6, (uint16_t)(1u << sbc_phys_exp(lun)));
	put_be32(b + 8, mx);		/* MAXIMUM TRANSFER LENGTH */
	put_be32(b + 12, mx);		/* OPTIMAL TRANSFER LENGTH */
	/* CAW, unmap and WRITE SAME limits (sbc_unmap.c) */
	sbc_vpd_block_limits_lbp(lun, b);
	return 4 + 0x3c;
}

static size_t
spc_vpd_block_chars(struct scsi_cmd *cmd, uint8_t *b, size_t max)
{
	(void)max;
	memset(b + 4, 0, 0x3c);
	put_be16(b + 4, 0x0001);		/* non-rotating medium */
	/* SBC-4 6.6.2: WABEREQ 01b, a read after BLOCK ERASE sanitize
	 * returns zeroes (BLOCK ERASE exists on thin LUs only); VBULS,
	 * VERIFY compares unmapped blocks as the zeroes a read returns. */
	b[7] = sbc_lbp_enabled(cmd->lun) ? 0x40 : 0;
	b[8] = 0x01;
	return 4 + 0x3c;
}

static size_t
spc_vpd_lbp(struct scsi_cmd *cmd, uint8_t *b, size_t max)
{
	(void)max;
	return sbc_vpd_lbp_page(cmd->lun, b);	/* sbc_unmap.c */
}

static enum sense_reason
spc_inquiry_vpd(struct scsi_cmd *cmd, uint8_t *b, size_t *len)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(spc_vpd_pages); i++) {
		if (spc_vpd_pages[i].page != cmd->cdb[2])
			continue;
		memset(b, 0, 4);
		b[1] = cmd->cdb[2];
		*len = spc_vpd_pages[i].fill(cmd, b, SPC_BUF);
		*len = MIN(*len, (size_t)SPC_BUF);
		put_be16(b + 2, (uint16_t)(*len - 4));
		return SENSE_OK;
	}
	return scsi_invalid_field(cmd, true, 2, -1);
}

enum sense_reason
spc_inquiry(struct scsi_cmd *cmd)
{
	uint8_t *b;
	uint16_t alloc = get_be16(cmd->cdb + 3);
	enum sense_reason r = SENSE_OK;
	size_t len = 0;

	if (!(cmd->cdb[1] & 0x01) && cmd->cdb[2] != 0)
		return scsi_invalid_field(cmd, true, 2, -1);
	if ((cmd->cdb[1] & 0x01) && cmd->lun == NULL)
		return SENSE_LUN_NOT_SUPPORTED;
	b = xcalloc(1, SPC_BUF);
	if (b == NULL)
		return SENSE_BUSY;
	if (cmd->cdb[1] & 0x01)
		r = spc_inquiry_vpd(cmd, b, &len);
	else
		len = spc_inquiry_std(cmd, b);
	if (r == SENSE_OK)
		scsi_cmd_data_in(cmd, b, MIN(len, (size_t)alloc));
	free(b);
	return r;
}

/* --- REPORT LUNS (SPC-4 6.33) --- */

enum sense_reason
spc_report_luns(struct scsi_cmd *cmd)
{
	struct scsi_nexus *nx = cmd->nexus;
	uint32_t alloc = get_be32(cmd->cdb + 6);
	uint8_t sel = cmd->cdb[2];
	uint64_t *ids;
	uint8_t *b;
	size_t n = 0, n_ids, len, i;

	if (sel > 2)
		return scsi_invalid_field(cmd, true, 2, -1);
	if (nx == NULL)
		return SENSE_INTERNAL_TARGET_FAILURE;
	pthread_mutex_lock(&nx->lock);
	if (sel != 1)			/* 1: well-known LUs only; none */
		n = nx->n_luns;
	len = 8 + 8 * n;
	b = xcalloc(1, len);
	if (b == NULL) {
		pthread_mutex_unlock(&nx->lock);
		return SENSE_BUSY;
	}
	for (i = 0; i < n; i++)
		scsi_lun_encode(nx->luns[i].lun_id, b + 8 + 8 * i);
	put_be32(b, (uint32_t)(8 * n));
	/* SPC-4 6.33: reporting the inventory clears REPORTED LUNS DATA
	 * HAS CHANGED (3F/0E) on this I_T nexus; ids copied, the clear
	 * takes the lock itself */
	ids = xcalloc(nx->n_luns ? nx->n_luns : 1, sizeof(*ids));
	n_ids = ids != NULL ? nx->n_luns : 0;
	for (i = 0; i < n_ids; i++)
		ids[i] = nx->luns[i].lun_id;
	pthread_mutex_unlock(&nx->lock);
	scsi_cmd_data_in(cmd, b, MIN(len, (size_t)alloc));
	free(b);
	for (i = 0; i < n_ids; i++)
		nexus_ua_clear(nx, ids[i], 0x3f, 0x0e);
	free(ids);
	return SENSE_OK;
}

/* --- MODE SENSE / MODE SELECT (SPC-4 6.11, 6.13; SBC-3 6.4) --- */

enum spc_pc {
	PC_CURRENT,
	PC_CHANGEABLE,
	PC_DEFAULT,
	PC_SAVED,
};

struct spc_mode_page {
	uint8_t	 page;
	uint8_t	 len;		/* whole page, header included */
	void	(*fill)(struct lun *, enum spc_pc, uint8_t *);
};

/* Caching (SBC-3 6.4.5): WCE changeable. */
static void
spc_mode_caching(struct lun *lun, enum spc_pc pc, uint8_t *p)
{
	struct lun_mode m;

	lun_mode_get(lun, &m);
	if (pc == PC_CHANGEABLE)
		p[2] = 0x04;
	else if (pc == PC_DEFAULT)
		p[2] = (lun->bs != NULL && lun->bs->write_back) ? 0x04 : 0;
	else
		p[2] = m.wce ? 0x04 : 0;
}

/* Control (SPC-4 7.5.7): D_SENSE and SWP changeable; TAS = 1. */
static void
spc_mode_control(struct lun *lun, enum spc_pc pc, uint8_t *p)
{
	struct lun_mode m;

	lun_mode_get(lun, &m);
	if (pc == PC_CHANGEABLE) {
		p[2] = 0x04;
		p[4] = 0x08;
		return;
	}
	p[3] = 0x10;			/* QAM 1: unrestricted reordering */
	p[5] = 0x40;			/* TAS */
	put_be16(p + 8, 0xffff);	/* busy timeout: unlimited */
	if (pc == PC_CURRENT) {
		p[2] = m.d_sense ? 0x04 : 0;
		p[4] = m.swp ? 0x08 : 0;
	}
}

/* Informational exceptions control (SPC-4 7.5.9): all zero. */
static void
spc_mode_iec(struct lun *lun, enum spc_pc pc, uint8_t *p)
{
	(void)lun;
	(void)pc;
	(void)p;
}

static const struct spc_mode_page spc_mode_pages[] = {
	{ 0x08, 20, spc_mode_caching },
	{ 0x0a, 12, spc_mode_control },
	{ 0x1c, 12, spc_mode_iec },
};

static size_t
spc_mode_put_page(struct lun *lun, const struct spc_mode_page *mp,
    enum spc_pc pc, uint8_t *p)
{
	memset(p, 0, mp->len);
	p[0] = mp->page;
	p[1] = mp->len - 2;
	mp->fill(lun, pc, p);
	return mp->len;
}

enum sense_reason
spc_mode_sense(struct scsi_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	bool six = cdb[0] == 0x1a;
	bool dbd = cdb[1] & 0x08, llbaa = !six && (cdb[1] & 0x10);
	enum spc_pc pc = (enum spc_pc)(cdb[2] >> 6);
	uint8_t page = cdb[2] & 0x3f, subpage = cdb[3];
	uint32_t alloc = six ? cdb[4] : get_be16(cdb + 7);
	struct lun *lun = cmd->lun;
	uint8_t b[256], *p;
	size_t hdr = six ? 4 : 8, bdl = 0, i, len;
	bool found = false;

	if (pc == PC_SAVED)
		return SENSE_SAVING_PARAMS_UNSUP;
	if (subpage != 0x00 && subpage != 0xff)
		return scsi_invalid_field(cmd, true, 3, -1);
	memset(b, 0, sizeof(b));
	if (!dbd)
		bdl = llbaa ? 16 : 8;
	p = b + hdr;
	if (bdl == 8) {
		put_be32(p, lun->nblocks > UINT32_MAX ? UINT32_MAX :
		    (uint32_t)lun->nblocks);
		put_be24(p + 5, lun->block_size);
	} else if (bdl == 16) {
		put_be64(p, lun->nblocks);
		put_be32(p + 12, lun->block_size);
	}
	p += bdl;
	for (i = 0; i < ARRAY_SIZE(spc_mode_pages); i++) {
		if (page != 0x3f && page != spc_mode_pages[i].page)
			continue;
		p += spc_mode_put_page(lun, &spc_mode_pages[i], pc, p);
		found = true;
	}
	if (!found)
		return scsi_invalid_field(cmd, true, 2, 5);
	len = (size_t)(p - b);
	if (six) {
		b[0] = (uint8_t)(len - 1);
		b[2] = (scsi_cmd_write_protected(cmd) ? 0x80 : 0) | 0x10;
		b[3] = (uint8_t)bdl;
	} else {
		put_be16(b, (uint16_t)(len - 2));
		b[3] = (scsi_cmd_write_protected(cmd) ? 0x80 : 0) | 0x10;
		b[4] = llbaa && bdl == 16 ? 0x01 : 0;
		put_be16(b + 6, (uint16_t)bdl);
	}
	scsi_cmd_data_in(cmd, b, MIN(len, (size_t)alloc));
	return SENSE_OK;
}

static void
spc_mode_changed_ua(struct scsi_nexus *nx, void *arg)
{
	struct scsi_cmd *cmd = arg;

	/* SPC-4 7.5.1: MODE PARAMETERS CHANGED for the other nexuses */
	if (nx != cmd->nexus)
		nexus_ua_add(nx, cmd->lun, 0x2a, 0x01);
}

/* Check one page of a MODE SELECT list against the current values and
 * the changeable mask; apply when apply is set. */
static enum sense_reason
spc_mode_select_page(struct scsi_cmd *cmd, const uint8_t *pg, size_t off,
    size_t avail, bool apply, bool *changed)
{
	const struct spc_mode_page *mp = NULL;
	uint8_t cur[32], chg[32];
	size_t i;
	struct lun *lun = cmd->lun;

	for (i = 0; i < ARRAY_SIZE(spc_mode_pages); i++)
		if (spc_mode_pages[i].page == (pg[0] & 0x3f))
			mp = &spc_mode_pages[i];
	if (mp == NULL || (pg[0] & 0x40))
		return scsi_invalid_field(cmd, false, (uint16_t)off, 5);
	if (avail < 2 || pg[1] + 2u != mp->len)
		return scsi_invalid_field(cmd, false, (uint16_t)(off + 1), -1);
	if (avail < mp->len)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	spc_mode_put_page(lun, mp, PC_CURRENT, cur);
	spc_mode_put_page(lun, mp, PC_CHANGEABLE, chg);
	for (i = 2; i < mp->len; i++)
		if ((pg[i] ^ cur[i]) & ~chg[i])
			return scsi_invalid_field(cmd, false,
			    (uint16_t)(off + i), -1);
	if (!apply)
		return SENSE_OK;
	pthread_mutex_lock(&lun->lock);
	if (mp->page == 0x08 && lun->wce != !!(pg[2] & 0x04)) {
		lun->wce = pg[2] & 0x04;
		*changed = true;
	} else if (mp->page == 0x0a) {
		if (lun->d_sense != !!(pg[2] & 0x04) ||
		    lun->swp != !!(pg[4] & 0x08))
			*changed = true;
		lun->d_sense = pg[2] & 0x04;
		lun->swp = pg[4] & 0x08;
	}
	pthread_mutex_unlock(&lun->lock);
	return SENSE_OK;
}

#define SPC_MODE_SELECT_MAX	512

enum sense_reason
spc_mode_select(struct scsi_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	bool six = cdb[0] == 0x15, changed = false;
	uint32_t plen = six ? cdb[4] : get_be16(cdb + 7);
	size_t hdr = six ? 4 : 8, bdl, off;
	uint8_t b[SPC_MODE_SELECT_MAX];
	enum sense_reason r;
	int pass;

	if (cdb[1] & 0x01)		/* SP: no saved pages */
		return scsi_invalid_field(cmd, true, 1, 0);
	if (plen == 0)
		return SENSE_OK;
	if (!(cdb[1] & 0x10))		/* PF = 0: vendor format */
		return scsi_invalid_field(cmd, true, 1, 4);
	if (plen > sizeof(b) || plen < hdr)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	cmd->spdtl = plen;
	if (scsi_cmd_copy_from_buf(cmd, 0, b, plen) != plen ||
	    scsi_cmd_data_cap(cmd, false) < plen)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	cmd->xfer_len = plen;
	bdl = six ? b[3] : get_be16(b + 6);
	if (bdl != 0 && bdl != 8 && !(bdl == 16 && !six && (b[4] & 0x01)))
		return scsi_invalid_field(cmd, false, six ? 3 : 6, -1);
	if (hdr + bdl > plen)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	/* the block descriptor may only restate our block length */
	if (bdl == 8 && get_be24(b + hdr + 5) != cmd->lun->block_size)
		return scsi_invalid_field(cmd, false, (uint16_t)(hdr + 5), -1);
	if (bdl == 16 && get_be32(b + hdr + 12) != cmd->lun->block_size)
		return scsi_invalid_field(cmd, false, (uint16_t)(hdr + 12),
		    -1);
	/* validate every page, then apply (no half-applied lists) */
	for (pass = 0; pass < 2; pass++) {
		for (off = hdr + bdl; off < plen; off += 2u + b[off + 1]) {
			r = spc_mode_select_page(cmd, b + off, off, plen - off,
			    pass == 1, &changed);
			if (r != SENSE_OK)
				return r;
		}
	}
	if (changed)
		target_foreach_nexus(cmd->lun, spc_mode_changed_ua, cmd);
	return SENSE_OK;
}

/* --- REPORT SUPPORTED OPERATION CODES (SPC-4 6.35) --- */

#define RSOC_TIMEOUT_REC	30	/* seconds, when the entry has none */

static size_t
spc_rsoc_timeouts(const struct scsi_op *e, uint8_t *p)
{
	memset(p, 0, 12);
	put_be16(p, 0x000a);
	put_be32(p + 4, e->timeout_nominal);
	put_be32(p + 8, e->timeout_rec != 0 ? e->timeout_rec :
	    RSOC_TIMEOUT_REC);
	return 12;
}

static size_t
spc_rsoc_desc(const struct scsi_op *e, uint8_t op, int sa, bool rctd,
    uint8_t *p)
{
	memset(p, 0, 8);
	p[0] = op;
	if (sa >= 0) {
		put_be16(p + 2, (uint16_t)sa);
		p[5] |= 0x01;			/* SERVACTV */
	}
	if (rctd)
		p[5] |= 0x02;			/* CTDP */
	put_be16(p + 6, e->cdb_len);
	if (!rctd)
		return 8;
	return 8 + spc_rsoc_timeouts(e, p + 8);
}

static enum sense_reason
spc_rsoc_all(struct scsi_cmd *cmd, bool rctd, uint32_t alloc)
{
	size_t per = rctd ? 20 : 8, len = 4, count = 0;
	unsigned int op, sa;
	uint8_t *b;

	for (op = 0; op < 256; op++) {
		if (scsi_ops[op].sa == NULL) {
			count += scsi_op_avail(&scsi_ops[op], cmd->lun);
			continue;
		}
		for (sa = 0; sa < SCSI_SA_COUNT; sa++)
			count += scsi_op_avail(&scsi_ops[op].sa[sa],
			    cmd->lun);
	}
	b = xcalloc(1, 4 + per * count);
	if (b == NULL)
		return SENSE_BUSY;
	for (op = 0; op < 256; op++) {
		const struct scsi_op *e = &scsi_ops[op];

		if (e->sa == NULL) {
			if (scsi_op_avail(e, cmd->lun))
				len += spc_rsoc_desc(e, (uint8_t)op, -1, rctd,
				    b + len);
			continue;
		}
		for (sa = 0; sa < SCSI_SA_COUNT; sa++)
			if (scsi_op_avail(&e->sa[sa], cmd->lun))
				len += spc_rsoc_desc(&e->sa[sa], (uint8_t)op,
				    (int)sa, rctd, b + len);
	}
	put_be32(b, (uint32_t)(len - 4));
	scsi_cmd_data_in(cmd, b, MIN(len, (size_t)alloc));
	free(b);
	return SENSE_OK;
}

static enum sense_reason
spc_rsoc_one(struct scsi_cmd *cmd, bool rctd, uint8_t opts, uint32_t alloc)
{
	uint8_t op = cmd->cdb[3], b[4 + SCSI_CDB_MAX + 12];
	uint16_t req_sa = get_be16(cmd->cdb + 4);
	const struct scsi_op *top = &scsi_ops[op], *e = NULL;
	size_t len = 4, i;
	int sa = -1;

	if (opts == 1 && top->sa != NULL)
		return scsi_invalid_field(cmd, true, 3, -1);
	if (opts == 2 && top->sa == NULL)
		return scsi_invalid_field(cmd, true, 3, -1);
	if (top->sa != NULL) {
		if (req_sa < SCSI_SA_COUNT &&
		    scsi_op_avail(&top->sa[req_sa], cmd->lun)) {
			e = &top->sa[req_sa];
			sa = req_sa;
		}
	} else if (scsi_op_avail(top, cmd->lun)) {
		e = top;
	}
	memset(b, 0, sizeof(b));
	if (rctd)
		b[1] = 0x80;				/* CTDP */
	if (e == NULL) {
		b[1] |= 0x01;				/* not supported */
	} else {
		b[1] |= 0x03;				/* per standard */
		put_be16(b + 2, e->cdb_len);
		b[4] = op;
		for (i = 1; i < e->cdb_len; i++)
			b[4 + i] = e->usage[i];
		if (sa >= 0)
			b[5] |= (uint8_t)sa;
		len += e->cdb_len;
		if (rctd)
			len += spc_rsoc_timeouts(e, b + len);
	}
	scsi_cmd_data_in(cmd, b, MIN(len, (size_t)alloc));
	return SENSE_OK;
}

enum sense_reason
spc_report_opcodes(struct scsi_cmd *cmd)
{
	bool rctd = cmd->cdb[2] & 0x80;
	uint8_t opts = cmd->cdb[2] & 0x07;
	uint32_t alloc = get_be32(cmd->cdb + 6);

	switch (opts) {
	case 0:
		return spc_rsoc_all(cmd, rctd, alloc);
	case 1:
	case 2:
	case 3:
		return spc_rsoc_one(cmd, rctd, opts, alloc);
	default:
		return scsi_invalid_field(cmd, true, 2, 2);
	}
}

/* --- REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS (SPC-4 6.36) --- */

enum sense_reason
spc_report_tmfs(struct scsi_cmd *cmd)
{
	uint8_t b[16];
	bool repd = cmd->cdb[2] & 0x80;
	uint32_t alloc = get_be32(cmd->cdb + 6);

	memset(b, 0, sizeof(b));
	/* ABORT TASK, ABORT TASK SET, CLEAR TASK SET, LUN RESET,
	 * TARGET RESET */
	b[0] = 0x80 | 0x40 | 0x10 | 0x08 | 0x02;
	if (repd)
		b[3] = 0x0c;
	scsi_cmd_data_in(cmd, b, MIN(repd ? 16u : 4u, alloc));
	return SENSE_OK;
}

/* --- REPORT TARGET PORT GROUPS (SPC-4 6.37): one group, one port,
 * active/optimized --- */

enum sense_reason
spc_report_tpgs(struct scsi_cmd *cmd)
{
	uint8_t b[32], *p;
	bool ext = (cmd->cdb[1] >> 5) == 0x01;
	uint32_t alloc = get_be32(cmd->cdb + 6);
	size_t len;

	if ((cmd->cdb[1] >> 5) > 1)
		return scsi_invalid_field(cmd, true, 1, 7);
	memset(b, 0, sizeof(b));
	p = b + (ext ? 8 : 4);
	if (ext)
		b[4] = 0x10;			/* format type 001b */
	p[0] = 0x00;				/* AAS active/optimized */
	p[1] = 0x01;				/* AO_SUP */
	put_be16(p + 2, spc_port_group_id(cmd->nexus));
	p[7] = 1;				/* target port count */
	put_be16(p + 8 + 2, spc_rel_port_id(cmd->nexus));
	len = (size_t)(p + 12 - b);
	put_be32(b, (uint32_t)(len - 4));
	scsi_cmd_data_in(cmd, b, MIN(len, (size_t)alloc));
	return SENSE_OK;
}
