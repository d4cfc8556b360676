# sbc2.mk - Complete SPC/SBC part 1: COMPARE AND WRITE, WRITE SAME, UNMAP,
# GET LBA STATUS, LBA range locks.  Sources are listed in
# src/target/scsi.mk; this fragment holds their tests.

check_PROGRAMS += tests/unit/check_sbc2
TESTS += tests/unit/check_sbc2
tests_unit_check_sbc2_SOURCES = tests/unit/check_sbc2.c \
	tests/unit/eng_harness.c tests/unit/eng_harness.h
tests_unit_check_sbc2_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_sbc2_LDADD = $(UNIT_LIBS)

# Integration: real tpcd (lib.sh), libiscsi clients.
check_PROGRAMS += tests/integration/sbc2_caw tests/integration/sbc2_full
tests_integration_sbc2_caw_SOURCES = tests/integration/sbc2_caw.c \
	$(ITEST_SRCS)
tests_integration_sbc2_caw_CFLAGS = $(TEST_ISCSI_CFLAGS) -pthread
tests_integration_sbc2_caw_LDADD = $(ITEST_LDADD)
tests_integration_sbc2_full_SOURCES = tests/integration/sbc2_full.c \
	$(ITEST_SRCS)
tests_integration_sbc2_full_CFLAGS = $(TEST_ISCSI_CFLAGS)
tests_integration_sbc2_full_LDADD = $(ITEST_LDADD)
TESTS += tests/integration/sbc2_caw.sh tests/integration/sbc2_full.sh
EXTRA_DIST += tests/integration/sbc2_caw.sh tests/integration/sbc2_full.sh \
	tests/integration/conf/sbc2_full.json
