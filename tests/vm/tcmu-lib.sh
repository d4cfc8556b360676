# Shell helpers for the TCMU guest tests (tests/vm/guest/6*-tcmu-*.sh) and
# bench/tcmu-bench.sh, sourced after guest-lib.sh:
#	. "$VM_SRC/tests/vm/guest-lib.sh"
#	. "$VM_SRC/tests/vm/tcmu-lib.sh"
#
# Everything is done through configfs (no targetcli: one targetcli start
# costs 10-30 s under TCG, and targetcli has no user:tpcd backstore unless
# a D-Bus TCMUService1 provider advertises a "tpcd" handler, see
# docs/vm-tests.md).
#
# Setup:	tcmu_modules                 modules, configfs
# Backstores:	tcmu_dev_create HBA NAME CFG SIZE [SERIAL]   user:, "tpcd/CFG"
#		tcmu_dev_remove HBA NAME
#		lio_fileio_create HBA NAME FILE SIZE [SERIAL] [buffered]
#		lio_dev_remove PLUGIN_HBA NAME   (e.g. fileio_1 f0)
# iSCSI (LIO):	lio_target IQN [demo|acl]    TPG 1 on VM_PORTAL, enabled
#		lio_lun IQN LUN BACKSTORE    BACKSTORE: core dir "user_1/d0"
#		lio_lun_del IQN LUN
#		lio_acl IQN INITIATOR MAPPED_LUN TPG_LUN
#		lio_target_del IQN
# tpcd:		tcmu_tpcd_conf FILE [SO_NAME SO_FILE SO_SIZE]
#		tcmu_attached HBA NAME [SECONDS]  tpcd maps its uio ring
# shellcheck shell=bash

LIO=/sys/kernel/config/target
TCMU_OWN_PORT=${TCMU_OWN_PORT:-3261}	# tpcd's own iSCSI listener

# tcmu_modules: LIO core, user: and fileio backstores, iSCSI target, and
# configfs mounted (the guest mounts it at boot only if it is built in).
tcmu_modules() {
	modprobe -a configfs target_core_mod target_core_user \
	    target_core_file iscsi_target_mod || return 1
	if [ ! -d "$LIO" ]; then
		grep -q ' /sys/kernel/config configfs ' /proc/mounts ||
		    mount -t configfs configfs /sys/kernel/config || return 1
	fi
	test -d "$LIO/core"
}

# uuid: a fresh unit serial
tcmu_uuid() {
	cat /proc/sys/kernel/random/uuid
}

# tcmu_dev_create HBA NAME CFG SIZE [SERIAL] [wce]: LIO user: device with
# dev_config=tpcd/CFG.  The serial (and with "wce" emulate_write_cache=1:
# tpcd's file backstore then writes through the page cache without
# O_DSYNC) is set before enable, so tpcd reads it at attach.  With
# TCMU_HW_MAX_SECTORS set, hw_max_sectors too (LIO's default for user:
# is 128, 64 KiB: longer READ/WRITEs get INVALID FIELD IN CDB, from LIO's
# own backstores as from tpcd).  A kernel waiting for a netlink reply that never comes would
# block the enable write: 60 s limit.
tcmu_dev_create() {
	local d=$LIO/core/user_$1/$2 cfg=$3 size=$4 serial=${5:-$(tcmu_uuid)}
	mkdir -p "$d" || return 1
	printf 'dev_config=tpcd/%s' "$cfg" >"$d/control" || return 1
	printf 'dev_size=%s' "$size" >"$d/control" || return 1
	printf '%s' "$serial" >"$d/wwn/vpd_unit_serial" || return 1
	if [ "${6:-}" = wce ]; then
		echo 1 >"$d/attrib/emulate_write_cache" || return 1
	fi
	if [ -n "${TCMU_HW_MAX_SECTORS:-}" ]; then
		printf 'hw_max_sectors=%s' "$TCMU_HW_MAX_SECTORS" \
		    >"$d/control" || return 1
	fi
	timeout 60 sh -c "printf 1 >'$d/enable'" || {
		echo "tcmu_dev_create: enable of user_$1/$2 failed or hung" >&2
		return 1
	}
	printf '%s: ' "user_$1/$2"
	tr -d '\n' <"$d/info"
	echo
}

