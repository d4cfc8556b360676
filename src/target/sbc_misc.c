/*
 * sbc_misc.c - the smaller block commands: PRE-FETCH (10/16), START STOP
 * UNIT, PREVENT ALLOW MEDIUM REMOVAL, READ DEFECT DATA (10/12), and the
 * dispatch gates for the medium state and write protection.
 *
 * Our logical units are fixed disks (INQUIRY RMB = 0):
 *
 *  - START STOP UNIT with START = 0 puts the LU in the stopped power
 *    condition (SBC-4 4.20): TEST UNIT READY and every media access
 *    command then end in NOT READY, LOGICAL UNIT NOT READY, INITIALIZING
 *    COMMAND REQUIRED (04/02) until START = 1.  Stopping synchronizes the
 *    cache first unless NO_FLUSH.  There is no medium to load or eject, so
 *    LOEJ = 1 is INVALID FIELD IN CDB; the power conditions ACTIVE, IDLE,
 *    STANDBY and their FORCE/LU_CONTROL forms are accepted without effect
 *    (no power condition timers; the LU services media access commands in
 *    any of them).
 *  - PREVENT ALLOW MEDIUM REMOVAL is accepted for every PREVENT value: with
 *    no removable medium there is nothing to lock (SPC-4 6.13 leaves 10b
 *    and 11b obsolete).
 *  - READ DEFECT DATA returns empty PLIST/GLIST in the format asked for.
 *  - PRE-FETCH asks the page cache for the range (posix_fadvise WILLNEED on
 *    the blocking pool) and answers CONDITION MET when the whole range fits
 *    the cache we allow one request (SBC_PREFETCH_CACHE_BYTES), GOOD when
 *    only its head does (SBC-4 5.11).  With IMMED the status comes first and
 *    the advice runs detached.
 *
 * Write protection (SBC-4 4.11): a LUN the ACL maps read-only and a
 * read-only LU answer DATA PROTECT, WRITE PROTECTED (27/00); the SWP bit
 * of the Control mode page answers LOGICAL UNIT SOFTWARE WRITE PROTECTED
 * (27/02).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "backstore.h"
#include "log.h"
#include "loop.h"
#include "lun.h"
#include "scsi_int.h"
#include "util.h"

/* Most one PRE-FETCH may ask the page cache to hold. */
#define SBC_PREFETCH_CACHE_BYTES	(64u << 20)

/* --- gates --- */

enum sense_reason
sbc_medium_check(struct scsi_cmd *cmd)
{
	struct lun *lun = cmd->lun;
	enum sense_reason r = SENSE_OK;

	pthread_mutex_lock(&lun->lock);
	if (lun->sanitize == SBC_SANITIZE_RUNNING)
		r = SENSE_SANITIZE_IN_PROGRESS;
	else if (lun->stopped)
		r = SENSE_NOT_READY_INIT_REQUIRED;
	else if (lun->sanitize != SBC_SANITIZE_IDLE && cmd->cdb[0] != 0x48)
		/* SBC-4 4.11.3: only a new SANITIZE leaves failure mode */
		r = SENSE_SANITIZE_FAILED;
	pthread_mutex_unlock(&lun->lock);
	return r;
}

enum sense_reason
sbc_write_protect_check(struct scsi_cmd *cmd)
{
	struct lun_mode m;

	if (cmd->write_protect || cmd->lun->read_only)
		return SENSE_WRITE_PROTECTED;
	lun_mode_get(cmd->lun, &m);
	return m.swp ? SENSE_SOFTWARE_WRITE_PROTECTED : SENSE_OK;
}

/* --- PRE-FETCH (SBC-4 5.11, 5.12) --- */

struct sbc_prefetch {
	struct scsi_cmd	*cmd;		/* NULL with IMMED */
	struct lun	*lun;		/* own reference */
	int		 fd;
	uint64_t	 off;
	uint64_t	 len;
	int		 err;
	enum sense_reason ok;		/* CONDITION MET or GOOD */
};

