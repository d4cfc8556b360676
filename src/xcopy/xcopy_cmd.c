/*
 * xcopy_cmd.c - EXTENDED COPY (LID1 83h/00h, LID4 83h/01h).
 *
 * A command goes through:
 *   1. the parameter list: capped at the advertised limit, parsed by
 *      xcopy_parse() (ILLEGAL REQUEST with field pointers);
 *   2. the list-ID table: OPERATION IN PROGRESS when an active operation
 *      of this I_T nexus has the ID (xcopy_status.c);
 *   3. resolution: every CSCD a segment names becomes an LU of the issuing
 *      nexus's LUN map -- the E4h designator is compared with every
 *      logical-unit designator that LU reports in VPD 83h through this
 *      nexus, and nothing outside the map is ever considered
 *      (CVE-2020-28374).  FFFFh is the LU that received the command and
 *      C000h the null block LU (a source of zeroes, a sink that keeps
 *      nothing).  Unreachable: COPY ABORTED 0D/02; a DISK BLOCK LENGTH that
 *      is not the LU's: 26/00 at byte 29 of the descriptor; ranges past
 *      the end: COPY ABORTED 0D/02 with the forwarded 21/00;
 *   4. execution in phases on the command's loop: consecutive data
 *      segments (02h, 0Ah, 0Dh, 07h, 16h) form one struct copy_job run by
 *      the engine; a 14h segment registers a reservation key through the
 *      PR module between jobs; a 0Dh segment ends its job and the tail of
 *      its data is then read back into the held data (RECEIVE COPY DATA);
 *   5. completion: GOOD, or COPY ABORTED with the failing segment number in
 *      COMMAND-SPECIFIC INFORMATION and the failed I/O's status and sense
 *      forwarded; the result goes to the list-ID table.  LID4 with IMMED
 *      completes the command right after step 3 and the copy continues.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backstore.h"
#include "log.h"
#include "lun.h"
#include "pr.h"
#include "scsi_int.h"
#include "util.h"
#include "xcopy/copy_engine.h"
#include "xcopy/xcopy.h"
#include "xcopy/xcopy_int.h"

#define XCOPY_VPD_MAX	2048

/* A candidate LU of the nexus's map with its VPD 83h page. */
struct xcopy_cand {
	struct lun	*lun;		/* referenced */
	uint8_t		*vpd;
	size_t		 vpd_len;
};

struct xcopy_op {
	struct xcopy_nexus *xn;
	void		*ent;
	struct scsi_cmd	*cmd;		/* NULL once completed (IMMED) */
	struct scsi_nexus *nx;		/* NULL once orphaned */
	struct loop	*loop;
	bool		 desc_sense;
	struct copy_plan plan;
	struct lun	*self;		/* referenced */
	struct lun	**cscd_lu;	/* per CSCD, referenced or NULL */
	struct xcopy_range *rng;	/* per segment */
	struct lun	**src_lu, **dst_lu;	/* per segment, borrowed */

	unsigned int	 seg_next;	/* first segment of the next phase */
	unsigned int	 phase_end;
	struct copy_job	 job;
	_Atomic bool	 job_live;
	_Atomic uint64_t bytes_prev;	/* bytes of finished phases */
	_Atomic unsigned int segs_done;
	_Atomic unsigned int ops_done;
	_Atomic bool	 abort;

	/* held data (0Dh): the last held_data_limit bytes */
	uint8_t		*held;
	uint32_t	 held_len;
	struct bs_io	 hio;
	struct iovec	 hiov;
	uint8_t		*hbuf;
};

/* --- designators --- */

bool
xcopy_vpd83_match(const struct xcopy_cscd *c, const uint8_t *vpd, size_t len)
{
	size_t off = 4, dlen;
	const uint8_t *d;

	if (c->assoc != 0 || len < 4)
		return false;
	len = MIN(len, 4 + (size_t)get_be16(vpd + 2));
	while (off + 4 <= len) {
		d = vpd + off;
		dlen = d[3];
		if (off + 4 + dlen > len)
			break;
		/* logical unit association only: target port and target
		 * device designators name no particular LU */
		if (((d[1] >> 4) & 0x03) == 0 &&
		    (d[0] & 0x0f) == c->code_set &&
		    (d[1] & 0x0f) == c->desig_type &&
		    dlen == c->desig_len &&
		    memcmp(d + 4, c->desig, dlen) == 0)
			return true;
		off += 4 + dlen;
	}
	return false;
}

