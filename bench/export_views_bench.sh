#!/bin/bash
# export_views_bench.sh - kiln export's time and size per format against
# the .kiln it reads, in one run: a DWARF-mode recording of the threads
# fixture (three named threads, deep Rust std stacks) at 997 Hz, then
# ROUNDS interleaved rounds of the anchor (`kiln report`, which reads and
# symbolizes the same file and ranks its functions) and `kiln export
# --format F` for pprof, folded, speedscope and chrome. Prints per row the
# median wall time, its ratio to the anchor's, the output's size, its ratio
# to the .kiln's, and its gzip -6 size (JSON viewers take a .gz as well
# as a web server's compression).
#
# usage: bench/export_views_bench.sh [KILN] [ROUNDS] [UNIT_MS]
#        (default: build/kiln, 7, 500: 3 s of CPU in the recording)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
KILN=$(realpath "${1:-$HERE/../build/kiln}")
ROUNDS=${2:-7}
UNIT_MS=${3:-500}
[ -x "$KILN" ] || { echo "export_views_bench: '$KILN' is not executable (build kiln first)" >&2; exit 1; }
DIR=${KILN_BENCH_DIR:-$(dirname "$KILN")/bench}/export
FX=${KILN_FIXTURES:-$(dirname "$KILN")/tests/fixtures}
mkdir -p "$DIR"
bash "$HERE/../tests/fixtures/build.sh" "$FX" >"$DIR/fixtures.log" 2>&1 || { cat "$DIR/fixtures.log"; exit 1; }
cd "$DIR" || exit 1
"$KILN" record -q -F 997 -o run.kiln -f -- "$FX/threads_nofp" "$UNIT_MS" >/dev/null 2>record.err ||
	{ cat record.err; exit 1; }

# t CMD...: wall seconds of CMD (output discarded)
t() {
	local a b
	a=$(date +%s.%N)
	"$@" >/dev/null 2>&1
	b=$(date +%s.%N)
	python3 -c "print($b - $a)"
}
FORMATS="pprof folded speedscope chrome"
declare -A T
for ((i = 0; i < ROUNDS; i++)); do
	T[report]+="$(t "$KILN" report --limit 20 run.kiln) "
	for f in $FORMATS; do
		T[$f]+="$(t "$KILN" export --format "$f" -o "run.$f" --force run.kiln) "
	done
done

printf 'run.kiln: %s samples, %s bytes; %s rounds, %s cpus, load %s\n' \
	"$("$KILN" report --json --limit 1 run.kiln 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["samples"])')" \
	"$(stat -c %s run.kiln)" "$ROUNDS" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)"
printf '%-22s %10s %8s %12s %9s %12s %9s\n' "row" "median s" "x anchor" "bytes" "x .kiln" "gzip bytes" "x .kiln"
for row in report $FORMATS; do
	out=""
	[ "$row" != report ] && out=run.$row
	python3 - "$row" "${T[$row]}" "${T[report]}" "$out" <<'PY'
import gzip, os, statistics, sys
row, times, anchor, out = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), sys.argv[4]
m, a = statistics.median(map(float, times)), statistics.median(map(float, anchor))
kiln = os.path.getsize("run.kiln")
name = "kiln report (anchor)" if row == "report" else "export " + row
if out:
    size = os.path.getsize(out)
    data = open(out, "rb").read()
    gz = len(data) if data[:2] == b"\x1f\x8b" else len(gzip.compress(data, 6))
    print("%-22s %10.3f %7.2fx %12d %8.1fx %12d %8.1fx" % (name, m, m / a, size, size / kiln, gz, gz / kiln))
else:
    print("%-22s %10.3f %7.2fx %12s %9s %12s %9s" % (name, m, 1.0, "-", "-", "-", "-"))
PY
done
