/*
 * check_tcmu_ring.c - the TCMU ring logic on a malloc'd fake mapping laid
 * out like the kernel's: mailbox, command ring, data area.  A small
 * "kernel" here appends entries the way target_core_user does (PAD to the
 * end of the ring when an entry does not fit, CDB after the iovecs) and
 * reads completions the way it does (from its last cleaned position up to
 * cmd_tail, skipping PAD and TMR, looking commands up by cmd_id).
 */
#define iovec tcmu_kiovec
#include <linux/target_core_user.h>
#undef iovec

#include <check.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "tcmu_ring.h"

#define RING_OFF	((uint32_t)sizeof(struct tcmu_mailbox))
#define RING_SIZE	2048u
#define DATA_SIZE	65536u
#define MAP_SIZE	(RING_OFF + RING_SIZE + DATA_SIZE)

struct fake {
	uint8_t		*map;
	uint32_t	 head;
	uint32_t	 cleaned;	/* kernel's cmdr_last_cleaned */
	uint16_t	 next_id;
};

static void
st32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void
st64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static uint32_t
ld32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint16_t
ld16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static void
fake_init(struct fake *f, uint16_t flags)
{
	struct tcmu_mailbox mb;

	memset(f, 0, sizeof(*f));
	f->map = malloc(MAP_SIZE);
	ck_assert_ptr_nonnull(f->map);
	memset(f->map, 0, MAP_SIZE);
	memset(&mb, 0, sizeof(mb));
	mb.version = TCMU_MAILBOX_VERSION;
	mb.flags = flags;
	mb.cmdr_off = RING_OFF;
	mb.cmdr_size = RING_SIZE;
	memcpy(f->map, &mb, sizeof(mb));
	f->next_id = 1;
}

static void
fake_fini(struct fake *f)
{
	free(f->map);
}

static uint8_t *
fake_ent(struct fake *f, uint32_t pos)
{
	return f->map + RING_OFF + pos;
}

static void
fake_publish(struct fake *f)
{
	st32(f->map + offsetof(struct tcmu_mailbox, cmd_head), f->head);
}

static uint32_t
fake_tail(const struct fake *f)
{
	return ld32(f->map + offsetof(struct tcmu_mailbox, cmd_tail));
}

/* Room for an entry of len at head: PAD to the end if it does not fit. */
static uint32_t
fake_place(struct fake *f, uint32_t len)
{
	uint32_t pad;

	if (f->head + len > RING_SIZE) {
		pad = RING_SIZE - f->head;
		memset(fake_ent(f, f->head), 0, 8);
		st32(fake_ent(f, f->head), pad | TCMU_OP_PAD);
		f->head = 0;
	}
	return f->head;
}

/* Append a CMD entry with n iovecs of len bytes each at data offsets
 * doff[i] (relative to the data area).  Returns its cmd_id. */
static uint16_t
fake_cmd(struct fake *f, const uint8_t *cdb, unsigned int cdb_len,
    unsigned int n, const uint32_t *doff, const uint32_t *dlen)
{
	uint32_t base, len, pos, i;
	uint8_t *e;
	uint16_t id = f->next_id++;

	base = (uint32_t)sizeof(struct tcmu_cmd_entry) + n * 16;
	base = (base + 7) & ~7u;
	len = base + ((cdb_len + 7) & ~7u);
	pos = fake_place(f, len);
	e = fake_ent(f, pos);
	memset(e, 0, len);
	st32(e, len | TCMU_OP_CMD);
	memcpy(e + offsetof(struct tcmu_cmd_entry, hdr.cmd_id), &id, 2);
	st32(e + offsetof(struct tcmu_cmd_entry, req.iov_cnt), n);
	st64(e + offsetof(struct tcmu_cmd_entry, req.cdb_off),
	    RING_OFF + pos + base);
	for (i = 0; i < n; i++) {
		uint8_t *v = e + offsetof(struct tcmu_cmd_entry, req.iov) +
		    16 * i;

		st64(v, RING_OFF + RING_SIZE + doff[i]);
		st64(v + 8, dlen[i]);
	}
	memcpy(e + base, cdb, cdb_len);
	f->head = (pos + len) % RING_SIZE;
	fake_publish(f);
	return id;
}

