/*
 * tcmu_ring.c - fetch TCMU ring entries and write completions (see
 * tcmu_ring.h for the protocol).
 *
 * Layout facts come from <linux/target_core_user.h> through offsetof():
 * the uapi header defines its own struct iovec, so it is included with
 * that name renamed before <sys/uio.h>.  Ring and mailbox bytes are
 * host-endian shared memory; fields are read and written with memcpy()
 * at those offsets (never through a cast of the mapping to a struct),
 * except head and tail, which are aligned 32-bit words accessed with
 * atomics for their ordering.
 */
#define iovec tcmu_kiovec
#include <linux/target_core_user.h>
#undef iovec

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "tcmu_ring.h"

#define MB_VERSION	offsetof(struct tcmu_mailbox, version)
#define MB_FLAGS	offsetof(struct tcmu_mailbox, flags)
#define MB_CMDR_OFF	offsetof(struct tcmu_mailbox, cmdr_off)
#define MB_CMDR_SIZE	offsetof(struct tcmu_mailbox, cmdr_size)
#define MB_HEAD		offsetof(struct tcmu_mailbox, cmd_head)
#define MB_TAIL		offsetof(struct tcmu_mailbox, cmd_tail)
#define MB_SIZE		sizeof(struct tcmu_mailbox)

#define ENT_LEN_OP	offsetof(struct tcmu_cmd_entry, hdr.len_op)
#define ENT_CMD_ID	offsetof(struct tcmu_cmd_entry, hdr.cmd_id)
#define ENT_UFLAGS	offsetof(struct tcmu_cmd_entry, hdr.uflags)
#define ENT_IOV_CNT	offsetof(struct tcmu_cmd_entry, req.iov_cnt)
#define ENT_BIDI_CNT	offsetof(struct tcmu_cmd_entry, req.iov_bidi_cnt)
#define ENT_DIF_CNT	offsetof(struct tcmu_cmd_entry, req.iov_dif_cnt)
#define ENT_CDB_OFF	offsetof(struct tcmu_cmd_entry, req.cdb_off)
#define ENT_IOV		offsetof(struct tcmu_cmd_entry, req.iov)
#define ENT_STATUS	offsetof(struct tcmu_cmd_entry, rsp.scsi_status)
#define ENT_READ_LEN	offsetof(struct tcmu_cmd_entry, rsp.read_len)
#define ENT_SENSE	offsetof(struct tcmu_cmd_entry, rsp.sense_buffer)
#define ENT_SIZE	sizeof(struct tcmu_cmd_entry)
#define KIOV_SIZE	sizeof(struct tcmu_kiovec)
#define KIOV_BASE	offsetof(struct tcmu_kiovec, iov_base)
#define KIOV_LEN	offsetof(struct tcmu_kiovec, iov_len)

#define TMR_TYPE	offsetof(struct tcmu_tmr_entry, tmr_type)
#define TMR_CNT		offsetof(struct tcmu_tmr_entry, cmd_cnt)
#define TMR_IDS		offsetof(struct tcmu_tmr_entry, cmd_ids)

/* Sanity bound on one entry's iovecs (a 1 GiB data area in 4 KiB
 * blocks has 262144); anything larger is a corrupt count. */
#define TCMU_RING_IOV_MAX	(1u << 20)

_Static_assert(KIOV_SIZE == 16 && KIOV_LEN == 8, "kernel iovec layout");
_Static_assert(ENT_SIZE >= ENT_SENSE + TCMU_RING_SENSE_MAX,
    "response fits a command entry");
_Static_assert(MB_TAIL % 4 == 0 && MB_HEAD % 4 == 0, "aligned head/tail");

static uint16_t
ld16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t
ld32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t
ld64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t *
ring_word(const struct tcmu_ring *r, size_t off)
{
	/* base is 8-aligned (checked at init) and off is 4-aligned */
	return (uint32_t *)(void *)(r->base + off);
}

static uint32_t
ring_head(const struct tcmu_ring *r)
{
	return __atomic_load_n(ring_word(r, MB_HEAD), __ATOMIC_ACQUIRE);
}

static void
ring_set_tail(struct tcmu_ring *r)
{
	__atomic_store_n(ring_word(r, MB_TAIL), r->tail, __ATOMIC_RELEASE);
}

int
tcmu_ring_init(struct tcmu_ring *r, void *base, size_t size)
{
	uint8_t *b = base;
	uint32_t off, rsize, tail;

	memset(r, 0, sizeof(*r));
	if (b == NULL || ((uintptr_t)b & 7) != 0 || size < MB_SIZE)
		return -EINVAL;
	if (ld16(b + MB_VERSION) != TCMU_MAILBOX_VERSION)
		return -EINVAL;
	off = ld32(b + MB_CMDR_OFF);
	rsize = ld32(b + MB_CMDR_SIZE);
	if (off < MB_SIZE || (off & 7) != 0 || rsize < ENT_SIZE ||
	    (rsize & 7) != 0 || (uint64_t)off + rsize > size)
		return -EINVAL;
	tail = __atomic_load_n((uint32_t *)(void *)(b + MB_TAIL),
	    __ATOMIC_ACQUIRE);
	if (tail >= rsize || (tail & 7) != 0)
		return -EINVAL;
	r->base = b;
	r->size = size;
	r->cmdr_off = off;
	r->cmdr_size = rsize;
	r->data_off = (uint64_t)off + rsize;
	r->flags = ld16(b + MB_FLAGS);
	r->next = tail;
	r->tail = tail;
	return 0;
}

