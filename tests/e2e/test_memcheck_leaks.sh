#!/bin/bash
# test_memcheck_leaks.sh - kiln memcheck's leaks at exit (issue 11): every
# class of tests/fixtures/memcheck_leaks.c is found with its allocation
# line, the leak summary equals valgrind's (checked beside ours where
# valgrind is installed, its figures are also written below), leaks change
# the exit status only with --errors-for-leak-kinds, --show-leak-kinds
# picks the loss records shown; a program that frees everything gets no
# report at all.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
cd "$T" || die "no $T" # kiln memcheck writes memcheck.kiln here
SRC=$KILN_SRC/tests/fixtures/memcheck_leaks.c
BIN=$T/memcheck_leaks
cc -O0 -g -o "$BIN" "$SRC" || die "cannot build $SRC"
L() { line_of "$SRC" "$1"; }
F=memcheck_leaks.c

# valgrind 3.19 --leak-check=full on "all": class | bytes blocks
VALGRIND="definitely lost|72 2
indirectly lost|32 1
possibly lost|64 1
still reachable|100 1"

krun all memcheck -- "$BIN" all
check_eq "leaks alone keep the program's exit status" "$RC" 0
check_grep "the program's output is its own" "$T/all.out" "^left behind\$"
while IFS='|' read -r cls want; do
	got=$(sed -n "s/^ *$cls: \([0-9]*\) bytes\? in \([0-9]*\) blocks\?\$/\1 \2/p" "$T/all.err")
	check_eq "leak summary: $cls (valgrind: $want)" "$got" "$want"
done <<<"$VALGRIND"
check_grep "the definite leak at its malloc" "$T/all.err" "^    #0 0x[0-9a-f]* in lose .*$F:$(L DEFINITE)\$"
check_grep "the lost list's head at its malloc" "$T/all.err" "^    #0 0x[0-9a-f]* in chain .*$F:$(L HEAD)\$"
check_grep "the possibly lost block at its malloc" "$T/all.err" "^    #0 0x[0-9a-f]* in keep .*$F:$(L POSSIBLE)\$"
check_grep "a loss record's headline" "$T/all.err" \
	"^kiln memcheck: 40 bytes in 1 block is definitely lost in loss record [0-9] of 3 "
check_no_grep "still reachable is not shown by default" "$T/all.err" "is still reachable in loss record"
check_no_grep "nor indirectly lost" "$T/all.err" "is indirectly lost in loss record"
check_grep "the summary line" "$T/all.err" "^kiln memcheck: 0 errors in 1 process; "

if command -v valgrind >/dev/null 2>&1; then
	valgrind -q --leak-check=full --show-leak-kinds=all --log-file="$T/all.vg" "$BIN" all >/dev/null 2>&1
	valgrind --leak-check=full --log-file="$T/all.vgs" "$BIN" all >/dev/null 2>&1
	while IFS='|' read -r cls want; do
		check_eq "valgrind's $cls is the table's" "$(valgrind_leak "$T/all.vgs" "$cls")" "$want"
	done <<<"$VALGRIND"
	for m in DEFINITE HEAD POSSIBLE REACHABLE TAIL; do
		check_grep "valgrind's stacks hold line $m too" "$T/all.vg" "$F:$(L $m))"
	done
else
	say "valgrind is not installed: its verdicts (the table) are not checked"
fi

# --show-leak-kinds all: every class has its loss record
krun shown memcheck --show-leak-kinds all -- "$BIN" all
check_grep "--show-leak-kinds all: the reachable block" "$T/shown.err" "is still reachable in loss record"
check_grep "at its line" "$T/shown.err" "in keep .*$F:$(L REACHABLE)\$"
check_grep "--show-leak-kinds all: the indirect block" "$T/shown.err" "is indirectly lost in loss record"
check_grep "at its line" "$T/shown.err" "in chain .*$F:$(L TAIL)\$"

# --errors-for-leak-kinds: leaks of those kinds are errors for the status
krun errs memcheck --errors-for-leak-kinds definite -- "$BIN" all
check_eq "--errors-for-leak-kinds definite: the error status" "$RC" 99
check_grep "the summary counts the definite blocks" "$T/errs.err" "^kiln memcheck: 2 errors \\(2 leaked blocks\\)"
krun errs7 memcheck --errors-for-leak-kinds all --error-exitcode 7 -- "$BIN" all
check_eq "--errors-for-leak-kinds all with --error-exitcode 7" "$RC" 7
krun poss memcheck --errors-for-leak-kinds possible --show-leak-kinds none -- "$BIN" all
check_eq "--errors-for-leak-kinds possible" "$RC" 99
check_no_grep "--show-leak-kinds none: no loss record" "$T/poss.err" "in loss record"
krun badk memcheck --errors-for-leak-kinds lost -- "$BIN" all
check_eq "an unknown leak kind is a usage error" "$RC" 2
check_grep "that names the kinds" "$T/badk.err" "takes definite, indirect, possible, reachable"

# nothing left at exit: no report
krun none memcheck -- "$BIN" none
check_eq "none: status" "$RC" 0
check_eq "none: nothing on stderr" "$(cat "$T/none.err")" ""
krun none2 memcheck --errors-for-leak-kinds all -- "$BIN" none
check_eq "none with --errors-for-leak-kinds all: status 0" "$RC" 0

finish
