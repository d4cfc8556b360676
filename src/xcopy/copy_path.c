/*
 * copy_path.c - which copy path works between two backstores (probed once
 * per pair, cached), the per-LU copy counters and their debug dump.
 *
 * Cache: COPY_PAIR_SLOTS entries keyed by (plugin, src dev/ino, dst
 * dev/ino), replaced round robin when full (a replaced pair is simply
 * probed again).  Reflink is NO without trying when the files live on
 * different filesystems (FICLONERANGE needs one superblock); otherwise the
 * first attempt decides.
 *
 * Counters: one struct copy_lu per LU name in a registry list that lives
 * as long as the process (reachable from a global, so leak checkers stay
 * quiet); lun->tpc points at the LU's entry, set once with a CAS.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "backstore.h"
#include "copy_int.h"
#include "log.h"
#include "lun.h"
#include "util.h"

#define COPY_PAIR_SLOTS	64
#define COPY_NAME_MAX	64

/* --- path names --- */

static const char *const copy_path_names[COPY_PATH_MAX] = {
	[COPY_PATH_REFLINK] = "reflink",
	[COPY_PATH_CFR] = "copy_file_range",
	[COPY_PATH_NVME] = "nvme",
	[COPY_PATH_RW] = "rw",
	[COPY_PATH_ZERO] = "zero",
};

const char *
copy_path_name(enum copy_path p)
{
	if ((unsigned int)p >= COPY_PATH_MAX)
		return "?";
	return copy_path_names[p];
}

/* --- disabled paths (tests, benchmarks) --- */

static unsigned int copy_disabled;		/* atomic */
static pthread_once_t copy_env_once = PTHREAD_ONCE_INIT;

static void
copy_env_read(void)
{
	const char *e = getenv("TPCD_COPY_DISABLE");
	unsigned int m = 0;

	if (e == NULL)
		return;
	if (strstr(e, "reflink") != NULL)
		m |= 1u << COPY_PATH_REFLINK;
	if (strstr(e, "cfr") != NULL || strstr(e, "copy_file_range") != NULL)
		m |= 1u << COPY_PATH_CFR;
	if (strstr(e, "nvme") != NULL)
		m |= 1u << COPY_PATH_NVME;
	if (m != 0)
		log_info("copy: paths disabled by TPCD_COPY_DISABLE: %s", e);
	__atomic_or_fetch(&copy_disabled, m, __ATOMIC_RELAXED);
}

void
copy_path_disable(unsigned int mask)
{
	pthread_once(&copy_env_once, copy_env_read);
	__atomic_store_n(&copy_disabled, mask, __ATOMIC_RELAXED);
}

bool
copy_path_disabled(enum copy_path p)
{
	pthread_once(&copy_env_once, copy_env_read);
	return (__atomic_load_n(&copy_disabled, __ATOMIC_RELAXED) >> p) & 1;
}

bool
copy_err_unsupported(int err)
{
	if (err < 0)
		err = -err;
	return err == EOPNOTSUPP || err == EXDEV || err == EINVAL ||
	    err == ENOSYS || err == ENOTTY;
}

/* --- pair cache --- */

struct copy_pair_slot {
	bool		 used;
	const void	*ops;
	dev_t		 sdev, ddev;
	ino_t		 sino, dino;
	uint8_t		 reflink, cfr;
	uint32_t	 clone_align;
};

static pthread_mutex_t copy_pair_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct copy_pair_slot copy_pairs[COPY_PAIR_SLOTS];
static unsigned int copy_pair_next;

static void
copy_pair_none(struct copy_pair *p)
{
	p->slot = -1;
	p->reflink = COPY_PROBE_NO;
	p->cfr = COPY_PROBE_NO;
	p->clone_align = 0;
}

static void
copy_pair_probe_new(struct copy_pair_slot *s, int dfd)
{
	struct statfs sf;

	s->reflink = COPY_PROBE_UNKNOWN;
	s->cfr = COPY_PROBE_UNKNOWN;
	s->clone_align = 4096;
	if (s->sdev != s->ddev)
		s->reflink = COPY_PROBE_NO;	/* clones stay in one fs */
	if (fstatfs(dfd, &sf) == 0 && sf.f_bsize > 0 &&
	    sf.f_bsize <= (1 << 20))
		s->clone_align = (uint32_t)sf.f_bsize;
}

