/*
 * sbc_sanitize.c - SANITIZE (SBC-4 5.30; sanitize operations 4.11):
 * OVERWRITE, BLOCK ERASE and EXIT FAILURE MODE.
 *
 * CRYPTOGRAPHIC ERASE is not offered: our backstores keep no media
 * encryption key to change, so it has no entry in the command table
 * (dispatch answers INVALID FIELD IN CDB, byte 1 bit 4, and REPORT
 * SUPPORTED OPERATION CODES does not list it).
 *
 *  - OVERWRITE writes the initialization pattern, repeated to fill every
 *    logical block, over the whole LU OVERWRITE COUNT times, inverting it
 *    between passes when INVERT is set, then synchronizes the cache.
 *  - BLOCK ERASE deallocates the whole LU (BS_UNMAP, holes read back as
 *    zeroes), else has the backstore write zeroes, else writes zero blocks;
 *    then synchronizes the cache.
 *  - While an operation runs (lun->sanitize RUNNING) media access commands
 *    get NOT READY, SANITIZE IN PROGRESS (04/1B) from the medium gate
 *    (sbc_misc.c); INQUIRY, REPORT LUNS and REQUEST SENSE still run.  The
 *    operation belongs to the LU, not to the command: task management and
 *    connection loss do not stop it (SBC-4 4.11.2).  With IMMED the status
 *    comes at once.
 *  - An operation that fails leaves the LU in sanitize failure mode: media
 *    access commands get MEDIUM ERROR, SANITIZE COMMAND FAILED (31/03)
 *    until a SANITIZE succeeds, or, when the failed command had AUSE set,
 *    until EXIT FAILURE MODE.
 *
 * The operation holds the write range lock over the whole LU, so writes
 * already in flight when it starts finish first, and walks the medium in
 * SBC_SANITIZE_CHUNK writes on the issuing command's loop.
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

#define SBC_SANITIZE_CHUNK	(1u << 20)

/* service actions (SBC-4 table 157) */
#define SA_OVERWRITE		0x01
#define SA_BLOCK_ERASE		0x02
#define SA_EXIT_FAILURE_MODE	0x1f

enum sbc_san_step {
	SAN_ERASE,		/* one BS_UNMAP / BS_WRITE_ZEROES */
	SAN_WRITE,		/* pattern writes, chunk by chunk */
	SAN_FLUSH,
};

struct sbc_san {
	struct bs_io	 bio;
	struct lun_lock_req lock;
	bool		 locked;
	struct lun	*lun;		/* own reference */
	struct scsi_cmd	*cmd;		/* NULL with IMMED */
	struct loop	*loop;
	enum sbc_san_step step;
	bool		 ause;
	bool		 invert;
	unsigned int	 passes;	/* overwrite passes left */
	uint64_t	 size;		/* bytes of the LU */
	uint64_t	 off;		/* next byte to write */
	uint8_t		*buf;		/* blocks of the pattern */
	size_t		 buf_len;
	struct iovec	 iov;
};

/* Parsed OVERWRITE parameter list (SBC-4 table 159). */
struct sbc_san_overwrite {
	bool		 invert;
	unsigned int	 count;
	uint16_t	 pat_len;
	const uint8_t	*pat;
};

static void
sbc_san_set_state(struct lun *lun, uint8_t state)
{
	pthread_mutex_lock(&lun->lock);
	lun->sanitize = state;
	pthread_mutex_unlock(&lun->lock);
}

static void
sbc_san_free(struct sbc_san *s)
{
	if (s->locked)
		lun_lock_release(s->lun->range_lock, &s->lock);
	lun_put(s->lun);
	free(s->buf);
	free(s);
}

static void
sbc_san_end(struct sbc_san *s, int err)
{
	struct scsi_cmd *cmd = s->cmd;
	static unsigned int rl;

	if (err < 0 && log_ratelimited(&rl))
		log_warn("%s: SANITIZE failed at byte %llu: %s", s->lun->name,
		    (unsigned long long)s->off, strerror(-err));
	sbc_san_set_state(s->lun, err == 0 ? SBC_SANITIZE_IDLE :
	    s->ause ? SBC_SANITIZE_FAILED_AUSE : SBC_SANITIZE_FAILED);
	sbc_san_free(s);
	if (cmd != NULL)
		scsi_cmd_complete(cmd, err == 0 ? SENSE_OK :
		    SENSE_SANITIZE_FAILED);
}

static void sbc_san_io_done(struct bs_io *, int);

