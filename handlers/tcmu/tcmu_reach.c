/*
 * tcmu_reach.c - copy scope for TCMU devices: who can reach which LU
 * through LIO, read from configfs.
 *
 * A TCMU command carries no initiator identity, so tpcd cannot tell who
 * sent an EXTENDED COPY or WRITE USING TOKEN.  The rule: a copy that the
 * LU "a" receives may touch LU "b" only when every principal that can
 * send commands to a can also read and write b itself, i.e. for every
 * (TPG, initiator) that reaches a there is a grant of b, not write
 * protected, for the same initiator in the same TPG.
 *
 * Layout read (every fabric directory, not only iscsi):
 *
 *   <configfs>/<fabric>/<wwn>/tpgt_<n>/lun/lun_<m>/<link>
 *	-> ../../../../../../target/core/<hba>/<dev> (6.1; only the last
 *	three components, core/<hba>/<dev>, are used)
 *   <configfs>/<fabric>/<wwn>/tpgt_<n>/attrib/generate_node_acls
 *	1: demo mode, every initiator without an ACL reaches every LUN
 *	(absent on fabrics that are always in demo mode: loopback, vhost)
 *   <configfs>/<fabric>/<wwn>/tpgt_<n>/attrib/demo_mode_write_protect
 *   <configfs>/<fabric>/<wwn>/tpgt_<n>/acls/<initiator>/lun_<k>/<link>
 *	-> ../../../../../../../target/<fabric>/<wwn>/tpgt_<n>/lun/lun_<m>
 *	(last two components used), and .../lun_<k>/write_protect
 *
 * Being conservative is right: a disabled TPG still counts as a way in;
 * an unreadable generate_node_acls counts as demo mode; a LUN whose link
 * cannot be read reaches an unknown device (a way in to any a, a grant of
 * no b); an unreadable acls/ or lun/ directory makes the snapshot
 * incomplete or its principals unknown, and covers() then says no.
 */
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "tcmu_int.h"
#include "tcmu_reach.h"
#include "util.h"

/* Principal name for ACLs of a TPG whose acls/ could not be read. */
#define REACH_UNREADABLE_ACL	"\001unreadable"

struct reach_grant {
	char		*tpg;
	char		*init;		/* NULL: any initiator */
	char		*hba;
	char		*dev;
	unsigned int	 flags;
};

struct tcmu_reach {
	struct reach_grant *g;
	unsigned int	 n;
	unsigned int	 cap;
	bool		 incomplete;
};

/* One TPG LUN while loading. */
struct reach_lun {
	char		 name[64];	/* "lun_<m>" */
	char		 hba[64];
	char		 dev[TCMU_NAME_MAX];
	bool		 unknown;
};

struct tcmu_reach *
tcmu_reach_new(void)
{
	return xcalloc(1, sizeof(struct tcmu_reach));
}

void
tcmu_reach_set_incomplete(struct tcmu_reach *r)
{
	r->incomplete = true;
}

unsigned int
tcmu_reach_count(const struct tcmu_reach *r)
{
	return r->n;
}

void
tcmu_reach_free(struct tcmu_reach *r)
{
	if (r == NULL)
		return;
	for (unsigned int i = 0; i < r->n; i++) {
		free(r->g[i].tpg);
		free(r->g[i].init);
		free(r->g[i].hba);
		free(r->g[i].dev);
	}
	free(r->g);
	free(r);
}

int
tcmu_reach_add(struct tcmu_reach *r, const char *tpg, const char *initiator,
    const char *hba, const char *dev, unsigned int flags)
{
	struct reach_grant *g, *ng;

	if (r->n == r->cap) {
		unsigned int cap = r->cap ? r->cap * 2 : 16;

		ng = xrealloc(r->g, cap * sizeof(*ng));
		if (ng == NULL)
			return -ENOMEM;
		r->g = ng;
		r->cap = cap;
	}
	g = &r->g[r->n];
	memset(g, 0, sizeof(*g));
	g->flags = flags;
	g->tpg = xstrdup(tpg);
	g->init = initiator ? xstrdup(initiator) : NULL;
	if (!(flags & TCMU_REACH_UNKNOWN)) {
		g->hba = xstrdup(hba ? hba : "");
		g->dev = xstrdup(dev ? dev : "");
	}
	if (g->tpg == NULL || (initiator && g->init == NULL) ||
	    (!(flags & TCMU_REACH_UNKNOWN) && (!g->hba || !g->dev))) {
		free(g->tpg);
		free(g->init);
		free(g->hba);
		free(g->dev);
		return -ENOMEM;
	}
	r->n++;
	return 0;
}

static bool
grant_is(const struct reach_grant *g, const struct tcmu_devinfo *d)
{
	char hba[32];

	if (g->flags & TCMU_REACH_UNKNOWN)
		return false;
	snprintf(hba, sizeof(hba), "user_%u", d->hba_id);
	return strcmp(g->hba, hba) == 0 && strcmp(g->dev, d->dev) == 0;
}

