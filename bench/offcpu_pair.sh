#!/bin/bash
# offcpu_pair.sh - a paired A/B of two kiln builds' cost to a switch-heavy
# program: ROUNDS rounds of bench/offcpu_switch.c (8 threads x 2000 naps
# of 50 us), each round running it bare, under `KILN_A offcpu`, under
# `KILN_B offcpu` and under `perf record -e sched:sched_switch -g`, one
# after the other. A change worth a few percent hides in the spread of
# medians taken minutes apart on a shared machine; the ratio of B to A
# within each round does not (both see the same load).
# Prints per mode the median of the program's own run time (its
# elapsed_ns) and CPU time (cpu_ns), and the median per-round ratio of B
# to A for both.
#
# usage: bench/offcpu_pair.sh KILN_A KILN_B [ROUNDS]   (default 15)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
A=${1:?usage: offcpu_pair.sh KILN_A KILN_B [ROUNDS]}
B=${2:?usage: offcpu_pair.sh KILN_A KILN_B [ROUNDS]}
ROUNDS=${3:-15}
for k in "$A" "$B"; do
	[ -x "$k" ] || { echo "offcpu_pair: '$k' is not executable" >&2; exit 1; }
done
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
gcc -O2 -g -pthread -o "$DIR/offcpu_switch" "$HERE/offcpu_switch.c" || exit 1
W=("$DIR/offcpu_switch" 8 2000 50)

# run LABEL CMD...: appends "ELAPSED_MS CPU_MS" of the program to $DIR/LABEL
run() {
	local label=$1
	shift
	"$@" "${W[@]}" >"$DIR/out" 2>/dev/null
	awk '$1 == "elapsed_ns" { e = $2 / 1e6 } $1 == "cpu_ns" { c = $2 / 1e6 } END { print e, c }' "$DIR/out" >>"$DIR/$label"
}
for ((i = 0; i < ROUNDS; i++)); do
	run bare env
	run a "$A" offcpu -f -o "$DIR/a.kiln" --
	run b "$B" offcpu -f -o "$DIR/b.kiln" --
	command -v perf >/dev/null && run perf perf record -q -e sched:sched_switch -g -o "$DIR/p.data" --
done

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
echo "offcpu_switch 8 2000 50, $ROUNDS paired rounds (load $(cut -d' ' -f1 /proc/loadavg) at the end); medians:"
for m in bare a b perf; do
	[ -s "$DIR/$m" ] || continue
	printf "  %-5s run %7.1f ms  cpu %6.1f ms\n" "$m" "$(cut -d' ' -f1 "$DIR/$m" | median)" \
		"$(cut -d' ' -f2 "$DIR/$m" | median)"
done
printf "  b/a   run %.3fx  cpu %.3fx  (median of the per-round ratios; a = %s, b = %s)\n" \
	"$(paste -d' ' "$DIR/a" "$DIR/b" | awk '{ print $3 / $1 }' | median)" \
	"$(paste -d' ' "$DIR/a" "$DIR/b" | awk '{ print $4 / $2 }' | median)" "$A" "$B"
