/*
 * iscsi_tmf.c - Task Management (RFC 7143 11.5, 11.6), NOP-Out/NOP-In
 * (11.18, 11.19), Logout (11.14, 11.15) and Reject (11.17).
 *
 * Task management acts on this connection's tasks: tasks still collecting
 * Data-Out are dropped at once, tasks inside the engine are marked aborted
 * (their responses are suppressed) and the TMF response waits until every
 * aborted task has left the engine.  scsi_tmf_effects() then applies the
 * engine-side effects (unit attentions, reservations).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi.h"
#include "iscsi_conn.h"
#include "log.h"
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

struct iscsi_tmf_wait {
	struct iscsi_pdu *rsp;
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

static void
iscsi_tmf_respond(struct iscsi_conn *conn, struct iscsi_pdu *rsp, bool wait)
{
	struct iscsi_tmf_wait *w, **pp;

	if (!wait || conn->n_engine_aborted == 0) {
		iscsi_conn_send(conn, rsp);
		return;
	}
	w = xcalloc(1, sizeof(*w));
	if (w == NULL) {
		iscsi_pdu_free(rsp);
		iscsi_conn_close(conn, false);
		return;
	}
	w->rsp = rsp;
	for (pp = &conn->tmf_waits; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = w;
}

void
iscsi_tmf_task_done(struct iscsi_conn *conn)
{
	struct iscsi_tmf_wait *w;
	uint32_t flags;

	if (conn->n_engine_aborted != 0)
		return;
	while ((w = conn->tmf_waits) != NULL) {
		conn->tmf_waits = w->next;
		flags = w->rsp->flags;
		iscsi_conn_send(conn, w->rsp);
		free(w);
		if (flags & ISCSI_PDU_CLOSE_AFTER)
			break;
	}
}

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
		break;
	case SCSI_TMF_TARGET_WARM_RESET:
	case SCSI_TMF_TARGET_COLD_RESET:
		wait = iscsi_tmf_abort_tasks(conn, NULL);
		scsi_tmf_effects(nexus, (enum scsi_tmf)func, 0);
		close_after = func == SCSI_TMF_TARGET_COLD_RESET;
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

	rsp = iscsi_pdu_alloc(0);
	if (rsp == NULL) {
		iscsi_pdu_free(pdu);
		iscsi_conn_close(conn, false);
		return;
	}
	iscsi_pdu_init_bhs(rsp, ISCSI_OP_TMF_RSP, true, iscsi_pdu_itt(pdu));
	rsp->bhs[2] = code;
	if (close_after)
		rsp->flags |= ISCSI_PDU_CLOSE_AFTER;
	iscsi_pdu_free(pdu);
	iscsi_tmf_respond(conn, rsp, wait);
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
	rsp = iscsi_pdu_alloc(0);
	if (rsp == NULL) {
		iscsi_pdu_free(pdu);
		iscsi_conn_close(conn, false);
		return;
	}
	iscsi_pdu_init_bhs(rsp, ISCSI_OP_NOP_IN, true, itt);
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

	pdu = iscsi_pdu_alloc(0);
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
	rsp = iscsi_pdu_alloc(0);
	if (rsp == NULL) {
		iscsi_pdu_free(pdu);
		iscsi_conn_close(conn, false);
		return;
	}
	iscsi_pdu_init_bhs(rsp, ISCSI_OP_LOGOUT_RSP, true, iscsi_pdu_itt(pdu));
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
