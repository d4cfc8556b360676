/*
 * util.h - byte-wise big-endian helpers, small macros and the allocation
 * wrappers every module uses.
 *
 * Wire data is never cast to an integer pointer: get_be*() and put_be*()
 * read and write byte by byte, so unaligned buffers are fine and UBSan stays
 * quiet.  xmalloc() and friends return NULL on failure (callers turn that
 * into -ENOMEM); tests can make the Nth allocation fail with
 * xmalloc_fail_after().
 */
#ifndef TPCD_UTIL_H
#define TPCD_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)	((a) < (b) ? (a) : (b))
#define MAX(a, b)	((a) > (b) ? (a) : (b))
#define DIV_ROUND_UP(n, d)	(((n) + (d) - 1) / (d))
#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))
#define UNUSED		__attribute__((unused))

static inline uint16_t
get_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t
get_be24(const uint8_t *p)
{
	return ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2];
}

static inline uint32_t
get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

static inline uint64_t
get_be64(const uint8_t *p)
{
	return ((uint64_t)get_be32(p) << 32) | get_be32(p + 4);
}

static inline void
put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
put_be24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

static inline void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void
put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
/* align: a power of two multiple of sizeof(void *); free() releases. */
void	*xmalloc_aligned(size_t align, size_t sz);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
/* Test hook: the n-th allocation from now fails (0 disables). */
void	 xmalloc_fail_after(unsigned long n);

/* Monotonic clock in nanoseconds / milliseconds. */
uint64_t now_ns(void);
uint64_t now_ms(void);

/* Value of one hexadecimal digit (either case), -1 if c is not one. */
static inline int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Copy at most dstlen-1 bytes and always terminate; returns strlen(src). */
size_t	 strlcpy_t(char *dst, const char *src, size_t dstlen);

#endif
