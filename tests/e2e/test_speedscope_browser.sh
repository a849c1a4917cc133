#!/bin/bash
# test_speedscope_browser.sh - a kiln speedscope export opened in speedscope
# itself (npm's release, installed by `make deps`, served from a loopback
# HTTP server on a port the system picks) in Debian's headless Chromium:
# it loads, opens the busiest thread's profile, and its Sandwich view lists
# the fixture's hot function with its share (tests/e2e/browser/speedscope_test.js).
# speedscope reads the Trace Event Format too: the Chrome trace export
# loads there the same way, a profile per thread lane.
source "$(dirname "$0")/lib.sh"
BROWSER_DIR=$KILN_SRC/tests/e2e/browser
command -v node >/dev/null || skip "node is missing (make deps)"
[ -x /usr/bin/chromium ] || skip "/usr/bin/chromium is missing (make deps)"
[ -d "$BROWSER_DIR/node_modules/playwright-core" ] || skip "playwright-core is not installed (make deps)"
[ -f "$BROWSER_DIR/node_modules/speedscope/dist/release/index.html" ] || skip "speedscope is not installed (make deps)"
setup
cd "$T" || die "cannot cd to $T"

# worker-3 burns half the CPU, all three in threads::spin
record thr -F 499 -o thr.kiln -- "$FX/threads_nofp" 100
report_json thr.kiln thr.json
"$KILN" export --format speedscope --value cpu thr.kiln 2>export.err || die "kiln export failed: $(cat export.err)"
"$KILN" export --format chrome thr.kiln 2>export.err || die "kiln export --format chrome failed: $(cat export.err)"
tid=$(jq_ thr.json "[t['tid'] for t in j['threads'] if t['name'] == 'worker-3'][0]")
tid1=$(jq_ thr.json "[t['tid'] for t in j['threads'] if t['name'] == 'worker-1'][0]")
[ -n "$tid" ] && [ -n "$tid1" ] || die "report has no worker-3 or worker-1"
# speedscope shows the thread it opens: its share there, as kiln report
# gives it for that thread alone (rounded on screen to two digits)
report_json thr.kiln thr3.json --tid "$tid"
pct=$(jq_ thr3.json "[f['self_pct'] for f in j['functions'] if f['name'] == 'threads::spin'][0]")
[ -n "$pct" ] || die "report has no threads::spin in worker-3"
lo=$(python3 -c "print($pct - 2)")
hi=$(python3 -c "print($pct + 2)")

# the export against speedscope's own schema of its file format
schema=$BROWSER_DIR/node_modules/speedscope/dist/release/file-format-schema.json
if python3 -c 'import jsonschema' 2>/dev/null && [ -f "$schema" ]; then
	if python3 -c 'import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))' thr.speedscope.json "$schema" 2>schema.err; then
		ok "the export is valid under speedscope's file-format-schema.json"
	else
		fail "the export breaks speedscope's schema: $(tail -3 schema.err)"
	fi
else
	say "python3 jsonschema is missing: the schema check is skipped (speedscope still loads it below)"
fi

# The trace is checked for loading and naming only: speedscope's importer
# pairs the ends of two nested frames of one name over the same interval
# (libc's clock_gettime calling the vdso's) wrongly and leaves one open
# across the thread's next idle gap (163 ms of clock_gettime for 6 ms in
# the trace, in a CI run at load); the trace's shares are checked in
# test_export_views.sh.
timeout 180 node "$BROWSER_DIR/speedscope_test.js" thr.speedscope.json thr.kiln "worker-3 $tid" threads::spin \
	"$lo" "$hi" + thr.trace.json thr.trace.json ">worker-1 (tid $tid1)" threads::spin - - >browser.log 2>&1
rc=$?
[ $rc = 77 ] && skip "$(grep SKIPPED browser.log)"
while IFS= read -r line; do
	case $line in
	ok:*) ok "${line#ok: }" ;;
	FAIL:*) fail "${line#FAIL: }" ;;
	*) say "$line" ;;
	esac
done <browser.log
[ $rc = 0 ] || [ "$FAILURES" -gt 0 ] || fail "speedscope_test.js exited $rc"
finish
