/*
 * pr_cmd.c - the SCSI edge of reservations: PERSISTENT RESERVE IN/OUT,
 * RESERVE/RELEASE(6/10), the reservation gate dispatch calls for every
 * command, and the LU's reservation state (lun->pr).
 *
 * lun->pr is created on the LU's first command (loading its APTPL file)
 * and freed by lun_put().  Its mutex guards the state; the gate takes it
 * only while a reservation exists (an atomic flag says so), so commands to
 * an unreserved LU pay one atomic load.  Lock order: pr lock, then the
 * target registry (target_foreach_nexus), then nexus locks.
 *
 * A PR OUT runs on a copy of the state; the copy replaces the state only
 * if the command succeeded and, for APTPL, the new state reached the disk
 * (so a failed save changes nothing).  Unit attentions and task aborts the
 * state machine asks for are then sent to every registered nexus whose
 * identity matches.
 *
 * SPC-2 reservations end on LUN reset, target reset (pr_lun_reset) and I_T
 * nexus loss; the loss is noticed lazily: when the holder's nexus is no
 * longer registered with the target registry, its reservation is gone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "lun.h"
#include "pr.h"
#include "scsi_int.h"
#include "target.h"
#include "util.h"

#define PR_PARAM_LEN	24	/* basic PR OUT parameter list */

struct pr_lun {
	pthread_mutex_t	 lock;
	struct pr_state	 st;
	int		 active;	/* atomic: st.reserved || st.r2 */
	char		 id[2 * LUN_NAA_LEN + 1];
};

static void (*pr_abort_hook)(struct scsi_nexus *, struct lun *);

void
pr_set_abort_hook(void (*fn)(struct scsi_nexus *, struct lun *))
{
	pr_abort_hook = fn;
}

