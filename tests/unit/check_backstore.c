/*
 * check_backstore.c - unit tests for the backstore wrapper, "fileio" (on
 * the io_uring and the forced-pool path) and "mem": data round trips,
 * FUA/flush, unmap holes, write zeroes, range and read-only checks, error
 * injection and allocation failure.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* SEEK_DATA */
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backstore.h"
#include "bs_harness.h"
#include "conf.h"
#include "log.h"
#include "loop.h"
#include "util.h"

static char tdir[64];
static char tpath[128];

static void
tmp_setup(void)
{
	strcpy(tdir, "/tmp/check_bs.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	snprintf(tpath, sizeof(tpath), "%s/lun0.img", tdir);
}

static void
tmp_teardown(void)
{
	unlink(tpath);
	rmdir(tdir);
}

static struct conf_storage
storage(const char *plugin, uint64_t size, uint32_t bsz)
{
	struct conf_storage cs;

	memset(&cs, 0, sizeof(cs));
	cs.plugin = (char *)plugin;
	cs.name = (char *)"disk0";
	cs.dev = strcmp(plugin, "fileio") == 0 ? tpath : NULL;
	cs.size = size;
	cs.block_size = bsz;
	cs.write_back = true;
	cs.thin = true;
	return cs;
}

/* --- tests run on both plugins --- */

static const char *const plugins[] = { "mem", "fileio", "fileio" };

#define BIGLEN	(2u * 1024 * 1024 + 3 * 4096)

/* _i: 0 = mem, 1 = fileio over io_uring, 2 = fileio over the pool */
START_TEST(test_rw_roundtrip)
{
	struct conf_storage cs;
	struct backstore *bs;
	struct iovec wv[5], rv[3];
	struct bs_io w, fl, r, *ios[3];
	uint8_t *wbuf, *rbuf;
	size_t wl[5] = { 512, 1024 * 1024, 4096, 3584,
	    BIGLEN - 512 - 1024 * 1024 - 4096 - 3584 };
	size_t rl[3] = { 4096, 1024 * 1024 + 512, BIGLEN - 4096 -
	    1024 * 1024 - 512 };
	size_t off;
	int i;

	tmp_setup();
	bh_mode_setup(_i == 2);
	cs = storage(plugins[_i], 8 * 1024 * 1024, 512);
	bs = bh_open_ok(&cs);
	ck_assert_uint_eq(bs->size, 8 * 1024 * 1024);
	wbuf = malloc(BIGLEN);
	rbuf = calloc(1, BIGLEN);
	bh_fill_pattern(wbuf, BIGLEN, 11);
	for (i = 0, off = 0; i < 5; off += wl[i++]) {
		wv[i].iov_base = wbuf + off;
		wv[i].iov_len = wl[i];
	}
	for (i = 0, off = 0; i < 3; off += rl[i++]) {
		rv[i].iov_base = rbuf + off;
		rv[i].iov_len = rl[i];
	}
	bh_io_init(&w, BS_WRITE, 1024 * 1024 + 512, BIGLEN, wv, 5);
	w.flags = BS_IO_FUA;
	bh_io_init(&fl, BS_FLUSH, 0, 0, NULL, 0);
	bh_io_init(&r, BS_READ, 1024 * 1024 + 512, 0, rv, 3);
	ios[0] = &w;
	ios[1] = &fl;
	ck_assert_int_eq(bh_run_io(bs, ios, 2), 0);
	ck_assert_int_eq(bh_res(0), 0);
	ck_assert_int_eq(bh_res(1), 0);
	ios[0] = &r;
	ck_assert_int_eq(bh_run_io(bs, ios, 1), 0);
	ck_assert_int_eq(bh_res(0), 0);
	ck_assert_uint_eq(r.len, BIGLEN);
	ck_assert_int_eq(memcmp(wbuf, rbuf, BIGLEN), 0);
	/* untouched space reads as zero */
	ck_assert_int_eq(bh_rw(bs, BS_READ, 0, 0, rbuf, 4096), 0);
	ck_assert(bh_is_zero(rbuf, 4096));
	if (_i != 0) {
		/* the file holds the data */
		memset(rbuf, 0, BIGLEN);
		ck_assert_int_eq(pread(bs->fd, rbuf, BIGLEN,
		    1024 * 1024 + 512), (ssize_t)BIGLEN);
		ck_assert_int_eq(memcmp(wbuf, rbuf, BIGLEN), 0);
	}
	free(wbuf);
	free(rbuf);
	backstore_put(bs);
	bh_mode_teardown();
	tmp_teardown();
}
END_TEST

START_TEST(test_write_zeroes)
{
	struct conf_storage cs;
	struct backstore *bs;
	uint8_t *buf;
	size_t len = 256 * 1024;

	tmp_setup();
	bh_mode_setup(_i == 2);
	cs = storage(plugins[_i], 1024 * 1024, 4096);
	bs = bh_open_ok(&cs);
	ck_assert(bs->caps & BS_CAP_ZEROES);
	buf = malloc(len);
	bh_fill_pattern(buf, len, 5);
	ck_assert_int_eq(bh_rw(bs, BS_WRITE, 0, 0, buf, len), 0);
	/* unaligned range inside */
	ck_assert_int_eq(bh_range(bs, BS_WRITE_ZEROES, 1000, 70000), 0);
	/* aligned range spanning whole pages */
	ck_assert_int_eq(bh_range(bs, BS_WRITE_ZEROES, 131072, 65536), 0);
	memset(buf, 0xee, len);
	ck_assert_int_eq(bh_rw(bs, BS_READ, 0, 0, buf, len), 0);
	{
		uint8_t *want = malloc(len);

		bh_fill_pattern(want, len, 5);
		memset(want + 1000, 0, 70000);
		memset(want + 131072, 0, 65536);
		ck_assert_int_eq(memcmp(buf, want, len), 0);
		free(want);
	}
	free(buf);
	backstore_put(bs);
	bh_mode_teardown();
	tmp_teardown();
}
END_TEST

START_TEST(test_unmap)
{
	struct conf_storage cs;
	struct backstore *bs;
	uint8_t *buf;
	size_t len = 1024 * 1024;
	off_t data;

	tmp_setup();
	bh_mode_setup(_i == 2);
	cs = storage(plugins[_i], 4 * 1024 * 1024, 512);
	bs = bh_open_ok(&cs);
	if (!(bs->caps & BS_CAP_UNMAP)) {
		/* filesystem without hole punching: nothing to test */
		ck_assert_int_eq(bh_range(bs, BS_UNMAP, 0, 4096), -EOPNOTSUPP);
		goto out;
	}
	buf = malloc(len);
	memset(buf, 0x5a, len);
	ck_assert_int_eq(bh_rw(bs, BS_WRITE, 0, 0, buf, len), 0);
	ck_assert_int_eq(bh_range(bs, BS_UNMAP, 256 * 1024, 512 * 1024), 0);
	if (_i != 0) {
		/* a hole: the next data after 256K starts at 768K */
		ck_assert_int_eq(fsync(bs->fd), 0);
		data = lseek(bs->fd, 256 * 1024, SEEK_DATA);
		ck_assert_int_eq(data, 768 * 1024);
		ck_assert(bs->caps & BS_CAP_SEEK_HOLE);
	}
	ck_assert_int_eq(bh_rw(bs, BS_READ, 0, 0, buf, len), 0);
	ck_assert_int_eq(buf[256 * 1024 - 1], 0x5a);
	ck_assert(bh_is_zero(buf + 256 * 1024, 512 * 1024));
	ck_assert_int_eq(buf[768 * 1024], 0x5a);
	free(buf);
out:
	backstore_put(bs);
	bh_mode_teardown();
	tmp_teardown();
}
END_TEST

START_TEST(test_inject_error)
{
	struct conf_storage cs;
	struct backstore *bs;
	uint8_t buf[4096];
	struct bs_io io[3], *ios[3];
	struct iovec v = { .iov_base = buf, .iov_len = sizeof(buf) };
	int i;

	tmp_setup();
	bh_mode_setup(_i == 2);
	cs = storage(plugins[_i], 1024 * 1024, 512);
	bs = bh_open_ok(&cs);
	memset(buf, 1, sizeof(buf));
	backstore_inject_error(bs, 2, EIO);
	for (i = 0; i < 3; i++) {
		bh_io_init(&io[i], i == 1 ? BS_READ : BS_WRITE,
		    (uint64_t)i * 4096, 0, &v, 1);
		ios[i] = &io[i];
	}
	ck_assert_int_eq(bh_run_io(bs, ios, 3), 0);
	ck_assert_int_eq(bh_res(0), 0);
	ck_assert_int_eq(bh_res(1), -EIO);
	ck_assert_int_eq(bh_res(2), 0);
	/* any errno, any op; n = 0 disables */
	backstore_inject_error(bs, 1, -ENOSPC);
	ck_assert_int_eq(bh_range(bs, BS_FLUSH, 0, 0), -ENOSPC);
	backstore_inject_error(bs, 1, EIO);
	backstore_inject_error(bs, 0, EIO);
	ck_assert_int_eq(bh_range(bs, BS_FLUSH, 0, 0), 0);
	backstore_put(bs);
	bh_mode_teardown();
	tmp_teardown();
}
END_TEST

START_TEST(test_checks)
{
	struct conf_storage cs;
	struct backstore *bs;
	uint8_t buf[1024];
	struct iovec v = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct bs_io io;

	tmp_setup();
	bh_mode_setup(_i == 2);
	cs = storage(plugins[_i], 64 * 1024, 512);
	bs = bh_open_ok(&cs);
	bh_io_init(&io, BS_READ, 64 * 1024 - 512, 0, &v, 1);
	ck_assert_int_eq(bh_run_one(bs, &io), -ERANGE);
	bh_io_init(&io, BS_WRITE, UINT64_MAX - 100, 0, &v, 1);
	ck_assert_int_eq(bh_run_one(bs, &io), -ERANGE);
	bh_io_init(&io, BS_WRITE, 0, 512, &v, 1);		/* len != iov */
	ck_assert_int_eq(bh_run_one(bs, &io), -EINVAL);
	ck_assert_int_eq(bh_range(bs, BS_UNMAP, 60 * 1024, 8192), -ERANGE);
	bh_io_init(&io, 77, 0, 0, NULL, 0);
	ck_assert_int_eq(bh_run_one(bs, &io), -EINVAL);
	backstore_get(bs);
	backstore_put(bs);
	ck_assert_int_eq(bh_rw(bs, BS_WRITE, 0, 0, buf, sizeof(buf)), 0);
	backstore_put(bs);
	if (_i != 0) {
		/* read-only: reopen the same file */
		cs.read_only = true;
		cs.size = 0;
		bs = bh_open_ok(&cs);
		ck_assert_uint_eq(bs->size, 64 * 1024);
		ck_assert_int_eq(bh_rw(bs, BS_WRITE, 0, 0, buf, sizeof(buf)),
		    -EROFS);
		ck_assert_int_eq(bh_range(bs, BS_FLUSH, 0, 0), -EROFS);
		ck_assert_int_eq(bh_rw(bs, BS_READ, 0, 0, buf, sizeof(buf)),
		    0);
		ck_assert_int_eq(fcntl(bs->fd, F_GETFL) & O_ACCMODE,
		    O_RDONLY);
		backstore_put(bs);
	}
	bh_mode_teardown();
	tmp_teardown();
}
END_TEST

/* --- fileio open rules --- */

START_TEST(test_file_sizes)
{
	struct conf_storage cs;
	struct backstore *bs;
	struct stat st;
	int err, fd;

	tmp_setup();
	bh_mode_setup(false);
	/* new file, no size: refused and not left behind */
	cs = storage("fileio", 0, 512);
	ck_assert_ptr_null(backstore_open(&cs, &err));
	ck_assert_int_eq(err, -EINVAL);
	ck_assert_int_eq(access(tpath, F_OK), -1);
	/* new file: created sparse with the configured size */
	cs.size = 16 * 1024 * 1024;
	bs = bh_open_ok(&cs);
	ck_assert_int_eq(stat(tpath, &st), 0);
	ck_assert_int_eq(st.st_size, 16 * 1024 * 1024);
	ck_assert_int_lt(st.st_blocks * 512, 1024 * 1024);
	ck_assert_uint_eq(bs->block_size, 512);
	ck_assert_uint_eq(bs->phys_block_size, 4096);
	backstore_put(bs);
	/* existing file, size 0: take the file's */
	cs.size = 0;
	cs.block_size = 4096;
	bs = bh_open_ok(&cs);
	ck_assert_uint_eq(bs->size, 16 * 1024 * 1024);
	ck_assert_uint_eq(bs->block_size, 4096);
	ck_assert_uint_eq(bs->phys_block_size, 4096);
	backstore_put(bs);
	/* larger: extended sparsely */
	cs.size = 32 * 1024 * 1024;
	bs = bh_open_ok(&cs);
	ck_assert_int_eq(stat(tpath, &st), 0);
	ck_assert_int_eq(st.st_size, 32 * 1024 * 1024);
	backstore_put(bs);
	/* smaller: only the first part is exported */
	cs.size = 1024 * 1024;
	bs = bh_open_ok(&cs);
	ck_assert_uint_eq(bs->size, 1024 * 1024);
	backstore_put(bs);
	ck_assert_int_eq(stat(tpath, &st), 0);
	ck_assert_int_eq(st.st_size, 32 * 1024 * 1024);
	/* not a multiple of the block size: whole blocks only */
	cs.size = 1024 * 1024 + 100;
	bs = bh_open_ok(&cs);
	ck_assert_uint_eq(bs->size, 1024 * 1024);
	backstore_put(bs);
	/* bad block size, bad plugin, a directory */
	cs.block_size = 1000;
	ck_assert_ptr_null(backstore_open(&cs, &err));
	ck_assert_int_eq(err, -EINVAL);
	cs.block_size = 512;
	cs.plugin = (char *)"nosuch";
	ck_assert_ptr_null(backstore_open(&cs, &err));
	ck_assert_int_eq(err, -EOPNOTSUPP);
	cs.plugin = (char *)"fileio";
	cs.dev = tdir;
	ck_assert_ptr_null(backstore_open(&cs, &err));
	ck_assert(err == -EINVAL || err == -EISDIR);
	cs.dev = NULL;
	ck_assert_ptr_null(backstore_open(&cs, &err));
	ck_assert_int_eq(err, -EINVAL);
	/* mem needs a size */
	cs = storage("mem", 0, 512);
	ck_assert_ptr_null(backstore_open(&cs, &err));
	ck_assert_int_eq(err, -EINVAL);
	ck_assert_ptr_eq(backstore_ops_find("fileio"), &bs_file_ops);
	ck_assert_ptr_eq(backstore_ops_find("mem"), &bs_mem_ops);
	ck_assert_ptr_null(backstore_ops_find(NULL));
	/* read-only file smaller than the configured size */
	fd = open(tpath, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 4096), 0);
	close(fd);
	cs = storage("fileio", 8192, 512);
	cs.read_only = true;
	ck_assert_ptr_null(backstore_open(&cs, &err));
	ck_assert_int_eq(err, -EINVAL);
	bh_mode_teardown();
	tmp_teardown();
}
END_TEST

