# scsi.mk: SCSI engine (dispatch, command table, SPC/SBC handlers, sense,
# logical units and nexuses)
libtpcd_a_SOURCES += \
	src/target/lun.c \
	src/target/sbc.c \
	src/target/scsi.c \
	src/target/scsi_int.h \
	src/target/scsi_ops.c \
	src/target/sense.c \
	src/target/spc.c

check_PROGRAMS += tests/unit/check_scsi
TESTS += tests/unit/check_scsi
tests_unit_check_scsi_SOURCES = tests/unit/check_scsi.c \
	tests/unit/eng_harness.c tests/unit/eng_harness.h
tests_unit_check_scsi_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_scsi_LDADD = $(UNIT_LIBS)
libtpcd_a_SOURCES += src/target/sbc_verify.c
libtpcd_a_SOURCES += src/target/sbc_misc.c
libtpcd_a_SOURCES += src/target/pr.c src/target/pr.h
libtpcd_a_SOURCES += src/target/pr_cmd.c
libtpcd_a_SOURCES += src/target/pr_store.c
libtpcd_a_SOURCES += src/target/lun_lock.c src/target/lun_lock.h src/target/sbc_caw.c src/target/sbc_wsame.c src/target/sbc_unmap.c
libtpcd_a_SOURCES += src/target/sbc_sanitize.c
