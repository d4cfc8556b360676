/*
 * copy_engine.c - runs a struct copy_job (see copy_engine.h) as a state
 * machine on the job's loop.
 *
 * A job walks its steps in order.  Each step moves [lo, hi) of its byte
 * range in pieces through one of four modes:
 *
 *   OFFLOAD  the destination backstore's copy() hook on the blocking pool:
 *            reflink (BS_IO_CLONE, up to COPY_CLONE_PIECE per call),
 *            copy_file_range (COPY_CFR_PIECE per call) or NVMe Copy
 *            (COPY_NVME_PIECE), one piece at a time, holding the
 *            destination range lock for the piece.
 *   RW       up to COPY_MAX_INFLIGHT chunks of COPY_CHUNK_BYTES: read
 *            into a bounce buffer, take the destination range lock,
 *            write, release.  Chunk boundaries fall on multiples of the
 *            chunk size in the destination, so chunks are aligned to the
 *            physical block whenever the step is.
 *   DISCARD  a ZERO step: BS_UNMAP when the LU is thin and unmapped
 *            blocks read back zero (LBPRZ), else BS_WRITE_ZEROES.
 *   FILL     a ZERO step on a backstore without either: RW writes of a
 *            zeroed buffer.
 *
 * The path of a COPY step comes from the pair cache (copy_path.c):
 * reflink when the pair may clone and the step is aligned to the
 * filesystem block, then copy_file_range, then RW.  An offload answering
 * EOPNOTSUPP/EXDEV/EINVAL/ENOSYS marks the path NO for the pair and the
 * piece is redone by the next path; any other offload error redoes the
 * rest of the step with RW, which then reports exactly which side (read
 * or write) fails and where.
 *
 * NVMe (a destination whose ops->copy_kind is BS_COPY_NVME): every COPY
 * step tries NVMe Copy first (unless disabled by TPCD_COPY_DISABLE=nvme);
 * the hook itself answers -EXDEV for another namespace and -EOPNOTSUPP
 * for a controller that must not get Copy, cheaply and without I/O, so
 * there is nothing to cache.  Those fall back to RW and are counted.  Any
 * other error is the device failing a Copy it accepted: the job ends
 * with it (COPY ABORTED, the device's condition forwarded as the
 * destination's sense) instead of hiding it behind reads and writes.
 *
 * Overlap (same backstore, ranges overlap): memmove semantics.  The step
 * runs in RW, backwards by chunks when dst > src, and a chunk is written
 * only once every chunk before it (in processing order) has been read:
 * such a write can only cover source bytes of chunks at or before it.
 *
 * Abort and errors: job->abort is checked before every new chunk or
 * piece; chunks in flight finish (so each destination block holds old or
 * new data), then done() runs with -ECANCELED or the first error.  The
 * engine state is freed before done(), so copy_job_abort() never touches
 * it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "backstore.h"
#include "copy_engine.h"
#include "copy_int.h"
#include "log.h"
#include "loop.h"
#include "lun.h"
#include "lun_lock.h"
#include "scsi_int.h"
#include "sense.h"
#include "util.h"

#define COPY_CFR_PIECE		(64ull << 20)
#define COPY_CLONE_PIECE	(1ull << 30)
#define COPY_NVME_PIECE		(64ull << 20)
#define COPY_ZERO_PIECE		(256ull << 20)
#define COPY_BUF_ALIGN		4096
#define COPY_MAX_LUS		8	/* LUs counted per job */

enum copy_mode {
	MODE_RW,
	MODE_FILL,
	MODE_OFFLOAD,
	MODE_DISCARD,
};

enum slot_state {
	SLOT_FREE,
	SLOT_READ,
	SLOT_READ_DONE,
	SLOT_LOCK,
	SLOT_WRITE,
};

struct copy_eng;

struct copy_slot {
	struct copy_eng	*e;
	enum slot_state	 st;
	uint64_t	 seq;		/* processing order within the step */
	uint64_t	 rel;		/* offset within the step */
	uint64_t	 len;
	uint8_t		*buf;
	struct iovec	 iov;
	struct bs_io	 io;
	struct lun_lock_req lk;
	bool		 locked;
};

