# sbc3.mk: unit tests of SPC/SBC part 2 (VERIFY, WRITE AND VERIFY, ORWRITE,
# PRE-FETCH, START STOP UNIT, PREVENT ALLOW, READ DEFECT DATA, SANITIZE,
# write protection)
check_PROGRAMS += tests/unit/check_sbc3
TESTS += tests/unit/check_sbc3
tests_unit_check_sbc3_SOURCES = tests/unit/check_sbc3.c \
	tests/unit/eng_harness.c tests/unit/eng_harness.h
tests_unit_check_sbc3_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_sbc3_LDADD = $(UNIT_LIBS)