/* VPD 83h of lun as nx sees it, built by the INQUIRY handler itself so
 * the match uses exactly what the initiator read. */
static size_t
xcopy_vpd83(struct scsi_nexus *nx, struct lun *lun, uint8_t *buf)
{
	struct scsi_cmd c;
	struct iovec iov = { .iov_base = buf, .iov_len = XCOPY_VPD_MAX };

	scsi_cmd_init(&c);
	c.nexus = nx;
	c.lun = lun;
	c.cdb[0] = 0x12;
	c.cdb[1] = 0x01;
	c.cdb[2] = 0x83;
	put_be16(c.cdb + 3, XCOPY_VPD_MAX);
	c.cdb_len = 6;
	c.dir = SCSI_DIR_IN;
	c.data_len = XCOPY_VPD_MAX;
	c.iov = &iov;
	c.iov_cnt = 1;
	if (spc_inquiry(&c) != SENSE_OK)
		return 0;
	return c.xfer_len;
}

/* Snapshot the nexus's LUN map (references) with each LU's VPD 83h. */
static int
xcopy_cands(struct scsi_nexus *nx, struct xcopy_cand **out, unsigned int *n)
{
	struct xcopy_cand *v;
	unsigned int i, cnt;

	pthread_mutex_lock(&nx->lock);
	cnt = nx->n_luns;
	v = xcalloc(cnt ? cnt : 1, sizeof(*v));
	for (i = 0; v != NULL && i < cnt; i++) {
		v[i].lun = nx->luns[i].lun;
		if (v[i].lun != NULL)
			lun_get(v[i].lun);
	}
	pthread_mutex_unlock(&nx->lock);
	if (v == NULL)
		return -ENOMEM;
	for (i = 0; i < cnt; i++) {
		if (v[i].lun == NULL)
			continue;
		v[i].vpd = xmalloc(XCOPY_VPD_MAX);
		if (v[i].vpd != NULL)
			v[i].vpd_len = xcopy_vpd83(nx, v[i].lun, v[i].vpd);
	}
	*out = v;
	*n = cnt;
	return 0;
}

static void
xcopy_cands_free(struct xcopy_cand *v, unsigned int n)
{
	unsigned int i;

	for (i = 0; v != NULL && i < n; i++) {
		lun_put(v[i].lun);
		free(v[i].vpd);
	}
	free(v);
}

/* --- segment arithmetic --- */

enum sense_reason
xcopy_seg_range(const struct xcopy_seg *s, uint32_t src_bs, uint32_t dst_bs,
    bool dst_pad, const struct tpc_limits *lim, struct xcopy_range *r)
{
	uint64_t len, rem;

	memset(r, 0, sizeof(*r));
	if (src_bs == 0 || dst_bs == 0)
		return SENSE_COPY_INCORRECT_TARGET_TYPE;
	switch (s->type) {
	case XCOPY_SEG_B2B:
	case XCOPY_SEG_B2B_HOLD:
		/* SPC-4 6.4.6.5: DC selects whose blocks count */
		len = (uint64_t)s->count * (s->dc ? dst_bs : src_bs);
		if (s->src_lba > UINT64_MAX / src_bs ||
		    s->dst_lba > UINT64_MAX / dst_bs)
			return SENSE_LBA_OUT_OF_RANGE;
		r->src_off = s->src_lba * src_bs;
		r->dst_off = s->dst_lba * dst_bs;
		break;
	case XCOPY_SEG_B2B_OFF:
		len = s->count;
		if (s->src_lba > (UINT64_MAX - 65535) / src_bs ||
		    s->dst_lba > (UINT64_MAX - 65535) / dst_bs)
			return SENSE_LBA_OUT_OF_RANGE;
		r->src_off = s->src_lba * src_bs + s->src_boff;
		r->dst_off = s->dst_lba * dst_bs + s->dst_boff;
		break;
	default:
		return SENSE_OK;
	}
	if (len > lim->max_seg_len)
		return SENSE_INVALID_FIELD_IN_PARAM;
	r->len = len;
	if (r->dst_off > UINT64_MAX - len - dst_bs ||
	    r->src_off > UINT64_MAX - len)
		return SENSE_LBA_OUT_OF_RANGE;
	/* a partial last destination block: PAD fills it with zeroes,
	 * otherwise the segment is inexact (SPC-4 6.4.6.1; CAT, which
	 * would carry the residue into the next segment, is not
	 * implemented and treated like CAT=0) */
	rem = (r->dst_off + len) % dst_bs;
	if (rem != 0 && len != 0) {
		if (!dst_pad)
			return SENSE_COPY_INEXACT_SEGMENT;
		r->pad_len = dst_bs - rem;
	}
	return SENSE_OK;
}