static void
sbc_prefetch_work(void *arg)
{
	struct sbc_prefetch *p = arg;

	p->err = posix_fadvise(p->fd, (off_t)p->off, (off_t)p->len,
	    POSIX_FADV_WILLNEED);
}

static void
sbc_prefetch_done(void *arg)
{
	struct sbc_prefetch *p = arg;
	struct scsi_cmd *cmd = p->cmd;
	enum sense_reason r = p->ok;

	/* advice refused: nothing is cached, which is GOOD (5.11) */
	if (p->err != 0)
		r = SENSE_OK;
	lun_put(p->lun);
	free(p);
	if (cmd != NULL)
		scsi_cmd_complete(cmd, r);
}

enum sense_reason
sbc_prefetch(struct scsi_cmd *cmd)
{
	struct lun *lun = cmd->lun;
	bool ten = cmd->cdb[0] == 0x34, immed = cmd->cdb[1] & 0x02;
	uint64_t lba = ten ? get_be32(cmd->cdb + 2) : get_be64(cmd->cdb + 2);
	uint64_t n = ten ? get_be16(cmd->cdb + 7) : get_be32(cmd->cdb + 10);
	struct sbc_prefetch *p;
	enum sense_reason r, ok;
	uint64_t bytes;
	int rc;

	r = sbc_check_range(lun, lba, n);
	if (r != SENSE_OK)
		return r;
	/* 0 blocks: from lba to the end of the medium */
	if (n == 0)
		n = lun->nblocks - lba;
	bytes = n * lun->block_size;
	ok = bytes <= SBC_PREFETCH_CACHE_BYTES ? SENSE_CONDITION_MET :
	    SENSE_OK;
	if (bytes == 0)
		return SENSE_CONDITION_MET;
	/* not file backed (mem): the whole LU is already in memory */
	if (lun->bs == NULL || lun->bs->fd < 0)
		return ok;
	p = xcalloc(1, sizeof(*p));
	if (p == NULL)
		return immed ? ok : SENSE_BUSY;
	lun_get(lun);
	p->lun = lun;
	p->fd = lun->bs->fd;
	p->off = lba * lun->block_size;
	p->len = MIN(bytes, (uint64_t)SBC_PREFETCH_CACHE_BYTES);
	p->ok = ok;
	p->cmd = immed ? NULL : cmd;
	rc = loop_pool_run(cmd->loop, sbc_prefetch_work, sbc_prefetch_done, p);
	if (rc < 0) {
		lun_put(lun);
		free(p);
		return SENSE_OK;	/* nothing fetched */
	}
	return immed ? ok : SCSI_ASYNC;
}

/* --- START STOP UNIT (SBC-4 5.25) --- */

struct sbc_ssu {
	struct bs_io	 bio;
	struct scsi_cmd	*cmd;
};

static void
sbc_ssu_set(struct lun *lun, bool stopped)
{
	pthread_mutex_lock(&lun->lock);
	lun->stopped = stopped;
	pthread_mutex_unlock(&lun->lock);
}

static void
sbc_ssu_flushed(struct bs_io *bio, int res)
{
	struct sbc_ssu *s = bio->priv;
	struct scsi_cmd *cmd = s->cmd;

	if (res == -EOPNOTSUPP || res == -EINVAL)
		res = 0;		/* nothing cached */
	if (res == 0)
		sbc_ssu_set(cmd->lun, true);
	scsi_cmd_complete(cmd, sense_from_errno(res, true));
}

