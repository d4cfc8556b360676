/*
 * check_pr.c - unit tests for reservations: the pure state machine (every
 * PR OUT service action and type, generation counter, unit attentions,
 * conflict rules per type for read/write/other commands, SPC-2 with the
 * SPC-4 exceptions, PR IN data), the APTPL store (round trip, torn temp
 * file, corrupt file), and the engine path: PR OUT/IN and RESERVE through
 * dispatch with the gate and unit attentions queued to registered
 * nexuses.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backstore.h"
#include "conf.h"
#include "loop.h"
#include "lun.h"
#include "pr.h"
#include "scsi.h"
#include "scsi_int.h"
#include "target.h"
#include "util.h"

#define TGT	"iqn.2026-11.org.tpcd:tgt"

static const struct pr_it it_a = {
	.i_port = "iqn.2026-11.org.tpcd:a,i,0x800000000001",
	.target = TGT, .tpg_tag = 1, .rel_port_id = 1, .nexus_id = 1,
};
static const struct pr_it it_b = {
	.i_port = "iqn.2026-11.org.tpcd:b,i,0x800000000002",
	.target = TGT, .tpg_tag = 1, .rel_port_id = 1, .nexus_id = 2,
};
static const struct pr_it it_c = {	/* never registers */
	.i_port = "iqn.2026-11.org.tpcd:c,i,0x800000000003",
	.target = TGT, .tpg_tag = 1, .rel_port_id = 1, .nexus_id = 3,
};

static const uint8_t cdb_read[16] = { 0x28 };
static const uint8_t cdb_write[16] = { 0x2a };
static const uint8_t cdb_mode_select[16] = { 0x15 };
static const uint8_t cdb_mode_sense[16] = { 0x1a };
static const uint8_t cdb_tur[16] = { 0x00 };
static const uint8_t cdb_inquiry[16] = { 0x12 };
static const uint8_t cdb_xcopy[16] = { 0x83, 0x00 };
static const uint8_t cdb_wut[16] = { 0x83, 0x11 };
static const uint8_t cdb_populate[16] = { 0x83, 0x10 };

static enum sense_reason
out(struct pr_state *st, const struct pr_it *it, uint8_t sa, uint8_t type,
    uint64_t rk, uint64_t sark, struct pr_evs *evs)
{
	struct pr_out o = { .sa = sa, .type = type, .rk = rk, .sark = sark };
	struct sense_detail sd;

	memset(&sd, 0, sizeof(sd));
	return pr_out_apply(st, it, &o, evs, &sd);
}

static bool
conflict(const struct pr_state *st, const struct pr_it *it,
    const uint8_t *cdb)
{
	return pr_conflict(st, it, pr_cmd_class(cdb), cdb);
}

/* --- registration --- */

START_TEST(test_register)
{
	struct pr_state st;

	pr_state_init(&st);
	/* unregistered REGISTER with a nonzero RK conflicts */
	ck_assert_int_eq(out(&st, &it_a, PR_OUT_REGISTER, 0, 5, 1, NULL),
	    SENSE_RESERVATION_CONFLICT);
	/* SARK 0 from an unregistered nexus: GOOD, nothing changes */
	ck_assert_int_eq(out(&st, &it_a, PR_OUT_REGISTER, 0, 0, 0, NULL),
	    SENSE_OK);
	ck_assert_uint_eq(st.generation, 0);
	ck_assert_int_eq(out(&st, &it_a, PR_OUT_REGISTER, 0, 0, 0x11, NULL),
	    SENSE_OK);
	ck_assert_uint_eq(st.n_regs, 1);
	ck_assert_uint_eq(st.generation, 1);
	/* re-register with the wrong key conflicts */
	ck_assert_int_eq(out(&st, &it_a, PR_OUT_REGISTER, 0, 0x12, 0x13,
	    NULL), SENSE_RESERVATION_CONFLICT);
	ck_assert_uint_eq(st.generation, 1);
	/* change key */
	ck_assert_int_eq(out(&st, &it_a, PR_OUT_REGISTER, 0, 0x11, 0x22,
	    NULL), SENSE_OK);
	ck_assert(st.regs[0].key == 0x22);
	ck_assert_uint_eq(st.generation, 2);
	/* REGISTER AND IGNORE EXISTING KEY ignores RK */
	ck_assert_int_eq(out(&st, &it_a, PR_OUT_REGISTER_IGNORE, 0, 0x99,
	    0x33, NULL), SENSE_OK);
	ck_assert(st.regs[0].key == 0x33);
	ck_assert_int_eq(out(&st, &it_b, PR_OUT_REGISTER_IGNORE, 0, 0, 0x44,
	    NULL), SENSE_OK);
	ck_assert_uint_eq(st.n_regs, 2);
	ck_assert_int_eq(pr_find_reg(&st, &it_b), 1);
	ck_assert_int_eq(pr_find_reg(&st, &it_c), -1);
	/* unregister */
	ck_assert_int_eq(out(&st, &it_a, PR_OUT_REGISTER, 0, 0x33, 0, NULL),
	    SENSE_OK);
	ck_assert_uint_eq(st.n_regs, 1);
	ck_assert_uint_eq(st.generation, 5);
	ck_assert_int_eq(pr_find_reg(&st, &it_a), -1);
	/* other SAs from an unregistered nexus conflict */
	ck_assert_int_eq(out(&st, &it_a, PR_OUT_RESERVE, PR_TYPE_WE, 0x33, 0,
	    NULL), SENSE_RESERVATION_CONFLICT);
	ck_assert_int_eq(out(&st, &it_a, PR_OUT_CLEAR, 0, 0, 0, NULL),
	    SENSE_RESERVATION_CONFLICT);
	pr_state_fini(&st);
}
END_TEST

