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

/* THIRD-PARTY COPY OUT (83h): EXTENDED COPY, POPULATE TOKEN, WRITE USING
 * TOKEN, COPY OPERATION ABORT -- added by the XCOPY and ODX issues. */
static const struct scsi_op tpc_out_sa[SCSI_SA_COUNT] = {
	[0] = { .exec = NULL },
};

/* THIRD-PARTY COPY IN (84h): RECEIVE COPY STATUS/DATA/OPERATING
 * PARAMETERS/FAILURE DETAILS, RECEIVE ROD TOKEN INFORMATION, ... */
static const struct scsi_op tpc_in_sa[SCSI_SA_COUNT] = {
	[0] = { .exec = NULL },
};

/* SERVICE ACTION IN(16) (9Eh) */
static const struct scsi_op sai16_sa[SCSI_SA_COUNT] = {
	[0x10] = {
		.exec = sbc_read_capacity16, .name = "READ CAPACITY(16)",
		.cdb_len = 16, .flags = OP_DATA_IN | OP_NEEDS_MEDIUM,
		/* obsolete LBA, allocation length, PMI */
		.usage = { BE64_FIELD(2), BE32_FIELD(10), [14] = 0x01 },
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
	[0x1a] = {
		.exec = spc_mode_sense, .name = "MODE SENSE(6)",
		.cdb_len = 6, .flags = OP_DATA_IN,
		/* DBD, PC + page code, subpage, allocation length */
		.usage = { [1] = 0x08, [2] = 0xff, [3] = 0xff, [4] = 0xff },
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
	[0x35] = {
		.exec = sbc_sync_cache, .name = "SYNCHRONIZE CACHE(10)",
		.cdb_len = 10, .flags = OP_NEEDS_MEDIUM,
		/* SYNC_NV (obsolete) IMMED, LBA, group, number of blocks */
		.usage = { [1] = 0x06, BE32_FIELD(2), [6] = 0x3f,
			   BE16_FIELD(7) },
	},
	[0x55] = {
		.exec = spc_mode_select, .name = "MODE SELECT(10)",
		.cdb_len = 10, .flags = OP_DATA_OUT,
		/* PF, SP, parameter list length */
		.usage = { [1] = 0x11, BE16_FIELD(7) },
	},
	[0x5a] = {
		.exec = spc_mode_sense, .name = "MODE SENSE(10)",
		.cdb_len = 10, .flags = OP_DATA_IN,
		/* LLBAA DBD, PC + page code, subpage, allocation length */
		.usage = { [1] = 0x18, [2] = 0xff, [3] = 0xff,
			   BE16_FIELD(7) },
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
	[0x8a] = {
		.exec = sbc_write, .name = "WRITE(16)",
		.cdb_len = 16, .flags = RW_FLAGS_OUT,
		.usage = { [1] = 0x18, BE64_FIELD(2), BE32_FIELD(10),
			   [14] = 0x3f },
	},
	[0x91] = {
		.exec = sbc_sync_cache, .name = "SYNCHRONIZE CACHE(16)",
		.cdb_len = 16, .flags = OP_NEEDS_MEDIUM,
		.usage = { [1] = 0x06, BE64_FIELD(2), BE32_FIELD(10),
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
};
