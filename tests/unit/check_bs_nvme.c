/*
 * check_bs_nvme.c - unit tests for the pure parts of the "nvme" backstore
 * (bs_nvme_id.c): Identify Controller / Namespace decoding on byte images
 * laid out like qemu's emulated controller reports them, the Copy
 * splitter against MSSRL / MCL / MSRC (edge cases and a sweep checking
 * every invariant), the Dataset Management planner, the test knob parser
 * and the NVMe status -> errno -> sense chain.  Opening the plugin on
 * things that are not NVMe namespaces must fail cleanly.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backstore.h"
#include "bs_nvme.h"
#include "conf.h"
#include "log.h"
#include "sense.h"
#include "util.h"

static uint8_t id[BS_NVME_ID_LEN];

static void
put_str(uint8_t *p, const char *s, size_t n)
{
	size_t l = strlen(s);

	memset(p, ' ', n);
	memcpy(p, s, l < n ? l : n);
}

/* Identify Controller as qemu 7.2 answers it (ONCS 0x15d). */
static void
ctrl_image(uint16_t oncs)
{
	memset(id, 0, sizeof(id));
	put_le16(id + 0, 0x1b36);
	put_str(id + 4, "labnvme0", 20);
	put_str(id + 24, "QEMU NVMe Ctrl", 40);
	put_str(id + 64, "7.2.0", 8);
	id[77] = 7;
	put_le16(id + 520, oncs);
	id[525] = 0x07;
	put_le16(id + 534, 0x0001);
}

/* Identify Namespace: 1 GiB of 512-byte blocks, 8 formats. */
static void
ns_image(uint16_t mssrl, uint32_t mcl, uint8_t msrc)
{
	int i;

	memset(id, 0, sizeof(id));
	put_le64(id + 0, 2097152);
	put_le64(id + 8, 2097152);
	id[25] = 7;			/* NLBAF: 8 formats */
	id[26] = 0;			/* FLBAS */
	id[33] = 0x09;			/* DLFEAT: reads zero, WZ DEAC */
	put_le16(id + 74, mssrl);
	put_le32(id + 76, mcl);
	id[80] = msrc;
	for (i = 0; i < 8; i++) {
		uint32_t ms = (i & 3) == 0 ? 0 : 8u << (i & 3);
		uint32_t lbads = i < 4 ? 9 : 12;

		put_le32(id + 128 + 4 * i, ms | (lbads << 16));
	}
}

START_TEST(t_ctrl)
{
	struct bs_nvme_ctrl_id c;

	ctrl_image(0x15d);
	ck_assert_int_eq(bs_nvme_parse_ctrl(id, sizeof(id), &c), 0);
	ck_assert_uint_eq(c.vid, 0x1b36);
	ck_assert_str_eq(c.serial, "labnvme0");
	ck_assert_str_eq(c.model, "QEMU NVMe Ctrl");
	ck_assert_str_eq(c.fw, "7.2.0");
	ck_assert_uint_eq(c.oncs, 0x15d);
	ck_assert(c.oncs & NVME_ONCS_COPY);
	ck_assert(c.oncs & NVME_ONCS_DSM);
	ck_assert(c.oncs & NVME_ONCS_WRITE_ZEROES);
	ck_assert_uint_eq(c.vwc, 7);
	ck_assert_uint_eq(c.ocfs, 1);
	ck_assert_uint_eq(c.mdts, 7);
	ck_assert_int_eq(bs_nvme_parse_ctrl(id, 100, &c), -EINVAL);
	/* non-printable bytes never reach the log raw */
	id[4] = 0x01;
	ck_assert_int_eq(bs_nvme_parse_ctrl(id, sizeof(id), &c), 0);
	ck_assert_int_eq(c.serial[0], '?');
}
END_TEST

