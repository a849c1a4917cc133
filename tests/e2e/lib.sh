# shellcheck shell=bash
# lib.sh - shared helpers for the end-to-end tests (sourced by test_*.sh).
#
# Environment (set by ctest, see tests/CMakeLists.txt):
#   KILN           the kiln binary under test
#   KILN_SRC       the repository root
#   KILN_FIXTURES  where the fixture programs are built (once per run, locked)
#   KILN_TEST_TMP  scratch space; each test works in $KILN_TEST_TMP/<test>/
#
# Assertions print "ok: ..." or "FAIL: ..." with the numbers involved and
# carry on, so one run shows every failure; `finish` exits 1 if any failed.
# `skip REASON` exits 77, which ctest reports as skipped.

set -u

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${KILN_SRC:=$(cd "$E2E_DIR/../.." && pwd)}"
: "${KILN:=$KILN_SRC/build/kiln}"
: "${KILN_FIXTURES:=$KILN_SRC/build/tests/fixtures}"
: "${KILN_TEST_TMP:=${TMPDIR:-/tmp}/kiln-e2e}"
TEST_NAME=$(basename "$0" .sh)
T=$KILN_TEST_TMP/$TEST_NAME
FX=$KILN_FIXTURES
# Debian's python (make deps), not the first on PATH: a version manager's
# shim there (pyenv's) took a second to start each one, and the tests
# start hundreds. Every `python3` in a test is this one.
PYTHON=${KILN_PYTHON:-/usr/bin/python3}
[ -x "$PYTHON" ] || PYTHON=$(command -v python3) || PYTHON=python3
python3() { "$PYTHON" "$@"; }
KC="python3 $E2E_DIR/kc.py"
FAILURES=0

rm -rf "$T"
mkdir -p "$T" "$FX"

say() { echo "[$TEST_NAME] $*"; }
skip() {
	echo "[$TEST_NAME] SKIPPED: $*"
	exit 77
}
die() {
	echo "[$TEST_NAME] FAIL (fatal): $*"
	exit 1
}
ok() { echo "[$TEST_NAME] ok: $*"; }
fail() {
	echo "[$TEST_NAME] FAIL: $*"
	FAILURES=$((FAILURES + 1))
}
finish() {
	if [ "$FAILURES" -gt 0 ]; then
		echo "[$TEST_NAME] $FAILURES assertion(s) failed; files in $T"
		exit 1
	fi
	echo "[$TEST_NAME] all assertions passed"
	exit 0
}

