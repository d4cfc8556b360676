/*
 * tcmu_reach.h - building a copy-scope snapshot by hand (tcmu_reach.c).
 *
 * tcmu_reach_load() fills a snapshot from configfs; these calls let unit
 * tests (and tcmu_reach_load itself) build one entry by entry, so the
 * tcmu_reach_covers() decision can be tested without files.
 *
 * A snapshot is a list of grants: "principal P of TPG T reaches device D".
 * P is an initiator name (explicit ACL) or NULL for "any initiator"
 * (demo mode, generate_node_acls = 1).  D is a core/<hba>/<dev> pair, or
 * unknown (a LUN whose link could not be read: it might be any device).
 */
#ifndef TPCD_TCMU_REACH_H
#define TPCD_TCMU_REACH_H

#include <stdbool.h>

struct tcmu_reach;

#define TCMU_REACH_RO		0x1	/* mapped write-protected */
#define TCMU_REACH_UNKNOWN	0x2	/* device unknown (hba/dev ignored) */

struct tcmu_reach *tcmu_reach_new(void);
/* tpg: any string naming the TPG ("iscsi/<wwn>/tpgt_1"); initiator NULL
 * = any; hba: the core/ directory name ("user_1").  Copies the strings. */
int	tcmu_reach_add(struct tcmu_reach *, const char *tpg,
	    const char *initiator, const char *hba, const char *dev,
	    unsigned int flags);
/* The snapshot could not be read completely: covers() then says no. */
void	tcmu_reach_set_incomplete(struct tcmu_reach *);
unsigned int tcmu_reach_count(const struct tcmu_reach *);

#endif
