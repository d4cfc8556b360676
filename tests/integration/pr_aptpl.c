/*
 * pr_aptpl.c - persistent reservations across a tpcd restart (APTPL).
 *
 * Run in phases by pr_aptpl.sh, with a daemon restart between them:
 *   setup   A and B register with APTPL = 1, A takes EXCLUSIVE ACCESS
 *   verify  (after restart) keys, generation, reservation and its
 *           enforcement are back, and READ FULL STATUS names A's port
 *   unset   A clears, then registers again with APTPL = 0
 *   empty   (after restart) nothing was restored
 *   abort   PREEMPT AND ABORT: B's WRITE waiting for Data-Out is aborted
 *           without a response, B gets 2Ah/05h, the daemon keeps serving
 * Initiators use fixed ISIDs, so the same I_T nexuses log in again.
 */
#include <poll.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest.h"

#define KEY_A	0xa1a2a3a4a5a6a7a8ull
#define KEY_B	0xb1b2b3b4b5b6b7b8ull

static struct iscsi_context *
pr_login_r2t(const char *initiator, uint32_t qual, int r2t)
{
	struct itest_login l;
	struct iscsi_context *ctx;
	const char *err = NULL;

	memset(&l, 0, sizeof(l));
	l.initiator = initiator;
	l.isid_qualifier = qual;
	l.immediate_data = r2t ? 0 : -1;
	l.initial_r2t = r2t ? 1 : -1;
	ctx = itest_connect(&l, &err);
	itest_check(ctx != NULL, "login %s: %s", initiator, err ? err : "ok");
	if (ctx == NULL) {
		itest_end();
		exit(1);
	}
	itest_clear_ua(ctx, itest_lun());
	return ctx;
}

static struct iscsi_context *
pr_login(const char *initiator, uint32_t qual)
{
	return pr_login_r2t(initiator, qual, 0);
}

static int
pr_out(struct iscsi_context *ctx, int sa, int type, uint64_t rk,
    uint64_t sark, int aptpl)
{
	struct scsi_persistent_reserve_out_basic p;
	struct scsi_task *t;
	int status;

	memset(&p, 0, sizeof(p));
	p.reservation_key = rk;
	p.service_action_reservation_key = sark;
	p.aptpl = (uint8_t)aptpl;
	t = iscsi_persistent_reserve_out_sync(ctx, itest_lun(), sa, 0, type,
	    &p);
	if (t == NULL)
		return -1;
	status = t->status;
	scsi_free_scsi_task(t);
	return status;
}

static struct scsi_task *
pr_in(struct iscsi_context *ctx, int sa)
{
	struct scsi_task *t;

	t = iscsi_persistent_reserve_in_sync(ctx, itest_lun(), sa, 8192);
	if (t != NULL && t->status != SCSI_STATUS_GOOD) {
		scsi_free_scsi_task(t);
		t = NULL;
	}
	return t;
}

static int
pr_read_status(struct iscsi_context *ctx)
{
	struct scsi_task *t;
	int status;

	t = iscsi_read10_sync(ctx, itest_lun(), 0, 512, 512, 0, 0, 0, 0, 0);
	if (t == NULL)
		return -1;
	status = t->status;
	scsi_free_scsi_task(t);
	return status;
}

static void
pr_check_keys(struct iscsi_context *ctx, int want, uint32_t gen)
{
	struct scsi_task *t = pr_in(ctx, SCSI_PERSISTENT_RESERVE_READ_KEYS);
	struct scsi_persistent_reserve_in_read_keys *rk;
	bool a = false, b = false;
	int i;

	itest_check(t != NULL, "READ KEYS");
	if (t == NULL)
		return;
	rk = scsi_datain_unmarshall(t);
	itest_check(rk != NULL && rk->num_keys == want, "%d keys registered",
	    want);
	for (i = 0; rk != NULL && i < rk->num_keys; i++) {
		a |= rk->keys[i] == KEY_A;
		b |= rk->keys[i] == KEY_B;
	}
	if (want == 2)
		itest_check(a && b, "keys of A and B are back");
	if (gen != 0)
		itest_check(rk != NULL && rk->prgeneration == gen,
		    "PRgeneration %u (got %u)", gen,
		    rk != NULL ? rk->prgeneration : 0);
	scsi_free_scsi_task(t);
}

