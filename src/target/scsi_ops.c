/*
 * scsi_ops.c - the command table.
 *
 * One designated-initializer entry per supported opcode; service-action
 * commands point to a 32-entry subtable indexed by CDB byte 1 bits 4:0.
 * usage[] lists the bits a CDB may set (byte 0 and the SA bits are
 * implied); dispatch rejects any other bit with INVALID FIELD IN CDB and
 * the field pointer, and REPORT SUPPORTED OPERATION CODES reports the same
 * masks.  Later modules add commands by adding entries here only.
 *
 * Group number fields accept 6 bits (SBC-4); protection fields (RDPROTECT,
 * WRPROTECT) are not accepted since we format without protection
 * information (SBC-3 4.21.2: nonzero is INVALID FIELD IN CDB).
 */
#include "scsi_int.h"
#include "xcopy/odx.h"
#include "xcopy/xcopy.h"

/* THIRD-PARTY COPY OUT (83h): EXTENDED COPY, POPULATE TOKEN, WRITE USING
 * TOKEN, COPY OPERATION ABORT -- added by the XCOPY and ODX issues. */
static const struct scsi_op tpc_out_sa[SCSI_SA_COUNT] = {
	/* xcopy: src/xcopy/xcopy_cmd.c, xcopy_status.c */
	[0x00] = {
		.exec = xcopy_lid1, .name = "EXTENDED COPY(LID1)",
		.cdb_len = 16, .flags = OP_DATA_OUT | OP_NEEDS_MEDIUM,
		/* parameter list length */
		.usage = { BE32_FIELD(10), [15] = CONTROL_MASK },
	},
	[0x01] = {
		.exec = xcopy_lid4, .name = "EXTENDED COPY(LID4)",
		.cdb_len = 16, .flags = OP_DATA_OUT | OP_NEEDS_MEDIUM,
		.usage = { BE32_FIELD(10), [15] = CONTROL_MASK },
	},
	/* odx: src/xcopy/odx_cmd.c; list identifier 6-9, parameter
	 * list length 10-13, group number */
	[0x10] = {
		.exec = odx_populate_token, .name = "POPULATE TOKEN",
		.cdb_len = 16, .flags = OP_DATA_OUT | OP_NEEDS_MEDIUM,
		.usage = { BE32_FIELD(6), BE32_FIELD(10), [14] = 0x1f,
			   [15] = CONTROL_MASK },
	},
	[0x11] = {
		.exec = odx_write_using_token, .name = "WRITE USING TOKEN",
		.cdb_len = 16,
		.flags = OP_DATA_OUT | OP_NEEDS_MEDIUM | OP_WRITE,
		.usage = { BE32_FIELD(6), BE32_FIELD(10), [14] = 0x1f,
			   [15] = CONTROL_MASK },
	},
	[0x1c] = {
		/* xcopy's abort, plus cancelling a completed PT's token */
		.exec = odx_copy_op_abort, .name = "COPY OPERATION ABORT",
		.cdb_len = 16,
		/* list identifier */
		.usage = { BE32_FIELD(2), [15] = CONTROL_MASK },
	},
};

/* THIRD-PARTY COPY IN (84h): RECEIVE COPY STATUS/DATA/OPERATING
 * PARAMETERS/FAILURE DETAILS, RECEIVE ROD TOKEN INFORMATION, ... */
