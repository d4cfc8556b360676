/*
 * check_odx_parse.c - POPULATE TOKEN / WRITE USING TOKEN parameter list
 * parsers (odx_parse.c), the ROD-to-destination mapping and the VPD 8Fh
 * ROD descriptors.
 *
 * Every validation error is checked with its exact reason and field
 * pointer; lists that break two rules at once pin the check order
 * documented in odx.h.  odx_map() is compared against a byte-by-byte
 * reference model over random range lists.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rod_token/rod_token.h"
#include "scsi.h"
#include "scsi_int.h"
#include "sense.h"
#include "util.h"
#include "xcopy/odx.h"
#include "xcopy/xcopy.h"

static uint8_t pl[ODX_WUT_HDR + 70000];
static struct odx_pt pt;
static struct odx_wut wut;
static const struct odx_lu_geom geom = { .nblocks = 1u << 20,
	.block_size = 512 };

/* --- builders --- */

static size_t
pt_list(uint8_t flags, uint32_t timeout, uint32_t rod_type, unsigned int n)
{
	size_t len = ODX_PT_HDR + ODX_RANGE_LEN * (size_t)n;
	unsigned int i;

	memset(pl, 0, sizeof(pl));
	put_be16(pl, (uint16_t)(len - 2));
	pl[2] = flags;
	put_be32(pl + 4, timeout);
	put_be32(pl + 8, rod_type);
	put_be16(pl + 14, (uint16_t)(ODX_RANGE_LEN * n));
	for (i = 0; i < n; i++) {
		put_be64(pl + ODX_PT_HDR + 16 * i, 1000 * (uint64_t)i);
		put_be32(pl + ODX_PT_HDR + 16 * i + 8, 100);
	}
	return len;
}

static size_t
wut_list(uint8_t flags, uint64_t offset, uint32_t rod_type, unsigned int n)
{
	size_t len = ODX_WUT_HDR + ODX_RANGE_LEN * (size_t)n;
	unsigned int i;

	memset(pl, 0, sizeof(pl));
	put_be16(pl, (uint16_t)(len - 2));
	pl[2] = flags;
	put_be64(pl + 8, offset);
	put_be32(pl + 16, rod_type);
	put_be16(pl + 16 + 6, ODX_TOKEN_BODY_LEN);
	put_be16(pl + 534, (uint16_t)(ODX_RANGE_LEN * n));
	for (i = 0; i < n; i++) {
		put_be64(pl + ODX_WUT_HDR + 16 * i, 2000 * (uint64_t)i);
		put_be32(pl + ODX_WUT_HDR + 16 * i + 8, 50);
	}
	return len;
}

static void
ck_field(const struct sense_detail *sd, unsigned int byte)
{
	ck_assert(sd->sks_valid);
	ck_assert(!sd->sks_cdb);
	ck_assert_uint_eq(sd->sks_field, byte);
}

/* --- POPULATE TOKEN --- */

START_TEST(pt_good)
{
	struct sense_detail sd;
	size_t len = pt_list(0x01, 0, 0, 3);

	ck_assert_int_eq(odx_parse_pt(pl, len, &geom, tpc_limits(), &pt,
	    &sd), SENSE_OK);
	ck_assert(pt.immed);
	ck_assert(!pt.rtv);
	ck_assert_uint_eq(pt.inactivity_s,
	    tpc_limits()->default_inactivity_s);
	ck_assert_uint_eq(pt.rod_type, ODX_ROD_PIT_DEFAULT);
	ck_assert_uint_eq(pt.n_ranges, 3);
	ck_assert_uint_eq(pt.total_blocks, 300);
	ck_assert_uint_eq(pt.ranges[2].lba, 2000);
	ck_assert_uint_eq(pt.ranges[2].nblocks, 100);
	/* RTV with the change vulnerable type, explicit timeout */
	len = pt_list(0x02, 17, ODX_ROD_PIT_VULN, 1);
	ck_assert_int_eq(odx_parse_pt(pl, len, &geom, tpc_limits(), &pt,
	    &sd), SENSE_OK);
	ck_assert(pt.rtv);
	ck_assert_uint_eq(pt.inactivity_s, 17);
	ck_assert_uint_eq(pt.rod_type, ODX_ROD_PIT_VULN);
	/* the maximum number of ranges is fine */
	len = pt_list(0, 0, 0, tpc_limits()->max_ranges);
	ck_assert_int_eq(odx_parse_pt(pl, len, &geom, tpc_limits(), &pt,
	    &sd), SENSE_OK);
}
END_TEST

