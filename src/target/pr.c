/*
 * pr.c - the reservation state machine (pure: no locks, no I/O).
 *
 * Persistent reservations follow SPC-4 5.13: registrations are keyed by
 * I_T nexus identity (initiator port name, target port); one persistent
 * reservation of one of six types, held by one registrant or, for the
 * all-registrants types, by every registrant.  PR OUT service actions are
 * applied by pr_out_apply(), which lists the unit attentions SPC-4 asks
 * for in a struct pr_evs; the caller queues them to the matching nexuses.
 *
 * SPC-2 reservations (RESERVE/RELEASE 6/10) follow SPC-2 5.5.1 with the
 * SPC-4 5.13.3 exceptions (compatible reservation handling, CRH = 1): with
 * a persistent reservation or any registration present RESERVE/RELEASE
 * conflict, except from a holder or, for registrants-only and
 * all-registrants types, from a registrant, where they are no-ops.
 *
 * The gate (pr_conflict) is table-driven: pr_cmd_class() maps an opcode
 * and service action to a class from SPC-4 table 66 and SBC-4 table 13;
 * commands not listed conflict like WRITE, which is the rule for the
 * copy commands (EXTENDED COPY, WRITE USING TOKEN) too, while POPULATE
 * TOKEN and the RECEIVE COPY family read and pass WE reservations.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pr.h"
#include "util.h"

void
pr_state_init(struct pr_state *st)
{
	memset(st, 0, sizeof(*st));
	st->holder = -1;
}

void
pr_state_fini(struct pr_state *st)
{
	free(st->regs);
	pr_state_init(st);
}

int
pr_state_copy(struct pr_state *dst, const struct pr_state *src)
{
	struct pr_reg *regs = NULL;

	if (src->n_regs > 0) {
		regs = xcalloc(src->n_regs, sizeof(*regs));
		if (regs == NULL)
			return -ENOMEM;
		memcpy(regs, src->regs, src->n_regs * sizeof(*regs));
	}
	*dst = *src;
	dst->regs = regs;
	dst->cap_regs = src->n_regs;
	return 0;
}

bool
pr_type_valid(uint8_t type)
{
	switch (type) {
	case PR_TYPE_WE:
	case PR_TYPE_EA:
	case PR_TYPE_WE_RO:
	case PR_TYPE_EA_RO:
	case PR_TYPE_WE_AR:
	case PR_TYPE_EA_AR:
		return true;
	default:
		return false;
	}
}

bool
pr_type_all_reg(uint8_t type)
{
	return type == PR_TYPE_WE_AR || type == PR_TYPE_EA_AR;
}

static bool
pr_type_reg_only(uint8_t type)
{
	return type == PR_TYPE_WE_RO || type == PR_TYPE_EA_RO;
}

static bool
pr_type_we(uint8_t type)
{
	return type == PR_TYPE_WE || type == PR_TYPE_WE_RO ||
	    type == PR_TYPE_WE_AR;
}

static bool
pr_reg_match(const struct pr_reg *r, const struct pr_it *it)
{
	return r->tpg_tag == it->tpg_tag &&
	    strcasecmp(r->i_port, it->i_port) == 0 &&
	    strcasecmp(r->target, it->target) == 0;
}

int
pr_find_reg(const struct pr_state *st, const struct pr_it *it)
{
	unsigned int i;

	for (i = 0; i < st->n_regs; i++)
		if (pr_reg_match(&st->regs[i], it))
			return (int)i;
	return -1;
}

bool
pr_is_holder(const struct pr_state *st, int reg)
{
	if (!st->reserved || reg < 0)
		return false;
	return pr_type_all_reg(st->type) || reg == st->holder;
}

/* --- the gate --- */

/* SPC-4 table 66 (SPC commands) and SBC-4 table 13 (block commands);
 * missing opcodes are PR_CLS_WRITE. */
