#!/bin/bash
# test_heap_c.sh - kiln heap on a C program with known leaks, temporaries,
# realloc chains, aligned allocations and a known peak
# (tests/fixtures/heap_leaks.c): exact numbers, file:line of each leak, the
# same "definitely lost" as valgrind, output and exit status unchanged.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
SRC=$KILN_SRC/tests/fixtures/heap_leaks.c
cc -O2 -g -o "$T/heap_leaks" "$SRC" || die "cannot build $SRC"

"$T/heap_leaks" >"$T/bare.out" 2>"$T/bare.err"
BARE_RC=$?
krun heap heap --top 20 -o "$T/heap.kiln" --json "$T/heap.json" -- "$T/heap_leaks"
check_no_crash heap
check_eq "exit status unchanged" "$RC" "$BARE_RC"
check_eq "exit status is the fixture's" "$RC" 7
if cmp -s "$T/heap.out" "$T/bare.out"; then ok "stdout unchanged"; else fail "stdout differs from a bare run"; fi
[ -s "$T/heap.json" ] || die "no JSON summary written"
J=$T/heap.json

check_eq "allocations" "$(hj "$J" 'd["allocations"]')" 1021
check_eq "frees" "$(hj "$J" 'd["frees"]')" 1017
check_eq "reallocs" "$(hj "$J" 'd["reallocs"]')" 10
# TEMPS malloc/free pairs; the realloc chain: its first block and each grown
# block are freed (by the next realloc or free) right after being allocated.
check_eq "temporary allocations" "$(hj "$J" 'd["temporary"]')" $((1000 + 11))
check_eq "temporaries at the loop's line" \
	"$(hj "$J" "site('heap_leaks.c:$(line_of "$SRC" TEMP_SITE)', 'by_temporary')['temporary']")" 1000
# bytes: leaks 32+40+48+64, temps 1000*16, realloc 8 + sum(8<<i, i=1..10), aligned, peak
check_eq "bytes allocated" "$(hj "$J" 'd["allocated_bytes"]')" \
	$((184 + 16000 + 8 + 16368 + 1048576 + 8192 + 4096 + 8192 + 3145728))
check_eq "peak heap (1 MiB + 2 MiB + the leaks)" "$(hj "$J" 'd["peak_bytes"]')" $((3145728 + 184))
# the heap-over-time series is kept in the .kiln file, and it peaks at the peak
"$KILN" report --json --value alloc_space "$T/heap.kiln" >"$T/report.json" 2>/dev/null
check_eq "heap series stored, its maximum is the peak" \
	"$(python3 -c 'import json,sys; s=[x for x in json.load(open(sys.argv[1]))["series"] if x["name"] == "heap"]; print(s[0]["max"] if s and s[0]["points"] > 1 else "none")' "$T/report.json")" \
	$((3145728 + 184))
check_eq "peak site (2 MiB)" "$(hj "$J" "site('heap_leaks.c:$(line_of "$SRC" PEAK_TWO)', 'by_peak')['peak_bytes']")" 2097152
check_eq "aligned: posix_memalign site" \
	"$(hj "$J" "site('heap_leaks.c:$(line_of "$SRC" ALIGNED_SITE)')['allocated_bytes']")" 1048576
check_eq "realloc chain site" \
	"$(hj "$J" "site('heap_leaks.c:$(line_of "$SRC" REALLOC_SITE)')['allocations']")" 10

