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
tests_unit_check_scsi_SOURCES = tests/unit/check_scsi.c
tests_unit_check_scsi_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_scsi_LDADD = $(UNIT_LIBS)
