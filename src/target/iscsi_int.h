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
struct iscsi_pdu_pool;
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
	/* --- connection side only (added; zeroed by iscsi_pdu_alloc) --- */
	uint32_t	 flags;		/* ISCSI_PDU_* below */
	uint32_t	 tx_done;	/* bytes already written */
	uint32_t	 data_alloc;	/* bytes allocated at data (owned) */
	uint8_t		 hdigest[4];
	uint8_t		 ddigest[4];
	struct iscsi_pdu_pool *pool;	/* returned here by iscsi_pdu_free */
	uint8_t		 data_class;	/* with ISCSI_PDU_DATA_POOLED */
	uint32_t	 new_max_xmit_dsl;	/* ISCSI_PDU_SET_MAX_XMIT_DSL */
};

/* struct iscsi_pdu flags */
#define ISCSI_PDU_DATA_TOO_LONG	0x01u	/* rx: data skipped (over limit) */
#define ISCSI_PDU_DDIGEST_BAD	0x02u	/* rx: data digest mismatch */
#define ISCSI_PDU_DATA_POOLED	0x04u	/* rx: data is a task buffer */
#define ISCSI_PDU_LOGIN_FINAL	0x10u	/* tx: ends the login phase */
#define ISCSI_PDU_CLOSE_AFTER	0x20u	/* tx: close the connection after */
#define ISCSI_PDU_TX_READY	0x40u	/* tx: length fields, digests done */
/* tx: a Text Response ending an exchange that renegotiated the
 * initiator's MaxRecvDataSegmentLength (new value in new_max_xmit_dsl):
 * PDUs queued after it are cut to the new size. */
#define ISCSI_PDU_SET_MAX_XMIT_DSL 0x80u

struct iscsi_pdu *iscsi_pdu_alloc(uint32_t data_len);	/* zeroed bhs */
void	iscsi_pdu_free(struct iscsi_pdu *);

/*
 * Extensions (connection side, iscsi_pdu.c).  The struct above gains
 * fields only at its end so code written against the original layout
 * keeps working.
 *
 * On send, the connection writes TotalAHSLength and DataSegmentLength
 * (bytes 4..7) from ahs_len/data_len, and StatSN/ExpCmdSN/MaxCmdSN (bytes
 * 24..35) for every target PDU that carries them: callers fill the other
 * fields only.  Padding and digests are added by the connection.
 */
#define ISCSI_LOGIN_MAX_DSL	8192	/* our MaxRecvDSL during login */
#define ISCSI_RSVD_TAG		0xffffffffu

/* Byte offsets of common BHS fields (RFC 7143 11.2). */
#define ISCSI_BHS_OPCODE	0	/* I bit 0x40, opcode 0x3f */
#define ISCSI_BHS_FLAGS		1	/* F bit 0x80 and opcode-specific */
#define ISCSI_BHS_AHSLEN	4
#define ISCSI_BHS_DSL		5	/* 24 bits */
#define ISCSI_BHS_LUN		8
#define ISCSI_BHS_ITT		16
#define ISCSI_BHS_TTT		20
#define ISCSI_BHS_CMDSN		24	/* requests; StatSN in responses */
#define ISCSI_BHS_EXPSTATSN	28	/* requests; ExpCmdSN in responses */
#define ISCSI_BHS_MAXCMDSN	32	/* responses */

/* Reject reasons (RFC 7143 11.17.1) */
#define ISCSI_REJECT_DATA_DIGEST	0x02
#define ISCSI_REJECT_SNACK		0x03
#define ISCSI_REJECT_PROTOCOL		0x04
#define ISCSI_REJECT_CMD_NOT_SUPP	0x05
#define ISCSI_REJECT_IMM_CMD		0x06
#define ISCSI_REJECT_TASK_IN_PROGRESS	0x07
#define ISCSI_REJECT_INVALID_FIELD	0x09
#define ISCSI_REJECT_OUT_OF_RESOURCES	0x0a
#define ISCSI_REJECT_WAITING_LOGOUT	0x0c

#define ISCSI_OP_IMMEDIATE	0x40
#define ISCSI_FLAG_FINAL	0x80