START_TEST(t_ns)
{
	struct bs_nvme_ns_id n;

	ns_image(1024, 4096, 7);
	ck_assert_int_eq(bs_nvme_parse_ns(id, sizeof(id), &n), 0);
	ck_assert_uint_eq(n.nsze, 2097152);
	ck_assert_uint_eq(n.lba_size, 512);
	ck_assert_uint_eq(n.ms, 0);
	ck_assert_uint_eq(n.mssrl, 1024);
	ck_assert_uint_eq(n.mcl, 4096);
	ck_assert_uint_eq(n.msrc, 7);
	ck_assert_uint_eq(n.dlfeat, 9);
	/* format 4: 4 KiB, no metadata */
	id[26] = 4;
	ck_assert_int_eq(bs_nvme_parse_ns(id, sizeof(id), &n), 0);
	ck_assert_uint_eq(n.lba_size, 4096);
	ck_assert_uint_eq(n.lbaf, 4);
	/* format 1: 512 + 16 bytes of metadata */
	id[26] = 1;
	ck_assert_int_eq(bs_nvme_parse_ns(id, sizeof(id), &n), -EOPNOTSUPP);
	ck_assert_uint_eq(n.ms, 16);
	/* metadata-at-end bit (4) does not change the index */
	id[26] = 0x10;
	ck_assert_int_eq(bs_nvme_parse_ns(id, sizeof(id), &n), 0);
	ck_assert_uint_eq(n.lbaf, 0);
	/* index beyond NLBAF */
	id[26] = 8;
	ck_assert_int_eq(bs_nvme_parse_ns(id, sizeof(id), &n), -EINVAL);
	/* FLBAS bits 6:5 are the high bits: format 16 + 1 */
	id[25] = 20;
	id[26] = 0x21;
	put_le32(id + 128 + 4 * 17, 12u << 16);
	ck_assert_int_eq(bs_nvme_parse_ns(id, sizeof(id), &n), 0);
	ck_assert_uint_eq(n.lbaf, 17);
	ck_assert_uint_eq(n.lba_size, 4096);
	/* LBADS out of 9..12 */
	put_le32(id + 128 + 4 * 17, 8u << 16);
	ck_assert_int_eq(bs_nvme_parse_ns(id, sizeof(id), &n), -EINVAL);
	put_le32(id + 128 + 4 * 17, 13u << 16);
	ck_assert_int_eq(bs_nvme_parse_ns(id, sizeof(id), &n), -EINVAL);
	/* NLBAF past 64 formats, empty namespace, short buffer */
	ns_image(1024, 4096, 7);
	id[25] = 64;
	ck_assert_int_eq(bs_nvme_parse_ns(id, sizeof(id), &n), -EINVAL);
	ns_image(1024, 4096, 7);
	put_le64(id, 0);
	ck_assert_int_eq(bs_nvme_parse_ns(id, sizeof(id), &n), -EINVAL);
	ck_assert_int_eq(bs_nvme_parse_ns(id, 4095, &n), -EINVAL);
	ck_assert_int_eq(bs_nvme_parse_ns(NULL, 4096, &n), -EINVAL);
}
END_TEST

START_TEST(t_dlfeat)
{
	ck_assert(bs_nvme_dealloc_zeroes(0x09));
	ck_assert(bs_nvme_dealloc_zeroes(0x01));
	ck_assert(!bs_nvme_dealloc_zeroes(0x00));
	ck_assert(!bs_nvme_dealloc_zeroes(0x02));	/* reads FFh */
	ck_assert(!bs_nvme_dealloc_zeroes(0x08));
	memset(id, 0, 16);
	put_le32(id + 4, 32768);
	ck_assert_uint_eq(bs_nvme_parse_dmrsl(id, sizeof(id)), 32768);
	ck_assert_uint_eq(bs_nvme_parse_dmrsl(id, 4), 0);
}
END_TEST

