/*
 * xcopy_parse.c - EXTENDED COPY (LID1, LID4) parameter lists to a struct
 * copy_plan.  Pure: bytes in, plan or sense reason (with the field
 * pointer) out; no LU, nexus or allocation beyond the plan's arrays.
 *
 * Check order (third-party-copy.md 3.2; libiscsi ExtendedCopy.* relies on
 * it, e.g. DescrLimits needs the length check before the count checks):
 *
 *   1. list shorter than its header			1A/00
 *   2. header + CSCD + segment + inline lengths > list	1A/00
 *   3. CSCD + segment lengths > MAX DESCRIPTOR LIST	1A/00
 *   4. inline data beyond the limit			26/0B (pointer)
 *   5. too many CSCD / segment descriptors		26/06, 26/08
 *   6. unsupported CSCD / segment type code		26/07, 26/09
 *      (pointer: the descriptor's first byte)
 *   7. field errors, header first, then CSCDs, then segments, in list
 *      order: INVALID FIELD IN PARAMETER LIST (26/00) with the byte
 *      offset in the parameter list (and the bit of multi-bit fields'
 *      most significant bit).
 *
 * The list ID conflict (00/16) and everything that needs an LU (CSCD
 * resolution 0D/02, block length 26/00, ranges) come later, in
 * xcopy_status.c and xcopy_cmd.c.  Descriptors are walked by their own
 * type (CSCD: 32 bytes, 64 for EAh/EBh) and length (segments: 4 + the
 * DESCRIPTOR LENGTH), never by assuming a fixed segment size.
 */
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "xcopy/xcopy.h"

/* Offsets of the header fields that field pointers name. */
struct xcopy_hdr_off {
	uint16_t	 list_id;
	uint16_t	 cscd_len;
	uint16_t	 seg_len;
	uint16_t	 inline_len;
};

static const struct xcopy_hdr_off xcopy_lid1_off = { 0, 2, 8, 12 };
static const struct xcopy_hdr_off xcopy_lid4_off = { 20, 42, 44, 46 };

static enum sense_reason
xcopy_field(struct sense_detail *sd, size_t byte, int bit)
{
	memset(sd, 0, sizeof(*sd));
	sd->sks_valid = true;
	sd->sks_cdb = false;
	sd->sks_field = (uint16_t)MIN(byte, (size_t)UINT16_MAX);
	sd->sks_bpv = bit >= 0 && bit <= 7;
	sd->sks_bit = sd->sks_bpv ? (uint8_t)bit : 0;
	return SENSE_INVALID_FIELD_IN_PARAM;
}

static size_t
xcopy_cscd_size(uint8_t type)
{
	/* EAh (IPv6) and EBh (IP copy service) carry a 32-byte
	 * extension (SPC-4 6.4.5.9, 6.4.5.10) */
	return type == 0xea || type == 0xeb ? 64 : XCOPY_CSCD_LEN;
}

/* Expected DESCRIPTOR LENGTH of a segment type; 0: at least 4 bytes. */
static uint16_t
xcopy_seg_dlen(uint8_t type)
{
	switch (type) {
	case XCOPY_SEG_B2B:
	case XCOPY_SEG_B2B_HOLD:
	case XCOPY_SEG_REGISTER_KEY:
		return 0x18;
	case XCOPY_SEG_B2B_OFF:
		return 0x1c;
	case XCOPY_SEG_VERIFY:
		return 0x08;
	default:
		return 0;
	}
}

/* A CSCD descriptor ID a segment may name (SPC-4 table 150): an index,
 * the null block LU or the copy manager's own LU.  Index range against
 * the list is a copy error (0D/02), checked at resolution. */
static bool
xcopy_id_valid(uint16_t id)
{
	return id <= XCOPY_ID_MAX_INDEX || id == XCOPY_ID_NULL_BLOCK ||
	    id == XCOPY_ID_SELF;
}

