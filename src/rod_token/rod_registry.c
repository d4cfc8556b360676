/*
 * rod_registry.c - the tokens this copy manager issued (rod_token.h).
 *
 * One mutex guards everything: a hash table of entries keyed by token id,
 * the list of valid entries (scanned by write notifications, the sweep and
 * revocations: at most ROD_MAX_TOKENS long) and a FIFO of tombstones (dead
 * entries kept for ROD_TOMBSTONE_MS, at most ROD_MAX_TOKENS of them, so a
 * late use gets the precise reason).
 *
 * References: the table holds one while an entry is hashed; every
 * rod_registry_lookup()/create(ent) caller holds one more.  The heavy
 * resources of a dead entry (the creator LU reference and the snapshot)
 * are released as soon as only the table refers to it; the entry itself
 * (ids, ranges) when the last reference goes.  lun_put() and snapshot
 * destructors never run under the mutex: they are collected in a
 * struct rod_gc and run after unlocking.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "log.h"
#include "lun.h"
#include "rod_token/rod_int.h"
#include "rod_token/rod_token.h"
#include "util.h"

#define ROD_HASH_SIZE		2048	/* >= valid + tombstones */
#define ROD_GC_BATCH		32

enum rod_state {
	ROD_ST_VALID,
	ROD_ST_REVOKED,
	ROD_ST_EXPIRED,
	ROD_ST_CANCELLED,
	ROD_ST_DELETED,
};

struct rod_list {
	struct rod_list	*prev, *next;
};

struct rod_entry {
	uint64_t	 id;
	struct rod_entry *hnext;	/* hash chain */
	struct rod_list	 link;		/* valid list or tombstone FIFO */
	unsigned int	 refcnt;
	bool		 hashed;
	enum rod_state	 state;
	/* immutable after creation */
	uint8_t		 naa[16];
	uint32_t	 block_size;
	uint32_t	 rod_type;
	uint64_t	 bytes;
	uint64_t	 expires_s;	/* hard lifetime, wall clock */
	uint8_t		 digest[ROD_DIGEST_LEN];
	char		*initiator;
	char		*target;
	/* mutable, under the mutex */
	struct lun	*lun;		/* reference; NULL once released */
	struct lun	*lun_id;	/* identity only, never dereferenced */
	void		*snap;
	void		(*snap_destroy)(void *);
	uint64_t	 timeout_ms;
	uint64_t	 last_use_ms;
	uint64_t	 dead_ms;
	unsigned int	 n_ranges;
	struct rod_range ranges[];
};

struct rod_res {
	struct lun	*lun;
	void		*snap;
	void		(*destroy)(void *);
};

struct rod_gc {
	unsigned int	 n;
	struct rod_res	 res[ROD_GC_BATCH];
};

static struct {
	pthread_mutex_t	 lock;
	struct rod_entry *hash[ROD_HASH_SIZE];
	struct rod_list	 valid;
	struct rod_list	 tombs;
	unsigned int	 n_valid, n_tombs;
	struct rod_stats stats;
	bool		 init;
} reg = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

static uint64_t (*rod_clock)(void);

/* --- clocks --- */

void
rod_registry_set_clock(uint64_t (*fn)(void))
{
	rod_clock = fn;
}

uint64_t
rod_now_ms(void)
{
	return rod_clock != NULL ? rod_clock() : now_ms();
}

uint64_t
rod_now_s(void)
{
	if (rod_clock != NULL)
		return rod_clock() / 1000;
	return (uint64_t)time(NULL);
}

/* --- lists and table (mutex held) --- */

static void
rod_list_init(struct rod_list *l)
{
	l->prev = l->next = l;
}

static void
rod_list_add_tail(struct rod_list *head, struct rod_list *l)
{
	l->prev = head->prev;
	l->next = head;
	head->prev->next = l;
	head->prev = l;
}

static void
rod_list_del(struct rod_list *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
	l->prev = l->next = l;
}

