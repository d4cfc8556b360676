/*
 * iscsi_conn.c - one iSCSI connection: socket reads through the resumable
 * receiver, PDU dispatch by phase, the transmit queue and the lifecycle
 * (login on loop 0, move to the session's loop, teardown, deferred free).
 *
 * Reads: small wants (BHS, short data) go through a staging buffer so one
 * read() serves many PDUs; the rest of a data segment is read straight
 * into its final buffer, with the staging buffer as a second iovec for
 * what follows; a short read means the socket is empty (epoll is level
 * triggered), so no read() is spent on EAGAIN.  Writes: PDUs are queued
 * and written with writev() once per loop iteration (loop_defer() from
 * the outermost conn_leave), so the responses of a batch of io_uring
 * completions leave together; EPOLLOUT is armed only while the socket is
 * full.
 *
 * Freeing: callbacks run between iscsi_conn_enter()/iscsi_conn_leave(); a teardown in
 * the middle only marks the connection dead, and the memory goes when no
 * callback, posted message or engine task refers to it any more.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "iscsi.h"
#include "iscsi_conn.h"
#include "log.h"
#include "loop.h"
#include "util.h"

#define ISCSI_RBUF_SIZE		(64u << 10)
#define ISCSI_DIRECT_MIN	1024u	/* read data this big in place */
#define ISCSI_TX_IOV		64
#define ISCSI_RX_BUDGET		32	/* reads per readiness event */

static pthread_mutex_t conn_glock = PTHREAD_MUTEX_INITIALIZER;
static struct iscsi_conn *conn_all;
static unsigned int conn_n;
static atomic_bool conn_stopping;
static void (*conn_zero_cb)(void *);
static void *conn_zero_arg;

static void iscsi_conn_io(struct loop *, int, uint32_t, void *);
static void iscsi_conn_timer(void *);
static void iscsi_conn_process(struct iscsi_conn *);
static void iscsi_conn_flush(struct iscsi_conn *);

void
iscsi_conn_enter(struct iscsi_conn *conn)
{
	conn->busy++;
}

static void iscsi_conn_move(struct iscsi_conn *);

/* The outermost leave flushes the queue, then either moves the connection
 * to its session's loop (the last access from this loop) or frees it. */
void
iscsi_conn_leave(struct iscsi_conn *conn)
{
	bool now = conn->tx_now;

	conn->tx_now = false;
	if (conn->busy == 1 && conn->state != ISCSI_CONN_DEAD &&
	    conn->txq_head != NULL && !conn->want_out && !conn->in_transit) {
		if (!now && !conn->move_pending && conn->registered &&
		    loop_current() == conn->loop) {
			/* Coalesce the responses of this batch of events
			 * into one writev: the deferred call inherits this
			 * reference. */
			loop_defer(conn->loop, &conn->tx_defer);
			return;
		}
		iscsi_conn_flush(conn);
	}
	if (--conn->busy != 0)
		return;
	if (conn->move_pending) {
		conn->move_pending = false;
		if (conn->state != ISCSI_CONN_DEAD) {
			iscsi_conn_move(conn);
			return;
		}
	}
	iscsi_conn_maybe_free(conn);
}

/* Deferred from iscsi_conn_leave(): flush, then drop its reference. */
static void
iscsi_conn_tx_deferred(void *arg)
{
	struct iscsi_conn *conn = arg;

	conn->tx_now = true;
	iscsi_conn_leave(conn);
}

static void
iscsi_sockaddr_text(const struct sockaddr_storage *ss, char *buf,
    size_t len, uint16_t *port)
{
	const struct sockaddr_in *sin = (const void *)ss;
	const struct sockaddr_in6 *sin6 = (const void *)ss;

	buf[0] = '\0';
	*port = 0;
	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, buf, (socklen_t)len);
		*port = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &sin6->sin6_addr, buf, (socklen_t)len);
		*port = ntohs(sin6->sin6_port);
	}
}

static void
iscsi_conn_addrs(struct iscsi_conn *conn)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	uint16_t port;

	sl = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	if (getpeername(conn->fd, (struct sockaddr *)&ss, &sl) == 0)
		iscsi_sockaddr_text(&ss, conn->peer_ip, sizeof(conn->peer_ip),
		    &conn->peer_port);
	sl = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	if (getsockname(conn->fd, (struct sockaddr *)&ss, &sl) == 0)
		iscsi_sockaddr_text(&ss, conn->local_ip,
		    sizeof(conn->local_ip), &port);
}

