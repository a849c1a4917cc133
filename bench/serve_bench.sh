#!/bin/bash
# serve_bench.sh - what `kiln serve` costs the programs it watches and the
# machine: CPU workloads (tests/fixtures/compute_bench.c and .rs: matrix
# products and a sieve), two copies at once so both cores of a 2-core
# machine are busy, run bare and under `kiln serve -p A,B` at 19 Hz (its
# default) and 99 Hz, the modes interleaved round by round so machine noise
# hits all alike. Each copy waits on a fifo until kiln has attached, so
# only the profiled run is timed.
#
# Prints per workload and mode the median wall time of the two copies (the
# later one's exit), its ratio to the bare median, and kiln's own CPU time
# over that run as a share of one core (/proc/PID/task/*/schedstat: every thread
# of kiln, the ring reader, symbolization and segment writing included).
#
# usage: bench/serve_bench.sh [KILN] [ROUNDS] [WORK_ROUNDS]
#        (default build/kiln, 3 rounds, 100 rounds of compute work: ~3-5 s
#        a run on a 2-core machine; about 2 minutes in all)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
KILN=${1:-$HERE/../build/kiln}
ROUNDS=${2:-3}
WORK=${3:-100}
[ -x "$KILN" ] || {
	echo "serve_bench: '$KILN' is not executable (build kiln first)" >&2
	exit 1
}
DIR=${KILN_BENCH_DIR:-$(dirname "$KILN")/bench}/serve
mkdir -p "$DIR"
cc -O2 -g -o "$DIR/compute_c" "$HERE/../tests/fixtures/compute_bench.c" || exit 1
rustc -C opt-level=2 -g --crate-name compute_bench -o "$DIR/compute_rs" "$HERE/../tests/fixtures/compute_bench.rs" ||
	exit 1

python3 - "$KILN" "$DIR" "$ROUNDS" "$WORK" <<'PY'
import os, signal, statistics, subprocess, sys, time

kiln, d, rounds, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]


def cpu_s(pid):
    """CPU seconds of every thread of pid, in ns precision (schedstat)."""
    total = 0
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total / 1e9


def one(prog, hz):
    """Wall seconds of two copies of prog, and kiln's CPU share of a core."""
    procs = []
    for k in range(2):
        fifo = "%s/go%d" % (d, k)
        if os.path.exists(fifo):
            os.unlink(fifo)
        os.mkfifo(fifo)
        # the copy blocks opening the fifo until the run starts
        procs.append((subprocess.Popen(["sh", "-c", 'read x < "$0"; exec "$@"', fifo, prog, work],
                                       stdout=subprocess.DEVNULL), fifo))
    k = None
    if hz:
        segs = "%s/segs" % d
        subprocess.run(["rm", "-rf", segs])
        k = subprocess.Popen([kiln, "serve", "-q", "--listen", "127.0.0.1:0", "-F", str(hz), "--dir", segs,
                              "-p", ",".join(str(p.pid) for p, _ in procs)])
        # attached once the first segment exists (kiln opens it after the recorders)
        for _ in range(3000):
            if os.path.isdir(segs) and os.listdir(segs):
                break
            if k.poll() is not None:
                sys.exit("serve_bench: kiln serve exited with %d" % k.returncode)
            time.sleep(0.01)
    k0 = cpu_s(k.pid) if k else 0
    t0 = time.monotonic()
    for p, fifo in procs:
        with open(fifo, "w") as f:
            f.write("go\n")
    for p, _ in procs:
        p.wait()
    t1 = time.monotonic()
    share = 0.0
    if k:
        share = (cpu_s(k.pid) - k0) / (t1 - t0)
        k.send_signal(signal.SIGTERM)
        k.wait()
    for _, fifo in procs:
        os.unlink(fifo)
    return t1 - t0, share


for name in ("compute_c", "compute_rs"):
    prog = "%s/%s" % (d, name)
    res = {0: [], 19: [], 99: []}
    for r in range(rounds):
        for hz in (0, 19, 99):
            res[hz].append(one(prog, hz))
    bare = statistics.median(t for t, _ in res[0])
    print("== %s x2, %s rounds of work (%d runs each, medians) ==" % (name, work, rounds))
    print("%-16s %9s %9s %16s" % ("mode", "wall s", "ratio", "kiln CPU % core"))
    for hz in (0, 19, 99):
        t = statistics.median(x for x, _ in res[hz])
        label = "bare" if not hz else "kiln serve -F %d" % hz
        cpu = "" if not hz else "%.2f%%" % (100 * statistics.median(s for _, s in res[hz]))
        print("%-16s %9.3f %9.3f %16s" % (label, t, t / bare, cpu))
PY
