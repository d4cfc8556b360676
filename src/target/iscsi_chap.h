/*
 * iscsi_chap.h - CHAP (RFC 1994) with MD5 for iSCSI login (RFC 7143
 * 12.1.3): challenges, responses and the binary value encodings.
 *
 * The target issues CHAP_I and a random CHAP_C, checks the initiator's
 * CHAP_R = MD5(CHAP_I || secret || CHAP_C) in constant time, and for mutual
 * CHAP answers the initiator's CHAP_I/CHAP_C with its own CHAP_R.  A
 * process-wide bounded set of recent challenges (ours and the initiators')
 * lets us refuse an initiator challenge that reflects one of ours or
 * replays an earlier one.  Only CHAP_A=5 (MD5) is supported.
 */
#ifndef TPCD_ISCSI_CHAP_H
#define TPCD_ISCSI_CHAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ISCSI_CHAP_ALG_MD5	5
#define ISCSI_CHAP_MD5_LEN	16
#define ISCSI_CHAP_CHALLENGE_LEN 32	/* what we issue */
#define ISCSI_CHAP_CHALLENGE_MIN 16	/* what we accept from initiators */
#define ISCSI_CHAP_BIN_MAX	1024	/* RFC 7143 12.1.3 CHAP_C bound */
#define ISCSI_CHAP_RECENT	1024	/* challenges remembered */

/* One side's outstanding challenge. */
struct iscsi_chap {
	uint8_t		 id;
	uint8_t		 challenge[ISCSI_CHAP_CHALLENGE_LEN];
	size_t		 challenge_len;	/* 0: none issued */
};

/* Choose from a CHAP_A list ("5", "7,5"): ISCSI_CHAP_ALG_MD5, or -ENOTSUP
 * if 5 is not offered, -EINVAL if malformed. */
int	iscsi_chap_select_alg(const char *list);
/* Make a fresh CHAP_I and CHAP_C and write their text values ("17",
 * "0x...").  Returns 0 or -EIO (no randomness), -ENOSPC. */
int	iscsi_chap_challenge(struct iscsi_chap *, char *id_out, size_t id_len,
	    char *c_out, size_t c_len);
/* Check the initiator's CHAP_R text against secret.  0, -EACCES (wrong
 * response or no challenge issued), -EINVAL (malformed). */
int	iscsi_chap_verify(const struct iscsi_chap *, const char *secret,
	    const char *chap_r);
/* Mutual CHAP: answer the initiator's CHAP_I/CHAP_C with our CHAP_R text
 * computed from secret.  -EACCES if the challenge reflects ours or was
 * seen before, -EINVAL if malformed or too short, -ENOSPC. */
int	iscsi_chap_mutual(const struct iscsi_chap *ours, const char *chap_i,
	    const char *chap_c, const char *secret, char *r_out, size_t r_len);

/* MD5(id || secret || challenge).  0 or -EIO. */
int	iscsi_chap_md5(uint8_t id, const uint8_t *secret, size_t secret_len,
	    const uint8_t *chal, size_t chal_len,
	    uint8_t out[ISCSI_CHAP_MD5_LEN]);
/* Binary value (RFC 7143 6.1): "0x"/"0X" hex (odd digit counts get a
 * leading zero) or "0b"/"0B" base64.  Returns the length or -EINVAL
 * (also when longer than max). */
int	iscsi_chap_decode(const char *text, uint8_t *out, size_t max);
/* "0x" + lower-case hex.  0 or -ENOSPC. */
int	iscsi_chap_encode_hex(const uint8_t *, size_t, char *out, size_t len);
/* CHAP_I: decimal or 0x hex, 0..255.  0 or -EINVAL. */
int	iscsi_chap_parse_id(const char *s, uint8_t *id);

/* Recent challenge set (process-wide, thread-safe). */
void	iscsi_chap_recent_add(const uint8_t *chal, size_t len);
bool	iscsi_chap_recent_has(const uint8_t *chal, size_t len);
void	iscsi_chap_recent_reset(void);		/* tests */

#endif
