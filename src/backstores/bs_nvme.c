/*
 * bs_nvme.c - "nvme": an NVMe namespace as a logical unit, with the NVMe
 * Copy command behind EXTENDED COPY and WRITE USING TOKEN.
 *
 * Open: dev is the namespace's block node (/dev/nvme0n1) or its generic
 * char node (/dev/ng0n1, then the block node of the same name serves the
 * data and both must name the same controller and NSID).  The block node
 * is opened the "block" way (bs_block_int.h: O_DIRECT, geometry, queue
 * limits), then identified through admin passthrough on it: Identify
 * Controller (ONCS, OCFS, VWC), Identify Namespace (NSZE, FLBAS and its
 * LBA format, DLFEAT, MSSRL, MCL, MSRC) and, where the controller has
 * it, the NVM command set Identify Controller (DMRSL).  Formats with
 * metadata are refused; the LBA size must be the block node's.
 *
 * Commands:
 *   READ / WRITE / FLUSH  the block node, through bs_block_submit():
 *                         io_uring O_DIRECT reads and writes (the kernel
 *                         issues NVMe Read / Write), fdatasync (Flush);
 *   UNMAP                 Dataset Management, AD (deallocate), up to 256
 *                         ranges of at most DMRSL blocks per command;
 *                         offered on thin LUs with ONCS DSM; unmapped
 *                         blocks read as zeroes (LBPRZ) when DLFEAT says
 *                         deallocated blocks read 00h;
 *   WRITE ZEROES          Write Zeroes (DEAC clear), 65536 blocks per
 *                         command, with ONCS Write Zeroes;
 *   copy()                Copy (19h, source range format 0) when source
 *                         and destination are the same namespace (block
 *                         device number and NSID), split by the limits
 *                         (bs_nvme_id.c); FUA sets the Copy's FUA bit.
 * Dataset Management, Write Zeroes and Copy go through NVME_IOCTL_IO_CMD
 * on the blocking pool (loop_pool_run), one request's commands in order;
 * done() runs on io->loop.  (io_uring URING_CMD would need the loop's
 * ring set up with 128-byte SQEs; the ioctl keeps the loop unchanged.)
 *
 * copy() answers -EXDEV for another namespace or plugin and -EOPNOTSUPP
 * when Copy must not be sent (ONCS bit 8 clear, MSSRL or MCL zero) or
 * is refused as unsupported (Invalid Opcode / Field, Command Size Limit
 * Exceeded): the copy engine then reads and writes.  Any other status is
 * a device failure (bs_nvme_status_errno): the engine ends the copy with
 * it (COPY ABORTED with the forwarded sense).
 *
 * Test knob (never for production): TPCD_NVME_COPY_LIMITS=MSSRL,MCL,MSRC
 * replaces the limits read from Identify Namespace, e.g. to make the
 * device fail a Copy whose range exceeds its real MSSRL.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <linux/nvme_ioctl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "backstore.h"
#include "bs_block_int.h"
#include "bs_nvme.h"
#include "conf.h"
#include "log.h"
#include "loop.h"
#include "util.h"

#define BS_NVME_BUF_LEN	(BS_NVME_MAX_RANGES * BS_NVME_RANGE_LEN)
#define BS_NVME_DSM_DEFAULT_MAX	(1u << 22)	/* blocks per range */

struct bs_nvme {
	uint32_t	 nsid;
	dev_t		 rdev;		/* the namespace's block node */
	struct bs_nvme_ctrl_id ctrl;
	struct bs_nvme_ns_id ns;
	struct bs_nvme_copy_limits lim;
	bool		 copy_ok;	/* Copy may be sent */
	uint32_t	 dsm_max;	/* blocks per DSM range */
	_Atomic uint64_t copy_cmds;	/* for the close log */
	_Atomic uint64_t copy_blocks;
};

/* One request's passthrough commands, run on the pool. */
struct bs_nvme_work {
	struct bs_io	*io;
	struct backstore *bs;
	uint8_t		 opcode;
	uint64_t	 slba;		/* source (Copy) or target LBA */
	uint64_t	 dlba;		/* Copy destination */
	uint64_t	 nlb;
	bool		 fua;
	int		 res;		/* 0 or -errno */
	uint8_t		*buf;		/* ranges, aligned */
};

