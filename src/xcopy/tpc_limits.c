/*
 * tpc_limits.c - the one set of third-party copy limits.
 *
 * RECEIVE COPY OPERATING PARAMETERS (SPC-4 6.20) and the VPD 8Fh
 * descriptors 0004h, 0008h, 000Ch and 8001h (tpc_vpd.c) are generated from
 * struct tpc_limits, and the parser (xcopy_parse.c) enforces the same
 * values, so what we advertise is what we accept.
 *
 * Sizes: 64 CSCD descriptors and 256 segment descriptors per command and a
 * 64 KiB descriptor list (64 * 32 + 256 * 32 fits easily; libiscsi's
 * DescrLimits test then hits the count checks before the length check for
 * its first two lists).  MAXIMUM SEGMENT LENGTH is what one 02h segment can
 * express on a 4096-byte LU (65535 blocks), so no valid 02h segment is
 * refused for length.
 */
#include <string.h>

#include "rod_token/rod_token.h"
#include "util.h"
#include "xcopy/xcopy.h"

static const uint8_t tpc_codes[] = {
	XCOPY_SEG_B2B, XCOPY_SEG_VERIFY, XCOPY_SEG_B2B_OFF,
	XCOPY_SEG_B2B_HOLD, XCOPY_SEG_REGISTER_KEY, XCOPY_SEG_BLOCK_IMAGE,
	XCOPY_CSCD_ID,
};

static const uint16_t tpc_ids[] = {
	XCOPY_ID_NULL_BLOCK, XCOPY_ID_SELF,
};

static const struct tpc_limits tpc_lim = {
	.max_cscd = 64,
	.max_segs = 256,
	.max_desc_list_len = 65536,
	.max_seg_len = 65535u * 4096u,
	.max_inline = 0,
	.held_data_limit = 65536,
	.total_concurrent = 1024,
	.max_concurrent = 255,
	.data_seg_gran_log2 = 0,	/* 0Ah byte offsets: any byte */
	.inline_gran_log2 = 0,
	.held_gran_log2 = 0,
	.snlid = true,
	.codes = tpc_codes,
	.n_codes = (uint8_t)ARRAY_SIZE(tpc_codes),
	.ids = tpc_ids,
	.n_ids = (uint8_t)ARRAY_SIZE(tpc_ids),
	/* odx: what the token registry enforces (rod_token.h) */
	.max_ranges = ROD_MAX_RANGES,
	.max_inactivity_s = ROD_MAX_INACTIVITY_S,
	.default_inactivity_s = ROD_DEFAULT_INACTIVITY_S,
	.min_token_lifetime_s = 1,
	.max_token_lifetime_s = ROD_MAX_LIFETIME_S,
	.max_token_bytes = 1ull << 30,
	.optimal_transfer_bytes = 256ull << 20,
};

const struct tpc_limits *
tpc_limits(void)
{
	return &tpc_lim;
}

static bool
tpc_code_listed(uint8_t type)
{
	unsigned int i;

	for (i = 0; i < tpc_lim.n_codes; i++)
		if (tpc_lim.codes[i] == type)
			return true;
	return false;
}

bool
tpc_seg_supported(uint8_t type)
{
	return type < 0xc0 && tpc_code_listed(type);
}

bool
tpc_cscd_supported(uint8_t type)
{
	return type >= 0xe0 && tpc_code_listed(type);
}

uint32_t
tpc_max_param_len(bool lid4)
{
	return (lid4 ? XCOPY_LID4_HDR : XCOPY_LID1_HDR) +
	    tpc_lim.max_desc_list_len + tpc_lim.max_inline;
}

/* SPC-4 6.20 RECEIVE COPY OPERATING PARAMETERS parameter data */
size_t
tpc_oper_params(uint8_t *buf, size_t max)
{
	const struct tpc_limits *l = &tpc_lim;
	uint8_t b[44 + 256];
	size_t n = 44 + l->n_codes;

	memset(b, 0, sizeof(b));
	put_be32(b, (uint32_t)(n - 4));
	b[4] = l->snlid ? 0x01 : 0x00;
	put_be16(b + 8, l->max_cscd);
	put_be16(b + 10, l->max_segs);
	put_be32(b + 12, l->max_desc_list_len);
	put_be32(b + 16, l->max_seg_len);
	put_be32(b + 20, l->max_inline);
	put_be32(b + 24, l->held_data_limit);
	put_be32(b + 28, 0);		/* MAXIMUM STREAM DEVICE TRANSFER */
	put_be16(b + 34, l->total_concurrent);
	b[36] = l->max_concurrent;
	b[37] = l->data_seg_gran_log2;
	b[38] = l->inline_gran_log2;
	b[39] = l->held_gran_log2;
	b[43] = l->n_codes;
	memcpy(b + 44, l->codes, l->n_codes);
	memcpy(buf, b, MIN(n, max));
	return n;
}
