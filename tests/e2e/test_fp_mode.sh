#!/bin/bash
# test_fp_mode.sh - `--call-graph fp`: the frame-pointer Rust build and the C
# build with frame pointers (leaf frame pointers kept, see build.sh) have the
# full chain; the default no-frame-pointer Rust release build does not (the
# documented trap: its own code has no frame pointers, so the chain stops
# after the leaf). The report says which mode was used.
source "$(dirname "$0")/lib.sh"
setup

RUST_LEAVES="--leaf calltree::leaf_a --leaf calltree::leaf_b"

record fp --call-graph fp -o "$T/fp.kiln" -- "$FX/calltree_fp" 1500ms
[ -s "$T/fp.kiln" ] || die "no file: $(cat "$T/fp.err")"
report_json "$T/fp.kiln" "$T/fp.json"
check_eq "FP build: meta call_graph" "$(jq_ "$T/fp.json" 'j["meta"].get("call_graph")')" fp
kstats "$T/fp.stats" "$T/fp.json" $RUST_LEAVES --chain main,calltree::main,calltree::run
check_between "FP build: leaf_a share %" "$(kv "$T/fp.stats" share.calltree::leaf_a)" 26.3 40.3
check_ge "FP build: full-chain % (main > calltree::main > calltree::run > leaf)" "$(kv "$T/fp.stats" fullchain)" 95

# The C build: glibc's __libc_start_call_main has no frame pointer, so
# only the chain from main down is asserted.
record cfp --call-graph fp -o "$T/cfp.kiln" -- "$FX/c_calltree_fp" 1500ms
report_json "$T/cfp.kiln" "$T/cfp.json"
kstats "$T/cfp.stats" "$T/cfp.json" --leaf leaf_a --leaf leaf_b --chain main,run
check_between "C FP build: leaf_a share %" "$(kv "$T/cfp.stats" share.leaf_a)" 26.3 40.3
check_ge "C FP build: full-chain % (main > run > leaf)" "$(kv "$T/cfp.stats" fullchain)" 95

# No frame pointers in fp mode: shares are still right (the leaf is the
# sampled pc), the chain is not there.
record nofp --call-graph fp -o "$T/nofp.kiln" -- "$FX/calltree_nofp" 1500ms
report_json "$T/nofp.kiln" "$T/nofp.json"
check_eq "no-FP build: meta call_graph" "$(jq_ "$T/nofp.json" 'j["meta"].get("call_graph")')" fp
kstats "$T/nofp.stats" "$T/nofp.json" $RUST_LEAVES --chain main,calltree::main,calltree::run
check_between "no-FP build: leaf_a share %" "$(kv "$T/nofp.stats" share.calltree::leaf_a)" 26.3 40.3
check_le "no-FP build in fp mode: full-chain % (documented: frames lost)" "$(kv "$T/nofp.stats" fullchain)" 20

# The text report states the mode too.
krun text report "$T/nofp.kiln"
check_grep "text report header states the call-graph mode" "$T/text.out" "(call.graph|unwind).*\bfp\b|frame.pointer"

# -g picks dwarf.
record g -g -o "$T/g.kiln" -- "$FX/calltree_nofp" 300ms
report_json "$T/g.kiln" "$T/g.json"
check_eq "-g: meta call_graph" "$(jq_ "$T/g.json" 'j["meta"].get("call_graph")')" dwarf
finish
