/*
 * sbc_unmap.c - logical block provisioning (SBC-4 4.7): UNMAP, GET LBA
 * STATUS and what READ CAPACITY(16) and the Block Limits / Logical Block
 * Provisioning VPD pages say about it.
 *
 * A LU is thin provisioned (LBPME) when its configuration says so
 * (attribute tpcd_thin) and its backstore can deallocate (BS_CAP_UNMAP);
 * unmapped blocks read as zeroes when the backstore says so (LBPRZ; punched
 * holes and discarded pages do).  Only such a LU supports UNMAP (LBPU) and
 * WRITE SAME with UNMAP (LBPWS, LBPWS10); on a fully provisioned LU UNMAP
 * is an unsupported command (SBC-4 5.32: LBPU = 0), as libiscsi's
 * Unmap.VPD checks.  Anchored blocks are not supported (ANC_SUP = 0).
 *
 * UNMAP checks the whole parameter list before deallocating anything
 * (lengths: 1A/00 and 26/00 with the field pointer; block descriptor and
 * LBA count limits: 26/00; ranges: 21/00), then holds the span of all
 * descriptors in the LU's range lock and submits one BS_UNMAP per
 * descriptor, one after the other.  GET LBA STATUS asks the backstore
 * (SEEK_DATA/SEEK_HOLE, or bs_mem's bitmap) from the blocking pool.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backstore.h"
#include "log.h"
#include "loop.h"
#include "lun.h"
#include "lun_lock.h"
#include "scsi_int.h"
#include "util.h"

/* GET LBA STATUS: descriptors per command at most */
#define SBC_LBAS_MAX_DESC	64u

/* --- advertisement --- */

bool
sbc_lbp_enabled(const struct lun *lun)
{
	return lun->thin && lun->bs != NULL &&
	    (lun->bs->caps & BS_CAP_UNMAP) && !lun->read_only;
}

bool
sbc_lbprz(const struct lun *lun)
{
	return sbc_lbp_enabled(lun) && (lun->bs->caps & BS_CAP_UNMAP_ZERO);
}

uint8_t
sbc_rc16_lbp_bits(const struct lun *lun)
{
	uint8_t v = 0;

	if (sbc_lbp_enabled(lun))
		v |= 0x80;			/* LBPME */
	if (sbc_lbprz(lun))
		v |= 0x40;			/* LBPRZ */
	return v;
}

/*
 * MAXIMUM WRITE SAME LENGTH.  A front end that lowers the transfer limit
 * (TCMU: LIO's hw_max_sectors) lowers it too, so that any range a WRITE
 * SAME may cover can also be written and read back in one command, as
 * initiators (libiscsi's WriteSame tests, Linux's write-zeroes checks)
 * expect.
 */
uint64_t
sbc_ws_max_blocks(const struct lun *lun)
{
	return sbc_limit_blocks(lun, SBC_WS_MAX_BYTES);
}

static uint32_t
sbc_unmap_max_blocks(const struct lun *lun)
{
	uint64_t n = lun->block_size ?
	    SBC_UNMAP_MAX_BYTES / lun->block_size : 0;

	return (uint32_t)MIN(n, (uint64_t)UINT32_MAX);
}

void
sbc_vpd_block_limits_lbp(const struct lun *lun, uint8_t *b)
{
	/* SBC-4 6.6.4: WSNZ = 0, a WRITE SAME of 0 blocks runs to the
	 * end of the medium (within MAXIMUM WRITE SAME LENGTH). */
	b[4] = 0x00;
	b[5] = (uint8_t)SBC_CAW_MAX_BLOCKS;
	if (sbc_lbp_enabled(lun)) {
		put_be32(b + 20, sbc_unmap_max_blocks(lun));
		put_be32(b + 24, SBC_UNMAP_MAX_DESC);
		/* granularity: the physical block, aligned at LBA 0 */
		put_be32(b + 28, 1u << sbc_phys_exp(lun));
		put_be32(b + 32, 0x80000000u);	/* UGAVALID, alignment 0 */
	}
	put_be64(b + 36, sbc_ws_max_blocks(lun));
}

