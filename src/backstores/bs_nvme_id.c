/*
 * bs_nvme_id.c - the pure parts of the "nvme" backstore: decoding of
 * Identify Controller / Namespace data, the Copy and Dataset Management
 * range planners that honour the device's limits, and the mapping of
 * NVMe completion statuses to errno.  Bytes in, host structs out; no I/O,
 * so the unit test feeds captured Identify images.
 *
 * Copy splitting (NVM Command Set 1.0, 3.2.2): a Copy command carries
 * NR + 1 source ranges (at most MSRC + 1), each of at most MSSRL blocks,
 * and at most MCL blocks in all; the blocks land back to back from
 * SDLBA.  The planner fills one command at a time, greedily: ranges of
 * MSSRL blocks (and never more than 65536, the 16-bit NLB field) until
 * MCL, the range count or the request runs out.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bs_nvme.h"
#include "util.h"

/* ASCII field, space padded, to a C string without trailing blanks. */
static void
bs_nvme_str(char *dst, const uint8_t *src, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : '?';
	while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == '\0'))
		n--;
	dst[n] = '\0';
}

int
bs_nvme_parse_ctrl(const uint8_t *id, size_t len, struct bs_nvme_ctrl_id *c)
{
	if (id == NULL || c == NULL || len < BS_NVME_ID_LEN)
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	c->vid = get_le16(id + 0);
	bs_nvme_str(c->serial, id + 4, 20);
	bs_nvme_str(c->model, id + 24, 40);
	bs_nvme_str(c->fw, id + 64, 8);
	c->mdts = id[77];
	c->oncs = get_le16(id + 520);
	c->vwc = id[525];
	c->ocfs = get_le16(id + 534);
	return 0;
}

int
bs_nvme_parse_ns(const uint8_t *id, size_t len, struct bs_nvme_ns_id *n)
{
	uint32_t lbaf;
	uint8_t flbas, lbads;

	if (id == NULL || n == NULL || len < BS_NVME_ID_LEN)
		return -EINVAL;
	memset(n, 0, sizeof(*n));
	n->nsze = get_le64(id + 0);
	n->ncap = get_le64(id + 8);
	n->nsfeat = id[24];
	n->nlbaf = id[25];
	flbas = id[26];
	/* FLBAS bits 3:0, with bits 6:5 as the high bits past 16 formats */
	n->lbaf = (uint8_t)((flbas & 0x0f) | (((flbas >> 5) & 0x3) << 4));
	n->dlfeat = id[33];
	n->mssrl = get_le16(id + 74);
	n->mcl = get_le32(id + 76);
	n->msrc = id[80];
	if (n->nlbaf > 63 || n->lbaf > n->nlbaf)
		return -EINVAL;
	lbaf = get_le32(id + 128 + 4 * n->lbaf);
	n->ms = (uint16_t)(lbaf & 0xffff);
	lbads = (uint8_t)((lbaf >> 16) & 0xff);
	if (lbads < 9 || lbads > 12)
		return -EINVAL;
	n->lba_size = 1u << lbads;
	if (n->nsze == 0)
		return -EINVAL;
	if (n->ms != 0)
		return -EOPNOTSUPP;
	return 0;
}

uint32_t
bs_nvme_parse_dmrsl(const uint8_t *id, size_t len)
{
	if (id == NULL || len < 8)
		return 0;
	return get_le32(id + 4);
}

bool
bs_nvme_dealloc_zeroes(uint8_t dlfeat)
{
	return (dlfeat & 0x7) == 0x1;
}

bool
bs_nvme_copy_limits(const struct bs_nvme_ctrl_id *c,
    const struct bs_nvme_ns_id *n, struct bs_nvme_copy_limits *lim)
{
	lim->mssrl = MIN((uint32_t)n->mssrl, BS_NVME_MAX_NLB);
	lim->mcl = n->mcl;
	lim->nranges = (uint32_t)n->msrc + 1;
	return (c->oncs & NVME_ONCS_COPY) != 0 && lim->mssrl != 0 &&
	    lim->mcl != 0;
}

