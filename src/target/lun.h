/*
 * lun.h - logical units and I_T nexuses.
 *
 * struct lun is one logical unit: a backstore plus its SCSI identity
 * (NAA, T10 vendor id, unit serial, all derived from the storage object's
 * wwn so they are stable across restarts) and the state every nexus shares
 * (mode parameters, reservations, thin provisioning).  LUs are created by
 * the target registry from the configuration and are refcounted: a nexus's
 * LUN map and every command in flight hold references, so a LU removed by a
 * reload disappears when its last command ends.  Shared LU state is guarded
 * by lun->lock.
 *
 * struct scsi_nexus is one I_T nexus (iSCSI session, or a TCMU device): the
 * initiator and target port names, the LUN map the ACL gives it and the
 * pending unit attentions per LUN.  It is owned by the front end and
 * touched only from its loop, except lun map swaps (see target.h).
 */
#ifndef TPCD_LUN_H
#define TPCD_LUN_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct backstore;
struct conf_storage;
struct lun_lock;

#define LUN_NAA_LEN	16
#define LUN_SERIAL_MAX	64

struct lun {
	char		*name;		/* storage object name */
	struct backstore *bs;		/* owned reference */
	uint32_t	 block_size;
	uint64_t	 nblocks;
	uint8_t		 naa[LUN_NAA_LEN];	/* NAA 6h IEEE Registered Ext. */
	char		 serial[LUN_SERIAL_MAX];	/* unit serial (VPD 80h) */
	char		 vendor[9], product[17], revision[5];
	bool		 thin;
	bool		 read_only;	/* backstore or config */

	pthread_mutex_t	 lock;		/* guards the fields below */
	bool		 wce;		/* caching page WCE */
	bool		 d_sense;	/* control page D_SENSE */
	bool		 swp;		/* control page SWP */
	/* sbc3: START STOP UNIT stopped state; SANITIZE state (idle,
	 * running, failed: see sbc_sanitize.c) */
	bool		 stopped;
	uint8_t		 sanitize;
	unsigned int	 refcnt;	/* atomic */
	void		*pr;		/* reservations (sbc issue) */
	void		*tpc;		/* third-party copy state (xcopy) */
	struct lun_lock	*range_lock;	/* LBA range locks (lun_lock.h) */
	/* valid ROD tokens sourced from this LU (rod_token): lets
	 * rod_registry_write_notify() return at once when zero */
	_Atomic unsigned int rod_tokens;
	/* Largest transfer (bytes) Block Limits advertises and READ/WRITE
	 * accept; 0 = the engine's default (SBC_MAX_XFER_BYTES).  Set once
	 * at creation (TCMU: LIO's hw_max_sectors and the data area);
	 * MAXIMUM WRITE SAME LENGTH follows it (sbc_ws_max_blocks). */
	uint32_t	 max_xfer_bytes;
};

/* Takes its own reference on bs (the caller keeps its own).  Returns a LU
 * with one reference, or NULL. */
struct lun *lun_create(const struct conf_storage *, struct backstore *bs);
/* An identity chosen by the front end instead of the one derived from
 * the storage object's wwn (TCMU: what LIO shows for the device, so
 * initiators and E4h descriptors agree). */
struct lun_ident {
	uint8_t		 naa[LUN_NAA_LEN];
	char		 serial[LUN_SERIAL_MAX];
	char		 vendor[9], product[17], revision[5];
};
/* lun_create() with that identity (empty strings and an all-zero NAA keep
 * the defaults derived from the storage object's wwn). */
struct lun *lun_create_ident(const struct conf_storage *,
	    struct backstore *bs, const struct lun_ident *);
/* Change a LU's identity the same way (empty fields keep theirs); only
 * while nothing else can read it: no command has reached the LU and no
 * other nexus maps it (TCMU: the identity settles at the first command). */
void	lun_set_ident(struct lun *, const struct lun_ident *);
void	lun_get(struct lun *);
void	lun_put(struct lun *);

#define NEXUS_UA_MAX	8

struct nexus_lun {
	uint64_t	 lun_id;	/* number the initiator addresses */
	struct lun	*lun;		/* owned reference */
	bool		 write_protect;
	uint8_t		 ua_n;		/* pending unit attentions */
	struct { uint8_t asc, ascq; } ua[NEXUS_UA_MAX];
};

struct scsi_nexus {
	char		*initiator;	/* initiator port name, e.g. IQN,i,0x<isid> */
	char		*initiator_name;	/* IQN */
	char		*target;	/* target IQN */
	uint16_t	 tpg_tag;
	uint16_t	 rel_port_id;	/* relative target port identifier */
	uint8_t		 isid[6];
	uint64_t	 id;		/* unique per process */

	pthread_mutex_t	 lock;		/* guards luns/n_luns and UAs */
	struct nexus_lun *luns;
	unsigned int	 n_luns;
	unsigned int	 generation;	/* bumped by target_nexus_refresh */
	void		*tpc;		/* per-nexus copy list ids (xcopy) */
	/* No unit attentions are ever queued (TCMU: LIO's core keeps the
	 * initiators' UAs itself). */
	bool		 no_ua;
};

struct scsi_nexus *nexus_create(const char *initiator_name,
	    const uint8_t isid[6], const char *target, uint16_t tpg_tag);
void	nexus_destroy(struct scsi_nexus *);
/* Take a reference to the LU mapped at lun_id, or NULL. */
struct lun *nexus_lun_get(struct scsi_nexus *, uint64_t lun_id,
	    bool *write_protect);
/* Queue a unit attention for one LUN (or all if lun == NULL). */
void	nexus_ua_add(struct scsi_nexus *, const struct lun *, uint8_t asc,
	    uint8_t ascq);
/* Pop the oldest pending UA for lun_id; false if none. */
bool	nexus_ua_pop(struct scsi_nexus *, uint64_t lun_id, uint8_t *asc,
	    uint8_t *ascq);
bool	nexus_ua_peek(struct scsi_nexus *, uint64_t lun_id, uint8_t *asc,
	    uint8_t *ascq);
/* Drop one specific pending UA (REPORT LUNS clears 3F/0E). */
void	nexus_ua_clear(struct scsi_nexus *, uint64_t lun_id, uint8_t asc,
	    uint8_t ascq);
/* Install a new LUN map (malloc'd array; the nexus owns it and the LU
 * references in it, and frees the old one).  Pending UAs follow entries
 * that keep the same LU; the first map queues 29/00 on every LUN, later
 * changed maps queue 3F/0E.  The target registry calls this. */
void	nexus_luns_replace(struct scsi_nexus *, struct nexus_lun *luns,
	    unsigned int n);

#endif
