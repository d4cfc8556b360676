/*
 * iscsi_tmf.c - Task Management (RFC 7143 11.5, 11.6), NOP-Out/NOP-In
 * (11.18, 11.19), Logout (11.14, 11.15) and Reject (11.17).
 *
 * Task management: tasks still collecting Data-Out are dropped at once,
 * tasks inside the engine are marked aborted (their responses are
 * suppressed) and the TMF response waits until every aborted task has
 * left the engine.  ABORT TASK and ABORT TASK SET act on this I_T nexus;
 * CLEAR TASK SET and LOGICAL UNIT RESET on every nexus's tasks on the LU,
 * TARGET WARM/COLD RESET on every task of the target (messages to the
 * other connections' loops, acknowledged back; see iscsi_tmf_x below).
 * scsi_tmf_effects() applies the engine-side effects (unit attentions,
 * reservations).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi.h"
#include "iscsi_conn.h"
#include "log.h"
#include "lun.h"
#include "util.h"

/* TMF response codes (11.6.1) */
#define ISCSI_TMF_RSP_COMPLETE		0
#define ISCSI_TMF_RSP_NO_TASK		1
#define ISCSI_TMF_RSP_NO_LUN		2
#define ISCSI_TMF_RSP_NO_REASSIGN	4
#define ISCSI_TMF_RSP_NOT_SUPPORTED	5
#define ISCSI_TMF_RSP_REJECTED		255

/* Logout reasons and responses (11.14.1, 11.15.1) */
#define ISCSI_LOGOUT_SESSION		0
#define ISCSI_LOGOUT_CONNECTION		1
#define ISCSI_LOGOUT_RECOVERY		2
#define ISCSI_LOGOUT_RSP_OK		0
#define ISCSI_LOGOUT_RSP_NO_CID		1
#define ISCSI_LOGOUT_RSP_NO_RECOVERY	2

/*
 * Messages to every other connection's loop (iscsi_conn_post_all) about
 * one shared object, which embeds a struct iscsi_tmf_fan counting the
 * messages out (+ 1 while they are being set up).
 */
struct iscsi_tmf_fan {
	atomic_uint	 count;
};

struct iscsi_tmf_msg {
	struct iscsi_tmf_fan *fan;
	struct iscsi_conn *conn;
};

/*
 * A TMF whose scope reaches other I_T nexuses (CLEAR TASK SET, LOGICAL
 * UNIT RESET, TARGET WARM/COLD RESET; SAM-5 7.x): every other connection
 * of the target aborts its tasks on the LU (all of them for a target
 * reset) on its own loop, without a response (TAS=0), and acknowledges
 * once those have left the engine; the issuer's response waits for every
 * acknowledgement.  A cold reset also drops those connections.
 */
struct iscsi_tmf_x {
	struct iscsi_tmf_fan fan;	/* acks due, + 1 while being set up */
	struct iscsi_conn *issuer;	/* a post reservation is held */
	struct lun	*lun;		/* reference; NULL: the whole target */
	bool		 cold;
	char		 target[224];
};

/* On a connection whose aborted tasks are still in the engine. */
struct iscsi_tmf_ack {
	struct iscsi_tmf_x *x;
	struct iscsi_tmf_ack *next;
};

struct iscsi_tmf_wait {
	struct iscsi_pdu *rsp;
	struct iscsi_tmf_x *x;		/* until every ack is in */
	struct iscsi_tmf_wait *next;
};

void
iscsi_reject(struct iscsi_conn *conn, const uint8_t *bhs, uint8_t reason)
{
	struct iscsi_pdu *pdu;

	pdu = iscsi_pdu_reject(bhs, reason);
	if (pdu == NULL) {
		iscsi_conn_close(conn, false);
		return;
	}
	iscsi_conn_send(conn, pdu);
}

/* A final response PDU with opcode op to req (its ITT); on allocation
 * failure req is freed, the connection dropped and NULL returned. */
