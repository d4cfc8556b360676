/*
 * xcopy_status.c - the per I_T nexus list-ID table and the copy results
 * commands: RECEIVE COPY STATUS (LID1 84h/00h, LID4 84h/05h), RECEIVE
 * COPY DATA (84h/01h, 06h), RECEIVE COPY OPERATING PARAMETERS (84h/03h),
 * RECEIVE COPY FAILURE DETAILS (84h/04h) and COPY OPERATION ABORT
 * (83h/1Ch).
 *
 * List IDs live in two namespaces per nexus (LID1 8-bit, LID4 32-bit) and
 * are visible only to the nexus that used them (SPC-4 5.16.4.3).  Only an
 * active operation blocks the reuse of its ID (00/16); a completed one
 * whose results are held is replaced by the new command (libiscsi reuses
 * list 1 right after a held completion).  Completed entries are kept until
 * replaced, read by FAILURE DETAILS, evicted (oldest first beyond
 * XCOPY_DONE_MAX per nexus), older than the hold time (xcopy_set_hold_ms,
 * conf "copy_results_hold", as CTL's 60 s) or the nexus ends.  The hold
 * time matters where a nexus never ends: a TCMU device has one for every
 * initiator (docs/tcmu.md).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lun.h"
#include "scsi_int.h"
#include "util.h"
#include "xcopy/copy_engine.h"
#include "xcopy/xcopy.h"
#include "xcopy/xcopy_int.h"

#define XCOPY_DONE_MAX	256	/* completed entries kept per nexus */

static uint64_t xcopy_hold_ms = XCOPY_HOLD_DEFAULT_S * 1000ull;

struct xcopy_ent {
	struct xcopy_ent *next;
	uint32_t	 list_id;
	uint8_t		 ns;		/* enum xcopy_ns */
	uint8_t		 sa;
	uint8_t		 usage;
	bool		 active;
	bool		 immed;
	bool		 hdd;
	uint64_t	 seq;		/* completion order */
	uint64_t	 done_ms;	/* now_ms() at completion */
	const struct xcopy_op_hooks *hooks;
	void		*op;		/* while active */
	struct xcopy_result res;	/* when completed */
};

struct xcopy_nexus {
	pthread_mutex_t	 lock;
	struct xcopy_ent *ents;
	unsigned int	 n_active, n_done;
	unsigned int	 refs;		/* the nexus + one per active op */
	bool		 dead;		/* the nexus is gone */
	uint64_t	 seq;
};

struct xcopy_nexus *
xcopy_nexus_get(struct scsi_nexus *nx)
{
	struct xcopy_nexus *xn, *cur = NULL;

	xn = __atomic_load_n((struct xcopy_nexus **)&nx->tpc,
	    __ATOMIC_ACQUIRE);
	if (xn != NULL)
		return xn;
	xn = xcalloc(1, sizeof(*xn));
	if (xn == NULL)
		return NULL;
	pthread_mutex_init(&xn->lock, NULL);
	xn->refs = 1;
	if (!__atomic_compare_exchange_n((struct xcopy_nexus **)&nx->tpc,
	    &cur, xn, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		pthread_mutex_destroy(&xn->lock);
		free(xn);
		return cur;
	}
	return xn;
}

static void
xcopy_ent_free(struct xcopy_ent *e)
{
	free(e->res.held);
	free(e->res.token);
	free(e);
}

/* EXTENDED COPY's own operations (xcopy_cmd.c) */
static void
xcopy_hook_progress(void *op, struct xcopy_result *res)
{
	xcopy_op_progress(op, res);
}

static void
xcopy_hook_abort(void *op)
{
	xcopy_op_abort(op);
}

static void
xcopy_hook_orphan(void *op)
{
	xcopy_op_orphan(op);
}

static const struct xcopy_op_hooks xcopy_hooks = {
	.progress = xcopy_hook_progress,
	.abort = xcopy_hook_abort,
	.orphan = xcopy_hook_orphan,
};

static void
xcopy_unlink(struct xcopy_nexus *xn, struct xcopy_ent *e)
{
	struct xcopy_ent **pp;

	for (pp = &xn->ents; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			if (!e->active)
				xn->n_done--;
			return;
		}
	}
}