check_eq "not freed at exit" "$(hj "$J" '(d["leaked_bytes"], d["leaked_blocks"])')" "(184, 4)"
check_eq "definitely lost" "$(hj "$J" '(d["leaks"]["definitely_lost"]["bytes"], d["leaks"]["definitely_lost"]["blocks"])')" "(32, 1)"
check_eq "indirectly lost" "$(hj "$J" '(d["leaks"]["indirectly_lost"]["bytes"], d["leaks"]["indirectly_lost"]["blocks"])')" "(40, 1)"
check_eq "possibly lost" "$(hj "$J" '(d["leaks"]["possibly_lost"]["bytes"], d["leaks"]["possibly_lost"]["blocks"])')" "(48, 1)"
check_eq "still reachable" "$(hj "$J" '(d["leaks"]["still_reachable"]["bytes"], d["leaks"]["still_reachable"]["blocks"])')" "(64, 1)"
for m in LEAK_DEFINITE:definitely_lost_bytes:32 LEAK_INDIRECT:indirectly_lost_bytes:40 \
	LEAK_POSSIBLE:possibly_lost_bytes:48 LEAK_REACHABLE:still_reachable_bytes:64; do
	IFS=: read -r marker key want <<<"$m"
	check_eq "$marker at heap_leaks.c:$(line_of "$SRC" "$marker")" \
		"$(hj "$J" "site('heap_leaks.c:$(line_of "$SRC" "$marker")', 'by_leaked').get('$key')")" "$want"
done
check_grep "summary names the class" "$T/heap.err" "definitely lost: +32 bytes in 1 blocks"
check_grep "summary shows file:line" "$T/heap.err" "heap_leaks.c:$(line_of "$SRC" LEAK_DEFINITE)"
# libc's cleanup at exit frees the loader's blocks from before the agent:
# not "frees of blocks allocated before tracking began" of this program
check_no_grep "no unknown frees" "$T/heap.err" "before tracking began"

# the same "definitely lost" as valgrind's memcheck
if command -v valgrind >/dev/null 2>&1; then
	valgrind --leak-check=full "$T/heap_leaks" >/dev/null 2>"$T/valgrind.log"
	check_eq "definitely lost = valgrind's" "$(hj "$J" '"%d %d" % (d["leaks"]["definitely_lost"]["bytes"], d["leaks"]["definitely_lost"]["blocks"])')" \
		"$(valgrind_leak "$T/valgrind.log" "definitely lost")"
	check_eq "indirectly lost = valgrind's" "$(hj "$J" '"%d %d" % (d["leaks"]["indirectly_lost"]["bytes"], d["leaks"]["indirectly_lost"]["blocks"])')" \
		"$(valgrind_leak "$T/valgrind.log" "indirectly lost")"
	check_eq "possibly lost = valgrind's" "$(hj "$J" '"%d %d" % (d["leaks"]["possibly_lost"]["bytes"], d["leaks"]["possibly_lost"]["blocks"])')" \
		"$(valgrind_leak "$T/valgrind.log" "possibly lost")"
	check_grep "valgrind counts the same allocations" "$T/valgrind.log" "total heap usage: 1,021 allocs, 1,017 frees"
else
	say "valgrind not installed: the comparison with memcheck is skipped"
fi

# the profile is a profile like any other
krun report report "$T/heap.kiln" --value leaked_space
check_eq "kiln report --value leaked_space" "$RC" 0
check_grep "report names the leaking function" "$T/report.out" "make_leaks"
krun flame flame "$T/heap.kiln" --value peak_space -o "$T/flame.svg"
check_eq "kiln flame --value peak_space" "$RC" 0
check_grep "the graph's title names the value and unit" "$T/flame.svg" '<title>Flame Graph: peak heap \(bytes\)</title>'
krun leaked flame "$T/heap.kiln" --value leaked_objects -o "$T/leaked.svg"
check_grep "and for the other heap values" "$T/leaked.svg" '<title>Flame Graph: leaked allocations \(count\)</title>'
# the chart, next to the profile
[ -s "$T/heap.svg" ] && ok "chart written next to the profile" || fail "no $T/heap.svg"
check_grep "chart marks the peak" "$T/heap.svg" "peak 3145912 bytes"
if command -v xmllint >/dev/null 2>&1; then
	xmllint --noout "$T/heap.svg" 2>"$T/xmllint.err" && ok "chart is well-formed XML" || fail "chart is not XML: $(head -3 "$T/xmllint.err")"
fi
finish