static void
fake_tmr(struct fake *f, uint8_t type, unsigned int n, const uint16_t *ids)
{
	uint32_t len, pos;
	uint8_t *e;

	len = ((uint32_t)sizeof(struct tcmu_tmr_entry) + 2 * n + 7) & ~7u;
	pos = fake_place(f, len);
	e = fake_ent(f, pos);
	memset(e, 0, len);
	st32(e, len | TCMU_OP_TMR);
	e[offsetof(struct tcmu_tmr_entry, tmr_type)] = type;
	st32(e + offsetof(struct tcmu_tmr_entry, cmd_cnt), n);
	memcpy(e + offsetof(struct tcmu_tmr_entry, cmd_ids), ids, 2 * n);
	f->head = (pos + len) % RING_SIZE;
	fake_publish(f);
}

/* Read the next completion the way the kernel does; returns the cmd_id
 * or -1 when cleaned reached the tail. */
static int
fake_reap(struct fake *f, uint8_t *status, uint8_t *uflags,
    uint32_t *read_len, uint8_t *sense0)
{
	uint32_t tail = fake_tail(f), len_op;
	uint8_t *e;

	while (f->cleaned != tail) {
		e = fake_ent(f, f->cleaned);
		len_op = ld32(e);
		ck_assert_uint_ne(tcmu_hdr_get_len(len_op), 0);
		f->cleaned = (f->cleaned + tcmu_hdr_get_len(len_op)) %
		    RING_SIZE;
		if (tcmu_hdr_get_op(len_op) != TCMU_OP_CMD)
			continue;
		*status = e[offsetof(struct tcmu_cmd_entry, rsp.scsi_status)];
		*uflags = e[offsetof(struct tcmu_cmd_entry, hdr.uflags)];
		*read_len = ld32(e + offsetof(struct tcmu_cmd_entry,
		    rsp.read_len));
		*sense0 = e[offsetof(struct tcmu_cmd_entry,
		    rsp.sense_buffer)];
		return ld16(e + offsetof(struct tcmu_cmd_entry, hdr.cmd_id));
	}
	return -1;
}

static const uint8_t cdb_read10[10] = { 0x28, 0, 0, 0, 0, 8, 0, 0, 1, 0 };

START_TEST(test_init_checks)
{
	struct tcmu_ring r;
	struct fake f;

	fake_init(&f, 0);
	ck_assert_int_eq(tcmu_ring_init(&r, f.map, MAP_SIZE), 0);
	ck_assert_uint_eq(r.data_off, RING_OFF + RING_SIZE);
	ck_assert(!tcmu_ring_busy(&r));
	ck_assert_int_eq(tcmu_ring_init(&r, f.map, RING_OFF + 100), -EINVAL);
	ck_assert_int_eq(tcmu_ring_init(&r, f.map + 1, MAP_SIZE - 1),
	    -EINVAL);
	f.map[0] = 1;		/* version */
	ck_assert_int_eq(tcmu_ring_init(&r, f.map, MAP_SIZE), -EINVAL);
	f.map[0] = TCMU_MAILBOX_VERSION;
	st32(f.map + offsetof(struct tcmu_mailbox, cmdr_off), 8);
	ck_assert_int_eq(tcmu_ring_init(&r, f.map, MAP_SIZE), -EINVAL);
	st32(f.map + offsetof(struct tcmu_mailbox, cmdr_off), RING_OFF);
	st32(f.map + offsetof(struct tcmu_mailbox, cmdr_size), MAP_SIZE);
	ck_assert_int_eq(tcmu_ring_init(&r, f.map, MAP_SIZE), -EINVAL);
	st32(f.map + offsetof(struct tcmu_mailbox, cmdr_size), RING_SIZE);
	st32(f.map + offsetof(struct tcmu_mailbox, cmd_tail), RING_SIZE);
	ck_assert_int_eq(tcmu_ring_init(&r, f.map, MAP_SIZE), -EINVAL);
	st32(f.map + offsetof(struct tcmu_mailbox, cmd_tail), 0);
	/* a previous process left an entry: busy */
	fake_cmd(&f, cdb_read10, 10, 0, NULL, NULL);
	ck_assert_int_eq(tcmu_ring_init(&r, f.map, MAP_SIZE), 0);
	ck_assert(tcmu_ring_busy(&r));
	fake_fini(&f);
}
END_TEST