struct iscsi_conn *
iscsi_conn_create(int fd, struct loop *l, const char *portal_ip,
    uint16_t portal_port)
{
	const struct iscsi_globals *g = iscsi_get_globals();
	struct iscsi_conn *conn;

	conn = xcalloc(1, sizeof(*conn));
	if (conn == NULL)
		return NULL;
	conn->rbuf = xmalloc(ISCSI_RBUF_SIZE);
	conn->pdu_pool = iscsi_pdu_pool_create();
	if (conn->rbuf == NULL || conn->pdu_pool == NULL) {
		free(conn->rbuf);
		free(conn->pdu_pool);
		free(conn);
		return NULL;
	}
	conn->tx_defer.fn = iscsi_conn_tx_deferred;
	conn->tx_defer.arg = conn;
	conn->fd = fd;
	conn->loop = l;
	conn->state = ISCSI_CONN_LOGIN;
	iscsi_conn_addrs(conn);
	strlcpy_t(conn->portal_ip, portal_ip, sizeof(conn->portal_ip));
	conn->portal_port = portal_port;
	iscsi_params_default(&conn->params);
	conn->params.max_recv_dsl = ISCSI_LOGIN_MAX_DSL;
	conn->params.max_xmit_dsl = ISCSI_LOGIN_MAX_DSL;
	iscsi_rx_init(&conn->rx, ISCSI_LOGIN_MAX_DSL);
	conn->rx.pool = conn->pdu_pool;
	conn->stat_sn = (uint32_t)(now_ns() >> 10) & 0xffffff;
	conn->ping_ttt = ISCSI_RSVD_TAG;
	conn->next_ttt = 1;
	conn->last_rx_ms = now_ms();
	conn->timer = loop_timer_create(l, iscsi_conn_timer, conn);
	if (conn->timer == NULL ||
	    loop_fd_add(l, fd, EPOLLIN, iscsi_conn_io, conn) != 0) {
		if (conn->timer != NULL)
			loop_timer_destroy(conn->timer);
		iscsi_pdu_pool_destroy(conn->pdu_pool);
		free(conn->rbuf);
		free(conn);
		return NULL;
	}
	conn->registered = true;
	loop_timer_arm(conn->timer, (uint64_t)g->login_timeout_s * 1000);

	pthread_mutex_lock(&conn_glock);
	conn->gnext = conn_all;
	if (conn_all != NULL)
		conn_all->gprev = conn;
	conn_all = conn;
	conn_n++;
	pthread_mutex_unlock(&conn_glock);
	return conn;
}

/* ---------------- accessors for the login side ---------------- */

const char *
iscsi_conn_portal_ip(const struct iscsi_conn *conn)
{
	return conn->portal_ip;
}

uint16_t
iscsi_conn_portal_port(const struct iscsi_conn *conn)
{
	return conn->portal_port;
}

const char *
iscsi_conn_peer_ip(const struct iscsi_conn *conn)
{
	return conn->peer_ip;
}

const char *
iscsi_conn_local_ip(const struct iscsi_conn *conn)
{
	return conn->local_ip;
}

const struct iscsi_params *
iscsi_conn_params(const struct iscsi_conn *conn)
{
	if (conn->sess != NULL && conn->state != ISCSI_CONN_LOGIN)
		return &conn->sess->params;
	return &conn->params;
}

void *
iscsi_conn_login_state(struct iscsi_conn *conn)
{
	return conn->login_state;
}

void
iscsi_conn_set_login_state(struct iscsi_conn *conn, void *st,
    void (*free_fn)(void *))
{
	conn->login_state = st;
	conn->login_state_free = free_fn;
}

static void
iscsi_conn_login_state_free(struct iscsi_conn *conn)
{
	if (conn->login_state != NULL && conn->login_state_free != NULL)
		conn->login_state_free(conn->login_state);
	conn->login_state = NULL;
	conn->login_state_free = NULL;
}

/* ---------------- transmit ---------------- */

static void
iscsi_conn_fill_sn(struct iscsi_conn *conn, struct iscsi_pdu *pdu)
{
	uint8_t *bhs = pdu->bhs;
	uint32_t exp, max;
	bool advance = true, has_statsn = true;

	switch (iscsi_pdu_opcode(pdu)) {
	case ISCSI_OP_NOP_IN:
		advance = get_be32(bhs + ISCSI_BHS_ITT) != ISCSI_RSVD_TAG;
		break;
	case ISCSI_OP_DATA_IN:
		advance = (bhs[1] & 0x01) != 0;		/* S bit */
		has_statsn = advance;
		break;
	case ISCSI_OP_R2T:
		advance = false;
		break;
	case ISCSI_OP_SCSI_RSP:
	case ISCSI_OP_TMF_RSP:
	case ISCSI_OP_LOGIN_RSP:
	case ISCSI_OP_TEXT_RSP:
	case ISCSI_OP_LOGOUT_RSP:
	case ISCSI_OP_ASYNC_MSG:
	case ISCSI_OP_REJECT:
		break;
	default:
		return;
	}
	if (has_statsn) {
		put_be32(bhs + 24, conn->stat_sn);
		if (advance)
			conn->stat_sn++;
	}
	if (conn->sess != NULL) {
		exp = conn->sess->exp_cmd_sn;
		max = iscsi_session_max_cmd_sn(conn->sess);
	} else {
		exp = conn->login_exp_cmdsn;
		max = exp + ISCSI_QUEUE_DEPTH - 1;
	}
	put_be32(bhs + 28, exp);
	put_be32(bhs + 32, max);
}

struct iscsi_pdu *
iscsi_conn_pdu_alloc(struct iscsi_conn *conn, uint32_t len)
{
	return iscsi_pdu_pool_get(conn->pdu_pool, len);
}

