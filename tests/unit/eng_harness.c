/*
 * eng_harness.c - see eng_harness.h.
 */
#include <stdio.h>
#include <string.h>

#include "backstore.h"
#include "eng_harness.h"
#include "loop.h"
#include "util.h"

struct conf_storage
eh_storage(const char *plugin, const char *name, const char *dev,
    const char *wwn, uint64_t size, uint32_t block_size, bool thin)
{
	struct conf_storage cs;

	memset(&cs, 0, sizeof(cs));
	cs.plugin = (char *)(uintptr_t)plugin;
	cs.name = (char *)(uintptr_t)name;
	cs.dev = (char *)(uintptr_t)dev;
	cs.wwn = (char *)(uintptr_t)wwn;
	cs.size = size;
	cs.block_size = block_size;
	cs.write_back = true;
	cs.thin = thin;
	return cs;
}

struct lun *
eh_lun_open(const struct conf_storage *cs)
{
	struct backstore *bs;
	struct lun *lun;
	int err = 0;

	bs = backstore_open(cs, &err);
	ck_assert_msg(bs != NULL, "backstore_open %s: %d", cs->name, err);
	lun = lun_create(cs, bs);
	ck_assert_ptr_nonnull(lun);
	backstore_put(bs);
	return lun;
}

struct scsi_nexus *
eh_nexus(const char *who, uint8_t isid_last)
{
	const uint8_t isid[6] = { 0x80, 0, 0, 0, 0, isid_last };
	char name[128];
	struct scsi_nexus *nx;

	snprintf(name, sizeof(name), "iqn.2026-11.org.tpcd:%s", who);
	nx = nexus_create(name, isid, "iqn.2026-11.org.tpcd:tgt", 1);
	ck_assert_ptr_nonnull(nx);
	return nx;
}

void
eh_map(struct scsi_nexus *nx, struct lun *const *luns, const uint64_t *ids,
    const bool *wp, unsigned int n)
{
	struct nexus_lun *map = xcalloc(n, sizeof(*map));
	uint8_t asc, ascq;
	unsigned int i;

	ck_assert_ptr_nonnull(map);
	for (i = 0; i < n; i++) {
		map[i].lun_id = ids[i];
		map[i].lun = luns[i];
		map[i].write_protect = wp != NULL && wp[i];
		lun_get(luns[i]);
	}
	nexus_luns_replace(nx, map, n);
	for (i = 0; i < n; i++)
		while (nexus_ua_pop(nx, ids[i], &asc, &ascq))
			;
}

void
eh_cmd(struct scsi_cmd *cmd, struct scsi_nexus *nx, uint64_t lun_id,
    const uint8_t *cdb, size_t cdb_len, enum scsi_dir dir,
    struct iovec *iov, int iov_cnt, uint32_t len)
{
	scsi_cmd_init(cmd);
	cmd->nexus = nx;
	cmd->lun_id = lun_id;
	ck_assert_uint_le(cdb_len, SCSI_CDB_MAX);
	memcpy(cmd->cdb, cdb, cdb_len);
	cmd->cdb_len = (uint8_t)MAX(cdb_len, 16);
	cmd->dir = dir;
	cmd->iov = iov;
	cmd->iov_cnt = iov_cnt;
	cmd->data_len = len;
	cmd->loop = loop_get(0);
}

static bool eh_done_flag;

static void
eh_done(struct scsi_cmd *cmd)
{
	(void)cmd;
	eh_done_flag = true;
	loops_stop();
}

static void
eh_start(void *arg)
{
	struct scsi_cmd *cmd = arg;
	enum sense_reason r = scsi_cmd_prepare(cmd);

	if (r != SENSE_OK)
		scsi_cmd_fail(cmd, r);
	else
		scsi_cmd_execute(cmd);
}

void
eh_exec_then(struct scsi_cmd *cmd, void (*fn)(void *), void *arg)
{
	cmd->done = eh_done;
	eh_done_flag = false;
	ck_assert_int_eq(loop_post(loop_get(0), eh_start, cmd), 0);
	if (fn != NULL)
		ck_assert_int_eq(loop_post(loop_get(0), fn, arg), 0);
	ck_assert_int_eq(loops_run(), 0);
	ck_assert(eh_done_flag);
}

void
eh_exec(struct scsi_cmd *cmd)
{
	eh_exec_then(cmd, NULL, NULL);
}

bool
eh_fail(struct scsi_cmd *cmd, enum sense_reason r)
{
	cmd->done = eh_done;
	eh_done_flag = false;
	scsi_cmd_fail(cmd, r);
	return eh_done_flag;
}

void
eh_sense(const uint8_t *s, unsigned int len, uint8_t *key, uint8_t *asc,
    uint8_t *ascq)
{
	ck_assert_uint_ge(len, 8);
	if ((s[0] & 0x7f) >= 0x72) {
		*key = s[1] & 0x0f;
		*asc = s[2];
		*ascq = s[3];
	} else {
		ck_assert_uint_ge(len, 14);
		*key = s[2] & 0x0f;
		*asc = s[12];
		*ascq = s[13];
	}
}
