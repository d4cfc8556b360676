/*
 * iscsi_param.h - iSCSI text keys (RFC 7143 6, 13) and their negotiation.
 *
 * Pure code: bytes of a text data segment in, key=value pairs out, and the
 * negotiation of every RFC 7143 login/text key against the target's
 * settings, with ranges and defaults.  No sockets, no sessions.
 *
 * One table describes every key: its result function (list, boolean AND/OR,
 * numerical min/max, declarative), the stages it may appear in (leading
 * login only, any login, any time), its range, its RFC default and the
 * value we offer.  The target's configuration ("Key=Value" lines from the
 * TPG) only changes our values, within the same ranges.
 *
 * Keys that belong to the login state machine (names, SessionType,
 * AuthMethod, CHAP_*) and SendTargets are recognised by the table but left
 * to the caller: iscsi_param_negotiate() returns ISCSI_PARAM_NOT_MINE.
 */
#ifndef TPCD_ISCSI_PARAM_H
#define TPCD_ISCSI_PARAM_H

#include <stdbool.h>
#include <stddef.h>
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

/* RFC 7143 6.1 limits. */
#define ISCSI_KEY_MAX		63	/* key name bytes */
#define ISCSI_VALUE_MAX		255	/* text values */
#define ISCSI_VALUE_BIN_MAX	8192	/* encoded binary values (CHAP_C/R) */
#define ISCSI_LOGIN_DSL		8192	/* data segment bound during login */

/* Every key the table knows. */
enum iscsi_key {
	ISCSI_KEY_HEADER_DIGEST,
	ISCSI_KEY_DATA_DIGEST,
	ISCSI_KEY_MAX_CONNECTIONS,
	ISCSI_KEY_SEND_TARGETS,
	ISCSI_KEY_TARGET_NAME,
	ISCSI_KEY_INITIATOR_NAME,
	ISCSI_KEY_TARGET_ALIAS,
	ISCSI_KEY_INITIATOR_ALIAS,
	ISCSI_KEY_TARGET_ADDRESS,
	ISCSI_KEY_TARGET_PORTAL_GROUP_TAG,
	ISCSI_KEY_INITIAL_R2T,
	ISCSI_KEY_IMMEDIATE_DATA,
	ISCSI_KEY_MAX_RECV_DSL,
	ISCSI_KEY_MAX_BURST_LENGTH,
	ISCSI_KEY_FIRST_BURST_LENGTH,
	ISCSI_KEY_DEFAULT_TIME2WAIT,
	ISCSI_KEY_DEFAULT_TIME2RETAIN,
	ISCSI_KEY_MAX_OUTSTANDING_R2T,
	ISCSI_KEY_DATA_PDU_IN_ORDER,
	ISCSI_KEY_DATA_SEQUENCE_IN_ORDER,
	ISCSI_KEY_ERROR_RECOVERY_LEVEL,
	ISCSI_KEY_SESSION_TYPE,
	ISCSI_KEY_AUTH_METHOD,
	ISCSI_KEY_OF_MARKER,
	ISCSI_KEY_IF_MARKER,
	ISCSI_KEY_OF_MARK_INT,
	ISCSI_KEY_IF_MARK_INT,
	ISCSI_KEY_TASK_REPORTING,
	ISCSI_KEY_PROTOCOL_LEVEL,
	ISCSI_KEY_CHAP_A,
	ISCSI_KEY_CHAP_I,
	ISCSI_KEY_CHAP_C,
	ISCSI_KEY_CHAP_N,
	ISCSI_KEY_CHAP_R,
	ISCSI_KEY__COUNT,
	ISCSI_KEY_UNKNOWN = -1,
};

/* Result functions (RFC 7143 6.2). */
enum iscsi_key_type {
	ISCSI_KT_LIST,		/* first of the offer's list we support */
	ISCSI_KT_AND,		/* boolean AND */
	ISCSI_KT_OR,		/* boolean OR */
	ISCSI_KT_MIN,		/* numerical minimum */
	ISCSI_KT_MAX,		/* numerical maximum */
	ISCSI_KT_DECL_NUM,	/* declarative number: no answer */
	ISCSI_KT_DECL_STR,	/* declarative string: no answer */
	ISCSI_KT_IRRELEVANT,	/* always "Irrelevant" (OFMarkInt, IFMarkInt) */
	ISCSI_KT_TARGET_ONLY,	/* only the target may send it */
	ISCSI_KT_CALLER,	/* names, auth, SendTargets: the caller's */
};

/* Where a key may appear. */
enum iscsi_key_use {
	ISCSI_USE_LO,		/* leading connection's login only */
	ISCSI_USE_IO,		/* login of any connection */
	ISCSI_USE_ALL,		/* login and full feature phase */
	ISCSI_USE_SEC,		/* security stage only */
	ISCSI_USE_FFP,		/* full feature phase only (SendTargets) */
};

/* Login stages as in CSG/NSG (RFC 7143 11.12.3). */
enum iscsi_neg_stage {
	ISCSI_NEG_SECURITY	= 0,
	ISCSI_NEG_OPERATIONAL	= 1,
	ISCSI_NEG_FFP		= 3,
};

