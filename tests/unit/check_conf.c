/*
 * check_conf.c - configuration parsing, the default configuration and the
 * target registry (login checks, SendTargets, LUN maps across reloads).
 *
 * Registry tests use plugin "mem" storage objects (bs_mem), so no files
 * are needed; the default configuration test works in a temporary
 * directory.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "conf_int.h"
#include "log.h"
#include "lun.h"
#include "rod_token/rod_token.h"
#include "target.h"
#include "util.h"

#ifndef CONF_SAMPLE
#define CONF_SAMPLE "conf/saveconfig.json"
#endif

/* --- stderr capture (warnings) --- */

static int cap_fd = -1, cap_saved = -1;
static char cap_path[] = "/tmp/check_conf_stderr.XXXXXX";

static void
cap_begin(void)
{
	fflush(stderr);
	cap_fd = mkstemp(cap_path);
	ck_assert_int_ge(cap_fd, 0);
	cap_saved = dup(2);
	dup2(cap_fd, 2);
}

/* Returns malloc'd captured text. */
static char *
cap_end(void)
{
	char *buf = calloc(1, 65536);
	ssize_t n;

	fflush(stderr);
	dup2(cap_saved, 2);
	close(cap_saved);
	lseek(cap_fd, 0, SEEK_SET);
	n = read(cap_fd, buf, 65535);
	ck_assert_int_ge(n, 0);
	close(cap_fd);
	unlink(cap_path);
	strcpy(cap_path, "/tmp/check_conf_stderr.XXXXXX");
	return buf;
}

/* --- the sample --- */

START_TEST(sample_loads)
{
	const struct conf_storage *so;
	const struct conf_tpg *g;
	const struct conf_acl *a;
	struct conf *c;
	char *err = NULL;

	c = conf_load(CONF_SAMPLE, &err);
	ck_assert_msg(c != NULL, "%s", err ? err : "");
	ck_assert_uint_eq(c->n_warnings, 0);
	ck_assert_uint_eq(c->n_storage, 3);

	so = conf_storage_find(c, "disk0");
	ck_assert_ptr_nonnull(so);
	ck_assert_str_eq(so->plugin, "fileio");
	ck_assert_str_eq(so->dev, "/var/lib/tpcd/disk0.img");
	ck_assert_uint_eq(so->size, 10737418240ull);
	ck_assert_uint_eq(so->block_size, 512);
	ck_assert(so->write_back);
	ck_assert(so->thin);
	ck_assert(!so->read_only);
	ck_assert_str_eq(so->wwn, "8a1f3c52-7b1e-4d0c-9f6a-2e4b5d6c7a81");

	so = conf_storage_find(c, "disk1");
	ck_assert_ptr_nonnull(so);
	ck_assert_uint_eq(so->block_size, 4096);
	ck_assert(!so->thin);
	ck_assert(!so->write_back);
	ck_assert_uint_eq(so->size, 4ull << 30);

	so = conf_storage_find(c, "nvme0");
	ck_assert_ptr_nonnull(so);
	ck_assert_str_eq(so->plugin, "block");
	ck_assert_str_eq(so->dev, "/dev/nvme0n1");
	ck_assert_uint_eq(so->size, 0);
	ck_assert_ptr_null(conf_storage_find(c, "nope"));

	ck_assert_uint_eq(c->n_targets, 1);
	ck_assert_str_eq(c->targets[0].wwn,
	    "iqn.2003-01.org.linux-iscsi.storage1.x8664:sn.5f3a9c1d2e7b");
	ck_assert_str_eq(c->targets[0].fabric, "iscsi");
	ck_assert_uint_eq(c->targets[0].n_tpgs, 1);
	g = &c->targets[0].tpgs[0];
	ck_assert_uint_eq(g->tag, 1);
	ck_assert(g->enable);
	ck_assert(!g->authentication);
	ck_assert(!g->generate_node_acls);
	ck_assert(g->demo_mode_write_protect);
	ck_assert_uint_eq(g->n_portals, 2);
	ck_assert_str_eq(g->portals[0].ip, "0.0.0.0");
	ck_assert_uint_eq(g->portals[0].port, 3260);
	ck_assert_str_eq(g->portals[1].ip, "::1");
	ck_assert_uint_eq(g->portals[1].port, 3261);
	ck_assert_uint_eq(g->n_luns, 3);
	ck_assert_uint_eq(g->luns[1].index, 1);
	ck_assert_str_eq(g->luns[1].storage, "disk1");
	ck_assert_str_eq(g->luns[2].storage, "nvme0");
	ck_assert_str_eq(g->luns[0].alias, "a1b2c3d4e5");
	ck_assert_uint_eq(g->n_params, 21);
	ck_assert_str_eq(g->params[0].key, "AuthMethod");
	ck_assert_str_eq(g->params[0].value, "CHAP,None");

	ck_assert_uint_eq(g->n_acls, 2);
	a = &g->acls[0];
	ck_assert_str_eq(a->node_wwn, "iqn.1994-05.com.redhat:host1");
	ck_assert_str_eq(a->chap.userid, "host1");
	ck_assert_str_eq(a->chap.password, "secret-of-host1");
	ck_assert_ptr_null(a->chap.mutual_userid);
	ck_assert_uint_eq(a->n_mapped_luns, 2);
	ck_assert_uint_eq(a->mapped_luns[1].index, 1);
	ck_assert_uint_eq(a->mapped_luns[1].tpg_lun, 1);
	ck_assert(a->mapped_luns[1].write_protect);
	a = &g->acls[1];
	ck_assert_str_eq(a->chap.mutual_userid, "tpcd-target");
	ck_assert_str_eq(a->chap.mutual_password, "target-secret-2");
	ck_assert_uint_eq(a->mapped_luns[1].index, 5);
	ck_assert_uint_eq(a->mapped_luns[1].tpg_lun, 2);
	ck_assert_str_eq(c->path, CONF_SAMPLE);
	conf_free(c);
}
END_TEST

/* --- invalid values: exact messages --- */

