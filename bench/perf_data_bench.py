#!/usr/bin/env python3
"""perf_data_bench.py - reading a perf.data file: `kiln report FILE` against
`perf report -i FILE --stdio` on the same file, per subject.

Each subject is recorded once with `perf record` (the build-id cache goes to
the scratch directory's .debug, not the real home), then read --runs times
by each tool, interleaved. kiln is timed twice per run: its first read
(its caches emptied before: KILN_DEBUG_CACHE, which holds the decompressed
debug files, the Debian packages of modules without symbols and the
index of perf's kallsyms copy) and a later read (the caches as the first
read left it). Printed per subject: file size, samples, the median wall
time and median CPU time (user + system) of each reader, and the ratios
perf / kiln for both. Measurements, not a test: nothing fails on a number.

--file F (repeatable) reads perf.data files already recorded instead,
e.g. the six real programs' that real_cpu.py leaves in
<kiln's dir>/bench/real/NAME.data (perf's build-id cache is then the
.debug beside them: HOME is their directory), and kiln is timed a third
time per run, "new": its cache emptied, then warmed by reading every
OTHER --file once (untimed), then this file's first read: what a new
perf.data file costs on a machine where kiln has read others before
(kiln's caches are per library build, module and kallsyms file, never per
perf.data file; keep the files in one directory so that they share
perf's ~/.debug and its kallsyms copy). --baseline OLD_KILN times
a second kiln (say, one built from an earlier commit) in the same
interleaved runs, for a before/after table.

Subjects (each skipped when its program is missing):
  calltree-dwarf  tests/fixtures calltree_nofp (Rust, no frame pointers),
                  --call-graph dwarf (8 KiB copies), 3 s
  c-fp            tests/fixtures c_calltree_fp, -g (frame pointers), 3 s
  gcc-dwarf       gcc -O2 -c on a kiln source file (the driver, cc1, as),
                  --call-graph dwarf,65528 as in issue 18's comparison
  python-dwarf    python3 on a recursive and a json loop, --call-graph dwarf

usage: bench/perf_data_bench.py PATH_TO_KILN [--runs N] [--subject NAME ...]
                                [--file PERF_DATA ...] [--baseline OLD_KILN]
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PY_WORK = (
    "import json\n"
    "def f(n):\n"
    "    return n if n < 2 else f(n-1) + f(n-2)\n"
    "for i in range(60): f(21); json.dumps([list(range(1000))]*50)\n"
)


def timed(cmd, env):
    """Wall and CPU seconds of cmd, its output thrown away."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    rc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env).returncode
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if rc != 0:
        sys.exit("perf_data_bench: %s exited %d" % (" ".join(cmd), rc))
    return wall, cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kiln")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--subject", action="append", default=[])
    ap.add_argument("--file", action="append", default=[])
    ap.add_argument("--baseline")
    a = ap.parse_args()
    kiln = os.path.realpath(a.kiln)
    if not shutil.which("perf"):
        sys.exit("perf_data_bench: perf is not installed (linux-perf)")
    if a.file:
        return read_files(kiln, a)
    work = os.environ.get("KILN_BENCH_DIR") or os.path.join(os.path.dirname(kiln), "bench")
    work = os.path.join(work, "perf_data")
    os.makedirs(work, exist_ok=True)
    fx = os.path.join(os.path.dirname(kiln), "tests", "fixtures")
    subprocess.run([os.path.join(SRC, "tests", "fixtures", "build.sh"), fx], check=True,
                   stdout=subprocess.DEVNULL)
    cache = os.path.join(work, "kiln-debug-cache")
    env = dict(os.environ, HOME=work, KILN_DEBUG_CACHE=cache)
    subjects = {
        "calltree-dwarf": (["--call-graph", "dwarf"], [os.path.join(fx, "calltree_nofp"), "3000ms"]),
        "c-fp": (["-g"], [os.path.join(fx, "c_calltree_fp"), "3000ms"]),
        "gcc-dwarf": (["--call-graph", "dwarf,65528"],
                      ["gcc", "-O2", "-I" + os.path.join(SRC, "src"), "-c",
                       os.path.join(SRC, "src", "capture", "perf_data.c"), "-o", os.path.join(work, "x.o")]),
        "python-dwarf": (["--call-graph", "dwarf"], ["python3", "-c", PY_WORK]),
    }
    names = a.subject or list(subjects)
    rows = []
    for name in names:
        mode, cmd = subjects[name]
        if not shutil.which(cmd[0]):
            print("perf_data_bench: %s skipped: no %s" % (name, cmd[0]))
            continue
        data = os.path.join(work, name + ".data")
        subprocess.run(["perf", "record", "-q", "--no-bpf-event", "-F", "997", "-o", data] + mode + ["--"] + cmd,
                       check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        k1, k, p = [], [], []
        for _ in range(a.runs):
            shutil.rmtree(cache, ignore_errors=True)
            k1.append(timed([kiln, "report", data], env))
            k.append(timed([kiln, "report", data], env))
            p.append(timed(["perf", "report", "-i", data, "--stdio"], env))
        out = subprocess.run([kiln, "report", "--json", "--limit", "1", data], capture_output=True, text=True,
                             env=env).stdout
        samples = json.loads(out)["samples"]
        med = lambda xs, i: statistics.median(x[i] for x in xs)
        rows.append((name, os.path.getsize(data) / 1e6, samples, med(k1, 0), med(k, 0), med(p, 0), med(k1, 1),
                     med(k, 1), med(p, 1)))
    print()
    print("| subject | file MB | samples | kiln wall s first/later | perf wall s | wall ratio first/later "
          "| kiln CPU ms first/later | perf CPU ms | CPU ratio first/later |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, mb, n, kw1, kw, pw, kc1, kc, pc in rows:
        print("| %s | %.1f | %s | %.2f / %.2f | %.2f | %.1fx / %.1fx | %.0f / %.0f | %.0f | %.1fx / %.1fx |"
              % (name, mb, n, kw1, kw, pw, pw / kw1, pw / kw, kc1 * 1e3, kc * 1e3, pc * 1e3,
                 pc / max(kc1, 1e-3), pc / max(kc, 1e-3)))
    print("\nmedians of %d interleaved runs; load average at the end: %s"
          % (a.runs, open("/proc/loadavg").read().split()[0]))


def read_files(kiln, a):
    """Times the readers on recorded files, interleaved, one row per file:
    perf report, and per kiln (and the baseline) three reads of the file:
    first (the cache emptied: a machine where kiln never ran), later (the
    cache as that read left it) and new (the cache emptied, then warmed by
    reading every OTHER file once, untimed: the first read of a new
    perf.data file on a machine where kiln has run before). kiln's caches
    are keyed by library build (build-id), module path and kallsyms file,
    never by the perf.data file, so "new" is what a user's next recording
    costs; it needs two files or more."""
    kilns = [kiln] + ([os.path.realpath(a.baseline)] if a.baseline else [])
    files = [os.path.realpath(f) for f in a.file]
    homes = {f: dict(os.environ, HOME=os.path.dirname(f)) for f in files}
    rows = []
    for data in files:
        cache = data + ".kiln-cache"
        # every read below, the warming ones too, uses this file's cache
        env = {f: dict(homes[f], KILN_DEBUG_CACHE=cache) for f in files}
        others = [f for f in files if f != data]
        t = {}
        for _ in range(a.runs):
            for i, k in enumerate(kilns):
                shutil.rmtree(cache, ignore_errors=True)
                t.setdefault((i, 0), []).append(timed([k, "report", data], env[data]))
                t.setdefault((i, 1), []).append(timed([k, "report", data], env[data]))
                if others:
                    shutil.rmtree(cache, ignore_errors=True)
                    for f in others:
                        timed([k, "report", f], env[f])
                    t.setdefault((i, 2), []).append(timed([k, "report", data], env[data]))
            t.setdefault("perf", []).append(timed(["perf", "report", "-i", data, "--stdio"], env[data]))
        shutil.rmtree(cache, ignore_errors=True)
        med = lambda xs, j: statistics.median(x[j] for x in xs)
        rows.append((os.path.basename(data), os.path.getsize(data) / 1e6, t, med))
    hdr = "| file | MB | perf wall / CPU ms |"
    for i in range(len(kilns)):
        name = "kiln" if i == 0 else "baseline"
        hdr += (" %s first wall / CPU ms | %s new wall / CPU ms | %s later wall / CPU ms "
                "| perf / %s wall: first / new / later | CPU: first / new / later |" % (name, name, name, name))
    print("\n" + hdr)
    print("|---|---:|---:|" + "---:|---:|---:|---:|---:|" * len(kilns))
    for name, mb, t, med in rows:
        pw, pc = med(t["perf"], 0), med(t["perf"], 1)
        line = "| %s | %.1f | %.0f / %.0f |" % (name, mb, pw * 1e3, pc * 1e3)
        for i in range(len(kilns)):
            cols, walls, cpus = [], [], []
            for j in (0, 2, 1):
                if (i, j) in t:
                    w, c = med(t[(i, j)], 0), med(t[(i, j)], 1)
                    cols.append("%.0f / %.0f" % (w * 1e3, c * 1e3))
                    walls.append("%.1fx" % (pw / w))
                    cpus.append("%.1fx" % (pc / max(c, 1e-3)))
                else:
                    cols += ["-"]
                    walls += ["-"]
                    cpus += ["-"]
            line += " %s | %s | %s |" % (" | ".join(cols), " / ".join(walls), " / ".join(cpus))
        print(line)
    print("\nfirst: kiln's cache emptied; new: emptied, then warmed by the other files; later: warm from "
          "this file")
    print("medians of %d interleaved runs; load average at the end: %s"
          % (a.runs, open("/proc/loadavg").read().split()[0]))


if __name__ == "__main__":
    main()
