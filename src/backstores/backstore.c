/*
 * backstore.c - plugin lookup, open/refcount and the submit wrapper every
 * I/O goes through.
 *
 * The wrapper checks what every plugin would otherwise check: the range
 * against the size (with overflow), READ/WRITE length against the iovec,
 * writes to a read-only store (-EROFS), unsupported operations
 * (-EOPNOTSUPP), and it applies fault injection.  An injected error is
 * delivered like a real one: asynchronously, through done() on io->loop.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backstore.h"
#include "conf.h"
#include "log.h"
#include "loop.h"
#include "util.h"

static const struct backstore_ops *const backstore_plugins[] = {
	&bs_file_ops,
	&bs_block_ops,
	&bs_nvme_ops,
	&bs_mem_ops,
};

const struct backstore_ops *
backstore_ops_find(const char *plugin)
{
	size_t i;

	if (plugin == NULL)
		return NULL;
	for (i = 0; i < ARRAY_SIZE(backstore_plugins); i++)
		if (strcmp(backstore_plugins[i]->name, plugin) == 0)
			return backstore_plugins[i];
	return NULL;
}

static void
backstore_free(struct backstore *bs)
{
	free(bs->name);
	free(bs->path);
	free(bs);
}

struct backstore *
backstore_open(const struct conf_storage *cs, int *err)
{
	const struct backstore_ops *ops;
	struct backstore *bs;
	int rc;

	*err = 0;
	ops = backstore_ops_find(cs->plugin);
	if (ops == NULL) {
		log_err("storage %s: unknown plugin '%s'",
		    cs->name ? cs->name : "?", cs->plugin ? cs->plugin : "");
		*err = -EOPNOTSUPP;
		return NULL;
	}
	if (cs->block_size != 0 && cs->block_size != 512 &&
	    cs->block_size != 4096) {
		log_err("storage %s: block size %u not supported",
		    cs->name ? cs->name : "?", cs->block_size);
		*err = -EINVAL;
		return NULL;
	}
	bs = xcalloc(1, sizeof(*bs));
	if (bs == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	bs->ops = ops;
	bs->fd = -1;
	bs->refcnt = 1;
	bs->block_size = cs->block_size ? cs->block_size : 512;
	bs->phys_block_size = bs->block_size;
	bs->write_back = cs->write_back;
	bs->read_only = cs->read_only;
	bs->caps = ops->caps;
	bs->name = xstrdup(cs->name ? cs->name : "");
	if (bs->name == NULL || (cs->dev != NULL &&
	    (bs->path = xstrdup(cs->dev)) == NULL)) {
		backstore_free(bs);
		*err = -ENOMEM;
		return NULL;
	}
	rc = ops->open(bs, cs);
	if (rc == 0 && bs->size < bs->block_size) {
		log_err("storage %s: size %llu is below one block",
		    bs->name, (unsigned long long)bs->size);
		ops->close(bs);
		rc = -EINVAL;
	}
	if (rc != 0) {
		backstore_free(bs);
		*err = rc;
		return NULL;
	}
	/* Whole logical blocks only. */
	bs->size -= bs->size % bs->block_size;
	log_dbg("storage %s: %s, %llu bytes, block %u/%u, caps %#x",
	    bs->name, ops->name, (unsigned long long)bs->size,
	    bs->block_size, bs->phys_block_size, bs->caps);
	return bs;
}

void
backstore_get(struct backstore *bs)
{
	__atomic_add_fetch(&bs->refcnt, 1, __ATOMIC_RELAXED);
}

void
backstore_put(struct backstore *bs)
{
	if (bs == NULL)
		return;
	if (__atomic_sub_fetch(&bs->refcnt, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	bs->ops->close(bs);
	backstore_free(bs);
}

void
backstore_inject_error(struct backstore *bs, unsigned long n, int err)
{
	if (err > 0)
		err = -err;
	if (err == 0)
		err = -EIO;
	__atomic_store_n(&bs->inject_err, err, __ATOMIC_RELAXED);
	__atomic_store_n(&bs->inject_after, n, __ATOMIC_RELEASE);
}

/* True once, on the n-th I/O after backstore_inject_error(). */
static bool
backstore_inject_hit(struct backstore *bs)
{
	unsigned long cur;

	cur = __atomic_load_n(&bs->inject_after, __ATOMIC_ACQUIRE);
	while (cur != 0) {
		if (__atomic_compare_exchange_n(&bs->inject_after, &cur,
		    cur - 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return cur == 1;
	}
	return false;
}

static void
backstore_injected_done(void *arg)
{
	struct bs_io *io = arg;

	io->done(io, (int)io->lio.res);
}

static int
backstore_check(struct backstore *bs, struct bs_io *io)
{
	uint64_t sum = 0;
	int i;

	switch (io->op) {
	case BS_READ:
	case BS_WRITE:
		if (io->iovcnt < 0 || (io->iovcnt > 0 && io->iov == NULL))
			return -EINVAL;
		for (i = 0; i < io->iovcnt; i++) {
			if (sum + io->iov[i].iov_len < sum)
				return -EINVAL;
			sum += io->iov[i].iov_len;
		}
		if (io->len == 0)
			io->len = sum;
		else if (io->len != sum)
			return -EINVAL;
		break;
	case BS_FLUSH:
		if (!(bs->caps & BS_CAP_FLUSH))
			return -EOPNOTSUPP;
		return bs->read_only ? -EROFS : 0;
	case BS_UNMAP:
		if (!(bs->caps & BS_CAP_UNMAP))
			return -EOPNOTSUPP;
		break;
	case BS_WRITE_ZEROES:
		if (!(bs->caps & BS_CAP_ZEROES))
			return -EOPNOTSUPP;
		break;
	default:
		return -EINVAL;
	}
	if (io->op != BS_READ && bs->read_only)
		return -EROFS;
	if (io->offset + io->len < io->offset ||
	    io->offset + io->len > bs->size)
		return -ERANGE;
	return 0;
}

int
backstore_submit(struct backstore *bs, struct bs_io *io)
{
	int rc;

	if (bs == NULL || io == NULL || io->done == NULL || io->loop == NULL)
		return -EINVAL;
	rc = backstore_check(bs, io);
	if (rc != 0)
		return rc;
	io->_bs = bs;
	if (backstore_inject_hit(bs)) {
		io->lio.res = __atomic_load_n(&bs->inject_err,
		    __ATOMIC_RELAXED);
		return loop_post(io->loop, backstore_injected_done, io);
	}
	return bs->ops->submit(bs, io);
}