static const struct scsi_op tpc_in_sa[SCSI_SA_COUNT] = {
	/* xcopy: src/xcopy/xcopy_status.c; LID1 list ID in byte 2, LID4
	 * in bytes 2-5, allocation length in 10-13 */
	[0x00] = {
		.exec = xcopy_rcv_status_lid1,
		.name = "RECEIVE COPY STATUS(LID1)", .cdb_len = 16,
		.flags = OP_DATA_IN | OP_RESV_OK,
		.usage = { [2] = 0xff, BE32_FIELD(10), [15] = CONTROL_MASK },
	},
	[0x01] = {
		.exec = xcopy_rcv_data, .name = "RECEIVE COPY DATA(LID1)",
		.cdb_len = 16, .flags = OP_DATA_IN | OP_RESV_OK,
		.usage = { [2] = 0xff, BE32_FIELD(10), [15] = CONTROL_MASK },
	},
	[0x03] = {
		.exec = xcopy_rcv_oper_params,
		.name = "RECEIVE COPY OPERATING PARAMETERS", .cdb_len = 16,
		.flags = OP_DATA_IN | OP_RESV_OK,
		.usage = { [2] = 0xff, BE32_FIELD(10), [15] = CONTROL_MASK },
	},
	[0x04] = {
		.exec = xcopy_rcv_failure,
		.name = "RECEIVE COPY FAILURE DETAILS(LID1)", .cdb_len = 16,
		.flags = OP_DATA_IN | OP_RESV_OK,
		.usage = { [2] = 0xff, BE32_FIELD(10), [15] = CONTROL_MASK },
	},
	[0x05] = {
		.exec = xcopy_rcv_status_lid4,
		.name = "RECEIVE COPY STATUS(LID4)", .cdb_len = 16,
		.flags = OP_DATA_IN | OP_RESV_OK,
		.usage = { BE32_FIELD(2), BE32_FIELD(10),
			   [15] = CONTROL_MASK },
	},
	[0x06] = {
		.exec = xcopy_rcv_data, .name = "RECEIVE COPY DATA(LID4)",
		.cdb_len = 16, .flags = OP_DATA_IN | OP_RESV_OK,
		.usage = { BE32_FIELD(2), BE32_FIELD(10),
			   [15] = CONTROL_MASK },
	},
	/* odx: src/xcopy/odx_cmd.c */
	[0x07] = {
		.exec = odx_rrti, .name = "RECEIVE ROD TOKEN INFORMATION",
		.cdb_len = 16, .flags = OP_DATA_IN | OP_RESV_OK,
		.usage = { BE32_FIELD(2), BE32_FIELD(10),
			   [15] = CONTROL_MASK },
	},
	[0x08] = {
		.exec = odx_report_all_tokens,
		.name = "REPORT ALL ROD TOKENS", .cdb_len = 16,
		.flags = OP_DATA_IN | OP_RESV_OK,
		/* allocation length */
		.usage = { BE32_FIELD(10), [15] = CONTROL_MASK },
	},
};

/* SANITIZE (48h): OVERWRITE, BLOCK ERASE, EXIT FAILURE MODE; no
 * CRYPTOGRAPHIC ERASE (sbc_sanitize.c) */
static const struct scsi_op sanitize_sa[SCSI_SA_COUNT] = {
	[0x01] = {
		.exec = sbc_sanitize, .name = "SANITIZE OVERWRITE",
		.cdb_len = 10,
		.flags = OP_DATA_OUT | OP_NEEDS_MEDIUM | OP_WRITE,
		/* IMMED AUSE, parameter list length */
		.usage = { [1] = 0xa0, BE16_FIELD(7) },
	},
	[0x02] = {
		.exec = sbc_sanitize, .name = "SANITIZE BLOCK ERASE",
		/* erasing is deallocating: only on thin LUs */
		.avail = sbc_lbp_enabled,
		.cdb_len = 10, .flags = OP_NEEDS_MEDIUM | OP_WRITE,
		.usage = { [1] = 0xa0, BE16_FIELD(7) },
	},
	[0x1f] = {
		.exec = sbc_sanitize, .name = "SANITIZE EXIT FAILURE MODE",
		.cdb_len = 10, .flags = OP_NEEDS_MEDIUM,
		.usage = { [1] = 0xa0, BE16_FIELD(7) },
	},
};

/* SERVICE ACTION IN(16) (9Eh) */
static const struct scsi_op sai16_sa[SCSI_SA_COUNT] = {
	[0x10] = {
		.exec = sbc_read_capacity16, .name = "READ CAPACITY(16)",
		.cdb_len = 16, .flags = OP_DATA_IN | OP_NEEDS_MEDIUM,
		/* obsolete LBA, allocation length, PMI */
		.usage = { BE64_FIELD(2), BE32_FIELD(10), [14] = 0x01 },
	},
	[0x12] = {
		.exec = sbc_get_lba_status, .name = "GET LBA STATUS",
		.cdb_len = 16, .flags = OP_DATA_IN | OP_NEEDS_MEDIUM,
		/* starting LBA, allocation length */
		.usage = { BE64_FIELD(2), BE32_FIELD(10) },
	},
};

