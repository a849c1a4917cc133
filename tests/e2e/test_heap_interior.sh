#!/bin/bash
# test_heap_interior.sh - pointers into a block's middle (issue 20, item 5):
# possibly lost, unless one of memcheck's leak-check heuristics (stdstring,
# length64, newarray, multipleinheritance: all on by default in valgrind
# 3.11 and later) explains the pointer, as memcheck decides
# (tests/fixtures/heap_interior.c). And the first difference kiln-heap(1)
# documents: an old pointer left in reused, never written memory counts for
# kiln, not for memcheck (tests/fixtures/heap_stale.c).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
cc -O2 -g -o "$T/interior" "$KILN_SRC/tests/fixtures/heap_interior.c" || die "cannot build the fixture"
krun heap heap -q -o "$T/heap.kiln" --json "$T/heap.json" -- "$T/interior"
check_no_crash heap
check_eq "exit status" "$RC" 0
J=$T/heap.json
cls() { hj "$J" "'%d %d' % (d['leaks']['$1']['bytes'], d['leaks']['$1']['blocks'])"; }
check_eq "still reachable: the four heuristics" "$(cls still_reachable)" "293 4"
check_eq "possibly lost: the three look-alikes" "$(cls possibly_lost)" "160 3"
check_eq "definitely lost" "$(cls definitely_lost)" "0 0"
if command -v valgrind >/dev/null; then
	valgrind --leak-check=full --log-file="$T/vg.log" "$T/interior" >/dev/null 2>&1
	for k in "definitely lost" "indirectly lost" "possibly lost" "still reachable"; do
		vg=$(valgrind_leak "$T/vg.log" "$k")
		check_eq "$k as memcheck" "$(cls "${k// /_}")" "${vg:-0 0}"
	done
else
	say "valgrind not installed: no comparison with memcheck"
fi

cc -O2 -g -o "$T/stale" "$KILN_SRC/tests/fixtures/heap_stale.c" || die "cannot build the stale-pointer fixture"
krun stale heap -q -o "$T/stale.kiln" --json "$T/stale.json" -- "$T/stale"
check_no_crash stale
J=$T/stale.json
check_eq "stale pointer: kiln calls the block reachable" "$(cls still_reachable)" "141 2"
check_eq "stale pointer: nothing lost for kiln" "$(cls definitely_lost)" "0 0"
if command -v valgrind >/dev/null; then
	valgrind --leak-check=full --log-file="$T/vg-stale.log" "$T/stale" >/dev/null 2>&1
	check_eq "stale pointer: memcheck calls it definitely lost" \
		"$(valgrind_leak "$T/vg-stale.log" "definitely lost")" "77 1"
fi
finish
