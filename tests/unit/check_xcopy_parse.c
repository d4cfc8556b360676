/*
 * check_xcopy_parse.c - the EXTENDED COPY parameter list parser, limits,
 * VPD 8Fh, designator matching, copy sense and segment arithmetic.
 *
 * Every validation error is checked with its exact reason and field
 * pointer, in both list formats, and the check order of
 * third-party-copy.md 3.2 is exercised with lists that break two rules at
 * once.  Segment ranges are compared with a reference model and applied by
 * a trivial synchronous copier over memory (test only; the daemon uses the
 * engine).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "scsi.h"
#include "scsi_int.h"
#include "sense.h"
#include "util.h"
#include "xcopy/xcopy.h"

static uint8_t pl[140000];

static const uint8_t naa[16] = {
	0x6a, 0x70, 0x43, 0x01, 0x02, 0x03, 0x04, 0x05,
	0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
};

/* Builders: header, then descriptors appended at *off. */
static size_t
hdr1(uint8_t list_id, uint8_t usage, uint16_t c, uint32_t s, uint32_t i)
{
	memset(pl, 0, sizeof(pl));
	pl[0] = list_id;
	pl[1] = (uint8_t)(usage << 3);
	put_be16(pl + 2, c);
	put_be32(pl + 8, s);
	put_be32(pl + 12, i);
	return XCOPY_LID1_HDR;
}

static size_t
hdr4(uint32_t list_id, uint8_t usage, bool immed, uint16_t c, uint16_t s,
    uint16_t i)
{
	memset(pl, 0, sizeof(pl));
	pl[0] = 0x01;
	pl[1] = (uint8_t)(usage << 3);
	put_be16(pl + 2, 0x20);
	pl[15] = immed ? 0x01 : 0x00;
	put_be32(pl + 20, list_id);
	put_be16(pl + 42, c);
	put_be16(pl + 44, s);
	put_be16(pl + 46, i);
	return XCOPY_LID4_HDR;
}

static size_t
e4(size_t off, uint32_t bl)
{
	uint8_t *d = pl + off;

	memset(d, 0, 32);
	d[0] = 0xe4;
	d[4] = 0x01;			/* binary */
	d[5] = 0x03;			/* LU, NAA */
	d[7] = 16;
	memcpy(d + 8, naa, 16);
	put_be24(d + 29, bl);
	return off + 32;
}

static size_t
b2b(size_t off, uint16_t src, uint16_t dst, uint16_t n, uint64_t sl,
    uint64_t dl)
{
	uint8_t *d = pl + off;

	memset(d, 0, 28);
	d[0] = 0x02;
	put_be16(d + 2, 0x18);
	put_be16(d + 4, src);
	put_be16(d + 6, dst);
	put_be16(d + 10, n);
	put_be64(d + 12, sl);
	put_be64(d + 20, dl);
	return off + 28;
}

static enum sense_reason
parse(size_t len, bool lid4, struct copy_plan *p, struct sense_detail *sd)
{
	return xcopy_parse(pl, len, lid4, tpc_limits(), p, sd);
}

/* Expect reason r and field pointer fp (-1: none), bit (-1: none). */
static void
expect(size_t len, bool lid4, enum sense_reason r, int fp, int bit)
{
	struct copy_plan p;
	struct sense_detail sd;
	enum sense_reason got = parse(len, lid4, &p, &sd);

	ck_assert_int_eq(got, r);
	if (fp < 0) {
		ck_assert(!sd.sks_valid);
	} else {
		ck_assert(sd.sks_valid);
		ck_assert(!sd.sks_cdb);
		ck_assert_int_eq(sd.sks_field, fp);
		ck_assert_int_eq(sd.sks_bpv, bit >= 0);
		if (bit >= 0)
			ck_assert_int_eq(sd.sks_bit, bit);
	}
	if (got == SENSE_OK)
		copy_plan_fini(&p);
	else
		ck_assert(p.cscd == NULL && p.seg == NULL);
}

