/*
 * loop_io.c - asynchronous data I/O for the loops: an io_uring per loop,
 * or the blocking pool.
 *
 * Design notes.  Each loop sets up a ring at start; if that fails (old
 * kernel, seccomp, io_uring_disabled) the loop quietly uses the pool.  The
 * ring's completions are signalled through a registered eventfd watched by
 * the loop's epoll (edge triggered, never read), so nothing ever waits on
 * the ring itself.  Reads of 128 KiB and more go to io_uring's workers
 * (IOSQE_ASYNC) so their page cache copy overlaps the loop's work.  SQEs are
 * prepared at submit time and handed to the kernel once per loop iteration
 * (loop_io_flush(), right before epoll_wait), which batches a burst of
 * submissions into one system call.  In-flight requests are capped at the
 * SQ size, which keeps the CQ (twice as large) from overflowing; the rest
 * wait on a FIFO pending list.
 *
 * Short transfers are finished internally: the remainder is resubmitted
 * from an iovec built in io->_iov_small (at most four segments at a time,
 * so no allocation; a longer remainder just takes more rounds).  A read
 * that hits end of file zero-fills the rest, since files are sized with
 * ftruncate and only sparse tails can end early.  -EAGAIN/-EINTR from the
 * ring move the request to the pool, as does -EOPNOTSUPP for an
 * RWF_DSYNC write (the pool then writes and calls fdatasync).  The caller's iovec is never
 * modified.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* pwritev2, RWF_DSYNC */
#endif
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "loop_int.h"
#include "util.h"

#define LOOP_URING_ENTRIES	256
#define LOOP_POOL_IOV		64
#define LOOP_ASYNC_READ_MIN	(128u << 10)

static atomic_bool loop_io_pool_forced;

void
loop_io_force_pool(bool on)
{
	atomic_store(&loop_io_pool_forced, on);
}

bool
loop_io_uses_uring(const struct loop *l)
{
	return l->uring_ok && !atomic_load(&loop_io_pool_forced);
}

/* Fill dst with at most max segments covering what remains after _done. */
static int
lio_iov_rest(const struct loop_io *io, struct iovec *dst, int max)
{
	size_t skip = io->_done;
	int i, n = 0;

	for (i = 0; i < io->iovcnt && n < max; i++) {
		size_t len = io->iov[i].iov_len;

		if (skip >= len) {
			skip -= len;
			continue;
		}
		dst[n].iov_base = (char *)io->iov[i].iov_base + skip;
		dst[n].iov_len = len - skip;
		skip = 0;
		n++;
	}
	return n;
}

/* Zero everything after _done (read beyond end of file). */
static void
lio_zero_rest(struct loop_io *io)
{
	size_t skip = io->_done;
	int i;

	for (i = 0; i < io->iovcnt; i++) {
		size_t len = io->iov[i].iov_len;

		if (skip >= len) {
			skip -= len;
			continue;
		}
		memset((char *)io->iov[i].iov_base + skip, 0, len - skip);
		skip = 0;
	}
	io->_done = io->_total;
}

/* --- pool path --- */

static void
lio_pool_work(void *arg)
{
	struct loop_io *io = arg;
	struct iovec v[LOOP_POOL_IOV];
	bool dsync = true;
	ssize_t r;
	int n;

	if (io->op == LOOP_IO_FSYNC) {
		io->res = fdatasync(io->fd) < 0 ? -errno : 0;
		return;
	}
	while (io->_done < io->_total) {
		n = lio_iov_rest(io, v, LOOP_POOL_IOV);
		if (io->op == LOOP_IO_READ)
			r = preadv(io->fd, v, n, (off_t)(io->offset +
			    io->_done));
		else if (io->op == LOOP_IO_WRITE_DSYNC && dsync)
			r = pwritev2(io->fd, v, n, (off_t)(io->offset +
			    io->_done), RWF_DSYNC);
		else
			r = pwritev(io->fd, v, n, (off_t)(io->offset +
			    io->_done));
		if (r < 0 && errno == EOPNOTSUPP && dsync &&
		    io->op == LOOP_IO_WRITE_DSYNC) {
			dsync = false;	/* write, then fdatasync */
			continue;
		}
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			io->res = -errno;
			return;
		}
		if (r == 0) {
			if (io->op != LOOP_IO_READ) {
				io->res = -EIO;
				return;
			}
			lio_zero_rest(io);
			break;
		}
		io->_done += (size_t)r;
	}
	if (io->op == LOOP_IO_WRITE_DSYNC && !dsync &&
	    fdatasync(io->fd) < 0) {
		io->res = -errno;
		return;
	}
	io->res = (ssize_t)io->_total;
}

