/*
 * iscsi_session.c - sessions: TSIH allocation, session reinstatement, the
 * CmdSN window (RFC 7143 4.2.2) and the session's I_T nexus.
 *
 * The session table is the only session state shared between loops (login
 * runs on loop 0, sessions live on any loop); it is guarded by sess_lock.
 * Everything else in a session belongs to its loop.  A session is
 * refcounted: one reference for the table, one per connection and one per
 * message posted to its loop.
 *
 * Reinstatement never blocks a loop: the login asks the old session's loop
 * to close it and registers itself as the waiter; the old session's last
 * connection, going away, posts iscsi_session_reinstated() back, which
 * registers the new nexus and lets the parked final login response go.
 *
 * CmdSN: ExpCmdSN advances as non-immediate PDUs arrive in order; a PDU
 * ahead of ExpCmdSN but inside the window is held (sorted) until the gap
 * fills; anything else is silently dropped.  MaxCmdSN is ExpCmdSN - 1 plus
 * the number of free task slots, never moved backwards.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi_conn.h"
#include "log.h"
#include "loop.h"
#include "lun.h"
#include "target.h"
#include "util.h"

#define ISCSI_FORGET_MAX	16

#define LOGIN_STATUS(c, d)	(((c) << 8) | (d))

static pthread_mutex_t sess_lock = PTHREAD_MUTEX_INITIALIZER;
static struct iscsi_session *sess_table;
static uint16_t sess_next_tsih = 1;

/* CmdSNs "considered received" by ABORT TASK (RFC 7143 11.5.1). */
struct iscsi_forget {
	uint32_t	 sn[ISCSI_FORGET_MAX];
	unsigned int	 n;
};

void
iscsi_session_get(struct iscsi_session *sess)
{
	atomic_fetch_add((_Atomic unsigned int *)&sess->refcnt, 1);
}

static void
iscsi_session_free(struct iscsi_session *sess)
{
	struct iscsi_pdu *pdu;

	while ((pdu = sess->held) != NULL) {
		sess->held = pdu->next;
		iscsi_pdu_free(pdu);
	}
	if (sess->nexus != NULL) {
		if (sess->nexus_registered)
			target_nexus_unregister(sess->nexus);
		nexus_destroy(sess->nexus);
	}
	free(sess->forget);
	free(sess);
}

void
iscsi_session_put(struct iscsi_session *sess)
{
	if (atomic_fetch_sub((_Atomic unsigned int *)&sess->refcnt, 1) == 1)
		iscsi_session_free(sess);
}

/* Under sess_lock. */
static uint16_t
iscsi_session_alloc_tsih(void)
{
	struct iscsi_session *s;
	unsigned int tries;
	uint16_t tsih;

	for (tries = 0; tries < 65536; tries++) {
		tsih = sess_next_tsih++;
		if (sess_next_tsih == 0)
			sess_next_tsih = 1;
		if (tsih == 0)
			continue;
		for (s = sess_table; s != NULL; s = s->tnext)
			if (s->tsih == tsih)
				break;
		if (s == NULL)
			return tsih;
	}
	return 0;
}

/* Under sess_lock. */
static void
iscsi_session_unlink(struct iscsi_session *sess)
{
	struct iscsi_session **pp;

	if (!sess->in_table)
		return;
	for (pp = &sess_table; *pp != NULL; pp = &(*pp)->tnext) {
		if (*pp == sess) {
			*pp = sess->tnext;
			break;
		}
	}
	sess->in_table = false;
}

void
iscsi_session_set_loop(struct iscsi_session *sess, struct loop *l)
{
	pthread_mutex_lock(&sess_lock);
	sess->loop = l;
	pthread_mutex_unlock(&sess_lock);
}

/* ---------------- teardown and reinstatement ---------------- */

