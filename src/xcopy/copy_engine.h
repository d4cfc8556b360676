/*
 * copy_engine.h - executes copies between logical units.
 *
 * The third-party copy commands (EXTENDED COPY LID1/LID4 in xcopy_*.c,
 * WRITE USING TOKEN later in odx_*.c) parse their parameter lists into a
 * plan, resolve every CSCD to a struct lun the issuing I_T nexus may reach,
 * and hand the engine a struct copy_job: an ordered list of steps, each
 * moving a byte range from one LU to another (or checking/zeroing one).
 *
 * The engine runs a job as a state machine on the issuing command's loop:
 * per step it picks the cheapest real path for the LU pair (probed once per
 * backstore pair and cached): the destination backstore's copy() hook
 * (reflink FICLONERANGE, copy_file_range, NVMe Copy) on the blocking pool,
 * else a pipelined read/write through bounce buffers (at most
 * COPY_MAX_INFLIGHT chunks of COPY_CHUNK_BYTES in flight, aligned to the
 * physical block).  An offload that answers EOPNOTSUPP/EXDEV/EINVAL falls
 * back (counted); a real error of reflink/copy_file_range is redone with
 * reads and writes, a real error of NVMe Copy (the device's) ends the job.  Every write goes through the
 * same range lock and write-protect/reservation rules as host writes.
 * Between chunks it checks job->abort (COPY OPERATION ABORT, ABORT TASK,
 * LUN reset, nexus loss).  Progress (bytes, steps done) is readable at any
 * time from any loop (atomics) for RECEIVE COPY STATUS.
 */
#ifndef TPCD_COPY_ENGINE_H
#define TPCD_COPY_ENGINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct loop;
struct lun;
struct scsi_nexus;

#define COPY_CHUNK_BYTES	(1u << 20)
#define COPY_MAX_INFLIGHT	4

enum copy_step_kind {
	COPY_STEP_COPY,		/* src range -> dst range */
	COPY_STEP_VERIFY,	/* 07h: check the LU is reachable/ready */
	COPY_STEP_ZERO,		/* dst range reads back zero (zero ROD) */
};

struct copy_step {
	enum copy_step_kind kind;
	struct lun	*src;		/* referenced by the job */
	struct lun	*dst;		/* referenced by the job */
	uint64_t	 src_off;	/* bytes */
	uint64_t	 dst_off;	/* bytes */
	uint64_t	 len;		/* bytes */
	uint16_t	 seg_index;	/* segment descriptor number, for sense */
	bool		 dst_fua;
};

enum copy_path {
	COPY_PATH_REFLINK,
	COPY_PATH_CFR,		/* copy_file_range */
	COPY_PATH_NVME,		/* NVMe Copy in one namespace */
	COPY_PATH_RW,		/* pipelined read/write */
	COPY_PATH_ZERO,		/* unmap / write zeroes */
	COPY_PATH_MAX,
};

struct copy_job {
	/* --- set by the caller --- */
	struct scsi_nexus *nexus;	/* borrowed; for write/PR checks */
	struct loop	*loop;
	struct copy_step *steps;	/* owned by the job */
	unsigned int	 n_steps;
	void		(*done)(struct copy_job *);
	void		*priv;
	/* the LU the command was addressed to (borrowed, may be NULL):
	 * its reset aborts the job like a reset of a source or
	 * destination (copy_jobs_abort_lun) */
	struct lun	*owner;

	/* --- progress, readable from any thread --- */
	_Atomic uint64_t bytes_done;
	_Atomic unsigned int steps_done;
	_Atomic bool	 abort;

	/* --- result, valid in done() --- */
	int		 err;		/* 0, -ECANCELED, -errno of the I/O */
	bool		 err_is_write;
	unsigned int	 failed_step;	/* index into steps */
	uint8_t		 fwd_sense[32];	/* sense of the failed I/O */
	uint8_t		 fwd_sense_len;

	void		*eng;		/* engine private */
};

/* Start the job on job->loop (the caller's loop).  Returns 0 (done() will
 * be called exactly once, later) or -errno (done() is not called). */
int	copy_job_start(struct copy_job *);
/* Request abort; done() still follows. Any thread. */
void	copy_job_abort(struct copy_job *);
/* LOGICAL UNIT RESET / target reset: request abort of every running job
 * that reads or writes lun or was addressed to it, from any nexus and
 * IMMED ones included.  Returns how many.  Any thread. */
unsigned int copy_jobs_abort_lun(const struct lun *);
/* Release steps and LU references. */
void	copy_job_fini(struct copy_job *);

/* Per-LU counters (bytes per path, commands, fallbacks by reason,
 * aborts, failures), kept in struct lun's tpc state. */
struct copy_counters {
	_Atomic uint64_t commands;
	_Atomic uint64_t bytes[COPY_PATH_MAX];
	_Atomic uint64_t fallbacks_unsupported;	/* EOPNOTSUPP/EINVAL */
	_Atomic uint64_t fallbacks_xdev;	/* EXDEV */
	_Atomic uint64_t aborts;
	_Atomic uint64_t failures;
	/* added by the engine (compatible): more fallback reasons */
	_Atomic uint64_t fallbacks_overlap;	/* same file, ranges overlap */
	_Atomic uint64_t fallbacks_unaligned;	/* reflink: not fs-block aligned */
	_Atomic uint64_t fallbacks_error;	/* offload I/O error: redone r/w */
};
const char *copy_path_name(enum copy_path);

/*
 * Debug interface (docs/xcopy.md).  copy_counters_log_all() logs one line
 * per LU (call it at shutdown); copy_counters_dump() logs them and, when a
 * directory was set, rewrites <dir>/copy-counters atomically (call it on
 * SIGUSR1).  copy_counters_get() snapshots one LU's counters (zeroes if it
 * never copied).  The counters live in a registry keyed by LU name, so
 * they survive a reload that recreates the LU.
 */
void	copy_counters_set_dir(const char *state_dir);
void	copy_counters_log_all(void);
int	copy_counters_dump(void);
void	copy_counters_get(struct lun *, struct copy_counters *out);
/* Tests and benchmarks: never use these paths (bit mask of 1u << path);
 * also read once from $TPCD_COPY_DISABLE ("reflink,cfr,nvme"). */
void	copy_path_disable(unsigned int mask);

#endif
