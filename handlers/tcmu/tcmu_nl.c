/*
 * tcmu_nl.c - the kernel's "TCM-USER" generic netlink family (libnl-genl).
 *
 * target_core_user multicasts ADDED_DEVICE, REMOVED_DEVICE and
 * RECONFIG_DEVICE to the group "config", each with TCMU_ATTR_DEVICE (the
 * uio name "tcm-user/<hba>/<dev>/<config>"), TCMU_ATTR_MINOR and
 * TCMU_ATTR_DEVICE_ID; a reconfig adds one of TCMU_ATTR_DEV_CFG,
 * TCMU_ATTR_DEV_SIZE or TCMU_ATTR_WRITECACHE.  After SET_FEATURES with
 * TCMU_ATTR_SUPP_KERN_CMD_REPLY = 1 the kernel (6.1) makes the configfs
 * write that caused the event wait until someone answers with the
 * matching *_DONE command carrying TCMU_ATTR_CMD_STATUS (s32, 0 or
 * -errno, which the configfs write returns) and TCMU_ATTR_DEVICE_ID; a
 * failed ADDED reply makes "enable" fail and the device is not created,
 * a failed RECONFIG reply leaves the old value.
 *
 * The feature flag is global to the module, not per listener, and a
 * device copies it when it is enabled (attrib/nl_reply_supported; -1
 * written there before enabling opts a device out).  Consequences:
 *
 *  - We answer only for devices whose subtype is "tpcd".  Events of other
 *    user: devices belong to tcmu-runner or another handler; answering
 *    them would complete the kernel's wait for a device we do not serve.
 *    With reply support on and no such handler running, creating,
 *    removing or reconfiguring a foreign user: device therefore blocks
 *    until its handler answers (or the admin writes 1 to
 *    /sys/module/target_core_user/parameters/block_netlink and then
 *    1 to reset_netlink).  The kernel also waits for an ADDED answer when
 *    nobody listens at all.
 *  - tcmu_nl_close() turns the feature off again so the kernel stops
 *    waiting once tpcd is gone; that also affects tcmu-runner if it runs
 *    beside us (it then gets "no such command" errors for its answers,
 *    which are harmless).  A tpcd killed without closing leaves it on.
 *  - Errors for our answers arrive on the same socket (auto-ACK is off):
 *    ENODEV when the kernel was not waiting (a device enabled while reply
 *    support was off, e.g. before tpcd started, or another handler
 *    answered first) is expected and logged at debug level; others are
 *    logged as warnings.  Nothing else is done about them.
 *
 * The socket is non-blocking and read on its loop; nothing here blocks.
 */
/* the uapi header defines its own struct iovec: rename it */
#define iovec tcmu_kiovec
#include <linux/target_core_user.h>
#undef iovec

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "log.h"
#include "loop.h"
#include "tcmu_int.h"
#include "tcmu_nl.h"
#include "util.h"

#define TCMU_NL_FAMILY	"TCM-USER"
#define TCMU_NL_GROUP	"config"
/* messages handled per wake-up before yielding to other fds */
#define TCMU_NL_BATCH	64

struct tcmu_nl {
	struct loop	*loop;
	struct nl_sock	*sk;
	struct nl_cb	*cb;
	int		 family;
	int		 fd;
	bool		 reply_feature;	/* SET_FEATURES 1 accepted */
	tcmu_nl_cb	 fn;
	void		*arg;
};

/* Copy a string attribute; the kernel's are NUL-terminated, check it. */
static int
nl_attr_str(const struct nlattr *a, char *dst, size_t len)
{
	const char *s = nla_data(a);
	int n = nla_len(a);
	const char *nul;

	if (n <= 0)
		return -EINVAL;
	nul = memchr(s, '\0', (size_t)n);
	if (nul == NULL)
		return -EINVAL;
	if ((size_t)(nul - s) >= len)
		return -ENAMETOOLONG;
	memcpy(dst, s, (size_t)(nul - s) + 1);
	return 0;
}

