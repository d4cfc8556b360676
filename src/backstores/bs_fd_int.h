/*
 * bs_fd_int.h - what the backstores over a file descriptor (bs->fd:
 * "fileio" in bs_file.c, "block" in bs_block.c) do alike: READ, WRITE and
 * FLUSH as they are through loop_io_submit() (io_uring or the pool),
 * UNMAP and WRITE ZEROES in the blocking pool, and close.
 */
#ifndef TPCD_BS_FD_INT_H
#define TPCD_BS_FD_INT_H

#include "loop.h"

struct backstore;
struct bs_io;

/* The loop_io op for a READ, WRITE (FUA: RWF_DSYNC with write-back; the
 * fd is O_DSYNC without) or FLUSH (fdatasync). */
enum loop_io_op bs_fd_lio_op(const struct backstore *, const struct bs_io *);
/* Submit a READ, WRITE or FLUSH on bs->fd with io's own iovecs through
 * io->lio; done() gets 0 or -errno. */
int	bs_fd_rw(struct backstore *, struct bs_io *);
/* loop_pool_run() completion of work that left 0 or -errno in
 * io->lio.res: done(io, that). */
void	bs_fd_pool_done(void *io);
/* backstore_ops.submit: READ, WRITE and FLUSH go to rw (bs_fd_rw or
 * one built on it), UNMAP and WRITE ZEROES to pool_work(io) in the
 * blocking pool, which leaves 0 or -errno in io->lio.res for done(). */
int	bs_fd_submit(struct backstore *, struct bs_io *,
	    int (*rw)(struct backstore *, struct bs_io *),
	    void (*pool_work)(void *io));
/* Close bs->fd and free bs->priv. */
void	bs_fd_close(struct backstore *);

#endif
