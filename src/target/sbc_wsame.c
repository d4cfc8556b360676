/*
 * sbc_wsame.c - WRITE SAME (10) and (16) (SBC-4 5.48, 5.49).
 *
 * One block of data (or none, NDOB in the 16-byte CDB, meaning zeroes) is
 * written to NUMBER OF LOGICAL BLOCKS blocks; 0 blocks means up to the end
 * of the medium (we advertise WSNZ = 0) and is bounded, like any other
 * count, by MAXIMUM WRITE SAME LENGTH (VPD B0h).  The whole range is held
 * in the LU's range lock while it is written.  How it is written:
 *
 *  - UNMAP = 1 on a thin LU with a zero pattern: BS_UNMAP (punch a hole);
 *    unmapped blocks read as zeroes (LBPRZ), so the data is as asked.
 *    UNMAP on a fully provisioned LU is INVALID FIELD IN CDB (LBPWS = 0),
 *    as is ANCHOR (ANC_SUP = 0) and ANCHOR without UNMAP (SBC-4 5.49).
 *  - a zero pattern otherwise: BS_WRITE_ZEROES.
 *  - any other pattern, or a backstore without those operations: the
 *    pattern replicated into one bounded buffer and written chunk by
 *    chunk, SBC_WS_INFLIGHT chunks in flight, so a large WRITE SAME never
 *    holds more than that buffer and never monopolises the loop.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backstore.h"
#include "log.h"
#include "lun.h"
#include "lun_lock.h"
#include "scsi_int.h"
#include "util.h"

#define SBC_WS_CHUNK_BYTES	(1u << 20)
#define SBC_WS_INFLIGHT		4

struct sbc_ws;

struct sbc_ws_io {
	struct bs_io	 bio;
	struct iovec	 iov;
	struct sbc_ws	*ws;
	uint64_t	 lba;
	bool		 busy;
};

struct sbc_ws {
	struct scsi_cmd	*cmd;
	struct lun_lock_req lk;
	uint64_t	 lba, nblocks;
	uint64_t	 next;		/* next block to write */
	unsigned int	 inflight;
	bool		 unmap, zero, fua, failed;
	int		 err;
	uint64_t	 err_lba;
	uint8_t		*pattern;	/* the block; then chunk_blocks copies */
	uint32_t	 chunk_blocks;
	bool		 replicated;
	struct sbc_ws_io io[SBC_WS_INFLIGHT];
};

static void
sbc_ws_free(void *arg)
{
	struct sbc_ws *ws = arg;

	free(ws->pattern);
	free(ws);
}

static void
sbc_ws_finish(struct sbc_ws *ws)
{
	struct scsi_cmd *cmd = ws->cmd;
	static unsigned int rl;

	lun_lock_release(cmd->lun->range_lock, &ws->lk);
	if (ws->err == -ECANCELED) {
		scsi_cmd_complete(cmd, SENSE_TASK_ABORTED);
		return;
	}
	if (ws->err < 0) {
		if (log_ratelimited(&rl))
			log_warn("%s: write same at LBA %llu failed: %s",
			    cmd->lun->name, (unsigned long long)ws->err_lba,
			    strerror(-ws->err));
		cmd->sd.info_valid = true;
		cmd->sd.info = ws->err_lba;
		scsi_cmd_complete(cmd, sense_from_errno(ws->err, true));
		return;
	}
	scsi_cmd_complete(cmd, SENSE_OK);
}

static void sbc_ws_pump(struct sbc_ws *);

static void
sbc_ws_chunk_done(struct bs_io *bio, int res)
{
	struct sbc_ws_io *io = bio->priv;
	struct sbc_ws *ws = io->ws;

	ws->inflight--;
	io->busy = false;
	if (res < 0 && !ws->failed) {
		ws->failed = true;
		ws->err = res;
		ws->err_lba = io->lba;
	}
	sbc_ws_pump(ws);
}

/* Keep up to SBC_WS_INFLIGHT pattern chunks in flight; finish when all
 * are written or, after a failure, when the ones in flight are back. */
/* Replicate the block into a chunk-sized buffer, once. */
static int
sbc_ws_replicate(struct sbc_ws *ws)
{
	size_t bs = ws->cmd->lun->block_size, i;
	uint8_t *p;

	if (ws->replicated)
		return 0;
	p = xrealloc(ws->pattern, ws->chunk_blocks * bs);
	if (p == NULL)
		return -ENOMEM;
	for (i = 1; i < ws->chunk_blocks; i++)
		memcpy(p + i * bs, p, bs);
	ws->pattern = p;
	ws->replicated = true;
	return 0;
}

