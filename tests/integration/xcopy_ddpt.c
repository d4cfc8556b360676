/*
 * xcopy_ddpt.c - a large copy split into consecutive EXTENDED COPY (LID1)
 * commands the way ddpt --xcopy builds them (ddpt 0.97, src/ddpt_xcopy.c,
 * do_xcopy_lid1 / a_xcopy_lid1_cmd), checked byte for byte.
 *
 * ddpt sends, per command: LIST ID 1, byte 1 = LIST ID USAGE 00b (hold:
 * our held data limit is not zero) | PRIORITY 1, two 32-byte E4h CSCDs
 * with the LU's NAA designator from VPD 83h (source index 0, destination
 * index 1, DISK BLOCK LENGTH 512), one 02h segment of at most 65535
 * blocks (its maximum: NUMBER OF BLOCKS is 16 bits).  By default SOURCE
 * and DESTINATION LBA advance by the block count after each command (what
 * ddpt means to send, and sg_xcopy sends; see -f for ddpt 0.97).  256
 * MiB in 512-byte blocks are 9 commands, 8 of 65535 blocks and one of 8,
 * so every segment after the first starts at an LBA that is not a
 * multiple of 8 (not 4 KiB aligned).
 *
 *   xcopy_ddpt [-c SRC_LUN] [-d DST_LUN] [-s SRC_LBA] [-D DST_LBA]
 *              [-n BLOCKS] [-b BPT] [-l] [-u USAGE] [-f]
 *
 * -b blocks per command (65535), -l a new list ID per command (default:
 * list ID 1 for all, as ddpt), -u LIST ID USAGE (0).  Defaults: LUN 0 ->
 * LUN 0, LBA 0 -> 1048576, 524288 blocks (256 MiB), the default target
 * (ITEST_TARGET).  The source range gets a fresh pattern, the
 * destination zeroes, both by WRITE(16); after the copies the
 * destination is read back and compared in 1 MiB pieces.
 *
 * -f: what ddpt 0.96/0.97 really send.  Their a_xcopy_lid1_cmd() takes
 * SOURCE and DESTINATION LBA from the lowest LBA of the skip= and seek=
 * lists (op->i_sgli.lowest_lba, op->o_sgli.lowest_lba), never from the
 * iterators do_xcopy_lid1() advances, so every command repeats the first
 * one's LBAs (ddpt -vvv prints "src_lba=0x0" nine times).  The copy
 * manager must then copy exactly the first BPT blocks and leave the rest
 * of the destination alone; -f expects that.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "itest.h"

#define PIECE	(1u << 20)
#define BS	512u

/* ddpt's E4h CSCD: designation descriptor at byte 4, byte 4 masked with
 * 1Fh, PAD 0, DISK BLOCK LENGTH at 29..31. */
static void
cscd_e4(uint8_t *d, int dlen)
{
	uint8_t desig[40];

	memcpy(desig, d, 4 + (size_t)dlen);
	memset(d, 0, 32);
	d[0] = 0xe4;
	memcpy(d + 4, desig, 4 + (size_t)dlen);
	d[4] &= 0x1f;
	d[29] = 0;
	d[30] = (uint8_t)(BS >> 8);
	d[31] = (uint8_t)BS;
}

static int
xcopy_one(struct iscsi_context *ctx, int lun, uint8_t list_id, int usage,
    const uint8_t *sd, const uint8_t *dd, uint32_t n, uint64_t sl,
    uint64_t dl, struct itest_res *r)
{
	uint8_t p[16 + 64 + 28], cdb[16] = { 0x83, 0x00 };
	uint8_t *s = p + 16 + 64;

	memset(p, 0, sizeof(p));
	p[0] = list_id;
	p[1] = (uint8_t)(usage << 3 | 1);	/* PRIORITY 1 as ddpt */
	p[3] = 64;
	memcpy(p + 16, sd, 32);
	memcpy(p + 48, dd, 32);
	p[11] = 28;
	s[0] = 0x02;
	itest_put16(s + 2, 0x18);
	itest_put16(s + 4, 0);
	itest_put16(s + 6, 1);
	itest_put16(s + 10, n);
	itest_put64(s + 12, sl);
	itest_put64(s + 20, dl);
	itest_put32(cdb + 10, sizeof(p));
	return itest_cmd(ctx, lun, cdb, p, sizeof(p), 0, r);
}