/* Login Request/Response byte 1 */
#define ISCSI_LOGIN_TRANSIT	0x80
#define ISCSI_LOGIN_CONTINUE	0x40
#define ISCSI_LOGIN_CSG(b)	(((b) >> 2) & 0x3)
#define ISCSI_LOGIN_NSG(b)	((b) & 0x3)
#define ISCSI_STAGE_SECNEG	0
#define ISCSI_STAGE_OPNEG	1
#define ISCSI_STAGE_FFP		3

static inline uint8_t
iscsi_pdu_opcode(const struct iscsi_pdu *pdu)
{
	return pdu->bhs[ISCSI_BHS_OPCODE] & 0x3f;
}

static inline bool
iscsi_pdu_immediate(const struct iscsi_pdu *pdu)
{
	return (pdu->bhs[ISCSI_BHS_OPCODE] & ISCSI_OP_IMMEDIATE) != 0;
}

static inline uint32_t
iscsi_pdu_itt(const struct iscsi_pdu *pdu)
{
	return ((uint32_t)pdu->bhs[16] << 24) | ((uint32_t)pdu->bhs[17] << 16) |
	    ((uint32_t)pdu->bhs[18] << 8) | pdu->bhs[19];
}

/* DataSegmentLength as written in the BHS. */
static inline uint32_t
iscsi_bhs_dsl(const uint8_t *bhs)
{
	return ((uint32_t)bhs[5] << 16) | ((uint32_t)bhs[6] << 8) | bhs[7];
}

/* Replace the PDU's data segment with a copy of len bytes (len may be 0).
 * Returns 0 or -ENOMEM (PDU unchanged). */
int	iscsi_pdu_set_data(struct iscsi_pdu *, const void *data, uint32_t len);
/* Start a target PDU: zero the BHS, set opcode (and F bit if final) and
 * ITT. */
void	iscsi_pdu_init_bhs(struct iscsi_pdu *, uint8_t opcode, bool final,
	    uint32_t itt);

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
/* Peer address (numeric text) and the connection's negotiated
 * parameters (defaults with MaxRecvDSL 8192 during login; the session's
 * after login). */
const char *iscsi_conn_peer_ip(const struct iscsi_conn *);
const struct iscsi_params *iscsi_conn_params(const struct iscsi_conn *);
/* Actual local address of the socket (differs from the portal ip for a
 * wildcard portal such as 0.0.0.0 or ::). */
const char *iscsi_conn_local_ip(const struct iscsi_conn *);
/*
 * Notes on the login hand-off (connection side behaviour):
 * - iscsi_conn_portal_ip() is the listener's configured address text, as
 *   in the configuration ("0.0.0.0", "::1", ...), so it matches
 *   target_login_check()'s portal list.
 * - A Login Response with T=1, NSG=FFP and Status-Class 0, queued after a
 *   successful iscsi_session_login_complete(), ends the login phase: once
 *   it is on the wire the negotiated digests are turned on and the
 *   connection enters Full Feature Phase.  Until then no further PDU is
 *   read.  A login that never completes is dropped after the login
 *   timeout (iscsi_set_globals()).
 * - Login responses may be sent with any status; for a failed login send
 *   the response and then call iscsi_conn_close(conn, true).
 */

/* --- provided by the login side --- */
/* A Login Request PDU arrived on a connection in login phase; the login
 * side answers with iscsi_conn_send() and frees pdu. */
void	iscsi_login_rx(struct iscsi_conn *, struct iscsi_pdu *pdu);
/* A Text Request PDU arrived (discovery or full feature phase).  The
 * connection keeps its login state (names, negotiated values) for it until
 * teardown.  A malformed request (F and C both set, reserved ITT, a
 * Target Transfer Tag we did not issue, text that does not parse or is
 * too long) gets a Reject.  params are the session's; discovery tells whether it is a discovery session;
 * initiator is the session's initiator name. */
void	iscsi_text_rx(struct iscsi_conn *, struct iscsi_pdu *pdu,
	    bool discovery, const char *initiator);

#endif
