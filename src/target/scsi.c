/*
 * scsi.c - command dispatch: lookup in the command table, CDB usage mask,
 * the flag gates in SAM/SPC order, execution, completion with sense, and
 * release of per-command resources.  Also the LUN field codec and the
 * engine side of task management.
 *
 * Gate order in scsi_cmd_prepare() (SAM-5 5.14 unit attention, SPC-4
 * 5.13 reservations, SBC-3 4.11 write protection):
 *   1. LUN not mapped: INQUIRY answers PQ=011b, REPORT LUNS and REQUEST
 *      SENSE run, others get LOGICAL UNIT NOT SUPPORTED.
 *   2. Unknown opcode / service action.
 *   3. CDB length and usage mask (field pointer to the first stray bit).
 *   4. Pending unit attention, reported and cleared (unless OP_NO_UA).
 *   5. Reservation conflict (hook, filled by the reservations issue).
 *   6. Medium ready (OP_NEEDS_MEDIUM; always ready for now).
 *   7. Write protect for OP_WRITE.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "lun.h"
#include "pr.h"
#include "scsi_int.h"
#include "target.h"
#include "util.h"
#include "xcopy/copy_engine.h"

void
scsi_cmd_init(struct scsi_cmd *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
}

/* --- table lookup and usage mask --- */

bool
scsi_op_has_sa(uint8_t op)
{
	const struct scsi_op *sa = scsi_ops[op].sa;
	unsigned int i;

	if (sa == NULL)
		return false;
	for (i = 0; i < SCSI_SA_COUNT; i++)
		if (sa[i].exec != NULL)
			return true;
	return false;
}

const struct scsi_op *
scsi_op_lookup(struct scsi_cmd *cmd, enum sense_reason *reason)
{
	const struct scsi_op *e = &scsi_ops[cmd->cdb[0]];

	if (e->sa != NULL) {
		if (!scsi_op_has_sa(cmd->cdb[0])) {
			*reason = SENSE_INVALID_OPCODE;
			return NULL;
		}
		e = &e->sa[cmd->cdb[1] & SCSI_SA_MASK];
		if (!scsi_op_avail(e, cmd->lun)) {
			*reason = scsi_invalid_field(cmd, true, 1, 4);
			return NULL;
		}
		return e;
	}
	if (!scsi_op_avail(e, cmd->lun)) {
		*reason = SENSE_INVALID_OPCODE;
		return NULL;
	}
	return e;
}

bool
scsi_op_avail(const struct scsi_op *e, const struct lun *lun)
{
	if (e->exec == NULL)
		return false;
	return e->avail == NULL || lun == NULL || e->avail(lun);
}

static int
scsi_highest_bit(uint8_t v)
{
	int b;

	for (b = 7; b > 0; b--)
		if (v & (1u << b))
			break;
	return b;
}

enum sense_reason
scsi_op_check_usage(struct scsi_cmd *cmd, const struct scsi_op *e,
    bool has_sa)
{
	unsigned int i;
	uint8_t allowed, stray;

	if (cmd->cdb_len < e->cdb_len)
		return scsi_invalid_field(cmd, true, 0, -1);
	for (i = 1; i < e->cdb_len; i++) {
		allowed = e->usage[i];
		if (i == 1 && has_sa)
			allowed |= SCSI_SA_MASK;
		stray = cmd->cdb[i] & (uint8_t)~allowed;
		if (stray != 0)
			return scsi_invalid_field(cmd, true, (uint16_t)i,
			    scsi_highest_bit(stray));
	}
	return SENSE_OK;
}

/* --- helpers for handlers --- */

uint32_t
scsi_cmd_data_cap(const struct scsi_cmd *cmd, bool in)
{
	if (cmd->iov == NULL || cmd->iov_cnt <= 0)
		return 0;
	if (cmd->dir == SCSI_DIR_BIDI)
		return cmd->data_len;
	if (in)
		return cmd->dir == SCSI_DIR_IN ? cmd->data_len : 0;
	return cmd->dir == SCSI_DIR_OUT ? cmd->data_len : 0;
}

