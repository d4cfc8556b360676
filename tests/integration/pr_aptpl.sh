#!/bin/sh
# pr_aptpl.sh - persistent reservations with APTPL survive a tpcd restart
# (and a torn temp file of the store is ignored); without APTPL they do
# not; PREEMPT AND ABORT aborts the preempted nexus's tasks.  Phases of
# tests/integration/pr_aptpl.c around real restarts.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"
trap tpcd_finish EXIT
export ITEST_TARGET="$TPCD_DEFAULT_IQN" ITEST_LUN=0

tpcd_start
itest_run pr_aptpl setup
files=$(ls "$TPCD_STATE"/pr/*.state 2>/dev/null | wc -l)
[ "$files" -eq 1 ] || itest_fail "expected one APTPL file, found $files"
itest_ok "APTPL state saved in $TPCD_STATE/pr"
tpcd_stop

# An interrupted save leaves a torn temp file: it must not be used.
f=$(ls "$TPCD_STATE"/pr/*.state)
tmp="$TPCD_STATE/pr/.$(basename "$f").tmp"
printf 'tpcd-pr 1\ngeneration 99\nreg 00' > "$tmp"
tpcd_start
itest_run pr_aptpl verify
[ -e "$tmp" ] && itest_fail "torn temp file $tmp was not discarded"
itest_ok "restored after restart; torn temp file ignored"
itest_run pr_aptpl unset
[ -e "$f" ] && itest_fail "APTPL = 0 did not remove $f"
itest_ok "APTPL = 0 removed the saved state"
tpcd_stop

tpcd_start
itest_run pr_aptpl empty
itest_run pr_aptpl abort
tpcd_stop