void
iscsi_session_conn_gone(struct iscsi_session *sess, struct iscsi_conn *conn)
{
	struct iscsi_conn **pp, *waiter;
	struct iscsi_pdu *pdu;
	bool drop_table_ref = false;

	for (pp = &sess->conns; *pp != NULL; pp = &(*pp)->snext) {
		if (*pp == conn) {
			*pp = conn->snext;
			sess->n_conns--;
			break;
		}
	}
	if (sess->n_conns != 0 || sess->torn_down)
		return;
	while ((pdu = sess->held) != NULL) {
		sess->held = pdu->next;
		iscsi_pdu_free(pdu);
	}
	sess->n_held = 0;
	if (sess->nexus_registered) {
		target_nexus_unregister(sess->nexus);
		sess->nexus_registered = false;
	}
	pthread_mutex_lock(&sess_lock);
	if (sess->in_table) {
		iscsi_session_unlink(sess);
		drop_table_ref = true;
	}
	sess->torn_down = true;
	waiter = sess->reinstate_waiter;
	sess->reinstate_waiter = NULL;
	pthread_mutex_unlock(&sess_lock);
	if (waiter != NULL && iscsi_conn_post(waiter,
	    iscsi_session_reinstated, waiter) != 0) {
		/* The new login then runs into its login timeout. */
		log_err("iscsi: cannot resume reinstating login");
		iscsi_conn_post_cancel(waiter);
	}
	if (!sess->discovery)
		log_info("iscsi: session %s tsih %u closed", sess->initiator,
		    sess->tsih);
	if (drop_table_ref)
		iscsi_session_put(sess);
}

/* Close every connection of the session (on its loop). */
void
iscsi_session_kill(struct iscsi_session *sess)
{
	struct iscsi_conn *conn, *next;

	iscsi_session_get(sess);
	for (conn = sess->conns; conn != NULL; conn = next) {
		next = conn->snext;
		iscsi_conn_close(conn, false);
	}
	iscsi_session_put(sess);
}

static void
iscsi_session_kill_msg(void *arg)
{
	struct iscsi_session *sess = arg;
	struct loop *l;

	pthread_mutex_lock(&sess_lock);
	l = sess->loop;
	pthread_mutex_unlock(&sess_lock);
	if (l != loop_current() && loop_post(l, iscsi_session_kill_msg,
	    sess) == 0)
		return;		/* moved meanwhile: follow it */
	iscsi_session_kill(sess);
	iscsi_session_put(sess);
}

/* Session reinstatement (RFC 7143 6.3.5): close the old session with the
 * same initiator, ISID and target.  Runs on the new connection's loop
 * (login) and never waits there: returns true when the old session is
 * still closing on another loop, in which case conn is told through
 * iscsi_session_reinstated() once it is gone. */
static bool
iscsi_session_reinstate(struct iscsi_conn *conn,
    const struct iscsi_login_result *res)
{
	struct iscsi_session *old = NULL, *s;
	struct loop *l = NULL;
	bool wait;

	iscsi_conn_post_reserve(conn);
	pthread_mutex_lock(&sess_lock);
	for (s = sess_table; s != NULL; s = s->tnext) {
		if (!s->discovery && !s->torn_down &&
		    s->reinstate_waiter == NULL &&
		    memcmp(s->isid, res->isid, 6) == 0 &&
		    strcmp(s->initiator, res->initiator) == 0 &&
		    strcmp(s->target, res->target) == 0) {
			old = s;
			iscsi_session_get(old);		/* for the message */
			old->reinstate_waiter = conn;
			l = old->loop;
			break;
		}
	}
	pthread_mutex_unlock(&sess_lock);
	if (old == NULL) {
		iscsi_conn_post_cancel(conn);
		return false;
	}
	log_info("iscsi: reinstating session %s tsih %u", old->initiator,
	    old->tsih);
	if (l == loop_current()) {
		iscsi_session_kill(old);	/* notification posted */
		iscsi_session_put(old);
		return true;
	}
	if (loop_post(l, iscsi_session_kill_msg, old) == 0)
		return true;
	log_warn("iscsi: cannot close old session %s tsih %u",
	    old->initiator, old->tsih);
	pthread_mutex_lock(&sess_lock);
	wait = old->reinstate_waiter != conn;	/* closed meanwhile */
	if (!wait)
		old->reinstate_waiter = NULL;
	pthread_mutex_unlock(&sess_lock);
	iscsi_session_put(old);
	if (!wait)
		iscsi_conn_post_cancel(conn);
	return wait;
}

/* ---------------- login completion ---------------- */

static bool
iscsi_session_exists(uint16_t tsih)
{
	struct iscsi_session *s;
	bool found = false;

	pthread_mutex_lock(&sess_lock);
	for (s = sess_table; s != NULL; s = s->tnext)
		if (s->tsih == tsih && !s->torn_down)
			found = true;
	pthread_mutex_unlock(&sess_lock);
	return found;
}

