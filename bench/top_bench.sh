#!/bin/bash
# top_bench.sh - what watching costs: kiln top against perf top at the
# same rate (-F HZ) and the same unwinding, attached (-p) to a CPU-bound
# Rust workload (tests/fixtures/compute_bench.rs: matrix products and a
# sieve, a fixed number of rounds). ROUNDS rounds with the modes
# interleaved so machine noise hits all alike; per mode the medians of
#   wall      the workload's wall time, and its ratio to the bare run (the
#             target's slowdown)
#   cpu       the profiler's own CPU time (user + system, from wait4), and
#             that as a share of one core over the workload's run
# Both refresh once a second; kiln top prints text snapshots to a file
# (stdout no terminal), perf top runs --stdio with its stdin held open (it
# reads keys from it). Modes: dwarf unwinding (kiln's default, perf
# --call-graph dwarf) and frame pointers (kiln --call-graph fp, perf -g);
# kiln record -p at the same rate is the anchor kiln top should not exceed.
#
# usage: bench/top_bench.sh [KILN] [ROUNDS] [HZ] [WORK_ROUNDS]
#        (default build/kiln, 5, 997, 150)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
KILN=${1:-$HERE/../build/kiln}
ROUNDS=${2:-5}
HZ=${3:-997}
WORK=${4:-150}
[ -x "$KILN" ] || { echo "top_bench: '$KILN' is not executable (build kiln first)" >&2; exit 1; }
command -v perf >/dev/null || { echo "top_bench: perf is not installed (make deps installs linux-perf)" >&2; exit 1; }
DIR=${KILN_BENCH_DIR:-$(dirname "$KILN")/bench}/top
mkdir -p "$DIR"
rustc -C opt-level=3 -C debuginfo=2 --crate-name compute_bench -o "$DIR/compute" \
	"$HERE/../tests/fixtures/compute_bench.rs" || exit 1

python3 - "$KILN" "$ROUNDS" "$HZ" "$WORK" "$DIR" <<'PY'
import os, signal, statistics, subprocess, sys, time

kiln, rounds, hz, work, d = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
modes = {
    "bare": None,
    "kiln record -p (dwarf)": [kiln, "record", "-q", "-f", "-o", os.path.join(d, "rec.kiln"), "-F", hz],
    "kiln top (dwarf)": [kiln, "top", "-F", hz, "-d", "1"],
    "perf top --call-graph dwarf": ["perf", "top", "--stdio", "-F", hz, "-d", "1", "--call-graph", "dwarf"],
    "kiln top --call-graph fp": [kiln, "top", "-F", hz, "-d", "1", "--call-graph", "fp"],
    "perf top -g (fp)": ["perf", "top", "--stdio", "-F", hz, "-d", "1", "-g"],
}

def reap(p, block):
    """Waits for p (or not, when block is false) with wait4, so that its
    rusage is ours; returns its CPU seconds, or None while it runs."""
    pid, status, ru = os.wait4(p.pid, 0 if block else os.WNOHANG)
    if pid == 0:
        return None
    p.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
    return ru.ru_utime + ru.ru_stime

def run(prof):
    """The workload's wall seconds and the profiler's CPU seconds."""
    t0 = time.monotonic()
    w = subprocess.Popen([os.path.join(d, "compute"), work], stdout=subprocess.DEVNULL)
    p = None
    if prof:
        with open(os.path.join(d, "top.out"), "w") as out, open(os.path.join(d, "top.err"), "w") as err:
            p = subprocess.Popen(prof + ["-p", str(w.pid)], stdin=subprocess.PIPE, stdout=out, stderr=err)
    w.wait()
    wall = time.monotonic() - t0
    if not p:
        return wall, 0.0
    # kiln top and record end by themselves when the target does; perf
    # top is told to
    cpu = None
    deadline = time.monotonic() + 5
    while cpu is None and time.monotonic() < deadline:
        if prof[0] == "perf":
            p.send_signal(signal.SIGINT)
        time.sleep(0.05)
        cpu = reap(p, False)
    if cpu is None:
        p.kill()
        cpu = reap(p, True)
    p.stdin.close()
    return wall, cpu

res = {m: [] for m in modes}
for _ in range(rounds):
    for m, prof in modes.items():
        res[m].append(run(prof))

base = statistics.median(w for w, _ in res["bare"])
print(f"== kiln top vs perf top at {hz} Hz, attached to compute_bench {work} rounds "
      f"({rounds} rounds, medians) ==")
for m, r in res.items():
    wall = statistics.median(w for w, _ in r)
    cpu = statistics.median((c or 0.0) for _, c in r)
    print(f"  {m:30s} wall {wall:7.3f} s  {wall / base:5.3f}x   own cpu {cpu:6.3f} s  "
          f"({100 * cpu / wall:5.1f}% of a core)")
PY