/* --- results and completion --- */

static void
xcopy_op_free(struct xcopy_op *op)
{
	unsigned int i;

	if (atomic_load(&op->job_live))
		copy_job_fini(&op->job);
	for (i = 0; op->cscd_lu != NULL && i < op->plan.n_cscd; i++)
		lun_put(op->cscd_lu[i]);
	free(op->cscd_lu);
	lun_put(op->self);
	free(op->rng);
	free(op->src_lu);
	free(op->dst_lu);
	copy_plan_fini(&op->plan);
	free(op->held);
	free(op->hbuf);
	free(op);
}

void
xcopy_op_progress(struct xcopy_op *op, struct xcopy_result *res)
{
	memset(res, 0, sizeof(*res));
	res->segs = (uint16_t)atomic_load(&op->segs_done);
	res->ops = (uint16_t)atomic_load(&op->ops_done);
	res->bytes = atomic_load(&op->bytes_prev);
	if (atomic_load(&op->job_live))
		res->bytes += atomic_load(&op->job.bytes_done);
}

void
xcopy_op_abort(struct xcopy_op *op)
{
	atomic_store(&op->abort, true);
	copy_job_abort(&op->job);
}

/* ABORT TASK and friends on the (non-IMMED) command, on its loop. */
static void
xcopy_cmd_abort(struct scsi_cmd *cmd)
{
	xcopy_op_abort(cmd->abort_arg);
}

void
xcopy_op_orphan(struct xcopy_op *op)
{
	/* the nexus is being destroyed: no new phase may use it.  The
	 * engine reads job->nexus only when a job starts (access gates). */
	op->nx = NULL;
}

/*
 * End the operation with reason (SENSE_OK, SENSE_TASK_ABORTED, a copy
 * sense described by sc or another reason with details sd), store the results and complete the command if
 * it is still waiting.
 */
static void
xcopy_finish(struct xcopy_op *op, enum sense_reason reason,
    const struct sense_copy *sc, const struct sense_detail *sd)
{
	struct scsi_cmd *cmd = op->cmd;
	struct xcopy_result res;
	struct sense_detail none;

	xcopy_op_progress(op, &res);
	memset(&none, 0, sizeof(none));
	if (sc != NULL)
		res.sense_len = sense_build_copy(reason, sc, op->desc_sense,
		    res.sense, sizeof(res.sense), &res.status);
	else
		res.sense_len = sense_build(reason, sd != NULL ? sd : &none,
		    op->desc_sense, res.sense, sizeof(res.sense),
		    &res.status);
	if (reason == SENSE_OK)
		res.cos = XCOPY_COS_OK;
	else if (reason == SENSE_TASK_ABORTED)
		res.cos = XCOPY_COS_TERMINATED;
	else
		res.cos = XCOPY_COS_ERROR;
	res.held = op->held;
	res.held_len = op->held_len;
	op->held = NULL;
	op->held_len = 0;
	if (op->ent != NULL)
		xcopy_list_end(op->xn, op->ent, &res);
	free(res.held);
	op->ent = NULL;
	op->cmd = NULL;
	if (cmd != NULL) {
		if (res.status == SAM_STAT_CHECK_CONDITION) {
			memcpy(cmd->sense, res.sense, res.sense_len);
			cmd->sense_len = res.sense_len;
			scsi_cmd_complete(cmd, SENSE_RAW);
		} else {
			scsi_cmd_complete(cmd, reason);
		}
	}
	xcopy_op_free(op);
}

/* COPY ABORTED for segment seg with a forwarded sense of reason fwd_r on
 * the source (side 1) or destination (side 2). */
static void
xcopy_fail_seg(struct xcopy_op *op, enum sense_reason r, unsigned int seg,
    uint8_t side, enum sense_reason fwd_r, const struct sense_detail *fsd,
    int sks_field)
{
	struct sense_copy sc;
	uint8_t fwd[SCSI_SENSE_MAX], status = 0;

	memset(&sc, 0, sizeof(sc));
	sc.seg_valid = true;
	sc.seg = seg;
	if (sks_field >= 0) {
		sc.sks_valid = true;
		sc.sks_sd = true;
		sc.sks_field = (uint16_t)sks_field;
	}
	if (side != 0 && fwd_r != SENSE_OK) {
		sc.fwd_len = sense_build(fwd_r, fsd, false, fwd, sizeof(fwd),
		    &status);
		sc.fwd_status = status;
		sc.fwd = fwd;
		sc.fwd_src = side;
	}
	xcopy_finish(op, r, &sc, NULL);
}

