#!/bin/sh
# reload-hook.sh add|bad - called by the reload test program (ITEST_RECONF)
# to change tpcd's configuration and send SIGHUP.  Uses the TPCD_*
# variables exported by lib.sh's tpcd_start.
. "$TOP_SRCDIR/tests/integration/lib.sh"
case $1 in
add)
	tpcd_mkfile "$TPCD_STATE/r1.img" 32M
	tpcd_reload "$ITEST_SRC/conf/reload-add.json"
	;;
bad)
	printf '{ "targets": [ { "wwn": "iqn.2026-11.org.tpcd:reload", \n' \
	    > "$TPCD_CONF"
	kill -HUP "$TPCD_PID"
	;;
*)
	exit 2
	;;
esac
