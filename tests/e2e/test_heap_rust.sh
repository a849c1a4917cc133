#!/bin/bash
# test_heap_rust.sh - kiln heap on a Rust release build (no frame pointers)
# with known behaviour (tests/fixtures/heap_rust.rs): the mem::forget leak,
# an unbounded cache against a bounded one, temporaries, a realloc chain,
# many threads, aligned allocations and a child that execs. Exact numbers
# from the fixture's code, leaks equal to valgrind's, output unchanged.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
command -v rustc >/dev/null 2>&1 || skip "rustc not installed"
SRC=$KILN_SRC/tests/fixtures/heap_rust.rs
rustc -C opt-level=2 -g --crate-name heap_rust -o "$T/heap_rust" "$SRC" 2>"$T/rustc.err" ||
	die "cannot build $SRC: $(head -5 "$T/rustc.err")"
B=$T/heap_rust
L() { echo "heap_rust.rs:$(line_of "$SRC" "$1")"; }

# run MODE: bare run, then kiln heap; checks output and status; J = the JSON
run() {
	local mode=$1
	"$B" "$mode" >"$T/$mode.bare.out" 2>&1
	local bare_rc=$?
	krun "$mode" heap --top 50 -o "$T/$mode.kiln" --json "$T/$mode.json" -- "$B" "$mode"
	check_no_crash "$mode"
	check_eq "$mode: exit status unchanged" "$RC" "$bare_rc"
	if cmp -s "$T/$mode.out" "$T/$mode.bare.out"; then ok "$mode: stdout unchanged"; else
		fail "$mode: stdout differs from a bare run"
	fi
	J=$T/$mode.json
	[ -s "$J" ] || die "$mode: no JSON summary"
}
cls() { hj "$J" "'%d %d' % (d['leaks']['$1']['bytes'], d['leaks']['$1']['blocks'])"; }

# mem::forget(Box::new(vec![1, 2, 3, 4, 5])): the Box (a Vec: 24 bytes) is
# definitely lost, the 5 i32 it owns (20 bytes) indirectly lost.
run forget
check_eq "forget: exit status 3 (process::exit)" "$RC" 3
check_eq "forget: definitely lost" "$(cls definitely_lost)" "24 1"
check_eq "forget: indirectly lost" "$(cls indirectly_lost)" "20 1"
check_eq "forget: possibly lost" "$(cls possibly_lost)" "0 0"
check_eq "forget: definitely lost at the forget line" \
	"$(hj "$J" "site('$(L LEAK_LINE)', 'by_leaked')['definitely_lost_bytes']")" 24
check_eq "forget: indirectly lost at the forget line" \
	"$(hj "$J" "site('$(L LEAK_LINE)', 'by_leaked')['indirectly_lost_bytes']")" 20
# the runtime's 544-byte block: still reachable, labelled as the runtime's
check_eq "forget: the runtime's 544-byte block is still reachable" \
	"$(hj "$J" "[s['still_reachable_bytes'] for s in d['by_leaked'] if s['site'].startswith('[runtime]')]")" "[544]"
check_eq "forget: the user's leaks come first" "$(hj "$J" "d['by_leaked'][0]['site'].endswith('$(L LEAK_LINE)')")" True
if command -v valgrind >/dev/null 2>&1; then
	valgrind --leak-check=full "$B" forget >/dev/null 2>"$T/valgrind.log"
	for k in "definitely lost:definitely_lost" "indirectly lost:indirectly_lost" "possibly lost:possibly_lost" \
		"still reachable:still_reachable"; do
		check_eq "forget: ${k%%:*} = valgrind's" "$(cls "${k#*:}")" "$(valgrind_leak "$T/valgrind.log" "${k%%:*}")"
	done
else
	say "valgrind not installed: the comparison with memcheck is skipped"
fi

# caches: at the peak (the 1 MiB block) the unbounded cache holds 1000
# values of 100 bytes, the bounded one 64.
run cache
check_eq "cache: unbounded values at peak" "$(hj "$J" "site('$(L UNBOUNDED_LINE)', 'by_peak')['peak_bytes']")" 100000
check_eq "cache: bounded values at peak" "$(hj "$J" "site('$(L BOUNDED_LINE)', 'by_peak')['peak_bytes']")" 6400
check_eq "cache: the peak block" "$(hj "$J" "site('$(L PEAK_LINE)', 'by_peak')['peak_bytes']")" 1048576
check_eq "cache: bounded allocations" "$(hj "$J" "site('$(L BOUNDED_LINE)')['allocations']")" 1000
check_eq "cache: peak is the largest site first" "$(hj "$J" "d['by_peak'][0]['site'].endswith('$(L PEAK_LINE)')")" True

run temps
check_eq "temps: temporary allocations at the loop" "$(hj "$J" "site('$(L TEMP_LINE)', 'by_temporary')['temporary']")" 1000

# Vec<u64> pushed 1024 times: capacity 4, then doubled 8 times to 1024
run realloc
check_eq "realloc: allocations at the push line" "$(hj "$J" "site('$(L REALLOC_LINE)')['allocations']")" 9
check_eq "realloc: bytes at the push line" "$(hj "$J" "site('$(L REALLOC_LINE)')['allocated_bytes']")" \
	$((32 + 64 + 128 + 256 + 512 + 1024 + 2048 + 4096 + 8192))
check_eq "realloc: reallocs" "$(hj "$J" "d['reallocs'] >= 8")" True

run threads
check_eq "threads: boxes allocated by 8 threads" "$(hj "$J" "site('$(L THREAD_LINE)')['allocations']")" 80000
check_eq "threads: bytes" "$(hj "$J" "site('$(L THREAD_LINE)')['allocated_bytes']")" $((80000 * 64))
check_eq "threads: nothing lost" "$(hj "$J" "d['leaks']['definitely_lost']['bytes'] + d['leaks']['indirectly_lost']['bytes']")" 0
check_eq "threads: every allocation freed or left at exit" "$(hj "$J" "d['allocations'] - d['frees'] - d['leaked_blocks']")" 0

run aligned
check_eq "aligned: bytes at the alloc line" "$(hj "$J" "site('$(L ALIGNED_LINE)')['allocated_bytes']")" $((1048576 + 65536))

# a child that execs itself ("forget"): both processes traced, the child's leak found
run exec
check_eq "exec: processes" "$(hj "$J" "d['processes']")" 2
check_eq "exec: the child's leak" "$(hj "$J" "site('$(L LEAK_LINE)', 'by_leaked')['definitely_lost_bytes']")" 24
check_grep "exec: output passes through" "$T/exec.out" "child said: forget done"

krun report report "$T/cache.kiln" --value peak_space -n 0
check_eq "report --value peak_space" "$RC" 0
check_grep "report demangles Rust names" "$T/report.out" "heap_rust::unbounded_value"
finish
