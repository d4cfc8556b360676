/*
 * xcopy_itest.c - EXTENDED COPY against a real tpcd (conf/xcopy.json),
 * raw CDBs through libiscsi:
 *
 *   - multi-segment LID1 and LID4 copies within one LU and across LUs
 *     (512 -> 512, 512 -> 4096 with DC), checked by checksums of the
 *     destination ranges;
 *   - validation errors with their exact sense and field pointer;
 *   - ACL scoping: an LU of another target, or of this target but not
 *     mapped for this initiator, is unreachable (COPY ABORTED 0D/02) even
 *     when named by its exact NAA; the initiator that maps it may use it;
 *   - list-ID reuse after a held completion, 00/16 while active;
 *   - RECEIVE COPY STATUS(LID4) polling of a running IMMED copy, COPY
 *     OPERATION ABORT of it (status 60h).
 *
 * "xcopy_itest tmf" (xcopy.sh runs it against a daemon with
 * TPCD_COPY_DISABLE=reflink,cfr, so copies move chunks): ABORT TASK of a
 * running 4 GiB non-IMMED copy answers long before the copy would end and
 * the copy ends 60h; LOGICAL UNIT RESET of the LU an IMMED copy (sent to
 * another LU) reads and writes ends it with 60h.
 *
 * Environment: TPCD_PORTAL (lib.sh).  Targets iqn.2026-11.org.tpcd:xa
 * (init-a: LUN 0 mem 64 MiB, LUN 1 file 1 GiB, LUN 3 file 16 MiB with
 * 4096-byte blocks; init-b: LUN 0, LUN 2 mem 16 MiB) and :xb (LUN 0).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "itest.h"

#define XA	"iqn.2026-11.org.tpcd:xa"
#define XB	"iqn.2026-11.org.tpcd:xb"
#define MIN(a, b)	((a) < (b) ? (a) : (b))

/* --- parameter lists --- */

struct plist {
	uint8_t	 b[70000];
	size_t	 c, s;		/* CSCD and segment bytes */
	bool	 lid4;
};

static void
pl_init(struct plist *p, bool lid4, uint32_t list_id, int usage, bool immed)
{
	memset(p, 0, sizeof(*p));
	p->lid4 = lid4;
	if (lid4) {
		p->b[0] = 1;
		p->b[1] = (uint8_t)(usage << 3);
		itest_put16(p->b + 2, 0x20);
		p->b[15] = immed;
		itest_put32(p->b + 20, list_id);
	} else {
		p->b[0] = (uint8_t)list_id;
		p->b[1] = (uint8_t)(usage << 3);
	}
}

static size_t
pl_hdr(const struct plist *p)
{
	return p->lid4 ? 48 : 16;
}

/* Append a CSCD (before any segment). */
static void
pl_e4(struct plist *p, const uint8_t *desig, int dlen, uint32_t bs)
{
	uint8_t *d = p->b + pl_hdr(p) + p->c;

	d[0] = 0xe4;
	memcpy(d + 4, desig, 4 + dlen);		/* code set .. designator */
	d[4] &= 0x0f;
	d[5] &= 0x3f;
	d[28] = 0;
	d[29] = (uint8_t)(bs >> 16);
	d[30] = (uint8_t)(bs >> 8);
	d[31] = (uint8_t)bs;
	p->c += 32;
}

static uint8_t *
pl_seg(struct plist *p, uint8_t type, size_t len)
{
	uint8_t *d = p->b + pl_hdr(p) + p->c + p->s;

	d[0] = type;
	itest_put16(d + 2, (uint32_t)(len - 4));
	p->s += len;
	return d;
}

static void
pl_b2b(struct plist *p, uint16_t src, uint16_t dst, uint16_t n, uint64_t sl,
    uint64_t dl, bool dc)
{
	uint8_t *d = pl_seg(p, 0x02, 28);

	d[1] = dc ? 0x02 : 0;
	itest_put16(d + 4, src);
	itest_put16(d + 6, dst);
	itest_put16(d + 10, n);
	itest_put64(d + 12, sl);
	itest_put64(d + 20, dl);
}

