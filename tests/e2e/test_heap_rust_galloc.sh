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

# compare BUILD MODE: one python per pair (each start costs ~0.3 s on a
# loaded machine): "what|got|expected" lines for check_eq. The program's
# own sites (not the runtime's), sorted, with allocations, bytes and
# leaked bytes by class; the leak classes; peak, allocations and
# temporaries within tolerances. The bounded cache's table (a HashMap
# with removals, seeded at random) grows differently from run to run: it
# is left out, with its 16 KiB of peak. The eight threads take each box
# and its drop under one lock, so their temporaries do not depend on how
# they interleave (without it, runs of one build spread by 1,100 of 80,000).
BOUNDED_TABLE="heap_rust.rs:$(line_of "$FX_DIR/heap_rust.rs" BOUNDED_INSERT)"
compare() {
	python3 - "$T/$1.$2.json" "$T/sys.$2.json" "$BOUNDED_TABLE" "$2" <<'PY'
import json, sys
d, s = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
table, mode = sys.argv[3], sys.argv[4]
def sites(d):
    return sorted((x['site'], x['allocations'], x['allocated_bytes'], x['definitely_lost_bytes'],
                   x['indirectly_lost_bytes'], x['possibly_lost_bytes'], x['still_reachable_bytes'])
                  for x in d['by_allocations'] if not x['site'].startswith('[runtime]') and not x['site'].endswith(table))
def classes(d):
    return [(k, d['leaks'][k]['bytes'], d['leaks'][k]['blocks']) for k in sorted(d['leaks'])]
tol = 16384 if mode == 'cache' else 1024
def path(d):
    a = d.get('allocator', {})
    return (a.get('path'), a.get('global'))
print('the path|%s|%s' % (path(d), ('rust_shim', 'custom')))
print("the program's sites as on System|%s|%s" % (sites(d), sites(s)))
print('leak classes as on System|%s|%s' % (classes(d), classes(s)))
print('peak as on System (within %d bytes)|%s|True' % (tol, abs(d['peak_bytes'] - s['peak_bytes']) <= tol))
print("allocations as on System (within the runtime's 8)|%s|True" % (abs(d['allocations'] - s['allocations']) <= 8))
print('temporaries as on System (within 4 or 1%%)|%s|True' %
      (abs(d['temporary'] - s['temporary']) <= max(4, d['allocations'] // 100)))
print('System is malloc|%s|%s' % (path(s), ('malloc', 'System')))
PY
}

for mode in forget temps realloc threads aligned cache; do
	for b in sys mmp cnt; do
		run "$b" "$mode"
	done
	for b in mmp cnt; do
		compare "$b" "$mode" >"$T/$b.$mode.cmp" || fail "$b.$mode: the comparison failed"
		check_eq "$b.$mode: all compared" "$(wc -l <"$T/$b.$mode.cmp")" 7
		while IFS='|' read -r what got want; do
			check_eq "$b.$mode: $what" "$got" "$want"
		done <"$T/$b.$mode.cmp"
	done
	check_grep "mmp.$mode: the summary names the path" "$T/mmp.$mode.err" \
		"allocator: *rust allocator shim, global allocator: custom"
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
