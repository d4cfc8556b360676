/*
 * iscsi_scsi.c - SCSI Command, Data-Out, R2T, Data-In and SCSI Response
 * (RFC 7143 11.3, 11.4, 11.7, 11.8) and their glue to struct scsi_cmd.
 *
 * A SCSI Command PDU becomes a task from the connection's pool (no malloc
 * once warm except the data buffer, one iovec of EDTL bytes).  The engine
 * sees it through scsi_cmd_prepare(); if that fails the command completes
 * with sense at once and any unsolicited data that follows is dropped.
 * Otherwise immediate and unsolicited data (FirstBurstLength, InitialR2T,
 * ImmediateData) are collected, the rest is solicited with R2Ts (at most
 * MaxOutstandingR2T, each at most MaxBurstLength), and scsi_cmd_execute()
 * runs once everything is in.  done() sends Data-In PDUs cut at the
 * initiator's MaxRecvDataSegmentLength and MaxBurstLength, collapsing GOOD
 * status into the last one, else a SCSI Response with sense.  The task is
 * released when its last PDU is on the wire.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi_conn.h"
#include "log.h"
#include "util.h"

/* SCSI Command byte 1 (RFC 7143 11.3.1) */
#define ISCSI_CMD_READ		0x40
#define ISCSI_CMD_WRITE		0x20
#define ISCSI_CMD_ATTR_MASK	0x07

/* Data-In byte 1 (11.7.1) and SCSI Response byte 1 (11.4.1) */
#define ISCSI_DATAIN_STATUS	0x01
#define ISCSI_FLAG_UNDERFLOW	0x02
#define ISCSI_FLAG_OVERFLOW	0x04

#define ISCSI_AHS_EXT_CDB	1
#define ISCSI_AHS_BIDI_LEN	2

#define ISCSI_CONN_BUF_MAX	(256u << 20)	/* data buffers per conn */
/* Largest EDTL whose buffer is taken as soon as the header is in (a
 * command held for CmdSN order keeps it). */
#define ISCSI_IMM_PLACE_MAX	(256u << 10)

static unsigned int iscsi_scsi_rl;

/* ---------------- task pool ---------------- */

static unsigned int
iscsi_itt_bucket(uint32_t itt)
{
	return (itt ^ (itt >> 8)) & (ISCSI_ITT_HASH - 1);
}

struct iscsi_task *
iscsi_task_find(struct iscsi_conn *conn, uint32_t itt)
{
	struct iscsi_task *task;

	for (task = conn->itt_hash[iscsi_itt_bucket(itt)]; task != NULL;
	    task = task->hnext)
		if (task->itt == itt)
			return task;
	return NULL;
}

static struct iscsi_task *
iscsi_task_get(struct iscsi_conn *conn, uint32_t itt)
{
	struct iscsi_task *task;
	unsigned int b;

	task = conn->task_free;
	if (task != NULL) {
		conn->task_free = task->free_next;
	} else {
		if (conn->n_tasks >= ISCSI_TASKS_MAX)
			return NULL;
		task = xmalloc(sizeof(*task));
		if (task == NULL)
			return NULL;
		conn->n_tasks++;
	}
	memset(task, 0, sizeof(*task));
	task->conn = conn;
	task->itt = itt;
	task->state = ISCSI_TASK_DATA_OUT;
	task->next = conn->tasks;
	if (conn->tasks != NULL)
		conn->tasks->prev = task;
	conn->tasks = task;
	b = iscsi_itt_bucket(itt);
	task->hnext = conn->itt_hash[b];
	conn->itt_hash[b] = task;
	conn->n_live++;
	return task;
}

/* ---------------- data buffers ---------------- */

static int
iscsi_buf_class(uint32_t len)
{
	int c = 0;

	while (c < ISCSI_BUF_CLASSES - 1 &&
	    ((uint32_t)1 << (ISCSI_BUF_MIN_SHIFT + c)) < len)
		c++;
	return ((uint32_t)1 << (ISCSI_BUF_MIN_SHIFT + c)) >= len ? c : -1;
}

