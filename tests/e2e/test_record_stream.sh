#!/bin/bash
# test_record_stream.sh - kiln record streams samples to the file and keeps
# none in memory: a recording of many 250 ms chunks gives the same report
# as ever (every sample in the file, the call tree's shares and chains), a
# copy cut in the middle reads up to its last whole chunk, and the folded
# view and the one-shot `kiln flame -- CMD` read the streamed samples back.
source "$(dirname "$0")/lib.sh"
setup

BIN=$FX/calltree_nofp
CHAIN=main,calltree::main,calltree::run
LEAVES="--leaf calltree::leaf_a --leaf calltree::leaf_b"

# 2.5 s at 4 kHz: about 10,000 samples over ten or more chunks.
krun rec record -F 4000 -o "$T/s.kiln" -- "$BIN" 2500ms
check_eq "exit status" "$RC" 0
check_no_crash rec
summary=$(sed -n "s/^kiln: wrote '.*' (\([0-9]*\) samples.*/\1/p" "$T/rec.err")
check_ge "samples in record's summary" "$summary" 5000

report_json "$T/s.kiln" "$T/s.json"
check_eq "complete" "$(jq_ "$T/s.json" 'j["complete"]')" true
check_eq "report samples = record's summary" "$(jq_ "$T/s.json" 'j["samples"]')" "$summary"
check_eq "meta samples = record's summary" "$(jq_ "$T/s.json" 'j["meta"].get("samples")')" "$summary"
check_eq "stack samples add up" "$(jq_ "$T/s.json" 'sum(s["samples"] for s in j["stacks"])')" "$summary"
kstats "$T/s.stats" "$T/s.json" $LEAVES --chain $CHAIN
check_ge "leaf samples" "$(kv "$T/s.stats" leaf_samples)" $((summary * 9 / 10))
check_between "leaf_a share of leaf samples %" "$(kv "$T/s.stats" share.calltree::leaf_a)" 26.3 40.3
check_ge "full chain main > calltree::main > calltree::run > leaf %" "$(kv "$T/s.stats" fullchain)" 95

# The folded view sums the streamed samples to the same total.
krun fold flame --folded -o "$T/s.folded" "$T/s.kiln"
check_eq "flame --folded exit status" "$RC" 0
check_eq "folded counts add up" "$(awk '{ n += $NF } END { print n }' "$T/s.folded")" "$summary"

# A copy cut in the middle keeps its whole chunks: fewer samples, no error.
size=$(stat -c %s "$T/s.kiln")
head -c $((size / 2)) "$T/s.kiln" >"$T/cut.kiln"
report_json "$T/cut.kiln" "$T/cut.json"
cut_samples=$(jq_ "$T/cut.json" 'j["samples"]')
check_ge "cut copy: samples read" "$cut_samples" 1
check_le "cut copy: samples read" "$cut_samples" $((summary - 1))

# Record and draw in one go reads the samples back from the file.
krun one flame -F 2000 -o "$T/one.svg" -- "$BIN" 500ms
check_eq "flame -- CMD exit status" "$RC" 0
check_grep "flame -- CMD draws the leaves" "$T/one.svg" "calltree::leaf_b"
finish
