/*
 * check_bs_block.c - unit tests for the "block" backstore on real loop
 * devices: geometry (512- and 4096-byte sectors), configuration checks
 * and their errors, read/write round trips with aligned buffers (direct)
 * and unaligned ones (bounced) on the io_uring and the pool path, partial
 * block reads and writes (read-modify-write), FUA and flush, UNMAP and
 * WRITE ZEROES (checked on the loop device's backing file too), a
 * read-only device, injected errors,
 * allocation failure on the bounce path and the copy() hook.
 *
 * Needs root and loop devices: main() sets up three loop devices on sparse
 * files with losetup (512-byte sectors, 4096-byte sectors, read-only) and
 * detaches them at exit, also when a test fails (tests run in forked
 * children).  Without them the program prints why and exits 77 (SKIP).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* SEEK_HOLE */
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backstore.h"
#include "bs_harness.h"
#include "conf.h"
#include "log.h"
#include "loop.h"
#include "util.h"

#define DEV_SIZE	(16u << 20)

struct loopdev {
	char	 file[128];
	char	 dev[64];
	uint32_t sector;
	bool	 ro;
};

static char tdir[64];
static struct loopdev devs[3];	/* 512, 4096, read-only 512 */
static unsigned int ndevs;

/* --- loop devices (set up once, in the parent) --- */

static int
sh_capture(const char *cmd, char *out, size_t outlen)
{
	FILE *f;
	size_t n;
	int st;

	f = popen(cmd, "r");
	if (f == NULL)
		return -1;
	n = fread(out, 1, outlen - 1, f);
	out[n] = '\0';
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = '\0';
	st = pclose(f);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 && n > 0 ? 0 : -1;
}

static int
loopdev_attach(struct loopdev *d, unsigned int idx, uint32_t sector,
    bool ro)
{
	char cmd[384];
	int fd;

	snprintf(d->file, sizeof(d->file), "%s/dev%u.img", tdir, idx);
	fd = open(d->file, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, DEV_SIZE) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	snprintf(cmd, sizeof(cmd), "losetup -f --show --sector-size %u %s %s "
	    "2>/dev/null", sector, ro ? "-r" : "", d->file);
	if (sh_capture(cmd, d->dev, sizeof(d->dev)) != 0 ||
	    strncmp(d->dev, "/dev/", 5) != 0) {
		d->dev[0] = '\0';
		unlink(d->file);
		return -1;
	}
	d->sector = sector;
	d->ro = ro;
	return 0;
}

static void
loopdevs_detach(void)
{
	char cmd[128];
	unsigned int i;

	for (i = 0; i < ndevs; i++) {
		if (devs[i].dev[0] != '\0') {
			snprintf(cmd, sizeof(cmd), "losetup -d %s",
			    devs[i].dev);
			if (system(cmd) != 0)
				fprintf(stderr, "cannot detach %s\n",
				    devs[i].dev);
		}
		unlink(devs[i].file);
	}
	ndevs = 0;
	if (tdir[0] != '\0')
		rmdir(tdir);
	tdir[0] = '\0';
}

