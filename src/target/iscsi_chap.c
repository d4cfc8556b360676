/*
 * iscsi_chap.c - CHAP with MD5 for iSCSI login (RFC 1994, RFC 7143
 * 12.1.3), using OpenSSL for the digest, randomness and constant-time
 * comparison.
 *
 * Recent challenges are kept as SHA-256 digests in a ring guarded by a
 * mutex: logins run on loop 0 today, but the set must stay correct if they
 * ever move.  An initiator challenge found in the ring is refused, which
 * covers both reflection of a challenge we issued on another connection and
 * replay of an earlier initiator challenge.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "iscsi_chap.h"
#include "iscsi_param.h"
#include "util.h"

#define ISCSI_CHAP_FP_LEN	32

static struct {
	pthread_mutex_t	 lock;
	uint8_t		 fp[ISCSI_CHAP_RECENT][ISCSI_CHAP_FP_LEN];
	unsigned int	 next;
	unsigned int	 count;
} iscsi_chap_recent = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* --- encodings --- */

static int
iscsi_chap_decode_hex(const char *s, uint8_t *out, size_t max)
{
	size_t n = strlen(s), i, o = 0;
	int hi, lo;

	if (n == 0 || DIV_ROUND_UP(n, 2) > max)
		return -EINVAL;
	i = 0;
	if (n % 2 == 1) {		/* implied leading zero */
		lo = hex_digit((unsigned char)s[0]);
		if (lo < 0)
			return -EINVAL;
		out[o++] = (uint8_t)lo;
		i = 1;
	}
	for (; i < n; i += 2) {
		hi = hex_digit((unsigned char)s[i]);
		lo = hex_digit((unsigned char)s[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[o++] = (uint8_t)(hi << 4 | lo);
	}
	return (int)o;
}

static int
iscsi_chap_b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static int
iscsi_chap_decode_b64(const char *s, uint8_t *out, size_t max)
{
	size_t n = strlen(s), i, o = 0, pad = 0;
	uint32_t acc;
	int v, j;

	if (n == 0 || n % 4 != 0)
		return -EINVAL;
	if (s[n - 1] == '=')
		pad++;
	if (s[n - 2] == '=')
		pad++;
	if ((n / 4) * 3 - pad > max)
		return -EINVAL;
	for (i = 0; i < n; i += 4) {
		acc = 0;
		for (j = 0; j < 4; j++) {
			if (s[i + j] == '=' && i + 4 == n &&
			    (size_t)j >= 4 - pad) {
				v = 0;
			} else {
				v = iscsi_chap_b64val((unsigned char)s[i + j]);
				if (v < 0)
					return -EINVAL;
			}
			acc = acc << 6 | (uint32_t)v;
		}
		out[o++] = (uint8_t)(acc >> 16);
		if (i + 4 < n || pad < 2)
			out[o++] = (uint8_t)(acc >> 8);
		if (i + 4 < n || pad < 1)
			out[o++] = (uint8_t)acc;
	}
	return (int)o;
}

int
iscsi_chap_decode(const char *text, uint8_t *out, size_t max)
{
	if (text[0] != '0')
		return -EINVAL;
	if (text[1] == 'x' || text[1] == 'X')
		return iscsi_chap_decode_hex(text + 2, out, max);
	if (text[1] == 'b' || text[1] == 'B')
		return iscsi_chap_decode_b64(text + 2, out, max);
	return -EINVAL;
}

int
iscsi_chap_encode_hex(const uint8_t *in, size_t n, char *out, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	if (len < 2 * n + 3)
		return -ENOSPC;
	out[0] = '0';
	out[1] = 'x';
	for (i = 0; i < n; i++) {
		out[2 + 2 * i] = digits[in[i] >> 4];
		out[3 + 2 * i] = digits[in[i] & 0xf];
	}
	out[2 + 2 * n] = '\0';
	return 0;
}

int
iscsi_chap_parse_id(const char *s, uint8_t *id)
{
	uint32_t v;

	if (iscsi_param_parse_u32(s, &v) != 0 || v > 255)
		return -EINVAL;
	*id = (uint8_t)v;
	return 0;
}

int
iscsi_chap_select_alg(const char *list)
{
	const char *p = list, *c;
	char item[16];
	size_t len;
	uint32_t v;
	bool found = false;

	for (;;) {
		c = strchr(p, ',');
		len = c != NULL ? (size_t)(c - p) : strlen(p);
		if (len == 0 || len >= sizeof(item))
			return -EINVAL;
		memcpy(item, p, len);
		item[len] = '\0';
		/* Unknown (non-numeric) values are allowed in a list. */
		if (iscsi_param_parse_u32(item, &v) == 0 &&
		    v == ISCSI_CHAP_ALG_MD5)
			found = true;
		if (c == NULL)
			break;
		p = c + 1;
	}
	return found ? ISCSI_CHAP_ALG_MD5 : -ENOTSUP;
}

/* --- digests --- */

int
iscsi_chap_md5(uint8_t id, const uint8_t *secret, size_t secret_len,
    const uint8_t *chal, size_t chal_len, uint8_t out[ISCSI_CHAP_MD5_LEN])
{
	EVP_MD_CTX *ctx;
	unsigned int olen = 0;
	int ok;

	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return -EIO;
	ok = EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, &id, 1) == 1 &&
	    EVP_DigestUpdate(ctx, secret, secret_len) == 1 &&
	    EVP_DigestUpdate(ctx, chal, chal_len) == 1 &&
	    EVP_DigestFinal_ex(ctx, out, &olen) == 1 &&
	    olen == ISCSI_CHAP_MD5_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

static int
iscsi_chap_fingerprint(const uint8_t *chal, size_t len,
    uint8_t fp[ISCSI_CHAP_FP_LEN])
{
	unsigned int olen = 0;

	if (EVP_Digest(chal, len, fp, &olen, EVP_sha256(), NULL) != 1 ||
	    olen != ISCSI_CHAP_FP_LEN)
		return -EIO;
	return 0;
}

void
iscsi_chap_recent_add(const uint8_t *chal, size_t len)
{
	uint8_t fp[ISCSI_CHAP_FP_LEN];

	if (iscsi_chap_fingerprint(chal, len, fp) != 0)
		return;
	pthread_mutex_lock(&iscsi_chap_recent.lock);
	memcpy(iscsi_chap_recent.fp[iscsi_chap_recent.next], fp, sizeof(fp));
	iscsi_chap_recent.next = (iscsi_chap_recent.next + 1) %
	    ISCSI_CHAP_RECENT;
	if (iscsi_chap_recent.count < ISCSI_CHAP_RECENT)
		iscsi_chap_recent.count++;
	pthread_mutex_unlock(&iscsi_chap_recent.lock);
}

bool
iscsi_chap_recent_has(const uint8_t *chal, size_t len)
{
	uint8_t fp[ISCSI_CHAP_FP_LEN];
	unsigned int i;
	bool found = false;

	if (iscsi_chap_fingerprint(chal, len, fp) != 0)
		return true;		/* cannot tell: refuse */
	pthread_mutex_lock(&iscsi_chap_recent.lock);
	for (i = 0; i < iscsi_chap_recent.count; i++)
		if (memcmp(iscsi_chap_recent.fp[i], fp, sizeof(fp)) == 0)
			found = true;
	pthread_mutex_unlock(&iscsi_chap_recent.lock);
	return found;
}

void
iscsi_chap_recent_reset(void)
{
	pthread_mutex_lock(&iscsi_chap_recent.lock);
	iscsi_chap_recent.next = 0;
	iscsi_chap_recent.count = 0;
	pthread_mutex_unlock(&iscsi_chap_recent.lock);
}

/* --- exchanges --- */

int
iscsi_chap_challenge(struct iscsi_chap *c, char *id_out, size_t id_len,
    char *c_out, size_t c_len)
{
	if (RAND_bytes(&c->id, 1) != 1 ||
	    RAND_bytes(c->challenge, ISCSI_CHAP_CHALLENGE_LEN) != 1) {
		c->challenge_len = 0;
		return -EIO;
	}
	c->challenge_len = ISCSI_CHAP_CHALLENGE_LEN;
	if ((size_t)snprintf(id_out, id_len, "%u", c->id) >= id_len ||
	    iscsi_chap_encode_hex(c->challenge, c->challenge_len, c_out,
	    c_len) != 0) {
		c->challenge_len = 0;
		return -ENOSPC;
	}
	iscsi_chap_recent_add(c->challenge, c->challenge_len);
	return 0;
}

int
iscsi_chap_verify(const struct iscsi_chap *c, const char *secret,
    const char *chap_r)
{
	uint8_t got[ISCSI_CHAP_MD5_LEN + 1], want[ISCSI_CHAP_MD5_LEN];
	int n;

	if (c->challenge_len == 0)
		return -EACCES;
	n = iscsi_chap_decode(chap_r, got, sizeof(got));
	if (n != ISCSI_CHAP_MD5_LEN)
		return -EINVAL;
	if (iscsi_chap_md5(c->id, (const uint8_t *)secret, strlen(secret),
	    c->challenge, c->challenge_len, want) != 0)
		return -EACCES;
	if (CRYPTO_memcmp(got, want, ISCSI_CHAP_MD5_LEN) != 0)
		return -EACCES;
	return 0;
}

int
iscsi_chap_mutual(const struct iscsi_chap *ours, const char *chap_i,
    const char *chap_c, const char *secret, char *r_out, size_t r_len)
{
	uint8_t chal[ISCSI_CHAP_BIN_MAX], digest[ISCSI_CHAP_MD5_LEN];
	uint8_t id;
	int n;

	if (iscsi_chap_parse_id(chap_i, &id) != 0)
		return -EINVAL;
	n = iscsi_chap_decode(chap_c, chal, sizeof(chal));
	if (n < ISCSI_CHAP_CHALLENGE_MIN)
		return -EINVAL;
	/* RFC 7143 12.1.3: never answer our own challenge (reflection). */
	if (ours != NULL && ours->challenge_len == (size_t)n &&
	    CRYPTO_memcmp(ours->challenge, chal, (size_t)n) == 0)
		return -EACCES;
	if (iscsi_chap_recent_has(chal, (size_t)n))
		return -EACCES;
	iscsi_chap_recent_add(chal, (size_t)n);
	if (iscsi_chap_md5(id, (const uint8_t *)secret, strlen(secret), chal,
	    (size_t)n, digest) != 0)
		return -EIO;
	return iscsi_chap_encode_hex(digest, sizeof(digest), r_out, r_len);
}
