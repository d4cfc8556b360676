/*
 * check_copy_engine.c - unit tests for the copy engine on real loops with
 * "mem" and "fileio" LUs: every path (reflink when $TPCD_TEST_REFLINK_DIR
 * names a directory on a filesystem that clones, copy_file_range, forced
 * read/write fallback, zeroing by unmap and by write zeroes), memmove
 * semantics forwards and backwards, abort in the middle of a job, injected
 * EIO on read and on write (err, failed_step, forwarded sense), write
 * protection, the destination range lock, and the counters.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backstore.h"
#include "bs_harness.h"
#include "conf.h"
#include "copy_engine.h"
#include "log.h"
#include "loop.h"
#include "lun.h"
#include "lun_lock.h"
#include "util.h"

#define MiB	(1024ull * 1024)

static char tdir[256];
static int nfiles;

static void
setup(void)
{
	const char *base = getenv("TPCD_TEST_DIR");

	snprintf(tdir, sizeof(tdir), "%s/check_copy.XXXXXX",
	    base != NULL ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	nfiles = 0;
	ck_assert_int_eq(loops_init(1), 0);
}

static void
teardown(void)
{
	char cmd[300];

	loops_fini();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tdir);
}

/* --- LUs --- */

struct tlu {
	struct lun	*lun;
	struct backstore *bs;
	char		 path[300];
};

static void
tlu_open(struct tlu *t, const char *plugin, const char *dir, uint64_t size,
    uint32_t bsz, bool thin)
{
	struct conf_storage cs;
	char name[32];
	int err;

	memset(&cs, 0, sizeof(cs));
	snprintf(name, sizeof(name), "lu%d", nfiles);
	snprintf(t->path, sizeof(t->path), "%s/lu%d.img", dir, nfiles++);
	cs.plugin = (char *)plugin;
	cs.name = name;
	cs.dev = strcmp(plugin, "fileio") == 0 ? t->path : NULL;
	cs.size = size;
	cs.block_size = bsz;
	cs.write_back = true;
	cs.thin = thin;
	t->bs = backstore_open(&cs, &err);
	ck_assert_msg(t->bs != NULL, "open %s: %d", plugin, err);
	t->lun = lun_create(&cs, t->bs);
	ck_assert_ptr_nonnull(t->lun);
}

static void
tlu_close(struct tlu *t)
{
	lun_put(t->lun);
	backstore_put(t->bs);
}

static void
pattern(uint8_t *p, uint64_t len, unsigned int seed)
{
	uint64_t i;

	for (i = 0; i < len; i += 8) {
		uint64_t v = (i + seed * 0x9e3779b97f4a7c15ull) *
		    0xbf58476d1ce4e5b9ull;

		memcpy(p + i, &v, MIN(8, len - i));
	}
}

static uint8_t *
fill(struct tlu *t, unsigned int seed)
{
	uint8_t *img = malloc(t->bs->size);

	ck_assert_ptr_nonnull(img);
	pattern(img, t->bs->size, seed);
	ck_assert_int_eq(bh_rw(t->bs, BS_WRITE, 0, 0, img, t->bs->size), 0);
	return img;
}

static uint8_t *
readall(struct tlu *t)
{
	uint8_t *img = malloc(t->bs->size);

	ck_assert_ptr_nonnull(img);
	ck_assert_int_eq(bh_rw(t->bs, BS_READ, 0, 0, img, t->bs->size), 0);
	return img;
}

/* --- jobs --- */

static struct copy_job job;
static bool job_done;
static int start_rc;
static uint64_t abort_after;		/* abort once this many bytes moved */
static struct loop_timer *tick;
static struct lun_lock_req *held;	/* released by the timer */
static struct lun *held_lun;
static uint64_t bytes_when_released;

static void
job_done_cb(struct copy_job *j)
{
	job_done = true;
	if (tick != NULL) {
		loop_timer_destroy(tick);
		tick = NULL;
	}
	loops_stop();
}

