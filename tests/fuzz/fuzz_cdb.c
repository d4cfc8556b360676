/*
 * fuzz_cdb.c - the SCSI engine with arbitrary CDBs: command table lookup,
 * usage masks, gates and every handler, on a nexus that maps small "mem"
 * logical units, driven exactly as a front end drives it (prepare, then
 * fail or execute, done() on the loop).
 *
 * Input: up to FUZZ_CMDS_MAX commands in a row on one nexus, each
 *   byte 0      CDB length: & 0x3f, 0 means 16, capped at 32
 *   byte 1      0x03 direction (none, in, out, bidi); 0x0c LUN (0: LUN 0,
 *               512-byte blocks; 1: LUN 1, the same LU write-protected;
 *               2: LUN 2, 4096-byte blocks; 3: LUN 7, not mapped);
 *               0x10 keep the pending unit attentions; 0x20 split the
 *               data buffer into three iovecs; 0xc0 task attribute
 *   bytes 2-3   data length (big-endian, <= 64 KiB: 0xffff means 65536)
 *   2 bytes     iovec split points (used with 0x20)
 *   CDB bytes, then for Data-Out min(data length, rest) data bytes.
 *
 * Properties: done() runs exactly once; status is a SAM status; CHECK
 * CONDITION carries sense and GOOD none; sense_len <= SCSI_SENSE_MAX;
 * xfer_len <= data_len.  The data buffer is allocated at its exact size
 * so ASan sees any access past it.
 */
#include <errno.h>

#include "backstore.h"
#include "conf.h"
#include "fuzz.h"
#include "log.h"
#include "loop.h"
#include "lun.h"
#include "scsi.h"
#include "util.h"

#define FUZZ_CMDS_MAX	8
#define FUZZ_DATA_MAX	65536u

static struct lun *fz_lun512, *fz_lun4k;
static unsigned int fz_done;

static struct lun *
fuzz_mem_lun(const char *name, const char *wwn, uint32_t bs, uint64_t size)
{
	struct conf_storage cs;
	struct backstore *b;
	struct lun *l;
	int err = 0;

	memset(&cs, 0, sizeof(cs));
	cs.plugin = (char *)"mem";
	cs.name = (char *)name;
	cs.wwn = (char *)wwn;
	cs.size = size;
	cs.block_size = bs;
	cs.write_back = true;
	cs.thin = true;
	b = backstore_open(&cs, &err);
	if (b == NULL) {
		fprintf(stderr, "fuzz_cdb: backstore_open: %d\n", err);
		abort();
	}
	l = lun_create(&cs, b);
	backstore_put(b);
	if (l == NULL)
		abort();
	return l;
}

static void
fuzz_init(void)
{
	log_init(false, LOG_LVL_ERR);
	if (loops_init(1) != 0)
		abort();
	scsi_init();
	fz_lun512 = fuzz_mem_lun("m512", "5a0f0c1e-0000-4000-8000-000000000512",
	    512, 1u << 20);
	fz_lun4k = fuzz_mem_lun("m4k", "5a0f0c1e-0000-4000-8000-000000004096",
	    4096, 1u << 20);
}

static struct scsi_nexus *
fuzz_nexus(void)
{
	static const uint8_t isid[6] = { 0x80, 0x12, 0x34, 0x56, 0, 1 };
	struct scsi_nexus *nx;
	struct nexus_lun *map;

	nx = nexus_create("iqn.2026-11.org.tpcd:fuzz-init", isid,
	    "iqn.2026-11.org.tpcd:fuzz", 1);
	map = xcalloc(3, sizeof(*map));
	if (nx == NULL || map == NULL)
		abort();
	map[0].lun_id = 0;
	map[0].lun = fz_lun512;
	map[1].lun_id = 1;
	map[1].lun = fz_lun512;
	map[1].write_protect = true;
	map[2].lun_id = 2;
	map[2].lun = fz_lun4k;
	lun_get(fz_lun512);
	lun_get(fz_lun512);
	lun_get(fz_lun4k);
	nexus_luns_replace(nx, map, 3);
	return nx;
}

static void
fuzz_cmd_done(struct scsi_cmd *cmd)
{
	(void)cmd;
	fz_done++;
	loops_stop();
}

static void
fuzz_cmd_start(void *arg)
{
	struct scsi_cmd *cmd = arg;
	enum sense_reason r;

	r = scsi_cmd_prepare(cmd);
	if (r != SENSE_OK)
		scsi_cmd_fail(cmd, r);
	else
		scsi_cmd_execute(cmd);
}