static struct rod_entry *
rod_of(struct rod_list *l)
{
	return container_of(l, struct rod_entry, link);
}

static void
rod_reg_init_locked(void)
{
	if (reg.init)
		return;
	rod_list_init(&reg.valid);
	rod_list_init(&reg.tombs);
	reg.init = true;
}

static unsigned int
rod_bucket(uint64_t id)
{
	return (unsigned int)((id ^ (id >> 29)) & (ROD_HASH_SIZE - 1));
}

static struct rod_entry *
rod_find_locked(uint64_t id)
{
	struct rod_entry *e;

	for (e = reg.hash[rod_bucket(id)]; e != NULL; e = e->hnext)
		if (e->id == id)
			return e;
	return NULL;
}

static void
rod_unhash_locked(struct rod_entry *e)
{
	struct rod_entry **pp = &reg.hash[rod_bucket(e->id)];

	while (*pp != NULL && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp == e)
		*pp = e->hnext;
	e->hnext = NULL;
	e->hashed = false;
}

/* Move the heavy resources of a dead entry nobody but the table uses
 * (or nobody at all) into gc.  False if gc is full. */
static bool
rod_strip_locked(struct rod_entry *e, struct rod_gc *gc)
{
	struct rod_res *r;

	if (e->lun == NULL && e->snap == NULL)
		return true;
	if (gc->n == ROD_GC_BATCH)
		return false;
	r = &gc->res[gc->n++];
	r->lun = e->lun;
	r->snap = e->snap;
	r->destroy = e->snap_destroy;
	e->lun = NULL;
	e->snap = NULL;
	e->snap_destroy = NULL;
	return true;
}

static void
rod_free_entry(struct rod_entry *e)
{
	free(e->initiator);
	free(e->target);
	free(e);
}

/* Drop one reference; the caller made sure gc has room. */
static void
rod_unref_locked(struct rod_entry *e, struct rod_gc *gc)
{
	e->refcnt--;
	if (e->refcnt == 0) {
		rod_strip_locked(e, gc);
		rod_free_entry(e);
	} else if (e->state != ROD_ST_VALID &&
	    e->refcnt == (e->hashed ? 1u : 0u)) {
		rod_strip_locked(e, gc);
	}
}

static void
rod_gc_run(struct rod_gc *gc)
{
	for (unsigned int i = 0; i < gc->n; i++) {
		if (gc->res[i].snap != NULL && gc->res[i].destroy != NULL)
			gc->res[i].destroy(gc->res[i].snap);
		if (gc->res[i].lun != NULL)
			lun_put(gc->res[i].lun);
	}
	gc->n = 0;
}

static void
rod_tomb_evict_locked(struct rod_entry *e, struct rod_gc *gc)
{
	rod_list_del(&e->link);
	reg.n_tombs--;
	rod_unhash_locked(e);
	rod_unref_locked(e, gc);
}

/* Kill a valid entry: state, counters, move to the tombstones.  The
 * caller made sure gc has room for two releases. */
static void
rod_kill_locked(struct rod_entry *e, enum rod_state st, struct rod_gc *gc)
{
	if (e->state != ROD_ST_VALID)
		return;
	e->state = st;
	e->dead_ms = rod_now_ms();
	rod_list_del(&e->link);
	reg.n_valid--;
	atomic_fetch_sub(&e->lun_id->rod_tokens, 1);
	switch (st) {
	case ROD_ST_REVOKED:
		reg.stats.revoked++;
		break;
	case ROD_ST_EXPIRED:
		reg.stats.expired++;
		break;
	case ROD_ST_CANCELLED:
		reg.stats.cancelled++;
		break;
	case ROD_ST_DELETED:
		reg.stats.deleted++;
		break;
	case ROD_ST_VALID:
		break;
	}
	rod_list_add_tail(&reg.tombs, &e->link);
	reg.n_tombs++;
	if (e->refcnt == 1)
		rod_strip_locked(e, gc);
	if (reg.n_tombs > ROD_MAX_TOKENS)
		rod_tomb_evict_locked(rod_of(reg.tombs.next), gc);
}

