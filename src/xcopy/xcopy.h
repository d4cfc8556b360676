/*
 * xcopy.h - EXTENDED COPY (LID1 83h/00h, LID4 83h/01h), the copy results
 * commands (84h) and the third-party copy limits and VPD page.
 *
 * DESIGN.  The module owns four things:
 *
 *   xcopy_parse.c   a pure parser: parameter list bytes in, a host
 *                   struct copy_plan (header, CSCD and segment
 *                   descriptors, byte offsets kept for field pointers) or
 *                   an enum sense_reason with the field pointer out.  The
 *                   checks run in one fixed order (third-party-copy.md
 *                   3.2): lengths, descriptor counts, descriptor types,
 *                   then field errors; libiscsi depends on that order.
 *   tpc_limits.c    one struct tpc_limits behind RECEIVE COPY OPERATING
 *                   PARAMETERS and VPD 8Fh, so the two never disagree.
 *   xcopy_status.c  the per I_T nexus list-ID table (nexus->tpc): active
 *                   operations block reuse of their list ID (00/16),
 *                   completed ones keep their results for RECEIVE COPY
 *                   STATUS / FAILURE DETAILS / DATA until replaced, evicted
 *                   or the nexus goes away.  Progress of a running copy is
 *                   read from the engine's atomics.
 *   xcopy_cmd.c     the handlers: resolve every CSCD the segments name to
 *                   an LU of the issuing nexus's LUN map only (never a
 *                   global search: CVE-2020-28374), turn segments into
 *                   struct copy_job steps (copy_engine.h) run in phases
 *                   (a PR key registration or held-data capture sits
 *                   between engine jobs), and complete the command -- or
 *                   only the status entry, for LID4 IMMED -- with COPY
 *                   ABORTED sense carrying the failing segment number and
 *                   the failed I/O's sense.
 *
 * Locking: the list-ID table has its own mutex; an operation runs on the
 * loop of the command that started it.  Lifetime: a table outlives its
 * nexus while operations it started are still running (they are aborted
 * by xcopy_nexus_fini()).
 */
#ifndef TPCD_XCOPY_H
#define TPCD_XCOPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sense.h"

struct lun;
struct scsi_cmd;
struct scsi_nexus;

/* --- limits (tpc_limits.c) --- */

struct tpc_limits {
	uint16_t	 max_cscd;		/* CSCD descriptors per list */
	uint16_t	 max_segs;		/* segment descriptors per list */
	uint32_t	 max_desc_list_len;	/* CSCD + segment bytes */
	uint32_t	 max_seg_len;		/* bytes one segment moves */
	uint32_t	 max_inline;		/* inline data bytes (0) */
	uint32_t	 held_data_limit;	/* bytes kept for 84h/01h,06h */
	uint16_t	 total_concurrent;	/* copies per copy manager */
	uint8_t		 max_concurrent;	/* identified copies per nexus */
	uint8_t		 data_seg_gran_log2;
	uint8_t		 inline_gran_log2;
	uint8_t		 held_gran_log2;
	bool		 snlid;			/* LIST ID USAGE 11b allowed */
	/* implemented descriptor type codes, ascending */
	const uint8_t	*codes;
	uint8_t		 n_codes;
	/* CSCD IDs above 07FFh we accept, ascending */
	const uint16_t	*ids;
	uint8_t		 n_ids;
	/* ROD tokens, POPULATE TOKEN / WRITE USING TOKEN (odx): VPD 8Fh
	 * descriptors 0000h and 0106h; sizes in bytes, reported in the
	 * LU's blocks */
	uint16_t	 max_ranges;		/* range descriptors per PT/WUT */
	uint32_t	 max_inactivity_s;
	uint32_t	 default_inactivity_s;
	uint32_t	 min_token_lifetime_s;
	uint32_t	 max_token_lifetime_s;
	uint64_t	 max_token_bytes;	/* MAXIMUM TOKEN TRANSFER SIZE */
	uint64_t	 optimal_transfer_bytes;	/* OPTIMAL TRANSFER COUNT */
};

const struct tpc_limits *tpc_limits(void);
bool	tpc_seg_supported(uint8_t type);
bool	tpc_cscd_supported(uint8_t type);
/* Largest EXTENDED COPY parameter list we read (header + lists). */
uint32_t tpc_max_param_len(bool lid4);
/* RECEIVE COPY OPERATING PARAMETERS data into buf (at most max bytes);
 * returns the full length. */
size_t	tpc_oper_params(uint8_t *buf, size_t max);

/* --- parameter list (xcopy_parse.c) --- */

#define XCOPY_LID1_HDR		16
#define XCOPY_LID4_HDR		48
#define XCOPY_CSCD_LEN		32
#define XCOPY_DESIG_MAX		20

/* LIST ID USAGE (SPC-4 6.4.3.2) */
#define XCOPY_USAGE_HOLD	0	/* 00b: keep results */
#define XCOPY_USAGE_RSVD	1
#define XCOPY_USAGE_DISCARD	2	/* 10b: unique while active */
#define XCOPY_USAGE_NONE	3	/* 11b: no list ID */

/* Special CSCD descriptor IDs (SPC-4 table 150) */
#define XCOPY_ID_MAX_INDEX	0x07ff
#define XCOPY_ID_NULL_BLOCK	0xc000
#define XCOPY_ID_NULL_STREAM	0xc001
#define XCOPY_ID_ROD		0xf800
#define XCOPY_ID_SELF		0xffff