START_TEST(test_fetch_complete)
{
	struct tcmu_ring r;
	struct tcmu_ring_ent ent;
	struct iovec iov[4];
	uint32_t doff[2] = { 0, 8192 }, dlen[2] = { 4096, 512 }, rl;
	uint8_t st, uf, s0, sense[18] = { 0x70, 0, 5 };
	uint16_t id;
	struct fake f;

	fake_init(&f, TCMU_MAILBOX_FLAG_CAP_READ_LEN);
	ck_assert_int_eq(tcmu_ring_init(&r, f.map, MAP_SIZE), 0);
	memset(&ent, 0, sizeof(ent));
	ent.iov = iov;
	ent.iov_cap = 4;
	ck_assert_int_eq(tcmu_ring_fetch(&r, &ent), 0);
	id = fake_cmd(&f, cdb_read10, 10, 2, doff, dlen);
	ck_assert_int_eq(tcmu_ring_fetch(&r, &ent), 1);
	ck_assert_int_eq(ent.kind, TCMU_RING_CMD);
	ck_assert_uint_eq(ent.cmd_id, id);
	ck_assert_uint_eq(ent.cdb_len, 10);
	ck_assert_mem_eq(ent.cdb, cdb_read10, 10);
	ck_assert_uint_eq(ent.iov_cnt, 2);
	ck_assert_ptr_eq(ent.iov[0].iov_base, f.map + RING_OFF + RING_SIZE);
	ck_assert_ptr_eq(ent.iov[1].iov_base,
	    f.map + RING_OFF + RING_SIZE + 8192);
	ck_assert_uint_eq(ent.data_len, 4608);
	ck_assert_int_eq(tcmu_ring_fetch(&r, &ent), 0);
	ck_assert_int_eq(tcmu_ring_complete(&r, id, 2, sense, sizeof(sense),
	    true, 100), 0);
	ck_assert_int_eq(fake_reap(&f, &st, &uf, &rl, &s0), id);
	ck_assert_uint_eq(st, 2);
	ck_assert_uint_eq(uf, TCMU_UFLAG_READ_LEN);
	ck_assert_uint_eq(rl, 100);
	ck_assert_uint_eq(s0, 0x70);
	ck_assert_int_eq(fake_reap(&f, &st, &uf, &rl, &s0), -1);
	/* nothing in flight */
	ck_assert_int_eq(tcmu_ring_complete(&r, id, 0, NULL, 0, false, 0),
	    -ENOENT);
	fake_fini(&f);

	/* without CAP_READ_LEN the flag is never set */
	fake_init(&f, 0);
	ck_assert_int_eq(tcmu_ring_init(&r, f.map, MAP_SIZE), 0);
	id = fake_cmd(&f, cdb_read10, 10, 2, doff, dlen);
	ck_assert_int_eq(tcmu_ring_fetch(&r, &ent), 1);
	ck_assert_int_eq(tcmu_ring_complete(&r, id, 0, NULL, 0, true, 7), 0);
	ck_assert_int_eq(fake_reap(&f, &st, &uf, &rl, &s0), id);
	ck_assert_uint_eq(uf, 0);
	fake_fini(&f);
}
END_TEST

/* Many entries around the ring several times: PAD at every wrap,
 * completions in reverse order of fetch within each batch. */
START_TEST(test_wrap_out_of_order)
{
	struct tcmu_ring r;
	struct tcmu_ring_ent ent;
	struct iovec iov[4];
	uint32_t doff[3] = { 0, 4096, 12288 }, dlen[3] = { 512, 512, 512 };
	uint16_t ids[4], got[4];
	uint8_t st, uf, s0;
	uint32_t rl;
	unsigned int round, i, n, wraps = 0;
	struct fake f;

	fake_init(&f, TCMU_MAILBOX_FLAG_CAP_OOOC);
	ck_assert_int_eq(tcmu_ring_init(&r, f.map, MAP_SIZE), 0);
	memset(&ent, 0, sizeof(ent));
	ent.iov = iov;
	ent.iov_cap = 4;
	for (round = 0; round < 60; round++) {
		uint32_t before = f.head;

		n = 1 + round % 4;
		for (i = 0; i < n; i++)
			ids[i] = fake_cmd(&f, cdb_read10, 10, 1 + i % 3,
			    doff, dlen);
		if (f.head < before)
			wraps++;
		for (i = 0; i < n; i++) {
			ck_assert_int_eq(tcmu_ring_fetch(&r, &ent), 1);
			ck_assert_uint_eq(ent.cmd_id, ids[i]);
			ck_assert_uint_eq(ent.iov_cnt, 1 + i % 3);
			ck_assert_mem_eq(ent.cdb, cdb_read10, 10);
		}
		ck_assert_int_eq(tcmu_ring_fetch(&r, &ent), 0);
		for (i = 0; i < n; i++)
			ck_assert_int_eq(tcmu_ring_complete(&r,
			    ids[n - 1 - i], (uint8_t)i, NULL, 0, false, 0), 0);
		for (i = 0; i < n; i++) {
			int id = fake_reap(&f, &st, &uf, &rl, &s0);

			ck_assert_int_ge(id, 0);
			got[i] = (uint16_t)id;
			ck_assert_uint_eq(st, i);
		}
		ck_assert_int_eq(fake_reap(&f, &st, &uf, &rl, &s0), -1);
		for (i = 0; i < n; i++)
			ck_assert_uint_eq(got[i], ids[n - 1 - i]);
		ck_assert_uint_eq(fake_tail(&f), f.head);
	}
	ck_assert_uint_gt(wraps, 2);
	fake_fini(&f);
}
END_TEST

