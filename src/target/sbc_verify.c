/*
 * sbc_verify.c - VERIFY (10/12/16), WRITE AND VERIFY (10/12/16) and
 * ORWRITE(16) (SBC-4 5.32-5.34, 5.40-5.42, 5.9).
 *
 * All three share one small state machine on the command's loop:
 *
 *   VERIFY            read the range, then compare it with the Data-Out
 *                     buffer (BYTCHK 01b), with the single Data-Out block
 *                     repeated over the range (11b), or only check that it
 *                     reads (00b: medium verification, no Data-Out).
 *   WRITE AND VERIFY  write the Data-Out buffer durably (FUA), read it
 *                     back and compare (BYTCHK 01b) or check it reads (00b).
 *   ORWRITE           read the range, OR the Data-Out buffer into it and
 *                     write the result (SBC-4 5.9, the BITWISE OR operation
 *                     of ORWRITE(16) with ORPROTECT 0).
 *
 * The writers hold the LU's write range lock (lun_lock.h) from before the
 * first I/O until the last one ends, so ORWRITE's read-modify-write and
 * WRITE AND VERIFY's write-then-compare are atomic against every other
 * writer of an overlapping range.
 *
 * A request never exceeds MAXIMUM TRANSFER LENGTH (VPD B0h, SBC-4 6.6.4:
 * it applies to VERIFY and ORWRITE too), so one bounce buffer (cmd->buf)
 * of at most SBC_MAX_XFER_BYTES holds the whole range.  When the initiator
 * sends fewer Data-Out bytes than the CDB asks for (EDTL < SPDTL), the
 * writers move only what arrived (as WRITE does, sbc.c) and VERIFY compares
 * only what arrived; the front end reports the residual.
 *
 * Protection information is not supported (we format without it), so
 * VRPROTECT, WRPROTECT and ORPROTECT are not in the usage masks and
 * dispatch rejects nonzero values with INVALID FIELD IN CDB.  MISCOMPARE
 * reports the offset of the first differing byte from the start of the
 * Data-Out buffer in the INFORMATION field (SBC-4 5.32.2).
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

enum sbc_v_kind {
	SBC_V_VERIFY,
	SBC_V_WRITE_VERIFY,
	SBC_V_ORWRITE,
};

/* BYTCHK (SBC-4 table 184) */
#define BYTCHK_NONE	0x0
#define BYTCHK_DATA	0x1
#define BYTCHK_RSVD	0x2
#define BYTCHK_SAME	0x3

/* Parsed CDB. */
struct sbc_v_req {
	uint64_t	 lba;
	uint32_t	 nblocks;
	uint8_t		 bytchk;
	bool		 fua;
	uint8_t		 len_byte;	/* offset of the length */
};

struct sbc_v_io {
	struct bs_io	 bio;
	struct lun_lock_req lock;
	struct lun_lock	*lock_tbl;	/* NULL: nothing held */
	struct scsi_cmd	*cmd;
	enum sbc_v_kind	 kind;
	uint8_t		 bytchk;
	bool		 fua;
	bool		 writing;	/* phase of bio */
	uint64_t	 off;		/* medium offset, bytes */
	size_t		 len;		/* bytes read / written */
	size_t		 data;		/* usable Data-Out bytes */
	struct iovec	 biov;		/* the bounce buffer */
	struct iovec	 iov[];		/* Data-Out, cut to len */
};

/* Pure: CDB bytes to the request. */
static void
sbc_v_parse(const uint8_t *cdb, struct sbc_v_req *v)
{
	memset(v, 0, sizeof(*v));
	sbc_cdb_lba_len(cdb, &v->lba, &v->nblocks, &v->len_byte);
	if (cdb[0] == 0x8b)
		v->fua = cdb[1] & 0x08;
	else
		v->bytchk = (cdb[1] >> 1) & 0x03;
}

/* The LU's write range lock table, once the LU has one. */
static struct lun_lock *
sbc_v_lock_table(struct lun *lun)
{
	return lun->range_lock;
}

static void
sbc_v_unlock(struct sbc_v_io *io)
{
	if (io->lock_tbl != NULL)
		lun_lock_release(io->lock_tbl, &io->lock);
	io->lock_tbl = NULL;
}