static size_t
scsi_iov_copy(struct scsi_cmd *cmd, size_t off, void *flat, size_t len,
    bool to_iov)
{
	size_t done = 0, cap;
	int i;

	cap = cmd->data_len;
	if (off >= cap)
		return 0;
	len = MIN(len, cap - off);
	for (i = 0; i < cmd->iov_cnt && done < len; i++) {
		size_t ilen = cmd->iov[i].iov_len, n;
		uint8_t *base = cmd->iov[i].iov_base;

		if (off >= ilen) {
			off -= ilen;
			continue;
		}
		n = MIN(ilen - off, len - done);
		if (to_iov)
			memcpy(base + off, (uint8_t *)flat + done, n);
		else
			memcpy((uint8_t *)flat + done, base + off, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t
scsi_cmd_copy_to_buf(struct scsi_cmd *cmd, size_t off, const void *src,
    size_t len)
{
	return scsi_iov_copy(cmd, off, (void *)(uintptr_t)src, len, true);
}

size_t
scsi_cmd_copy_from_buf(struct scsi_cmd *cmd, size_t off, void *dst,
    size_t len)
{
	return scsi_iov_copy(cmd, off, dst, len, false);
}

void
scsi_cmd_data_in(struct scsi_cmd *cmd, const void *buf, size_t n)
{
	size_t cap = scsi_cmd_data_cap(cmd, true);

	cmd->spdtl = n;
	cmd->xfer_len = (uint32_t)scsi_cmd_copy_to_buf(cmd, 0, buf,
	    MIN(n, cap));
}

bool
scsi_cmd_desc_sense(const struct scsi_cmd *cmd)
{
	struct lun_mode m;

	if (cmd->lun == NULL)
		return false;
	lun_mode_get(cmd->lun, &m);
	return m.d_sense;
}

bool
scsi_cmd_write_protected(const struct scsi_cmd *cmd)
{
	struct lun_mode m;

	if (cmd->lun == NULL)
		return false;
	if (cmd->write_protect || cmd->lun->read_only)
		return true;
	lun_mode_get(cmd->lun, &m);
	return m.swp;
}

/* --- dispatch --- */

/* Reservation gate: the persistent reservations issue fills this in
 * (SPC-4 5.13, table of commands allowed in the presence of reservations;
 * OP_RESV_OK marks them). */
static enum sense_reason
scsi_resv_check(struct scsi_cmd *cmd)
{
	return pr_cmd_check(cmd);
}

/* Medium gate: stopped by START STOP UNIT or being sanitized answers NOT
 * READY (sbc_misc.c); removable or fenced backstores will answer here. */
static enum sense_reason
scsi_medium_check(struct scsi_cmd *cmd)
{
	return sbc_medium_check(cmd);
}

enum sense_reason
scsi_cmd_prepare(struct scsi_cmd *cmd)
{
	const struct scsi_op *e;
	enum sense_reason r = SENSE_OK;
	uint8_t asc, ascq;
	bool wp = false;

	memset(&cmd->sd, 0, sizeof(cmd->sd));
	if (cmd->lun == NULL) {
		cmd->lun = nexus_lun_get(cmd->nexus, cmd->lun_id, &wp);
		cmd->write_protect = wp;
	}
	e = scsi_op_lookup(cmd, &r);
	if (cmd->lun == NULL && (e == NULL || !(e->flags & OP_ANY_LUN))) {
		memset(&cmd->sd, 0, sizeof(cmd->sd));
		return SENSE_LUN_NOT_SUPPORTED;
	}
	if (e == NULL)
		return r;
	cmd->op = e;
	r = scsi_op_check_usage(cmd, e, scsi_ops[cmd->cdb[0]].sa != NULL);
	if (r != SENSE_OK)
		return r;
	if (cmd->lun == NULL)
		return SENSE_OK;
	if (!(e->flags & OP_NO_UA) &&
	    nexus_ua_pop(cmd->nexus, cmd->lun_id, &asc, &ascq)) {
		cmd->sd.ua_asc = asc;
		cmd->sd.ua_ascq = ascq;
		return SENSE_UNIT_ATTENTION;
	}
	if (!(e->flags & OP_RESV_OK)) {
		r = scsi_resv_check(cmd);
		if (r != SENSE_OK)
			return r;
	}
	if (e->flags & OP_NEEDS_MEDIUM) {
		r = scsi_medium_check(cmd);
		if (r != SENSE_OK)
			return r;
	}
	if (e->flags & OP_WRITE)
		return sbc_write_protect_check(cmd);	/* 27/00 or 27/02 */
	return SENSE_OK;
}

void
scsi_cmd_execute(struct scsi_cmd *cmd)
{
	enum sense_reason r;

	if (cmd->op == NULL || cmd->op->exec == NULL) {
		scsi_cmd_complete(cmd, SENSE_INTERNAL_TARGET_FAILURE);
		return;
	}
	if (cmd->aborted) {
		scsi_cmd_complete(cmd, SENSE_TASK_ABORTED);
		return;
	}
	r = cmd->op->exec(cmd);
	if (r != SCSI_ASYNC)
		scsi_cmd_complete(cmd, r);
}

static void
scsi_cmd_set_status(struct scsi_cmd *cmd, enum sense_reason reason)
{
	if (reason == SENSE_RAW) {
		cmd->status = SAM_STAT_CHECK_CONDITION;
		return;
	}
	cmd->sense_len = sense_build(reason, &cmd->sd,
	    scsi_cmd_desc_sense(cmd), cmd->sense, sizeof(cmd->sense),
	    &cmd->status);
}

void
scsi_cmd_complete(struct scsi_cmd *cmd, enum sense_reason reason)
{
	if (reason != SENSE_OK) {
		/* a failed command reports no data */
		cmd->xfer_len = 0;
		cmd->spdtl = 0;
	}
	cmd->abort_fn = NULL;
	scsi_cmd_set_status(cmd, reason);
	if (cmd->done != NULL)
		cmd->done(cmd);
}

void
scsi_cmd_abort(struct scsi_cmd *cmd)
{
	void (*fn)(struct scsi_cmd *) = cmd->abort_fn;

	cmd->aborted = true;
	if (fn != NULL)
		fn(cmd);
}

void
scsi_cmd_fail(struct scsi_cmd *cmd, enum sense_reason reason)
{
	cmd->xfer_len = 0;
	cmd->spdtl = 0;
	cmd->abort_fn = NULL;
	if (reason == SENSE_OK)
		reason = SENSE_INTERNAL_TARGET_FAILURE;
	scsi_cmd_set_status(cmd, reason);
	if (cmd->done != NULL)
		cmd->done(cmd);
}

void
scsi_cmd_release(struct scsi_cmd *cmd)
{
	if (cmd->hpriv != NULL && cmd->hpriv_free != NULL)
		cmd->hpriv_free(cmd->hpriv);
	cmd->hpriv = NULL;
	cmd->hpriv_free = NULL;
	free(cmd->buf);
	cmd->buf = NULL;
	if (cmd->lun != NULL)
		lun_put(cmd->lun);
	cmd->lun = NULL;
	cmd->op = NULL;
}

/* --- LUN field (SAM-5 4.7) --- */

uint64_t
scsi_lun_decode(const uint8_t l[8])
{
	unsigned int i, first_zero;

	switch (l[0] >> 6) {
	case 0:		/* peripheral device addressing, bus 0 */
		if ((l[0] & 0x3f) != 0)
			return SCSI_LUN_INVALID;
		first_zero = 2;
		break;
	case 1:		/* flat space */
		first_zero = 2;
		break;
	case 3:		/* extended flat space, 3 bytes */
		if (l[0] != 0xd2)
			return SCSI_LUN_INVALID;
		first_zero = 4;
		break;
	default:
		return SCSI_LUN_INVALID;
	}
	/* single level only: the lower levels must be zero */
	for (i = first_zero; i < 8; i++)
		if (l[i] != 0)
			return SCSI_LUN_INVALID;
	if (l[0] >> 6 == 3)
		return get_be24(l + 1);
	if (l[0] >> 6 == 1)
		return ((uint64_t)(l[0] & 0x3f) << 8) | l[1];
	return l[1];
}

void
scsi_lun_encode(uint64_t lun_id, uint8_t out[8])
{
	memset(out, 0, 8);
	if (lun_id < 256) {
		out[1] = (uint8_t)lun_id;
	} else if (lun_id < 0x4000) {
		out[0] = 0x40 | (uint8_t)(lun_id >> 8);
		out[1] = (uint8_t)lun_id;
	} else {
		out[0] = 0xd2;
		put_be24(out + 1, (uint32_t)MIN(lun_id, 0xffffffu));
	}
}

/* --- task management --- */

struct scsi_tmf_ua {
	uint8_t	 asc, ascq;
	const struct lun *lun;
};

static void
scsi_tmf_ua_one(struct scsi_nexus *nx, void *arg)
{
	const struct scsi_tmf_ua *u = arg;

	nexus_ua_add(nx, u->lun, u->asc, u->ascq);
}

/* Queue a reset UA on every nexus that maps lun. */
static void
scsi_tmf_reset_lun(struct lun *lun, uint8_t ascq)
{
	struct scsi_tmf_ua u = { .asc = 0x29, .ascq = ascq, .lun = lun };

	pr_lun_reset(lun);	/* SPC-2 reservations end; PRs stay */
	/* SAM-5 6.6: the reset aborts the LU's tasks, background copies
	 * (IMMED) included, and copies of other LUs reading or writing it;
	 * the front end aborts its own commands */
	copy_jobs_abort_lun(lun);
	/* ROD tokens stay valid, as in FreeBSD CTL: a reset changes no
	 * data (docs/odx.md, "Expiry, resets, LU changes") */
	target_foreach_nexus(lun, scsi_tmf_ua_one, &u);
}

int
scsi_tmf_effects(struct scsi_nexus *nx, enum scsi_tmf tmf, uint64_t lun_id)
{
	struct lun *lun, **luns;
	unsigned int i, n;

	switch (tmf) {
	case SCSI_TMF_LUN_RESET:
		/* SAM-5 6.6: BUS DEVICE RESET FUNCTION OCCURRED (29/03)
		 * for every I_T nexus of the LU */
		lun = nexus_lun_get(nx, lun_id, NULL);
		if (lun == NULL)
			return -ENOENT;
		scsi_tmf_reset_lun(lun, 0x03);
		lun_put(lun);
		return 0;
	case SCSI_TMF_TARGET_WARM_RESET:
	case SCSI_TMF_TARGET_COLD_RESET:
		/* every LU this nexus reaches, for every nexus of it:
		 * 29/03, or POWER ON OCCURRED (29/01) for a cold reset.
		 * References first: the callbacks lock nexuses. */
		pthread_mutex_lock(&nx->lock);
		n = nx->n_luns;
		luns = xcalloc(n ? n : 1, sizeof(*luns));
		for (i = 0; luns != NULL && i < n; i++) {
			luns[i] = nx->luns[i].lun;
			lun_get(luns[i]);
		}
		pthread_mutex_unlock(&nx->lock);
		if (luns == NULL)
			return -ENOMEM;
		for (i = 0; i < n; i++) {
			scsi_tmf_reset_lun(luns[i],
			    tmf == SCSI_TMF_TARGET_COLD_RESET ? 0x01 : 0x03);
			lun_put(luns[i]);
		}
		free(luns);
		return 0;
	case SCSI_TMF_ABORT_TASK_SET:
	case SCSI_TMF_CLEAR_TASK_SET:
	case SCSI_TMF_CLEAR_ACA:
		lun = nexus_lun_get(nx, lun_id, NULL);
		if (lun == NULL)
			return -ENOENT;
		lun_put(lun);
		return 0;
	default:
		return 0;
	}
}

void
scsi_init(void)
{
	unsigned int op, sa;

	/* self checks: every entry has a CDB length and its opcode byte */
	for (op = 0; op < 256; op++) {
		const struct scsi_op *e = &scsi_ops[op];

		if (e->exec != NULL && (e->cdb_len < 6 ||
		    e->cdb_len > SCSI_CDB_MAX))
			log_err("scsi: opcode %02xh has a bad CDB length", op);
		for (sa = 0; e->sa != NULL && sa < SCSI_SA_COUNT; sa++)
			if (e->sa[sa].exec != NULL &&
			    (e->sa[sa].cdb_len < 6 ||
			    e->sa[sa].cdb_len > SCSI_CDB_MAX))
				log_err("scsi: %02xh/%02xh has a bad CDB "
				    "length", op, sa);
	}
}