/* Segment descriptor type codes we know */
#define XCOPY_SEG_B2B		0x02
#define XCOPY_SEG_VERIFY	0x07
#define XCOPY_SEG_B2B_OFF	0x0a
#define XCOPY_SEG_B2B_HOLD	0x0d
#define XCOPY_SEG_REGISTER_KEY	0x14
#define XCOPY_SEG_BLOCK_IMAGE	0x16
#define XCOPY_CSCD_ID		0xe4

struct xcopy_cscd {
	uint32_t	 off;		/* offset in the parameter list */
	uint8_t		 type;		/* E4h */
	uint8_t		 pdt;
	bool		 nul;
	uint8_t		 code_set;	/* byte 4 bits 3:0 */
	uint8_t		 assoc;		/* byte 5 bits 5:4 */
	uint8_t		 desig_type;	/* byte 5 bits 3:0 */
	uint8_t		 desig_len;
	uint8_t		 desig[XCOPY_DESIG_MAX];
	bool		 pad;
	uint32_t	 block_len;	/* DISK BLOCK LENGTH */
};

struct xcopy_seg {
	uint32_t	 off;		/* offset in the parameter list */
	uint8_t		 type;
	bool		 cat, dc;
	uint16_t	 src, dst;	/* CSCD descriptor IDs */
	uint64_t	 src_lba, dst_lba;
	uint32_t	 count;		/* blocks (02h/0Dh), bytes (0Ah) */
	uint16_t	 src_boff, dst_boff;	/* 0Ah byte offsets */
	bool		 tur;		/* 07h */
	uint64_t	 res_key, sa_res_key;	/* 14h */
};

struct copy_plan {
	bool		 lid4;
	uint32_t	 list_id;
	uint8_t		 usage;		/* XCOPY_USAGE_* */
	uint8_t		 priority;
	bool		 str;
	bool		 immed, g_sense;	/* LID4 only */
	uint32_t	 hdr_len;	/* 16 or 48 */
	uint32_t	 inline_len;
	uint16_t	 n_cscd, n_seg;
	struct xcopy_cscd *cscd;	/* owned */
	struct xcopy_seg *seg;		/* owned */
};

/*
 * Parse an EXTENDED COPY parameter list of len bytes (the PARAMETER LIST
 * LENGTH, already cut to the data received).  len 0 gives SENSE_OK and an
 * empty plan.  On error returns the reason with the field pointer (if any)
 * in *sd and leaves nothing allocated.
 */
enum sense_reason xcopy_parse(const uint8_t *p, size_t len, bool lid4,
	    const struct tpc_limits *, struct copy_plan *,
	    struct sense_detail *sd);
void	copy_plan_fini(struct copy_plan *);

/* --- designator matching and steps (xcopy_cmd.c) --- */

/*
 * Does the VPD 83h page vpd (len bytes, header included) report a logical
 * unit designator equal to the one in c (code set, type, length, bytes)?
 */
bool	xcopy_vpd83_match(const struct xcopy_cscd *c, const uint8_t *vpd,
	    size_t len);

/* Byte range one segment moves, computed from the plan and block sizes.
 * Returns SENSE_OK or the ASC the segment fails with (inexact segment,
 * segment too long). */
struct xcopy_range {
	uint64_t	 src_off, dst_off, len;	/* bytes */
	uint64_t	 pad_len;		/* zeroes after dst (PAD) */
};
enum sense_reason xcopy_seg_range(const struct xcopy_seg *, uint32_t src_bs,
	    uint32_t dst_bs, bool dst_pad, const struct tpc_limits *,
	    struct xcopy_range *);

/* --- handlers (xcopy_cmd.c, xcopy_status.c) --- */
enum sense_reason xcopy_lid1(struct scsi_cmd *);		/* 83h/00h */
enum sense_reason xcopy_lid4(struct scsi_cmd *);		/* 83h/01h */
enum sense_reason xcopy_copy_op_abort(struct scsi_cmd *);	/* 83h/1Ch */
enum sense_reason xcopy_rcv_status_lid1(struct scsi_cmd *);	/* 84h/00h */
enum sense_reason xcopy_rcv_data(struct scsi_cmd *);	/* 84h/01h, 06h */
enum sense_reason xcopy_rcv_oper_params(struct scsi_cmd *);	/* 84h/03h */
enum sense_reason xcopy_rcv_failure(struct scsi_cmd *);	/* 84h/04h */
enum sense_reason xcopy_rcv_status_lid4(struct scsi_cmd *);	/* 84h/05h */

/* How long the results of a completed operation (list ID usage 00b, PT's
 * token for RRTI) stay readable; "copy_results_hold" in the conf. */
#define XCOPY_HOLD_DEFAULT_S	60
void	xcopy_set_hold_ms(uint64_t ms);

/* nexus_destroy(): abort the nexus's copies, drop its results. */
void	xcopy_nexus_fini(struct scsi_nexus *);

/* --- VPD 8Fh (tpc_vpd.c), entry of spc_vpd_pages[] --- */
size_t	tpc_vpd_page(struct scsi_cmd *, uint8_t *buf, size_t max);

#endif
