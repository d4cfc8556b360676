/*
 * fuzz_odx_parse.c - POPULATE TOKEN and WRITE USING TOKEN parameter lists
 * into odx_parse_pt() / odx_parse_wut(), then odx_map() over what they
 * accepted.
 *
 * Input: byte 0 bit 0 selects WUT, bits 1-2 the LU block size, bits 3-4
 * its capacity; the rest is the parameter list.  Properties: an accepted
 * list respects the limits, every range lies inside the LU and no two
 * overlap, the sum matches; a rejected one carries a field pointer inside
 * the list (or none) and never a bogus reason; the mapping never covers
 * more than either side holds and its pieces stay inside the ranges.
 */
#include "fuzz.h"
#include "scsi.h"
#include "sense.h"
#include "xcopy/odx.h"
#include "xcopy/xcopy.h"

static struct odx_pt pt;
static struct odx_wut wut;

struct map_ck {
	const struct odx_range *src, *dst;
	unsigned int	 ns, nd;
	uint32_t	 bs;
	uint64_t	 total;
};

static bool
inside(const struct odx_range *r, unsigned int n, uint32_t bs, uint64_t off,
    uint64_t len)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (off >= r[i].lba * bs &&
		    off + len <= (r[i].lba + r[i].nblocks) * bs)
			return true;
	return false;
}

static void
emit(void *arg, uint64_t s, uint64_t d, uint64_t n)
{
	struct map_ck *m = arg;

	FUZZ_CHECK(n > 0);
	FUZZ_CHECK(inside(m->src, m->ns, m->bs, s, n));
	FUZZ_CHECK(inside(m->dst, m->nd, m->bs, d, n));
	m->total += n;
}

static bool
disjoint(const struct odx_range *r, unsigned int n)
{
	unsigned int i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++)
			if (r[i].nblocks && r[j].nblocks &&
			    r[i].lba < r[j].lba + r[j].nblocks &&
			    r[j].lba < r[i].lba + r[i].nblocks)
				return false;
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t bss[] = { 512, 4096, 520, 1024 };
	static const uint64_t caps[] = { 1ull << 20, 64, 1ull << 40, 0 };
	const struct tpc_limits *lim = tpc_limits();
	struct odx_lu_geom g;
	struct sense_detail sd;
	enum sense_reason rc;
	struct map_ck m;
	uint64_t sum, done;
	unsigned int i;
	size_t len;

	if (size < 1)
		return 0;
	g.block_size = bss[(data[0] >> 1) & 3];
	g.nblocks = caps[(data[0] >> 3) & 3];
	len = size - 1;
	if (data[0] & 1)
		rc = odx_parse_wut(data + 1, len, &g, lim, &wut, &sd);
	else
		rc = odx_parse_pt(data + 1, len, &g, lim, &pt, &sd);
	if (rc != SENSE_OK) {
		FUZZ_CHECK(rc == SENSE_PARAM_LIST_LENGTH_ERROR ||
		    rc == SENSE_INVALID_FIELD_IN_PARAM ||
		    rc == SENSE_TOO_MANY_SEGMENT_DESC ||
		    rc == SENSE_LBA_OUT_OF_RANGE ||
		    rc == SENSE_TOKEN_INVALID_LENGTH ||
		    rc == SENSE_TOKEN_UNSUPPORTED_TYPE);
		FUZZ_CHECK(!sd.sks_valid || sd.sks_field < len);
		return 0;
	}
	if (data[0] & 1) {
		FUZZ_CHECK(wut.n_ranges >= 1 && wut.n_ranges <= lim->max_ranges);
		FUZZ_CHECK(odx_rod_type_usable(wut.rod_type));
		for (i = 0, sum = 0; i < wut.n_ranges; i++) {
			FUZZ_CHECK(wut.ranges[i].lba + wut.ranges[i].nblocks <=
			    g.nblocks);
			sum += wut.ranges[i].nblocks;
		}
		FUZZ_CHECK(sum == wut.total_blocks);
		FUZZ_CHECK(disjoint(wut.ranges, wut.n_ranges));
		/* the destination ranges as a ROD onto themselves */
		memset(&m, 0, sizeof(m));
		m.src = m.dst = wut.ranges;
		m.ns = m.nd = wut.n_ranges;
		m.bs = g.block_size;
		done = odx_map(wut.ranges, wut.n_ranges, g.block_size,
		    wut.offset % (sum * g.block_size + 1), wut.ranges,
		    wut.n_ranges, g.block_size, emit, &m);
		FUZZ_CHECK(done == m.total);
		FUZZ_CHECK(done <= sum * g.block_size);
		return 0;
	}
	FUZZ_CHECK(pt.n_ranges >= 1 && pt.n_ranges <= lim->max_ranges);
	FUZZ_CHECK(pt.inactivity_s >= 1 &&
	    pt.inactivity_s <= lim->max_inactivity_s);
	FUZZ_CHECK(!pt.rtv || odx_rod_type_creatable(pt.rod_type));
	for (i = 0, sum = 0; i < pt.n_ranges; i++) {
		FUZZ_CHECK(pt.ranges[i].lba + pt.ranges[i].nblocks <=
		    g.nblocks);
		sum += pt.ranges[i].nblocks;
	}
	FUZZ_CHECK(sum == pt.total_blocks);
	FUZZ_CHECK(sum * g.block_size <= lim->max_token_bytes);
	FUZZ_CHECK(disjoint(pt.ranges, pt.n_ranges));
	return 0;
}
