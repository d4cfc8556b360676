/*
 * bs_block.c - "block": a whole block device or a partition as a logical
 * unit (rtslib's iblock plugin).
 *
 * Open: the device is opened O_DIRECT (plus O_DSYNC without write-back
 * caching, so every write is durable when it completes); a device the
 * kernel marks read-only (BLKROGET, or an open for writing refused with
 * EROFS/EACCES) is opened read-only and the LU is write protected.  The
 * logical and physical block sizes and the size come from the device
 * (BLKSSZGET, BLKPBSZGET, BLKGETSIZE64); a configured block_size must
 * match the logical one (0: take the device's), a configured size may
 * only shrink what is exported.  What the device can deallocate is read
 * from sysfs (/sys/dev/block/MAJ:MIN/queue, or the parent disk's queue
 * for a partition).
 *
 * I/O: READ/WRITE/FLUSH go through loop_io_submit() (io_uring or pool).
 * O_DIRECT wants the offset, the length and every iovec segment aligned
 * to the logical block, and buffer addresses aligned to the device's DMA
 * alignment; requests that are not (iSCSI data buffers come from malloc)
 * are bounced through one aligned buffer, and only those.  A read whose
 * offset or length is not on a logical block is widened to whole blocks
 * in the bounce buffer; such a write (an overflowing WRITE moves exactly
 * the EDTL bytes it got) reads the widened blocks first and writes them
 * back merged.  That read-modify-write relies on the caller's range lock
 * covering the whole blocks, as SCSI writes and the copy engine hold
 * them: the blocks are the command's own.  A FUA write is an RWF_DSYNC
 * write (the kernel sends FUA or a flush); FLUSH is fdatasync(), which
 * flushes the device's volatile cache.
 *
 * UNMAP and WRITE ZEROES run ioctls in the blocking pool.  WRITE ZEROES is
 * BLKZEROOUT (the kernel uses the device's write-zeroes command or writes
 * zeroes itself).  UNMAP is offered only on thin LUs whose device can
 * discard (queue/discard_max_bytes > 0).  When the device also has a
 * write-zeroes command (queue/write_zeroes_max_bytes > 0), UNMAP is
 * fallocate(PUNCH_HOLE), i.e. a write-zeroes request that may deallocate
 * but never falls back to writing, so unmapped blocks read back as zeroes
 * and LBPRZ is advertised; should the device refuse it, BLKZEROOUT takes
 * over and LBPRZ stays true.  Otherwise UNMAP is BLKDISCARD, after which
 * the content is undefined (Linux no longer promises discard_zeroes_data),
 * and LBPRZ is not advertised.  Block devices do not say what is
 * allocated, so there is no lba_status(): GET LBA STATUS reports every
 * block as mapped.
 *
 * copy(): copy_file_range() between two block LUs via bs_file_copy() (the
 * kernel may refuse it for block devices: the copy engine then falls back
 * to reads and writes); reflink (BS_IO_CLONE) is never possible here.
 *
 * bs_block_int.h exposes open, close and submit to plugins built on a
 * block node (bs_nvme.c), which keep their own state in an ext slot.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "backstore.h"
#include "bs_block_int.h"
#include "bs_fd_int.h"
#include "conf.h"
#include "log.h"
#include "loop.h"
#include "util.h"

#define BS_BLOCK_IOV_MAX	1024	/* UIO_MAXIOV */
#define BS_BLOCK_BUF_ALIGN	4096u

struct bs_block {
	uint32_t	 mem_align;	/* O_DIRECT buffer address alignment */
	bool		 unmap_zeroes;	/* UNMAP = fallocate(PUNCH_HOLE) */
	atomic_bool	 punch_ok;	/* the device took it so far */
	uint64_t	 discard_max;	/* queue limits (bytes), for the log */
	uint64_t	 zeroes_max;
	void		*ext;		/* a plugin built on this one */
};

