/*
 * bs_file.c - "fileio": a regular file as a logical unit.
 *
 * Open: the file is created if missing and sized with ftruncate (sparse);
 * a configured size of 0 takes the existing file's size, a larger one
 * extends the file sparsely.  Without write-back caching (WCE off) the
 * file is opened O_DSYNC so every write is durable when it completes.
 *
 * I/O: READ/WRITE/FLUSH go through loop_io_submit() (io_uring or pool);
 * a FUA write is an RWF_DSYNC write (write + fdatasync where refused).
 * UNMAP and WRITE ZEROES run fallocate() in the blocking pool: UNMAP
 * punches a hole (KEEP_SIZE); WRITE ZEROES tries ZERO_RANGE, then (thin
 * stores only) PUNCH_HOLE, then plain writes of zeroes, remembering what
 * the filesystem refused.  lba_status() answers mapped / deallocated from
 * SEEK_DATA and SEEK_HOLE (holes are deallocated and read as zeroes).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backstore.h"
#include "bs_fd_int.h"
#include "conf.h"
#include "log.h"
#include "loop.h"
#include "util.h"

#define BS_FILE_ZERO_CHUNK	(64 * 1024)

struct bs_file {
	atomic_bool	 zero_range_ok;
	atomic_bool	 punch_ok;
	bool		 thin;
};

static const uint8_t bs_file_zeroes[BS_FILE_ZERO_CHUNK];

static int
bs_file_size(struct backstore *bs, const struct conf_storage *cs,
    uint64_t fsize, bool created)
{
	if (cs->size == 0) {
		if (fsize == 0) {
			log_err("storage %s: %s is empty and no size is set",
			    bs->name, bs->path);
			return -EINVAL;
		}
		bs->size = fsize;
		return 0;
	}
	bs->size = cs->size;
	if (cs->size <= fsize)
		return 0;
	if (bs->read_only) {
		log_err("storage %s: %s is smaller than the configured size "
		    "and read-only", bs->name, bs->path);
		return -EINVAL;
	}
	if (cs->size > INT64_MAX)
		return -EFBIG;
	if (ftruncate(bs->fd, (off_t)cs->size) < 0) {
		int rc = -errno;

		log_err("storage %s: cannot size %s: %s", bs->name, bs->path,
		    strerror(-rc));
		return rc;
	}
	/* Thick provisioning: allocate a new file up front, best effort. */
	if (created && !cs->thin)
		(void)fallocate(bs->fd, FALLOC_FL_KEEP_SIZE, 0,
		    (off_t)cs->size);
	return 0;
}

/* Can holes be punched?  Probe past the end, where nothing can change. */
static bool
bs_file_probe_punch(struct backstore *bs)
{
	off_t end = (off_t)bs->size;

	end = (end + 4095) / 4096 * 4096;
	return fallocate(bs->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
	    end, 4096) == 0;
}

static int
bs_file_open(struct backstore *bs, const struct conf_storage *cs)
{
	struct bs_file *f;
	struct stat st;
	bool created = false;
	int flags, rc;

	if (bs->path == NULL || bs->path[0] == '\0') {
		log_err("storage %s: fileio needs a dev path", bs->name);
		return -EINVAL;
	}
	f = xcalloc(1, sizeof(*f));
	if (f == NULL)
		return -ENOMEM;
	flags = O_CLOEXEC | (bs->read_only ? O_RDONLY : O_RDWR);
	if (!bs->write_back && !bs->read_only)
		flags |= O_DSYNC;
	bs->fd = open(bs->path, flags);
	if (bs->fd < 0 && errno == ENOENT && !bs->read_only) {
		bs->fd = open(bs->path, flags | O_CREAT | O_EXCL, 0600);
		created = bs->fd >= 0;
	}
	if (bs->fd < 0) {
		rc = -errno;
		log_err("storage %s: cannot open %s: %s", bs->name, bs->path,
		    strerror(-rc));
		goto fail;
	}
	if (fstat(bs->fd, &st) < 0) {
		rc = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		log_err("storage %s: %s is not a regular file", bs->name,
		    bs->path);
		rc = -EINVAL;
		goto fail;
	}
	rc = bs_file_size(bs, cs, (uint64_t)st.st_size, created);
	if (rc != 0)
		goto fail;
	bs->phys_block_size = MAX(bs->block_size, 4096u);
	f->thin = cs->thin;
	atomic_store(&f->zero_range_ok, true);
	bs->caps = BS_CAP_FLUSH | BS_CAP_ZEROES;
	if (lseek(bs->fd, 0, SEEK_HOLE) >= 0 || errno == ENXIO)
		bs->caps |= BS_CAP_SEEK_HOLE;
	if (!bs->read_only && bs_file_probe_punch(bs)) {
		atomic_store(&f->punch_ok, true);
		if (cs->thin)
			bs->caps |= BS_CAP_UNMAP | BS_CAP_UNMAP_ZERO;
	}
	bs->priv = f;
	return 0;
fail:
	if (bs->fd >= 0)
		close(bs->fd);
	bs->fd = -1;
	if (created)
		unlink(bs->path);
	free(f);
	return rc;
}

