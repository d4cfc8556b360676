/*
 * scsi_int.h - internals of the SCSI engine: the command table, flags,
 * handler prototypes and small helpers shared by scsi.c, scsi_ops.c,
 * spc.c, sbc.c and the later command modules (xcopy, odx, pr).
 *
 * One table (scsi_ops[256], scsi_ops.c) describes every command: its
 * handler, CDB length, flags and a usage mask per CDB byte.  Opcodes that
 * carry a service action in CDB byte 1 bits 4:0 point to a 32-entry
 * subtable through .sa.  Dispatch (scsi.c) checks the mask and the flag
 * gates so handlers never test reserved bits, LUN presence, unit
 * attentions or write protection themselves.  REPORT SUPPORTED OPERATION
 * CODES is generated from the same table.
 *
 * A handler returns an enum sense_reason (SENSE_OK when done) or
 * SCSI_ASYNC, in which case it calls scsi_cmd_complete() later on
 * cmd->loop.
 */
#ifndef TPCD_SCSI_INT_H
#define TPCD_SCSI_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lun.h"
#include "scsi.h"
#include "sense.h"

/* exec result: the handler will call scsi_cmd_complete() later. */
#define SCSI_ASYNC	((enum sense_reason)SENSE_REASON_MAX)

/* struct scsi_op flags */
#define OP_DATA_IN	0x0001	/* transfers Data-In */
#define OP_DATA_OUT	0x0002	/* Data-Out, fetched before exec */
#define OP_NEEDS_MEDIUM	0x0004	/* needs the medium ready */
#define OP_WRITE	0x0008	/* modifies the medium: WP gate */
#define OP_NO_UA	0x0010	/* runs with a UA pending (SAM-5 5.14) */
#define OP_ANY_LUN	0x0020	/* runs on an unmapped LUN (lun NULL) */
#define OP_RESV_OK	0x0040	/* allowed despite a reservation */

/* Control byte: NACA, LINK and the vendor bits are not supported, so the
 * usage mask of the control byte is empty (SAM-5 5.2: NACA = 1 when
 * unsupported is INVALID FIELD IN CDB). */
#define CONTROL_MASK	0x00

#define BE16_FIELD(b)	[b] = 0xff, [(b) + 1] = 0xff
#define BE24_FIELD(b)	BE16_FIELD(b), [(b) + 2] = 0xff
#define BE32_FIELD(b)	BE16_FIELD(b), BE16_FIELD((b) + 2)
#define BE64_FIELD(b)	BE32_FIELD(b), BE32_FIELD((b) + 4)

#define SCSI_SA_COUNT	32
#define SCSI_SA_MASK	0x1f

struct scsi_op {
	enum sense_reason (*exec)(struct scsi_cmd *);
	/* Service-action subtable (SCSI_SA_COUNT entries) or NULL. */
	const struct scsi_op *sa;
	const char	*name;
	uint8_t		 cdb_len;
	uint16_t	 flags;		/* OP_* */
	/* RSOC timeouts descriptor, seconds (0: not specified). */
	uint32_t	 timeout_nominal;
	uint32_t	 timeout_rec;
	/* Bits a CDB may set.  Byte 0 (opcode) and, for service-action
	 * entries, the SA bits of byte 1 are implied. */
	uint8_t		 usage[SCSI_CDB_MAX];
	/* Optional: the command exists only on LUs for which this is true
	 * (e.g. UNMAP on thin LUs).  Dispatch and REPORT SUPPORTED
	 * OPERATION CODES both ask it, so they never disagree. */
	bool		(*avail)(const struct lun *);
};

/* Is entry e (exec set) available on lun (NULL: any LU)? */
bool	scsi_op_avail(const struct scsi_op *e, const struct lun *lun);

/* The command table (scsi_ops.c). */
extern const struct scsi_op scsi_ops[256];

/*
 * Look up the entry for cdb.  Returns the entry, or NULL with *reason set
 * to INVALID COMMAND OPERATION CODE or INVALID FIELD IN CDB (byte 1,
 * service action) and the field pointer in cmd->sd.
 */