START_TEST(t_valid_lid1)
{
	struct copy_plan p;
	struct sense_detail sd;
	size_t off = hdr1(7, XCOPY_USAGE_HOLD, 64, 56, 0);

	off = e4(off, 512);
	off = e4(off, 4096);
	off = b2b(off, 0, 1, 2048, 5, 9);
	pl[off - 28 + 1] = 0x02;	/* DC */
	off = b2b(off, 0xffff, 0xc000, 0, 0, 0);
	ck_assert_int_eq(parse(off, false, &p, &sd), SENSE_OK);
	ck_assert_int_eq(p.list_id, 7);
	ck_assert_int_eq(p.usage, XCOPY_USAGE_HOLD);
	ck_assert_int_eq(p.n_cscd, 2);
	ck_assert_int_eq(p.n_seg, 2);
	ck_assert_int_eq(p.cscd[1].block_len, 4096);
	ck_assert_int_eq(p.cscd[0].desig_len, 16);
	ck_assert_int_eq(p.cscd[0].desig_type, 3);
	ck_assert_int_eq(p.seg[0].count, 2048);
	ck_assert(p.seg[0].dc);
	ck_assert_int_eq(p.seg[0].src_lba, 5);
	ck_assert_int_eq(p.seg[0].dst_lba, 9);
	ck_assert_int_eq(p.seg[0].off, 16 + 64);
	ck_assert_int_eq(p.seg[1].src, 0xffff);
	copy_plan_fini(&p);
	/* length 0: nothing, GOOD */
	expect(0, false, SENSE_OK, -1, -1);
}
END_TEST

START_TEST(t_valid_lid4)
{
	struct copy_plan p;
	struct sense_detail sd;
	size_t off = hdr4(0x12345678, XCOPY_USAGE_HOLD, true, 32, 28, 0);

	off = e4(off, 512);
	off = b2b(off, 0, 0, 8, 0, 100);
	ck_assert_int_eq(parse(off, true, &p, &sd), SENSE_OK);
	ck_assert(p.lid4 && p.immed);
	ck_assert_int_eq(p.list_id, 0x12345678);
	ck_assert_int_eq(p.seg[0].off, 48 + 32);
	copy_plan_fini(&p);
}
END_TEST

/* Steps 1-3: PARAMETER LIST LENGTH ERROR */
START_TEST(t_lengths)
{
	size_t off = hdr1(1, 0, 32, 28, 0);

	off = e4(off, 512);
	off = b2b(off, 0, 0, 1, 0, 1);
	/* libiscsi ParamHdr: truncated by one byte in each list */
	expect(16 + 32 - 1, false, SENSE_PARAM_LIST_LENGTH_ERROR, -1, -1);
	expect(16 + 32 + 28 - 1, false, SENSE_PARAM_LIST_LENGTH_ERROR, -1,
	    -1);
	expect(15, false, SENSE_PARAM_LIST_LENGTH_ERROR, -1, -1);
	expect(47, true, SENSE_PARAM_LIST_LENGTH_ERROR, -1, -1);
	/* 3: lists longer than MAXIMUM DESCRIPTOR LIST LENGTH, even with
	 * too many CSCDs (DescrLimits list 3) */
	hdr1(3, 0, 65 * 32, 65536 - 65 * 32 + 28, 0);
	expect(16 + 65536 + 28, false, SENSE_PARAM_LIST_LENGTH_ERROR, -1,
	    -1);
	/* LID4: two 16-bit lengths can exceed the 64 KiB limit */
	hdr4(1, 0, false, 65535, 65535, 0);
	expect(48 + 131070, true, SENSE_PARAM_LIST_LENGTH_ERROR, -1, -1);
}
END_TEST

START_TEST(t_inline)
{
	size_t off = hdr1(1, 0, 32, 28, 4);

	off = e4(off, 512);
	off = b2b(off, 0, 0, 1, 0, 1);
	expect(off + 4, false, SENSE_INLINE_DATA_LENGTH_EXCEEDED, 12, -1);
	off = hdr4(1, 0, false, 32, 28, 4);
	off = e4(off, 512);
	off = b2b(off, 0, 0, 1, 0, 1);
	expect(off + 4, true, SENSE_INLINE_DATA_LENGTH_EXCEEDED, 46, -1);
	/* length error wins over inline */
	expect(off + 3, true, SENSE_PARAM_LIST_LENGTH_ERROR, -1, -1);
}
END_TEST