static int
nl_attr_u32(const struct nlattr *a, uint32_t *v)
{
	if (nla_len(a) < 4)
		return -EINVAL;
	*v = nla_get_u32((struct nlattr *)a);
	return 0;
}

static int
nl_event_of(uint8_t cmd, enum tcmu_nl_event *ev)
{
	switch (cmd) {
	case TCMU_CMD_ADDED_DEVICE:
		*ev = TCMU_NL_ADDED;
		return 0;
	case TCMU_CMD_REMOVED_DEVICE:
		*ev = TCMU_NL_REMOVED;
		return 0;
	case TCMU_CMD_RECONFIG_DEVICE:
		*ev = TCMU_NL_RECONFIG;
		return 0;
	default:
		return -ENOENT;
	}
}

/* RECONFIG: the new value into info. */
static int
nl_parse_reconfig(struct nlattr **tb, struct tcmu_devinfo *info,
    unsigned int *reconf)
{
	char cfg[TCMU_CFG_MAX], name[TCMU_NAME_MAX + TCMU_CFG_MAX + 32];
	struct tcmu_devinfo n;
	int rc;

	if (tb[TCMU_ATTR_DEV_CFG] != NULL) {
		rc = nl_attr_str(tb[TCMU_ATTR_DEV_CFG], cfg, sizeof(cfg));
		if (rc)
			return rc;
		if ((size_t)snprintf(name, sizeof(name), "tcm-user/%u/%s/%s",
		    info->hba_id, info->dev, cfg) >= sizeof(name))
			return -ENAMETOOLONG;
		n = *info;
		rc = tcmu_name_parse(name, &n);
		if (rc)
			return rc;
		memcpy(info->subtype, n.subtype, sizeof(info->subtype));
		memcpy(info->cfg, n.cfg, sizeof(info->cfg));
		*reconf |= TCMU_RECONF_CFG;
	}
	if (tb[TCMU_ATTR_DEV_SIZE] != NULL) {
		if (nla_len(tb[TCMU_ATTR_DEV_SIZE]) < 8)
			return -EINVAL;
		info->size = nla_get_u64(tb[TCMU_ATTR_DEV_SIZE]);
		*reconf |= TCMU_RECONF_SIZE;
	}
	if (tb[TCMU_ATTR_WRITECACHE] != NULL) {
		if (nla_len(tb[TCMU_ATTR_WRITECACHE]) < 1)
			return -EINVAL;
		info->wce = nla_get_u8(tb[TCMU_ATTR_WRITECACHE]) != 0;
		*reconf |= TCMU_RECONF_WCE;
	}
	return 0;
}

int
tcmu_nl_parse(struct nlmsghdr *nlh, int family, enum tcmu_nl_event *ev,
    struct tcmu_devinfo *info, unsigned int *reconf, bool *ours)
{
	struct nlattr *tb[TCMU_ATTR_MAX + 1];
	char name[TCMU_NAME_MAX + TCMU_CFG_MAX + 32];
	struct genlmsghdr *gh;
	int rc;

	*reconf = 0;
	*ours = false;
	if (nlh->nlmsg_len < NLMSG_HDRLEN || nlh->nlmsg_type != family)
		return -EINVAL;
	if (!genlmsg_valid_hdr(nlh, 0))
		return -EINVAL;
	gh = nlmsg_data(nlh);
	rc = nl_event_of(gh->cmd, ev);
	if (rc)
		return rc;
	/* no policy: every attribute is length-checked below */
	if (genlmsg_parse(nlh, 0, tb, TCMU_ATTR_MAX, NULL) < 0)
		return -EINVAL;
	if (tb[TCMU_ATTR_DEVICE] == NULL)
		return -EINVAL;
	rc = nl_attr_str(tb[TCMU_ATTR_DEVICE], name, sizeof(name));
	if (rc)
		return rc;
	memset(info, 0, sizeof(*info));
	info->wce = -1;
	rc = tcmu_name_parse(name, info);
	if (rc)
		return rc;
	*ours = strcmp(info->subtype, TCMU_NL_SUBTYPE) == 0;
	if (tb[TCMU_ATTR_MINOR] != NULL &&
	    nl_attr_u32(tb[TCMU_ATTR_MINOR], &info->minor))
		return -EINVAL;
	if (tb[TCMU_ATTR_DEVICE_ID] != NULL &&
	    nl_attr_u32(tb[TCMU_ATTR_DEVICE_ID], &info->dev_id))
		return -EINVAL;
	if (*ev == TCMU_NL_RECONFIG)
		return nl_parse_reconfig(tb, info, reconf);
	return 0;
}