START_TEST(t_limits)
{
	struct bs_nvme_copy_limits lim;
	struct bs_nvme_ctrl_id c;
	struct bs_nvme_ns_id n;

	ctrl_image(0x15d);
	bs_nvme_parse_ctrl(id, sizeof(id), &c);
	ns_image(1024, 4096, 7);
	bs_nvme_parse_ns(id, sizeof(id), &n);
	ck_assert(bs_nvme_copy_limits(&c, &n, &lim));
	ck_assert_uint_eq(lim.mssrl, 1024);
	ck_assert_uint_eq(lim.mcl, 4096);
	ck_assert_uint_eq(lim.nranges, 8);
	/* the lab's "no Copy" controller: mssrl=0,mcl=0,msrc=0 */
	ns_image(0, 0, 0);
	bs_nvme_parse_ns(id, sizeof(id), &n);
	ck_assert(!bs_nvme_copy_limits(&c, &n, &lim));
	ns_image(1024, 0, 7);
	bs_nvme_parse_ns(id, sizeof(id), &n);
	ck_assert(!bs_nvme_copy_limits(&c, &n, &lim));
	ns_image(0, 4096, 7);
	bs_nvme_parse_ns(id, sizeof(id), &n);
	ck_assert(!bs_nvme_copy_limits(&c, &n, &lim));
	/* ONCS without Copy */
	ns_image(1024, 4096, 7);
	bs_nvme_parse_ns(id, sizeof(id), &n);
	c.oncs &= (uint16_t)~NVME_ONCS_COPY;
	ck_assert(!bs_nvme_copy_limits(&c, &n, &lim));
	/* MSRC 255: 256 ranges; MSSRL 65535 */
	c.oncs |= NVME_ONCS_COPY;
	ns_image(65535, 0xffffffff, 255);
	bs_nvme_parse_ns(id, sizeof(id), &n);
	ck_assert(bs_nvme_copy_limits(&c, &n, &lim));
	ck_assert_uint_eq(lim.nranges, 256);
	ck_assert_uint_eq(lim.mssrl, 65535);
}
END_TEST

START_TEST(t_knob)
{
	struct bs_nvme_copy_limits lim = { 1, 2, 3 };
	static const char *const bad[] = {
		"", "1,2", "1,2,3,", "1,2,3,4", "70000,1,1", "1,2,256",
		"a,b,c", "-1,2,3", " 1,2,3", "1,,3", "1,2,3x", "1,4294967296,3",
	};
	size_t i;

	ck_assert_int_eq(bs_nvme_limits_parse("4096,8192,7", &lim), 0);
	ck_assert_uint_eq(lim.mssrl, 4096);
	ck_assert_uint_eq(lim.mcl, 8192);
	ck_assert_uint_eq(lim.nranges, 8);
	ck_assert_int_eq(bs_nvme_limits_parse("0,0,0", &lim), 0);
	ck_assert_uint_eq(lim.nranges, 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		lim.mssrl = 77;
		ck_assert_msg(bs_nvme_limits_parse(bad[i], &lim) == -EINVAL,
		    "accepted \"%s\"", bad[i]);
		ck_assert_uint_eq(lim.mssrl, 77);
	}
	ck_assert_int_eq(bs_nvme_limits_parse(NULL, &lim), -EINVAL);
}
END_TEST

static uint8_t ranges[BS_NVME_MAX_RANGES * BS_NVME_RANGE_LEN];

static uint64_t
r_slba(unsigned int i)
{
	return get_le64(ranges + i * BS_NVME_RANGE_LEN + 8);
}

static uint32_t
r_nlb(unsigned int i)
{
	return (uint32_t)get_le16(ranges + i * BS_NVME_RANGE_LEN + 16) + 1;
}

