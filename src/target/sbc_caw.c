/*
 * sbc_caw.c - COMPARE AND WRITE (SBC-4 5.3).
 *
 * The Data-Out buffer holds NUMBER OF LOGICAL BLOCKS of verify data and
 * as many of write data.  Under the LU's range lock (lun_lock.h, which
 * every medium write takes) we read the blocks, compare them with the
 * verify data and, only if they are equal, write the write data: the
 * three steps are one atomic operation for every other command, loop and
 * session.  A mismatch ends with MISCOMPARE / MISCOMPARE DURING VERIFY
 * OPERATION (1D/00) and the INFORMATION field set to the offset of the
 * first differing byte in the Data-Out buffer; the medium is unchanged.
 *
 * A Data-Out length other than 2 x NUMBER OF LOGICAL BLOCKS x block size
 * is INVALID FIELD IN CDB (pointing at NUMBER OF LOGICAL BLOCKS), as is
 * a NUMBER above MAXIMUM COMPARE AND WRITE LENGTH (VPD B0h).  NUMBER 0
 * with no data is a no-op (SBC-4: not an error).
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

struct sbc_caw {
	struct scsi_cmd	*cmd;
	struct lun_lock_req lk;
	struct bs_io	 bio;
	struct iovec	 iov;
	uint64_t	 lba;
	size_t		 len;		/* bytes of each half */
	bool		 fua;
	bool		 writing;
	uint8_t		*data;		/* verify data, then write data */
	uint8_t		*rbuf;		/* what the medium holds */
};

static void
sbc_caw_free(void *arg)
{
	struct sbc_caw *c = arg;

	free(c->data);
	free(c->rbuf);
	free(c);
}

static void
sbc_caw_finish(struct sbc_caw *c, enum sense_reason r)
{
	lun_lock_release(c->cmd->lun->range_lock, &c->lk);
	scsi_cmd_complete(c->cmd, r);
}

/* Offset of the first byte where a and b differ, or len. */
static size_t
sbc_caw_mismatch(const uint8_t *a, const uint8_t *b, size_t len)
{
	size_t i = 0;

	/* memcmp first: equal data (the common case) is one pass */
	if (memcmp(a, b, len) == 0)
		return len;
	while (i < len && a[i] == b[i])
		i++;
	return i;
}

static void
sbc_caw_io_done(struct bs_io *bio, int res)
{
	struct sbc_caw *c = bio->priv;
	struct scsi_cmd *cmd = c->cmd;
	static unsigned int rl;
	size_t off;
	int rc;

	if (res < 0) {
		if (log_ratelimited(&rl))
			log_warn("%s: compare and write %s at LBA %llu "
			    "failed: %s", cmd->lun->name,
			    c->writing ? "write" : "read",
			    (unsigned long long)c->lba, strerror(-res));
		cmd->sd.info_valid = true;
		cmd->sd.info = c->lba;
		sbc_caw_finish(c, sense_from_errno(res, c->writing));
		return;
	}
	if (c->writing) {
		cmd->xfer_len = (uint32_t)(2 * c->len);
		sbc_caw_finish(c, SENSE_OK);
		return;
	}
	off = sbc_caw_mismatch(c->rbuf, c->data, c->len);
	if (off < c->len) {
		/* SBC-4 5.3: offset of the first byte that was not equal */
		cmd->sd.info_valid = true;
		cmd->sd.info = off;
		sbc_caw_finish(c, SENSE_MISCOMPARE);
		return;
	}
	c->writing = true;
	memset(&c->bio, 0, sizeof(c->bio));
	c->iov.iov_base = c->data + c->len;
	c->iov.iov_len = c->len;
	c->bio.op = BS_WRITE;
	c->bio.flags = c->fua ? BS_IO_FUA : 0;
	c->bio.offset = c->lba * cmd->lun->block_size;
	c->bio.len = c->len;
	c->bio.iov = &c->iov;
	c->bio.iovcnt = 1;
	c->bio.loop = cmd->loop;
	c->bio.done = sbc_caw_io_done;
	c->bio.priv = c;
	rc = backstore_submit(cmd->lun->bs, &c->bio);
	if (rc < 0)
		sbc_caw_finish(c, sense_from_errno(rc, true));
}

/* Holding the range: read what is there. */
static void
sbc_caw_start(struct sbc_caw *c)
{
	struct scsi_cmd *cmd = c->cmd;
	int rc;

	c->iov.iov_base = c->rbuf;
	c->iov.iov_len = c->len;
	c->bio.op = BS_READ;
	c->bio.offset = c->lba * cmd->lun->block_size;
	c->bio.len = c->len;
	c->bio.iov = &c->iov;
	c->bio.iovcnt = 1;
	c->bio.loop = cmd->loop;
	c->bio.done = sbc_caw_io_done;
	c->bio.priv = c;
	rc = backstore_submit(cmd->lun->bs, &c->bio);
	if (rc < 0)
		sbc_caw_finish(c, sense_from_errno(rc, false));
}

static void
sbc_caw_granted(struct lun_lock_req *lk)
{
	struct sbc_caw *c = lk->priv;

	if (c->cmd->aborted) {		/* aborted while waiting */
		sbc_caw_finish(c, SENSE_TASK_ABORTED);
		return;
	}
	sbc_caw_start(c);
}

enum sense_reason
sbc_compare_and_write(struct scsi_cmd *cmd)
{
	struct lun *lun = cmd->lun;
	uint64_t lba = get_be64(cmd->cdb + 2);
	unsigned int n = cmd->cdb[13];
	size_t len = (size_t)n * lun->block_size;
	struct lun_mode m;
	struct sbc_caw *c;
	enum sense_reason r;
	int rc;

	if (n > SBC_CAW_MAX_BLOCKS)
		return scsi_invalid_field(cmd, true, 13, -1);
	/* the Data-Out buffer must hold exactly both halves */
	if (scsi_cmd_data_cap(cmd, false) != 2 * len)
		return scsi_invalid_field(cmd, true, 13, -1);
	r = sbc_check_range(lun, lba, n);
	if (r != SENSE_OK)
		return r;
	cmd->spdtl = 2 * len;
	if (n == 0)
		return SENSE_OK;
	c = xcalloc(1, sizeof(*c));
	if (c == NULL)
		return SENSE_BUSY;
	c->data = xmalloc(2 * len);
	c->rbuf = xmalloc(len);
	cmd->hpriv = c;
	cmd->hpriv_free = sbc_caw_free;
	if (c->data == NULL || c->rbuf == NULL)
		return SENSE_BUSY;
	scsi_cmd_copy_from_buf(cmd, 0, c->data, 2 * len);
	c->cmd = cmd;
	c->lba = lba;
	c->len = len;
	lun_mode_get(lun, &m);
	c->fua = (cmd->cdb[1] & 0x08) || !m.wce;
	c->lk.lba = lba;
	c->lk.nblocks = n;
	c->lk.loop = cmd->loop;
	c->lk.granted = sbc_caw_granted;
	c->lk.priv = c;
	rc = lun_lock_acquire(lun->range_lock, &c->lk);
	if (rc < 0)
		return sense_from_errno(rc, true);
	if (rc == 0)
		sbc_caw_start(c);
	return SCSI_ASYNC;
}