static bool
same_principal(const struct reach_grant *x, const struct reach_grant *y)
{
	if (strcmp(x->tpg, y->tpg) != 0)
		return false;
	if (x->init == NULL || y->init == NULL)
		return x->init == y->init;
	return strcmp(x->init, y->init) == 0;
}

bool
tcmu_reach_covers(const struct tcmu_reach *r, const struct tcmu_devinfo *a,
    const struct tcmu_devinfo *b)
{
	if (r == NULL || r->incomplete)
		return false;
	if (a->hba_id == b->hba_id && strcmp(a->dev, b->dev) == 0)
		return true;
	for (unsigned int i = 0; i < r->n; i++) {
		const struct reach_grant *g = &r->g[i];
		bool ok = false;

		if (!(g->flags & TCMU_REACH_UNKNOWN) && !grant_is(g, a))
			continue;
		for (unsigned int j = 0; j < r->n && !ok; j++) {
			const struct reach_grant *h = &r->g[j];

			ok = !(h->flags & (TCMU_REACH_RO | TCMU_REACH_UNKNOWN)) &&
			    grant_is(h, b) && same_principal(g, h);
		}
		if (!ok)
			return false;
	}
	return true;
}

/* --- loading from configfs --- */

static int __attribute__((format(printf, 3, 4)))
reach_path(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* First character of a small attribute file: '0', '1', or -errno. */
static int
reach_flag(const char *path)
{
	char c;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, &c, 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return (int)n;
	if (n == 0 || (c != '0' && c != '1'))
		return -EINVAL;
	return c;
}

/* The last n components of a link target ("a/b/c" -> comps). */
static int
link_tail(const char *target, const char *comps[], size_t lens[], int n)
{
	const char *end = target + strlen(target), *p;

	while (end > target && end[-1] == '/')
		end--;
	for (int i = n - 1; i >= 0; i--) {
		p = end;
		while (p > target && p[-1] != '/')
			p--;
		if (p == end)
			return -EINVAL;
		comps[i] = p;
		lens[i] = (size_t)(end - p);
		end = p;
		while (end > target && end[-1] == '/')
			end--;
	}
	return 0;
}

static bool
comp_is(const char *c, size_t len, const char *s)
{
	return strlen(s) == len && memcmp(c, s, len) == 0;
}

static bool
comp_copy(char *dst, size_t dstlen, const char *c, size_t len)
{
	if (len == 0 || len >= dstlen || comp_is(c, len, "..") ||
	    comp_is(c, len, "."))
		return false;
	memcpy(dst, c, len);
	dst[len] = '\0';
	return true;
}

/*
 * Is the entry a directory (dir: following a symlink, as stat()) or, with
 * !dir, a symlink itself?  configfs fills d_type, which spares one
 * fstatat() per entry (a walk runs before copy commands); a symlink
 * (for dir) or DT_UNKNOWN falls back to fstatat().
 */
static bool
reach_entry_is(DIR *d, const struct dirent *de, bool dir)
{
	struct stat st;

	if (de->d_type != DT_UNKNOWN && (!dir || de->d_type != DT_LNK))
		return de->d_type == (dir ? DT_DIR : DT_LNK);
	if (fstatat(dirfd(d), de->d_name, &st, dir ? 0 : AT_SYMLINK_NOFOLLOW))
		return false;
	return dir ? S_ISDIR(st.st_mode) : S_ISLNK(st.st_mode);
}

/*
 * Find the one symlink in dir and read its target.  0 and target,
 * -ENOENT when there is none, another -errno when dir or the link
 * cannot be read.
 */
static int
reach_dir_link(const char *dir, char *target, size_t len)
{
	struct dirent *de;
	ssize_t n;
	int rc = -ENOENT;
	DIR *d;

	d = opendir(dir);
	if (d == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (!reach_entry_is(d, de, false))
			continue;
		n = readlinkat(dirfd(d), de->d_name, target, len - 1);
		if (n < 0) {
			rc = -errno;
		} else if ((size_t)n >= len - 1) {
			rc = -ENAMETOOLONG;
		} else {
			target[n] = '\0';
			rc = 0;
		}
		break;
	}
	closedir(d);
	return rc;
}

/* lun/lun_<m>: which core/<hba>/<dev> it exports. */
static void
reach_lun_read(const char *dir, struct reach_lun *l)
{
	char target[PATH_MAX];
	const char *c[3];
	size_t len[3];

	l->unknown = true;
	if (reach_dir_link(dir, target, sizeof(target)))
		return;
	if (link_tail(target, c, len, 3) || !comp_is(c[0], len[0], "core"))
		return;
	if (!comp_copy(l->hba, sizeof(l->hba), c[1], len[1]) ||
	    !comp_copy(l->dev, sizeof(l->dev), c[2], len[2]))
		return;
	l->unknown = false;
}

static int
reach_grant_lun(struct tcmu_reach *r, const char *tpg, const char *init,
    const struct reach_lun *l, unsigned int flags)
{
	if (l->unknown)
		flags |= TCMU_REACH_UNKNOWN;
	return tcmu_reach_add(r, tpg, init, l->hba, l->dev, flags);
}

/* Load the TPG's lun/ table.  -errno when lun/ cannot be listed. */
static int
reach_luns(const char *tpgdir, struct reach_lun **out, unsigned int *n)
{
	char path[PATH_MAX];
	struct reach_lun *v = NULL, *nv;
	unsigned int cnt = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (reach_path(path, sizeof(path), "%s/lun", tpgdir))
		return -ENAMETOOLONG;
	d = opendir(path);
	if (d == NULL)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)) != NULL) {
		char ldir[PATH_MAX];

		if (strncmp(de->d_name, "lun_", 4) != 0 ||
		    strlen(de->d_name) >= sizeof(v->name))
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 8;
			nv = xrealloc(v, cap * sizeof(*v));
			if (nv == NULL) {
				rc = -ENOMEM;
				break;
			}
			v = nv;
		}
		memset(&v[cnt], 0, sizeof(v[cnt]));
		strlcpy_t(v[cnt].name, de->d_name, sizeof(v[cnt].name));
		if (reach_path(ldir, sizeof(ldir), "%s/%s", path, de->d_name))
			v[cnt].unknown = true;
		else
			reach_lun_read(ldir, &v[cnt]);
		cnt++;
	}
	closedir(d);
	if (rc) {
		free(v);
		return rc;
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* acls/<init>/lun_<k>: grant the TPG LUN its link names. */
static int
reach_acl_lun(struct tcmu_reach *r, const char *tpg, const char *init,
    const char *dir, const struct reach_lun *luns, unsigned int nluns)
{
	char path[PATH_MAX + 32], target[PATH_MAX];
	unsigned int flags = 0;
	const char *c[2];
	size_t len[2];
	int rc, wp;

	if (reach_path(path, sizeof(path), "%s/write_protect", dir))
		return -ENAMETOOLONG;
	wp = reach_flag(path);
	if (wp == '1' || (wp < 0 && wp != -ENOENT))
		flags |= TCMU_REACH_RO;
	rc = reach_dir_link(dir, target, sizeof(target));
	if (rc == -ENOENT)
		return 0;		/* mapped LUN not linked: no access */
	if (rc || link_tail(target, c, len, 2) ||
	    !comp_is(c[0], len[0], "lun"))
		return tcmu_reach_add(r, tpg, init, NULL, NULL,
		    flags | TCMU_REACH_UNKNOWN);
	for (unsigned int i = 0; i < nluns; i++)
		if (comp_is(c[1], len[1], luns[i].name))
			return reach_grant_lun(r, tpg, init, &luns[i], flags);
	return 0;			/* no such TPG LUN: reaches nothing */
}

static int
reach_acl(struct tcmu_reach *r, const char *tpg, const char *init,
    const char *acldir, const struct reach_lun *luns, unsigned int nluns)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int rc = 0;

	d = opendir(acldir);
	if (d == NULL)
		return tcmu_reach_add(r, tpg, init, NULL, NULL,
		    TCMU_REACH_UNKNOWN | TCMU_REACH_RO);
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "lun_", 4) != 0)
			continue;
		if (reach_path(path, sizeof(path), "%s/%s", acldir,
		    de->d_name))
			rc = tcmu_reach_add(r, tpg, init, NULL, NULL,
			    TCMU_REACH_UNKNOWN | TCMU_REACH_RO);
		else
			rc = reach_acl_lun(r, tpg, init, path, luns, nluns);
	}
	closedir(d);
	return rc;
}

