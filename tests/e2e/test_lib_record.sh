#!/bin/bash
# test_lib_record.sh - the e2e helper `record` (lib.sh) says why a recording
# failed: when kiln writes no file, the test dies showing kiln's own stderr
# instead of failing later on a missing file with no reason given.
source "$(dirname "$0")/lib.sh"
[ -x "$KILN" ] || die "kiln binary '$KILN' not found"

# A child test that records a program that does not exist; kiln refuses it
# before any perf_event_open, so this needs no sampling permission.
cat >"$T/child.sh" <<CHILD
source "$E2E_DIR/lib.sh"
record nothing -o "\$T/nothing.kiln" -- "$T/no-such-program"
echo "after record"
CHILD
KILN_TEST_TMP="$T/child-tmp" bash "$T/child.sh" >"$T/child.out" 2>&1
rc=$?
check_eq "record with no file written is fatal" "$rc" 1
if grep -q "after record" "$T/child.out"; then
	fail "record carried on after kiln wrote no file"
else
	ok "record stopped the test"
fi
if grep -q "    | kiln: .*no-such-program" "$T/child.out"; then
	ok "kiln's stderr is shown: $(grep -m1 '    | kiln:' "$T/child.out")"
else
	fail "kiln's stderr is not shown; the child printed:"
	sed 's/^/    > /' "$T/child.out"
fi
finish
