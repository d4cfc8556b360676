/*
 * copy_int.h - internals of the copy engine shared by copy_engine.c (the
 * per-job state machine) and copy_path.c (per-LU counters hung off
 * lun->tpc, the per-backstore-pair path cache, the debug dump).
 *
 * Path cache: the answer to "does reflink / copy_file_range work from this
 * file to that one" depends on the two files (same filesystem, which
 * filesystem), so it is keyed by (dev, inode) of both backing files and
 * the backstore plugin.  Each path starts UNKNOWN; the first real attempt
 * is the probe: success marks it YES, EOPNOTSUPP/EXDEV/EINVAL/ENOSYS mark
 * it NO for good.  The table is small and fixed (no allocation), guarded
 * by a mutex held only for lookups and updates.
 */
#ifndef TPCD_COPY_INT_H
#define TPCD_COPY_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "copy_engine.h"

struct backstore;
struct lun;

enum copy_probe {
	COPY_PROBE_UNKNOWN,
	COPY_PROBE_YES,
	COPY_PROBE_NO,
};

enum copy_fallback {
	COPY_FB_UNSUPPORTED,	/* EOPNOTSUPP, EINVAL, ENOSYS */
	COPY_FB_XDEV,		/* EXDEV */
	COPY_FB_OVERLAP,
	COPY_FB_UNALIGNED,
	COPY_FB_ERROR,
};

/* What the cache knows about one (src, dst) backstore pair. */
struct copy_pair {
	int		 slot;		/* cache index, -1: not cacheable */
	uint8_t		 reflink;	/* enum copy_probe */
	uint8_t		 cfr;		/* enum copy_probe */
	uint32_t	 clone_align;	/* fs block size for FICLONERANGE */
};

/* Fill *p for copying from src to dst.  Never blocks for long (fstat,
 * fstatfs on a cache miss).  Backstores without a copy hook or fd get
 * slot -1 and both paths NO. */
void	copy_pair_lookup(struct backstore *src, struct backstore *dst,
	    struct copy_pair *p);
/* Record a probe result for path (REFLINK or CFR). */
void	copy_pair_set(const struct copy_pair *, enum copy_path, bool works);
/* Is path disabled by copy_path_disable() / $TPCD_COPY_DISABLE? */
bool	copy_path_disabled(enum copy_path);
/* Unsupported-class errno of an offload (falls back silently)? */
bool	copy_err_unsupported(int err);

/* Counters of the LU (created on first use; never NULL after init). */
struct copy_counters *copy_lu_counters(struct lun *);
void	copy_count_fallback(struct lun *, enum copy_fallback);

#endif