/* A request bounced through an aligned buffer. */
struct bs_block_bounce {
	struct loop_io	 lio;
	struct iovec	 iov;
	struct bs_io	*io;
	uint8_t		*buf;		/* aligned, iov covers all of it */
	size_t		 skip;		/* bytes before io->offset */
	bool		 rmw;		/* write: reading the blocks first */
};

/* --- sysfs queue limits --- */

/*
 * Read one number from the device's queue directory.  A partition has no
 * queue of its own: its limits are its disk's, one directory up.
 */
static int
bs_block_sysfs_u64(dev_t rdev, const char *attr, uint64_t *val)
{
	static const char *const up[] = { "", "../" };
	char path[128], buf[64], *end;
	unsigned long long v;
	ssize_t n;
	size_t i;
	int fd;

	for (i = 0; i < ARRAY_SIZE(up); i++) {
		snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/%squeue/%s",
		    major(rdev), minor(rdev), up[i], attr);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			return -EIO;
		buf[n] = '\0';
		errno = 0;
		v = strtoull(buf, &end, 10);
		if (errno != 0 || end == buf)
			return -EINVAL;
		*val = v;
		return 0;
	}
	return -ENOENT;
}

/* --- open / close --- */

static int
bs_block_open_fd(struct backstore *bs)
{
	int flags = O_CLOEXEC | O_DIRECT;

	if (!bs->read_only) {
		if (!bs->write_back)
			flags |= O_DSYNC;
		bs->fd = open(bs->path, flags | O_RDWR);
		if (bs->fd >= 0)
			return 0;
		if (errno != EROFS && errno != EACCES)
			return -errno;
		log_warn("storage %s: %s refuses writes (%s); the LU is "
		    "write protected", bs->name, bs->path, strerror(errno));
		bs->read_only = true;
		flags &= ~O_DSYNC;
	}
	bs->fd = open(bs->path, flags | O_RDONLY);
	return bs->fd >= 0 ? 0 : -errno;
}

/* Sizes from the device, checked against the configuration. */
static int
bs_block_geometry(struct backstore *bs, const struct conf_storage *cs)
{
	unsigned int pbs = 0;
	uint64_t size = 0;
	int lbs = 0, ro = 0;

	if (ioctl(bs->fd, BLKSSZGET, &lbs) < 0 ||
	    ioctl(bs->fd, BLKGETSIZE64, &size) < 0) {
		int rc = -errno;

		log_err("storage %s: cannot read the geometry of %s: %s",
		    bs->name, bs->path, strerror(-rc));
		return rc;
	}
	if (ioctl(bs->fd, BLKPBSZGET, &pbs) < 0)
		pbs = 0;
	if (ioctl(bs->fd, BLKROGET, &ro) == 0 && ro != 0 && !bs->read_only) {
		log_warn("storage %s: %s is a read-only device; the LU is "
		    "write protected", bs->name, bs->path);
		bs->read_only = true;
	}
	if (lbs != 512 && lbs != 1024 && lbs != 2048 && lbs != 4096) {
		log_err("storage %s: %s has a logical block size of %d bytes "
		    "(supported: 512 to 4096)", bs->name, bs->path, lbs);
		return -EINVAL;
	}
	if (cs->block_size != 0 && cs->block_size != (uint32_t)lbs) {
		log_err("storage %s: block_size %u does not match the logical "
		    "block size of %s (%d bytes); set it to %d or leave it "
		    "out", bs->name, cs->block_size, bs->path, lbs, lbs);
		return -EINVAL;
	}
	bs->block_size = (uint32_t)lbs;
	bs->phys_block_size = pbs >= (unsigned int)lbs &&
	    (pbs & (pbs - 1)) == 0 ? pbs : (uint32_t)lbs;
	if (size < (uint64_t)lbs) {
		log_err("storage %s: %s is empty (%" PRIu64 " bytes)",
		    bs->name, bs->path, size);
		return -EINVAL;
	}
	if (cs->size > size) {
		log_err("storage %s: size %" PRIu64 " is larger than %s (%"
		    PRIu64 " bytes)", bs->name, cs->size, bs->path, size);
		return -EINVAL;
	}
	if (cs->size != 0 && cs->size < size)
		log_info("storage %s: exporting the first %" PRIu64 " of %"
		    PRIu64 " bytes of %s", bs->name, cs->size, size,
		    bs->path);
	bs->size = cs->size != 0 ? cs->size : size;
	return 0;
}

