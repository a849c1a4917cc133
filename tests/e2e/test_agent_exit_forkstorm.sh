#!/bin/bash
# test_agent_exit_forkstorm.sh - a fork storm under kiln heap: every one of
# 200 children exits normally, so every one is scanned and its leak found
# definitely lost; none is "not scanned" (issue 21, item 10: kiln gave up on
# a child that finished its scan and exited between two looks of kiln's).
# A race: repeated KILN_AGENT_RUNS times (default 5).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
SRC=$KILN_SRC/tests/fixtures/host_exit_forkstorm.c
cc -O2 -g -o "$T/host" "$SRC" || die "cannot build $SRC"
RUNS=${KILN_AGENT_RUNS:-5}
for run in $(seq 1 "$RUNS"); do
	krun heap heap -q -o "$T/heap.kiln" --json "$T/heap.json" -- "$T/host"
	check_no_crash heap
	check_eq "run $run: exit status" "$RC" 0
	check_eq "run $run: output" "$(cat "$T/heap.out")" "children 200"
	check_eq "run $run: processes" "$(hj "$T/heap.json" "d['processes']")" 201
	check_eq "run $run: not scanned" \
		"$(hj "$T/heap.json" "'%d %d' % (d['leaks']['not_scanned']['bytes'], d['leaks']['not_scanned']['blocks'])")" "0 0"
	check_eq "run $run: definitely lost, 40 bytes per child" \
		"$(hj "$T/heap.json" "'%d %d' % (d['leaks']['definitely_lost']['bytes'], d['leaks']['definitely_lost']['blocks'])")" "8000 200"
done
finish
