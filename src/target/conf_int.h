/*
 * conf_int.h - internals shared by conf.c and conf_default.c (and their
 * unit tests).
 */
#ifndef TPCD_CONF_INT_H
#define TPCD_CONF_INT_H

#include <stdint.h>

struct conf;
struct json_object;

#define CONF_DEFAULT_TARGET	"iqn.2026-11.org.tpcd:default"
#define CONF_DEFAULT_IP		"127.0.0.1"
#define CONF_DEFAULT_PORT	3260
#define CONF_DEFAULT_LUN_SIZE	(1ull << 30)

/* Walk an already parsed document; name is used in messages. */
struct conf *conf_from_json(struct json_object *root, const char *name,
	    char **errmsg);
/* "4096", "512K", "1G", "1GiB" (binary multiples): 0 or -EINVAL/-ERANGE. */
int	conf_parse_size(const char *s, uint64_t *out);
/* A stable UUID-shaped wwn from (seed, plugin, name); malloc'd. */
char	*conf_wwn_derive(const char *seed, const char *plugin,
	    const char *name);

#endif
