/*
 * check_loop.c - unit tests for the loops: timers, messages, fds, the
 * blocking pool and data I/O on both the io_uring and the pool path.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "util.h"

/* Every test: loops_init(n), post a start function to loop 0, run until
 * loops_stop(), then check what was recorded. */
static void
run_loops(unsigned int n, loop_fn start, void *arg)
{
	ck_assert_int_eq(loops_init(n), 0);
	ck_assert_int_eq(loop_post(loop_get(0), start, arg), 0);
	ck_assert_int_eq(loops_run(), 0);
	loops_fini();
}

/* --- timers --- */

static int t_order[16];
static int t_nfired;
static struct loop_timer *t_timers[8];

static void
t_fire(void *arg)
{
	int id = (int)(long)arg;

	ck_assert_ptr_eq(loop_current(), loop_get(0));
	t_order[t_nfired++] = id;
	if (id == 5) {
		/* destroy self from the callback */
		loop_timer_destroy(t_timers[5]);
		t_timers[5] = NULL;
	}
	if (id == 4)
		loops_stop();
}

static void
t_start(void *arg)
{
	struct loop *l = loop_current();
	int i;

	for (i = 0; i < 7; i++)
		t_timers[i] = loop_timer_create(l, t_fire, (void *)(long)i);
	loop_timer_arm(t_timers[3], 60);
	loop_timer_arm(t_timers[1], 20);
	loop_timer_arm(t_timers[2], 40);
	loop_timer_arm(t_timers[0], 0);
	loop_timer_arm(t_timers[5], 20);	/* same deadline-ish as 1 */
	loop_timer_arm(t_timers[6], 30);
	loop_timer_cancel(t_timers[6]);		/* never fires */
	loop_timer_arm(t_timers[4], 10);
	loop_timer_arm(t_timers[4], 80);	/* re-arm moves it last */
}

START_TEST(test_timers_order)
{
	int i;

	t_nfired = 0;
	run_loops(1, t_start, NULL);
	ck_assert_int_eq(t_nfired, 6);
	ck_assert_int_eq(t_order[0], 0);
	ck_assert_int_eq(t_order[1], 1);
	ck_assert_int_eq(t_order[2], 5);
	ck_assert_int_eq(t_order[3], 2);
	ck_assert_int_eq(t_order[4], 3);
	ck_assert_int_eq(t_order[5], 4);
	for (i = 0; i < 7; i++)
		loop_timer_destroy(t_timers[i]);
}
END_TEST

static uint64_t t_start_ms, t_fired_ms;

static void
t_delay_fire2(void *arg)
{
	t_fired_ms = now_ms();
	loops_stop();
}

static void
t_delay_start2(void *arg)
{
	t_timers[0] = loop_timer_create(loop_current(), t_delay_fire2, NULL);
	t_start_ms = now_ms();
	loop_timer_arm(t_timers[0], 50);
}

START_TEST(test_timer_delay)
{
	run_loops(1, t_delay_start2, NULL);
	ck_assert_uint_ge(t_fired_ms - t_start_ms, 50);
	ck_assert_uint_lt(t_fired_ms - t_start_ms, 1000);
	loop_timer_destroy(t_timers[0]);
}
END_TEST

/* --- messages across loops --- */

#define PP_ROUNDS	2000

static int pp_count;
static int pp_seq_bad;

static void pp_to_0(void *arg);

static void
pp_to_1(void *arg)
{
	long v = (long)arg;

	ck_assert_ptr_eq(loop_current(), loop_get(1));
	ck_assert_int_eq(loop_post(loop_get(0), pp_to_0, (void *)(v + 1)),
	    0);
}

static void
pp_to_0(void *arg)
{
	long v = (long)arg;

	ck_assert_ptr_eq(loop_current(), loop_get(0));
	if (v != 2L * pp_count + 1)
		pp_seq_bad++;
	if (++pp_count == PP_ROUNDS) {
		loops_stop();
		return;
	}
	ck_assert_int_eq(loop_post(loop_get(1), pp_to_1, (void *)(v + 1)),
	    0);
}

static void
pp_start(void *arg)
{
	ck_assert_int_eq(loop_post(loop_get(1), pp_to_1, (void *)0L), 0);
}

START_TEST(test_post_pingpong)
{
	pp_count = 0;
	pp_seq_bad = 0;
	run_loops(2, pp_start, NULL);
	ck_assert_int_eq(pp_count, PP_ROUNDS);
	ck_assert_int_eq(pp_seq_bad, 0);
}
END_TEST

