/*
 * tcmu_int.h - the parts of the TCMU front end and how they talk.
 *
 * LIO's target_core_user passes every CDB of a "user:" backstore to
 * userspace through a uio device: one shared mapping holds the mailbox,
 * the command ring and the data area (<linux/target_core_user.h>).  tpcd
 * serves the devices whose config string begins with "tpcd/":
 *
 *   tcmu.c        start/stop, device registry, config string -> backstore,
 *                 identity, the per-device nexus and its LUN map (copy
 *                 scope), reload.
 *   tcmu_ring.c   pure ring logic on a mapped region: fetch entries
 *                 (bounds-checked), write completions, PAD/wrap.
 *   tcmu_dev.c    one attached device: uio fd + mmap on one loop, ring
 *                 entries -> struct scsi_cmd -> engine -> completion.
 *   tcmu_nl.c     the "TCM-USER" generic netlink family (libnl-genl):
 *                 added/removed/reconfig events and their replies.
 *   tcmu_cfs.c    configfs and sysfs: existing devices, identity (wwn),
 *                 actions (block_dev 1/0, reset_ring), and the
 *                 reachability snapshot used for copy scope.
 *
 * Every function returns 0 or -errno unless it says otherwise.  Paths
 * are taken relative to a root (tcmu_paths) so unit tests can run the
 * configfs/sysfs readers on a tree of plain files.
 */
#ifndef TPCD_TCMU_INT_H
#define TPCD_TCMU_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;

#define TCMU_NAME_MAX	256
#define TCMU_CFG_MAX	1024

/* Roots of the kernel trees we read; defaults "/sys/kernel/config/target"
 * and "/sys/class/uio".  Tests point them elsewhere. */
struct tcmu_paths {
	char	 configfs[256];		/* .../target */
	char	 uio_class[256];	/* /sys/class/uio */
	char	 dev_dir[64];		/* "/dev": uio nodes */
};
extern struct tcmu_paths tcmu_paths;

/* One LIO user: device as the kernel names it.  uio name is
 * "tcm-user/<hba_id>/<dev>/<subtype>/<cfg>"; its configfs directory is
 * <configfs>/core/user_<hba_id>/<dev>. */
struct tcmu_devinfo {
	uint32_t hba_id;
	char	 dev[TCMU_NAME_MAX];	/* configfs device name */
	char	 subtype[64];		/* "tpcd" for ours */
	char	 cfg[TCMU_CFG_MAX];	/* after "<subtype>/" */
	uint32_t minor;			/* /dev/uio<minor> */
	uint32_t dev_id;		/* TCMU_ATTR_DEVICE_ID; 0 unknown */
	uint64_t size;			/* bytes; 0 unknown */
	int	 wce;			/* -1 unknown, 0, 1 */
};

/* Split a uio name "tcm-user/1/dev0/tpcd/file=/img" into info (hba_id,
 * dev, subtype, cfg).  -EINVAL when it is not a tcm-user name. */
int	tcmu_name_parse(const char *uio_name, struct tcmu_devinfo *info);

/* Would a device with config string "tpcd/<cfg>" attach?  Parses cfg as
 * tcmu.c does and stat()s the path (or looks the storage object up);
 * opens nothing, so it may run on a loop.  0, or -errno with a message in
 * why (for the D-Bus CheckConfig, tcmu_dbus.c). */
int	tcmu_cfg_check(const char *cfg, char *why, size_t len);

/* --- tcmu_cfs.c --- */

/* Every user: device with a uio node whose subtype is `subtype` (NULL:
 * all), from <uio_class>/uio<N>/name.  *out is malloc'd. */
int	tcmu_cfs_scan(const char *subtype, struct tcmu_devinfo **out,
	    unsigned int *n);

/* What LIO shows for the device (configfs wwn/ and attrib/). */
struct tcmu_ident {
	char	 serial[128];		/* wwn/vpd_unit_serial value */
	char	 vendor[9];		/* wwn/vendor_id ("LIO-ORG") */
	char	 product[17];		/* wwn/product_id */
	char	 revision[5];		/* wwn/revision */
	uint32_t company_id;		/* wwn/company_id, default 0x001405 */
	uint32_t block_size;		/* attrib/hw_block_size */
	uint32_t max_sectors;		/* attrib/hw_max_sectors */
	uint64_t size;			/* dev_size from info, 0 unknown */
};
int	tcmu_cfs_ident(const struct tcmu_devinfo *, struct tcmu_ident *);

/* LIO's NAA 6h designator for a unit serial and company id: the same 16
 * bytes LIO puts in VPD 83h (so E4h descriptors agree). */
void	tcmu_lio_naa(const char *serial, uint32_t company_id,
	    uint8_t naa[16]);

/* Write val to <dev dir>/action/<action> ("block_dev" 1 or 0, "reset_ring"
 * 1). */
int	tcmu_cfs_action(const struct tcmu_devinfo *, const char *action,
	    const char *val);

/*
 * Copy scope.  A snapshot of who can reach which user: device: for every
 * fabric TPG (<configfs>/<fabric>/<wwn>/tpgt_<n>) the LUNs it exports
 * (lun/lun_<m> symlinks to core/user_<h>/<dev>) and who may use them:
 * every initiator (generate_node_acls demo mode) or the ACLs
 * (acls/<initiator>/lun_<k> -> ../../../lun/lun_<m>).
 * tcmu_reach_covers(r, a, b): every (TPG, initiator) that can reach
 * device a can also reach device b.  A device nothing exports is covered
 * trivially (nobody can send it a command through LIO).
 */
struct tcmu_reach;
int	tcmu_reach_load(struct tcmu_reach **out);
bool	tcmu_reach_covers(const struct tcmu_reach *,
	    const struct tcmu_devinfo *a, const struct tcmu_devinfo *b);
void	tcmu_reach_free(struct tcmu_reach *);

/* --- tcmu_nl.c --- */

enum tcmu_nl_event {
	TCMU_NL_ADDED,
	TCMU_NL_REMOVED,
	TCMU_NL_RECONFIG,
};

/* Reconfig: what changed (info carries the new value). */
#define TCMU_RECONF_CFG		0x1
#define TCMU_RECONF_SIZE	0x2
#define TCMU_RECONF_WCE		0x4

/* Called on the loop the socket lives on.  Return a status (0 or -errno)
 * to reply at once, or TCMU_NL_LATER and call tcmu_nl_reply() later
 * (device removal waits for commands in flight). */
#define TCMU_NL_LATER	1
typedef int (*tcmu_nl_cb)(void *arg, enum tcmu_nl_event,
	    const struct tcmu_devinfo *, unsigned int reconf);

struct tcmu_nl;
/* Open the TCM-USER family, join its "config" group, tell the kernel we
 * reply (SET_FEATURES), watch the socket on loop.  -ENOENT: no such
 * family (target_core_user not loaded). */
int	tcmu_nl_open(struct loop *, tcmu_nl_cb, void *arg,
	    struct tcmu_nl **out);
int	tcmu_nl_reply(struct tcmu_nl *, enum tcmu_nl_event,
	    const struct tcmu_devinfo *, int status);
/* Withdraw the reply feature (so the kernel stops waiting for us) and
 * close. */
void	tcmu_nl_close(struct tcmu_nl *);

#endif
