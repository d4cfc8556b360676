/*
 * pr.h - reservations: SPC-2 RESERVE/RELEASE and SPC-4 persistent
 * reservations (PERSISTENT RESERVE IN/OUT), one state per logical unit.
 *
 * The module owns struct pr_state (hung off lun->pr, created on the LU's
 * first command and freed by lun_put()).  It is split in three:
 *
 *   pr.c        the pure state machine: PR OUT service actions applied to a
 *               struct pr_state, the conflict rules of SPC-4 5.13 (table of
 *               commands allowed in the presence of reservations, keyed by
 *               opcode/service action, SBC-4 4.17 for block commands),
 *               READ KEYS / READ RESERVATION / READ FULL STATUS / REPORT
 *               CAPABILITIES data.  No locks, no I/O, no nexus pointers.
 *   pr_cmd.c    the SCSI edge: CDB and parameter list parsing, locking,
 *               the reservation gate called by dispatch, unit attentions
 *               queued to the nexuses named by the state machine, release
 *               of SPC-2 reservations on reset and I_T nexus loss.
 *   pr_store.c  APTPL persistence: one file per LU (keyed by its NAA, which
 *               derives from the storage object's wwn) in
 *               <state_dir>/pr/, written to a temp file, fsync'd, renamed
 *               and the directory fsync'd, so a torn write never loses the
 *               previous state.
 *
 * An I_T nexus is identified by its initiator port name ("iqn,i,0x<isid>")
 * and its target port (target name + TPG tag), never by a pointer, so
 * registrations survive the nexus (SPC-4 5.13.7) and a restart (APTPL) and
 * match the nexus again when it logs back in.  The SPC-2 holder is also
 * identified by the process-unique nexus id, since its reservation ends
 * with the nexus.
 */
#ifndef TPCD_PR_H
#define TPCD_PR_H

#include <stdbool.h>
#include <stdint.h>

#include "sense.h"

struct lun;
struct scsi_nexus;

#define PR_IPORT_MAX	256	/* "iqn...,i,0x" + 12 hex + NUL */
#define PR_TARGET_MAX	224	/* iSCSI names are at most 223 bytes */
#define PR_REGS_MAX	256	/* registrations per LU */

/* PERSISTENT RESERVE OUT service actions (SPC-4 6.17.2) */
enum pr_out_sa {
	PR_OUT_REGISTER		= 0x00,
	PR_OUT_RESERVE		= 0x01,
	PR_OUT_RELEASE		= 0x02,
	PR_OUT_CLEAR		= 0x03,
	PR_OUT_PREEMPT		= 0x04,
	PR_OUT_PREEMPT_ABORT	= 0x05,
	PR_OUT_REGISTER_IGNORE	= 0x06,
	PR_OUT_REGISTER_MOVE	= 0x07,
};

/* PERSISTENT RESERVE IN service actions (SPC-4 6.16.1) */
enum pr_in_sa {
	PR_IN_READ_KEYS		= 0x00,
	PR_IN_READ_RESERVATION	= 0x01,
	PR_IN_REPORT_CAPS	= 0x02,
	PR_IN_READ_FULL_STATUS	= 0x03,
};

/* Persistent reservation types (SPC-4 6.17.4) */
enum pr_type {
	PR_TYPE_WE	= 1,	/* write exclusive */
	PR_TYPE_EA	= 3,	/* exclusive access */
	PR_TYPE_WE_RO	= 5,	/* write exclusive, registrants only */
	PR_TYPE_EA_RO	= 6,	/* exclusive access, registrants only */
	PR_TYPE_WE_AR	= 7,	/* write exclusive, all registrants */
	PR_TYPE_EA_AR	= 8,	/* exclusive access, all registrants */
};

#define PR_SCOPE_LU	0

/* Who sends the command: one I_T nexus. */
struct pr_it {
	const char	*i_port;	/* initiator port name */
	const char	*target;	/* target port: target name ... */
	uint16_t	 tpg_tag;	/* ... and TPG tag */
	uint16_t	 rel_port_id;	/* relative target port identifier */
	uint64_t	 nexus_id;	/* process-unique, SPC-2 holder */
};

struct pr_reg {
	uint64_t	 key;
	char		 i_port[PR_IPORT_MAX];
	char		 target[PR_TARGET_MAX];
	uint16_t	 tpg_tag;
	uint16_t	 rel_port_id;
};

struct pr_state {
	uint32_t	 generation;	/* PRgeneration */
	bool		 aptpl;		/* persist through power loss */
	struct pr_reg	*regs;		/* owned */
	unsigned int	 n_regs, cap_regs;
	/* persistent reservation */
	bool		 reserved;
	uint8_t		 type;		/* enum pr_type */
	uint8_t		 scope;
	int		 holder;	/* regs index; -1 for all-registrants */
	/* SPC-2 reservation */
	bool		 r2;
	uint64_t	 r2_nexus;	/* holder's nexus id */
};