bool
tcmu_ring_busy(const struct tcmu_ring *r)
{
	return r->base != NULL && ring_head(r) != r->tail;
}

/* Bytes from a to b going forward around the ring. */
static uint32_t
ring_dist(const struct tcmu_ring *r, uint32_t a, uint32_t b)
{
	return b >= a ? b - a : r->cmdr_size - a + b;
}

static uint32_t
ring_advance(const struct tcmu_ring *r, uint32_t pos, uint32_t len)
{
	return (uint32_t)(((uint64_t)pos + len) % r->cmdr_size);
}

unsigned int
tcmu_ring_cdb_len(const uint8_t *cdb, size_t avail)
{
	static const uint8_t group_len[8] = { 6, 10, 10, 12, 16, 12, 10, 10 };

	if (avail == 0)
		return 0;
	if (cdb[0] == 0x7f)
		return avail >= 8 ? (unsigned int)cdb[7] + 8 : 8;
	return group_len[cdb[0] >> 5];
}

/* Validate and copy the iovecs of a CMD entry at e (len bytes). */
static int
ring_fetch_iov(const struct tcmu_ring *r, const uint8_t *e, uint32_t len,
    struct tcmu_ring_ent *ent)
{
	uint64_t n, i, base, ilen, sum = 0, bsum = 0;
	uint32_t cnt, bidi, dif;
	const uint8_t *v;

	cnt = ld32(e + ENT_IOV_CNT);
	bidi = ld32(e + ENT_BIDI_CNT);
	dif = ld32(e + ENT_DIF_CNT);
	n = (uint64_t)cnt + bidi + dif;
	if (n > TCMU_RING_IOV_MAX || ENT_IOV + n * KIOV_SIZE > len)
		return -EBADMSG;
	if (cnt + bidi > ent->iov_cap) {
		ent->iov_need = cnt + bidi;
		return -E2BIG;
	}
	for (i = 0; i < (uint64_t)cnt + bidi; i++) {
		v = e + ENT_IOV + i * KIOV_SIZE;
		base = ld64(v + KIOV_BASE);
		ilen = ld64(v + KIOV_LEN);
		if (base < r->data_off || base > r->size ||
		    ilen > r->size - base)
			return -EBADMSG;
		ent->iov[i].iov_base = r->base + base;
		ent->iov[i].iov_len = (size_t)ilen;
		if (i < cnt)
			sum += ilen;
		else
			bsum += ilen;
	}
	ent->iov_cnt = cnt;
	ent->bidi_cnt = bidi;
	ent->data_len = sum;
	ent->bidi_len = bsum;
	return 0;
}

static int
ring_fetch_cmd(const struct tcmu_ring *r, const uint8_t *e, uint32_t len,
    struct tcmu_ring_ent *ent)
{
	uint64_t cdb_off;
	unsigned int clen;
	int rc;

	if (len < ENT_SIZE)
		return -EBADMSG;
	cdb_off = ld64(e + ENT_CDB_OFF);
	if (cdb_off < r->cmdr_off || cdb_off >= r->size)
		return -EBADMSG;
	clen = tcmu_ring_cdb_len(r->base + cdb_off, r->size - cdb_off);
	if (clen > r->size - cdb_off)
		return -EBADMSG;
	rc = ring_fetch_iov(r, e, len, ent);
	if (rc != 0)
		return rc;
	ent->kind = TCMU_RING_CMD;
	ent->cdb_full_len = (uint16_t)clen;
	ent->cdb_len = (uint8_t)(clen < TCMU_RING_CDB_MAX ? clen :
	    TCMU_RING_CDB_MAX);
	memset(ent->cdb, 0, sizeof(ent->cdb));
	memcpy(ent->cdb, r->base + cdb_off, ent->cdb_len);
	return 0;
}

static int
ring_fetch_tmr(const uint8_t *e, uint32_t len, struct tcmu_ring_ent *ent)
{
	uint32_t cnt, i;

	if (len < TMR_IDS)
		return -EBADMSG;
	cnt = ld32(e + TMR_CNT);
	if ((uint64_t)TMR_IDS + (uint64_t)cnt * 2 > len)
		return -EBADMSG;
	if (cnt > ent->ids_cap) {
		ent->ids_need = cnt;
		return -E2BIG;
	}
	for (i = 0; i < cnt; i++)
		ent->ids[i] = ld16(e + TMR_IDS + 2 * (size_t)i);
	ent->kind = TCMU_RING_TMR;
	ent->tmr_type = e[TMR_TYPE];
	ent->ids_cnt = cnt;
	return 0;
}