/* MAINTENANCE IN (A3h) */
static const struct scsi_op maint_in_sa[SCSI_SA_COUNT] = {
	[0x0a] = {
		.exec = spc_report_tpgs, .name = "REPORT TARGET PORT GROUPS",
		.cdb_len = 12, .flags = OP_DATA_IN | OP_RESV_OK,
		/* parameter data format, allocation length */
		.usage = { [1] = 0xe0, BE32_FIELD(6) },
	},
	[0x0c] = {
		.exec = spc_report_opcodes,
		.name = "REPORT SUPPORTED OPERATION CODES",
		.cdb_len = 12, .flags = OP_DATA_IN | OP_RESV_OK,
		/* RCTD, reporting options, opcode, SA, allocation length */
		.usage = { [2] = 0x87, [3] = 0xff, BE16_FIELD(4),
			   BE32_FIELD(6) },
	},
	[0x0d] = {
		.exec = spc_report_tmfs,
		.name = "REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS",
		.cdb_len = 12, .flags = OP_DATA_IN | OP_RESV_OK,
		/* REPD, allocation length */
		.usage = { [2] = 0x80, BE32_FIELD(6) },
	},
};

/* PERSISTENT RESERVE IN (5Eh), pr_cmd.c: allocation length */
#define PRIN_SA(n) { .exec = pr_cmd_in, .name = n, .cdb_len = 10, \
	.flags = OP_DATA_IN, .usage = { BE16_FIELD(7) } }
static const struct scsi_op prin_sa[SCSI_SA_COUNT] = {
	[0x00] = PRIN_SA("PERSISTENT RESERVE IN: READ KEYS"),
	[0x01] = PRIN_SA("PERSISTENT RESERVE IN: READ RESERVATION"),
	[0x02] = PRIN_SA("PERSISTENT RESERVE IN: REPORT CAPABILITIES"),
	[0x03] = PRIN_SA("PERSISTENT RESERVE IN: READ FULL STATUS"),
};

/* PERSISTENT RESERVE OUT (5Fh), pr_cmd.c: scope and type, parameter
 * list length.  REGISTER AND MOVE (07h) is not supported. */
#define PROUT_SA(n) { .exec = pr_cmd_out, .name = n, .cdb_len = 10, \
	.flags = OP_DATA_OUT, .usage = { [2] = 0xff, BE32_FIELD(5) } }
static const struct scsi_op prout_sa[SCSI_SA_COUNT] = {
	[0x00] = PROUT_SA("PERSISTENT RESERVE OUT: REGISTER"),
	[0x01] = PROUT_SA("PERSISTENT RESERVE OUT: RESERVE"),
	[0x02] = PROUT_SA("PERSISTENT RESERVE OUT: RELEASE"),
	[0x03] = PROUT_SA("PERSISTENT RESERVE OUT: CLEAR"),
	[0x04] = PROUT_SA("PERSISTENT RESERVE OUT: PREEMPT"),
	[0x05] = PROUT_SA("PERSISTENT RESERVE OUT: PREEMPT AND ABORT"),
	[0x06] = PROUT_SA("PERSISTENT RESERVE OUT: REGISTER AND IGNORE "
	    "EXISTING KEY"),
};

#define RW_FLAGS_IN	(OP_DATA_IN | OP_NEEDS_MEDIUM)
#define RW_FLAGS_OUT	(OP_DATA_OUT | OP_NEEDS_MEDIUM | OP_WRITE)

