/*
 * itest.c - shared helpers of the libiscsi integration tests.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "itest.h"

int itest_failures;
static int itest_checks;
static const char *itest_name = "itest";

static void
itest_timeout(int sig)
{
	static const char msg[] = "FAIL: test timed out\n";

	(void)sig;
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	_exit(3);
}

void
itest_begin(const char *name, unsigned int timeout_s)
{
	itest_name = name;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, itest_timeout);
	signal(SIGPIPE, SIG_IGN);
	alarm(timeout_s);
	printf("%s: portal %s target %s lun %d\n", name, itest_portal(),
	    itest_target(), itest_lun());
}

int
itest_end(void)
{
	printf("%s: %d checks, %d failed\n", itest_name, itest_checks,
	    itest_failures);
	return itest_failures ? 1 : 0;
}

void
itest_check(bool ok, const char *fmt, ...)
{
	va_list ap;

	itest_checks++;
	if (!ok)
		itest_failures++;
	fputs(ok ? "ok: " : "FAIL: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

void
itest_note(const char *fmt, ...)
{
	va_list ap;

	fputs("  # ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

const char *
itest_env(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

const char *
itest_portal(void)
{
	return itest_env("ITEST_PORTAL",
	    itest_env("TPCD_PORTAL", "127.0.0.1:3260"));
}

const char *
itest_target(void)
{
	return itest_env("ITEST_TARGET", ITEST_DEFAULT_IQN);
}

int
itest_lun(void)
{
	return atoi(itest_env("ITEST_LUN", "0"));
}

struct iscsi_context *
itest_connect(const struct itest_login *l, const char **err)
{
	struct iscsi_context *ctx;
	const char *ini = l->initiator ? l->initiator : ITEST_INIT_A;
	static char errbuf[512];

	*err = NULL;
	ctx = iscsi_create_context(ini);
	if (ctx == NULL) {
		*err = "iscsi_create_context failed";
		return NULL;
	}
	iscsi_set_noautoreconnect(ctx, 1);
	iscsi_set_timeout(ctx, 15);
	if (l->isid_qualifier)
		iscsi_set_isid_random(ctx, 0x123456, l->isid_qualifier);
	if (l->discovery) {
		iscsi_set_session_type(ctx, ISCSI_SESSION_DISCOVERY);
	} else {
		iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL);
		iscsi_set_targetname(ctx,
		    l->target ? l->target : itest_target());
	}
	iscsi_set_header_digest(ctx, l->header_digest ?
	    ISCSI_HEADER_DIGEST_CRC32C : ISCSI_HEADER_DIGEST_NONE);
	if (l->immediate_data >= 0)
		iscsi_set_immediate_data(ctx, l->immediate_data ?
		    ISCSI_IMMEDIATE_DATA_YES : ISCSI_IMMEDIATE_DATA_NO);
	if (l->initial_r2t >= 0)
		iscsi_set_initial_r2t(ctx, l->initial_r2t ?
		    ISCSI_INITIAL_R2T_YES : ISCSI_INITIAL_R2T_NO);
	if (l->user)
		iscsi_set_initiator_username_pwd(ctx, l->user, l->password);
	if (l->tuser)
		iscsi_set_target_username_pwd(ctx, l->tuser, l->tpassword);
	if (iscsi_connect_sync(ctx, itest_portal()) != 0 ||
	    iscsi_login_sync(ctx) != 0) {
		snprintf(errbuf, sizeof(errbuf), "%s", iscsi_get_error(ctx));
		*err = errbuf;
		iscsi_destroy_context(ctx);
		return NULL;
	}
	return ctx;
}

struct iscsi_context *
itest_connect_default(const char *initiator)
{
	struct itest_login l = {
		.initiator = initiator, .immediate_data = -1,
		.initial_r2t = -1,
	};
	const char *err;
	struct iscsi_context *ctx = itest_connect(&l, &err);

	if (ctx == NULL)
		itest_note("login to %s failed: %s", itest_target(), err);
	return ctx;
}

void
itest_close(struct iscsi_context *ctx)
{
	if (ctx == NULL)
		return;
	if (iscsi_is_logged_in(ctx))
		iscsi_logout_sync(ctx);
	iscsi_disconnect(ctx);
	iscsi_destroy_context(ctx);
}

int
itest_clear_ua(struct iscsi_context *ctx, int lun)
{
	int i;

	for (i = 0; i < 8; i++) {
		struct scsi_task *t = iscsi_testunitready_sync(ctx, lun);
		int st;

		if (t == NULL)
			return -1;
		st = t->status;
		scsi_free_scsi_task(t);
		if (st == SCSI_STATUS_GOOD)
			return 0;
		if (st != SCSI_STATUS_CHECK_CONDITION)
			return -1;
	}
	return -1;
}

bool
itest_saw_ua(struct iscsi_context *ctx, int lun, int want_ascq)
{
	bool seen = false;
	int i;

	for (i = 0; i < 8; i++) {
		struct scsi_task *t = iscsi_testunitready_sync(ctx, lun);

		if (t == NULL)
			return false;
		if (t->status == SCSI_STATUS_GOOD) {
			scsi_free_scsi_task(t);
			break;
		}
		if (t->status == SCSI_STATUS_CHECK_CONDITION) {
			itest_note("TUR: sense key %d asc/ascq %04x",
			    t->sense.key, t->sense.ascq);
			if (t->sense.key == SCSI_SENSE_UNIT_ATTENTION &&
			    t->sense.ascq == want_ascq)
				seen = true;
		}
		scsi_free_scsi_task(t);
	}
	return seen;
}

int
itest_capacity(struct iscsi_context *ctx, int lun, uint32_t *bs,
    uint64_t *nblocks)
{
	struct scsi_task *t = iscsi_readcapacity16_sync(ctx, lun);
	struct scsi_readcapacity16 *rc;

	if (t == NULL)
		return -1;
	if (t->status != SCSI_STATUS_GOOD ||
	    (rc = scsi_datain_unmarshall(t)) == NULL) {
		scsi_free_scsi_task(t);
		return -1;
	}
	*bs = rc->block_length;
	*nblocks = rc->returned_lba + 1;
	scsi_free_scsi_task(t);
	return 0;
}

int
itest_report_luns(struct iscsi_context *ctx, uint16_t *luns, int max)
{
	struct scsi_task *t;
	struct scsi_reportluns_list *rl;
	int i, n;

	for (i = 0; i < 4; i++) {
		t = iscsi_reportluns_sync(ctx, 0, 16384);
		if (t == NULL)
			return -1;
		if (t->status == SCSI_STATUS_GOOD)
			break;
		/* A pending unit attention may come first. */
		scsi_free_scsi_task(t);
		t = NULL;
	}
	if (t == NULL)
		return -1;
	rl = scsi_datain_unmarshall(t);
	if (rl == NULL) {
		scsi_free_scsi_task(t);
		return -1;
	}
	n = (int)rl->num;
	for (i = 0; i < n && i < max; i++)
		luns[i] = rl->luns[i];
	scsi_free_scsi_task(t);
	return n;
}

