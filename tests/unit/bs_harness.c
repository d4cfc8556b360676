/*
 * bs_harness.c - see bs_harness.h.
 */
#include <stdlib.h>
#include <string.h>

#include "bs_harness.h"
#include "loop.h"
#include "util.h"

static struct backstore *run_bs;
static struct bs_io *run_ios[BH_MAXIO];
static int run_n, run_left;
static int run_res[BH_MAXIO];
static int run_submit_rc[BH_MAXIO];
static bool in_submit, sync_completion, wrong_loop;
static unsigned long run_fail_after;	/* armed right before submit */
/* copy() instead of submit() for the ios of a run */
static struct backstore *copy_src;
static const struct bs_extent *copy_ext;

void
bh_mode_setup(bool force_pool)
{
	loop_io_force_pool(force_pool);
	ck_assert_int_eq(loops_init(1), 0);
}

void
bh_mode_teardown(void)
{
	loops_fini();
	loop_io_force_pool(false);
	xmalloc_fail_after(0);
}

struct backstore *
bh_open_ok(const struct conf_storage *cs)
{
	struct backstore *bs;
	int err = 0;

	bs = backstore_open(cs, &err);
	ck_assert_msg(bs != NULL, "backstore_open %s: %s",
	    cs->dev != NULL ? cs->dev : cs->name, strerror(-err));
	return bs;
}

void
bh_fail_after(unsigned long n)
{
	run_fail_after = n;
}

static void
run_done(struct bs_io *io, int res)
{
	int i;

	if (in_submit)
		sync_completion = true;
	if (loop_current() != io->loop)
		wrong_loop = true;
	for (i = 0; i < run_n; i++)
		if (run_ios[i] == io)
			run_res[i] = res;
	if (--run_left == 0)
		loops_stop();
}

static void
run_start(void *arg)
{
	int i, submitted = 0;

	(void)arg;
	if (run_fail_after != 0)
		xmalloc_fail_after(run_fail_after);
	for (i = 0; i < run_n; i++) {
		run_ios[i]->loop = loop_current();
		run_ios[i]->done = run_done;
		in_submit = true;
		if (copy_src != NULL)
			run_submit_rc[i] = run_bs->ops->copy(run_bs, copy_src,
			    copy_ext, run_ios[i]);
		else
			run_submit_rc[i] = backstore_submit(run_bs,
			    run_ios[i]);
		in_submit = false;
		if (run_submit_rc[i] == 0)
			submitted++;
		else
			run_left--;
	}
	if (submitted == 0)
		loops_stop();
}

int
bh_run_io(struct backstore *bs, struct bs_io **ios, int n)
{
	int i;

	ck_assert(n > 0 && n <= BH_MAXIO);
	run_bs = bs;
	run_n = run_left = n;
	for (i = 0; i < n; i++) {
		run_ios[i] = ios[i];
		run_res[i] = 1;
		run_submit_rc[i] = 0;
	}
	ck_assert_int_eq(loop_post(loop_get(0), run_start, NULL), 0);
	ck_assert_int_eq(loops_run(), 0);
	xmalloc_fail_after(0);
	run_fail_after = 0;
	ck_assert(!sync_completion);
	ck_assert(!wrong_loop);
	for (i = 0; i < n; i++)
		if (run_submit_rc[i] != 0)
			return run_submit_rc[i];
	return 0;
}

int
bh_res(int i)
{
	ck_assert(i >= 0 && i < run_n);
	return run_res[i];
}

int
bh_run_one(struct backstore *bs, struct bs_io *io)
{
	int rc = bh_run_io(bs, &io, 1);

	return rc != 0 ? rc : run_res[0];
}

int
bh_copy_one(struct backstore *dst, struct backstore *src,
    const struct bs_extent *ext, struct bs_io *io)
{
	int rc;

	ck_assert_ptr_nonnull(dst->ops->copy);
	copy_src = src;
	copy_ext = ext;
	rc = bh_run_one(dst, io);
	copy_src = NULL;
	copy_ext = NULL;
	return rc;
}

void
bh_io_init(struct bs_io *io, enum bs_op op, uint64_t off, uint64_t len,
    struct iovec *iov, int iovcnt)
{
	memset(io, 0, sizeof(*io));
	io->op = op;
	io->offset = off;
	io->len = len;
	io->iov = iov;
	io->iovcnt = iovcnt;
}

int
bh_rw(struct backstore *bs, enum bs_op op, unsigned int flags, uint64_t off,
    void *buf, size_t len)
{
	struct iovec v = { .iov_base = buf, .iov_len = len };
	struct bs_io io;

	bh_io_init(&io, op, off, 0, &v, 1);
	io.flags = flags;
	return bh_run_one(bs, &io);
}

int
bh_range(struct backstore *bs, enum bs_op op, uint64_t off, uint64_t len)
{
	struct bs_io io;

	bh_io_init(&io, op, off, len, NULL, 0);
	return bh_run_one(bs, &io);
}

void
bh_fill_pattern(uint8_t *p, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)((i * 2654435761u + seed) >> 11);
}

bool
bh_is_zero(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != 0)
			return false;
	return true;
}

void *
bh_aligned_buf(size_t len)
{
	void *p = NULL;

	ck_assert_int_eq(posix_memalign(&p, 4096, len), 0);
	return p;
}