START_TEST(test_tmr)
{
	struct tcmu_ring r;
	struct tcmu_ring_ent ent;
	struct iovec iov[2];
	uint16_t idbuf[1], idbuf2[8], a, b, list[3];
	uint8_t st, uf, s0;
	uint32_t rl;
	struct fake f;

	fake_init(&f, TCMU_MAILBOX_FLAG_CAP_TMR);
	ck_assert_int_eq(tcmu_ring_init(&r, f.map, MAP_SIZE), 0);
	memset(&ent, 0, sizeof(ent));
	ent.iov = iov;
	ent.iov_cap = 2;
	ent.ids = idbuf;
	ent.ids_cap = 1;
	a = fake_cmd(&f, cdb_read10, 10, 0, NULL, NULL);
	b = fake_cmd(&f, cdb_read10, 10, 0, NULL, NULL);
	list[0] = a;
	list[1] = b;
	list[2] = 77;
	fake_tmr(&f, TCMU_TMR_LUN_RESET, 3, list);
	ck_assert_int_eq(tcmu_ring_fetch(&r, &ent), 1);
	ck_assert_int_eq(tcmu_ring_fetch(&r, &ent), 1);
	ck_assert_int_eq(tcmu_ring_fetch(&r, &ent), -E2BIG);
	ck_assert_uint_eq(ent.ids_need, 3);
	ent.ids = idbuf2;
	ent.ids_cap = 8;
	ck_assert_int_eq(tcmu_ring_fetch(&r, &ent), 1);
	ck_assert_int_eq(ent.kind, TCMU_RING_TMR);
	ck_assert_uint_eq(ent.tmr_type, TCMU_TMR_LUN_RESET);
	ck_assert_uint_eq(ent.ids_cnt, 3);
	ck_assert_uint_eq(ent.ids[0], a);
	ck_assert_uint_eq(ent.ids[2], 77);
	ck_assert_int_eq(tcmu_ring_complete(&r, b, 0, NULL, 0, false, 0), 0);
	ck_assert_int_eq(tcmu_ring_complete(&r, a, 0, NULL, 0, false, 0), 0);
	ck_assert_int_eq(fake_reap(&f, &st, &uf, &rl, &s0), b);
	ck_assert_int_eq(fake_reap(&f, &st, &uf, &rl, &s0), a);
	/* the TMR entry was skipped by the tail too */
	ck_assert_uint_eq(fake_tail(&f), f.head);
	fake_fini(&f);
}
END_TEST

START_TEST(test_e2big_iov)
{
	struct tcmu_ring r;
	struct tcmu_ring_ent ent;
	struct iovec iov[3];
	uint32_t doff[3] = { 0, 4096, 8192 }, dlen[3] = { 1, 2, 3 };
	struct fake f;

	fake_init(&f, 0);
	ck_assert_int_eq(tcmu_ring_init(&r, f.map, MAP_SIZE), 0);
	memset(&ent, 0, sizeof(ent));
	ent.iov = iov;
	ent.iov_cap = 2;
	fake_cmd(&f, cdb_read10, 10, 3, doff, dlen);
	ck_assert_int_eq(tcmu_ring_fetch(&r, &ent), -E2BIG);
	ck_assert_uint_eq(ent.iov_need, 3);
	ent.iov_cap = 3;
	ck_assert_int_eq(tcmu_ring_fetch(&r, &ent), 1);
	ck_assert_uint_eq(ent.data_len, 6);
	fake_fini(&f);
}
END_TEST

