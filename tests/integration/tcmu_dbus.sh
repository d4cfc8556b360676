#!/bin/sh
# tcmu_dbus.sh - the D-Bus service targetcli uses (org.kernel.TCMUService1,
# handlers/tcmu/tcmu_dbus.c) on a private bus standing in for the system
# bus: GetManagedObjects lists /org/kernel/TCMUService1/tpcd with
# ConfigDesc and SubType; CheckConfig accepts good config strings and
# refuses bad ones with a precise message (missing file, directory, block
# device, unknown storage object, no "tpcd/" prefix, bad options, too long,
# a 100 KB string, a message cut inside a UTF-8 character); ChangeMedium
# answers -EOPNOTSUPP; a non-root caller is refused (as root only); a
# second tpcd finds the name taken, logs it and still serves iSCSI; no bus
# at all is only a warning.  The bus config includes conf/dbus/tpcd-tcmu.conf.
#
# No target_core_user is needed: TPCD_TCMU_DBUS=1 starts the D-Bus service
# although the TCMU front end cannot start (docs/tcmu.md).
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"

for t in dbus-daemon dbus-send; do
	command -v $t >/dev/null 2>&1 || {
		echo "SKIP: no $t (Debian: apt-get install dbus-daemon)"
		exit 77
	}
done
grep -q 'define HAVE_SD_BUS 1' "$TOP_BUILDDIR/config.h" 2>/dev/null || {
	echo "SKIP: tpcd built without sd-bus (Debian: libsystemd-dev)"
	exit 77
}

BUSDIR=$(mktemp -d "${TMPDIR:-/tmp}/tpcd-dbus.XXXXXX") || exit 1
chmod 755 "$BUSDIR"	# uid 65534 connects too (below)
BUS_PID=
A_PID='' A_STATE='' B_PID='' B_STATE=''
cleanup()
{
	for _p in $A_PID $B_PID; do
		kill -KILL "$_p" 2>/dev/null
	done
	tpcd_finish
	for _s in $A_STATE $B_STATE; do
		[ -z "${ITEST_KEEP:-}" ] && rm -rf "$_s"
	done
	[ -n "$BUS_PID" ] && kill "$BUS_PID" 2>/dev/null
	rm -rf "$BUSDIR"
}
trap cleanup EXIT

# The private bus: a system bus's default policy plus ours.
sed -e "s|@ADDRESS@|unix:path=$BUSDIR/bus|" -e "s|@USER@|$(id -un)|" \
    -e "s|@POLICY@|$TOP_SRCDIR/conf/dbus/tpcd-tcmu.conf|" \
    "$ITEST_SRC/conf/tcmu_dbus-bus.conf" >"$BUSDIR/bus.conf" ||
    itest_fail "bus config"
dbus-daemon --config-file="$BUSDIR/bus.conf" --fork --print-address=1 \
    --print-pid=1 >"$BUSDIR/out" 2>"$BUSDIR/err" ||
    itest_fail "dbus-daemon: $(cat "$BUSDIR/err")"
BUS_PID=$(sed -n 2p "$BUSDIR/out")
DBUS_SYSTEM_BUS_ADDRESS=$(sed -n 1p "$BUSDIR/out")
export DBUS_SYSTEM_BUS_ADDRESS
echo "private bus $DBUS_SYSTEM_BUS_ADDRESS (pid $BUS_PID)"

OBJ=/org/kernel/TCMUService1/tpcd
IFACE=org.kernel.TCMUService1

dsend()		# dsend OBJECT METHOD ARGS...: the reply, or the error
{
	_o=$1 _m=$2
	shift 2
	dbus-send --system --print-reply --reply-timeout=10000 \
	    --dest=org.kernel.TCMUService1 "$_o" "$_m" "$@" 2>&1
}

# wait_log FILE PATTERN WHAT: up to 10 s for PATTERN in tpcd's log FILE.
wait_log()
{
	_n=0
	while ! grep -q "$2" "$1"; do
		_n=$((_n + 1))
		[ $_n -lt 100 ] || itest_fail "$3"
		sleep 0.1
	done
}

# Wait until tpcd owns the name (its log says so).
wait_owner()
{
	wait_log "$1" 'D-Bus org.kernel.TCMUService1: targetcli' \
	    "tpcd did not take the D-Bus name"
}

TPCD_TCMU_DBUS=1
export TPCD_TCMU_DBUS
tpcd_start "$ITEST_SRC/conf/tcmu_dbus.json"
A_PID=$TPCD_PID A_STATE=$TPCD_STATE A_LOG=$TPCD_LOG A_PORTAL=$TPCD_PORTAL
wait_owner "$A_LOG"
itest_ok "tpcd owns org.kernel.TCMUService1"

