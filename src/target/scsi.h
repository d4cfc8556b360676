/*
 * scsi.h - the one SCSI command every front end produces, and the engine
 * entry points.
 *
 * A front end (iSCSI now, TCMU later) fills a struct scsi_cmd: nexus, LUN,
 * CDB, direction, expected length and a data buffer (iovecs).  Execution is
 * two-phase (CTL's pattern):
 *
 *   reason = scsi_cmd_prepare(cmd);   // opcode, usage mask, LUN, gates
 *   if (reason) -> complete with sense without fetching any data
 *   else the front end fetches Data-Out (if any) into cmd->iov, then
 *   scsi_cmd_execute(cmd);            // runs the handler
 *
 * The handler finishes synchronously or later; either way the engine calls
 * cmd->done(cmd) exactly once, on cmd->loop, with status and sense filled
 * in and cmd->xfer_len = bytes of Data-In produced (or Data-Out consumed).
 * The front end computes residuals from data_len and xfer_len.
 *
 * The engine never knows about PDUs or rings; the front end never builds
 * sense.
 */
#ifndef TPCD_SCSI_H
#define TPCD_SCSI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "sense.h"

struct loop;
struct lun;
struct scsi_nexus;

#define SCSI_CDB_MAX		32
#define SCSI_SENSE_MAX		96

/* SAM status codes */
#define SAM_STAT_GOOD			0x00
#define SAM_STAT_CHECK_CONDITION	0x02
#define SAM_STAT_CONDITION_MET		0x04
#define SAM_STAT_BUSY			0x08
#define SAM_STAT_RESERVATION_CONFLICT	0x18
#define SAM_STAT_TASK_SET_FULL		0x28
#define SAM_STAT_ACA_ACTIVE		0x30
#define SAM_STAT_TASK_ABORTED		0x40

enum scsi_dir {
	SCSI_DIR_NONE,
	SCSI_DIR_IN,		/* Data-In: target to initiator */
	SCSI_DIR_OUT,		/* Data-Out: initiator to target */
	SCSI_DIR_BIDI,
};

enum scsi_task_attr {
	SCSI_ATTR_SIMPLE,
	SCSI_ATTR_ORDERED,
	SCSI_ATTR_HEAD_OF_QUEUE,
	SCSI_ATTR_ACA,
};

struct scsi_cmd {
	/* --- set by the front end --- */
	struct scsi_nexus *nexus;	/* borrowed */
	uint64_t	 lun_id;	/* LUN number as addressed (decoded) */
	uint8_t		 cdb[SCSI_CDB_MAX];
	uint8_t		 cdb_len;
	enum scsi_dir	 dir;
	enum scsi_task_attr attr;
	uint64_t	 tag;		/* front end's task tag */
	uint32_t	 data_len;	/* expected transfer length */
	struct iovec	*iov;		/* data buffer, data_len bytes */
	int		 iov_cnt;
	struct loop	*loop;		/* where done() runs */
	void		(*done)(struct scsi_cmd *);
	void		*fe_priv;	/* front end's */

	/* --- filled by the engine --- */
	struct lun	*lun;		/* referenced between prepare and done */
	const struct scsi_op *op;
	uint8_t		 status;
	uint8_t		 sense[SCSI_SENSE_MAX];
	uint8_t		 sense_len;
	uint32_t	 xfer_len;	/* bytes produced or consumed */
	/* Bytes the CDB asks to move (SAM-5 SPDTL), set by the handler.
	 * spdtl > data_len: overflow residual spdtl - data_len;
	 * else underflow residual data_len - xfer_len. */
	uint64_t	 spdtl;
	bool		 write_protect;	/* the nexus maps the LUN read-only */
	bool		 aborted;	/* set by task management */
	/* Set by a handler that runs long asynchronous work (copies):
	 * scsi_cmd_abort() calls it, on cmd->loop, to stop that work
	 * early; the command still completes once (its response is the
	 * front end's business).  Cleared by scsi_cmd_complete(). */
	void		(*abort_fn)(struct scsi_cmd *);
	void		*abort_arg;	/* for abort_fn */

	/* Sense details for the reason being returned (see sense.h). */
	struct sense_detail sd;

	/* --- handler scratch, released by scsi_cmd_release() --- */
	void		*buf;		/* allocated by a handler */
	void		*hpriv;		/* handler state */
	void		(*hpriv_free)(void *);
	uint64_t	 lba;
	uint32_t	 nblocks;
};

/* Frontend API */
void	scsi_cmd_init(struct scsi_cmd *);
enum sense_reason scsi_cmd_prepare(struct scsi_cmd *);
void	scsi_cmd_execute(struct scsi_cmd *);
/* Finish a command that failed prepare (or any other early error):
 * fills status/sense from reason and calls done. */
void	scsi_cmd_fail(struct scsi_cmd *, enum sense_reason);
/* Release engine resources (LUN reference, handler buffers).  The front
 * end calls it once it has sent the response. */
void	scsi_cmd_release(struct scsi_cmd *);

/* Task management marked the command aborted: set cmd->aborted and let
 * its handler stop early (abort_fn).  Call on cmd->loop. */
void	scsi_cmd_abort(struct scsi_cmd *);

/* Handler API: finish an asynchronous command. */
void	scsi_cmd_complete(struct scsi_cmd *, enum sense_reason);

/* Copy between the command's data buffer and flat memory.  Return bytes
 * copied (bounded by data_len). */
size_t	scsi_cmd_copy_to_buf(struct scsi_cmd *, size_t off, const void *src,
	    size_t len);
size_t	scsi_cmd_copy_from_buf(struct scsi_cmd *, size_t off, void *dst,
	    size_t len);

/* Task management (SAM-5 / RFC 7143 function codes). */
enum scsi_tmf {
	SCSI_TMF_ABORT_TASK		= 1,
	SCSI_TMF_ABORT_TASK_SET		= 2,
	SCSI_TMF_CLEAR_ACA		= 3,
	SCSI_TMF_CLEAR_TASK_SET		= 4,
	SCSI_TMF_LUN_RESET		= 5,
	SCSI_TMF_TARGET_WARM_RESET	= 6,
	SCSI_TMF_TARGET_COLD_RESET	= 7,
	SCSI_TMF_TASK_REASSIGN		= 8,
};

/* Side effects in the engine of a TMF the front end has carried out on its
 * own tasks: unit attentions to other nexuses, reservation release, ...
 * Returns 0, or -ENOENT for a LUN the nexus does not have. */
int	scsi_tmf_effects(struct scsi_nexus *, enum scsi_tmf, uint64_t lun_id);

/* LUN field encoding (SAM-5 4.7): 8 wire bytes <-> LUN number.  A LUN
 * field we cannot address (hierarchical, unknown method) decodes to
 * SCSI_LUN_INVALID, which no nexus maps. */
#define SCSI_LUN_INVALID	UINT64_MAX
uint64_t scsi_lun_decode(const uint8_t lun[8]);
void	scsi_lun_encode(uint64_t lun_id, uint8_t out[8]);

/* One-time engine initialisation (tables, self checks). */
void	scsi_init(void);

#endif