START_TEST(test_invalid_fields)
{
	struct pr_state st;
	struct pr_out o = { .sa = PR_OUT_RESERVE, .type = 2, .rk = 1 };
	struct sense_detail sd;

	pr_state_init(&st);
	memset(&sd, 0, sizeof(sd));
	ck_assert_int_eq(pr_out_apply(&st, &it_a, &o, NULL, &sd),
	    SENSE_INVALID_FIELD_IN_CDB);
	ck_assert(sd.sks_valid && sd.sks_cdb && sd.sks_field == 2 &&
	    sd.sks_bpv && sd.sks_bit == 3);
	o.type = PR_TYPE_WE;
	o.scope = 1;
	memset(&sd, 0, sizeof(sd));
	ck_assert_int_eq(pr_out_apply(&st, &it_a, &o, NULL, &sd),
	    SENSE_INVALID_FIELD_IN_CDB);
	ck_assert(sd.sks_field == 2 && sd.sks_bit == 7);
	/* SPEC_I_PT / ALL_TG_PT unsupported: parameter list byte 20 */
	o.sa = PR_OUT_REGISTER;
	o.scope = 0;
	o.spec_i_pt = true;
	memset(&sd, 0, sizeof(sd));
	ck_assert_int_eq(pr_out_apply(&st, &it_a, &o, NULL, &sd),
	    SENSE_INVALID_FIELD_IN_PARAM);
	ck_assert(!sd.sks_cdb && sd.sks_field == 20 && sd.sks_bit == 3);
	o.spec_i_pt = false;
	o.all_tg_pt = true;
	ck_assert_int_eq(pr_out_apply(&st, &it_a, &o, NULL, &sd),
	    SENSE_INVALID_FIELD_IN_PARAM);
	ck_assert(sd.sks_field == 20 && sd.sks_bit == 2);
	/* REGISTER AND MOVE is not supported */
	o.sa = PR_OUT_REGISTER_MOVE;
	ck_assert_int_eq(pr_out_apply(&st, &it_a, &o, NULL, &sd),
	    SENSE_INVALID_FIELD_IN_CDB);
	ck_assert_uint_eq(st.n_regs, 0);
	pr_state_fini(&st);
}
END_TEST

/* --- reservations per type --- */

struct type_rule {
	uint8_t	type;
	/* conflicts for B (registered) and C (unregistered) */
	bool	b_read, b_write, c_read, c_write;
	bool	shared;		/* all registrants hold it */
};

static const struct type_rule type_rules[] = {
	{ PR_TYPE_WE,    false, true,  false, true,  false },
	{ PR_TYPE_EA,    true,  true,  true,  true,  false },
	{ PR_TYPE_WE_RO, false, false, false, true,  false },
	{ PR_TYPE_EA_RO, false, false, true,  true,  false },
	{ PR_TYPE_WE_AR, false, false, false, true,  true },
	{ PR_TYPE_EA_AR, false, false, true,  true,  true },
};

