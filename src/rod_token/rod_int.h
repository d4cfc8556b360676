/*
 * rod_int.h - between the files of the ROD token module: the key's
 * sign/verify primitives (rod_key.c) and the module clock
 * (rod_registry.c), so the layout code never sees the key bytes.
 */
#ifndef TPCD_ROD_INT_H
#define TPCD_ROD_INT_H

#include <stddef.h>
#include <stdint.h>

/* HMAC-SHA256 of data with the current key; its id in *key_id.
 * 0, or -EIO without a key. */
int	rod_key_sign(const uint8_t *data, size_t len, uint32_t *key_id,
	    uint8_t *mac);
/* 0 if mac is data's HMAC under key key_id (the current key; compared
 * with CRYPTO_memcmp), -ESTALE if key_id is a key retired in this
 * process, -EBADMSG otherwise. */
int	rod_key_verify(const uint8_t *data, size_t len, uint32_t key_id,
	    const uint8_t *mac);

/* Module clocks (test hook: rod_registry_set_clock()). */
uint64_t rod_now_ms(void);	/* monotonic */
uint64_t rod_now_s(void);	/* wall clock, seconds since the epoch */

#endif
