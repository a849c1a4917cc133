#!/bin/bash
# test_heap_rust_galloc.sh - kiln heap on Rust programs with their own
# #[global_allocator] (issue 16): heap_rust.rs's program built three ways
# (tests/fixtures/heap_rust_galloc.rs): on System, on an allocator of its
# own on mmap with free lists (never calls malloc), and on a counting
# wrapper of System (must not be counted twice). The custom builds give
# the System build's sites, counts (within the runtime's handful), leaked
# bytes and classes, in every mode (the mem::forget leak, temporaries, a
# realloc chain, eight threads, aligned blocks); the summary names the
# path; output and exit status are unchanged. A fully stripped copy gets
# the warning instead of a silently low count.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
command -v rustc >/dev/null 2>&1 || skip "rustc not installed"
FX_DIR=$KILN_SRC/tests/fixtures
CFG='cfg(galloc, values("mmap", "count"))'
# BUILD: release with debug info and heap_rust's crate name, at
# $T/BUILD/heap_rust (paths of one length: the program's arguments are
# among its allocations)
build() { # BUILD SRC [CFG]
	mkdir -p "$T/$1"
	rustc -C opt-level=2 -g --crate-name heap_rust --check-cfg "$CFG" ${3:+--cfg "galloc=\"$3\""} \
		-o "$T/$1/heap_rust" "$FX_DIR/$2" 2>"$T/$1.rustc" || die "cannot build $1: $(head -5 "$T/$1.rustc")"
}
build sys heap_rust.rs &
build mmp heap_rust_galloc.rs mmap &
build cnt heap_rust_galloc.rs count &
wait
for b in sys mmp cnt; do [ -x "$T/$b/heap_rust" ] || die "the $b build is missing"; done

# run BUILD MODE: a bare run and kiln heap; output and status unchanged
run() {
	local b=$1 mode=$2 name=$1.$2
	"$T/$b/heap_rust" "$mode" >"$T/$name.bare" 2>&1
	local bare_rc=$?
	krun "$name" heap --top 50 -o "$T/$name.kiln" --json "$T/$name.json" -- "$T/$b/heap_rust" "$mode"
	check_no_crash "$name"
	check_eq "$name: exit status unchanged" "$RC" "$bare_rc"
	if cmp -s "$T/$name.out" "$T/$name.bare"; then ok "$name: stdout unchanged"; else
		fail "$name: stdout differs from a bare run"
	fi
	[ -s "$T/$name.json" ] || die "$name: no JSON summary"
}

# The program's own sites (not the runtime's), sorted: label, allocations,
# bytes, leaked bytes by class; then the leak classes and the counts. The
# site of main's arguments ("heap_rust::main ...:100") holds the path.
# The bounded cache's table (a HashMap with removals, seeded at random)
# grows differently from run to run: left out, with its 8 KiB of peak.
BOUNDED_TABLE="heap_rust.rs:$(line_of "$FX_DIR/heap_rust.rs" BOUNDED_INSERT)"
USER_SITES="sorted((s['site'], s['allocations'], s['allocated_bytes'], s['definitely_lost_bytes'],
 s['indirectly_lost_bytes'], s['possibly_lost_bytes'], s['still_reachable_bytes'])
 for s in d['by_allocations'] if not s['site'].startswith('[runtime]') and not s['site'].endswith('$BOUNDED_TABLE'))"
CLASSES="[(k, d['leaks'][k]['bytes'], d['leaks'][k]['blocks']) for k in sorted(d['leaks'])]"

for mode in forget temps realloc threads aligned cache; do
	for b in sys mmp cnt; do
		run "$b" "$mode"
	done
	for b in mmp cnt; do
		J=$T/$b.$mode.json S=$T/sys.$mode.json
		check_eq "$b.$mode: the path" "$(hj "$J" "d['allocator']['path'], d['allocator']['global']")" \
			"('rust_shim', 'custom')"
		check_eq "$b.$mode: the program's sites as on System" "$(hj "$J" "$USER_SITES")" "$(hj "$S" "$USER_SITES")"
		check_eq "$b.$mode: leak classes as on System" "$(hj "$J" "$CLASSES")" "$(hj "$S" "$CLASSES")"
		tol=1024
		[ "$mode" = cache ] && tol=16384 # the bounded cache's table
		check_eq "$b.$mode: peak as on System (within $tol bytes)" \
			"$(hj "$J" "abs(d['peak_bytes'] - $(hj "$S" "d['peak_bytes']")) <= $tol")" True
		check_eq "$b.$mode: allocations as on System (within the runtime's 8)" \
			"$(hj "$J" "abs(d['allocations'] - $(hj "$S" "d['allocations']")) <= 8")" True
		# threads interleave differently from run to run: what counts as temporary too
		check_eq "$b.$mode: temporaries as on System (within 4 or 1%)" \
			"$(hj "$J" "abs(d['temporary'] - $(hj "$S" "d['temporary']")) <= max(4, d['allocations'] // 100)")" True
	done
	check_grep "mmp.$mode: the summary names the path" "$T/mmp.$mode.err" \
		"allocator: *rust allocator shim, global allocator: custom"
	check_eq "sys.$mode: System is malloc" "$(hj "$T/sys.$mode.json" "d['allocator']['path'], d['allocator']['global']")" \
		"('malloc', 'System')"
done
check_eq "forget: definitely lost on mmap" "$(hj "$T/mmp.forget.json" "d['leaks']['definitely_lost']['bytes']")" 24
check_eq "threads: 80000 boxes on mmap" \
	"$(hj "$T/mmp.threads.json" "site('heap_rust.rs:$(line_of "$FX_DIR/heap_rust.rs" THREAD_LINE)')['allocations']")" 80000

krun report report "$T/mmp.forget.kiln"
check_grep "report FILE: the path is kept in the file" "$T/report.out" \
	"allocator: *rust allocator shim, global allocator: custom"

# A fully stripped copy: the shim cannot be found, and the summary says so
strip -o "$T/mmap_stripped" "$T/mmp/heap_rust" || die "cannot strip"
krun stripped heap -o "$T/stripped.kiln" --json "$T/stripped.json" -- "$T/mmap_stripped" forget
check_eq "stripped: exit status unchanged" "$RC" 3
check_grep "stripped: the warning" "$T/stripped.err" \
	"warning: a Rust program without a symbol table \(stripped\): its allocator shim"
check_eq "stripped: the path" "$(hj "$T/stripped.json" "d['allocator']['path']")" rust_shim_missing
finish