# lio_dev_remove HBA_DIR NAME: rmdir the device (and its HBA when empty);
# 60 s limit (a user: device waits for the handler's netlink reply).
lio_dev_remove() {
	local h=$LIO/core/$1
	timeout 60 rmdir "$h/$2" || {
		echo "lio_dev_remove: rmdir $1/$2 failed or hung" >&2
		return 1
	}
	rmdir "$h" 2>/dev/null
	return 0
}

tcmu_dev_remove() {
	lio_dev_remove "user_$1" "$2"
}

# lio_fileio_create HBA NAME FILE SIZE [SERIAL] [buffered]: LIO fileio
# device (O_DSYNC, like targetcli write_back=false, unless "buffered").
lio_fileio_create() {
	local d=$LIO/core/fileio_$1/$2 serial=${5:-$(tcmu_uuid)}
	[ -e "$3" ] || truncate -s "$4" "$3" || return 1	# sparse
	mkdir -p "$d" || return 1
	printf 'fd_dev_name=%s,fd_dev_size=%s' "$3" "$4" >"$d/control" ||
	    return 1
	if [ "${6:-}" = buffered ]; then
		printf 'fd_buffered_io=1' >"$d/control" || return 1
	fi
	printf '%s' "$serial" >"$d/wwn/vpd_unit_serial" || return 1
	printf 1 >"$d/enable" || return 1
	printf '%s: ' "fileio_$1/$2"
	tr -d '\n' <"$d/info"
	echo
}

# lio_target IQN [demo|acl]: iSCSI target, TPG 1 listening on VM_PORTAL,
# no CHAP; demo (default): every initiator sees every LUN; acl: only
# initiators with an ACL (lio_acl) and only their mapped LUNs.
lio_target() {
	local t=$LIO/iscsi/$1/tpgt_1 mode=${2:-demo}
	mkdir -p "$t/np/$VM_PORTAL" || return 1
	echo 0 >"$t/attrib/authentication" || return 1
	echo 0 >"$t/attrib/demo_mode_write_protect" || return 1
	if [ "$mode" = demo ]; then
		echo 1 >"$t/attrib/generate_node_acls" || return 1
		echo 1 >"$t/attrib/cache_dynamic_acls" || return 1
	else
		echo 0 >"$t/attrib/generate_node_acls" || return 1
	fi
	echo 1 >"$t/enable"
}

# lio_lun IQN LUN BACKSTORE: export core/BACKSTORE as LUN of TPG 1.
lio_lun() {
	local l=$LIO/iscsi/$1/tpgt_1/lun/lun_$2
	mkdir -p "$l" || return 1
	ln -s "$LIO/core/$3" "$l/${3//\//_}"
}