struct copy_eng {
	struct copy_job	*job;
	struct loop	*loop;
	unsigned int	 step;		/* current step index */
	bool		 active;	/* step started, not finished */
	const struct copy_step *s;
	enum copy_mode	 mode;
	enum copy_path	 path;		/* for the bytes counters */
	enum bs_op	 zero_op;
	bool		 backwards;
	bool		 ordered;	/* overlap: writes wait for reads */
	bool		 fua;
	uint64_t	 lo, hi;	/* not yet issued, within the step */
	uint64_t	 seq_next;
	unsigned int	 inflight;
	struct copy_pair pair;
	bool		 cfr_ok;	/* copy_file_range may be tried */
	uint64_t	 clone_lo;	/* [clone_lo, clone_hi): reflink; */
	uint64_t	 clone_hi;	/* the rest: copy_file_range */
	struct copy_slot slot[COPY_MAX_INFLIGHT];
	int		 err;
	struct lun	*lus[COPY_MAX_LUS];
	unsigned int	 n_lus;
	struct copy_eng	*reg_next;	/* running jobs, under eng_reg_lock */
};

/* Every running job (copy_job_start .. before done()), for resets. */
static pthread_mutex_t eng_reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct copy_eng *eng_reg;

static void	eng_kick(struct copy_eng *);
static void	slot_lock(struct copy_slot *);

static void
eng_reg_add(struct copy_eng *e)
{
	pthread_mutex_lock(&eng_reg_lock);
	e->reg_next = eng_reg;
	eng_reg = e;
	pthread_mutex_unlock(&eng_reg_lock);
}

static void
eng_reg_del(struct copy_eng *e)
{
	struct copy_eng **pp;

	pthread_mutex_lock(&eng_reg_lock);
	for (pp = &eng_reg; *pp != NULL; pp = &(*pp)->reg_next) {
		if (*pp == e) {
			*pp = e->reg_next;
			break;
		}
	}
	pthread_mutex_unlock(&eng_reg_lock);
}

/* --- helpers --- */

static bool
eng_aborted(const struct copy_eng *e)
{
	return atomic_load_explicit(&e->job->abort, memory_order_acquire);
}

static void
eng_count_bytes(struct copy_eng *e, uint64_t n)
{
	struct copy_counters *c = copy_lu_counters(e->s->dst);

	atomic_fetch_add_explicit(&c->bytes[e->path], n,
	    memory_order_relaxed);
	atomic_fetch_add_explicit(&e->job->bytes_done, n,
	    memory_order_relaxed);
}

/* First error wins: err, the side, the step and the forwarded sense. */
static void
eng_fail_reason(struct copy_eng *e, int err, bool is_write, struct lun *lun,
    uint64_t off, enum sense_reason r)
{
	struct copy_job *job = e->job;
	struct sense_detail sd;
	uint8_t status;
	static unsigned int rl;

	if (e->err != 0)
		return;
	e->err = err;
	job->err_is_write = is_write;
	job->failed_step = e->step;
	memset(&sd, 0, sizeof(sd));
	if (lun != NULL && lun->block_size != 0 && off != UINT64_MAX) {
		sd.info_valid = true;
		sd.info = off / lun->block_size;
	}
	job->fwd_sense_len = sense_build(r, &sd, false, job->fwd_sense,
	    sizeof(job->fwd_sense), &status);
	if (err != -ECANCELED && log_ratelimited(&rl))
		log_warn("copy: step %u: %s %s at byte %llu failed: %s",
		    e->step, lun != NULL ? lun->name : "?",
		    is_write ? "write" : "read", (unsigned long long)off,
		    strerror(-err));
}

static void
eng_fail(struct copy_eng *e, int err, bool is_write, struct lun *lun,
    uint64_t off)
{
	eng_fail_reason(e, err, is_write, lun, off,
	    sense_from_errno(err, is_write));
}

static void
eng_free(struct copy_eng *e)
{
	unsigned int i;

	for (i = 0; i < COPY_MAX_INFLIGHT; i++)
		free(e->slot[i].buf);
	free(e);
}

static void
eng_finish(struct copy_eng *e)
{
	struct copy_job *job = e->job;
	unsigned int i;

	job->err = e->err;
	for (i = 0; i < e->n_lus; i++) {
		struct copy_counters *c = copy_lu_counters(e->lus[i]);

		if (e->err == -ECANCELED)
			atomic_fetch_add_explicit(&c->aborts, 1,
			    memory_order_relaxed);
		else if (e->err != 0)
			atomic_fetch_add_explicit(&c->failures, 1,
			    memory_order_relaxed);
	}
	log_dbg("copy: job %p done: %d, %llu bytes, %u/%u steps", (void *)job,
	    e->err, (unsigned long long)atomic_load(&job->bytes_done),
	    atomic_load(&job->steps_done), job->n_steps);
	eng_reg_del(e);
	job->eng = NULL;
	eng_free(e);
	job->done(job);
}