static void
sbc_v_finish(struct sbc_v_io *io, enum sense_reason r)
{
	struct scsi_cmd *cmd = io->cmd;

	sbc_v_unlock(io);
	scsi_cmd_complete(cmd, r);
}

/* Compare len bytes of the Data-Out buffer at offset 0 with buf.  Returns
 * true when equal, else the offset of the first differing byte. */
static bool
sbc_v_cmp_data(const struct scsi_cmd *cmd, const uint8_t *buf, size_t len,
    uint64_t *first)
{
	size_t off = 0, n, j;
	const uint8_t *p;
	int i;

	for (i = 0; i < cmd->iov_cnt && off < len; i++) {
		p = cmd->iov[i].iov_base;
		n = MIN(cmd->iov[i].iov_len, len - off);
		if (n == 0)
			continue;
		if (memcmp(p, buf + off, n) != 0) {
			for (j = 0; p[j] == buf[off + j]; j++)
				;
			*first = off + j;
			return false;
		}
		off += n;
	}
	return true;
}

/* BYTCHK 11b: the first pat_len bytes of the Data-Out block (copied
 * behind the range in the bounce buffer) against every block of the range;
 * the offset is into the Data-Out buffer as if the block had been repeated
 * (SBC-4 5.32.2). */
static bool
sbc_v_cmp_same(const uint8_t *buf, size_t len, uint32_t bs, size_t pat_len,
    uint64_t *first)
{
	const uint8_t *pat = buf + len;
	size_t off, j;

	for (off = 0; off < len && pat_len > 0; off += bs) {
		if (memcmp(pat, buf + off, pat_len) == 0)
			continue;
		for (j = 0; pat[j] == buf[off + j]; j++)
			;
		*first = off + j;
		return false;
	}
	return true;
}

static enum sense_reason
sbc_v_compare(struct sbc_v_io *io)
{
	struct scsi_cmd *cmd = io->cmd;
	uint64_t first = 0;
	bool same = true;

	if (io->bytchk == BYTCHK_DATA)
		same = sbc_v_cmp_data(cmd, io->biov.iov_base,
		    MIN(io->len, io->data), &first);
	else if (io->bytchk == BYTCHK_SAME)
		same = sbc_v_cmp_same(io->biov.iov_base, io->len,
		    cmd->lun->block_size, io->data, &first);
	if (same)
		return SENSE_OK;
	/* SBC-4 5.32.2: MISCOMPARE DURING VERIFY OPERATION with the offset
	 * of the first byte that did not match */
	cmd->sd.info_valid = true;
	cmd->sd.info = first;
	return SENSE_MISCOMPARE;
}

/* OR the Data-Out bytes into the bounce buffer (ORWRITE). */
static void
sbc_v_or(struct sbc_v_io *io)
{
	struct scsi_cmd *cmd = io->cmd;
	uint8_t *buf = io->biov.iov_base;
	size_t off = 0, n, j;
	const uint8_t *p;
	int i;

	for (i = 0; i < cmd->iov_cnt && off < io->len; i++) {
		p = cmd->iov[i].iov_base;
		n = MIN(cmd->iov[i].iov_len, io->len - off);
		for (j = 0; j < n; j++)
			buf[off + j] |= p[j];
		off += n;
	}
}

static void sbc_v_io_done(struct bs_io *, int);

static enum sense_reason
sbc_v_submit(struct sbc_v_io *io, bool write, bool from_data)
{
	struct scsi_cmd *cmd = io->cmd;
	struct lun_mode m;
	int rc, i, n = 0;
	size_t left = io->len;

	memset(&io->bio, 0, sizeof(io->bio));
	io->writing = write;
	io->bio.op = write ? BS_WRITE : BS_READ;
	io->bio.offset = io->off;
	io->bio.len = io->len;
	io->bio.loop = cmd->loop;
	io->bio.done = sbc_v_io_done;
	io->bio.priv = io;
	if (from_data) {
		/* the Data-Out buffer itself, trimmed to len */
		for (i = 0; i < cmd->iov_cnt && left > 0; i++) {
			size_t l = MIN(cmd->iov[i].iov_len, left);

			if (l == 0)
				continue;
			io->iov[n].iov_base = cmd->iov[i].iov_base;
			io->iov[n].iov_len = l;
			left -= l;
			n++;
		}
		io->bio.iov = io->iov;
		io->bio.iovcnt = n;
	} else {
		io->biov.iov_len = io->len;
		io->bio.iov = &io->biov;
		io->bio.iovcnt = 1;
	}
	if (write) {
		lun_mode_get(cmd->lun, &m);
		/* WRITE AND VERIFY verifies what is on the medium: always
		 * durable first; ORWRITE as WRITE (SBC-4 4.15) */
		if (io->kind == SBC_V_WRITE_VERIFY || io->fua || !m.wce)
			io->bio.flags |= BS_IO_FUA;
	}
	rc = backstore_submit(cmd->lun->bs, &io->bio);
	if (rc < 0) {
		cmd->sd.info_valid = true;
		cmd->sd.info = cmd->lba;
		return sense_from_errno(rc, write);
	}
	return SCSI_ASYNC;
}