/* A unit attention (or task abort) the state machine asks for, sent to
 * every nexus whose identity matches. */
struct pr_ev {
	char		 i_port[PR_IPORT_MAX];
	char		 target[PR_TARGET_MAX];
	uint16_t	 tpg_tag;
	uint8_t		 asc, ascq;
	bool		 abort;		/* PREEMPT AND ABORT: abort its tasks */
};

struct pr_evs {
	struct pr_ev	*v;
	unsigned int	 n, cap;
	bool		 oom;
};

/* A decoded PERSISTENT RESERVE OUT. */
struct pr_out {
	uint8_t		 sa;		/* enum pr_out_sa */
	uint8_t		 scope;
	uint8_t		 type;
	uint64_t	 rk;		/* RESERVATION KEY */
	uint64_t	 sark;		/* SERVICE ACTION RESERVATION KEY */
	bool		 aptpl;
	bool		 spec_i_pt;
	bool		 all_tg_pt;
};

/* Command classes for the reservation gate (SPC-4 table 66/67, SBC-4
 * table 13): how a command from a nexus that does not hold the
 * reservation is treated. */
enum pr_class {
	PR_CLS_WRITE = 0,	/* default: conflicts like WRITE */
	PR_CLS_READ,		/* allowed through WE types like READ */
	PR_CLS_ALLOW,		/* allowed through PRs, not SPC-2 */
	PR_CLS_ALLOW_ALL,	/* allowed through every reservation */
	PR_CLS_PR,		/* PR IN/OUT: allowed for PRs; SPC-2 always
				 * conflicts (SPC-2 5.5.1) */
	PR_CLS_RESV,		/* RESERVE/RELEASE: the command decides */
	PR_CLS_SSU,		/* START STOP UNIT: START=1, no power cond */
	PR_CLS_PREVENT,		/* PREVENT ALLOW: PREVENT=0 allowed */
};

/* --- pr.c: pure state machine --- */
void	pr_state_init(struct pr_state *);
void	pr_state_fini(struct pr_state *);
int	pr_state_copy(struct pr_state *dst, const struct pr_state *src);
/* Index of the registration of it, or -1. */
int	pr_find_reg(const struct pr_state *, const struct pr_it *);
bool	pr_is_holder(const struct pr_state *, int reg);
bool	pr_type_valid(uint8_t type);
bool	pr_type_all_reg(uint8_t type);
enum pr_class pr_cmd_class(const uint8_t *cdb);
/* Does a command of class cls from it conflict with the persistent
 * reservation (not the SPC-2 one)? */
bool	pr_conflict(const struct pr_state *, const struct pr_it *,
	    enum pr_class cls, const uint8_t *cdb);
/* Apply a PR OUT.  On failure the state may be partly changed: callers
 * apply to a copy.  Sense details (field pointer) go to sd; unit
 * attentions to send go to evs (may be NULL). */
enum sense_reason pr_out_apply(struct pr_state *, const struct pr_it *,
	    const struct pr_out *, struct pr_evs *, struct sense_detail *sd);
/* SPC-2 RESERVE/RELEASE with the SPC-4 5.13.3 exceptions (CRH = 1).
 * holder_alive: the current SPC-2 holder still exists. */
enum sense_reason pr_reserve2(struct pr_state *, const struct pr_it *,
	    bool holder_alive);
enum sense_reason pr_release2(struct pr_state *, const struct pr_it *);
/* Build PR IN data for sa into buf (at most max bytes); returns the full
 * length.  ptpl_c: persistence is available. */
size_t	pr_in_build(const struct pr_state *, uint8_t sa, bool ptpl_c,
	    uint8_t *buf, size_t max);
void	pr_evs_free(struct pr_evs *);

/* --- pr_store.c: APTPL persistence --- */
/* Directory for the files (<state_dir>/pr is created); NULL disables. */
int	pr_store_set_dir(const char *state_dir);
bool	pr_store_enabled(void);
/* File path for a LU id (hex of its NAA). */
int	pr_store_save(const char *lu_id, const char *lu_name,
	    const struct pr_state *);
int	pr_store_remove(const char *lu_id);
/* 0 and st filled, -ENOENT when there is no saved state, other -errno
 * when the file is unreadable or corrupt (st then stays empty). */
int	pr_store_load(const char *lu_id, struct pr_state *st);
/* Serialisation used by save/load (tests). */
char	*pr_store_format(const char *lu_name, const struct pr_state *);
int	pr_store_parse(const char *text, struct pr_state *st);

/* --- pr_cmd.c: engine side --- */
/* Front ends set this to abort the tasks of a nexus on a LU (PREEMPT AND
 * ABORT).  It runs on the loop of the command that preempted. */
void	pr_set_abort_hook(void (*fn)(struct scsi_nexus *, struct lun *));
/* LUN reset, target reset: SPC-2 reservations end (SPC-2 5.5.1). */
void	pr_lun_reset(struct lun *);
/* lun_put(): free the LU's state. */
void	pr_lun_destroy(struct lun *);

#endif
