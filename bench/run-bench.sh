#!/bin/sh
# run-bench.sh - tpcd against tgt on the same backing file, same client.
#
# Creates (once) a 1 GiB file, serves it with tpcd (fileio, write-back)
# and with tgtd (rdwr backing store), both on 127.0.0.1 only, and runs
# bench/iscsi-load against each:
#   4 KiB random read and write at QD32, 1 MiB sequential read and write
#   at QD8.
# Both daemons run side by side and each workload is run on tpcd, then
# on tgt, BENCH_ROUNDS times, so drift in machine load hits both alike.
# Prints each figure, then the median per target and workload and the
# ratio tpcd/tgt.
#
# Cache mode, like with like: tpcd's fileio with write_back (WCE=1, the
# file opened without O_DSYNC, writes land in the page cache) against
# tgt's rdwr backing store, which also writes through the page cache.
#
# Environment: TPCD (daemon), ISCSI_LOAD (client), BENCH_FILE
# (/var/tmp/tpcd-bench.img), BENCH_SECONDS (10), BENCH_SESSIONS (1),
# BENCH_ROUNDS (3), BENCH_TGT_PORT (3262), BENCH_SKIP_TGT=1 to measure
# tpcd only, BENCH_WORKLOADS (names to run, default all).
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
: "${BENCH_ROUNDS:=3}"
: "${BENCH_WORKLOADS:=randread-4k randwrite-4k seqread-1m seqwrite-1m}"
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
		# tgtd stays up while it has targets: remove them first.
		tgtadm -C $TGT_CTL --op delete --mode target --tid 1 --force \
		    >/dev/null 2>&1
		tgtadm -C $TGT_CTL --op delete --mode system >/dev/null 2>&1
		n=0
		while kill -0 "$tgt_pid" 2>/dev/null && [ $n -lt 30 ]; do
			sleep 0.1
			n=$((n + 1))
		done
		kill -9 "$tgt_pid" 2>/dev/null
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

run_one()	# label portal iqn lun name args
{
	# shellcheck disable=SC2086
	out=$("$ISCSI_LOAD" -p "$2" -t "$3" -l "$4" -s "$BENCH_SESSIONS" \
	    -d "$BENCH_SECONDS" $6 2>&1)
	echo "$out" | grep -v '^RESULT' | sed "s/^/  $1 $5: /"
	r=$(echo "$out" | sed -n 's/^RESULT iops=\([0-9.]*\) mibs=\([0-9.]*\).*/\1 \2/p')
	echo "$1 $5 ${r:-0 0}" >> "$results"
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
rm -f "$conf"

have_tgt=
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
	have_tgt=1
else
	echo "== tgt skipped (needs root and tgtd; BENCH_SKIP_TGT=$BENCH_SKIP_TGT)"
fi

round=1
while [ $round -le "$BENCH_ROUNDS" ]; do
	echo "== round $round of $BENCH_ROUNDS"
	echo "$WORKLOADS" | while IFS=: read -r name args; do
		case " $BENCH_WORKLOADS " in *" $name "*) ;; *) continue ;; esac
		run_one tpcd "$TPCD_PORTAL" "$TPCD_IQN" 0 "$name" "$args"
		[ -n "$have_tgt" ] &&
		    run_one tgt "127.0.0.1:$BENCH_TGT_PORT" $TGT_IQN 1 "$name" \
		    "$args"
	done
	round=$((round + 1))
done
tpcd_stop >/dev/null

echo
echo "sessions=$BENCH_SESSIONS, $BENCH_SECONDS s per run, $BENCH_ROUNDS rounds" \
    "(medians), file $BENCH_FILE"
sort -k1,1 -k2,2 -k3,3n "$results" | awk '
	function median(key,   n) {
		n = cnt[key]
		return n % 2 ? v[key, (n + 1) / 2] : \
		    (v[key, n / 2] + v[key, n / 2 + 1]) / 2
	}
	{
		k = $1 " " $2
		v[k, ++cnt[k]] = $3
		m[k] = m[k] " " $4
		if (!($2 in seen)) { seen[$2] = 1; order[++nw] = $2 }
	}
	END {
		printf "%-14s %12s %10s %12s %10s %8s\n", "workload",
		    "tpcd IOPS", "tpcd MiB/s", "tgt IOPS", "tgt MiB/s", "ratio"
		for (i = 1; i <= nw; i++) {
			w = order[i]; t = "tpcd " w; g = "tgt " w
			ti = median(t)
			gi = (g in cnt) ? median(g) : 0
			printf "%-14s %12.0f %10.1f %12s %10s %8s\n", w, ti,
			    ti * bs[w], (g in cnt) ? sprintf("%.0f", gi) : "-",
			    (g in cnt) ? sprintf("%.1f", gi * bs[w]) : "-",
			    (gi > 0) ? sprintf("%.2f", ti / gi) : "-"
		}
	}
	BEGIN {
		bs["randread-4k"] = bs["randwrite-4k"] = 4 / 1024
		bs["seqread-1m"] = bs["seqwrite-1m"] = 1
	}' 
rm -f "$results"