static struct copy_slot *
eng_free_slot(struct copy_eng *e)
{
	unsigned int i;

	for (i = 0; i < COPY_MAX_INFLIGHT; i++)
		if (e->slot[i].st == SLOT_FREE)
			return &e->slot[i];
	return NULL;
}

static void
slot_release(struct copy_slot *sl)
{
	struct copy_eng *e = sl->e;

	if (sl->locked) {
		lun_lock_release(e->s->dst->range_lock, &sl->lk);
		sl->locked = false;
	}
	sl->st = SLOT_FREE;
	e->inflight--;
}

static uint64_t
slot_src(const struct copy_slot *sl)
{
	return sl->e->s->src_off + sl->rel;
}

static uint64_t
slot_dst(const struct copy_slot *sl)
{
	return sl->e->s->dst_off + sl->rel;
}

static int
eng_bufs(struct copy_eng *e)
{
	unsigned int i;
	void *p;

	for (i = 0; i < COPY_MAX_INFLIGHT; i++) {
		if (e->slot[i].buf != NULL)
			continue;
		if (posix_memalign(&p, COPY_BUF_ALIGN, COPY_CHUNK_BYTES) != 0)
			return -ENOMEM;
		e->slot[i].buf = p;
	}
	return 0;
}

/* --- RW and FILL: read, lock, write --- */

static void
slot_write_done(struct bs_io *io, int res)
{
	struct copy_slot *sl = io->priv;
	struct copy_eng *e = sl->e;

	if (res < 0)
		eng_fail(e, res, true, e->s->dst, slot_dst(sl));
	else
		eng_count_bytes(e, sl->len);
	slot_release(sl);
	eng_kick(e);
}

static void
slot_write(struct copy_slot *sl)
{
	struct copy_eng *e = sl->e;
	int rc;

	sl->st = SLOT_WRITE;
	memset(&sl->io, 0, sizeof(sl->io));
	sl->iov.iov_base = sl->buf;
	sl->iov.iov_len = (size_t)sl->len;
	sl->io.op = BS_WRITE;
	sl->io.flags = e->fua ? BS_IO_FUA : 0;
	sl->io.offset = slot_dst(sl);
	sl->io.len = sl->len;
	sl->io.iov = &sl->iov;
	sl->io.iovcnt = 1;
	sl->io.loop = e->loop;
	sl->io.done = slot_write_done;
	sl->io.priv = sl;
	rc = backstore_submit(e->s->dst->bs, &sl->io);
	if (rc < 0) {
		eng_fail(e, rc, true, e->s->dst, slot_dst(sl));
		slot_release(sl);
	}
}

/* May sl (read done) be written now?  Overlapping steps: not before
 * every earlier chunk has been read. */
static bool
slot_may_write(const struct copy_slot *sl)
{
	const struct copy_eng *e = sl->e;
	unsigned int i;

	if (!e->ordered)
		return true;
	for (i = 0; i < COPY_MAX_INFLIGHT; i++)
		if (e->slot[i].st == SLOT_READ && e->slot[i].seq < sl->seq)
			return false;
	return true;
}

/* Start the writes of read chunks that may go, oldest first. */
static void
eng_start_writes(struct copy_eng *e)
{
	struct copy_slot *best;
	unsigned int i;

	for (;;) {
		best = NULL;
		for (i = 0; i < COPY_MAX_INFLIGHT; i++) {
			struct copy_slot *sl = &e->slot[i];

			if (sl->st == SLOT_READ_DONE && slot_may_write(sl) &&
			    (best == NULL || sl->seq < best->seq))
				best = sl;
		}
		if (best == NULL)
			return;
		slot_lock(best);
	}
}

static void
slot_read_done(struct bs_io *io, int res)
{
	struct copy_slot *sl = io->priv;
	struct copy_eng *e = sl->e;

	if (res < 0) {
		eng_fail(e, res, false, e->s->src, slot_src(sl));
		slot_release(sl);
	} else {
		sl->st = SLOT_READ_DONE;
	}
	eng_start_writes(e);
	eng_kick(e);
}

static void
slot_read(struct copy_slot *sl)
{
	struct copy_eng *e = sl->e;
	int rc;

	sl->st = SLOT_READ;
	memset(&sl->io, 0, sizeof(sl->io));
	sl->iov.iov_base = sl->buf;
	sl->iov.iov_len = (size_t)sl->len;
	sl->io.op = BS_READ;
	sl->io.offset = slot_src(sl);
	sl->io.len = sl->len;
	sl->io.iov = &sl->iov;
	sl->io.iovcnt = 1;
	sl->io.loop = e->loop;
	sl->io.done = slot_read_done;
	sl->io.priv = sl;
	rc = backstore_submit(e->s->src->bs, &sl->io);
	if (rc < 0) {
		eng_fail(e, rc, false, e->s->src, slot_src(sl));
		slot_release(sl);
	}
}