/* A buffer of at least len bytes, recycled when possible: a fresh large
 * allocation costs a page fault per 4 KiB, which is most of the time of
 * a 1 MiB READ served from the page cache. */
static void *
iscsi_buf_get(struct iscsi_conn *conn, uint32_t len, bool zero, int *cls)
{
	void *buf;
	int c;

	c = iscsi_buf_class(len);
	*cls = c;
	if (c < 0)
		return zero ? xcalloc(1, len) : xmalloc(len);
	buf = conn->buf_free[c];
	if (buf != NULL) {
		memcpy(&conn->buf_free[c], buf, sizeof(void *));
		conn->buf_cached -= (uint64_t)1 << (ISCSI_BUF_MIN_SHIFT + c);
		if (zero)
			memset(buf, 0, len);
		return buf;
	}
	/* Page aligned, so O_DIRECT backstores (block) need no bounce. */
	len = (uint32_t)1 << (ISCSI_BUF_MIN_SHIFT + c);
	buf = xmalloc_aligned(4096, len);
	if (buf != NULL && zero)
		memset(buf, 0, len);
	return buf;
}

static void
iscsi_buf_put(struct iscsi_conn *conn, void *buf, int c)
{
	uint64_t size;

	if (c < 0) {
		free(buf);
		return;
	}
	size = (uint64_t)1 << (ISCSI_BUF_MIN_SHIFT + c);
	if (conn->state == ISCSI_CONN_DEAD ||
	    conn->buf_cached + size > ISCSI_BUF_CACHE_MAX) {
		free(buf);
		return;
	}
	memcpy(buf, &conn->buf_free[c], sizeof(void *));
	conn->buf_free[c] = buf;
	conn->buf_cached += size;
}

static void
iscsi_bufs_free(struct iscsi_conn *conn)
{
	void *buf;
	int c;

	for (c = 0; c < ISCSI_BUF_CLASSES; c++) {
		while ((buf = conn->buf_free[c]) != NULL) {
			memcpy(&conn->buf_free[c], buf, sizeof(void *));
			free(buf);
		}
	}
	conn->buf_cached = 0;
}

void
iscsi_task_release(struct iscsi_task *task)
{
	struct iscsi_conn *conn = task->conn;
	struct iscsi_task **pp;

	if (task->state == ISCSI_TASK_FREE)
		return;
	if (task->prev != NULL)
		task->prev->next = task->next;
	else
		conn->tasks = task->next;
	if (task->next != NULL)
		task->next->prev = task->prev;
	for (pp = &conn->itt_hash[iscsi_itt_bucket(task->itt)]; *pp != NULL;
	    pp = &(*pp)->hnext) {
		if (*pp == task) {
			*pp = task->hnext;
			break;
		}
	}
	conn->n_live--;
	scsi_cmd_release(&task->cmd);
	if (task->iov.iov_base != NULL) {
		conn->buf_bytes -= task->edtl;
		iscsi_buf_put(conn, task->iov.iov_base, task->buf_class);
	}
	task->iov.iov_base = NULL;
	task->state = ISCSI_TASK_FREE;
	task->free_next = conn->task_free;
	conn->task_free = task;
}

void
iscsi_tasks_free_pool(struct iscsi_conn *conn)
{
	struct iscsi_task *task;

	while ((task = conn->task_free) != NULL) {
		conn->task_free = task->free_next;
		free(task);
	}
	conn->n_tasks = 0;
	iscsi_bufs_free(conn);
}

bool
iscsi_task_abort(struct iscsi_task *task)
{
	struct iscsi_conn *conn = task->conn;

	if (task->state == ISCSI_TASK_ENGINE) {
		if (!task->aborted) {
			task->aborted = true;
			conn->n_engine_aborted++;
			/* long work (copies) stops early */
			scsi_cmd_abort(&task->cmd);
		}
		return true;
	}
	task->aborted = true;
	task->cmd.aborted = true;
	/* A queued response goes out (or is freed with the queue). */
	if (task->state == ISCSI_TASK_DATA_OUT ||
	    conn->state == ISCSI_CONN_DEAD)
		iscsi_task_release(task);
	return false;
}

