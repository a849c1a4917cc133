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
# Then the churn workload (bench/thread_churn.c): threads started and
# exited continuously (4 at a time, 0.5 ms of CPU each: about a thousand a
# second) under `kiln serve -F 19 --segment 10s` for CHURN_SECONDS (default
# 120): kiln's resident memory (VmRSS) and kiln_serve_memory_bytes every 10
# s, start against end, and kiln's CPU share of a core over the run. With
# KILN_OLD set to another kiln (say, one built from an older commit), the
# same run with it follows, for a before/after.
#
# usage: bench/serve_bench.sh [KILN] [ROUNDS] [WORK_ROUNDS]
#        (default build/kiln, 3 rounds, 100 rounds of compute work: ~3-5 s
#        a run on a 2-core machine; about 2 minutes in all, and the churn
#        runs). SERVE_BENCH=churn runs only the churn workload, =cpu only
#        the CPU ones.
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
cc -O2 -g -pthread -o "$DIR/thread_churn" "$HERE/thread_churn.c" || exit 1
WHAT=${SERVE_BENCH:-all}

[ "$WHAT" = churn ] || python3 - "$KILN" "$DIR" "$ROUNDS" "$WORK" <<'PY'
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

[ "$WHAT" = cpu ] && exit 0
python3 - "$DIR" "${CHURN_SECONDS:-120}" "$KILN" ${KILN_OLD:+"$KILN_OLD"} <<'PY'
import os, signal, socket, subprocess, sys, time, urllib.request

d, seconds, kilns = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
STEP = 10


def cpu_s(pid):
    total = 0
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total / 1e9


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def counted_mb(port):
    try:
        body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10).read().decode()
    except OSError:
        return None
    for line in body.splitlines():
        if line.startswith("kiln_serve_memory_bytes "):
            return float(line.split()[1]) / 1e6
    return None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def churn(kiln):
    fifo = "%s/churn_go" % d
    if os.path.exists(fifo):
        os.unlink(fifo)
    os.mkfifo(fifo)
    prog = subprocess.Popen(["sh", "-c", 'read x < "$0"; exec "$@"', fifo, "%s/thread_churn" % d, str(seconds),
                             "4", "500"], stdout=subprocess.PIPE, text=True)
    segs = "%s/churn_segs" % d
    subprocess.run(["rm", "-rf", segs])
    port = free_port()
    k = subprocess.Popen([kiln, "serve", "-q", "--listen", "127.0.0.1:%d" % port, "-F", "19", "--segment", "10s",
                          "--dir", segs, "-p", str(prog.pid)])
    for _ in range(3000):
        if os.path.isdir(segs) and os.listdir(segs):
            break
        if k.poll() is not None:
            sys.exit("serve_bench: kiln serve exited with %d" % k.returncode)
        time.sleep(0.01)
    with open(fifo, "w") as f:
        f.write("go\n")
    k0, t0 = cpu_s(k.pid), time.monotonic()
    rows = []
    while prog.poll() is None:
        time.sleep(STEP)
        rows.append((time.monotonic() - t0, rss_mb(k.pid), counted_mb(port)))
    t1 = time.monotonic()
    share = (cpu_s(k.pid) - k0) / (t1 - t0)
    started = prog.stdout.read().strip()
    k.send_signal(signal.SIGTERM)
    k.wait()
    os.unlink(fifo)
    print("== churn under %s: %s in %.0f s ==" % (kiln, started, t1 - t0))
    print("%8s %12s %14s" % ("t s", "kiln RSS MB", "counted MB"))
    for t, r, c in rows:
        print("%8.0f %12.1f %14s" % (t, r, "-" if c is None else "%.2f" % c))
    if len(rows) >= 2:
        print("RSS %.1f MB at %.0f s -> %.1f MB at %.0f s (%+.1f MB); kiln CPU %.2f%% of a core" %
              (rows[0][1], rows[0][0], rows[-1][1], rows[-1][0], rows[-1][1] - rows[0][1], 100 * share))


for kiln in kilns:
    churn(kiln)
PY