static void
sbc_ws_pump(struct sbc_ws *ws)
{
	struct lun *lun = ws->cmd->lun;
	struct sbc_ws_io *io;
	uint64_t end = ws->lba + ws->nblocks, n;
	unsigned int i;
	int rc;

	/* task management aborted us: stop between chunks */
	if (!ws->failed && ws->next < end && ws->cmd->aborted) {
		ws->failed = true;
		ws->err = -ECANCELED;
	}
	if (!ws->failed && ws->next < end) {
		rc = sbc_ws_replicate(ws);
		if (rc < 0) {
			ws->failed = true;
			ws->err = rc;
			ws->err_lba = ws->next;
		}
	}
	while (!ws->failed && ws->next < end &&
	    ws->inflight < SBC_WS_INFLIGHT) {
		for (i = 0; i < SBC_WS_INFLIGHT; i++)
			if (!ws->io[i].busy)
				break;
		if (i == SBC_WS_INFLIGHT)
			break;
		io = &ws->io[i];
		n = MIN(end - ws->next, (uint64_t)ws->chunk_blocks);
		memset(io, 0, sizeof(*io));
		io->ws = ws;
		io->lba = ws->next;
		io->iov.iov_base = ws->pattern;
		io->iov.iov_len = n * lun->block_size;
		io->bio.op = BS_WRITE;
		io->bio.flags = ws->fua ? BS_IO_FUA : 0;
		io->bio.offset = ws->next * lun->block_size;
		io->bio.len = io->iov.iov_len;
		io->bio.iov = &io->iov;
		io->bio.iovcnt = 1;
		io->bio.loop = ws->cmd->loop;
		io->bio.done = sbc_ws_chunk_done;
		io->bio.priv = io;
		io->busy = true;
		ws->next += n;
		ws->inflight++;
		rc = backstore_submit(lun->bs, &io->bio);
		if (rc < 0) {
			ws->inflight--;
			io->busy = false;
			ws->failed = true;
			ws->err = rc;
			ws->err_lba = io->lba;
		}
	}
	if (ws->inflight == 0 && (ws->failed || ws->next >= end))
		sbc_ws_finish(ws);
}

static void
sbc_ws_whole_done(struct bs_io *bio, int res)
{
	struct sbc_ws_io *io = bio->priv;
	struct sbc_ws *ws = io->ws;

	ws->inflight = 0;
	io->busy = false;
	if (res == -EOPNOTSUPP) {
		/* no hole punching / zeroing after all: write zeroes */
		ws->unmap = ws->zero = false;
		sbc_ws_pump(ws);
		return;
	}
	if (res < 0) {
		ws->err = res;
		ws->err_lba = ws->lba;
	}
	ws->next = ws->lba + ws->nblocks;
	sbc_ws_finish(ws);
}

/* Holding the range: one UNMAP or WRITE ZEROES, else the pump. */
static void
sbc_ws_start(struct sbc_ws *ws)
{
	struct lun *lun = ws->cmd->lun;
	struct sbc_ws_io *io = &ws->io[0];
	int rc;

	if (ws->unmap || ws->zero) {
		memset(io, 0, sizeof(*io));
		io->ws = ws;
		io->lba = ws->lba;
		io->bio.op = ws->unmap ? BS_UNMAP : BS_WRITE_ZEROES;
		io->bio.flags = ws->fua ? BS_IO_FUA : 0;
		io->bio.offset = ws->lba * lun->block_size;
		io->bio.len = ws->nblocks * lun->block_size;
		io->bio.loop = ws->cmd->loop;
		io->bio.done = sbc_ws_whole_done;
		io->bio.priv = io;
		io->busy = true;
		ws->inflight = 1;
		rc = backstore_submit(lun->bs, &io->bio);
		if (rc == 0)
			return;
		ws->inflight = 0;
		if (rc != -EOPNOTSUPP) {
			ws->err = rc;
			ws->err_lba = ws->lba;
			sbc_ws_finish(ws);
			return;
		}
		ws->unmap = ws->zero = false;
		memset(io, 0, sizeof(*io));
	}
	sbc_ws_pump(ws);
}