static const uint8_t pr_op_class[256] = {
	[0x00] = PR_CLS_ALLOW,		/* TEST UNIT READY */
	[0x03] = PR_CLS_ALLOW_ALL,	/* REQUEST SENSE */
	[0x08] = PR_CLS_READ,		/* READ(6) */
	[0x12] = PR_CLS_ALLOW_ALL,	/* INQUIRY */
	[0x16] = PR_CLS_RESV,		/* RESERVE(6) */
	[0x17] = PR_CLS_RESV,		/* RELEASE(6) */
	[0x1a] = PR_CLS_READ,		/* MODE SENSE(6) */
	[0x1b] = PR_CLS_SSU,		/* START STOP UNIT */
	[0x1c] = PR_CLS_READ,		/* RECEIVE DIAGNOSTIC RESULTS */
	[0x1e] = PR_CLS_PREVENT,	/* PREVENT ALLOW MEDIUM REMOVAL */
	[0x25] = PR_CLS_ALLOW,		/* READ CAPACITY(10) */
	[0x28] = PR_CLS_READ,		/* READ(10) */
	[0x2f] = PR_CLS_READ,		/* VERIFY(10) */
	[0x34] = PR_CLS_READ,		/* PRE-FETCH(10) */
	[0x37] = PR_CLS_READ,		/* READ DEFECT DATA(10) */
	[0x3c] = PR_CLS_READ,		/* READ BUFFER(10) */
	[0x3e] = PR_CLS_READ,		/* READ LONG(10) */
	[0x4d] = PR_CLS_ALLOW,		/* LOG SENSE */
	[0x56] = PR_CLS_RESV,		/* RESERVE(10) */
	[0x57] = PR_CLS_RESV,		/* RELEASE(10) */
	[0x5a] = PR_CLS_READ,		/* MODE SENSE(10) */
	[0x5e] = PR_CLS_PR,		/* PERSISTENT RESERVE IN */
	[0x5f] = PR_CLS_PR,		/* PERSISTENT RESERVE OUT */
	[0x86] = PR_CLS_ALLOW,		/* ACCESS CONTROL IN */
	[0x87] = PR_CLS_ALLOW,		/* ACCESS CONTROL OUT */
	[0x88] = PR_CLS_READ,		/* READ(16) */
	[0x8c] = PR_CLS_READ,		/* READ ATTRIBUTE */
	[0x8f] = PR_CLS_READ,		/* VERIFY(16) */
	[0x90] = PR_CLS_READ,		/* PRE-FETCH(16) */
	[0xa0] = PR_CLS_ALLOW_ALL,	/* REPORT LUNS */
	[0xa2] = PR_CLS_READ,		/* SECURITY PROTOCOL IN */
	[0xa8] = PR_CLS_READ,		/* READ(12) */
	[0xaf] = PR_CLS_READ,		/* VERIFY(12) */
	[0xb7] = PR_CLS_READ,		/* READ DEFECT DATA(12) */
};

enum pr_class
pr_cmd_class(const uint8_t *cdb)
{
	uint8_t sa = cdb[1] & 0x1f;

	switch (cdb[0]) {
	case 0x83:	/* THIRD-PARTY COPY OUT */
		/* POPULATE TOKEN reads; EXTENDED COPY, WRITE USING TOKEN
		 * and COPY OPERATION ABORT conflict like WRITE. */
		return sa == 0x10 ? PR_CLS_READ : PR_CLS_WRITE;
	case 0x84:	/* THIRD-PARTY COPY IN: RECEIVE COPY ... */
		return PR_CLS_READ;
	case 0x9e:	/* SERVICE ACTION IN(16) */
		if (sa == 0x10)			/* READ CAPACITY(16) */
			return PR_CLS_ALLOW;
		if (sa == 0x11 || sa == 0x12 || sa == 0x13)
			return PR_CLS_READ;	/* READ LONG, GET LBA STATUS,
						 * REPORT REFERRALS */
		return PR_CLS_WRITE;
	case 0xa3:	/* MAINTENANCE IN */
		switch (sa) {
		case 0x0a:	/* REPORT TARGET PORT GROUPS */
		case 0x0c:	/* REPORT SUPPORTED OPERATION CODES */
		case 0x0d:	/* REPORT SUPPORTED TMFS */
			return PR_CLS_ALLOW_ALL;
		case 0x05:	/* REPORT IDENTIFYING INFORMATION */
		case 0x0b:	/* REPORT ALIASES */
		case 0x0e:	/* REPORT PRIORITY */
		case 0x0f:	/* REPORT TIMESTAMP */
			return PR_CLS_ALLOW;
		case 0x10:	/* MANAGEMENT PROTOCOL IN */
			return PR_CLS_READ;
		default:
			return PR_CLS_WRITE;
		}
	default:
		return (enum pr_class)pr_op_class[cdb[0]];
	}
}