START_TEST(test_reserve_types)
{
	const struct type_rule *r = &type_rules[_i];
	struct pr_state st;
	struct pr_evs evs = { 0 };
	uint8_t buf[64];
	uint32_t gen;

	pr_state_init(&st);
	ck_assert_int_eq(out(&st, &it_a, PR_OUT_REGISTER, 0, 0, 0xa, NULL),
	    SENSE_OK);
	ck_assert_int_eq(out(&st, &it_b, PR_OUT_REGISTER, 0, 0, 0xb, NULL),
	    SENSE_OK);
	gen = st.generation;
	ck_assert_int_eq(out(&st, &it_a, PR_OUT_RESERVE, r->type, 0xa, 0,
	    NULL), SENSE_OK);
	ck_assert_uint_eq(st.generation, gen);	/* RESERVE: no change */
	/* same again: GOOD; another type: conflict */
	ck_assert_int_eq(out(&st, &it_a, PR_OUT_RESERVE, r->type, 0xa, 0,
	    NULL), SENSE_OK);
	ck_assert_int_eq(out(&st, &it_a, PR_OUT_RESERVE,
	    r->type == PR_TYPE_WE ? PR_TYPE_EA : PR_TYPE_WE, 0xa, 0, NULL),
	    SENSE_RESERVATION_CONFLICT);
	/* B reserving: conflict unless it holds (all registrants) */
	ck_assert_int_eq(out(&st, &it_b, PR_OUT_RESERVE, r->type, 0xb, 0,
	    NULL), r->shared ? SENSE_OK : SENSE_RESERVATION_CONFLICT);

	/* READ RESERVATION: holder's key, 0 for all-registrants */
	ck_assert_uint_eq(pr_in_build(&st, PR_IN_READ_RESERVATION, true,
	    buf, sizeof(buf)), 24);
	ck_assert_uint_eq(get_be32(buf + 4), 16);
	ck_assert(get_be64(buf + 8) == (r->shared ? 0 : 0xa));
	ck_assert_uint_eq(buf[21], r->type);

	/* the holder does anything */
	ck_assert(!conflict(&st, &it_a, cdb_read));
	ck_assert(!conflict(&st, &it_a, cdb_write));
	ck_assert(!conflict(&st, &it_a, cdb_mode_select));
	/* registered non-holder and unregistered nexus */
	ck_assert(conflict(&st, &it_b, cdb_read) == r->b_read);
	ck_assert(conflict(&st, &it_b, cdb_write) == r->b_write);
	ck_assert(conflict(&st, &it_b, cdb_mode_sense) == r->b_read);
	ck_assert(conflict(&st, &it_b, cdb_mode_select) == r->b_write);
	ck_assert(conflict(&st, &it_c, cdb_read) == r->c_read);
	ck_assert(conflict(&st, &it_c, cdb_write) == r->c_write);
	ck_assert(conflict(&st, &it_c, cdb_mode_sense) == r->c_read);
	ck_assert(conflict(&st, &it_c, cdb_mode_select) == r->c_write);
	/* copy commands follow READ / WRITE */
	ck_assert(conflict(&st, &it_c, cdb_xcopy) == r->c_write);
	ck_assert(conflict(&st, &it_c, cdb_wut) == r->c_write);
	ck_assert(conflict(&st, &it_c, cdb_populate) == r->c_read);
	/* always allowed */
	ck_assert(!conflict(&st, &it_c, cdb_tur));
	ck_assert(!conflict(&st, &it_c, cdb_inquiry));

	/* RELEASE: wrong type is 26/04; non-holder is a no-op */
	ck_assert_int_eq(out(&st, &it_a, PR_OUT_RELEASE,
	    r->type == PR_TYPE_WE ? PR_TYPE_EA : PR_TYPE_WE, 0xa, 0, &evs),
	    SENSE_INVALID_RELEASE_OF_PR);
	if (!r->shared) {
		ck_assert_int_eq(out(&st, &it_b, PR_OUT_RELEASE, r->type, 0xb,
		    0, &evs), SENSE_OK);
		ck_assert(st.reserved);
	}
	ck_assert_int_eq(out(&st, &it_a, PR_OUT_RELEASE, r->type, 0xa, 0,
	    &evs), SENSE_OK);
	ck_assert(!st.reserved);
	ck_assert_uint_eq(st.generation, gen);
	/* RESERVATIONS RELEASED to B for registrants-only/all types */
	if (r->type == PR_TYPE_WE || r->type == PR_TYPE_EA) {
		ck_assert_uint_eq(evs.n, 0);
	} else {
		ck_assert_uint_eq(evs.n, 1);
		ck_assert_str_eq(evs.v[0].i_port, it_b.i_port);
		ck_assert(evs.v[0].asc == 0x2a && evs.v[0].ascq == 0x04);
	}
	ck_assert(!conflict(&st, &it_c, cdb_write));
	pr_evs_free(&evs);

	/* the holder unregistering ends a single-holder reservation; an
	 * all-registrants one lasts while a registrant is left */
	ck_assert_int_eq(out(&st, &it_a, PR_OUT_RESERVE, r->type, 0xa, 0,
	    NULL), SENSE_OK);
	ck_assert_int_eq(out(&st, &it_a, PR_OUT_REGISTER, 0, 0xa, 0, &evs),
	    SENSE_OK);
	ck_assert(st.reserved == r->shared);
	if (r->type == PR_TYPE_WE_RO || r->type == PR_TYPE_EA_RO)
		ck_assert(evs.n == 1 && evs.v[0].ascq == 0x04);
	else
		ck_assert_uint_eq(evs.n, 0);
	if (r->shared) {
		ck_assert_int_eq(out(&st, &it_b, PR_OUT_REGISTER, 0, 0xb, 0,
		    NULL), SENSE_OK);
		ck_assert(!st.reserved);
	}
	pr_evs_free(&evs);
	pr_state_fini(&st);
}
END_TEST

