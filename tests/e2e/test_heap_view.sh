#!/bin/bash
# test_heap_view.sh - the heap view from the file (issue 10 item 7):
# `kiln report FILE` on a heap profile prints the summary `kiln heap`
# printed at the end of its run, and --json the same JSON, for C and Rust;
# one rule names allocation sites (the user's function for Rust
# Vec/String/HashMap, a C wrapper's callers with --alloc-fn); stacks run
# from the site to main unless --full-stacks; --no-inline folds an
# inlined function's samples into its caller. report's tables and the
# flame graph of a heap profile end their stacks at the sites too.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"

# summary NAME: the summary kiln heap printed, without its closing hint
summary() { sed '/^$/{N;/\nkiln: wrote/d;}' "$T/$1.err" | grep -v '^kiln: warning'; }

# same_view NAME KILN JSON [ARGS...]: report FILE (text, --json) equals the run's
same_view() {
	local name=$1 file=$2 json=$3
	shift 3
	krun "$name.rep" report "$file" "$@"
	check_eq "$name: report exits 0" "$RC" 0
	summary "$name" >"$T/$name.sum"
	if cmp -s "$T/$name.sum" "$T/$name.rep.out"; then ok "$name: report FILE prints the run's summary"; else
		fail "$name: report FILE differs from the run's summary:"
		diff "$T/$name.sum" "$T/$name.rep.out" | head -20 | sed 's/^/    | /'
	fi
	krun "$name.repj" report --json "$file" "$@"
	if cmp -s "$json" "$T/$name.repj.out"; then ok "$name: report --json FILE is kiln heap --json"; else
		fail "$name: report --json differs from kiln heap --json"
		diff <(tr ',' '\n' <"$json") <(tr ',' '\n' <"$T/$name.repj.out") | head -10 | sed 's/^/    | /'
	fi
}

# last_frames FILE: the outermost frame shown of each stack of a user's
# site in a summary ([runtime] sites, with no user frame, aside)
last_frames() {
	awk '/^      site: /{rt = ($2 == "[runtime]")} /^        at /{if (!rt) last=$2}
		/^  #|^$/{if (last) print last; last=""} END{if (last) print last}' "$1" | sort -u
}

# site_first FILE: the sites whose stack does not start with the site's frame
site_first() {
	awk '/^      site: /{s=$2; sub(/^\[runtime\] /, "", s); if ($2 == "[runtime]") s=$3; want=1; next}
		want && /^        at /{if ($2 != s) print s " starts at " $2; want=0}' "$1"
}

# --- C: leaks of every class, temporaries, a realloc chain
SRC=$KILN_SRC/tests/fixtures/heap_leaks.c
cc -O2 -g -o "$T/heap_leaks" "$SRC" || die "cannot build $SRC"
krun c heap --top 20 -o "$T/c.kiln" --json "$T/c.json" -- "$T/heap_leaks"
check_no_crash c
same_view c "$T/c.kiln" "$T/c.json" -n 20
check_grep "c: the view has the leak classes" "$T/c.rep.out" "definitely lost: +32 bytes in 1 blocks"
check_grep "c: the view names the site's class" "$T/c.rep.out" "definitely lost 32 bytes in 1 blocks"
check_eq "c: each stack starts at its site" "$(site_first "$T/c.rep.out")" ""
check_eq "c: every stack ends at main" "$(last_frames "$T/c.rep.out")" "main"
check_no_grep "c: no libc start frames" "$T/c.rep.out" "__libc_start|_start "
krun cfull report "$T/c.kiln" --full-stacks
check_grep "c: --full-stacks shows what is below main" "$T/cfull.out" "at __libc_start"

# --- C: a program's own allocation wrapper
SRC=$KILN_SRC/tests/fixtures/heap_wrapper.c
cc -O2 -g -o "$T/heap_wrapper" "$SRC" || die "cannot build $SRC"
krun w0 heap -o "$T/w.kiln" --json "$T/w0.json" -- "$T/heap_wrapper"
check_eq "wrapper: without --alloc-fn the wrapper is the site" \
	"$(hj "$T/w0.json" "[s['allocations'] for s in d['by_allocations'] if s['site'].startswith('tbl_alloc ')]")" "[7]"
krun w1 heap -o "$T/w.kiln" --alloc-fn 'tbl_alloc' --json "$T/w1.json" -- "$T/heap_wrapper"
check_eq "wrapper: --alloc-fn tbl_alloc: make_table is a site" \
	"$(hj "$T/w1.json" "site('heap_wrapper.c:$(line_of "$SRC" TABLE_LINE)')['allocations']")" 4
check_eq "wrapper: --alloc-fn tbl_alloc: make_name is a site" \
	"$(hj "$T/w1.json" "site('heap_wrapper.c:$(line_of "$SRC" NAME_LINE)')['allocations']")" 3
check_eq "wrapper: no site is the wrapper" "$(hj "$T/w1.json" "[s['site'] for s in d['by_allocations'] if 'tbl_alloc' in s['site']]")" "[]"
check_no_grep "wrapper: the wrapper is not in the stacks" "$T/w1.err" "at tbl_alloc"
same_view w1 "$T/w.kiln" "$T/w1.json" --alloc-fn 'tbl_alloc'
krun wbad report "$T/w.kiln" --alloc-fn '('
check_eq "wrapper: a bad --alloc-fn is a usage error" "$RC" 2
check_grep "wrapper: it says why" "$T/wbad.err" "alloc-fn takes a regular expression"

