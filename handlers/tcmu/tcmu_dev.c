/*
 * tcmu_dev.c - one attached TCMU device on one loop: the uio fd, the
 * mapped ring, ring entries -> struct scsi_cmd -> engine -> completion.
 *
 * A readable uio fd means new entries (read 4 bytes to re-arm).  Every
 * TCMU_OP_CMD becomes one struct scsi_cmd from the device's pool, set up
 * as src/target/iscsi_scsi.c does: scsi_cmd_prepare(), then
 * scsi_cmd_execute().  The data buffer is the data-area iovecs the
 * kernel gave: Data-Out is already there, Data-In is written in place.
 * TCMU does not say which way data flows, so the command starts as BIDI
 * (both ways allowed) and, once prepare has found its table entry, the
 * direction is the entry's (OP_DATA_IN / OP_DATA_OUT / none).  The
 * Data-In byte count goes back as TCMU_UFLAG_READ_LEN so LIO reports the
 * underflow residual.  Completions are written at the ring tail as they
 * come (out of order is fine, see tcmu_ring.h) and the kernel is poked
 * once per loop iteration (loop_defer), not once per command.
 *
 * TCMU_OP_TMR (tmr_notification=1): the listed commands are aborted
 * (scsi_cmd_abort(): copies stop early) and a LUN reset also aborts every
 * copy touching the LU and applies the engine's reset effects.  The
 * kernel still waits for their completions, which we send as usual.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "lun.h"
#include "scsi.h"
#include "scsi_int.h"
#include "tcmu_dev.h"
#include "util.h"
#include "xcopy/copy_engine.h"

#define TCMU_IOV_INIT		16
#define TCMU_POOL_MAX		1024	/* cached idle commands */

struct tcmu_cmd {
	struct scsi_cmd	 cmd;
	struct tcmu_dev	*dev;
	uint16_t	 cmd_id;
	bool		 data_in;	/* answer READ_LEN */
	struct iovec	*iov;
	unsigned int	 iov_cap;
	struct tcmu_cmd	*next, *prev;	/* inflight list / free list */
};

static unsigned int tcmu_dev_rl;

static void	tcmu_dev_process(struct tcmu_dev *);

/* ---------------- open / close (pool thread) ---------------- */

static int
tcmu_dev_read_size(const struct tcmu_dev *dev, uint64_t *size)
{
	char path[512], buf[64], *end;
	unsigned long long v;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/uio%u/maps/map0/size",
	    tcmu_paths.uio_class, dev->info.minor);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	errno = 0;
	v = strtoull(buf, &end, 0);
	if (errno != 0 || end == buf || v == 0 || v > SIZE_MAX)
		return -EINVAL;
	*size = v;
	return 0;
}

static void
tcmu_dev_unmap(struct tcmu_dev *dev)
{
	if (dev->map != NULL)
		munmap(dev->map, dev->map_size);
	dev->map = NULL;
	dev->map_size = 0;
	memset(&dev->ring, 0, sizeof(dev->ring));
	if (dev->fd >= 0)
		close(dev->fd);
	dev->fd = -1;
}

/* Commands a previous tpcd fetched but never completed: make the kernel
 * fail them as retryable (BUSY) rather than execute them again, since we
 * cannot know which ones already ran.  block_dev stops new commands from
 * entering the ring while it is reset. */
static int
tcmu_dev_reset_ring(struct tcmu_dev *dev)
{
	int rc, rc2;

	log_warn("tcmu: %s: ring has commands from a previous process; "
	    "resetting it (the kernel fails them as BUSY, initiators retry)",
	    dev->info.dev);
	rc = tcmu_cfs_action(&dev->info, "block_dev", "1");
	if (rc != 0)
		return rc;
	rc = tcmu_cfs_action(&dev->info, "reset_ring", "1");
	/* unblocking is block_dev = 0 (there is no unblock_dev action) */
	rc2 = tcmu_cfs_action(&dev->info, "block_dev", "0");
	return rc != 0 ? rc : rc2;
}

int
tcmu_dev_open(struct tcmu_dev *dev)
{
	char path[300];
	uint64_t size = 0;
	int rc;

	dev->fd = -1;
	rc = tcmu_dev_read_size(dev, &size);
	if (rc != 0)
		return rc;
	snprintf(path, sizeof(path), "%s/uio%u", tcmu_paths.dev_dir,
	    dev->info.minor);
	dev->fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (dev->fd < 0)
		return -errno;
	dev->map = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
	    MAP_SHARED, dev->fd, 0);
	if (dev->map == MAP_FAILED) {
		rc = -errno;
		dev->map = NULL;
		tcmu_dev_unmap(dev);
		return rc;
	}
	dev->map_size = (size_t)size;
	rc = tcmu_ring_init(&dev->ring, dev->map, dev->map_size);
	if (rc == 0 && tcmu_ring_busy(&dev->ring)) {
		rc = tcmu_dev_reset_ring(dev);
		if (rc == 0)
			rc = tcmu_ring_init(&dev->ring, dev->map,
			    dev->map_size);
		if (rc == 0 && tcmu_ring_busy(&dev->ring))
			rc = -EBUSY;
	}
	if (rc != 0) {
		tcmu_dev_unmap(dev);
		return rc;
	}
	dev->data_area = dev->map_size - dev->ring.data_off;
	return 0;
}

