# tcmu_cfs.mk: TCMU netlink, configfs/sysfs readers, copy scope
libtpcd_a_SOURCES += handlers/tcmu/tcmu_cfs.c handlers/tcmu/tcmu_reach.c \
	handlers/tcmu/tcmu_reach.h handlers/tcmu/tcmu_nl.c \
	handlers/tcmu/tcmu_nl.h

check_PROGRAMS += tests/unit/check_tcmu_cfs
TESTS += tests/unit/check_tcmu_cfs
tests_unit_check_tcmu_cfs_SOURCES = tests/unit/check_tcmu_cfs.c
tests_unit_check_tcmu_cfs_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_tcmu_cfs_LDADD = $(UNIT_LIBS)

# Guest probe for tests/vm/guest/59-tcmu-netlink.sh: opens the TCM-USER
# family through tcmu_nl.c, prints events, answers them; scans and NAA.
noinst_PROGRAMS += tests/vm/tcmu-nl-probe
tests_vm_tcmu_nl_probe_SOURCES = tests/vm/tcmu-nl-probe.c
tests_vm_tcmu_nl_probe_LDADD = $(TPCD_LIBS)

EXTRA_DIST += tests/vm/guest/59-tcmu-netlink.sh