static struct xcopy_ent *
xcopy_find(struct xcopy_nexus *xn, enum xcopy_ns ns, uint32_t list_id)
{
	struct xcopy_ent *e;

	for (e = xn->ents; e != NULL; e = e->next)
		if (e->ns == ns && e->list_id == list_id &&
		    e->usage != XCOPY_USAGE_NONE)
			return e;
	return NULL;
}

void
xcopy_set_hold_ms(uint64_t ms)
{
	__atomic_store_n(&xcopy_hold_ms, ms, __ATOMIC_RELAXED);
}

/* Drop the completed entries held longer than the hold time. */
static void
xcopy_expire(struct xcopy_nexus *xn)
{
	uint64_t hold = __atomic_load_n(&xcopy_hold_ms, __ATOMIC_RELAXED);
	uint64_t now;
	struct xcopy_ent *e, *next;

	if (xn->n_done == 0)
		return;
	now = now_ms();
	for (e = xn->ents; e != NULL; e = next) {
		next = e->next;
		if (!e->active && now - e->done_ms >= hold) {
			xcopy_unlink(xn, e);
			xcopy_ent_free(e);
		}
	}
}

/* Drop the oldest completed entry. */
static void
xcopy_evict(struct xcopy_nexus *xn)
{
	struct xcopy_ent *e, *old = NULL;

	for (e = xn->ents; e != NULL; e = e->next)
		if (!e->active && (old == NULL || e->seq < old->seq))
			old = e;
	if (old != NULL) {
		xcopy_unlink(xn, old);
		xcopy_ent_free(old);
	}
}

static void
xcopy_nexus_put_locked(struct xcopy_nexus *xn, bool *free_it)
{
	*free_it = --xn->refs == 0;
}

static void
xcopy_nexus_free(struct xcopy_nexus *xn)
{
	struct xcopy_ent *e;

	while ((e = xn->ents) != NULL) {
		xn->ents = e->next;
		xcopy_ent_free(e);
	}
	pthread_mutex_destroy(&xn->lock);
	free(xn);
}

enum sense_reason
xcopy_list_begin(struct xcopy_nexus *xn, enum xcopy_ns ns, uint32_t list_id,
    uint8_t sa, uint8_t usage, bool immed, struct xcopy_op *op, void **ent)
{
	return xcopy_list_begin_ext(xn, ns, list_id, sa, usage, immed,
	    &xcopy_hooks, op, ent);
}

enum sense_reason
xcopy_list_begin_ext(struct xcopy_nexus *xn, enum xcopy_ns ns,
    uint32_t list_id, uint8_t sa, uint8_t usage, bool immed,
    const struct xcopy_op_hooks *hooks, void *op, void **ent)
{
	const struct tpc_limits *lim = tpc_limits();
	struct xcopy_ent *e, *old = NULL;

	e = xcalloc(1, sizeof(*e));
	if (e == NULL)
		return SENSE_BUSY;
	e->list_id = list_id;
	e->ns = (uint8_t)ns;
	e->sa = sa;
	e->usage = usage;
	e->immed = immed;
	e->active = true;
	e->op = op;
	e->hooks = hooks;
	pthread_mutex_lock(&xn->lock);
	xcopy_expire(xn);
	if (usage != XCOPY_USAGE_NONE)
		old = xcopy_find(xn, ns, list_id);
	if (old != NULL && old->active) {
		pthread_mutex_unlock(&xn->lock);
		free(e);
		return SENSE_OPERATION_IN_PROGRESS;	/* 00/16 */
	}
	if (xn->n_active >= lim->max_concurrent) {
		pthread_mutex_unlock(&xn->lock);
		free(e);
		return SENSE_INSUFFICIENT_RESOURCES;	/* 55/03 */
	}
	if (old != NULL) {
		xcopy_unlink(xn, old);
		xcopy_ent_free(old);
	}
	e->next = xn->ents;
	xn->ents = e;
	xn->n_active++;
	xn->refs++;
	pthread_mutex_unlock(&xn->lock);
	*ent = e;
	return SENSE_OK;
}

