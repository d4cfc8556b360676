/*
 * tcmu_ring.h - the TCMU command ring over one mapped region, as pure
 * logic (no fds, no loop): fetch entries, write completions.
 *
 * The region is what /dev/uioN map0 shows (<linux/target_core_user.h>):
 * the mailbox at offset 0, the command ring at [cmdr_off, cmdr_off +
 * cmdr_size) and the data area after it up to the end of the mapping.
 * The kernel appends entries at cmd_head; we fetch them in order with our
 * own cursor (next).  Completions go at cmd_tail, one per CMD slot, in
 * the order they finish: each carries the completed command's cmd_id, so
 * a completion may land in the slot of a command still running.  That is
 * why tcmu_ring_fetch() copies the CDB and the iovecs out of the entry.
 * The kernel skips PAD and TMR entries when it reads completions, so we
 * skip them too when we place one.
 *
 * The kernel is trusted, but every field is still bounds-checked: a
 * corrupt ring makes fetch return -EBADMSG and never makes us read or
 * write outside the mapping (iovecs must lie in the data area, the CDB in
 * the ring or data area, entries inside the published part of the ring).
 *
 * Memory ordering: cmd_head is loaded with acquire (the kernel fills an
 * entry before it moves head); completions are written before cmd_tail
 * is stored with release.  Notifying the kernel (write to the uio fd) is
 * the caller's business.
 */
#ifndef TPCD_TCMU_RING_H
#define TPCD_TCMU_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define TCMU_RING_CDB_MAX	32
#define TCMU_RING_SENSE_MAX	96

struct tcmu_ring {
	uint8_t		*base;		/* borrowed mapping */
	size_t		 size;
	uint32_t	 cmdr_off;
	uint32_t	 cmdr_size;
	uint64_t	 data_off;	/* first byte of the data area */
	uint16_t	 flags;		/* mailbox TCMU_MAILBOX_FLAG_CAP_* */
	uint32_t	 next;		/* next entry to fetch (ring offset) */
	uint32_t	 tail;		/* next completion slot (ring offset) */
	unsigned int	 inflight;	/* fetched CMD entries not completed */
};

enum tcmu_ring_kind {
	TCMU_RING_CMD = 1,
	TCMU_RING_TMR,
};

/* One fetched entry, copied out of the ring.  The caller provides the
 * arrays (iov, ids) and their capacities; a larger entry is not consumed
 * and fetch answers -E2BIG with iov_need / ids_need set. */
struct tcmu_ring_ent {
	enum tcmu_ring_kind kind;
	uint16_t	 cmd_id;
	/* CMD */
	uint8_t		 cdb[TCMU_RING_CDB_MAX];
	uint8_t		 cdb_len;	/* bytes copied (<= 32) */
	uint16_t	 cdb_full_len;	/* the CDB's own length */
	struct iovec	*iov;		/* iov_cnt, then bidi_cnt entries;
					   pointers into the mapping */
	unsigned int	 iov_cap;
	unsigned int	 iov_cnt;
	unsigned int	 bidi_cnt;
	unsigned int	 iov_need;
	uint64_t	 data_len;	/* sum of the first iov_cnt */
	uint64_t	 bidi_len;	/* sum of the bidi ones */
	/* TMR */
	uint8_t		 tmr_type;
	uint16_t	*ids;
	unsigned int	 ids_cap;
	unsigned int	 ids_cnt;
	unsigned int	 ids_need;
};

/* Check the mailbox of the region and set up the cursors at the
 * mailbox's cmd_tail.  -EINVAL when the mailbox does not describe a ring
 * inside the region (or the region is misaligned). */
int	tcmu_ring_init(struct tcmu_ring *, void *base, size_t size);
/* The kernel left entries we have not completed (head != tail). */
bool	tcmu_ring_busy(const struct tcmu_ring *);
/*
 * Fetch the next entry.  PAD entries are skipped.  Returns 1 and fills
 * ent, 0 when nothing is pending, -E2BIG (ent too small, see above),
 * -EBADMSG when the ring is corrupt (the cursor does not move).
 */
int	tcmu_ring_fetch(struct tcmu_ring *, struct tcmu_ring_ent *ent);
/*
 * Write the completion of cmd_id in the next CMD slot at the tail and
 * publish the new tail.  read_len is passed (TCMU_UFLAG_READ_LEN) only
 * when the mailbox has CAP_READ_LEN and set_read_len is true.  Sense is
 * truncated to 96 bytes.  -ENOENT when no fetched command is pending,
 * -EBADMSG when the slot is not a sane CMD entry (the tail does not
 * move).
 */
int	tcmu_ring_complete(struct tcmu_ring *, uint16_t cmd_id,
	    uint8_t status, const uint8_t *sense, size_t sense_len,
	    bool set_read_len, uint32_t read_len);
/* Length of the CDB that starts with opcode (SAM-5 group code, variable
 * length 7Fh: byte 7 + 8). */
unsigned int tcmu_ring_cdb_len(const uint8_t *cdb, size_t avail);

#endif
