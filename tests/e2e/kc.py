#!/usr/bin/env python3
"""kc.py - queries for the e2e tests over `kiln report --json` output and,
for comparison, `perf script` text (perf's DWARF unwinding is the ground
truth for what a full chain is).

  kc.py stats SRC --leaf NAME [--leaf NAME...] [--chain A,B,...] [--innermost]
              [--depth NAME=N] [--lines NAME=LO-HI] [--inlined NAME]
              [--caller-lines NAME=LO-HI]
      Classifies each sample by the innermost frame that is one of the
      --leaf names (with --innermost: only when the innermost frame of all
      is one) and prints `key value` lines:
        samples N                 all samples
        leaf_samples N            samples in one of the leaves
        count.NAME N / share.NAME P   per leaf, P = % of leaf_samples
        fullchain P               % of leaf samples whose stack holds the
                                  --chain names in that order (root first),
                                  then the leaf (fullchain.NAME per leaf)
        depth.NAME P              % of leaf samples with exactly N frames NAME
        lines.NAME P              % of NAME's samples whose NAME frame has a
                                  line within LO..HI (kiln JSON only)
        inlined.NAME P            % of NAME's samples whose NAME frame is
                                  marked inlined (kiln JSON only)
        caller_lines.NAME P       % of NAME's samples whose caller frame (the
                                  one above NAME) has a line in --caller-lines
                                  NAME=LO-HI (kiln JSON only)
  kc.py eval FILE EXPR    prints a Python expression over the JSON `j`
                          (helpers: fn(name) -> function entry or None,
                          thr(name) -> list of threads with that name)
  kc.py names FILE        prints every distinct frame name, one a line
  kc.py marker FILE TAG   prints "LO-HI", the lines carrying `MARK:TAG`

SRC is a kiln JSON report (starts with '{') or perf script output; weights
are sample counts.
"""
import json
import re
import sys

HASH = re.compile(r"::h[0-9a-f]{16}$")


class Frame:
    __slots__ = ("name", "file", "line", "inlined")

    def __init__(self, name, file="", line=0, inlined=False):
        self.name, self.file, self.line, self.inlined = name, file, line, inlined


def load_kiln(text):
    j = json.loads(text)
    out = []
    for s in j["stacks"]:
        frames = [Frame(f["name"], f.get("file", ""), f.get("line", 0), f.get("inlined", False))
                  for f in s["frames"]]
        out.append((frames, s["samples"]))
    return out


# perf script: a header line per sample, then one frame a line
# ("\t addr symbol+0xoff (module)"), innermost first, then a blank line.
PERF_FRAME = re.compile(r"^\s+[0-9a-f]+\s+(.*?)(?:\+0x[0-9a-f]+)?\s+\((.*)\)\s*$")


def load_perf(text):
    out = []
    frames = None
    for line in text.splitlines() + [""]:
        if not line.strip():
            if frames is not None:
                out.append((list(reversed(frames)), 1))
            frames = None
            continue
        if line[0] not in " \t":
            frames = []
            continue
        m = PERF_FRAME.match(line)
        if m and frames is not None:
            name = HASH.sub("", m.group(1))
            frames.append(Frame(name, inlined=(m.group(2) == "inlined")))
    return out


def load(path):
    text = open(path, errors="replace").read()
    return load_kiln(text) if text.lstrip().startswith("{") else load_perf(text)


def pct(a, b):
    return 100.0 * a / b if b else 0.0


def has_chain(names, chain):
    """names (root first) contains chain as an ordered subsequence."""
    i = 0
    for n in names:
        if i < len(chain) and n == chain[i]:
            i += 1
    return i == len(chain)


