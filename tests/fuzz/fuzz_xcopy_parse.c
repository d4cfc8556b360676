/*
 * fuzz_xcopy_parse.c - EXTENDED COPY parameter lists (LID1 and LID4) into
 * xcopy_parse(), then the segment arithmetic and the copy sense builder
 * over what it accepted.
 *
 * Input: byte 0 bit 0 selects LID4, bits 1-2 the block sizes; the rest is
 * the parameter list.  Properties: an accepted plan respects the limits
 * and every descriptor lies inside the list; a rejected one carries a
 * field pointer inside the list (or none) and allocates nothing; ranges
 * never overflow; sense never exceeds its buffer.
 */
#include "fuzz.h"
#include "scsi.h"
#include "sense.h"
#include "xcopy/xcopy.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t bss[] = { 512, 1024, 4096, 520 };
	const struct tpc_limits *lim = tpc_limits();
	struct copy_plan pl;
	struct sense_detail sd;
	struct xcopy_range r;
	struct sense_copy sc;
	enum sense_reason rc;
	uint8_t sense[SCSI_SENSE_MAX], st;
	unsigned int i;
	bool lid4;

	if (size < 1)
		return 0;
	lid4 = data[0] & 1;
	rc = xcopy_parse(data + 1, size - 1, lid4, lim, &pl, &sd);
	if (rc != SENSE_OK) {
		FUZZ_CHECK(pl.cscd == NULL && pl.seg == NULL);
		FUZZ_CHECK(!sd.sks_valid || sd.sks_field < size - 1);
		return 0;
	}
	FUZZ_CHECK(pl.n_cscd <= lim->max_cscd);
	FUZZ_CHECK(pl.n_seg <= lim->max_segs);
	for (i = 0; i < pl.n_cscd; i++) {
		FUZZ_CHECK(pl.cscd[i].off + 32 <= size - 1);
		FUZZ_CHECK(pl.cscd[i].desig_len <= XCOPY_DESIG_MAX);
	}
	for (i = 0; i < pl.n_seg; i++) {
		const struct xcopy_seg *s = &pl.seg[i];
		uint32_t sbs = bss[(data[0] >> 1) & 3];
		uint32_t dbs = bss[(data[0] >> 3) & 3];

		FUZZ_CHECK(s->off + 8 <= size - 1);
		FUZZ_CHECK(tpc_seg_supported(s->type));
		if (xcopy_seg_range(s, sbs, dbs, data[0] & 0x20, lim, &r) ==
		    SENSE_OK) {
			FUZZ_CHECK(r.len <= lim->max_seg_len);
			FUZZ_CHECK(r.dst_off + r.len + r.pad_len >= r.dst_off);
			FUZZ_CHECK(r.src_off + r.len >= r.src_off);
		}
		memset(&sc, 0, sizeof(sc));
		sc.seg_valid = true;
		sc.seg = i;
		sc.fwd = data;
		sc.fwd_len = (uint8_t)(size > 255 ? 255 : size);
		sc.fwd_src = (uint8_t)(1 + (i & 1));
		FUZZ_CHECK(sense_build_copy(SENSE_COPY_TPD_FAILURE, &sc,
		    i & 2, sense, sizeof(sense), &st) <= sizeof(sense));
	}
	copy_plan_fini(&pl);
	return 0;
}