void
iscsi_conn_send(struct iscsi_conn *conn, struct iscsi_pdu *pdu)
{
	uint8_t b1;

	if (conn->state == ISCSI_CONN_DEAD) {
		iscsi_pdu_free(pdu);
		return;
	}
	if (conn->state == ISCSI_CONN_LOGIN && conn->sess != NULL &&
	    conn->sess->reinstate_pending && conn->login_parked == NULL &&
	    iscsi_pdu_opcode(pdu) == ISCSI_OP_LOGIN_RSP) {
		/* Reinstatement: answer once the old session is gone
		 * (iscsi_session_reinstated); read nothing meanwhile. */
		conn->login_parked = pdu;
		conn->login_final_queued = true;
		if (conn->registered)	/* level-triggered: stop EPOLLIN */
			loop_fd_mod(conn->loop, conn->fd,
			    conn->want_out ? EPOLLOUT : 0);
		return;
	}
	if (conn->login_parked == NULL && conn->state == ISCSI_CONN_LOGIN &&
	    conn->login_final_queued && conn->registered &&
	    iscsi_pdu_opcode(pdu) == ISCSI_OP_LOGIN_RSP) {
		/* Unparked (iscsi_session_reinstated): listen again. */
		conn->login_final_queued = false;
		loop_fd_mod(conn->loop, conn->fd,
		    conn->want_out ? EPOLLIN | EPOLLOUT : EPOLLIN);
	}
	iscsi_conn_fill_sn(conn, pdu);
	pdu->flags &= ~ISCSI_PDU_TX_READY;
	if (iscsi_pdu_opcode(pdu) == ISCSI_OP_LOGIN_RSP &&
	    conn->state == ISCSI_CONN_LOGIN) {
		b1 = pdu->bhs[1];
		if ((b1 & ISCSI_LOGIN_TRANSIT) &&
		    ISCSI_LOGIN_NSG(b1) == ISCSI_STAGE_FFP &&
		    pdu->bhs[36] == 0)
			pdu->flags |= ISCSI_PDU_LOGIN_FINAL;
		if ((pdu->flags & ISCSI_PDU_LOGIN_FINAL) && conn->sess == NULL) {
			/* No session was set up: do not enter FFP. */
			log_warn("iscsi: %s: final login response without a "
			    "session", conn->peer_ip);
			pdu->flags &= ~ISCSI_PDU_LOGIN_FINAL;
			pdu->flags |= ISCSI_PDU_CLOSE_AFTER;
		}
		if (pdu->flags & ISCSI_PDU_LOGIN_FINAL)
			conn->login_final_queued = true;
	} else {
		pdu->flags &= ~ISCSI_PDU_LOGIN_FINAL;
	}
	if ((pdu->flags & ISCSI_PDU_SET_MAX_XMIT_DSL) && conn->sess != NULL &&
	    iscsi_pdu_opcode(pdu) == ISCSI_OP_TEXT_RSP &&
	    pdu->new_max_xmit_dsl >= 512 &&
	    pdu->new_max_xmit_dsl <= 0xffffff) {
		/* RFC 7143 13.12, declared again in full feature phase:
		 * PDUs after this response use the new size. */
		log_dbg("iscsi: %s: MaxRecvDataSegmentLength %u -> %u",
		    conn->peer_ip, conn->sess->params.max_xmit_dsl,
		    pdu->new_max_xmit_dsl);
		conn->sess->params.max_xmit_dsl = pdu->new_max_xmit_dsl;
		conn->params.max_xmit_dsl = pdu->new_max_xmit_dsl;
	}
	pdu->next = NULL;
	if (conn->txq_tail != NULL)
		conn->txq_tail->next = pdu;
	else
		conn->txq_head = pdu;
	conn->txq_tail = pdu;
	conn->txq_n++;
	if (conn->busy == 0 && !conn->want_out && !conn->in_transit) {
		iscsi_conn_enter(conn);
		iscsi_conn_leave(conn);
	}
}

static void iscsi_conn_login_done(struct iscsi_conn *);

/* A PDU is fully on the wire. */
static void
iscsi_conn_pdu_sent(struct iscsi_conn *conn, struct iscsi_pdu *pdu)
{
	uint32_t flags = pdu->flags;

	if (pdu->sent != NULL)
		pdu->sent(pdu);
	iscsi_pdu_free(pdu);
	if (flags & ISCSI_PDU_LOGIN_FINAL)
		iscsi_conn_login_done(conn);
	if (flags & ISCSI_PDU_CLOSE_AFTER)
		iscsi_conn_close(conn, true);
}

