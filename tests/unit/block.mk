# block.mk: the "block" backstore's tests.  The unit test needs root and
# loop devices (it exits 77, SKIP, without them); the integration test
# serves two loop devices over iSCSI and runs iscsi-test-cu and an
# EXTENDED COPY between them.
check_PROGRAMS += tests/unit/check_bs_block
TESTS += tests/unit/check_bs_block
tests_unit_check_bs_block_SOURCES = tests/unit/check_bs_block.c \
	tests/unit/bs_harness.c tests/unit/bs_harness.h
tests_unit_check_bs_block_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_bs_block_LDADD = $(UNIT_LIBS)

check_PROGRAMS += tests/integration/block_xcopy
tests_integration_block_xcopy_SOURCES = tests/integration/block_xcopy.c \
	$(ITEST_SRCS)
tests_integration_block_xcopy_CFLAGS = $(TEST_ISCSI_CFLAGS)
tests_integration_block_xcopy_LDADD = $(ITEST_LDADD)
TESTS += tests/integration/block.sh
EXTRA_DIST += tests/integration/block.sh tests/integration/conf/block.json \
	docs/backstores.md