/* ---------------- responses ---------------- */

static void
iscsi_scsi_rsp_sent(struct iscsi_pdu *pdu)
{
	iscsi_task_release(pdu->priv);
}

/* SCSI Response with an arbitrary status and no task (task set full). */
static void
iscsi_scsi_rsp_status(struct iscsi_conn *conn, uint32_t itt, uint8_t status)
{
	struct iscsi_pdu *pdu;

	pdu = iscsi_conn_pdu_alloc(conn, 0);
	if (pdu == NULL) {
		iscsi_conn_close(conn, false);
		return;
	}
	iscsi_pdu_init_bhs(pdu, ISCSI_OP_SCSI_RSP, true, itt);
	pdu->bhs[3] = status;
	iscsi_conn_send(conn, pdu);
}

/* Residuals (RFC 7143 11.4.5) from the engine's counts (scsi.h):
 * overflow when the CDB asked for more than EDTL, else underflow by what
 * was not moved. */
static void
iscsi_scsi_residual(const struct iscsi_task *task, uint8_t *flags,
    uint32_t *resid)
{
	const struct scsi_cmd *cmd = &task->cmd;
	uint64_t over;

	*flags = 0;
	*resid = 0;
	if (cmd->status != SAM_STAT_GOOD)
		return;
	if (cmd->spdtl > task->edtl) {
		over = cmd->spdtl - task->edtl;
		*flags = ISCSI_FLAG_OVERFLOW;
		*resid = over > UINT32_MAX ? UINT32_MAX : (uint32_t)over;
	} else if (cmd->xfer_len < task->edtl) {
		*flags = ISCSI_FLAG_UNDERFLOW;
		*resid = task->edtl - cmd->xfer_len;
	}
}

static int
iscsi_scsi_send_rsp(struct iscsi_task *task)
{
	struct iscsi_conn *conn = task->conn;
	struct scsi_cmd *cmd = &task->cmd;
	struct iscsi_pdu *pdu;
	uint32_t resid, slen;
	uint8_t flags;

	slen = cmd->sense_len;
	if (slen > SCSI_SENSE_MAX)
		slen = SCSI_SENSE_MAX;
	pdu = iscsi_conn_pdu_alloc(conn, slen != 0 ? slen + 2 : 0);
	if (pdu == NULL)
		return -ENOMEM;
	iscsi_pdu_init_bhs(pdu, ISCSI_OP_SCSI_RSP, true, task->itt);
	iscsi_scsi_residual(task, &flags, &resid);
	pdu->bhs[1] |= flags;
	pdu->bhs[2] = 0;			/* command completed at target */
	pdu->bhs[3] = cmd->status;
	put_be32(pdu->bhs + 36, task->write ? task->r2t_sn : task->data_sn);
	put_be32(pdu->bhs + 44, resid);
	if (slen != 0) {
		put_be16(pdu->data, (uint16_t)slen);
		memcpy(pdu->data + 2, cmd->sense, slen);
	}
	pdu->sent = iscsi_scsi_rsp_sent;
	pdu->priv = task;
	iscsi_conn_send(conn, pdu);
	return 0;
}

/* Data-In (11.7): cut at the peer's MaxRecvDataSegmentLength and at
 * MaxBurstLength (F bit ends each sequence); the last PDU carries the
 * status when it is GOOD without sense. */