static void
sbc_ws_granted(struct lun_lock_req *lk)
{
	struct sbc_ws *ws = lk->priv;

	if (ws->cmd->aborted) {
		ws->err = -ECANCELED;
		sbc_ws_finish(ws);
		return;
	}
	sbc_ws_start(ws);
}

static bool
sbc_ws_all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

/* Pure: CDB checks.  Fills lba/nblocks (0 resolved to the end). */
static enum sense_reason
sbc_ws_parse(struct scsi_cmd *cmd, uint64_t *lba, uint64_t *nblocks,
    bool *unmap, bool *ndob)
{
	const struct lun *lun = cmd->lun;
	const uint8_t *cdb = cmd->cdb;
	bool sixteen = cdb[0] == 0x93;
	bool anchor = cdb[1] & 0x10;
	uint8_t len_byte = sixteen ? 10 : 7;
	enum sense_reason r;
	uint64_t n;

	*unmap = cdb[1] & 0x08;
	*ndob = sixteen && (cdb[1] & 0x01);
	*lba = sixteen ? get_be64(cdb + 2) : get_be32(cdb + 2);
	n = sixteen ? get_be32(cdb + 10) : get_be16(cdb + 7);
	/* SBC-4 5.49: ANCHOR needs UNMAP; we have no anchored state */
	if (anchor)
		return scsi_invalid_field(cmd, true, 1, 4);
	if (*unmap && !sbc_lbp_enabled(lun))
		return scsi_invalid_field(cmd, true, 1, 3);
	if (n == 0) {
		/* WSNZ = 0: to the last LBA */
		if (*lba >= lun->nblocks)
			return SENSE_LBA_OUT_OF_RANGE;
		n = lun->nblocks - *lba;
	}
	if (n > sbc_ws_max_blocks(lun))
		return scsi_invalid_field(cmd, true, len_byte, -1);
	r = sbc_check_range(lun, *lba, n);
	if (r != SENSE_OK)
		return r;
	*nblocks = n;
	return SENSE_OK;
}

enum sense_reason
sbc_write_same(struct scsi_cmd *cmd)
{
	struct lun *lun = cmd->lun;
	uint32_t bs = lun->block_size;
	uint64_t lba = 0, n = 0;
	bool unmap, ndob;
	struct lun_mode m;
	struct sbc_ws *ws;
	enum sense_reason r;
	int rc;

	r = sbc_ws_parse(cmd, &lba, &n, &unmap, &ndob);
	if (r != SENSE_OK)
		return r;
	/* exactly one block of data unless NDOB */
	if (!ndob && scsi_cmd_data_cap(cmd, false) != bs)
		return SENSE_INVALID_FIELD_IN_CDB;
	cmd->spdtl = ndob ? 0 : bs;
	cmd->xfer_len = ndob ? 0 : bs;
	ws = xcalloc(1, sizeof(*ws));
	if (ws == NULL)
		return SENSE_BUSY;
	cmd->hpriv = ws;
	cmd->hpriv_free = sbc_ws_free;
	ws->cmd = cmd;
	ws->lba = lba;
	ws->nblocks = n;
	ws->next = lba;
	ws->chunk_blocks = (uint32_t)MIN(n, (uint64_t)(SBC_WS_CHUNK_BYTES /
	    bs));
	ws->pattern = xmalloc(bs);
	if (ws->pattern == NULL)
		return SENSE_BUSY;
	if (ndob)
		memset(ws->pattern, 0, bs);
	else
		scsi_cmd_copy_from_buf(cmd, 0, ws->pattern, bs);
	ws->zero = sbc_ws_all_zero(ws->pattern, bs);
	/* deallocate only where unmapped blocks read as the zeroes asked */
	ws->unmap = unmap && ws->zero && sbc_lbprz(lun);
	lun_mode_get(lun, &m);
	ws->fua = !m.wce;
	ws->lk.lba = lba;
	ws->lk.nblocks = n;
	ws->lk.loop = cmd->loop;
	ws->lk.granted = sbc_ws_granted;
	ws->lk.priv = ws;
	rc = lun_lock_acquire(lun->range_lock, &ws->lk);
	if (rc < 0)
		return sense_from_errno(rc, true);
	if (rc == 0)
		sbc_ws_start(ws);
	return SCSI_ASYNC;
}