static void
iscsi_conn_want_out(struct iscsi_conn *conn, bool on)
{
	if (conn->want_out == on || !conn->registered)
		return;
	conn->want_out = on;
	loop_fd_mod(conn->loop, conn->fd, on ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

static void
iscsi_conn_flush(struct iscsi_conn *conn)
{
	struct iovec iov[ISCSI_TX_IOV], piov[6];
	struct iscsi_pdu *pdu;
	size_t skip, len;
	ssize_t n;
	int cnt, pn, i;

	while (conn->txq_head != NULL && conn->state != ISCSI_CONN_DEAD &&
	    !conn->in_transit && !conn->move_pending) {
		cnt = 0;
		for (pdu = conn->txq_head; pdu != NULL; pdu = pdu->next) {
			if (cnt + 6 > ISCSI_TX_IOV)
				break;
			pn = iscsi_pdu_tx_iov(pdu, conn->tx_hdigest,
			    conn->tx_ddigest, piov);
			skip = pdu->tx_done;
			for (i = 0; i < pn; i++) {
				if (skip >= piov[i].iov_len) {
					skip -= piov[i].iov_len;
					continue;
				}
				iov[cnt].iov_base = (uint8_t *)piov[i].iov_base +
				    skip;
				iov[cnt++].iov_len = piov[i].iov_len - skip;
				skip = 0;
			}
			if (pdu->flags & ISCSI_PDU_LOGIN_FINAL)
				break;	/* digests change after it */
		}
		n = writev(conn->fd, iov, cnt);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				iscsi_conn_want_out(conn, true);
				return;
			}
			log_dbg("iscsi: %s: write: %s", conn->peer_ip,
			    strerror(errno));
			iscsi_conn_teardown(conn);
			return;
		}
		while (n > 0 && (pdu = conn->txq_head) != NULL) {
			len = iscsi_pdu_wire_len(pdu, conn->tx_hdigest,
			    conn->tx_ddigest) - pdu->tx_done;
			if ((size_t)n < len) {
				pdu->tx_done += (uint32_t)n;
				break;
			}
			n -= (ssize_t)len;
			conn->txq_head = pdu->next;
			if (conn->txq_head == NULL)
				conn->txq_tail = NULL;
			conn->txq_n--;
			iscsi_conn_pdu_sent(conn, pdu);
		}
	}
	if (conn->txq_head == NULL) {
		iscsi_conn_want_out(conn, false);
		if (conn->state == ISCSI_CONN_CLOSING)
			iscsi_conn_teardown(conn);
	}
}

static void
iscsi_conn_txq_free(struct iscsi_conn *conn)
{
	struct iscsi_pdu *pdu;

	while ((pdu = conn->txq_head) != NULL) {
		conn->txq_head = pdu->next;
		iscsi_pdu_free(pdu);
	}
	conn->txq_tail = NULL;
	conn->txq_n = 0;
}

/* ---------------- phase changes ---------------- */

static void
iscsi_conn_arm_nop(struct iscsi_conn *conn)
{
	const struct iscsi_globals *g = iscsi_get_globals();

	if (conn->timer == NULL)
		return;
	if (conn->ping_ttt != ISCSI_RSVD_TAG && g->nop_timeout_s != 0)
		loop_timer_arm(conn->timer, (uint64_t)g->nop_timeout_s * 1000);
	else if (g->nop_interval_s != 0)
		loop_timer_arm(conn->timer, (uint64_t)g->nop_interval_s * 1000);
	else
		loop_timer_cancel(conn->timer);
}

/* Runs on the new loop. */
static void
iscsi_conn_attach(void *arg)
{
	struct iscsi_conn *conn = arg;

	pthread_mutex_lock(&conn_glock);
	conn->posts--;
	pthread_mutex_unlock(&conn_glock);
	iscsi_conn_enter(conn);
	conn->in_transit = false;
	if (conn->state == ISCSI_CONN_DEAD) {
		iscsi_conn_leave(conn);
		return;
	}
	if (atomic_load(&conn_stopping)) {
		iscsi_conn_teardown(conn);
		iscsi_conn_leave(conn);
		return;
	}
	loop_load_add(conn->loop, 1);
	conn->load_counted = true;
	conn->timer = loop_timer_create(conn->loop, iscsi_conn_timer, conn);
	if (conn->timer == NULL || loop_fd_add(conn->loop, conn->fd,
	    conn->txq_head != NULL ? EPOLLIN | EPOLLOUT : EPOLLIN,
	    iscsi_conn_io, conn) != 0) {
		log_err("iscsi: %s: cannot attach connection to its loop",
		    conn->peer_ip);
		iscsi_conn_teardown(conn);
		iscsi_conn_leave(conn);
		return;
	}
	conn->registered = true;
	conn->want_out = conn->txq_head != NULL;
	iscsi_conn_arm_nop(conn);
	iscsi_conn_process(conn);
	iscsi_conn_leave(conn);
}

/* The final login response is on the wire: Full Feature Phase. */
static void
iscsi_conn_login_done(struct iscsi_conn *conn)
{
	struct iscsi_session *sess = conn->sess;

	/* The login state stays: Text Requests use its names and values. */
	conn->login_final_queued = false;
	conn->state = ISCSI_CONN_FFP;
	conn->params = sess->params;
	conn->tx_hdigest = sess->params.header_digest;
	conn->tx_ddigest = sess->params.data_digest;
	conn->rx.hdigest = sess->params.header_digest;
	conn->rx.ddigest = sess->params.data_digest;
	conn->rx.max_dsl = sess->params.max_recv_dsl;
	conn->rx.place = iscsi_scsi_place;
	conn->rx.place_arg = conn;
	conn->last_rx_ms = now_ms();
	log_info("iscsi: %s: %s session %s tsih %u in full feature phase",
	    conn->peer_ip, sess->discovery ? "discovery" : "normal",
	    sess->initiator, sess->tsih);
	if (sess->discovery) {
		iscsi_conn_arm_nop(conn);
		return;
	}
	conn->move_pending = true;	/* done by the outermost leave */
}

