#!/bin/bash
# test_heap_stacks_memory.sh - kiln heap's own memory per distinct stack
# (issue 10 item 8): bench/heap_bench.sh's C workload inserts into
# binary trees, so every node's path makes a stack of its own, about
# 30,000 new stacks a round. kiln's peak RSS for 10 rounds against 2
# (some 240,000 more stacks) must grow by at most 180 bytes a stack: a
# site, its share of the stack trie, the chart's deltas. Before the sites
# shrank to 64 bytes, the samples were streamed and the deltas packed,
# it grew by about 290. Counts, not times: snapshots are off, and the
# result does not depend on how fast the machine is.
. "$(dirname "$0")/lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
[ -x /usr/bin/time ] || skip "GNU time (/usr/bin/time) is not installed"
if ldd "$KILN" 2>/dev/null | grep -q libasan; then
	skip "ASan build: its RSS is the sanitizer's, not kiln's"
fi
SRC=$KILN_SRC/tests/fixtures/heap_bench.c
cc -O2 -g -o "$T/heap_bench" "$SRC" || die "cannot build $SRC"

for rounds in 2 10; do
	KILN_HEAP_SNAPSHOT_MS=100000000 /usr/bin/time -f %M -o "$T/rss.$rounds" "$KILN" heap -v -o "$T/b.$rounds.kiln" \
		-- "$T/heap_bench" $rounds >/dev/null 2>"$T/err.$rounds"
	check_eq "kiln heap of $rounds rounds exits 0" "$?" 0
	stacks=$(sed -n 's/.* \([0-9]*\) stacks, [0-9]* stack nodes.*/\1/p' "$T/err.$rounds" | tail -1)
	[ -n "$stacks" ] || die "no stack count in kiln heap -v's output: $(tail -3 "$T/err.$rounds")"
	eval "stacks_$rounds=$stacks"
	eval "rss_$rounds=$(tail -1 "$T/rss.$rounds")"
done
more=$((stacks_10 - stacks_2))
say "peak RSS: $rss_2 KiB with $stacks_2 stacks, $rss_10 KiB with $stacks_10"
check_ge "stacks added by 8 more rounds" "$more" 200000
per=$(((rss_10 - rss_2) * 1024 / more))
say "$per bytes of kiln's peak RSS per added stack"
check_le "bytes of peak RSS per added stack" "$per" 180
finish