static struct iscsi_pdu *
iscsi_tmf_rsp_alloc(struct iscsi_conn *conn, struct iscsi_pdu *req,
    uint8_t op)
{
	struct iscsi_pdu *rsp;

	rsp = iscsi_conn_pdu_alloc(conn, 0);
	if (rsp == NULL) {
		iscsi_pdu_free(req);
		iscsi_conn_close(conn, false);
		return NULL;
	}
	iscsi_pdu_init_bhs(rsp, op, true, iscsi_pdu_itt(req));
	return rsp;
}

/* ---------------- task management ---------------- */

/* Abort this connection's tasks (on lun if lun_raw != NULL); returns true
 * if some are still in the engine. */
static bool
iscsi_tmf_abort_tasks(struct iscsi_conn *conn, const uint8_t *lun_raw)
{
	struct iscsi_task *task, *next;
	bool wait = false;

	for (task = conn->tasks; task != NULL; task = next) {
		next = task->next;
		if (lun_raw != NULL && memcmp(task->lun_raw, lun_raw, 8) != 0)
			continue;
		if (task->state == ISCSI_TASK_RESPONDING)
			continue;	/* already answered */
		if (iscsi_task_abort(task))
			wait = true;
	}
	return wait;
}

/* Abort the tasks of another nexus's connection on lun (every task if
 * NULL), without a response; returns how many. */
static unsigned int
iscsi_tmf_abort_lun(struct iscsi_conn *conn, const struct lun *lun)
{
	struct iscsi_task *task, *next;
	unsigned int n = 0;

	for (task = conn->tasks; task != NULL; task = next) {
		next = task->next;
		if (task->state == ISCSI_TASK_RESPONDING ||
		    (lun != NULL && task->cmd.lun != lun))
			continue;
		iscsi_task_abort(task);
		n++;
	}
	return n;
}

/* A message's connection serves a normal session that is not going. */
static bool
iscsi_tmf_conn_live(const struct iscsi_conn *conn)
{
	return conn->state != ISCSI_CONN_DEAD && conn->sess != NULL &&
	    !conn->sess->discovery;
}

static void *
iscsi_tmf_msg_make(struct iscsi_conn *conn, void *arg)
{
	struct iscsi_tmf_fan *fan = arg;
	struct iscsi_tmf_msg *m;

	m = xmalloc(sizeof(*m));
	if (m == NULL)
		return NULL;
	m->fan = fan;
	m->conn = conn;
	atomic_fetch_add(&fan->count, 1);
	return m;
}

static void
iscsi_tmf_msg_cancel(void *arg)
{
	struct iscsi_tmf_msg *m = arg;

	atomic_fetch_sub(&m->fan->count, 1);	/* the setup hold remains */
	free(m);
}

/* First thing on the message's loop: NULL when it is not to be handled
 * here (iscsi_conn_msg_arrive()), else its object's fan, with the message
 * freed and its connection (*connp) entered. */
static struct iscsi_tmf_fan *
iscsi_tmf_msg_arrive(void *arg, void (*fn)(void *), struct iscsi_conn **connp)
{
	struct iscsi_tmf_msg *m = arg;
	struct iscsi_tmf_fan *fan = m->fan;
	struct iscsi_conn *conn = m->conn;

	if (iscsi_conn_msg_arrive(conn, fn, m))
		return NULL;
	free(m);
	iscsi_conn_enter(conn);
	*connp = conn;
	return fan;
}

static void
iscsi_tmf_x_free(struct iscsi_tmf_x *x)
{
	if (x->lun != NULL)
		lun_put(x->lun);
	free(x);
}

/* On the issuer's loop: every other connection has acknowledged. */
static void
iscsi_tmf_x_ready(void *arg)
{
	struct iscsi_tmf_x *x = arg;
	struct iscsi_conn *conn = x->issuer;
	struct iscsi_tmf_wait *w;

	if (iscsi_conn_msg_arrive(conn, iscsi_tmf_x_ready, x))
		return;
	iscsi_conn_enter(conn);
	for (w = conn->tmf_waits; w != NULL; w = w->next)
		if (w->x == x)
			w->x = NULL;
	iscsi_tmf_x_free(x);
	iscsi_tmf_task_done(conn);
	iscsi_conn_leave(conn);
}