/* Deferred calls: once per queueing, after the batch, in order; a call
 * may defer again (it then runs in the same round). */
static struct loop_defer df_a, df_b;
static int df_log[8], df_n, df_posted_ran;

static void
df_fn(void *arg)
{
	long v = (long)arg;

	if (df_n < 8)
		df_log[df_n++] = (int)v;
	if (v == 1 && df_n == 1)
		loop_defer(loop_current(), &df_a);	/* again */
	if (df_n == 3)
		loops_stop();
}

static void
df_posted(void *arg)
{
	df_posted_ran = 1;
}

static void
df_start(void *arg)
{
	df_a.fn = df_fn;
	df_a.arg = (void *)1L;
	df_b.fn = df_fn;
	df_b.arg = (void *)2L;
	loop_defer(loop_current(), &df_a);
	loop_defer(loop_current(), &df_a);	/* queued: no-op */
	loop_defer(loop_current(), &df_b);
	/* Posted now, runs in a later batch than the deferred calls. */
	ck_assert_int_eq(loop_post(loop_current(), df_posted, NULL), 0);
	ck_assert_int_eq(df_n, 0);
}

START_TEST(test_defer)
{
	df_n = 0;
	df_posted_ran = 0;
	run_loops(1, df_start, NULL);
	ck_assert_int_eq(df_n, 3);
	ck_assert_int_eq(df_log[0], 1);
	ck_assert_int_eq(df_log[1], 2);
	ck_assert_int_eq(df_log[2], 1);
	ck_assert(!df_a.queued && !df_b.queued);
}
END_TEST

/* Several foreign threads post bursts to loop 1; FIFO per sender. */
#define FT_THREADS	4
#define FT_MSGS		5000

static int ft_last[FT_THREADS];
static int ft_total;
static int ft_bad;

static void
ft_recv(void *arg)
{
	long v = (long)arg;
	int th = (int)(v / FT_MSGS), seq = (int)(v % FT_MSGS);

	ck_assert_ptr_eq(loop_current(), loop_get(1));
	if (seq != ft_last[th] + 1)
		ft_bad++;
	ft_last[th] = seq;
	if (++ft_total == FT_THREADS * FT_MSGS)
		loops_stop();
}

static void *
ft_thread(void *arg)
{
	long th = (long)arg, i;

	for (i = 0; i < FT_MSGS; i++)
		while (loop_post(loop_get(1), ft_recv,
		    (void *)(th * FT_MSGS + i)) != 0)
			;
	return NULL;
}

static pthread_t ft_tids[FT_THREADS];

static void
ft_start(void *arg)
{
	long i;

	for (i = 0; i < FT_THREADS; i++) {
		ft_last[i] = -1;
		ck_assert_int_eq(pthread_create(&ft_tids[i], NULL, ft_thread,
		    (void *)i), 0);
	}
}

START_TEST(test_post_foreign_threads)
{
	int i;

	ft_total = ft_bad = 0;
	run_loops(2, ft_start, NULL);
	for (i = 0; i < FT_THREADS; i++)
		pthread_join(ft_tids[i], NULL);
	ck_assert_int_eq(ft_total, FT_THREADS * FT_MSGS);
	ck_assert_int_eq(ft_bad, 0);
}
END_TEST

/* loops_stop() from another thread (as a signal handler would). */
static void *
stopper(void *arg)
{
	usleep(20000);
	loops_stop();
	return NULL;
}

static pthread_t stop_tid;

static void
stop_start(void *arg)
{
	ck_assert_int_eq(pthread_create(&stop_tid, NULL, stopper, NULL), 0);
}

START_TEST(test_stop_foreign)
{
	int round;

	/* twice: the set can run again after a stop */
	ck_assert_int_eq(loops_init(2), 0);
	for (round = 0; round < 2; round++) {
		ck_assert_int_eq(loop_post(loop_get(0), stop_start, NULL), 0);
		ck_assert_int_eq(loops_run(), 0);
		pthread_join(stop_tid, NULL);
	}
	loops_fini();
}
END_TEST

/* --- pool --- */

#define POOL_JOBS	64

struct pool_job_rec {
	struct loop	*asker;
	unsigned int	 asker_idx;
	bool		 ran_off_loop;
	bool		 done_on_asker;
};

static struct pool_job_rec pool_recs[POOL_JOBS];
static int pool_done_n;