static void
tick_cb(void *arg)
{
	if (held != NULL) {
		bytes_when_released = atomic_load(&job.bytes_done);
		lun_lock_release(held_lun->range_lock, held);
		held = NULL;
		return;
	}
	if (abort_after != 0 && atomic_load(&job.bytes_done) >= abort_after) {
		copy_job_abort(&job);
		return;
	}
	loop_timer_arm(tick, 1);
}

static void
job_start(void *arg)
{
	job.loop = loop_current();
	job.done = job_done_cb;
	start_rc = copy_job_start(&job);
	if (start_rc != 0) {
		loops_stop();
		return;
	}
	if (abort_after != 0 || held != NULL) {
		tick = loop_timer_create(loop_current(), tick_cb, NULL);
		loop_timer_arm(tick, held != NULL ? 50 : 1);
	}
}

static void
step_set(struct copy_step *s, enum copy_step_kind kind, struct tlu *src,
    uint64_t soff, struct tlu *dst, uint64_t doff, uint64_t len)
{
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->src = src != NULL ? src->lun : NULL;
	s->dst = dst != NULL ? dst->lun : NULL;
	if (s->src != NULL)
		lun_get(s->src);
	if (s->dst != NULL)
		lun_get(s->dst);
	s->src_off = soff;
	s->dst_off = doff;
	s->len = len;
}

/* Run a job of n steps (taken over) and wait for done(). */
static int
run_job(struct copy_step *steps, unsigned int n)
{
	memset(&job, 0, sizeof(job));
	job.steps = steps;
	job.n_steps = n;
	job_done = false;
	ck_assert_int_eq(loop_post(loop_get(0), job_start, NULL), 0);
	ck_assert_int_eq(loops_run(), 0);
	ck_assert_int_eq(start_rc, 0);
	ck_assert(job_done);
	return job.err;
}

static int
run_copy(struct tlu *src, uint64_t soff, struct tlu *dst, uint64_t doff,
    uint64_t len)
{
	struct copy_step *s = calloc(1, sizeof(*s));

	step_set(s, COPY_STEP_COPY, src, soff, dst, doff, len);
	return run_job(s, 1);
}

static void
job_end(void)
{
	copy_job_fini(&job);
}

static struct copy_counters cnt;

static void
counters(struct tlu *t)
{
	copy_counters_get(t->lun, &cnt);
}

#define CNT(f)	((uint64_t)atomic_load(&cnt.f))

/* --- tests --- */

/* mem -> mem and mem inside one LU: read/write path, byte exact. */
START_TEST(test_mem_rw)
{
	struct tlu a, b;
	uint8_t *ia, *ib, *out;

	tlu_open(&a, "mem", tdir, 16 * MiB, 512, true);
	tlu_open(&b, "mem", tdir, 16 * MiB, 4096, true);
	ia = fill(&a, 1);
	ib = fill(&b, 2);
	/* unaligned to the chunk size, differing block sizes */
	ck_assert_int_eq(run_copy(&a, 512 * 7, &b, 4096 * 3,
	    5 * MiB + 4096 * 5), 0);
	ck_assert_uint_eq(atomic_load(&job.bytes_done), 5 * MiB + 4096 * 5);
	ck_assert_uint_eq(atomic_load(&job.steps_done), 1);
	job_end();
	memcpy(ib + 4096 * 3, ia + 512 * 7, 5 * MiB + 4096 * 5);
	out = readall(&b);
	ck_assert(memcmp(out, ib, b.bs->size) == 0);
	counters(&b);
	ck_assert_uint_eq(CNT(commands), 1);
	ck_assert_uint_eq(CNT(bytes[COPY_PATH_RW]), 5 * MiB + 4096 * 5);
	ck_assert_uint_eq(CNT(failures), 0);
	free(out);
	free(ia);
	free(ib);
	tlu_close(&a);
	tlu_close(&b);
}
END_TEST

/* Overlap in one LU: memmove semantics, _i = 0 forwards, 1 backwards,
 * 2 small shift backwards, 3 small shift forwards. */