uint64_t
tcmu_dev_max_xfer(const struct tcmu_dev *dev)
{
	return dev->data_area;
}

static void
tcmu_cmd_free(struct tcmu_cmd *c)
{
	free(c->iov);
	free(c);
}

void
tcmu_dev_close(struct tcmu_dev *dev)
{
	struct tcmu_cmd *c;

	if (dev->watching && dev->fd >= 0)
		loop_fd_del(dev->loop, dev->fd);
	dev->watching = false;
	/* Only after the loops stopped can commands still be listed: the
	 * engine may still hold them, so they are left alone (the process
	 * is exiting) and the next tpcd resets the ring for them. */
	if (dev->n_inflight != 0)
		log_info("tcmu: %s: %u command(s) left in the ring",
		    dev->info.dev, dev->n_inflight);
	dev->inflight = NULL;
	while ((c = dev->free) != NULL) {
		dev->free = c->next;
		tcmu_cmd_free(c);
	}
	free(dev->ids);
	dev->ids = NULL;
	dev->ids_cap = 0;
	tcmu_dev_unmap(dev);
}

/* ---------------- commands ---------------- */

static struct tcmu_cmd *
tcmu_cmd_get(struct tcmu_dev *dev)
{
	struct tcmu_cmd *c = dev->free;

	if (c != NULL) {
		dev->free = c->next;
		return c;
	}
	c = xcalloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->iov = xcalloc(TCMU_IOV_INIT, sizeof(*c->iov));
	if (c->iov == NULL) {
		free(c);
		return NULL;
	}
	c->iov_cap = TCMU_IOV_INIT;
	c->dev = dev;
	return c;
}

static void
tcmu_cmd_put(struct tcmu_dev *dev, struct tcmu_cmd *c)
{
	c->next = dev->free;
	dev->free = c;
}

static void
tcmu_inflight_add(struct tcmu_dev *dev, struct tcmu_cmd *c)
{
	c->prev = NULL;
	c->next = dev->inflight;
	if (dev->inflight != NULL)
		dev->inflight->prev = c;
	dev->inflight = c;
	dev->n_inflight++;
}

static void
tcmu_inflight_del(struct tcmu_dev *dev, struct tcmu_cmd *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		dev->inflight = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
	dev->n_inflight--;
}

static void
tcmu_dev_notify_fn(void *arg)
{
	struct tcmu_dev *dev = arg;
	uint32_t one = 1;

	if (!dev->notify || dev->fd < 0)
		return;
	dev->notify = false;
	if (write(dev->fd, &one, sizeof(one)) != (ssize_t)sizeof(one) &&
	    log_ratelimited(&tcmu_dev_rl))
		log_warn("tcmu: %s: cannot notify the kernel: %s",
		    dev->info.dev, strerror(errno));
}

static void
tcmu_dev_check_drained(struct tcmu_dev *dev)
{
	void (*cb)(struct tcmu_dev *, void *) = dev->drained;

	if (!dev->stopping || dev->n_inflight != 0 || dev->settling ||
	    cb == NULL)
		return;
	dev->drained = NULL;
	tcmu_dev_notify_fn(dev);	/* last completions out now */
	cb(dev, dev->drained_arg);
}

/* Engine completion (exactly once, on dev->loop). */
static void
tcmu_cmd_done(struct scsi_cmd *cmd)
{
	struct tcmu_cmd *c = cmd->fe_priv;
	struct tcmu_dev *dev = c->dev;
	bool rl;
	int rc;

	rl = c->data_in && cmd->status == SAM_STAT_GOOD;
	rc = tcmu_ring_complete(&dev->ring, c->cmd_id, cmd->status,
	    cmd->sense, cmd->sense_len, rl, MIN(cmd->xfer_len, cmd->data_len));
	if (rc != 0 && log_ratelimited(&tcmu_dev_rl))
		log_err("tcmu: %s: cannot complete cmd_id %u: %s",
		    dev->info.dev, c->cmd_id, strerror(-rc));
	tcmu_inflight_del(dev, c);
	scsi_cmd_release(cmd);
	tcmu_cmd_put(dev, c);
	if (!dev->notify) {
		dev->notify = true;
		loop_defer(dev->loop, &dev->notify_defer);
	}
	tcmu_dev_check_drained(dev);
}