static int
sbc_san_submit(struct sbc_san *s, enum bs_op op, uint64_t off, uint64_t len)
{
	memset(&s->bio, 0, sizeof(s->bio));
	s->bio.op = op;
	s->bio.offset = off;
	s->bio.len = len;
	s->bio.loop = s->loop;
	s->bio.done = sbc_san_io_done;
	s->bio.priv = s;
	if (op == BS_WRITE) {
		s->iov.iov_base = s->buf;
		s->iov.iov_len = (size_t)len;
		s->bio.iov = &s->iov;
		s->bio.iovcnt = 1;
	}
	return backstore_submit(s->lun->bs, &s->bio);
}

static void
sbc_san_invert(struct sbc_san *s)
{
	size_t i;

	for (i = 0; i < s->buf_len; i++)
		s->buf[i] = (uint8_t)~s->buf[i];
}

/* Start the next I/O; 1 when done (nothing submitted), else 0 or -errno. */
static int
sbc_san_next(struct sbc_san *s)
{
	uint64_t len;

	switch (s->step) {
	case SAN_ERASE:
		return sbc_san_submit(s, (s->lun->bs->caps & BS_CAP_UNMAP) ?
		    BS_UNMAP : BS_WRITE_ZEROES, 0, s->size);
	case SAN_WRITE:
		if (s->off >= s->size) {
			s->off = 0;
			if (--s->passes == 0) {
				s->step = SAN_FLUSH;
				return sbc_san_next(s);
			}
			if (s->invert)
				sbc_san_invert(s);
		}
		len = MIN((uint64_t)s->buf_len, s->size - s->off);
		return sbc_san_submit(s, BS_WRITE, s->off, len);
	case SAN_FLUSH:
		return sbc_san_submit(s, BS_FLUSH, 0, 0);
	}
	return -EINVAL;
}

static void
sbc_san_run(struct sbc_san *s)
{
	int rc = sbc_san_next(s);

	if (rc == -EOPNOTSUPP && s->step == SAN_FLUSH)
		rc = 1;			/* nothing cached */
	if (rc < 0 && s->step == SAN_ERASE && rc == -EOPNOTSUPP) {
		/* neither deallocation nor zeroing: write zero blocks */
		s->step = SAN_WRITE;
		rc = sbc_san_next(s);
	}
	if (rc < 0)
		sbc_san_end(s, rc);
	else if (rc == 1)
		sbc_san_end(s, 0);
}

static void
sbc_san_io_done(struct bs_io *bio, int res)
{
	struct sbc_san *s = bio->priv;

	switch (s->step) {
	case SAN_ERASE:
		if (res == -EOPNOTSUPP || res == -EINVAL) {
			/* fall back to writing zero blocks */
			s->step = SAN_WRITE;
			sbc_san_run(s);
			return;
		}
		s->step = SAN_FLUSH;
		break;
	case SAN_WRITE:
		if (res == 0)
			s->off += bio->len;
		break;
	case SAN_FLUSH:
		if (res == -EOPNOTSUPP || res == -EINVAL)
			res = 0;
		if (res == 0) {
			sbc_san_end(s, 0);
			return;
		}
		break;
	}
	if (res < 0) {
		sbc_san_end(s, res);
		return;
	}
	sbc_san_run(s);
}

static void
sbc_san_granted(struct lun_lock_req *req)
{
	sbc_san_run(req->priv);
}

/* Pure: check and parse an OVERWRITE parameter list of plen bytes. */
static enum sense_reason
sbc_san_parse_overwrite(struct scsi_cmd *cmd, const uint8_t *p, size_t plen,
    struct sbc_san_overwrite *ow)
{
	ow->invert = p[0] & 0x80;
	ow->count = p[0] & 0x1f;
	ow->pat_len = get_be16(p + 2);
	ow->pat = p + 4;
	if (p[0] & 0x60)		/* TEST: 00b only */
		return scsi_invalid_field(cmd, false, 0, 6);
	if (ow->count == 0)
		return scsi_invalid_field(cmd, false, 0, 4);
	if (p[1] != 0)
		return scsi_invalid_field(cmd, false, 1, -1);
	if (ow->pat_len == 0 || ow->pat_len > cmd->lun->block_size ||
	    ow->pat_len + 4u != plen)
		return scsi_invalid_field(cmd, false, 2, -1);
	return SENSE_OK;
}