START_TEST(pt_lengths)
{
	struct sense_detail sd;
	size_t len = pt_list(0, 0, 0, 2), l;

	/* any list shorter than the header */
	for (l = 0; l < ODX_PT_HDR; l++)
		ck_assert_int_eq(odx_parse_pt(pl, l, &geom, tpc_limits(),
		    &pt, &sd), SENSE_PARAM_LIST_LENGTH_ERROR);
	/* cut inside the descriptors */
	ck_assert_int_eq(odx_parse_pt(pl, len - 1, &geom, tpc_limits(), &pt,
	    &sd), SENSE_PARAM_LIST_LENGTH_ERROR);
	/* DATA LENGTH beyond the list */
	put_be16(pl, (uint16_t)len);
	ck_assert_int_eq(odx_parse_pt(pl, len, &geom, tpc_limits(), &pt,
	    &sd), SENSE_PARAM_LIST_LENGTH_ERROR);
	/* DATA LENGTH shorter than the descriptors it should hold */
	put_be16(pl, (uint16_t)(len - 3));
	ck_assert_int_eq(odx_parse_pt(pl, len, &geom, tpc_limits(), &pt,
	    &sd), SENSE_PARAM_LIST_LENGTH_ERROR);
	/* descriptor length not a multiple of 16, and 0 */
	len = pt_list(0, 0, 0, 2);
	put_be16(pl + 14, 24);
	ck_assert_int_eq(odx_parse_pt(pl, len, &geom, tpc_limits(), &pt,
	    &sd), SENSE_INVALID_FIELD_IN_PARAM);
	ck_field(&sd, 14);
	put_be16(pl + 14, 0);
	ck_assert_int_eq(odx_parse_pt(pl, len, &geom, tpc_limits(), &pt,
	    &sd), SENSE_INVALID_FIELD_IN_PARAM);
	ck_field(&sd, 14);
}
END_TEST

START_TEST(pt_fields)
{
	struct sense_detail sd;
	size_t len;

	/* too many ranges (26/08) beats a bad timeout */
	len = pt_list(0, 0xffffffff, 0, tpc_limits()->max_ranges + 1);
	ck_assert_int_eq(odx_parse_pt(pl, len, &geom, tpc_limits(), &pt,
	    &sd), SENSE_TOO_MANY_SEGMENT_DESC);
	/* inactivity timeout beyond the maximum: byte 4 */
	len = pt_list(0, tpc_limits()->max_inactivity_s + 1, 0, 1);
	ck_assert_int_eq(odx_parse_pt(pl, len, &geom, tpc_limits(), &pt,
	    &sd), SENSE_INVALID_FIELD_IN_PARAM);
	ck_field(&sd, 4);
	len = pt_list(0, tpc_limits()->max_inactivity_s, 0, 1);
	ck_assert_int_eq(odx_parse_pt(pl, len, &geom, tpc_limits(), &pt,
	    &sd), SENSE_OK);
	/* RTV with types we do not create: byte 8; without RTV ignored */
	len = pt_list(0x02, 0, ODX_ROD_AUR, 1);
	ck_assert_int_eq(odx_parse_pt(pl, len, &geom, tpc_limits(), &pt,
	    &sd), SENSE_INVALID_FIELD_IN_PARAM);
	ck_field(&sd, 8);
	len = pt_list(0x02, 0, ODX_ROD_ZERO, 1);
	ck_assert_int_eq(odx_parse_pt(pl, len, &geom, tpc_limits(), &pt,
	    &sd), SENSE_INVALID_FIELD_IN_PARAM);
	len = pt_list(0x02, 0, ODX_ROD_PIT_PERSIST, 1);
	ck_assert_int_eq(odx_parse_pt(pl, len, &geom, tpc_limits(), &pt,
	    &sd), SENSE_INVALID_FIELD_IN_PARAM);
	len = pt_list(0x00, 0, ODX_ROD_AUR, 1);
	ck_assert_int_eq(odx_parse_pt(pl, len, &geom, tpc_limits(), &pt,
	    &sd), SENSE_OK);
	/* DATA LENGTH too small for even the header: byte 0 */
	len = pt_list(0, 0, 0, 1);
	put_be16(pl, 2);
	put_be16(pl + 14, 0);
	ck_assert_int_eq(odx_parse_pt(pl, ODX_PT_HDR, &geom, tpc_limits(),
	    &pt, &sd), SENSE_INVALID_FIELD_IN_PARAM);
	ck_field(&sd, 0);
}
END_TEST