START_TEST(test_overlap)
{
	static const struct { uint64_t s, d, len; } c[] = {
		{ 3 * MiB + 4096, 1 * MiB, 9 * MiB + 512 },
		{ 1 * MiB, 3 * MiB + 4096, 9 * MiB + 512 },
		{ 512, 1024, 11 * MiB },
		{ 1024, 512, 11 * MiB },
	};
	struct tlu a;
	uint8_t *img, *out;

	tlu_open(&a, "mem", tdir, 16 * MiB, 512, true);
	img = fill(&a, 3);
	ck_assert_int_eq(run_copy(&a, c[_i].s, &a, c[_i].d, c[_i].len), 0);
	job_end();
	memmove(img + c[_i].d, img + c[_i].s, c[_i].len);
	out = readall(&a);
	ck_assert(memcmp(out, img, a.bs->size) == 0);
	free(out);
	free(img);
	tlu_close(&a);
}
END_TEST

/* Overlap inside one file LU: the offload paths are skipped (counted). */
START_TEST(test_overlap_file)
{
	struct tlu a;
	uint8_t *img, *out;

	tlu_open(&a, "fileio", tdir, 16 * MiB, 512, true);
	img = fill(&a, 4);
	ck_assert_int_eq(run_copy(&a, 2 * MiB, &a, 4 * MiB, 8 * MiB), 0);
	job_end();
	memmove(img + 4 * MiB, img + 2 * MiB, 8 * MiB);
	out = readall(&a);
	ck_assert(memcmp(out, img, a.bs->size) == 0);
	counters(&a);
	ck_assert_uint_eq(CNT(fallbacks_overlap), 1);
	ck_assert_uint_eq(CNT(bytes[COPY_PATH_RW]), 8 * MiB);
	free(out);
	free(img);
	tlu_close(&a);
}
END_TEST

static bool
dir_clones(const char *dir)
{
	char p1[300], p2[300];
	int a, b;
	bool ok = false;
	char buf[4096];

	snprintf(p1, sizeof(p1), "%s/.probe1", dir);
	snprintf(p2, sizeof(p2), "%s/.probe2", dir);
	a = open(p1, O_RDWR | O_CREAT | O_TRUNC, 0600);
	b = open(p2, O_RDWR | O_CREAT | O_TRUNC, 0600);
	memset(buf, 1, sizeof(buf));
	if (a >= 0 && b >= 0 && write(a, buf, sizeof(buf)) == 4096 &&
	    ioctl(b, FICLONE, a) == 0)
		ok = true;
	if (a >= 0)
		close(a);
	if (b >= 0)
		close(b);
	unlink(p1);
	unlink(p2);
	return ok;
}

/*
 * File LUs, _i: 0 copy_file_range (tdir, probing reflink first where it
 * cannot clone), 1 forced read/write, 2 reflink (skipped unless
 * $TPCD_TEST_REFLINK_DIR clones), 3 copy_file_range across two files.
 */