int
main(int argc, char **argv)
{
	struct iscsi_context *ctx;
	struct itest_res r;
	uint8_t sd[40], dd[40], *buf, *want;
	uint64_t slba = 0, dlba = 1048576, nblk = 524288, done, off;
	uint64_t bad_first = UINT64_MAX, bad_bytes = 0;
	uint32_t bpt = 65535, n, bs, per = PIECE / BS;
	uint64_t cap_s, cap_d;
	int slun = 0, dlun = 0, usage = 0, ls, ld, c, ncmd = 0;
	bool new_ids = false, fixed = false, ok = true;

	while ((c = getopt(argc, argv, "c:d:s:D:n:b:lu:f")) != -1) {
		switch (c) {
		case 'c': slun = atoi(optarg); break;
		case 'd': dlun = atoi(optarg); break;
		case 's': slba = strtoull(optarg, NULL, 0); break;
		case 'D': dlba = strtoull(optarg, NULL, 0); break;
		case 'n': nblk = strtoull(optarg, NULL, 0); break;
		case 'b': bpt = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'l': new_ids = true; break;
		case 'u': usage = atoi(optarg); break;
		case 'f': fixed = true; break;
		default:
			fprintf(stderr, "usage: see xcopy_ddpt.c\n");
			return 2;
		}
	}
	if (bpt == 0 || bpt > 65535 || nblk % per != 0) {
		fprintf(stderr, "bad -b or -n (multiple of %u)\n", per);
		return 2;
	}
	itest_begin("xcopy_ddpt", 600);
	ctx = itest_connect_default(ITEST_INIT_A);
	if (ctx == NULL) {
		itest_check(false, "login");
		return itest_end();
	}
	itest_clear_ua(ctx, slun);
	itest_clear_ua(ctx, dlun);
	itest_check(itest_capacity(ctx, slun, &bs, &cap_s) == 0 && bs == BS &&
	    itest_capacity(ctx, dlun, &bs, &cap_d) == 0 && bs == BS &&
	    slba + nblk <= cap_s && dlba + nblk <= cap_d,
	    "512-byte LUs large enough");
	ls = itest_lu_naa(ctx, slun, sd);
	ld = itest_lu_naa(ctx, dlun, dd);
	itest_check(ls > 0 && ld > 0 && ls <= 20 && ld <= 20,
	    "NAA designators of LUN %d and %d", slun, dlun);
	buf = malloc(PIECE);
	want = malloc(PIECE);
	if (buf == NULL || want == NULL || ls <= 0 || ld <= 0 || ls > 20 ||
	    ld > 20) {
		free(buf);
		free(want);
		itest_close(ctx);
		return itest_end();
	}
	cscd_e4(sd, ls);
	cscd_e4(dd, ld);

	/* source pattern, destination zeroes */
	for (off = 0; off < nblk && ok; off += per) {
		itest_fill(buf, PIECE, 77 + off / per);
		ok = itest_write(ctx, slun, slba + off, buf, PIECE, BS) == 0;
	}
	memset(buf, 0, PIECE);
	for (off = 0; off < nblk && ok; off += per)
		ok = itest_write(ctx, dlun, dlba + off, buf, PIECE, BS) == 0;
	itest_check(ok, "%llu MiB pattern at LUN %d LBA %llu, zeroes at LUN %d "
	    "LBA %llu", (unsigned long long)(nblk / per), slun,
	    (unsigned long long)slba, dlun, (unsigned long long)dlba);

	/* the copies, as ddpt sends them */
	for (done = 0; done < nblk && ok; done += n) {
		n = (uint32_t)(nblk - done < bpt ? nblk - done : bpt);
		ok = xcopy_one(ctx, slun, new_ids ? (uint8_t)(1 + ncmd) : 1,
		    usage, sd, dd, n, slba + (fixed ? 0 : done),
		    dlba + (fixed ? 0 : done), &r) == 0 &&
		    r.status == 0;
		if (!ok)
			itest_note("command %d: status %d sense %x/%02x/%02x",
			    ncmd, r.status, r.key, r.asc, r.ascq);
		ncmd++;
	}
	itest_check(ok, "%d EXTENDED COPY commands of up to %u blocks, GOOD",
	    ncmd, bpt);

	/* compare */
	for (off = 0; off < nblk; off += per) {
		itest_fill(want, PIECE, 77 + off / per);
		if (fixed && off + per > bpt)	/* never copied: zeroes */
			memset(want + (off < bpt ? (bpt - off) * BS : 0), 0,
			    (size_t)(off + per - (off < bpt ? bpt : off)) * BS);
		if (itest_read(ctx, dlun, dlba + off, buf, PIECE, BS) != 0) {
			bad_bytes += PIECE;
			if (bad_first == UINT64_MAX)
				bad_first = off * BS;
			continue;
		}
		if (memcmp(buf, want, PIECE) != 0) {
			uint32_t i, nb = 0;

			for (i = 0; i < PIECE; i += BS)
				if (memcmp(buf + i, want + i, BS) != 0) {
					if (bad_first == UINT64_MAX)
						bad_first = off * BS + i;
					nb++;
				}
			bad_bytes += (uint64_t)nb * BS;
		}
	}
	if (bad_first != UINT64_MAX)
		itest_note("first bad block: copy offset %llu (LBA %llu), "
		    "%llu bytes differ", (unsigned long long)bad_first,
		    (unsigned long long)(dlba + bad_first / BS),
		    (unsigned long long)bad_bytes);
	itest_check(bad_first == UINT64_MAX, fixed ? "destination holds the "
	    "first %llu source blocks, zeroes after" : "destination equals the "
	    "source (%llu blocks)", (unsigned long long)(fixed ? bpt : nblk));
	free(buf);
	free(want);
	itest_close(ctx);
	return itest_end();
}