static void
pl_off(struct plist *p, uint16_t src, uint16_t dst, uint32_t bytes,
    uint64_t sl, uint64_t dl, uint16_t so, uint16_t dof)
{
	uint8_t *d = pl_seg(p, 0x0a, 32);

	itest_put16(d + 4, src);
	itest_put16(d + 6, dst);
	itest_put32(d + 8, bytes);
	itest_put64(d + 12, sl);
	itest_put64(d + 20, dl);
	itest_put16(d + 28, so);
	itest_put16(d + 30, dof);
}

static size_t
pl_finish(struct plist *p)
{
	if (p->lid4) {
		itest_put16(p->b + 42, (uint32_t)p->c);
		itest_put16(p->b + 44, (uint32_t)p->s);
	} else {
		itest_put16(p->b + 2, (uint32_t)p->c);
		itest_put32(p->b + 8, (uint32_t)p->s);
	}
	return pl_hdr(p) + p->c + p->s;
}

static int
xcopy(struct iscsi_context *ctx, int lun, struct plist *p, size_t len,
    struct itest_res *r)
{
	uint8_t cdb[16] = { 0x83, p->lid4 ? 0x01 : 0x00 };

	itest_put32(cdb + 10, (uint32_t)len);
	return itest_cmd(ctx, lun, cdb, p->b, (uint32_t)len, 0, r);
}

