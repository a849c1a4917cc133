#!/bin/bash
# test_heap_mmap_root.sh - the leak scan reads anonymous memory as memcheck
# does, but not malloc's own (issue 20, item 1; tests/fixtures/heap_mmap_root.c):
# a block whose only pointer lives in an mmap'ed area is still reachable,
# one pointed to only from a freed block, in the brk heap or in a thread's
# arena, is definitely lost; -v lists the area among the regions read.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
cc -O2 -g -pthread -o "$T/mroot" "$KILN_SRC/tests/fixtures/heap_mmap_root.c" || die "cannot build the fixture"
krun heap heap -q -v -o "$T/heap.kiln" --json "$T/heap.json" -- "$T/mroot"
check_no_crash heap
check_eq "exit status" "$RC" 0
J=$T/heap.json
cls() { hj "$J" "'%d %d' % (d['leaks']['$1']['bytes'], d['leaks']['$1']['blocks'])"; }
check_eq "still reachable: the block held by the mmap'ed area" "$(cls still_reachable)" "3000 1"
check_eq "definitely lost: the blocks held only by freed blocks" "$(cls definitely_lost)" "333 2"
check_eq "possibly lost" "$(cls possibly_lost)" "0 0"
check_eq "indirectly lost" "$(cls indirectly_lost)" "0 0"
area=$(sed -n 's/^area \([0-9a-f]*\)$/\1/p' "$T/heap.out")
check_grep "-v: the area is among the regions read" "$T/heap.err" "^kiln:   0*$area-[0-9a-f]+ anonymous, 64 KiB: 64 KiB read$"
check_grep "-v: the summary of the regions" "$T/heap.err" \
	"^kiln: pid [0-9]+: the leak scan read [0-9]+ KiB of [0-9]+ writable mappings besides"
if command -v valgrind >/dev/null; then
	valgrind --leak-check=full --log-file="$T/vg.log" "$T/mroot" >/dev/null 2>&1
	for k in "definitely lost" "indirectly lost" "possibly lost" "still reachable"; do
		vg=$(valgrind_leak "$T/vg.log" "$k")
		check_eq "$k as memcheck" "$(cls "${k// /_}")" "${vg:-0 0}"
	done
else
	say "valgrind not installed: no comparison with memcheck"
fi
finish
