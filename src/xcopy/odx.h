/*
 * odx.h - POPULATE TOKEN (83h/10h), WRITE USING TOKEN (83h/11h), RECEIVE
 * ROD TOKEN INFORMATION (84h/07h) and REPORT ALL ROD TOKENS (84h/08h):
 * the "ODX" side of the copy manager (SBC-3 5.x, SPC-4 6.x; digest in
 * third-party-copy.md 5.5, 6, 7.2).
 *
 * DESIGN.  Two files:
 *
 *   odx_parse.c   pure parsers: PT / WUT parameter list bytes plus the
 *                 addressed LU's geometry and struct tpc_limits in, a host
 *                 struct (flags, timeout, ROD type, ranges, the 512-byte
 *                 token) or an enum sense_reason with its field pointer
 *                 out.  Checks that need the token registry (unknown,
 *                 corrupt, revoked, expired, ...) are not made here.
 *   odx_cmd.c     the handlers.  PT snapshots nothing it cannot keep: the
 *                 token (rod_token.h) names the source LU and its ranges;
 *                 when the backstore can clone, the ranges are reflinked
 *                 into a hidden snapshot and the token reads from it
 *                 (point in time); otherwise the token is revoked by the
 *                 first write that touches a source range (change
 *                 vulnerable), through the LU range-lock release hook.
 *                 WUT maps the ROD (source ranges, after OFFSET INTO ROD)
 *                 onto the destination ranges as struct copy_job steps and
 *                 runs them in the copy engine; the zero ROD token
 *                 (FFFF0001h) becomes COPY_STEP_ZERO steps.  Both register
 *                 their list ID in the EXTENDED COPY list-ID table (LID4
 *                 namespace), so RECEIVE COPY STATUS(LID4), RRTI and COPY
 *                 OPERATION ABORT see them like any copy.
 */
#ifndef TPCD_ODX_H
#define TPCD_ODX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sense.h"

struct scsi_cmd;
struct tpc_limits;

#define ODX_PT_HDR		16	/* POPULATE TOKEN header */
#define ODX_WUT_HDR		536	/* WRITE USING TOKEN header */
#define ODX_RANGE_LEN		16	/* block device range descriptor */
#define ODX_TOKEN_LEN		512
#define ODX_TOKEN_BODY_LEN	0x01f8	/* ROD TOKEN LENGTH */
#define ODX_MAX_RANGES_HARD	1024	/* array bound; limits are lower */

/* ROD types (SPC-4 table 117 / third-party-copy.md 6.4) */
#define ODX_ROD_CM_INTERNAL	0x00000000u
#define ODX_ROD_AUR		0x00010000u
#define ODX_ROD_PIT_DEFAULT	0x00800000u
#define ODX_ROD_PIT_VULN	0x00800001u
#define ODX_ROD_PIT_PERSIST	0x00800002u
#define ODX_ROD_PIT_ANY		0x0080ffffu
#define ODX_ROD_ZERO		0xffff0001u	/* block device zero token */

struct odx_range {
	uint64_t	 lba;
	uint32_t	 nblocks;
};

struct odx_pt {
	bool		 immed;
	bool		 rtv;
	uint32_t	 inactivity_s;	/* 0 = default (already applied) */
	uint32_t	 rod_type;	/* requested (RTV) or ODX_ROD_PIT_DEFAULT */
	uint16_t	 n_ranges;
	uint64_t	 total_blocks;
	struct odx_range ranges[ODX_MAX_RANGES_HARD];
};

struct odx_wut {
	bool		 immed;
	bool		 del_tkn;
	uint64_t	 offset;	/* OFFSET INTO ROD, destination blocks */
	uint32_t	 rod_type;	/* from the token */
	uint8_t		 token[ODX_TOKEN_LEN];
	uint16_t	 n_ranges;
	uint64_t	 total_blocks;
	struct odx_range ranges[ODX_MAX_RANGES_HARD];
};

/* Geometry of the LU the command addresses. */
struct odx_lu_geom {
	uint64_t	 nblocks;
	uint32_t	 block_size;
};

/*
 * Parse a POPULATE TOKEN parameter list of len bytes (the PARAMETER LIST
 * LENGTH, already cut to the data received).  Check order:
 *   list shorter than the header or than its own length fields	1A/00
 *   POPULATE TOKEN DATA LENGTH too small				26/00 @0
 *   RANGE DESCRIPTOR LENGTH 0 or not a multiple of 16		26/00 @14
 *   more descriptors than MAXIMUM RANGE DESCRIPTORS			26/08
 *   INACTIVITY TIMEOUT > MAXIMUM INACTIVITY TIMEOUT			26/00 @4
 *   RTV and a ROD TYPE we cannot create				26/00 @8
 *   a range past the capacity (INFORMATION = the LBA)		21/00
 *   overlapping ranges						26/00 @desc
 *   total blocks > MAXIMUM TOKEN TRANSFER SIZE			26/00 @desc+8
 */
