/*
 * check_iscsi_chap.c - CHAP (iscsi_chap.c): MD5 known answers, encodings,
 * verification, mutual CHAP, reflection and reuse refusal.
 *
 * Expected responses are computed here independently: RFC 1321 test
 * vectors split into id || secret || challenge, and a one-shot EVP_Digest
 * over a buffer we concatenate ourselves.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "iscsi_chap.h"

static void
hex(const uint8_t *in, size_t n, char *out)
{
	size_t i;

	out[0] = '0';
	out[1] = 'x';
	for (i = 0; i < n; i++)
		sprintf(out + 2 + 2 * i, "%02X", in[i]);
}

/* MD5(id || secret || chal) by concatenation and one EVP_Digest call. */
static void
ref_md5(uint8_t id, const char *secret, const uint8_t *chal, size_t n,
    uint8_t out[16])
{
	uint8_t buf[2048];
	size_t sl = strlen(secret);
	unsigned int olen;

	ck_assert_uint_le(1 + sl + n, sizeof(buf));
	buf[0] = id;
	memcpy(buf + 1, secret, sl);
	memcpy(buf + 1 + sl, chal, n);
	ck_assert_int_eq(EVP_Digest(buf, 1 + sl + n, out, &olen, EVP_md5(),
	    NULL), 1);
	ck_assert_uint_eq(olen, 16);
}

START_TEST(test_md5_known_answers)
{
	/* RFC 1321 A.5: MD5("abc"), MD5("message digest") */
	static const uint8_t abc[16] = { 0x90, 0x01, 0x50, 0x98, 0x3c, 0xd2,
	    0x4f, 0xb0, 0xd6, 0x96, 0x3f, 0x7d, 0x28, 0xe1, 0x7f, 0x72 };
	static const uint8_t md[16] = { 0xf9, 0x6b, 0x69, 0x7d, 0x7c, 0xb7,
	    0x93, 0x8d, 0x52, 0x5a, 0x2f, 0x31, 0xaa, 0xf1, 0x61, 0xd0 };
	uint8_t out[16];

	ck_assert_int_eq(iscsi_chap_md5('a', (const uint8_t *)"b", 1,
	    (const uint8_t *)"c", 1, out), 0);
	ck_assert_mem_eq(out, abc, 16);
	ck_assert_int_eq(iscsi_chap_md5('m', (const uint8_t *)"essage ", 7,
	    (const uint8_t *)"digest", 6, out), 0);
	ck_assert_mem_eq(out, md, 16);
}
END_TEST

START_TEST(test_decode)
{
	uint8_t b[8];

	ck_assert_int_eq(iscsi_chap_decode("0x0102ff", b, sizeof(b)), 3);
	ck_assert_int_eq(b[0], 1);
	ck_assert_int_eq(b[2], 0xff);
	ck_assert_int_eq(iscsi_chap_decode("0X0a0B", b, sizeof(b)), 2);
	ck_assert_int_eq(b[1], 0x0b);
	ck_assert_int_eq(iscsi_chap_decode("0x123", b, sizeof(b)), 2);
	ck_assert_int_eq(b[0], 0x01);
	ck_assert_int_eq(b[1], 0x23);
	ck_assert_int_eq(iscsi_chap_decode("0bAQID", b, sizeof(b)), 3);
	ck_assert_int_eq(b[2], 3);
	ck_assert_int_eq(iscsi_chap_decode("0BAQI=", b, sizeof(b)), 2);
	ck_assert_int_eq(b[1], 2);
	ck_assert_int_eq(iscsi_chap_decode("0bAQ==", b, sizeof(b)), 1);
	ck_assert_int_eq(b[0], 1);
	ck_assert_int_eq(iscsi_chap_decode("0b+/+/", b, sizeof(b)), 3);
	ck_assert_int_eq(b[0], 0xfb);
	/* malformed */
	ck_assert_int_eq(iscsi_chap_decode("0x", b, sizeof(b)), -EINVAL);
	ck_assert_int_eq(iscsi_chap_decode("0xzz", b, sizeof(b)), -EINVAL);
	ck_assert_int_eq(iscsi_chap_decode("1234", b, sizeof(b)), -EINVAL);
	ck_assert_int_eq(iscsi_chap_decode("", b, sizeof(b)), -EINVAL);
	ck_assert_int_eq(iscsi_chap_decode("0", b, sizeof(b)), -EINVAL);
	ck_assert_int_eq(iscsi_chap_decode("0bAQI", b, sizeof(b)), -EINVAL);
	ck_assert_int_eq(iscsi_chap_decode("0bA=QI", b, sizeof(b)), -EINVAL);
	ck_assert_int_eq(iscsi_chap_decode("0bAQ=I", b, sizeof(b)), -EINVAL);
	ck_assert_int_eq(iscsi_chap_decode("0b====", b, sizeof(b)), -EINVAL);
	ck_assert_int_eq(iscsi_chap_decode("0b", b, sizeof(b)), -EINVAL);
	/* bound */
	ck_assert_int_eq(iscsi_chap_decode("0x010203040506070809", b,
	    sizeof(b)), -EINVAL);
	ck_assert_int_eq(iscsi_chap_decode("0bAAAAAAAAAAAA", b, sizeof(b)),
	    -EINVAL);
}
END_TEST

