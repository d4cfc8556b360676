/*
 * iscsi_int.h - internals shared by the iSCSI front end's files.
 *
 * Ownership: a struct iscsi_conn belongs to the loop it is attached to
 * (loop 0 during login, then the session's loop).  A struct iscsi_session
 * owns its connections' shared state (CmdSN window, nexus, parameters) and
 * lives on the same loop as its connections.
 *
 * Files:
 *   iscsi_pdu.c     PDU layout, BHS field access, build/parse helpers
 *   iscsi_conn.c    socket I/O: resumable rx state machine, tx queue, digests
 *   iscsi_session.c sessions, TSIH, reinstatement, CmdSN window, nexus
 *   iscsi_scsi.c    SCSI Command, Data-Out, R2T, Data-In, SCSI Response
 *   iscsi_tmf.c     Task Management, NOP, Logout, Reject
 *   iscsi_listen.c  listeners (iscsi.h)
 *   iscsi_param.c   text keys and negotiation (pure)      [iscsi_param.h]
 *   iscsi_chap.c    CHAP (MD5) challenge/response         [iscsi_chap.h]
 *   iscsi_login.c   Login phase state machine
 *   iscsi_text.c    Text requests (SendTargets)
 *
 * The login side (iscsi_login.c, iscsi_text.c) and the connection side
 * (the rest) meet only through the functions declared at the end.
 */
#ifndef TPCD_ISCSI_INT_H
#define TPCD_ISCSI_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "iscsi_param.h"

struct iscsi_conn;
struct iscsi_session;
struct loop;

#define ISCSI_BHS_LEN	48

/* Opcodes (RFC 7143 11.1.1) */
enum iscsi_opcode {
	ISCSI_OP_NOP_OUT	= 0x00,
	ISCSI_OP_SCSI_CMD	= 0x01,
	ISCSI_OP_TMF_REQ	= 0x02,
	ISCSI_OP_LOGIN_REQ	= 0x03,
	ISCSI_OP_TEXT_REQ	= 0x04,
	ISCSI_OP_DATA_OUT	= 0x05,
	ISCSI_OP_LOGOUT_REQ	= 0x06,
	ISCSI_OP_SNACK		= 0x10,
	ISCSI_OP_NOP_IN		= 0x20,
	ISCSI_OP_SCSI_RSP	= 0x21,
	ISCSI_OP_TMF_RSP	= 0x22,
	ISCSI_OP_LOGIN_RSP	= 0x23,
	ISCSI_OP_TEXT_RSP	= 0x24,
	ISCSI_OP_DATA_IN	= 0x25,
	ISCSI_OP_LOGOUT_RSP	= 0x26,
	ISCSI_OP_R2T		= 0x31,
	ISCSI_OP_ASYNC_MSG	= 0x32,
	ISCSI_OP_REJECT		= 0x3f,
};

/* One PDU, received or to send.  bhs is the 48-byte header as on the wire;
 * data is the data segment (without padding), owned by the PDU unless
 * data_borrowed. */
struct iscsi_pdu {
	uint8_t		 bhs[ISCSI_BHS_LEN];
	uint8_t		*ahs;
	uint32_t	 ahs_len;
	uint8_t		*data;
	uint32_t	 data_len;
	bool		 data_borrowed;
	struct iscsi_pdu *next;		/* tx queue */
	void		(*sent)(struct iscsi_pdu *);	/* optional */
	void		*priv;
};

struct iscsi_pdu *iscsi_pdu_alloc(uint32_t data_len);	/* zeroed bhs */
void	iscsi_pdu_free(struct iscsi_pdu *);

/* What the login phase hands over when a login completes (final response
 * with T=1 and NSG=FFP about to be sent). */
struct iscsi_login_result {
	bool		 discovery;		/* SessionType=Discovery */
	char		 initiator[224];
	char		 target[224];		/* empty for discovery */
	char		 initiator_alias[256];
	uint8_t		 isid[6];
	uint16_t	 tsih;			/* 0: new session */
	uint16_t	 cid;
	uint16_t	 tpg_tag;
	uint32_t	 exp_cmdsn;		/* from the first login request */
	struct iscsi_params params;		/* negotiated */
};

/* --- provided by the connection side --- */
/* Queue a PDU; the conn frees it after sending. */
void	iscsi_conn_send(struct iscsi_conn *, struct iscsi_pdu *);
/* Close after queued PDUs are sent (graceful) or at once. */
void	iscsi_conn_close(struct iscsi_conn *, bool flush);
/* Names of the local endpoint (portal) and peer, for login checks. */
const char *iscsi_conn_portal_ip(const struct iscsi_conn *);
uint16_t iscsi_conn_portal_port(const struct iscsi_conn *);
/* The connection's login state, kept by the login side. */
void	*iscsi_conn_login_state(struct iscsi_conn *);
void	 iscsi_conn_set_login_state(struct iscsi_conn *, void *,
	    void (*free_fn)(void *));
/* Called by the login side before sending the final login response:
 * creates or joins/reinstates the session, assigns the TSIH (written
 * into res->tsih), applies negotiated params (digests take effect after
 * the final response is sent).  Returns 0 or an iSCSI login status
 * class/detail pair as (class << 8 | detail) on failure. */
int	iscsi_session_login_complete(struct iscsi_conn *,
	    struct iscsi_login_result *res);
/* The session's StatSN etc. for a login response: the conn side fills
 * StatSN/ExpCmdSN/MaxCmdSN in any response it sends; the login side
 * only sets the other fields. */

/* --- provided by the login side --- */
/* A Login Request PDU arrived on a connection in login phase; the login
 * side answers with iscsi_conn_send() and frees pdu. */
void	iscsi_login_rx(struct iscsi_conn *, struct iscsi_pdu *pdu);
/* A Text Request PDU arrived (discovery or full feature phase).  params
 * are the session's; discovery tells whether it is a discovery session;
 * initiator is the session's initiator name. */
void	iscsi_text_rx(struct iscsi_conn *, struct iscsi_pdu *pdu,
	    bool discovery, const char *initiator);

#endif
