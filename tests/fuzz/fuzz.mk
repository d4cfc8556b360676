# tests/fuzz/fuzz.mk: libFuzzer targets for the parsers (docs/fuzzing.md).
#
# Always built: one replay_<target> per target, the target's
# LLVMFuzzerTestOneInput() under a plain main() (replay.c), registered as
# a test so "make check" runs the committed seed corpus
# (tests/fuzz/corpus/<target>/) and crash reproducers
# (tests/fuzz/regress/<target>/) with any compiler.
#
# With ./configure --enable-fuzzing CC=clang: the fuzzers themselves,
# tests/fuzz/fuzz_<target>, linked with -fsanitize=fuzzer,address,undefined
# against libtpcd_fuzz.a, a copy of libtpcd.a compiled with coverage
# instrumentation and the same sanitizers (libFuzzer needs the library's
# edges, not only the harness's).  tests/fuzz/run-short.sh runs them.

FUZZ_REPLAY_CFLAGS = $(AM_CFLAGS) \
	-DFUZZ_DIR='"$(abs_top_srcdir)/tests/fuzz"'
FUZZ_REPLAYS = tests/fuzz/replay_text_keys tests/fuzz/replay_chap \
	tests/fuzz/replay_conf tests/fuzz/replay_cdb \
	tests/fuzz/replay_pdu tests/fuzz/replay_login \
	tests/fuzz/replay_ffp tests/fuzz/replay_xcopy_parse \
	tests/fuzz/replay_odx_parse tests/fuzz/replay_rod_verify \
	tests/fuzz/replay_tcmu_ring
check_PROGRAMS += $(FUZZ_REPLAYS)
TESTS += $(FUZZ_REPLAYS)
EXTRA_DIST += tests/fuzz/corpus tests/fuzz/regress \
	tests/fuzz/run-short.sh \
	tests/fuzz/make-seeds.py

tests_fuzz_replay_text_keys_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_text_keys.c
tests_fuzz_replay_text_keys_CFLAGS = $(FUZZ_REPLAY_CFLAGS) \
	-DFUZZ_NAME='"text_keys"'
tests_fuzz_replay_text_keys_LDADD = $(TPCD_LIBS)

tests_fuzz_replay_chap_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_chap.c
tests_fuzz_replay_chap_CFLAGS = $(FUZZ_REPLAY_CFLAGS) -DFUZZ_NAME='"chap"'
tests_fuzz_replay_chap_LDADD = $(TPCD_LIBS)

tests_fuzz_replay_conf_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_conf.c
tests_fuzz_replay_conf_CFLAGS = $(FUZZ_REPLAY_CFLAGS) -DFUZZ_NAME='"conf"'
tests_fuzz_replay_conf_LDADD = $(TPCD_LIBS)

tests_fuzz_replay_cdb_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_cdb.c
tests_fuzz_replay_cdb_CFLAGS = $(FUZZ_REPLAY_CFLAGS) -DFUZZ_NAME='"cdb"'
tests_fuzz_replay_cdb_LDADD = $(TPCD_LIBS)

tests_fuzz_replay_pdu_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_pdu.c
tests_fuzz_replay_pdu_CFLAGS = $(FUZZ_REPLAY_CFLAGS) -DFUZZ_NAME='"pdu"'
tests_fuzz_replay_pdu_LDADD = $(TPCD_LIBS)

tests_fuzz_replay_login_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_login.c
tests_fuzz_replay_login_CFLAGS = $(FUZZ_REPLAY_CFLAGS) -DFUZZ_NAME='"login"'
tests_fuzz_replay_login_LDADD = $(TPCD_LIBS)

# fuzz_ffp is fuzz_login.c with a fixed login in front (-DFUZZ_FFP).
tests_fuzz_replay_ffp_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_login.c
tests_fuzz_replay_ffp_CFLAGS = $(FUZZ_REPLAY_CFLAGS) -DFUZZ_NAME='"ffp"' \
	-DFUZZ_FFP
tests_fuzz_replay_ffp_LDADD = $(TPCD_LIBS)

# Targets of the third-party copy modules (their owners write the .c and
# the seeds; see the header of each file for the input format).
tests_fuzz_replay_xcopy_parse_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_xcopy_parse.c
tests_fuzz_replay_xcopy_parse_CFLAGS = $(FUZZ_REPLAY_CFLAGS) \
	-DFUZZ_NAME='"xcopy_parse"'
tests_fuzz_replay_xcopy_parse_LDADD = $(TPCD_LIBS)

tests_fuzz_replay_odx_parse_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_odx_parse.c
tests_fuzz_replay_odx_parse_CFLAGS = $(FUZZ_REPLAY_CFLAGS) \
	-DFUZZ_NAME='"odx_parse"'
tests_fuzz_replay_odx_parse_LDADD = $(TPCD_LIBS)

tests_fuzz_replay_rod_verify_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_rod_verify.c
tests_fuzz_replay_rod_verify_CFLAGS = $(FUZZ_REPLAY_CFLAGS) \
	-DFUZZ_NAME='"rod_verify"'
tests_fuzz_replay_rod_verify_LDADD = $(TPCD_LIBS)

