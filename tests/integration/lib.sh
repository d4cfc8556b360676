# lib.sh - start and stop a tpcd for one integration test.
#
# Sourced by the test wrappers (POSIX sh).  Environment from `make check`
# (AM_TESTS_ENVIRONMENT): TPCD (the daemon), TOP_SRCDIR, TOP_BUILDDIR.
# Everything binds to 127.0.0.1 only.
#
#   tpcd_start [TEMPLATE.json] [extra tpcd args]
#	With no template (or "-"): the embedded default on 127.0.0.1:0.
#	With a template: @PORT@ becomes a free port, @STATE@ the state dir,
#	and the result is written to $TPCD_STATE/tpcd.json.
#	Sets TPCD_PID, TPCD_PORT, TPCD_PORTAL, TPCD_STATE, TPCD_CONF, TPCD_LOG.
#   tpcd_stop		SIGTERM, wait; fails unless exit 0 and a clean log.
#   tpcd_reload FILE	copy FILE (a template) over the config and SIGHUP.
#   tpcd_alive		true while the daemon runs.
#   tpcd_mkfile PATH SIZE	sparse backing file.
#   tpcd_check_log	fail on a sanitizer or leak report in the log.
#   tpcd_finish		stop (if running) and clean up; use in a trap.
#
# Failures print "FAIL: ..." and exit 1 (the test fails); a test that
# cannot run here exits 77 (automake SKIP).

: "${TOP_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${TOP_BUILDDIR:=$TOP_SRCDIR}"
: "${TPCD:=$TOP_BUILDDIR/tpcd}"
ITEST_SRC="$TOP_SRCDIR/tests/integration"
ITEST_BIN="$TOP_BUILDDIR/tests/integration"
TPCD_DEFAULT_IQN=iqn.2026-11.org.tpcd:default
# Seconds to wait for "listening on"; sanitizer builds start slower.
: "${TPCD_START_TIMEOUT:=20}"
# Keep sanitizer reports in the log and make them fatal.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1:abort_on_error=0:exitcode=23"
UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:halt_on_error=1:exitcode=24"
export ASAN_OPTIONS UBSAN_OPTIONS

: "${TPCD_PID:=}"
: "${TPCD_STATE:=}"

itest_fail()
{
	echo "FAIL: $*"
	if [ -n "$TPCD_LOG" ] && [ -f "$TPCD_LOG" ]; then
		echo "--- tpcd log (last 40 lines) ---"
		tail -n 40 "$TPCD_LOG"
	fi
	tpcd_finish
	exit 1
}

itest_ok()
{
	echo "ok: $*"
}

# A TCP port on 127.0.0.1 that nobody listens on right now (a race is
# possible: tpcd_start retries when the daemon reports the port in use).
itest_free_port()
{
	_tries=0
	while [ $_tries -lt 50 ]; do
		_r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
		_p=$((_r % 30000 + 20000))
		if ! command -v ss >/dev/null 2>&1 ||
		    ! ss -Hltn "sport = :$_p" 2>/dev/null | grep -q .; then
			echo "$_p"
			return 0
		fi
		_tries=$((_tries + 1))
	done
	return 1
}

tpcd_mkfile()
{
	truncate -s "$2" "$1" || itest_fail "cannot create $1"
}

# Expand a template into a config file.
tpcd_expand()
{
	sed -e "s|@PORT@|$TPCD_PORT|g" -e "s|@STATE@|$TPCD_STATE|g" \
	    "$1" > "$2" || itest_fail "cannot write $2"
}

tpcd_check_log()
{
	[ -f "$TPCD_LOG" ] || return 0
	if grep -E -q 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|Leak|Undefined)' "$TPCD_LOG"; then
		echo "FAIL: sanitizer report in tpcd log:"
		grep -E -A 30 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$TPCD_LOG" | head -n 80
		return 1
	fi
	return 0
}

tpcd_alive()
{
	[ -n "$TPCD_PID" ] && kill -0 "$TPCD_PID" 2>/dev/null
}