static void
lio_pool_done(void *arg)
{
	struct loop_io *io = arg;

	io->done(io);
}

static int
lio_pool_submit(struct loop *l, struct loop_io *io)
{
	return loop_pool_run(l, lio_pool_work, lio_pool_done, io);
}

/* --- io_uring path --- */

static void
lio_pend_push(struct loop *l, struct loop_io *io, bool front)
{
	io->_next = NULL;
	if (l->pend_head == NULL) {
		l->pend_head = l->pend_tail = io;
	} else if (front) {
		io->_next = l->pend_head;
		l->pend_head = io;
	} else {
		l->pend_tail->_next = io;
		l->pend_tail = io;
	}
}

/* Prepare one SQE for io (from _done on).  False if the SQ is full. */
static bool
lio_uring_prep(struct loop *l, struct loop_io *io)
{
	struct io_uring_sqe *sqe;
	const struct iovec *iov;
	int n;

	sqe = io_uring_get_sqe(&l->ring);
	if (sqe == NULL) {
		(void)io_uring_submit(&l->ring);
		sqe = io_uring_get_sqe(&l->ring);
		if (sqe == NULL)
			return false;
	}
	if (io->_done == 0) {
		iov = io->iov;
		n = io->iovcnt;
	} else {
		n = lio_iov_rest(io, io->_iov_small,
		    (int)ARRAY_SIZE(io->_iov_small));
		iov = io->_iov_small;
	}
	switch (io->op) {
	case LOOP_IO_READ:
		io_uring_prep_readv(sqe, io->fd, iov, (unsigned int)n,
		    io->offset + io->_done);
		break;
	case LOOP_IO_WRITE:
		io_uring_prep_writev(sqe, io->fd, iov, (unsigned int)n,
		    io->offset + io->_done);
		break;
	case LOOP_IO_WRITE_DSYNC:
		io_uring_prep_writev2(sqe, io->fd, iov, (unsigned int)n,
		    io->offset + io->_done, RWF_DSYNC);
		break;
	case LOOP_IO_FSYNC:
		io_uring_prep_fsync(sqe, io->fd, IORING_FSYNC_DATASYNC);
		break;
	}
	/* A large read served from the page cache is a long memcpy inside
	 * io_uring_enter() on this thread; run it in io_uring's workers so
	 * it overlaps with this loop's socket work (the other big copy). */
	if (io->op == LOOP_IO_READ && io->_total - io->_done >=
	    LOOP_ASYNC_READ_MIN)
		io_uring_sqe_set_flags(sqe, IOSQE_ASYNC);
	io_uring_sqe_set_data(sqe, io);
	l->uring_inflight++;
	l->uring_dirty = true;
	return true;
}

/* Start io on the ring now, or queue it behind earlier waiters. */
static void
lio_uring_start(struct loop *l, struct loop_io *io, bool front)
{
	if ((front || l->pend_head == NULL) &&
	    l->uring_inflight < l->uring_max && lio_uring_prep(l, io))
		return;
	lio_pend_push(l, io, front);
}

static void
lio_pend_drain(struct loop *l)
{
	struct loop_io *io;

	while ((io = l->pend_head) != NULL &&
	    l->uring_inflight < l->uring_max) {
		if (!lio_uring_prep(l, io))
			break;
		l->pend_head = io->_next;
		if (l->pend_head == NULL)
			l->pend_tail = NULL;
		io->_next = NULL;
	}
}

static void
lio_complete(struct loop_io *io, ssize_t res)
{
	io->res = res;
	io->done(io);
}

static void
lio_uring_cqe(struct loop *l, struct loop_io *io, int res)
{
	int rc;

	if (io->op == LOOP_IO_FSYNC) {
		lio_complete(io, res < 0 ? res : 0);
		return;
	}
	/* The pool retries without RWF_DSYNC where it is refused. */
	if (res == -EAGAIN || res == -EINTR || (res == -EOPNOTSUPP &&
	    io->op == LOOP_IO_WRITE_DSYNC)) {
		rc = lio_pool_submit(l, io);
		if (rc != 0)
			lio_complete(io, rc);
		return;
	}
	if (res < 0) {
		lio_complete(io, res);
		return;
	}
	if (res == 0 && io->_done < io->_total) {
		if (io->op != LOOP_IO_READ) {
			lio_complete(io, -EIO);
			return;
		}
		lio_zero_rest(io);
	}
	io->_done += (size_t)res;
	if (io->_done > io->_total)
		io->_done = io->_total;
	if (io->_done < io->_total) {
		lio_uring_start(l, io, true);
		return;
	}
	lio_complete(io, (ssize_t)io->_total);
}