static void
pool_fn(void *arg)
{
	struct pool_job_rec *r = arg;

	r->ran_off_loop = loop_current() == NULL;
	usleep(100);
}

static void
pool_done(void *arg)
{
	struct pool_job_rec *r = arg;

	r->done_on_asker = loop_current() == r->asker;
	/* done runs on different loops: count under an atomic */
	if (__atomic_add_fetch(&pool_done_n, 1, __ATOMIC_SEQ_CST) ==
	    POOL_JOBS)
		loops_stop();
}

static void
pool_ask(void *arg)
{
	struct pool_job_rec *r = arg;

	r->asker = loop_current();
	r->asker_idx = loop_index(r->asker);
	ck_assert_int_eq(loop_pool_run(r->asker, pool_fn, pool_done, r), 0);
}

static void
pool_start(void *arg)
{
	int i;

	for (i = 0; i < POOL_JOBS; i++)
		ck_assert_int_eq(loop_post(loop_get((unsigned int)i % 2),
		    pool_ask, &pool_recs[i]), 0);
}

START_TEST(test_pool_done_on_asker)
{
	int i;

	memset(pool_recs, 0, sizeof(pool_recs));
	pool_done_n = 0;
	run_loops(2, pool_start, NULL);
	ck_assert_int_eq(pool_done_n, POOL_JOBS);
	for (i = 0; i < POOL_JOBS; i++) {
		ck_assert(pool_recs[i].ran_off_loop);
		ck_assert(pool_recs[i].done_on_asker);
		ck_assert_uint_eq(pool_recs[i].asker_idx,
		    (unsigned int)i % 2);
	}
}
END_TEST

/* --- fds --- */

static int fd_pipe[2];
static char fd_got[8];
static int fd_ngot;

static void
fd_cb(struct loop *l, int fd, uint32_t events, void *arg)
{
	ssize_t n;

	ck_assert(events & EPOLLIN);
	n = read(fd, fd_got + fd_ngot, sizeof(fd_got) - (size_t)fd_ngot);
	ck_assert_int_gt(n, 0);
	fd_ngot += (int)n;
	if (fd_ngot == 4) {
		loop_fd_del(l, fd);
		loops_stop();
	}
}

static void
fd_start(void *arg)
{
	struct loop *l = loop_current();

	ck_assert_int_eq(loop_fd_add(l, fd_pipe[0], EPOLLIN, fd_cb, NULL), 0);
	ck_assert_int_eq(loop_fd_add(l, fd_pipe[0], EPOLLIN, fd_cb, NULL),
	    -EEXIST);
	ck_assert_int_eq(loop_fd_mod(l, fd_pipe[0], EPOLLIN), 0);
	ck_assert_int_eq(loop_fd_mod(l, 1000, EPOLLIN), -ENOENT);
	ck_assert_int_eq(write(fd_pipe[1], "ab", 2), 2);
	ck_assert_int_eq(write(fd_pipe[1], "cd", 2), 2);
}

START_TEST(test_fd_callbacks)
{
	ck_assert_int_eq(pipe(fd_pipe), 0);
	fd_ngot = 0;
	run_loops(1, fd_start, NULL);
	ck_assert_int_eq(fd_ngot, 4);
	ck_assert_int_eq(memcmp(fd_got, "abcd", 4), 0);
	close(fd_pipe[0]);
	close(fd_pipe[1]);
}
END_TEST

START_TEST(test_least_loaded)
{
	ck_assert_int_eq(loops_init(3), 0);
	ck_assert_uint_eq(loops_count(), 3);
	ck_assert_ptr_null(loop_get(3));
	ck_assert_ptr_null(loop_current());
	ck_assert_ptr_eq(loop_least_loaded(), loop_get(0));
	loop_load_add(loop_get(0), 2);
	loop_load_add(loop_get(1), 1);
	ck_assert_ptr_eq(loop_least_loaded(), loop_get(2));
	loop_load_add(loop_get(2), 3);
	ck_assert_ptr_eq(loop_least_loaded(), loop_get(1));
	loop_load_add(loop_get(0), -2);
	ck_assert_ptr_eq(loop_least_loaded(), loop_get(0));
	ck_assert_int_eq(loops_init(1), -EBUSY);
	loops_fini();
	ck_assert_int_eq(loops_init(0), -EINVAL);
}
END_TEST