static const char *
nl_event_name(enum tcmu_nl_event ev)
{
	switch (ev) {
	case TCMU_NL_ADDED:
		return "added";
	case TCMU_NL_REMOVED:
		return "removed";
	case TCMU_NL_RECONFIG:
		return "reconfig";
	}
	return "?";
}

static int
nl_valid(struct nl_msg *msg, void *arg)
{
	struct tcmu_nl *nl = arg;
	struct tcmu_devinfo info;
	enum tcmu_nl_event ev;
	unsigned int reconf;
	bool ours;
	int rc;

	rc = tcmu_nl_parse(nlmsg_hdr(msg), nl->family, &ev, &info, &reconf,
	    &ours);
	if (rc == -ENOENT)
		return NL_SKIP;
	if (rc) {
		log_warn("tcmu: malformed netlink event ignored (%s)",
		    strerror(-rc));
		return NL_SKIP;
	}
	if (!ours) {
		log_dbg("tcmu: %s event for %u/%s (%s) is not ours",
		    nl_event_name(ev), info.hba_id, info.dev, info.subtype);
		return NL_SKIP;
	}
	log_dbg("tcmu: %s event for %u/%s uio%u id %u", nl_event_name(ev),
	    info.hba_id, info.dev, info.minor, info.dev_id);
	rc = nl->fn(nl->arg, ev, &info, reconf);
	if (rc != TCMU_NL_LATER)
		(void)tcmu_nl_reply(nl, ev, &info, rc);
	return NL_SKIP;
}

static int
nl_error(struct sockaddr_nl *nla, struct nlmsgerr *err, void *arg)
{
	/* ENODEV: the kernel was not waiting (the device was enabled while
	 * reply support was off, or another handler answered first) */
	if (err->error == -ENODEV)
		log_dbg("tcmu: netlink answer not awaited by the kernel");
	else if (err->error != 0)
		log_warn("tcmu: netlink answer refused by the kernel: %s",
		    strerror(-err->error));
	return NL_SKIP;
}

static void
nl_readable(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct tcmu_nl *nl = arg;
	int rc;

	for (int i = 0; i < TCMU_NL_BATCH; i++) {
		rc = nl_recvmsgs(nl->sk, nl->cb);
		if (rc == -NLE_AGAIN)
			return;
		if (rc == -NLE_NOMEM) {
			/* ENOBUFS: the kernel dropped events */
			log_warn("tcmu: netlink events lost (socket overrun)");
			continue;
		}
		if (rc < 0) {
			log_warn("tcmu: netlink receive: %s", nl_geterror(rc));
			return;
		}
	}
}

/* SET_FEATURES: SUPP_KERN_CMD_REPLY = on. */
static int
nl_set_reply(struct tcmu_nl *nl, uint8_t on)
{
	struct nl_msg *msg;
	int rc = -ENOMEM;

	msg = nlmsg_alloc();
	if (msg == NULL)
		return -ENOMEM;
	if (genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0, 0,
	    TCMU_CMD_SET_FEATURES, TCMU_NL_VERSION) == NULL ||
	    nla_put_u8(msg, TCMU_ATTR_SUPP_KERN_CMD_REPLY, on) < 0)
		goto out;
	rc = nl_send_auto(nl->sk, msg);
	rc = rc < 0 ? -EIO : 0;
out:
	nlmsg_free(msg);
	return rc;
}

