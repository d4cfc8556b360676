/*
 * fuzz_chap.c - CHAP values and verification (iscsi_chap.h): CHAP_A
 * lists, CHAP_I, the binary encodings of CHAP_C/CHAP_R, the target's check
 * of an initiator's CHAP_R and the mutual answer to CHAP_I/CHAP_C.
 *
 * Input:
 *   byte 0      decode bound for the raw decoder (0..255, +1024 if bit 7
 *               of byte 1)
 *   byte 1      flags: 0x01 a challenge has been issued, 0x02 the
 *               initiator's CHAP_C reflects ours, 0x80 see above
 *   byte 2      our CHAP_I
 *   byte 3      our challenge length (& 31, +1)
 *   N bytes     our challenge
 *   strings     NUL-separated: CHAP_A, CHAP_N (unused but parsed as a
 *               name), CHAP_R, CHAP_I, CHAP_C, secret
 *
 * Properties, beyond not crashing:
 * - the decoder agrees with a straightforward reference decoder whenever
 *   it accepts, never writes past its bound and never returns more;
 * - verify accepts a CHAP_R only if it decodes to exactly
 *   MD5(id || secret || challenge), and accepts that value in hex and
 *   base64;
 * - a mutual answer decodes to MD5(CHAP_I || secret || CHAP_C) and a
 *   reflected challenge is refused.
 */
#include <errno.h>

#include "fuzz.h"
#include "iscsi_chap.h"

#define FUZZ_BIN_MAX	(ISCSI_CHAP_BIN_MAX + 256)

static int
ref_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
ref_b64val(int c)
{
	const char *tab =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c != 0 ? strchr(tab, c) : NULL;

	return p != NULL ? (int)(p - tab) : -1;
}

/* RFC 7143 6.1 binary values, written the obvious way. */
static int
ref_decode(const char *s, uint8_t *out, size_t max)
{
	size_t n, i, o = 0, pad = 0;
	int v, hi;

	if (s[0] != '0')
		return -EINVAL;
	if (s[1] == 'x' || s[1] == 'X') {
		s += 2;
		n = strlen(s);
		if (n == 0 || (n + 1) / 2 > max)
			return -EINVAL;
		memset(out, 0, (n + 1) / 2);
		for (i = 0; i < n; i++) {
			size_t k = i + n % 2;	/* odd: implied leading zero */

			if ((v = ref_hexval((unsigned char)s[i])) < 0)
				return -EINVAL;
			out[k / 2] |= (uint8_t)(k % 2 == 0 ? v << 4 : v);
		}
		o = (n + 1) / 2;
		return (int)o;
	}
	if (s[1] != 'b' && s[1] != 'B')
		return -EINVAL;
	s += 2;
	n = strlen(s);
	if (n == 0 || n % 4 != 0)
		return -EINVAL;
	while (pad < 2 && s[n - 1 - pad] == '=')
		pad++;
	if (n / 4 * 3 - pad > max)
		return -EINVAL;
	for (i = 0; i < n; i += 4) {
		uint32_t acc = 0;
		int j;

		for (j = 0; j < 4; j++) {
			hi = (i + 4 == n && j >= 4 - (int)pad) ? 0 :
			    ref_b64val((unsigned char)s[i + j]);
			if (hi < 0)
				return -EINVAL;
			acc = acc << 6 | (uint32_t)hi;
		}
		out[o++] = (uint8_t)(acc >> 16);
		if (i + 4 < n || pad < 2)
			out[o++] = (uint8_t)(acc >> 8);
		if (i + 4 < n || pad < 1)
			out[o++] = (uint8_t)acc;
	}
	return (int)o;
}

static void
fuzz_decode(const char *s, size_t max)
{
	uint8_t *a, *b;
	int na, nb;

	/* Exact-size buffers so ASan catches a write past max. */
	a = malloc(max != 0 ? max : 1);
	b = malloc(FUZZ_BIN_MAX * 2);
	if (a == NULL || b == NULL)
		goto out;
	na = iscsi_chap_decode(s, a, max);
	if (na < 0) {
		FUZZ_CHECK(na == -EINVAL);
		goto out;
	}
	FUZZ_CHECK((size_t)na <= max);
	nb = ref_decode(s, b, FUZZ_BIN_MAX * 2);
	FUZZ_CHECK(nb == na);
	FUZZ_CHECK(na == 0 || memcmp(a, b, (size_t)na) == 0);
out:
	free(a);
	free(b);
}

