/*
 * bs_file_copy.c - the "fileio" copy() hook: copy an extent between two
 * file backstores without moving the data through user space.
 *
 * With BS_IO_CLONE the extent is shared with FICLONERANGE (reflink: XFS
 * with reflink=1, btrfs); offsets and length must be aligned to the
 * filesystem block (or the length run to the source's end) and both files
 * must be on one filesystem, else the kernel answers EINVAL / EXDEV /
 * EOPNOTSUPP.  Without it the extent is copied with copy_file_range(),
 * looping on short copies (same or different files; overlapping ranges in
 * one file are refused with EINVAL).  Either way the call runs on the
 * blocking pool and io->done() reports 0 or -errno on io->loop; a
 * BS_IO_FUA copy is followed by fdatasync() of the destination.
 *
 * The caller bounds the extent (the copy engine hands out pieces of at
 * most 1 GiB, 64 MiB for copy_file_range) so one call never runs long.
 * io->lio is private to the backstore: it carries the source fd and
 * offset while the call is in flight, so the extent need not outlive the
 * call.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <limits.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "backstore.h"
#include "bs_fd_int.h"
#include "loop.h"
#include "util.h"

static int
bs_file_copy_range(int sfd, uint64_t soff, int dfd, uint64_t doff,
    uint64_t len)
{
	loff_t in = (loff_t)soff, out = (loff_t)doff;
	ssize_t r;

	while (len > 0) {
		r = copy_file_range(sfd, &in, dfd, &out,
		    (size_t)MIN(len, (uint64_t)SSIZE_MAX), 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EIO;	/* source shorter than its size */
		len -= (uint64_t)r;
	}
	return 0;
}

static int
bs_file_clone_range(int sfd, uint64_t soff, int dfd, uint64_t doff,
    uint64_t len)
{
	struct file_clone_range fcr;

	memset(&fcr, 0, sizeof(fcr));
	fcr.src_fd = sfd;
	fcr.src_offset = soff;
	fcr.src_length = len;
	fcr.dest_offset = doff;
	if (ioctl(dfd, FICLONERANGE, &fcr) < 0)
		return -errno;
	return 0;
}

static void
bs_file_copy_work(void *arg)
{
	struct bs_io *io = arg;
	struct backstore *dst = io->_bs;
	int rc;

	if (io->flags & BS_IO_CLONE)
		rc = bs_file_clone_range(io->lio.fd, io->lio.offset, dst->fd,
		    io->offset, io->len);
	else
		rc = bs_file_copy_range(io->lio.fd, io->lio.offset, dst->fd,
		    io->offset, io->len);
	if (rc == 0 && (io->flags & BS_IO_FUA) && fdatasync(dst->fd) < 0)
		rc = -errno;
	io->lio.res = rc;
}

int
bs_file_copy(struct backstore *dst, struct backstore *src,
    const struct bs_extent *ext, struct bs_io *io)
{
	if (dst == NULL || src == NULL || ext == NULL || io == NULL ||
	    io->done == NULL || io->loop == NULL)
		return -EINVAL;
	if (src->ops != dst->ops || src->fd < 0 || dst->fd < 0)
		return -EXDEV;
	if (dst->read_only)
		return -EROFS;
	if (ext->src_off + ext->len < ext->src_off ||
	    ext->src_off + ext->len > src->size ||
	    ext->dst_off + ext->len < ext->dst_off ||
	    ext->dst_off + ext->len > dst->size ||
	    ext->src_off > INT64_MAX || ext->dst_off > INT64_MAX)
		return -ERANGE;
	io->_bs = dst;
	io->offset = ext->dst_off;
	io->len = ext->len;
	memset(&io->lio, 0, sizeof(io->lio));
	io->lio.fd = src->fd;
	io->lio.offset = ext->src_off;
	if (ext->len == 0) {
		io->lio.res = 0;
		return loop_post(io->loop, bs_fd_pool_done, io);
	}
	return loop_pool_run(io->loop, bs_file_copy_work, bs_fd_pool_done,
	    io);
}