#define SO_MEM	"{\"plugin\":\"mem\",\"name\":\"m0\",\"size\":1048576}"
#define LUN0	"{\"index\":0,\"storage_object\":\"/backstores/mem/m0\"}"
#define TGT(tpg) "\"targets\":[{\"fabric\":\"iscsi\"," \
	"\"wwn\":\"iqn.2026-11.t:a\",\"tpgs\":[" tpg "]}]"
#define DOC(so, tpg) "{\"storage_objects\":[" so "]," TGT(tpg) "}"
#define PORTAL(ip, port) "{\"ip_address\":\"" ip "\",\"port\":" port "}"

static const struct {
	const char *json;
	const char *msg;
} bad[] = {
	{ DOC(SO_MEM, "{\"portals\":[" PORTAL("127.0.0.1", "3260") ","
	    PORTAL("::1", "70000") "]}"),
	  "x.json: targets[0].tpgs[0].portals[1].port: must be 1..65535" },
	{ DOC(SO_MEM, "{\"portals\":[" PORTAL("127.0.0.1", "0") "]}"),
	  "x.json: targets[0].tpgs[0].portals[0].port: must be 1..65535" },
	{ DOC(SO_MEM, "{\"portals\":[" PORTAL("1.2.3", "3260") "]}"),
	  "x.json: targets[0].tpgs[0].portals[0].ip_address: not an IPv4 "
	  "or IPv6 address" },
	{ DOC(SO_MEM, "{\"portals\":[" PORTAL("[1.2.3.4]", "3260") "]}"),
	  "x.json: targets[0].tpgs[0].portals[0].ip_address: not an IPv6 "
	  "address" },
	{ DOC(SO_MEM, "{\"portals\":[{\"port\":3260}]}"),
	  "x.json: targets[0].tpgs[0].portals[0].ip_address: required" },
	{ DOC(SO_MEM, "{\"portals\":[" PORTAL("::1", "3260") ","
	    PORTAL("[::1]", "3260") "]}"),
	  "x.json: targets[0].tpgs[0].portals[1]: duplicate portal ::1:3260" },
	{ DOC("{\"plugin\":\"mem\",\"name\":\"m0\",\"size\":1048576,"
	    "\"attributes\":{\"block_size\":1024}}", "{}"),
	  "x.json: storage_objects[0].attributes.block_size: must be 512 or "
	  "4096" },
	{ DOC("{\"plugin\":\"mem\",\"name\":\"m0\"}", "{}"),
	  "x.json: storage_objects[0].size: required for plugin mem" },
	{ DOC("{\"plugin\":\"mem\",\"name\":\"m0\",\"size\":\"12Q\"}", "{}"),
	  "x.json: storage_objects[0].size: must be a number of bytes or a "
	  "string like \"1G\"" },
	{ DOC("{\"plugin\":\"mem\",\"name\":\"m0\",\"size\":-5}", "{}"),
	  "x.json: storage_objects[0].size: must not be negative" },
	{ DOC("{\"plugin\":\"mem\",\"name\":\"m0\","
	    "\"size\":\"99999999999P\"}", "{}"),
	  "x.json: storage_objects[0].size: too large" },
	{ DOC("{\"plugin\":\"fileio\",\"name\":\"f\"}", "{}"),
	  "x.json: storage_objects[0].dev: required for plugin fileio" },
	{ DOC("{\"plugin\":\"floppy\",\"name\":\"f\"}", "{}"),
	  "x.json: storage_objects[0].plugin: unknown plugin \"floppy\" "
	  "(fileio, block, nvme, user, mem, rd_mcp, pscsi)" },
	{ DOC("{\"name\":\"f\"}", "{}"),
	  "x.json: storage_objects[0].plugin: required" },
	{ DOC("{\"plugin\":\"mem\",\"name\":\"a/b\",\"size\":4096}", "{}"),
	  "x.json: storage_objects[0].name: must be a non-empty name "
	  "without '/'" },
	{ DOC(SO_MEM "," SO_MEM, "{}"),
	  "x.json: storage_objects[1].name: duplicate storage object "
	  "\"m0\"" },
	{ DOC("{\"plugin\":\"mem\",\"name\":\"m0\",\"size\":1048576,"
	    "\"write_back\":\"yes\"}", "{}"),
	  "x.json: storage_objects[0].write_back: must be true, false, 0 "
	  "or 1" },
	{ DOC(SO_MEM, "{\"luns\":[" LUN0 "," LUN0 "]}"),
	  "x.json: targets[0].tpgs[0].luns[1].index: duplicate LUN 0" },
	{ DOC(SO_MEM, "{\"luns\":[{\"index\":0,\"storage_object\":"
	    "\"/backstores/mem/zz\"}]}"),
	  "x.json: targets[0].tpgs[0].luns[0].storage_object: no storage "
	  "object \"/backstores/mem/zz\"" },
	{ DOC(SO_MEM, "{\"luns\":[{\"index\":0,\"storage_object\":"
	    "\"/backstores/fileio/m0\"}]}"),
	  "x.json: targets[0].tpgs[0].luns[0].storage_object: storage "
	  "object \"m0\" is plugin mem" },
	{ DOC(SO_MEM, "{\"luns\":[{\"index\":0,\"storage_object\":\"m0\"}]}"),
	  "x.json: targets[0].tpgs[0].luns[0].storage_object: must be "
	  "\"/backstores/<plugin>/<name>\"" },
	{ DOC(SO_MEM, "{\"luns\":[{\"index\":20000,\"storage_object\":"
	    "\"/backstores/mem/m0\"}]}"),
	  "x.json: targets[0].tpgs[0].luns[0].index: must be 0..16383" },
	{ DOC(SO_MEM, "{\"luns\":[" LUN0 "],\"node_acls\":[{\"node_wwn\":"
	    "\"iqn.1994-05.x:i\",\"mapped_luns\":[{\"index\":0,"
	    "\"tpg_lun\":3}]}]}"),
	  "x.json: targets[0].tpgs[0].node_acls[0].mapped_luns[0].tpg_lun: "
	  "no LUN 3 in this TPG" },
	{ DOC(SO_MEM, "{\"luns\":[" LUN0 "],\"node_acls\":[{\"node_wwn\":"
	    "\"iqn.1994-05.x:i\",\"mapped_luns\":[{\"index\":0,"
	    "\"tpg_lun\":0},{\"index\":0,\"tpg_lun\":0}]}]}"),
	  "x.json: targets[0].tpgs[0].node_acls[0].mapped_luns[1].index: "
	  "duplicate mapped LUN 0" },
	{ DOC(SO_MEM, "{\"node_acls\":[{\"node_wwn\":\"iqn.1994-05.x:i\"},"
	    "{\"node_wwn\":\"IQN.1994-05.X:I\"}]}"),
	  "x.json: targets[0].tpgs[0].node_acls[1].node_wwn: duplicate ACL "
	  "for IQN.1994-05.X:I" },
	{ DOC(SO_MEM, "{\"node_acls\":[{\"node_wwn\":\"host1\"}]}"),
	  "x.json: targets[0].tpgs[0].node_acls[0].node_wwn: not an iSCSI "
	  "name (iqn., eui. or naa.)" },
	{ DOC(SO_MEM, "{\"tag\":1},{\"tag\":1}"),
	  "x.json: targets[0].tpgs[1].tag: duplicate TPG tag 1" },
	{ DOC(SO_MEM, "{\"tag\":0}"),
	  "x.json: targets[0].tpgs[0].tag: must be 1..65535" },
	{ DOC(SO_MEM, "{\"parameters\":{\"MaxBurstLength\":[1]}}"),
	  "x.json: targets[0].tpgs[0].parameters.MaxBurstLength: must be a "
	  "string" },
	{ DOC(SO_MEM, "{\"parameters\":{\"MaxBurstLength\":\"12\"}}"),
	  "x.json: targets[0].tpgs[0].parameters.MaxBurstLength: bad value "
	  "\"12\"" },
	{ DOC(SO_MEM, "{\"parameters\":{\"ErrorRecoveryLevel\":\"2\"}}"),
	  "x.json: targets[0].tpgs[0].parameters.ErrorRecoveryLevel: bad "
	  "value \"2\"" },
	{ "{\"targets\":[{\"fabric\":\"iscsi\",\"wwn\":\"iqn.2026-11.t:a\"},"
	  "{\"fabric\":\"iscsi\",\"wwn\":\"iqn.2026-11.T:A\"}]}",
	  "x.json: targets[1].wwn: duplicate target iqn.2026-11.T:A" },
	{ "{\"targets\":[{\"wwn\":\"iqn.2026-11.t:a\"}]}",
	  "x.json: targets[0].fabric: required" },
	{ "{\"targets\":{}}", "x.json: targets: must be an array" },
	{ "[]", "x.json: top level: must be an object" },
	{ "{\"tpcd\":{\"loops\":0}}", "x.json: tpcd.loops: must be 1..1024" },
	{ "{\"tpcd\":{\"tcmu\":\"maybe\"}}",
	  "x.json: tpcd.tcmu: must be \"auto\", \"on\" or \"off\"" },
	{ "{\"tpcd\":{\"tcmu\":1}}",
	  "x.json: tpcd.tcmu: must be \"auto\", \"on\" or \"off\"" },
	{ DOC("{\"plugin\":\"nvme\",\"name\":\"n\"}", "{}"),
	  "x.json: storage_objects[0].dev: required for plugin nvme" },
	{ DOC(SO_MEM, "{\"attributes\":{\"tpcd_token_scope\":\"all\"}}"),
	  "x.json: targets[0].tpgs[0].attributes.tpcd_token_scope: must be "
	  "\"nexus\" or \"target\"" },
	{ DOC(SO_MEM, "{\"attributes\":{\"tpcd_token_scope\":1}}"),
	  "x.json: targets[0].tpgs[0].attributes.tpcd_token_scope: must be "
	  "\"nexus\" or \"target\"" },
	{ "{\n  \"targets\": [\n    }\n", "x.json: line 3 column 5: JSON "
	  "syntax error: unexpected character" },
	{ "{\"targets\": []", "x.json: line 1 column 15: JSON syntax error: "
	  "unexpected end of data" },
	{ "{} {}", "x.json: line 1 column 4: JSON syntax error: "
	  "unexpected character" },
};

