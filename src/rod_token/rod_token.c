/*
 * rod_token.c - the 512-byte ROD token: layout, signature check and the
 * error table (rod_token.h has the layout and the verification order).
 *
 * Everything here is pure except rod_token_sign()/rod_token_verify(),
 * which ask rod_key.c for the MAC and the module clock for the lifetime.
 */
#include <errno.h>
#include <string.h>

#include <openssl/evp.h>

#include "rod_token/rod_int.h"
#include "rod_token/rod_token.h"
#include "util.h"

#define ROD_CSCD_E4		0xe4
#define ROD_CODE_SET_BINARY	0x01
#define ROD_DESIG_NAA		0x03
#define ROD_NAA_LEN		16

/* --- errors --- */

static const struct {
	const char	*name;
	uint8_t		 key, asc, ascq;
} rod_err_tab[ROD_ERR_MAX] = {
	[ROD_OK] = { "ok", 0, 0, 0 },
	[ROD_ZERO] = { "zero token", 0, 0, 0 },
	[ROD_ERR_NOT_REPORTABLE] = { "cause not reportable", 0x05,
	    ROD_ASC_INVALID_TOKEN_OP, ROD_ASCQ_NOT_REPORTABLE },
	[ROD_ERR_UNSUPPORTED_TYPE] = { "unsupported token type", 0x05,
	    ROD_ASC_INVALID_TOKEN_OP, ROD_ASCQ_UNSUPPORTED_TYPE },
	[ROD_ERR_REMOTE] = { "remote token usage", 0x05,
	    ROD_ASC_INVALID_TOKEN_OP, ROD_ASCQ_REMOTE_USAGE },
	[ROD_ERR_UNKNOWN] = { "token unknown", 0x05,
	    ROD_ASC_INVALID_TOKEN_OP, ROD_ASCQ_UNKNOWN },
	[ROD_ERR_CORRUPT] = { "token corrupt", 0x05,
	    ROD_ASC_INVALID_TOKEN_OP, ROD_ASCQ_CORRUPT },
	[ROD_ERR_REVOKED] = { "token revoked", 0x05,
	    ROD_ASC_INVALID_TOKEN_OP, ROD_ASCQ_REVOKED },
	[ROD_ERR_EXPIRED] = { "token expired", 0x05,
	    ROD_ASC_INVALID_TOKEN_OP, ROD_ASCQ_EXPIRED },
	[ROD_ERR_CANCELLED] = { "token cancelled", 0x05,
	    ROD_ASC_INVALID_TOKEN_OP, ROD_ASCQ_CANCELLED },
	[ROD_ERR_DELETED] = { "token deleted", 0x05,
	    ROD_ASC_INVALID_TOKEN_OP, ROD_ASCQ_DELETED },
	[ROD_ERR_LENGTH] = { "invalid token length", 0x05,
	    ROD_ASC_INVALID_TOKEN_OP, ROD_ASCQ_LENGTH },
	[ROD_ERR_OFFSET] = { "offset beyond the ROD", 0x05,
	    ROD_ASC_INVALID_FIELD_PARAM, 0x00 },
	[ROD_ERR_RANGE] = { "ranges beyond the ROD", 0x05,
	    ROD_ASC_COPY_TARGET, ROD_ASCQ_UNDERRUN },
	[ROD_ERR_NO_ROD] = { "insufficient resources (ROD)", 0x05,
	    ROD_ASC_INSUFF_RESOURCES, ROD_ASCQ_NO_ROD },
	[ROD_ERR_NO_TOKEN] = { "insufficient resources (ROD token)", 0x05,
	    ROD_ASC_INSUFF_RESOURCES, ROD_ASCQ_NO_ROD_TOKEN },
};

bool
rod_err_sense(enum rod_err err, uint8_t *key, uint8_t *asc, uint8_t *ascq)
{
	if ((unsigned int)err >= ROD_ERR_MAX || err == ROD_OK ||
	    err == ROD_ZERO)
		return false;
	*key = rod_err_tab[err].key;
	*asc = rod_err_tab[err].asc;
	*ascq = rod_err_tab[err].ascq;
	return true;
}

const char *
rod_err_name(enum rod_err err)
{
	if ((unsigned int)err >= ROD_ERR_MAX)
		return "?";
	return rod_err_tab[err].name;
}

/* --- layout --- */

