#!/bin/bash
# test_memcheck_rust.sh - kiln memcheck on unsafe Rust and FFI (issue 11):
# each bug of tests/fixtures/memcheck_rust.rs is caught with the right
# kind, where the address lies, and stacks whose first frame in the .rs
# file is the marked line (the access or bad free, the allocation, the
# free). Rust runs its signal handlers on an alternate stack, so the
# access stack is unwound from there. valgrind's verdict on each bug is in
# the table (and checked where valgrind is installed): we find at least
# what it finds. "clean" runs unchanged with no report.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
cd "$T" || die "no $T" # kiln memcheck writes memcheck.kiln here
command -v rustc >/dev/null 2>&1 || skip "rustc not installed"
SRC=$KILN_SRC/tests/fixtures/memcheck_rust.rs
BIN=$T/memcheck_rust
rustc -C opt-level=0 -g --crate-name memcheck_rust -o "$BIN" "$SRC" 2>"$T/rustc.err" ||
	die "cannot build $SRC: $(head -5 "$T/rustc.err")"
ulimit -c 0
L() { line_of "$SRC" "$1"; }
F=memcheck_rust.rs

# mode | our headline | where the address lies | the access (or free)
# line | the allocation line | the free line (- when live) | valgrind 3.19's
# headline and the line of its first frame in the .rs file
TABLE="vec_overflow|heap overflow: write at|0 bytes past the end of a 16-byte block|VEC_WRITE|VEC_ALLOC|-|Invalid write of size 1|VEC_WRITE
box_uaf|use after free: read at|8 bytes inside a freed 32-byte block|BOX_READ|BOX_ALLOC|BOX_FREE|Invalid read of size 8|BOX_READ
double_free|double free: free(0x|is a 8-byte block freed before|DF_SECOND|DF_ALLOC|DF_FIRST|Invalid free\(\) / delete / delete\[\] / realloc\(\)|DF_SECOND
ffi_overflow|heap overflow: write at|12 bytes past the end of a 20-byte block|FFI_COPY|FFI_ALLOC|-|Invalid write of size 8|FFI_COPY"

have_valgrind=0
command -v valgrind >/dev/null 2>&1 && have_valgrind=1
[ $have_valgrind = 1 ] || say "valgrind is not installed: its verdicts (the table) are not checked"

# the first frame of the .rs file after the line that opens a stack
first_rs() { grep -A16 -E "$2" "$1" | grep -m1 "$F:" | sed -n 's/.* \([^ ]*:[0-9][0-9]*\)$/\1/p'; }

while IFS='|' read -r mode head where at alloc freed vg vgat; do
	krun "$mode" memcheck -- "$BIN" "$mode"
	check_eq "$mode: the program is stopped with the error status" "$RC" 99
	check_no_grep "$mode: it did not go on" "$T/$mode.out" "survived"
	check_grep "$mode: the kind" "$T/$mode.err" "^kiln memcheck: ${head//(/\\(}"
	check_grep "$mode: where the address lies" "$T/$mode.err" "$where"
	check_eq "$mode: the access at its line" "$(first_rs "$T/$mode.err" '^  the (read|write|free):')" "$SRC:$(L "$at")"
	check_eq "$mode: the allocation at its line" "$(first_rs "$T/$mode.err" '^  the block was allocated')" \
		"$SRC:$(L "$alloc")"
	if [ "$freed" = - ]; then
		check_no_grep "$mode: no free stack for a live block" "$T/$mode.err" "and freed by thread"
	else
		check_eq "$mode: the free at its line" "$(first_rs "$T/$mode.err" '^  and freed by thread')" "$SRC:$(L "$freed")"
	fi
	check_grep "$mode: the summary" "$T/$mode.err" "^kiln memcheck: 1 error \\(1 "
	if [ $have_valgrind = 1 ]; then
		valgrind -q --log-file="$T/$mode.vg" "$BIN" "$mode" >/dev/null 2>&1
		check_grep "$mode: valgrind finds it too ($vg)" "$T/$mode.vg" "$vg"
		check_eq "$mode: valgrind's first .rs frame is ours" \
			"$(grep -m1 -o "$F:[0-9]*" "$T/$mode.vg")" "$F:$(L "$vgat")"
	fi
done <<<"$TABLE"

"$BIN" clean >"$T/clean.bare" 2>&1
krun clean memcheck -- "$BIN" clean
check_eq "clean: exit status" "$RC" 0
check_eq "clean: stdout as without kiln" "$(cat "$T/clean.out")" "$(cat "$T/clean.bare")"
check_eq "clean: nothing on stderr" "$(cat "$T/clean.err")" ""

finish
