/*
 * util.c - allocation wrappers with a fault-injection hook, clocks and
 * string helpers.
 *
 * The hook follows SQLite's OOM loops: xmalloc_fail_after(n) makes the n-th
 * allocation from now return NULL (once), so a test can walk n = 1, 2, ...
 * until the operation under test succeeds and check that every earlier
 * failure was reported as -ENOMEM and leaked nothing.  The counter is
 * atomic so allocations from any thread count.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

static atomic_ulong util_fail_countdown;

void
xmalloc_fail_after(unsigned long n)
{
	atomic_store(&util_fail_countdown, n);
}

/* True if this allocation is the one chosen to fail. */
static int
util_should_fail(void)
{
	unsigned long cur;

	cur = atomic_load(&util_fail_countdown);
	while (cur != 0) {
		if (atomic_compare_exchange_weak(&util_fail_countdown, &cur,
		    cur - 1))
			return cur == 1;
	}
	return 0;
}

void *
xmalloc(size_t sz)
{
	if (util_should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return malloc(sz == 0 ? 1 : sz);
}

void *
xmalloc_aligned(size_t align, size_t sz)
{
	void *p;

	if (util_should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	if (posix_memalign(&p, align, sz == 0 ? 1 : sz) != 0) {
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

void *
xcalloc(size_t n, size_t sz)
{
	if (util_should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	if (n == 0 || sz == 0)
		n = sz = 1;
	return calloc(n, sz);
}

void *
xrealloc(void *p, size_t sz)
{
	if (util_should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, sz == 0 ? 1 : sz);
}

char *
xstrdup(const char *s)
{
	size_t len;
	char *p;

	if (s == NULL)
		return NULL;
	len = strlen(s);
	p = xmalloc(len + 1);
	if (p == NULL)
		return NULL;
	memcpy(p, s, len + 1);
	return p;
}

uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t
now_ms(void)
{
	return now_ns() / 1000000ULL;
}

size_t
strlcpy_t(char *dst, const char *src, size_t dstlen)
{
	size_t len;

	len = strlen(src);
	if (dstlen != 0) {
		size_t n = len < dstlen - 1 ? len : dstlen - 1;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}
