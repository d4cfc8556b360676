/*
 * crc32c.c - CRC32C with the SSE4.2 crc32 instruction when the CPU has it,
 * else slicing-by-8 tables built once at first use.
 *
 * The implementation is chosen once (pthread_once) so loops calling it
 * concurrently see a fully built table.  Both variants compute the same raw
 * register update; the unit test checks them against RFC 3720 B.4 vectors.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "crc32c.h"

#define CRC32C_POLY	0x82f63b78u	/* reflected 0x1edc6f41 */

static uint32_t crc32c_table[8][256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;
static atomic_bool crc32c_hw;
static atomic_bool crc32c_table_forced;

static void
crc32c_init(void)
{
	uint32_t c;
	unsigned int i, j;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
		crc32c_table[0][i] = c;
	}
	for (i = 0; i < 256; i++) {
		c = crc32c_table[0][i];
		for (j = 1; j < 8; j++) {
			c = crc32c_table[0][c & 0xff] ^ (c >> 8);
			crc32c_table[j][i] = c;
		}
	}
#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	atomic_store(&crc32c_hw, __builtin_cpu_supports("sse4.2") != 0);
#endif
}

static uint32_t
crc32c_sw(uint32_t crc, const uint8_t *p, size_t len)
{
	uint32_t lo, hi;

	while (len != 0 && ((uintptr_t)p & 7) != 0) {
		crc = crc32c_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
		len--;
	}
	while (len >= 8) {
		lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
		    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 |
		    (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
		crc = crc32c_table[7][lo & 0xff] ^
		    crc32c_table[6][(lo >> 8) & 0xff] ^
		    crc32c_table[5][(lo >> 16) & 0xff] ^
		    crc32c_table[4][lo >> 24] ^
		    crc32c_table[3][hi & 0xff] ^
		    crc32c_table[2][(hi >> 8) & 0xff] ^
		    crc32c_table[1][(hi >> 16) & 0xff] ^
		    crc32c_table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len-- != 0)
		crc = crc32c_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("sse4.2")))
static uint32_t
crc32c_hw_update(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len != 0 && ((uintptr_t)p & 7) != 0) {
		crc = __builtin_ia32_crc32qi(crc, *p++);
		len--;
	}
#if defined(__x86_64__)
	{
		uint64_t c64 = crc, v;

		while (len >= 8) {
			memcpy(&v, p, 8);
			c64 = __builtin_ia32_crc32di(c64, v);
			p += 8;
			len -= 8;
		}
		crc = (uint32_t)c64;
	}
#endif
	while (len >= 4) {
		uint32_t v;

		memcpy(&v, p, 4);
		crc = __builtin_ia32_crc32si(crc, v);
		p += 4;
		len -= 4;
	}
	while (len-- != 0)
		crc = __builtin_ia32_crc32qi(crc, *p++);
	return crc;
}
#endif

uint32_t
crc32c_update(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&crc32c_once, crc32c_init);
#if defined(__x86_64__) || defined(__i386__)
	if (atomic_load_explicit(&crc32c_hw, memory_order_relaxed) &&
	    !atomic_load_explicit(&crc32c_table_forced, memory_order_relaxed))
		return crc32c_hw_update(crc, buf, len);
#endif
	return crc32c_sw(crc, buf, len);
}

void
crc32c_force_table(bool table)
{
	atomic_store(&crc32c_table_forced, table);
}

bool
crc32c_uses_hw(void)
{
	pthread_once(&crc32c_once, crc32c_init);
	return atomic_load(&crc32c_hw) && !atomic_load(&crc32c_table_forced);
}