static struct bs_nvme *
bs_nvme_of(const struct backstore *bs)
{
	return bs_block_ext(bs);
}

/* --- passthrough --- */

/* The ioctl's answer: -errno, 0, or the NVMe status (> 0). */
static int
bs_nvme_ioctl(int fd, unsigned long req, struct nvme_passthru_cmd *c)
{
	int rc = ioctl(fd, req, c);

	return rc < 0 ? -errno : rc;
}

static int
bs_nvme_identify(int fd, uint32_t nsid, uint8_t cns, uint8_t *buf)
{
	struct nvme_passthru_cmd c;

	memset(&c, 0, sizeof(c));
	memset(buf, 0, BS_NVME_ID_LEN);
	c.opcode = NVME_ADM_IDENTIFY;
	c.nsid = nsid;
	c.addr = (uintptr_t)buf;
	c.data_len = BS_NVME_ID_LEN;
	c.cdw10 = cns;
	return bs_nvme_ioctl(fd, NVME_IOCTL_ADMIN_CMD, &c);
}

static void
bs_nvme_cmd_failed(struct bs_nvme_work *w, int rc, uint64_t lba,
    uint64_t nlb)
{
	static unsigned int rl;

	w->res = bs_nvme_status_errno(rc);
	if (w->res == -EOPNOTSUPP ? true : log_ratelimited(&rl))
		log_msg(w->res == -EOPNOTSUPP ? LOG_LVL_INFO : LOG_LVL_WARN,
		    "storage %s: NVMe %s at LBA %" PRIu64 " (%" PRIu64
		    " blocks) failed: %s (%s %#x)", w->bs->name,
		    w->opcode == NVME_CMD_COPY ? "Copy" :
		    w->opcode == NVME_CMD_DSM ? "Dataset Management" :
		    "Write Zeroes", lba, nlb, bs_nvme_status_str(rc),
		    rc < 0 ? strerror(-rc) : "status", rc < 0 ? -rc : rc);
}

static void
bs_nvme_copy_work(struct bs_nvme_work *w, struct bs_nvme *n)
{
	struct nvme_passthru_cmd c;
	uint64_t done = 0, got, dlba;
	unsigned int nr;
	int rc;

	while (done < w->nlb) {
		got = bs_nvme_copy_plan(&n->lim, w->slba + done,
		    w->nlb - done, w->buf, &nr);
		if (got == 0) {
			w->res = -EOPNOTSUPP;
			return;
		}
		dlba = w->dlba + done;
		memset(&c, 0, sizeof(c));
		c.opcode = NVME_CMD_COPY;
		c.nsid = n->nsid;
		c.addr = (uintptr_t)w->buf;
		c.data_len = nr * BS_NVME_RANGE_LEN;
		c.cdw10 = (uint32_t)dlba;		/* SDLBA */
		c.cdw11 = (uint32_t)(dlba >> 32);
		c.cdw12 = (nr - 1) | (w->fua ? 1u << 30 : 0); /* NR, fmt 0 */
		rc = bs_nvme_ioctl(w->bs->fd, NVME_IOCTL_IO_CMD, &c);
		if (rc != 0) {
			bs_nvme_cmd_failed(w, rc, dlba, got);
			return;
		}
		atomic_fetch_add_explicit(&n->copy_cmds, 1,
		    memory_order_relaxed);
		atomic_fetch_add_explicit(&n->copy_blocks, got,
		    memory_order_relaxed);
		done += got;
	}
}

static void
bs_nvme_dsm_work(struct bs_nvme_work *w, struct bs_nvme *n)
{
	struct nvme_passthru_cmd c;
	uint64_t done = 0, got;
	unsigned int nr;
	int rc;

	while (done < w->nlb) {
		got = bs_nvme_dsm_plan(n->dsm_max, w->slba + done,
		    w->nlb - done, w->buf, &nr);
		memset(&c, 0, sizeof(c));
		c.opcode = NVME_CMD_DSM;
		c.nsid = n->nsid;
		c.addr = (uintptr_t)w->buf;
		c.data_len = nr * BS_NVME_DSM_RANGE_LEN;
		c.cdw10 = nr - 1;			/* NR, 0-based */
		c.cdw11 = 1u << 2;			/* AD: deallocate */
		rc = bs_nvme_ioctl(w->bs->fd, NVME_IOCTL_IO_CMD, &c);
		if (rc != 0) {
			bs_nvme_cmd_failed(w, rc, w->slba + done, got);
			return;
		}
		done += got;
	}
}