static void
lio_uring_reap(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct io_uring_cqe *cqe;
	struct loop_io *io;
	int res;

	/* Edge-triggered: every CQE the kernel posts signals the eventfd
	 * and makes a new edge, so its counter need not be read (one
	 * system call less per wakeup); the CQ itself says what is due. */
	while (io_uring_peek_cqe(&l->ring, &cqe) == 0) {
		io = io_uring_cqe_get_data(cqe);
		res = cqe->res;
		io_uring_cqe_seen(&l->ring, cqe);
		l->uring_inflight--;
		if (io != NULL)
			lio_uring_cqe(l, io, res);
	}
	lio_pend_drain(l);
}

void
loop_io_flush(struct loop *l)
{
	int rc;

	if (!l->uring_ok || !l->uring_dirty)
		return;
	rc = io_uring_submit(&l->ring);
	if (rc < 0 && rc != -EAGAIN && rc != -EBUSY && rc != -EINTR)
		log_err("loop %u: io_uring_submit: %s", l->idx,
		    strerror(-rc));
	l->uring_dirty = io_uring_sq_ready(&l->ring) > 0;
}

void
loop_io_setup(struct loop *l)
{
	const char *no = getenv("TPCD_NO_URING");
	int rc;

	if (no != NULL && *no != '\0' && *no != '0')
		return;
	rc = io_uring_queue_init(LOOP_URING_ENTRIES, &l->ring, 0);
	if (rc < 0) {
		log_info("loop %u: io_uring unavailable (%s), using the pool",
		    l->idx, strerror(-rc));
		return;
	}
	l->uring_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->uring_efd < 0) {
		rc = -errno;
		goto fail;
	}
	rc = io_uring_register_eventfd(&l->ring, l->uring_efd);
	if (rc < 0)
		goto fail;
	rc = loop_fd_add_int(l, l->uring_efd, EPOLLIN | EPOLLET,
	    lio_uring_reap, NULL);
	if (rc < 0)
		goto fail;
	l->uring_max = l->ring.sq.ring_entries;
	l->uring_ok = true;
	return;
fail:
	log_info("loop %u: io_uring setup failed (%s), using the pool",
	    l->idx, strerror(-rc));
	if (l->uring_efd >= 0)
		close(l->uring_efd);
	l->uring_efd = -1;
	io_uring_queue_exit(&l->ring);
}

void
loop_io_teardown(struct loop *l)
{
	if (!l->uring_ok)
		return;
	loop_fd_del(l, l->uring_efd);
	io_uring_queue_exit(&l->ring);
	close(l->uring_efd);
	l->uring_efd = -1;
	l->uring_ok = false;
	/* Requests still pending are abandoned with their owners. */
	l->pend_head = l->pend_tail = NULL;
}

int
loop_io_submit(struct loop *l, struct loop_io *io)
{
	size_t total = 0;
	int i;

	if (l == NULL || io == NULL || io->done == NULL || io->fd < 0)
		return -EINVAL;
	if (io->op != LOOP_IO_READ && io->op != LOOP_IO_WRITE &&
	    io->op != LOOP_IO_FSYNC && io->op != LOOP_IO_WRITE_DSYNC)
		return -EINVAL;
	if (io->op != LOOP_IO_FSYNC) {
		if (io->iovcnt < 0 || (io->iovcnt > 0 && io->iov == NULL))
			return -EINVAL;
		for (i = 0; i < io->iovcnt; i++) {
			if (total + io->iov[i].iov_len < total)
				return -EINVAL;
			total += io->iov[i].iov_len;
		}
		if (io->offset > INT64_MAX || total > INT64_MAX - io->offset)
			return -EINVAL;
	}
	io->_total = total;
	io->_done = 0;
	io->_loop = l;
	io->_next = NULL;
	io->res = 0;
	/* The ring belongs to l's thread; from elsewhere while l runs,
	 * take the pool (thread-safe, still completes on l). */
	if (loop_io_uses_uring(l) && (loop_current() == l ||
	    !atomic_load(&l->running))) {
		lio_uring_start(l, io, false);
		return 0;
	}
	return lio_pool_submit(l, io);
}