static bool
rod_idle_locked(const struct rod_entry *e, uint64_t now)
{
	/* in use by a WRITE USING TOKEN: never expires under it */
	return e->state == ROD_ST_VALID && e->refcnt == 1 &&
	    (now - e->last_use_ms >= e->timeout_ms ||
	    rod_now_s() >= e->expires_s);
}

static enum rod_err
rod_state_err(enum rod_state st)
{
	switch (st) {
	case ROD_ST_VALID:
		return ROD_OK;
	case ROD_ST_REVOKED:
		return ROD_ERR_REVOKED;
	case ROD_ST_EXPIRED:
		return ROD_ERR_EXPIRED;
	case ROD_ST_CANCELLED:
		return ROD_ERR_CANCELLED;
	case ROD_ST_DELETED:
		return ROD_ERR_DELETED;
	}
	return ROD_ERR_NOT_REPORTABLE;
}

/* A selector for rod_kill_batch_locked(): idle at *(uint64_t *)now. */
static bool
rod_sel_idle(struct rod_entry *e, void *now)
{
	return rod_idle_locked(e, *(const uint64_t *)now);
}

/*
 * Kill valid entries sel() picks with state st, as many as gc has room
 * for, adding to *n.  Returns true when gc filled up before the end: run
 * gc unlocked and call again.
 */
static bool
rod_kill_batch_locked(bool (*sel)(struct rod_entry *, void *), void *arg,
    enum rod_state st, struct rod_gc *gc, unsigned int *n)
{
	struct rod_list *l, *next;

	for (l = reg.valid.next; l != &reg.valid; l = next) {
		next = l->next;
		if (!sel(rod_of(l), arg))
			continue;
		if (gc->n + 2 > ROD_GC_BATCH)
			return true;
		rod_kill_locked(rod_of(l), st, gc);
		(*n)++;
	}
	return false;
}

/*
 * Kill every valid entry sel() picks with state st, in batches so the
 * releases run unlocked.  Returns how many were killed.
 */
static unsigned int
rod_kill_where(bool (*sel)(struct rod_entry *, void *), void *arg,
    enum rod_state st)
{
	struct rod_gc gc = { .n = 0 };
	unsigned int n = 0;
	bool again;

	do {
		pthread_mutex_lock(&reg.lock);
		rod_reg_init_locked();
		again = rod_kill_batch_locked(sel, arg, st, &gc, &n);
		pthread_mutex_unlock(&reg.lock);
		rod_gc_run(&gc);
	} while (again);
	return n;
}

/* --- creation --- */

bool
rod_type_supported(uint32_t t, bool with_snapshot)
{
	switch (t) {
	case ROD_TYPE_PIT_DEFAULT:
	case ROD_TYPE_PIT_VULN:
	case ROD_TYPE_PIT_ANY:
		return true;
	case ROD_TYPE_PIT_COW:
		return with_snapshot;
	default:
		/* PIT persistent: the registry does not survive a restart */
		return false;
	}
}