START_TEST(invalid_values)
{
	struct conf *c;
	char *err = NULL;

	c = conf_parse(bad[_i].json, "x.json", &err);
	ck_assert_msg(c == NULL, "accepted: %s", bad[_i].json);
	ck_assert_ptr_nonnull(err);
	ck_assert_str_eq(err, bad[_i].msg);
	free(err);
}
END_TEST

START_TEST(unknown_keys_warn)
{
	struct conf *c;
	char *err = NULL, *out;

	cap_begin();
	c = conf_parse("{\"storage_objects\":[{\"plugin\":\"mem\","
	    "\"name\":\"m0\",\"size\":\"1M\",\"colour\":\"red\","
	    "\"attributes\":{\"emulate_tpu\":1,\"sparkle\":1}}],"
	    "\"extra\":1," TGT("{\"parameters\":{\"Bogus\":\"1\"},"
	    "\"attributes\":{\"cache_dynamic_acls\":1}}") "}", "w.json",
	    &err);
	out = cap_end();
	ck_assert_msg(c != NULL, "%s", err ? err : "");
	ck_assert_uint_eq(c->n_warnings, 4);
	ck_assert_ptr_nonnull(strstr(out,
	    "w.json: storage_objects[0].colour: unknown key, ignored"));
	ck_assert_ptr_nonnull(strstr(out,
	    "w.json: storage_objects[0].attributes.sparkle: unknown key, "
	    "ignored"));
	ck_assert_ptr_nonnull(strstr(out, "w.json: extra: unknown key"));
	ck_assert_ptr_nonnull(strstr(out,
	    "w.json: targets[0].tpgs[0].parameters.Bogus: unknown iSCSI "
	    "key, ignored"));
	ck_assert_ptr_null(strstr(out, "emulate_tpu"));
	ck_assert_uint_eq(c->storage[0].size, 1048576);
	ck_assert_uint_eq(c->targets[0].tpgs[0].n_params, 0);
	free(out);
	conf_free(c);
}
END_TEST

