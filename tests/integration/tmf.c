/*
 * tmf.c - task management: ABORT TASK on a command in flight, ABORT TASK
 * for a task that does not exist, LOGICAL UNIT RESET (and the unit
 * attention it leaves for the other I_T nexus), LOGICAL UNIT RESET and
 * CLEAR TASK SET aborting another nexus's task without a response, and
 * the session keeps working after each; last, TARGET COLD RESET drops
 * every connection to the target.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "itest.h"

#define BIG	(8 * 1024 * 1024)
#define NCMD	4

struct tmf_state {
	int		done;
	int		status;
	uint32_t	response;
};

struct io_state {
	int		done;
	int		status;
};

static void
tmf_cb(struct iscsi_context *ctx, int status, void *data, void *priv)
{
	struct tmf_state *s = priv;

	(void)ctx;
	s->status = status;
	if (data)
		s->response = *(uint32_t *)data;
	s->done = 1;
}

static void
io_cb(struct iscsi_context *ctx, int status, void *data, void *priv)
{
	struct io_state *s = priv;

	(void)ctx;
	s->status = status;
	s->done = 1;
	scsi_free_scsi_task(data);
}

static void
test_abort(struct iscsi_context *ctx, int lun, uint32_t bs)
{
	struct io_state io[NCMD];
	struct scsi_task *tasks[NCMD];
	struct tmf_state tmf = { 0 };
	uint8_t *buf = malloc(BIG);
	int i, all;

	if (buf == NULL)
		return;
	itest_fill(buf, BIG, 5);
	memset(io, 0, sizeof(io));
	for (i = 0; i < NCMD; i++)
		tasks[i] = iscsi_write16_task(ctx, lun,
		    (uint64_t)i * BIG / bs, buf, BIG, (int)bs, 0, 0, 0, 0, 0,
		    io_cb, &io[i]);
	itest_check(tasks[NCMD - 1] != NULL, "abort: %d x 8 MiB WRITE queued",
	    NCMD);
	if (tasks[NCMD - 1] == NULL) {
		free(buf);
		return;
	}
	itest_check(iscsi_task_mgmt_abort_task_async(ctx, tasks[NCMD - 1],
	    tmf_cb, &tmf) == 0, "abort: ABORT TASK sent");
	itest_check(itest_wait(ctx, &tmf.done, 15000) == 0 &&
	    tmf.status == SCSI_STATUS_GOOD, "abort: TMF response received");
	itest_check(tmf.response == ISCSI_TMR_FUNC_COMPLETE ||
	    tmf.response == ISCSI_TMR_TASK_DOES_NOT_EXIST,
	    "abort: response is 'function complete' or 'task does not "
	    "exist' (%u)", tmf.response);
	/* Wait for the other writes. */
	for (i = 0; i < NCMD; i++)
		itest_wait(ctx, &io[i].done, 15000);
	for (all = 1, i = 0; i < NCMD - 1; i++)
		all &= io[i].done && io[i].status == SCSI_STATUS_GOOD;
	itest_check(all, "abort: the other writes completed GOOD");
	itest_check(io[NCMD - 1].done, "abort: aborted task finished "
	    "(status %d)", io[NCMD - 1].status);
	itest_check(itest_clear_ua(ctx, lun) == 0,
	    "abort: session still serves commands");

	memset(&tmf, 0, sizeof(tmf));
	tmf.response = 0xffff;
	itest_check(iscsi_task_mgmt_async(ctx, lun, ISCSI_TM_ABORT_TASK,
	    0x0badf00d, 0, tmf_cb, &tmf) == 0 &&
	    itest_wait(ctx, &tmf.done, 15000) == 0 &&
	    tmf.status == SCSI_STATUS_GOOD,
	    "abort unknown task: TMF response received");
	itest_check(tmf.response == ISCSI_TMR_TASK_DOES_NOT_EXIST ||
	    tmf.response == ISCSI_TMR_FUNC_COMPLETE,
	    "abort unknown task: 'task does not exist' or 'function "
	    "complete' (%u)", tmf.response);
	free(buf);
}

