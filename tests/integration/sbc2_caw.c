/*
 * sbc2_caw.c - COMPARE AND WRITE atomicity against a real tpcd: many
 * sessions (ITEST_SESSIONS, default 8) at once, each on its own loop as
 * the daemon places them.
 *
 * Counter: a 4-block region holds a 64-bit counter in every word.  Each
 * session adds one with read + COMPARE AND WRITE (retrying on MISCOMPARE)
 * until it has made ROUNDS increments.  Lost updates (a compare and a
 * write that are not atomic) leave the final value below the sum; a torn
 * region (words that differ) shows a write mixed with another.
 *
 * Mixed: a 16-block region where sessions WRITE random sub-ranges and
 * COMPARE AND WRITE the whole region, every operation with a unique stamp
 * in every word.  Afterwards each block must hold one stamp (no torn
 * block), the final blocks must be explainable by one serial order (the
 * "last writer" of every block must follow every other operation that
 * wrote it, and those constraints must have no cycle), and no two
 * successful COMPARE AND WRITEs may have consumed the same region state
 * (every state occurs once: each operation brings a new stamp).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "itest.h"

#define CNT_LBA		1000
#define CNT_BLOCKS	4
#define MIX_LBA		2000
#define MIX_BLOCKS	16
#define ROUNDS		40	/* counter increments per session */
#define MIX_OPS		60	/* mixed operations per session */
#define MAX_SESS	32

struct op {
	uint64_t	 stamp;
	uint64_t	 expect;	/* CAW: the state it compared */
	uint16_t	 first, n;	/* blocks within the mixed region */
	bool		 caw;
	bool		 done;		/* GOOD */
};

struct worker {
	pthread_t	 thread;
	int		 index;
	uint32_t	 bs;
	int		 increments;
	int		 miscompares;
	int		 torn_reads;	/* READs that saw a CAW half done */
	int		 errors;
	char		 why[160];
	struct op	 ops[MIX_OPS];
	int		 nops;
};

static int nsess;
static pthread_barrier_t barrier;

static void
fill(uint8_t *p, size_t len, uint64_t v)
{
	size_t i;

	for (i = 0; i + 8 <= len; i += 8)
		memcpy(p + i, &v, 8);
}

/* The stamp if every word of [p, p + len) holds the same one. */
static bool
uniform(const uint8_t *p, size_t len, uint64_t *v)
{
	size_t i;

	memcpy(v, p, 8);
	for (i = 8; i + 8 <= len; i += 8)
		if (memcmp(p + i, v, 8) != 0)
			return false;
	return true;
}

/* COMPARE AND WRITE: 0 GOOD, 1 MISCOMPARE, -1 other. */
static int
caw(struct iscsi_context *ctx, int lun, uint64_t lba, uint8_t *buf,
    uint32_t len, uint32_t bs)
{
	struct scsi_task *t;
	int rc;

	t = iscsi_compareandwrite_sync(ctx, lun, lba, buf, len, bs, 0, 0, 0,
	    0, 0);
	if (t == NULL)
		return -1;
	if (t->status == SCSI_STATUS_GOOD)
		rc = 0;
	else if (t->status == SCSI_STATUS_CHECK_CONDITION &&
	    t->sense.key == SCSI_SENSE_MISCOMPARE)
		rc = 1;
	else
		rc = -1;
	scsi_free_scsi_task(t);
	return rc;
}

static void
counter_phase(struct worker *w, struct iscsi_context *ctx, int lun)
{
	uint32_t len = CNT_BLOCKS * w->bs;
	uint8_t *buf = malloc(2 * len), *rd = malloc(len);
	uint64_t v;
	int tries = 0, rc;

	while (buf != NULL && rd != NULL && w->increments < ROUNDS &&
	    tries++ < ROUNDS * 200) {
		if (itest_read(ctx, lun, CNT_LBA, rd, len, w->bs) != 0) {
			w->errors++;
			break;
		}
		if (!uniform(rd, len, &v)) {
			/* A plain READ of 4 blocks racing a COMPARE AND
			 * WRITE may see old and new blocks: SBC-4 makes no
			 * read/write atomicity promise across blocks (only
			 * WRITE ATOMIC would).  The CAW's own compare runs
			 * under the range lock; just read again. */
			w->torn_reads++;
			continue;
		}
		fill(buf, len, v);
		fill(buf + len, len, v + 1);
		rc = caw(ctx, lun, CNT_LBA, buf, 2 * len, w->bs);
		if (rc == 0)
			w->increments++;
		else if (rc == 1)
			w->miscompares++;
		else {
			snprintf(w->why, sizeof(w->why), "CAW failed");
			w->errors++;
			break;
		}
	}
	free(buf);
	free(rd);
}

