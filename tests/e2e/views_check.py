#!/usr/bin/env python3
"""views_check.py - reads kiln's speedscope and Chrome trace exports the way
their viewers do and prints what test_export_views.sh compares, one
"KEY VALUE" line each (VALUE has no spaces).

usage: views_check.py speedscope FILE.json REPORT.json HOT [CHAIN,OF,NAMES]
       views_check.py chrome FILE.json REPORT.json HOT
REPORT.json is `kiln report --json --limit 0` of the same profile; HOT a
function name; CHAIN names that must follow one another (callers first) in
some stack.
"""
import json
import sys


def report_fn(rep, name):
    for f in rep["functions"]:
        if f["name"] == name:
            return f
    return {"self": 0, "total": 0, "self_pct": 0.0, "total_pct": 0.0}


def has_chain(names, chain):
    k = len(chain)
    return any(names[i:i + k] == chain for i in range(len(names) - k + 1))


def speedscope(path, rep, hot, chain):
    d = json.load(open(path))
    print("schema", int(d.get("$schema") == "https://www.speedscope.app/file-format-schema.json"))
    frames = [f["name"] for f in d["shared"]["frames"]]
    sampled = [p for p in d["profiles"] if p["type"] == "sampled"]
    evented = [p for p in d["profiles"] if p["type"] == "evented"]
    print("sampled_profiles", len(sampled))
    print("report_threads", len(rep["threads"]))
    print("worker_profiles", sum(1 for p in sampled if p["name"].startswith("worker-")))
    print("evented_profiles", len(evented))
    total = sum(sum(p["weights"]) for p in sampled)
    print("total", total)
    print("report_total", rep["total"])
    hot_self = 0
    chained = False
    ok = True
    for p in sampled:
        ok &= len(p["samples"]) == len(p["weights"]) and p["endValue"] == sum(p["weights"])
        for st, w in zip(p["samples"], p["weights"]):
            names = [frames[i] for i in st]
            if names and names[-1] == hot:
                hot_self += w
            chained |= has_chain(names, chain)
    print("sampled_consistent", int(ok))
    print("hot_self_share", "%.4f" % (hot_self / total if total else 0))
    print("report_hot_self_share", "%.4f" % (report_fn(rep, hot)["self_pct"] / 100))
    print("chain", int(chained))
    # per thread: the sampled profile "comm tid" against report's threads
    by_tid = {t["tid"]: t for t in rep["threads"]}
    worst = 0.0
    for p in sampled:
        comm, tid = p["name"].rsplit(" ", 1)
        t = by_tid.get(int(tid))
        if not t or t["name"] != comm:
            worst = 1.0
            continue
        worst = max(worst, abs(sum(p["weights"]) / total - t["value"] / rep["total"]))
        print("share_%s" % comm, "%.4f" % (sum(p["weights"]) / total))
    print("thread_share_error", "%.4f" % worst)
    busiest = max(range(len(d["profiles"])),
                  key=lambda i: d["profiles"][i]["endValue"] if d["profiles"][i]["type"] == "sampled" else -1)
    print("active_is_busiest", int(d["activeProfileIndex"] == busiest))
    # evented: properly nested, times never go back, everything closed
    nested = True
    for p in evented:
        stack, last = [], p["startValue"]
        for e in p["events"]:
            if e["at"] < last:
                nested = False
            last = e["at"]
            if e["type"] == "O":
                stack.append(e["frame"])
            elif not stack or stack.pop() != e["frame"]:
                nested = False
        nested &= not stack and last == p["endValue"]
    print("evented_nested", int(nested))


def chrome(path, rep, hot):
    d = json.load(open(path))
    ev = d["traceEvents"]
    threads = {e["tid"]: e["args"]["name"] for e in ev if e["ph"] == "M" and e["name"] == "thread_name"}
    procs = [e for e in ev if e["ph"] == "M" and e["name"] == "process_name"]
    print("display_unit", d.get("displayTimeUnit"))
    print("process_names", len(procs))
    print("thread_lanes", len(threads))
    print("report_threads", len(rep["threads"]))
    print("worker_lanes", sum(1 for n in threads.values() if n.startswith("worker-")))
    print("lanes_named", int(all(threads.get(t["tid"]) == t["name"] for t in rep["threads"])))
    xs = [e for e in ev if e["ph"] == "X"]
    print("x_events", len(xs))
    print("x_in_lanes", int(all(e["tid"] in threads for e in xs)))
    # nesting per lane: each slice inside the one open around it; the
    # outermost slices' durations are the lane's time on the CPU
    nested, roots, hot_dur = True, 0.0, 0.0
    for tid in threads:
        lane = sorted((e for e in xs if e["tid"] == tid), key=lambda e: (e["ts"], -e["dur"]))
        stack = []
        for e in lane:
            while stack and e["ts"] >= stack[-1]["ts"] + stack[-1]["dur"] - 1e-6:
                stack.pop()
            if stack and e["ts"] + e["dur"] > stack[-1]["ts"] + stack[-1]["dur"] + 1e-6:
                nested = False
            if not stack:
                roots += e["dur"]
            # a recursive function's time counts once: its outermost slice
            if e["name"] == hot and not any(s["name"] == hot for s in stack):
                hot_dur += e["dur"]
            stack.append(e)
    print("x_nested", int(nested))
    print("hot_time_share", "%.4f" % (hot_dur / roots if roots else 0))
    print("report_hot_total_share", "%.4f" % (report_fn(rep, hot)["total_pct"] / 100))


def main():
    mode, path, rep = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
    if mode == "speedscope":
        chain = sys.argv[5].split(",") if len(sys.argv) > 5 else []
        speedscope(path, rep, sys.argv[4], chain)
    else:
        chrome(path, rep, sys.argv[4])


main()
