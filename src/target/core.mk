# core.mk: runtime core (util, log, event loops, data I/O)
libtpcd_a_SOURCES += src/target/util.c src/target/util.h \
	src/target/log.c src/target/log.h \
	src/target/loop.c src/target/loop_io.c src/target/loop.h \
	src/target/loop_int.h

check_PROGRAMS += tests/unit/check_loop
TESTS += tests/unit/check_loop
tests_unit_check_loop_SOURCES = tests/unit/check_loop.c
tests_unit_check_loop_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_loop_LDADD = $(UNIT_LIBS)
