#!/bin/bash
# test_heap_crash.sh - a program that dies of SIGSEGV right after an
# allocation from a stack it never used before (tests/fixtures/
# heap_crash.c): the agent names such a stack one event late, and here
# there is no next event, yet the block is counted under its own stack.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
SRC=$KILN_SRC/tests/fixtures/heap_crash.c
cc -O1 -g -o "$T/crash" "$SRC" || die "cannot build $SRC"

krun heap heap -o "$T/crash.kiln" --json "$T/crash.json" -- "$T/crash"
check_eq "exit status: the target's death by SIGSEGV" "$RC" 139
J=$T/crash.json
check_eq "the last block, at its own site" \
	"$(hj "$J" "site('heap_crash.c:$(line_of "$SRC" CRASH_SITE)', 'by_leaked').get('leaked_bytes')")" 12345
check_eq "the earlier ones" "$(hj "$J" "site('heap_crash.c:$(line_of "$SRC" EARLIER_SITE)')['allocations']")" 100
check_eq "no block without a stack" "$(hj "$J" "site('[no stack]').get('allocations', 0)")" 0
check_grep "no scan after a crash" "$T/heap.err" "no reachability scan"
"$KILN" report "$T/crash.kiln" --value leaked_space >"$T/report.out" 2>&1 || fail "kiln report failed"
check_grep "the profile has the whole stack" "$T/report.out" "before_the_crash"
finish
