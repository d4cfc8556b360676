# backstores.mk: backstore plugins (fileio, block, nvme, mem) and the common
# wrapper
libtpcd_a_SOURCES += src/backstores/backstore.c src/backstores/backstore.h \
	src/backstores/bs_file.c src/backstores/bs_mem.c
libtpcd_a_SOURCES += src/backstores/bs_block.c
libtpcd_a_SOURCES += src/backstores/bs_fd.c src/backstores/bs_fd_int.h

check_PROGRAMS += tests/unit/check_backstore
TESTS += tests/unit/check_backstore
tests_unit_check_backstore_SOURCES = tests/unit/check_backstore.c \
	tests/unit/bs_harness.c tests/unit/bs_harness.h
tests_unit_check_backstore_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_backstore_LDADD = $(UNIT_LIBS)

# nvme: an NVMe namespace on the block data path, with NVMe Copy
libtpcd_a_SOURCES += src/backstores/bs_block_int.h \
	src/backstores/bs_nvme.c src/backstores/bs_nvme_id.c \
	src/backstores/bs_nvme.h
check_PROGRAMS += tests/unit/check_bs_nvme
TESTS += tests/unit/check_bs_nvme
tests_unit_check_bs_nvme_SOURCES = tests/unit/check_bs_nvme.c
tests_unit_check_bs_nvme_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_bs_nvme_LDADD = $(UNIT_LIBS)
check_PROGRAMS += tests/unit/check_copy_nvme
TESTS += tests/unit/check_copy_nvme
tests_unit_check_copy_nvme_SOURCES = tests/unit/check_copy_nvme.c \
	tests/unit/bs_harness.c tests/unit/bs_harness.h
tests_unit_check_copy_nvme_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/src/xcopy
tests_unit_check_copy_nvme_LDADD = $(UNIT_LIBS)