/* Move to the least-loaded loop (SPDK's iscsi_conn_schedule).  Nothing on
 * this loop touches the connection afterwards. */
static void
iscsi_conn_move(struct iscsi_conn *conn)
{
	struct loop *to;
	int rc;

	to = loop_least_loaded();
	loop_fd_del(conn->loop, conn->fd);
	conn->registered = false;
	conn->want_out = false;
	loop_timer_destroy(conn->timer);
	conn->timer = NULL;
	conn->in_transit = true;
	pthread_mutex_lock(&conn_glock);
	conn->loop = to;
	conn->posts++;
	rc = loop_post(to, iscsi_conn_attach, conn);
	if (rc != 0) {
		conn->posts--;
		conn->loop = conn->sess->loop;
	} else {
		/* After the post: session messages queue behind attach. */
		iscsi_session_set_loop(conn->sess, to);
	}
	pthread_mutex_unlock(&conn_glock);
	if (rc != 0) {
		conn->in_transit = false;
		log_err("iscsi: %s: cannot move connection", conn->peer_ip);
		iscsi_conn_enter(conn);
		iscsi_conn_teardown(conn);
		iscsi_conn_leave(conn);
	}
}

/* ---------------- receive ---------------- */

static bool
iscsi_conn_rx_active(const struct iscsi_conn *conn)
{
	if (conn->in_transit || conn->move_pending)
		return false;
	if (conn->state == ISCSI_CONN_LOGIN)
		return !conn->login_final_queued;
	return conn->state == ISCSI_CONN_FFP;
}

static void
iscsi_conn_rx_login(struct iscsi_conn *conn, struct iscsi_pdu *pdu)
{
	if (iscsi_pdu_opcode(pdu) != ISCSI_OP_LOGIN_REQ ||
	    (pdu->flags & ISCSI_PDU_DATA_TOO_LONG)) {
		log_warn("iscsi: %s: unexpected PDU 0x%02x during login",
		    conn->peer_ip, iscsi_pdu_opcode(pdu));
		iscsi_pdu_free(pdu);
		iscsi_conn_teardown(conn);
		return;
	}
	conn->login_exp_cmdsn = get_be32(pdu->bhs + ISCSI_BHS_CMDSN);
	iscsi_login_rx(conn, pdu);
}

/* A PDU whose turn has come (CmdSN order or immediate). */
static void
iscsi_conn_rx_ordered(struct iscsi_conn *conn, struct iscsi_pdu *pdu)
{
	struct iscsi_session *sess = conn->sess;

	switch (iscsi_pdu_opcode(pdu)) {
	case ISCSI_OP_SCSI_CMD:
		iscsi_scsi_cmd_rx(conn, pdu);
		break;
	case ISCSI_OP_NOP_OUT:
		iscsi_nop_out_rx(conn, pdu);
		break;
	case ISCSI_OP_TMF_REQ:
		iscsi_tmf_rx(conn, pdu);
		break;
	case ISCSI_OP_TEXT_REQ:
		iscsi_text_rx(conn, pdu, sess->discovery, sess->initiator);
		break;
	case ISCSI_OP_LOGOUT_REQ:
		iscsi_logout_rx(conn, pdu);
		break;
	default:
		iscsi_reject(conn, pdu->bhs, ISCSI_REJECT_CMD_NOT_SUPP);
		iscsi_pdu_free(pdu);
		break;
	}
}

static bool
iscsi_conn_op_allowed(const struct iscsi_session *sess, uint8_t op)
{
	switch (op) {
	case ISCSI_OP_NOP_OUT:
	case ISCSI_OP_TEXT_REQ:
	case ISCSI_OP_LOGOUT_REQ:
		return true;
	case ISCSI_OP_SCSI_CMD:
	case ISCSI_OP_TMF_REQ:
	case ISCSI_OP_DATA_OUT:
	case ISCSI_OP_SNACK:
		return !sess->discovery;
	default:
		return false;
	}
}