/* Step 5: counts, before types */
START_TEST(t_counts)
{
	const struct tpc_limits *l = tpc_limits();
	size_t off;
	unsigned int i;

	off = hdr1(1, 0, (uint16_t)((l->max_cscd + 1) * 32), 28, 0);
	for (i = 0; i < l->max_cscd + 1u; i++)
		off = e4(off, 512);
	off = b2b(off, 0, 0, 1, 0, 1);
	expect(off, false, SENSE_TOO_MANY_TARGET_DESC, -1, -1);
	/* exactly the maximum is fine */
	off = hdr1(1, 0, (uint16_t)(l->max_cscd * 32), 28, 0);
	for (i = 0; i < l->max_cscd; i++)
		off = e4(off, 512);
	off = b2b(off, 0, 0, 1, 0, 1);
	expect(off, false, SENSE_OK, -1, -1);
	off = hdr1(2, 0, 32, (l->max_segs + 1u) * 28, 0);
	off = e4(off, 512);
	for (i = 0; i < l->max_segs + 1u; i++)
		off = b2b(off, 0, 0, 1, 0, 1);
	expect(off, false, SENSE_TOO_MANY_SEGMENT_DESC, -1, -1);
	/* too many segments and a bad type: the count wins */
	pl[16 + 32] = 0x03;
	expect(off, false, SENSE_TOO_MANY_SEGMENT_DESC, -1, -1);
	off = hdr1(2, 0, 32, l->max_segs * 28u, 0);
	off = e4(off, 512);
	for (i = 0; i < l->max_segs; i++)
		off = b2b(off, 0, 0, 1, 0, 1);
	expect(off, false, SENSE_OK, -1, -1);
}
END_TEST

/* Step 6: type codes (libiscsi DescrType) */
START_TEST(t_types)
{
	size_t off = hdr1(1, 0, 32, 28, 0);

	off = e4(off, 512);
	pl[16] = 0xe0;
	off = b2b(off, 0, 0, 1, 0, 1);
	expect(off, false, SENSE_UNSUPPORTED_TARGET_DESC, 16, -1);
	/* one 20-byte 03h segment: 26/09, not a length error */
	off = hdr1(1, 0, 32, 20, 0);
	off = e4(off, 512);
	memset(pl + off, 0, 20);
	pl[off] = 0x03;
	put_be16(pl + off + 2, 0x10);
	expect(off + 20, false, SENSE_UNSUPPORTED_SEGMENT_DESC, 48, -1);
	/* every code we do not implement */
	for (unsigned int t = 0; t < 0x100; t++) {
		size_t o2 = hdr1(1, 0, 32, 32, 0);

		o2 = e4(o2, 512);
		memset(pl + o2, 0, 32);
		pl[o2] = (uint8_t)t;
		put_be16(pl + o2 + 2, 28);
		if (tpc_seg_supported((uint8_t)t))
			continue;
		expect(o2 + 32, false, SENSE_UNSUPPORTED_SEGMENT_DESC, 48,
		    -1);
	}
	/* a bad CSCD type and a bad segment type: CSCD first */
	off = hdr1(1, 0, 32, 20, 0);
	off = e4(off, 512);
	pl[16] = 0xe5;
	pl[off] = 0x03;
	put_be16(pl + off + 2, 0x10);
	expect(off + 20, false, SENSE_UNSUPPORTED_TARGET_DESC, 16, -1);
}
END_TEST