START_TEST(pt_ranges)
{
	struct sense_detail sd;
	size_t len;

	/* past the end: 21/00 with the LBA in INFORMATION */
	len = pt_list(0, 0, 0, 2);
	put_be64(pl + ODX_PT_HDR + 16, geom.nblocks - 10);
	ck_assert_int_eq(odx_parse_pt(pl, len, &geom, tpc_limits(), &pt,
	    &sd), SENSE_LBA_OUT_OF_RANGE);
	ck_assert(sd.info_valid);
	ck_assert_uint_eq(sd.info, geom.nblocks);
	/* LBA overflow */
	put_be64(pl + ODX_PT_HDR + 16, UINT64_MAX - 5);
	ck_assert_int_eq(odx_parse_pt(pl, len, &geom, tpc_limits(), &pt,
	    &sd), SENSE_LBA_OUT_OF_RANGE);
	ck_assert_uint_eq(sd.info, UINT64_MAX - 5);
	/* exactly to the end is fine */
	put_be64(pl + ODX_PT_HDR + 16, geom.nblocks - 100);
	ck_assert_int_eq(odx_parse_pt(pl, len, &geom, tpc_limits(), &pt,
	    &sd), SENSE_OK);
	/* overlap: the later descriptor is named */
	len = pt_list(0, 0, 0, 3);
	put_be64(pl + ODX_PT_HDR + 32, 50);
	ck_assert_int_eq(odx_parse_pt(pl, len, &geom, tpc_limits(), &pt,
	    &sd), SENSE_INVALID_FIELD_IN_PARAM);
	ck_field(&sd, ODX_PT_HDR + 32);
	/* zero-length ranges never overlap */
	put_be32(pl + ODX_PT_HDR + 32 + 8, 0);
	ck_assert_int_eq(odx_parse_pt(pl, len, &geom, tpc_limits(), &pt,
	    &sd), SENSE_OK);
	ck_assert_uint_eq(pt.total_blocks, 200);
}
END_TEST

START_TEST(pt_transfer_limit)
{
	struct sense_detail sd;
	uint64_t max = tpc_limits()->max_token_bytes / geom.block_size;
	struct odx_lu_geom big = { .nblocks = 1ull << 40, .block_size = 512 };
	size_t len = pt_list(0, 0, 0, 2);

	put_be64(pl + ODX_PT_HDR, 0);
	put_be32(pl + ODX_PT_HDR + 8, (uint32_t)(max - 1));
	put_be64(pl + ODX_PT_HDR + 16, max);
	put_be32(pl + ODX_PT_HDR + 24, 1);
	ck_assert_int_eq(odx_parse_pt(pl, len, &big, tpc_limits(), &pt,
	    &sd), SENSE_OK);
	put_be32(pl + ODX_PT_HDR + 24, 2);
	ck_assert_int_eq(odx_parse_pt(pl, len, &big, tpc_limits(), &pt,
	    &sd), SENSE_INVALID_FIELD_IN_PARAM);
	ck_field(&sd, ODX_PT_HDR + 16 + 8);
}
END_TEST

