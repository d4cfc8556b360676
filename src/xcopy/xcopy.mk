# xcopy.mk: EXTENDED COPY LID1/LID4 command side (parser, limits, list-ID
# table and copy results commands, VPD 8Fh); the engine is in engine.mk.
libtpcd_a_SOURCES += src/xcopy/xcopy.h src/xcopy/xcopy_int.h \
	src/xcopy/xcopy_parse.c src/xcopy/tpc_limits.c \
	src/xcopy/xcopy_cmd.c src/xcopy/xcopy_status.c src/xcopy/tpc_vpd.c

check_PROGRAMS += tests/unit/check_xcopy_parse
TESTS += tests/unit/check_xcopy_parse
tests_unit_check_xcopy_parse_SOURCES = tests/unit/check_xcopy_parse.c
tests_unit_check_xcopy_parse_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_xcopy_parse_LDADD = $(UNIT_LIBS)

# Integration: real tpcd (lib.sh) with two targets and ACLs, libiscsi.
check_PROGRAMS += tests/integration/xcopy_itest
tests_integration_xcopy_itest_SOURCES = tests/integration/xcopy_itest.c \
	$(ITEST_SRCS)
tests_integration_xcopy_itest_CFLAGS = $(TEST_ISCSI_CFLAGS)
tests_integration_xcopy_itest_LDADD = $(ITEST_LDADD)
TESTS += tests/integration/xcopy.sh
EXTRA_DIST += tests/integration/xcopy.sh tests/integration/conf/xcopy.json \
	tests/fuzz/corpus/xcopy_parse

# Integration: ddpt --xcopy style copies (consecutive 65535-block LID1
# commands, list ID reused) against the default configuration.
check_PROGRAMS += tests/integration/xcopy_ddpt
tests_integration_xcopy_ddpt_SOURCES = tests/integration/xcopy_ddpt.c \
	$(ITEST_SRCS)
tests_integration_xcopy_ddpt_CFLAGS = $(TEST_ISCSI_CFLAGS)
tests_integration_xcopy_ddpt_LDADD = $(ITEST_LDADD)
TESTS += tests/integration/xcopy_ddpt.sh
EXTRA_DIST += tests/integration/xcopy_ddpt.sh
