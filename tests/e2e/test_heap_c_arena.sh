#!/bin/bash
# test_heap_c_arena.sh - a C program whose heap grows with few malloc
# calls (an allocator of its own on mmap: tests/fixtures/heap_c_arena.c)
# gets the custom-allocator warning (issue 16); the same growth through
# malloc does not.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
SRC=$KILN_SRC/tests/fixtures/heap_c_arena.c
cc -O2 -o "$T/heap_c_arena" "$SRC" || die "cannot build $SRC"
WARNING="warning: the peak RSS grew by [0-9]+ MiB while the heap seen peaked at"

krun arena heap -o "$T/arena.kiln" --json "$T/arena.json" -- "$T/heap_c_arena" arena
check_eq "arena: exit status" "$RC" 0
check_grep "arena: output passes through" "$T/arena.out" "^arena 1\$"
check_grep "arena: the warning" "$T/arena.err" "$WARNING"
check_eq "arena: --json has the growth" "$(hj "$T/arena.json" "d['allocator']['unseen_growth_kb'] >= 32 * 1024")" True

krun malloc heap -o "$T/malloc.kiln" --json "$T/malloc.json" -- "$T/heap_c_arena" malloc
check_eq "malloc: exit status" "$RC" 0
check_no_grep "malloc: no warning" "$T/malloc.err" "$WARNING"
check_eq "malloc: --json has none" "$(hj "$T/malloc.json" "d['allocator']['unseen_growth_kb']")" 0
finish
