/*
 * sbc.c - block commands (SBC-3): READ CAPACITY(10/16), READ and WRITE
 * (6/10/12/16), SYNCHRONIZE CACHE(10/16).
 *
 * Parsing (sbc_parse_rw) is pure; execution submits one bs_io on the
 * command's loop and completes from its callback.  When the initiator's
 * expected length (EDTL) differs from what the CDB asks for, we move
 * min(EDTL, CDB length) bytes and record the CDB's length in cmd->spdtl so
 * the front end reports the residual (FCP-4 9.4.2 style, what libiscsi's
 * *Residuals tests expect): an overflowing WRITE writes exactly the EDTL
 * bytes it got, never more.
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

struct sbc_io {
	struct bs_io	 bio;
	struct scsi_cmd	*cmd;
	bool		 is_write;
	struct lun_lock_req lk;		/* writes hold their range */
	struct iovec	 iov[];
};

/* Detached flush for SYNCHRONIZE CACHE with IMMED. */
struct sbc_flush {
	struct bs_io	 bio;
	struct lun	*lun;
};

uint64_t
sbc_limit_blocks(const struct lun *lun, uint64_t max)
{
	/* a front end may lower it (lun.h) */
	if (lun->max_xfer_bytes != 0 && lun->max_xfer_bytes < max)
		max = lun->max_xfer_bytes;
	return lun->block_size != 0 ? max / lun->block_size : 0;
}

uint32_t
sbc_max_xfer_blocks(const struct lun *lun)
{
	return (uint32_t)sbc_limit_blocks(lun, SBC_MAX_XFER_BYTES);
}

unsigned int
sbc_phys_exp(const struct lun *lun)
{
	uint64_t phys = lun->bs != NULL ? lun->bs->phys_block_size : 0;
	unsigned int e = 0;

	while (e < 15 && ((uint64_t)lun->block_size << (e + 1)) <= phys)
		e++;
	return e;
}

enum sense_reason
sbc_check_range(const struct lun *lun, uint64_t lba, uint64_t nblocks)
{
	if (lba > lun->nblocks || nblocks > lun->nblocks - lba)
		return SENSE_LBA_OUT_OF_RANGE;
	return SENSE_OK;
}

/* --- READ CAPACITY --- */

enum sense_reason
sbc_read_capacity10(struct scsi_cmd *cmd)
{
	const struct lun *lun = cmd->lun;
	uint64_t last = lun->nblocks ? lun->nblocks - 1 : 0;
	uint8_t b[8];

	/* SBC-3 5.15: LBA must be zero unless PMI */
	if (!(cmd->cdb[8] & 0x01) && get_be32(cmd->cdb + 2) != 0)
		return scsi_invalid_field(cmd, true, 2, -1);
	put_be32(b, last > UINT32_MAX ? UINT32_MAX : (uint32_t)last);
	put_be32(b + 4, lun->block_size);
	scsi_cmd_data_in(cmd, b, sizeof(b));
	return SENSE_OK;
}

enum sense_reason
sbc_read_capacity16(struct scsi_cmd *cmd)
{
	const struct lun *lun = cmd->lun;
	uint32_t alloc = get_be32(cmd->cdb + 10);
	uint8_t b[32];

	if (!(cmd->cdb[14] & 0x01) && get_be64(cmd->cdb + 2) != 0)
		return scsi_invalid_field(cmd, true, 2, -1);
	memset(b, 0, sizeof(b));
	put_be64(b, lun->nblocks ? lun->nblocks - 1 : 0);
	put_be32(b + 8, lun->block_size);
	b[13] = (uint8_t)(sbc_phys_exp(lun) & 0x0f);
	b[14] = sbc_rc16_lbp_bits(lun);	/* LBPME, LBPRZ */
	scsi_cmd_data_in(cmd, b, MIN(sizeof(b), (size_t)alloc));
	return SENSE_OK;
}

/* --- READ / WRITE --- */

struct sbc_rw {
	uint64_t	 lba;
	uint32_t	 nblocks;
	bool		 fua;
	uint8_t		 len_byte;	/* offset of TRANSFER LENGTH */
};

