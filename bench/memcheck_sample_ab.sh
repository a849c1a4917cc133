#!/bin/bash
# memcheck_sample_ab.sh - `kiln memcheck --sample 1000` of two kilns (a
# baseline, say main's, and this tree's) against a bare run, in one
# interleaved run: each round runs bare, OLD and NEW once per workload, in
# turn, so both see the same load. CPU time (user + system of kiln and the
# program), medians of ROUNDS. The workloads are memcheck_bench.sh's, on
# its long runs (kiln's start-up does not hide the per-call cost).
# Measurements, not a test: nothing fails on a number.
#
# usage: bench/memcheck_sample_ab.sh OLD/kiln NEW/kiln [ROUNDS]   (default 5)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$HERE/../tests/fixtures
OLD=${1:?usage: memcheck_sample_ab.sh OLD/kiln NEW/kiln [ROUNDS]}
NEW=${2:?usage: memcheck_sample_ab.sh OLD/kiln NEW/kiln [ROUNDS]}
ROUNDS=${3:-5}
for k in "$OLD" "$NEW"; do
	[ -x "$k" ] || { echo "memcheck_sample_ab: '$k' is not executable (build it first)" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "memcheck_sample_ab: needs GNU time (/usr/bin/time)" >&2; exit 1; }
W=${KILN_BENCH_DIR:-$(dirname "$NEW")/bench/memcheck_ab}
mkdir -p "$W"
cc -O2 -g -o "$W/alloc_c" "$SRC/heap_bench.c" || exit 1
cc -O2 -g -o "$W/compute_c" "$SRC/compute_bench.c" || exit 1
names=(alloc_c compute_c)
cmds=("$W/alloc_c 100" "$W/compute_c 100")
if command -v rustc >/dev/null 2>&1; then
	rustc -C opt-level=2 -g --crate-name heap_bench -o "$W/alloc_rs" "$SRC/heap_bench.rs" || exit 1
	rustc -C opt-level=2 -g --crate-name compute_bench -o "$W/compute_rs" "$SRC/compute_bench.rs" || exit 1
	names+=(alloc_rs compute_rs)
	cmds+=("$W/alloc_rs 200" "$W/compute_rs 100")
fi

# ms CMD...: CPU milliseconds of CMD and what it waited for, output discarded
ms() {
	/usr/bin/time -f '%U %S' -o "$W/cpu.last" "$@" >/dev/null 2>&1
	tail -1 "$W/cpu.last" | awk '{ printf "%d\n", ($1 + $2) * 1000 + 0.5 }'
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A t
for ((r = 0; r < ROUNDS; r++)); do
	for i in "${!names[@]}"; do
		read -ra c <<<"${cmds[$i]}"
		t[$i.bare]+=" $(ms "${c[@]}")"
		t[$i.old]+=" $(ms "$OLD" memcheck -f -o "$W/old.kiln" --sample 1000 -- "${c[@]}")"
		t[$i.new]+=" $(ms "$NEW" memcheck -f -o "$W/new.kiln" --sample 1000 -- "${c[@]}")"
	done
done
echo "memcheck_sample_ab: --sample 1000, CPU ms, medians of $ROUNDS interleaved rounds; load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| %-10s | %8s | %16s | %16s |\n' workload bare "old --sample" "new --sample"
printf '|---|---|---|---|\n'
for i in "${!names[@]}"; do
	# shellcheck disable=SC2086
	b=$(median ${t[$i.bare]})
	# shellcheck disable=SC2086
	o=$(median ${t[$i.old]})
	# shellcheck disable=SC2086
	n=$(median ${t[$i.new]})
	((b > 0)) || b=1
	printf '| %-10s | %5d ms | %5d ms %+6.1f%% | %5d ms %+6.1f%% |\n' "${names[$i]}" "$b" \
		"$o" "$(echo "($o - $b) * 100 / $b" | bc -l)" "$n" "$(echo "($n - $b) * 100 / $b" | bc -l)"
done
