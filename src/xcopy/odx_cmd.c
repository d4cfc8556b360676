/*
 * odx_cmd.c - POPULATE TOKEN (83h/10h), WRITE USING TOKEN (83h/11h),
 * RECEIVE ROD TOKEN INFORMATION (84h/07h), REPORT ALL ROD TOKENS
 * (84h/08h) and the ODX side of COPY OPERATION ABORT (83h/1Ch).
 *
 * POPULATE TOKEN: the parameter list is parsed (odx_parse.c) against the
 * addressed LU, the list ID registered in the EXTENDED COPY table (LID4
 * namespace, results held), then:
 *   - snapshot (point in time): when the LU is a fileio backstore, the
 *     blocking pool creates an unlinked O_TMPFILE beside the backing file
 *     and FICLONERANGEs every source range (widened to the filesystem
 *     block) to the same offset; the clone is opened as a hidden read-only
 *     LU and attached to the token, which then reads from it.  Writes to
 *     the source no longer matter.
 *   - otherwise (other backstores, no reflink, snapshots off) the token is
 *     change vulnerable: the LU's range-lock release hook (every medium
 *     write holds its range: WRITE*, WRITE SAME, UNMAP, COMPARE AND WRITE,
 *     WRITE AND VERIFY, ORWRITE, SANITIZE, copy engine writes) calls
 *     rod_registry_write_notify(), which revokes overlapping tokens.
 *   The token goes into the list entry's results for RRTI.
 *
 * WRITE USING TOKEN: parse, register the list ID, verify the token
 * (rod_registry_lookup: length, type, MAC, lifetime, registry state,
 * target), check the scope (the creator LU must be in this nexus's LUN
 * map unless the TPG's tpcd_token_scope is "target": TOKEN REVOKED
 * otherwise), map the ROD
 * from OFFSET INTO ROD onto the destination ranges (rod_entry_map) as
 * copy_job steps and run them in the copy engine; the zero ROD token
 * becomes COPY_STEP_ZERO steps (unmap when LBPRZ, else write zeroes).  If
 * the ROD ends before the destination ranges, what remains is written and
 * the status says 03h (partial ROD token usage) with the shorter TRANSFER
 * COUNT [STD?].  A change-vulnerable token revoked while the copy ran
 * fails the command with TOKEN REVOKED (the data read may be mixed).
 * DEL_TKN deletes the token at the end, whatever the outcome.
 *
 * IMMED (both): the command completes GOOD once everything that can be
 * checked up front passed; RRTI / RECEIVE COPY STATUS(LID4) report 12h
 * until the operation ends.
 *
 * REPORT ALL ROD TOKENS lists, from the registry (rod_registry_foreach),
 * the valid tokens the asking nexus could use: issued through its target
 * and, in "nexus" scope, sourced from an LU in its LUN map.
 *
 * Expiry: the first POPULATE TOKEN posts a timer to loop 0 that runs
 * rod_registry_sweep() every ROD_SWEEP_INTERVAL_MS while the registry
 * holds tokens or tombstones, so idle tokens drop their LU references
 * (and snapshots) without waiting for a lookup; then it stops until the
 * next PT.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backstore.h"
#include "conf.h"
#include "log.h"
#include "loop.h"
#include "lun.h"
#include "lun_lock.h"
#include "rod_token/rod_token.h"
#include "scsi_int.h"
#include "target.h"
#include "util.h"
#include "xcopy/copy_engine.h"
#include "xcopy/odx.h"
#include "xcopy/xcopy.h"
#include "xcopy/xcopy_int.h"

#define ODX_SA_PT	0x10
#define ODX_SA_WUT	0x11
#define ODX_COS_PARTIAL	0x03	/* completed, partial ROD token usage */
#define ODX_MGMT_LEN	96	/* management ROD token (RART) */
#define ODX_RART_MAX	512

struct odx_op {
	struct xcopy_nexus *xn;
	void		*ent;
	uint8_t		 sa;
	struct scsi_cmd	*cmd;		/* NULL once completed (IMMED) */
	struct scsi_nexus *nx;		/* NULL once orphaned */
	struct loop	*loop;
	struct lun	*lun;		/* addressed LU, referenced */
	bool		 desc_sense;
	_Atomic bool	 abort;

	/* POPULATE TOKEN */
	struct odx_pt	*pt;
	struct lun	*snap;		/* clone LU, until attached */

	/* WRITE USING TOKEN */
	struct odx_wut	*wut;
	struct rod_entry *rod;		/* referenced, NULL for zero */
	bool		 has_snap;
	struct copy_job	 job;
	_Atomic bool	 job_live;
	uint64_t	 want;		/* destination bytes asked */
	uint64_t	 planned;	/* bytes the steps move */
};

static int odx_snapshots = -1;		/* -1: read the environment */

void
odx_set_snapshots(bool on)
{
	odx_snapshots = on;
}