static void
iscsi_conn_rx_ffp(struct iscsi_conn *conn, struct iscsi_pdu *pdu)
{
	struct iscsi_session *sess = conn->sess;
	uint8_t op = iscsi_pdu_opcode(pdu);
	int rc;

	if (pdu->flags & ISCSI_PDU_DATA_TOO_LONG) {
		/* Rejected when its header came in (iscsi_conn_too_long). */
		iscsi_pdu_free(pdu);
		return;
	}
	if (pdu->flags & ISCSI_PDU_DDIGEST_BAD) {
		log_warn("iscsi: %s: data digest error (opcode 0x%02x)",
		    conn->peer_ip, op);
		iscsi_reject(conn, pdu->bhs, ISCSI_REJECT_DATA_DIGEST);
		iscsi_pdu_free(pdu);
		return;
	}
	if (!iscsi_conn_op_allowed(sess, op)) {
		iscsi_reject(conn, pdu->bhs, op == ISCSI_OP_LOGIN_REQ ?
		    ISCSI_REJECT_PROTOCOL : ISCSI_REJECT_CMD_NOT_SUPP);
		iscsi_pdu_free(pdu);
		return;
	}
	if (op == ISCSI_OP_DATA_OUT) {
		iscsi_scsi_data_out_rx(conn, pdu);
		return;
	}
	if (op == ISCSI_OP_SNACK) {
		/* ErrorRecoveryLevel 0: no SNACK support. */
		iscsi_reject(conn, pdu->bhs, ISCSI_REJECT_PROTOCOL);
		iscsi_pdu_free(pdu);
		return;
	}
	if (iscsi_pdu_immediate(pdu)) {
		iscsi_conn_rx_ordered(conn, pdu);
	} else {
		rc = iscsi_session_cmdsn_check(sess, pdu);
		if (rc < 0) {
			log_dbg("iscsi: %s: CmdSN %u outside window, dropped",
			    conn->peer_ip,
			    get_be32(pdu->bhs + ISCSI_BHS_CMDSN));
			iscsi_pdu_free(pdu);
			return;
		}
		if (rc == 0)
			return;		/* held until the gap fills */
		iscsi_conn_rx_ordered(conn, pdu);
	}
	/* ExpCmdSN moved (or ABORT TASK forgot a CmdSN): held PDUs may be
	 * in order now. */
	while (conn->state == ISCSI_CONN_FFP &&
	    (pdu = iscsi_session_cmdsn_next(sess)) != NULL)
		iscsi_conn_rx_ordered(conn, pdu);
}

void
iscsi_conn_rx_pdu(struct iscsi_conn *conn, struct iscsi_pdu *pdu)
{
	conn->last_rx_ms = now_ms();
	if (conn->state == ISCSI_CONN_LOGIN)
		iscsi_conn_rx_login(conn, pdu);
	else if (conn->state == ISCSI_CONN_FFP && conn->sess != NULL)
		iscsi_conn_rx_ffp(conn, pdu);
	else
		iscsi_pdu_free(pdu);
}

/* The header of a PDU with an over-long data segment is in: reject it at
 * once (the data is skipped as it arrives), or end a login. */
static void
iscsi_conn_too_long(struct iscsi_conn *conn)
{
	const uint8_t *bhs = conn->rx.pdu->bhs;

	conn->rx.too_long_hdr = false;
	log_warn("iscsi: %s: data segment of %u bytes over limit %u",
	    conn->peer_ip, iscsi_bhs_dsl(bhs), conn->rx.max_dsl);
	if (conn->state != ISCSI_CONN_FFP) {
		iscsi_conn_teardown(conn);
		return;
	}
	iscsi_reject(conn, bhs, ISCSI_REJECT_PROTOCOL);
}

static void
iscsi_conn_process(struct iscsi_conn *conn)
{
	struct iscsi_pdu *pdu;
	struct iovec iov[2];
	uint8_t *dst;
	size_t want, used;
	ssize_t n;
	int rc, budget = ISCSI_RX_BUDGET;
	bool drained = false;

	while (iscsi_conn_rx_active(conn)) {
		if (conn->rbuf_off < conn->rbuf_len) {
			rc = iscsi_rx_feed(&conn->rx, conn->rbuf + conn->rbuf_off,
			    conn->rbuf_len - conn->rbuf_off, &used);
			conn->rbuf_off += (uint32_t)used;
		} else {
			/* A short read emptied the socket: epoll (level
			 * triggered) says when more comes, no need to ask
			 * read() for an EAGAIN. */
			if (budget-- == 0 || drained)
				return;
			want = iscsi_rx_want(&conn->rx, &dst);
			if (want < ISCSI_DIRECT_MIN) {
				dst = conn->rbuf;
				want = ISCSI_RBUF_SIZE;
				n = read(conn->fd, dst, want);
				drained = n > 0 && (size_t)n < want;
			} else {
				/* The rest of a data segment in place, and
				 * whatever follows (next headers) staged. */
				iov[0].iov_base = dst;
				iov[0].iov_len = want;
				iov[1].iov_base = conn->rbuf;
				iov[1].iov_len = ISCSI_RBUF_SIZE;
				n = readv(conn->fd, iov, 2);
				drained = n > 0 && (size_t)n <
				    want + ISCSI_RBUF_SIZE;
				if (n > (ssize_t)want) {
					conn->rbuf_len = (uint32_t)(n - want);
					conn->rbuf_off = 0;
					n = (ssize_t)want;
				}
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return;
			if (n <= 0) {
				if (n < 0)
					log_dbg("iscsi: %s: read: %s",
					    conn->peer_ip, strerror(errno));
				else if (conn->state == ISCSI_CONN_FFP)
					log_info("iscsi: %s: connection closed "
					    "by peer", conn->peer_ip);
				iscsi_conn_teardown(conn);
				return;
			}
			if (dst == conn->rbuf) {
				conn->rbuf_len = (uint32_t)n;
				conn->rbuf_off = 0;
				continue;
			}
			rc = iscsi_rx_advance(&conn->rx, (size_t)n);
		}
		if (conn->rx.too_long_hdr && rc >= 0) {
			iscsi_conn_too_long(conn);
			if (conn->state == ISCSI_CONN_DEAD)
				return;
		}
		if (rc < 0) {
			log_warn("iscsi: %s: %s, dropping connection",
			    conn->peer_ip, rc == -EBADMSG ?
			    "header digest error" : "out of memory");
			iscsi_conn_teardown(conn);
			return;
		}
		if (rc == 1 && (pdu = iscsi_rx_take(&conn->rx)) != NULL)
			iscsi_conn_rx_pdu(conn, pdu);
	}
}

static void
iscsi_conn_io(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct iscsi_conn *conn = arg;

	if (l != conn->loop || conn->in_transit || !conn->registered)
		return;		/* stale event from before a move */
	iscsi_conn_enter(conn);
	if (events & EPOLLOUT)
		iscsi_conn_flush(conn);
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
	    conn->state != ISCSI_CONN_DEAD) {
		if (iscsi_conn_rx_active(conn))
			iscsi_conn_process(conn);
		else if ((events & (EPOLLHUP | EPOLLERR)) &&
		    !(events & EPOLLIN))
			iscsi_conn_teardown(conn);
		else if (conn->state != ISCSI_CONN_FFP &&
		    conn->state != ISCSI_CONN_LOGIN) {
			/* Logout/closing: drain and ignore. */
			uint8_t sink[512];
			ssize_t n = read(fd, sink, sizeof(sink));

			if (n == 0 || (n < 0 && errno != EAGAIN &&
			    errno != EINTR))
				iscsi_conn_teardown(conn);
		}
	}
	iscsi_conn_leave(conn);
}

