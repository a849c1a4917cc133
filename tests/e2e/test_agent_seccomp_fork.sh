#!/bin/bash
# test_agent_seccomp_fork.sh - a sandboxed host's fork children (issue 21,
# item 8): the host installs a seccomp filter under which open and openat
# kill it, then forks (tests/fixtures/host_seccomp_fork.c). The agent may
# open no ring file for a child then: the child takes a spare ring made
# before the filter went in, or only counts its calls, and kiln says so.
# - children one after the other: the host's output and status are the
#   bare run's, and every child's leak is reported (definitely lost);
# - more children alive at once than spare rings (KILN_HEAP_SPARES=2):
#   two are recorded, the others counted, named and reported as such.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent_lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
host_build host_seccomp_fork

cls() { hj "$1" "'%d %d' % (d['leaks']['$2']['bytes'], d['leaks']['$2']['blocks'])"; }

# three children, each leaking 1000 + i bytes: 1000 + 1001 + 1002
host_run "$T/seq.bare" "$T/host_seccomp_fork" seq 3
check_eq "bare run: every child exits 0" "$(grep -c 'exit 0' "$T/seq.bare.out")" 3
host_run "$T/seq.heap" "$KILN" heap -q -o "$T/seq.kiln" --json "$T/seq.json" -- "$T/host_seccomp_fork" seq 3
host_compare "seccomp fork, one at a time" "$T/seq.bare" "$T/seq.heap"
if [ -s "$T/seq.json" ]; then
	check_eq "processes: the host and its 3 children" "$(hj "$T/seq.json" "d['processes']")" 4
	check_eq "definitely lost: each child's block" "$(cls "$T/seq.json" definitely_lost)" "3003 3"
	check_eq "not scanned: none" "$(cls "$T/seq.json" not_scanned)" "0 0"
	check_eq "counted only: none" "$(hj "$T/seq.json" "d['counted_only']['processes']")" 0
else
	fail "kiln heap wrote no JSON summary"
	head -5 "$T/seq.heap.err" | sed 's/^/    | /'
fi

# four children alive at once, two spare rings: each child makes 10
# allocations of 100 bytes and frees 9
host_run "$T/all.bare" "$T/host_seccomp_fork" all 4
host_run "$T/all.heap" env KILN_HEAP_SPARES=2 "$KILN" heap -q -o "$T/all.kiln" --json "$T/all.json" -- \
	"$T/host_seccomp_fork" all 4
# kiln's own stderr lines (its warning) are not the host's
cp "$T/all.heap.err" "$T/all.heap.stderr"
grep -v '^kiln: ' "$T/all.heap.stderr" >"$T/all.heap.err"
host_compare "seccomp fork, four at once" "$T/all.bare" "$T/all.heap"
if [ -s "$T/all.json" ]; then
	check_eq "counted only: two processes" "$(hj "$T/all.json" "d['counted_only']['processes']")" 2
	check_eq "counted only: their calls" \
		"$(hj "$T/all.json" "'%d %d %d' % tuple(d['counted_only'][k] for k in ('allocations', 'frees', 'bytes'))")" \
		"20 18 2000"
	check_eq "counted only: named by pid" "$(hj "$T/all.json" "len(d['counted_only']['pids'])")" 2
	check_eq "recorded: the host and two children" "$(hj "$T/all.json" "d['processes']")" 3
	check_eq "still reachable: one block per recorded child" "$(cls "$T/all.json" still_reachable)" "200 2"
else
	fail "kiln heap wrote no JSON summary (four at once)"
	head -5 "$T/all.heap.err" | sed 's/^/    | /'
fi
if grep -q "2 processes forked after the host installed a seccomp filter found no spare ring" "$T/all.heap.stderr"; then
	ok "kiln says which processes were only counted"
else
	fail "kiln did not say that two processes were only counted"
fi
"$KILN" report "$T/all.kiln" >"$T/all.report" 2>&1
grep -q "only counted: *2 processes .*(pid [0-9]* [0-9]*)" "$T/all.report" && ok "kiln report shows them by pid" ||
	fail "kiln report does not show the counted processes by pid"
finish
