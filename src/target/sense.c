/*
 * sense.c - the one table from enum sense_reason to status, sense key,
 * ASC and ASCQ, and the builders of fixed (70h) and descriptor (72h)
 * sense data (SPC-4 4.5).
 *
 * sense_from_errno() is the only place an errno from a backstore becomes a
 * SCSI condition.
 */
#include <errno.h>
#include <string.h>

#include "scsi.h"
#include "scsi_int.h"
#include "sense.h"
#include "util.h"

struct sense_entry {
	uint8_t	status;
	uint8_t	key;
	uint8_t	asc;
	uint8_t	ascq;
};

#define CC(k, a, q)	{ SAM_STAT_CHECK_CONDITION, SENSE_KEY_##k, a, q }
#define CC_RAW		{ SAM_STAT_CHECK_CONDITION, 0, 0, 0 }
#define ST(s)		{ SAM_STAT_##s, 0, 0, 0 }

static const struct sense_entry sense_table[SENSE_REASON_MAX] = {
	[SENSE_OK]			= { SAM_STAT_GOOD, 0, 0, 0 },
	[SENSE_BUSY]			= ST(BUSY),
	[SENSE_RESERVATION_CONFLICT]	= ST(RESERVATION_CONFLICT),
	[SENSE_TASK_SET_FULL]		= ST(TASK_SET_FULL),
	[SENSE_TASK_ABORTED]		= ST(TASK_ABORTED),
	[SENSE_INVALID_OPCODE]		= CC(ILLEGAL_REQUEST, 0x20, 0x00),
	[SENSE_INVALID_FIELD_IN_CDB]	= CC(ILLEGAL_REQUEST, 0x24, 0x00),
	[SENSE_INVALID_FIELD_IN_PARAM]	= CC(ILLEGAL_REQUEST, 0x26, 0x00),
	[SENSE_PARAM_LIST_LENGTH_ERROR] = CC(ILLEGAL_REQUEST, 0x1a, 0x00),
	[SENSE_LBA_OUT_OF_RANGE]	= CC(ILLEGAL_REQUEST, 0x21, 0x00),
	[SENSE_LUN_NOT_SUPPORTED]	= CC(ILLEGAL_REQUEST, 0x25, 0x00),
	[SENSE_SAVING_PARAMS_UNSUP]	= CC(ILLEGAL_REQUEST, 0x39, 0x00),
	[SENSE_INVALID_RELEASE_OF_PR]	= CC(ILLEGAL_REQUEST, 0x26, 0x04),
	[SENSE_INSUFFICIENT_REG_RESOURCES] = CC(ILLEGAL_REQUEST, 0x55, 0x04),
	[SENSE_INSUFFICIENT_RESOURCES]	= CC(ILLEGAL_REQUEST, 0x55, 0x03),
	[SENSE_OPERATION_IN_PROGRESS]	= CC(ILLEGAL_REQUEST, 0x00, 0x16),
	[SENSE_MEDIUM_REMOVAL_PREVENTED] = CC(ILLEGAL_REQUEST, 0x53, 0x02),
	[SENSE_NOT_READY_MANUAL_INTERVENTION] = CC(NOT_READY, 0x04, 0x03),
	[SENSE_MEDIUM_NOT_PRESENT]	= CC(NOT_READY, 0x3a, 0x00),
	[SENSE_READ_ERROR]		= CC(MEDIUM_ERROR, 0x11, 0x00),
	[SENSE_WRITE_ERROR]		= CC(MEDIUM_ERROR, 0x0c, 0x00),
	[SENSE_INTERNAL_TARGET_FAILURE]	= CC(HARDWARE_ERROR, 0x44, 0x00),
	[SENSE_WRITE_PROTECTED]		= CC(DATA_PROTECT, 0x27, 0x00),
	[SENSE_SPACE_ALLOC_FAILED_WP]	= CC(DATA_PROTECT, 0x27, 0x07),
	[SENSE_MISCOMPARE]		= CC(MISCOMPARE, 0x1d, 0x00),
	[SENSE_ABORTED_COMMAND]	= CC(ABORTED_COMMAND, 0x00, 0x00),
	[SENSE_UNIT_ATTENTION]	= CC(UNIT_ATTENTION, 0x00, 0x00),
	[SENSE_RAW]			= CC_RAW,
	/* sbc3 */
	[SENSE_CONDITION_MET]		= ST(CONDITION_MET),
	[SENSE_NOT_READY_INIT_REQUIRED] = CC(NOT_READY, 0x04, 0x02),
	[SENSE_SOFTWARE_WRITE_PROTECTED] = CC(DATA_PROTECT, 0x27, 0x02),
	[SENSE_SANITIZE_IN_PROGRESS]	= CC(NOT_READY, 0x04, 0x1b),
	[SENSE_SANITIZE_FAILED]		= CC(MEDIUM_ERROR, 0x31, 0x03),
	/* xcopy */
	[SENSE_TOO_MANY_TARGET_DESC]	= CC(ILLEGAL_REQUEST, 0x26, 0x06),
	[SENSE_UNSUPPORTED_TARGET_DESC] = CC(ILLEGAL_REQUEST, 0x26, 0x07),
	[SENSE_TOO_MANY_SEGMENT_DESC]	= CC(ILLEGAL_REQUEST, 0x26, 0x08),
	[SENSE_UNSUPPORTED_SEGMENT_DESC] = CC(ILLEGAL_REQUEST, 0x26, 0x09),
	[SENSE_INLINE_DATA_LENGTH_EXCEEDED] = CC(ILLEGAL_REQUEST, 0x26, 0x0b),
	[SENSE_COPY_ABORTED]		= CC(COPY_ABORTED, 0x00, 0x00),
	[SENSE_COPY_UNREACHABLE_TARGET]	= CC(COPY_ABORTED, 0x08, 0x04),
	[SENSE_COPY_TPD_FAILURE]	= CC(COPY_ABORTED, 0x0d, 0x01),
	[SENSE_COPY_TARGET_NOT_REACHABLE] = CC(COPY_ABORTED, 0x0d, 0x02),
	[SENSE_COPY_INCORRECT_TARGET_TYPE] = CC(COPY_ABORTED, 0x0d, 0x03),
	[SENSE_COPY_TARGET_UNDERRUN]	= CC(COPY_ABORTED, 0x0d, 0x04),
	[SENSE_COPY_TARGET_OVERRUN]	= CC(COPY_ABORTED, 0x0d, 0x05),
	[SENSE_COPY_INEXACT_SEGMENT]	= CC(COPY_ABORTED, 0x26, 0x0a),
	/* odx */
	[SENSE_TOKEN_CAUSE_NOT_REPORTABLE] = CC(ILLEGAL_REQUEST, 0x23, 0x00),
	[SENSE_TOKEN_UNSUPPORTED_TYPE]	= CC(ILLEGAL_REQUEST, 0x23, 0x01),
	[SENSE_TOKEN_REMOTE_USAGE]	= CC(ILLEGAL_REQUEST, 0x23, 0x02),
	[SENSE_TOKEN_UNKNOWN]		= CC(ILLEGAL_REQUEST, 0x23, 0x04),
	[SENSE_TOKEN_CORRUPT]		= CC(ILLEGAL_REQUEST, 0x23, 0x05),
	[SENSE_TOKEN_REVOKED]		= CC(ILLEGAL_REQUEST, 0x23, 0x06),
	[SENSE_TOKEN_EXPIRED]		= CC(ILLEGAL_REQUEST, 0x23, 0x07),
	[SENSE_TOKEN_CANCELLED]		= CC(ILLEGAL_REQUEST, 0x23, 0x08),
	[SENSE_TOKEN_DELETED]		= CC(ILLEGAL_REQUEST, 0x23, 0x09),
	[SENSE_TOKEN_INVALID_LENGTH]	= CC(ILLEGAL_REQUEST, 0x23, 0x0a),
	[SENSE_INSUFFICIENT_RES_ROD]	= CC(ILLEGAL_REQUEST, 0x55, 0x0c),
	[SENSE_INSUFFICIENT_RES_ROD_TOKEN] = CC(ILLEGAL_REQUEST, 0x55, 0x0d),
};