void
rod_token_build(const struct rod_token_fields *f, uint8_t *out)
{
	uint8_t *c = out + ROD_OFF_CREATOR;
	uint8_t *t = out + ROD_OFF_TARGET_DESC;

	memset(out, 0, ROD_TOKEN_LEN);
	put_be32(out + ROD_OFF_TYPE, f->rod_type);
	put_be16(out + ROD_OFF_LENGTH, ROD_TOKEN_LENGTH_FIELD);
	put_be64(out + ROD_OFF_ID, f->id);

	/* SPC-4 6.4.5.2 E4h descriptor: PDT 0 (disk), LU ID TYPE 00b,
	 * relative port 0, binary NAA designator for the logical unit */
	c[0] = ROD_CSCD_E4;
	c[1] = 0x00;
	c[4] = ROD_CODE_SET_BINARY;
	c[5] = ROD_DESIG_NAA;		/* association 00b: LU */
	c[7] = ROD_NAA_LEN;
	memcpy(c + 8, f->naa, ROD_NAA_LEN);
	c[28] = 0x00;			/* PAD 0 */
	put_be24(c + 29, f->block_size);

	/* NUMBER OF BYTES REPRESENTED: 128 bits, upper half zero */
	put_be64(out + ROD_OFF_BYTES + 8, f->bytes);
	memcpy(out + ROD_OFF_DEV_SPECIFIC, f->dev_specific,
	    ROD_DEV_SPECIFIC_LEN);

	/* TARGET DEVICE DESCRIPTOR: the LU's VPD 83h NAA descriptor */
	t[0] = ROD_CODE_SET_BINARY;	/* protocol identifier 0 */
	t[1] = ROD_DESIG_NAA;		/* PIV 0, association LU */
	t[3] = ROD_NAA_LEN;
	memcpy(t + 4, f->naa, ROD_NAA_LEN);

	out[ROD_OFF_VERSION] = ROD_FORMAT_VERSION;
	put_be32(out + ROD_OFF_KEY_ID, f->key_id);
	put_be64(out + ROD_OFF_CREATED, f->created_s);
	put_be64(out + ROD_OFF_EXPIRES, f->expires_s);
	put_be32(out + ROD_OFF_TIMEOUT, f->timeout_s);
	put_be32(out + ROD_OFF_NRANGES, f->n_ranges);
	memcpy(out + ROD_OFF_DIGEST, f->digest, ROD_DIGEST_LEN);
}

int
rod_token_parse(const uint8_t *tok, size_t len, struct rod_token_fields *f)
{
	const uint8_t *c;

	memset(f, 0, sizeof(*f));
	if (tok == NULL || len < ROD_TOKEN_LEN ||
	    get_be16(tok + ROD_OFF_LENGTH) != ROD_TOKEN_LENGTH_FIELD)
		return -EINVAL;
	c = tok + ROD_OFF_CREATOR;
	f->rod_type = get_be32(tok + ROD_OFF_TYPE);
	f->id = get_be64(tok + ROD_OFF_ID);
	memcpy(f->naa, c + 8, ROD_NAA_LEN);
	f->block_size = get_be24(c + 29);
	f->bytes = get_be64(tok + ROD_OFF_BYTES + 8);
	memcpy(f->dev_specific, tok + ROD_OFF_DEV_SPECIFIC,
	    ROD_DEV_SPECIFIC_LEN);
	f->key_id = get_be32(tok + ROD_OFF_KEY_ID);
	f->created_s = get_be64(tok + ROD_OFF_CREATED);
	f->expires_s = get_be64(tok + ROD_OFF_EXPIRES);
	f->timeout_s = get_be32(tok + ROD_OFF_TIMEOUT);
	f->n_ranges = get_be32(tok + ROD_OFF_NRANGES);
	memcpy(f->digest, tok + ROD_OFF_DIGEST, ROD_DIGEST_LEN);
	if (c[0] != ROD_CSCD_E4 || (c[4] & 0x0f) != ROD_CODE_SET_BINARY ||
	    (c[5] & 0x3f) != ROD_DESIG_NAA || c[7] != ROD_NAA_LEN ||
	    get_be64(tok + ROD_OFF_BYTES) != 0)
		return -EBADMSG;
	return 0;
}

