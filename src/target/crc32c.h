/*
 * crc32c.h - CRC32C (Castagnoli), the iSCSI header and data digest.
 *
 * crc32c_update() runs the raw register (no pre/post inversion) so a digest
 * can be computed over scattered pieces:
 *	crc = ~crc32c_update(crc32c_update(~0u, a, na), b, nb)
 * crc32c() does the whole computation for one buffer.  The SSE4.2 crc32
 * instruction is used when the CPU has it, else a slicing-by-8 table.
 * iSCSI sends the 32-bit result least significant byte first (RFC 3720
 * B.4), see crc32c_put().
 */
#ifndef TPCD_CRC32C_H
#define TPCD_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint32_t crc32c_update(uint32_t crc, const void *buf, size_t len);
/* Test hook: force the table implementation (false) or the best one. */
void	crc32c_force_table(bool table);
bool	crc32c_uses_hw(void);

static inline uint32_t
crc32c(const void *buf, size_t len)
{
	return ~crc32c_update(~0u, buf, len);
}

/* The digest as it appears on the wire. */
static inline void
crc32c_put(uint8_t out[4], uint32_t crc)
{
	out[0] = (uint8_t)crc;
	out[1] = (uint8_t)(crc >> 8);
	out[2] = (uint8_t)(crc >> 16);
	out[3] = (uint8_t)(crc >> 24);
}

static inline uint32_t
crc32c_get(const uint8_t in[4])
{
	return (uint32_t)in[0] | ((uint32_t)in[1] << 8) |
	    ((uint32_t)in[2] << 16) | ((uint32_t)in[3] << 24);
}

#endif
