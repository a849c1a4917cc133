#!/bin/bash
# test_heap_double_free.sh - kiln heap names what it saw honestly (issue
# 22 item 16): a block freed twice is a double free at the block's
# allocation site (frees carry no stack, and the summary says so), not a
# "free of a block allocated before tracking began"; a program that
# allocates nothing through malloc (an mmap-only allocator) gets a note
# that it may use its own allocator.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
DF=$KILN_SRC/tests/fixtures/heap_double_free.c
MO=$KILN_SRC/tests/fixtures/heap_mmap_only.c
cc -O2 -g -o "$T/double_free" "$DF" || die "cannot build $DF"
cc -O2 -g -o "$T/mmap_only" "$MO" || die "cannot build $MO"
cc -O2 -g -o "$T/heap_loop" "$KILN_SRC/tests/fixtures/heap_loop.c" || die "cannot build heap_loop.c"
ulimit -c 0

# 1. a double free: glibc aborts the program after the agent saw the free
krun df heap -o "$T/df.kiln" --json "$T/df.json" -- "$T/double_free"
check_eq "kiln heap passes the abort through" "$RC" 134
check_grep "the summary counts a double free" "$T/df.err" "^  double frees: +1 "
check_no_grep "it is not called a free of an untracked block" "$T/df.err" "before tracking began"
check_grep "it says frees carry no stack" "$T/df.err" "no stack for a free"
check_grep "the double free's allocation site is make_name's malloc" "$T/df.err" \
	"allocated at: make_name .*heap_double_free.c:$(line_of "$DF" ALLOC)\$"
check_eq "JSON: double_frees" "$(hj "$T/df.json" 'd["double_frees"]')" 1
check_eq "JSON: unknown_frees" "$(hj "$T/df.json" 'd["unknown_frees"]')" 0
check_eq "JSON: its allocation site" "$(hj "$T/df.json" '"heap_double_free.c:%s" % '"$(line_of "$DF" ALLOC)"' in d["double_free_sites"][0]["alloc_site"]')" True
check_eq "JSON: no stack for the free" "$(hj "$T/df.json" 'd["double_free_sites"][0]["free_frames"]')" None

# 2. memory from mmap only: nothing through malloc, and a note says why
krun mo heap -o "$T/mo.kiln" --json "$T/mo.json" -- "$T/mmap_only"
check_eq "the mmap-only program exits 0" "$RC" 0
check_eq "its output is its own" "$(cat "$T/mo.out")" "done"
check_grep "the note names the lack of malloc" "$T/mo.err" "note: the program allocated nothing through malloc"
check_grep "and a likely reason" "$T/mo.err" "its own allocator"
check_eq "JSON: the note" "$(hj "$T/mo.json" 'len(d["notes"])')" 1

# 3. an ordinary program gets neither
krun ok heap -o "$T/ok.kiln" --json "$T/ok.json" -- "$T/heap_loop" 10
check_eq "JSON: no note for a program that mallocs" "$(hj "$T/ok.json" 'len(d["notes"])')" 0
check_eq "JSON: nor a double free" "$(hj "$T/ok.json" 'd["double_frees"]')" 0
check_no_grep "no note in its summary" "$T/ok.err" "note:|double free"
finish
