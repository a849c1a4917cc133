#!/bin/bash
# test_memcheck_report.sh - what kiln memcheck reports besides the text
# (issue 11): --suppressions (kiln's kinds and valgrind's, wildcards, "...",
# suppressed counts in the summary, a bad file refused with its line),
# --gen-suppressions (what it prints suppresses the same error), and
# --json (errors with kind, address, where, access, stacks as frames;
# loss records; the summary), checked against the text report.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
cd "$T" || die "no $T" # kiln memcheck writes memcheck.kiln here
LSRC=$KILN_SRC/tests/fixtures/memcheck_leaks.c
BSRC=$KILN_SRC/tests/fixtures/memcheck_bugs.c
LEAKS=$T/memcheck_leaks
BUGS=$T/memcheck_bugs
cc -O0 -g -o "$LEAKS" "$LSRC" || die "cannot build $LSRC"
cc -O0 -g -pthread -o "$BUGS" "$BSRC" || die "cannot build $BSRC"
ulimit -c 0

# --- suppressions ---
cat >"$T/leak.supp" <<'EOF'
# the leak of lose(), by function with a wildcard, then anything
{
   lose-leak
   kiln:leak
   match-leak-kinds: definite
   fun:lo?e
   ...
   fun:main
}
EOF
krun two memcheck --errors-for-leak-kinds definite -- "$LEAKS" two
check_eq "two leaks without suppressions: the error status" "$RC" 99
check_grep "two: lose's leak is shown" "$T/two.err" "in lose .*memcheck_leaks.c"
krun sup memcheck --errors-for-leak-kinds definite --suppressions "$T/leak.supp" -- "$LEAKS" two
check_eq "one suppressed: still an error (lose_other's)" "$RC" 99
check_no_grep "the suppressed loss record is not shown" "$T/sup.err" "in lose .*memcheck_leaks.c"
check_grep "the other one is" "$T/sup.err" "in lose_other .*memcheck_leaks.c"
check_grep "the summary counts it as suppressed" "$T/sup.err" "^kiln memcheck: 1 error (.*); 1 suppressed"
check_grep "the leak summary too" "$T/sup.err" "^ *suppressed: 40 bytes in 1 block\$"

# valgrind's own format, as --gen-suppressions=all prints it (fun:malloc first)
cat >"$T/vg.supp" <<'EOF'
{
   <insert_a_suppression_name_here>
   Memcheck:Leak
   match-leak-kinds: definite
   fun:malloc
   fun:lose_other
   fun:main
}
EOF
krun both memcheck --errors-for-leak-kinds definite --suppressions "$T/leak.supp" --suppressions "$T/vg.supp" \
	-- "$LEAKS" two
check_eq "both suppressed (the second file in valgrind's format): status 0" "$RC" 0
check_eq "and nothing on stderr" "$(cat "$T/both.err")" ""

# an error suppressed: the program still stops where the agent stopped it,
# but kiln reports nothing and passes its status on
cat >"$T/uaf.supp" <<'EOF'
{
   uaf in uaf_read
   kiln:use-after-free
   fun:uaf_read
}
EOF
krun uaf memcheck --suppressions "$T/uaf.supp" -- "$BUGS" uaf_read
check_no_grep "a suppressed error is not shown" "$T/uaf.err" "^kiln memcheck: use after free"

# --gen-suppressions: each error's and loss record's suppression; fed back, it suppresses
krun gen memcheck --keep-going --gen-suppressions -- "$BUGS" two_reads
check_eq "--gen-suppressions: two suppressions" "$(grep -c '^   kiln:heap-overflow$' "$T/gen.err")" 2
sed -n '/^{$/,/^}$/p' "$T/gen.err" >"$T/gen.supp"
krun regen memcheck --keep-going --suppressions "$T/gen.supp" -- "$BUGS" two_reads
check_no_grep "the generated suppressions suppress both" "$T/regen.err" "^kiln memcheck: heap overflow"
check_eq "and the status is the program's" "$RC" 0
krun genl memcheck --gen-suppressions -- "$LEAKS" two
check_grep "--gen-suppressions for a leak" "$T/genl.err" "^   match-leak-kinds: definite\$"

