/*
 * tcmu_dbus.h - org.kernel.TCMUService1 on the system D-Bus, so that
 * targetcli lists /backstores/user:tpcd and creates tpcd's user:
 * backstores (docs/tcmu.md, "targetcli").
 *
 * targetcli-fb shows a user:<handler> backstore for every object that the
 * owner of the bus name org.kernel.TCMUService1 reports under
 * /org/kernel/TCMUService1 (org.freedesktop.DBus.ObjectManager); before it
 * creates a storage object it asks that handler's CheckConfig.  tpcd
 * publishes one handler, /org/kernel/TCMUService1/tpcd, with interface
 * org.kernel.TCMUService1:
 *
 *   property   ConfigDesc  s   the cfgstring grammar (targetcli's
 *                              "help create")
 *   property   SubType     s   "tpcd"
 *   method     CheckConfig (s config) -> (b ok, s message)
 *                              config is "tpcd/<cfgstring>"; parsed and
 *                              checked by tcmu_cfg_check() (no backstore
 *                              is opened)
 *   method     ChangeMedium (s name, t size, s config) -> (i rc, s msg)
 *                              always -EOPNOTSUPP
 *
 * The methods answer privileged callers only (CAP_SYS_ADMIN, or tpcd's
 * own uid), as sd-bus does by default: CheckConfig stat()s any path it is
 * given.  The properties and GetManagedObjects are public.
 *
 * The connection is non-blocking and lives on loop 0 (like the netlink
 * socket).  No bus, or the name owned by someone else (tcmu-runner): a
 * warning, and tpcd goes on without D-Bus.  Built without libsystemd:
 * tcmu_dbus_open() logs that once and returns -ENOTSUP.
 *
 * Both functions run on loop 0 (tcmu_start/stop) or, for close, in the
 * main thread after the loops stopped (tcmu_fini).
 */
#ifndef TPCD_TCMU_DBUS_H
#define TPCD_TCMU_DBUS_H

#include <stdbool.h>

struct loop;

#define TCMU_DBUS_NAME		"org.kernel.TCMUService1"
#define TCMU_DBUS_PATH		"/org/kernel/TCMUService1"
#define TCMU_DBUS_IFACE		"org.kernel.TCMUService1"

/* Connect to the system bus (DBUS_SYSTEM_BUS_ADDRESS, else the standard
 * socket), publish the handler and ask for the name; the answer arrives
 * later on the loop.  0 when under way or already open, else -errno
 * (logged; never fatal for tpcd). */
int	tcmu_dbus_open(struct loop *);
/* Leave the bus (which releases the name).  Safe when not open. */
void	tcmu_dbus_close(void);
/* True while connected and owning the name (tests, logs). */
bool	tcmu_dbus_serving(void);

#endif
