# tests/unit/conf.mk: unit tests of the configuration and target registry
check_PROGRAMS += tests/unit/check_conf
TESTS += tests/unit/check_conf
tests_unit_check_conf_SOURCES = tests/unit/check_conf.c
tests_unit_check_conf_CFLAGS = $(UNIT_CFLAGS) \
	-DCONF_SAMPLE='"$(abs_top_srcdir)/conf/saveconfig.json"'
tests_unit_check_conf_LDADD = $(UNIT_LIBS)