# bad files: the line at fault
printf '{\n   name\n   kiln:leak\n   fun:main\n   bogus line\n}\n' >"$T/bad.supp"
krun bad memcheck --suppressions "$T/bad.supp" -- "$LEAKS" none
check_eq "a bad suppression file is a usage error" "$RC" 2
check_grep "it names the file and line" "$T/bad.err" "^kiln: '$T/bad.supp' line 5: a frame line is"
check_eq "the program did not run" "$(cat "$T/bad.out")" ""
printf '{\n   name\n   Memcheck:Nonsense\n}\n' >"$T/bad2.supp"
krun bad2 memcheck --suppressions "$T/bad2.supp" -- "$LEAKS" none
check_grep "an unknown kind: line 3" "$T/bad2.err" "line 3: expected the kind"
krun nofile memcheck --suppressions "$T/no-such.supp" -- "$LEAKS" none
check_eq "a missing file: usage error" "$RC" 2
check_grep "it says so" "$T/nofile.err" "cannot read suppressions '$T/no-such.supp'"

# --- --json ---
mj() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
L() { line_of "$BSRC" "$1"; }
krun j memcheck --json "$T/uaf.json" -- "$BUGS" uaf_read
check_eq "json: one error" "$(mj "$T/uaf.json" 'len(d["errors"])')" 1
check_eq "json: its kind" "$(mj "$T/uaf.json" 'd["errors"][0]["kind"]')" use-after-free
check_eq "json: read" "$(mj "$T/uaf.json" 'd["errors"][0]["access"]')" read
check_eq "json: where" "$(mj "$T/uaf.json" 'd["errors"][0]["where"].split(" at ")[0]')" \
	"8 bytes inside a freed 32-byte block"
addr=$(sed -n 's/^kiln memcheck: use after free: read at \(0x[0-9a-f]*\) .*/\1/p' "$T/j.err")
check_eq "json: the address is the text's" "$(mj "$T/uaf.json" 'd["errors"][0]["address"]')" "$addr"
check_eq "json: the block's size" "$(mj "$T/uaf.json" 'd["errors"][0]["block"]["size"]')" 32
check_eq "json: the access frame" \
	"$(mj "$T/uaf.json" '(lambda f: "%s %s:%d" % (f["function"], f["file"].split("/")[-1], f["line"]))(d["errors"][0]["stacks"]["access"][0])')" \
	"uaf_read memcheck_bugs.c:$(L UAF_READ)"
check_eq "json: the alloc frame" "$(mj "$T/uaf.json" 'd["errors"][0]["stacks"]["alloc"][0]["line"]')" "$(L ALLOC)"
check_eq "json: the free frame" "$(mj "$T/uaf.json" 'd["errors"][0]["stacks"]["free"][0]["line"]')" "$(L FREE)"
check_eq "json: stopped" "$(mj "$T/uaf.json" 'd["errors"][0]["stopped"]')" True
check_eq "json: summary" "$(mj "$T/uaf.json" 'd["summary"]["errors"], d["summary"]["by_kind"]["use-after-free"]')" "(1, 1)"
check_grep "json: the text report is still on stderr" "$T/j.err" "^kiln memcheck: 1 error"

krun jl memcheck --json - -- "$LEAKS" all
sed -n '/^{"version"/,$p' "$T/jl.out" >"$T/leaks.json"
check_eq "json to stdout: the leak totals" \
	"$(mj "$T/leaks.json" '[(k, v["bytes"], v["blocks"]) for k, v in d["summary"]["leaks"].items()]')" \
	"[('definite', 72, 2), ('indirect', 32, 1), ('possible', 64, 1), ('reachable', 100, 1)]"
