/*
 * iscsi_conn.h - connection-side internals of the iSCSI front end:
 * connections, sessions, tasks and the resumable PDU receiver.
 *
 * Ownership: a connection and its tasks belong to conn->loop and are only
 * touched there.  A session lives on the same loop as its connections; the
 * global session table (TSIH, reinstatement lookup) and the global list of
 * connections (shutdown) are the only state shared between loops, each
 * under its own mutex.  A connection is torn down (socket closed, tasks
 * aborted, nexus unregistered) as soon as it fails or logs out, but its
 * memory stays until every task still inside the SCSI engine has called
 * done(); the session is freed with its last connection.
 *
 * This header is for the connection side only (iscsi_pdu.c, iscsi_conn.c,
 * iscsi_session.c, iscsi_scsi.c, iscsi_tmf.c, iscsi_listen.c); the login
 * side uses iscsi_int.h.
 */
#ifndef TPCD_ISCSI_CONN_H
#define TPCD_ISCSI_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "iscsi_int.h"
#include "iscsi_param.h"
#include "loop.h"
#include "scsi.h"

struct loop;
struct loop_timer;
struct scsi_nexus;

#define ISCSI_QUEUE_DEPTH	128	/* CmdSN window, tasks per session */
#define ISCSI_TASKS_MAX		(ISCSI_QUEUE_DEPTH + 32)  /* + immediate */
#define ISCSI_MAX_XFER		(32u << 20)	/* EDTL cap, >= SBC_MAX_XFER_BYTES */
#define ISCSI_R2T_MAX		16	/* MaxOutstandingR2T we track */
#define ISCSI_ITT_HASH		256
#define ISCSI_HELD_MAX		ISCSI_QUEUE_DEPTH
#define ISCSI_BUF_MIN_SHIFT	12	/* 4 KiB smallest data buffer */
#define ISCSI_BUF_CLASSES	13	/* 4 KiB .. 16 MiB (ISCSI_MAX_XFER) */
#define ISCSI_BUF_CACHE_MAX	(16u << 20)	/* cached per connection */

/* Serial number arithmetic (RFC 1982, 32 bits). */
static inline bool
iscsi_sn_lt(uint32_t a, uint32_t b)
{
	return a != b && (uint32_t)(b - a) < 0x80000000u;
}

static inline bool
iscsi_sn_le(uint32_t a, uint32_t b)
{
	return a == b || iscsi_sn_lt(a, b);
}

/* ---------------- resumable receiver (iscsi_pdu.c) ---------------- */

enum iscsi_rx_state {
	ISCSI_RX_BHS,
	ISCSI_RX_AHS,
	ISCSI_RX_HDIGEST,
	ISCSI_RX_DATA,
	ISCSI_RX_DDIGEST,
	ISCSI_RX_DONE,
};

/*
 * Feed it bytes in any split; it yields whole PDUs.  Either ask where the
 * next bytes go (iscsi_rx_want) and report how many arrived
 * (iscsi_rx_advance), or copy from a buffer (iscsi_rx_feed).  A data
 * segment longer than max_dsl is read and thrown away, and the PDU is
 * delivered with ISCSI_PDU_DATA_TOO_LONG; a data digest mismatch is
 * delivered with ISCSI_PDU_DDIGEST_BAD; a header digest mismatch is fatal
 * (-EBADMSG), as framing can no longer be trusted.
 */
struct iscsi_rx {
	enum iscsi_rx_state state;
	struct iscsi_pdu *pdu;		/* being assembled */
	uint32_t	 off;		/* bytes done in the current state */
	uint32_t	 need;		/* bytes in the current state */
	uint32_t	 pad;
	bool		 hdigest, ddigest;	/* negotiated, per PDU */
	bool		 cur_hdigest, cur_ddigest;
	bool		 discard;	/* data goes to scratch */
	/* Set when the header of a PDU whose data is over max_dsl is in
	 * (rx->pdu holds it); the owner clears it. */
	bool		 too_long_hdr;
	uint32_t	 max_dsl;
	uint8_t		 digest[4];
	uint8_t		 scratch[512];
	struct iscsi_pdu_pool *pool;	/* optional, for received PDUs */
	/* Optional placement of a data segment (zero copy Data-Out):
	 * return where len bytes go, or NULL for an owned buffer. */
	uint8_t		*(*place)(void *arg, const struct iscsi_pdu *pdu);
	void		*place_arg;
	/* Set by place() when the buffer it returns is heap memory the PDU
	 * now owns (ISCSI_PDU_DATA_POOLED, size class place_class). */
	bool		 place_owned;
	uint8_t		 place_class;
};