static void
bs_nvme_zeroes_work(struct bs_nvme_work *w, struct bs_nvme *n)
{
	struct nvme_passthru_cmd c;
	uint64_t done = 0, got, lba;
	int rc;

	while (done < w->nlb) {
		got = MIN(w->nlb - done, (uint64_t)BS_NVME_MAX_NLB);
		lba = w->slba + done;
		memset(&c, 0, sizeof(c));
		c.opcode = NVME_CMD_WRITE_ZEROES;
		c.nsid = n->nsid;
		c.cdw10 = (uint32_t)lba;
		c.cdw11 = (uint32_t)(lba >> 32);
		c.cdw12 = (uint32_t)(got - 1) | (w->fua ? 1u << 30 : 0);
		rc = bs_nvme_ioctl(w->bs->fd, NVME_IOCTL_IO_CMD, &c);
		if (rc != 0) {
			bs_nvme_cmd_failed(w, rc, lba, got);
			return;
		}
		done += got;
	}
}

static void
bs_nvme_work(void *arg)
{
	struct bs_nvme_work *w = arg;
	struct bs_nvme *n = bs_nvme_of(w->bs);

	w->res = 0;
	switch (w->opcode) {
	case NVME_CMD_COPY:
		bs_nvme_copy_work(w, n);
		break;
	case NVME_CMD_DSM:
		bs_nvme_dsm_work(w, n);
		/* DSM has no FUA bit: flush the volatile cache */
		if (w->res == 0 && w->fua && fdatasync(w->bs->fd) < 0)
			w->res = -errno;
		break;
	default:
		bs_nvme_zeroes_work(w, n);
		break;
	}
}

static void
bs_nvme_work_done(void *arg)
{
	struct bs_nvme_work *w = arg;
	struct bs_io *io = w->io;
	int res = w->res;

	free(w->buf);
	free(w);
	io->done(io, res);
}