static bool
tcmu_cmd_is_copy(const struct scsi_cmd *cmd)
{
	/* EXTENDED COPY, POPULATE TOKEN, WRITE USING TOKEN (83h), RECEIVE
	 * ROD TOKEN INFORMATION (84h/07h) */
	return cmd->cdb[0] == 0x83 ||
	    (cmd->cdb[0] == 0x84 && (cmd->cdb[1] & 0x1f) == 0x07);
}

void
tcmu_dev_cmd_run(struct tcmu_cmd *c)
{
	scsi_cmd_execute(&c->cmd);
}

void
tcmu_dev_cmd_busy(struct tcmu_cmd *c)
{
	scsi_cmd_fail(&c->cmd, SENSE_BUSY);
}

struct tcmu_dev *
tcmu_dev_cmd_dev(const struct tcmu_cmd *c)
{
	return c->dev;
}

static void
tcmu_cmd_start(struct tcmu_dev *dev, struct tcmu_cmd *c,
    const struct tcmu_ring_ent *ent)
{
	struct scsi_cmd *cmd = &c->cmd;
	enum sense_reason reason;

	scsi_cmd_init(cmd);
	c->cmd_id = ent->cmd_id;
	c->data_in = false;
	cmd->nexus = dev->nexus;
	cmd->lun_id = 0;
	memcpy(cmd->cdb, ent->cdb, ent->cdb_len);
	cmd->cdb_len = ent->cdb_len;
	cmd->attr = SCSI_ATTR_SIMPLE;
	cmd->tag = ent->cmd_id;
	cmd->loop = dev->loop;
	cmd->done = tcmu_cmd_done;
	cmd->fe_priv = c;
	tcmu_inflight_add(dev, c);
	if (ent->bidi_cnt != 0 || ent->data_len > UINT32_MAX ||
	    ent->cdb_full_len > TCMU_RING_CDB_MAX) {
		scsi_cmd_fail(cmd, SENSE_INVALID_FIELD_IN_CDB);
		return;
	}
	cmd->data_len = (uint32_t)ent->data_len;
	if (cmd->data_len != 0) {
		cmd->iov = c->iov;
		cmd->iov_cnt = (int)ent->iov_cnt;
		cmd->dir = SCSI_DIR_BIDI;
	} else {
		cmd->dir = SCSI_DIR_NONE;
	}
	if (dev->stopping) {
		scsi_cmd_fail(cmd, SENSE_BUSY);
		return;
	}
	reason = scsi_cmd_prepare(cmd);
	if (reason != SENSE_OK) {
		scsi_cmd_fail(cmd, reason);
		return;
	}
	/* The direction is the command's own, now that we know it. */
	if (cmd->op != NULL && (cmd->op->flags & OP_DATA_IN))
		cmd->dir = SCSI_DIR_IN;
	else if (cmd->op != NULL && (cmd->op->flags & OP_DATA_OUT))
		cmd->dir = SCSI_DIR_OUT;
	else
		cmd->dir = SCSI_DIR_NONE;
	c->data_in = cmd->dir == SCSI_DIR_IN;
	if (cmd->data_len == 0)
		cmd->dir = SCSI_DIR_NONE;
	if (dev->copy_gate != NULL && tcmu_cmd_is_copy(cmd))
		dev->copy_gate(dev, c);
	else
		scsi_cmd_execute(cmd);
}

static struct tcmu_cmd *
tcmu_cmd_find(struct tcmu_dev *dev, uint16_t id)
{
	struct tcmu_cmd *c;

	for (c = dev->inflight; c != NULL; c = c->next)
		if (c->cmd_id == id)
			return c;
	return NULL;
}

static void
tcmu_dev_tmr(struct tcmu_dev *dev, const struct tcmu_ring_ent *ent)
{
	struct tcmu_cmd *c;
	unsigned int i;

	log_info("tcmu: %s: task management %u for %u command(s)",
	    dev->info.dev, ent->tmr_type, ent->ids_cnt);
	/* Abort first: a command may complete (and be recycled) inside
	 * scsi_cmd_abort(), so look each id up again. */
	for (i = 0; i < ent->ids_cnt; i++) {
		c = tcmu_cmd_find(dev, ent->ids[i]);
		if (c != NULL && !c->cmd.aborted)
			scsi_cmd_abort(&c->cmd);
	}
	switch (ent->tmr_type) {
	case SCSI_TMF_LUN_RESET:	/* TCMU_TMR_* use the same codes */
	case SCSI_TMF_TARGET_WARM_RESET:
	case SCSI_TMF_TARGET_COLD_RESET:
		if (dev->lun != NULL)
			copy_jobs_abort_lun(dev->lun);
		scsi_tmf_effects(dev->nexus, (enum scsi_tmf)ent->tmr_type, 0);
		break;
	case SCSI_TMF_ABORT_TASK_SET:
	case SCSI_TMF_CLEAR_TASK_SET:
	case SCSI_TMF_CLEAR_ACA:
		scsi_tmf_effects(dev->nexus, (enum scsi_tmf)ent->tmr_type, 0);
		break;
	default:
		break;
	}
}