bool
pr_conflict(const struct pr_state *st, const struct pr_it *it,
    enum pr_class cls, const uint8_t *cdb)
{
	int reg;

	if (!st->reserved)
		return false;
	reg = pr_find_reg(st, it);
	if (pr_is_holder(st, reg))
		return false;
	switch (cls) {
	case PR_CLS_ALLOW:
	case PR_CLS_ALLOW_ALL:
	case PR_CLS_PR:
	case PR_CLS_RESV:
		return false;
	case PR_CLS_SSU:
		/* SBC-4 table 13: START = 1 with POWER CONDITION 0 only */
		if ((cdb[4] & 0x01) && (cdb[4] & 0xf0) == 0)
			return false;
		cls = PR_CLS_WRITE;
		break;
	case PR_CLS_PREVENT:
		if ((cdb[4] & 0x03) == 0)
			return false;
		cls = PR_CLS_WRITE;
		break;
	default:
		break;
	}
	/* registrants pass registrants-only and all-registrants types */
	if (reg >= 0 && (pr_type_reg_only(st->type) ||
	    pr_type_all_reg(st->type)))
		return false;
	/* reads pass write-exclusive types, for everyone */
	if (cls == PR_CLS_READ && pr_type_we(st->type))
		return false;
	return true;
}

/* --- events --- */

void
pr_evs_free(struct pr_evs *e)
{
	free(e->v);
	memset(e, 0, sizeof(*e));
}

static void
pr_ev_add(struct pr_evs *e, const struct pr_reg *r, uint8_t asc,
    uint8_t ascq, bool abort)
{
	struct pr_ev *v;
	unsigned int cap;

	if (e == NULL)
		return;
	if (e->n == e->cap) {
		cap = e->cap ? e->cap * 2 : 8;
		v = xrealloc(e->v, cap * sizeof(*v));
		if (v == NULL) {
			e->oom = true;
			return;
		}
		e->v = v;
		e->cap = cap;
	}
	v = &e->v[e->n++];
	memset(v, 0, sizeof(*v));
	strlcpy_t(v->i_port, r->i_port, sizeof(v->i_port));
	strlcpy_t(v->target, r->target, sizeof(v->target));
	v->tpg_tag = r->tpg_tag;
	v->asc = asc;
	v->ascq = ascq;
	v->abort = abort;
}

/* UA to every registrant except index `except`. */
static void
pr_ev_others(struct pr_evs *e, const struct pr_state *st, int except,
    uint8_t ascq)
{
	unsigned int i;

	for (i = 0; i < st->n_regs; i++)
		if ((int)i != except)
			pr_ev_add(e, &st->regs[i], 0x2a, ascq, false);
}

/* --- registrations --- */

static void
pr_release_resv(struct pr_state *st)
{
	st->reserved = false;
	st->type = 0;
	st->scope = 0;
	st->holder = -1;
}

static int
pr_reg_add(struct pr_state *st, const struct pr_it *it, uint64_t key)
{
	struct pr_reg *regs, *r;
	unsigned int cap;

	if (st->n_regs >= PR_REGS_MAX)
		return -ENOSPC;
	if (st->n_regs == st->cap_regs) {
		cap = st->cap_regs ? st->cap_regs * 2 : 4;
		regs = xrealloc(st->regs, cap * sizeof(*regs));
		if (regs == NULL)
			return -ENOMEM;
		st->regs = regs;
		st->cap_regs = cap;
	}
	r = &st->regs[st->n_regs];
	memset(r, 0, sizeof(*r));
	r->key = key;
	strlcpy_t(r->i_port, it->i_port, sizeof(r->i_port));
	strlcpy_t(r->target, it->target, sizeof(r->target));
	r->tpg_tag = it->tpg_tag;
	r->rel_port_id = it->rel_port_id;
	return (int)st->n_regs++;
}

