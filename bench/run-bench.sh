#!/bin/sh
# run-bench.sh - tpcd against tgt on the same backing file, same client.
#
# Creates (once) a 1 GiB file, serves it with tpcd (fileio, write-back)
# and with tgtd (rdwr backing store), both on 127.0.0.1 only, and runs
# bench/iscsi-load against each:
#   4 KiB random read and write at QD32, 1 MiB sequential read and write
#   at QD8.
# Prints each figure and the ratio tpcd/tgt.
#
# Environment: TPCD (daemon), ISCSI_LOAD (client), BENCH_FILE
# (/var/tmp/tpcd-bench.img), BENCH_SECONDS (10), BENCH_SESSIONS (1),
# BENCH_TGT_PORT (3262), BENCH_SKIP_TGT=1 to measure tpcd only.
# tgtd needs root; without it only tpcd is measured.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${TOP_SRCDIR:=$(cd "$here/.." && pwd)}"
: "${TOP_BUILDDIR:=$TOP_SRCDIR}"
: "${TPCD:=$TOP_BUILDDIR/tpcd}"
: "${ISCSI_LOAD:=$TOP_BUILDDIR/bench/iscsi-load}"
: "${BENCH_FILE:=/var/tmp/tpcd-bench.img}"
: "${BENCH_SECONDS:=10}"
: "${BENCH_SESSIONS:=1}"
: "${BENCH_TGT_PORT:=3262}"
: "${BENCH_SKIP_TGT:=}"
TGT_IQN=iqn.2026-11.org.tpcd:bench-tgt
TPCD_IQN=iqn.2026-11.org.tpcd:bench
TGT_CTL=77		# tgtd control port: private to this run
tgt_pid=

[ -x "$ISCSI_LOAD" ] || { echo "missing $ISCSI_LOAD (make bench/iscsi-load)"; exit 1; }
[ -x "$TPCD" ] || { echo "missing $TPCD (make)"; exit 1; }

if [ ! -f "$BENCH_FILE" ] || [ "$(stat -c %s "$BENCH_FILE")" -ne 1073741824 ]; then
	echo "writing $BENCH_FILE (1 GiB, fully allocated)"
	dd if=/dev/zero of="$BENCH_FILE" bs=1M count=1024 conv=fsync status=none ||
	    exit 1
fi

. "$TOP_SRCDIR/tests/integration/lib.sh"

cleanup()
{
	if [ -n "$tgt_pid" ]; then
		tgtadm -C $TGT_CTL --op delete --mode system >/dev/null 2>&1
		kill "$tgt_pid" 2>/dev/null
		wait "$tgt_pid" 2>/dev/null
	fi
	tpcd_finish
}
trap cleanup EXIT

# workload name, iscsi-load options
WORKLOADS="randread-4k:-r -b 4k -q 32
randwrite-4k:-r -w -b 4k -q 32
seqread-1m:-S -b 1M -q 8
seqwrite-1m:-S -w -b 1M -q 8"

run_all()	# label portal iqn lun
{
	echo "$WORKLOADS" | while IFS=: read -r name args; do
		# shellcheck disable=SC2086
		out=$("$ISCSI_LOAD" -p "$2" -t "$3" -l "$4" -s "$BENCH_SESSIONS" \
		    -d "$BENCH_SECONDS" $args 2>&1)
		echo "$out" | grep -v '^RESULT' | sed "s/^/  $1: /"
		r=$(echo "$out" | sed -n 's/^RESULT iops=\([0-9.]*\) mibs=\([0-9.]*\).*/\1 \2/p')
		echo "$1 $name ${r:-0 0}" >> "$results"
	done
}

results=$(mktemp "${TMPDIR:-/tmp}/bench.XXXXXX")
conf=$(mktemp "${TMPDIR:-/tmp}/bench-conf.XXXXXX")
cat > "$conf" <<JSON
{
  "storage_objects": [
    { "plugin": "fileio", "name": "bench", "dev": "$BENCH_FILE",
      "size": 1073741824, "write_back": true }
  ],
  "targets": [ { "wwn": "$TPCD_IQN", "fabric": "iscsi", "tpgs": [ {
    "tag": 1, "enable": true,
    "attributes": { "authentication": 0, "generate_node_acls": 1,
                    "demo_mode_write_protect": 0 },
    "portals": [ { "ip_address": "127.0.0.1", "port": @PORT@ } ],
    "luns": [ { "index": 0, "storage_object": "/backstores/fileio/bench" } ],
    "node_acls": [] } ] } ]
}
JSON
echo "== tpcd ($TPCD)"
tpcd_start "$conf" >/dev/null
run_all tpcd "$TPCD_PORTAL" "$TPCD_IQN" 0
tpcd_stop >/dev/null
rm -f "$conf"

if [ -z "$BENCH_SKIP_TGT" ] && command -v tgtd >/dev/null 2>&1 &&
    [ "$(id -u)" -eq 0 ]; then
	echo "== tgt (tgtd on 127.0.0.1:$BENCH_TGT_PORT, rdwr)"
	tgtd -C $TGT_CTL --iscsi portal=127.0.0.1:$BENCH_TGT_PORT -f \
	    >/dev/null 2>&1 &
	tgt_pid=$!
	sleep 1
	T="tgtadm -C $TGT_CTL --lld iscsi"
	$T --op new --mode target --tid 1 -T $TGT_IQN &&
	$T --op new --mode logicalunit --tid 1 --lun 1 -b "$BENCH_FILE" \
	    --bstype rdwr &&
	$T --op bind --mode target --tid 1 -I ALL ||
	    { echo "tgt setup failed"; exit 1; }
	run_all tgt "127.0.0.1:$BENCH_TGT_PORT" $TGT_IQN 1
else
	echo "== tgt skipped (needs root and tgtd; BENCH_SKIP_TGT=$BENCH_SKIP_TGT)"
fi

echo
echo "sessions=$BENCH_SESSIONS, $BENCH_SECONDS s per run, file $BENCH_FILE"
awk '
	{ iops[$1 " " $2] = $3; mibs[$1 " " $2] = $4; w[$2] = 1; order[++n] = $2 }
	END {
		printf "%-14s %12s %10s %12s %10s %8s\n", "workload",
		    "tpcd IOPS", "tpcd MiB/s", "tgt IOPS", "tgt MiB/s", "ratio"
		for (i = 1; i <= n; i++) {
			k = order[i]
			if (seen[k]++)
				continue
			t = "tpcd " k; g = "tgt " k
			ratio = (g in iops && iops[g] > 0) ? \
			    sprintf("%.2f", iops[t] / iops[g]) : "-"
			printf "%-14s %12.0f %10.1f %12s %10s %8s\n", k, iops[t],
			    mibs[t], (g in iops) ? sprintf("%.0f", iops[g]) : "-",
			    (g in mibs) ? sprintf("%.1f", mibs[g]) : "-", ratio
		}
	}' "$results"
rm -f "$results"
