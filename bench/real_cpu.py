#!/usr/bin/env python3
"""real_cpu.py - kiln against perf on six real programs nobody here wrote
(issue 18's benchmark): Debian's zstd, ripgrep (rg), fd-find (fdfind),
sqlite3, python3 and gcc (the driver, cc1, as, collect2, ld).

Per subject, with inputs generated under the scratch directory:
  bare      the command alone
  kiln      kiln record -q -F HZ -o F -- CMD (DWARF mode, 65528-byte copy)
  perf      perf record -q --no-bpf-event -F HZ --call-graph dwarf[,SIZE]
  perf -g   perf record ... -g (frame pointers), for the read-time table
run --runs times interleaved (medians), then from the last files:

Table 1 (recording): top-10 self shares (kiln's rows, perf's share of the
same name), % of stacks reaching the entry (_start, clone, clone3), % of
samples in unnamed code (kiln: module+0x / sub_ADDR@module rows; perf:
raw addresses and [unknown]), unnamed PLT and alias rows in kiln's table
(module+0xADDR rows, __GI_*, __libc_malloc & co.; must be 0),
file sizes and the wall ratio kiln / perf (and each against bare).

Table 2 (reading perf.data): `kiln report FILE` against
`perf report -i FILE --stdio` on perf's DWARF and FP files of each
subject: median wall and CPU seconds (user + system) of --reads reads
each, interleaved, and the ratio perf / kiln.

usage: bench/real_cpu.py PATH_TO_KILN [--runs N] [--reads N] [--freq HZ]
                         [--perf-stack BYTES] [--subject NAME ...]

Measurements, not a test: nothing fails on a number. perf's build-id
cache goes to the scratch directory's .debug, not the real home. Subjects
whose program is missing are skipped (make deps installs them).
"""
import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "e2e"))
import kc  # noqa: E402

ROOTS = ("_start", "clone3", "clone", "__clone")
START_MAIN = ("__libc_start_main", "__libc_start_main_impl", "__libc_start_main_alias_2")
# kiln rows that name nothing: per-address rows and glibc's internal
# aliases of public functions. (_init and _fini rows are the .init and
# .fini sections' own code: kiln sizes those names to their sections and
# names every PLT stub X@plt, so a stub is never one of them; test_symbols'
# test_stripped and test_names pin both.)
BAD_ROW = re.compile(r"(\+0x[0-9a-f]+$)|(^__GI_)|(^__libc_(malloc|free|calloc|realloc)$)")
KILN_UNNAMED = re.compile(r"(\+0x[0-9a-f]+$)|(^sub_[0-9a-f]+@)")
PERF_UNNAMED = re.compile(r"^(0x[0-9a-f]+|\[unknown\])$")

SQL = """CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c REAL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 600000)
INSERT INTO t SELECT i, hex(randomblob(16)), i * 0.5 FROM n;
CREATE INDEX tb ON t(b);
SELECT count(*), sum(c) FROM t WHERE b LIKE '%AB%';
SELECT b FROM t ORDER BY b LIMIT 1 OFFSET 300000;
"""

PY = """import json, re
def f(n):
    return n if n < 2 else f(n-1) + f(n-2)
for i in range(40):
    f(20); json.dumps([list(range(1000))] * 40); re.findall(r'[a-f]+[0-9]', 'abc1def2' * 2000)
"""


def prepare(work):
    """Inputs: a text file, a tree of text files, a SQL script."""
    os.makedirs(work, exist_ok=True)
    text = os.path.join(work, "input.txt")
    if not os.path.exists(text):
        with open(text, "wb") as f:
            subprocess.run(["base64"], input=os.urandom(6 << 20), stdout=f, check=True)
    tree = os.path.join(work, "tree")
    if not os.path.isdir(tree):
        data = open(text, "rb").read()
        for d in range(40):
            sub = os.path.join(tree, "d%02d" % d, "e%d" % (d % 7))
            os.makedirs(sub, exist_ok=True)
            for i in range(100):
                off = ((d * 100 + i) * 2011) % (len(data) - 20000)
                with open(os.path.join(sub, "f%03d_%d.txt" % (i, d * i % 13)), "wb") as f:
                    f.write(data[off:off + 20000])
    sql = os.path.join(work, "work.sql")
    with open(sql, "w") as f:
        f.write(SQL)
    py = os.path.join(work, "work.py")
    with open(py, "w") as f:
        f.write(PY)
    return text, tree, sql, py


