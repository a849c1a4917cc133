#!/bin/bash
# test_heap_early_alloc.sh - the earliest allocations (issue 20, item 7):
# a program's preinit_array function allocates before libc has set up
# environ and before any constructor, the agent's included, and a linked
# library's constructor allocates before the agent's constructor too
# (tests/fixtures/heap_early_alloc.c, host_early_calloc_lib.c). kiln heap
# counts every one of them: 8 allocations, 8 frees, 104,117 bytes, as
# valgrind does (compared when it is installed), and names the preinit
# function's site.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent_lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
cc -O2 -g -shared -fPIC -o "$T/libhost_early.so" "$KILN_SRC/tests/fixtures/host_early_calloc_lib.c" ||
	die "cannot build host_early_calloc_lib.c"
host_build heap_early_alloc -L"$T" -lhost_early -Wl,-rpath,"$T"

host_run "$T/early.bare" "$T/heap_early_alloc"
host_run "$T/early.heap" "$KILN" heap -q -o "$T/early.kiln" --json "$T/early.json" -- "$T/heap_early_alloc"
host_compare "early allocations" "$T/early.bare" "$T/early.heap"
[ -s "$T/early.json" ] || die "kiln heap wrote no JSON summary: $(head -3 "$T/early.heap.err")"
counts=$(hj "$T/early.json" "'%d %d %d' % (d['allocations'], d['frees'], d['allocated_bytes'])")
check_eq "allocations, frees, bytes: the fixture's" "$counts" "8 8 104117"
check_eq "untracked: none" "$(hj "$T/early.json" "d['untracked']")" 0
check_ge "the preinit function's site is named" "$(hj "$T/early.json" "site('preinit')['allocations']")" 5

if command -v valgrind >/dev/null; then
	(cd "$T" && valgrind --log-file="$T/early.vg" "$T/heap_early_alloc" >/dev/null)
	vg=$(sed -n 's/.*total heap usage: \([0-9,]*\) allocs, \([0-9,]*\) frees, \([0-9,]*\) bytes.*/\1 \2 \3/p' "$T/early.vg" | tr -d ,)
	check_eq "valgrind counts the same" "$vg" "$counts"
else
	echo "[$TEST_NAME] note: valgrind is not installed: compared with the fixture's counts only"
fi
finish