int
tcmu_nl_reply(struct tcmu_nl *nl, enum tcmu_nl_event ev,
    const struct tcmu_devinfo *info, int status)
{
	struct nl_msg *msg;
	uint8_t cmd;
	int rc = -ENOMEM;

	switch (ev) {
	case TCMU_NL_ADDED:
		cmd = TCMU_CMD_ADDED_DEVICE_DONE;
		break;
	case TCMU_NL_REMOVED:
		cmd = TCMU_CMD_REMOVED_DEVICE_DONE;
		break;
	case TCMU_NL_RECONFIG:
		cmd = TCMU_CMD_RECONFIG_DEVICE_DONE;
		break;
	default:
		return -EINVAL;
	}
	if (status > 0)
		status = -EINVAL;
	msg = nlmsg_alloc();
	if (msg == NULL)
		return -ENOMEM;
	if (genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0, 0,
	    cmd, TCMU_NL_VERSION) == NULL ||
	    nla_put_s32(msg, TCMU_ATTR_CMD_STATUS, status) < 0 ||
	    nla_put_u32(msg, TCMU_ATTR_DEVICE_ID, info->dev_id) < 0)
		goto out;
	rc = nl_send_auto(nl->sk, msg);
	if (rc < 0) {
		log_err("tcmu: cannot answer %s of %u/%s: %s",
		    nl_event_name(ev), info->hba_id, info->dev,
		    nl_geterror(rc));
		rc = -EIO;
	} else {
		rc = 0;
	}
out:
	nlmsg_free(msg);
	return rc;
}

int
tcmu_nl_open(struct loop *l, tcmu_nl_cb fn, void *arg, struct tcmu_nl **out)
{
	struct tcmu_nl *nl;
	int grp, rc;

	*out = NULL;
	nl = xcalloc(1, sizeof(*nl));
	if (nl == NULL)
		return -ENOMEM;
	nl->loop = l;
	nl->fn = fn;
	nl->arg = arg;
	nl->fd = -1;
	nl->sk = nl_socket_alloc();
	nl->cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (nl->sk == NULL || nl->cb == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	if (genl_connect(nl->sk) < 0) {
		rc = -EIO;
		goto fail;
	}
	nl->family = genl_ctrl_resolve(nl->sk, TCMU_NL_FAMILY);
	if (nl->family < 0) {
		rc = -ENOENT;
		goto fail;
	}
	grp = genl_ctrl_resolve_grp(nl->sk, TCMU_NL_FAMILY, TCMU_NL_GROUP);
	if (grp < 0 || nl_socket_add_membership(nl->sk, grp) < 0) {
		rc = grp < 0 ? -ENOENT : -EIO;
		goto fail;
	}
	/* events carry sequence number 0 */
	nl_socket_disable_seq_check(nl->sk);
	/* no ACK for good answers; the kernel still reports errors */
	nl_socket_disable_auto_ack(nl->sk);
	nl_cb_set(nl->cb, NL_CB_VALID, NL_CB_CUSTOM, nl_valid, nl);
	nl_cb_err(nl->cb, NL_CB_CUSTOM, nl_error, nl);
	if (nl_socket_set_nonblocking(nl->sk) < 0) {
		rc = -EIO;
		goto fail;
	}
	nl->fd = nl_socket_get_fd(nl->sk);
	rc = loop_fd_add(l, nl->fd, EPOLLIN, nl_readable, nl);
	if (rc)
		goto fail;
	rc = nl_set_reply(nl, 1);
	if (rc)
		log_warn("tcmu: SET_FEATURES failed; the kernel will not wait "
		    "for our answers");
	else
		nl->reply_feature = true;
	*out = nl;
	return 0;
fail:
	if (nl->fd >= 0)
		loop_fd_del(l, nl->fd);
	if (nl->cb != NULL)
		nl_cb_put(nl->cb);
	if (nl->sk != NULL)
		nl_socket_free(nl->sk);
	free(nl);
	return rc;
}

void
tcmu_nl_close(struct tcmu_nl *nl)
{
	if (nl == NULL)
		return;
	if (nl->reply_feature && nl_set_reply(nl, 0) != 0)
		log_warn("tcmu: could not withdraw netlink reply support");
	loop_fd_del(nl->loop, nl->fd);
	nl_cb_put(nl->cb);
	nl_socket_free(nl->sk);		/* closes fd */
	free(nl);
}
