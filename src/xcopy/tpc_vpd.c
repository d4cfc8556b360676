/*
 * tpc_vpd.c - VPD page 8Fh, Third-party Copy (SPC-4 7.8.17).
 *
 * The page is a list of third-party copy descriptors, each built by one
 * entry of tpc_vpd_descs[] (ascending type): the supported commands come
 * from the 83h/84h service-action tables (scsi_ops.c), everything else
 * from struct tpc_limits, so RECEIVE COPY OPERATING PARAMETERS, the parser
 * and this page agree.  The ROD token descriptors (0000h Block Device ROD
 * Token Limits, 0106h ROD Token Features, 0108h Supported ROD Token and
 * ROD Types) are per LU: sizes are in the LU's blocks, and the ROD types
 * say what POPULATE TOKEN really produces on it (odx_cmd.c).  Every
 * descriptor is padded to a multiple of 4 bytes and its DESCRIPTOR LENGTH
 * includes the pad.
 */
#include <string.h>

#include "backstore.h"
#include "scsi_int.h"
#include "util.h"
#include "xcopy/odx.h"
#include "xcopy/xcopy.h"

#define TPC_DESC_MAX	512	/* largest descriptor we build */

struct tpc_vpd_desc {
	uint16_t	 type;
	/* Body after the 4-byte header into d + 4; returns body length.
	 * lun: the LU the page is read through (NULL: none). */
	size_t		(*body)(const struct lun *lun, uint8_t *d);
};

static uint32_t
tpc_vpd_bs(const struct lun *lun)
{
	return lun != NULL && lun->block_size != 0 ? lun->block_size : 512;
}

/* 0000h Block Device ROD Token Limits (SBC-3 6.6.x, Windows needs it) */
static size_t
tpc_vpd_rod_limits(const struct lun *lun, uint8_t *d)
{
	const struct tpc_limits *l = tpc_limits();
	uint32_t bs = tpc_vpd_bs(lun);

	put_be16(d + 10, l->max_ranges);
	put_be32(d + 12, l->max_inactivity_s);
	put_be32(d + 16, l->default_inactivity_s);
	put_be64(d + 20, l->max_token_bytes / bs);
	put_be64(d + 28, l->optimal_transfer_bytes / bs);
	return 32;
}

/* 0106h ROD Token Features: only our own tokens (REMOTE TOKENS 0), the
 * lifetimes, and one block device descriptor */
static size_t
tpc_vpd_rod_features(const struct lun *lun, uint8_t *d)
{
	const struct tpc_limits *l = tpc_limits();
	uint8_t *b = d + 48;

	(void)lun;
	d[4] = 0x00;
	put_be32(d + 16, l->min_token_lifetime_s);
	put_be32(d + 20, l->max_token_lifetime_s);
	put_be32(d + 24, l->max_inactivity_s);
	put_be16(d + 46, 48);
	b[0] = 0x00;			/* PDT: direct access block device */
	put_be16(b + 2, 0x002c);
	put_be16(b + 6, 1);		/* OPTIMAL BLOCK ROD LENGTH GRAN. */
	put_be64(b + 8, l->max_token_bytes);
	put_be64(b + 16, l->optimal_transfer_bytes);
	put_be64(b + 24, l->optimal_transfer_bytes);
	put_be64(b + 32, l->optimal_transfer_bytes);
	return 44 + 48;
}

/* Can POPULATE TOKEN snapshot this LU (real point in time)? */
static bool
tpc_vpd_can_snapshot(const struct lun *lun)
{
	return lun != NULL && lun->bs != NULL &&
	    lun->bs->ops == &bs_file_ops && odx_snapshots_enabled();
}

static size_t
tpc_vpd_rod_type(uint8_t *t, uint32_t type, uint8_t flags, uint16_t pref)
{
	put_be32(t, type);
	t[4] = flags;
	put_be16(t + 6, pref);
	return 64;
}

/* 0108h Supported ROD Token and ROD Types: TOKEN_OUT (bit 0) = we create
 * it here, TOKEN_IN (bit 1) = WRITE USING TOKEN accepts it */
static size_t
tpc_vpd_rod_types(const struct lun *lun, uint8_t *d)
{
	bool snap = tpc_vpd_can_snapshot(lun);
	size_t n = 8;

	n += tpc_vpd_rod_type(d + n, ODX_ROD_PIT_DEFAULT,
	    snap ? 0x03 : 0x02, snap ? 2 : 0);
	n += tpc_vpd_rod_type(d + n, ODX_ROD_PIT_VULN, 0x03, 1);
	n += tpc_vpd_rod_type(d + n, ODX_ROD_ZERO, 0x02, 0);
	put_be16(d + 6, (uint16_t)(n - 8));
	return n - 4;
}

