/*
 * tcmu.c - the TCMU front end's glue: start/reload/stop, the device
 * registry, config string -> backstore, identity, the per-device nexus
 * and its LUN map (copy scope).  docs/tcmu.md has the user's view.
 *
 * Threads: the registry changes only on loop 0 (netlink events, start,
 * reload) under tcmu_lock; device loops read it under the lock to build
 * LUN maps.  Everything that may block (configfs/sysfs reads, open, mmap,
 * backstore open, the reach snapshot) runs on the pool.
 *
 * Attach: pool (ident, uio open/map/reset, backstore, LU, nexus), then
 * loop 0 (registry, netlink reply, scope), then the device's loop (watch
 * the fd).  Detach: out of the registry at once (scope rebuilt), then the
 * device's loop quiesces it, then loop 0 closes it, frees it and replies.
 *
 * Copy scope: a device's nexus maps its own LU at LUN 0 and, at
 * lun_id = its registry number, every other device d2 such that every
 * LIO (TPG, initiator) that can reach it can also reach d2
 * (tcmu_reach_covers(self, d2)).  XCOPY / ODX resolve copy targets
 * through that map, so an unreachable LU is "not found" (COPY ABORTED).
 * A copy command runs on maps from a snapshot whose walk began after it
 * arrived (copy commands of one device share walks: "The copy gate"
 * below); the maps are also rebuilt after netlink events.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backstore.h"
#include "conf.h"
#include "log.h"
#include "lun.h"
#include "target.h"
#include "tcmu.h"
#include "tcmu_dbus.h"
#include "tcmu_dev.h"
#include "tcmu_int.h"
#include "util.h"

#define TCMU_SUBTYPE	"tpcd"
#define TCMU_NEXUS_INI	"tcmu"
#define TCMU_NEXUS_TARGET "tcm-user"

static pthread_mutex_t tcmu_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tcmu_dev *tcmu_devs;	/* attached, guarded by tcmu_lock */
static struct tcmu_nl *tcmu_nl;
static bool tcmu_running;
static uint64_t tcmu_next_lun = 1;
static unsigned int tcmu_pending;	/* attaches/detaches under way */
static unsigned int tcmu_scope_rl;

static void	tcmu_scope_refresh(void);

/* ---------------- config string ---------------- */

/*
 * cfg := spec *( ";" option )
 * spec := "file=" path | "block=" dev | "nvme=" dev | storage-object-name
 * option := "ro=" ("0" | "1") | "thin=" ("0" | "1")
 */
struct tcmu_spec {
	char		 plugin[16];	/* "" for a storage object */
	char		 arg[TCMU_CFG_MAX];
	bool		 ro;
	bool		 thin;
};

static int __attribute__((format(printf, 3, 4)))
tcmu_spec_bad(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && len != 0) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Parse cfg into *sp; on -EINVAL why (may be NULL) says what is wrong. */
static int
tcmu_spec_parse(const char *cfg, struct tcmu_spec *sp, char *why,
    size_t whylen)
{
	static const char *const plugins[][2] = {
		{ "file=", "fileio" }, { "block=", "block" },
		{ "nvme=", "nvme" },
	};
	char buf[TCMU_CFG_MAX], *opt, *save = NULL;
	size_t i, n;

	memset(sp, 0, sizeof(*sp));
	sp->thin = true;
	if (strlen(cfg) >= sizeof(buf))
		return tcmu_spec_bad(why, whylen, "config string too long");
	strlcpy_t(buf, cfg, sizeof(buf));
	opt = strchr(buf, ';');
	if (opt != NULL)
		*opt++ = '\0';
	for (i = 0; i < ARRAY_SIZE(plugins); i++) {
		n = strlen(plugins[i][0]);
		if (strncmp(buf, plugins[i][0], n) == 0) {
			strlcpy_t(sp->plugin, plugins[i][1],
			    sizeof(sp->plugin));
			strlcpy_t(sp->arg, buf + n, sizeof(sp->arg));
			break;
		}
	}
	if (i == ARRAY_SIZE(plugins))
		strlcpy_t(sp->arg, buf, sizeof(sp->arg));
	if (sp->arg[0] == '\0')
		return tcmu_spec_bad(why, whylen, "empty %s", buf[0] != '\0' ?
		    "path" : "config string (file=PATH, block=DEV, nvme=DEV "
		    "or a storage object name)");
	if (sp->plugin[0] == '\0' && strchr(buf, '=') != NULL)
		return tcmu_spec_bad(why, whylen, "\"%.200s\" is neither "
		    "file=PATH, block=DEV, nvme=DEV nor a storage object name",
		    buf);
	for (opt = opt != NULL ? strtok_r(opt, ";", &save) : NULL;
	    opt != NULL; opt = strtok_r(NULL, ";", &save)) {
		if (strcmp(opt, "ro=1") == 0)
			sp->ro = true;
		else if (strcmp(opt, "ro=0") == 0)
			sp->ro = false;
		else if (strcmp(opt, "thin=1") == 0)
			sp->thin = true;
		else if (strcmp(opt, "thin=0") == 0)
			sp->thin = false;
		else
			return tcmu_spec_bad(why, whylen, "unknown option "
			    "\"%.200s\" (ro=0|1, thin=0|1)", opt);
	}
	return 0;
}

