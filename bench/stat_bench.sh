#!/bin/bash
# stat_bench.sh - the overhead of `kiln stat -r 10` against `perf stat -r 10`
# on a short command, where start-up and per-run costs show: the wall time of
# each tool, median of 5 rounds, the two tools interleaved within each round
# so that machine noise hits both alike. Prints a table.
#
# usage: bench/stat_bench.sh [KILN] [CMD...]   (default: build/kiln, /bin/true)
set -u
KILN=${1:-$(dirname "$0")/../build/kiln}
shift || true
[ $# -gt 0 ] || set -- /bin/true
ROUNDS=5
command -v perf >/dev/null || { echo "stat_bench: perf not found" >&2; exit 77; }
[ -x "$KILN" ] || { echo "stat_bench: '$KILN' is not executable (build kiln first)" >&2; exit 1; }

now() { date +%s%N; }
run_tool() {
	local tool=$1
	shift
	local t0 t1
	t0=$(now)
	"$tool" stat -r 10 -- "$@" >/dev/null 2>&1
	t1=$(now)
	echo $(((t1 - t0) / 1000))
}

declare -a K P
for ((i = 0; i < ROUNDS; i++)); do
	if ((i % 2)); then
		P+=("$(run_tool perf "$@")")
		K+=("$(run_tool "$KILN" "$@")")
	else
		K+=("$(run_tool "$KILN" "$@")")
		P+=("$(run_tool perf "$@")")
	fi
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
km=$(median "${K[@]}")
pm=$(median "${P[@]}")
printf '%-28s %14s %14s\n' "stat -r 10 -- $*" "median (us)" "runs (us)"
printf '%-28s %14s %14s\n' "kiln" "$km" "${K[*]}"
printf '%-28s %14s %14s\n' "perf" "$pm" "${P[*]}"
python3 -c "import sys; k,p=float(sys.argv[1]),float(sys.argv[2]); print(f'kiln/perf ratio: {k/p:.2f}')" "$km" "$pm"