/* --- OFFLOAD: the copy() hook --- */

/* After reflink failed: copy_file_range for the rest of the step if it
 * may work; else (or after a real error, rw_only) reads and writes. */
static void
eng_offload_next(struct copy_eng *e, bool rw_only)
{
	e->clone_lo = e->clone_hi = 0;
	if (!rw_only && e->path == COPY_PATH_REFLINK && e->cfr_ok) {
		e->path = COPY_PATH_CFR;
		return;
	}
	e->cfr_ok = false;
	e->mode = MODE_RW;
	e->path = COPY_PATH_RW;
	if (eng_bufs(e) != 0)
		eng_fail(e, -ENOMEM, false, NULL, UINT64_MAX);
}

static void
slot_offload_result(struct copy_slot *sl, int res)
{
	struct copy_eng *e = sl->e;

	if (res == 0) {
		if (e->path != COPY_PATH_NVME &&
		    (e->path == COPY_PATH_REFLINK ? e->pair.reflink :
		    e->pair.cfr) != COPY_PROBE_YES) {
			copy_pair_set(&e->pair, e->path, true);
			if (e->path == COPY_PATH_REFLINK)
				e->pair.reflink = COPY_PROBE_YES;
			else
				e->pair.cfr = COPY_PROBE_YES;
		}
		eng_count_bytes(e, sl->len);
	} else {
		/* redo this piece (and the rest) by the next path */
		e->lo = sl->rel;
		if (copy_err_unsupported(res) && e->path == COPY_PATH_NVME) {
			copy_count_fallback(e->s->dst, res == -EXDEV ?
			    COPY_FB_XDEV : COPY_FB_UNSUPPORTED);
			log_dbg("copy: %s -> %s: NVMe Copy not possible (%s)",
			    e->s->src->name, e->s->dst->name,
			    strerror(-res));
			eng_offload_next(e, true);
		} else if (e->path == COPY_PATH_NVME) {
			/* the device failed it: report, do not redo */
			eng_fail(e, res, true, e->s->dst, slot_dst(sl));
		} else if (copy_err_unsupported(res)) {
			copy_pair_set(&e->pair, e->path, false);
			if (e->path == COPY_PATH_REFLINK)
				e->pair.reflink = COPY_PROBE_NO;
			else
				e->pair.cfr = COPY_PROBE_NO;
			copy_count_fallback(e->s->dst, res == -EXDEV ?
			    COPY_FB_XDEV : COPY_FB_UNSUPPORTED);
			log_dbg("copy: %s -> %s: %s not supported (%s)",
			    e->s->src->name, e->s->dst->name,
			    copy_path_name(e->path), strerror(-res));
			eng_offload_next(e, false);
		} else {
			copy_count_fallback(e->s->dst, COPY_FB_ERROR);
			log_dbg("copy: %s -> %s: %s failed (%s), redoing "
			    "with reads and writes", e->s->src->name,
			    e->s->dst->name, copy_path_name(e->path),
			    strerror(-res));
			eng_offload_next(e, true);
		}
	}
	slot_release(sl);
	eng_kick(e);
}

static void
slot_offload_done(struct bs_io *io, int res)
{
	slot_offload_result(io->priv, res);
}

static void
slot_offload(struct copy_slot *sl)
{
	struct copy_eng *e = sl->e;
	struct bs_extent ext;
	int rc;

	sl->st = SLOT_WRITE;
	memset(&sl->io, 0, sizeof(sl->io));
	ext.src_off = slot_src(sl);
	ext.dst_off = slot_dst(sl);
	ext.len = sl->len;
	sl->io.flags = (e->path == COPY_PATH_REFLINK ? BS_IO_CLONE : 0) |
	    (e->fua ? BS_IO_FUA : 0);
	sl->io.loop = e->loop;
	sl->io.done = slot_offload_done;
	sl->io.priv = sl;
	rc = e->s->dst->bs->ops->copy(e->s->dst->bs, e->s->src->bs, &ext,
	    &sl->io);
	if (rc < 0)
		slot_offload_result(sl, rc);
}

/* --- DISCARD: unmap / write zeroes --- */

