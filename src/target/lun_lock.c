/*
 * lun_lock.c - LBA range locks (see lun_lock.h).
 *
 * Two lists under one mutex: the held requests (unordered) and the waiting
 * ones (FIFO).  A new request waits if it overlaps a held request or an
 * earlier waiter; a release walks the waiters in order and grants each one
 * that overlaps neither a held request nor a waiter still ahead of it.
 * The lists are as long as the writes in flight on the LU (bounded by the
 * sessions' command windows), so plain lists are enough.  Grants are
 * delivered outside the mutex with loop_post().
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "lun_lock.h"
#include "util.h"

struct lun_lock {
	pthread_mutex_t	 mtx;
	struct lun_lock_req *held;
	struct lun_lock_req *wait_head;
	struct lun_lock_req *wait_tail;
	void		(*hook)(void *, uint64_t, uint64_t);
	void		*hook_arg;
};

struct lun_lock *
lun_lock_create(void)
{
	struct lun_lock *lk = xcalloc(1, sizeof(*lk));

	if (lk == NULL)
		return NULL;
	pthread_mutex_init(&lk->mtx, NULL);
	return lk;
}

void
lun_lock_destroy(struct lun_lock *lk)
{
	if (lk == NULL)
		return;
	if (lk->held != NULL || lk->wait_head != NULL)
		log_err("lun_lock: destroyed with requests outstanding");
	pthread_mutex_destroy(&lk->mtx);
	free(lk);
}

static bool
lun_lock_overlap(const struct lun_lock_req *a, const struct lun_lock_req *b)
{
	/* both nblocks > 0; ranges clipped against overflow */
	uint64_t ae = a->lba + a->nblocks, be = b->lba + b->nblocks;

	if (ae < a->lba)
		ae = UINT64_MAX;
	if (be < b->lba)
		be = UINT64_MAX;
	return a->lba < be && b->lba < ae;
}

static bool
lun_lock_conflicts(const struct lun_lock_req *list,
    const struct lun_lock_req *stop, const struct lun_lock_req *r)
{
	for (; list != NULL && list != stop; list = list->_next)
		if (lun_lock_overlap(list, r))
			return true;
	return false;
}

int
lun_lock_acquire(struct lun_lock *lk, struct lun_lock_req *r)
{
	r->_next = NULL;
	r->_held = false;
	r->_queued = false;
	if (r->nblocks == 0)
		return 0;
	if (lk == NULL)
		return -EINVAL;
	pthread_mutex_lock(&lk->mtx);
	if (!lun_lock_conflicts(lk->held, NULL, r) &&
	    !lun_lock_conflicts(lk->wait_head, NULL, r)) {
		r->_next = lk->held;
		lk->held = r;
		r->_held = true;
		pthread_mutex_unlock(&lk->mtx);
		return 0;
	}
	if (r->loop == NULL || r->granted == NULL) {
		pthread_mutex_unlock(&lk->mtx);
		return -EINVAL;
	}
	r->_queued = true;
	if (lk->wait_tail != NULL)
		lk->wait_tail->_next = r;
	else
		lk->wait_head = r;
	lk->wait_tail = r;
	pthread_mutex_unlock(&lk->mtx);
	return 1;
}

static void
lun_lock_run_granted(void *arg)
{
	struct lun_lock_req *r = arg;

	r->granted(r);
}

/* Deliver a grant.  loop_post() fails only without memory; the waiter
 * already holds its range, so keep trying rather than lose it. */
static void
lun_lock_post(struct lun_lock_req *r)
{
	static unsigned int rl;
	unsigned int tries = 0;

	while (loop_post(r->loop, lun_lock_run_granted, r) != 0) {
		if (tries++ == 0 && log_ratelimited(&rl))
			log_err("lun_lock: cannot post a grant, retrying");
		usleep(1000);
	}
}

void
lun_lock_set_release_hook(struct lun_lock *lk,
    void (*fn)(void *, uint64_t, uint64_t), void *arg)
{
	pthread_mutex_lock(&lk->mtx);
	lk->hook = fn;
	lk->hook_arg = arg;
	pthread_mutex_unlock(&lk->mtx);
}

void
lun_lock_release(struct lun_lock *lk, struct lun_lock_req *r)
{
	struct lun_lock_req **pp, *w, *prev, *next, *grant = NULL;
	void (*hook)(void *, uint64_t, uint64_t);
	void *hook_arg;
	uint64_t lba, nblocks;

	if (r->nblocks == 0 || !r->_held || lk == NULL)
		return;
	pthread_mutex_lock(&lk->mtx);
	for (pp = &lk->held; *pp != NULL; pp = &(*pp)->_next) {
		if (*pp == r) {
			*pp = r->_next;
			break;
		}
	}
	r->_held = false;
	r->_next = NULL;
	hook = lk->hook;
	hook_arg = lk->hook_arg;
	lba = r->lba;
	nblocks = r->nblocks;
	/* Grant waiters in order; each must clear the held set and every
	 * waiter still ahead of it. */
	prev = NULL;
	for (w = lk->wait_head; w != NULL; w = next) {
		next = w->_next;
		if (!lun_lock_overlap(w, r) ||
		    lun_lock_conflicts(lk->held, NULL, w) ||
		    lun_lock_conflicts(lk->wait_head, w, w)) {
			prev = w;
			continue;
		}
		/* unlink from the wait queue */
		if (prev != NULL)
			prev->_next = next;
		else
			lk->wait_head = next;
		if (lk->wait_tail == w)
			lk->wait_tail = prev;
		w->_queued = false;
		w->_held = true;
		w->_next = lk->held;
		lk->held = w;
		w->_gnext = grant;
		grant = w;
	}
	pthread_mutex_unlock(&lk->mtx);
	if (hook != NULL)
		hook(hook_arg, lba, nblocks);
	/* Read the chain before posting: a granted request may be released
	 * (and reused) on its loop as soon as it is posted. */
	while (grant != NULL) {
		w = grant;
		grant = w->_gnext;
		w->_gnext = NULL;
		lun_lock_post(w);
	}
}

void
lun_lock_stats(struct lun_lock *lk, unsigned int *held,
    unsigned int *waiting)
{
	const struct lun_lock_req *r;
	unsigned int h = 0, w = 0;

	pthread_mutex_lock(&lk->mtx);
	for (r = lk->held; r != NULL; r = r->_next)
		h++;
	for (r = lk->wait_head; r != NULL; r = r->_next)
		w++;
	pthread_mutex_unlock(&lk->mtx);
	if (held != NULL)
		*held = h;
	if (waiting != NULL)
		*waiting = w;
}