/* Step 7: field errors with pointers */
START_TEST(t_fields)
{
	size_t off;

	/* LIST ID USAGE 01b, 11b with a list ID */
	off = hdr1(1, XCOPY_USAGE_RSVD, 32, 28, 0);
	off = e4(off, 512);
	off = b2b(off, 0, 0, 1, 0, 1);
	expect(off, false, SENSE_INVALID_FIELD_IN_PARAM, 1, 4);
	pl[1] = XCOPY_USAGE_NONE << 3;
	expect(off, false, SENSE_INVALID_FIELD_IN_PARAM, 0, -1);
	pl[0] = 0;
	expect(off, false, SENSE_OK, -1, -1);
	/* LID4: list format, header length, list ID, IMMED without ID */
	off = hdr4(5, XCOPY_USAGE_NONE, false, 32, 28, 0);
	off = e4(off, 512);
	off = b2b(off, 0, 0, 1, 0, 1);
	expect(off, true, SENSE_INVALID_FIELD_IN_PARAM, 20, -1);
	put_be32(pl + 20, 0);
	expect(off, true, SENSE_OK, -1, -1);
	pl[15] = 1;
	expect(off, true, SENSE_INVALID_FIELD_IN_PARAM, 15, 0);
	pl[15] = 0;
	pl[0] = 2;
	expect(off, true, SENSE_INVALID_FIELD_IN_PARAM, 0, -1);
	pl[0] = 1;
	pl[3] = 0x40;
	expect(off, true, SENSE_INVALID_FIELD_IN_PARAM, 2, -1);
	/* truncated lists */
	off = hdr1(1, 0, 40, 28, 0);
	off = e4(off, 512);
	off = b2b(off + 8, 0, 0, 1, 0, 1);
	expect(off, false, SENSE_INVALID_FIELD_IN_PARAM, 2, -1);
	off = hdr1(1, 0, 32, 30, 0);
	off = e4(off, 512);
	off = b2b(off, 0, 0, 1, 0, 1);
	expect(off + 2, false, SENSE_INVALID_FIELD_IN_PARAM, 8, -1);
	/* CSCD: code set, designator length */
	off = hdr1(1, 0, 64, 28, 0);
	off = e4(off, 512);
	off = e4(off, 512);
	off = b2b(off, 0, 1, 1, 0, 1);
	pl[48 + 4] = 0x05;
	expect(off, false, SENSE_INVALID_FIELD_IN_PARAM, 48 + 4, 3);
	pl[48 + 4] = 0x01;
	pl[48 + 7] = 21;
	expect(off, false, SENSE_INVALID_FIELD_IN_PARAM, 48 + 7, -1);
	pl[48 + 7] = 16;
	expect(off, false, SENSE_OK, -1, -1);
	/* segment: descriptor length (the list grows with it), reserved
	 * CSCD IDs */
	put_be16(pl + 80 + 2, 0x1c);
	put_be32(pl + 8, 32);
	expect(off + 4, false, SENSE_INVALID_FIELD_IN_PARAM, 80 + 2, -1);
	put_be16(pl + 80 + 2, 0x18);
	put_be32(pl + 8, 28);
	put_be16(pl + 80 + 4, 0x0800);
	expect(off, false, SENSE_INVALID_FIELD_IN_PARAM, 80 + 4, -1);
	put_be16(pl + 80 + 4, 0xf800);
	expect(off, false, SENSE_INVALID_FIELD_IN_PARAM, 80 + 4, -1);
	put_be16(pl + 80 + 4, 0);
	put_be16(pl + 80 + 6, 0xc001);
	expect(off, false, SENSE_INVALID_FIELD_IN_PARAM, 80 + 6, -1);
	/* an index past the list is a copy error (0D/02), not a field */
	put_be16(pl + 80 + 6, 0x07ff);
	expect(off, false, SENSE_OK, -1, -1);
	/* header errors come before descriptor errors */
	pl[48 + 7] = 21;
	pl[1] = XCOPY_USAGE_RSVD << 3;
	expect(off, false, SENSE_INVALID_FIELD_IN_PARAM, 1, 4);
}
END_TEST