/* --- allocation failure: -ENOMEM, nothing leaked (run under ASan) --- */

START_TEST(test_alloc_failure)
{
	struct conf_storage cs;
	struct backstore *bs = NULL;
	uint8_t buf[4096];
	unsigned long n;
	int err, rc, nfail = 0;

	tmp_setup();
	bh_mode_setup(_i == 2);
	cs = storage(plugins[_i], 1024 * 1024, 512);
	for (n = 1; n < 100; n++) {
		xmalloc_fail_after(n);
		bs = backstore_open(&cs, &err);
		xmalloc_fail_after(0);
		if (bs != NULL)
			break;
		ck_assert_int_eq(err, -ENOMEM);
		ck_assert_int_eq(access(tpath, F_OK), -1);
		nfail++;
	}
	ck_assert_ptr_nonnull(bs);
	ck_assert_int_gt(nfail, 0);
	memset(buf, 3, sizeof(buf));
	/* I/O: each allocation on the way fails cleanly or not at all */
	for (n = 1; n < 20; n++) {
		bh_fail_after(n);
		rc = bh_rw(bs, BS_WRITE, BS_IO_FUA, 0, buf, sizeof(buf));
		ck_assert(rc == 0 || rc == -ENOMEM);
		rc = bh_range(bs, BS_WRITE_ZEROES, 8192, 8192);
		ck_assert_int_eq(rc, 0);
	}
	/* mem and the pool allocate per request: the first one fails */
	if (_i != 1) {
		bh_fail_after(1);
		rc = bh_rw(bs, BS_READ, 0, 0, buf, sizeof(buf));
		ck_assert_int_eq(rc, -ENOMEM);
	}
	backstore_put(bs);
	bh_mode_teardown();
	tmp_teardown();
}
END_TEST

static Suite *
backstore_suite(void)
{
	Suite *s = suite_create("backstore");
	TCase *tc;

	/* _i: 0 = mem, 1 = fileio/io_uring, 2 = fileio/pool */
	tc = tcase_create("io");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_rw_roundtrip, 0, 3);
	tcase_add_loop_test(tc, test_write_zeroes, 0, 3);
	tcase_add_loop_test(tc, test_unmap, 0, 3);
	tcase_add_loop_test(tc, test_inject_error, 0, 3);
	tcase_add_loop_test(tc, test_checks, 0, 3);
	tcase_add_loop_test(tc, test_alloc_failure, 0, 3);
	suite_add_tcase(s, tc);

	tc = tcase_create("open");
	tcase_add_test(tc, test_file_sizes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	log_init(false, LOG_LVL_ERR);
	sr = srunner_create(backstore_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