static int
rod_check_create(const struct rod_create *c, uint32_t *type,
    uint32_t *timeout_s, uint64_t *bytes)
{
	uint64_t blocks = 0;

	if (c->lun == NULL || c->lun->block_size == 0 || c->ranges == NULL ||
	    c->n_ranges == 0 || c->n_ranges > ROD_MAX_RANGES)
		return -EINVAL;
	for (unsigned int i = 0; i < c->n_ranges; i++) {
		uint64_t lba = c->ranges[i].lba, n = c->ranges[i].nblocks;

		if (lba + n < lba || lba + n > c->lun->nblocks)
			return -EINVAL;
		blocks += n;	/* <= 64 * 2^32: no overflow */
	}
	if (blocks == 0 || blocks > UINT64_MAX / c->lun->block_size)
		return -EINVAL;
	*bytes = blocks * c->lun->block_size;
	*timeout_s = c->timeout_s != 0 ? c->timeout_s :
	    ROD_DEFAULT_INACTIVITY_S;
	if (*timeout_s > ROD_MAX_INACTIVITY_S)
		return -EINVAL;
	*type = c->rod_type != 0 ? c->rod_type : ROD_TYPE_PIT_DEFAULT;
	if (!rod_type_supported(*type, c->snap != NULL))
		return -EOPNOTSUPP;
	if (*type == ROD_TYPE_PIT_ANY)
		*type = ROD_TYPE_PIT_DEFAULT;
	return 0;
}

static struct rod_entry *
rod_entry_new(const struct rod_create *c, uint32_t type, uint32_t timeout_s,
    uint64_t bytes)
{
	const struct scsi_nexus *nx = c->nexus;
	struct rod_entry *e;

	e = calloc(1, sizeof(*e) + c->n_ranges * sizeof(e->ranges[0]));
	if (e == NULL)
		return NULL;
	e->initiator = strdup(nx != NULL && nx->initiator_name != NULL ?
	    nx->initiator_name : "");
	e->target = strdup(nx != NULL && nx->target != NULL ? nx->target :
	    "");
	if (e->initiator == NULL || e->target == NULL) {
		rod_free_entry(e);
		return NULL;
	}
	rod_list_init(&e->link);
	memcpy(e->naa, c->lun->naa, sizeof(e->naa));
	e->block_size = c->lun->block_size;
	e->rod_type = type;
	e->bytes = bytes;
	e->timeout_ms = (uint64_t)timeout_s * 1000;
	e->n_ranges = c->n_ranges;
	memcpy(e->ranges, c->ranges, c->n_ranges * sizeof(e->ranges[0]));
	rod_token_digest(e->naa, e->block_size, type, bytes, e->ranges,
	    e->n_ranges, e->digest);
	return e;
}

static bool
rod_dev_specific_empty(const uint8_t *p)
{
	for (unsigned int i = 0; i < ROD_DEV_SPECIFIC_LEN; i++)
		if (p[i] != 0)
			return false;
	return true;
}

/* Build and sign the token for e (id not yet chosen: done here). */
static int
rod_token_for(const struct rod_create *c, struct rod_entry *e, uint8_t *out)
{
	struct rod_token_fields f;

	memset(&f, 0, sizeof(f));
	do {
		if (RAND_bytes((uint8_t *)&e->id, sizeof(e->id)) != 1)
			return -EIO;
	} while (e->id == 0);
	f.rod_type = e->rod_type;
	f.id = e->id;
	memcpy(f.naa, e->naa, sizeof(f.naa));
	f.block_size = e->block_size;
	f.bytes = e->bytes;
	if (rod_dev_specific_empty(c->dev_specific))
		put_be32(f.dev_specific, e->block_size);
	else
		memcpy(f.dev_specific, c->dev_specific, ROD_DEV_SPECIFIC_LEN);
	f.created_s = rod_now_s();
	f.expires_s = f.created_s + ROD_MAX_LIFETIME_S;
	e->expires_s = f.expires_s;
	f.timeout_s = (uint32_t)(e->timeout_ms / 1000);
	f.n_ranges = e->n_ranges;
	memcpy(f.digest, e->digest, ROD_DIGEST_LEN);
	rod_token_build(&f, out);
	return rod_token_sign(out);
}

/* rod_registry_create() fails with rc: e (if any) and the snapshot go,
 * out is zeroed. */
static int
rod_create_fail(const struct rod_create *c, struct rod_entry *e,
    uint8_t *out, int rc)
{
	if (e != NULL)
		rod_free_entry(e);
	if (c->snap != NULL && c->snap_destroy != NULL)
		c->snap_destroy(c->snap);
	memset(out, 0, ROD_TOKEN_LEN);
	return rc;
}

