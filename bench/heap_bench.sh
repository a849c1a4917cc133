#!/bin/bash
# heap_bench.sh - `kiln heap` side by side with heaptrack and valgrind's
# massif on allocation-heavy C and Rust workloads (tests/fixtures/
# heap_bench.c, heap_bench.rs): slowdown against a bare run, the tool's
# peak RSS, trace size, and time to report (heaptrack_print, ms_print,
# kiln report on the file). Median of ROUNDS runs, tools interleaved
# within a round. Measurements, not a test: nothing fails on a number.
#
# Peak RSS is GNU time's: the largest of the run's processes waited for,
# which is the tool's own process (kiln; heaptrack_interpret; valgrind
# with the target inside it), not the target's, whenever it is larger
# than the target. The C workload's binary-tree inserts make about 590,000
# distinct stacks in 1.2 million allocations.
#
# usage: bench/heap_bench.sh [KILN] [ROUNDS]   (default: build/kiln, 3)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$HERE/../tests/fixtures
KILN=${1:-$HERE/../build/kiln}
ROUNDS=${2:-3}
[ -x "$KILN" ] || { echo "heap_bench: '$KILN' is not executable (build kiln first)" >&2; exit 1; }
W=${KILN_BENCH_DIR:-$(dirname "$KILN")/bench/heap}
mkdir -p "$W"
have() { command -v "$1" >/dev/null 2>&1; }

cc -O2 -g -o "$W/heap_bench_c" "$SRC/heap_bench.c" || exit 1
if have rustc; then
	rustc -C opt-level=2 -g --crate-name heap_bench -o "$W/heap_bench_rs" "$SRC/heap_bench.rs" || exit 1
fi

now() { date +%s%N; }
have /usr/bin/time && TIME=/usr/bin/time || TIME=
# ms CMD...: wall milliseconds of CMD, its output discarded; its peak RSS
# (KiB, GNU time's %M) goes to $W/rss.last
ms() {
	local t0 t1
	rm -f "$W/rss.last"
	t0=$(now)
	if [ -n "$TIME" ]; then
		"$TIME" -f %M -o "$W/rss.last" "$@" >/dev/null 2>&1
	else
		"$@" >/dev/null 2>&1
	fi
	t1=$(now)
	echo $(((t1 - t0) / 1000000))
}
rss() { tail -1 "$W/rss.last" 2>/dev/null | grep -E '^[0-9]+$' || echo 0; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }
human() { awk -v b="$1" 'BEGIN { if (b >= 1048576) printf "%.1f MB", b/1048576; else if (b >= 1024) printf "%.1f KB", b/1024; else printf "%d B", b }'; }

bench() {
	local name=$1
	shift
	local -a bare=() kiln=() ht=() ms_=() kiln_rss=() ht_rss=() ms_rss=()
	local kiln_rep=() ht_rep=() ms_rep=()
	for ((i = 0; i < ROUNDS; i++)); do
		bare+=("$(ms "$@")")
		kiln+=("$(ms "$KILN" heap -q -o "$W/$name.kiln" -- "$@")")
		kiln_rss+=("$(rss)")
		kiln_rep+=("$(ms "$KILN" report "$W/$name.kiln" --value alloc_space)")
		if have heaptrack; then
			rm -f "$W/$name.heaptrack"*
			ht+=("$(ms heaptrack -o "$W/$name.heaptrack" "$@")")
			ht_rss+=("$(rss)")
			ht_rep+=("$(ms heaptrack_print "$W/$name.heaptrack.zst")")
		fi
		if have valgrind && ((i == 0)); then # massif is slow: one run
			ms_+=("$(ms valgrind --tool=massif --massif-out-file="$W/$name.massif" "$@")")
			ms_rss+=("$(rss)")
			ms_rep+=("$(ms ms_print "$W/$name.massif")")
		fi
	done
	local b
	b=$(median "${bare[@]}")
	((b > 0)) || b=1
	printf '\n%s: %s (bare run %d ms, median of %d)\n' "$name" "$*" "$b" "$ROUNDS"
	printf '  %-22s %10s %9s %13s %12s %14s\n' "tool" "run (ms)" "slowdown" "peak RSS" "trace size" "report (ms)"
	row() {
		local label=$1 run=$2 rss_kb=$3 file=$4 rep=$5
		printf '  %-22s %10d %8.1fx %13s %12s %14d\n' "$label" "$run" "$(echo "$run / $b" | bc -l)" \
			"$(human "$((rss_kb * 1024))")" "$(human "$(size_of "$file")")" "$rep"
	}
	row "kiln heap" "$(median "${kiln[@]}")" "$(median "${kiln_rss[@]}")" "$W/$name.kiln" "$(median "${kiln_rep[@]}")"
	((${#ht[@]})) && row "heaptrack" "$(median "${ht[@]}")" "$(median "${ht_rss[@]}")" "$W/$name.heaptrack.zst" \
		"$(median "${ht_rep[@]}")"
	((${#ms_[@]})) && row "valgrind massif" "${ms_[0]}" "${ms_rss[0]}" "$W/$name.massif" "${ms_rep[0]}"
	return 0
}

echo "heap_bench: kiln heap vs heaptrack vs massif; scratch in $W"
bench c "$W/heap_bench_c" 20
[ -x "$W/heap_bench_rs" ] && bench rust "$W/heap_bench_rs" 20
echo
echo "kiln heap's run includes its analysis, symbolization and the summary;"
echo "heaptrack's run only records (its analysis is heaptrack_print's report time)."
