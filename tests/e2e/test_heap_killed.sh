#!/bin/bash
# test_heap_killed.sh - kiln heap never loses what it captured: while the
# command runs, kiln writes snapshots of the heap profile to FILE (through
# a rename, so FILE is always whole). Killed with SIGKILL mid-run, kiln
# leaves a profile that reads, says it is a snapshot, and holds the
# fixture's allocation sites; a run that ends normally after snapshots has
# exactly the numbers of a run without them, and no temporary file left.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
SRC=$KILN_SRC/tests/fixtures/heap_bench.c
cc -O2 -g -o "$T/heap_bench" "$SRC" || die "cannot build $SRC"

# 1. SIGKILL while the command still runs (it would run for minutes)
KILN_HEAP_SNAPSHOT_MS=200 "$KILN" heap -q -o "$T/killed.kiln" -- "$T/heap_bench" 100000 >/dev/null 2>"$T/killed.err" &
kpid=$!
# wait until a snapshot holds something (the file starts as a bare header)
for _ in $(seq 1 300); do
	[ "$(stat -c %s "$T/killed.kiln" 2>/dev/null || echo 0)" -gt 10000 ] && break
	sleep 0.1
done
kill -9 "$kpid"
wait "$kpid" 2>/dev/null
pkill -f "$T/heap_bench 100000" 2>/dev/null
check_ge "a snapshot was written before the kill (bytes)" "$(stat -c %s "$T/killed.kiln")" 10001
"$KILN" report "$T/killed.kiln" --value alloc_space --limit 0 >"$T/killed.out" 2>"$T/killed.rep.err"
check_eq "the killed run's profile reads" "$?" 0
check_grep "it says it is a snapshot" "$T/killed.rep.err" "snapshot taken while the command ran"
check_grep "the tree insert's site is in it" "$T/killed.out" \
	"insert .*heap_bench.c:$(grep -nF 'calloc(1, sizeof(*n))' "$SRC" | cut -d: -f1)"
# strdup is the allocator's plumbing: its site is the line that calls it
"$KILN" report "$T/killed.kiln" -n 20 >"$T/killed.view" 2>/dev/null
check_grep "strdup's too" "$T/killed.view" \
	"site: insert .*heap_bench.c:$(grep -nF 'strdup(buf)' "$SRC" | cut -d: -f1)"
"$KILN" report "$T/killed.kiln" --value leaked_space >"$T/killed.leak.out" 2>/dev/null
check_eq "the snapshot has leaked_space (blocks live then)" "$?" 0

# 2. a run that ends after snapshots: the final file replaces them, whole
KILN_HEAP_SNAPSHOT_MS=1 krun snap heap -v -q -o "$T/snap.kiln" --json "$T/snap.json" -- "$T/heap_bench" 30
check_no_crash snap
check_ge "snapshots taken during the run" "$(sed -n 's/.* \([0-9]*\) snapshots during the run.*/\1/p' "$T/snap.err")" 1
KILN_HEAP_SNAPSHOT_MS=100000000 krun plain heap -q -o "$T/plain.kiln" --json "$T/plain.json" -- "$T/heap_bench" 30
for k in allocations frees reallocs allocated_bytes temporary peak_bytes; do
	check_eq "$k: the same with and without snapshots" "$(hj "$T/snap.json" "d[\"$k\"]")" \
		"$(hj "$T/plain.json" "d[\"$k\"]")"
done
"$KILN" report "$T/snap.kiln" --value alloc_space >"$T/snap.rep" 2>"$T/snap.rep.err"
"$KILN" report "$T/plain.kiln" --value alloc_space >"$T/plain.rep" 2>/dev/null
# all but the header lines that name the file, the date and the duration
if diff <(grep -vE '^(file|recorded|samples) ' "$T/snap.rep") <(grep -vE '^(file|recorded|samples) ' "$T/plain.rep") >/dev/null; then
	ok "the final profile's report matches a run without snapshots"
else
	fail "reports differ between runs with and without snapshots"
fi
check_no_grep "the final file is not a snapshot" "$T/snap.rep.err" "snapshot"
if ls "$T"/*.kiln-tmp >/dev/null 2>&1; then fail "a temporary file was left"; else ok "no temporary file left"; fi

finish
