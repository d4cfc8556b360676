/*
 * conf_file.c - reading a configuration file, and freeing a struct conf.
 *
 * conf_load() reads the whole file (at most CONF_FILE_MAX bytes, no NUL
 * bytes) and hands it to conf_parse(); relative dev paths are then taken
 * relative to the file's directory, so a configuration and its images can
 * move together.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "util.h"

#define CONF_FILE_MAX		(16u << 20)

/* Relative dev paths are relative to the directory of the file. */
static int
conf_resolve_paths(struct conf *c, const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t dlen;

	if (slash == NULL)
		return 0;
	dlen = (size_t)(slash - path) + 1;
	for (unsigned int i = 0; i < c->n_storage; i++) {
		struct conf_storage *so = &c->storage[i];
		char *p;

		if (so->dev == NULL || so->dev[0] == '/')
			continue;
		p = xmalloc(dlen + strlen(so->dev) + 1);
		if (p == NULL)
			return -ENOMEM;
		memcpy(p, path, dlen);
		strcpy(p + dlen, so->dev);
		free(so->dev);
		so->dev = p;
	}
	return 0;
}

struct conf *
conf_load(const char *path, char **errmsg)
{
	struct conf *c;
	struct stat st;
	char *buf, tmp[512];
	ssize_t n;
	size_t off = 0;
	int fd;

	*errmsg = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(tmp, sizeof(tmp), "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		*errmsg = xstrdup(tmp);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)CONF_FILE_MAX) {
		snprintf(tmp, sizeof(tmp), "%s: not a regular file of at most "
		    "%u bytes", path, CONF_FILE_MAX);
		close(fd);
		*errmsg = xstrdup(tmp);
		return NULL;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		close(fd);
		*errmsg = xstrdup("out of memory");
		return NULL;
	}
	while (off < (size_t)st.st_size) {
		n = read(fd, buf + off, (size_t)st.st_size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(tmp, sizeof(tmp), "%s: %s", path,
			    n < 0 ? strerror(errno) : "file shrank");
			close(fd);
			free(buf);
			*errmsg = xstrdup(tmp);
			return NULL;
		}
		off += (size_t)n;
	}
	close(fd);
	buf[off] = '\0';
	if (strlen(buf) != off) {
		snprintf(tmp, sizeof(tmp), "%s: contains a NUL byte", path);
		free(buf);
		*errmsg = xstrdup(tmp);
		return NULL;
	}
	c = conf_parse(buf, path, errmsg);
	free(buf);
	if (c == NULL)
		return NULL;
	c->path = xstrdup(path);
	if (c->path == NULL || conf_resolve_paths(c, path) != 0) {
		conf_free(c);
		*errmsg = xstrdup("out of memory");
		return NULL;
	}
	return c;
}

static void
conf_chap_free(struct conf_chap *ch)
{
	free(ch->userid);
	free(ch->password);
	free(ch->mutual_userid);
	free(ch->mutual_password);
}

static void
conf_tpg_free(struct conf_tpg *g)
{
	unsigned int i;

	for (i = 0; g->portals && i < g->n_portals; i++)
		free(g->portals[i].ip);
	free(g->portals);
	for (i = 0; g->luns && i < g->n_luns; i++) {
		free(g->luns[i].storage);
		free(g->luns[i].alias);
	}
	free(g->luns);
	for (i = 0; g->acls && i < g->n_acls; i++) {
		free(g->acls[i].node_wwn);
		free(g->acls[i].mapped_luns);
		conf_chap_free(&g->acls[i].chap);
	}
	free(g->acls);
	for (i = 0; g->params && i < g->n_params; i++) {
		free(g->params[i].key);
		free(g->params[i].value);
	}
	free(g->params);
	conf_chap_free(&g->chap);
}

void
conf_free(struct conf *c)
{
	unsigned int i, k;

	if (c == NULL)
		return;
	for (i = 0; c->storage && i < c->n_storage; i++) {
		struct conf_storage *so = &c->storage[i];

		free(so->plugin);
		free(so->name);
		free(so->dev);
		free(so->wwn);
		free(so->config);
	}
	free(c->storage);
	for (i = 0; c->targets && i < c->n_targets; i++) {
		for (k = 0; c->targets[i].tpgs && k < c->targets[i].n_tpgs;
		    k++)
			conf_tpg_free(&c->targets[i].tpgs[k]);
		free(c->targets[i].tpgs);
		free(c->targets[i].wwn);
		free(c->targets[i].fabric);
	}
	free(c->targets);
	free(c->path);
	free(c->state_dir);
	free(c);
}

const struct conf_storage *
conf_storage_find(const struct conf *c, const char *name)
{
	for (unsigned int i = 0; i < c->n_storage; i++)
		if (strcmp(c->storage[i].name, name) == 0)
			return &c->storage[i];
	return NULL;
}
