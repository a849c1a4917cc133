#!/bin/bash
# test_heap_layout.sh - where kiln's counts differ from memcheck's because
# the program itself allocated differently (issue 20; kiln-heap(1), the leak
# scan's differences from memcheck): a program that allocates a 32 KiB table per
# 16 MiB region its pages land in, as cc1's collected heap does
# (tests/fixtures/heap_layout.c), makes as many allocations as its mappings'
# addresses ask for in that run, under kiln as under valgrind. kiln's count
# and still-reachable blocks at the site are the ones the program reports.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
SRC=$KILN_SRC/tests/fixtures/heap_layout.c
cc -O2 -g -o "$T/layout" "$SRC" || die "cannot build the fixture"
krun heap heap -q -o "$T/heap.kiln" --json "$T/heap.json" -- "$T/layout"
check_no_crash heap
check_eq "exit status" "$RC" 0
n=$(sed -n 's/^tables \([0-9]*\)$/\1/p' "$T/heap.out")
check_ge "tables the program allocated" "${n:-0}" 1
line=$(line_of "$SRC" region_table)
J=$T/heap.json
check_eq "allocations at region_table: the program's own count" \
	"$(hj "$J" "site('heap_layout.c:$line')['allocations']")" "$n"
check_eq "still reachable: the program's tables" \
	"$(hj "$J" "'%d %d' % (d['leaks']['still_reachable']['bytes'], d['leaks']['still_reachable']['blocks'])")" \
	"$((n * 32768)) $n"
finish