int
iscsi_session_login_complete(struct iscsi_conn *conn,
    struct iscsi_login_result *res)
{
	struct iscsi_session *sess;
	bool wait = false;

	if (conn->sess != NULL)
		return LOGIN_STATUS(0x02, 0x0b);	/* invalid during login */
	if (res->tsih != 0) {
		/* Adding a connection (MC/S) or connection reinstatement:
		 * one connection per session for now. */
		if (!iscsi_session_exists(res->tsih))
			return LOGIN_STATUS(0x02, 0x0a);
		return LOGIN_STATUS(0x02, 0x06);	/* too many conns */
	}
	if (!res->discovery)
		wait = iscsi_session_reinstate(conn, res);

	sess = xcalloc(1, sizeof(*sess));
	if (sess != NULL)
		sess->forget = xcalloc(1, sizeof(*sess->forget));
	if (sess == NULL || sess->forget == NULL) {
		free(sess);
		/* A pending notification finds no session and closes. */
		return LOGIN_STATUS(0x03, 0x02);	/* out of resources */
	}
	memcpy(sess->isid, res->isid, 6);
	sess->tpg_tag = res->tpg_tag;
	sess->discovery = res->discovery;
	strlcpy_t(sess->initiator, res->initiator, sizeof(sess->initiator));
	strlcpy_t(sess->target, res->target, sizeof(sess->target));
	sess->params = res->params;
	if (sess->params.max_recv_dsl < 512)
		sess->params.max_recv_dsl = 512;
	if (sess->params.max_xmit_dsl < 512)
		sess->params.max_xmit_dsl = 512;
	if (sess->params.max_burst < 512)
		sess->params.max_burst = 512;
	sess->loop = conn->loop;
	sess->exp_cmd_sn = res->exp_cmdsn;
	sess->max_cmd_sn = res->exp_cmdsn + ISCSI_QUEUE_DEPTH - 1;
	sess->refcnt = 2;			/* table + conn */

	if (!sess->discovery) {
		sess->nexus = nexus_create(res->initiator, res->isid,
		    res->target, res->tpg_tag);
		if (sess->nexus == NULL) {
			free(sess->forget);
			free(sess);
			return LOGIN_STATUS(0x03, 0x02);
		}
		if (wait) {
			/* Registered when the old session is gone. */
			sess->reinstate_pending = true;
		} else if (target_nexus_register(sess->nexus) != 0) {
			nexus_destroy(sess->nexus);
			free(sess->forget);
			free(sess);
			return LOGIN_STATUS(0x02, 0x04);  /* target removed */
		} else {
			sess->nexus_registered = true;
		}
	}

	pthread_mutex_lock(&sess_lock);
	sess->tsih = iscsi_session_alloc_tsih();
	if (sess->tsih != 0) {
		sess->tnext = sess_table;
		sess_table = sess;
		sess->in_table = true;
	}
	pthread_mutex_unlock(&sess_lock);
	if (sess->tsih == 0) {
		sess->refcnt = 1;
		iscsi_session_put(sess);
		return LOGIN_STATUS(0x03, 0x02);
	}
	res->tsih = sess->tsih;
	conn->sess = sess;
	conn->cid = res->cid;
	conn->snext = NULL;
	sess->conns = conn;
	sess->n_conns = 1;
	return 0;
}

void
iscsi_session_reinstated(void *arg)
{
	struct iscsi_conn *conn = arg;
	struct iscsi_session *sess = conn->sess;
	struct iscsi_pdu *pdu;

	iscsi_conn_post_done(conn);
	iscsi_conn_enter(conn);
	if (conn->state != ISCSI_CONN_LOGIN || sess == NULL ||
	    !sess->reinstate_pending) {
		/* Gone meanwhile, or the login failed after all. */
		if (conn->state == ISCSI_CONN_LOGIN && conn->sess == NULL)
			iscsi_conn_close(conn, false);
		iscsi_conn_leave(conn);
		return;
	}
	sess->reinstate_pending = false;
	if (target_nexus_register(sess->nexus) != 0) {
		log_warn("iscsi: %s: target gone during reinstatement",
		    conn->peer_ip);
		iscsi_conn_close(conn, false);
		iscsi_conn_leave(conn);
		return;
	}
	sess->nexus_registered = true;
	pdu = conn->login_parked;
	conn->login_parked = NULL;
	if (pdu != NULL)
		iscsi_conn_send(conn, pdu);	/* ends the login */
	iscsi_conn_leave(conn);
}