/*
 * What the D-Bus CheckConfig answers (targetcli, before it creates the
 * device): would a device with config string "tpcd/<cfg>" attach?  Parses
 * and stat()s only; opens nothing.  file= must be an existing regular
 * file (configfs users may let tpcd create it, targetcli users create it
 * first), block= a block device, nvme= a block node or an NVMe generic
 * node /dev/ngXnY (as bs_nvme accepts), a name a storage object of the
 * running configuration.
 */
int
tcmu_cfg_check(const char *cfg, char *why, size_t len)
{
	struct tcmu_spec sp;
	struct backstore *bs;
	struct stat st;
	const char *base;
	int rc;

	rc = tcmu_spec_parse(cfg, &sp, why, len);
	if (rc != 0)
		return rc;
	if (sp.plugin[0] == '\0') {
		bs = target_backstore_get(sp.arg);
		if (bs == NULL)
			return tcmu_spec_bad(why, len, "no storage object "
			    "\"%.200s\" in tpcd's configuration", sp.arg);
		backstore_put(bs);
		return 0;
	}
	if (stat(sp.arg, &st) != 0) {
		rc = -errno;
		snprintf(why, len, "%.300s: %s", sp.arg, strerror(-rc));
		return rc;
	}
	if (strcmp(sp.plugin, "fileio") == 0) {
		if (S_ISREG(st.st_mode))
			return 0;
		snprintf(why, len, "%.300s: not a regular file%s", sp.arg,
		    S_ISDIR(st.st_mode) ? " (a directory)" :
		    S_ISBLK(st.st_mode) ? " (a block device: use block=)" : "");
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	}
	if (S_ISBLK(st.st_mode))
		return 0;
	base = strrchr(sp.arg, '/');
	base = base != NULL ? base + 1 : sp.arg;
	if (strcmp(sp.plugin, "nvme") == 0 && S_ISCHR(st.st_mode) &&
	    strncmp(base, "ng", 2) == 0)
		return 0;
	snprintf(why, len, "%.300s: not a block device%s", sp.arg,
	    strcmp(sp.plugin, "nvme") == 0 ?
	    " nor an NVMe generic namespace node (/dev/ngXnY)" :
	    S_ISREG(st.st_mode) ? " (a regular file: use file=)" : "");
	return -ENOTBLK;
}

/* ---------------- attach (pool thread) ---------------- */

static int
tcmu_open_backstore(struct tcmu_dev *dev, const struct tcmu_spec *sp,
    uint64_t size)
{
	struct conf_storage cs;
	int err = 0;

	if (sp->plugin[0] == '\0') {
		dev->bs = target_backstore_get(sp->arg);
		strlcpy_t(dev->so_name, sp->arg, sizeof(dev->so_name));
		if (dev->bs == NULL) {
			log_err("tcmu: %s: no storage object \"%s\" in tpcd's "
			    "configuration", dev->info.dev, sp->arg);
			return -ENOENT;
		}
		return 0;
	}
	memset(&cs, 0, sizeof(cs));
	cs.plugin = (char *)(uintptr_t)sp->plugin;
	cs.name = dev->info.dev;
	cs.dev = (char *)(uintptr_t)sp->arg;
	/* fileio: created sparse at LIO's size if missing */
	cs.size = strcmp(sp->plugin, "fileio") == 0 ? size : 0;
	cs.block_size = dev->ident.block_size;
	cs.write_back = dev->info.wce == 1;
	cs.thin = sp->thin;
	cs.read_only = sp->ro;
	dev->bs = backstore_open(&cs, &err);
	if (dev->bs == NULL) {
		log_err("tcmu: %s: cannot open %s %s: %s", dev->info.dev,
		    sp->plugin, sp->arg, strerror(err < 0 ? -err : EIO));
		return err < 0 ? err : -EIO;
	}
	return 0;
}

/* What LIO shows for the device as the LU's identity. */
static void
tcmu_lun_ident(const struct tcmu_ident *ti, struct lun_ident *id)
{
	memset(id, 0, sizeof(*id));
	/* Without a unit serial LIO shows no NAA at all (targetcli always
	 * writes one): then the identity is derived from the device's
	 * configfs name, unique and stable, rather than from "" (which
	 * would give every such device the same NAA). */
	if (ti->serial[0] != '\0')
		tcmu_lio_naa(ti->serial, ti->company_id, id->naa);
	strlcpy_t(id->serial, ti->serial, sizeof(id->serial));
	strlcpy_t(id->vendor, ti->vendor, sizeof(id->vendor));
	strlcpy_t(id->product, ti->product, sizeof(id->product));
	strlcpy_t(id->revision, ti->revision, sizeof(id->revision));
}

