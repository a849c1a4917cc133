#!/bin/bash
# offcpu_bench.sh - the cost of recording every context switch: kiln offcpu
# against a bare run and against `perf record -e sched:sched_switch -g`,
# `perf sched record` (every cpu's switches and wake-ups, as kiln's split needs)
# (and perf's --off-cpu where this perf was built with BPF skeletons), on
# two workloads, ROUNDS rounds with the tools interleaved so that machine
# noise hits all alike:
#   switch  bench/offcpu_switch.c: 8 threads x 2000 naps of 50 us (32,000
#           switches), a program that does nothing but switch
#   pool    tests/fixtures/offcpu.rs pool 8: the worker-pool fixture
# Prints per workload and mode the median of the program's own run time
# (it prints elapsed_ns: the profiler's start and finish are not counted),
# its ratio to the bare run, the median time of the whole profiler command,
# and the switches lost (kiln: its summary; perf: LOST_SAMPLES); for kiln
# also the share of switch samples whose user stack unwound whole, to its
# root (over all rounds), and for the switch workload the median CPU time
# of the program itself (cpu_ns: the kernel's work at its switches).
# With KILN_BASELINE set to another kiln (say, one built from main), it
# runs interleaved as one more mode.
#
# usage: [KILN_BASELINE=KILN2] bench/offcpu_bench.sh [KILN] [ROUNDS]   (default build/kiln, 5)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
KILN=${1:-$HERE/../build/kiln}
ROUNDS=${2:-5}
[ -x "$KILN" ] || { echo "offcpu_bench: '$KILN' is not executable (build kiln first)" >&2; exit 1; }
DIR=${KILN_BENCH_DIR:-$(dirname "$KILN")/bench}/offcpu
mkdir -p "$DIR"
gcc -O2 -g -pthread -o "$DIR/offcpu_switch" "$HERE/offcpu_switch.c" || exit 1
rustc -C opt-level=3 -C debuginfo=2 --crate-name offcpu -o "$DIR/offcpu_pool" "$HERE/../tests/fixtures/offcpu.rs" ||
	exit 1
HAVE_PERF=0
command -v perf >/dev/null && HAVE_PERF=1
PERF_OFFCPU=0
if [ $HAVE_PERF = 1 ] && ! perf record --off-cpu -o "$DIR/probe.data" -- true 2>&1 | grep -q "ignored"; then
	PERF_OFFCPU=1
fi

now() { date +%s.%N; }
elapsed() { awk '$1 == "elapsed_ns" { printf "%.4f", $2 / 1e9 }' "$DIR/out"; }
# the program's own cpu time (s), "-" when it does not print it
cpu() { awk '$1 == "cpu_ns" { c = $2 / 1e9 } END { if (c == "") print "-"; else printf "%.4f", c }' "$DIR/out"; }
# each prints "PROGRAM_SECONDS LOST COMMAND_SECONDS CPU_SECONDS [WHOLE SAMPLES]"
bare() {
	local t0
	t0=$(now)
	"$@" >"$DIR/out"
	echo "$(elapsed) 0 $(python3 -c "print($(now) - $t0)") $(cpu)"
}
# kiln_offcpu KILN CMD...: WHOLE SAMPLES are its switch samples whose
# stack unwound to the root, and all of them
kiln_offcpu() {
	local t0 t1 lost k=$1
	shift
	t0=$(now)
	"$k" offcpu -f -o "$DIR/k.kiln" -- "$@" >"$DIR/out" 2>"$DIR/err"
	t1=$(now)
	lost=$(sed -nE 's/^kiln: [0-9]+ off-CPU intervals from .* \(([0-9]+) lost switches.*/\1/p' "$DIR/err")
	echo "$(elapsed) ${lost:-?} $(python3 -c "print($t1 - $t0)") $(cpu) $("$k" report --json "$DIR/k.kiln" 2>/dev/null |
		python3 -c 'import json, sys; j = json.load(sys.stdin); n = j["samples"]
print(n - j["truncated"] - j["stack_not_copied"] - j["cut_by_exec"] - j["unwind_errors"], n)')"
}
perf_sched() {
	local t0 t1 lost
	t0=$(now)
	perf record -q --no-bpf-event -e sched:sched_switch -g -o "$DIR/p.data" -- "$@" >"$DIR/out" 2>/dev/null
	t1=$(now)
	lost=$(perf report -i "$DIR/p.data" --stats 2>/dev/null | awk '/LOST_SAMPLES events:/ {l=$3} END {print l+0}')
	echo "$(elapsed) $lost $(python3 -c "print($t1 - $t0)") $(cpu)"
}
# perf sched record: every cpu's switches and wake-ups, unfiltered (-a)
perf_schedrec() {
	local t0 t1 lost
	t0=$(now)
	perf sched record -q -o "$DIR/ps.data" -- "$@" >"$DIR/out" 2>/dev/null
	t1=$(now)
	lost=$(perf report -i "$DIR/ps.data" --stats 2>/dev/null | awk '/LOST_SAMPLES events:/ {l=$3} END {print l+0}')
	echo "$(elapsed) $lost $(python3 -c "print($t1 - $t0)") $(cpu)"
}
perf_offcpu() {
	local t0 t1
	t0=$(now)
	perf record -q --off-cpu -o "$DIR/po.data" -- "$@" >"$DIR/out" 2>/dev/null
	t1=$(now)
	echo "$(elapsed) ? $(python3 -c "print($t1 - $t0)") $(cpu)"
}

