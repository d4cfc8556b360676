/*
 * odx_parse.c - POPULATE TOKEN and WRITE USING TOKEN parameter lists
 * (SBC-3 5.x; third-party-copy.md 6.1, 6.2, 6.5) to host structs.  Pure:
 * bytes, the LU geometry and the limits in; struct odx_pt / odx_wut or an
 * enum sense_reason with its field pointer out.  The check order is in
 * odx.h.  The overlap and range checks follow FreeBSD CTL (ctl_tpc.c):
 * every range inside the capacity, no two ranges of one list overlapping.
 */
#include <string.h>

#include "rod_token/rod_token.h"
#include "util.h"
#include "xcopy/odx.h"
#include "xcopy/xcopy.h"

static enum sense_reason
odx_field(struct sense_detail *sd, size_t byte, int bit)
{
	memset(sd, 0, sizeof(*sd));
	sd->sks_valid = true;
	sd->sks_field = (uint16_t)MIN(byte, (size_t)UINT16_MAX);
	sd->sks_bpv = bit >= 0 && bit <= 7;
	sd->sks_bit = sd->sks_bpv ? (uint8_t)bit : 0;
	return SENSE_INVALID_FIELD_IN_PARAM;
}

bool
odx_rod_type_creatable(uint32_t t)
{
	/* what the registry issues, with or without a snapshot; the
	 * handler narrows it down once it knows whether it can clone */
	return rod_type_supported(t, false) || rod_type_supported(t, true);
}

bool
odx_rod_type_usable(uint32_t t)
{
	return t == ROD_TYPE_BLOCK_ZERO || odx_rod_type_creatable(t);
}

/*
 * The range descriptors at p + off (n of them) into out[], checked
 * against the capacity and for overlap.  Returns the reason with details.
 */
static enum sense_reason
odx_parse_ranges(const uint8_t *p, size_t off, unsigned int n,
    const struct odx_lu_geom *g, struct odx_range *out, uint64_t *total,
    struct sense_detail *sd)
{
	unsigned int i, j;
	uint64_t end, sum = 0;

	for (i = 0; i < n; i++) {
		out[i].lba = get_be64(p + off + ODX_RANGE_LEN * i);
		out[i].nblocks = get_be32(p + off + ODX_RANGE_LEN * i + 8);
		end = out[i].lba + out[i].nblocks;
		if (end < out[i].lba || end > g->nblocks) {
			/* SBC-4 4.5: INFORMATION = the first bad LBA */
			memset(sd, 0, sizeof(*sd));
			sd->info_valid = true;
			sd->info = MAX(out[i].lba, g->nblocks);
			return SENSE_LBA_OUT_OF_RANGE;
		}
		sum += out[i].nblocks;
	}
	for (i = 1; i < n; i++) {
		if (out[i].nblocks == 0)
			continue;
		for (j = 0; j < i; j++) {
			if (out[j].nblocks == 0)
				continue;
			if (out[i].lba < out[j].lba + out[j].nblocks &&
			    out[j].lba < out[i].lba + out[i].nblocks)
				return odx_field(sd, off + ODX_RANGE_LEN * i,
				    -1);
		}
	}
	*total = sum;
	return SENSE_OK;
}

/* Common header checks: lengths, descriptor list length, count. */
static enum sense_reason
odx_parse_hdr(const uint8_t *p, size_t len, size_t hdr,
    const struct tpc_limits *lim, unsigned int *n, struct sense_detail *sd)
{
	size_t dlen, rdl;

	memset(sd, 0, sizeof(*sd));
	if (len < hdr)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	dlen = (size_t)get_be16(p) + 2;	/* DATA LENGTH excludes itself */
	rdl = get_be16(p + hdr - 2);
	if (dlen > len || hdr + rdl > len)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	if (dlen < hdr)
		return odx_field(sd, 0, -1);
	if (hdr + rdl > dlen)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	if (rdl == 0 || rdl % ODX_RANGE_LEN != 0)
		return odx_field(sd, hdr - 2, -1);
	*n = (unsigned int)(rdl / ODX_RANGE_LEN);
	if (*n > lim->max_ranges || *n > ODX_MAX_RANGES_HARD)
		return SENSE_TOO_MANY_SEGMENT_DESC;
	return SENSE_OK;
}

