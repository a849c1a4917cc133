#!/usr/bin/env python3
"""bench.py - kiln against perf on the same CPU-bound Rust workloads (see
README.md). Driven by run.sh; prints one table per workload.

For each workload and each mode (bare, kiln fp, kiln dwarf, perf fp, perf
dwarf) the runs are interleaved (bare, kiln fp, ..., bare, kiln fp, ...) so
drift on a busy machine hits every mode alike; medians are reported.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
KC = os.path.join(HERE, "..", "tests", "e2e", "kc.py")
ROOTS = ("_start", "clone3", "clone", "__clone")


def timed(cmd, **kw):
    t = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
    dt = time.perf_counter() - t
    return dt, r


def child_cpu(cmd):
    """CPU seconds (user+sys) the command used, from its rusage."""
    before = os.times()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
    after = os.times()
    return (after.children_user - before.children_user) + (after.children_system - before.children_system)


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def kc_stats(src, args):
    out = subprocess.run([sys.executable, KC, "stats", src] + args, capture_output=True, text=True, check=True)
    return dict(l.split(" ", 1) for l in out.stdout.splitlines())


def complete_pct(stacks_src):
    """% of samples whose root frame is the program's or a thread's entry."""
    sys.path.insert(0, os.path.dirname(KC))
    import kc  # noqa: E402
    stacks = kc.load(stacks_src)
    total = sum(w for _, w in stacks)
    good = sum(w for f, w in stacks if f and f[0].name in ROOTS)
    return 100.0 * good / total if total else 0.0


def fmt(x, spec):
    if x is None or (isinstance(x, float) and x != x):
        return "-"
    return format(x, spec)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--fixtures", required=True, help="dir with calltree_nofp and demo")
    ap.add_argument("--work", required=True, help="scratch dir")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3.0, help="CPU seconds per bare run")
    ap.add_argument("--workload", default="all", choices=["calltree", "demo", "all"])
    ap.add_argument("--freq", default="997")
    a = ap.parse_args()

    kiln = os.path.abspath(a.kiln)
    work = os.path.abspath(a.work)
    os.makedirs(work, exist_ok=True)
    have_perf = shutil.which("perf") is not None

    workloads = []
    if a.workload in ("calltree", "all"):
        prog = os.path.join(a.fixtures, "calltree_nofp")
        per_round = child_cpu([prog, "20"]) / 20
        rounds = max(1, int(a.seconds / per_round))
        workloads.append(("calltree", [prog, str(rounds)],
                          "calltree_nofp %d rounds: main > run > leaf_a/leaf_b, shallow stacks" % rounds,
                          ["--leaf", "calltree::leaf_a", "--leaf", "calltree::leaf_b",
                           "--chain", "main,calltree::main,calltree::run"]))
    if a.workload in ("demo", "all"):
        prog = os.path.join(a.fixtures, "demo")
        per_scale = child_cpu([prog, "1"])
        scale = max(1, round(a.seconds / per_scale))
        workloads.append(("demo", [prog, str(scale)],
                          "demo %d: the make-demo search engine, 3 threads, deep std stacks, malloc" % scale, None))

    F = a.freq
    for name, cmd, desc, chain_args in workloads:
        modes = [("bare", None, lambda out: cmd)]
        modes.append(("kiln record fp", "kiln-fp",
                      lambda out: [kiln, "record", "-q", "-F", F, "--call-graph", "fp", "-o", out, "--"] + cmd))
        modes.append(("kiln record dwarf", "kiln-dwarf",
                      lambda out: [kiln, "record", "-q", "-F", F, "--call-graph", "dwarf", "-o", out, "--"] + cmd))
        # the agent engine: CPU-time timers in the target, unwound there (issue 17)
        modes.append(("kiln record agent", "kiln-agent",
                      lambda out: [kiln, "record", "-q", "-F", F, "--engine", "agent", "-o", out, "--"] + cmd))
        if have_perf:
            modes.append(("perf record -g (fp)", "perf-fp",
                          lambda out: ["perf", "record", "-q", "--no-bpf-event", "-F", F, "-g", "-o", out, "--"] + cmd))
            modes.append(("perf record dwarf", "perf-dwarf",
                          lambda out: ["perf", "record", "-q", "--no-bpf-event", "-F", F, "--call-graph", "dwarf",
                                       "-o", out, "--"] + cmd))
        walls = {m[0]: [] for m in modes}
        cpus = {m[0]: [] for m in modes}  # user+sys of the tool and the program: robust on a busy machine
        files = {}
        print("\n== %s: %s" % (name, desc), flush=True)
        print("   %d interleaved runs of each mode, -F %s; running" % (a.runs, F), end="", flush=True)
        for i in range(a.runs):
            for label, tag, mk in modes:
                out = os.path.join(work, "%s.%s.%s" % (name, tag, "data" if tag and tag.startswith("perf") else "kiln")) \
                    if tag else None
                if out:
                    for p in (out, out + ".old"):
                        if os.path.exists(p):
                            os.remove(p)
                before = os.times()
                dt, r = timed(mk(out))
                after = os.times()
                cpus[label].append((after.children_user - before.children_user) +
                                   (after.children_system - before.children_system))
                if r.returncode != 0:
                    sys.exit("\nbench: '%s' failed (%d): %s" % (" ".join(mk(out)), r.returncode,
                                                                  r.stderr.decode(errors="replace")[-500:]))
                walls[label].append(dt)
                if out:
                    files[label] = out
                print(".", end="", flush=True)
        print(flush=True)

        bare = median(walls["bare"])
        bare_cpu = median(cpus["bare"])
        rows = []
        for label, tag, _ in modes:
            row = {"mode": label, "wall": median(walls[label]), "over": median(walls[label]) / bare,
                   "cpu_over": median(cpus[label]) / bare_cpu if bare_cpu else None}
            f = files.get(label)
            if f:
                row["bytes"] = os.path.getsize(f)
                if tag.startswith("kiln"):
                    j = json.loads(subprocess.run([kiln, "report", "--json", "--limit", "0", f],
                                                  capture_output=True, text=True, check=True).stdout)
                    row["samples"] = j["samples"]
                    jpath = f + ".json"
                    with open(jpath, "w") as fh:
                        json.dump(j, fh)
                    row["stacks_src"] = jpath
                else:
                    st = subprocess.run(["perf", "report", "--stats", "-i", f], capture_output=True, text=True).stdout
                    m = re.search(r"SAMPLE events:\s+(\d+)", st)
                    row["samples"] = int(m.group(1)) if m else 0
                row["bps"] = row["bytes"] / row["samples"] if row.get("samples") else None
                if tag.endswith("dwarf"):
                    # Time to a text report, median of 3.
                    rep = [kiln, "report", f] if tag.startswith("kiln") else \
                        ["perf", "report", "--stdio", "-i", f]
                    row["report"] = median([timed(rep)[0] for _ in range(3)])
                if tag.startswith("perf"):
                    txt = f + ".txt"
                    with open(txt, "w") as fh:
                        subprocess.run(["perf", "script", "-i", f], stdout=fh, stderr=subprocess.DEVNULL)
                    row["stacks_src"] = txt
                row["complete"] = complete_pct(row["stacks_src"])
                if chain_args:
                    row["chain"] = float(kc_stats(row["stacks_src"], chain_args)["fullchain"])
            rows.append(row)

        hdr = "%-20s %8s %9s %9s %8s %11s %9s %9s %10s %10s" % (
            "mode", "wall s", "overhead", "cpu over", "samples", "file bytes", "B/sample", "report s", "rooted %",
            "chain %")
        print(hdr)
        print("-" * len(hdr))
        for r in rows:
            print("%-20s %8s %9s %9s %8s %11s %9s %9s %10s %10s" % (
                r["mode"], fmt(r["wall"], ".3f"), fmt(r["over"], ".3f") + "x", fmt(r.get("cpu_over"), ".3f") + "x",
                fmt(r.get("samples"), "d"),
                fmt(r.get("bytes"), ",d"), fmt(r.get("bps"), ".1f"), fmt(r.get("report"), ".3f"),
                fmt(r.get("complete"), ".2f"), fmt(r.get("chain"), ".2f")))
        by = {r["mode"]: r for r in rows}
        print()
        for kmode, pmode, what in (("kiln record fp", "perf record -g (fp)", "FP"),
                                   ("kiln record dwarf", "perf record dwarf", "DWARF")):
            if pmode in by:
                k, p = by[kmode]["over"], by[pmode]["over"]
                print("   %-5s overhead: kiln %.3fx, perf %.3fx -> %s" % (
                    what, k, p, "kiln no higher" if k <= p + 0.005 else "kiln HIGHER by %.3f" % (k - p)))
        for key, what in (("over", "wall"), ("cpu_over", "cpu")):
            k, a_ = by["kiln record dwarf"][key], by["kiln record agent"][key]
            if not k or not a_:
                continue
            ratio = (a_ - 1) / (k - 1) if k > 1.0005 else float("inf")
            print("   agent engine %s overhead: %.3fx, perf engine (kiln dwarf) %.3fx -> extra %.2fx the perf "
                  "engine's (goal <= 1.5x)" % (what, a_, k, ratio))
        if "perf record dwarf" in by:
            k, p = by["kiln record dwarf"], by["perf record dwarf"]
            if k.get("bps") and p.get("bps"):
                print("   DWARF bytes/sample: kiln %.1f, perf %.1f -> %.0fx smaller (goal >= 50x)" % (
                    k["bps"], p["bps"], p["bps"] / k["bps"]))
            if k.get("report") and p.get("report"):
                print("   DWARF report time: kiln %.3f s, perf %.3f s -> %.1fx faster (goal >= 10x)" % (
                    k["report"], p["report"], p["report"] / k["report"]))
            if chain_args:
                print("   full chain main > ... > leaf, DWARF: kiln %.2f%%, perf %.2f%%" % (k["chain"], p["chain"]))
    print()


if __name__ == "__main__":
    main()