# lio_unlink DIR: remove the symbolic links in DIR (configfs attribute
# files cannot be removed), then DIR.
lio_unlink() {
	local x
	for x in "$1"/*; do
		[ -L "$x" ] && { rm -f "$x" || return 1; }
	done
	rmdir "$1"
}

# lio_lun_del IQN LUN: unlink the LUN (ACL mappings of it first).
lio_lun_del() {
	local t=$LIO/iscsi/$1/tpgt_1 m x
	for m in "$t"/acls/*/lun_*; do
		[ -d "$m" ] || continue
		for x in "$m"/*; do
			[ -L "$x" ] || continue
			[ "$(readlink -f "$x")" = "$(readlink -f "$t/lun/lun_$2")" ] &&
			    { lio_unlink "$m" || return 1; }
			break
		done
	done
	lio_unlink "$t/lun/lun_$2"
}

# lio_acl IQN INITIATOR MAPPED_LUN TPG_LUN: the initiator sees TPG_LUN as
# MAPPED_LUN.
lio_acl() {
	local a=$LIO/iscsi/$1/tpgt_1/acls/$2
	mkdir -p "$a/lun_$3" || return 1
	ln -s "$LIO/iscsi/$1/tpgt_1/lun/lun_$4" "$a/lun_$3/map"
}

# lio_target_del IQN: every ACL, LUN, portal, then the target.
lio_target_del() {
	local t=$LIO/iscsi/$1/tpgt_1 x
	[ -d "$t" ] || return 0
	echo 0 >"$t/enable" 2>/dev/null
	for x in "$t"/acls/*/lun_*; do
		[ -d "$x" ] && lio_unlink "$x"
	done
	for x in "$t"/acls/*; do
		[ -d "$x" ] && rmdir "$x"
	done
	for x in "$t"/lun/lun_*; do
		[ -d "$x" ] && lio_unlink "$x"
	done
	for x in "$t"/np/*; do
		[ -d "$x" ] && rmdir "$x"
	done
	rmdir "$t" "$LIO/iscsi/$1"
}

# tcmu_tpcd_conf FILE [SO_NAME SO_FILE SO_SIZE]: a tpcd configuration with
# the TCMU front end mandatory ("tcmu": "on"), its own iSCSI listener on
# 127.0.0.1:TCMU_OWN_PORT (LIO has 3260) with one small mem LU, and
# optionally a fileio storage object that "tpcd/SO_NAME" devices serve
# (not exported by tpcd's own target).
tcmu_tpcd_conf() {
	local so=""
	if [ $# -ge 4 ]; then
		so=$(printf ',\n    { "plugin": "fileio", "name": "%s", "dev": "%s", "size": "%s", "write_back": true }' \
		    "$2" "$3" "$4")
	fi
	cat >"$1" <<EOF
{
  "storage_objects": [
    { "plugin": "mem", "name": "own0", "size": "16M" }$so
  ],
  "targets": [ {
    "fabric": "iscsi",
    "wwn": "iqn.2026-11.org.tpcd:own",
    "tpgs": [ {
      "tag": 1,
      "portals": [ { "ip_address": "127.0.0.1", "port": $TCMU_OWN_PORT } ],
      "luns": [ { "index": 0, "storage_object": "/backstores/mem/own0" } ],
      "attributes": { "authentication": 0, "generate_node_acls": 1,
          "demo_mode_write_protect": 0 }
    } ]
  } ],
  "tpcd": { "tcmu": "on" }
}
EOF
}

# tcmu_uio HBA NAME: print the /dev/uioN of user_HBA/NAME.
tcmu_uio() {
	local u
	for u in /sys/class/uio/uio*; do
		case $(cat "$u/name" 2>/dev/null) in
		"tcm-user/$1/$2/"*)
			echo "/dev/${u##*/}"
			return 0
			;;
		esac
	done
	return 1
}

# tcmu_attached HBA NAME [SECONDS]: wait (20 s) until tpcd has the uio
# node of user_HBA/NAME mapped (its ring), which is what serving means.
tcmu_attached() {
	local uio i
	uio=$(tcmu_uio "$1" "$2") || {
		echo "tcmu_attached: no uio device for user_$1/$2" >&2
		return 1
	}
	for ((i = 0; i < ${3:-20} * 5; i++)); do
		[ -n "$TPCD_PID" ] && grep -q " $uio\$" "/proc/$TPCD_PID/maps" \
		    2>/dev/null && return 0
		sleep 0.2
	done
	echo "tcmu_attached: tpcd (pid ${TPCD_PID:-none}) has not mapped $uio" >&2
	return 1
}

# tcmu_mapped_count: how many distinct uio nodes tpcd has mapped.
tcmu_mapped_count() {
	grep -o ' /dev/uio[0-9]*$' "/proc/$TPCD_PID/maps" 2>/dev/null |
	    sort -u | wc -l
}

# tcmu_sd_delete SD: drop a disk from the initiator (before its LUN goes).
tcmu_sd_delete() {
	echo 1 >"/sys/block/${1#/dev/}/device/delete"
}

# tcmu_rescan IQN NLUNS: rescan the session, wait for LUNs 0..NLUNS-1.
tcmu_rescan() {
	local l ok
	iscsiadm -m session -R >/dev/null || return 1
	for _ in $(seq 150); do
		ok=1
		for ((l = 0; l < $2; l++)); do
			vm_lun_dev "$1" "$l" >/dev/null || { ok=0; break; }
		done
		[ "$ok" = 1 ] && return 0
		sleep 0.2
	done
	echo "tcmu_rescan: LUNs of $1 did not appear" >&2
	lsscsi -g >&2
	return 1
}