static void
pr_setup(void)
{
	struct iscsi_context *a = pr_login(ITEST_INIT_A, 1);
	struct iscsi_context *b = pr_login(ITEST_INIT_B, 2);

	/* start from nothing (a previous run may have left state) */
	pr_out(a, SCSI_PERSISTENT_RESERVE_REGISTER_AND_IGNORE_EXISTING_KEY,
	    0, 0, KEY_A, 0);
	pr_out(a, SCSI_PERSISTENT_RESERVE_CLEAR, 0, KEY_A, 0, 0);
	itest_check(pr_out(a, SCSI_PERSISTENT_RESERVE_REGISTER, 0, 0, KEY_A,
	    1) == SCSI_STATUS_GOOD, "A registers with APTPL");
	itest_check(pr_out(b,
	    SCSI_PERSISTENT_RESERVE_REGISTER_AND_IGNORE_EXISTING_KEY, 0, 0,
	    KEY_B, 1) == SCSI_STATUS_GOOD, "B registers with APTPL");
	itest_check(pr_out(a, SCSI_PERSISTENT_RESERVE_RESERVE,
	    SCSI_PERSISTENT_RESERVE_TYPE_EXCLUSIVE_ACCESS, KEY_A, 0, 0) ==
	    SCSI_STATUS_GOOD, "A reserves EXCLUSIVE ACCESS");
	itest_check(pr_read_status(b) == SCSI_STATUS_RESERVATION_CONFLICT,
	    "B's READ conflicts");
	pr_check_keys(a, 2, 0);
	itest_close(a);
	itest_close(b);
}

static void
pr_verify(void)
{
	struct iscsi_context *a = pr_login(ITEST_INIT_A, 1);
	struct iscsi_context *b = pr_login(ITEST_INIT_B, 2);
	struct scsi_persistent_reserve_in_read_reservation *rr;
	struct scsi_task *t;
	const char *want = ITEST_INIT_A ",i,0x";
	bool found = false;
	size_t i;

	/* setup: REGISTER AND IGNORE, CLEAR, 2 REGISTERs: generation 4 */
	pr_check_keys(a, 2, 4);
	t = pr_in(a, SCSI_PERSISTENT_RESERVE_READ_RESERVATION);
	rr = t != NULL ? scsi_datain_unmarshall(t) : NULL;
	itest_check(rr != NULL && rr->reserved && rr->reservation_key ==
	    KEY_A && rr->pr_type ==
	    SCSI_PERSISTENT_RESERVE_TYPE_EXCLUSIVE_ACCESS,
	    "A's EXCLUSIVE ACCESS reservation is back");
	if (t != NULL)
		scsi_free_scsi_task(t);
	itest_check(pr_read_status(a) == SCSI_STATUS_GOOD,
	    "A (holder, logged in again) reads");
	itest_check(pr_read_status(b) == SCSI_STATUS_RESERVATION_CONFLICT,
	    "B's READ still conflicts");
	t = pr_in(a, SCSI_PERSISTENT_RESERVE_READ_FULL_STATUS);
	itest_check(t != NULL && t->datain.size > 8,
	    "READ FULL STATUS returns descriptors");
	for (i = 8; t != NULL && i + strlen(want) <= (size_t)t->datain.size;
	    i++)
		if (memcmp(t->datain.data + i, want, strlen(want)) == 0)
			found = true;
	itest_check(found, "READ FULL STATUS names %s<isid>", want);
	if (t != NULL)
		scsi_free_scsi_task(t);
	itest_close(a);
	itest_close(b);
}

static void
pr_unset(void)
{
	struct iscsi_context *a = pr_login(ITEST_INIT_A, 1);

	itest_check(pr_out(a, SCSI_PERSISTENT_RESERVE_CLEAR, 0, KEY_A, 0, 0) ==
	    SCSI_STATUS_GOOD, "A clears");
	itest_check(pr_out(a, SCSI_PERSISTENT_RESERVE_REGISTER, 0, 0, KEY_A,
	    0) == SCSI_STATUS_GOOD, "A registers with APTPL = 0");
	pr_check_keys(a, 1, 0);
	itest_close(a);
}

static void
pr_empty(void)
{
	struct iscsi_context *a = pr_login(ITEST_INIT_A, 1);
	struct iscsi_context *b = pr_login(ITEST_INIT_B, 2);

	pr_check_keys(a, 0, 0);
	itest_check(pr_read_status(b) == SCSI_STATUS_GOOD,
	    "no reservation after a restart without APTPL");
	itest_close(a);
	itest_close(b);
}

struct pr_io {
	int		 done;
	int		 status;
};

static void
pr_io_cb(struct iscsi_context *ctx, int status, void *data, void *priv)
{
	struct pr_io *io = priv;

	(void)ctx;
	io->status = status;
	io->done = 1;
	scsi_free_scsi_task(data);
}

