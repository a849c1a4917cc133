#!/bin/bash
# lock_bench.sh - the overhead of `kiln lock` (kernel and agent engines)
# against a bare run, side by side in one run with `perf trace -s -e futex`
# and `perf record -e syscalls:sys_enter_futex -g` (and with --call-graph
# dwarf, which is what the kernel engine does), on contended workloads:
# Rust std Mutex<u64> (tests/fixtures/lock_mutex.rs) and a C pthread mutex
# (tests/fixtures/c_lock.c), at 2, 4 and 8 threads. Wall time, median of
# --runs interleaved rounds; the ratio to bare; events lost (kiln's lost
# futex events, perf's "lost" lines). Measurements, not a test.
#
# usage: bench/lock_bench.sh [KILN] [--runs N] [--iters N] [--threads "2 4 8"]
#        [--modes "bare kiln-agent ..."] [--against OLDKILN]
# --against adds a kiln-agent-old column run with another kiln (its
# libkiln-agent.so beside it), interleaved with the others: a before/after
# of the agent in one run.
# Needs root (the futex tracepoints), perf and rustc.
set -u
KILN=${1:-$(dirname "$0")/../build/kiln}
shift || true
RUNS=3
ITERS=100000
THREADS="2 4 8"
MODES_ARG=
AGAINST=
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--iters) ITERS=$2; shift 2 ;;
	--threads) THREADS=$2; shift 2 ;;
	--modes) MODES_ARG=$2; shift 2 ;;
	--against) AGAINST=$2; shift 2 ;;
	*) echo "lock_bench: unknown option $1" >&2; exit 2 ;;
	esac
done
[ -x "$KILN" ] || { echo "lock_bench: '$KILN' is not executable (build kiln first)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "lock_bench: the futex tracepoints need root" >&2; exit 77; }
HAVE_PERF=1
command -v perf >/dev/null || HAVE_PERF=0
SRC=$(cd "$(dirname "$0")/.." && pwd)
W=${KILN_BENCH_DIR:-$(dirname "$KILN")/bench}/lock
mkdir -p "$W"
bash "$SRC/tests/fixtures/build.sh" "$W/fx" >/dev/null || exit 1

now() { date +%s%N; }
# run MODE CMD...: prints the wall time in ms and, for modes that can
# lose events, how many
run() {
	local mode=$1
	shift
	local t0 t1 lost=0 json= perr=
	t0=$(now)
	case $mode in
	bare) "$@" >/dev/null 2>&1 ;;
	kiln-kernel)
		"$KILN" lock --engine kernel -q -o "$W/k.kiln" --json "$W/k.json" -- "$@" >/dev/null 2>&1
		json=$W/k.json
		;;
	kiln-agent)
		"$KILN" lock --engine agent -q -o "$W/a.kiln" --json "$W/a.json" -- "$@" >/dev/null 2>&1
		json=$W/a.json
		;;
	kiln-agent-old)
		"$AGAINST" lock --engine agent -q -o "$W/o.kiln" --json "$W/o.json" -- "$@" >/dev/null 2>&1
		json=$W/o.json
		;;
	perf-trace) perf trace -s -e futex -o "$W/trace.txt" -- "$@" >/dev/null 2>&1 ;;
	perf-record-g)
		perf record -q --no-bpf-event -e syscalls:sys_enter_futex -g -o "$W/p.data" -- "$@" >/dev/null 2>"$W/p.err"
		perr=$W/p.err
		;;
	perf-record-dwarf)
		perf record -q --no-bpf-event -e syscalls:sys_enter_futex --call-graph dwarf,16384 -o "$W/p.data" -- "$@" \
			>/dev/null 2>"$W/p.err"
		perr=$W/p.err
		;;
	esac
	t1=$(now)
	# lost events, counted after the clock stops (python's start-up is not kiln's)
	[ -n "$json" ] && lost=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["lost"])' "$json" 2>/dev/null || echo "?")
	[ -n "$perr" ] && lost=$(grep -o 'lost [0-9]*' "$perr" | awk '{s+=$2} END {print s+0}')
	echo "$(((t1 - t0) / 1000000)) $lost"
}

MODES="bare kiln-kernel kiln-agent"
[ $HAVE_PERF = 1 ] && MODES="$MODES perf-trace perf-record-g perf-record-dwarf"
[ -n "$AGAINST" ] && MODES="$MODES kiln-agent-old"
[ -n "$MODES_ARG" ] && MODES=$MODES_ARG
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '%-14s %3s  %-18s %10s %7s %8s\n' workload thr mode "median ms" "x bare" lost
for wl in rust c; do
	for n in $THREADS; do
		if [ $wl = rust ]; then cmd=("$W/fx/lock_mutex_nofp" "$n" "$ITERS"); else cmd=("$W/fx/c_lock" mutex "$n" "$((ITERS * 4))"); fi
		declare -A T=() L=()
		for ((r = 0; r < RUNS; r++)); do
			for m in $MODES; do
				read -r ms lost < <(run "$m" "${cmd[@]}")
				T[$m]="${T[$m]:-} $ms"
				L[$m]=$lost
			done
		done
		bare=$(median ${T[bare]})
		for m in $MODES; do
			med=$(median ${T[$m]})
			ratio=$(python3 -c 'import sys; print("%.2f" % (float(sys.argv[1]) / max(float(sys.argv[2]), 1)))' "$med" "$bare")
			printf '%-14s %3s  %-18s %10s %7s %8s\n' "$wl-mutex" "$n" "$m" "$med" "$ratio" "${L[$m]}"
		done
		unset T L
	done
done