const struct scsi_op *scsi_op_lookup(struct scsi_cmd *, enum sense_reason *);
/* Is opcode op a service-action command with at least one entry? */
bool	scsi_op_has_sa(uint8_t op);
/* Check cdb against e->usage; INVALID FIELD IN CDB with pointer. */
enum sense_reason scsi_op_check_usage(struct scsi_cmd *,
	    const struct scsi_op *e, bool has_sa);

/* Effective Data-In / Data-Out capacity of the command buffer: data_len
 * when the direction matches, else 0. */
uint32_t scsi_cmd_data_cap(const struct scsi_cmd *, bool in);
/*
 * Return n bytes of response data built in buf (allocation length already
 * applied by the caller): sets spdtl = n and copies min(n, data_len).
 */
void	scsi_cmd_data_in(struct scsi_cmd *, const void *buf, size_t n);

/* Sense for cmd's LUN format (D_SENSE), used by REQUEST SENSE too. */
bool	scsi_cmd_desc_sense(const struct scsi_cmd *);
/* Write-protected for this command (nexus map, LU, SWP). */
bool	scsi_cmd_write_protected(const struct scsi_cmd *);

/* --- spc.c --- */
enum sense_reason spc_test_unit_ready(struct scsi_cmd *);
enum sense_reason spc_request_sense(struct scsi_cmd *);
enum sense_reason spc_inquiry(struct scsi_cmd *);
enum sense_reason spc_report_luns(struct scsi_cmd *);
enum sense_reason spc_mode_sense(struct scsi_cmd *);
enum sense_reason spc_mode_select(struct scsi_cmd *);
enum sense_reason spc_report_opcodes(struct scsi_cmd *);
enum sense_reason spc_report_tmfs(struct scsi_cmd *);
enum sense_reason spc_report_tpgs(struct scsi_cmd *);

/* VPD pages (spc.c); later modules add entries to spc_vpd_pages[]. */
struct spc_vpd_page {
	uint8_t		 page;
	/* Fill up to max bytes of the page at buf (header included) and
	 * return the full page length. */
	size_t		(*fill)(struct scsi_cmd *, uint8_t *buf,
			    size_t max);
};

/* --- sbc.c --- */
/* Largest READ/WRITE we accept (VPD B0h MAXIMUM TRANSFER LENGTH). */
#define SBC_MAX_XFER_BYTES	(32u << 20)

enum sense_reason sbc_read_capacity10(struct scsi_cmd *);
enum sense_reason sbc_read_capacity16(struct scsi_cmd *);
enum sense_reason sbc_read(struct scsi_cmd *);
enum sense_reason sbc_write(struct scsi_cmd *);
enum sense_reason sbc_sync_cache(struct scsi_cmd *);
/* LBA, transfer length and the byte of the length field of a READ/
 * WRITE/VERIFY-shaped CDB, by its group code (6/10/12/16 bytes). */
void	sbc_cdb_lba_len(const uint8_t *cdb, uint64_t *lba,
	    uint32_t *nblocks, uint8_t *len_byte);
/* Range check with overflow protection (SBC-4 4.5). */
enum sense_reason sbc_check_range(const struct lun *, uint64_t lba,
	    uint64_t nblocks);
/* max bytes, lowered to a front end's transfer limit, in blocks */
uint64_t sbc_limit_blocks(const struct lun *, uint64_t max);
uint32_t sbc_max_xfer_blocks(const struct lun *);
/* log2(physical / logical block size) */
unsigned int sbc_phys_exp(const struct lun *);

/* --- Complete SPC/SBC part 2 (sbc3): sbc_verify.c, sbc_misc.c,
 * sbc_sanitize.c --- */
/* VERIFY and WRITE AND VERIFY (10/12/16), ORWRITE(16) */
enum sense_reason sbc_verify(struct scsi_cmd *);
enum sense_reason sbc_write_verify(struct scsi_cmd *);
enum sense_reason sbc_orwrite(struct scsi_cmd *);
/* PRE-FETCH (10/16), START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL,
 * READ DEFECT DATA (10/12), SANITIZE */