/* --- WRITE USING TOKEN --- */

START_TEST(wut_good)
{
	struct sense_detail sd;
	size_t len = wut_list(0x03, 77, ODX_ROD_PIT_DEFAULT, 4);

	pl[16 + 100] = 0xab;
	ck_assert_int_eq(odx_parse_wut(pl, len, &geom, tpc_limits(), &wut,
	    &sd), SENSE_OK);
	ck_assert(wut.immed);
	ck_assert(wut.del_tkn);
	ck_assert_uint_eq(wut.offset, 77);
	ck_assert_uint_eq(wut.rod_type, ODX_ROD_PIT_DEFAULT);
	ck_assert_uint_eq(wut.token[100], 0xab);
	ck_assert_uint_eq(wut.n_ranges, 4);
	ck_assert_uint_eq(wut.total_blocks, 200);
	len = wut_list(0, 0, ODX_ROD_ZERO, 1);
	ck_assert_int_eq(odx_parse_wut(pl, len, &geom, tpc_limits(), &wut,
	    &sd), SENSE_OK);
	len = wut_list(0, 0, ODX_ROD_PIT_VULN, 1);
	ck_assert_int_eq(odx_parse_wut(pl, len, &geom, tpc_limits(), &wut,
	    &sd), SENSE_OK);
}
END_TEST

START_TEST(wut_errors)
{
	struct sense_detail sd;
	size_t len, l;

	len = wut_list(0, 0, ODX_ROD_PIT_DEFAULT, 2);
	for (l = 0; l < ODX_WUT_HDR; l += 7)
		ck_assert_int_eq(odx_parse_wut(pl, l, &geom, tpc_limits(),
		    &wut, &sd), SENSE_PARAM_LIST_LENGTH_ERROR);
	ck_assert_int_eq(odx_parse_wut(pl, len - 16, &geom, tpc_limits(),
	    &wut, &sd), SENSE_PARAM_LIST_LENGTH_ERROR);
	/* token length first (23/0A), even with a bad type and ranges */
	put_be16(pl + 16 + 6, 0x01f7);
	put_be32(pl + 16, 0x12345678);
	put_be16(pl + 534, 3);
	ck_assert_int_eq(odx_parse_wut(pl, len, &geom, tpc_limits(), &wut,
	    &sd), SENSE_TOKEN_INVALID_LENGTH);
	/* then the type (23/01), before the range list */
	put_be16(pl + 16 + 6, ODX_TOKEN_BODY_LEN);
	ck_assert_int_eq(odx_parse_wut(pl, len, &geom, tpc_limits(), &wut,
	    &sd), SENSE_TOKEN_UNSUPPORTED_TYPE);
	put_be32(pl + 16, ODX_ROD_AUR);
	ck_assert_int_eq(odx_parse_wut(pl, len, &geom, tpc_limits(), &wut,
	    &sd), SENSE_TOKEN_UNSUPPORTED_TYPE);
	put_be32(pl + 16, ODX_ROD_PIT_DEFAULT);
	ck_assert_int_eq(odx_parse_wut(pl, len, &geom, tpc_limits(), &wut,
	    &sd), SENSE_INVALID_FIELD_IN_PARAM);
	ck_field(&sd, 534);
	/* too many */
	len = wut_list(0, 0, ODX_ROD_PIT_DEFAULT,
	    tpc_limits()->max_ranges + 1);
	ck_assert_int_eq(odx_parse_wut(pl, len, &geom, tpc_limits(), &wut,
	    &sd), SENSE_TOO_MANY_SEGMENT_DESC);
	/* out of range, overlap */
	len = wut_list(0, 0, ODX_ROD_PIT_DEFAULT, 2);
	put_be64(pl + ODX_WUT_HDR + 16, geom.nblocks);
	ck_assert_int_eq(odx_parse_wut(pl, len, &geom, tpc_limits(), &wut,
	    &sd), SENSE_LBA_OUT_OF_RANGE);
	put_be64(pl + ODX_WUT_HDR + 16, 49);
	ck_assert_int_eq(odx_parse_wut(pl, len, &geom, tpc_limits(), &wut,
	    &sd), SENSE_INVALID_FIELD_IN_PARAM);
	ck_field(&sd, ODX_WUT_HDR + 16);
	put_be64(pl + ODX_WUT_HDR + 16, 50);
	ck_assert_int_eq(odx_parse_wut(pl, len, &geom, tpc_limits(), &wut,
	    &sd), SENSE_OK);
}
END_TEST

