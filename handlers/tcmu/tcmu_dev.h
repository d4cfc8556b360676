/*
 * tcmu_dev.h - one attached TCMU device (tcmu_dev.c), as tcmu.c drives
 * it.
 *
 * tcmu.c owns the struct (registry, identity, LU, nexus); tcmu_dev.c
 * runs its ring on dev->loop:
 *
 *   tcmu_dev_open()     pool thread: open /dev/uioN, map it, check the
 *                       mailbox; a ring left busy by a previous process
 *                       is reset (block_dev, reset_ring 1, block_dev 0:
 *                       the kernel fails those commands as BUSY).
 *   tcmu_dev_start()    dev->loop: watch the uio fd, take commands.
 *   tcmu_dev_quiesce()  dev->loop: stop taking commands, abort running
 *                       ones (copies stop early); cb once none is left.
 *   tcmu_dev_close()    any thread, after quiesce (or loops stopped):
 *                       unmap, close, free the command pool.
 */
#ifndef TPCD_TCMU_DEV_H
#define TPCD_TCMU_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "loop.h"
#include "tcmu_int.h"
#include "tcmu_ring.h"

struct backstore;
struct lun;
struct scsi_nexus;
struct tcmu_cmd;

struct tcmu_dev {
	struct tcmu_devinfo info;
	struct tcmu_ident ident;
	uint64_t	 lun_id;	/* how other devices' nexuses map it */
	struct lun	*lun;		/* owned reference */
	struct scsi_nexus *nexus;	/* owned: LUN 0 = lun */
	struct loop	*loop;		/* owns fd, ring and commands */

	int		 fd;		/* /dev/uioN, -1 closed */
	void		*map;
	size_t		 map_size;
	struct tcmu_ring ring;
	uint64_t	 data_area;	/* bytes in the data area */

	struct tcmu_cmd	*inflight;	/* list of fetched commands */
	struct tcmu_cmd	*free;		/* pool */
	unsigned int	 n_inflight;
	uint16_t	*ids;		/* TMR id scratch */
	unsigned int	 ids_cap;
	bool		 watching;	/* fd in epoll */
	bool		 stopping;
	bool		 broken;	/* corrupt ring: no more fetches */
	bool		 notify;	/* completions to announce */
	struct loop_defer notify_defer;
	void		(*drained)(struct tcmu_dev *, void *);
	void		*drained_arg;
	/* Called (on dev->loop) instead of executing a copy command:
	 * refresh the copy scope, then tcmu_dev_cmd_run(c).  NULL: run. */
	void		(*copy_gate)(struct tcmu_dev *, struct tcmu_cmd *);
	/* Called (on dev->loop) when the first command waits in the ring,
	 * before it is fetched: settle the identity, then
	 * tcmu_dev_settled().  NULL: nothing to settle.  Until then no
	 * command is taken (settling) and quiesce waits for it. */
	void		(*ident_gate)(struct tcmu_dev *);
	bool		 settling;
	bool		 settled;	/* written on dev->loop under tcmu.c's lock */

	/* tcmu.c's */
	struct tcmu_gate_wait {		/* copy gate (tcmu.c), dev->loop */
		struct tcmu_cmd	*cmd;
		uint64_t	 arr;	/* tcmu_scope_seq at arrival */
		uint64_t	 t_arr;	/* now_ns() at arrival */
	} *gate_q;			/* in arrival order */
	unsigned int	 gate_n, gate_cap;
	bool		 gate_busy;	/* a walk for this device is under way */
	struct tcmu_scope_stats {	/* copy gate, on dev->loop */
		uint64_t	 cmds, loads, rebuilds;
		uint64_t	 walk_ns;	/* tcmu_reach_load on the pool */
		uint64_t	 hop_ns;	/* queued + posted back */
		uint64_t	 apply_ns;	/* maps compared/rebuilt */
		uint64_t	 wait_ns, wait_max_ns;	/* arrival -> run */
	} scope_stats;
	struct backstore *bs;		/* owned reference */
	char		 so_name[TCMU_NAME_MAX];	/* "tpcd/<name>" or "" */
	bool		 reply;		/* netlink ADDED waits for us */
	int		 attach_rc;
	struct tcmu_dev	*next;		/* registry */
};

int	tcmu_dev_open(struct tcmu_dev *);
int	tcmu_dev_start(struct tcmu_dev *);
void	tcmu_dev_quiesce(struct tcmu_dev *,
	    void (*cb)(struct tcmu_dev *, void *), void *arg);
void	tcmu_dev_close(struct tcmu_dev *);
/* Execute a command the copy gate held (on dev->loop). */
void	tcmu_dev_cmd_run(struct tcmu_cmd *);
/* End a command the copy gate held with BUSY (on dev->loop). */
void	tcmu_dev_cmd_busy(struct tcmu_cmd *);
/* The identity gate is done (dev->settled set): take commands. */
void	tcmu_dev_settled(struct tcmu_dev *);
struct tcmu_dev *tcmu_dev_cmd_dev(const struct tcmu_cmd *);
/* Largest transfer the ring can carry for one command (bytes). */
uint64_t tcmu_dev_max_xfer(const struct tcmu_dev *);

#endif
