/*
 * check_rod_token.c - ROD tokens: layout, signature, every single-byte
 * tampering, the verification order, inactivity and lifetime expiry on a
 * fake clock, revocation by overlapping writes, the registry bound, key
 * rotation and the key file (mode, persistence across two "starts").
 *
 * LUs are plain structs owned by the test (one reference kept), so every
 * test can check that the registry gave back all the references it took.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lun.h"
#include "rod_token/rod_token.h"
#include "util.h"

static _Atomic uint64_t fake_ms;

static uint64_t
fake_clock(void)
{
	return fake_ms;
}

static struct lun lu_a, lu_b;
static char tgt1[] = "iqn.2024-01.test:t1", tgt2[] = "iqn.2024-01.test:t2";
static char ini1[] = "iqn.2024-01.test:i1", ini2[] = "iqn.2024-01.test:i2";
static struct scsi_nexus nx1, nx1b, nx2;

static void
lu_init(struct lun *lu, const char *name, uint8_t naa0)
{
	memset(lu, 0, sizeof(*lu));
	lu->name = (char *)name;
	lu->block_size = 512;
	lu->nblocks = 1 << 20;
	lu->refcnt = 1;
	for (int i = 0; i < 16; i++)
		lu->naa[i] = (uint8_t)(naa0 + i);
	lu->naa[0] = 0x60 | (naa0 & 0x0f);
}

static void
setup(void)
{
	fake_ms = 1700000000000ULL;	/* wall clock seconds come from it */
	rod_registry_set_clock(fake_clock);
	ck_assert_int_eq(rod_key_init(NULL), 0);
	lu_init(&lu_a, "lu_a", 0x11);
	lu_init(&lu_b, "lu_b", 0x22);
	memset(&nx1, 0, sizeof(nx1));
	nx1.initiator_name = ini1;
	nx1.target = tgt1;
	nx1b = nx1;
	nx1b.initiator_name = ini2;	/* other initiator, same target */
	nx2 = nx1;
	nx2.target = tgt2;
}

static void
teardown(void)
{
	rod_registry_fini();
	rod_key_fini();
	/* every LU reference the registry took came back */
	ck_assert_uint_eq(lu_a.refcnt, 1);
	ck_assert_uint_eq(lu_b.refcnt, 1);
	ck_assert_uint_eq(lu_a.rod_tokens, 0);
	ck_assert_uint_eq(lu_b.rod_tokens, 0);
}

static const struct rod_range ranges2[] = {
	{ .lba = 100, .nblocks = 10 },
	{ .lba = 200, .nblocks = 5 },
};

static int
mk(struct lun *lu, const struct rod_range *r, unsigned int n,
    uint32_t timeout_s, uint8_t *tok, struct rod_entry **ent)
{
	struct rod_create c;

	memset(&c, 0, sizeof(c));
	c.lun = lu;
	c.nexus = &nx1;
	c.ranges = r;
	c.n_ranges = n;
	c.timeout_s = timeout_s;
	return rod_registry_create(&c, tok, ent);
}

static enum rod_err
use(const uint8_t *tok, const struct scsi_nexus *nx)
{
	struct rod_entry *e = NULL;
	enum rod_err err;

	err = rod_registry_lookup(tok, ROD_TOKEN_LEN, nx, &e);
	if (err == ROD_OK) {
		ck_assert_ptr_nonnull(e);
		rod_registry_put(e);
	} else {
		ck_assert_ptr_null(e);
	}
	return err;
}

/* --- layout --- */

START_TEST(test_layout)
{
	uint8_t tok[ROD_TOKEN_LEN];
	struct rod_token_fields f;
	struct rod_entry *e;
	const uint8_t *c = tok + ROD_OFF_CREATOR;
	uint8_t zero[32] = { 0 };

	ck_assert_int_eq(mk(&lu_a, ranges2, 2, 0, tok, &e), 0);
	ck_assert_uint_eq(get_be32(tok), ROD_TYPE_PIT_DEFAULT);
	ck_assert_uint_eq(get_be16(tok + 4), 0);
	ck_assert_uint_eq(get_be16(tok + 6), 0x01f8);
	ck_assert_uint_eq(get_be64(tok + 8), rod_entry_id(e));
	ck_assert(rod_entry_id(e) != 0);
	/* creator: E4h, disk, binary NAA, 16 bytes, block length 512 */
	ck_assert_uint_eq(c[0], 0xe4);
	ck_assert_uint_eq(c[1], 0x00);
	ck_assert_uint_eq(c[4], 0x01);
	ck_assert_uint_eq(c[5], 0x03);
	ck_assert_uint_eq(c[7], 16);
	ck_assert_mem_eq(c + 8, lu_a.naa, 16);
	ck_assert_mem_eq(c + 24, zero, 4);
	ck_assert_uint_eq(get_be24(c + 29), 512);
	/* 15 blocks of 512 */
	ck_assert_uint_eq(get_be64(tok + 48), 0);
	ck_assert_uint_eq(get_be64(tok + 56), 15 * 512);
	ck_assert_uint_eq(rod_entry_bytes(e), 15 * 512);
	ck_assert_mem_eq(tok + 64, zero, 32);
	/* READ CAPACITY(16) bytes 8-11: block length */
	ck_assert_uint_eq(get_be32(tok + 96), 512);
	/* target device descriptor: VPD 83h NAA */
	ck_assert_uint_eq(tok[128], 0x01);
	ck_assert_uint_eq(tok[129], 0x03);
	ck_assert_uint_eq(tok[131], 16);
	ck_assert_mem_eq(tok + 132, lu_a.naa, 16);
	/* extended data */
	ck_assert_uint_eq(tok[ROD_OFF_VERSION], ROD_FORMAT_VERSION);
	ck_assert_uint_eq(get_be32(tok + ROD_OFF_KEY_ID), rod_key_id());
	ck_assert_uint_eq(get_be64(tok + ROD_OFF_CREATED), fake_ms / 1000);
	ck_assert_uint_eq(get_be64(tok + ROD_OFF_EXPIRES),
	    fake_ms / 1000 + ROD_MAX_LIFETIME_S);
	ck_assert_uint_eq(get_be32(tok + ROD_OFF_TIMEOUT),
	    ROD_DEFAULT_INACTIVITY_S);
	ck_assert_uint_eq(get_be32(tok + ROD_OFF_NRANGES), 2);
	ck_assert(memcmp(tok + ROD_OFF_MAC, zero, 32) != 0);

	ck_assert_int_eq(rod_token_parse(tok, sizeof(tok), &f), 0);
	ck_assert_uint_eq(f.rod_type, ROD_TYPE_PIT_DEFAULT);
	ck_assert_uint_eq(f.id, rod_entry_id(e));
	ck_assert_uint_eq(f.block_size, 512);
	ck_assert_uint_eq(f.bytes, 15 * 512);
	ck_assert_int_eq(rod_token_parse(tok, 511, &f), -EINVAL);

	ck_assert_ptr_eq(rod_entry_lun(e), &lu_a);
	ck_assert_uint_eq(lu_a.refcnt, 2);
	ck_assert_uint_eq(lu_a.rod_tokens, 1);
	rod_registry_put(e);
}
END_TEST

