/*
 * rod_token.h - ROD tokens for POPULATE TOKEN / WRITE USING TOKEN (ODX):
 * the 512-byte token layout, its HMAC-SHA256 signature and key, and the
 * registry of the tokens this copy manager issued.  No I/O here (except
 * the key file); the commands live in src/xcopy/odx_*.c.
 *
 * DESIGN.  The module owns three things:
 *
 *   rod_token.c     pure layout: build the 512-byte token (SPC-4 ROD token
 *                   format, third-party-copy.md 6.4) from host fields and
 *                   parse it back.  Bytes 0-255 are the standard part:
 *                   ROD TYPE, ROD TOKEN LENGTH 01F8h, a random 64-bit copy
 *                   manager token id, the creator LU as an E4h CSCD
 *                   descriptor (NAA 6h designator), NUMBER OF BYTES
 *                   REPRESENTED, READ CAPACITY(16) bytes 8-31 of the creator,
 *                   and the LU's VPD 83h NAA designation descriptor as the
 *                   target device descriptor.  Bytes 256-511 are our
 *                   extended ROD token data: format version, key id,
 *                   creation and hard expiry times (wall clock, seconds),
 *                   inactivity timeout, range count, SHA-256 of the creator
 *                   identity and the source ranges, and at 480-511 an
 *                   HMAC-SHA256 over bytes 0-479.
 *   rod_key.c       the 32-byte HMAC key: STATE_DIR/rod.key (mode 0600,
 *                   written to a temp file with O_EXCL, fsync'd, renamed),
 *                   or a fresh in-memory key per start without a state dir.
 *                   key id = first 4 bytes of SHA-256(key).  rod_key_rotate()
 *                   writes a new key and retires the old one: tokens signed
 *                   with a retired key are refused at once (immediate
 *                   revocation -- tokens live seconds to minutes, so no
 *                   grace period is worth the risk), and every registered
 *                   token is revoked.
 *   rod_registry.c  the table of issued tokens, keyed by token id: one
 *                   mutex (shared by all loops), at most ROD_MAX_TOKENS
 *                   valid tokens (-ENOSPC beyond: INSUFFICIENT RESOURCES TO
 *                   CREATE ROD TOKEN 55h/0Dh).  An entry holds a reference
 *                   to the creator LU, the source ranges, the inactivity
 *                   timeout and last use, the issuing nexus's initiator and
 *                   target names, an optional snapshot handle, and a state.
 *                   Dead entries (revoked, expired, cancelled, deleted)
 *                   stay as tombstones for ROD_TOMBSTONE_MS so a later use
 *                   gets the precise 23h/xx reason; then TOKEN UNKNOWN.
 *                   The registry is memory only: after a restart every
 *                   token is TOKEN UNKNOWN (its MAC still verifies when the
 *                   key file persists).
 *
 * Verification order (rod_registry_lookup), each step before the next:
 *   1. buffer < 512 bytes or ROD TOKEN LENGTH != 01F8h     -> 23h/0Ah
 *   2. ROD TYPE FFFF0001h (block device zero ROD token)    -> ROD_ZERO
 *      (no other check; the caller writes zeroes)
 *   3. ROD TYPE not one we issue                           -> 23h/01h
 *   4. key id of a key retired in this process             -> 23h/06h
 *      key id not current, or HMAC mismatch (CRYPTO_memcmp) -> 23h/05h
 *      (the MAC covers bytes 0-479, so a change to any byte but the
 *      type and length fields is CORRUPT -- the id included; nothing is
 *      looked up before the MAC passed)
 *      a signed token whose layout is not ours (creator, version, 0
 *      bytes)                                              -> 23h/05h
 *   5. hard lifetime (creation + ROD_MAX_LIFETIME_S) passed -> 23h/07h
 *   6. id not in the registry                              -> 23h/04h
 *   7. entry revoked / expired (inactivity, lazily here) / cancelled /
 *      deleted                                       -> 23h/06h,07h,08h,09h
 *   8. issued through another target (scope)               -> 23h/02h
 *   9. registry entry disagrees with the token (type, creator, bytes,
 *      ranges digest, timeout, expiry)                     -> 23h/05h
 * On success the entry is referenced and its inactivity timer restarted.
 * An entry referenced by a WUT never expires under it.
 *
 * Point-in-time semantics.  Without a snapshot a token is "change
 * vulnerable": rod_registry_write_notify(), called by every write path
 * (WRITE*, WRITE SAME, UNMAP, COMPARE AND WRITE, SANITIZE/FORMAT with the
 * whole LU, copies into the LU), revokes the LU's tokens whose source
 * ranges overlap the written blocks.  It costs one atomic load when the
 * LU has no token (lun->rod_tokens).  A token with a snapshot attached
 * (and a ROD type other than ROD_TYPE_PIT_VULN) is not revoked by writes.
 *
 * Threads: every function may be called from any loop.  Snapshot
 * destructors and lun_put() run outside the registry mutex, on the thread
 * that drops the last reference (a WUT completion, the sweep, a write).
 */