tpcd_start()
{
	[ -x "$TPCD" ] || { echo "SKIP: no tpcd binary at $TPCD"; exit 77; }
	_tmpl="${1:--}"
	[ $# -gt 0 ] && shift
	if [ -z "$TPCD_STATE" ]; then
		TPCD_STATE=$(mktemp -d "${TMPDIR:-/tmp}/tpcd-itest.XXXXXX") ||
		    itest_fail "mktemp"
	fi
	TPCD_LOG="$TPCD_STATE/tpcd.log"
	_attempt=0
	while :; do
		_attempt=$((_attempt + 1))
		: > "$TPCD_LOG"
		if [ "$_tmpl" = "-" ]; then
			TPCD_PORT=0
			TPCD_CONF=
			"$TPCD" --state-dir "$TPCD_STATE" --portal 127.0.0.1:0 \
			    "$@" 2>"$TPCD_LOG" </dev/null &
		else
			TPCD_PORT=$(itest_free_port) || itest_fail "no free port"
			TPCD_CONF="$TPCD_STATE/tpcd.json"
			tpcd_expand "$_tmpl" "$TPCD_CONF"
			"$TPCD" -c "$TPCD_CONF" --state-dir "$TPCD_STATE" \
			    "$@" 2>"$TPCD_LOG" </dev/null &
		fi
		TPCD_PID=$!
		_waited=0
		_line=
		while [ $_waited -lt $((TPCD_START_TIMEOUT * 10)) ]; do
			_line=$(grep -m1 -o 'listening on [^ ]*' "$TPCD_LOG" 2>/dev/null)
			[ -n "$_line" ] && break
			tpcd_alive || break
			sleep 0.1
			_waited=$((_waited + 1))
		done
		if [ -n "$_line" ]; then
			break
		fi
		if ! tpcd_alive && [ $_attempt -lt 3 ] &&
		    grep -q -i 'in use' "$TPCD_LOG"; then
			continue	# lost the race for the port
		fi
		itest_fail "tpcd did not start (no 'listening on' line)"
	done
	_addr=${_line#listening on }
	TPCD_PORT=${_addr##*:}
	TPCD_PORTAL="127.0.0.1:$TPCD_PORT"
	export TPCD_PID TPCD_PORT TPCD_PORTAL TPCD_STATE TPCD_CONF TPCD_LOG
	echo "tpcd pid $TPCD_PID on $TPCD_PORTAL, state $TPCD_STATE"
}

tpcd_reload()
{
	tpcd_expand "$1" "$TPCD_CONF.new"
	mv "$TPCD_CONF.new" "$TPCD_CONF" || itest_fail "mv config"
	kill -HUP "$TPCD_PID" || itest_fail "SIGHUP: daemon gone"
}

tpcd_stop()
{
	[ -n "$TPCD_PID" ] || return 0
	if ! tpcd_alive; then
		wait "$TPCD_PID" 2>/dev/null
		_rc=$?
		TPCD_PID=
		itest_fail "tpcd died before the end of the test (exit $_rc)"
	fi
	kill -TERM "$TPCD_PID"
	_n=0
	while tpcd_alive && [ $_n -lt 200 ]; do
		sleep 0.1
		_n=$((_n + 1))
	done
	if tpcd_alive; then
		kill -KILL "$TPCD_PID" 2>/dev/null
		wait "$TPCD_PID" 2>/dev/null
		TPCD_PID=
		itest_fail "tpcd ignored SIGTERM for 20 s"
	fi
	wait "$TPCD_PID"
	_rc=$?
	TPCD_PID=
	[ $_rc -eq 0 ] || itest_fail "tpcd exit status $_rc after SIGTERM"
	tpcd_check_log || itest_fail "sanitizer report"
	itest_ok "tpcd stopped cleanly (exit 0)"
}

tpcd_finish()
{
	if tpcd_alive; then
		kill -KILL "$TPCD_PID" 2>/dev/null
		wait "$TPCD_PID" 2>/dev/null
	fi
	TPCD_PID=
	if [ -n "$TPCD_STATE" ] && [ -z "${ITEST_KEEP:-}" ]; then
		rm -rf "$TPCD_STATE"
	fi
	TPCD_STATE=
}

# Run one test program from tests/integration with a timeout; fail the
# test if it fails.  The program finds the daemon through TPCD_* variables.
itest_run()
{
	_prog="$ITEST_BIN/$1"
	shift
	[ -x "$_prog" ] || itest_fail "missing test program $_prog"
	timeout -k 5 "${ITEST_TIMEOUT:-300}" "$_prog" "$@"
	_rc=$?
	[ $_rc -eq 0 ] || itest_fail "$(basename "$_prog") exited $_rc"
}