struct iscsi_key_desc {
	const char	*name;
	enum iscsi_key_type type;
	enum iscsi_key_use use;
	bool		 discovery_irrelevant;
	uint32_t	 min, max;	/* numeric range */
	uint32_t	 def;		/* RFC default (list: bit mask) */
	uint32_t	 ours;		/* our default offer (list: mask) */
	const char *const *values;	/* list keys: NULL-terminated */
};

enum iscsi_key iscsi_key_lookup(const char *name);
const struct iscsi_key_desc *iscsi_key_desc(enum iscsi_key);

/* --- text data segments --- */

struct iscsi_param_kv {
	const char	*key;
	const char	*value;
};

/* Parsed pairs; keys and values point into buf (owned). */
struct iscsi_param_list {
	struct iscsi_param_kv *kv;
	unsigned int	 n;
	char		*buf;
};

/* Parse "key=value\0key=value\0...".  Empty strings (extra NULs) are
 * skipped.  Returns 0, -EINVAL (no '=', empty or bad key name, key longer
 * than 63, value longer than ISCSI_VALUE_BIN_MAX, last pair not
 * terminated), -EEXIST (a key sent twice, RFC 7143 6.1) or -ENOMEM. */
int	iscsi_param_parse(const uint8_t *data, size_t len,
	    struct iscsi_param_list *out);
void	iscsi_param_list_free(struct iscsi_param_list *);
/* Value of key, or NULL. */
const char *iscsi_param_list_get(const struct iscsi_param_list *,
	    const char *key);

/* A growing response text segment, bounded by max. */
struct iscsi_param_buf {
	char		*data;
	size_t		 len;
	size_t		 cap;
	size_t		 max;		/* 0: ISCSI_LOGIN_DSL */
};

void	iscsi_param_buf_init(struct iscsi_param_buf *, size_t max);
void	iscsi_param_buf_fini(struct iscsi_param_buf *);
/* Append "key=value\0".  -ENOSPC past max, -ENOMEM. */
int	iscsi_param_buf_add(struct iscsi_param_buf *, const char *key,
	    const char *value);
int	iscsi_param_buf_add_u32(struct iscsi_param_buf *, const char *key,
	    uint32_t value);

/* --- our side: the target's settings --- */

struct iscsi_param_conf {
	uint32_t	 val[ISCSI_KEY__COUNT];	/* number, bool or list mask */
	char		 target_alias[ISCSI_VALUE_MAX + 1];	/* "" none */
};

void	iscsi_param_conf_default(struct iscsi_param_conf *);
/* Set one key from configuration text.  Unknown keys and keys we do not
 * let the configuration change (LIO-only ones in targetcli files, names,
 * AuthMethod, markers) are ignored and return 1; 0 when set; -EINVAL for a
 * bad value. */
int	iscsi_param_conf_set(struct iscsi_param_conf *, const char *key,
	    const char *value);
/* Apply "Key=Value" lines (separated by '\n', ';' not allowed since values
 * hold commas).  Returns 0 or -EINVAL with a message in err. */
int	iscsi_param_conf_parse(struct iscsi_param_conf *, const char *text,
	    char *err, size_t errlen);

/* --- negotiation --- */

struct iscsi_negot {
	struct iscsi_param_conf conf;
	struct iscsi_params params;	/* result so far */
	enum iscsi_neg_stage stage;
	bool		 leading;	/* leading connection of the session */
	bool		 discovery;
	bool		 mrdsl_declared;	/* we sent ours */
	bool		 alias_declared;
	bool		 first_burst_set;
	bool		 protocol_level_set;
	uint32_t	 protocol_level;
};

/* Start a negotiation; conf NULL means defaults.  params start at the RFC
 * defaults except max_recv_dsl, which is ours. */
void	iscsi_negot_init(struct iscsi_negot *, const struct iscsi_param_conf *,
	    bool leading, bool discovery);

#define ISCSI_PARAM_NOT_MINE	1

/* Negotiate one offered key and append our answer to rsp.  Returns 0,
 * ISCSI_PARAM_NOT_MINE for keys the caller handles (names, SessionType,
 * AuthMethod, CHAP_*, SendTargets), -EPROTO when the key may not be sent
 * now or by the initiator (login: initiator error; full feature phase: the
 * answer is already "Reject"), -ENOSPC/-ENOMEM when rsp is full. */
int	iscsi_param_negotiate(struct iscsi_negot *, const char *key,
	    const char *value, struct iscsi_param_buf *rsp);
/* All pairs of a request, skipping the caller's keys; FirstBurstLength is
 * done last so it can be bounded by MaxBurstLength.  Stops at the first
 * error. */
int	iscsi_param_negotiate_list(struct iscsi_negot *,
	    const struct iscsi_param_list *, struct iscsi_param_buf *rsp);
/* Declare our MaxRecvDataSegmentLength and TargetAlias if not done yet. */
int	iscsi_param_declare(struct iscsi_negot *, struct iscsi_param_buf *rsp);
/* Final consistency (FirstBurstLength <= MaxBurstLength) before use. */
void	iscsi_param_finish(struct iscsi_negot *);

/* Parse a numerical value: decimal, 0x hex (RFC 7143 6.1).  0 or -EINVAL. */
int	iscsi_param_parse_u32(const char *s, uint32_t *out);

#endif