void	iscsi_rx_init(struct iscsi_rx *, uint32_t max_dsl);
void	iscsi_rx_fini(struct iscsi_rx *);
/* Where the next bytes go; returns how many are wanted (> 0). */
size_t	iscsi_rx_want(struct iscsi_rx *, uint8_t **buf);
/* n bytes were stored at the want pointer.  Returns 1 when a PDU is
 * complete (take it), 0 for more, -ENOMEM or -EBADMSG. */
int	iscsi_rx_advance(struct iscsi_rx *, size_t n);
struct iscsi_pdu *iscsi_rx_take(struct iscsi_rx *);
/* Copy from buf until a PDU completes or buf is used; *used tells how far.
 * Same return values as iscsi_rx_advance. */
int	iscsi_rx_feed(struct iscsi_rx *, const uint8_t *buf, size_t len,
	    size_t *used);
/* True between PDUs (nothing partial buffered). */
bool	iscsi_rx_idle(const struct iscsi_rx *);

/*
 * PDU pool: a connection recycles the PDU structs it sends and receives so
 * the steady state does not call malloc (data segments it owns are still
 * freed).  A pool is used from one loop at a time (its connection's).  A
 * PDU may outlive the connection: destroying the pool only marks it, and
 * the memory goes with the last PDU handed out.
 */
struct iscsi_pdu_pool {
	struct iscsi_pdu *free;
	unsigned int	 n_free;
	unsigned int	 live;		/* handed out, not yet freed */
	bool		 closed;
};

struct iscsi_pdu_pool *iscsi_pdu_pool_create(void);
void	iscsi_pdu_pool_destroy(struct iscsi_pdu_pool *);
/* Like iscsi_pdu_alloc(); pool may be NULL (plain allocation). */
struct iscsi_pdu *iscsi_pdu_pool_get(struct iscsi_pdu_pool *,
	    uint32_t data_len);

/* Build the iovec for sending pdu (BHS, AHS, header digest, data,
 * padding, data digest), computing digests.  Returns the count (<= 6). */
int	iscsi_pdu_tx_iov(struct iscsi_pdu *, bool hdigest, bool ddigest,
	    struct iovec iov[6]);
uint32_t iscsi_pdu_wire_len(const struct iscsi_pdu *, bool hdigest,
	    bool ddigest);
/* Reject (RFC 7143 11.17) carrying the offending header. */
struct iscsi_pdu *iscsi_pdu_reject(const uint8_t *bad_bhs, uint8_t reason);


/* ---------------- tasks ---------------- */

enum iscsi_task_state {
	ISCSI_TASK_FREE,
	ISCSI_TASK_DATA_OUT,	/* collecting Data-Out */
	ISCSI_TASK_ENGINE,	/* inside the SCSI engine */
	ISCSI_TASK_RESPONDING,	/* response queued for tx */
};

struct iscsi_r2t {
	uint32_t	 ttt;
	uint32_t	 offset;
	uint32_t	 len;
	uint32_t	 got;		/* bytes received */
	uint32_t	 next_off;	/* in order: next expected offset */
	uint32_t	 data_sn;	/* next expected DataSN */
	bool		 used;
};

struct iscsi_task {
	struct scsi_cmd	 cmd;
	struct iscsi_conn *conn;
	struct iscsi_task *next, *prev;		/* conn->tasks */
	struct iscsi_task *hnext;		/* ITT hash chain */
	enum iscsi_task_state state;
	uint32_t	 itt;
	uint32_t	 cmd_sn;
	uint8_t		 lun_raw[8];
	uint32_t	 edtl;		/* Expected Data Transfer Length */
	struct iovec	 iov;
	int		 buf_class;	/* of iov.iov_base, -1 plain malloc */
	bool		 write;
	bool		 prepared;	/* scsi_cmd_prepare() succeeded */
	bool		 aborted;	/* by TMF or teardown: no response */
	bool		 unsol_done;	/* unsolicited phase finished */
	uint32_t	 got;		/* Data-Out bytes received */
	uint32_t	 unsol_next;	/* next unsolicited offset */
	uint32_t	 unsol_sn;	/* next unsolicited DataSN */
	uint32_t	 r2t_next;	/* next offset to solicit */
	uint32_t	 r2t_sn;
	unsigned int	 r2t_out;	/* outstanding R2Ts */
	struct iscsi_r2t r2t[ISCSI_R2T_MAX];
	uint32_t	 data_sn;	/* Data-In */
	struct iscsi_task *free_next;
};

/* ---------------- connection ---------------- */

enum iscsi_conn_state {
	ISCSI_CONN_LOGIN,
	ISCSI_CONN_FFP,
	ISCSI_CONN_LOGOUT,	/* logout response queued */
	ISCSI_CONN_CLOSING,	/* flushing, then teardown */
	ISCSI_CONN_DEAD,	/* torn down, waiting for tasks */
};