/* Fetch one entry, growing the command's iovec array or the TMR id
 * scratch when the entry needs more.  Returns like tcmu_ring_fetch(). */
static int
tcmu_dev_fetch(struct tcmu_dev *dev, struct tcmu_cmd *c,
    struct tcmu_ring_ent *ent)
{
	void *p;
	int rc;

	for (;;) {
		ent->iov = c->iov;
		ent->iov_cap = c->iov_cap;
		ent->ids = dev->ids;
		ent->ids_cap = dev->ids_cap;
		ent->iov_need = ent->ids_need = 0;
		rc = tcmu_ring_fetch(&dev->ring, ent);
		if (rc != -E2BIG)
			return rc;
		if (ent->iov_need > c->iov_cap) {
			p = xrealloc(c->iov, ent->iov_need * sizeof(*c->iov));
			if (p == NULL)
				return -ENOMEM;
			c->iov = p;
			c->iov_cap = ent->iov_need;
		}
		if (ent->ids_need > dev->ids_cap) {
			p = xrealloc(dev->ids, ent->ids_need *
			    sizeof(*dev->ids));
			if (p == NULL)
				return -ENOMEM;
			dev->ids = p;
			dev->ids_cap = ent->ids_need;
		}
	}
}

static void
tcmu_dev_process(struct tcmu_dev *dev)
{
	struct tcmu_ring_ent ent;
	struct tcmu_cmd *c;
	int rc;

	if (!dev->settled && dev->ident_gate != NULL) {
		if (!dev->settling && !dev->stopping &&
		    tcmu_ring_busy(&dev->ring)) {
			dev->settling = true;
			dev->ident_gate(dev);
		}
		return;
	}
	while (!dev->broken && !dev->stopping && dev->map != NULL) {
		c = tcmu_cmd_get(dev);
		if (c == NULL)
			return;		/* retried at the next event */
		memset(&ent, 0, sizeof(ent));
		rc = tcmu_dev_fetch(dev, c, &ent);
		if (rc == 1 && ent.kind == TCMU_RING_CMD) {
			tcmu_cmd_start(dev, c, &ent);
			continue;
		}
		tcmu_cmd_put(dev, c);
		if (rc == 1) {
			tcmu_dev_tmr(dev, &ent);
			continue;
		}
		if (rc == -EBADMSG) {
			log_err("tcmu: %s: corrupt command ring; no more "
			    "commands are taken (reset the ring or "
			    "re-create the device)", dev->info.dev);
			dev->broken = true;
		}
		return;
	}
}

void
tcmu_dev_settled(struct tcmu_dev *dev)
{
	dev->settling = false;
	if (dev->stopping)
		tcmu_dev_check_drained(dev);
	else
		tcmu_dev_process(dev);
}

static void
tcmu_dev_fd_cb(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct tcmu_dev *dev = arg;
	uint32_t cnt;

	(void)l;
	(void)events;
	while (read(fd, &cnt, sizeof(cnt)) == (ssize_t)sizeof(cnt))
		;
	tcmu_dev_process(dev);
}

int
tcmu_dev_start(struct tcmu_dev *dev)
{
	int rc;

	dev->notify_defer.fn = tcmu_dev_notify_fn;
	dev->notify_defer.arg = dev;
	rc = loop_fd_add(dev->loop, dev->fd, EPOLLIN, tcmu_dev_fd_cb, dev);
	if (rc != 0)
		return rc;
	dev->watching = true;
	/* Entries queued before we watched the fd. */
	tcmu_dev_process(dev);
	return 0;
}

void
tcmu_dev_quiesce(struct tcmu_dev *dev, void (*cb)(struct tcmu_dev *, void *),
    void *arg)
{
	struct tcmu_cmd *c, *next;

	dev->stopping = true;
	if (dev->watching && dev->fd >= 0)
		loop_fd_del(dev->loop, dev->fd);
	dev->watching = false;
	dev->drained = NULL;	/* not while we walk the list */
	if (dev->n_inflight != 0) {
		log_info("tcmu: %s: stopping with %u command(s) in flight",
		    dev->info.dev, dev->n_inflight);
		if (dev->lun != NULL)
			copy_jobs_abort_lun(dev->lun);
		for (c = dev->inflight; c != NULL; c = next) {
			next = c->next;
			if (!c->cmd.aborted)
				scsi_cmd_abort(&c->cmd);
		}
	}
	dev->drained = cb;
	dev->drained_arg = arg;
	tcmu_dev_check_drained(dev);
}