static int
tcmu_make_lun(struct tcmu_dev *dev, const struct tcmu_spec *sp)
{
	struct conf_storage cs;
	struct lun_ident id;
	struct nexus_lun *map;
	char name[TCMU_NAME_MAX + 32], tgt[TCMU_NAME_MAX + 32];
	uint64_t max;

	tcmu_lun_ident(&dev->ident, &id);
	snprintf(name, sizeof(name), "tcmu:user_%u/%s", dev->info.hba_id,
	    dev->info.dev);
	memset(&cs, 0, sizeof(cs));
	cs.name = name;
	cs.plugin = (char *)"user";
	cs.wwn = dev->ident.serial[0] != '\0' ? dev->ident.serial : name;
	cs.thin = sp->plugin[0] == '\0' ?
	    (dev->bs->caps & BS_CAP_UNMAP) != 0 : sp->thin;
	cs.read_only = sp->ro;
	cs.write_back = dev->info.wce == 1 || dev->bs->write_back;
	dev->lun = lun_create_ident(&cs, dev->bs, &id);
	if (dev->lun == NULL)
		return -ENOMEM;
	/* Block Limits: LIO's hw_max_sectors and what the data area holds */
	max = tcmu_dev_max_xfer(dev);
	if (dev->ident.max_sectors != 0 &&
	    (uint64_t)dev->ident.max_sectors * dev->ident.block_size < max)
		max = (uint64_t)dev->ident.max_sectors *
		    dev->ident.block_size;
	if (max > UINT32_MAX)
		max = UINT32_MAX;
	max -= max % dev->ident.block_size;
	dev->lun->max_xfer_bytes = (uint32_t)(max != 0 ? max :
	    dev->ident.block_size);

	/*
	 * Every TCMU nexus names the same target: ROD tokens are used only
	 * within the target that issued them (rod_registry.c), and a token
	 * populated through one tpcd-backed LIO LUN must be usable through
	 * another.  Who may use it is then decided, as for copies, by the
	 * nexus's LUN map, i.e. the copy scope rule (see the top of this file).
	 * No iSCSI name can be "tcm-user", so tokens of tpcd's own iSCSI
	 * targets never mix with these.
	 */
	snprintf(tgt, sizeof(tgt), "%s", TCMU_NEXUS_TARGET);
	dev->nexus = nexus_create(TCMU_NEXUS_INI, NULL, tgt, 1);
	map = xcalloc(1, sizeof(*map));
	if (dev->nexus == NULL || map == NULL) {
		free(map);
		return -ENOMEM;
	}
	dev->nexus->no_ua = true;	/* LIO keeps the UAs */
	map[0].lun_id = 0;
	map[0].lun = dev->lun;
	lun_get(dev->lun);
	nexus_luns_replace(dev->nexus, map, 1);
	return 0;
}

static void
tcmu_attach_work(void *arg)
{
	struct tcmu_dev *dev = arg;
	struct tcmu_spec sp;
	char why[256];
	uint64_t size;
	int rc;

	rc = tcmu_spec_parse(dev->info.cfg, &sp, why, sizeof(why));
	if (rc != 0) {
		log_err("tcmu: %s: bad config string \"%s/%s\": %s "
		    "(docs/tcmu.md)", dev->info.dev, dev->info.subtype,
		    dev->info.cfg, why);
		goto out;
	}
	rc = tcmu_cfs_ident(&dev->info, &dev->ident);
	if (rc != 0) {
		log_err("tcmu: %s: cannot read its configfs attributes: %s",
		    dev->info.dev, strerror(-rc));
		goto out;
	}
	if (dev->ident.block_size == 0)
		dev->ident.block_size = 512;
	size = dev->info.size != 0 ? dev->info.size : dev->ident.size;
	rc = tcmu_dev_open(dev);
	if (rc != 0) {
		log_err("tcmu: %s: cannot map /dev/uio%u: %s", dev->info.dev,
		    dev->info.minor, strerror(-rc));
		goto out;
	}
	rc = tcmu_open_backstore(dev, &sp, size);
	if (rc != 0)
		goto out;
	/* LIO answers nothing about the medium itself, but initiators see
	 * its dev_size and hw_block_size elsewhere (and LIO sizes its own
	 * commands with them): both must agree with the backstore. */
	if (dev->bs->block_size != dev->ident.block_size ||
	    (size != 0 && dev->bs->size != size)) {
		log_err("tcmu: %s: LIO has %llu bytes in %u-byte blocks, the "
		    "backstore %llu in %u-byte blocks; refusing (set dev_size "
		    "and hw_block_size to match)", dev->info.dev,
		    (unsigned long long)size, dev->ident.block_size,
		    (unsigned long long)dev->bs->size, dev->bs->block_size);
		rc = -EINVAL;
		goto out;
	}
	rc = tcmu_make_lun(dev, &sp);
out:
	dev->attach_rc = rc;
}

/* ---------------- registry ---------------- */

static void	tcmu_scope_stats_log(const struct tcmu_dev *);

static void
tcmu_dev_free(struct tcmu_dev *dev)
{
	tcmu_scope_stats_log(dev);
	free(dev->gate_q);
	tcmu_dev_close(dev);
	if (dev->nexus != NULL)
		nexus_destroy(dev->nexus);
	lun_put(dev->lun);
	if (dev->bs != NULL)
		backstore_put(dev->bs);
	if (dev->loop != NULL)
		loop_load_add(dev->loop, -1);
	free(dev);
}

static struct tcmu_dev *
tcmu_find(const struct tcmu_devinfo *info)
{
	struct tcmu_dev *d;

	for (d = tcmu_devs; d != NULL; d = d->next)
		if (d->info.hba_id == info->hba_id &&
		    strcmp(d->info.dev, info->dev) == 0)
			return d;
	return NULL;
}

static void
tcmu_unlink(struct tcmu_dev *dev)
{
	struct tcmu_dev **pp;

	pthread_mutex_lock(&tcmu_lock);
	for (pp = &tcmu_devs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == dev) {
			*pp = dev->next;
			break;
		}
	}
	pthread_mutex_unlock(&tcmu_lock);
	dev->next = NULL;
}