START_TEST(other_fabrics_and_plugins)
{
	struct conf *c;
	char *err = NULL;

	cap_begin();
	c = conf_parse("{\"storage_objects\":[{\"plugin\":\"rd_mcp\","
	    "\"name\":\"r\",\"size\":4096},{\"plugin\":\"user\","
	    "\"name\":\"u\",\"size\":4096,\"config\":\"rbd/pool/img\"}],"
	    "\"targets\":[{\"fabric\":\"loopback\",\"wwn\":\"naa.5001\","
	    "\"tpgs\":[{\"luns\":[{\"index\":0,\"storage_object\":"
	    "\"/backstores/x/y\"}]}]},{\"fabric\":\"iscsi\",\"wwn\":"
	    "\"iqn.2026-11.t:b\",\"tpgs\":[{\"luns\":[{\"index\":0,"
	    "\"storage_object\":\"/backstores/rd_mcp/r\"}],"
	    "\"portals\":[{\"ip_address\":\"[::]\",\"port\":3260}]}]}]}",
	    "y.json", &err);
	free(cap_end());
	ck_assert_msg(c != NULL, "%s", err ? err : "");
	ck_assert_uint_eq(c->n_warnings, 1);
	ck_assert_uint_eq(c->n_targets, 1);
	ck_assert_str_eq(c->targets[0].wwn, "iqn.2026-11.t:b");
	ck_assert_str_eq(c->storage[0].plugin, "mem");
	ck_assert_str_eq(c->storage[1].config, "rbd/pool/img");
	ck_assert_str_eq(c->targets[0].tpgs[0].luns[0].storage, "r");
	ck_assert_str_eq(c->targets[0].tpgs[0].portals[0].ip, "::");
	ck_assert_uint_eq(c->targets[0].tpgs[0].tag, 1);
	ck_assert(c->targets[0].tpgs[0].enable);
	/* derived wwns are stable and distinct */
	ck_assert_ptr_nonnull(c->storage[0].wwn);
	ck_assert_uint_eq(strlen(c->storage[0].wwn), 36);
	ck_assert_str_ne(c->storage[0].wwn, c->storage[1].wwn);
	conf_free(c);
}
END_TEST

START_TEST(size_strings)
{
	uint64_t v;

	ck_assert_int_eq(conf_parse_size("4096", &v), 0);
	ck_assert_uint_eq(v, 4096);
	ck_assert_int_eq(conf_parse_size("1G", &v), 0);
	ck_assert_uint_eq(v, 1ull << 30);
	ck_assert_int_eq(conf_parse_size("2GiB", &v), 0);
	ck_assert_uint_eq(v, 2ull << 30);
	ck_assert_int_eq(conf_parse_size("512k", &v), 0);
	ck_assert_uint_eq(v, 512ull << 10);
	ck_assert_int_eq(conf_parse_size("3 TB", &v), 0);
	ck_assert_uint_eq(v, 3ull << 40);
	ck_assert_int_eq(conf_parse_size("1X", &v), -EINVAL);
	ck_assert_int_eq(conf_parse_size("G", &v), -EINVAL);
	ck_assert_int_eq(conf_parse_size("1GG", &v), -EINVAL);
	ck_assert_int_eq(conf_parse_size("-1", &v), -EINVAL);
	ck_assert_int_eq(conf_parse_size("16E", &v), -ERANGE);
	ck_assert_int_eq(conf_parse_size("99999999999999999999", &v),
	    -ERANGE);
}
END_TEST

/* --- default configuration --- */

START_TEST(default_conf)
{
	char dir[] = "/tmp/check_conf_state.XXXXXX", sub[256], p[300];
	struct conf *c, *c2;
	struct stat st;
	char *err = NULL;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/a/b", dir);
	c = conf_default(sub, &err);
	ck_assert_msg(c != NULL, "%s", err ? err : "");
	ck_assert_ptr_null(c->path);
	ck_assert_str_eq(c->state_dir, sub);
	ck_assert_uint_eq(c->n_warnings, 0);
	ck_assert_uint_eq(c->n_storage, 2);
	ck_assert_str_eq(c->storage[0].name, "lun0");
	ck_assert_str_eq(c->storage[0].plugin, "fileio");
	ck_assert_uint_eq(c->storage[0].size, 1ull << 30);
	snprintf(p, sizeof(p), "%s/lun1.img", sub);
	ck_assert_str_eq(c->storage[1].dev, p);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_size, 1ll << 30);
	ck_assert_int_lt(st.st_blocks, 1024);	/* sparse */
	ck_assert_uint_eq(c->n_targets, 1);
	ck_assert_str_eq(c->targets[0].wwn, "iqn.2026-11.org.tpcd:default");
	ck_assert_uint_eq(c->targets[0].tpgs[0].tag, 1);
	ck_assert(c->targets[0].tpgs[0].enable);
	ck_assert(c->targets[0].tpgs[0].generate_node_acls);
	ck_assert(!c->targets[0].tpgs[0].authentication);
	ck_assert_str_eq(c->targets[0].tpgs[0].portals[0].ip, "127.0.0.1");
	ck_assert_uint_eq(c->targets[0].tpgs[0].portals[0].port, 3260);
	ck_assert_uint_eq(c->targets[0].tpgs[0].n_luns, 2);
	ck_assert_str_eq(c->targets[0].tpgs[0].luns[1].storage, "lun1");
	ck_assert_str_ne(c->storage[0].wwn, c->storage[1].wwn);

	/* same state dir: same wwns */
	c2 = conf_default(sub, &err);
	ck_assert_ptr_nonnull(c2);
	ck_assert_str_eq(c->storage[0].wwn, c2->storage[0].wwn);
	ck_assert_str_eq(c->storage[1].wwn, c2->storage[1].wwn);
	conf_free(c2);
	conf_free(c);

	snprintf(p, sizeof(p), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(p), 0);
}
END_TEST

