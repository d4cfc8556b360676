/*
 * bs_harness.h - drive a backstore from unit tests as the engine does:
 * submit struct bs_io (or a copy() hook call) from loop 0, run the loops
 * until every one completed, and check that none completed inside its
 * submit call or on another loop.  Also the loop set-up per I/O mode and
 * data patterns the backstore tests share.  The caller owns the loops
 * (bh_mode_setup/bh_mode_teardown) and the backstores.
 */
#ifndef TPCD_BS_HARNESS_H
#define TPCD_BS_HARNESS_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "backstore.h"
#include "conf.h"

#define BH_MAXIO	16

/* loops_init(1), the pool path forced where force_pool (asserts). */
void	bh_mode_setup(bool force_pool);
/* loops_fini(), back to io_uring, no allocation failure armed. */
void	bh_mode_teardown(void);
/* backstore_open() that must succeed (asserts). */
struct backstore *bh_open_ok(const struct conf_storage *);

/* Make the n-th allocation fail from right before the next run submits;
 * disarmed when that run ends. */
void	bh_fail_after(unsigned long n);
/* Submit n (<= BH_MAXIO) ios in order from loop 0 and wait; returns the
 * first submit error (0 if every submit took), results in bh_res(). */
int	bh_run_io(struct backstore *, struct bs_io **ios, int n);
/* Result of ios[i] of the last run (1 if it was never completed). */
int	bh_res(int i);
/* One io: its submit error, else its result. */
int	bh_run_one(struct backstore *, struct bs_io *);
/* The same through dst's copy() hook with src and ext. */
int	bh_copy_one(struct backstore *dst, struct backstore *src,
	    const struct bs_extent *, struct bs_io *);

/* Zero io and fill op, offset, len and iovecs. */
void	bh_io_init(struct bs_io *, enum bs_op, uint64_t off, uint64_t len,
	    struct iovec *iov, int iovcnt);
/* READ/WRITE of one buffer with flags; the result. */
int	bh_rw(struct backstore *, enum bs_op, unsigned int flags,
	    uint64_t off, void *buf, size_t len);
/* UNMAP/WRITE ZEROES/FLUSH of a range; the result. */
int	bh_range(struct backstore *, enum bs_op, uint64_t off, uint64_t len);

/* A byte pattern that differs by seed. */
void	bh_fill_pattern(uint8_t *, size_t len, unsigned int seed);
bool	bh_is_zero(const uint8_t *, size_t len);
/* 4096-byte aligned memory (asserts); free() it. */
void	*bh_aligned_buf(size_t len);

#endif