enum sense_reason
scsi_invalid_field(struct scsi_cmd *cmd, bool in_cdb, uint16_t byte, int bit)
{
	struct sense_detail *sd = &cmd->sd;

	sd->sks_valid = true;
	sd->sks_cdb = in_cdb;
	sd->sks_field = byte;
	sd->sks_bpv = bit >= 0 && bit <= 7;
	sd->sks_bit = sd->sks_bpv ? (uint8_t)bit : 0;
	return in_cdb ? SENSE_INVALID_FIELD_IN_CDB :
	    SENSE_INVALID_FIELD_IN_PARAM;
}

enum sense_reason
sense_from_errno(int err, bool is_write)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return SENSE_OK;
	case EIO:
		return is_write ? SENSE_WRITE_ERROR : SENSE_READ_ERROR;
	case ENOSPC:
	case EDQUOT:
		return SENSE_SPACE_ALLOC_FAILED_WP;
	case EAGAIN:
	case ENOMEM:
		return SENSE_BUSY;
	case EROFS:
		return SENSE_WRITE_PROTECTED;
	default:
		return SENSE_INTERNAL_TARGET_FAILURE;
	}
}

/* Sense-key specific bytes for the field pointer (SPC-4 4.5.2.4.2). */
static void
sense_put_sks(uint8_t *p, const struct sense_detail *sd)
{
	p[0] = 0x80;				/* SKSV */
	if (sd->sks_cdb)
		p[0] |= 0x40;			/* C/D */
	if (sd->sks_bpv)
		p[0] |= 0x08 | (sd->sks_bit & 0x07);
	put_be16(p + 1, sd->sks_field);
}