/* --- the registry --- */

#define T1 "iqn.2026-11.org.tpcd:t1"
#define T2 "iqn.2026-11.org.tpcd:t2"
#define I1 "iqn.1994-05.com.example:i1"
#define I2 "iqn.1994-05.com.example:i2"

static const char reg_json[] =
"{\"storage_objects\":["
" {\"plugin\":\"mem\",\"name\":\"m0\",\"size\":\"1M\"},"
" {\"plugin\":\"mem\",\"name\":\"m1\",\"size\":\"2M\"},"
" {\"plugin\":\"pscsi\",\"name\":\"b0\",\"dev\":\"/dev/null\"}],"
" \"targets\":["
" {\"fabric\":\"iscsi\",\"wwn\":\"" T1 "\",\"tpgs\":[{\"tag\":1,"
"  \"portals\":[{\"ip_address\":\"127.0.0.1\",\"port\":3260},"
"   {\"ip_address\":\"::1\",\"port\":3260}],"
"  \"attributes\":{\"authentication\":1,\"generate_node_acls\":0},"
"  \"parameters\":{\"MaxBurstLength\":\"65536\",\"IFMarker\":\"No\"},"
"  \"luns\":[{\"index\":0,\"storage_object\":\"/backstores/mem/m0\"},"
"   {\"index\":1,\"storage_object\":\"/backstores/mem/m1\"},"
"   {\"index\":2,\"storage_object\":\"/backstores/pscsi/b0\"}],"
"  \"node_acls\":[{\"node_wwn\":\"" I1 "\",\"chap_userid\":\"u1\","
"   \"chap_password\":\"p1-secret-123\",\"chap_mutual_userid\":\"t\","
"   \"chap_mutual_password\":\"mutual-secret\","
"   \"mapped_luns\":[{\"index\":7,\"tpg_lun\":1,\"write_protect\":true},"
"    {\"index\":3,\"tpg_lun\":0},{\"index\":4,\"tpg_lun\":2}]}]},"
"  {\"tag\":2,\"enable\":false,"
"   \"portals\":[{\"ip_address\":\"127.0.0.2\",\"port\":3260}]}]},"
" {\"fabric\":\"iscsi\",\"wwn\":\"" T2 "\",\"tpgs\":[{\"tag\":1,"
"  \"portals\":[{\"ip_address\":\"0.0.0.0\",\"port\":3261}],"
"  \"attributes\":{\"generate_node_acls\":1,"
"   \"demo_mode_write_protect\":1},"
"  \"luns\":[{\"index\":0,\"storage_object\":\"/backstores/mem/m1\"}]}]}"
"]}";

static struct conf *
reg_conf(const char *json)
{
	struct conf *c;
	char *err = NULL;

	c = conf_parse(json, "reg.json", &err);
	ck_assert_msg(c != NULL, "%s", err ? err : "");
	return c;
}

static void
reg_apply(const char *json)
{
	struct conf *c = reg_conf(json);
	char *err = NULL;

	cap_begin();
	ck_assert_int_eq(target_apply(c, &err), 0);
	free(cap_end());
	conf_free(c);
}

START_TEST(login_checks)
{
	struct target_auth a;

	reg_apply(reg_json);
	/* ACL with CHAP and mutual CHAP, through either portal */
	ck_assert_int_eq(target_login_check(T1, I1, "127.0.0.1", 3260, &a), 0);
	ck_assert_uint_eq(a.tpg_tag, 1);
	ck_assert(a.chap_required);
	ck_assert_str_eq(a.chap_user, "u1");
	ck_assert_str_eq(a.chap_secret, "p1-secret-123");
	ck_assert_str_eq(a.mutual_user, "t");
	ck_assert_str_eq(a.mutual_secret, "mutual-secret");
	ck_assert_str_eq(a.params, "MaxBurstLength=65536\n");
	ck_assert_int_eq(target_login_check(T1, I1, "::1", 3260, &a), 0);
	ck_assert_int_eq(target_login_check(T1, I1, "[::1]", 3260, &a), 0);
	ck_assert_int_eq(target_login_check(T1, I1, "::ffff:127.0.0.1", 3260,
	    &a), 0);
	/* names compare without case */
	ck_assert_int_eq(target_login_check("IQN.2026-11.org.tpcd:T1", I1,
	    "127.0.0.1", 3260, &a), 0);
	/* wrong portal, wrong port, disabled TPG, unknown target */
	ck_assert_int_eq(target_login_check(T1, I1, "127.0.0.3", 3260, &a),
	    -ENOENT);
	ck_assert_int_eq(target_login_check(T1, I1, "127.0.0.1", 3261, &a),
	    -ENOENT);
	ck_assert_int_eq(target_login_check(T1, I1, "127.0.0.2", 3260, &a),
	    -ENOENT);
	ck_assert_int_eq(target_login_check("iqn.2026-11.x:none", I1,
	    "127.0.0.1", 3260, &a), -ENOENT);
	ck_assert_int_eq(target_login_check(NULL, I1, "127.0.0.1", 3260, &a),
	    -ENOENT);
	/* no ACL, no demo mode */
	ck_assert_int_eq(target_login_check(T1, I2, "127.0.0.1", 3260, &a),
	    -EACCES);
	/* demo mode: anyone, wildcard portal, no CHAP */
	ck_assert_int_eq(target_login_check(T2, I2, "127.0.0.9", 3261, &a), 0);
	ck_assert(!a.chap_required);
	ck_assert_str_eq(a.chap_user, "");
	ck_assert_str_eq(a.params, "");
	ck_assert_int_eq(target_login_check(T2, I2, "::1", 3261, &a), -ENOENT);
	target_shutdown();
	ck_assert_int_eq(target_login_check(T2, I2, "127.0.0.9", 3261, &a),
	    -ENOENT);
}
END_TEST