START_TEST(test_clear)
{
	struct pr_state st;
	struct pr_evs evs = { 0 };

	pr_state_init(&st);
	out(&st, &it_a, PR_OUT_REGISTER, 0, 0, 0xa, NULL);
	out(&st, &it_b, PR_OUT_REGISTER, 0, 0, 0xb, NULL);
	out(&st, &it_a, PR_OUT_RESERVE, PR_TYPE_EA, 0xa, 0, NULL);
	ck_assert_int_eq(out(&st, &it_b, PR_OUT_CLEAR, 0, 0xa, 0, &evs),
	    SENSE_RESERVATION_CONFLICT);	/* wrong key */
	ck_assert_int_eq(out(&st, &it_b, PR_OUT_CLEAR, 0, 0xb, 0, &evs),
	    SENSE_OK);
	ck_assert(!st.reserved && st.n_regs == 0);
	ck_assert_uint_eq(st.generation, 3);
	ck_assert_uint_eq(evs.n, 1);	/* RESERVATIONS PREEMPTED to A */
	ck_assert_str_eq(evs.v[0].i_port, it_a.i_port);
	ck_assert_uint_eq(evs.v[0].ascq, 0x03);
	pr_evs_free(&evs);
	pr_state_fini(&st);
}
END_TEST

START_TEST(test_preempt)
{
	struct pr_state st;
	struct pr_evs evs = { 0 };
	struct pr_out o = { .sa = PR_OUT_PREEMPT, .type = PR_TYPE_EA,
	    .rk = 0xb, .sark = 0 };
	struct sense_detail sd;

	pr_state_init(&st);
	out(&st, &it_a, PR_OUT_REGISTER, 0, 0, 0xa, NULL);
	out(&st, &it_b, PR_OUT_REGISTER, 0, 0, 0xb, NULL);
	/* no reservation, SARK 0: 26/00 pointing at the SARK */
	memset(&sd, 0, sizeof(sd));
	ck_assert_int_eq(pr_out_apply(&st, &it_b, &o, &evs, &sd),
	    SENSE_INVALID_FIELD_IN_PARAM);
	ck_assert(sd.sks_valid && !sd.sks_cdb && sd.sks_field == 8);
	/* unknown key: conflict */
	ck_assert_int_eq(out(&st, &it_b, PR_OUT_PREEMPT, PR_TYPE_EA, 0xb,
	    0x77, &evs), SENSE_RESERVATION_CONFLICT);
	/* remove A's registration */
	ck_assert_int_eq(out(&st, &it_b, PR_OUT_PREEMPT, PR_TYPE_EA, 0xb,
	    0xa, &evs), SENSE_OK);
	ck_assert_uint_eq(st.n_regs, 1);
	ck_assert(!st.reserved);
	ck_assert_uint_eq(st.generation, 3);
	ck_assert(evs.n == 1 && evs.v[0].ascq == 0x05 && !evs.v[0].abort);
	ck_assert_str_eq(evs.v[0].i_port, it_a.i_port);
	pr_evs_free(&evs);

	/* preempt the holder with PREEMPT AND ABORT, new type */
	out(&st, &it_a, PR_OUT_REGISTER, 0, 0, 0xa, NULL);
	out(&st, &it_a, PR_OUT_RESERVE, PR_TYPE_WE, 0xa, 0, NULL);
	ck_assert_int_eq(out(&st, &it_b, PR_OUT_PREEMPT_ABORT, PR_TYPE_EA_RO,
	    0xb, 0xa, &evs), SENSE_OK);
	ck_assert(st.reserved && st.type == PR_TYPE_EA_RO);
	ck_assert_int_eq(st.holder, pr_find_reg(&st, &it_b));
	ck_assert_int_eq(pr_find_reg(&st, &it_a), -1);
	ck_assert(evs.n == 1 && evs.v[0].ascq == 0x05 && evs.v[0].abort);
	pr_evs_free(&evs);

	/* the holder preempts itself to change type */
	ck_assert_int_eq(out(&st, &it_b, PR_OUT_PREEMPT, PR_TYPE_WE, 0xb,
	    0xb, &evs), SENSE_OK);
	ck_assert(st.reserved && st.type == PR_TYPE_WE && st.n_regs == 1);
	pr_evs_free(&evs);

	/* all registrants, SARK 0: everyone else goes */
	out(&st, &it_b, PR_OUT_RELEASE, PR_TYPE_WE, 0xb, 0, NULL);
	out(&st, &it_a, PR_OUT_REGISTER, 0, 0, 0xa, NULL);
	out(&st, &it_c, PR_OUT_REGISTER, 0, 0, 0xc, NULL);
	out(&st, &it_a, PR_OUT_RESERVE, PR_TYPE_WE_AR, 0xa, 0, NULL);
	ck_assert_int_eq(out(&st, &it_c, PR_OUT_PREEMPT, PR_TYPE_EA, 0xc, 0,
	    &evs), SENSE_OK);
	ck_assert_uint_eq(st.n_regs, 1);
	ck_assert_int_eq(pr_find_reg(&st, &it_c), 0);
	ck_assert(st.reserved && st.type == PR_TYPE_EA && st.holder == 0);
	ck_assert_uint_eq(evs.n, 2);
	pr_evs_free(&evs);
	pr_state_fini(&st);
}
END_TEST