/* Remove registration i; the holder index follows.  Removing the holder
 * of a single-holder type or the last registrant of an all-registrants
 * type releases the reservation (SPC-4 5.13.10). */
static void
pr_reg_remove(struct pr_state *st, int i)
{
	st->n_regs--;
	memmove(&st->regs[i], &st->regs[i + 1],
	    (st->n_regs - (unsigned int)i) * sizeof(st->regs[0]));
	if (!st->reserved)
		return;
	if (pr_type_all_reg(st->type)) {
		if (st->n_regs == 0)
			pr_release_resv(st);
	} else if (st->holder == i) {
		pr_release_resv(st);
	} else if (st->holder > i) {
		st->holder--;
	}
}

static enum sense_reason
pr_param_field(struct sense_detail *sd, uint16_t byte, int bit)
{
	sd->sks_valid = true;
	sd->sks_cdb = false;
	sd->sks_field = byte;
	sd->sks_bpv = bit >= 0;
	sd->sks_bit = bit >= 0 ? (uint8_t)bit : 0;
	return SENSE_INVALID_FIELD_IN_PARAM;
}

static enum sense_reason
pr_cdb_field(struct sense_detail *sd, uint16_t byte, int bit)
{
	pr_param_field(sd, byte, bit);
	sd->sks_cdb = true;
	return SENSE_INVALID_FIELD_IN_CDB;
}

/* REGISTER and REGISTER AND IGNORE EXISTING KEY (SPC-4 5.13.7). */
static enum sense_reason
pr_register(struct pr_state *st, const struct pr_it *it,
    const struct pr_out *o, int reg, struct pr_evs *evs)
{
	uint8_t type;
	bool was_holder;
	int rc;

	if (reg < 0) {
		if (o->sa == PR_OUT_REGISTER && o->rk != 0)
			return SENSE_RESERVATION_CONFLICT;
		if (o->sark == 0)
			return SENSE_OK;	/* nothing to register */
		rc = pr_reg_add(st, it, o->sark);
		if (rc == -ENOSPC)
			return SENSE_INSUFFICIENT_REG_RESOURCES;
		if (rc < 0)
			return SENSE_BUSY;
		st->aptpl = o->aptpl;
		st->generation++;
		return SENSE_OK;
	}
	if (o->sa == PR_OUT_REGISTER && o->rk != st->regs[reg].key)
		return SENSE_RESERVATION_CONFLICT;
	st->aptpl = o->aptpl;
	st->generation++;
	if (o->sark != 0) {
		st->regs[reg].key = o->sark;
		return SENSE_OK;
	}
	/* unregister */
	type = st->type;
	was_holder = pr_is_holder(st, reg) && !pr_type_all_reg(type);
	pr_reg_remove(st, reg);
	/* SPC-4 5.13.11.2.2: the holder of a registrants-only reservation
	 * left: RESERVATIONS RELEASED to the other registrants. */
	if (was_holder && pr_type_reg_only(type))
		pr_ev_others(evs, st, -1, 0x04);
	return SENSE_OK;
}

static enum sense_reason
pr_reserve(struct pr_state *st, const struct pr_out *o, int reg)
{
	if (st->reserved) {
		if (!pr_is_holder(st, reg))
			return SENSE_RESERVATION_CONFLICT;
		/* SPC-4 5.13.9: the holder may not change type/scope */
		if (st->type != o->type || st->scope != o->scope)
			return SENSE_RESERVATION_CONFLICT;
		return SENSE_OK;
	}
	st->reserved = true;
	st->type = o->type;
	st->scope = o->scope;
	st->holder = pr_type_all_reg(o->type) ? -1 : reg;
	return SENSE_OK;
}