static void
on_signal(int sig)
{
	loopdevs_detach();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Returns NULL when loop devices are usable, else why not. */
static const char *
loopdevs_setup(void)
{
	static const struct { uint32_t sector; bool ro; } want[3] = {
		{ 512, false }, { 4096, false }, { 512, true },
	};
	unsigned int i;

	if (geteuid() != 0)
		return "not root";
	if (access("/dev/loop-control", W_OK) != 0)
		return "no /dev/loop-control";
	if (system("command -v losetup >/dev/null 2>&1") != 0)
		return "no losetup";
	strcpy(tdir, "/tmp/check_bs_block.XXXXXX");
	if (mkdtemp(tdir) == NULL) {
		tdir[0] = '\0';
		return "mkdtemp failed";
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		ndevs = i + 1;
		if (loopdev_attach(&devs[i], i, want[i].sector,
		    want[i].ro) != 0) {
			loopdevs_detach();
			return "losetup failed (no free loop device?)";
		}
	}
	return NULL;
}

/* What the loop device's backing file holds at off (the device's truth). */
static void
file_read(const struct loopdev *d, uint64_t off, void *buf, size_t len)
{
	int fd = open(d->file, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

/* --- set-up per test --- */

static struct conf_storage
storage(const struct loopdev *d, uint32_t bsz)
{
	struct conf_storage cs;

	memset(&cs, 0, sizeof(cs));
	cs.plugin = (char *)"block";
	cs.name = (char *)"blk0";
	cs.dev = (char *)d->dev;
	cs.block_size = bsz;
	cs.write_back = true;
	cs.thin = true;
	return cs;
}

static int
open_err(const struct conf_storage *cs)
{
	struct backstore *bs;
	int err = 0;

	bs = backstore_open(cs, &err);
	ck_assert_ptr_null(bs);
	return err;
}

/* --- geometry and configuration --- */

/* _i: 0 = 512-byte sectors, 1 = 4096 */
START_TEST(test_geometry)
{
	const struct loopdev *d = &devs[_i];
	struct conf_storage cs;
	struct backstore *bs;

	cs = storage(d, 0);
	bs = bh_open_ok(&cs);
	ck_assert_str_eq(bs->ops->name, "block");
	ck_assert_uint_eq(bs->size, DEV_SIZE);
	ck_assert_uint_eq(bs->block_size, d->sector);
	ck_assert_uint_ge(bs->phys_block_size, d->sector);
	ck_assert(!bs->read_only);
	ck_assert_int_ge(bs->fd, 0);
	ck_assert(bs->caps & BS_CAP_FLUSH);
	ck_assert(bs->caps & BS_CAP_ZEROES);
	/* loop devices discard (punch holes) and write zeroes */
	ck_assert(bs->caps & BS_CAP_UNMAP);
	ck_assert(bs->caps & BS_CAP_UNMAP_ZERO);
	ck_assert(!(bs->caps & BS_CAP_SEEK_HOLE));
	ck_assert_int_eq(backstore_lba_status(bs, 0, &(uint64_t){ 4096 },
	    &(bool){ false }), -EOPNOTSUPP);
	backstore_put(bs);

	/* the matching block size is accepted */
	cs = storage(d, d->sector);
	bs = bh_open_ok(&cs);
	ck_assert_uint_eq(bs->block_size, d->sector);
	backstore_put(bs);

	/* fully provisioned: no UNMAP */
	cs = storage(d, 0);
	cs.thin = false;
	bs = bh_open_ok(&cs);
	ck_assert(!(bs->caps & BS_CAP_UNMAP));
	ck_assert(!(bs->caps & BS_CAP_UNMAP_ZERO));
	ck_assert(bs->caps & BS_CAP_ZEROES);
	backstore_put(bs);

	/* a smaller configured size exports a prefix */
	cs = storage(d, 0);
	cs.size = DEV_SIZE / 2;
	bs = bh_open_ok(&cs);
	ck_assert_uint_eq(bs->size, DEV_SIZE / 2);
	backstore_put(bs);
}
END_TEST

START_TEST(test_open_errors)
{
	struct conf_storage cs;
	char path[160];
	int fd;

	/* block size mismatch, both ways */
	cs = storage(&devs[0], 4096);
	ck_assert_int_eq(open_err(&cs), -EINVAL);
	cs = storage(&devs[1], 512);
	ck_assert_int_eq(open_err(&cs), -EINVAL);
	/* larger than the device */
	cs = storage(&devs[0], 0);
	cs.size = DEV_SIZE + 512;
	ck_assert_int_eq(open_err(&cs), -EINVAL);
	/* missing device */
	cs = storage(&devs[0], 0);
	cs.dev = (char *)"/dev/tpcd-no-such-device";
	ck_assert_int_eq(open_err(&cs), -ENOENT);
	/* not block devices: a character device, a file, a directory */
	cs.dev = (char *)"/dev/null";
	ck_assert_int_eq(open_err(&cs), -ENOTBLK);
	snprintf(path, sizeof(path), "%s/plain", tdir);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 1 << 20), 0);
	close(fd);
	cs.dev = path;
	ck_assert_int_eq(open_err(&cs), -ENOTBLK);
	unlink(path);
	cs.dev = tdir;
	ck_assert_int_eq(open_err(&cs), -ENOTBLK);
	/* no path at all */
	cs.dev = NULL;
	ck_assert_int_eq(open_err(&cs), -EINVAL);
}
END_TEST

/* --- data --- */

#define BIGLEN	(2u * 1024 * 1024 + 3 * 4096)

/* _i: bit 0 = pool, bit 1 = 4096-byte device */
START_TEST(test_rw_aligned)
{
	const struct loopdev *d = &devs[(_i >> 1) & 1];
	struct conf_storage cs;
	struct backstore *bs;
	struct iovec wv[3], rv[2];
	struct bs_io w, fl, r, *ios[2];
	uint8_t *wbuf, *rbuf, *fbuf;
	uint64_t off = 1024 * 1024 + 4096;

	bh_mode_setup(_i & 1);
	cs = storage(d, 0);
	bs = bh_open_ok(&cs);
	wbuf = bh_aligned_buf(BIGLEN);
	rbuf = bh_aligned_buf(BIGLEN);
	fbuf = malloc(BIGLEN);
	bh_fill_pattern(wbuf, BIGLEN, 21 + (unsigned int)_i);
	memset(rbuf, 0, BIGLEN);
	/* page-aligned segments of whole blocks: no bounce */
	wv[0].iov_base = wbuf;
	wv[0].iov_len = 4096;
	wv[1].iov_base = wbuf + 4096;
	wv[1].iov_len = 1024 * 1024;
	wv[2].iov_base = wbuf + 4096 + 1024 * 1024;
	wv[2].iov_len = BIGLEN - 4096 - 1024 * 1024;
	rv[0].iov_base = rbuf;
	rv[0].iov_len = 8192;
	rv[1].iov_base = rbuf + 8192;
	rv[1].iov_len = BIGLEN - 8192;
	bh_io_init(&w, BS_WRITE, off, BIGLEN, wv, 3);
	w.flags = BS_IO_FUA;
	bh_io_init(&fl, BS_FLUSH, 0, 0, NULL, 0);
	ios[0] = &w;
	ios[1] = &fl;
	ck_assert_int_eq(bh_run_io(bs, ios, 2), 0);
	ck_assert_int_eq(bh_res(0), 0);
	ck_assert_int_eq(bh_res(1), 0);
	bh_io_init(&r, BS_READ, off, 0, rv, 2);
	ck_assert_int_eq(bh_run_one(bs, &r), 0);
	ck_assert_uint_eq(r.len, BIGLEN);
	ck_assert_int_eq(memcmp(wbuf, rbuf, BIGLEN), 0);
	/* the backing file has it */
	file_read(d, off, fbuf, BIGLEN);
	ck_assert_int_eq(memcmp(wbuf, fbuf, BIGLEN), 0);
	free(wbuf);
	free(rbuf);
	free(fbuf);
	backstore_put(bs);
	bh_mode_teardown();
}
END_TEST

/* _i: bit 0 = pool, bit 1 = 4096-byte device */
START_TEST(test_rw_unaligned)
{
	const struct loopdev *d = &devs[(_i >> 1) & 1];
	uint32_t bsz = d->sector;
	struct conf_storage cs;
	struct backstore *bs;
	struct iovec wv[4], rv[3];
	struct bs_io w, r;
	uint8_t *wmem, *rmem, *wbuf, *rbuf, *fbuf;
	size_t len = 64 * bsz, part;
	uint64_t off = 3 * 1024 * 1024;

	bh_mode_setup(_i & 1);
	cs = storage(d, 0);
	bs = bh_open_ok(&cs);
	/* odd addresses and segment lengths: bounced */
	wmem = malloc(len + 1);
	rmem = malloc(len + 3);
	fbuf = malloc(len);
	wbuf = wmem + 1;
	rbuf = rmem + 3;
	bh_fill_pattern(wbuf, len, 77 + (unsigned int)_i);
	memset(rbuf, 0xee, len);
	part = len / 4;
	wv[0].iov_base = wbuf;
	wv[0].iov_len = 100;
	wv[1].iov_base = wbuf + 100;
	wv[1].iov_len = part - 100;
	wv[2].iov_base = wbuf + part;
	wv[2].iov_len = 0;
	wv[3].iov_base = wbuf + part;
	wv[3].iov_len = len - part;
	rv[0].iov_base = rbuf;
	rv[0].iov_len = 7;
	rv[1].iov_base = rbuf + 7;
	rv[1].iov_len = len / 2;
	rv[2].iov_base = rbuf + 7 + len / 2;
	rv[2].iov_len = len - 7 - len / 2;
	bh_io_init(&w, BS_WRITE, off, 0, wv, 4);
	w.flags = BS_IO_FUA;
	ck_assert_int_eq(bh_run_one(bs, &w), 0);
	bh_io_init(&r, BS_READ, off, 0, rv, 3);
	ck_assert_int_eq(bh_run_one(bs, &r), 0);
	ck_assert_int_eq(memcmp(wbuf, rbuf, len), 0);
	file_read(d, off, fbuf, len);
	ck_assert_int_eq(memcmp(wbuf, fbuf, len), 0);

	/* a read off the block grid is widened, then trimmed */
	memset(rbuf, 0xee, len);
	ck_assert_int_eq(bh_rw(bs, BS_READ, 0, off + 100, rbuf, 1000), 0);
	ck_assert_int_eq(memcmp(wbuf + 100, rbuf, 1000), 0);
	ck_assert_int_eq(rbuf[1000], 0xee);
	/* ending on the last byte of the device */
	ck_assert_int_eq(bh_rw(bs, BS_READ, 0, bs->size - 5, rbuf, 5), 0);
	/* writes off the grid: read-modify-write of the blocks touched */
	memset(rbuf, 0x5a, 3 * bsz);
	ck_assert_int_eq(bh_rw(bs, BS_WRITE, BS_IO_FUA, off + 100, rbuf,
	    200), 0);
	memset(wbuf + 100, 0x5a, 200);
	ck_assert_int_eq(bh_rw(bs, BS_WRITE, 0, off + bsz - 1, rbuf,
	    bsz + 2), 0);
	memset(wbuf + bsz - 1, 0x5a, bsz + 2);
	ck_assert_int_eq(bh_rw(bs, BS_WRITE, 0, off + 4 * bsz, rbuf, 7), 0);
	memset(wbuf + 4 * bsz, 0x5a, 7);
	file_read(d, off, fbuf, len);
	ck_assert_int_eq(memcmp(wbuf, fbuf, len), 0);
	memset(rbuf, 0, len);
	ck_assert_int_eq(bh_rw(bs, BS_READ, 0, off, rbuf, len), 0);
	ck_assert_int_eq(memcmp(wbuf, rbuf, len), 0);
	/* zero-length I/O completes */
	ck_assert_int_eq(bh_rw(bs, BS_READ, 0, off, rbuf, 0), 0);
	ck_assert_int_eq(bh_rw(bs, BS_WRITE, 0, off, wbuf, 0), 0);
	/* out of range */
	ck_assert_int_eq(bh_rw(bs, BS_READ, 0, bs->size, rbuf, bsz),
	    -ERANGE);
	free(wmem);
	free(rmem);
	free(fbuf);
	backstore_put(bs);
	bh_mode_teardown();
}
END_TEST

/* Many tiny segments (more than one readv may take): bounced. */
START_TEST(test_rw_many_segments)
{
	const struct loopdev *d = &devs[0];
	enum { NSEG = 2048 };
	struct conf_storage cs;
	struct backstore *bs;
	struct iovec *v;
	struct bs_io io;
	uint8_t *wbuf, *rbuf;
	size_t len = NSEG * 512;
	int i;

	bh_mode_setup(_i & 1);
	cs = storage(d, 0);
	bs = bh_open_ok(&cs);
	wbuf = bh_aligned_buf(len);
	rbuf = bh_aligned_buf(len);
	v = calloc(NSEG, sizeof(*v));
	bh_fill_pattern(wbuf, len, 5);
	for (i = 0; i < NSEG; i++) {
		v[i].iov_base = wbuf + (size_t)i * 512;
		v[i].iov_len = 512;
	}
	bh_io_init(&io, BS_WRITE, 8 << 20, 0, v, NSEG);
	ck_assert_int_eq(bh_run_one(bs, &io), 0);
	for (i = 0; i < NSEG; i++)
		v[i].iov_base = rbuf + (size_t)i * 512;
	bh_io_init(&io, BS_READ, 8 << 20, 0, v, NSEG);
	ck_assert_int_eq(bh_run_one(bs, &io), 0);
	ck_assert_int_eq(memcmp(wbuf, rbuf, len), 0);
	free(v);
	free(wbuf);
	free(rbuf);
	backstore_put(bs);
	bh_mode_teardown();
}
END_TEST

/* --- zeroes and unmap --- */

static long
file_blocks(const struct loopdev *d)
{
	struct stat st;

	ck_assert_int_eq(stat(d->file, &st), 0);
	return (long)st.st_blocks;
}

/* _i: 0 = 512, 1 = 4096 */
START_TEST(test_zeroes_unmap)
{
	const struct loopdev *d = &devs[_i];
	struct conf_storage cs;
	struct backstore *bs;
	size_t len = 1024 * 1024;
	uint64_t off = 4 << 20;
	uint8_t *buf, *fbuf;
	long before, after;
	int fd;

	bh_mode_setup(false);
	cs = storage(d, 0);
	bs = bh_open_ok(&cs);
	buf = bh_aligned_buf(len);
	fbuf = malloc(len);

	/* WRITE ZEROES over data */
	bh_fill_pattern(buf, len, 9);
	ck_assert_int_eq(bh_rw(bs, BS_WRITE, 0, off, buf, len), 0);
	ck_assert_int_eq(bh_range(bs, BS_WRITE_ZEROES, off + 4096,
	    len - 8192), 0);
	memset(buf, 0xaa, len);
	ck_assert_int_eq(bh_rw(bs, BS_READ, 0, off, buf, len), 0);
	ck_assert(!bh_is_zero(buf, 4096));
	ck_assert(bh_is_zero(buf + 4096, len - 8192));
	ck_assert(!bh_is_zero(buf + len - 4096, 4096));
	file_read(d, off + 4096, fbuf, len - 8192);
	ck_assert(bh_is_zero(fbuf, len - 8192));

	/* UNMAP: deallocates (a hole in the backing file), reads zeroes */
	bh_fill_pattern(buf, len, 10);
	ck_assert_int_eq(bh_rw(bs, BS_WRITE, BS_IO_FUA, off, buf, len), 0);
	fd = open(d->file, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fsync(fd), 0);
	before = file_blocks(d);
	ck_assert_int_eq(bh_range(bs, BS_UNMAP, off, len), 0);
	ck_assert_int_eq(fsync(fd), 0);
	after = file_blocks(d);
	ck_assert_msg(after < before, "blocks %ld -> %ld", before, after);
	ck_assert_int_eq(lseek(fd, (off_t)off, SEEK_HOLE), (off_t)off);
	close(fd);
	memset(buf, 0xaa, len);
	ck_assert_int_eq(bh_rw(bs, BS_READ, 0, off, buf, len), 0);
	ck_assert(bh_is_zero(buf, len));
	/* FUA variants, empty ranges, the grid */
	ck_assert_int_eq(bh_range(bs, BS_UNMAP, 0, 0), 0);
	ck_assert_int_eq(bh_range(bs, BS_WRITE_ZEROES, 0, 0), 0);
	if (d->sector > 512)
		ck_assert_int_eq(bh_range(bs, BS_WRITE_ZEROES, 512, 512),
		    -EINVAL);
	ck_assert_int_eq(bh_range(bs, BS_WRITE_ZEROES, bs->size - d->sector,
	    d->sector), 0);
	ck_assert_int_eq(bh_range(bs, BS_UNMAP, bs->size - d->sector,
	    2 * d->sector), -ERANGE);
	free(buf);
	free(fbuf);
	backstore_put(bs);

	/* fully provisioned: UNMAP is not offered */
	cs.thin = false;
	bs = bh_open_ok(&cs);
	ck_assert_int_eq(bh_range(bs, BS_UNMAP, off, 4096), -EOPNOTSUPP);
	backstore_put(bs);
	bh_mode_teardown();
}
END_TEST

/* --- read-only device --- */

START_TEST(test_read_only)
{
	const struct loopdev *d = &devs[2];
	struct conf_storage cs;
	struct backstore *bs;
	uint8_t *buf;

	bh_mode_setup(false);
	ck_assert(d->ro);
	cs = storage(d, 0);	/* not configured read-only */
	bs = bh_open_ok(&cs);
	ck_assert(bs->read_only);
	ck_assert(!(bs->caps & (BS_CAP_UNMAP | BS_CAP_ZEROES)));
	buf = bh_aligned_buf(4096);
	ck_assert_int_eq(bh_rw(bs, BS_READ, 0, 0, buf, 4096), 0);
	ck_assert(bh_is_zero(buf, 4096));
	ck_assert_int_eq(bh_rw(bs, BS_WRITE, 0, 0, buf, 4096), -EROFS);
	ck_assert_int_eq(bh_range(bs, BS_FLUSH, 0, 0), -EROFS);
	ck_assert_int_eq(bh_range(bs, BS_WRITE_ZEROES, 0, 4096),
	    -EOPNOTSUPP);
	backstore_put(bs);

	/* configured read-only on a writable device */
	cs = storage(&devs[0], 0);
	cs.read_only = true;
	bs = bh_open_ok(&cs);
	ck_assert(bs->read_only);
	ck_assert_int_eq(bh_rw(bs, BS_READ, 0, 0, buf, 4096), 0);
	ck_assert_int_eq(bh_rw(bs, BS_WRITE, 0, 0, buf, 4096), -EROFS);
	free(buf);
	backstore_put(bs);
	bh_mode_teardown();
}
END_TEST

/* --- errors --- */

START_TEST(test_inject_error)
{
	struct conf_storage cs;
	struct backstore *bs;
	uint8_t *buf;

	bh_mode_setup(_i & 1);
	cs = storage(&devs[0], 0);
	bs = bh_open_ok(&cs);
	buf = bh_aligned_buf(8192);
	bh_fill_pattern(buf, 8192, 3);
	backstore_inject_error(bs, 2, EIO);
	ck_assert_int_eq(bh_rw(bs, BS_WRITE, 0, 0, buf, 8192), 0);
	ck_assert_int_eq(bh_rw(bs, BS_READ, 0, 0, buf, 8192), -EIO);
	ck_assert_int_eq(bh_rw(bs, BS_READ, 0, 0, buf, 8192), 0);
	backstore_inject_error(bs, 1, -ENOSPC);
	ck_assert_int_eq(bh_range(bs, BS_UNMAP, 0, 8192), -ENOSPC);
	backstore_inject_error(bs, 1, EIO);
	ck_assert_int_eq(bh_rw(bs, BS_WRITE, 0, 1, buf + 1, 512), -EIO);
	ck_assert_int_eq(bh_rw(bs, BS_WRITE, 0, 512, buf + 1, 512), 0);
	free(buf);
	backstore_put(bs);
	bh_mode_teardown();
}
END_TEST

/* The bounce path allocates: a failure there is -ENOMEM, nothing leaks. */
START_TEST(test_alloc_failure)
{
	struct conf_storage cs;
	struct backstore *bs;
	uint8_t *mem;
	int rc;

	bh_mode_setup(_i & 1);
	cs = storage(&devs[0], 0);
	bs = bh_open_ok(&cs);
	mem = malloc(4096 + 1);
	memset(mem, 1, 4097);
	bh_fail_after(1);
	rc = bh_rw(bs, BS_WRITE, 0, 0, mem + 1, 4096);
	ck_assert_int_eq(rc, -ENOMEM);
	bh_fail_after(1);
	rc = bh_rw(bs, BS_READ, 0, 0, mem + 1, 4096);
	ck_assert_int_eq(rc, -ENOMEM);
	/* later allocations may fail or not: either way a clean answer */
	for (unsigned long n = 2; n < 6; n++) {
		bh_fail_after(n);
		rc = bh_rw(bs, BS_WRITE, 0, 0, mem + 1, 4096);
		ck_assert(rc == 0 || rc == -ENOMEM);
	}
	free(mem);
	backstore_put(bs);
	bh_mode_teardown();

	/* open: every allocation on the way */
	for (unsigned long n = 1; n < 8; n++) {
		int err = 0;

		xmalloc_fail_after(n);
		bs = backstore_open(&cs, &err);
		xmalloc_fail_after(0);
		ck_assert(bs != NULL || err == -ENOMEM);
		backstore_put(bs);
	}
}
END_TEST

/* --- copy() --- */

START_TEST(test_copy_hook)
{
	struct conf_storage cs;
	struct backstore *src, *dst;
	struct bs_extent ext;
	struct bs_io io;
	uint8_t *buf, *rbuf;
	size_t len = 256 * 1024;
	int rc;

	bh_mode_setup(false);
	cs = storage(&devs[0], 0);
	src = bh_open_ok(&cs);
	cs = storage(&devs[1], 0);
	cs.name = (char *)"blk1";
	dst = bh_open_ok(&cs);
	ck_assert_ptr_nonnull(dst->ops->copy);
	buf = bh_aligned_buf(len);
	rbuf = bh_aligned_buf(len);
	bh_fill_pattern(buf, len, 33);
	ck_assert_int_eq(bh_rw(src, BS_WRITE, 0, 1 << 20, buf, len), 0);

	ext.src_off = 1 << 20;
	ext.dst_off = 2 << 20;
	ext.len = len;
	/* nothing to clone between block devices */
	memset(&io, 0, sizeof(io));
	io.flags = BS_IO_CLONE;
	ck_assert_int_eq(bh_copy_one(dst, src, &ext, &io), -EOPNOTSUPP);
	/* copy_file_range: done, or refused so the engine falls back */
	memset(&io, 0, sizeof(io));
	io.flags = BS_IO_FUA;
	rc = bh_copy_one(dst, src, &ext, &io);
	ck_assert_msg(rc == 0 || rc == -EINVAL || rc == -EXDEV ||
	    rc == -EOPNOTSUPP, "copy: %s", strerror(-rc));
	if (rc == 0) {
		ck_assert_int_eq(bh_rw(dst, BS_READ, 0, 2 << 20, rbuf, len),
		    0);
		ck_assert_int_eq(memcmp(buf, rbuf, len), 0);
	}
	/* range checks come first */
	ext.dst_off = dst->size;
	memset(&io, 0, sizeof(io));
	ck_assert_int_eq(bh_copy_one(dst, src, &ext, &io), -ERANGE);
	free(buf);
	free(rbuf);
	backstore_put(src);
	backstore_put(dst);
	bh_mode_teardown();
}
END_TEST

static Suite *
bs_block_suite(void)
{
	Suite *s = suite_create("bs_block");
	TCase *tc;

	tc = tcase_create("open");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_geometry, 0, 2);
	tcase_add_test(tc, test_open_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("io");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_rw_aligned, 0, 4);
	tcase_add_loop_test(tc, test_rw_unaligned, 0, 4);
	tcase_add_loop_test(tc, test_rw_many_segments, 0, 2);
	tcase_add_loop_test(tc, test_zeroes_unmap, 0, 2);
	tcase_add_test(tc, test_read_only);
	tcase_add_loop_test(tc, test_inject_error, 0, 2);
	tcase_add_loop_test(tc, test_alloc_failure, 0, 2);
	tcase_add_test(tc, test_copy_hook);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	const char *why;
	SRunner *sr;
	int failed;

	log_init(false, LOG_LVL_ERR);
	why = loopdevs_setup();
	if (why != NULL) {
		printf("SKIP: block backstore tests need loop devices: %s\n",
		    why);
		return 77;
	}
	sr = srunner_create(bs_block_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	loopdevs_detach();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
