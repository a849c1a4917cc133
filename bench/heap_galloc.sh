#!/bin/bash
# heap_galloc.sh - what a #[global_allocator] of its own costs kiln heap
# (issue 16): heap_bench.rs built on System and on galloc.rs's mmap
# allocator (tests/fixtures/heap_bench_galloc.rs), each bare, under kiln
# heap and under heaptrack; slowdown against the same build's bare run,
# and the allocations each tool saw. Median of ROUNDS runs, interleaved.
# Goal: kiln's slowdown on the custom allocator within 10% of its
# slowdown on System. Measurements, not a test.
#
# usage: bench/heap_galloc.sh [KILN] [ROUNDS]   (default: build/kiln, 3)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$HERE/../tests/fixtures
KILN=${1:-$HERE/../build/kiln}
ROUNDS=${2:-3}
[ -x "$KILN" ] || { echo "heap_galloc: '$KILN' is not executable (build kiln first)" >&2; exit 1; }
command -v rustc >/dev/null 2>&1 || { echo "heap_galloc: rustc is not installed" >&2; exit 1; }
W=${KILN_BENCH_DIR:-$(dirname "$KILN")/bench/galloc}
mkdir -p "$W"
CFG='cfg(galloc, values("mmap", "count"))'
rustc -C opt-level=2 -g --crate-name heap_bench -o "$W/system" "$SRC/heap_bench.rs" || exit 1
rustc -C opt-level=2 -g --crate-name heap_bench --check-cfg "$CFG" --cfg 'galloc="mmap"' -o "$W/custom" \
	"$SRC/heap_bench_galloc.rs" || exit 1
have_ht=0
command -v heaptrack >/dev/null 2>&1 && have_ht=1

now() { date +%s%N; }
ms() { # CMD...: wall milliseconds, output discarded
	local t0 t1
	t0=$(now)
	"$@" >/dev/null 2>&1
	t1=$(now)
	echo $(((t1 - t0) / 1000000))
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
declare -A T
for ((i = 0; i < ROUNDS; i++)); do
	for b in system custom; do
		T[$b.bare]+=" $(ms "$W/$b" 20)"
		T[$b.kiln]+=" $(ms "$KILN" heap -q -o "$W/$b.kiln" --json "$W/$b.json" -- "$W/$b" 20)"
		if ((have_ht)); then
			rm -f "$W/$b.heaptrack"*
			T[$b.ht]+=" $(ms heaptrack -o "$W/$b.heaptrack" "$W/$b" 20)"
		fi
	done
done
allocs() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['allocations'])" "$1" 2>/dev/null || echo -; }
ht_allocs() {
	heaptrack_print "$1" 2>/dev/null | sed -n 's/^calls to allocation functions: \([0-9]*\).*/\1/p' | head -1
}
printf '\nheap_bench.rs, 20 rounds, median of %d (ms; slowdown against the same build bare)\n' "$ROUNDS"
printf '  %-22s %8s %10s %9s %12s\n' "build / tool" "bare" "run" "slowdown" "allocations"
for b in system custom; do
	bare=$(median ${T[$b.bare]})
	((bare > 0)) || bare=1
	k=$(median ${T[$b.kiln]})
	printf '  %-22s %8d %10d %8.2fx %12s\n' "$b / kiln heap" "$bare" "$k" "$(echo "$k / $bare" | bc -l)" \
		"$(allocs "$W/$b.json")"
	if ((have_ht)); then
		h=$(median ${T[$b.ht]})
		printf '  %-22s %8d %10d %8.2fx %12s\n' "$b / heaptrack" "$bare" "$h" "$(echo "$h / $bare" | bc -l)" \
			"$(ht_allocs "$W/$b.heaptrack.zst")"
	fi
done