/* Next step after a successful I/O; returns SCSI_ASYNC or the result. */
static enum sense_reason
sbc_v_step(struct sbc_v_io *io)
{
	switch (io->kind) {
	case SBC_V_VERIFY:
		return sbc_v_compare(io);
	case SBC_V_WRITE_VERIFY:
		if (io->writing)
			return sbc_v_submit(io, false, false);
		return sbc_v_compare(io);
	case SBC_V_ORWRITE:
		if (io->writing)
			return SENSE_OK;
		sbc_v_or(io);
		return sbc_v_submit(io, true, false);
	}
	return SENSE_INTERNAL_TARGET_FAILURE;
}

static void
sbc_v_io_done(struct bs_io *bio, int res)
{
	struct sbc_v_io *io = bio->priv;
	struct scsi_cmd *cmd = io->cmd;
	enum sense_reason r;
	static unsigned int rl;

	if (res < 0) {
		if (log_ratelimited(&rl))
			log_warn("%s: %s at LBA %llu failed: %s",
			    cmd->lun->name, io->writing ? "write" : "read",
			    (unsigned long long)cmd->lba, strerror(-res));
		cmd->sd.info_valid = true;
		cmd->sd.info = cmd->lba;
		sbc_v_finish(io, sense_from_errno(res, io->writing));
		return;
	}
	r = sbc_v_step(io);
	if (r != SCSI_ASYNC)
		sbc_v_finish(io, r);
}

/* First I/O: writers start with the Data-Out (WRITE AND VERIFY) or a
 * read (ORWRITE, VERIFY). */
static enum sense_reason
sbc_v_start(struct sbc_v_io *io)
{
	if (io->kind == SBC_V_WRITE_VERIFY)
		return sbc_v_submit(io, true, true);
	return sbc_v_submit(io, false, false);
}

static void
sbc_v_granted(struct lun_lock_req *req)
{
	struct sbc_v_io *io = req->priv;
	enum sense_reason r;

	r = sbc_v_start(io);
	if (r != SCSI_ASYNC)
		sbc_v_finish(io, r);
}

static void
sbc_v_free(void *p)
{
	struct sbc_v_io *io = p;

	/* a command released mid-flight cannot happen (done() comes
	 * first), but never leak a held range */
	sbc_v_unlock(io);
	free(io);
}

