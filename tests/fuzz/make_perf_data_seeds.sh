#!/bin/bash
# make_perf_data_seeds.sh - records the seed corpus of fuzz_perf_data: tiny
# perf.data files of the C call-tree fixture at 99 Hz, one with frame-pointer
# chains (also compressed, perf record -z) and one with DWARF register and
# stack copies of 512 bytes.
#   usage: make_perf_data_seeds.sh FIXTURES_DIR   (as built by tests/fixtures/build.sh)
set -euo pipefail
FX=${1:?usage: make_perf_data_seeds.sh FIXTURES_DIR}
OUT=$(cd "$(dirname "$0")" && pwd)/corpus/fuzz_perf_data
mkdir -p "$OUT"
cd "$OUT"
rm -f fp.data fp_zstd.data dwarf.data # else perf keeps them as .old
# -N: no build-id cache; the build-ids still go into the file's header
perf record -q -N --no-bpf-event -F 99 -g -o "$OUT/fp.data" -- "$FX/c_calltree_fp" 100ms
perf record -q -N --no-bpf-event -F 99 -z -g -o "$OUT/fp_zstd.data" -- "$FX/c_calltree_fp" 100ms
perf record -q -N --no-bpf-event -F 99 --call-graph dwarf,512 -o "$OUT/dwarf.data" -- "$FX/c_calltree" 100ms
ls -l "$OUT"