# --- Rust: Vec, String and HashMap allocations in a release build
if command -v rustc >/dev/null 2>&1; then
	SRC=$KILN_SRC/tests/fixtures/heap_rust.rs
	rustc -C opt-level=2 -g --crate-name heap_rust -o "$T/heap_rust" "$SRC" 2>"$T/rustc.err" ||
		die "cannot build $SRC: $(head -5 "$T/rustc.err")"
	for mode in cache threads; do
		krun "$mode" heap --top 10 -o "$T/$mode.kiln" --json "$T/$mode.json" -- "$T/heap_rust" "$mode"
		check_no_crash "$mode"
		same_view "$mode" "$T/$mode.kiln" "$T/$mode.json" -n 10
		check_eq "$mode: every site is the program's code" \
			"$(hj "$T/$mode.json" "sorted({s['site'].split(' ')[0].split('::')[0] for l in ('by_peak','by_allocations','by_temporary') for s in d[l] if not s['site'].startswith('[runtime]')})")" \
			"['heap_rust']"
		check_eq "$mode: each stack starts at its site, not in the allocator" "$(site_first "$T/$mode.rep.out")" ""
		check_no_grep "$mode: no allocator or runtime start frames" "$T/$mode.rep.out" \
			"at (alloc::alloc|<alloc::alloc|alloc::raw_vec|__rust|__rdl|malloc|main \\(|_start|__libc_start|clone|start_thread)"
		krun "$mode.full" report "$T/$mode.kiln" -n 10 --full-stacks
		check_grep "$mode: --full-stacks shows the allocator" "$T/$mode.full.out" "at (alloc::|<alloc::)"
	done
	# the same rule in the tables and the flame graph: Self% on the sites
	krun cache.tab report "$T/cache.kiln" --value peak_space -n 3
	check_grep "cache: report --value: the top function is a site" "$T/cache.tab.out" "^ +[0-9.]+% +[0-9.]+% +[0-9]+  heap_rust::caches "
	check_no_grep "cache: report --value: no allocator function holds the peak" "$T/cache.tab.out" "^ +[1-9][0-9.]*% .*alloc::alloc"
	krun cache.fold flame "$T/cache.kiln" --value peak_space --folded
	check_eq "cache: flame: the sites are the leaves" \
		"$(sed 's/ [0-9]*$//; s/.*;//' "$T/cache.fold.out" | grep -c '^heap_rust::caches$')" 1
	krun cache.foldfull flame "$T/cache.kiln" --value peak_space --folded --full-stacks
	check_grep "cache: flame --full-stacks: the allocator is the leaf" "$T/cache.foldfull.out" ";alloc::alloc::alloc_zeroed [0-9]+$"
	check_eq "cache: HashMap values: the user's function" \
		"$(hj "$T/cache.json" "[s['peak_bytes'] for s in d['by_peak'] if s['site'].startswith('heap_rust::unbounded_value ') and s['site'].split(' ')[1].endswith('heap_rust.rs:$(line_of "$SRC" UNBOUNDED_LINE)')]")" "[100000]"
	check_eq "cache: stacks end at main" "$(last_frames "$T/cache.rep.out")" "heap_rust::main"
	check_eq "threads: a thread's stacks end at its closure, main's at main" \
		"$(last_frames "$T/threads.rep.out" | sed 's/::{{closure}}.*/::{{closure}}/' | sort -u | tr '\n' ' ')" \
		"heap_rust::main heap_rust::threads::{{closure}} "
else
	say "rustc not installed: the Rust half is skipped"
fi

# --- --no-inline on a CPU profile: inlined::helper's samples go to inlined::outer
build_fixtures
if why=$("$FX/c_probe" 2>&1); then
	record inl -o "$T/inl.kiln" -- "$FX/inlined_nofp" 300ms
	report_json "$T/inl.kiln" "$T/inl.json"
	report_json "$T/inl.kiln" "$T/inl.noinl.json" --no-inline
	self() { jq_ "$1" "sum(f['self'] for f in j['functions'] if f['name'] == '$2')"; }
	check_ge "inlined: helper has the samples" "$(self "$T/inl.json" inlined::helper)" 100
	check_eq "--no-inline: no inlined::helper left" "$(self "$T/inl.noinl.json" inlined::helper)" 0
	# every sample whose innermost real (not inlined) frame is outer:
	# helper's, and those of anything else inlined there (black_box)
	check_eq "--no-inline: outer's self = its samples' with the inlined frames folded" \
		"$(self "$T/inl.noinl.json" inlined::outer)" \
		"$(jq_ "$T/inl.json" "sum(s['value'] for s in j['stacks'] if next((f['name'] for f in reversed(s['frames']) if not f['inlined']), None) == 'inlined::outer')")"
	krun inltxt report "$T/inl.kiln" --no-inline -n 3
	check_grep "--no-inline: the text report too" "$T/inltxt.out" "inlined::outer"
	check_no_grep "--no-inline: no helper in the text" "$T/inltxt.out" "inlined::helper"
else
	say "perf_event_open is not allowed here ($why): the --no-inline part is skipped"
fi
finish
