# backstores.mk: backstore plugins (fileio, mem) and the common wrapper
libtpcd_a_SOURCES += src/backstores/backstore.c src/backstores/backstore.h \
	src/backstores/bs_file.c src/backstores/bs_mem.c
libtpcd_a_SOURCES += src/backstores/bs_block.c

check_PROGRAMS += tests/unit/check_backstore
TESTS += tests/unit/check_backstore
tests_unit_check_backstore_SOURCES = tests/unit/check_backstore.c
tests_unit_check_backstore_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_backstore_LDADD = $(UNIT_LIBS)
