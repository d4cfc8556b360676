/*
 * target.h - the running configuration: targets, TPGs, portals, ACLs and
 * the LU registry, built from a struct conf.
 *
 * target_apply() builds a new registry from a validated conf: storage
 * objects whose (plugin, dev, size, block size) did not change keep their
 * open backstore and struct lun, others are opened.  Only when everything
 * opened does it swap the registry (under a rwlock) and refresh the LUN map
 * of every registered nexus; otherwise the running one stays untouched.
 * Listeners are reconciled by the caller through the portal list.
 *
 * Front ends query it at login (names, CHAP secrets, ACL) and register
 * their nexuses so LUN maps and UAs follow reloads and resets.
 */
#ifndef TPCD_TARGET_H
#define TPCD_TARGET_H

#include <stdbool.h>
#include <stdint.h>

struct backstore;
struct conf;
struct lun;
struct scsi_nexus;

int	target_apply(const struct conf *, char **errmsg);
void	target_shutdown(void);

/* Login checks for initiator `initiator` reaching `target` through the
 * portal it connected to (ip text, port).  Fills the TPG tag and the
 * credentials the login must check.  Returns 0, -ENOENT (no such target or
 * not on that portal), -EACCES (ACL denies). */
struct target_auth {
	uint16_t	 tpg_tag;
	bool		 chap_required;
	char		 chap_user[256];
	char		 chap_secret[256];
	char		 mutual_user[256];	/* empty: no mutual CHAP */
	char		 mutual_secret[256];
	/* iSCSI parameters the TPG sets: "Key=Value" strings. */
	char		 params[1024];
};
int	target_login_check(const char *target, const char *initiator,
	    const char *portal_ip, uint16_t portal_port,
	    struct target_auth *out);

/* SendTargets: call fn for each target (and its portals as
 * "ip:port,tag") the initiator may see through this portal. */
typedef void (*target_visit_fn)(void *arg, const char *target,
	    const char *addr);
void	target_list_visible(const char *initiator, const char *portal_ip,
	    uint16_t portal_port, target_visit_fn fn, void *arg);

/* Nexus registration: the nexus's LUN map is built now and rebuilt on
 * every reload; UAs for added/removed LUNs are queued (3F/0E REPORTED
 * LUNS DATA HAS CHANGED). */
int	target_nexus_register(struct scsi_nexus *);
void	target_nexus_unregister(struct scsi_nexus *);
/* Call fn for every registered nexus that maps lun (for UAs on reset or
 * mode change, reservations).  Runs under the registry lock. */
void	target_foreach_nexus(const struct lun *lun,
	    void (*fn)(struct scsi_nexus *, void *), void *arg);

/* ROD token scope of the TPG nx belongs to (TPG attribute
 * tpcd_token_scope, read live so a reload applies at once): true for
 * "target" (any nexus of the target may use the target's tokens), false
 * for "nexus" (the default; also when the TPG is gone or disabled). */
bool	target_token_scope_wide(const struct scsi_nexus *);

/* The open backstore of storage object `name` of the running
 * configuration, with a reference the caller drops (backstore_put), or
 * NULL (no such object, or its plugin is not served).  For front ends
 * that serve the same storage under another identity (TCMU). */
struct backstore *target_backstore_get(const char *name);

/* Portals of enabled TPGs, for the listener. */
struct target_portal {
	char		 ip[64];
	uint16_t	 port;
};
int	target_portals(struct target_portal **out, unsigned int *n);

#endif