static void
iscsi_conn_timer(void *arg)
{
	const struct iscsi_globals *g = iscsi_get_globals();
	struct iscsi_conn *conn = arg;
	uint64_t now = now_ms();

	iscsi_conn_enter(conn);
	if (conn->state == ISCSI_CONN_LOGIN) {
		log_warn("iscsi: %s: login timed out", conn->peer_ip);
		iscsi_conn_teardown(conn);
	} else if (conn->state == ISCSI_CONN_FFP) {
		if (conn->ping_ttt != ISCSI_RSVD_TAG &&
		    conn->last_rx_ms > conn->ping_sent_ms) {
			/* Anything received proves the peer alive. */
			conn->ping_ttt = ISCSI_RSVD_TAG;
		}
		if (conn->ping_ttt != ISCSI_RSVD_TAG) {
			if (now - conn->ping_sent_ms >=
			    (uint64_t)g->nop_timeout_s * 1000) {
				log_warn("iscsi: %s: no answer to NOP-In "
				    "ping, dropping connection", conn->peer_ip);
				iscsi_conn_teardown(conn);
				iscsi_conn_leave(conn);
				return;
			}
		} else if (g->nop_interval_s != 0 && now - conn->last_rx_ms >=
		    (uint64_t)g->nop_interval_s * 1000) {
			iscsi_nop_ping(conn);
		}
		iscsi_conn_arm_nop(conn);
	}
	iscsi_conn_leave(conn);
}

/* ---------------- teardown and free ---------------- */

void
iscsi_conn_close(struct iscsi_conn *conn, bool flush)
{
	if (conn->state == ISCSI_CONN_DEAD)
		return;
	if (flush && conn->txq_head != NULL) {
		conn->state = ISCSI_CONN_CLOSING;
		return;
	}
	iscsi_conn_teardown(conn);
}

void
iscsi_conn_teardown(struct iscsi_conn *conn)
{
	struct iscsi_task *task, *next;

	if (conn->state == ISCSI_CONN_DEAD)
		return;
	iscsi_conn_enter(conn);
	conn->state = ISCSI_CONN_DEAD;
	if (conn->registered)
		loop_fd_del(conn->loop, conn->fd);
	conn->registered = false;
	if (conn->fd >= 0)
		close(conn->fd);
	conn->fd = -1;
	if (conn->timer != NULL)
		loop_timer_destroy(conn->timer);
	conn->timer = NULL;
	iscsi_conn_txq_free(conn);
	iscsi_pdu_free(conn->login_parked);
	conn->login_parked = NULL;
	iscsi_rx_fini(&conn->rx);
	iscsi_conn_login_state_free(conn);
	for (task = conn->tasks; task != NULL; task = next) {
		next = task->next;
		iscsi_task_abort(task);
	}
	iscsi_tmf_conn_fini(conn);
	if (conn->sess != NULL)
		iscsi_session_conn_gone(conn->sess, conn);
	iscsi_conn_leave(conn);
}