static int
iscsi_scsi_send_data_in(struct iscsi_task *task, bool collapse)
{
	struct iscsi_conn *conn = task->conn;
	const struct iscsi_params *p = &conn->sess->params;
	struct scsi_cmd *cmd = &task->cmd;
	struct iscsi_pdu *pdu;
	uint32_t total, off = 0, len, burst_left, resid;
	uint8_t flags;
	bool last;

	total = MIN(cmd->xfer_len, task->edtl);
	burst_left = p->max_burst;
	while (off < total) {
		len = MIN(MIN(p->max_xmit_dsl, total - off), burst_left);
		last = off + len == total;
		pdu = iscsi_conn_pdu_alloc(conn, 0);
		if (pdu == NULL)
			return -ENOMEM;
		iscsi_pdu_init_bhs(pdu, ISCSI_OP_DATA_IN, false, task->itt);
		pdu->data = (uint8_t *)task->iov.iov_base + off;
		pdu->data_len = len;
		pdu->data_borrowed = true;
		burst_left -= len;
		if (last || burst_left == 0)
			pdu->bhs[1] |= ISCSI_FLAG_FINAL;
		if (burst_left == 0)
			burst_left = p->max_burst;
		put_be32(pdu->bhs + ISCSI_BHS_TTT, ISCSI_RSVD_TAG);
		put_be32(pdu->bhs + 36, task->data_sn++);
		put_be32(pdu->bhs + 40, off);
		if (last && collapse) {
			iscsi_scsi_residual(task, &flags, &resid);
			pdu->bhs[1] |= ISCSI_DATAIN_STATUS | flags;
			pdu->bhs[3] = cmd->status;
			put_be32(pdu->bhs + 44, resid);
			pdu->sent = iscsi_scsi_rsp_sent;
			pdu->priv = task;
		}
		iscsi_conn_send(conn, pdu);
		off += len;
	}
	return 0;
}

static void
iscsi_scsi_respond(struct iscsi_task *task)
{
	struct scsi_cmd *cmd = &task->cmd;
	bool collapse;
	int rc = 0;

	task->state = ISCSI_TASK_RESPONDING;
	if (cmd->dir == SCSI_DIR_IN && cmd->xfer_len != 0 && task->edtl != 0 &&
	    task->iov.iov_base != NULL) {
		collapse = cmd->status == SAM_STAT_GOOD && cmd->sense_len == 0;
		rc = iscsi_scsi_send_data_in(task, collapse);
		if (rc == 0 && collapse)
			return;
	}
	if (rc == 0)
		rc = iscsi_scsi_send_rsp(task);
	if (rc != 0) {
		/* Out of memory half way: the initiator cannot recover this
		 * task at ERL 0, so drop the connection. */
		iscsi_conn_close(task->conn, false);
	}
}

/* Engine completion (scsi.h: exactly once, on cmd->loop). */
static void
iscsi_scsi_done(struct scsi_cmd *cmd)
{
	struct iscsi_task *task = cmd->fe_priv;
	struct iscsi_conn *conn = task->conn;
	bool was_engine = task->state == ISCSI_TASK_ENGINE;

	iscsi_conn_enter(conn);
	if (was_engine)
		conn->n_engine--;
	task->state = ISCSI_TASK_RESPONDING;
	if (task->aborted || conn->state == ISCSI_CONN_DEAD ||
	    conn->state == ISCSI_CONN_CLOSING) {
		if (task->aborted && was_engine) {
			conn->n_engine_aborted--;
			iscsi_task_release(task);
			iscsi_tmf_task_done(conn);
		} else {
			iscsi_task_release(task);
		}
	} else {
		iscsi_scsi_respond(task);
	}
	iscsi_conn_leave(conn);
}

static void
iscsi_task_fail(struct iscsi_task *task, enum sense_reason reason)
{
	task->state = ISCSI_TASK_ENGINE;
	task->conn->n_engine++;
	scsi_cmd_fail(&task->cmd, reason);
}

static void
iscsi_task_execute(struct iscsi_task *task)
{
	task->state = ISCSI_TASK_ENGINE;
	task->conn->n_engine++;
	scsi_cmd_execute(&task->cmd);
}

/* ---------------- R2T ---------------- */