/* Pure: CDB bytes to the request. */
void
sbc_cdb_lba_len(const uint8_t *cdb, uint64_t *lba, uint32_t *nblocks,
    uint8_t *len_byte)
{
	/* SBC-4 4.2.2: the group code (opcode bits 7:5) fixes the layout */
	switch (cdb[0] >> 5) {
	case 0:				/* 6-byte: 21-bit LBA, 8-bit length */
		*lba = get_be24(cdb + 1) & 0x1fffff;
		*nblocks = cdb[4];
		*len_byte = 4;
		break;
	case 1:
	case 2:				/* 10-byte */
		*lba = get_be32(cdb + 2);
		*nblocks = get_be16(cdb + 7);
		*len_byte = 7;
		break;
	case 5:				/* 12-byte */
		*lba = get_be32(cdb + 2);
		*nblocks = get_be32(cdb + 6);
		*len_byte = 6;
		break;
	default:			/* 16-byte */
		*lba = get_be64(cdb + 2);
		*nblocks = get_be32(cdb + 10);
		*len_byte = 10;
		break;
	}
}

static void
sbc_parse_rw(const uint8_t *cdb, struct sbc_rw *rw)
{
	memset(rw, 0, sizeof(*rw));
	sbc_cdb_lba_len(cdb, &rw->lba, &rw->nblocks, &rw->len_byte);
	if (cdb[0] >> 5 == 0) {
		/* SBC-3 5.8: 0 means 256 blocks; no FUA in 6-byte CDBs */
		if (rw->nblocks == 0)
			rw->nblocks = 256;
		return;
	}
	rw->fua = cdb[1] & 0x08;
}

static void
sbc_io_done(struct bs_io *bio, int res)
{
	struct sbc_io *io = bio->priv;
	struct scsi_cmd *cmd = io->cmd;
	static unsigned int rl;

	if (io->is_write)
		lun_lock_release(cmd->lun->range_lock, &io->lk);
	if (res < 0) {
		if (log_ratelimited(&rl))
			log_warn("%s: %s at LBA %llu failed: %s",
			    cmd->lun->name, io->is_write ? "write" : "read",
			    (unsigned long long)cmd->lba, strerror(-res));
		cmd->sd.info_valid = true;
		cmd->sd.info = cmd->lba;
		scsi_cmd_complete(cmd, sense_from_errno(res, io->is_write));
		return;
	}
	cmd->xfer_len = (uint32_t)bio->len;
	scsi_cmd_complete(cmd, SENSE_OK);
}

/* The first len bytes of the command's buffer as an iovec array. */
static int
sbc_trim_iov(const struct scsi_cmd *cmd, struct iovec *out, size_t len)
{
	int i, n = 0;

	for (i = 0; i < cmd->iov_cnt && len > 0; i++) {
		size_t l = MIN(cmd->iov[i].iov_len, len);

		if (l == 0)
			continue;
		out[n].iov_base = cmd->iov[i].iov_base;
		out[n].iov_len = l;
		len -= l;
		n++;
	}
	return n;
}

/* A write that waited for its LBA range: submit it now. */
static void
sbc_write_granted(struct lun_lock_req *lk)
{
	struct sbc_io *io = lk->priv;
	int rc;

	if (io->cmd->aborted) {		/* aborted while waiting */
		lun_lock_release(io->cmd->lun->range_lock, &io->lk);
		scsi_cmd_complete(io->cmd, SENSE_TASK_ABORTED);
		return;
	}
	rc = backstore_submit(io->cmd->lun->bs, &io->bio);
	if (rc < 0) {
		lun_lock_release(io->cmd->lun->range_lock, &io->lk);
		scsi_cmd_complete(io->cmd, sense_from_errno(rc, true));
	}
}