int
itest_write(struct iscsi_context *ctx, int lun, uint64_t lba,
    const uint8_t *buf, uint32_t len, uint32_t bs)
{
	struct scsi_task *t;
	int rc;

	t = iscsi_write16_sync(ctx, lun, lba, (unsigned char *)buf, len, bs,
	    0, 0, 0, 0, 0);
	if (t == NULL)
		return -1;
	rc = t->status == SCSI_STATUS_GOOD ? 0 : -1;
	if (rc)
		itest_note("WRITE(16) lba %llu len %u: status %d sense %d/%04x",
		    (unsigned long long)lba, len, t->status, t->sense.key,
		    t->sense.ascq);
	scsi_free_scsi_task(t);
	return rc;
}

int
itest_read(struct iscsi_context *ctx, int lun, uint64_t lba, uint8_t *buf,
    uint32_t len, uint32_t bs)
{
	struct scsi_task *t;
	int rc = -1;

	t = iscsi_read16_sync(ctx, lun, lba, len, bs, 0, 0, 0, 0, 0);
	if (t == NULL)
		return -1;
	if (t->status == SCSI_STATUS_GOOD && t->datain.size == (int)len) {
		memcpy(buf, t->datain.data, len);
		rc = 0;
	} else {
		itest_note("READ(16) lba %llu len %u: status %d got %d bytes",
		    (unsigned long long)lba, len, t->status, t->datain.size);
	}
	scsi_free_scsi_task(t);
	return rc;
}