int
rod_registry_create(const struct rod_create *c, uint8_t *out,
    struct rod_entry **entp)
{
	struct rod_gc gc = { .n = 0 };
	struct rod_entry *e = NULL;
	uint32_t type, timeout_s;
	uint64_t bytes, now;
	unsigned int n = 0;
	int rc;

	if (entp != NULL)
		*entp = NULL;
	rc = rod_check_create(c, &type, &timeout_s, &bytes);
	if (rc == 0) {
		e = rod_entry_new(c, type, timeout_s, bytes);
		rc = e == NULL ? -ENOMEM : 0;
	}
	for (int tries = 0; rc == 0; tries++) {
		rc = rod_token_for(c, e, out);
		if (rc != 0)
			break;
		pthread_mutex_lock(&reg.lock);
		rod_reg_init_locked();
		if (rod_find_locked(e->id) == NULL)
			break;		/* mutex held */
		pthread_mutex_unlock(&reg.lock);
		if (tries == 8)
			rc = -EIO;	/* the RNG is broken */
	}
	if (rc != 0)
		return rod_create_fail(c, e, out, rc);

	/* mutex held: make room by expiring idle tokens first */
	now = rod_now_ms();
	if (reg.n_valid >= ROD_MAX_TOKENS)
		(void)rod_kill_batch_locked(rod_sel_idle, &now, ROD_ST_EXPIRED,
		    &gc, &n);
	if (reg.n_valid >= ROD_MAX_TOKENS) {
		pthread_mutex_unlock(&reg.lock);
		rod_gc_run(&gc);
		return rod_create_fail(c, e, out, -ENOSPC);
	}
	lun_get(c->lun);
	e->lun = c->lun;
	e->lun_id = c->lun;
	e->snap = c->snap;
	e->snap_destroy = c->snap_destroy;
	e->last_use_ms = now;
	e->state = ROD_ST_VALID;
	e->refcnt = entp != NULL ? 2 : 1;
	e->hashed = true;
	e->hnext = reg.hash[rod_bucket(e->id)];
	reg.hash[rod_bucket(e->id)] = e;
	rod_list_add_tail(&reg.valid, &e->link);
	reg.n_valid++;
	atomic_fetch_add(&c->lun->rod_tokens, 1);
	reg.stats.created++;
	pthread_mutex_unlock(&reg.lock);
	rod_gc_run(&gc);
	if (entp != NULL)
		*entp = e;
	return 0;
}

/* --- use --- */

static bool
rod_entry_matches(const struct rod_entry *e, const struct rod_token_fields *f)
{
	return e->rod_type == f->rod_type && e->bytes == f->bytes &&
	    e->block_size == f->block_size && e->n_ranges == f->n_ranges &&
	    e->timeout_ms == (uint64_t)f->timeout_s * 1000 &&
	    e->expires_s == f->expires_s &&
	    CRYPTO_memcmp(e->naa, f->naa, sizeof(e->naa)) == 0 &&
	    CRYPTO_memcmp(e->digest, f->digest, ROD_DIGEST_LEN) == 0;
}

