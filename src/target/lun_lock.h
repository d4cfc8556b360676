/*
 * lun_lock.h - LBA range locks of a logical unit.
 *
 * Every path that changes the medium (WRITE, WRITE SAME, UNMAP, COMPARE AND
 * WRITE, later WRITE AND VERIFY, ORWRITE and the copy engine) holds the
 * range it modifies while its backstore I/O is in flight, so that COMPARE
 * AND WRITE (SBC-4 5.3) can read, compare and write as one atomic step
 * against every other writer of an overlapping range, on any loop and any
 * session.  Reads do not lock.
 *
 * Requests are granted in arrival order among overlapping ranges (a request
 * waits for every earlier holder or waiter it overlaps), so large ranges
 * are not starved by a stream of small ones.  Nothing ever blocks a loop:
 * lun_lock_acquire() either grants at once or queues the request, and the
 * release that frees the range posts req->granted to req->loop.  The lock
 * table is shared by all loops and guarded by a mutex held only for list
 * walks.
 *
 * The request is owned by the caller (embed it in the command's state);
 * it must stay valid until lun_lock_release() returns.
 */
#ifndef TPCD_LUN_LOCK_H
#define TPCD_LUN_LOCK_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct lun_lock;

struct lun_lock_req {
	uint64_t	 lba;
	uint64_t	 nblocks;	/* 0 locks nothing (always granted) */
	struct loop	*loop;		/* where granted() runs */
	/* Called on loop once a queued request holds its range. */
	void		(*granted)(struct lun_lock_req *);
	void		*priv;
	/* private to lun_lock.c */
	struct lun_lock_req *_next;
	struct lun_lock_req *_gnext;	/* grants being posted */
	bool		 _held;
	bool		 _queued;
};

struct lun_lock *lun_lock_create(void);
/* All requests must have been released. */
void	lun_lock_destroy(struct lun_lock *);

/*
 * Take the range.  Returns 0 when held now (granted() is not called), 1
 * when queued (granted() will run later on req->loop), or -errno.
 */
int	lun_lock_acquire(struct lun_lock *, struct lun_lock_req *);
/* Give back a held range; wakes the waiters it was blocking. */
void	lun_lock_release(struct lun_lock *, struct lun_lock_req *);
/*
 * Write observer (odx: ROD token revocation).  fn(arg, lba, nblocks) runs
 * after every lun_lock_release() of a held range, outside the lock mutex,
 * on the releasing thread: every medium write holds its range, so this
 * sees every range that may have changed.  One observer per lock; setting
 * it again replaces it.
 */
void	lun_lock_set_release_hook(struct lun_lock *,
	    void (*fn)(void *arg, uint64_t lba, uint64_t nblocks), void *arg);
/* Number of held and waiting requests (tests, debugging). */
void	lun_lock_stats(struct lun_lock *, unsigned int *held,
	    unsigned int *waiting);

#endif