/* Alignment and provisioning from the device's queue limits. */
static void
bs_block_limits(struct backstore *bs, const struct conf_storage *cs,
    struct bs_block *b, dev_t rdev)
{
	uint64_t dma = 0;

	b->mem_align = bs->block_size;
	if (bs_block_sysfs_u64(rdev, "dma_alignment", &dma) == 0 &&
	    dma + 1 > b->mem_align && dma < (1u << 20) &&
	    ((dma + 1) & dma) == 0)
		b->mem_align = (uint32_t)dma + 1;
	if (bs_block_sysfs_u64(rdev, "discard_max_bytes", &b->discard_max))
		b->discard_max = 0;
	if (bs_block_sysfs_u64(rdev, "write_zeroes_max_bytes",
	    &b->zeroes_max))
		b->zeroes_max = 0;
	bs->caps = BS_CAP_FLUSH;
	if (bs->read_only)
		return;
	bs->caps |= BS_CAP_ZEROES;
	if (!cs->thin || b->discard_max == 0)
		return;
	bs->caps |= BS_CAP_UNMAP;
	if (b->zeroes_max > 0) {
		b->unmap_zeroes = true;
		atomic_store(&b->punch_ok, true);
		bs->caps |= BS_CAP_UNMAP_ZERO;
	}
}

int
bs_block_open(struct backstore *bs, const struct conf_storage *cs)
{
	struct bs_block *b;
	struct stat st;
	int rc;

	if (bs->path == NULL || bs->path[0] == '\0') {
		log_err("storage %s: block needs a dev path", bs->name);
		return -EINVAL;
	}
	if (stat(bs->path, &st) < 0) {
		rc = -errno;
		log_err("storage %s: device %s: %s", bs->name, bs->path,
		    rc == -ENOENT ? "no such device" : strerror(-rc));
		return rc;
	}
	if (!S_ISBLK(st.st_mode)) {
		log_err("storage %s: %s is not a block device%s", bs->name,
		    bs->path, S_ISREG(st.st_mode) ?
		    " (use plugin fileio for a file)" : "");
		return -ENOTBLK;
	}
	b = xcalloc(1, sizeof(*b));
	if (b == NULL)
		return -ENOMEM;
	rc = bs_block_open_fd(bs);
	if (rc != 0) {
		log_err("storage %s: cannot open %s: %s", bs->name, bs->path,
		    strerror(-rc));
		goto fail;
	}
	/* The node could have been replaced between stat() and open(). */
	if (fstat(bs->fd, &st) < 0 || !S_ISBLK(st.st_mode)) {
		log_err("storage %s: %s is not a block device", bs->name,
		    bs->path);
		rc = -ENOTBLK;
		goto fail;
	}
	rc = bs_block_geometry(bs, cs);
	if (rc != 0)
		goto fail;
	bs_block_limits(bs, cs, b, st.st_rdev);
	bs->priv = b;
	log_info("storage %s: block device %s (%u:%u), %" PRIu64 " bytes, "
	    "block %u/%u, dma alignment %u, discard %s%s%s", bs->name,
	    bs->path, major(st.st_rdev), minor(st.st_rdev), bs->size,
	    bs->block_size, bs->phys_block_size, b->mem_align,
	    b->discard_max ? "yes" : "no",
	    (bs->caps & BS_CAP_UNMAP_ZERO) ? " (reads back zeroes)" : "",
	    bs->read_only ? ", read-only" : "");
	return 0;
fail:
	if (bs->fd >= 0)
		close(bs->fd);
	bs->fd = -1;
	free(b);
	return rc;
}