START_TEST(test_encode_and_ids)
{
	static const uint8_t in[3] = { 0x00, 0xab, 0x10 };
	char out[9];
	uint8_t id;

	ck_assert_int_eq(iscsi_chap_encode_hex(in, 3, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "0x00ab10");
	ck_assert_int_eq(iscsi_chap_encode_hex(in, 3, out, 8), -ENOSPC);
	ck_assert_int_eq(iscsi_chap_parse_id("0", &id), 0);
	ck_assert_int_eq(iscsi_chap_parse_id("255", &id), 0);
	ck_assert_int_eq(id, 255);
	ck_assert_int_eq(iscsi_chap_parse_id("0x7f", &id), 0);
	ck_assert_int_eq(id, 127);
	ck_assert_int_eq(iscsi_chap_parse_id("256", &id), -EINVAL);
	ck_assert_int_eq(iscsi_chap_parse_id("x", &id), -EINVAL);
	ck_assert_int_eq(iscsi_chap_select_alg("5"), ISCSI_CHAP_ALG_MD5);
	ck_assert_int_eq(iscsi_chap_select_alg("7,6,5"), ISCSI_CHAP_ALG_MD5);
	ck_assert_int_eq(iscsi_chap_select_alg("Foo,5"), ISCSI_CHAP_ALG_MD5);
	ck_assert_int_eq(iscsi_chap_select_alg("7"), -ENOTSUP);
	ck_assert_int_eq(iscsi_chap_select_alg("7,6"), -ENOTSUP);
	ck_assert_int_eq(iscsi_chap_select_alg(""), -EINVAL);
	ck_assert_int_eq(iscsi_chap_select_alg("5,"), -EINVAL);
}
END_TEST

START_TEST(test_verify)
{
	struct iscsi_chap c;
	char id[8], ch[2 * ISCSI_CHAP_CHALLENGE_LEN + 3];
	char r[2 * 16 + 8], b64[40];
	uint8_t want[16], chal[ISCSI_CHAP_BIN_MAX];
	int n;

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(iscsi_chap_verify(&c, "secret", "0x00"), -EACCES);
	ck_assert_int_eq(iscsi_chap_challenge(&c, id, sizeof(id), ch,
	    sizeof(ch)), 0);
	ck_assert_uint_ge(c.challenge_len, 16);
	ck_assert_int_eq(strncmp(ch, "0x", 2), 0);
	ck_assert_uint_eq(strlen(ch), 2 + 2 * c.challenge_len);
	/* the text we send decodes to what we keep */
	n = iscsi_chap_decode(ch, chal, sizeof(chal));
	ck_assert_int_eq(n, (int)c.challenge_len);
	ck_assert_mem_eq(chal, c.challenge, c.challenge_len);
	ck_assert_int_eq(atoi(id), c.id);

	ref_md5(c.id, "secret-12byte", c.challenge, c.challenge_len, want);
	hex(want, 16, r);
	ck_assert_int_eq(iscsi_chap_verify(&c, "secret-12byte", r), 0);
	/* base64 form is fine too */
	strcpy(b64, "0b");
	EVP_EncodeBlock((unsigned char *)b64 + 2, want, 16);
	ck_assert_int_eq(iscsi_chap_verify(&c, "secret-12byte", b64), 0);
	/* wrong secret, flipped bit, wrong length, junk */
	ck_assert_int_eq(iscsi_chap_verify(&c, "secret-12bytf", r), -EACCES);
	r[5] = r[5] == '0' ? '1' : '0';
	ck_assert_int_eq(iscsi_chap_verify(&c, "secret-12byte", r), -EACCES);
	r[5] = '\0';
	ck_assert_int_eq(iscsi_chap_verify(&c, "secret-12byte", r), -EINVAL);
	ck_assert_int_eq(iscsi_chap_verify(&c, "secret-12byte", "abc"),
	    -EINVAL);
	hex(want, 16, r);
	strcat(r, "00");
	ck_assert_int_eq(iscsi_chap_verify(&c, "secret-12byte", r), -EINVAL);
}
END_TEST

START_TEST(test_mutual)
{
	struct iscsi_chap ours, other;
	char id[8], ch[2 * ISCSI_CHAP_CHALLENGE_LEN + 3], ich[80];
	char r[2 * 16 + 3], want_txt[2 * 16 + 3];
	uint8_t ichal[24], want[16];

	iscsi_chap_recent_reset();
	memset(&ours, 0, sizeof(ours));
	ck_assert_int_eq(iscsi_chap_challenge(&ours, id, sizeof(id), ch,
	    sizeof(ch)), 0);
	/* reflection of our own challenge */
	ck_assert_int_eq(iscsi_chap_mutual(&ours, "1", ch, "tsecret", r,
	    sizeof(r)), -EACCES);
	/* our challenge of another connection, reflected here */
	memset(&other, 0, sizeof(other));
	ck_assert_int_eq(iscsi_chap_challenge(&other, id, sizeof(id), ch,
	    sizeof(ch)), 0);
	ck_assert_int_eq(iscsi_chap_mutual(&ours, "1", ch, "tsecret", r,
	    sizeof(r)), -EACCES);
	/* a fresh initiator challenge is answered */
	ck_assert_int_eq(RAND_bytes(ichal, sizeof(ichal)), 1);
	hex(ichal, sizeof(ichal), ich);
	ck_assert_int_eq(iscsi_chap_mutual(&ours, "77", ich, "tsecret", r,
	    sizeof(r)), 0);
	ref_md5(77, "tsecret", ichal, sizeof(ichal), want);
	hex(want, 16, want_txt);
	ck_assert_int_eq(strcasecmp(r, want_txt), 0);
	/* the same challenge again: replay */
	ck_assert_int_eq(iscsi_chap_mutual(&ours, "77", ich, "tsecret", r,
	    sizeof(r)), -EACCES);
	/* malformed */
	ck_assert_int_eq(iscsi_chap_mutual(&ours, "256", ich, "tsecret", r,
	    sizeof(r)), -EINVAL);
	ck_assert_int_eq(iscsi_chap_mutual(&ours, "1", "0x0102030405060708",
	    "tsecret", r, sizeof(r)), -EINVAL);	/* too short */
	ck_assert_int_eq(iscsi_chap_mutual(&ours, "1", "zz", "tsecret", r,
	    sizeof(r)), -EINVAL);
}
END_TEST

START_TEST(test_recent_bounded)
{
	uint8_t c[16];
	unsigned int i;

	iscsi_chap_recent_reset();
	memset(c, 0, sizeof(c));
	for (i = 0; i <= ISCSI_CHAP_RECENT; i++) {
		memcpy(c, &i, sizeof(i));
		iscsi_chap_recent_add(c, sizeof(c));
	}
	i = 0;
	memcpy(c, &i, sizeof(i));
	ck_assert(!iscsi_chap_recent_has(c, sizeof(c)));	/* evicted */
	i = 1;
	memcpy(c, &i, sizeof(i));
	ck_assert(iscsi_chap_recent_has(c, sizeof(c)));
	i = ISCSI_CHAP_RECENT;
	memcpy(c, &i, sizeof(i));
	ck_assert(iscsi_chap_recent_has(c, sizeof(c)));
	iscsi_chap_recent_reset();
	ck_assert(!iscsi_chap_recent_has(c, sizeof(c)));
}
END_TEST

static Suite *
chap_suite(void)
{
	Suite *s = suite_create("iscsi_chap");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_md5_known_answers);
	tcase_add_test(tc, test_decode);
	tcase_add_test(tc, test_encode_and_ids);
	tcase_add_test(tc, test_verify);
	tcase_add_test(tc, test_mutual);
	tcase_add_test(tc, test_recent_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(chap_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
