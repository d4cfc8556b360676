/*
 * conf.c - read targetcli/rtslib's saveconfig.json into a struct conf.
 *
 * The whole file is parsed with json-c, then walked with one key table per
 * kind of object ({name, type, offset, range}, like tgt's session_keys[]):
 * typed keys are stored, keys LIO knows but we do not use are skipped
 * silently, anything else is warned about and ignored.  The first invalid
 * value stops the walk with "FILE: json.path: reason".  Cross references
 * (LUN -> storage object, mapped LUN -> TPG LUN) and duplicate names are
 * checked in a second pass once everything is read, since JSON objects have
 * no order.  See conf/README.md for the keys and what we do with them.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "conf_int.h"
#include "iscsi_param.h"
#include "log.h"
#include "util.h"

#define CONF_LUN_MAX		16383u	/* SAM-5 flat addressing */
#define CONF_PARAMS_TEXT_MAX	1023u	/* struct target_auth.params */
#define CONF_WWN_MAX		63u	/* lun.h LUN_SERIAL_MAX - 1 */

/* Parse state: the path being walked and the first error. */
struct cp {
	const char	*file;
	char		 path[512];
	size_t		 plen;
	char		*err;
	bool		 failed;
	struct conf	*conf;
	char		**so_plugin;	/* plugin as written, per storage */
};

enum cpt {
	CPT_IGNORE,	/* known LIO key we do not use */
	CPT_STR,	/* char *, max = longest length */
	CPT_BOOL,
	CPT_U16,
	CPT_U32,
	CPT_SIZE,	/* uint64_t bytes: number or "1G" */
	CPT_FN,		/* custom */
};

struct cp_key {
	const char	*name;
	enum cpt	 type;
	size_t		 off;
	uint32_t	 min, max;
	int		(*fn)(struct cp *, struct json_object *, void *obj);
	bool		 required;
};

#define K_IGN(n)		{ .name = (n), .type = CPT_IGNORE }
#define K_STR(n, s, f, mx)	{ .name = (n), .type = CPT_STR, \
	.off = offsetof(s, f), .max = (mx) }
#define K_BOOL(n, s, f)		{ .name = (n), .type = CPT_BOOL, \
	.off = offsetof(s, f) }
#define K_U16(n, s, f, lo, hi)	{ .name = (n), .type = CPT_U16, \
	.off = offsetof(s, f), .min = (lo), .max = (hi) }
#define K_U32(n, s, f, lo, hi)	{ .name = (n), .type = CPT_U32, \
	.off = offsetof(s, f), .min = (lo), .max = (hi) }
#define K_FN(n, f)		{ .name = (n), .type = CPT_FN, .fn = (f) }
#define K_END			{ .name = NULL }

/* --- messages and path --- */