enum rod_err
rod_registry_lookup(const uint8_t *tok, size_t len,
    const struct scsi_nexus *nx, struct rod_entry **entp)
{
	struct rod_gc gc = { .n = 0 };
	struct rod_token_fields f;
	struct rod_entry *e;
	enum rod_err err;
	const char *target;
	uint64_t now;

	*entp = NULL;
	err = rod_token_verify(tok, len, &f);
	if (err != ROD_OK) {
		if (err != ROD_ZERO) {
			pthread_mutex_lock(&reg.lock);
			reg.stats.rejected++;
			pthread_mutex_unlock(&reg.lock);
		}
		return err;
	}
	target = nx != NULL && nx->target != NULL ? nx->target : "";
	now = rod_now_ms();

	pthread_mutex_lock(&reg.lock);
	rod_reg_init_locked();
	e = rod_find_locked(f.id);
	if (e == NULL) {
		err = ROD_ERR_UNKNOWN;
	} else {
		if (rod_idle_locked(e, now))
			rod_kill_locked(e, ROD_ST_EXPIRED, &gc);
		err = rod_state_err(e->state);
		if (err == ROD_OK && strcmp(e->target, target) != 0)
			err = ROD_ERR_REMOTE;
		if (err == ROD_OK && !rod_entry_matches(e, &f))
			err = ROD_ERR_CORRUPT;
	}
	if (err == ROD_OK) {
		e->refcnt++;
		e->last_use_ms = now;
		*entp = e;
	} else {
		reg.stats.rejected++;
	}
	pthread_mutex_unlock(&reg.lock);
	rod_gc_run(&gc);
	return err;
}

enum rod_err
rod_registry_check(struct rod_entry *e)
{
	enum rod_err err;

	pthread_mutex_lock(&reg.lock);
	err = rod_state_err(e->state);
	pthread_mutex_unlock(&reg.lock);
	return err;
}

void
rod_registry_touch(struct rod_entry *e)
{
	pthread_mutex_lock(&reg.lock);
	e->last_use_ms = rod_now_ms();
	pthread_mutex_unlock(&reg.lock);
}

void
rod_registry_put(struct rod_entry *e)
{
	struct rod_gc gc = { .n = 0 };

	if (e == NULL)
		return;
	pthread_mutex_lock(&reg.lock);
	rod_unref_locked(e, &gc);
	pthread_mutex_unlock(&reg.lock);
	rod_gc_run(&gc);
}

static void
rod_set_state(struct rod_entry *e, enum rod_state st)
{
	struct rod_gc gc = { .n = 0 };

	pthread_mutex_lock(&reg.lock);
	rod_kill_locked(e, st, &gc);
	pthread_mutex_unlock(&reg.lock);
	rod_gc_run(&gc);
}

void
rod_registry_delete(struct rod_entry *e)
{
	rod_set_state(e, ROD_ST_DELETED);
}

void
rod_registry_cancel(struct rod_entry *e)
{
	rod_set_state(e, ROD_ST_CANCELLED);
}

void
rod_registry_revoke(struct rod_entry *e)
{
	rod_set_state(e, ROD_ST_REVOKED);
}

int
rod_registry_attach_snapshot(struct rod_entry *e, void *snap,
    void (*destroy)(void *))
{
	int rc = 0;

	pthread_mutex_lock(&reg.lock);
	if (e->state != ROD_ST_VALID)
		rc = -ESTALE;
	else if (e->snap != NULL)
		rc = -EBUSY;
	else {
		e->snap = snap;
		e->snap_destroy = destroy;
	}
	pthread_mutex_unlock(&reg.lock);
	return rc;
}

/* --- accessors (the caller holds a reference) --- */

struct lun *
rod_entry_lun(const struct rod_entry *e)
{
	return e->lun_id;
}

const struct rod_range *
rod_entry_ranges(const struct rod_entry *e, unsigned int *n)
{
	*n = e->n_ranges;
	return e->ranges;
}

uint64_t
rod_entry_bytes(const struct rod_entry *e)
{
	return e->bytes;
}

uint32_t
rod_entry_block_size(const struct rod_entry *e)
{
	return e->block_size;
}

uint32_t
rod_entry_rod_type(const struct rod_entry *e)
{
	return e->rod_type;
}

uint64_t
rod_entry_id(const struct rod_entry *e)
{
	return e->id;
}

void *
rod_entry_snapshot(const struct rod_entry *e)
{
	void *s;

	pthread_mutex_lock(&reg.lock);
	s = e->snap;
	pthread_mutex_unlock(&reg.lock);
	return s;
}