enum sense_reason
odx_parse_pt(const uint8_t *p, size_t len, const struct odx_lu_geom *g,
    const struct tpc_limits *lim, struct odx_pt *pt, struct sense_detail *sd)
{
	enum sense_reason r;
	unsigned int n, i;
	uint64_t sum;

	memset(pt, 0, offsetof(struct odx_pt, ranges));
	r = odx_parse_hdr(p, len, ODX_PT_HDR, lim, &n, sd);
	if (r != SENSE_OK)
		return r;
	pt->rtv = (p[2] & 0x02) != 0;
	pt->immed = (p[2] & 0x01) != 0;
	pt->inactivity_s = get_be32(p + 4);
	if (pt->inactivity_s > lim->max_inactivity_s)
		return odx_field(sd, 4, -1);
	if (pt->inactivity_s == 0)
		pt->inactivity_s = lim->default_inactivity_s;
	pt->rod_type = ODX_ROD_PIT_DEFAULT;
	if (pt->rtv) {
		if (!odx_rod_type_creatable(get_be32(p + 8)))
			return odx_field(sd, 8, -1);
		pt->rod_type = get_be32(p + 8);
	}
	pt->n_ranges = (uint16_t)n;
	r = odx_parse_ranges(p, ODX_PT_HDR, n, g, pt->ranges, &sum, sd);
	if (r != SENSE_OK)
		return r;
	pt->total_blocks = sum;
	if (g->block_size == 0 ||
	    sum > lim->max_token_bytes / g->block_size) {
		/* point at the range that crosses the limit */
		sum = 0;
		for (i = 0; i < n; i++) {
			sum += pt->ranges[i].nblocks;
			if (g->block_size == 0 ||
			    sum > lim->max_token_bytes / g->block_size)
				break;
		}
		return odx_field(sd, ODX_PT_HDR + ODX_RANGE_LEN *
		    (size_t)MIN(i, n - 1) + 8, -1);
	}
	return SENSE_OK;
}

enum sense_reason
odx_parse_wut(const uint8_t *p, size_t len, const struct odx_lu_geom *g,
    const struct tpc_limits *lim, struct odx_wut *w, struct sense_detail *sd)
{
	enum sense_reason r;
	unsigned int n;
	uint64_t sum;

	memset(w, 0, offsetof(struct odx_wut, ranges));
	memset(sd, 0, sizeof(*sd));
	if (len < ODX_WUT_HDR)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	/* the token first: SBC-3 checks it before the ranges */
	if (get_be16(p + 16 + 6) != ODX_TOKEN_BODY_LEN)
		return SENSE_TOKEN_INVALID_LENGTH;
	w->rod_type = get_be32(p + 16);
	if (!odx_rod_type_usable(w->rod_type))
		return SENSE_TOKEN_UNSUPPORTED_TYPE;
	r = odx_parse_hdr(p, len, ODX_WUT_HDR, lim, &n, sd);
	if (r != SENSE_OK)
		return r;
	w->del_tkn = (p[2] & 0x02) != 0;
	w->immed = (p[2] & 0x01) != 0;
	w->offset = get_be64(p + 8);
	memcpy(w->token, p + 16, ODX_TOKEN_LEN);
	w->n_ranges = (uint16_t)n;
	r = odx_parse_ranges(p, ODX_WUT_HDR, n, g, w->ranges, &sum, sd);
	if (r != SENSE_OK)
		return r;
	w->total_blocks = sum;
	return SENSE_OK;
}

/* --- mapping the ROD onto the destination --- */

uint64_t
odx_map(const struct odx_range *src, unsigned int n_src, uint32_t sbs,
    uint64_t rod_off, const struct odx_range *dst, unsigned int n_dst,
    uint32_t dbs, void (*emit)(void *, uint64_t, uint64_t, uint64_t),
    void *arg)
{
	unsigned int si = 0, di = 0;
	uint64_t s_in = 0, d_in = 0, done = 0, s_len, d_len, n;

	/* skip rod_off bytes of the source ranges */
	while (si < n_src) {
		s_len = (uint64_t)src[si].nblocks * sbs;
		if (rod_off < s_len) {
			s_in = rod_off;
			break;
		}
		rod_off -= s_len;
		si++;
	}
	while (si < n_src && di < n_dst) {
		s_len = (uint64_t)src[si].nblocks * sbs;
		d_len = (uint64_t)dst[di].nblocks * dbs;
		if (s_in >= s_len) {
			si++;
			s_in = 0;
			continue;
		}
		if (d_in >= d_len) {
			di++;
			d_in = 0;
			continue;
		}
		n = MIN(s_len - s_in, d_len - d_in);
		if (emit != NULL)
			emit(arg, src[si].lba * sbs + s_in,
			    dst[di].lba * dbs + d_in, n);
		s_in += n;
		d_in += n;
		done += n;
	}
	return done;
}