static void
slot_discard_done(struct bs_io *io, int res)
{
	struct copy_slot *sl = io->priv;
	struct copy_eng *e = sl->e;

	if (res == -EOPNOTSUPP || res == -EINVAL) {
		e->lo = sl->rel;
		if (e->zero_op == BS_UNMAP &&
		    (e->s->dst->bs->caps & BS_CAP_ZEROES)) {
			e->zero_op = BS_WRITE_ZEROES;
		} else {
			e->mode = MODE_FILL;
			if (eng_bufs(e) != 0)
				eng_fail(e, -ENOMEM, true, NULL, UINT64_MAX);
		}
	} else if (res < 0) {
		eng_fail(e, res, true, e->s->dst, slot_dst(sl));
	} else {
		eng_count_bytes(e, sl->len);
	}
	slot_release(sl);
	eng_kick(e);
}

static void
slot_discard(struct copy_slot *sl)
{
	struct copy_eng *e = sl->e;
	int rc;

	sl->st = SLOT_WRITE;
	memset(&sl->io, 0, sizeof(sl->io));
	sl->io.op = e->zero_op;
	sl->io.flags = e->fua ? BS_IO_FUA : 0;
	sl->io.offset = slot_dst(sl);
	sl->io.len = sl->len;
	sl->io.loop = e->loop;
	sl->io.done = slot_discard_done;
	sl->io.priv = sl;
	rc = backstore_submit(e->s->dst->bs, &sl->io);
	if (rc < 0)
		slot_discard_done(&sl->io, rc);
}

/* --- destination range lock --- */

static void
slot_locked(struct copy_slot *sl)
{
	switch (sl->e->mode) {
	case MODE_RW:
	case MODE_FILL:
		slot_write(sl);
		break;
	case MODE_OFFLOAD:
		slot_offload(sl);
		break;
	case MODE_DISCARD:
		slot_discard(sl);
		break;
	}
}

static void
slot_granted(struct lun_lock_req *lk)
{
	struct copy_slot *sl = lk->priv;

	sl->locked = true;
	slot_locked(sl);
}

/* SBC-4 5.3: hold the written range like a host write, so COMPARE AND
 * WRITE stays atomic against copies. */
static void
slot_lock(struct copy_slot *sl)
{
	struct copy_eng *e = sl->e;
	struct lun *dst = e->s->dst;
	uint64_t off = slot_dst(sl);
	int rc;

	sl->st = SLOT_LOCK;
	if (dst->range_lock == NULL) {
		slot_locked(sl);
		return;
	}
	memset(&sl->lk, 0, sizeof(sl->lk));
	sl->lk.lba = off / dst->block_size;
	sl->lk.nblocks = DIV_ROUND_UP(off + sl->len, dst->block_size) -
	    sl->lk.lba;
	sl->lk.loop = e->loop;
	sl->lk.granted = slot_granted;
	sl->lk.priv = sl;
	rc = lun_lock_acquire(dst->range_lock, &sl->lk);
	if (rc < 0) {
		eng_fail(e, rc, true, dst, off);
		slot_release(sl);
		eng_kick(e);
		return;
	}
	if (rc == 0) {
		sl->locked = true;
		slot_locked(sl);
	}
}

/* --- issuing pieces --- */

/* Next piece [rel, rel + len) of the step, by the mode's granularity. */
static void
eng_next_range(struct copy_eng *e, uint64_t *rel, uint64_t *len)
{
	uint64_t left = e->hi - e->lo, n, end;

	switch (e->mode) {
	case MODE_OFFLOAD:
		/* aligned middle by reflink, head and tail by cfr */
		if (e->path == COPY_PATH_NVME) {
			n = MIN(left, COPY_NVME_PIECE);
		} else if (e->lo < e->clone_lo) {
			e->path = COPY_PATH_CFR;
			n = MIN(e->clone_lo - e->lo, COPY_CFR_PIECE);
		} else if (e->lo < e->clone_hi) {
			e->path = COPY_PATH_REFLINK;
			n = MIN(e->clone_hi - e->lo, COPY_CLONE_PIECE);
		} else {
			e->path = COPY_PATH_CFR;
			n = MIN(left, COPY_CFR_PIECE);
		}
		break;
	case MODE_DISCARD:
		n = MIN(left, COPY_ZERO_PIECE);
		break;
	default:
		if (e->backwards) {
			end = e->s->dst_off + e->hi;
			n = end % COPY_CHUNK_BYTES;
			if (n == 0)
				n = COPY_CHUNK_BYTES;
			n = MIN(n, left);
			*rel = e->hi - n;
			*len = n;
			e->hi -= n;
			return;
		}
		n = COPY_CHUNK_BYTES - (e->s->dst_off + e->lo) %
		    COPY_CHUNK_BYTES;
		n = MIN(n, left);
		break;
	}
	*rel = e->lo;
	*len = n;
	e->lo += n;
}