#ifndef TPCD_ROD_TOKEN_H
#define TPCD_ROD_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lun;
struct rod_entry;
struct scsi_nexus;

/* --- errors (rod_token.c) --- */

/* Results of token checks; rod_err_sense() gives the sense bytes. */
enum rod_err {
	ROD_OK = 0,
	ROD_ZERO,		/* block device zero token: write zeroes */
	ROD_ERR_NOT_REPORTABLE,	/* 23/00 */
	ROD_ERR_UNSUPPORTED_TYPE, /* 23/01 */
	ROD_ERR_REMOTE,		/* 23/02 used through another target */
	ROD_ERR_UNKNOWN,	/* 23/04 */
	ROD_ERR_CORRUPT,	/* 23/05 */
	ROD_ERR_REVOKED,	/* 23/06 */
	ROD_ERR_EXPIRED,	/* 23/07 */
	ROD_ERR_CANCELLED,	/* 23/08 */
	ROD_ERR_DELETED,	/* 23/09 */
	ROD_ERR_LENGTH,		/* 23/0A invalid token length */
	ROD_ERR_OFFSET,		/* 26/00 OFFSET INTO ROD >= ROD size;
				   field pointer: WUT param byte 8 */
	ROD_ERR_RANGE,		/* 0D/04 (ILLEGAL REQUEST) ranges want more
				   than the ROD holds; odx prefers to copy
				   what remains and report the residual */
	ROD_ERR_NO_ROD,		/* 55/0C insufficient resources, ROD */
	ROD_ERR_NO_TOKEN,	/* 55/0D insufficient resources, ROD token */
	ROD_ERR_MAX,
};

/* ASC/ASCQ (ILLEGAL REQUEST unless noted), third-party-copy.md 8.1 */
#define ROD_ASC_INVALID_TOKEN_OP	0x23
#define ROD_ASCQ_NOT_REPORTABLE		0x00
#define ROD_ASCQ_UNSUPPORTED_TYPE	0x01
#define ROD_ASCQ_REMOTE_USAGE		0x02
#define ROD_ASCQ_REMOTE_CREATION	0x03
#define ROD_ASCQ_UNKNOWN		0x04
#define ROD_ASCQ_CORRUPT		0x05
#define ROD_ASCQ_REVOKED		0x06
#define ROD_ASCQ_EXPIRED		0x07
#define ROD_ASCQ_CANCELLED		0x08
#define ROD_ASCQ_DELETED		0x09
#define ROD_ASCQ_LENGTH			0x0a
#define ROD_ASC_INVALID_FIELD_PARAM	0x26	/* ASCQ 00 */
#define ROD_ASC_COPY_TARGET		0x0d
#define ROD_ASCQ_UNDERRUN		0x04
#define ROD_ASC_INSUFF_RESOURCES	0x55
#define ROD_ASCQ_NO_ROD			0x0c
#define ROD_ASCQ_NO_ROD_TOKEN		0x0d

/* Sense key, ASC, ASCQ for an error (false for ROD_OK / ROD_ZERO). */
bool	rod_err_sense(enum rod_err, uint8_t *key, uint8_t *asc,
	    uint8_t *ascq);
const char *rod_err_name(enum rod_err);

/* A source range, in logical blocks of the creator LU. */
struct rod_range {
	uint64_t	 lba;
	uint32_t	 nblocks;
};

/* --- layout (rod_token.c) --- */

#define ROD_TOKEN_LEN		512
#define ROD_TOKEN_LENGTH_FIELD	0x01f8		/* bytes 6-7: 512 - 8 */

/* ROD TYPE values (SPC-4 table "ROD type codes", SBC-3 zero token) */
#define ROD_TYPE_INTERNAL	0x00000000u
#define ROD_TYPE_AUR		0x00010000u	/* access upon reference */
#define ROD_TYPE_PIT_DEFAULT	0x00800000u	/* point in time, default */
#define ROD_TYPE_PIT_VULN	0x00800001u	/* ... change vulnerable */
#define ROD_TYPE_PIT_PERSIST	0x00800002u	/* ... persistent */
#define ROD_TYPE_PIT_COW	0x00800003u	/* ... copy on write */
#define ROD_TYPE_PIT_ANY	0x0080ffffu	/* ... any (request only) */
#define ROD_TYPE_BLOCK_ZERO	0xffff0001u	/* block device zero token */