void
itest_fill(uint8_t *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
	size_t i;

	for (i = 0; i < len; i++) {
		if ((i & 7) == 0) {
			/* xorshift64 */
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
		}
		buf[i] = (uint8_t)(x >> ((i & 7) * 8));
	}
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
itest_wait(struct iscsi_context *ctx, const int *done, int timeout_ms)
{
	long long end = now_ms() + timeout_ms;

	while (!*done) {
		struct pollfd pfd;
		int n;

		if (now_ms() > end)
			return -ETIMEDOUT;
		pfd.fd = iscsi_get_fd(ctx);
		pfd.events = (short)iscsi_which_events(ctx);
		pfd.revents = 0;
		n = poll(&pfd, 1, 100);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (iscsi_service(ctx, n > 0 ? pfd.revents : 0) < 0)
			return -EIO;
	}
	return 0;
}

bool
itest_daemon_alive(void)
{
	const char *p = getenv("TPCD_PID");

	if (p == NULL || *p == '\0')
		return true;
	return kill((pid_t)atoi(p), 0) == 0;
}

int
itest_reconf(const char *what)
{
	const char *cmd = getenv("ITEST_RECONF");
	char buf[1024];
	int st;

	if (cmd == NULL || *cmd == '\0')
		return -ENOTSUP;
	snprintf(buf, sizeof(buf), "%s %s", cmd, what);
	st = system(buf);
	return st == 0 ? 0 : -EIO;
}

int
itest_cmd(struct iscsi_context *ctx, int lun, const uint8_t *cdb16,
    const uint8_t *out, uint32_t olen, uint32_t ilen, struct itest_res *r)
{
	struct iscsi_data d = { .size = olen, .data = (unsigned char *)out };
	struct scsi_task *t;
	uint8_t cdb[16];
	int n;

	memset(r, 0, sizeof(*r));
	memcpy(cdb, cdb16, 16);
	t = scsi_create_task(16, cdb, olen ? SCSI_XFER_WRITE :
	    (ilen ? SCSI_XFER_READ : SCSI_XFER_NONE), olen ? olen : ilen);
	if (t == NULL) {
		r->status = -1;
		return -1;
	}
	if (iscsi_scsi_command_sync(ctx, lun, t, olen ? &d : NULL) == NULL) {
		scsi_free_scsi_task(t);
		r->status = -1;
		return -1;
	}
	r->status = t->status;
	r->key = t->sense.key;
	r->asc = (t->sense.ascq >> 8) & 0xff;
	r->ascq = t->sense.ascq & 0xff;
	r->sksv = t->sense.sense_specific;
	r->field = t->sense.field_pointer;
	r->bit = t->sense.bit_pointer_valid ? t->sense.bit_pointer : -1;
	if (t->status == SCSI_STATUS_CHECK_CONDITION && t->datain.size > 2) {
		n = itest_be16(t->datain.data);
		if (n > t->datain.size - 2)
			n = t->datain.size - 2;
		if (n > (int)sizeof(r->raw))
			n = (int)sizeof(r->raw);
		r->raw_len = n;
		memcpy(r->raw, t->datain.data + 2, (size_t)n);
	} else if (t->status == SCSI_STATUS_GOOD && t->datain.size > 0) {
		n = t->datain.size;
		if (n > (int)sizeof(r->data))
			n = (int)sizeof(r->data);
		r->data_len = n;
		memcpy(r->data, t->datain.data, (size_t)n);
	}
	scsi_free_scsi_task(t);
	return 0;
}

bool
itest_sense_is(const struct itest_res *r, int key, int asc, int ascq)
{
	return r->status == SCSI_STATUS_CHECK_CONDITION && r->key == key &&
	    r->asc == asc && r->ascq == ascq;
}

int
itest_lu_naa(struct iscsi_context *ctx, int lun, uint8_t *out)
{
	uint8_t cdb[16] = { 0x12, 0x01, 0x83, 0x00, 0xff };
	struct itest_res r;
	int off;

	if (itest_cmd(ctx, lun, cdb, NULL, 0, 255, &r) != 0 || r.status != 0)
		return -1;
	for (off = 4; off + 4 <= r.data_len; off += 4 + r.data[off + 3]) {
		if (((r.data[off + 1] >> 4) & 3) == 0 &&
		    (r.data[off + 1] & 0x0f) == 3 && r.data[off + 3] <= 16 &&
		    off + 4 + r.data[off + 3] <= r.data_len) {
			memcpy(out, r.data + off, 4 + r.data[off + 3]);
			return r.data[off + 3];
		}
	}
	return -1;
}