static int
reach_acls(struct tcmu_reach *r, const char *tpg, const char *tpgdir,
    const struct reach_lun *luns, unsigned int nluns)
{
	char path[PATH_MAX], acldir[PATH_MAX + 8];
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (reach_path(path, sizeof(path), "%s/acls", tpgdir))
		return -ENAMETOOLONG;
	d = opendir(path);
	if (d == NULL) {
		if (errno == ENOENT)
			return 0;
		/* unknown initiators with an unknown share of the LUNs */
		for (unsigned int i = 0; i < nluns && rc == 0; i++)
			rc = reach_grant_lun(r, tpg, REACH_UNREADABLE_ACL,
			    &luns[i], TCMU_REACH_RO);
		return rc;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (!reach_entry_is(d, de, true))
			continue;
		if (reach_path(acldir, sizeof(acldir), "%s/%s", path,
		    de->d_name)) {
			rc = -ENAMETOOLONG;
			break;
		}
		rc = reach_acl(r, tpg, de->d_name, acldir, luns, nluns);
	}
	closedir(d);
	return rc;
}

/*
 * Can a LUN of the table be a user: device (core/user_<n>/...), or is its
 * device unknown?  A TPG with none grants nothing covers() looks at (its
 * ACLs' mapped LUNs link only to its own lun/ entries), so its attrib/
 * and acls/ are not read: fewer configfs reads per copy command when
 * LIO also exports other backstores.
 */
