#!/usr/bin/env bash
# test_input_limits.sh - stack input with bounded memory and exact numbers
# (issue 22, items 5, 6, 8, 9, 10): endless and giant binary inputs are
# rejected from their first bytes under a memory limit, a perf.data file
# says how to bring it along, a 1 MB frame name on the first line is read,
# long folded and perf script streams through a pipe read in flat memory,
# folded counts are exact or an error naming the line, malformed lines are
# counted, and a cut-short .kiln is said so by flame, --folded and collapse.
# No fixture programs: everything is generated here.
source "$(dirname "$0")/lib.sh"
cd "$T" || die "no scratch dir"

# Under ASan the binary reserves terabytes of address space, so a limit on
# it (prlimit --as) cannot work: bound peak RSS instead.
ASAN=0
grep -q __asan_init "$KILN" && ASAN=1
LIMIT=$((512 << 20))

# bounded LABEL ARGS...: kiln ARGS fails with status 1 at once, in bounded
# memory. The timeout only stops a regression from hanging the suite.
bounded() {
	local label=$1
	shift
	if [ "$ASAN" = 0 ]; then
		timeout 120 prlimit --as=$LIMIT "$KILN" "$@" >"$T/b.out" 2>"$T/b.err"
		check_eq "$label: status under a 512 MB address space limit" "$?" 1
	else
		timeout 120 /usr/bin/time -f %M -o "$T/b.rss" "$KILN" "$@" >"$T/b.out" 2>"$T/b.err"
		check_eq "$label: status" "$?" 1
		check_le "$label: peak RSS KB (ASan build; prlimit skipped under ASan)" "$(tail -1 "$T/b.rss")" 100000
	fi
	check_no_crash_file "$label" "$T/b.err"
}
check_no_crash_file() {
	if grep -Eq "AddressSanitizer|runtime error|Segmentation|out of memory|Aborted" "$2"; then
		fail "$1: crashed: $(head -3 "$2")"
	fi
}

# --- endless and giant binary input ------------------------------------------
for cmd in report flame collapse; do
	for dev in /dev/zero /dev/urandom; do
		out=()
		[ "$cmd" = flame ] && out=(-o "$T/x.svg")
		bounded "$cmd $dev" "$cmd" "$dev" "${out[@]}"
		if [ "$cmd" = report ]; then
			check_grep "$cmd $dev: message" "$T/b.err" "cannot read '$dev': not a kiln profile"
		else
			check_grep "$cmd $dev: message" "$T/b.err" "'$dev' is not a .kiln profile, folded stacks or perf script output"
		fi
	done
done

truncate -s 20G sparse.kiln || die "cannot make a sparse file"
for cmd in report flame collapse; do
	bounded "$cmd 20 GB sparse file" "$cmd" sparse.kiln
done
check_grep "collapse of a sparse file: message" "$T/b.err" "not a .kiln profile, folded stacks or perf script output"
rm -f sparse.kiln

{ printf 'PERFILE2'; head -c 200 /dev/zero; } >perf.data
truncate -s 3G perf.data
for cmd in report flame collapse; do
	bounded "$cmd 3 GB perf.data" "$cmd" perf.data
	check_grep "$cmd perf.data: says what is corrupt" "$T/b.err" \
		"cannot read 'perf.data': corrupt perf.data file: bad header size 0 \\(at byte 8\\)"
done
rm -f perf.data

# --- a 1 MB frame name on the first line ---------------------------------------
python3 -c "import sys; sys.stdout.write('f' * (1 << 20) + ';leaf 3\nmain;a 2\n')" >long.folded
krun long flame --folded long.folded
check_eq "1 MB first-line frame: status" "$RC" 0
check_eq "1 MB first-line frame: its count" "$(awk 'length($0) == 1048583 && /^fff.*;leaf 3$/' "$T/long.out" | wc -l)" 1
krun longsvg flame long.folded -o long.svg
check_eq "1 MB first-line frame: SVG status" "$RC" 0
krun longcap flame --folded long.folded --max-line-bytes 64K
check_eq "line over --max-line-bytes: status" "$RC" 1
check_grep "line over --max-line-bytes: message names the line and the flag" "$T/longcap.err" \
	"cannot read 'long.folded:1': the line is longer than 65536 bytes \(--max-line-bytes\)"
krun inputcap collapse long.folded --max-input-bytes 1M
check_eq "input over --max-input-bytes: status" "$RC" 1
check_grep "input over --max-input-bytes: message names the flag" "$T/inputcap.err" "more than 1048576 bytes \(--max-input-bytes\)"
krun badcap collapse long.folded --max-line-bytes lots
check_eq "bad --max-line-bytes: usage status" "$RC" 2