static void
iscsi_tmf_x_ack(struct iscsi_tmf_x *x)
{
	if (atomic_fetch_sub(&x->fan.count, 1) != 1)
		return;
	if (iscsi_conn_post(x->issuer, iscsi_tmf_x_ready, x) != 0)
		log_err("iscsi: cannot deliver a task management "
		    "acknowledgement; its response is lost");
}

/* On another connection's loop. */
static void
iscsi_tmf_x_remote(void *arg)
{
	struct iscsi_tmf_fan *fan;
	struct iscsi_conn *conn;
	struct iscsi_tmf_x *x;
	struct iscsi_tmf_ack *a;

	fan = iscsi_tmf_msg_arrive(arg, iscsi_tmf_x_remote, &conn);
	if (fan == NULL)
		return;
	x = container_of(fan, struct iscsi_tmf_x, fan);
	if (iscsi_tmf_conn_live(conn) &&
	    strcmp(conn->sess->target, x->target) == 0) {
		iscsi_tmf_abort_lun(conn, x->lun);
		if (x->cold) {
			log_info("iscsi: %s: target cold reset, dropping "
			    "connection", conn->peer_ip);
			iscsi_conn_close(conn, false);
		}
	}
	a = conn->n_engine_aborted != 0 ? xcalloc(1, sizeof(*a)) : NULL;
	if (a != NULL) {
		a->x = x;
		a->next = conn->tmf_acks;
		conn->tmf_acks = a;
	} else {
		iscsi_tmf_x_ack(x);
	}
	iscsi_conn_leave(conn);
}

/* Reach the other connections of the target; NULL when nothing needs to
 * be waited for. */
static struct iscsi_tmf_x *
iscsi_tmf_x_start(struct iscsi_conn *conn, uint64_t lun_id, bool whole,
    bool cold)
{
	struct iscsi_tmf_x *x;

	x = xcalloc(1, sizeof(*x));
	if (x == NULL)
		return NULL;
	if (!whole) {
		x->lun = nexus_lun_get(conn->sess->nexus, lun_id, NULL);
		if (x->lun == NULL) {
			free(x);
			return NULL;
		}
	}
	atomic_init(&x->fan.count, 1);
	x->issuer = conn;
	x->cold = cold;
	strlcpy_t(x->target, conn->sess->target, sizeof(x->target));
	iscsi_conn_post_reserve(conn);
	iscsi_conn_post_all(conn, iscsi_tmf_msg_make, iscsi_tmf_msg_cancel,
	    &x->fan, iscsi_tmf_x_remote);
	if (atomic_fetch_sub(&x->fan.count, 1) == 1) {
		iscsi_conn_post_cancel(conn);
		iscsi_tmf_x_free(x);
		return NULL;
	}
	return x;
}

/*
 * PERSISTENT RESERVE OUT with PREEMPT AND ABORT (SPC-4 5.13.11.2.5): the
 * reservations code asks, once per preempted I_T nexus and LU, that the
 * nexus's tasks on the LU be aborted (TAS=0: they end without a
 * response).  Called with the reservations locks held, from any thread:
 * only posts a message to every connection's loop; the connections of
 * that nexus's session abort there.  Fire and forget: the PR OUT command
 * does not wait.  The nexus is named by its id (the pointer may be gone
 * by the time a message arrives).
 */
struct iscsi_pra {
	struct iscsi_tmf_fan fan;	/* messages + 1 while being set up */
	uint64_t	 nexus_id;
	struct lun	*lun;		/* reference */
};

static void
iscsi_pra_put(struct iscsi_pra *p)
{
	if (atomic_fetch_sub(&p->fan.count, 1) != 1)
		return;
	lun_put(p->lun);
	free(p);
}