static void
iscsi_scsi_send_r2ts(struct iscsi_task *task)
{
	struct iscsi_conn *conn = task->conn;
	const struct iscsi_params *p = &conn->sess->params;
	unsigned int max_out, i;
	struct iscsi_r2t *r;
	struct iscsi_pdu *pdu;

	max_out = MIN(MAX(p->max_outstanding_r2t, 1u), ISCSI_R2T_MAX);
	while (task->r2t_out < max_out && task->r2t_next < task->edtl) {
		for (i = 0; i < ISCSI_R2T_MAX && task->r2t[i].used; i++)
			;
		if (i == ISCSI_R2T_MAX)
			return;
		pdu = iscsi_conn_pdu_alloc(conn, 0);
		if (pdu == NULL) {
			iscsi_conn_close(conn, false);
			return;
		}
		r = &task->r2t[i];
		memset(r, 0, sizeof(*r));
		r->used = true;
		r->offset = task->r2t_next;
		r->len = MIN(p->max_burst, task->edtl - task->r2t_next);
		r->next_off = r->offset;
		r->ttt = conn->next_ttt++;
		if (r->ttt == ISCSI_RSVD_TAG)
			r->ttt = conn->next_ttt++;
		task->r2t_next += r->len;
		task->r2t_out++;
		iscsi_pdu_init_bhs(pdu, ISCSI_OP_R2T, true, task->itt);
		memcpy(pdu->bhs + ISCSI_BHS_LUN, task->lun_raw, 8);
		put_be32(pdu->bhs + ISCSI_BHS_TTT, r->ttt);
		put_be32(pdu->bhs + 36, task->r2t_sn++);
		put_be32(pdu->bhs + 40, r->offset);
		put_be32(pdu->bhs + 44, r->len);
		iscsi_conn_send(conn, pdu);
	}
}

/* Data state changed: solicit more, or run the command. */
static void
iscsi_scsi_data_progress(struct iscsi_task *task)
{
	if (!task->unsol_done)
		return;
	if (task->got >= task->edtl && task->r2t_out == 0) {
		iscsi_task_execute(task);
		return;
	}
	if (task->r2t_next < task->unsol_next)
		task->r2t_next = task->unsol_next;
	iscsi_scsi_send_r2ts(task);
}

/* ---------------- SCSI Command ---------------- */

static enum scsi_task_attr
iscsi_scsi_attr(uint8_t a)
{
	switch (a & ISCSI_CMD_ATTR_MASK) {
	case 2:
		return SCSI_ATTR_ORDERED;
	case 3:
		return SCSI_ATTR_HEAD_OF_QUEUE;
	case 4:
		return SCSI_ATTR_ACA;
	default:
		return SCSI_ATTR_SIMPLE;	/* 0 untagged, 1 simple */
	}
}

/* Extended CDB AHS (11.3.5): returns false on a malformed AHS. */
static bool
iscsi_scsi_parse_ahs(struct iscsi_task *task, const struct iscsi_pdu *pdu,
    bool *bidi_len)
{
	const uint8_t *a = pdu->ahs;
	uint32_t left = pdu->ahs_len, alen, tot;

	*bidi_len = false;
	while (left >= 4) {
		alen = get_be16(a);
		tot = (alen + 3 + 3) & ~3u;	/* length, type + padding */
		if (alen == 0 || tot > left)
			return false;
		if (a[2] == ISCSI_AHS_EXT_CDB) {
			/* reserved byte, then CDB bytes 16.. */
			if (alen - 1 > SCSI_CDB_MAX - 16)
				return false;
			memcpy(task->cmd.cdb + 16, a + 4, alen - 1);
			task->cmd.cdb_len = (uint8_t)(16 + alen - 1);
		} else if (a[2] == ISCSI_AHS_BIDI_LEN) {
			*bidi_len = true;
		}
		a += tot;
		left -= tot;
	}
	return left == 0;
}