size_t
sbc_vpd_lbp_page(const struct lun *lun, uint8_t *b)
{
	memset(b + 4, 0, 4);
	if (sbc_lbp_enabled(lun)) {
		/* LBPU, LBPWS, LBPWS10; LBPRZ 001b; ANC_SUP 0; DP 0 */
		b[5] = 0x80 | 0x40 | 0x20 | (sbc_lbprz(lun) ? 0x04 : 0);
		b[6] = 0x02;			/* thin provisioned */
	} else {
		b[6] = 0x00;			/* fully provisioned */
	}
	return 8;
}

/* --- UNMAP (SBC-4 5.32) --- */

struct sbc_unmap_desc {
	uint64_t	 lba;
	uint32_t	 n;
};

struct sbc_unmap {
	struct scsi_cmd	*cmd;
	struct lun_lock_req lk;
	struct bs_io	 bio;
	unsigned int	 nd, next;
	struct sbc_unmap_desc d[];
};

static void sbc_unmap_next(struct sbc_unmap *);

static void
sbc_unmap_finish(struct sbc_unmap *u, enum sense_reason r)
{
	lun_lock_release(u->cmd->lun->range_lock, &u->lk);
	scsi_cmd_complete(u->cmd, r);
}

static void
sbc_unmap_done(struct bs_io *bio, int res)
{
	struct sbc_unmap *u = bio->priv;
	static unsigned int rl;

	if (res < 0) {
		if (log_ratelimited(&rl))
			log_warn("%s: unmap at LBA %llu failed: %s",
			    u->cmd->lun->name,
			    (unsigned long long)u->d[u->next - 1].lba,
			    strerror(-res));
		u->cmd->sd.info_valid = true;
		u->cmd->sd.info = u->d[u->next - 1].lba;
		sbc_unmap_finish(u, sense_from_errno(res, true));
		return;
	}
	sbc_unmap_next(u);
}

static void
sbc_unmap_next(struct sbc_unmap *u)
{
	struct lun *lun = u->cmd->lun;
	int rc;

	while (u->next < u->nd && u->d[u->next].n == 0)
		u->next++;
	if (u->next == u->nd) {
		sbc_unmap_finish(u, SENSE_OK);
		return;
	}
	memset(&u->bio, 0, sizeof(u->bio));
	u->bio.op = BS_UNMAP;
	u->bio.offset = u->d[u->next].lba * lun->block_size;
	u->bio.len = (uint64_t)u->d[u->next].n * lun->block_size;
	u->bio.loop = u->cmd->loop;
	u->bio.done = sbc_unmap_done;
	u->bio.priv = u;
	u->next++;
	rc = backstore_submit(lun->bs, &u->bio);
	if (rc < 0)
		sbc_unmap_finish(u, sense_from_errno(rc, true));
}

static void
sbc_unmap_granted(struct lun_lock_req *lk)
{
	struct sbc_unmap *u = lk->priv;

	if (u->cmd->aborted) {		/* aborted while waiting */
		sbc_unmap_finish(u, SENSE_TASK_ABORTED);
		return;
	}
	sbc_unmap_next(u);
}

/*
 * Pure: check the parameter list (len bytes at p, plen from the CDB) and
 * fill d[] (room for SBC_UNMAP_MAX_DESC).  Returns the reason, *nd set.
 */
static enum sense_reason
sbc_unmap_parse(struct scsi_cmd *cmd, const uint8_t *p, size_t len,
    struct sbc_unmap_desc *d, unsigned int *nd)
{
	const struct lun *lun = cmd->lun;
	uint64_t total = 0;
	unsigned int i, n;
	uint16_t dl, bdl;
	enum sense_reason r;

