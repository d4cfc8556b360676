/*
 * bs_mem.c - "mem": a RAM-backed backstore for tests and demos.
 *
 * The store is an anonymous private mapping (MAP_NORESERVE), so a large
 * configured size costs only what is written; UNMAP gives pages back with
 * MADV_DONTNEED, after which they read as zeroes, just like a punched
 * hole.  A bitmap with one bit per granule (a page, or more for stores so
 * large that the bitmap would pass 16 MiB) records what was written since
 * the granule was last discarded whole, and answers lba_status(): a
 * granule is mapped from its first write until an UNMAP or WRITE ZEROES
 * covers all of it.  Bits are updated atomically: several loops may write
 * the store at once.  Every operation is carried out in a message posted to io->loop,
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

#define BS_MEM_MAP_MAX_BITS	(1ull << 27)	/* 16 MiB of bitmap */

struct bs_mem {
	uint8_t		*base;
	size_t		 len;
	uint64_t	*map;		/* mapped granules (atomic words) */
	uint64_t	 ngran;
	unsigned int	 gshift;	/* log2(granule bytes) */
};

static void
bs_mem_map_set(struct bs_mem *m, uint64_t first, uint64_t last, bool on)
{
	uint64_t g, bit;

	for (g = first; g <= last && g < m->ngran; g++) {
		bit = 1ull << (g & 63);
		if (on) {
			if (!(__atomic_load_n(&m->map[g >> 6], __ATOMIC_RELAXED) &
			    bit))
				__atomic_fetch_or(&m->map[g >> 6], bit,
				    __ATOMIC_RELAXED);
		} else {
			__atomic_fetch_and(&m->map[g >> 6], ~bit,
			    __ATOMIC_RELAXED);
		}
	}
}

static bool
bs_mem_map_get(struct bs_mem *m, uint64_t g)
{
	return (__atomic_load_n(&m->map[g >> 6], __ATOMIC_RELAXED) >>
	    (g & 63)) & 1;
}

/* Every granule that [off, off + len) touches is mapped. */
static void
bs_mem_map_write(struct bs_mem *m, uint64_t off, uint64_t len)
{
	if (len == 0)
		return;
	bs_mem_map_set(m, off >> m->gshift, (off + len - 1) >> m->gshift,
	    true);
}

/* Granules [off, off + len) covers whole are deallocated. */
static void
bs_mem_map_discard(struct bs_mem *m, uint64_t off, uint64_t len)
{
	uint64_t gsz = 1ull << m->gshift;
	uint64_t a = (off + gsz - 1) >> m->gshift;
	uint64_t end = off + len;

	/* the last granule may be short: the store's end completes it */
	if (end == m->len)
		end = m->ngran << m->gshift;
	if ((end >> m->gshift) > a)
		bs_mem_map_set(m, a, (end >> m->gshift) - 1, false);
}

static int
bs_mem_lba_status(struct backstore *bs, uint64_t off, uint64_t *len,
    bool *mapped)
{
	struct bs_mem *m = bs->priv;
	uint64_t g = off >> m->gshift, end = off + *len, next;
	bool st = bs_mem_map_get(m, g);

	*mapped = st;
	for (next = g + 1; next < m->ngran && (next << m->gshift) < end;
	    next++) {
		/* skip whole words in the same state */
		if ((next & 63) == 0 && next + 64 <= m->ngran) {
			uint64_t w = __atomic_load_n(&m->map[next >> 6],
			    __ATOMIC_RELAXED);

			if (w == (st ? ~0ull : 0)) {
				next += 63;
				continue;
			}
		}
		if (bs_mem_map_get(m, next) != st)
			break;
	}
	if ((next << m->gshift) < end)
		*len = (next << m->gshift) - off;
	return 0;
}

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
	m->gshift = 12;
	while ((1ull << m->gshift) < (uint64_t)sysconf(_SC_PAGESIZE))
		m->gshift++;
	while (DIV_ROUND_UP((uint64_t)m->len, 1ull << m->gshift) >
	    BS_MEM_MAP_MAX_BITS)
		m->gshift++;
	m->ngran = DIV_ROUND_UP((uint64_t)m->len, 1ull << m->gshift);
	m->map = xcalloc(DIV_ROUND_UP(m->ngran, 64), sizeof(uint64_t));
	if (m->map == NULL) {
		free(m);
		return -ENOMEM;
	}
	m->base = mmap(NULL, m->len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->base == MAP_FAILED) {
		free(m->map);
		free(m);
		return -ENOMEM;
	}
	bs->priv = m;
	bs->size = cs->size;
	bs->phys_block_size = bs->block_size;
	bs->caps = BS_CAP_UNMAP | BS_CAP_ZEROES | BS_CAP_FLUSH |
	    BS_CAP_SEEK_HOLE | BS_CAP_UNMAP_ZERO;
	return 0;
}

static void
bs_mem_close(struct backstore *bs)
{
	struct bs_mem *m = bs->priv;

	if (m == NULL)
		return;
	munmap(m->base, m->len);
	free(m->map);
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
		bs_mem_map_write(m, io->offset, io->len);
		bs_mem_copy_iov(m, io, true);
		break;
	case BS_FLUSH:
		break;
	case BS_UNMAP:
	case BS_WRITE_ZEROES:
		bs_mem_discard(m, io->offset, io->len);
		bs_mem_map_discard(m, io->offset, io->len);
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
	.lba_status = bs_mem_lba_status,
	.caps = BS_CAP_UNMAP | BS_CAP_ZEROES | BS_CAP_FLUSH |
	    BS_CAP_SEEK_HOLE | BS_CAP_UNMAP_ZERO,
};
