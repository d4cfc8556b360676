# tests/unit/login.mk: unit tests of the iSCSI login side (text keys,
# CHAP, the login and text state machines).
check_PROGRAMS += tests/unit/check_iscsi_param tests/unit/check_iscsi_chap \
	tests/unit/check_iscsi_login
TESTS += tests/unit/check_iscsi_param tests/unit/check_iscsi_chap \
	tests/unit/check_iscsi_login

tests_unit_check_iscsi_param_SOURCES = tests/unit/check_iscsi_param.c
tests_unit_check_iscsi_param_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_iscsi_param_LDADD = $(UNIT_LIBS)

tests_unit_check_iscsi_chap_SOURCES = tests/unit/check_iscsi_chap.c
tests_unit_check_iscsi_chap_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_iscsi_chap_LDADD = $(UNIT_LIBS)

# The login state machine against a scripted connection and target
# registry (test-local definitions of the conn side and target.h calls):
# built from the login side's sources, not from libtpcd.a, so the real
# connection side is not linked in twice.
tests_unit_check_iscsi_login_SOURCES = tests/unit/check_iscsi_login.c \
	src/target/iscsi_login.c src/target/iscsi_text.c \
	src/target/iscsi_param.c src/target/iscsi_chap.c \
	src/target/util.c src/target/log.c
tests_unit_check_iscsi_login_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_iscsi_login_LDADD = $(OPENSSL_LIBS) $(CHECK_LIBS) -lpthread
