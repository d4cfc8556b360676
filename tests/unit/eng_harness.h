/*
 * eng_harness.h - drive the SCSI engine from unit tests exactly as a front
 * end does: build a LU on a backstore, map it on a nexus, run a command
 * (prepare, then fail or execute) on loop 0 until done() and check its
 * sense.  The caller owns loops_init(1)/scsi_init() and the objects it
 * creates here.
 */
#ifndef TPCD_ENG_HARNESS_H
#define TPCD_ENG_HARNESS_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "conf.h"
#include "lun.h"
#include "scsi.h"

/* A storage object description (strings are borrowed). */
struct conf_storage eh_storage(const char *plugin, const char *name,
	    const char *dev, const char *wwn, uint64_t size,
	    uint32_t block_size, bool thin);
/* Open the backstore and create the LU (asserts); one reference. */
struct lun *eh_lun_open(const struct conf_storage *);
/* A nexus iqn.2026-11.org.tpcd:<who> -> iqn.2026-11.org.tpcd:tgt, TPG 1. */
struct scsi_nexus *eh_nexus(const char *who, uint8_t isid_last);
/* Map luns[i] at ids[i] (write-protected where wp[i], wp may be NULL);
 * takes its own references; drops the power-on UAs it queues. */
void	eh_map(struct scsi_nexus *, struct lun *const *luns,
	    const uint64_t *ids, const bool *wp, unsigned int n);

/* Fill a command for nx/lun_id/CDB (padded to 16 bytes) with the given
 * data buffer iovecs (len bytes in all), done() on loop 0. */
void	eh_cmd(struct scsi_cmd *, struct scsi_nexus *, uint64_t lun_id,
	    const uint8_t *cdb, size_t cdb_len, enum scsi_dir,
	    struct iovec *iov, int iov_cnt, uint32_t len);
/* Run it to completion (loop 0 runs until done()); not released. */
void	eh_exec(struct scsi_cmd *);
/* Same, and post fn(arg) to loop 0 right after the command starts. */
void	eh_exec_then(struct scsi_cmd *, void (*fn)(void *), void *arg);
/* Fail it with reason off-loop (scsi_cmd_fail); true if done() ran. */
bool	eh_fail(struct scsi_cmd *, enum sense_reason);

/* Sense key/ASC/ASCQ from fixed or descriptor sense data (asserts a
 * length). */
void	eh_sense(const uint8_t *sense, unsigned int len, uint8_t *key,
	    uint8_t *asc, uint8_t *ascq);

#define ck_assert_sense(cmd, k, a, q) do {				\
	uint8_t k_, a_, q_;						\
	ck_assert_msg((cmd)->status == SAM_STAT_CHECK_CONDITION,	\
	    "status %02x, want CHECK CONDITION (cdb %02x)",		\
	    (cmd)->status, (cmd)->cdb[0]);				\
	eh_sense((cmd)->sense, (cmd)->sense_len, &k_, &a_, &q_);					\
	ck_assert_msg(k_ == (k) && a_ == (a) && q_ == (q),		\
	    "sense %x/%02x/%02x, want %x/%02x/%02x (cdb %02x)",		\
	    k_, a_, q_, (k), (a), (q), (cmd)->cdb[0]);			\
} while (0)

#define ck_assert_status(cmd, st) ck_assert_msg((cmd)->status == (st),	\
	"status %02x want %02x, sense %02x/%02x/%02x (cdb %02x)",	\
	(cmd)->status, (st), (cmd)->sense[2] & 0x0f, (cmd)->sense[12],	\
	(cmd)->sense[13], (cmd)->cdb[0])

#define ck_assert_good(cmd) ck_assert_status(cmd, SAM_STAT_GOOD)

#endif