static void
iscsi_pra_remote(void *arg)
{
	struct iscsi_tmf_fan *fan;
	struct iscsi_conn *conn;
	struct iscsi_pra *p;
	unsigned int n;

	fan = iscsi_tmf_msg_arrive(arg, iscsi_pra_remote, &conn);
	if (fan == NULL)
		return;
	p = container_of(fan, struct iscsi_pra, fan);
	if (iscsi_tmf_conn_live(conn) && conn->sess->nexus != NULL &&
	    conn->sess->nexus->id == p->nexus_id) {
		n = iscsi_tmf_abort_lun(conn, p->lun);
		log_dbg("iscsi: %s: preempted and aborted, %u task(s) "
		    "aborted", conn->peer_ip, n);
	}
	iscsi_conn_leave(conn);
	iscsi_pra_put(p);
}

void
iscsi_pr_abort(struct scsi_nexus *nx, struct lun *lun)
{
	struct iscsi_pra *p;

	if (nx == NULL || lun == NULL)
		return;
	p = xcalloc(1, sizeof(*p));
	if (p == NULL) {
		log_err("iscsi: out of memory: the tasks of a preempted "
		    "nexus are not aborted");
		return;
	}
	atomic_init(&p->fan.count, 1);
	p->nexus_id = nx->id;
	lun_get(lun);
	p->lun = lun;
	iscsi_conn_post_all(NULL, iscsi_tmf_msg_make, iscsi_tmf_msg_cancel,
	    &p->fan, iscsi_pra_remote);
	iscsi_pra_put(p);
}

static void
iscsi_tmf_respond(struct iscsi_conn *conn, struct iscsi_pdu *rsp, bool wait,
    struct iscsi_tmf_x *x)
{
	struct iscsi_tmf_wait *w, **pp;