void
bs_block_close(struct backstore *bs)
{
	bs_fd_close(bs);
}

/* --- reads and writes --- */

/* Can the caller's iovecs go to the device as they are? */
static bool
bs_block_aligned(const struct backstore *bs, const struct bs_block *b,
    const struct bs_io *io)
{
	uintptr_t amask = b->mem_align - 1;
	uint64_t lmask = bs->block_size - 1;
	int i;

	if ((io->offset & lmask) != 0 || (io->len & lmask) != 0 ||
	    io->iovcnt > BS_BLOCK_IOV_MAX)
		return false;
	for (i = 0; i < io->iovcnt; i++) {
		if (io->iov[i].iov_len == 0)
			continue;
		if (((uintptr_t)io->iov[i].iov_base & amask) != 0 ||
		    (io->iov[i].iov_len & lmask) != 0)
			return false;
	}
	return true;
}

static void
bs_block_copy_iov(const struct bs_io *io, uint8_t *buf, bool to_buf)
{
	int i;

	for (i = 0; i < io->iovcnt; i++) {
		size_t n = io->iov[i].iov_len;

		if (n == 0)
			continue;
		if (to_buf)
			memcpy(buf, io->iov[i].iov_base, n);
		else
			memcpy(io->iov[i].iov_base, buf, n);
		buf += n;
	}
}

static void
bs_block_bounce_free(struct bs_block_bounce *bb)
{
	free(bb->buf);
	free(bb);
}

static void
bs_block_bounce_done(struct loop_io *lio)
{
	struct bs_block_bounce *bb = container_of(lio, struct bs_block_bounce,
	    lio);
	struct bs_io *io = bb->io;
	struct backstore *bs = io->_bs;
	int res = lio->res < 0 ? (int)lio->res : 0;

	if (res == 0 && bb->rmw) {
		/* the blocks are in: merge the caller's bytes, write back */
		bb->rmw = false;
		bs_block_copy_iov(io, bb->buf + bb->skip, true);
		lio->op = bs_fd_lio_op(bs, io);
		res = loop_io_submit(io->loop, lio);
		if (res == 0)
			return;
	}
	if (res == 0 && io->op == BS_READ)
		bs_block_copy_iov(io, bb->buf + bb->skip, false);
	bs_block_bounce_free(bb);
	io->done(io, res);
}

static int
bs_block_bounce(struct backstore *bs, struct bs_block *b, struct bs_io *io)
{
	uint64_t lmask = bs->block_size - 1, start, end;
	struct bs_block_bounce *bb;
	void *p;
	int rc;

	start = io->offset & ~lmask;
	end = io->offset + io->len;
	if (end & lmask) {
		end = (end | lmask) + 1;
		if (end > bs->size)	/* size is whole blocks: cannot be */
			return -ERANGE;
	}
	if (end - start > SIZE_MAX / 2)
		return -EINVAL;
	bb = xcalloc(1, sizeof(*bb));
	if (bb == NULL)
		return -ENOMEM;
	if (posix_memalign(&p, MAX(b->mem_align, BS_BLOCK_BUF_ALIGN),
	    (size_t)(end - start)) != 0) {
		free(bb);
		return -ENOMEM;
	}
	bb->buf = p;
	bb->io = io;
	bb->skip = (size_t)(io->offset - start);
	bb->iov.iov_base = bb->buf;
	bb->iov.iov_len = (size_t)(end - start);
	/* partial blocks: read them first (bs_block_bounce_done) */
	bb->rmw = io->op == BS_WRITE && (start != io->offset ||
	    end != io->offset + io->len);
	if (io->op == BS_WRITE && !bb->rmw)
		bs_block_copy_iov(io, bb->buf, true);
	bb->lio.op = bb->rmw ? LOOP_IO_READ : bs_fd_lio_op(bs, io);
	bb->lio.fd = bs->fd;
	bb->lio.offset = start;
	bb->lio.iov = &bb->iov;
	bb->lio.iovcnt = 1;
	bb->lio.done = bs_block_bounce_done;
	bb->lio.priv = bb;
	rc = loop_io_submit(io->loop, &bb->lio);
	if (rc != 0)
		bs_block_bounce_free(bb);
	return rc;
}

