/*
 * check_odx_sweep.c - the ROD token expiry sweep (odx_cmd.c): a timer on
 * loop 0, started by odx_sweep_ensure() after a token is issued, expires
 * idle tokens and so releases their LU references without any lookup,
 * keeps running while tombstones remain, then stops until the next token.
 *
 * The registry runs on a fake clock (rod_registry_set_clock); the timer
 * itself is real (20 ms), so each step waits a few ticks on loop 0.
 */
#include <check.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "loop.h"
#include "lun.h"
#include "rod_token/rod_token.h"
#include "util.h"
#include "xcopy/odx.h"

#define TICK_MS		20
#define STEP_MS		150	/* several ticks */

static _Atomic uint64_t fake_ms;
static struct lun lu;
static struct scsi_nexus nx;
static char tgt[] = "iqn.2024-01.test:t", ini[] = "iqn.2024-01.test:i";
static struct loop_timer *step_timer;
static int step;
static uint8_t tok[ROD_TOKEN_LEN];

static uint64_t
fake_clock(void)
{
	return fake_ms;
}

static void
lu_init(void)
{
	memset(&lu, 0, sizeof(lu));
	lu.name = (char *)"lu";
	lu.block_size = 512;
	lu.nblocks = 1 << 20;
	lu.refcnt = 1;		/* ours, never dropped */
	for (int i = 0; i < 16; i++)
		lu.naa[i] = (uint8_t)(0x60 + i);
	memset(&nx, 0, sizeof(nx));
	nx.initiator_name = ini;
	nx.target = tgt;
}

/* One token, 1 s inactivity timeout, and the sweep asked for. */
static void
issue(void)
{
	static const struct rod_range r = { .lba = 8, .nblocks = 8 };
	struct rod_create c;

	memset(&c, 0, sizeof(c));
	c.lun = &lu;
	c.nexus = &nx;
	c.ranges = &r;
	c.n_ranges = 1;
	c.timeout_s = 1;
	ck_assert_int_eq(rod_registry_create(&c, tok, NULL), 0);
	odx_sweep_ensure();
	ck_assert(odx_sweep_running());
}

static void
stats(unsigned int *valid, unsigned int *tombs, uint64_t *expired)
{
	struct rod_stats st;

	rod_registry_stats(&st);
	*valid = st.valid;
	*tombs = st.tombstones;
	*expired = st.expired;
}

static void
steps(void *arg)
{
	unsigned int valid, tombs;
	uint64_t expired;

	(void)arg;
	stats(&valid, &tombs, &expired);
	switch (step++) {
	case 0:
		issue();
		break;
	case 1:
		/* the timer ran a few times: nothing idle yet */
		ck_assert_uint_eq(valid, 1);
		ck_assert_uint_eq(lu.refcnt, 2);
		ck_assert_uint_eq(lu.rod_tokens, 1);
		fake_ms += 1000;		/* now idle */
		break;
	case 2:
		/* expired by the sweep alone: LU reference back */
		ck_assert_uint_eq(valid, 0);
		ck_assert_uint_eq(expired, 1);
		ck_assert_uint_eq(tombs, 1);
		ck_assert_uint_eq(lu.refcnt, 1);
		ck_assert_uint_eq(lu.rod_tokens, 0);
		/* the tombstone keeps it going (precise 23/07 on use) */
		ck_assert(odx_sweep_running());
		fake_ms += ROD_TOMBSTONE_MS;
		break;
	case 3:
		/* nothing left: the timer stopped */
		ck_assert_uint_eq(tombs, 0);
		ck_assert(!odx_sweep_running());
		/* the next token starts it again */
		issue();
		fake_ms += 1000;
		break;
	case 4:
		ck_assert_uint_eq(valid, 0);
		ck_assert_uint_eq(expired, 2);
		ck_assert_uint_eq(lu.refcnt, 1);
		fake_ms += ROD_TOMBSTONE_MS;
		break;
	default:
		ck_assert(!odx_sweep_running());
		loop_timer_destroy(step_timer);
		step_timer = NULL;
		loops_stop();
		return;
	}
	loop_timer_arm(step_timer, STEP_MS);
}

static void
start(void *arg)
{
	(void)arg;
	step_timer = loop_timer_create(loop_get(0), steps, NULL);
	ck_assert_ptr_nonnull(step_timer);
	steps(NULL);
}

START_TEST(test_sweep_timer)
{
	fake_ms = 1700000000000ULL;
	rod_registry_set_clock(fake_clock);
	ck_assert_int_eq(rod_key_init(NULL), 0);
	lu_init();
	odx_set_sweep_interval(TICK_MS);
	ck_assert(!odx_sweep_running());
	ck_assert_int_eq(loops_init(1), 0);
	ck_assert_int_eq(loop_post(loop_get(0), start, NULL), 0);
	ck_assert_int_eq(loops_run(), 0);
	ck_assert_int_eq(step, 6);
	loops_fini();
	rod_registry_fini();
	rod_key_fini();
	rod_registry_set_clock(NULL);
	odx_set_sweep_interval(0);
	ck_assert_uint_eq(lu.refcnt, 1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("odx_sweep");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int nf;

	log_init(false, LOG_LVL_WARN);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_sweep_timer);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