struct visit {
	char	 buf[1024];
};

static void
visit_fn(void *arg, const char *target, const char *addr)
{
	struct visit *v = arg;
	size_t len = strlen(v->buf);

	snprintf(v->buf + len, sizeof(v->buf) - len, "%s %s;", target, addr);
}

START_TEST(send_targets)
{
	struct visit v = { "" };

	reg_apply(reg_json);
	target_list_visible(I1, "127.0.0.1", 3260, visit_fn, &v);
	ck_assert_str_eq(v.buf, T1 " 127.0.0.1:3260,1;" T1 " [::1]:3260,1;"
	    T2 " 127.0.0.1:3261,1;");
	v.buf[0] = '\0';
	target_list_visible(I2, "127.0.0.5", 3260, visit_fn, &v);
	ck_assert_str_eq(v.buf, T2 " 127.0.0.5:3261,1;");
	/* a v6 connection cannot be sent to a v4 wildcard */
	v.buf[0] = '\0';
	target_list_visible(I2, "::1", 3260, visit_fn, &v);
	ck_assert_str_eq(v.buf, "");
	target_shutdown();
}
END_TEST

START_TEST(portals)
{
	struct target_portal *p;
	unsigned int n;

	reg_apply(reg_json);
	ck_assert_int_eq(target_portals(&p, &n), 0);
	ck_assert_uint_eq(n, 3);	/* the disabled TPG's is left out */
	ck_assert_str_eq(p[0].ip, "127.0.0.1");
	ck_assert_uint_eq(p[0].port, 3260);
	ck_assert_str_eq(p[1].ip, "::1");
	ck_assert_str_eq(p[2].ip, "0.0.0.0");
	ck_assert_uint_eq(p[2].port, 3261);
	free(p);
	target_shutdown();
}
END_TEST

static void
count_fn(struct scsi_nexus *nx UNUSED, void *arg)
{
	(*(int *)arg)++;
}

START_TEST(nexus_maps_and_reload)
{
	static const uint8_t isid[6] = { 0x80, 0, 0, 0, 0, 1 };
	struct scsi_nexus *n1, *n2;
	struct lun *m0, *m1, *l;
	uint8_t asc, ascq;
	bool wp;
	int cnt;
	char *json, *p;

	reg_apply(reg_json);
	n1 = nexus_create(I1, isid, T1, 1);
	n2 = nexus_create(I2, isid, T2, 1);
	ck_assert_int_eq(target_nexus_register(n1), 0);
	ck_assert_int_eq(target_nexus_register(n2), 0);

	/* ACL map: 3 -> m0, 7 -> m1 (wp); 4 -> pscsi b0 stays unmapped */
	ck_assert_uint_eq(n1->n_luns, 2);
	ck_assert_uint_eq(n1->luns[0].lun_id, 3);
	ck_assert_uint_eq(n1->luns[1].lun_id, 7);
	m0 = nexus_lun_get(n1, 3, &wp);
	ck_assert_ptr_nonnull(m0);
	ck_assert(!wp);
	ck_assert_str_eq(m0->name, "m0");
	m1 = nexus_lun_get(n1, 7, &wp);
	ck_assert(wp);
	ck_assert_ptr_null(nexus_lun_get(n1, 4, &wp));
	/* demo map: TPG LUNs, demo_mode_write_protect */
	ck_assert_uint_eq(n2->n_luns, 1);
	l = nexus_lun_get(n2, 0, &wp);
	ck_assert_ptr_eq(l, m1);
	ck_assert(wp);
	lun_put(l);
	/* new nexus: power on UA */
	ck_assert(nexus_ua_pop(n1, 3, &asc, &ascq));
	ck_assert_uint_eq(asc, 0x29);
	ck_assert(nexus_ua_pop(n1, 7, &asc, &ascq));
	ck_assert(!nexus_ua_pop(n1, 7, &asc, &ascq));
	ck_assert(nexus_ua_pop(n2, 0, &asc, &ascq));

	cnt = 0;
	target_foreach_nexus(m1, count_fn, &cnt);
	ck_assert_int_eq(cnt, 2);
	cnt = 0;
	target_foreach_nexus(m0, count_fn, &cnt);
	ck_assert_int_eq(cnt, 1);
	cnt = 0;
	target_foreach_nexus(NULL, count_fn, &cnt);
	ck_assert_int_eq(cnt, 2);

	/* Same config again: the same LUs, no UA. */
	reg_apply(reg_json);
	l = nexus_lun_get(n1, 3, &wp);
	ck_assert_ptr_eq(l, m0);
	lun_put(l);
	ck_assert(!nexus_ua_peek(n1, 3, &asc, &ascq));
	ck_assert(!nexus_ua_peek(n2, 0, &asc, &ascq));

	/* m1 grows: a new LU; both nexuses see 3F/0E, m0 is kept. */
	json = xstrdup(reg_json);
	p = strstr(json, "\"2M\"");
	ck_assert_ptr_nonnull(p);
	p[1] = '4';
	reg_apply(json);
	free(json);
	l = nexus_lun_get(n1, 3, &wp);
	ck_assert_ptr_eq(l, m0);
	lun_put(l);
	l = nexus_lun_get(n1, 7, &wp);
	ck_assert_ptr_nonnull(l);
	ck_assert_ptr_ne(l, m1);
	ck_assert_uint_eq(l->nblocks * l->block_size, 4u << 20);
	lun_put(l);
	ck_assert(nexus_ua_pop(n1, 3, &asc, &ascq));
	ck_assert_uint_eq(asc, 0x3f);
	ck_assert_uint_eq(ascq, 0x0e);
	ck_assert(nexus_ua_pop(n2, 0, &asc, &ascq));
	ck_assert_uint_eq(asc, 0x3f);
	/* m1 still usable through our reference */
	ck_assert_str_eq(m1->name, "m1");

	/* A bad reload changes nothing. */
	{
		struct conf *c = reg_conf(reg_json);
		char *err = NULL;

		free(c->storage[0].plugin);
		c->storage[0].plugin = xstrdup("fileio");
		c->storage[0].dev = xstrdup("/nonexistent/dir/x.img");
		cap_begin();
		ck_assert_int_ne(target_apply(c, &err), 0);
		free(cap_end());
		ck_assert_ptr_nonnull(err);
		ck_assert_ptr_nonnull(strstr(err, "storage object m0"));
		free(err);
		conf_free(c);
		l = nexus_lun_get(n1, 3, &wp);
		ck_assert_ptr_eq(l, m0);
		lun_put(l);
	}

	/* Target T2 gone, I1's ACL gone: empty maps. */
	json = xstrdup(reg_json);
	p = strstr(json, "\"node_acls\"");
	p[9] = 'z';	/* rename the key: warned, ignored */
	p = strstr(json, T2);
	p[strlen(T2) - 1] = '9';
	reg_apply(json);
	free(json);
	ck_assert_uint_eq(n1->n_luns, 0);
	ck_assert_uint_eq(n2->n_luns, 0);
	ck_assert_ptr_null(nexus_lun_get(n1, 3, &wp));

	target_nexus_unregister(n1);
	cnt = 0;
	target_foreach_nexus(NULL, count_fn, &cnt);
	ck_assert_int_eq(cnt, 1);
	target_nexus_unregister(n2);
	lun_put(m0);
	lun_put(m1);
	nexus_destroy(n1);
	nexus_destroy(n2);
	target_shutdown();
}
END_TEST

