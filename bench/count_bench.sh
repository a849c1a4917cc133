#!/bin/bash
# count_bench.sh - kiln count and kiln cache against valgrind's callgrind
# and cachegrind: the slowdown of each over a bare run of the same
# workload, side by side in one run (C and Rust, compute- and
# memory-heavy; bench/count_work.{c,rs}). Goals (issue 14): counting at
# most half of callgrind's slowdown; cache simulation no slower than
# cachegrind. A measurement, not a test: nothing fails on a number.
#
# usage: bash bench/count_bench.sh [KILN] [--runs N] [--scale S] [--cpu] [--base KILN]
#   KILN      the kiln binary (default build/kiln)
#   --runs    runs of each mode; the median is shown (default 1)
#   --scale   multiplies every workload's size (default 1: about 0.3 s bare)
#   --cpu     CPU time (user + system, the tool's and the program's) instead
#             of wall time: on a shared machine CPU time hardly grows with
#             the load, wall time does
#   --base    another kiln (an older build, with its own libkiln-qemu.so
#             beside it), measured in the same rounds: before/after columns
# Each round runs every mode of a workload once, in turn, so that a change
# of the machine's load hits all of them alike. Scratch files go to
# $KILN_BENCH_DIR (default /tmp/kiln-count-bench.$$).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
KILN=$HERE/../build/kiln
RUNS=1
SCALE=1
BASE=
CPU=0
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--scale) SCALE=$2; shift 2 ;;
	--cpu) CPU=1; shift ;;
	--base) BASE=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift 2 ;;
	-h | --help) sed -n 2,20p "$0"; exit 0 ;;
	*) KILN=$1; shift ;;
	esac
done
KILN=$(cd "$(dirname "$KILN")" && pwd)/$(basename "$KILN")
[ -x "$KILN" ] || { echo "count_bench.sh: no kiln at $KILN (make first)" >&2; exit 1; }
[ -z "$BASE" ] || [ -x "$BASE" ] || { echo "count_bench.sh: no kiln at $BASE" >&2; exit 1; }
command -v qemu-x86_64 >/dev/null || { echo "count_bench.sh: qemu-x86_64 missing (make deps)" >&2; exit 1; }
HAVE_VG=1
command -v valgrind >/dev/null || HAVE_VG=0
DIR=${KILN_BENCH_DIR:-/tmp/kiln-count-bench.$$}
mkdir -p "$DIR"
gcc -O2 -g -o "$DIR/count_work_c" "$HERE/count_work.c"
rustc -C opt-level=3 -C debuginfo=2 -o "$DIR/count_work_rs" "$HERE/count_work.rs" 2>/dev/null

# seconds CMD...: wall (or with --cpu, CPU) time of one run, output discarded
seconds() {
	local t0 t1
	if [ $CPU = 1 ]; then
		# the children's rusage to the microsecond: GNU time prints
		# hundredths, a third of Rust memory's 30 ms bare run
		python3 -c '
import os, shutil, sys
# posix_spawn: a child forked from python costs 45 ms of its own
null = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_WRONLY, 0) for fd in (1, 2)]
pid = os.posix_spawn(shutil.which(sys.argv[1]), sys.argv[1:], os.environ, file_actions=null)
r = os.wait4(pid, 0)[2]
print("%.4f" % (r.ru_utime + r.ru_stime))' "$@"
		return
	fi
	t0=$(date +%s.%N)
	"$@" >/dev/null 2>&1 || true
	t1=$(date +%s.%N)
	python3 -c "print($t1 - $t0)"
}
# median X...: the median of the numbers
median() { python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

# shellcheck disable=SC2054 # the commas are the geometry's, not separators
CACHE_GEO=(--I1 32768,8,64 --D1 32768,8,64 --LL 8388608,16,64)
if [ -n "$BASE" ]; then
	printf '%-13s %7s %8s %8s %9s %8s %8s %10s\n' workload "bare s" "count<" "count>" callgrind "cache<" "cache>" cachegrind
else
	printf '%-16s %8s %10s %10s %10s %10s   %s\n' workload "bare s" "count x" "callgrind x" "cache x" "cachegrind x" "goals"
fi
for w in "C compute:count_work_c compute $((60000 * SCALE))" "C memory:count_work_c memory $((1 * SCALE))" \
	"Rust compute:count_work_rs compute $((2400 * SCALE))" "Rust memory:count_work_rs memory $((8 * SCALE))"; do
	name=${w%%:*}
	read -r -a cmd <<<"${w#*:}"
	cmd[0]=$DIR/${cmd[0]}
	bare=() count=() cache=() bcount=() bcache=() cg=() cag=()
	for _ in $(seq "$RUNS"); do
		bare+=("$(seconds "${cmd[@]}")")
		count+=("$(seconds "$KILN" count -q -o "$DIR/c.kiln" -- "${cmd[@]}")")
		cache+=("$(seconds "$KILN" cache -q "${CACHE_GEO[@]}" -o "$DIR/k.kiln" -- "${cmd[@]}")")
		if [ -n "$BASE" ]; then
			bcount+=("$(seconds "$BASE" count -q -o "$DIR/c.kiln" -- "${cmd[@]}")")
			bcache+=("$(seconds "$BASE" cache -q "${CACHE_GEO[@]}" -o "$DIR/k.kiln" -- "${cmd[@]}")")
		fi
		if [ $HAVE_VG = 1 ]; then
			cg+=("$(seconds valgrind --tool=callgrind --callgrind-out-file="$DIR/cg.out" "${cmd[@]}")")
			cag+=("$(seconds valgrind --tool=cachegrind --cache-sim=yes --I1=32768,8,64 --D1=32768,8,64 \
				--LL=8388608,16,64 --cachegrind-out-file="$DIR/cag.out" "${cmd[@]}")")
		fi
	done
	python3 - "$name" "$(median "${bare[@]}")" "$(median "${count[@]}")" \
		"$([ $HAVE_VG = 1 ] && median "${cg[@]}" || echo nan)" "$(median "${cache[@]}")" \
		"$([ $HAVE_VG = 1 ] && median "${cag[@]}" || echo nan)" \
		"$([ -n "$BASE" ] && median "${bcount[@]}" || echo nan)" \
		"$([ -n "$BASE" ] && median "${bcache[@]}" || echo nan)" <<'PY'
import sys
name, bare, count, cg, cache, cag, bcount, bcache = sys.argv[1], *map(float, sys.argv[2:])
x = lambda t: t / max(bare, 1e-3)
if bcount == bcount:
    print("%-13s %7.3f %7.1fx %7.1fx %8.1fx %7.1fx %7.1fx %9.1fx" % (name, bare, x(bcount), x(count), x(cg),
                                                                     x(bcache), x(cache), x(cag)))
    sys.exit(0)
goals = []
if cg == cg:
    goals.append("count<=cg/2 %s" % ("yes" if x(count) <= x(cg) / 2 else "NO"))
if cag == cag:
    goals.append("cache<=cachegrind %s" % ("yes" if cache <= cag else "NO"))
print("%-16s %8.3f %9.1fx %9.1fx %9.1fx %11.1fx   %s" % (name, bare, x(count), x(cg), x(cache), x(cag), ", ".join(goals)))
PY
done
[ -n "$BASE" ] && echo "(<: --base, >: KILN)"
[ -n "${KILN_BENCH_DIR:-}" ] || rm -rf "$DIR"
