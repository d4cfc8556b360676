/*
 * tmf.c - task management: ABORT TASK on a command in flight, ABORT TASK
 * for a task that does not exist, LOGICAL UNIT RESET (and the unit
 * attention it leaves for the other I_T nexus), and the session keeps
 * working after each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	itest_close(ctx);
	itest_check(itest_daemon_alive(), "daemon still running");
	return itest_end();
}