static void
eng_issue(struct copy_eng *e)
{
	struct copy_slot *sl;
	unsigned int max;

	max = e->mode == MODE_RW || e->mode == MODE_FILL ?
	    COPY_MAX_INFLIGHT : 1;
	while (e->active && e->err == 0 && e->lo < e->hi &&
	    e->inflight < max && !eng_aborted(e)) {
		sl = eng_free_slot(e);
		if (sl == NULL)
			return;
		sl->e = e;
		sl->seq = e->seq_next++;
		eng_next_range(e, &sl->rel, &sl->len);
		e->inflight++;
		switch (e->mode) {
		case MODE_RW:
			slot_read(sl);
			break;
		case MODE_FILL:
			memset(sl->buf, 0, (size_t)sl->len);
			slot_lock(sl);
			break;
		default:
			slot_lock(sl);
			break;
		}
	}
}

/* --- steps --- */

static bool
eng_range_ok(const struct lun *lun, uint64_t off, uint64_t len)
{
	return off + len >= off && off + len <= lun->bs->size;
}

static void
eng_step_copy(struct copy_eng *e, const struct copy_step *s)
{
	struct lun *src = s->src, *dst = s->dst;
	bool same = src->bs == dst->bs;
	uint64_t a, head, tail;

	if (same && s->src_off == s->dst_off) {
		/* onto itself: nothing moves */
		e->path = COPY_PATH_RW;
		eng_count_bytes(e, s->len);
		e->lo = e->hi;
		return;
	}
	if (same && s->src_off < s->dst_off + s->len &&
	    s->dst_off < s->src_off + s->len) {
		e->ordered = true;
		e->backwards = s->dst_off > s->src_off;
		if (dst->bs->ops->copy != NULL)
			copy_count_fallback(dst, COPY_FB_OVERLAP);
		return;
	}
	if (dst->bs->ops->copy != NULL &&
	    dst->bs->ops->copy_kind == BS_COPY_NVME) {
		if (!copy_path_disabled(COPY_PATH_NVME)) {
			e->mode = MODE_OFFLOAD;
			e->path = COPY_PATH_NVME;
		}
		return;
	}
	copy_pair_lookup(src->bs, dst->bs, &e->pair);
	e->cfr_ok = e->pair.cfr != COPY_PROBE_NO &&
	    !copy_path_disabled(COPY_PATH_CFR);
	if (e->pair.reflink != COPY_PROBE_NO &&
	    !copy_path_disabled(COPY_PATH_REFLINK)) {
		/*
		 * FICLONERANGE wants fs-block aligned offsets and length.
		 * When both sides are off by the same amount (consecutive
		 * segments of a large copy) the aligned middle is cloned
		 * and the head and tail copied.
		 */
		a = e->pair.clone_align;
		head = (a - s->src_off % a) % a;
		tail = (s->src_off + s->len) % a;
		if (s->src_off % a == s->dst_off % a && head + tail < s->len &&
		    ((head == 0 && tail == 0) || e->cfr_ok)) {
			e->clone_lo = head;
			e->clone_hi = s->len - tail;
			e->mode = MODE_OFFLOAD;
			e->path = COPY_PATH_REFLINK;
			return;
		}
		copy_count_fallback(dst, COPY_FB_UNALIGNED);
	}
	if (e->cfr_ok) {
		e->mode = MODE_OFFLOAD;
		e->path = COPY_PATH_CFR;
	}
}

/* Set up step e->step; on return either e->err is set or the step is
 * active (possibly with nothing left to issue). */