/* --- resolution (before anything runs) --- */

static enum sense_reason
xcopy_resolve_cscd(struct xcopy_op *op, unsigned int i,
    struct xcopy_cand *cands, unsigned int n_cands, struct lun **out)
{
	const struct xcopy_cscd *c = &op->plan.cscd[i];
	unsigned int k;

	*out = NULL;
	if (op->cscd_lu[i] != NULL) {
		*out = op->cscd_lu[i];
		return SENSE_OK;
	}
	if (c->nul)		/* SPC-3 null device: nothing to reach */
		return SENSE_COPY_TARGET_NOT_REACHABLE;
	if (c->pdt != 0x00)
		return SENSE_COPY_INCORRECT_TARGET_TYPE;
	for (k = 0; k < n_cands; k++) {
		if (cands[k].lun == NULL || cands[k].vpd == NULL ||
		    !xcopy_vpd83_match(c, cands[k].vpd, cands[k].vpd_len))
			continue;
		/* 0 = "the LU's" (CTL); anything else must match */
		if (c->block_len != 0 &&
		    c->block_len != cands[k].lun->block_size)
			return SENSE_INVALID_FIELD_IN_PARAM;
		lun_get(cands[k].lun);
		op->cscd_lu[i] = cands[k].lun;
		*out = cands[k].lun;
		return SENSE_OK;
	}
	return SENSE_COPY_TARGET_NOT_REACHABLE;
}

/* One side of segment j: the LU (NULL for the null LU) or an error. */
static enum sense_reason
xcopy_resolve_id(struct xcopy_op *op, unsigned int j, bool dst,
    struct xcopy_cand *cands, unsigned int n_cands, struct lun **out,
    struct sense_detail *sd)
{
	const struct xcopy_seg *s = &op->plan.seg[j];
	uint16_t id = dst ? s->dst : s->src;
	enum sense_reason r;

	*out = NULL;
	if (id == XCOPY_ID_SELF) {
		*out = op->self;
		return SENSE_OK;
	}
	if (id == XCOPY_ID_NULL_BLOCK)
		return SENSE_OK;
	if (id >= op->plan.n_cscd)
		return SENSE_COPY_TARGET_NOT_REACHABLE;
	r = xcopy_resolve_cscd(op, id, cands, n_cands, out);
	if (r == SENSE_INVALID_FIELD_IN_PARAM) {
		memset(sd, 0, sizeof(*sd));
		sd->sks_valid = true;
		sd->sks_field = (uint16_t)(op->plan.cscd[id].off + 29);
	}
	return r;
}

/* Capacity check of one side; false when [off, off + len) is past it. */
static bool
xcopy_fits(const struct lun *lun, uint64_t off, uint64_t len)
{
	uint64_t cap;

	if (lun == NULL)
		return true;
	cap = lun->nblocks * lun->block_size;
	return off <= cap && len <= cap - off;
}

static bool
xcopy_seg_needs(const struct xcopy_seg *s, bool dst)
{
	switch (s->type) {
	case XCOPY_SEG_VERIFY:
		return !dst;
	case XCOPY_SEG_REGISTER_KEY:
		return dst;
	default:
		return true;
	}
}

/*
 * Resolve the LUs and ranges of every segment.  Returns true when the
 * operation may run; otherwise it was finished with the error.
 */