START_TEST(t_plan_edges)
{
	struct bs_nvme_copy_limits lim = { 1024, 4096, 8 };
	unsigned int nr, i;
	uint64_t got;

	/* MCL-sized command: 4 ranges of MSSRL */
	got = bs_nvme_copy_plan(&lim, 1000, 10000, ranges, &nr);
	ck_assert_uint_eq(got, 4096);
	ck_assert_uint_eq(nr, 4);
	for (i = 0; i < 4; i++) {
		ck_assert_uint_eq(r_slba(i), 1000 + 1024 * i);
		ck_assert_uint_eq(r_nlb(i), 1024);
	}
	/* reserved bytes and the protection fields stay zero */
	for (i = 0; i < 8; i++)
		ck_assert_uint_eq(ranges[i], 0);
	for (i = 18; i < 32; i++)
		ck_assert_uint_eq(ranges[i], 0);
	/* short request: one range */
	got = bs_nvme_copy_plan(&lim, 7, 1, ranges, &nr);
	ck_assert_uint_eq(got, 1);
	ck_assert_uint_eq(nr, 1);
	ck_assert_uint_eq(r_nlb(0), 1);
	/* MCL below MSSRL */
	lim = (struct bs_nvme_copy_limits){ 1024, 100, 8 };
	got = bs_nvme_copy_plan(&lim, 0, 5000, ranges, &nr);
	ck_assert_uint_eq(got, 100);
	ck_assert_uint_eq(nr, 1);
	/* MCL not a multiple of MSSRL */
	lim = (struct bs_nvme_copy_limits){ 1000, 2500, 8 };
	got = bs_nvme_copy_plan(&lim, 0, 5000, ranges, &nr);
	ck_assert_uint_eq(got, 2500);
	ck_assert_uint_eq(nr, 3);
	ck_assert_uint_eq(r_nlb(2), 500);
	/* the range count binds (MSRC 2) */
	lim = (struct bs_nvme_copy_limits){ 10, 1000, 3 };
	got = bs_nvme_copy_plan(&lim, 0, 5000, ranges, &nr);
	ck_assert_uint_eq(got, 30);
	ck_assert_uint_eq(nr, 3);
	/* MSRC 0: one range per command */
	lim = (struct bs_nvme_copy_limits){ 1024, 4096, 1 };
	got = bs_nvme_copy_plan(&lim, 0, 5000, ranges, &nr);
	ck_assert_uint_eq(got, 1024);
	/* 256 ranges, 65536-block NLB cap, 64-bit LBAs */
	lim = (struct bs_nvme_copy_limits){ 65536, UINT32_MAX, 300 };
	got = bs_nvme_copy_plan(&lim, 1ull << 40, UINT64_MAX >> 8, ranges,
	    &nr);
	ck_assert_uint_eq(nr, 256);
	ck_assert_uint_eq(got, 256ull * 65536);
	ck_assert_uint_eq(r_nlb(255), 65536);
	ck_assert_uint_eq(r_slba(255), (1ull << 40) + 255ull * 65536);
	/* unusable limits or nothing to do */
	lim = (struct bs_nvme_copy_limits){ 0, 4096, 8 };
	ck_assert_uint_eq(bs_nvme_copy_plan(&lim, 0, 10, ranges, &nr), 0);
	ck_assert_uint_eq(nr, 0);
	lim = (struct bs_nvme_copy_limits){ 1024, 0, 8 };
	ck_assert_uint_eq(bs_nvme_copy_plan(&lim, 0, 10, ranges, &nr), 0);
	lim = (struct bs_nvme_copy_limits){ 1024, 4096, 0 };
	ck_assert_uint_eq(bs_nvme_copy_plan(&lim, 0, 10, ranges, &nr), 0);
	lim = (struct bs_nvme_copy_limits){ 1024, 4096, 8 };
	ck_assert_uint_eq(bs_nvme_copy_plan(&lim, 0, 0, ranges, &nr), 0);
}
END_TEST