# TCMU command ring (handlers/tcmu/tcmu_ring.c) on a corrupt mapping.
tests_fuzz_replay_tcmu_ring_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_tcmu_ring.c
tests_fuzz_replay_tcmu_ring_CFLAGS = $(FUZZ_REPLAY_CFLAGS) \
	-DFUZZ_NAME='"tcmu_ring"'
tests_fuzz_replay_tcmu_ring_LDADD = $(TPCD_LIBS)

if FUZZING
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -g
FUZZ_CC = $(AM_CFLAGS) -fsanitize=fuzzer $(FUZZ_SAN)
FUZZ_LINK = -fsanitize=fuzzer $(FUZZ_SAN)
FUZZ_LINK_LIBS = libtpcd_fuzz.a $(OPENSSL_LIBS) $(JSONC_LIBS) \
	$(URING_LIBS) $(LIBNL_LIBS) -lpthread

noinst_LIBRARIES += libtpcd_fuzz.a
libtpcd_fuzz_a_SOURCES = $(libtpcd_a_SOURCES)
libtpcd_fuzz_a_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN)

noinst_PROGRAMS += tests/fuzz/fuzz_text_keys tests/fuzz/fuzz_chap \
	tests/fuzz/fuzz_conf tests/fuzz/fuzz_cdb tests/fuzz/fuzz_pdu \
	tests/fuzz/fuzz_login tests/fuzz/fuzz_ffp tests/fuzz/fuzz_xcopy_parse \
	tests/fuzz/fuzz_odx_parse tests/fuzz/fuzz_rod_verify \
	tests/fuzz/fuzz_tcmu_ring

tests_fuzz_fuzz_text_keys_SOURCES = tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_text_keys.c
tests_fuzz_fuzz_text_keys_CFLAGS = $(FUZZ_CC)
tests_fuzz_fuzz_text_keys_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_text_keys_LDADD = $(FUZZ_LINK_LIBS)

tests_fuzz_fuzz_chap_SOURCES = tests/fuzz/fuzz.h tests/fuzz/fuzz_chap.c
tests_fuzz_fuzz_chap_CFLAGS = $(FUZZ_CC)
tests_fuzz_fuzz_chap_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_chap_LDADD = $(FUZZ_LINK_LIBS)

tests_fuzz_fuzz_conf_SOURCES = tests/fuzz/fuzz.h tests/fuzz/fuzz_conf.c
tests_fuzz_fuzz_conf_CFLAGS = $(FUZZ_CC)
tests_fuzz_fuzz_conf_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_conf_LDADD = $(FUZZ_LINK_LIBS)

tests_fuzz_fuzz_cdb_SOURCES = tests/fuzz/fuzz.h tests/fuzz/fuzz_cdb.c
tests_fuzz_fuzz_cdb_CFLAGS = $(FUZZ_CC)
tests_fuzz_fuzz_cdb_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_cdb_LDADD = $(FUZZ_LINK_LIBS)

tests_fuzz_fuzz_pdu_SOURCES = tests/fuzz/fuzz.h tests/fuzz/fuzz_pdu.c
tests_fuzz_fuzz_pdu_CFLAGS = $(FUZZ_CC)
tests_fuzz_fuzz_pdu_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_pdu_LDADD = $(FUZZ_LINK_LIBS)

tests_fuzz_fuzz_login_SOURCES = tests/fuzz/fuzz.h tests/fuzz/fuzz_login.c
tests_fuzz_fuzz_login_CFLAGS = $(FUZZ_CC)
tests_fuzz_fuzz_login_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_login_LDADD = $(FUZZ_LINK_LIBS)

tests_fuzz_fuzz_ffp_SOURCES = tests/fuzz/fuzz.h tests/fuzz/fuzz_login.c
tests_fuzz_fuzz_ffp_CFLAGS = $(FUZZ_CC) -DFUZZ_FFP
tests_fuzz_fuzz_ffp_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_ffp_LDADD = $(FUZZ_LINK_LIBS)

tests_fuzz_fuzz_xcopy_parse_SOURCES = tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_xcopy_parse.c
tests_fuzz_fuzz_xcopy_parse_CFLAGS = $(FUZZ_CC)
tests_fuzz_fuzz_xcopy_parse_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_xcopy_parse_LDADD = $(FUZZ_LINK_LIBS)

tests_fuzz_fuzz_odx_parse_SOURCES = tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_odx_parse.c
tests_fuzz_fuzz_odx_parse_CFLAGS = $(FUZZ_CC)
tests_fuzz_fuzz_odx_parse_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_odx_parse_LDADD = $(FUZZ_LINK_LIBS)

tests_fuzz_fuzz_rod_verify_SOURCES = tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_rod_verify.c
tests_fuzz_fuzz_rod_verify_CFLAGS = $(FUZZ_CC)
tests_fuzz_fuzz_rod_verify_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_rod_verify_LDADD = $(FUZZ_LINK_LIBS)

tests_fuzz_fuzz_tcmu_ring_SOURCES = tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_tcmu_ring.c
tests_fuzz_fuzz_tcmu_ring_CFLAGS = $(FUZZ_CC)
tests_fuzz_fuzz_tcmu_ring_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_tcmu_ring_LDADD = $(FUZZ_LINK_LIBS)
endif
