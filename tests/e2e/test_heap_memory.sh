#!/bin/bash
# test_heap_memory.sh - kiln heap's own memory does not grow with the
# number of allocation events (issue 21 item 11): the heap series is
# thinned as it grows, so 4x the events cost about the same peak RSS; the
# peak in the middle of the run keeps its height. A fixed count of events,
# as fast as they go: nothing here depends on time.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
[ -x /usr/bin/time ] || skip "GNU time (/usr/bin/time) is not installed"
SRC=$KILN_SRC/tests/fixtures/heap_loop.c
cc -O2 -o "$T/heap_loop" "$SRC" || die "cannot build $SRC"

# Peak RSS moves by up to ~9 MB from run to run: the 8 MiB ring counts
# while the command runs, the symbols and the summary after it, and which
# phase is the peak depends on the machine's load. Before the fix, 4x the
# events cost ~60 MB more at these counts. Under ASan, RSS means little
# and events are slow: only the counts and the series are checked there.
N=10000000
asan=0
if ldd "$KILN" 2>/dev/null | grep -q libasan; then
	asan=1
	N=500000
fi
for n in $N $((4 * N)); do
	KILN_HEAP_SNAPSHOT_MS=100000000 /usr/bin/time -f %M -o "$T/rss.$n" "$KILN" heap -q -o "$T/loop.$n.kiln" \
		--json "$T/loop.$n.json" -- "$T/heap_loop" $n >/dev/null 2>"$T/loop.$n.err"
	check_eq "kiln heap of $n pairs exits 0" "$?" 0
	check_eq "allocations counted ($n pairs)" "$(hj "$T/loop.$n.json" 'd["allocations"]')" $((n + 1))
	check_eq "the 1 MiB block halfway is the peak ($n pairs)" "$(hj "$T/loop.$n.json" 'd["peak_bytes"]')" 1048608
done
small=$(tail -1 "$T/rss.$N")
big=$(tail -1 "$T/rss.$((4 * N))")
say "peak RSS: $small KiB for $N pairs, $big KiB for $((4 * N))"
if [ $asan = 0 ]; then
	check_le "peak RSS growth for 4x the events (KiB)" "$((big - small))" 16384
else
	say "ASan build: peak RSS not compared"
fi
"$KILN" report --json --value alloc_space "$T/loop.$((4 * N)).kiln" >"$T/report.json" 2>"$T/report.err"
check_eq "the profile reads" "$?" 0
series() { python3 -c 'import json,sys; s=[s for s in json.load(open(sys.argv[1]))["series"] if s["name"]=="heap"][0]; print(s[sys.argv[2]])' "$T/report.json" "$1"; }
check_le "points in the heap series" "$(series points)" 4096
check_eq "the series keeps the peak" "$(series max)" 1048608
finish