static int	cp_fail(struct cp *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	cp_warn(struct cp *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	cp_set_path(struct cp *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static int
cp_fail(struct cp *cp, const char *fmt, ...)
{
	const char *where;
	char msg[512];
	va_list ap;
	size_t len;

	if (cp->failed)
		return -1;
	cp->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	where = cp->plen ? cp->path : "top level";
	len = strlen(cp->file) + strlen(where) + strlen(msg) + 8;
	cp->err = xmalloc(len);
	if (cp->err != NULL)
		snprintf(cp->err, len, "%s: %s: %s", cp->file, where, msg);
	return -1;
}

static void
cp_warn(struct cp *cp, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("%s: %s: %s", cp->file, cp->plen ? cp->path : "top level",
	    msg);
	cp->conf->n_warnings++;
}

/* Append ".key" (or "key" at the top) or "[i]"; returns the old length. */
static size_t
cp_push(struct cp *cp, const char *key, long idx)
{
	size_t old = cp->plen;
	int n;

	if (key != NULL)
		n = snprintf(cp->path + old, sizeof(cp->path) - old, "%s%s",
		    old ? "." : "", key);
	else
		n = snprintf(cp->path + old, sizeof(cp->path) - old, "[%ld]",
		    idx);
	if (n > 0)
		cp->plen = MIN(old + (size_t)n, sizeof(cp->path) - 1);
	return old;
}

static void
cp_pop(struct cp *cp, size_t old)
{
	cp->plen = old;
	cp->path[old] = '\0';
}

/* --- typed values --- */

static int
cp_get_str(struct cp *cp, struct json_object *j, size_t max, char **out)
{
	const char *s;
	size_t len;

	if (!json_object_is_type(j, json_type_string))
		return cp_fail(cp, "must be a string");
	s = json_object_get_string(j);
	len = (size_t)json_object_get_string_len(j);
	if (strlen(s) != len)
		return cp_fail(cp, "must not contain NUL");
	if (max && len > max)
		return cp_fail(cp, "must be at most %zu characters", max);
	free(*out);
	*out = xstrdup(s);
	if (*out == NULL)
		return cp_fail(cp, "out of memory");
	return 0;
}

static int
cp_get_bool(struct cp *cp, struct json_object *j, bool *out)
{
	if (json_object_is_type(j, json_type_boolean)) {
		*out = json_object_get_boolean(j);
		return 0;
	}
	if (json_object_is_type(j, json_type_int)) {
		int64_t v = json_object_get_int64(j);

		if (v == 0 || v == 1) {
			*out = v == 1;
			return 0;
		}
	}
	return cp_fail(cp, "must be true, false, 0 or 1");
}

/* Integers come as JSON numbers; rtslib writes some as strings. */
static int
cp_get_uint(struct cp *cp, struct json_object *j, uint64_t min, uint64_t max,
    uint64_t *out)
{
	uint64_t v;
	char *end;
	const char *s;

	if (json_object_is_type(j, json_type_int)) {
		if (json_object_get_int64(j) < 0)
			goto range;
		v = json_object_get_uint64(j);
	} else if (json_object_is_type(j, json_type_string)) {
		s = json_object_get_string(j);
		if (*s < '0' || *s > '9')
			return cp_fail(cp, "must be an integer");
		errno = 0;
		v = strtoull(s, &end, 10);
		if (*end != '\0')
			return cp_fail(cp, "must be an integer");
		if (errno == ERANGE)
			goto range;
	} else
		return cp_fail(cp, "must be an integer");
	if (v < min || v > max)
		goto range;
	*out = v;
	return 0;
range:
	return cp_fail(cp, "must be %llu..%llu", (unsigned long long)min,
	    (unsigned long long)max);
}

/* Parse "4096", "512K", "1G", "1GiB", "2 TB" (binary multiples). */
int
conf_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGTPE";
	const char *u;
	char *end;
	uint64_t v, mult = 1;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	while (*end == ' ')
		end++;
	if (*end != '\0') {
		u = strchr(units, *end & ~0x20);
		if (u == NULL || *end == '\0')
			return -EINVAL;
		for (int i = 0; i <= u - units; i++)
			mult *= 1024;
		end++;
		if (*end == 'i' && (end[1] == 'B' || end[1] == 'b'))
			end += 2;
		else if (*end == 'B' || *end == 'b')
			end++;
		if (*end != '\0')
			return -EINVAL;
	}
	if (v != 0 && mult > UINT64_MAX / v)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

static int
cp_get_size(struct cp *cp, struct json_object *j, uint64_t *out)
{
	int rc;

	if (json_object_is_type(j, json_type_int)) {
		if (json_object_get_int64(j) < 0)
			return cp_fail(cp, "must not be negative");
		*out = json_object_get_uint64(j);
		return 0;
	}
	if (!json_object_is_type(j, json_type_string))
		return cp_fail(cp, "must be a number of bytes or a string "
		    "like \"1G\"");
	rc = conf_parse_size(json_object_get_string(j), out);
	if (rc == -ERANGE)
		return cp_fail(cp, "too large");
	if (rc != 0)
		return cp_fail(cp, "must be a number of bytes or a string "
		    "like \"1G\"");
	return 0;
}

/* --- objects and arrays --- */

/* Walk a JSON object with a key table. */
static int
cp_object(struct cp *cp, struct json_object *j, const struct cp_key *tab,
    void *obj)
{
	uint64_t seen = 0, v;
	const struct cp_key *k;
	size_t old;
	char *base = obj;
	int rc = 0;

	if (!json_object_is_type(j, json_type_object))
		return cp_fail(cp, "must be an object");
	json_object_object_foreach(j, key, val) {
		for (k = tab; k->name != NULL; k++)
			if (strcmp(k->name, key) == 0)
				break;
		old = cp_push(cp, key, 0);
		if (k->name == NULL) {
			cp_warn(cp, "unknown key, ignored");
			cp_pop(cp, old);
			continue;
		}
		assert(k - tab < 64);
		seen |= 1ull << (k - tab);
		switch (k->type) {
		case CPT_IGNORE:
			break;
		case CPT_STR:
			if (json_object_is_type(val, json_type_null))
				break;
			rc = cp_get_str(cp, val, k->max,
			    (char **)(void *)(base + k->off));
			break;
		case CPT_BOOL:
			rc = cp_get_bool(cp, val, (bool *)(void *)(base +
			    k->off));
			break;
		case CPT_U16:
			rc = cp_get_uint(cp, val, k->min, k->max, &v);
			if (rc == 0)
				*(uint16_t *)(void *)(base + k->off) =
				    (uint16_t)v;
			break;
		case CPT_U32:
			rc = cp_get_uint(cp, val, k->min, k->max, &v);
			if (rc == 0)
				*(uint32_t *)(void *)(base + k->off) =
				    (uint32_t)v;
			break;
		case CPT_SIZE:
			rc = cp_get_size(cp, val, (uint64_t *)(void *)(base +
			    k->off));
			break;
		case CPT_FN:
			rc = k->fn(cp, val, obj);
			break;
		}
		cp_pop(cp, old);
		if (rc != 0)
			return -1;
	}
	for (k = tab; k->name != NULL; k++) {
		if (k->required && !(seen & (1ull << (k - tab)))) {
			old = cp_push(cp, k->name, 0);
			cp_fail(cp, "required");
			cp_pop(cp, old);
			return -1;
		}
	}
	return 0;
}

/* Parse a JSON array into a calloc'd array of n elements of size sz. */
static int
cp_array(struct cp *cp, struct json_object *j, size_t sz, void **out,
    unsigned int *n, int (*elem)(struct cp *, struct json_object *, void *))
{
	size_t len, i, old;
	char *arr;

	if (!json_object_is_type(j, json_type_array))
		return cp_fail(cp, "must be an array");
	if (*out != NULL)
		return cp_fail(cp, "given twice");
	len = json_object_array_length(j);
	if (len > 65536)
		return cp_fail(cp, "too many entries");
	arr = xcalloc(len ? len : 1, sz);
	if (arr == NULL)
		return cp_fail(cp, "out of memory");
	*out = arr;
	for (i = 0; i < len; i++) {
		old = cp_push(cp, NULL, (long)i);
		*n = (unsigned int)i + 1;
		if (elem(cp, json_object_array_get_idx(j, i), arr + i * sz))
			return -1;
		cp_pop(cp, old);
	}
	*n = (unsigned int)len;
	return 0;
}

/* --- storage objects --- */

static int
cp_block_size(struct cp *cp, struct json_object *j, void *obj)
{
	struct conf_storage *so = obj;
	uint64_t v;

	if (cp_get_uint(cp, j, 0, UINT32_MAX, &v) != 0)
		return -1;
	if (v != 512 && v != 4096)
		return cp_fail(cp, "must be 512 or 4096");
	so->block_size = (uint32_t)v;
	return 0;
}

/* LIO's storage object attributes: read block_size and our tpcd_thin,
 * skip the others (see conf/README.md). */
static int
cp_so_attributes(struct cp *cp, struct json_object *j, void *obj)
{
	static const struct cp_key tab[] = {
		K_FN("block_size", cp_block_size),
		K_BOOL("tpcd_thin", struct conf_storage, thin),
		K_IGN("alua_support"), K_IGN("emulate_3pc"),
		K_IGN("emulate_caw"), K_IGN("emulate_dpo"),
		K_IGN("emulate_fua_read"), K_IGN("emulate_fua_write"),
		K_IGN("emulate_model_alias"), K_IGN("emulate_pr"),
		K_IGN("emulate_rest_reord"), K_IGN("emulate_rsoc"),
		K_IGN("emulate_tas"), K_IGN("emulate_tpu"),
		K_IGN("emulate_tpws"), K_IGN("emulate_ua_intlck_ctrl"),
		K_IGN("emulate_write_cache"), K_IGN("enforce_pr_isids"),
		K_IGN("force_pr_aptpl"), K_IGN("hw_block_size"),
		K_IGN("hw_max_sectors"), K_IGN("hw_pi_prot_type"),
		K_IGN("hw_queue_depth"), K_IGN("is_nonrot"),
		K_IGN("max_unmap_block_desc_count"),
		K_IGN("max_unmap_lba_count"), K_IGN("max_write_same_len"),
		K_IGN("optimal_sectors"), K_IGN("pgr_support"),
		K_IGN("pi_prot_format"), K_IGN("pi_prot_type"),
		K_IGN("pi_prot_verify"), K_IGN("queue_depth"),
		K_IGN("submit_type"), K_IGN("unmap_granularity"),
		K_IGN("unmap_granularity_alignment"),
		K_IGN("unmap_zeroes_data"),
		K_END,
	};

	return cp_object(cp, j, tab, obj);
}

static int
cp_so_name(struct cp *cp, struct json_object *j, void *obj)
{
	struct conf_storage *so = obj;

	if (cp_get_str(cp, j, CONF_NAME_MAX - 1, &so->name) != 0)
		return -1;
	if (so->name[0] == '\0' || strchr(so->name, '/') != NULL)
		return cp_fail(cp, "must be a non-empty name without '/'");
	return 0;
}

static int
cp_so_plugin(struct cp *cp, struct json_object *j, void *obj)
{
	static const char *const known[] = {
		"fileio", "block", "nvme", "user", "mem", "rd_mcp", "pscsi",
		NULL,
	};
	struct conf_storage *so = obj;

	if (cp_get_str(cp, j, 32, &so->plugin) != 0)
		return -1;
	for (int i = 0; known[i] != NULL; i++)
		if (strcmp(so->plugin, known[i]) == 0)
			return 0;
	return cp_fail(cp, "unknown plugin \"%s\" (fileio, block, nvme, "
	    "user, mem, rd_mcp, pscsi)", so->plugin);
}

static int
cp_storage(struct cp *cp, struct json_object *j, void *obj)
{
	static const struct cp_key tab[] = {
		K_FN("plugin", cp_so_plugin),
		K_FN("name", cp_so_name),
		K_STR("dev", struct conf_storage, dev, PATH_MAX - 1),
		K_STR("wwn", struct conf_storage, wwn, CONF_WWN_MAX),
		{ .name = "size", .type = CPT_SIZE,
		  .off = offsetof(struct conf_storage, size) },
		K_BOOL("write_back", struct conf_storage, write_back),
		K_BOOL("readonly", struct conf_storage, read_only),
		K_STR("config", struct conf_storage, config, 4096),
		K_FN("attributes", cp_so_attributes),
		K_IGN("alua_tpgs"), K_IGN("aio"), K_IGN("exclusive"),
		K_IGN("hw_max_sectors"), K_IGN("control"),
		K_IGN("nullio"), K_IGN("index"),
		K_END,
	};
	struct conf_storage *so = obj;

	so->block_size = 0;	/* absent: 512, or the device's (block) */
	so->thin = true;
	so->write_back = true;	/* absent: rtslib's fileio default */
	if (cp_object(cp, j, tab, obj) != 0)
		return -1;
	/* required keys, in a fixed order for stable messages */
	if (so->plugin == NULL || so->name == NULL) {
		size_t old = cp_push(cp, so->plugin ? "name" : "plugin", 0);

		cp_fail(cp, "required");
		cp_pop(cp, old);
		return -1;
	}
	return 0;
}

/* Per-plugin rules, once the whole object is read. */
static int
cp_storage_check(struct cp *cp, struct conf_storage *so)
{
	const char *p = so->plugin;
	uint32_t bsz;
	size_t old;
	int rc = 0;

	if (strcmp(p, "fileio") == 0 || strcmp(p, "block") == 0 ||
	    strcmp(p, "nvme") == 0 || strcmp(p, "pscsi") == 0) {
		if (so->dev == NULL || so->dev[0] == '\0') {
			old = cp_push(cp, "dev", 0);
			rc = cp_fail(cp, "required for plugin %s", p);
			cp_pop(cp, old);
			return rc;
		}
	}
	if (strcmp(p, "mem") == 0 || strcmp(p, "rd_mcp") == 0 ||
	    strcmp(p, "user") == 0) {
		if (so->size == 0) {
			old = cp_push(cp, "size", 0);
			rc = cp_fail(cp, "required for plugin %s", p);
			cp_pop(cp, old);
			return rc;
		}
	}
	if (strcmp(p, "user") == 0 && so->config == NULL) {
		old = cp_push(cp, "config", 0);
		rc = cp_fail(cp, "required for plugin user");
		cp_pop(cp, old);
		return rc;
	}
	/* A device has its own logical block size: 0 takes it. */
	if (so->block_size == 0 && strcmp(p, "block") != 0 &&
	    strcmp(p, "nvme") != 0)
		so->block_size = 512;
	bsz = so->block_size != 0 ? so->block_size : 512;
	if (so->size != 0 && so->size < bsz) {
		old = cp_push(cp, "size", 0);
		rc = cp_fail(cp, "smaller than one block (%u bytes)", bsz);
		cp_pop(cp, old);
		return rc;
	}
	if (so->size % bsz != 0) {
		old = cp_push(cp, "size", 0);
		cp_warn(cp, "not a multiple of block_size %u; the last "
		    "partial block is not used", bsz);
		cp_pop(cp, old);
	}
	/* rtslib's ramdisk is our memory backstore. */
	if (strcmp(p, "rd_mcp") == 0) {
		free(so->plugin);
		so->plugin = xstrdup("mem");
		if (so->plugin == NULL)
			return cp_fail(cp, "out of memory");
	}
	if (so->wwn == NULL) {
		so->wwn = conf_wwn_derive("", so->plugin, so->name);
		if (so->wwn == NULL)
			return cp_fail(cp, "out of memory");
	}
	return 0;
}

static int
cp_storage_objects(struct cp *cp, struct json_object *j, void *obj)
{
	struct conf *c = obj;
	unsigned int i;
	size_t old;

	if (cp_array(cp, j, sizeof(*c->storage), (void **)&c->storage,
	    &c->n_storage, cp_storage) != 0)
		return -1;
	cp->so_plugin = xcalloc(c->n_storage + 1, sizeof(char *));
	if (cp->so_plugin == NULL)
		return cp_fail(cp, "out of memory");
	for (i = 0; i < c->n_storage; i++) {
		old = cp_push(cp, NULL, i);
		cp->so_plugin[i] = xstrdup(c->storage[i].plugin);
		if (cp->so_plugin[i] == NULL)
			return cp_fail(cp, "out of memory");
		if (cp_storage_check(cp, &c->storage[i]) != 0)
			return -1;
		for (unsigned int k = 0; k < i; k++) {
			if (strcmp(c->storage[k].name, c->storage[i].name))
				continue;
			cp_push(cp, "name", 0);
			return cp_fail(cp, "duplicate storage object \"%s\"",
			    c->storage[i].name);
		}
		cp_pop(cp, old);
	}
	return 0;
}

/* --- targets --- */

static int
cp_iscsi_name(struct cp *cp, struct json_object *j, char **out)
{
	if (cp_get_str(cp, j, CONF_NAME_MAX - 1, out) != 0)
		return -1;
	if (strncasecmp(*out, "iqn.", 4) != 0 &&
	    strncasecmp(*out, "eui.", 4) != 0 &&
	    strncasecmp(*out, "naa.", 4) != 0)
		return cp_fail(cp, "not an iSCSI name (iqn., eui. or naa.)");
	for (const char *s = *out; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || *s == ',')
			return cp_fail(cp, "not an iSCSI name (contains "
			    "space, control character or ',')");
	return 0;
}

static int
cp_portal_ip(struct cp *cp, struct json_object *j, void *obj)
{
	struct conf_portal *p = obj;
	unsigned char buf[16];
	size_t len;
	char *ip;

	if (cp_get_str(cp, j, 63, &p->ip) != 0)
		return -1;
	ip = p->ip;
	len = strlen(ip);
	if (len >= 2 && ip[0] == '[' && ip[len - 1] == ']') {
		memmove(ip, ip + 1, len - 2);
		ip[len - 2] = '\0';
		if (inet_pton(AF_INET6, ip, buf) != 1)
			return cp_fail(cp, "not an IPv6 address");
		return 0;
	}
	if (inet_pton(AF_INET, ip, buf) != 1 &&
	    inet_pton(AF_INET6, ip, buf) != 1)
		return cp_fail(cp, "not an IPv4 or IPv6 address");
	return 0;
}

static int
cp_portal_flag(struct cp *cp, struct json_object *j, void *obj)
{
	bool v = false;

	if (cp_get_bool(cp, j, &v) != 0)
		return -1;
	if (v)
		cp_warn(cp, "not supported, the portal serves plain TCP");
	return 0;
}

static int
cp_portal(struct cp *cp, struct json_object *j, void *obj)
{
	static const struct cp_key tab[] = {
		{ .name = "ip_address", .type = CPT_FN, .fn = cp_portal_ip,
		  .required = true },
		{ .name = "port", .type = CPT_U16, .min = 1, .max = 65535,
		  .off = offsetof(struct conf_portal, port), .required = true },
		K_FN("iser", cp_portal_flag), K_FN("offload", cp_portal_flag),
		K_END,
	};

	return cp_object(cp, j, tab, obj);
}

static int
cp_lun(struct cp *cp, struct json_object *j, void *obj)
{
	static const struct cp_key tab[] = {
		{ .name = "index", .type = CPT_U32, .min = 0,
		  .max = CONF_LUN_MAX, .off = offsetof(struct conf_lun, index),
		  .required = true },
		{ .name = "storage_object", .type = CPT_STR, .max = 512,
		  .off = offsetof(struct conf_lun, storage), .required = true },
		K_STR("alias", struct conf_lun, alias, 255),
		K_IGN("alua_tg_pt_gp_name"),
		K_END,
	};

	return cp_object(cp, j, tab, obj);
}

static int
cp_mapped_lun(struct cp *cp, struct json_object *j, void *obj)
{
	static const struct cp_key tab[] = {
		{ .name = "index", .type = CPT_U32, .min = 0,
		  .max = CONF_LUN_MAX,
		  .off = offsetof(struct conf_mapped_lun, index),
		  .required = true },
		{ .name = "tpg_lun", .type = CPT_U32, .min = 0,
		  .max = CONF_LUN_MAX,
		  .off = offsetof(struct conf_mapped_lun, tpg_lun),
		  .required = true },
		K_BOOL("write_protect", struct conf_mapped_lun, write_protect),
		K_IGN("alias"), K_IGN("tag"),
		K_END,
	};

	return cp_object(cp, j, tab, obj);
}

#define CHAP_KEYS(s, f)							\
	K_STR("chap_userid", s, f.userid, CONF_SECRET_MAX - 1),		\
	K_STR("chap_password", s, f.password, CONF_SECRET_MAX - 1),	\
	K_STR("chap_mutual_userid", s, f.mutual_userid,			\
	    CONF_SECRET_MAX - 1),					\
	K_STR("chap_mutual_password", s, f.mutual_password,		\
	    CONF_SECRET_MAX - 1),					\
	K_STR("userid", s, f.userid, CONF_SECRET_MAX - 1),		\
	K_STR("password", s, f.password, CONF_SECRET_MAX - 1),		\
	K_STR("mutual_userid", s, f.mutual_userid, CONF_SECRET_MAX - 1), \
	K_STR("mutual_password", s, f.mutual_password, CONF_SECRET_MAX - 1)

/* Older rtslib wrote "auth": {userid, password, ...}. */
static int
cp_acl_auth(struct cp *cp, struct json_object *j, void *obj)
{
	static const struct cp_key tab[] = {
		CHAP_KEYS(struct conf_acl, chap),
		K_END,
	};

	return cp_object(cp, j, tab, obj);
}

static int
cp_acl_attributes(struct cp *cp, struct json_object *j, void *obj)
{
	static const struct cp_key tab[] = {
		K_IGN("dataout_timeout"), K_IGN("dataout_timeout_retries"),
		K_IGN("default_erl"), K_IGN("nopin_response_timeout"),
		K_IGN("nopin_timeout"), K_IGN("random_datain_pdu_offsets"),
		K_IGN("random_datain_seq_offsets"), K_IGN("random_r2t_offsets"),
		K_IGN("authentication"), K_IGN("cmdsn_depth"),
		K_END,
	};

	return cp_object(cp, j, tab, obj);
}

static int
cp_acl_node_wwn(struct cp *cp, struct json_object *j, void *obj)
{
	struct conf_acl *a = obj;

	return cp_iscsi_name(cp, j, &a->node_wwn);
}

static int
cp_acl_mapped(struct cp *cp, struct json_object *j, void *obj)
{
	struct conf_acl *a = obj;

	return cp_array(cp, j, sizeof(*a->mapped_luns),
	    (void **)&a->mapped_luns, &a->n_mapped_luns, cp_mapped_lun);
}

static int
cp_acl(struct cp *cp, struct json_object *j, void *obj)
{
	static const struct cp_key tab[] = {
		{ .name = "node_wwn", .type = CPT_FN, .fn = cp_acl_node_wwn,
		  .required = true },
		K_FN("mapped_luns", cp_acl_mapped),
		CHAP_KEYS(struct conf_acl, chap),
		K_FN("auth", cp_acl_auth),
		K_FN("attributes", cp_acl_attributes),
		K_IGN("tag"),
		K_END,
	};

	return cp_object(cp, j, tab, obj);
}

/* tpcd extension: "nexus" (default) or "target" (docs/odx.md). */
static int
cp_tpg_token_scope(struct cp *cp, struct json_object *j, void *obj)
{
	struct conf_tpg *t = obj;
	const char *s;

	if (!json_object_is_type(j, json_type_string))
		return cp_fail(cp, "must be \"nexus\" or \"target\"");
	s = json_object_get_string(j);
	if (strcmp(s, "nexus") == 0)
		t->token_scope = CONF_TOKEN_SCOPE_NEXUS;
	else if (strcmp(s, "target") == 0)
		t->token_scope = CONF_TOKEN_SCOPE_TARGET;
	else
		return cp_fail(cp, "must be \"nexus\" or \"target\"");
	return 0;
}

static int
cp_tpg_attributes(struct cp *cp, struct json_object *j, void *obj)
{
	static const struct cp_key tab[] = {
		K_BOOL("authentication", struct conf_tpg, authentication),
		K_FN("tpcd_token_scope", cp_tpg_token_scope),
		K_BOOL("generate_node_acls", struct conf_tpg,
		    generate_node_acls),
		K_BOOL("demo_mode_write_protect", struct conf_tpg,
		    demo_mode_write_protect),
		K_IGN("cache_dynamic_acls"), K_IGN("default_cmdsn_depth"),
		K_IGN("default_erl"), K_IGN("demo_mode_discovery"),
		K_IGN("fabric_prot_type"), K_IGN("login_keys_workaround"),
		K_IGN("login_timeout"), K_IGN("netif_timeout"),
		K_IGN("prod_mode_write_protect"), K_IGN("t10_pi"),
		K_IGN("tpg_enabled_sendtargets"),
		K_END,
	};

	return cp_object(cp, j, tab, obj);
}

static const char *const cp_iscsi_keys[] = {
	"AuthMethod", "DataDigest", "DataPDUInOrder", "DataSequenceInOrder",
	"DefaultTime2Retain", "DefaultTime2Wait", "ErrorRecoveryLevel",
	"FirstBurstLength", "HeaderDigest", "IFMarkInt", "IFMarker",
	"ImmediateData", "InitialR2T", "MaxBurstLength", "MaxConnections",
	"MaxOutstandingR2T", "MaxRecvDataSegmentLength",
	"MaxXmitDataSegmentLength", "OFMarkInt", "OFMarker", "TargetAlias",
	"RDMAExtensions", "InitiatorRecvDataSegmentLength",
	"TargetRecvDataSegmentLength", NULL,
};

static int
cp_tpg_parameters(struct cp *cp, struct json_object *j, void *obj)
{
	struct iscsi_param_conf scratch;
	struct conf_tpg *t = obj;
	size_t old, n, total = 0;
	const char *v;
	int i;

	iscsi_param_conf_default(&scratch);
	if (!json_object_is_type(j, json_type_object))
		return cp_fail(cp, "must be an object");
	if (t->params != NULL)
		return cp_fail(cp, "given twice");
	n = (size_t)json_object_object_length(j);
	t->params = xcalloc(n ? n : 1, sizeof(*t->params));
	if (t->params == NULL)
		return cp_fail(cp, "out of memory");
	json_object_object_foreach(j, key, val) {
		old = cp_push(cp, key, 0);
		for (i = 0; cp_iscsi_keys[i] != NULL; i++)
			if (strcmp(key, cp_iscsi_keys[i]) == 0)
				break;
		if (cp_iscsi_keys[i] == NULL) {
			cp_warn(cp, "unknown iSCSI key, ignored");
			cp_pop(cp, old);
			continue;
		}
		if (json_object_is_type(val, json_type_string) ||
		    json_object_is_type(val, json_type_int))
			v = json_object_get_string(val);
		else
			return cp_fail(cp, "must be a string");
		if (strlen(v) > 255 || strpbrk(v, "=\n\r") != NULL)
			return cp_fail(cp, "must be at most 255 characters "
			    "without '=' or line breaks");
		/* Markers are dropped (target.c); check the rest now. */
		if (strstr(key, "Mark") == NULL &&
		    iscsi_param_conf_set(&scratch, key, v) < 0)
			return cp_fail(cp, "bad value \"%s\"", v);
		total += strlen(key) + strlen(v) + 2;
		if (total > CONF_PARAMS_TEXT_MAX)
			return cp_fail(cp, "parameters too long (more than "
			    "%u bytes as text)", CONF_PARAMS_TEXT_MAX);
		t->params[t->n_params].key = xstrdup(key);
		t->params[t->n_params].value = xstrdup(v);
		t->n_params++;
		if (t->params[t->n_params - 1].key == NULL ||
		    t->params[t->n_params - 1].value == NULL)
			return cp_fail(cp, "out of memory");
		cp_pop(cp, old);
	}
	return 0;
}

static int
cp_tpg_portals(struct cp *cp, struct json_object *j, void *obj)
{
	struct conf_tpg *t = obj;

	return cp_array(cp, j, sizeof(*t->portals), (void **)&t->portals,
	    &t->n_portals, cp_portal);
}

static int
cp_tpg_luns(struct cp *cp, struct json_object *j, void *obj)
{
	struct conf_tpg *t = obj;

	return cp_array(cp, j, sizeof(*t->luns), (void **)&t->luns,
	    &t->n_luns, cp_lun);
}

static int
cp_tpg_acls(struct cp *cp, struct json_object *j, void *obj)
{
	struct conf_tpg *t = obj;

	return cp_array(cp, j, sizeof(*t->acls), (void **)&t->acls,
	    &t->n_acls, cp_acl);
}

static int
cp_tpg(struct cp *cp, struct json_object *j, void *obj)
{
	static const struct cp_key tab[] = {
		K_U16("tag", struct conf_tpg, tag, 1, 65535),
		K_BOOL("enable", struct conf_tpg, enable),
		K_FN("portals", cp_tpg_portals),
		K_FN("luns", cp_tpg_luns),
		K_FN("node_acls", cp_tpg_acls),
		K_FN("attributes", cp_tpg_attributes),
		K_FN("parameters", cp_tpg_parameters),
		CHAP_KEYS(struct conf_tpg, chap),
		K_END,
	};
	struct conf_tpg *t = obj;

	t->enable = true;
	return cp_object(cp, j, tab, obj);
}

static int
cp_target_wwn(struct cp *cp, struct json_object *j, void *obj)
{
	struct conf_target *t = obj;

	return cp_iscsi_name(cp, j, &t->wwn);
}

static int
cp_target_tpgs(struct cp *cp, struct json_object *j, void *obj)
{
	struct conf_target *t = obj;

	return cp_array(cp, j, sizeof(*t->tpgs), (void **)&t->tpgs,
	    &t->n_tpgs, cp_tpg);
}

/* Targets of fabrics we do not serve are kept aside unparsed (their
 * fabric set, wwn NULL) and dropped after the checks, so messages keep
 * the file's indices. */
static int
cp_target(struct cp *cp, struct json_object *j, void *obj)
{
	static const struct cp_key tab[] = {
		{ .name = "wwn", .type = CPT_FN, .fn = cp_target_wwn,
		  .required = true },
		{ .name = "fabric", .type = CPT_STR, .max = 64,
		  .off = offsetof(struct conf_target, fabric),
		  .required = true },
		K_FN("tpgs", cp_target_tpgs),
		K_END,
	};
	struct conf_target *t = obj;
	struct json_object *f;

	if (json_object_is_type(j, json_type_object) &&
	    json_object_object_get_ex(j, "fabric", &f) &&
	    json_object_is_type(f, json_type_string) &&
	    strcmp(json_object_get_string(f), "iscsi") != 0) {
		cp_warn(cp, "fabric \"%s\" not served, target ignored",
		    json_object_get_string(f));
		t->fabric = xstrdup(json_object_get_string(f));
		if (t->fabric == NULL)
			return cp_fail(cp, "out of memory");
		return 0;
	}
	return cp_object(cp, j, tab, obj);
}

static int
cp_targets(struct cp *cp, struct json_object *j, void *obj)
{
	struct conf *c = obj;

	return cp_array(cp, j, sizeof(*c->targets), (void **)&c->targets,
	    &c->n_targets, cp_target);
}

/* --- top level --- */

static int
cp_fabric_module(struct cp *cp, struct json_object *j, void *obj)
{
	static const struct cp_key tab[] = {
		K_IGN("name"), K_IGN("discovery_userid"),
		K_IGN("discovery_password"), K_IGN("discovery_mutual_userid"),
		K_IGN("discovery_mutual_password"),
		K_IGN("discovery_enable_auth"),
		K_END,
	};
	struct json_object *v;

	if (json_object_is_type(j, json_type_object) &&
	    json_object_object_get_ex(j, "discovery_enable_auth", &v) &&
	    json_object_get_boolean(v))
		cp_warn(cp, "discovery authentication not supported; "
		    "SendTargets is answered without CHAP");
	return cp_object(cp, j, tab, obj);
}

static int
cp_fabric_modules(struct cp *cp, struct json_object *j, void *obj)
{
	size_t i, len, old;
	char dummy;

	if (!json_object_is_type(j, json_type_array))
		return cp_fail(cp, "must be an array");
	len = json_object_array_length(j);
	for (i = 0; i < len; i++) {
		old = cp_push(cp, NULL, (long)i);
		if (cp_fabric_module(cp, json_object_array_get_idx(j, i),
		    &dummy) != 0)
			return -1;
		cp_pop(cp, old);
	}
	return 0;
}

/* "tcmu": "auto" (default), "on"/true or "off"/false. */
static int
cp_tcmu_mode(struct cp *cp, struct json_object *j, void *obj)
{
	struct conf *c = obj;
	const char *v;

	if (json_object_is_type(j, json_type_boolean)) {
		c->tcmu = json_object_get_boolean(j) ? CONF_TCMU_ON :
		    CONF_TCMU_OFF;
		return 0;
	}
	if (!json_object_is_type(j, json_type_string))
		return cp_fail(cp, "must be \"auto\", \"on\" or \"off\"");
	v = json_object_get_string(j);
	if (strcmp(v, "auto") == 0)
		c->tcmu = CONF_TCMU_AUTO;
	else if (strcmp(v, "on") == 0)
		c->tcmu = CONF_TCMU_ON;
	else if (strcmp(v, "off") == 0)
		c->tcmu = CONF_TCMU_OFF;
	else
		return cp_fail(cp, "must be \"auto\", \"on\" or \"off\"");
	return 0;
}

static int
cp_tpcd(struct cp *cp, struct json_object *j, void *obj)
{
	static const struct cp_key tab[] = {
		K_STR("state_dir", struct conf, state_dir, PATH_MAX - 1),
		K_U32("loops", struct conf, loops, 1, 1024),
		K_U32("nop_interval", struct conf, nop_interval_s, 0, 3600),
		K_U32("nop_timeout", struct conf, nop_timeout_s, 0, 3600),
		K_U32("login_timeout", struct conf, login_timeout_s, 0, 3600),
		K_FN("tcmu", cp_tcmu_mode),
		K_U32("copy_results_hold", struct conf, copy_results_hold_s,
		    1, 86400),
		K_END,
	};

	return cp_object(cp, j, tab, obj);
}

static const struct cp_key cp_top[] = {
	K_FN("fabric_modules", cp_fabric_modules),
	K_FN("storage_objects", cp_storage_objects),
	K_FN("targets", cp_targets),
	K_FN("tpcd", cp_tpcd),
	K_END,
};

/* Set the path to targets[t].tpgs[g] plus an optional suffix. */
static void
cp_set_path(struct cp *cp, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cp->path, sizeof(cp->path), fmt, ap);
	va_end(ap);
	cp->plen = n < 0 ? 0 : MIN((size_t)n, sizeof(cp->path) - 1);
}

static int
cp_check_lun(struct cp *cp, struct conf_lun *l)
{
	const char *ref = l->storage, *name, *plugin;
	const struct conf *c = cp->conf;
	size_t plen;

	/* "/backstores/<plugin>/<name>" */
	if (strncmp(ref, "/backstores/", 12) != 0)
		return cp_fail(cp, "must be \"/backstores/<plugin>/<name>\"");
	plugin = ref + 12;
	name = strchr(plugin, '/');
	if (name == NULL || name == plugin || name[1] == '\0' ||
	    strchr(name + 1, '/') != NULL)
		return cp_fail(cp, "must be \"/backstores/<plugin>/<name>\"");
	plen = (size_t)(name - plugin);
	name++;
	for (unsigned int i = 0; i < c->n_storage; i++) {
		if (strcmp(c->storage[i].name, name) != 0)
			continue;
		if (strlen(cp->so_plugin[i]) != plen ||
		    strncmp(cp->so_plugin[i], plugin, plen) != 0)
			return cp_fail(cp, "storage object \"%s\" is plugin "
			    "%s", name, cp->so_plugin[i]);
		memmove(l->storage, name, strlen(name) + 1);
		return 0;
	}
	return cp_fail(cp, "no storage object \"%s\"", ref);
}

static int
cp_portal_same(const struct conf_portal *a, const struct conf_portal *b)
{
	unsigned char x[16], y[16];
	int fa = strchr(a->ip, ':') ? AF_INET6 : AF_INET;
	int fb = strchr(b->ip, ':') ? AF_INET6 : AF_INET;

	if (a->port != b->port || fa != fb)
		return 0;
	if (inet_pton(fa, a->ip, x) != 1 || inet_pton(fb, b->ip, y) != 1)
		return 0;
	return memcmp(x, y, fa == AF_INET ? 4 : 16) == 0;
}

static int
cp_check_tpg(struct cp *cp, unsigned int ti, unsigned int gi)
{
	struct conf_tpg *g = &cp->conf->targets[ti].tpgs[gi];
	unsigned int i, k;

	for (i = 0; i < g->n_portals; i++) {
		for (k = 0; k < i; k++) {
			if (!cp_portal_same(&g->portals[k], &g->portals[i]))
				continue;
			cp_set_path(cp, "targets[%u].tpgs[%u].portals[%u]", ti,
			    gi, i);
			return cp_fail(cp, "duplicate portal %s:%u",
			    g->portals[i].ip, g->portals[i].port);
		}
	}
	for (i = 0; i < g->n_luns; i++) {
		cp_set_path(cp, "targets[%u].tpgs[%u].luns[%u].index", ti, gi,
		    i);
		for (k = 0; k < i; k++)
			if (g->luns[k].index == g->luns[i].index)
				return cp_fail(cp, "duplicate LUN %u",
				    g->luns[i].index);
		cp_set_path(cp, "targets[%u].tpgs[%u].luns[%u]."
		    "storage_object", ti, gi, i);
		if (cp_check_lun(cp, &g->luns[i]) != 0)
			return -1;
	}
	for (i = 0; i < g->n_acls; i++) {
		struct conf_acl *a = &g->acls[i];

		for (k = 0; k < i; k++) {
			if (strcasecmp(g->acls[k].node_wwn, a->node_wwn))
				continue;
			cp_set_path(cp, "targets[%u].tpgs[%u].node_acls[%u]."
			    "node_wwn", ti, gi, i);
			return cp_fail(cp, "duplicate ACL for %s",
			    a->node_wwn);
		}
		for (unsigned int m = 0; m < a->n_mapped_luns; m++) {
			struct conf_mapped_lun *ml = &a->mapped_luns[m];

			cp_set_path(cp, "targets[%u].tpgs[%u].node_acls[%u]."
			    "mapped_luns[%u].index", ti, gi, i, m);
			for (k = 0; k < m; k++)
				if (a->mapped_luns[k].index == ml->index)
					return cp_fail(cp, "duplicate mapped "
					    "LUN %u", ml->index);
			cp_set_path(cp, "targets[%u].tpgs[%u].node_acls[%u]."
			    "mapped_luns[%u].tpg_lun", ti, gi, i, m);
			for (k = 0; k < g->n_luns; k++)
				if (g->luns[k].index == ml->tpg_lun)
					break;
			if (k == g->n_luns)
				return cp_fail(cp, "no LUN %u in this TPG",
				    ml->tpg_lun);
		}
	}
	if (g->authentication) {
		/* Every way in needs a secret to check. */
		bool ok = !g->generate_node_acls ||
		    (g->chap.userid && g->chap.password);

		for (i = 0; ok && i < g->n_acls; i++)
			if (!g->acls[i].chap.userid ||
			    !g->acls[i].chap.password)
				ok = false;
		if (!ok) {
			cp_set_path(cp, "targets[%u].tpgs[%u]", ti, gi);
			cp_warn(cp, "authentication is on but some initiators "
			    "have no CHAP userid/password: they cannot log in");
		}
	}
	return 0;
}

/* Second pass: defaults, cross references and duplicates. */
static int
cp_check(struct cp *cp)
{
	struct conf *c = cp->conf;
	unsigned int i, g, k;

	if (cp->so_plugin == NULL) {
		cp->so_plugin = xcalloc(1, sizeof(char *));
		if (cp->so_plugin == NULL)
			return cp_fail(cp, "out of memory");
	}
	for (i = 0; i < c->n_targets; i++) {
		struct conf_target *t = &c->targets[i];

		if (t->wwn == NULL)
			continue;	/* other fabric */
		for (k = 0; k < i; k++) {
			if (c->targets[k].wwn == NULL ||
			    strcasecmp(c->targets[k].wwn, t->wwn))
				continue;
			cp_set_path(cp, "targets[%u].wwn", i);
			return cp_fail(cp, "duplicate target %s", t->wwn);
		}
		/* rtslib: a missing tag is the lowest unused one. */
		for (g = 0; g < t->n_tpgs; g++) {
			uint16_t tag = 1;

			if (t->tpgs[g].tag != 0)
				continue;
			for (k = 0; k < t->n_tpgs; k++) {
				if (t->tpgs[k].tag == tag) {
					tag++;
					k = (unsigned int)-1;
				}
			}
			t->tpgs[g].tag = tag;
		}
		for (g = 0; g < t->n_tpgs; g++) {
			for (k = 0; k < g; k++) {
				if (t->tpgs[k].tag != t->tpgs[g].tag)
					continue;
				cp_set_path(cp, "targets[%u].tpgs[%u].tag", i,
				    g);
				return cp_fail(cp, "duplicate TPG tag %u",
				    t->tpgs[g].tag);
			}
			if (cp_check_tpg(cp, i, g) != 0)
				return -1;
		}
	}
	/* Drop the targets of other fabrics. */
	for (i = k = 0; i < c->n_targets; i++) {
		if (c->targets[i].wwn == NULL) {
			free(c->targets[i].fabric);
			continue;
		}
		c->targets[k++] = c->targets[i];
	}
	c->n_targets = k;
	return 0;
}

static void
cp_syntax_error(struct cp *cp, const char *json, size_t off,
    enum json_tokener_error jerr)
{
	unsigned int line = 1, col = 1;
	size_t i;

	for (i = 0; i < off && json[i] != '\0'; i++) {
		if (json[i] == '\n') {
			line++;
			col = 1;
		} else
			col++;
	}
	cp_set_path(cp, "line %u column %u", line, col);
	cp_fail(cp, "JSON syntax error: %s", json_tokener_error_desc(jerr));
}

struct conf *
conf_from_json(struct json_object *root, const char *name, char **errmsg)
{
	struct cp cp = { .file = name };
	struct conf *c;

	*errmsg = NULL;
	c = xcalloc(1, sizeof(*c));
	if (c == NULL) {
		*errmsg = xstrdup("out of memory");
		return NULL;
	}
	cp.conf = c;
	if (cp_object(&cp, root, cp_top, c) == 0)
		cp_check(&cp);
	if (cp.so_plugin != NULL) {
		for (unsigned int i = 0; cp.so_plugin[i] != NULL; i++)
			free(cp.so_plugin[i]);
		free(cp.so_plugin);
	}
	if (cp.failed) {
		*errmsg = cp.err;
		conf_free(c);
		return NULL;
	}
	return c;
}

struct conf *
conf_parse(const char *json, const char *name, char **errmsg)
{
	struct json_tokener *tok;
	struct json_object *root;
	struct cp cp = { .file = name };
	struct conf dummy = { 0 };
	struct conf *c;
	size_t len = strlen(json), end;

	*errmsg = NULL;
	cp.conf = &dummy;
	tok = json_tokener_new();
	if (tok == NULL) {
		*errmsg = xstrdup("out of memory");
		return NULL;
	}
	root = json_tokener_parse_ex(tok, json, (int)MIN(len, INT_MAX));
	end = json_tokener_get_parse_end(tok);
	if (root == NULL) {
		enum json_tokener_error jerr = json_tokener_get_error(tok);

		if (jerr == json_tokener_continue)
			jerr = json_tokener_error_parse_eof;
		cp_syntax_error(&cp, json, end, jerr);
		json_tokener_free(tok);
		*errmsg = cp.err;
		return NULL;
	}
	json_tokener_free(tok);
	while (end < len && strchr(" \t\r\n", json[end]) != NULL)
		end++;
	if (end < len) {
		cp_syntax_error(&cp, json, end,
		    json_tokener_error_parse_unexpected);
		json_object_put(root);
		*errmsg = cp.err;
		return NULL;
	}
	c = conf_from_json(root, name, errmsg);
	json_object_put(root);
	return c;
}