static uint8_t
sense_build_fixed(uint8_t key, uint8_t asc, uint8_t ascq,
    const struct sense_detail *sd, uint8_t *buf, uint8_t bufmax)
{
	uint8_t s[18];

	memset(s, 0, sizeof(s));
	s[0] = 0x70;
	s[2] = key & 0x0f;
	if (sd != NULL && sd->ili)
		s[2] |= 0x20;
	/* INFORMATION is 4 bytes here; VALID only if the value fits. */
	if (sd != NULL && sd->info_valid && sd->info <= UINT32_MAX) {
		s[0] |= 0x80;
		put_be32(s + 3, (uint32_t)sd->info);
	}
	s[7] = sizeof(s) - 8;
	s[12] = asc;
	s[13] = ascq;
	if (sd != NULL && sd->sks_valid)
		sense_put_sks(s + 15, sd);
	bufmax = MIN(bufmax, (uint8_t)sizeof(s));
	memcpy(buf, s, bufmax);
	return bufmax;
}

static uint8_t
sense_build_desc(uint8_t key, uint8_t asc, uint8_t ascq,
    const struct sense_detail *sd, uint8_t *buf, uint8_t bufmax)
{
	uint8_t s[8 + 12 + 8 + 4];
	size_t n = 8;

	memset(s, 0, sizeof(s));
	s[0] = 0x72;
	s[1] = key & 0x0f;
	s[2] = asc;
	s[3] = ascq;
	if (sd != NULL && sd->info_valid) {
		/* Information descriptor (SPC-4 4.5.2.2) */
		s[n] = 0x00;
		s[n + 1] = 0x0a;
		s[n + 2] = 0x80;
		put_be64(s + n + 4, sd->info);
		n += 12;
	}
	if (sd != NULL && sd->sks_valid) {
		/* Sense key specific descriptor (SPC-4 4.5.2.3) */
		s[n] = 0x02;
		s[n + 1] = 0x06;
		sense_put_sks(s + n + 4, sd);
		n += 8;
	}
	if (sd != NULL && sd->ili) {
		/* Block commands descriptor (SBC-3 4.18.3) */
		s[n] = 0x05;
		s[n + 1] = 0x02;
		s[n + 3] = 0x20;
		n += 4;
	}
	s[7] = (uint8_t)(n - 8);
	n = MIN(n, (size_t)bufmax);
	memcpy(buf, s, n);
	return (uint8_t)n;
}

uint8_t
sense_build_raw(uint8_t key, uint8_t asc, uint8_t ascq,
    const struct sense_detail *sd, bool descriptor, uint8_t *buf,
    uint8_t bufmax)
{
	if (descriptor)
		return sense_build_desc(key, asc, ascq, sd, buf, bufmax);
	return sense_build_fixed(key, asc, ascq, sd, buf, bufmax);
}

uint8_t
sense_build(enum sense_reason reason, const struct sense_detail *sd,
    bool descriptor, uint8_t *buf, uint8_t bufmax, uint8_t *status)
{
	const struct sense_entry *e;
	uint8_t asc, ascq;

	if ((unsigned int)reason >= ARRAY_SIZE(sense_table) ||
	    (reason != SENSE_OK && sense_table[reason].status == 0))
		reason = SENSE_INTERNAL_TARGET_FAILURE;
	e = &sense_table[reason];
	*status = e->status;
	if (e->status != SAM_STAT_CHECK_CONDITION || reason == SENSE_RAW)
		return 0;
	asc = e->asc;
	ascq = e->ascq;
	if (reason == SENSE_UNIT_ATTENTION && sd != NULL) {
		asc = sd->ua_asc;
		ascq = sd->ua_ascq;
	}
	return sense_build_raw(e->key, asc, ascq, sd, descriptor, buf, bufmax);
}

/* --- third-party copy sense (xcopy) --- */

