/*
 * check_copy_nvme.c - the copy engine's NVMe policy, on real loops with a
 * "mem" LU whose ops are those of bs_mem except copy(), a stand-in with
 * copy_kind BS_COPY_NVME answering what each test asks: success counts
 * bytes under COPY_PATH_NVME (in 64 MiB pieces); -EOPNOTSUPP and -EXDEV
 * fall back to reads and writes (counted); a device failure (-EREMOTEIO,
 * -EIO) ends the job with the destination's sense and is not redone;
 * copy_path_disable(nvme) never calls the hook.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backstore.h"
#include "bs_harness.h"
#include "conf.h"
#include "copy_engine.h"
#include "log.h"
#include "loop.h"
#include "lun.h"
#include "sense.h"
#include "util.h"

#define MiB	(1024ull * 1024)
#define LU_SIZE	(8 * MiB)

static struct backstore_ops fake_ops;
static int fake_res;
static unsigned int fake_calls;

static void
fake_done(void *arg)
{
	struct bs_io *io = arg;

	io->done(io, fake_res);
}

static int
fake_copy(struct backstore *dst, struct backstore *src,
    const struct bs_extent *ext, struct bs_io *io)
{
	fake_calls++;
	ck_assert_ptr_eq(dst, src);
	ck_assert_uint_le(ext->len, 64 * MiB);
	return loop_post(io->loop, fake_done, io);
}

static struct backstore *bs;
static struct lun *lu;

static void
setup(void)
{
	struct conf_storage cs;
	int err;

	fake_ops = bs_mem_ops;
	fake_ops.copy = fake_copy;
	fake_ops.copy_kind = BS_COPY_NVME;
	fake_calls = 0;
	fake_res = 0;
	ck_assert_int_eq(loops_init(1), 0);
	memset(&cs, 0, sizeof(cs));
	cs.plugin = "mem";
	cs.name = "nvlu";
	cs.size = 160 * MiB;
	cs.block_size = 512;
	cs.write_back = true;
	bs = backstore_open(&cs, &err);
	ck_assert_ptr_nonnull(bs);
	bs->ops = &fake_ops;
	lu = lun_create(&cs, bs);
	ck_assert_ptr_nonnull(lu);
}

static void
teardown(void)
{
	lun_put(lu);
	backstore_put(bs);
	loops_fini();
	copy_path_disable(0);
}

static struct copy_job job;

static void
job_done_cb(struct copy_job *j)
{
	loops_stop();
}

static void
job_start(void *arg)
{
	job.loop = loop_current();
	job.done = job_done_cb;
	ck_assert_int_eq(copy_job_start(&job), 0);
}

static int
run_copy(uint64_t soff, uint64_t doff, uint64_t len)
{
	struct copy_step *s = calloc(1, sizeof(*s));

	ck_assert_ptr_nonnull(s);
	s->kind = COPY_STEP_COPY;
	s->src = lu;
	s->dst = lu;
	lun_get(lu);
	lun_get(lu);
	s->src_off = soff;
	s->dst_off = doff;
	s->len = len;
	memset(&job, 0, sizeof(job));
	job.steps = s;
	job.n_steps = 1;
	ck_assert_int_eq(loop_post(loop_get(0), job_start, NULL), 0);
	ck_assert_int_eq(loops_run(), 0);
	copy_job_fini(&job);
	return job.err;
}

/* Source [0, LU_SIZE) random, destination [32 MiB, +LU_SIZE) zero. */
static uint8_t *
prepare(void)
{
	uint8_t *p = malloc(LU_SIZE);
	size_t i;

	ck_assert_ptr_nonnull(p);
	for (i = 0; i < LU_SIZE; i++)
		p[i] = (uint8_t)(i * 131 + (i >> 9));
	ck_assert_int_eq(bh_rw(bs, BS_WRITE, 0, 0, p, LU_SIZE), 0);
	return p;
}

static bool
dst_is(const uint8_t *want)
{
	uint8_t *got = malloc(LU_SIZE);
	bool same;

	ck_assert_ptr_nonnull(got);
	ck_assert_int_eq(bh_rw(bs, BS_READ, 0, 32 * MiB, got, LU_SIZE), 0);
	same = memcmp(got, want, LU_SIZE) == 0;
	free(got);
	return same;
}

static void
counters(struct copy_counters *c)
{
	copy_counters_get(lu, c);
}

START_TEST(t_nvme_ok)
{
	struct copy_counters c;

	ck_assert_int_eq(run_copy(0, 32 * MiB, LU_SIZE), 0);
	ck_assert_uint_eq(fake_calls, 1);
	counters(&c);
	ck_assert_uint_eq(c.bytes[COPY_PATH_NVME], LU_SIZE);
	ck_assert_uint_eq(c.bytes[COPY_PATH_RW], 0);
	ck_assert_uint_eq(c.fallbacks_unsupported + c.fallbacks_xdev, 0);
}
END_TEST