	*nd = 0;
	if (len < 8)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	dl = get_be16(p);
	bdl = get_be16(p + 2);
	/* SBC-4 5.32.2: the lengths must fit the parameter list */
	if ((size_t)dl + 2 > len)
		return scsi_invalid_field(cmd, false, 0, -1);
	if ((size_t)bdl + 8 > len)
		return scsi_invalid_field(cmd, false, 2, -1);
	n = bdl / 16;		/* an incomplete last descriptor is ignored */
	if (n > SBC_UNMAP_MAX_DESC)
		return scsi_invalid_field(cmd, false, 2, -1);
	for (i = 0; i < n; i++) {
		const uint8_t *q = p + 8 + 16 * i;

		d[i].lba = get_be64(q);
		d[i].n = get_be32(q + 8);
		r = sbc_check_range(lun, d[i].lba, d[i].n);
		if (r != SENSE_OK) {
			cmd->sd.info_valid = true;
			cmd->sd.info = d[i].lba;
			return r;
		}
		total += d[i].n;
		if (total > sbc_unmap_max_blocks(lun))
			return scsi_invalid_field(cmd, false,
			    (uint16_t)(8 + 16 * i + 8), -1);
	}
	*nd = n;
	return SENSE_OK;
}

enum sense_reason
sbc_unmap(struct scsi_cmd *cmd)
{
	struct lun *lun = cmd->lun;
	uint16_t plen = get_be16(cmd->cdb + 7);
	size_t len, max = 8 + 16 * SBC_UNMAP_MAX_DESC;
	struct sbc_unmap *u;
	enum sense_reason r;
	uint64_t lo = UINT64_MAX, hi = 0;
	unsigned int i;
	uint8_t *p;
	int rc;

	if (cmd->cdb[1] & 0x01)			/* ANCHOR, ANC_SUP = 0 */
		return scsi_invalid_field(cmd, true, 1, 0);
	if (plen == 0)
		return SENSE_OK;
	if (plen < 8)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	len = MIN((size_t)plen, (size_t)scsi_cmd_data_cap(cmd, false));
	cmd->spdtl = plen;
	/* capped at the advertised limit before copying */
	p = xmalloc(MIN(len, max) + 16);
	u = xcalloc(1, sizeof(*u) +
	    SBC_UNMAP_MAX_DESC * sizeof(struct sbc_unmap_desc));
	if (p == NULL || u == NULL) {
		free(p);
		free(u);
		return SENSE_BUSY;
	}
	scsi_cmd_copy_from_buf(cmd, 0, p, MIN(len, max));
	if (len > max) {
		/* only the header can tell the list is too long */
		if ((size_t)get_be16(p) + 2 <= len &&
		    (size_t)get_be16(p + 2) + 8 <= len &&
		    get_be16(p + 2) / 16 > SBC_UNMAP_MAX_DESC)
			r = scsi_invalid_field(cmd, false, 2, -1);
		else
			r = sbc_unmap_parse(cmd, p, max, u->d, &u->nd);
	} else {
		r = sbc_unmap_parse(cmd, p, len, u->d, &u->nd);
	}
	free(p);
	cmd->xfer_len = (uint32_t)len;
	if (r != SENSE_OK) {
		free(u);
		return r;
	}
	for (i = 0; i < u->nd; i++) {
		if (u->d[i].n == 0)
			continue;
		lo = MIN(lo, u->d[i].lba);
		hi = MAX(hi, u->d[i].lba + u->d[i].n);
	}
	if (lo == UINT64_MAX) {
		free(u);
		return SENSE_OK;
	}
	cmd->hpriv = u;
	cmd->hpriv_free = free;
	u->cmd = cmd;
	u->lk.lba = lo;
	u->lk.nblocks = hi - lo;
	u->lk.loop = cmd->loop;
	u->lk.granted = sbc_unmap_granted;
	u->lk.priv = u;
	rc = lun_lock_acquire(lun->range_lock, &u->lk);
	if (rc < 0)
		return sense_from_errno(rc, true);
	if (rc == 0)
		sbc_unmap_next(u);
	return SCSI_ASYNC;
}

/* --- GET LBA STATUS (SBC-4 5.7) --- */

struct sbc_lbas {
	struct scsi_cmd	*cmd;
	uint64_t	 lba;
	unsigned int	 max_desc, nd;
	int		 err;
	uint8_t		 buf[8 + 16 * SBC_LBAS_MAX_DESC];
};