START_TEST(test_spc2)
{
	struct pr_state st;

	pr_state_init(&st);
	ck_assert_int_eq(pr_reserve2(&st, &it_a, true), SENSE_OK);
	ck_assert_int_eq(pr_reserve2(&st, &it_a, true), SENSE_OK);
	ck_assert_int_eq(pr_reserve2(&st, &it_b, true),
	    SENSE_RESERVATION_CONFLICT);
	/* holder's nexus is gone: the reservation went with it */
	ck_assert_int_eq(pr_reserve2(&st, &it_b, false), SENSE_OK);
	ck_assert(st.r2 && st.r2_nexus == it_b.nexus_id);
	/* RELEASE from a non-holder: GOOD, nothing released */
	ck_assert_int_eq(pr_release2(&st, &it_a), SENSE_OK);
	ck_assert(st.r2);
	ck_assert_int_eq(pr_release2(&st, &it_b), SENSE_OK);
	ck_assert(!st.r2);
	/* SPC-4 5.13.3: registrations make RESERVE/RELEASE conflict ... */
	out(&st, &it_a, PR_OUT_REGISTER, 0, 0, 0xa, NULL);
	ck_assert_int_eq(pr_reserve2(&st, &it_b, true),
	    SENSE_RESERVATION_CONFLICT);
	ck_assert_int_eq(pr_reserve2(&st, &it_a, true),
	    SENSE_RESERVATION_CONFLICT);
	ck_assert_int_eq(pr_release2(&st, &it_b),
	    SENSE_RESERVATION_CONFLICT);
	/* ... except from the holder (and registrants for RO), a no-op */
	out(&st, &it_a, PR_OUT_RESERVE, PR_TYPE_WE_RO, 0xa, 0, NULL);
	out(&st, &it_b, PR_OUT_REGISTER, 0, 0, 0xb, NULL);
	ck_assert_int_eq(pr_reserve2(&st, &it_a, true), SENSE_OK);
	ck_assert_int_eq(pr_reserve2(&st, &it_b, true), SENSE_OK);
	ck_assert_int_eq(pr_reserve2(&st, &it_c, true),
	    SENSE_RESERVATION_CONFLICT);
	ck_assert(!st.r2);
	pr_state_fini(&st);
}
END_TEST

/* --- PR IN data --- */

START_TEST(test_pr_in)
{
	struct pr_state st;
	uint8_t buf[512];
	size_t n, tl;

	pr_state_init(&st);
	out(&st, &it_a, PR_OUT_REGISTER, 0, 0, 0x0102030405060708ull, NULL);
	out(&st, &it_b, PR_OUT_REGISTER, 0, 0, 0xb, NULL);
	out(&st, &it_a, PR_OUT_RESERVE, PR_TYPE_EA, 0x0102030405060708ull, 0,
	    NULL);
	/* READ KEYS, truncated to the header: length still full */
	memset(buf, 0xee, sizeof(buf));
	ck_assert_uint_eq(pr_in_build(&st, PR_IN_READ_KEYS, true, buf, 8),
	    24);
	ck_assert_uint_eq(get_be32(buf), 2);
	ck_assert_uint_eq(get_be32(buf + 4), 16);
	ck_assert_uint_eq(buf[8], 0xee);
	n = pr_in_build(&st, PR_IN_READ_KEYS, true, buf, sizeof(buf));
	ck_assert(get_be64(buf + 8) == 0x0102030405060708ull);
	/* truncated in the middle of a key */
	memset(buf, 0, sizeof(buf));
	ck_assert_uint_eq(pr_in_build(&st, PR_IN_READ_KEYS, true, buf, 12),
	    n);
	ck_assert(buf[8] == 1 && buf[11] == 4 && buf[12] == 0);
	/* REPORT CAPABILITIES */
	st.aptpl = true;
	ck_assert_uint_eq(pr_in_build(&st, PR_IN_REPORT_CAPS, true, buf,
	    sizeof(buf)), 8);
	ck_assert_uint_eq(get_be16(buf), 8);
	ck_assert_uint_eq(buf[2], 0x11);	/* CRH, PTPL_C */
	ck_assert_uint_eq(buf[3], 0x91);	/* TMV, 001b, PTPL_A */
	ck_assert_uint_eq(buf[4], 0xea);
	ck_assert_uint_eq(buf[5], 0x01);
	pr_in_build(&st, PR_IN_REPORT_CAPS, false, buf, sizeof(buf));
	ck_assert_uint_eq(buf[2], 0x10);
	/* READ FULL STATUS: TransportID FORMAT CODE 01b, iSCSI */
	n = pr_in_build(&st, PR_IN_READ_FULL_STATUS, true, buf, sizeof(buf));
	ck_assert_uint_eq(get_be32(buf + 4), n - 8);
	ck_assert(get_be64(buf + 8) == 0x0102030405060708ull);
	ck_assert_uint_eq(buf[8 + 12], 0x01);		/* R_HOLDER */
	ck_assert_uint_eq(buf[8 + 13], PR_TYPE_EA);
	ck_assert_uint_eq(get_be16(buf + 8 + 18), 1);	/* rel port */
	tl = get_be32(buf + 8 + 20);
	ck_assert_uint_eq(tl % 4, 0);
	ck_assert_uint_eq(buf[8 + 24], 0x45);
	ck_assert_uint_eq(get_be16(buf + 8 + 26), tl - 4);
	ck_assert_str_eq((char *)buf + 8 + 28, it_a.i_port);
	ck_assert_uint_eq(buf[8 + 24 + tl + 12], 0x00);	/* B: no holder */
	ck_assert_uint_eq(n, 8 + 2 * 24 + tl + tl);
	pr_state_fini(&st);
}
END_TEST