static enum sense_reason
pr_release(struct pr_state *st, const struct pr_out *o, int reg,
    struct pr_evs *evs)
{
	uint8_t type = st->type;

	/* SPC-4 5.13.11.2.1: no reservation, or not the holder: GOOD */
	if (!st->reserved || !pr_is_holder(st, reg))
		return SENSE_OK;
	if (st->type != o->type || st->scope != o->scope)
		return SENSE_INVALID_RELEASE_OF_PR;
	pr_release_resv(st);
	if (pr_type_reg_only(type) || pr_type_all_reg(type))
		pr_ev_others(evs, st, reg, 0x04);
	return SENSE_OK;
}

static enum sense_reason
pr_clear(struct pr_state *st, int reg, struct pr_evs *evs)
{
	/* SPC-4 5.13.11.2.6: RESERVATIONS PREEMPTED to every other
	 * registrant */
	pr_ev_others(evs, st, reg, 0x03);
	pr_release_resv(st);
	st->n_regs = 0;
	st->generation++;
	return SENSE_OK;
}

/* Remove every registration with key `key` except `keep`; returns how
 * many.  REGISTRATIONS PREEMPTED goes to each. */
static unsigned int
pr_remove_key(struct pr_state *st, uint64_t key, int *keep,
    struct pr_evs *evs, bool abort)
{
	unsigned int n = 0;
	int i;

	for (i = (int)st->n_regs - 1; i >= 0; i--) {
		if (i == *keep || st->regs[i].key != key)
			continue;
		pr_ev_add(evs, &st->regs[i], 0x2a, 0x05, abort);
		pr_reg_remove(st, i);
		if (i < *keep)
			(*keep)--;
		n++;
	}
	return n;
}

/* PREEMPT and PREEMPT AND ABORT (SPC-4 5.13.11.2.4, 5.13.11.2.5). */
static enum sense_reason
pr_preempt(struct pr_state *st, const struct pr_out *o, int reg,
    struct pr_evs *evs, struct sense_detail *sd)
{
	bool abort = o->sa == PR_OUT_PREEMPT_ABORT;
	uint8_t old_type = st->type, old_scope = st->scope;
	struct pr_reg me;
	unsigned int i;
	int h = st->holder;

	if (st->reserved && pr_type_all_reg(st->type) && o->sark == 0) {
		/* all-registrants, key 0: preempt every other registrant
		 * and take a new reservation */
		for (i = 0; i < st->n_regs; i++)
			if ((int)i != reg)
				pr_ev_add(evs, &st->regs[i], 0x2a, 0x05,
				    abort);
		me = st->regs[reg];
		st->regs[0] = me;
		st->n_regs = 1;
		reg = 0;
	} else if (st->reserved && !pr_type_all_reg(st->type) && h >= 0 &&
	    st->regs[h].key == o->sark) {
		/* preempt the holder (possibly ourselves, to change type) */
		pr_release_resv(st);
		pr_remove_key(st, o->sark, &reg, evs, abort);
	} else {
		/* remove registrations only; the reservation stays */
		if (o->sark == 0)
			return pr_param_field(sd, 8, -1);
		if (pr_remove_key(st, o->sark, &reg, evs, abort) == 0)
			return SENSE_RESERVATION_CONFLICT;
		st->generation++;
		return SENSE_OK;
	}
	st->reserved = true;
	st->type = o->type;
	st->scope = o->scope;
	st->holder = pr_type_all_reg(o->type) ? -1 : reg;
	/* type or scope changed: RESERVATIONS RELEASED to the others */
	if (old_type != o->type || old_scope != o->scope)
		pr_ev_others(evs, st, reg, 0x04);
	st->generation++;
	return SENSE_OK;
}