check_eq "json: every loss record, with its stack" \
	"$(mj "$T/leaks.json" 'sorted((l["class"], l["bytes"], l["stack"][0]["function"]) for l in d["leaks"])')" \
	"[('definite', 32, 'chain'), ('definite', 40, 'lose'), ('indirect', 32, 'chain'), ('possible', 64, 'keep'), ('reachable', 100, 'keep')]"
krun jn memcheck --json "$T/none.json" -- "$LEAKS" none
check_eq "json of a clean run: no errors" "$(mj "$T/none.json" 'len(d["errors"]), d["summary"]["errors"], d["summary"]["leaks_checked"]')" "(0, 0, True)"
check_eq "and nothing on stderr" "$(cat "$T/jn.err")" ""

# --- the profile: kiln report shows again what kiln memcheck printed ---
krun po memcheck -o "$T/uaf.kiln" --json "$T/po.json" -- "$BUGS" uaf_read
krun rep report "$T/uaf.kiln"
check_eq "report: status 0" "$RC" 0
check_eq "report of the profile: memcheck's text, byte for byte" "$(cat "$T/rep.out")" "$(cat "$T/po.err")"
krun repj report --json "$T/uaf.kiln"
check_eq "report --json: memcheck's JSON" "$(python3 -m json.tool "$T/repj.out")" "$(python3 -m json.tool "$T/po.json")"
krun pl memcheck -o "$T/leaks.kiln" --show-leak-kinds all --errors-for-leak-kinds definite -- "$LEAKS" all
krun repl report "$T/leaks.kiln"
check_eq "report of a leak profile: the same loss records and summary" "$(cat "$T/repl.out")" "$(cat "$T/pl.err")"
krun tab report --value leaked_space "$T/leaks.kiln"
check_grep "the profile's tables: leaked bytes by site" "$T/tab.out" "^ *[0-9.]+% .* keep "
krun tabe report --value errors "$T/uaf.kiln"
check_grep "the profile's tables: errors by access site" "$T/tabe.out" "^ *100.0% .* uaf_read "
krun none memcheck -o "$T/none.kiln" -- "$LEAKS" none
krun repn report "$T/none.kiln"
check_grep "report of a clean run" "$T/repn.out" "^kiln memcheck: no errors and no leaks to show\$"
# by default memcheck.kiln, the previous one kept as memcheck.kiln.old
rm -f memcheck.kiln memcheck.kiln.old
krun d1 memcheck -- "$LEAKS" none
krun d2 memcheck -- "$LEAKS" none
check_eq "the default profile and the previous one" "$(ls memcheck.kiln memcheck.kiln.old 2>&1 | tr '\n' ' ')" \
	"memcheck.kiln memcheck.kiln.old "
echo "not a profile" >"$T/notes.txt"
krun np memcheck -o "$T/notes.txt" -- "$LEAKS" none
check_eq "a file that is no profile is not replaced: status 1" "$RC" 1
check_grep "it says so" "$T/np.err" "exists and is not a kiln profile"
check_eq "and it is intact" "$(cat "$T/notes.txt")" "not a profile"
check_eq "the program did not run" "$(cat "$T/np.out")" ""
# a profile cut short: whatever is left reads, or kiln says what is wrong
size=$(stat -c %s "$T/leaks.kiln")
for cut in 40 $((size / 2)) $((size - 8)); do
	head -c "$cut" "$T/leaks.kiln" >"$T/cut.kiln"
	krun cut report "$T/cut.kiln"
	check_no_crash cut
done

# every option in --help and in the man page
krun help memcheck --help
for o in --show-leak-kinds --errors-for-leak-kinds --suppressions --gen-suppressions --json --output --force; do
	check_grep "--help names $o" "$T/help.out" "$o"
	check_grep "kiln-memcheck.1 names $o" "$KILN_SRC/docs/man/kiln-memcheck.1" "$(sed 's/-/\\\\-/g' <<<"$o")"
done

finish