/* --- APTPL store --- */

static void
t_state(struct pr_state *st)
{
	pr_state_init(st);
	out(st, &it_a, PR_OUT_REGISTER, 0, 0, 0xaaaa, NULL);
	out(st, &it_b, PR_OUT_REGISTER, 0, 0, 0xbbbb, NULL);
	out(st, &it_b, PR_OUT_RESERVE, PR_TYPE_WE_RO, 0xbbbb, 0, NULL);
	st->aptpl = true;
}

START_TEST(test_store_format)
{
	struct pr_state st, back;
	char *text;

	t_state(&st);
	text = pr_store_format("disk 0", &st);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(pr_store_parse(text, &back), 0);
	ck_assert_uint_eq(back.generation, st.generation);
	ck_assert(back.aptpl && back.reserved && back.type == PR_TYPE_WE_RO);
	ck_assert_uint_eq(back.n_regs, 2);
	ck_assert_int_eq(back.holder, 1);
	ck_assert(back.regs[1].key == 0xbbbb);
	ck_assert_str_eq(back.regs[0].i_port, it_a.i_port);
	ck_assert_str_eq(back.regs[0].target, TGT);
	pr_state_fini(&back);
	/* truncated text (no "end") and junk are rejected */
	text[strlen(text) - 4] = '\0';
	ck_assert_int_eq(pr_store_parse(text, &back), -EINVAL);
	ck_assert_int_eq(pr_store_parse("tpcd-pr 1\nreg zz\nend\n", &back),
	    -EINVAL);
	ck_assert_int_eq(pr_store_parse("tpcd-pr 1\nreservation 3 0 5\n"
	    "end\n", &back), -EINVAL);		/* holder out of range */
	ck_assert_int_eq(pr_store_parse("tpcd-pr 2\nend\n", &back), -EINVAL);
	ck_assert_int_eq(pr_store_parse("tpcd-pr 1\nend\n", &back), 0);
	free(text);
	pr_state_fini(&st);
}
END_TEST

