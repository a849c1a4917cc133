#!/bin/bash
# flame_bench.sh - kiln flame against Brendan Gregg's flamegraph.pl:
#  1. folded stacks -> SVG on a generated folded file of LINES lines (default
#     one million, distinct sorted stacks of Rust-like names sharing most of
#     their frames, from a pool of 4000 names): wall time, CPU time,
#     lines/s, peak memory (/usr/bin/time -v) and SVG size;
#  2. the same on mostly distinct stacks (default one million lines, 6 to 20
#     frames of 400,000 names under 64 shared roots: about 13 million
#     distinct tree nodes), and on its first 100,000 lines side by side
#     with flamegraph.pl;
#  3. recording end -> SVG on a DWARF-mode recording of the same fixture:
#     `kiln flame x.kiln` against `perf script | stackcollapse-perf.pl |
#     flamegraph.pl`.
# kiln's times are the median of three runs (its peak memory the largest);
# so are flamegraph.pl's on the 100,000 lines side by side (the issue's
# goal: 50x its speed, a tenth of its memory); elsewhere the Perl tools run
# once. With KILN_BASELINE set to another kiln (say, one
# built from an older commit), 1 and 2 run it too and check that both
# write the same SVG to the byte.
# flamegraph.pl is looked for in $FLAMEGRAPH_DIR (default /tmp/FlameGraph, a
# copy of github.com/brendangregg/FlameGraph kept outside the repository);
# without it those columns are skipped and say so. FLAME_BENCH_NO_RECORD=1
# skips 3.
#
# usage: bench/flame_bench.sh PATH_TO_KILN [LINES [DISTINCT_LINES]]
set -euo pipefail

KILN=$(realpath "${1:?usage: bench/flame_bench.sh PATH_TO_KILN [LINES [DISTINCT_LINES]]}")
LINES=${2:-1000000}
DLINES=${3:-1000000}
BASE=${KILN_BASELINE:+$(realpath "$KILN_BASELINE")}
SRC=$(cd "$(dirname "$0")/.." && pwd)
FG=${FLAMEGRAPH_DIR:-/tmp/FlameGraph}
W=${KILN_BENCH_DIR:-$(dirname "$KILN")/bench}/flame
mkdir -p "$W"
cd "$W"

have_fg=0
[ -f "$FG/flamegraph.pl" ] && [ -f "$FG/stackcollapse-perf.pl" ] && have_fg=1
[ $have_fg = 1 ] || echo "flame_bench: no flamegraph.pl in $FG (set FLAMEGRAPH_DIR); its columns are skipped"

# measure NAME CMD...: wall seconds, peak RSS (MB) and CPU seconds (user +
# system) of CMD, stdout to NAME.out
measure() {
	local name=$1
	shift
	/usr/bin/time -v -o "$name.time" "$@" >"$name.out" 2>"$name.err" || {
		echo "flame_bench: '$*' failed:" >&2
		tail -5 "$name.err" >&2
		return 1
	}
	local wall rss cpu
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$name.time")
	rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$name.time")
	cpu=$(awk -F': ' '/(User|System) time \(seconds\)/ {s += $2} END {print s}' "$name.time")
	echo "$wall $rss $cpu"
}

# median3 NAME CMD...: measure CMD three times (the machine may be noisy);
# prints the median wall seconds, the largest peak RSS and the median CPU
# seconds
median3() {
	local name=$1 runs=() cpus=() w r c rss=0
	shift
	for i in 1 2 3; do
		read -r w r c < <(measure "$name" "$@")
		runs+=("$w")
		cpus+=("$c")
		[ "$r" -gt "$rss" ] && rss=$r
	done
	echo "$(printf '%s\n' "${runs[@]}" | sort -g | sed -n 2p) $rss $(printf '%s\n' "${cpus[@]}" | sort -g | sed -n 2p)"
}

ratio() { python3 -c "print(round($1 / max($2, 0.01), 1))"; }

# kiln_row LABEL NAME FILE LINES [KILN]: kiln (or KILN) flame on FILE, one row
kiln_row() {
	local label=$1 name=$2 file=$3 lines=$4 bin=${5:-$KILN} w r c
	read -r w r c < <(median3 "$name" "$bin" flame -q "$file" -o -)
	printf "%-14s %8.2f %8.2f %12.0f %10s %10d\n" "$label" "$w" "$c" "$(python3 -c "print($lines / max($w, 0.01))")" "$r" $(($(stat -c %s "$name.out") / 1024))
	echo "$w $r $c" >"$name.row"
}