START_TEST(t_other_segs)
{
	struct copy_plan p;
	struct sense_detail sd;
	size_t off = hdr1(1, 0, 32, 12 + 28 + 32 + 28 + 28, 0);

	off = e4(off, 512);
	/* 07h verify with TUR */
	memset(pl + off, 0, 12);
	pl[off] = 0x07;
	put_be16(pl + off + 2, 8);
	pl[off + 8] = 1;
	off += 12;
	/* 14h register key */
	memset(pl + off, 0, 28);
	pl[off] = 0x14;
	put_be16(pl + off + 2, 0x18);
	put_be16(pl + off + 6, 0);
	put_be64(pl + off + 8, 0x1111);
	put_be64(pl + off + 16, 0x2222);
	off += 28;
	/* 0Ah with byte offsets */
	memset(pl + off, 0, 32);
	pl[off] = 0x0a;
	put_be16(pl + off + 2, 0x1c);
	put_be32(pl + off + 8, 1000);
	put_be64(pl + off + 12, 3);
	put_be64(pl + off + 20, 4);
	put_be16(pl + off + 28, 10);
	put_be16(pl + off + 30, 24);
	off += 32;
	/* 0Dh and 16h */
	off = b2b(off, 0, 0, 4, 0, 8);
	pl[off - 28] = 0x0d;
	off = b2b(off, 0, 0, 0, 0, 0);
	pl[off - 28] = 0x16;
	ck_assert_int_eq(parse(off, false, &p, &sd), SENSE_OK);
	ck_assert_int_eq(p.n_seg, 5);
	ck_assert(p.seg[0].tur);
	ck_assert_int_eq(p.seg[1].res_key, 0x1111);
	ck_assert_int_eq(p.seg[1].sa_res_key, 0x2222);
	ck_assert_int_eq(p.seg[2].count, 1000);
	ck_assert_int_eq(p.seg[2].src_boff, 10);
	ck_assert_int_eq(p.seg[2].dst_boff, 24);
	ck_assert_int_eq(p.seg[3].type, 0x0d);
	ck_assert_int_eq(p.seg[4].type, 0x16);
	copy_plan_fini(&p);
	/* 0Ah longer than MAXIMUM SEGMENT LENGTH */
	put_be32(pl + 16 + 32 + 12 + 28 + 8, tpc_limits()->max_seg_len + 1);
	expect(off, false, SENSE_INVALID_FIELD_IN_PARAM,
	    16 + 32 + 12 + 28 + 8, -1);
	/* 07h with a bad length, alone in its list */
	off = hdr1(1, 0, 32, 16, 0);
	off = e4(off, 512);
	memset(pl + off, 0, 16);
	pl[off] = 0x07;
	put_be16(pl + off + 2, 12);
	expect(off + 16, false, SENSE_INVALID_FIELD_IN_PARAM, 16 + 32 + 2,
	    -1);
}
END_TEST

/* Limits: op params, VPD 8Fh and the parser agree */
START_TEST(t_limits)
{
	const struct tpc_limits *l = tpc_limits();
	uint8_t b[512], v[2048];
	size_t n = tpc_oper_params(b, sizeof(b)), vn, off;
	bool seen[4] = { false };
	unsigned int i;

	ck_assert_uint_ge(l->max_cscd, 64);
	ck_assert_uint_ge(l->max_segs, 256);
	ck_assert_uint_ge(l->max_desc_list_len, 65536);
	ck_assert_uint_ge(l->max_seg_len, 65535u * 4096u);
	ck_assert_uint_ge(get_be32(b), 40);
	ck_assert_int_eq(get_be32(b), n - 4);
	ck_assert_int_eq(b[4] & 1, 1);
	ck_assert_int_eq(get_be16(b + 8), l->max_cscd);
	ck_assert_int_eq(get_be16(b + 10), l->max_segs);
	ck_assert_int_eq(get_be32(b + 12), l->max_desc_list_len);
	ck_assert_int_eq(get_be32(b + 16), l->max_seg_len);
	ck_assert_int_eq(b[43], l->n_codes);
	for (i = 1; i < l->n_codes; i++)
		ck_assert_int_lt(b[44 + i - 1], b[44 + i]);
	ck_assert(memchr(b + 44, 0x02, b[43]) != NULL);
	ck_assert(memchr(b + 44, 0x0a, b[43]) != NULL);
	ck_assert(memchr(b + 44, 0xe4, b[43]) != NULL);
	/* truncation never overruns */
	memset(b, 0xee, sizeof(b));
	tpc_oper_params(b, 5);
	ck_assert_int_eq(b[5], 0xee);
	/* VPD 8Fh */
	memset(v, 0, sizeof(v));
	vn = tpc_vpd_page(NULL, v, sizeof(v));
	for (off = 4; off + 4 <= vn;) {
		uint16_t t = get_be16(v + off), dl = get_be16(v + off + 2);
		const uint8_t *d = v + off;

		ck_assert_int_eq(dl % 4, 0);
		if (t == 0x0004) {
			seen[0] = true;
			ck_assert_int_eq(get_be16(d + 8), l->max_cscd);
			ck_assert_int_eq(get_be16(d + 10), l->max_segs);
			ck_assert_int_eq(get_be32(d + 12),
			    l->max_desc_list_len);
		} else if (t == 0x0008) {
			seen[1] = true;
			ck_assert_int_eq(d[4], l->n_codes);
			ck_assert(memcmp(d + 5, l->codes, l->n_codes) == 0);
		} else if (t == 0x000c) {
			seen[2] = true;
			ck_assert_int_eq(get_be16(d + 4), 2 * l->n_ids);
		} else if (t == 0x8001) {
			seen[3] = true;
			ck_assert_int_eq(get_be32(d + 12), l->max_seg_len);
		}
		off += 4 + dl;
	}
	ck_assert_int_eq(off, vn);
	for (i = 0; i < 4; i++)
		ck_assert(seen[i]);
	/* tiny buffer: whole descriptors only */
	ck_assert_int_le(tpc_vpd_page(NULL, v, 10), 10);
}
END_TEST