bool
odx_snapshots_enabled(void)
{
	const char *e;

	if (odx_snapshots < 0) {
		e = getenv("TPCD_ODX_SNAPSHOT");
		odx_snapshots = !(e != NULL && strcmp(e, "0") == 0);
	}
	return odx_snapshots != 0;
}

/* --- expiry sweep: a timer on loop 0 while the registry is not empty --- */

static _Atomic bool odx_sweep_on;		/* timer armed or posted */
static struct loop_timer *odx_sweep_timer;	/* loop 0 only */
static _Atomic uint64_t odx_sweep_ms = ROD_SWEEP_INTERVAL_MS;

void
odx_set_sweep_interval(uint64_t ms)
{
	atomic_store(&odx_sweep_ms, ms != 0 ? ms : ROD_SWEEP_INTERVAL_MS);
}

static bool
odx_sweep_idle(void)
{
	struct rod_stats st;

	rod_registry_stats(&st);
	return st.valid == 0 && st.tombstones == 0;
}

static void
odx_sweep_tick(void *arg)
{
	struct rod_stats before, after;
	unsigned int left;

	(void)arg;
	rod_registry_stats(&before);
	left = rod_registry_sweep();
	rod_registry_stats(&after);
	if (after.expired != before.expired)
		log_dbg("odx: sweep expired %llu token(s), %u valid, %u "
		    "tombstone(s)", (unsigned long long)(after.expired -
		    before.expired), left, after.tombstones);
	if (odx_sweep_idle()) {
		atomic_store(&odx_sweep_on, false);
		/* a PT that issued a token before the flag dropped saw it
		 * set and posted nothing: keep going for it */
		if (odx_sweep_idle() || atomic_exchange(&odx_sweep_on, true)) {
			loop_timer_destroy(odx_sweep_timer);
			odx_sweep_timer = NULL;
			return;
		}
	}
	loop_timer_arm(odx_sweep_timer, atomic_load(&odx_sweep_ms));
}

/* On loop 0. */
static void
odx_sweep_start(void *arg)
{
	(void)arg;
	if (odx_sweep_timer == NULL)
		odx_sweep_timer = loop_timer_create(loop_get(0),
		    odx_sweep_tick, NULL);
	if (odx_sweep_timer == NULL) {
		atomic_store(&odx_sweep_on, false);	/* next PT retries */
		return;
	}
	loop_timer_arm(odx_sweep_timer, atomic_load(&odx_sweep_ms));
}

/* After a token was issued: make sure the sweep runs. */
void
odx_sweep_ensure(void)
{
	const char *e;
	struct loop *l0 = loop_get(0);
	static _Atomic bool env_read;

	if (!atomic_exchange(&env_read, true) &&
	    (e = getenv("TPCD_ROD_SWEEP_MS")) != NULL && atoi(e) > 0)
		odx_set_sweep_interval((uint64_t)atoi(e));
	if (l0 == NULL || atomic_exchange(&odx_sweep_on, true))
		return;
	if (loop_post(l0, odx_sweep_start, NULL) != 0)
		atomic_store(&odx_sweep_on, false);
}

bool
odx_sweep_running(void)
{
	return atomic_load(&odx_sweep_on);
}

/* --- write observer: change-vulnerable tokens --- */

static void
odx_written(void *arg, uint64_t lba, uint64_t nblocks)
{
	rod_registry_write_notify(arg, lba, nblocks);
}

/* --- list-ID table hooks --- */

static void
odx_hook_progress(void *arg, struct xcopy_result *res)
{
	struct odx_op *op = arg;

	memset(res, 0, sizeof(*res));
	res->block_size = op->lun->block_size;
	if (op->sa == ODX_SA_WUT && atomic_load(&op->job_live))
		res->bytes = atomic_load(&op->job.bytes_done);
}

static void
odx_hook_abort(void *arg)
{
	struct odx_op *op = arg;

	atomic_store(&op->abort, true);
	if (atomic_load(&op->job_live))
		copy_job_abort(&op->job);
}

static void
odx_hook_orphan(void *arg)
{
	struct odx_op *op = arg;

	op->nx = NULL;
}

/* ABORT TASK and friends on a (non-IMMED) PT/WUT, on its loop. */
static void
odx_cmd_abort(struct scsi_cmd *cmd)
{
	odx_hook_abort(cmd->abort_arg);
}

static const struct xcopy_op_hooks odx_hooks = {
	.progress = odx_hook_progress,
	.abort = odx_hook_abort,
	.orphan = odx_hook_orphan,
};

/* --- common --- */

static void
odx_op_free(struct odx_op *op)
{
	if (atomic_load(&op->job_live))
		copy_job_fini(&op->job);
	if (op->rod != NULL)
		rod_registry_put(op->rod);
	lun_put(op->snap);
	lun_put(op->lun);
	free(op->pt);
	free(op->wut);
	free(op);
}

/*
 * End the operation: store the results (token: ODX_TOKEN_LEN bytes or
 * NULL, bytes moved, COPY OPERATION STATUS override cos or 0), complete
 * the command if it still waits, free the op.
 */