static int
bs_nvme_run(struct backstore *bs, struct bs_io *io, uint8_t opcode,
    uint64_t slba, uint64_t dlba, uint64_t nlb)
{
	struct bs_nvme_work *w;
	void *p = NULL;
	int rc;

	w = xcalloc(1, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	if (opcode != NVME_CMD_WRITE_ZEROES &&
	    posix_memalign(&p, 4096, BS_NVME_BUF_LEN) != 0) {
		free(w);
		return -ENOMEM;
	}
	w->buf = p;
	w->io = io;
	w->bs = bs;
	w->opcode = opcode;
	w->slba = slba;
	w->dlba = dlba;
	w->nlb = nlb;
	w->fua = (io->flags & BS_IO_FUA) != 0;
	rc = loop_pool_run(io->loop, bs_nvme_work, bs_nvme_work_done, w);
	if (rc != 0) {
		free(w->buf);
		free(w);
	}
	return rc;
}

/* --- I/O --- */

static void
bs_nvme_nop_done(void *arg)
{
	struct bs_io *io = arg;

	io->done(io, 0);
}

static int
bs_nvme_submit(struct backstore *bs, struct bs_io *io)
{
	uint64_t lmask = bs->block_size - 1;

	io->_bs = bs;
	if (io->op != BS_UNMAP && io->op != BS_WRITE_ZEROES)
		return bs_block_submit(bs, io);
	if (((io->offset | io->len) & lmask) != 0)
		return -EINVAL;
	if (io->len == 0)
		return loop_post(io->loop, bs_nvme_nop_done, io);
	return bs_nvme_run(bs, io, io->op == BS_UNMAP ? NVME_CMD_DSM :
	    NVME_CMD_WRITE_ZEROES, io->offset / bs->block_size, 0,
	    io->len / bs->block_size);
}

static int
bs_nvme_copy(struct backstore *dst, struct backstore *src,
    const struct bs_extent *ext, struct bs_io *io)
{
	struct bs_nvme *dn, *sn;
	uint64_t lmask;

	if (dst == NULL || src == NULL || ext == NULL || io == NULL ||
	    io->done == NULL || io->loop == NULL)
		return -EINVAL;
	if (src->ops != &bs_nvme_ops || dst->ops != &bs_nvme_ops)
		return -EXDEV;
	dn = bs_nvme_of(dst);
	sn = bs_nvme_of(src);
	if (dn == NULL || sn == NULL || dn->rdev != sn->rdev ||
	    dn->nsid != sn->nsid)
		return -EXDEV;
	if ((io->flags & BS_IO_CLONE) || !dn->copy_ok)
		return -EOPNOTSUPP;
	if (dst->read_only)
		return -EROFS;
	if (ext->src_off + ext->len < ext->src_off ||
	    ext->src_off + ext->len > src->size ||
	    ext->dst_off + ext->len < ext->dst_off ||
	    ext->dst_off + ext->len > dst->size)
		return -ERANGE;
	lmask = dst->block_size - 1;
	if (src->block_size != dst->block_size ||
	    ((ext->src_off | ext->dst_off | ext->len) & lmask) != 0 ||
	    ext->len == 0)
		return -EINVAL;
	/* overlapping ranges: the spec leaves the result open */
	if (ext->src_off < ext->dst_off + ext->len &&
	    ext->dst_off < ext->src_off + ext->len)
		return -EINVAL;
	io->_bs = dst;
	io->offset = ext->dst_off;
	io->len = ext->len;
	return bs_nvme_run(dst, io, NVME_CMD_COPY,
	    ext->src_off / dst->block_size, ext->dst_off / dst->block_size,
	    ext->len / dst->block_size);
}

/* --- open / close --- */

/*
 * A generic char node (/dev/ngXnY) cannot do O_DIRECT reads and writes:
 * the data goes through the block node of the same namespace,
 * /dev/nvmeXnY, and *char_path keeps the node given.
 */
static int
bs_nvme_block_path(struct backstore *bs, char **char_path)
{
	const char *base;
	char blk[PATH_MAX];
	struct stat st;
	char *p;

	*char_path = NULL;
	if (bs->path == NULL || bs->path[0] == '\0') {
		log_err("storage %s: nvme needs a dev path", bs->name);
		return -EINVAL;
	}
	if (stat(bs->path, &st) < 0 || !S_ISCHR(st.st_mode))
		return 0;	/* bs_block_open() says what is wrong */
	base = strrchr(bs->path, '/');
	base = base != NULL ? base + 1 : bs->path;
	if (strncmp(base, "ng", 2) != 0) {
		log_err("storage %s: %s is a character device but not an "
		    "NVMe generic namespace node (/dev/ngXnY)", bs->name,
		    bs->path);
		return -ENOTBLK;
	}
	if ((size_t)snprintf(blk, sizeof(blk), "%.*snvme%s",
	    (int)(base - bs->path), bs->path, base + 2) >= sizeof(blk))
		return -ENAMETOOLONG;
	p = xstrdup(blk);
	if (p == NULL)
		return -ENOMEM;
	*char_path = bs->path;
	bs->path = p;
	return 0;
}

/* The sysfs directory holding a node's device: its controller. */
static bool
bs_nvme_sysfs_parent(const char *kind, dev_t rdev, char *out)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/dev/%s/%u:%u/..", kind,
	    major(rdev), minor(rdev));
	return realpath(path, out) != NULL;
}