void
xcopy_list_end(struct xcopy_nexus *xn, void *ent, struct xcopy_result *res)
{
	struct xcopy_ent *e = ent;
	bool keep, free_xn;

	pthread_mutex_lock(&xn->lock);
	e->op = NULL;
	e->res = *res;
	res->held = NULL;
	res->held_len = 0;
	res->token = NULL;
	xn->n_active--;
	keep = !xn->dead && e->usage == XCOPY_USAGE_HOLD;
	if (!keep) {
		xcopy_unlink(xn, e);	/* active: n_done untouched */
		xcopy_ent_free(e);
	} else {
		e->active = false;
		e->seq = ++xn->seq;
		e->done_ms = now_ms();
		xn->n_done++;
		if (xn->n_done > XCOPY_DONE_MAX)
			xcopy_evict(xn);
	}
	xcopy_nexus_put_locked(xn, &free_xn);
	pthread_mutex_unlock(&xn->lock);
	if (free_xn)
		xcopy_nexus_free(xn);
}

bool
xcopy_list_find(struct xcopy_nexus *xn, enum xcopy_ns ns, uint32_t list_id,
    struct xcopy_snap *snap, bool take_held, bool drop)
{
	struct xcopy_ent *e;

	memset(snap, 0, sizeof(*snap));
	pthread_mutex_lock(&xn->lock);
	xcopy_expire(xn);
	e = xcopy_find(xn, ns, list_id);
	if (e == NULL) {
		pthread_mutex_unlock(&xn->lock);
		return false;
	}
	snap->active = e->active;
	snap->immed = e->immed;
	snap->sa = e->sa;
	snap->hdd = e->hdd;
	if (e->active) {
		e->hooks->progress(e->op, &snap->res);
		snap->res.held = NULL;
		snap->res.held_len = 0;
		snap->res.token = NULL;
	} else {
		snap->res = e->res;
		snap->res.held = NULL;
		snap->res.held_len = 0;
		snap->res.token = NULL;
		if (e->res.token != NULL) {
			snap->has_token = true;
			memcpy(snap->token, e->res.token, XCOPY_TOKEN_LEN);
		}
		if (take_held) {
			snap->res.held = e->res.held;
			snap->res.held_len = e->res.held_len;
			e->res.held = NULL;
			e->res.held_len = 0;
		}
		if (drop) {
			xcopy_unlink(xn, e);
			xcopy_ent_free(e);
		}
	}
	pthread_mutex_unlock(&xn->lock);
	return true;
}

int
xcopy_list_abort(struct xcopy_nexus *xn, enum xcopy_ns ns, uint32_t list_id)
{
	struct xcopy_ent *e;
	int rc = -ENOENT;

	pthread_mutex_lock(&xn->lock);
	e = xcopy_find(xn, ns, list_id);
	if (e != NULL && e->active) {
		e->hooks->abort(e->op);
		rc = 0;
	}
	pthread_mutex_unlock(&xn->lock);
	return rc;
}

void
xcopy_nexus_fini(struct scsi_nexus *nx)
{
	struct xcopy_nexus *xn;
	struct xcopy_ent *e, **pp;
	bool free_xn;

	if (nx == NULL)
		return;
	xn = __atomic_exchange_n((struct xcopy_nexus **)&nx->tpc, NULL,
	    __ATOMIC_ACQ_REL);
	if (xn == NULL)
		return;
	pthread_mutex_lock(&xn->lock);
	xn->dead = true;
	for (pp = &xn->ents; (e = *pp) != NULL;) {
		if (e->active) {
			/* SAM-5: I_T nexus loss ends its copies */
			e->hooks->abort(e->op);
			e->hooks->orphan(e->op);
			pp = &e->next;
			continue;
		}
		*pp = e->next;
		xn->n_done--;
		xcopy_ent_free(e);
	}
	xcopy_nexus_put_locked(xn, &free_xn);
	pthread_mutex_unlock(&xn->lock);
	if (free_xn)
		xcopy_nexus_free(xn);
}