void
copy_pair_lookup(struct backstore *src, struct backstore *dst,
    struct copy_pair *p)
{
	struct copy_pair_slot *s = NULL;
	struct stat ss, ds;
	unsigned int i;

	copy_pair_none(p);
	if (dst->ops->copy == NULL || src->ops != dst->ops || src->fd < 0 ||
	    dst->fd < 0)
		return;
	if (fstat(src->fd, &ss) != 0 || fstat(dst->fd, &ds) != 0)
		return;
	pthread_mutex_lock(&copy_pair_mtx);
	for (i = 0; i < COPY_PAIR_SLOTS; i++) {
		struct copy_pair_slot *c = &copy_pairs[i];

		if (c->used && c->ops == dst->ops && c->sdev == ss.st_dev &&
		    c->sino == ss.st_ino && c->ddev == ds.st_dev &&
		    c->dino == ds.st_ino) {
			s = c;
			break;
		}
	}
	if (s == NULL) {
		i = copy_pair_next++ % COPY_PAIR_SLOTS;
		s = &copy_pairs[i];
		memset(s, 0, sizeof(*s));
		s->used = true;
		s->ops = dst->ops;
		s->sdev = ss.st_dev;
		s->sino = ss.st_ino;
		s->ddev = ds.st_dev;
		s->dino = ds.st_ino;
		copy_pair_probe_new(s, dst->fd);
	}
	p->slot = (int)(s - copy_pairs);
	p->reflink = s->reflink;
	p->cfr = s->cfr;
	p->clone_align = s->clone_align;
	pthread_mutex_unlock(&copy_pair_mtx);
}

void
copy_pair_set(const struct copy_pair *p, enum copy_path path, bool works)
{
	struct copy_pair_slot *s;
	uint8_t v = works ? COPY_PROBE_YES : COPY_PROBE_NO;

	if (p->slot < 0 || p->slot >= COPY_PAIR_SLOTS)
		return;
	pthread_mutex_lock(&copy_pair_mtx);
	s = &copy_pairs[p->slot];
	if (path == COPY_PATH_REFLINK)
		s->reflink = v;
	else if (path == COPY_PATH_CFR)
		s->cfr = v;
	pthread_mutex_unlock(&copy_pair_mtx);
}

/* --- per-LU counters --- */

struct copy_lu {
	struct copy_lu	*next;
	char		 name[COPY_NAME_MAX];
	struct copy_counters c;
};

static pthread_mutex_t copy_lu_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct copy_lu *copy_lu_list;
static char *copy_state_dir;
static struct copy_lu copy_lu_fallback = { .name = "(no memory)" };