static bool
reach_any_user(const struct reach_lun *luns, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (luns[i].unknown || strncmp(luns[i].hba, "user_", 5) == 0)
			return true;
	return false;
}

static int
reach_tpg(struct tcmu_reach *r, const char *tpg, const char *tpgdir)
{
	char path[PATH_MAX + 32];
	struct reach_lun *luns;
	unsigned int nluns, flags = 0;
	int rc, demo, wp;

	rc = reach_luns(tpgdir, &luns, &nluns);
	if (rc == -ENOMEM)
		return rc;
	if (rc) {
		log_warn("tcmu: cannot read %s/lun: %s; copy scope closed",
		    tpgdir, strerror(-rc));
		r->incomplete = true;
		return 0;
	}
	if (!reach_any_user(luns, nluns)) {
		free(luns);
		return 0;
	}
	rc = reach_path(path, sizeof(path), "%s/attrib/generate_node_acls",
	    tpgdir);
	demo = rc ? rc : reach_flag(path);
	if (demo != '0') {
		/* on, absent (always-demo fabrics) or unreadable */
		rc = reach_path(path, sizeof(path),
		    "%s/attrib/demo_mode_write_protect", tpgdir);
		wp = rc ? rc : reach_flag(path);
		if (wp == '1' || (wp < 0 && wp != -ENOENT))
			flags |= TCMU_REACH_RO;
		for (unsigned int i = 0; i < nluns && rc == 0; i++)
			rc = reach_grant_lun(r, tpg, NULL, &luns[i], flags);
		if (rc)
			goto out;
	}
	rc = reach_acls(r, tpg, tpgdir, luns, nluns);
out:
	free(luns);
	return rc;
}

/* Every tpgt_<n> below <configfs>/<fabric>/<wwn>. */
static int
reach_wwn(struct tcmu_reach *r, const char *fabric, const char *wwn,
    const char *wwndir)
{
	char tpg[PATH_MAX], tpgdir[PATH_MAX + 8];
	struct dirent *de;
	DIR *d;
	int rc = 0;

	d = opendir(wwndir);
	if (d == NULL) {
		if (errno != ENOTDIR)
			r->incomplete = true;
		return 0;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "tpgt_", 5) != 0)
			continue;
		if (!reach_entry_is(d, de, true))
			continue;
		if (reach_path(tpg, sizeof(tpg), "%s/%s/%s", fabric, wwn,
		    de->d_name) ||
		    reach_path(tpgdir, sizeof(tpgdir), "%s/%s", wwndir,
		    de->d_name)) {
			r->incomplete = true;
			continue;
		}
		rc = reach_tpg(r, tpg, tpgdir);
	}
	closedir(d);
	return rc;
}

static int
reach_fabric(struct tcmu_reach *r, const char *fabric, const char *dir)
{
	char wwndir[PATH_MAX + 8];
	struct dirent *de;
	DIR *d;
	int rc = 0;

	d = opendir(dir);
	if (d == NULL) {
		if (errno != ENOTDIR)
			r->incomplete = true;
		return 0;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (!reach_entry_is(d, de, true))
			continue;
		if (reach_path(wwndir, sizeof(wwndir), "%s/%s", dir,
		    de->d_name)) {
			r->incomplete = true;
			continue;
		}
		rc = reach_wwn(r, fabric, de->d_name, wwndir);
	}
	closedir(d);
	return rc;
}

int
tcmu_reach_load(struct tcmu_reach **out)
{
	char dir[PATH_MAX];
	struct tcmu_reach *r;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	*out = NULL;
	d = opendir(tcmu_paths.configfs);
	if (d == NULL)
		return -errno;
	r = tcmu_reach_new();
	if (r == NULL) {
		closedir(d);
		return -ENOMEM;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, "core") == 0)
			continue;
		if (!reach_entry_is(d, de, true))
			continue;
		if (reach_path(dir, sizeof(dir), "%s/%s", tcmu_paths.configfs,
		    de->d_name)) {
			r->incomplete = true;
			continue;
		}
		rc = reach_fabric(r, de->d_name, dir);
	}
	closedir(d);
	if (rc) {
		tcmu_reach_free(r);
		return rc;
	}
	*out = r;
	return 0;
}