static uint64_t
fnv(const uint8_t *b, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (n--) {
		h ^= *b++;
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t
sum_range(struct iscsi_context *ctx, int lun, uint64_t lba, uint32_t n,
    uint32_t bs)
{
	uint8_t *b = malloc((size_t)n * bs);
	uint64_t h = 0;

	if (b != NULL && itest_read(ctx, lun, lba, b, n * bs, bs) == 0)
		h = fnv(b, (size_t)n * bs);
	free(b);
	return h;
}

static void
fill_lu(struct iscsi_context *ctx, int lun, uint64_t lba, uint32_t n,
    uint32_t bs, uint64_t seed)
{
	uint8_t *b = malloc((size_t)n * bs);

	itest_fill(b, (size_t)n * bs, seed);
	itest_check(itest_write(ctx, lun, lba, b, n * bs, bs) == 0,
	    "write pattern LUN %d LBA %llu", lun, (unsigned long long)lba);
	free(b);
}

static struct iscsi_context *
login(const char *init, const char *target)
{
	struct itest_login l = { .initiator = init, .target = target,
	    .immediate_data = -1, .initial_r2t = -1 };
	const char *err = NULL;
	struct iscsi_context *c = itest_connect(&l, &err);

	if (c == NULL) {
		itest_check(false, "login %s -> %s: %s", init, target,
		    err != NULL ? err : "?");
		exit(itest_end());
	}
	itest_clear_ua(c, 0);
	return c;
}

/* --- tests --- */

static uint8_t d0[40], d1[40], d3[40];
static int l0, l1, l3;

/* One segment of n blocks from LBA sl to LBA dl inside LUN lun (0 or 1):
 * the list in p, the result in r. */
static void
xcopy_within(struct iscsi_context *ctx, int lun, struct plist *p,
    bool lid4, uint32_t id, int usage, bool immed, uint16_t n, uint64_t sl,
    uint64_t dl, struct itest_res *r)
{
	pl_init(p, lid4, id, usage, immed);
	pl_e4(p, lun == 0 ? d0 : d1, lun == 0 ? l0 : l1, 512);
	pl_b2b(p, 0, 0, n, sl, dl, false);
	xcopy(ctx, lun, p, pl_finish(p), r);
}

static void
t_copies(struct iscsi_context *a)
{
	struct plist *p = calloc(1, sizeof(*p));
	struct itest_res r;
	size_t n;
	uint64_t hs, hd;

	/* LID1, 3 segments: within LUN 0, LUN 0 -> LUN 1, 0Ah with byte
	 * offsets into LUN 1, all through CSCD indexes */
	fill_lu(a, 0, 0, 1024, 512, 1);
	pl_init(p, false, 10, 0, false);
	pl_e4(p, d0, l0, 512);
	pl_e4(p, d1, l1, 512);
	pl_b2b(p, 0, 0, 256, 0, 4096, false);
	pl_b2b(p, 0, 1, 1024, 0, 100000, false);
	pl_off(p, 0, 1, 64 * 512, 10, 300000, 0, 0);
	n = pl_finish(p);
	xcopy(a, 0, p, n, &r);
	itest_check(r.status == 0, "LID1 3 segments: GOOD (status %d %x/%x/%x)",
	    r.status, r.key, r.asc, r.ascq);
	hs = sum_range(a, 0, 0, 256, 512);
	hd = sum_range(a, 0, 4096, 256, 512);
	itest_check(hs == hd && hs != 0, "LID1 seg 0: LUN 0 copy matches");
	itest_check(sum_range(a, 0, 0, 1024, 512) ==
	    sum_range(a, 1, 100000, 1024, 512), "LID1 seg 1: LUN 0 -> 1");
	itest_check(sum_range(a, 0, 10, 64, 512) ==
	    sum_range(a, 1, 300000, 64, 512), "LID1 seg 2 (0Ah): LUN 0 -> 1");
	/* COPY STATUS: completed, 3 segments, bytes */
	{
		uint8_t cdb[16] = { 0x84, 0x00, 10 };

		itest_put32(cdb + 10, 64);
		itest_cmd(a, 0, cdb, NULL, 0, 64, &r);
		itest_check(r.status == 0 && r.data[4] == 1 &&
		    itest_be16(r.data + 5) == 3 && r.data[7] == 0 &&
		    itest_be32(r.data + 8) == (256 + 1024 + 64) * 512,
		    "COPY STATUS(LID1) list 10: completed, 3 segs, %u bytes",
		    itest_be32(r.data + 8));
	}
	/* LID4 across LUs with different block sizes: 512 -> 4096 with DC
	 * (DC=1: NUMBER OF BLOCKS in destination blocks), back 4096 -> 512,
	 * and the FFFFh (this LU) ID */
	pl_init(p, true, 0x1000, 0, false);
	pl_e4(p, d0, l0, 512);
	pl_e4(p, d3, l3, 4096);
	pl_b2b(p, 0, 1, 16, 0, 100, true);		/* 16 x 4 KiB */
	pl_b2b(p, 1, 0xffff, 16, 100, 20000, false);	/* back, 16 x 4K */
	n = pl_finish(p);
	xcopy(a, 0, p, n, &r);
	itest_check(r.status == 0, "LID4 512<->4096 with DC: GOOD (%x/%x/%x)",
	    r.key, r.asc, r.ascq);
	itest_check(sum_range(a, 0, 0, 128, 512) ==
	    sum_range(a, 3, 100, 16, 4096), "LID4 seg 0: LUN 0 -> LUN 3");
	itest_check(sum_range(a, 0, 0, 128, 512) ==
	    sum_range(a, 0, 20000, 128, 512), "LID4 seg 1: LUN 3 -> LUN 0");
	free(p);
}

static void
t_errors(struct iscsi_context *a)
{
	struct plist *p = calloc(1, sizeof(*p));
	struct itest_res r;
	size_t n;
	int i;

	/* 1A/00: one byte short */
	pl_init(p, false, 1, 0, false);
	pl_e4(p, d0, l0, 512);
	pl_b2b(p, 0, 0, 8, 0, 8, false);
	n = pl_finish(p);
	xcopy(a, 0, p, n - 1, &r);
	itest_check(itest_sense_is(&r, 5, 0x1a, 0), "short list: 05/1A/00");
	/* 26/06 too many CSCDs */
	pl_init(p, false, 1, 0, false);
	for (i = 0; i < 65; i++)
		pl_e4(p, d0, l0, 512);
	pl_b2b(p, 0, 0, 8, 0, 8, false);
	n = pl_finish(p);
	xcopy(a, 0, p, n, &r);
	itest_check(itest_sense_is(&r, 5, 0x26, 0x06), "65 CSCDs: 05/26/06");
	/* 26/09 with the pointer at the segment */
	pl_init(p, false, 1, 0, false);
	pl_e4(p, d0, l0, 512);
	pl_seg(p, 0x03, 20);
	n = pl_finish(p);
	xcopy(a, 0, p, n, &r);
	itest_check(itest_sense_is(&r, 5, 0x26, 0x09) && r.sksv && r.field == 48,
	    "segment type 03h: 05/26/09 pointer 48 (got %d)", r.field);
	/* 26/00 LIST ID USAGE 01b: byte 1 bit 4 */
	xcopy_within(a, 0, p, false, 1, 1, false, 8, 0, 8, &r);
	itest_check(itest_sense_is(&r, 5, 0x26, 0) && r.sksv && r.field == 1 &&
	    r.bit == 4, "usage 01b: 05/26/00 byte 1 bit 4 (%d/%d)", r.field,
	    r.bit);
	/* 26/00 DISK BLOCK LENGTH mismatch: byte 29 of the CSCD */
	pl_init(p, false, 1, 0, false);
	pl_e4(p, d0, l0, 4096);
	pl_b2b(p, 0, 0, 8, 0, 8, false);
	n = pl_finish(p);
	xcopy(a, 0, p, n, &r);
	itest_check(itest_sense_is(&r, 5, 0x26, 0) && r.sksv && r.field == 16 + 29,
	    "block length 4096 on a 512 LU: 05/26/00 pointer 45 (got %d)",
	    r.field);
	/* 0D/02 index past the list, segment number in CSI (bytes 8-11) */
	pl_init(p, false, 1, 0, false);
	pl_e4(p, d0, l0, 512);
	pl_b2b(p, 0, 0, 8, 0, 8, false);
	pl_b2b(p, 0, 1, 8, 0, 8, false);
	n = pl_finish(p);
	xcopy(a, 0, p, n, &r);
	itest_check(itest_sense_is(&r, 0x0a, 0x0d, 0x02) && r.raw_len >= 18 &&
	    itest_be32(r.raw + 8) == 1, "index 1 of 1 CSCD: 0A/0D/02, segment 1 in "
	    "CSI (raw %d bytes, CSI %u)", r.raw_len,
	    r.raw_len >= 12 ? itest_be32(r.raw + 8) : 0);
	/* 0D/02 past the end, forwarded 21/00 of the destination */
	xcopy_within(a, 0, p, false, 1, 0, false, 2048, 0, 131072 - 1, &r);
	itest_check(itest_sense_is(&r, 0x0a, 0x0d, 0x02) && r.raw_len >= 19 + 14 &&
	    r.raw[9] == 18 && r.raw[18] == 2 && r.raw[19 + 12] == 0x21,
	    "range past the end: 0A/0D/02 with forwarded 05/21/00");
	/* LID4 IMMED with usage 11b: byte 15 bit 0 */
	xcopy_within(a, 0, p, true, 0, 3, true, 8, 0, 8, &r);
	itest_check(itest_sense_is(&r, 5, 0x26, 0) && r.field == 15 && r.bit == 0,
	    "LID4 IMMED + usage 11b: 05/26/00 byte 15 bit 0");
	/* unknown list ID: 05/24/00 at CDB byte 2 */
	{
		uint8_t cdb[16] = { 0x84, 0x00, 200 };

		itest_put32(cdb + 10, 64);
		itest_cmd(a, 0, cdb, NULL, 0, 64, &r);
		itest_check(itest_sense_is(&r, 5, 0x24, 0) && r.field == 2,
		    "COPY STATUS of an unknown list: 05/24/00 byte 2");
	}
	free(p);
}

static void
t_acl(struct iscsi_context *a)
{
	struct iscsi_context *b, *ab;
	struct plist *p = calloc(1, sizeof(*p));
	uint8_t ds[40], dx[40];
	int ls, lx;
	struct itest_res r;
	size_t n;

	/* NAA of the secret LU (xa tpg_lun 2) as init-b sees it, and of
	 * LUN 0 of target xb as init-a sees it */
	b = login(ITEST_INIT_B, XA);
	itest_clear_ua(b, 2);
	ls = itest_lu_naa(b, 2, ds);
	ab = login(ITEST_INIT_A, XB);
	lx = itest_lu_naa(ab, 0, dx);
	itest_check(ls > 0 && lx > 0, "designators of the foreign LUs read");
	/* init-a names them: unreachable */
	pl_init(p, false, 1, 0, false);
	pl_e4(p, d0, l0, 512);
	pl_e4(p, ds, ls, 512);
	pl_b2b(p, 1, 0, 8, 0, 8, false);
	n = pl_finish(p);
	xcopy(a, 0, p, n, &r);
	itest_check(itest_sense_is(&r, 0x0a, 0x0d, 0x02),
	    "LU of this target not mapped for init-a: 0A/0D/02");
	pl_init(p, false, 1, 0, false);
	pl_e4(p, d0, l0, 512);
	pl_e4(p, dx, lx, 512);
	pl_b2b(p, 0, 1, 8, 0, 8, false);
	n = pl_finish(p);
	xcopy(a, 0, p, n, &r);
	itest_check(itest_sense_is(&r, 0x0a, 0x0d, 0x02),
	    "LU of another target: 0A/0D/02");
	/* positive control: init-b maps it */
	fill_lu(b, 2, 0, 8, 512, 77);
	pl_init(p, false, 1, 0, false);
	pl_e4(p, ds, ls, 512);
	pl_b2b(p, 0, 0xffff, 8, 0, 500, false);
	n = pl_finish(p);
	xcopy(b, 0, p, n, &r);
	itest_check(r.status == 0 && sum_range(b, 2, 0, 8, 512) ==
	    sum_range(b, 0, 500, 8, 512), "init-b copies from its LUN 2");
	itest_close(b);
	itest_close(ab);
	free(p);
}

static void
t_list_ids(struct iscsi_context *a)
{
	struct plist *p = calloc(1, sizeof(*p));
	struct itest_res r;
	int k;

	for (k = 0; k < 2; k++) {
		xcopy_within(a, 0, p, false, 5, 0, false, 8, 0, 16, &r);
		itest_check(r.status == 0, "list 5 (usage 00b) use %d: GOOD",
		    k + 1);
	}
	free(p);
}

/* Held results are readable right after the copy and gone once older
 * than "copy_results_hold" (3 s in conf/xcopy.json). */
static void
t_hold(struct iscsi_context *a)
{
	struct plist *p = calloc(1, sizeof(*p));
	uint8_t cdb[16] = { 0x84, 0x00, 6 };	/* COPY STATUS(LID1), list 6 */
	struct itest_res r;

	xcopy_within(a, 0, p, false, 6, 0, false, 8, 0, 16, &r);
	itest_check(r.status == 0, "list 6 (usage 00b): GOOD");
	itest_put32(cdb + 10, 64);
	itest_cmd(a, 0, cdb, NULL, 0, 64, &r);
	itest_check(r.status == 0 && (r.data[4] & 0x7f) == 1,
	    "list 6 status readable at once: completed (status %d, byte 4 %02x)",
	    r.status, r.data[4]);
	sleep(4);
	itest_cmd(a, 0, cdb, NULL, 0, 64, &r);
	itest_check(itest_sense_is(&r, 5, 0x24, 0x00),
	    "list 6 status gone after the hold time: 5/24/00 (got %d %x/%02x/%02x)",
	    r.status, r.key, r.asc, r.ascq);
	free(p);
}

static void
rcs4(struct iscsi_context *a, uint32_t id, struct itest_res *r)
{
	uint8_t cdb[16] = { 0x84, 0x05 };

	itest_put32(cdb + 2, id);
	itest_put32(cdb + 10, 128);
	itest_cmd(a, 0, cdb, NULL, 0, 128, r);
}

static void
t_immed_abort(struct iscsi_context *a)
{
	struct plist *p = calloc(1, sizeof(*p));
	struct itest_res r;
	uint64_t b1 = 0, b2 = 0;
	size_t n;
	int i, polls = 0, running = 0;

	/* 256 segments x 256 MiB inside LUN 1 (1 GiB file): long enough to
	 * be seen running */
	pl_init(p, true, 0xabc, 0, true);
	pl_e4(p, d1, l1, 512);
	for (i = 0; i < 256; i++)
		pl_off(p, 0, 0, 65535u * 4096u, 0, 1048576, 0, 0);
	n = pl_finish(p);
	xcopy(a, 1, p, n, &r);
	itest_check(r.status == 0, "LID4 IMMED 64 GiB: GOOD at once");
	/* the same list ID while it runs: 00/16 */
	xcopy_within(a, 1, p, true, 0xabc, 0, false, 1, 0, 1, &r);
	itest_check(itest_sense_is(&r, 5, 0x00, 0x16),
	    "list 0xabc reused while active: 05/00/16");
	for (i = 0; i < 50; i++) {
		rcs4(a, 0xabc, &r);
		polls++;
		if (r.status == 0 && r.data[5] == 0x12) {
			running++;
			if (running == 1)
				b1 = ((uint64_t)itest_be32(r.data + 16) << 32) |
				    itest_be32(r.data + 20);
			b2 = ((uint64_t)itest_be32(r.data + 16) << 32) |
			    itest_be32(r.data + 20);
			if (running >= 3 && b2 > b1)
				break;
		}
		usleep(100000);
	}
	itest_check(running >= 2 && b2 > b1, "RECEIVE COPY STATUS(LID4): "
	    "in progress (12h) %d of %d polls, bytes %llu -> %llu", running,
	    polls, (unsigned long long)b1, (unsigned long long)b2);
	{
		uint8_t cdb[16] = { 0x83, 0x1c };

		itest_put32(cdb + 2, 0xabc);
		itest_cmd(a, 1, cdb, NULL, 0, 0, &r);
		itest_check(r.status == 0, "COPY OPERATION ABORT: GOOD");
	}
	for (i = 0; i < 100; i++) {
		rcs4(a, 0xabc, &r);
		if (r.status == 0 && r.data[5] != 0x12)
			break;
		usleep(50000);
	}
	itest_check(r.status == 0 && r.data[5] == 0x60 && itest_be16(r.data + 24)
	    < 256, "after abort: status 60h, %u segments processed",
	    itest_be16(r.data + 24));
	/* now the ID is free again */
	xcopy_within(a, 1, p, true, 0xabc, 0, false, 1, 0, 1, &r);
	itest_check(r.status == 0, "list 0xabc after the abort: GOOD");
	rcs4(a, 0xabc, &r);
	itest_check(r.status == 0 && r.data[5] == 0x01 && r.data[4] == 0x01 &&
	    itest_be32(r.data + 8) == 0xfffffffe, "RCS(LID4): completed 01h");
	free(p);
}

/* I_T nexus loss while an IMMED copy runs: the copy is aborted and its
 * results dropped with the nexus; the daemon stays healthy. */
static void
t_nexus_loss(void)
{
	struct iscsi_context *c = login(ITEST_INIT_A, XA);
	struct plist *p = calloc(1, sizeof(*p));
	struct itest_res r;
	size_t n;
	int i;

	itest_clear_ua(c, 1);
	pl_init(p, true, 7, 0, true);
	pl_e4(p, d1, l1, 512);
	for (i = 0; i < 64; i++)
		pl_off(p, 0, 0, 65535u * 4096u, 0, 1048576, 0, 0);
	n = pl_finish(p);
	xcopy(c, 1, p, n, &r);
	itest_check(r.status == 0, "IMMED copy on a second session: GOOD");
	itest_close(c);
	usleep(200000);
	c = login(ITEST_INIT_A, XA);
	itest_clear_ua(c, 1);
	rcs4(c, 7, &r);
	itest_check(itest_sense_is(&r, 5, 0x24, 0),
	    "new nexus does not see the old one's list 7: 05/24/00");
	itest_check(itest_daemon_alive(), "daemon alive after nexus loss");
	itest_close(c);
	free(p);
}

/* --- task management against running copies --- */

struct xc_async {
	int	 done;
	int	 status;
	uint32_t response;		/* TMF */
};

static void
xc_cmd_cb(struct iscsi_context *ctx, int status, void *data, void *priv)
{
	struct xc_async *s = priv;

	(void)ctx;
	s->status = status;
	s->done = 1;
	scsi_free_scsi_task(data);
}

static void
xc_tmf_cb(struct iscsi_context *ctx, int status, void *data, void *priv)
{
	struct xc_async *s = priv;

	(void)ctx;
	s->status = status;
	if (data != NULL)
		s->response = *(uint32_t *)data;
	s->done = 1;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* nseg segments of 65535 x 4 KiB inside LUN 1, LID4 with list ID id. */
static size_t
pl_big(struct plist *p, uint32_t id, bool immed, int nseg)
{
	int i;

	pl_init(p, true, id, 0, immed);
	pl_e4(p, d1, l1, 512);
	for (i = 0; i < nseg; i++)
		pl_off(p, 0, 0, 65535u * 4096u, 0, 1048576, 0, 0);
	return pl_finish(p);
}

static uint64_t
rcs4_bytes(const struct itest_res *r)
{
	return (uint64_t)itest_be32(r->data + 16) << 32 | itest_be32(r->data + 20);
}

/* Poll RECEIVE COPY STATUS(LID4) until the operation is not running. */
static void
rcs4_wait(struct iscsi_context *a, uint32_t id, struct itest_res *r)
{
	int i;

	for (i = 0; i < 600; i++) {
		rcs4(a, id, r);
		if (r->status != 0 || (r->data[5] != 0x11 &&
		    r->data[5] != 0x12))
			return;
		usleep(50000);
	}
}

static void
t_tmf_abort_task(struct iscsi_context *a)
{
	static struct plist p;
	static struct iscsi_data d;
	static struct xc_async st;
	struct xc_async tmf = { 0 };
	uint8_t cdb[16] = { 0x83, 0x01 };
	struct scsi_task *t;
	struct itest_res r;
	double t0, one, lat;
	size_t n;

	/* the time of one 256 MiB segment, for scale */
	n = pl_big(&p, 0x7100, false, 1);
	t0 = now_s();
	xcopy(a, 1, &p, n, &r);
	one = now_s() - t0;
	itest_check(r.status == 0, "tmf: one 256 MiB segment: GOOD in "
	    "%.3f s", one);
	/* 16 of them, ABORT TASK while it runs */
	n = pl_big(&p, 0x7101, false, 16);
	itest_put32(cdb + 10, (uint32_t)n);
	t = scsi_create_task(16, cdb, SCSI_XFER_WRITE, (int)n);
	d.data = p.b;
	d.size = n;
	if (t == NULL || iscsi_scsi_command_async(a, 1, t, xc_cmd_cb, &d,
	    &st) != 0) {
		itest_check(false, "tmf: 4 GiB copy sent");
		return;
	}
	(void)itest_wait(a, &st.done, 300);
	itest_check(!st.done, "tmf: 4 GiB non-IMMED copy running");
	if (st.done)
		return;
	t0 = now_s();
	tmf.response = 0xff;
	if (iscsi_task_mgmt_abort_task_async(a, t, xc_tmf_cb, &tmf) != 0 ||
	    itest_wait(a, &tmf.done, 120000) != 0)
		tmf.done = 0;
	lat = now_s() - t0;
	itest_check(tmf.done && tmf.status == SCSI_STATUS_GOOD &&
	    tmf.response == ISCSI_TMR_FUNC_COMPLETE,
	    "tmf: ABORT TASK: function complete (%u)", tmf.response);
	itest_check(lat < 4 * one, "tmf: ABORT TASK answered in %.3f s, the "
	    "copy would take ~%.1f s", lat, 16 * one);
	(void)itest_wait(a, &st.done, 2000);
	itest_check(!st.done || st.status != SCSI_STATUS_GOOD,
	    "tmf: aborted copy not GOOD (%s, status %#x)",
	    st.done ? "answered" : "no response", (unsigned)st.status);
	if (!st.done)	/* unanswered (TAS=0): calls back, frees t */
		(void)iscsi_scsi_cancel_task(a, t);
	rcs4_wait(a, 0x7101, &r);
	itest_check(r.status == 0 && r.data[5] == 0x60 &&
	    rcs4_bytes(&r) < 16ull * 65535 * 4096, "tmf: RCS(LID4) of the "
	    "aborted copy: status %02xh after %llu bytes", r.data[5],
	    (unsigned long long)rcs4_bytes(&r));
	itest_check(itest_clear_ua(a, 1) == 0 && itest_daemon_alive(),
	    "tmf: LUN 1 serves commands after ABORT TASK");
}

static void
t_tmf_lun_reset(struct iscsi_context *a)
{
	static struct plist p;
	struct xc_async tmf = { 0 };
	struct itest_res r;
	double t0;
	size_t n;

	/* sent to LUN 0, copies inside LUN 1: the reset of LUN 1 ends it */
	n = pl_big(&p, 0x7200, true, 16);
	xcopy(a, 0, &p, n, &r);
	itest_check(r.status == 0, "reset: IMMED 4 GiB copy: GOOD at once");
	usleep(200000);
	rcs4(a, 0x7200, &r);
	itest_check(r.status == 0 && r.data[5] == 0x12,
	    "reset: copy running in the background (%02xh)", r.data[5]);
	t0 = now_s();
	tmf.response = 0xff;
	if (iscsi_task_mgmt_lun_reset_async(a, 1, xc_tmf_cb, &tmf) != 0 ||
	    itest_wait(a, &tmf.done, 60000) != 0)
		tmf.done = 0;
	itest_check(tmf.done && tmf.status == SCSI_STATUS_GOOD &&
	    tmf.response == ISCSI_TMR_FUNC_COMPLETE,
	    "reset: LUN RESET of LUN 1: function complete (%u) in %.3f s",
	    tmf.response, now_s() - t0);
	rcs4_wait(a, 0x7200, &r);
	itest_check(r.status == 0 && r.data[5] == 0x60 &&
	    rcs4_bytes(&r) < 16ull * 65535 * 4096, "reset: RCS(LID4): "
	    "status %02xh after %llu bytes", r.data[5],
	    (unsigned long long)rcs4_bytes(&r));
	itest_check(itest_clear_ua(a, 1) == 0 && itest_clear_ua(a, 0) == 0 &&
	    itest_daemon_alive(), "reset: LUNs serve commands after it");
	/* LUN 0 was not reset: an IMMED copy within LUN 1 sent to LUN 1
	 * survives a reset of LUN 0 */
	n = pl_big(&p, 0x7201, true, 2);
	xcopy(a, 1, &p, n, &r);
	memset(&tmf, 0, sizeof(tmf));
	itest_check(iscsi_task_mgmt_lun_reset_async(a, 0, xc_tmf_cb,
	    &tmf) == 0 && itest_wait(a, &tmf.done, 60000) == 0,
	    "reset: LUN RESET of LUN 0");
	itest_clear_ua(a, 0);		/* 29/03 on LUN 0, where RCS goes */
	rcs4_wait(a, 0x7201, &r);
	itest_check(r.status == 0 && r.data[5] == 0x01,
	    "reset: a copy not touching LUN 0 completes (%02xh)", r.data[5]);
}

static int
do_tmf(void)
{
	struct iscsi_context *a;

	itest_begin("xcopy-tmf", 300);
	a = login(ITEST_INIT_A, XA);
	itest_clear_ua(a, 0);
	itest_clear_ua(a, 1);
	l1 = itest_lu_naa(a, 1, d1);
	itest_check(l1 > 0, "NAA designator of LUN 1 read");
	t_tmf_abort_task(a);
	t_tmf_lun_reset(a);
	itest_close(a);
	return itest_end();
}

int
main(int argc, char **argv)
{
	struct iscsi_context *a;

	if (argc == 2 && strcmp(argv[1], "tmf") == 0)
		return do_tmf();
	itest_begin("xcopy", 300);
	a = login(ITEST_INIT_A, XA);
	itest_clear_ua(a, 1);
	itest_clear_ua(a, 3);
	l0 = itest_lu_naa(a, 0, d0);
	l1 = itest_lu_naa(a, 1, d1);
	l3 = itest_lu_naa(a, 3, d3);
	itest_check(l0 > 0 && l1 > 0 && l3 > 0, "NAA designators read");
	t_copies(a);
	t_errors(a);
	t_acl(a);
	t_list_ids(a);
	t_hold(a);
	t_immed_abort(a);
	itest_close(a);
	t_nexus_loss();
	return itest_end();
}
