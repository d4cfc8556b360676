/*
 * tcmu.h - the TCMU front end: LIO "user:" backstores whose config string
 * begins with "tpcd/" served by tpcd's SCSI engine (docs/tcmu.md).
 *
 * tcmu_start() attaches the devices that exist and follows the TCM-USER
 * netlink events (devices added, removed, reconfigured) from then on;
 * conf->tcmu decides whether a missing target_core_user is an error (on)
 * or quietly skipped (auto).  tcmu_reload() applies a new configuration:
 * devices whose "tpcd/<name>" storage object changed are re-opened.
 * tcmu_stop() runs on loop 0 before the loops stop: the kernel is told we
 * no longer answer netlink, devices stop taking commands and their
 * copies are aborted.  tcmu_fini() after the loops have stopped unmaps
 * and frees everything; commands still in a ring are left to the next
 * tpcd, which fails them as retryable BUSY (ring reset, docs/tcmu.md).
 *
 * All four are called from the main thread / loop 0 only.
 */
#ifndef TPCD_TCMU_H
#define TPCD_TCMU_H

struct conf;

int	tcmu_start(const struct conf *);
int	tcmu_reload(const struct conf *);
void	tcmu_stop(void);
void	tcmu_fini(void);

#endif