# --- what targetcli reads ---
out=$(dsend /org/kernel/TCMUService1 \
    org.freedesktop.DBus.ObjectManager.GetManagedObjects) ||
    itest_fail "GetManagedObjects: $out"
echo "$out" | grep -q "object path \"$OBJ\"" ||
    itest_fail "GetManagedObjects has no $OBJ: $out"
echo "$out" | grep -q "string \"$IFACE\"" ||
    itest_fail "GetManagedObjects: no $IFACE on $OBJ: $out"
echo "$out" | grep -q 'string "ConfigDesc"' ||
    itest_fail "GetManagedObjects: no ConfigDesc: $out"
itest_ok "GetManagedObjects lists $OBJ with $IFACE"

out=$(dsend $OBJ org.freedesktop.DBus.Properties.Get string:$IFACE \
    string:SubType)
echo "$out" | grep -q 'variant *string "tpcd"' ||
    itest_fail "SubType: $out"
out=$(dsend $OBJ org.freedesktop.DBus.Properties.Get string:$IFACE \
    string:ConfigDesc)
for w in file=PATH block=DEV nvme=DEV; do
	echo "$out" | grep -q "$w" || itest_fail "ConfigDesc has no $w: $out"
done
itest_ok "SubType \"tpcd\", ConfigDesc describes the cfgstring"

# --- CheckConfig ---
FILE=$A_STATE/disk.img
tpcd_mkfile "$FILE" 16M
mkdir "$A_STATE/dir" || itest_fail mkdir

# good CONFIG: CheckConfig must answer true
good()
{
	_out=$(dsend $OBJ $IFACE.CheckConfig "string:$1")
	echo "$_out" | grep -q 'boolean true' ||
	    itest_fail "CheckConfig \"$1\" must be accepted: $_out"
	echo "ok: accepted: $1"
}

# bad CONFIG MESSAGE: false, and the message holds MESSAGE (grep -F)
bad()
{
	_out=$(dsend $OBJ $IFACE.CheckConfig "string:$1")
	echo "$_out" | grep -q 'boolean false' ||
	    itest_fail "CheckConfig \"$1\" must be refused: $_out"
	echo "$_out" | grep -qF -- "$2" ||
	    itest_fail "CheckConfig \"$1\": expected \"$2\" in: $_out"
	echo "ok: refused: $(echo "$1" | cut -c1-60): $(echo "$_out" |
	    sed -n 's/^ *string //p' | cut -c1-100)"
}

good "tpcd/file=$FILE"
good "tpcd/file=$FILE;ro=1;thin=0"
good "tpcd/so1"
good "tpcd/so1;ro=0"
bad "tpcd/file=$A_STATE/missing.img" \
    "$A_STATE/missing.img: No such file or directory"
bad "tpcd/file=$A_STATE/nodir/x.img" "No such file or directory"
bad "tpcd/file=$A_STATE/dir" "$A_STATE/dir: not a regular file (a directory)"
bad "tpcd/block=$FILE" "$FILE: not a block device"
bad "tpcd/nvme=/dev/null" "not a block device nor an NVMe"
bad "tpcd/nosuch" "no storage object \"nosuch\" in tpcd's configuration"
bad "file=$FILE" 'must begin with "tpcd/"'
bad "tcmu-runner/file=$FILE" 'must begin with "tpcd/"'
bad "" 'must begin with "tpcd/"'
bad "tpcd/" "empty config string"
bad "tpcd/file=" "empty path"
bad "tpcd/;ro=1" "empty config string"
bad "tpcd/file=$FILE;ro=2" 'unknown option "ro=2"'
bad "tpcd/file=$FILE;;thin=yes" 'unknown option "thin=yes"'
bad "tpcd/file=$FILE;ro" 'unknown option "ro"'
bad "tpcd/a=b" 'is neither file=PATH'
bad "tpcd/FILE=$FILE" 'is neither file=PATH'

# Length: LIO keeps 255 bytes of dev_config; a 100 KB string; odd bytes.
long=$(head -c 251 /dev/zero | tr '\0' a)	# "tpcd/" + 251 = 256
bad "tpcd/$long" "config string is 256 bytes; LIO keeps at most 255"
bad "tpcd/$(head -c 250 /dev/zero | tr '\0' a)" \
    "no storage object"				# 255: parsed
huge=$(head -c 100000 /dev/zero | tr '\0' x)
bad "tpcd/file=/$huge" "config string is 100011 bytes"
nl='
'
bad "tpcd/file=$A_STATE/a${nl}b" "No such file or directory"
bad "tpcd/	;ro=1" "no storage object"
# The message quotes at most 200 bytes of the string: cut inside a
# two-byte character, which must not break the (UTF-8) reply.
utf=$(printf 'ab='; i=0; while [ $i -lt 120 ]; do printf '\303\251';
    i=$((i + 1)); done)