/* --- odx_map against a reference model --- */

struct piece {
	uint64_t	 s, d, n;
};

struct pieces {
	struct piece	 v[4096];
	unsigned int	 n;
};

static void
collect(void *arg, uint64_t s, uint64_t d, uint64_t n)
{
	struct pieces *p = arg;

	ck_assert_uint_lt(p->n, 4096);
	ck_assert_uint_gt(n, 0);
	p->v[p->n].s = s;
	p->v[p->n].d = d;
	p->v[p->n].n = n;
	p->n++;
}

/* Expand ranges into a per-byte address list (small sizes only). */
static size_t
expand(const struct odx_range *r, unsigned int n, uint32_t bs,
    uint64_t *out, size_t max)
{
	size_t k = 0;
	unsigned int i;
	uint64_t b;

	for (i = 0; i < n; i++)
		for (b = 0; b < (uint64_t)r[i].nblocks * bs && k < max; b++)
			out[k++] = r[i].lba * bs + b;
	return k;
}

START_TEST(map_model)
{
	static uint64_t sv[1 << 16], dv[1 << 16];
	struct odx_range src[8], dst[8];
	struct pieces *p = calloc(1, sizeof(*p));
	unsigned int it, ns, nd, i, k;
	uint64_t off, done, lba;
	size_t nsb, ndb, j, pos;

	ck_assert_ptr_nonnull(p);
	srand(12345);
	for (it = 0; it < 500; it++) {
		ns = 1 + (unsigned int)rand() % 8;
		nd = 1 + (unsigned int)rand() % 8;
		for (i = 0, lba = 0; i < ns; i++) {
			lba += (unsigned int)rand() % 5;
			src[i].lba = lba;
			src[i].nblocks = (uint32_t)(rand() % 6);
			lba += src[i].nblocks;
		}
		for (i = 0, lba = 100; i < nd; i++) {
			lba += (unsigned int)rand() % 5;
			dst[i].lba = lba;
			dst[i].nblocks = (uint32_t)(rand() % 6);
			lba += dst[i].nblocks;
		}
		nsb = expand(src, ns, 8, sv, 1 << 16);
		ndb = expand(dst, nd, 8, dv, 1 << 16);
		off = nsb ? (uint64_t)rand() % (nsb + 1) : 0;
		p->n = 0;
		done = odx_map(src, ns, 8, off, dst, nd, 8, collect, p);
		ck_assert_uint_eq(done, MIN(nsb - off, ndb));
		/* byte j of the destination gets byte off + j of the ROD */
		pos = 0;
		for (k = 0; k < p->n; k++)
			for (j = 0; j < p->v[k].n; j++, pos++) {
				ck_assert_uint_eq(p->v[k].s + j, sv[off + pos]);
				ck_assert_uint_eq(p->v[k].d + j, dv[pos]);
			}
		ck_assert_uint_eq(pos, done);
	}
	free(p);
}
END_TEST

