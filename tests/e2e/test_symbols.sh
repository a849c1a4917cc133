#!/bin/bash
# test_symbols.sh - symbolization: demangled Rust names with legacy and v0
# mangling (generics and closures), no mangled symbols or ::h hashes left;
# inlined functions as frames of their own with lines inside them; the
# leaf's file:line matching the marked source lines, in release and debug
# builds and in C.
source "$(dirname "$0")/lib.sh"
setup

# check_names LABEL JSON: no mangled names or hashes anywhere in the report.
check_names() {
	$KC names "$2" >"$2.names"
	jq_ "$2" '"\n".join(f["name"] for f in j["functions"])' >>"$2.names"
	check_no_grep "$1: no mangled names (_ZN / _R)" "$2.names" '(^|[^A-Za-z0-9_])(_ZN[0-9]|_R[NICMSBXY][A-Za-z0-9_]*[0-9])'
	check_no_grep "$1: no ::h<16 hex> hashes" "$2.names" '::h[0-9a-f]{16}'
	check_no_grep "$1: no [crate disambiguator] in names" "$2.names" '\[[0-9a-f]{8,}\]'
	check_no_grep "$1: no empty names" "$2.names" '^$'
}

# Legacy mangling (rustc's default).
record gen --call-graph dwarf -o "$T/gen.kiln" -- "$FX/generics_nofp" 1000ms
report_json "$T/gen.kiln" "$T/gen.json"
check_names "legacy" "$T/gen.json"
check_grep "legacy: generics::work" "$T/gen.json.names" '^generics::work$'
check_grep "legacy: the closure is generics::main::{{closure}}" "$T/gen.json.names" '^generics::main::\{\{closure\}\}$'
kstats "$T/gen.stats" "$T/gen.json" --innermost --leaf 'generics::main::{{closure}}' --chain main,generics::main,generics::apply
check_ge "legacy: closure samples called through generics::apply (% with the chain)" \
	"$(kv "$T/gen.stats" 'fullchain.generics::main::{{closure}}')" 95
check_ge "legacy: closure samples" "$(kv "$T/gen.stats" 'count.generics::main::{{closure}}')" 100

# v0 mangling: generic arguments and numbered closures. A round's u32 unit
# runs ~5x faster than the other two (about 9% of the samples), so the run
# is long enough for it to get 100 samples with a wide margin (~220).
record v0 --call-graph dwarf -o "$T/v0.kiln" -- "$FX/generics_v0" 2500ms
report_json "$T/v0.kiln" "$T/v0.json"
check_names "v0" "$T/v0.json"
kstats "$T/v0.stats" "$T/v0.json" --leaf 'generics::work::<u32>' --leaf 'generics::work::<u64>' \
	--leaf 'generics::main::{closure#0}' --chain main,generics::main
for n in 'generics::work::<u32>' 'generics::work::<u64>' 'generics::main::{closure#0}'; do
	check_ge "v0: samples in $n" "$(kv "$T/v0.stats" "count.$n")" 100
	check_ge "v0: $n full chain from main %" "$(kv "$T/v0.stats" "fullchain.$n")" 95
done
check_grep "v0: the inlined trait method <u64 as generics::Step>::step" "$T/v0.json.names" '^<u64 as generics::Step>::step$'

# Inlined helper: a frame of its own, marked inlined, lines inside the
# helper; its caller frame (outer) shows the call site's line.
record inl -o "$T/inl.kiln" -- "$FX/inlined_nofp" 1000ms
report_json "$T/inl.kiln" "$T/inl.json"
lines=$(marker inlined.rs helper)
callsite=$(marker inlined.rs callsite)
kstats "$T/inl.stats" "$T/inl.json" --leaf inlined::helper --leaf inlined::outer \
	--chain main,inlined::main,inlined::outer --inlined inlined::helper \
	--lines inlined::helper="$lines" --caller-lines inlined::helper="$callsite"
check_ge "inlined: share of helper among helper+outer %" "$(kv "$T/inl.stats" share.inlined::helper)" 90
check_ge "inlined: helper frames marked inlined %" "$(kv "$T/inl.stats" inlined.inlined::helper)" 99
check_ge "inlined: chain main > inlined::main > inlined::outer > helper %" "$(kv "$T/inl.stats" fullchain.inlined::helper)" 95
check_ge "inlined: helper line within inlined.rs:$lines %" "$(kv "$T/inl.stats" lines.inlined::helper)" 80
check_ge "inlined: outer frame at the call site inlined.rs:$callsite %" "$(kv "$T/inl.stats" caller_lines.inlined::helper)" 80
check_eq "inlined: helper's file" "$(jq_ "$T/inl.json" '[f["file"].rsplit("/",1)[-1] for s in j["stacks"] for f in s["frames"] if f["name"]=="inlined::helper"][:1]')" '["inlined.rs"]'

# The leaf's file:line, release (no FP), debug and C.
for b in calltree_nofp calltree_debug; do
	record "$b" -o "$T/$b.kiln" -- "$FX/$b" 800ms
	report_json "$T/$b.kiln" "$T/$b.json"
	check_names "$b" "$T/$b.json"
	la=$(marker calltree.rs leaf_a)
	lb=$(marker calltree.rs leaf_b)
	kstats "$T/$b.stats" "$T/$b.json" --leaf calltree::leaf_a --leaf calltree::leaf_b \
		--chain main,calltree::main,calltree::run --lines calltree::leaf_a="$la" --lines calltree::leaf_b="$lb"
	check_ge "$b: leaf_a line within calltree.rs:$la %" "$(kv "$T/$b.stats" lines.calltree::leaf_a)" 80
	check_ge "$b: leaf_b line within calltree.rs:$lb %" "$(kv "$T/$b.stats" lines.calltree::leaf_b)" 80
	check_ge "$b: full chain %" "$(kv "$T/$b.stats" fullchain)" 95
	check_eq "$b: leaf_b's file in the functions table" \
		"$(jq_ "$T/$b.json" '(fn("calltree::leaf_b") or {}).get("file","").rsplit("/",1)[-1]')" calltree.rs
done

record c -o "$T/c.kiln" -- "$FX/c_calltree" 800ms
report_json "$T/c.kiln" "$T/c.json"
la=$(marker c_calltree.c c_leaf_a)
lb=$(marker c_calltree.c c_leaf_b)
kstats "$T/c.stats" "$T/c.json" --leaf leaf_a --leaf leaf_b --chain main,run --lines leaf_a="$la" --lines leaf_b="$lb"
check_ge "C: leaf_a line within c_calltree.c:$la %" "$(kv "$T/c.stats" lines.leaf_a)" 80
check_ge "C: leaf_b line within c_calltree.c:$lb %" "$(kv "$T/c.stats" lines.leaf_b)" 80
check_ge "C: full chain main > run > leaf %" "$(kv "$T/c.stats" fullchain)" 95
check_between "C: leaf_a share %" "$(kv "$T/c.stats" share.leaf_a)" 26.3 40.3
check_eq "C: module of leaf_b" "$(jq_ "$T/c.json" '(fn("leaf_b") or {}).get("module","").rsplit("/",1)[-1]')" c_calltree
finish