static bool
xcopy_resolve(struct xcopy_op *op)
{
	const struct tpc_limits *lim = tpc_limits();
	struct xcopy_cand *cands = NULL;
	unsigned int n_cands = 0, j, side;
	struct sense_detail sd, fsd;
	struct lun *lu[2];
	enum sense_reason r;
	uint32_t bs[2];
	bool pad;

	if (op->plan.n_seg == 0)
		return true;
	if (xcopy_cands(op->nx, &cands, &n_cands) != 0) {
		xcopy_finish(op, SENSE_BUSY, NULL, NULL);
		return false;
	}
	for (j = 0; j < op->plan.n_seg; j++) {
		const struct xcopy_seg *s = &op->plan.seg[j];

		for (side = 0; side < 2; side++) {
			lu[side] = NULL;
			if (!xcopy_seg_needs(s, side == 1))
				continue;
			memset(&sd, 0, sizeof(sd));
			r = xcopy_resolve_id(op, j, side == 1, cands, n_cands,
			    &lu[side], &sd);
			if (r == SENSE_INVALID_FIELD_IN_PARAM) {
				xcopy_cands_free(cands, n_cands);
				xcopy_finish(op, r, NULL, &sd);
				return false;
			}
			if (r != SENSE_OK) {
				xcopy_cands_free(cands, n_cands);
				xcopy_fail_seg(op, r, j, 0, SENSE_OK, NULL,
				    4 + 2 * (int)side);
				return false;
			}
		}
		op->src_lu[j] = lu[0];
		op->dst_lu[j] = lu[1];
		if (s->type == XCOPY_SEG_BLOCK_IMAGE) {
			/* 16h: the whole source image to the start of the
			 * destination [STD?] */
			op->rng[j].len = lu[0] != NULL ?
			    lu[0]->nblocks * lu[0]->block_size :
			    (lu[1] != NULL ? lu[1]->nblocks *
			    lu[1]->block_size : 0);
			if (lu[0] != NULL && lu[1] != NULL &&
			    lu[0]->block_size != lu[1]->block_size)
				r = SENSE_COPY_INCORRECT_TARGET_TYPE;
			else
				r = SENSE_OK;
		} else {
			bs[0] = lu[0] != NULL ? lu[0]->block_size :
			    (lu[1] != NULL ? lu[1]->block_size : 512);
			bs[1] = lu[1] != NULL ? lu[1]->block_size : bs[0];
			pad = s->dst <= XCOPY_ID_MAX_INDEX &&
			    op->plan.cscd[s->dst].pad;
			r = xcopy_seg_range(s, bs[0], bs[1], pad, lim,
			    &op->rng[j]);
		}
		if (r == SENSE_OK && (!xcopy_fits(lu[0], op->rng[j].src_off,
		    op->rng[j].len) || !xcopy_fits(lu[1], op->rng[j].dst_off,
		    op->rng[j].len + op->rng[j].pad_len)))
			r = SENSE_LBA_OUT_OF_RANGE;
		if (r == SENSE_OK) {
			/* what the initiator asked for, as received */
			log_dbg("xcopy: list %u segment %u (%02xh): %s LBA "
			    "%llu -> %s LBA %llu, %u %s",
			    (unsigned int)op->plan.list_id, j, s->type,
			    lu[0] != NULL ? lu[0]->name : "-",
			    (unsigned long long)s->src_lba,
			    lu[1] != NULL ? lu[1]->name : "-",
			    (unsigned long long)s->dst_lba,
			    (unsigned int)s->count,
			    s->type == XCOPY_SEG_B2B_OFF ? "bytes" : "blocks");
			continue;
		}
		xcopy_cands_free(cands, n_cands);
		if (r == SENSE_LBA_OUT_OF_RANGE) {
			/* like the READ/WRITE the copy would issue */
			side = xcopy_fits(lu[0], op->rng[j].src_off,
			    op->rng[j].len) ? 2 : 1;
			memset(&fsd, 0, sizeof(fsd));
			xcopy_fail_seg(op, SENSE_COPY_TARGET_NOT_REACHABLE, j,
			    (uint8_t)side, SENSE_LBA_OUT_OF_RANGE, &fsd,
			    side == 1 ? 12 : 20);
		} else if (r == SENSE_INVALID_FIELD_IN_PARAM) {
			memset(&sd, 0, sizeof(sd));
			sd.sks_valid = true;
			sd.sks_field = (uint16_t)(s->off +
			    (s->type == XCOPY_SEG_B2B_OFF ? 8 : 10));
			xcopy_finish(op, r, NULL, &sd);
		} else {
			xcopy_fail_seg(op, r, j, 0, SENSE_OK, NULL, -1);
		}
		return false;
	}
	xcopy_cands_free(cands, n_cands);
	return true;
}

/* --- execution --- */

static void xcopy_run(struct xcopy_op *);

void
xcopy_add_step(struct copy_step *v, unsigned int *n, enum copy_step_kind k,
    struct lun *src, struct lun *dst, uint64_t so, uint64_t doff,
    uint64_t len, unsigned int seg)
{
	struct copy_step *st = &v[(*n)++];

	memset(st, 0, sizeof(*st));
	st->kind = k;
	st->src = src;
	st->dst = dst;
	if (src != NULL)
		lun_get(src);
	if (dst != NULL)
		lun_get(dst);
	st->src_off = so;
	st->dst_off = doff;
	st->len = len;
	st->seg_index = (uint16_t)seg;
}

