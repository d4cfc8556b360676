/*
 * bs_fd.c - see bs_fd_int.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backstore.h"
#include "bs_fd_int.h"
#include "loop.h"

enum loop_io_op
bs_fd_lio_op(const struct backstore *bs, const struct bs_io *io)
{
	if (io->op == BS_READ)
		return LOOP_IO_READ;
	if (io->op == BS_FLUSH)
		return LOOP_IO_FSYNC;
	/* Without write-back the fd is O_DSYNC: every write is durable. */
	if ((io->flags & BS_IO_FUA) && bs->write_back)
		return LOOP_IO_WRITE_DSYNC;
	return LOOP_IO_WRITE;
}

static void
bs_fd_lio_done(struct loop_io *lio)
{
	struct bs_io *io = lio->priv;

	io->done(io, lio->res < 0 ? (int)lio->res : 0);
}

int
bs_fd_rw(struct backstore *bs, struct bs_io *io)
{
	struct loop_io *lio = &io->lio;

	memset(lio, 0, sizeof(*lio));
	lio->op = bs_fd_lio_op(bs, io);
	lio->fd = bs->fd;
	lio->offset = io->offset;
	if (io->op != BS_FLUSH) {
		lio->iov = io->iov;
		lio->iovcnt = io->iovcnt;
	}
	lio->done = bs_fd_lio_done;
	lio->priv = io;
	return loop_io_submit(io->loop, lio);
}

void
bs_fd_pool_done(void *arg)
{
	struct bs_io *io = arg;

	io->done(io, (int)io->lio.res);
}

int
bs_fd_submit(struct backstore *bs, struct bs_io *io,
    int (*rw)(struct backstore *, struct bs_io *), void (*pool_work)(void *))
{
	io->_bs = bs;
	switch (io->op) {
	case BS_READ:
	case BS_WRITE:
	case BS_FLUSH:
		return rw(bs, io);
	case BS_UNMAP:
	case BS_WRITE_ZEROES:
		return loop_pool_run(io->loop, pool_work, bs_fd_pool_done, io);
	}
	return -EINVAL;
}

void
bs_fd_close(struct backstore *bs)
{
	if (bs->fd >= 0)
		close(bs->fd);
	bs->fd = -1;
	free(bs->priv);
	bs->priv = NULL;
}