enum rod_err
rod_entry_map(const struct rod_entry *e, uint64_t rod_off, uint64_t len,
    struct rod_extent *out, unsigned int max, unsigned int *n,
    uint64_t *mapped)
{
	uint64_t pos = 0, done = 0;
	unsigned int k = 0;

	*n = 0;
	*mapped = 0;
	if (rod_off >= e->bytes)
		return ROD_ERR_OFFSET;
	for (unsigned int i = 0; i < e->n_ranges && done < len; i++) {
		uint64_t rlen = (uint64_t)e->ranges[i].nblocks * e->block_size;
		uint64_t start, take, src;

		if (rlen == 0)
			continue;
		if (rod_off >= pos + rlen) {
			pos += rlen;
			continue;
		}
		start = rod_off + done - pos;	/* offset inside the range */
		take = rlen - start;
		if (take > len - done)
			take = len - done;
		src = e->ranges[i].lba * e->block_size + start;
		if (k > 0 && out[k - 1].src_off + out[k - 1].len == src) {
			out[k - 1].len += take;	/* contiguous: merge */
		} else {
			if (k == max)
				break;
			out[k].src_off = src;
			out[k].len = take;
			k++;
		}
		done += take;
		pos += rlen;
	}
	*n = k;
	*mapped = done;
	return ROD_OK;
}

/* --- invalidation --- */

struct rod_write {
	struct lun	*lun;
	uint64_t	 lba, end;	/* [lba, end) */
};

static bool
rod_sel_write(struct rod_entry *e, void *arg)
{
	const struct rod_write *w = arg;

	if (e->lun_id != w->lun)
		return false;
	/* a point-in-time snapshot keeps the data, unless the type asks
	 * to be revoked on change */
	if (e->snap != NULL && e->rod_type != ROD_TYPE_PIT_VULN)
		return false;
	for (unsigned int i = 0; i < e->n_ranges; i++) {
		uint64_t a = e->ranges[i].lba;
		uint64_t b = a + e->ranges[i].nblocks;

		if (a < w->end && w->lba < b)
			return true;
	}
	return false;
}

void
rod_registry_write_notify(struct lun *lun, uint64_t lba, uint64_t nblocks)
{
	struct rod_write w;
	unsigned int n;

	if (lun == NULL || atomic_load(&lun->rod_tokens) == 0 ||
	    nblocks == 0)
		return;
	w.lun = lun;
	w.lba = lba;
	w.end = lba + nblocks < lba ? UINT64_MAX : lba + nblocks;
	n = rod_kill_where(rod_sel_write, &w, ROD_ST_REVOKED);
	if (n != 0)
		log_dbg("rod: %s: write at %llu+%llu revoked %u token(s)",
		    lun->name != NULL ? lun->name : "?",
		    (unsigned long long)lba, (unsigned long long)nblocks, n);
}

static bool
rod_sel_lun(struct rod_entry *e, void *arg)
{
	return e->lun_id == arg;
}

static bool
rod_sel_all(struct rod_entry *e, void *arg)
{
	(void)e;
	(void)arg;
	return true;
}

void
rod_registry_revoke_lun(struct lun *lun)
{
	if (lun == NULL || atomic_load(&lun->rod_tokens) == 0)
		return;
	rod_kill_where(rod_sel_lun, lun, ROD_ST_REVOKED);
}

void
rod_registry_revoke_all(void)
{
	unsigned int n;

	n = rod_kill_where(rod_sel_all, NULL, ROD_ST_REVOKED);
	if (n != 0)
		log_info("rod: revoked %u token(s)", n);
}