/* 0001h Supported Commands: every 83h/84h service action with a handler */
static size_t
tpc_vpd_commands(const struct lun *lun, uint8_t *d)
{
	static const uint8_t ops[] = { 0x83, 0x84 };
	const struct scsi_op *sa;
	size_t n = 1, k, cnt;
	unsigned int i, j;

	(void)lun;
	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		sa = scsi_ops[ops[i]].sa;
		if (sa == NULL || !scsi_op_has_sa(ops[i]))
			continue;
		k = n;
		d[4 + n] = ops[i];
		n += 2;
		for (j = 0, cnt = 0; j < SCSI_SA_COUNT; j++) {
			if (sa[j].exec == NULL)
				continue;
			d[4 + n++] = (uint8_t)j;
			cnt++;
		}
		d[4 + k + 1] = (uint8_t)cnt;
	}
	d[4] = (uint8_t)(n - 1);	/* COMMANDS SUPPORTED LIST LENGTH */
	return n;
}

/* 0004h Parameter Data */
static size_t
tpc_vpd_params(const struct lun *lun, uint8_t *d)
{
	const struct tpc_limits *l = tpc_limits();

	(void)lun;
	put_be16(d + 8, l->max_cscd);
	put_be16(d + 10, l->max_segs);
	put_be32(d + 12, l->max_desc_list_len);
	put_be32(d + 16, l->max_inline);
	return 28;
}

/* 0008h Supported Descriptors */
static size_t
tpc_vpd_descs_supported(const struct lun *lun, uint8_t *d)
{
	const struct tpc_limits *l = tpc_limits();

	(void)lun;
	d[4] = l->n_codes;
	memcpy(d + 5, l->codes, l->n_codes);
	return 1 + (size_t)l->n_codes;
}

/* 000Ch Supported CSCD Descriptor IDs (those above 07FFh) */
static size_t
tpc_vpd_ids(const struct lun *lun, uint8_t *d)
{
	const struct tpc_limits *l = tpc_limits();
	unsigned int i;

	(void)lun;
	put_be16(d + 4, (uint16_t)(2 * l->n_ids));
	for (i = 0; i < l->n_ids; i++)
		put_be16(d + 6 + 2 * i, l->ids[i]);
	return 2 + 2 * (size_t)l->n_ids;
}

/* 8001h General Copy Operations */
static size_t
tpc_vpd_general(const struct lun *lun, uint8_t *d)
{
	const struct tpc_limits *l = tpc_limits();

	(void)lun;
	put_be32(d + 4, l->total_concurrent);
	put_be32(d + 8, l->max_concurrent);
	put_be32(d + 12, l->max_seg_len);
	d[16] = l->data_seg_gran_log2;
	d[17] = l->inline_gran_log2;
	return 32;
}

/* C001h Held Data [STD? lengths] */
static size_t
tpc_vpd_held(const struct lun *lun, uint8_t *d)
{
	const struct tpc_limits *l = tpc_limits();

	(void)lun;
	put_be32(d + 4, l->held_data_limit);
	d[8] = l->held_gran_log2;
	return 8;
}

static const struct tpc_vpd_desc tpc_vpd_descs[] = {
	{ 0x0000, tpc_vpd_rod_limits },
	{ 0x0001, tpc_vpd_commands },
	{ 0x0004, tpc_vpd_params },
	{ 0x0008, tpc_vpd_descs_supported },
	{ 0x000c, tpc_vpd_ids },
	{ 0x0106, tpc_vpd_rod_features },
	{ 0x0108, tpc_vpd_rod_types },
	{ 0x8001, tpc_vpd_general },
	{ 0xc001, tpc_vpd_held },
};

size_t
tpc_vpd_page(struct scsi_cmd *cmd, uint8_t *buf, size_t max)
{
	uint8_t d[TPC_DESC_MAX];
	size_t off = 4, n, i;

	for (i = 0; i < ARRAY_SIZE(tpc_vpd_descs); i++) {
		memset(d, 0, sizeof(d));
		n = tpc_vpd_descs[i].body(cmd != NULL ? cmd->lun : NULL, d);
		n = (n + 3) & ~(size_t)3;		/* pad */
		put_be16(d, tpc_vpd_descs[i].type);
		put_be16(d + 2, (uint16_t)n);
		n += 4;
		if (off + n > max)
			break;
		memcpy(buf + off, d, n);
		off += n;
	}
	return off;
}