static void
odx_finish(struct odx_op *op, enum sense_reason reason,
    const struct sense_detail *sd, const uint8_t *token, uint64_t bytes,
    uint8_t cos)
{
	struct scsi_cmd *cmd = op->cmd;
	struct xcopy_result res;
	struct sense_detail none;

	memset(&res, 0, sizeof(res));
	memset(&none, 0, sizeof(none));
	res.sense_len = sense_build(reason, sd != NULL ? sd : &none,
	    op->desc_sense, res.sense, sizeof(res.sense), &res.status);
	if (reason == SENSE_OK)
		res.cos = cos != 0 ? cos : XCOPY_COS_OK;
	else if (reason == SENSE_TASK_ABORTED)
		res.cos = XCOPY_COS_TERMINATED;
	else
		res.cos = XCOPY_COS_ERROR;
	res.bytes = bytes;
	res.segs = reason == SENSE_OK ? 1 : 0;
	res.ops = reason == SENSE_OK ? 1 : 0;
	res.block_size = op->lun->block_size;
	if (token != NULL && reason == SENSE_OK) {
		res.token = xmalloc(XCOPY_TOKEN_LEN);
		if (res.token != NULL)
			memcpy(res.token, token, XCOPY_TOKEN_LEN);
	}
	if (op->ent != NULL)
		xcopy_list_end(op->xn, op->ent, &res);
	free(res.token);
	op->ent = NULL;
	op->cmd = NULL;
	if (cmd != NULL) {
		if (sd != NULL && reason != SENSE_OK)
			cmd->sd = *sd;
		scsi_cmd_complete(cmd, reason);
	}
	odx_op_free(op);
}

/* Read the parameter list: at most hdr + 64 KiB (a 16-bit range
 * descriptor length cannot describe more). */
static enum sense_reason
odx_read_params(struct scsi_cmd *cmd, size_t hdr, uint8_t **out, size_t *n)
{
	uint32_t pll = get_be32(cmd->cdb + 10);
	size_t len;
	uint8_t *p;

	if (pll > hdr + 65535)
		return scsi_invalid_field(cmd, true, 10, -1);
	len = MIN((size_t)pll, (size_t)scsi_cmd_data_cap(cmd, false));
	p = xmalloc(len ? len : 1);
	if (p == NULL)
		return SENSE_BUSY;
	len = scsi_cmd_copy_from_buf(cmd, 0, p, len);
	cmd->xfer_len = (uint32_t)len;
	*out = p;
	*n = len;
	return SENSE_OK;
}

static struct odx_op *
odx_op_new(struct scsi_cmd *cmd, uint8_t sa)
{
	struct odx_op *op;

	if (cmd->nexus == NULL || cmd->lun == NULL)
		return NULL;
	op = xcalloc(1, sizeof(*op));
	if (op == NULL)
		return NULL;
	op->xn = xcopy_nexus_get(cmd->nexus);
	if (op->xn == NULL) {
		free(op);
		return NULL;
	}
	op->sa = sa;
	op->cmd = cmd;
	op->nx = cmd->nexus;
	op->loop = cmd->loop;
	op->lun = cmd->lun;
	lun_get(op->lun);
	op->desc_sense = scsi_cmd_desc_sense(cmd);
	return op;
}

/* Read the parameter list (hdr: its header's size) into *p and *n and
 * make the op with room for the parsed list (pt or wut, by sa); NULL
 * with *r the reason when either fails. */
static struct odx_op *
odx_op_start(struct scsi_cmd *cmd, uint8_t sa, size_t hdr, uint8_t **p,
    size_t *n, enum sense_reason *r)
{
	struct odx_op *op;

	*r = odx_read_params(cmd, hdr, p, n);
	if (*r != SENSE_OK)
		return NULL;
	op = odx_op_new(cmd, sa);
	if (op != NULL && sa == ODX_SA_PT)
		op->pt = xmalloc(sizeof(*op->pt));
	else if (op != NULL)
		op->wut = xmalloc(sizeof(*op->wut));
	if (op == NULL || (op->pt == NULL && op->wut == NULL)) {
		if (op != NULL)
			odx_op_free(op);
		free(*p);
		*r = SENSE_BUSY;
		return NULL;
	}
	return op;
}

static enum sense_reason
odx_register(struct odx_op *op, bool immed)
{
	return xcopy_list_begin_ext(op->xn, XCOPY_NS_LID4,
	    get_be32(op->cmd->cdb + 6), op->sa, XCOPY_USAGE_HOLD, immed,
	    &odx_hooks, op, &op->ent);
}

/* --- POPULATE TOKEN --- */

struct odx_snap_work {
	struct odx_op	*op;
	char		*path;		/* backing file of the source */
	uint64_t	 size;
	uint32_t	 block_size;
	struct lun	*snap;		/* result */
};

static void
odx_snap_destroy(void *snap)
{
	lun_put(snap);
}