run_workload() {
	local name=$1
	shift
	declare -A RES=()
	local load0
	load0=$(cut -d' ' -f1 /proc/loadavg)
	local modes=("bare" "kiln offcpu")
	[ -n "${KILN_BASELINE:-}" ] && modes+=("kiln offcpu (baseline)")
	[ $HAVE_PERF = 1 ] && modes+=("perf -e sched:sched_switch -g" "perf sched record")
	[ $PERF_OFFCPU = 1 ] && modes+=("perf --off-cpu")
	for ((i = 0; i < ROUNDS; i++)); do
		RES["bare"]+="$(bare "$@");"
		RES["kiln offcpu"]+="$(kiln_offcpu "$KILN" "$@");"
		[ -n "${KILN_BASELINE:-}" ] && RES["kiln offcpu (baseline)"]+="$(kiln_offcpu "$KILN_BASELINE" "$@");"
		[ $HAVE_PERF = 1 ] && RES["perf -e sched:sched_switch -g"]+="$(perf_sched "$@");"
		[ $HAVE_PERF = 1 ] && RES["perf sched record"]+="$(perf_schedrec "$@");"
		[ $PERF_OFFCPU = 1 ] && RES["perf --off-cpu"]+="$(perf_offcpu "$@");"
	done
	echo "== $name: $* ($ROUNDS rounds, medians: the program's own time, the whole command's; load $load0 to $(cut -d' ' -f1 /proc/loadavg)) =="
	local base
	base=$(echo "${RES[bare]}" | tr ';' '\n' | awk 'NF {print $1}' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	for m in "${modes[@]}"; do
		local med lost cmd cpu whole
		med=$(echo "${RES[$m]}" | tr ';' '\n' | awk 'NF {print $1}' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
		cmd=$(echo "${RES[$m]}" | tr ';' '\n' | awk 'NF {print $3}' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
		cpu=$(echo "${RES[$m]}" | tr ';' '\n' | awk 'NF && $4 != "-" {print $4 * 1000}' | sort -g |
			awk '{a[NR]=$1} END {if (NR) printf "  cpu %5.1f ms", a[int((NR+1)/2)]}')
		whole=$(echo "${RES[$m]}" | tr ';' '\n' | awk 'NF >= 6 {w += $5; n += $6} END {if (n) printf "  whole stacks %.2f%%", 100 * w / n}')
		lost=$(echo "${RES[$m]}" | tr ';' '\n' | awk 'NF {printf " %s", $2}')
		awk -v m="$m" -v med="$med" -v base="$base" -v l="$lost" -v cmd="$cmd" -v c="$cpu" -v w="$whole" \
			'BEGIN {printf "  %-32s %7.3f s  %5.2fx  (command %6.3f s)%s%s  lost:%s\n", m, med, med / base, cmd, c, w, l}'
	done
	[ $PERF_OFFCPU = 1 ] || echo "  (perf --off-cpu: this perf was built without BPF skeletons)"
}

run_workload switch "$DIR/offcpu_switch" 8 2000 50
run_workload pool "$DIR/offcpu_pool" pool 8
