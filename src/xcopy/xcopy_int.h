/*
 * xcopy_int.h - between the EXTENDED COPY handlers (xcopy_cmd.c) and the
 * per I_T nexus list-ID table (xcopy_status.c), also used by POPULATE
 * TOKEN / WRITE USING TOKEN (odx_cmd.c).
 *
 * An entry exists for every running operation (usage 11b ones too, so the
 * table knows how many copies a nexus runs; those are never found by list
 * ID) and for every completed one whose results are held (usage 00b).
 * The table's mutex guards entries; an entry's op pointer is valid while
 * the entry is active, and the op is freed only after xcopy_list_end()
 * detached it, under that mutex.
 */
#ifndef TPCD_XCOPY_INT_H
#define TPCD_XCOPY_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "scsi.h"
#include "sense.h"
#include "xcopy/copy_engine.h"

struct lun;
struct scsi_nexus;
struct xcopy_nexus;
struct xcopy_op;

enum xcopy_ns {
	XCOPY_NS_LID1,		/* 8-bit list IDs (83h/00h) */
	XCOPY_NS_LID4,		/* 32-bit list IDs (83h/01h, PT, WUT) */
};

/* RECEIVE COPY STATUS(LID4) COPY OPERATION STATUS (SPC-4 6.21) */
#define XCOPY_COS_OK		0x01
#define XCOPY_COS_ERROR		0x02
#define XCOPY_COS_FG		0x11
#define XCOPY_COS_BG		0x12
#define XCOPY_COS_TERMINATED	0x60

/* The outcome of an operation, stored for the copy results commands. */
struct xcopy_result {
	uint8_t		 cos;		/* XCOPY_COS_OK, _ERROR, _TERMINATED */
	uint8_t		 status;	/* SCSI status of the command */
	uint8_t		 sense_len;
	uint8_t		 sense[SCSI_SENSE_MAX];
	uint16_t	 segs;		/* segments processed */
	uint64_t	 bytes;
	uint16_t	 ops;		/* OPERATION COUNTER */
	uint8_t		*held;		/* held data (moved into the entry) */
	uint32_t	 held_len;
	/* odx: the ROD token of a POPULATE TOKEN (XCOPY_TOKEN_LEN bytes,
	 * moved into the entry like held) and the block size TRANSFER
	 * COUNT is reported in by RRTI (0: bytes) */
	uint8_t		*token;
	uint32_t	 block_size;
};

#define XCOPY_TOKEN_LEN	512

/* A copy of an entry for the results commands. */
struct xcopy_snap {
	bool		 active;
	bool		 immed;
	uint8_t		 sa;		/* 83h service action */
	struct xcopy_result res;	/* progress when active */
	bool		 hdd;		/* held data discarded */
	bool		 has_token;	/* odx: token[] is valid */
	uint8_t		 token[XCOPY_TOKEN_LEN];
};

/*
 * Operations other than EXTENDED COPY (POPULATE TOKEN, WRITE USING TOKEN:
 * odx_cmd.c) share the table through these hooks, called under the table
 * mutex like xcopy_op_progress/abort/orphan below.
 */
struct xcopy_op_hooks {
	void	(*progress)(void *op, struct xcopy_result *);
	void	(*abort)(void *op);
	void	(*orphan)(void *op);
};
enum sense_reason xcopy_list_begin_ext(struct xcopy_nexus *, enum xcopy_ns,
	    uint32_t list_id, uint8_t sa, uint8_t usage, bool immed,
	    const struct xcopy_op_hooks *, void *op, void **ent);

struct xcopy_nexus *xcopy_nexus_get(struct scsi_nexus *);
/* Register an operation: OPERATION IN PROGRESS (00/16) when an active one
 * of the nexus has the same list ID; a completed one is replaced. */
enum sense_reason xcopy_list_begin(struct xcopy_nexus *, enum xcopy_ns,
	    uint32_t list_id, uint8_t sa, uint8_t usage, bool immed,
	    struct xcopy_op *, void **ent);
/* The operation ended: store res (its held buffer is taken over), detach
 * the op.  After this the op must not be reached through the table. */
void	xcopy_list_end(struct xcopy_nexus *, void *ent,
	    struct xcopy_result *res);
/* Snapshot of the entry with that list ID; false if none. take_held moves
 * the held data out (RECEIVE COPY DATA), drop frees a completed entry
 * (RECEIVE COPY FAILURE DETAILS). */
bool	xcopy_list_find(struct xcopy_nexus *, enum xcopy_ns, uint32_t list_id,
	    struct xcopy_snap *, bool take_held, bool drop);
/* COPY OPERATION ABORT: 0, or -ENOENT if no active operation. */
int	xcopy_list_abort(struct xcopy_nexus *, enum xcopy_ns,
	    uint32_t list_id);

/* xcopy_cmd.c: progress of a running op and its abort/orphan hooks,
 * called under the table mutex. */
void	xcopy_op_progress(struct xcopy_op *, struct xcopy_result *);
void	xcopy_op_abort(struct xcopy_op *);
void	xcopy_op_orphan(struct xcopy_op *);
/* Fill v[(*n)++] (zeroed first) with a step of segment seg, taking a
 * reference on src and dst where not NULL; the job drops them. */
void	xcopy_add_step(struct copy_step *v, unsigned int *n,
	    enum copy_step_kind, struct lun *src, struct lun *dst,
	    uint64_t src_off, uint64_t dst_off, uint64_t len,
	    unsigned int seg);

#endif
