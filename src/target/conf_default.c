/*
 * conf_default.c - the embedded default configuration and stable wwns.
 *
 * With no -c, tpcd serves iqn.2026-11.org.tpcd:default on 127.0.0.1:3260
 * with LUN 0 and 1 on sparse 1 GiB files lun0.img and lun1.img in the
 * state directory, open to any initiator without CHAP.  The default is
 * built as the same JSON document a user would write and goes through the
 * same parser, so it obeys the same rules.
 *
 * Storage objects need a wwn that survives restarts (it seeds the NAA and
 * unit serial).  It is a SHA-256 of (seed, plugin, name) printed like the
 * UUIDs LIO generates.  For the default the seed is a random id kept in
 * STATE_DIR/instance-id, so two hosts' defaults differ.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "conf_int.h"
#include "log.h"
#include "util.h"

#define CONF_INSTANCE_FILE	"instance-id"
#define CONF_INSTANCE_LEN	32	/* hex digits */

char *
conf_wwn_derive(const char *seed, const char *plugin, const char *name)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	char *out;
	int ok;

	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return NULL;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(ctx, "tpcd-wwn", 9) &&
	    EVP_DigestUpdate(ctx, seed, strlen(seed) + 1) &&
	    EVP_DigestUpdate(ctx, plugin, strlen(plugin) + 1) &&
	    EVP_DigestUpdate(ctx, name, strlen(name) + 1) &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	if (!ok || mdlen < 16)
		return NULL;
	out = xmalloc(37);
	if (out == NULL)
		return NULL;
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", md[0], md[1], md[2], md[3], md[4],
	    md[5], md[6], md[7], md[8], md[9], md[10], md[11], md[12], md[13],
	    md[14], md[15]);
	return out;
}

/* mkdir -p */
static int
conf_mkdirs(const char *dir)
{
	char buf[PATH_MAX];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, dir, len + 1);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Read STATE_DIR/instance-id, creating it with a random id if missing. */
static int
conf_instance_id(const char *dir, char id[CONF_INSTANCE_LEN + 1])
{
	unsigned char rnd[CONF_INSTANCE_LEN / 2];
	char path[PATH_MAX];
	ssize_t n;
	int fd, i;

	snprintf(path, sizeof(path), "%s/%s", dir, CONF_INSTANCE_FILE);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, id, CONF_INSTANCE_LEN);
		close(fd);
		if (n == CONF_INSTANCE_LEN) {
			id[CONF_INSTANCE_LEN] = '\0';
			return 0;
		}
		log_warn("%s: malformed, making a new one", path);
	} else if (errno != ENOENT)
		return -errno;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -EIO;
	for (i = 0; i < (int)sizeof(rnd); i++)
		snprintf(id + 2 * i, 3, "%02x", rnd[i]);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	n = write(fd, id, CONF_INSTANCE_LEN);
	if (n == CONF_INSTANCE_LEN)
		n = write(fd, "\n", 1);
	close(fd);
	return n < 0 ? -errno : 0;
}

/* Create a sparse backing file if missing; return its size. */
static int
conf_backing_file(const char *path, uint64_t *size)
{
	struct stat st;
	int fd, rc = 0;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0)
		rc = -errno;
	else if (st.st_size == 0) {
		if (ftruncate(fd, (off_t)CONF_DEFAULT_LUN_SIZE) != 0)
			rc = -errno;
		*size = CONF_DEFAULT_LUN_SIZE;
	} else
		*size = (uint64_t)st.st_size & ~511ull;
	close(fd);
	return rc;
}