START_TEST(test_alloc_failure)
{
	void *p;

	ck_assert_int_eq(loops_init(1), 0);
	xmalloc_fail_after(1);
	ck_assert_int_eq(loop_post(loop_get(0), free, NULL), -ENOMEM);
	xmalloc_fail_after(1);
	ck_assert_int_eq(loop_pool_run(loop_get(0), free, NULL, NULL),
	    -ENOMEM);
	xmalloc_fail_after(1);
	ck_assert_ptr_null(loop_timer_create(loop_get(0), free, NULL));
	xmalloc_fail_after(2);
	p = xmalloc(1);
	ck_assert_ptr_nonnull(p);
	free(p);
	ck_assert_ptr_null(xmalloc(1));
	p = xstrdup("x");		/* one-shot: later ones succeed */
	ck_assert_ptr_nonnull(p);
	free(p);
	xmalloc_fail_after(3);
	xmalloc_fail_after(0);		/* disabled */
	p = xcalloc(1, 1);
	ck_assert_ptr_nonnull(p);
	free(p);
	loops_fini();
}
END_TEST

/* --- data I/O --- */

static char io_path[64];
static int io_fd;
static atomic_int io_pending;
static int io_errors;
static bool io_uring_seen;

static void
io_done(struct loop_io *io)
{
	size_t total = 0;
	int i;

	ck_assert_ptr_eq(loop_current(), loop_get(0));
	for (i = 0; i < io->iovcnt; i++)
		total += io->iov[i].iov_len;
	if (io->res != (ssize_t)total)
		io_errors++;
	if (atomic_fetch_sub(&io_pending, 1) == 1)
		loops_stop();
}

static int
io_open(void)
{
	int fd;

	strcpy(io_path, "/tmp/check_loop.XXXXXX");
	fd = mkstemp(io_path);
	ck_assert_int_ge(fd, 0);
	unlink(io_path);
	return fd;
}

/* Run one batch of loop_io on loop 0 and wait for all of it. */
static struct loop_io *io_batch;
static int io_batch_n;

static void
io_batch_start(void *arg)
{
	int i;

	io_uring_seen = loop_io_uses_uring(loop_current());
	atomic_store(&io_pending, io_batch_n);
	for (i = 0; i < io_batch_n; i++) {
		io_batch[i].done = io_done;
		ck_assert_int_eq(loop_io_submit(loop_current(), &io_batch[i]),
		    0);
	}
}

static void
io_run_batch(struct loop_io *ios, int n)
{
	io_batch = ios;
	io_batch_n = n;
	io_errors = 0;
	ck_assert_int_eq(loop_post(loop_get(0), io_batch_start, NULL), 0);
	ck_assert_int_eq(loops_run(), 0);
	ck_assert_int_eq(io_errors, 0);
}

static void
fill_pattern(uint8_t *p, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)((i * 2654435761u + seed) >> 13);
}

static void
io_setup_mode(int force_pool)
{
	const char *no = getenv("TPCD_NO_URING");

	loop_io_force_pool(force_pool != 0);
	ck_assert_int_eq(loops_init(1), 0);
	if (force_pool)
		ck_assert(!loop_io_uses_uring(loop_get(0)));
	else if (no == NULL || *no == '\0' || *no == '0')
		ck_assert_msg(loop_io_uses_uring(loop_get(0)) ||
		    getenv("TPCD_ALLOW_NO_URING") != NULL,
		    "io_uring not available on this kernel");
}

#define BIG	(3u * 1024 * 1024 + 4096 + 512)