/* Corruptions: fetch refuses with -EBADMSG and keeps its cursor. */
static void
bad_case(unsigned int which)
{
	struct tcmu_ring r;
	struct tcmu_ring_ent ent;
	struct iovec iov[4];
	uint32_t doff[1] = { 0 }, dlen[1] = { 4096 };
	uint8_t *e;
	struct fake f;

	fake_init(&f, 0);
	ck_assert_int_eq(tcmu_ring_init(&r, f.map, MAP_SIZE), 0);
	memset(&ent, 0, sizeof(ent));
	ent.iov = iov;
	ent.iov_cap = 4;
	fake_cmd(&f, cdb_read10, 10, 1, doff, dlen);
	e = fake_ent(&f, 0);
	switch (which) {
	case 0:		/* iovec before the data area */
		st64(e + offsetof(struct tcmu_cmd_entry, req.iov), RING_OFF);
		break;
	case 1:		/* iovec past the end */
		st64(e + offsetof(struct tcmu_cmd_entry, req.iov) + 8,
		    DATA_SIZE + 1);
		break;
	case 2:		/* cdb_off outside the mapping */
		st64(e + offsetof(struct tcmu_cmd_entry, req.cdb_off),
		    MAP_SIZE);
		break;
	case 3:		/* cdb_off in the mailbox */
		st64(e + offsetof(struct tcmu_cmd_entry, req.cdb_off), 4);
		break;
	case 4:		/* iov_cnt past the entry */
		st32(e + offsetof(struct tcmu_cmd_entry, req.iov_cnt),
		    0xffffffffu);
		break;
	case 5:		/* length past head */
		st32(e, (ld32(e) & 7) | (RING_SIZE - 8));
		break;
	case 6:		/* zero length */
		st32(e, TCMU_OP_CMD);
		break;
	case 7:		/* unknown opcode */
		st32(e, (ld32(e) & ~7u) | 5);
		break;
	case 8:		/* head out of the ring */
		f.head = RING_SIZE + 8;
		fake_publish(&f);
		break;
	case 9:		/* CMD entry too short for a response */
		st32(e, 64 | TCMU_OP_CMD);
		break;
	case 10:	/* bidi count past the entry */
		st32(e + offsetof(struct tcmu_cmd_entry, req.iov_bidi_cnt),
		    1000);
		break;
	case 11:	/* variable-length CDB running off the mapping */
		st64(e + offsetof(struct tcmu_cmd_entry, req.cdb_off),
		    MAP_SIZE - 9);
		f.map[MAP_SIZE - 9] = 0x7f;
		f.map[MAP_SIZE - 2] = 0xff;
		break;
	}
	ck_assert_int_eq(tcmu_ring_fetch(&r, &ent), -EBADMSG);
	ck_assert_uint_eq(r.next, 0);
	ck_assert_uint_eq(r.inflight, 0);
	ck_assert_int_eq(tcmu_ring_complete(&r, 1, 0, NULL, 0, false, 0),
	    -ENOENT);
	fake_fini(&f);
}

START_TEST(test_bad_entries)
{
	bad_case((unsigned int)_i);
}
END_TEST

START_TEST(test_cdb_len)
{
	uint8_t c[16] = { 0 };

	c[0] = 0x00;
	ck_assert_uint_eq(tcmu_ring_cdb_len(c, 16), 6);
	c[0] = 0x28;
	ck_assert_uint_eq(tcmu_ring_cdb_len(c, 16), 10);
	c[0] = 0x83;
	ck_assert_uint_eq(tcmu_ring_cdb_len(c, 16), 16);
	c[0] = 0xa3;
	ck_assert_uint_eq(tcmu_ring_cdb_len(c, 16), 12);
	c[0] = 0x7f;
	c[7] = 24;
	ck_assert_uint_eq(tcmu_ring_cdb_len(c, 16), 32);
	ck_assert_uint_eq(tcmu_ring_cdb_len(c, 0), 0);
}
END_TEST

static Suite *
tcmu_ring_suite(void)
{
	Suite *s = suite_create("tcmu_ring");
	TCase *tc = tcase_create("ring");

	tcase_add_test(tc, test_init_checks);
	tcase_add_test(tc, test_fetch_complete);
	tcase_add_test(tc, test_wrap_out_of_order);
	tcase_add_test(tc, test_tmr);
	tcase_add_test(tc, test_e2big_iov);
	tcase_add_loop_test(tc, test_bad_entries, 0, 12);
	tcase_add_test(tc, test_cdb_len);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(tcmu_ring_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