struct xcopy_walk {
	uint32_t	 n;		/* complete descriptors */
	bool		 trunc;		/* the last one runs past the list */
};

/* Step 5: count CSCD descriptors. */
static enum sense_reason
xcopy_count_cscd(const uint8_t *p, size_t start, size_t end,
    const struct tpc_limits *lim, struct xcopy_walk *w)
{
	size_t off, sz;

	memset(w, 0, sizeof(*w));
	for (off = start; off < end; off += sz) {
		sz = xcopy_cscd_size(p[off]);
		if (w->n + 1 > lim->max_cscd)
			return SENSE_TOO_MANY_TARGET_DESC;
		if (sz > end - off) {
			w->trunc = true;
			break;
		}
		w->n++;
	}
	return SENSE_OK;
}

/* Step 5: count segment descriptors. */
static enum sense_reason
xcopy_count_seg(const uint8_t *p, size_t start, size_t end,
    const struct tpc_limits *lim, struct xcopy_walk *w)
{
	size_t off, sz;

	memset(w, 0, sizeof(*w));
	for (off = start; off < end; off += sz) {
		if (w->n + 1 > lim->max_segs)
			return SENSE_TOO_MANY_SEGMENT_DESC;
		if (end - off < 4) {
			w->trunc = true;
			break;
		}
		sz = 4 + (size_t)get_be16(p + off + 2);
		if (sz > end - off) {
			w->trunc = true;
			break;
		}
		w->n++;
	}
	return SENSE_OK;
}

static enum sense_reason
xcopy_parse_header(const uint8_t *p, struct copy_plan *pl,
    const struct tpc_limits *lim, struct sense_detail *sd)
{
	const struct xcopy_hdr_off *o = pl->lid4 ? &xcopy_lid4_off :
	    &xcopy_lid1_off;

	if (pl->lid4) {
		/* SPC-5 6.6.3: LIST FORMAT 01h, HEADER CSCD DESCRIPTOR LIST
		 * LENGTH 0020h */
		if (p[0] != 0x01)
			return xcopy_field(sd, 0, -1);
		if (get_be16(p + 2) != 0x0020)
			return xcopy_field(sd, 2, -1);
	}
	if (pl->usage == XCOPY_USAGE_RSVD ||
	    (pl->usage == XCOPY_USAGE_NONE && !lim->snlid))
		return xcopy_field(sd, 1, 4);
	if (pl->usage == XCOPY_USAGE_NONE && pl->list_id != 0)
		return xcopy_field(sd, o->list_id, -1);
	/* IMMED needs a list ID to poll */
	if (pl->immed && pl->usage == XCOPY_USAGE_NONE)
		return xcopy_field(sd, 15, 0);
	return SENSE_OK;
}

static enum sense_reason
xcopy_parse_cscd(const uint8_t *p, size_t off, struct xcopy_cscd *c,
    struct sense_detail *sd)
{
	memset(c, 0, sizeof(*c));
	c->off = (uint32_t)off;
	c->type = p[off];
	c->pdt = p[off + 1] & 0x1f;
	c->nul = p[off + 1] & 0x20;
	/* LU ID TYPE (bits 7:6) is ignored: SPC-4 made it obsolete */
	c->code_set = p[off + 4] & 0x0f;
	c->assoc = (p[off + 5] >> 4) & 0x03;
	c->desig_type = p[off + 5] & 0x0f;
	c->desig_len = p[off + 7];
	/* binary (NAA, EUI-64), ASCII (T10 vendor ID), UTF-8 (SCSI name) */
	if (c->code_set < 1 || c->code_set > 3)
		return xcopy_field(sd, off + 4, 3);
	if (c->desig_len > XCOPY_DESIG_MAX)
		return xcopy_field(sd, off + 7, -1);
	memcpy(c->desig, p + off + 8, c->desig_len);
	c->pad = p[off + 28] & 0x04;
	c->block_len = get_be24(p + off + 29);
	return SENSE_OK;
}

