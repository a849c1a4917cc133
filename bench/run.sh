#!/bin/bash
# run.sh - kiln against perf on CPU-bound Rust workloads: recording overhead
# (FP and DWARF), bytes per sample, time to a text report, stack quality.
# See bench/README.md for how to read the table.
#
# usage: bench/run.sh PATH_TO_KILN [--runs N] [--seconds S] [--workload calltree|demo|all]
set -euo pipefail

KILN=$(realpath "${1:?usage: bench/run.sh PATH_TO_KILN [--runs N] [--seconds S] [--workload W]}")
shift
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(dirname "$HERE")
OUT=${KILN_BENCH_DIR:-$(dirname "$KILN")/bench}
mkdir -p "$OUT/fixtures" "$OUT/work"

# The fixtures, and the demo built like demo.sh builds it (release, no frame
# pointers, debug info).
bash "$SRC/tests/fixtures/build.sh" "$OUT/fixtures" >/dev/null
if [ ! -x "$OUT/fixtures/demo" ] || [ "$SRC/tests/fixtures/demo/demo.rs" -nt "$OUT/fixtures/demo" ]; then
	rustc -C opt-level=3 -C debuginfo=2 --crate-name demo -o "$OUT/fixtures/demo.tmp" "$SRC/tests/fixtures/demo/demo.rs"
	mv -f "$OUT/fixtures/demo.tmp" "$OUT/fixtures/demo"
fi

echo "kiln benchmarks: $(uname -r), $(nproc) cpus, $("$KILN" --version 2>/dev/null | head -1 || echo kiln), $(perf --version 2>/dev/null || echo 'no perf')"
echo "perf_event_paranoid=$(cat /proc/sys/kernel/perf_event_paranoid), load average $(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$HERE/bench.py" --kiln "$KILN" --fixtures "$OUT/fixtures" --work "$OUT/work" "$@"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg) (a busy machine inflates every ratio alike, but adds noise)"
