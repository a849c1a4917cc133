#!/bin/bash
# test_heap_wrappers.sh - the common allocator wrappers are not sites:
# with no --alloc-fn, a program whose allocations all go through
# functions named xmalloc, xcalloc, xrealloc, xstrdup, g_malloc0,
# sqlite3Malloc, sqlite3MemMalloc, PyMem_Malloc, PyObject_Malloc,
# je_malloc and mi_malloc (tests/fixtures/heap_wrappers.c) has their
# callers as sites, each with its count, and no wrapper in its stacks.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
SRC=$KILN_SRC/tests/fixtures/heap_wrappers.c
cc -O2 -g -o "$T/heap_wrappers" "$SRC" || die "cannot build $SRC"
WRAPPERS="xmalloc xcalloc xrealloc xstrdup g_malloc0 sqlite3Malloc sqlite3MemMalloc PyMem_Malloc PyObject_Malloc je_malloc mi_malloc"

krun w heap -n 20 -o "$T/w.kiln" --json "$T/w.json" -- "$T/heap_wrappers"
check_no_crash w
check_eq "exit status" "$RC" 0
J=$T/w.json
n=0
for w in $WRAPPERS; do
	L=heap_wrappers.c:$(line_of "$SRC" "USE_$n")
	check_eq "$w: the site is its caller use_$n ($L) with $((n + 1)) allocations" \
		"$(hj "$J" "[(s['site'].split(' ')[0], s['allocations']) for s in d['by_allocations'] if s['site'].endswith('$L')]")" \
		"[('use_$n', $((n + 1)))]"
	check_no_grep "$w: not in the stacks shown" "$T/w.err" "at $w "
	n=$((n + 1))
done
check_eq "no site is a wrapper" \
	"$(hj "$J" "[s['site'] for s in d['by_allocations'] if s['site'].split(' ')[0] in '$WRAPPERS'.split()]")" "[]"
check_eq "every allocation is at a use_ site" \
	"$(hj "$J" "sum(s['allocations'] for s in d['by_allocations'] if s['site'].startswith('use_'))")" 66
# --full-stacks still shows them (each its own function: none folded into another)
krun full report "$T/w.kiln" -n 20 --full-stacks
for w in $WRAPPERS; do
	check_grep "--full-stacks shows $w" "$T/full.out" "at $w "
done
finish
