# odx.mk: POPULATE TOKEN / WRITE USING TOKEN / RRTI / REPORT ALL ROD TOKENS
# (the "ODX" command side; tokens themselves are src/rod_token).
libtpcd_a_SOURCES += src/xcopy/odx.h src/xcopy/odx_parse.c \
	src/xcopy/odx_cmd.c

check_PROGRAMS += tests/unit/check_odx_parse
TESTS += tests/unit/check_odx_parse
tests_unit_check_odx_parse_SOURCES = tests/unit/check_odx_parse.c
tests_unit_check_odx_parse_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_odx_parse_LDADD = $(UNIT_LIBS)

# The expiry sweep timer on a real loop, registry on a fake clock.
check_PROGRAMS += tests/unit/check_odx_sweep
TESTS += tests/unit/check_odx_sweep
tests_unit_check_odx_sweep_SOURCES = tests/unit/check_odx_sweep.c
tests_unit_check_odx_sweep_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_odx_sweep_LDADD = $(UNIT_LIBS)

# Integration: real tpcd (conf/odx.json), libiscsi raw CDBs.
check_PROGRAMS += tests/integration/odx_itest
tests_integration_odx_itest_SOURCES = tests/integration/odx_itest.c \
	$(ITEST_SRCS)
tests_integration_odx_itest_CFLAGS = $(TEST_ISCSI_CFLAGS)
tests_integration_odx_itest_LDADD = $(ITEST_LDADD)
TESTS += tests/integration/odx.sh tests/integration/odx_scope.sh
EXTRA_DIST += tests/integration/odx.sh tests/integration/conf/odx.json \
	tests/integration/odx_scope.sh tests/integration/conf/odx_scope.json \
	tests/integration/conf/odx_scope2.json \
	tests/fuzz/corpus/odx_parse bench/odx-bench.sh docs/odx.md

# ODX copy / zero-token driver for bench/odx-bench.sh.
noinst_PROGRAMS += bench/odx-load
bench_odx_load_SOURCES = bench/odx-load.c
bench_odx_load_CFLAGS = $(TEST_ISCSI_CFLAGS)
bench_odx_load_LDADD = $(TEST_ISCSI_LIBS)