enum sense_reason sbc_prefetch(struct scsi_cmd *);
enum sense_reason sbc_start_stop_unit(struct scsi_cmd *);
enum sense_reason sbc_prevent_allow(struct scsi_cmd *);
enum sense_reason sbc_read_defect_data(struct scsi_cmd *);
enum sense_reason sbc_sanitize(struct scsi_cmd *);
/* lun->sanitize (under lun->lock) */
#define SBC_SANITIZE_IDLE	0
#define SBC_SANITIZE_RUNNING	1
#define SBC_SANITIZE_FAILED	2	/* left by a new SANITIZE only */
#define SBC_SANITIZE_FAILED_AUSE 3	/* or by EXIT FAILURE MODE */
/* Dispatch gates (scsi.c): medium ready (stopped: 04/02, sanitize in
 * progress: 04/1B) and write protection (nexus map or read-only LU:
 * 27/00, SWP: 27/02). */
enum sense_reason sbc_medium_check(struct scsi_cmd *);
enum sense_reason sbc_write_protect_check(struct scsi_cmd *);

/* --- Complete SPC/SBC part 1 (sbc2): sbc_caw.c, sbc_wsame.c,
 * sbc_unmap.c; every medium write holds its LBA range (lun_lock.h) --- */
/* COMPARE AND WRITE: largest NUMBER OF LOGICAL BLOCKS (VPD B0h) */
#define SBC_CAW_MAX_BLOCKS	255u
/* WRITE SAME / UNMAP limits in bytes, advertised in blocks (VPD B0h) */
#define SBC_WS_MAX_BYTES	(1ull << 30)
#define SBC_UNMAP_MAX_BYTES	(1ull << 29)	/* 1 Mi blocks of 512 */
#define SBC_UNMAP_MAX_DESC	256u
enum sense_reason sbc_compare_and_write(struct scsi_cmd *);
enum sense_reason sbc_write_same(struct scsi_cmd *);
enum sense_reason sbc_unmap(struct scsi_cmd *);
enum sense_reason sbc_get_lba_status(struct scsi_cmd *);
/* Logical block provisioning as advertised: thin LU on a backstore that
 * can deallocate (LBPME), unmapped blocks read as zeroes (LBPRZ). */
bool	sbc_lbp_enabled(const struct lun *);
bool	sbc_lbprz(const struct lun *);
/* READ CAPACITY(16) byte 14 bits LBPME and LBPRZ. */
uint8_t	sbc_rc16_lbp_bits(const struct lun *);
/* VPD B0h: WSNZ, MAXIMUM COMPARE AND WRITE LENGTH, the unmap fields and
 * MAXIMUM WRITE SAME LENGTH into a zeroed 64-byte page at b. */
void	sbc_vpd_block_limits_lbp(const struct lun *, uint8_t *b);
/* VPD B2h into b (header included); returns the page length. */
size_t	sbc_vpd_lbp_page(const struct lun *, uint8_t *b);
uint64_t sbc_ws_max_blocks(const struct lun *);

/* --- reservations (pr): pr_cmd.c; state machine in pr.h/pr.c --- */
/* Reservation gate, called by dispatch for commands without OP_RESV_OK */
enum sense_reason pr_cmd_check(struct scsi_cmd *);
enum sense_reason pr_cmd_in(struct scsi_cmd *);		/* 5Eh */
enum sense_reason pr_cmd_out(struct scsi_cmd *);	/* 5Fh */
enum sense_reason pr_cmd_reserve(struct scsi_cmd *);	/* 16h, 56h */
enum sense_reason pr_cmd_release(struct scsi_cmd *);	/* 17h, 57h */

/* --- lun.c --- */
/* Snapshot of the LU's mode state (under lun->lock). */
struct lun_mode {
	bool	 wce;
	bool	 d_sense;
	bool	 swp;
};
void	lun_mode_get(struct lun *, struct lun_mode *);

#endif
