# testcu-parse.awk - iscsi-test-cu (CUnit) output -> one "RESULT
# Suite.Test" line per test, RESULT = PASS, SKIP or FAIL.  CUnit prints
# "  Test: X ..." and, after whatever the test printed, "passed" or
# "FAILED" (at the start of a line or right after "..."); "[FAILED]" /
# "[SKIPPED]" are libiscsi's notes.  Used by run-iscsi-test-cu.sh and the
# guest test 63-tcmu-conformance.sh:  awk -f testcu-parse.awk LOG
function flush() {
	if (name == "")
		return
	if (res == "")
		res = "FAIL"	# crashed or never finished
	else if (res == "PASS" && skipped)
		res = "SKIP"
	print res, suite "." name
	name = ""
}
{ sub(/\r$/, "") }
/^Suite: / { flush(); suite = $2; next }
/^  Test: / {
	flush()
	name = $2; res = ""; skipped = 0
	sub(/^  Test: [^ ]+ \.\.\./, "")
}
/^Run Summary/ { flush(); exit }
# Only what comes before the result word counts: suite clean-up notes
# (e.g. "[SKIPPED] PERSISTENT RESERVE IN ...") can follow it.
name != "" && res == "" {
	if ($0 ~ /^[ \t]*passed/)
		res = "PASS"
	else if ($0 ~ /^[ \t]*FAILED/)
		res = "FAIL"
	else if (index($0, "[SKIPPED]"))
		skipped = 1
}
END { flush() }
