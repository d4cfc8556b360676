#!/bin/sh
# default.sh - the embedded default configuration: no -c, target
# iqn.2026-11.org.tpcd:default with LUN 0 and 1 on sparse files in the
# state directory; checked with the libiscsi command line tools.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"
trap tpcd_finish EXIT
command -v iscsi-ls >/dev/null || { echo "SKIP: iscsi-ls missing"; exit 77; }
tpcd_start
URL="iscsi://$TPCD_PORTAL/$TPCD_DEFAULT_IQN"

out=$(iscsi-ls -i iqn.2026-11.org.tpcd:init-a -s "iscsi://$TPCD_PORTAL" 2>&1)
echo "$out"
echo "$out" | grep -q "Target:$TPCD_DEFAULT_IQN" ||
    itest_fail "iscsi-ls does not list $TPCD_DEFAULT_IQN"
itest_ok "SendTargets lists $TPCD_DEFAULT_IQN"
nluns=$(echo "$out" | grep -c "Lun:")
[ "$nluns" -eq 2 ] || itest_fail "expected 2 LUNs, iscsi-ls shows $nluns"
itest_ok "two LUNs reported"
for lun in 0 1; do
	inq=$(iscsi-inq -i iqn.2026-11.org.tpcd:init-a "$URL/$lun" 2>&1) ||
	    itest_fail "iscsi-inq LUN $lun: $inq"
	echo "$inq" | grep -q -i "device type" ||
	    itest_fail "iscsi-inq LUN $lun: no standard INQUIRY data"
	itest_ok "LUN $lun answers INQUIRY"
done
nfiles=$(find "$TPCD_STATE" -maxdepth 2 -type f -size +1000000k | wc -l)
[ "$nfiles" -ge 2 ] || itest_fail "expected two 1 GiB backing files in $TPCD_STATE"
itest_ok "backing files created in the state directory"
tpcd_stop