struct copy_counters *
copy_lu_counters(struct lun *lun)
{
	struct copy_lu *cl, *cur;
	const char *name = lun->name != NULL ? lun->name : "";

	cur = __atomic_load_n((struct copy_lu **)&lun->tpc, __ATOMIC_ACQUIRE);
	if (cur != NULL)
		return &cur->c;
	pthread_mutex_lock(&copy_lu_mtx);
	for (cl = copy_lu_list; cl != NULL; cl = cl->next)
		if (strncmp(cl->name, name, sizeof(cl->name) - 1) == 0)
			break;
	if (cl == NULL) {
		cl = xcalloc(1, sizeof(*cl));
		if (cl != NULL) {
			strlcpy_t(cl->name, name, sizeof(cl->name));
			cl->next = copy_lu_list;
			copy_lu_list = cl;
		}
	}
	pthread_mutex_unlock(&copy_lu_mtx);
	if (cl == NULL)
		return &copy_lu_fallback.c;	/* not attached: retried */
	cur = NULL;
	if (!__atomic_compare_exchange_n((struct copy_lu **)&lun->tpc, &cur,
	    cl, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return &cur->c;
	return &cl->c;
}

void
copy_count_fallback(struct lun *lun, enum copy_fallback why)
{
	struct copy_counters *c = copy_lu_counters(lun);
	_Atomic uint64_t *v;

	switch (why) {
	case COPY_FB_XDEV:
		v = &c->fallbacks_xdev;
		break;
	case COPY_FB_OVERLAP:
		v = &c->fallbacks_overlap;
		break;
	case COPY_FB_UNALIGNED:
		v = &c->fallbacks_unaligned;
		break;
	case COPY_FB_ERROR:
		v = &c->fallbacks_error;
		break;
	default:
		v = &c->fallbacks_unsupported;
		break;
	}
	atomic_fetch_add_explicit(v, 1, memory_order_relaxed);
}

static void
copy_snapshot(const struct copy_counters *c, struct copy_counters *o)
{
	unsigned int i;

	memset(o, 0, sizeof(*o));
#define CP(f) atomic_store_explicit(&o->f, \
	atomic_load_explicit(&c->f, memory_order_relaxed), \
	memory_order_relaxed)
	CP(commands);
	for (i = 0; i < COPY_PATH_MAX; i++)
		CP(bytes[i]);
	CP(fallbacks_unsupported);
	CP(fallbacks_xdev);
	CP(fallbacks_overlap);
	CP(fallbacks_unaligned);
	CP(fallbacks_error);
	CP(aborts);
	CP(failures);
#undef CP
}

void
copy_counters_get(struct lun *lun, struct copy_counters *out)
{
	copy_snapshot(copy_lu_counters(lun), out);
}

#define LD(f)	((uint64_t)atomic_load_explicit(&c.f, memory_order_relaxed))

/* One line per LU: "name commands=N reflink=B cfr=B rw=B zero=B ...". */
static int
copy_counters_format(const struct copy_lu *cl, char *buf, size_t max)
{
	struct copy_counters c;

	copy_snapshot(&cl->c, &c);
	return snprintf(buf, max, "%s commands=%" PRIu64 " reflink=%" PRIu64
	    " copy_file_range=%" PRIu64 " nvme=%" PRIu64 " rw=%" PRIu64
	    " zero=%" PRIu64 " fallback_unsupported=%" PRIu64
	    " fallback_xdev=%" PRIu64 " fallback_overlap=%" PRIu64
	    " fallback_unaligned=%" PRIu64 " fallback_error=%" PRIu64
	    " aborts=%" PRIu64 " failures=%" PRIu64, cl->name,
	    LD(commands), LD(bytes[COPY_PATH_REFLINK]),
	    LD(bytes[COPY_PATH_CFR]), LD(bytes[COPY_PATH_NVME]),
	    LD(bytes[COPY_PATH_RW]), LD(bytes[COPY_PATH_ZERO]),
	    LD(fallbacks_unsupported), LD(fallbacks_xdev),
	    LD(fallbacks_overlap), LD(fallbacks_unaligned),
	    LD(fallbacks_error), LD(aborts), LD(failures));
}

#undef LD

void
copy_counters_set_dir(const char *state_dir)
{
	char *d = state_dir != NULL ? xstrdup(state_dir) : NULL;

	pthread_mutex_lock(&copy_lu_mtx);
	free(copy_state_dir);
	copy_state_dir = d;
	pthread_mutex_unlock(&copy_lu_mtx);
}

void
copy_counters_log_all(void)
{
	struct copy_lu *cl;
	char line[512];

	pthread_mutex_lock(&copy_lu_mtx);
	for (cl = copy_lu_list; cl != NULL; cl = cl->next) {
		copy_counters_format(cl, line, sizeof(line));
		log_info("copy counters: %s", line);
	}
	pthread_mutex_unlock(&copy_lu_mtx);
}

/* Log, then write <dir>/copy-counters via a temp file and rename. */
int
copy_counters_dump(void)
{
	struct copy_lu *cl;
	char path[4096], tmp[4112], line[512];
	FILE *f;
	int rc = 0;

	copy_counters_log_all();
	pthread_mutex_lock(&copy_lu_mtx);
	if (copy_state_dir == NULL)
		goto out;
	snprintf(path, sizeof(path), "%s/copy-counters", copy_state_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (f == NULL) {
		rc = -errno;
		goto out;
	}
	for (cl = copy_lu_list; cl != NULL; cl = cl->next) {
		copy_counters_format(cl, line, sizeof(line));
		fprintf(f, "%s\n", line);
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		rc = -errno;
		unlink(tmp);
	}
out:
	pthread_mutex_unlock(&copy_lu_mtx);
	if (rc != 0)
		log_warn("copy counters: cannot write %s/copy-counters: %s",
		    copy_state_dir ? copy_state_dir : "", strerror(-rc));
	return rc;
}