static void
eng_step_start(struct copy_eng *e)
{
	const struct copy_step *s = &e->job->steps[e->step];
	struct lun_mode m;

	e->s = s;
	e->active = true;
	e->mode = MODE_RW;
	e->path = COPY_PATH_RW;
	e->backwards = false;
	e->ordered = false;
	e->fua = false;
	e->cfr_ok = false;
	e->clone_lo = e->clone_hi = 0;
	e->lo = 0;
	e->hi = s->kind == COPY_STEP_VERIFY ? 0 : s->len;
	e->seq_next = 0;
	if (e->hi == 0)
		return;
	if (s->kind == COPY_STEP_COPY && !eng_range_ok(s->src, s->src_off,
	    s->len)) {
		eng_fail(e, -ERANGE, false, s->src, s->src_off);
		return;
	}
	if (!eng_range_ok(s->dst, s->dst_off, s->len)) {
		eng_fail(e, -ERANGE, true, s->dst, s->dst_off);
		return;
	}
	lun_mode_get(s->dst, &m);
	e->fua = s->dst_fua || !m.wce;
	if (s->kind == COPY_STEP_ZERO) {
		e->path = COPY_PATH_ZERO;
		if (sbc_lbprz(s->dst)) {
			e->mode = MODE_DISCARD;
			e->zero_op = BS_UNMAP;
		} else if (s->dst->bs->caps & BS_CAP_ZEROES) {
			e->mode = MODE_DISCARD;
			e->zero_op = BS_WRITE_ZEROES;
		} else {
			e->mode = MODE_FILL;
		}
	} else {
		eng_step_copy(e, s);
	}
	if ((e->mode == MODE_RW || e->mode == MODE_FILL) && eng_bufs(e) != 0)
		eng_fail(e, -ENOMEM, false, NULL, UINT64_MAX);
	log_dbg("copy: step %u: %s -> %s, %llu bytes by %s%s", e->step,
	    s->src != NULL ? s->src->name : "-", s->dst->name,
	    (unsigned long long)s->len, copy_path_name(e->path),
	    e->backwards ? " (backwards)" : "");
}

/*
 * The engine's main loop: issue what may go; when nothing is in flight,
 * finish on error or abort, else move on to the next step.
 */
static void
eng_kick(struct copy_eng *e)
{
	struct copy_job *job = e->job;

	for (;;) {
		eng_issue(e);
		if (e->inflight > 0)
			return;
		if (e->err != 0) {
			eng_finish(e);
			return;
		}
		if (e->active && e->lo < e->hi) {
			/* stopped early: only an abort does that */
			eng_fail_reason(e, -ECANCELED, false, NULL,
			    UINT64_MAX, SENSE_TASK_ABORTED);
			continue;
		}
		if (e->active) {
			e->active = false;
			e->step++;
			atomic_fetch_add_explicit(&job->steps_done, 1,
			    memory_order_release);
		}
		if (e->step >= job->n_steps) {
			eng_finish(e);
			return;
		}
		if (eng_aborted(e)) {
			eng_fail_reason(e, -ECANCELED, false, NULL,
			    UINT64_MAX, SENSE_TASK_ABORTED);
			continue;
		}
		eng_step_start(e);
	}
}

/* --- access checks at start: the host write/read gates --- */

static int
eng_reason_errno(enum sense_reason r)
{
	switch (r) {
	case SENSE_OK:
		return 0;
	case SENSE_WRITE_PROTECTED:
	case SENSE_SOFTWARE_WRITE_PROTECTED:
		return -EROFS;
	case SENSE_RESERVATION_CONFLICT:
		return -EACCES;
	case SENSE_BUSY:
		return -EAGAIN;
	default:
		return -ENOMEDIUM;	/* NOT READY, sanitize */
	}
}

static bool
eng_nexus_wp(struct scsi_nexus *nx, const struct lun *lun)
{
	bool wp = false;
	unsigned int i;

	if (nx == NULL)
		return false;
	pthread_mutex_lock(&nx->lock);
	for (i = 0; i < nx->n_luns; i++)
		if (nx->luns[i].lun == lun && nx->luns[i].write_protect)
			wp = true;
	pthread_mutex_unlock(&nx->lock);
	return wp;
}

/* Run the dispatch gates for a READ(16) / WRITE(16) to lun. */
static enum sense_reason
eng_gate(struct copy_eng *e, struct lun *lun, bool is_write)
{
	struct scsi_cmd c;
	enum sense_reason r;

	scsi_cmd_init(&c);
	c.nexus = e->job->nexus;
	c.lun = lun;
	c.cdb[0] = is_write ? 0x8a : 0x88;
	c.cdb_len = 16;
	c.write_protect = eng_nexus_wp(e->job->nexus, lun);
	r = sbc_medium_check(&c);
	if (r == SENSE_OK && is_write)
		r = sbc_write_protect_check(&c);
	if (r == SENSE_OK && c.nexus != NULL)
		r = pr_cmd_check(&c);
	return r;
}