static void
tcmu_start_on_loop(void *arg)
{
	struct tcmu_dev *dev = arg;
	int rc;

	rc = tcmu_dev_start(dev);
	if (rc != 0)
		log_err("tcmu: %s: cannot watch /dev/uio%u: %s",
		    dev->info.dev, dev->info.minor, strerror(-rc));
}

static void
tcmu_attach_done(void *arg)
{
	struct tcmu_dev *dev = arg;
	int rc = dev->attach_rc;

	tcmu_pending--;
	if (rc == 0 && (!tcmu_running || tcmu_find(&dev->info) != NULL))
		rc = -EEXIST;
	if (dev->reply && tcmu_nl != NULL)
		tcmu_nl_reply(tcmu_nl, TCMU_NL_ADDED, &dev->info, rc);
	if (rc != 0) {
		tcmu_dev_free(dev);
		return;
	}
	dev->lun_id = tcmu_next_lun++;
	pthread_mutex_lock(&tcmu_lock);
	/* a serial already there is final (LIO refuses to change it while
	 * exported); without one it may still come (tcmu_ident_gate) */
	dev->settled = dev->ident.serial[0] != '\0';
	dev->next = tcmu_devs;
	tcmu_devs = dev;
	pthread_mutex_unlock(&tcmu_lock);
	log_info("tcmu: serving user_%u/%s (/dev/uio%u, %s/%s, %llu bytes, "
	    "serial %s)", dev->info.hba_id, dev->info.dev, dev->info.minor,
	    dev->info.subtype, dev->info.cfg,
	    (unsigned long long)dev->bs->size, dev->ident.serial);
	tcmu_scope_refresh();
	loop_post(dev->loop, tcmu_start_on_loop, dev);
}

static void tcmu_copy_gate(struct tcmu_dev *, struct tcmu_cmd *);
static void tcmu_ident_gate(struct tcmu_dev *);

/* Loop 0: attach one device (reply: answer the netlink ADDED event). */
static int
tcmu_attach(const struct tcmu_devinfo *info, bool reply)
{
	struct tcmu_dev *dev;
	int rc;

	if (tcmu_find(info) != NULL)
		return -EEXIST;
	dev = xcalloc(1, sizeof(*dev));
	if (dev == NULL)
		return -ENOMEM;
	dev->info = *info;
	dev->fd = -1;
	dev->reply = reply;
	dev->copy_gate = tcmu_copy_gate;
	dev->ident_gate = tcmu_ident_gate;
	dev->loop = loop_least_loaded();
	loop_load_add(dev->loop, 1);
	tcmu_pending++;
	rc = loop_pool_run(loop_get(0), tcmu_attach_work, tcmu_attach_done,
	    dev);
	if (rc != 0) {
		tcmu_pending--;
		tcmu_dev_free(dev);
	}
	return rc;
}

struct tcmu_detach {
	struct tcmu_dev	*dev;
	bool		 reply;
};

static void
tcmu_detach_final(void *arg)
{
	struct tcmu_detach *d = arg;

	tcmu_pending--;
	if (d->reply && tcmu_nl != NULL)
		tcmu_nl_reply(tcmu_nl, TCMU_NL_REMOVED, &d->dev->info, 0);
	log_info("tcmu: detached user_%u/%s", d->dev->info.hba_id,
	    d->dev->info.dev);
	tcmu_dev_free(d->dev);
	free(d);
}

static void
tcmu_detach_drained(struct tcmu_dev *dev, void *arg)
{
	(void)dev;
	/* close on loop 0, which owns the registry and netlink */
	loop_post(loop_get(0), tcmu_detach_final, arg);
}

static void
tcmu_detach_on_loop(void *arg)
{
	struct tcmu_detach *d = arg;

	tcmu_dev_quiesce(d->dev, tcmu_detach_drained, d);
}