static struct json_object *
conf_default_json(const char *dir, const char *id, char *err, size_t errlen)
{
	struct json_object *root, *sos, *tgts, *t, *tpgs, *tpg, *o, *luns;
	char path[PATH_MAX], name[8];
	uint64_t size = 0;
	char *wwn;
	int rc;

	root = json_object_new_object();
	sos = json_object_new_array();
	luns = json_object_new_array();
	json_object_object_add(root, "storage_objects", sos);
	for (int i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "lun%d", i);
		if ((size_t)snprintf(path, sizeof(path), "%s/%s.img", dir,
		    name) >= sizeof(path)) {
			snprintf(err, errlen, "%s: path too long", dir);
			goto fail;
		}
		rc = conf_backing_file(path, &size);
		if (rc != 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(-rc));
			goto fail;
		}
		wwn = conf_wwn_derive(id, "fileio", name);
		if (wwn == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		o = json_object_new_object();
		json_object_object_add(o, "plugin",
		    json_object_new_string("fileio"));
		json_object_object_add(o, "name", json_object_new_string(name));
		json_object_object_add(o, "dev", json_object_new_string(path));
		json_object_object_add(o, "size", json_object_new_int64(
		    (int64_t)size));
		json_object_object_add(o, "wwn", json_object_new_string(wwn));
		json_object_object_add(o, "write_back",
		    json_object_new_boolean(1));
		free(wwn);
		json_object_array_add(sos, o);

		o = json_object_new_object();
		json_object_object_add(o, "index", json_object_new_int(i));
		snprintf(path, sizeof(path), "/backstores/fileio/%s", name);
		json_object_object_add(o, "storage_object",
		    json_object_new_string(path));
		json_object_array_add(luns, o);
	}
	tgts = json_object_new_array();
	json_object_object_add(root, "targets", tgts);
	t = json_object_new_object();
	json_object_array_add(tgts, t);
	json_object_object_add(t, "fabric", json_object_new_string("iscsi"));
	json_object_object_add(t, "wwn",
	    json_object_new_string(CONF_DEFAULT_TARGET));
	tpgs = json_object_new_array();
	json_object_object_add(t, "tpgs", tpgs);
	tpg = json_object_new_object();
	json_object_array_add(tpgs, tpg);
	json_object_object_add(tpg, "tag", json_object_new_int(1));
	json_object_object_add(tpg, "enable", json_object_new_boolean(1));
	o = json_object_new_object();
	json_object_object_add(o, "authentication", json_object_new_int(0));
	json_object_object_add(o, "generate_node_acls", json_object_new_int(1));
	json_object_object_add(o, "demo_mode_write_protect",
	    json_object_new_int(0));
	json_object_object_add(o, "cache_dynamic_acls", json_object_new_int(1));
	json_object_object_add(tpg, "attributes", o);
	o = json_object_new_object();
	json_object_object_add(o, "ip_address",
	    json_object_new_string(CONF_DEFAULT_IP));
	json_object_object_add(o, "port",
	    json_object_new_int(CONF_DEFAULT_PORT));
	json_object_object_add(tpg, "portals", json_object_new_array());
	json_object_array_add(json_object_object_get(tpg, "portals"), o);
	json_object_object_add(tpg, "luns", luns);
	json_object_object_add(tpg, "node_acls", json_object_new_array());
	return root;
fail:
	json_object_put(root);
	json_object_put(luns);
	return NULL;
}

struct conf *
conf_default(const char *state_dir, char **errmsg)
{
	char id[CONF_INSTANCE_LEN + 1], err[PATH_MAX + 128];
	struct json_object *root;
	struct conf *c;
	int rc;

	*errmsg = NULL;
	rc = conf_mkdirs(state_dir);
	if (rc == 0)
		rc = conf_instance_id(state_dir, id);
	if (rc != 0) {
		snprintf(err, sizeof(err), "%s: %s", state_dir, strerror(-rc));
		*errmsg = xstrdup(err);
		return NULL;
	}
	root = conf_default_json(state_dir, id, err, sizeof(err));
	if (root == NULL) {
		*errmsg = xstrdup(err);
		return NULL;
	}
	c = conf_from_json(root, "default configuration", errmsg);
	json_object_put(root);
	if (c == NULL)
		return NULL;
	c->state_dir = xstrdup(state_dir);
	if (c->state_dir == NULL) {
		conf_free(c);
		*errmsg = xstrdup("out of memory");
		return NULL;
	}
	return c;
}