header() { printf "%-14s %8s %8s %12s %10s %10s\n" tool "wall s" "cpu s" "lines/s" "peak MB" "SVG KB"; }

# versus NAME: compares kiln's row with the baseline's, and their SVGs
versus() {
	local name=$1 kw kr kc bw br bc
	read -r kw kr kc <"$name.row"
	read -r bw br bc <"$name-base.row"
	echo "kiln vs baseline: $(ratio "$bw" "$kw")x wall, $(ratio "$bc" "$kc")x CPU, $(python3 -c "print(round(100 * $kr / max($br, 1), 1))")% of the memory"
	if cmp -s "$name.out" "$name-base.out"; then echo "SVG identical to the baseline's"; else echo "flame_bench: SVG DIFFERS from the baseline's" >&2; fi
}

# --- 1. folded -> SVG --------------------------------------------------------
if [ ! -s "big-$LINES.folded" ]; then
	echo "flame_bench: generating $LINES folded lines"
	python3 - "$LINES" >"big-$LINES.folded.tmp" <<'PY'
import random, sys
n = int(sys.argv[1])
rng = random.Random(42)
crates = ["app", "engine", "index", "std", "core", "alloc", "tokio", "serde", "regex", "hashbrown"]
mods = ["io", "fmt", "vec", "iter", "parse", "search", "query", "scan", "sync", "rt"]
funcs = ["run", "next", "fold", "push", "read", "write", "find", "match_at", "poll", "call_once", "drop", "clone"]
pool = ["%s::%s::%s" % (rng.choice(crates), rng.choice(mods), rng.choice(funcs)) for _ in range(4000)]
pool = sorted(set(pool)) + ["memcpy", "malloc", "free", "do_syscall_64_[k]", "page_fault_[k]"]
seen = set()
stack = ["main", "std::rt::lang_start", "app::main"]
out = []
while len(out) < n:
    # a random walk through calling contexts: pop a few frames, push a few
    pop = rng.randint(0, min(len(stack) - 3, 6))
    del stack[len(stack) - pop:]
    for _ in range(rng.randint(1, 6)):
        if len(stack) < 40:
            stack.append(rng.choice(pool))
    line = ";".join(stack)
    if line in seen:
        continue
    seen.add(line)
    out.append("%s %d" % (line, rng.randint(1, 100)))
out.sort()
sys.stdout.write("\n".join(out) + "\n")
PY
	mv "big-$LINES.folded.tmp" "big-$LINES.folded"
fi
F=big-$LINES.folded
bytes=$(stat -Lc %s "$F")
echo
echo "== folded -> SVG, shared prefixes: $(wc -l <"$F") lines, $((bytes / 1048576)) MB"
header
kiln_row kiln kiln "$F" "$LINES"
k_wall=$(cut -d' ' -f1 kiln.row)
k_rss=$(cut -d' ' -f2 kiln.row)
k_size=$(stat -c %s kiln.out)
if [ -n "$BASE" ]; then
	kiln_row baseline kiln-base "$F" "$LINES" "$BASE"
	versus kiln
fi
if [ $have_fg = 1 ]; then
	read -r f_wall f_rss f_cpu < <(measure fg perl "$FG/flamegraph.pl" "$F")
	f_size=$(stat -c %s fg.out)
	printf "%-14s %8.2f %8.2f %12.0f %10s %10d\n" flamegraph.pl "$f_wall" "$f_cpu" "$(python3 -c "print($LINES / max($f_wall, 0.01))")" "$f_rss" $((f_size / 1024))
	echo "kiln is $(ratio "$f_wall" "$k_wall")x faster, uses $(python3 -c "print(round(100 * $k_rss / max($f_rss, 1), 1))")% of the memory, writes $(python3 -c "print(round(100 * $k_size / $f_size, 1))")% of the bytes"
fi

# --- 2. folded -> SVG, mostly distinct stacks ----------------------------------
if [ ! -s "distinct-$DLINES.folded" ]; then
	echo "flame_bench: generating $DLINES mostly distinct folded lines"
	python3 - "$DLINES" >"distinct-$DLINES.folded.tmp" <<'PY'
