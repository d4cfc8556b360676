# iscsi.mk: the iSCSI front end (RFC 7143 target).
# Connection side: PDUs, CRC32C digests, connections, sessions, SCSI
# glue, task management, listeners.  Login side: text keys, CHAP, login
# and text state machines.
libtpcd_a_SOURCES += \
	src/target/crc32c.c src/target/crc32c.h \
	src/target/iscsi.h src/target/iscsi_int.h src/target/iscsi_conn.h \
	src/target/iscsi_pdu.c src/target/iscsi_conn.c \
	src/target/iscsi_session.c src/target/iscsi_scsi.c \
	src/target/iscsi_tmf.c src/target/iscsi_listen.c \
	src/target/iscsi_param.c src/target/iscsi_param.h \
	src/target/iscsi_chap.c src/target/iscsi_chap.h \
	src/target/iscsi_login.c src/target/iscsi_login.h \
	src/target/iscsi_text.c

check_PROGRAMS += tests/unit/check_iscsi_pdu
TESTS += tests/unit/check_iscsi_pdu
tests_unit_check_iscsi_pdu_SOURCES = tests/unit/check_iscsi_pdu.c
tests_unit_check_iscsi_pdu_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_iscsi_pdu_LDADD = $(UNIT_LIBS)