/* ---------------- CmdSN window ---------------- */

uint32_t
iscsi_session_max_cmd_sn(struct iscsi_session *sess)
{
	unsigned int live = 0;
	struct iscsi_conn *conn;
	uint32_t max;

	for (conn = sess->conns; conn != NULL; conn = conn->snext)
		live += conn->n_live;
	live += sess->n_held;
	if (live >= ISCSI_QUEUE_DEPTH)
		max = sess->exp_cmd_sn - 1;
	else
		max = sess->exp_cmd_sn - 1 + (ISCSI_QUEUE_DEPTH - live);
	if (iscsi_sn_lt(sess->max_cmd_sn, max))
		sess->max_cmd_sn = max;
	return sess->max_cmd_sn;
}

static bool
iscsi_session_forgotten(struct iscsi_session *sess, uint32_t sn, bool take)
{
	struct iscsi_forget *f = sess->forget;
	unsigned int i;

	for (i = 0; i < f->n; i++) {
		if (f->sn[i] == sn) {
			if (take)
				f->sn[i] = f->sn[--f->n];
			return true;
		}
	}
	return false;
}

/* ExpCmdSN moved: skip CmdSNs already considered received. */
static void
iscsi_session_skip_forgotten(struct iscsi_session *sess)
{
	while (iscsi_session_forgotten(sess, sess->exp_cmd_sn, true))
		sess->exp_cmd_sn++;
}

int
iscsi_session_cmdsn_check(struct iscsi_session *sess, struct iscsi_pdu *pdu)
{
	struct iscsi_pdu **pp;
	uint32_t sn, hsn;

	sn = get_be32(pdu->bhs + ISCSI_BHS_CMDSN);
	if (sn == sess->exp_cmd_sn) {
		sess->exp_cmd_sn++;
		iscsi_session_skip_forgotten(sess);
		return 1;
	}
	if (iscsi_sn_lt(sn, sess->exp_cmd_sn) ||
	    iscsi_sn_lt(sess->max_cmd_sn, sn) ||
	    iscsi_session_forgotten(sess, sn, false) ||
	    sess->n_held >= ISCSI_HELD_MAX)
		return -1;
	for (pp = &sess->held; *pp != NULL; pp = &(*pp)->next) {
		hsn = get_be32((*pp)->bhs + ISCSI_BHS_CMDSN);
		if (hsn == sn)
			return -1;		/* duplicate */
		if (iscsi_sn_lt(sn, hsn))
			break;
	}
	pdu->next = *pp;
	*pp = pdu;
	sess->n_held++;
	return 0;
}

struct iscsi_pdu *
iscsi_session_cmdsn_next(struct iscsi_session *sess)
{
	struct iscsi_pdu *pdu = sess->held;

	iscsi_session_skip_forgotten(sess);
	if (pdu == NULL ||
	    get_be32(pdu->bhs + ISCSI_BHS_CMDSN) != sess->exp_cmd_sn)
		return NULL;
	sess->held = pdu->next;
	pdu->next = NULL;
	sess->n_held--;
	sess->exp_cmd_sn++;
	iscsi_session_skip_forgotten(sess);
	return pdu;
}

bool
iscsi_session_cmdsn_forget(struct iscsi_session *sess, uint32_t cmd_sn,
    uint32_t itt)
{
	struct iscsi_forget *f = sess->forget;
	struct iscsi_pdu **pp, *pdu;

	if (iscsi_sn_lt(cmd_sn, sess->exp_cmd_sn) ||
	    iscsi_sn_lt(sess->max_cmd_sn, cmd_sn))
		return false;
	for (pp = &sess->held; *pp != NULL; pp = &(*pp)->next) {
		pdu = *pp;
		if (get_be32(pdu->bhs + ISCSI_BHS_CMDSN) == cmd_sn) {
			if (iscsi_pdu_itt(pdu) != itt)
				return false;
			*pp = pdu->next;
			sess->n_held--;
			iscsi_pdu_free(pdu);
			break;
		}
	}
	if (!iscsi_session_forgotten(sess, cmd_sn, false)) {
		if (f->n == ISCSI_FORGET_MAX)
			return false;
		f->sn[f->n++] = cmd_sn;
	}
	iscsi_session_skip_forgotten(sess);
	return true;
}
