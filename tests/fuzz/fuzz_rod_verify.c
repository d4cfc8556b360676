/*
 * fuzz_rod_verify.c - ROD token verification (rod_registry_lookup()) and
 * what a successful lookup hands out (rod_entry_map()).
 *
 * Each input starts from the same state: an empty registry on a fixed
 * clock with three registered tokens over one LU (the key is random per
 * process, so nothing depends on its value).  Byte 0 picks a mode:
 *
 *   0  the rest is a token, verified as is.  Property: never accepted --
 *      without the key nobody can make a token we take (forgery).
 *   1  the rest is a token that the harness signs with the current key
 *      first, so the fuzzer reaches the layout, lifetime, registry and
 *      consistency checks behind the MAC.
 *   2  byte 1 picks a registered token, byte 2 bits 1-3 give a number
 *      of (u16 position, u8 xor) patches that follow, bit 0 re-signs
 *      it.  Property: any patch of an unsigned token is rejected.
 *   3  POPULATE TOKEN inputs (ranges, timeout, ROD type) to
 *      rod_registry_create(), then the result is used.
 *
 * On ROD_OK: the entry maps (offset, length) from the input, and the
 * extents stay inside the LU and add up to what it reports.  Every error
 * has sense bytes.
 */
#include "fuzz.h"
#include "lun.h"
#include "rod_token/rod_token.h"
#include "util.h"

#define FZ_NBLOCKS	(1u << 16)
#define FZ_BS		512u

static struct lun fz_lun;
static char fz_target[] = "iqn.2024-01.fuzz:t", fz_other[] = "iqn.x:y";
static char fz_ini[] = "iqn.2024-01.fuzz:i";
static struct scsi_nexus fz_nx, fz_nx2;
static uint8_t fz_tok[3][ROD_TOKEN_LEN];

static uint64_t
fz_clock(void)
{
	return 1700000000000ULL;
}

static void
fz_once(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	rod_registry_set_clock(fz_clock);
	if (rod_key_init(NULL) != 0)
		abort();
	fz_lun.name = (char *)"fuzz";
	fz_lun.block_size = FZ_BS;
	fz_lun.nblocks = FZ_NBLOCKS;
	fz_lun.refcnt = 1;
	fz_lun.naa[0] = 0x60;
	fz_nx.initiator_name = fz_ini;
	fz_nx.target = fz_target;
	fz_nx2 = fz_nx;
	fz_nx2.target = fz_other;
}

static void
fz_reset(void)
{
	static const struct rod_range r[3][2] = {
		{ { 0, 8 }, { 100, 16 } },
		{ { FZ_NBLOCKS - 1, 1 }, { 0, 0 } },
		{ { 1000, 4096 }, { 0, 4096 } },
	};
	struct rod_create c;

	rod_registry_fini();
	for (unsigned int i = 0; i < 3; i++) {
		memset(&c, 0, sizeof(c));
		c.lun = &fz_lun;
		c.nexus = &fz_nx;
		c.ranges = r[i];
		c.n_ranges = 2;
		c.timeout_s = (uint32_t)(i + 1);
		if (rod_registry_create(&c, fz_tok[i], NULL) != 0)
			abort();
	}
}

static uint64_t
fz_u64(struct fuzz_in *in)
{
	uint64_t hi = fuzz_u32(in);

	return hi << 32 | fuzz_u32(in);
}

static void
fz_use(const uint8_t *tok, size_t len, struct fuzz_in *in, bool forged)
{
	const struct scsi_nexus *nx = fuzz_u8(in) & 1 ? &fz_nx2 : &fz_nx;
	struct rod_extent x[8];
	struct rod_entry *e = NULL;
	uint64_t off, want, mapped, sum = 0;
	uint8_t key, asc, ascq;
	unsigned int n;
	enum rod_err err;

	err = rod_registry_lookup(tok, len, nx, &e);
	FUZZ_CHECK((unsigned int)err < ROD_ERR_MAX);
	if (err != ROD_OK) {
		FUZZ_CHECK(e == NULL);
		if (err != ROD_ZERO)
			FUZZ_CHECK(rod_err_sense(err, &key, &asc, &ascq));
		return;
	}
	FUZZ_CHECK(!forged);
	FUZZ_CHECK(e != NULL && rod_entry_lun(e) == &fz_lun);
	FUZZ_CHECK(rod_entry_bytes(e) != 0);
	off = fz_u64(in) % (rod_entry_bytes(e) + 2);
	want = fz_u64(in);
	err = rod_entry_map(e, off, want, x, 1 + fuzz_u8(in) % 8, &n,
	    &mapped);
	if (off >= rod_entry_bytes(e)) {
		FUZZ_CHECK(err == ROD_ERR_OFFSET && n == 0);
	} else {
		FUZZ_CHECK(err == ROD_OK && n <= 8);
		for (unsigned int i = 0; i < n; i++) {
			FUZZ_CHECK(x[i].len != 0);
			FUZZ_CHECK(x[i].src_off + x[i].len >= x[i].src_off);
			FUZZ_CHECK(x[i].src_off + x[i].len <=
			    (uint64_t)FZ_NBLOCKS * FZ_BS);
			sum += x[i].len;
		}
		FUZZ_CHECK(sum == mapped && mapped <= want &&
		    mapped <= rod_entry_bytes(e) - off);
	}
	if (fuzz_u8(in) & 1)
		rod_registry_delete(e);
	rod_registry_put(e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t tok[ROD_TOKEN_LEN];
	struct rod_range r[ROD_MAX_RANGES + 2];
	struct rod_create c;
	struct fuzz_in in;
	const uint8_t *p;
	size_t got;
	unsigned int mode, k, n;

	fz_once();
	fz_reset();
	fuzz_in_init(&in, data, size);
	mode = fuzz_u8(&in) % 4;
	switch (mode) {
	case 0:
		fz_use(in.p, in.left, &in, true);
		break;
	case 1:
		memset(tok, 0, sizeof(tok));
		p = fuzz_bytes(&in, sizeof(tok), &got);
		memcpy(tok, p, got);
		(void)rod_token_sign(tok);
		fz_use(tok, sizeof(tok), &in, false);
		break;
	case 2:
		k = fuzz_u8(&in) % 3;
		memcpy(tok, fz_tok[k], sizeof(tok));
		n = fuzz_u8(&in);
		for (unsigned int i = 0; i < ((n >> 1) & 7); i++) {
			uint16_t pos = fuzz_u16(&in) % ROD_TOKEN_LEN;

			tok[pos] ^= fuzz_u8(&in);
		}
		if (n & 1)
			(void)rod_token_sign(tok);
		fz_use(tok, sizeof(tok), &in,
		    !(n & 1) && memcmp(tok, fz_tok[k], sizeof(tok)) != 0);
		break;
	default:
		memset(&c, 0, sizeof(c));
		c.lun = &fz_lun;
		c.nexus = &fz_nx;
		c.n_ranges = fuzz_u8(&in) % (ROD_MAX_RANGES + 2);
		for (unsigned int i = 0; i < c.n_ranges; i++) {
			r[i].lba = fz_u64(&in);
			r[i].nblocks = fuzz_u32(&in);
		}
		c.ranges = r;
		c.timeout_s = fuzz_u32(&in);
		c.rod_type = fuzz_u32(&in);
		if (rod_registry_create(&c, tok, NULL) == 0)
			fz_use(tok, sizeof(tok), &in, false);
		break;
	}
	FUZZ_CHECK(fz_lun.refcnt >= 1);
	return 0;
}
