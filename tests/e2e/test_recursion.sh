#!/bin/bash
# test_recursion.sh - recursion 200 deep to a hot leaf: in DWARF mode every
# sample of hot_leaf has the whole chain, main at the root and exactly 201
# recursion::recurse frames (depth 200 .. 0), in release and debug builds
# (debug frames are larger: about 10-20 KB of stack, within the default
# copy). A small --call-graph dwarf,SIZE must make kiln count truncated
# stacks instead of silently shortening them.
source "$(dirname "$0")/lib.sh"
setup

CHAIN=main,recursion::main,recursion::run,recursion::recurse
for b in recursion_nofp recursion_debug; do
	record "$b" -o "$T/$b.kiln" -- "$FX/$b" 1000ms 200
	report_json "$T/$b.kiln" "$T/$b.json"
	kstats "$T/$b.stats" "$T/$b.json" --leaf recursion::hot_leaf --chain $CHAIN --depth recursion::recurse=201
	check_ge "$b: samples in hot_leaf" "$(kv "$T/$b.stats" leaf_samples)" 800
	check_ge "$b: full chain main > ... > recurse > hot_leaf %" "$(kv "$T/$b.stats" fullchain)" 95
	check_ge "$b: exactly 201 recurse frames %" "$(kv "$T/$b.stats" depth.recursion::recurse)" 95
	check_eq "$b: truncated" "$(jq_ "$T/$b.json" 'j["truncated"]')" 0
	# The text tree shows the depth too: hot_leaf is indented below 201 recurse levels.
	krun "$b-tree" report --tree --limit 0 --min-percent 0 "$T/$b.kiln"
	check_eq "$b: report --tree exit status" "$RC" 0
	check_grep "$b: report --tree reaches hot_leaf" "$T/$b-tree.out" "recursion::hot_leaf"
done

# A 4 KB stack copy cannot reach main through 200 frames: the samples must be
# counted as truncated (and said so), not passed off as complete stacks.
record small --call-graph dwarf,4096 -o "$T/small.kiln" -- "$FX/recursion_nofp" 500ms 200
report_json "$T/small.kiln" "$T/small.json"
leaf=$(jq_ "$T/small.json" 'sum(s["samples"] for s in j["stacks"] if s["frames"] and s["frames"][-1]["name"] == "recursion::hot_leaf")')
trunc=$(jq_ "$T/small.json" 'j["truncated"]')
check_eq "dwarf,4096: meta stack_size" "$(jq_ "$T/small.json" 'j["meta"].get("stack_size")')" 4096
check_ge "dwarf,4096: truncated stacks (hot_leaf samples: $leaf)" "$trunc" "$((leaf * 9 / 10))"
check_grep "dwarf,4096: summary mentions the truncated stacks" "$T/small.err" "[1-9][0-9]* truncated"
finish