START_TEST(test_file_paths)
{
	const char *rdir = getenv("TPCD_TEST_REFLINK_DIR");
	const char *dir = tdir;
	char sub[300];
	struct tlu a, b;
	uint8_t *ia, *ib, *out;
	bool clones;
	uint64_t len = 24 * MiB + 8192;

	if (_i == 2) {
		if (rdir == NULL) {
			fprintf(stderr, "reflink: TPCD_TEST_REFLINK_DIR not "
			    "set, skipped\n");
			return;
		}
		snprintf(sub, sizeof(sub), "%s/check_copy.%d", rdir,
		    (int)getpid());
		ck_assert_int_eq(mkdir(sub, 0700), 0);
		dir = sub;
		if (!dir_clones(dir)) {
			fprintf(stderr, "reflink: %s cannot clone, "
			    "skipped\n", rdir);
			rmdir(sub);
			return;
		}
	}
	clones = dir_clones(dir);
	if (_i == 1)
		copy_path_disable(1u << COPY_PATH_REFLINK |
		    1u << COPY_PATH_CFR);
	tlu_open(&a, "fileio", dir, 64 * MiB, 512, true);
	if (_i == 3)
		tlu_open(&b, "fileio", dir, 64 * MiB, 4096, true);
	else
		b = a;
	ia = fill(&a, 5);
	ib = _i == 3 ? fill(&b, 6) : ia;
	/* two jobs: the second uses the cached probe */
	ck_assert_int_eq(run_copy(&a, 4 * MiB, &b, 32 * MiB, len), 0);
	job_end();
	ck_assert_int_eq(run_copy(&a, 0, &b, 60 * MiB, 4 * MiB), 0);
	job_end();
	memcpy(ib + 32 * MiB, ia + 4 * MiB, len);
	memcpy(ib + 60 * MiB, ia, 4 * MiB);
	out = readall(&b);
	ck_assert(memcmp(out, ib, b.bs->size) == 0);
	counters(&b);
	ck_assert_uint_eq(CNT(commands), 2);
	switch (_i) {
	case 1:
		ck_assert_uint_eq(CNT(bytes[COPY_PATH_RW]), len + 4 * MiB);
		break;
	case 2:
		ck_assert_uint_eq(CNT(bytes[COPY_PATH_REFLINK]),
		    len + 4 * MiB);
		ck_assert_uint_eq(CNT(fallbacks_unsupported), 0);
		break;
	default:
		if (clones) {
			ck_assert_uint_eq(CNT(bytes[COPY_PATH_REFLINK]),
			    len + 4 * MiB);
		} else {
			ck_assert_uint_eq(CNT(bytes[COPY_PATH_CFR]),
			    len + 4 * MiB);
			/* the reflink probe failed once, then was cached */
			ck_assert_uint_le(CNT(fallbacks_unsupported), 1);
		}
		break;
	}
	ck_assert_uint_eq(CNT(failures), 0);
	free(out);
	if (ib != ia)
		free(ib);
	free(ia);
	if (_i == 3)
		tlu_close(&b);
	tlu_close(&a);
	if (_i == 2)
		rmdir(sub);
}
END_TEST

/* Reflink only for aligned steps: an unaligned one falls back. */
START_TEST(test_unaligned_file)
{
	struct tlu a;
	uint8_t *img, *out;

	tlu_open(&a, "fileio", tdir, 16 * MiB, 512, true);
	img = fill(&a, 7);
	ck_assert_int_eq(run_copy(&a, 512, &a, 8 * MiB + 1024, 3 * MiB), 0);
	job_end();
	memcpy(img + 8 * MiB + 1024, img + 512, 3 * MiB);
	out = readall(&a);
	ck_assert(memcmp(out, img, a.bs->size) == 0);
	counters(&a);
	ck_assert_uint_eq(CNT(bytes[COPY_PATH_CFR]) +
	    CNT(bytes[COPY_PATH_RW]), 3 * MiB);
	free(out);
	free(img);
	tlu_close(&a);
}
END_TEST

/* Equally misaligned ends: the aligned middle is cloned (where the
 * filesystem clones), head and tail copied. */
START_TEST(test_split_file)
{
	struct tlu a;
	uint8_t *img, *out;
	bool clones = dir_clones(tdir);

	tlu_open(&a, "fileio", tdir, 16 * MiB, 512, true);
	img = fill(&a, 15);
	ck_assert_int_eq(run_copy(&a, 512, &a, 8 * MiB + 512, 3 * MiB), 0);
	job_end();
	memcpy(img + 8 * MiB + 512, img + 512, 3 * MiB);
	out = readall(&a);
	ck_assert(memcmp(out, img, a.bs->size) == 0);
	counters(&a);
	ck_assert_uint_eq(CNT(bytes[COPY_PATH_CFR]) +
	    CNT(bytes[COPY_PATH_REFLINK]), 3 * MiB);
	if (clones)
		ck_assert_uint_eq(CNT(bytes[COPY_PATH_REFLINK]),
		    3 * MiB - 4096);
	free(out);
	free(img);
	tlu_close(&a);
}
END_TEST

