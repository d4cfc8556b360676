# bench.mk: the load generator and `make bench` (tpcd against tgt on the
# same backing file; see docs/bench.md).
noinst_PROGRAMS += bench/iscsi-load
bench_iscsi_load_SOURCES = bench/iscsi-load.c
bench_iscsi_load_CFLAGS = $(TEST_ISCSI_CFLAGS) -pthread
bench_iscsi_load_LDADD = $(TEST_ISCSI_LIBS) -lpthread
EXTRA_DIST += bench/run-bench.sh bench/copy-bench-lib.sh

.PHONY: bench
bench: tpcd$(EXEEXT) bench/iscsi-load$(EXEEXT)
	TPCD=$(abs_top_builddir)/tpcd$(EXEEXT) \
	ISCSI_LOAD=$(abs_top_builddir)/bench/iscsi-load$(EXEEXT) \
	TOP_SRCDIR=$(abs_top_srcdir) TOP_BUILDDIR=$(abs_top_builddir) \
	$(SHELL) $(top_srcdir)/bench/run-bench.sh
# bench/tcmu-bench.sh is a guest script (tests/vm/run-guest.sh), see docs/bench.md
EXTRA_DIST += bench/tcmu-bench.sh
