# tcmu_dbus.mk: org.kernel.TCMUService1 on the system D-Bus for targetcli
# (optional: sd-bus from libsystemd, configure's HAVE_SD_BUS; without it
# tcmu_dbus.c builds as stubs).  docs/tcmu.md, "targetcli".
libtpcd_a_SOURCES += handlers/tcmu/tcmu_dbus.c handlers/tcmu/tcmu_dbus.h

# The bus policy: root may own org.kernel.TCMUService1, anyone may talk
# to it (the methods themselves answer root only).
dbussystemdir = $(datadir)/dbus-1/system.d
dist_dbussystem_DATA = conf/dbus/tpcd-tcmu.conf

# Host test: a private bus (dbus-daemon) in place of the system bus.
TESTS += tests/integration/tcmu_dbus.sh
EXTRA_DIST += tests/integration/tcmu_dbus.sh \
	tests/integration/conf/tcmu_dbus.json \
	tests/integration/conf/tcmu_dbus-bus.conf \
	tests/vm/guest/64-tcmu-targetcli.sh