static enum sense_reason
xcopy_parse_seg(const uint8_t *p, size_t off, const struct tpc_limits *lim,
    struct xcopy_seg *s, struct sense_detail *sd)
{
	uint16_t want, dlen = get_be16(p + off + 2);

	memset(s, 0, sizeof(*s));
	s->off = (uint32_t)off;
	s->type = p[off];
	s->cat = p[off + 1] & 0x01;
	s->dc = p[off + 1] & 0x02;
	want = xcopy_seg_dlen(s->type);
	if (want != 0 && dlen != want)
		return xcopy_field(sd, off + 2, -1);
	if (want == 0 && dlen < 4)
		return xcopy_field(sd, off + 2, -1);
	s->src = get_be16(p + off + 4);
	s->dst = get_be16(p + off + 6);
	switch (s->type) {
	case XCOPY_SEG_VERIFY:		/* 07h: source only */
		if (!xcopy_id_valid(s->src))
			return xcopy_field(sd, off + 4, -1);
		s->tur = p[off + 8] & 0x01;
		return SENSE_OK;
	case XCOPY_SEG_REGISTER_KEY:	/* 14h: destination only */
		if (!xcopy_id_valid(s->dst))
			return xcopy_field(sd, off + 6, -1);
		s->res_key = get_be64(p + off + 8);
		s->sa_res_key = get_be64(p + off + 16);
		return SENSE_OK;
	default:
		break;
	}
	if (!xcopy_id_valid(s->src))
		return xcopy_field(sd, off + 4, -1);
	if (!xcopy_id_valid(s->dst))
		return xcopy_field(sd, off + 6, -1);
	switch (s->type) {
	case XCOPY_SEG_B2B:
	case XCOPY_SEG_B2B_HOLD:
		s->count = get_be16(p + off + 10);
		s->src_lba = get_be64(p + off + 12);
		s->dst_lba = get_be64(p + off + 20);
		break;
	case XCOPY_SEG_B2B_OFF:
		s->count = get_be32(p + off + 8);
		s->src_lba = get_be64(p + off + 12);
		s->dst_lba = get_be64(p + off + 20);
		s->src_boff = get_be16(p + off + 28);
		s->dst_boff = get_be16(p + off + 30);
		if (s->count > lim->max_seg_len)
			return xcopy_field(sd, off + 8, -1);
		break;
	default:	/* 16h: the IDs only [STD?] */
		break;
	}
	return SENSE_OK;
}

static void
xcopy_read_header(const uint8_t *p, struct copy_plan *pl, uint32_t *c,
    uint32_t *s, uint32_t *i)
{
	pl->str = p[1] & 0x20;
	pl->usage = (p[1] >> 3) & 0x03;
	pl->priority = p[1] & 0x07;
	if (pl->lid4) {
		pl->immed = p[15] & 0x01;
		pl->g_sense = p[15] & 0x02;
		pl->list_id = get_be32(p + 20);
		*c = get_be16(p + 42);
		*s = get_be16(p + 44);
		*i = get_be16(p + 46);
	} else {
		pl->list_id = p[0];
		*c = get_be16(p + 2);
		*s = get_be32(p + 8);
		*i = get_be32(p + 12);
	}
}

void
copy_plan_fini(struct copy_plan *pl)
{
	free(pl->cscd);
	free(pl->seg);
	pl->cscd = NULL;
	pl->seg = NULL;
	pl->n_cscd = pl->n_seg = 0;
}

static enum sense_reason
xcopy_parse_lists(const uint8_t *p, size_t cstart, size_t cend,
    size_t send, const struct tpc_limits *lim, struct copy_plan *pl,
    struct sense_detail *sd)
{
	const struct xcopy_hdr_off *o = pl->lid4 ? &xcopy_lid4_off :
	    &xcopy_lid1_off;
	struct xcopy_walk wc, ws;
	enum sense_reason r;
	size_t off;
	unsigned int k;

