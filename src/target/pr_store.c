/*
 * pr_store.c - APTPL persistence of persistent reservations (SPC-4
 * 5.13.5: with APTPL = 1 registrations and the reservation survive a
 * power loss).
 *
 * One text file per LU, <state_dir>/pr/<lu id>.state, where the id is the
 * hex NAA of the LU (a hash of the storage object's wwn, so it follows the
 * storage object, not its LUN number):
 *
 *	tpcd-pr 1
 *	name <storage object name, informational>
 *	generation <PRgeneration>
 *	aptpl 1
 *	reservation <type> <scope> <holder index, -1: all registrants>
 *	reg <key hex> <tpg tag> <relative port id> <initiator port> <target>
 *	end
 *
 * Saving writes .<id>.state.tmp, fsyncs it, renames it over the file and
 * fsyncs the directory: a crash leaves either the old or the new file,
 * and a torn temp file is ignored (and removed) by the next load.  SPC-2
 * reservations are never saved: they end with the I_T nexus.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "pr.h"
#include "util.h"

#define PR_STORE_MAX	(1u << 20)	/* largest file we read */

static pthread_mutex_t pr_store_lock = PTHREAD_MUTEX_INITIALIZER;
static char pr_store_dir[PATH_MAX];

int
pr_store_set_dir(const char *state_dir)
{
	char dir[PATH_MAX];
	int n, rc = 0;

	pthread_mutex_lock(&pr_store_lock);
	pr_store_dir[0] = '\0';
	if (state_dir != NULL) {
		n = snprintf(dir, sizeof(dir), "%s/pr", state_dir);
		if (n < 0 || (size_t)n >= sizeof(dir))
			rc = -ENAMETOOLONG;
		else if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			rc = -errno;
		else
			strlcpy_t(pr_store_dir, dir, sizeof(pr_store_dir));
	}
	pthread_mutex_unlock(&pr_store_lock);
	if (rc != 0)
		log_err("reservations: %s/pr: %s; APTPL is not available",
		    state_dir, strerror(-rc));
	return rc;
}

bool
pr_store_enabled(void)
{
	bool on;

	pthread_mutex_lock(&pr_store_lock);
	on = pr_store_dir[0] != '\0';
	pthread_mutex_unlock(&pr_store_lock);
	return on;
}