/* --- the commands --- */

static uint32_t
xcopy_alloc_len(const struct scsi_cmd *cmd)
{
	return get_be32(cmd->cdb + 10);
}

static void
xcopy_data_in(struct scsi_cmd *cmd, const uint8_t *b, size_t n)
{
	scsi_cmd_data_in(cmd, b, MIN(n, (size_t)xcopy_alloc_len(cmd)));
}

/* Unknown list ID (or nothing to report): INVALID FIELD IN CDB at the
 * LIST IDENTIFIER (SPC-4 6.21; libiscsi accepts 24/00). */
static enum sense_reason
xcopy_unknown_id(struct scsi_cmd *cmd)
{
	return scsi_invalid_field(cmd, true, 2, -1);
}

static bool
xcopy_lookup(struct scsi_cmd *cmd, enum xcopy_ns ns, uint32_t id,
    struct xcopy_snap *snap, bool take_held, bool drop)
{
	struct xcopy_nexus *xn;

	if (cmd->nexus == NULL)
		return false;
	xn = __atomic_load_n((struct xcopy_nexus **)&cmd->nexus->tpc,
	    __ATOMIC_ACQUIRE);
	return xn != NULL && xcopy_list_find(xn, ns, id, snap, take_held,
	    drop);
}

/* TRANSFER COUNT in the smallest unit that fits 32 bits (SPC-4 6.21) */
static void
xcopy_put_count(uint8_t *units, uint8_t *count, uint64_t bytes)
{
	uint8_t u = 0;

	while (bytes > UINT32_MAX && u < 6) {
		bytes >>= 10;
		u++;
	}
	*units = u;
	put_be32(count, (uint32_t)bytes);
}

/* 84h/00h RECEIVE COPY STATUS(LID1) */
enum sense_reason
xcopy_rcv_status_lid1(struct scsi_cmd *cmd)
{
	struct xcopy_snap sn;
	uint8_t b[12];

	if (!xcopy_lookup(cmd, XCOPY_NS_LID1, cmd->cdb[2], &sn, false,
	    false))
		return xcopy_unknown_id(cmd);
	memset(b, 0, sizeof(b));
	put_be32(b, 8);
	if (sn.active)
		b[4] = 0x00;			/* in progress */
	else
		b[4] = sn.res.cos == XCOPY_COS_OK ? 0x01 : 0x02;
	if (sn.hdd)
		b[4] |= 0x80;
	put_be16(b + 5, sn.res.segs);
	xcopy_put_count(&b[7], b + 8, sn.res.bytes);
	xcopy_data_in(cmd, b, sizeof(b));
	return SENSE_OK;
}

/* 84h/05h RECEIVE COPY STATUS(LID4): the 32-byte header of
 * third-party-copy.md 5.5, then the sense data of the command. */
enum sense_reason
xcopy_rcv_status_lid4(struct scsi_cmd *cmd)
{
	struct xcopy_snap sn;
	uint8_t b[32 + SCSI_SENSE_MAX];
	size_t x;

	if (!xcopy_lookup(cmd, XCOPY_NS_LID4, get_be32(cmd->cdb + 2), &sn,
	    false, false))
		return xcopy_unknown_id(cmd);
	memset(b, 0, sizeof(b));
	x = sn.active ? 0 : sn.res.sense_len;
	put_be32(b, (uint32_t)(32 + x - 4));
	b[4] = sn.sa & 0x1f;
	if (sn.active) {
		b[5] = sn.immed ? XCOPY_COS_BG : XCOPY_COS_FG;
		put_be32(b + 8, 100);		/* poll again in 100 ms */
	} else {
		b[5] = sn.res.cos;
		put_be32(b + 8, 0xfffffffe);	/* finished */
		b[12] = sn.res.status;
	}
	put_be16(b + 6, sn.res.ops);
	b[13] = (uint8_t)x;
	b[14] = (uint8_t)x;
	b[15] = 0x00;				/* bytes */
	put_be64(b + 16, sn.res.bytes);
	put_be16(b + 24, sn.res.segs);
	memcpy(b + 32, sn.res.sense, x);
	xcopy_data_in(cmd, b, 32 + x);
	return SENSE_OK;
}

