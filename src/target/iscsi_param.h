/*
 * iscsi_param.h - iSCSI text keys (RFC 7143 6, 13) and their negotiation.
 *
 * Pure code: bytes of a text data segment in, key=value pairs out, and the
 * negotiation of every RFC 7143 login/text key against the target's
 * settings, with ranges and defaults.  No sockets, no sessions.
 */
#ifndef TPCD_ISCSI_PARAM_H
#define TPCD_ISCSI_PARAM_H

#include <stdbool.h>
#include <stdint.h>

/* Negotiated session and connection parameters, defaults per RFC 7143. */
struct iscsi_params {
	bool		 header_digest;		/* CRC32C */
	bool		 data_digest;		/* CRC32C */
	uint32_t	 max_recv_dsl;		/* ours: what we accept (declared by us) */
	uint32_t	 max_xmit_dsl;		/* peer's MaxRecvDataSegmentLength */
	uint32_t	 max_burst;
	uint32_t	 first_burst;
	bool		 immediate_data;
	bool		 initial_r2t;
	uint32_t	 max_outstanding_r2t;
	bool		 data_pdu_in_order;
	bool		 data_seq_in_order;
	uint32_t	 default_time2wait;
	uint32_t	 default_time2retain;
	uint32_t	 error_recovery_level;
	uint32_t	 max_connections;
};

void	iscsi_params_default(struct iscsi_params *);

#endif