static void
fuzz_check_done(const struct scsi_cmd *cmd)
{
	FUZZ_CHECK(fz_done == 1);
	FUZZ_CHECK(cmd->sense_len <= SCSI_SENSE_MAX);
	FUZZ_CHECK(cmd->xfer_len <= cmd->data_len);
	switch (cmd->status) {
	case SAM_STAT_GOOD:
	case SAM_STAT_CONDITION_MET:
		FUZZ_CHECK(cmd->sense_len == 0);
		break;
	case SAM_STAT_CHECK_CONDITION:
		FUZZ_CHECK(cmd->sense_len >= 8);
		break;
	case SAM_STAT_BUSY:
	case SAM_STAT_RESERVATION_CONFLICT:
	case SAM_STAT_TASK_SET_FULL:
	case SAM_STAT_ACA_ACTIVE:
	case SAM_STAT_TASK_ABORTED:
		break;
	default:
		FUZZ_CHECK(!"bad SAM status");
	}
}

/* One command; returns false when the input is used up. */
static bool
fuzz_one(struct scsi_nexus *nx, struct fuzz_in *in)
{
	static const uint64_t lun_ids[4] = { 0, 1, 2, 7 };
	struct scsi_cmd cmd;
	struct iovec iov[3];
	const uint8_t *p;
	uint8_t *buf, asc, ascq;
	uint32_t len, s1, s2;
	size_t cdb_len, got;
	uint8_t flags;

	if (in->left == 0)
		return false;
	cdb_len = fuzz_u8(in) & 0x3f;
	if (cdb_len == 0)
		cdb_len = 16;
	cdb_len = MIN(cdb_len, (size_t)SCSI_CDB_MAX);
	flags = fuzz_u8(in);
	len = fuzz_u16(in);
	if (len == 0xffff)
		len = FUZZ_DATA_MAX;
	s1 = fuzz_u8(in);
	s2 = fuzz_u8(in);

	scsi_cmd_init(&cmd);
	cmd.nexus = nx;
	cmd.lun_id = lun_ids[(flags >> 2) & 3];
	p = fuzz_bytes(in, cdb_len, &got);
	memcpy(cmd.cdb, p, got);
	cmd.cdb_len = (uint8_t)cdb_len;
	cmd.dir = (enum scsi_dir)(flags & 3);
	cmd.attr = (enum scsi_task_attr)(flags >> 6);
	cmd.tag = 0x1000;
	if (!(flags & 0x10)) {
		while (nexus_ua_pop(nx, cmd.lun_id, &asc, &ascq))
			;
	}

	buf = malloc(len != 0 ? len : 1);
	if (buf == NULL)
		return false;
	memset(buf, 0xa5, len);
	if (cmd.dir == SCSI_DIR_OUT || cmd.dir == SCSI_DIR_BIDI) {
		p = fuzz_bytes(in, len, &got);
		memcpy(buf, p, got);
	}
	cmd.data_len = len;
	cmd.iov = iov;
	if ((flags & 0x20) && len >= 2) {
		/* Three pieces: [0, a) [a, b) [b, len), any may be empty. */
		s1 = s1 * len / 256;
		s2 = s1 + s2 * (len - s1) / 256;
		iov[0].iov_base = buf;
		iov[0].iov_len = s1;
		iov[1].iov_base = buf + s1;
		iov[1].iov_len = s2 - s1;
		iov[2].iov_base = buf + s2;
		iov[2].iov_len = len - s2;
		cmd.iov_cnt = 3;
	} else {
		iov[0].iov_base = buf;
		iov[0].iov_len = len;
		cmd.iov_cnt = 1;
	}
	cmd.loop = loop_get(0);
	cmd.done = fuzz_cmd_done;

	fz_done = 0;
	if (loop_post(loop_get(0), fuzz_cmd_start, &cmd) != 0)
		abort();
	if (loops_run() != 0)
		abort();
	fuzz_check_done(&cmd);
	scsi_cmd_release(&cmd);
	free(buf);
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	struct scsi_nexus *nx;
	struct fuzz_in in;
	unsigned int i;

	if (!init) {
		fuzz_init();
		init = true;
	}
	nx = fuzz_nexus();
	fuzz_in_init(&in, data, size);
	for (i = 0; i < FUZZ_CMDS_MAX; i++)
		if (!fuzz_one(nx, &in))
			break;
	nexus_destroy(nx);
	return 0;
}