static enum sense_reason
sbc_rw(struct scsi_cmd *cmd, bool is_write)
{
	struct lun *lun = cmd->lun;
	struct lun_mode m;
	struct sbc_rw rw;
	struct sbc_io *io;
	enum sense_reason r;
	uint64_t bytes, len;
	int rc;

	sbc_parse_rw(cmd->cdb, &rw);
	r = sbc_check_range(lun, rw.lba, rw.nblocks);
	if (r != SENSE_OK)
		return r;
	if (rw.nblocks > sbc_max_xfer_blocks(lun))
		return scsi_invalid_field(cmd, true, rw.len_byte, -1);
	cmd->lba = rw.lba;
	cmd->nblocks = rw.nblocks;
	bytes = (uint64_t)rw.nblocks * lun->block_size;
	cmd->spdtl = bytes;
	len = MIN(bytes, (uint64_t)scsi_cmd_data_cap(cmd, !is_write));
	if (len == 0)
		return SENSE_OK;
	io = xcalloc(1, sizeof(*io) +
	    (size_t)cmd->iov_cnt * sizeof(struct iovec));
	if (io == NULL)
		return SENSE_BUSY;
	cmd->hpriv = io;
	cmd->hpriv_free = free;
	io->cmd = cmd;
	io->is_write = is_write;
	io->bio.op = is_write ? BS_WRITE : BS_READ;
	if (is_write) {
		lun_mode_get(lun, &m);
		/* SBC-3 4.15: FUA, or no write cache: durable first */
		if (rw.fua || !m.wce)
			io->bio.flags |= BS_IO_FUA;
	}
	io->bio.offset = rw.lba * lun->block_size;
	io->bio.len = len;
	io->bio.iov = io->iov;
	io->bio.iovcnt = sbc_trim_iov(cmd, io->iov, len);
	io->bio.loop = cmd->loop;
	io->bio.done = sbc_io_done;
	io->bio.priv = io;
	if (is_write) {
		/* SBC-4 5.3: COMPARE AND WRITE is atomic against us */
		io->lk.lba = rw.lba;
		io->lk.nblocks = DIV_ROUND_UP(len, lun->block_size);
		io->lk.loop = cmd->loop;
		io->lk.granted = sbc_write_granted;
		io->lk.priv = io;
		rc = lun_lock_acquire(lun->range_lock, &io->lk);
		if (rc < 0)
			return sense_from_errno(rc, true);
		if (rc > 0)
			return SCSI_ASYNC;
	}
	rc = backstore_submit(lun->bs, &io->bio);
	if (rc < 0) {
		if (is_write)
			lun_lock_release(lun->range_lock, &io->lk);
		return sense_from_errno(rc, is_write);
	}
	return SCSI_ASYNC;
}

enum sense_reason
sbc_read(struct scsi_cmd *cmd)
{
	return sbc_rw(cmd, false);
}

enum sense_reason
sbc_write(struct scsi_cmd *cmd)
{
	return sbc_rw(cmd, true);
}

/* --- SYNCHRONIZE CACHE (SBC-3 5.22, 5.23) --- */

static void
sbc_flush_done(struct bs_io *bio, int res)
{
	struct sbc_io *io = bio->priv;

	if (res == -EOPNOTSUPP || res == -EINVAL)
		res = 0;		/* nothing cached to flush */
	scsi_cmd_complete(io->cmd, sense_from_errno(res, true));
}

static void
sbc_flush_detached_done(struct bs_io *bio, int res)
{
	struct sbc_flush *f = bio->priv;
	static unsigned int rl;

	if (res < 0 && res != -EOPNOTSUPP && log_ratelimited(&rl))
		log_warn("%s: background flush failed: %s", f->lun->name,
		    strerror(-res));
	lun_put(f->lun);
	free(f);
}

enum sense_reason
sbc_sync_cache(struct scsi_cmd *cmd)
{
	struct lun *lun = cmd->lun;
	bool ten = cmd->cdb[0] == 0x35;
	uint64_t lba = ten ? get_be32(cmd->cdb + 2) : get_be64(cmd->cdb + 2);
	uint32_t n = ten ? get_be16(cmd->cdb + 7) : get_be32(cmd->cdb + 10);
	struct sbc_flush *f;
	struct sbc_io *io;
	enum sense_reason r;
	int rc;

	/* 0 blocks: from lba to the end of the medium */
	r = sbc_check_range(lun, lba, n);
	if (r != SENSE_OK)
		return r;
	if (cmd->cdb[1] & 0x02) {
		/* IMMED: status now, flush in the background */
		f = xcalloc(1, sizeof(*f));
		if (f == NULL)
			return SENSE_BUSY;
		lun_get(lun);
		f->lun = lun;
		f->bio.op = BS_FLUSH;
		f->bio.loop = cmd->loop;
		f->bio.done = sbc_flush_detached_done;
		f->bio.priv = f;
		rc = backstore_submit(lun->bs, &f->bio);
		if (rc < 0) {
			lun_put(lun);
			free(f);
			if (rc == -EOPNOTSUPP)
				return SENSE_OK;
			return sense_from_errno(rc, true);
		}
		return SENSE_OK;
	}
	io = xcalloc(1, sizeof(*io));
	if (io == NULL)
		return SENSE_BUSY;
	cmd->hpriv = io;
	cmd->hpriv_free = free;
	io->cmd = cmd;
	io->is_write = true;
	io->bio.op = BS_FLUSH;
	io->bio.loop = cmd->loop;
	io->bio.done = sbc_flush_done;
	io->bio.priv = io;
	rc = backstore_submit(lun->bs, &io->bio);
	if (rc == -EOPNOTSUPP)
		return SENSE_OK;
	if (rc < 0)
		return sense_from_errno(rc, true);
	return SCSI_ASYNC;
}
