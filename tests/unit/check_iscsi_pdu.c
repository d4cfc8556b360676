/*
 * check_iscsi_pdu.c - CRC32C against RFC 3720 B.4, PDU build/parse, the
 * resumable receiver fed at every split point, digest and bound checks,
 * and random garbage that must never crash or grow memory.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "iscsi_conn.h"
#include "util.h"

/* ---------------- CRC32C ---------------- */

static void
crc_vectors(void)
{
	uint8_t buf[48];
	unsigned int i;
	/* RFC 3720 B.4: SCSI Read (10) command PDU */
	static const uint8_t read10[48] = {
		0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
		0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
		0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	uint8_t out[4];

	memset(buf, 0, 32);
	ck_assert_uint_eq(crc32c(buf, 32), 0x8a9136aa);
	crc32c_put(out, crc32c(buf, 32));
	ck_assert(out[0] == 0xaa && out[1] == 0x36 && out[2] == 0x91 &&
	    out[3] == 0x8a);
	memset(buf, 0xff, 32);
	ck_assert_uint_eq(crc32c(buf, 32), 0x62a8ab43);
	for (i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	ck_assert_uint_eq(crc32c(buf, 32), 0x46dd794e);
	for (i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	ck_assert_uint_eq(crc32c(buf, 32), 0x113fdb5c);
	ck_assert_uint_eq(crc32c(read10, 48), 0xd9963a56);
	ck_assert_uint_eq(crc32c("123456789", 9), 0xe3069283);
}

START_TEST(test_crc32c_vectors)
{
	crc32c_force_table(true);
	ck_assert(!crc32c_uses_hw());
	crc_vectors();
	crc32c_force_table(false);
	crc_vectors();
}
END_TEST

/* Both implementations agree at every length and alignment, and pieces
 * chain through crc32c_update. */
START_TEST(test_crc32c_hw_vs_table)
{
	uint8_t buf[300];
	uint32_t a, b, c;
	unsigned int i, off, len;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	for (off = 0; off < 9; off++) {
		for (len = 0; len + off <= sizeof(buf); len += 13) {
			crc32c_force_table(true);
			a = crc32c(buf + off, len);
			crc32c_force_table(false);
			b = crc32c(buf + off, len);
			ck_assert_uint_eq(a, b);
			c = ~crc32c_update(crc32c_update(~0u, buf + off, len / 2),
			    buf + off + len / 2, len - len / 2);
			ck_assert_uint_eq(a, c);
		}
	}
}
END_TEST

/* ---------------- helpers ---------------- */

/* Serialize pdu as a target would send it. */
static size_t
wire(struct iscsi_pdu *pdu, bool hd, bool dd, uint8_t *out)
{
	struct iovec iov[6];
	size_t len = 0;
	int i, n;

	pdu->flags &= ~ISCSI_PDU_TX_READY;
	n = iscsi_pdu_tx_iov(pdu, hd, dd, iov);
	for (i = 0; i < n; i++) {
		memcpy(out + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	ck_assert_uint_eq(len, iscsi_pdu_wire_len(pdu, hd, dd));
	return len;
}

static struct iscsi_pdu *
mk_pdu(uint8_t op, uint32_t itt, uint32_t ahs_len, uint32_t dlen)
{
	struct iscsi_pdu *pdu;
	uint32_t i;

	pdu = iscsi_pdu_alloc(dlen);
	ck_assert_ptr_nonnull(pdu);
	iscsi_pdu_init_bhs(pdu, op, true, itt);
	for (i = 0; i < dlen; i++)
		pdu->data[i] = (uint8_t)(i * 31 + 1);
	if (ahs_len != 0) {
		pdu->ahs = calloc(1, ahs_len);
		ck_assert_ptr_nonnull(pdu->ahs);
		pdu->ahs_len = ahs_len;
		put_be16(pdu->ahs, (uint16_t)(ahs_len - 3));
		pdu->ahs[2] = 1;
		for (i = 4; i < ahs_len; i++)
			pdu->ahs[i] = (uint8_t)i;
	}
	put_be32(pdu->bhs + 20, 0x12345678);
	return pdu;
}

static void
same_pdu(const struct iscsi_pdu *a, const struct iscsi_pdu *b)
{
	ck_assert_mem_eq(a->bhs, b->bhs, ISCSI_BHS_LEN);
	ck_assert_uint_eq(a->ahs_len, b->ahs_len);
	if (a->ahs_len != 0)
		ck_assert_mem_eq(a->ahs, b->ahs, a->ahs_len);
	ck_assert_uint_eq(a->data_len, b->data_len);
	if (a->data_len != 0)
		ck_assert_mem_eq(a->data, b->data, a->data_len);
}

/* Feed stream in pieces of the given sizes (cycled); collect PDUs. */
static int
feed_split(struct iscsi_rx *rx, const uint8_t *s, size_t len,
    const size_t *cuts, unsigned int ncuts, struct iscsi_pdu **out,
    unsigned int max_out, unsigned int *n_out)
{
	size_t pos = 0, piece, used;
	unsigned int ci = 0;
	int rc;

	*n_out = 0;
	while (pos < len) {
		piece = MIN(cuts[ci++ % ncuts], len - pos);
		while (piece > 0) {
			rc = iscsi_rx_feed(rx, s + pos, piece, &used);
			pos += used;
			piece -= used;
			if (rc < 0)
				return rc;
			if (rc == 1) {
				ck_assert_uint_lt(*n_out, max_out);
				out[(*n_out)++] = iscsi_rx_take(rx);
			}
		}
	}
	return 0;
}

/* ---------------- rx reassembly ---------------- */

/* A stream of three PDUs, cut at every single position (two pieces), and
 * fed byte by byte, with every digest combination. */
START_TEST(test_rx_every_split)
{
	struct iscsi_pdu *src[3], *got[4];
	uint8_t stream[4096];
	size_t len = 0, cut[2];
	unsigned int i, n, k;
	bool hd = (_i & 1) != 0, dd = (_i & 2) != 0;
	struct iscsi_rx rx;

	src[0] = mk_pdu(ISCSI_OP_SCSI_CMD, 1, 0, 0);
	src[1] = mk_pdu(ISCSI_OP_DATA_OUT, 2, 0, 1001);	/* padding 3 */
	src[2] = mk_pdu(ISCSI_OP_SCSI_CMD, 3, 20, 6);	/* ext CDB AHS */
	for (i = 0; i < 3; i++)
		len += wire(src[i], hd, dd, stream + len);

	for (k = 0; k <= len; k++) {
		iscsi_rx_init(&rx, 8192);
		rx.hdigest = hd;
		rx.ddigest = dd;
		cut[0] = k == 0 ? 1 : k;
		cut[1] = len;
		ck_assert_int_eq(feed_split(&rx, stream, len, cut, 2, got, 4,
		    &n), 0);
		ck_assert_uint_eq(n, 3);
		ck_assert(iscsi_rx_idle(&rx));
		for (i = 0; i < 3; i++) {
			ck_assert_uint_eq(got[i]->flags, 0);
			same_pdu(src[i], got[i]);
			iscsi_pdu_free(got[i]);
		}
		iscsi_rx_fini(&rx);
	}
	/* one byte at a time through want/advance */
	iscsi_rx_init(&rx, 8192);
	rx.hdigest = hd;
	rx.ddigest = dd;
	n = 0;
	for (k = 0; k < len; k++) {
		uint8_t *dst;
		size_t want = iscsi_rx_want(&rx, &dst);
		int rc;

		ck_assert_uint_gt(want, 0);
		*dst = stream[k];
		rc = iscsi_rx_advance(&rx, 1);
		ck_assert_int_ge(rc, 0);
		if (rc == 1)
			got[n++] = iscsi_rx_take(&rx);
	}
	ck_assert_uint_eq(n, 3);
	for (i = 0; i < 3; i++) {
		same_pdu(src[i], got[i]);
		iscsi_pdu_free(got[i]);
		iscsi_pdu_free(src[i]);
	}
	iscsi_rx_fini(&rx);
}
END_TEST

START_TEST(test_rx_header_digest_error)
{
	struct iscsi_pdu *p, *got[2];
	uint8_t stream[256];
	struct iscsi_rx rx;
	size_t len, cut = 7;
	unsigned int n;

	p = mk_pdu(ISCSI_OP_NOP_OUT, 9, 0, 4);
	len = wire(p, true, false, stream);
	stream[ISCSI_BHS_LEN] ^= 0x01;		/* corrupt the digest */
	iscsi_rx_init(&rx, 8192);
	rx.hdigest = true;
	ck_assert_int_eq(feed_split(&rx, stream, len, &cut, 1, got, 2, &n),
	    -EBADMSG);
	iscsi_rx_fini(&rx);
	/* corrupt a header byte instead */
	len = wire(p, true, false, stream);
	stream[20] ^= 0x80;
	iscsi_rx_init(&rx, 8192);
	rx.hdigest = true;
	ck_assert_int_eq(feed_split(&rx, stream, len, &cut, 1, got, 2, &n),
	    -EBADMSG);
	iscsi_rx_fini(&rx);
	iscsi_pdu_free(p);
}
END_TEST

START_TEST(test_rx_data_digest_error)
{
	struct iscsi_pdu *p, *q, *got[3];
	uint8_t stream[512];
	struct iscsi_rx rx;
	size_t len, l2, cut = 5;
	unsigned int n;

	p = mk_pdu(ISCSI_OP_DATA_OUT, 9, 0, 10);
	q = mk_pdu(ISCSI_OP_NOP_OUT, 10, 0, 0);
	len = wire(p, true, true, stream);
	stream[ISCSI_BHS_LEN + 4 + 3] ^= 0x10;	/* data byte */
	l2 = wire(q, true, true, stream + len);
	iscsi_rx_init(&rx, 8192);
	rx.hdigest = rx.ddigest = true;
	ck_assert_int_eq(feed_split(&rx, stream, len + l2, &cut, 1, got, 3,
	    &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert(got[0]->flags & ISCSI_PDU_DDIGEST_BAD);
	ck_assert_uint_eq(got[1]->flags, 0);	/* framing intact */
	same_pdu(q, got[1]);
	iscsi_pdu_free(got[0]);
	iscsi_pdu_free(got[1]);
	iscsi_rx_fini(&rx);
	iscsi_pdu_free(p);
	iscsi_pdu_free(q);
}
END_TEST

/* A data segment above the limit is skipped, not buffered, and the next
 * PDU still parses. */
START_TEST(test_rx_too_long)
{
	struct iscsi_pdu *p, *q, *got[3];
	uint8_t *stream;
	struct iscsi_rx rx;
	size_t len, l2, cut = 4000;
	unsigned int n;

	stream = malloc(70000);
	ck_assert_ptr_nonnull(stream);
	p = mk_pdu(ISCSI_OP_DATA_OUT, 1, 0, 65537);
	q = mk_pdu(ISCSI_OP_NOP_OUT, 2, 0, 8);
	len = wire(p, false, true, stream);
	l2 = wire(q, false, true, stream + len);
	/* the header alone already raises the early flag */
	iscsi_rx_init(&rx, 8192);
	rx.ddigest = true;
	cut = ISCSI_BHS_LEN;
	ck_assert_int_eq(feed_split(&rx, stream, cut, &cut, 1, got, 3, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert(rx.too_long_hdr);
	ck_assert_ptr_nonnull(rx.pdu);
	ck_assert_uint_eq(iscsi_bhs_dsl(rx.pdu->bhs), 65537);
	rx.too_long_hdr = false;
	cut = 4000;
	ck_assert_int_eq(feed_split(&rx, stream + ISCSI_BHS_LEN,
	    len + l2 - ISCSI_BHS_LEN, &cut, 1, got, 3, &n), 0);
	ck_assert(!rx.too_long_hdr);
	ck_assert_uint_eq(n, 2);
	ck_assert(got[0]->flags & ISCSI_PDU_DATA_TOO_LONG);
	ck_assert_ptr_null(got[0]->data);
	ck_assert_uint_eq(got[0]->data_len, 65537);
	same_pdu(q, got[1]);
	iscsi_pdu_free(got[0]);
	iscsi_pdu_free(got[1]);
	iscsi_rx_fini(&rx);
	iscsi_pdu_free(p);
	iscsi_pdu_free(q);
	free(stream);
}
END_TEST

/* The placement hook receives the data segment in a caller buffer. */
static uint8_t place_buf[64];

static uint8_t *
place_cb(void *arg, const struct iscsi_pdu *pdu)
{
	(void)arg;
	return pdu->data_len <= sizeof(place_buf) ? place_buf : NULL;
}

START_TEST(test_rx_place)
{
	struct iscsi_pdu *p, *got[2];
	uint8_t stream[256];
	struct iscsi_rx rx;
	size_t len, cut = 3;
	unsigned int n;

	p = mk_pdu(ISCSI_OP_DATA_OUT, 1, 0, 33);
	len = wire(p, true, true, stream);
	iscsi_rx_init(&rx, 8192);
	rx.hdigest = rx.ddigest = true;
	rx.place = place_cb;
	ck_assert_int_eq(feed_split(&rx, stream, len, &cut, 1, got, 2, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_ptr_eq(got[0]->data, place_buf);
	ck_assert(got[0]->data_borrowed);
	ck_assert_uint_eq(got[0]->flags, 0);
	same_pdu(p, got[0]);
	iscsi_pdu_free(got[0]);
	iscsi_rx_fini(&rx);
	iscsi_pdu_free(p);
}
END_TEST

/* Random bytes: never crash, every PDU within bounds; ASan checks the
 * rest. */
START_TEST(test_rx_garbage)
{
	struct iscsi_pdu *pdu;
	struct iscsi_rx rx;
	uint8_t buf[4096];
	unsigned int seed = 12345, round, i;
	size_t used, off;
	int rc;

	for (round = 0; round < 200; round++) {
		iscsi_rx_init(&rx, 8192);
		rx.hdigest = (round & 1) != 0;
		rx.ddigest = (round & 2) != 0;
		for (i = 0; i < sizeof(buf); i++) {
			seed = seed * 1103515245 + 12345;
			buf[i] = (uint8_t)(seed >> 16);
		}
		/* keep the DSL small half of the time so PDUs complete */
		if (round & 4)
			buf[5] = 0;
		off = 0;
		while (off < sizeof(buf)) {
			rc = iscsi_rx_feed(&rx, buf + off, sizeof(buf) - off,
			    &used);
			off += used;
			if (rc < 0)
				break;
			if (rc == 1) {
				pdu = iscsi_rx_take(&rx);
				ck_assert_uint_le(pdu->ahs_len, 1020);
				ck_assert(pdu->data_len <= 8192 ||
				    (pdu->flags & ISCSI_PDU_DATA_TOO_LONG));
				iscsi_pdu_free(pdu);
			}
		}
		iscsi_rx_fini(&rx);
	}
}
END_TEST

/* ---------------- tx ---------------- */

START_TEST(test_tx_layout)
{
	struct iscsi_pdu *p;
	uint8_t w[128];
	size_t len;
	uint32_t crc;

	p = mk_pdu(ISCSI_OP_SCSI_RSP, 0x77, 0, 5);
	len = wire(p, true, true, w);
	ck_assert_uint_eq(len, 48 + 4 + 8 + 4);
	ck_assert_uint_eq(iscsi_bhs_dsl(w), 5);
	ck_assert_uint_eq(w[4], 0);
	ck_assert_uint_eq(crc32c_get(w + 48), crc32c(w, 48));
	ck_assert(w[52 + 5] == 0 && w[52 + 6] == 0 && w[52 + 7] == 0);
	crc = crc32c(w + 52, 8);		/* digest covers padding */
	ck_assert_uint_eq(crc32c_get(w + 60), crc);
	ck_assert_uint_eq(iscsi_pdu_opcode(p), ISCSI_OP_SCSI_RSP);
	ck_assert_uint_eq(iscsi_pdu_itt(p), 0x77);
	ck_assert(!iscsi_pdu_immediate(p));
	ck_assert_int_eq(iscsi_pdu_set_data(p, "abc", 3), 0);
	len = wire(p, false, false, w);
	ck_assert_uint_eq(len, 52);
	ck_assert_uint_eq(iscsi_bhs_dsl(w), 3);
	ck_assert_int_eq(iscsi_pdu_set_data(p, NULL, 0), 0);
	len = wire(p, false, true, w);		/* no data: no data digest */
	ck_assert_uint_eq(len, 48);
	iscsi_pdu_free(p);
}
END_TEST

START_TEST(test_reject_pdu)
{
	struct iscsi_pdu *p;
	uint8_t bad[48];

	memset(bad, 0xa5, sizeof(bad));
	p = iscsi_pdu_reject(bad, ISCSI_REJECT_PROTOCOL);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(iscsi_pdu_opcode(p), ISCSI_OP_REJECT);
	ck_assert_uint_eq(p->bhs[1], 0x80);
	ck_assert_uint_eq(p->bhs[2], ISCSI_REJECT_PROTOCOL);
	ck_assert_uint_eq(iscsi_pdu_itt(p), ISCSI_RSVD_TAG);
	ck_assert_uint_eq(p->data_len, 48);
	ck_assert_mem_eq(p->data, bad, 48);
	iscsi_pdu_free(p);
}
END_TEST

/* The pool recycles PDU structs; destroying it with PDUs still out
 * defers the free to the last of them (ASan checks both). */
START_TEST(test_pdu_pool)
{
	struct iscsi_pdu_pool *pool = iscsi_pdu_pool_create();
	struct iscsi_pdu *a, *b, *c;

	ck_assert_ptr_nonnull(pool);
	a = iscsi_pdu_pool_get(pool, 0);
	b = iscsi_pdu_pool_get(pool, 100);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(b->data_len, 100);
	ck_assert_uint_eq(pool->live, 2);
	a->bhs[0] = 0x21;
	iscsi_pdu_free(a);
	ck_assert_uint_eq(pool->live, 1);
	ck_assert_uint_eq(pool->n_free, 1);
	c = iscsi_pdu_pool_get(pool, 0);
	ck_assert_ptr_eq(c, a);			/* recycled ... */
	ck_assert_int_eq(c->bhs[0], 0);		/* ... and zeroed */
	ck_assert_ptr_eq(c->pool, pool);
	iscsi_pdu_free(c);
	iscsi_pdu_pool_destroy(pool);		/* b still out */
	ck_assert_uint_eq(b->data[0] = 7, 7);
	iscsi_pdu_free(b);			/* frees the pool too */
	a = iscsi_pdu_pool_get(NULL, 8);	/* no pool: plain */
	ck_assert_ptr_null(a->pool);
	iscsi_pdu_free(a);
}
END_TEST

START_TEST(test_serial_arith)
{
	ck_assert(iscsi_sn_lt(1, 2));
	ck_assert(!iscsi_sn_lt(2, 2));
	ck_assert(iscsi_sn_lt(0xffffffffu, 0));
	ck_assert(!iscsi_sn_lt(0, 0xffffffffu));
	ck_assert(iscsi_sn_le(5, 5));
	ck_assert(iscsi_sn_lt(0x7ffffff0u, 0x80000010u));
}
END_TEST

START_TEST(test_alloc_failure)
{
	struct iscsi_pdu *p;
	unsigned long n;

	for (n = 1; n < 4; n++) {
		xmalloc_fail_after(n);
		p = iscsi_pdu_alloc(100);
		xmalloc_fail_after(0);
		if (p != NULL)
			iscsi_pdu_free(p);
	}
}
END_TEST

static Suite *
iscsi_pdu_suite(void)
{
	Suite *s = suite_create("iscsi_pdu");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_crc32c_vectors);
	tcase_add_test(tc, test_crc32c_hw_vs_table);
	tcase_add_loop_test(tc, test_rx_every_split, 0, 4);
	tcase_add_test(tc, test_rx_header_digest_error);
	tcase_add_test(tc, test_rx_data_digest_error);
	tcase_add_test(tc, test_rx_too_long);
	tcase_add_test(tc, test_rx_place);
	tcase_add_test(tc, test_rx_garbage);
	tcase_add_test(tc, test_tx_layout);
	tcase_add_test(tc, test_reject_pdu);
	tcase_add_test(tc, test_pdu_pool);
	tcase_add_test(tc, test_serial_arith);
	tcase_add_test(tc, test_alloc_failure);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(iscsi_pdu_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