/* Several steps, mixed kinds, progress counters. */
START_TEST(test_multi_step)
{
	struct tlu a, b;
	struct copy_step *s = calloc(4, sizeof(*s));
	uint8_t *ia, *ib, *out;

	tlu_open(&a, "mem", tdir, 8 * MiB, 512, true);
	tlu_open(&b, "fileio", tdir, 8 * MiB, 512, false);
	ia = fill(&a, 8);
	ib = fill(&b, 9);
	step_set(&s[0], COPY_STEP_COPY, &a, 0, &b, 0, 1 * MiB);
	step_set(&s[1], COPY_STEP_VERIFY, &b, 0, NULL, 0, 0);
	step_set(&s[2], COPY_STEP_ZERO, NULL, 0, &b, 2 * MiB, 1 * MiB);
	step_set(&s[3], COPY_STEP_COPY, &b, 4 * MiB, &b, 6 * MiB, 512);
	ck_assert_int_eq(run_job(s, 4), 0);
	ck_assert_uint_eq(atomic_load(&job.steps_done), 4);
	ck_assert_uint_eq(atomic_load(&job.bytes_done), 2 * MiB + 512);
	job_end();
	memcpy(ib, ia, 1 * MiB);
	memset(ib + 2 * MiB, 0, 1 * MiB);
	memcpy(ib + 6 * MiB, ib + 4 * MiB, 512);
	out = readall(&b);
	ck_assert(memcmp(out, ib, b.bs->size) == 0);
	counters(&b);
	ck_assert_uint_eq(CNT(bytes[COPY_PATH_ZERO]), 1 * MiB);
	ck_assert_uint_eq(CNT(commands), 1);
	free(out);
	free(ia);
	free(ib);
	tlu_close(&a);
	tlu_close(&b);
}
END_TEST

/* ZERO: thin file (LBPRZ: unmap, leaves a hole) and mem / thick file. */
START_TEST(test_zero)
{
	struct tlu a;
	struct copy_step *s = calloc(1, sizeof(*s));
	uint8_t *img, *out;
	bool thin = _i == 0;
	off_t data;
	int fd;

	tlu_open(&a, _i == 2 ? "mem" : "fileio", tdir, 16 * MiB, 512, thin);
	img = fill(&a, 10);
	step_set(s, COPY_STEP_ZERO, NULL, 0, &a, 4 * MiB, 8 * MiB);
	ck_assert_int_eq(run_job(s, 1), 0);
	job_end();
	memset(img + 4 * MiB, 0, 8 * MiB);
	out = readall(&a);
	ck_assert(memcmp(out, img, a.bs->size) == 0);
	if (thin) {
		fd = open(a.path, O_RDONLY);
		ck_assert_int_ge(fd, 0);
		data = lseek(fd, 4 * MiB, SEEK_DATA);
		ck_assert_int_eq(data, 12 * MiB);	/* a hole */
		close(fd);
	}
	counters(&a);
	ck_assert_uint_eq(CNT(bytes[COPY_PATH_ZERO]), 8 * MiB);
	free(out);
	free(img);
	tlu_close(&a);
}
END_TEST

/* Abort in the middle: -ECANCELED, partial progress, every destination
 * block is old or new.  _i = 0 read/write path, 1 copy_file_range. */
START_TEST(test_abort)
{
	struct tlu a, b;
	uint8_t *ia, *ib, *out;
	uint64_t len = _i == 0 ? 96 * MiB : 320 * MiB, i, done;
	unsigned int nold = 0, nnew = 0;

	/* reflink moves 1 GiB per call: too fast to abort in between */
	copy_path_disable(1u << COPY_PATH_REFLINK |
	    (_i == 0 ? 1u << COPY_PATH_CFR : 0));
	tlu_open(&a, "fileio", tdir, len, 4096, true);
	tlu_open(&b, "fileio", tdir, len, 4096, true);
	ia = fill(&a, 11);
	ib = fill(&b, 12);
	abort_after = 1;
	ck_assert_int_eq(run_copy(&a, 0, &b, 0, len), -ECANCELED);
	abort_after = 0;
	done = atomic_load(&job.bytes_done);
	ck_assert_uint_gt(done, 0);
	ck_assert_uint_lt(done, len);
	ck_assert_uint_eq(atomic_load(&job.steps_done), 0);
	job_end();
	out = readall(&b);
	for (i = 0; i < len; i += 4096) {
		if (memcmp(out + i, ia + i, 4096) == 0)
			nnew++;
		else if (memcmp(out + i, ib + i, 4096) == 0)
			nold++;
		else
			ck_abort_msg("block at %llu is neither old nor new",
			    (unsigned long long)i);
	}
	ck_assert_uint_eq((uint64_t)nnew * 4096, done);
	counters(&b);
	ck_assert_uint_eq(CNT(aborts), 1);
	ck_assert_uint_eq(CNT(failures), 0);
	free(out);
	free(ia);
	free(ib);
	tlu_close(&a);
	tlu_close(&b);
}
END_TEST