/* Whole copies through the planner: every invariant, every limit. */
START_TEST(t_plan_sweep)
{
	static const uint32_t mssrls[] = { 1, 2, 7, 128, 1000, 1024, 65535,
	    65536 };
	static const uint32_t mcls[] = { 1, 3, 128, 1000, 4096, 65537,
	    1u << 20 };
	static const uint32_t nrs[] = { 1, 2, 8, 128, 256 };
	static const uint64_t lens[] = { 1, 2, 127, 1000, 4097, 70000,
	    524288 };
	struct bs_nvme_copy_limits lim;
	size_t a, b, c, d;

	for (a = 0; a < sizeof(mssrls) / sizeof(mssrls[0]); a++)
	for (b = 0; b < sizeof(mcls) / sizeof(mcls[0]); b++)
	for (c = 0; c < sizeof(nrs) / sizeof(nrs[0]); c++)
	for (d = 0; d < sizeof(lens) / sizeof(lens[0]); d++) {
		uint64_t src = 12345, done = 0, sum, got, cmds = 0, per;
		unsigned int nr, i;
		bool ok = true;

		lim = (struct bs_nvme_copy_limits){ mssrls[a], mcls[b],
		    nrs[c] };
		/* plain checks: a ck_assert per range is too slow here */
		while (ok && done < lens[d]) {
			got = bs_nvme_copy_plan(&lim, src + done,
			    lens[d] - done, ranges, &nr);
			ok = got > 0 && nr >= 1 && nr <= nrs[c] &&
			    got <= mcls[b];
			sum = 0;
			for (i = 0; ok && i < nr; i++) {
				ok = r_slba(i) == src + done + sum &&
				    r_nlb(i) <= mssrls[a];
				sum += r_nlb(i);
			}
			ok = ok && sum == got;
			done += got;
			cmds++;
		}
		/* greedy: as few commands as the limits allow */
		per = MIN((uint64_t)mcls[b],
		    (uint64_t)MIN(mssrls[a], 65536u) * nrs[c]);
		ck_assert_msg(ok && done == lens[d] &&
		    cmds == (lens[d] + per - 1) / per,
		    "MSSRL %u MCL %u ranges %u: %llu blocks planned wrong",
		    mssrls[a], mcls[b], nrs[c], (unsigned long long)lens[d]);
	}
}
END_TEST

START_TEST(t_dsm_plan)
{
	uint8_t buf[BS_NVME_MAX_RANGES * BS_NVME_DSM_RANGE_LEN];
	unsigned int nr;
	uint64_t got;

	got = bs_nvme_dsm_plan(0, 100, 5, buf, &nr);
	ck_assert_uint_eq(got, 5);
	ck_assert_uint_eq(nr, 1);
	ck_assert_uint_eq(get_le32(buf), 0);
	ck_assert_uint_eq(get_le32(buf + 4), 5);
	ck_assert_uint_eq(get_le64(buf + 8), 100);
	got = bs_nvme_dsm_plan(10, 0, 3000, buf, &nr);
	ck_assert_uint_eq(nr, 256);
	ck_assert_uint_eq(got, 2560);
	ck_assert_uint_eq(get_le64(buf + 255 * 16 + 8), 2550);
	got = bs_nvme_dsm_plan(0, 0, 1ull << 33, buf, &nr);
	ck_assert_uint_eq(nr, 3);
	ck_assert_uint_eq(get_le32(buf + 4), UINT32_MAX);
	ck_assert_uint_eq(got, 1ull << 33);
}
END_TEST

