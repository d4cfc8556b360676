/*
 * iscsi_login.h - state shared by the login side's files (iscsi_login.c,
 * iscsi_text.c).  The connection side does not include it.
 *
 * One struct iscsi_login_state hangs off each connection through
 * iscsi_conn_set_login_state(): it is created by the first Login or Text
 * Request and freed with the connection.  It holds the login negotiation
 * and, after login, what Text Requests need (the session's target name and
 * a pending long Text Response).
 */
#ifndef TPCD_ISCSI_LOGIN_H
#define TPCD_ISCSI_LOGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iscsi_chap.h"
#include "iscsi_param.h"
#include "target.h"

struct iscsi_conn;

/* Login status (RFC 7143 11.13.5) as (class << 8 | detail). */
#define ISCSI_LS_SUCCESS		0x0000
#define ISCSI_LS_INITIATOR_ERROR	0x0200
#define ISCSI_LS_AUTH_FAILED		0x0201
#define ISCSI_LS_FORBIDDEN		0x0202
#define ISCSI_LS_NOT_FOUND		0x0203
#define ISCSI_LS_TARGET_REMOVED		0x0204
#define ISCSI_LS_UNSUPPORTED_VERSION	0x0205
#define ISCSI_LS_TOO_MANY_CONNECTIONS	0x0206
#define ISCSI_LS_MISSING_PARAMETER	0x0207
#define ISCSI_LS_CANT_INCLUDE		0x0208
#define ISCSI_LS_SESSION_TYPE		0x0209
#define ISCSI_LS_NO_SESSION		0x020a
#define ISCSI_LS_INVALID_DURING_LOGIN	0x020b
#define ISCSI_LS_TARGET_ERROR		0x0300
#define ISCSI_LS_SERVICE_UNAVAILABLE	0x0301
#define ISCSI_LS_OUT_OF_RESOURCES	0x0302

#define ISCSI_LOGIN_TEXT_MAX	(64u * 1024)	/* C-bit accumulation */
#define ISCSI_TEXT_RSP_MAX	(256u * 1024)	/* one Text Response set */
#define ISCSI_NAME_MAX		223

enum iscsi_auth_state {
	ISCSI_AUTH_START,	/* no AuthMethod yet */
	ISCSI_AUTH_WAIT_A,	/* CHAP chosen, waiting for CHAP_A */
	ISCSI_AUTH_WAIT_R,	/* challenge sent, waiting for CHAP_N/R */
	ISCSI_AUTH_DONE,	/* None chosen or CHAP verified */
};

/* A Text Request/Response exchange spanning several PDUs. */
struct iscsi_text_state {
	uint32_t	 itt;
	uint32_t	 ttt;		/* ours, while a response is pending */
	uint32_t	 next_ttt;
	uint8_t		*rsp;		/* response text not yet sent */
	size_t		 rsp_len, rsp_off;
	uint8_t		*req;		/* request text so far (C bit) */
	size_t		 req_len;
	bool		 req_pending;
	bool		 rsp_pending;
	uint32_t	 new_mrdsl;	/* declared in the exchange, or 0 */
};

struct iscsi_login_state {
	bool		 started;	/* first request seen */
	bool		 failed;
	bool		 done;		/* final response queued */
	uint8_t		 isid[6];
	uint16_t	 tsih;
	uint16_t	 cid;
	uint32_t	 cmdsn;
	enum iscsi_neg_stage stage;	/* current stage (CSG) */
	bool		 names_done;
	bool		 discovery;
	bool		 tpgt_sent;
	char		 initiator[ISCSI_NAME_MAX + 1];
	char		 target[ISCSI_NAME_MAX + 1];
	char		 alias[ISCSI_VALUE_MAX + 1];
	struct target_auth auth;
	enum iscsi_auth_state auth_state;
	struct iscsi_chap chap;
	struct iscsi_negot negot;
	uint8_t		*acc;		/* login text so far (C bit) */
	size_t		 acc_len;
	struct iscsi_text_state text;
};

/* The connection's state, created on first use; NULL on ENOMEM. */
struct iscsi_login_state *iscsi_login_state_get(struct iscsi_conn *);

/* Append len bytes to a bounded buffer.  0, -E2BIG or -ENOMEM. */
int	iscsi_login_append(uint8_t **buf, size_t *len, const uint8_t *data,
	    size_t n, size_t max);

#endif
