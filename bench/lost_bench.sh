#!/bin/bash
# lost_bench.sh - lost samples when busy threads far outnumber cores: a C
# program starting 200 threads that each burn 4 ms of their own cpu
# (tests/fixtures/c_manythreads.c), recorded at 997 Hz in DWARF mode by
# kiln and by perf record, ROUNDS rounds with the tools interleaved so that
# machine noise hits all alike. Prints, per mode, the median of the lost
# samples and of the lost share, and every run.
#
# Modes: kiln as it runs (its reader at real-time priority when root),
# kiln with its reader held at normal priority (KILN_TEST_READER_PRIO, to
# show what the priority does), kiln as user nobody (a short time slice,
# rings within the mlock limit), perf with its default 8 KB stack copy, and
# perf with kiln's 65528-byte copy.
#
# usage: bench/lost_bench.sh [KILN] [ROUNDS] [THREADS] [CPU_MS]
#        (default: build/kiln, 5, 200, 4)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
KILN=${1:-$HERE/../build/kiln}
ROUNDS=${2:-5}
THREADS=${3:-200}
CPU_MS=${4:-4}
[ -x "$KILN" ] || { echo "lost_bench: '$KILN' is not executable (build kiln first)" >&2; exit 1; }
DIR=${KILN_BENCH_DIR:-$(dirname "$KILN")/bench}/lost
mkdir -p "$DIR"
PROG=$DIR/c_manythreads
gcc -O2 -g -pthread -o "$PROG" "$HERE/../tests/fixtures/c_manythreads.c" || exit 1
HAVE_PERF=0
command -v perf >/dev/null && HAVE_PERF=1

# each prints "SAMPLES LOST"
kiln_run() {
	env "$@" "$KILN" record -F 997 -o "$DIR/k.kiln" -f -- "$PROG" "$THREADS" "$CPU_MS" 2>&1 >/dev/null |
		sed -nE "s/^kiln: wrote '.*' \(([0-9]+) samples, ([0-9]+) lost,.*/\1 \2/p"
}
perf_run() {
	perf record -q --no-bpf-event -F 997 --call-graph "$1" -o "$DIR/p.data" -- "$PROG" "$THREADS" "$CPU_MS" \
		>/dev/null 2>&1
	# the last block of --stats is the event's own: its SAMPLE and LOST_SAMPLES
	perf report -i "$DIR/p.data" --stats 2>/dev/null |
		awk '/SAMPLE events:/ && !/LOST/ {s=$3} /LOST_SAMPLES events:/ {l=$3} END {print s+0, l+0}'
}

# as nobody: no real-time priority (a short time slice instead) and rings
# within the mlock limit; needs root to switch user, paranoid <= 2
nobody_run() {
	setpriv --reuid=65534 --regid=65534 --clear-groups -- "$KILN" record -F 997 -o "$DIR/nobody/k.kiln" -f -- \
		"$PROG" "$THREADS" "$CPU_MS" 2>&1 >/dev/null |
		sed -nE "s/^kiln: wrote '.*' \(([0-9]+) samples, ([0-9]+) lost,.*/\1 \2/p"
}
HAVE_NOBODY=0
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -le 2 ]; then
	mkdir -p "$DIR/nobody" && chmod 777 "$DIR/nobody" && HAVE_NOBODY=1
fi

declare -A RES
MODES=("kiln" "kiln, reader at normal priority")
[ $HAVE_NOBODY = 1 ] && MODES+=("kiln as nobody")
[ $HAVE_PERF = 1 ] && MODES+=("perf dwarf (8 KB copy)" "perf dwarf,65528")
for ((i = 0; i < ROUNDS; i++)); do
	RES["kiln"]+="$(kiln_run KILN_BENCH=1);"
	RES["kiln, reader at normal priority"]+="$(kiln_run KILN_TEST_READER_PRIO=normal);"
	[ $HAVE_NOBODY = 1 ] && RES["kiln as nobody"]+="$(nobody_run);"
	if [ $HAVE_PERF = 1 ]; then
		RES["perf dwarf (8 KB copy)"]+="$(perf_run dwarf);"
		RES["perf dwarf,65528"]+="$(perf_run dwarf,65528);"
	fi
done

printf '%s threads x %s ms of cpu each, 997 Hz, DWARF mode, %s rounds, %s cpus, load %s\n' "$THREADS" "$CPU_MS" \
	"$ROUNDS" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)"
printf '%-34s %12s %10s  %s\n' "mode" "median lost" "median %" "runs (lost/samples+lost)"
for m in "${MODES[@]}"; do
	python3 - "$m" "${RES[$m]}" <<'PY'
import sys, statistics
mode, runs = sys.argv[1], [r.split() for r in sys.argv[2].split(';') if r.strip()]
runs = [(int(s), int(l)) for s, l in runs]
lost = statistics.median(l for s, l in runs) if runs else float('nan')
pct = statistics.median(100.0 * l / max(1, s + l) for s, l in runs) if runs else float('nan')
print(f"{mode:<34} {lost:>12} {pct:>9.1f}%  " + " ".join(f"{l}/{s + l}" for s, l in runs))
PY
done
