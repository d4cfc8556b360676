# pr.mk: reservations (SPC-2 RESERVE/RELEASE, persistent reservations,
# APTPL store).  Sources are listed in src/target/scsi.mk.
check_PROGRAMS += tests/unit/check_pr tests/integration/pr_aptpl
TESTS += tests/unit/check_pr
tests_unit_check_pr_SOURCES = tests/unit/check_pr.c
tests_unit_check_pr_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_pr_LDADD = $(UNIT_LIBS)

tests_integration_pr_aptpl_SOURCES = tests/integration/pr_aptpl.c \
	$(ITEST_SRCS)
tests_integration_pr_aptpl_CFLAGS = $(TEST_ISCSI_CFLAGS)
tests_integration_pr_aptpl_LDADD = $(ITEST_LDADD)

TESTS += tests/integration/pr_conformance.sh tests/integration/pr_aptpl.sh
EXTRA_DIST += tests/integration/pr_conformance.sh \
	tests/integration/pr_aptpl.sh