static void
sense_put_seg_sks(uint8_t *p, const struct sense_copy *sc)
{
	p[0] = 0x80;				/* SKSV */
	if (sc->sks_sd)
		p[0] |= 0x20;			/* SD: segment relative */
	put_be16(p + 1, sc->sks_field);
}

static uint8_t
sense_build_copy_fixed(const struct sense_entry *e,
    const struct sense_copy *sc, uint8_t *buf, uint8_t bufmax)
{
	uint8_t s[SCSI_SENSE_MAX];
	size_t n = 18, f;

	memset(s, 0, sizeof(s));
	s[0] = 0x70;
	s[2] = e->key;
	if (sc->seg_valid)
		put_be32(s + 8, sc->seg);	/* COMMAND-SPECIFIC INFO */
	s[12] = e->asc;
	s[13] = e->ascq;
	if (sc->sks_valid)
		sense_put_seg_sks(s + 15, sc);
	if (sc->fwd_src != 0 && sc->fwd != NULL) {
		/* SPC-4 4.5.3: status then sense of the copy target at the
		 * offset named by byte 8 (source) or byte 9 (dest) */
		f = MIN((size_t)sc->fwd_len, sizeof(s) - 19);
		s[sc->fwd_src == 1 ? 8 : 9] = 18;
		s[18] = sc->fwd_status;
		memcpy(s + 19, sc->fwd, f);
		n = 19 + f;
	}
	s[7] = (uint8_t)(n - 8);
	n = MIN(n, (size_t)bufmax);
	memcpy(buf, s, n);
	return (uint8_t)n;
}

static uint8_t
sense_build_copy_desc(const struct sense_entry *e,
    const struct sense_copy *sc, uint8_t *buf, uint8_t bufmax)
{
	uint8_t s[SCSI_SENSE_MAX];
	size_t n = 8, f;

	memset(s, 0, sizeof(s));
	s[0] = 0x72;
	s[1] = e->key;
	s[2] = e->asc;
	s[3] = e->ascq;
	if (sc->seg_valid) {
		/* command-specific information descriptor (SPC-4 4.5.2.3) */
		s[n] = 0x01;
		s[n + 1] = 0x0a;
		put_be64(s + n + 4, sc->seg);
		n += 12;
	}
	if (sc->sks_valid) {
		s[n] = 0x02;
		s[n + 1] = 0x06;
		sense_put_seg_sks(s + n + 4, sc);
		n += 8;
	}
	if (sc->fwd_src != 0 && sc->fwd != NULL) {
		/* forwarded sense data descriptor (SPC-4 4.5.2.9) */
		f = MIN((size_t)sc->fwd_len, sizeof(s) - n - 4);
		s[n] = 0x0c;
		s[n + 1] = (uint8_t)(2 + f);
		s[n + 2] = sc->fwd_src & 0x0f;
		if (f < sc->fwd_len)
			s[n + 2] |= 0x80;		/* FSDT: truncated */
		s[n + 3] = sc->fwd_status;
		memcpy(s + n + 4, sc->fwd, f);
		n += 4 + f;
	}
	s[7] = (uint8_t)(n - 8);
	n = MIN(n, (size_t)bufmax);
	memcpy(buf, s, n);
	return (uint8_t)n;
}

uint8_t
sense_build_copy(enum sense_reason reason, const struct sense_copy *sc,
    bool descriptor, uint8_t *buf, uint8_t bufmax, uint8_t *status)
{
	const struct sense_entry *e;

	if ((unsigned int)reason >= ARRAY_SIZE(sense_table) ||
	    reason == SENSE_RAW || reason == SENSE_UNIT_ATTENTION ||
	    (reason != SENSE_OK && sense_table[reason].status == 0))
		reason = SENSE_INTERNAL_TARGET_FAILURE;
	e = &sense_table[reason];
	*status = e->status;
	if (e->status != SAM_STAT_CHECK_CONDITION)
		return 0;
	if (descriptor)
		return sense_build_copy_desc(e, sc, buf, bufmax);
	return sense_build_copy_fixed(e, sc, buf, bufmax);
}

enum sense_reason
copy_aborted(struct scsi_cmd *cmd, enum sense_reason reason,
    const struct sense_copy *sc)
{
	uint8_t status;

	cmd->sense_len = sense_build_copy(reason, sc,
	    scsi_cmd_desc_sense(cmd), cmd->sense, sizeof(cmd->sense),
	    &status);
	if (status != SAM_STAT_CHECK_CONDITION) {
		cmd->sense_len = 0;
		return reason;
	}
	return SENSE_RAW;
}