START_TEST(test_io_rw_multi_iovec)
{
	static const size_t wsplit[] = { 512, 4096, 1024 * 1024 + 512,
	    1000, 7, BIG - 512 - 4096 - (1024 * 1024 + 512) - 1000 - 7 };
	static const size_t rsplit[] = { 3, 2 * 1024 * 1024, 1,
	    BIG - 3 - 2 * 1024 * 1024 - 1 };
	struct iovec wv[6], rv[4];
	struct loop_io ios[3];
	uint8_t *wbuf, *rbuf;
	size_t off;
	int i;

	io_setup_mode(_i);
	io_fd = io_open();
	wbuf = malloc(BIG);
	rbuf = calloc(1, BIG);
	fill_pattern(wbuf, BIG, 7);
	for (i = 0, off = 0; i < 6; off += wsplit[i], i++) {
		wv[i].iov_base = wbuf + off;
		wv[i].iov_len = wsplit[i];
	}
	ck_assert_uint_eq(off, BIG);
	for (i = 0, off = 0; i < 4; off += rsplit[i], i++) {
		rv[i].iov_base = rbuf + off;
		rv[i].iov_len = rsplit[i];
	}
	ck_assert_uint_eq(off, BIG);
	memset(ios, 0, sizeof(ios));
	ios[0].op = LOOP_IO_WRITE;
	ios[0].fd = io_fd;
	ios[0].offset = 4096;
	ios[0].iov = wv;
	ios[0].iovcnt = 6;
	io_run_batch(ios, 1);
	ck_assert_int_eq(io_uring_seen, !_i && loop_io_uses_uring(
	    loop_get(0)));
	ios[1].op = LOOP_IO_FSYNC;
	ios[1].fd = io_fd;
	io_run_batch(&ios[1], 1);
	/* the same data again as a durable (RWF_DSYNC) write */
	ios[0].op = LOOP_IO_WRITE_DSYNC;
	io_run_batch(ios, 1);
	ios[2].op = LOOP_IO_READ;
	ios[2].fd = io_fd;
	ios[2].offset = 4096;
	ios[2].iov = rv;
	ios[2].iovcnt = 4;
	io_run_batch(&ios[2], 1);
	ck_assert_int_eq(memcmp(wbuf, rbuf, BIG), 0);
	/* and the file really holds it */
	memset(rbuf, 0, BIG);
	ck_assert_int_eq(pread(io_fd, rbuf, BIG, 4096), (ssize_t)BIG);
	ck_assert_int_eq(memcmp(wbuf, rbuf, BIG), 0);
	free(wbuf);
	free(rbuf);
	close(io_fd);
	loops_fini();
	loop_io_force_pool(false);
}
END_TEST

/* A read across end of file: the tail reads as zeroes, and the short
 * first transfer continues over more than four remaining segments. */
START_TEST(test_io_read_past_eof)
{
	uint8_t buf[8][1024];
	struct iovec v[8];
	struct loop_io io;
	uint8_t data[1500];
	int i, j;

	io_setup_mode(_i);
	io_fd = io_open();
	fill_pattern(data, sizeof(data), 3);
	ck_assert_int_eq(pwrite(io_fd, data, sizeof(data), 0),
	    (ssize_t)sizeof(data));
	memset(buf, 0xaa, sizeof(buf));
	for (i = 0; i < 8; i++) {
		v[i].iov_base = buf[i];
		v[i].iov_len = sizeof(buf[i]);
	}
	memset(&io, 0, sizeof(io));
	io.op = LOOP_IO_READ;
	io.fd = io_fd;
	io.iov = v;
	io.iovcnt = 8;
	io_run_batch(&io, 1);
	ck_assert_int_eq(memcmp(buf, data, sizeof(data)), 0);
	for (i = 0; i < 8; i++)
		for (j = 0; j < 1024; j++)
			if (i * 1024 + j >= (int)sizeof(data))
				ck_assert_int_eq(buf[i][j], 0);
	/* the caller's iovec is untouched */
	for (i = 0; i < 8; i++) {
		ck_assert_ptr_eq(v[i].iov_base, buf[i]);
		ck_assert_uint_eq(v[i].iov_len, 1024);
	}
	close(io_fd);
	loops_fini();
	loop_io_force_pool(false);
}
END_TEST

/* More requests than the ring holds: the pending list takes the rest. */
#define MANY	1500

START_TEST(test_io_many)
{
	static uint8_t bufs[MANY][512];
	static struct iovec v[MANY];
	static struct loop_io ios[MANY];
	uint8_t chk[512];
	int i;

	io_setup_mode(_i);
	io_fd = io_open();
	memset(ios, 0, sizeof(ios));
	for (i = 0; i < MANY; i++) {
		fill_pattern(bufs[i], 512, (unsigned int)i);
		v[i].iov_base = bufs[i];
		v[i].iov_len = 512;
		ios[i].op = LOOP_IO_WRITE;
		ios[i].fd = io_fd;
		ios[i].offset = (uint64_t)i * 512;
		ios[i].iov = &v[i];
		ios[i].iovcnt = 1;
	}
	io_run_batch(ios, MANY);
	for (i = 0; i < MANY; i++) {
		ck_assert_int_eq(pread(io_fd, chk, 512, (off_t)i * 512), 512);
		ck_assert_int_eq(memcmp(chk, bufs[i], 512), 0);
	}
	close(io_fd);
	loops_fini();
	loop_io_force_pool(false);
}
END_TEST