enum sense_reason
pr_out_apply(struct pr_state *st, const struct pr_it *it,
    const struct pr_out *o, struct pr_evs *evs, struct sense_detail *sd)
{
	int reg;

	switch (o->sa) {
	case PR_OUT_RESERVE:
	case PR_OUT_RELEASE:
	case PR_OUT_PREEMPT:
	case PR_OUT_PREEMPT_ABORT:
		/* SPC-4 6.17.1: scope and type checked (CDB byte 2) */
		if (o->scope != PR_SCOPE_LU)
			return pr_cdb_field(sd, 2, 7);
		if (!pr_type_valid(o->type))
			return pr_cdb_field(sd, 2, 3);
		break;
	case PR_OUT_REGISTER:
	case PR_OUT_REGISTER_IGNORE:
	case PR_OUT_CLEAR:
		break;
	default:
		return pr_cdb_field(sd, 1, 4);
	}
	/* SPEC_I_PT and ALL_TG_PT are not supported (REPORT CAPABILITIES
	 * SIP_C = ATP_C = 0): SPC-4 6.17.3 */
	if (o->spec_i_pt)
		return pr_param_field(sd, 20, 3);
	if (o->all_tg_pt && (o->sa == PR_OUT_REGISTER ||
	    o->sa == PR_OUT_REGISTER_IGNORE))
		return pr_param_field(sd, 20, 2);

	reg = pr_find_reg(st, it);
	if (o->sa == PR_OUT_REGISTER || o->sa == PR_OUT_REGISTER_IGNORE)
		return pr_register(st, it, o, reg, evs);
	/* every other service action needs a registered nexus and its key
	 * (SPC-4 5.13.11.1) */
	if (reg < 0 || st->regs[reg].key != o->rk)
		return SENSE_RESERVATION_CONFLICT;
	switch (o->sa) {
	case PR_OUT_RESERVE:
		return pr_reserve(st, o, reg);
	case PR_OUT_RELEASE:
		return pr_release(st, o, reg, evs);
	case PR_OUT_CLEAR:
		return pr_clear(st, reg, evs);
	default:
		return pr_preempt(st, o, reg, evs, sd);
	}
}

/* --- SPC-2 RESERVE / RELEASE --- */

/* SPC-4 5.13.3: with PR state present, a holder (or a registrant for the
 * registrants-only and all-registrants types) gets GOOD and nothing
 * changes; everyone else conflicts. */
static enum sense_reason
pr_crh(const struct pr_state *st, const struct pr_it *it)
{
	int reg = pr_find_reg(st, it);

	if (st->reserved && reg >= 0 && (pr_is_holder(st, reg) ||
	    pr_type_reg_only(st->type)))
		return SENSE_OK;
	return SENSE_RESERVATION_CONFLICT;
}

enum sense_reason
pr_reserve2(struct pr_state *st, const struct pr_it *it, bool holder_alive)
{
	if (st->n_regs > 0 || st->reserved)
		return pr_crh(st, it);
	if (st->r2 && st->r2_nexus != it->nexus_id && holder_alive)
		return SENSE_RESERVATION_CONFLICT;
	st->r2 = true;
	st->r2_nexus = it->nexus_id;
	return SENSE_OK;
}

enum sense_reason
pr_release2(struct pr_state *st, const struct pr_it *it)
{
	if (st->n_regs > 0 || st->reserved)
		return pr_crh(st, it);
	/* SPC-2 7.17: RELEASE from a non-holder is GOOD and does nothing */
	if (st->r2 && st->r2_nexus == it->nexus_id)
		st->r2 = false;
	return SENSE_OK;
}

/* --- PERSISTENT RESERVE IN data --- */

struct pr_buf {
	uint8_t		*b;
	size_t		 max;
	size_t		 len;
};

static uint8_t *
pr_buf_reserve(struct pr_buf *pb, size_t n, uint8_t *tmp)
{
	/* room for n bytes at len: into buf if it fits, else scratch */
	uint8_t *p = pb->len + n <= pb->max ? pb->b + pb->len : tmp;

	memset(p, 0, n);
	return p;
}

static void
pr_buf_commit(struct pr_buf *pb, const uint8_t *p, size_t n)
{
	if (pb->len < pb->max && p != pb->b + pb->len)
		memcpy(pb->b + pb->len, p, MIN(n, pb->max - pb->len));
	pb->len += n;
}

