#!/bin/bash
# test_chrome_trace_browser.sh - a kiln Chrome trace export opened in a real
# Trace Event viewer that works offline: the Performance panel of the
# DevTools built into Debian's Chromium (its standalone trace viewer,
# devtools://devtools/bundled/trace_app.html; chrome://tracing is gone from
# Chromium 156), loaded through its "Load profile" file input in headless
# Chromium (tests/e2e/browser/chrome_trace_test.js). The viewer shows a
# track for the process and one for the worker thread, named as the export
# names them, and in the worker's track the slices of top_target::hot_spin
# and top_target::cold_spin split its time between them (3/4 and 1/4 by
# the fixture's own CPU clock) as kiln report splits their samples.
source "$(dirname "$0")/lib.sh"
BROWSER_DIR=$KILN_SRC/tests/e2e/browser
command -v node >/dev/null || skip "node is missing (make deps)"
[ -x /usr/bin/chromium ] || skip "/usr/bin/chromium is missing (make deps)"
[ -d "$BROWSER_DIR/node_modules/playwright-core" ] || skip "playwright-core is not installed (make deps)"
setup
cd "$T" || die "cannot cd to $T"

record tt -F 499 -o tt.kiln -- "$FX/top_target" 400ms
"$KILN" export --format chrome tt.kiln 2>export.err || die "kiln export --format chrome failed: $(cat export.err)"
report_json tt.kiln tt.json
pid=$(jq_ tt.json "[t['pid'] for t in j['threads'] if t['name'] == 'top-worker'][0]")
tid=$(jq_ tt.json "[t['tid'] for t in j['threads'] if t['name'] == 'top-worker'][0]")
[ -n "$pid" ] && [ -n "$tid" ] || die "kiln report has no thread top-worker"
# each function's share of the two functions' time in the worker's
# slices, as kiln report's share of their samples, give or take 6 (the
# thread's other time is weighted by time in a trace, by samples in report)
self_pct() { jq_ tt.json "[f['self_pct'] for f in j['functions'] if f['name'] == '$1'][0]"; }
both=$(python3 -c "print($(self_pct top_target::hot_spin) + $(self_pct top_target::cold_spin))")
share() {
	local pct
	pct=$(self_pct "$1")
	[ -n "$pct" ] || die "kiln report has no $1"
	python3 -c "p = 100 * $pct / $both; print('$1:%g:%g' % (max(p - 6, 0), p + 6))"
}
hot=$(share top_target::hot_spin)
cold=$(share top_target::cold_spin)
timeout 180 node "$BROWSER_DIR/chrome_trace_test.js" tt.trace.json "top_target ($pid)" "top-worker ($tid)" \
	"$hot" "$cold" >browser.log 2>&1
rc=$?
[ $rc = 77 ] && skip "$(grep SKIPPED browser.log)"
while IFS= read -r line; do
	case $line in
	ok:*) ok "${line#ok: }" ;;
	FAIL:*) fail "${line#FAIL: }" ;;
	*) say "$line" ;;
	esac
done <browser.log
[ $rc = 0 ] || [ "$FAILURES" -gt 0 ] || fail "chrome_trace_test.js exited $rc"
finish
