#!/bin/bash
# offcpu_where.sh - where kiln offcpu's cost on a switch-heavy program comes
# from: the same program (bench/offcpu_switch.c, 8 threads x 2000 naps of
# 50 us) run bare and under each mode below, ROUNDS rounds interleaved.
#   kiln                kiln offcpu as users run it
#   kiln, all idle      kiln's threads at SCHED_IDLE (its reader too:
#                       KILN_TEST_READER_PRIO=normal keeps it from raising)
#   perf -g             perf record -e sched:sched_switch -g (frame pointers)
#   perf dwarf          the same with --call-graph dwarf,4096: a 4 KiB stack
#                       copy per switch, as kiln takes, unwound only later
# and, with two cpus or more, the profiler on a cpu of its own:
#   bare, cpu 0         the program held to cpu 0
#   kiln on cpu 1       kiln held to cpu 1, the program to cpu 0
#   perf -g on cpu 1    perf likewise
# Every program start goes through `chrt -o 0` (the all-idle kiln's child
# needs it to run at the normal policy), so all modes start alike. Prints
# the median of the program's own run time (it prints elapsed_ns), its
# ratio to the bare run of the same placement, and for kiln the switches
# each round lost. Root: chrt and the reader's priority.
#
# usage: bench/offcpu_where.sh [KILN] [ROUNDS]   (default build/kiln, 11)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
KILN=${1:-$HERE/../build/kiln}
ROUNDS=${2:-11}
[ -x "$KILN" ] || { echo "offcpu_where: '$KILN' is not executable (build kiln first)" >&2; exit 1; }
command -v perf >/dev/null || { echo "offcpu_where: needs perf" >&2; exit 1; }
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
gcc -O2 -g -pthread -o "$DIR/offcpu_switch" "$HERE/offcpu_switch.c" || exit 1
W=(chrt -o 0 "$DIR/offcpu_switch" 8 2000 50)
PINNED=0
[ "$(nproc)" -ge 2 ] && PINNED=1

declare -A RUN LOST
# run MODE CMD...: the program's elapsed ms to RUN[MODE], kiln's lost switches to LOST[MODE]
run() {
	local mode=$1
	shift
	"$@" >"$DIR/out" 2>"$DIR/err"
	RUN[$mode]+=" $(awk '$1 == "elapsed_ns" { print $2 / 1e6 }' "$DIR/out")"
	LOST[$mode]+=" $(sed -nE 's/^kiln: [0-9]+ off-CPU intervals .*\(([0-9]+) lost switches.*/\1/p' "$DIR/err")"
}
for ((i = 0; i < ROUNDS; i++)); do
	run "bare" "${W[@]}"
	run "kiln" "$KILN" offcpu -f -o "$DIR/k.kiln" -- "${W[@]}"
	run "kiln, all idle" env KILN_TEST_READER_PRIO=normal chrt -i 0 "$KILN" offcpu -f -o "$DIR/k.kiln" -- "${W[@]}"
	run "perf -g" perf record -q -e sched:sched_switch -g -o "$DIR/p.data" -- "${W[@]}"
	run "perf dwarf" perf record -q -e sched:sched_switch --call-graph dwarf,4096 -o "$DIR/p.data" -- "${W[@]}"
	if [ $PINNED = 1 ]; then
		run "bare, cpu 0" taskset -c 0 "${W[@]}"
		run "kiln on cpu 1" taskset -c 1 "$KILN" offcpu -f -o "$DIR/k.kiln" -- taskset -c 0 "${W[@]}"
		run "perf -g on cpu 1" taskset -c 1 perf record -q -e sched:sched_switch -g -o "$DIR/p.data" -- \
			taskset -c 0 "${W[@]}"
	fi
done

median() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
echo "offcpu_switch 8 2000 50, $ROUNDS rounds (load $(cut -d' ' -f1-3 /proc/loadavg)); medians of the program's run time:"
show() {
	local mode=$1 base=$2 m
	m=$(echo "${RUN[$mode]}" | median)
	awk -v mode="$mode" -v m="$m" -v b="$base" -v l="${LOST[$mode]}" 'BEGIN {
		printf "  %-18s %7.1f ms  %5.3fx", mode, m, m / b
		if (mode ~ /kiln/) printf "  lost:%s", l
		printf "\n" }'
}
base=$(echo "${RUN[bare]}" | median)
for m in "bare" "kiln" "kiln, all idle" "perf -g" "perf dwarf"; do
	show "$m" "$base"
done
if [ $PINNED = 1 ]; then
	base=$(echo "${RUN[bare, cpu 0]}" | median)
	for m in "bare, cpu 0" "kiln on cpu 1" "perf -g on cpu 1"; do
		show "$m" "$base"
	done
fi
