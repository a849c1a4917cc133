#!/bin/bash
# test_heap_interior.sh - pointers into a block's middle (issue 20, item 5):
# possibly lost, unless one of memcheck's leak-check heuristics (stdstring,
# length64, newarray, multipleinheritance: all on by default in valgrind
# 3.11 and later) explains the pointer, as memcheck decides
# (tests/fixtures/heap_interior.c). Old pointers in reused memory:
# test_heap_stale.sh.
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

finish