int
rod_token_sign(uint8_t *tok)
{
	uint32_t key_id;
	uint8_t mac[ROD_MAC_LEN];
	int rc;

	/* the key id is inside the MACed bytes: sign a copy with the id
	 * the key module reports, retry if a rotation slipped in between */
	for (int tries = 0; tries < 4; tries++) {
		put_be32(tok + ROD_OFF_KEY_ID, rod_key_id());
		rc = rod_key_sign(tok, ROD_OFF_MAC, &key_id, mac);
		if (rc != 0)
			return rc;
		if (key_id == get_be32(tok + ROD_OFF_KEY_ID)) {
			memcpy(tok + ROD_OFF_MAC, mac, ROD_MAC_LEN);
			return 0;
		}
	}
	return -EAGAIN;
}

static bool
rod_type_issued(uint32_t t)
{
	return t == ROD_TYPE_PIT_DEFAULT || t == ROD_TYPE_PIT_VULN ||
	    t == ROD_TYPE_PIT_COW;
}

bool
rod_token_is_zero(const uint8_t *tok, size_t len)
{
	return tok != NULL && len >= ROD_TOKEN_LEN &&
	    get_be32(tok + ROD_OFF_TYPE) == ROD_TYPE_BLOCK_ZERO &&
	    get_be16(tok + ROD_OFF_LENGTH) == ROD_TOKEN_LENGTH_FIELD;
}

void
rod_token_build_zero(uint8_t *out)
{
	memset(out, 0, ROD_TOKEN_LEN);
	put_be32(out + ROD_OFF_TYPE, ROD_TYPE_BLOCK_ZERO);
	put_be16(out + ROD_OFF_LENGTH, ROD_TOKEN_LENGTH_FIELD);
}

enum rod_err
rod_token_verify(const uint8_t *tok, size_t len, struct rod_token_fields *f)
{
	uint32_t type;
	int rc;

	memset(f, 0, sizeof(*f));
	/* 1. framing */
	if (tok == NULL || len < ROD_TOKEN_LEN ||
	    get_be16(tok + ROD_OFF_LENGTH) != ROD_TOKEN_LENGTH_FIELD)
		return ROD_ERR_LENGTH;
	/* 2, 3. type */
	type = get_be32(tok + ROD_OFF_TYPE);
	if (type == ROD_TYPE_BLOCK_ZERO) {
		f->rod_type = type;
		return ROD_ZERO;
	}
	if (!rod_type_issued(type))
		return ROD_ERR_UNSUPPORTED_TYPE;
	/* 4. key and MAC, before anything else is believed */
	rc = rod_key_verify(tok, ROD_OFF_MAC, get_be32(tok + ROD_OFF_KEY_ID),
	    tok + ROD_OFF_MAC);
	if (rc == -ESTALE)
		return ROD_ERR_REVOKED;
	if (rc != 0)
		return ROD_ERR_CORRUPT;
	/* a genuine token of ours: the layout must hold */
	if (rod_token_parse(tok, len, f) != 0 ||
	    tok[ROD_OFF_VERSION] != ROD_FORMAT_VERSION || f->bytes == 0)
		return ROD_ERR_CORRUPT;
	/* 5. hard lifetime */
	if (rod_now_s() >= f->expires_s)
		return ROD_ERR_EXPIRED;
	return ROD_OK;
}

void
rod_token_digest(const uint8_t naa[16], uint32_t block_size,
    uint32_t rod_type, uint64_t bytes, const struct rod_range *r,
    unsigned int n, uint8_t out[ROD_DIGEST_LEN])
{
	static const char tag[] = "tpcd rod token v1";
	uint8_t hdr[16 + 4 + 4 + 8 + 4], rb[12];
	EVP_MD_CTX *ctx;
	unsigned int olen = 0;
	bool ok;

	memcpy(hdr, naa, 16);
	put_be32(hdr + 16, block_size);
	put_be32(hdr + 20, rod_type);
	put_be64(hdr + 24, bytes);
	put_be32(hdr + 32, n);
	ctx = EVP_MD_CTX_new();
	ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(ctx, tag, sizeof(tag) - 1) &&
	    EVP_DigestUpdate(ctx, hdr, sizeof(hdr));
	for (unsigned int i = 0; ok && i < n; i++) {
		put_be64(rb, r[i].lba);
		put_be32(rb + 8, r[i].nblocks);
		ok = EVP_DigestUpdate(ctx, rb, sizeof(rb));
	}
	if (ok)
		ok = EVP_DigestFinal_ex(ctx, out, &olen) && olen == 32;
	EVP_MD_CTX_free(ctx);
	if (!ok)	/* never matches a real digest: the token is corrupt */
		memset(out, 0xff, ROD_DIGEST_LEN);
}
