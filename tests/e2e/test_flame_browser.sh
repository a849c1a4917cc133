#!/bin/bash
# test_flame_browser.sh - opens kiln flame graphs from disk in headless
# Chromium (Debian's /usr/bin/chromium via playwright-core, installed by
# `make deps`): the frames of a real fixture with the right widths, hover,
# click to zoom and reset, Ctrl-F search; a differential graph's colours.
source "$(dirname "$0")/lib.sh"
BROWSER_DIR=$KILN_SRC/tests/e2e/browser
command -v node >/dev/null || skip "node is missing (make deps)"
[ -x /usr/bin/chromium ] || skip "/usr/bin/chromium is missing (make deps)"
[ -d "$BROWSER_DIR/node_modules/playwright-core" ] || skip "playwright-core is not installed (make deps)"
setup
cd "$T" || die "cannot cd to $T"

# browser NAME ARGS...: runs the node test, its lines become ours
browser() {
	local name=$1
	shift
	node "$BROWSER_DIR/flame_test.js" "$@" >"$T/$name.log" 2>&1
	local rc=$?
	[ $rc = 77 ] && skip "$(grep SKIPPED "$T/$name.log")"
	while IFS= read -r line; do
		case $line in
		ok:*) ok "$name: ${line#ok: }" ;;
		FAIL:*) fail "$name: ${line#FAIL: }" ;;
		*) say "$name: $line" ;;
		esac
	done <"$T/$name.log"
	[ $rc = 0 ] || [ "$FAILURES" -gt 0 ] || fail "$name: node exited $rc"
}

"$KILN" flame -q -F 499 -o rust.svg --record-output rust.kiln -- "$FX/calltree_nofp" 1200ms ||
	die "kiln flame -- calltree_nofp failed"
browser rust graph rust.svg 'leaf_a$' 'leaf_b$' '^calltree::run$'

"$KILN" flame -q -F 499 -o inlined.svg --record-output inlined.kiln -- "$FX/inlined_nofp" 300ms ||
	die "kiln flame -- inlined_nofp failed"
browser inlined hover inlined.svg '^inlined::helper$' '^[0-9,]+ samples?, .* \u2014 inlined::helper \[inlined\] in inlined_nofp at .*inlined\.rs:[0-9]+$'

"$KILN" flame -q -F 499 -o c.svg --record-output c.kiln -- "$FX/c_calltree" 1200ms ||
	die "kiln flame -- c_calltree failed"
browser c graph c.svg '^leaf_a$' '^leaf_b$' '^run$'

# a known change: leaf_a three times as expensive in NEW
"$KILN" flame c.kiln --folded >base.folded 2>/dev/null
awk '{ n = $NF; if ($0 ~ /;leaf_a /) n = n * 3; $NF = n; print }' base.folded >new.folded
"$KILN" flame --diff base.folded new.folded -o diff.svg 2>/dev/null || die "kiln flame --diff failed"
browser diff diff diff.svg '^leaf_a$' '^leaf_b$'

# noise: NEW is BASE with a couple of samples moved between leaves (what a
# second run of the same command gives): nothing is significant
awk '{ n = $NF; if ($0 ~ /;leaf_a /) n = n + 2; else if ($0 ~ /;leaf_b / && n > 2) n = n - 2; $NF = n; print }' \
	base.folded >noise.folded
"$KILN" flame --diff base.folded noise.folded -o noise.svg 2>/dev/null || die "kiln flame --diff (noise) failed"
browser noise diffnoise noise.svg
finish