	/* 5. counts */
	r = xcopy_count_cscd(p, cstart, cend, lim, &wc);
	if (r != SENSE_OK)
		return r;
	r = xcopy_count_seg(p, cend, send, lim, &ws);
	if (r != SENSE_OK)
		return r;
	/* 6. type codes of the complete descriptors */
	for (off = cstart, k = 0; k < wc.n; k++) {
		if (!tpc_cscd_supported(p[off])) {
			xcopy_field(sd, off, -1);
			return SENSE_UNSUPPORTED_TARGET_DESC;
		}
		off += xcopy_cscd_size(p[off]);
	}
	for (off = cend, k = 0; k < ws.n; k++) {
		if (!tpc_seg_supported(p[off])) {
			xcopy_field(sd, off, -1);
			return SENSE_UNSUPPORTED_SEGMENT_DESC;
		}
		off += 4 + (size_t)get_be16(p + off + 2);
	}
	/* 7. fields: header, truncated lists, CSCDs, segments */
	r = xcopy_parse_header(p, pl, lim, sd);
	if (r != SENSE_OK)
		return r;
	if (wc.trunc)
		return xcopy_field(sd, o->cscd_len, -1);
	if (ws.trunc)
		return xcopy_field(sd, o->seg_len, -1);
	pl->cscd = wc.n ? calloc(wc.n, sizeof(*pl->cscd)) : NULL;
	pl->seg = ws.n ? calloc(ws.n, sizeof(*pl->seg)) : NULL;
	if ((wc.n && pl->cscd == NULL) || (ws.n && pl->seg == NULL))
		return SENSE_BUSY;
	for (off = cstart, k = 0; k < wc.n; k++) {
		r = xcopy_parse_cscd(p, off, &pl->cscd[k], sd);
		if (r != SENSE_OK)
			return r;
		off += xcopy_cscd_size(p[off]);
	}
	pl->n_cscd = (uint16_t)wc.n;
	for (off = cend, k = 0; k < ws.n; k++) {
		r = xcopy_parse_seg(p, off, lim, &pl->seg[k], sd);
		if (r != SENSE_OK)
			return r;
		off += 4 + (size_t)get_be16(p + off + 2);
	}
	pl->n_seg = (uint16_t)ws.n;
	return SENSE_OK;
}

enum sense_reason
xcopy_parse(const uint8_t *p, size_t len, bool lid4,
    const struct tpc_limits *lim, struct copy_plan *pl,
    struct sense_detail *sd)
{
	const struct xcopy_hdr_off *o = lid4 ? &xcopy_lid4_off :
	    &xcopy_lid1_off;
	uint32_t c, s, i;
	size_t hdr = lid4 ? XCOPY_LID4_HDR : XCOPY_LID1_HDR;
	enum sense_reason r;

	memset(pl, 0, sizeof(*pl));
	memset(sd, 0, sizeof(*sd));
	pl->lid4 = lid4;
	pl->hdr_len = (uint32_t)hdr;
	/* 1. SPC-4 6.4.1: length 0 is not an error, nothing happens */
	if (len == 0)
		return SENSE_OK;
	if (len < hdr)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	xcopy_read_header(p, pl, &c, &s, &i);
	pl->inline_len = i;
	/* 2. the lists must fit the parameter list */
	if ((uint64_t)hdr + c + s + i > len)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	/* 3. before the counts: libiscsi DescrLimits */
	if ((uint64_t)c + s > lim->max_desc_list_len)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	/* 4. no inline or embedded data */
	if (i > lim->max_inline) {
		xcopy_field(sd, o->inline_len, -1);
		return SENSE_INLINE_DATA_LENGTH_EXCEEDED;
	}
	r = xcopy_parse_lists(p, hdr, hdr + c, hdr + c + s, lim, pl, sd);
	if (r != SENSE_OK)
		copy_plan_fini(pl);
	return r;
}
