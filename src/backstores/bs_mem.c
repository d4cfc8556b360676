/*
 * bs_mem.c - "mem": a RAM-backed backstore for tests and demos.
 *
 * The store is an anonymous private mapping (MAP_NORESERVE), so a large
 * configured size costs only what is written; UNMAP gives pages back with
 * MADV_DONTNEED, after which they read as zeroes, just like a punched
 * hole.  Every operation is carried out in a message posted to io->loop,
 * so completions are always asynchronous (callers must never see done()
 * from inside submit()) and a failed post leaves the data untouched.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backstore.h"
#include "conf.h"
#include "log.h"
#include "loop.h"
#include "util.h"

struct bs_mem {
	uint8_t		*base;
	size_t		 len;
};

static int
bs_mem_open(struct backstore *bs, const struct conf_storage *cs)
{
	struct bs_mem *m;

	if (cs->size == 0 || cs->size > (uint64_t)SIZE_MAX / 2) {
		log_err("storage %s: mem needs a size", bs->name);
		return -EINVAL;
	}
	m = xcalloc(1, sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	m->len = (size_t)cs->size;
	m->base = mmap(NULL, m->len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->base == MAP_FAILED) {
		free(m);
		return -ENOMEM;
	}
	bs->priv = m;
	bs->size = cs->size;
	bs->phys_block_size = bs->block_size;
	bs->caps = BS_CAP_UNMAP | BS_CAP_ZEROES | BS_CAP_FLUSH;
	return 0;
}

static void
bs_mem_close(struct backstore *bs)
{
	struct bs_mem *m = bs->priv;

	if (m == NULL)
		return;
	munmap(m->base, m->len);
	free(m);
	bs->priv = NULL;
}

static void
bs_mem_copy_iov(struct bs_mem *m, struct bs_io *io, bool to_mem)
{
	uint8_t *p = m->base + io->offset;
	int i;

	for (i = 0; i < io->iovcnt; i++) {
		if (to_mem)
			memcpy(p, io->iov[i].iov_base, io->iov[i].iov_len);
		else
			memcpy(io->iov[i].iov_base, p, io->iov[i].iov_len);
		p += io->iov[i].iov_len;
	}
}

/* Give whole pages back, zero the partial ones at the edges. */
static void
bs_mem_discard(struct bs_mem *m, uint64_t off, uint64_t len)
{
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t a = (off + pg - 1) / pg * pg;
	uint64_t b = (off + len) / pg * pg;

	if (a >= b) {
		memset(m->base + off, 0, len);
		return;
	}
	memset(m->base + off, 0, a - off);
	if (madvise(m->base + a, b - a, MADV_DONTNEED) != 0)
		memset(m->base + a, 0, b - a);
	memset(m->base + b, 0, off + len - b);
}

static void
bs_mem_run(void *arg)
{
	struct bs_io *io = arg;
	struct bs_mem *m = io->_bs->priv;

	switch (io->op) {
	case BS_READ:
		bs_mem_copy_iov(m, io, false);
		break;
	case BS_WRITE:
		bs_mem_copy_iov(m, io, true);
		break;
	case BS_FLUSH:
		break;
	case BS_UNMAP:
	case BS_WRITE_ZEROES:
		bs_mem_discard(m, io->offset, io->len);
		break;
	}
	io->done(io, 0);
}

static int
bs_mem_submit(struct backstore *bs, struct bs_io *io)
{
	io->_bs = bs;
	return loop_post(io->loop, bs_mem_run, io);
}

const struct backstore_ops bs_mem_ops = {
	.name = "mem",
	.open = bs_mem_open,
	.close = bs_mem_close,
	.submit = bs_mem_submit,
	.copy = NULL,
	.caps = BS_CAP_UNMAP | BS_CAP_ZEROES | BS_CAP_FLUSH,
};