# --- long streams through a pipe, in flat memory --------------------------------
# 3 million folded lines (66 MB) and 1.5 million perf script events (100 MB):
# memory must not grow with the input (it was slurped whole before).
MAXRSS=60000
[ "$ASAN" = 1 ] && MAXRSS=120000
yes 'main;run;std::io::Write::write_all;leaf_a 1' | head -n 3000000 |
	/usr/bin/time -f %M -o folded.rss "$KILN" flame --folded - >stream.folded 2>stream.err
check_eq "3M folded lines from a pipe: exact sum" "$(cat stream.folded)" "main;run;std::io::Write::write_all;leaf_a 3000000"
check_le "3M folded lines from a pipe: peak RSS KB" "$(tail -1 folded.rss)" "$MAXRSS"
yes $'prog 4242/4242 [000] 1.000: 1 cpu-clock:\n\t    1234 leaf+0x1 (/bin/prog)\n\t    5678 main+0x2 (/bin/prog)\n' |
	head -n 6000000 | /usr/bin/time -f %M -o script.rss "$KILN" collapse >script.folded 2>script.err
check_eq "1.5M perf script events from a pipe: every event" "$(cat script.folded)" "prog;main;leaf 1500000"
check_le "1.5M perf script events from a pipe: peak RSS KB" "$(tail -1 script.rss)" "$MAXRSS"

# --- exact counts (issue 22, item 8, verbatim) ----------------------------------
printf 'main;a 4611686018427387903\nmain;b 5\n' >big.folded
krun big flame --folded big.folded
check_eq "2^62-1 plus 5: both counts kept" "$(tr '\n' '|' <"$T/big.out")" "main;a 4611686018427387903|main;b 5|"
printf 'main;a 9223372036854775807\nmain;b 9223372036854775807\n' >two.folded
krun two flame --folded two.folded
check_eq "two lines of 2^63-1: status" "$RC" 1
check_grep "two lines of 2^63-1: error names the line" "$T/two.err" "cannot read 'two.folded:2': .*add up to more than 9223372036854775807"
check_eq "two lines of 2^63-1: no output" "$(wc -c <"$T/two.out")" 0
printf 'main;foo 1\nmain;baz 10\nmain;bar 99999999999999999999\nmain;baz 5\n' >huge.folded
for cmd in "flame --folded" collapse; do
	# shellcheck disable=SC2086
	krun huge $cmd huge.folded
	check_eq "$cmd 99999999999999999999: status" "$RC" 1
	check_grep "$cmd 99999999999999999999: error names file:line" "$T/huge.err" \
		"cannot read 'huge.folded:3': count 99999999999999999999 does not fit in 64 bits"
done

# --- malformed lines are counted, the first shown --------------------------------
printf 'main;a 1\nthis is not a stack\nmain;b 2\n\nalso bad\n' >mixed.folded
krun mixed flame --folded mixed.folded
check_eq "malformed lines: status" "$RC" 0
check_grep "malformed lines: count and the first" "$T/mixed.err" \
	"warning: 'mixed.folded': skipped 2 lines that are not 'STACK COUNT'; the first, line 2: 'this is not a stack'"
check_eq "malformed lines: the good ones kept" "$(tr '\n' '|' <"$T/mixed.out")" "main;a 1|main;b 2|"

# --- a cut-short .kiln in flame, --folded and collapse ----------------------------
whole=$KILN_SRC/tests/fuzz/corpus/fuzz_kiln_file/finished.kiln
head -c $(($(stat -c %s "$whole") - 28)) "$whole" >cut.kiln # without its end chunk
for cmd in "flame -o cut.svg" "flame --folded" collapse; do
	# shellcheck disable=SC2086
	krun cut $cmd cut.kiln
	check_eq "$cmd cut.kiln: status" "$RC" 0
	check_grep "$cmd cut.kiln: warns" "$T/cut.err" "warning: file was cut short; .* the 5 samples before the cut"
done
check_grep "cut-short SVG: subtitle marked" cut.svg "profile cut short: 5 samples before the cut"
krun cutsub flame cut.kiln -o cut2.svg --subtitle "nightly run"
check_grep "cut-short SVG: --subtitle kept and marked" cut2.svg "nightly run; profile cut short: 5 samples before the cut"
krun whole flame "$whole" -o whole.svg
check_eq "whole .kiln: no warning" "$(grep -c warning "$T/whole.err")" 0
if grep -q "cut short" whole.svg; then fail "whole .kiln: subtitle marked"; else ok "whole .kiln: subtitle not marked"; fi
# a .kiln through stdin reads the same
"$KILN" collapse - <cut.kiln >stdin.folded 2>stdin.err
check_grep "collapse of a cut .kiln from stdin: warns" stdin.err "file was cut short"
finish