/* --- ROD tokens: scope per TPG, revocation when a reload drops an LU --- */

#define SCOPE_JSON(m0size, scope, so_m1, lun_m1) \
"{\"storage_objects\":[" \
" {\"plugin\":\"mem\",\"name\":\"m0\",\"size\":\"" m0size "\"}" \
 so_m1 "]," \
" \"targets\":[" \
" {\"fabric\":\"iscsi\",\"wwn\":\"" T1 "\",\"tpgs\":[{\"tag\":1," \
"  \"attributes\":{\"generate_node_acls\":1" scope "}," \
"  \"luns\":[{\"index\":0,\"storage_object\":\"/backstores/mem/m0\"}" \
   lun_m1 "]}," \
"  {\"tag\":2,\"attributes\":{\"generate_node_acls\":1}}]}," \
" {\"fabric\":\"iscsi\",\"wwn\":\"" T2 "\",\"tpgs\":[{\"tag\":1," \
"  \"attributes\":{\"generate_node_acls\":1," \
"   \"tpcd_token_scope\":\"nexus\"}," \
"  \"luns\":[{\"index\":0,\"storage_object\":\"/backstores/mem/m0\"}]}]}" \
"]}"
#define SCOPE_SO_M1 ",{\"plugin\":\"mem\",\"name\":\"m1\",\"size\":\"1M\"}"
#define SCOPE_LUN_M1 ",{\"index\":1,\"storage_object\":\"/backstores/mem/m1\"}"
#define SCOPE_WIDE ",\"tpcd_token_scope\":\"target\""

static struct rod_entry *
scope_token(struct lun *lu, struct scsi_nexus *nx)
{
	static const struct rod_range r = { .lba = 0, .nblocks = 8 };
	struct rod_entry *e = NULL;
	struct rod_create c;
	uint8_t tok[ROD_TOKEN_LEN];

	memset(&c, 0, sizeof(c));
	c.lun = lu;
	c.nexus = nx;
	c.ranges = &r;
	c.n_ranges = 1;
	ck_assert_int_eq(rod_registry_create(&c, tok, &e), 0);
	return e;
}

/* The LU at lun_id in nx's map, referenced. */
static struct lun *
scope_lun(struct scsi_nexus *nx, uint64_t lun_id)
{
	struct lun *l = nexus_lun_get(nx, lun_id, NULL);

	ck_assert_ptr_nonnull(l);
	return l;
}

START_TEST(token_scope_and_revoke)
{
	static const uint8_t isid[6] = { 0x80, 0, 0, 0, 0, 2 };
	struct scsi_nexus *n1, *n1t2, *n2;
	struct rod_entry *e0, *e1, *e2;
	struct lun *m0, *m0b, *m1;
	struct conf *c;

	c = reg_conf(SCOPE_JSON("1M", SCOPE_WIDE, SCOPE_SO_M1, SCOPE_LUN_M1));
	ck_assert_int_eq(c->targets[0].tpgs[0].token_scope,
	    CONF_TOKEN_SCOPE_TARGET);
	ck_assert_int_eq(c->targets[0].tpgs[1].token_scope,
	    CONF_TOKEN_SCOPE_NEXUS);		/* default */
	ck_assert_int_eq(c->targets[1].tpgs[0].token_scope,
	    CONF_TOKEN_SCOPE_NEXUS);
	conf_free(c);
	ck_assert_int_eq(rod_key_init(NULL), 0);
	reg_apply(SCOPE_JSON("1M", SCOPE_WIDE, SCOPE_SO_M1, SCOPE_LUN_M1));
	n1 = nexus_create(I1, isid, T1, 1);
	n1t2 = nexus_create(I1, isid, T1, 2);
	n2 = nexus_create(I2, isid, T2, 1);
	ck_assert_int_eq(target_nexus_register(n1), 0);
	ck_assert_int_eq(target_nexus_register(n2), 0);

	/* per TPG, read live */
	ck_assert(target_token_scope_wide(n1));
	ck_assert(!target_token_scope_wide(n1t2));
	ck_assert(!target_token_scope_wide(n2));
	ck_assert(!target_token_scope_wide(NULL));

	m0 = scope_lun(n1, 0);
	m1 = scope_lun(n1, 1);
	e0 = scope_token(m0, n1);
	e1 = scope_token(m1, n1);

	/* m1 removed, scope back to "nexus": m1's token is revoked, m0's
	 * stays; the scope follows without a new login */
	reg_apply(SCOPE_JSON("1M", "", "", ""));
	ck_assert(!target_token_scope_wide(n1));
	ck_assert_int_eq(rod_registry_check(e1), ROD_ERR_REVOKED);
	ck_assert_int_eq(rod_registry_check(e0), ROD_OK);
	rod_registry_put(e1);
	ck_assert_uint_eq(m1->refcnt, 1);	/* ours only */
	ck_assert_uint_eq(m1->rod_tokens, 0);
	lun_put(m1);

	/* m0 resized: a new LU; the old one's tokens are revoked and drop
	 * their LU reference */
	reg_apply(SCOPE_JSON("2M", SCOPE_WIDE, "", ""));
	ck_assert(target_token_scope_wide(n1));
	ck_assert_int_eq(rod_registry_check(e0), ROD_ERR_REVOKED);
	m0b = scope_lun(n1, 0);
	ck_assert_ptr_ne(m0b, m0);
	rod_registry_put(e0);
	ck_assert_uint_eq(m0->refcnt, 1);
	ck_assert_uint_eq(m0->rod_tokens, 0);
	lun_put(m0);

	/* an unchanged reload keeps tokens; shutdown revokes them */
	e2 = scope_token(m0b, n2);
	reg_apply(SCOPE_JSON("2M", SCOPE_WIDE, "", ""));
	ck_assert_int_eq(rod_registry_check(e2), ROD_OK);
	target_nexus_unregister(n1);
	target_nexus_unregister(n2);
	nexus_destroy(n1);
	nexus_destroy(n1t2);
	nexus_destroy(n2);
	target_shutdown();
	ck_assert_int_eq(rod_registry_check(e2), ROD_ERR_REVOKED);
	rod_registry_put(e2);
	ck_assert_uint_eq(m0b->refcnt, 1);
	lun_put(m0b);
	rod_registry_fini();
	rod_key_fini();
}
END_TEST

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 20);
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Every allocation failure is reported and leaks nothing (run under
 * ASan with CK_FORK=no to check the leaks). */