static enum sense_reason
sbc_v_run(struct scsi_cmd *cmd, enum sbc_v_kind kind,
    const struct sbc_v_req *v)
{
	struct lun *lun = cmd->lun;
	struct sbc_v_io *io;
	uint64_t bytes = (uint64_t)v->nblocks * lun->block_size;
	size_t data = scsi_cmd_data_cap(cmd, false);
	enum sense_reason r;
	int rc;

	cmd->lba = v->lba;
	cmd->nblocks = v->nblocks;
	/* bytes the CDB asks to transfer (SPDTL) */
	if (kind == SBC_V_VERIFY && v->bytchk == BYTCHK_NONE)
		cmd->spdtl = 0;
	else if (kind == SBC_V_VERIFY && v->bytchk == BYTCHK_SAME)
		cmd->spdtl = v->nblocks != 0 ? lun->block_size : 0;
	else
		cmd->spdtl = bytes;
	data = (size_t)MIN((uint64_t)data, cmd->spdtl);
	cmd->xfer_len = (uint32_t)data;
	if (bytes == 0)
		return SENSE_OK;
	/* writers move only the Data-Out bytes that arrived */
	if (kind != SBC_V_VERIFY) {
		bytes = data;
		if (bytes == 0)
			return SENSE_OK;
	}
	io = xcalloc(1, sizeof(*io) +
	    (size_t)cmd->iov_cnt * sizeof(struct iovec));
	if (io == NULL)
		return SENSE_BUSY;
	cmd->hpriv = io;
	cmd->hpriv_free = sbc_v_free;
	/* BYTCHK 11b keeps the Data-Out block behind the range */
	cmd->buf = xmalloc((size_t)bytes + (v->bytchk == BYTCHK_SAME ?
	    data : 0));
	if (cmd->buf == NULL)
		return SENSE_BUSY;
	if (v->bytchk == BYTCHK_SAME)
		scsi_cmd_copy_from_buf(cmd, 0, (uint8_t *)cmd->buf + bytes,
		    data);
	io->cmd = cmd;
	io->kind = kind;
	io->bytchk = v->bytchk;
	io->fua = v->fua;
	io->off = v->lba * lun->block_size;
	io->len = (size_t)bytes;
	io->data = data;
	io->biov.iov_base = cmd->buf;
	io->biov.iov_len = io->len;
	if (kind == SBC_V_VERIFY || sbc_v_lock_table(lun) == NULL)
		return sbc_v_start(io);
	/* writers: the blocks they touch, rounded up */
	io->lock.lba = v->lba;
	io->lock.nblocks = (bytes + lun->block_size - 1) / lun->block_size;
	io->lock.loop = cmd->loop;
	io->lock.granted = sbc_v_granted;
	io->lock.priv = io;
	rc = lun_lock_acquire(sbc_v_lock_table(lun), &io->lock);
	if (rc < 0)
		return sense_from_errno(rc, true);
	io->lock_tbl = sbc_v_lock_table(lun);
	if (rc == 1)
		return SCSI_ASYNC;
	r = sbc_v_start(io);
	if (r != SCSI_ASYNC)
		sbc_v_unlock(io);
	return r;
}

/* Range and length checks shared by the three commands. */
static enum sense_reason
sbc_v_check(struct scsi_cmd *cmd, const struct sbc_v_req *v)
{
	enum sense_reason r;

	r = sbc_check_range(cmd->lun, v->lba, v->nblocks);
	if (r != SENSE_OK)
		return r;
	if (v->nblocks > sbc_max_xfer_blocks(cmd->lun))
		return scsi_invalid_field(cmd, true, v->len_byte, -1);
	return SENSE_OK;
}

enum sense_reason
sbc_verify(struct scsi_cmd *cmd)
{
	struct sbc_v_req v;
	enum sense_reason r;

	sbc_v_parse(cmd->cdb, &v);
	/* SBC-4 table 184: 10b is reserved */
	if (v.bytchk == BYTCHK_RSVD)
		return scsi_invalid_field(cmd, true, 1, 2);
	r = sbc_v_check(cmd, &v);
	if (r != SENSE_OK)
		return r;
	return sbc_v_run(cmd, SBC_V_VERIFY, &v);
}

enum sense_reason
sbc_write_verify(struct scsi_cmd *cmd)
{
	struct sbc_v_req v;
	enum sense_reason r;

	sbc_v_parse(cmd->cdb, &v);
	/* SBC-4 5.40: 10b as for VERIFY, 11b reserved for WRITE AND
	 * VERIFY */
	if (v.bytchk == BYTCHK_RSVD || v.bytchk == BYTCHK_SAME)
		return scsi_invalid_field(cmd, true, 1, 2);
	r = sbc_v_check(cmd, &v);
	if (r != SENSE_OK)
		return r;
	return sbc_v_run(cmd, SBC_V_WRITE_VERIFY, &v);
}

enum sense_reason
sbc_orwrite(struct scsi_cmd *cmd)
{
	struct sbc_v_req v;
	enum sense_reason r;

	sbc_v_parse(cmd->cdb, &v);
	r = sbc_v_check(cmd, &v);
	if (r != SENSE_OK)
		return r;
	return sbc_v_run(cmd, SBC_V_ORWRITE, &v);
}