/* Fill buf with blocks, each the pattern repeated (SBC-4 5.30.3). */
static void
sbc_san_fill(uint8_t *buf, size_t len, const uint8_t *pat, size_t pat_len,
    uint32_t bs)
{
	size_t off, i;

	for (off = 0; off < len; off += bs)
		for (i = 0; i < bs; i++)
			buf[off + i] = pat[i % pat_len];
}

static enum sense_reason
sbc_san_exit_failure_mode(struct scsi_cmd *cmd)
{
	struct lun *lun = cmd->lun;
	enum sense_reason r = SENSE_OK;

	pthread_mutex_lock(&lun->lock);
	if (lun->sanitize == SBC_SANITIZE_FAILED)
		/* SBC-4 5.30.2: the failed SANITIZE had AUSE = 0 */
		r = scsi_invalid_field(cmd, true, 1, 4);
	else if (lun->sanitize == SBC_SANITIZE_FAILED_AUSE)
		lun->sanitize = SBC_SANITIZE_IDLE;
	pthread_mutex_unlock(&lun->lock);
	return r;
}

enum sense_reason
sbc_sanitize(struct scsi_cmd *cmd)
{
	struct lun *lun = cmd->lun;
	uint8_t sa = cmd->cdb[1] & SCSI_SA_MASK, *p = NULL;
	bool immed = cmd->cdb[1] & 0x80;
	uint16_t plen = get_be16(cmd->cdb + 7);
	struct sbc_san_overwrite ow;
	enum sense_reason r;
	struct sbc_san *s;
	int rc;

	memset(&ow, 0, sizeof(ow));
	if (sa != SA_OVERWRITE) {
		/* BLOCK ERASE, EXIT FAILURE MODE: no parameter list */
		if (plen != 0)
			return scsi_invalid_field(cmd, true, 7, -1);
		if (sa == SA_EXIT_FAILURE_MODE)
			return sbc_san_exit_failure_mode(cmd);
	} else {
		if (plen < 5 || plen > lun->block_size + 4u)
			return scsi_invalid_field(cmd, true, 7, -1);
		cmd->spdtl = plen;
		if (scsi_cmd_data_cap(cmd, false) < plen)
			return SENSE_PARAM_LIST_LENGTH_ERROR;
		/* the pattern stays in cmd->buf until the buffer is filled */
		p = cmd->buf = xmalloc(plen);
		if (p == NULL)
			return SENSE_BUSY;
		scsi_cmd_copy_from_buf(cmd, 0, p, plen);
		cmd->xfer_len = plen;
		r = sbc_san_parse_overwrite(cmd, p, plen, &ow);
		if (r != SENSE_OK)
			return r;
	}
	s = xcalloc(1, sizeof(*s));
	if (s == NULL)
		return SENSE_BUSY;
	s->size = lun->nblocks * lun->block_size;
	s->buf_len = (size_t)MIN((uint64_t)(SBC_SANITIZE_CHUNK /
	    lun->block_size * lun->block_size), s->size);
	s->buf = xcalloc(1, s->buf_len ? s->buf_len : 1);
	if (s->buf == NULL) {
		free(s);
		return SENSE_BUSY;
	}
	lun_get(lun);
	s->lun = lun;
	s->loop = cmd->loop;
	s->cmd = immed ? NULL : cmd;
	s->ause = cmd->cdb[1] & 0x20;
	s->passes = 1;
	s->step = SAN_ERASE;
	if (sa == SA_OVERWRITE) {
		s->step = SAN_WRITE;
		s->invert = ow.invert;
		s->passes = ow.count;
		sbc_san_fill(s->buf, s->buf_len, ow.pat, ow.pat_len,
		    lun->block_size);
	}
	if (s->size == 0)
		s->step = SAN_FLUSH;
	sbc_san_set_state(lun, SBC_SANITIZE_RUNNING);
	/* in-flight writers finish first */
	s->lock.lba = 0;
	s->lock.nblocks = lun->nblocks;
	s->lock.loop = s->loop;
	s->lock.granted = sbc_san_granted;
	s->lock.priv = s;
	rc = lun_lock_acquire(lun->range_lock, &s->lock);
	if (rc < 0) {
		sbc_san_set_state(lun, SBC_SANITIZE_IDLE);
		s->cmd = NULL;
		sbc_san_free(s);
		return sense_from_errno(rc, true);
	}
	s->locked = true;
	if (rc == 0)
		sbc_san_run(s);
	/* s may be gone here */
	return immed ? SENSE_OK : SCSI_ASYNC;
}