static int
pr_store_paths(const char *lu_id, char *dir, char *path, char *tmp)
{
	int n1, n2;

	pthread_mutex_lock(&pr_store_lock);
	strlcpy_t(dir, pr_store_dir, PATH_MAX);
	pthread_mutex_unlock(&pr_store_lock);
	if (dir[0] == '\0')
		return -ENOTSUP;
	n1 = snprintf(path, PATH_MAX, "%s/%s.state", dir, lu_id);
	n2 = snprintf(tmp, PATH_MAX, "%s/.%s.state.tmp", dir, lu_id);
	if (n1 < 0 || n2 < 0 || n1 >= PATH_MAX || n2 >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* --- text format --- */

struct pr_sbuf {
	char	*s;
	size_t	 len, cap;
	bool	 oom;
};

static void
pr_sbuf_add(struct pr_sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
pr_sbuf_add(struct pr_sbuf *b, const char *fmt, ...)
{
	va_list ap;
	size_t need;
	char *ns;
	int n;

	if (b->oom)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	need = b->len + (size_t)n + 1;
	if (need > b->cap) {
		ns = xrealloc(b->s, need * 2);
		if (ns == NULL) {
			b->oom = true;
			return;
		}
		b->s = ns;
		b->cap = need * 2;
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *
pr_store_format(const char *lu_name, const struct pr_state *st)
{
	struct pr_sbuf b = { 0 };
	char name[128];
	size_t i, j;

	for (i = 0, j = 0; lu_name != NULL && lu_name[i] != '\0' &&
	    j + 1 < sizeof(name); i++)
		name[j++] = lu_name[i] > 0x20 && lu_name[i] < 0x7f ?
		    lu_name[i] : '_';
	name[j] = '\0';
	pr_sbuf_add(&b, "tpcd-pr 1\nname %s\ngeneration %" PRIu32
	    "\naptpl %d\n", j ? name : "-", st->generation, st->aptpl);
	if (st->reserved)
		pr_sbuf_add(&b, "reservation %u %u %d\n", st->type,
		    st->scope, pr_type_all_reg(st->type) ? -1 : st->holder);
	for (i = 0; i < st->n_regs; i++) {
		const struct pr_reg *r = &st->regs[i];

		pr_sbuf_add(&b, "reg %016" PRIx64 " %u %u %s %s\n", r->key,
		    r->tpg_tag, r->rel_port_id, r->i_port, r->target);
	}
	pr_sbuf_add(&b, "end\n");
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* Parse one unsigned number in [0, max]. */
static bool
pr_num(const char *s, int base, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s == '\0' || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno != 0 || *end != '\0' || v > max)
		return false;
	*out = v;
	return true;
}

static bool
pr_parse_reg(struct pr_state *st, char *save)
{
	char *tok[5];
	struct pr_reg *r, *regs;
	uint64_t v[3];
	unsigned int i;

	for (i = 0; i < 5; i++) {
		tok[i] = strtok_r(NULL, " ", &save);
		if (tok[i] == NULL)
			return false;
	}
	if (strtok_r(NULL, " ", &save) != NULL ||
	    !pr_num(tok[0], 16, UINT64_MAX, &v[0]) || v[0] == 0 ||
	    !pr_num(tok[1], 10, UINT16_MAX, &v[1]) ||
	    !pr_num(tok[2], 10, UINT16_MAX, &v[2]) ||
	    strlen(tok[3]) >= PR_IPORT_MAX || strlen(tok[4]) >= PR_TARGET_MAX ||
	    st->n_regs >= PR_REGS_MAX)
		return false;
	if (st->n_regs == st->cap_regs) {
		unsigned int cap = st->cap_regs ? st->cap_regs * 2 : 4;

		regs = xrealloc(st->regs, cap * sizeof(*regs));
		if (regs == NULL)
			return false;
		st->regs = regs;
		st->cap_regs = cap;
	}
	r = &st->regs[st->n_regs++];
	memset(r, 0, sizeof(*r));
	r->key = v[0];
	r->tpg_tag = (uint16_t)v[1];
	r->rel_port_id = (uint16_t)v[2];
	strlcpy_t(r->i_port, tok[3], sizeof(r->i_port));
	strlcpy_t(r->target, tok[4], sizeof(r->target));
	return true;
}

int
pr_store_parse(const char *text, struct pr_state *st)
{
	char *copy, *line, *save = NULL, *lsave, *key;
	bool header = false, end = false, ok = true, resv = false;
	uint64_t v, type = 0, scope = 0;
	long holder = -1;

	pr_state_init(st);
	copy = xstrdup(text);
	if (copy == NULL)
		return -ENOMEM;
	for (line = strtok_r(copy, "\n", &save); ok && line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (end) {
			ok = false;	/* nothing after "end" */
			break;
		}
		key = strtok_r(line, " ", &lsave);
		if (key == NULL)
			continue;
		if (!header) {
			char *ver = strtok_r(NULL, " ", &lsave);

			ok = strcmp(key, "tpcd-pr") == 0 && ver != NULL &&
			    strcmp(ver, "1") == 0;
			header = true;
		} else if (strcmp(key, "name") == 0) {
			continue;
		} else if (strcmp(key, "generation") == 0) {
			ok = pr_num(strtok_r(NULL, " ", &lsave), 10,
			    UINT32_MAX, &v);
			st->generation = (uint32_t)v;
		} else if (strcmp(key, "aptpl") == 0) {
			ok = pr_num(strtok_r(NULL, " ", &lsave), 10, 1, &v);
			st->aptpl = v != 0;
		} else if (strcmp(key, "reservation") == 0) {
			char *h;

			ok = !resv &&
			    pr_num(strtok_r(NULL, " ", &lsave), 10, 15,
			    &type) &&
			    pr_num(strtok_r(NULL, " ", &lsave), 10, 15,
			    &scope) && pr_type_valid((uint8_t)type) &&
			    scope == PR_SCOPE_LU;
			h = strtok_r(NULL, " ", &lsave);
			if (ok && h != NULL && strcmp(h, "-1") == 0)
				holder = -1;
			else if (ok && pr_num(h, 10, PR_REGS_MAX, &v))
				holder = (long)v;
			else
				ok = false;
			resv = true;
		} else if (strcmp(key, "reg") == 0) {
			ok = pr_parse_reg(st, lsave);
		} else if (strcmp(key, "end") == 0) {
			end = true;
		} else {
			ok = false;
		}
	}
	free(copy);
	if (ok && end && resv) {
		/* the holder must be a registrant (all-registrants: any) */
		if (pr_type_all_reg((uint8_t)type) ?
		    st->n_regs == 0 : holder < 0 ||
		    (unsigned long)holder >= st->n_regs)
			ok = false;
		st->reserved = true;
		st->type = (uint8_t)type;
		st->scope = (uint8_t)scope;
		st->holder = pr_type_all_reg((uint8_t)type) ? -1 : (int)holder;
	}
	if (!ok || !end) {
		pr_state_fini(st);
		return -EINVAL;
	}
	return 0;
}

/* --- files --- */

static int
pr_write_all(int fd, const char *s, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, s, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
pr_fsync_dir(const char *dir)
{
	int fd, rc = 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

int
pr_store_save(const char *lu_id, const char *lu_name,
    const struct pr_state *st)
{
	char dir[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX];
	char *text;
	int fd, rc;

	rc = pr_store_paths(lu_id, dir, path, tmp);
	if (rc != 0)
		return rc;
	text = pr_store_format(lu_name, st);
	if (text == NULL)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = pr_write_all(fd, text, strlen(text));
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc == 0)
		rc = pr_fsync_dir(dir);
	else
		unlink(tmp);
out:
	free(text);
	if (rc != 0)
		log_err("reservations: cannot save %s: %s", path,
		    strerror(-rc));
	return rc;
}

int
pr_store_remove(const char *lu_id)
{
	char dir[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX];
	int rc;

	rc = pr_store_paths(lu_id, dir, path, tmp);
	if (rc != 0)
		return rc == -ENOTSUP ? 0 : rc;
	if (unlink(path) != 0) {
		if (errno == ENOENT)
			return 0;
		return -errno;
	}
	return pr_fsync_dir(dir);
}

int
pr_store_load(const char *lu_id, struct pr_state *st)
{
	char dir[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX];
	char *text = NULL;
	struct stat sb;
	ssize_t r;
	size_t off = 0;
	int fd, rc;

	pr_state_init(st);
	rc = pr_store_paths(lu_id, dir, path, tmp);
	if (rc != 0)
		return rc == -ENOTSUP ? -ENOENT : rc;
	/* a temp file is an interrupted save: the real file is intact */
	if (unlink(tmp) == 0)
		log_warn("reservations: ignored interrupted save %s", tmp);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) != 0 || sb.st_size < 0 ||
	    (uint64_t)sb.st_size > PR_STORE_MAX) {
		rc = -EFBIG;
		goto out;
	}
	text = xmalloc((size_t)sb.st_size + 1);
	if (text == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	while (off < (size_t)sb.st_size) {
		r = read(fd, text + off, (size_t)sb.st_size - off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? -errno : -EIO;
			goto out;
		}
		off += (size_t)r;
	}
	text[off] = '\0';
	if (strlen(text) != off) {
		rc = -EINVAL;
		goto out;
	}
	rc = pr_store_parse(text, st);
out:
	close(fd);
	free(text);
	if (rc != 0 && rc != -ENOENT)
		log_err("reservations: %s is unreadable (%s); starting "
		    "without saved reservations", path, strerror(-rc));
	return rc;
}