/* Pool: clone the source ranges into an unlinked file beside the source
 * and open it as a hidden read-only LU. */
static void
odx_snap_work(void *arg)
{
	struct odx_snap_work *w = arg;
	const struct odx_pt *pt = w->op->pt;
	struct conf_storage cs;
	struct file_clone_range fcr;
	struct backstore *bs;
	char dir[PATH_MAX], fdpath[64];
	struct stat st;
	uint64_t a, lo, hi;
	unsigned int i;
	int src = -1, fd = -1, err;

	snprintf(dir, sizeof(dir), "%s", w->path);
	src = open(w->path, O_RDONLY | O_CLOEXEC);
	if (src < 0 || fstat(src, &st) < 0)
		goto out;
	fd = open(dirname(dir), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)w->size) < 0)
		goto out;
	a = st.st_blksize > 0 ? (uint64_t)st.st_blksize : 4096;
	for (i = 0; i < pt->n_ranges; i++) {
		if (pt->ranges[i].nblocks == 0)
			continue;
		lo = pt->ranges[i].lba * w->block_size / a * a;
		hi = (pt->ranges[i].lba + pt->ranges[i].nblocks) *
		    w->block_size;
		hi = MIN(DIV_ROUND_UP(hi, a) * a, w->size);
		memset(&fcr, 0, sizeof(fcr));
		fcr.src_fd = src;
		fcr.src_offset = lo;
		fcr.src_length = hi - lo;
		fcr.dest_offset = lo;
		if (ioctl(fd, FICLONERANGE, &fcr) < 0)
			goto out;
	}
	memset(&cs, 0, sizeof(cs));
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	cs.plugin = (char *)"fileio";
	cs.name = (char *)"odx-snapshot";
	cs.dev = fdpath;
	cs.size = w->size;
	cs.block_size = w->block_size;
	cs.write_back = true;
	cs.read_only = true;
	bs = backstore_open(&cs, &err);
	if (bs == NULL)
		goto out;
	w->snap = lun_create(&cs, bs);
	backstore_put(bs);
out:
	if (w->snap == NULL)
		log_dbg("odx: no snapshot of %s (%s), token is change "
		    "vulnerable", w->path, strerror(errno));
	if (fd >= 0)
		close(fd);
	if (src >= 0)
		close(src);
}

/* Issue the token (on the op's loop) and finish the PT. */
static void
odx_pt_issue(struct odx_op *op)
{
	struct rod_create rc;
	struct rod_range rr[ODX_MAX_RANGES_HARD];
	struct rod_entry *ent = NULL;
	uint8_t tok[ROD_TOKEN_LEN];
	struct sense_detail sd;
	unsigned int i;
	int rv;

	if (atomic_load(&op->abort) || op->nx == NULL ||
	    (op->cmd != NULL && op->cmd->aborted)) {
		odx_finish(op, SENSE_TASK_ABORTED, NULL, NULL, 0, 0);
		return;
	}
	memset(&rc, 0, sizeof(rc));
	for (i = 0; i < op->pt->n_ranges; i++) {
		rr[i].lba = op->pt->ranges[i].lba;
		rr[i].nblocks = op->pt->ranges[i].nblocks;
	}
	rc.lun = op->lun;
	rc.nexus = op->nx;
	rc.ranges = rr;
	rc.n_ranges = op->pt->n_ranges;
	rc.rod_type = op->pt->rod_type;
	rc.timeout_s = op->pt->inactivity_s;
	/* READ CAPACITY(16) bytes 8-31 */
	put_be32(rc.dev_specific, op->lun->block_size);
	rc.dev_specific[5] = (uint8_t)(sbc_phys_exp(op->lun) & 0x0f);
	rc.dev_specific[6] = sbc_rc16_lbp_bits(op->lun);
	/* what we really hand out: a snapshot is the default point in
	 * time copy, anything else is change vulnerable (VPD 8Fh 0108h) */
	if (op->snap != NULL && rc.rod_type != ODX_ROD_PIT_VULN) {
		if (rc.rod_type != ROD_TYPE_PIT_COW)
			rc.rod_type = ODX_ROD_PIT_DEFAULT;
		rc.snap = op->snap;
		rc.snap_destroy = odx_snap_destroy;
		op->snap = NULL;		/* the registry owns it now */
	} else if (rc.rod_type == ROD_TYPE_PIT_COW) {
		/* asked for a copy-on-write snapshot we could not make */
		odx_finish(op, SENSE_INSUFFICIENT_RES_ROD, NULL, NULL, 0, 0);
		return;
	} else {
		rc.rod_type = ODX_ROD_PIT_VULN;
	}
	/* change vulnerable or not, writes must reach the registry */
	lun_lock_set_release_hook(op->lun->range_lock, odx_written, op->lun);
	rv = rod_registry_create(&rc, tok, &ent);
	memset(&sd, 0, sizeof(sd));
	switch (rv) {
	case 0:
		break;
	case -ENOSPC:
		odx_finish(op, SENSE_INSUFFICIENT_RES_ROD_TOKEN, NULL, NULL,
		    0, 0);
		return;
	case -EOPNOTSUPP:
		sd.sks_valid = true;
		sd.sks_field = 8;
		odx_finish(op, SENSE_INVALID_FIELD_IN_PARAM, &sd, NULL, 0, 0);
		return;
	case -EINVAL:
		odx_finish(op, SENSE_INVALID_FIELD_IN_PARAM, NULL, NULL, 0, 0);
		return;
	case -ENOMEM:
		odx_finish(op, SENSE_INSUFFICIENT_RES_ROD, NULL, NULL, 0, 0);
		return;
	default:
		odx_finish(op, SENSE_INTERNAL_TARGET_FAILURE, NULL, NULL, 0,
		    0);
		return;
	}
	rod_registry_put(ent);
	odx_sweep_ensure();
	odx_finish(op, SENSE_OK, NULL, tok,
	    op->pt->total_blocks * op->lun->block_size, 0);
}