void
iscsi_scsi_cmd_rx(struct iscsi_conn *conn, struct iscsi_pdu *pdu)
{
	const struct iscsi_params *p = &conn->sess->params;
	struct iscsi_task *task;
	struct scsi_cmd *cmd;
	uint8_t *bhs = pdu->bhs;
	uint32_t itt = iscsi_pdu_itt(pdu), unsol_max;
	enum sense_reason reason;
	bool rd, wr, bidi_ahs;

	rd = (bhs[1] & ISCSI_CMD_READ) != 0;
	wr = (bhs[1] & ISCSI_CMD_WRITE) != 0;
	if (iscsi_task_find(conn, itt) != NULL) {
		iscsi_reject(conn, bhs, ISCSI_REJECT_TASK_IN_PROGRESS);
		goto out;
	}
	if (pdu->data_len != 0 &&
	    (!wr || !p->immediate_data || pdu->data_len > p->first_burst ||
	    pdu->data_len > get_be32(bhs + 20))) {
		iscsi_reject(conn, bhs, ISCSI_REJECT_PROTOCOL);
		goto out;
	}
	task = iscsi_task_get(conn, itt);
	if (task == NULL) {
		iscsi_scsi_rsp_status(conn, itt, SAM_STAT_TASK_SET_FULL);
		goto out;
	}
	cmd = &task->cmd;
	scsi_cmd_init(cmd);
	cmd->nexus = conn->sess->nexus;
	memcpy(task->lun_raw, bhs + ISCSI_BHS_LUN, 8);
	cmd->lun_id = scsi_lun_decode(task->lun_raw);
	memcpy(cmd->cdb, bhs + 32, 16);
	cmd->cdb_len = 16;
	cmd->attr = iscsi_scsi_attr(bhs[1]);
	cmd->tag = itt;
	cmd->loop = conn->loop;
	cmd->done = iscsi_scsi_done;
	cmd->fe_priv = task;
	task->cmd_sn = get_be32(bhs + ISCSI_BHS_CMDSN);
	task->edtl = get_be32(bhs + 20);
	task->write = wr;
	if (rd && wr)
		cmd->dir = SCSI_DIR_BIDI;
	else if (rd)
		cmd->dir = SCSI_DIR_IN;
	else if (wr)
		cmd->dir = SCSI_DIR_OUT;
	else
		cmd->dir = SCSI_DIR_NONE;
	if (cmd->dir == SCSI_DIR_NONE)
		task->edtl = 0;		/* 11.3.4: no data expected */
	cmd->data_len = task->edtl;
	task->unsol_done = true;

	if (!iscsi_scsi_parse_ahs(task, pdu, &bidi_ahs)) {
		iscsi_task_release(task);
		iscsi_reject(conn, bhs, ISCSI_REJECT_INVALID_FIELD);
		goto out;
	}
	if (cmd->dir == SCSI_DIR_BIDI || bidi_ahs) {
		iscsi_task_fail(task, SENSE_INVALID_FIELD_IN_CDB);
		goto out;
	}
	if (task->edtl > ISCSI_MAX_XFER) {
		if (log_ratelimited(&iscsi_scsi_rl))
			log_warn("iscsi: %s: EDTL %u over %u", conn->peer_ip,
			    task->edtl, ISCSI_MAX_XFER);
		task->edtl = 0;
		cmd->data_len = 0;
		iscsi_task_fail(task, SENSE_INVALID_FIELD_IN_CDB);
		goto out;
	}
	if (task->edtl != 0) {
		if (conn->buf_bytes + task->edtl > ISCSI_CONN_BUF_MAX) {
			task->edtl = 0;
			cmd->data_len = 0;
			iscsi_task_fail(task, SENSE_BUSY);
			goto out;
		}
		if (wr && (pdu->flags & ISCSI_PDU_DATA_POOLED) &&
		    iscsi_buf_class(task->edtl) == pdu->data_class) {
			/* Immediate data already sits in it. */
			task->iov.iov_base = pdu->data;
			task->buf_class = pdu->data_class;
			pdu->data = NULL;
			if (!p->data_pdu_in_order)
				memset((uint8_t *)task->iov.iov_base +
				    pdu->data_len, 0, task->edtl -
				    pdu->data_len);
		} else {
			task->iov.iov_base = iscsi_buf_get(conn, task->edtl,
			    wr && !p->data_pdu_in_order, &task->buf_class);
		}
		if (task->iov.iov_base == NULL) {
			task->edtl = 0;
			cmd->data_len = 0;
			iscsi_task_fail(task, SENSE_BUSY);
			goto out;
		}
		conn->buf_bytes += task->edtl;
		task->iov.iov_len = task->edtl;
		cmd->iov = &task->iov;
		cmd->iov_cnt = 1;
	}
	if (wr) {
		if (pdu->data_len != 0 && pdu->data != NULL)
			memcpy(task->iov.iov_base, pdu->data, pdu->data_len);
		task->got = pdu->data_len;
		task->unsol_next = pdu->data_len;
		unsol_max = MIN(p->first_burst, task->edtl);
		task->unsol_done = (bhs[1] & ISCSI_FLAG_FINAL) ||
		    p->initial_r2t || task->got >= unsol_max;
	}

	reason = scsi_cmd_prepare(cmd);
	if (reason != SENSE_OK) {
		iscsi_task_fail(task, reason);
		goto out;
	}
	task->prepared = true;
	if (wr && task->edtl != 0)
		iscsi_scsi_data_progress(task);
	else
		iscsi_task_execute(task);
out:
	iscsi_pdu_free(pdu);
}

