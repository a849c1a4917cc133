#!/bin/bash
# test_memcheck_rust_galloc.sh - kiln memcheck on Rust programs with their
# own #[global_allocator] (issue 16): an unsafe write one byte past a
# Vec's 32 bytes (tests/fixtures/memcheck_rust_galloc.rs) is caught
# whatever the global allocator is (System, one on mmap, a counting
# wrapper of System), at the write's line, with the block's allocation
# the program's code; the clean run's output and exit status are unchanged.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
command -v rustc >/dev/null 2>&1 || skip "rustc not installed"
SRC=$KILN_SRC/tests/fixtures/memcheck_rust_galloc.rs
CFG='cfg(galloc, values("mmap", "count"))'
build() { # NAME [CFG]
	rustc -C opt-level=2 -g --check-cfg "$CFG" ${2:+--cfg "galloc=\"$2\""} -o "$T/$1" "$SRC" 2>"$T/$1.rustc" ||
		die "cannot build $1: $(head -5 "$T/$1.rustc")"
}
build sys &
build mmap mmap &
build count count &
wait
ulimit -c 0
L() { line_of "$SRC" "$1"; }

for b in sys mmap count; do
	[ -x "$T/$b" ] || die "the $b build is missing"
	krun "$b.overflow" memcheck -- "$T/$b" overflow
	check_eq "$b: the overflow stops the program with the error status" "$RC" 99
	check_no_grep "$b: it did not go on" "$T/$b.overflow.out" "survived"
	check_grep "$b: the kind" "$T/$b.overflow.err" "^kiln memcheck: heap overflow: write at"
	check_grep "$b: where it lies" "$T/$b.overflow.err" "0 bytes past the end of a 32-byte block"
	check_grep "$b: the write at its line" "$T/$b.overflow.err" \
		"^    #0 0x[0-9a-f]* in memcheck_rust_galloc::overflow .*memcheck_rust_galloc.rs:$(L OVERFLOW_LINE)\$"
	# make() may be inlined into main (the symbolizer names it or not; as on System)
	check_grep "$b: the allocation's stack reaches the program" "$T/$b.overflow.err" \
		"in memcheck_rust_galloc::(make|main) .*memcheck_rust_galloc.rs:($(L ALLOC_LINE)|$(L MAKE_CALL))\$"

	"$T/$b" clean >"$T/$b.clean.bare" 2>&1
	krun "$b.clean" memcheck -- "$T/$b" clean
	check_eq "$b: clean: exit status unchanged" "$RC" 0
	if cmp -s "$T/$b.clean.out" "$T/$b.clean.bare"; then ok "$b: clean: stdout unchanged"; else
		fail "$b: clean: stdout differs from a bare run"
	fi
	check_no_grep "$b: clean: no report" "$T/$b.clean.err" "^kiln memcheck: (heap|use|double|invalid)"
done
finish
