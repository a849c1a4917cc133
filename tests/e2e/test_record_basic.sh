#!/bin/bash
# test_record_basic.sh - DWARF-mode recording of the no-frame-pointer Rust
# release call tree: the 1:2 split of leaf_a:leaf_b, the full chain from
# main down to each leaf in >= 95% of leaf samples (perf's figure printed
# beside ours), the metadata, and the exit status passed through.
source "$(dirname "$0")/lib.sh"
setup

BIN=$FX/calltree_nofp
CHAIN=main,calltree::main,calltree::run
LEAVES="--leaf calltree::leaf_a --leaf calltree::leaf_b"

# The fixture exits 7: kiln must too.
krun rec record -o "$T/ct.kiln" -- "$BIN" 1500ms 7
check_eq "exit status passed through" "$RC" 7
check_no_crash rec
[ -s "$T/ct.kiln" ] || die "no file written: $(cat "$T/rec.err")"
check_grep "summary line on stderr" "$T/rec.err" "^kiln: wrote '.*ct\.kiln' \([0-9]+ samples"

report_json "$T/ct.kiln" "$T/ct.json"
check_eq "complete" "$(jq_ "$T/ct.json" 'j["complete"]')" true
check_eq "meta call_graph" "$(jq_ "$T/ct.json" 'j["meta"].get("call_graph")')" dwarf
check_eq "meta exit_status" "$(jq_ "$T/ct.json" 'j["meta"].get("exit_status")')" 7
check_grep "meta command" <(jq_ "$T/ct.json" 'j["meta"].get("command")') "calltree_nofp 1500ms 7"
check_eq "meta frequency" "$(jq_ "$T/ct.json" 'j["meta"].get("frequency")')" 997
check_eq "meta kiln_version is kiln --version's" "kiln $(jq_ "$T/ct.json" 'j["meta"].get("kiln_version")')" "$("$KILN" --version)"
check_eq "value type" "$(jq_ "$T/ct.json" 'j["value"]["type"]+"/"+j["value"]["unit"]')" cpu/nanoseconds
samples=$(jq_ "$T/ct.json" 'j["samples"]')
# 1.5 s of CPU at 997 Hz is about 1500 samples.
check_between "samples" "$samples" 1200 1800
check_eq "stack samples add up to samples" "$(jq_ "$T/ct.json" 'sum(s["samples"] for s in j["stacks"])')" "$samples"
check_eq "lost" "$(jq_ "$T/ct.json" 'j["lost"]')" 0

kstats "$T/ct.stats" "$T/ct.json" $LEAVES --chain $CHAIN
check_ge "leaf samples (of $samples)" "$(kv "$T/ct.stats" leaf_samples)" $((samples * 9 / 10))
check_between "leaf_a share of leaf samples %" "$(kv "$T/ct.stats" share.calltree::leaf_a)" 26.3 40.3
check_between "leaf_b share of leaf samples %" "$(kv "$T/ct.stats" share.calltree::leaf_b)" 59.7 73.7
kiln_full=$(kv "$T/ct.stats" fullchain)
check_ge "kiln full-chain % (main > calltree::main > calltree::run > leaf)" "$kiln_full" 95

# Functions table: both leaves with self shares near 1:2 of the total.
a=$(jq_ "$T/ct.json" '(fn("calltree::leaf_a") or {}).get("self_pct")')
b=$(jq_ "$T/ct.json" '(fn("calltree::leaf_b") or {}).get("self_pct")')
check_between "functions: leaf_a self_pct" "$a" 25 40
check_between "functions: leaf_b self_pct" "$b" 55 73
check_ge "functions: calltree::run total_pct" "$(jq_ "$T/ct.json" '(fn("calltree::run") or {}).get("total_pct")')" 90
check_ge "functions: main total_pct" "$(jq_ "$T/ct.json" '(fn("main") or {}).get("total_pct")')" 90

# Text report: header and the leaves.
krun text report "$T/ct.kiln"
check_eq "kiln report exit status" "$RC" 0
check_grep "text report lists leaf_b" "$T/text.out" "calltree::leaf_b"
check_grep "text report header names the command" "$T/text.out" "calltree_nofp"

# perf's own DWARF unwinding on the same binary: the ground truth.
if have_perf; then
	perf record -q --no-bpf-event --call-graph dwarf -F 997 -o "$T/perf.data" -- "$BIN" 1500ms >/dev/null 2>&1
	perf script -i "$T/perf.data" >"$T/perf.txt" 2>/dev/null
	kstats "$T/perf.stats" "$T/perf.txt" $LEAVES --chain $CHAIN
	perf_full=$(kv "$T/perf.stats" fullchain)
	say "full-chain %: kiln $kiln_full, perf $perf_full"
	check_ge "perf full-chain % (fixture sanity)" "$perf_full" 95
else
	say "perf not usable here: no comparison (kiln full-chain $kiln_full%)"
fi

# Exit status 0 too, and -q silences the summary.
krun rec0 record -q -o "$T/ct0.kiln" -- "$BIN" 100
check_eq "exit status 0 passed through" "$RC" 0
check_no_grep "-q: no summary" "$T/rec0.err" "wrote"
finish