static int
bs_block_rw(struct backstore *bs, struct bs_io *io)
{
	struct bs_block *b = bs->priv;

	if ((io->op == BS_READ || io->op == BS_WRITE) && io->len != 0 &&
	    !bs_block_aligned(bs, b, io))
		return bs_block_bounce(bs, b, io);
	return bs_fd_rw(bs, io);
}

/* --- discard and zeroes, in the pool --- */

static bool
bs_block_unsupported(int err)
{
	return err == EOPNOTSUPP || err == ENOTTY || err == ENOSYS;
}

static int
bs_block_range_ioctl(int fd, unsigned long req, uint64_t off, uint64_t len)
{
	uint64_t range[2] = { off, len };

	return ioctl(fd, req, range) < 0 ? -errno : 0;
}

static void
bs_block_pool_work(void *arg)
{
	struct bs_io *io = arg;
	struct backstore *bs = io->_bs;
	struct bs_block *b = bs->priv;
	uint64_t lmask = bs->block_size - 1;
	int rc = 0;

	if (io->len == 0)
		goto out;
	if (((io->offset | io->len) & lmask) != 0) {
		rc = -EINVAL;
		goto out;
	}
	if (io->op == BS_UNMAP && !b->unmap_zeroes) {
		rc = bs_block_range_ioctl(bs->fd, BLKDISCARD, io->offset,
		    io->len);
		goto out;
	}
	if (io->op == BS_UNMAP && atomic_load(&b->punch_ok)) {
		/* write zeroes, deallocating where the device can */
		if (fallocate(bs->fd, FALLOC_FL_PUNCH_HOLE |
		    FALLOC_FL_KEEP_SIZE, (off_t)io->offset,
		    (off_t)io->len) == 0)
			goto sync;
		if (!bs_block_unsupported(errno)) {
			rc = -errno;
			goto out;
		}
		log_warn("storage %s: %s refuses write zeroes with unmap "
		    "(%s); UNMAP now writes zeroes", bs->name, bs->path,
		    strerror(errno));
		atomic_store(&b->punch_ok, false);
	}
	/* BS_WRITE_ZEROES, or UNMAP that must read back as zeroes */
	rc = bs_block_range_ioctl(bs->fd, BLKZEROOUT, io->offset, io->len);
	if (rc != 0)
		goto out;
sync:
	if ((io->flags & BS_IO_FUA) && fdatasync(bs->fd) < 0)
		rc = -errno;
out:
	io->lio.res = rc;
}

int
bs_block_submit(struct backstore *bs, struct bs_io *io)
{
	return bs_fd_submit(bs, io, bs_block_rw, bs_block_pool_work);
}

void *
bs_block_ext(const struct backstore *bs)
{
	const struct bs_block *b = bs->priv;

	return b != NULL ? b->ext : NULL;
}

void
bs_block_set_ext(struct backstore *bs, void *ext)
{
	struct bs_block *b = bs->priv;

	if (b != NULL)
		b->ext = ext;
}

/* --- copy offload --- */

static int
bs_block_copy(struct backstore *dst, struct backstore *src,
    const struct bs_extent *ext, struct bs_io *io)
{
	/* Block devices share no extents: there is nothing to clone. */
	if (io != NULL && (io->flags & BS_IO_CLONE))
		return -EOPNOTSUPP;
	return bs_file_copy(dst, src, ext, io);
}

const struct backstore_ops bs_block_ops = {
	.name = "block",
	.open = bs_block_open,
	.close = bs_block_close,
	.submit = bs_block_submit,
	.copy = bs_block_copy,
	.caps = BS_CAP_FLUSH | BS_CAP_ZEROES | BS_CAP_UNMAP |
	    BS_CAP_UNMAP_ZERO,
};