START_TEST(test_dev_specific_and_ids)
{
	uint8_t tok[ROD_TOKEN_LEN], tok2[ROD_TOKEN_LEN];
	struct rod_create c;

	memset(&c, 0, sizeof(c));
	c.lun = &lu_a;
	c.nexus = &nx1;
	c.ranges = ranges2;
	c.n_ranges = 1;
	put_be32(c.dev_specific, 512);
	c.dev_specific[5] = 0x03;		/* LBPPBE */
	c.dev_specific[6] = 0x80;		/* LBPME */
	ck_assert_int_eq(rod_registry_create(&c, tok, NULL), 0);
	ck_assert_mem_eq(tok + 96, c.dev_specific, ROD_DEV_SPECIFIC_LEN);
	ck_assert_int_eq(rod_registry_create(&c, tok2, NULL), 0);
	/* two tokens over the same data differ in id and MAC */
	ck_assert(get_be64(tok + 8) != get_be64(tok2 + 8));
	ck_assert(memcmp(tok + ROD_OFF_MAC, tok2 + ROD_OFF_MAC, 32) != 0);
	ck_assert_int_eq(use(tok, &nx1), ROD_OK);
	ck_assert_int_eq(use(tok2, &nx1), ROD_OK);
}
END_TEST

/* --- signature and verification order --- */

START_TEST(test_flip_every_byte)
{
	uint8_t tok[ROD_TOKEN_LEN], bad[ROD_TOKEN_LEN];
	static const uint8_t masks[] = { 0xff, 0x01, 0x80 };
	struct rod_stats st;
	unsigned int n = 0;

	ck_assert_int_eq(mk(&lu_a, ranges2, 2, 0, tok, NULL), 0);
	for (unsigned int m = 0; m < sizeof(masks); m++) {
		for (unsigned int i = 0; i < ROD_TOKEN_LEN; i++) {
			enum rod_err want = ROD_ERR_CORRUPT, got;
			uint32_t t;

			memcpy(bad, tok, sizeof(bad));
			bad[i] ^= masks[m];
			t = get_be32(bad);
			if (i == 6 || i == 7)
				want = ROD_ERR_LENGTH;
			else if (i < 4 && t != ROD_TYPE_PIT_DEFAULT &&
			    t != ROD_TYPE_PIT_VULN && t != ROD_TYPE_PIT_COW)
				want = ROD_ERR_UNSUPPORTED_TYPE;
			got = use(bad, &nx1);
			if (got != want)
				ck_abort_msg("byte %u ^ %02x: %s, want %s", i,
				    masks[m], rod_err_name(got),
				    rod_err_name(want));
			n++;
		}
	}
	ck_assert_uint_eq(n, 3 * 512);
	/* the genuine one still works, and no tampered one touched it */
	ck_assert_int_eq(use(tok, &nx1), ROD_OK);
	rod_registry_stats(&st);
	ck_assert_uint_eq(st.rejected, 3 * 512);
	ck_assert_uint_eq(st.valid, 1);
}
END_TEST

START_TEST(test_verify_order)
{
	uint8_t tok[ROD_TOKEN_LEN], bad[ROD_TOKEN_LEN];
	struct rod_entry *e = (struct rod_entry *)&e;

	ck_assert_int_eq(mk(&lu_a, ranges2, 2, 0, tok, NULL), 0);
	/* short buffer */
	ck_assert_int_eq(rod_registry_lookup(tok, 511, &nx1, &e),
	    ROD_ERR_LENGTH);
	ck_assert_ptr_null(e);
	ck_assert_int_eq(rod_registry_lookup(NULL, 0, &nx1, &e),
	    ROD_ERR_LENGTH);
	/* zero token: no other check */
	rod_token_build_zero(bad);
	ck_assert(rod_token_is_zero(bad, sizeof(bad)));
	ck_assert(!rod_token_is_zero(tok, sizeof(tok)));
	ck_assert_int_eq(rod_registry_lookup(bad, 512, NULL, &e), ROD_ZERO);
	ck_assert_ptr_null(e);
	memset(bad + 8, 0xaa, 100);	/* content ignored */
	ck_assert_int_eq(use(bad, &nx1), ROD_ZERO);
	/* a foreign type with a wrong length: length first */
	memcpy(bad, tok, sizeof(bad));
	put_be32(bad, ROD_TYPE_AUR);
	ck_assert_int_eq(use(bad, &nx1), ROD_ERR_UNSUPPORTED_TYPE);
	put_be16(bad + 6, 0x0200);
	ck_assert_int_eq(use(bad, &nx1), ROD_ERR_LENGTH);
	/* MAC before registry: a forged id is corrupt, not unknown */
	memcpy(bad, tok, sizeof(bad));
	put_be64(bad + 8, 12345);
	ck_assert_int_eq(use(bad, &nx1), ROD_ERR_CORRUPT);
	/* scope: another target is remote, another initiator is fine */
	ck_assert_int_eq(use(tok, &nx2), ROD_ERR_REMOTE);
	ck_assert_int_eq(use(tok, &nx1b), ROD_OK);
	ck_assert_int_eq(use(tok, NULL), ROD_ERR_REMOTE);
}
END_TEST