	if (x == NULL && conn->tmf_waits == NULL &&
	    (!wait || conn->n_engine_aborted == 0)) {
		iscsi_conn_send(conn, rsp);
		return;
	}
	w = xcalloc(1, sizeof(*w));
	if (w == NULL) {
		/* x (if any) is freed by its ready message. */
		iscsi_pdu_free(rsp);
		iscsi_conn_close(conn, false);
		return;
	}
	w->rsp = rsp;
	w->x = x;
	for (pp = &conn->tmf_waits; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = w;
	iscsi_tmf_task_done(conn);
}

void
iscsi_tmf_task_done(struct iscsi_conn *conn)
{
	struct iscsi_tmf_wait *w;
	struct iscsi_tmf_ack *a;
	uint32_t flags;

	if (conn->n_engine_aborted != 0)
		return;
	while ((a = conn->tmf_acks) != NULL) {
		conn->tmf_acks = a->next;
		iscsi_tmf_x_ack(a->x);
		free(a);
	}
	while ((w = conn->tmf_waits) != NULL && w->x == NULL) {
		conn->tmf_waits = w->next;
		flags = w->rsp->flags;
		iscsi_conn_send(conn, w->rsp);
		free(w);
		if (flags & ISCSI_PDU_CLOSE_AFTER)
			break;
	}
}

/* Teardown: pending responses go; acknowledgements owed to other
 * connections stay until our aborted tasks leave the engine. */
void
iscsi_tmf_conn_fini(struct iscsi_conn *conn)
{
	struct iscsi_tmf_wait *w;

	while ((w = conn->tmf_waits) != NULL) {
		conn->tmf_waits = w->next;
		iscsi_pdu_free(w->rsp);
		free(w);
	}
}

static uint8_t
iscsi_tmf_abort_task(struct iscsi_conn *conn, const uint8_t *bhs,
    bool *wait)
{
	struct iscsi_task *task;
	uint32_t rtt, ref_sn;

	rtt = get_be32(bhs + 20);
	ref_sn = get_be32(bhs + 32);
	task = iscsi_task_find(conn, rtt);
	if (task != NULL) {
		if (memcmp(task->lun_raw, bhs + ISCSI_BHS_LUN, 8) != 0)
			return ISCSI_TMF_RSP_NO_TASK;
		if (task->state != ISCSI_TASK_RESPONDING)
			*wait = iscsi_task_abort(task);
		return ISCSI_TMF_RSP_COMPLETE;
	}
	/* 11.5.1 b/c: a command not received yet but inside the window is
	 * considered received; otherwise the task does not exist. */
	if (iscsi_session_cmdsn_forget(conn->sess, ref_sn, rtt))
		return ISCSI_TMF_RSP_COMPLETE;
	return ISCSI_TMF_RSP_NO_TASK;
}

void
iscsi_tmf_rx(struct iscsi_conn *conn, struct iscsi_pdu *pdu)
{
	struct scsi_nexus *nexus = conn->sess->nexus;
	const uint8_t *bhs = pdu->bhs;
	struct iscsi_pdu *rsp;
	uint8_t func = bhs[1] & 0x7f, code = ISCSI_TMF_RSP_COMPLETE;
	uint64_t lun_id = scsi_lun_decode(bhs + ISCSI_BHS_LUN);
	struct iscsi_tmf_x *x = NULL;
	bool wait = false, close_after = false;

	switch (func) {
	case SCSI_TMF_ABORT_TASK:
		code = iscsi_tmf_abort_task(conn, bhs, &wait);
		if (code == ISCSI_TMF_RSP_COMPLETE)
			scsi_tmf_effects(nexus, SCSI_TMF_ABORT_TASK, lun_id);
		break;
	case SCSI_TMF_ABORT_TASK_SET:
	case SCSI_TMF_CLEAR_TASK_SET:
	case SCSI_TMF_LUN_RESET:
		if (scsi_tmf_effects(nexus, (enum scsi_tmf)func, lun_id) ==
		    -ENOENT) {
			code = ISCSI_TMF_RSP_NO_LUN;
			break;
		}
		wait = iscsi_tmf_abort_tasks(conn, bhs + ISCSI_BHS_LUN);
		/* ABORT TASK SET: this I_T nexus only; the others clear
		 * the LU's (shared, TST=000) task set. */
		if (func != SCSI_TMF_ABORT_TASK_SET)
			x = iscsi_tmf_x_start(conn, lun_id, false, false);
		break;
	case SCSI_TMF_TARGET_WARM_RESET:
	case SCSI_TMF_TARGET_COLD_RESET:
		wait = iscsi_tmf_abort_tasks(conn, NULL);
		scsi_tmf_effects(nexus, (enum scsi_tmf)func, 0);
		close_after = func == SCSI_TMF_TARGET_COLD_RESET;
		x = iscsi_tmf_x_start(conn, 0, true, close_after);
		break;
	case SCSI_TMF_TASK_REASSIGN:
		/* 11.5.1: needs ErrorRecoveryLevel 2. */
		code = ISCSI_TMF_RSP_NO_REASSIGN;
		break;
	case SCSI_TMF_CLEAR_ACA:
	default:
		code = ISCSI_TMF_RSP_NOT_SUPPORTED;
		break;
	}
	log_dbg("iscsi: %s: TMF %u lun %llu -> %u", conn->peer_ip, func,
	    (unsigned long long)lun_id, code);

	rsp = iscsi_tmf_rsp_alloc(conn, pdu, ISCSI_OP_TMF_RSP);
	if (rsp == NULL)
		return;	/* x (if any) is freed by its ready message. */
	rsp->bhs[2] = code;
	if (close_after)
		rsp->flags |= ISCSI_PDU_CLOSE_AFTER;
	iscsi_pdu_free(pdu);
	iscsi_tmf_respond(conn, rsp, wait, x);
}

/* ---------------- NOP ---------------- */

void
iscsi_nop_out_rx(struct iscsi_conn *conn, struct iscsi_pdu *pdu)
{
	const struct iscsi_params *p = &conn->sess->params;
	struct iscsi_pdu *rsp;
	uint32_t itt = iscsi_pdu_itt(pdu), ttt, len;

	ttt = get_be32(pdu->bhs + ISCSI_BHS_TTT);
	if (itt == ISCSI_RSVD_TAG) {
		/* Answer to our ping (or a bare CmdSN update). */
		if (ttt != ISCSI_RSVD_TAG && ttt == conn->ping_ttt)
			conn->ping_ttt = ISCSI_RSVD_TAG;
		iscsi_pdu_free(pdu);
		return;
	}
	rsp = iscsi_tmf_rsp_alloc(conn, pdu, ISCSI_OP_NOP_IN);
	if (rsp == NULL)
		return;
	memcpy(rsp->bhs + ISCSI_BHS_LUN, pdu->bhs + ISCSI_BHS_LUN, 8);
	put_be32(rsp->bhs + ISCSI_BHS_TTT, ISCSI_RSVD_TAG);
	/* Echo the ping data (11.19), bounded by the peer's MaxRecvDSL. */
	len = MIN(pdu->data_len, p->max_xmit_dsl);
	if (len != 0 && pdu->data != NULL && !pdu->data_borrowed) {
		rsp->data = pdu->data;
		rsp->data_len = len;
		rsp->data_alloc = pdu->data_alloc;
		pdu->data = NULL;
	}
	iscsi_pdu_free(pdu);
	iscsi_conn_send(conn, rsp);
}

void
iscsi_nop_ping(struct iscsi_conn *conn)
{
	struct iscsi_pdu *pdu;
	uint32_t ttt;

	pdu = iscsi_conn_pdu_alloc(conn, 0);
	if (pdu == NULL)
		return;
	ttt = conn->next_ttt++;
	if (ttt == ISCSI_RSVD_TAG)
		ttt = conn->next_ttt++;
	iscsi_pdu_init_bhs(pdu, ISCSI_OP_NOP_IN, true, ISCSI_RSVD_TAG);
	put_be32(pdu->bhs + ISCSI_BHS_TTT, ttt);
	conn->ping_ttt = ttt;
	conn->ping_sent_ms = now_ms();
	iscsi_conn_send(conn, pdu);
}

/* ---------------- Logout ---------------- */

void
iscsi_logout_rx(struct iscsi_conn *conn, struct iscsi_pdu *pdu)
{
	struct iscsi_session *sess = conn->sess;
	struct iscsi_conn *c, *next;
	struct iscsi_pdu *rsp;
	uint8_t reason = pdu->bhs[1] & 0x7f, code;
	uint16_t cid = get_be16(pdu->bhs + 20);

	switch (reason) {
	case ISCSI_LOGOUT_SESSION:
		code = ISCSI_LOGOUT_RSP_OK;
		break;
	case ISCSI_LOGOUT_CONNECTION:
		code = cid == conn->cid ? ISCSI_LOGOUT_RSP_OK :
		    ISCSI_LOGOUT_RSP_NO_CID;
		break;
	case ISCSI_LOGOUT_RECOVERY:
		code = ISCSI_LOGOUT_RSP_NO_RECOVERY;	/* ERL 0 */
		break;
	default:
		iscsi_reject(conn, pdu->bhs, ISCSI_REJECT_INVALID_FIELD);
		iscsi_pdu_free(pdu);
		return;
	}
	rsp = iscsi_tmf_rsp_alloc(conn, pdu, ISCSI_OP_LOGOUT_RSP);
	if (rsp == NULL)
		return;
	rsp->bhs[2] = code;
	iscsi_pdu_free(pdu);
	if (code != ISCSI_LOGOUT_RSP_OK) {
		iscsi_conn_send(conn, rsp);
		return;
	}
	log_info("iscsi: %s: logout (%s)", conn->peer_ip,
	    reason == ISCSI_LOGOUT_SESSION ? "session" : "connection");
	/* No task response may follow the logout response. */
	iscsi_tmf_abort_tasks(conn, NULL);
	if (reason == ISCSI_LOGOUT_SESSION) {
		for (c = sess->conns; c != NULL; c = next) {
			next = c->snext;
			if (c != conn)
				iscsi_conn_close(c, false);
		}
	}
	rsp->flags |= ISCSI_PDU_CLOSE_AFTER;
	iscsi_conn_send(conn, rsp);
	conn->state = ISCSI_CONN_LOGOUT;
}
