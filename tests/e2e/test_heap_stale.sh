#!/bin/bash
# test_heap_stale.sh - old pointers in memory malloc hands out again (issue
# 20, items 1 and 5; tests/fixtures/heap_stale.c): a block reused from
# glibc's tcache with an old pointer to a lost block, rg's vector whose old
# entries point to the starts of new blocks held only by interior pointers
# (in main and in a thread's arena), and the part a shrinking realloc gives
# back. memcheck counts only words written since allocation; the agent
# clears what the program frees, so kiln's classes are memcheck's. Without
# that clearing kiln called all of it still reachable (684 B in 13 blocks).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
cc -O2 -g -pthread -o "$T/stale" "$KILN_SRC/tests/fixtures/heap_stale.c" || die "cannot build the fixture"
krun stale heap -q -o "$T/stale.kiln" --json "$T/stale.json" -- "$T/stale"
check_no_crash stale
check_eq "exit status" "$RC" 0
# the fixture says whether glibc reused the memory as the cases need
check_eq "the four reuses happened" "$(cat "$T/stale.out")" "reused 4"
J=$T/stale.json
cls() { hj "$J" "'%d %d' % (d['leaks']['$1']['bytes'], d['leaks']['$1']['blocks'])"; }
check_eq "definitely lost: the blocks only old pointers reach" "$(cls definitely_lost)" "132 2"
check_eq "indirectly lost" "$(cls indirectly_lost)" "0 0"
check_eq "possibly lost: rg's 8-byte buffers, reached inside" "$(cls possibly_lost)" "48 6"
check_eq "still reachable: what the program holds" "$(cls still_reachable)" "504 5"
SRC=$KILN_SRC/tests/fixtures/heap_stale.c
check_eq "possibly lost at the vector's new buffers" \
	"$(hj "$J" "site('heap_stale.c:$(line_of "$SRC" stale_possible)', 'by_leaked')['possibly_lost_bytes']")" 48
if command -v valgrind >/dev/null; then
	valgrind --leak-check=full --log-file="$T/vg.log" "$T/stale" >/dev/null 2>&1
	for k in "definitely lost" "indirectly lost" "possibly lost" "still reachable"; do
		vg=$(valgrind_leak "$T/vg.log" "$k")
		check_eq "$k as memcheck" "$(cls "${k// /_}")" "${vg:-0 0}"
	done
else
	say "valgrind not installed: no comparison with memcheck"
fi
finish