/* POWER CONDITION and its MODIFIER (SBC-4 table 142). */
static enum sense_reason
sbc_ssu_power_condition(struct scsi_cmd *cmd, uint8_t pc, uint8_t mod)
{
	uint8_t max_mod;

	switch (pc) {
	case 0x1:			/* ACTIVE */
	case 0x7:			/* LU_CONTROL */
		max_mod = 0;
		break;
	case 0x2:			/* IDLE: idle_a, idle_b, idle_c */
	case 0xa:			/* FORCE_IDLE_0 */
		max_mod = 2;
		break;
	case 0x3:			/* STANDBY: standby_z, standby_y */
	case 0xb:			/* FORCE_STANDBY_0 */
		max_mod = 1;
		break;
	default:
		return scsi_invalid_field(cmd, true, 4, 7);
	}
	if (mod > max_mod)
		return scsi_invalid_field(cmd, true, 3, 3);
	return SENSE_OK;
}

enum sense_reason
sbc_start_stop_unit(struct scsi_cmd *cmd)
{
	uint8_t pc = cmd->cdb[4] >> 4, mod = cmd->cdb[3] & 0x0f;
	bool no_flush = cmd->cdb[4] & 0x04, loej = cmd->cdb[4] & 0x02;
	bool start = cmd->cdb[4] & 0x01;
	struct sbc_ssu *s;
	int rc;

	if (sbc_medium_check(cmd) == SENSE_SANITIZE_IN_PROGRESS)
		return SENSE_SANITIZE_IN_PROGRESS;
	/* START and LOEJ only count with POWER CONDITION 0h (START_VALID) */
	if (pc != 0)
		return sbc_ssu_power_condition(cmd, pc, mod);
	if (mod != 0)
		return scsi_invalid_field(cmd, true, 3, 3);
	if (loej)			/* no removable medium */
		return scsi_invalid_field(cmd, true, 4, 1);
	if (start || no_flush) {
		sbc_ssu_set(cmd->lun, !start);
		return SENSE_OK;
	}
	/* stopping: synchronize the cache first (NO_FLUSH = 0) */
	s = xcalloc(1, sizeof(*s));
	if (s == NULL)
		return SENSE_BUSY;
	cmd->hpriv = s;
	cmd->hpriv_free = free;
	s->cmd = cmd;
	s->bio.op = BS_FLUSH;
	s->bio.loop = cmd->loop;
	s->bio.done = sbc_ssu_flushed;
	s->bio.priv = s;
	rc = backstore_submit(cmd->lun->bs, &s->bio);
	if (rc == -EOPNOTSUPP) {
		sbc_ssu_set(cmd->lun, true);
		return SENSE_OK;
	}
	if (rc < 0)
		return sense_from_errno(rc, true);
	return SCSI_ASYNC;
}

/* --- PREVENT ALLOW MEDIUM REMOVAL (SPC-4 6.13) --- */

enum sense_reason
sbc_prevent_allow(struct scsi_cmd *cmd)
{
	/* RMB = 0: no medium to lock; every PREVENT value is accepted */
	(void)cmd;
	return SENSE_OK;
}

/* --- READ DEFECT DATA (SBC-4 5.17, 5.18) --- */

enum sense_reason
sbc_read_defect_data(struct scsi_cmd *cmd)
{
	bool ten = cmd->cdb[0] == 0x37;
	uint8_t req = ten ? cmd->cdb[2] : cmd->cdb[1];
	uint32_t alloc = ten ? get_be16(cmd->cdb + 7) :
	    get_be32(cmd->cdb + 6);
	uint8_t b[8];
	size_t len = ten ? 4 : 8;

	/* 110b is vendor specific, 111b reserved (SBC-4 table 196) */
	if ((req & 0x07) == 0x07)
		return scsi_invalid_field(cmd, true, ten ? 2 : 1, 2);
	memset(b, 0, sizeof(b));
	/* PLISTV, GLISTV: the lists asked for are returned (empty) in the
	 * format asked for; DEFECT LIST LENGTH 0 */
	b[1] = req & 0x1f;
	scsi_cmd_data_in(cmd, b, MIN(len, (size_t)alloc));
	return SENSE_OK;
}
