/*
 * iscsi.h - the iSCSI front end (RFC 7143 target) as seen by main().
 *
 * The front end owns listeners, connections and sessions.  Listening
 * sockets live on loop 0, which also runs login; at Full Feature Phase a
 * session's connections move to the least-loaded loop.  Each session
 * holds one struct scsi_nexus registered with the target registry.
 */
#ifndef TPCD_ISCSI_H
#define TPCD_ISCSI_H

#include <stdint.h>

struct target_portal;

/* Make the set of listening portals equal to the given list: open new
 * ones, close removed ones (existing sessions stay).  Call on loop 0.
 * Returns 0 or -errno (message logged) if a new portal cannot listen. */
int	iscsi_listeners_sync(const struct target_portal *, unsigned int n);
/* Port actually bound for a portal given with port 0 (tests); 0 if none. */
uint16_t iscsi_listener_port(unsigned int idx);

/* Shutdown: stop accepting, abort or finish in-flight commands, close
 * every connection.  Calls done() on loop 0 when all are gone. */
void	iscsi_shutdown(void (*done)(void *), void *arg);

/* Global front-end knobs (set before loops start). */
struct iscsi_globals {
	unsigned int	 nop_interval_s;	/* ping idle connections */
	unsigned int	 nop_timeout_s;		/* drop if no answer */
	unsigned int	 login_timeout_s;
};
void	iscsi_set_globals(const struct iscsi_globals *);

#endif