START_TEST(test_signed_unregistered)
{
	uint8_t tok[ROD_TOKEN_LEN];
	struct rod_token_fields f;

	/* a token we signed ourselves but never registered: unknown */
	ck_assert_int_eq(mk(&lu_a, ranges2, 2, 0, tok, NULL), 0);
	ck_assert_int_eq(rod_token_parse(tok, sizeof(tok), &f), 0);
	f.id ^= 1;
	rod_token_build(&f, tok);
	ck_assert_int_eq(rod_token_sign(tok), 0);
	ck_assert_int_eq(use(tok, &nx1), ROD_ERR_UNKNOWN);
	/* registered id, but the signed fields disagree with the entry */
	f.id ^= 1;
	f.bytes += 512;
	rod_token_build(&f, tok);
	ck_assert_int_eq(rod_token_sign(tok), 0);
	ck_assert_int_eq(use(tok, &nx1), ROD_ERR_CORRUPT);
	/* no key: nothing verifies */
	f.bytes -= 512;
	rod_token_build(&f, tok);
	ck_assert_int_eq(rod_token_sign(tok), 0);
	ck_assert_int_eq(use(tok, &nx1), ROD_OK);
	rod_key_fini();
	ck_assert_int_eq(use(tok, &nx1), ROD_ERR_CORRUPT);
	ck_assert_int_eq(rod_token_sign(tok), -EIO);
	ck_assert_int_eq(mk(&lu_a, ranges2, 2, 0, tok, NULL), -EIO);
}
END_TEST

/* --- states --- */

START_TEST(test_expiry)
{
	uint8_t tok[ROD_TOKEN_LEN], tok2[ROD_TOKEN_LEN];
	struct rod_entry *e;

	ck_assert_int_eq(mk(&lu_a, ranges2, 2, 2, tok, NULL), 0);
	fake_ms += 1900;
	ck_assert_int_eq(use(tok, &nx1), ROD_OK);	/* restarts timer */
	fake_ms += 1900;
	ck_assert_int_eq(use(tok, &nx1), ROD_OK);
	/* in use by a WUT: does not expire under it */
	ck_assert_int_eq(rod_registry_lookup(tok, 512, &nx1, &e), ROD_OK);
	fake_ms += 10000;
	ck_assert_uint_eq(rod_registry_sweep(), 1);
	ck_assert_int_eq(rod_registry_check(e), ROD_OK);
	rod_registry_touch(e);
	rod_registry_put(e);
	fake_ms += 2000;
	ck_assert_int_eq(use(tok, &nx1), ROD_ERR_EXPIRED);	/* lazy */
	ck_assert_uint_eq(lu_a.rod_tokens, 0);
	ck_assert_uint_eq(lu_a.refcnt, 1);	/* released at death */

	/* expired by the sweep */
	ck_assert_int_eq(mk(&lu_a, ranges2, 2, 1, tok2, NULL), 0);
	ck_assert_uint_eq(rod_registry_sweep(), 1);
	fake_ms += 1000;
	ck_assert_uint_eq(rod_registry_sweep(), 0);
	ck_assert_int_eq(use(tok2, &nx1), ROD_ERR_EXPIRED);
	/* tombstones go after ROD_TOMBSTONE_MS: then unknown */
	fake_ms += ROD_TOMBSTONE_MS;
	rod_registry_sweep();
	ck_assert_int_eq(use(tok, &nx1), ROD_ERR_UNKNOWN);
	ck_assert_int_eq(use(tok2, &nx1), ROD_ERR_UNKNOWN);
}
END_TEST

/* --- listing (REPORT ALL ROD TOKENS) --- */

struct seen {
	unsigned int	 n, stop_after;
	uint64_t	 id[8];
	struct rod_info	 info[8];
};

static bool
seen_fn(void *arg, const struct rod_info *in)
{
	struct seen *sn = arg;
	struct rod_stats st;

	rod_registry_stats(&st);	/* fn runs unlocked */
	if (sn->n < 8) {
		sn->id[sn->n] = in->id;
		sn->info[sn->n] = *in;
	}
	sn->n++;
	return sn->stop_after == 0 || sn->n < sn->stop_after;
}

static struct seen
list(const char *target, unsigned int stop_after)
{
	struct seen sn;
	int rc;

	memset(&sn, 0, sizeof(sn));
	sn.stop_after = stop_after;
	rc = rod_registry_foreach(target, seen_fn, &sn);
	ck_assert_int_eq(rc, (int)sn.n);
	return sn;
}