static void
odx_snap_done(void *arg)
{
	struct odx_snap_work *w = arg;
	struct odx_op *op = w->op;

	op->snap = w->snap;
	free(w->path);
	free(w);
	odx_pt_issue(op);
}

/* Try a snapshot on the pool; false: go on without one. */
static bool
odx_pt_snapshot(struct odx_op *op)
{
	struct backstore *bs = op->lun->bs;
	struct odx_snap_work *w;

	if (!odx_snapshots_enabled() || op->pt->rod_type == ODX_ROD_PIT_VULN ||
	    bs->ops != &bs_file_ops || bs->path == NULL || bs->fd < 0 ||
	    !rod_type_supported(op->pt->rod_type, true))
		return false;
	w = xcalloc(1, sizeof(*w));
	if (w == NULL)
		return false;
	w->op = op;
	w->path = xstrdup(bs->path);
	w->size = bs->size;
	w->block_size = op->lun->block_size;
	if (w->path == NULL || loop_pool_run(op->loop, odx_snap_work,
	    odx_snap_done, w) != 0) {
		free(w->path);
		free(w);
		return false;
	}
	return true;
}

enum sense_reason
odx_populate_token(struct scsi_cmd *cmd)
{
	struct odx_lu_geom g;
	struct odx_op *op;
	enum sense_reason r;
	uint8_t *p;
	size_t n;
	bool immed;

	op = odx_op_start(cmd, ODX_SA_PT, ODX_PT_HDR, &p, &n, &r);
	if (op == NULL)
		return r;
	g.nblocks = cmd->lun->nblocks;
	g.block_size = cmd->lun->block_size;
	r = odx_parse_pt(p, n, &g, tpc_limits(), op->pt, &cmd->sd);
	free(p);
	if (r == SENSE_OK && op->pt->rtv &&
	    !rod_type_supported(op->pt->rod_type, false) &&
	    !rod_type_supported(op->pt->rod_type, true))
		r = scsi_invalid_field(cmd, false, 8, -1);
	if (r == SENSE_OK)
		r = odx_register(op, op->pt->immed);
	if (r != SENSE_OK) {
		odx_op_free(op);
		return r;
	}
	immed = op->pt->immed;
	if (immed) {
		op->cmd = NULL;		/* SBC-3: status now */
	} else {
		cmd->abort_arg = op;
		cmd->abort_fn = odx_cmd_abort;	/* cleared on completion */
	}
	if (!odx_pt_snapshot(op))
		odx_pt_issue(op);
	return immed ? SENSE_OK : SCSI_ASYNC;
}

/* --- WRITE USING TOKEN --- */

static enum sense_reason
odx_rod_reason(enum rod_err e)
{
	switch (e) {
	case ROD_OK:
	case ROD_ZERO:
		return SENSE_OK;
	case ROD_ERR_UNSUPPORTED_TYPE:
		return SENSE_TOKEN_UNSUPPORTED_TYPE;
	case ROD_ERR_REMOTE:
		return SENSE_TOKEN_REMOTE_USAGE;
	case ROD_ERR_UNKNOWN:
		return SENSE_TOKEN_UNKNOWN;
	case ROD_ERR_CORRUPT:
		return SENSE_TOKEN_CORRUPT;
	case ROD_ERR_REVOKED:
		return SENSE_TOKEN_REVOKED;
	case ROD_ERR_EXPIRED:
		return SENSE_TOKEN_EXPIRED;
	case ROD_ERR_CANCELLED:
		return SENSE_TOKEN_CANCELLED;
	case ROD_ERR_DELETED:
		return SENSE_TOKEN_DELETED;
	case ROD_ERR_LENGTH:
		return SENSE_TOKEN_INVALID_LENGTH;
	case ROD_ERR_OFFSET:
		return SENSE_INVALID_FIELD_IN_PARAM;
	case ROD_ERR_RANGE:
		return SENSE_COPY_TARGET_UNDERRUN;
	case ROD_ERR_NO_ROD:
		return SENSE_INSUFFICIENT_RES_ROD;
	case ROD_ERR_NO_TOKEN:
		return SENSE_INSUFFICIENT_RES_ROD_TOKEN;
	default:
		return SENSE_TOKEN_CAUSE_NOT_REPORTABLE;
	}
}