/* The char node given must be the block node's namespace. */
static int
bs_nvme_check_char(struct backstore *bs, const char *char_path,
    uint32_t nsid, dev_t brdev)
{
	char a[PATH_MAX], b[PATH_MAX];
	struct stat st;
	int fd, id;

	fd = open(char_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_err("storage %s: cannot open %s: %s", bs->name,
		    char_path, strerror(errno));
		return -errno;
	}
	id = ioctl(fd, NVME_IOCTL_ID);
	if (fstat(fd, &st) < 0)
		st.st_rdev = 0;
	close(fd);
	if (id <= 0 || (uint32_t)id != nsid ||
	    (bs_nvme_sysfs_parent("char", st.st_rdev, a) &&
	    bs_nvme_sysfs_parent("block", brdev, b) && strcmp(a, b) != 0)) {
		log_err("storage %s: %s and %s are not the same NVMe "
		    "namespace", bs->name, char_path, bs->path);
		return -EINVAL;
	}
	return 0;
}

static int
bs_nvme_identify_ns(struct backstore *bs, struct bs_nvme *n, uint8_t *buf)
{
	int rc;

	rc = bs_nvme_identify(bs->fd, 0, NVME_CNS_CTRL, buf);
	if (rc == 0)
		rc = bs_nvme_parse_ctrl(buf, BS_NVME_ID_LEN, &n->ctrl);
	if (rc != 0) {
		log_err("storage %s: Identify Controller on %s failed: %s",
		    bs->name, bs->path, bs_nvme_status_str(rc));
		return rc < 0 ? rc : -EIO;
	}
	rc = bs_nvme_identify(bs->fd, n->nsid, NVME_CNS_NS, buf);
	if (rc > 0) {
		log_err("storage %s: Identify Namespace %u on %s failed: %s",
		    bs->name, n->nsid, bs->path, bs_nvme_status_str(rc));
		return -EIO;
	}
	if (rc == 0)
		rc = bs_nvme_parse_ns(buf, BS_NVME_ID_LEN, &n->ns);
	if (rc == -EOPNOTSUPP) {
		log_err("storage %s: %s uses LBA format %u with %u bytes of "
		    "metadata per block; only formats without metadata are "
		    "supported (nvme format --lbaf)", bs->name, bs->path,
		    n->ns.lbaf, n->ns.ms);
		return rc;
	}
	if (rc != 0) {
		log_err("storage %s: Identify Namespace %u on %s: %s",
		    bs->name, n->nsid, bs->path, rc == -EINVAL ?
		    "malformed LBA format" : strerror(-rc));
		return rc;
	}
	if (n->ns.lba_size != bs->block_size ||
	    n->ns.nsze > UINT64_MAX / n->ns.lba_size ||
	    n->ns.nsze * n->ns.lba_size < bs->size) {
		log_err("storage %s: namespace %u of %s (%" PRIu64 " blocks "
		    "of %u bytes) does not match the block device (%u "
		    "bytes per block, %" PRIu64 " bytes)", bs->name, n->nsid,
		    bs->path, n->ns.nsze, n->ns.lba_size, bs->block_size,
		    bs->size);
		return -EINVAL;
	}
	/* DMRSL, where the controller has the NVM command set page */
	n->dsm_max = BS_NVME_DSM_DEFAULT_MAX;
	if (bs_nvme_identify(bs->fd, 0, NVME_CNS_CTRL_NVM, buf) == 0 &&
	    bs_nvme_parse_dmrsl(buf, BS_NVME_ID_LEN) != 0)
		n->dsm_max = MIN(n->dsm_max,
		    bs_nvme_parse_dmrsl(buf, BS_NVME_ID_LEN));
	return 0;
}

static void
bs_nvme_setup(struct backstore *bs, const struct conf_storage *cs,
    struct bs_nvme *n)
{
	const char *knob = getenv("TPCD_NVME_COPY_LIMITS");
	uint16_t oncs = n->ctrl.oncs;

