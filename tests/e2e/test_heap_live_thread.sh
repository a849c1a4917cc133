#!/bin/bash
# test_heap_live_thread.sh - the leak scan at exit reads the stacks of
# threads still running: a block only such a stack points to is "still
# reachable" (as valgrind says), the block nothing points to is "definitely
# lost" (tests/fixtures/heap_live_thread.c).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
SRC=$KILN_SRC/tests/fixtures/heap_live_thread.c
cc -O2 -g -pthread -o "$T/live" "$SRC" || die "cannot build $SRC"

krun heap heap -o "$T/live.kiln" --json "$T/live.json" -- "$T/live"
check_no_crash heap
check_eq "exit status unchanged" "$RC" 0
check_grep "stdout unchanged" "$T/heap.out" "^ok$"
J=$T/live.json
check_eq "definitely lost: the dropped block" \
	"$(hj "$J" '(d["leaks"]["definitely_lost"]["bytes"], d["leaks"]["definitely_lost"]["blocks"])')" "(1000, 1)"
check_eq "the block on the live thread's stack is still reachable" \
	"$(hj "$J" "site('heap_live_thread.c:$(line_of "$SRC" LIVE_STACK_SITE)', 'by_leaked').get('still_reachable_bytes', 0)")" 4321
if command -v valgrind >/dev/null 2>&1; then
	valgrind --leak-check=full "$T/live" >/dev/null 2>"$T/valgrind.log"
	check_eq "definitely lost = valgrind's" \
		"$(hj "$J" '"%d %d" % (d["leaks"]["definitely_lost"]["bytes"], d["leaks"]["definitely_lost"]["blocks"])')" \
		"$(valgrind_leak "$T/valgrind.log" "definitely lost")"
fi
finish