/* Identifies a region state: every state happens once, since each
 * operation brings a stamp that is never written again. */
static uint64_t
state_hash(const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static void
mixed_phase(struct worker *w, struct iscsi_context *ctx, int lun)
{
	uint32_t len = MIX_BLOCKS * w->bs;
	uint8_t *buf = malloc(2 * len), *rd = malloc(len);
	unsigned int seed = 77u + (unsigned int)w->index;
	struct op *o;
	int i, rc;

	for (i = 0; buf != NULL && rd != NULL && i < MIX_OPS; i++) {
		o = &w->ops[w->nops++];
		memset(o, 0, sizeof(*o));
		o->stamp = ((uint64_t)(w->index + 1) << 32) | (uint64_t)i;
		if (rand_r(&seed) % 3 == 0) {
			/* COMPARE AND WRITE of the region as last seen */
			o->caw = true;
			o->first = 0;
			o->n = MIX_BLOCKS;
			if (itest_read(ctx, lun, MIX_LBA, rd, len, w->bs) != 0) {
				w->errors++;
				break;
			}
			memcpy(buf, rd, len);
			o->expect = state_hash(rd, len);
			fill(buf + len, len, o->stamp);
			rc = caw(ctx, lun, MIX_LBA, buf, 2 * len, w->bs);
			if (rc < 0) {
				snprintf(w->why, sizeof(w->why), "CAW failed");
				w->errors++;
				break;
			}
			o->done = rc == 0;
			continue;
		}
		o->first = (uint16_t)(rand_r(&seed) % MIX_BLOCKS);
		o->n = (uint16_t)(1 + rand_r(&seed) % (MIX_BLOCKS - o->first));
		fill(buf, (size_t)o->n * w->bs, o->stamp);
		if (itest_write(ctx, lun, MIX_LBA + o->first, buf,
		    o->n * w->bs, w->bs) != 0) {
			w->errors++;
			break;
		}
		o->done = true;
	}
	free(buf);
	free(rd);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct itest_login l = {
		.initiator = ITEST_INIT_A, .immediate_data = -1,
		.initial_r2t = -1, .isid_qualifier = 0x2000 + w->index,
	};
	struct iscsi_context *ctx;
	const char *err;
	uint64_t nblocks;
	int lun = itest_lun();

	ctx = itest_connect(&l, &err);
	if (ctx == NULL)
		snprintf(w->why, sizeof(w->why), "login: %s", err);
	pthread_barrier_wait(&barrier);
	if (ctx == NULL) {
		w->errors++;
		return NULL;
	}
	itest_clear_ua(ctx, lun);
	if (itest_capacity(ctx, lun, &w->bs, &nblocks) != 0) {
		w->errors++;
		itest_close(ctx);
		return NULL;
	}
	pthread_barrier_wait(&barrier);
	counter_phase(w, ctx, lun);
	pthread_barrier_wait(&barrier);
	mixed_phase(w, ctx, lun);
	itest_close(ctx);
	return NULL;
}

/* --- serial order check --- */

static struct op *all_ops[MAX_SESS * MIX_OPS + 1];
static int n_all;
static uint8_t *adj;		/* n_all x n_all: i must precede j */
static int *color;

static struct op *
find_op(uint64_t stamp, int *idx)
{
	int i;

	for (i = 0; i < n_all; i++)
		if (all_ops[i]->stamp == stamp) {
			*idx = i;
			return all_ops[i];
		}
	return NULL;
}

static bool
dfs_cycle(int u)
{
	int v;

	color[u] = 1;
	for (v = 0; v < n_all; v++) {
		if (!adj[(size_t)u * n_all + v])
			continue;
		if (color[v] == 1)
			return true;
		if (color[v] == 0 && dfs_cycle(v))
			return true;
	}
	color[u] = 2;
	return false;
}

int
main(void)
{
	struct worker w[MAX_SESS];
	struct iscsi_context *ctx;
	static struct op initial = { .stamp = 0, .done = true,
	    .n = MIX_BLOCKS };
	uint32_t bs;
	uint64_t nblocks, v;
	uint8_t *buf;
	int i, j, b, sum = 0, miscomp = 0, errors = 0, torn = 0, bad = 0;
	int tornr = 0;
	int lun = itest_lun(), k, dup = 0;

	itest_begin("sbc2_caw", 240);
	nsess = atoi(itest_env("ITEST_SESSIONS", "8"));
	if (nsess < 2 || nsess > MAX_SESS)
		nsess = 8;
	ctx = itest_connect_default(ITEST_INIT_A);
	itest_check(ctx != NULL, "login");
	if (ctx == NULL)
		return itest_end();
	itest_clear_ua(ctx, lun);
	itest_check(itest_capacity(ctx, lun, &bs, &nblocks) == 0, "capacity");
	buf = calloc(MIX_BLOCKS, bs);
	/* counter 0, mixed region stamp 0 */
	itest_check(itest_write(ctx, lun, CNT_LBA, buf, CNT_BLOCKS * bs,
	    bs) == 0 && itest_write(ctx, lun, MIX_LBA, buf,
	    MIX_BLOCKS * bs, bs) == 0, "initial data");

	pthread_barrier_init(&barrier, NULL, (unsigned int)nsess);
	memset(w, 0, sizeof(w));
	for (i = 0; i < nsess; i++) {
		w[i].index = i;
		pthread_create(&w[i].thread, NULL, worker_main, &w[i]);
	}
	for (i = 0; i < nsess; i++) {
		pthread_join(w[i].thread, NULL);
		sum += w[i].increments;
		miscomp += w[i].miscompares;
		tornr += w[i].torn_reads;
		errors += w[i].errors;
		if (w[i].why[0] != '\0')
			itest_note("session %d: %s", i, w[i].why);
	}
	itest_check(errors == 0, "%d sessions ran without errors", nsess);
	itest_check(sum == nsess * ROUNDS, "%d increments made (%d "
	    "miscompares retried, %d torn reads retried)", sum, miscomp,
	    tornr);

	/* counter: exactly the sum, in every word */
	itest_check(itest_read(ctx, lun, CNT_LBA, buf, CNT_BLOCKS * bs,
	    bs) == 0, "read counter");
	itest_check(uniform(buf, CNT_BLOCKS * bs, &v), "counter not torn");
	itest_check(v == (uint64_t)sum, "counter %" PRIu64 " == %d "
	    "(no lost update)", v, sum);

	/* mixed region: one stamp per block, a serial order exists */
	all_ops[n_all++] = &initial;
	for (i = 0; i < nsess; i++)
		for (j = 0; j < w[i].nops; j++)
			if (w[i].ops[j].done)
				all_ops[n_all++] = &w[i].ops[j];
	adj = calloc((size_t)n_all * n_all, 1);
	color = calloc((size_t)n_all, sizeof(int));
	itest_check(itest_read(ctx, lun, MIX_LBA, buf, MIX_BLOCKS * bs,
	    bs) == 0, "read mixed region");
	for (b = 0; b < MIX_BLOCKS; b++) {
		struct op *last;
		int li;

		if (!uniform(buf + (size_t)b * bs, bs, &v)) {
			torn++;
			continue;
		}
		last = find_op(v, &li);
		if (last == NULL || b < last->first ||
		    b >= last->first + last->n) {
			bad++;
			continue;
		}
		/* every other writer of b precedes the last one */
		for (k = 0; k < n_all; k++)
			if (k != li && b >= all_ops[k]->first &&
			    b < all_ops[k]->first + all_ops[k]->n)
				adj[(size_t)k * n_all + li] = 1;
	}
	itest_check(torn == 0, "no torn block (%d)", torn);
	itest_check(bad == 0, "every block holds a stamp written there (%d)",
	    bad);
	for (k = 0; k < n_all; k++)
		if (color[k] == 0 && dfs_cycle(k))
			break;
	itest_check(k == n_all, "final blocks fit one serial order of %d "
	    "operations", n_all);
	/* a region state is consumed by at most one successful CAW */
	for (i = 0; i < n_all; i++)
		for (j = i + 1; j < n_all; j++)
			if (all_ops[i]->caw && all_ops[j]->caw &&
			    all_ops[i]->done && all_ops[j]->done &&
			    all_ops[i]->expect == all_ops[j]->expect)
				dup++;
	itest_check(dup == 0, "no two COMPARE AND WRITEs succeeded on the "
	    "same state (%d)", dup);
	itest_check(itest_daemon_alive(), "daemon alive");
	free(adj);
	free(color);
	free(buf);
	itest_close(ctx);
	return itest_end();
}