START_TEST(test_foreach)
{
	uint8_t ta[ROD_TOKEN_LEN], tb[ROD_TOKEN_LEN], tc[ROD_TOKEN_LEN];
	uint8_t mgmt[ROD_MGMT_TOKEN_LEN];
	struct rod_create c;
	struct seen sn;

	ck_assert_int_eq(list(NULL, 0).n, 0);
	ck_assert_int_eq(mk(&lu_a, ranges2, 2, 0, ta, NULL), 0);
	ck_assert_int_eq(mk(&lu_b, ranges2, 1, 5, tb, NULL), 0);
	memset(&c, 0, sizeof(c));
	c.lun = &lu_a;
	c.nexus = &nx2;			/* through the other target */
	c.ranges = ranges2;
	c.n_ranges = 2;
	ck_assert_int_eq(rod_registry_create(&c, tc, NULL), 0);

	/* per target, oldest first, with what REPORT ALL ROD TOKENS needs */
	sn = list(tgt1, 0);
	ck_assert_uint_eq(sn.n, 2);
	ck_assert_uint_eq(sn.id[0], get_be64(ta + ROD_OFF_ID));
	ck_assert_uint_eq(sn.id[1], get_be64(tb + ROD_OFF_ID));
	ck_assert_ptr_eq(sn.info[0].lun, &lu_a);
	ck_assert_ptr_eq(sn.info[1].lun, &lu_b);
	ck_assert_uint_eq(sn.info[0].bytes, 15 * 512);
	ck_assert_uint_eq(sn.info[1].bytes, 10 * 512);
	ck_assert_uint_eq(sn.info[0].block_size, 512);
	ck_assert_uint_eq(sn.info[0].rod_type, ROD_TYPE_PIT_DEFAULT);
	ck_assert_uint_eq(sn.info[0].timeout_s, ROD_DEFAULT_INACTIVITY_S);
	ck_assert_uint_eq(sn.info[1].timeout_s, 5);
	ck_assert_mem_eq(sn.info[1].naa, lu_b.naa, 16);
	/* the management token is the token's first 96 bytes */
	rod_info_mgmt_token(&sn.info[0], mgmt);
	ck_assert_mem_eq(mgmt, ta, ROD_MGMT_TOKEN_LEN);
	rod_info_mgmt_token(&sn.info[1], mgmt);
	ck_assert_mem_eq(mgmt, tb, ROD_MGMT_TOKEN_LEN);
	sn = list(tgt2, 0);
	ck_assert_uint_eq(sn.n, 1);
	ck_assert_uint_eq(sn.id[0], get_be64(tc + ROD_OFF_ID));
	ck_assert_uint_eq(list(NULL, 0).n, 3);
	ck_assert_uint_eq(list("iqn.2024-01.test:none", 0).n, 0);
	/* fn can stop the walk */
	ck_assert_uint_eq(list(NULL, 2).n, 2);

	/* dead tokens are not listed: revoked by a write, idle past the
	 * timeout (before any sweep or lookup noticed), deleted */
	rod_registry_write_notify(&lu_a, 105, 1);
	sn = list(NULL, 0);
	ck_assert_uint_eq(sn.n, 1);
	ck_assert_uint_eq(sn.id[0], get_be64(tb + ROD_OFF_ID));
	fake_ms += 5000;
	ck_assert_uint_eq(list(NULL, 0).n, 0);
	ck_assert_int_eq(use(tb, &nx1), ROD_ERR_EXPIRED);
	ck_assert_uint_eq(list(NULL, 0).n, 0);
}
END_TEST

START_TEST(test_lifetime)
{
	uint8_t tok[ROD_TOKEN_LEN];

	ck_assert_int_eq(mk(&lu_a, ranges2, 2, ROD_MAX_INACTIVITY_S, tok,
	    NULL), 0);
	/* keep it busy so inactivity never fires, until the hard cap */
	for (unsigned int t = 0; t + 200 < ROD_MAX_LIFETIME_S; t += 200) {
		ck_assert_int_eq(use(tok, &nx1), ROD_OK);
		fake_ms += 200000;
	}
	/* elapsed 3400 s: used, 3599 s: used (199 s idle), 3600 s: the
	 * lifetime ends although it was used a second ago */
	ck_assert_int_eq(use(tok, &nx1), ROD_OK);
	fake_ms += 199000;
	ck_assert_int_eq(use(tok, &nx1), ROD_OK);
	fake_ms += 1000;
	ck_assert_int_eq(use(tok, &nx1), ROD_ERR_EXPIRED);
}
END_TEST

START_TEST(test_delete_cancel_revoke)
{
	uint8_t t1[ROD_TOKEN_LEN], t2[ROD_TOKEN_LEN], t3[ROD_TOKEN_LEN];
	struct rod_entry *e1, *e2, *e3, *w;

	ck_assert_int_eq(mk(&lu_a, ranges2, 2, 0, t1, &e1), 0);
	ck_assert_int_eq(mk(&lu_a, ranges2, 2, 0, t2, &e2), 0);
	ck_assert_int_eq(mk(&lu_b, ranges2, 2, 0, t3, &e3), 0);
	ck_assert_uint_eq(lu_a.rod_tokens, 2);
	rod_registry_put(e1);
	rod_registry_put(e2);
	rod_registry_put(e3);

	/* WUT with DEL_TKN: lookup, copy, delete, put */
	ck_assert_int_eq(rod_registry_lookup(t1, 512, &nx1, &w), ROD_OK);
	rod_registry_delete(w);
	ck_assert_int_eq(rod_registry_check(w), ROD_ERR_DELETED);
	ck_assert_uint_eq(lu_a.refcnt, 3);	/* still used by the WUT */
	rod_registry_put(w);
	ck_assert_uint_eq(lu_a.refcnt, 2);
	ck_assert_int_eq(use(t1, &nx1), ROD_ERR_DELETED);

	ck_assert_int_eq(rod_registry_lookup(t2, 512, &nx1, &w), ROD_OK);
	rod_registry_cancel(w);
	rod_registry_revoke(w);		/* no-op on a dead entry */
	rod_registry_put(w);
	ck_assert_int_eq(use(t2, &nx1), ROD_ERR_CANCELLED);
	ck_assert_uint_eq(lu_a.rod_tokens, 0);

	rod_registry_revoke_lun(&lu_b);
	ck_assert_int_eq(use(t3, &nx1), ROD_ERR_REVOKED);
	ck_assert_uint_eq(lu_b.refcnt, 1);
}
END_TEST

