# rod.mk: ROD tokens (rod_token.h): 512-byte layout and HMAC-SHA256
# signature, the key file, the registry of issued tokens.  No I/O but the
# key file.
libtpcd_a_SOURCES += src/rod_token/rod_token.h src/rod_token/rod_int.h \
	src/rod_token/rod_token.c src/rod_token/rod_key.c \
	src/rod_token/rod_registry.c

check_PROGRAMS += tests/unit/check_rod_token
TESTS += tests/unit/check_rod_token
tests_unit_check_rod_token_SOURCES = tests/unit/check_rod_token.c
tests_unit_check_rod_token_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_rod_token_LDADD = $(UNIT_LIBS)
EXTRA_DIST += docs/rod-tokens.md