static void
b64_encode(const uint8_t *in, size_t n, char *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 2;
	uint32_t acc;

	out[0] = '0';
	out[1] = 'b';
	for (i = 0; i < n; i += 3) {
		acc = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			acc |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			acc |= in[i + 2];
		out[o++] = tab[acc >> 18 & 63];
		out[o++] = tab[acc >> 12 & 63];
		out[o++] = i + 1 < n ? tab[acc >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? tab[acc & 63] : '=';
	}
	out[o] = '\0';
}

static void
fuzz_verify(const struct iscsi_chap *ours, const char *secret,
    const char *chap_r)
{
	uint8_t want[ISCSI_CHAP_MD5_LEN], got[FUZZ_BIN_MAX];
	char text[2 * ISCSI_CHAP_MD5_LEN + 8];
	int rc;

	rc = iscsi_chap_verify(ours, secret, chap_r);
	FUZZ_CHECK(rc == 0 || rc == -EACCES || rc == -EINVAL);
	if (ours->challenge_len == 0) {
		FUZZ_CHECK(rc != 0);
		return;
	}
	FUZZ_CHECK(iscsi_chap_md5(ours->id, (const uint8_t *)secret,
	    strlen(secret), ours->challenge, ours->challenge_len, want) == 0);
	if (rc == 0) {
		/* No false accept. */
		FUZZ_CHECK(ref_decode(chap_r, got, sizeof(got)) ==
		    ISCSI_CHAP_MD5_LEN);
		FUZZ_CHECK(memcmp(got, want, sizeof(want)) == 0);
	}
	/* No false reject. */
	FUZZ_CHECK(iscsi_chap_encode_hex(want, sizeof(want), text,
	    sizeof(text)) == 0);
	FUZZ_CHECK(iscsi_chap_verify(ours, secret, text) == 0);
	b64_encode(want, sizeof(want), text);
	FUZZ_CHECK(iscsi_chap_verify(ours, secret, text) == 0);
}

static void
fuzz_mutual(const struct iscsi_chap *ours, const char *chap_i,
    const char *chap_c, const char *secret)
{
	uint8_t chal[FUZZ_BIN_MAX], want[ISCSI_CHAP_MD5_LEN];
	uint8_t got[ISCSI_CHAP_MD5_LEN + 1];
	char r[2 * ISCSI_CHAP_MD5_LEN + 3];
	uint8_t id;
	int rc, n;

	memset(r, 0x55, sizeof(r));
	rc = iscsi_chap_mutual(ours, chap_i, chap_c, secret, r, sizeof(r));
	FUZZ_CHECK(rc == 0 || rc == -EACCES || rc == -EINVAL);
	if (rc != 0)
		return;
	FUZZ_CHECK(memchr(r, '\0', sizeof(r)) != NULL);
	FUZZ_CHECK(iscsi_chap_parse_id(chap_i, &id) == 0);
	n = ref_decode(chap_c, chal, sizeof(chal));
	FUZZ_CHECK(n >= ISCSI_CHAP_CHALLENGE_MIN && n <= ISCSI_CHAP_BIN_MAX);
	FUZZ_CHECK(ours == NULL || ours->challenge_len != (size_t)n ||
	    memcmp(ours->challenge, chal, (size_t)n) != 0);
	FUZZ_CHECK(iscsi_chap_md5(id, (const uint8_t *)secret, strlen(secret),
	    chal, (size_t)n, want) == 0);
	FUZZ_CHECK(iscsi_chap_decode(r, got, sizeof(got)) ==
	    ISCSI_CHAP_MD5_LEN);
	FUZZ_CHECK(memcmp(got, want, sizeof(want)) == 0);
	/* The same challenge again is a replay. */
	FUZZ_CHECK(iscsi_chap_mutual(ours, chap_i, chap_c, secret, r,
	    sizeof(r)) == -EACCES);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iscsi_chap ours;
	struct fuzz_in in;
	char *s[6] = { NULL };
	char refl[2 * ISCSI_CHAP_CHALLENGE_LEN + 3];
	char r[2 * ISCSI_CHAP_MD5_LEN + 3];
	const uint8_t *p;
	size_t max, got, i;
	uint8_t flags, id;
	int rc;

	iscsi_chap_recent_reset();
	fuzz_in_init(&in, data, size);
	max = fuzz_u8(&in);
	flags = fuzz_u8(&in);
	if (flags & 0x80)
		max += ISCSI_CHAP_BIN_MAX;
	memset(&ours, 0, sizeof(ours));
	ours.id = fuzz_u8(&in);
	ours.challenge_len = (fuzz_u8(&in) & 31) + 1;
	p = fuzz_bytes(&in, ours.challenge_len, &got);
	memcpy(ours.challenge, p, got);
	if (!(flags & 0x01))
		ours.challenge_len = 0;
	for (i = 0; i < 6; i++) {
		s[i] = fuzz_str(&in);
		if (s[i] == NULL)
			goto out;
	}

	rc = iscsi_chap_select_alg(s[0]);
	FUZZ_CHECK(rc == ISCSI_CHAP_ALG_MD5 || rc == -ENOTSUP ||
	    rc == -EINVAL);
	(void)iscsi_chap_parse_id(s[3], &id);
	for (i = 0; i < 6; i++)
		fuzz_decode(s[i], max);
	fuzz_verify(&ours, s[5], s[2]);
	if ((flags & 0x02) && ours.challenge_len != 0) {
		/* Reflection of our own challenge must be refused. */
		FUZZ_CHECK(iscsi_chap_encode_hex(ours.challenge,
		    ours.challenge_len, refl, sizeof(refl)) == 0);
		rc = iscsi_chap_mutual(&ours, s[3], refl, s[5], r,
		    sizeof(r));
		FUZZ_CHECK(rc != 0);
	} else {
		fuzz_mutual(flags & 0x01 ? &ours : NULL, s[3], s[4], s[5]);
	}
out:
	for (i = 0; i < 6; i++)
		free(s[i]);
	return 0;
}