START_TEST(oom_parse)
{
	char *json = slurp(CONF_SAMPLE), *err;
	struct conf *c;
	unsigned long n;

	for (n = 1; n < 100000; n++) {
		err = NULL;
		xmalloc_fail_after(n);
		c = conf_parse(json, "oom.json", &err);
		xmalloc_fail_after(0);
		if (c != NULL) {
			conf_free(c);
			break;
		}
		free(err);
	}
	ck_assert_uint_gt(n, 20);
	free(json);
}
END_TEST

START_TEST(oom_apply)
{
	static const uint8_t isid[6] = { 0x80, 0, 0, 0, 0, 2 };
	struct conf *c = reg_conf(reg_json);
	struct scsi_nexus *nx;
	struct lun *l;
	unsigned long n;
	char *err;
	int rc = -1;

	nx = nexus_create(I2, isid, T2, 1);
	ck_assert_int_eq(target_nexus_register(nx), 0);
	ck_assert_uint_eq(nx->n_luns, 0);
	cap_begin();
	for (n = 1; n < 10000 && rc != 0; n++) {
		err = NULL;
		xmalloc_fail_after(n);
		rc = target_apply(c, &err);
		xmalloc_fail_after(0);
		free(err);
		if (rc != 0)
			ck_assert_uint_eq(nx->n_luns, 0);
	}
	free(cap_end());
	ck_assert_int_eq(rc, 0);
	l = nexus_lun_get(nx, 0, NULL);
	ck_assert_ptr_nonnull(l);
	lun_put(l);
	target_nexus_unregister(nx);
	nexus_destroy(nx);
	target_shutdown();
	conf_free(c);
}
END_TEST

static atomic_int race_stop;

static void *
race_reader(void *arg)
{
	struct scsi_nexus *nx = arg;
	struct target_auth a;
	struct visit v;
	struct lun *l;
	int cnt = 0;

	while (!race_stop) {
		(void)target_login_check(T1, I1, "127.0.0.1", 3260, &a);
		v.buf[0] = '\0';
		target_list_visible(I1, "127.0.0.1", 3260, visit_fn, &v);
		target_foreach_nexus(NULL, count_fn, &cnt);
		l = nexus_lun_get(nx, 3, NULL);
		lun_put(l);
	}
	return NULL;
}

/* Logins, SendTargets and I/O-path lookups race with reloads (for TSan). */
START_TEST(concurrent_reload)
{
	static const uint8_t isid[6] = { 0x80, 0, 0, 0, 0, 3 };
	struct scsi_nexus *nx;
	pthread_t th[2];
	char *alt, *p;

	alt = xstrdup(reg_json);
	p = strstr(alt, "\"2M\"");
	p[1] = '3';
	reg_apply(reg_json);
	nx = nexus_create(I1, isid, T1, 1);
	ck_assert_int_eq(target_nexus_register(nx), 0);
	race_stop = 0;
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, race_reader, nx);
	for (int i = 0; i < 30; i++)
		reg_apply(i % 2 ? reg_json : alt);
	race_stop = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	ck_assert_uint_eq(nx->n_luns, 2);
	target_nexus_unregister(nx);
	nexus_destroy(nx);
	target_shutdown();
	free(alt);
}
END_TEST

static Suite *
conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("conf");

	tcase_add_test(tc, sample_loads);
	tcase_add_loop_test(tc, invalid_values, 0, (int)ARRAY_SIZE(bad));
	tcase_add_test(tc, unknown_keys_warn);
	tcase_add_test(tc, other_fabrics_and_plugins);
	tcase_add_test(tc, size_strings);
	tcase_add_test(tc, default_conf);
	tcase_add_test(tc, oom_parse);
	suite_add_tcase(s, tc);
	tc = tcase_create("target");
	tcase_add_test(tc, login_checks);
	tcase_add_test(tc, send_targets);
	tcase_add_test(tc, portals);
	tcase_add_test(tc, nexus_maps_and_reload);
	tcase_add_test(tc, oom_apply);
	tcase_add_test(tc, concurrent_reload);
	tcase_add_test(tc, token_scope_and_revoke);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(conf_suite());
	int failed;

	log_init(false, LOG_LVL_INFO);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