bad "tpcd/$utf" '?" is neither file=PATH'
tpcd_alive || itest_fail "tpcd died on odd CheckConfig input"
itest_ok "CheckConfig: good and bad strings"

# --- ChangeMedium ---
out=$(dsend $OBJ $IFACE.ChangeMedium string:x uint64:16777216 \
    "string:tpcd/file=$FILE")
echo "$out" | grep -q 'int32 -95' ||
    itest_fail "ChangeMedium must answer -EOPNOTSUPP: $out"
echo "$out" | grep -q 'delete the storage object' ||
    itest_fail "ChangeMedium: no advice to re-create: $out"
itest_ok "ChangeMedium: -EOPNOTSUPP, delete and re-create"

# --- wrong signatures are refused by sd-bus, tpcd stays up ---
out=$(dsend $OBJ $IFACE.CheckConfig int32:5)
echo "$out" | grep -q 'Error' || itest_fail "CheckConfig(i) answered: $out"
out=$(dsend $OBJ $IFACE.NoSuchMethod)
echo "$out" | grep -q 'Error' || itest_fail "NoSuchMethod answered: $out"
tpcd_alive || itest_fail "tpcd died on a bad call"
itest_ok "wrong signature / unknown method: D-Bus errors"

# --- only root (or tpcd's own uid) may call the methods ---
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
	    dbus-send --system --print-reply --reply-timeout=10000 \
	    --dest=org.kernel.TCMUService1 $OBJ $IFACE.CheckConfig \
	    "string:tpcd/file=$FILE" 2>&1)
	echo "$out" | grep -q 'AccessDenied' ||
	    itest_fail "CheckConfig from uid 65534 must be refused: $out"
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
	    dbus-send --system --print-reply --reply-timeout=10000 \
	    --dest=org.kernel.TCMUService1 $OBJ \
	    org.freedesktop.DBus.Properties.Get string:$IFACE \
	    string:SubType 2>&1)
	echo "$out" | grep -q '"tpcd"' ||
	    itest_fail "SubType must be readable by anyone: $out"
	itest_ok "uid 65534: CheckConfig refused, properties readable"
else
	echo "note: not root: the unprivileged-caller check is skipped"
fi

# --- the name taken: a second tpcd goes on without D-Bus ---
TPCD_STATE='' TPCD_PID=''
tpcd_start "$ITEST_SRC/conf/tcmu_dbus.json"
B_PID=$TPCD_PID B_STATE=$TPCD_STATE B_LOG=$TPCD_LOG
wait_log "$B_LOG" 'D-Bus name org.kernel.TCMUService1 belongs to another' \
    "second tpcd: no warning about the name"
timeout 30 iscsi-inq "iscsi://$TPCD_PORTAL/iqn.2026-11.org.tpcd:dbus/0" \
    >"$BUSDIR/inq" 2>&1 || itest_fail "second tpcd: iscsi-inq: $(cat "$BUSDIR/inq")"
grep -qi 'vendor' "$BUSDIR/inq" || itest_fail "iscsi-inq: $(cat "$BUSDIR/inq")"
tpcd_stop
B_PID=
out=$(dsend $OBJ $IFACE.CheckConfig string:tpcd/so1)
echo "$out" | grep -q 'boolean true' ||
    itest_fail "the first tpcd must still answer: $out"
itest_ok "name taken: warning, iSCSI served; the owner still answers"

# --- the owner stops: the name is released ---
TPCD_PID=$A_PID TPCD_STATE=$A_STATE TPCD_LOG=$A_LOG TPCD_PORTAL=$A_PORTAL
tpcd_stop
A_PID=
out=$(dbus-send --system --print-reply --dest=org.freedesktop.DBus \
    /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner \
    string:org.kernel.TCMUService1 2>&1)
echo "$out" | grep -q 'boolean false' ||
    itest_fail "name still owned after tpcd stopped: $out"
itest_ok "name released at exit"

# --- no bus at all: a warning, tpcd serves ---
DBUS_SYSTEM_BUS_ADDRESS=unix:path=$BUSDIR/none
TPCD_STATE='' TPCD_PID=''
tpcd_start "$ITEST_SRC/conf/tcmu_dbus.json"
B_PID=$TPCD_PID B_STATE=$TPCD_STATE
wait_log "$TPCD_LOG" 'no system D-Bus' "no bus: no warning"
timeout 30 iscsi-inq "iscsi://$TPCD_PORTAL/iqn.2026-11.org.tpcd:dbus/0" \
    >/dev/null 2>&1 || itest_fail "no bus: iscsi-inq failed"
tpcd_stop
B_PID=
itest_ok "no bus: warning, iSCSI served"