const struct scsi_op scsi_ops[256] = {
	[0x00] = {
		.exec = spc_test_unit_ready, .name = "TEST UNIT READY",
		.cdb_len = 6, .flags = OP_NEEDS_MEDIUM,
	},
	[0x03] = {
		.exec = spc_request_sense, .name = "REQUEST SENSE",
		.cdb_len = 6,
		.flags = OP_DATA_IN | OP_NO_UA | OP_ANY_LUN | OP_RESV_OK,
		/* DESC, allocation length */
		.usage = { [1] = 0x01, [4] = 0xff },
	},
	[0x08] = {
		.exec = sbc_read, .name = "READ(6)",
		.cdb_len = 6, .flags = RW_FLAGS_IN,
		/* LBA (21 bits), transfer length */
		.usage = { [1] = 0x1f, BE16_FIELD(2), [4] = 0xff },
	},
	[0x0a] = {
		.exec = sbc_write, .name = "WRITE(6)",
		.cdb_len = 6, .flags = RW_FLAGS_OUT,
		.usage = { [1] = 0x1f, BE16_FIELD(2), [4] = 0xff },
	},
	[0x12] = {
		.exec = spc_inquiry, .name = "INQUIRY",
		.cdb_len = 6,
		.flags = OP_DATA_IN | OP_NO_UA | OP_ANY_LUN | OP_RESV_OK,
		/* EVPD, page code, allocation length */
		.usage = { [1] = 0x01, [2] = 0xff, BE16_FIELD(3) },
	},
	[0x15] = {
		.exec = spc_mode_select, .name = "MODE SELECT(6)",
		.cdb_len = 6, .flags = OP_DATA_OUT,
		/* PF, SP, parameter list length */
		.usage = { [1] = 0x11, [4] = 0xff },
	},
	[0x16] = {
		/* SPC-2 RESERVE(6): no third-party or extent reservations */
		.exec = pr_cmd_reserve, .name = "RESERVE(6)", .cdb_len = 6,
	},
	[0x17] = {
		.exec = pr_cmd_release, .name = "RELEASE(6)", .cdb_len = 6,
	},
	[0x1a] = {
		.exec = spc_mode_sense, .name = "MODE SENSE(6)",
		.cdb_len = 6, .flags = OP_DATA_IN,
		/* DBD, PC + page code, subpage, allocation length */
		.usage = { [1] = 0x08, [2] = 0xff, [3] = 0xff, [4] = 0xff },
	},
	[0x1b] = {
		.exec = sbc_start_stop_unit, .name = "START STOP UNIT",
		.cdb_len = 6,
		/* IMMED, power condition modifier, power condition,
		 * NO_FLUSH, LOEJ, START */
		.usage = { [1] = 0x01, [3] = 0x0f, [4] = 0xf7 },
	},
	[0x1e] = {
		.exec = sbc_prevent_allow,
		.name = "PREVENT ALLOW MEDIUM REMOVAL",
		.cdb_len = 6,
		/* PREVENT */
		.usage = { [4] = 0x03 },
	},
	[0x25] = {
		.exec = sbc_read_capacity10, .name = "READ CAPACITY(10)",
		.cdb_len = 10, .flags = OP_DATA_IN | OP_NEEDS_MEDIUM,
		/* obsolete LBA, PMI */
		.usage = { BE32_FIELD(2), [8] = 0x01 },
	},
	[0x28] = {
		.exec = sbc_read, .name = "READ(10)",
		.cdb_len = 10, .flags = RW_FLAGS_IN,
		/* DPO FUA RARC, LBA, group, transfer length */
		.usage = { [1] = 0x1c, BE32_FIELD(2), [6] = 0x3f,
			   BE16_FIELD(7) },
	},
	[0x2a] = {
		.exec = sbc_write, .name = "WRITE(10)",
		.cdb_len = 10, .flags = RW_FLAGS_OUT,
		/* DPO FUA, LBA, group, transfer length */
		.usage = { [1] = 0x18, BE32_FIELD(2), [6] = 0x3f,
			   BE16_FIELD(7) },
	},
	[0x2e] = {
		.exec = sbc_write_verify, .name = "WRITE AND VERIFY(10)",
		.cdb_len = 10, .flags = RW_FLAGS_OUT,
		/* DPO BYTCHK, LBA, group, transfer length */
		.usage = { [1] = 0x16, BE32_FIELD(2), [6] = 0x3f,
			   BE16_FIELD(7) },
	},
	[0x2f] = {
		.exec = sbc_verify, .name = "VERIFY(10)",
		.cdb_len = 10, .flags = OP_DATA_OUT | OP_NEEDS_MEDIUM,
		/* DPO BYTCHK, LBA, group, verification length */
		.usage = { [1] = 0x16, BE32_FIELD(2), [6] = 0x3f,
			   BE16_FIELD(7) },
	},
	[0x34] = {
		.exec = sbc_prefetch, .name = "PRE-FETCH(10)",
		.cdb_len = 10, .flags = OP_NEEDS_MEDIUM,
		/* IMMED, LBA, group, prefetch length */
		.usage = { [1] = 0x02, BE32_FIELD(2), [6] = 0x3f,
			   BE16_FIELD(7) },
	},
	[0x35] = {
		.exec = sbc_sync_cache, .name = "SYNCHRONIZE CACHE(10)",
		.cdb_len = 10, .flags = OP_NEEDS_MEDIUM,
		/* SYNC_NV (obsolete) IMMED, LBA, group, number of blocks */
		.usage = { [1] = 0x06, BE32_FIELD(2), [6] = 0x3f,
			   BE16_FIELD(7) },
	},
	[0x37] = {
		.exec = sbc_read_defect_data, .name = "READ DEFECT DATA(10)",
		.cdb_len = 10, .flags = OP_DATA_IN | OP_NEEDS_MEDIUM,
		/* REQ_PLIST REQ_GLIST format, allocation length */
		.usage = { [2] = 0x1f, BE16_FIELD(7) },
	},
	[0x41] = {
		.exec = sbc_write_same, .name = "WRITE SAME(10)",
		.cdb_len = 10, .flags = RW_FLAGS_OUT,
		/* ANCHOR UNMAP, LBA, group, number of blocks */
		.usage = { [1] = 0x18, BE32_FIELD(2), [6] = 0x3f,
			   BE16_FIELD(7) },
	},
	[0x42] = {
		.exec = sbc_unmap, .name = "UNMAP",
		/* SBC-4 5.32.1: only with LBPU (thin LUs) */
		.avail = sbc_lbp_enabled,
		.cdb_len = 10, .flags = RW_FLAGS_OUT,
		/* ANCHOR, group, parameter list length */
		.usage = { [1] = 0x01, [6] = 0x3f, BE16_FIELD(7) },
	},
	[0x48] = {
		.sa = sanitize_sa, .name = "SANITIZE",
		.cdb_len = 10,
	},
	[0x55] = {
		.exec = spc_mode_select, .name = "MODE SELECT(10)",
		.cdb_len = 10, .flags = OP_DATA_OUT,
		/* PF, SP, parameter list length */
		.usage = { [1] = 0x11, BE16_FIELD(7) },
	},
	[0x56] = {
		/* SPC-2 RESERVE(10): no 3RDPTY/LONGID, no parameter list */
		.exec = pr_cmd_reserve, .name = "RESERVE(10)", .cdb_len = 10,
	},
	[0x57] = {
		.exec = pr_cmd_release, .name = "RELEASE(10)", .cdb_len = 10,
	},
	[0x5a] = {
		.exec = spc_mode_sense, .name = "MODE SENSE(10)",
		.cdb_len = 10, .flags = OP_DATA_IN,
		/* LLBAA DBD, PC + page code, subpage, allocation length */
		.usage = { [1] = 0x18, [2] = 0xff, [3] = 0xff,
			   BE16_FIELD(7) },
	},
	[0x5e] = {
		.sa = prin_sa, .name = "PERSISTENT RESERVE IN",
		.cdb_len = 10,
	},
	[0x5f] = {
		.sa = prout_sa, .name = "PERSISTENT RESERVE OUT",
		.cdb_len = 10,
	},
	[0x83] = {
		.sa = tpc_out_sa, .name = "THIRD-PARTY COPY OUT",
		.cdb_len = 16,
	},
	[0x84] = {
		.sa = tpc_in_sa, .name = "THIRD-PARTY COPY IN",
		.cdb_len = 16,
	},
	[0x88] = {
		.exec = sbc_read, .name = "READ(16)",
		.cdb_len = 16, .flags = RW_FLAGS_IN,
		.usage = { [1] = 0x1c, BE64_FIELD(2), BE32_FIELD(10),
			   [14] = 0x3f },
	},
	[0x89] = {
		.exec = sbc_compare_and_write, .name = "COMPARE AND WRITE",
		.cdb_len = 16, .flags = RW_FLAGS_OUT,
		/* DPO FUA, LBA, number of blocks, group */
		.usage = { [1] = 0x18, BE64_FIELD(2), [13] = 0xff,
			   [14] = 0x3f },
	},
	[0x8a] = {
		.exec = sbc_write, .name = "WRITE(16)",
		.cdb_len = 16, .flags = RW_FLAGS_OUT,
		.usage = { [1] = 0x18, BE64_FIELD(2), BE32_FIELD(10),
			   [14] = 0x3f },
	},
	[0x8b] = {
		.exec = sbc_orwrite, .name = "ORWRITE(16)",
		.cdb_len = 16, .flags = RW_FLAGS_OUT,
		/* DPO FUA, LBA, transfer length, group */
		.usage = { [1] = 0x18, BE64_FIELD(2), BE32_FIELD(10),
			   [14] = 0x3f },
	},
	[0x8e] = {
		.exec = sbc_write_verify, .name = "WRITE AND VERIFY(16)",
		.cdb_len = 16, .flags = RW_FLAGS_OUT,
		.usage = { [1] = 0x16, BE64_FIELD(2), BE32_FIELD(10),
			   [14] = 0x3f },
	},
	[0x8f] = {
		.exec = sbc_verify, .name = "VERIFY(16)",
		.cdb_len = 16, .flags = OP_DATA_OUT | OP_NEEDS_MEDIUM,
		.usage = { [1] = 0x16, BE64_FIELD(2), BE32_FIELD(10),
			   [14] = 0x3f },
	},
	[0x90] = {
		.exec = sbc_prefetch, .name = "PRE-FETCH(16)",
		.cdb_len = 16, .flags = OP_NEEDS_MEDIUM,
		/* IMMED, LBA, prefetch length, group */
		.usage = { [1] = 0x02, BE64_FIELD(2), BE32_FIELD(10),
			   [14] = 0x3f },
	},
	[0x91] = {
		.exec = sbc_sync_cache, .name = "SYNCHRONIZE CACHE(16)",
		.cdb_len = 16, .flags = OP_NEEDS_MEDIUM,
		.usage = { [1] = 0x06, BE64_FIELD(2), BE32_FIELD(10),
			   [14] = 0x3f },
	},
	[0x93] = {
		.exec = sbc_write_same, .name = "WRITE SAME(16)",
		.cdb_len = 16, .flags = RW_FLAGS_OUT,
		/* ANCHOR UNMAP NDOB, LBA, number of blocks, group */
		.usage = { [1] = 0x19, BE64_FIELD(2), BE32_FIELD(10),
			   [14] = 0x3f },
	},
	[0x9e] = {
		.sa = sai16_sa, .name = "SERVICE ACTION IN(16)",
		.cdb_len = 16,
	},
	[0xa0] = {
		.exec = spc_report_luns, .name = "REPORT LUNS",
		.cdb_len = 12,
		.flags = OP_DATA_IN | OP_NO_UA | OP_ANY_LUN | OP_RESV_OK,
		/* select report, allocation length */
		.usage = { [2] = 0xff, BE32_FIELD(6) },
	},
	[0xa3] = {
		.sa = maint_in_sa, .name = "MAINTENANCE IN",
		.cdb_len = 12,
	},
	[0xa8] = {
		.exec = sbc_read, .name = "READ(12)",
		.cdb_len = 12, .flags = RW_FLAGS_IN,
		.usage = { [1] = 0x1c, BE32_FIELD(2), BE32_FIELD(6),
			   [10] = 0x3f },
	},
	[0xaa] = {
		.exec = sbc_write, .name = "WRITE(12)",
		.cdb_len = 12, .flags = RW_FLAGS_OUT,
		.usage = { [1] = 0x18, BE32_FIELD(2), BE32_FIELD(6),
			   [10] = 0x3f },
	},
	[0xae] = {
		.exec = sbc_write_verify, .name = "WRITE AND VERIFY(12)",
		.cdb_len = 12, .flags = RW_FLAGS_OUT,
		.usage = { [1] = 0x16, BE32_FIELD(2), BE32_FIELD(6),
			   [10] = 0x3f },
	},
	[0xaf] = {
		.exec = sbc_verify, .name = "VERIFY(12)",
		.cdb_len = 12, .flags = OP_DATA_OUT | OP_NEEDS_MEDIUM,
		.usage = { [1] = 0x16, BE32_FIELD(2), BE32_FIELD(6),
			   [10] = 0x3f },
	},
	[0xb7] = {
		.exec = sbc_read_defect_data, .name = "READ DEFECT DATA(12)",
		.cdb_len = 12, .flags = OP_DATA_IN | OP_NEEDS_MEDIUM,
		/* REQ_PLIST REQ_GLIST format, address descriptor index,
		 * allocation length */
		.usage = { [1] = 0x1f, BE32_FIELD(2), BE32_FIELD(6) },
	},
};