/* Is lun in nx's LUN map? */
static bool
odx_nexus_maps(struct scsi_nexus *nx, const struct lun *lun)
{
	unsigned int i;
	bool found = false;

	pthread_mutex_lock(&nx->lock);
	for (i = 0; i < nx->n_luns && !found; i++)
		found = nx->luns[i].lun == lun;
	pthread_mutex_unlock(&nx->lock);
	return found;
}

/*
 * The steps of the WUT: the ROD from OFFSET INTO ROD onto the destination
 * ranges.  Returns the reason (26/00 at byte 8 for an offset past the
 * ROD) and sets *v, *n and op->planned.
 */
static enum sense_reason
odx_wut_plan(struct odx_op *op, struct copy_step **vp, unsigned int *np,
    struct sense_detail *sd)
{
	const struct odx_wut *w = op->wut;
	struct lun *dst = op->lun, *src;
	uint32_t dbs = dst->block_size;
	struct rod_extent ext[ROD_MAX_RANGES + 1];
	struct copy_step *v;
	uint64_t rod_off, avail, left, dlen, mapped, doff;
	unsigned int i, j, n = 0, ne, max;
	enum rod_err e;

	if (op->rod == NULL) {		/* zero token */
		v = xcalloc(w->n_ranges ? w->n_ranges : 1, sizeof(*v));
		if (v == NULL)
			return SENSE_BUSY;
		for (i = 0; i < w->n_ranges; i++)
			if (w->ranges[i].nblocks != 0)
				xcopy_add_step(v, &n, COPY_STEP_ZERO, NULL, dst,
				    0, w->ranges[i].lba * dbs,
				    (uint64_t)w->ranges[i].nblocks * dbs, i);
		op->planned = op->want;
		*vp = v;
		*np = n;
		return SENSE_OK;
	}
	src = op->has_snap ? rod_entry_snapshot(op->rod) : rod_entry_lun(
	    op->rod);
	if (w->offset > UINT64_MAX / dbs ||
	    w->offset * dbs >= rod_entry_bytes(op->rod)) {
		memset(sd, 0, sizeof(*sd));
		sd->sks_valid = true;
		sd->sks_field = 8;
		return SENSE_INVALID_FIELD_IN_PARAM;
	}
	rod_off = w->offset * dbs;
	/* whole destination blocks only */
	avail = (rod_entry_bytes(op->rod) - rod_off) / dbs * dbs;
	left = MIN(avail, op->want);
	(void)rod_entry_ranges(op->rod, &max);
	max = max + w->n_ranges;
	v = xcalloc(max ? max : 1, sizeof(*v));
	if (v == NULL)
		return SENSE_BUSY;
	for (i = 0; i < w->n_ranges && left > 0; i++) {
		dlen = MIN((uint64_t)w->ranges[i].nblocks * dbs, left);
		doff = w->ranges[i].lba * dbs;
		while (dlen > 0) {
			e = rod_entry_map(op->rod, rod_off, dlen, ext,
			    ARRAY_SIZE(ext), &ne, &mapped);
			if (e != ROD_OK || mapped == 0 || n + ne > max) {
				/* cannot happen: avail bounds the ROD */
				for (j = 0; j < n; j++) {
					lun_put(v[j].src);
					lun_put(v[j].dst);
				}
				free(v);
				return SENSE_TOKEN_CAUSE_NOT_REPORTABLE;
			}
			for (j = 0; j < ne; j++) {
				xcopy_add_step(v, &n, COPY_STEP_COPY, src, dst,
				    ext[j].src_off, doff, ext[j].len, i);
				doff += ext[j].len;
			}
			rod_off += mapped;
			dlen -= mapped;
			left -= mapped;
			op->planned += mapped;
		}
	}
	*vp = v;
	*np = n;
	return SENSE_OK;
}

static void
odx_wut_end(struct odx_op *op, enum sense_reason r,
    const struct sense_detail *sd, uint64_t bytes)
{
	uint8_t cos = 0;

	if (op->rod != NULL) {
		if (r == SENSE_OK && !op->has_snap &&
		    rod_registry_check(op->rod) == ROD_ERR_REVOKED)
			r = SENSE_TOKEN_REVOKED;	/* changed under us */
		if (r == SENSE_OK)
			rod_registry_touch(op->rod);
		if (op->wut->del_tkn)
			rod_registry_delete(op->rod);
	}
	if (r == SENSE_OK && op->planned < op->want)
		cos = ODX_COS_PARTIAL;
	odx_finish(op, r, sd, NULL, bytes, cos);
}