/* --- fallocate in the pool --- */

static int
bs_file_write_zeroes_slow(int fd, uint64_t off, uint64_t len)
{
	ssize_t r;
	size_t n;

	while (len > 0) {
		n = (size_t)MIN(len, (uint64_t)BS_FILE_ZERO_CHUNK);
		r = pwrite(fd, bs_file_zeroes, n, (off_t)off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EIO;
		off += (uint64_t)r;
		len -= (uint64_t)r;
	}
	return 0;
}

static bool
bs_file_unsupported(int err)
{
	return err == EOPNOTSUPP || err == ENOSYS || err == EINVAL;
}

static void
bs_file_pool_work(void *arg)
{
	struct bs_io *io = arg;
	struct backstore *bs = io->_bs;
	struct bs_file *f = bs->priv;
	off_t off = (off_t)io->offset, len = (off_t)io->len;
	int rc = 0;

	if (io->len == 0) {
		io->lio.res = 0;
		return;
	}
	if (io->op == BS_UNMAP) {
		if (fallocate(bs->fd, FALLOC_FL_PUNCH_HOLE |
		    FALLOC_FL_KEEP_SIZE, off, len) < 0)
			rc = -errno;
		goto out;
	}
	/* BS_WRITE_ZEROES */
	if (atomic_load(&f->zero_range_ok)) {
		if (fallocate(bs->fd, FALLOC_FL_ZERO_RANGE |
		    FALLOC_FL_KEEP_SIZE, off, len) == 0)
			goto sync;
		if (!bs_file_unsupported(errno)) {
			rc = -errno;
			goto out;
		}
		atomic_store(&f->zero_range_ok, false);
	}
	if (f->thin && atomic_load(&f->punch_ok)) {
		if (fallocate(bs->fd, FALLOC_FL_PUNCH_HOLE |
		    FALLOC_FL_KEEP_SIZE, off, len) == 0)
			goto sync;
		if (!bs_file_unsupported(errno)) {
			rc = -errno;
			goto out;
		}
		atomic_store(&f->punch_ok, false);
	}
	rc = bs_file_write_zeroes_slow(bs->fd, io->offset, io->len);
	if (rc != 0)
		goto out;
sync:
	if ((io->flags & BS_IO_FUA) && fdatasync(bs->fd) < 0)
		rc = -errno;
out:
	io->lio.res = rc;
}

/* --- provisioning state (SEEK_DATA / SEEK_HOLE), in the pool --- */

static int
bs_file_lba_status(struct backstore *bs, uint64_t off, uint64_t *len,
    bool *mapped)
{
	off_t data, hole;

	if (off > INT64_MAX)
		return -EINVAL;
	data = lseek(bs->fd, (off_t)off, SEEK_DATA);
	if (data < 0) {
		if (errno != ENXIO)
			return -errno;
		/* no data from off to the end of the file */
		*mapped = false;
		return 0;
	}
	if ((uint64_t)data > off) {
		*mapped = false;
		*len = MIN(*len, (uint64_t)data - off);
		return 0;
	}
	hole = lseek(bs->fd, (off_t)off, SEEK_HOLE);
	if (hole < 0)
		return errno == ENXIO ? -EIO : -errno;
	*mapped = true;
	if ((uint64_t)hole > off)
		*len = MIN(*len, (uint64_t)hole - off);
	return 0;
}

/* --- submit --- */

static int
bs_file_submit(struct backstore *bs, struct bs_io *io)
{
	return bs_fd_submit(bs, io, bs_fd_rw, bs_file_pool_work);
}

const struct backstore_ops bs_file_ops = {
	.name = "fileio",
	.open = bs_file_open,
	.close = bs_fd_close,
	.submit = bs_file_submit,
	.copy = bs_file_copy,
	.lba_status = bs_file_lba_status,
	.caps = BS_CAP_FLUSH | BS_CAP_ZEROES | BS_CAP_UNMAP |
	    BS_CAP_SEEK_HOLE | BS_CAP_UNMAP_ZERO,
};