/* Steps of one data segment (at most 2) appended to v. */
static void
xcopy_seg_steps(struct xcopy_op *op, unsigned int j, struct copy_step *v,
    unsigned int *n)
{
	const struct xcopy_seg *s = &op->plan.seg[j];
	const struct xcopy_range *r = &op->rng[j];
	struct lun *src = op->src_lu[j], *dst = op->dst_lu[j];

	if (s->type == XCOPY_SEG_VERIFY) {
		if (src != NULL)
			xcopy_add_step(v, n, COPY_STEP_VERIFY, src, NULL, 0, 0,
			    0, j);
		return;
	}
	if (r->len != 0) {
		if (src != NULL && dst != NULL)
			xcopy_add_step(v, n, COPY_STEP_COPY, src, dst,
			    r->src_off, r->dst_off, r->len, j);
		else if (dst != NULL)		/* from the null LU */
			xcopy_add_step(v, n, COPY_STEP_ZERO, NULL, dst, 0,
			    r->dst_off, r->len, j);
		else if (src != NULL)		/* into the null LU */
			xcopy_add_step(v, n, COPY_STEP_VERIFY, src, NULL, 0, 0,
			    0, j);
	}
	if (r->pad_len != 0 && dst != NULL)
		xcopy_add_step(v, n, COPY_STEP_ZERO, NULL, dst, 0,
		    r->dst_off + r->len, r->pad_len, j);
}

static void
xcopy_job_failed(struct xcopy_op *op, struct copy_job *job)
{
	unsigned int seg = op->seg_next;
	struct sense_copy sc;
	uint8_t fwd[sizeof(job->fwd_sense)];

	if (job->failed_step < job->n_steps)
		seg = job->steps[job->failed_step].seg_index;
	copy_job_fini(job);
	atomic_store(&op->segs_done, seg);
	if (job->err == -ECANCELED) {
		xcopy_finish(op, SENSE_TASK_ABORTED, NULL, NULL);
		return;
	}
	memset(&sc, 0, sizeof(sc));
	sc.seg_valid = true;
	sc.seg = seg;
	sc.fwd_src = job->err_is_write ? 2 : 1;
	sc.fwd_len = job->fwd_sense_len;
	memcpy(fwd, job->fwd_sense, sizeof(fwd));
	sc.fwd = fwd;
	sc.fwd_status = job->fwd_sense_len != 0 ? SAM_STAT_CHECK_CONDITION :
	    (job->err == -EACCES ? SAM_STAT_RESERVATION_CONFLICT :
	    SAM_STAT_BUSY);
	xcopy_finish(op, SENSE_COPY_TPD_FAILURE, &sc, NULL);
}

static void
xcopy_held_done(struct bs_io *io, int res)
{
	struct xcopy_op *op = io->priv;
	uint32_t lim = tpc_limits()->held_data_limit, n = (uint32_t)io->len;
	uint32_t keep;
	uint8_t *h;
	struct sense_detail fsd;

	if (res < 0) {
		memset(&fsd, 0, sizeof(fsd));
		xcopy_fail_seg(op, SENSE_COPY_TPD_FAILURE, op->phase_end - 1,
		    1, sense_from_errno(res, false), &fsd, -1);
		return;
	}
	/* keep the newest lim bytes (SPC-4 6.4.6.6: older held data is
	 * discarded first) */
	keep = MIN(op->held_len, lim - n);
	h = xmalloc(keep + n ? keep + n : 1);
	if (h == NULL) {
		xcopy_finish(op, SENSE_BUSY, NULL, NULL);
		return;
	}
	memcpy(h, op->held + (op->held_len - keep), keep);
	memcpy(h + keep, op->hbuf, n);
	free(op->held);
	free(op->hbuf);
	op->hbuf = NULL;
	op->held = h;
	op->held_len = keep + n;
	xcopy_run(op);
}