def stats(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="kc.py stats")
    ap.add_argument("src")
    ap.add_argument("--leaf", action="append", default=[])
    ap.add_argument("--chain", default="")
    ap.add_argument("--innermost", action="store_true")
    ap.add_argument("--depth", action="append", default=[])
    ap.add_argument("--lines", action="append", default=[])
    ap.add_argument("--inlined", action="append", default=[])
    ap.add_argument("--caller-lines", action="append", default=[])
    a = ap.parse_args(argv)
    chain = [c for c in a.chain.split(",") if c]
    depth = dict(d.split("=", 1) for d in a.depth)
    lines = {k: tuple(int(x) for x in v.split("-")) for k, v in (d.split("=", 1) for d in a.lines)}
    stacks = load(a.src)
    total = sum(w for _, w in stacks)
    count = {l: 0 for l in a.leaf}
    full = {l: 0 for l in a.leaf}
    dep = {l: 0 for l in depth}
    lin = {l: 0 for l in lines}
    inl = {l: 0 for l in a.inlined}
    clines = {k: tuple(int(x) for x in v.split("-")) for k, v in (d.split("=", 1) for d in a.caller_lines)}
    clin = {l: 0 for l in clines}
    for frames, w in stacks:
        idx = None
        for i in range(len(frames) - 1, -1, -1):
            if frames[i].name in count:
                idx = i
                break
            if a.innermost:
                break
        if idx is None:
            continue
        leaf = frames[idx].name
        count[leaf] += w
        names = [f.name for f in frames[: idx + 1]]
        if has_chain(names, chain + [leaf]):
            full[leaf] += w
        for n, want in depth.items():
            if sum(1 for x in names if x == n) == int(want):
                dep[n] += w
        if leaf in lines and lines[leaf][0] <= frames[idx].line <= lines[leaf][1]:
            lin[leaf] += w
        if leaf in inl and frames[idx].inlined:
            inl[leaf] += w
        if leaf in clines and idx > 0 and clines[leaf][0] <= frames[idx - 1].line <= clines[leaf][1]:
            clin[leaf] += w
    leaf_total = sum(count.values())
    print("samples", total)
    print("leaf_samples", leaf_total)
    for l in a.leaf:
        print("count.%s %d" % (l, count[l]))
        print("share.%s %.2f" % (l, pct(count[l], leaf_total)))
        print("fullchain.%s %.2f" % (l, pct(full[l], count[l])))
    print("fullchain %.2f" % pct(sum(full.values()), leaf_total))
    for n in depth:
        print("depth.%s %.2f" % (n, pct(dep[n], leaf_total)))
    for n in lines:
        print("lines.%s %.2f" % (n, pct(lin[n], count.get(n, 0))))
    for n in a.inlined:
        print("inlined.%s %.2f" % (n, pct(inl[n], count.get(n, 0))))
    for n in clines:
        print("caller_lines.%s %.2f" % (n, pct(clin[n], count.get(n, 0))))


def do_eval(path, expr):
    j = json.load(open(path))

    def fn(name):
        for f in j["functions"]:
            if f["name"] == name:
                return f
        return None

    def thr(name):
        return [t for t in j["threads"] if t["name"] == name]

    r = eval(expr, {"j": j, "fn": fn, "thr": thr, "re": re, "len": len, "sum": sum,
                    "any": any, "all": all, "set": set, "sorted": sorted})
    print(json.dumps(r) if isinstance(r, (dict, list, bool)) or r is None else r)


def names(path):
    seen = set()
    for frames, _ in load(path):
        for f in frames:
            if f.name not in seen:
                seen.add(f.name)
                print(f.name)


def marker(path, tag):
    nums = [i + 1 for i, l in enumerate(open(path)) if "MARK:%s" % tag in l and "MARK:%s_" % tag not in l]
    if not nums:
        sys.exit("kc.py: no MARK:%s in %s" % (tag, path))
    print("%d-%d" % (min(nums), max(nums)))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd = sys.argv[1]
    if cmd == "stats":
        stats(sys.argv[2:])
    elif cmd == "eval":
        do_eval(sys.argv[2], sys.argv[3])
    elif cmd == "names":
        names(sys.argv[2])
    elif cmd == "marker":
        marker(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