/* Byte offsets in the token */
#define ROD_OFF_TYPE		0
#define ROD_OFF_LENGTH		6
#define ROD_OFF_ID		8
#define ROD_OFF_CREATOR		16	/* 32-byte E4h CSCD descriptor */
#define ROD_OFF_BYTES		48	/* NUMBER OF BYTES REPRESENTED, 16 */
#define ROD_OFF_TYPE_SPECIFIC	64	/* 32 bytes, zero */
#define ROD_OFF_DEV_SPECIFIC	96	/* READ CAPACITY(16) bytes 8-31 */
#define ROD_OFF_TARGET_DESC	128	/* VPD 83h designation descriptor */
#define ROD_OFF_EXT		256	/* our extended ROD token data */
#define ROD_OFF_VERSION		256
#define ROD_OFF_KEY_ID		260
#define ROD_OFF_CREATED		264	/* be64, seconds since the epoch */
#define ROD_OFF_EXPIRES		272	/* be64, creation + max lifetime */
#define ROD_OFF_TIMEOUT		280	/* be32, inactivity timeout (s) */
#define ROD_OFF_NRANGES		284	/* be32 */
#define ROD_OFF_DIGEST		288	/* SHA-256(identity, ranges) */
#define ROD_OFF_MAC		480	/* HMAC-SHA256(key, bytes 0-479) */
#define ROD_DEV_SPECIFIC_LEN	24
#define ROD_DIGEST_LEN		32
#define ROD_MAC_LEN		32
#define ROD_FORMAT_VERSION	1

/* Host view of a token's fields (build input, parse output). */
struct rod_token_fields {
	uint32_t	 rod_type;
	uint64_t	 id;
	uint8_t		 naa[16];	/* creator LU NAA 6h designator */
	uint32_t	 block_size;	/* creator CSCD DISK BLOCK LENGTH */
	uint64_t	 bytes;		/* NUMBER OF BYTES REPRESENTED */
	uint8_t		 dev_specific[ROD_DEV_SPECIFIC_LEN];
	uint32_t	 key_id;
	uint64_t	 created_s, expires_s;
	uint32_t	 timeout_s;
	uint32_t	 n_ranges;
	uint8_t		 digest[ROD_DIGEST_LEN];
};

/* Build the unsigned token (MAC bytes zero) into out[512]. */
void	rod_token_build(const struct rod_token_fields *, uint8_t *out);
/* Parse the fields of a token (no MAC check).  -EINVAL if len < 512 or
 * the length field is wrong; a malformed creator descriptor (not E4h/NAA
 * 16 bytes) is reported as -EBADMSG with the other fields filled. */
int	rod_token_parse(const uint8_t *tok, size_t len,
	    struct rod_token_fields *);
/* Sign in place: key id and MAC (rod_key.c's current key).  0, or -EIO
 * without a key. */
int	rod_token_sign(uint8_t *tok);
/* Steps 1-5 of the verification order above (no registry): ROD_OK with
 * *f filled, ROD_ZERO, or the error.  Pure but for the key and clock. */
enum rod_err rod_token_verify(const uint8_t *tok, size_t len,
	    struct rod_token_fields *f);
/* SHA-256 over the creator identity, ROD type, byte count and ranges
 * (the digest field). */
void	rod_token_digest(const uint8_t naa[16], uint32_t block_size,
	    uint32_t rod_type, uint64_t bytes, const struct rod_range *,
	    unsigned int n, uint8_t out[ROD_DIGEST_LEN]);
/* True if tok is a well-formed block device zero ROD token. */
bool	rod_token_is_zero(const uint8_t *tok, size_t len);
/* Build a block device zero ROD token into out[512] (for tests/tools). */
void	rod_token_build_zero(uint8_t *out);

/* --- key (rod_key.c) --- */

#define ROD_KEY_LEN		32
#define ROD_KEY_FILE		"rod.key"

/* Load STATE_DIR/rod.key or create it (0600, atomic).  state_dir NULL or
 * "": a fresh random key kept in memory.  0 or -errno.  Call once from
 * main() before the loops start; again only from tests. */
int	rod_key_init(const char *state_dir);
/* New key (written like the first one), the old one retired: its tokens
 * are refused with TOKEN REVOKED and every registered token is revoked.
 * For main's SIGUSR2 handler (run it from a loop, not the signal handler)
 * and the --rotate-rod-key option.  0 or -errno (the old key stays). */
