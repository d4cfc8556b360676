/*
 * sense.h - sense reasons and sense data.
 *
 * SCSI handlers return an enum sense_reason; one table in sense.c maps each
 * reason to status, sense key, ASC and ASCQ.  Details that vary per command
 * (the field pointer of INVALID FIELD, the INFORMATION field, a forwarded
 * sense) live in struct sense_detail, set through the helpers below.
 * sense_from_errno() is the only place an errno becomes a reason.
 * Sense is built in fixed or descriptor format (D_SENSE of the LU's control
 * mode page).
 */
#ifndef TPCD_SENSE_H
#define TPCD_SENSE_H

#include <stdbool.h>
#include <stdint.h>

enum sense_reason {
	SENSE_OK = 0,
	/* status-only */
	SENSE_BUSY,
	SENSE_RESERVATION_CONFLICT,
	SENSE_TASK_SET_FULL,
	SENSE_TASK_ABORTED,
	/* ILLEGAL REQUEST */
	SENSE_INVALID_OPCODE,			/* 20/00 */
	SENSE_INVALID_FIELD_IN_CDB,		/* 24/00 */
	SENSE_INVALID_FIELD_IN_PARAM,		/* 26/00 */
	SENSE_PARAM_LIST_LENGTH_ERROR,		/* 1A/00 */
	SENSE_LBA_OUT_OF_RANGE,			/* 21/00 */
	SENSE_LUN_NOT_SUPPORTED,		/* 25/00 */
	SENSE_SAVING_PARAMS_UNSUP,		/* 39/00 */
	SENSE_INVALID_RELEASE_OF_PR,		/* 26/04 */
	SENSE_INSUFFICIENT_REG_RESOURCES,	/* 55/04 */
	SENSE_INSUFFICIENT_RESOURCES,		/* 55/03 */
	SENSE_OPERATION_IN_PROGRESS,		/* 00/16 */
	SENSE_MEDIUM_REMOVAL_PREVENTED,		/* 53/02 */
	/* NOT READY */
	SENSE_NOT_READY_MANUAL_INTERVENTION,	/* 04/03 */
	SENSE_MEDIUM_NOT_PRESENT,		/* 3A/00 */
	/* MEDIUM ERROR / HARDWARE ERROR */
	SENSE_READ_ERROR,			/* 11/00 */
	SENSE_WRITE_ERROR,			/* 0C/00 */
	SENSE_INTERNAL_TARGET_FAILURE,		/* HW 44/00 */
	/* DATA PROTECT */
	SENSE_WRITE_PROTECTED,			/* 27/00 */
	SENSE_SPACE_ALLOC_FAILED_WP,		/* 27/07 */
	/* MISCOMPARE */
	SENSE_MISCOMPARE,			/* 1D/00 */
	/* ABORTED COMMAND */
	SENSE_ABORTED_COMMAND,			/* 00/00 */
	/* UNIT ATTENTION: the asc/ascq come from the detail */
	SENSE_UNIT_ATTENTION,
	/* already built in cmd->sense */
	SENSE_RAW,
	/* Complete SPC/SBC part 2 (sbc3): PRE-FETCH, START STOP UNIT,
	 * software write protect, SANITIZE */
	SENSE_CONDITION_MET,			/* status only */
	SENSE_NOT_READY_INIT_REQUIRED,		/* NOT READY 04/02 */
	SENSE_SOFTWARE_WRITE_PROTECTED,		/* DATA PROTECT 27/02 */
	SENSE_SANITIZE_IN_PROGRESS,		/* NOT READY 04/1B */
	SENSE_SANITIZE_FAILED,			/* MEDIUM ERROR 31/03 */
	/* third-party copy (xcopy): ILLEGAL REQUEST */
	SENSE_TOO_MANY_TARGET_DESC,		/* 26/06 */
	SENSE_UNSUPPORTED_TARGET_DESC,		/* 26/07 */
	SENSE_TOO_MANY_SEGMENT_DESC,		/* 26/08 */
	SENSE_UNSUPPORTED_SEGMENT_DESC,		/* 26/09 */
	SENSE_INLINE_DATA_LENGTH_EXCEEDED,	/* 26/0B */
	/* third-party copy: COPY ABORTED */
	SENSE_COPY_ABORTED,			/* 00/00 */
	SENSE_COPY_UNREACHABLE_TARGET,		/* 08/04 */
	SENSE_COPY_TPD_FAILURE,			/* 0D/01 */
	SENSE_COPY_TARGET_NOT_REACHABLE,	/* 0D/02 */
	SENSE_COPY_INCORRECT_TARGET_TYPE,	/* 0D/03 */
	SENSE_COPY_TARGET_UNDERRUN,		/* 0D/04 */
	SENSE_COPY_TARGET_OVERRUN,		/* 0D/05 */
	SENSE_COPY_INEXACT_SEGMENT,		/* 26/0A */
	/* ROD tokens (odx): ILLEGAL REQUEST, INVALID TOKEN OPERATION */
	SENSE_TOKEN_CAUSE_NOT_REPORTABLE,	/* 23/00 */
	SENSE_TOKEN_UNSUPPORTED_TYPE,		/* 23/01 */
	SENSE_TOKEN_REMOTE_USAGE,		/* 23/02 */
	SENSE_TOKEN_UNKNOWN,			/* 23/04 */
	SENSE_TOKEN_CORRUPT,			/* 23/05 */
	SENSE_TOKEN_REVOKED,			/* 23/06 */
	SENSE_TOKEN_EXPIRED,			/* 23/07 */
	SENSE_TOKEN_CANCELLED,			/* 23/08 */
	SENSE_TOKEN_DELETED,			/* 23/09 */
	SENSE_TOKEN_INVALID_LENGTH,		/* 23/0A */
	SENSE_INSUFFICIENT_RES_ROD,		/* 55/0C */
	SENSE_INSUFFICIENT_RES_ROD_TOKEN,	/* 55/0D */
	SENSE_REASON_MAX = 256,			/* later issues append */
};