static bool
saw_reset_ua(struct iscsi_context *ctx, int lun)
{
	int i;
	bool seen = false;

	for (i = 0; i < 8; i++) {
		struct scsi_task *t = iscsi_testunitready_sync(ctx, lun);
		int st;

		if (t == NULL)
			return false;
		st = t->status;
		if (st == SCSI_STATUS_CHECK_CONDITION) {
			itest_note("TUR after reset: sense %d/%04x",
			    t->sense.key, t->sense.ascq);
			if (t->sense.key == SCSI_SENSE_UNIT_ATTENTION &&
			    (t->sense.ascq >> 8) == 0x29)
				seen = true;
		}
		scsi_free_scsi_task(t);
		if (st == SCSI_STATUS_GOOD)
			break;
	}
	return seen;
}

static void
test_lun_reset(struct iscsi_context *c1, int lun)
{
	struct iscsi_context *c2 = itest_connect_default(ITEST_INIT_A);
	struct tmf_state tmf = { 0 };

	itest_check(c2 != NULL, "lun reset: second I_T nexus logged in");
	if (c2 == NULL)
		return;
	itest_clear_ua(c2, lun);
	itest_check(iscsi_task_mgmt_lun_reset_async(c1, (uint32_t)lun, tmf_cb,
	    &tmf) == 0 && itest_wait(c1, &tmf.done, 15000) == 0 &&
	    tmf.status == SCSI_STATUS_GOOD, "lun reset: TMF response received");
	itest_check(tmf.response == ISCSI_TMR_FUNC_COMPLETE,
	    "lun reset: function complete (%u)", tmf.response);
	itest_check(saw_reset_ua(c2, lun), "lun reset: other nexus gets "
	    "UNIT ATTENTION 29h/xx (reset occurred)");
	itest_check(itest_clear_ua(c2, lun) == 0,
	    "lun reset: other nexus serves commands after the UA");
	itest_check(itest_clear_ua(c1, lun) == 0,
	    "lun reset: issuing nexus serves commands");
	itest_close(c2);
}

/* A WRITE on ctx that waits for Data-Out at the target (InitialR2T=Yes,
 * no immediate data, R2T not answered yet). */
static struct scsi_task *
stalled_write(struct iscsi_context *ctx, int lun, uint32_t bs, uint8_t *buf,
    struct io_state *io)
{
	struct scsi_task *t;
	struct pollfd pfd;
	int i;

	t = iscsi_write16_task(ctx, lun, 0, buf, 1024 * 1024, (int)bs, 0, 0,
	    0, 0, 0, io_cb, io);
	for (i = 0; t != NULL && i < 4; i++)
		(void)iscsi_service(ctx, POLLOUT);
	/* The R2T arriving (socket readable, not serviced) shows the
	 * target holds the task, waiting for data. */
	pfd.fd = iscsi_get_fd(ctx);
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (t != NULL && poll(&pfd, 1, 10000) != 1)
		itest_note("no R2T within 10 s");
	return t;
}

static struct iscsi_context *
connect_r2t(const char *initiator)
{
	struct itest_login l = {
		.initiator = initiator, .immediate_data = 0,
		.initial_r2t = 1,
	};
	const char *err;

	return itest_connect(&l, &err);
}

/* LOGICAL UNIT RESET and CLEAR TASK SET from one session abort the tasks
 * another session has on the LU: no response for them (TAS=0), a unit
 * attention 29h/03h for a LU reset, and the TMF response comes after. */
static void
test_cross_nexus(struct iscsi_context *c1, int lun, uint32_t bs,
    enum iscsi_task_mgmt_funcs func, const char *what)
{
	struct iscsi_context *c2 = connect_r2t(ITEST_INIT_A);
	struct tmf_state tmf = { 0 };
	struct io_state io = { 0 };
	static uint8_t buf[1024 * 1024];