enum sense_reason odx_parse_pt(const uint8_t *p, size_t len,
	    const struct odx_lu_geom *, const struct tpc_limits *,
	    struct odx_pt *, struct sense_detail *);

/*
 * Parse a WRITE USING TOKEN parameter list.  Check order:
 *   list shorter than the header or than its own length fields	1A/00
 *   WRITE USING TOKEN DATA LENGTH too small				26/00 @0
 *   ROD TOKEN LENGTH != 01F8h					23/0A
 *   ROD TYPE neither one we issue nor the zero token		23/01
 *   RANGE DESCRIPTOR LENGTH 0 or not a multiple of 16		26/00 @534
 *   more descriptors than MAXIMUM RANGE DESCRIPTORS			26/08
 *   a range past the capacity					21/00
 *   overlapping ranges						26/00 @desc
 * Token authenticity and state are checked by the caller (rod_token.h).
 */
enum sense_reason odx_parse_wut(const uint8_t *p, size_t len,
	    const struct odx_lu_geom *, const struct tpc_limits *,
	    struct odx_wut *, struct sense_detail *);

/* ROD types we create with POPULATE TOKEN (RTV=1 accepts these). */
bool	odx_rod_type_creatable(uint32_t rod_type);
/* ROD types a WRITE USING TOKEN accepts (ours plus the zero token). */
bool	odx_rod_type_usable(uint32_t rod_type);

/*
 * Map [offset, offset + want) blocks of a ROD made of src ranges (source
 * block size sbs) onto the destination ranges (block size dbs).  Calls
 * emit(arg, src_byte_off, dst_byte_off, len) for each contiguous piece in
 * order and returns the number of destination bytes covered (less than
 * the destination ranges ask for when the ROD ends first).  Pure; used by
 * the handler and the unit tests' reference model.
 */
uint64_t odx_map(const struct odx_range *src, unsigned int n_src,
	    uint32_t sbs, uint64_t rod_off_bytes, const struct odx_range *dst,
	    unsigned int n_dst, uint32_t dbs,
	    void (*emit)(void *, uint64_t, uint64_t, uint64_t), void *arg);

/* --- handlers (odx_cmd.c) --- */
enum sense_reason odx_populate_token(struct scsi_cmd *);	/* 83h/10h */
enum sense_reason odx_write_using_token(struct scsi_cmd *);	/* 83h/11h */
enum sense_reason odx_rrti(struct scsi_cmd *);			/* 84h/07h */
enum sense_reason odx_report_all_tokens(struct scsi_cmd *);	/* 84h/08h */

/*
 * Token scope (docs/odx.md "Scope") is per TPG: the TPG attribute
 * tpcd_token_scope, read through target_token_scope_wide() by WRITE USING
 * TOKEN and REPORT ALL ROD TOKENS.
 *
 * Expiry sweep: every POPULATE TOKEN makes sure a timer on loop 0 runs
 * rod_registry_sweep() every ROD_SWEEP_INTERVAL_MS (or the interval set
 * here; $TPCD_ROD_SWEEP_MS at the first PT, for tests) while the registry
 * holds tokens or tombstones.  odx_sweep_ensure() starts it if needed
 * (any loop or thread, once loops exist; POPULATE TOKEN calls it after
 * issuing a token); odx_sweep_running(): armed or posted.
 */
void	odx_sweep_ensure(void);
void	odx_set_sweep_interval(uint64_t ms);	/* 0: the default */
bool	odx_sweep_running(void);
/* Point-in-time snapshots (reflink of the source ranges into an
 * unlinked O_TMPFILE beside the source file) on (default) or off; off,
 * or when cloning fails, tokens are change vulnerable.  Also off when
 * $TPCD_ODX_SNAPSHOT=0 at the first POPULATE TOKEN. */
void	odx_set_snapshots(bool on);
bool	odx_snapshots_enabled(void);
/* 83h/1Ch: COPY OPERATION ABORT of an active operation (xcopy), or of a
 * completed POPULATE TOKEN: its token is cancelled (23/08 on use). */
enum sense_reason odx_copy_op_abort(struct scsi_cmd *);

#endif
