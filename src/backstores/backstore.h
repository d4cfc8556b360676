/*
 * backstore.h - storage behind a logical unit.
 *
 * A backstore is bytes at offsets: it knows nothing of SCSI.  Every call
 * returns 0 or -errno; the SCSI layer maps errno to sense in exactly one
 * place (sense_from_errno()).  I/O is asynchronous: submit() queues a
 * struct bs_io on the caller's loop and io->done() runs later on the same
 * loop.  copy() is an optional offload hook (reflink, copy_file_range,
 * NVMe Copy) that may answer -EOPNOTSUPP/-EXDEV/-EINVAL, after which the
 * caller falls back to reads and writes.
 *
 * Plugins: "fileio" (bs_file), "block" (bs_block), "mem" (bs_mem,
 * tests), "nvme" (bs_nvme: a namespace, with NVMe Copy).  One struct backstore per storage object, owned
 * by the LUN registry and shared (refcounted) by every LUN that maps it.
 */
#ifndef TPCD_BACKSTORE_H
#define TPCD_BACKSTORE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "loop.h"

struct backstore;
struct conf_storage;

enum bs_op {
	BS_READ,
	BS_WRITE,
	BS_FLUSH,		/* make earlier writes durable */
	BS_UNMAP,		/* deallocate offset/len (punch hole) */
	BS_WRITE_ZEROES,	/* offset/len read back as zero */
};

#define BS_IO_FUA	0x1	/* write: durable before done */
#define BS_IO_CLONE	0x2	/* copy(): share blocks (reflink) or fail */

#define BS_CAP_UNMAP	0x01
#define BS_CAP_COPY	0x02	/* copy() may succeed */
#define BS_CAP_ZEROES	0x04
#define BS_CAP_FLUSH	0x08
#define BS_CAP_SEEK_HOLE 0x10	/* can report mapped / deallocated ranges */
#define BS_CAP_UNMAP_ZERO 0x20	/* unmapped ranges read back as zeroes */

struct bs_io {
	enum bs_op	 op;
	unsigned int	 flags;		/* BS_IO_* */
	uint64_t	 offset;	/* bytes */
	uint64_t	 len;		/* bytes (READ/WRITE: sum of iov) */
	struct iovec	*iov;		/* borrowed */
	int		 iovcnt;
	struct loop	*loop;		/* where done() runs */
	void		(*done)(struct bs_io *, int res);  /* res: 0 or -errno */
	void		*priv;
	/* private to the backstore */
	struct loop_io	 lio;
	struct backstore *_bs;
};

/* What a copy() hook does, for the copy engine's choice of path and
 * counters (struct backstore_ops.copy_kind). */
enum bs_copy_kind {
	BS_COPY_FILE = 0,	/* reflink (BS_IO_CLONE) / copy_file_range */
	BS_COPY_NVME,		/* NVMe Copy inside one namespace; a failure
				   other than -EOPNOTSUPP/-EXDEV/-EINVAL is
				   the device's and ends the copy */
};

struct bs_extent {
	uint64_t	src_off;
	uint64_t	dst_off;
	uint64_t	len;
};

struct backstore_ops {
	const char	*name;
	int	(*open)(struct backstore *, const struct conf_storage *);
	void	(*close)(struct backstore *);
	int	(*submit)(struct backstore *, struct bs_io *);
	/* Optional: copy an extent from src to dst (same or other bs). */
	int	(*copy)(struct backstore *dst, struct backstore *src,
		    const struct bs_extent *, struct bs_io *);
	/*
	 * Optional (BS_CAP_SEEK_HOLE): provisioning state at byte off.  On
	 * entry *len is how far to look (> 0); on return *len is the length
	 * (> 0, <= the entry value) of the extent at off that is all
	 * *mapped (true: allocated, false: deallocated).  May block
	 * (lseek): call it from the pool.  Returns 0 or -errno.
	 */
	int	(*lba_status)(struct backstore *, uint64_t off, uint64_t *len,
		    bool *mapped);
	uint32_t caps;
	enum bs_copy_kind copy_kind;	/* of copy(); 0 = BS_COPY_FILE */
};

struct backstore {
	const struct backstore_ops *ops;
	char		*name;		/* storage object name */
	char		*path;		/* dev */
	uint64_t	 size;		/* bytes */
	uint32_t	 block_size;	/* logical */
	uint32_t	 phys_block_size;
	bool		 write_back;	/* cache mode advertised (WCE) */
	bool		 read_only;
	int		 fd;		/* -1 when not file based */
	uint32_t	 caps;		/* ops->caps refined at open */
	void		*priv;
	int		 refcnt;	/* atomic; see bs_get/bs_put */
	/* private to backstore.c: fault injection (atomic) */
	unsigned long	 inject_after;
	int		 inject_err;
};

/* Look up the ops for a plugin name ("fileio", "mem", ...). */
const struct backstore_ops *backstore_ops_find(const char *plugin);

/* Create and open from config; NULL and *err = -errno on failure. */
struct backstore *backstore_open(const struct conf_storage *, int *err);
void	backstore_get(struct backstore *);
void	backstore_put(struct backstore *);	/* closes at zero */
int	backstore_submit(struct backstore *, struct bs_io *);

/* Fault injection for tests (bs_mem and bs_file): the n-th I/O of any
 * kind from now (n = 1: the next one) fails once with err (-errno or
 * errno; done() gets -errno, asynchronously).  n = 0 disables. */
void	backstore_inject_error(struct backstore *, unsigned long n, int err);

/* ops->lba_status with the range checked; -EOPNOTSUPP without one. */
static inline int
backstore_lba_status(struct backstore *bs, uint64_t off, uint64_t *len,
    bool *mapped)
{
	if (bs->ops->lba_status == NULL || !(bs->caps & BS_CAP_SEEK_HOLE))
		return -EOPNOTSUPP;
	if (*len == 0 || off >= bs->size)
		return -ERANGE;
	if (*len > bs->size - off)
		*len = bs->size - off;
	return bs->ops->lba_status(bs, off, len, mapped);
}

extern const struct backstore_ops bs_file_ops;
/* The fileio copy() hook (bs_file_copy.c): FICLONERANGE with BS_IO_CLONE,
 * else copy_file_range(); runs on the pool, done() on io->loop. */
int	bs_file_copy(struct backstore *dst, struct backstore *src,
	    const struct bs_extent *, struct bs_io *);
extern const struct backstore_ops bs_mem_ops;
/* "block": a block device or partition, O_DIRECT (bs_block.c). */
extern const struct backstore_ops bs_block_ops;
/* "nvme": an NVMe namespace, /dev/nvmeXnY or /dev/ngXnY (bs_nvme.c). */
extern const struct backstore_ops bs_nvme_ops;

#endif
