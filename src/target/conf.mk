# conf.mk: configuration (saveconfig.json), target registry; the daemon's
# main.c is listed in Makefile.am (tpcd_SOURCES).
libtpcd_a_SOURCES += src/target/conf.c src/target/conf_default.c \
	src/target/conf_file.c \
	src/target/conf.h src/target/conf_int.h \
	src/target/target.c src/target/target.h
EXTRA_DIST += conf/saveconfig.json conf/README.md