/* Move the tail over PAD and TMR entries that no completion needs, so
 * the kernel can reuse their space even when nothing is in flight. */
static void
ring_tidy_tail(struct tcmu_ring *r)
{
	uint32_t pos = r->tail, len_op, len;
	const uint8_t *e;

	while (pos != r->next) {
		e = r->base + r->cmdr_off + pos;
		len_op = ld32(e + ENT_LEN_OP);
		len = tcmu_hdr_get_len(len_op);
		if (tcmu_hdr_get_op(len_op) == TCMU_OP_CMD || len == 0 ||
		    len > ring_dist(r, pos, r->next) ||
		    len > r->cmdr_size - pos)
			break;
		pos = ring_advance(r, pos, len);
	}
	if (pos != r->tail) {
		r->tail = pos;
		ring_set_tail(r);
	}
}

static int
ring_fetch_one(struct tcmu_ring *r, struct tcmu_ring_ent *ent)
{
	uint32_t head, len_op, len, pending;
	const uint8_t *e;
	int rc;

	if (r->base == NULL)
		return -EBADMSG;
	head = ring_head(r);
	if (head >= r->cmdr_size || (head & 7) != 0)
		return -EBADMSG;
	while (r->next != head) {
		pending = ring_dist(r, r->next, head);
		e = r->base + r->cmdr_off + r->next;
		len_op = ld32(e + ENT_LEN_OP);
		len = tcmu_hdr_get_len(len_op);
		/* Entries never wrap: the kernel pads to the end first. */
		if (len == 0 || len > pending ||
		    len > r->cmdr_size - r->next)
			return -EBADMSG;
		switch (tcmu_hdr_get_op(len_op)) {
		case TCMU_OP_PAD:
			r->next = ring_advance(r, r->next, len);
			continue;
		case TCMU_OP_CMD:
			rc = ring_fetch_cmd(r, e, len, ent);
			break;
		case TCMU_OP_TMR:
			rc = ring_fetch_tmr(e, len, ent);
			break;
		default:
			return -EBADMSG;
		}
		if (rc != 0)
			return rc;
		ent->cmd_id = ld16(e + ENT_CMD_ID);
		r->next = ring_advance(r, r->next, len);
		if (ent->kind == TCMU_RING_CMD)
			r->inflight++;
		return 1;
	}
	return 0;
}

int
tcmu_ring_fetch(struct tcmu_ring *r, struct tcmu_ring_ent *ent)
{
	int rc;

	rc = ring_fetch_one(r, ent);
	if (rc >= 0 && r->inflight == 0)
		ring_tidy_tail(r);
	return rc;
}

int
tcmu_ring_complete(struct tcmu_ring *r, uint16_t cmd_id, uint8_t status,
    const uint8_t *sense, size_t sense_len, bool set_read_len,
    uint32_t read_len)
{
	uint32_t pos, len_op, len;
	uint8_t *e, uflags = 0;

	if (r->base == NULL || r->inflight == 0)
		return -ENOENT;
	/* Skip to the first CMD slot at the tail (the kernel skips PAD
	 * and TMR entries the same way).  Everything in [tail, next) was
	 * checked by fetch; check again, the memory is shared. */
	pos = r->tail;
	for (;;) {
		if (pos == r->next)
			return -EBADMSG;
		e = r->base + r->cmdr_off + pos;
		len_op = ld32(e + ENT_LEN_OP);
		len = tcmu_hdr_get_len(len_op);
		if (len == 0 || len > ring_dist(r, pos, r->next) ||
		    len > r->cmdr_size - pos)
			return -EBADMSG;
		if (tcmu_hdr_get_op(len_op) == TCMU_OP_CMD)
			break;
		pos = ring_advance(r, pos, len);
	}
	if (len < ENT_SIZE)
		return -EBADMSG;
	memcpy(e + ENT_CMD_ID, &cmd_id, sizeof(cmd_id));
	if (set_read_len && (r->flags & TCMU_MAILBOX_FLAG_CAP_READ_LEN)) {
		uflags |= TCMU_UFLAG_READ_LEN;
		memcpy(e + ENT_READ_LEN, &read_len, sizeof(read_len));
	}
	e[ENT_UFLAGS] = uflags;
	e[ENT_STATUS] = status;
	memset(e + ENT_SENSE, 0, TCMU_RING_SENSE_MAX);
	if (sense != NULL && sense_len != 0)
		memcpy(e + ENT_SENSE, sense, sense_len < TCMU_RING_SENSE_MAX ?
		    sense_len : TCMU_RING_SENSE_MAX);
	r->tail = ring_advance(r, pos, len);
	r->inflight--;
	ring_set_tail(r);
	if (r->inflight == 0)
		ring_tidy_tail(r);
	return 0;
}
