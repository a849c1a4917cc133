#!/bin/bash
# test_heap_handoff.sh - blocks allocated on two producer threads from 4096
# distinct stacks, each freed at once by a consumer thread
# (tests/fixtures/heap_handoff.c). The agent names a stack new to its
# thread one event late, often from another thread's event: every
# allocation still gets its own whole stack, and every free its block.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
SRC=$KILN_SRC/tests/fixtures/heap_handoff.c
cc -O2 -g -pthread -o "$T/handoff" "$SRC" || die "cannot build $SRC"

krun heap heap -o "$T/handoff.kiln" --json "$T/handoff.json" -- "$T/handoff"
check_no_crash heap
check_eq "exit status unchanged" "$RC" 0
check_grep "stdout unchanged" "$T/heap.out" "^handed off 40000 blocks$"
J=$T/handoff.json
SITE="heap_handoff.c:$(line_of "$SRC" HANDOFF_SITE)"
check_eq "every allocation at its site" "$(hj "$J" "site('$SITE')['allocations']")" 40000
check_eq "every block freed" "$(hj "$J" "site('$SITE').get('leaked_blocks', 0)")" 0
# by function names: start_thread, producer, then down() and left() or
# right() twelve times over, then down() at the malloc
"$KILN" collapse "$T/handoff.kiln" >"$T/handoff.folded" 2>"$T/collapse.err" || fail "kiln collapse failed"
check_eq "4096 distinct whole stacks at the site" \
	"$(awk '/;producer;/ { n = split($1, f, ";"); if (f[n] == "down") print n }' "$T/handoff.folded" | sort | uniq -c | awk '{print $1, $2}')" \
	"4096 28"
finish