static void
odx_wut_job_done(struct copy_job *job)
{
	struct odx_op *op = job->priv;
	uint64_t b = atomic_load(&job->bytes_done);
	struct sense_detail sd;
	enum sense_reason r;
	int err = job->err;

	memset(&sd, 0, sizeof(sd));
	atomic_store(&op->job_live, false);
	copy_job_fini(job);
	if (err == 0)
		r = SENSE_OK;
	else if (err == -ECANCELED)
		r = SENSE_TASK_ABORTED;
	else if (err == -EROFS)
		r = SENSE_WRITE_PROTECTED;
	else if (err == -EACCES)
		r = SENSE_RESERVATION_CONFLICT;
	else
		r = sense_from_errno(err, job->err_is_write);
	odx_wut_end(op, r, &sd, b);
}

static void
odx_wut_run(struct odx_op *op, struct copy_step *v, unsigned int n)
{
	int rc;

	memset(&op->job, 0, sizeof(op->job));
	op->job.nexus = op->nx;
	op->job.loop = op->loop;
	op->job.steps = v;
	op->job.n_steps = n;
	op->job.done = odx_wut_job_done;
	op->job.priv = op;
	op->job.owner = op->lun;
	if (n == 0) {
		free(v);
		odx_wut_end(op, SENSE_OK, NULL, 0);
		return;
	}
	atomic_store(&op->job_live, true);
	atomic_store(&op->job.abort, atomic_load(&op->abort));
	rc = copy_job_start(&op->job);
	if (rc == 0)
		return;
	atomic_store(&op->job_live, false);
	copy_job_fini(&op->job);
	odx_wut_end(op, sense_from_errno(rc, true), NULL, 0);
}

enum sense_reason
odx_write_using_token(struct scsi_cmd *cmd)
{
	struct copy_step *v = NULL;
	struct sense_detail sd;
	struct odx_lu_geom g;
	struct odx_op *op;
	enum sense_reason r;
	struct lun *creator;
	unsigned int n = 0;
	enum rod_err e;
	uint8_t *p;
	size_t len;

	op = odx_op_start(cmd, ODX_SA_WUT, ODX_WUT_HDR, &p, &len, &r);
	if (op == NULL)
		return r;
	g.nblocks = cmd->lun->nblocks;
	g.block_size = cmd->lun->block_size;
	r = odx_parse_wut(p, len, &g, tpc_limits(), op->wut, &cmd->sd);
	free(p);
	if (r == SENSE_OK)
		r = odx_register(op, op->wut->immed);
	if (r != SENSE_OK) {
		odx_op_free(op);
		return r;
	}
	op->want = op->wut->total_blocks * cmd->lun->block_size;
	e = rod_registry_lookup(op->wut->token, ODX_TOKEN_LEN, cmd->nexus,
	    &op->rod);
	r = odx_rod_reason(e);
	if (r == SENSE_OK && e == ROD_OK) {
		creator = rod_entry_lun(op->rod);
		op->has_snap = rod_entry_snapshot(op->rod) != NULL;
		/* scope: the nexus must be able to read the source */
		if (!odx_nexus_maps(cmd->nexus, creator) &&
		    !target_token_scope_wide(cmd->nexus))
			r = SENSE_TOKEN_REVOKED;
		else if (rod_entry_block_size(op->rod) == 0)
			r = SENSE_TOKEN_CORRUPT;
	}
	memset(&sd, 0, sizeof(sd));
	if (r == SENSE_OK)
		r = odx_wut_plan(op, &v, &n, &sd);
	if (r != SENSE_OK) {
		/* fails as a whole: the list ID keeps the error */
		odx_finish(op, r, sd.sks_valid ? &sd : NULL, NULL, 0, 0);
		return SCSI_ASYNC;
	}
	if (op->wut->immed) {
		op->cmd = NULL;
		odx_wut_run(op, v, n);
		return SENSE_OK;
	}
	cmd->abort_arg = op;
	cmd->abort_fn = odx_cmd_abort;		/* cleared on completion */
	odx_wut_run(op, v, n);
	return SCSI_ASYNC;
}

/* --- RECEIVE ROD TOKEN INFORMATION (84h/07h) --- */