/* Injected EIO: _i = 0 on a source read, 1 on a destination write;
 * 2 on a read in the second step. */
START_TEST(test_eio)
{
	struct tlu a, b;
	struct copy_step *s = calloc(2, sizeof(*s));
	uint8_t *ia;

	tlu_open(&a, "mem", tdir, 16 * MiB, 512, true);
	tlu_open(&b, "mem", tdir, 16 * MiB, 512, true);
	ia = fill(&a, 13);
	step_set(&s[0], COPY_STEP_COPY, &a, 0, &b, 0, 4 * MiB);
	step_set(&s[1], COPY_STEP_COPY, &a, 8 * MiB, &b, 8 * MiB, 4 * MiB);
	if (_i == 1)
		backstore_inject_error(b.bs, 3, EIO);
	else
		backstore_inject_error(a.bs, _i == 0 ? 2 : 6, EIO);
	ck_assert_int_eq(run_job(s, 2), -EIO);
	ck_assert_uint_eq(job.failed_step, _i == 2 ? 1 : 0);
	ck_assert(job.err_is_write == (_i == 1));
	ck_assert_uint_ge(job.fwd_sense_len, 18);
	ck_assert_uint_eq(job.fwd_sense[0] & 0x7f, 0x70);
	ck_assert_uint_eq(job.fwd_sense[2] & 0x0f, 0x03);	/* MEDIUM */
	ck_assert_uint_eq(job.fwd_sense[12], _i == 1 ? 0x0c : 0x11);
	/* INFORMATION: LBA of the failed chunk */
	ck_assert(job.fwd_sense[0] & 0x80);
	ck_assert_uint_eq(get_be32(job.fwd_sense + 3),
	    _i == 1 ? 2 * MiB / 512 : _i == 0 ? 1 * MiB / 512 :
	    9 * MiB / 512);
	job_end();
	counters(&b);
	ck_assert_uint_eq(CNT(failures), 1);
	free(ia);
	tlu_close(&a);
	tlu_close(&b);
}
END_TEST

/* Write protected / read-only destination: -EROFS before any I/O. */
START_TEST(test_write_protect)
{
	struct tlu a, b;
	struct copy_step *s = calloc(2, sizeof(*s));

	tlu_open(&a, "mem", tdir, 4 * MiB, 512, true);
	tlu_open(&b, "mem", tdir, 4 * MiB, 512, true);
	step_set(&s[0], COPY_STEP_COPY, &a, 0, &a, 1 * MiB, 1 * MiB);
	step_set(&s[1], COPY_STEP_COPY, &a, 0, &b, 0, 1 * MiB);
	if (_i == 0) {
		b.lun->read_only = true;
	} else {
		pthread_mutex_lock(&b.lun->lock);
		b.lun->swp = true;
		pthread_mutex_unlock(&b.lun->lock);
	}
	ck_assert_int_eq(run_job(s, 2), -EROFS);
	ck_assert_uint_eq(job.failed_step, 1);
	ck_assert(job.err_is_write);
	ck_assert_uint_eq(atomic_load(&job.bytes_done), 0);
	ck_assert_uint_eq(job.fwd_sense[2] & 0x0f, 0x07);	/* DATA PROT */
	ck_assert_uint_eq(job.fwd_sense[12], 0x27);
	ck_assert_uint_eq(job.fwd_sense[13], _i == 0 ? 0x00 : 0x02);
	job_end();
	tlu_close(&a);
	tlu_close(&b);
}
END_TEST