/* Pool thread: one descriptor per extent, adjacent ones merged. */
static void
sbc_lbas_work(void *arg)
{
	struct sbc_lbas *s = arg;
	struct lun *lun = s->cmd->lun;
	uint64_t lba = s->lba, blocks, len;
	uint8_t *d;
	bool mapped;
	int rc;

	while (lba < lun->nblocks && s->nd < s->max_desc) {
		blocks = MIN(lun->nblocks - lba, (uint64_t)UINT32_MAX);
		len = blocks * lun->block_size;
		rc = backstore_lba_status(lun->bs, lba * lun->block_size,
		    &len, &mapped);
		if (rc < 0) {
			s->err = rc;
			return;
		}
		if (mapped) {
			blocks = DIV_ROUND_UP(len, lun->block_size);
		} else {
			blocks = len / lun->block_size;
			if (blocks == 0) {	/* part of a block: mapped */
				blocks = 1;
				mapped = true;
			}
		}
		d = s->nd > 0 ? s->buf + 8 + 16 * (s->nd - 1) : NULL;
		if (d != NULL && (d[12] == 0) == mapped &&
		    get_be32(d + 8) + blocks <= UINT32_MAX) {
			put_be32(d + 8, (uint32_t)(get_be32(d + 8) + blocks));
		} else {
			d = s->buf + 8 + 16 * s->nd;
			put_be64(d, lba);
			put_be32(d + 8, (uint32_t)blocks);
			d[12] = mapped ? 0x00 : 0x01;	/* deallocated */
			s->nd++;
		}
		lba += blocks;
	}
}

/* Parameter data (SBC-4 5.7.2) cut to the allocation length. */
static enum sense_reason
sbc_lbas_reply(struct sbc_lbas *s)
{
	struct scsi_cmd *cmd = s->cmd;
	uint32_t alloc = get_be32(cmd->cdb + 10);
	size_t n;

	if (s->err < 0)
		return sense_from_errno(s->err, false);
	n = 8 + 16 * (size_t)s->nd;
	put_be32(s->buf, (uint32_t)(n - 4));
	scsi_cmd_data_in(cmd, s->buf, MIN(n, (size_t)alloc));
	return SENSE_OK;
}

static void
sbc_lbas_done(void *arg)
{
	struct sbc_lbas *s = arg;

	scsi_cmd_complete(s->cmd, sbc_lbas_reply(s));
}

enum sense_reason
sbc_get_lba_status(struct scsi_cmd *cmd)
{
	struct lun *lun = cmd->lun;
	uint64_t lba = get_be64(cmd->cdb + 2);
	uint32_t alloc = get_be32(cmd->cdb + 10);
	struct sbc_lbas *s;
	uint8_t *d;
	int rc;

	if (lba >= lun->nblocks)
		return SENSE_LBA_OUT_OF_RANGE;
	if (alloc == 0)
		return SENSE_OK;
	s = xcalloc(1, sizeof(*s));
	if (s == NULL)
		return SENSE_BUSY;
	cmd->hpriv = s;
	cmd->hpriv_free = free;
	s->cmd = cmd;
	s->lba = lba;
	s->max_desc = alloc < 24 ? 1 :
	    (unsigned int)MIN((alloc - 8) / 16, SBC_LBAS_MAX_DESC);
	if (!sbc_lbp_enabled(lun) || !(lun->bs->caps & BS_CAP_SEEK_HOLE) ||
	    lun->bs->ops->lba_status == NULL) {
		/* fully provisioned: every LBA is mapped */
		d = s->buf + 8;
		put_be64(d, lba);
		put_be32(d + 8, (uint32_t)MIN(lun->nblocks - lba,
		    (uint64_t)UINT32_MAX));
		s->nd = 1;
		return sbc_lbas_reply(s);
	}
	rc = loop_pool_run(cmd->loop, sbc_lbas_work, sbc_lbas_done, s);
	if (rc < 0)
		return sense_from_errno(rc, false);
	return SCSI_ASYNC;
}