/* --- VPD 8Fh ROD descriptors --- */

static const uint8_t *
find_desc(const uint8_t *page, size_t len, uint16_t type)
{
	size_t off = 4;

	while (off + 4 <= len) {
		if (get_be16(page + off) == type)
			return page + off;
		off += 4 + get_be16(page + off + 2);
	}
	return NULL;
}

START_TEST(vpd_rod)
{
	static uint8_t page[4096];
	const struct tpc_limits *l = tpc_limits();
	const uint8_t *d;
	size_t n, off;
	bool has_pt = false, has_wut = false, rrti = false, rart = false;

	n = tpc_vpd_page(NULL, page, sizeof(page));
	/* 0000h first, 36 bytes (Windows) */
	d = find_desc(page, n, 0x0000);
	ck_assert_ptr_eq(d, page + 4);
	ck_assert_uint_eq(get_be16(d + 2), 0x20);
	ck_assert_uint_eq(get_be16(d + 10), l->max_ranges);
	ck_assert_uint_eq(get_be32(d + 12), l->max_inactivity_s);
	ck_assert_uint_eq(get_be32(d + 16), l->default_inactivity_s);
	ck_assert_uint_eq(get_be64(d + 20), l->max_token_bytes / 512);
	ck_assert_uint_eq(get_be64(d + 28), l->optimal_transfer_bytes / 512);
	/* 0001h lists PT, WUT, RRTI, RART */
	d = find_desc(page, n, 0x0001);
	ck_assert_ptr_nonnull(d);
	for (off = 5; off < 5u + d[4];) {
		uint8_t op = d[off], k = d[off + 1], i;

		for (i = 0; i < k; i++) {
			uint8_t sa = d[off + 2 + i];

			has_pt |= op == 0x83 && sa == 0x10;
			has_wut |= op == 0x83 && sa == 0x11;
			rrti |= op == 0x84 && sa == 0x07;
			rart |= op == 0x84 && sa == 0x08;
		}
		off += 2 + k;
	}
	ck_assert(has_pt && has_wut && rrti && rart);
	/* 0106h and 0108h */
	d = find_desc(page, n, 0x0106);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d[4] & 0x0f, 0);
	ck_assert_uint_eq(get_be32(d + 24), l->max_inactivity_s);
	ck_assert_uint_eq(get_be16(d + 46), 48);
	ck_assert_uint_eq(get_be16(d + 48 + 2), 0x2c);
	d = find_desc(page, n, 0x0108);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(get_be16(d + 6), 3 * 64);
	/* without an LU: no snapshot, PIT default only accepted */
	ck_assert_uint_eq(get_be32(d + 8), ODX_ROD_PIT_DEFAULT);
	ck_assert_uint_eq(d[8 + 4], 0x02);
	ck_assert_uint_eq(get_be32(d + 8 + 64), ODX_ROD_PIT_VULN);
	ck_assert_uint_eq(d[8 + 64 + 4], 0x03);
	ck_assert_uint_eq(get_be32(d + 8 + 128), ODX_ROD_ZERO);
	ck_assert_uint_eq(d[8 + 128 + 4], 0x02);
	/* every descriptor padded to 4 bytes */
	for (off = 4; off < n; off += 4 + get_be16(page + off + 2))
		ck_assert_uint_eq(get_be16(page + off + 2) % 4, 0);
	ck_assert_uint_eq(off, n);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("odx_parse");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int nf;

	tcase_add_test(tc, pt_good);
	tcase_add_test(tc, pt_lengths);
	tcase_add_test(tc, pt_fields);
	tcase_add_test(tc, pt_ranges);
	tcase_add_test(tc, pt_transfer_limit);
	tcase_add_test(tc, wut_good);
	tcase_add_test(tc, wut_errors);
	tcase_add_test(tc, map_model);
	tcase_add_test(tc, vpd_rod);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