static void
pr_lun_id(const struct lun *lun, char *out)
{
	unsigned int i;

	for (i = 0; i < LUN_NAA_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", lun->naa[i]);
}

static void
pr_lun_set_active(struct pr_lun *pl)
{
	__atomic_store_n(&pl->active, pl->st.reserved || pl->st.r2,
	    __ATOMIC_RELEASE);
}

/* The LU's state, created (and its APTPL file loaded) on first use. */
static struct pr_lun *
pr_lun_get(struct lun *lun)
{
	struct pr_lun *pl, *cur;

	cur = __atomic_load_n((struct pr_lun **)&lun->pr, __ATOMIC_ACQUIRE);
	if (cur != NULL)
		return cur;
	pl = xcalloc(1, sizeof(*pl));
	if (pl == NULL)
		return NULL;
	pthread_mutex_init(&pl->lock, NULL);
	pr_lun_id(lun, pl->id);
	if (pr_store_load(pl->id, &pl->st) == 0) {
		log_info("reservations: %s: restored %u registrations%s "
		    "(APTPL)", lun->name, pl->st.n_regs,
		    pl->st.reserved ? " and a reservation" : "");
	}
	pr_lun_set_active(pl);
	cur = NULL;
	if (!__atomic_compare_exchange_n((struct pr_lun **)&lun->pr, &cur, pl,
	    false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		pr_state_fini(&pl->st);
		pthread_mutex_destroy(&pl->lock);
		free(pl);
		return cur;
	}
	return pl;
}

void
pr_lun_destroy(struct lun *lun)
{
	struct pr_lun *pl = lun->pr;

	if (pl == NULL)
		return;
	pr_state_fini(&pl->st);
	pthread_mutex_destroy(&pl->lock);
	free(pl);
	lun->pr = NULL;
}

void
pr_lun_reset(struct lun *lun)
{
	struct pr_lun *pl = lun->pr;

	if (pl == NULL)
		return;
	pthread_mutex_lock(&pl->lock);
	pl->st.r2 = false;
	pr_lun_set_active(pl);
	pthread_mutex_unlock(&pl->lock);
}

static void
pr_cmd_it(const struct scsi_cmd *cmd, struct pr_it *it)
{
	const struct scsi_nexus *nx = cmd->nexus;

	memset(it, 0, sizeof(*it));
	it->i_port = nx != NULL && nx->initiator != NULL ? nx->initiator : "";
	it->target = nx != NULL && nx->target != NULL ? nx->target : "";
	it->tpg_tag = nx != NULL ? nx->tpg_tag : 0;
	it->rel_port_id = nx != NULL && nx->rel_port_id ? nx->rel_port_id :
	    1;
	it->nexus_id = nx != NULL ? nx->id : 0;
}

struct pr_alive {
	uint64_t	 id;
	bool		 found;
};

static void
pr_alive_one(struct scsi_nexus *nx, void *arg)
{
	struct pr_alive *a = arg;

	if (nx->id == a->id)
		a->found = true;
}

/* Is the nexus with this id still registered and mapping lun? */
static bool
pr_nexus_alive(const struct lun *lun, uint64_t id)
{
	struct pr_alive a = { .id = id, .found = false };

	target_foreach_nexus(lun, pr_alive_one, &a);
	return a.found;
}

/* --- unit attentions and aborts --- */

struct pr_deliver {
	const struct pr_ev *ev;
	struct lun	*lun;
};

static void
pr_deliver_one(struct scsi_nexus *nx, void *arg)
{
	struct pr_deliver *d = arg;
	const struct pr_ev *ev = d->ev;

	if (nx->initiator == NULL || nx->target == NULL ||
	    nx->tpg_tag != ev->tpg_tag ||
	    strcasecmp(nx->initiator, ev->i_port) != 0 ||
	    strcasecmp(nx->target, ev->target) != 0)
		return;
	nexus_ua_add(nx, d->lun, ev->asc, ev->ascq);
	if (ev->abort && pr_abort_hook != NULL)
		pr_abort_hook(nx, d->lun);
}

static void
pr_deliver(struct lun *lun, const struct pr_evs *evs)
{
	struct pr_deliver d = { .lun = lun };
	unsigned int i;

	if (evs->oom)
		log_warn("reservations: %s: out of memory, some unit "
		    "attentions were lost", lun->name);
	for (i = 0; i < evs->n; i++) {
		d.ev = &evs->v[i];
		target_foreach_nexus(lun, pr_deliver_one, &d);
	}
}

/* --- the gate --- */

/* Called by dispatch for every command not marked OP_RESV_OK. */
enum sense_reason
pr_cmd_check(struct scsi_cmd *cmd)
{
	struct pr_lun *pl;
	struct pr_it it;
	enum pr_class cls;
	enum sense_reason r = SENSE_OK;

	if (cmd->lun == NULL)
		return SENSE_OK;
	pl = pr_lun_get(cmd->lun);
	if (pl == NULL)
		return SENSE_BUSY;
	if (!__atomic_load_n(&pl->active, __ATOMIC_ACQUIRE))
		return SENSE_OK;
	cls = pr_cmd_class(cmd->cdb);
	pr_cmd_it(cmd, &it);
	pthread_mutex_lock(&pl->lock);
	if (pl->st.r2) {
		/* SPC-2 5.5.1: PR IN/OUT conflict whoever sends them;
		 * RESERVE/RELEASE decide themselves. */
		if (cls == PR_CLS_PR)
			r = SENSE_RESERVATION_CONFLICT;
		else if (pl->st.r2_nexus == it.nexus_id ||
		    cls == PR_CLS_ALLOW_ALL || cls == PR_CLS_RESV)
			r = SENSE_OK;
		else if (pr_nexus_alive(cmd->lun, pl->st.r2_nexus))
			r = SENSE_RESERVATION_CONFLICT;
		else {
			pl->st.r2 = false;	/* holder's nexus is gone */
			pr_lun_set_active(pl);
		}
	} else if (pr_conflict(&pl->st, &it, cls, cmd->cdb)) {
		r = SENSE_RESERVATION_CONFLICT;
	}
	pthread_mutex_unlock(&pl->lock);
	return r;
}

/* --- SPC-2 RESERVE / RELEASE (6 and 10) --- */

static enum sense_reason
pr_cmd_spc2(struct scsi_cmd *cmd, bool reserve)
{
	struct pr_lun *pl = pr_lun_get(cmd->lun);
	struct pr_it it;
	enum sense_reason r;
	bool alive = true;

	if (pl == NULL)
		return SENSE_BUSY;
	pr_cmd_it(cmd, &it);
	pthread_mutex_lock(&pl->lock);
	if (reserve && pl->st.r2 && pl->st.r2_nexus != it.nexus_id)
		alive = pr_nexus_alive(cmd->lun, pl->st.r2_nexus);
	r = reserve ? pr_reserve2(&pl->st, &it, alive) :
	    pr_release2(&pl->st, &it);
	pr_lun_set_active(pl);
	pthread_mutex_unlock(&pl->lock);
	return r;
}

enum sense_reason
pr_cmd_reserve(struct scsi_cmd *cmd)
{
	return pr_cmd_spc2(cmd, true);
}

enum sense_reason
pr_cmd_release(struct scsi_cmd *cmd)
{
	return pr_cmd_spc2(cmd, false);
}

/* --- PERSISTENT RESERVE IN --- */

enum sense_reason
pr_cmd_in(struct scsi_cmd *cmd)
{
	struct pr_lun *pl = pr_lun_get(cmd->lun);
	uint8_t sa = cmd->cdb[1] & 0x1f;
	size_t alloc = get_be16(cmd->cdb + 7), n;
	uint8_t *buf;

	if (pl == NULL)
		return SENSE_BUSY;
	pthread_mutex_lock(&pl->lock);
	n = pr_in_build(&pl->st, sa, pr_store_enabled(), NULL, 0);
	n = MIN(n, alloc);
	buf = xmalloc(n ? n : 1);
	if (buf != NULL)
		pr_in_build(&pl->st, sa, pr_store_enabled(), buf, n);
	pthread_mutex_unlock(&pl->lock);
	if (buf == NULL)
		return SENSE_BUSY;
	cmd->buf = buf;
	scsi_cmd_data_in(cmd, buf, n);
	return SENSE_OK;
}

/* --- PERSISTENT RESERVE OUT --- */

static enum sense_reason
pr_cmd_out_parse(struct scsi_cmd *cmd, struct pr_out *o)
{
	uint32_t len = get_be32(cmd->cdb + 5);
	uint8_t p[PR_PARAM_LEN];

	memset(o, 0, sizeof(*o));
	o->sa = cmd->cdb[1] & 0x1f;
	o->scope = cmd->cdb[2] >> 4;
	o->type = cmd->cdb[2] & 0x0f;
	/* SPC-4 6.17.3: 24 bytes unless SPEC_I_PT (or REGISTER AND MOVE) */
	if (len < PR_PARAM_LEN || scsi_cmd_data_cap(cmd, false) <
	    PR_PARAM_LEN || scsi_cmd_copy_from_buf(cmd, 0, p, sizeof(p)) !=
	    sizeof(p))
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	cmd->xfer_len = PR_PARAM_LEN;
	o->rk = get_be64(p);
	o->sark = get_be64(p + 8);
	o->spec_i_pt = p[20] & 0x08;
	o->all_tg_pt = p[20] & 0x04;
	o->aptpl = p[20] & 0x01;
	if (!o->spec_i_pt && len != PR_PARAM_LEN)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	/* APTPL is meaningful for the registering service actions only */
	if (o->aptpl && !pr_store_enabled() &&
	    (o->sa == PR_OUT_REGISTER || o->sa == PR_OUT_REGISTER_IGNORE))
		return scsi_invalid_field(cmd, false, 20, 0);
	return SENSE_OK;
}

enum sense_reason
pr_cmd_out(struct scsi_cmd *cmd)
{
	struct pr_lun *pl = pr_lun_get(cmd->lun);
	struct pr_evs evs = { 0 };
	struct pr_state next;
	struct pr_out o;
	struct pr_it it;
	enum sense_reason r;
	int rc = 0;

	if (pl == NULL)
		return SENSE_BUSY;
	r = pr_cmd_out_parse(cmd, &o);
	if (r != SENSE_OK)
		return r;
	pr_cmd_it(cmd, &it);
	pthread_mutex_lock(&pl->lock);
	if (pr_state_copy(&next, &pl->st) != 0) {
		pthread_mutex_unlock(&pl->lock);
		return SENSE_BUSY;
	}
	r = pr_out_apply(&next, &it, &o, &evs, &cmd->sd);
	if (r == SENSE_OK && next.aptpl)
		rc = pr_store_save(pl->id, cmd->lun->name, &next);
	else if (r == SENSE_OK && pl->st.aptpl)
		rc = pr_store_remove(pl->id);
	if (r == SENSE_OK && rc != 0)
		r = sense_from_errno(rc, true);
	if (r == SENSE_OK) {
		pr_state_fini(&pl->st);
		pl->st = next;
		pr_lun_set_active(pl);
	} else {
		pr_state_fini(&next);
	}
	pthread_mutex_unlock(&pl->lock);
	if (r == SENSE_OK)
		pr_deliver(cmd->lun, &evs);
	pr_evs_free(&evs);
	return r;
}
