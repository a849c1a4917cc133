#!/bin/bash
# offcpu_bpf.sh - what in-kernel pairing would cost: kiln offcpu and
# `perf record -e sched:sched_switch -g` against bench/offcpu_bpf/'s probe
# (eBPF on sched_switch and sched_wakeup, one ring-buffer record per
# switch-out with both stacks and the previous interval's wake-up and
# switch-in times, a reader drained on a timer, no unwinding), on
# bench/offcpu_switch.c (8 threads x 2000 naps of 50 us), ROUNDS
# interleaved rounds. Prints the median of the program's own run time and
# CPU time per mode. A measurement for issue 13's "no more than perf's"
# goal, not a kiln feature: it needs root, /sys/kernel/btf/vmlinux, clang,
# bpftool and libbpf (apt install clang bpftool libbpf-dev).
#
# usage: bench/offcpu_bpf.sh [KILN] [ROUNDS]   (default build/kiln, 11)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
KILN=${1:-$HERE/../build/kiln}
ROUNDS=${2:-11}
[ -x "$KILN" ] || { echo "offcpu_bpf: '$KILN' is not executable (build kiln first)" >&2; exit 1; }
for t in clang bpftool; do
	command -v $t >/dev/null || { echo "offcpu_bpf: $t is missing (apt install clang bpftool libbpf-dev)" >&2; exit 1; }
done
[ -r /usr/include/bpf/libbpf.h ] || { echo "offcpu_bpf: libbpf is missing (apt install libbpf-dev)" >&2; exit 1; }
[ -r /sys/kernel/btf/vmlinux ] || { echo "offcpu_bpf: this kernel has no BTF (/sys/kernel/btf/vmlinux)" >&2; exit 1; }
DIR=${KILN_BENCH_DIR:-$(dirname "$KILN")/bench}/offcpu_bpf
mkdir -p "$DIR"
arch=$(uname -m)
case $arch in x86_64) barch=x86 ;; aarch64) barch=arm64 ;; *) barch=$arch ;; esac
bpftool btf dump file /sys/kernel/btf/vmlinux format c >"$DIR/vmlinux.h" &&
	clang -O2 -g -target bpf -D__TARGET_ARCH_$barch -I"$DIR" -c "$HERE/offcpu_bpf/offcpu_probe.bpf.c" \
		-o "$DIR/offcpu_probe.bpf.o" &&
	bpftool gen skeleton "$DIR/offcpu_probe.bpf.o" name offcpu_probe_bpf >"$DIR/offcpu_probe.skel.h" &&
	gcc -O2 -I"$DIR" -o "$DIR/offcpu_probe" "$HERE/offcpu_bpf/offcpu_probe.c" -lbpf &&
	gcc -O2 -g -pthread -o "$DIR/offcpu_switch" "$HERE/offcpu_switch.c" || exit 1
W=("$DIR/offcpu_switch" 8 2000 50)
"$DIR/offcpu_probe" true 2>/dev/null || { echo "offcpu_bpf: the probe does not load here (root needed)" >&2; exit 1; }

# run LABEL CMD...: appends "ELAPSED_MS CPU_MS" of the program to $DIR/LABEL
run() {
	local label=$1
	shift
	"$@" "${W[@]}" >"$DIR/out" 2>"$DIR/err"
	sed -n 's/^offcpu_probe: .*, \([0-9]*\) dropped$/\1/p' "$DIR/err" >>"$DIR/$label.dropped"
	awk '$1 == "elapsed_ns" { e = $2 / 1e6 } $1 == "cpu_ns" { c = $2 / 1e6 } END { print e, c }' "$DIR/out" >>"$DIR/$label"
}
MODES=(bare kiln probe probe_nostacks perf)
for m in "${MODES[@]}"; do : >"$DIR/$m" && : >"$DIR/$m.dropped"; done
for ((i = 0; i < ROUNDS; i++)); do
	run bare env
	run kiln "$KILN" offcpu -f -o "$DIR/k.kiln" --
	run probe "$DIR/offcpu_probe"
	run probe_nostacks env OFFCPU_PROBE_NO_USER=1 OFFCPU_PROBE_NO_KERNEL=1 "$DIR/offcpu_probe"
	command -v perf >/dev/null && run perf perf record -q -e sched:sched_switch -g -o "$DIR/p.data" --
done

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
echo "offcpu_switch 8 2000 50, $ROUNDS interleaved rounds (load $(cut -d' ' -f1 /proc/loadavg) at the end); medians:"
bare=$(cut -d' ' -f1 "$DIR/bare" | median)
for m in "${MODES[@]}"; do
	[ -s "$DIR/$m" ] || continue
	run_ms=$(cut -d' ' -f1 "$DIR/$m" | median)
	printf "  %-15s run %7.1f ms  %.2fx  cpu %6.1f ms" "$m" "$run_ms" "$(awk -v a="$run_ms" -v b="$bare" 'BEGIN { print a / b }')" \
		"$(cut -d' ' -f2 "$DIR/$m" | median)"
	[ -s "$DIR/$m.dropped" ] && printf "  records dropped: %s" "$(tr '\n' ' ' <"$DIR/$m.dropped")"
	echo
done
