# tests.mk: integration tests (libiscsi programs run against a real tpcd
# started by tests/integration/lib.sh) and the iscsi-test-cu conformance
# run.  Unit tests live in their modules' fragments.

ITEST_SRCS = tests/integration/itest.c tests/integration/itest.h
ITEST_LDADD = $(TEST_ISCSI_LIBS) -lpthread

check_PROGRAMS += tests/integration/login tests/integration/io \
	tests/integration/sessions tests/integration/tmf \
	tests/integration/reload tests/integration/malformed

tests_integration_login_SOURCES = tests/integration/login.c $(ITEST_SRCS)
tests_integration_login_CFLAGS = $(TEST_ISCSI_CFLAGS)
tests_integration_login_LDADD = $(ITEST_LDADD)
tests_integration_io_SOURCES = tests/integration/io.c $(ITEST_SRCS)
tests_integration_io_CFLAGS = $(TEST_ISCSI_CFLAGS)
tests_integration_io_LDADD = $(ITEST_LDADD)
tests_integration_sessions_SOURCES = tests/integration/sessions.c \
	$(ITEST_SRCS)
tests_integration_sessions_CFLAGS = $(TEST_ISCSI_CFLAGS) -pthread
tests_integration_sessions_LDADD = $(ITEST_LDADD)
tests_integration_tmf_SOURCES = tests/integration/tmf.c $(ITEST_SRCS)
tests_integration_tmf_CFLAGS = $(TEST_ISCSI_CFLAGS)
tests_integration_tmf_LDADD = $(ITEST_LDADD)
tests_integration_reload_SOURCES = tests/integration/reload.c $(ITEST_SRCS)
tests_integration_reload_CFLAGS = $(TEST_ISCSI_CFLAGS)
tests_integration_reload_LDADD = $(ITEST_LDADD)
tests_integration_malformed_SOURCES = tests/integration/malformed.c \
	tests/integration/rawpdu.c tests/integration/rawpdu.h $(ITEST_SRCS)
tests_integration_malformed_CFLAGS = $(TEST_ISCSI_CFLAGS)
tests_integration_malformed_LDADD = $(ITEST_LDADD)

# Each wrapper starts a tpcd (lib.sh), runs one program, stops the daemon
# and fails on a non-zero exit or a sanitizer report in its log.
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)
TESTS += tests/integration/default.sh tests/integration/login.sh \
	tests/integration/io.sh tests/integration/sessions.sh \
	tests/integration/tmf.sh tests/integration/reload.sh \
	tests/integration/malformed.sh \
	tests/conformance/run-iscsi-test-cu.sh
dist_noinst_SCRIPTS += tests/integration/tgt-setup.sh
EXTRA_DIST += tests/integration/lib.sh tests/integration/reload-hook.sh \
	tests/integration/conf/login.json tests/integration/conf/io.json \
	tests/integration/conf/reload.json \
	tests/integration/conf/reload-add.json \
	tests/integration/conf/conformance.json \
	tests/conformance/known-failures.txt \
	tests/conformance/known-failures-tgt.txt \
	tests/integration/default.sh tests/integration/login.sh \
	tests/integration/io.sh tests/integration/sessions.sh \
	tests/integration/tmf.sh tests/integration/reload.sh \
	tests/integration/malformed.sh \
	tests/conformance/run-iscsi-test-cu.sh \
	tests/conformance/testcu-parse.awk
