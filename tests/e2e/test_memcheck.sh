#!/bin/bash
# test_memcheck.sh - kiln memcheck (issue 11, first slice): each bug of
# tests/fixtures/memcheck_bugs.c is caught with the right kind, the right
# place relative to the block, and stacks at the right lines (the access or
# bad free, the allocation, the free); the program stops with the error
# exit status, or goes on with --keep-going after a read; clean programs
# (one thread and four) run unchanged with no report; the program's own
# SIGSEGV handler still gets its own faults. Where valgrind is installed,
# its verdict on each bug is checked beside ours (the table below).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
cd "$T" || die "no $T" # kiln memcheck writes memcheck.kiln here
SRC=$KILN_SRC/tests/fixtures/memcheck_bugs.c
BIN=$T/memcheck_bugs
cc -O0 -g -pthread -o "$BIN" "$SRC" || die "cannot build $SRC"
ulimit -c 0
L() { line_of "$SRC" "$1"; }
F=memcheck_bugs.c

# mode | our headline | where the address lies | the access or free line |
# whether the block's free stack is shown | valgrind's headline
TABLE="overflow1|heap overflow found at free: a write at|0 bytes past the end of a 20-byte block|FREE|no|Invalid write of size 1
overflow_page|heap overflow: read at|100 bytes past the end of a 4096-byte block|PAGE_READ|no|Invalid read of size 1
uaf_read|use after free: read at|8 bytes inside a freed 32-byte block|UAF_READ|yes|Invalid read of size 1
uaf_write|use after free: write at|4 bytes inside a freed 32-byte block|UAF_WRITE|yes|Invalid write of size 1
double_free|double free: free(0x|is a 48-byte block freed before|DOUBLE_FREE|yes|Invalid free\(\)
invalid_free|invalid free: free(0x|is in a module's static data: malloc never returned it|INVALID_FREE|-|Invalid free\(\)
middle_free|invalid free: free(0x|16 bytes inside a 64-byte block|MIDDLE_FREE|no|Invalid free\(\)
realloc_freed|realloc of freed memory: realloc(0x|is a 24-byte block freed before|REALLOC_FREED|yes|Invalid free\(\) / delete / delete\[\] / realloc\(\)"

have_valgrind=0
command -v valgrind >/dev/null 2>&1 && have_valgrind=1
[ $have_valgrind = 1 ] || say "valgrind is not installed: its verdicts are not checked"

while IFS='|' read -r mode head where at freed vg; do
	krun "$mode" memcheck -- "$BIN" "$mode"
	check_eq "$mode: the program is stopped with the error status" "$RC" 99
	check_no_grep "$mode: it did not go on" "$T/$mode.out" "survived"
	check_grep "$mode: the kind" "$T/$mode.err" "^kiln memcheck: ${head//(/\\(}"
	check_grep "$mode: where the address lies" "$T/$mode.err" "$where"
	# the first frame of the access (or bad free) is the marked line
	check_eq "$mode: the access at its line" \
		"$(grep -A1 -E '^  the (read|write|free|realloc|free that found it):' "$T/$mode.err" | sed -n 's/.* \([^ ]*:[0-9][0-9]*\)$/\1/p' | head -1)" \
		"$SRC:$(L "$at")"
	if [ "$freed" != "-" ]; then
		check_grep "$mode: the allocation stack starts at make's malloc" "$T/$mode.err" \
			"^    #0 0x[0-9a-f]* in make .*$F:$(L ALLOC)\$"
	fi
	if [ "$freed" = yes ]; then
		check_grep "$mode: the free stack starts at drop's free" "$T/$mode.err" \
			"^    #0 0x[0-9a-f]* in drop .*$F:$(L FREE)\$"
	elif [ "$freed" = no ]; then
		check_no_grep "$mode: no free stack for a live block" "$T/$mode.err" "and freed by thread"
	fi
	check_grep "$mode: the summary" "$T/$mode.err" "^kiln memcheck: 1 error \\(1 "
	if [ $have_valgrind = 1 ]; then
		valgrind -q --log-file="$T/$mode.vg" "$BIN" "$mode" >/dev/null 2>&1
		check_grep "$mode: valgrind finds it too ($vg)" "$T/$mode.vg" "$vg"
	fi
done <<<"$TABLE"

# a write fault stops the program even with --keep-going, and says so
krun uw_kg memcheck --keep-going -- "$BIN" uaf_write
check_eq "a write fault stops under --keep-going" "$RC" 99
check_grep "and the report says why" "$T/uw_kg.err" "a write fault always stops it"

# --keep-going: both reads past an end are reported, the program goes on
krun two memcheck --keep-going -- "$BIN" two_reads
check_eq "--keep-going: the error status at the end" "$RC" 99
check_grep "--keep-going: the program went on" "$T/two.out" "^survived two_reads\$"
check_eq "--keep-going: two errors" "$(grep -c '^kiln memcheck: heap overflow: read at' "$T/two.err")" 2
check_grep "--keep-going: the first at its line" "$T/two.err" "in two_reads .*$F:$(L READ_ONE)\$"
check_grep "--keep-going: the second at its line" "$T/two.err" "in two_reads .*$F:$(L READ_TWO)\$"
check_grep "--keep-going: the summary counts both" "$T/two.err" "^kiln memcheck: 2 errors \\(2 heap overflows\\)"

# --error-exitcode N
krun code memcheck --error-exitcode 7 -- "$BIN" uaf_read
check_eq "--error-exitcode 7" "$RC" 7
krun badcode memcheck --error-exitcode 300 -- "$BIN" clean
check_eq "--error-exitcode 300 is a usage error" "$RC" 2
check_grep "and says the range" "$T/badcode.err" "from 0 to 255"

# the quarantine: a block of the same size allocated after the free gets
# the freed block's pages once they left it (--quarantine 0), so the use
# after free reads that block and goes unseen; by default it is caught
krun reused memcheck -- "$BIN" uaf_reused
check_eq "a use after free past a new block of the same size is caught" "$RC" 99
check_grep "as a use after free" "$T/reused.err" "^kiln memcheck: use after free: read at"
krun noq memcheck --quarantine 0 -- "$BIN" uaf_reused
check_eq "--quarantine 0: the freed pages were reused, nothing is seen" "$RC" 0
check_grep "--quarantine 0: the program went on" "$T/noq.out" "^survived uaf_reused\$"
# large blocks' pages are reused too (else a program that allocates big
# buffers in a loop would run out of the agent's address space)
krun big memcheck --quarantine 0 -- "$BIN" reuse_big
check_grep "--quarantine 0: a 1 MiB block's pages serve the next one" "$T/big.out" "^reused\$"
krun bigq memcheck -- "$BIN" reuse_big
check_grep "by default they wait in the quarantine" "$T/bigq.out" "^not reused\$"

# clean programs: output, errors and status unchanged, no report
"$BIN" clean >"$T/clean.bare" 2>&1
krun clean memcheck -- "$BIN" clean
check_eq "clean: exit status" "$RC" 0
check_eq "clean: stdout as without kiln" "$(cat "$T/clean.out")" "$(cat "$T/clean.bare")"
check_eq "clean: nothing on stderr" "$(cat "$T/clean.err")" ""
"$BIN" threads >"$T/threads.bare" 2>/dev/null
krun threads memcheck -- "$BIN" threads
check_eq "threads: its own exit status" "$RC" 3
check_eq "threads: stdout as without kiln" "$(cat "$T/threads.out")" "$(cat "$T/threads.bare")"
check_eq "threads: stderr is its own" "$(cat "$T/threads.err")" "done"

# the program's own SIGSEGV handler gets a fault that is not a heap error
krun segv memcheck -- "$BIN" own_segv
check_eq "own SIGSEGV handler: its exit status" "$RC" 42
check_grep "own SIGSEGV handler: it ran" "$T/segv.out" "^own handler\$"
check_no_grep "own SIGSEGV handler: no report" "$T/segv.err" "kiln memcheck"

# a fork child is checked too; kiln's status says errors were found even
# though the parent exits 0
krun fork memcheck -- "$BIN" fork_uaf
check_grep "fork: the child was stopped with the error status" "$T/fork.out" "^child status 99\$"
check_grep "fork: the parent went on" "$T/fork.out" "^survived fork_uaf\$"
check_eq "fork: kiln's status" "$RC" 99
check_grep "fork: the child's read at its line" "$T/fork.err" "in fork_uaf .*$F:$(L CHILD_READ)\$"
check_grep "fork: two processes" "$T/fork.err" "^kiln memcheck: 1 error \\(1 use after free\\) in 2 processes"

# a static binary: the agent cannot enter it, and kiln says so
if echo 'int main(void) { return 5; }' | cc -static -x c -o "$T/static" - 2>/dev/null; then
	krun static memcheck -- "$T/static"
	check_eq "static: its own status" "$RC" 5
	check_grep "static: kiln says nothing was checked" "$T/static.err" "the agent did not start in .*nothing was checked"
else
	say "no static libc: the static binary case is not checked"
fi

# usage errors and help
krun badopt memcheck --no-such-option -- "$BIN" clean
check_eq "an unknown option: usage error" "$RC" 2
check_grep "it names it" "$T/badopt.err" "^kiln: unknown option '--no-such-option'; see 'kiln memcheck --help'\$"
krun help memcheck --help
check_eq "--help: status" "$RC" 0
for o in --keep-going --error-exitcode --quarantine; do
	check_grep "--help names $o" "$T/help.out" "$o"
	check_grep "kiln-memcheck.1 names $o" "$KILN_SRC/docs/man/kiln-memcheck.1" "$(sed 's/-/\\\\-/g' <<<"$o")"
done

# a command that does not exist
krun none memcheck -- "$T/no-such-program"
check_eq "no such command: 127" "$RC" 127

finish