START_TEST(t_vpd83_match)
{
	struct xcopy_cscd c;
	uint8_t vpd[128];
	size_t n = 4;

	memset(vpd, 0, sizeof(vpd));
	vpd[1] = 0x83;
	/* target port designator with the same bytes: must not match */
	vpd[n] = 0x51;
	vpd[n + 1] = 0x93;
	vpd[n + 3] = 16;
	memcpy(vpd + n + 4, naa, 16);
	n += 20;
	/* T10 vendor ID, LU */
	vpd[n] = 0x02;
	vpd[n + 1] = 0x01;
	vpd[n + 3] = 12;
	memcpy(vpd + n + 4, "TPCD    abcd", 12);
	n += 16;
	put_be16(vpd + 2, (uint16_t)(n - 4));
	memset(&c, 0, sizeof(c));
	c.code_set = 1;
	c.desig_type = 3;
	c.desig_len = 16;
	memcpy(c.desig, naa, 16);
	ck_assert(!xcopy_vpd83_match(&c, vpd, n));
	/* now as an LU designator */
	vpd[4 + 1] = 0x03;
	ck_assert(xcopy_vpd83_match(&c, vpd, n));
	c.desig[15] ^= 1;
	ck_assert(!xcopy_vpd83_match(&c, vpd, n));
	c.code_set = 2;
	c.desig_type = 1;
	c.desig_len = 12;
	memcpy(c.desig, "TPCD    abcd", 12);
	ck_assert(xcopy_vpd83_match(&c, vpd, n));
	c.assoc = 2;
	ck_assert(!xcopy_vpd83_match(&c, vpd, n));
	c.assoc = 0;
	/* a page length that cuts the descriptor: no match, no overrun */
	put_be16(vpd + 2, 20 + 8);
	ck_assert(!xcopy_vpd83_match(&c, vpd, n));
}
END_TEST

/* Reference model of one segment's bytes (SPC-4 6.4.6.5, 6.4.6.7). */
struct model {
	uint64_t so, dof, len, pad;
	bool inexact;
};

static struct model
ref_range(const struct xcopy_seg *s, uint32_t sbs, uint32_t dbs, bool pad)
{
	struct model m = { 0 };
	uint64_t end;

	if (s->type == 0x0a) {
		m.so = s->src_lba * sbs + s->src_boff;
		m.dof = s->dst_lba * dbs + s->dst_boff;
		m.len = s->count;
	} else {
		m.so = s->src_lba * sbs;
		m.dof = s->dst_lba * dbs;
		m.len = (uint64_t)s->count * (s->dc ? dbs : sbs);
	}
	end = m.dof + m.len;
	if (m.len && end % dbs) {
		if (pad)
			m.pad = dbs - end % dbs;
		else
			m.inexact = true;
	}
	return m;
}

/* Trivial synchronous copier (test only): apply a range to memory. */
static void
mem_apply(const uint8_t *src, uint8_t *dst, const struct xcopy_range *r)
{
	memmove(dst + r->dst_off, src + r->src_off, r->len);
	memset(dst + r->dst_off + r->len, 0, r->pad_len);
}