def subjects(work):
    text, tree, sql, py = prepare(work)
    db = os.path.join(work, "db")
    obj = os.path.join(work, "x.o")
    return {
        "zstd": ["zstd", "-q", "-f", "-19", text, "-o", os.path.join(work, "input.zst")],
        "rg": ["sh", "-c", "for i in 1 2 3 4; do rg -c -j 2 '[A-Z][a-z]{2}[0-9]+[xyz]|Q[0-9]{3}' '%s'; done" % tree],
        "fd": ["sh", "-c", "for i in 1 2 3 4 5 6; do fdfind -u -j 2 -c never '^[a-f].*[0-9]_[0-9]+' '%s' /usr/share /usr/lib; done"
               % tree],
        "sqlite3": ["sh", "-c", "rm -f '%s' && sqlite3 '%s' <'%s'" % (db, db, sql)],
        "python3": ["/usr/bin/python3", py],
        "gcc": ["gcc", "-O2", "-g", "-I" + os.path.join(SRC, "src"), "-c",
                os.path.join(SRC, "src", "capture", "perf_data.c"), "-o", obj],
    }


def run(cmd, env):
    """Wall and CPU seconds (user + system of children) of cmd."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        sys.exit("real_cpu: '%s' exited %d: %s" % (" ".join(cmd), r.returncode, r.stderr.decode(errors="replace")[-400:]))
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def rooted(stacks):
    """% of samples whose outermost frame is an entry: _start, clone, clone3
    or, in a stripped executable, the unnamed caller of __libc_start_main."""
    total = sum(w for _, w in stacks)
    ok = sum(w for f, w in stacks if f and (f[0].name in ROOTS or (len(f) > 1 and f[1].name in START_MAIN)))
    return 100.0 * ok / total if total else 0.0


def perf_self(data, env):
    """perf's self shares by symbol name: {name: pct}."""
    out = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "sym", "-q", "-g", "none"],
                         capture_output=True, text=True, env=env).stdout
    shares = {}
    for line in out.splitlines():
        m = re.match(r"^\s*([0-9.]+)%\s+\[[^\]]+\]\s+(.*?)\s*$", line)
        if m:
            name = kc.HASH.sub("", m.group(2))
            shares[name] = shares.get(name, 0.0) + float(m.group(1))
    return shares


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kiln")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--reads", type=int, default=3)
    ap.add_argument("--freq", default="997")
    ap.add_argument("--perf-stack", default="", help="perf's DWARF stack copy (default: perf's own, 8192)")
    ap.add_argument("--subject", action="append", default=[])
    a = ap.parse_args()
    kiln = os.path.realpath(a.kiln)
    if not shutil.which("perf"):
        sys.exit("real_cpu: perf is not installed (linux-perf)")
    work = os.path.join(os.environ.get("KILN_BENCH_DIR") or os.path.join(os.path.dirname(kiln), "bench"), "real")
    subj = subjects(work)
    env = dict(os.environ, HOME=work)
    dwarf = "dwarf" + ("," + a.perf_stack if a.perf_stack else "")
    F = a.freq
    rec, reads = [], []
    for name in a.subject or list(subj):
        cmd = subj[name]
        prog = {"rg": "rg", "fd": "fdfind", "sqlite3": "sqlite3"}.get(name, cmd[0])
        if not shutil.which(prog):
            print("real_cpu: %s skipped: no %s (make deps installs it)" % (name, prog), flush=True)
            continue
        kf, pf, gf = (os.path.join(work, name + s) for s in (".kiln", ".data", ".fp.data"))
        modes = [("bare", cmd),
                 ("kiln", [kiln, "record", "-q", "-f", "-F", F, "-o", kf, "--"] + cmd),
                 ("perf", ["perf", "record", "-q", "--no-bpf-event", "-F", F, "--call-graph", dwarf, "-o", pf, "--"]
                  + cmd),
                 ("perf -g", ["perf", "record", "-q", "--no-bpf-event", "-F", F, "-g", "-o", gf, "--"] + cmd)]
        walls = {m: [] for m, _ in modes}
        print("real_cpu: %s" % name, end="", flush=True)
        for _ in range(a.runs):
            for m, c in modes:
                walls[m].append(run(c, env)[0])
                print(".", end="", flush=True)
        kj = json.loads(subprocess.run([kiln, "report", "--json", "--limit", "0", kf], capture_output=True, text=True,
                                       check=True).stdout)
        tot = sum(f["self"] for f in kj["functions"]) or 1
        kself = sorted(((f["name"], 100.0 * f["self"] / tot) for f in kj["functions"]), key=lambda x: -x[1])
        pself = perf_self(pf, env)
        script = subprocess.run(["perf", "script", "-i", pf], capture_output=True, text=True, env=env).stdout
        row = {
            "name": name,
            "top": kself[:10],
            "perf_top": sorted(pself.items(), key=lambda x: -x[1])[:10],
            "perf_share": pself,
            "rooted_k": rooted(kc.load_kiln(json.dumps(kj))),
            "rooted_p": rooted(kc.load_perf(script)),
            "unnamed_k": sum(s for n, s in kself if KILN_UNNAMED.search(n)),
            "unnamed_p": sum(s for n, s in pself.items() if PERF_UNNAMED.match(n)),
            "bad_rows": [n for n, s in kself if s > 0 and BAD_ROW.search(n)],
            "size_k": os.path.getsize(kf), "size_p": os.path.getsize(pf),
            "samples_k": kj["samples"], "lost_k": kj["lost"],
            "wall": {m: med(w) for m, w in walls.items()},
        }
        rec.append(row)
        # reading perf's files: kiln report against perf report, interleaved
        for kind, f in (("dwarf", pf), ("fp", gf)):
            k, p = [], []
            for _ in range(a.reads):
                k.append(run([kiln, "report", f], env))
                p.append(run(["perf", "report", "-i", f, "--stdio"], env))
                print(".", end="", flush=True)
            reads.append((name, kind, os.path.getsize(f) / 1e6, med(x[0] for x in k), med(x[0] for x in p),
                          med(x[1] for x in k), med(x[1] for x in p)))
        print(flush=True)

    for r in rec:
        w = r["wall"]
        print("\n== %s: %s samples (%d lost), load %s" % (r["name"], r["samples_k"], r["lost_k"],
                                                          open("/proc/loadavg").read().split()[0]))
        print("   %-44s %7s %7s" % ("kiln's top 10 self", "kiln %", "perf %"))
        for n, s in r["top"]:
            ps = r["perf_share"].get(n)
            print("   %-44s %7.1f %7s" % (n[:44], s, "%.1f" % ps if ps is not None else "-"))
        print("   perf's top 10: " + ", ".join("%s %.1f" % (n[:30], s) for n, s in r["perf_top"]))
        print("   stacks reaching the entry: kiln %.1f%%, perf %.1f%%" % (r["rooted_k"], r["rooted_p"]))
        print("   samples in unnamed code:   kiln %.1f%%, perf %.1f%%" % (r["unnamed_k"], r["unnamed_p"]))
        print("   unnamed PLT/alias rows (kiln): %d%s" % (len(r["bad_rows"]),
                                                          " " + ", ".join(r["bad_rows"][:5]) if r["bad_rows"] else ""))
        print("   file: kiln %.2f MB, perf %.1f MB (%.0fx smaller)" % (r["size_k"] / 1e6, r["size_p"] / 1e6,
                                                                       r["size_p"] / max(1, r["size_k"])))
        print("   wall: bare %.2f s, kiln %.2f s (%.2fx bare), perf %.2f s (%.2fx bare); kiln / perf %.2f"
              % (w["bare"], w["kiln"], w["kiln"] / w["bare"], w["perf"], w["perf"] / w["bare"], w["kiln"] / w["perf"]))

    print("\n| subject | rooted kiln | rooted perf | unnamed kiln | unnamed perf | bad rows | kiln MB | perf MB"
          " | wall kiln/perf |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rec:
        print("| %s | %.1f%% | %.1f%% | %.1f%% | %.1f%% | %d | %.2f | %.1f | %.2f |"
              % (r["name"], r["rooted_k"], r["rooted_p"], r["unnamed_k"], r["unnamed_p"], len(r["bad_rows"]),
                 r["size_k"] / 1e6, r["size_p"] / 1e6, r["wall"]["kiln"] / r["wall"]["perf"]))
    print("\n| perf.data | MB | kiln wall s | perf wall s | wall ratio | kiln CPU s | perf CPU s | CPU ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, kind, mb, kw, pw, kcpu, pcpu in reads:
        print("| %s %s | %.1f | %.3f | %.3f | %.1fx | %.3f | %.3f | %.1fx |"
              % (name, kind, mb, kw, pw, pw / kw, kcpu, pcpu, pcpu / max(kcpu, 1e-3)))
    print("\nmedians: %d interleaved recordings, %d interleaved reads; perf --call-graph %s; load at the end %s"
          % (a.runs, a.reads, dwarf, open("/proc/loadavg").read().split()[0]))


if __name__ == "__main__":
    main()
