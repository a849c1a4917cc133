#!/bin/bash
# test_agent_seccomp.sh - sandboxed hosts (issue 21, item 8): seccomp
# filters that forbid open and openat, installed in main after the
# agent's constructor.
# - threads allocate under a filter that traps and counts the calls
#   (tests/fixtures/host_seccomp.c): the agent opens nothing while main
#   runs;
# - a host leaks a block, installs a filter under which an open kills it,
#   and exits normally (tests/fixtures/host_seccomp_exit.c): the exit
#   path (leak scan included) opens nothing either, so the host's output
#   and status are the bare run's, and the leak is reported; again with
#   600,000 more live blocks, whose addresses (10 MB) pass through the
#   8 MiB ring in two pieces.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent_lib.sh"
. "$(dirname "$0")/heap_lib.sh"

[ -x "$KILN" ] || die "kiln binary '$KILN' not found"
host_build host_seccomp
agent_scenario seccomp 1 "$T/host_seccomp"

host_build host_seccomp_exit
host_run "$T/exit.bare" "$T/host_seccomp_exit"
check_eq "bare run: exits normally" "$(cat "$T/exit.bare.rc")" 0
host_run "$T/exit.heap" "$KILN" heap -q -o "$T/exit.kiln" --json "$T/exit.json" -- "$T/host_seccomp_exit"
host_compare "seccomp exit" "$T/exit.bare" "$T/exit.heap"
if [ -s "$T/exit.json" ]; then
	cls() { hj "$T/exit.json" "'%d %d' % (d['leaks']['$1']['bytes'], d['leaks']['$1']['blocks'])"; }
	check_eq "definitely lost: the leaked block" "$(cls definitely_lost)" "77 1"
	check_eq "still reachable: the kept block" "$(cls still_reachable)" "40 1"
	check_eq "not scanned: none" "$(cls not_scanned)" "0 0"
else
	fail "kiln heap wrote no JSON summary"
	head -5 "$T/exit.heap.err" | sed 's/^/    | /'
fi

# more live blocks than one piece of the ring holds (17 bytes each)
N=600000
host_run "$T/many.bare" "$T/host_seccomp_exit" $N
host_run "$T/many.heap" "$KILN" heap -q -o "$T/many.kiln" --json "$T/many.json" -- "$T/host_seccomp_exit" $N
host_compare "seccomp exit, $N blocks" "$T/many.bare" "$T/many.heap"
if [ -s "$T/many.json" ]; then
	cls() { hj "$T/many.json" "'%d %d' % (d['leaks']['$1']['bytes'], d['leaks']['$1']['blocks'])"; }
	check_eq "$N blocks: definitely lost" "$(cls definitely_lost)" "77 1"
	check_eq "$N blocks: still reachable" "$(cls still_reachable)" "$((40 + N * 16)) $((2 + N))"
	check_eq "$N blocks: not scanned" "$(cls not_scanned)" "0 0"
else
	fail "kiln heap wrote no JSON summary ($N blocks)"
	head -5 "$T/many.heap.err" | sed 's/^/    | /'
fi
finish
