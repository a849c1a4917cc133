#!/bin/bash
# export_bench.sh - kiln export: the size and time of a pprof and a folded
# export against the .kiln profile they come from, and, for reference, the
# time `go tool pprof -top` takes on the pprof against `kiln report` on the
# .kiln (and on the pprof: the reader). A second table: the timeline
# formats, speedscope and chrome, their size (and gzip -6 size) and time
# against the .kiln's and kiln report's.
#
# Profiles: kiln record (DWARF, -F FREQ) of the calltree fixture (a shallow,
# known chain) and of the demo (three threads, deep std/hashbrown stacks,
# thousands of distinct stacks; demo-4x: twice the work at 4 x FREQ), Rust
# release builds with debug info. Every time is the CPU time (perf stat's
# task-clock) of the whole command, the median of RUNS runs, all in one run of
# this script, the tools interleaved so a machine getting busier affects
# them alike.
#
# usage: bench/export_bench.sh PATH_TO_KILN [RUNS [FREQ]]
set -euo pipefail
command -v perf >/dev/null 2>&1 || { echo "export_bench: needs perf (linux-perf) for task-clock" >&2; exit 1; }

KILN=$(realpath "${1:?usage: bench/export_bench.sh PATH_TO_KILN [RUNS [FREQ]]}")
RUNS=${2:-5}
FREQ=${3:-997}
SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=${KILN_BENCH_DIR:-$(dirname "$KILN")/bench}
W=$OUT/export
mkdir -p "$OUT/fixtures" "$W"
bash "$SRC/tests/fixtures/build.sh" "$OUT/fixtures" >/dev/null
if [ ! -x "$OUT/fixtures/demo" ] || [ "$SRC/tests/fixtures/demo/demo.rs" -nt "$OUT/fixtures/demo" ]; then
	rustc -C opt-level=3 -C debuginfo=2 --crate-name demo -o "$OUT/fixtures/demo.tmp" "$SRC/tests/fixtures/demo/demo.rs"
	mv -f "$OUT/fixtures/demo.tmp" "$OUT/fixtures/demo"
fi
have_go=0
command -v go >/dev/null 2>&1 && have_go=1
[ $have_go = 1 ] || echo "export_bench: no go (make deps installs golang-go); its column is skipped"
export HOME=$W/home GOCACHE=$W/gocache PPROF_TMPDIR=$W/pprof
mkdir -p "$HOME" "$PPROF_TMPDIR"
cd "$W"

# secs CMD...: the CPU seconds CMD takes (perf stat's task-clock, all
# its threads), its output thrown away: steadier than wall time on a
# shared machine, and finer than getrusage here
secs() {
	perf stat -x, -e task-clock -o "$W/stat.txt" "$@" >/dev/null 2>&1 || {
		echo "export_bench: '$*' failed" >&2
		exit 1
	}
	awk -F, '$3 == "task-clock" { printf "%.5f\n", $1 / 1000 }' "$W/stat.txt"
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ms() { awk -v s="$1" 'BEGIN { printf "%.2f", s * 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }

echo "export_bench: $(uname -r), $(nproc) cpus, $("$KILN" --version), $(go version 2>/dev/null || echo 'no go'), load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '\n| profile | samples | .kiln | .pb.gz | ratio | .folded | export pprof | export folded | kiln report .kiln | kiln report .pb.gz | go tool pprof -top |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|\n'
views=()
for wl in calltree demo demo-4x; do
	case $wl in
	calltree) cmd=("$OUT/fixtures/calltree_nofp" 2000ms) f=$FREQ ;;
	demo) cmd=("$OUT/fixtures/demo" 1) f=$FREQ ;;
	demo-4x) cmd=("$OUT/fixtures/demo" 2) f=$((FREQ * 4)) ;;
	esac
	"$KILN" record -q -F "$f" -o "$wl.kiln" -- "${cmd[@]}" >/dev/null
	declare -A t=()
	for ((i = 0; i < RUNS; i++)); do
		t[pprof]+="$(secs "$KILN" export --format pprof --force -o "$wl.pb.gz" "$wl.kiln") "
		t[folded]+="$(secs "$KILN" export --format folded --force -o "$wl.folded" "$wl.kiln") "
		t[report]+="$(secs "$KILN" report "$wl.kiln") "
		t[rpprof]+="$(secs "$KILN" report "$wl.pb.gz") "
		[ $have_go = 1 ] && t[go]+="$(secs go tool pprof -top -symbolize=none "$wl.pb.gz") "
		t[speedscope]+="$(secs "$KILN" export --format speedscope --force -o "$wl.speedscope.json" "$wl.kiln") "
		t[chrome]+="$(secs "$KILN" export --format chrome --force -o "$wl.trace.json" "$wl.kiln") "
	done
	med() { tr ' ' '\n' <<<"${t[$1]:-}" | grep . | median; }
	kiln_size=$(stat -c %s "$wl.kiln")
	pb_size=$(stat -c %s "$wl.pb.gz")
	samples=$("$KILN" report "$wl.kiln" 2>/dev/null | awk '$1 == "samples" { print $2; exit }')
	go_ms=-
	[ $have_go = 1 ] && go_ms="$(ms "$(med go)") ms"
	printf '| %s | %s | %d B | %d B | %s | %d B | %s ms | %s ms | %s ms | %s ms | %s |\n' "$wl" "$samples" \
		"$kiln_size" "$pb_size" "$(ratio "$pb_size" "$kiln_size")" "$(stat -c %s "$wl.folded")" \
		"$(ms "$(med pprof)")" "$(ms "$(med folded)")" "$(ms "$(med report)")" "$(ms "$(med rpprof)")" "$go_ms"
	for v in speedscope:speedscope.json chrome:trace.json; do
		sz=$(stat -c %s "$wl.${v#*:}")
		gz=$(gzip -6 -c "$wl.${v#*:}" | wc -c)
		views+=("$(printf '| %s | %s | %d B | %d B (%s) | %d B (%s) | %s ms (%s) |' "$wl" "${v%%:*}" "$kiln_size" \
			"$sz" "$(ratio "$sz" "$kiln_size")" "$gz" "$(ratio "$gz" "$kiln_size")" "$(ms "$(med "${v%%:*}")")" \
			"$(ratio "$(med "${v%%:*}")" "$(med report)")")")
	done
	unset t
done
echo
echo "ratio: .pb.gz size / .kiln size; times are CPU (task-clock) of the whole command, medians of $RUNS runs"
printf '\n| profile | format | .kiln | export (x .kiln) | gzip -6 (x .kiln) | export time (x kiln report .kiln) |\n'
printf '|---|---|---|---|---|---|\n'
printf '%s\n' "${views[@]}"