unsigned int
rod_registry_sweep(void)
{
	struct rod_gc gc = { .n = 0 };
	unsigned int left, n = 0;
	uint64_t now = rod_now_ms();
	bool again;

	do {
		pthread_mutex_lock(&reg.lock);
		rod_reg_init_locked();
		again = rod_kill_batch_locked(rod_sel_idle, &now,
		    ROD_ST_EXPIRED, &gc, &n);
		while (!again && reg.tombs.next != &reg.tombs &&
		    now - rod_of(reg.tombs.next)->dead_ms >=
		    ROD_TOMBSTONE_MS) {
			if (gc.n + 1 > ROD_GC_BATCH) {
				again = true;
				break;
			}
			rod_tomb_evict_locked(rod_of(reg.tombs.next), &gc);
		}
		left = reg.n_valid;
		pthread_mutex_unlock(&reg.lock);
		rod_gc_run(&gc);
	} while (again);
	return left;
}

/* --- listing --- */

int
rod_registry_foreach(const char *target,
    bool (*fn)(void *, const struct rod_info *), void *arg)
{
	struct rod_info *v;
	struct rod_entry *e;
	struct rod_list *l;
	unsigned int n = 0, i;
	uint64_t now = rod_now_ms();

	/* a copy, so fn runs unlocked: at most ROD_MAX_TOKENS entries */
	v = xcalloc(ROD_MAX_TOKENS, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	pthread_mutex_lock(&reg.lock);
	rod_reg_init_locked();
	for (l = reg.valid.next; l != &reg.valid && n < ROD_MAX_TOKENS;
	    l = l->next) {
		e = rod_of(l);
		/* idle past its timeout: dead already, the sweep or the
		 * next lookup only records it */
		if (rod_idle_locked(e, now))
			continue;
		if (target != NULL && strcmp(e->target, target) != 0)
			continue;
		v[n].id = e->id;
		v[n].rod_type = e->rod_type;
		v[n].block_size = e->block_size;
		v[n].bytes = e->bytes;
		memcpy(v[n].naa, e->naa, sizeof(v[n].naa));
		v[n].timeout_s = (uint32_t)(e->timeout_ms / 1000);
		v[n].lun = e->lun_id;
		n++;
	}
	pthread_mutex_unlock(&reg.lock);
	for (i = 0; i < n; i++)
		if (!fn(arg, &v[i])) {
			i++;
			break;
		}
	free(v);
	return (int)i;
}

void
rod_info_mgmt_token(const struct rod_info *in, uint8_t *out)
{
	struct rod_token_fields f;
	uint8_t tok[ROD_TOKEN_LEN];

	/* bytes 0-95 of the token depend on these fields only */
	memset(&f, 0, sizeof(f));
	f.rod_type = in->rod_type;
	f.id = in->id;
	memcpy(f.naa, in->naa, sizeof(f.naa));
	f.block_size = in->block_size;
	f.bytes = in->bytes;
	rod_token_build(&f, tok);
	memcpy(out, tok, ROD_MGMT_TOKEN_LEN);
}

void
rod_registry_stats(struct rod_stats *st)
{
	pthread_mutex_lock(&reg.lock);
	*st = reg.stats;
	st->valid = reg.n_valid;
	st->tombstones = reg.n_tombs;
	pthread_mutex_unlock(&reg.lock);
}

void
rod_registry_fini(void)
{
	struct rod_gc gc = { .n = 0 };
	struct rod_list *l;
	struct rod_entry *e;
	bool again;

	/* kill all, then drop the table's references to the tombstones */
	rod_kill_where(rod_sel_all, NULL, ROD_ST_REVOKED);
	do {
		again = false;
		pthread_mutex_lock(&reg.lock);
		rod_reg_init_locked();
		while ((l = reg.tombs.next) != &reg.tombs) {
			if (gc.n + 1 > ROD_GC_BATCH) {
				again = true;
				break;
			}
			e = rod_of(l);
			if (e->refcnt > 1)
				log_warn("rod: token %016llx still referenced "
				    "at shutdown", (unsigned long long)e->id);
			rod_tomb_evict_locked(e, &gc);
		}
		if (!again)
			memset(&reg.stats, 0, sizeof(reg.stats));
		pthread_mutex_unlock(&reg.lock);
		rod_gc_run(&gc);
	} while (again);
}