/* --- invalidation by writes --- */

START_TEST(test_write_notify)
{
	uint8_t tok[ROD_TOKEN_LEN], tb[ROD_TOKEN_LEN];
	struct rod_entry *e;

	ck_assert_int_eq(mk(&lu_a, ranges2, 2, 0, tok, NULL), 0);
	ck_assert_int_eq(mk(&lu_b, ranges2, 2, 0, tb, NULL), 0);
	/* around the ranges [100,110) and [200,205): nothing */
	rod_registry_write_notify(&lu_a, 0, 100);
	rod_registry_write_notify(&lu_a, 110, 90);
	rod_registry_write_notify(&lu_a, 205, 1000);
	rod_registry_write_notify(&lu_a, 150, 0);
	ck_assert_int_eq(use(tok, &nx1), ROD_OK);
	/* the same blocks of another LU: nothing */
	rod_registry_write_notify(&lu_b, 300, 10);
	ck_assert_int_eq(use(tok, &nx1), ROD_OK);
	/* one block overlapping the second range */
	rod_registry_write_notify(&lu_a, 204, 1);
	ck_assert_int_eq(use(tok, &nx1), ROD_ERR_REVOKED);
	ck_assert_int_eq(use(tb, &nx1), ROD_OK);
	ck_assert_uint_eq(lu_a.rod_tokens, 0);
	/* whole LU (UINT64_MAX) and an overflowing end */
	rod_registry_write_notify(&lu_b, UINT64_MAX - 1, 10);
	ck_assert_int_eq(use(tb, &nx1), ROD_OK);
	rod_registry_write_notify(&lu_b, 0, UINT64_MAX);
	ck_assert_int_eq(use(tb, &nx1), ROD_ERR_REVOKED);

	/* revoked while a WUT uses it: the WUT sees it at the end */
	ck_assert_int_eq(mk(&lu_a, ranges2, 2, 0, tok, NULL), 0);
	ck_assert_int_eq(rod_registry_lookup(tok, 512, &nx1, &e), ROD_OK);
	rod_registry_write_notify(&lu_a, 99, 2);
	ck_assert_int_eq(rod_registry_check(e), ROD_ERR_REVOKED);
	ck_assert_ptr_eq(rod_entry_lun(e), &lu_a);	/* still valid */
	rod_registry_put(e);
}
END_TEST

static int snap_destroyed;

static void
snap_destroy(void *p)
{
	ck_assert_ptr_eq(p, &snap_destroyed);
	snap_destroyed++;
}

START_TEST(test_snapshot)
{
	uint8_t tok[ROD_TOKEN_LEN], tv[ROD_TOKEN_LEN];
	struct rod_create c;
	struct rod_entry *e;

	snap_destroyed = 0;
	memset(&c, 0, sizeof(c));
	c.lun = &lu_a;
	c.nexus = &nx1;
	c.ranges = ranges2;
	c.n_ranges = 2;
	c.snap = &snap_destroyed;
	c.snap_destroy = snap_destroy;
	ck_assert_int_eq(rod_registry_create(&c, tok, &e), 0);
	ck_assert_ptr_eq(rod_entry_snapshot(e), &snap_destroyed);
	ck_assert_int_eq(rod_registry_attach_snapshot(e, &c, NULL), -EBUSY);
	rod_registry_put(e);
	/* a write does not revoke a point-in-time token with a snapshot */
	rod_registry_write_notify(&lu_a, 100, 1000);
	ck_assert_int_eq(use(tok, &nx1), ROD_OK);
	ck_assert_int_eq(snap_destroyed, 0);

	/* ... unless it is change vulnerable */
	c.rod_type = ROD_TYPE_PIT_VULN;
	ck_assert_int_eq(rod_registry_create(&c, tv, NULL), 0);
	ck_assert_uint_eq(get_be32(tv), ROD_TYPE_PIT_VULN);
	rod_registry_write_notify(&lu_a, 100, 1);
	ck_assert_int_eq(use(tv, &nx1), ROD_ERR_REVOKED);
	ck_assert_int_eq(snap_destroyed, 1);	/* released at death */
	ck_assert_int_eq(use(tok, &nx1), ROD_OK);

	/* copy on write needs a snapshot; a failed create frees it */
	c.rod_type = ROD_TYPE_PIT_COW;
	ck_assert_int_eq(rod_registry_create(&c, tv, NULL), 0);
	c.snap = NULL;
	ck_assert_int_eq(rod_registry_create(&c, tv, NULL), -EOPNOTSUPP);
	c.snap = &snap_destroyed;
	c.rod_type = ROD_TYPE_AUR;
	ck_assert_int_eq(rod_registry_create(&c, tv, NULL), -EOPNOTSUPP);
	ck_assert_int_eq(snap_destroyed, 2);
	/* attach after creation; refused on a dead entry */
	c.snap = NULL;
	c.rod_type = 0;
	ck_assert_int_eq(rod_registry_create(&c, tv, &e), 0);
	ck_assert_int_eq(rod_registry_attach_snapshot(e, &snap_destroyed,
	    snap_destroy), 0);
	rod_registry_cancel(e);
	ck_assert_int_eq(rod_registry_attach_snapshot(e, &snap_destroyed,
	    snap_destroy), -ESTALE);
	ck_assert_int_eq(snap_destroyed, 2);	/* the WUT still holds it */
	rod_registry_put(e);
	ck_assert_int_eq(snap_destroyed, 3);
	rod_registry_fini();
	ck_assert_int_eq(snap_destroyed, 5);	/* tok and the COW one */
}
END_TEST