int	rod_key_rotate(void);
uint32_t rod_key_id(void);
/* HMAC-SHA256(current key, data) into mac[32]; false without a key. */
bool	rod_key_mac(const uint8_t *data, size_t len, uint8_t *mac);
/* Is key_id current (1), retired in this process (0), else -1. */
int	rod_key_state(uint32_t key_id);
/* Forget the key (tests, shutdown). */
void	rod_key_fini(void);

/* --- registry (rod_registry.c) --- */

/* Limits, advertised by odx in VPD 8Fh (0000h Block Device ROD Token
 * Limits, 0106h ROD Token Features). */
#define ROD_MAX_TOKENS		1024	/* valid tokens at once */
#define ROD_MAX_RANGES		64	/* range descriptors per PT */
#define ROD_DEFAULT_INACTIVITY_S 30	/* DEFAULT INACTIVITY TIMEOUT */
#define ROD_MAX_INACTIVITY_S	300	/* MAXIMUM INACTIVITY TIMEOUT */
#define ROD_MAX_LIFETIME_S	3600	/* MAXIMUM TOKEN LIFETIME (0106h) */
#define ROD_TOMBSTONE_MS	(ROD_MAX_INACTIVITY_S * 1000u)
#define ROD_SWEEP_INTERVAL_MS	5000	/* how often odx runs the sweep */



/* What POPULATE TOKEN asks for.  The ranges are validated by odx (count
 * <= ROD_MAX_RANGES, non-empty total, inside the LU); the registry checks
 * again and answers -EINVAL. */
struct rod_create {
	struct lun	*lun;		/* creator; the entry takes a ref */
	const struct scsi_nexus *nexus;	/* names copied for scope */
	const struct rod_range *ranges;	/* copied */
	unsigned int	 n_ranges;
	uint32_t	 rod_type;	/* 0 (RTV=0): ROD_TYPE_PIT_DEFAULT */
	uint32_t	 timeout_s;	/* 0: ROD_DEFAULT_INACTIVITY_S */
	/* READ CAPACITY(16) bytes 8-31 of the LU; all zero: only the
	 * block length is filled in from lun->block_size */
	uint8_t		 dev_specific[ROD_DEV_SPECIFIC_LEN];
	/* optional point-in-time snapshot, owned by the entry from here
	 * (destroy(snap) when it dies, also when create fails) */
	void		*snap;
	void		(*snap_destroy)(void *);
};

/*
 * Issue a token: build, sign and register it; out[512] gets the token
 * for RECEIVE ROD TOKEN INFORMATION.  With ent non-NULL the entry is
 * returned referenced (put it with rod_registry_put()).  Returns 0,
 * -EINVAL (ranges, timeout > max), -EOPNOTSUPP (rod_type we do not issue:
 * INVALID FIELD IN PARAMETER LIST byte 8), -ENOSPC (ROD_MAX_TOKENS valid
 * tokens: 55h/0Dh), -ENOMEM, -EIO (no key).
 */
int	rod_registry_create(const struct rod_create *, uint8_t *out,
	    struct rod_entry **ent);

/* ROD types rod_registry_create() accepts with or without a snapshot
 * (for VPD 8Fh 0108h and the RTV check). */
bool	rod_type_supported(uint32_t rod_type, bool with_snapshot);

/*
 * WRITE USING TOKEN: verify tok (len bytes received, normally 512) in the
 * order documented above, on behalf of nexus.  ROD_OK: *ent is referenced
 * and its inactivity timer restarted; ROD_ZERO: *ent is NULL; errors:
 * *ent is NULL.  The caller must still check that the creator LU
 * (rod_entry_lun()) is in the nexus's LUN map -- if not, TOKEN REVOKED
 * (third-party-copy.md 6.5), unless the TPG's tpcd_token_scope is
 * "target" (odx, docs/odx.md) -- and put the entry when done.
 */
enum rod_err rod_registry_lookup(const uint8_t *tok, size_t len,
	    const struct scsi_nexus *nexus, struct rod_entry **ent);
/* Current state of a referenced entry: ROD_OK while valid, else the
 * reason (a write revoked it during the copy, it was cancelled...). */
enum rod_err rod_registry_check(struct rod_entry *);
/* Restart the inactivity timer (end of each WUT that used it). */
void	rod_registry_touch(struct rod_entry *);
void	rod_registry_put(struct rod_entry *);