START_TEST(t_status)
{
	ck_assert_int_eq(bs_nvme_status_errno(0), 0);
	ck_assert_int_eq(bs_nvme_status_errno(-ENOTTY), -ENOTTY);
	ck_assert_int_eq(bs_nvme_status_errno(0x01), -EOPNOTSUPP);
	ck_assert_int_eq(bs_nvme_status_errno(0x4002), -EOPNOTSUPP);
	ck_assert_int_eq(bs_nvme_status_errno(0x4183), -EOPNOTSUPP);
	ck_assert_int_eq(bs_nvme_status_errno(0x06), -EREMOTEIO);
	ck_assert_int_eq(bs_nvme_status_errno(0x4006), -EREMOTEIO);
	ck_assert_int_eq(bs_nvme_status_errno(0x80), -ERANGE);
	ck_assert_int_eq(bs_nvme_status_errno(0x281), -EIO);
	ck_assert_int_eq(bs_nvme_status_errno(0x280), -EIO);
	ck_assert_int_eq(bs_nvme_status_errno(0x2ff), -EIO);
	ck_assert_int_eq(bs_nvme_status_errno(0x120), -EROFS);
	ck_assert_int_eq(bs_nvme_status_errno(0x371), -EAGAIN);
	ck_assert_int_eq(bs_nvme_status_errno(0x7ff), -EIO);
	ck_assert_int_eq(bs_nvme_status_errno(0x4000), 0);
	ck_assert_str_eq(bs_nvme_status_str(0x4006), "Internal Error");
	ck_assert_str_eq(bs_nvme_status_str(0x4183),
	    "Command Size Limit Exceeded");
	ck_assert_str_eq(bs_nvme_status_str(0x2ff), "media error");
	ck_assert_str_eq(bs_nvme_status_str(-EIO), "system error");
	/* the copy engine's fallback class */
	ck_assert_int_eq(bs_nvme_status_errno(0x4183), -EOPNOTSUPP);
	/* and what the initiator sees for a device failure */
	ck_assert_int_eq(sense_from_errno(bs_nvme_status_errno(0x4006),
	    true), SENSE_INTERNAL_TARGET_FAILURE);
	ck_assert_int_eq(sense_from_errno(bs_nvme_status_errno(0x280),
	    true), SENSE_WRITE_ERROR);
	ck_assert_int_eq(sense_from_errno(bs_nvme_status_errno(0x281),
	    false), SENSE_READ_ERROR);
}
END_TEST

START_TEST(t_open_not_nvme)
{
	struct conf_storage cs;
	char path[] = "/tmp/check_bs_nvme.XXXXXX";
	struct backstore *bs;
	int fd, err;

	ck_assert_ptr_eq(backstore_ops_find("nvme"), &bs_nvme_ops);
	ck_assert_int_eq(bs_nvme_ops.copy_kind, BS_COPY_NVME);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 1 << 20), 0);
	close(fd);
	memset(&cs, 0, sizeof(cs));
	cs.plugin = "nvme";
	cs.name = "n0";
	cs.dev = path;
	bs = backstore_open(&cs, &err);
	ck_assert_ptr_null(bs);
	ck_assert_int_eq(err, -ENOTBLK);
	unlink(path);
	cs.dev = "/dev/null";		/* a char node that is not ngXnY */
	bs = backstore_open(&cs, &err);
	ck_assert_ptr_null(bs);
	ck_assert_int_eq(err, -ENOTBLK);
	cs.dev = "/nonexistent/nvme9n9";
	bs = backstore_open(&cs, &err);
	ck_assert_ptr_null(bs);
	ck_assert_int_eq(err, -ENOENT);
}
END_TEST

static Suite *
bs_nvme_suite(void)
{
	Suite *s = suite_create("bs_nvme");
	TCase *tc = tcase_create("id");

	tcase_add_test(tc, t_ctrl);
	tcase_add_test(tc, t_ns);
	tcase_add_test(tc, t_dlfeat);
	tcase_add_test(tc, t_limits);
	tcase_add_test(tc, t_knob);
	tcase_add_test(tc, t_plan_edges);
	tcase_add_test(tc, t_plan_sweep);
	tcase_add_test(tc, t_dsm_plan);
	tcase_add_test(tc, t_status);
	tcase_add_test(tc, t_open_not_nvme);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	log_init(false, LOG_LVL_WARN);
	sr = srunner_create(bs_nvme_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