/* A host write holding part of the destination range delays the copy
 * (COMPARE AND WRITE atomicity); the copy resumes on release and leaves
 * no lock behind.  _i = 0 read/write, 1 offload. */
START_TEST(test_range_lock)
{
	struct tlu a, b;
	struct lun_lock_req lk;
	unsigned int h, w;

	if (_i == 0)
		copy_path_disable(1u << COPY_PATH_REFLINK |
		    1u << COPY_PATH_CFR);
	tlu_open(&a, "fileio", tdir, 8 * MiB, 512, true);
	tlu_open(&b, "fileio", tdir, 8 * MiB, 512, true);
	free(fill(&a, 14));
	memset(&lk, 0, sizeof(lk));
	lk.lba = 0;
	lk.nblocks = 1;
	lk.loop = loop_get(0);
	ck_assert_int_eq(lun_lock_acquire(b.lun->range_lock, &lk), 0);
	held = &lk;
	held_lun = b.lun;
	ck_assert_int_eq(run_copy(&a, 0, &b, 0, 4 * MiB), 0);
	ck_assert_ptr_null(held);
	/* nothing of the locked first chunk/piece was written before */
	ck_assert_uint_lt(bytes_when_released, 4 * MiB);
	job_end();
	lun_lock_stats(b.lun->range_lock, &h, &w);
	ck_assert_uint_eq(h, 0);
	ck_assert_uint_eq(w, 0);
	tlu_close(&a);
	tlu_close(&b);
}
END_TEST

START_TEST(test_bad_jobs)
{
	struct copy_job j;
	struct copy_step s;

	memset(&j, 0, sizeof(j));
	ck_assert_int_eq(copy_job_start(NULL), -EINVAL);
	ck_assert_int_eq(copy_job_start(&j), -EINVAL);	/* no loop */
	j.loop = loop_get(0);
	j.done = job_done_cb;
	memset(&s, 0, sizeof(s));
	s.kind = COPY_STEP_COPY;
	j.steps = &s;
	j.n_steps = 1;
	ck_assert_int_eq(copy_job_start(&j), -EINVAL);	/* no LUs */
	ck_assert_str_eq(copy_path_name(COPY_PATH_CFR), "copy_file_range");
	ck_assert_str_eq(copy_path_name(COPY_PATH_MAX), "?");
}
END_TEST

/* Range beyond the destination: -ERANGE as a write failure. */
START_TEST(test_range)
{
	struct tlu a, b;

	tlu_open(&a, "mem", tdir, 4 * MiB, 512, true);
	tlu_open(&b, "mem", tdir, 2 * MiB, 512, true);
	ck_assert_int_eq(run_copy(&a, 0, &b, 1 * MiB, 2 * MiB), -ERANGE);
	ck_assert(job.err_is_write);
	job_end();
	tlu_close(&a);
	tlu_close(&b);
}
END_TEST

static Suite *
copy_engine_suite(void)
{
	Suite *s = suite_create("copy_engine");
	TCase *tc;

	tc = tcase_create("engine");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_mem_rw);
	tcase_add_loop_test(tc, test_overlap, 0, 4);
	tcase_add_test(tc, test_overlap_file);
	tcase_add_loop_test(tc, test_file_paths, 0, 4);
	tcase_add_test(tc, test_unaligned_file);
	tcase_add_test(tc, test_split_file);
	tcase_add_test(tc, test_multi_step);
	tcase_add_loop_test(tc, test_zero, 0, 3);
	tcase_add_loop_test(tc, test_abort, 0, 2);
	tcase_add_loop_test(tc, test_eio, 0, 3);
	tcase_add_loop_test(tc, test_write_protect, 0, 2);
	tcase_add_loop_test(tc, test_range_lock, 0, 2);
	tcase_add_test(tc, test_bad_jobs);
	tcase_add_test(tc, test_range);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	log_init(false, LOG_LVL_ERR);
	sr = srunner_create(copy_engine_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