/* 84h/04h RECEIVE COPY FAILURE DETAILS (LID1): completed operations only;
 * reading them releases the list ID's results. */
enum sense_reason
xcopy_rcv_failure(struct scsi_cmd *cmd)
{
	struct xcopy_snap sn;
	uint8_t b[60 + SCSI_SENSE_MAX];
	size_t n;

	if (!xcopy_lookup(cmd, XCOPY_NS_LID1, cmd->cdb[2], &sn, false,
	    false) || sn.active)
		return xcopy_unknown_id(cmd);
	(void)xcopy_lookup(cmd, XCOPY_NS_LID1, cmd->cdb[2], &sn, false,
	    true);
	memset(b, 0, sizeof(b));
	if (sn.res.cos == XCOPY_COS_OK) {
		n = 4;				/* AVAILABLE DATA 0 */
	} else {
		n = 60 + sn.res.sense_len;
		put_be32(b, (uint32_t)(n - 4));
		b[56] = sn.res.status;
		put_be16(b + 58, sn.res.sense_len);
		memcpy(b + 60, sn.res.sense, sn.res.sense_len);
	}
	xcopy_data_in(cmd, b, n);
	return SENSE_OK;
}

/* 84h/01h, 06h RECEIVE COPY DATA: the data held by 0Dh segments, handed
 * over once (SPC-4 6.19). */
enum sense_reason
xcopy_rcv_data(struct scsi_cmd *cmd)
{
	bool lid4 = (cmd->cdb[1] & SCSI_SA_MASK) == 0x06;
	struct xcopy_snap sn;
	uint32_t id = lid4 ? get_be32(cmd->cdb + 2) : cmd->cdb[2];
	uint8_t *b;
	size_t n;

	if (!xcopy_lookup(cmd, lid4 ? XCOPY_NS_LID4 : XCOPY_NS_LID1, id,
	    &sn, true, false) || sn.active)
		return xcopy_unknown_id(cmd);
	n = 4 + (size_t)sn.res.held_len;
	b = xcalloc(1, n);
	if (b == NULL) {
		free(sn.res.held);
		return SENSE_BUSY;
	}
	put_be32(b, sn.res.held_len);
	if (sn.res.held_len != 0)
		memcpy(b + 4, sn.res.held, sn.res.held_len);
	xcopy_data_in(cmd, b, n);
	free(b);
	free(sn.res.held);
	return SENSE_OK;
}

/* 84h/03h RECEIVE COPY OPERATING PARAMETERS: the list ID is ignored and
 * a short allocation length only truncates. */
enum sense_reason
xcopy_rcv_oper_params(struct scsi_cmd *cmd)
{
	uint8_t b[44 + 256];
	size_t n = tpc_oper_params(b, sizeof(b));

	xcopy_data_in(cmd, b, n);
	return SENSE_OK;
}

/* 83h/1Ch COPY OPERATION ABORT: LID4 namespace, then LID1 for IDs that
 * fit 8 bits.  A finished or unknown list ID is INVALID FIELD IN CDB. */
enum sense_reason
xcopy_copy_op_abort(struct scsi_cmd *cmd)
{
	uint32_t id = get_be32(cmd->cdb + 2);
	struct xcopy_nexus *xn;

	if (cmd->nexus == NULL)
		return xcopy_unknown_id(cmd);
	xn = __atomic_load_n((struct xcopy_nexus **)&cmd->nexus->tpc,
	    __ATOMIC_ACQUIRE);
	if (xn == NULL)
		return xcopy_unknown_id(cmd);
	if (xcopy_list_abort(xn, XCOPY_NS_LID4, id) == 0)
		return SENSE_OK;
	if (id <= 0xff && xcopy_list_abort(xn, XCOPY_NS_LID1, id) == 0)
		return SENSE_OK;
	return xcopy_unknown_id(cmd);
}