/* 0Dh: read back the tail of the segment's data for RECEIVE COPY DATA. */
static bool
xcopy_hold(struct xcopy_op *op, unsigned int j)
{
	const struct xcopy_range *r = &op->rng[j];
	struct lun *src = op->src_lu[j];
	uint64_t n = MIN(r->len, (uint64_t)tpc_limits()->held_data_limit);

	if (n == 0)
		return false;
	op->hbuf = xcalloc(1, n);
	if (op->hbuf == NULL) {
		xcopy_finish(op, SENSE_BUSY, NULL, NULL);
		return true;
	}
	if (src == NULL) {		/* the null LU holds zeroes */
		op->hio.len = n;
		op->hio.priv = op;
		xcopy_held_done(&op->hio, 0);
		return true;
	}
	memset(&op->hio, 0, sizeof(op->hio));
	op->hiov.iov_base = op->hbuf;
	op->hiov.iov_len = n;
	op->hio.op = BS_READ;
	op->hio.offset = r->src_off + r->len - n;
	op->hio.len = n;
	op->hio.iov = &op->hiov;
	op->hio.iovcnt = 1;
	op->hio.loop = op->loop;
	op->hio.done = xcopy_held_done;
	op->hio.priv = op;
	if (backstore_submit(src->bs, &op->hio) != 0)
		xcopy_held_done(&op->hio, -EIO);
	return true;
}

static void
xcopy_job_done(struct copy_job *job)
{
	struct xcopy_op *op = job->priv;
	uint64_t b = atomic_load(&job->bytes_done);
	unsigned int last = op->phase_end - 1;

	atomic_store(&op->job_live, false);
	atomic_fetch_add(&op->bytes_prev, b);
	if (job->err != 0) {
		xcopy_job_failed(op, job);
		return;
	}
	atomic_fetch_add(&op->ops_done, job->n_steps);
	copy_job_fini(job);
	op->seg_next = op->phase_end;
	atomic_store(&op->segs_done, op->phase_end);
	if (op->plan.seg[last].type == XCOPY_SEG_B2B_HOLD &&
	    xcopy_hold(op, last))
		return;
	xcopy_run(op);
}

/* 14h: register the key for this I_T nexus on the destination LU through
 * the reservations module, as a PERSISTENT RESERVE OUT REGISTER would. */
static bool
xcopy_register_key(struct xcopy_op *op, unsigned int j)
{
	const struct xcopy_seg *s = &op->plan.seg[j];
	struct lun *dst = op->dst_lu[j];
	uint8_t prm[24];
	struct iovec iov = { .iov_base = prm, .iov_len = sizeof(prm) };
	struct scsi_cmd c;
	enum sense_reason r;

	if (dst == NULL)
		return true;
	memset(prm, 0, sizeof(prm));
	put_be64(prm, s->res_key);
	put_be64(prm + 8, s->sa_res_key);
	scsi_cmd_init(&c);
	c.nexus = op->nx;
	c.lun = dst;
	c.loop = op->loop;
	c.cdb[0] = 0x5f;
	c.cdb[1] = PR_OUT_REGISTER;
	put_be32(c.cdb + 5, sizeof(prm));
	c.cdb_len = 10;
	c.dir = SCSI_DIR_OUT;
	c.data_len = sizeof(prm);
	c.iov = &iov;
	c.iov_cnt = 1;
	r = pr_cmd_out(&c);
	if (r == SENSE_OK)
		return true;
	xcopy_fail_seg(op, SENSE_COPY_TPD_FAILURE, j, 2, r, &c.sd, -1);
	return false;
}

static void
xcopy_run(struct xcopy_op *op)
{
	const struct xcopy_seg *s;
	struct copy_step *v;
	unsigned int j, n;
	int rc;

	for (;;) {
		if (atomic_load(&op->abort) || op->nx == NULL ||
		    (op->cmd != NULL && op->cmd->aborted)) {
			xcopy_finish(op, SENSE_TASK_ABORTED, NULL, NULL);
			return;
		}
		if (op->seg_next >= op->plan.n_seg) {
			xcopy_finish(op, SENSE_OK, NULL, NULL);
			return;
		}
		s = &op->plan.seg[op->seg_next];
		if (s->type == XCOPY_SEG_REGISTER_KEY) {
			if (!xcopy_register_key(op, op->seg_next))
				return;
			op->seg_next++;
			atomic_store(&op->segs_done, op->seg_next);
			atomic_fetch_add(&op->ops_done, 1);
			continue;
		}
		/* one job: data segments up to a 14h, or through a 0Dh */
		for (j = op->seg_next; j < op->plan.n_seg; j++) {
			if (op->plan.seg[j].type == XCOPY_SEG_REGISTER_KEY)
				break;
			if (op->plan.seg[j].type == XCOPY_SEG_B2B_HOLD) {
				j++;
				break;
			}
		}
		op->phase_end = j;
		v = xcalloc(2 * (j - op->seg_next), sizeof(*v));
		if (v == NULL) {
			xcopy_finish(op, SENSE_BUSY, NULL, NULL);
			return;
		}
		n = 0;
		for (j = op->seg_next; j < op->phase_end; j++)
			xcopy_seg_steps(op, j, v, &n);
		memset(&op->job, 0, sizeof(op->job));
		op->job.nexus = op->nx;
		op->job.loop = op->loop;
		op->job.steps = v;
		op->job.n_steps = n;
		op->job.done = xcopy_job_done;
		op->job.priv = op;
		op->job.owner = op->self;
		atomic_store(&op->job.abort, atomic_load(&op->abort));
		atomic_store(&op->job_live, true);
		if (n == 0) {
			/* nothing to move (0 blocks, null LUs): no job */
			xcopy_job_done(&op->job);
			return;
		}
		rc = copy_job_start(&op->job);
		if (rc == 0)
			return;
		atomic_store(&op->job_live, false);
		op->job.err = rc;
		op->job.failed_step = 0;
		xcopy_job_failed(op, &op->job);
		return;
	}
}