/* Submitting for loop 0 from loop 1 works (pool path), done on loop 0. */
static void
io_cross_start(void *arg)
{
	struct loop_io *io = arg;

	atomic_store(&io_pending, 1);
	io->done = io_done;
	ck_assert_int_eq(loop_io_submit(loop_get(0), io), 0);
}

START_TEST(test_io_cross_loop)
{
	uint8_t buf[4096], chk[4096];
	struct iovec v = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct loop_io io;

	loop_io_force_pool(_i != 0);
	ck_assert_int_eq(loops_init(2), 0);
	io_fd = io_open();
	fill_pattern(buf, sizeof(buf), 9);
	memset(&io, 0, sizeof(io));
	io.op = LOOP_IO_WRITE;
	io.fd = io_fd;
	io.offset = 512;
	io.iov = &v;
	io.iovcnt = 1;
	io_errors = 0;
	ck_assert_int_eq(loop_post(loop_get(1), io_cross_start, &io), 0);
	ck_assert_int_eq(loops_run(), 0);
	ck_assert_int_eq(io_errors, 0);
	ck_assert_int_eq(pread(io_fd, chk, sizeof(chk), 512),
	    (ssize_t)sizeof(chk));
	ck_assert_int_eq(memcmp(buf, chk, sizeof(buf)), 0);
	close(io_fd);
	loops_fini();
	loop_io_force_pool(false);
}
END_TEST

static void
bad_io_done(struct loop_io *io)
{
}

START_TEST(test_io_errors)
{
	struct loop_io io;
	struct iovec v = { .iov_base = &v, .iov_len = 1 };
	uint8_t b[16];
	int fd;

	ck_assert_int_eq(loops_init(1), 0);
	memset(&io, 0, sizeof(io));
	io.op = LOOP_IO_READ;
	io.fd = -1;
	io.done = bad_io_done;
	ck_assert_int_eq(loop_io_submit(loop_get(0), &io), -EINVAL);
	io.fd = 0;
	io.iovcnt = 1;
	io.iov = NULL;
	ck_assert_int_eq(loop_io_submit(loop_get(0), &io), -EINVAL);
	io.iov = &v;
	io.offset = UINT64_MAX;
	ck_assert_int_eq(loop_io_submit(loop_get(0), &io), -EINVAL);
	io.op = 42;
	io.offset = 0;
	ck_assert_int_eq(loop_io_submit(loop_get(0), &io), -EINVAL);
	loops_fini();

	/* A write to a read-only fd fails with -EBADF through done(). */
	io_setup_mode(_i);
	fd = open("/dev/null", O_RDONLY);
	memset(&io, 0, sizeof(io));
	v.iov_base = b;
	v.iov_len = sizeof(b);
	io.op = LOOP_IO_WRITE;
	io.fd = fd;
	io.iov = &v;
	io.iovcnt = 1;
	io_batch = &io;
	io_batch_n = 1;
	io_errors = 0;
	ck_assert_int_eq(loop_post(loop_get(0), io_batch_start, NULL), 0);
	ck_assert_int_eq(loops_run(), 0);
	ck_assert_int_eq(io_errors, 1);
	ck_assert_int_eq(io.res, -EBADF);
	close(fd);
	loops_fini();
	loop_io_force_pool(false);
}
END_TEST

static Suite *
loop_suite(void)
{
	Suite *s = suite_create("loop");
	TCase *tc;

	tc = tcase_create("core");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_timers_order);
	tcase_add_test(tc, test_timer_delay);
	tcase_add_test(tc, test_post_pingpong);
	tcase_add_test(tc, test_defer);
	tcase_add_test(tc, test_post_foreign_threads);
	tcase_add_test(tc, test_stop_foreign);
	tcase_add_test(tc, test_pool_done_on_asker);
	tcase_add_test(tc, test_fd_callbacks);
	tcase_add_test(tc, test_least_loaded);
	tcase_add_test(tc, test_alloc_failure);
	suite_add_tcase(s, tc);

	/* _i = 0: io_uring (where available), _i = 1: forced pool */
	tc = tcase_create("io");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_io_rw_multi_iovec, 0, 2);
	tcase_add_loop_test(tc, test_io_read_past_eof, 0, 2);
	tcase_add_loop_test(tc, test_io_many, 0, 2);
	tcase_add_loop_test(tc, test_io_errors, 0, 2);
	tcase_add_loop_test(tc, test_io_cross_loop, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	log_init(false, LOG_LVL_WARN);
	sr = srunner_create(loop_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