/* State changes of a referenced entry; no-ops on a dead entry. */
void	rod_registry_delete(struct rod_entry *);	/* WUT DEL_TKN */
void	rod_registry_cancel(struct rod_entry *);	/* abort of the PT */
void	rod_registry_revoke(struct rod_entry *);
/* Attach a snapshot after creation: 0, or -ESTALE if the entry already
 * died (the caller keeps and destroys its snapshot), -EBUSY if one is
 * attached. */
int	rod_registry_attach_snapshot(struct rod_entry *, void *snap,
	    void (*destroy)(void *));

/* Immutable fields of a referenced entry (borrowed while referenced). */
struct lun *rod_entry_lun(const struct rod_entry *);
const struct rod_range *rod_entry_ranges(const struct rod_entry *,
	    unsigned int *n);
uint64_t rod_entry_bytes(const struct rod_entry *);
uint32_t rod_entry_block_size(const struct rod_entry *);
uint32_t rod_entry_rod_type(const struct rod_entry *);
uint64_t rod_entry_id(const struct rod_entry *);
void	*rod_entry_snapshot(const struct rod_entry *);

/*
 * Map bytes [rod_off, rod_off + len) of the ROD to source extents of the
 * creator LU (byte offsets), in order, into out[max].  Sets *n and
 * *mapped (bytes covered: less than len when the ROD ends first, or when
 * out[] filled up).  ROD_ERR_OFFSET if rod_off >= the ROD size.
 */
struct rod_extent {
	uint64_t	 src_off;	/* bytes into the creator LU */
	uint64_t	 len;		/* bytes */
};
enum rod_err rod_entry_map(const struct rod_entry *, uint64_t rod_off,
	    uint64_t len, struct rod_extent *out, unsigned int max,
	    unsigned int *n, uint64_t *mapped);

/* Write paths: blocks [lba, lba + nblocks) of lun change.  Revokes
 * overlapping tokens (see DESIGN).  nblocks UINT64_MAX: the whole LU. */
void	rod_registry_write_notify(struct lun *, uint64_t lba,
	    uint64_t nblocks);
/* LU removal (a reload that drops or reopens the storage object, also
 * to resize it; target.c): revoke all its tokens and drop their LU
 * references as soon as no WUT uses them.  A LUN or target reset does
 * not call it: tokens survive resets (docs/rod-tokens.md). */
void	rod_registry_revoke_lun(struct lun *);
/* Expire idle tokens and free old tombstones; returns valid tokens left.
 * odx runs it every ROD_SWEEP_INTERVAL_MS from a timer on loop 0 while
 * tokens or tombstones exist; lookups expire lazily too. */
unsigned int rod_registry_sweep(void);

/* What rod_registry_foreach() shows of a valid token. */
struct rod_info {
	uint64_t	 id;
	uint32_t	 rod_type;
	uint32_t	 block_size;	/* creator LU */
	uint64_t	 bytes;		/* NUMBER OF BYTES REPRESENTED */
	uint8_t		 naa[16];	/* creator LU */
	uint32_t	 timeout_s;	/* inactivity timeout */
	/* the creator LU, as an identity to compare with LUN maps: never
	 * dereference it (it may be gone once the mutex is dropped) */
	const struct lun *lun;
};
/*
 * Call fn(arg, info) for every valid token -- tokens past their
 * inactivity timeout or lifetime are left out -- oldest first.  With
 * target non-NULL, only the tokens issued through that target.  The
 * entries are copied under the mutex and fn runs unlocked (it may call
 * the registry); a token may die meanwhile.  fn returns false to stop.
 * Returns the number of calls made, or -ENOMEM.  For REPORT ALL ROD
 * TOKENS.
 */
int	rod_registry_foreach(const char *target,
	    bool (*fn)(void *arg, const struct rod_info *), void *arg);
/* The ROD management token of a listed token: bytes 0-95 of the token
 * (type, length, id, creator, bytes represented), into out. */
#define ROD_MGMT_TOKEN_LEN	96
void	rod_info_mgmt_token(const struct rod_info *, uint8_t *out);
/* Revoke everything (key rotation). */
void	rod_registry_revoke_all(void);

struct rod_stats {
	unsigned int	 valid, tombstones;
	uint64_t	 created, revoked, expired, cancelled, deleted;
	uint64_t	 rejected;	/* lookups that failed */
};
void	rod_registry_stats(struct rod_stats *);

/* Free every entry (shutdown, tests); no reference may be held. */
void	rod_registry_fini(void);
/* Tests: replace the clock (milliseconds; wall-clock seconds in tokens
 * become now_ms() / 1000).  NULL restores the real clocks. */
void	rod_registry_set_clock(uint64_t (*now_ms)(void));

#endif
