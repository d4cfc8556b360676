/*
 * check_tcmu_cfs.c - TCMU configfs/sysfs readers, LIO's NAA, copy scope
 * and netlink event parsing, on fake kernel trees under a temp dir.
 *
 * The trees are shaped like the kernel's (6.1): /sys/class/uio/uioN/name,
 * target/core/user_<h>/<dev>/{wwn,attrib,action,statistics}, fabric
 * TPGs with lun/lun_<m>/<link> -> ../../../../../core/<hba>/<dev> and
 * acls/<init>/lun_<k>/<link> -> ../../../lun/lun_<m>, values in the
 * kernel's text format.
 */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define iovec tcmu_kiovec
#include <linux/target_core_user.h>
#undef iovec
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "tcmu_int.h"
#include "tcmu_nl.h"
#include "tcmu_reach.h"

static char root[64];

static void __attribute__((format(printf, 1, 2)))
mkdirs(const char *fmt, ...)
{
	char path[1024], *p;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		(void)mkdir(path, 0755);
		*p = '/';
	}
	(void)mkdir(path, 0755);
}

static void __attribute__((format(printf, 2, 3)))
wfile(const char *content, const char *fmt, ...)
{
	char path[1024], dir[1024], *slash;
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	*slash = '\0';
	mkdirs("%s", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(content, f);
	fclose(f);
}

static void __attribute__((format(printf, 2, 3)))
slink(const char *target, const char *fmt, ...)
{
	char path[1024], dir[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	strcpy(dir, path);
	*strrchr(dir, '/') = '\0';
	mkdirs("%s", dir);
	ck_assert_int_eq(symlink(target, path), 0);
}

static void
setup(void)
{
	strcpy(root, "/tmp/check_tcmu_cfs.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	snprintf(tcmu_paths.configfs, sizeof(tcmu_paths.configfs),
	    "%s/config/target", root);
	snprintf(tcmu_paths.uio_class, sizeof(tcmu_paths.uio_class),
	    "%s/sys/class/uio", root);
	mkdirs("%s", tcmu_paths.configfs);
	mkdirs("%s", tcmu_paths.uio_class);
}

static void
teardown(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx %s; rm -rf %s", root,
	    root);
	ck_assert_int_eq(system(cmd), 0);
}

/* A user: device as configfs shows it. */
static void
fake_dev(unsigned int hba, const char *dev, const char *serial,
    unsigned long long size, unsigned int indx)
{
	const char *c = tcmu_paths.configfs;
	char buf[256];

	snprintf(buf, sizeof(buf), "T10 VPD Unit Serial Number: %s\n",
	    serial);
	wfile(buf, "%s/core/user_%u/%s/wwn/vpd_unit_serial", c, hba, dev);
	wfile("LIO-ORG\n", "%s/core/user_%u/%s/wwn/vendor_id", c, hba, dev);
	wfile("TCMU device\n", "%s/core/user_%u/%s/wwn/product_id", c, hba,
	    dev);
	wfile("0002\n", "%s/core/user_%u/%s/wwn/revision", c, hba, dev);
	wfile("0x001405\n", "%s/core/user_%u/%s/wwn/company_id", c, hba, dev);
	wfile("4096\n", "%s/core/user_%u/%s/attrib/hw_block_size", c, hba,
	    dev);
	wfile("1024\n", "%s/core/user_%u/%s/attrib/hw_max_sectors", c, hba,
	    dev);
	snprintf(buf, sizeof(buf), "%llu\n", size);
	wfile(buf, "%s/core/user_%u/%s/attrib/dev_size", c, hba, dev);
	wfile("1\n", "%s/core/user_%u/%s/attrib/emulate_write_cache", c, hba,
	    dev);
	snprintf(buf, sizeof(buf), "%u\n", indx);
	wfile(buf, "%s/core/user_%u/%s/statistics/scsi_dev/indx", c, hba,
	    dev);
	wfile("", "%s/core/user_%u/%s/action/block_dev", c, hba, dev);
	wfile("", "%s/core/user_%u/%s/action/reset_ring", c, hba, dev);
}

static void
fake_uio(unsigned int minor, const char *name)
{
	char buf[2048];

	snprintf(buf, sizeof(buf), "%s\n", name);
	wfile(buf, "%s/uio%u/name", tcmu_paths.uio_class, minor);
	wfile("1\n", "%s/uio%u/version", tcmu_paths.uio_class, minor);
}

static struct tcmu_devinfo
di(unsigned int hba, const char *dev)
{
	struct tcmu_devinfo d;

	memset(&d, 0, sizeof(d));
	d.hba_id = hba;
	snprintf(d.dev, sizeof(d.dev), "%s", dev);
	return d;
}

/* --- name parsing --- */

START_TEST(name_parse_ok)
{
	struct tcmu_devinfo d;

	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(tcmu_name_parse("tcm-user/1/dev0/tpcd/file=/img/a",
	    &d), 0);
	ck_assert_uint_eq(d.hba_id, 1);
	ck_assert_str_eq(d.dev, "dev0");
	ck_assert_str_eq(d.subtype, "tpcd");
	ck_assert_str_eq(d.cfg, "file=/img/a");

	ck_assert_int_eq(tcmu_name_parse("tcm-user/4294967295/x/qcow\n", &d),
	    0);
	ck_assert_uint_eq(d.hba_id, 4294967295u);
	ck_assert_str_eq(d.subtype, "qcow");
	ck_assert_str_eq(d.cfg, "");

	ck_assert_int_eq(tcmu_name_parse("tcm-user/7/nocfg", &d), 0);
	ck_assert_str_eq(d.dev, "nocfg");
	ck_assert_str_eq(d.subtype, "");
	ck_assert_str_eq(d.cfg, "");

	ck_assert_int_eq(tcmu_name_parse("tcm-user/2/d/tpcd/", &d), 0);
	ck_assert_str_eq(d.cfg, "");
}
END_TEST

START_TEST(name_parse_bad)
{
	static const char *bad[] = {
		"", "tcm-user", "tcm-user/", "tcm-user//dev/tpcd",
		"tcm-user/x/dev/tpcd", "tcm-user/1", "tcm-user/1/",
		"tcm-user/1//tpcd", "tcm-user/-1/d/tpcd",
		"tcm-user/4294967296/d/tpcd", "uio_pci_generic",
		"TCM-USER/1/d/tpcd", "tcm-user/1x/d",
	};
	struct tcmu_devinfo d;
	char big[TCMU_NAME_MAX + 64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(tcmu_name_parse(bad[i], &d) < 0, "%s", bad[i]);
	memset(big, 'a', sizeof(big));
	memcpy(big, "tcm-user/1/", 11);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(tcmu_name_parse(big, &d), -ENAMETOOLONG);
}
END_TEST

/* --- scan and ident --- */

START_TEST(scan_devices)
{
	struct tcmu_devinfo *v;
	unsigned int n;

	fake_dev(1, "dev0", "abc", 1 << 20, 3);
	fake_dev(2, "dev1", "def", 1 << 21, 4);
	fake_uio(10, "tcm-user/2/dev1/tpcd/file=/b");
	fake_uio(2, "tcm-user/1/dev0/tpcd/file=/a");
	fake_uio(3, "tcm-user/1/other/qcow/x.qcow2");
	fake_uio(4, "uio_pci_generic");
	wfile("junk", "%s/not-uio/name", tcmu_paths.uio_class);

	ck_assert_int_eq(tcmu_cfs_scan("tpcd", &v, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(v[0].minor, 2);
	ck_assert_str_eq(v[0].dev, "dev0");
	ck_assert_str_eq(v[0].cfg, "file=/a");
	ck_assert_uint_eq(v[0].size, 1 << 20);
	ck_assert_uint_eq(v[0].dev_id, 3);
	ck_assert_int_eq(v[0].wce, 1);
	ck_assert_uint_eq(v[1].minor, 10);
	ck_assert_uint_eq(v[1].hba_id, 2);
	ck_assert_uint_eq(v[1].dev_id, 4);
	free(v);

	ck_assert_int_eq(tcmu_cfs_scan(NULL, &v, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(v[1].subtype, "qcow");
	ck_assert_uint_eq(v[1].size, 0);	/* no configfs dir */
	ck_assert_int_eq(v[1].wce, -1);
	free(v);

	/* no uio class at all: nothing, not an error */
	snprintf(tcmu_paths.uio_class, sizeof(tcmu_paths.uio_class),
	    "%s/none", root);
	ck_assert_int_eq(tcmu_cfs_scan(NULL, &v, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(v);
}
END_TEST

START_TEST(ident_read)
{
	struct tcmu_devinfo d = di(1, "dev0");
	struct tcmu_ident id;

	fake_dev(1, "dev0", "3d8a2a2b-5a5d-4c6f-9c8e-1a2b3c4d5e6f",
	    64ull << 30, 1);
	ck_assert_int_eq(tcmu_cfs_ident(&d, &id), 0);
	ck_assert_str_eq(id.serial, "3d8a2a2b-5a5d-4c6f-9c8e-1a2b3c4d5e6f");
	ck_assert_str_eq(id.vendor, "LIO-ORG");
	ck_assert_str_eq(id.product, "TCMU device");
	ck_assert_str_eq(id.revision, "0002");
	ck_assert_uint_eq(id.company_id, 0x001405);
	ck_assert_uint_eq(id.block_size, 4096);
	ck_assert_uint_eq(id.max_sectors, 1024);
	ck_assert_uint_eq(id.size, 64ull << 30);

	/* older kernels: no company_id, no attrib/dev_size: use info */
	unlink(strcat(strcpy((char[1024]){0}, tcmu_paths.configfs),
	    "/core/user_1/dev0/wwn/company_id"));
	unlink(strcat(strcpy((char[1024]){0}, tcmu_paths.configfs),
	    "/core/user_1/dev0/attrib/dev_size"));
	wfile("Status: ACTIVATED  Max Queue Depth: 128  SectorSize: 512  "
	    "HwMaxSectors: 128\nConfig: tpcd/Size: 5 Size: 1048576 "
	    "MaxDataAreaMB: 1024 DataPagesPerBlk: 1 CmdRingSizeMB: 8\n",
	    "%s/core/user_1/dev0/info", tcmu_paths.configfs);
	ck_assert_int_eq(tcmu_cfs_ident(&d, &id), 0);
	ck_assert_uint_eq(id.company_id, 0x001405);
	ck_assert_uint_eq(id.size, 1048576);

	/* over-long vendor is cut, not overflowed */
	wfile("ABCDEFGHIJKLMNOP\n", "%s/core/user_1/dev0/wwn/vendor_id",
	    tcmu_paths.configfs);
	ck_assert_int_eq(tcmu_cfs_ident(&d, &id), 0);
	ck_assert_str_eq(id.vendor, "ABCDEFGH");

	/* empty serial (never set): empty string */
	wfile("T10 VPD Unit Serial Number: \n",
	    "%s/core/user_1/dev0/wwn/vpd_unit_serial", tcmu_paths.configfs);
	ck_assert_int_eq(tcmu_cfs_ident(&d, &id), 0);
	ck_assert_str_eq(id.serial, "");

	/* garbage numbers are errors */
	wfile("lots\n", "%s/core/user_1/dev0/attrib/hw_block_size",
	    tcmu_paths.configfs);
	ck_assert_int_eq(tcmu_cfs_ident(&d, &id), -EINVAL);
	wfile("0x1000000\n", "%s/core/user_1/dev0/attrib/hw_block_size",
	    tcmu_paths.configfs);
	wfile("0x1000000\n", "%s/core/user_1/dev0/wwn/company_id",
	    tcmu_paths.configfs);
	ck_assert_int_eq(tcmu_cfs_ident(&d, &id), -ERANGE);

	d = di(1, "missing");
	ck_assert_int_eq(tcmu_cfs_ident(&d, &id), -ENOENT);
	d = di(1, "../dev0");
	ck_assert_int_eq(tcmu_cfs_ident(&d, &id), -EINVAL);
}
END_TEST

START_TEST(action_write)
{
	struct tcmu_devinfo d = di(1, "dev0");
	char buf[16] = { 0 }, path[512];
	FILE *f;

	fake_dev(1, "dev0", "s", 1, 1);
	ck_assert_int_eq(tcmu_cfs_action(&d, "reset_ring", "1"), 0);
	snprintf(path, sizeof(path), "%s/core/user_1/dev0/action/reset_ring",
	    tcmu_paths.configfs);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	ck_assert_str_eq(buf, "1");
	ck_assert_int_eq(tcmu_cfs_action(&d, "unblock_dev", "1"), -ENOENT);
	ck_assert_int_eq(tcmu_cfs_action(&d, "../enable", "1"), -EINVAL);
	ck_assert_int_eq(tcmu_cfs_action(&d, "", "1"), -EINVAL);
}
END_TEST

/* --- LIO NAA --- */

START_TEST(naa_lio)
{
	/* spc_gen_naa_6h_vendor_specific() by hand: 6h, OUI 00-14-05,
	 * then the first 25 hex digits of the serial, dashes skipped */
	static const uint8_t want[16] = {
		0x60, 0x01, 0x40, 0x53, 0xd8, 0xa2, 0xa2, 0xb5,
		0xa5, 0xd4, 0xc6, 0xf9, 0xc8, 0xe1, 0xa2, 0xb3,
	};
	static const uint8_t short_want[16] = {
		0x61, 0x23, 0x45, 0x6a, 0xb0,
	};
	static const uint8_t odd_want[16] = {
		0x60, 0x01, 0x40, 0x5a, 0xbc,
	};
	uint8_t naa[16];

	tcmu_lio_naa("3d8a2a2b-5a5d-4c6f-9c8e-1a2b3c4d5e6f", 0x001405, naa);
	ck_assert_mem_eq(naa, want, 16);
	/* upper case is the same digit */
	tcmu_lio_naa("3D8A2A2B-5A5D-4C6F-9C8E-1A2B3C4D5E6F", 0x001405, naa);
	ck_assert_mem_eq(naa, want, 16);
	tcmu_lio_naa("ab", 0x123456, naa);
	ck_assert_mem_eq(naa, short_want, 16);
	tcmu_lio_naa("xAyBzC", 0x001405, naa);
	ck_assert_mem_eq(naa, odd_want, 16);
	tcmu_lio_naa("", 0x001405, naa);
	ck_assert_uint_eq(naa[3], 0x50);
	ck_assert_uint_eq(naa[4], 0);
}
END_TEST

/* --- copy scope: pure decisions --- */

START_TEST(covers_pure)
{
	struct tcmu_devinfo a = di(1, "a"), b = di(1, "b"), c = di(2, "c");
	struct tcmu_reach *r = tcmu_reach_new();

	ck_assert_ptr_nonnull(r);
	/* nothing exports anything: trivially covered */
	ck_assert(tcmu_reach_covers(r, &a, &b));
	ck_assert(!tcmu_reach_covers(NULL, &a, &b));
	/* demo TPG T1 exports a and b: every initiator reaches both */
	ck_assert_int_eq(tcmu_reach_add(r, "T1", NULL, "user_1", "a", 0), 0);
	ck_assert_int_eq(tcmu_reach_add(r, "T1", NULL, "user_1", "b", 0), 0);
	ck_assert(tcmu_reach_covers(r, &a, &b));
	ck_assert(tcmu_reach_covers(r, &b, &a));
	ck_assert(!tcmu_reach_covers(r, &a, &c));
	ck_assert(tcmu_reach_covers(r, &c, &a));	/* c unexported */
	ck_assert(tcmu_reach_covers(r, &a, &a));
	/* ACL X of T2 reaches a only */
	ck_assert_int_eq(tcmu_reach_add(r, "T2", "X", "user_1", "a", 0), 0);
	ck_assert(!tcmu_reach_covers(r, &a, &b));
	ck_assert(tcmu_reach_covers(r, &b, &a));
	/* X gets b in T3: another TPG does not count */
	ck_assert_int_eq(tcmu_reach_add(r, "T3", "X", "user_1", "b", 0), 0);
	ck_assert(!tcmu_reach_covers(r, &a, &b));
	/* and read-only in T2: write protected does not count */
	ck_assert_int_eq(tcmu_reach_add(r, "T2", "X", "user_1", "b",
	    TCMU_REACH_RO), 0);
	ck_assert(!tcmu_reach_covers(r, &a, &b));
	ck_assert_int_eq(tcmu_reach_add(r, "T2", "X", "user_1", "b", 0), 0);
	ck_assert(tcmu_reach_covers(r, &a, &b));
	/* any initiator of T2 (demo) is not X: needs its own grant */
	ck_assert_int_eq(tcmu_reach_add(r, "T2", NULL, "user_1", "a", 0), 0);
	ck_assert(!tcmu_reach_covers(r, &a, &b));
	ck_assert_int_eq(tcmu_reach_add(r, "T2", NULL, "user_1", "b", 0), 0);
	ck_assert(tcmu_reach_covers(r, &a, &b));
	/* a LUN of unknown device is a way in to anything, grants nothing */
	ck_assert_int_eq(tcmu_reach_add(r, "T4", "Y", NULL, NULL,
	    TCMU_REACH_UNKNOWN), 0);
	ck_assert(!tcmu_reach_covers(r, &a, &b));
	ck_assert(!tcmu_reach_covers(r, &c, &a));
	ck_assert_uint_eq(tcmu_reach_count(r), 9);
	tcmu_reach_free(r);

	r = tcmu_reach_new();
	tcmu_reach_set_incomplete(r);
	ck_assert(!tcmu_reach_covers(r, &a, &b));
	tcmu_reach_free(r);
}
END_TEST

/* --- copy scope: loaded from fake configfs --- */

/* what 6.1 shows (readlink): relative to the configfs root */
#define CORE_LINK(h, d)	"../../../../../../target/core/" h "/" d
#define CORE_LINK_SHORT(h, d)	"../../../../../core/" h "/" d

static void
tpg_lun(const char *tpg, unsigned int m, const char *target)
{
	mkdirs("%s/%s/lun/lun_%u/statistics", tcmu_paths.configfs, tpg, m);
	wfile("", "%s/%s/lun/lun_%u/alua_tg_pt_gp", tcmu_paths.configfs, tpg,
	    m);
	slink(target, "%s/%s/lun/lun_%u/6a1b2c3d4e", tcmu_paths.configfs,
	    tpg, m);
}

static void
tpg_attr(const char *tpg, const char *demo, const char *wp)
{
	if (demo)
		wfile(demo, "%s/%s/attrib/generate_node_acls",
		    tcmu_paths.configfs, tpg);
	if (wp)
		wfile(wp, "%s/%s/attrib/demo_mode_write_protect",
		    tcmu_paths.configfs, tpg);
	wfile("1\n", "%s/%s/enable", tcmu_paths.configfs, tpg);
}

static void
acl_lun(const char *tpg, const char *init, unsigned int k, unsigned int m,
    const char *wp)
{
	char target[256];

	if (k % 2)
		snprintf(target, sizeof(target), "../../../lun/lun_%u", m);
	else
		snprintf(target, sizeof(target), "../../../../../../../target/"
		    "%s/lun/lun_%u", tpg, m);
	wfile(wp, "%s/%s/acls/%s/lun_%u/write_protect", tcmu_paths.configfs,
	    tpg, init, k);
	slink(target, "%s/%s/acls/%s/lun_%u/7f00aa", tcmu_paths.configfs, tpg,
	    init, k);
}

/* tpg in demo mode (writable) exporting user_1/a at LUN 0, b at 1 */
static void
tpg_demo_ab(const char *tpg)
{
	tpg_attr(tpg, "1\n", "0\n");
	tpg_lun(tpg, 0, CORE_LINK("user_1", "a"));
	tpg_lun(tpg, 1, CORE_LINK("user_1", "b"));
}

#define IQN	"iscsi/iqn.2003-01.org.linux-iscsi.lab:t1"
#define INI1	"iqn.2004-10.com.example:one"
#define INI2	"iqn.2004-10.com.example:two"

static struct tcmu_reach *
load(void)
{
	struct tcmu_reach *r;

	ck_assert_int_eq(tcmu_reach_load(&r), 0);
	ck_assert_ptr_nonnull(r);
	return r;
}

START_TEST(reach_demo_mode)
{
	struct tcmu_devinfo a = di(1, "a"), b = di(1, "b"), c = di(1, "c");
	struct tcmu_reach *r;

	wfile("Target Engine Core ConfigFS Infrastructure v5.0\n",
	    "%s/version", tcmu_paths.configfs);
	mkdirs("%s/iscsi/discovery_auth", tcmu_paths.configfs);
	wfile("x\n", "%s/iscsi/lio_version", tcmu_paths.configfs);
	tpg_attr(IQN "/tpgt_1", "1\n", "0\n");
	tpg_lun(IQN "/tpgt_1", 0, CORE_LINK("user_1", "a"));
	tpg_lun(IQN "/tpgt_1", 1, CORE_LINK_SHORT("user_1", "b"));
	tpg_lun(IQN "/tpgt_1", 2, CORE_LINK("fileio_0", "disk"));
	r = load();
	ck_assert_uint_eq(tcmu_reach_count(r), 3);
	ck_assert(tcmu_reach_covers(r, &a, &b));
	ck_assert(tcmu_reach_covers(r, &b, &a));
	ck_assert(!tcmu_reach_covers(r, &a, &c));
	ck_assert(tcmu_reach_covers(r, &c, &a));
	tcmu_reach_free(r);

	/* demo mode write protected: b is not writable by anyone */
	tpg_attr(IQN "/tpgt_1", "1\n", "1\n");
	r = load();
	ck_assert(!tcmu_reach_covers(r, &a, &b));
	tcmu_reach_free(r);

	/* demo off and no ACLs: nobody reaches anything */
	tpg_attr(IQN "/tpgt_1", "0\n", "1\n");
	r = load();
	ck_assert_uint_eq(tcmu_reach_count(r), 0);
	ck_assert(tcmu_reach_covers(r, &a, &c));
	tcmu_reach_free(r);
}
END_TEST

START_TEST(reach_acls_partial)
{
	struct tcmu_devinfo a = di(1, "a"), b = di(1, "b"), c = di(3, "c");
	struct tcmu_reach *r;

	tpg_attr(IQN "/tpgt_1", "0\n", "1\n");
	tpg_lun(IQN "/tpgt_1", 0, CORE_LINK("user_1", "a"));
	tpg_lun(IQN "/tpgt_1", 1, CORE_LINK("user_1", "b"));
	tpg_lun(IQN "/tpgt_1", 5, CORE_LINK("user_3", "c"));
	/* INI1 sees a and b, INI2 sees a and c */
	acl_lun(IQN "/tpgt_1", INI1, 0, 0, "0\n");
	acl_lun(IQN "/tpgt_1", INI1, 1, 1, "0\n");
	acl_lun(IQN "/tpgt_1", INI2, 0, 0, "0\n");
	acl_lun(IQN "/tpgt_1", INI2, 3, 5, "0\n");
	wfile("", "%s/" IQN "/tpgt_1/acls/" INI2 "/cmdsn_depth",
	    tcmu_paths.configfs);
	r = load();
	ck_assert_uint_eq(tcmu_reach_count(r), 4);
	ck_assert(!tcmu_reach_covers(r, &a, &b));	/* INI2 lacks b */
	ck_assert(tcmu_reach_covers(r, &b, &a));	/* INI1 has a */
	ck_assert(!tcmu_reach_covers(r, &a, &c));	/* INI1 lacks c */
	ck_assert(tcmu_reach_covers(r, &c, &a));
	ck_assert(!tcmu_reach_covers(r, &b, &c));
	tcmu_reach_free(r);

	/* INI1 gets c write protected: still not covered */
	acl_lun(IQN "/tpgt_1", INI1, 2, 5, "1\n");
	r = load();
	ck_assert(!tcmu_reach_covers(r, &a, &c));
	tcmu_reach_free(r);
}
END_TEST

START_TEST(reach_two_tpgs_two_fabrics)
{
	struct tcmu_devinfo a = di(1, "a"), b = di(1, "b");
	struct tcmu_reach *r;

	/* iscsi tpgt_1 demo: a and b; tpgt_2 demo: a only */
	tpg_demo_ab(IQN "/tpgt_1");
	r = load();
	ck_assert(tcmu_reach_covers(r, &a, &b));
	tcmu_reach_free(r);

	tpg_attr(IQN "/tpgt_2", "1\n", "0\n");
	wfile("0\n", "%s/" IQN "/tpgt_2/enable", tcmu_paths.configfs);
	tpg_lun(IQN "/tpgt_2", 0, CORE_LINK("user_1", "a"));
	r = load();
	/* a disabled TPG still counts as a way in */
	ck_assert(!tcmu_reach_covers(r, &a, &b));
	ck_assert(tcmu_reach_covers(r, &b, &a));
	tcmu_reach_free(r);

	tpg_lun(IQN "/tpgt_2", 1, CORE_LINK("user_1", "b"));
	/* loopback: no generate_node_acls attribute, always demo mode */
	mkdirs("%s/loopback/naa.5001405aaaaaaaaa/tpgt_1/attrib",
	    tcmu_paths.configfs);
	tpg_lun("loopback/naa.5001405aaaaaaaaa/tpgt_1", 0,
	    CORE_LINK("user_1", "b"));
	r = load();
	ck_assert(tcmu_reach_covers(r, &a, &b));
	ck_assert(!tcmu_reach_covers(r, &b, &a));	/* loopback lacks a */
	tcmu_reach_free(r);
}
END_TEST

/* A TPG exporting no user: LUN cannot reach a TCMU device, so its
 * attributes and ACLs are not read; once it exports one, they count. */
START_TEST(reach_kernel_only_tpg)
{
	struct tcmu_devinfo a = di(1, "a"), b = di(1, "b");
	struct tcmu_reach *r;

	tpg_demo_ab(IQN "/tpgt_1");
	tpg_attr(IQN "/tpgt_2", "1\n", "0\n");
	tpg_lun(IQN "/tpgt_2", 0, CORE_LINK("fileio_0", "disk"));
	acl_lun(IQN "/tpgt_2", INI1, 0, 0, "0\n");
	r = load();
	ck_assert_uint_eq(tcmu_reach_count(r), 2);
	ck_assert(tcmu_reach_covers(r, &a, &b));
	tcmu_reach_free(r);

	tpg_lun(IQN "/tpgt_2", 1, CORE_LINK("user_1", "a"));
	r = load();
	ck_assert_uint_gt(tcmu_reach_count(r), 2);
	ck_assert(!tcmu_reach_covers(r, &a, &b));	/* tpgt_2 lacks b */
	ck_assert(tcmu_reach_covers(r, &b, &a));
	tcmu_reach_free(r);
}
END_TEST

START_TEST(reach_dangling_and_unreadable)
{
	struct tcmu_devinfo a = di(1, "a"), b = di(1, "b"), z = di(9, "z");
	struct tcmu_reach *r;
	char path[1024];

	tpg_demo_ab(IQN "/tpgt_1");
	/* a link to a device that is gone still names it: counts */
	tpg_lun(IQN "/tpgt_1", 2, CORE_LINK("user_9", "z"));
	r = load();
	ck_assert(tcmu_reach_covers(r, &a, &z));
	tcmu_reach_free(r);

	/* an ACL lun link to a TPG LUN that does not exist: reaches nothing */
	tpg_attr(IQN "/tpgt_1", "0\n", "0\n");
	acl_lun(IQN "/tpgt_1", INI1, 0, 0, "0\n");
	acl_lun(IQN "/tpgt_1", INI1, 1, 1, "0\n");
	acl_lun(IQN "/tpgt_1", INI1, 7, 42, "0\n");
	r = load();
	ck_assert_uint_eq(tcmu_reach_count(r), 2);
	ck_assert(tcmu_reach_covers(r, &a, &b));
	tcmu_reach_free(r);

	/* an unparsable TPG LUN link: unknown device, way in to all */
	tpg_lun(IQN "/tpgt_1", 3, "garbage");
	acl_lun(IQN "/tpgt_1", INI2, 0, 3, "0\n");
	r = load();
	ck_assert(!tcmu_reach_covers(r, &a, &b));
	tcmu_reach_free(r);
	snprintf(path, sizeof(path), "rm -rf %s/" IQN "/tpgt_1/lun/lun_3 %s/"
	    IQN "/tpgt_1/acls/" INI2, tcmu_paths.configfs,
	    tcmu_paths.configfs);
	ck_assert_int_eq(system(path), 0);
	r = load();
	ck_assert(tcmu_reach_covers(r, &a, &b));
	tcmu_reach_free(r);

	/*
	 * Unreadable entries, made so even for root: a directory where a
	 * file belongs (EISDIR), a file where a directory belongs (ENOTDIR).
	 */
	/* generate_node_acls unreadable: demo mode assumed */
	snprintf(path, sizeof(path), "%s/" IQN "/tpgt_1/attrib/"
	    "generate_node_acls", tcmu_paths.configfs);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	r = load();
	/* INI1: a, b; any initiator: a, b, z */
	ck_assert_uint_eq(tcmu_reach_count(r), 5);
	ck_assert(!tcmu_reach_covers(r, &a, &z));
	tcmu_reach_free(r);
	ck_assert_int_eq(rmdir(path), 0);
	wfile("0\n", "%s", path);

	/* acls/ unreadable: unknown initiators, nothing exported covered */
	snprintf(path, sizeof(path), "rm -rf %s/" IQN "/tpgt_1/acls",
	    tcmu_paths.configfs);
	ck_assert_int_eq(system(path), 0);
	wfile("", "%s/" IQN "/tpgt_1/acls", tcmu_paths.configfs);
	r = load();
	ck_assert(!tcmu_reach_covers(r, &a, &b));
	ck_assert(!tcmu_reach_covers(r, &b, &a));
	ck_assert(tcmu_reach_covers(r, &a, &a));
	tcmu_reach_free(r);

	/* lun/ unreadable: incomplete snapshot, nothing covered */
	snprintf(path, sizeof(path), "rm -rf %s/" IQN "/tpgt_1/lun",
	    tcmu_paths.configfs);
	ck_assert_int_eq(system(path), 0);
	wfile("", "%s/" IQN "/tpgt_1/lun", tcmu_paths.configfs);
	r = load();
	ck_assert(!tcmu_reach_covers(r, &b, &z));
	tcmu_reach_free(r);
}
END_TEST

START_TEST(reach_no_configfs)
{
	struct tcmu_reach *r;

	snprintf(tcmu_paths.configfs, sizeof(tcmu_paths.configfs),
	    "%s/absent", root);
	ck_assert_int_eq(tcmu_reach_load(&r), -ENOENT);
	ck_assert_ptr_null(r);
}
END_TEST

/* --- netlink event parsing --- */

#define FAM	0x1d

static struct nl_msg *
ev_msg(uint8_t cmd, const char *name, uint32_t minor, uint32_t id)
{
	struct nl_msg *m = nlmsg_alloc();

	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_nonnull(genlmsg_put(m, 0, 0, FAM, 0, 0, cmd,
	    TCMU_NL_VERSION));
	if (name)
		ck_assert_int_eq(nla_put_string(m, TCMU_ATTR_DEVICE, name), 0);
	ck_assert_int_eq(nla_put_u32(m, TCMU_ATTR_MINOR, minor), 0);
	ck_assert_int_eq(nla_put_u32(m, TCMU_ATTR_DEVICE_ID, id), 0);
	return m;
}

START_TEST(nl_parse_events)
{
	struct tcmu_devinfo d;
	enum tcmu_nl_event ev;
	unsigned int rc;
	struct nl_msg *m;
	bool ours;

	m = ev_msg(TCMU_CMD_ADDED_DEVICE, "tcm-user/1/dev0/tpcd/file=/x", 3,
	    17);
	ck_assert_int_eq(tcmu_nl_parse(nlmsg_hdr(m), FAM, &ev, &d, &rc,
	    &ours), 0);
	ck_assert_int_eq(ev, TCMU_NL_ADDED);
	ck_assert(ours);
	ck_assert_uint_eq(d.minor, 3);
	ck_assert_uint_eq(d.dev_id, 17);
	ck_assert_str_eq(d.cfg, "file=/x");
	ck_assert_int_eq(d.wce, -1);
	ck_assert_int_eq(tcmu_nl_parse(nlmsg_hdr(m), FAM + 1, &ev, &d, &rc,
	    &ours), -EINVAL);
	nlmsg_free(m);

	m = ev_msg(TCMU_CMD_REMOVED_DEVICE, "tcm-user/1/q/qcow/x", 4, 18);
	ck_assert_int_eq(tcmu_nl_parse(nlmsg_hdr(m), FAM, &ev, &d, &rc,
	    &ours), 0);
	ck_assert_int_eq(ev, TCMU_NL_REMOVED);
	ck_assert(!ours);
	nlmsg_free(m);

	/* reconfig of the config string (with the writer's newline) */
	m = ev_msg(TCMU_CMD_RECONFIG_DEVICE, "tcm-user/1/dev0/tpcd/file=/x",
	    3, 17);
	ck_assert_int_eq(nla_put_string(m, TCMU_ATTR_DEV_CFG,
	    "tpcd/file=/y\n"), 0);
	ck_assert_int_eq(tcmu_nl_parse(nlmsg_hdr(m), FAM, &ev, &d, &rc,
	    &ours), 0);
	ck_assert_int_eq(ev, TCMU_NL_RECONFIG);
	ck_assert_uint_eq(rc, TCMU_RECONF_CFG);
	ck_assert_str_eq(d.cfg, "file=/y");
	ck_assert(ours);
	nlmsg_free(m);

	m = ev_msg(TCMU_CMD_RECONFIG_DEVICE, "tcm-user/1/dev0/tpcd/file=/x",
	    3, 17);
	ck_assert_int_eq(nla_put_u64(m, TCMU_ATTR_DEV_SIZE, 1ull << 33), 0);
	ck_assert_int_eq(nla_put_u8(m, TCMU_ATTR_WRITECACHE, 1), 0);
	ck_assert_int_eq(tcmu_nl_parse(nlmsg_hdr(m), FAM, &ev, &d, &rc,
	    &ours), 0);
	ck_assert_uint_eq(rc, TCMU_RECONF_SIZE | TCMU_RECONF_WCE);
	ck_assert_uint_eq(d.size, 1ull << 33);
	ck_assert_int_eq(d.wce, 1);
	nlmsg_free(m);

	/* malformed: no device, short minor, unterminated name, other cmd */
	m = ev_msg(TCMU_CMD_ADDED_DEVICE, NULL, 1, 1);
	ck_assert_int_eq(tcmu_nl_parse(nlmsg_hdr(m), FAM, &ev, &d, &rc,
	    &ours), -EINVAL);
	nlmsg_free(m);
	m = nlmsg_alloc();
	genlmsg_put(m, 0, 0, FAM, 0, 0, TCMU_CMD_ADDED_DEVICE, 2);
	nla_put_string(m, TCMU_ATTR_DEVICE, "tcm-user/1/d/tpcd/x");
	nla_put_u16(m, TCMU_ATTR_MINOR, 1);
	ck_assert_int_eq(tcmu_nl_parse(nlmsg_hdr(m), FAM, &ev, &d, &rc,
	    &ours), -EINVAL);
	nlmsg_free(m);
	m = nlmsg_alloc();
	genlmsg_put(m, 0, 0, FAM, 0, 0, TCMU_CMD_ADDED_DEVICE, 2);
	nla_put(m, TCMU_ATTR_DEVICE, 6, "tcm-us");
	ck_assert_int_eq(tcmu_nl_parse(nlmsg_hdr(m), FAM, &ev, &d, &rc,
	    &ours), -EINVAL);
	nlmsg_free(m);
	m = ev_msg(TCMU_CMD_ADDED_DEVICE_DONE, "tcm-user/1/d/tpcd/x", 1, 1);
	ck_assert_int_eq(tcmu_nl_parse(nlmsg_hdr(m), FAM, &ev, &d, &rc,
	    &ours), -ENOENT);
	nlmsg_free(m);
	/* truncated header */
	m = nlmsg_alloc();
	genlmsg_put(m, 0, 0, FAM, 0, 0, TCMU_CMD_ADDED_DEVICE, 2);
	nlmsg_hdr(m)->nlmsg_len = NLMSG_HDRLEN + 1;
	ck_assert_int_eq(tcmu_nl_parse(nlmsg_hdr(m), FAM, &ev, &d, &rc,
	    &ours), -EINVAL);
	nlmsg_free(m);
}
END_TEST

static Suite *
tcmu_cfs_suite(void)
{
	Suite *s = suite_create("tcmu_cfs");
	TCase *tc;

	tc = tcase_create("pure");
	tcase_add_test(tc, name_parse_ok);
	tcase_add_test(tc, name_parse_bad);
	tcase_add_test(tc, naa_lio);
	tcase_add_test(tc, covers_pure);
	tcase_add_test(tc, nl_parse_events);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, scan_devices);
	tcase_add_test(tc, ident_read);
	tcase_add_test(tc, action_write);
	tcase_add_test(tc, reach_demo_mode);
	tcase_add_test(tc, reach_acls_partial);
	tcase_add_test(tc, reach_two_tpgs_two_fabrics);
	tcase_add_test(tc, reach_kernel_only_tpg);
	tcase_add_test(tc, reach_dangling_and_unreadable);
	tcase_add_test(tc, reach_no_configfs);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(tcmu_cfs_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