/* --- creation checks, bound --- */

START_TEST(test_create_checks)
{
	uint8_t tok[ROD_TOKEN_LEN];
	struct rod_range r[ROD_MAX_RANGES + 1];
	struct rod_create c;

	memset(r, 0, sizeof(r));
	for (unsigned int i = 0; i <= ROD_MAX_RANGES; i++) {
		r[i].lba = i * 10;
		r[i].nblocks = 1;
	}
	ck_assert_int_eq(mk(&lu_a, r, ROD_MAX_RANGES, 0, tok, NULL), 0);
	ck_assert_int_eq(mk(&lu_a, r, ROD_MAX_RANGES + 1, 0, tok, NULL),
	    -EINVAL);
	ck_assert_int_eq(mk(&lu_a, r, 0, 0, tok, NULL), -EINVAL);
	ck_assert_int_eq(mk(&lu_a, r, 1, ROD_MAX_INACTIVITY_S + 1, tok, NULL),
	    -EINVAL);
	ck_assert_int_eq(mk(&lu_a, r, 1, ROD_MAX_INACTIVITY_S, tok, NULL), 0);
	r[0].lba = lu_a.nblocks - 1;
	r[0].nblocks = 2;
	ck_assert_int_eq(mk(&lu_a, r, 1, 0, tok, NULL), -EINVAL);
	r[0].lba = UINT64_MAX;
	ck_assert_int_eq(mk(&lu_a, r, 1, 0, tok, NULL), -EINVAL);
	r[0].lba = 0;
	r[0].nblocks = 0;
	ck_assert_int_eq(mk(&lu_a, r, 1, 0, tok, NULL), -EINVAL);
	/* zero-length ranges are kept when the total is not zero */
	ck_assert_int_eq(mk(&lu_a, r, 2, 0, tok, NULL), 0);
	ck_assert_int_eq(mk(NULL, r, 2, 0, tok, NULL), -EINVAL);

	memset(&c, 0, sizeof(c));
	c.lun = &lu_a;
	c.ranges = ranges2;
	c.n_ranges = 1;
	c.rod_type = ROD_TYPE_PIT_ANY;
	ck_assert_int_eq(rod_registry_create(&c, tok, NULL), 0);
	ck_assert_uint_eq(get_be32(tok), ROD_TYPE_PIT_DEFAULT);
	c.rod_type = ROD_TYPE_PIT_PERSIST;
	ck_assert_int_eq(rod_registry_create(&c, tok, NULL), -EOPNOTSUPP);
	ck_assert(rod_type_supported(ROD_TYPE_PIT_DEFAULT, false));
	ck_assert(rod_type_supported(ROD_TYPE_PIT_VULN, false));
	ck_assert(!rod_type_supported(ROD_TYPE_PIT_COW, false));
	ck_assert(rod_type_supported(ROD_TYPE_PIT_COW, true));
	ck_assert(!rod_type_supported(ROD_TYPE_BLOCK_ZERO, true));
	ck_assert(!rod_type_supported(ROD_TYPE_AUR, true));
}
END_TEST

START_TEST(test_bound)
{
	static uint8_t toks[ROD_MAX_TOKENS][ROD_TOKEN_LEN];
	uint8_t tok[ROD_TOKEN_LEN];
	struct rod_range r = { .lba = 7, .nblocks = 1 };
	struct rod_stats st;

	for (unsigned int i = 0; i < ROD_MAX_TOKENS; i++)
		ck_assert_int_eq(mk(&lu_a, &r, 1, 5, toks[i], NULL), 0);
	ck_assert_uint_eq(lu_a.rod_tokens, ROD_MAX_TOKENS);
	ck_assert_uint_eq(lu_a.refcnt, 1 + ROD_MAX_TOKENS);
	ck_assert_int_eq(mk(&lu_b, &r, 1, 5, tok, NULL), -ENOSPC);
	ck_assert_uint_eq(lu_b.refcnt, 1);
	/* all distinct and usable */
	for (unsigned int i = 0; i < ROD_MAX_TOKENS; i += 97)
		ck_assert_int_eq(use(toks[i], &nx1), ROD_OK);
	/* idle ones make room at the next create */
	fake_ms += 5000;
	ck_assert_int_eq(mk(&lu_b, &r, 1, 5, tok, NULL), 0);
	rod_registry_stats(&st);
	ck_assert_uint_le(st.valid, ROD_MAX_TOKENS);
	ck_assert_uint_le(st.tombstones, ROD_MAX_TOKENS);
	/* one write revokes them all in batches */
	rod_registry_write_notify(&lu_a, 7, 1);
	ck_assert_uint_eq(lu_a.rod_tokens, 0);
	ck_assert_uint_eq(rod_registry_sweep(), 1);
	ck_assert_int_eq(use(tok, &nx1), ROD_OK);
}
END_TEST

/* --- map --- */