START_TEST(t_nvme_pieces)
{
	struct copy_counters c;

	ck_assert_int_eq(run_copy(0, 80 * MiB, 80 * MiB), 0);
	ck_assert_uint_eq(fake_calls, 2);	/* 64 + 16 MiB */
	counters(&c);
	ck_assert_uint_eq(c.bytes[COPY_PATH_NVME], 80 * MiB);
}
END_TEST

static void
fallback_case(int res, bool xdev)
{
	struct copy_counters c;
	uint8_t *src = prepare();

	fake_res = res;
	ck_assert_int_eq(run_copy(0, 32 * MiB, LU_SIZE), 0);
	ck_assert_uint_eq(fake_calls, 1);
	ck_assert(dst_is(src));
	counters(&c);
	ck_assert_uint_eq(c.bytes[COPY_PATH_NVME], 0);
	ck_assert_uint_eq(c.bytes[COPY_PATH_RW], LU_SIZE);
	ck_assert_uint_eq(xdev ? c.fallbacks_xdev : c.fallbacks_unsupported, 1);
	ck_assert_uint_eq(c.fallbacks_error + c.failures, 0);
	free(src);
}

START_TEST(t_nvme_unsupported)
{
	fallback_case(-EOPNOTSUPP, false);
}
END_TEST

START_TEST(t_nvme_xdev)
{
	fallback_case(-EXDEV, true);
}
END_TEST

static void
failure_case(int res, uint8_t key, uint8_t asc)
{
	struct copy_counters c;
	uint8_t *src = prepare(), *zero = calloc(1, LU_SIZE);

	ck_assert_ptr_nonnull(zero);
	fake_res = res;
	ck_assert_int_eq(run_copy(0, 32 * MiB, LU_SIZE), res);
	ck_assert_uint_eq(fake_calls, 1);
	ck_assert(job.err_is_write);
	ck_assert_uint_eq(job.failed_step, 0);
	ck_assert_uint_ge(job.fwd_sense_len, 14);
	ck_assert_uint_eq(job.fwd_sense[0] & 0x7f, 0x70);
	ck_assert_uint_eq(job.fwd_sense[2] & 0xf, key);
	ck_assert_uint_eq(job.fwd_sense[12], asc);
	/* not redone with reads and writes */
	ck_assert(dst_is(zero));
	counters(&c);
	ck_assert_uint_eq(c.bytes[COPY_PATH_RW], 0);
	ck_assert_uint_eq(c.fallbacks_error, 0);
	ck_assert_uint_eq(c.failures, 1);
	free(src);
	free(zero);
}

START_TEST(t_nvme_device_error)
{
	failure_case(-EREMOTEIO, SENSE_KEY_HARDWARE_ERROR, 0x44);
}
END_TEST

START_TEST(t_nvme_media_error)
{
	failure_case(-EIO, SENSE_KEY_MEDIUM_ERROR, 0x0c);
}
END_TEST

START_TEST(t_nvme_disabled)
{
	struct copy_counters c;
	uint8_t *src = prepare();

	copy_path_disable(1u << COPY_PATH_NVME);
	ck_assert_int_eq(run_copy(0, 32 * MiB, LU_SIZE), 0);
	ck_assert_uint_eq(fake_calls, 0);
	ck_assert(dst_is(src));
	counters(&c);
	ck_assert_uint_eq(c.bytes[COPY_PATH_RW], LU_SIZE);
	ck_assert_uint_eq(c.fallbacks_unsupported + c.fallbacks_xdev, 0);
	free(src);
}
END_TEST

/* Overlap stays memmove by reads and writes: the hook is not asked. */
START_TEST(t_nvme_overlap)
{
	ck_assert_int_eq(run_copy(0, 1 * MiB, LU_SIZE), 0);
	ck_assert_uint_eq(fake_calls, 0);
}
END_TEST

static Suite *
copy_nvme_suite(void)
{
	Suite *s = suite_create("copy_nvme");
	TCase *tc = tcase_create("policy");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t_nvme_ok);
	tcase_add_test(tc, t_nvme_pieces);
	tcase_add_test(tc, t_nvme_unsupported);
	tcase_add_test(tc, t_nvme_xdev);
	tcase_add_test(tc, t_nvme_device_error);
	tcase_add_test(tc, t_nvme_media_error);
	tcase_add_test(tc, t_nvme_disabled);
	tcase_add_test(tc, t_nvme_overlap);
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
	sr = srunner_create(copy_nvme_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
