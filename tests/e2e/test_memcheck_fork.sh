#!/bin/bash
# test_memcheck_fork.sh - kiln memcheck never harms a program that forks
# while its threads allocate (issue 11): tests/fixtures/mc_fork_storm.c
# forks 200 times while three threads malloc, calloc, realloc and free in a
# tight loop (guarded, full mode; with a small quarantine, so evicted
# blocks are reopened in batches; and --sample's pool of slots), and 200
# times from a SIGALRM handler that interrupts its only thread's mallocs.
# Every child exits 0 (its inherited blocks hold their bytes, its own
# blocks never share pages, it holds no descriptor of the agent's), nothing
# hangs (each run is under timeout 120: no waiting on timing otherwise),
# no false error is reported in the parent or any child, and the parent's
# planted one-byte overflow is reported once, at its lines.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
build_fixtures
cd "$T" || die "no $T" # kiln memcheck writes memcheck.kiln here
BIN=$FX/mc_fork_storm
SRC=$KILN_SRC/tests/fixtures/mc_fork_storm.c
F=mc_fork_storm.c
ulimit -c 0

# name | fixture mode | kiln memcheck options
RUNS="threads|threads|
quarantine|threads|--quarantine 1M
sampled|threads|--sample 4
signal|signal|
signal_sampled|signal|--sample 4"

while IFS='|' read -r name how opts; do
	# shellcheck disable=SC2086 # opts are words
	timeout -k 10 120 "$KILN" memcheck $opts -- "$BIN" "$how" 200 3 >"$T/$name.out" 2>"$T/$name.err"
	rc=$?
	if [ $rc = 124 ] || [ $rc = 137 ]; then
		fail "$name: hung (timeout 120 fired)"
		continue
	fi
	check_eq "$name: stopped by the planted overflow" "$rc" 99
	if [ "$how" = threads ]; then
		check_grep "$name: every child exited 0, no block lost its bytes" "$T/$name.out" \
			"^200 forks, 0 children failed \\(first status 0\\), 0 worker errors\$"
		procs=201
	else
		check_grep "$name: every child of the handler exited 0" "$T/$name.out" \
			"^[0-9]+ forks from a handler, 0 children failed\$"
		forks=$(sed -n 's/^\([0-9]*\) forks from a handler.*/\1/p' "$T/$name.out")
		check_ge "$name: 200 forks at least" "${forks:-0}" 200
		procs=$((${forks:-0} + 1))
	fi
	check_no_grep "$name: the overflow did not go unseen" "$T/$name.out" "not caught"
	check_eq "$name: one report, no false one" "$(grep -c '^kiln memcheck: [a-z]' "$T/$name.err")" 1
	check_grep "$name: the planted overflow" "$T/$name.err" \
		"^kiln memcheck: heap overflow found at free: a write at "
	check_grep "$name: past its 20-byte block" "$T/$name.err" "is 0 bytes past the end of a 20-byte block"
	check_grep "$name: found at its free" "$T/$name.err" "^    #0 0x[0-9a-f]* in main .*$F:$(line_of "$SRC" PLANTED_FREE)\$"
	check_grep "$name: allocated at its malloc" "$T/$name.err" "^    #0 0x[0-9a-f]* in main .*$F:$(line_of "$SRC" PLANTED_ALLOC)\$"
	check_grep "$name: one error in every process" "$T/$name.err" \
		"^kiln memcheck: 1 error \\(1 heap overflow found at free\\) in $procs processes;"
done <<<"$RUNS"
finish