START_TEST(test_map)
{
	static const struct rod_range r[] = {
		{ .lba = 10, .nblocks = 4 }, { .lba = 14, .nblocks = 2 },
		{ .lba = 0, .nblocks = 0 }, { .lba = 100, .nblocks = 8 },
	};
	uint8_t tok[ROD_TOKEN_LEN];
	struct rod_extent x[4];
	struct rod_entry *e;
	unsigned int n;
	uint64_t mapped;

	ck_assert_int_eq(mk(&lu_a, r, 4, 0, tok, &e), 0);
	ck_assert_uint_eq(rod_entry_bytes(e), 14 * 512);
	/* all of it: 10..16 merged, then 100..108 */
	ck_assert_int_eq(rod_entry_map(e, 0, UINT64_MAX, x, 4, &n, &mapped),
	    ROD_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(mapped, 14 * 512);
	ck_assert_uint_eq(x[0].src_off, 10 * 512);
	ck_assert_uint_eq(x[0].len, 6 * 512);
	ck_assert_uint_eq(x[1].src_off, 100 * 512);
	ck_assert_uint_eq(x[1].len, 8 * 512);
	/* from block 5 of the ROD, 3 blocks: 15, then 100..102 */
	ck_assert_int_eq(rod_entry_map(e, 5 * 512, 3 * 512, x, 4, &n,
	    &mapped), ROD_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(x[0].src_off, 15 * 512);
	ck_assert_uint_eq(x[0].len, 512);
	ck_assert_uint_eq(x[1].src_off, 100 * 512);
	ck_assert_uint_eq(x[1].len, 2 * 512);
	ck_assert_uint_eq(mapped, 3 * 512);
	/* room for one extent only */
	ck_assert_int_eq(rod_entry_map(e, 0, UINT64_MAX, x, 1, &n, &mapped),
	    ROD_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(mapped, 6 * 512);
	/* last byte, and past the end */
	ck_assert_int_eq(rod_entry_map(e, 14 * 512 - 1, 10, x, 4, &n,
	    &mapped), ROD_OK);
	ck_assert_uint_eq(mapped, 1);
	ck_assert_uint_eq(x[0].src_off, 108 * 512 - 1);
	ck_assert_int_eq(rod_entry_map(e, 14 * 512, 1, x, 4, &n, &mapped),
	    ROD_ERR_OFFSET);
	rod_registry_put(e);
}
END_TEST

/* --- errors --- */

START_TEST(test_err_sense)
{
	static const struct {
		enum rod_err err;
		uint8_t asc, ascq;
	} t[] = {
		{ ROD_ERR_NOT_REPORTABLE, 0x23, 0x00 },
		{ ROD_ERR_UNSUPPORTED_TYPE, 0x23, 0x01 },
		{ ROD_ERR_REMOTE, 0x23, 0x02 },
		{ ROD_ERR_UNKNOWN, 0x23, 0x04 },
		{ ROD_ERR_CORRUPT, 0x23, 0x05 },
		{ ROD_ERR_REVOKED, 0x23, 0x06 },
		{ ROD_ERR_EXPIRED, 0x23, 0x07 },
		{ ROD_ERR_CANCELLED, 0x23, 0x08 },
		{ ROD_ERR_DELETED, 0x23, 0x09 },
		{ ROD_ERR_LENGTH, 0x23, 0x0a },
		{ ROD_ERR_OFFSET, 0x26, 0x00 },
		{ ROD_ERR_RANGE, 0x0d, 0x04 },
		{ ROD_ERR_NO_ROD, 0x55, 0x0c },
		{ ROD_ERR_NO_TOKEN, 0x55, 0x0d },
	};
	uint8_t key, asc, ascq;

	for (unsigned int i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert(rod_err_sense(t[i].err, &key, &asc, &ascq));
		ck_assert_uint_eq(key, 0x05);
		ck_assert_uint_eq(asc, t[i].asc);
		ck_assert_uint_eq(ascq, t[i].ascq);
		ck_assert_str_ne(rod_err_name(t[i].err), "?");
	}
	ck_assert(!rod_err_sense(ROD_OK, &key, &asc, &ascq));
	ck_assert(!rod_err_sense(ROD_ZERO, &key, &asc, &ascq));
	ck_assert(!rod_err_sense(ROD_ERR_MAX, &key, &asc, &ascq));
}
END_TEST

/* --- key --- */

START_TEST(test_rotate)
{
	uint8_t tok[ROD_TOKEN_LEN], tok2[ROD_TOKEN_LEN];
	uint32_t id1;

	ck_assert_int_eq(mk(&lu_a, ranges2, 2, 0, tok, NULL), 0);
	id1 = rod_key_id();
	ck_assert_int_eq(rod_key_state(id1), 1);
	ck_assert_int_eq(rod_key_rotate(), 0);
	ck_assert(rod_key_id() != id1);
	ck_assert_int_eq(rod_key_state(id1), 0);
	ck_assert_int_eq(rod_key_state(id1 ^ 0x5a5a), -1);
	/* the old key's token: revoked, and its entry with it */
	ck_assert_int_eq(use(tok, &nx1), ROD_ERR_REVOKED);
	ck_assert_uint_eq(lu_a.rod_tokens, 0);
	ck_assert_int_eq(mk(&lu_a, ranges2, 2, 0, tok2, NULL), 0);
	ck_assert_uint_eq(get_be32(tok2 + ROD_OFF_KEY_ID), rod_key_id());
	ck_assert_int_eq(use(tok2, &nx1), ROD_OK);
	/* a fresh process (in-memory key): the old tokens are forgeries */
	rod_registry_fini();
	rod_key_fini();
	ck_assert_int_eq(rod_key_init(""), 0);
	ck_assert_int_eq(use(tok, &nx1), ROD_ERR_CORRUPT);
	ck_assert_int_eq(use(tok2, &nx1), ROD_ERR_CORRUPT);
}
END_TEST

static char *
mkdir_tmp(void)
{
	char *d = strdup("/tmp/check_rod_XXXXXX");

	ck_assert_ptr_nonnull(mkdtemp(d));
	return d;
}

static void
rm_dir(const char *d)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	ck_assert_int_eq(system(cmd), 0);
}

static void
read_key(const char *path, uint8_t *k)
{
	FILE *f = fopen(path, "rb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fread(k, 1, ROD_KEY_LEN, f), ROD_KEY_LEN);
	fclose(f);
}

START_TEST(test_key_file)
{
	uint8_t tok[ROD_TOKEN_LEN], k1[ROD_KEY_LEN], k2[ROD_KEY_LEN];
	char *dir = mkdir_tmp(), path[256];
	struct stat st;
	uint32_t id1;

	snprintf(path, sizeof(path), "%s/rod.key", dir);
	rod_key_fini();
	/* first start: created 0600, 32 bytes */
	ck_assert_int_eq(rod_key_init(dir), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(st.st_size, ROD_KEY_LEN);
	id1 = rod_key_id();
	read_key(path, k1);
	ck_assert_int_eq(mk(&lu_a, ranges2, 2, 0, tok, NULL), 0);
	ck_assert_int_eq(use(tok, &nx1), ROD_OK);

	/* second start: same key, empty registry -> unknown */
	rod_registry_fini();
	rod_key_fini();
	ck_assert_int_eq(rod_key_init(dir), 0);
	ck_assert_uint_eq(rod_key_id(), id1);
	ck_assert_int_eq(use(tok, &nx1), ROD_ERR_UNKNOWN);

	/* rotation replaces the file, still 0600, no temp file left */
	ck_assert_int_eq(rod_key_rotate(), 0);
	ck_assert(rod_key_id() != id1);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	read_key(path, k2);
	ck_assert(memcmp(k1, k2, ROD_KEY_LEN) != 0);
	{
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) = 1",
		    dir);
		ck_assert_int_eq(system(cmd), 0);
	}
	/* a third start loads the rotated key */
	id1 = rod_key_id();
	rod_key_fini();
	ck_assert_int_eq(rod_key_init(dir), 0);
	ck_assert_uint_eq(rod_key_id(), id1);

	/* too-open permissions are fixed, a wrong size is refused */
	ck_assert_int_eq(chmod(path, 0644), 0);
	rod_key_fini();
	ck_assert_int_eq(rod_key_init(dir), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(truncate(path, 31), 0);
	rod_key_fini();
	ck_assert_int_eq(rod_key_init(dir), -EINVAL);
	ck_assert_int_eq(mk(&lu_a, ranges2, 2, 0, tok, NULL), -EIO);
	/* a missing directory is an error, not a silent memory key */
	ck_assert_int_lt(rod_key_init("/nonexistent/rod"), 0);
	rm_dir(dir);
	free(dir);
}
END_TEST

/* --- no rod_key_init() at all (runs first: a fresh process) --- */

START_TEST(test_lazy_key)
{
	uint8_t tok[ROD_TOKEN_LEN];

	rod_registry_set_clock(NULL);
	lu_init(&lu_a, "lu_a", 0x11);
	memset(&nx1, 0, sizeof(nx1));
	nx1.target = tgt1;
	ck_assert_uint_eq(rod_key_id(), 0);
	ck_assert_int_eq(mk(&lu_a, ranges2, 2, 0, tok, NULL), 0);
	ck_assert(rod_key_id() != 0);
	ck_assert_uint_eq(get_be32(tok + ROD_OFF_KEY_ID), rod_key_id());
	ck_assert_int_eq(use(tok, &nx1), ROD_OK);
	rod_registry_fini();
	rod_key_fini();
	ck_assert_uint_eq(lu_a.refcnt, 1);
}
END_TEST

/* --- threads --- */

static void *
worker(void *arg)
{
	uint8_t tok[ROD_TOKEN_LEN];
	struct rod_range r;
	uintptr_t k = (uintptr_t)arg;

	for (unsigned int i = 0; i < 2000; i++) {
		r.lba = (k * 7919 + i * 13) % 4096;
		r.nblocks = 8;
		if (mk(k & 1 ? &lu_a : &lu_b, &r, 1, 1, tok, NULL) == 0) {
			(void)use(tok, &nx1);
			rod_registry_write_notify(&lu_a, r.lba, 4);
		}
		fake_ms += 10;
		if (i % 100 == 0)
			rod_registry_sweep();
	}
	return NULL;
}

START_TEST(test_threads)
{
	pthread_t th[4];

	for (uintptr_t i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, worker,
		    (void *)i), 0);
	for (unsigned int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
}
END_TEST

static Suite *
rod_suite(void)
{
	Suite *s = suite_create("rod_token");
	TCase *tl = tcase_create("lazy");
	TCase *tc = tcase_create("core");

	tcase_add_test(tl, test_lazy_key);
	suite_add_tcase(s, tl);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_layout);
	tcase_add_test(tc, test_dev_specific_and_ids);
	tcase_add_test(tc, test_flip_every_byte);
	tcase_add_test(tc, test_verify_order);
	tcase_add_test(tc, test_signed_unregistered);
	tcase_add_test(tc, test_expiry);
	tcase_add_test(tc, test_foreach);
	tcase_add_test(tc, test_lifetime);
	tcase_add_test(tc, test_delete_cancel_revoke);
	tcase_add_test(tc, test_write_notify);
	tcase_add_test(tc, test_snapshot);
	tcase_add_test(tc, test_create_checks);
	tcase_add_test(tc, test_bound);
	tcase_add_test(tc, test_map);
	tcase_add_test(tc, test_err_sense);
	tcase_add_test(tc, test_rotate);
	tcase_add_test(tc, test_key_file);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(rod_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