/* Sense key specific field pointer (SPC-5 4.4.2.2). */
struct sense_detail {
	bool		 sks_valid;
	bool		 sks_cdb;	/* C/D: 1 = in CDB, 0 = parameter list */
	bool		 sks_bpv;	/* bit pointer valid */
	uint8_t		 sks_bit;
	uint16_t	 sks_field;	/* byte offset */
	bool		 info_valid;
	uint64_t	 info;		/* INFORMATION field */
	uint8_t		 ua_asc, ua_ascq; /* for SENSE_UNIT_ATTENTION */
	bool		 ili;
};

struct scsi_cmd;

/* Field pointer helpers: set details and return the reason. */
enum sense_reason scsi_invalid_field(struct scsi_cmd *, bool in_cdb,
	    uint16_t byte, int bit);	/* bit < 0: no bit pointer */
enum sense_reason sense_from_errno(int err, bool is_write);

/* Build sense for reason into buf (fixed or descriptor format).
 * Returns length, sets *status. */
uint8_t	sense_build(enum sense_reason, const struct sense_detail *,
	    bool descriptor, uint8_t *buf, uint8_t bufmax, uint8_t *status);
/* Build raw sense from key/asc/ascq with details. */
uint8_t	sense_build_raw(uint8_t key, uint8_t asc, uint8_t ascq,
	    const struct sense_detail *, bool descriptor, uint8_t *buf,
	    uint8_t bufmax);

/*
 * Third-party copy sense (SPC-4 4.5 and 6.4.5): reason's key/ASC/ASCQ,
 * the segment number in COMMAND-SPECIFIC INFORMATION, optionally a
 * segment pointer (sense-key specific, SD = pointer relative to the
 * segment descriptor) and the status and sense of the failed copy-target
 * I/O: fixed format puts them in the additional sense bytes at byte 18
 * with SOURCE/DESTINATION SENSE DATA OFFSET (byte 8/9) pointing there,
 * descriptor format uses a forwarded sense data descriptor (0Ch).
 */
struct sense_copy {
	uint32_t	 seg;		/* segment number */
	bool		 seg_valid;
	bool		 sks_valid;
	bool		 sks_sd;	/* pointer relative to the segment */
	uint16_t	 sks_field;
	uint8_t		 fwd_src;	/* 0 none, 1 copy source, 2 dest */
	uint8_t		 fwd_status;
	uint8_t		 fwd_len;
	const uint8_t	*fwd;		/* borrowed */
};
uint8_t	sense_build_copy(enum sense_reason, const struct sense_copy *,
	    bool descriptor, uint8_t *buf, uint8_t bufmax, uint8_t *status);
/* Build into cmd->sense (D_SENSE of its LU) and return SENSE_RAW, or the
 * reason itself when it carries no sense (status only). */
enum sense_reason copy_aborted(struct scsi_cmd *, enum sense_reason,
	    const struct sense_copy *);

#define SENSE_KEY_NO_SENSE		0x0
#define SENSE_KEY_RECOVERED_ERROR	0x1
#define SENSE_KEY_NOT_READY		0x2
#define SENSE_KEY_MEDIUM_ERROR		0x3
#define SENSE_KEY_HARDWARE_ERROR	0x4
#define SENSE_KEY_ILLEGAL_REQUEST	0x5
#define SENSE_KEY_UNIT_ATTENTION	0x6
#define SENSE_KEY_DATA_PROTECT		0x7
#define SENSE_KEY_BLANK_CHECK		0x8
#define SENSE_KEY_COPY_ABORTED		0xa
#define SENSE_KEY_ABORTED_COMMAND	0xb
#define SENSE_KEY_MISCOMPARE		0xe

#endif