/* ---------------- Data-Out ---------------- */

/* Immediate data of a WRITE goes straight into a buffer the task will
 * adopt (iscsi_scsi_cmd_rx); anything odd takes the ordinary path. */
static uint8_t *
iscsi_scsi_place_imm(struct iscsi_conn *conn, const struct iscsi_pdu *pdu)
{
	uint32_t edtl = get_be32(pdu->bhs + 20);
	uint8_t *buf;
	int c;

	if (!(pdu->bhs[1] & ISCSI_CMD_WRITE) ||
	    (pdu->bhs[1] & ISCSI_CMD_READ) || pdu->ahs_len != 0 ||
	    edtl < pdu->data_len || edtl > ISCSI_IMM_PLACE_MAX ||
	    conn->buf_bytes + edtl > ISCSI_CONN_BUF_MAX)
		return NULL;
	buf = iscsi_buf_get(conn, edtl, false, &c);
	if (buf == NULL || c < 0) {
		free(buf);
		return NULL;
	}
	conn->rx.place_owned = true;
	conn->rx.place_class = (uint8_t)c;
	return buf;
}

/* Zero copy: a Data-Out segment that fits its task goes straight into the
 * task's buffer (checked again in iscsi_scsi_data_out_rx). */
uint8_t *
iscsi_scsi_place(void *arg, const struct iscsi_pdu *pdu)
{
	struct iscsi_conn *conn = arg;
	struct iscsi_task *task;
	uint64_t off, len;

	if (conn->state != ISCSI_CONN_FFP || conn->sess == NULL)
		return NULL;
	if (iscsi_pdu_opcode(pdu) == ISCSI_OP_SCSI_CMD)
		return iscsi_scsi_place_imm(conn, pdu);
	if (iscsi_pdu_opcode(pdu) != ISCSI_OP_DATA_OUT)
		return NULL;
	task = iscsi_task_find(conn, iscsi_pdu_itt(pdu));
	if (task == NULL || task->state != ISCSI_TASK_DATA_OUT ||
	    task->iov.iov_base == NULL)
		return NULL;
	off = get_be32(pdu->bhs + 40);
	len = pdu->data_len;
	if (off + len > task->edtl)
		return NULL;
	return (uint8_t *)task->iov.iov_base + off;
}