static int
bs_nvme_num(const char **s, uint32_t max, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (**s < '0' || **s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(*s, &end, 10);
	if (errno != 0 || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	*s = end;
	return 0;
}

int
bs_nvme_limits_parse(const char *s, struct bs_nvme_copy_limits *lim)
{
	uint32_t mssrl, mcl, msrc;

	if (s == NULL || bs_nvme_num(&s, 0xffff, &mssrl) != 0 ||
	    *s++ != ',' || bs_nvme_num(&s, UINT32_MAX, &mcl) != 0 ||
	    *s++ != ',' || bs_nvme_num(&s, 0xff, &msrc) != 0 || *s != '\0')
		return -EINVAL;
	lim->mssrl = mssrl;
	lim->mcl = mcl;
	lim->nranges = msrc + 1;
	return 0;
}

uint64_t
bs_nvme_copy_plan(const struct bs_nvme_copy_limits *lim, uint64_t slba,
    uint64_t nlb, uint8_t *ranges, unsigned int *nr)
{
	uint64_t left, done = 0, n;
	uint32_t maxr, maxn;
	uint8_t *r;

	*nr = 0;
	maxr = MIN(lim->mssrl, BS_NVME_MAX_NLB);
	maxn = MIN(lim->nranges, (uint32_t)BS_NVME_MAX_RANGES);
	if (nlb == 0 || maxr == 0 || maxn == 0 || lim->mcl == 0)
		return 0;
	left = MIN(nlb, (uint64_t)lim->mcl);
	while (left > 0 && *nr < maxn) {
		n = MIN(left, (uint64_t)maxr);
		r = ranges + (size_t)*nr * BS_NVME_RANGE_LEN;
		memset(r, 0, BS_NVME_RANGE_LEN);
		put_le64(r + 8, slba + done);		/* SLBA */
		put_le16(r + 16, (uint16_t)(n - 1));	/* NLB, 0-based */
		done += n;
		left -= n;
		(*nr)++;
	}
	return done;
}

uint64_t
bs_nvme_dsm_plan(uint32_t max_range, uint64_t slba, uint64_t nlb,
    uint8_t *buf, unsigned int *nr)
{
	uint64_t done = 0, n;
	uint8_t *r;

	*nr = 0;
	if (max_range == 0)
		max_range = UINT32_MAX;
	while (done < nlb && *nr < BS_NVME_MAX_RANGES) {
		n = MIN(nlb - done, (uint64_t)max_range);
		r = buf + (size_t)*nr * BS_NVME_DSM_RANGE_LEN;
		put_le32(r + 0, 0);			/* context attributes */
		put_le32(r + 4, (uint32_t)n);		/* length in blocks */
		put_le64(r + 8, slba + done);		/* SLBA */
		done += n;
		(*nr)++;
	}
	return done;
}

/* --- status --- */

struct bs_nvme_status {
	uint8_t		 sct, sc;
	int		 err;
	const char	*name;
};

static const struct bs_nvme_status bs_nvme_statuses[] = {
	/* generic command status */
	{ 0, 0x01, -EOPNOTSUPP, "Invalid Command Opcode" },
	{ 0, 0x02, -EOPNOTSUPP, "Invalid Field in Command" },
	{ 0, 0x04, -EIO, "Data Transfer Error" },
	{ 0, 0x05, -EIO, "Commands Aborted due to Power Loss" },
	{ 0, 0x06, -EREMOTEIO, "Internal Error" },
	{ 0, 0x07, -EIO, "Command Abort Requested" },
	{ 0, 0x0b, -ENXIO, "Invalid Namespace or Format" },
	{ 0, 0x80, -ERANGE, "LBA Out of Range" },
	{ 0, 0x81, -ENOSPC, "Capacity Exceeded" },
	{ 0, 0x82, -EAGAIN, "Namespace Not Ready" },
	{ 0, 0x83, -EACCES, "Reservation Conflict" },
	/* command specific status */
	{ 1, 0x20, -EROFS, "Namespace is Write Protected" },
	{ 1, 0x80, -EOPNOTSUPP, "Conflicting Attributes" },
	{ 1, 0x82, -EROFS, "Attempted Write to Read Only Range" },
	{ 1, 0x83, -EOPNOTSUPP, "Command Size Limit Exceeded" },
	/* media and data integrity errors */
	{ 2, 0x80, -EIO, "Write Fault" },
	{ 2, 0x81, -EIO, "Unrecovered Read Error" },
	{ 2, 0x82, -EIO, "End-to-end Guard Check Error" },
	{ 2, 0x83, -EIO, "End-to-end Application Tag Check Error" },
	{ 2, 0x84, -EIO, "End-to-end Reference Tag Check Error" },
	{ 2, 0x85, -EIO, "Compare Failure" },
	{ 2, 0x86, -EACCES, "Access Denied" },
	{ 2, 0x87, -EIO, "Deallocated or Unwritten Logical Block" },
};

static const struct bs_nvme_status *
bs_nvme_status_find(int rc)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bs_nvme_statuses); i++)
		if (bs_nvme_statuses[i].sct == NVME_SCT(rc) &&
		    bs_nvme_statuses[i].sc == NVME_SC(rc))
			return &bs_nvme_statuses[i];
	return NULL;
}

int
bs_nvme_status_errno(int rc)
{
	const struct bs_nvme_status *s;

	if (rc <= 0)
		return rc;
	s = bs_nvme_status_find(rc);
	if (s != NULL)
		return s->err;
	if (NVME_SCT(rc) == 0 && NVME_SC(rc) == 0)
		return 0;	/* only the DNR / More bits: success */
	if (NVME_SCT(rc) == 3)
		return -EAGAIN;	/* path related: retry */
	return -EIO;
}

const char *
bs_nvme_status_str(int rc)
{
	const struct bs_nvme_status *s;

	if (rc == 0)
		return "Success";
	if (rc < 0)
		return "system error";
	s = bs_nvme_status_find(rc);
	if (s != NULL)
		return s->name;
	switch (NVME_SCT(rc)) {
	case 0:
		return "generic status";
	case 1:
		return "command specific status";
	case 2:
		return "media error";
	case 3:
		return "path related status";
	default:
		return "vendor specific status";
	}
}