START_TEST(t_seg_range_model)
{
	static const uint32_t bss[] = { 512, 4096 };
	uint8_t *src = malloc(1 << 20), *dst = malloc(1 << 20);
	uint8_t *exp = malloc(1 << 20);
	unsigned int i, iter;
	uint32_t seed = 12345;

	for (i = 0; i < (1u << 20); i++)
		src[i] = (uint8_t)(i * 7 + 3);
	for (iter = 0; iter < 5000; iter++) {
		struct xcopy_seg s;
		struct xcopy_range r;
		struct model m;
		enum sense_reason rc;
		uint32_t sbs, dbs;
		bool pad;

		seed = seed * 1103515245u + 12345u;
		memset(&s, 0, sizeof(s));
		s.type = (seed >> 8) % 3 == 0 ? 0x0a : ((seed >> 8) % 3 == 1 ?
		    0x02 : 0x0d);
		sbs = bss[(seed >> 12) & 1];
		dbs = bss[(seed >> 13) & 1];
		pad = (seed >> 14) & 1;
		s.dc = (seed >> 15) & 1;
		s.src_lba = (seed >> 16) % 16;
		seed = seed * 1103515245u + 12345u;
		s.dst_lba = (seed >> 16) % 16;
		if (s.type == 0x0a) {
			s.count = (seed >> 4) % 20000;
			s.src_boff = (uint16_t)((seed >> 20) % 600);
			s.dst_boff = (uint16_t)((seed >> 10) % 600);
		} else {
			s.count = (seed >> 4) % 40;
		}
		rc = xcopy_seg_range(&s, sbs, dbs, pad, tpc_limits(), &r);
		m = ref_range(&s, sbs, dbs, pad);
		if (m.inexact) {
			ck_assert_int_eq(rc, SENSE_COPY_INEXACT_SEGMENT);
			continue;
		}
		ck_assert_int_eq(rc, SENSE_OK);
		ck_assert_uint_eq(r.src_off, m.so);
		ck_assert_uint_eq(r.dst_off, m.dof);
		ck_assert_uint_eq(r.len, m.len);
		ck_assert_uint_eq(r.pad_len, m.pad);
		/* every destination block written is whole */
		ck_assert_uint_eq((r.dst_off + r.len + r.pad_len) % dbs == 0 ||
		    r.len == 0, 1);
		/* data lands where the model says */
		memset(dst, 0xaa, 1 << 20);
		mem_apply(src, dst, &r);
		memset(exp, 0xaa, 1 << 20);
		for (i = 0; i < m.len; i++)
			exp[m.dof + i] = src[m.so + i];
		for (i = 0; i < m.pad; i++)
			exp[m.dof + m.len + i] = 0;
		ck_assert(memcmp(dst, exp, 1 << 20) == 0);
	}
	free(src);
	free(dst);
	free(exp);
}
END_TEST

START_TEST(t_seg_range_edges)
{
	struct xcopy_seg s;
	struct xcopy_range r;

	memset(&s, 0, sizeof(s));
	s.type = 0x02;
	s.count = 65535;
	/* the whole 02h field on 4096-byte blocks fits the limit */
	ck_assert_int_eq(xcopy_seg_range(&s, 4096, 4096, false, tpc_limits(),
	    &r), SENSE_OK);
	ck_assert_uint_eq(r.len, 65535ull * 4096);
	s.src_lba = UINT64_MAX / 512 + 1;
	ck_assert_int_eq(xcopy_seg_range(&s, 512, 512, false, tpc_limits(),
	    &r), SENSE_LBA_OUT_OF_RANGE);
	s.src_lba = 0;
	s.dst_lba = UINT64_MAX / 512;
	ck_assert_int_eq(xcopy_seg_range(&s, 512, 512, false, tpc_limits(),
	    &r), SENSE_LBA_OUT_OF_RANGE);
	s.dst_lba = 0;
	s.count = 1;
	ck_assert_int_eq(xcopy_seg_range(&s, 512, 0, false, tpc_limits(),
	    &r), SENSE_COPY_INCORRECT_TARGET_TYPE);
}
END_TEST