static size_t
pr_tid_len(const struct pr_reg *r)
{
	size_t n = strlen(r->i_port) + 1;

	n = (n + 3) & ~(size_t)3;
	return 4 + MAX(n, (size_t)20);
}

static void
pr_full_status(const struct pr_state *st, struct pr_buf *pb)
{
	uint8_t tmp[24 + 4 + PR_IPORT_MAX + 4], *p;
	unsigned int i;
	size_t tl;

	for (i = 0; i < st->n_regs; i++) {
		const struct pr_reg *r = &st->regs[i];

		tl = pr_tid_len(r);
		p = pr_buf_reserve(pb, 24 + tl, tmp);
		put_be64(p, r->key);
		if (pr_is_holder(st, (int)i)) {
			p[12] = 0x01;			/* R_HOLDER */
			p[13] = (uint8_t)(st->scope << 4 | st->type);
		}
		put_be16(p + 18, r->rel_port_id);
		put_be32(p + 20, (uint32_t)tl);
		/* iSCSI TransportID, FORMAT CODE 01b: initiator port name
		 * (SPC-4 7.6.4.6) */
		p[24] = 0x40 | 0x05;
		put_be16(p + 26, (uint16_t)(tl - 4));
		memcpy(p + 28, r->i_port, strlen(r->i_port));
		pr_buf_commit(pb, p, 24 + tl);
	}
}

size_t
pr_in_build(const struct pr_state *st, uint8_t sa, bool ptpl_c,
    uint8_t *buf, size_t max)
{
	struct pr_buf pb = { .b = buf, .max = max, .len = 0 };
	uint8_t tmp[24], *p;
	unsigned int i;

	if (sa == PR_IN_REPORT_CAPS) {
		p = pr_buf_reserve(&pb, 8, tmp);
		put_be16(p, 8);
		/* CRH; SIP_C = ATP_C = 0; PTPL_C */
		p[2] = 0x10 | (ptpl_c ? 0x01 : 0x00);
		/* TMV, ALLOW COMMANDS 001b: TEST UNIT READY passes WE
		 * and EA reservations (SPC-4 6.16.3; the READ-class
		 * commands of pr_op_class pass WE too), PTPL_A */
		p[3] = 0x80 | 0x10 | (st->aptpl ? 0x01 : 0x00);
		/* WR_EX_AR, EX_AC_RO, WR_EX_RO, EX_AC, WR_EX; EX_AC_AR */
		p[4] = 0x80 | 0x40 | 0x20 | 0x08 | 0x02;
		p[5] = 0x01;
		pr_buf_commit(&pb, p, 8);
		return pb.len;
	}
	p = pr_buf_reserve(&pb, 8, tmp);
	put_be32(p, st->generation);
	switch (sa) {
	case PR_IN_READ_KEYS:
		put_be32(p + 4, st->n_regs * 8);
		pr_buf_commit(&pb, p, 8);
		for (i = 0; i < st->n_regs; i++) {
			p = pr_buf_reserve(&pb, 8, tmp);
			put_be64(p, st->regs[i].key);
			pr_buf_commit(&pb, p, 8);
		}
		break;
	case PR_IN_READ_RESERVATION:
		put_be32(p + 4, st->reserved ? 16 : 0);
		pr_buf_commit(&pb, p, 8);
		if (!st->reserved)
			break;
		p = pr_buf_reserve(&pb, 16, tmp);
		/* all-registrants types report key 0 (SPC-4 6.16.3.3) */
		if (!pr_type_all_reg(st->type) && st->holder >= 0)
			put_be64(p, st->regs[st->holder].key);
		p[13] = (uint8_t)(st->scope << 4 | st->type);
		pr_buf_commit(&pb, p, 16);
		break;
	case PR_IN_READ_FULL_STATUS:
	default: {
		uint32_t total = 0;

		for (i = 0; i < st->n_regs; i++)
			total += 24 + (uint32_t)pr_tid_len(&st->regs[i]);
		put_be32(p + 4, total);
		pr_buf_commit(&pb, p, 8);
		pr_full_status(st, &pb);
		break;
	}
	}
	return pb.len;
}