	itest_check(c2 != NULL, "%s: second I_T nexus logged in", what);
	if (c2 == NULL)
		return;
	itest_clear_ua(c2, lun);
	itest_check(stalled_write(c2, lun, bs, buf, &io) != NULL,
	    "%s: other nexus has a WRITE waiting for data", what);
	itest_check(iscsi_task_mgmt_async(c1, lun, func, 0xffffffff, 0,
	    tmf_cb, &tmf) == 0 && itest_wait(c1, &tmf.done, 15000) == 0 &&
	    tmf.status == SCSI_STATUS_GOOD, "%s: TMF response received",
	    what);
	itest_check(tmf.response == ISCSI_TMR_FUNC_COMPLETE,
	    "%s: function complete (%u)", what, tmf.response);
	itest_check(itest_wait(c2, &io.done, 1500) != 0 && !io.done,
	    "%s: the other nexus's WRITE was aborted without a response",
	    what);
	if (func == ISCSI_TM_LUN_RESET)
		itest_check(saw_reset_ua(c2, lun), "%s: other nexus gets "
		    "UNIT ATTENTION 29h/xx", what);
	itest_check(itest_clear_ua(c2, lun) == 0,
	    "%s: other nexus serves commands afterwards", what);
	itest_check(itest_clear_ua(c1, lun) == 0,
	    "%s: issuing nexus serves commands", what);
	/* The aborted task is still queued in libiscsi: drop the context
	 * without waiting for it. */
	iscsi_disconnect(c2);
	iscsi_destroy_context(c2);
}

/* TARGET COLD RESET: response, then every connection to the target is
 * dropped (RFC 7143 11.5.1), the issuer's and the others'. */
static void
test_cold_reset(int lun)
{
	struct iscsi_context *c1 = itest_connect_default(ITEST_INIT_B);
	struct iscsi_context *c2 = itest_connect_default(ITEST_INIT_A);
	struct iscsi_context *c3;
	struct tmf_state tmf = { 0 };
	struct scsi_task *t;

	itest_check(c1 != NULL && c2 != NULL, "cold reset: two sessions");
	if (c1 == NULL || c2 == NULL)
		goto out;
	itest_clear_ua(c1, lun);
	itest_clear_ua(c2, lun);
	itest_check(iscsi_task_mgmt_async(c1, lun, ISCSI_TM_TARGET_COLD_RESET,
	    0xffffffff, 0, tmf_cb, &tmf) == 0 &&
	    itest_wait(c1, &tmf.done, 15000) == 0 &&
	    tmf.status == SCSI_STATUS_GOOD, "cold reset: TMF response received");
	itest_check(tmf.response == ISCSI_TMR_FUNC_COMPLETE,
	    "cold reset: function complete (%u)", tmf.response);
	usleep(300 * 1000);
	t = iscsi_testunitready_sync(c2, lun);
	itest_check(t == NULL || t->status != SCSI_STATUS_GOOD,
	    "cold reset: other session's connection dropped");
	if (t)
		scsi_free_scsi_task(t);
	t = iscsi_testunitready_sync(c1, lun);
	itest_check(t == NULL || t->status != SCSI_STATUS_GOOD,
	    "cold reset: issuer's connection dropped");
	if (t)
		scsi_free_scsi_task(t);
	c3 = itest_connect_default(ITEST_INIT_A);
	itest_check(c3 != NULL && saw_reset_ua(c3, lun),
	    "cold reset: new session sees UNIT ATTENTION 29h/xx");
	if (c3)
		itest_close(c3);
out:
	if (c1) {
		iscsi_disconnect(c1);
		iscsi_destroy_context(c1);
	}
	if (c2) {
		iscsi_disconnect(c2);
		iscsi_destroy_context(c2);
	}
}

int
main(void)
{
	struct iscsi_context *ctx;
	uint32_t bs = 512;
	uint64_t nb;
	int lun;

	itest_begin("tmf", 240);
	lun = itest_lun();
	ctx = itest_connect_default(ITEST_INIT_B);
	itest_check(ctx != NULL, "login");
	if (ctx == NULL)
		return itest_end();
	itest_clear_ua(ctx, lun);
	itest_check(itest_capacity(ctx, lun, &bs, &nb) == 0 &&
	    nb * bs >= (uint64_t)NCMD * BIG, "LUN holds %d x 8 MiB", NCMD);
	test_abort(ctx, lun, bs);
	test_lun_reset(ctx, lun);
	test_cross_nexus(ctx, lun, bs, ISCSI_TM_LUN_RESET, "cross lun reset");
	test_cross_nexus(ctx, lun, bs, ISCSI_TM_CLEAR_TASK_SET,
	    "cross clear task set");
	itest_close(ctx);
	test_cold_reset(lun);
	itest_check(itest_daemon_alive(), "daemon still running");
	return itest_end();
}
