#!/bin/sh
# xcopy_ddpt.sh - large copies split into consecutive EXTENDED COPY (LID1)
# commands exactly as ddpt --xcopy builds them (xcopy_ddpt.c): list ID 1
# reused with LIST ID USAGE hold, 65535-block 02h segments (every one after
# the first starts off the 4 KiB grid), against the embedded default
# configuration (LUN 0 and LUN 1: 1 GiB files in the state directory),
# each destination compared byte for byte:
#
#   - 256 MiB within LUN 0 (9 commands), the guest's failing case;
#   - a new list ID per command; LIST ID USAGE 10b; 4 KiB-aligned
#     segments; LUN 0 -> LUN 1;
#   - what ddpt 0.97 really sends (-f: every command with the first
#     command's LBAs, see xcopy_ddpt.c): exactly the first 65535 blocks
#     are copied, nothing else is touched;
#   - the same on the read/write path (TPCD_COPY_DISABLE=reflink,cfr).
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"
trap tpcd_finish EXIT

runs()
{
	itest_run xcopy_ddpt
	itest_run xcopy_ddpt -n 131072 -s 4096 -D 1900000 -l
	itest_run xcopy_ddpt -n 131072 -s 8 -D 1500007 -u 2
	itest_run xcopy_ddpt -n 131072 -b 32768 -D 1200000
	itest_run xcopy_ddpt -n 131072 -s 1000 -d 1 -D 777
	itest_run xcopy_ddpt -n 131072 -D 1800000 -f
}

tpcd_start
runs
tpcd_stop
TPCD_COPY_DISABLE=reflink,cfr
export TPCD_COPY_DISABLE
tpcd_start
itest_run xcopy_ddpt -n 131072 -s 3 -D 1300001
itest_run xcopy_ddpt -n 131072 -D 1800000 -f
tpcd_stop