static struct iscsi_r2t *
iscsi_task_r2t(struct iscsi_task *task, uint32_t ttt)
{
	unsigned int i;

	for (i = 0; i < ISCSI_R2T_MAX; i++)
		if (task->r2t[i].used && task->r2t[i].ttt == ttt)
			return &task->r2t[i];
	return NULL;
}

static void
iscsi_scsi_copy_in(struct iscsi_task *task, struct iscsi_pdu *pdu,
    uint32_t off)
{
	uint8_t *dst = (uint8_t *)task->iov.iov_base + off;

	if (pdu->data_len != 0 && pdu->data != dst)
		memcpy(dst, pdu->data, pdu->data_len);
}

void
iscsi_scsi_data_out_rx(struct iscsi_conn *conn, struct iscsi_pdu *pdu)
{
	const struct iscsi_params *p = &conn->sess->params;
	struct iscsi_task *task;
	struct iscsi_r2t *r;
	uint32_t ttt, off, len, data_sn;
	bool final;

	task = iscsi_task_find(conn, iscsi_pdu_itt(pdu));
	if (task == NULL || task->state != ISCSI_TASK_DATA_OUT) {
		/* Stale (task failed, aborted or done): drop quietly. */
		goto out;
	}
	ttt = get_be32(pdu->bhs + ISCSI_BHS_TTT);
	off = get_be32(pdu->bhs + 40);
	len = pdu->data_len;
	final = (pdu->bhs[1] & ISCSI_FLAG_FINAL) != 0;
	data_sn = get_be32(pdu->bhs + 36);
	if ((uint64_t)off + len > task->edtl)
		goto protocol;
	if (ttt == ISCSI_RSVD_TAG) {
		if (data_sn != task->unsol_sn++)
			goto datasn;
		if (task->unsol_done ||
		    (uint64_t)off + len > p->first_burst ||
		    (p->data_pdu_in_order && off != task->unsol_next))
			goto protocol;
		iscsi_scsi_copy_in(task, pdu, off);
		task->got += len;
		if (off + len > task->unsol_next)
			task->unsol_next = off + len;
		if (final || task->unsol_next >= MIN(p->first_burst,
		    task->edtl))
			task->unsol_done = true;
	} else {
		r = iscsi_task_r2t(task, ttt);
		if (r == NULL)
			goto out;		/* stale TTT */
		if (data_sn != r->data_sn++)
			goto datasn;
		if (off < r->offset || (uint64_t)off + len >
		    (uint64_t)r->offset + r->len ||
		    (p->data_pdu_in_order && off != r->next_off))
			goto protocol;
		iscsi_scsi_copy_in(task, pdu, off);
		r->got += len;
		r->next_off = off + len;
		task->got += len;
		if (r->got >= r->len) {
			r->used = false;
			task->r2t_out--;
		}
	}
	iscsi_scsi_data_progress(task);
out:
	iscsi_pdu_free(pdu);
	return;
datasn:
	/* A lost, repeated or reordered Data-Out.  ERL 0 cannot recover
	 * within the command (RFC 7143 7.1.4): end the task with CHECK
	 * CONDITION and keep the connection; later Data-Out PDUs for it are
	 * dropped as stale. */
	if (log_ratelimited(&iscsi_scsi_rl))
		log_warn("iscsi: %s: Data-Out DataSN %u out of sequence for "
		    "ITT 0x%x", conn->peer_ip, data_sn, task->itt);
	iscsi_pdu_free(pdu);
	iscsi_task_fail(task, SENSE_ABORTED_COMMAND);
	return;
protocol:
	if (log_ratelimited(&iscsi_scsi_rl))
		log_warn("iscsi: %s: bad Data-Out ITT 0x%x TTT 0x%x offset %u "
		    "length %u", conn->peer_ip, task->itt, ttt, off, len);
	iscsi_reject(conn, pdu->bhs, ISCSI_REJECT_PROTOCOL);
	iscsi_pdu_free(pdu);
}