static enum sense_reason
xcopy_exec(struct scsi_cmd *cmd, bool lid4)
{
	uint32_t pll = get_be32(cmd->cdb + 10), n;
	struct xcopy_nexus *xn;
	struct copy_plan plan;
	struct xcopy_op *op;
	enum sense_reason r;
	unsigned int k;
	uint8_t *p;

	/* SPC-4 6.4.1: a zero length list moves nothing */
	if (pll == 0)
		return SENSE_OK;
	/* cap before copying: the header cannot describe more than this */
	if (pll > tpc_max_param_len(lid4))
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	n = MIN(pll, scsi_cmd_data_cap(cmd, false));
	p = xmalloc(n ? n : 1);
	if (p == NULL)
		return SENSE_BUSY;
	n = (uint32_t)scsi_cmd_copy_from_buf(cmd, 0, p, n);
	cmd->xfer_len = n;
	r = xcopy_parse(p, n, lid4, tpc_limits(), &plan, &cmd->sd);
	free(p);
	if (r != SENSE_OK)
		return r;
	xn = cmd->nexus != NULL ? xcopy_nexus_get(cmd->nexus) : NULL;
	op = xn != NULL && cmd->lun != NULL ? xcalloc(1, sizeof(*op)) : NULL;
	k = plan.n_seg ? plan.n_seg : 1;
	if (op != NULL) {
		op->cscd_lu = xcalloc(plan.n_cscd ? plan.n_cscd : 1,
		    sizeof(*op->cscd_lu));
		op->rng = xcalloc(k, sizeof(*op->rng));
		op->src_lu = xcalloc(k, sizeof(*op->src_lu));
		op->dst_lu = xcalloc(k, sizeof(*op->dst_lu));
		op->plan = plan;
		op->self = cmd->lun;
		lun_get(op->self);
	}
	if (op == NULL || op->cscd_lu == NULL || op->rng == NULL ||
	    op->src_lu == NULL || op->dst_lu == NULL) {
		if (op != NULL)
			xcopy_op_free(op);
		else
			copy_plan_fini(&plan);
		return SENSE_BUSY;
	}
	op->xn = xn;
	op->cmd = cmd;
	op->nx = cmd->nexus;
	op->loop = cmd->loop;
	op->desc_sense = scsi_cmd_desc_sense(cmd);
	r = xcopy_list_begin(xn, lid4 ? XCOPY_NS_LID4 : XCOPY_NS_LID1,
	    plan.list_id, lid4 ? 0x01 : 0x00, plan.usage, plan.immed, op,
	    &op->ent);
	if (r != SENSE_OK) {
		xcopy_op_free(op);
		return r;
	}
	if (!xcopy_resolve(op))
		return SCSI_ASYNC;		/* completed with the error */
	if (plan.immed) {
		/* SPC-5 6.6.3: status now, the copy goes on */
		op->cmd = NULL;
		xcopy_run(op);
		return SENSE_OK;
	}
	cmd->abort_arg = op;
	cmd->abort_fn = xcopy_cmd_abort;	/* cleared on completion */
	xcopy_run(op);
	return SCSI_ASYNC;
}

enum sense_reason
xcopy_lid1(struct scsi_cmd *cmd)
{
	return xcopy_exec(cmd, false);
}

enum sense_reason
xcopy_lid4(struct scsi_cmd *cmd)
{
	return xcopy_exec(cmd, true);
}