struct iscsi_tmf_wait;
struct iscsi_tmf_ack;
struct iscsi_forget;

struct iscsi_conn {
	int		 fd;
	struct loop	*loop;
	enum iscsi_conn_state state;
	bool		 registered;	/* fd in loop */
	bool		 want_out;	/* EPOLLOUT armed */
	bool		 in_transit;	/* moving between loops */
	bool		 login_final_queued;
	/* Final login response held until a reinstated session is gone. */
	struct iscsi_pdu *login_parked;
	bool		 move_pending;	/* to the session's loop */
	bool		 load_counted;	/* loop_load_add done */
	unsigned int	 busy;		/* callback depth: defer free */
	unsigned int	 posts;		/* messages in flight (conn_glock) */

	char		 portal_ip[64];	/* listener's configured address */
	uint16_t	 portal_port;
	char		 local_ip[64];
	char		 peer_ip[64];
	uint16_t	 peer_port;

	/* rx */
	struct iscsi_rx	 rx;
	uint8_t		*rbuf;		/* staging buffer */
	uint32_t	 rbuf_len, rbuf_off;

	/* tx: written once per loop iteration (tx_defer) */
	struct iscsi_pdu *txq_head, *txq_tail;
	unsigned int	 txq_n;
	bool		 tx_hdigest, tx_ddigest;
	bool		 tx_now;	/* the deferred flush is running */
	struct loop_defer tx_defer;
	struct iscsi_pdu_pool *pdu_pool;

	/* task data buffers kept for reuse, by power-of-two size class */
	void		*buf_free[ISCSI_BUF_CLASSES];
	uint64_t	 buf_cached;	/* bytes on the lists */

	/* login */
	void		*login_state;
	void		(*login_state_free)(void *);
	uint32_t	 login_exp_cmdsn;
	struct iscsi_params params;	/* conn's view (login defaults) */

	/* full feature phase */
	struct iscsi_session *sess;
	struct iscsi_conn *snext;	/* session's connections */
	uint16_t	 cid;
	uint32_t	 stat_sn;
	uint32_t	 next_ttt;

	struct iscsi_task *tasks;	/* every live task */
	struct iscsi_task *itt_hash[ISCSI_ITT_HASH];
	struct iscsi_task *task_free;
	unsigned int	 n_tasks;	/* allocated, live or free */
	unsigned int	 n_live;
	unsigned int	 n_engine;	/* tasks inside the engine */
	unsigned int	 n_engine_aborted;
	uint64_t	 buf_bytes;	/* task data buffers allocated */
	struct iscsi_tmf_wait *tmf_waits;
	/* Other connections' TMFs waiting for our aborted tasks. */
	struct iscsi_tmf_ack *tmf_acks;

	/* timers: login timeout, then NOP-In ping */
	struct loop_timer *timer;
	uint64_t	 last_rx_ms;
	uint32_t	 ping_ttt;	/* outstanding ping, or RSVD */
	uint64_t	 ping_sent_ms;

	struct iscsi_conn *gnext, *gprev;	/* global list */
};

/* iscsi_conn.c */
struct iscsi_conn *iscsi_conn_create(int fd, struct loop *,
	    const char *portal_ip, uint16_t portal_port);
/* Fill StatSN/ExpCmdSN/MaxCmdSN by opcode and queue. */
void	iscsi_conn_send(struct iscsi_conn *, struct iscsi_pdu *);
/* A PDU from the connection's pool (see iscsi_pdu_pool_get). */
struct iscsi_pdu *iscsi_conn_pdu_alloc(struct iscsi_conn *, uint32_t len);
void	iscsi_conn_rx_pdu(struct iscsi_conn *, struct iscsi_pdu *);
void	iscsi_conn_maybe_free(struct iscsi_conn *);
/* Bracket work on a connection from outside its fd callback (engine
 * completions, timers): the outermost leave flushes and may free it. */
void	iscsi_conn_enter(struct iscsi_conn *);
void	iscsi_conn_leave(struct iscsi_conn *);
void	iscsi_conn_teardown(struct iscsi_conn *);
void	iscsi_conn_close_all(void);
unsigned int iscsi_conn_count(void);
void	iscsi_conn_set_zero_cb(void (*cb)(void *), void *arg);
/* Messages to a connection's loop: reserve (keeps its memory), then post
 * (or cancel the reservation); fn must start with iscsi_conn_post_done().
 */