# _cmp OP A B: whether A OP B for numbers (integers in the shell; floats,
# and integers too big for it, with awk; never python, which takes a
# second to start on some machines of this kind). Anything that is not a
# number compares false.
_cmp() {
	local a=${2//[[:space:]]/} b=${3//[[:space:]]/}
	if [[ $a =~ ^-?[0-9]{1,17}$ && $b =~ ^-?[0-9]{1,17}$ ]]; then
		case $1 in
		">=") ((10#${a#-} * ${a%%[0-9]*}1 >= 10#${b#-} * ${b%%[0-9]*}1)) ;;
		"<=") ((10#${a#-} * ${a%%[0-9]*}1 <= 10#${b#-} * ${b%%[0-9]*}1)) ;;
		">") ((10#${a#-} * ${a%%[0-9]*}1 > 10#${b#-} * ${b%%[0-9]*}1)) ;;
		"<") ((10#${a#-} * ${a%%[0-9]*}1 < 10#${b#-} * ${b%%[0-9]*}1)) ;;
		*) return 2 ;;
		esac
		return
	fi
	local num='^[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?$'
	[[ $a =~ $num && $b =~ $num ]] || return 1
	awk -v a="$a" -v b="$b" -v op="$1" 'BEGIN {
		a += 0; b += 0
		r = op == ">=" ? a >= b : op == "<=" ? a <= b : op == ">" ? a > b : op == "<" ? a < b : 0
		exit !r }'
}

# check_ge LABEL VALUE MIN / check_le LABEL VALUE MAX / check_between LABEL VALUE LO HI
check_ge() {
	if [ -n "$2" ] && _cmp ">=" "$2" "$3" 2>/dev/null; then ok "$1 = $2 (>= $3)"; else fail "$1 = '$2', expected >= $3"; fi
}
check_le() {
	if [ -n "$2" ] && _cmp "<=" "$2" "$3" 2>/dev/null; then ok "$1 = $2 (<= $3)"; else fail "$1 = '$2', expected <= $3"; fi
}
check_between() {
	if [ -n "$2" ] && _cmp ">=" "$2" "$3" 2>/dev/null && _cmp "<=" "$2" "$4" 2>/dev/null; then
		ok "$1 = $2 (within $3..$4)"
	else
		fail "$1 = '$2', expected within $3..$4"
	fi
}
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1 = '$2'"; else fail "$1 = '$2', expected '$3'"; fi
}
check_ne() {
	if [ "$2" != "$3" ]; then ok "$1 = '$2' (not '$3')"; else fail "$1 = '$2', expected anything else"; fi
}
# check_grep LABEL FILE ERE: FILE has a line matching ERE
check_grep() {
	if grep -Eq -- "$3" "$2"; then ok "$1"; else
		fail "$1: no line of $(basename "$2") matches /$3/"
		sed 's/^/    | /' "$2" | head -20
	fi
}
check_no_grep() {
	if ! grep -Eq -- "$3" "$2"; then ok "$1"; else
		fail "$1: $(basename "$2") has lines matching /$3/:"
		grep -E -- "$3" "$2" | head -10 | sed 's/^/    | /'
	fi
}

# Builds every fixture once per run; concurrent tests wait on the lock.
build_fixtures() {
	exec 9>"$FX/.build.lock"
	flock 9 || die "cannot lock $FX/.build.lock"
	bash "$KILN_SRC/tests/fixtures/build.sh" "$FX" >"$T/fixtures-build.log" 2>&1 || {
		cat "$T/fixtures-build.log"
		flock -u 9
		die "fixtures failed to build (tests/fixtures/build.sh $FX)"
	}
	flock -u 9
	exec 9>&-
}

# The usual start of a test: kiln present, fixtures built, sampling allowed.
setup() {
	[ -x "$KILN" ] || die "kiln binary '$KILN' not found or not executable (build it first)"
	build_fixtures
	local why
	why=$("$FX/c_probe" 2>&1) || skip "perf_event_open is not allowed here ($why); see /proc/sys/kernel/perf_event_paranoid"
}

# krun NAME ARGS...: runs `$KILN ARGS...`, keeping stdout, stderr and the
# exit status in $T/NAME.out, $T/NAME.err, $T/NAME.rc; sets RC.
krun() {
	local name=$1
	shift
	"$KILN" "$@" >"$T/$name.out" 2>"$T/$name.err"
	RC=$?
	echo "$RC" >"$T/$name.rc"
	return 0
}

# No crash: status below 128 and no sanitizer or segfault text in the output.
check_no_crash() {
	local name=$1
	local rc
	rc=$(cat "$T/$name.rc")
	if [ "$rc" -ge 128 ]; then
		fail "$name: kiln died from signal $((rc - 128)) (status $rc)"
		sed 's/^/    | /' "$T/$name.err" | tail -20
	elif grep -Eqi "sanitizer|segmentation|core dumped|runtime error" "$T/$name.out" "$T/$name.err"; then
		fail "$name: kiln output mentions a crash or sanitizer report"
		sed 's/^/    | /' "$T/$name.err" | tail -20
	else
		ok "$name: no crash (status $rc)"
	fi
}

# record NAME ARGS...: `kiln record ARGS...` (with -o FILE or --output FILE),
# fatal unless FILE was written; on any failure kiln's stderr is shown. Use
# for recordings whose exit status the test does not assert on.
record() {
	local name=$1 out="" prev="" a before=$FAILURES
	shift
	for a in "$@"; do
		[ "$a" = "--" ] && break
		case $prev in -o | --output) out=$a ;; esac
		prev=$a
	done
	krun "$name" record "$@"
	check_no_crash "$name" >"$T/$name.check"
	[ "$FAILURES" -gt "$before" ] && cat "$T/$name.check"
	if [ -n "$out" ] && [ ! -s "$out" ]; then
		echo "[$TEST_NAME] kiln record exited $RC and wrote no '$out'; its stderr:"
		sed 's/^/    | /' "$T/$name.err" | tail -20
		die "$name: no recording"
	fi
	return 0
}

# report_json FILE OUT [ARGS...]: `kiln report --json --limit 0 ARGS FILE` into
# OUT; fatal when it fails or prints something that is not JSON.
report_json() {
	local file=$1 out=$2
	shift 2
	"$KILN" report --json --limit 0 "$@" "$file" >"$out" 2>"$out.err"
	local rc=$?
	if [ $rc -ne 0 ]; then
		sed 's/^/    | /' "$out.err" | tail -20
		die "kiln report --json '$file' exited $rc"
	fi
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$out" 2>"$out.pyerr" ||
		die "kiln report --json '$file' is not valid JSON: $(tail -1 "$out.pyerr")"
}

# jq_ FILE EXPR: a Python expression over the report JSON `j` (see kc.py eval).
jq_() { $KC eval "$1" "$2"; }

# kstats OUT SRC ARGS...: kc.py stats into OUT; kv OUT KEY reads one value.
kstats() {
	local out=$1
	shift
	$KC stats "$@" >"$out" || die "kc.py stats $* failed"
}
kv() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }

# Line range of the lines marked `MARK:TAG` in a fixture source.
marker() { $KC marker "$KILN_SRC/tests/fixtures/$1" "$2"; }

# proc_cpu_ms PID: the CPU time (user + system) PID has used, in ms.
proc_cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$1/stat" 2>/dev/null; }
# wait_cpu_ms PID MS: until PID has used MS ms of CPU (a condition, not a
# guess of how long that takes on a busy machine); 1 if PID ended first.
wait_cpu_ms() {
	local used
	while used=$(proc_cpu_ms "$1") && [ -n "$used" ]; do
		[ "$used" -ge "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

# wait_exec PID PROGRAM: until PID (a background job) has exec'd PROGRAM;
# 1 if it ended first.
wait_exec() {
	local prog
	prog=$(readlink -f "$2")
	while [ "$(readlink "/proc/$1/exe" 2>/dev/null)" != "$prog" ]; do
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.01
	done
}
# child_exec PARENT PROGRAM: prints the pid of PARENT's child once it has
# exec'd PROGRAM; 1 if PARENT ended first.
child_exec() {
	local prog c
	prog=$(readlink -f "$2")
	while kill -0 "$1" 2>/dev/null; do
		for c in $(pgrep -P "$1"); do
			[ "$(readlink "/proc/$c/exe" 2>/dev/null)" = "$prog" ] && echo "$c" && return 0
		done
		sleep 0.01
	done
	return 1
}

have_perf() { command -v perf >/dev/null 2>&1 && perf record -q --no-bpf-event -o "$T/.perf-probe.data" true >/dev/null 2>&1; }