enum sense_reason
odx_rrti(struct scsi_cmd *cmd)
{
	uint8_t *b;
	struct xcopy_snap *sn;
	struct xcopy_nexus *xn = NULL;
	uint32_t alloc = get_be32(cmd->cdb + 10);
	size_t x, n;
	bool blocks;

	if (cmd->nexus != NULL)
		xn = __atomic_load_n((struct xcopy_nexus **)&cmd->nexus->tpc,
		    __ATOMIC_ACQUIRE);
	sn = xmalloc(sizeof(*sn));
	b = xcalloc(1, 32 + SCSI_SENSE_MAX + 6 + ODX_TOKEN_LEN);
	if (sn == NULL || b == NULL) {
		free(sn);
		free(b);
		return SENSE_BUSY;
	}
	if (xn == NULL || !xcopy_list_find(xn, XCOPY_NS_LID4,
	    get_be32(cmd->cdb + 2), sn, false, false)) {
		free(sn);
		free(b);
		return scsi_invalid_field(cmd, true, 2, -1);
	}
	x = sn->active ? 0 : sn->res.sense_len;
	b[4] = sn->sa & 0x1f;
	if (sn->active) {
		b[5] = sn->immed ? XCOPY_COS_BG : XCOPY_COS_FG;
		put_be32(b + 8, 100);		/* poll again in 100 ms */
	} else {
		b[5] = sn->res.cos;
		put_be32(b + 8, 0xfffffffe);	/* finished */
		b[12] = sn->res.status;
	}
	put_be16(b + 6, sn->res.ops);
	b[13] = (uint8_t)x;
	b[14] = (uint8_t)x;
	/* PT/WUT: TRANSFER COUNT in logical blocks (F1h) */
	blocks = (sn->sa == ODX_SA_PT || sn->sa == ODX_SA_WUT) &&
	    sn->res.block_size != 0;
	b[15] = blocks ? 0xf1 : 0x00;
	put_be64(b + 16, blocks ? sn->res.bytes / sn->res.block_size :
	    sn->res.bytes);
	put_be16(b + 24, sn->res.segs);
	memcpy(b + 32, sn->res.sense, x);
	n = 32 + x + 4;
	if (sn->has_token) {
		put_be32(b + 32 + x, 2 + ODX_TOKEN_LEN);
		memcpy(b + 32 + x + 6, sn->token, ODX_TOKEN_LEN);
		n += 2 + ODX_TOKEN_LEN;
	}
	put_be32(b, (uint32_t)(n - 4));
	scsi_cmd_data_in(cmd, b, MIN(n, (size_t)alloc));
	free(sn);
	free(b);
	return SENSE_OK;
}

/* --- REPORT ALL ROD TOKENS (84h/08h) --- */

struct odx_rart {
	struct scsi_nexus *nx;
	bool		 wide;		/* "target" scope: no map check */
	uint8_t		*b;
	unsigned int	 k;
};

static bool
odx_rart_one(void *arg, const struct rod_info *in)
{
	struct odx_rart *ra = arg;

	/* what this nexus could use (odx_write_using_token's scope) */
	if (!ra->wide && !odx_nexus_maps(ra->nx, in->lun))
		return true;
	rod_info_mgmt_token(in, ra->b + 8 + (size_t)ODX_MGMT_LEN * ra->k++);
	return ra->k < ODX_RART_MAX;
}

enum sense_reason
odx_report_all_tokens(struct scsi_cmd *cmd)
{
	uint32_t alloc = get_be32(cmd->cdb + 10);
	struct odx_rart ra;
	size_t n;

	memset(&ra, 0, sizeof(ra));
	ra.nx = cmd->nexus;
	ra.b = xcalloc(1, 8 + (size_t)ODX_RART_MAX * ODX_MGMT_LEN);
	if (ra.b == NULL)
		return SENSE_BUSY;
	/* only tokens issued through the target the command came to */
	if (ra.nx != NULL) {
		ra.wide = target_token_scope_wide(ra.nx);
		if (rod_registry_foreach(ra.nx->target != NULL ?
		    ra.nx->target : "", odx_rart_one, &ra) < 0) {
			free(ra.b);
			return SENSE_BUSY;
		}
	}
	n = 8 + (size_t)ODX_MGMT_LEN * ra.k;
	put_be32(ra.b, (uint32_t)(n - 4));
	scsi_cmd_data_in(cmd, ra.b, MIN(n, (size_t)alloc));
	free(ra.b);
	return SENSE_OK;
}

/* --- COPY OPERATION ABORT (83h/1Ch) --- */

enum sense_reason
odx_copy_op_abort(struct scsi_cmd *cmd)
{
	struct xcopy_nexus *xn = NULL;
	struct xcopy_snap *sn;
	struct rod_entry *ent = NULL;
	enum sense_reason r;

	r = xcopy_copy_op_abort(cmd);
	if (r != SENSE_INVALID_FIELD_IN_CDB || cmd->nexus == NULL)
		return r;
	/* a completed POPULATE TOKEN: cancel the token it made */
	xn = __atomic_load_n((struct xcopy_nexus **)&cmd->nexus->tpc,
	    __ATOMIC_ACQUIRE);
	sn = xmalloc(sizeof(*sn));
	if (xn == NULL || sn == NULL) {
		free(sn);
		return r;
	}
	if (!xcopy_list_find(xn, XCOPY_NS_LID4, get_be32(cmd->cdb + 2), sn,
	    false, false) || sn->active || sn->sa != ODX_SA_PT ||
	    !sn->has_token) {
		free(sn);
		return r;
	}
	if (rod_registry_lookup(sn->token, ODX_TOKEN_LEN, cmd->nexus,
	    &ent) == ROD_OK) {
		rod_registry_cancel(ent);
		rod_registry_put(ent);
	}
	free(sn);
	memset(&cmd->sd, 0, sizeof(cmd->sd));
	return SENSE_OK;
}