/* PREEMPT AND ABORT (SPC-4 5.13.11.2.5): the preempted nexus's tasks on
 * the LU end without a response (TAS=0). */
static void
pr_abort(void)
{
	static uint8_t buf[1024 * 1024];
	struct iscsi_context *a = pr_login(ITEST_INIT_A, 1);
	struct iscsi_context *b = pr_login_r2t(ITEST_INIT_B, 2, 1);
	struct pr_io io = { 0 };
	struct scsi_task *t;
	struct pollfd pfd;
	bool ua = false;
	uint32_t bs = 512;
	uint64_t nb;
	int i;

	pr_out(a, SCSI_PERSISTENT_RESERVE_REGISTER_AND_IGNORE_EXISTING_KEY,
	    0, 0, KEY_A, 0);
	pr_out(a, SCSI_PERSISTENT_RESERVE_CLEAR, 0, KEY_A, 0, 0);
	itest_check(pr_out(a, SCSI_PERSISTENT_RESERVE_REGISTER, 0, 0, KEY_A,
	    0) == SCSI_STATUS_GOOD, "abort: A registers");
	itest_check(pr_out(b, SCSI_PERSISTENT_RESERVE_REGISTER, 0, 0, KEY_B,
	    0) == SCSI_STATUS_GOOD, "abort: B registers");
	/* B: a WRITE the target holds waiting for Data-Out (InitialR2T,
	 * no immediate data, the R2T left unanswered). */
	itest_check(itest_capacity(b, itest_lun(), &bs, &nb) == 0 &&
	    nb * bs >= sizeof(buf), "abort: LUN holds 1 MiB");
	t = iscsi_write10_task(b, itest_lun(), 0, buf, sizeof(buf), (int)bs, 0,
	    0, 0, 0, 0, pr_io_cb, &io);
	itest_check(t != NULL, "abort: B's WRITE sent");
	for (i = 0; t != NULL && i < 4; i++)
		(void)iscsi_service(b, POLLOUT);
	pfd.fd = iscsi_get_fd(b);
	pfd.events = POLLIN;
	pfd.revents = 0;
	itest_check(t != NULL && poll(&pfd, 1, 10000) == 1,
	    "abort: the target holds B's WRITE (R2T came)");
	itest_check(pr_out(a, SCSI_PERSISTENT_RESERVE_PREEMPT_AND_ABORT,
	    SCSI_PERSISTENT_RESERVE_TYPE_WRITE_EXCLUSIVE, KEY_A, KEY_B, 0) ==
	    SCSI_STATUS_GOOD, "abort: A preempts and aborts B");
	itest_check(itest_wait(b, &io.done, 1500) != 0 && !io.done,
	    "abort: B's WRITE was aborted without a response");
	for (i = 0; i < 4; i++) {
		t = iscsi_testunitready_sync(b, itest_lun());
		if (t == NULL)
			break;
		if (t->status == SCSI_STATUS_CHECK_CONDITION &&
		    t->sense.key == SCSI_SENSE_UNIT_ATTENTION &&
		    t->sense.ascq == 0x2a05)
			ua = true;
		i = t->status == SCSI_STATUS_GOOD ? 4 : i;
		scsi_free_scsi_task(t);
	}
	itest_check(ua, "abort: B gets UNIT ATTENTION 2Ah/05h");
	pr_check_keys(a, 1, 0);
	itest_check(pr_out(a, SCSI_PERSISTENT_RESERVE_CLEAR, 0, KEY_A, 0, 0) ==
	    SCSI_STATUS_GOOD, "abort: A clears");
	itest_check(pr_read_status(a) == SCSI_STATUS_GOOD,
	    "abort: the daemon keeps serving");
	itest_check(itest_daemon_alive(), "abort: daemon still running");
	itest_close(a);
	/* The aborted WRITE is still queued in libiscsi: drop the context
	 * without waiting for it. */
	iscsi_disconnect(b);
	iscsi_destroy_context(b);
}

int
main(int argc, char **argv)
{
	const char *phase = argc > 1 ? argv[1] : "";

	itest_begin("pr_aptpl", 60);
	if (strcmp(phase, "setup") == 0)
		pr_setup();
	else if (strcmp(phase, "verify") == 0)
		pr_verify();
	else if (strcmp(phase, "unset") == 0)
		pr_unset();
	else if (strcmp(phase, "empty") == 0)
		pr_empty();
	else if (strcmp(phase, "abort") == 0)
		pr_abort();
	else
		itest_check(false, "usage: pr_aptpl setup|verify|unset|empty|abort");
	return itest_end();
}