void	iscsi_conn_post_reserve(struct iscsi_conn *);
void	iscsi_conn_post_cancel(struct iscsi_conn *);
int	iscsi_conn_post(struct iscsi_conn *, void (*fn)(void *), void *arg);
void	iscsi_conn_post_done(struct iscsi_conn *);
/* Post fn(m) to the loop of every connection but self, m = make(c, arg)
 * (NULL: skip c; make runs under the global connection lock and must not
 * call back into this file); cancel(m) undoes make when the post fails.
 * Each message holds a reservation on c: fn starts with
 * iscsi_conn_msg_arrive() and returns at once when that returns true.
 * Returns the number posted. */
unsigned int iscsi_conn_post_all(struct iscsi_conn *self,
	    void *(*make)(struct iscsi_conn *, void *), void (*cancel)(void *),
	    void *arg, void (*fn)(void *));
bool	iscsi_conn_msg_arrive(struct iscsi_conn *, void (*fn)(void *),
	    void *m);

/* iscsi_session.c */
struct iscsi_session {
	uint8_t		 isid[6];
	uint16_t	 tsih;
	uint16_t	 tpg_tag;
	bool		 discovery;
	char		 initiator[224];
	char		 target[224];
	struct iscsi_params params;
	struct loop	*loop;
	struct scsi_nexus *nexus;
	bool		 nexus_registered;
	bool		 in_table;
	bool		 torn_down;
	/* Reinstatement (sess_lock): the new session waits for this one */
	struct iscsi_conn *reinstate_waiter;
	bool		 reinstate_pending;	/* nexus not registered yet */
	unsigned int	 refcnt;	/* atomic: table, conns, posts */

	uint32_t	 exp_cmd_sn;
	uint32_t	 max_cmd_sn;
	struct iscsi_pdu *held;		/* out-of-order PDUs, by CmdSN */
	unsigned int	 n_held;
	struct iscsi_forget *forget;

	struct iscsi_conn *conns;
	unsigned int	 n_conns;
	struct iscsi_session *tnext;	/* table */
};

void	iscsi_session_get(struct iscsi_session *);
void	iscsi_session_put(struct iscsi_session *);
/* A connection leaves (teardown); the last one unregisters the nexus. */
void	iscsi_session_conn_gone(struct iscsi_session *, struct iscsi_conn *);
uint32_t iscsi_session_max_cmd_sn(struct iscsi_session *);
/* A non-immediate PDU with a CmdSN arrived: returns 1 when it may be
 * processed now (ExpCmdSN advanced), 0 when held (owned by the session
 * now) and -1 when it must be dropped (outside window or duplicate). */
int	iscsi_session_cmdsn_check(struct iscsi_session *, struct iscsi_pdu *);
/* Next held PDU that became in order, or NULL. */
struct iscsi_pdu *iscsi_session_cmdsn_next(struct iscsi_session *);
/* A CmdSN taken by TMF ABORT TASK on a command not yet received. */
bool	iscsi_session_cmdsn_forget(struct iscsi_session *, uint32_t cmd_sn,
	    uint32_t itt);
void	iscsi_session_kill(struct iscsi_session *);
void	iscsi_session_set_loop(struct iscsi_session *, struct loop *);
/* A session being reinstated is gone: runs on the new connection's loop
 * and lets its final login response go. */
void	iscsi_session_reinstated(void *conn);

/* iscsi_scsi.c */
void	iscsi_scsi_cmd_rx(struct iscsi_conn *, struct iscsi_pdu *);
void	iscsi_scsi_data_out_rx(struct iscsi_conn *, struct iscsi_pdu *);
uint8_t *iscsi_scsi_place(void *conn, const struct iscsi_pdu *);
struct iscsi_task *iscsi_task_find(struct iscsi_conn *, uint32_t itt);
/* Abort: no response will be sent; returns true if the engine still
 * holds it (the caller waits for done). */
bool	iscsi_task_abort(struct iscsi_task *);
void	iscsi_task_release(struct iscsi_task *);
void	iscsi_tasks_free_pool(struct iscsi_conn *);

/* iscsi_tmf.c */
void	iscsi_tmf_rx(struct iscsi_conn *, struct iscsi_pdu *);
void	iscsi_nop_out_rx(struct iscsi_conn *, struct iscsi_pdu *);
void	iscsi_logout_rx(struct iscsi_conn *, struct iscsi_pdu *);
void	iscsi_reject(struct iscsi_conn *, const uint8_t *bhs, uint8_t reason);
void	iscsi_nop_ping(struct iscsi_conn *);
/* An aborted task left the engine: pending TMF responses may go. */
void	iscsi_tmf_task_done(struct iscsi_conn *);
void	iscsi_tmf_conn_fini(struct iscsi_conn *);
void	iscsi_pr_abort(struct scsi_nexus *, struct lun *);

/* iscsi_listen.c */
struct iscsi_globals;
const struct iscsi_globals *iscsi_get_globals(void);
void	iscsi_listeners_close_all(void);

#endif