START_TEST(t_copy_sense)
{
	struct sense_copy sc;
	uint8_t b[SCSI_SENSE_MAX], fwd[18], st, n;

	memset(fwd, 0, sizeof(fwd));
	fwd[0] = 0x70;
	fwd[2] = 0x05;
	fwd[12] = 0x21;
	memset(&sc, 0, sizeof(sc));
	sc.seg_valid = true;
	sc.seg = 3;
	sc.sks_valid = true;
	sc.sks_sd = true;
	sc.sks_field = 20;
	sc.fwd_src = 2;
	sc.fwd_status = SAM_STAT_CHECK_CONDITION;
	sc.fwd = fwd;
	sc.fwd_len = sizeof(fwd);
	n = sense_build_copy(SENSE_COPY_TARGET_NOT_REACHABLE, &sc, false, b,
	    sizeof(b), &st);
	ck_assert_int_eq(st, SAM_STAT_CHECK_CONDITION);
	ck_assert_int_eq(n, 19 + 18);
	ck_assert_int_eq(b[0], 0x70);
	ck_assert_int_eq(b[2], SENSE_KEY_COPY_ABORTED);
	ck_assert_int_eq(b[7], n - 8);
	ck_assert_int_eq(b[8], 0);		/* no source sense */
	ck_assert_int_eq(b[9], 18);		/* destination sense at 18 */
	ck_assert_int_eq(get_be16(b + 10), 3);	/* segment number */
	ck_assert_int_eq(b[12], 0x0d);
	ck_assert_int_eq(b[13], 0x02);
	ck_assert_int_eq(b[15], 0xa0);		/* SKSV, SD */
	ck_assert_int_eq(get_be16(b + 16), 20);
	ck_assert_int_eq(b[18], SAM_STAT_CHECK_CONDITION);
	ck_assert_int_eq(b[19 + 12], 0x21);
	/* descriptor format: CSI, SKS, forwarded sense */
	n = sense_build_copy(SENSE_COPY_TPD_FAILURE, &sc, true, b, sizeof(b),
	    &st);
	ck_assert_int_eq(b[0], 0x72);
	ck_assert_int_eq(b[1], SENSE_KEY_COPY_ABORTED);
	ck_assert_int_eq(b[2], 0x0d);
	ck_assert_int_eq(b[3], 0x01);
	ck_assert_int_eq(b[8], 0x01);
	ck_assert_int_eq(get_be64(b + 12), 3);
	ck_assert_int_eq(b[20], 0x02);
	ck_assert_int_eq(b[28], 0x0c);
	ck_assert_int_eq(b[30], 0x02);
	ck_assert_int_eq(b[31], SAM_STAT_CHECK_CONDITION);
	ck_assert_int_eq(b[7], n - 8);
	/* status-only reasons build nothing */
	n = sense_build_copy(SENSE_TASK_ABORTED, &sc, false, b, sizeof(b),
	    &st);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(st, SAM_STAT_TASK_ABORTED);
	/* small buffers are never overrun */
	memset(b, 0xee, sizeof(b));
	n = sense_build_copy(SENSE_COPY_TPD_FAILURE, &sc, false, b, 10, &st);
	ck_assert_int_eq(n, 10);
	ck_assert_int_eq(b[10], 0xee);
}
END_TEST

/* All 256 opcodes x SAs of 83h/84h: table entries have sane masks. */
START_TEST(t_table)
{
	static const uint8_t out[] = { 0x00, 0x01, 0x1c };
	static const uint8_t in[] = { 0x00, 0x01, 0x03, 0x04, 0x05, 0x06 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(out); i++) {
		ck_assert_ptr_nonnull(scsi_ops[0x83].sa[out[i]].exec);
		ck_assert_int_eq(scsi_ops[0x83].sa[out[i]].cdb_len, 16);
	}
	for (i = 0; i < ARRAY_SIZE(in); i++) {
		ck_assert_ptr_nonnull(scsi_ops[0x84].sa[in[i]].exec);
		ck_assert(scsi_ops[0x84].sa[in[i]].flags & OP_DATA_IN);
		ck_assert_int_eq(scsi_ops[0x84].sa[in[i]].usage[10], 0xff);
	}
	ck_assert(scsi_op_has_sa(0x83));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("xcopy_parse");
	TCase *tc = tcase_create("parse");
	SRunner *sr;
	int nf;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, t_valid_lid1);
	tcase_add_test(tc, t_valid_lid4);
	tcase_add_test(tc, t_lengths);
	tcase_add_test(tc, t_inline);
	tcase_add_test(tc, t_counts);
	tcase_add_test(tc, t_types);
	tcase_add_test(tc, t_fields);
	tcase_add_test(tc, t_other_segs);
	tcase_add_test(tc, t_limits);
	tcase_add_test(tc, t_vpd83_match);
	tcase_add_test(tc, t_seg_range_model);
	tcase_add_test(tc, t_seg_range_edges);
	tcase_add_test(tc, t_copy_sense);
	tcase_add_test(tc, t_table);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
