# engine.mk: the copy engine (copy_engine.c: per-job state machine;
# copy_path.c: path probe cache, per-LU counters) and the fileio copy hook.
libtpcd_a_SOURCES += src/xcopy/copy_engine.c src/xcopy/copy_engine.h \
	src/xcopy/copy_int.h src/xcopy/copy_path.c \
	src/backstores/bs_file_copy.c

check_PROGRAMS += tests/unit/check_copy_engine
TESTS += tests/unit/check_copy_engine
tests_unit_check_copy_engine_SOURCES = tests/unit/check_copy_engine.c \
	tests/unit/bs_harness.c tests/unit/bs_harness.h
tests_unit_check_copy_engine_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/src/xcopy
tests_unit_check_copy_engine_LDADD = $(UNIT_LIBS)

# EXTENDED COPY / host copy driver for bench/xcopy-bench.sh and the
# engine's integration test (tests/integration/xcopy_engine.sh).
noinst_PROGRAMS += bench/xcopy-load
bench_xcopy_load_SOURCES = bench/xcopy-load.c
bench_xcopy_load_CFLAGS = $(TEST_ISCSI_CFLAGS)
bench_xcopy_load_LDADD = $(TEST_ISCSI_LIBS)
EXTRA_DIST += bench/xcopy-bench.sh tests/integration/xcopy_engine.sh
# EXTENDED COPY through libiscsi against tpcd (copy_file_range, rw,
# overlap; as root also reflink on an XFS loop image and a real EIO)
TESTS += tests/integration/xcopy_engine.sh

.PHONY: bench-xcopy
bench-xcopy: tpcd$(EXEEXT) bench/xcopy-load$(EXEEXT)
	TPCD=$(abs_top_builddir)/tpcd$(EXEEXT) \
	XCOPY_LOAD=$(abs_top_builddir)/bench/xcopy-load$(EXEEXT) \
	TOP_SRCDIR=$(abs_top_srcdir) TOP_BUILDDIR=$(abs_top_builddir) \
	$(SHELL) $(top_srcdir)/bench/xcopy-bench.sh