START_TEST(test_store_files)
{
	char dir[] = "/tmp/check_pr.XXXXXX", path[512];
	struct pr_state st, back;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(pr_store_set_dir(dir), 0);
	ck_assert(pr_store_enabled());
	ck_assert_int_eq(pr_store_load("lu1", &back), -ENOENT);
	t_state(&st);
	ck_assert_int_eq(pr_store_save("lu1", "disk0", &st), 0);
	/* a torn temp file from an interrupted later save is ignored */
	snprintf(path, sizeof(path), "%s/pr/.lu1.state.tmp", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("tpcd-pr 1\ngeneration 77\nreg 12", f);
	fclose(f);
	ck_assert_int_eq(pr_store_load("lu1", &back), 0);
	ck_assert_uint_eq(back.generation, st.generation);
	ck_assert_uint_eq(back.n_regs, 2);
	ck_assert_int_eq(access(path, F_OK), -1);	/* and removed */
	pr_state_fini(&back);
	/* a corrupt file: empty state, error */
	snprintf(path, sizeof(path), "%s/pr/lu2.state", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("tpcd-pr 1\nreg 1 2", f);
	fclose(f);
	ck_assert_int_eq(pr_store_load("lu2", &back), -EINVAL);
	ck_assert_uint_eq(back.n_regs, 0);
	ck_assert_int_eq(unlink(path), 0);
	/* remove */
	ck_assert_int_eq(pr_store_remove("lu1"), 0);
	ck_assert_int_eq(pr_store_load("lu1", &back), -ENOENT);
	ck_assert_int_eq(pr_store_remove("lu1"), 0);
	pr_state_fini(&st);
	pr_store_set_dir(NULL);
	ck_assert(!pr_store_enabled());
	snprintf(path, sizeof(path), "%s/pr", dir);
	ck_assert_int_eq(rmdir(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* --- engine path: dispatch, gate, unit attentions --- */

static struct lun *e_lun;
static struct scsi_nexus *e_nx[2];
static uint8_t e_buf[4096];

static void
e_setup(void)
{
	struct conf_storage cs;
	struct backstore *bs;
	static const uint8_t isid[2][6] = { { 0x80, 0, 0, 0, 0, 1 },
	    { 0x80, 0, 0, 0, 0, 2 } };
	const char *ini[2] = { "iqn.2026-11.org.tpcd:a",
	    "iqn.2026-11.org.tpcd:b" };
	struct nexus_lun *map;
	int err = 0, i;

	memset(&cs, 0, sizeof(cs));
	cs.plugin = (char *)"mem";
	cs.name = (char *)"disk0";
	cs.wwn = (char *)"pr-unit-test";
	cs.size = 1 << 20;
	cs.block_size = 512;
	ck_assert_int_eq(loops_init(1), 0);
	scsi_init();
	bs = backstore_open(&cs, &err);
	ck_assert_ptr_nonnull(bs);
	e_lun = lun_create(&cs, bs);
	ck_assert_ptr_nonnull(e_lun);
	backstore_put(bs);
	for (i = 0; i < 2; i++) {
		e_nx[i] = nexus_create(ini[i], isid[i], TGT, 1);
		ck_assert_ptr_nonnull(e_nx[i]);
		/* registered (empty registry map), then our own map */
		ck_assert_int_eq(target_nexus_register(e_nx[i]), 0);
		map = xcalloc(1, sizeof(*map));
		map[0].lun_id = 0;
		map[0].lun = e_lun;
		lun_get(e_lun);
		nexus_luns_replace(e_nx[i], map, 1);
		nexus_ua_clear(e_nx[i], 0, 0x29, 0x00);
		nexus_ua_clear(e_nx[i], 0, 0x3f, 0x0e);
	}
}

static void
e_teardown(void)
{
	int i;

	for (i = 0; i < 2; i++) {
		target_nexus_unregister(e_nx[i]);
		nexus_destroy(e_nx[i]);
	}
	lun_put(e_lun);
	target_shutdown();
	loops_fini();
}

static void
e_done(struct scsi_cmd *cmd)
{
	(void)cmd;
}

/* Run a synchronous command from nexus n; returns the status. */
static uint8_t
e_run(int n, const uint8_t *cdb, enum scsi_dir dir, const void *data,
    uint32_t len, struct scsi_cmd *keep)
{
	struct scsi_cmd cmd;
	struct iovec iov = { .iov_base = e_buf, .iov_len = len };
	enum sense_reason r;

	if (data != NULL)
		memcpy(e_buf, data, len);
	scsi_cmd_init(&cmd);
	cmd.nexus = e_nx[n];
	memcpy(cmd.cdb, cdb, 16);
	cmd.cdb_len = 16;
	cmd.dir = dir;
	cmd.iov = &iov;
	cmd.iov_cnt = 1;
	cmd.data_len = len;
	cmd.done = e_done;
	r = scsi_cmd_prepare(&cmd);
	if (r != SENSE_OK)
		scsi_cmd_fail(&cmd, r);
	else
		scsi_cmd_execute(&cmd);
	if (keep != NULL)
		*keep = cmd;
	scsi_cmd_release(&cmd);
	return cmd.status;
}

static uint8_t
e_prout(int n, uint8_t sa, uint8_t type, uint64_t rk, uint64_t sark,
    uint8_t flags, uint32_t len, struct scsi_cmd *keep)
{
	uint8_t cdb[16] = { 0x5f, sa, type }, p[32];

	memset(p, 0, sizeof(p));
	put_be64(p, rk);
	put_be64(p + 8, sark);
	p[20] = flags;
	put_be32(cdb + 5, len);
	return e_run(n, cdb, SCSI_DIR_OUT, p, MIN(len, sizeof(p)), keep);
}

START_TEST(test_engine)
{
	uint8_t cdb_rd[16] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 1 };
	uint8_t cdb_in[16] = { 0x5e, PR_IN_READ_KEYS, 0, 0, 0, 0, 0, 0, 64 };
	uint8_t cdb_rsv6[16] = { 0x16 }, cdb_rel6[16] = { 0x17 };
	uint8_t asc, ascq;
	struct scsi_cmd c;

	/* parameter list length must be 24 */
	ck_assert_uint_eq(e_prout(0, PR_OUT_REGISTER, 0, 0, 0xa, 0, 20, &c),
	    SAM_STAT_CHECK_CONDITION);
	ck_assert(c.sense[12] == 0x1a && c.sense[13] == 0x00);
	ck_assert_uint_eq(e_prout(0, PR_OUT_REGISTER, 0, 0, 0xa, 0, 28, &c),
	    SAM_STAT_CHECK_CONDITION);
	ck_assert(c.sense[12] == 0x1a);
	/* invalid type: 24/00 with field pointer */
	ck_assert_uint_eq(e_prout(0, PR_OUT_RESERVE, 0x02, 0xa, 0, 0, 24, &c),
	    SAM_STAT_CHECK_CONDITION);
	ck_assert(c.sense[12] == 0x24 && c.sense[15] == 0xcb &&
	    c.sense[17] == 2);
	/* unknown service action (REGISTER AND MOVE) */
	ck_assert_uint_eq(e_prout(0, PR_OUT_REGISTER_MOVE, 0, 0, 0, 0, 24,
	    &c), SAM_STAT_CHECK_CONDITION);
	ck_assert(c.sense[12] == 0x24);

	ck_assert_uint_eq(e_prout(0, PR_OUT_REGISTER, 0, 0, 0xa, 0, 24, NULL),
	    SAM_STAT_GOOD);
	ck_assert_uint_eq(e_prout(1, PR_OUT_REGISTER, 0, 0, 0xb, 0, 24, NULL),
	    SAM_STAT_GOOD);
	ck_assert_uint_eq(e_run(1, cdb_in, SCSI_DIR_IN, NULL, 64, &c),
	    SAM_STAT_GOOD);
	ck_assert_uint_eq(c.xfer_len, 24);
	ck_assert_uint_eq(get_be32(e_buf), 2);
	/* RESERVE(6) with registrations: conflict */
	ck_assert_uint_eq(e_run(1, cdb_rsv6, SCSI_DIR_NONE, NULL, 0, NULL),
	    SAM_STAT_RESERVATION_CONFLICT);
	ck_assert_uint_eq(e_prout(0, PR_OUT_RESERVE, PR_TYPE_EA, 0xa, 0, 0,
	    24, NULL), SAM_STAT_GOOD);
	/* the gate: B's READ conflicts, A's does not */
	ck_assert_uint_eq(e_run(1, cdb_rd, SCSI_DIR_IN, NULL, 512, NULL),
	    SAM_STAT_RESERVATION_CONFLICT);
	ck_assert_uint_eq(e_run(1, cdb_in, SCSI_DIR_IN, NULL, 64, NULL),
	    SAM_STAT_GOOD);
	/* B preempts A: A gets REGISTRATIONS PREEMPTED */
	ck_assert_uint_eq(e_prout(1, PR_OUT_PREEMPT, PR_TYPE_WE, 0xb, 0xa, 0,
	    24, NULL), SAM_STAT_GOOD);
	ck_assert(nexus_ua_pop(e_nx[0], 0, &asc, &ascq));
	ck_assert(asc == 0x2a && ascq == 0x05);
	ck_assert(!nexus_ua_pop(e_nx[1], 0, &asc, &ascq));
	/* CLEAR from B; A is not registered: no UA */
	ck_assert_uint_eq(e_prout(1, PR_OUT_CLEAR, 0, 0xb, 0, 0, 24, NULL),
	    SAM_STAT_GOOD);
	ck_assert(!nexus_ua_pop(e_nx[0], 0, &asc, &ascq));

	/* SPC-2: A reserves; B's READ and PR IN conflict; A's PR IN too */
	ck_assert_uint_eq(e_run(0, cdb_rsv6, SCSI_DIR_NONE, NULL, 0, NULL),
	    SAM_STAT_GOOD);
	ck_assert_uint_eq(e_run(1, cdb_rd, SCSI_DIR_IN, NULL, 512, NULL),
	    SAM_STAT_RESERVATION_CONFLICT);
	ck_assert_uint_eq(e_run(1, cdb_in, SCSI_DIR_IN, NULL, 64, NULL),
	    SAM_STAT_RESERVATION_CONFLICT);
	ck_assert_uint_eq(e_run(0, cdb_in, SCSI_DIR_IN, NULL, 64, NULL),
	    SAM_STAT_RESERVATION_CONFLICT);
	ck_assert_uint_eq(e_run(1, cdb_rel6, SCSI_DIR_NONE, NULL, 0, NULL),
	    SAM_STAT_GOOD);
	ck_assert_uint_eq(e_run(1, cdb_rsv6, SCSI_DIR_NONE, NULL, 0, NULL),
	    SAM_STAT_RESERVATION_CONFLICT);
	/* LUN reset releases it */
	ck_assert_int_eq(scsi_tmf_effects(e_nx[1], SCSI_TMF_LUN_RESET, 0), 0);
	ck_assert_uint_eq(e_run(1, cdb_rd, SCSI_DIR_IN, NULL, 512, &c),
	    SAM_STAT_CHECK_CONDITION);		/* the reset UA first */
	ck_assert_uint_eq(e_run(1, cdb_rsv6, SCSI_DIR_NONE, NULL, 0, NULL),
	    SAM_STAT_GOOD);
	/* I_T nexus loss: B's nexus leaves the registry */
	target_nexus_unregister(e_nx[1]);
	nexus_ua_clear(e_nx[0], 0, 0x29, 0x03);
	ck_assert_uint_eq(e_run(0, cdb_rsv6, SCSI_DIR_NONE, NULL, 0, NULL),
	    SAM_STAT_GOOD);
	ck_assert_int_eq(target_nexus_register(e_nx[1]), 0);
}
END_TEST

static Suite *
pr_suite(void)
{
	Suite *s = suite_create("pr");
	TCase *tc = tcase_create("state");
	TCase *te = tcase_create("engine");

	tcase_add_test(tc, test_register);
	tcase_add_test(tc, test_invalid_fields);
	tcase_add_loop_test(tc, test_reserve_types, 0,
	    (int)ARRAY_SIZE(type_rules));
	tcase_add_test(tc, test_clear);
	tcase_add_test(tc, test_preempt);
	tcase_add_test(tc, test_spc2);
	tcase_add_test(tc, test_pr_in);
	tcase_add_test(tc, test_store_format);
	tcase_add_test(tc, test_store_files);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(te, e_setup, e_teardown);
	tcase_add_test(te, test_engine);
	suite_add_tcase(s, te);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(pr_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