void
iscsi_conn_maybe_free(struct iscsi_conn *conn)
{
	struct iscsi_session *sess;
	void (*cb)(void *) = NULL;
	void *cb_arg = NULL;

	if (conn->state != ISCSI_CONN_DEAD || conn->busy != 0 ||
	    conn->n_engine != 0 || conn->in_transit)
		return;
	pthread_mutex_lock(&conn_glock);
	if (conn->posts != 0) {
		pthread_mutex_unlock(&conn_glock);
		return;
	}
	if (conn->gprev != NULL)
		conn->gprev->gnext = conn->gnext;
	else
		conn_all = conn->gnext;
	if (conn->gnext != NULL)
		conn->gnext->gprev = conn->gprev;
	if (--conn_n == 0 && conn_zero_cb != NULL) {
		cb = conn_zero_cb;
		cb_arg = conn_zero_arg;
		conn_zero_cb = NULL;
	}
	pthread_mutex_unlock(&conn_glock);

	if (conn->load_counted)
		loop_load_add(conn->loop, -1);
	iscsi_tasks_free_pool(conn);
	sess = conn->sess;
	conn->sess = NULL;
	if (sess != NULL)
		iscsi_session_put(sess);
	iscsi_pdu_pool_destroy(conn->pdu_pool);
	free(conn->rbuf);
	free(conn);
	if (cb != NULL)
		loop_post(loop_get(0), cb, cb_arg);
}

/* ---------------- shutdown ---------------- */

static void
iscsi_conn_close_msg(void *arg)
{
	struct iscsi_conn *conn = arg;

	pthread_mutex_lock(&conn_glock);
	if (conn->loop != loop_current()) {
		/* Moved meanwhile: follow it (after its attach message). */
		if (loop_post(conn->loop, iscsi_conn_close_msg, conn) == 0) {
			pthread_mutex_unlock(&conn_glock);
			return;
		}
	}
	conn->posts--;
	pthread_mutex_unlock(&conn_glock);
	iscsi_conn_enter(conn);
	iscsi_conn_teardown(conn);
	iscsi_conn_leave(conn);
}

void
iscsi_conn_close_all(void)
{
	struct iscsi_conn *conn;

	atomic_store(&conn_stopping, true);
	pthread_mutex_lock(&conn_glock);
	for (conn = conn_all; conn != NULL; conn = conn->gnext) {
		conn->posts++;
		if (loop_post(conn->loop, iscsi_conn_close_msg, conn) != 0)
			conn->posts--;
	}
	pthread_mutex_unlock(&conn_glock);
}

void
iscsi_conn_post_reserve(struct iscsi_conn *conn)
{
	pthread_mutex_lock(&conn_glock);
	conn->posts++;
	pthread_mutex_unlock(&conn_glock);
}

void
iscsi_conn_post_cancel(struct iscsi_conn *conn)
{
	pthread_mutex_lock(&conn_glock);
	conn->posts--;
	pthread_mutex_unlock(&conn_glock);
}

/* With a reservation held; on failure the reservation is still held. */
int
iscsi_conn_post(struct iscsi_conn *conn, void (*fn)(void *), void *arg)
{
	int rc;

	pthread_mutex_lock(&conn_glock);
	rc = loop_post(conn->loop, fn, arg);
	pthread_mutex_unlock(&conn_glock);
	return rc;
}

/* First thing a posted fn does; the caller then brackets its work with
 * iscsi_conn_enter()/iscsi_conn_leave(), which frees a dead connection. */
void
iscsi_conn_post_done(struct iscsi_conn *conn)
{
	iscsi_conn_post_cancel(conn);
}

unsigned int
iscsi_conn_post_all(struct iscsi_conn *self,
    void *(*make)(struct iscsi_conn *, void *), void (*cancel)(void *),
    void *arg, void (*fn)(void *))
{
	struct iscsi_conn *c;
	unsigned int n = 0;
	void *m;

	pthread_mutex_lock(&conn_glock);
	for (c = conn_all; c != NULL; c = c->gnext) {
		if (c == self || (m = make(c, arg)) == NULL)
			continue;
		c->posts++;
		if (loop_post(c->loop, fn, m) != 0) {
			c->posts--;
			cancel(m);
			continue;
		}
		n++;
	}
	pthread_mutex_unlock(&conn_glock);
	return n;
}

bool
iscsi_conn_msg_arrive(struct iscsi_conn *c, void (*fn)(void *), void *m)
{
	pthread_mutex_lock(&conn_glock);
	if (c->loop != loop_current() && loop_post(c->loop, fn, m) == 0) {
		pthread_mutex_unlock(&conn_glock);
		return true;	/* moved meanwhile: follow it */
	}
	c->posts--;
	pthread_mutex_unlock(&conn_glock);
	return false;
}

unsigned int
iscsi_conn_count(void)
{
	unsigned int n;

	pthread_mutex_lock(&conn_glock);
	n = conn_n;
	pthread_mutex_unlock(&conn_glock);
	return n;
}

/* cb runs on loop 0 once no connection is left (at once if none). */
void
iscsi_conn_set_zero_cb(void (*cb)(void *), void *arg)
{
	bool now;

	pthread_mutex_lock(&conn_glock);
	now = conn_n == 0;
	if (!now) {
		conn_zero_cb = cb;
		conn_zero_arg = arg;
	}
	pthread_mutex_unlock(&conn_glock);
	if (now)
		loop_post(loop_get(0), cb, arg);
}