static bool
eng_check_access(struct copy_eng *e)
{
	const struct copy_step *s;
	enum sense_reason r;
	unsigned int i;

	for (i = 0; i < e->job->n_steps; i++) {
		s = &e->job->steps[i];
		e->step = i;
		if (s->kind == COPY_STEP_VERIFY) {
			struct lun *l = s->src != NULL ? s->src : s->dst;

			r = eng_gate(e, l, false);
			if (r != SENSE_OK) {
				eng_fail_reason(e, eng_reason_errno(r), false,
				    l, UINT64_MAX, r);
				return false;
			}
			continue;
		}
		if (s->kind == COPY_STEP_COPY) {
			r = eng_gate(e, s->src, false);
			if (r != SENSE_OK) {
				eng_fail_reason(e, eng_reason_errno(r), false,
				    s->src, UINT64_MAX, r);
				return false;
			}
		}
		r = eng_gate(e, s->dst, true);
		if (r != SENSE_OK) {
			eng_fail_reason(e, eng_reason_errno(r), true, s->dst,
			    UINT64_MAX, r);
			return false;
		}
	}
	e->step = 0;
	return true;
}

static void
eng_begin(void *arg)
{
	struct copy_eng *e = arg;

	if (!eng_check_access(e)) {
		eng_finish(e);
		return;
	}
	eng_kick(e);
}

/* --- public --- */

static void
eng_add_lu(struct copy_eng *e, struct lun *lun)
{
	unsigned int i;

	for (i = 0; i < e->n_lus; i++)
		if (e->lus[i] == lun)
			return;
	if (e->n_lus < COPY_MAX_LUS)
		e->lus[e->n_lus++] = lun;
}

int
copy_job_start(struct copy_job *job)
{
	struct copy_eng *e;
	unsigned int i;
	int rc;

	if (job == NULL || job->loop == NULL || job->done == NULL ||
	    (job->n_steps > 0 && job->steps == NULL))
		return -EINVAL;
	for (i = 0; i < job->n_steps; i++) {
		const struct copy_step *s = &job->steps[i];

		if (s->kind == COPY_STEP_VERIFY ? (s->src == NULL &&
		    s->dst == NULL) : s->dst == NULL ||
		    (s->kind == COPY_STEP_COPY && s->src == NULL))
			return -EINVAL;
	}
	e = xcalloc(1, sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	e->job = job;
	e->loop = job->loop;
	for (i = 0; i < job->n_steps; i++) {
		const struct copy_step *s = &job->steps[i];

		eng_add_lu(e, s->kind == COPY_STEP_VERIFY && s->dst == NULL ?
		    s->src : s->dst);
	}
	for (i = 0; i < e->n_lus; i++)
		atomic_fetch_add_explicit(&copy_lu_counters(e->lus[i])->commands,
		    1, memory_order_relaxed);
	job->err = 0;
	job->err_is_write = false;
	job->failed_step = 0;
	job->fwd_sense_len = 0;
	atomic_store(&job->bytes_done, 0);
	atomic_store(&job->steps_done, 0);
	job->eng = e;
	eng_reg_add(e);
	rc = loop_post(job->loop, eng_begin, e);
	if (rc != 0) {
		eng_reg_del(e);
		job->eng = NULL;
		free(e);
		return rc;
	}
	return 0;
}

void
copy_job_abort(struct copy_job *job)
{
	if (job != NULL)
		atomic_store_explicit(&job->abort, true, memory_order_release);
}

/* The job's steps and owner do not change while it runs, and the job
 * outlives its registry entry (removed before done()). */
static bool
eng_uses_lun(const struct copy_job *job, const struct lun *lun)
{
	unsigned int i;

	if (job->owner == lun)
		return true;
	for (i = 0; i < job->n_steps; i++)
		if (job->steps[i].src == lun || job->steps[i].dst == lun)
			return true;
	return false;
}

unsigned int
copy_jobs_abort_lun(const struct lun *lun)
{
	struct copy_eng *e;
	unsigned int n = 0;

	if (lun == NULL)
		return 0;
	pthread_mutex_lock(&eng_reg_lock);
	for (e = eng_reg; e != NULL; e = e->reg_next) {
		if (eng_uses_lun(e->job, lun)) {
			copy_job_abort(e->job);
			n++;
		}
	}
	pthread_mutex_unlock(&eng_reg_lock);
	if (n != 0)
		log_info("copy: %s reset, %u running cop%s aborted",
		    lun->name, n, n == 1 ? "y" : "ies");
	return n;
}

void
copy_job_fini(struct copy_job *job)
{
	unsigned int i;

	if (job == NULL)
		return;
	for (i = 0; i < job->n_steps; i++) {
		lun_put(job->steps[i].src);
		lun_put(job->steps[i].dst);
	}
	free(job->steps);
	job->steps = NULL;
	job->n_steps = 0;
}