static int
tcmu_detach(struct tcmu_dev *dev, bool reply)
{
	struct tcmu_detach *d;

	d = xcalloc(1, sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	d->dev = dev;
	d->reply = reply;
	tcmu_unlink(dev);
	tcmu_scope_refresh();
	tcmu_pending++;
	if (loop_post(dev->loop, tcmu_detach_on_loop, d) != 0) {
		tcmu_pending--;
		free(d);
		return -ENOMEM;
	}
	return 0;
}

/* ---------------- copy scope ---------------- */

/*
 * Snapshots are numbered in the order their configfs walk begins
 * (tcmu_scope_seq, bumped on the pool thread just before the walk), and
 * the maps only ever move to a newer one (tcmu_scope_applied, under
 * tcmu_lock): a walk that began earlier but ends later is dropped.
 *
 * The copy gate.  A copy command notes the number of the last walk begun
 * when it arrives (arr); a snapshot numbered above arr began after the
 * command arrived, so it is fresh for it: the command runs once the maps
 * come from such a snapshot (tcmu_scope_applied > arr).  Per device, on
 * dev->loop: a command that finds no walk under way for its device
 * starts one; commands that arrive while one is under way wait in
 * dev->gate_q, are served by it when it began after they arrived (they
 * came while it was queued for the pool) and otherwise by the next one,
 * which starts as soon as this one ends and serves them all together.
 * So with N copy commands in flight a device walks configfs about once
 * per command round trip, not N times, and no command ever runs on a
 * view of configfs older than its arrival.  Waiting commands are in
 * flight (tcmu_dev.c): quiesce aborts them and waits for their walk; they
 * then end with TASK ABORTED.
 */
static _Atomic uint64_t tcmu_scope_seq;	/* walks begun */
static uint64_t tcmu_scope_applied;	/* the maps' snapshot; tcmu_lock */

/* d's LUN map from reach, or NULL (no memory).  *n entries. */
static struct nexus_lun *
tcmu_scope_map(struct tcmu_dev *d, const struct tcmu_reach *reach,
    unsigned int cnt, unsigned int *n)
{
	struct nexus_lun *map;
	struct tcmu_dev *o;

	map = xcalloc(cnt, sizeof(*map));
	if (map == NULL)
		return NULL;
	map[0].lun = d->lun;
	lun_get(d->lun);
	*n = 1;
	for (o = tcmu_devs; reach != NULL && o != NULL; o = o->next) {
		if (o == d || *n >= cnt || !o->settled ||
		    !tcmu_reach_covers(reach, &d->info, &o->info))
			continue;
		map[*n].lun_id = o->lun_id;
		map[*n].lun = o->lun;
		lun_get(o->lun);
		(*n)++;
	}
	return map;
}

/* Does the nexus map exactly these LUNs already? */
static bool
tcmu_scope_same(struct scsi_nexus *nx, const struct nexus_lun *map,
    unsigned int n)
{
	bool same;

	pthread_mutex_lock(&nx->lock);
	same = nx->n_luns == n;
	for (unsigned int i = 0; same && i < n; i++)
		same = nx->luns[i].lun_id == map[i].lun_id &&
		    nx->luns[i].lun == map[i].lun &&
		    nx->luns[i].write_protect == map[i].write_protect;
	pthread_mutex_unlock(&nx->lock);
	return same;
}

static void
tcmu_scope_map_free(struct nexus_lun *map, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		lun_put(map[i].lun);
	free(map);
}

/*
 * Rebuild every device's LUN map from snapshot seq (reach NULL: nothing
 * is known, so only each device itself; seq 0: not numbered, always
 * applied).  A snapshot older than the maps' is dropped; a map that would
 * not change is left alone.  Returns how many maps changed; *applied: the
 * maps' snapshot number now.
 */
static unsigned int
tcmu_scope_apply(const struct tcmu_reach *reach, uint64_t seq,
    uint64_t *applied)
{
	struct tcmu_dev *d;
	struct nexus_lun *map;
	unsigned int n, cnt = 0, changed = 0;

	pthread_mutex_lock(&tcmu_lock);
	if (seq != 0 && seq <= tcmu_scope_applied)
		goto out;
	if (seq != 0)
		tcmu_scope_applied = seq;
	for (d = tcmu_devs; d != NULL; d = d->next)
		cnt++;
	for (d = tcmu_devs; d != NULL; d = d->next) {
		map = tcmu_scope_map(d, reach, cnt, &n);
		if (map == NULL)
			continue;	/* keep the old map */
		if (tcmu_scope_same(d->nexus, map, n)) {
			tcmu_scope_map_free(map, n);
			continue;
		}
		nexus_luns_replace(d->nexus, map, n);
		changed++;
	}
out:
	if (applied != NULL)
		*applied = tcmu_scope_applied;
	pthread_mutex_unlock(&tcmu_lock);
	return changed;
}

struct tcmu_scope_job {
	struct tcmu_reach *reach;
	int		 rc;
	uint64_t	 seq;		/* tcmu_scope_seq when the walk began */
	struct tcmu_dev	*dev;		/* copy gate's device, or NULL */
	uint64_t	 t_sub, t_beg, t_end;
};

static void
tcmu_scope_work(void *arg)
{
	struct tcmu_scope_job *j = arg;

	j->t_beg = now_ns();
	j->seq = atomic_fetch_add(&tcmu_scope_seq, 1) + 1;
	j->rc = tcmu_reach_load(&j->reach);
	j->t_end = now_ns();
}

static void	tcmu_gate_done(struct tcmu_scope_job *, uint64_t t_back,
		    unsigned int changed, uint64_t applied);

static void
tcmu_scope_done(void *arg)
{
	struct tcmu_scope_job *j = arg;
	uint64_t t_back = now_ns(), applied;
	unsigned int changed;

	if (j->rc != 0) {
		if (log_ratelimited(&tcmu_scope_rl))
			log_warn("tcmu: cannot read LIO's TPGs and ACLs (%s): "
			    "no copies between TCMU LUs until it works",
			    strerror(-j->rc));
		j->reach = NULL;
	}
	changed = tcmu_scope_apply(j->reach, j->seq, &applied);
	if (j->reach != NULL)
		tcmu_reach_free(j->reach);
	if (j->dev != NULL)
		tcmu_gate_done(j, t_back, changed, applied);
	free(j);
}

/* Walk configfs on the pool and rebuild the maps (on loop l); dev: for
 * dev's copy gate. */
static int
tcmu_scope_start(struct loop *l, struct tcmu_dev *dev)
{
	struct tcmu_scope_job *j;
	int rc;

	j = xcalloc(1, sizeof(*j));
	if (j == NULL)
		return -ENOMEM;
	j->dev = dev;
	j->t_sub = now_ns();
	rc = loop_pool_run(l, tcmu_scope_work, tcmu_scope_done, j);
	if (rc != 0)
		free(j);
	return rc;
}

static void
tcmu_scope_refresh(void)
{
	if (tcmu_scope_start(loop_get(0), NULL) != 0)
		(void)tcmu_scope_apply(NULL, 0, NULL);
}

/* The copy gate's counters, once per device (at detach and exit). */
static void
tcmu_scope_stats_log(const struct tcmu_dev *dev)
{
	const struct tcmu_scope_stats *st = &dev->scope_stats;
	double loads = st->loads != 0 ? (double)st->loads : 1;

	if (st->cmds == 0)
		return;
	log_info("tcmu: %s: copy scope: %llu copy commands, %llu configfs "
	    "walks (%llu changed a map); per walk: %.2f ms on the pool, "
	    "%.2f ms pool hop, %.3f ms maps; gate per command: %.2f ms "
	    "average, %.2f ms max", dev->info.dev,
	    (unsigned long long)st->cmds, (unsigned long long)st->loads,
	    (unsigned long long)st->rebuilds,
	    (double)st->walk_ns / loads / 1e6, (double)st->hop_ns / loads / 1e6,
	    (double)st->apply_ns / loads / 1e6,
	    (double)st->wait_ns / (double)st->cmds / 1e6,
	    (double)st->wait_max_ns / 1e6);
}

/* Start dev's next walk for the commands waiting from gate_q[from] on;
 * when it cannot start they end BUSY (the initiator retries) rather than
 * run on an old view.  Each may complete at once and the last one may
 * let loop 0 free dev (detach): dev is not touched after it. */
static void
tcmu_gate_start(struct tcmu_dev *dev, unsigned int from)
{
	unsigned int i, n = dev->gate_n;

	if (tcmu_scope_start(dev->loop, dev) == 0) {
		dev->gate_busy = true;
		return;
	}
	if (log_ratelimited(&tcmu_scope_rl))
		log_warn("tcmu: %s: cannot refresh the copy scope: copy "
		    "commands end BUSY", dev->info.dev);
	dev->gate_n = from;
	for (i = n; i > from; i--)
		tcmu_dev_cmd_busy(dev->gate_q[i - 1].cmd);
}

/*
 * dev's walk ended (on dev->loop), the maps come from snapshot applied:
 * run the waiting commands that arrived before that snapshot began
 * (arr < applied: a prefix, dev->gate_q is in arrival order), start the
 * next walk for the others.  Running a command may complete it, and when
 * the device is being detached the last completion lets loop 0 free it:
 * dev is not touched after the last command ran.
 */
static void
tcmu_gate_done(struct tcmu_scope_job *j, uint64_t t_back,
    unsigned int changed, uint64_t applied)
{
	struct tcmu_dev *dev = j->dev;
	struct tcmu_scope_stats *st = &dev->scope_stats;
	struct tcmu_cmd *batch[16];
	unsigned int ready, m, i;
	uint64_t t = now_ns();

	for (ready = 0; ready < dev->gate_n; ready++)
		if (dev->gate_q[ready].arr >= applied)
			break;
	st->loads++;
	st->rebuilds += changed != 0;
	st->walk_ns += j->t_end - j->t_beg;
	st->hop_ns += (j->t_beg - j->t_sub) + (t_back - j->t_end);
	st->apply_ns += t - t_back;
	st->cmds += ready;
	for (i = 0; i < ready; i++) {
		uint64_t w = t - dev->gate_q[i].t_arr;

		st->wait_ns += w;
		st->wait_max_ns = MAX(st->wait_max_ns, w);
	}
	log_dbg("tcmu: %s: copy scope: walk %llu us, pool hop %llu us, maps "
	    "%llu us (%u changed), %u command(s) run, %u wait",
	    dev->info.dev, (unsigned long long)(j->t_end - j->t_beg) / 1000,
	    (unsigned long long)((j->t_beg - j->t_sub) +
	    (t_back - j->t_end)) / 1000,
	    (unsigned long long)(t - t_back) / 1000, changed, ready,
	    dev->gate_n - ready);
	dev->gate_busy = false;
	if (dev->gate_n > ready)
		tcmu_gate_start(dev, ready);	/* dev is alive: ready > 0 */
	while (ready > 0) {
		m = MIN(ready, ARRAY_SIZE(batch));
		for (i = 0; i < m; i++)
			batch[i] = dev->gate_q[i].cmd;
		dev->gate_n -= m;
		memmove(dev->gate_q, dev->gate_q + m,
		    dev->gate_n * sizeof(*dev->gate_q));
		ready -= m;
		for (i = 0; i < m; i++)
			tcmu_dev_cmd_run(batch[i]);
	}
}

/* Before a copy command (on dev->loop): wait for a snapshot that began
 * after it arrived (see "The copy gate" above). */
static void
tcmu_copy_gate(struct tcmu_dev *dev, struct tcmu_cmd *c)
{
	struct tcmu_gate_wait *q;
	unsigned int cap;

	if (dev->gate_n == dev->gate_cap) {
		cap = dev->gate_cap != 0 ? dev->gate_cap * 2 : 16;
		q = xrealloc(dev->gate_q, cap * sizeof(*q));
		if (q == NULL) {
			tcmu_dev_cmd_busy(c);
			return;
		}
		dev->gate_q = q;
		dev->gate_cap = cap;
	}
	q = &dev->gate_q[dev->gate_n++];
	q->cmd = c;
	q->arr = atomic_load(&tcmu_scope_seq);
	q->t_arr = now_ns();
	if (!dev->gate_busy)
		tcmu_gate_start(dev, dev->gate_n - 1);
}

/* ---------------- identity ---------------- */

/*
 * LIO lets wwn/vpd_unit_serial (and vendor, product, revision) be written
 * after the device is enabled -- rtslib, so targetcli, writes the serial
 * right after "enable", i.e. after our attach -- but not while a fabric
 * LUN exports the device.  So the identity read at attach may be
 * incomplete, and the one read when the first command is waiting (the
 * device is exported by then) is what initiators will see.  A device
 * attached with a serial is settled at once; one without waits for its
 * first command, and until then it is in no other device's copy scope
 * and has run no command, so nothing reads its LU's identity while it
 * changes.
 */
struct tcmu_ident_job {
	struct tcmu_dev	*dev;
	struct tcmu_ident ident;
	int		 rc;
};

static void
tcmu_ident_work(void *arg)
{
	struct tcmu_ident_job *j = arg;

	j->rc = tcmu_cfs_ident(&j->dev->info, &j->ident);
}

static bool
tcmu_ident_same(const struct tcmu_ident *a, const struct tcmu_ident *b)
{
	return strcmp(a->serial, b->serial) == 0 &&
	    strcmp(a->vendor, b->vendor) == 0 &&
	    strcmp(a->product, b->product) == 0 &&
	    strcmp(a->revision, b->revision) == 0 &&
	    a->company_id == b->company_id;
}

static void
tcmu_ident_settle(struct tcmu_dev *dev, const struct tcmu_ident *now)
{
	struct tcmu_ident *ti = &dev->ident;
	struct lun_ident id;
	bool changed;

	changed = now != NULL && now->serial[0] != '\0' &&
	    !tcmu_ident_same(ti, now);
	pthread_mutex_lock(&tcmu_lock);
	if (changed) {
		memcpy(ti->serial, now->serial, sizeof(ti->serial));
		memcpy(ti->vendor, now->vendor, sizeof(ti->vendor));
		memcpy(ti->product, now->product, sizeof(ti->product));
		memcpy(ti->revision, now->revision, sizeof(ti->revision));
		ti->company_id = now->company_id;
		tcmu_lun_ident(ti, &id);
		lun_set_ident(dev->lun, &id);
	}
	dev->settled = true;
	pthread_mutex_unlock(&tcmu_lock);
	if (changed)
		log_info("tcmu: %s: identity settled at the first command: "
		    "serial %s", dev->info.dev, ti->serial);
	/* now other devices may copy to and from it */
	if (tcmu_scope_start(dev->loop, NULL) != 0 &&
	    log_ratelimited(&tcmu_scope_rl))
		log_warn("tcmu: %s: cannot refresh the copy scope",
		    dev->info.dev);
	tcmu_dev_settled(dev);
}

static void
tcmu_ident_done(void *arg)
{
	struct tcmu_ident_job *j = arg;

	if (j->rc != 0 && log_ratelimited(&tcmu_scope_rl))
		log_warn("tcmu: %s: cannot re-read its identity (%s): keeping "
		    "the one read at attach", j->dev->info.dev,
		    strerror(-j->rc));
	tcmu_ident_settle(j->dev, j->rc == 0 ? &j->ident : NULL);
	free(j);
}

static void
tcmu_ident_gate(struct tcmu_dev *dev)
{
	struct tcmu_ident_job *j;

	j = xcalloc(1, sizeof(*j));
	if (j == NULL) {
		tcmu_ident_settle(dev, NULL);
		return;
	}
	j->dev = dev;
	if (loop_pool_run(dev->loop, tcmu_ident_work, tcmu_ident_done,
	    j) != 0) {
		free(j);
		tcmu_ident_settle(dev, NULL);
	}
}

/* ---------------- netlink ---------------- */

static int
tcmu_reconfig(struct tcmu_dev *dev, const struct tcmu_devinfo *info,
    unsigned int what)
{
	if (what & TCMU_RECONF_CFG) {
		log_warn("tcmu: %s: changing the config string of a running "
		    "device is not supported; re-create it", dev->info.dev);
		return -EOPNOTSUPP;
	}
	if ((what & TCMU_RECONF_SIZE) && info->size != dev->bs->size) {
		log_warn("tcmu: %s: dev_size %llu does not match the "
		    "backstore (%llu bytes); refused", dev->info.dev,
		    (unsigned long long)info->size,
		    (unsigned long long)dev->bs->size);
		return -EINVAL;
	}
	if ((what & TCMU_RECONF_WCE) && info->wce >= 0) {
		pthread_mutex_lock(&dev->lun->lock);
		dev->lun->wce = info->wce == 1;
		pthread_mutex_unlock(&dev->lun->lock);
		dev->info.wce = info->wce;
	}
	return 0;
}

static int
tcmu_nl_event(void *arg, enum tcmu_nl_event ev,
    const struct tcmu_devinfo *info, unsigned int reconf)
{
	struct tcmu_dev *dev;
	int rc;

	(void)arg;
	if (strcmp(info->subtype, TCMU_SUBTYPE) != 0)
		return 0;	/* tcmu_nl.c filters; be safe */
	dev = tcmu_find(info);
	switch (ev) {
	case TCMU_NL_ADDED:
		if (dev != NULL)
			return 0;
		rc = tcmu_attach(info, true);
		return rc == 0 ? TCMU_NL_LATER : rc;
	case TCMU_NL_REMOVED:
		if (dev == NULL)
			return 0;
		rc = tcmu_detach(dev, true);
		return rc == 0 ? TCMU_NL_LATER : rc;
	case TCMU_NL_RECONFIG:
		if (dev == NULL)
			return -ENODEV;
		return tcmu_reconfig(dev, info, reconf);
	}
	return 0;
}

/* ---------------- start / reload / stop ---------------- */

static void
tcmu_scan(void)
{
	struct tcmu_devinfo *v = NULL;
	unsigned int n = 0, i;
	int rc;

	rc = tcmu_cfs_scan(TCMU_SUBTYPE, &v, &n);
	if (rc != 0) {
		log_warn("tcmu: cannot list uio devices: %s", strerror(-rc));
		return;
	}
	for (i = 0; i < n; i++)
		if (tcmu_find(&v[i]) == NULL)
			(void)tcmu_attach(&v[i], false);
	free(v);
}

/*
 * The D-Bus service for targetcli (tcmu_dbus.c) runs with the TCMU front
 * end.  Environment TPCD_TCMU_DBUS=0 keeps it off; TPCD_TCMU_DBUS=1
 * starts it even when the front end cannot (no target_core_user; "auto"
 * only): CheckConfig then works, devices cannot attach (tests use this).
 */
static void
tcmu_dbus_start(bool tcmu_up)
{
	const char *e = getenv("TPCD_TCMU_DBUS");

	if (e != NULL && strcmp(e, "0") == 0)
		return;
	if (!tcmu_up && (e == NULL || strcmp(e, "1") != 0))
		return;
	(void)tcmu_dbus_open(loop_get(0));
}

int
tcmu_start(const struct conf *c)
{
	char path[300];
	struct stat st;
	bool required = c->tcmu == CONF_TCMU_ON;
	int rc;

	if (c->tcmu == CONF_TCMU_OFF || tcmu_running)
		return 0;
	snprintf(path, sizeof(path), "%s/core", tcmu_paths.configfs);
	if (stat(path, &st) != 0) {
		if (!required) {
			log_dbg("tcmu: no %s: TCMU front end not started",
			    path);
			tcmu_dbus_start(false);
			return 0;
		}
		log_err("tcmu: %s missing (is target_core_mod loaded and "
		    "configfs mounted?)", path);
		return -ENOENT;
	}
	rc = tcmu_nl_open(loop_get(0), tcmu_nl_event, NULL, &tcmu_nl);
	if (rc != 0) {
		tcmu_nl = NULL;
		if (!required) {
			log_info("tcmu: TCM-USER netlink family not available "
			    "(%s): TCMU front end not started", strerror(-rc));
			tcmu_dbus_start(false);
			return 0;
		}
		log_err("tcmu: cannot open the TCM-USER netlink family: %s "
		    "(modprobe target_core_user)", strerror(-rc));
		return rc;
	}
	tcmu_running = true;
	log_info("tcmu: serving LIO user: backstores with config \"%s/...\"",
	    TCMU_SUBTYPE);
	tcmu_scan();
	tcmu_dbus_start(true);
	return 0;
}

int
tcmu_reload(const struct conf *c)
{
	struct backstore *bs;
	struct tcmu_dev *d;

	if (!tcmu_running)
		return tcmu_start(c);
	for (d = tcmu_devs; d != NULL; d = d->next) {
		if (d->so_name[0] == '\0')
			continue;
		bs = target_backstore_get(d->so_name);
		if (bs != d->bs)
			log_warn("tcmu: %s: storage object \"%s\" changed or "
			    "went away in the new configuration; the device "
			    "keeps the old one until it is re-created",
			    d->info.dev, d->so_name);
		if (bs != NULL)
			backstore_put(bs);
	}
	/* devices that could not attach before (missing object) */
	tcmu_scan();
	tcmu_scope_refresh();
	return 0;
}

static void
tcmu_stop_on_loop(void *arg)
{
	tcmu_dev_quiesce(arg, NULL, NULL);
}

void
tcmu_stop(void)
{
	struct tcmu_dev *d;

	tcmu_dbus_close();
	if (!tcmu_running)
		return;
	tcmu_running = false;
	if (tcmu_nl != NULL)
		tcmu_nl_close(tcmu_nl);
	tcmu_nl = NULL;
	/* Stop taking commands and abort running copies; whatever has not
	 * completed when the loops stop is reset by the next start. */
	pthread_mutex_lock(&tcmu_lock);
	for (d = tcmu_devs; d != NULL; d = d->next)
		(void)loop_post(d->loop, tcmu_stop_on_loop, d);
	pthread_mutex_unlock(&tcmu_lock);
}

void
tcmu_fini(void)
{
	struct tcmu_dev *d;

	tcmu_dbus_close();
	tcmu_running = false;
	if (tcmu_nl != NULL)
		tcmu_nl_close(tcmu_nl);
	tcmu_nl = NULL;
	pthread_mutex_lock(&tcmu_lock);
	d = tcmu_devs;
	tcmu_devs = NULL;
	pthread_mutex_unlock(&tcmu_lock);
	while (d != NULL) {
		struct tcmu_dev *next = d->next;

		tcmu_dev_free(d);
		d = next;
	}
	if (tcmu_pending != 0)
		log_dbg("tcmu: %u attach/detach left at exit", tcmu_pending);
}
