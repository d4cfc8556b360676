#!/bin/sh
# xcopy.sh - EXTENDED COPY against a tpcd with two targets and per-
# initiator ACLs (conf/xcopy.json): copies, validation errors, ACL
# scoping, list IDs, IMMED status polling and COPY OPERATION ABORT
# (xcopy_itest.c); ABORT TASK and LUN RESET of running copies.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"
trap tpcd_finish EXIT
tpcd_start "$ITEST_SRC/conf/xcopy.json"
itest_run xcopy_itest
tpcd_stop
# Task management against running copies: reads and writes in chunks so
# a copy lasts (same state dir, fresh daemon).
TPCD_COPY_DISABLE=reflink,cfr
export TPCD_COPY_DISABLE
tpcd_start "$ITEST_SRC/conf/xcopy.json"
itest_run xcopy_itest tmf
tpcd_stop
