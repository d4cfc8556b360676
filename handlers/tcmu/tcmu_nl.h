/*
 * tcmu_nl.h - the pure part of tcmu_nl.c: one TCM-USER event message to
 * (event, device info, what changed).  Separate so unit tests can feed it
 * messages built with libnl, without a socket or the kernel module.
 */
#ifndef TPCD_TCMU_NL_H
#define TPCD_TCMU_NL_H

#include "tcmu_int.h"

struct nlmsghdr;

/* The kernel's generic netlink family version (target_core_user.c). */
#define TCMU_NL_VERSION	2
/* Devices whose config string starts with this subtype are ours. */
#define TCMU_NL_SUBTYPE	"tpcd"

/*
 * Parse one message of the family `family`.  0 and *ev, *info, *reconf
 * filled (info from TCMU_ATTR_DEVICE through tcmu_name_parse, minor,
 * device id; for RECONFIG the new config/size/write cache); -EINVAL for
 * a malformed message or one that is not an event; -ENOENT for a command
 * we do not handle.  Never reads past nlh->nlmsg_len.  *ours: the
 * device's current subtype (before a reconfig) is TCMU_NL_SUBTYPE.
 */
int	tcmu_nl_parse(struct nlmsghdr *nlh, int family, enum tcmu_nl_event *ev,
	    struct tcmu_devinfo *info, unsigned int *reconf, bool *ours);

#endif
