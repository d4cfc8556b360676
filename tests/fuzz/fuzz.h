/*
 * fuzz.h - helpers shared by the libFuzzer targets in tests/fuzz/.
 *
 * Every target defines LLVMFuzzerTestOneInput() and does its one-time
 * set-up lazily on the first call, so the same object links either with
 * libFuzzer (-fsanitize=fuzzer) or with replay.c, a plain main() that feeds
 * a corpus and the regression inputs to it under "make check".
 *
 * Inputs are consumed front to back through struct fuzz_in: fixed-size
 * fields first (flags, lengths), then the variable parts.  Reading past the
 * end yields zeros, so every input is valid and short inputs still run.
 *
 * FUZZ_CHECK() is for properties the code under test promises (bounds,
 * round trips); it aborts so libFuzzer records the input as a crash.
 */
#ifndef TPCD_FUZZ_H
#define TPCD_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: property failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

struct fuzz_in {
	const uint8_t	*p;
	size_t		 left;
};

static inline void
fuzz_in_init(struct fuzz_in *in, const uint8_t *data, size_t size)
{
	in->p = data;
	in->left = size;
}

static inline uint8_t
fuzz_u8(struct fuzz_in *in)
{
	uint8_t v = 0;

	if (in->left != 0) {
		v = *in->p++;
		in->left--;
	}
	return v;
}

static inline uint16_t
fuzz_u16(struct fuzz_in *in)
{
	uint16_t hi = fuzz_u8(in);

	return (uint16_t)(hi << 8 | fuzz_u8(in));
}

static inline uint32_t
fuzz_u32(struct fuzz_in *in)
{
	uint32_t hi = fuzz_u16(in);

	return hi << 16 | fuzz_u16(in);
}

/* Up to n bytes; *got tells how many are really there. */
static inline const uint8_t *
fuzz_bytes(struct fuzz_in *in, size_t n, size_t *got)
{
	const uint8_t *p = in->p;

	if (n > in->left)
		n = in->left;
	in->p += n;
	in->left -= n;
	*got = n;
	return p;
}

/* The next NUL-terminated string (or the rest of the input) as a malloc'd
 * C string; never NULL unless out of memory. */
static inline char *
fuzz_str(struct fuzz_in *in)
{
	const uint8_t *nul = memchr(in->p, 0, in->left);
	size_t n = nul != NULL ? (size_t)(nul - in->p) : in->left;
	char *s = malloc(n + 1);

	if (s == NULL)
		return NULL;
	if (n != 0)
		memcpy(s, in->p, n);
	s[n] = '\0';
	in->p += n;
	in->left -= n;
	if (nul != NULL) {
		in->p++;
		in->left--;
	}
	return s;
}

/* A NUL-terminated copy of size bytes (for C-string parsers). */
static inline char *
fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		return NULL;
	if (size != 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
