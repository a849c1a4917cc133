#!/bin/bash
# flame_bench.sh - kiln flame against Brendan Gregg's flamegraph.pl:
#  1. folded stacks -> SVG on a generated folded file of LINES lines (default
#     one million, distinct sorted stacks of Rust-like names): wall time,
#     lines/s, peak memory (/usr/bin/time -v) and SVG size;
#  2. recording end -> SVG on a DWARF-mode recording of the same fixture:
#     `kiln flame x.kiln` against `perf script | stackcollapse-perf.pl |
#     flamegraph.pl`.
# kiln's times are the median of three runs (its peak memory the largest);
# the Perl tools run once.
# flamegraph.pl is looked for in $FLAMEGRAPH_DIR (default /tmp/FlameGraph, a
# copy of github.com/brendangregg/FlameGraph kept outside the repository);
# without it those columns are skipped and say so.
#
# usage: bench/flame_bench.sh PATH_TO_KILN [LINES]
set -euo pipefail

KILN=$(realpath "${1:?usage: bench/flame_bench.sh PATH_TO_KILN [LINES]}")
LINES=${2:-1000000}
SRC=$(cd "$(dirname "$0")/.." && pwd)
FG=${FLAMEGRAPH_DIR:-/tmp/FlameGraph}
W=${KILN_BENCH_DIR:-$(dirname "$KILN")/bench}/flame
mkdir -p "$W"
cd "$W"

have_fg=0
[ -f "$FG/flamegraph.pl" ] && [ -f "$FG/stackcollapse-perf.pl" ] && have_fg=1
[ $have_fg = 1 ] || echo "flame_bench: no flamegraph.pl in $FG (set FLAMEGRAPH_DIR); its columns are skipped"

# measure NAME CMD...: wall seconds and peak RSS (MB) of CMD, stdout to NAME.out
measure() {
	local name=$1
	shift
	/usr/bin/time -v -o "$name.time" "$@" >"$name.out" 2>"$name.err" || {
		echo "flame_bench: '$*' failed:" >&2
		tail -5 "$name.err" >&2
		return 1
	}
	local wall rss
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$name.time")
	rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$name.time")
	echo "$wall $rss"
}

# median3 NAME CMD...: measure CMD three times (the machine may be noisy);
# prints the median wall seconds and the largest peak RSS
median3() {
	local name=$1 runs=() w r rss=0
	shift
	for i in 1 2 3; do
		read -r w r < <(measure "$name" "$@")
		runs+=("$w")
		[ "$r" -gt "$rss" ] && rss=$r
	done
	echo "$(printf '%s\n' "${runs[@]}" | sort -g | sed -n 2p) $rss"
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
echo "== folded -> SVG: $(wc -l <"$F") lines, $((bytes / 1048576)) MB"
read -r k_wall k_rss < <(median3 kiln "$KILN" flame -q "$F" -o -)
k_size=$(stat -c %s kiln.out)
printf "%-14s %8s %12s %10s %10s\n" tool "wall s" "lines/s" "peak MB" "SVG KB"
printf "%-14s %8.2f %12.0f %10s %10d\n" kiln "$k_wall" "$(python3 -c "print($LINES / max($k_wall, 0.01))")" "$k_rss" $((k_size / 1024))
if [ $have_fg = 1 ]; then
	read -r f_wall f_rss < <(measure fg perl "$FG/flamegraph.pl" "$F")
	f_size=$(stat -c %s fg.out)
	printf "%-14s %8.2f %12.0f %10s %10d\n" flamegraph.pl "$f_wall" "$(python3 -c "print($LINES / max($f_wall, 0.01))")" "$f_rss" $((f_size / 1024))
	echo "kiln is $(python3 -c "print(round($f_wall / max($k_wall, 0.01), 1))")x faster, uses $(python3 -c "print(round(100 * $k_rss / max($f_rss, 1), 1))")% of the memory, writes $(python3 -c "print(round(100 * $k_size / $f_size, 1))")% of the bytes"
fi

# --- 2. recording end -> SVG -------------------------------------------------
bash "$SRC/tests/fixtures/build.sh" "$W/fixtures" >/dev/null
PROG=("$W/fixtures/calltree_nofp" 3000ms)
echo
echo "== recording end -> SVG: ${PROG[*]##*/}, DWARF call graphs, 997 Hz"
"$KILN" record -q -F 997 -o rec.kiln -- "${PROG[@]}"
read -r k2_wall k2_rss < <(median3 kiln2 "$KILN" flame -q rec.kiln -o kiln2.svg)
printf "%-44s %8s %10s\n" pipeline "wall s" "peak MB"
printf "%-44s %8.2f %10s\n" "kiln flame rec.kiln" "$k2_wall" "$k2_rss"
if [ $have_fg = 1 ] && perf record -q --no-bpf-event -F 997 --call-graph dwarf -o perf.data -- "${PROG[@]}" >/dev/null 2>&1; then
	cat >pipeline.sh <<EOF
perf script -i perf.data 2>/dev/null | perl "$FG/stackcollapse-perf.pl" | perl "$FG/flamegraph.pl"
EOF
	read -r p_wall p_rss < <(measure perf bash pipeline.sh)
	printf "%-44s %8.2f %10s\n" "perf script | stackcollapse-perf | flamegraph" "$p_wall" "$p_rss"
	echo "kiln is $(python3 -c "print(round($p_wall / max($k2_wall, 0.01), 1))")x faster from recording end to SVG (perf's peak MB is its largest process)"
else
	echo "(perf pipeline skipped: no flamegraph.pl or perf record not permitted)"
fi