import random, sys
n = int(sys.argv[1])
rng = random.Random(7)
crates = ["app", "engine", "index", "store", "net", "tokio", "serde", "regex", "hashbrown", "rayon"]
words = ["run", "next", "fold", "push", "read", "write", "find", "match_at", "poll", "call_once", "drop",
         "clone", "parse", "scan", "merge", "split", "visit", "emit", "flush", "load"]
# many distinct names: a large pool, each name met about 30 times in 1M lines
pool = ["%s::m%d::%s_%d" % (rng.choice(crates), rng.randrange(500), rng.choice(words), i) for i in range(400000)]
roots = [["main", "std::rt::lang_start", "app::main", "app::worker_%d" % i] for i in range(64)]
out = []
choice, randint = rng.choice, rng.randint
for _ in range(n):
    st = list(choice(roots))
    st += [choice(pool) for _ in range(randint(6, 20))]
    out.append("%s %d" % (";".join(st), randint(1, 100)))
out.sort()
sys.stdout.write("\n".join(out) + "\n")
PY
	mv "distinct-$DLINES.folded.tmp" "distinct-$DLINES.folded"
fi
D=distinct-$DLINES.folded
echo
echo "== folded -> SVG, mostly distinct stacks: $(wc -l <"$D") lines, $(($(stat -Lc %s "$D") / 1048576)) MB"
header
kiln_row kiln dkiln "$D" "$DLINES"
if [ -n "$BASE" ]; then
	kiln_row baseline dkiln-base "$D" "$DLINES" "$BASE"
	versus dkiln
fi
SMALL=100000
head -n $SMALL "$D" >"distinct-$SMALL-of-$DLINES.folded"
echo
echo "== the first $SMALL lines of it, side by side"
header
kiln_row kiln skiln "distinct-$SMALL-of-$DLINES.folded" $SMALL
if [ $have_fg = 1 ]; then
	read -r f_wall f_rss f_cpu < <(median3 sfg perl "$FG/flamegraph.pl" "distinct-$SMALL-of-$DLINES.folded")
	printf "%-14s %8.2f %8.2f %12.0f %10s %10d\n" flamegraph.pl "$f_wall" "$f_cpu" "$(python3 -c "print($SMALL / max($f_wall, 0.01))")" "$f_rss" $(($(stat -c %s sfg.out) / 1024))
	read -r kw kr kc <skiln.row
	echo "kiln is $(ratio "$f_wall" "$kw")x faster ($(ratio "$f_cpu" "$kc")x in CPU time) and uses $(python3 -c "print(round(100 * $kr / max($f_rss, 1), 1))")% of the memory (goals: 50x, 10%)"
fi

# --- 3. recording end -> SVG -------------------------------------------------
if [ "${FLAME_BENCH_NO_RECORD:-}" = 1 ]; then
	exit 0
fi
bash "$SRC/tests/fixtures/build.sh" "$W/fixtures" >/dev/null
PROG=("$W/fixtures/calltree_nofp" 3000ms)
echo
echo "== recording end -> SVG: ${PROG[*]##*/}, DWARF call graphs, 997 Hz"
"$KILN" record -q -F 997 -o rec.kiln -- "${PROG[@]}"
read -r k2_wall k2_rss _ < <(median3 kiln2 "$KILN" flame -q rec.kiln -o kiln2.svg)
printf "%-44s %8s %10s\n" pipeline "wall s" "peak MB"
printf "%-44s %8.2f %10s\n" "kiln flame rec.kiln" "$k2_wall" "$k2_rss"
if [ $have_fg = 1 ] && perf record -q --no-bpf-event -F 997 --call-graph dwarf -o perf.data -- "${PROG[@]}" >/dev/null 2>&1; then
	cat >pipeline.sh <<EOF
perf script -i perf.data 2>/dev/null | perl "$FG/stackcollapse-perf.pl" | perl "$FG/flamegraph.pl"
EOF
	read -r p_wall p_rss _ < <(measure perf bash pipeline.sh)
	printf "%-44s %8.2f %10s\n" "perf script | stackcollapse-perf | flamegraph" "$p_wall" "$p_rss"
	echo "kiln is $(python3 -c "print(round($p_wall / max($k2_wall, 0.01), 1))")x faster from recording end to SVG (perf's peak MB is its largest process)"
else
	echo "(perf pipeline skipped: no flamegraph.pl or perf record not permitted)"
fi
