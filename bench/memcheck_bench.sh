#!/bin/bash
# memcheck_bench.sh - `kiln memcheck` side by side with valgrind's memcheck
# on bug-free workloads: allocation-heavy (tests/fixtures/heap_bench.c,
# heap_bench.rs) and compute-heavy (compute_bench.c, compute_bench.rs), C
# and Rust, in full mode and with --sample 1000. Slowdown against a bare
# run and peak RSS, the median of ROUNDS runs with the modes interleaved
# within a round, then the ratios the goals of issue 11 are about:
#   full mode's slowdown at most 1/10 of valgrind's (compute-heavy) and
#   1/5 (allocation-heavy); --sample 1000 within 5% of a bare run.
# Measurements, not a test: nothing fails on a number.
#
# Peak RSS is GNU time's: the largest of the run's processes waited for,
# which is kiln's own process or the target, whichever is larger (valgrind
# runs the target inside itself).
#
# usage: bench/memcheck_bench.sh [KILN] [ROUNDS]   (default: build/kiln, 3)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$HERE/../tests/fixtures
KILN=${1:-$HERE/../build/kiln}
ROUNDS=${2:-3}
[ -x "$KILN" ] || { echo "memcheck_bench: '$KILN' is not executable (build kiln first)" >&2; exit 1; }
W=${KILN_BENCH_DIR:-$(dirname "$KILN")/bench/memcheck}
mkdir -p "$W"
have() { command -v "$1" >/dev/null 2>&1; }

cc -O2 -g -o "$W/alloc_c" "$SRC/heap_bench.c" || exit 1
cc -O2 -g -o "$W/compute_c" "$SRC/compute_bench.c" || exit 1
if have rustc; then
	rustc -C opt-level=2 -g --crate-name heap_bench -o "$W/alloc_rs" "$SRC/heap_bench.rs" || exit 1
	rustc -C opt-level=2 -g --crate-name compute_bench -o "$W/compute_rs" "$SRC/compute_bench.rs" || exit 1
fi

[ -x /usr/bin/time ] || { echo "memcheck_bench: needs GNU time (/usr/bin/time, the 'time' package)" >&2; exit 1; }
# ms CMD...: CPU milliseconds (user + system, of CMD and the processes it
# waited for: kiln's own reader counts) of CMD, its output discarded; its
# peak RSS (KiB, GNU time's %M) goes to $W/rss.last. CPU time rather than
# wall time: on a shared machine it does not grow with the load.
ms() {
	rm -f "$W/rss.last" "$W/cpu.last"
	/usr/bin/time -f '%U %S %M' -o "$W/cpu.last" "$@" >/dev/null 2>&1
	tail -1 "$W/cpu.last" | awk '{ print $3 > "'"$W/rss.last"'"; printf "%d\n", ($1 + $2) * 1000 + 0.5 }'
}
rss() { tail -1 "$W/rss.last" 2>/dev/null | grep -E '^[0-9]+$' || echo 0; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
human() { awk -v k="$1" 'BEGIN { if (k >= 1048576) printf "%.2f GB", k/1048576; else if (k >= 1024) printf "%.1f MB", k/1024; else printf "%d KB", k }'; }

SUMMARY=()
# bench NAME KIND LONG CMD... : full mode and valgrind on CMD; bare and
# --sample 1000 also on CMD with its last argument (the rounds) replaced
# by LONG, so that kiln's fixed start-up cost does not hide the per-call
# cost the 5% goal is about
bench() {
	local name=$1 kind=$2 long=$3
	shift 3
	local -a lcmd=("${@:1:$#-1}" "$long")
	local -a lbare=() lsamp=()
	local -a bare=() full=() samp=() vg=() bare_rss=() full_rss=() samp_rss=() vg_rss=()
	for ((i = 0; i < ROUNDS; i++)); do
		bare+=("$(ms "$@")")
		bare_rss+=("$(rss)")
		full+=("$(ms "$KILN" memcheck -f -o "$W/full.kiln" -- "$@")")
		full_rss+=("$(rss)")
		samp+=("$(ms "$KILN" memcheck -f -o "$W/sampled.kiln" --sample 1000 -- "$@")")
		samp_rss+=("$(rss)")
		lbare+=("$(ms "${lcmd[@]}")")
		lsamp+=("$(ms "$KILN" memcheck -f -o "$W/sampled.kiln" --sample 1000 -- "${lcmd[@]}")")
		if have valgrind; then
			vg+=("$(ms valgrind --tool=memcheck -q --error-exitcode=99 "$@")")
			vg_rss+=("$(rss)")
		fi
	done
	local b f s v
	b=$(median "${bare[@]}")
	((b > 0)) || b=1
	f=$(median "${full[@]}")
	s=$(median "${samp[@]}")
	printf '\n%s (%s): %s (bare run %d ms of CPU, median of %d)\n' "$name" "$kind" "$*" "$b" "$ROUNDS"
	printf '  %-28s %10s %9s %12s\n' "mode" "CPU (ms)" "slowdown" "peak RSS"
	row() { printf '  %-28s %10d %8.2fx %12s\n' "$1" "$2" "$(echo "$2 / $b" | bc -l)" "$(human "$3")"; }
	row "bare" "$b" "$(median "${bare_rss[@]}")"
	row "kiln memcheck" "$f" "$(median "${full_rss[@]}")"
	row "kiln memcheck --sample 1000" "$s" "$(median "${samp_rss[@]}")"
	local goal
	[ "$kind" = compute ] && goal=0.10 || goal=0.20
	local line
	local lb ls
	lb=$(median "${lbare[@]}")
	((lb > 0)) || lb=1
	ls=$(median "${lsamp[@]}")
	printf '  %-28s %10d %8.2fx   (%s rounds: bare %d ms)\n' "--sample 1000, long run" "$ls" "$(echo "$ls / $lb" | bc -l)" "$long" "$lb"
	line=$(printf '%-10s %-8s sampled %+6.1f%% of bare (long run; goal +5%%)' "$name" "$kind" "$(echo "($ls - $lb) * 100 / $lb" | bc -l)")
	if ((${#vg[@]})); then
		v=$(median "${vg[@]}")
		row "valgrind --tool=memcheck" "$v" "$(median "${vg_rss[@]}")"
		line+=$(printf '; full slowdown %.2fx vs valgrind %.2fx: ratio %.3f (goal %s)' \
			"$(echo "$f / $b" | bc -l)" "$(echo "$v / $b" | bc -l)" "$(echo "($f / $b) / ($v / $b)" | bc -l)" "$goal")
	fi
	SUMMARY+=("$line")
	return 0
}

echo "memcheck_bench: kiln memcheck (full, --sample 1000) vs valgrind --tool=memcheck; scratch in $W"
bench alloc_c alloc 100 "$W/alloc_c" 20
[ -x "$W/alloc_rs" ] && bench alloc_rs alloc 200 "$W/alloc_rs" 20
bench compute_c compute 100 "$W/compute_c" 30
[ -x "$W/compute_rs" ] && bench compute_rs compute 100 "$W/compute_rs" 30
echo
echo "ratios (slowdown = run / bare; ratio = kiln's full-mode slowdown / valgrind's):"
printf '  %s\n' "${SUMMARY[@]}"