	n->copy_ok = bs_nvme_copy_limits(&n->ctrl, &n->ns, &n->lim);
	if (knob != NULL && knob[0] != '\0') {
		if (bs_nvme_limits_parse(knob, &n->lim) == 0) {
			log_warn("storage %s: TPCD_NVME_COPY_LIMITS=%s "
			    "replaces the device's Copy limits (tests only)",
			    bs->name, knob);
			n->copy_ok = (oncs & NVME_ONCS_COPY) &&
			    n->lim.mssrl != 0 && n->lim.mcl != 0;
		} else {
			log_warn("storage %s: ignoring TPCD_NVME_COPY_LIMITS="
			    "%s (want MSSRL,MCL,MSRC)", bs->name, knob);
		}
	}
	bs->caps = BS_CAP_FLUSH;
	if (n->copy_ok)
		bs->caps |= BS_CAP_COPY;
	if (bs->read_only)
		return;
	if (oncs & NVME_ONCS_WRITE_ZEROES)
		bs->caps |= BS_CAP_ZEROES;
	if (cs->thin && (oncs & NVME_ONCS_DSM)) {
		bs->caps |= BS_CAP_UNMAP;
		if (bs_nvme_dealloc_zeroes(n->ns.dlfeat))
			bs->caps |= BS_CAP_UNMAP_ZERO;
	}
}

static int
bs_nvme_open(struct backstore *bs, const struct conf_storage *cs)
{
	struct bs_nvme *n = NULL;
	char *char_path = NULL;
	uint8_t *buf = NULL;
	struct stat st;
	void *p;
	int rc, id;

	rc = bs_nvme_block_path(bs, &char_path);
	if (rc != 0)
		return rc;
	rc = bs_block_open(bs, cs);
	if (rc != 0)
		goto out;
	n = xcalloc(1, sizeof(*n));
	if (n == NULL || posix_memalign(&p, 4096, BS_NVME_ID_LEN) != 0) {
		rc = -ENOMEM;
		goto fail;
	}
	buf = p;
	id = ioctl(bs->fd, NVME_IOCTL_ID);
	if (id <= 0 || fstat(bs->fd, &st) < 0) {
		log_err("storage %s: %s is not an NVMe namespace (use plugin "
		    "block)", bs->name, bs->path);
		rc = -ENOTTY;
		goto fail;
	}
	n->nsid = (uint32_t)id;
	n->rdev = st.st_rdev;
	if (char_path != NULL) {
		rc = bs_nvme_check_char(bs, char_path, n->nsid, n->rdev);
		if (rc != 0)
			goto fail;
	}
	rc = bs_nvme_identify_ns(bs, n, buf);
	if (rc != 0)
		goto fail;
	bs_nvme_setup(bs, cs, n);
	bs_block_set_ext(bs, n);
	log_info("storage %s: NVMe %s \"%s\" nsid %u: %" PRIu64 " blocks of "
	    "%u, ONCS %#x, Copy %s (MSSRL %u MCL %u MSRC %u), DLFEAT %#x, "
	    "DMRSL %u%s", bs->name, n->ctrl.serial, n->ctrl.model, n->nsid,
	    n->ns.nsze, n->ns.lba_size, n->ctrl.oncs,
	    n->copy_ok ? "yes" : "no", n->lim.mssrl, n->lim.mcl,
	    n->lim.nranges - 1, n->ns.dlfeat, n->dsm_max,
	    (bs->caps & BS_CAP_UNMAP_ZERO) ? ", unmapped blocks read zero" :
	    "");
	n = NULL;
	rc = 0;
	goto out;
fail:
	bs_block_close(bs);
out:
	free(buf);
	free(n);
	if (char_path != NULL) {
		/* keep the configured node in bs->path */
		free(bs->path);
		bs->path = char_path;
	}
	return rc;
}

static void
bs_nvme_close(struct backstore *bs)
{
	struct bs_nvme *n = bs_nvme_of(bs);

	if (n != NULL && atomic_load(&n->copy_cmds) != 0)
		log_info("storage %s: %" PRIu64 " NVMe Copy commands, %"
		    PRIu64 " blocks", bs->name, atomic_load(&n->copy_cmds),
		    atomic_load(&n->copy_blocks));
	bs_block_set_ext(bs, NULL);
	free(n);
	bs_block_close(bs);
}

const struct backstore_ops bs_nvme_ops = {
	.name = "nvme",
	.open = bs_nvme_open,
	.close = bs_nvme_close,
	.submit = bs_nvme_submit,
	.copy = bs_nvme_copy,
	.caps = BS_CAP_FLUSH | BS_CAP_ZEROES | BS_CAP_UNMAP |
	    BS_CAP_UNMAP_ZERO | BS_CAP_COPY,
	.copy_kind = BS_COPY_NVME,
};
