/*
 * fuzz_tcmu_ring.c - libFuzzer target for the TCMU ring logic
 * (handlers/tcmu/tcmu_ring.c) on a corrupt shared mapping.
 *
 * Input: u8 mailbox flags, u16 ring size (in 8-byte units, at least 14),
 * u16 data area size (bytes), u32 head, u32 tail, u8 version tweak, then
 * the bytes of the command ring (the rest of the ring is zero), then the
 * completion schedule: one byte per step, low bit 0 = fetch, 1 = complete
 * the (byte >> 1)-th fetched command still pending.
 *
 * The mapping is malloc'd at its exact size so ASan catches any access
 * outside it.  Properties: fetched iovecs lie in the data area, the CDB
 * copy is at most 32 bytes, tail and the fetch cursor stay 8-aligned
 * inside the ring, completion only succeeds for a pending command.
 */
#define iovec tcmu_kiovec
#include <linux/target_core_user.h>
#undef iovec

#include <errno.h>

#include "fuzz.h"
#include "tcmu_ring.h"

#define FZ_IOV_MAX	64
#define FZ_PEND_MAX	256

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in;
	struct tcmu_mailbox mb;
	struct tcmu_ring r;
	struct tcmu_ring_ent ent;
	struct iovec iov[FZ_IOV_MAX];
	uint16_t ids[32], pend[FZ_PEND_MAX];
	unsigned int npend = 0, i, k;
	uint32_t rsize, dsize, head, tail;
	size_t msize, got;
	const uint8_t *ringb;
	uint8_t *map, step;
	int rc;

	fuzz_in_init(&in, data, size);
	memset(&mb, 0, sizeof(mb));
	mb.flags = fuzz_u8(&in);
	rsize = (uint32_t)fuzz_u16(&in) * 8;
	if (rsize < 14 * 8)
		rsize = 14 * 8;
	if (rsize > 65536)
		rsize = 65536;
	dsize = fuzz_u16(&in);
	head = fuzz_u32(&in);
	tail = fuzz_u32(&in);
	mb.version = TCMU_MAILBOX_VERSION + (fuzz_u8(&in) == 0xff);
	mb.cmdr_off = sizeof(mb);
	mb.cmdr_size = rsize;
	mb.cmd_head = head % (rsize + 8);
	mb.cmd_tail = tail % (rsize + 8);
	msize = sizeof(mb) + rsize + dsize;
	map = malloc(msize);
	if (map == NULL)
		return 0;
	memset(map, 0, msize);
	memcpy(map, &mb, sizeof(mb));
	ringb = fuzz_bytes(&in, rsize, &got);
	memcpy(map + sizeof(mb), ringb, got);

	if (tcmu_ring_init(&r, map, msize) != 0) {
		free(map);
		return 0;
	}
	memset(&ent, 0, sizeof(ent));
	ent.iov = iov;
	ent.iov_cap = FZ_IOV_MAX;
	ent.ids = ids;
	ent.ids_cap = 32;
	for (k = 0; k < 512 && in.left != 0; k++) {
		step = fuzz_u8(&in);
		if ((step & 1) == 0) {
			rc = tcmu_ring_fetch(&r, &ent);
			FUZZ_CHECK(rc == 0 || rc == 1 || rc == -E2BIG ||
			    rc == -EBADMSG);
			if (rc != 1)
				continue;
			if (ent.kind == TCMU_RING_CMD) {
				FUZZ_CHECK(ent.cdb_len <= TCMU_RING_CDB_MAX);
				FUZZ_CHECK(ent.iov_cnt + ent.bidi_cnt <=
				    FZ_IOV_MAX);
				for (i = 0; i < ent.iov_cnt + ent.bidi_cnt;
				    i++) {
					uint8_t *b = ent.iov[i].iov_base;

					FUZZ_CHECK(b >= map + r.data_off);
					FUZZ_CHECK(ent.iov[i].iov_len <=
					    (size_t)(map + msize - b));
				}
				if (npend < FZ_PEND_MAX)
					pend[npend++] = ent.cmd_id;
			} else {
				FUZZ_CHECK(ent.kind == TCMU_RING_TMR);
				FUZZ_CHECK(ent.ids_cnt <= 32);
			}
		} else {
			uint8_t sense[TCMU_RING_SENSE_MAX + 8];

			memset(sense, 0x70, sizeof(sense));
			if (npend == 0) {
				i = r.inflight;
				rc = tcmu_ring_complete(&r, 1, 0, NULL, 0,
				    false, 0);
				FUZZ_CHECK(i == 0 ? rc == -ENOENT :
				    rc == 0 || rc == -EBADMSG);
				continue;
			}
			i = (step >> 1) % npend;
			rc = tcmu_ring_complete(&r, pend[i], 2, sense,
			    sizeof(sense), step & 2, 4096);
			FUZZ_CHECK(rc == 0 || rc == -EBADMSG);
			if (rc == 0)
				pend[i] = pend[--npend];
		}
		FUZZ_CHECK(r.next < r.cmdr_size && (r.next & 7) == 0);
		FUZZ_CHECK(r.tail < r.cmdr_size && (r.tail & 7) == 0);
	}
	free(map);
	return 0;
}
