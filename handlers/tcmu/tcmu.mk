# tcmu.mk: the TCMU front end (ring, devices, glue)
libtpcd_a_SOURCES += handlers/tcmu/tcmu_int.h handlers/tcmu/tcmu.h \
	handlers/tcmu/tcmu.c handlers/tcmu/tcmu_dev.h \
	handlers/tcmu/tcmu_dev.c handlers/tcmu/tcmu_ring.h \
	handlers/tcmu/tcmu_ring.c

check_PROGRAMS += tests/unit/check_tcmu_ring
TESTS += tests/unit/check_tcmu_ring
tests_unit_check_tcmu_ring_SOURCES = tests/unit/check_tcmu_ring.c
tests_unit_check_tcmu_ring_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_tcmu_ring_LDADD = $(UNIT_LIBS)

EXTRA_DIST += handlers/tcmu/README.md docs/tcmu.md \
	tests/vm/guest/60-tcmu-basic.sh
